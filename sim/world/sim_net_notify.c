/* sim_net_notify.c - faults on the checkpoint-complete notifications the job manager
 * sends to task managers (sim_net.h, "Faults on the checkpoint-complete notifications").
 * send() hands every message of a job-manager control channel to
 * sim_net_notify_intercept() while a rule is armed; a NOTIFY_COMPLETE frame that a rule
 * matches is dropped, queued twice or held back here. A held-back message remembers its
 * channel by creation id, not by pointer: the channel may be gone when it is due. */
#include "sim/world/sim_net.h"
#include "sim/world/sim_net_internal.h"

#include <assert.h>
#include <inttypes.h>

#include "runtime/dataflow/rt_cluster.h"
#include "runtime/dataflow/rt_protocol.h"

typedef struct SimNotifyRule {
    SimNotifyFault fault; /* checkpoint_id latched at the first match when it was 0 */
    bool lapsed;          /* a notification of a later checkpoint was sent */
} SimNotifyRule;

typedef struct SimNotifyDelayed {
    SimNet *net;
    uint64_t conn_id; /* the channel, looked up again when due */
    uint32_t side;
    SimMsg *msg;      /* owned */
    SimEventId ev;
} SimNotifyDelayed;

void sim_net_notify_fault(SimNet *net, const SimNotifyFault *f) {
    assert(net != NULL && f != NULL);
    if (net->notify_rules == NULL)
        net->notify_rules = g_array_new(FALSE, TRUE, sizeof(SimNotifyRule));
    if (net->notify_rules->len >= SIM_NET_MAX_SPIKES) {
        sim_net_fault(net, f->to, "net: too many notification faults armed; one ignored");
        return;
    }
    SimNotifyRule r = {.fault = *f};
    g_array_append_val(net->notify_rules, r);
}

uint64_t sim_net_notify_applied(const SimNet *net) {
    return net->notify_applied;
}

static void delayed_free(SimNotifyDelayed *d) {
    sim_net_msg_release(d->net, d->msg);
    g_free(d);
}

void sim_net_notify_free(SimNet *net) {
    if (net->notify_delayed != NULL) {
        for (guint i = 0; i < net->notify_delayed->len; i++) {
            SimNotifyDelayed *d = g_ptr_array_index(net->notify_delayed, i);
            sim_kernel_cancel(net->k, d->ev);
            delayed_free(d);
        }
        g_ptr_array_free(net->notify_delayed, TRUE);
        net->notify_delayed = NULL;
    }
    if (net->notify_rules != NULL)
        g_array_free(net->notify_rules, TRUE);
    net->notify_rules = NULL;
}

/* A held-back notification is due: it joins its channel's queue if the channel is still
 * open (from now on FIFO with what follows), else it is lost. */
static void delayed_fire(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    (void)payload;
    SimNotifyDelayed *d = ctx;
    SimNet *net = d->net;
    g_ptr_array_remove_fast(net->notify_delayed, d);
    SimConn *c = g_tree_lookup(net->conns, &d->conn_id);
    if (c != NULL && c->ends[d->side].state == SIM_END_OPEN) {
        c->links[d->side]->stats.msgs_sent++;
        c->links[d->side]->stats.bytes_sent += d->msg->len;
        sim_net_dir_push(c, d->side, d->msg);
        g_free(d);
        return;
    }
    if (c != NULL)
        c->links[d->side]->stats.msgs_dropped++;
    delayed_free(d);
}

/* The rule that takes a notification of checkpoint id to process to, or NULL. Rules of
 * an earlier checkpoint lapse here. */
static SimNotifyRule *match_rule(SimNet *net, uint64_t id, RtProcessId to) {
    SimNotifyRule *hit = NULL;
    for (guint i = 0; i < net->notify_rules->len; i++) {
        SimNotifyRule *r = &g_array_index(net->notify_rules, SimNotifyRule, i);
        if (r->lapsed || (r->fault.to != SIM_NET_ANY && r->fault.to != to))
            continue;
        if (r->fault.checkpoint_id != 0 && r->fault.checkpoint_id < id) {
            r->lapsed = true;
            continue;
        }
        if (hit == NULL && (r->fault.checkpoint_id == 0 || r->fault.checkpoint_id == id)) {
            r->fault.checkpoint_id = id;
            hit = r;
        }
    }
    return hit;
}

static const char *mode_name(SimNotifyMode m) {
    switch (m) {
    case SIM_NOTIFY_DROP: return "dropped";
    case SIM_NOTIFY_DUPLICATE: return "duplicated";
    case SIM_NOTIFY_DELAY: return "delayed";
    }
    return "?";
}

bool sim_net_notify_intercept(SimNet *net, SimConn *c, uint32_t side, const void *data,
                              size_t len) {
    const uint8_t *b = data;
    /* Job manager -> task manager: the acceptor's end of a JM-port channel. */
    if (c->port != RT_PORT_JOBMANAGER || side != 1 || len < 2 ||
        b[0] != RT_PROTOCOL_VERSION || b[1] != RT_MSG_NOTIFY_COMPLETE)
        return false;
    RtMsg m = {0};
    if (!rt_msg_decode(data, len, &m, NULL))
        return false;
    uint64_t id = m.checkpoint_id;
    rt_msg_clear(&m);
    RtProcessId to = c->ends[0].pid;
    SimNotifyRule *r = match_rule(net, id, to);
    if (r == NULL)
        return false;
    net->notify_applied++;
    char *what = g_strdup_printf("net: notify_complete of checkpoint %" PRIu64
                                 " to process %u %s", id, to, mode_name(r->fault.mode));
    sim_net_fault(net, to, what);
    g_free(what);
    SimLink *l = c->links[side];
    switch (r->fault.mode) {
    case SIM_NOTIFY_DROP:
        l->stats.msgs_dropped++;
        break;
    case SIM_NOTIFY_DUPLICATE:
        for (int i = 0; i < 2; i++) {
            l->stats.msgs_sent++;
            l->stats.bytes_sent += len;
            sim_net_dir_push(c, side, sim_net_msg_new(net, SIM_MSG_DATA, data, len));
        }
        break;
    case SIM_NOTIFY_DELAY: {
        if (net->notify_delayed == NULL)
            net->notify_delayed = g_ptr_array_new();
        SimNotifyDelayed *d = g_new0(SimNotifyDelayed, 1);
        d->net = net;
        d->conn_id = c->id;
        d->side = side;
        d->msg = sim_net_msg_new(net, SIM_MSG_DATA, data, len);
        uint64_t due = sim_net_add_sat(sim_kernel_now_ns(net->k), r->fault.delay_ns);
        d->ev = sim_kernel_schedule_at(net->k, due, delayed_fire, d, 0);
        g_ptr_array_add(net->notify_delayed, d);
        break;
    }
    }
    return true;
}
