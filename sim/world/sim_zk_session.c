/* sim_zk_session.c - sessions and client connections of the simulated ZooKeeper ensemble
 * (see sim_zk.h for the model, sim_zk.c for the file map): session expiry, silence and end,
 * and each client handle's connection state machine (attempt, handshake, connect
 * timeout, loss detection, partition end, learning that its session expired).
 * Shared types and helpers are in sim_zk_internal.h. */
#include "sim/world/sim_zk.h"
#include "sim/world/sim_zk_internal.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_rng.h"
#include "sim/world/sim_world.h"

/* ------------------------------------------------------------ sessions */

static void ev_session_expire(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Session *s = sim_zk_session_get(zk, (int64_t)payload);
    if (s == NULL || !s->alive || !s->silent)
        return;
    s->expiry_ev = 0;
    sim_zk_session_end(zk, s, true);
}

/* The server stops hearing from the session: it expires after its timeout unless the
 * client comes back. */
void sim_zk_session_silence(SimZk *zk, Session *s) {
    if (s == NULL || !s->alive || s->silent)
        return;
    s->silent = true;
    s->expiry_ev =
        sim_kernel_schedule_in(zk->k, s->timeout_ns, ev_session_expire, zk, (uint64_t)s->id);
}

void sim_zk_session_wake(SimZk *zk, Session *s) {
    if (s == NULL || !s->silent)
        return;
    s->silent = false;
    if (s->expiry_ev != 0)
        sim_kernel_cancel(zk->k, s->expiry_ev);
    s->expiry_ev = 0;
}


/* Expiry or close: the session's ephemeral nodes go in one transaction and watches of
 * other sessions fire. A connected client is cut off by the server (it learns of the
 * expiry when it reconnects). */
void sim_zk_session_end(SimZk *zk, Session *s, bool expired) {
    sim_zk_session_wake(zk, s);
    s->alive = false;
    if (expired) {
        zk->stats.expiries++;
        sim_kernel_trace_mix(zk->k, TRACE_ZK_EXPIRE, (uint64_t)s->id);
    }
    sim_zk_purge_watches(zk, s->id);
    GPtrArray *eph = sim_zk_tree_ephemerals(zk->tree, s->id);
    if (eph->len > 0) {
        SimZkTxn *x = sim_zk_txn_begin(zk->tree);
        RtCoordOp *ops = g_new0(RtCoordOp, eph->len);
        for (guint i = 0; i < eph->len; i++) {
            ops[i] = rt_coord_op_delete(g_ptr_array_index(eph, i), RT_COORD_ANY_VERSION);
            int rc = sim_zk_txn_delete(x, ops[i].path, RT_COORD_ANY_VERSION);
            assert(rc == 0);
        }
        sim_zk_commit(zk, x, s->id, ops, eph->len);
        g_free(ops);
    }
    g_ptr_array_free(eph, TRUE);
    SimZkClient *c = sim_zk_client_get(zk, s->client_id);
    if (c == NULL || c->dead || !c->link_up)
        return;
    if (sim_zk_unreachable(zk, c))
        c->server_closed = true;
    else
        sim_zk_client_disconnect(zk, c);
}

static Session *session_new(SimZk *zk, SimZkClient *c) {
    Session *s = g_new0(Session, 1);
    s->id = ++zk->next_session;
    uint64_t lo = 2 * zk->cfg.tick_ns, hi = 20 * zk->cfg.tick_ns;
    s->timeout_ns = CLAMP(c->requested_timeout_ns, lo, hi);
    s->client_id = c->id;
    s->alive = true;
    g_tree_insert(zk->sessions, &s->id, s);
    return s;
}

/* ------------------------------------------------------- client connection */

static void ev_attempt(SimKernel *k, void *ctx, uint64_t payload);

void sim_zk_schedule_attempt(SimZk *zk, SimZkClient *c, uint64_t delay_ns) {
    if (c->attempt_scheduled)
        return;
    c->attempt_scheduled = true;
    sim_kernel_schedule_in(zk->k, delay_ns, ev_attempt, zk, c->id);
}

void sim_zk_client_disconnect(SimZk *zk, SimZkClient *c) {
    assert(c->link_up);
    c->link_up = false;
    c->server_closed = false;
    c->epoch++;
    zk->stats.disconnects++;
    g_queue_clear(&c->parked);
    sim_zk_purge_watches(zk, c->session_id);
    sim_zk_session_silence(zk, sim_zk_session_get(zk, c->session_id));
    if (c->state == RT_COORD_CONNECTED)
        sim_zk_set_state(zk, c, RT_COORD_SUSPENDED);
    sim_zk_fail_pending(zk, c, RT_COORD_ERROR_CONNECTION_LOSS, "connection lost", false);
    sim_zk_schedule_attempt(zk, c, sim_zk_retry_delay_ns(c));
}

bool sim_zk_client_alive(SimZkClient *c) {
    return c != NULL && !c->dead && c->state != RT_COORD_EXPIRED && c->state != RT_COORD_CLOSED;
}

static bool link_refused(SimZk *zk, SimZkClient *c) {
    return sim_zk_now_ns(zk) < c->drop_until_ns || sim_zk_partitioned(zk, c);
}

static void attempt_failed(SimZk *zk, SimZkClient *c) {
    sim_zk_fail_pending(zk, c, RT_COORD_ERROR_CONNECTION_LOSS, "connection attempt failed", true);
    sim_zk_schedule_attempt(zk, c, sim_zk_retry_delay_ns(c));
}

static void learn_expired(SimZk *zk, SimZkClient *c) {
    sim_zk_set_state(zk, c, RT_COORD_EXPIRED);
    sim_zk_fail_pending(zk, c, RT_COORD_ERROR_SESSION_EXPIRED, "session expired", false);
    /* Every watch set ends now, in the order it was set. */
    GPtrArray *ids = g_ptr_array_new();
    GTreeNode *n = g_tree_node_first(c->watches);
    for (; n != NULL; n = g_tree_node_next(n)) {
        ClientWatch *w = g_tree_node_value(n);
        if (!w->active)
            continue;
        Msg *m = g_new0(Msg, 1);
        m->kind = MSG_WATCH;
        m->watch_id = w->id;
        m->type = RT_COORD_EVENT_SESSION_ENDED;
        g_ptr_array_add(ids, m);
    }
    for (guint i = 0; i < ids->len; i++)
        sim_zk_post_local(zk, c, g_ptr_array_index(ids, i));
    g_ptr_array_free(ids, TRUE);
}

static void establish(SimZk *zk, SimZkClient *c, Session *s, unsigned server) {
    c->link_up = true;
    c->server = server;
    g_queue_clear(&c->parked);
    c->server_closed = false;
    c->epoch++;
    c->last_arrival_ns = c->last_reply_ns = sim_zk_now_ns(zk);
    c->ever_connected = true;
    c->timeout_ns = s->timeout_ns;
    s->client_id = c->id;
    sim_zk_session_wake(zk, s);
    sim_zk_set_state(zk, c, RT_COORD_CONNECTED);
    sim_zk_purge_watches(zk, s->id);
    sim_zk_set_watches(zk, c);
    for (GList *l = c->pending.head; l != NULL; l = l->next) {
        Request *r = l->data;
        if (r->state == REQ_UNSENT)
            sim_zk_send_request(zk, c, r);
    }
}

/* The handshake reaches server (payload: client id << 8 | server). A server behind the
 * client's last zxid refuses it ("client must try another server"). */
static void ev_handshake(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    SimZkClient *c = sim_zk_client_get(zk, payload >> 8);
    unsigned server = (unsigned)(payload & 0xff);
    if (!sim_zk_client_alive(c) || c->link_up || sim_zk_held(zk, c, ev_handshake, payload))
        return;
    if (link_refused(zk, c)) {
        attempt_failed(zk, c);
        return;
    }
    if (!sim_zk_server_accepts(zk, c, server)) {
        zk->stats.refusals++;
        attempt_failed(zk, c);
        return;
    }
    Session *s = sim_zk_session_get(zk, c->session_id);
    if (s == NULL) {
        s = session_new(zk, c);
        c->session_id = s->id;
    }
    if (!s->alive)
        learn_expired(zk, c);
    else
        establish(zk, c, s, server);
}

static void ev_attempt(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    SimZkClient *c = sim_zk_client_get(zk, payload);
    if (c == NULL || sim_zk_held(zk, c, ev_attempt, payload))
        return;
    c->attempt_scheduled = false;
    if (!sim_zk_client_alive(c) || c->link_up)
        return;
    if (link_refused(zk, c)) {
        attempt_failed(zk, c);
        return;
    }
    uint64_t rtt = 2 * sim_zk_jittered(zk, zk->cfg.net_one_way_ns) + zk->cfg.write_service_ns;
    uint64_t server = sim_zk_next_server(zk, c);
    sim_kernel_schedule_in(zk->k, rtt, ev_handshake, zk, c->id << 8 | server);
}

void sim_zk_ev_connect_timeout(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    SimZkClient *c = sim_zk_client_get(zk, payload);
    if (!sim_zk_client_alive(c) || c->ever_connected ||
        sim_zk_held(zk, c, sim_zk_ev_connect_timeout, payload))
        return;
    sim_zk_set_state(zk, c, RT_COORD_CLOSED);
    sim_zk_fail_pending(zk, c, RT_COORD_ERROR_CLOSED, "no ZooKeeper server reachable", false);
}

void sim_zk_ev_detect(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    SimZkClient *c = sim_zk_client_get(zk, payload);
    if (c == NULL || c->dead || !c->link_up || !sim_zk_partitioned(zk, c) ||
        sim_zk_held(zk, c, sim_zk_ev_detect, payload))
        return;
    uint64_t due = c->partition_since_ns + c->timeout_ns * 2 / 3;
    if (sim_zk_now_ns(zk) < due) {
        sim_kernel_schedule_at(zk->k, due, sim_zk_ev_detect, zk, c->id);
        return;
    }
    sim_zk_client_disconnect(zk, c);
}

void sim_zk_ev_partition_end(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    SimZkClient *c = sim_zk_client_get(zk, payload);
    if (c == NULL || c->dead || sim_zk_partitioned(zk, c) || !c->link_up ||
        sim_zk_held(zk, c, sim_zk_ev_partition_end, payload))
        return;
    if (c->server_closed)
        sim_zk_client_disconnect(zk, c);
    else
        sim_zk_session_wake(zk, sim_zk_session_get(zk, c->session_id));
}
