/* rt_coord.h - coordination with ZooKeeper semantics: the interface the runtime's HA code
 * (leader election, checkpoint ID counter, completed-checkpoint store) and the zookeeper
 * state backend use. Two implementations: the simulated ensemble (sim/world/sim_zk.c) and
 * the real client on libzookeeper_mt (rt_coord_zk.c). One contract suite
 * (tests/test_coord_contract.c) runs against both, so the model stays honest.
 *
 * A handle is one ZooKeeper session. Lifecycle: open (env->coord_open or an
 * implementation's own constructor) -> CONNECTING -> CONNECTED <-> SUSPENDED -> EXPIRED,
 * or CLOSED when the first connection never came up within the connect timeout (or the
 * server refused our credentials). Once EXPIRED or CLOSED a handle is dead: every call
 * fails at once; open a new one (as Curator does). rt_coord_free() closes the session
 * (its ephemeral nodes go) and drops every pending callback and watch without calling it.
 *
 * Asynchronous contract (STYLE.md): a call either fails at once (false + GError, the
 * callback never runs: bad path, data too large, dead handle, too many calls pending) or
 * returns true and calls its callback exactly once, later, on the owner's loop, never
 * before the call returns. Completions of one handle arrive in the order of the calls
 * (ZooKeeper's FIFO client order), and a watch event is delivered before the reply of the
 * call whose write triggered it. The GError passed to a callback is owned by the callback
 * (free it with g_error_free), as in rt_env.h.
 *
 * Connection loss: when the connection drops, the session handler sees SUSPENDED and every
 * pending call fails with RT_COORD_ERROR_CONNECTION_LOSS. Such a write may or may not have
 * been applied (rt_coord_error_outcome_unknown). The client reconnects on its own; if the
 * server expired the session meanwhile, the handler sees EXPIRED only then: a client
 * learns of its expiry when it reconnects (the zombie window), so fencing must rely on
 * versions and checks inside ZooKeeper, never on "my session is alive".
 *
 * Watches are one-shot: a watch set by get/exists/children fires once with the event that
 * triggered it, or once with RT_COORD_EVENT_SESSION_ENDED when the session expires first.
 * Watches survive a suspension (a change made meanwhile fires after the reconnect).
 *
 * Paths are absolute ("/a/b"), relative to the handle's chroot. Versions are ZooKeeper's
 * int32 data versions; RT_COORD_ANY_VERSION (-1) matches any.
 */
#ifndef RT_COORD_H
#define RT_COORD_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/env/rt_config.h"
#include "runtime/env/rt_env.h"

/* ------------------------------------------------------------------ constants */

#define RT_COORD_ANY_VERSION (-1)
/* The server's jute.maxbuffer (1048575 bytes) bounds a whole request packet; a bigger one
 * makes the real server drop the connection (connection loss, not an error). The wrappers
 * refuse, at once, a call whose data plus paths exceed this budget (perf-anchors.md §3). */
#define RT_COORD_PACKET_MAX_BYTES 1048575u
#define RT_COORD_DATA_MAX_BYTES (RT_COORD_PACKET_MAX_BYTES - 1024u)
#define RT_COORD_PATH_MAX_BYTES 512u /* a path, chroot excluded */
#define RT_COORD_CHROOT_MAX_BYTES 256u
#define RT_COORD_MULTI_MAX_OPS 256u  /* a bound on one transaction */
#define RT_COORD_PENDING_MAX 100000u /* calls in flight per handle; more fail at once */

/* Flink's defaults (HighAvailabilityOptions). */
#define RT_COORD_DEFAULT_SESSION_TIMEOUT_NS (60ull * 1000000000ull)
#define RT_COORD_DEFAULT_CONNECT_TIMEOUT_NS (15ull * 1000000000ull)

/* --------------------------------------------------------------------- errors */

#define RT_COORD_ERROR (rt_coord_error_quark())
GQuark rt_coord_error_quark(void);
/* ZooKeeper's error codes are translated to these in exactly one file per implementation
 * family (rt_coord_zk_error.c for the real client). */
typedef enum RtCoordError {
    RT_COORD_ERROR_NO_NODE = 1,                /* ZNONODE */
    RT_COORD_ERROR_NODE_EXISTS,                /* ZNODEEXISTS */
    RT_COORD_ERROR_BAD_VERSION,                /* ZBADVERSION */
    RT_COORD_ERROR_NOT_EMPTY,                  /* ZNOTEMPTY */
    RT_COORD_ERROR_NO_CHILDREN_FOR_EPHEMERALS, /* ZNOCHILDRENFOREPHEMERALS */
    RT_COORD_ERROR_CONNECTION_LOSS,            /* ZCONNECTIONLOSS: outcome unknown */
    RT_COORD_ERROR_OPERATION_TIMEOUT,          /* ZOPERATIONTIMEOUT: outcome unknown */
    RT_COORD_ERROR_SESSION_EXPIRED,            /* ZSESSIONEXPIRED, or ZINVALIDSTATE after it */
    RT_COORD_ERROR_MARSHALLING,                /* ZMARSHALLINGERROR */
    RT_COORD_ERROR_BAD_ARGUMENTS,              /* ZBADARGUMENTS, or a malformed path */
    RT_COORD_ERROR_NO_AUTH,                    /* ZNOAUTH */
    RT_COORD_ERROR_AUTH_FAILED,                /* ZAUTHFAILED */
    RT_COORD_ERROR_INVALID_ACL,                /* ZINVALIDACL */
    RT_COORD_ERROR_CLOSED,                     /* ZCLOSING, or the handle is CLOSED */
    RT_COORD_ERROR_CONFIG,                     /* malformed connect string or settings */
    RT_COORD_ERROR_UNREACHABLE,                /* no server answered within the connect timeout */
    RT_COORD_ERROR_TOO_LARGE,                  /* request over RT_COORD_PACKET_MAX_BYTES */
    RT_COORD_ERROR_TOO_BUSY,                   /* more than RT_COORD_PENDING_MAX calls pending */
    RT_COORD_ERROR_SYSTEM,                     /* any other ZooKeeper error */
} RtCoordError;

/* Stable name of a code ("no_node"), "unknown" otherwise. */
const char *rt_coord_error_name(int code);
/* True when a write that failed with this error may nevertheless have been applied
 * (connection loss, operation timeout): its state must never be discarded. */
bool rt_coord_error_outcome_unknown(const GError *error);

/* ------------------------------------------------------------- value types */

typedef enum RtCoordState {
    RT_COORD_CONNECTING = 1, /* opened, never connected yet */
    RT_COORD_CONNECTED,      /* connected (also after a reconnect) */
    RT_COORD_SUSPENDED,      /* connection lost; the session may still be alive */
    RT_COORD_EXPIRED,        /* the server expired the session (learned on reconnect) */
    RT_COORD_CLOSED,         /* never connected within the connect timeout, or auth failed */
} RtCoordState;
const char *rt_coord_state_name(RtCoordState state);

typedef enum RtCoordCreateFlags {
    RT_COORD_PERSISTENT = 0,
    RT_COORD_EPHEMERAL = 1 << 0,  /* deleted when the creating session ends */
    RT_COORD_SEQUENTIAL = 1 << 1, /* name suffixed with %010d of the parent's cversion */
} RtCoordCreateFlags;

typedef enum RtCoordEventType {
    RT_COORD_EVENT_CREATED = 1,      /* exists-watch: the node was created */
    RT_COORD_EVENT_DELETED,          /* the node was deleted */
    RT_COORD_EVENT_DATA_CHANGED,     /* set on the node */
    RT_COORD_EVENT_CHILDREN_CHANGED, /* a child was created or deleted */
    RT_COORD_EVENT_SESSION_ENDED,    /* the session expired before the watch triggered */
} RtCoordEventType;
const char *rt_coord_event_name(RtCoordEventType type);

/* ZooKeeper's Stat, minus the wall-clock times. */
typedef struct RtCoordStat {
    int64_t czxid;           /* zxid of the create */
    int64_t mzxid;           /* zxid of the last set (or the create) */
    int64_t pzxid;           /* zxid of the last child create/delete */
    int32_t version;         /* data version: number of sets */
    int32_t cversion;        /* child version: number of child creates + deletes */
    int64_t ephemeral_owner; /* owning session id, 0 for a persistent node */
    int32_t data_length;     /* bytes */
    int32_t num_children;
} RtCoordStat;

typedef struct RtCoord RtCoord;

/* Session state changes. Called on the owner's loop, for each transition. */
typedef void (*RtCoordSessionFunc)(RtCoord *coord, RtCoordState state, void *user_data);
/* A one-shot watch fired. path is borrowed (chroot-relative). */
typedef void (*RtCoordWatchFunc)(RtCoord *coord, RtCoordEventType type, const char *path,
                                 void *user_data);
typedef struct RtCoordWatch {
    RtCoordWatchFunc func;
    void *user_data;
} RtCoordWatch;

/* Completions. Everything but error is borrowed for the call; on error the rest is
 * NULL/0. */
typedef void (*RtCoordDoneFunc)(RtCoord *coord, GError *error, void *user_data);
/* path_created: the node's actual path (with the sequence suffix), chroot-relative. */
typedef void (*RtCoordCreateFunc)(RtCoord *coord, const char *path_created, GError *error,
                                  void *user_data);
/* exists: stat NULL (and no error) when the node does not exist. set: the new stat. */
typedef void (*RtCoordStatFunc)(RtCoord *coord, const RtCoordStat *stat, GError *error,
                                void *user_data);
typedef void (*RtCoordDataFunc)(RtCoord *coord, const void *data, size_t len,
                                const RtCoordStat *stat, GError *error, void *user_data);
/* names: the children's names, sorted (strcmp), NULL-terminated; n of them. */
typedef void (*RtCoordChildrenFunc)(RtCoord *coord, const char *const *names, size_t n,
                                    const RtCoordStat *stat, GError *error, void *user_data);

/* ------------------------------------------------------------------- multi */

typedef enum RtCoordOpType {
    RT_COORD_OP_CHECK = 1, /* version check only */
    RT_COORD_OP_CREATE,
    RT_COORD_OP_SET,
    RT_COORD_OP_DELETE,
} RtCoordOpType;

typedef struct RtCoordOp {
    RtCoordOpType type;
    const char *path; /* borrowed for the call (copied) */
    const void *data; /* create, set: borrowed for the call (copied) */
    size_t len;       /* bytes */
    unsigned flags;   /* create: RtCoordCreateFlags */
    int32_t version;  /* check, set, delete: expected version or RT_COORD_ANY_VERSION */
} RtCoordOp;

static inline RtCoordOp rt_coord_op_check(const char *path, int32_t version) {
    RtCoordOp op = {RT_COORD_OP_CHECK, path, NULL, 0, 0, version};
    return op;
}
static inline RtCoordOp rt_coord_op_create(const char *path, const void *data, size_t len,
                                           unsigned flags) {
    RtCoordOp op = {RT_COORD_OP_CREATE, path, data, len, flags, RT_COORD_ANY_VERSION};
    return op;
}
static inline RtCoordOp rt_coord_op_set(const char *path, const void *data, size_t len,
                                        int32_t version) {
    RtCoordOp op = {RT_COORD_OP_SET, path, data, len, 0, version};
    return op;
}
static inline RtCoordOp rt_coord_op_delete(const char *path, int32_t version) {
    RtCoordOp op = {RT_COORD_OP_DELETE, path, NULL, 0, 0, version};
    return op;
}

typedef struct RtCoordOpResult {
    RtCoordOpType type;
    const char *path_created; /* create: actual path; NULL otherwise */
    RtCoordStat stat;         /* set: the new stat; zero otherwise */
} RtCoordOpResult;

/* All or nothing. On success results[i] answers ops[i] (n of them). On failure nothing
 * was applied, results is NULL, and error carries the first failing op's code, with its
 * index and path in the message. */
typedef void (*RtCoordMultiFunc)(RtCoord *coord, const RtCoordOpResult *results, size_t n,
                                 GError *error, void *user_data);

/* ------------------------------------------------------------------ config */

struct RtCoordConfig {
    const char *connect_string;    /* "host:port[,host:port...][/chroot]"; borrowed */
    const char *chroot;            /* NULL, or "/flink": appended to the connect string's */
    uint64_t session_timeout_ns;   /* requested; the server clamps it (4..40 s by default) */
    uint64_t connect_timeout_ns;   /* no first connection by then => CLOSED */
    const char *digest_auth;       /* NULL, or "user:password": nodes we create get the
                                      creator-all ACL for that digest identity */
    RtCoordSessionFunc on_session; /* may be NULL */
    void *session_user_data;
};

/* Flink's defaults: session 60 s, connect 15 s, everything else NULL. */
void rt_coord_config_init(RtCoordConfig *cfg);
/* Fills cfg from Flink's keys: high-availability.zookeeper.quorum (required),
 * ...zookeeper.client.session-timeout, ...client.connection-timeout,
 * ...zookeeper.path.root (default "/flink") as the chroot. Strings are borrowed from conf.
 * The cluster-id is not part of the chroot: HA code puts it under the root itself.
 * False + RT_COORD_ERROR_CONFIG on a missing quorum or malformed value. */
bool rt_coord_config_from_flink(RtCoordConfig *cfg, const RtConfig *conf, GError **error);
/* Validates cfg (connect string, chroot, timeouts, digest) at once, without any I/O.
 * On success sets *hosts_out (e.g. "h1:2181,h2:2181") and *chroot_out (the connect
 * string's chroot joined with cfg->chroot, or NULL), both newly allocated (g_free).
 * Either out pointer may be NULL. */
bool rt_coord_config_check(const RtCoordConfig *cfg, char **hosts_out, char **chroot_out,
                           GError **error);
/* True if path is a valid chroot-relative ZooKeeper path: "/" or "/a/b" with no empty,
 * "." or ".." parts, no trailing '/', printable ASCII, at most RT_COORD_PATH_MAX_BYTES. */
bool rt_coord_path_valid(const char *path);

/* ------------------------------------------------------------ the interface */

typedef struct RtCoordOps {
    const char *name; /* "sim" or "zookeeper": stable, appears in logs */
    bool (*create)(RtCoord *self, const char *path, const void *data, size_t len, unsigned flags,
                   RtCoordCreateFunc done, void *user_data, GError **error);
    bool (*get)(RtCoord *self, const char *path, const RtCoordWatch *watch, RtCoordDataFunc done,
                void *user_data, GError **error);
    bool (*exists)(RtCoord *self, const char *path, const RtCoordWatch *watch, RtCoordStatFunc done,
                   void *user_data, GError **error);
    bool (*set)(RtCoord *self, const char *path, const void *data, size_t len, int32_t version,
                RtCoordStatFunc done, void *user_data, GError **error);
    bool (*delete)(RtCoord *self, const char *path, int32_t version, RtCoordDoneFunc done,
                   void *user_data, GError **error);
    bool (*children)(RtCoord *self, const char *path, const RtCoordWatch *watch,
                     RtCoordChildrenFunc done, void *user_data, GError **error);
    bool (*multi)(RtCoord *self, const RtCoordOp *ops, size_t n, RtCoordMultiFunc done,
                  void *user_data, GError **error);
    RtCoordState (*state)(RtCoord *self);
    int64_t (*session_id)(RtCoord *self);          /* 0 before the first connection */
    uint64_t (*session_timeout_ns)(RtCoord *self); /* negotiated; 0 before connected */
    void (*free)(RtCoord *self);
} RtCoordOps;

struct RtCoord {
    const RtCoordOps *ops; /* first: implementations embed the struct */
};

/* Thin wrappers: they check paths, flags, sizes and handle state, then call the ops.
 * Each fails at once with RT_COORD_ERROR_BAD_ARGUMENTS (malformed path, bad flags, create
 * or delete of "/"), RT_COORD_ERROR_TOO_LARGE, RT_COORD_ERROR_SESSION_EXPIRED (handle
 * expired), RT_COORD_ERROR_CLOSED (handle closed) or RT_COORD_ERROR_TOO_BUSY; otherwise
 * the callback runs exactly once, later. done must not be NULL; watch may be NULL. */

/* Creates path with data (len bytes). Fails (later) with NO_NODE (no parent),
 * NODE_EXISTS, NO_CHILDREN_FOR_EPHEMERALS (parent is ephemeral). */
bool rt_coord_create(RtCoord *c, const char *path, const void *data, size_t len, unsigned flags,
                     RtCoordCreateFunc done, void *user_data, GError **error);
/* Reads data and stat. NO_NODE if absent (and then no watch is set). */
bool rt_coord_get(RtCoord *c, const char *path, const RtCoordWatch *watch, RtCoordDataFunc done,
                  void *user_data, GError **error);
/* Stat, or NULL when absent; the watch is set either way (fires CREATED if absent). */
bool rt_coord_exists(RtCoord *c, const char *path, const RtCoordWatch *watch, RtCoordStatFunc done,
                     void *user_data, GError **error);
/* Replaces data if the version matches: NO_NODE, BAD_VERSION. */
bool rt_coord_set(RtCoord *c, const char *path, const void *data, size_t len, int32_t version,
                  RtCoordStatFunc done, void *user_data, GError **error);
/* Deletes a childless node if the version matches: NO_NODE, BAD_VERSION, NOT_EMPTY. */
bool rt_coord_delete(RtCoord *c, const char *path, int32_t version, RtCoordDoneFunc done,
                     void *user_data, GError **error);
/* Lists children, sorted: NO_NODE (and then no watch is set). */
bool rt_coord_children(RtCoord *c, const char *path, const RtCoordWatch *watch,
                       RtCoordChildrenFunc done, void *user_data, GError **error);
/* 1..RT_COORD_MULTI_MAX_OPS ops, all or nothing, applied as one transaction. */
bool rt_coord_multi(RtCoord *c, const RtCoordOp *ops, size_t n, RtCoordMultiFunc done,
                    void *user_data, GError **error);

RtCoordState rt_coord_state(RtCoord *c);
int64_t rt_coord_session_id(RtCoord *c);
uint64_t rt_coord_session_timeout_ns(RtCoord *c);
const char *rt_coord_impl_name(RtCoord *c);
/* Closes the session (if it is alive and reachable its ephemeral nodes go at once;
 * otherwise they go when it expires) and frees the handle. Pending callbacks and watches
 * are dropped without being called. Safe to call from inside one of its callbacks. */
void rt_coord_free(RtCoord *c);

/* Opens a session through the env: NULL + RT_COORD_ERROR_CONFIG when the world has no
 * ZooKeeper, or on a malformed config (checked at once). */
RtCoord *rt_coord_open(RtEnv *env, const RtCoordConfig *cfg, GError **error);

#endif /* RT_COORD_H */
