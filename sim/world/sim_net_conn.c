/* sim_net_conn.c - the channel plumbing of the simulated network: each direction of a
 * SimConn is a FIFO of SimMsg whose head alone has a kernel event (delivering it
 * schedules the next), stalled by partitions and slowed by delay spikes; ends break,
 * notify their handlers after the detection delay and are reclaimed by
 * sim_net_conn_maybe_free() once neither runtime code nor a callback holds them. The data
 * layout is described in sim_net.c. */
#include "sim/world/sim_net.h"
#include "sim/world/sim_net_internal.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"

/* Bit-exact arithmetic: never fuse a * b + c into an FMA. clang's default allows it;
 * gcc in ISO C mode (-std=c11) already does not contract, and warns on the pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

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
void sim_net_dir_purge(SimConn *c, uint32_t side) {
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
        sim_net_msg_release(c->net, m);
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
void sim_net_dir_push(SimConn *c, uint32_t side, SimMsg *m) {
    SimNet *net = c->net;
    SimDir *d = &c->dirs[side];
    SimLink *l = c->links[side];
    uint64_t now = sim_kernel_now_ns(net->k);
    sim_net_prune(net, now);
    const SimLatency *lat = l->has_override ? &l->latency : &net->cfg.latency;
    uint64_t due = sim_net_add_sat(now, sim_latency_sample(lat, &l->rng));
    due = sim_net_add_sat(due,
                          sim_net_spike_ns(net, c->ends[side].pid, c->ends[1 - side].pid, now));
    if (m->kind == SIM_MSG_FIN) {
        uint64_t min_due = sim_net_add_sat(now, net->cfg.detection_delay_ns);
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

void sim_net_conn_maybe_free(SimConn *c) {
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
        sim_net_dir_purge(c, i);
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
void sim_net_conn_break(SimConn *c, uint64_t notify_ns) {
    sim_kernel_trace_mix(c->net->k, SIM_TRACE_NET_BROKEN, c->id);
    for (uint32_t i = 0; i < 2; i++)
        sim_net_dir_purge(c, i);
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
    SimConn *c = ctx;
    assert(side < 2);
    uint64_t held = sim_host_held_until(c->net->host, c->ends[side].pid);
    if (held != 0 && c->ends[side].state == SIM_END_BREAKING) { /* told at the resume */
        c->ends[side].notify_ev = sim_kernel_schedule_at(k, held, sim_end_notify_fire, c, side);
        return;
    }
    c->ends[side].notify_ev = 0;
    if (c->ends[side].state == SIM_END_BREAKING)
        sim_end_fire_broken(c, (uint32_t)side);
    sim_net_conn_maybe_free(c);
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
        sim_net_dir_purge(c, 0);
        uint64_t now = sim_kernel_now_ns(net->k);
        sim_end_break_at(c, 0, sim_net_add_sat(now, net->cfg.detection_delay_ns));
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
        uint64_t limit = sim_net_add_sat(d->stall_since_ns, net->cfg.break_timeout_ns);
        if (now >= limit) {
            sim_net_fault(net, from, "net: channel stalled past the break timeout");
            sim_net_conn_break(c, now);
            sim_net_conn_maybe_free(c);
            return;
        }
        uint64_t heal = sim_net_heal_time(net, from, to, now);
        d->ev = sim_kernel_schedule_at(k, heal < limit ? heal : limit, sim_dir_fire, c, side);
        return;
    }
    d->stall_since_ns = SIM_NET_NOT_STALLED;
    uint64_t held = sim_host_held_until(net->host, to);
    if (held != 0) { /* the receiver is paused: it reads its socket when it resumes */
        d->ev = sim_kernel_schedule_at(k, held, sim_dir_fire, c, side);
        return;
    }
    d->head = m->next;
    if (d->head == NULL)
        d->tail = NULL;
    d->count--;
    d->bytes -= m->len;
    c->busy++;
    sim_conn_deliver(c, side, m);
    c->busy--;
    sim_net_msg_release(net, m);
    sim_dir_schedule(c, side);
    sim_net_conn_maybe_free(c);
}
