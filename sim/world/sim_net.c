/* sim_net.c - the simulated network (see sim_net.h for the model).
 *
 * Data layout. A SimConn holds both ends and both directions in one allocation; an
 * end embeds the RtChannel base first, so the runtime's RtChannel pointer is the end.
 * A direction is an intrusive singly linked FIFO of SimMsg (payload inline); small
 * messages come from a bounded freelist. Only the head of a direction has a kernel
 * event: dispatching it delivers the head and schedules the next, so FIFO needs no
 * sorting and a stalled head stalls everything behind it.
 *
 * A SimConn lives while one of its ends is held by runtime code or a callback into it
 * is running (busy); conn_maybe_free() reclaims it, cancelling its pending events.
 *
 * This file holds the configuration, the shared helpers (faults, the message freelist,
 * links), the network's lifecycle and processes, and the RtTransport ops. The channel
 * plumbing (directions, ends and connections) is in sim_net_conn.c; partitions, delay
 * spikes, link latency overrides and the statistics in sim_net_faults.c; the latency
 * models (sim_latency_*) in sim_latency.c. Types shared by these files are in
 * sim_net_internal.h.
 */
#include "sim/world/sim_net.h"
#include "sim/world/sim_net_internal.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"

/* Bit-exact arithmetic: never fuse a * b + c into an FMA. clang's default allows it;
 * gcc in ISO C mode (-std=c11) already does not contract, and warns on the pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

G_DEFINE_QUARK(sim-net-error-quark, sim_net_error)

static const RtTransportOps sim_net_ops;

void sim_net_config_init(SimNetConfig *cfg) {
    assert(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->latency = sim_latency_lognormal(200000, 0.5, 50000, 20000000);
    cfg->detection_delay_ns = 100000000;
    cfg->break_timeout_ns = 2000000000;
    cfg->max_queued_msgs = 1000000;
    cfg->max_queued_bytes = (uint64_t)256 << 20;
    cfg->nonfifo_probability = 0.2;
}

/* ------------------------------------------------------------- helpers */

uint64_t sim_net_add_sat(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static gint sim_cmp_u64(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static gint sim_cmp_uint_ptr(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y ? -1 : x > y;
}

void sim_net_fault(SimNet *net, RtProcessId pid, const char *detail) {
    sim_kernel_trace_mix(net->k, SIM_TRACE_FAULT, rt_hash_str(detail) ^ pid);
    if (net->observer == NULL)
        return;
    RtEvent ev = {.kind = RT_EV_WORLD_FAULT, .process = pid,
                  .time_ns = sim_kernel_now_ns(net->k), .detail = detail};
    net->observer->ops->event(net->observer, &ev);
}

SimMsg *sim_net_msg_new(SimNet *net, SimMsgKind kind, const void *data, size_t len) {
    SimMsg *m;
    if (len <= SIM_NET_SMALL_MSG && net->free_msgs != NULL) {
        m = net->free_msgs;
        net->free_msgs = m->next;
        net->free_count--;
    } else {
        size_t cap = len <= SIM_NET_SMALL_MSG ? SIM_NET_SMALL_MSG : len;
        m = g_malloc(sizeof *m + cap);
        m->cap = len <= SIM_NET_SMALL_MSG ? SIM_NET_SMALL_MSG : 0;
    }
    m->next = NULL;
    m->due_ns = 0;
    m->len = len;
    m->kind = kind;
    if (len > 0)
        memcpy(m->data, data, len);
    return m;
}

void sim_net_msg_release(SimNet *net, SimMsg *m) {
    if (m->cap == SIM_NET_SMALL_MSG && net->free_count < SIM_NET_FREELIST_MAX) {
        m->next = net->free_msgs;
        net->free_msgs = m;
        net->free_count++;
    } else {
        g_free(m);
    }
}

SimLink *sim_net_link(SimNet *net, RtProcessId from, RtProcessId to) {
    uint64_t key = (uint64_t)from << 32 | to;
    SimLink *l = g_tree_lookup(net->links, &key);
    if (l != NULL)
        return l;
    l = g_new0(SimLink, 1);
    l->key = key;
    char name[64];
    g_snprintf(name, sizeof name, "net.latency/%u/%u", from, to);
    rt_rng_seed_stream(&l->rng, net->seed, name);
    g_tree_insert(net->links, &l->key, l);
    return l;
}

/* ------------------------------------------------------------- transport ops */

static SimEnd *sim_end_of(RtChannel *ch) {
    assert(ch != NULL && ch->transport != NULL && ch->transport->ops == &sim_net_ops);
    SimEnd *e = (SimEnd *)ch;
    assert(e->state != SIM_END_RELEASED && e->state != SIM_END_NONE);
    return e;
}

static bool sim_net_listen(RtTransport *self, uint32_t port, RtAcceptFunc accept,
                           void *user_data, GError **error) {
    SimNode *node = (SimNode *)self;
    assert(node->up);
    if (g_tree_lookup(node->listeners, GUINT_TO_POINTER(port)) != NULL) {
        g_set_error(error, SIM_NET_ERROR, 1, "process %u already listens on port %u",
                    node->pid, port);
        return false;
    }
    SimListener *l = g_new0(SimListener, 1);
    l->accept = accept;
    l->ud = user_data;
    g_tree_insert(node->listeners, GUINT_TO_POINTER(port), l);
    return true;
}

static void sim_net_unlisten(RtTransport *self, uint32_t port) {
    SimNode *node = (SimNode *)self;
    g_tree_remove(node->listeners, GUINT_TO_POINTER(port));
}

static RtChannel *sim_net_connect(RtTransport *self, RtProcessId peer, uint32_t port,
                                  const RtChannelHandler *handler, void *user_data,
                                  GError **error) {
    SimNode *node = (SimNode *)self;
    SimNet *net = node->net;
    if (peer >= SIM_NET_MAX_PROCESSES) {
        g_set_error(error, SIM_NET_ERROR, 2, "no process %u (at most %u)", peer,
                    SIM_NET_MAX_PROCESSES);
        return NULL;
    }
    SimConn *c = g_new0(SimConn, 1);
    c->net = net;
    c->id = ++net->next_conn_id;
    c->port = port;
    for (uint32_t i = 0; i < 2; i++) {
        c->ends[i].base.transport = &node->base; /* same ops table for both ends */
        c->ends[i].conn = c;
        c->ends[i].side = i;
        c->dirs[i].stall_since_ns = SIM_NET_NOT_STALLED;
    }
    c->ends[0].pid = node->pid;
    c->ends[0].state = SIM_END_OPEN;
    c->ends[0].handler = handler;
    c->ends[0].ud = user_data;
    c->ends[1].pid = peer;
    c->ends[1].state = SIM_END_NONE;
    c->links[0] = sim_net_link(net, node->pid, peer);
    c->links[1] = sim_net_link(net, peer, node->pid);
    g_tree_insert(net->conns, &c->id, c);
    sim_net_dir_push(c, 0, sim_net_msg_new(net, SIM_MSG_CONNECT, NULL, 0));
    return &c->ends[0].base;
}

static void sim_net_set_handler(RtChannel *ch, const RtChannelHandler *handler,
                                void *user_data) {
    SimEnd *e = sim_end_of(ch);
    e->handler = handler;
    e->ud = user_data;
}

static bool sim_net_send(RtChannel *ch, const void *data, size_t len) {
    SimEnd *e = sim_end_of(ch);
    SimConn *c = e->conn;
    SimNet *net = c->net;
    SimLink *l = c->links[e->side];
    if (e->state == SIM_END_BROKEN)
        return false;
    if (e->state == SIM_END_BREAKING) { /* broken, but the sender does not know yet */
        l->stats.msgs_dropped++;
        return true;
    }
    SimDir *d = &c->dirs[e->side];
    if (d->count >= net->cfg.max_queued_msgs || d->bytes + len > net->cfg.max_queued_bytes) {
        sim_net_fault(net, e->pid, "net: channel queue bound exceeded, channel broken");
        l->stats.msgs_dropped++;
        sim_net_conn_break(c, sim_net_add_sat(sim_kernel_now_ns(net->k),
                                              net->cfg.detection_delay_ns));
        return true;
    }
    if (net->notify_rules != NULL && sim_net_notify_intercept(net, c, e->side, data, len))
        return true; /* a notification fault took the message (sim_net_notify.c) */
    l->stats.msgs_sent++;
    l->stats.bytes_sent += len;
    sim_net_dir_push(c, e->side, sim_net_msg_new(net, SIM_MSG_DATA, data, len));
    return true;
}

static void sim_net_channel_free(RtChannel *ch) {
    SimEnd *e = sim_end_of(ch);
    SimConn *c = e->conn;
    SimEnd *peer = &c->ends[1 - e->side];
    SimEndState was = e->state;
    if (e->notify_ev != 0) {
        sim_kernel_cancel(c->net->k, e->notify_ev);
        e->notify_ev = 0;
    }
    e->state = SIM_END_RELEASED;
    /* Graceful close of an open channel: the peer hears after what was sent before. */
    if (was == SIM_END_OPEN && (peer->state == SIM_END_OPEN || peer->state == SIM_END_NONE))
        sim_net_dir_push(c, e->side, sim_net_msg_new(c->net, SIM_MSG_FIN, NULL, 0));
    sim_net_conn_maybe_free(c);
}

static RtProcessId sim_net_peer(RtChannel *ch) {
    SimEnd *e = sim_end_of(ch);
    return e->conn->ends[1 - e->side].pid;
}

static const RtTransportOps sim_net_ops = {
    .name = "sim",
    .listen = sim_net_listen,
    .unlisten = sim_net_unlisten,
    .connect = sim_net_connect,
    .set_handler = sim_net_set_handler,
    .send = sim_net_send,
    .free = sim_net_channel_free,
    .peer = sim_net_peer,
};

/* ------------------------------------------------------------- public API */

SimNet *sim_net_new(SimKernel *k, uint64_t seed, uint64_t bugs, const SimNetConfig *cfg,
                    const SimHost *host, RtObserver *observer) {
    assert(k != NULL && cfg != NULL);
    assert(cfg->max_queued_msgs > 0 && cfg->max_queued_bytes > 0);
    SimNet *net = g_new0(SimNet, 1);
    net->k = k;
    net->seed = seed;
    net->bugs = bugs;
    net->cfg = *cfg;
    net->host = host;
    net->observer = observer;
    rt_rng_seed_stream(&net->bug_rng, seed, "net.nonfifo");
    net->conns = g_tree_new_full(sim_cmp_u64, NULL, NULL, NULL);
    net->links = g_tree_new_full(sim_cmp_u64, NULL, NULL, g_free);
    net->partitions = g_array_new(FALSE, TRUE, sizeof(SimPartition));
    net->spikes = g_array_new(FALSE, TRUE, sizeof(SimSpike));
    net->prune_at_ns = UINT64_MAX;
    return net;
}

static gboolean sim_collect_conn(gpointer key, gpointer value, gpointer ud) {
    (void)key;
    g_ptr_array_add(ud, value);
    return FALSE;
}

/* The connections, in creation order (a snapshot: safe to modify the tree after). */
GPtrArray *sim_net_conns_sorted(SimNet *net) {
    GPtrArray *a = g_ptr_array_sized_new((guint)g_tree_nnodes(net->conns));
    g_tree_foreach(net->conns, sim_collect_conn, a);
    return a;
}

void sim_net_free(SimNet *net) {
    if (net == NULL)
        return;
    sim_net_notify_free(net);
    GPtrArray *all = sim_net_conns_sorted(net);
    for (guint i = 0; i < all->len; i++) {
        SimConn *c = all->pdata[i];
        for (uint32_t s = 0; s < 2; s++) {
            sim_net_dir_purge(c, s);
            if (c->ends[s].notify_ev != 0)
                sim_kernel_cancel(net->k, c->ends[s].notify_ev);
        }
        g_free(c);
    }
    g_ptr_array_free(all, TRUE);
    g_tree_destroy(net->conns);
    g_tree_destroy(net->links);
    for (uint32_t i = 0; i < SIM_NET_MAX_PROCESSES; i++) {
        if (net->nodes[i] != NULL) {
            g_tree_destroy(net->nodes[i]->listeners);
            g_free(net->nodes[i]);
        }
    }
    while (net->free_msgs != NULL) {
        SimMsg *m = net->free_msgs;
        net->free_msgs = m->next;
        g_free(m);
    }
    g_array_free(net->partitions, TRUE);
    g_array_free(net->spikes, TRUE);
    g_free(net);
}

static SimNode *sim_net_node(SimNet *net, RtProcessId pid) {
    assert(pid < SIM_NET_MAX_PROCESSES);
    if (net->nodes[pid] == NULL) {
        SimNode *n = g_new0(SimNode, 1);
        n->base.ops = &sim_net_ops;
        n->net = net;
        n->pid = pid;
        n->listeners = g_tree_new_full(sim_cmp_uint_ptr, NULL, NULL, g_free);
        net->nodes[pid] = n;
    }
    return net->nodes[pid];
}

RtTransport *sim_net_transport(SimNet *net, RtProcessId pid) {
    return &sim_net_node(net, pid)->base;
}

void sim_net_process_up(SimNet *net, RtProcessId pid) {
    sim_net_node(net, pid)->up = true;
}

bool sim_net_process_is_up(const SimNet *net, RtProcessId pid) {
    return pid < SIM_NET_MAX_PROCESSES && net->nodes[pid] != NULL && net->nodes[pid]->up;
}

void sim_net_process_down(SimNet *net, RtProcessId pid) {
    SimNode *node = sim_net_node(net, pid);
    node->up = false;
    g_tree_destroy(node->listeners);
    node->listeners = g_tree_new_full(sim_cmp_uint_ptr, NULL, NULL, g_free);
    uint64_t notify = sim_net_add_sat(sim_kernel_now_ns(net->k), net->cfg.detection_delay_ns);
    GPtrArray *all = sim_net_conns_sorted(net);
    for (guint i = 0; i < all->len; i++) {
        SimConn *c = all->pdata[i];
        bool mine0 = c->ends[0].pid == pid, mine1 = c->ends[1].pid == pid;
        if (!mine0 && !mine1)
            continue;
        if (mine1 && c->ends[1].state == SIM_END_NONE && !mine0)
            continue; /* a connect to pid still in flight: refused when it arrives */
        sim_net_conn_break(c, notify);
        for (uint32_t s = 0; s < 2; s++) {
            SimEnd *e = &c->ends[s];
            if (e->pid != pid)
                continue;
            if (e->notify_ev != 0) {
                sim_kernel_cancel(net->k, e->notify_ev);
                e->notify_ev = 0;
            }
            e->state = SIM_END_RELEASED; /* reclaimed: the dead code held it */
        }
        sim_net_conn_maybe_free(c);
    }
    g_ptr_array_free(all, TRUE);
}
