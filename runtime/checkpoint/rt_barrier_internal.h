/* rt_barrier_internal.h - the barrier handler's state, shared by the dispatcher
 * (rt_barrier_handler.c) and the handlers (rt_barrier_aligned.c,
 * rt_barrier_unaligned.c, rt_barrier_tracker.c). Not for use outside runtime/checkpoint/rt_barrier_*. */
#ifndef RT_BARRIER_INTERNAL_H
#define RT_BARRIER_INTERNAL_H

#include "runtime/checkpoint/rt_barrier_handler.h"

typedef struct RtBarrierCount {
    uint64_t id;
    uint64_t timestamp_ns;
    RtBarrierKind kind;
    uint32_t count;  /* channels whose barrier id arrived */
    bool aborted;
} RtBarrierCount;

struct RtBarrierHandler {
    RtBarrierMode mode;
    uint32_t n_channels;
    RtBarrierCallbacks cb;
    void *ud;
    bool bug_first_barrier;
    bool bug_switch_forgets; /* planted bug switch-forgets-blocked */
    uint64_t current_id;     /* highest id seen (aligned) / highest tracked (tracker) */
    /* aligned */
    bool pending;            /* collecting barriers of current_id */
    bool triggered;          /* bug mode: current_id already triggered */
    bool *aligned;           /* per channel: barrier current_id arrived (blocked) */
    uint32_t n_aligned;
    uint64_t align_start_ns;
    uint64_t timestamp_ns;   /* of current_id */
    RtBarrierKind kind;      /* of current_id */
    /* unaligned (alternating) mode */
    uint64_t timeout_ns;     /* aligned barriers switch to unaligned after this; 0 never */
    bool unaligned;          /* current_id is collected unaligned (already triggered) */
    bool *blocked;           /* per channel: blocked by its producer (aligned barrier) */
    /* tracker: pending ids, oldest first */
    RtBarrierCount counts[RT_BARRIER_TRACKER_MAX];
    uint32_t n_counts;
};

void rt_barrier_aligned_on_barrier(RtBarrierHandler *h, uint32_t ch, uint64_t id,
                                   uint64_t ts, RtBarrierKind kind, uint64_t now_ns);
void rt_barrier_aligned_on_cancel(RtBarrierHandler *h, uint64_t id, uint64_t now_ns,
                                  bool from_jm);
void rt_barrier_unaligned_on_barrier(RtBarrierHandler *h, uint32_t ch, uint64_t id,
                                     uint64_t ts, RtBarrierKind kind, uint64_t now_ns);
void rt_barrier_unaligned_on_announcement(RtBarrierHandler *h, uint64_t id, uint64_t ts,
                                          RtBarrierKind kind, uint64_t now_ns);
void rt_barrier_unaligned_on_timer(RtBarrierHandler *h, uint64_t now_ns);
void rt_barrier_unaligned_on_cancel(RtBarrierHandler *h, uint64_t id, uint64_t now_ns,
                                    bool from_jm);
void rt_barrier_tracker_on_barrier(RtBarrierHandler *h, uint32_t ch, uint64_t id,
                                   uint64_t ts, RtBarrierKind kind, uint64_t now_ns);
void rt_barrier_tracker_on_cancel(RtBarrierHandler *h, uint64_t id, bool from_jm);

#endif /* RT_BARRIER_INTERNAL_H */
