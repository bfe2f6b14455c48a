/* rt_backend_zk_snapshot.c - the snapshot writer of the "zookeeper" state backend: the
 * parent znodes, the chunk creates (at most ZK_WINDOW in flight, overwriting chunks left by
 * an earlier try) and the manifest, written last once every other write succeeded. The
 * op list, sessions and the failure and reentrancy rules are in rt_backend_zk.c. */
#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_backend_zk_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#define ZK_KNOWN_DIRS_MAX 256u /* parent znodes remembered as existing */

static void snapshot_advance(ZkOp *op);

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
    rt_backend_zk_enter(b);
    op->outstanding--;
    if (error != NULL && !g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS))
        rt_backend_zk_op_fail(op, error, "create of a parent znode");
    else
        g_clear_error(&error);
    snapshot_advance(op);
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
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
        rt_backend_zk_op_fail(op, error, what);
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
    rt_backend_zk_enter(b);
    call->op->outstanding--;
    on_chunk_written(call, error);
    rt_backend_zk_op_settle(call->op);
    rt_backend_zk_leave(b);
}

/* A chunk left by an earlier try of the same snapshot is overwritten. */
static void chunk_overwrite(ZkCall *call) {
    ZkOp *op = call->op;
    GError *err = NULL;
    gsize n = 0;
    const uint8_t *data = g_bytes_get_data(op->bytes, &n);
    uint64_t off = (uint64_t)call->index * op->m.chunk_bytes;
    size_t len = (size_t)MIN((uint64_t)op->m.chunk_bytes, n - off);
    char *path = rt_backend_zk_chunk_path(op, call->index);
    if (rt_coord_set(op->s->coord, path, data + off, len, RT_COORD_ANY_VERSION, on_chunk_set,
                     call, &err))
        op->outstanding++;
    else
        rt_backend_zk_op_fail(op, err, path);
    g_free(path);
}

static void on_chunk_created(RtCoord *coord, const char *path, GError *error,
                             void *user_data) {
    (void)coord;
    (void)path;
    ZkCall *call = user_data;
    ZkOp *op = call->op;
    ZkBackend *b = op->b;
    rt_backend_zk_enter(b);
    op->outstanding--;
    if (!op->finished && g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS)) {
        g_clear_error(&error);
        chunk_overwrite(call);
    } else if (op->finished) {
        g_clear_error(&error);
    } else {
        on_chunk_written(call, error);
    }
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
}

/* Issues chunk writes up to the window. */
static bool snapshot_issue_chunks(ZkOp *op, GError **error) {
    gsize n = 0;
    const uint8_t *data = g_bytes_get_data(op->bytes, &n);
    while (op->next_chunk < op->m.chunk_count && op->next_chunk - op->chunks_done < ZK_WINDOW) {
        uint32_t i = op->next_chunk;
        uint64_t off = (uint64_t)i * op->m.chunk_bytes;
        size_t len = (size_t)MIN((uint64_t)op->m.chunk_bytes, n - off);
        char *path = rt_backend_zk_chunk_path(op, i);
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
    rt_backend_zk_op_drop_payload(op);
    op->snap_done(op->user_data, h, NULL);
}

static void on_manifest_written(ZkOp *op, GError *error) {
    if (error != NULL) {
        char *what = g_strdup_printf("write of %s/" ZK_MANIFEST_NAME, op->dir);
        rt_backend_zk_op_fail(op, error, what);
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
    rt_backend_zk_enter(b);
    op->outstanding--;
    on_manifest_written(op, error);
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
}

static void on_manifest_created(RtCoord *coord, const char *path, GError *error,
                                void *user_data) {
    (void)coord;
    (void)path;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    rt_backend_zk_enter(b);
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
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
}

/* Next step of a snapshot: more chunks, or, once every write is done, the manifest. */
static void snapshot_advance(ZkOp *op) {
    if (op->finished || op->manifest_issued)
        return;
    GError *err = NULL;
    if (!snapshot_issue_chunks(op, &err)) {
        rt_backend_zk_op_fail(op, err, op->dir);
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
        rt_backend_zk_op_fail(op, err, path);
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
    if (!rt_backend_zk_location_valid(dir)) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG,
                    "zookeeper state backend: invalid snapshot znode %s", dir);
        return false;
    }
    return true;
}

bool rt_backend_zk_snapshot_start(RtStateBackend *self, const RtSnapshotTarget *target,
                                  GBytes *encoded, RtSnapshotDoneFunc done, void *user_data,
                                  GError **error) {
    ZkBackend *b = (ZkBackend *)self;
    assert(!b->free_pending);
    gsize n = 0;
    const void *data = g_bytes_get_data(encoded, &n);
    char *dir = rt_backend_zk_path(b->root, target);
    ZkSession *s = NULL;
    if (!snapshot_check(b, target, n, dir, error) || !rt_backend_zk_check_capacity(b, error) ||
        (s = rt_backend_zk_session_get(b, error)) == NULL) {
        g_free(dir);
        return false;
    }
    ZkOp *op = rt_backend_zk_op_new(b, s, ZK_SNAPSHOT, dir);
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
        rt_backend_zk_op_drop(op); /* failed at once: the callback never runs */
        rt_backend_zk_op_settle(op);
        return false;
    }
    return true;
}
