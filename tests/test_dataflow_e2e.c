/* test_dataflow_e2e.c - whole jobs in the simulator: the real job manager and task
 * managers run a source -> keyBy -> counter -> sink job (and variants) with checkpoints,
 * and the oracle must find every invariant held: every record committed exactly once,
 * every completed checkpoint a consistent cut, the job finished. Planted task-manager
 * bugs must be caught. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

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

/* Worker crashes: at a time, and mid-alignment (when count[1] starts aligning
 * checkpoint 2), each followed by a restart. */
static const char *const crash_faults[] = {
    "[faults]\ncrash-at = at 700 ms : crash worker-2 restart after 300 ms\n",
    "[faults]\nmid-align = when align_start of checkpoint 2 on count[1] : crash this restart "
    "after 200 ms\n",
    "[faults]\nafter-ack = when 2nd ckpt_ack of checkpoint 3 : crash worker-1 restart after "
    "100 ms\n",
};

static char *with_faults(const char *base, const char *faults) {
    return g_strconcat(base,
                       "restart-strategy.type = fixed-delay\n"
                       "restart-strategy.fixed-delay.attempts = 20\n"
                       "restart-strategy.fixed-delay.delay = 100 ms\n",
                       faults, "[expect]\nmin-failovers = 1\n", NULL);
}

START_TEST(test_linear_crashes) {
    const char *backends[] = {"state.backend.type=hashmap", "state.backend.type=filesystem"};
    for (size_t f = 0; f < G_N_ELEMENTS(crash_faults); f++) {
        char *text = with_faults(linear_text, crash_faults[f]);
        for (size_t b = 0; b < G_N_ELEMENTS(backends); b++) {
            const char *sets[] = {backends[b], NULL};
            for (uint64_t seed = 1; seed <= 3; seed++)
                check_held(text, sets, seed);
        }
        g_free(text);
    }
}
END_TEST

/* A diamond with every partitioning and the listmap operator: src -rebalance-> m1,
 * src -broadcast-> m2, both -keyBy-> lm (listmap) -forward-> count -> sink. */
static const char *diamond_text =
    "[scenario]\nname = tm-diamond\ntime-limit = 60 s\n"
    "[cluster]\nworkers = 3\nslots = 16\n"
    "[operator src]\nkind = source\nparallelism = 2\nrecords = 1500\nkeys = 50\n"
    "distribution = zipf\nrate = 1500\n"
    "[operator m1]\nkind = map\nparallelism = 3\n"
    "[operator m2]\nkind = map\nparallelism = 2\n"
    "[operator lm]\nkind = listmap\nparallelism = 3\n"
    "[operator count]\nkind = counter\nparallelism = 3\n"
    "[operator out]\nkind = sink\nparallelism = 2\n"
    "[edges]\nsrc -> m1 = rebalance\nsrc -> m2 = broadcast\nm1 -> lm = keyBy\n"
    "m2 -> lm = keyBy\nlm -> count = keyBy\ncount -> out = rebalance\n"
    "[config]\nexecution.checkpointing.interval = 250 ms\n";

START_TEST(test_diamond) {
    for (uint64_t seed = 1; seed <= 2; seed++)
        check_held(diamond_text, NULL, seed);
    char *text = with_faults(diamond_text, crash_faults[0]);
    const char *sets[] = {"state.backend.type=filesystem", NULL};
    for (uint64_t seed = 1; seed <= 2; seed++)
        check_held(text, sets, seed);
    g_free(text);
}
END_TEST

/* A planted bug must make some seed fail (within max_seeds), naming invariant. */
static void check_caught(const char *text, uint64_t bug, const char *invariant,
                         uint64_t max_seeds) {
    for (uint64_t seed = 1; seed <= max_seeds; seed++) {
        SimRunResult r;
        run_text(text, NULL, seed, bug, &r);
        bool named = false;
        for (guint i = 0; r.violations != NULL && i < r.violations->len; i++)
            named |= strcmp(((SimViolation *)r.violations->pdata[i])->invariant, invariant) == 0;
        bool held = r.held;
        sim_run_result_clear(&r);
        if (!held) {
            ck_assert_msg(named, "bug caught at seed %llu but not as %s",
                          (unsigned long long)seed, invariant);
            return;
        }
    }
    ck_abort_msg("planted bug not caught in %llu seeds", (unsigned long long)max_seeds);
}

START_TEST(test_bug_snapshot_on_first_barrier) {
    check_caught(linear_text, RT_BUG_SNAPSHOT_ON_FIRST_BARRIER, "consistent-cut", 5);
}
END_TEST

START_TEST(test_bug_skip_source_rewind) {
    char *text = with_faults(linear_text, crash_faults[0]);
    check_caught(text, RT_BUG_SKIP_SOURCE_REWIND, "exactly-once", 5);
    g_free(text);
}
END_TEST

START_TEST(test_bug_sink_commit_on_precommit) {
    /* A worker dies after one sink subtask pre-committed checkpoint 3 but before the
     * checkpoint completed: a transaction committed early is replayed. */
    char *text = with_faults(linear_text, "[faults]\nearly = when txn_precommit of checkpoint "
                                          "3 on out[0] : crash worker-2 restart after 100 ms\n"
                                          "early2 = when txn_precommit of checkpoint 3 on "
                                          "out[1] : crash worker-1 restart after 100 ms\n");
    check_caught(text, RT_BUG_SINK_COMMIT_ON_PRECOMMIT, "exactly-once", 5);
    g_free(text);
}
END_TEST

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
    tcase_add_test(tc, test_linear_crashes);
    tcase_add_test(tc, test_diamond);
    tcase_add_test(tc, test_bug_snapshot_on_first_barrier);
    tcase_add_test(tc, test_bug_skip_source_rewind);
    tcase_add_test(tc, test_bug_sink_commit_on_precommit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(dataflow_e2e_suite());
}
