/* rt_barrier_aligned.c - the aligned exactly-once barrier handler, as Flink's
 * SingleCheckpointBarrierHandler.aligned (flink-zk.md 1.2): channels are blocked by
 * their producers once their barrier is sent; the checkpoint triggers when barrier n
 * arrived on every channel, then every channel resumes. */
#include <assert.h>
#include <string.h>

#include "runtime/checkpoint/rt_barrier_internal.h"

/* Resumes every channel whose barrier arrived and forgets the alignment. */
static void resume_all(RtBarrierHandler *h) {
    for (uint32_t ch = 0; ch < h->n_channels; ch++) {
        if (!h->aligned[ch])
            continue;
        h->aligned[ch] = false;
        h->cb.resume(h->ud, ch);
    }
    h->n_aligned = 0;
    h->pending = false;
}

static void start_alignment(RtBarrierHandler *h, uint64_t id, uint64_t ts, RtBarrierKind kind,
                            uint64_t now_ns) {
    assert(!h->pending && h->n_aligned == 0);
    h->current_id = id;
    h->pending = true;
    h->triggered = false;
    h->timestamp_ns = ts;
    h->kind = kind;
    h->align_start_ns = now_ns;
    if (h->cb.align_start != NULL)
        h->cb.align_start(h->ud, id);
}

void rt_barrier_aligned_on_barrier(RtBarrierHandler *h, uint32_t ch, uint64_t id,
                                   uint64_t ts, RtBarrierKind kind, uint64_t now_ns) {
    if (id < h->current_id || (id == h->current_id && !h->pending)) {
        /* Stale: its checkpoint completed or was aborted here; the producer blocked
         * the channel when it sent the barrier, so let it go on. */
        h->cb.resume(h->ud, ch);
        return;
    }
    if (id > h->current_id) {
        if (h->pending) {
            uint64_t old = h->current_id;
            resume_all(h);
            h->cb.abort(h->ud, old, RT_DECLINE_SUBSUMED);
        }
        start_alignment(h, id, ts, kind, now_ns);
    }
    assert(id == h->current_id && h->pending);
    if (h->aligned[ch])
        return; /* a second barrier n on one channel cannot happen on a FIFO channel */
    h->aligned[ch] = true;
    h->n_aligned++;
    if (h->bug_first_barrier && !h->triggered) {
        h->triggered = true; /* planted bug: snapshot before the alignment is complete */
        h->cb.trigger(h->ud, id, h->timestamp_ns, h->kind);
    }
    if (h->n_aligned < h->n_channels)
        return;
    if (h->cb.align_end != NULL)
        h->cb.align_end(h->ud, id, now_ns - h->align_start_ns);
    if (!h->triggered)
        h->cb.trigger(h->ud, id, h->timestamp_ns, h->kind);
    /* Flink's order: trigger (barrier forwarded, snapshot taken), then unblock. */
    resume_all(h);
}

void rt_barrier_aligned_on_cancel(RtBarrierHandler *h, uint64_t id, uint64_t now_ns,
                                  bool from_jm) {
    (void)now_ns;
    /* An abort from the job manager leaves the alignment alone: Flink's
     * SingleCheckpointBarrierHandler has no such path (StreamTask.notifyCheckpointAbortAsync
     * only tells SubtaskCheckpointCoordinatorImpl, which turns the snapshot into a cancel
     * marker when the alignment completes). The blocked channels stay blocked until
     * the last barrier, a newer barrier or a cancel marker. */
    if (from_jm)
        return;
    if (id > h->current_id || (id == h->current_id && h->pending)) {
        resume_all(h);
        h->current_id = id;
        h->cb.abort(h->ud, id, RT_DECLINE_CANCEL_MARKER);
    }
}
