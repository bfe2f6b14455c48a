/* rt_backend_hashmap.c - the "hashmap" state backend: working state lives in the
 * subtask's heap keyed state store, and a snapshot's bytes travel inline in the state
 * handle to the job manager, as with Flink's HashMapStateBackend +
 * JobManagerCheckpointStorage. Nothing touches storage, so "persisting" is a short env
 * timer (it keeps the asynchronous contract: done runs later, never inside the call).
 * Restore checks the inline bytes against the handle's size and CRC-32C, then decodes
 * them (which validates again). */
#include "runtime/state/rt_state_backend.h"

#include <assert.h>
#include <inttypes.h>

/* Delay of the asynchronous part, ns. Small: the bytes are already in memory. */
#define HASHMAP_PERSIST_DELAY_NS 1000u
/* Operations in flight at once (a limit on everything). */
#define HASHMAP_MAX_PENDING 1024u

typedef struct HashmapBackend HashmapBackend;

typedef struct HashmapOp {
    HashmapBackend *owner;
    RtTimerId timer;
    RtStateHandle *handle;        /* snapshot: to deliver; restore: a copy to read */
    RtSnapshotDoneFunc snap_done; /* exactly one of snap_done / restore_done is set */
    RtRestoreDoneFunc restore_done;
    void *user_data;
} HashmapOp;

struct HashmapBackend {
    RtStateBackend base;
    GPtrArray *pending; /* HashmapOp*, not observable (only counted and cancelled) */
};

static void op_free(HashmapOp *op) {
    rt_state_handle_free(op->handle);
    g_free(op);
}

static bool hashmap_configure(RtStateBackend *self, const RtConfig *config, GError **error) {
    (void)self;
    (void)config;
    (void)error;
    return true; /* no options: the bytes go to the job manager inline */
}

/* Timer: the asynchronous part is over. The op leaves the pending list before the
 * callback runs, since the callback may free the backend. */
static void hashmap_op_fire(void *user_data) {
    HashmapOp *op = user_data;
    bool removed = g_ptr_array_remove_fast(op->owner->pending, op);
    assert(removed);
    if (op->snap_done != NULL) {
        RtStateHandle *h = op->handle;
        op->handle = NULL;
        op->snap_done(op->user_data, h, NULL);
        op_free(op);
        return;
    }
    GError *err = NULL;
    RtSnapshot *snap = NULL;
    gsize n = 0;
    const void *data = g_bytes_get_data(op->handle->inline_data, &n);
    if (n != op->handle->size_bytes || rt_crc32c(0, data, n) != op->handle->crc32c)
        g_set_error(&err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT,
                    "inline snapshot of checkpoint %" PRIu64 ": %zu bytes, handle says %"
                    PRIu64 " with a different checksum", op->handle->checkpoint_id,
                    (size_t)n, op->handle->size_bytes);
    else if (!rt_snapshot_decode(data, n, &snap, &err))
        g_prefix_error(&err, "inline snapshot of checkpoint %" PRIu64 ": ",
                       op->handle->checkpoint_id);
    op->restore_done(op->user_data, snap, err);
    g_clear_error(&err);
    op_free(op);
}

static bool hashmap_start(HashmapBackend *b, HashmapOp *op, GError **error) {
    if (b->pending->len >= HASHMAP_MAX_PENDING) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_IO,
                    "hashmap state backend: %u operations already in flight",
                    HASHMAP_MAX_PENDING);
        op_free(op);
        return false;
    }
    op->owner = b;
    op->timer = rt_env_timer_start(b->base.env, HASHMAP_PERSIST_DELAY_NS, hashmap_op_fire, op);
    g_ptr_array_add(b->pending, op);
    return true;
}

static bool hashmap_snapshot(RtStateBackend *self, const RtSnapshotTarget *target,
                             GBytes *encoded, RtSnapshotDoneFunc done, void *user_data,
                             GError **error) {
    gsize n = 0;
    const void *data = g_bytes_get_data(encoded, &n);
    HashmapOp *op = g_new0(HashmapOp, 1);
    op->handle = rt_state_handle_new(self->ops->name, "", target->checkpoint_id, n,
                                     rt_crc32c(0, data, n), encoded);
    op->snap_done = done;
    op->user_data = user_data;
    return hashmap_start((HashmapBackend *)self, op, error);
}

static bool hashmap_restore(RtStateBackend *self, const RtStateHandle *handle,
                            RtRestoreDoneFunc done, void *user_data, GError **error) {
    if (handle->inline_data == NULL) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE,
                    "hashmap state handle of checkpoint %" PRIu64 " carries no bytes",
                    handle->checkpoint_id);
        return false;
    }
    HashmapOp *op = g_new0(HashmapOp, 1);
    op->handle = rt_state_handle_copy(handle);
    op->restore_done = done;
    op->user_data = user_data;
    return hashmap_start((HashmapBackend *)self, op, error);
}

static void hashmap_discard(RtStateBackend *self, const RtStateHandle *handle) {
    (void)self;
    (void)handle; /* the bytes live in the handle: its owner frees them */
}

/* Cancels the pending operations of user_data (all of them if all). */
static void hashmap_cancel_matching(RtStateBackend *self, bool all, void *user_data) {
    HashmapBackend *b = (HashmapBackend *)self;
    guint i = 0;
    while (i < b->pending->len) { /* bounded: each round removes or skips one */
        HashmapOp *op = g_ptr_array_index(b->pending, i);
        if (!all && op->user_data != user_data) {
            i++;
            continue;
        }
        bool cancelled = rt_env_timer_cancel(self->env, op->timer);
        assert(cancelled);
        g_ptr_array_remove_index_fast(b->pending, i);
        op_free(op);
    }
}

static void hashmap_cancel(RtStateBackend *self, void *user_data) {
    hashmap_cancel_matching(self, false, user_data);
}

static void hashmap_clear(RtStateBackend *self) {
    hashmap_cancel_matching(self, true, NULL);
}

static void hashmap_free(RtStateBackend *self) {
    HashmapBackend *b = (HashmapBackend *)self;
    hashmap_clear(self);
    g_ptr_array_unref(b->pending);
    g_free(b);
}

static const RtStateBackendOps hashmap_ops = {
    .name = "hashmap",
    .configure = hashmap_configure,
    .snapshot = hashmap_snapshot,
    .restore = hashmap_restore,
    .discard = hashmap_discard,
    .cancel = hashmap_cancel,
    .clear = hashmap_clear,
    .free = hashmap_free,
};

RtStateBackend *rt_backend_hashmap_new(RtEnv *env) {
    assert(env != NULL);
    HashmapBackend *b = g_new0(HashmapBackend, 1);
    b->base.ops = &hashmap_ops;
    b->base.env = env;
    b->pending = g_ptr_array_new();
    return &b->base;
}
