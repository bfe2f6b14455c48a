/* rt_subtask_internal.h - private to the subtask: what rt_subtask.c (record processing,
 * the barrier handler, lifecycle and restore) and rt_subtask_snapshot.c (snapshots,
 * channel-state capture and the output alignment timeout) share. Not for other modules. */
#ifndef RT_SUBTASK_INTERNAL_H
#define RT_SUBTASK_INTERNAL_H

#include "runtime/dataflow/rt_tm_internal.h"

/* A snapshot between its synchronous part and its acknowledgement. An unaligned
 * checkpoint (or an aligned one whose barrier may still time out in an output queue)
 * first goes through a capture phase: the synchronous snapshot is held in snap while
 * its channel state is collected, and handed to the backend once complete. */
typedef struct PendingSnap {
    RtSubtask *st;
    uint64_t checkpoint_id;
    uint64_t timestamp_ns;   /* the checkpoint's trigger time */
    uint32_t waits;          /* async parts outstanding: backend, operator */
    bool failed;
    bool aborted;            /* dropped by the barrier handler: neither ack nor decline */
    RtDeclineReason reason;
    RtStateHandle *handle;   /* owned, once persisted */
    /* capture phase */
    RtSnapshot *snap;        /* owned until handed to the backend, then NULL */
    bool *persisting;        /* per input channel: arriving data is channel state */
    uint32_t n_persisting;
    bool out_waiting;        /* an aligned barrier of this checkpoint is still queued */
    RtTimerId out_timer;     /* its alignment timeout */
    GArray **in_recs;        /* per input channel: captured RtRecord, NULL = none */
    GArray **out_recs;       /* per output channel: captured RtRecord, NULL = none */
    uint64_t captured;       /* records captured */
    uint64_t cs_bytes;       /* encoded channel state attached to the snapshot, bytes */
} PendingSnap;

/* Defined in rt_subtask.c. */

/* Marks st failed (once) and reports reason to its task manager. */
void rt_subtask_fail(RtSubtask *st, const char *reason);
/* Emits an observation event of kind about st (checkpoint ckpt, value a, detail borrowed). */
void rt_subtask_observe(RtSubtask *st, RtEventKind kind, uint64_t ckpt, uint64_t a,
                        const char *detail);
/* Sends a control message (ack, decline, ...) about checkpoint ckpt via its task manager. */
void rt_subtask_send_control(RtSubtask *st, RtMsgType type, uint64_t ckpt, RtDeclineReason reason,
                             const char *text);

/* Defined in rt_subtask_snapshot.c. */

/* Input it arrived on channel ch (before it is queued): captured as channel state by the
 * snapshots still collecting that channel; a later barrier ends the collection. */
void rt_subtask_capture_arrival(RtSubtask *st, uint32_t ch, const RtInItem *it);
/* After output progress: snapshots whose queued barriers have all left go on. */
void rt_subtask_check_output_waiting(RtSubtask *st);
/* Takes checkpoint id (triggered at ts): forward the barrier, snapshot, persist, ack;
 * ignored when out of order or not running, only forwarded as cancel when aborted. */
void rt_subtask_checkpoint(RtSubtask *st, uint64_t id, uint64_t ts, RtBarrierKind kind);
/* The barrier handler aborted id: a snapshot still collecting channel state is dropped. */
void rt_subtask_drop_capture(RtSubtask *st, uint64_t id);
/* Frees a PendingSnap (ptr) and everything it owns; GDestroyNotify of st->snapshots. */
void rt_subtask_snap_free(void *ptr);

#endif /* RT_SUBTASK_INTERNAL_H */
