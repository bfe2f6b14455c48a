/* sim_net.h - the simulated network: RtTransport on the event kernel.
 *
 * Model. A channel is a pair of ends joined by two directions. Each direction is a
 * FIFO queue of messages with delivery times: a message sent at time t is due at
 * t + latency (+ any active delay spike), clamped to >= the due time of the message
 * before it on the same direction, so FIFO holds by construction (only the queue's
 * head has a kernel event). Latencies are drawn per link (from process A to process
 * B) from the PRNG stream "net.latency/A/B" of the run's seed, from the link's
 * override distribution or the default one.
 *
 * Lifecycle of a channel. connect() returns the connector's end at once; a connect
 * request travels as the first item of the connector->acceptor direction. When it
 * arrives, if the peer process is up and listens on the port, the acceptor's end is
 * created and handed to the accept callback; otherwise the connector gets on_broken
 * after the detection delay. Messages sent before the accept queue behind it.
 * rt_channel_free() is a graceful close: what was sent before still arrives, then the
 * peer gets on_broken (no earlier than the detection delay after the close).
 * Messages that arrive at a freed end are dropped (counted).
 *
 * Faults.
 *  - Process down (sim_net_process_down): the process's listeners go; every channel
 *    with an end in it breaks abruptly: both directions are emptied (in-flight data
 *    is lost, as in a machine crash) and each surviving end gets on_broken after the
 *    detection delay.
 *  - Partition (between two processes, or isolating one, during [t0, t1)): messages
 *    on crossing links stall at the head of their queue (nothing is lost). If the
 *    partition lasts longer than the break timeout, every channel crossing it breaks
 *    at t0 + break_timeout (both ends get on_broken then); a direction whose head has
 *    been stalled for the break timeout (e.g. a channel opened during the partition)
 *    also breaks.
 *  - Delay spike (during [t0, t1), on a link or every link): adds extra_ns to the
 *    latency of messages sent then.
 *  - Planted bug RT_BUG_NONFIFO_NETWORK (bugs given at creation): a data message whose
 *    due time would be clamped is, with probability nonfifo_probability, inserted at
 *    its own due time instead, overtaking earlier messages.
 *
 * Bounds. A direction holds at most max_queued_msgs messages and max_queued_bytes
 * bytes. Sending beyond either breaks the channel (both ends get on_broken after the
 * detection delay) and reports an RT_EV_WORLD_FAULT: the runtime's credit-based flow
 * control must keep queues far below it, so reaching it is a finding, never silent
 * loss. At most SIM_NET_MAX_PARTITIONS partitions and SIM_NET_MAX_SPIKES spikes are in
 * force (not yet over) at once; one more is ignored and reported as RT_EV_WORLD_FAULT.
 * Those that are over are pruned as time passes.
 *
 * Lognormal latencies use their own log/exp built from + - * / (libm's may differ in the
 * last bit between CPUs), so a seed gives the same latencies everywhere.
 *
 * Determinism. Channels are kept in a tree by creation id; every walk over them is in
 * that order. Deliveries, accepts, breaks and drops fold (process ids, port, channel
 * id, length, a hash of the bytes) into the kernel's trace hash; never pointers.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_env.h"
#include "runtime/env/rt_rng.h"
#include "sim/core/sim_kernel.h"
#include "sim/world/sim_host.h"

typedef struct SimNet SimNet;

/* Errors of the network's own calls (listen on a taken port, bad latency text). */
#define SIM_NET_ERROR (sim_net_error_quark())
GQuark sim_net_error_quark(void);

/* Wildcard process id for spikes and partitions ("every process"). */
#define SIM_NET_ANY UINT32_MAX
#define SIM_NET_MAX_PROCESSES 1024u
#define SIM_NET_MAX_PARTITIONS 4096u
#define SIM_NET_MAX_SPIKES 4096u

typedef enum SimLatencyKind {
    SIM_LATENCY_CONSTANT,  /* always a_ns */
    SIM_LATENCY_UNIFORM,   /* uniform in [a_ns, b_ns] */
    SIM_LATENCY_LOGNORMAL, /* median a_ns, shape sigma, clamped to [min_ns, max_ns] */
} SimLatencyKind;

typedef struct SimLatency {
    SimLatencyKind kind;
    uint64_t a_ns;   /* constant: the value; uniform: low bound; lognormal: median */
    uint64_t b_ns;   /* uniform: high bound (>= a_ns); unused otherwise */
    double sigma;    /* lognormal: standard deviation of ln(latency), >= 0 */
    uint64_t min_ns; /* lognormal: lower clamp */
    uint64_t max_ns; /* lognormal: upper clamp (>= min_ns) */
} SimLatency;

SimLatency sim_latency_constant(uint64_t ns);
SimLatency sim_latency_uniform(uint64_t lo_ns, uint64_t hi_ns);
SimLatency sim_latency_lognormal(uint64_t median_ns, double sigma, uint64_t min_ns,
                                 uint64_t max_ns);
/* Draws one latency (ns) from lat with rng. Bit-exact across compilers (the normal
 * deviate uses the polar method: only log and sqrt). */
uint64_t sim_latency_sample(const SimLatency *lat, RtRng *rng);
/* Parses "constant:200us", "uniform:100us:2ms", "lognormal:500us:0.5:100us:20ms"
 * (units ns, us, ms, s; a bare number is ns). False + message in *error on bad text. */
bool sim_latency_parse(const char *text, SimLatency *out, GError **error);

typedef struct SimNetConfig {
    SimLatency latency;          /* default for every link without an override */
    uint64_t detection_delay_ns; /* peer death / close -> on_broken delay; default 100 ms */
    uint64_t break_timeout_ns;   /* a partition longer than this breaks; default 2 s */
    uint32_t max_queued_msgs;    /* per direction; default 1,000,000 */
    uint64_t max_queued_bytes;   /* per direction; default 256 MiB */
    double nonfifo_probability;  /* only under RT_BUG_NONFIFO_NETWORK; default 0.2 */
} SimNetConfig;

/* Fills *cfg with the defaults above (latency lognormal: median 200 us, sigma 0.5,
 * clamped to [50 us, 20 ms]). */
void sim_net_config_init(SimNetConfig *cfg);

/* Per-link counters (from process A to process B), for metrics. */
typedef struct SimNetLinkStats {
    uint64_t msgs_sent;       /* data messages accepted by send() */
    uint64_t bytes_sent;      /* their payload bytes */
    uint64_t msgs_delivered;  /* handed to on_message */
    uint64_t bytes_delivered; /* their payload bytes */
    uint64_t msgs_dropped;    /* lost: broken channel, freed end, crash */
} SimNetLinkStats;

/* A network over kernel k (borrowed, must outlive it). seed derives the latency
 * streams; bugs is the run's RtBug mask (only RT_BUG_NONFIFO_NETWORK matters); host
 * (borrowed, may be NULL) brackets callbacks into process code; observer (borrowed,
 * may be NULL) receives RT_EV_WORLD_FAULT for breaks the network causes itself. */
SimNet *sim_net_new(SimKernel *k, uint64_t seed, uint64_t bugs, const SimNetConfig *cfg,
                    const SimHost *host, RtObserver *observer);
/* Frees every channel, message and record; no callback runs. Ends still held by
 * runtime code become dangling: free the net only after the processes are stopped. */
void sim_net_free(SimNet *net);

/* The transport of process pid (< SIM_NET_MAX_PROCESSES), owned by the net. A
 * process starts down: call sim_net_process_up() before it listens or connects. */
RtTransport *sim_net_transport(SimNet *net, RtProcessId pid);
/* Marks pid up (it may listen; connects to it succeed). */
void sim_net_process_up(SimNet *net, RtProcessId pid);
/* Marks pid down (crash): drops its listeners, breaks all its channels abruptly (see
 * the header comment); the ends it held are reclaimed by the net. Its RtChannel
 * pointers must never be used again. */
void sim_net_process_down(SimNet *net, RtProcessId pid);
bool sim_net_process_is_up(const SimNet *net, RtProcessId pid);

/* Overrides the latency of the link from -> to (both real ids). */
void sim_net_set_link_latency(SimNet *net, RtProcessId from, RtProcessId to,
                              const SimLatency *lat);
/* During [t0_ns, t1_ns) add extra_ns to messages sent from -> to (either may be
 * SIM_NET_ANY). */
void sim_net_add_spike(SimNet *net, RtProcessId from, RtProcessId to, uint64_t t0_ns,
                       uint64_t t1_ns, uint64_t extra_ns);
/* Partitions a from b during [t0_ns, t1_ns) (t0_ns >= now); b == SIM_NET_ANY isolates
 * a from every other process. Symmetric. */
void sim_net_partition(SimNet *net, RtProcessId a, RtProcessId b, uint64_t t0_ns,
                       uint64_t t1_ns);
/* True if messages from -> to stall at time t_ns. */
bool sim_net_partitioned(const SimNet *net, RtProcessId from, RtProcessId to, uint64_t t_ns);

/* Counters of the link from -> to (zeros if it never carried anything). */
void sim_net_link_stats(const SimNet *net, RtProcessId from, RtProcessId to,
                        SimNetLinkStats *out);
/* Calls fn for every link that carried anything, in (from, to) order. */
typedef void (*SimNetLinkFunc)(void *ud, RtProcessId from, RtProcessId to,
                               const SimNetLinkStats *stats);
void sim_net_foreach_link(const SimNet *net, SimNetLinkFunc fn, void *ud);
/* Sum over all links. */
void sim_net_total_stats(const SimNet *net, SimNetLinkStats *out);
/* Channels currently known to the net (open, closing, or awaiting their free). */
uint32_t sim_net_channel_count(const SimNet *net);

/* Faults on the checkpoint-complete notifications (RT_MSG_NOTIFY_COMPLETE) that job
 * managers send to task managers. Flink does not guarantee their delivery
 * (CheckpointListener: notifications may be skipped or delayed; a notification is an
 * independent RPC, TaskExecutorGateway#confirmCheckpoint, not ordered with others), so
 * the runtime must be correct when one is dropped, duplicated or late. The network
 * decodes the frames the job manager sends on control channels (port
 * RT_PORT_JOBMANAGER, acceptor -> connector) and applies the armed faults:
 *  - DROP: the notification is lost (counted as dropped);
 *  - DUPLICATE: it is queued twice, back to back;
 *  - DELAY: it is held back delay_ns and then queued on its channel (if the channel is
 *    still open; otherwise lost), so it arrives after control messages sent meanwhile.
 * Every other message keeps FIFO order. Each affected message is reported as an
 * RT_EV_WORLD_FAULT ("net: notify_complete of checkpoint N to process P dropped"). */
typedef enum SimNotifyMode {
    SIM_NOTIFY_DROP,
    SIM_NOTIFY_DUPLICATE,
    SIM_NOTIFY_DELAY,
} SimNotifyMode;

typedef struct SimNotifyFault {
    SimNotifyMode mode;
    uint64_t delay_ns;      /* DELAY: how long the notification is held back */
    uint64_t checkpoint_id; /* the notifications of this checkpoint; 0 = of the next
                               checkpoint whose notification is sent (to a matching
                               receiver) after the fault is armed */
    RtProcessId to;         /* only those to this process; SIM_NET_ANY = every one */
} SimNotifyFault;

/* Arms f: it applies to every matching notification (one per task manager) of its
 * checkpoint, and lapses once a notification of a later checkpoint is sent. Faults are
 * tried in arming order; a notification gets at most one. At most SIM_NET_MAX_SPIKES
 * are armed at once (one more is ignored and reported as RT_EV_WORLD_FAULT). */
void sim_net_notify_fault(SimNet *net, const SimNotifyFault *f);
/* Notifications dropped, duplicated or delayed so far. */
uint64_t sim_net_notify_applied(const SimNet *net);

#endif /* SIM_NET_H */
