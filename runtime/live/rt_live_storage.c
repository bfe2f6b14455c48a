/* rt_live_storage.c - RtStorage over real files (see rt_live_storage.h).
 *
 * Every operation runs its system calls at once and queues a completion record; one
 * idle GSource on the storage's context delivers the queue in FIFO order. A dispatch
 * delivers only the records present when it starts, so callbacks that issue more
 * operations cannot starve the loop.
 */
#include "runtime/live/rt_live_storage.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum RtLiveOpKind { RT_LIVE_OP_DONE, RT_LIVE_OP_READ, RT_LIVE_OP_LIST } RtLiveOpKind;

typedef struct RtLiveOp {
    RtLiveOpKind kind;
    RtStorageDoneFunc done;
    RtStorageReadFunc read_done;
    RtStorageListFunc list_done;
    void *ud;
    GError *error;   /* result; handed to the callback */
    GBytes *content; /* read result */
    GPtrArray *names; /* list result, NULL-terminated */
} RtLiveOp;

struct RtLiveStorage {
    RtStorage base; /* first */
    GMainContext *ctx;
    char *root;
    GQueue pending;  /* RtLiveOp*, issue order */
    GSource *source; /* the idle source while pending is non-empty */
};

static const RtStorageOps rt_live_storage_ops;

/* ------------------------------------------------------------ errors */

static RtStorageError rt_live_code(int err) {
    switch (err) {
    case ENOENT:
    case ENOTDIR: return RT_STORAGE_ERROR_NOT_FOUND;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return RT_STORAGE_ERROR_NO_SPACE;
    default: return RT_STORAGE_ERROR_IO;
    }
}

static GError *rt_live_error(const char *op, const char *path, int err) {
    return g_error_new(RT_STORAGE_ERROR, rt_live_code(err), "storage %s '%s': %s", op, path,
                       g_strerror(err));
}

/* ------------------------------------------------------------ completion queue */

static void rt_live_op_free(RtLiveOp *op) {
    if (op->error != NULL)
        g_error_free(op->error);
    if (op->content != NULL)
        g_bytes_unref(op->content);
    if (op->names != NULL)
        g_ptr_array_free(op->names, TRUE);
    g_free(op);
}

static void rt_live_op_deliver(RtLiveOp *op) {
    GError *err = op->error;
    op->error = NULL; /* ownership goes to the callee */
    switch (op->kind) {
    case RT_LIVE_OP_DONE: op->done(op->ud, err); break;
    case RT_LIVE_OP_READ: {
        size_t len = 0;
        const void *data = NULL;
        if (op->content != NULL) {
            data = g_bytes_get_data(op->content, &len);
            if (data == NULL)
                data = ""; /* an empty file: non-NULL data without error */
        }
        op->read_done(op->ud, data, len, err);
        break;
    }
    case RT_LIVE_OP_LIST:
        op->list_done(op->ud, err == NULL ? (const char *const *)op->names->pdata : NULL, err);
        break;
    }
}

static gboolean rt_live_dispatch(gpointer data) {
    RtLiveStorage *ls = data;
    guint n = g_queue_get_length(&ls->pending);
    for (guint i = 0; i < n; i++) {
        RtLiveOp *op = g_queue_pop_head(&ls->pending);
        rt_live_op_deliver(op);
        rt_live_op_free(op);
    }
    if (!g_queue_is_empty(&ls->pending))
        return G_SOURCE_CONTINUE;
    g_source_unref(ls->source);
    ls->source = NULL;
    return G_SOURCE_REMOVE;
}

static RtLiveOp *rt_live_queue(RtLiveStorage *ls, RtLiveOpKind kind, void *ud) {
    RtLiveOp *op = g_new0(RtLiveOp, 1);
    op->kind = kind;
    op->ud = ud;
    g_queue_push_tail(&ls->pending, op);
    if (ls->source == NULL) {
        ls->source = g_idle_source_new();
        g_source_set_callback(ls->source, rt_live_dispatch, ls, NULL);
        g_source_attach(ls->source, ls->ctx);
    }
    return op;
}

/* Fails at once on an invalid path or a full completion queue. */
static bool rt_live_admit(RtLiveStorage *ls, const char *op, const char *path, GError **error) {
    if (!rt_storage_path_valid(path)) {
        g_set_error(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_INVALID,
                    "storage %s: invalid path '%s'", op, path != NULL ? path : "(null)");
        return false;
    }
    if (g_queue_get_length(&ls->pending) >= RT_LIVE_STORAGE_MAX_PENDING) {
        g_set_error(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO,
                    "storage %s '%s': too many completions pending (%u)", op, path,
                    RT_LIVE_STORAGE_MAX_PENDING);
        return false;
    }
    return true;
}

static RtLiveStorage *rt_live_of(RtStorage *self) {
    assert(self != NULL && self->ops == &rt_live_storage_ops);
    return (RtLiveStorage *)self;
}

static char *rt_live_full(RtLiveStorage *ls, const char *path) {
    return g_build_filename(ls->root, path, NULL);
}

/* mkdir -p of the parent of full; 0 or an errno. */
static int rt_live_mkparent(const char *full) {
    char *dir = g_path_get_dirname(full);
    int rc = g_mkdir_with_parents(dir, 0755) == 0 ? 0 : errno;
    g_free(dir);
    return rc;
}

/* ------------------------------------------------------------ system calls */

static int rt_live_write_all(const char *full, const void *data, size_t len) {
    int err = rt_live_mkparent(full);
    if (err != 0)
        return err;
    int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            close(fd);
            return err;
        }
        p += n;
        left -= (size_t)n;
    }
    return close(fd) == 0 ? 0 : errno;
}

static int rt_live_fsync_path(const char *full, int flags) {
    int fd = open(full, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0)
        return errno;
    int err = 0;
    while (fsync(fd) != 0) {
        if (errno != EINTR) {
            err = errno;
            break;
        }
    }
    close(fd);
    return err;
}

static int rt_live_read_all(const char *full, GBytes **out) {
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    memset(&st, 0, sizeof st);
    int err = fstat(fd, &st) != 0                                       ? errno
              : S_ISDIR(st.st_mode)                                    ? EISDIR
              : (uint64_t)st.st_size > RT_LIVE_STORAGE_MAX_FILE_BYTES ? EFBIG
                                                                       : 0;
    if (err != 0) {
        close(fd);
        return err;
    }
    /* Read what fstat announced (plus one byte to notice growth: then keep the size). */
    size_t cap = (size_t)st.st_size, len = 0;
    char *buf = g_malloc(cap + 1);
    while (len < cap + 1) { /* bounded: each round reads at least one byte or stops */
        ssize_t n = read(fd, buf + len, cap + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = errno;
            g_free(buf);
            close(fd);
            return err;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    *out = g_bytes_new_take(buf, len > cap ? cap : len);
    return 0;
}

static gint rt_live_cmp_names(gconstpointer a, gconstpointer b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Regular files directly in full, sorted; an absent directory is empty. */
static int rt_live_list_dir(const char *full, GPtrArray **out) {
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    DIR *d = opendir(full);
    if (d == NULL && errno != ENOENT && errno != ENOTDIR) {
        int err = errno;
        g_ptr_array_free(names, TRUE);
        return err;
    }
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            g_ptr_array_add(names, g_strdup(e->d_name));
    }
    if (d != NULL)
        closedir(d);
    g_ptr_array_sort(names, rt_live_cmp_names);
    g_ptr_array_add(names, NULL);
    *out = names;
    return 0;
}

/* ------------------------------------------------------------ ops */

static bool rt_live_write(RtStorage *self, const char *path, const void *data, size_t len,
                          RtStorageDoneFunc done, void *user_data, GError **error) {
    RtLiveStorage *ls = rt_live_of(self);
    if (!rt_live_admit(ls, "write", path, error))
        return false;
    char *full = rt_live_full(ls, path);
    int err = rt_live_write_all(full, data, len);
    g_free(full);
    RtLiveOp *op = rt_live_queue(ls, RT_LIVE_OP_DONE, user_data);
    op->done = done;
    if (err != 0)
        op->error = rt_live_error("write", path, err);
    return true;
}

static bool rt_live_fsync(RtStorage *self, const char *path, RtStorageDoneFunc done,
                          void *user_data, GError **error) {
    RtLiveStorage *ls = rt_live_of(self);
    if (!rt_live_admit(ls, "fsync", path, error))
        return false;
    char *full = rt_live_full(ls, path);
    int err = rt_live_fsync_path(full, 0);
    g_free(full);
    RtLiveOp *op = rt_live_queue(ls, RT_LIVE_OP_DONE, user_data);
    op->done = done;
    if (err != 0)
        op->error = rt_live_error("fsync", path, err);
    return true;
}

static bool rt_live_fsync_dir(RtStorage *self, const char *dir, RtStorageDoneFunc done,
                              void *user_data, GError **error) {
    RtLiveStorage *ls = rt_live_of(self);
    if (!rt_live_admit(ls, "fsync_dir", dir, error))
        return false;
    char *full = rt_live_full(ls, dir);
    int err = rt_live_fsync_path(full, O_DIRECTORY);
    g_free(full);
    if (err == ENOENT)
        err = 0; /* directories exist implicitly: nothing to make durable */
    RtLiveOp *op = rt_live_queue(ls, RT_LIVE_OP_DONE, user_data);
    op->done = done;
    if (err != 0)
        op->error = rt_live_error("fsync_dir", dir, err);
    return true;
}

static bool rt_live_rename(RtStorage *self, const char *from, const char *to,
                           RtStorageDoneFunc done, void *user_data, GError **error) {
    RtLiveStorage *ls = rt_live_of(self);
    if (!rt_live_admit(ls, "rename", from, error) || !rt_live_admit(ls, "rename", to, error))
        return false;
    char *ffrom = rt_live_full(ls, from), *fto = rt_live_full(ls, to);
    int err = 0;
    struct stat st;
    if (lstat(ffrom, &st) != 0)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = ENOENT; /* only files have names in this storage */
    else if ((err = rt_live_mkparent(fto)) == 0 && rename(ffrom, fto) != 0)
        err = errno;
    g_free(ffrom);
    g_free(fto);
    RtLiveOp *op = rt_live_queue(ls, RT_LIVE_OP_DONE, user_data);
    op->done = done;
    if (err != 0)
        op->error = rt_live_error("rename", from, err);
    return true;
}

static bool rt_live_read(RtStorage *self, const char *path, RtStorageReadFunc done,
                         void *user_data, GError **error) {
    RtLiveStorage *ls = rt_live_of(self);
    if (!rt_live_admit(ls, "read", path, error))
        return false;
    char *full = rt_live_full(ls, path);
    GBytes *content = NULL;
    int err = rt_live_read_all(full, &content);
    g_free(full);
    RtLiveOp *op = rt_live_queue(ls, RT_LIVE_OP_READ, user_data);
    op->read_done = done;
    op->content = content;
    if (err != 0)
        op->error = rt_live_error("read", path, err);
    return true;
}

static bool rt_live_list(RtStorage *self, const char *dir, RtStorageListFunc done,
                         void *user_data, GError **error) {
    RtLiveStorage *ls = rt_live_of(self);
    if (!rt_live_admit(ls, "list", dir, error))
        return false;
    char *full = rt_live_full(ls, dir);
    GPtrArray *names = NULL;
    int err = rt_live_list_dir(full, &names);
    g_free(full);
    RtLiveOp *op = rt_live_queue(ls, RT_LIVE_OP_LIST, user_data);
    op->list_done = done;
    op->names = names;
    if (err != 0)
        op->error = rt_live_error("list", dir, err);
    return true;
}

static bool rt_live_remove(RtStorage *self, const char *path, RtStorageDoneFunc done,
                           void *user_data, GError **error) {
    RtLiveStorage *ls = rt_live_of(self);
    if (!rt_live_admit(ls, "remove", path, error))
        return false;
    char *full = rt_live_full(ls, path);
    int err = unlink(full) == 0 ? 0 : errno;
    g_free(full);
    if (err == EISDIR || err == EPERM)
        err = ENOENT; /* a directory is not a file of this storage */
    RtLiveOp *op = rt_live_queue(ls, RT_LIVE_OP_DONE, user_data);
    op->done = done;
    if (err != 0)
        op->error = rt_live_error("remove", path, err);
    return true;
}

static const RtStorageOps rt_live_storage_ops = {
    .name = "posix",
    .write = rt_live_write,
    .fsync = rt_live_fsync,
    .fsync_dir = rt_live_fsync_dir,
    .rename = rt_live_rename,
    .read = rt_live_read,
    .list = rt_live_list,
    .remove = rt_live_remove,
};

/* ------------------------------------------------------------ lifecycle */

RtLiveStorage *rt_live_storage_new(GMainContext *ctx, const char *root, GError **error) {
    assert(root != NULL);
    if (g_mkdir_with_parents(root, 0755) != 0 || !g_file_test(root, G_FILE_TEST_IS_DIR)) {
        int err = errno != 0 ? errno : ENOTDIR;
        g_set_error(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO,
                    "storage root '%s' cannot be created: %s", root, g_strerror(err));
        return NULL;
    }
    RtLiveStorage *ls = g_new0(RtLiveStorage, 1);
    ls->base.ops = &rt_live_storage_ops;
    ls->ctx = ctx != NULL ? g_main_context_ref(ctx) : g_main_context_ref(g_main_context_default());
    ls->root = g_strdup(root);
    g_queue_init(&ls->pending);
    return ls;
}

void rt_live_storage_free(RtLiveStorage *ls) {
    if (ls == NULL)
        return;
    if (ls->source != NULL) {
        g_source_destroy(ls->source);
        g_source_unref(ls->source);
    }
    for (RtLiveOp *op; (op = g_queue_pop_head(&ls->pending)) != NULL;)
        rt_live_op_free(op);
    g_main_context_unref(ls->ctx);
    g_free(ls->root);
    g_free(ls);
}

RtStorage *rt_live_storage_get(RtLiveStorage *ls) {
    assert(ls != NULL);
    return &ls->base;
}

const char *rt_live_storage_root(const RtLiveStorage *ls) {
    assert(ls != NULL);
    return ls->root;
}

guint rt_live_storage_pending(const RtLiveStorage *ls) {
    assert(ls != NULL);
    return ls->pending.length;
}
