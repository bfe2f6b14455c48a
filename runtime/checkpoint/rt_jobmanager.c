/* rt_jobmanager.c - the job manager process (rt_cluster.h): configuration, recovery of
 * the checkpoint store, counter and attempt from durable storage, task manager
 * registration, the control-message dispatch and the checkpoint coordinator's hooks.
 * Scheduling, deployment, failover and job end are in rt_jobmanager_deploy.c. */
#include <assert.h>
#include <string.h>

#include "runtime/checkpoint/rt_jobmanager_internal.h"
#include "runtime/checkpoint/rt_standalone_counter.h"
#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/ha/rt_atomic_file.h"
#include "runtime/ha/rt_ckpt_store_fs.h"
#include "runtime/ha/rt_ckpt_store_zk.h"

/* ------------------------------------------------------------------ helpers */

void jm_observe(RtJobManager *jm, RtEventKind kind, uint64_t a, const char *detail) {
    RtEvent ev = {.kind = kind, .attempt = jm->attempt, .a = a, .detail = detail};
    rt_env_observe(jm->env, &ev);
}

JmWorker *jm_worker_find(const RtJobManager *jm, RtProcessId pid) {
    for (guint i = 0; i < jm->workers->len; i++) {
        JmWorker *w = g_ptr_array_index(jm->workers, i);
        if (w->pid == pid)
            return w;
    }
    return NULL;
}

void jm_send(JmWorker *w, const RtMsg *msg) {
    if (w->ch == NULL || !w->registered)
        return;
    GByteArray *out = g_byte_array_new();
    rt_msg_encode(msg, out);
    rt_channel_send(w->ch, out->data, out->len);
    g_byte_array_unref(out);
}

void jm_send_all(RtJobManager *jm, const RtMsg *msg, bool only_with_tasks) {
    for (guint i = 0; i < jm->workers->len; i++) {
        JmWorker *w = g_ptr_array_index(jm->workers, i);
        if (!only_with_tasks || w->n_tasks > 0)
            jm_send(w, msg);
    }
}

/* Discards what an encoded state handle points to (best effort). */
static void discard_handle(RtJobManager *jm, GBytes *handle) {
    gsize len = 0;
    const void *data = g_bytes_get_data(handle, &len);
    RtStateHandle *h = NULL;
    if (len == 0 || !rt_state_handle_decode(data, len, &h, NULL))
        return;
    if (g_strcmp0(h->backend, rt_state_backend_name(jm->backend)) == 0)
        rt_state_backend_discard(jm->backend, h);
    rt_state_handle_free(h);
}

/* -------------------------------------------------------- coordinator hooks */

/* The job manager of a current term, NULL for a retired one (its hooks do nothing). */
static RtJobManager *term_jm(void *ud) {
    JmTerm *t = ud;
    return t->retired ? NULL : t->jm;
}

static void hook_trigger(void *ud, uint64_t id, uint64_t ts, RtBarrierKind kind) {
    RtJobManager *jm = term_jm(ud);
    if (jm == NULL)
        return;
    const RtJobGraph *g = jm->spec->graph;
    for (uint32_t i = 0; i < jm->n_subtasks; i++) {
        const RtOperatorSpec *op = g_ptr_array_index(g->operators, jm->subtasks[i].op);
        if (op->kind != RT_OP_SOURCE)
            continue;
        JmWorker *w = jm_worker_find(jm, jm->location[i]);
        if (w == NULL)
            continue;
        RtMsg m = {.type = RT_MSG_TRIGGER, .attempt = jm->attempt, .checkpoint_id = id,
                   .timestamp_ns = ts, .barrier_kind = kind, .subtask = jm->subtasks[i]};
        jm_send(w, &m);
    }
}

static void hook_notify_complete(void *ud, uint64_t id) {
    RtJobManager *jm = term_jm(ud);
    if (jm == NULL)
        return;
    RtMsg m = {.type = RT_MSG_NOTIFY_COMPLETE, .attempt = jm->attempt, .checkpoint_id = id};
    jm_send_all(jm, &m, true);
}

static void hook_notify_abort(void *ud, uint64_t id) {
    RtJobManager *jm = term_jm(ud);
    if (jm == NULL)
        return;
    RtMsg m = {.type = RT_MSG_NOTIFY_ABORT, .attempt = jm->attempt, .checkpoint_id = id};
    jm_send_all(jm, &m, true);
}

static void hook_fail_job(void *ud, const char *cause) {
    RtJobManager *jm = term_jm(ud);
    if (jm != NULL)
        jm_failover(jm, cause);
}

static void hook_discard(void *ud, RtSubtaskId subtask, GBytes *handle) {
    (void)subtask;
    discard_handle(((JmTerm *)ud)->jm, handle);
}

static void hook_idle(void *ud) {
    JmTerm *t = ud;
    if (t->retired) {
        jm_reap_schedule(t->jm);
        return;
    }
    if (t->jm->state == JM_WAITING)
        jm_try_deploy(t->jm);
}

static const RtCkptCoordinatorHooks coordinator_hooks = {
    .trigger = hook_trigger,
    .notify_complete = hook_notify_complete,
    .notify_abort = hook_notify_abort,
    .fail_job = hook_fail_job,
    .discard = hook_discard,
    .idle = hook_idle,
};

static void store_discard(void *ud, const RtCompletedCheckpoint *cp) {
    for (guint i = 0; i < cp->subtasks->len; i++)
        discard_handle(ud, g_array_index(cp->subtasks, RtCkptSubtaskState, i).handle);
}

/* ------------------------------------------------------------- control plane */

static void worker_lost(RtJobManager *jm, JmWorker *w, const char *why) {
    if (w->ch != NULL)
        rt_channel_free(w->ch);
    w->ch = NULL;
    w->registered = false;
    if ((jm->state == JM_DEPLOYING || jm->state == JM_RUNNING) && w->n_tasks > 0) {
        char *cause = g_strdup_printf("worker %u %s", w->pid, why);
        jm_failover(jm, cause);
        g_free(cause);
    }
}

static void on_register(RtJobManager *jm, JmWorker *w, const RtMsg *m) {
    if (m->process != w->pid || m->slots == 0)
        return;
    w->registered = true;
    w->slots = m->slots;
    /* Attempts strictly increase, also across job manager restarts. */
    if (m->running_attempt > jm->attempt &&
        (jm->state == JM_RECOVERING || jm->state == JM_WAITING))
        jm->attempt = m->running_attempt;
    jm_try_deploy(jm);
}

static void dispatch(RtJobManager *jm, JmWorker *w, const RtMsg *m) {
    bool current = m->attempt == jm->attempt &&
                   (jm->state == JM_DEPLOYING || jm->state == JM_RUNNING);
    switch (m->type) {
    case RT_MSG_REGISTER: on_register(jm, w, m); break;
    case RT_MSG_DEPLOYED:
        if (current)
            jm_on_deployed(jm, w, m->count);
        break;
    case RT_MSG_ACK: {
        GBytes *h = g_bytes_new(m->handle, m->handle_len);
        rt_ckpt_coordinator_ack(jm->coord, m->checkpoint_id, m->subtask, m->attempt, h);
        g_bytes_unref(h);
        break;
    }
    case RT_MSG_DECLINE:
        rt_ckpt_coordinator_decline(jm->coord, m->checkpoint_id, m->subtask, m->attempt,
                                    m->decline_reason, m->text);
        break;
    case RT_MSG_TASK_FAILED:
        if (current) {
            char *cause = g_strdup_printf("task %u.%u failed: %s", m->subtask.op,
                                          m->subtask.index, m->text ? m->text : "");
            jm_failover(jm, cause);
            g_free(cause);
        }
        break;
    case RT_MSG_TASK_DONE:
        if (current)
            jm_on_task_done(jm, m->subtask);
        break;
    default: break; /* not for the job manager: ignored */
    }
}

static void on_message(RtChannel *ch, const void *data, size_t len, void *user_data) {
    JmWorker *w = user_data;
    if (ch != w->ch)
        return;
    RtMsg m;
    memset(&m, 0, sizeof m);
    if (!rt_msg_decode(data, len, &m, NULL))
        return; /* malformed: ignored (the protocol module reports why) */
    if (m.type != RT_MSG_REGISTER && !w->registered) {
        rt_msg_clear(&m);
        return;
    }
    dispatch(w->jm, w, &m);
    rt_msg_clear(&m);
}

static void on_broken(RtChannel *ch, void *user_data) {
    JmWorker *w = user_data;
    if (ch != w->ch) {
        rt_channel_free(ch);
        return;
    }
    worker_lost(w->jm, w, "lost");
}

static const RtChannelHandler worker_handler = {.on_message = on_message,
                                                .on_broken = on_broken};

static gint worker_cmp(gconstpointer a, gconstpointer b) {
    const JmWorker *x = *(JmWorker *const *)a, *y = *(JmWorker *const *)b;
    return x->pid < y->pid ? -1 : (x->pid > y->pid ? 1 : 0);
}

static void on_accept(RtChannel *ch, RtProcessId peer, void *user_data) {
    RtJobManager *jm = user_data;
    JmWorker *w = jm_worker_find(jm, peer);
    if (w == NULL) {
        if (jm->workers->len >= RT_CLUSTER_MAX_PROCESSES) {
            rt_channel_free(ch);
            return;
        }
        w = g_new0(JmWorker, 1);
        w->jm = jm;
        w->pid = peer;
        g_ptr_array_add(jm->workers, w);
        g_ptr_array_sort(jm->workers, worker_cmp);
    } else if (w->ch != NULL) {
        /* The worker reconnected: its previous incarnation is gone. */
        worker_lost(jm, w, "restarted");
    }
    w->ch = ch;
    w->registered = false;
    rt_channel_set_handler(ch, &worker_handler, w);
}

/* ------------------------------------------------------------------ recovery */

/* Recovery chain: counter -> store -> attempt file -> WAITING. Each step is a context
 * registered in jm->ops (the job manager may be freed meanwhile); its callbacks get
 * the step's token. */
typedef struct RecoveryStep {
    RtPendingOp op;    /* first: registered in jm->ops */
    RtJobManager *jm;
    uint64_t term_gen; /* a step of an ended term changes nothing */
} RecoveryStep;

static void step_free_op(RtPendingOp *op) {
    g_free(op);
}

/* A new step, registered; returns its token (the callbacks' user data). */
static void *step_new(RtJobManager *jm) {
    RecoveryStep *s = g_new0(RecoveryStep, 1);
    s->jm = jm;
    s->term_gen = jm->term_gen;
    return rt_pending_op_register(&jm->ops, &s->op, step_free_op);
}

/* Ends the step of token; returns the job manager if it is alive and in the same term,
 * else NULL. */
static RtJobManager *step_take(void *token) {
    RecoveryStep *s = (RecoveryStep *)rt_pending_op_take(token);
    if (s == NULL)
        return NULL;
    RtJobManager *jm = s->jm->term_gen == s->term_gen ? s->jm : NULL;
    g_free(s);
    return jm;
}

static void recovery_retry_fire(void *user_data) {
    RtJobManager *jm = user_data;
    jm->restart_timer = 0;
    jm_recover_start(jm);
}

/* Never start from nothing while checkpoints may exist: retry as a restart. */
static void recovery_failed(RtJobManager *jm, GError *error) {
    char *cause = g_strdup_printf("recovery failed: %s", error->message);
    g_error_free(error);
    jm_observe(jm, RT_EV_FAILOVER, jm->attempt, cause);
    uint64_t delay_ns = 0;
    if (!jm_restart_admit(jm, &delay_ns))
        jm_fail_job(jm, cause);
    else
        jm->restart_timer = rt_env_timer_start(jm->env, delay_ns, recovery_retry_fire, jm);
    g_free(cause);
}

static void attempt_known(RtJobManager *jm, bool found, uint64_t value) {
    if (found && value > jm->attempt)
        jm->attempt = (uint32_t)MIN(value, (uint64_t)G_MAXUINT32 - 1);
    /* A job manager that finds an earlier attempt resumes a running job (as a new
     * leader does in Flink): a new epoch for observers, not a counted restart. */
    if (found && !jm->resumed_reported) {
        jm->resumed_reported = true;
        jm_observe(jm, RT_EV_FAILOVER, jm->attempt,
                   jm->standalone ? "job manager restarted without HA: the job runs again "
                                    "from nothing (standalone checkpoint store lost)"
                                  : "job manager restarted: resuming job");
    }
    const RtCompletedCheckpoint *latest = rt_ckpt_store_latest(jm->store);
    if (latest != NULL)
        rt_ckpt_id_counter_set_floor(jm->counter, latest->checkpoint_id + 1);
    jm->state = JM_WAITING;
    jm_try_deploy(jm);
}

static void attempt_read_done(void *user_data, bool found, uint64_t value, GError *error) {
    RtJobManager *jm = step_take(user_data);
    if (jm == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        recovery_failed(jm, error);
        return;
    }
    attempt_known(jm, found, value);
}

/* HA: the attempt counter holds the next attempt (1 when there was none). */
static void attempts_started(void *user_data, GError *error) {
    RtJobManager *jm = step_take(user_data);
    if (jm == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        recovery_failed(jm, error);
        return;
    }
    jm->term->attempt_busy = false;
    uint64_t next = rt_ckpt_id_counter_zk_next(jm->term->attempts);
    attempt_known(jm, next > 1, next - 1);
}

static void store_recovered(void *user_data, GError *error) {
    RtJobManager *jm = step_take(user_data);
    if (jm == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        recovery_failed(jm, error);
        return;
    }
    GError *err = NULL;
    void *s = step_new(jm);
    bool ok;
    if (jm->term->attempts != NULL) {
        jm->term->attempt_busy = true;
        ok = rt_ckpt_id_counter_start(jm->term->attempts, attempts_started, s, &err);
        jm->term->attempt_busy = ok;
    } else {
        ok = rt_durable_u64_read(jm->env->storage, &jm->ops, jm->attempt_path,
                                 attempt_read_done, s, &err);
    }
    if (!ok) {
        step_take(s);
        recovery_failed(jm, err);
    }
}

static void counter_started(void *user_data, GError *error) {
    RtJobManager *jm = step_take(user_data);
    if (jm == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        recovery_failed(jm, error);
        return;
    }
    GError *err = NULL;
    void *s = step_new(jm);
    if (jm->standalone) {
        /* StandaloneCompletedCheckpointStore: nothing to recover, it starts empty. */
        store_recovered(s, NULL);
        return;
    }
    if (!rt_ckpt_store_recover(jm->store, store_recovered, s, &err)) {
        step_take(s);
        recovery_failed(jm, err);
    }
}

void jm_recover_start(RtJobManager *jm) {
    assert(jm->term != NULL);
    jm->state = JM_RECOVERING;
    GError *err = NULL;
    void *s = step_new(jm);
    if (!rt_ckpt_id_counter_start(jm->counter, counter_started, s, &err)) {
        step_take(s);
        recovery_failed(jm, err);
    }
}

/* ------------------------------------------------------------------ lifecycle */

static bool read_restart_strategy(RtJobManager *jm, const RtConfig *cfg, GError **error) {
    RtRestartStrategyConfig rcfg;
    if (!rt_restart_strategy_config_read(cfg, &rcfg, error))
        return false;
    /* The jitter's own stream, per job manager process. */
    char *stream = g_strdup_printf("restart-strategy-%u", jm->env->process_id);
    RtRng rng;
    rt_env_rng(jm->env, stream, &rng);
    g_free(stream);
    rt_restart_strategy_init(&jm->restart, &rcfg, &rng);
    return true;
}

static bool read_config(RtJobManager *jm, GError **error) {
    const RtConfig *cfg = jm->spec->config;
    uint64_t retained = 1;
    /* execution.checkpointing.num-retained (1..1000) and .dir, each beating its deprecated
     * state.checkpoints.* key; the filesystem backend reads the same directory. */
    bool recover_without_ha = false;
    unsigned strategy = 0; /* "full|region" (the registry's choices) */
    if (!rt_config_key_bool(cfg, RT_KEY_RECOVER_WITHOUT_HA, &recover_without_ha, error) ||
        !rt_config_key_choice(cfg, RT_KEY_FAILOVER_STRATEGY, &strategy, error))
        return false;
    jm->standalone = !jm->ha && !recover_without_ha;
    /* Planted bug ha-skips-store-recovery: the standalone rule applied under HA too. */
    if (jm->ha && rt_bug_on(jm->env, RT_BUG_HA_SKIPS_STORE_RECOVERY))
        jm->standalone = true;
    jm->region_failover = strategy == 1;
    if (!rt_ckpt_coordinator_config_read(cfg, &jm->ccfg, error) ||
        !rt_config_key_u64(cfg, RT_KEY_NUM_RETAINED, &retained, error) ||
        !read_restart_strategy(jm, cfg, error))
        return false;
    jm->ckpt_dir = rt_config_key_dir(cfg, RT_KEY_CHECKPOINTS_DIR, error);
    if (jm->ckpt_dir == NULL)
        return false;
    /* Planted bug: restoring the second-latest needs two retained checkpoints. */
    if (rt_bug_on(jm->env, RT_BUG_RESTORE_OLDER_CHECKPOINT) && retained < 2)
        retained = 2;
    jm->num_retained = (uint32_t)retained;
    return true;
}

static bool init_subtasks(RtJobManager *jm, GError **error) {
    const RtJobGraph *g = jm->spec->graph;
    if (!rt_job_graph_validate(g, error))
        return false;
    uint32_t n = rt_job_graph_n_subtasks(g);
    if (n == 0 || n > RT_PROTOCOL_MAX_SUBTASKS) {
        g_set_error(error, RT_JOB_GRAPH_ERROR, RT_JOB_GRAPH_ERROR_INVALID,
                    "job has %u subtasks (1..%u supported)", n, RT_PROTOCOL_MAX_SUBTASKS);
        return false;
    }
    jm->n_subtasks = n;
    uint32_t *region = g_new0(uint32_t, n);
    jm->n_regions = rt_job_graph_regions(g, region);
    g_free(region);
    jm->subtasks = g_new0(RtSubtaskId, n);
    jm->location = g_new0(RtProcessId, n);
    jm->done = g_new0(bool, n);
    uint32_t k = 0;
    for (guint op = 0; op < g->operators->len; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(g->operators, op);
        for (uint32_t i = 0; i < spec->parallelism; i++)
            jm->subtasks[k++] = (RtSubtaskId){.op = (uint16_t)op, .index = (uint16_t)i};
    }
    assert(k == n);
    return true;
}

static void worker_free(gpointer p) {
    JmWorker *w = p;
    if (w->ch != NULL)
        rt_channel_free(w->ch);
    g_free(w);
}

/* ------------------------------------------------------------------- terms */

JmTerm *jm_term_open(RtJobManager *jm, RtCkptStore *store, RtCkptIdCounter *counter,
                     RtCkptIdCounter *attempts) {
    assert(jm->term == NULL);
    JmTerm *t = g_new0(JmTerm, 1);
    t->jm = jm;
    t->store = store;
    t->counter = counter;
    t->attempts = attempts;
    t->coord = rt_ckpt_coordinator_new(jm->env, &jm->ccfg, store, counter, &coordinator_hooks, t);
    jm->term = t;
    jm->store = store;
    jm->counter = counter;
    jm->coord = t->coord;
    return t;
}

void jm_term_free(JmTerm *t) {
    if (t == NULL)
        return;
    rt_ckpt_coordinator_free(t->coord);
    rt_ckpt_id_counter_free(t->attempts);
    rt_ckpt_id_counter_free(t->counter);
    rt_ckpt_store_free(t->store);
    g_free(t);
}

bool jm_term_idle(const JmTerm *t) {
    return rt_ckpt_coordinator_idle(t->coord) && !t->attempt_busy;
}

bool jm_listen(RtJobManager *jm, GError **error) {
    return rt_env_listen(jm->env, RT_PORT_JOBMANAGER, on_accept, jm, error);
}

/* ------------------------------------------------------------------ lifecycle */

RtJobManager *rt_jobmanager_new(RtEnv *env, const RtJobSpec *spec, GError **error) {
    assert(env != NULL && spec != NULL && spec->graph != NULL && spec->config != NULL);
    assert(spec->cluster != NULL);
    RtJobManager *jm = g_new0(RtJobManager, 1);
    jm->env = env;
    jm->spec = spec;
    rt_pending_ops_init(&jm->ops);
    jm->workers = g_ptr_array_new_with_free_func(worker_free);
    jm->retired = g_ptr_array_new();
    jm->job = g_strdup(spec->graph->name != NULL ? spec->graph->name : "job");
    if (!rt_ha_enabled(spec->config, &jm->ha, error) || !read_config(jm, error)) {
        rt_jobmanager_free(jm);
        return NULL;
    }
    if (!jm->ha && spec->cluster->n_jobmanagers > 1 &&
        env->process_id != spec->cluster->jobmanagers[0]) {
        jm->state = JM_STANDBY;
        return jm;
    }
    if (!init_subtasks(jm, error) ||
        (jm->backend = rt_state_backend_new(NULL, env, spec->config, error)) == NULL) {
        rt_jobmanager_free(jm);
        return NULL;
    }
    if (jm->ha) {
        /* Every job manager contends; the winner opens a term (rt_jobmanager_ha.c). */
        jm->state = JM_STANDBY;
        if (!jm_ha_start(jm, error)) {
            rt_jobmanager_free(jm);
            return NULL;
        }
        return jm;
    }
    if (!jm_listen(jm, error)) {
        rt_jobmanager_free(jm);
        return NULL;
    }
    char *jd = rt_ckpt_job_dir(jm->ckpt_dir, jm->job);
    jm->attempt_path = g_strdup_printf("%s/job-attempt", jd);
    g_free(jd);
    jm_term_open(jm,
                 rt_ckpt_store_fs_new(env, jm->ckpt_dir, jm->job, jm->num_retained,
                                      store_discard, jm),
                 jm->standalone ? rt_standalone_counter_new(env)
                                : rt_ckpt_id_counter_fs_new(env, jm->ckpt_dir, jm->job),
                 NULL);
    jm_recover_start(jm);
    return jm;
}

void jm_store_discard(void *ud, const RtCompletedCheckpoint *cp) {
    store_discard(ud, cp);
}

void rt_jobmanager_free(RtJobManager *jm) {
    if (jm == NULL)
        return;
    rt_pending_ops_clear(&jm->ops);
    if (jm->term != NULL)
        rt_env_unlisten(jm->env, RT_PORT_JOBMANAGER);
    rt_env_timer_cancel(jm->env, jm->restart_timer);
    rt_env_timer_cancel(jm->env, jm->grace_timer);
    rt_env_timer_cancel(jm->env, jm->reap_timer);
    jm_term_free(jm->term);
    for (guint i = 0; i < jm->retired->len; i++)
        jm_term_free(g_ptr_array_index(jm->retired, i));
    g_ptr_array_unref(jm->retired);
    jm_ha_free(jm); /* after the terms: their stores release locks through the client */
    rt_restart_strategy_deinit(&jm->restart);
    if (jm->backend != NULL)
        rt_state_backend_free(jm->backend);
    g_ptr_array_unref(jm->workers);
    g_free(jm->subtasks);
    g_free(jm->location);
    g_free(jm->done);
    g_free(jm->job);
    g_free(jm->ckpt_dir);
    g_free(jm->attempt_path);
    g_free(jm);
}
