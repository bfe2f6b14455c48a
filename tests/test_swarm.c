/* test_swarm.c - swarm mode of random faults ([random-faults] swarm = true,
 * sim/faults/sim_fault_plan.h): the subset of fault kinds that is on is a function of
 * the seed (same seed, same subset; different seeds, different subsets; only
 * configured kinds; each kind on about half the time), drawing it moves no other
 * stream (an enabled kind's faults are those of the run without swarm), a swarm run is
 * deterministic and names its kinds in --json, and scenarios/swarm-faults.ini seed 6
 * (storage errors during a sink's recovery commit, which once hung the job) holds. */
#include <check.h>
#include <string.h>

#include "sim/faults/sim_fault_plan.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

#define N_SEEDS 200u

static SimRandomFaults all_kinds(bool swarm) {
    SimRandomFaults rf;
    memset(&rf, 0, sizeof rf);
    rf.crash_rate = 0.4;
    rf.jobmanager_crash_rate = 0.2;
    rf.restart_after_ns = 400000000ull;
    rf.spike_rate = 1;
    rf.spike_latency_ns = 30000000ull;
    rf.spike_duration_ns = 300000000ull;
    rf.partition_rate = 0.4;
    rf.partition_duration_ns = 300000000ull;
    rf.storage_error_rate = 1;
    rf.zk_expire_rate = 0.3;
    rf.swarm = swarm;
    return rf;
}

START_TEST(test_subsets_from_seed) {
    SimRandomFaults rf = all_kinds(true);
    uint32_t all = sim_random_faults_configured(&rf);
    ck_assert_uint_eq(all, (1u << SIM_RANDOM_N_KINDS) - 1);
    uint32_t on_count[SIM_RANDOM_N_KINDS] = {0};
    bool seen[1u << SIM_RANDOM_N_KINDS] = {false};
    uint32_t distinct = 0;
    for (uint64_t seed = 1; seed <= N_SEEDS; seed++) {
        uint32_t m = sim_random_faults_enabled(&rf, seed);
        ck_assert_uint_eq(m, sim_random_faults_enabled(&rf, seed)); /* same seed */
        ck_assert_uint_eq(m & ~all, 0);
        if (!seen[m])
            distinct++;
        seen[m] = true;
        for (uint32_t k = 0; k < SIM_RANDOM_N_KINDS; k++)
            on_count[k] += (m >> k) & 1u;
    }
    /* 64 possible subsets, 200 seeds: a fair draw shows most of them. */
    ck_assert_uint_ge(distinct, 32);
    for (uint32_t k = 0; k < SIM_RANDOM_N_KINDS; k++) {
        ck_assert_msg(on_count[k] >= N_SEEDS / 4 && on_count[k] <= 3 * N_SEEDS / 4,
                      "%s on for %u of %u seeds", sim_random_kind_name(k), on_count[k],
                      N_SEEDS);
    }
    /* Neighbouring seeds differ somewhere. */
    uint32_t differ = 0;
    for (uint64_t seed = 1; seed < 20; seed++)
        differ += sim_random_faults_enabled(&rf, seed) !=
                  sim_random_faults_enabled(&rf, seed + 1);
    ck_assert_uint_ge(differ, 10);
}
END_TEST

START_TEST(test_only_configured_kinds) {
    SimRandomFaults rf = all_kinds(true);
    rf.jobmanager_crash_rate = 0;
    rf.zk_expire_rate = 0;
    uint32_t all = sim_random_faults_configured(&rf);
    ck_assert_uint_eq(all & (1u << SIM_RANDOM_JOBMANAGER_CRASH), 0);
    ck_assert_uint_eq(all & (1u << SIM_RANDOM_ZK_EXPIRE), 0);
    for (uint64_t seed = 1; seed <= N_SEEDS; seed++)
        ck_assert_uint_eq(sim_random_faults_enabled(&rf, seed) & ~all, 0);
    /* Without swarm every configured kind is on for every seed. */
    rf.swarm = false;
    for (uint64_t seed = 1; seed <= N_SEEDS; seed++)
        ck_assert_uint_eq(sim_random_faults_enabled(&rf, seed), all);
}
END_TEST

static GPtrArray *plan_of(const SimRandomFaults *rf, uint64_t seed) {
    GPtrArray *p = g_ptr_array_new_with_free_func((GDestroyNotify)sim_fault_free);
    SimFaultContext ctx = {2, 3, NULL};
    sim_fault_plan_add_random(p, rf, seed, 5000000000ull, &ctx);
    return p;
}

/* The kind of a materialized random fault, from its action. */
static SimRandomKind kind_of(const SimFault *f) {
    switch (f->action.kind) {
    case SIM_FAULT_CRASH:
        return f->action.target.kind == SIM_PROC_WORKER ? SIM_RANDOM_CRASH
                                                        : SIM_RANDOM_JOBMANAGER_CRASH;
    case SIM_FAULT_SPIKE:
        return SIM_RANDOM_SPIKE;
    case SIM_FAULT_PARTITION:
        return SIM_RANDOM_PARTITION;
    case SIM_FAULT_STORAGE_ERROR:
        return SIM_RANDOM_STORAGE_ERROR;
    case SIM_FAULT_ZK_EXPIRE:
        return SIM_RANDOM_ZK_EXPIRE;
    default:
        ck_abort_msg("unexpected random fault '%s'", f->text);
    }
    return SIM_RANDOM_N_KINDS;
}

/* Timed faults of the plan p whose kind is in mask, as "text\n" lines (the anchor fault,
 * event-triggered, is drawn among the enabled kinds: it is not one kind's). */
static char *texts(const GPtrArray *p, uint32_t mask) {
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < p->len; i++) {
        const SimFault *f = g_ptr_array_index(p, i);
        if (f->trigger.kind == SIM_TRIGGER_AT && (mask & (1u << kind_of(f))))
            g_string_append_printf(s, "%s\n", f->text);
    }
    return g_string_free(s, FALSE);
}

START_TEST(test_swarm_moves_no_stream) {
    SimRandomFaults plain = all_kinds(false), swarm = all_kinds(true);
    uint32_t nonempty = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint32_t on = sim_random_faults_enabled(&swarm, seed);
        GPtrArray *a = plan_of(&plain, seed), *b = plan_of(&swarm, seed);
        char *ta = texts(a, on), *tb = texts(b, (1u << SIM_RANDOM_N_KINDS) - 1);
        ck_assert_str_eq(ta, tb); /* swarm = the plain plan minus the kinds drawn off */
        nonempty += b->len > 0;
        g_free(ta);
        g_free(tb);
        g_ptr_array_free(a, TRUE);
        g_ptr_array_free(b, TRUE);
    }
    ck_assert_uint_ge(nonempty, 30);
}
END_TEST

static SimScenario *load_swarm(void) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CKPTSIM_SOURCE_ROOT is not set");
    char *path = g_build_filename(root, "scenarios", "swarm-faults.ini", NULL);
    const char *sets[] = {"state.backend.type=hashmap", NULL};
    GError *e = NULL;
    SimScenario *s = sim_scenario_load(path, sets, &e);
    ck_assert_msg(s != NULL, "%s", e ? e->message : "");
    g_free(path);
    ck_assert(s->random.swarm);
    return s;
}

static SimRunResult run_once(const SimScenario *s, uint64_t seed) {
    SimRunOptions o;
    sim_run_options_init(&o, seed);
    SimRunResult r;
    GError *e = NULL;
    ck_assert_msg(sim_run(s, &o, &r, &e), "%s", e ? e->message : "");
    return r;
}

START_TEST(test_swarm_run_deterministic) {
    SimScenario *s = load_swarm();
    uint64_t hash[3];
    for (uint64_t seed = 1; seed <= 3; seed++) {
        SimRunResult a = run_once(s, seed), b = run_once(s, seed);
        ck_assert_msg(a.held, "swarm-faults seed %llu did not hold", (unsigned long long)seed);
        ck_assert_uint_eq(a.trace_hash, b.trace_hash);
        ck_assert_uint_eq(a.faults_planned, b.faults_planned);
        hash[seed - 1] = a.trace_hash;
        sim_run_result_clear(&a);
        sim_run_result_clear(&b);
    }
    ck_assert(hash[0] != hash[1] && hash[1] != hash[2]);
    sim_scenario_free(s);
}
END_TEST

/* Seed 309 turns on only storage errors; one of them hits sink[1]'s recovery commit (the
 * read of its pending file), after one on a pending write. The restore must fail the
 * task, and the next failover retry the commit, rather than wait forever. (Seed 6 did
 * this before random faults were drawn over the job's active window.) */
START_TEST(test_sink_recovery_commit_error) {
    SimScenario *s = load_swarm();
    ck_assert_uint_eq(sim_random_faults_enabled(&s->random, 309),
                      1u << SIM_RANDOM_STORAGE_ERROR);
    SimRunResult r = run_once(s, 309);
    ck_assert_msg(r.held, "swarm-faults seed 309 did not hold (%s)", r.end_reason);
    ck_assert_uint_ge(r.failovers, 2);
    sim_run_result_clear(&r);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_json_names_kinds) {
    TestProcOut o = test_proc_ckptsim("run", "scenarios/swarm-faults.ini", "--seed", "6",
                                      "--json", NULL);
    ck_assert_int_eq(o.status, 0);
    ck_assert_ptr_nonnull(strstr(o.out, "\"swarm\":{\"on\":[\"storage-error\"],\"off\":["
                                        "\"crash\",\"jobmanager-crash\",\"spike\","
                                        "\"partition\",\"zk-expire\"]}"));
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/swarm-faults.ini", "--seed", "6", NULL);
    ck_assert_int_eq(o.status, 0);
    ck_assert_ptr_nonnull(strstr(o.out, "  swarm: on storage-error; off crash,"));
    test_proc_out_clear(&o);
    /* Without swarm: no swarm field. */
    o = test_proc_ckptsim("run", "scenarios/random-faults.ini", "--seed", "3", "--json",
                          NULL);
    ck_assert_int_eq(o.status, 0);
    ck_assert_ptr_null(strstr(o.out, "\"swarm\""));
    test_proc_out_clear(&o);
}
END_TEST

static Suite *swarm_suite(void) {
    Suite *s = suite_create("swarm");
    TCase *tc = tcase_create("draw");
    tcase_add_test(tc, test_subsets_from_seed);
    tcase_add_test(tc, test_only_configured_kinds);
    tcase_add_test(tc, test_swarm_moves_no_stream);
    suite_add_tcase(s, tc);
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 120);
    tcase_add_test(run, test_swarm_run_deterministic);
    tcase_add_test(run, test_sink_recovery_commit_error);
    tcase_add_test(run, test_json_names_kinds);
    suite_add_tcase(s, run);
    return s;
}

int main(void) {
    return test_check_run(swarm_suite());
}
