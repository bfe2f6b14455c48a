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
 * The latency models (sim_latency_*) live in sim_latency.c.
 */
#include "sim/world/sim_net.h"

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

#define SIM_NET_SMALL_MSG 256u       /* payload capacity of freelist messages */
#define SIM_NET_FREELIST_MAX 4096u   /* freelist bound */
#define SIM_NET_NOT_STALLED UINT64_MAX

G_DEFINE_QUARK(sim-net-error-quark, sim_net_error)

typedef enum SimMsgKind { SIM_MSG_CONNECT, SIM_MSG_DATA, SIM_MSG_FIN } SimMsgKind;

typedef struct SimMsg {
    struct SimMsg *next;
    uint64_t due_ns;      /* delivery time */
    size_t len;           /* payload bytes */
    uint32_t kind;        /* SimMsgKind */
    uint32_t cap;         /* payload capacity: SIM_NET_SMALL_MSG for freelist messages */
    unsigned char data[]; /* payload */
} SimMsg;

typedef struct SimDir {
    SimMsg *head, *tail;
    uint32_t count;          /* messages queued */
    uint64_t bytes;          /* payload bytes queued */
    uint64_t last_due_ns;    /* due time of the last FIFO-enqueued message (the clamp) */
    uint64_t stall_since_ns; /* when the head first stalled, or SIM_NET_NOT_STALLED */
    SimEventId ev;           /* the head's kernel event, 0 when none */
} SimDir;

typedef enum SimEndState {
    SIM_END_NONE,     /* acceptor end not created yet (connect request in flight) */
    SIM_END_OPEN,     /* held by runtime code, working */
    SIM_END_BREAKING, /* broken; on_broken scheduled at notify_ev */
    SIM_END_BROKEN,   /* on_broken delivered; waiting for rt_channel_free */
    SIM_END_RELEASED, /* freed by its owner or reclaimed by a crash; never used again */
} SimEndState;

typedef struct SimConn SimConn;
typedef struct SimEnd {
    RtChannel base; /* first: the runtime's RtChannel * is this end */
    SimConn *conn;
    uint32_t side;  /* 0 connector, 1 acceptor */
    RtProcessId pid;
    SimEndState state;
    const RtChannelHandler *handler;
    void *ud;
    SimEventId notify_ev; /* pending on_broken, 0 when none */
} SimEnd;

typedef struct SimLink {
    uint64_t key; /* from << 32 | to: the tree key points here */
    RtRng rng;    /* stream "net.latency/from/to" */
    bool has_override;
    SimLatency latency;
    SimNetLinkStats stats;
} SimLink;

struct SimConn {
    SimNet *net;
    uint64_t id;       /* creation order, from 1 */
    uint32_t port;
    SimEnd ends[2];    /* [0] connector, [1] acceptor */
    SimDir dirs[2];    /* dirs[i] carries from ends[i] to ends[1 - i] */
    SimLink *links[2]; /* links[i]: from ends[i].pid to ends[1 - i].pid */
    uint32_t busy;     /* callbacks into runtime code in progress */
};

typedef struct SimListener {
    RtAcceptFunc accept;
    void *ud;
} SimListener;

typedef struct SimNode {
    RtTransport base; /* first */
    SimNet *net;
    RtProcessId pid;
    bool up;
    GTree *listeners; /* port (as pointer) -> SimListener* */
} SimNode;

typedef struct SimPartition {
    RtProcessId a, b; /* b == SIM_NET_ANY isolates a */
    uint64_t t0_ns, t1_ns;
} SimPartition;

typedef struct SimSpike {
    RtProcessId from, to;
    uint64_t t0_ns, t1_ns, extra_ns;
} SimSpike;

struct SimNet {
    SimKernel *k;
    uint64_t seed;
    uint64_t bugs;
    SimNetConfig cfg;
    const SimHost *host;
    RtObserver *observer;
    RtRng bug_rng;              /* stream "net.nonfifo" */
    SimNode *nodes[SIM_NET_MAX_PROCESSES];
    GTree *conns;               /* id (uint64 *) -> SimConn*, creation order */
    uint64_t next_conn_id;
    GTree *links;               /* key (uint64 *) -> SimLink* */
    GArray *partitions;         /* SimPartition, not yet over (pruned) */
    uint64_t partitions_end_ns; /* max t1 over partitions: fast path */
    GArray *spikes;             /* SimSpike, not yet over (pruned) */
    uint64_t spikes_end_ns;
    uint64_t prune_at_ns;       /* min t1 over both: the next prune is due then */
    SimMsg *free_msgs;
    uint32_t free_count;
};

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

static uint64_t sim_add_sat(uint64_t a, uint64_t b) {
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

static void sim_net_fault(SimNet *net, RtProcessId pid, const char *detail) {
    sim_kernel_trace_mix(net->k, SIM_TRACE_FAULT, rt_hash_str(detail) ^ pid);
    if (net->observer == NULL)
        return;
    RtEvent ev = {.kind = RT_EV_WORLD_FAULT, .process = pid,
                  .time_ns = sim_kernel_now_ns(net->k), .detail = detail};
    net->observer->ops->event(net->observer, &ev);
}

static SimMsg *sim_msg_new(SimNet *net, SimMsgKind kind, const void *data, size_t len) {
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

static void sim_msg_release(SimNet *net, SimMsg *m) {
    if (m->cap == SIM_NET_SMALL_MSG && net->free_count < SIM_NET_FREELIST_MAX) {
        m->next = net->free_msgs;
        net->free_msgs = m;
        net->free_count++;
    } else {
        g_free(m);
    }
}

static SimLink *sim_net_link(SimNet *net, RtProcessId from, RtProcessId to) {
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

static bool sim_partition_crosses(const SimPartition *p, RtProcessId x, RtProcessId y) {
    if (x == y)
        return false;
    if (p->b == SIM_NET_ANY)
        return (x == p->a) != (y == p->a);
    return (x == p->a && y == p->b) || (x == p->b && y == p->a);
}

bool sim_net_partitioned(const SimNet *net, RtProcessId from, RtProcessId to, uint64_t t_ns) {
    if (t_ns >= net->partitions_end_ns)
        return false;
    for (guint i = 0; i < net->partitions->len; i++) {
        const SimPartition *p = &g_array_index(net->partitions, SimPartition, i);
        if (p->t0_ns <= t_ns && t_ns < p->t1_ns && sim_partition_crosses(p, from, to))
            return true;
    }
    return false;
}

/* The first time >= t_ns at which from -> to is not partitioned. */
static uint64_t sim_net_heal_time(const SimNet *net, RtProcessId from, RtProcessId to,
                                  uint64_t t_ns) {
    uint64_t h = t_ns;
    for (guint round = 0; round <= net->partitions->len; round++) {
        bool moved = false;
        for (guint i = 0; i < net->partitions->len; i++) {
            const SimPartition *p = &g_array_index(net->partitions, SimPartition, i);
            if (p->t0_ns <= h && h < p->t1_ns && sim_partition_crosses(p, from, to)) {
                h = p->t1_ns;
                moved = true;
            }
        }
        if (!moved)
            return h;
    }
    return h;
}

static uint64_t sim_net_spike_ns(const SimNet *net, RtProcessId from, RtProcessId to,
                                 uint64_t t_ns) {
    if (t_ns >= net->spikes_end_ns)
        return 0;
    uint64_t extra = 0;
    for (guint i = 0; i < net->spikes->len; i++) {
        const SimSpike *s = &g_array_index(net->spikes, SimSpike, i);
        if (s->t0_ns <= t_ns && t_ns < s->t1_ns && (s->from == SIM_NET_ANY || s->from == from) &&
            (s->to == SIM_NET_ANY || s->to == to))
            extra = sim_add_sat(extra, s->extra_ns);
    }
    return extra;
}

/* Drops partitions and spikes that are over (time only moves forward). */
static void sim_net_prune(SimNet *net, uint64_t now) {
    if (now < net->prune_at_ns)
        return;
    uint64_t next = UINT64_MAX;
    for (guint i = net->partitions->len; i-- > 0;) {
        uint64_t t1 = g_array_index(net->partitions, SimPartition, i).t1_ns;
        if (t1 <= now)
            g_array_remove_index(net->partitions, i); /* keeps order */
        else if (t1 < next)
            next = t1;
    }
    for (guint i = net->spikes->len; i-- > 0;) {
        uint64_t t1 = g_array_index(net->spikes, SimSpike, i).t1_ns;
        if (t1 <= now)
            g_array_remove_index(net->spikes, i);
        else if (t1 < next)
            next = t1;
    }
    net->prune_at_ns = next;
}

/* ------------------------------------------------------------- directions */

static void sim_dir_fire(SimKernel *k, void *ctx, uint64_t side);

static void sim_dir_schedule(SimConn *c, uint32_t side) {
    SimDir *d = &c->dirs[side];
    if (d->ev != 0 || d->head == NULL)
        return;
    uint64_t now = sim_kernel_now_ns(c->net->k);
    uint64_t t = d->head->due_ns > now ? d->head->due_ns : now;
    d->ev = sim_kernel_schedule_at(c->net->k, t, sim_dir_fire, c, side);
}

/* Drops every queued message of a direction (counted as dropped on its link). */
static void sim_dir_purge(SimConn *c, uint32_t side) {
    SimDir *d = &c->dirs[side];
    if (d->ev != 0) {
        sim_kernel_cancel(c->net->k, d->ev);
        d->ev = 0;
    }
    for (uint32_t i = 0; d->head != NULL; i++) {
        assert(i <= c->net->cfg.max_queued_msgs + 2u);
        SimMsg *m = d->head;
        d->head = m->next;
        if (m->kind == SIM_MSG_DATA) {
            c->links[side]->stats.msgs_dropped++;
            sim_kernel_trace_mix(c->net->k, SIM_TRACE_NET_DROP, c->id * 2 + side);
        }
        sim_msg_release(c->net, m);
    }
    d->tail = NULL;
    d->count = 0;
    d->bytes = 0;
    d->stall_since_ns = SIM_NET_NOT_STALLED;
}

/* Inserts m by due time (the planted non-FIFO bug), never ahead of a connect request. */
static void sim_dir_insert_unordered(SimConn *c, uint32_t side, SimMsg *m) {
    SimDir *d = &c->dirs[side];
    SimMsg **pp = &d->head;
    while (*pp != NULL && ((*pp)->kind != SIM_MSG_DATA || (*pp)->due_ns <= m->due_ns))
        pp = &(*pp)->next;
    m->next = *pp;
    if (*pp == NULL)
        d->tail = m;
    if (pp == &d->head && d->ev != 0) { /* new head: its event replaces the old head's */
        sim_kernel_cancel(c->net->k, d->ev);
        d->ev = 0;
    }
    *pp = m;
}

/* Queues m on direction side: due = now + latency + spikes, FIFO-clamped. */
static void sim_dir_push(SimConn *c, uint32_t side, SimMsg *m) {
    SimNet *net = c->net;
    SimDir *d = &c->dirs[side];
    SimLink *l = c->links[side];
    uint64_t now = sim_kernel_now_ns(net->k);
    sim_net_prune(net, now);
    const SimLatency *lat = l->has_override ? &l->latency : &net->cfg.latency;
    uint64_t due = sim_add_sat(now, sim_latency_sample(lat, &l->rng));
    due = sim_add_sat(due, sim_net_spike_ns(net, c->ends[side].pid, c->ends[1 - side].pid, now));
    if (m->kind == SIM_MSG_FIN) {
        uint64_t min_due = sim_add_sat(now, net->cfg.detection_delay_ns);
        due = due > min_due ? due : min_due;
    }
    m->due_ns = due;
    if (m->kind == SIM_MSG_DATA && due < d->last_due_ns && d->head != NULL &&
        rt_bug_on(net, RT_BUG_NONFIFO_NETWORK) &&
        rt_rng_chance(&net->bug_rng, net->cfg.nonfifo_probability)) {
        sim_dir_insert_unordered(c, side, m);
    } else {
        if (due < d->last_due_ns)
            m->due_ns = d->last_due_ns;
        d->last_due_ns = m->due_ns;
        if (d->tail != NULL)
            d->tail->next = m;
        else
            d->head = m;
        d->tail = m;
    }
    d->count++;
    d->bytes += m->len;
    sim_dir_schedule(c, side);
}

/* ------------------------------------------------------------- ends and conns */

static void sim_end_notify_fire(SimKernel *k, void *ctx, uint64_t side);

static void sim_conn_maybe_free(SimConn *c) {
    if (c->busy > 0)
        return;
    for (int i = 0; i < 2; i++)
        if (c->ends[i].state != SIM_END_NONE && c->ends[i].state != SIM_END_RELEASED)
            return;
    /* A connect still in flight: the acceptor will get it, the data and the close. */
    if (c->ends[1].state == SIM_END_NONE && c->dirs[0].head != NULL &&
        c->dirs[0].head->kind == SIM_MSG_CONNECT)
        return;
    SimNet *net = c->net;
    for (uint32_t i = 0; i < 2; i++) {
        sim_dir_purge(c, i);
        if (c->ends[i].notify_ev != 0)
            sim_kernel_cancel(net->k, c->ends[i].notify_ev);
    }
    g_tree_remove(net->conns, &c->id);
    g_free(c);
}

/* Schedules on_broken for end side at notify_ns, if the end is open. */
static void sim_end_break_at(SimConn *c, uint32_t side, uint64_t notify_ns) {
    SimEnd *e = &c->ends[side];
    if (e->state == SIM_END_NONE) {
        e->state = SIM_END_RELEASED; /* the acceptor end will never exist */
        return;
    }
    if (e->state != SIM_END_OPEN)
        return;
    e->state = SIM_END_BREAKING;
    e->notify_ev = sim_kernel_schedule_at(c->net->k, notify_ns, sim_end_notify_fire, c, side);
}

/* Breaks c abruptly: both directions emptied, open ends told at notify_ns. */
static void sim_conn_break(SimConn *c, uint64_t notify_ns) {
    sim_kernel_trace_mix(c->net->k, SIM_TRACE_NET_BROKEN, c->id);
    for (uint32_t i = 0; i < 2; i++)
        sim_dir_purge(c, i);
    for (uint32_t i = 0; i < 2; i++)
        sim_end_break_at(c, i, notify_ns);
}

/* Runs on_broken of an open or breaking end, now. */
static void sim_end_fire_broken(SimConn *c, uint32_t side) {
    SimEnd *e = &c->ends[side];
    assert(e->state == SIM_END_OPEN || e->state == SIM_END_BREAKING);
    if (e->notify_ev != 0) {
        sim_kernel_cancel(c->net->k, e->notify_ev);
        e->notify_ev = 0;
    }
    e->state = SIM_END_BROKEN;
    sim_kernel_trace_mix(c->net->k, SIM_TRACE_NET_BROKEN, c->id * 2 + side);
    c->busy++;
    sim_host_enter(c->net->host, e->pid);
    e->handler->on_broken(&e->base, e->ud);
    sim_host_leave(c->net->host, e->pid);
    c->busy--;
}

static void sim_end_notify_fire(SimKernel *k, void *ctx, uint64_t side) {
    (void)k;
    SimConn *c = ctx;
    assert(side < 2);
    c->ends[side].notify_ev = 0;
    if (c->ends[side].state == SIM_END_BREAKING)
        sim_end_fire_broken(c, (uint32_t)side);
    sim_conn_maybe_free(c);
}

/* The connect request reached the acceptor's process. */
static void sim_conn_arrive(SimConn *c) {
    SimNet *net = c->net;
    SimEnd *a = &c->ends[1];
    SimNode *node = net->nodes[a->pid];
    SimListener *l = NULL;
    if (node != NULL && node->up)
        l = g_tree_lookup(node->listeners, GUINT_TO_POINTER(c->port));
    if (l == NULL) { /* refused: dead or not listening */
        a->state = SIM_END_RELEASED;
        sim_dir_purge(c, 0);
        uint64_t now = sim_kernel_now_ns(net->k);
        sim_end_break_at(c, 0, sim_add_sat(now, net->cfg.detection_delay_ns));
        sim_kernel_trace_mix(net->k, SIM_TRACE_NET_ACCEPT, c->id * 2);
        return;
    }
    a->state = SIM_END_OPEN;
    sim_kernel_trace_mix(net->k, SIM_TRACE_NET_ACCEPT,
                         c->id * 2 + 1 + rt_mix64((uint64_t)c->ends[0].pid << 32 | a->pid));
    sim_host_enter(net->host, a->pid);
    l->accept(&a->base, c->ends[0].pid, l->ud);
    sim_host_leave(net->host, a->pid);
    /* rt_env.h: accept must set a handler or free the channel. */
    assert(a->state != SIM_END_OPEN || a->handler != NULL);
}

static void sim_conn_deliver(SimConn *c, uint32_t side, SimMsg *m) {
    SimNet *net = c->net;
    SimEnd *dst = &c->ends[1 - side];
    switch ((SimMsgKind)m->kind) {
    case SIM_MSG_CONNECT: sim_conn_arrive(c); return;
    case SIM_MSG_FIN:
        if (dst->state == SIM_END_OPEN || dst->state == SIM_END_BREAKING)
            sim_end_fire_broken(c, 1 - side);
        return;
    case SIM_MSG_DATA: break;
    }
    if (dst->state != SIM_END_OPEN) {
        c->links[side]->stats.msgs_dropped++;
        sim_kernel_trace_mix(net->k, SIM_TRACE_NET_DROP, c->id * 2 + side);
        return;
    }
    c->links[side]->stats.msgs_delivered++;
    c->links[side]->stats.bytes_delivered += m->len;
    sim_kernel_trace_mix(net->k, SIM_TRACE_NET_DELIVER,
                         rt_mix64(c->id * 2 + side) ^ sim_hash_bytes(m->data, m->len));
    sim_host_enter(net->host, dst->pid);
    dst->handler->on_message(&dst->base, m->data, m->len, dst->ud);
    sim_host_leave(net->host, dst->pid);
}

/* The head of direction side is due: deliver it, or stall it behind a partition. */
static void sim_dir_fire(SimKernel *k, void *ctx, uint64_t side64) {
    SimConn *c = ctx;
    SimNet *net = c->net;
    uint32_t side = (uint32_t)side64;
    SimDir *d = &c->dirs[side];
    d->ev = 0;
    SimMsg *m = d->head;
    assert(m != NULL && side < 2);
    uint64_t now = sim_kernel_now_ns(k);
    sim_net_prune(net, now);
    RtProcessId from = c->ends[side].pid, to = c->ends[1 - side].pid;
    if (sim_net_partitioned(net, from, to, now)) {
        if (d->stall_since_ns == SIM_NET_NOT_STALLED)
            d->stall_since_ns = now;
        uint64_t limit = sim_add_sat(d->stall_since_ns, net->cfg.break_timeout_ns);
        if (now >= limit) {
            sim_net_fault(net, from, "net: channel stalled past the break timeout");
            sim_conn_break(c, now);
            sim_conn_maybe_free(c);
            return;
        }
        uint64_t heal = sim_net_heal_time(net, from, to, now);
        d->ev = sim_kernel_schedule_at(k, heal < limit ? heal : limit, sim_dir_fire, c, side);
        return;
    }
    d->stall_since_ns = SIM_NET_NOT_STALLED;
    d->head = m->next;
    if (d->head == NULL)
        d->tail = NULL;
    d->count--;
    d->bytes -= m->len;
    c->busy++;
    sim_conn_deliver(c, side, m);
    c->busy--;
    sim_msg_release(net, m);
    sim_dir_schedule(c, side);
    sim_conn_maybe_free(c);
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
    sim_dir_push(c, 0, sim_msg_new(net, SIM_MSG_CONNECT, NULL, 0));
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
        sim_conn_break(c, sim_add_sat(sim_kernel_now_ns(net->k), net->cfg.detection_delay_ns));
        return true;
    }
    l->stats.msgs_sent++;
    l->stats.bytes_sent += len;
    sim_dir_push(c, e->side, sim_msg_new(net, SIM_MSG_DATA, data, len));
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
        sim_dir_push(c, e->side, sim_msg_new(c->net, SIM_MSG_FIN, NULL, 0));
    sim_conn_maybe_free(c);
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
static GPtrArray *sim_net_conns_sorted(SimNet *net) {
    GPtrArray *a = g_ptr_array_sized_new((guint)g_tree_nnodes(net->conns));
    g_tree_foreach(net->conns, sim_collect_conn, a);
    return a;
}

void sim_net_free(SimNet *net) {
    if (net == NULL)
        return;
    GPtrArray *all = sim_net_conns_sorted(net);
    for (guint i = 0; i < all->len; i++) {
        SimConn *c = all->pdata[i];
        for (uint32_t s = 0; s < 2; s++) {
            sim_dir_purge(c, s);
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
    uint64_t notify = sim_add_sat(sim_kernel_now_ns(net->k), net->cfg.detection_delay_ns);
    GPtrArray *all = sim_net_conns_sorted(net);
    for (guint i = 0; i < all->len; i++) {
        SimConn *c = all->pdata[i];
        bool mine0 = c->ends[0].pid == pid, mine1 = c->ends[1].pid == pid;
        if (!mine0 && !mine1)
            continue;
        if (mine1 && c->ends[1].state == SIM_END_NONE && !mine0)
            continue; /* a connect to pid still in flight: refused when it arrives */
        sim_conn_break(c, notify);
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
        sim_conn_maybe_free(c);
    }
    g_ptr_array_free(all, TRUE);
}

void sim_net_set_link_latency(SimNet *net, RtProcessId from, RtProcessId to,
                              const SimLatency *lat) {
    assert(from < SIM_NET_MAX_PROCESSES && to < SIM_NET_MAX_PROCESSES && lat != NULL);
    SimLink *l = sim_net_link(net, from, to);
    l->has_override = true;
    l->latency = *lat;
}

void sim_net_add_spike(SimNet *net, RtProcessId from, RtProcessId to, uint64_t t0_ns,
                       uint64_t t1_ns, uint64_t extra_ns) {
    assert(t0_ns <= t1_ns);
    sim_net_prune(net, sim_kernel_now_ns(net->k));
    if (t1_ns <= sim_kernel_now_ns(net->k))
        return; /* already over */
    if (net->spikes->len >= SIM_NET_MAX_SPIKES) {
        sim_net_fault(net, from, "net: too many delay spikes at once, spike ignored");
        return;
    }
    SimSpike sp = {.from = from, .to = to, .t0_ns = t0_ns, .t1_ns = t1_ns, .extra_ns = extra_ns};
    g_array_append_val(net->spikes, sp);
    if (t1_ns > net->spikes_end_ns)
        net->spikes_end_ns = t1_ns;
    if (t1_ns < net->prune_at_ns)
        net->prune_at_ns = t1_ns;
}

/* A partition longer than the break timeout breaks every channel crossing it. */
static void sim_net_partition_break_fire(SimKernel *k, void *ctx, uint64_t sides) {
    SimNet *net = ctx;
    SimPartition p = {.a = (RtProcessId)(sides >> 32), .b = (RtProcessId)sides};
    uint64_t now = sim_kernel_now_ns(k);
    GPtrArray *all = sim_net_conns_sorted(net);
    uint32_t broken = 0;
    for (guint i = 0; i < all->len; i++) {
        SimConn *c = all->pdata[i];
        if (!sim_partition_crosses(&p, c->ends[0].pid, c->ends[1].pid))
            continue;
        bool live = false;
        for (int s = 0; s < 2; s++)
            live |= c->ends[s].state == SIM_END_OPEN || c->ends[s].state == SIM_END_NONE;
        if (!live)
            continue;
        sim_conn_break(c, now);
        broken++;
        sim_conn_maybe_free(c);
    }
    g_ptr_array_free(all, TRUE);
    char detail[96];
    g_snprintf(detail, sizeof detail,
               "net: partition outlived the break timeout, %u channels broken", broken);
    sim_net_fault(net, p.a, detail);
}

void sim_net_partition(SimNet *net, RtProcessId a, RtProcessId b, uint64_t t0_ns,
                       uint64_t t1_ns) {
    assert(t0_ns <= t1_ns && a != SIM_NET_ANY);
    assert(t0_ns >= sim_kernel_now_ns(net->k));
    sim_net_prune(net, sim_kernel_now_ns(net->k));
    if (t0_ns == t1_ns)
        return;
    if (net->partitions->len >= SIM_NET_MAX_PARTITIONS) {
        sim_net_fault(net, a, "net: too many partitions at once, partition ignored");
        return;
    }
    SimPartition p = {.a = a, .b = b, .t0_ns = t0_ns, .t1_ns = t1_ns};
    g_array_append_val(net->partitions, p);
    if (t1_ns > net->partitions_end_ns)
        net->partitions_end_ns = t1_ns;
    if (t1_ns < net->prune_at_ns)
        net->prune_at_ns = t1_ns;
    if (t1_ns - t0_ns > net->cfg.break_timeout_ns)
        sim_kernel_schedule_at(net->k, t0_ns + net->cfg.break_timeout_ns,
                               sim_net_partition_break_fire, net, (uint64_t)a << 32 | b);
}

void sim_net_link_stats(const SimNet *net, RtProcessId from, RtProcessId to,
                        SimNetLinkStats *out) {
    uint64_t key = (uint64_t)from << 32 | to;
    const SimLink *l = g_tree_lookup(net->links, &key);
    if (l != NULL)
        *out = l->stats;
    else
        memset(out, 0, sizeof *out);
}

typedef struct SimLinkWalk {
    SimNetLinkFunc fn;
    void *ud;
    SimNetLinkStats total;
} SimLinkWalk;

static gboolean sim_link_walk(gpointer key, gpointer value, gpointer ud) {
    (void)key;
    const SimLink *l = value;
    SimLinkWalk *w = ud;
    const SimNetLinkStats *s = &l->stats;
    if (s->msgs_sent == 0 && s->msgs_delivered == 0 && s->msgs_dropped == 0)
        return FALSE;
    if (w->fn != NULL)
        w->fn(w->ud, (RtProcessId)(l->key >> 32), (RtProcessId)l->key, s);
    w->total.msgs_sent += s->msgs_sent;
    w->total.bytes_sent += s->bytes_sent;
    w->total.msgs_delivered += s->msgs_delivered;
    w->total.bytes_delivered += s->bytes_delivered;
    w->total.msgs_dropped += s->msgs_dropped;
    return FALSE;
}

void sim_net_foreach_link(const SimNet *net, SimNetLinkFunc fn, void *ud) {
    SimLinkWalk w = {.fn = fn, .ud = ud};
    g_tree_foreach(net->links, sim_link_walk, &w);
}

void sim_net_total_stats(const SimNet *net, SimNetLinkStats *out) {
    SimLinkWalk w = {0};
    g_tree_foreach(net->links, sim_link_walk, &w);
    *out = w.total;
}

uint32_t sim_net_channel_count(const SimNet *net) {
    return (uint32_t)g_tree_nnodes(net->conns);
}
