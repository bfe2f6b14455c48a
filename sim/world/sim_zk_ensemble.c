/* sim_zk_ensemble.c - the servers of the simulated ensemble. Server 0 is the leader: its
 * replica is the tree every write is checked and committed on (zk->tree). Each follower
 * keeps its own replica and applies the commit log in zxid order after a lag (replaying
 * the logged ops gives the same tree, zxids and sequential names, since a replica starts
 * from the same state); the watches of the sessions connected to it fire as it applies.
 * Also here: the host a client connects to next, a server's refusal of a client that has
 * seen a newer zxid, the requests a client has parked at its server behind a write, and
 * the watches a client re-registers when it connects (SetWatches). The model is described
 * in sim_zk.h; the types are in sim_zk_internal.h. */
#include "sim/world/sim_zk.h"
#include "sim/world/sim_zk_internal.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_rng.h"

/* ---------------------------------------------------------------- servers */

void sim_zk_servers_init(SimZk *zk) {
    zk->n_servers = zk->cfg.servers;
    zk->servers[0].tree = zk->tree;
    for (unsigned i = 1; i < zk->n_servers; i++)
        zk->servers[i].tree = sim_zk_tree_new();
    g_queue_init(&zk->log);
}

static void entry_free(LogEntry *e) {
    for (size_t i = 0; i < e->n_ops; i++) {
        g_free((char *)e->ops[i].path);
        g_free((void *)e->ops[i].data);
    }
    g_free(e->ops);
    g_free(e);
}

void sim_zk_servers_free(SimZk *zk) {
    g_queue_clear_full(&zk->log, (GDestroyNotify)entry_free);
    for (unsigned i = 1; i < zk->n_servers; i++)
        sim_zk_tree_free(zk->servers[i].tree);
}

static int64_t server_zxid(const SimZk *zk, unsigned i) {
    return sim_zk_tree_zxid(zk->servers[i].tree);
}

/* ------------------------------------------------------------ the commit log */

static void ev_apply(SimKernel *k, void *ctx, uint64_t payload);

/* When follower i applies a commit made now: after its jittered lag (plus an injected
 * slow window), never before the commits before it. */
static uint64_t follower_due(SimZk *zk, unsigned i) {
    Server *sv = &zk->servers[i];
    uint64_t now = sim_zk_now_ns(zk);
    uint64_t lag = sim_zk_jittered(zk, zk->cfg.follower_lag_ns);
    if (now < sv->slow_until_ns)
        lag += sv->slow_extra_ns;
    sv->last_due_ns = MAX(now + lag, sv->last_due_ns);
    return sv->last_due_ns;
}

void sim_zk_log_append(SimZk *zk, int64_t zxid, int64_t owner, const RtCoordOp *ops, size_t n) {
    if (zk->n_servers == 1)
        return;
    LogEntry *e = g_new0(LogEntry, 1);
    e->zxid = zxid;
    e->owner = owner;
    e->n_ops = n;
    e->ops = g_new0(RtCoordOp, n);
    for (size_t i = 0; i < n; i++) {
        e->ops[i] = ops[i];
        e->ops[i].path = g_strdup(ops[i].path);
        e->ops[i].data = ops[i].len ? g_memdup2(ops[i].data, ops[i].len) : NULL;
    }
    g_queue_push_tail(&zk->log, e);
    for (unsigned i = 1; i < zk->n_servers; i++) {
        e->due_ns[i] = follower_due(zk, i);
        sim_kernel_schedule_at(zk->k, e->due_ns[i], ev_apply, zk, i);
    }
}

/* Follower i applies e (the next entry after its zxid) and fires its watches. */
static void replay(SimZk *zk, unsigned i, const LogEntry *e) {
    SimZkTxn *x = sim_zk_txn_begin(zk->servers[i].tree);
    for (size_t j = 0; j < e->n_ops; j++) {
        const RtCoordOp *op = &e->ops[j];
        int rc = RT_COORD_ERROR_BAD_ARGUMENTS;
        switch (op->type) {
        case RT_COORD_OP_CHECK: rc = sim_zk_txn_check(x, op->path, op->version); break;
        case RT_COORD_OP_CREATE:
            rc = sim_zk_txn_create(x, op->path, op->data, op->len, op->flags, e->owner, NULL);
            break;
        case RT_COORD_OP_SET:
            rc = sim_zk_txn_set(x, op->path, op->data, op->len, op->version, NULL);
            break;
        case RT_COORD_OP_DELETE: rc = sim_zk_txn_delete(x, op->path, op->version); break;
        }
        assert(rc == 0); /* the replica is where the leader was */
        (void)rc;
    }
    GArray *triggers = sim_zk_txn_commit(x);
    assert(server_zxid(zk, i) == e->zxid);
    sim_zk_fire_triggers(zk, i, triggers);
    sim_zk_triggers_free(triggers);
}

/* Drops the entries every follower has applied. */
static void trim_log(SimZk *zk) {
    int64_t low = INT64_MAX;
    for (unsigned i = 1; i < zk->n_servers; i++)
        low = MIN(low, server_zxid(zk, i));
    while (!g_queue_is_empty(&zk->log) && ((LogEntry *)g_queue_peek_head(&zk->log))->zxid <= low)
        entry_free(g_queue_pop_head(&zk->log));
}

/* Follower i applies its due entries (all of them when all), then serves what its
 * clients parked behind them. */
static void apply_due(SimZk *zk, unsigned i, bool all) {
    uint64_t now = sim_zk_now_ns(zk);
    bool any = false;
    for (GList *l = zk->log.head; l != NULL; l = l->next) {
        LogEntry *e = l->data;
        if (e->zxid <= server_zxid(zk, i))
            continue;
        if (!all && e->due_ns[i] > now)
            break;
        replay(zk, i, e);
        any = true;
    }
    if (!any)
        return;
    for (GTreeNode *t = g_tree_node_first(zk->clients); t; t = g_tree_node_next(t)) {
        SimZkClient *c = g_tree_node_value(t);
        if (c->link_up && c->server == i && !g_queue_is_empty(&c->parked))
            sim_zk_drain_parked(zk, c);
    }
    trim_log(zk);
}

static void ev_apply(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    apply_due(ctx, (unsigned)payload, false);
}

void sim_zk_sync_followers(SimZk *zk) {
    for (unsigned i = 1; i < zk->n_servers; i++) {
        apply_due(zk, i, true);
        zk->servers[i].last_due_ns = sim_zk_now_ns(zk);
    }
}

void sim_zk_slow_follower(SimZk *zk, unsigned server, uint64_t extra_ns, uint64_t duration_ns) {
    assert(server >= 1 && server < zk->n_servers);
    zk->servers[server].slow_extra_ns = extra_ns;
    zk->servers[server].slow_until_ns = sim_zk_now_ns(zk) + duration_ns;
}

/* ------------------------------------------------------------ connections */

bool sim_zk_server_accepts(SimZk *zk, SimZkClient *c, unsigned server) {
    return server_zxid(zk, server) >= c->last_zxid;
}

unsigned sim_zk_next_server(SimZk *zk, SimZkClient *c) {
    return (c->first_server + c->attempts++) % zk->n_servers;
}

void sim_zk_drain_parked(SimZk *zk, SimZkClient *c) {
    Session *s = sim_zk_session_get(zk, c->session_id);
    if (s == NULL || !s->alive || c->dead) {
        g_queue_clear(&c->parked);
        return;
    }
    while (!g_queue_is_empty(&c->parked)) {
        uint64_t id = GPOINTER_TO_SIZE(g_queue_peek_head(&c->parked));
        Request *r = g_hash_table_lookup(zk->requests, &id);
        if (r == NULL || r->state != REQ_SENT || r->epoch != c->epoch) {
            g_queue_pop_head(&c->parked);
            continue;
        }
        if (r->awaiting && server_zxid(zk, c->server) < c->wait_zxid)
            return;
        g_queue_pop_head(&c->parked);
        if (sim_zk_serve(zk, c, r)) {
            g_queue_push_head(&c->parked, GSIZE_TO_POINTER(r->id));
            return;
        }
    }
}

/* ---------------------------------------------------------------- watches */

static void purge_table(GHashTable *table, int64_t session_id) {
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, table);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        GArray *a = value;
        for (guint j = a->len; j-- > 0;)
            if (g_array_index(a, WatchRef, j).session_id == session_id)
                g_array_remove_index(a, j);
        if (a->len == 0)
            g_hash_table_iter_remove(&it);
    }
}

void sim_zk_purge_watches(SimZk *zk, int64_t session_id) {
    if (session_id == 0)
        return;
    purge_table(zk->data_watches, session_id);
    purge_table(zk->child_watches, session_id);
}

/* The event SetWatches fires at once for w on tree (relative to the client's last zxid),
 * or 0 when w stays registered (DataTree.setWatches). */
static RtCoordEventType set_watch_event(const SimZkTree *t, const char *full, WatchKind kind,
                                        int64_t rel) {
    RtCoordStat st;
    bool exists = sim_zk_tree_stat(t, full, &st);
    switch (kind) {
    case WATCH_DATA:
        return !exists ? RT_COORD_EVENT_DELETED
               : st.mzxid > rel ? RT_COORD_EVENT_DATA_CHANGED
                                : 0;
    case WATCH_EXIST: return exists ? RT_COORD_EVENT_CREATED : 0;
    case WATCH_CHILD:
        return !exists ? RT_COORD_EVENT_DELETED
               : st.pzxid > rel ? RT_COORD_EVENT_CHILDREN_CHANGED
                                : 0;
    }
    return 0;
}

void sim_zk_set_watches(SimZk *zk, SimZkClient *c) {
    const SimZkTree *t = zk->servers[c->server].tree;
    for (GTreeNode *n = g_tree_node_first(c->watches); n != NULL; n = g_tree_node_next(n)) {
        ClientWatch *w = g_tree_node_value(n);
        if (!w->active)
            continue;
        char *full = sim_zk_full_path(c, w->path);
        RtCoordEventType ev = set_watch_event(t, full, w->kind, c->last_zxid);
        if (ev == 0) {
            sim_zk_register_watch(zk, c, w->id, full, w->kind == WATCH_CHILD);
            g_free(full);
            continue;
        }
        Msg *m = g_new0(Msg, 1);
        m->client_id = c->id;
        m->kind = MSG_WATCH;
        m->watch_id = w->id;
        m->type = ev;
        m->path = full;
        sim_zk_send_msg(zk, c, m);
    }
}
