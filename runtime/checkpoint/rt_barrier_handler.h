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
 *  - unaligned / alternating (EXACTLY_ONCE + unaligned enabled, Flink's
 *    SingleCheckpointBarrierHandler.alternating, flink-zk.md 1.3 and 1.4): an UNALIGNED
 *    barrier triggers the checkpoint at once on its first arrival (kind UNALIGNED: the
 *    subtask then records in-flight data as channel state); the later barriers of that
 *    id only mark their channels, and when every channel has delivered it the
 *    checkpoint is done here. ALIGNED barriers are aligned as above, but with an
 *    alignment timeout (rt_barrier_handler_set_alignment_timeout) they are
 *    "timeoutable": when now >= trigger timestamp + timeout (checked on every barrier,
 *    announcement and timer) and not every barrier has arrived, the checkpoint switches
 *    in place to unaligned (trigger with kind UNALIGNED, blocked channels resume). An
 *    UNALIGNED barrier arriving during an aligned collection switches it too (its
 *    producer timed out first). Announcements (rt_barrier_handler_on_announcement) tell
 *    the handler a timeoutable barrier is queued behind data, so the timeout is
 *    counted even before the barrier is processed. rt_barrier_unaligned.c.
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
    RT_BARRIER_MODE_UNALIGNED, /* alternating: unaligned, or aligned with a timeout */
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
    /* Alignment ended: the checkpoint triggers now (aligned: on the last barrier;
     * unaligned: on the first barrier or at the timeout). duration_ns is how long
     * input was blocked (0 for a checkpoint that is unaligned from its first barrier). */
    void (*align_end)(void *ud, uint64_t checkpoint_id, uint64_t duration_ns);
    /* Unaligned mode with a timeout: call rt_barrier_handler_on_timer at deadline_ns
     * (absolute; may be in the past). May be NULL: the caller then relies on barriers
     * and announcements to check the deadline. */
    void (*arm_timer)(void *ud, uint64_t checkpoint_id, uint64_t deadline_ns);
} RtBarrierCallbacks;

typedef struct RtBarrierHandler RtBarrierHandler;

/* A handler for n_channels input channels (1..RT_BARRIER_MAX_CHANNELS). cb is copied;
 * ud is passed to every callback. bug_first_barrier plants
 * RT_BUG_SNAPSHOT_ON_FIRST_BARRIER (aligned mode only). */
RtBarrierHandler *rt_barrier_handler_new(RtBarrierMode mode, uint32_t n_channels,
                                         const RtBarrierCallbacks *cb, void *ud,
                                         bool bug_first_barrier);
void rt_barrier_handler_free(RtBarrierHandler *h);

/* Unaligned mode: ALIGNED barriers switch to unaligned timeout_ns after their trigger
 * timestamp (0 = never, the default). */
void rt_barrier_handler_set_alignment_timeout(RtBarrierHandler *h, uint64_t timeout_ns);

/* Planted bug switch-forgets-blocked (unaligned mode): the switch to unaligned on the
 * alignment timeout forgets which channels are blocked, so the end of the checkpoint
 * never resumes them. */
void rt_barrier_handler_set_bug_switch_forgets(RtBarrierHandler *h, bool on);

/* Barrier id (triggered at timestamp_ns, of kind) arrived on channel at now_ns. */
void rt_barrier_handler_on_barrier(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                   uint64_t timestamp_ns, RtBarrierKind kind, uint64_t now_ns);
/* A cancel marker for id arrived on channel. */
void rt_barrier_handler_on_cancel_marker(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                         uint64_t now_ns);
/* The JM aborted id (NOTIFY_ABORT): nothing changes here, as in Flink's
 * SingleCheckpointBarrierHandler (the subtask turns the snapshot into a cancel marker;
 * the alignment ends with its last barrier, a newer barrier or a cancel marker). The
 * at-least-once tracker marks id aborted. */
void rt_barrier_handler_on_abort_notification(RtBarrierHandler *h, uint64_t id,
                                              uint64_t now_ns);

/* Unaligned mode: a timeoutable (ALIGNED) barrier id arrived on channel but is queued
 * behind data: starts (or subsumes into) checkpoint id so its timeout is counted, and
 * switches at once if the deadline has passed. Does not mark the channel. Ignored in
 * the other modes, for other kinds and without a timeout. */
void rt_barrier_handler_on_announcement(RtBarrierHandler *h, uint32_t channel, uint64_t id,
                                        uint64_t timestamp_ns, RtBarrierKind kind,
                                        uint64_t now_ns);
/* Unaligned mode: the timer of arm_timer fired (or a poll): switches the pending
 * aligned checkpoint to unaligned if its deadline has passed. */
void rt_barrier_handler_on_timer(RtBarrierHandler *h, uint64_t now_ns);

/* The highest checkpoint id seen, and whether one is being collected. */
uint64_t rt_barrier_handler_current_id(const RtBarrierHandler *h);
bool rt_barrier_handler_pending(const RtBarrierHandler *h);
/* Aligned: true if channel's barrier for the pending checkpoint has arrived (the
 * channel is blocked by its producer). Tracker: always false. */
bool rt_barrier_handler_channel_blocked(const RtBarrierHandler *h, uint32_t channel);
/* Unaligned mode: true if checkpoint id is pending and being collected unaligned (its
 * snapshot was triggered; barriers of id only mark their channels now). */
bool rt_barrier_handler_unaligned_pending(const RtBarrierHandler *h, uint64_t id);
/* True if the pending checkpoint's barrier arrived on channel (any mode but the
 * tracker). */
bool rt_barrier_handler_channel_received(const RtBarrierHandler *h, uint32_t channel);

#endif /* RT_BARRIER_HANDLER_H */
