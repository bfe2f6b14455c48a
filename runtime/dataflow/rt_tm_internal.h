/* rt_tm_internal.h - the task manager's internals shared by rt_taskmanager.c (control
 * with the job manager, data connections, deployment) and rt_subtask.c (one subtask:
 * input queue, barrier handler, operator, snapshots). Not a public interface.
 */
#ifndef RT_TM_INTERNAL_H
#define RT_TM_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/checkpoint/rt_barrier_handler.h"
#include "runtime/dataflow/rt_cluster.h"
#include "runtime/dataflow/rt_output.h"
#include "runtime/dataflow/rt_protocol.h"
#include "runtime/operators/rt_operator.h"
#include "runtime/state/rt_state_backend.h"

#define RT_TM_ABORTED_IDS 16u          /* JM-aborted checkpoint ids a subtask remembers */
#define RT_TM_STEP_MAX_RECORDS 2048u   /* records a subtask processes in one step */
#define RT_TM_STEP_MAX_ITEMS 64u       /* input items (buffers, events) in one step */
#define RT_TM_MAX_STASH 65536u         /* messages of a future attempt kept */
#define RT_TM_LOCAL_BATCH 256u         /* local messages delivered per timer */
/* Virtual CPU cost of one record in one subtask (1 us: a subtask handles at most 1 M
 * records per simulated second), so simulated time advances with the work done and
 * checkpoints interleave with processing as in a real job. */
#define RT_TM_RECORD_COST_NS 1000u
/* Records of channel state one subtask captures for one unaligned checkpoint; beyond
 * it the checkpoint is declined (ASYNC_FAILED) on this subtask. */
#define RT_TM_MAX_CHANNEL_STATE_RECORDS (1u << 20)

typedef struct RtTaskManager RtTaskManager;
typedef struct RtSubtask RtSubtask;

typedef enum RtSubtaskState {
    RT_SUBTASK_RESTORING, /* reading its state back; input queues up */
    RT_SUBTASK_RUNNING,
    RT_SUBTASK_FAILED,    /* reported TASK_FAILED; waits for CANCEL / a new DEPLOY */
} RtSubtaskState;

/* Task manager settings read from the configuration once. */
typedef struct RtTmConfig {
    RtBarrierMode mode;            /* execution.checkpointing.mode and .unaligned.enabled */
    RtBarrierKind barrier_kind;    /* the kind sources emit: ALIGNED, UNALIGNED (unaligned
                                      without timeout) or AT_LEAST_ONCE */
    uint64_t alignment_timeout_ns; /* ...aligned-checkpoint-timeout with unaligned enabled:
                                      aligned barriers switch after this; 0 = never */
    uint64_t buffer_timeout_ns;    /* execution.buffer-timeout (100 ms) */
    uint32_t buffers_per_channel;  /* taskmanager.network.memory.buffers-per-channel (2) */
    uint32_t floating_per_gate;    /* ...floating-buffers-per-gate (8) */
    uint32_t batch;                /* records per buffer, from taskmanager.memory.segment-size */
    uint32_t max_queued;           /* finished buffers per output channel before backpressure */
    uint64_t reconnect_ns;         /* delay before re-registering with a lost JM */
    uint64_t record_cost_ns;       /* virtual CPU time one record costs a subtask */
} RtTmConfig;

/* One input channel of a subtask. */
typedef struct RtInChannel {
    RtChannelKey key;
    RtProcessId peer;     /* the producer's process (CREDIT / RESUME go there) */
    bool ended;           /* END_OF_PARTITION received */
    uint64_t seq;         /* items that arrived on the channel (last item's seq) */
    uint64_t barrier_id;  /* highest checkpoint whose barrier arrived, 0 = none */
    uint64_t barrier_seq; /* seq of that barrier: items before it precede it */
} RtInChannel;

/* A decoded message waiting in a subtask's input queue. */
typedef struct RtInItem {
    RtMsgType type;       /* BUFFER, BARRIER, CANCEL_MARKER, END_OF_PARTITION */
    uint32_t channel;     /* input channel index */
    uint32_t n;           /* records (BUFFER) */
    RtRecord *recs;       /* owned (BUFFER) */
    uint64_t checkpoint_id;
    uint64_t timestamp_ns;
    RtBarrierKind kind;
    uint64_t seq;         /* arrival order on its channel (0: restored channel state) */
    bool restored;        /* restored input channel state: processing grants no credit */
} RtInItem;

struct RtSubtask {
    RtTaskManager *tm;
    RtEnv *env;
    RtSubtaskId id;
    uint32_t attempt;
    const RtOperatorSpec *spec;
    RtSubtaskState state;
    RtKeyedStateStore *keyed;    /* keyed operators only */
    RtOperator *op;
    RtOutput *out;
    uint32_t n_inputs;
    RtInChannel *inputs;         /* owned */
    uint32_t n_ended;            /* inputs with END_OF_PARTITION */
    GQueue input;                /* RtInItem*, arrival order */
    RtBarrierHandler *handler;   /* NULL for sources */
    uint64_t last_checkpoint_id; /* highest checkpoint taken (out-of-order guard) */
    uint64_t aborted[RT_TM_ABORTED_IDS];
    uint32_t n_aborted;
    RtTimerId step_timer;
    RtTimerId flush_timer;
    RtTimerId align_timer;       /* alignment timeout of the barrier handler */
    uint64_t promote_id;         /* unaligned checkpoint whose queued barriers jump ahead */
    uint64_t busy_until_ns;      /* virtual CPU: no step starts before this time */
    bool eop_sent;               /* END_OF_PARTITION sent downstream */
    bool done_sent;              /* TASK_DONE sent */
    /* restore */
    uint64_t restore_checkpoint_id;
    RtStateHandle *restore_handle; /* owned until restored */
    GPtrArray *snapshots;        /* snapshots in flight (owned contexts) */
    uint32_t *edge_base;         /* per graph edge: first input channel, or UINT32_MAX */
    uint64_t records_in, records_out;
};

struct RtTaskManager {
    RtEnv *env;
    const RtJobSpec *spec;
    RtTmConfig cfg;
    RtStateBackend *backend;
    /* control */
    uint32_t n_jm;
    RtChannel **jm;              /* per job manager: our connection, NULL when down */
    RtTimerId *jm_retry;         /* per job manager: reconnect timer */
    void **jm_ctx;               /* per job manager: channel user data */
    GPtrArray *control_in;       /* accepted control channels' contexts */
    RtChannel *deployer;         /* the channel the current attempt came from */
    /* data */
    GHashTable *data_out;        /* peer pid -> context of our channel to it */
    GPtrArray *data_in;          /* accepted data channels' contexts */
    GQueue local;                /* GBytes*: messages to ourselves, FIFO */
    RtTimerId local_timer;
    GQueue stash;                /* GBytes*: data of a future attempt */
    /* the deployment */
    uint32_t attempt;            /* current attempt, 0 = none */
    bool failed;                 /* TASK_FAILED reported for attempt */
    bool finished;               /* FINISH received for attempt */
    uint32_t n_subtasks;         /* of the job */
    RtProcessId *location;       /* per global subtask */
    RtSubtask **subtasks;        /* per global subtask, NULL if not here */
    uint32_t n_local, n_running;
    bool deployed_sent;
    GByteArray *scratch;
};

/* rt_taskmanager.c */
void rt_tm_send_data(void *tm, RtProcessId peer, const void *data, size_t len);
void rt_tm_send_control(RtTaskManager *tm, const RtMsg *msg);
/* The attempt failed here: report TASK_FAILED once; subtasks stop. */
void rt_tm_fail(RtTaskManager *tm, RtSubtaskId id, const char *reason);
/* A subtask finished restoring. */
void rt_tm_subtask_running(RtTaskManager *tm, RtSubtask *st);
uint32_t rt_tm_input_channels_of(const RtJobGraph *g, uint32_t op);
uint32_t rt_tm_initial_credits(const RtTaskManager *tm, uint32_t consumer_op);

/* rt_subtask.c */
RtSubtask *rt_subtask_new(RtTaskManager *tm, RtSubtaskId id, uint64_t restore_checkpoint_id,
                          RtStateHandle *restore_handle /* taken, may be NULL */);
/* Starts restoring (asynchronously) and then running. */
void rt_subtask_start(RtSubtask *st);
void rt_subtask_free(RtSubtask *st);
/* A data message for this subtask's input (BUFFER, BARRIER, CANCEL_MARKER, EOP). */
void rt_subtask_on_input(RtSubtask *st, const RtMsg *msg);
/* A CREDIT or RESUME for one of this subtask's output channels. */
void rt_subtask_on_output_control(RtSubtask *st, const RtMsg *msg);
void rt_subtask_on_trigger(RtSubtask *st, uint64_t id, uint64_t timestamp_ns);
void rt_subtask_on_notify_complete(RtSubtask *st, uint64_t id);
void rt_subtask_on_notify_abort(RtSubtask *st, uint64_t id);

#endif /* RT_TM_INTERNAL_H */
