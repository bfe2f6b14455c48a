/* test_dataflow_e2e.c - whole jobs in the simulator: the real job manager and task
 * managers run a source -> keyBy -> counter -> sink job (and variants) with checkpoints,
 * and the oracle must find every invariant held: every record committed exactly once,
 * every completed checkpoint a consistent cut, the job finished. Planted task-manager
 * bugs must be caught. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"

static const char *linear_text =
    "[scenario]\nname = tm-linear\ntime-limit = 60 s\n"
    "[cluster]\njobmanagers = 1\nworkers = 2\nslots = 8\n"
    "[operator src]\nkind = source\nparallelism = 2\nrecords = 3000\nkeys = 16\nrate = 2000\n"
    "[operator count]\nkind = counter\nparallelism = 2\n"
    "[operator out]\nkind = sink\nparallelism = 2\n"
    "[edges]\nsrc -> count = keyBy\ncount -> out = forward\n"
    "[config]\nexecution.checkpointing.interval = 300 ms\n";

/* Runs text with the given --set options, seed and bugs; returns the result. */
static void run_text(const char *text, const char *const *sets, uint64_t seed, uint64_t bugs,
                     SimRunResult *res) {
    GError *err = NULL;
    SimScenario *s = sim_scenario_load_text("test.ini", text, sets, &err);
    ck_assert_msg(s != NULL, "scenario: %s", err ? err->message : "?");
    SimRunOptions opt;
    sim_run_options_init(&opt, seed);
    opt.bugs = bugs;
    ck_assert_msg(sim_run(s, &opt, res, &err), "run: %s", err ? err->message : "?");
    sim_scenario_free(s);
}

static char *violations_text(const SimRunResult *r) {
    GString *s = g_string_new(NULL);
    for (guint i = 0; r->violations != NULL && i < r->violations->len && i < 5; i++) {
        const SimViolation *v = r->violations->pdata[i];
        g_string_append_printf(s, "\n  %s: %s", v->invariant, v->message);
    }
    return g_string_free(s, FALSE);
}

static void check_held(const char *text, const char *const *sets, uint64_t seed) {
    SimRunResult r;
    run_text(text, sets, seed, 0, &r);
    char *why = violations_text(&r);
    if (getenv("TM_E2E_VERBOSE"))
        fprintf(stderr, "seed %llu: end=%s t=%.3fs steps=%llu ckpts=%llu committed=%llu\n",
                (unsigned long long)seed, r.end_reason, (double)r.sim_time_ns / 1e9,
                (unsigned long long)r.steps,
                (unsigned long long)r.oracle.checkpoints_completed,
                (unsigned long long)r.oracle.records_committed);
    ck_assert_msg(r.held, "seed %llu: violations (end: %s):%s", (unsigned long long)seed,
                  r.end_reason, why);
    ck_assert(r.oracle.job_finished);
    ck_assert_uint_gt(r.oracle.checkpoints_completed, 0);
    ck_assert_uint_eq(r.oracle.records_lost, 0);
    ck_assert_uint_eq(r.oracle.records_duplicated, 0);
    g_free(why);
    sim_run_result_clear(&r);
}

START_TEST(test_linear_hashmap) {
    for (uint64_t seed = 1; seed <= 3; seed++)
        check_held(linear_text, NULL, seed);
}
END_TEST

START_TEST(test_linear_filesystem) {
    const char *sets[] = {"state.backend.type=filesystem", NULL};
    for (uint64_t seed = 1; seed <= 3; seed++)
        check_held(linear_text, sets, seed);
}
END_TEST

START_TEST(test_linear_at_least_once_no_faults) {
    const char *sets[] = {"execution.checkpointing.mode=AT_LEAST_ONCE", NULL};
    check_held(linear_text, sets, 1);
}
END_TEST

static Suite *dataflow_e2e_suite(void) {
    Suite *s = suite_create("dataflow_e2e");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_linear_hashmap);
    tcase_add_test(tc, test_linear_filesystem);
    tcase_add_test(tc, test_linear_at_least_once_no_faults);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(dataflow_e2e_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
