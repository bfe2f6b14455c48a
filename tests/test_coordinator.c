/* test_coordinator.c - the checkpoint coordinator against a fake clock (tests/support
 * TestEnv), the filesystem store and counter on its in-memory storage, and a fake task
 * side (hooks that record what the job manager would send). Covers: interval, initial
 * delay, max concurrent, min pause, timeout, decline, stale-attempt acks, subsumption
 * with num-retained, aborting older pending checkpoints, tolerable failures, stop. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/checkpoint/rt_ckpt_coordinator.h"
#include "runtime/ha/rt_ckpt_store_fs.h"
#include "tests/support/test_env.h"
#include "tests/support/test_check.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define N_TASKS 3

typedef struct Fx Fx;
typedef struct Obs {
    RtObserver base;
    Fx *fx;
} Obs;

struct Fx {
    TestEnv *te;
    RtEnv *env;
    Obs obs;
    RtCkptStore *store;
    RtCkptIdCounter *counter;
    RtCkptCoordinator *coord;
    GArray *trigger_ids, *trigger_ns; /* uint64_t */
    GArray *completed_ids, *completed_ns;
    GArray *aborted_ids;              /* notify_abort */
    GArray *abort_events;             /* RT_EV_CKPT_ABORT reasons (a) */
    uint32_t fail_jobs, discards, store_discards, idles;
    uint32_t attempt;
};

static void obs_event(RtObserver *self, const RtEvent *ev) {
    Fx *fx = ((Obs *)self)->fx;
    if (ev->kind == RT_EV_CKPT_ABORT && ev->checkpoint_id != 0)
        g_array_append_val(fx->abort_events, ev->a);
}
static const RtObserverOps obs_ops = {.event = obs_event};

static void h_trigger(void *ud, uint64_t id, uint64_t ts, RtBarrierKind kind) {
    Fx *fx = ud;
    (void)kind;
    g_array_append_val(fx->trigger_ids, id);
    g_array_append_val(fx->trigger_ns, ts);
}
static void h_complete(void *ud, uint64_t id) {
    Fx *fx = ud;
    uint64_t now = rt_env_now_ns(fx->env);
    g_array_append_val(fx->completed_ids, id);
    g_array_append_val(fx->completed_ns, now);
}
static void h_abort(void *ud, uint64_t id) {
    g_array_append_val(((Fx *)ud)->aborted_ids, id);
}
static void h_fail(void *ud, const char *cause) {
    (void)cause;
    ((Fx *)ud)->fail_jobs++;
}
static void h_discard(void *ud, RtSubtaskId st, GBytes *h) {
    (void)st;
    (void)h;
    ((Fx *)ud)->discards++;
}
static void h_idle(void *ud) {
    ((Fx *)ud)->idles++;
}
static void store_discard(void *ud, const RtCompletedCheckpoint *cp) {
    (void)cp;
    ((Fx *)ud)->store_discards++;
}

static const RtCkptCoordinatorHooks hooks = {
    .trigger = h_trigger, .notify_complete = h_complete, .notify_abort = h_abort,
    .fail_job = h_fail, .discard = h_discard, .idle = h_idle,
};

static void start_done(void *ud, GError *error) {
    ck_assert_ptr_null(error);
    (*(int *)ud)++;
}

static RtCkptCoordinatorConfig base_cfg(void) {
    RtCkptCoordinatorConfig c = {.interval_ns = 1 * SEC, .timeout_ns = 600 * SEC,
                                 .min_pause_ns = 0, .max_concurrent = 1,
                                 .tolerable_failures = 0,
                                 .barrier_kind = RT_BARRIER_ALIGNED};
    return c;
}

static Fx *fx_new(const RtCkptCoordinatorConfig *cfg, uint32_t num_retained) {
    Fx *fx = g_new0(Fx, 1);
    fx->te = test_env_new();
    fx->env = test_env_rt(fx->te);
    fx->obs.base.ops = &obs_ops;
    fx->obs.fx = fx;
    fx->env->observer = &fx->obs.base;
    fx->env->seed = 7;
    fx->trigger_ids = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    fx->trigger_ns = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    fx->completed_ids = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    fx->completed_ns = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    fx->aborted_ids = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    fx->abort_events = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    fx->store = rt_ckpt_store_fs_new(fx->env, "ckpts", "job", num_retained, store_discard, fx);
    fx->counter = rt_ckpt_id_counter_fs_new(fx->env, "ckpts", "job");
    int started = 0;
    ck_assert(rt_ckpt_store_recover(fx->store, start_done, &started, NULL));
    ck_assert(rt_ckpt_id_counter_start(fx->counter, start_done, &started, NULL));
    test_env_run(fx->te, 1000);
    ck_assert_int_eq(started, 2);
    fx->coord = rt_ckpt_coordinator_new(fx->env, cfg, fx->store, fx->counter, &hooks, fx);
    return fx;
}

static void fx_start(Fx *fx, uint32_t attempt) {
    RtSubtaskId tasks[N_TASKS] = {{1, 0}, {0, 0}, {2, 0}}; /* unsorted on purpose */
    fx->attempt = attempt;
    rt_ckpt_coordinator_start(fx->coord, attempt, tasks, N_TASKS);
}

static void fx_free(Fx *fx) {
    rt_ckpt_coordinator_free(fx->coord);
    rt_ckpt_id_counter_free(fx->counter);
    rt_ckpt_store_free(fx->store);
    test_env_free(fx->te);
    g_array_unref(fx->trigger_ids);
    g_array_unref(fx->trigger_ns);
    g_array_unref(fx->completed_ids);
    g_array_unref(fx->completed_ns);
    g_array_unref(fx->aborted_ids);
    g_array_unref(fx->abort_events);
    g_free(fx);
}

static uint64_t at(GArray *a, guint i) {
    ck_assert_uint_lt(i, a->len);
    return g_array_index(a, uint64_t, i);
}

/* Steps the world until arr has at least n entries (bounded). */
static void step_until_len(Fx *fx, GArray *arr, guint n) {
    for (int guard = 0; arr->len < n && guard < 1000000; guard++)
        ck_assert(test_env_step(fx->te));
    ck_assert_uint_ge(arr->len, n);
}

/* Steps until virtual time reaches t_ns (the event that crosses it also runs). */
static void step_until_time(Fx *fx, uint64_t t_ns) {
    for (int guard = 0; rt_env_now_ns(fx->env) < t_ns && guard < 1000000; guard++)
        if (!test_env_step(fx->te))
            break;
}

static void ack(Fx *fx, uint64_t id, RtSubtaskId st, uint32_t attempt) {
    char buf[32];
    g_snprintf(buf, sizeof buf, "h-%u-%u-%u", st.op, st.index, (unsigned)id);
    GBytes *h = g_bytes_new(buf, strlen(buf));
    rt_ckpt_coordinator_ack(fx->coord, id, st, attempt, h);
    g_bytes_unref(h);
}

static void ack_all(Fx *fx, uint64_t id) {
    for (uint16_t op = 0; op < N_TASKS; op++)
        ack(fx, id, (RtSubtaskId){op, 0}, fx->attempt);
}

START_TEST(test_periodic_interval_and_ids) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_len(fx, fx->trigger_ids, 1);
    ck_assert_uint_eq(at(fx->trigger_ids, 0), 1);
    /* Initial delay uniform in [min pause, interval], plus the counter's durable write. */
    ck_assert_uint_le(at(fx->trigger_ns, 0), 1 * SEC + 1 * MS);
    for (guint k = 1; k <= 3; k++) {
        ack_all(fx, k);
        step_until_len(fx, fx->completed_ids, k);
        ck_assert_uint_eq(at(fx->completed_ids, k - 1), k);
        step_until_len(fx, fx->trigger_ids, k + 1);
        ck_assert_uint_eq(at(fx->trigger_ids, k), k + 1);
        uint64_t gap = at(fx->trigger_ns, k) - at(fx->trigger_ns, k - 1);
        /* Fixed rate: one interval apart (timer ticks are exact; id writes take the same
         * time each round). */
        ck_assert_uint_eq(gap, 1 * SEC);
    }
    ck_assert_uint_eq(rt_ckpt_coordinator_last_completed_id(fx->coord), 3);
    ck_assert_uint_eq(fx->aborted_ids->len, 0);
    fx_free(fx);
}
END_TEST

START_TEST(test_max_concurrent_queues_requests) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.interval_ns = 100 * MS;
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_time(fx, 2 * SEC);
    ck_assert_uint_eq(fx->trigger_ids->len, 1);
    ck_assert_uint_eq(rt_ckpt_coordinator_pending_count(fx->coord), 1);
    ck_assert_uint_gt(rt_ckpt_coordinator_queued_count(fx->coord), 10);
    ack_all(fx, 1);
    step_until_len(fx, fx->trigger_ids, 2);
    /* With min pause 0 a queued request runs right after the completion. */
    ck_assert_uint_le(at(fx->trigger_ns, 1) - at(fx->completed_ns, 0), 1 * MS);
    ck_assert_uint_eq(rt_ckpt_coordinator_pending_count(fx->coord), 1);
    fx_free(fx);
}
END_TEST

START_TEST(test_max_concurrent_two) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.interval_ns = 100 * MS;
    cfg.max_concurrent = 2;
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_time(fx, 1 * SEC);
    ck_assert_uint_eq(fx->trigger_ids->len, 2);
    ck_assert_uint_eq(rt_ckpt_coordinator_pending_count(fx->coord), 2);
    /* Completing 2 first subsumes pending 1 (aborted, not counted). */
    ack_all(fx, 2);
    step_until_len(fx, fx->completed_ids, 1);
    ck_assert_uint_eq(at(fx->completed_ids, 0), 2);
    uint64_t ids[4];
    uint32_t n = rt_ckpt_coordinator_pending_ids(fx->coord, ids, 4);
    for (uint32_t i = 0; i < n; i++)
        ck_assert_uint_gt(ids[i], 2);
    ck_assert_uint_ge(fx->abort_events->len, 1);
    ck_assert_uint_eq(at(fx->abort_events, 0), RT_CKPT_FAIL_SUBSUMED);
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 0);
    ck_assert_uint_eq(fx->fail_jobs, 0);
    /* Late acks of subsumed 1 change nothing. */
    ack_all(fx, 1);
    ck_assert_uint_eq(fx->completed_ids->len, 1);
    fx_free(fx);
}
END_TEST

START_TEST(test_min_pause_from_completion) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.interval_ns = 100 * MS;
    cfg.min_pause_ns = 500 * MS;
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    for (guint k = 1; k <= 4; k++) {
        step_until_len(fx, fx->trigger_ids, k);
        if (k == 1)
            ck_assert_uint_ge(at(fx->trigger_ns, 0), 500 * MS); /* delay in [pause, base] */
        else
            ck_assert_uint_ge(at(fx->trigger_ns, k - 1), at(fx->completed_ns, k - 2) + 500 * MS);
        step_until_time(fx, at(fx->trigger_ns, k - 1) + 30 * MS);
        ack_all(fx, k);
        step_until_len(fx, fx->completed_ids, k);
    }
    fx_free(fx);
}
END_TEST

START_TEST(test_timeout_aborts_and_fails_job) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.timeout_ns = 300 * MS;
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_len(fx, fx->trigger_ids, 1);
    uint64_t t0 = at(fx->trigger_ns, 0);
    ack(fx, 1, (RtSubtaskId){0, 0}, 1); /* partial ack, state discarded on abort */
    step_until_len(fx, fx->aborted_ids, 1);
    ck_assert_uint_eq(rt_env_now_ns(fx->env), t0 + 300 * MS);
    ck_assert_uint_eq(at(fx->aborted_ids, 0), 1);
    ck_assert_uint_eq(at(fx->abort_events, 0), RT_CKPT_FAIL_EXPIRED);
    ck_assert_uint_eq(fx->discards, 1);
    /* tolerable = 0: the first counted failure exceeds it. */
    ck_assert_uint_eq(fx->fail_jobs, 1);
    fx_free(fx);
}
END_TEST

START_TEST(test_tolerable_failures) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.timeout_ns = 200 * MS;
    cfg.tolerable_failures = 2;
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_len(fx, fx->aborted_ids, 2);
    ck_assert_uint_eq(fx->fail_jobs, 0);
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 2);
    /* A success resets the counter. */
    step_until_len(fx, fx->trigger_ids, 3);
    ack_all(fx, 3);
    step_until_len(fx, fx->completed_ids, 1);
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 0);
    step_until_len(fx, fx->aborted_ids, 5);
    ck_assert_uint_eq(fx->fail_jobs, 1); /* the third after the success */
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 0);
    fx_free(fx);
}
END_TEST

START_TEST(test_decline) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.tolerable_failures = 1;
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_len(fx, fx->trigger_ids, 1);
    /* Not counted: a task saw a newer barrier. */
    rt_ckpt_coordinator_decline(fx->coord, 1, (RtSubtaskId){1, 0}, 1, RT_DECLINE_SUBSUMED,
                                NULL);
    ck_assert_uint_eq(fx->aborted_ids->len, 1);
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 0);
    /* A decline of a stale attempt is ignored. */
    step_until_len(fx, fx->trigger_ids, 2);
    rt_ckpt_coordinator_decline(fx->coord, 2, (RtSubtaskId){1, 0}, 0, RT_DECLINE_SYNC_FAILED,
                                "old");
    ck_assert_uint_eq(rt_ckpt_coordinator_pending_count(fx->coord), 1);
    /* Counted: snapshot failures. Two exceed tolerable = 1. */
    rt_ckpt_coordinator_decline(fx->coord, 2, (RtSubtaskId){1, 0}, 1,
                                RT_DECLINE_ASYNC_FAILED, "disk full");
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 1);
    ck_assert_uint_eq(at(fx->abort_events, 1), RT_CKPT_FAIL_ASYNC);
    step_until_len(fx, fx->trigger_ids, 3);
    rt_ckpt_coordinator_decline(fx->coord, 3, (RtSubtaskId){2, 0}, 1, RT_DECLINE_SYNC_FAILED,
                                NULL);
    ck_assert_uint_eq(fx->fail_jobs, 1);
    ck_assert_uint_eq(fx->aborted_ids->len, 3);
    fx_free(fx);
}
END_TEST

/* CheckpointFailureManager counts a set of ids, not a rising mark: with two pending
 * checkpoints, the older one failing after the newer one still counts. */
START_TEST(test_failure_count_set_of_ids) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.tolerable_failures = 1;
    cfg.max_concurrent = 2;
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_len(fx, fx->trigger_ids, 2);
    ck_assert_uint_eq(rt_ckpt_coordinator_pending_count(fx->coord), 2);
    rt_ckpt_coordinator_decline(fx->coord, 2, (RtSubtaskId){1, 0}, 1, RT_DECLINE_SYNC_FAILED,
                                NULL);
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 1);
    ck_assert_uint_eq(fx->fail_jobs, 0);
    /* A second decline of 2 is not counted again. */
    rt_ckpt_coordinator_decline(fx->coord, 2, (RtSubtaskId){2, 0}, 1, RT_DECLINE_SYNC_FAILED,
                                NULL);
    ck_assert_uint_eq(rt_ckpt_coordinator_failure_count(fx->coord), 1);
    rt_ckpt_coordinator_decline(fx->coord, 1, (RtSubtaskId){1, 0}, 1, RT_DECLINE_SYNC_FAILED,
                                NULL);
    ck_assert_uint_eq(fx->fail_jobs, 1); /* 2 counted failures exceed tolerable = 1 */
    fx_free(fx);
}
END_TEST

START_TEST(test_stale_attempt_ack_ignored) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 5);
    step_until_len(fx, fx->trigger_ids, 1);
    for (uint16_t op = 0; op < N_TASKS; op++)
        ack(fx, 1, (RtSubtaskId){op, 0}, 4); /* the previous attempt */
    ck_assert_uint_eq(fx->discards, N_TASKS);
    ck_assert_uint_eq(rt_ckpt_coordinator_pending_count(fx->coord), 1);
    step_until_time(fx, rt_env_now_ns(fx->env) + 10 * MS);
    ck_assert_uint_eq(fx->completed_ids->len, 0);
    /* Unknown subtask and duplicates change nothing either. */
    ack(fx, 1, (RtSubtaskId){9, 0}, 5);
    ack(fx, 1, (RtSubtaskId){0, 0}, 5);
    ack(fx, 1, (RtSubtaskId){0, 0}, 5);
    ack(fx, 1, (RtSubtaskId){1, 0}, 5);
    step_until_time(fx, rt_env_now_ns(fx->env) + 10 * MS);
    ck_assert_uint_eq(fx->completed_ids->len, 0);
    ack(fx, 1, (RtSubtaskId){2, 0}, 5);
    step_until_len(fx, fx->completed_ids, 1);
    const RtCompletedCheckpoint *cp = rt_ckpt_store_latest(fx->store);
    ck_assert_ptr_nonnull(cp);
    ck_assert_uint_eq(cp->checkpoint_id, 1);
    ck_assert_uint_eq(cp->attempt, 5);
    ck_assert_uint_eq(cp->subtasks->len, N_TASKS);
    fx_free(fx);
}
END_TEST

static void run_subsumption(uint32_t retained) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    Fx *fx = fx_new(&cfg, retained);
    fx_start(fx, 1);
    for (guint k = 1; k <= 5; k++) {
        step_until_len(fx, fx->trigger_ids, k);
        ack_all(fx, k);
        step_until_len(fx, fx->completed_ids, k);
        step_until_time(fx, rt_env_now_ns(fx->env) + 50 * MS); /* removals settle */
        guint count = rt_ckpt_store_count(fx->store);
        ck_assert_uint_eq(count, MIN(k, retained));
        ck_assert_uint_eq(rt_ckpt_store_latest(fx->store)->checkpoint_id, k); /* kept */
        ck_assert_uint_eq(rt_ckpt_store_get(fx->store, 0)->checkpoint_id,
                          k - MIN(k, retained) + 1);
    }
    ck_assert_uint_eq(fx->store_discards, 5 - retained);
    for (uint64_t id = 1; id <= 5; id++) {
        char *p = rt_ckpt_metadata_path("ckpts", "job", id);
        bool present = test_env_file_peek(fx->te, p) != NULL;
        ck_assert_int_eq(present, id > 5 - retained);
        g_free(p);
    }
    fx_free(fx);
}

START_TEST(test_subsumption_retained_1) {
    run_subsumption(1);
}
END_TEST

START_TEST(test_subsumption_retained_3) {
    run_subsumption(3);
}
END_TEST

START_TEST(test_stop_aborts_without_counting) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_len(fx, fx->trigger_ids, 1);
    ack(fx, 1, (RtSubtaskId){0, 0}, 1);
    rt_ckpt_coordinator_stop(fx->coord, RT_CKPT_FAIL_SUSPENDED);
    ck_assert(!rt_ckpt_coordinator_running(fx->coord));
    ck_assert_uint_eq(rt_ckpt_coordinator_pending_count(fx->coord), 0);
    ck_assert_uint_eq(fx->fail_jobs, 0);
    ck_assert_uint_eq(fx->discards, 1);
    ck_assert_uint_ge(fx->idles, 1);
    step_until_time(fx, 10 * SEC);
    ck_assert_uint_eq(fx->trigger_ids->len, 1); /* no trigger while stopped */
    /* Restart with a new attempt: ids keep increasing. */
    fx_start(fx, 2);
    step_until_len(fx, fx->trigger_ids, 2);
    ck_assert_uint_eq(at(fx->trigger_ids, 1), 2);
    fx_free(fx);
}
END_TEST

START_TEST(test_stop_during_publish) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_len(fx, fx->trigger_ids, 1);
    ack_all(fx, 1); /* publish in flight */
    rt_ckpt_coordinator_stop(fx->coord, RT_CKPT_FAIL_SUSPENDED);
    ck_assert(!rt_ckpt_coordinator_idle(fx->coord));
    uint32_t idles = fx->idles;
    step_until_time(fx, rt_env_now_ns(fx->env) + 100 * MS);
    ck_assert(rt_ckpt_coordinator_idle(fx->coord));
    ck_assert_uint_eq(fx->idles, idles + 1);
    /* Published (a durable fact) but nobody notified. */
    ck_assert_uint_eq(rt_ckpt_store_count(fx->store), 1);
    ck_assert_uint_eq(fx->completed_ids->len, 0);
    ck_assert_uint_eq(rt_ckpt_coordinator_last_completed_id(fx->coord), 1);
    fx_free(fx);
}
END_TEST

START_TEST(test_manual_request_and_config) {
    RtCkptCoordinatorConfig cfg = base_cfg();
    cfg.interval_ns = 0; /* periodic off */
    Fx *fx = fx_new(&cfg, 1);
    fx_start(fx, 1);
    step_until_time(fx, 5 * SEC);
    ck_assert_uint_eq(fx->trigger_ids->len, 0);
    ck_assert(rt_ckpt_coordinator_request(fx->coord));
    step_until_len(fx, fx->trigger_ids, 1);
    fx_free(fx);

    RtConfig *c = rt_config_new();
    RtCkptCoordinatorConfig out;
    ck_assert(rt_ckpt_coordinator_config_read(c, &out, NULL));
    ck_assert_uint_eq(out.interval_ns, 0);
    ck_assert_uint_eq(out.timeout_ns, 600 * SEC);
    ck_assert_uint_eq(out.max_concurrent, 1);
    ck_assert_uint_eq(out.tolerable_failures, 0);
    ck_assert_int_eq(out.barrier_kind, RT_BARRIER_ALIGNED);
    rt_config_set(c, "execution.checkpointing.interval", "2 s");
    rt_config_set(c, "execution.checkpointing.unaligned.enabled", "true");
    ck_assert(rt_ckpt_coordinator_config_read(c, &out, NULL));
    ck_assert_uint_eq(out.interval_ns, 2 * SEC);
    ck_assert_int_eq(out.barrier_kind, RT_BARRIER_UNALIGNED);
    rt_config_set(c, "execution.checkpointing.mode", "at_least_once");
    ck_assert(rt_ckpt_coordinator_config_read(c, &out, NULL));
    ck_assert_int_eq(out.barrier_kind, RT_BARRIER_AT_LEAST_ONCE);
    rt_config_set(c, "execution.checkpointing.max-concurrent-checkpoints", "0");
    GError *err = NULL;
    ck_assert(!rt_ckpt_coordinator_config_read(c, &out, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "max-concurrent-checkpoints"));
    g_clear_error(&err);
    rt_config_free(c);
}
END_TEST

static Suite *coordinator_suite(void) {
    Suite *s = suite_create("coordinator");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_periodic_interval_and_ids);
    tcase_add_test(tc, test_max_concurrent_queues_requests);
    tcase_add_test(tc, test_max_concurrent_two);
    tcase_add_test(tc, test_min_pause_from_completion);
    tcase_add_test(tc, test_timeout_aborts_and_fails_job);
    tcase_add_test(tc, test_tolerable_failures);
    tcase_add_test(tc, test_failure_count_set_of_ids);
    tcase_add_test(tc, test_decline);
    tcase_add_test(tc, test_stale_attempt_ack_ignored);
    tcase_add_test(tc, test_subsumption_retained_1);
    tcase_add_test(tc, test_subsumption_retained_3);
    tcase_add_test(tc, test_stop_aborts_without_counting);
    tcase_add_test(tc, test_stop_during_publish);
    tcase_add_test(tc, test_manual_request_and_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(coordinator_suite());
}
