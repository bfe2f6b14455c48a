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
 * or free the backend. Every RtCoord callback brackets its work with rt_backend_zk_enter /
 * rt_backend_zk_leave; a free() inside the bracket only marks the backend, which is destroyed
 * when the outermost bracket closes. No op is freed while its own callback runs.
 * This file holds the sessions, the op list, cancel/clear/free and configuration. The
 * snapshot writer is in rt_backend_zk_snapshot.c, restore and discard (reading back and
 * deleting a stored snapshot) in rt_backend_zk_restore.c, the znode layout, the manifest
 * codec and the synchronous reader (rt_backend_zk_assemble) in rt_backend_zk_manifest.c. */
#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_backend_zk_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_config_keys.h"

#define ZK_MAX_PENDING 1024u   /* operations in flight per backend */
#define ZK_CHUNK_SUFFIX "/chunk-0000000000"

static void backend_destroy(ZkBackend *b);

/* ------------------------------------------------------- sessions, brackets */

void rt_backend_zk_enter(ZkBackend *b) {
    b->depth++;
}

void rt_backend_zk_leave(ZkBackend *b) {
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
ZkSession *rt_backend_zk_session_get(ZkBackend *b, GError **error) {
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

bool rt_backend_zk_check_capacity(ZkBackend *b, GError **error) {
    if (b->ops->len < ZK_MAX_PENDING)
        return true;
    g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_IO,
                "zookeeper state backend: %u operations already in flight", ZK_MAX_PENDING);
    return false;
}

ZkOp *rt_backend_zk_op_new(ZkBackend *b, ZkSession *s, ZkOpKind kind, const char *dir) {
    ZkOp *op = g_new0(ZkOp, 1);
    op->b = b;
    op->s = s;
    op->kind = kind;
    op->dir = g_strdup(dir);
    s->ops++;
    g_ptr_array_add(b->ops, op);
    return op;
}

void rt_backend_zk_op_drop_payload(ZkOp *op) {
    g_clear_pointer(&op->bytes, g_bytes_unref);
    g_clear_pointer(&op->buf, g_free);
    g_clear_pointer(&op->handle, rt_state_handle_free);
}

static void op_destroy(ZkOp *op) {
    rt_backend_zk_op_drop_payload(op);
    g_free(op->calls);
    g_free(op->dir);
    g_free(op);
}

/* Frees op once it is finished and its calls drained (then, first, the cleanup of a
 * snapshot that will never be acknowledged). */
void rt_backend_zk_op_settle(ZkOp *op) {
    if (!op->finished || op->outstanding > 0)
        return;
    ZkBackend *b = op->b;
    ZkSession *s = op->s;
    if (op->cleanup && !b->free_pending)
        rt_backend_zk_discard_dir(b, op->dir);
    bool removed = g_ptr_array_remove_fast(b->ops, op);
    assert(removed);
    op_destroy(op);
    assert(s->ops > 0);
    s->ops--;
    session_release_if_idle(s);
}

/* The op will deliver nothing: its snapshot's znodes go once its calls drained. */
void rt_backend_zk_op_drop(ZkOp *op) {
    if (op->finished)
        return;
    op->finished = true;
    op->cleanup = op->kind == ZK_SNAPSHOT && op->wrote;
    rt_backend_zk_op_drop_payload(op);
}

/* Fails op with error (owned), prefixed with what failed. Runs the owner's callback. */
void rt_backend_zk_op_fail(ZkOp *op, GError *error, const char *what) {
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
    rt_backend_zk_op_drop(op);
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
        rt_backend_zk_op_fail(op, e, op->dir);
    }
}

static void zk_on_session(RtCoord *coord, RtCoordState state, void *user_data) {
    (void)coord;
    ZkSession *s = user_data;
    ZkBackend *b = s->b;
    rt_backend_zk_enter(b);
    if (state == RT_COORD_SUSPENDED || state == RT_COORD_EXPIRED || state == RT_COORD_CLOSED)
        fail_ops_on(s, state);
    if ((state == RT_COORD_EXPIRED || state == RT_COORD_CLOSED) && !b->free_pending)
        session_retire(s); /* may free s (and its handle) now */
    rt_backend_zk_leave(b);
}

/* ---------------------------------------------------------- shared helpers */

bool rt_backend_zk_location_valid(const char *location) {
    return rt_coord_path_valid(location) && strcmp(location, "/") != 0 &&
           strlen(location) + strlen(ZK_CHUNK_SUFFIX) <= RT_COORD_PATH_MAX_BYTES;
}

char *rt_backend_zk_chunk_path(const ZkOp *op, uint32_t index) {
    return g_strdup_printf("%s/chunk-%010" PRIu32, op->dir, index);
}

/* ---------------------------------------------------- cancel, clear, free */

/* Drops the callbacks of the running snapshots/restores that match (all when all). No
 * I/O here (this runs in a process's teardown too): a dropped snapshot's znodes are
 * deleted when its calls have drained. Nothing is freed, so it is safe anywhere. */
static void drop_ops(ZkBackend *b, bool all, void *user_data) {
    for (guint i = 0; i < b->ops->len; i++) {
        ZkOp *op = g_ptr_array_index(b->ops, i);
        if (op->kind != ZK_DISCARD && (all || op->user_data == user_data))
            rt_backend_zk_op_drop(op);
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
    char *clean = g_strdup(rt_config_key_string(config, RT_KEY_ZK_STATE_PATH));
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
    if (!rt_config_key_size_bytes(config, RT_KEY_ZK_STATE_CHUNK_SIZE, &chunk, error) ||
        !rt_config_key_size_bytes(config, RT_KEY_ZK_STATE_MAX_SIZE, &max_state, error))
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
    /* state.backend.zookeeper.address falls back to high-availability.zookeeper.quorum. */
    g_free(b->address);
    b->address = g_strdup(rt_config_key_string(config, RT_KEY_ZK_STATE_ADDRESS));
    if (!configure_root(b, config, error) || !configure_sizes(b, config, error) ||
        !rt_config_key_duration_ns(config, RT_KEY_HA_SESSION_TIMEOUT, &b->session_timeout_ns,
                                   error) ||
        !rt_config_key_duration_ns(config, RT_KEY_HA_CONNECTION_TIMEOUT,
                                   &b->connect_timeout_ns, error))
        return false;
    /* Open the session now: a malformed address is reported at once, not at the first
     * checkpoint. */
    if (rt_backend_zk_session_get(b, error) == NULL) {
        g_prefix_error(error, KEY_ADDRESS " '%s': ", b->address);
        return false;
    }
    return true;
}

static const RtStateBackendOps zk_ops = {
    .name = "zookeeper",
    .configure = zk_configure,
    .snapshot = rt_backend_zk_snapshot_start,
    .restore = rt_backend_zk_restore_start,
    .discard = rt_backend_zk_discard,
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
