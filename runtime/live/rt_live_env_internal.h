/* rt_live_env_internal.h - the live env's state, shared by rt_live_env.c (clock, timers,
 * listening socket, lifecycle) and rt_live_channel.c (the authenticated TCP channels).
 * Not for other modules. */
#ifndef RT_LIVE_ENV_INTERNAL_H
#define RT_LIVE_ENV_INTERNAL_H

#include <gio/gio.h>

#include "runtime/live/rt_live_env.h"
#include "runtime/live/rt_live_wire.h"

/* Bounds of one process's connections (rt_live_env.h). */
#define RT_LIVE_MAX_CHANNELS 512u       /* open or opening, both directions */
#define RT_LIVE_MAX_UNAUTHENTICATED 64u /* accepted, handshake not finished */
#define RT_LIVE_HANDSHAKE_TIMEOUT_MS 5000u
#define RT_LIVE_MAX_LOGGED_REFUSALS 1000u /* then one line per 1000 */

typedef struct LiveListener {
    RtAcceptFunc accept;
    void *user_data;
} LiveListener;

struct RtLiveEnv {
    RtEnv env;
    RtClock clock;
    RtTransport transport;
    RtTransportOps transport_ops; /* rt_live_transport_ops with listen/unlisten */
    GMainContext *ctx;
    gint64 start_us;
    uint16_t base_port;
    RtLiveSecret secret;
    RtTimerId next_timer_id;
    GHashTable *timers;    /* RtTimerId* -> LiveTimer*; lookup only, never iterated */
    GHashTable *listeners; /* port -> LiveListener*; lookup only */
    GPtrArray *channels;   /* every LiveChannel not yet freed */
    uint32_t unauthenticated; /* accepted channels still in their handshake */
    uint64_t refused;         /* connections refused (bad handshake, frame, limit) */
    GSocket *listen_sock;
    GSource *listen_src;
};

/* Logs one line to stderr (the process's log file under a live cluster), prefixed
 * with the process id and the env's time. */
void rt_live_log(RtLiveEnv *live, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* The transport's operations (rt_live_channel.c). */
extern const RtTransportOps rt_live_transport_ops;
/* Takes an accepted socket (owned) as a server-side channel awaiting its HELLO, or
 * refuses it when the limits are reached. */
void rt_live_channel_accepted(RtLiveEnv *live, GSocket *sock);
/* Frees every channel without callbacks (rt_live_env_free). */
void rt_live_channels_destroy_all(RtLiveEnv *live);

#endif /* RT_LIVE_ENV_INTERNAL_H */
