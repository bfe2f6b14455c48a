/* rt_coord_zk.c - RtCoord on libzookeeper_mt (see rt_coord_zk.h).
 *
 * Threads: the C client calls our completions and watchers on its completion thread
 * (and, while closing, on the closing thread). Those trampolines only copy what they were
 * given into a ZkItem and push it on the handle's inbox under a mutex, then wake the
 * owner's GMainContext. A GSource on that context pops items and runs the runtime's
 * callbacks, in the order ZooKeeper produced them (its FIFO order). Everything else in a
 * handle is touched by the loop thread only.
 *
 * Lifetimes: a ZkCall lives from the call until its item is dispatched (or the handle is
 * freed); the C client calls every async completion exactly once (with ZCLOSING at close
 * at the latest). A ZkWatch lives until it fires, until its registering call failed (the
 * C client then never calls it), or until the handle is freed. rt_coord_free() from inside
 * one of our callbacks is deferred to the end of the dispatch.
 */
#include "runtime/coord/rt_coord_zk.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zookeeper/zookeeper.h>

#include "runtime/coord/rt_coord_zk_error.h"

typedef enum {
    CALL_CREATE = 1,
    CALL_GET,
    CALL_EXISTS,
    CALL_SET,
    CALL_DELETE,
    CALL_CHILDREN,
    CALL_MULTI
} CallKind;
static const char *const call_names[] = {"",    "create", "get",      "exists",
                                         "set", "delete", "children", "multi"};

typedef struct ZkCoord ZkCoord;

typedef struct ZkWatch {
    ZkCoord *owner;
    RtCoordWatch watch;
    bool registered; /* the call that set it succeeded (loop thread) */
} ZkWatch;

typedef struct ZkCall {
    ZkCoord *owner;
    CallKind kind;
    union {
        RtCoordCreateFunc create;
        RtCoordDataFunc data;
        RtCoordStatFunc stat;
        RtCoordDoneFunc done;
        RtCoordChildrenFunc children;
        RtCoordMultiFunc multi;
    } cb;
    void *user_data;
    ZkWatch *watch; /* NULL: no watch */
    char *path;     /* chroot-relative, for messages; NULL for multi */
    bool queued;    /* its completion is in the inbox (under the inbox lock) */
    /* multi: buffers the C client fills in at completion */
    size_t n_ops;
    zoo_op_t *ops;
    zoo_op_result_t *results;
    char **op_paths;    /* owned copies */
    char **bufs;        /* create: path buffers */
    struct Stat *stats; /* set: stats */
} ZkCall;

typedef enum { ITEM_COMPLETION = 1, ITEM_WATCH, ITEM_SESSION } ItemKind;
typedef struct ZkItem {
    ItemKind kind;
    ZkCall *call; /* completion */
    int rc;       /* completion: ZooKeeper return code */
    char *str;    /* create: created path; watch: path */
    void *data;   /* get */
    size_t len;
    bool has_stat;
    RtCoordStat stat;
    char **names; /* children: sorted strv */
    size_t n_names;
    ZkWatch *watch;        /* watch */
    RtCoordEventType type; /* watch */
    int zstate;            /* session: ZooKeeper state */
    bool synthetic_closed; /* session: our connect timeout gave up */
    int64_t session_id;    /* session: as of the event */
    uint64_t timeout_ns;   /* session: negotiated */
} ZkItem;

struct ZkCoord {
    RtCoord base;           /* first */
    GMainContext *ctx;      /* referenced */
    GSource *source;        /* the inbox's dispatcher */
    GSource *connect_timer; /* until the first CONNECTED */
    zhandle_t *zh;          /* NULL once closed */
    char *hosts;            /* "h:p,h:p" */
    char *chroot;           /* NULL or "/x" */
    bool digest;            /* nodes get the creator-all ACL */
    RtCoordSessionFunc on_session;
    void *session_user_data;
    RtCoordState state; /* as delivered to the owner */
    int64_t session_id;
    uint64_t timeout_ns;
    bool ever_connected;
    GMutex lock;    /* guards items and ZkCall.queued */
    GQueue items;   /* ZkItem*, in the order ZooKeeper produced them */
    GQueue calls;   /* ZkCall* not yet completed, in call order (loop thread) */
    GQueue watches; /* ZkWatch* not yet fired (loop thread) */
    int dispatching;
    bool free_requested;
};

typedef struct ZkSource {
    GSource base;
    ZkCoord *owner;
} ZkSource;

static const RtCoordOps zk_coord_ops;
static gint log_level_chosen; /* 0: not yet, the first open silences the C client */

void rt_coord_zk_set_log_level(int level) {
    g_atomic_int_set(&log_level_chosen, 1);
    zoo_set_debug_level((ZooLogLevel)CLAMP(level, 0, 4));
}

static ZkCoord *as_zk(RtCoord *self) {
    assert(self != NULL && self->ops == &zk_coord_ops);
    return (ZkCoord *)self;
}

static void stat_from(RtCoordStat *out, const struct Stat *st) {
    memset(out, 0, sizeof *out);
    out->czxid = st->czxid;
    out->mzxid = st->mzxid;
    out->pzxid = st->pzxid;
    out->version = st->version;
    out->cversion = st->cversion;
    out->ephemeral_owner = st->ephemeralOwner;
    out->data_length = st->dataLength;
    out->num_children = st->numChildren;
}

/* ------------------------------------------- ZooKeeper's threads: copy and queue */

static void push(ZkCoord *z, ZkItem *it) {
    g_mutex_lock(&z->lock);
    if (it->call != NULL)
        it->call->queued = true;
    g_queue_push_tail(&z->items, it);
    g_mutex_unlock(&z->lock);
    g_main_context_wakeup(z->ctx);
}

static ZkItem *completion_item(int rc, const void *data) {
    ZkItem *it = g_new0(ZkItem, 1);
    it->kind = ITEM_COMPLETION;
    it->call = (ZkCall *)data;
    it->rc = rc;
    return it;
}

static void on_string(int rc, const char *value, const void *data) {
    ZkItem *it = completion_item(rc, data);
    if (rc == ZOK && value != NULL)
        it->str = g_strdup(value);
    push(it->call->owner, it);
}

static void on_data(int rc, const char *value, int len, const struct Stat *st, const void *data) {
    ZkItem *it = completion_item(rc, data);
    if (rc == ZOK && value != NULL && len > 0) {
        it->data = g_memdup2(value, (gsize)len);
        it->len = (size_t)len;
    }
    if (rc == ZOK && st != NULL) {
        it->has_stat = true;
        stat_from(&it->stat, st);
    }
    push(it->call->owner, it);
}

static void on_stat(int rc, const struct Stat *st, const void *data) {
    ZkItem *it = completion_item(rc, data);
    if (rc == ZOK && st != NULL) {
        it->has_stat = true;
        stat_from(&it->stat, st);
    }
    push(it->call->owner, it);
}

static void on_void(int rc, const void *data) {
    ZkItem *it = completion_item(rc, data);
    push(it->call->owner, it);
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void on_strings(int rc, const struct String_vector *sv, const struct Stat *st,
                       const void *data) {
    ZkItem *it = completion_item(rc, data);
    if (rc == ZOK) {
        size_t n = sv ? (size_t)sv->count : 0;
        it->names = g_new0(char *, n + 1);
        for (size_t i = 0; i < n; i++)
            it->names[i] = g_strdup(sv->data[i]);
        qsort(it->names, n, sizeof(char *), str_cmp); /* ZooKeeper does not sort */
        it->n_names = n;
        if (st != NULL) {
            it->has_stat = true;
            stat_from(&it->stat, st);
        }
    }
    push(it->call->owner, it);
}

static void on_watch(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh;
    ZkWatch *w = ctx;
    RtCoordEventType t;
    if (type == ZOO_CREATED_EVENT)
        t = RT_COORD_EVENT_CREATED;
    else if (type == ZOO_DELETED_EVENT)
        t = RT_COORD_EVENT_DELETED;
    else if (type == ZOO_CHANGED_EVENT)
        t = RT_COORD_EVENT_DATA_CHANGED;
    else if (type == ZOO_CHILD_EVENT)
        t = RT_COORD_EVENT_CHILDREN_CHANGED;
    else if (type == ZOO_SESSION_EVENT && state == ZOO_EXPIRED_SESSION_STATE)
        t = RT_COORD_EVENT_SESSION_ENDED;
    else
        return; /* other session events: the watch stays registered */
    ZkItem *it = g_new0(ZkItem, 1);
    it->kind = ITEM_WATCH;
    it->watch = w;
    it->type = t;
    it->str = g_strdup(path ? path : "");
    push(w->owner, it);
}

static void on_session_event(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)path;
    if (type != ZOO_SESSION_EVENT)
        return;
    ZkCoord *z = ctx;
    ZkItem *it = g_new0(ZkItem, 1);
    it->kind = ITEM_SESSION;
    it->zstate = state;
    if (state == ZOO_CONNECTED_STATE) {
        const clientid_t *cid = zoo_client_id(zh);
        it->session_id = cid ? cid->client_id : 0;
        it->timeout_ns = (uint64_t)zoo_recv_timeout(zh) * 1000000ull;
    }
    push(z, it);
}

/* ------------------------------------------------- the loop: run callbacks */

static void watch_forget(ZkCoord *z, ZkWatch *w) {
    g_queue_remove(&z->watches, w);
    g_free(w);
}

static void call_free(ZkCall *call) {
    for (size_t i = 0; i < call->n_ops; i++) {
        g_free(call->op_paths[i]);
        if (call->bufs)
            g_free(call->bufs[i]);
    }
    g_free(call->op_paths);
    g_free(call->bufs);
    g_free(call->stats);
    g_free(call->results);
    g_free((void *)call->ops);
    g_free(call->path);
    g_free(call);
}

static void item_free(ZkItem *it) {
    g_free(it->str);
    g_free(it->data);
    g_strfreev(it->names);
    g_free(it);
}

static void handle_session(ZkCoord *z, ZkItem *it) {
    if (it->synthetic_closed) {
        if (z->on_session)
            z->on_session(&z->base, RT_COORD_CLOSED, z->session_user_data);
        return;
    }
    if (z->state == RT_COORD_EXPIRED || z->state == RT_COORD_CLOSED)
        return; /* terminal */
    RtCoordState next = z->state;
    if (it->zstate == ZOO_CONNECTED_STATE) {
        next = RT_COORD_CONNECTED;
        z->session_id = it->session_id;
        z->timeout_ns = it->timeout_ns;
        z->ever_connected = true;
        if (z->connect_timer != NULL) {
            g_source_destroy(z->connect_timer);
            g_source_unref(z->connect_timer);
            z->connect_timer = NULL;
        }
    } else if (it->zstate == ZOO_CONNECTING_STATE || it->zstate == ZOO_ASSOCIATING_STATE) {
        if (z->state == RT_COORD_CONNECTED)
            next = RT_COORD_SUSPENDED;
    } else if (it->zstate == ZOO_EXPIRED_SESSION_STATE) {
        next = RT_COORD_EXPIRED;
    } else if (it->zstate == ZOO_AUTH_FAILED_STATE) {
        next = RT_COORD_CLOSED;
    }
    if (next == z->state)
        return;
    z->state = next;
    if (z->on_session)
        z->on_session(&z->base, next, z->session_user_data);
}

static void handle_watch(ZkCoord *z, ZkItem *it) {
    ZkWatch *w = it->watch;
    RtCoordWatch watch = w->watch;
    bool registered = w->registered;
    watch_forget(z, w);
    if (!registered)
        return;
    const char *path = it->type == RT_COORD_EVENT_SESSION_ENDED ? "" : it->str;
    watch.func(&z->base, it->type, path, watch.user_data);
}

/* The created path as the owner sees it (chroot-relative): the C client strips the
 * chroot from plain creates; a multi's results are stripped here when they are not. */
static const char *created_rel(ZkCoord *z, const char *requested, const char *got) {
    size_t n = strlen(requested);
    if (z->chroot == NULL || strncmp(got, requested, n) == 0)
        return got;
    size_t m = strlen(z->chroot);
    if (strncmp(got, z->chroot, m) == 0)
        return got[m] == '\0' ? "/" : got + m;
    return got;
}

static void invoke_multi(ZkCoord *z, ZkCall *call, int rc) {
    if (rc != ZOK) {
        size_t bad = 0;
        while (bad < call->n_ops &&
               (call->results[bad].err == ZOK || call->results[bad].err == ZRUNTIMEINCONSISTENCY))
            bad++;
        GError *err = rt_coord_zk_error_new(rc, "multi", NULL);
        if (bad < call->n_ops)
            g_prefix_error(&err, "op %zu (%s): ", bad, call->op_paths[bad]);
        call->cb.multi(&z->base, NULL, 0, err, call->user_data);
        return;
    }
    RtCoordOpResult *res = g_new0(RtCoordOpResult, call->n_ops);
    for (size_t i = 0; i < call->n_ops; i++) {
        res[i].type = call->ops[i].type == ZOO_CHECK_OP     ? RT_COORD_OP_CHECK
                      : call->ops[i].type == ZOO_CREATE_OP  ? RT_COORD_OP_CREATE
                      : call->ops[i].type == ZOO_SETDATA_OP ? RT_COORD_OP_SET
                                                            : RT_COORD_OP_DELETE;
        if (res[i].type == RT_COORD_OP_CREATE)
            res[i].path_created = created_rel(z, call->op_paths[i], call->bufs[i]);
        if (res[i].type == RT_COORD_OP_SET)
            stat_from(&res[i].stat, &call->stats[i]);
    }
    call->cb.multi(&z->base, res, call->n_ops, NULL, call->user_data);
    g_free(res);
}

static void invoke_call(ZkCoord *z, ZkCall *call, ZkItem *it) {
    int rc = it->rc;
    bool absent = call->kind == CALL_EXISTS && rc == ZNONODE; /* absence is not an error */
    GError *err = (rc == ZOK || absent || call->kind == CALL_MULTI)
                      ? NULL
                      : rt_coord_zk_error_new(rc, call_names[call->kind], call->path);
    const RtCoordStat *st = it->has_stat ? &it->stat : NULL;
    switch (call->kind) {
    case CALL_CREATE: call->cb.create(&z->base, err ? NULL : it->str, err, call->user_data); break;
    case CALL_GET: call->cb.data(&z->base, it->data, it->len, st, err, call->user_data); break;
    case CALL_EXISTS:
    case CALL_SET: call->cb.stat(&z->base, st, err, call->user_data); break;
    case CALL_DELETE: call->cb.done(&z->base, err, call->user_data); break;
    case CALL_CHILDREN:
        call->cb.children(&z->base, (const char *const *)it->names, it->n_names, st, err,
                          call->user_data);
        break;
    case CALL_MULTI: invoke_multi(z, call, rc); break;
    }
}

static void handle_completion(ZkCoord *z, ZkItem *it) {
    ZkCall *call = it->call;
    g_queue_remove(&z->calls, call);
    if (call->watch != NULL) {
        /* The C client keeps a watch only when its call succeeded (exists: or NONODE). */
        bool kept = it->rc == ZOK || (call->kind == CALL_EXISTS && it->rc == ZNONODE);
        if (kept)
            call->watch->registered = true;
        else
            watch_forget(z, call->watch);
    }
    invoke_call(z, call, it);
    call_free(call);
}

static void really_free(ZkCoord *z);

static ZkItem *pop(ZkCoord *z) {
    g_mutex_lock(&z->lock);
    ZkItem *it = g_queue_pop_head(&z->items);
    g_mutex_unlock(&z->lock);
    return it;
}

/* Runs up to a bounded number of queued items; the source stays ready for the rest. */
static void dispatch_items(ZkCoord *z) {
    z->dispatching++;
    for (int i = 0; i < 4096 && !z->free_requested; i++) {
        ZkItem *it = pop(z);
        if (it == NULL)
            break;
        if (it->kind == ITEM_SESSION)
            handle_session(z, it);
        else if (it->kind == ITEM_WATCH)
            handle_watch(z, it);
        else
            handle_completion(z, it);
        item_free(it);
    }
    z->dispatching--;
    if (z->free_requested && z->dispatching == 0)
        really_free(z);
}

static bool inbox_ready(ZkCoord *z) {
    g_mutex_lock(&z->lock);
    bool ready = !g_queue_is_empty(&z->items);
    g_mutex_unlock(&z->lock);
    return ready;
}

static gboolean src_prepare(GSource *s, gint *timeout) {
    *timeout = -1;
    return inbox_ready(((ZkSource *)s)->owner);
}

static gboolean src_check(GSource *s) {
    return inbox_ready(((ZkSource *)s)->owner);
}

static gboolean src_dispatch(GSource *s, GSourceFunc cb, gpointer ud) {
    (void)cb;
    (void)ud;
    dispatch_items(((ZkSource *)s)->owner);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs src_funcs = {src_prepare, src_check, src_dispatch, NULL, NULL, NULL};

/* ---------------------------------------------------------- close and free */

/* Frees whatever is still queued without running it; the calls they answer go too. */
static void drain(ZkCoord *z) {
    ZkItem *it;
    while ((it = pop(z)) != NULL) {
        if (it->kind == ITEM_COMPLETION) {
            g_queue_remove(&z->calls, it->call);
            call_free(it->call);
        }
        item_free(it);
    }
}

static void really_free(ZkCoord *z) {
    if (z->connect_timer != NULL) {
        g_source_destroy(z->connect_timer);
        g_source_unref(z->connect_timer);
    }
    if (z->zh != NULL)
        zookeeper_close(z->zh); /* joins the C client's threads */
    z->zh = NULL;
    g_source_destroy(z->source);
    g_source_unref(z->source);
    drain(z);
    g_queue_clear_full(&z->calls, (GDestroyNotify)call_free);
    g_queue_clear_full(&z->watches, g_free);
    g_mutex_clear(&z->lock);
    g_main_context_unref(z->ctx);
    g_free(z->hosts);
    g_free(z->chroot);
    g_free(z);
}

static void zk_free(RtCoord *self) {
    ZkCoord *z = as_zk(self);
    if (z->dispatching > 0) {
        z->free_requested = true; /* inside one of our callbacks: after it returns */
        return;
    }
    really_free(z);
}

/* No first connection within the connect timeout: give up (CLOSED). Every call still
 * pending fails with CLOSED, after the session event. */
static gboolean on_connect_timeout(gpointer ud) {
    ZkCoord *z = ud;
    g_source_unref(z->connect_timer);
    z->connect_timer = NULL;
    if (z->ever_connected || z->state != RT_COORD_CONNECTING)
        return G_SOURCE_REMOVE;
    z->state = RT_COORD_CLOSED;
    ZkItem *closed = g_new0(ZkItem, 1);
    closed->kind = ITEM_SESSION;
    closed->synthetic_closed = true;
    push(z, closed);
    zookeeper_close(z->zh); /* pending completions come back with ZCLOSING */
    z->zh = NULL;
    for (GList *l = z->calls.head; l != NULL; l = l->next) {
        ZkCall *call = l->data;
        if (!call->queued)
            push(z, completion_item(ZCLOSING, call));
    }
    return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ the calls */

static ZkCall *call_new(ZkCoord *z, CallKind kind, const char *path, const RtCoordWatch *watch,
                        void *user_data) {
    assert(z->zh != NULL);
    ZkCall *call = g_new0(ZkCall, 1);
    call->owner = z;
    call->kind = kind;
    call->path = g_strdup(path);
    call->user_data = user_data;
    if (watch != NULL) {
        ZkWatch *w = g_new0(ZkWatch, 1);
        w->owner = z;
        w->watch = *watch;
        g_queue_push_tail(&z->watches, w);
        call->watch = w;
    }
    return call;
}

/* zrc: what the zoo_a* call returned. ZOK: the completion will come; else it never will. */
static bool call_started(ZkCoord *z, ZkCall *call, int zrc, GError **error) {
    if (zrc == ZOK) {
        g_queue_push_tail(&z->calls, call);
        return true;
    }
    g_propagate_error(error, rt_coord_zk_error_new(zrc, call_names[call->kind], call->path));
    if (call->watch != NULL)
        watch_forget(z, call->watch);
    call_free(call);
    return false;
}

static bool too_busy(ZkCoord *z, GError **error) {
    if (z->calls.length < RT_COORD_PENDING_MAX)
        return false;
    g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_TOO_BUSY, "%u ZooKeeper calls pending",
                RT_COORD_PENDING_MAX);
    return true;
}

static struct ACL_vector *acl_for(ZkCoord *z) {
    return z->digest ? &ZOO_CREATOR_ALL_ACL : &ZOO_OPEN_ACL_UNSAFE;
}

static int create_mode(unsigned flags) {
    bool eph = flags & RT_COORD_EPHEMERAL, seq = flags & RT_COORD_SEQUENTIAL;
    return eph ? (seq ? ZOO_EPHEMERAL_SEQUENTIAL : ZOO_EPHEMERAL)
               : (seq ? ZOO_PERSISTENT_SEQUENTIAL : ZOO_PERSISTENT);
}

static bool zk_create(RtCoord *self, const char *path, const void *data, size_t len, unsigned flags,
                      RtCoordCreateFunc done, void *ud, GError **error) {
    ZkCoord *z = as_zk(self);
    if (too_busy(z, error))
        return false;
    ZkCall *call = call_new(z, CALL_CREATE, path, NULL, ud);
    call->cb.create = done;
    int zrc = zoo_acreate(z->zh, path, data, len ? (int)len : -1, acl_for(z), create_mode(flags),
                          on_string, call);
    return call_started(z, call, zrc, error);
}

static bool zk_get(RtCoord *self, const char *path, const RtCoordWatch *watch, RtCoordDataFunc done,
                   void *ud, GError **error) {
    ZkCoord *z = as_zk(self);
    if (too_busy(z, error))
        return false;
    ZkCall *call = call_new(z, CALL_GET, path, watch, ud);
    call->cb.data = done;
    int zrc = watch ? zoo_awget(z->zh, path, on_watch, call->watch, on_data, call)
                    : zoo_aget(z->zh, path, 0, on_data, call);
    return call_started(z, call, zrc, error);
}

static bool zk_exists(RtCoord *self, const char *path, const RtCoordWatch *watch,
                      RtCoordStatFunc done, void *ud, GError **error) {
    ZkCoord *z = as_zk(self);
    if (too_busy(z, error))
        return false;
    ZkCall *call = call_new(z, CALL_EXISTS, path, watch, ud);
    call->cb.stat = done;
    int zrc = watch ? zoo_awexists(z->zh, path, on_watch, call->watch, on_stat, call)
                    : zoo_aexists(z->zh, path, 0, on_stat, call);
    return call_started(z, call, zrc, error);
}

static bool zk_set(RtCoord *self, const char *path, const void *data, size_t len, int32_t version,
                   RtCoordStatFunc done, void *ud, GError **error) {
    ZkCoord *z = as_zk(self);
    if (too_busy(z, error))
        return false;
    ZkCall *call = call_new(z, CALL_SET, path, NULL, ud);
    call->cb.stat = done;
    int zrc = zoo_aset(z->zh, path, data, len ? (int)len : -1, version, on_stat, call);
    return call_started(z, call, zrc, error);
}

static bool zk_delete(RtCoord *self, const char *path, int32_t version, RtCoordDoneFunc done,
                      void *ud, GError **error) {
    ZkCoord *z = as_zk(self);
    if (too_busy(z, error))
        return false;
    ZkCall *call = call_new(z, CALL_DELETE, path, NULL, ud);
    call->cb.done = done;
    int zrc = zoo_adelete(z->zh, path, version, on_void, call);
    return call_started(z, call, zrc, error);
}

static bool zk_children(RtCoord *self, const char *path, const RtCoordWatch *watch,
                        RtCoordChildrenFunc done, void *ud, GError **error) {
    ZkCoord *z = as_zk(self);
    if (too_busy(z, error))
        return false;
    ZkCall *call = call_new(z, CALL_CHILDREN, path, watch, ud);
    call->cb.children = done;
    int zrc = watch ? zoo_awget_children2(z->zh, path, on_watch, call->watch, on_strings, call)
                    : zoo_aget_children2(z->zh, path, 0, on_strings, call);
    return call_started(z, call, zrc, error);
}

static bool zk_multi(RtCoord *self, const RtCoordOp *ops, size_t n, RtCoordMultiFunc done, void *ud,
                     GError **error) {
    ZkCoord *z = as_zk(self);
    if (too_busy(z, error))
        return false;
    ZkCall *call = call_new(z, CALL_MULTI, NULL, NULL, ud);
    call->cb.multi = done;
    call->n_ops = n;
    call->ops = g_new0(zoo_op_t, n);
    call->results = g_new0(zoo_op_result_t, n);
    call->op_paths = g_new0(char *, n);
    call->bufs = g_new0(char *, n);
    call->stats = g_new0(struct Stat, n);
    for (size_t i = 0; i < n; i++) {
        const RtCoordOp *op = &ops[i];
        call->op_paths[i] = g_strdup(op->path);
        int len = op->len ? (int)op->len : -1;
        switch (op->type) {
        case RT_COORD_OP_CHECK:
            zoo_check_op_init(&call->ops[i], call->op_paths[i], op->version);
            break;
        case RT_COORD_OP_CREATE: {
            size_t cap = strlen(op->path) + RT_COORD_CHROOT_MAX_BYTES + 16;
            call->bufs[i] = g_malloc0(cap);
            zoo_create_op_init(&call->ops[i], call->op_paths[i], op->data, len, acl_for(z),
                               create_mode(op->flags), call->bufs[i], (int)cap);
            break;
        }
        case RT_COORD_OP_SET:
            zoo_set_op_init(&call->ops[i], call->op_paths[i], op->data, len, op->version,
                            &call->stats[i]);
            break;
        case RT_COORD_OP_DELETE:
            zoo_delete_op_init(&call->ops[i], call->op_paths[i], op->version);
            break;
        }
    }
    int zrc = zoo_amulti(z->zh, (int)n, call->ops, call->results, on_void, call);
    return call_started(z, call, zrc, error);
}

static RtCoordState zk_state(RtCoord *self) {
    return as_zk(self)->state;
}

static int64_t zk_session_id(RtCoord *self) {
    return as_zk(self)->session_id;
}

static uint64_t zk_session_timeout_ns(RtCoord *self) {
    return as_zk(self)->timeout_ns;
}

static const RtCoordOps zk_coord_ops = {
    .name = "zookeeper",
    .create = zk_create,
    .get = zk_get,
    .exists = zk_exists,
    .set = zk_set,
    .delete = zk_delete,
    .children = zk_children,
    .multi = zk_multi,
    .state = zk_state,
    .session_id = zk_session_id,
    .session_timeout_ns = zk_session_timeout_ns,
    .free = zk_free,
};

/* ---------------------------------------------------------------------- open */

RtCoord *rt_coord_zk_open(GMainContext *ctx, const RtCoordConfig *cfg, GError **error) {
    assert(ctx != NULL && cfg != NULL);
    char *hosts = NULL, *chroot = NULL;
    if (!rt_coord_config_check(cfg, &hosts, &chroot, error))
        return NULL;
    if (!g_atomic_int_get(&log_level_chosen))
        rt_coord_zk_set_log_level(0);
    ZkCoord *z = g_new0(ZkCoord, 1);
    z->base.ops = &zk_coord_ops;
    z->ctx = g_main_context_ref(ctx);
    z->hosts = hosts;
    z->chroot = chroot;
    z->digest = cfg->digest_auth != NULL;
    z->on_session = cfg->on_session;
    z->session_user_data = cfg->session_user_data;
    z->state = RT_COORD_CONNECTING;
    g_mutex_init(&z->lock);
    z->source = g_source_new(&src_funcs, sizeof(ZkSource));
    ((ZkSource *)z->source)->owner = z;
    g_source_set_name(z->source, "rt_coord_zk");
    g_source_attach(z->source, ctx);
    char *connect = g_strconcat(hosts, chroot ? chroot : "", NULL);
    uint64_t timeout_ms = MIN(cfg->session_timeout_ns / 1000000ull, (uint64_t)INT32_MAX);
    errno = 0;
    z->zh = zookeeper_init(connect, on_session_event, (int)timeout_ms, NULL, z, 0);
    int saved = errno;
    g_free(connect);
    if (z->zh == NULL) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "cannot start a ZooKeeper client for '%s': %s", cfg->connect_string,
                    saved ? g_strerror(saved) : "unknown error");
        really_free(z);
        return NULL;
    }
    if (cfg->digest_auth != NULL)
        zoo_add_auth(z->zh, "digest", cfg->digest_auth, (int)strlen(cfg->digest_auth), NULL, NULL);
    uint64_t connect_ms = MAX(cfg->connect_timeout_ns / 1000000ull, 1ull);
    z->connect_timer = g_timeout_source_new((guint)MIN(connect_ms, (uint64_t)G_MAXUINT));
    g_source_set_callback(z->connect_timer, on_connect_timeout, z, NULL);
    g_source_attach(z->connect_timer, ctx);
    return &z->base;
}

/* ------------------------------------------------------------ forced expiry */

typedef struct ExpireWait {
    GMutex lock;
    GCond cond;
    int state; /* the second handle's last session state */
} ExpireWait;

static void expire_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh;
    (void)path;
    if (type != ZOO_SESSION_EVENT)
        return;
    ExpireWait *w = ctx;
    g_mutex_lock(&w->lock);
    w->state = state;
    g_cond_broadcast(&w->cond);
    g_mutex_unlock(&w->lock);
}

/* One attempt: B takes the session over, waits until connected (5 s at most), closes. */
static bool expire_attempt(ZkCoord *z, const clientid_t *cid, int recv_ms, GError **error) {
    ExpireWait w;
    memset(&w, 0, sizeof w);
    g_mutex_init(&w.lock);
    g_cond_init(&w.cond);
    zhandle_t *b = zookeeper_init(z->hosts, expire_watcher, recv_ms, cid, &w, 0);
    if (b == NULL) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_SYSTEM,
                    "cannot open a second ZooKeeper handle: %s", g_strerror(errno));
    } else {
        gint64 until = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
        g_mutex_lock(&w.lock);
        while (w.state != ZOO_CONNECTED_STATE && w.state != ZOO_EXPIRED_SESSION_STATE)
            if (!g_cond_wait_until(&w.cond, &w.lock, until))
                break;
        g_mutex_unlock(&w.lock);
        zookeeper_close(b);
    }
    g_cond_clear(&w.cond);
    g_mutex_clear(&w.lock);
    return b != NULL;
}

bool rt_coord_zk_force_expire(RtCoord *coord, uint64_t max_ns, unsigned *attempts_out,
                              GError **error) {
    ZkCoord *z = as_zk(coord);
    if (z->zh == NULL || zoo_state(z->zh) != ZOO_CONNECTED_STATE) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONNECTION_LOSS,
                    "force_expire needs a connected handle");
        return false;
    }
    clientid_t cid = *zoo_client_id(z->zh);
    int recv_ms = zoo_recv_timeout(z->zh);
    gint64 deadline = g_get_monotonic_time() + (gint64)(max_ns / 1000u);
    for (unsigned attempt = 1; attempt <= 100 && g_get_monotonic_time() < deadline; attempt++) {
        if (!expire_attempt(z, &cid, recv_ms, error))
            return false;
        /* The first handle reconnects at once after the first kick and after
         * recv_timeout/60 after later ones; the close must win that window. */
        gint64 until = g_get_monotonic_time() + (recv_ms / 60 + 250) * G_TIME_SPAN_MILLISECOND;
        while (g_get_monotonic_time() < until) {
            if (zoo_state(z->zh) == ZOO_EXPIRED_SESSION_STATE) {
                if (attempts_out)
                    *attempts_out = attempt;
                return true;
            }
            g_usleep(1000);
        }
    }
    g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_SYSTEM,
                "could not force the expiry of session 0x%llx", (unsigned long long)cid.client_id);
    return false;
}
