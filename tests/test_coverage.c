/* test_coverage.c - the harness-side `coverage` invariant (sim/harness/sim_coverage.h):
 * a fault whose trigger never comes and a crash of an idle worker are violations that
 * name the fault; a run without records is never a pass; role targets (leader, standby,
 * host of OP[I]) resolve when the fault fires; failovers count once per job restart. */
#include <check.h>
#include <string.h>

#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

static char *scenario_path(const char *name) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CKPTSIM_SOURCE_ROOT is not set");
    return g_build_filename(root, "scenarios", name, NULL);
}

/* Runs scenarios/name with sets (NULL-terminated) for seed. */
static SimRunResult run(const char *name, const char *const *sets, uint64_t seed) {
    char *path = scenario_path(name);
    GError *e = NULL;
    SimScenario *s = sim_scenario_load(path, sets, &e);
    ck_assert_msg(s != NULL, "%s", e ? e->message : "");
    SimRunOptions o;
    sim_run_options_init(&o, seed);
    SimRunResult r;
    ck_assert_msg(sim_run(s, &o, &r, &e), "%s", e ? e->message : "");
    sim_scenario_free(s);
    g_free(path);
    return r;
}

/* The first coverage violation whose message contains needle, or NULL. */
static const SimViolation *coverage_violation(const SimRunResult *r, const char *needle) {
    for (guint i = 0; i < r->violations->len; i++) {
        const SimViolation *v = g_ptr_array_index(r->violations, i);
        if (strcmp(v->invariant, SIM_RUN_INVARIANT_COVERAGE) == 0 &&
            strstr(v->message, needle) != NULL)
            return v;
    }
    return NULL;
}

static const SimFaultReport *fault(const SimRunResult *r, const char *name) {
    for (uint32_t i = 0; i < r->coverage.n_faults; i++)
        if (strcmp(r->coverage.faults[i].name, name) == 0)
            return &r->coverage.faults[i];
    ck_abort_msg("no fault %s in the report", name);
    return NULL;
}

START_TEST(test_trigger_never_comes) {
    const char *sets[] = {"faults.mid-align=when align_start of checkpoint 999 on count[1]: "
                          "crash this restart after 500 ms",
                          "expect.min-failovers=0", NULL};
    SimRunResult r = run("crash-mid-alignment.ini", sets, 1);
    ck_assert(!r.held);
    const SimViolation *v = coverage_violation(&r, "never fired");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v->fault, "mid-align");
    ck_assert(!fault(&r, "mid-align")->fired);
    sim_run_result_clear(&r);
    /* The same scenario as written holds, its fault fired and effective. */
    const char *none[] = {NULL};
    r = run("crash-mid-alignment.ini", none, 1);
    ck_assert(r.held);
    ck_assert(fault(&r, "mid-align")->effective);
    sim_run_result_clear(&r);
}
END_TEST

/* --set operator.NAME.records=0 for every source operator the scenario declares
 * ([operator NAME] or [operator.NAME] with kind = source), NULL-terminated. */
static GPtrArray *zero_records_sets(const char *name) {
    char *path = scenario_path(name);
    GKeyFile *kf = g_key_file_new();
    ck_assert(g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL));
    GPtrArray *sets = g_ptr_array_new_with_free_func(g_free);
    gchar **groups = g_key_file_get_groups(kf, NULL);
    for (gchar **g = groups; *g != NULL; g++) {
        if (!g_str_has_prefix(*g, "operator ") && !g_str_has_prefix(*g, "operator."))
            continue;
        char *kind = g_key_file_get_string(kf, *g, "kind", NULL);
        if (g_strcmp0(kind, "source") == 0)
            g_ptr_array_add(sets, g_strdup_printf("operator.%s.records=0", *g + 9));
        g_free(kind);
    }
    ck_assert_uint_ge(sets->len, 1);
    g_ptr_array_add(sets, NULL);
    g_strfreev(groups);
    g_key_file_free(kf);
    g_free(path);
    return sets;
}

/* No records: not a pass for any standard scenario (every source set to 0 records). */
START_TEST(test_no_records_never_passes) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    char *dir = g_build_filename(root, "scenarios", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    uint32_t n = 0;
    for (const char *f = g_dir_read_name(d); f != NULL; f = g_dir_read_name(d)) {
        if (!g_str_has_suffix(f, ".ini"))
            continue;
        GPtrArray *sets = zero_records_sets(f);
        SimRunResult r = run(f, (const char *const *)sets->pdata, 1);
        ck_assert_msg(!r.held, "%s with no records passed", f);
        ck_assert_msg(coverage_violation(&r, "no record was emitted") != NULL, "%s", f);
        sim_run_result_clear(&r);
        g_ptr_array_unref(sets);
        n++;
    }
    ck_assert_uint_ge(n, 16);
    g_dir_close(d);
    g_free(dir);
}
END_TEST

/* linear has 4 subtasks: with 5 workers, worker-5 is given none. */
START_TEST(test_idle_worker_crash) {
    const char *sets[] = {"cluster.workers=5", "scenario.faults-stop-at=5 s",
                          "faults.idle=at 1 s: crash worker-5 restart after 100 ms", NULL};
    SimRunResult r = run("linear.ini", sets, 1);
    const SimFaultReport *f = fault(&r, "idle");
    ck_assert(f->fired && !f->effective);
    ck_assert_ptr_nonnull(strstr(f->why, "idle"));
    ck_assert(!r.held);
    ck_assert_ptr_nonnull(coverage_violation(&r, "fired with no effect"));
    ck_assert_uint_eq(r.failovers, 0);
    sim_run_result_clear(&r);
    /* The same crash of a worker that has work is effective and restarts the job once. */
    const char *busy[] = {"scenario.faults-stop-at=5 s",
                          "faults.busy=at 1 s: crash worker-1 restart after 100 ms", NULL};
    r = run("linear.ini", busy, 1);
    ck_assert_msg(r.held, "%s", r.violations->len ? ((SimViolation *)
                                                     r.violations->pdata[0])->message : "");
    ck_assert(fault(&r, "busy")->effective);
    ck_assert_uint_eq(r.failovers, 1);
    sim_run_result_clear(&r);
}
END_TEST

START_TEST(test_role_targets) {
    const char *leader[] = {"faults.leader=at 1 s: crash leader restart after 2 s",
                            "faults.standby=at 800 ms: zk-expire standby", NULL};
    SimRunResult r = run("ha-leader-crash.ini", leader, 1);
    const SimFaultReport *f = fault(&r, "leader");
    ck_assert_msg(f->effective, "%s", f->why);
    ck_assert_ptr_nonnull(strstr(f->why, "the leader"));
    ck_assert_msg(fault(&r, "standby")->effective, "%s", fault(&r, "standby")->why);
    ck_assert_uint_ge(r.coverage.leader_changes, 1);
    ck_assert_uint_eq(r.coverage.n_leaders, r.coverage.leader_changes + 1);
    ck_assert(r.coverage.leaders[1].process != r.coverage.leaders[0].process);
    ck_assert(r.held);
    sim_run_result_clear(&r);
    const char *host[] = {"faults.mid-align=at 1 s: crash host of count[1] restart after 300 ms",
                          NULL};
    r = run("crash-mid-alignment.ini", host, 1);
    f = fault(&r, "mid-align");
    ck_assert_msg(f->effective, "%s", f->why);
    ck_assert_ptr_nonnull(strstr(f->why, "count[1]"));
    ck_assert(r.held);
    sim_run_result_clear(&r);
}
END_TEST

/* Both workers crash at once: two workers lost, one restart. A job manager restart
 * without HA resumes the job: one restart, not the "resuming" failover event too. */
START_TEST(test_failover_once_per_restart) {
    const char *none[] = {NULL};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        SimRunResult r = run("crash-after-complete.ini", none, seed);
        ck_assert(r.held);
        ck_assert_uint_eq(r.failovers, 1);
        sim_run_result_clear(&r);
        r = run("crash-during-recovery.ini", none, seed);
        ck_assert(r.held);
        ck_assert_uint_eq(r.failovers, 2);
        sim_run_result_clear(&r);
        r = run("jobmanager-crash.ini", none, seed);
        ck_assert(r.held);
        ck_assert_uint_eq(r.failovers, 1);
        sim_run_result_clear(&r);
    }
}
END_TEST

static Suite *coverage_suite(void) {
    Suite *s = suite_create("coverage");
    TCase *tc = tcase_create("coverage");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_trigger_never_comes);
    tcase_add_test(tc, test_no_records_never_passes);
    tcase_add_test(tc, test_idle_worker_crash);
    tcase_add_test(tc, test_role_targets);
    tcase_add_test(tc, test_failover_once_per_restart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(coverage_suite());
}
