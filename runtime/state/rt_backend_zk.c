/* rt_backend_zk.c - the "zookeeper" state backend (rt_backend_zk.h): snapshots as chunk
 * znodes plus a manifest written last, through one RtCoord session per backend.
 *
 * Operations. Every snapshot, restore and discard is a ZkOp on the backend's list. An op
 * counts its RtCoord calls in flight (outstanding) and is freed when it is finished and
 * that count is zero: RtCoord always answers a call exactly once unless the handle is
 * freed, and the backend only frees its handles when it is freed itself (which frees
 * every op too). A snapshot pipelines the creates of its parent znodes (NODEEXISTS is
 * fine) and of its chunks (at most ZK_WINDOW chunk writes in flight), and issues the
 * manifest only when every one of them succeeded. A restore reads the manifest, then the
 * chunks (ZK_WINDOW at a time) into one buffer.
 *
 * Failure. The first failed call fails the op at once (its callback runs with the error;
 * its other calls drain silently). Connection loss is never taken for success: the write
 * may or may not have been applied, and the snapshot fails. A session that goes
 * SUSPENDED fails every op on it; one that goes EXPIRED or CLOSED is also retired (freed
 * once its ops drained), and the next op opens a new session. The znodes of a snapshot
 * that failed or was cancelled after writing are deleted once its calls drained (its
 * handle never left the backend, so nothing refers to them).
 *
 * Reentrancy. The owner's callbacks run inside RtCoord callbacks and may cancel, clear
 * or free the backend. Every RtCoord callback brackets its work with backend_enter /
 * backend_leave; a free() inside the bracket only marks the backend, which is destroyed
 * when the outermost bracket closes. No op is freed while its own callback runs.
 *
 * The znode layout, the manifest codec and the synchronous reader
 * (rt_backend_zk_assemble) are in rt_backend_zk_manifest.c. */
#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_backend_zk_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define ZK_MAX_PENDING 1024u   /* operations in flight per backend */
#define ZK_WINDOW 16u          /* chunk calls in flight per operation */
#define ZK_KNOWN_DIRS_MAX 256u /* parent znodes remembered as existing */
#define ZK_CHUNK_SUFFIX "/chunk-0000000000"
#define ZK_DISCARD_MAX_CHILDREN (RT_BACKEND_ZK_MAX_CHUNKS + 16u)

#define KEY_ADDRESS "state.backend.zookeeper.address"
#define KEY_PATH "state.backend.zookeeper.path"
#define KEY_CHUNK "state.backend.zookeeper.chunk-size"
#define KEY_MAX_STATE "state.backend.zookeeper.max-state-size"

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

static void backend_destroy(ZkBackend *b);
static void discard_dir(ZkBackend *b, const char *dir);

/* ------------------------------------------------------- sessions, brackets */

static void backend_enter(ZkBackend *b) {
    b->depth++;
}

static void backend_leave(ZkBackend *b) {
    assert(b->depth > 0);
    if (--b->depth == 0 && b->free_pending)
        backend_destroy(b);
}

static void session_free(ZkSession *s) {
    rt_coord_free(s->coord); /* allowed from inside its own callbacks */
    g_free(s);
}

static void session_release_if_idle(ZkSession *s) {
    if (!s->dead || s->ops > 0)
        return;
    bool removed = g_ptr_array_remove_fast(s->b->retired, s);
    assert(removed);
    session_free(s);
}

/* The session can take no more calls: the next op opens a new one. */
static void session_retire(ZkSession *s) {
    if (s->dead)
        return;
    s->dead = true;
    if (s->b->session == s)
        s->b->session = NULL;
    g_ptr_array_add(s->b->retired, s);
    session_release_if_idle(s);
}

static void zk_on_session(RtCoord *coord, RtCoordState state, void *user_data);

/* The live session, opening one if needed. NULL + error when the open fails. */
static ZkSession *session_get(ZkBackend *b, GError **error) {
    if (b->session != NULL) {
        RtCoordState st = rt_coord_state(b->session->coord);
        if (st != RT_COORD_EXPIRED && st != RT_COORD_CLOSED)
            return b->session;
        session_retire(b->session);
    }
    ZkSession *s = g_new0(ZkSession, 1);
    s->b = b;
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = b->address;
    cfg.session_timeout_ns = b->session_timeout_ns;
    cfg.connect_timeout_ns = b->connect_timeout_ns;
    cfg.on_session = zk_on_session;
    cfg.session_user_data = s;
    s->coord = rt_coord_open(b->base.env, &cfg, error);
    if (s->coord == NULL) {
        g_prefix_error(error, "zookeeper state backend: cannot open a session to %s: ",
                       b->address);
        g_free(s);
        return NULL;
    }
    b->session = s;
    return s;
}

/* -------------------------------------------------------------------- ops */

static bool check_capacity(ZkBackend *b, GError **error) {
    if (b->ops->len < ZK_MAX_PENDING)
        return true;
    g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_IO,
                "zookeeper state backend: %u operations already in flight", ZK_MAX_PENDING);
    return false;
}

static ZkOp *op_new(ZkBackend *b, ZkSession *s, ZkOpKind kind, const char *dir) {
    ZkOp *op = g_new0(ZkOp, 1);
    op->b = b;
    op->s = s;
    op->kind = kind;
    op->dir = g_strdup(dir);
    s->ops++;
    g_ptr_array_add(b->ops, op);
    return op;
}

static void op_drop_payload(ZkOp *op) {
    g_clear_pointer(&op->bytes, g_bytes_unref);
    g_clear_pointer(&op->buf, g_free);
    g_clear_pointer(&op->handle, rt_state_handle_free);
}

static void op_destroy(ZkOp *op) {
    op_drop_payload(op);
    g_free(op->calls);
    g_free(op->dir);
    g_free(op);
}

/* Frees op once it is finished and its calls drained (then, first, the cleanup of a
 * snapshot that will never be acknowledged). */
static void op_settle(ZkOp *op) {
    if (!op->finished || op->outstanding > 0)
        return;
    ZkBackend *b = op->b;
    ZkSession *s = op->s;
    if (op->cleanup && !b->free_pending)
        discard_dir(b, op->dir);
    bool removed = g_ptr_array_remove_fast(b->ops, op);
    assert(removed);
    op_destroy(op);
    assert(s->ops > 0);
    s->ops--;
    session_release_if_idle(s);
}

/* The op will deliver nothing: its snapshot's znodes go once its calls drained. */
static void op_drop(ZkOp *op) {
    if (op->finished)
        return;
    op->finished = true;
    op->cleanup = op->kind == ZK_SNAPSHOT && op->wrote;
    op_drop_payload(op);
}

/* Fails op with error (owned), prefixed with what failed. Runs the owner's callback. */
static void op_fail(ZkOp *op, GError *error, const char *what) {
    assert(op->b->depth > 0); /* only from RtCoord callbacks: never inside the call */
    if (op->finished || op->kind == ZK_DISCARD) {
        g_error_free(error);
        return;
    }
    if (rt_coord_error_outcome_unknown(error))
        g_prefix_error(&error, "outcome unknown, not taken as written: ");
    g_prefix_error(&error, "zookeeper state backend: %s failed: ", what);
    RtSnapshotDoneFunc snap_done = op->snap_done;
    RtRestoreDoneFunc restore_done = op->restore_done;
    op_drop(op);
    if (snap_done != NULL)
        snap_done(op->user_data, NULL, error);
    else
        restore_done(op->user_data, NULL, error);
    g_error_free(error);
}

/* Fails every op on s that is still running. */
static void fail_ops_on(ZkSession *s, RtCoordState state) {
    ZkBackend *b = s->b;
    int code = state == RT_COORD_SUSPENDED ? RT_COORD_ERROR_CONNECTION_LOSS
               : state == RT_COORD_EXPIRED ? RT_COORD_ERROR_SESSION_EXPIRED
                                           : RT_COORD_ERROR_CLOSED;
    /* By index: callbacks may add ops, but nothing is freed until the bracket closes
     * (ops are freed only by their own completions). Bounded by the list's length. */
    for (guint i = 0; i < b->ops->len && !b->free_pending; i++) {
        ZkOp *op = g_ptr_array_index(b->ops, i);
        if (op->s != s || op->finished || op->kind == ZK_DISCARD)
            continue;
        GError *e = g_error_new(RT_COORD_ERROR, code, "ZooKeeper session %s",
                                rt_coord_state_name(state));
        op_fail(op, e, op->dir);
    }
}

static void zk_on_session(RtCoord *coord, RtCoordState state, void *user_data) {
    (void)coord;
    ZkSession *s = user_data;
    ZkBackend *b = s->b;
    backend_enter(b);
    if (state == RT_COORD_SUSPENDED || state == RT_COORD_EXPIRED || state == RT_COORD_CLOSED)
        fail_ops_on(s, state);
    if ((state == RT_COORD_EXPIRED || state == RT_COORD_CLOSED) && !b->free_pending)
        session_retire(s); /* may free s (and its handle) now */
    backend_leave(b);
}

/* ------------------------------------------------------------------ discard */

static void on_discard_deleted(RtCoord *coord, GError *error, void *user_data) {
    (void)coord;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    backend_enter(b);
    g_clear_error(&error); /* best effort, as Flink's discardState */
    op->outstanding--;
    op_settle(op);
    backend_leave(b);
}

static void discard_delete(ZkOp *op, const char *path) {
    GError *err = NULL;
    if (rt_coord_delete(op->s->coord, path, RT_COORD_ANY_VERSION, on_discard_deleted, op,
                        &err))
        op->outstanding++;
    g_clear_error(&err);
}

/* Deletes the manifest first (so a half-deleted snapshot never looks complete), then
 * the other children, the snapshot's znode and its checkpoint's znode if now empty;
 * pipelined: one session's calls apply in order. */
static void discard_children(ZkOp *op, const char *const *names, size_t n) {
    bool all = n <= ZK_DISCARD_MAX_CHILDREN;
    size_t limit = all ? n : ZK_DISCARD_MAX_CHILDREN;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < limit; i++) {
            bool is_manifest = strcmp(names[i], ZK_MANIFEST_NAME) == 0;
            if (is_manifest != (pass == 0))
                continue;
            char *path = g_strdup_printf("%s/%s", op->dir, names[i]);
            discard_delete(op, path);
            g_free(path);
        }
    }
    if (!all)
        return;
    discard_delete(op, op->dir);
    char *parent = g_strndup(op->dir, (gsize)(strrchr(op->dir, '/') - op->dir));
    if (parent[0] != '\0' && strcmp(parent, op->b->root) != 0)
        discard_delete(op, parent); /* NOT_EMPTY while other subtasks' snapshots remain */
    g_free(parent);
}

static void on_discard_children(RtCoord *coord, const char *const *names, size_t n,
                                const RtCoordStat *stat, GError *error, void *user_data) {
    (void)coord;
    (void)stat;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    backend_enter(b);
    op->outstanding--;
    if (error == NULL && !b->free_pending)
        discard_children(op, names, n);
    g_clear_error(&error); /* NO_NODE: already gone */
    op_settle(op);
    backend_leave(b);
}

/* Best effort, no callback: deletes the snapshot under dir. */
static void discard_dir(ZkBackend *b, const char *dir) {
    GError *err = NULL;
    ZkSession *s = check_capacity(b, &err) ? session_get(b, &err) : NULL;
    if (s == NULL) {
        g_clear_error(&err);
        return;
    }
    ZkOp *op = op_new(b, s, ZK_DISCARD, dir);
    op->finished = true; /* nothing to deliver: freed when its calls drained */
    if (rt_coord_children(s->coord, dir, NULL, on_discard_children, op, &err))
        op->outstanding++;
    g_clear_error(&err);
    op_settle(op);
}

static bool location_valid(const char *location) {
    return rt_coord_path_valid(location) && strcmp(location, "/") != 0 &&
           strlen(location) + strlen(ZK_CHUNK_SUFFIX) <= RT_COORD_PATH_MAX_BYTES;
}

static void zk_discard(RtStateBackend *self, const RtStateHandle *handle) {
    ZkBackend *b = (ZkBackend *)self;
    assert(!b->free_pending);
    if (location_valid(handle->location))
        discard_dir(b, handle->location);
}

/* ----------------------------------------------------------------- snapshot */

static void snapshot_advance(ZkOp *op);

static char *chunk_path(const ZkOp *op, uint32_t index) {
    return g_strdup_printf("%s/chunk-%010" PRIu32, op->dir, index);
}

/* Remembers the parents up to the job's znode as existing (never deleted by us). */
static void remember_dirs(ZkBackend *b, const char *dir) {
    if (g_hash_table_size(b->known_dirs) >= ZK_KNOWN_DIRS_MAX)
        g_hash_table_remove_all(b->known_dirs);
    char *job = g_strdup(dir);
    for (int up = 0; up < 2; up++) /* strip "<op>-<subtask>-<attempt>" and "chk-<id>" */
        *strrchr(job, '/') = '\0';
    for (char *p = job + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        g_hash_table_add(b->known_dirs, g_strndup(job, (gsize)(p - job)));
    }
    g_hash_table_add(b->known_dirs, job);
}

static void on_dir_created(RtCoord *coord, const char *path, GError *error, void *user_data) {
    (void)coord;
    (void)path;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    backend_enter(b);
    op->outstanding--;
    if (error != NULL && !g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS))
        op_fail(op, error, "create of a parent znode");
    else
        g_clear_error(&error);
    snapshot_advance(op);
    op_settle(op);
    backend_leave(b);
}

/* Creates the parents of op->dir not known to exist, and op->dir itself. */
static bool snapshot_issue_dirs(ZkOp *op, GError **error) {
    const char *dir = op->dir;
    for (const char *p = dir + 1;; p++) { /* bounded by the path's length */
        if (*p != '/' && *p != '\0')
            continue;
        char *prefix = g_strndup(dir, (gsize)(p - dir));
        bool ok = true;
        if (!g_hash_table_contains(op->b->known_dirs, prefix)) {
            ok = rt_coord_create(op->s->coord, prefix, NULL, 0, RT_COORD_PERSISTENT,
                                 on_dir_created, op, error);
            op->outstanding += ok ? 1 : 0;
            op->wrote = op->wrote || (ok && *p == '\0');
        }
        g_free(prefix);
        if (!ok || *p == '\0')
            return ok;
    }
}

static void on_chunk_written(ZkCall *call, GError *error) {
    ZkOp *op = call->op;
    if (error != NULL) {
        if (g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE))
            g_hash_table_remove_all(op->b->known_dirs); /* someone removed our parents */
        char *what = g_strdup_printf("write of %s/chunk-%010" PRIu32, op->dir, call->index);
        op_fail(op, error, what);
        g_free(what);
        return;
    }
    op->chunks_done++;
    snapshot_advance(op);
}

static void on_chunk_set(RtCoord *coord, const RtCoordStat *stat, GError *error,
                         void *user_data) {
    (void)coord;
    (void)stat;
    ZkCall *call = user_data;
    ZkBackend *b = call->op->b;
    backend_enter(b);
    call->op->outstanding--;
    on_chunk_written(call, error);
    op_settle(call->op);
    backend_leave(b);
}

/* A chunk left by an earlier try of the same snapshot is overwritten. */
static void chunk_overwrite(ZkCall *call) {
    ZkOp *op = call->op;
    GError *err = NULL;
    gsize n = 0;
    const uint8_t *data = g_bytes_get_data(op->bytes, &n);
    uint64_t off = (uint64_t)call->index * op->m.chunk_bytes;
    size_t len = (size_t)MIN((uint64_t)op->m.chunk_bytes, n - off);
    char *path = chunk_path(op, call->index);
    if (rt_coord_set(op->s->coord, path, data + off, len, RT_COORD_ANY_VERSION, on_chunk_set,
                     call, &err))
        op->outstanding++;
    else
        op_fail(op, err, path);
    g_free(path);
}

static void on_chunk_created(RtCoord *coord, const char *path, GError *error,
                             void *user_data) {
    (void)coord;
    (void)path;
    ZkCall *call = user_data;
    ZkOp *op = call->op;
    ZkBackend *b = op->b;
    backend_enter(b);
    op->outstanding--;
    if (!op->finished && g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS)) {
        g_clear_error(&error);
        chunk_overwrite(call);
    } else if (op->finished) {
        g_clear_error(&error);
    } else {
        on_chunk_written(call, error);
    }
    op_settle(op);
    backend_leave(b);
}

/* Issues chunk writes up to the window. */
static bool snapshot_issue_chunks(ZkOp *op, GError **error) {
    gsize n = 0;
    const uint8_t *data = g_bytes_get_data(op->bytes, &n);
    while (op->next_chunk < op->m.chunk_count && op->next_chunk - op->chunks_done < ZK_WINDOW) {
        uint32_t i = op->next_chunk;
        uint64_t off = (uint64_t)i * op->m.chunk_bytes;
        size_t len = (size_t)MIN((uint64_t)op->m.chunk_bytes, n - off);
        char *path = chunk_path(op, i);
        op->calls[i].op = op;
        op->calls[i].index = i;
        bool ok = rt_coord_create(op->s->coord, path, data + off, len, RT_COORD_PERSISTENT,
                                  on_chunk_created, &op->calls[i], error);
        g_free(path);
        if (!ok)
            return false;
        op->outstanding++;
        op->wrote = true;
        op->next_chunk++;
    }
    return true;
}

/* Every write succeeded and the manifest is in: hand the handle over. */
static void snapshot_complete(ZkOp *op) {
    remember_dirs(op->b, op->dir);
    RtStateHandle *h = op->handle;
    op->handle = NULL;
    op->finished = true;
    op_drop_payload(op);
    op->snap_done(op->user_data, h, NULL);
}

static void on_manifest_written(ZkOp *op, GError *error) {
    if (error != NULL) {
        char *what = g_strdup_printf("write of %s/" ZK_MANIFEST_NAME, op->dir);
        op_fail(op, error, what);
        g_free(what);
    } else if (!op->finished) {
        snapshot_complete(op);
    }
}

static void on_manifest_set(RtCoord *coord, const RtCoordStat *stat, GError *error,
                            void *user_data) {
    (void)coord;
    (void)stat;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    backend_enter(b);
    op->outstanding--;
    on_manifest_written(op, error);
    op_settle(op);
    backend_leave(b);
}

static void on_manifest_created(RtCoord *coord, const char *path, GError *error,
                                void *user_data) {
    (void)coord;
    (void)path;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    backend_enter(b);
    op->outstanding--;
    if (!op->finished && g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS)) {
        g_clear_error(&error); /* left by an earlier try: overwrite it, still last */
        GBytes *man = rt_backend_zk_manifest_encode(&op->m);
        char *mpath = g_strconcat(op->dir, "/" ZK_MANIFEST_NAME, NULL);
        gsize n = 0;
        const void *d = g_bytes_get_data(man, &n);
        if (rt_coord_set(op->s->coord, mpath, d, n, RT_COORD_ANY_VERSION, on_manifest_set, op,
                         &error))
            op->outstanding++;
        else
            on_manifest_written(op, error);
        g_free(mpath);
        g_bytes_unref(man);
    } else {
        on_manifest_written(op, error);
    }
    op_settle(op);
    backend_leave(b);
}

/* Next step of a snapshot: more chunks, or, once every write is done, the manifest. */
static void snapshot_advance(ZkOp *op) {
    if (op->finished || op->manifest_issued)
        return;
    GError *err = NULL;
    if (!snapshot_issue_chunks(op, &err)) {
        op_fail(op, err, op->dir);
        return;
    }
    if (op->chunks_done < op->m.chunk_count || op->outstanding > 0)
        return;
    GBytes *man = rt_backend_zk_manifest_encode(&op->m);
    char *path = g_strconcat(op->dir, "/" ZK_MANIFEST_NAME, NULL);
    gsize n = 0;
    const void *d = g_bytes_get_data(man, &n);
    if (rt_coord_create(op->s->coord, path, d, n, RT_COORD_PERSISTENT, on_manifest_created, op,
                        &err)) {
        op->outstanding++;
        op->manifest_issued = true;
    } else {
        op_fail(op, err, path);
    }
    g_free(path);
    g_bytes_unref(man);
}

static bool snapshot_check(const ZkBackend *b, const RtSnapshotTarget *t, uint64_t n,
                           const char *dir, GError **error) {
    if (n > b->max_state_bytes) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG,
                    "zookeeper state backend: the state of operator %" PRIu32
                    " subtask %" PRIu32 " in checkpoint %" PRIu64 " is %" PRIu64
                    " bytes, over " KEY_MAX_STATE " (%" PRIu64 " bytes); ZooKeeper keeps "
                    "everything in memory: use state.backend.type=filesystem for large state",
                    t->op, t->subtask, t->checkpoint_id, n, b->max_state_bytes);
        return false;
    }
    if (chunks_for(n, b->chunk_bytes) > RT_BACKEND_ZK_MAX_CHUNKS) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG,
                    "zookeeper state backend: %" PRIu64 " bytes would take more than %u "
                    "chunks of " KEY_CHUNK " (%" PRIu32 " bytes)",
                    n, RT_BACKEND_ZK_MAX_CHUNKS, b->chunk_bytes);
        return false;
    }
    if (!location_valid(dir)) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG,
                    "zookeeper state backend: invalid snapshot znode %s", dir);
        return false;
    }
    return true;
}

static bool zk_snapshot(RtStateBackend *self, const RtSnapshotTarget *target, GBytes *encoded,
                        RtSnapshotDoneFunc done, void *user_data, GError **error) {
    ZkBackend *b = (ZkBackend *)self;
    assert(!b->free_pending);
    gsize n = 0;
    const void *data = g_bytes_get_data(encoded, &n);
    char *dir = rt_backend_zk_path(b->root, target);
    ZkSession *s = NULL;
    if (!snapshot_check(b, target, n, dir, error) || !check_capacity(b, error) ||
        (s = session_get(b, error)) == NULL) {
        g_free(dir);
        return false;
    }
    ZkOp *op = op_new(b, s, ZK_SNAPSHOT, dir);
    g_free(dir);
    op->bytes = g_bytes_ref(encoded);
    op->m = (RtBackendZkManifest){target->checkpoint_id, n, rt_crc32c(0, data, n),
                                  b->chunk_bytes, chunks_for(n, b->chunk_bytes)};
    op->handle = rt_state_handle_new(self->ops->name, op->dir, target->checkpoint_id, n,
                                     op->m.crc32c, NULL);
    op->calls = g_new0(ZkCall, MAX(op->m.chunk_count, 1u));
    op->snap_done = done;
    op->user_data = user_data;
    if (!snapshot_issue_dirs(op, error) || !snapshot_issue_chunks(op, error)) {
        g_prefix_error(error, "zookeeper state backend: write of %s failed: ", op->dir);
        op_drop(op); /* failed at once: the callback never runs */
        op_settle(op);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ restore */

static bool restore_issue_chunks(ZkOp *op, GError **error);

static void restore_deliver(ZkOp *op, RtSnapshot *snap) {
    RtRestoreDoneFunc done = op->restore_done;
    op->finished = true;
    op_drop_payload(op);
    done(op->user_data, snap, NULL);
}

/* Fails op with a CORRUPT error about its snapshot. */
static void restore_corrupt(ZkOp *op, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void restore_corrupt(ZkOp *op, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    GError *e = g_error_new(RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT, "%s", msg);
    g_free(msg);
    char *what = g_strdup_printf("restore of %s", op->dir);
    op_fail(op, e, what);
    g_free(what);
}

/* Every chunk is in: check the whole against the handle, then decode. */
static void restore_finish(ZkOp *op) {
    const RtStateHandle *h = op->handle;
    uint32_t crc = rt_crc32c(0, op->buf, (size_t)op->m.size_bytes);
    if (crc != h->crc32c) {
        restore_corrupt(op, "CRC-32C 0x%08" PRIx32 ", its handle says 0x%08" PRIx32, crc,
                        h->crc32c);
        return;
    }
    RtSnapshot *snap = NULL;
    GError *err = NULL;
    if (!rt_snapshot_decode(op->buf, (size_t)op->m.size_bytes, &snap, &err)) {
        char *what = g_strdup_printf("decode of %s", op->dir);
        op_fail(op, err, what);
        g_free(what);
        return;
    }
    restore_deliver(op, snap);
}

static void on_chunk_read(RtCoord *coord, const void *data, size_t len,
                          const RtCoordStat *stat, GError *error, void *user_data) {
    (void)coord;
    (void)stat;
    ZkCall *call = user_data;
    ZkOp *op = call->op;
    ZkBackend *b = op->b;
    backend_enter(b);
    op->outstanding--;
    uint64_t off = (uint64_t)call->index * op->m.chunk_bytes;
    uint64_t want = op->finished ? 0 : MIN((uint64_t)op->m.chunk_bytes, op->m.size_bytes - off);
    GError *err = NULL;
    if (op->finished) {
        g_clear_error(&error);
    } else if (g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE)) {
        g_clear_error(&error);
        restore_corrupt(op, "chunk %" PRIu32 " of %" PRIu32 " is missing (torn snapshot)",
                        call->index, op->m.chunk_count);
    } else if (error != NULL) {
        char *what = g_strdup_printf("read of %s/chunk-%010" PRIu32, op->dir, call->index);
        op_fail(op, error, what);
        g_free(what);
    } else if (len != want) {
        restore_corrupt(op, "chunk %" PRIu32 " has %zu bytes, its manifest says %" PRIu64,
                        call->index, len, want);
    } else {
        memcpy(op->buf + off, data, len);
        if (++op->chunks_done == op->m.chunk_count)
            restore_finish(op);
        else if (!restore_issue_chunks(op, &err))
            op_fail(op, err, op->dir);
    }
    op_settle(op);
    backend_leave(b);
}

static bool restore_issue_chunks(ZkOp *op, GError **error) {
    while (op->next_chunk < op->m.chunk_count && op->next_chunk - op->chunks_done < ZK_WINDOW) {
        uint32_t i = op->next_chunk;
        op->calls[i].op = op;
        op->calls[i].index = i;
        char *path = chunk_path(op, i);
        bool ok = rt_coord_get(op->s->coord, path, NULL, on_chunk_read, &op->calls[i], error);
        g_free(path);
        if (!ok)
            return false;
        op->outstanding++;
        op->next_chunk++;
    }
    return true;
}

/* The manifest must agree with the handle before any chunk is read. */
static bool restore_check_manifest(ZkOp *op, const void *data, size_t len) {
    GError *err = NULL;
    RtBackendZkManifest m;
    if (!rt_backend_zk_manifest_decode(data, len, &m, &err)) {
        char *what = g_strdup_printf("restore of %s", op->dir);
        op_fail(op, err, what);
        g_free(what);
        return false;
    }
    const RtStateHandle *h = op->handle;
    if (m.size_bytes != h->size_bytes || m.crc32c != h->crc32c ||
        m.checkpoint_id != h->checkpoint_id) {
        restore_corrupt(op, "manifest (checkpoint %" PRIu64 ", %" PRIu64 " bytes, CRC-32C 0x%08"
                        PRIx32 ") differs from its handle (checkpoint %" PRIu64 ", %" PRIu64
                        " bytes, CRC-32C 0x%08" PRIx32 ")", m.checkpoint_id, m.size_bytes,
                        m.crc32c, h->checkpoint_id, h->size_bytes, h->crc32c);
        return false;
    }
    op->m = m;
    return true;
}

static void on_manifest_read(RtCoord *coord, const void *data, size_t len,
                             const RtCoordStat *stat, GError *error, void *user_data) {
    (void)coord;
    (void)stat;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    backend_enter(b);
    op->outstanding--;
    GError *err = NULL;
    if (op->finished) {
        g_clear_error(&error);
    } else if (error != NULL) {
        if (g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE))
            g_prefix_error(&error, "no manifest (the snapshot is torn or was discarded): ");
        char *what = g_strdup_printf("read of %s/" ZK_MANIFEST_NAME, op->dir);
        op_fail(op, error, what);
        g_free(what);
    } else if (restore_check_manifest(op, data, len)) {
        op->buf = g_malloc0(MAX((size_t)op->m.size_bytes, (size_t)1));
        op->calls = g_new0(ZkCall, MAX(op->m.chunk_count, 1u));
        if (op->m.chunk_count == 0)
            restore_finish(op);
        else if (!restore_issue_chunks(op, &err))
            op_fail(op, err, op->dir);
    }
    op_settle(op);
    backend_leave(b);
}

static bool zk_restore(RtStateBackend *self, const RtStateHandle *handle,
                       RtRestoreDoneFunc done, void *user_data, GError **error) {
    ZkBackend *b = (ZkBackend *)self;
    assert(!b->free_pending);
    if (!location_valid(handle->location) ||
        handle->size_bytes > RT_BACKEND_ZK_MAX_STATE_LIMIT_BYTES) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE,
                    "zookeeper state handle of checkpoint %" PRIu64 ": bad znode '%s' or "
                    "size %" PRIu64, handle->checkpoint_id, handle->location,
                    handle->size_bytes);
        return false;
    }
    ZkSession *s = check_capacity(b, error) ? session_get(b, error) : NULL;
    if (s == NULL)
        return false;
    ZkOp *op = op_new(b, s, ZK_RESTORE, handle->location);
    op->handle = rt_state_handle_copy(handle);
    op->restore_done = done;
    op->user_data = user_data;
    char *path = g_strconcat(op->dir, "/" ZK_MANIFEST_NAME, NULL);
    bool ok = rt_coord_get(s->coord, path, NULL, on_manifest_read, op, error);
    g_free(path);
    if (!ok) {
        g_prefix_error(error, "zookeeper state backend: read of %s failed: ", op->dir);
        op_drop(op);
        op_settle(op);
        return false;
    }
    op->outstanding++;
    return true;
}

/* ---------------------------------------------------- cancel, clear, free */

/* Drops the callbacks of the running snapshots/restores that match (all when all). No
 * I/O here (this runs in a process's teardown too): a dropped snapshot's znodes are
 * deleted when its calls have drained. Nothing is freed, so it is safe anywhere. */
static void drop_ops(ZkBackend *b, bool all, void *user_data) {
    for (guint i = 0; i < b->ops->len; i++) {
        ZkOp *op = g_ptr_array_index(b->ops, i);
        if (op->kind != ZK_DISCARD && (all || op->user_data == user_data))
            op_drop(op);
    }
}

static void zk_cancel(RtStateBackend *self, void *user_data) {
    drop_ops((ZkBackend *)self, false, user_data);
}

static void zk_clear(RtStateBackend *self) {
    drop_ops((ZkBackend *)self, true, NULL);
}

static void backend_destroy(ZkBackend *b) {
    /* Handles first: freeing them drops every pending callback, so no op is touched. */
    if (b->session != NULL)
        session_free(b->session);
    for (guint i = 0; i < b->retired->len; i++)
        session_free(g_ptr_array_index(b->retired, i));
    g_ptr_array_unref(b->retired);
    for (guint i = 0; i < b->ops->len; i++)
        op_destroy(g_ptr_array_index(b->ops, i));
    g_ptr_array_unref(b->ops);
    g_hash_table_unref(b->known_dirs);
    g_free(b->address);
    g_free(b->root);
    g_free(b);
}

static void zk_free(RtStateBackend *self) {
    ZkBackend *b = (ZkBackend *)self;
    assert(!b->free_pending);
    if (b->depth == 0) {
        backend_destroy(b);
        return;
    }
    b->free_pending = true; /* inside one of our callbacks: destroyed on the way out */
    drop_ops(b, true, NULL);
}

/* ---------------------------------------------------------------- configure */

static bool config_error(GError **error, const char *key, const char *why) {
    g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG, "%s: %s", key,
                why);
    return false;
}

static bool configure_root(ZkBackend *b, const RtConfig *config, GError **error) {
    const char *root = rt_config_get(config, KEY_PATH);
    char *clean = g_strdup(root != NULL ? root : RT_BACKEND_ZK_DEFAULT_ROOT);
    size_t n = strlen(clean);
    while (n > 1 && clean[n - 1] == '/')
        clean[--n] = '\0';
    if (!rt_coord_path_valid(clean) || strcmp(clean, "/") == 0 ||
        n > RT_BACKEND_ZK_ROOT_MAX_BYTES) {
        g_free(clean);
        return config_error(error, KEY_PATH, "want an absolute znode path like /ckptsim/state "
                                             "(not /, at most 200 bytes)");
    }
    g_free(b->root);
    b->root = clean;
    return true;
}

static bool configure_sizes(ZkBackend *b, const RtConfig *config, GError **error) {
    uint64_t chunk = 0, max_state = 0;
    if (!rt_config_get_size_bytes(config, KEY_CHUNK, RT_BACKEND_ZK_DEFAULT_CHUNK_BYTES, &chunk,
                                  error) ||
        !rt_config_get_size_bytes(config, KEY_MAX_STATE, RT_BACKEND_ZK_DEFAULT_MAX_STATE_BYTES,
                                  &max_state, error))
        return false;
    if (chunk == 0 || chunk > RT_BACKEND_ZK_CHUNK_MAX_BYTES)
        return config_error(error, KEY_CHUNK, "must be 1 byte .. 1 MiB minus request "
                                              "overhead (jute.maxbuffer)");
    if (max_state == 0 || max_state > RT_BACKEND_ZK_MAX_STATE_LIMIT_BYTES)
        return config_error(error, KEY_MAX_STATE, "must be 1 byte .. 256 mb");
    b->chunk_bytes = (uint32_t)chunk;
    b->max_state_bytes = max_state;
    return true;
}

static bool zk_configure(RtStateBackend *self, const RtConfig *config, GError **error) {
    ZkBackend *b = (ZkBackend *)self;
    if (self->env->coord_open == NULL)
        return config_error(error, KEY_ADDRESS, "this world has no ZooKeeper to keep state "
                                                "in (state.backend.type=zookeeper)");
    const char *address = rt_config_get(config, KEY_ADDRESS);
    if (address == NULL)
        address = rt_config_get(config, "high-availability.zookeeper.quorum");
    g_free(b->address);
    b->address = g_strdup(address != NULL ? address : RT_BACKEND_ZK_DEFAULT_ADDRESS);
    if (!configure_root(b, config, error) || !configure_sizes(b, config, error) ||
        !rt_config_get_duration_ns(config, "high-availability.zookeeper.client.session-timeout",
                                   RT_COORD_DEFAULT_SESSION_TIMEOUT_NS, &b->session_timeout_ns,
                                   error) ||
        !rt_config_get_duration_ns(config,
                                   "high-availability.zookeeper.client.connection-timeout",
                                   RT_COORD_DEFAULT_CONNECT_TIMEOUT_NS, &b->connect_timeout_ns,
                                   error))
        return false;
    /* Open the session now: a malformed address is reported at once, not at the first
     * checkpoint. */
    if (session_get(b, error) == NULL) {
        g_prefix_error(error, KEY_ADDRESS " '%s': ", b->address);
        return false;
    }
    return true;
}

static const RtStateBackendOps zk_ops = {
    .name = "zookeeper",
    .configure = zk_configure,
    .snapshot = zk_snapshot,
    .restore = zk_restore,
    .discard = zk_discard,
    .cancel = zk_cancel,
    .clear = zk_clear,
    .free = zk_free,
};

RtStateBackend *rt_backend_zk_new(RtEnv *env) {
    assert(env != NULL);
    ZkBackend *b = g_new0(ZkBackend, 1);
    b->base.ops = &zk_ops;
    b->base.env = env;
    b->address = g_strdup(RT_BACKEND_ZK_DEFAULT_ADDRESS);
    b->root = g_strdup(RT_BACKEND_ZK_DEFAULT_ROOT);
    b->chunk_bytes = RT_BACKEND_ZK_DEFAULT_CHUNK_BYTES;
    b->max_state_bytes = RT_BACKEND_ZK_DEFAULT_MAX_STATE_BYTES;
    b->session_timeout_ns = RT_COORD_DEFAULT_SESSION_TIMEOUT_NS;
    b->connect_timeout_ns = RT_COORD_DEFAULT_CONNECT_TIMEOUT_NS;
    b->retired = g_ptr_array_new();
    b->ops = g_ptr_array_new();
    b->known_dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return &b->base;
}
