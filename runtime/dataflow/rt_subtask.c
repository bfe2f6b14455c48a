/* rt_subtask.c - one subtask inside a task manager: restores its state, processes its
 * input queue in bounded steps on env timers, runs its operator, routes the barriers
 * through the barrier handler and takes snapshots in Flink's order (forward the barrier,
 * synchronous snapshot, asynchronous persist, then acknowledge). The snapshots and the
 * channel-state capture are in rt_subtask_snapshot.c. */
#include <assert.h>
#include <string.h>

#include "runtime/dataflow/rt_channel_state.h"
#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/dataflow/rt_subtask_internal.h"
#include "runtime/dataflow/rt_tm_internal.h"
#include "runtime/env/rt_bugs.h"
#include "runtime/state/rt_key_groups.h"

static void step_cb(void *ud);

void rt_subtask_observe(RtSubtask *st, RtEventKind kind, uint64_t ckpt, uint64_t a,
                        const char *detail) {
    RtEvent ev = {.kind = kind, .subtask = st->id, .attempt = st->attempt,
                  .checkpoint_id = ckpt, .a = a, .detail = detail};
    rt_env_observe(st->env, &ev);
}

void rt_subtask_send_control(RtSubtask *st, RtMsgType type, uint64_t ckpt, RtDeclineReason reason,
                             const char *text) {
    RtMsg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.attempt = st->attempt;
    m.subtask = st->id;
    m.checkpoint_id = ckpt;
    m.decline_reason = reason;
    m.text = (char *)text;
    rt_tm_send_control(st->tm, &m);
}

/* Schedules the next step delay_ns from now, but not before the virtual CPU is free. */
static void schedule_step(RtSubtask *st, uint64_t delay_ns) {
    if (st->step_timer != 0 || st->state != RT_SUBTASK_RUNNING)
        return;
    uint64_t now = rt_env_now_ns(st->env);
    if (st->busy_until_ns > now + delay_ns)
        delay_ns = st->busy_until_ns - now;
    st->step_timer = rt_env_timer_start(st->env, delay_ns, step_cb, st);
}

/* Charges n records of virtual CPU time. */
static void charge(RtSubtask *st, uint64_t n) {
    uint64_t now = rt_env_now_ns(st->env);
    st->busy_until_ns = MAX(st->busy_until_ns, now) + n * st->tm->cfg.record_cost_ns;
}

static void flush_cb(void *ud) {
    RtSubtask *st = ud;
    st->flush_timer = 0;
    rt_output_flush(st->out);
}

static void arm_flush(RtSubtask *st) {
    if (st->flush_timer == 0 && st->tm->cfg.buffer_timeout_ns > 0 &&
        rt_output_has_partial(st->out))
        st->flush_timer = rt_env_timer_start(st->env, st->tm->cfg.buffer_timeout_ns, flush_cb, st);
}

static void emit_cb(void *ud, const RtRecord *rec) {
    RtSubtask *st = ud;
    st->records_out++;
    rt_output_emit(st->out, rec);
}

void rt_subtask_fail(RtSubtask *st, const char *reason) {
    if (st->state == RT_SUBTASK_FAILED)
        return;
    st->state = RT_SUBTASK_FAILED;
    rt_tm_fail(st->tm, st->id, reason);
}

static void check_done(RtSubtask *st) {
    if (st->done_sent || st->state != RT_SUBTASK_RUNNING)
        return;
    bool input_done = st->handler == NULL ? true : st->n_ended == st->n_inputs;
    if (!input_done || (st->out != NULL && !st->eop_sent) || !st->op->ops->is_done(st->op))
        return;
    st->done_sent = true;
    rt_subtask_send_control(st, RT_MSG_TASK_DONE, 0, 0, NULL);
}

static void send_eop(RtSubtask *st) {
    if (st->eop_sent)
        return;
    if (st->out != NULL) {
        rt_output_flush(st->out);
        rt_output_broadcast_event(st->out, RT_MSG_END_OF_PARTITION, 0, 0, 0);
    }
    st->eop_sent = true;
    check_done(st);
}

/* ------------------------------------------------------------------ barrier handler */

static void cb_trigger(void *ud, uint64_t id, uint64_t ts, RtBarrierKind kind) {
    rt_subtask_checkpoint(ud, id, ts, kind);
}

static void cb_abort(void *ud, uint64_t id, RtDeclineReason reason) {
    RtSubtask *st = ud;
    rt_subtask_drop_capture(st, id);
    if (reason != RT_DECLINE_ABORTED)
        rt_subtask_send_control(st, RT_MSG_DECLINE, id, reason, rt_decline_reason_name(reason));
    if (st->out != NULL)
        rt_output_broadcast_event(st->out, RT_MSG_CANCEL_MARKER, id, 0, 0);
}

static void send_to_producer(RtSubtask *st, uint32_t ch, RtMsgType type, uint32_t count) {
    RtMsg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.attempt = st->attempt;
    m.channel = st->inputs[ch].key;
    m.count = count;
    GByteArray *b = st->tm->scratch;
    g_byte_array_set_size(b, 0);
    rt_msg_encode(&m, b);
    rt_tm_send_data(st->tm, st->inputs[ch].peer, b->data, b->len);
}

static void cb_resume(void *ud, uint32_t ch) {
    send_to_producer(ud, ch, RT_MSG_RESUME, 0);
}

static void cb_align_start(void *ud, uint64_t id) {
    rt_subtask_observe(ud, RT_EV_ALIGN_START, id, 0, NULL);
}

static void cb_align_end(void *ud, uint64_t id, uint64_t duration_ns) {
    rt_subtask_observe(ud, RT_EV_ALIGN_END, id, duration_ns, NULL);
}

static void align_timer_cb(void *ud);

static void cb_arm_timer(void *ud, uint64_t id, uint64_t deadline_ns) {
    (void)id;
    RtSubtask *st = ud;
    rt_env_timer_cancel(st->env, st->align_timer);
    uint64_t now = rt_env_now_ns(st->env);
    st->align_timer = rt_env_timer_start(st->env, deadline_ns > now ? deadline_ns - now : 0,
                                         align_timer_cb, st);
}

static const RtBarrierCallbacks barrier_cbs = {
    .trigger = cb_trigger, .abort = cb_abort, .resume = cb_resume,
    .align_start = cb_align_start, .align_end = cb_align_end, .arm_timer = cb_arm_timer,
};

static void deliver_barrier(RtSubtask *st, uint32_t ch, uint64_t id, uint64_t ts,
                            RtBarrierKind kind) {
    rt_subtask_observe(st, RT_EV_BARRIER_RECEIVED, id, ch, NULL);
    rt_barrier_handler_on_barrier(st->handler, ch, id, ts, kind, rt_env_now_ns(st->env));
}

static void item_free(RtInItem *it);

/* After the switch to unaligned, barriers of that checkpoint still queued behind data
 * jump ahead (Flink's convertToPriorityEvent): the handler learns of them now. */
static void run_promotions(RtSubtask *st) {
    uint64_t id = st->promote_id;
    st->promote_id = 0;
    if (id == 0 || !rt_barrier_handler_unaligned_pending(st->handler, id))
        return;
    GList *next = NULL;
    for (GList *l = st->input.head; l != NULL && st->state == RT_SUBTASK_RUNNING; l = next) {
        next = l->next;
        RtInItem *it = l->data;
        if (it->type != RT_MSG_BARRIER || it->checkpoint_id != id)
            continue;
        g_queue_delete_link(&st->input, l);
        deliver_barrier(st, it->channel, it->checkpoint_id, it->timestamp_ns, it->kind);
        item_free(it);
        if (!rt_barrier_handler_unaligned_pending(st->handler, id))
            break; /* every barrier is in: the queue is not ours to walk any more */
    }
}

static void align_timer_cb(void *ud) {
    RtSubtask *st = ud;
    st->align_timer = 0;
    if (st->state != RT_SUBTASK_RUNNING)
        return;
    if (rt_bug_on(st->env, RT_BUG_ALIGNMENT_TIMEOUT_NEVER_SWITCHES))
        return; /* planted: the timer was armed, but its callback forgot the switch */
    rt_barrier_handler_on_timer(st->handler, rt_env_now_ns(st->env));
    run_promotions(st);
}

/* ------------------------------------------------------------------ processing */

static void handle_event(RtSubtask *st, const RtInItem *it) {
    uint64_t now = rt_env_now_ns(st->env);
    switch (it->type) {
    case RT_MSG_BARRIER:
        deliver_barrier(st, it->channel, it->checkpoint_id, it->timestamp_ns, it->kind);
        run_promotions(st);
        break;
    case RT_MSG_CANCEL_MARKER:
        rt_barrier_handler_on_cancel_marker(st->handler, it->channel, it->checkpoint_id, now);
        break;
    case RT_MSG_END_OF_PARTITION:
        if (st->inputs[it->channel].ended)
            break;
        st->inputs[it->channel].ended = true;
        if (++st->n_ended == st->n_inputs) {
            if (st->op->ops->end_of_input != NULL)
                st->op->ops->end_of_input(st->op);
            send_eop(st);
        }
        break;
    default: assert(!"not an input event");
    }
}

static void item_free(RtInItem *it) {
    g_free(it->recs);
    g_free(it);
}

static void input_step(RtSubtask *st) {
    uint32_t records = 0;
    for (uint32_t items = 0; items < RT_TM_STEP_MAX_ITEMS && records < RT_TM_STEP_MAX_RECORDS &&
                             st->state == RT_SUBTASK_RUNNING;
         items++) {
        RtInItem *it = g_queue_peek_head(&st->input);
        if (it == NULL)
            break;
        if (it->type == RT_MSG_BUFFER && st->out != NULL && !rt_output_available(st->out))
            break; /* backpressure: a credit or resume wakes us */
        g_queue_pop_head(&st->input);
        if (it->type == RT_MSG_BUFFER) {
            for (uint32_t i = 0; i < it->n; i++)
                st->op->ops->process(st->op, &it->recs[i]);
            records += it->n;
            st->records_in += it->n;
            charge(st, it->n);
            if (!it->restored)
                send_to_producer(st, it->channel, RT_MSG_CREDIT, 1);
        } else {
            handle_event(st, it);
        }
        item_free(it);
    }
    RtInItem *head = g_queue_peek_head(&st->input);
    if (head != NULL &&
        (head->type != RT_MSG_BUFFER || st->out == NULL || rt_output_available(st->out)))
        schedule_step(st, 0);
}

static void source_step(RtSubtask *st) {
    uint32_t budget = RT_TM_STEP_MAX_RECORDS;
    uint64_t next_due = 0;
    while (budget > 0 && rt_output_available(st->out)) {
        uint32_t n = st->op->ops->produce(st->op, MIN(budget, st->tm->cfg.batch), &next_due);
        budget -= n;
        charge(st, n);
        if (n == 0)
            break;
    }
    if (next_due == UINT64_MAX) {
        send_eop(st);
        return;
    }
    if (!rt_output_available(st->out))
        return; /* backpressure: a credit wakes us */
    uint64_t now = rt_env_now_ns(st->env);
    schedule_step(st, next_due > now ? next_due - now : 0);
}

static void step_cb(void *ud) {
    RtSubtask *st = ud;
    st->step_timer = 0;
    if (st->state != RT_SUBTASK_RUNNING)
        return;
    if (st->spec->kind == RT_OP_SOURCE)
        source_step(st);
    else
        input_step(st);
    if (st->out != NULL) {
        if (st->tm->cfg.buffer_timeout_ns == 0)
            rt_output_flush(st->out);
        else
            arm_flush(st);
    }
}

/* ------------------------------------------------------------------ public */

static uint32_t input_channel(const RtSubtask *st, RtChannelKey key) {
    if (key.edge >= st->tm->spec->graph->edges->len || st->edge_base[key.edge] == UINT32_MAX)
        return UINT32_MAX;
    const RtEdgeSpec *e = &g_array_index(st->tm->spec->graph->edges, RtEdgeSpec, key.edge);
    uint32_t ch = st->edge_base[key.edge] + (e->partitioning == RT_PART_FORWARD ? 0 : key.from);
    if (ch >= st->n_inputs || st->inputs[ch].key.from != key.from)
        return UINT32_MAX;
    return ch;
}

/* An unaligned barrier, or any barrier of a checkpoint already collected unaligned,
 * is handled on arrival, ahead of queued data (Flink's priority events). */
static bool barrier_priority(const RtSubtask *st, const RtInItem *it) {
    if (st->state != RT_SUBTASK_RUNNING || st->tm->cfg.mode != RT_BARRIER_MODE_UNALIGNED)
        return false;
    return it->kind == RT_BARRIER_UNALIGNED ||
           rt_barrier_handler_unaligned_pending(st->handler, it->checkpoint_id);
}

void rt_subtask_on_input(RtSubtask *st, const RtMsg *msg) {
    uint32_t ch = input_channel(st, msg->channel);
    if (ch == UINT32_MAX || st->state == RT_SUBTASK_FAILED)
        return; /* not ours (a malformed or misrouted message) */
    RtInItem *it = g_new0(RtInItem, 1);
    it->type = msg->type;
    it->channel = ch;
    it->checkpoint_id = msg->checkpoint_id;
    it->timestamp_ns = msg->timestamp_ns;
    it->kind = msg->barrier_kind;
    if (msg->type == RT_MSG_BUFFER) {
        it->n = msg->n_records;
        it->recs = g_new(RtRecord, it->n > 0 ? it->n : 1);
        for (uint32_t i = 0; i < it->n; i++)
            rt_msg_record_at(msg, i, &it->recs[i]);
    }
    RtInChannel *in = &st->inputs[ch];
    it->seq = ++in->seq;
    if (it->type == RT_MSG_BARRIER && it->checkpoint_id > in->barrier_id) {
        in->barrier_id = it->checkpoint_id;
        in->barrier_seq = it->seq;
    }
    rt_subtask_capture_arrival(st, ch, it);
    if (it->type == RT_MSG_BARRIER && barrier_priority(st, it)) {
        deliver_barrier(st, ch, it->checkpoint_id, it->timestamp_ns, it->kind);
        run_promotions(st);
        item_free(it);
        return;
    }
    g_queue_push_tail(&st->input, it);
    if (it->type == RT_MSG_BARRIER && st->state == RT_SUBTASK_RUNNING &&
        st->tm->cfg.alignment_timeout_ns > 0) {
        rt_barrier_handler_on_announcement(st->handler, ch, it->checkpoint_id,
                                           it->timestamp_ns, it->kind, rt_env_now_ns(st->env));
        run_promotions(st);
    }
    schedule_step(st, 0);
}

void rt_subtask_on_output_control(RtSubtask *st, const RtMsg *msg) {
    if (st->out == NULL || st->state == RT_SUBTASK_FAILED)
        return;
    bool was_available = rt_output_available(st->out);
    if (msg->type == RT_MSG_CREDIT)
        rt_output_on_credit(st->out, msg->channel, msg->count);
    else
        rt_output_on_resume(st->out, msg->channel);
    rt_subtask_check_output_waiting(st);
    if (!was_available && rt_output_available(st->out) &&
        (st->spec->kind == RT_OP_SOURCE || !g_queue_is_empty(&st->input)))
        schedule_step(st, 0);
}

void rt_subtask_on_trigger(RtSubtask *st, uint64_t id, uint64_t timestamp_ns) {
    if (st->spec->kind != RT_OP_SOURCE)
        return;
    if (st->state != RT_SUBTASK_RUNNING) {
        rt_subtask_send_control(st, RT_MSG_DECLINE, id, RT_DECLINE_NOT_READY, "task not running");
        return;
    }
    rt_subtask_checkpoint(st, id, timestamp_ns, st->tm->cfg.barrier_kind);
}

void rt_subtask_on_notify_complete(RtSubtask *st, uint64_t id) {
    if (st->state != RT_SUBTASK_RUNNING)
        return;
    if (st->op->ops->notify_complete != NULL)
        st->op->ops->notify_complete(st->op, id);
    check_done(st);
}

void rt_subtask_on_notify_abort(RtSubtask *st, uint64_t id) {
    st->aborted[st->n_aborted++ % RT_TM_ABORTED_IDS] = id;
    if (st->handler != NULL && st->state == RT_SUBTASK_RUNNING) {
        /* SubtaskCheckpointCoordinatorImpl.notifyCheckpointAborted: the channel-state
         * writer of id is aborted; the barrier handler keeps its alignment (Flink's
         * SingleCheckpointBarrierHandler is not told). */
        rt_subtask_drop_capture(st, id);
        rt_barrier_handler_on_abort_notification(st->handler, id, rt_env_now_ns(st->env));
    }
}

/* ------------------------------------------------------------------ lifecycle */

static void op_progress(void *ud, const GError *error) {
    RtSubtask *st = ud;
    if (error != NULL)
        rt_subtask_fail(st, error->message);
    else
        check_done(st);
}

static void build_inputs(RtSubtask *st) {
    const RtJobGraph *g = st->tm->spec->graph;
    st->edge_base = g_new(uint32_t, g->edges->len > 0 ? g->edges->len : 1);
    st->n_inputs = rt_tm_input_channels_of(g, st->id.op);
    st->inputs = g_new0(RtInChannel, st->n_inputs > 0 ? st->n_inputs : 1);
    uint32_t ch = 0;
    for (guint e = 0; e < g->edges->len; e++) {
        const RtEdgeSpec *es = &g_array_index(g->edges, RtEdgeSpec, e);
        st->edge_base[e] = UINT32_MAX;
        if (es->to != st->id.op)
            continue;
        st->edge_base[e] = ch;
        const RtOperatorSpec *from = g->operators->pdata[es->from];
        bool fwd = es->partitioning == RT_PART_FORWARD;
        uint32_t base = rt_job_graph_subtask_base(g, es->from);
        for (uint32_t i = 0; i < (fwd ? 1 : from->parallelism); i++, ch++) {
            uint32_t f = fwd ? st->id.index : i;
            st->inputs[ch].key = (RtChannelKey){.edge = (uint16_t)e, .from = (uint16_t)f,
                                                .to = st->id.index};
            st->inputs[ch].peer = st->tm->location[base + f];
        }
    }
    assert(ch == st->n_inputs);
}

static void build_output(RtSubtask *st) {
    const RtJobGraph *g = st->tm->spec->graph;
    uint32_t n = 0;
    for (guint e = 0; e < g->edges->len; e++)
        n += g_array_index(g->edges, RtEdgeSpec, e).from == st->id.op;
    if (st->spec->kind == RT_OP_SINK)
        return;
    RtOutEdgeSpec *specs = g_new0(RtOutEdgeSpec, n > 0 ? n : 1);
    uint32_t k = 0;
    for (guint e = 0; e < g->edges->len; e++) {
        const RtEdgeSpec *es = &g_array_index(g->edges, RtEdgeSpec, e);
        if (es->from != st->id.op)
            continue;
        const RtOperatorSpec *to = g->operators->pdata[es->to];
        specs[k++] = (RtOutEdgeSpec){
            .graph_edge = e, .partitioning = es->partitioning, .n_targets = to->parallelism,
            .max_parallelism = rt_job_graph_max_parallelism(g, es->to),
            .peers = st->tm->location + rt_job_graph_subtask_base(g, es->to),
            .initial_credits = rt_tm_initial_credits(st->tm, es->to),
            .force_aligned = st->tm->cfg.mode == RT_BARRIER_MODE_UNALIGNED &&
                             !rt_job_graph_edge_unaligned_ok(g, e),
            .bug_overtake = rt_bug_on(st->env, RT_BUG_UNALIGNED_ON_FORWARD)};
    }
    st->out = rt_output_new(st->attempt, st->id.index, specs, n, st->tm->cfg.batch,
                            st->tm->cfg.max_queued, rt_tm_send_data, st->tm);
    st->out->bugs = st->env->bugs;
    g_free(specs);
}

RtSubtask *rt_subtask_new(RtTaskManager *tm, RtSubtaskId id, uint64_t restore_checkpoint_id,
                          RtStateHandle *restore_handle) {
    const RtJobGraph *g = tm->spec->graph;
    assert(id.op < g->operators->len);
    RtSubtask *st = g_new0(RtSubtask, 1);
    st->tm = tm;
    st->env = tm->env;
    st->id = id;
    st->attempt = tm->attempt;
    st->spec = g->operators->pdata[id.op];
    assert(id.index < st->spec->parallelism);
    st->state = RT_SUBTASK_RESTORING;
    g_queue_init(&st->input);
    st->snapshots = g_ptr_array_new_with_free_func(rt_subtask_snap_free);
    st->restore_checkpoint_id = restore_checkpoint_id;
    st->restore_handle = restore_handle;
    if (rt_operator_kind_is_keyed(st->spec->kind)) {
        uint32_t maxp = rt_job_graph_max_parallelism(g, id.op);
        st->keyed = rt_keyed_state_store_new(
            maxp, rt_key_group_range_for_operator(maxp, st->spec->parallelism, id.index));
        rt_keyed_state_store_set_bugs(st->keyed, st->env->bugs);
    }
    build_inputs(st);
    build_output(st);
    if (st->n_inputs > 0) {
        st->handler = rt_barrier_handler_new(
            tm->cfg.mode, st->n_inputs, &barrier_cbs, st,
            rt_bug_on(tm->env, RT_BUG_SNAPSHOT_ON_FIRST_BARRIER));
        rt_barrier_handler_set_alignment_timeout(st->handler, tm->cfg.alignment_timeout_ns);
        rt_barrier_handler_set_bug_switch_forgets(
            st->handler, rt_bug_on(st->env, RT_BUG_SWITCH_FORGETS_BLOCKED));
    }
    RtOperatorContext ctx = {.env = tm->env, .job = tm->spec, .spec = st->spec, .id = id,
                             .attempt = st->attempt, .keyed = st->keyed,
                             .emit = st->out ? emit_cb : NULL, .emit_ud = st,
                             .progress = op_progress, .progress_ud = st};
    st->op = rt_operator_new(&ctx);
    return st;
}

static void become_running(RtSubtask *st) {
    st->state = RT_SUBTASK_RUNNING;
    rt_subtask_observe(st, RT_EV_RESTORE, st->restore_checkpoint_id, st->attempt, NULL);
    rt_tm_subtask_running(st->tm, st);
    schedule_step(st, 0);
}

static void opened(void *ud, const GError *error) {
    RtSubtask *st = ud;
    if (error != NULL)
        rt_subtask_fail(st, error->message);
    else
        become_running(st);
}

static void open_operator(RtSubtask *st, const RtSnapshot *snap) {
    bool async = false;
    GError *err = NULL;
    if (st->op->ops->open != NULL &&
        !st->op->ops->open(st->op, snap, &async, opened, st, &err)) {
        rt_subtask_fail(st, err->message);
        g_error_free(err);
        return;
    }
    if (!async)
        become_running(st);
}

/* Restores channel state: output channel state is queued on its channel before any
 * new output; input channel state is processed before any new input. */
typedef struct RestoreCtx {
    RtSubtask *st;
    GQueue items;  /* RtInItem*: restored input, in order */
    char *error;   /* first problem, owned */
} RestoreCtx;

static void restore_visit(void *ud, RtChannelDir dir, RtChannelKey key, const RtRecord *recs,
                          uint32_t n) {
    RestoreCtx *c = ud;
    RtSubtask *st = c->st;
    if (c->error != NULL)
        return;
    if (dir == RT_CHANNEL_OUTPUT) {
        if (st->out == NULL || key.from != st->id.index ||
            !rt_output_restore_channel_state(st->out, key, recs, n))
            c->error = g_strdup("output channel state of a channel this subtask lacks");
        return;
    }
    uint32_t ch = key.to == st->id.index ? input_channel(st, key) : UINT32_MAX;
    if (ch == UINT32_MAX) {
        c->error = g_strdup("input channel state of a channel this subtask lacks");
        return;
    }
    for (uint32_t i = 0; i < n; i += st->tm->cfg.batch) {
        RtInItem *it = g_new0(RtInItem, 1);
        it->type = RT_MSG_BUFFER;
        it->channel = ch;
        it->n = MIN(n - i, st->tm->cfg.batch);
        it->recs = g_memdup2(recs + i, sizeof(RtRecord) * it->n);
        it->restored = true;
        g_queue_push_tail(&c->items, it);
    }
}

static bool restore_channel_state(RtSubtask *st, const RtSnapshot *snap) {
    RestoreCtx c = {.st = st};
    g_queue_init(&c.items);
    GError *err = NULL;
    if (!rt_channel_state_foreach(snap, restore_visit, &c, &err)) {
        c.error = g_strdup(err->message);
        g_error_free(err);
    }
    if (c.error != NULL) {
        char *why = g_strdup_printf("restoring channel state: %s", c.error);
        rt_subtask_fail(st, why);
        g_free(why);
        g_free(c.error);
        g_queue_clear_full(&c.items, (GDestroyNotify)item_free);
        return false;
    }
    for (RtInItem *it; (it = g_queue_pop_tail(&c.items)) != NULL;)
        g_queue_push_head(&st->input, it); /* ahead of what arrived while restoring */
    return true;
}

static void restored(void *ud, RtSnapshot *snap, const GError *error) {
    RtSubtask *st = ud;
    if (error != NULL) {
        rt_subtask_fail(st, error->message);
        return;
    }
    GError *err = NULL;
    if (!restore_channel_state(st, snap)) {
        rt_snapshot_free(snap);
        return;
    }
    if (st->keyed != NULL && !rt_keyed_state_store_restore(st->keyed, snap, &err)) {
        rt_subtask_fail(st, err->message);
        g_error_free(err);
    } else {
        open_operator(st, snap);
    }
    rt_snapshot_free(snap);
}

void rt_subtask_start(RtSubtask *st) {
    assert(st->state == RT_SUBTASK_RESTORING);
    if (st->restore_handle == NULL) {
        open_operator(st, NULL);
        return;
    }
    GError *err = NULL;
    if (!rt_state_backend_restore(st->tm->backend, st->restore_handle, restored, st, &err)) {
        rt_subtask_fail(st, err->message);
        g_error_free(err);
    }
}

void rt_subtask_free(RtSubtask *st) {
    if (st == NULL)
        return;
    rt_env_timer_cancel(st->env, st->step_timer);
    rt_env_timer_cancel(st->env, st->flush_timer);
    rt_env_timer_cancel(st->env, st->align_timer);
    rt_operator_free(st->op);
    rt_barrier_handler_free(st->handler);
    g_ptr_array_unref(st->snapshots); /* before the output: captures refer to it */
    st->snapshots = NULL;
    rt_output_free(st->out);
    if (st->keyed != NULL)
        rt_keyed_state_store_free(st->keyed);
    RtInItem *it;
    while ((it = g_queue_pop_head(&st->input)) != NULL)
        item_free(it);
    rt_state_handle_free(st->restore_handle);
    g_free(st->inputs);
    g_free(st->edge_base);
    g_free(st);
}
