/* rt_live_env.h - the real world: RtEnv on a GLib main context.
 *
 * Time is the monotonic clock (ns since the env was created, or since an origin shared
 * by a cluster) and timers are GLib timeout sources; the transport is TCP on 127.0.0.1
 * with length-prefixed frames; storage is supplied by the caller (rt_live_storage), and
 * env->coord_open opens a real ZooKeeper session (rt_coord_zk) on the env's context,
 * used only when the runtime asks for one (HA or the zookeeper state backend). Everything
 * runs on one GMainContext: callbacks are dispatched from it, never from another thread.
 *
 * Addressing: process p of a live cluster listens on TCP port base_port + p; a channel's
 * handshake names the source process and the logical port, so many logical ports share
 * one listening socket. The wire (rt_live_wire.h) is authenticated: both ends prove they
 * hold the run's secret before anything else, every frame carries a MAC, a message is at
 * most RT_LIVE_MAX_MESSAGE_BYTES (sent in pieces), and a peer that breaks the wire is
 * disconnected with a line on stderr. A process holds at most RT_LIVE_MAX_CHANNELS
 * connections, RT_LIVE_MAX_UNAUTHENTICATED of them in their handshake, each of which
 * must finish within RT_LIVE_HANDSHAKE_TIMEOUT_MS (rt_live_env_internal.h).
 *
 * Lifecycle: rt_live_env_new() -> use env -> rt_live_env_free(). Freeing closes every
 * channel and cancels every timer without running callbacks.
 */
#ifndef RT_LIVE_ENV_H
#define RT_LIVE_ENV_H

#include <glib.h>

#include "runtime/env/rt_env.h"
#include "runtime/live/rt_live_wire.h"

#define RT_LIVE_ERROR (rt_live_error_quark())
GQuark rt_live_error_quark(void);
typedef enum { RT_LIVE_ERROR_SOCKET, RT_LIVE_ERROR_ADDRESS } RtLiveError;

typedef struct RtLiveEnv RtLiveEnv;

/* Creates the env of process process_id, listening on 127.0.0.1:(base_port + process_id).
 * secret (copied) is the run's secret: only envs with the same one talk to each other.
 * storage and observer are borrowed (may be NULL); ctx NULL means the default context.
 * Fails (NULL + error) if the port cannot be bound. */
RtLiveEnv *rt_live_env_new(GMainContext *ctx, RtProcessId process_id, uint16_t base_port,
                           const RtLiveSecret *secret, uint64_t seed, RtStorage *storage,
                           RtObserver *observer, GError **error);
void rt_live_env_free(RtLiveEnv *live);

/* The RtEnv view (borrowed; valid until rt_live_env_free). */
RtEnv *rt_live_env_get(RtLiveEnv *live);

/* Moves the env's time origin to origin_us, a g_get_monotonic_time() value (the
 * monotonic clock is system-wide, so every process of a live cluster given the same
 * origin reads the same now_ns, and a restarted process continues the cluster's time).
 * origin_us must not lie in the future. Call before the env is used. */
void rt_live_env_set_origin_us(RtLiveEnv *live, int64_t origin_us);

#endif /* RT_LIVE_ENV_H */
