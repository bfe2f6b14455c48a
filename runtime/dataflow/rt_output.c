/* rt_output.c - output channels of a subtask: batching, credits, aligned-barrier
 * blocking, unaligned barriers that overtake queued data (see rt_output.h). */
#include "runtime/dataflow/rt_output.h"

#include "runtime/env/rt_bugs.h"

#include <assert.h>
#include <string.h>

struct RtOutItem {
    RtMsgType type;          /* RT_MSG_BUFFER or an event */
    uint32_t n;              /* records (buffer) */
    RtRecord *recs;          /* owned (buffer) */
    uint64_t checkpoint_id;  /* barrier, cancel marker */
    uint64_t timestamp_ns;   /* barrier */
    RtBarrierKind kind;      /* barrier */
};

RtOutput *rt_output_new(uint32_t attempt, uint32_t self_index, const RtOutEdgeSpec *edges,
                        uint32_t n_edges, uint32_t batch, uint32_t max_queued,
                        RtOutputSendFunc send, void *send_ud) {
    assert(batch >= 1 && batch <= RT_OUTPUT_MAX_BATCH && max_queued >= 1 && send != NULL);
    assert(edges != NULL || n_edges == 0);
    RtOutput *out = g_new0(RtOutput, 1);
    out->attempt = attempt;
    out->batch = batch;
    out->max_queued = max_queued;
    out->send = send;
    out->send_ud = send_ud;
    out->n_edges = n_edges;
    out->edges = g_new0(RtOutEdge, n_edges > 0 ? n_edges : 1);
    for (uint32_t e = 0; e < n_edges; e++)
        out->n_channels += edges[e].partitioning == RT_PART_FORWARD ? 1 : edges[e].n_targets;
    out->channels = g_new0(RtOutChannel, out->n_channels > 0 ? out->n_channels : 1);
    uint32_t c = 0;
    for (uint32_t e = 0; e < n_edges; e++) {
        const RtOutEdgeSpec *s = &edges[e];
        assert(s->n_targets >= 1 && s->initial_credits >= 1 && s->peers != NULL);
        RtOutEdge *oe = &out->edges[e];
        oe->graph_edge = s->graph_edge;
        rt_partitioner_init(&oe->part, s->partitioning, s->n_targets, s->max_parallelism,
                            self_index);
        oe->first_channel = c;
        /* A forward edge has one channel: to the downstream subtask of the same index. */
        bool fwd = s->partitioning == RT_PART_FORWARD;
        oe->n_channels = fwd ? 1 : s->n_targets;
        for (uint32_t i = 0; i < oe->n_channels; i++, c++) {
            uint32_t t = fwd ? self_index : i;
            RtOutChannel *ch = &out->channels[c];
            ch->key = (RtChannelKey){.edge = (uint16_t)s->graph_edge,
                                     .from = (uint16_t)self_index, .to = (uint16_t)t};
            ch->peer = s->peers[t];
            ch->credits = s->initial_credits;
            ch->force_aligned = s->force_aligned && !s->bug_overtake;
            ch->bug_overtake = s->force_aligned && s->bug_overtake;
            g_queue_init(&ch->queue);
        }
    }
    out->scratch = g_byte_array_sized_new(RT_PROTOCOL_BUFFER_HEADER_BYTES +
                                          batch * RT_PROTOCOL_RECORD_BYTES);
    out->free_buffers = g_ptr_array_new();
    return out;
}

static void item_free(RtOutItem *it) {
    g_free(it->recs);
    g_free(it);
}

void rt_output_free(RtOutput *out) {
    if (out == NULL)
        return;
    for (uint32_t c = 0; c < out->n_channels; c++) {
        RtOutChannel *ch = &out->channels[c];
        g_free(ch->cur);
        RtOutItem *it;
        while ((it = g_queue_pop_head(&ch->queue)) != NULL)
            item_free(it);
    }
    for (guint i = 0; i < out->free_buffers->len; i++)
        g_free(out->free_buffers->pdata[i]);
    g_ptr_array_free(out->free_buffers, TRUE);
    g_byte_array_unref(out->scratch);
    g_free(out->channels);
    g_free(out->edges);
    g_free(out);
}

static void recycle(RtOutput *out, RtRecord *recs) {
    if (out->free_buffers->len < out->n_channels)
        g_ptr_array_add(out->free_buffers, recs);
    else
        g_free(recs);
}

static void send_event(RtOutput *out, RtOutChannel *ch, const RtOutItem *it) {
    RtMsg m;
    memset(&m, 0, sizeof m);
    m.type = it->type;
    m.attempt = out->attempt;
    m.channel = ch->key;
    m.checkpoint_id = it->checkpoint_id;
    m.timestamp_ns = it->timestamp_ns;
    m.barrier_kind = it->kind;
    g_byte_array_set_size(out->scratch, 0);
    rt_msg_encode(&m, out->scratch);
    out->send(out->send_ud, ch->peer, out->scratch->data, out->scratch->len);
}

static bool is_unaligned_barrier(const RtOutItem *it) {
    return it->type == RT_MSG_BARRIER && it->kind == RT_BARRIER_UNALIGNED;
}

/* Sends from the head of ch's FIFO while credits and the block allow. An unaligned
 * barrier needs no credit and passes a block (it overtakes everything). */
static void drain(RtOutput *out, RtOutChannel *ch) {
    for (RtOutItem *it; (it = g_queue_peek_head(&ch->queue)) != NULL &&
                        (!ch->blocked || is_unaligned_barrier(it));) {
        if (it->type == RT_MSG_BUFFER) {
            if (ch->credits == 0)
                return;
            ch->credits--;
            rt_protocol_encode_buffer(out->scratch, out->attempt, ch->key, it->recs, it->n);
            out->send(out->send_ud, ch->peer, out->scratch->data, out->scratch->len);
            ch->queued_buffers--;
            out->buffers_sent++;
            out->records_sent += it->n;
            recycle(out, it->recs);
            it->recs = NULL;
        } else {
            send_event(out, ch, it);
            if (it->type == RT_MSG_BARRIER &&
                (it->kind == RT_BARRIER_ALIGNED || it->kind == RT_BARRIER_FORCED_ALIGNED))
                ch->blocked = true;
        }
        g_queue_pop_head(&ch->queue);
        item_free(it);
    }
}

/* Moves ch's partial buffer into its FIFO. */
static void finish_buffer(RtOutput *out, RtOutChannel *ch) {
    if (ch->n_cur == 0)
        return;
    RtOutItem *it = g_new0(RtOutItem, 1);
    it->type = RT_MSG_BUFFER;
    it->n = ch->n_cur;
    it->recs = ch->cur;
    ch->cur = NULL;
    ch->n_cur = 0;
    out->n_partial--;
    g_queue_push_tail(&ch->queue, it);
    ch->queued_buffers++;
}

static void append(RtOutput *out, RtOutChannel *ch, const RtRecord *rec) {
    if (ch->cur == NULL) {
        ch->cur = out->free_buffers->len > 0
                      ? g_ptr_array_steal_index_fast(out->free_buffers,
                                                     out->free_buffers->len - 1)
                      : g_new(RtRecord, out->batch);
    }
    if (ch->n_cur == 0)
        out->n_partial++;
    ch->cur[ch->n_cur++] = *rec;
    if (ch->n_cur == out->batch) {
        finish_buffer(out, ch);
        drain(out, ch);
    }
}

void rt_output_emit(RtOutput *out, const RtRecord *rec) {
    for (uint32_t e = 0; e < out->n_edges; e++) {
        RtOutEdge *oe = &out->edges[e];
        if (rt_partitioner_is_broadcast(&oe->part)) {
            for (uint32_t t = 0; t < oe->n_channels; t++) {
                uint32_t to = t;
                /* planted: a record at a 64-record boundary wraps its last target to 0 */
                if (t + 1 == oe->n_channels && t > 0 && rec->offset % 64 == 63 &&
                    rt_bug_on(out, RT_BUG_BROADCAST_MISROUTE))
                    to = 0;
                append(out, &out->channels[oe->first_channel + to], rec);
            }
        } else if (oe->part.kind == RT_PART_FORWARD) {
            append(out, &out->channels[oe->first_channel], rec);
        } else {
            uint32_t t = rt_partitioner_select(&oe->part, rec->key);
            assert(t < oe->n_channels);
            append(out, &out->channels[oe->first_channel + t], rec);
        }
    }
}

void rt_output_flush(RtOutput *out) {
    for (uint32_t c = 0; c < out->n_channels && out->n_partial > 0; c++) {
        RtOutChannel *ch = &out->channels[c];
        if (ch->n_cur > 0) {
            finish_buffer(out, ch);
            drain(out, ch);
        }
    }
}

/* The kind a barrier of kind goes out with on ch: forced aligned where the edge cannot
 * carry channel state (Flink's CheckpointOptions.withUnalignedUnsupported). */
static RtBarrierKind channel_kind(const RtOutChannel *ch, RtBarrierKind kind) {
    if (ch->force_aligned && (kind == RT_BARRIER_ALIGNED || kind == RT_BARRIER_UNALIGNED))
        return RT_BARRIER_FORCED_ALIGNED;
    return kind;
}

void rt_output_broadcast_event(RtOutput *out, RtMsgType type, uint64_t checkpoint_id,
                               uint64_t timestamp_ns, RtBarrierKind kind) {
    assert(type == RT_MSG_BARRIER || type == RT_MSG_CANCEL_MARKER ||
           type == RT_MSG_END_OF_PARTITION);
    for (uint32_t c = 0; c < out->n_channels; c++) {
        RtOutChannel *ch = &out->channels[c];
        finish_buffer(out, ch);
        RtOutItem *it = g_new0(RtOutItem, 1);
        it->type = type;
        it->checkpoint_id = checkpoint_id;
        it->timestamp_ns = timestamp_ns;
        it->kind = channel_kind(ch, kind);
        g_queue_push_tail(&ch->queue, it);
        drain(out, ch);
    }
}

static RtOutItem *barrier_item(uint64_t id, uint64_t ts, RtBarrierKind kind) {
    RtOutItem *it = g_new0(RtOutItem, 1);
    it->type = RT_MSG_BARRIER;
    it->checkpoint_id = id;
    it->timestamp_ns = ts;
    it->kind = kind;
    return it;
}

/* Hands the data buffers of ch's FIFO before stop (NULL: all) to capture. */
static void capture_before(RtOutChannel *ch, GList *stop, RtOutputCaptureFunc capture,
                           void *ud) {
    for (GList *l = ch->queue.head; l != NULL && l != stop; l = l->next) {
        const RtOutItem *it = l->data;
        if (it->type == RT_MSG_BUFFER && capture != NULL)
            capture(ud, ch->key, it->recs, it->n);
    }
}

void rt_output_broadcast_unaligned_barrier(RtOutput *out, uint64_t checkpoint_id,
                                           uint64_t timestamp_ns, RtOutputCaptureFunc capture,
                                           void *ud) {
    for (uint32_t c = 0; c < out->n_channels; c++) {
        RtOutChannel *ch = &out->channels[c];
        finish_buffer(out, ch);
        if (ch->force_aligned) {
            /* In line behind the data, blocking: nothing is overtaken or captured. */
            g_queue_push_tail(&ch->queue, barrier_item(checkpoint_id, timestamp_ns,
                                                       RT_BARRIER_FORCED_ALIGNED));
        } else {
            if (!ch->bug_overtake) /* planted bug: the overtaken data is not recorded */
                capture_before(ch, NULL, capture, ud);
            g_queue_push_head(&ch->queue, barrier_item(checkpoint_id, timestamp_ns,
                                                       RT_BARRIER_UNALIGNED));
        }
        drain(out, ch);
    }
}

/* The queue link of aligned barrier id in ch, or NULL. */
static GList *find_barrier(RtOutChannel *ch, uint64_t id) {
    for (GList *l = ch->queue.head; l != NULL; l = l->next) {
        const RtOutItem *it = l->data;
        if (it->type == RT_MSG_BARRIER && it->checkpoint_id == id &&
            it->kind == RT_BARRIER_ALIGNED)
            return l; /* forced-aligned barriers never time out */
    }
    return NULL;
}

uint32_t rt_output_barrier_queued(const RtOutput *out, uint64_t checkpoint_id) {
    uint32_t n = 0;
    for (uint32_t c = 0; c < out->n_channels; c++)
        n += find_barrier(&out->channels[c], checkpoint_id) != NULL;
    return n;
}

uint32_t rt_output_timeout_barrier(RtOutput *out, uint64_t checkpoint_id,
                                   RtOutputCaptureFunc capture, void *ud) {
    uint32_t n = 0;
    for (uint32_t c = 0; c < out->n_channels; c++) {
        RtOutChannel *ch = &out->channels[c];
        GList *l = find_barrier(ch, checkpoint_id);
        if (l == NULL)
            continue;
        capture_before(ch, l, capture, ud);
        RtOutItem *it = l->data;
        g_queue_delete_link(&ch->queue, l);
        it->kind = RT_BARRIER_UNALIGNED;
        g_queue_push_head(&ch->queue, it);
        drain(out, ch);
        n++;
    }
    return n;
}

static RtOutChannel *find(RtOutput *out, RtChannelKey key);

bool rt_output_restore_channel_state(RtOutput *out, RtChannelKey key, const RtRecord *recs,
                                     uint32_t n) {
    RtOutChannel *ch = find(out, key);
    if (ch == NULL || ch->key.from != key.from)
        return false;
    for (uint32_t i = 0; i < n; i++)
        append(out, ch, &recs[i]);
    finish_buffer(out, ch);
    drain(out, ch);
    return true;
}

static RtOutChannel *find(RtOutput *out, RtChannelKey key) {
    for (uint32_t e = 0; e < out->n_edges; e++) {
        RtOutEdge *oe = &out->edges[e];
        if (oe->graph_edge != key.edge)
            continue;
        if (oe->part.kind == RT_PART_FORWARD)
            return key.to == oe->part.self_index ? &out->channels[oe->first_channel] : NULL;
        if (key.to < oe->n_channels)
            return &out->channels[oe->first_channel + key.to];
    }
    return NULL;
}

bool rt_output_on_credit(RtOutput *out, RtChannelKey key, uint32_t n) {
    RtOutChannel *ch = find(out, key);
    if (ch == NULL)
        return false;
    ch->credits += n;
    drain(out, ch);
    return true;
}

bool rt_output_on_resume(RtOutput *out, RtChannelKey key) {
    RtOutChannel *ch = find(out, key);
    if (ch == NULL)
        return false;
    ch->blocked = false;
    drain(out, ch);
    return true;
}

bool rt_output_available(const RtOutput *out) {
    for (uint32_t c = 0; c < out->n_channels; c++)
        if (out->channels[c].queued_buffers >= out->max_queued)
            return false;
    return true;
}

void rt_output_gauges(const RtOutput *out, uint64_t *queued_buffers, uint64_t *credits) {
    for (uint32_t c = 0; c < out->n_channels; c++) {
        *queued_buffers += out->channels[c].queued_buffers;
        *credits += out->channels[c].credits;
    }
}

uint64_t rt_output_queued(const RtOutput *out) {
    uint64_t n = 0;
    for (uint32_t c = 0; c < out->n_channels; c++)
        n += out->channels[c].queue.length;
    return n;
}
