/* rt_atomic_file.c - temp + fsync + rename + fsync_dir, and durable numbers
 * (rt_atomic_file.h). Each write is a small chain of storage calls carried by a
 * context that owns copies of everything it needs, so it never touches its caller. The
 * context is registered in the caller's RtPendingOps set (rt_pending_ops.h): the
 * storage callbacks carry its token, and the caller's free frees it if it is still in
 * flight (a crash never delivers its completion). */
#include "runtime/ha/rt_atomic_file.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"
#include "runtime/state/rt_snapshot.h"

G_DEFINE_QUARK(rt-atomic-file-error-quark, rt_atomic_file_error)

#define DURABLE_U64_MAGIC "CKU64v01"
#define DURABLE_U64_BYTES 20u

typedef enum { STEP_WRITE, STEP_FSYNC, STEP_RENAME, STEP_FSYNC_DIR } Step;

typedef struct AtomicWrite {
    RtPendingOp op; /* first: registered in the owner's set while in flight */
    RtStorage *st;
    char *path;
    char *tmp;
    char *dir;
    GBytes *data; /* a reference, in case the storage reads it later */
    Step step;
    RtAtomicWriteDone done;
    void *user_data;
} AtomicWrite;

char *rt_path_parent(const char *path) {
    assert(path != NULL);
    const char *slash = strrchr(path, '/');
    assert(slash != NULL && slash != path);
    return g_strndup(path, (gsize)(slash - path));
}

static void atomic_write_free(AtomicWrite *w) {
    assert(w->op.id == 0);
    g_free(w->path);
    g_free(w->tmp);
    g_free(w->dir);
    g_bytes_unref(w->data);
    g_free(w);
}

static void ignore_done(void *user_data, GError *error) {
    (void)user_data;
    g_clear_error(&error);
}

static void atomic_write_free_op(RtPendingOp *op) {
    atomic_write_free((AtomicWrite *)op);
}

/* Unregisters w, reports the outcome and frees w. */
static void atomic_write_finish(AtomicWrite *w, GError *error) {
    rt_pending_op_unregister(&w->op);
    bool possibly = error != NULL && w->step >= STEP_RENAME;
    if (error != NULL && !possibly) {
        /* Best effort: the temp file is garbage; readers ignore it anyway. */
        rt_storage_remove(w->st, w->tmp, ignore_done, NULL, NULL);
    }
    w->done(w->user_data, error, possibly);
    atomic_write_free(w);
}

static void atomic_write_step(void *user_data, GError *error) {
    AtomicWrite *w = (AtomicWrite *)rt_pending_op_lookup(user_data);
    if (w == NULL) { /* its owner let go of it */
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        g_prefix_error(&error, "%s: ", w->path);
        atomic_write_finish(w, error);
        return;
    }
    GError *err = NULL;
    bool ok = true;
    switch (w->step) {
    case STEP_WRITE:
        w->step = STEP_FSYNC;
        ok = rt_storage_fsync(w->st, w->tmp, atomic_write_step, user_data, &err);
        break;
    case STEP_FSYNC:
        w->step = STEP_RENAME;
        ok = rt_storage_rename(w->st, w->tmp, w->path, atomic_write_step, user_data, &err);
        break;
    case STEP_RENAME:
        w->step = STEP_FSYNC_DIR;
        ok = rt_storage_fsync_dir(w->st, w->dir, atomic_write_step, user_data, &err);
        break;
    case STEP_FSYNC_DIR:
        atomic_write_finish(w, NULL);
        return;
    }
    if (!ok) {
        g_prefix_error(&err, "%s: ", w->path);
        atomic_write_finish(w, err);
    }
}

bool rt_atomic_write(RtStorage *st, RtPendingOps *owner, const char *path, GBytes *data,
                     RtAtomicWriteDone done, void *user_data, GError **error) {
    assert(st != NULL && owner != NULL && data != NULL && done != NULL &&
           rt_storage_path_valid(path));
    AtomicWrite *w = g_new0(AtomicWrite, 1);
    w->st = st;
    w->path = g_strdup(path);
    w->tmp = g_strconcat(path, ".tmp", NULL);
    w->dir = rt_path_parent(path);
    w->data = g_bytes_ref(data);
    w->step = STEP_WRITE;
    w->done = done;
    w->user_data = user_data;
    gsize len = 0;
    const void *bytes = g_bytes_get_data(data, &len);
    void *token = rt_pending_op_register(owner, &w->op, atomic_write_free_op);
    if (!rt_storage_write(st, w->tmp, bytes, len, atomic_write_step, token, error)) {
        rt_pending_op_unregister(&w->op);
        atomic_write_free(w);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ durable numbers */

GBytes *rt_durable_u64_encode(uint64_t value) {
    uint8_t buf[DURABLE_U64_BYTES];
    memcpy(buf, DURABLE_U64_MAGIC, 8);
    rt_bytes_store_u64(buf + 8, value);
    uint32_t crc = rt_crc32c(0, buf, 16);
    for (int i = 0; i < 4; i++)
        buf[16 + i] = (uint8_t)(crc >> (8 * i));
    return g_bytes_new(buf, sizeof buf);
}

bool rt_durable_u64_decode(const void *data, size_t len, uint64_t *value, GError **error) {
    const uint8_t *p = data;
    if (len != DURABLE_U64_BYTES || memcmp(p, DURABLE_U64_MAGIC, 8) != 0) {
        g_set_error(error, RT_ATOMIC_FILE_ERROR, RT_ATOMIC_FILE_ERROR_CORRUPT,
                    "not a durable number file (%zu bytes)", len);
        return false;
    }
    uint32_t crc = (uint32_t)p[16] | (uint32_t)p[17] << 8 | (uint32_t)p[18] << 16 |
                   (uint32_t)p[19] << 24;
    if (crc != rt_crc32c(0, p, 16)) {
        g_set_error(error, RT_ATOMIC_FILE_ERROR, RT_ATOMIC_FILE_ERROR_CORRUPT,
                    "durable number file: checksum mismatch");
        return false;
    }
    *value = rt_bytes_load_u64(p + 8);
    return true;
}

typedef struct U64Read {
    RtPendingOp op; /* first: registered in the owner's set while in flight */
    char *path;
    RtDurableU64ReadDone done;
    void *user_data;
} U64Read;

static void u64_read_free(U64Read *r) {
    assert(r->op.id == 0);
    g_free(r->path);
    g_free(r);
}

static void u64_read_free_op(RtPendingOp *op) {
    u64_read_free((U64Read *)op);
}

static void u64_read_done(void *user_data, const void *data, size_t len, GError *error) {
    U64Read *r = (U64Read *)rt_pending_op_take(user_data);
    if (r == NULL) { /* its owner let go of it */
        g_clear_error(&error);
        return;
    }
    uint64_t value = 0;
    bool found = false;
    if (error != NULL && g_error_matches(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_NOT_FOUND)) {
        g_clear_error(&error);
    } else if (error == NULL) {
        found = rt_durable_u64_decode(data, len, &value, &error);
        if (!found)
            g_prefix_error(&error, "%s: ", r->path);
    } else {
        g_prefix_error(&error, "%s: ", r->path);
    }
    RtDurableU64ReadDone done = r->done;
    void *ud = r->user_data;
    u64_read_free(r);
    done(ud, found, value, error);
}

bool rt_durable_u64_read(RtStorage *st, RtPendingOps *owner, const char *path,
                         RtDurableU64ReadDone done, void *user_data, GError **error) {
    assert(st != NULL && owner != NULL && done != NULL && rt_storage_path_valid(path));
    U64Read *r = g_new0(U64Read, 1);
    r->path = g_strdup(path);
    r->done = done;
    r->user_data = user_data;
    void *token = rt_pending_op_register(owner, &r->op, u64_read_free_op);
    if (!rt_storage_read(st, path, u64_read_done, token, error)) {
        rt_pending_op_unregister(&r->op);
        u64_read_free(r);
        return false;
    }
    return true;
}

bool rt_durable_u64_write(RtStorage *st, RtPendingOps *owner, const char *path,
                          uint64_t value, RtAtomicWriteDone done, void *user_data,
                          GError **error) {
    GBytes *b = rt_durable_u64_encode(value);
    bool ok = rt_atomic_write(st, owner, path, b, done, user_data, error);
    g_bytes_unref(b);
    return ok;
}
