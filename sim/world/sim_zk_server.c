/* sim_zk_server.c - the server side of the simulated ensemble: a request that arrives
 * on its connection's current epoch is served by the client's server (a read against
 * that server's replica; a write checked and committed by the leader, its reply held
 * until the client's server applied it, and the client's later requests parked behind
 * it), commits are traced and logged for the followers, and the watches a request sets
 * or a transaction triggers are registered and notified per server. The model is
 * described in sim_zk.h and sim_zk.c. */
#include "sim/world/sim_zk.h"
#include "sim/world/sim_zk_internal.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_rng.h"

/* -------------------------------------------------------------- the server */

void sim_zk_register_watch(SimZk *zk, SimZkClient *c, uint64_t watch_id, const char *path,
                           bool child_table) {
    if (watch_id == 0)
        return;
    GHashTable *table = child_table ? zk->child_watches : zk->data_watches;
    GArray *a = g_hash_table_lookup(table, path);
    if (a == NULL) {
        a = g_array_new(FALSE, TRUE, sizeof(WatchRef));
        g_hash_table_insert(table, g_strdup(path), a);
    }
    WatchRef ref = {c->id, watch_id, c->session_id};
    g_array_append_val(a, ref);
}

static void register_watch(SimZk *zk, SimZkClient *c, Request *r, bool child_table) {
    sim_zk_register_watch(zk, c, r->watch_id, r->path, child_table);
}

void sim_zk_commit(SimZk *zk, SimZkTxn *x, int64_t owner, const RtCoordOp *ops, size_t n) {
    int64_t before = sim_zk_tree_zxid(zk->tree);
    GArray *triggers = sim_zk_txn_commit(x);
    zk->stats.writes++;
    int64_t zxid = sim_zk_tree_zxid(zk->tree);
    sim_kernel_trace_mix(zk->k, TRACE_ZK_COMMIT, (uint64_t)zxid);
    sim_zk_fire_triggers(zk, 0, triggers);
    sim_zk_triggers_free(triggers);
    if (zxid != before)
        sim_zk_log_append(zk, zxid, owner, ops, n);
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
            r->rc_detail = g_strdup_printf("op %zu (%s): %s", i,
                                           sim_zk_rel_path(c, r->ops[i].path),
                                           rt_coord_error_name(rc));
            return;
        }
    }
    sim_zk_commit(zk, x, c->session_id, r->ops, r->n_ops);
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
    if (r->rc != 0) {
        sim_zk_txn_abort(x);
        return;
    }
    static const RtCoordOpType types[] = {[REQ_CREATE] = RT_COORD_OP_CREATE,
                                          [REQ_SET] = RT_COORD_OP_SET,
                                          [REQ_DELETE] = RT_COORD_OP_DELETE};
    RtCoordOp op = {types[r->kind], r->path, r->data, r->len, r->flags, r->version};
    sim_zk_commit(zk, x, c->session_id, &op, 1);
}

/* A real server lists children in its DataNode's HashSet order: stable for a given set,
 * unrelated to the names' order. The model: order by a hash of the name salted from the
 * run's seed, so a caller that relies on sorted children fails on some seeds. */
static int unorder_cmp(const void *a, const void *b, void *ud) {
    uint64_t salt = *(const uint64_t *)ud;
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    uint64_t hx = rt_mix64(salt ^ rt_hash_str(x)), hy = rt_mix64(salt ^ rt_hash_str(y));
    return hx != hy ? (hx < hy ? -1 : 1) : strcmp(x, y);
}

static void unorder_names(SimZk *zk, char **names, size_t n) {
    g_qsort_with_data(names, (gint)n, sizeof *names, unorder_cmp, &zk->order_salt);
}

/* A read sees the replica of the client's server. */
static void apply_read(SimZk *zk, SimZkClient *c, Request *r) {
    const SimZkTree *tree = zk->servers[c->server].tree;
    if (sim_zk_tree_zxid(tree) < sim_zk_tree_zxid(zk->tree))
        zk->stats.lagging_reads++;
    r->has_stat = sim_zk_tree_stat(tree, r->path, &r->stat);
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
        sim_zk_tree_data(tree, r->path, &data, &r->rlen);
        r->rdata = r->rlen ? g_memdup2(data, r->rlen) : NULL;
        register_watch(zk, c, r, false);
    } else {
        const char **names;
        sim_zk_tree_children(tree, r->path, &names, &r->n_names);
        r->names = g_new0(char *, r->n_names + 1);
        for (size_t i = 0; i < r->n_names; i++)
            r->names[i] = g_strdup(names[i]);
        g_free(names);
        unorder_names(zk, r->names, r->n_names);
        register_watch(zk, c, r, true);
    }
}

bool sim_zk_is_write(const Request *r) {
    return r->kind == REQ_CREATE || r->kind == REQ_SET || r->kind == REQ_DELETE ||
           r->kind == REQ_MULTI;
}

bool sim_zk_apply(SimZk *zk, SimZkClient *c, Request *r) {
    zk->stats.requests++;
    bool write = sim_zk_is_write(r);
    if (r->kind == REQ_MULTI)
        apply_multi(zk, c, r);
    else if (write)
        apply_write(zk, c, r);
    else
        apply_read(zk, c, r);
    return write;
}

/* The reply of r leaves c's server now, after the service time. */
static void send_reply(SimZk *zk, SimZkClient *c, Request *r, bool write) {
    r->reply_zxid = sim_zk_tree_zxid(zk->servers[c->server].tree);
    uint64_t service =
        sim_zk_jittered(zk, write ? zk->cfg.write_service_ns : zk->cfg.read_service_ns);
    sim_kernel_schedule_at(zk->k, sim_zk_reply_time(zk, c, service), sim_zk_ev_reply, zk, r->id);
}

bool sim_zk_serve(SimZk *zk, SimZkClient *c, Request *r) {
    if (r->awaiting) { /* its server has applied it now */
        r->awaiting = false;
        send_reply(zk, c, r, true);
        return false;
    }
    bool write = sim_zk_apply(zk, c, r);
    /* Watch events fired above are already queued on this connection: FIFO puts them
     * before this reply. A write (or its error) is the leader's; its reply leaves from
     * the client's server once that server has applied the log up to it. */
    int64_t leader = sim_zk_tree_zxid(zk->tree);
    if (write && sim_zk_tree_zxid(zk->servers[c->server].tree) < leader) {
        r->awaiting = true;
        c->wait_zxid = leader;
        return true;
    }
    send_reply(zk, c, r, write);
    return false;
}

void sim_zk_ev_arrive(SimKernel *k, void *ctx, uint64_t payload) {
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
    /* Per-session order at the server: behind a write still being applied, wait. */
    if (!g_queue_is_empty(&c->parked) || sim_zk_serve(zk, c, r))
        g_queue_push_tail(&c->parked, GSIZE_TO_POINTER(r->id));
}

/* Where ref's watch lives: 1 on server (fire it), 0 on another server (keep it), -1
 * nowhere any more (its session or handle is gone: drop it). */
static int watch_on(SimZk *zk, const WatchRef *ref, unsigned server) {
    Session *s = sim_zk_session_get(zk, ref->session_id);
    SimZkClient *c = sim_zk_client_get(zk, ref->client_id);
    if (s == NULL || !s->alive || c == NULL || c->dead || !c->link_up)
        return -1;
    return c->server == server ? 1 : 0;
}

static void notify(SimZk *zk, const WatchRef *ref, RtCoordEventType type, const char *path) {
    SimZkClient *c = sim_zk_client_get(zk, ref->client_id);
    Msg *m = g_new0(Msg, 1);
    m->client_id = c->id;
    m->kind = MSG_WATCH;
    m->watch_id = ref->watch_id;
    m->type = type;
    m->path = g_strdup(path);
    sim_zk_send_msg(zk, c, m);
}

/* Fires the watches on path's entry in table that live on server; keeps the others. */
static void fire_path(SimZk *zk, unsigned server, GHashTable *table, const SimZkTrigger *t) {
    GArray *a = g_hash_table_lookup(table, t->path);
    if (a == NULL)
        return;
    GArray *keep = g_array_new(FALSE, TRUE, sizeof(WatchRef));
    GArray *fire = g_array_new(FALSE, TRUE, sizeof(WatchRef));
    for (guint j = 0; j < a->len; j++) {
        const WatchRef *ref = &g_array_index(a, WatchRef, j);
        int where = watch_on(zk, ref, server);
        if (where >= 0)
            g_array_append_val(where ? fire : keep, *ref);
    }
    if (keep->len > 0)
        g_hash_table_insert(table, g_strdup(t->path), keep);
    else {
        g_hash_table_remove(table, t->path);
        g_array_free(keep, TRUE);
    }
    for (guint j = 0; j < fire->len; j++)
        notify(zk, &g_array_index(fire, WatchRef, j), t->type, t->path);
    g_array_free(fire, TRUE);
}

void sim_zk_fire_triggers(SimZk *zk, unsigned server, GArray *triggers) {
    for (guint i = 0; i < triggers->len; i++) {
        const SimZkTrigger *t = &g_array_index(triggers, SimZkTrigger, i);
        fire_path(zk, server, t->child_table ? zk->child_watches : zk->data_watches, t);
    }
}
