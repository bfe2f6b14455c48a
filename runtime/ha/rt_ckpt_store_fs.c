/* rt_ckpt_store_fs.c - completed-checkpoint store and ID counter in durable storage
 * (rt_ckpt_store_fs.h). Every asynchronous step carries a small context registered in
 * its owner's RtPendingOps set (rt_pending_ops.h): the owner's free frees the contexts
 * still in flight (a crash never delivers their completions), and a late completion
 * after free finds its token gone and does nothing. */
#include "runtime/ha/rt_ckpt_store_fs.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_pending_ops.h"
#include "runtime/ha/rt_atomic_file.h"

typedef struct FsStore {
    RtCkptStore base; /* first */
    char *dir;        /* execution.checkpointing.dir */
    char *job;
    char *job_dir;    /* <dir>/<job> */
    RtPendingOps ops; /* contexts of operations in flight */
    bool busy;        /* a recover or add is in flight (one at a time) */
} FsStore;

/* ------------------------------------------------------------------ recovery */

typedef struct Recovery {
    RtPendingOp op;     /* first: registered in fs->ops until finished */
    FsStore *fs;
    GArray *ids;        /* uint64_t checkpoint ids found, ascending */
    guint next;         /* index into ids being read */
    GPtrArray *found;   /* RtCompletedCheckpoint*, owned */
    RtCkptStoreDoneFunc done;
    void *user_data;
} Recovery;

static void recovery_free(Recovery *r) {
    g_array_unref(r->ids);
    g_ptr_array_unref(r->found);
    g_free(r);
}

static void recovery_free_op(RtPendingOp *op) {
    recovery_free((Recovery *)op);
}

static void recovery_finish(Recovery *r, GError *error) {
    rt_pending_op_unregister(&r->op);
    FsStore *fs = r->fs;
    fs->busy = false;
    if (error == NULL) {
        g_ptr_array_set_size(fs->base.completed, 0);
        while (r->found->len > 0)
            rt_ckpt_store_base_append(&fs->base, g_ptr_array_steal_index(r->found, 0));
    }
    RtCkptStoreDoneFunc done = r->done;
    void *ud = r->user_data;
    recovery_free(r);
    done(ud, error);
}

static void recovery_read_next(Recovery *r);

static void recovery_read_done(void *user_data, const void *data, size_t len,
                               GError *error) {
    Recovery *r = (Recovery *)rt_pending_op_lookup(user_data);
    if (r == NULL) { /* the store was freed */
        g_clear_error(&error);
        return;
    }
    uint64_t id = g_array_index(r->ids, uint64_t, r->next);
    char *path = rt_ckpt_metadata_path(r->fs->dir, r->fs->job, id);
    RtCompletedCheckpoint *cp = NULL;
    GError *err = NULL;
    if (error != NULL && g_error_matches(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_NOT_FOUND)) {
        g_clear_error(&error); /* never completed: not published */
    } else if (error != NULL) {
        g_set_error(&err, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                    "%s: unreadable completed checkpoint: %s", path, error->message);
        g_clear_error(&error);
    } else if (!rt_ckpt_metadata_decode(data, len, &cp, &error)) {
        g_set_error(&err, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                    "%s: broken completed checkpoint: %s", path, error->message);
        g_clear_error(&error);
    } else if (cp->checkpoint_id != id) {
        g_set_error(&err, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                    "%s: holds checkpoint %" G_GUINT64_FORMAT, path, cp->checkpoint_id);
        rt_completed_checkpoint_free(cp);
        cp = NULL;
    }
    g_free(path);
    if (err != NULL && rt_bug_on(r->fs->base.env, RT_BUG_RESTORE_FROM_EMPTY_ON_UNREADABLE)) {
        /* planted (FLINK-5940/FLINK-7783): "nothing usable, start fresh" */
        g_clear_error(&err);
        g_ptr_array_set_size(r->found, 0);
        recovery_finish(r, NULL);
        return;
    }
    if (err != NULL) {
        recovery_finish(r, err);
        return;
    }
    if (cp != NULL)
        g_ptr_array_add(r->found, cp);
    r->next++;
    recovery_read_next(r);
}

static void recovery_read_next(Recovery *r) {
    if (r->next >= r->ids->len) {
        recovery_finish(r, NULL);
        return;
    }
    uint64_t id = g_array_index(r->ids, uint64_t, r->next);
    char *path = rt_ckpt_metadata_path(r->fs->dir, r->fs->job, id);
    GError *err = NULL;
    bool ok = rt_storage_read(r->fs->base.env->storage, path, recovery_read_done,
                              rt_pending_op_token(&r->op), &err);
    g_free(path);
    if (!ok) {
        g_prefix_error(&err, "recovering checkpoint %" G_GUINT64_FORMAT ": ", id);
        recovery_finish(r, err);
    }
}

/* The counter is durable before any id is used, so every published checkpoint has an
 * id below the counter's value: probe chk-1 .. chk-(next-1). (RtStorage's list names
 * only files, not the chk-* directories.) */
static void recovery_counter_done(void *user_data, bool found, uint64_t value,
                                  GError *error) {
    Recovery *r = (Recovery *)rt_pending_op_lookup(user_data);
    if (r == NULL) { /* the store was freed */
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        g_prefix_error(&error, "recovering checkpoints: ");
        recovery_finish(r, error);
        return;
    }
    uint64_t next = found ? value : 1;
    if (next == 0 || next - 1 > RT_CKPT_STORE_FS_MAX_ENTRIES) {
        GError *err = g_error_new(RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                                  "%s: checkpoint counter %" G_GUINT64_FORMAT
                                  " out of range", r->fs->job_dir, next);
        recovery_finish(r, err);
        return;
    }
    for (uint64_t id = 1; id < next; id++)
        g_array_append_val(r->ids, id);
    recovery_read_next(r);
}

static void completed_free(gpointer p) {
    rt_completed_checkpoint_free(p);
}

static bool fs_recover(RtCkptStore *self, RtCkptStoreDoneFunc done, void *user_data,
                       GError **error) {
    FsStore *fs = (FsStore *)self;
    if (fs->busy) {
        g_set_error(error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_BUSY, "store busy");
        return false;
    }
    Recovery *r = g_new0(Recovery, 1);
    r->fs = fs;
    r->ids = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    r->found = g_ptr_array_new_with_free_func(completed_free);
    r->done = done;
    r->user_data = user_data;
    char *counter = rt_ckpt_id_counter_fs_path(fs->dir, fs->job);
    void *token = rt_pending_op_register(&fs->ops, &r->op, recovery_free_op);
    bool ok = rt_durable_u64_read(self->env->storage, &fs->ops, counter,
                                  recovery_counter_done, token, error);
    g_free(counter);
    if (!ok) {
        rt_pending_op_unregister(&r->op);
        recovery_free(r);
        return false;
    }
    fs->busy = true;
    return true;
}

/* ----------------------------------------------------------- add + subsume */

typedef struct Removal {
    RtPendingOp op;            /* first: registered in fs->ops until finished */
    FsStore *fs;
    RtCompletedCheckpoint *cp; /* owned */
    char *path;
    bool removed;              /* _metadata removed; now syncing the directory */
} Removal;

static void removal_free(Removal *rm) {
    rt_completed_checkpoint_free(rm->cp);
    g_free(rm->path);
    g_free(rm);
}

static void removal_free_op(RtPendingOp *op) {
    removal_free((Removal *)op);
}

static void removal_step(void *user_data, GError *error) {
    Removal *rm = (Removal *)rt_pending_op_lookup(user_data);
    if (error != NULL || rm == NULL) {
        /* Keep the state: the pointer may still exist. Lingering files are allowed. */
        g_clear_error(&error);
        if (rm != NULL) {
            rt_pending_op_unregister(&rm->op);
            removal_free(rm);
        }
        return;
    }
    if (!rm->removed) {
        rm->removed = true;
        char *dir = rt_path_parent(rm->path);
        bool ok = rt_storage_fsync_dir(rm->fs->base.env->storage, dir, removal_step, user_data,
                                       NULL);
        g_free(dir);
        if (!ok) {
            rt_pending_op_unregister(&rm->op);
            removal_free(rm);
        }
        return;
    }
    rt_pending_op_unregister(&rm->op);
    if (rm->fs->base.discard != NULL)
        rm->fs->base.discard(rm->fs->base.discard_data, rm->cp);
    removal_free(rm);
}

static void fs_subsume(FsStore *fs) {
    for (guint guard = 0; guard < RT_CKPT_STORE_FS_MAX_ENTRIES; guard++) {
        RtCompletedCheckpoint *old = rt_ckpt_store_base_take_subsumed(&fs->base);
        if (old == NULL)
            return;
        Removal *rm = g_new0(Removal, 1);
        rm->fs = fs;
        rm->cp = old;
        rm->path = rt_ckpt_metadata_path(fs->dir, fs->job, old->checkpoint_id);
        void *token = rt_pending_op_register(&fs->ops, &rm->op, removal_free_op);
        if (!rt_storage_remove(fs->base.env->storage, rm->path, removal_step, token, NULL)) {
            rt_pending_op_unregister(&rm->op);
            removal_free(rm);
        }
    }
}

typedef struct Add {
    RtPendingOp op;            /* first: registered in fs->ops until finished */
    FsStore *fs;
    RtCompletedCheckpoint *cp; /* owned until appended (or freed on failure) */
    RtCkptStoreDoneFunc done;
    void *user_data;
} Add;

static void add_free(Add *a) {
    if (a->cp != NULL)
        rt_completed_checkpoint_free(a->cp);
    g_free(a);
}

static void add_free_op(RtPendingOp *op) {
    add_free((Add *)op);
}

static void add_done(void *user_data, GError *error, bool possibly_persisted) {
    Add *a = (Add *)rt_pending_op_lookup(user_data);
    if (a == NULL) { /* the store was freed */
        g_clear_error(&error);
        return;
    }
    FsStore *fs = a->fs;
    fs->busy = false;
    GError *err = NULL;
    if (error != NULL) {
        g_set_error(&err, RT_CKPT_STORE_ERROR,
                    possibly_persisted ? RT_CKPT_STORE_ERROR_POSSIBLY_PERSISTED
                                       : RT_CKPT_STORE_ERROR_FAILED,
                    "publishing checkpoint %" G_GUINT64_FORMAT ": %s", a->cp->checkpoint_id,
                    error->message);
        g_clear_error(&error);
        rt_completed_checkpoint_free(a->cp);
    } else {
        rt_ckpt_store_base_append(&fs->base, a->cp);
    }
    a->cp = NULL;
    bool published = err == NULL;
    /* a stays registered across done: if done frees the store, the store frees a. */
    a->done(a->user_data, err);
    a = (Add *)rt_pending_op_take(user_data);
    if (a == NULL)
        return;
    add_free(a);
    /* The new checkpoint is in before any old one goes (Flink's rule). */
    if (published)
        fs_subsume(fs);
}

/* Planted RT_BUG_SUBSUME_BEFORE_PUBLISH: makes room for the new checkpoint first,
 * removing (and discarding) the oldest ones down to num_retained - 1, latest included. */
static void fs_subsume_early(FsStore *fs) {
    GPtrArray *c = fs->base.completed;
    while (c->len > 0 && c->len >= fs->base.num_retained) {
        RtCompletedCheckpoint *old = g_ptr_array_steal_index(c, 0);
        Removal *rm = g_new0(Removal, 1);
        rm->fs = fs;
        rm->cp = old;
        rm->path = rt_ckpt_metadata_path(fs->dir, fs->job, old->checkpoint_id);
        void *token = rt_pending_op_register(&fs->ops, &rm->op, removal_free_op);
        if (!rt_storage_remove(fs->base.env->storage, rm->path, removal_step, token, NULL)) {
            rt_pending_op_unregister(&rm->op);
            removal_free(rm);
        }
    }
}

static bool fs_add(RtCkptStore *self, RtCompletedCheckpoint *cp, RtCkptStoreDoneFunc done,
                   void *user_data, GError **error) {
    FsStore *fs = (FsStore *)self;
    if (fs->busy) {
        rt_completed_checkpoint_free(cp);
        g_set_error(error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_BUSY, "store busy");
        return false;
    }
    if (rt_bug_on(self->env, RT_BUG_SUBSUME_BEFORE_PUBLISH))
        fs_subsume_early(fs);
    char *path = rt_ckpt_metadata_path(fs->dir, fs->job, cp->checkpoint_id);
    GBytes *bytes = rt_ckpt_metadata_encode(cp);
    Add *a = g_new0(Add, 1);
    a->fs = fs;
    a->cp = cp;
    a->done = done;
    a->user_data = user_data;
    void *token = rt_pending_op_register(&fs->ops, &a->op, add_free_op);
    bool ok = rt_atomic_write(self->env->storage, &fs->ops, path, bytes, add_done, token,
                              error);
    g_bytes_unref(bytes);
    g_free(path);
    if (!ok) {
        rt_pending_op_unregister(&a->op);
        add_free(a);
        return false;
    }
    fs->busy = true;
    return true;
}

static char *fs_location(RtCkptStore *self, uint64_t checkpoint_id) {
    FsStore *fs = (FsStore *)self;
    return rt_ckpt_metadata_path(fs->dir, fs->job, checkpoint_id);
}

static void fs_free(RtCkptStore *self) {
    FsStore *fs = (FsStore *)self;
    rt_pending_ops_clear(&fs->ops);
    rt_ckpt_store_base_deinit(self);
    g_free(fs->dir);
    g_free(fs->job);
    g_free(fs->job_dir);
    g_free(fs);
}

static const RtCkptStoreOps fs_store_ops = {
    .name = "filesystem",
    .recover = fs_recover,
    .add = fs_add,
    .location = fs_location,
    .free = fs_free,
};

RtCkptStore *rt_ckpt_store_fs_new(RtEnv *env, const char *dir, const char *job,
                                  uint32_t num_retained, RtCkptDiscardFunc discard,
                                  void *discard_data) {
    assert(env != NULL && dir != NULL && job != NULL);
    FsStore *fs = g_new0(FsStore, 1);
    rt_ckpt_store_base_init(&fs->base, &fs_store_ops, env, job, num_retained, discard,
                            discard_data);
    fs->dir = g_strdup(dir);
    fs->job = g_strdup(job);
    fs->job_dir = rt_ckpt_job_dir(dir, job);
    rt_pending_ops_init(&fs->ops);
    return &fs->base;
}

/* --------------------------------------------------------------- ID counter */

typedef struct FsCounter {
    RtCkptIdCounter base; /* first */
    char *path;
    RtPendingOps ops;     /* contexts of operations in flight */
    uint64_t next;        /* the next id to hand out, >= 1 once started */
    bool started;
    bool busy;
} FsCounter;

typedef struct CounterOp {
    RtPendingOp op; /* first: registered in c->ops until finished */
    FsCounter *c;
    uint64_t id;
    RtCkptIdCounterStartFunc start_done;
    RtCkptIdFunc id_done;
    void *user_data;
} CounterOp;

static void counter_op_free(CounterOp *op) {
    g_free(op);
}

static void counter_op_free_op(RtPendingOp *op) {
    counter_op_free((CounterOp *)op);
}

/* A new operation, registered; *token receives its token. */
static CounterOp *counter_op_new(FsCounter *c, void *user_data, void **token) {
    CounterOp *op = g_new0(CounterOp, 1);
    op->c = c;
    op->user_data = user_data;
    *token = rt_pending_op_register(&c->ops, &op->op, counter_op_free_op);
    return op;
}

static void counter_read_done(void *user_data, bool found, uint64_t value, GError *error) {
    CounterOp *op = (CounterOp *)rt_pending_op_take(user_data);
    if (op == NULL) { /* the counter was freed */
        g_clear_error(&error);
        return;
    }
    FsCounter *c = op->c;
    c->busy = false;
    if (error == NULL) {
        c->next = found ? value : 1;
        if (c->next == 0) {
            error = g_error_new(RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                                "%s: holds 0", c->path);
        } else {
            c->started = true;
        }
    }
    RtCkptIdCounterStartFunc done = op->start_done;
    void *ud = op->user_data;
    counter_op_free(op);
    done(ud, error);
}

static bool counter_start(RtCkptIdCounter *self, RtCkptIdCounterStartFunc done,
                          void *user_data, GError **error) {
    FsCounter *c = (FsCounter *)self;
    assert(!c->busy);
    void *token = NULL;
    CounterOp *op = counter_op_new(c, user_data, &token);
    op->start_done = done;
    if (!rt_durable_u64_read(self->env->storage, &c->ops, c->path, counter_read_done, token,
                             error)) {
        rt_pending_op_unregister(&op->op);
        counter_op_free(op);
        return false;
    }
    c->busy = true;
    return true;
}

static void counter_write_done(void *user_data, GError *error, bool possibly_persisted) {
    (void)possibly_persisted;
    CounterOp *op = (CounterOp *)rt_pending_op_take(user_data);
    if (op == NULL) { /* the counter was freed */
        g_clear_error(&error);
        return;
    }
    FsCounter *c = op->c;
    c->busy = false;
    /* Even a failed write may have persisted: never hand this id out again. */
    c->next = op->id + 1;
    RtCkptIdFunc done = op->id_done;
    void *ud = op->user_data;
    uint64_t id = error == NULL ? op->id : 0;
    counter_op_free(op);
    done(ud, id, error);
}

static bool counter_get_and_increment(RtCkptIdCounter *self, RtCkptIdFunc done,
                                      void *user_data, GError **error) {
    FsCounter *c = (FsCounter *)self;
    assert(c->started && !c->busy);
    uint64_t id = MAX(c->next, self->floor);
    assert(id >= 1 && id < G_MAXUINT64);
    void *token = NULL;
    CounterOp *op = counter_op_new(c, user_data, &token);
    op->id = id;
    op->id_done = done;
    /* Persist the counter before the id is used (survives a JM restart). */
    if (!rt_durable_u64_write(self->env->storage, &c->ops, c->path, id + 1,
                              counter_write_done, token, error)) {
        rt_pending_op_unregister(&op->op);
        counter_op_free(op);
        return false;
    }
    c->busy = true;
    return true;
}

static void counter_free(RtCkptIdCounter *self) {
    FsCounter *c = (FsCounter *)self;
    rt_pending_ops_clear(&c->ops);
    g_free(c->path);
    g_free(c);
}

static const RtCkptIdCounterOps fs_counter_ops = {
    .name = "filesystem",
    .start = counter_start,
    .get_and_increment = counter_get_and_increment,
    .free = counter_free,
};

char *rt_ckpt_id_counter_fs_path(const char *dir, const char *job) {
    char *jd = rt_ckpt_job_dir(dir, job);
    char *path = g_strdup_printf("%s/checkpoint-counter", jd);
    g_free(jd);
    return path;
}

RtCkptIdCounter *rt_ckpt_id_counter_fs_new(RtEnv *env, const char *dir, const char *job) {
    assert(env != NULL && dir != NULL && job != NULL);
    FsCounter *c = g_new0(FsCounter, 1);
    c->base.ops = &fs_counter_ops;
    c->base.env = env;
    c->base.floor = 1;
    c->path = rt_ckpt_id_counter_fs_path(dir, job);
    rt_pending_ops_init(&c->ops);
    c->next = 1;
    return &c->base;
}
