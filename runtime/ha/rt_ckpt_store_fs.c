/* rt_ckpt_store_fs.c - completed-checkpoint store and ID counter in durable storage
 * (rt_ckpt_store_fs.h). Every asynchronous step carries a small context holding a
 * reference to the owner's lifeline, so a late completion after free is absorbed. */
#include "runtime/ha/rt_ckpt_store_fs.h"

#include <assert.h>
#include <string.h>

#include "runtime/checkpoint/rt_lifeline.h"
#include "runtime/ha/rt_atomic_file.h"

typedef struct FsStore {
    RtCkptStore base; /* first */
    char *dir;        /* state.checkpoints.dir */
    char *job;
    char *job_dir;    /* <dir>/<job> */
    RtLifeline *life;
    bool busy;        /* a recover or add is in flight (one at a time) */
} FsStore;

/* ------------------------------------------------------------------ recovery */

typedef struct Recovery {
    FsStore *fs;
    RtLifeline *life;
    GArray *ids;        /* uint64_t checkpoint ids found, ascending */
    guint next;         /* index into ids being read */
    GPtrArray *found;   /* RtCompletedCheckpoint*, owned */
    RtCkptStoreDoneFunc done;
    void *user_data;
} Recovery;

static void recovery_free(Recovery *r) {
    g_array_unref(r->ids);
    g_ptr_array_unref(r->found);
    rt_lifeline_unref(r->life);
    g_free(r);
}

static void recovery_finish(Recovery *r, GError *error) {
    if (!r->life->alive) {
        g_clear_error(&error);
        recovery_free(r);
        return;
    }
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
    Recovery *r = user_data;
    if (!r->life->alive) {
        recovery_finish(r, error);
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
    bool ok = rt_storage_read(r->fs->base.env->storage, path, recovery_read_done, r, &err);
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
    Recovery *r = user_data;
    if (error != NULL || !r->life->alive) {
        if (error != NULL)
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
    r->life = rt_lifeline_ref(fs->life);
    r->ids = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    r->found = g_ptr_array_new_with_free_func(completed_free);
    r->done = done;
    r->user_data = user_data;
    char *counter = rt_ckpt_id_counter_fs_path(fs->dir, fs->job);
    bool ok = rt_durable_u64_read(self->env->storage, counter, recovery_counter_done, r,
                                  error);
    g_free(counter);
    if (!ok) {
        recovery_free(r);
        return false;
    }
    fs->busy = true;
    return true;
}

/* ----------------------------------------------------------- add + subsume */

typedef struct Removal {
    FsStore *fs;
    RtLifeline *life;
    RtCompletedCheckpoint *cp; /* owned */
    char *path;
    bool removed;              /* _metadata removed; now syncing the directory */
} Removal;

static void removal_free(Removal *rm) {
    rt_completed_checkpoint_free(rm->cp);
    rt_lifeline_unref(rm->life);
    g_free(rm->path);
    g_free(rm);
}

static void removal_step(void *user_data, GError *error) {
    Removal *rm = user_data;
    if (error != NULL || !rm->life->alive) {
        /* Keep the state: the pointer may still exist. Lingering files are allowed. */
        g_clear_error(&error);
        removal_free(rm);
        return;
    }
    if (!rm->removed) {
        rm->removed = true;
        char *dir = rt_path_parent(rm->path);
        bool ok = rt_storage_fsync_dir(rm->fs->base.env->storage, dir, removal_step, rm, NULL);
        g_free(dir);
        if (!ok)
            removal_free(rm);
        return;
    }
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
        rm->life = rt_lifeline_ref(fs->life);
        rm->cp = old;
        rm->path = rt_ckpt_metadata_path(fs->dir, fs->job, old->checkpoint_id);
        if (!rt_storage_remove(fs->base.env->storage, rm->path, removal_step, rm, NULL))
            removal_free(rm);
    }
}

typedef struct Add {
    FsStore *fs;
    RtLifeline *life;
    RtCompletedCheckpoint *cp; /* owned until appended */
    RtCkptStoreDoneFunc done;
    void *user_data;
} Add;

static void add_done(void *user_data, GError *error, bool possibly_persisted) {
    Add *a = user_data;
    if (!a->life->alive) {
        g_clear_error(&error);
        rt_completed_checkpoint_free(a->cp);
        rt_lifeline_unref(a->life);
        g_free(a);
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
    RtCkptStoreDoneFunc done = a->done;
    void *ud = a->user_data;
    RtLifeline *life = a->life; /* kept across done: it may free the store */
    g_free(a);
    /* The new checkpoint is in before any old one goes (Flink's rule). */
    done(ud, err);
    if (err == NULL && life->alive)
        fs_subsume(fs);
    rt_lifeline_unref(life);
}

static bool fs_add(RtCkptStore *self, RtCompletedCheckpoint *cp, RtCkptStoreDoneFunc done,
                   void *user_data, GError **error) {
    FsStore *fs = (FsStore *)self;
    if (fs->busy) {
        rt_completed_checkpoint_free(cp);
        g_set_error(error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_BUSY, "store busy");
        return false;
    }
    char *path = rt_ckpt_metadata_path(fs->dir, fs->job, cp->checkpoint_id);
    GBytes *bytes = rt_ckpt_metadata_encode(cp);
    Add *a = g_new0(Add, 1);
    a->fs = fs;
    a->life = rt_lifeline_ref(fs->life);
    a->cp = cp;
    a->done = done;
    a->user_data = user_data;
    bool ok = rt_atomic_write(self->env->storage, path, bytes, add_done, a, error);
    g_bytes_unref(bytes);
    g_free(path);
    if (!ok) {
        rt_completed_checkpoint_free(cp);
        rt_lifeline_unref(a->life);
        g_free(a);
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
    rt_lifeline_kill(fs->life);
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
    fs->life = rt_lifeline_new();
    return &fs->base;
}

/* --------------------------------------------------------------- ID counter */

typedef struct FsCounter {
    RtCkptIdCounter base; /* first */
    char *path;
    RtLifeline *life;
    uint64_t next;        /* the next id to hand out, >= 1 once started */
    bool started;
    bool busy;
} FsCounter;

typedef struct CounterOp {
    FsCounter *c;
    RtLifeline *life;
    uint64_t id;
    RtCkptIdCounterStartFunc start_done;
    RtCkptIdFunc id_done;
    void *user_data;
} CounterOp;

static CounterOp *counter_op_new(FsCounter *c, void *user_data) {
    CounterOp *op = g_new0(CounterOp, 1);
    op->c = c;
    op->life = rt_lifeline_ref(c->life);
    op->user_data = user_data;
    return op;
}

static void counter_op_free(CounterOp *op) {
    rt_lifeline_unref(op->life);
    g_free(op);
}

static void counter_read_done(void *user_data, bool found, uint64_t value, GError *error) {
    CounterOp *op = user_data;
    if (!op->life->alive) {
        g_clear_error(&error);
        counter_op_free(op);
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
    CounterOp *op = counter_op_new(c, user_data);
    op->start_done = done;
    if (!rt_durable_u64_read(self->env->storage, c->path, counter_read_done, op, error)) {
        counter_op_free(op);
        return false;
    }
    c->busy = true;
    return true;
}

static void counter_write_done(void *user_data, GError *error, bool possibly_persisted) {
    (void)possibly_persisted;
    CounterOp *op = user_data;
    if (!op->life->alive) {
        g_clear_error(&error);
        counter_op_free(op);
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
    CounterOp *op = counter_op_new(c, user_data);
    op->id = id;
    op->id_done = done;
    /* Persist the counter before the id is used (survives a JM restart). */
    if (!rt_durable_u64_write(self->env->storage, c->path, id + 1, counter_write_done, op,
                              error)) {
        counter_op_free(op);
        return false;
    }
    c->busy = true;
    return true;
}

static void counter_free(RtCkptIdCounter *self) {
    FsCounter *c = (FsCounter *)self;
    rt_lifeline_kill(c->life);
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
    c->life = rt_lifeline_new();
    c->next = 1;
    return &c->base;
}
