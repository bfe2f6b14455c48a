/* sim_sweep_report.c - what `ckptsim sweep` tells: each result on stdout (all of them,
 * or with --quiet / on a terminal only violations, crashes and errors), a progress line
 * on stderr (done/total, violations so far, runs/s, ETA), the summary (text, or a JSON
 * object through json-glib), and the JUnit XML for CI (every string escaped with
 * g_markup_escape_text). tests/junit.xsd is the schema the XML is checked against. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim/harness/sim_capsule.h"
#include "sim/harness/sim_cli_json.h"
#include "sim/harness/sim_sweep_internal.h"
#include "sim/sim_commands.h"

void sim_sweep_progress_clear(Sweep *sw) {
    if (sw->progress_shown && sw->progress_tty) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    sw->progress_shown = false;
}

void sim_sweep_progress(Sweep *sw, bool force) {
    uint64_t now = sim_sweep_wall_ns();
    uint64_t every_ns = sw->progress_tty ? 100000000u : 1000000000u;
    if (!force && sw->last_progress_ns != 0 && now - sw->last_progress_ns < every_ns)
        return;
    sw->last_progress_ns = now;
    double elapsed_s = (double)(now - sw->t0_ns) / 1e9;
    double rate = elapsed_s > 0 ? (double)sw->done / elapsed_s : 0;
    char eta[32] = "?";
    if (rate > 0)
        g_snprintf(eta, sizeof eta, "%.0f s", (double)(sw->n_items - sw->done) / rate);
    fprintf(stderr, "%ssweep: %zu/%zu runs, %zu violation%s, %.1f runs/s, ETA %s%s",
            sw->progress_tty ? "\r\033[K" : "", sw->done, sw->n_items, sw->done_violations,
            sw->done_violations == 1 ? "" : "s", rate, eta, sw->progress_tty ? "" : "\n");
    fflush(stderr);
    sw->progress_shown = true;
}

void sim_sweep_report_result(Sweep *sw, size_t item) {
    const SimCliOutcome *o = sw->results[item];
    bool print = sw->given == NULL && !(sw->quiet_passes && o->status == SIM_EXIT_OK);
    if (print) {
        sim_sweep_progress_clear(sw);
        sim_cli_outcome_print(o, sw->json);
    }
    sw->runs++;
    if (o->status == SIM_EXIT_VIOLATION) {
        sw->violations++;
        if (!sw->has_first) {
            sw->has_first = true;
            sw->first_item = item;
        }
        if (sw->stop_at_first)
            sw->stop = true;
    } else if (o->status == SIM_EXIT_BAD_INPUT) {
        sw->errors++;
    }
}

static size_t load_errors(const Sweep *sw) {
    size_t n = 0;
    for (uint32_t i = 0; i < sw->n_scenarios; i++)
        n += sw->load_errors != NULL && sw->load_errors[i] != NULL;
    return n;
}

static void summary_json(const Sweep *sw, const SweepItem *first, const char *seeds,
                         const char *shard) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    sim_json_add_bool(b, "summary", true);
    sim_json_add_u64(b, "runs", sw->runs);
    sim_json_add_u64(b, "violations", sw->violations);
    sim_json_add_u64(b, "errors", sw->errors + load_errors(sw));
    if (first != NULL) {
        sim_json_add_u64(b, "first_violation_seed", first->seed);
        sim_json_add_string(b, "first_violation_scenario",
                            sw->scenarios[first->scenario]->name);
    } else {
        sim_json_add_string_or_null(b, "first_violation_seed", NULL);
        sim_json_add_string_or_null(b, "first_violation_scenario", NULL);
    }
    sim_json_add_string(b, "seeds", seeds);
    sim_json_add_string(b, "shard", shard != NULL ? shard : "1/1");
    sim_json_add_bool(b, "stopped_early", sw->stop);
    sim_json_add_bool(b, "interrupted", sw->interrupted != 0);
    json_builder_end_object(b);
    char *text = sim_json_finish(b);
    printf("%s\n", text);
    g_free(text);
}

void sim_sweep_print_summary(const Sweep *sw, const char *seeds, const char *shard) {
    const SweepItem *first = sw->has_first ? &sw->items[sw->first_item] : NULL;
    if (sw->json) {
        summary_json(sw, first, seeds, shard);
    } else {
        printf("sweep: %zu runs, %zu violations, %zu errors", sw->runs, sw->violations,
               sw->errors + load_errors(sw));
        if (first != NULL)
            printf("; first violation: %s seed %" PRIu64, sw->scenarios[first->scenario]->name,
                   first->seed);
        if (sw->interrupted)
            printf(" (interrupted by %s after %zu of %zu runs)",
                   sw->interrupted == SIGINT ? "SIGINT" : "SIGTERM", sw->runs, sw->n_items);
        printf("%s\n", sw->stop ? " (stopped at the first violation)" : "");
    }
    fflush(stdout);
}

/* ------------------------------------------------------------------ JUnit */

bool sim_sweep_junit_check_path(const char *path) {
    char *dir = g_path_get_dirname(path);
    const char *why = NULL;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
        why = "no such folder";
    else if (access(dir, W_OK | X_OK) != 0)
        why = g_strerror(errno);
    else if (g_file_test(path, G_FILE_TEST_IS_DIR))
        why = "is a folder";
    if (why != NULL)
        fprintf(stderr, "ckptsim sweep: --junit %s: cannot write there (%s%s%s)\n", path,
                why, strcmp(why, "is a folder") == 0 ? "" : ": ",
                strcmp(why, "is a folder") == 0 ? "" : dir);
    g_free(dir);
    return why == NULL;
}

/* Appends name="value" (escaped). */
static void attr(GString *x, const char *name, const char *value) {
    char *v = g_markup_escape_text(value != NULL ? value : "", -1);
    g_string_append_printf(x, " %s=\"%s\"", name, v);
    g_free(v);
}

static void property(GString *x, const char *indent, const char *name, const char *value) {
    g_string_append_printf(x, "%s<property", indent);
    attr(x, "name", name);
    attr(x, "value", value);
    g_string_append(x, "/>\n");
}

/* " [bug=a,b; set=k=v]" (the options that set this sweep's runs apart), or "". */
static char *options_suffix(const Sweep *sw) {
    char *bugs = g_strjoinv(",", (char **)sw->bugs);
    char *sets = g_strjoinv(",", (char **)sw->sets);
    char *s = *bugs && *sets ? g_strdup_printf(" [bug=%s; set=%s]", bugs, sets)
              : *bugs        ? g_strdup_printf(" [bug=%s]", bugs)
              : *sets        ? g_strdup_printf(" [set=%s]", sets)
                             : g_strdup("");
    g_free(bugs);
    g_free(sets);
    return s;
}

/* "ckptsim.NAME"; the file path too when two scenarios of the sweep share NAME. */
static char *classname(const Sweep *sw, uint32_t s) {
    for (uint32_t o = 0; o < sw->n_scenarios; o++)
        if (o != s && sw->scenarios[o] != NULL &&
            strcmp(sw->scenarios[o]->name, sw->scenarios[s]->name) == 0)
            return g_strdup_printf("ckptsim.%s(%s)", sw->scenarios[s]->name, sw->files[s]);
    return g_strdup_printf("ckptsim.%s", sw->scenarios[s]->name);
}

static void junit_case(GString *x, const Sweep *sw, size_t item, const char *suffix) {
    const SimCliOutcome *o = sw->results[item];
    const SweepItem *it = &sw->items[item];
    char *cls = classname(sw, it->scenario);
    char *name = g_strdup_printf("seed %" PRIu64 "%s", it->seed, suffix);
    char time_s[32], seed[24], hash[20] = "";
    g_snprintf(time_s, sizeof time_s, "%.3f", sw->run_s[item]);
    g_snprintf(seed, sizeof seed, "%" PRIu64, it->seed);
    if (strcmp(o->invariants, "crash") != 0)
        g_snprintf(hash, sizeof hash, "%016" PRIx64, o->trace_hash);
    char *bugs = g_strjoinv(",", (char **)sw->bugs), *sets = g_strjoinv(",", (char **)sw->sets);
    g_string_append(x, "  <testcase");
    attr(x, "name", name);
    attr(x, "classname", cls);
    attr(x, "time", time_s);
    g_string_append(x, ">\n    <properties>\n");
    property(x, "      ", "scenario", sw->scenarios[it->scenario]->name);
    property(x, "      ", "file", sw->files[it->scenario]);
    property(x, "      ", "seed", seed);
    property(x, "      ", "bugs", bugs);
    property(x, "      ", "set", sets);
    property(x, "      ", "trace_hash", hash);
    g_string_append(x, "    </properties>\n");
    if (o->status != SIM_EXIT_OK) {
        bool failure = o->status == SIM_EXIT_VIOLATION;
        g_string_append_printf(x, "    <%s", failure ? "failure" : "error");
        attr(x, "type", failure ? o->invariants : "bad-input");
        attr(x, "message", o->message);
        char *body = g_markup_escape_text(o->human, -1);
        g_string_append_printf(x, ">%s</%s>\n", body, failure ? "failure" : "error");
        g_free(body);
    }
    g_string_append(x, "  </testcase>\n");
    g_free(bugs);
    g_free(sets);
    g_free(name);
    g_free(cls);
}

/* A scenario file that did not load: one error testcase. */
static void junit_load_error(GString *x, const Sweep *sw, uint32_t s, const char *suffix) {
    char *name = g_strdup_printf("load %s%s", sw->files[s], suffix);
    const char *err = sw->load_errors[s];
    char *first_line = g_strndup(err, strcspn(err, "\n"));
    g_string_append(x, "  <testcase");
    attr(x, "name", name);
    attr(x, "classname", "ckptsim.load");
    attr(x, "time", "0");
    g_string_append(x, ">\n    <properties>\n");
    property(x, "      ", "file", sw->files[s]);
    g_string_append(x, "    </properties>\n    <error");
    attr(x, "type", "bad-input");
    attr(x, "message", first_line);
    char *body = g_markup_escape_text(err, -1);
    g_string_append_printf(x, ">%s</error>\n  </testcase>\n", body);
    g_free(body);
    g_free(first_line);
    g_free(name);
}

static void junit_head(GString *x, const Sweep *sw, const char *timestamp, double total_s,
                       const char *seeds, const char *shard) {
    size_t errors = sw->errors + load_errors(sw);
    char counts[96], time_s[32];
    g_string_append(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite");
    attr(x, "name", "ckptsim");
    g_snprintf(counts, sizeof counts, "%zu", sw->runs + load_errors(sw));
    attr(x, "tests", counts);
    g_snprintf(counts, sizeof counts, "%zu", sw->violations);
    attr(x, "failures", counts);
    g_snprintf(counts, sizeof counts, "%zu", errors);
    attr(x, "errors", counts);
    attr(x, "skipped", "0");
    g_snprintf(time_s, sizeof time_s, "%.3f", total_s);
    attr(x, "time", time_s);
    attr(x, "timestamp", timestamp);
    attr(x, "hostname", g_get_host_name());
    g_string_append(x, ">\n  <properties>\n");
    char *bugs = g_strjoinv(",", (char **)sw->bugs), *sets = g_strjoinv(",", (char **)sw->sets);
    property(x, "    ", "seeds", seeds);
    property(x, "    ", "shard", shard != NULL ? shard : "1/1");
    property(x, "    ", "bugs", bugs);
    property(x, "    ", "set", sets);
    g_snprintf(counts, sizeof counts, "%zu of %zu runs", sw->runs, sw->n_items);
    property(x, "    ", "completed", counts);
    property(x, "    ", "interrupted", sw->interrupted ? "true" : "false");
    property(x, "    ", "build", sim_capsule_build());
    g_string_append(x, "  </properties>\n");
    g_free(bugs);
    g_free(sets);
}

bool sim_sweep_write_junit(const Sweep *sw, const char *path, const char *timestamp,
                           double total_s, const char *seeds, const char *shard) {
    GString *x = g_string_new(NULL);
    junit_head(x, sw, timestamp, total_s, seeds, shard);
    char *suffix = options_suffix(sw);
    for (uint32_t s = 0; s < sw->n_scenarios; s++)
        if (sw->load_errors != NULL && sw->load_errors[s] != NULL)
            junit_load_error(x, sw, s, suffix);
    /* Exactly the runs the summary counted (printed in work-list order). */
    for (size_t i = 0; i < sw->next_print && i < sw->n_items; i++)
        if (sw->results[i] != NULL)
            junit_case(x, sw, i, suffix);
    g_string_append(x, "</testsuite>\n");
    g_free(suffix);
    GError *e = NULL;
    bool ok = g_file_set_contents(path, x->str, (gssize)x->len, &e);
    if (!ok) {
        fprintf(stderr, "ckptsim sweep: --junit %s: %s\n", path, e->message);
        g_error_free(e);
    }
    g_string_free(x, TRUE);
    return ok;
}
