/* rt_taskmanager.c - a task manager (worker) process: registers with the job
 * manager(s) and re-registers after a lost connection, runs the subtasks of the current
 * deployment, carries data-plane messages between subtasks (one RtChannel per peer
 * process and direction, a local in-memory FIFO for subtasks in the same process), and
 * answers the control protocol (rt_protocol.h).
 *
 * Attempts: a DEPLOY of a newer attempt tears the current subtasks down and deploys
 * the new ones; data messages of an older attempt are dropped, those of a newer attempt
 * (sent by a peer that was deployed first) are stashed until our DEPLOY arrives.
 * A broken data channel to a process that hosts subtasks of the deployment fails the
 * attempt (TASK_FAILED); losing the job manager that deployed it tears it down, as a
 * Flink TaskExecutor does when it disconnects from the JobMaster.
 */
#include <assert.h>
#include <string.h>

#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/dataflow/rt_tm_internal.h"

typedef enum ConnKind { CONN_JM, CONN_CONTROL_IN, CONN_DATA_OUT, CONN_DATA_IN } ConnKind;

/* The user data of every channel the task manager holds. */
typedef struct Conn {
    RtTaskManager *tm;
    ConnKind kind;
    uint32_t jm_index;  /* CONN_JM */
    RtProcessId peer;
    RtChannel *ch;
} Conn;

static void on_control_message(RtChannel *ch, const void *data, size_t len, void *ud);
static void on_control_broken(RtChannel *ch, void *ud);
static void on_data_message(RtChannel *ch, const void *data, size_t len, void *ud);
static void on_data_broken(RtChannel *ch, void *ud);
static void dispatch_data(RtTaskManager *tm, const void *data, size_t len);

static const RtChannelHandler control_handler = {on_control_message, on_control_broken};
static const RtChannelHandler data_handler = {on_data_message, on_data_broken};

/* ------------------------------------------------------------------ helpers */

uint32_t rt_tm_input_channels_of(const RtJobGraph *g, uint32_t op) {
    uint32_t n = 0;
    for (guint e = 0; e < g->edges->len; e++) {
        const RtEdgeSpec *es = &g_array_index(g->edges, RtEdgeSpec, e);
        if (es->to != op)
            continue;
        const RtOperatorSpec *from = g->operators->pdata[es->from];
        n += es->partitioning == RT_PART_FORWARD ? 1 : from->parallelism;
    }
    return n;
}

uint32_t rt_tm_initial_credits(const RtTaskManager *tm, uint32_t consumer_op) {
    uint32_t n = rt_tm_input_channels_of(tm->spec->graph, consumer_op);
    uint32_t credits = tm->cfg.buffers_per_channel + (n > 0 ? tm->cfg.floating_per_gate / n : 0);
    return credits > 0 ? credits : 1;
}

void rt_tm_send_control(RtTaskManager *tm, const RtMsg *msg) {
    if (tm->deployer == NULL)
        return;
    GByteArray *b = g_byte_array_new();
    rt_msg_encode(msg, b);
    rt_channel_send(tm->deployer, b->data, b->len);
    g_byte_array_unref(b);
}

static void send_on(RtChannel *ch, const RtMsg *msg) {
    GByteArray *b = g_byte_array_new();
    rt_msg_encode(msg, b);
    rt_channel_send(ch, b->data, b->len);
    g_byte_array_unref(b);
}

void rt_tm_fail(RtTaskManager *tm, RtSubtaskId id, const char *reason) {
    if (tm->failed || tm->subtasks == NULL)
        return;
    tm->failed = true;
    for (uint32_t i = 0; i < tm->n_subtasks; i++)
        if (tm->subtasks[i] != NULL)
            tm->subtasks[i]->state = RT_SUBTASK_FAILED;
    RtMsg m;
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_TASK_FAILED;
    m.attempt = tm->attempt;
    m.subtask = id;
    m.text = (char *)reason;
    rt_tm_send_control(tm, &m);
}

static void maybe_send_deployed(RtTaskManager *tm) {
    if (tm->n_running == tm->n_local && !tm->deployed_sent) {
        tm->deployed_sent = true;
        RtMsg m;
        memset(&m, 0, sizeof m);
        m.type = RT_MSG_DEPLOYED;
        m.attempt = tm->attempt;
        m.count = tm->n_local;
        rt_tm_send_control(tm, &m);
    }
}

void rt_tm_subtask_running(RtTaskManager *tm, RtSubtask *st) {
    (void)st;
    tm->n_running++;
    maybe_send_deployed(tm);
}

/* ------------------------------------------------------------------ data plane */

static void local_cb(void *ud) {
    RtTaskManager *tm = ud;
    tm->local_timer = 0;
    for (uint32_t i = 0; i < RT_TM_LOCAL_BATCH && !g_queue_is_empty(&tm->local); i++) {
        GBytes *b = g_queue_pop_head(&tm->local);
        gsize len = 0;
        const void *data = g_bytes_get_data(b, &len);
        dispatch_data(tm, data, len);
        g_bytes_unref(b);
    }
    if (!g_queue_is_empty(&tm->local))
        tm->local_timer = rt_env_timer_start(tm->env, 0, local_cb, tm);
}

static Conn *conn_new(RtTaskManager *tm, ConnKind kind, RtProcessId peer) {
    Conn *c = g_new0(Conn, 1);
    c->tm = tm;
    c->kind = kind;
    c->peer = peer;
    return c;
}

void rt_tm_send_data(void *ud, RtProcessId peer, const void *data, size_t len) {
    RtTaskManager *tm = ud;
    if (peer == tm->env->process_id) {
        g_queue_push_tail(&tm->local, g_bytes_new(data, len));
        if (tm->local_timer == 0)
            tm->local_timer = rt_env_timer_start(tm->env, 0, local_cb, tm);
        return;
    }
    Conn *c = g_hash_table_lookup(tm->data_out, GUINT_TO_POINTER(peer));
    if (c == NULL) {
        c = conn_new(tm, CONN_DATA_OUT, peer);
        c->ch = rt_env_connect(tm->env, peer, RT_PORT_DATA, &data_handler, c, NULL);
        if (c->ch == NULL) {
            g_free(c);
            return; /* the peer is unreachable: its channel break fails the attempt */
        }
        g_hash_table_insert(tm->data_out, GUINT_TO_POINTER(peer), c);
    }
    rt_channel_send(c->ch, data, len);
}

static bool hosts_subtasks(const RtTaskManager *tm, RtProcessId peer) {
    for (uint32_t i = 0; tm->location != NULL && i < tm->n_subtasks; i++)
        if (tm->location[i] == peer)
            return true;
    return false;
}

static void on_data_broken(RtChannel *ch, void *ud) {
    Conn *c = ud;
    RtTaskManager *tm = c->tm;
    if (c->kind == CONN_DATA_OUT)
        g_hash_table_remove(tm->data_out, GUINT_TO_POINTER(c->peer));
    else
        g_ptr_array_remove_fast(tm->data_in, c);
    rt_channel_free(ch);
    RtProcessId peer = c->peer;
    g_free(c);
    if (tm->subtasks != NULL && hosts_subtasks(tm, peer)) {
        for (uint32_t i = 0; i < tm->n_subtasks; i++) {
            if (tm->subtasks[i] != NULL) {
                char *why = g_strdup_printf("data channel with process %u broken", peer);
                rt_tm_fail(tm, tm->subtasks[i]->id, why);
                g_free(why);
                break;
            }
        }
    }
}

static void on_data_message(RtChannel *ch, const void *data, size_t len, void *ud) {
    (void)ch;
    Conn *c = ud;
    dispatch_data(c->tm, data, len);
}

static void on_data_accept(RtChannel *ch, RtProcessId peer, void *ud) {
    RtTaskManager *tm = ud;
    Conn *c = conn_new(tm, CONN_DATA_IN, peer);
    c->ch = ch;
    g_ptr_array_add(tm->data_in, c);
    rt_channel_set_handler(ch, &data_handler, c);
}

static RtSubtask *route(RtTaskManager *tm, const RtMsg *msg) {
    const RtJobGraph *g = tm->spec->graph;
    if (msg->channel.edge >= g->edges->len)
        return NULL;
    const RtEdgeSpec *e = &g_array_index(g->edges, RtEdgeSpec, msg->channel.edge);
    bool to_consumer = msg->type != RT_MSG_CREDIT && msg->type != RT_MSG_RESUME;
    uint32_t op = to_consumer ? e->to : e->from;
    uint32_t index = to_consumer ? msg->channel.to : msg->channel.from;
    const RtOperatorSpec *spec = g->operators->pdata[op];
    if (index >= spec->parallelism)
        return NULL;
    return tm->subtasks[rt_job_graph_subtask_base(g, op) + index];
}

static void dispatch_data(RtTaskManager *tm, const void *data, size_t len) {
    RtMsg msg;
    if (!rt_msg_decode(data, len, &msg, NULL) || !rt_msg_type_is_data(msg.type))
        return; /* malformed: dropped (the sender is our own code; tests cover decoding) */
    if (msg.attempt > tm->attempt) {
        if (tm->stash.length < RT_TM_MAX_STASH)
            g_queue_push_tail(&tm->stash, g_bytes_new(data, len));
    } else if (msg.attempt == tm->attempt && tm->subtasks != NULL) {
        RtSubtask *st = route(tm, &msg);
        if (st != NULL && (msg.type == RT_MSG_CREDIT || msg.type == RT_MSG_RESUME))
            rt_subtask_on_output_control(st, &msg);
        else if (st != NULL)
            rt_subtask_on_input(st, &msg);
    }
    rt_msg_clear(&msg);
}

/* ------------------------------------------------------------------ deployment */

static void teardown(RtTaskManager *tm) {
    if (tm->subtasks == NULL)
        return;
    rt_state_backend_clear(tm->backend); /* no snapshot/restore callback runs after this */
    for (uint32_t i = 0; i < tm->n_subtasks; i++)
        rt_subtask_free(tm->subtasks[i]);
    g_free(tm->subtasks);
    g_free(tm->location);
    tm->subtasks = NULL;
    tm->location = NULL;
    tm->n_local = tm->n_running = 0;
    tm->deployed_sent = false;
}

static void replay_stash(RtTaskManager *tm) {
    GQueue old = tm->stash;
    g_queue_init(&tm->stash);
    for (GBytes *b; (b = g_queue_pop_head(&old)) != NULL;) {
        gsize len = 0;
        const void *data = g_bytes_get_data(b, &len);
        dispatch_data(tm, data, len); /* older: dropped; newer: stashed again */
        g_bytes_unref(b);
    }
}

/* Validates a DEPLOY against the job graph; false + reason if unusable. */
static bool deploy_valid(const RtTaskManager *tm, const RtMsg *msg, const char **why) {
    const RtJobGraph *g = tm->spec->graph;
    bool *seen = g_new0(bool, tm->n_subtasks);
    bool ok = msg->n_locations == tm->n_subtasks;
    *why = "deploy does not locate every subtask";
    for (uint32_t i = 0; ok && i < msg->n_locations; i++) {
        RtSubtaskId s = msg->locations[i].subtask;
        ok = s.op < g->operators->len &&
             s.index < ((RtOperatorSpec *)g->operators->pdata[s.op])->parallelism;
        uint32_t gi = ok ? rt_job_graph_subtask_base(g, s.op) + s.index : 0;
        ok = ok && !seen[gi];
        if (ok)
            seen[gi] = true;
    }
    for (uint32_t i = 0; ok && i < msg->n_tasks; i++) {
        RtSubtaskId s = msg->tasks[i].subtask;
        *why = "deploy names a subtask that is not in the job";
        ok = s.op < g->operators->len &&
             s.index < ((RtOperatorSpec *)g->operators->pdata[s.op])->parallelism;
    }
    g_free(seen);
    return ok;
}

static void deploy_task(RtTaskManager *tm, const RtDeployTask *t) {
    const RtJobGraph *g = tm->spec->graph;
    uint32_t gi = rt_job_graph_subtask_base(g, t->subtask.op) + t->subtask.index;
    if (tm->subtasks[gi] != NULL)
        return; /* listed twice */
    RtStateHandle *handle = NULL;
    GError *err = NULL;
    if (t->restore_checkpoint_id != 0 &&
        !rt_state_handle_decode(t->handle, t->handle_len, &handle, &err)) {
        tm->subtasks[gi] = rt_subtask_new(tm, t->subtask, t->restore_checkpoint_id, NULL);
        tm->n_local++;
        rt_tm_fail(tm, t->subtask, err->message);
        g_error_free(err);
        return;
    }
    tm->subtasks[gi] = rt_subtask_new(tm, t->subtask, t->restore_checkpoint_id, handle);
    tm->n_local++;
}

static void deploy(RtTaskManager *tm, RtChannel *from, const RtMsg *msg) {
    if (msg->attempt <= tm->attempt)
        return; /* stale or duplicate */
    teardown(tm);
    tm->attempt = msg->attempt;
    tm->deployer = from;
    tm->failed = false;
    tm->finished = false;
    const char *why = NULL;
    if (!deploy_valid(tm, msg, &why)) {
        RtMsg m;
        memset(&m, 0, sizeof m);
        m.type = RT_MSG_TASK_FAILED;
        m.attempt = tm->attempt;
        m.text = (char *)why;
        rt_tm_send_control(tm, &m);
        return;
    }
    const RtJobGraph *g = tm->spec->graph;
    tm->location = g_new0(RtProcessId, tm->n_subtasks);
    tm->subtasks = g_new0(RtSubtask *, tm->n_subtasks);
    for (uint32_t i = 0; i < msg->n_locations; i++) {
        RtSubtaskId s = msg->locations[i].subtask;
        tm->location[rt_job_graph_subtask_base(g, s.op) + s.index] = msg->locations[i].process;
    }
    for (uint32_t i = 0; i < msg->n_tasks; i++)
        deploy_task(tm, &msg->tasks[i]);
    maybe_send_deployed(tm); /* at once when no subtask runs here */
    /* Start in global order: restores are asynchronous, so order is only a tie-break. */
    for (uint32_t i = 0; i < tm->n_subtasks; i++)
        if (tm->subtasks[i] != NULL && tm->subtasks[i]->state == RT_SUBTASK_RESTORING)
            rt_subtask_start(tm->subtasks[i]);
    replay_stash(tm);
}

/* ------------------------------------------------------------------ control plane */

static void handle_control(RtTaskManager *tm, RtChannel *ch, const RtMsg *msg) {
    if (msg->type == RT_MSG_DEPLOY) {
        deploy(tm, ch, msg);
        return;
    }
    if (ch != tm->deployer || msg->attempt != tm->attempt || tm->subtasks == NULL)
        return; /* another JM, an older attempt, or nothing deployed */
    const RtJobGraph *g = tm->spec->graph;
    switch (msg->type) {
    case RT_MSG_TRIGGER: {
        RtSubtaskId s = msg->subtask;
        if (s.op < g->operators->len &&
            s.index < ((RtOperatorSpec *)g->operators->pdata[s.op])->parallelism) {
            RtSubtask *st = tm->subtasks[rt_job_graph_subtask_base(g, s.op) + s.index];
            if (st != NULL)
                rt_subtask_on_trigger(st, msg->checkpoint_id, msg->timestamp_ns);
        }
        break;
    }
    case RT_MSG_NOTIFY_COMPLETE:
    case RT_MSG_NOTIFY_ABORT:
        for (uint32_t i = 0; i < tm->n_subtasks; i++) {
            RtSubtask *st = tm->subtasks[i];
            if (st == NULL)
                continue;
            if (msg->type == RT_MSG_NOTIFY_COMPLETE)
                rt_subtask_on_notify_complete(st, msg->checkpoint_id);
            else
                rt_subtask_on_notify_abort(st, msg->checkpoint_id);
        }
        break;
    case RT_MSG_CANCEL: teardown(tm); break;
    case RT_MSG_FINISH:
        teardown(tm);
        tm->finished = true;
        break;
    default: break; /* TM->JM types are not for us */
    }
}

static void on_control_message(RtChannel *ch, const void *data, size_t len, void *ud) {
    Conn *c = ud;
    RtMsg msg;
    if (!rt_msg_decode(data, len, &msg, NULL))
        return;
    handle_control(c->tm, ch, &msg);
    rt_msg_clear(&msg);
}

static void jm_connect(RtTaskManager *tm, uint32_t i);

static void jm_retry_cb(void *ud) {
    Conn *c = ud;
    c->tm->jm_retry[c->jm_index] = 0;
    jm_connect(c->tm, c->jm_index);
}

static void on_control_broken(RtChannel *ch, void *ud) {
    Conn *c = ud;
    RtTaskManager *tm = c->tm;
    if (ch == tm->deployer) {
        teardown(tm); /* the JobMaster is gone: its tasks fail */
        tm->deployer = NULL;
    }
    rt_channel_free(ch);
    c->ch = NULL;
    if (c->kind == CONN_JM) {
        tm->jm[c->jm_index] = NULL;
        tm->jm_retry[c->jm_index] =
            rt_env_timer_start(tm->env, tm->cfg.reconnect_ns, jm_retry_cb, c);
    } else {
        g_ptr_array_remove_fast(tm->control_in, c);
        g_free(c);
    }
}

static void send_register(RtTaskManager *tm, RtChannel *ch) {
    RtMsg m;
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_REGISTER;
    m.attempt = tm->attempt;
    m.process = tm->env->process_id;
    m.slots = tm->spec->cluster->slots_per_worker;
    m.running_attempt = tm->attempt;
    send_on(ch, &m);
}

static void jm_connect(RtTaskManager *tm, uint32_t i) {
    Conn *c = tm->jm_ctx[i];
    assert(tm->jm[i] == NULL);
    tm->jm[i] = rt_env_connect(tm->env, tm->spec->cluster->jobmanagers[i], RT_PORT_JOBMANAGER,
                               &control_handler, c, NULL);
    c->ch = tm->jm[i];
    if (tm->jm[i] == NULL) {
        tm->jm_retry[i] = rt_env_timer_start(tm->env, tm->cfg.reconnect_ns, jm_retry_cb, c);
        return;
    }
    send_register(tm, tm->jm[i]);
}

static void on_control_accept(RtChannel *ch, RtProcessId peer, void *ud) {
    RtTaskManager *tm = ud;
    Conn *c = conn_new(tm, CONN_CONTROL_IN, peer);
    c->ch = ch;
    g_ptr_array_add(tm->control_in, c);
    rt_channel_set_handler(ch, &control_handler, c);
    send_register(tm, ch);
}

/* ------------------------------------------------------------------ lifecycle */

/* Barrier handling from execution.checkpointing.mode, .unaligned(.enabled) and
 * .aligned-checkpoint-timeout (deprecated .alignment-timeout), as Flink's
 * InputProcessorUtil and CheckpointOptions.forConfig (flink-zk.md 1.1): the timeout only
 * matters with unaligned checkpoints enabled, which AT_LEAST_ONCE forbids. */
static bool read_unaligned(const RtConfig *cfg, bool at_least_once, RtTmConfig *out,
                           GError **error) {
    bool unaligned = false, forced = false;
    uint64_t timeout = 0;
    /* execution.checkpointing.unaligned.forced (CheckpointingOptions.FORCE_UNALIGNED)
     * only lifts Flink's refusals for iterations and custom partitioners
     * (StreamingJobGraphGenerator.preValidate, StreamGraphGenerator), which ckptsim's
     * jobs never have: read and checked, no effect. Forward and broadcast edges stay
     * forced aligned even then (StreamPartitioner.isSupportsUnalignedCheckpoint). */
    if (!rt_config_key_bool(cfg, RT_KEY_UNALIGNED_FORCED, &forced, error) ||
        !rt_config_key_bool(cfg, RT_KEY_UNALIGNED_ENABLED, &unaligned, error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_ALIGNED_CHECKPOINT_TIMEOUT, &timeout, error))
        return false;
    if (at_least_once) {
        if (unaligned) {
            const char *key = NULL;
            rt_config_lookup_from(cfg, RT_KEY_UNALIGNED_ENABLED, &key);
            g_set_error(error, RT_CONFIG_ERROR, RT_CONFIG_ERROR_BAD_VALUE,
                        "%s: cannot use unaligned checkpoints with AT_LEAST_ONCE "
                        "checkpointing mode (execution.checkpointing.mode)",
                        key);
            return false;
        }
        out->mode = RT_BARRIER_MODE_AT_LEAST_ONCE;
        out->barrier_kind = RT_BARRIER_AT_LEAST_ONCE;
    } else if (!unaligned) {
        out->mode = RT_BARRIER_MODE_ALIGNED;
        out->barrier_kind = RT_BARRIER_ALIGNED;
    } else {
        out->mode = RT_BARRIER_MODE_UNALIGNED;
        out->barrier_kind = timeout == 0 ? RT_BARRIER_UNALIGNED : RT_BARRIER_ALIGNED;
        out->alignment_timeout_ns = timeout;
    }
    return true;
}

static bool read_config(const RtConfig *cfg, RtTmConfig *out, GError **error) {
    unsigned mode = 0; /* EXACTLY_ONCE|AT_LEAST_ONCE; bounds are the registry's */
    uint64_t bpc = 0, floating = 0, segment = 0;
    if (!rt_config_key_choice(cfg, RT_KEY_CHECKPOINTING_MODE, &mode, error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_BUFFER_TIMEOUT, &out->buffer_timeout_ns,
                                   error) ||
        !rt_config_key_u64(cfg, RT_KEY_BUFFERS_PER_CHANNEL, &bpc, error) ||
        !rt_config_key_u64(cfg, RT_KEY_FLOATING_BUFFERS, &floating, error) ||
        !rt_config_key_size_bytes(cfg, RT_KEY_SEGMENT_SIZE, &segment, error))
        return false;
    if (!read_unaligned(cfg, mode == 1, out, error))
        return false;
    out->buffers_per_channel = (uint32_t)bpc;
    out->floating_per_gate = (uint32_t)floating;
    uint64_t batch = segment / RT_PROTOCOL_RECORD_BYTES;
    out->batch = (uint32_t)CLAMP(batch, 1u, RT_OUTPUT_MAX_BATCH);
    out->max_queued = 2;
    out->reconnect_ns = 200000000u;
    out->record_cost_ns = RT_TM_RECORD_COST_NS;
    return true;
}

RtTaskManager *rt_taskmanager_new(RtEnv *env, const RtJobSpec *spec, GError **error) {
    assert(env != NULL && spec != NULL && spec->graph != NULL && spec->config != NULL &&
           spec->cluster != NULL && spec->cluster->n_jobmanagers >= 1);
    RtTmConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    if (!read_config(spec->config, &cfg, error) || !rt_job_graph_validate(spec->graph, error))
        return NULL;
    RtStateBackend *backend = rt_state_backend_new(NULL, env, spec->config, error);
    if (backend == NULL)
        return NULL;
    RtTaskManager *tm = g_new0(RtTaskManager, 1);
    tm->env = env;
    tm->spec = spec;
    tm->cfg = cfg;
    tm->backend = backend;
    tm->n_subtasks = rt_job_graph_n_subtasks(spec->graph);
    tm->data_out = g_hash_table_new(g_direct_hash, g_direct_equal);
    tm->data_in = g_ptr_array_new();
    tm->control_in = g_ptr_array_new();
    tm->scratch = g_byte_array_new();
    g_queue_init(&tm->local);
    g_queue_init(&tm->stash);
    if (!rt_env_listen(env, RT_PORT_DATA, on_data_accept, tm, error) ||
        !rt_env_listen(env, RT_PORT_TASKMANAGER, on_control_accept, tm, error)) {
        rt_taskmanager_free(tm);
        return NULL;
    }
    tm->n_jm = spec->cluster->n_jobmanagers;
    tm->jm = g_new0(RtChannel *, tm->n_jm);
    tm->jm_retry = g_new0(RtTimerId, tm->n_jm);
    tm->jm_ctx = g_new0(void *, tm->n_jm);
    for (uint32_t i = 0; i < tm->n_jm; i++) {
        Conn *c = conn_new(tm, CONN_JM, spec->cluster->jobmanagers[i]);
        c->jm_index = i;
        tm->jm_ctx[i] = c;
        jm_connect(tm, i);
    }
    return tm;
}

static void free_conn_array(GPtrArray *a) {
    for (guint i = 0; i < a->len; i++) {
        Conn *c = a->pdata[i];
        rt_channel_free(c->ch);
        g_free(c);
    }
    g_ptr_array_free(a, TRUE);
}

void rt_taskmanager_free(RtTaskManager *tm) {
    if (tm == NULL)
        return;
    teardown(tm);
    rt_env_unlisten(tm->env, RT_PORT_DATA);
    rt_env_unlisten(tm->env, RT_PORT_TASKMANAGER);
    for (uint32_t i = 0; i < tm->n_jm; i++) {
        rt_env_timer_cancel(tm->env, tm->jm_retry[i]);
        rt_channel_free(tm->jm[i]);
        g_free(tm->jm_ctx[i]);
    }
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, tm->data_out);
    while (g_hash_table_iter_next(&it, &k, &v)) { /* freeing only: order is irrelevant */
        rt_channel_free(((Conn *)v)->ch);
        g_free(v);
    }
    g_hash_table_unref(tm->data_out);
    free_conn_array(tm->data_in);
    free_conn_array(tm->control_in);
    rt_env_timer_cancel(tm->env, tm->local_timer);
    g_queue_clear_full(&tm->local, (GDestroyNotify)g_bytes_unref);
    g_queue_clear_full(&tm->stash, (GDestroyNotify)g_bytes_unref);
    rt_state_backend_free(tm->backend);
    g_byte_array_unref(tm->scratch);
    g_free(tm->jm);
    g_free(tm->jm_retry);
    g_free(tm->jm_ctx);
    g_free(tm);
}

void rt_taskmanager_gauges(const RtTaskManager *tm, RtTmGauges *out) {
    memset(out, 0, sizeof *out);
    if (tm == NULL || tm->subtasks == NULL)
        return;
    for (uint32_t i = 0; i < tm->n_subtasks; i++) {
        const RtSubtask *st = tm->subtasks[i];
        if (st == NULL)
            continue;
        if (st->out != NULL)
            rt_output_gauges(st->out, &out->queued_buffers, &out->credits);
        out->input_queued += st->input.length;
    }
}
