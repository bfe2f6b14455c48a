/* rt_operator.h - the user-function side of a subtask: what an operator does with a
 * record, what it puts in a snapshot, and what it does when a checkpoint completes,
 * as Flink's StreamOperator + CheckpointedFunction + CheckpointListener.
 *
 * The subtask (runtime/dataflow/rt_subtask.c) owns the operator and drives it from the
 * env's loop: open (restore) once, then process / produce, snapshot, notify_complete,
 * end_of_input, and finally free. Emitted records go to the subtask's outputs through
 * ctx->emit. Keyed operators get a keyed state store in ctx->keyed and must scope it
 * with rt_keyed_state_set_current_key() per record.
 *
 * Asynchronous parts (the sink's pre-commit write, its recovery commits) report back
 * through the done callbacks given to open and snapshot; an operator instance that is
 * freed with work in flight never calls them (it uses an RtLifeline).
 */
#ifndef RT_OPERATOR_H
#define RT_OPERATOR_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_cluster.h"
#include "runtime/dataflow/rt_protocol.h"
#include "runtime/env/rt_env.h"
#include "runtime/state/rt_keyed_state.h"
#include "runtime/state/rt_snapshot.h"

#define RT_OPERATOR_ERROR (rt_operator_error_quark())
GQuark rt_operator_error_quark(void);
typedef enum {
    RT_OPERATOR_ERROR_RESTORE, /* restored operator state is malformed */
    RT_OPERATOR_ERROR_IO,      /* the external system (storage) failed */
} RtOperatorError;

typedef void (*RtEmitFunc)(void *ud, const RtRecord *rec);
/* Asynchronous part finished: error NULL on success (borrowed for the call). */
typedef void (*RtOperatorDoneFunc)(void *ud, const GError *error);

/* What an operator instance knows about its place in the job. Borrowed pointers live
 * as long as the subtask. */
typedef struct RtOperatorContext {
    RtEnv *env;
    const RtJobSpec *job;
    const RtOperatorSpec *spec;
    RtSubtaskId id;
    uint32_t attempt;
    RtKeyedStateStore *keyed; /* keyed operators only, else NULL */
    RtEmitFunc emit;          /* NULL for sinks */
    void *emit_ud;
    /* Called when asynchronous work of the operator made progress (a commit finished:
     * is_done may have changed; error NULL) or failed so that the task must fail
     * (error set, borrowed). May be NULL. */
    RtOperatorDoneFunc progress;
    void *progress_ud;
} RtOperatorContext;

typedef struct RtOperator RtOperator;
typedef struct RtOperatorOps {
    const char *name; /* stable: "source", "map", "counter", "listmap", "sink" */
    /* Restores from restored (NULL = fresh start). Returns false + error if the state is
     * unusable. Sets *async to true when it started asynchronous recovery work and will
     * call done (exactly once, later) when it is finished; false otherwise (done is then
     * never called). May be NULL: nothing to restore. */
    bool (*open)(RtOperator *self, const RtSnapshot *restored, bool *async,
                 RtOperatorDoneFunc done, void *ud, GError **error);
    /* One input record (not for sources). */
    void (*process)(RtOperator *self, const RtRecord *rec);
    /* Sources: emits up to max records through ctx->emit; returns how many. Sets
     * *next_due_ns to the time the next record may be emitted (rate limit), 0 if it may
     * be emitted at once, UINT64_MAX when the source is exhausted. */
    uint32_t (*produce)(RtOperator *self, uint32_t max, uint64_t *next_due_ns);
    /* Every input reached end of data (not for sources). May be NULL. */
    void (*end_of_input)(RtOperator *self);
    /* Synchronous part of checkpoint id: writes operator state into snap (keyed state
     * is taken by the subtask). Sets *async like open when there is asynchronous work
     * (the sink's pre-commit) that must finish before the acknowledgement. May be NULL. */
    bool (*snapshot)(RtOperator *self, uint64_t id, RtSnapshot *snap, bool *async,
                     RtOperatorDoneFunc done, void *ud, GError **error);
    /* Checkpoint id completed (best effort: may be skipped). May be NULL. */
    void (*notify_complete)(RtOperator *self, uint64_t id);
    /* True when the operator has nothing left to do after end of input (sources: all
     * records emitted; sinks: every transaction committed). */
    bool (*is_done)(RtOperator *self);
    void (*free)(RtOperator *self);
} RtOperatorOps;

struct RtOperator {
    const RtOperatorOps *ops;
    RtOperatorContext ctx;
};

/* Creates the operator for ctx->spec->kind (ctx is copied). */
RtOperator *rt_operator_new(const RtOperatorContext *ctx);
void rt_operator_free(RtOperator *op);

/* Constructors (rt_operator_new dispatches to them). */
RtOperator *rt_source_new(const RtOperatorContext *ctx);
RtOperator *rt_map_new(const RtOperatorContext *ctx);
RtOperator *rt_counter_new(const RtOperatorContext *ctx);
RtOperator *rt_listmap_new(const RtOperatorContext *ctx);
RtOperator *rt_sink_new(const RtOperatorContext *ctx);

/* True for operators that need a keyed state store (counter, listmap). */
bool rt_operator_kind_is_keyed(RtOperatorKind kind);

/* Names of the keyed states (for the oracle and tests). */
#define RT_COUNTER_STATE "count"           /* ValueState<u64>: records seen per key */
#define RT_LISTMAP_LIST_STATE "last"       /* ListState<u64>: last values per key */
#define RT_LISTMAP_MAP_STATE "value-count" /* MapState<u64,u64>: value bucket -> count */
#define RT_LISTMAP_LAST_N 4u               /* list length kept per key */
#define RT_LISTMAP_BUCKETS 16u             /* map keys: value % buckets */

#endif /* RT_OPERATOR_H */
