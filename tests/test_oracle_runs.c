/* test_oracle_runs.c - the oracle on whole simulated runs of the topologies the
 * standard scenarios did not cover (tests/oracle-scenarios/: a listmap with no counter,
 * a counter -> map chain -> listmap broadcasting into the sinks, rebalanced map chains
 * fanning out into a listmap and a counter), each with a crash:
 *  - they hold for a few seeds, exactly-once (aligned and unaligned) and at-least-once;
 *  - the planted bug snapshot-on-first-barrier is caught on the topology with no
 *    counter, with a crash and without any fault (then only the listmap's reference
 *    state and the sinks' pre-commits can see it), and skip-source-rewind on the
 *    broadcast one.
 * Suite 'scenario'.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

#define SEEDS 4u

static const char *const scenario_files[] = {
    "listmap-nocounter.ini", "listmap-nofault.ini", "listmap-broadcast-crash.ini",
    "mapchain-rebalance.ini", NULL};

static SimScenario *load(const char *name, const char *const *sets) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char *path = g_build_filename(root, "tests", "oracle-scenarios", name, NULL);
    GError *e = NULL;
    SimScenario *s = sim_scenario_load(path, sets, &e);
    ck_assert_msg(s != NULL, "%s: %s", path, e != NULL ? e->message : "");
    g_free(path);
    return s;
}

static uint64_t bug_named(const char *name) {
    for (const RtBugInfo *b = rt_bugs_table(); b->name != NULL; b++)
        if (strcmp(b->name, name) == 0)
            return b->bug;
    ck_abort_msg("no bug %s", name);
    return 0;
}

/* Runs s with seed and bugs; returns whether it held; *inv gets whether a violation of
 * invariant inv was found (inv may be NULL). */
static bool run_one(const SimScenario *s, uint64_t seed, uint64_t bugs, const char *inv,
                    bool *found) {
    SimRunOptions opt;
    sim_run_options_init(&opt, seed);
    opt.bugs = bugs;
    SimRunResult r;
    ck_assert(sim_run(s, &opt, &r, NULL));
    for (guint i = 0; i < r.violations->len; i++) {
        const SimViolation *v = g_ptr_array_index(r.violations, i);
        if (inv != NULL && strcmp(v->invariant, inv) == 0)
            *found = true;
        if (bugs == 0) {
            char *str = sim_violation_to_string(v);
            fprintf(stderr, "# %s seed %" G_GUINT64_FORMAT ": %s\n", s->name, seed, str);
            g_free(str);
        }
    }
    bool held = r.held;
    sim_run_result_clear(&r);
    return held;
}

START_TEST(test_new_topologies_hold) {
    static const char *const modes[][2] = {
        {NULL, NULL},
        {"execution.checkpointing.unaligned.enabled=true", NULL},
        {"execution.checkpointing.mode=AT_LEAST_ONCE", NULL},
    };
    for (const char *const *f = scenario_files; *f != NULL; f++) {
        SimScenario *s = load(*f, modes[_i][0] != NULL ? modes[_i] : NULL);
        for (uint64_t seed = 1; seed <= SEEDS; seed++)
            ck_assert_msg(run_one(s, seed, 0, NULL, NULL), "%s seed %" G_GUINT64_FORMAT, *f,
                          seed);
        sim_scenario_free(s);
    }
}
END_TEST

START_TEST(test_bugs_caught_on_new_topologies) {
    static const struct {
        const char *file, *bug, *inv;
    } cases[] = {
        {"listmap-nocounter.ini", "snapshot-on-first-barrier", SIM_INV_CONSISTENT_CUT},
        /* No fault: the bad cuts are never restored, so only the cut checks see them. */
        {"listmap-nofault.ini", "snapshot-on-first-barrier", SIM_INV_CONSISTENT_CUT},
        {"listmap-broadcast-crash.ini", "skip-source-rewind", SIM_INV_EXACTLY_ONCE},
    };
    SimScenario *s = load(cases[_i].file, NULL);
    bool found = false;
    for (uint64_t seed = 1; seed <= SEEDS && !found; seed++)
        (void)run_one(s, seed, bug_named(cases[_i].bug), cases[_i].inv, &found);
    ck_assert_msg(found, "%s not caught on %s as %s", cases[_i].bug, cases[_i].file,
                  cases[_i].inv);
    sim_scenario_free(s);
}
END_TEST

static Suite *oracle_runs_suite(void) {
    Suite *s = suite_create("oracle_runs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_new_topologies_hold, 0, 3);
    tcase_add_loop_test(tc, test_bugs_caught_on_new_topologies, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(oracle_runs_suite());
}
