/* rt_backend_fs.c - the "filesystem" state backend: one snapshot file per subtask and
 * checkpoint under execution.checkpointing.dir, at rt_state_backend_fs_path(), as Flink's
 * FileSystemCheckpointStorage. Written crash-safely through RtStorage:
 *   write "<path>.tmp" -> fsync it -> rename to <path> -> fsync the directory,
 * and only then is the snapshot complete (its handle names <path>, its size and its
 * CRC-32C). Restore reads <path>, checks size and CRC-32C against the handle, and
 * decodes (validating magic, version, lengths and the file's own checksum): a torn,
 * missing or corrupt file is an error, never silently restored.
 *
 * Planted bug RT_BUG_ACK_BEFORE_FSYNC: the handle is delivered as soon as the write of
 * the temp file completes; fsync, rename and fsync_dir still follow, but a crash in
 * between leaves a checkpoint whose file is missing or torn.
 *
 * Every operation in flight is registered in the backend's RtPendingOps set
 * (rt_pending_ops.h) and its storage callbacks carry the registration's token: cancel,
 * clear and free unregister and free operations at once, and a completion that arrives
 * later (or never, after a crash) finds nothing. */
#include "runtime/state/rt_state_backend.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/env/rt_pending_ops.h"

#define FS_DEFAULT_DIR "checkpoints"
#define FS_MAX_PENDING 1024u

typedef struct FsBackend FsBackend;

typedef enum FsStep { FS_WRITE, FS_FSYNC, FS_RENAME, FS_FSYNC_DIR } FsStep;

typedef struct FsOp {
    RtPendingOp op;       /* first: registered in owner->pending while in flight */
    FsBackend *owner;
    RtStorage *storage;   /* borrowed from the env */
    FsStep step;
    bool acked;           /* done already ran (RT_BUG_ACK_BEFORE_FSYNC) */
    char *path;           /* final path */
    char *tmp;            /* "<path>.tmp" */
    GBytes *bytes;        /* the encoding being written */
    RtStateHandle *handle;/* snapshot: to deliver; restore: a copy to check against */
    RtSnapshotDoneFunc snap_done;
    RtRestoreDoneFunc restore_done;
    void *user_data;
} FsOp;

struct FsBackend {
    RtStateBackend base;
    char *dir;            /* execution.checkpointing.dir as a storage path */
    RtPendingOps pending; /* FsOp in flight, oldest first (not observable) */
};

/* Frees an operation that is not registered. */
static void op_free(FsOp *op) {
    assert(op->op.id == 0);
    g_free(op->path);
    g_free(op->tmp);
    if (op->bytes != NULL)
        g_bytes_unref(op->bytes);
    if (op->handle != NULL)
        rt_state_handle_free(op->handle);
    g_free(op);
}

static void op_free_op(RtPendingOp *op) {
    op_free((FsOp *)op);
}

/* Unregisters op (if registered): its callbacks will find nothing. */
static void op_detach(FsOp *op) {
    if (op->op.id != 0)
        rt_pending_op_unregister(&op->op);
}

static bool fs_configure(RtStateBackend *self, const RtConfig *config, GError **error) {
    FsBackend *b = (FsBackend *)self;
    /* execution.checkpointing.dir (deprecated state.checkpoints.dir), Flink's URI form
     * accepted ("file:///ckpt" -> "ckpt"): storage paths are relative. The job manager
     * writes the metadata under the same directory (one reading of the key). */
    GError *err = NULL;
    char *clean = rt_config_key_dir(config, RT_KEY_CHECKPOINTS_DIR, &err);
    if (clean == NULL) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG, "%s",
                    err->message);
        g_error_free(err);
        return false;
    }
    g_free(b->dir);
    b->dir = clean;
    return true;
}

/* ------------------------------------------------------------------ snapshot */

static void fs_snapshot_step(void *user_data, GError *error);

/* Delivers the outcome of a snapshot (once). May free the backend (reentrancy). */
static void fs_snapshot_deliver(FsOp *op, GError *error) {
    if (op->acked)
        return;
    op->acked = true;
    RtStateHandle *h = error == NULL ? op->handle : NULL;
    if (error == NULL)
        op->handle = NULL;
    op->snap_done(op->user_data, h, error);
}

static bool fs_snapshot_issue(FsOp *op, GError **error) {
    void *token = rt_pending_op_token(&op->op);
    switch (op->step) {
    case FS_WRITE: {
        gsize n = 0;
        const void *data = g_bytes_get_data(op->bytes, &n);
        return rt_storage_write(op->storage, op->tmp, data, n, fs_snapshot_step, token, error);
    }
    case FS_FSYNC:
        return rt_storage_fsync(op->storage, op->tmp, fs_snapshot_step, token, error);
    case FS_RENAME:
        return rt_storage_rename(op->storage, op->tmp, op->path, fs_snapshot_step, token, error);
    case FS_FSYNC_DIR: {
        char *dir = g_strndup(op->path, (gsize)(strrchr(op->path, '/') - op->path));
        bool ok = rt_storage_fsync_dir(op->storage, dir, fs_snapshot_step, token, error);
        g_free(dir);
        return ok;
    }
    }
    assert(false);
    return false;
}

static const char *step_name(FsStep step) {
    static const char *const names[] = {"write", "fsync", "rename", "fsync_dir"};
    return names[step];
}

/* Storage completion of one step: advance, or finish. */
static void fs_snapshot_step(void *user_data, GError *error) {
    FsOp *op = (FsOp *)rt_pending_op_lookup(user_data);
    if (op == NULL) { /* cancelled, cleared or freed */
        g_clear_error(&error);
        return;
    }
    if (error == NULL && op->step == FS_WRITE && rt_bug_on(op->owner->base.env,
                                                           RT_BUG_ACK_BEFORE_FSYNC)) {
        fs_snapshot_deliver(op, NULL); /* the planted bug: ack before durability */
        if (rt_pending_op_lookup(user_data) == NULL)
            return; /* the callback cancelled it, or cleared or freed the backend */
    }
    if (error == NULL && op->step < FS_FSYNC_DIR) {
        op->step++;
        if (fs_snapshot_issue(op, &error))
            return;
    }
    if (error != NULL)
        g_prefix_error(&error, "filesystem state backend: %s of %s failed: ",
                       step_name(op->step), op->step == FS_RENAME ? op->tmp : op->path);
    op_detach(op);
    fs_snapshot_deliver(op, error);
    g_clear_error(&error);
    op_free(op);
}

static bool fs_start(FsBackend *b, FsOp *op, GError **error) {
    if (rt_pending_ops_count(&b->pending) >= FS_MAX_PENDING) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_IO,
                    "filesystem state backend: %u operations already in flight",
                    FS_MAX_PENDING);
        return false;
    }
    op->owner = b;
    op->storage = b->base.env->storage;
    rt_pending_op_register(&b->pending, &op->op, op_free_op);
    return true;
}

static bool fs_snapshot(RtStateBackend *self, const RtSnapshotTarget *target, GBytes *encoded,
                        RtSnapshotDoneFunc done, void *user_data, GError **error) {
    FsBackend *b = (FsBackend *)self;
    gsize n = 0;
    const void *data = g_bytes_get_data(encoded, &n);
    FsOp *op = g_new0(FsOp, 1);
    op->path = rt_state_backend_fs_path(b->dir, target);
    op->tmp = g_strconcat(op->path, ".tmp", NULL);
    op->bytes = g_bytes_ref(encoded);
    op->handle = rt_state_handle_new(self->ops->name, op->path, target->checkpoint_id, n,
                                     rt_crc32c(0, data, n), NULL);
    op->snap_done = done;
    op->user_data = user_data;
    op->step = FS_WRITE;
    if (!rt_storage_path_valid(op->tmp)) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG,
                    "filesystem state backend: invalid snapshot path %s", op->tmp);
        op_free(op);
        return false;
    }
    if (!fs_start(b, op, error)) {
        op_free(op);
        return false;
    }
    if (!fs_snapshot_issue(op, error)) {
        op_detach(op);
        op_free(op);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------- restore */

/* Checks the bytes read against the handle, then decodes them. */
static RtSnapshot *fs_verify_decode(const FsOp *op, const void *data, size_t len,
                                    GError **error) {
    const RtStateHandle *h = op->handle;
    if (len != h->size_bytes) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT,
                    "snapshot file %s has %zu bytes, its handle says %" PRIu64
                    " (torn or truncated)", op->path, len, h->size_bytes);
        return NULL;
    }
    uint32_t crc = rt_crc32c(0, data, len);
    if (crc != h->crc32c) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT,
                    "snapshot file %s: CRC-32C 0x%08" PRIx32 ", its handle says 0x%08" PRIx32,
                    op->path, crc, h->crc32c);
        return NULL;
    }
    RtSnapshot *snap = NULL;
    if (!rt_snapshot_decode(data, len, &snap, error)) {
        g_prefix_error(error, "snapshot file %s: ", op->path);
        return NULL;
    }
    return snap;
}

static void fs_restore_read(void *user_data, const void *data, size_t len, GError *error) {
    FsOp *op = (FsOp *)rt_pending_op_lookup(user_data);
    if (op == NULL) { /* cancelled, cleared or freed */
        g_clear_error(&error);
        return;
    }
    op_detach(op);
    RtSnapshot *snap = NULL;
    if (error != NULL)
        g_prefix_error(&error, "filesystem state backend: read of %s failed: ", op->path);
    else
        snap = fs_verify_decode(op, data, len, &error);
    op->restore_done(op->user_data, snap, error);
    g_clear_error(&error);
    op_free(op);
}

static bool fs_restore(RtStateBackend *self, const RtStateHandle *handle,
                       RtRestoreDoneFunc done, void *user_data, GError **error) {
    FsBackend *b = (FsBackend *)self;
    if (!rt_storage_path_valid(handle->location)) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE,
                    "filesystem state handle of checkpoint %" PRIu64 ": bad path '%s'",
                    handle->checkpoint_id, handle->location);
        return false;
    }
    FsOp *op = g_new0(FsOp, 1);
    op->path = g_strdup(handle->location);
    op->handle = rt_state_handle_copy(handle);
    op->restore_done = done;
    op->user_data = user_data;
    if (!fs_start(b, op, error)) {
        op_free(op);
        return false;
    }
    if (!rt_storage_read(op->storage, op->path, fs_restore_read, rt_pending_op_token(&op->op),
                         error)) {
        op_detach(op);
        op_free(op);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ discard, clear */

static void fs_discard_done(void *user_data, GError *error) {
    (void)user_data;
    g_clear_error(&error); /* best effort, as Flink's discardState */
}

static void fs_discard(RtStateBackend *self, const RtStateHandle *handle) {
    if (!rt_storage_path_valid(handle->location))
        return;
    GError *err = NULL;
    if (!rt_storage_remove(self->env->storage, handle->location, fs_discard_done, NULL, &err))
        g_clear_error(&err);
}

static void fs_cancel(RtStateBackend *self, void *user_data) {
    FsBackend *b = (FsBackend *)self;
    GList *l = b->pending.ops.head;
    while (l != NULL) { /* bounded by the number of operations in flight */
        FsOp *op = l->data;
        l = l->next;
        if (op->user_data == user_data) {
            op_detach(op);
            op_free(op);
        }
    }
}

static void fs_clear(RtStateBackend *self) {
    FsBackend *b = (FsBackend *)self;
    rt_pending_ops_clear(&b->pending);
}

static void fs_free(RtStateBackend *self) {
    FsBackend *b = (FsBackend *)self;
    fs_clear(self);
    g_free(b->dir);
    g_free(b);
}

static const RtStateBackendOps fs_ops = {
    .name = "filesystem",
    .configure = fs_configure,
    .snapshot = fs_snapshot,
    .restore = fs_restore,
    .discard = fs_discard,
    .cancel = fs_cancel,
    .clear = fs_clear,
    .free = fs_free,
};

RtStateBackend *rt_backend_fs_new(RtEnv *env) {
    assert(env != NULL && env->storage != NULL);
    FsBackend *b = g_new0(FsBackend, 1);
    b->base.ops = &fs_ops;
    b->base.env = env;
    b->dir = g_strdup(FS_DEFAULT_DIR);
    rt_pending_ops_init(&b->pending);
    return &b->base;
}
