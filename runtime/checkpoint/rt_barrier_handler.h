/* rt_barrier_handler.h - what a subtask does with the checkpoint barriers and cancel
 * markers that arrive on its input channels, as Flink's CheckpointBarrierHandler
 * (flink-zk.md section 1). Pure state machines: they see channels as indexes and act
 * through callbacks, so they are unit-testable without a world.
 *
 * Handlers (chosen by the subtask from execution.checkpointing.mode / .unaligned):
 *  - aligned (EXACTLY_ONCE): the producer blocks a channel as soon as it has sent an
 *    aligned barrier on it (since Flink 1.11 the receiver buffers nothing); when barrier
 *    n has arrived on every channel the handler triggers the checkpoint, then resumes
 *    every channel. A newer barrier aborts a pending alignment (decline SUBSUMED + cancel
 *    marker downstream, through the abort callback). A stale barrier only resumes its
 *    channel. A cancel marker for the pending or a newer id aborts and resumes.
 *    rt_barrier_aligned.c.
 *  - at-least-once tracker (AT_LEAST_ONCE): never blocks; counts barriers per id (at
 *    most RT_BARRIER_TRACKER_MAX pending ids) and triggers when an id was seen on every
 *    channel; that id and every older one are then dropped. rt_barrier_tracker.c.
 *
 * Channels that reached end of data still carry barriers in this runtime (a finished
 * source keeps answering triggers), so every channel is always counted.
 *
 * Planted bug RT_BUG_SNAPSHOT_ON_FIRST_BARRIER (aligned handler): the checkpoint is
 * triggered on the first barrier instead of the last; alignment (blocking) goes on as
 * usual. Records still in flight on the other channels are then processed after the
 * snapshot although they precede the sources' snapshotted offsets: the cut is
 * inconsistent, and a restore from it loses them.
 */
#ifndef RT_BARRIER_HANDLER_H
#define RT_BARRIER_HANDLER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_protocol.h"

#define RT_BARRIER_TRACKER_MAX 50u     /* Flink's MAX_CHECKPOINTS_TO_TRACK */
#define RT_BARRIER_MAX_CHANNELS 65536u

typedef enum RtBarrierMode {
    RT_BARRIER_MODE_ALIGNED,
    RT_BARRIER_MODE_AT_LEAST_ONCE,
} RtBarrierMode;

typedef struct RtBarrierCallbacks {
    /* Checkpoint now: forward the barrier downstream, then take the snapshot. */
    void (*trigger)(void *ud, uint64_t checkpoint_id, uint64_t timestamp_ns,
                    RtBarrierKind kind);
    /* The checkpoint is aborted on this subtask: decline it to the JM with reason and
     * send a cancel marker downstream. */
    void (*abort)(void *ud, uint64_t checkpoint_id, RtDeclineReason reason);
    /* Resume consumption of a channel its producer blocked (aligned barriers). */
    void (*resume)(void *ud, uint32_t channel);
    /* Observation hooks (may be NULL). */
    void (*align_start)(void *ud, uint64_t checkpoint_id);
    void (*align_end)(void *ud, uint64_t checkpoint_id, uint64_t duration_ns);
} RtBarrierCallbacks;

typedef struct RtBarrierHandler RtBarrierHandler;

/* A handler for n_channels input channels (1..RT_BARRIER_MAX_CHANNELS). cb is copied;
 * ud is passed to every callback. bug_first_barrier plants
 * RT_BUG_SNAPSHOT_ON_FIRST_BARRIER (aligned mode only). */
RtBarrierHandler *rt_barrier_handler_new(RtBarrierMode mode, uint32_t n_channels,
                                         const RtBarrierCallbacks *cb, void *ud,
                                         bool bug_first_barrier);
void rt_barrier_handler_free(RtBarrierHandler *h);

/* Barrier id (triggered at timestamp_ns, of kind) arrived on channel at now_ns. */
void rt_barrier_handler_on_barrier(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                   uint64_t timestamp_ns, RtBarrierKind kind, uint64_t now_ns);
/* A cancel marker for id arrived on channel. */
void rt_barrier_handler_on_cancel_marker(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                         uint64_t now_ns);
/* The JM aborted id (NOTIFY_ABORT): a pending alignment of id stops and resumes its
 * channels, without a decline (the JM already knows). */
void rt_barrier_handler_on_abort_notification(RtBarrierHandler *h, uint64_t id,
                                              uint64_t now_ns);

/* The highest checkpoint id seen, and whether one is being collected. */
uint64_t rt_barrier_handler_current_id(const RtBarrierHandler *h);
bool rt_barrier_handler_pending(const RtBarrierHandler *h);
/* Aligned: true if channel's barrier for the pending checkpoint has arrived (the
 * channel is blocked by its producer). Tracker: always false. */
bool rt_barrier_handler_channel_blocked(const RtBarrierHandler *h, uint32_t channel);

#endif /* RT_BARRIER_HANDLER_H */
