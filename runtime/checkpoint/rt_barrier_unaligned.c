/* rt_barrier_unaligned.c - the alternating exactly-once barrier handler, as Flink's
 * SingleCheckpointBarrierHandler.alternating (flink-zk.md 1.3, 1.4): an UNALIGNED
 * barrier triggers the checkpoint on its first arrival; an ALIGNED barrier is aligned
 * (its channel stays blocked by the producer) until every channel delivered it, unless
 * the alignment timeout, counted from the checkpoint's trigger timestamp, passes first:
 * then the checkpoint switches in place to unaligned (trigger with kind UNALIGNED). As in
 * Flink (FLINK-22638) the blocked channels stay blocked until every barrier of the
 * checkpoint arrived; later barriers of an unaligned checkpoint mark their channels, and
 * an aligned or forced-aligned one blocks its channel too. A FORCED_ALIGNED barrier (an
 * edge that cannot carry channel state) is aligned and never times out. */
#include <assert.h>
#include <string.h>

#include "runtime/checkpoint/rt_barrier_internal.h"

/* Resumes every channel blocked by its producer. */
static void resume_blocked(RtBarrierHandler *h) {
    for (uint32_t ch = 0; ch < h->n_channels; ch++) {
        if (!h->blocked[ch])
            continue;
        h->blocked[ch] = false;
        h->cb.resume(h->ud, ch);
    }
}

/* Forgets the pending checkpoint and resumes its blocked channels. */
static void finish(RtBarrierHandler *h) {
    memset(h->aligned, 0, sizeof(bool) * h->n_channels);
    h->n_aligned = 0;
    h->pending = false;
    h->unaligned = false;
    resume_blocked(h);
}

static uint64_t deadline_of(const RtBarrierHandler *h) {
    uint64_t d = h->timestamp_ns + h->timeout_ns;
    return d < h->timestamp_ns ? UINT64_MAX : d;
}

/* True if the pending checkpoint is aligned, timeoutable and past its deadline. */
static bool timed_out(const RtBarrierHandler *h, uint64_t now_ns) {
    return h->pending && !h->unaligned && h->kind == RT_BARRIER_ALIGNED &&
           h->timeout_ns > 0 && now_ns >= deadline_of(h);
}

static void start(RtBarrierHandler *h, uint64_t id, uint64_t ts, RtBarrierKind kind,
                  uint64_t now_ns) {
    assert(!h->pending && h->n_aligned == 0);
    h->current_id = id;
    h->pending = true;
    h->unaligned = false;
    h->timestamp_ns = ts;
    h->kind = kind;
    h->align_start_ns = now_ns;
    if (h->cb.align_start != NULL)
        h->cb.align_start(h->ud, id);
    if (kind == RT_BARRIER_ALIGNED && h->timeout_ns > 0 && h->cb.arm_timer != NULL)
        h->cb.arm_timer(h->ud, id, deadline_of(h));
}

/* Triggers the pending checkpoint unaligned. The channels blocked so far stay blocked
 * until every barrier of the checkpoint arrived (finish): Flink's
 * AlternatingCollectingBarriers.alignedCheckpointTimeout moves to
 * AlternatingCollectingBarriersUnaligned with the same blocked channels (FLINK-22638). */
static void switch_unaligned(RtBarrierHandler *h, uint64_t now_ns) {
    assert(h->pending && !h->unaligned);
    h->unaligned = true;
    if (h->cb.align_end != NULL)
        h->cb.align_end(h->ud, h->current_id, now_ns - h->align_start_ns);
    h->cb.trigger(h->ud, h->current_id, h->timestamp_ns, RT_BARRIER_UNALIGNED);
    if (h->bug_switch_forgets) /* planted bug: these channels are never resumed */
        memset(h->blocked, 0, sizeof(bool) * h->n_channels);
}

/* Stale ids are rejected (false); a newer id subsumes the pending one and starts. */
static bool check_new(RtBarrierHandler *h, uint64_t id, uint64_t ts, RtBarrierKind kind,
                      uint64_t now_ns) {
    if (id < h->current_id || (id == h->current_id && !h->pending))
        return false;
    if (id > h->current_id) {
        if (h->pending) {
            uint64_t old = h->current_id;
            finish(h);
            h->cb.abort(h->ud, old, RT_DECLINE_SUBSUMED);
        }
        start(h, id, ts, kind, now_ns);
    }
    return true;
}

void rt_barrier_unaligned_on_barrier(RtBarrierHandler *h, uint32_t ch, uint64_t id,
                                     uint64_t ts, RtBarrierKind kind, uint64_t now_ns) {
    bool blocking = kind != RT_BARRIER_UNALIGNED; /* the producer blocked ch behind it */
    if (!check_new(h, id, ts, kind, now_ns)) {
        if (blocking)
            h->cb.resume(h->ud, ch); /* stale: let the channel go on */
        return;
    }
    assert(id == h->current_id && h->pending);
    if (h->aligned[ch])
        return; /* a second barrier n on one channel cannot happen on a FIFO channel */
    h->aligned[ch] = true;
    h->n_aligned++;
    if (!blocking) {
        if (!h->unaligned)
            switch_unaligned(h, now_ns);
    } else {
        /* AlternatingCollectingBarriersUnaligned.barrierReceived: an aligned barrier
         * after the switch still blocks its channel until the checkpoint is done. */
        h->blocked[ch] = true;
    }
    if (h->n_aligned == h->n_channels) {
        if (!h->unaligned) {
            if (h->cb.align_end != NULL)
                h->cb.align_end(h->ud, id, now_ns - h->align_start_ns);
            h->cb.trigger(h->ud, id, h->timestamp_ns, h->kind);
        }
        finish(h); /* Flink's order: trigger, then unblock */
        return;
    }
    if (timed_out(h, now_ns))
        switch_unaligned(h, now_ns);
}

void rt_barrier_unaligned_on_announcement(RtBarrierHandler *h, uint64_t id, uint64_t ts,
                                          RtBarrierKind kind, uint64_t now_ns) {
    if (kind != RT_BARRIER_ALIGNED || h->timeout_ns == 0)
        return;
    if (!check_new(h, id, ts, kind, now_ns))
        return; /* stale: its barrier resumes the channel when it is processed */
    if (timed_out(h, now_ns))
        switch_unaligned(h, now_ns);
}

void rt_barrier_unaligned_on_timer(RtBarrierHandler *h, uint64_t now_ns) {
    if (timed_out(h, now_ns))
        switch_unaligned(h, now_ns);
}

void rt_barrier_unaligned_on_cancel(RtBarrierHandler *h, uint64_t id, uint64_t now_ns,
                                    bool from_jm) {
    (void)now_ns;
    /* No path for an abort from the job manager, as in Flink's
     * SingleCheckpointBarrierHandler (see rt_barrier_aligned.c). */
    if (from_jm)
        return;
    if (id > h->current_id || (id == h->current_id && h->pending)) {
        if (h->pending)
            finish(h);
        h->current_id = id;
        h->cb.abort(h->ud, id, RT_DECLINE_CANCEL_MARKER);
    }
}
