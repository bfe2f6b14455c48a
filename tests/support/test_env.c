/* test_env.c - the tiny deterministic test world of test_env.h: one sorted event list
 * for timers and storage completions, and an in-memory storage with a crash model. */
#include "tests/support/test_env.h"

#include <assert.h>
#include <string.h>

typedef enum { EV_TIMER, EV_STORAGE } EvKind;

typedef struct Ev {
    uint64_t time_ns;
    uint64_t seq;
    RtTimerId id;
    EvKind kind;
    RtTimerFunc timer_fn;
    TestEnvOp op;
    bool fail;
    char *path;
    char *path2;
    GBytes *data;
    RtStorageDoneFunc done;
    RtStorageReadFunc read_done;
    RtStorageListFunc list_done;
    void *user_data;
} Ev;

typedef struct TFile {
    GBytes *data;       /* visible content */
    GBytes *durable;    /* content at the last fsync, NULL if never */
    bool entry_durable; /* the directory entry survives a crash */
} TFile;

struct TestEnv {
    RtEnv env;
    RtClock clock;
    RtStorage storage;
    uint64_t now_ns;
    uint64_t next_seq;
    GPtrArray *events;    /* Ev*, sorted by (time_ns, seq) */
    GTree *files;         /* path -> TFile* */
    GTree *tombstones;    /* removed or renamed-over paths whose removal is volatile */
    bool fail_next[6];
};

static int path_cmp(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    return strcmp(a, b);
}

static void ev_free(Ev *e) {
    g_free(e->path);
    g_free(e->path2);
    if (e->data != NULL)
        g_bytes_unref(e->data);
    g_free(e);
}

static void tfile_free(void *p) {
    TFile *f = p;
    if (f->data != NULL)
        g_bytes_unref(f->data);
    if (f->durable != NULL)
        g_bytes_unref(f->durable);
    g_free(f);
}

static TestEnv *from_clock(RtClock *c) {
    return (TestEnv *)((char *)c - offsetof(TestEnv, clock));
}

static TestEnv *from_storage(RtStorage *s) {
    return (TestEnv *)((char *)s - offsetof(TestEnv, storage));
}

static void schedule(TestEnv *te, Ev *e, uint64_t delay_ns) {
    e->time_ns = te->now_ns + delay_ns;
    e->seq = ++te->next_seq;
    e->id = e->seq;
    guint at = te->events->len;
    while (at > 0) {
        const Ev *p = g_ptr_array_index(te->events, at - 1);
        if (p->time_ns < e->time_ns || (p->time_ns == e->time_ns && p->seq < e->seq))
            break;
        at--;
    }
    g_ptr_array_insert(te->events, (gint)at, e);
}

/* ------------------------------------------------------------------- clock */

static uint64_t clock_now(RtClock *c) {
    return from_clock(c)->now_ns;
}

static RtTimerId clock_timer_start(RtClock *c, uint64_t delay_ns, RtTimerFunc fn, void *ud) {
    TestEnv *te = from_clock(c);
    Ev *e = g_new0(Ev, 1);
    e->kind = EV_TIMER;
    e->timer_fn = fn;
    e->user_data = ud;
    schedule(te, e, delay_ns);
    return e->id;
}

static bool clock_timer_cancel(RtClock *c, RtTimerId id) {
    TestEnv *te = from_clock(c);
    for (guint i = 0; i < te->events->len; i++) {
        Ev *e = g_ptr_array_index(te->events, i);
        if (e->id == id && e->kind == EV_TIMER) {
            g_ptr_array_remove_index(te->events, i);
            ev_free(e);
            return true;
        }
    }
    return false;
}

static const RtClockOps clock_ops = {"test", clock_now, clock_timer_start, clock_timer_cancel};

/* ----------------------------------------------------------------- storage */

static bool issue(RtStorage *s, TestEnvOp op, const char *path, const char *path2,
                  const void *data, size_t len, RtStorageDoneFunc done,
                  RtStorageReadFunc read_done, void *ud, GError **error) {
    TestEnv *te = from_storage(s);
    if (!rt_storage_path_valid(path) || (path2 != NULL && !rt_storage_path_valid(path2))) {
        g_set_error(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_INVALID, "bad path %s", path);
        return false;
    }
    Ev *e = g_new0(Ev, 1);
    e->kind = EV_STORAGE;
    e->op = op;
    e->fail = te->fail_next[op];
    te->fail_next[op] = false;
    e->path = g_strdup(path);
    e->path2 = g_strdup(path2);
    e->data = op == TEST_ENV_OP_WRITE ? g_bytes_new(data, len) : NULL;
    e->read_done = read_done;
    e->done = done;
    e->user_data = ud;
    schedule(te, e, TEST_ENV_IO_LATENCY_NS);
    return true;
}

static bool st_write(RtStorage *s, const char *path, const void *data, size_t len,
                     RtStorageDoneFunc done, void *ud, GError **error) {
    return issue(s, TEST_ENV_OP_WRITE, path, NULL, data, len, done, NULL, ud, error);
}
static bool st_fsync(RtStorage *s, const char *path, RtStorageDoneFunc done, void *ud,
                     GError **error) {
    return issue(s, TEST_ENV_OP_FSYNC, path, NULL, NULL, 0, done, NULL, ud, error);
}
static bool st_fsync_dir(RtStorage *s, const char *dir, RtStorageDoneFunc done, void *ud,
                         GError **error) {
    return issue(s, TEST_ENV_OP_FSYNC_DIR, dir, NULL, NULL, 0, done, NULL, ud, error);
}
static bool st_rename(RtStorage *s, const char *from, const char *to, RtStorageDoneFunc done,
                      void *ud, GError **error) {
    return issue(s, TEST_ENV_OP_RENAME, from, to, NULL, 0, done, NULL, ud, error);
}
static bool st_read(RtStorage *s, const char *path, RtStorageReadFunc done, void *ud,
                    GError **error) {
    return issue(s, TEST_ENV_OP_READ, path, NULL, NULL, 0, NULL, done, ud, error);
}
static bool st_remove(RtStorage *s, const char *path, RtStorageDoneFunc done, void *ud,
                      GError **error) {
    return issue(s, TEST_ENV_OP_REMOVE, path, NULL, NULL, 0, done, NULL, ud, error);
}
static bool st_list(RtStorage *s, const char *dir, RtStorageListFunc done, void *ud,
                    GError **error) {
    (void)s;
    (void)dir;
    (void)done;
    (void)ud;
    g_set_error(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO, "list: not in the test env");
    return false;
}

static const RtStorageOps storage_ops = {
    "test", st_write, st_fsync, st_fsync_dir, st_rename, st_read, st_list, st_remove,
};

/* -------------------------------------------------------------- effects */

static char *parent_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash != NULL ? g_strndup(path, (gsize)(slash - path)) : g_strdup("");
}

/* Removes path from t without freeing its value (returned, or NULL if absent). */
static TFile *take(GTree *t, const char *path) {
    void *key = NULL, *value = NULL;
    if (!g_tree_lookup_extended(t, path, &key, &value))
        return NULL;
    g_tree_steal(t, path);
    g_free(key);
    return value;
}

/* Moves the file at path (if any) to the tombstones when its entry was durable, so a
 * crash before the next fsync_dir brings it back. */
static void unlink_path(TestEnv *te, const char *path) {
    TFile *f = take(te->files, path);
    if (f == NULL)
        return;
    if (f->entry_durable && g_tree_lookup(te->tombstones, path) == NULL)
        g_tree_insert(te->tombstones, g_strdup(path), f);
    else
        tfile_free(f);
}

static GError *apply(TestEnv *te, Ev *e) {
    if (e->fail)
        return g_error_new(RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO, "injected I/O error");
    TFile *f = g_tree_lookup(te->files, e->path);
    if (e->op != TEST_ENV_OP_WRITE && e->op != TEST_ENV_OP_FSYNC_DIR && f == NULL)
        return g_error_new(RT_STORAGE_ERROR, RT_STORAGE_ERROR_NOT_FOUND, "%s: no such file",
                           e->path);
    switch (e->op) {
    case TEST_ENV_OP_WRITE:
        if (f == NULL) {
            f = g_new0(TFile, 1);
            g_tree_insert(te->files, g_strdup(e->path), f);
        } else {
            g_bytes_unref(f->data);
        }
        f->data = g_bytes_ref(e->data);
        break;
    case TEST_ENV_OP_FSYNC:
        if (f->durable != NULL)
            g_bytes_unref(f->durable);
        f->durable = g_bytes_ref(f->data);
        break;
    case TEST_ENV_OP_RENAME:
        take(te->files, e->path);
        if (f->entry_durable && g_tree_lookup(te->tombstones, e->path) == NULL) {
            TFile *ghost = g_new0(TFile, 1); /* the old name survives a crash */
            ghost->data = f->durable != NULL ? g_bytes_ref(f->durable) : g_bytes_new(NULL, 0);
            ghost->durable = g_bytes_ref(ghost->data);
            ghost->entry_durable = true;
            g_tree_insert(te->tombstones, g_strdup(e->path), ghost);
        }
        unlink_path(te, e->path2);
        f->entry_durable = false;
        g_tree_insert(te->files, g_strdup(e->path2), f);
        break;
    case TEST_ENV_OP_REMOVE:
        unlink_path(te, e->path);
        break;
    case TEST_ENV_OP_FSYNC_DIR:
    case TEST_ENV_OP_READ:
        break;
    }
    return NULL;
}

typedef struct DirSync {
    const char *dir;
    GPtrArray *drop; /* tombstone paths in dir */
} DirSync;

static gboolean dir_sync_file(gpointer key, gpointer value, gpointer ud) {
    DirSync *ds = ud;
    char *parent = parent_of(key);
    if (strcmp(parent, ds->dir) == 0) {
        if (ds->drop != NULL)
            g_ptr_array_add(ds->drop, key);
        else
            ((TFile *)value)->entry_durable = true;
    }
    g_free(parent);
    return FALSE;
}

static void fsync_dir(TestEnv *te, const char *dir) {
    DirSync ds = {dir, NULL};
    g_tree_foreach(te->files, dir_sync_file, &ds);
    ds.drop = g_ptr_array_new_with_free_func(g_free);
    g_tree_foreach(te->tombstones, dir_sync_file, &ds);
    for (guint i = 0; i < ds.drop->len; i++) {
        char *k = g_strdup(g_ptr_array_index(ds.drop, i));
        g_tree_remove(te->tombstones, k);
        g_free(k);
    }
    g_ptr_array_set_free_func(ds.drop, NULL);
    g_ptr_array_unref(ds.drop);
}

static void run_event(TestEnv *te, Ev *e) {
    te->now_ns = e->time_ns;
    if (e->kind == EV_TIMER) {
        e->timer_fn(e->user_data);
        return;
    }
    GError *err = apply(te, e);
    if (err == NULL && e->op == TEST_ENV_OP_FSYNC_DIR)
        fsync_dir(te, e->path);
    if (e->op == TEST_ENV_OP_READ) {
        TFile *f = err == NULL ? g_tree_lookup(te->files, e->path) : NULL;
        gsize n = 0;
        GBytes *copy = f != NULL ? g_bytes_ref(f->data) : NULL;
        const void *d = copy != NULL ? g_bytes_get_data(copy, &n) : NULL;
        e->read_done(e->user_data, err != NULL ? NULL : (d != NULL ? d : ""), n, err);
        if (copy != NULL)
            g_bytes_unref(copy);
        return;
    }
    e->done(e->user_data, err);
}

bool test_env_step(TestEnv *te) {
    if (te->events->len == 0)
        return false;
    Ev *e = g_ptr_array_steal_index(te->events, 0);
    run_event(te, e);
    ev_free(e);
    return true;
}

uint64_t test_env_run(TestEnv *te, uint64_t max_events) {
    uint64_t n = 0;
    while (n < max_events && test_env_step(te))
        n++;
    return n;
}

size_t test_env_pending(const TestEnv *te) {
    return te->events->len;
}

/* ------------------------------------------------------------ crash, files */

static gboolean crash_file(gpointer key, gpointer value, gpointer ud) {
    TFile *f = value;
    if (!f->entry_durable) {
        g_ptr_array_add(ud, key);
        return FALSE;
    }
    if (f->durable == f->data)
        return FALSE;
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(f->data, &n);
    GBytes *torn = f->durable != NULL ? g_bytes_ref(f->durable) : g_bytes_new(d, n / 2);
    g_bytes_unref(f->data);
    f->data = torn;
    return FALSE;
}

static gboolean restore_tombstone(gpointer key, gpointer value, gpointer ud) {
    TestEnv *te = ud;
    const TFile *old = value;
    TFile *f = g_new0(TFile, 1);
    f->data = g_bytes_ref(old->data);
    f->durable = old->durable != NULL ? g_bytes_ref(old->durable) : NULL;
    f->entry_durable = true;
    g_tree_insert(te->files, g_strdup(key), f);
    return FALSE;
}

void test_env_crash(TestEnv *te) {
    for (guint i = 0; i < te->events->len; i++)
        ev_free(g_ptr_array_index(te->events, i));
    g_ptr_array_set_size(te->events, 0);
    GPtrArray *gone = g_ptr_array_new_with_free_func(g_free);
    g_tree_foreach(te->files, crash_file, gone);
    for (guint i = 0; i < gone->len; i++) {
        char *k = g_strdup(g_ptr_array_index(gone, i));
        g_tree_remove(te->files, k);
        g_free(k);
    }
    g_ptr_array_set_free_func(gone, NULL);
    g_ptr_array_unref(gone);
    g_tree_foreach(te->tombstones, restore_tombstone, te);
    g_tree_destroy(te->tombstones);
    te->tombstones = g_tree_new_full(path_cmp, NULL, g_free, tfile_free);
}

GBytes *test_env_file_peek(TestEnv *te, const char *path) {
    TFile *f = g_tree_lookup(te->files, path);
    return f != NULL ? f->data : NULL;
}

void test_env_file_put(TestEnv *te, const char *path, const void *data, size_t len) {
    TFile *f = g_new0(TFile, 1);
    f->data = g_bytes_new(data, len);
    f->durable = g_bytes_ref(f->data);
    f->entry_durable = true;
    g_tree_replace(te->files, g_strdup(path), f);
}

size_t test_env_file_count(const TestEnv *te) {
    return (size_t)g_tree_nnodes(te->files);
}

void test_env_fail_next(TestEnv *te, TestEnvOp op) {
    te->fail_next[op] = true;
}

/* ------------------------------------------------------------- lifecycle */

TestEnv *test_env_new(void) {
    TestEnv *te = g_new0(TestEnv, 1);
    te->clock.ops = &clock_ops;
    te->storage.ops = &storage_ops;
    te->events = g_ptr_array_new();
    te->files = g_tree_new_full(path_cmp, NULL, g_free, tfile_free);
    te->tombstones = g_tree_new_full(path_cmp, NULL, g_free, tfile_free);
    te->env.process_id = 1;
    te->env.clock = &te->clock;
    te->env.storage = &te->storage;
    te->env.seed = 42;
    return te;
}

void test_env_free(TestEnv *te) {
    if (te == NULL)
        return;
    for (guint i = 0; i < te->events->len; i++)
        ev_free(g_ptr_array_index(te->events, i));
    g_ptr_array_unref(te->events);
    g_tree_destroy(te->files);
    g_tree_destroy(te->tombstones);
    g_free(te);
}

RtEnv *test_env_rt(TestEnv *te) {
    return &te->env;
}
