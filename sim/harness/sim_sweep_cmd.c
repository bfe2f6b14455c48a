/* sim_sweep_cmd.c - `ckptsim sweep`: many seeds of one or more scenarios.
 *
 * The work list is seed-major (seed A of every scenario, then seed A+1, ...), so that
 * --stop-at-first finds the lowest failing seed over all scenarios. --shard I/N keeps
 * the items whose position p in that list has p % N == I-1, so any batch system can fan
 * a sweep out. A scenario file that does not load is reported (stderr, an error in the
 * JUnit XML, exit 2) and the others still run. The --junit path is checked before the
 * first run. On a terminal a progress line replaces the pass lines; SIGINT or SIGTERM
 * stop the sweep with the summary and the JUnit XML of what ran (exit 128 + signal).
 * The pool is in sim_sweep.c, the reports in sim_sweep_report.c.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sim/harness/sim_flink_conf.h"
#include "sim/harness/sim_sweep_internal.h"
#include "sim/sim_commands.h"

static bool parse_range(const char *text, uint64_t *a, uint64_t *b) {
    const char *dots = strstr(text, "..");
    char *lo = dots ? g_strndup(text, (gsize)(dots - text)) : g_strdup(text);
    bool ok = sim_cli_parse_seed(lo, a);
    g_free(lo);
    *b = *a;
    if (ok && dots != NULL)
        ok = sim_cli_parse_seed(dots + 2, b);
    return ok && *a <= *b && *b - *a < SWEEP_MAX_ITEMS;
}

static bool parse_shard(const char *text, uint64_t *i, uint64_t *n) {
    const char *slash = strchr(text, '/');
    if (slash == NULL)
        return false;
    char *a = g_strndup(text, (gsize)(slash - text));
    bool ok = g_ascii_string_to_unsigned(a, 10, 1, 1000000, i, NULL) &&
              g_ascii_string_to_unsigned(slash + 1, 10, 1, 1000000, n, NULL) && *i <= *n;
    g_free(a);
    return ok;
}

/* The work list over the scenarios that loaded; positions count every scenario, so a
 * bad file does not move the other scenarios' runs to other shards. */
static bool build_items(Sweep *sw, uint64_t lo, uint64_t hi, uint64_t shard_i,
                        uint64_t shard_n) {
    uint64_t total = (hi - lo + 1) * sw->n_scenarios;
    if (total > SWEEP_MAX_ITEMS) {
        fprintf(stderr, "ckptsim sweep: %" PRIu64 " runs is more than %u\n", total,
                SWEEP_MAX_ITEMS);
        return false;
    }
    sw->items = g_new0(SweepItem, total + 1);
    uint64_t pos = 0;
    for (uint64_t seed = lo;; seed++) {
        for (uint32_t s = 0; s < sw->n_scenarios; s++, pos++)
            if (pos % shard_n == shard_i - 1 && sw->scenarios[s] != NULL)
                sw->items[sw->n_items++] = (SweepItem){s, seed};
        if (seed == hi)
            break;
    }
    sw->results = g_new0(SimCliOutcome *, sw->n_items + 1);
    sw->run_s = g_new0(double, sw->n_items + 1);
    return true;
}

/* Loads every scenario; a bad one gets its error in load_errors. Returns the number of
 * bad ones. */
static uint32_t load_scenarios(Sweep *sw, int argc, char **argv) {
    sw->files = argv + 1;
    sw->n_scenarios = (uint32_t)(argc - 1);
    sw->scenarios = g_new0(SimScenario *, sw->n_scenarios + 1);
    sw->load_errors = g_new0(char *, sw->n_scenarios + 1);
    uint32_t bad = 0;
    for (uint32_t i = 0; i < sw->n_scenarios; i++) {
        GError *e = NULL;
        sw->scenarios[i] = sim_scenario_load(sw->files[i], sw->sets, &e);
        if (sw->scenarios[i] == NULL) {
            fprintf(stderr, "%s\n", e->message);
            sw->load_errors[i] = g_strdup(e->message);
            g_error_free(e);
            bad++;
        }
    }
    if (bad > 0)
        fprintf(stderr, "ckptsim sweep: bad input in %u of %u scenario files (the format is "
                        "described in scenarios/README.md); running the others\n",
                bad, sw->n_scenarios);
    return bad;
}

static void sweep_free(Sweep *sw) {
    for (uint32_t i = 0; sw->scenarios != NULL && i < sw->n_scenarios; i++) {
        sim_scenario_free(sw->scenarios[i]);
        g_free(sw->load_errors[i]);
    }
    g_free(sw->scenarios);
    g_free(sw->load_errors);
    for (size_t i = 0; sw->results != NULL && i < sw->n_items; i++)
        if (sw->results[i] != NULL) {
            sim_cli_outcome_clear(sw->results[i]);
            g_free(sw->results[i]);
        }
    g_free(sw->results);
    g_free(sw->run_s);
    g_free(sw->items);
}

typedef struct SweepArgs {
    char *seeds, *shard, *out, *junit, *flink_conf, *metrics;
    char **sets, **bugs;
    int jobs;
    gboolean json, stop_at_first, quiet, progress, no_progress;
} SweepArgs;

/* Where the output goes: a progress line when stderr is a terminal (or --progress),
 * only the violations when stdout is a terminal too (or --quiet). */
static void choose_output(Sweep *sw, const SweepArgs *a) {
    bool err_tty = isatty(STDERR_FILENO) == 1, out_tty = isatty(STDOUT_FILENO) == 1;
    sw->progress = !a->no_progress && (a->progress || err_tty);
    sw->progress_tty = err_tty;
    sw->quiet_passes = a->quiet || (sw->progress && err_tty && out_tty);
}

/* Runs the loaded sweep, reports it; returns the exit status. */
static int run_sweep(Sweep *sw, const SweepArgs *a, uint32_t bad) {
    GDateTime *now = g_date_time_new_now_local();
    char *timestamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
    g_date_time_unref(now);
    sw->t0_ns = sim_sweep_wall_ns();
    sw->interruptible = true;
    sim_sweep_catch_signals(true);
    sim_sweep_run_all(sw);
    sim_sweep_catch_signals(false);
    double total_s = (double)(sim_sweep_wall_ns() - sw->t0_ns) / 1e9;
    sim_sweep_print_summary(sw, a->seeds, a->shard);
    fprintf(stderr, "ckptsim sweep: %zu runs in %.2f s wall%s\n", sw->runs, total_s,
            sw->interrupted ? " (interrupted)" : "");
    bool junit_ok = a->junit == NULL ||
                    sim_sweep_write_junit(sw, a->junit, timestamp, total_s, a->seeds, a->shard);
    g_free(timestamp);
    if (sw->interrupted)
        return 128 + sw->interrupted;
    return sw->violations > 0                         ? SIM_EXIT_VIOLATION
           : sw->errors > 0 || bad > 0 || !junit_ok ? SIM_EXIT_BAD_INPUT
                                                     : SIM_EXIT_OK;
}

static int sweep_with(SweepArgs *a, int argc, char **argv) {
    Sweep sw;
    memset(&sw, 0, sizeof sw);
    if (!sim_flink_conf_apply("ckptsim sweep", a->flink_conf, &a->sets))
        return SIM_EXIT_BAD_INPUT;
    sw.sets = sim_cli_or_empty(a->sets);
    sw.bugs = sim_cli_or_empty(a->bugs);
    sw.out_dir = a->out;
    sw.metrics_dir = a->metrics;
    sw.json = a->json;
    sw.stop_at_first = a->stop_at_first;
    sw.jobs = (uint32_t)a->jobs;
    choose_output(&sw, a);
    uint64_t lo = 0, hi = 0, si = 1, sn = 1;
    int status = SIM_EXIT_BAD_INPUT;
    if (a->seeds == NULL || !parse_range(a->seeds, &lo, &hi)) {
        fprintf(stderr, "ckptsim sweep: --seeds A..B is required (A <= B), e.g. 1..200\n");
    } else if (a->shard != NULL && !parse_shard(a->shard, &si, &sn)) {
        fprintf(stderr, "ckptsim sweep: --shard I/N with 1 <= I <= N, e.g. 2/4\n");
    } else if (a->jobs < 1 || a->jobs > SWEEP_MAX_JOBS) {
        fprintf(stderr, "ckptsim sweep: --jobs between 1 and %d\n", SWEEP_MAX_JOBS);
    } else if (a->progress && a->no_progress) {
        fprintf(stderr, "ckptsim sweep: --progress and --no-progress contradict\n");
    } else if (argc < 2) {
        fprintf(stderr, "ckptsim sweep: expected at least one SCENARIO (see --help)\n");
    } else if (a->junit != NULL && !sim_sweep_junit_check_path(a->junit)) {
        /* said why; nothing ran */
    } else if (sim_cli_parse_bugs(sw.bugs, &sw.mask)) {
        uint32_t bad = load_scenarios(&sw, argc, argv);
        if (build_items(&sw, lo, hi, si, sn))
            status = run_sweep(&sw, a, bad);
    }
    sweep_free(&sw);
    return status;
}

static const char sweep_description[] =
    "Runs every scenario for every seed of the range, each run in its own process,\n"
    "and prints the results in seed order (the same output with and without\n"
    "--jobs), then a summary (runs, violations, first_violation_seed).\n"
    "On a terminal a progress line on stderr (done/total, violations so far, runs/s,\n"
    "ETA) replaces the lines of runs that held; piped or redirected output keeps one\n"
    "line (or JSON object) per run unless --quiet. Ctrl-C (SIGINT) or SIGTERM stops\n"
    "the sweep: the summary and the JUnit XML cover the runs that finished.\n"
    "A scenario file that does not load is reported and the others still run.\n"
    "Exit status: 0 everything held, 1 a violation (or a crashed run), 2 bad input\n"
    "(the --junit folder missing is found before the first run), 130 interrupted\n"
    "(128 + the signal).\n\n"
    "Examples:\n"
    "  ckptsim sweep scenarios/*.ini --seeds 1..100 --jobs 2\n"
    "  ckptsim sweep scenarios/*.ini --seeds 1..200 --bug ack-before-fsync "
    "--stop-at-first --json\n"
    "  ckptsim sweep scenarios/linear.ini --seeds 1..10000 --shard 3/8 --junit "
    "out.xml\n";

int sim_cmd_sweep(int argc, char **argv) {
    SweepArgs a;
    memset(&a, 0, sizeof a);
    a.jobs = 1;
    GOptionEntry entries[] = {
        {"seeds", 0, 0, G_OPTION_ARG_STRING, &a.seeds, "seed range, inclusive (required)",
         "A..B"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &a.jobs, "runs in parallel (default 1)", "N"},
        {"shard", 0, 0, G_OPTION_ARG_STRING, &a.shard,
         "run only shard I of N (1-based) of the work list", "I/N"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.sets, "override a key (as in run)", "K=V"},
        {"flink-conf", 0, 0, G_OPTION_ARG_FILENAME, &a.flink_conf,
         "read Flink's config.yaml (flat or nested); --set overrides it", "FILE"},
        {"bug", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.bugs, "enable a planted bug", "NAME"},
        {"stop-at-first", 0, 0, G_OPTION_ARG_NONE, &a.stop_at_first,
         "stop at the first violation (in seed order)", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &a.json,
         "one JSON object per run, then a summary object", NULL},
        {"junit", 0, 0, G_OPTION_ARG_FILENAME, &a.junit, "also write JUnit XML to FILE",
         "FILE"},
        {"out", 0, 0, G_OPTION_ARG_FILENAME, &a.out,
         "write capsules into DIR (default $TMPDIR/ckptsim-capsules)", "DIR"},
        {"metrics", 0, 0, G_OPTION_ARG_FILENAME, &a.metrics,
         "also write every run's metrics, trace and plots data into DIR/NAME/seed-N "
         "(for `ckptsim report DIR`)", "DIR"},
        {"quiet", 'q', 0, G_OPTION_ARG_NONE, &a.quiet,
         "print only violations, crashes, errors and the summary", NULL},
        {"progress", 0, 0, G_OPTION_ARG_NONE, &a.progress,
         "show the progress line on stderr even when it is not a terminal", NULL},
        {"no-progress", 0, 0, G_OPTION_ARG_NONE, &a.no_progress,
         "never show the progress line", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO... - run many seeds");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, sweep_description);
    int status = SIM_EXIT_BAD_INPUT;
    if (sim_cli_parse_options(ctx, "sweep", &argc, &argv))
        status = sweep_with(&a, argc, argv);
    g_option_context_free(ctx);
    g_free(a.seeds);
    g_free(a.shard);
    g_free(a.out);
    g_free(a.metrics);
    g_free(a.junit);
    g_free(a.flink_conf);
    g_strfreev(a.sets);
    g_strfreev(a.bugs);
    return status;
}
