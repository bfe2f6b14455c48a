/* test_jobmanager.c - the job manager in the simulated world (sim/world) against fake
 * task managers that speak the real protocol: registration and deterministic
 * scheduling, checkpoints published in durable storage, worker crash -> global
 * failover -> redeploy restoring every subtask from the latest completed checkpoint,
 * a job manager crash + restart resuming from the latest checkpoint with a higher
 * attempt, the restart strategy's bound, the planted restore-older-checkpoint bug and
 * the job end. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/dataflow/rt_cluster.h"
#include "runtime/dataflow/rt_protocol.h"
#include "runtime/env/rt_bugs.h"
#include "sim/world/sim_world.h"
#include "tests/support/test_check.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define N_WORKERS 2
#define MAX_TASKS 16

typedef struct Test Test;

/* A fake task manager: registers, answers DEPLOY with DEPLOYED, acks every checkpoint
 * that any source saw triggered (polling a shared value), reconnects when the job
 * manager goes away, and reports TASK_DONE once done_after_ckpt completed. */
typedef struct FakeTm {
    Test *t;
    RtEnv *env;
    RtChannel *ch;
    RtTimerId poll;
    uint32_t attempt;
    uint32_t n_tasks;
    RtSubtaskId tasks[MAX_TASKS];
    uint64_t restore_id[MAX_TASKS];
    uint64_t acked_id;
    bool done_sent;
} FakeTm;

struct Test {
    SimWorld *world;
    RtJobGraph graph;
    RtConfig *config;
    RtClusterSpec cluster;
    RtJobSpec spec;
    RtObserver obs;
    uint64_t triggered_id;      /* highest TRIGGER any fake saw */
    uint32_t triggered_attempt;
    uint64_t completed_id;      /* highest NOTIFY_COMPLETE seen */
    uint64_t done_after_ckpt;   /* 0 = never finish */
    GArray *complete_events;    /* RT_EV_CKPT_COMPLETE ids */
    GArray *restore_events;     /* RT_EV_RESTORE checkpoint ids */
    uint32_t failovers, running, finished, failed;
    uint32_t last_running_attempt;
};

static Test *g_test; /* the process classes' arg */

static void obs_event(RtObserver *self, const RtEvent *ev) {
    (void)self;
    Test *t = g_test;
    switch (ev->kind) {
    case RT_EV_CKPT_COMPLETE: g_array_append_val(t->complete_events, ev->checkpoint_id); break;
    case RT_EV_RESTORE: g_array_append_val(t->restore_events, ev->checkpoint_id); break;
    case RT_EV_FAILOVER: t->failovers++; break;
    case RT_EV_JOB_RUNNING:
        t->running++;
        t->last_running_attempt = ev->attempt;
        break;
    case RT_EV_JOB_FINISHED: t->finished++; break;
    case RT_EV_JOB_FAILED: t->failed++; break;
    default: break;
    }
}
static const RtObserverOps obs_ops = {.event = obs_event};

static void tm_send(FakeTm *tm, const RtMsg *m) {
    GByteArray *out = g_byte_array_new();
    rt_msg_encode(m, out);
    if (tm->ch != NULL)
        rt_channel_send(tm->ch, out->data, out->len);
    g_byte_array_unref(out);
}

static void tm_connect(FakeTm *tm);

static void tm_on_deploy(FakeTm *tm, const RtMsg *m) {
    if (m->attempt <= tm->attempt)
        return;
    tm->attempt = m->attempt;
    ck_assert_uint_le(m->n_tasks, MAX_TASKS);
    tm->n_tasks = m->n_tasks;
    for (uint32_t i = 0; i < m->n_tasks; i++) {
        tm->tasks[i] = m->tasks[i].subtask;
        tm->restore_id[i] = m->tasks[i].restore_checkpoint_id;
        if (m->tasks[i].restore_checkpoint_id != 0)
            ck_assert_uint_gt(m->tasks[i].handle_len, 0);
        ck_assert_uint_eq(m->locations[0].subtask.op, 0);
    }
    ck_assert_uint_eq(m->n_locations, rt_job_graph_n_subtasks(&tm->t->graph));
    tm->acked_id = 0;
    tm->done_sent = false;
    RtMsg r = {.type = RT_MSG_DEPLOYED, .attempt = tm->attempt, .count = tm->n_tasks};
    tm_send(tm, &r);
}

static void tm_on_message(RtChannel *ch, const void *data, size_t len, void *ud) {
    FakeTm *tm = ud;
    (void)ch;
    RtMsg m;
    memset(&m, 0, sizeof m);
    ck_assert(rt_msg_decode(data, len, &m, NULL));
    Test *t = tm->t;
    switch (m.type) {
    case RT_MSG_DEPLOY: tm_on_deploy(tm, &m); break;
    case RT_MSG_TRIGGER:
        ck_assert_uint_eq(m.attempt, tm->attempt);
        if (m.checkpoint_id > t->triggered_id || m.attempt > t->triggered_attempt) {
            t->triggered_id = m.checkpoint_id;
            t->triggered_attempt = m.attempt;
        }
        break;
    case RT_MSG_NOTIFY_COMPLETE:
        if (m.checkpoint_id > t->completed_id)
            t->completed_id = m.checkpoint_id;
        break;
    case RT_MSG_CANCEL: tm->n_tasks = 0; break;
    default: break;
    }
    rt_msg_clear(&m);
}

static void reconnect_fire(void *ud) {
    tm_connect(ud);
}

static void tm_on_broken(RtChannel *ch, void *ud) {
    FakeTm *tm = ud;
    rt_channel_free(ch);
    tm->ch = NULL;
    tm->n_tasks = 0; /* tasks fail when the job manager is gone */
    rt_env_timer_start(tm->env, 200 * MS, reconnect_fire, tm);
}

static const RtChannelHandler tm_handler = {tm_on_message, tm_on_broken};

static void tm_connect(FakeTm *tm) {
    tm->ch = rt_env_connect(tm->env, 0, RT_PORT_JOBMANAGER, &tm_handler, tm, NULL);
    ck_assert_ptr_nonnull(tm->ch);
    RtMsg m = {.type = RT_MSG_REGISTER, .process = tm->env->process_id, .slots = 4,
               .running_attempt = tm->attempt};
    tm_send(tm, &m);
}

static void tm_poll(void *ud) {
    FakeTm *tm = ud;
    Test *t = tm->t;
    tm->poll = rt_env_timer_start(tm->env, 10 * MS, tm_poll, tm);
    if (tm->n_tasks == 0 || tm->ch == NULL)
        return;
    if (t->triggered_attempt == tm->attempt && t->triggered_id > tm->acked_id) {
        tm->acked_id = t->triggered_id;
        for (uint32_t i = 0; i < tm->n_tasks; i++) {
            char h[48];
            g_snprintf(h, sizeof h, "fake-%u-%u-%" G_GUINT64_FORMAT, tm->tasks[i].op,
                       tm->tasks[i].index, tm->acked_id);
            RtMsg a = {.type = RT_MSG_ACK, .attempt = tm->attempt,
                       .checkpoint_id = tm->acked_id, .subtask = tm->tasks[i],
                       .handle = (uint8_t *)h, .handle_len = strlen(h)};
            tm_send(tm, &a);
        }
    }
    if (t->done_after_ckpt != 0 && t->completed_id >= t->done_after_ckpt && !tm->done_sent) {
        tm->done_sent = true;
        for (uint32_t i = 0; i < tm->n_tasks; i++) {
            RtMsg d = {.type = RT_MSG_TASK_DONE, .attempt = tm->attempt,
                       .subtask = tm->tasks[i]};
            tm_send(tm, &d);
        }
    }
}

static void *tm_start(RtEnv *env, void *arg) {
    FakeTm *tm = g_new0(FakeTm, 1);
    tm->t = arg;
    tm->env = env;
    tm_connect(tm);
    tm->poll = rt_env_timer_start(env, 10 * MS, tm_poll, tm);
    return tm;
}

static void tm_stop(void *inst) {
    FakeTm *tm = inst;
    if (tm->ch != NULL)
        rt_channel_free(tm->ch);
    g_free(tm);
}

static const SimProcessClass fake_tm_class = {"fake-tm", tm_start, tm_stop};

static void *jm_start(RtEnv *env, void *arg) {
    Test *t = arg;
    GError *err = NULL;
    RtJobManager *jm = rt_jobmanager_new(env, &t->spec, &err);
    ck_assert_msg(jm != NULL, "%s", err ? err->message : "");
    return jm;
}

static void jm_stop(void *inst) {
    rt_jobmanager_free(inst);
}

static const SimProcessClass jm_class = {"jobmanager", jm_start, jm_stop};

static void add_op(RtJobGraph *g, const char *name, RtOperatorKind kind, uint32_t p) {
    RtOperatorSpec *op = g_new0(RtOperatorSpec, 1);
    op->name = g_strdup(name);
    op->kind = kind;
    op->parallelism = p;
    op->records = 100;
    op->keys = 10;
    g_ptr_array_add(g->operators, op);
}

static void op_free(gpointer p) {
    RtOperatorSpec *op = p;
    g_free(op->name);
    g_free(op);
}

static Test *test_new(uint64_t seed, uint64_t bugs) {
    Test *t = g_new0(Test, 1);
    g_test = t;
    t->graph.name = g_strdup("jmtest");
    t->graph.operators = g_ptr_array_new_with_free_func(op_free);
    t->graph.edges = g_array_new(FALSE, TRUE, sizeof(RtEdgeSpec));
    t->graph.max_parallelism = 128;
    add_op(&t->graph, "source", RT_OP_SOURCE, 2);
    add_op(&t->graph, "count", RT_OP_COUNTER, 2);
    add_op(&t->graph, "sink", RT_OP_SINK, 1);
    RtEdgeSpec e1 = {0, 1, RT_PART_KEYBY}, e2 = {1, 2, RT_PART_REBALANCE};
    g_array_append_val(t->graph.edges, e1);
    g_array_append_val(t->graph.edges, e2);
    t->config = rt_config_new();
    rt_config_set(t->config, "execution.checkpointing.interval", "500 ms");
    rt_config_set(t->config, "restart-strategy.type", "fixed-delay");
    rt_config_set(t->config, "restart-strategy.fixed-delay.delay", "300 ms");
    rt_config_set(t->config, "state.checkpoints.num-retained", "1");
    t->cluster.n_jobmanagers = 1;
    t->cluster.jobmanagers[0] = 0;
    t->cluster.n_workers = N_WORKERS;
    for (uint32_t i = 0; i < N_WORKERS; i++)
        t->cluster.workers[i] = 1 + i;
    t->cluster.slots_per_worker = 4;
    t->spec = (RtJobSpec){&t->graph, t->config, &t->cluster};
    t->obs.ops = &obs_ops;
    t->complete_events = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    t->restore_events = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    SimWorldConfig wc;
    sim_world_config_init(&wc, seed);
    wc.bugs = bugs;
    t->world = sim_world_new(&wc);
    sim_world_set_observer(t->world, &t->obs);
    return t;
}

static void test_spawn(Test *t) {
    ck_assert_uint_eq(sim_world_spawn(t->world, "jobmanager", &jm_class, t), 0);
    for (uint32_t i = 0; i < N_WORKERS; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "worker-%u", i + 1);
        ck_assert_uint_eq(sim_world_spawn(t->world, name, &fake_tm_class, t), 1 + i);
    }
}

static void test_free(Test *t) {
    sim_world_free(t->world);
    rt_config_free(t->config);
    g_ptr_array_unref(t->graph.operators);
    g_array_unref(t->graph.edges);
    g_free(t->graph.name);
    g_array_unref(t->complete_events);
    g_array_unref(t->restore_events);
    g_free(t);
    g_test = NULL;
}

static void run_until(Test *t, uint64_t t_ns) {
    sim_world_run(t->world, t_ns, 50000000);
}

static uint64_t last_complete(const Test *t) {
    return t->complete_events->len == 0
               ? 0
               : g_array_index(t->complete_events, uint64_t, t->complete_events->len - 1);
}

/* Every subtask of the last deployment restored from checkpoint id. */
static void assert_last_restore(const Test *t, uint64_t id) {
    uint32_t n = rt_job_graph_n_subtasks(&t->graph);
    ck_assert_uint_ge(t->restore_events->len, n);
    for (uint32_t i = t->restore_events->len - n; i < t->restore_events->len; i++)
        ck_assert_uint_eq(g_array_index(t->restore_events, uint64_t, i), id);
}

START_TEST(test_deploy_and_checkpoints) {
    Test *t = test_new(11, 0);
    test_spawn(t);
    run_until(t, 3 * SEC);
    ck_assert_uint_eq(t->running, 1);
    ck_assert_uint_eq(t->last_running_attempt, 1);
    assert_last_restore(t, 0); /* fresh start */
    /* Round-robin over the two workers: both host tasks. */
    FakeTm *w1 = sim_world_process_instance(t->world, 1);
    FakeTm *w2 = sim_world_process_instance(t->world, 2);
    ck_assert_uint_eq(w1->n_tasks + w2->n_tasks, 5);
    ck_assert_uint_ge(w1->n_tasks, 2);
    ck_assert_uint_ge(w2->n_tasks, 2);
    ck_assert_uint_ge(t->complete_events->len, 3);
    for (guint i = 1; i < t->complete_events->len; i++)
        ck_assert_uint_gt(g_array_index(t->complete_events, uint64_t, i),
                          g_array_index(t->complete_events, uint64_t, i - 1));
    /* The metadata of the latest is durable and decodes with every subtask. */
    char *path = rt_ckpt_metadata_path("checkpoints", "jmtest", last_complete(t));
    size_t len = 0;
    const void *d = sim_storage_read_durable(sim_world_storage(t->world), path, &len);
    ck_assert_ptr_nonnull(d);
    RtCompletedCheckpoint *cp = NULL;
    ck_assert(rt_ckpt_metadata_decode(d, len, &cp, NULL));
    ck_assert_uint_eq(cp->subtasks->len, 5);
    ck_assert_uint_eq(cp->attempt, 1);
    rt_completed_checkpoint_free(cp);
    g_free(path);
    test_free(t);
}
END_TEST

START_TEST(test_worker_crash_failover_restores_latest) {
    Test *t = test_new(12, 0);
    test_spawn(t);
    run_until(t, 3 * SEC);
    uint64_t before = last_complete(t);
    ck_assert_uint_ge(before, 2);
    sim_world_crash(t->world, 2);
    run_until(t, 3 * SEC + 150 * MS); /* detection delay: failover, not yet redeployed */
    ck_assert_uint_eq(t->failovers, 1);
    uint64_t restored_from = last_complete(t);
    /* Worker 1 alone has 4 slots < 5 subtasks: the job waits for worker 2. */
    run_until(t, 5 * SEC);
    ck_assert_uint_eq(t->running, 1);
    sim_world_restart(t->world, 2);
    run_until(t, 8 * SEC);
    ck_assert_uint_eq(t->running, 2);
    ck_assert_uint_eq(t->last_running_attempt, 2);
    FakeTm *w1 = sim_world_process_instance(t->world, 1);
    for (uint32_t i = 0; i < w1->n_tasks; i++)
        ck_assert_uint_eq(w1->restore_id[i], restored_from);
    assert_last_restore(t, restored_from);
    ck_assert_uint_gt(last_complete(t), restored_from); /* checkpoints go on */
    test_free(t);
}
END_TEST

START_TEST(test_jobmanager_restart_resumes) {
    Test *t = test_new(13, 0);
    /* The durable (not Flink) variant: counter and store recovered from storage. */
    rt_config_set(t->config, "ckptsim.jobmanager.recover-without-ha", "true");
    test_spawn(t);
    run_until(t, 3 * SEC);
    uint64_t before = last_complete(t);
    ck_assert_uint_ge(before, 2);
    sim_world_crash(t->world, 0);
    run_until(t, 3 * SEC + 500 * MS);
    sim_world_restart(t->world, 0);
    run_until(t, 8 * SEC);
    ck_assert_uint_eq(t->running, 2);
    ck_assert_uint_gt(t->last_running_attempt, 1);
    /* Resumed from the latest published checkpoint (or one completing right at the
     * crash); ids keep increasing across the restart. */
    uint32_t n = rt_job_graph_n_subtasks(&t->graph);
    uint64_t restored = g_array_index(t->restore_events, uint64_t, t->restore_events->len - n);
    ck_assert_uint_ge(restored, before);
    assert_last_restore(t, restored);
    for (guint i = 1; i < t->complete_events->len; i++)
        ck_assert_uint_gt(g_array_index(t->complete_events, uint64_t, i),
                          g_array_index(t->complete_events, uint64_t, i - 1));
    test_free(t);
}
END_TEST

/* Flink without HA (StandaloneCompletedCheckpointStore, StandaloneCheckpointIDCounter):
 * the restarted job manager knows no checkpoint, restores from nothing and hands out
 * checkpoint ids from 1 again. */
START_TEST(test_jobmanager_restart_without_ha_forgets) {
    Test *t = test_new(13, 0);
    test_spawn(t);
    run_until(t, 3 * SEC);
    uint64_t before = last_complete(t);
    ck_assert_uint_ge(before, 2);
    guint completes_before = t->complete_events->len;
    sim_world_crash(t->world, 0);
    run_until(t, 3 * SEC + 500 * MS);
    sim_world_restart(t->world, 0);
    run_until(t, 8 * SEC);
    ck_assert_uint_eq(t->running, 2);
    uint32_t n = rt_job_graph_n_subtasks(&t->graph);
    uint64_t restored = g_array_index(t->restore_events, uint64_t, t->restore_events->len - n);
    ck_assert_uint_eq(restored, 0);
    ck_assert_uint_gt(t->complete_events->len, completes_before);
    ck_assert_uint_eq(g_array_index(t->complete_events, uint64_t, completes_before), 1);
    test_free(t);
}
END_TEST

START_TEST(test_restart_attempts_bound) {
    Test *t = test_new(14, 0);
    rt_config_set(t->config, "restart-strategy.fixed-delay.attempts", "1");
    test_spawn(t);
    run_until(t, 2 * SEC);
    sim_world_crash(t->world, 1);
    run_until(t, 2500 * MS);
    sim_world_restart(t->world, 1);
    run_until(t, 4 * SEC);
    ck_assert_uint_eq(t->running, 2);
    ck_assert_uint_eq(t->failed, 0);
    sim_world_crash(t->world, 2);
    run_until(t, 6 * SEC);
    ck_assert_uint_eq(t->failovers, 2);
    ck_assert_uint_eq(t->failed, 1);
    test_free(t);
}
END_TEST

START_TEST(test_restore_older_bug) {
    Test *t = test_new(15, RT_BUG_RESTORE_OLDER_CHECKPOINT);
    test_spawn(t);
    run_until(t, 3 * SEC);
    uint64_t latest = last_complete(t);
    ck_assert_uint_ge(latest, 3);
    sim_world_crash(t->world, 1);
    sim_world_restart_at(t->world, 1, 3 * SEC + 400 * MS);
    run_until(t, 3 * SEC + 900 * MS);
    ck_assert_uint_eq(t->running, 2);
    /* The planted bug restores the second-latest retained checkpoint. */
    uint32_t n = rt_job_graph_n_subtasks(&t->graph);
    uint64_t restored = g_array_index(t->restore_events, uint64_t, t->restore_events->len - n);
    ck_assert_uint_lt(restored, last_complete(t));
    ck_assert_uint_gt(restored, 0);
    test_free(t);
}
END_TEST

START_TEST(test_job_finishes) {
    Test *t = test_new(16, 0);
    t->done_after_ckpt = 3;
    test_spawn(t);
    run_until(t, 5 * SEC);
    ck_assert_uint_eq(t->finished, 1);
    guint n = t->complete_events->len;
    run_until(t, 8 * SEC);
    ck_assert_uint_eq(t->complete_events->len, n); /* no checkpoint after the end */
    test_free(t);
}
END_TEST

static Suite *jobmanager_suite(void) {
    Suite *s = suite_create("jobmanager");
    TCase *tc = tcase_create("sim");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_deploy_and_checkpoints);
    tcase_add_test(tc, test_worker_crash_failover_restores_latest);
    tcase_add_test(tc, test_jobmanager_restart_resumes);
    tcase_add_test(tc, test_jobmanager_restart_without_ha_forgets);
    tcase_add_test(tc, test_restart_attempts_bound);
    tcase_add_test(tc, test_restore_older_bug);
    tcase_add_test(tc, test_job_finishes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(jobmanager_suite());
}
