/* rt_jobmanager_deploy.c - scheduling, deployment, global failover under the restart
 * strategy (rt_restart_strategy.h), and job end (rt_jobmanager_internal.h).
 *
 * Scheduling is deterministic: the live registered workers sorted by process id take the
 * subtasks (operators in graph order, subtasks by index) round-robin, each up to its
 * slots. Every deployment is a new attempt, persisted durably before DEPLOY is sent, and
 * restores every subtask from the latest completed checkpoint (planted bug
 * RT_BUG_RESTORE_OLDER_CHECKPOINT: the second-latest when there are two). */
#include <assert.h>
#include <string.h>

#include "runtime/checkpoint/rt_jobmanager_internal.h"
#include "runtime/env/rt_bugs.h"
#include "runtime/ha/rt_atomic_file.h"

int64_t jm_subtask_index(const RtJobManager *jm, RtSubtaskId subtask) {
    const RtJobGraph *g = jm->spec->graph;
    if (subtask.op >= g->operators->len)
        return -1;
    const RtOperatorSpec *op = g_ptr_array_index(g->operators, subtask.op);
    if (subtask.index >= op->parallelism)
        return -1;
    return (int64_t)rt_job_graph_subtask_base(g, subtask.op) + subtask.index;
}

static void send_cancel(RtJobManager *jm) {
    RtMsg m = {.type = RT_MSG_CANCEL, .attempt = jm->attempt};
    jm_send_all(jm, &m, false);
}

void jm_fail_job(RtJobManager *jm, const char *cause) {
    rt_ckpt_coordinator_stop(jm->coord, RT_CKPT_FAIL_SUSPENDED);
    rt_env_timer_cancel(jm->env, jm->restart_timer);
    jm->restart_timer = 0;
    jm->state = JM_FAILED;
    send_cancel(jm);
    jm_observe(jm, RT_EV_JOB_FAILED, jm->attempt, cause);
}

bool jm_restart_admit(RtJobManager *jm, uint64_t *delay_ns) {
    uint64_t now = rt_env_now_ns(jm->env);
    rt_restart_strategy_notify_failure(&jm->restart, now);
    if (!rt_restart_strategy_can_restart(&jm->restart, now))
        return false;
    *delay_ns = rt_restart_strategy_next_delay_ns(&jm->restart, now);
    return true;
}

static void restart_fire(void *user_data) {
    RtJobManager *jm = user_data;
    jm->restart_timer = 0;
    assert(jm->state == JM_RESTARTING);
    jm->state = JM_WAITING;
    jm_try_deploy(jm);
}

void jm_failover(RtJobManager *jm, const char *cause) {
    if (jm->state != JM_DEPLOYING && jm->state != JM_RUNNING)
        return; /* nothing deployed, already restarting, or terminal */
    rt_ckpt_coordinator_stop(jm->coord, RT_CKPT_FAIL_SUSPENDED);
    if (jm->region_failover && jm->n_regions > 1) {
        /* Flink would restart only the failed subtask's pipelined region
         * (RestartPipelinedRegionFailoverStrategy); ckptsim restarts them all. */
        char *c = g_strdup_printf("%s (failover-strategy region: %u pipelined regions, "
                                  "all restarted)", cause, jm->n_regions);
        jm_observe(jm, RT_EV_FAILOVER, jm->attempt, c);
        g_free(c);
    } else {
        jm_observe(jm, RT_EV_FAILOVER, jm->attempt, cause);
    }
    send_cancel(jm);
    uint64_t delay_ns = 0;
    if (!jm_restart_admit(jm, &delay_ns)) {
        jm_fail_job(jm, cause);
        return;
    }
    jm->state = JM_RESTARTING;
    jm->restart_timer = rt_env_timer_start(jm->env, delay_ns, restart_fire, jm);
}

void jm_on_task_done(RtJobManager *jm, RtSubtaskId subtask) {
    int64_t i = jm_subtask_index(jm, subtask);
    if (i < 0 || jm->done[i])
        return;
    jm->done[i] = true;
    if (++jm->n_done < jm->n_subtasks)
        return;
    rt_ckpt_coordinator_stop(jm->coord, RT_CKPT_FAIL_SUSPENDED);
    jm->state = JM_FINISHED;
    jm_observe(jm, RT_EV_JOB_FINISHED, jm->attempt, NULL);
    RtMsg m = {.type = RT_MSG_FINISH, .attempt = jm->attempt};
    jm_send_all(jm, &m, false);
}

void jm_on_deployed(RtJobManager *jm, JmWorker *w, uint32_t count) {
    if (jm->state != JM_DEPLOYING)
        return;
    w->deployed = count;
    for (guint i = 0; i < jm->workers->len; i++) {
        const JmWorker *x = g_ptr_array_index(jm->workers, i);
        if (x->n_tasks > 0 && x->deployed < x->n_tasks)
            return;
    }
    jm->state = JM_RUNNING;
    jm_observe(jm, RT_EV_JOB_RUNNING, jm->attempt, NULL);
    rt_ckpt_coordinator_start(jm->coord, jm->attempt, jm->subtasks, jm->n_subtasks);
}

/* ----------------------------------------------------------------- scheduling */

static bool worker_live(const JmWorker *w) {
    return w->ch != NULL && w->registered;
}

static uint64_t live_slots(const RtJobManager *jm, uint32_t *n_live) {
    uint64_t slots = 0;
    *n_live = 0;
    for (guint i = 0; i < jm->workers->len; i++) {
        const JmWorker *w = g_ptr_array_index(jm->workers, i);
        if (worker_live(w)) {
            slots += w->slots;
            (*n_live)++;
        }
    }
    return slots;
}

/* Round-robin over live workers (sorted by pid), each up to its slots. */
static bool assign(RtJobManager *jm) {
    uint32_t n_live = 0;
    if (live_slots(jm, &n_live) < jm->n_subtasks)
        return false;
    for (guint i = 0; i < jm->workers->len; i++)
        ((JmWorker *)g_ptr_array_index(jm->workers, i))->n_tasks = 0;
    guint cursor = 0;
    for (uint32_t s = 0; s < jm->n_subtasks; s++) {
        JmWorker *w = NULL;
        for (guint tries = 0; tries < jm->workers->len && w == NULL; tries++) {
            JmWorker *c = g_ptr_array_index(jm->workers, (cursor + tries) % jm->workers->len);
            if (worker_live(c) && c->n_tasks < c->slots) {
                w = c;
                cursor = (cursor + tries + 1) % jm->workers->len;
            }
        }
        assert(w != NULL);
        w->n_tasks++;
        jm->location[s] = w->pid;
    }
    return true;
}

/* The checkpoint every subtask restores from, or NULL for a fresh start. */
static const RtCompletedCheckpoint *restore_point(RtJobManager *jm) {
    guint n = rt_ckpt_store_count(jm->store);
    if (n == 0)
        return NULL;
    if (n >= 2 && rt_bug_on(jm->env, RT_BUG_RESTORE_OLDER_CHECKPOINT))
        return rt_ckpt_store_get(jm->store, n - 2);
    return rt_ckpt_store_latest(jm->store);
}

static void send_deploy(RtJobManager *jm, JmWorker *w, const RtCompletedCheckpoint *cp,
                        RtDeployLocation *locations) {
    RtDeployTask *tasks = g_new0(RtDeployTask, MAX(w->n_tasks, 1u));
    uint32_t k = 0;
    for (uint32_t s = 0; s < jm->n_subtasks; s++) {
        if (jm->location[s] != w->pid)
            continue;
        RtDeployTask *t = &tasks[k++];
        t->subtask = jm->subtasks[s];
        const RtCkptSubtaskState *st =
            cp != NULL ? rt_completed_checkpoint_find(cp, t->subtask) : NULL;
        if (st != NULL) {
            gsize len = 0;
            t->restore_checkpoint_id = cp->checkpoint_id;
            t->handle = (uint8_t *)g_bytes_get_data(st->handle, &len); /* borrowed */
            t->handle_len = len;
        }
        RtEvent ev = {.kind = RT_EV_RESTORE, .subtask = t->subtask, .attempt = jm->attempt,
                      .checkpoint_id = t->restore_checkpoint_id, .a = jm->attempt,
                      .b = w->pid};
        rt_env_observe(jm->env, &ev);
    }
    assert(k == w->n_tasks);
    RtMsg m = {.type = RT_MSG_DEPLOY, .attempt = jm->attempt, .locations = locations,
               .n_locations = jm->n_subtasks, .tasks = tasks, .n_tasks = k};
    jm_send(w, &m); /* encodes only: the arrays are ours, not rt_msg_clear's */
    g_free(tasks);
}

static void deploy(RtJobManager *jm, uint32_t attempt) {
    if (!assign(jm)) {
        jm->state = JM_WAITING; /* a worker went away meanwhile: wait for slots */
        return;
    }
    jm->attempt = attempt;
    jm->state = JM_DEPLOYING;
    jm->first_deploy_done = true;
    memset(jm->done, 0, sizeof(bool) * jm->n_subtasks);
    jm->n_done = 0;
    const RtCompletedCheckpoint *cp = restore_point(jm);
    RtDeployLocation *locations = g_new0(RtDeployLocation, jm->n_subtasks);
    for (uint32_t s = 0; s < jm->n_subtasks; s++)
        locations[s] = (RtDeployLocation){.subtask = jm->subtasks[s],
                                          .process = jm->location[s]};
    for (guint i = 0; i < jm->workers->len; i++) {
        JmWorker *w = g_ptr_array_index(jm->workers, i);
        w->deployed = 0;
        if (worker_live(w))
            send_deploy(jm, w, cp, locations);
    }
    g_free(locations);
}

typedef struct AttemptWrite {
    RtPendingOp op;     /* first: registered in jm->ops */
    RtJobManager *jm;
    JmTerm *term;       /* the term that claims it (HA: its counter answers) */
    uint64_t term_gen;  /* a claim of an ended term deploys nothing */
    uint32_t attempt;
} AttemptWrite;

static void attempt_written(void *user_data, GError *error, bool possibly_persisted) {
    (void)possibly_persisted;
    AttemptWrite *aw = (AttemptWrite *)rt_pending_op_take(user_data);
    if (aw == NULL) { /* the job manager was freed */
        g_clear_error(&error);
        return;
    }
    RtJobManager *jm = aw->jm;
    if (aw->term->attempts != NULL)
        aw->term->attempt_busy = false;
    if (jm->term_gen != aw->term_gen) {
        if (aw->term->retired)
            jm_reap_schedule(jm);
        jm = NULL; /* leadership changed meanwhile */
    }
    uint32_t attempt = aw->attempt;
    g_free(aw);
    if (jm == NULL) {
        g_clear_error(&error);
        return;
    }
    jm->persisting_attempt = false;
    /* A failed write burns the number (it may be on disk) and is retried. */
    jm->attempt = MAX(jm->attempt, attempt);
    if (error != NULL) {
        g_clear_error(&error);
        jm_try_deploy(jm);
        return;
    }
    if (jm->state == JM_WAITING)
        deploy(jm, attempt);
}

static void attempt_free_op(RtPendingOp *op) {
    g_free(op);
}

static void attempt_claimed(void *user_data, uint64_t attempt, GError *error) {
    AttemptWrite *aw = (AttemptWrite *)rt_pending_op_lookup(user_data);
    if (aw != NULL && error == NULL) {
        assert(attempt >= aw->attempt && attempt < G_MAXUINT32 - 1);
        aw->attempt = (uint32_t)attempt;
    }
    attempt_written(user_data, error, false);
}

static void grace_fire(void *user_data) {
    RtJobManager *jm = user_data;
    jm->grace_timer = 0;
    jm_try_deploy(jm);
}

/* The first deployment waits (a bounded time) for every worker of the cluster. */
static bool first_deploy_may_go(RtJobManager *jm, uint32_t n_live) {
    if (jm->first_deploy_done || n_live >= jm->spec->cluster->n_workers)
        return true;
    uint64_t now = rt_env_now_ns(jm->env);
    if (jm->first_ready_ns == 0) {
        jm->first_ready_ns = now == 0 ? 1 : now;
        jm->grace_timer = rt_env_timer_start(jm->env, RT_JM_REGISTRATION_GRACE_NS,
                                             grace_fire, jm);
        return false;
    }
    return now >= jm->first_ready_ns + RT_JM_REGISTRATION_GRACE_NS;
}

void jm_try_deploy(RtJobManager *jm) {
    if (jm->state != JM_WAITING || jm->persisting_attempt ||
        !rt_ckpt_coordinator_idle(jm->coord))
        return;
    uint32_t n_live = 0;
    if (live_slots(jm, &n_live) < jm->n_subtasks || !first_deploy_may_go(jm, n_live))
        return;
    assert(jm->attempt < G_MAXUINT32 - 1);
    AttemptWrite *aw = g_new0(AttemptWrite, 1);
    aw->jm = jm;
    aw->term = jm->term;
    aw->term_gen = jm->term_gen;
    aw->attempt = jm->attempt + 1;
    jm->persisting_attempt = true;
    void *token = rt_pending_op_register(&jm->ops, &aw->op, attempt_free_op);
    bool ok;
    if (jm->term->attempts != NULL) {
        /* HA: claimed from the fenced counter in ZooKeeper (a deposed leader cannot). */
        rt_ckpt_id_counter_set_floor(jm->term->attempts, aw->attempt);
        ok = rt_ckpt_id_counter_get_and_increment(jm->term->attempts, attempt_claimed, token,
                                                  NULL);
        jm->term->attempt_busy = ok;
    } else {
        /* Persist the attempt before any message carries it (survives a JM restart). */
        ok = rt_durable_u64_write(jm->env->storage, &jm->ops, jm->attempt_path, aw->attempt,
                                  attempt_written, token, NULL);
    }
    if (!ok) {
        jm->persisting_attempt = false;
        rt_pending_op_unregister(&aw->op);
        g_free(aw);
    }
}
