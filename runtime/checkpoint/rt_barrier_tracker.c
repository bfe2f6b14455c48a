/* rt_barrier_tracker.c - the at-least-once barrier tracker, as Flink's
 * CheckpointBarrierTracker (flink-zk.md 1.5): no blocking; a checkpoint triggers once
 * its barrier was counted on every channel, and then it and every older pending id are
 * dropped. */
#include <assert.h>
#include <string.h>

#include "runtime/checkpoint/rt_barrier_internal.h"

/* Drops counts[0..n) (the oldest n entries). */
static void drop_oldest(RtBarrierHandler *h, uint32_t n) {
    assert(n <= h->n_counts);
    memmove(h->counts, h->counts + n, (h->n_counts - n) * sizeof h->counts[0]);
    h->n_counts -= n;
}

static int32_t find(const RtBarrierHandler *h, uint64_t id) {
    for (uint32_t i = 0; i < h->n_counts; i++)
        if (h->counts[i].id == id)
            return (int32_t)i;
    return -1;
}

void rt_barrier_tracker_on_barrier(RtBarrierHandler *h, uint32_t ch, uint64_t id,
                                   uint64_t ts, RtBarrierKind kind, uint64_t now_ns) {
    (void)ch;
    (void)now_ns;
    if (h->n_channels == 1) { /* fast path: nothing to count */
        if (id > h->current_id) {
            h->current_id = id;
            h->cb.trigger(h->ud, id, ts, kind);
        }
        return;
    }
    int32_t i = find(h, id);
    if (i < 0) {
        if (id <= h->current_id)
            return; /* first barrier of an id no higher than the latest: ignored */
        if (h->n_counts == RT_BARRIER_TRACKER_MAX)
            drop_oldest(h, 1); /* as Flink: too many pending, forget the oldest */
        h->current_id = id;
        h->counts[h->n_counts] = (RtBarrierCount){.id = id, .timestamp_ns = ts, .kind = kind};
        i = (int32_t)h->n_counts++;
        if (h->cb.align_start != NULL)
            h->cb.align_start(h->ud, id);
    }
    RtBarrierCount *c = &h->counts[i];
    if (++c->count < h->n_channels)
        return;
    RtBarrierCount done = *c;
    drop_oldest(h, (uint32_t)i + 1);
    if (done.aborted)
        return;
    if (h->cb.align_end != NULL)
        h->cb.align_end(h->ud, done.id, 0);
    h->cb.trigger(h->ud, done.id, done.timestamp_ns, done.kind);
}

void rt_barrier_tracker_on_cancel(RtBarrierHandler *h, uint64_t id, bool from_jm) {
    int32_t i = find(h, id);
    if (i < 0) {
        if (id <= h->current_id || from_jm)
            return;
        /* A cancel marker for an id never seen: remember it as aborted, so its barriers
         * are ignored, and pass the abort on. */
        if (h->n_counts == RT_BARRIER_TRACKER_MAX)
            drop_oldest(h, 1);
        h->current_id = id;
        h->counts[h->n_counts++] = (RtBarrierCount){.id = id, .aborted = true};
        h->cb.abort(h->ud, id, RT_DECLINE_CANCEL_MARKER);
        return;
    }
    if (h->counts[i].aborted)
        return;
    h->counts[i].aborted = true;
    h->cb.abort(h->ud, id, from_jm ? RT_DECLINE_ABORTED : RT_DECLINE_CANCEL_MARKER);
}
