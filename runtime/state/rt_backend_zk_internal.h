/* rt_backend_zk_internal.h - private to the "zookeeper" state backend: what
 * rt_backend_zk.c (sessions, the op list, cancel/clear/free, configuration),
 * rt_backend_zk_snapshot.c (the snapshot writer), rt_backend_zk_restore.c (restore and
 * discard) and rt_backend_zk_manifest.c (the znode layout, the manifest codec and the
 * synchronous reader) share. Not for other modules. */
#ifndef RT_BACKEND_ZK_INTERNAL_H
#define RT_BACKEND_ZK_INTERNAL_H

#include "runtime/state/rt_backend_zk.h"

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#define ZK_MANIFEST_NAME "manifest"
#define ZK_WINDOW 16u /* chunk calls in flight per operation */

#define KEY_ADDRESS "state.backend.zookeeper.address"
#define KEY_PATH "state.backend.zookeeper.path"
#define KEY_CHUNK "state.backend.zookeeper.chunk-size"
#define KEY_MAX_STATE "state.backend.zookeeper.max-state-size"

/* The number of chunk_bytes-sized chunks that hold size_bytes (saturating). */
static inline uint32_t chunks_for(uint64_t size_bytes, uint32_t chunk_bytes) {
    assert(chunk_bytes > 0);
    uint64_t n = (size_bytes + chunk_bytes - 1) / chunk_bytes;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

typedef struct ZkBackend ZkBackend;
typedef struct ZkOp ZkOp;

/* One RtCoord session. */
typedef struct ZkSession {
    ZkBackend *b;
    RtCoord *coord;
    uint32_t ops; /* ops bound to this session (still on b->ops) */
    bool dead;    /* expired or closed: on b->retired, freed when ops reaches 0 */
} ZkSession;

typedef enum ZkOpKind { ZK_SNAPSHOT, ZK_RESTORE, ZK_DISCARD } ZkOpKind;

/* What a chunk call's callback gets: its op and chunk index. */
typedef struct ZkCall {
    ZkOp *op;
    uint32_t index;
} ZkCall;

struct ZkOp {
    ZkBackend *b;
    ZkSession *s;
    ZkOpKind kind;
    bool finished;        /* outcome delivered or dropped: no callback will run */
    bool manifest_issued; /* snapshot: the manifest write is out */
    bool wrote;           /* snapshot: some write was issued */
    bool cleanup;         /* snapshot: delete its znodes once the calls drained */
    uint32_t outstanding; /* RtCoord calls in flight */
    char *dir;            /* the snapshot's znode */
    GBytes *bytes;        /* snapshot: the encoding */
    uint8_t *buf;         /* restore: the encoding being assembled (m.size_bytes) */
    RtStateHandle *handle;/* snapshot: to deliver; restore: a copy to check against */
    RtBackendZkManifest m;
    uint32_t next_chunk;  /* next chunk to issue */
    uint32_t chunks_done; /* chunks written / read */
    ZkCall *calls;        /* m.chunk_count of them */
    RtSnapshotDoneFunc snap_done;
    RtRestoreDoneFunc restore_done;
    void *user_data;
};

struct ZkBackend {
    RtStateBackend base;
    char *address;               /* connect string */
    char *root;                  /* root znode, no trailing '/' */
    uint64_t session_timeout_ns;
    uint64_t connect_timeout_ns;
    uint32_t chunk_bytes;
    uint64_t max_state_bytes;
    ZkSession *session;          /* current, NULL when none is open */
    GPtrArray *retired;          /* ZkSession*: dead, ops still draining */
    GPtrArray *ops;              /* ZkOp*, not observable (counted, cancelled, freed) */
    GHashTable *known_dirs;      /* znode paths known to exist (lookups only) */
    uint32_t depth;              /* RtCoord callbacks of this backend on the stack */
    bool free_pending;           /* free() was called inside one of them */
};

/* Defined in rt_backend_zk.c: brackets, sessions, the op list, shared helpers. */

/* Opens a bracket around an RtCoord callback of b (a free() inside only marks b). */
void rt_backend_zk_enter(ZkBackend *b);
/* Closes the bracket; destroys b when the outermost one closes after a free(). */
void rt_backend_zk_leave(ZkBackend *b);
/* The live session, opening one if needed; NULL + error when the open fails. */
ZkSession *rt_backend_zk_session_get(ZkBackend *b, GError **error);
/* False + error when ZK_MAX_PENDING ops are already in flight. */
bool rt_backend_zk_check_capacity(ZkBackend *b, GError **error);
/* A new op of kind on dir, bound to s and put on b's list (borrowed: freed by settle). */
ZkOp *rt_backend_zk_op_new(ZkBackend *b, ZkSession *s, ZkOpKind kind, const char *dir);
/* Frees op's encoding, restore buffer and handle (the op itself stays). */
void rt_backend_zk_op_drop_payload(ZkOp *op);
/* Frees op once it is finished and its calls drained (after a pending cleanup). */
void rt_backend_zk_op_settle(ZkOp *op);
/* Marks op finished without a callback; a snapshot that wrote gets cleaned up. */
void rt_backend_zk_op_drop(ZkOp *op);
/* Fails op with error (owned), prefixed with what; runs the owner's callback once. */
void rt_backend_zk_op_fail(ZkOp *op, GError *error, const char *what);
/* Whether location is a usable snapshot znode (absolute, not /, room for a chunk). */
bool rt_backend_zk_location_valid(const char *location);
/* The path of op's chunk number index (newly allocated). */
char *rt_backend_zk_chunk_path(const ZkOp *op, uint32_t index);

/* Defined in rt_backend_zk_snapshot.c. */

/* The .snapshot op: starts writing encoded under target's znode (rt_state_backend.h). */
bool rt_backend_zk_snapshot_start(RtStateBackend *self, const RtSnapshotTarget *target,
                                  GBytes *encoded, RtSnapshotDoneFunc done, void *user_data,
                                  GError **error);

/* Defined in rt_backend_zk_restore.c. */

/* The .restore op: starts reading the snapshot of handle back (rt_state_backend.h). */
bool rt_backend_zk_restore_start(RtStateBackend *self, const RtStateHandle *handle,
                                 RtRestoreDoneFunc done, void *user_data, GError **error);
/* Best effort, no callback: deletes the snapshot under dir (manifest first). */
void rt_backend_zk_discard_dir(ZkBackend *b, const char *dir);
/* The .discard op: discards the snapshot of handle if its location is valid. */
void rt_backend_zk_discard(RtStateBackend *self, const RtStateHandle *handle);

#endif /* RT_BACKEND_ZK_INTERNAL_H */
