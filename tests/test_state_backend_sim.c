/* test_state_backend_sim.c - the state backends in the real simulated world
 * (sim/world): a process owns a backend and snapshots; the world crashes it at every
 * moment of the snapshot's life, with the world's own crash model (unsynced writes lost
 * or torn, prefix or garbled; unsynced renames reverted). Invariants:
 *  - correct backend: an acknowledged snapshot always restores, bit-identical, in the
 *    next incarnation; an unacknowledged one never leaves a file at its final path;
 *  - RT_BUG_ACK_BEFORE_FSYNC: some acknowledged snapshot is lost by a crash, and its
 *    restore fails with an error: never a silently wrong snapshot. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/world/sim_world.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_check.h"

#define RUN_EVENTS 100000u

typedef struct Proc {
    RtEnv *env;
    RtStateBackend *backend;
} Proc;

static const char *proc_backend_type = "filesystem";

static void *proc_start(RtEnv *env, void *arg) {
    (void)arg;
    Proc *p = g_new0(Proc, 1);
    p->env = env;
    p->backend = rt_state_backend_new(proc_backend_type, env, NULL, NULL);
    ck_assert_ptr_nonnull(p->backend);
    return p;
}

static void proc_stop(void *instance) {
    Proc *p = instance;
    rt_state_backend_free(p->backend);
    g_free(p);
}

static const SimProcessClass proc_class = {"state-test", proc_start, proc_stop};

/* About 50 KB: a write that spans real time. Values k * 31. */
static RtSnapshot *sample(void) {
    return test_backend_sample(31, 2000);
}

typedef struct Trial {
    bool acked;
    bool restored;      /* restore delivered a snapshot equal to the original */
    bool restore_error; /* restore failed with an error */
    bool final_exists;  /* the final path exists after the crash */
} Trial;

/* Snapshot in process 0, crash it after `steps` events, restart, restore if acked. */
static Trial trial(uint64_t seed, uint64_t bugs, uint32_t steps, const RtSnapshot *snap) {
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, seed);
    cfg.bugs = bugs;
    SimWorld *w = sim_world_new(&cfg);
    SimProcessId pid = sim_world_spawn(w, "tm", &proc_class, NULL);
    Proc *p = sim_world_process_instance(w, pid);
    RtSnapshotTarget t = {"job", 1, 0, 0, 0};
    TestBackendOutcome o = {0};
    ck_assert(rt_state_backend_snapshot(p->backend, &t, snap, test_backend_on_snapshot, &o, NULL));
    ck_assert_int_eq(o.calls, 0);
    for (uint32_t i = 0; i < steps && sim_world_step(w); i++)
        ;
    Trial r = {.acked = o.handle != NULL};
    ck_assert(o.error == NULL);
    sim_world_crash(w, pid);
    sim_world_run(w, UINT64_MAX, RUN_EVENTS);
    size_t len = 0;
    char *path = rt_state_backend_fs_path("checkpoints", &t);
    r.final_exists = sim_storage_read_current(sim_world_storage(w), path, &len) != NULL;
    g_free(path);
    if (r.acked) {
        sim_world_restart(w, pid);
        p = sim_world_process_instance(w, pid);
        TestBackendOutcome ro = {0};
        ck_assert(
            rt_state_backend_restore(p->backend, o.handle, test_backend_on_restore, &ro, NULL));
        sim_world_run(w, UINT64_MAX, RUN_EVENTS);
        ck_assert_int_eq(ro.calls, 1);
        r.restore_error = ro.error != NULL;
        if (ro.snapshot != NULL) {
            GBytes *a = rt_snapshot_encode(snap), *b = rt_snapshot_encode(ro.snapshot);
            r.restored = g_bytes_equal(a, b);
            ck_assert_msg(r.restored, "restore returned a different snapshot");
            g_bytes_unref(a);
            g_bytes_unref(b);
        }
        test_backend_outcome_clear(&ro);
    }
    test_backend_outcome_clear(&o);
    sim_world_free(w);
    return r;
}

START_TEST(test_crash_at_every_step) {
    RtSnapshot *snap = sample();
    int acked = 0, unacked = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        for (uint32_t steps = 0; steps <= 6; steps++) {
            Trial r = trial(seed, 0, steps, snap);
            if (r.acked) {
                acked++;
                ck_assert_msg(r.restored, "seed %lu steps %u: acked but not restored",
                              (unsigned long)seed, steps);
            } else {
                unacked++;
                ck_assert_msg(!r.final_exists, "seed %lu steps %u: file without ack",
                              (unsigned long)seed, steps);
            }
        }
    }
    ck_assert_int_gt(acked, 0);
    ck_assert_int_gt(unacked, 0);
    rt_snapshot_free(snap);
}
END_TEST

START_TEST(test_bug_ack_before_fsync_is_caught) {
    RtSnapshot *snap = sample();
    int lost = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        for (uint32_t steps = 0; steps <= 6; steps++) {
            Trial r = trial(seed, RT_BUG_ACK_BEFORE_FSYNC, steps, snap);
            if (r.acked && !r.restored) {
                ck_assert(r.restore_error); /* detected, never silently wrong */
                lost++;
            }
        }
    }
    ck_assert_int_gt(lost, 0);
    rt_snapshot_free(snap);
}
END_TEST

/* Both backends round-trip in the simulated world, with the world's latencies. */
START_TEST(test_round_trip_in_world) {
    const char *types[] = {"hashmap", "filesystem"};
    proc_backend_type = types[_i];
    RtSnapshot *snap = sample();
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, 7);
    SimWorld *w = sim_world_new(&cfg);
    SimProcessId pid = sim_world_spawn(w, "tm", &proc_class, NULL);
    Proc *p = sim_world_process_instance(w, pid);
    RtSnapshotTarget t = {"job", 2, 0, 0, 0};
    TestBackendOutcome o = {0}, ro = {0};
    ck_assert(rt_state_backend_snapshot(p->backend, &t, snap, test_backend_on_snapshot, &o, NULL));
    sim_world_run(w, UINT64_MAX, RUN_EVENTS);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_ptr_nonnull(o.handle);
    ck_assert(rt_state_backend_restore(p->backend, o.handle, test_backend_on_restore, &ro, NULL));
    sim_world_run(w, UINT64_MAX, RUN_EVENTS);
    ck_assert_int_eq(ro.calls, 1);
    ck_assert_ptr_nonnull(ro.snapshot);
    uint64_t v = 0;
    ck_assert(rt_snapshot_lookup_value(ro.snapshot, "count", 1999, &v));
    ck_assert_uint_eq(v, 1999 * 31);
    test_backend_outcome_clear(&ro);
    test_backend_outcome_clear(&o);
    sim_world_free(w);
    rt_snapshot_free(snap);
    proc_backend_type = "filesystem";
}
END_TEST

static Suite *state_backend_sim_suite(void) {
    Suite *s = suite_create("state_backend_sim");
    TCase *tc = tcase_create("world");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_round_trip_in_world, 0, 2);
    tcase_add_test(tc, test_crash_at_every_step);
    tcase_add_test(tc, test_bug_ack_before_fsync_is_caught);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(state_backend_sim_suite());
}
