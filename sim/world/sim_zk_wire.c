/* sim_zk_wire.c - between the simulated ensemble and process code: completing requests
 * and delivering watch and session messages into process code (each the last thing its
 * kernel event does), and the network that carries requests and replies (FIFO per
 * connection, stalled by partitions, delayed by injected reply delays). The model is
 * described in sim_zk.c. */
#include "sim/world/sim_zk.h"
#include "sim/world/sim_zk_internal.h"

#include <assert.h>
#include <string.h>

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
    const char *what = r->path ? sim_zk_rel_path(c, r->path) : "";
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
            res[i].path_created = sim_zk_rel_path(c, r->created_paths[i]);
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
        r->cb.create(base, err ? NULL : sim_zk_rel_path(c, r->created), err, r->user_data);
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
        if (r->rc == 0) {
            w->active = true;
            w->kind = r->kind == REQ_CHILDREN                ? WATCH_CHILD
                      : r->kind == REQ_EXISTS && !r->has_stat ? WATCH_EXIST
                                                              : WATCH_DATA;
        } else
            g_tree_remove(c->watches, &r->watch_id);
    }
    invoke_request(zk, c, r);
    sim_zk_request_free(r);
}

static void ev_complete(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Request *r = g_hash_table_lookup(zk->requests, &payload);
    if (r == NULL)
        return;
    SimZkClient *c = sim_zk_client_get(zk, r->client_id);
    assert(c != NULL);
    if (c->dead || sim_zk_held(zk, c, ev_complete, payload))
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
    char *path = g_strdup(m->local ? w->path : sim_zk_rel_path(c, m->path));
    g_tree_remove(c->watches, &m->watch_id);
    sim_host_enter(zk->host, pid);
    watch.func(&c->base, m->type, path, watch.user_data);
    sim_host_leave(zk->host, pid);
    g_free(path);
}

static void ev_msg(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Msg *m = g_hash_table_lookup(zk->msgs, &payload);
    if (m == NULL)
        return;
    SimZkClient *c = sim_zk_client_get(zk, m->client_id);
    if (c != NULL && !c->dead && sim_zk_held(zk, c, ev_msg, payload))
        return;
    g_hash_table_steal(zk->msgs, &payload);
    if (c == NULL || c->dead) {
        sim_zk_msg_free(m);
        return;
    }
    if (!m->local && m->epoch != c->epoch) {
        /* The connection died under it: lost. The watch is still set on the client,
         * which re-registers it on its next connection (sim_zk_set_watches). */
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
    sim_kernel_schedule_at(zk->k, at, sim_zk_ev_arrive, zk, r->id);
}

/* Server -> client: replies and watch events share one FIFO stream. */
uint64_t sim_zk_reply_time(SimZk *zk, SimZkClient *c, uint64_t service_ns) {
    uint64_t at = link_time(zk, c) + service_ns + sim_zk_jittered(zk, zk->cfg.net_one_way_ns) +
                  sim_zk_extra_delay(zk, c);
    at = MAX(at, c->last_reply_ns);
    c->last_reply_ns = at;
    return at;
}

void sim_zk_send_msg(SimZk *zk, SimZkClient *c, Msg *m) {
    if (m->id == 0)
        m->id = ++zk->next_id;
    m->epoch = c->epoch;
    g_hash_table_insert(zk->msgs, &m->id, m);
    sim_kernel_schedule_at(zk->k, sim_zk_reply_time(zk, c, 0), ev_msg, zk, m->id);
}

void sim_zk_ev_reply(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Request *r = g_hash_table_lookup(zk->requests, &payload);
    if (r == NULL || r->state != REQ_SENT)
        return;
    SimZkClient *c = sim_zk_client_get(zk, r->client_id);
    if (c->dead || r->epoch != c->epoch || sim_zk_held(zk, c, sim_zk_ev_reply, payload))
        return;
    if (sim_zk_partitioned(zk, c)) {
        sim_kernel_schedule_at(zk->k, sim_zk_reply_time(zk, c, 0), sim_zk_ev_reply, zk, r->id);
        return;
    }
    c->last_zxid = MAX(c->last_zxid, r->reply_zxid);
    complete_request(zk, c, r);
}
