/* rt_barrier_handler.c - construction and dispatch of the barrier handlers; the
 * handlers themselves are in rt_barrier_aligned.c, rt_barrier_unaligned.c and
 * rt_barrier_tracker.c. */
#include "runtime/checkpoint/rt_barrier_handler.h"

#include <assert.h>
#include <glib.h>

#include "runtime/checkpoint/rt_barrier_internal.h"

RtBarrierHandler *rt_barrier_handler_new(RtBarrierMode mode, uint32_t n_channels,
                                         const RtBarrierCallbacks *cb, void *ud,
                                         bool bug_first_barrier) {
    assert(n_channels >= 1 && n_channels <= RT_BARRIER_MAX_CHANNELS);
    assert(cb != NULL && cb->trigger != NULL && cb->abort != NULL && cb->resume != NULL);
    RtBarrierHandler *h = g_new0(RtBarrierHandler, 1);
    h->mode = mode;
    h->n_channels = n_channels;
    h->cb = *cb;
    h->ud = ud;
    h->bug_first_barrier = bug_first_barrier && mode == RT_BARRIER_MODE_ALIGNED;
    h->aligned = g_new0(bool, n_channels);
    h->blocked = g_new0(bool, n_channels);
    return h;
}

void rt_barrier_handler_free(RtBarrierHandler *h) {
    if (h == NULL)
        return;
    g_free(h->aligned);
    g_free(h->blocked);
    g_free(h);
}

void rt_barrier_handler_on_barrier(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                   uint64_t timestamp_ns, RtBarrierKind kind, uint64_t now_ns) {
    assert(h != NULL && channel < h->n_channels && id > 0);
    if (h->mode == RT_BARRIER_MODE_ALIGNED)
        rt_barrier_aligned_on_barrier(h, channel, id, timestamp_ns, kind, now_ns);
    else if (h->mode == RT_BARRIER_MODE_UNALIGNED)
        rt_barrier_unaligned_on_barrier(h, channel, id, timestamp_ns, kind, now_ns);
    else
        rt_barrier_tracker_on_barrier(h, channel, id, timestamp_ns, kind, now_ns);
}

void rt_barrier_handler_on_cancel_marker(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                         uint64_t now_ns) {
    assert(h != NULL && channel < h->n_channels && id > 0);
    if (h->mode == RT_BARRIER_MODE_ALIGNED)
        rt_barrier_aligned_on_cancel(h, id, now_ns, false);
    else if (h->mode == RT_BARRIER_MODE_UNALIGNED)
        rt_barrier_unaligned_on_cancel(h, id, now_ns, false);
    else
        rt_barrier_tracker_on_cancel(h, id, false);
}

void rt_barrier_handler_on_abort_notification(RtBarrierHandler *h, uint64_t id,
                                              uint64_t now_ns) {
    assert(h != NULL && id > 0);
    if (h->mode == RT_BARRIER_MODE_ALIGNED)
        rt_barrier_aligned_on_cancel(h, id, now_ns, true);
    else if (h->mode == RT_BARRIER_MODE_UNALIGNED)
        rt_barrier_unaligned_on_cancel(h, id, now_ns, true);
    else
        rt_barrier_tracker_on_cancel(h, id, true);
}

void rt_barrier_handler_set_bug_switch_forgets(RtBarrierHandler *h, bool on) {
    assert(h != NULL);
    h->bug_switch_forgets = on;
}

void rt_barrier_handler_set_alignment_timeout(RtBarrierHandler *h, uint64_t timeout_ns) {
    assert(h != NULL);
    h->timeout_ns = timeout_ns;
}

void rt_barrier_handler_on_announcement(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                        uint64_t timestamp_ns, RtBarrierKind kind,
                                        uint64_t now_ns) {
    assert(h != NULL && channel < h->n_channels && id > 0);
    if (h->mode == RT_BARRIER_MODE_UNALIGNED)
        rt_barrier_unaligned_on_announcement(h, id, timestamp_ns, kind, now_ns);
}

void rt_barrier_handler_on_timer(RtBarrierHandler *h, uint64_t now_ns) {
    assert(h != NULL);
    if (h->mode == RT_BARRIER_MODE_UNALIGNED)
        rt_barrier_unaligned_on_timer(h, now_ns);
}

uint64_t rt_barrier_handler_current_id(const RtBarrierHandler *h) {
    assert(h != NULL);
    return h->current_id;
}

bool rt_barrier_handler_pending(const RtBarrierHandler *h) {
    assert(h != NULL);
    return h->mode == RT_BARRIER_MODE_AT_LEAST_ONCE ? h->n_counts > 0 : h->pending;
}

bool rt_barrier_handler_channel_blocked(const RtBarrierHandler *h, uint32_t channel) {
    assert(h != NULL && channel < h->n_channels);
    if (h->mode == RT_BARRIER_MODE_UNALIGNED)
        return h->pending && h->blocked[channel];
    return h->mode == RT_BARRIER_MODE_ALIGNED && h->pending && h->aligned[channel];
}

bool rt_barrier_handler_unaligned_pending(const RtBarrierHandler *h, uint64_t id) {
    assert(h != NULL);
    return h->mode == RT_BARRIER_MODE_UNALIGNED && h->pending && h->unaligned &&
           h->current_id == id;
}

bool rt_barrier_handler_channel_received(const RtBarrierHandler *h, uint32_t channel) {
    assert(h != NULL && channel < h->n_channels);
    return h->mode != RT_BARRIER_MODE_AT_LEAST_ONCE && h->pending && h->aligned[channel];
}
