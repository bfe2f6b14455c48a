/* test_scenario_suite.c - every standard scenario (files in scenarios/, except .md) runs
 * to completion and holds for a few seeds with the hashmap and the filesystem backend;
 * runs are deterministic (same seed, same trace hash; different seeds differ); and a
 * planted bug turns a held scenario into a violation (the checker can fail). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

#define SEEDS 4

static char **scenario_files(void) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CKPTSIM_SOURCE_ROOT is not set");
    char *dir = g_build_filename(root, "scenarios", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    GPtrArray *files = g_ptr_array_new();
    for (const char *n = g_dir_read_name(d); n != NULL; n = g_dir_read_name(d)) {
        char *path = g_build_filename(dir, n, NULL);
        /* Files only: subdirectories such as museum/ are not standard scenarios. */
        if (!g_str_has_suffix(n, ".md") && n[0] != '.' &&
            g_file_test(path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(files, path);
        else
            g_free(path);
    }
    g_dir_close(d);
    g_free(dir);
    g_ptr_array_sort(files, (GCompareFunc)g_strcmp0);
    g_ptr_array_add(files, NULL);
    return (char **)g_ptr_array_free(files, FALSE);
}

static SimScenario *load(const char *path, const char *backend) {
    char *set = g_strdup_printf("state.backend.type=%s", backend);
    const char *sets[] = {set, NULL};
    GError *e = NULL;
    SimScenario *s = sim_scenario_load(path, sets, &e);
    ck_assert_msg(s != NULL, "%s", e ? e->message : "");
    g_free(set);
    return s;
}

static void run_once(const SimScenario *s, uint64_t seed, uint64_t bugs, SimRunResult *r) {
    SimRunOptions opt;
    sim_run_options_init(&opt, seed);
    opt.bugs = bugs;
    GError *e = NULL;
    ck_assert_msg(sim_run(s, &opt, r, &e), "%s: %s", s->name, e ? e->message : "");
}

static void check_backend(const char *backend) {
    char **files = scenario_files();
    ck_assert_uint_ge(g_strv_length(files), 9);
    for (char **f = files; *f != NULL; f++) {
        SimScenario *s = load(*f, backend);
        for (uint64_t seed = 1; seed <= SEEDS; seed++) {
            SimRunResult r;
            run_once(s, seed, 0, &r);
            const SimViolation *v =
                r.violations->len ? g_ptr_array_index(r.violations, 0) : NULL;
            ck_assert_msg(r.held, "%s seed %" G_GUINT64_FORMAT " (%s): %s: %s", s->name, seed,
                          backend, v ? v->invariant : "", v ? v->message : "");
            ck_assert_str_eq(r.end_reason, "job finished");
            /* A scenario that asserts Flink's own data problem ([expect]
             * expected-violations = exactly-once, jobmanager-crash.ini) duplicates. */
            char **want = s->expect.expected_violations;
            if (want == NULL || !g_strv_contains((const char *const *)want, "exactly-once")) {
                ck_assert_uint_eq(r.oracle.records_lost, 0);
                ck_assert_uint_eq(r.oracle.records_duplicated, 0);
            }
            ck_assert_uint_gt(r.oracle.checkpoints_completed, 0);
            sim_run_result_clear(&r);
        }
        sim_scenario_free(s);
    }
    g_strfreev(files);
}

START_TEST(test_hashmap) {
    check_backend("hashmap");
}
END_TEST

START_TEST(test_filesystem) {
    check_backend("filesystem");
}
END_TEST

START_TEST(test_deterministic) {
    char **files = scenario_files();
    for (char **f = files; *f != NULL; f++) {
        SimScenario *s = load(*f, "hashmap");
        SimRunResult a, b, c;
        run_once(s, 7, 0, &a);
        run_once(s, 7, 0, &b);
        run_once(s, 8, 0, &c);
        ck_assert_msg(a.trace_hash == b.trace_hash, "%s: same seed, different hash", s->name);
        ck_assert_uint_eq(a.steps, b.steps);
        ck_assert_uint_eq(a.sim_time_ns, b.sim_time_ns);
        ck_assert_msg(a.trace_hash != c.trace_hash, "%s: seeds 7 and 8 give one hash",
                      s->name);
        sim_run_result_clear(&a);
        sim_run_result_clear(&b);
        sim_run_result_clear(&c);
        sim_scenario_free(s);
    }
    g_strfreev(files);
}
END_TEST

/* The checker can fail: a planted bug that the scenario exercises is reported. */
START_TEST(test_bug_detected) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    char *path = g_build_filename(root, "scenarios", "keyby-fanout.ini", NULL);
    SimScenario *s = load(path, "hashmap");
    SimRunResult r;
    run_once(s, 1, rt_bug_by_name("snapshot-on-first-barrier"), &r);
    ck_assert(!r.held);
    ck_assert_uint_gt(r.violations->len, 0);
    const SimViolation *v = g_ptr_array_index(r.violations, 0);
    ck_assert_str_eq(v->invariant, "consistent-cut");
    sim_run_result_clear(&r);
    sim_scenario_free(s);
    g_free(path);
}
END_TEST

/* A restricted fault plan (as shrink uses) drops the faults: no failover then. */
START_TEST(test_fault_mask) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    char *path = g_build_filename(root, "scenarios", "crash-mid-alignment.ini", NULL);
    SimScenario *s = load(path, "hashmap");
    SimRunResult all, none;
    run_once(s, 3, 0, &all);
    ck_assert_uint_ge(all.failovers, 1);
    ck_assert_uint_eq(all.faults_fired, 1);
    SimRunOptions opt;
    sim_run_options_init(&opt, 3);
    opt.has_keep = true;
    ck_assert(sim_run(s, &opt, &none, NULL));
    ck_assert_uint_eq(none.faults_planned, 0);
    ck_assert_uint_eq(none.failovers, 0);
    ck_assert(none.trace_hash != all.trace_hash);
    sim_run_result_clear(&all);
    sim_run_result_clear(&none);
    sim_scenario_free(s);
    g_free(path);
}
END_TEST

static Suite *scenario_suite(void) {
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("standard");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_hashmap);
    tcase_add_test(tc, test_filesystem);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_bug_detected);
    tcase_add_test(tc, test_fault_mask);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(scenario_suite());
}
