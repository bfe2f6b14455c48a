/* sim_net_internal.h - private to the simulated network: the types and helpers that
 * sim_net.c (configuration, helpers, lifecycle, processes, the RtTransport ops),
 * sim_net_conn.c (directions, ends and connections) and sim_net_faults.c (partitions,
 * spikes, latency overrides, statistics) share. Not for other modules. See sim_net.c for
 * the data layout. */
#ifndef SIM_NET_INTERNAL_H
#define SIM_NET_INTERNAL_H

#include "sim/world/sim_net.h"

#define SIM_NET_SMALL_MSG 256u       /* payload capacity of freelist messages */
#define SIM_NET_FREELIST_MAX 4096u   /* freelist bound */
#define SIM_NET_NOT_STALLED UINT64_MAX

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
    GArray *notify_rules;       /* SimNotifyRule (sim_net_notify.c), NULL until armed */
    GPtrArray *notify_delayed;  /* SimNotifyDelayed in flight, NULL until one is */
    uint64_t notify_applied;    /* notifications a fault dropped, duplicated or delayed */
};

/* Defined in sim_net.c: helpers and lifecycle. */

/* a + b, saturating at UINT64_MAX. */
uint64_t sim_net_add_sat(uint64_t a, uint64_t b);
/* Reports a network fault at pid: mixed into the trace, told to the observer. */
void sim_net_fault(SimNet *net, RtProcessId pid, const char *detail);
/* A message of kind with a copy of len bytes of data (from the freelist if small). */
SimMsg *sim_net_msg_new(SimNet *net, SimMsgKind kind, const void *data, size_t len);
/* Returns m to the bounded freelist, or frees it. */
void sim_net_msg_release(SimNet *net, SimMsg *m);
/* The link from -> to (borrowed), created with its own latency stream on first use. */
SimLink *sim_net_link(SimNet *net, RtProcessId from, RtProcessId to);
/* The connections in creation order (a new array: safe to modify the tree after). */
GPtrArray *sim_net_conns_sorted(SimNet *net);

/* Defined in sim_net_conn.c: directions, ends and connections. */

/* Drops every queued message of a direction (counted as dropped on its link). */
void sim_net_dir_purge(SimConn *c, uint32_t side);
/* Queues m (owned) on direction side: due = now + latency + spikes, FIFO-clamped. */
void sim_net_dir_push(SimConn *c, uint32_t side, SimMsg *m);
/* Frees c (cancelling its events) once no end is held or busy; else does nothing. */
void sim_net_conn_maybe_free(SimConn *c);
/* Breaks c abruptly: both directions emptied, open ends told at notify_ns. */
void sim_net_conn_break(SimConn *c, uint64_t notify_ns);

/* Defined in sim_net_faults.c: partitions and spikes. */

/* The first time >= t_ns at which from -> to is not partitioned. */
uint64_t sim_net_heal_time(const SimNet *net, RtProcessId from, RtProcessId to,
                           uint64_t t_ns);
/* The extra delay of the spikes on from -> to at t_ns (summed, saturating). */
uint64_t sim_net_spike_ns(const SimNet *net, RtProcessId from, RtProcessId to,
                          uint64_t t_ns);
/* Drops the partitions and spikes that are over at now (time only moves forward). */
void sim_net_prune(SimNet *net, uint64_t now);

/* Defined in sim_net_notify.c: faults on checkpoint-complete notifications. */

/* Called by send() for a message on direction side of c while a notification fault is
 * armed: true if the message was a matching NOTIFY_COMPLETE and a fault took it
 * (dropped, or queued twice, or held back); false = send it as usual. */
bool sim_net_notify_intercept(SimNet *net, SimConn *c, uint32_t side, const void *data,
                              size_t len);
/* Frees the armed rules and the held-back messages (cancelling their events). */
void sim_net_notify_free(SimNet *net);

#endif /* SIM_NET_INTERNAL_H */
