/* sim_zk.h - the simulated ZooKeeper ensemble: RtCoord handles on the event kernel.
 *
 * The model: an ensemble of n servers (server 0 the leader) each holding a replica of the
 * znode tree (sim_zk_tree.h). Writes are linearizable: the leader checks and commits them
 * in arrival order, one zxid each, and each follower applies the committed log in zxid
 * order after a lag (follower_lag_ns, jittered per transaction, monotone per server; the
 * leader applies at commit). Each session is connected to one server (the client's host
 * list is shuffled from the "sim_zk" stream at open; every connection attempt takes the
 * next host, as the C and Java clients do) and its reads see that server's replica: a
 * read on a lagging follower is stale. ZooKeeper's guarantees hold: a write's reply
 * leaves only after the session's own server applied it, and a session's later requests
 * wait behind it at that server (read your writes, per-client FIFO); a client never
 * connects to a server behind the last zxid it has seen (the server refuses it and the
 * client tries the next host: single system image); watches live on the session's server
 * and fire when that server applies the transaction, before any reply that could show
 * the new data; on reconnect the client re-registers its watches relative to its last
 * zxid (SetWatches) and the new server fires those whose node changed since. There is no
 * sync(): Flink's ZooKeeperStateHandleStore and Curator's LeaderLatch never call it.
 * Sessions with a negotiated timeout (clamped to 2..20 ticks as the real server does);
 * one-shot watches; per-client FIFO (requests arrive and replies leave in call order, and
 * a watch event reaches a client before the reply of the write that triggered it).
 * Latency: client->server and back over the modelled network plus a service time per
 * request kind, with jitter from the "sim_zk" PRNG stream of the run's seed; defaults
 * from `ckptsim zk probe`.
 *
 * Connection loss: every pending call fails with CONNECTION_LOSS (a write in flight may
 * or may not have been applied), the client is SUSPENDED and retries every
 * max(timeout/60, 10 ms) (the C client's reconnect pace); calls made while disconnected
 * wait for the next attempt and fail with CONNECTION_LOSS if it fails. If it reconnects
 * before the server expired the session, it is CONNECTED again with its watches.
 * Expiry (a session silent for its timeout, or forced): the server deletes the session's
 * ephemeral nodes in one transaction and fires the watches of other sessions, but the
 * client learns EXPIRED only when it next reconnects (the zombie window); then its
 * pending calls fail with SESSION_EXPIRED and its watches fire SESSION_ENDED.
 * A partitioned client's packets stall (TCP retransmits); it notices after 2/3 of its
 * timeout (the C client's read timeout), the server after the timeout.
 * A crashed process's handles go silent at once (no callback runs again) and their
 * sessions linger until they expire.
 *
 * Not modelled: ACLs (digest auth is accepted and ignored), observers, session creation
 * and close as transactions, a server crash (a leader change syncs every follower), the
 * jute.maxbuffer connection drop (the RtCoord wrappers refuse oversized requests).
 */
#ifndef SIM_ZK_H
#define SIM_ZK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/coord/rt_coord.h"
#include "sim/core/sim_kernel.h"
#include "sim/world/sim_host.h"
#include "sim/world/sim_zk_tree.h"

typedef struct SimZk SimZk;

/* Largest ensemble the model takes. */
#define SIM_ZK_MAX_SERVERS 9

typedef struct SimZkConfig {
    uint64_t net_one_way_ns;   /* client <-> server, each way (median) */
    uint64_t read_service_ns;  /* get, exists, children, check-only work */
    uint64_t write_service_ns; /* create, set, delete, multi, close */
    uint64_t tick_ns;          /* tickTime: session timeouts clamp to 2..20 ticks */
    unsigned servers;          /* ensemble size, 1..SIM_ZK_MAX_SERVERS (1: no follower) */
    uint64_t follower_lag_ns;  /* median time a follower applies a commit after the leader */
    double jitter;             /* each latency uniform in [1 - j, 1 + j] x median */
    double tail_chance;        /* chance of a slow request ... */
    double tail_factor;        /* ... that takes up to this many times longer */
} SimZkConfig;

/* The defaults, from `ckptsim zk probe` against the Debian 3.8.0 server on loopback
 * with forceSync=no (see sim_zk.c). */
void sim_zk_config_init(SimZkConfig *cfg);

/* A new ensemble on kernel k (borrowed; must outlive it). seed: the run's seed (the
 * model draws from its "sim_zk" stream). host (may be NULL, borrowed): bracket every
 * callback into process code, as the rest of the world does. */
SimZk *sim_zk_new(SimKernel *k, uint64_t seed, const SimZkConfig *cfg, const SimHost *host);
/* Frees the ensemble and every handle still open (their callbacks never run). With a
 * world attached, free the world first (its processes' teardown may free handles). */
void sim_zk_free(SimZk *zk);

/* Makes zk the world's ZooKeeper: installs its SimWorldCoordHooks (env->coord_open opens
 * a session of that process; a crash silences the process's handles) and brackets every
 * callback with sim_world_enter/leave. w must run on zk's kernel. */
typedef struct SimWorld SimWorld;
void sim_zk_attach_world(SimZk *zk, SimWorld *w);

/* Opens a session for process pid: checks cfg at once (RT_COORD_ERROR_CONFIG), then
 * connects asynchronously (CONNECTED or, after cfg->connect_timeout_ns, CLOSED). */
RtCoord *sim_zk_open(SimZk *zk, RtProcessId pid, const RtCoordConfig *cfg, GError **error);

/* A process crashed: its handles go silent forever (callbacks dropped; rt_coord_free is
 * still allowed and required to release them) and their sessions expire after their
 * timeout, deleting their ephemeral nodes. */
void sim_zk_process_crashed(SimZk *zk, RtProcessId pid);

/* Process pid is paused (sim_world_pause): its clients send no heartbeats (their
 * sessions go silent on the server) and their callbacks wait for the resume. */
void sim_zk_process_paused(SimZk *zk, RtProcessId pid);
/* pid runs again: a client silent for 2/3 of its timeout or more (or cut off by the
 * server meanwhile) drops its connection and reconnects (learning EXPIRED if the server
 * expired the session: the zombie window lasts until then); otherwise nothing happened. */
void sim_zk_process_resumed(SimZk *zk, RtProcessId pid);

/* ------------------------------------------------------------------- faults */

/* Expires session id now (as the second-handle trick does on a real server). False if
 * no such live session. */
bool sim_zk_expire_session(SimZk *zk, int64_t session_id);
/* Expires every live session of process pid now; returns how many. */
unsigned sim_zk_expire_process(SimZk *zk, RtProcessId pid);
/* Drops the connections of pid's handles now and refuses reconnects for duration_ns. */
void sim_zk_drop_connection(SimZk *zk, RtProcessId pid, uint64_t duration_ns);
/* The ensemble loses its leader and elects another for duration_ns: every connection
 * drops (CONNECTION_LOSS, SUSPENDED) and reconnects are refused until the new leader
 * serves; a write still on its way to the server when the leader went is committed by
 * the new leader or lost, drawn from the "sim_zk" stream (its caller only knows the
 * outcome is unknown); every session's expiry clock restarts (the new leader gives
 * each session a fresh timeout), so sessions survive if their clients come back in
 * time; every follower has synced the whole log with the new leader before it serves.
 * Returns the number of connections dropped. */
unsigned sim_zk_leader_change(SimZk *zk, uint64_t duration_ns);
/* Replies to pid's handles take extra_ns longer for duration_ns. */
void sim_zk_delay_replies(SimZk *zk, RtProcessId pid, uint64_t extra_ns, uint64_t duration_ns);
/* Partitions pid from the ensemble for duration_ns (packets stall; see above). */
void sim_zk_partition(SimZk *zk, RtProcessId pid, uint64_t duration_ns);
/* Follower server (1..servers-1) applies the commits made in the next duration_ns
 * extra_ns later than usual (a slow disk or a GC pause on that follower). */
void sim_zk_slow_follower(SimZk *zk, unsigned server, uint64_t extra_ns, uint64_t duration_ns);

/* ---------------------------------------------------------- god's-eye view */

/* The ensemble's tree (the leader's: every committed write), for checks (borrowed). */
const SimZkTree *sim_zk_tree(const SimZk *zk);
/* The last zxid server (0..servers-1) has applied. */
int64_t sim_zk_server_zxid(const SimZk *zk, unsigned server);
/* The server simulated handle c is connected to, or -1 while it has no connection. */
int sim_zk_handle_server(RtCoord *c);
/* Live (not expired or closed) sessions. */
unsigned sim_zk_live_sessions(const SimZk *zk);
/* Counters for reports. */
typedef struct SimZkStats {
    uint64_t requests;    /* applied at the server */
    uint64_t writes;      /* committed transactions */
    uint64_t expiries;    /* sessions expired (timeout or forced) */
    uint64_t disconnects; /* client connections lost */
    uint64_t refusals;    /* connections refused: the server was behind the client */
    uint64_t lagging_reads; /* reads served by a server behind the leader */
} SimZkStats;
SimZkStats sim_zk_stats(const SimZk *zk);

#endif /* SIM_ZK_H */
