/* rt_backend_zk_restore.c - reading back and deleting stored snapshots in the
 * "zookeeper" state backend. A restore reads the manifest, checks it against the handle,
 * then reads the chunks (ZK_WINDOW at a time) into one buffer, checks the CRC-32C and
 * decodes. A discard lists the snapshot's znode and deletes the manifest first, then the
 * rest; it is best effort and has no callback. The op list, sessions and the failure and
 * reentrancy rules are in rt_backend_zk.c. */
#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_backend_zk_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define ZK_DISCARD_MAX_CHILDREN (RT_BACKEND_ZK_MAX_CHUNKS + 16u)

/* ------------------------------------------------------------------ restore */

static bool restore_issue_chunks(ZkOp *op, GError **error);

static void restore_deliver(ZkOp *op, RtSnapshot *snap) {
    RtRestoreDoneFunc done = op->restore_done;
    op->finished = true;
    rt_backend_zk_op_drop_payload(op);
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
    rt_backend_zk_op_fail(op, e, what);
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
        rt_backend_zk_op_fail(op, err, what);
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
    rt_backend_zk_enter(b);
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
        rt_backend_zk_op_fail(op, error, what);
        g_free(what);
    } else if (len != want) {
        restore_corrupt(op, "chunk %" PRIu32 " has %zu bytes, its manifest says %" PRIu64,
                        call->index, len, want);
    } else {
        memcpy(op->buf + off, data, len);
        if (++op->chunks_done == op->m.chunk_count)
            restore_finish(op);
        else if (!restore_issue_chunks(op, &err))
            rt_backend_zk_op_fail(op, err, op->dir);
    }
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
}

static bool restore_issue_chunks(ZkOp *op, GError **error) {
    while (op->next_chunk < op->m.chunk_count && op->next_chunk - op->chunks_done < ZK_WINDOW) {
        uint32_t i = op->next_chunk;
        op->calls[i].op = op;
        op->calls[i].index = i;
        char *path = rt_backend_zk_chunk_path(op, i);
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
        rt_backend_zk_op_fail(op, err, what);
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
    rt_backend_zk_enter(b);
    op->outstanding--;
    GError *err = NULL;
    if (op->finished) {
        g_clear_error(&error);
    } else if (error != NULL) {
        if (g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE))
            g_prefix_error(&error, "no manifest (the snapshot is torn or was discarded): ");
        char *what = g_strdup_printf("read of %s/" ZK_MANIFEST_NAME, op->dir);
        rt_backend_zk_op_fail(op, error, what);
        g_free(what);
    } else if (restore_check_manifest(op, data, len)) {
        op->buf = g_malloc0(MAX((size_t)op->m.size_bytes, (size_t)1));
        op->calls = g_new0(ZkCall, MAX(op->m.chunk_count, 1u));
        if (op->m.chunk_count == 0)
            restore_finish(op);
        else if (!restore_issue_chunks(op, &err))
            rt_backend_zk_op_fail(op, err, op->dir);
    }
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
}

bool rt_backend_zk_restore_start(RtStateBackend *self, const RtStateHandle *handle,
                                 RtRestoreDoneFunc done, void *user_data, GError **error) {
    ZkBackend *b = (ZkBackend *)self;
    assert(!b->free_pending);
    if (!rt_backend_zk_location_valid(handle->location) ||
        handle->size_bytes > RT_BACKEND_ZK_MAX_STATE_LIMIT_BYTES) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE,
                    "zookeeper state handle of checkpoint %" PRIu64 ": bad znode '%s' or "
                    "size %" PRIu64, handle->checkpoint_id, handle->location,
                    handle->size_bytes);
        return false;
    }
    ZkSession *s =
        rt_backend_zk_check_capacity(b, error) ? rt_backend_zk_session_get(b, error) : NULL;
    if (s == NULL)
        return false;
    ZkOp *op = rt_backend_zk_op_new(b, s, ZK_RESTORE, handle->location);
    op->handle = rt_state_handle_copy(handle);
    op->restore_done = done;
    op->user_data = user_data;
    char *path = g_strconcat(op->dir, "/" ZK_MANIFEST_NAME, NULL);
    bool ok = rt_coord_get(s->coord, path, NULL, on_manifest_read, op, error);
    g_free(path);
    if (!ok) {
        g_prefix_error(error, "zookeeper state backend: read of %s failed: ", op->dir);
        rt_backend_zk_op_drop(op);
        rt_backend_zk_op_settle(op);
        return false;
    }
    op->outstanding++;
    return true;
}

/* ------------------------------------------------------------------ discard */

static void on_discard_deleted(RtCoord *coord, GError *error, void *user_data) {
    (void)coord;
    ZkOp *op = user_data;
    ZkBackend *b = op->b;
    rt_backend_zk_enter(b);
    g_clear_error(&error); /* best effort, as Flink's discardState */
    op->outstanding--;
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
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
    rt_backend_zk_enter(b);
    op->outstanding--;
    if (error == NULL && !b->free_pending)
        discard_children(op, names, n);
    g_clear_error(&error); /* NO_NODE: already gone */
    rt_backend_zk_op_settle(op);
    rt_backend_zk_leave(b);
}

/* Best effort, no callback: deletes the snapshot under dir. */
void rt_backend_zk_discard_dir(ZkBackend *b, const char *dir) {
    GError *err = NULL;
    ZkSession *s =
        rt_backend_zk_check_capacity(b, &err) ? rt_backend_zk_session_get(b, &err) : NULL;
    if (s == NULL) {
        g_clear_error(&err);
        return;
    }
    ZkOp *op = rt_backend_zk_op_new(b, s, ZK_DISCARD, dir);
    op->finished = true; /* nothing to deliver: freed when its calls drained */
    if (rt_coord_children(s->coord, dir, NULL, on_discard_children, op, &err))
        op->outstanding++;
    g_clear_error(&err);
    rt_backend_zk_op_settle(op);
}

void rt_backend_zk_discard(RtStateBackend *self, const RtStateHandle *handle) {
    ZkBackend *b = (ZkBackend *)self;
    assert(!b->free_pending);
    if (rt_backend_zk_location_valid(handle->location))
        rt_backend_zk_discard_dir(b, handle->location);
}
