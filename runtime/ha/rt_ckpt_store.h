/* rt_ckpt_store.h - the completed-checkpoint store and the checkpoint ID counter, as
 * interfaces (ops table + base struct), after Flink's CompletedCheckpointStore and
 * CheckpointIDCounter. Without HA they live in durable storage (rt_ckpt_store_fs.h);
 * with HA a ZooKeeper-backed implementation plugs in behind the same ops, so the
 * coordinator and the job manager never change.
 *
 * The store's base struct holds the in-memory view every implementation shares: the
 * completed checkpoints, ascending by id. Publication rule (Flink's
 * addCheckpointAndSubsumeOldestOne): the new checkpoint is made durable and added
 * *before* any older one is removed; then, while more than num_retained are held, the
 * oldest is removed (never the latest): its durable entry is deleted first, then its
 * state handles are discarded through the discard function. Recovery reads every
 * stored checkpoint and fails loudly if any is unreadable: a job must never restart
 * from nothing while pointers to checkpoints exist.
 *
 * Asynchronous contract (RtEnv): an op fails at once (false + GError, no callback) or
 * calls its callback exactly once, later. Errors passed to callbacks are owned by the
 * callee. free() cancels callbacks of operations in flight.
 */
#ifndef RT_CKPT_STORE_H
#define RT_CKPT_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/env/rt_env.h"

#define RT_CKPT_STORE_ERROR (rt_ckpt_store_error_quark())
GQuark rt_ckpt_store_error_quark(void);
typedef enum {
    RT_CKPT_STORE_ERROR_FAILED,             /* the write failed; nothing was published */
    RT_CKPT_STORE_ERROR_POSSIBLY_PERSISTED, /* outcome unknown: state must be kept */
    RT_CKPT_STORE_ERROR_UNREADABLE,         /* recovery found a broken entry */
    RT_CKPT_STORE_ERROR_BUSY,               /* an operation is already in flight */
} RtCkptStoreError;

/* Discards the state a removed checkpoint refers to (best effort, no callback). */
typedef void (*RtCkptDiscardFunc)(void *user_data, const RtCompletedCheckpoint *cp);
typedef void (*RtCkptStoreDoneFunc)(void *user_data, GError *error);

typedef struct RtCkptStore RtCkptStore;
typedef struct RtCkptStoreOps {
    const char *name; /* stable: "filesystem", "zookeeper" */
    /* Replaces the in-memory view with every checkpoint in durable storage. */
    bool (*recover)(RtCkptStore *self, RtCkptStoreDoneFunc done, void *user_data,
                    GError **error);
    /* Publishes cp durably (takes ownership, also on failure), adds it, subsumes. done
     * runs once cp is published (or failed); subsumption continues in the background. */
    bool (*add)(RtCkptStore *self, RtCompletedCheckpoint *cp, RtCkptStoreDoneFunc done,
                void *user_data, GError **error);
    /* Where checkpoint id is (or would be) published, e.g. its _metadata path. Caller
     * frees. Reported in RT_EV_CKPT_COMPLETE. */
    char *(*location)(RtCkptStore *self, uint64_t checkpoint_id);
    void (*free)(RtCkptStore *self);
} RtCkptStoreOps;

struct RtCkptStore {
    const RtCkptStoreOps *ops; /* first */
    RtEnv *env;                /* borrowed: the job manager's process */
    char *job;                 /* owned: the job's name */
    GPtrArray *completed;      /* RtCompletedCheckpoint*, owned, ascending ids */
    uint32_t num_retained;     /* >= 1 */
    RtCkptDiscardFunc discard; /* may be NULL: then state is not discarded */
    void *discard_data;
};

/* Base helpers for implementations. */
void rt_ckpt_store_base_init(RtCkptStore *self, const RtCkptStoreOps *ops, RtEnv *env,
                             const char *job, uint32_t num_retained, RtCkptDiscardFunc discard,
                             void *discard_data);
void rt_ckpt_store_base_deinit(RtCkptStore *self);
/* Appends cp (owned) to the in-memory view; asserts its id is above the latest. */
void rt_ckpt_store_base_append(RtCkptStore *self, RtCompletedCheckpoint *cp);
/* Takes the oldest checkpoint out if more than num_retained are held (never the
 * latest); emits RT_EV_CKPT_SUBSUMED. Returns it (caller owns) or NULL. */
RtCompletedCheckpoint *rt_ckpt_store_base_take_subsumed(RtCkptStore *self);

/* Wrappers. */
bool rt_ckpt_store_recover(RtCkptStore *store, RtCkptStoreDoneFunc done, void *user_data,
                           GError **error);
bool rt_ckpt_store_add(RtCkptStore *store, RtCompletedCheckpoint *cp,
                       RtCkptStoreDoneFunc done, void *user_data, GError **error);
void rt_ckpt_store_free(RtCkptStore *store);
/* See RtCkptStoreOps.location (caller frees). */
char *rt_ckpt_store_location(RtCkptStore *store, uint64_t checkpoint_id);
/* The job's name, borrowed. */
const char *rt_ckpt_store_job(const RtCkptStore *store);
/* Number of completed checkpoints held. */
guint rt_ckpt_store_count(const RtCkptStore *store);
/* The i-th oldest (0 = oldest), borrowed. */
const RtCompletedCheckpoint *rt_ckpt_store_get(const RtCkptStore *store, guint i);
/* The latest, or NULL when empty. Borrowed. */
const RtCompletedCheckpoint *rt_ckpt_store_latest(const RtCkptStore *store);

/* ------------------------------------------------------------- ID counter */

typedef void (*RtCkptIdCounterStartFunc)(void *user_data, GError *error);
typedef void (*RtCkptIdFunc)(void *user_data, uint64_t checkpoint_id, GError *error);

typedef struct RtCkptIdCounter RtCkptIdCounter;
typedef struct RtCkptIdCounterOps {
    const char *name;
    /* Loads the durable value (first id 1 when there is none). */
    bool (*start)(RtCkptIdCounter *self, RtCkptIdCounterStartFunc done, void *user_data,
                  GError **error);
    /* Returns the current value and durably increments it, before the id is used. One
     * call in flight at a time. */
    bool (*get_and_increment)(RtCkptIdCounter *self, RtCkptIdFunc done, void *user_data,
                              GError **error);
    void (*free)(RtCkptIdCounter *self);
} RtCkptIdCounterOps;

struct RtCkptIdCounter {
    const RtCkptIdCounterOps *ops; /* first */
    RtEnv *env;                    /* borrowed */
    uint64_t floor;                /* ids handed out are >= floor (see set_floor) */
};

bool rt_ckpt_id_counter_start(RtCkptIdCounter *c, RtCkptIdCounterStartFunc done,
                              void *user_data, GError **error);
/* The caller (the coordinator) reports RT_EV_CKPT_ID_ISSUED for the id it gets. */
bool rt_ckpt_id_counter_get_and_increment(RtCkptIdCounter *c, RtCkptIdFunc done,
                                          void *user_data, GError **error);
/* Ids handed out from now on are >= floor (as Flink's setCount after a restore: never
 * reuse the id of a checkpoint found in the store). */
void rt_ckpt_id_counter_set_floor(RtCkptIdCounter *c, uint64_t floor);
void rt_ckpt_id_counter_free(RtCkptIdCounter *c);

#endif /* RT_CKPT_STORE_H */
