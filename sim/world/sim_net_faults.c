/* sim_net_faults.c - what scenarios inject into the simulated network and what it
 * reports: partitions (a partition that outlives the break timeout breaks the channels
 * crossing it), delay spikes, per-link latency overrides, and the per-link statistics.
 * Partitions and spikes are kept until they are over (pruned as time moves on). */
#include "sim/world/sim_net.h"
#include "sim/world/sim_net_internal.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"

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
uint64_t sim_net_heal_time(const SimNet *net, RtProcessId from, RtProcessId to,
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

uint64_t sim_net_spike_ns(const SimNet *net, RtProcessId from, RtProcessId to,
                          uint64_t t_ns) {
    if (t_ns >= net->spikes_end_ns)
        return 0;
    uint64_t extra = 0;
    for (guint i = 0; i < net->spikes->len; i++) {
        const SimSpike *s = &g_array_index(net->spikes, SimSpike, i);
        if (s->t0_ns <= t_ns && t_ns < s->t1_ns && (s->from == SIM_NET_ANY || s->from == from) &&
            (s->to == SIM_NET_ANY || s->to == to))
            extra = sim_net_add_sat(extra, s->extra_ns);
    }
    return extra;
}

/* Drops partitions and spikes that are over (time only moves forward). */
void sim_net_prune(SimNet *net, uint64_t now) {
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
        sim_net_conn_break(c, now);
        broken++;
        sim_net_conn_maybe_free(c);
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
