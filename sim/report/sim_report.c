/* sim_report.c - `ckptsim report`: finds the run directories, runs gnuplot on the
 * scripts in plots/ for each (g_spawn_sync, no shell), adds an aligned vs unaligned
 * comparison when both exist for a scenario and seed, and writes the index (HTML or
 * Markdown) with the verdict table and the plots. See sim_report.h.
 */
#include "sim/report/sim_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sim/harness/sim_capsule.h"
#include "sim/report/sim_report_config.h"
#include "sim/report/sim_report_index.h"
#include "sim/sim_commands.h"

G_DEFINE_QUARK(sim-report-error-quark, sim_report_error)

/* Bounds: run directories in one report, lines read from one CSV. */
#define REPORT_MAX_RUNS 10000u
#define REPORT_PLOT_ALL_UP_TO 40u       /* runs: up to this many, every run is plotted */
#define REPORT_MAX_VIOLATION_PLOTS 20u  /* beyond: violating runs plotted at most */

void sim_report_options_init(SimReportOptions *opt) {
    memset(opt, 0, sizeof *opt);
    opt->format = "svg";
}

static bool has_scripts(const char *dir) {
    char *probe = g_build_filename(dir, "common.gp", NULL);
    bool found = g_file_test(probe, G_FILE_TEST_IS_REGULAR);
    g_free(probe);
    return found;
}

/* Where the scripts are, first found: next to the binary (plots/), the install tree
 * relative to the binary (../share/ckptsim/plots), the configured install directory,
 * the source tree (a build directory). Computed once; the string lives until exit. */
const char *sim_report_default_plots_dir(void) {
    static char *dir;
    if (dir != NULL)
        return dir;
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *exe_dir = exe != NULL ? g_path_get_dirname(exe) : NULL;
    char *candidates[4] = {
        exe_dir != NULL ? g_build_filename(exe_dir, "plots", NULL) : NULL,
        exe_dir != NULL ? g_build_filename(exe_dir, "..", "share", "ckptsim", "plots", NULL)
                        : NULL,
        g_strdup(CKPTSIM_PLOTS_INSTALL_DIR),
        g_strdup(CKPTSIM_PLOTS_DIR_DEFAULT),
    };
    for (int i = 0; i < 4; i++) {
        if (dir == NULL && candidates[i] != NULL && has_scripts(candidates[i]))
            dir = g_steal_pointer(&candidates[i]);
        g_free(candidates[i]);
    }
    if (dir == NULL)
        dir = g_strdup(CKPTSIM_PLOTS_DIR_DEFAULT);
    g_free(exe);
    g_free(exe_dir);
    return dir;
}

/* ------------------------------------------------------------------ runs */

static void run_free(void *p) {
    SimReportRun *r = p;
    g_free(r->dir);
    g_free(r->rel);
    g_free(r->prefix);
    if (r->summary != NULL)
        g_hash_table_unref(r->summary);
    g_free(r->first_violation);
    g_ptr_array_unref(r->violations);
    g_free(r->capsule);
    g_free(r->bugs);
    g_free(r->replay);
    g_ptr_array_unref(r->plots);
    g_free(r);
}

static void plot_free(void *p) {
    SimReportPlot *pl = p;
    g_free(pl->file);
    g_free(pl->caption);
    g_free(pl);
}

/* key,value rows of summary.csv (a quoted value is unquoted). */
static GHashTable *read_summary(const char *dir, GError **error) {
    char *path = g_build_filename(dir, "summary.csv", NULL);
    char *text = NULL;
    bool ok = g_file_get_contents(path, &text, NULL, error);
    g_free(path);
    if (!ok)
        return NULL;
    GHashTable *kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    char **lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        char *comma = strchr(*l, ',');
        if (comma == NULL)
            continue;
        char *value = comma + 1;
        size_t n = strlen(value);
        if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
            value[n - 1] = '\0';
            value++;
        }
        g_hash_table_replace(kv, g_strndup(*l, (size_t)(comma - *l)), g_strdup(value));
    }
    g_strfreev(lines);
    g_free(text);
    return kv;
}

/* Every line of violations.txt (none when the file is missing or empty). */
static GPtrArray *read_violations(const char *dir) {
    GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
    char *path = g_build_filename(dir, "violations.txt", NULL);
    char *text = NULL;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        char **lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l != NULL && v->len < REPORT_MAX_RUNS; l++)
            if (**l != '\0')
                g_ptr_array_add(v, g_strdup(*l));
        g_strfreev(lines);
    }
    g_free(text);
    g_free(path);
    return v;
}

/* The capsule a violating run left in its directory (`ckptsim run --out DIR` writes it
 * there): its path, planted bugs and the command that reruns it. */
static void read_capsule(SimReportRun *r) {
    GDir *d = g_dir_open(r->dir, 0, NULL);
    const char *n;
    while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
        if (!g_str_has_suffix(n, ".capsule"))
            continue;
        char *path = g_build_filename(r->dir, n, NULL);
        if (r->capsule == NULL || strcmp(path, r->capsule) < 0) {
            g_free(r->capsule);
            r->capsule = path;
        } else {
            g_free(path);
        }
    }
    if (d != NULL)
        g_dir_close(d);
    r->bugs = g_strdup("");
    SimCapsule *c = r->capsule != NULL ? sim_capsule_read(r->capsule, NULL) : NULL;
    if (c == NULL)
        return;
    g_free(r->bugs);
    r->bugs = g_strjoinv(",", c->bugs != NULL ? c->bugs : (char *[]){NULL});
    GString *cmd = g_string_new("ckptsim run ");
    g_string_append(cmd, c->scenario_path);
    g_string_append_printf(cmd, " --seed %" G_GUINT64_FORMAT, c->seed);
    for (char **b = c->bugs; b != NULL && *b != NULL; b++)
        g_string_append_printf(cmd, " --bug %s", *b);
    for (char **kv = c->sets; kv != NULL && *kv != NULL; kv++)
        g_string_append_printf(cmd, " --set '%s'", *kv);
    if (c->has_faults) {
        char *fl = sim_format_fault_list(c->faults, c->n_faults);
        g_string_append_printf(cmd, " --faults %s", fl);
        g_free(fl);
    }
    r->replay = g_string_free(cmd, FALSE);
    sim_capsule_free(c);
}

static bool add_run(GPtrArray *runs, const char *dir, const char *rel, GError **error) {
    if (runs->len >= REPORT_MAX_RUNS) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_BAD_INPUT,
                    "more than %u run directories", REPORT_MAX_RUNS);
        return false;
    }
    SimReportRun *r = g_new0(SimReportRun, 1);
    r->dir = g_strdup(dir);
    r->rel = g_strdup(rel);
    r->prefix = g_strdup(rel);
    g_strdelimit(r->prefix, "/\\ ", '_');
    r->plots = g_ptr_array_new_with_free_func(plot_free);
    r->summary = read_summary(dir, error);
    r->violations = read_violations(dir);
    r->first_violation = r->violations->len > 0 ? g_strdup(r->violations->pdata[0]) : NULL;
    read_capsule(r);
    g_ptr_array_add(runs, r);
    return r->summary != NULL;
}

static bool is_run_dir(const char *dir) {
    char *p = g_build_filename(dir, "summary.csv", NULL);
    bool yes = g_file_test(p, G_FILE_TEST_IS_REGULAR);
    g_free(p);
    return yes;
}

/* Sorted names of the sub-directories of dir. */
static GPtrArray *subdirs(const char *dir) {
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GDir *d = g_dir_open(dir, 0, NULL);
    if (d == NULL)
        return names;
    const char *n;
    while ((n = g_dir_read_name(d)) != NULL && names->len < REPORT_MAX_RUNS) {
        char *p = g_build_filename(dir, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            g_ptr_array_add(names, g_strdup(n));
        g_free(p);
    }
    g_dir_close(d);
    g_ptr_array_sort(names, sim_report_cmp_strptr);
    return names;
}

int sim_report_cmp_strptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run directories: dir itself, or its sub-directories one or two levels down. */
static GPtrArray *collect_runs(const char *dir, GError **error) {
    GPtrArray *runs = g_ptr_array_new_with_free_func(run_free);
    bool ok = true;
    if (is_run_dir(dir)) {
        ok = add_run(runs, dir, "", error);
    } else {
        GPtrArray *l1 = subdirs(dir);
        for (guint i = 0; i < l1->len && ok; i++) {
            char *p1 = g_build_filename(dir, g_ptr_array_index(l1, i), NULL);
            if (is_run_dir(p1)) {
                ok = add_run(runs, p1, g_ptr_array_index(l1, i), error);
            } else {
                GPtrArray *l2 = subdirs(p1);
                for (guint j = 0; j < l2->len && ok; j++) {
                    char *p2 = g_build_filename(p1, g_ptr_array_index(l2, j), NULL);
                    char *rel = g_strdup_printf("%s/%s", (char *)g_ptr_array_index(l1, i),
                                                (char *)g_ptr_array_index(l2, j));
                    if (is_run_dir(p2))
                        ok = add_run(runs, p2, rel, error);
                    g_free(rel);
                    g_free(p2);
                }
                g_ptr_array_unref(l2);
            }
            g_free(p1);
        }
        g_ptr_array_unref(l1);
    }
    if (ok && runs->len == 0) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_BAD_INPUT,
                    "%s holds no run (no summary.csv in it or in its sub-directories; "
                    "write one with 'ckptsim run SCENARIO --out DIR')",
                    dir);
        ok = false;
    }
    if (!ok) {
        g_ptr_array_unref(runs);
        return NULL;
    }
    return runs;
}

/* ------------------------------------------------------------------ gnuplot */

/* Number of data rows (lines after the header that are not empty) of dir/name. */
static unsigned data_rows(const char *dir, const char *name) {
    char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    unsigned rows = 0;
    if (g_file_get_contents(path, &text, NULL, NULL)) {
        char **lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l != NULL; l++)
            if (l != lines && **l != '\0')
                rows++;
        g_strfreev(lines);
    }
    g_free(text);
    g_free(path);
    return rows;
}

/* A gnuplot string literal: single quotes, embedded quotes doubled. */
static void gp_string(GString *s, const char *name, const char *value) {
    g_string_append_printf(s, "%s='", name);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\'')
            g_string_append_c(s, '\'');
        g_string_append_c(s, *p);
    }
    g_string_append(s, "'; ");
}

bool sim_report_gnuplot(const SimReportCtx *ctx, const char *script, const char *vars,
                        GError **error) {
    char *script_path = g_build_filename(ctx->plots_dir, script, NULL);
    GString *e = g_string_new(NULL);
    gp_string(e, "plotsdir", ctx->plots_dir);
    gp_string(e, "fmt", ctx->format);
    g_string_append(e, vars);
    char *argv[] = {(char *)ctx->gnuplot, "-e", e->str, script_path, NULL};
    char *err_text = NULL;
    int status = 0;
    GError *spawn_err = NULL;
    bool ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                           &err_text, &status, &spawn_err);
    if (!ok) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_GNUPLOT, "cannot run %s: %s",
                    ctx->gnuplot, spawn_err->message);
        g_error_free(spawn_err);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_GNUPLOT,
                    "gnuplot failed on %s: %s", script_path,
                    err_text != NULL ? g_strstrip(err_text) : "");
        ok = false;
    }
    g_free(err_text);
    g_free(script_path);
    g_string_free(e, TRUE);
    return ok;
}

static char *run_title(const SimReportRun *r) {
    const char *sc = g_hash_table_lookup(r->summary, "scenario");
    const char *seed = g_hash_table_lookup(r->summary, "seed");
    const char *mode = g_hash_table_lookup(r->summary, "mode");
    return g_strdup_printf("%s seed %s%s%s%s", sc != NULL && sc[0] != '\0' ? sc : r->rel,
                           seed != NULL ? seed : "?", mode != NULL && mode[0] ? " (" : "",
                           mode != NULL ? mode : "", mode != NULL && mode[0] ? ")" : "");
}

typedef struct PlotSpec {
    const char *script;  /* in plots/ */
    const char *csv;     /* the data it needs (no rows: plot left out) */
    const char *caption;
} PlotSpec;

static const PlotSpec plot_specs[] = {
    {"throughput.gp", "throughput.csv", "Throughput over simulated time"},
    {"latency.gp", "latency.csv", "End-to-end latency (p50, p99, max)"},
    {"latency_cdf.gp", "latency_cdf.csv", "Latency distribution (CDF)"},
    {"checkpoints.gp", "checkpoints.csv",
     "Checkpoint durations (start delay, alignment, sync, async), alignments, sizes"},
    {"recovery.gp", "recovery.csv", "Recovery time per failover"},
};

static bool plot_run(const SimReportCtx *ctx, SimReportRun *r, GError **error) {
    char *title = run_title(r);
    bool ok = true;
    for (size_t i = 0; i < G_N_ELEMENTS(plot_specs) && ok; i++) {
        const PlotSpec *ps = &plot_specs[i];
        SimReportPlot *pl = g_new0(SimReportPlot, 1);
        pl->caption = g_strdup(ps->caption);
        g_ptr_array_add(r->plots, pl);
        if (data_rows(r->dir, ps->csv) == 0)
            continue; /* left out: the index says "no data" */
        char *base = g_strndup(ps->script, strlen(ps->script) - 3);
        pl->file = g_strdup_printf("%s%s%s.%s", r->prefix, r->prefix[0] ? "-" : "", base,
                                   ctx->format);
        char *out = g_build_filename(ctx->out_dir, pl->file, NULL);
        GString *vars = g_string_new(NULL);
        gp_string(vars, "datadir", r->dir);
        gp_string(vars, "out", out);
        gp_string(vars, "title", title);
        const char *note = g_hash_table_lookup(r->summary, "latency_percentiles");
        gp_string(vars, "latnote",
                  note != NULL ? note : "histogram bucket midpoints (within 6.25%)");
        ok = sim_report_gnuplot(ctx, ps->script, vars->str, error);
        g_string_free(vars, TRUE);
        g_free(out);
        g_free(base);
    }
    g_free(title);
    return ok;
}

static const char *summary_get(const SimReportRun *r, const char *key) {
    const char *v = g_hash_table_lookup(r->summary, key);
    return v != NULL ? v : "";
}

/* Which runs get plots: all of them in a small report; in a large one (a sweep over
 * many seeds) the lowest seed of every scenario and mode, plus the first
 * REPORT_MAX_VIOLATION_PLOTS runs with violations. The verdict table lists every run. */
static void choose_plotted(GPtrArray *runs) {
    GHashTable *best = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < runs->len; i++) {
        SimReportRun *r = g_ptr_array_index(runs, i);
        r->plotted = runs->len <= REPORT_PLOT_ALL_UP_TO;
        char *k = g_strdup_printf("%s|%s", summary_get(r, "scenario"), summary_get(r, "mode"));
        SimReportRun *b = g_hash_table_lookup(best, k);
        if (b == NULL || g_ascii_strtoull(summary_get(r, "seed"), NULL, 10) <
                             g_ascii_strtoull(summary_get(b, "seed"), NULL, 10))
            g_hash_table_replace(best, g_strdup(k), r);
        g_free(k);
    }
    unsigned bad = 0;
    for (guint i = 0; i < runs->len; i++) {
        SimReportRun *r = g_ptr_array_index(runs, i);
        char *k = g_strdup_printf("%s|%s", summary_get(r, "scenario"), summary_get(r, "mode"));
        if (g_hash_table_lookup(best, k) == r)
            r->plotted = true;
        if (r->violations->len > 0 && bad++ < REPORT_MAX_VIOLATION_PLOTS)
            r->plotted = true;
        g_free(k);
    }
    g_hash_table_unref(best);
}

/* Aligned vs unaligned: pairs of runs with the same scenario and seed. */
static bool plot_comparisons(SimReportCtx *ctx, GPtrArray *runs, GError **error) {
    bool ok = true;
    for (guint i = 0; i < runs->len && ok; i++) {
        SimReportRun *a = g_ptr_array_index(runs, i);
        if (!a->plotted || strcmp(summary_get(a, "mode"), "aligned") != 0 ||
            data_rows(a->dir, "latency.csv") == 0)
            continue;
        for (guint j = 0; j < runs->len && ok; j++) {
            SimReportRun *b = g_ptr_array_index(runs, j);
            if (!b->plotted || strcmp(summary_get(b, "mode"), "unaligned") != 0 ||
                strcmp(summary_get(a, "scenario"), summary_get(b, "scenario")) != 0 ||
                strcmp(summary_get(a, "seed"), summary_get(b, "seed")) != 0 ||
                data_rows(b->dir, "latency.csv") == 0)
                continue;
            SimReportPlot *pl = g_new0(SimReportPlot, 1);
            pl->caption = g_strdup_printf("Aligned (%s) vs unaligned (%s): %s seed %s", a->rel,
                                          b->rel, summary_get(a, "scenario"),
                                          summary_get(a, "seed"));
            pl->file = g_strdup_printf("compare-%s-vs-%s.%s", a->prefix, b->prefix,
                                       ctx->format);
            g_ptr_array_add(ctx->comparisons, pl);
            char *out = g_build_filename(ctx->out_dir, pl->file, NULL);
            GString *vars = g_string_new(NULL);
            gp_string(vars, "adir", a->dir);
            gp_string(vars, "bdir", b->dir);
            gp_string(vars, "alabel", "aligned");
            gp_string(vars, "blabel", "unaligned");
            gp_string(vars, "out", out);
            gp_string(vars, "title", pl->caption);
            ok = sim_report_gnuplot(ctx, "compare.gp", vars->str, error);
            g_string_free(vars, TRUE);
            g_free(out);
        }
    }
    return ok;
}

/* ------------------------------------------------------------------ generate */

static bool resolve_tools(SimReportCtx *ctx, const SimReportOptions *opt, GError **error) {
    const char *fmt = opt->format != NULL ? opt->format : "svg";
    if (strcmp(fmt, "svg") != 0 && strcmp(fmt, "png") != 0) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_BAD_INPUT,
                    "--format must be svg or png, not '%s'", fmt);
        return false;
    }
    ctx->format = fmt;
    const char *gp = opt->gnuplot != NULL ? opt->gnuplot : "gnuplot";
    ctx->gnuplot_owned = g_find_program_in_path(gp);
    if (ctx->gnuplot_owned == NULL) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_NO_GNUPLOT,
                    "gnuplot not found on PATH (install it, e.g. apt-get install gnuplot-nox)");
        return false;
    }
    ctx->gnuplot = ctx->gnuplot_owned;
    const char *env = g_getenv("CKPTSIM_PLOTS_DIR");
    ctx->plots_dir = opt->plots_dir != NULL ? opt->plots_dir
                     : env != NULL && env[0] != '\0' ? env
                                                     : sim_report_default_plots_dir();
    bool found = has_scripts(ctx->plots_dir);
    if (!found)
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_IO,
                    "gnuplot scripts not found in %s (set CKPTSIM_PLOTS_DIR to ckptsim's "
                    "plots/ directory)",
                    ctx->plots_dir);
    return found;
}

bool sim_report_generate(const char *dir, const SimReportOptions *opt, GError **error) {
    SimReportOptions defaults;
    sim_report_options_init(&defaults);
    if (opt == NULL)
        opt = &defaults;
    if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_BAD_INPUT,
                    "%s is not a directory", dir);
        return false;
    }
    SimReportCtx ctx;
    memset(&ctx, 0, sizeof ctx);
    if (!resolve_tools(&ctx, opt, error)) {
        g_free(ctx.gnuplot_owned);
        return false;
    }
    GPtrArray *runs = collect_runs(dir, error);
    bool ok = runs != NULL;
    char *index = opt->out_path != NULL ? g_strdup(opt->out_path)
                                        : g_build_filename(dir, "report.html", NULL);
    ctx.out_dir = g_path_get_dirname(index);
    ctx.comparisons = g_ptr_array_new_with_free_func(plot_free);
    if (ok && g_mkdir_with_parents(ctx.out_dir, 0755) != 0) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_IO, "cannot create %s: %s",
                    ctx.out_dir, g_strerror(errno));
        ok = false;
    }
    if (ok)
        choose_plotted(runs);
    for (guint i = 0; ok && i < runs->len; i++)
        if (((SimReportRun *)g_ptr_array_index(runs, i))->plotted)
            ok = plot_run(&ctx, g_ptr_array_index(runs, i), error);
    if (ok && runs->len > 1)
        ok = plot_comparisons(&ctx, runs, error);
    if (ok)
        ok = sim_report_write_index(&ctx, runs, index, error);
    if (runs != NULL)
        g_ptr_array_unref(runs);
    g_ptr_array_unref(ctx.comparisons);
    g_free(ctx.out_dir);
    g_free(ctx.gnuplot_owned);
    g_free(index);
    return ok;
}

/* ------------------------------------------------------------------ command */

static void report_usage(FILE *out) {
    fprintf(out,
            "Usage: ckptsim report DIR [--out FILE] [--format svg|png]\n"
            "\n"
            "Plots a run written by 'ckptsim run SCENARIO --out DIR' (or every run in the\n"
            "sub-directories of DIR) with gnuplot: throughput and latency over simulated\n"
            "time with checkpoints and faults marked, checkpoint and alignment durations,\n"
            "recovery times, aligned vs unaligned comparisons, and a verdict table.\n"
            "\n"
            "  --out FILE     the index (default DIR/report.html; *.md for Markdown); the\n"
            "                 plots are written next to it\n"
            "  --format FMT   svg (default) or png\n"
            "\n"
            "gnuplot must be on PATH; scripts come from $CKPTSIM_PLOTS_DIR or %s.\n"
            "Every run is in the verdict table; with more than %u runs, plots are made for\n"
            "the lowest seed of each scenario and mode and the first %u violating runs.\n"
            "Exit status: 0 report written, 1 gnuplot failed, 2 bad input or no gnuplot.\n",
            sim_report_default_plots_dir(), REPORT_PLOT_ALL_UP_TO, REPORT_MAX_VIOLATION_PLOTS);
}

int sim_cmd_report(int argc, char **argv) {
    SimReportOptions opt;
    sim_report_options_init(&opt);
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            report_usage(stdout);
            return SIM_EXIT_OK;
        } else if ((strcmp(argv[i], "--out") == 0 || strcmp(argv[i], "--format") == 0) &&
                   i + 1 < argc) {
            *(strcmp(argv[i], "--out") == 0 ? &opt.out_path : &opt.format) = argv[i + 1];
            i++;
        } else if (argv[i][0] != '-' && dir == NULL) {
            dir = argv[i];
        } else {
            fprintf(stderr, "ckptsim report: unexpected argument '%s'\n", argv[i]);
            report_usage(stderr);
            return SIM_EXIT_BAD_INPUT;
        }
    }
    if (dir == NULL) {
        report_usage(stderr);
        return SIM_EXIT_BAD_INPUT;
    }
    GError *err = NULL;
    if (!sim_report_generate(dir, &opt, &err)) {
        fprintf(stderr, "ckptsim report: %s\n", err->message);
        int rc = err->code == SIM_REPORT_ERROR_GNUPLOT ? SIM_EXIT_VIOLATION : SIM_EXIT_BAD_INPUT;
        g_error_free(err);
        return rc;
    }
    char *index = opt.out_path != NULL ? g_strdup(opt.out_path)
                                       : g_build_filename(dir, "report.html", NULL);
    printf("report: %s\n", index);
    g_free(index);
    return SIM_EXIT_OK;
}
