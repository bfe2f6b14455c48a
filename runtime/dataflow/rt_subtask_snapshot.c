/* rt_subtask_snapshot.c - the snapshots of a subtask (see rt_subtask.c): the synchronous
 * snapshot, its asynchronous persist and acknowledgement in Flink's order, the capture of
 * input and output channel state for unaligned checkpoints, and the output alignment
 * timeout of an aligned barrier still queued. Shared types are in rt_subtask_internal.h. */
#include <assert.h>
#include <string.h>

#include "runtime/dataflow/rt_channel_state.h"
#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/dataflow/rt_subtask_internal.h"
#include "runtime/dataflow/rt_tm_internal.h"
#include "runtime/env/rt_bugs.h"
#include "runtime/state/rt_key_groups.h"

/* ------------------------------------------------------------------ snapshots */

static void snap_persisted(PendingSnap *p) {
    RtSubtask *st = p->st;
    RtEvent ev = {.kind = RT_EV_SNAPSHOT_PERSISTED, .subtask = st->id, .attempt = st->attempt,
                  .checkpoint_id = p->checkpoint_id, .a = p->handle->size_bytes,
                  .b = p->cs_bytes, .detail = p->handle->location};
    rt_env_observe(st->env, &ev);
    GBytes *b = rt_state_handle_encode(p->handle);
    RtMsg m;
    memset(&m, 0, sizeof m);
    m.type = RT_MSG_ACK;
    m.attempt = st->attempt;
    m.subtask = st->id;
    m.checkpoint_id = p->checkpoint_id;
    gsize len = 0;
    m.handle = (uint8_t *)g_bytes_get_data(b, &len);
    m.handle_len = len;
    rt_tm_send_control(st->tm, &m);
    g_bytes_unref(b);
}

static void snap_finish(PendingSnap *p) {
    if (p->waits > 0)
        return;
    RtSubtask *st = p->st;
    if (p->aborted) {
        /* the handler declined it already */
    } else if (p->failed) {
        rt_subtask_observe(st, RT_EV_SNAPSHOT_FAILED, p->checkpoint_id, 0,
                           rt_decline_reason_name(p->reason));
        rt_subtask_send_control(st, RT_MSG_DECLINE, p->checkpoint_id, p->reason,
                                "snapshot failed");
    } else {
        assert(p->handle != NULL);
        snap_persisted(p);
    }
    g_ptr_array_remove_fast(st->snapshots, p);
}

static void free_rec_arrays(GArray **a, uint32_t n) {
    for (uint32_t i = 0; a != NULL && i < n; i++)
        if (a[i] != NULL)
            g_array_unref(a[i]);
    g_free(a);
}

/* Ends the capture phase's bookkeeping (the snapshot itself is freed by the caller). */
static void capture_clear(PendingSnap *p) {
    RtSubtask *st = p->st;
    rt_env_timer_cancel(st->env, p->out_timer);
    p->out_timer = 0;
    p->out_waiting = false;
    g_free(p->persisting);
    p->persisting = NULL;
    p->n_persisting = 0;
    free_rec_arrays(p->in_recs, st->n_inputs);
    free_rec_arrays(p->out_recs, st->out != NULL ? st->out->n_channels : 0);
    p->in_recs = p->out_recs = NULL;
}

void rt_subtask_snap_free(void *ptr) {
    PendingSnap *p = ptr;
    capture_clear(p);
    if (p->snap != NULL)
        rt_snapshot_free(p->snap);
    rt_state_handle_free(p->handle);
    g_free(p);
}

static void backend_done(void *ud, RtStateHandle *handle, const GError *error) {
    PendingSnap *p = ud;
    assert(p->waits > 0);
    p->waits--;
    if (error != NULL) {
        p->failed = true;
        p->reason = RT_DECLINE_ASYNC_FAILED;
        rt_state_handle_free(handle);
    } else {
        p->handle = handle;
    }
    snap_finish(p);
}

static void operator_snap_done(void *ud, const GError *error) {
    PendingSnap *p = ud;
    assert(p->waits > 0);
    p->waits--;
    if (error != NULL) {
        p->failed = true;
        p->reason = RT_DECLINE_ASYNC_FAILED;
    }
    snap_finish(p);
}

/* Appends n captured records to *slot (allocated on first use); false (and the
 * snapshot fails) beyond RT_TM_MAX_CHANNEL_STATE_RECORDS. */
static void capture_into(PendingSnap *p, GArray **slot, const RtRecord *recs, uint32_t n) {
    if (p->failed || n == 0)
        return;
    if (p->captured + n > RT_TM_MAX_CHANNEL_STATE_RECORDS) {
        p->failed = true;
        p->reason = RT_DECLINE_ASYNC_FAILED;
        return;
    }
    if (*slot == NULL)
        *slot = g_array_new(FALSE, FALSE, sizeof(RtRecord));
    g_array_append_vals(*slot, recs, n);
    p->captured += n;
}

static void capture_out(void *ud, RtChannelKey key, const RtRecord *recs, uint32_t n) {
    PendingSnap *p = ud;
    RtOutput *out = p->st->out;
    if (p->out_recs == NULL)
        p->out_recs = g_new0(GArray *, out->n_channels);
    for (uint32_t c = 0; c < out->n_channels; c++) {
        RtChannelKey k = out->channels[c].key;
        if (k.edge == key.edge && k.from == key.from && k.to == key.to) {
            capture_into(p, &p->out_recs[c], recs, n);
            return;
        }
    }
    assert(!"captured output of an unknown channel");
}

static void capture_in(PendingSnap *p, uint32_t ch, const RtRecord *recs, uint32_t n) {
    capture_into(p, &p->in_recs[ch], recs, n);
}

/* Attaches the captured records as channel-state blobs (rt_channel_state.h). */
static void attach_channel_state(PendingSnap *p) {
    RtSubtask *st = p->st;
    if (rt_bug_on(st->env, RT_BUG_DROP_CHANNEL_STATE))
        return; /* planted bug: the in-flight data is not part of the checkpoint */
    for (uint32_t pass = 0; pass < 2; pass++) {
        GArray **a = pass == 0 ? p->in_recs : p->out_recs;
        uint32_t n = pass == 0 ? st->n_inputs : (st->out != NULL ? st->out->n_channels : 0);
        for (uint32_t i = 0; a != NULL && i < n; i++) {
            if (a[i] == NULL || a[i]->len == 0)
                continue;
            RtChannelKey key = pass == 0 ? st->inputs[i].key : st->out->channels[i].key;
            char *name = rt_channel_state_name(pass == 0 ? RT_CHANNEL_INPUT : RT_CHANNEL_OUTPUT,
                                               key);
            GBytes *b = rt_channel_state_encode((const RtRecord *)(void *)a[i]->data,
                                                a[i]->len);
            gsize len = 0;
            const void *data = g_bytes_get_data(b, &len);
            rt_snapshot_set_channel_state(p->snap, name, data, len);
            p->cs_bytes += len;
            g_bytes_unref(b);
            g_free(name);
        }
    }
}

/* Hands the snapshot to the backend once its channel state is complete. */
static void maybe_persist(PendingSnap *p) {
    if (p->snap == NULL || p->aborted || p->n_persisting > 0 || p->out_waiting)
        return;
    RtSubtask *st = p->st;
    if (!p->failed)
        attach_channel_state(p);
    RtSnapshot *snap = p->snap;
    p->snap = NULL;
    capture_clear(p);
    GError *err = NULL;
    const RtJobGraph *g = st->tm->spec->graph;
    RtSnapshotTarget target = {.job = g->name ? g->name : "job",
                               .checkpoint_id = p->checkpoint_id, .op = st->id.op,
                               .subtask = st->id.index, .attempt = st->attempt};
    if (p->failed) {
        p->waits--;
        snap_finish(p);
    } else if (!rt_state_backend_snapshot(st->tm->backend, &target, snap, backend_done, p,
                                          &err)) {
        p->waits--;
        p->failed = true;
        p->reason = RT_DECLINE_SYNC_FAILED;
        g_error_free(err);
        snap_finish(p);
    }
    rt_snapshot_free(snap);
}

/* The synchronous part: keyed state and operator state into p->snap. False (after
 * declining and failing the task, p removed) if the operator cannot snapshot. */
static bool sync_snapshot(RtSubtask *st, PendingSnap *p) {
    RtSnapshot *snap = rt_snapshot_new();
    snap->checkpoint_id = p->checkpoint_id;
    snap->op = st->id.op;
    snap->subtask = st->id.index;
    snap->attempt = st->attempt;
    snap->parallelism = st->spec->parallelism;
    if (st->keyed != NULL)
        rt_keyed_state_store_snapshot(st->keyed, snap);
    p->snap = snap;
    GError *err = NULL;
    bool async = false;
    if (st->op->ops->snapshot != NULL &&
        !st->op->ops->snapshot(st->op, p->checkpoint_id, snap, &async, operator_snap_done, p,
                               &err)) {
        rt_subtask_observe(st, RT_EV_SNAPSHOT_FAILED, p->checkpoint_id, 0, err->message);
        rt_subtask_send_control(st, RT_MSG_DECLINE, p->checkpoint_id, RT_DECLINE_SYNC_FAILED,
                     err->message);
        rt_subtask_fail(st, err->message);
        g_error_free(err);
        g_ptr_array_remove_fast(st->snapshots, p);
        return false;
    }
    if (async)
        p->waits++;
    rt_subtask_observe(st, RT_EV_SNAPSHOT_SYNC, p->checkpoint_id, 0, NULL);
    return true;
}

/* Unaligned: the input side's channel state. Queued data that precedes its channel's
 * barrier (or all of it, when the barrier has not arrived) is captured now; channels
 * whose barrier has not arrived keep persisting what arrives until it does. */
static void start_input_capture(RtSubtask *st, PendingSnap *p) {
    uint64_t id = p->checkpoint_id;
    p->persisting = g_new0(bool, st->n_inputs);
    p->in_recs = g_new0(GArray *, st->n_inputs);
    for (uint32_t ch = 0; ch < st->n_inputs; ch++) {
        p->persisting[ch] = st->inputs[ch].barrier_id < id;
        p->n_persisting += p->persisting[ch];
    }
    for (GList *l = st->input.head; l != NULL; l = l->next) {
        const RtInItem *it = l->data;
        const RtInChannel *in = &st->inputs[it->channel];
        if (it->type == RT_MSG_BUFFER && (in->barrier_id < id || it->seq < in->barrier_seq))
            capture_in(p, it->channel, it->recs, it->n);
    }
    st->promote_id = id;
}

static void out_timeout_cb(void *ud) {
    PendingSnap *p = ud;
    p->out_timer = 0;
    if (p->st->state != RT_SUBTASK_RUNNING)
        return; /* the task failed: it is torn down, nothing more is sent */
    if (rt_bug_on(p->st->env, RT_BUG_ALIGNMENT_TIMEOUT_NEVER_SWITCHES))
        return; /* planted: the deadline passes, the barrier keeps waiting for credit */
    rt_output_timeout_barrier(p->st->out, p->checkpoint_id, capture_out, p);
    p->out_waiting = false;
    maybe_persist(p);
}

/* Aligned barrier with an alignment timeout still queued in an output channel: the
 * snapshot waits until it is sent, or until the deadline turns it unaligned. */
static void watch_output(RtSubtask *st, PendingSnap *p) {
    if (rt_output_barrier_queued(st->out, p->checkpoint_id) == 0)
        return;
    p->out_waiting = true;
    uint64_t now = rt_env_now_ns(st->env);
    uint64_t deadline = p->timestamp_ns + st->tm->cfg.alignment_timeout_ns;
    if (deadline < p->timestamp_ns)
        deadline = UINT64_MAX;
    p->out_timer = rt_env_timer_start(st->env, deadline > now ? deadline - now : 0,
                                      out_timeout_cb, p);
}

/* After output progress: snapshots whose queued barriers have left go on. */
static PendingSnap *output_released(const RtSubtask *st) {
    for (guint i = 0; i < st->snapshots->len; i++) {
        PendingSnap *p = g_ptr_array_index(st->snapshots, i);
        if (p->out_waiting && rt_output_barrier_queued(st->out, p->checkpoint_id) == 0)
            return p;
    }
    return NULL;
}

void rt_subtask_check_output_waiting(RtSubtask *st) {
    uint32_t bound = st->snapshots->len;
    PendingSnap *p;
    for (uint32_t i = 0; i < bound && (p = output_released(st)) != NULL; i++) {
        rt_env_timer_cancel(st->env, p->out_timer);
        p->out_timer = 0;
        p->out_waiting = false;
        maybe_persist(p); /* may remove p from the array */
    }
}

static bool is_aborted(const RtSubtask *st, uint64_t id) {
    for (uint32_t i = 0; i < RT_TM_ABORTED_IDS; i++)
        if (st->aborted[i] == id)
            return true;
    return false;
}

/* Flink's checkpointState: out-of-order guard, aborted guard, forward the barrier
 * (unaligned: at the head of the output queues, capturing what it overtakes),
 * synchronous snapshot, channel state, asynchronous persist (then ack). */
void rt_subtask_checkpoint(RtSubtask *st, uint64_t id, uint64_t ts, RtBarrierKind kind) {
    if (id <= st->last_checkpoint_id || st->state != RT_SUBTASK_RUNNING)
        return;
    st->last_checkpoint_id = id;
    /* Aligned because the input edges could not carry channel state: the outputs get
     * the configured kind back (Flink's CheckpointOptions.withUnalignedSupported). */
    if (kind == RT_BARRIER_FORCED_ALIGNED)
        kind = st->tm->cfg.barrier_kind;
    if (is_aborted(st, id)) {
        if (st->out != NULL)
            rt_output_broadcast_event(st->out, RT_MSG_CANCEL_MARKER, id, 0, 0);
        return;
    }
    PendingSnap *p = g_new0(PendingSnap, 1);
    p->st = st;
    p->checkpoint_id = id;
    p->timestamp_ns = ts;
    p->waits = 1; /* the backend */
    g_ptr_array_add(st->snapshots, p);
    if (st->out != NULL && kind == RT_BARRIER_UNALIGNED) {
        rt_output_broadcast_unaligned_barrier(st->out, id, ts, capture_out, p);
    } else if (st->out != NULL) {
        rt_output_broadcast_event(st->out, RT_MSG_BARRIER, id, ts, kind);
        if (kind == RT_BARRIER_ALIGNED && st->tm->cfg.alignment_timeout_ns > 0)
            watch_output(st, p);
    }
    if (!sync_snapshot(st, p))
        return;
    if (kind == RT_BARRIER_UNALIGNED && st->handler != NULL)
        start_input_capture(st, p);
    maybe_persist(p);
}

/* The capture-phase snapshot of checkpoint id, or NULL. */
static PendingSnap *capturing(const RtSubtask *st, uint64_t id) {
    for (guint i = 0; i < st->snapshots->len; i++) {
        PendingSnap *p = g_ptr_array_index(st->snapshots, i);
        if (p->checkpoint_id == id && p->snap != NULL && !p->aborted)
            return p;
    }
    return NULL;
}

/* The handler aborted id: a snapshot still collecting channel state is dropped. */
void rt_subtask_drop_capture(RtSubtask *st, uint64_t id) {
    PendingSnap *p = capturing(st, id);
    if (p == NULL)
        return;
    p->aborted = true;
    capture_clear(p);
    rt_snapshot_free(p->snap);
    p->snap = NULL;
    p->waits--; /* the backend is never asked */
    snap_finish(p);
}

/* Input arrived on channel ch (before it is queued): channel-state bookkeeping of the
 * snapshots collecting input. */
void rt_subtask_capture_arrival(RtSubtask *st, uint32_t ch, const RtInItem *it) {
    for (guint i = 0; i < st->snapshots->len; i++) {
        PendingSnap *p = g_ptr_array_index(st->snapshots, i);
        if (p->persisting == NULL || !p->persisting[ch])
            continue;
        if (it->type == RT_MSG_BUFFER) {
            capture_in(p, ch, it->recs, it->n);
        } else if ((it->type == RT_MSG_BARRIER && it->checkpoint_id >= p->checkpoint_id) ||
                   (rt_bug_on(st->env, RT_BUG_FLINK_20645) &&
                    (it->type == RT_MSG_BARRIER || it->type == RT_MSG_CANCEL))) {
            /* Planted bug FLINK-20645: any barrier or cancel marker (a stale one of an
             * older checkpoint too) stops the capture. */
            p->persisting[ch] = false;
            p->n_persisting--;
            maybe_persist(p);
            return; /* at most one snapshot collects input at a time */
        }
    }
}
