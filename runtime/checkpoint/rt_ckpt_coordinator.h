/* rt_ckpt_coordinator.h - the job manager's checkpoint coordinator, after Flink's
 * CheckpointCoordinator, CheckpointRequestDecider and CheckpointFailureManager.
 *
 * Pure protocol logic: it sees the world through its RtEnv (timers, observation, a named
 * PRNG stream) and talks to the job manager through a small hooks table (send TRIGGER,
 * send notifications, fail the job, discard state), so tests drive it with a fake clock
 * and a fake task side.
 *
 * Behaviour (research/flink-zk.md section 2):
 *  - Periodic triggering at a fixed rate of max(interval, min-pause), first after a
 *    random delay uniform in [min-pause, that interval] (stream "ckpt-coordinator").
 *    Each tick queues a request (at most RT_CKPT_MAX_QUEUED_REQUESTS). A request runs when
 *    no trigger is in progress and fewer than max-concurrent checkpoints are pending; a
 *    periodic one that comes sooner than min-pause after the last completion is dropped
 *    and the periodic timer rescheduled to that moment (min-pause counts from the last
 *    completion; aborts do not reset it).
 *  - Triggering: take an id from the counter (durable before use), create the pending
 *    checkpoint with a timeout timer, report CKPT_ID_ISSUED and CKPT_TRIGGER, and call
 *    hooks.trigger (TRIGGER to the source subtasks).
 *  - Acks carry the subtask's execution attempt: an ack of another attempt is ignored
 *    (its state discarded); an ack for an unknown or finished checkpoint is ignored.
 *  - When every subtask has acked: the checkpoint is published through the store (one
 *    store write at a time, in id order; metadata durable first), then: CKPT_COMPLETE,
 *    the failure counter reset (only by an id above every completed one), older pending checkpoints aborted as subsumed, and
 *    hooks.notify_complete (best effort). The store subsumes old completed ones.
 *  - Decline and timeout abort the checkpoint (acked state discarded, CKPT_ABORT,
 *    hooks.notify_abort). Tolerable failures: only expired, declined and async/sync
 *    snapshot failures count, once per id (a set of counted ids, not a rising mark:
 *    Flink's CheckpointFailureManager.countedCheckpointIds) and only for ids above the
 *    last completed one; when the count exceeds execution.checkpointing.tolerable-failed-checkpoints,
 *    the count resets and hooks.fail_job runs (the job manager fails over).
 *
 * Lifecycle: new -> start(attempt, tasks) ... stop(reason) -> start(...) ... -> free.
 * stop aborts every pending checkpoint that is not already being published; a publish
 * in flight completes (it is a durable fact) but notifies nobody. hooks.idle runs when,
 * after a stop, no counter or store operation is in flight any more.
 */
#ifndef RT_CKPT_COORDINATOR_H
#define RT_CKPT_COORDINATOR_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_protocol.h"
#include "runtime/env/rt_config.h"
#include "runtime/env/rt_env.h"
#include "runtime/ha/rt_ckpt_store.h"

#define RT_CKPT_MAX_QUEUED_REQUESTS 1000u /* Flink's CheckpointRequestDecider limit */
#define RT_CKPT_MAX_TASKS 65536u

/* Why a checkpoint was aborted, after Flink's CheckpointFailureReason. */
typedef enum RtCkptFailureReason {
    RT_CKPT_FAIL_EXPIRED = 1,          /* timeout (counted) */
    RT_CKPT_FAIL_DECLINED,             /* a task declined (counted) */
    RT_CKPT_FAIL_ASYNC,                /* a task's snapshot failed (counted) */
    RT_CKPT_FAIL_SUBSUMED,             /* a newer checkpoint completed */
    RT_CKPT_FAIL_DECLINED_SUBSUMED,    /* a task saw a newer barrier first */
    RT_CKPT_FAIL_DECLINED_CANCEL,      /* a task got a cancel marker */
    RT_CKPT_FAIL_TASK_NOT_READY,       /* a task was not running yet */
    RT_CKPT_FAIL_FINALIZE,             /* publishing the metadata failed */
    RT_CKPT_FAIL_SUSPENDED,            /* the coordinator was stopped (failover, end) */
} RtCkptFailureReason;

/* Stable lower-case name ("expired"). */
const char *rt_ckpt_failure_reason_name(RtCkptFailureReason reason);
/* True for the reasons that count towards tolerable failed checkpoints. */
bool rt_ckpt_failure_reason_counts(RtCkptFailureReason reason);
/* The abort reason for a task's decline reason. */
RtCkptFailureReason rt_ckpt_failure_from_decline(RtDeclineReason reason);

typedef struct RtCkptCoordinatorConfig {
    uint64_t interval_ns;        /* execution.checkpointing.interval; 0 = no periodic */
    uint64_t timeout_ns;         /* execution.checkpointing.timeout (10 min) */
    uint64_t min_pause_ns;       /* execution.checkpointing.min-pause (0) */
    uint32_t max_concurrent;     /* execution.checkpointing.max-concurrent-checkpoints (1) */
    uint32_t tolerable_failures; /* execution.checkpointing.tolerable-failed-checkpoints (0) */
    RtBarrierKind barrier_kind;  /* from .mode, .unaligned(.enabled), aligned timeout */
} RtCkptCoordinatorConfig;

/* Reads the coordinator's settings under Flink's keys and defaults. false + error
 * (naming the key) on a bad value. */
bool rt_ckpt_coordinator_config_read(const RtConfig *cfg, RtCkptCoordinatorConfig *out,
                                     GError **error);

typedef struct RtCkptCoordinatorHooks {
    /* Send TRIGGER(id, ts, kind) to every source subtask. */
    void (*trigger)(void *user_data, uint64_t checkpoint_id, uint64_t timestamp_ns,
                    RtBarrierKind kind);
    /* Best-effort notifications to every task. */
    void (*notify_complete)(void *user_data, uint64_t checkpoint_id);
    void (*notify_abort)(void *user_data, uint64_t checkpoint_id);
    /* Tolerable failures exceeded: fail the job. May call rt_ckpt_coordinator_stop. */
    void (*fail_job)(void *user_data, const char *cause);
    /* Discard a subtask's acknowledged state (aborted checkpoint, stale ack). */
    void (*discard)(void *user_data, RtSubtaskId subtask, GBytes *handle);
    /* After a stop: nothing is in flight any more. May be NULL. */
    void (*idle)(void *user_data);
} RtCkptCoordinatorHooks;

typedef struct RtCkptCoordinator RtCkptCoordinator;

/* A stopped coordinator. store and counter are borrowed (started/recovered by the
 * caller) and must outlive it; hooks is copied. */
RtCkptCoordinator *rt_ckpt_coordinator_new(RtEnv *env, const RtCkptCoordinatorConfig *config,
                                           RtCkptStore *store, RtCkptIdCounter *counter,
                                           const RtCkptCoordinatorHooks *hooks,
                                           void *user_data);
void rt_ckpt_coordinator_free(RtCkptCoordinator *coord);

/* The job runs attempt with these subtasks (all must ack): starts the periodic trigger.
 * Asserts the coordinator is stopped. tasks is copied; n <= RT_CKPT_MAX_TASKS. */
void rt_ckpt_coordinator_start(RtCkptCoordinator *coord, uint32_t attempt,
                               const RtSubtaskId *tasks, uint32_t n);
/* Stops triggering and aborts pending checkpoints with reason (not counted). */
void rt_ckpt_coordinator_stop(RtCkptCoordinator *coord, RtCkptFailureReason reason);
bool rt_ckpt_coordinator_running(const RtCkptCoordinator *coord);
/* True when no counter or store operation is in flight. */
bool rt_ckpt_coordinator_idle(const RtCkptCoordinator *coord);

/* Queues a non-periodic checkpoint request (runs before periodic ones, ignores
 * min-pause). Returns false if stopped or the queue is full. */
bool rt_ckpt_coordinator_request(RtCkptCoordinator *coord);

/* A task acknowledged (handle: encoded state handle, ref'd if kept). */
void rt_ckpt_coordinator_ack(RtCkptCoordinator *coord, uint64_t checkpoint_id,
                             RtSubtaskId subtask, uint32_t attempt, GBytes *handle);
/* A task declined. text may be NULL. */
void rt_ckpt_coordinator_decline(RtCkptCoordinator *coord, uint64_t checkpoint_id,
                                 RtSubtaskId subtask, uint32_t attempt,
                                 RtDeclineReason reason, const char *text);

/* Introspection (tests, job manager). */
uint32_t rt_ckpt_coordinator_pending_count(const RtCkptCoordinator *coord);
uint32_t rt_ckpt_coordinator_queued_count(const RtCkptCoordinator *coord);
uint32_t rt_ckpt_coordinator_failure_count(const RtCkptCoordinator *coord);
uint64_t rt_ckpt_coordinator_last_completed_id(const RtCkptCoordinator *coord);
/* Ids of pending checkpoints, ascending, into out (at most max); returns the count. */
uint32_t rt_ckpt_coordinator_pending_ids(const RtCkptCoordinator *coord, uint64_t *out,
                                         uint32_t max);

#endif /* RT_CKPT_COORDINATOR_H */
