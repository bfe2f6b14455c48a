/* rt_observe.h - structured observation events.
 *
 * The runtime reports facts (a record emitted, a snapshot taken, a checkpoint
 * completed, a transaction committed, leadership gained...) through the env's
 * observer. The trace, the metrics and the oracle consume them; the runtime never
 * judges itself. Events are plain values: every field is a number except detail,
 * a borrowed string valid only during the call.
 */
#ifndef RT_OBSERVE_H
#define RT_OBSERVE_H

#include <stdint.h>

/* Stable kinds: their names (rt_event_kind_name) appear in traces and CSV. Append
 * new kinds at the end of a group; never renumber (trace hashes include the kind). */
typedef enum RtEventKind {
    RT_EV_NONE = 0,
    /* records */
    RT_EV_RECORD_EMIT,       /* a source emitted: subtask, a=offset, key, b=value */
    RT_EV_RECORD_COUNT,      /* a counter applied a record: subtask, key, a=src, b=offset */
    RT_EV_SINK_COMMIT_RECORD,/* sink committed: subtask, key, a=src, b=offset, c=latency_ns */
    /* checkpoints (coordinator side) */
    RT_EV_CKPT_TRIGGER = 100,/* checkpoint_id */
    RT_EV_CKPT_ACK,          /* checkpoint_id, subtask, attempt */
    RT_EV_CKPT_DECLINE,      /* checkpoint_id, subtask, detail=reason */
    RT_EV_CKPT_COMPLETE,     /* checkpoint_id, detail=metadata path, a=duration_ns */
    RT_EV_CKPT_ABORT,        /* checkpoint_id, detail=reason */
    RT_EV_CKPT_SUBSUMED,     /* checkpoint_id */
    /* checkpoints (subtask side) */
    RT_EV_BARRIER_RECEIVED = 200, /* checkpoint_id, subtask, a=input channel */
    RT_EV_ALIGN_START,       /* checkpoint_id, subtask */
    RT_EV_ALIGN_END,         /* checkpoint_id, subtask, a=alignment duration_ns */
    RT_EV_SNAPSHOT_SYNC,     /* checkpoint_id, subtask: synchronous part taken */
    RT_EV_SNAPSHOT_PERSISTED,/* checkpoint_id, subtask, a=size bytes, b=channel-state bytes,
                                detail=state handle path */
    RT_EV_SNAPSHOT_FAILED,   /* checkpoint_id, subtask, detail=error */
    /* two-phase commit */
    RT_EV_TXN_PRECOMMIT = 300, /* subtask, a=txn id, checkpoint_id */
    RT_EV_TXN_COMMIT,        /* subtask, a=txn id */
    RT_EV_TXN_ABORT,         /* subtask, a=txn id */
    /* job lifecycle and recovery */
    RT_EV_JOB_RUNNING = 400, /* a=attempt */
    RT_EV_FAILOVER,          /* a=attempt, detail=cause */
    RT_EV_RESTORE,           /* checkpoint_id (0 = from scratch), subtask, a=attempt,
                              * b=the worker process it is deployed to (job manager's only).
                              * Emitted twice per subtask and attempt, on purpose: by the
                              * job manager when it deploys (what it chose) and by the
                              * subtask when its state is back (what it did); the oracle
                              * requires both to name the same checkpoint. */
    RT_EV_JOB_FINISHED,
    RT_EV_JOB_FAILED,        /* detail=cause */
    /* high availability */
    RT_EV_LEADER_GAINED = 500, /* a=leader session id (fencing token) */
    RT_EV_LEADER_LOST,
    RT_EV_CKPT_ID_ISSUED,    /* checkpoint_id */
    RT_EV_CKPT_PUBLISHED,    /* checkpoint_id, a=leader session id */
    RT_EV_COORD_SESSION,     /* a=RtCoordState */
    /* world (emitted by the world implementations, not by the runtime) */
    RT_EV_WORLD_CRASH = 900, /* process */
    RT_EV_WORLD_RESTART,     /* process */
    RT_EV_WORLD_FAULT,       /* detail=description */
} RtEventKind;

typedef struct RtSubtaskId {
    uint16_t op;    /* operator index in the job graph */
    uint16_t index; /* subtask index within the operator, < parallelism */
} RtSubtaskId;

typedef struct RtEvent {
    RtEventKind kind;
    uint32_t process;       /* filled by rt_env_observe */
    uint64_t time_ns;       /* filled by rt_env_observe */
    RtSubtaskId subtask;
    uint32_t attempt;       /* execution attempt */
    uint64_t checkpoint_id;
    uint64_t key;
    uint64_t a, b, c;       /* kind-specific, see RtEventKind */
    const char *detail;     /* borrowed, may be NULL */
} RtEvent;

typedef struct RtObserver RtObserver;
typedef struct RtObserverOps {
    void (*event)(RtObserver *self, const RtEvent *ev);
} RtObserverOps;
struct RtObserver {
    const RtObserverOps *ops;
};

/* Stable lower-case name of a kind ("ckpt_complete"), or "unknown". */
const char *rt_event_kind_name(RtEventKind kind);

#endif /* RT_OBSERVE_H */
