/* sim_storage.c - the simulated disk (see sim_storage.h for the model).
 *
 * Layout. Inodes are refcounted by the bindings that name them (current and durable
 * namespaces: GTrees path -> inode). Contents are immutable GBytes, so fsync shares
 * the current content as the durable one without copying. Two more trees record what
 * a crash must undo: dirty_inodes (id -> inode with unsynced content) and dirty_names
 * (path -> owner of an unsynced binding change). Each process has a client (the
 * RtStorage it sees) with a FIFO of pending operations in completion order.
 */
#include "sim/world/sim_storage.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_rng.h"

typedef enum SimOpKind {
    SIM_OP_WRITE,
    SIM_OP_FSYNC,
    SIM_OP_FSYNC_DIR,
    SIM_OP_RENAME,
    SIM_OP_READ,
    SIM_OP_LIST,
    SIM_OP_REMOVE,
} SimOpKind;

static const char *const sim_op_names[] = {"write", "fsync", "fsync_dir", "rename",
                                           "read",  "list",  "remove"};

typedef struct SimInode {
    uint64_t id;       /* creation order, from 1: the crash walk's order */
    uint32_t refs;     /* bindings naming it */
    GBytes *cur;       /* current content, never NULL */
    GBytes *dur;       /* durable content, never NULL (empty until the first fsync) */
    bool dirty;        /* cur not yet fsynced; listed in dirty_inodes */
    RtProcessId owner; /* last writer while dirty */
} SimInode;

typedef struct SimClient SimClient;

typedef struct SimOp {
    SimClient *client;
    SimOpKind kind;
    char *path;
    char *path2;   /* rename target */
    GBytes *data;  /* write content */
    int fail_code; /* injected RtStorageError, or -1 */
    RtStorageDoneFunc done;
    RtStorageReadFunc read_done;
    RtStorageListFunc list_done;
    void *ud;
    SimEventId ev;
} SimOp;

struct SimClient {
    RtStorage base; /* first */
    SimStorage *s;
    RtProcessId pid;
    RtRng rng;            /* stream "storage.latency/<pid>" */
    GQueue pending;       /* SimOp*, issue order == completion order */
    uint64_t last_due_ns; /* completion time of the last issued operation */
};

typedef struct SimFailRule {
    char *prefix;
    RtStorageError code;
    uint32_t remaining;
    uint64_t id;         /* index into rule_hits */
} SimFailRule;

struct SimStorage {
    SimKernel *k;
    SimStorageConfig cfg;
    const SimHost *host;
    RtObserver *observer;
    RtRng crash_rng; /* "storage.crash" */
    RtRng fault_rng; /* "storage.faults" */
    uint64_t seed;
    SimClient *clients[SIM_STORAGE_MAX_PROCESSES];
    GTree *current;      /* path -> SimInode* */
    GTree *durable;      /* path -> SimInode* */
    GTree *dirty_names;  /* path -> GUINT_TO_POINTER(owner pid + 1) */
    GTree *dirty_inodes; /* &inode->id -> SimInode* */
    uint64_t next_inode;
    GArray *rules;       /* SimFailRule, oldest first */
    GArray *rule_hits;   /* uint32_t per rule ever added: operations it failed */
    double io_rate, no_space_rate;
    SimStorageStats stats;
};

static const RtStorageOps sim_storage_ops;

void sim_storage_config_init(SimStorageConfig *cfg) {
    assert(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->write_base_ns = 50000;
    cfg->write_ns_per_kib = 1000;
    cfg->read_base_ns = 20000;
    cfg->read_ns_per_kib = 500;
    cfg->fsync_min_ns = 1000000;
    cfg->fsync_max_ns = 5000000;
    cfg->meta_ns = 100000;
    cfg->torn_probability = 0.5;
    cfg->garble_probability = 0.5;
    cfg->max_file_bytes = (uint64_t)1 << 30;
    cfg->max_files = 1000000;
    cfg->max_pending_ops = 100000;
}

/* ------------------------------------------------------------------ inodes */

static gint sim_cmp_u64(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static gint sim_cmp_str(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    return strcmp(a, b);
}

static SimInode *sim_inode_new(SimStorage *s) {
    SimInode *n = g_new0(SimInode, 1);
    n->id = ++s->next_inode;
    n->cur = g_bytes_new(NULL, 0);
    n->dur = g_bytes_ref(n->cur);
    return n;
}

static void sim_inode_clean(SimStorage *s, SimInode *n) {
    if (n->dirty) {
        g_tree_remove(s->dirty_inodes, &n->id);
        n->dirty = false;
    }
}

static void sim_inode_unref(SimStorage *s, SimInode *n) {
    assert(n->refs > 0);
    if (--n->refs > 0)
        return;
    sim_inode_clean(s, n);
    g_bytes_unref(n->cur);
    g_bytes_unref(n->dur);
    g_free(n);
}

/* Binds path to n (NULL: unbinds) in tree, adjusting references. */
static void sim_bind(SimStorage *s, GTree *tree, const char *path, SimInode *n) {
    SimInode *old = g_tree_lookup(tree, path);
    if (old == n)
        return;
    if (n != NULL) {
        n->refs++;
        g_tree_replace(tree, g_strdup(path), n);
    } else {
        g_tree_remove(tree, path);
    }
    if (old != NULL)
        sim_inode_unref(s, old);
}

static void sim_mark_name(SimStorage *s, const char *path, RtProcessId pid) {
    g_tree_replace(s->dirty_names, g_strdup(path), GUINT_TO_POINTER(pid + 1));
}

/* Length of the parent directory part of path ("a/b/c" -> 1 + 1 + 1 = 3: "a/b"). */
static size_t sim_parent_len(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash == NULL ? 0 : (size_t)(slash - path);
}

/* True if path is directly in dir. */
static bool sim_in_dir(const char *path, const char *dir) {
    size_t n = strlen(dir);
    return sim_parent_len(path) == n && strncmp(path, dir, n) == 0;
}

/* ------------------------------------------------------------------ applying */

typedef struct SimDirWalk {
    const char *dir;
    GPtrArray *out; /* paths (borrowed keys) */
} SimDirWalk;

static gboolean sim_dir_walk(gpointer key, gpointer value, gpointer ud) {
    (void)value;
    SimDirWalk *w = ud;
    if (sim_in_dir(key, w->dir))
        g_ptr_array_add(w->out, key);
    return FALSE;
}

/* Paths of tree directly in dir, sorted (borrowed keys: copy before changing tree). */
static GPtrArray *sim_paths_in_dir(GTree *tree, const char *dir) {
    SimDirWalk w = {.dir = dir, .out = g_ptr_array_new()};
    g_tree_foreach(tree, sim_dir_walk, &w);
    return w.out;
}

static GError *sim_not_found(const SimOp *op, const char *path) {
    return g_error_new(RT_STORAGE_ERROR, RT_STORAGE_ERROR_NOT_FOUND,
                       "storage %s: no such file '%s'", sim_op_names[op->kind], path);
}

static GError *sim_apply_write(SimStorage *s, SimOp *op) {
    RtProcessId pid = op->client->pid;
    SimInode *n = g_tree_lookup(s->current, op->path);
    if (g_bytes_get_size(op->data) > s->cfg.max_file_bytes)
        return g_error_new(RT_STORAGE_ERROR, RT_STORAGE_ERROR_NO_SPACE,
                           "storage write: '%s' exceeds the file size limit", op->path);
    if (n == NULL) {
        if ((uint32_t)g_tree_nnodes(s->current) >= s->cfg.max_files)
            return g_error_new(RT_STORAGE_ERROR, RT_STORAGE_ERROR_NO_SPACE,
                               "storage write: no space for file '%s' (file limit)", op->path);
        n = sim_inode_new(s);
        sim_bind(s, s->current, op->path, n);
        sim_mark_name(s, op->path, pid);
    }
    g_bytes_unref(n->cur);
    n->cur = g_bytes_ref(op->data);
    n->owner = pid;
    if (!n->dirty) {
        n->dirty = true;
        g_tree_insert(s->dirty_inodes, &n->id, n);
    }
    s->stats.bytes_written += g_bytes_get_size(op->data);
    return NULL;
}

static GError *sim_apply_fsync(SimStorage *s, SimOp *op) {
    SimInode *n = g_tree_lookup(s->current, op->path);
    if (n == NULL)
        return sim_not_found(op, op->path);
    g_bytes_unref(n->dur);
    n->dur = g_bytes_ref(n->cur);
    sim_inode_clean(s, n);
    sim_bind(s, s->durable, op->path, n);
    g_tree_remove(s->dirty_names, op->path);
    s->stats.fsyncs++;
    return NULL;
}

static GError *sim_apply_fsync_dir(SimStorage *s, SimOp *op) {
    GPtrArray *paths = sim_paths_in_dir(s->dirty_names, op->path);
    for (guint i = 0; i < paths->len; i++) {
        char *p = g_strdup(paths->pdata[i]);
        sim_bind(s, s->durable, p, g_tree_lookup(s->current, p));
        g_tree_remove(s->dirty_names, p);
        g_free(p);
    }
    g_ptr_array_free(paths, TRUE);
    s->stats.fsyncs++;
    return NULL;
}

static GError *sim_apply_rename(SimStorage *s, SimOp *op) {
    SimInode *n = g_tree_lookup(s->current, op->path);
    if (n == NULL)
        return sim_not_found(op, op->path);
    if (strcmp(op->path, op->path2) == 0)
        return NULL;
    n->refs++; /* keep it alive across the unbind */
    sim_bind(s, s->current, op->path2, n);
    sim_bind(s, s->current, op->path, NULL);
    sim_inode_unref(s, n);
    sim_mark_name(s, op->path, op->client->pid);
    sim_mark_name(s, op->path2, op->client->pid);
    return NULL;
}

static GError *sim_apply_remove(SimStorage *s, SimOp *op) {
    if (g_tree_lookup(s->current, op->path) == NULL)
        return sim_not_found(op, op->path);
    sim_bind(s, s->current, op->path, NULL);
    sim_mark_name(s, op->path, op->client->pid);
    return NULL;
}

/* ------------------------------------------------------------------ completion */

static void sim_op_free(SimOp *op) {
    g_free(op->path);
    g_free(op->path2);
    if (op->data != NULL)
        g_bytes_unref(op->data);
    g_free(op);
}

static void sim_storage_report_fault(SimStorage *s, const SimOp *op) {
    if (s->observer == NULL)
        return;
    char *detail = g_strdup_printf("storage: injected %s on %s '%s'",
                                   op->fail_code == RT_STORAGE_ERROR_IO ? "EIO" : "ENOSPC",
                                   sim_op_names[op->kind], op->path);
    RtEvent ev = {.kind = RT_EV_WORLD_FAULT, .process = op->client->pid,
                  .time_ns = sim_kernel_now_ns(s->k), .detail = detail};
    s->observer->ops->event(s->observer, &ev);
    g_free(detail);
}

/* Runs the operation's effect; returns its error (or NULL) and, for reads, *content. */
static GError *sim_op_apply(SimStorage *s, SimOp *op, GBytes **content) {
    if (op->fail_code >= 0) {
        s->stats.injected++;
        sim_storage_report_fault(s, op);
        return g_error_new(RT_STORAGE_ERROR, op->fail_code, "storage %s '%s': injected %s",
                           sim_op_names[op->kind], op->path,
                           op->fail_code == RT_STORAGE_ERROR_IO ? "I/O error" : "no space");
    }
    switch (op->kind) {
    case SIM_OP_WRITE: return sim_apply_write(s, op);
    case SIM_OP_FSYNC: return sim_apply_fsync(s, op);
    case SIM_OP_FSYNC_DIR: return sim_apply_fsync_dir(s, op);
    case SIM_OP_RENAME: return sim_apply_rename(s, op);
    case SIM_OP_REMOVE: return sim_apply_remove(s, op);
    case SIM_OP_READ: {
        SimInode *n = g_tree_lookup(s->current, op->path);
        if (n == NULL)
            return sim_not_found(op, op->path);
        *content = g_bytes_ref(n->cur);
        s->stats.bytes_read += g_bytes_get_size(n->cur);
        return NULL;
    }
    case SIM_OP_LIST: return NULL;
    }
    assert(!"unknown storage op");
    return NULL;
}

static void sim_op_callback(SimStorage *s, SimOp *op, GError *err, GBytes *content) {
    RtProcessId pid = op->client->pid;
    sim_host_enter(s->host, pid);
    if (op->kind == SIM_OP_READ) {
        size_t len = 0;
        const void *data = content != NULL ? g_bytes_get_data(content, &len) : NULL;
        if (content != NULL && data == NULL)
            data = ""; /* an empty file: data is non-NULL when there is no error */
        op->read_done(op->ud, data, len, err);
    } else if (op->kind == SIM_OP_LIST) {
        GPtrArray *paths = sim_paths_in_dir(s->current, op->path);
        GPtrArray *names = g_ptr_array_new_full(paths->len + 1, g_free);
        for (guint i = 0; i < paths->len; i++) {
            const char *p = paths->pdata[i];
            g_ptr_array_add(names, g_strdup(p + sim_parent_len(p) + 1));
        }
        g_ptr_array_add(names, NULL);
        g_ptr_array_free(paths, TRUE);
        op->list_done(op->ud, (const char *const *)names->pdata, err);
        g_ptr_array_free(names, TRUE);
    } else {
        op->done(op->ud, err);
    }
    sim_host_leave(s->host, pid);
}

static void sim_op_fire(SimKernel *k, void *ctx, uint64_t payload) {
    (void)payload;
    SimOp *op = ctx;
    SimClient *c = op->client;
    SimStorage *s = c->s;
    uint64_t held = sim_host_held_until(s->host, c->pid);
    if (held != 0) { /* the process is paused: the operation completes at its resume */
        op->ev = sim_kernel_schedule_at(k, held, sim_op_fire, op, 0);
        return;
    }
    SimOp *head = g_queue_pop_head(&c->pending);
    assert(head == op);
    op->ev = 0;
    GBytes *content = NULL;
    GError *err = sim_op_apply(s, op, &content);
    s->stats.ops++;
    if (err != NULL)
        s->stats.failed++;
    uint64_t h = rt_mix64((uint64_t)c->pid << 8 | op->kind) ^ rt_hash_str(op->path);
    if (op->path2 != NULL)
        h ^= rt_mix64(rt_hash_str(op->path2));
    if (err != NULL)
        h ^= rt_mix64(0xe000u + (uint64_t)err->code);
    size_t len = 0;
    const void *data = NULL;
    if (content != NULL) {
        data = g_bytes_get_data(content, &len);
        h ^= sim_hash_bytes(data, len);
    }
    if (op->data != NULL) {
        data = g_bytes_get_data(op->data, &len);
        h ^= rt_mix64(sim_hash_bytes(data, len));
    }
    sim_kernel_trace_mix(s->k, SIM_TRACE_STORAGE_DONE, h);
    sim_op_callback(s, op, err, content);
    if (content != NULL)
        g_bytes_unref(content);
    sim_op_free(op);
}

/* ------------------------------------------------------------------ issuing */

static bool sim_code_applies(SimOpKind kind, RtStorageError code) {
    if (code == RT_STORAGE_ERROR_IO)
        return true;
    return kind == SIM_OP_WRITE || kind == SIM_OP_FSYNC || kind == SIM_OP_FSYNC_DIR ||
           kind == SIM_OP_RENAME;
}

/* The injected failure for an operation being issued, or -1. */
static int sim_draw_failure(SimStorage *s, SimOpKind kind, const char *path) {
    for (guint i = 0; i < s->rules->len; i++) {
        SimFailRule *r = &g_array_index(s->rules, SimFailRule, i);
        if (!g_str_has_prefix(path, r->prefix) || !sim_code_applies(kind, r->code))
            continue;
        int code = (int)r->code;
        g_array_index(s->rule_hits, uint32_t, r->id)++;
        if (--r->remaining == 0) {
            g_free(r->prefix);
            g_array_remove_index(s->rules, i);
        }
        return code;
    }
    if (s->io_rate > 0.0 && rt_rng_chance(&s->fault_rng, s->io_rate))
        return RT_STORAGE_ERROR_IO;
    if (s->no_space_rate > 0.0 && sim_code_applies(kind, RT_STORAGE_ERROR_NO_SPACE) &&
        rt_rng_chance(&s->fault_rng, s->no_space_rate))
        return RT_STORAGE_ERROR_NO_SPACE;
    return -1;
}

static uint64_t sim_op_latency(SimClient *c, SimOpKind kind, size_t len) {
    const SimStorageConfig *cfg = &c->s->cfg;
    switch (kind) {
    case SIM_OP_WRITE: return cfg->write_base_ns + (uint64_t)len * cfg->write_ns_per_kib / 1024;
    case SIM_OP_READ: return cfg->read_base_ns + (uint64_t)len * cfg->read_ns_per_kib / 1024;
    case SIM_OP_FSYNC:
    case SIM_OP_FSYNC_DIR: return rt_rng_range(&c->rng, cfg->fsync_min_ns, cfg->fsync_max_ns);
    case SIM_OP_RENAME:
    case SIM_OP_LIST:
    case SIM_OP_REMOVE: return cfg->meta_ns;
    }
    return 0;
}

/* Creates and schedules an operation, or fails at once when too many are pending. */
static SimOp *sim_op_issue(RtStorage *self, SimOpKind kind, const char *path,
                           const char *path2, size_t len, void *ud, GError **error) {
    assert(self != NULL && self->ops == &sim_storage_ops);
    SimClient *c = (SimClient *)self;
    SimStorage *s = c->s;
    if (g_queue_get_length(&c->pending) >= s->cfg.max_pending_ops) {
        g_set_error(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO,
                    "storage %s '%s': too many operations in flight (%u)", sim_op_names[kind],
                    path, s->cfg.max_pending_ops);
        return NULL;
    }
    SimOp *op = g_new0(SimOp, 1);
    op->client = c;
    op->kind = kind;
    op->path = g_strdup(path);
    op->path2 = g_strdup(path2);
    op->ud = ud;
    op->fail_code = sim_draw_failure(s, kind, path);
    uint64_t now = sim_kernel_now_ns(s->k);
    uint64_t lat = sim_op_latency(c, kind, len);
    uint64_t due = now > UINT64_MAX - lat ? UINT64_MAX : now + lat;
    if (due < c->last_due_ns)
        due = c->last_due_ns;
    c->last_due_ns = due;
    op->ev = sim_kernel_schedule_at(s->k, due, sim_op_fire, op, 0);
    g_queue_push_tail(&c->pending, op);
    return op;
}

static bool sim_st_write(RtStorage *self, const char *path, const void *data, size_t len,
                         RtStorageDoneFunc done, void *user_data, GError **error) {
    SimOp *op = sim_op_issue(self, SIM_OP_WRITE, path, NULL, len, user_data, error);
    if (op == NULL)
        return false;
    op->data = g_bytes_new(data, len);
    op->done = done;
    return true;
}

static bool sim_st_fsync(RtStorage *self, const char *path, RtStorageDoneFunc done,
                         void *user_data, GError **error) {
    SimOp *op = sim_op_issue(self, SIM_OP_FSYNC, path, NULL, 0, user_data, error);
    if (op != NULL)
        op->done = done;
    return op != NULL;
}

static bool sim_st_fsync_dir(RtStorage *self, const char *dir, RtStorageDoneFunc done,
                             void *user_data, GError **error) {
    SimOp *op = sim_op_issue(self, SIM_OP_FSYNC_DIR, dir, NULL, 0, user_data, error);
    if (op != NULL)
        op->done = done;
    return op != NULL;
}

static bool sim_st_rename(RtStorage *self, const char *from, const char *to,
                          RtStorageDoneFunc done, void *user_data, GError **error) {
    SimOp *op = sim_op_issue(self, SIM_OP_RENAME, from, to, 0, user_data, error);
    if (op != NULL)
        op->done = done;
    return op != NULL;
}

static bool sim_st_read(RtStorage *self, const char *path, RtStorageReadFunc done,
                        void *user_data, GError **error) {
    SimClient *c = (SimClient *)self;
    SimInode *n = g_tree_lookup(c->s->current, path);
    size_t len = n != NULL ? g_bytes_get_size(n->cur) : 0;
    SimOp *op = sim_op_issue(self, SIM_OP_READ, path, NULL, len, user_data, error);
    if (op != NULL)
        op->read_done = done;
    return op != NULL;
}

static bool sim_st_list(RtStorage *self, const char *dir, RtStorageListFunc done,
                        void *user_data, GError **error) {
    SimOp *op = sim_op_issue(self, SIM_OP_LIST, dir, NULL, 0, user_data, error);
    if (op != NULL)
        op->list_done = done;
    return op != NULL;
}

static bool sim_st_remove(RtStorage *self, const char *path, RtStorageDoneFunc done,
                          void *user_data, GError **error) {
    SimOp *op = sim_op_issue(self, SIM_OP_REMOVE, path, NULL, 0, user_data, error);
    if (op != NULL)
        op->done = done;
    return op != NULL;
}

static const RtStorageOps sim_storage_ops = {
    .name = "sim",
    .write = sim_st_write,
    .fsync = sim_st_fsync,
    .fsync_dir = sim_st_fsync_dir,
    .rename = sim_st_rename,
    .read = sim_st_read,
    .list = sim_st_list,
    .remove = sim_st_remove,
};

/* ------------------------------------------------------------------ public API */

SimStorage *sim_storage_new(SimKernel *k, uint64_t seed, const SimStorageConfig *cfg,
                            const SimHost *host, RtObserver *observer) {
    assert(k != NULL && cfg != NULL && cfg->fsync_min_ns <= cfg->fsync_max_ns);
    SimStorage *s = g_new0(SimStorage, 1);
    s->k = k;
    s->cfg = *cfg;
    s->host = host;
    s->observer = observer;
    s->seed = seed;
    rt_rng_seed_stream(&s->crash_rng, seed, "storage.crash");
    rt_rng_seed_stream(&s->fault_rng, seed, "storage.faults");
    s->current = g_tree_new_full(sim_cmp_str, NULL, g_free, NULL);
    s->durable = g_tree_new_full(sim_cmp_str, NULL, g_free, NULL);
    s->dirty_names = g_tree_new_full(sim_cmp_str, NULL, g_free, NULL);
    s->dirty_inodes = g_tree_new_full(sim_cmp_u64, NULL, NULL, NULL);
    s->rules = g_array_new(FALSE, TRUE, sizeof(SimFailRule));
    s->rule_hits = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    return s;
}

static void sim_client_cancel_all(SimClient *c) {
    for (SimOp *op; (op = g_queue_pop_head(&c->pending)) != NULL;) {
        sim_kernel_cancel(c->s->k, op->ev);
        sim_op_free(op);
    }
}

static gboolean sim_collect_value(gpointer key, gpointer value, gpointer ud) {
    (void)key;
    g_ptr_array_add(ud, value);
    return FALSE;
}

static gboolean sim_collect_key(gpointer key, gpointer value, gpointer ud) {
    (void)value;
    g_ptr_array_add(ud, key);
    return FALSE;
}

static void sim_unbind_all(SimStorage *s, GTree *tree) {
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *all = g_ptr_array_new();
    g_tree_foreach(tree, sim_collect_key, all);
    for (guint i = 0; i < all->len; i++)
        g_ptr_array_add(keys, g_strdup(all->pdata[i]));
    for (guint i = 0; i < keys->len; i++)
        sim_bind(s, tree, keys->pdata[i], NULL);
    g_ptr_array_free(all, TRUE);
    g_ptr_array_free(keys, TRUE);
}

void sim_storage_free(SimStorage *s) {
    if (s == NULL)
        return;
    for (uint32_t i = 0; i < SIM_STORAGE_MAX_PROCESSES; i++) {
        if (s->clients[i] != NULL) {
            sim_client_cancel_all(s->clients[i]);
            g_free(s->clients[i]);
        }
    }
    sim_unbind_all(s, s->current);
    sim_unbind_all(s, s->durable);
    assert(g_tree_nnodes(s->dirty_inodes) == 0);
    g_tree_destroy(s->current);
    g_tree_destroy(s->durable);
    g_tree_destroy(s->dirty_names);
    g_tree_destroy(s->dirty_inodes);
    for (guint i = 0; i < s->rules->len; i++)
        g_free(g_array_index(s->rules, SimFailRule, i).prefix);
    g_array_free(s->rules, TRUE);
    g_array_free(s->rule_hits, TRUE);
    g_free(s);
}

RtStorage *sim_storage_client(SimStorage *s, RtProcessId pid) {
    assert(s != NULL && pid < SIM_STORAGE_MAX_PROCESSES);
    if (s->clients[pid] == NULL) {
        SimClient *c = g_new0(SimClient, 1);
        c->base.ops = &sim_storage_ops;
        c->s = s;
        c->pid = pid;
        char name[64];
        g_snprintf(name, sizeof name, "storage.latency/%u", pid);
        rt_rng_seed_stream(&c->rng, s->seed, name);
        g_queue_init(&c->pending);
        s->clients[pid] = c;
    }
    return &s->clients[pid]->base;
}

/* An unsynced content of a crashed writer: lost, or torn (a prefix, or garbled). */
static void sim_inode_crash(SimStorage *s, SimInode *n) {
    size_t len = g_bytes_get_size(n->cur);
    GBytes *result;
    if (len > 0 && rt_rng_chance(&s->crash_rng, s->cfg.torn_probability)) {
        if (rt_rng_chance(&s->crash_rng, s->cfg.garble_probability)) {
            guint8 *buf = g_malloc(len);
            memcpy(buf, g_bytes_get_data(n->cur, NULL), len);
            size_t start = (size_t)rt_rng_below(&s->crash_rng, len);
            size_t max_run = len - start < 64 ? len - start : 64;
            size_t run = 1 + (size_t)rt_rng_below(&s->crash_rng, max_run);
            for (size_t i = start; i < start + run; i++) /* |1: every byte really changes */
                buf[i] ^= (guint8)(rt_rng_next(&s->crash_rng) | 1);
            result = g_bytes_new_take(buf, len);
        } else {
            result = g_bytes_new_from_bytes(n->cur, 0, (size_t)rt_rng_below(&s->crash_rng, len));
        }
        g_bytes_unref(n->dur);
        n->dur = g_bytes_ref(result);
        s->stats.torn++;
    } else {
        result = g_bytes_ref(n->dur);
        s->stats.lost++;
    }
    g_bytes_unref(n->cur);
    n->cur = result;
    size_t rlen = 0;
    const void *rdata = g_bytes_get_data(result, &rlen);
    sim_kernel_trace_mix(s->k, SIM_TRACE_STORAGE_CRASH, n->id ^ sim_hash_bytes(rdata, rlen));
    sim_inode_clean(s, n);
}

void sim_storage_process_crashed(SimStorage *s, RtProcessId pid) {
    assert(s != NULL && pid < SIM_STORAGE_MAX_PROCESSES);
    if (s->clients[pid] != NULL)
        sim_client_cancel_all(s->clients[pid]);
    GPtrArray *inodes = g_ptr_array_new();
    g_tree_foreach(s->dirty_inodes, sim_collect_value, inodes);
    for (guint i = 0; i < inodes->len; i++) {
        SimInode *n = inodes->pdata[i];
        if (n->owner == pid)
            sim_inode_crash(s, n);
    }
    g_ptr_array_free(inodes, TRUE);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *keys = g_ptr_array_new();
    g_tree_foreach(s->dirty_names, sim_collect_key, keys);
    for (guint i = 0; i < keys->len; i++)
        if (GPOINTER_TO_UINT(g_tree_lookup(s->dirty_names, keys->pdata[i])) == pid + 1)
            g_ptr_array_add(names, g_strdup(keys->pdata[i]));
    g_ptr_array_free(keys, TRUE);
    for (guint i = 0; i < names->len; i++) {
        const char *p = names->pdata[i];
        sim_bind(s, s->current, p, g_tree_lookup(s->durable, p));
        g_tree_remove(s->dirty_names, p);
        sim_kernel_trace_mix(s->k, SIM_TRACE_STORAGE_CRASH, rt_hash_str(p));
    }
    g_ptr_array_free(names, TRUE);
}

uint64_t sim_storage_fail_next(SimStorage *s, const char *path_prefix, RtStorageError code,
                               uint32_t count) {
    assert(s != NULL && path_prefix != NULL);
    assert(code == RT_STORAGE_ERROR_IO || code == RT_STORAGE_ERROR_NO_SPACE);
    assert(s->rules->len < 100000);
    uint64_t id = s->rule_hits->len;
    uint32_t zero = 0;
    g_array_append_val(s->rule_hits, zero);
    if (count == 0)
        return id;
    SimFailRule r = {.prefix = g_strdup(path_prefix), .code = code, .remaining = count, .id = id};
    g_array_append_val(s->rules, r);
    return id;
}

uint32_t sim_storage_fail_rule_hits(const SimStorage *s, uint64_t rule) {
    assert(s != NULL);
    return rule < s->rule_hits->len ? g_array_index(s->rule_hits, uint32_t, rule) : 0;
}

void sim_storage_set_fault_rates(SimStorage *s, double io_rate, double no_space_rate) {
    assert(s != NULL && io_rate >= 0.0 && io_rate <= 1.0);
    assert(no_space_rate >= 0.0 && no_space_rate <= 1.0);
    s->io_rate = io_rate;
    s->no_space_rate = no_space_rate;
}

const void *sim_storage_read_durable(SimStorage *s, const char *path, size_t *len) {
    assert(s != NULL && path != NULL && len != NULL);
    SimInode *n = g_tree_lookup(s->durable, path);
    *len = 0;
    if (n == NULL)
        return NULL;
    const void *data = g_bytes_get_data(n->dur, len);
    return data != NULL ? data : "";
}

const void *sim_storage_read_current(SimStorage *s, const char *path, size_t *len) {
    assert(s != NULL && path != NULL && len != NULL);
    SimInode *n = g_tree_lookup(s->current, path);
    *len = 0;
    if (n == NULL)
        return NULL;
    const void *data = g_bytes_get_data(n->cur, len);
    return data != NULL ? data : "";
}

char **sim_storage_list_paths(SimStorage *s, const char *prefix, bool durable) {
    assert(s != NULL && prefix != NULL);
    GPtrArray *keys = g_ptr_array_new();
    g_tree_foreach(durable ? s->durable : s->current, sim_collect_key, keys);
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < keys->len; i++)
        if (g_str_has_prefix(keys->pdata[i], prefix))
            g_ptr_array_add(out, g_strdup(keys->pdata[i]));
    g_ptr_array_add(out, NULL);
    g_ptr_array_free(keys, TRUE);
    return (char **)g_ptr_array_free(out, FALSE);
}

bool sim_storage_is_dirty(SimStorage *s, const char *path) {
    assert(s != NULL && path != NULL);
    if (g_tree_lookup(s->dirty_names, path) != NULL)
        return true;
    SimInode *n = g_tree_lookup(s->current, path);
    return n != NULL && n->dirty;
}

void sim_storage_stats(const SimStorage *s, SimStorageStats *out) {
    assert(s != NULL && out != NULL);
    *out = s->stats;
}
