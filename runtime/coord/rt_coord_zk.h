/* rt_coord_zk.h - RtCoord on a real ZooKeeper server through libzookeeper_mt.
 *
 * The C client runs its own I/O and completion threads; every completion and watch it
 * delivers there is copied into a queue and handed to the owner's GMainContext (a
 * GSource), so runtime code only ever runs on the loop's thread. The connect timeout is a
 * GSource on the same context: no first connection by then => CLOSED, and the pending
 * calls fail with RT_COORD_ERROR_CLOSED.
 *
 * This file and the other runtime/coord/rt_coord_zk* files are the only ones that talk to
 * ZooKeeper, read the wall clock or wait on threads (tests/tidy.sh enforces it).
 */
#ifndef RT_COORD_ZK_H
#define RT_COORD_ZK_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/coord/rt_coord.h"

/* Opens a session: checks cfg at once (RT_COORD_ERROR_CONFIG, no I/O), then connects in
 * the background. Callbacks run on ctx (borrowed, referenced; must be iterated by the
 * calling thread). Free with rt_coord_free() from ctx's thread. */
RtCoord *rt_coord_zk_open(GMainContext *ctx, const RtCoordConfig *cfg, GError **error);

/* Test and fault tool: makes the server expire coord's session, by opening a second
 * handle with the same session id and password and closing it, repeated until coord's
 * client sees the expiry (a single attempt usually loses the race: the first handle
 * reconnects and takes the session back; perf-anchors.md §3). Blocks the calling thread
 * up to max_ns. On success the EXPIRED event is queued: iterate ctx to deliver it.
 * *attempts_out (may be NULL): second handles used. False + error if it did not work. */
bool rt_coord_zk_force_expire(RtCoord *coord, uint64_t max_ns, unsigned *attempts_out,
                              GError **error);

/* The C client's own logging: 0 (the default) is silent, 1..4 = error..debug. */
void rt_coord_zk_set_log_level(int level);

/* ------------------------------------------------------------------ probe */

/* `ckptsim zk probe`: measures a real server (rt_coord_zk_probe.c). */
typedef struct RtCoordZkProbeConfig {
    const char *connect_string;  /* "host:port[,...]" */
    uint64_t connect_timeout_ns; /* give up connecting after this */
    unsigned calls;              /* per op kind (create, get, set, delete), 1..100000 */
    unsigned pipelined_sets;     /* asynchronous sets in the throughput run, 1..1000000 */
    unsigned window;             /* at most this many sets in flight, 1..100000 */
    size_t data_bytes;           /* payload of each create/set, <= 65536 */
} RtCoordZkProbeConfig;

typedef struct RtCoordZkOpFigures {
    unsigned n;       /* calls measured */
    double median_us; /* microseconds */
    double p99_us;
    double max_us;
} RtCoordZkOpFigures;

typedef struct RtCoordZkProbeResult {
    double connect_ms;           /* zookeeper_init until CONNECTED */
    uint64_t session_timeout_ms; /* as negotiated */
    RtCoordZkOpFigures create, get, set, delete;
    double pipelined_set_ops_per_s;
    unsigned window;
} RtCoordZkProbeResult;

/* calls 500, pipelined_sets 20000, window 256, data 100 bytes, connect timeout 15 s. */
void rt_coord_zk_probe_config_init(RtCoordZkProbeConfig *cfg);
/* Connects, measures, removes its nodes, disconnects. Blocks. False + RT_COORD_ERROR
 * (CONFIG: malformed connect string, at once; UNREACHABLE: nothing connected within the
 * timeout; other codes: a call failed). */
bool rt_coord_zk_probe(const RtCoordZkProbeConfig *cfg, RtCoordZkProbeResult *out, GError **error);

#endif /* RT_COORD_ZK_H */
