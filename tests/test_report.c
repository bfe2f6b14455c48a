/* test_report.c - `ckptsim report`: from run directories written by the metrics
 * writer, gnuplot produces every plot, the index lists the verdicts and the first
 * violation, an aligned vs unaligned comparison appears when both runs exist, the
 * output is byte-identical when repeated, and a missing gnuplot or a directory without
 * runs exits 2. Skipped (TAP "1..0 # SKIP") when gnuplot is not on PATH.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "sim/report/sim_metrics.h"
#include "sim/report/sim_report.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

#define MS UINT64_C(1000000)

static char *tmp_root;

static void ev_at(SimMetrics *m, RtEventKind kind, uint64_t t, uint64_t ckpt, uint64_t a,
                  uint64_t c) {
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ns = t;
    ev.checkpoint_id = ckpt;
    ev.a = a;
    ev.c = c;
    ev.process = 2;
    ev.subtask = (RtSubtaskId){1, (uint16_t)(a % 2)};
    sim_metrics_event(m, &ev);
}

/* Writes a run directory under tmp_root/name: 3 s of records, a checkpoint per second
 * (slower when unaligned is false: alignment), a crash and recovery at 1.5 s. */
static char *make_run(const char *name, const char *mode, bool violated) {
    SimMetrics *m = sim_metrics_new(NULL, NULL, 0);
    bool aligned = strcmp(mode, "aligned") == 0;
    for (uint64_t t = 0; t < 3000; t += 5) {
        ev_at(m, RT_EV_RECORD_EMIT, t * MS, 0, t, 0);
        if (t % 1000 == 500) {
            uint64_t id = t / 1000 + 1;
            ev_at(m, RT_EV_CKPT_TRIGGER, t * MS, id, 0, 0);
            ev_at(m, RT_EV_ALIGN_START, t * MS, id, 0, 0);
            ev_at(m, RT_EV_ALIGN_END, (t + (aligned ? 3 : 0)) * MS, id, aligned ? 3 * MS : 0,
                  0);
            ev_at(m, RT_EV_CKPT_COMPLETE, (t + (aligned ? 4 : 2)) * MS, id, 0, 0);
        }
        ev_at(m, RT_EV_SINK_COMMIT_RECORD, (t + 4) * MS, 0, 0, (aligned ? 40 : 20) * MS);
        if (t == 1500) {
            ev_at(m, RT_EV_WORLD_CRASH, t * MS, 0, 0, 0);
            ev_at(m, RT_EV_FAILOVER, (t + 1) * MS, 0, 2, 0);
            ev_at(m, RT_EV_JOB_RUNNING, (t + 50) * MS, 0, 2, 0);
        }
    }
    ev_at(m, RT_EV_JOB_FINISHED, 3100 * MS, 0, 0, 0);
    char *dir = g_build_filename(tmp_root, name, NULL);
    GPtrArray *viol = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
    if (violated)
        g_ptr_array_add(viol, sim_violation_new(SIM_INV_EXACTLY_ONCE,
                                                "sink sink: 3 records lost <first>", 1500 * MS,
                                                1, NULL));
    SimMetricsRunInfo info = {"fanout", 3, violated ? "violation" : "ok", 0x1234, 3100 * MS,
                              viol, mode};
    GError *err = NULL;
    ck_assert_msg(sim_metrics_write(m, dir, &info, &err), "%s", err ? err->message : "");
    g_ptr_array_unref(viol);
    sim_metrics_free(m);
    return dir;
}

static char *slurp(const char *path) {
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "missing %s", path);
    return text;
}

static bool exists(const char *dir, const char *name) {
    char *p = g_build_filename(dir, name, NULL);
    bool yes = g_file_test(p, G_FILE_TEST_IS_REGULAR);
    g_free(p);
    return yes;
}

static void setup(void) {
    tmp_root = g_dir_make_tmp("ckptsim-report-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmp_root);
    const char *src = g_getenv("CKPTSIM_SOURCE_ROOT");
    if (src != NULL) {
        char *plots = g_build_filename(src, "plots", NULL);
        g_setenv("CKPTSIM_PLOTS_DIR", plots, TRUE);
        g_free(plots);
    }
}

static void teardown(void) {
    test_proc_remove_tree(tmp_root);
    g_free(tmp_root);
}

START_TEST(test_single_run_report) {
    char *run = make_run("one", "aligned", false);
    SimReportOptions opt;
    sim_report_options_init(&opt);
    GError *err = NULL;
    ck_assert_msg(sim_report_generate(run, &opt, &err), "%s", err ? err->message : "");
    const char *plots[] = {"throughput.svg", "latency.svg", "checkpoints.svg", "recovery.svg"};
    for (size_t i = 0; i < G_N_ELEMENTS(plots); i++) {
        ck_assert_msg(exists(run, plots[i]), "no %s", plots[i]);
        char *p = g_build_filename(run, plots[i], NULL);
        char *svg = slurp(p);
        ck_assert(strstr(svg, "<svg") != NULL);
        g_free(svg);
        g_free(p);
    }
    char *ip = g_build_filename(run, "report.html", NULL);
    char *html = slurp(ip);
    ck_assert(strstr(html, "1 run: 1 held, 0 with violations.") != NULL);
    ck_assert(strstr(html, "<img src=\"throughput.svg\"") != NULL);
    ck_assert(strstr(html, "<td>fanout</td><td>3</td><td>aligned</td><td>ok</td>") != NULL);
    g_free(html);
    g_free(ip);
    g_free(run);
}
END_TEST

START_TEST(test_multi_run_report_with_comparison) {
    g_free(make_run("a-aligned", "aligned", false));
    g_free(make_run("b-unaligned", "unaligned", true));
    char *out = g_build_filename(tmp_root, "out", "index.md", NULL);
    SimReportOptions opt;
    sim_report_options_init(&opt);
    opt.out_path = out;
    opt.format = "png";
    GError *err = NULL;
    ck_assert_msg(sim_report_generate(tmp_root, &opt, &err), "%s", err ? err->message : "");
    char *od = g_build_filename(tmp_root, "out", NULL);
    ck_assert(exists(od, "a-aligned-throughput.png"));
    ck_assert(exists(od, "b-unaligned-latency.png"));
    ck_assert(exists(od, "compare-a-aligned-vs-b-unaligned.png"));
    char *md = slurp(out);
    ck_assert(strstr(md, "2 runs: 1 held, 1 with violations.") != NULL);
    ck_assert(strstr(md, "| a-aligned | fanout | 3 | aligned | ok | 0 |") != NULL);
    ck_assert(strstr(md, "| b-unaligned | fanout | 3 | unaligned | violation | 1 |") != NULL);
    ck_assert(strstr(md, "exactly-once: sink sink: 3 records lost \\<first>") != NULL);
    ck_assert(strstr(md, "## Aligned vs unaligned") != NULL);
    /* Deterministic: a second report gives identical bytes (index and plots). */
    char *png1 = g_build_filename(od, "compare-a-aligned-vs-b-unaligned.png", NULL);
    gsize n1 = 0, n2 = 0;
    char *b1 = NULL, *b2 = NULL;
    ck_assert(g_file_get_contents(png1, &b1, &n1, NULL));
    ck_assert(sim_report_generate(tmp_root, &opt, NULL));
    char *md2 = slurp(out);
    ck_assert_str_eq(md, md2);
    ck_assert(g_file_get_contents(png1, &b2, &n2, NULL));
    ck_assert(n1 == n2 && memcmp(b1, b2, n1) == 0);
    g_free(b1);
    g_free(b2);
    g_free(png1);
    g_free(md);
    g_free(md2);
    g_free(od);
    g_free(out);
}
END_TEST

START_TEST(test_empty_data_is_left_out) {
    SimMetrics *m = sim_metrics_new(NULL, NULL, 0);
    char *dir = g_build_filename(tmp_root, "empty", NULL);
    SimMetricsRunInfo info = {"idle", 1, "ok", 0, 0, NULL, NULL};
    ck_assert(sim_metrics_write(m, dir, &info, NULL));
    sim_metrics_free(m);
    ck_assert(sim_report_generate(dir, NULL, NULL));
    ck_assert(!exists(dir, "throughput.svg"));
    char *ip = g_build_filename(dir, "report.html", NULL);
    char *html = slurp(ip);
    ck_assert(strstr(html, "Throughput over simulated time: no data.") != NULL);
    g_free(html);
    g_free(ip);
    g_free(dir);
}
END_TEST

START_TEST(test_errors) {
    SimReportOptions opt;
    sim_report_options_init(&opt);
    GError *err = NULL;
    ck_assert(!sim_report_generate(tmp_root, &opt, &err)); /* no runs in it */
    ck_assert_int_eq(err->code, SIM_REPORT_ERROR_BAD_INPUT);
    ck_assert(strstr(err->message, "no run") != NULL);
    g_clear_error(&err);
    g_free(make_run("r", "aligned", false));
    opt.gnuplot = "ckptsim-no-such-gnuplot";
    ck_assert(!sim_report_generate(tmp_root, &opt, &err));
    ck_assert_int_eq(err->code, SIM_REPORT_ERROR_NO_GNUPLOT);
    g_clear_error(&err);
    opt.gnuplot = NULL;
    opt.format = "gif";
    ck_assert(!sim_report_generate(tmp_root, &opt, &err));
    ck_assert_int_eq(err->code, SIM_REPORT_ERROR_BAD_INPUT);
    g_clear_error(&err);
}
END_TEST

/* Runs the ckptsim binary's report command with PATH set to path_env; returns its exit
 * status. */
static int run_cli(const char *dir, const char *path_env) {
    const char *bin = g_getenv("CKPTSIM_BIN");
    ck_assert_ptr_nonnull(bin);
    char *argv[] = {(char *)bin, "report", (char *)dir, NULL};
    char **envp = g_get_environ();
    envp = g_environ_setenv(envp, "PATH", path_env, TRUE);
    int status = 0;
    ck_assert(g_spawn_sync(NULL, argv, envp, G_SPAWN_STDOUT_TO_DEV_NULL |
                           G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL));
    g_strfreev(envp);
    ck_assert(WIFEXITED(status));
    return WEXITSTATUS(status);
}

START_TEST(test_cli_exit_codes) {
    if (g_getenv("CKPTSIM_BIN") == NULL)
        return; /* only under meson test */
    char *run = make_run("cli", "aligned", false);
    ck_assert_int_eq(run_cli(run, g_getenv("PATH")), 0);
    ck_assert_int_eq(run_cli(run, "/nonexistent"), 2); /* no gnuplot */
    ck_assert_int_eq(run_cli(tmp_root, g_getenv("PATH")), 0); /* multi-run mode */
    char *empty = g_build_filename(tmp_root, "cli", "nothing-here", NULL);
    g_mkdir_with_parents(empty, 0755);
    ck_assert_int_eq(run_cli(empty, g_getenv("PATH")), 2);
    g_free(empty);
    g_free(run);
}
END_TEST

static Suite *report_suite(void) {
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("gnuplot");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_single_run_report);
    tcase_add_test(tc, test_multi_run_report_with_comparison);
    tcase_add_test(tc, test_empty_data_is_left_out);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_cli_exit_codes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    char *gp = g_find_program_in_path("gnuplot");
    if (gp == NULL) {
        printf("1..0 # SKIP gnuplot not found on PATH\n");
        return EXIT_SUCCESS;
    }
    g_free(gp);
    return test_check_run(report_suite());
}
