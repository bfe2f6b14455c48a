/* sim_zk.c - the simulated ZooKeeper ensemble (see sim_zk.h for the model).
 *
 * Everything that reaches process code goes through a kernel event whose payload is an
 * id (request, message, client, session) looked up when it fires: a handle freed or
 * crashed meanwhile simply makes the lookup fail, so no event ever touches freed memory,
 * and every callback into process code is the last thing its event does.
 *
 * Connections are numbered (epoch). A request or message carries the epoch it was sent
 * on; when it arrives on a different epoch the connection it travelled on is gone: a
 * request is then lost (its caller already got CONNECTION_LOSS), a watch event is held
 * in the session's outbox until the client reconnects (as the real client's SetWatches
 * replay does).
 *
 * Sessions and the client connection state machine are in sim_zk_session.c; the types
 * and helpers both files share are in sim_zk_internal.h.
 */
#include "sim/world/sim_zk.h"
#include "sim/world/sim_zk_internal.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_rng.h"
#include "sim/world/sim_world.h"


static const RtCoordOps sim_coord_ops;

/* ---------------------------------------------------------------- config */

void sim_zk_config_init(SimZkConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    /* Calibration (`ckptsim zk probe --calls 1000`, Debian ZooKeeper 3.8.0 on loopback,
     * forceSync=no, 100-byte data). Idle machine, warm server: get 91 us median / 251 us
     * p99, create 144 / ~2000, set 140 / 445, delete 138 / 391, connect 4 ms, pipelined
     * sets 13.9 k/s at window 256; perf-anchors.md §3 (idle, forceSync=no): writes
     * 100-120 us median, 250-430 p99, reads ~90. Loaded machine (load average 8): medians
     * 160-245 us. The model: one way 35 us, a read's service 20 us (get ~90 us), a write's
     * 55 us (~125 us), +-20% jitter and a 2% tail up to 4x for the p99. */
    cfg->net_one_way_ns = 35000;
    cfg->read_service_ns = 20000;
    cfg->write_service_ns = 55000;
    cfg->tick_ns = 2000000000ull; /* tickTime=2000 */
    cfg->jitter = 0.2;
    cfg->tail_chance = 0.02;
    cfg->tail_factor = 4.0;
}

uint64_t sim_zk_jittered(SimZk *zk, uint64_t median_ns) {
    double f = 1.0 - zk->cfg.jitter + 2.0 * zk->cfg.jitter * rt_rng_double(&zk->rng);
    if (zk->cfg.tail_chance > 0 && rt_rng_double(&zk->rng) < zk->cfg.tail_chance)
        f *= 1.0 + (zk->cfg.tail_factor - 1.0) * rt_rng_double(&zk->rng);
    return (uint64_t)((double)median_ns * f);
}

/* ---------------------------------------------------------------- lookups */

static gint u64_cmp(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static gint i64_cmp(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

SimZkClient *sim_zk_client_get(SimZk *zk, uint64_t id) {
    return g_tree_lookup(zk->clients, &id);
}

Session *sim_zk_session_get(SimZk *zk, int64_t id) {
    return id == 0 ? NULL : g_tree_lookup(zk->sessions, &id);
}

uint64_t sim_zk_now_ns(SimZk *zk) {
    return sim_kernel_now_ns(zk->k);
}

bool sim_zk_partitioned(SimZk *zk, SimZkClient *c) {
    return sim_zk_now_ns(zk) < c->partition_until_ns;
}

static uint64_t extra_delay(SimZk *zk, SimZkClient *c) {
    return sim_zk_now_ns(zk) < c->delay_until_ns ? c->delay_extra_ns : 0;
}

uint64_t sim_zk_retry_delay_ns(SimZkClient *c) {
    uint64_t t = c->timeout_ns ? c->timeout_ns : c->requested_timeout_ns;
    return MAX(t / 60, 1000000ull);
}

/* Full path <-> chroot-relative path. */
static char *full_path(SimZkClient *c, const char *path) {
    if (c->chroot == NULL)
        return g_strdup(path);
    return strcmp(path, "/") == 0 ? g_strdup(c->chroot) : g_strconcat(c->chroot, path, NULL);
}

static const char *rel_path(SimZkClient *c, const char *full) {
    if (c->chroot == NULL)
        return full;
    size_t n = strlen(c->chroot);
    assert(strncmp(full, c->chroot, n) == 0);
    return full[n] == '\0' ? "/" : full + n;
}

/* --------------------------------------------------------- free helpers */

static void request_free(Request *r) {
    g_free(r->path);
    g_free(r->data);
    for (size_t i = 0; i < r->n_ops; i++) {
        g_free((char *)r->ops[i].path);
        g_free((void *)r->ops[i].data);
        if (r->created_paths)
            g_free(r->created_paths[i]);
    }
    g_free(r->ops);
    g_free(r->created_paths);
    g_free(r->op_stats);
    g_free(r->rc_detail);
    g_free(r->created);
    g_free(r->rdata);
    g_strfreev(r->names);
    g_free(r);
}

void sim_zk_msg_free(Msg *m) {
    g_free(m->path);
    g_free(m);
}

static void watch_free(gpointer p) {
    ClientWatch *w = p;
    g_free(w->path);
    g_free(w);
}

static void session_free(gpointer p) {
    Session *s = p;
    g_queue_clear_full(&s->outbox, (GDestroyNotify)sim_zk_msg_free);
    g_free(s);
}

static void watch_array_free(gpointer p) {
    g_array_free(p, TRUE);
}

/* ------------------------------------------------------ callbacks into code */

static void ev_msg(SimKernel *k, void *ctx, uint64_t payload);
static void ev_complete(SimKernel *k, void *ctx, uint64_t payload);

/* Queues a message that the client library generates itself (session events, watch
 * endings): delivered now, after the running event, regardless of the connection. */
void sim_zk_post_local(SimZk *zk, SimZkClient *c, Msg *m) {
    m->id = ++zk->next_id;
    m->client_id = c->id;
    m->local = true;
    g_hash_table_insert(zk->msgs, &m->id, m);
    sim_kernel_schedule_in(zk->k, 0, ev_msg, zk, m->id);
}

void sim_zk_set_state(SimZk *zk, SimZkClient *c, RtCoordState st) {
    c->state = st;
    sim_kernel_trace_mix(zk->k, TRACE_ZK_STATE, (c->id << 8) | (uint64_t)st);
    if (c->on_session == NULL)
        return;
    Msg *m = g_new0(Msg, 1);
    m->kind = MSG_SESSION;
    m->state = st;
    sim_zk_post_local(zk, c, m);
}

/* The request's answer is known (or it failed locally): complete it after the running
 * event. */
static void fail_request(SimZk *zk, Request *r, int rc, const char *detail) {
    r->state = REQ_FAILING;
    r->rc = rc;
    g_free(r->rc_detail);
    r->rc_detail = g_strdup(detail);
    sim_kernel_schedule_in(zk->k, 0, ev_complete, zk, r->id);
}

/* Fails every pending request (only the unsent ones when unsent_only). */
void sim_zk_fail_pending(SimZk *zk, SimZkClient *c, int rc, const char *detail, bool unsent_only) {
    for (GList *l = c->pending.head; l != NULL; l = l->next) {
        Request *r = l->data;
        if (r->state == REQ_FAILING || (unsent_only && r->state != REQ_UNSENT))
            continue;
        fail_request(zk, r, rc, detail);
    }
}

static GError *request_error(SimZkClient *c, const Request *r) {
    static const char *const kinds[] = {"",    "create", "get",      "exists",
                                        "set", "delete", "children", "multi"};
    const char *what = r->path ? rel_path(c, r->path) : "";
    return g_error_new(RT_COORD_ERROR, r->rc, "ZooKeeper %s %s: %s", kinds[r->kind], what,
                       r->rc_detail ? r->rc_detail : rt_coord_error_name(r->rc));
}

static void invoke_multi(SimZkClient *c, Request *r, GError *err) {
    if (err != NULL) {
        r->cb.multi(&c->base, NULL, 0, err, r->user_data);
        return;
    }
    RtCoordOpResult *res = g_new0(RtCoordOpResult, r->n_ops);
    for (size_t i = 0; i < r->n_ops; i++) {
        res[i].type = r->ops[i].type;
        if (r->created_paths[i])
            res[i].path_created = rel_path(c, r->created_paths[i]);
        res[i].stat = r->op_stats[i];
    }
    r->cb.multi(&c->base, res, r->n_ops, NULL, r->user_data);
    g_free(res);
}

/* Calls the request's callback. The client may be freed inside it. */
static void invoke_request(SimZk *zk, SimZkClient *c, Request *r) {
    GError *err = r->rc ? request_error(c, r) : NULL;
    RtCoord *base = &c->base;
    RtProcessId pid = c->process;
    const RtCoordStat *st = (r->has_stat && !err) ? &r->stat : NULL;
    sim_host_enter(zk->host, pid);
    switch (r->kind) {
    case REQ_CREATE:
        r->cb.create(base, err ? NULL : rel_path(c, r->created), err, r->user_data);
        break;
    case REQ_GET:
        r->cb.data(base, err ? NULL : r->rdata, err ? 0 : r->rlen, st, err, r->user_data);
        break;
    case REQ_EXISTS:
    case REQ_SET: r->cb.stat(base, st, err, r->user_data); break;
    case REQ_DELETE: r->cb.done(base, err, r->user_data); break;
    case REQ_CHILDREN:
        r->cb.children(base, err ? NULL : (const char *const *)r->names, err ? 0 : r->n_names, st,
                       err, r->user_data);
        break;
    case REQ_MULTI: invoke_multi(c, r, err); break;
    }
    sim_host_leave(zk->host, pid);
}

/* The request leaves the client's books (watch activated or dropped), then its callback
 * runs, then it is freed. */
static void complete_request(SimZk *zk, SimZkClient *c, Request *r) {
    g_queue_remove(&c->pending, r);
    g_hash_table_remove(zk->requests, &r->id);
    if (r->watch_id != 0) {
        ClientWatch *w = g_tree_lookup(c->watches, &r->watch_id);
        assert(w != NULL);
        if (r->rc == 0)
            w->active = true;
        else
            g_tree_remove(c->watches, &r->watch_id);
    }
    invoke_request(zk, c, r);
    request_free(r);
}

static void ev_complete(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Request *r = g_hash_table_lookup(zk->requests, &payload);
    if (r == NULL)
        return;
    SimZkClient *c = sim_zk_client_get(zk, r->client_id);
    assert(c != NULL);
    if (c->dead)
        return;
    complete_request(zk, c, r);
}

static void deliver_msg(SimZk *zk, SimZkClient *c, Msg *m) {
    RtProcessId pid = c->process;
    if (m->kind == MSG_SESSION) {
        sim_host_enter(zk->host, pid);
        c->on_session(&c->base, m->state, c->session_user_data);
        sim_host_leave(zk->host, pid);
        return;
    }
    ClientWatch *w = g_tree_lookup(c->watches, &m->watch_id);
    if (w == NULL || !w->active)
        return;
    RtCoordWatch watch = w->watch;
    char *path = g_strdup(m->local ? w->path : rel_path(c, m->path));
    g_tree_remove(c->watches, &m->watch_id);
    sim_host_enter(zk->host, pid);
    watch.func(&c->base, m->type, path, watch.user_data);
    sim_host_leave(zk->host, pid);
    g_free(path);
}


static void ev_msg(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Msg *m = NULL;
    if (!g_hash_table_steal_extended(zk->msgs, &payload, NULL, (gpointer *)&m))
        return;
    SimZkClient *c = sim_zk_client_get(zk, m->client_id);
    if (c == NULL || c->dead) {
        sim_zk_msg_free(m);
        return;
    }
    if (!m->local && m->epoch != c->epoch) {
        /* The connection died under it: hold it for the next connection. */
        Session *s = sim_zk_session_get(zk, c->session_id);
        if (s != NULL && s->alive)
            g_queue_push_tail(&s->outbox, m);
        else
            sim_zk_msg_free(m);
        return;
    }
    if (!m->local && sim_zk_partitioned(zk, c)) {
        sim_zk_send_msg(zk, c, m); /* stalls until the partition heals */
        return;
    }
    deliver_msg(zk, c, m);
    sim_zk_msg_free(m);
}

/* ------------------------------------------------------------- the network */

static void ev_arrive(SimKernel *k, void *ctx, uint64_t payload);
static void ev_reply(SimKernel *k, void *ctx, uint64_t payload);

/* Earliest time a packet sent now on c's connection can get through. */
static uint64_t link_time(SimZk *zk, SimZkClient *c) {
    uint64_t t = sim_zk_now_ns(zk);
    return MAX(t, c->partition_until_ns);
}

void sim_zk_send_request(SimZk *zk, SimZkClient *c, Request *r) {
    r->state = REQ_SENT;
    r->epoch = c->epoch;
    uint64_t at = link_time(zk, c) + sim_zk_jittered(zk, zk->cfg.net_one_way_ns);
    at = MAX(at, c->last_arrival_ns);
    c->last_arrival_ns = at;
    sim_kernel_schedule_at(zk->k, at, ev_arrive, zk, r->id);
}

/* Server -> client: replies and watch events share one FIFO stream. */
static uint64_t reply_time(SimZk *zk, SimZkClient *c, uint64_t service_ns) {
    uint64_t at = link_time(zk, c) + service_ns + sim_zk_jittered(zk, zk->cfg.net_one_way_ns) +
                  extra_delay(zk, c);
    at = MAX(at, c->last_reply_ns);
    c->last_reply_ns = at;
    return at;
}

void sim_zk_send_msg(SimZk *zk, SimZkClient *c, Msg *m) {
    if (m->id == 0)
        m->id = ++zk->next_id;
    m->epoch = c->epoch;
    g_hash_table_insert(zk->msgs, &m->id, m);
    sim_kernel_schedule_at(zk->k, reply_time(zk, c, 0), ev_msg, zk, m->id);
}

static void ev_reply(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Request *r = g_hash_table_lookup(zk->requests, &payload);
    if (r == NULL || r->state != REQ_SENT)
        return;
    SimZkClient *c = sim_zk_client_get(zk, r->client_id);
    if (c->dead || r->epoch != c->epoch)
        return;
    if (sim_zk_partitioned(zk, c)) {
        sim_kernel_schedule_at(zk->k, reply_time(zk, c, 0), ev_reply, zk, r->id);
        return;
    }
    complete_request(zk, c, r);
}

/* -------------------------------------------------------------- the server */

static void fire_triggers(SimZk *zk, GArray *triggers);

static void register_watch(SimZk *zk, SimZkClient *c, Request *r, bool child_table) {
    if (r->watch_id == 0)
        return;
    GHashTable *table = child_table ? zk->child_watches : zk->data_watches;
    GArray *a = g_hash_table_lookup(table, r->path);
    if (a == NULL) {
        a = g_array_new(FALSE, TRUE, sizeof(WatchRef));
        g_hash_table_insert(table, g_strdup(r->path), a);
    }
    WatchRef ref = {c->id, r->watch_id, c->session_id};
    g_array_append_val(a, ref);
}

void sim_zk_commit(SimZk *zk, SimZkTxn *x) {
    GArray *triggers = sim_zk_txn_commit(x);
    zk->stats.writes++;
    sim_kernel_trace_mix(zk->k, TRACE_ZK_COMMIT, (uint64_t)sim_zk_tree_zxid(zk->tree));
    fire_triggers(zk, triggers);
    sim_zk_triggers_free(triggers);
}

static int apply_op(SimZkTxn *x, Request *r, size_t i, int64_t session_id) {
    RtCoordOp *op = &r->ops[i];
    switch (op->type) {
    case RT_COORD_OP_CHECK: return sim_zk_txn_check(x, op->path, op->version);
    case RT_COORD_OP_CREATE:
        return sim_zk_txn_create(x, op->path, op->data, op->len, op->flags, session_id,
                                 &r->created_paths[i]);
    case RT_COORD_OP_SET:
        return sim_zk_txn_set(x, op->path, op->data, op->len, op->version, &r->op_stats[i]);
    case RT_COORD_OP_DELETE: return sim_zk_txn_delete(x, op->path, op->version);
    }
    return RT_COORD_ERROR_BAD_ARGUMENTS;
}

static void apply_multi(SimZk *zk, SimZkClient *c, Request *r) {
    r->created_paths = g_new0(char *, r->n_ops);
    r->op_stats = g_new0(RtCoordStat, r->n_ops);
    SimZkTxn *x = sim_zk_txn_begin(zk->tree);
    for (size_t i = 0; i < r->n_ops; i++) {
        int rc = apply_op(x, r, i, c->session_id);
        if (rc != 0) {
            sim_zk_txn_abort(x);
            for (size_t j = 0; j < r->n_ops; j++)
                g_clear_pointer(&r->created_paths[j], g_free);
            r->rc = rc;
            r->rc_detail = g_strdup_printf("op %zu (%s): %s", i, rel_path(c, r->ops[i].path),
                                           rt_coord_error_name(rc));
            return;
        }
    }
    sim_zk_commit(zk, x);
}

static void apply_write(SimZk *zk, SimZkClient *c, Request *r) {
    SimZkTxn *x = sim_zk_txn_begin(zk->tree);
    if (r->kind == REQ_CREATE)
        r->rc =
            sim_zk_txn_create(x, r->path, r->data, r->len, r->flags, c->session_id, &r->created);
    else if (r->kind == REQ_SET)
        r->rc = sim_zk_txn_set(x, r->path, r->data, r->len, r->version, &r->stat);
    else
        r->rc = sim_zk_txn_delete(x, r->path, r->version);
    r->has_stat = r->kind == REQ_SET && r->rc == 0;
    if (r->rc != 0)
        sim_zk_txn_abort(x);
    else
        sim_zk_commit(zk, x);
}

static void apply_read(SimZk *zk, SimZkClient *c, Request *r) {
    r->has_stat = sim_zk_tree_stat(zk->tree, r->path, &r->stat);
    if (r->kind == REQ_EXISTS) {
        register_watch(zk, c, r, false);
        return;
    }
    if (!r->has_stat) {
        r->rc = RT_COORD_ERROR_NO_NODE;
        return;
    }
    if (r->kind == REQ_GET) {
        const void *data;
        sim_zk_tree_data(zk->tree, r->path, &data, &r->rlen);
        r->rdata = r->rlen ? g_memdup2(data, r->rlen) : NULL;
        register_watch(zk, c, r, false);
    } else {
        const char **names;
        sim_zk_tree_children(zk->tree, r->path, &names, &r->n_names);
        r->names = g_new0(char *, r->n_names + 1);
        for (size_t i = 0; i < r->n_names; i++)
            r->names[i] = g_strdup(names[i]);
        g_free(names);
        register_watch(zk, c, r, true);
    }
}

static void ev_arrive(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Request *r = g_hash_table_lookup(zk->requests, &payload);
    if (r == NULL || r->state != REQ_SENT)
        return;
    SimZkClient *c = sim_zk_client_get(zk, r->client_id);
    Session *s = sim_zk_session_get(zk, c->session_id);
    if (c->dead || r->epoch != c->epoch || !c->link_up || s == NULL || !s->alive)
        return; /* lost with its connection */
    if (sim_zk_partitioned(zk, c)) {
        sim_zk_send_request(zk, c, r);
        return;
    }
    zk->stats.requests++;
    bool write = r->kind == REQ_CREATE || r->kind == REQ_SET || r->kind == REQ_DELETE ||
                 r->kind == REQ_MULTI;
    if (r->kind == REQ_MULTI)
        apply_multi(zk, c, r);
    else if (write)
        apply_write(zk, c, r);
    else
        apply_read(zk, c, r);
    /* Watch events fired above are already queued on this connection: FIFO puts them
     * before this reply. */
    uint64_t service =
        sim_zk_jittered(zk, write ? zk->cfg.write_service_ns : zk->cfg.read_service_ns);
    sim_kernel_schedule_at(zk->k, reply_time(zk, c, service), ev_reply, zk, r->id);
}

static void notify(SimZk *zk, const WatchRef *ref, RtCoordEventType type, const char *path) {
    Session *s = sim_zk_session_get(zk, ref->session_id);
    SimZkClient *c = sim_zk_client_get(zk, ref->client_id);
    if (s == NULL || !s->alive || c == NULL || c->dead)
        return;
    Msg *m = g_new0(Msg, 1);
    m->client_id = c->id;
    m->kind = MSG_WATCH;
    m->watch_id = ref->watch_id;
    m->type = type;
    m->path = g_strdup(path);
    if (c->link_up)
        sim_zk_send_msg(zk, c, m);
    else
        g_queue_push_tail(&s->outbox, m);
}

static void fire_triggers(SimZk *zk, GArray *triggers) {
    for (guint i = 0; i < triggers->len; i++) {
        const SimZkTrigger *t = &g_array_index(triggers, SimZkTrigger, i);
        GHashTable *table = t->child_table ? zk->child_watches : zk->data_watches;
        gpointer key, value;
        if (!g_hash_table_steal_extended(table, t->path, &key, &value))
            continue;
        GArray *a = value;
        for (guint j = 0; j < a->len; j++)
            notify(zk, &g_array_index(a, WatchRef, j), t->type, t->path);
        g_free(key);
        g_array_free(a, TRUE);
    }
}

/* -------------------------------------------------------------- the calls */

static SimZkClient *as_client(RtCoord *self) {
    assert(self != NULL && self->ops == &sim_coord_ops);
    return (SimZkClient *)self;
}

static Request *request_new(SimZkClient *c, ReqKind kind, const char *path) {
    Request *r = g_new0(Request, 1);
    r->id = ++c->zk->next_id;
    r->client_id = c->id;
    r->kind = kind;
    r->state = REQ_UNSENT;
    r->path = path ? full_path(c, path) : NULL;
    r->version = RT_COORD_ANY_VERSION;
    return r;
}

static void copy_data(uint8_t **dst, size_t *dst_len, const void *data, size_t len) {
    *dst = len ? g_memdup2(data, len) : NULL;
    *dst_len = len;
}

/* Queues r (and its watch); sends it now if connected. */
static bool submit(SimZkClient *c, Request *r, const RtCoordWatch *watch, GError **error) {
    SimZk *zk = c->zk;
    assert(sim_zk_client_alive(c) || c->dead);
    if (c->pending.length >= RT_COORD_PENDING_MAX) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_TOO_BUSY, "%u ZooKeeper calls pending",
                    RT_COORD_PENDING_MAX);
        request_free(r);
        return false;
    }
    if (watch != NULL) {
        ClientWatch *w = g_new0(ClientWatch, 1);
        w->id = ++zk->next_id;
        w->watch = *watch;
        w->path = g_strdup(rel_path(c, r->path));
        g_tree_insert(c->watches, &w->id, w);
        r->watch_id = w->id;
    }
    g_hash_table_insert(zk->requests, &r->id, r);
    g_queue_push_tail(&c->pending, r);
    if (c->link_up)
        sim_zk_send_request(zk, c, r);
    return true;
}

static bool sim_create(RtCoord *self, const char *path, const void *data, size_t len,
                       unsigned flags, RtCoordCreateFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_CREATE, path);
    copy_data(&r->data, &r->len, data, len);
    r->flags = flags;
    r->cb.create = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static bool sim_get(RtCoord *self, const char *path, const RtCoordWatch *watch,
                    RtCoordDataFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_GET, path);
    r->cb.data = done;
    r->user_data = ud;
    return submit(c, r, watch, error);
}

static bool sim_exists(RtCoord *self, const char *path, const RtCoordWatch *watch,
                       RtCoordStatFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_EXISTS, path);
    r->cb.stat = done;
    r->user_data = ud;
    return submit(c, r, watch, error);
}

static bool sim_set(RtCoord *self, const char *path, const void *data, size_t len, int32_t version,
                    RtCoordStatFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_SET, path);
    copy_data(&r->data, &r->len, data, len);
    r->version = version;
    r->cb.stat = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static bool sim_delete(RtCoord *self, const char *path, int32_t version, RtCoordDoneFunc done,
                       void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_DELETE, path);
    r->version = version;
    r->cb.done = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static bool sim_children(RtCoord *self, const char *path, const RtCoordWatch *watch,
                         RtCoordChildrenFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_CHILDREN, path);
    r->cb.children = done;
    r->user_data = ud;
    return submit(c, r, watch, error);
}

static bool sim_multi(RtCoord *self, const RtCoordOp *ops, size_t n, RtCoordMultiFunc done,
                      void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_MULTI, NULL);
    r->ops = g_new0(RtCoordOp, n);
    r->n_ops = n;
    for (size_t i = 0; i < n; i++) {
        r->ops[i] = ops[i];
        r->ops[i].path = full_path(c, ops[i].path);
        r->ops[i].data = ops[i].len ? g_memdup2(ops[i].data, ops[i].len) : NULL;
    }
    r->cb.multi = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static RtCoordState sim_state(RtCoord *self) {
    return as_client(self)->state;
}

static int64_t sim_session_id(RtCoord *self) {
    return as_client(self)->session_id;
}

static uint64_t sim_session_timeout_ns(RtCoord *self) {
    return as_client(self)->timeout_ns;
}

static void ev_close_session(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Session *s = sim_zk_session_get(zk, (int64_t)payload);
    if (s != NULL && s->alive && s->close_pending)
        sim_zk_session_end(zk, s, false);
}

static void client_release(SimZk *zk, SimZkClient *c) {
    for (GList *l = c->pending.head; l != NULL; l = l->next) {
        Request *r = l->data;
        g_hash_table_remove(zk->requests, &r->id);
        request_free(r);
    }
    g_queue_clear(&c->pending);
    g_tree_destroy(c->watches);
    g_free(c->chroot);
    g_tree_remove(zk->clients, &c->id);
    g_free(c);
}

/* Closing: a close request reaches a live, reachable session's server after one network
 * hop; otherwise the session lingers until it expires. */
static void sim_free(RtCoord *self) {
    SimZkClient *c = as_client(self);
    SimZk *zk = c->zk;
    Session *s = sim_zk_session_get(zk, c->session_id);
    if (s != NULL && s->client_id == c->id) {
        s->client_id = 0;
        if (s->alive && !c->dead && c->link_up && !sim_zk_partitioned(zk, c)) {
            s->close_pending = true;
            s->close_pid = c->process;
            sim_kernel_schedule_in(zk->k, sim_zk_jittered(zk, zk->cfg.net_one_way_ns),
                                   ev_close_session, zk, (uint64_t)s->id);
        } else {
            sim_zk_session_silence(zk, s);
        }
    }
    client_release(zk, c);
}

static const RtCoordOps sim_coord_ops = {
    .name = "sim",
    .create = sim_create,
    .get = sim_get,
    .exists = sim_exists,
    .set = sim_set,
    .delete = sim_delete,
    .children = sim_children,
    .multi = sim_multi,
    .state = sim_state,
    .session_id = sim_session_id,
    .session_timeout_ns = sim_session_timeout_ns,
    .free = sim_free,
};

/* ---------------------------------------------------------------- lifecycle */

SimZk *sim_zk_new(SimKernel *k, uint64_t seed, const SimZkConfig *cfg, const SimHost *host) {
    assert(k != NULL);
    SimZk *zk = g_new0(SimZk, 1);
    zk->k = k;
    zk->host = host;
    if (cfg != NULL)
        zk->cfg = *cfg;
    else
        sim_zk_config_init(&zk->cfg);
    assert(zk->cfg.tick_ns > 0 && zk->cfg.jitter >= 0 && zk->cfg.jitter < 1);
    rt_rng_seed_stream(&zk->rng, seed, "sim_zk");
    zk->tree = sim_zk_tree_new();
    zk->sessions = g_tree_new_full(i64_cmp, NULL, NULL, session_free);
    zk->clients = g_tree_new_full(u64_cmp, NULL, NULL, NULL);
    zk->requests = g_hash_table_new(g_int64_hash, g_int64_equal);
    zk->msgs =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, (GDestroyNotify)sim_zk_msg_free);
    zk->data_watches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, watch_array_free);
    zk->child_watches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, watch_array_free);
    /* Session ids look like a real server's: server id in the top byte. */
    zk->next_session = (int64_t)0x0100000000000000ll;
    return zk;
}

void sim_zk_free(SimZk *zk) {
    if (zk == NULL)
        return;
    GTreeNode *n;
    while ((n = g_tree_node_first(zk->clients)) != NULL)
        client_release(zk, g_tree_node_value(n));
    g_tree_destroy(zk->clients);
    g_tree_destroy(zk->sessions);
    assert(g_hash_table_size(zk->requests) == 0);
    g_hash_table_destroy(zk->requests);
    g_hash_table_destroy(zk->msgs);
    g_hash_table_destroy(zk->data_watches);
    g_hash_table_destroy(zk->child_watches);
    sim_zk_tree_free(zk->tree);
    g_free(zk);
}

RtCoord *sim_zk_open(SimZk *zk, RtProcessId pid, const RtCoordConfig *cfg, GError **error) {
    assert(zk != NULL && cfg != NULL);
    char *chroot = NULL;
    if (!rt_coord_config_check(cfg, NULL, &chroot, error))
        return NULL;
    SimZkClient *c = g_new0(SimZkClient, 1);
    c->base.ops = &sim_coord_ops;
    c->zk = zk;
    c->id = ++zk->next_id;
    c->process = pid;
    c->state = RT_COORD_CONNECTING;
    c->chroot = chroot;
    c->requested_timeout_ns = cfg->session_timeout_ns;
    c->on_session = cfg->on_session;
    c->session_user_data = cfg->session_user_data;
    c->watches = g_tree_new_full(u64_cmp, NULL, NULL, watch_free);
    g_queue_init(&c->pending);
    g_tree_insert(zk->clients, &c->id, c);
    sim_zk_schedule_attempt(zk, c, 0);
    sim_kernel_schedule_in(zk->k, cfg->connect_timeout_ns, sim_zk_ev_connect_timeout, zk, c->id);
    return &c->base;
}

/* Calls fn on every handle of pid, in id order (fn may not free handles). */
static unsigned foreach_client(SimZk *zk, RtProcessId pid,
                               void (*fn)(SimZk *, SimZkClient *, void *), void *ud) {
    unsigned n = 0;
    for (GTreeNode *t = g_tree_node_first(zk->clients); t; t = g_tree_node_next(t)) {
        SimZkClient *c = g_tree_node_value(t);
        if (c->process != pid || c->dead)
            continue;
        fn(zk, c, ud);
        n++;
    }
    return n;
}

static void crash_one(SimZk *zk, SimZkClient *c, void *ud) {
    (void)ud;
    c->dead = true;
    if (c->link_up) {
        c->link_up = false;
        c->epoch++;
        sim_zk_session_silence(zk, sim_zk_session_get(zk, c->session_id));
    }
}

void sim_zk_process_crashed(SimZk *zk, RtProcessId pid) {
    foreach_client(zk, pid, crash_one, NULL);
    /* A handle freed by the crash's own teardown never got its close out. */
    for (GTreeNode *t = g_tree_node_first(zk->sessions); t; t = g_tree_node_next(t)) {
        Session *s = g_tree_node_value(t);
        if (s->alive && s->close_pending && s->close_pid == pid) {
            s->close_pending = false;
            sim_zk_session_silence(zk, s);
        }
    }
}

/* ------------------------------------------------------------- the world */

static void world_enter(void *ud, RtProcessId pid) {
    sim_world_enter(ud, pid);
}

static void world_leave(void *ud, RtProcessId pid) {
    sim_world_leave(ud, pid);
}

static RtCoord *hook_open(void *ud, RtEnv *env, const RtCoordConfig *cfg, GError **error) {
    return sim_zk_open(ud, env->process_id, cfg, error);
}

static void hook_crashed(void *ud, RtProcessId pid) {
    sim_zk_process_crashed(ud, pid);
}

static void hook_restarted(void *ud, RtProcessId pid) {
    (void)ud;
    (void)pid; /* a restarted process opens new sessions itself */
}

void sim_zk_attach_world(SimZk *zk, SimWorld *w) {
    assert(zk != NULL && w != NULL && sim_world_kernel(w) == zk->k);
    zk->world_host.enter = world_enter;
    zk->world_host.leave = world_leave;
    zk->world_host.ud = w;
    zk->host = &zk->world_host;
    SimWorldCoordHooks hooks = {hook_open, hook_crashed, hook_restarted, zk};
    sim_world_set_coord_hooks(w, &hooks);
}

/* ------------------------------------------------------------------- faults */

bool sim_zk_expire_session(SimZk *zk, int64_t session_id) {
    Session *s = sim_zk_session_get(zk, session_id);
    if (s == NULL || !s->alive)
        return false;
    sim_zk_session_end(zk, s, true);
    return true;
}

static void expire_one(SimZk *zk, SimZkClient *c, void *ud) {
    unsigned *n = ud;
    *n += sim_zk_expire_session(zk, c->session_id) ? 1 : 0;
}

unsigned sim_zk_expire_process(SimZk *zk, RtProcessId pid) {
    unsigned n = 0;
    foreach_client(zk, pid, expire_one, &n);
    return n;
}

static void drop_one(SimZk *zk, SimZkClient *c, void *ud) {
    uint64_t until = *(const uint64_t *)ud;
    c->drop_until_ns = MAX(c->drop_until_ns, until);
    if (c->link_up)
        sim_zk_client_disconnect(zk, c);
}

void sim_zk_drop_connection(SimZk *zk, RtProcessId pid, uint64_t duration_ns) {
    uint64_t until = sim_zk_now_ns(zk) + duration_ns;
    foreach_client(zk, pid, drop_one, &until);
}

typedef struct DelayArgs {
    uint64_t extra_ns, until_ns;
} DelayArgs;

static void delay_one(SimZk *zk, SimZkClient *c, void *ud) {
    (void)zk;
    const DelayArgs *a = ud;
    c->delay_extra_ns = a->extra_ns;
    c->delay_until_ns = a->until_ns;
}

void sim_zk_delay_replies(SimZk *zk, RtProcessId pid, uint64_t extra_ns, uint64_t duration_ns) {
    DelayArgs a = {extra_ns, sim_zk_now_ns(zk) + duration_ns};
    foreach_client(zk, pid, delay_one, &a);
}

static void partition_one(SimZk *zk, SimZkClient *c, void *ud) {
    uint64_t until = *(const uint64_t *)ud;
    if (!sim_zk_partitioned(zk, c))
        c->partition_since_ns = sim_zk_now_ns(zk);
    c->partition_until_ns = MAX(c->partition_until_ns, until);
    sim_kernel_schedule_at(zk->k, c->partition_until_ns, sim_zk_ev_partition_end, zk, c->id);
    if (!c->link_up)
        return;
    sim_zk_session_silence(zk, sim_zk_session_get(zk, c->session_id));
    sim_kernel_schedule_at(zk->k, c->partition_since_ns + c->timeout_ns * 2 / 3, sim_zk_ev_detect,
                           zk, c->id);
}

void sim_zk_partition(SimZk *zk, RtProcessId pid, uint64_t duration_ns) {
    uint64_t until = sim_zk_now_ns(zk) + duration_ns;
    foreach_client(zk, pid, partition_one, &until);
}

/* ------------------------------------------------------------ observation */

const SimZkTree *sim_zk_tree(const SimZk *zk) {
    return zk->tree;
}

static gboolean count_live(gpointer key, gpointer value, gpointer ud) {
    (void)key;
    *(unsigned *)ud += ((Session *)value)->alive ? 1 : 0;
    return FALSE;
}

unsigned sim_zk_live_sessions(const SimZk *zk) {
    unsigned n = 0;
    g_tree_foreach(zk->sessions, count_live, &n);
    return n;
}

SimZkStats sim_zk_stats(const SimZk *zk) {
    return zk->stats;
}
