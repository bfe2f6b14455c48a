/* rt_live_env.c - RtEnv for the real world: a GLib main context, the monotonic clock,
 * GLib timeout sources, the listening socket on 127.0.0.1 and the env's lifecycle (see
 * rt_live_env.h). The channels and their authenticated wire are rt_live_channel.c.
 */
#include "runtime/live/rt_live_env.h"

#include <assert.h>
#include <gio/gio.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/coord/rt_coord_zk.h"
#include "runtime/live/rt_live_env_internal.h"

G_DEFINE_QUARK(rt-live-error-quark, rt_live_error)

#define LIVE_MAX_TIMERS 1000000u

typedef struct LiveTimer {
    struct RtLiveEnv *live;
    RtTimerId id;
    RtTimerFunc fn;
    void *user_data;
    GSource *src;
} LiveTimer;

/* ------------------------------------------------------------------ clock */

static uint64_t live_now_ns(RtClock *self) {
    RtLiveEnv *live = (RtLiveEnv *)((char *)self - offsetof(RtLiveEnv, clock));
    return (uint64_t)(g_get_monotonic_time() - live->start_us) * 1000u;
}

static gboolean live_timer_fire(gpointer data) {
    LiveTimer *t = data;
    RtLiveEnv *live = t->live;
    RtTimerFunc fn = t->fn;
    void *ud = t->user_data;
    g_hash_table_remove(live->timers, &t->id); /* frees t and unrefs its source */
    fn(ud);
    return G_SOURCE_REMOVE;
}

static void live_timer_free(gpointer data) {
    LiveTimer *t = data;
    if (t->src != NULL) {
        g_source_destroy(t->src);
        g_source_unref(t->src);
    }
    g_free(t);
}

static RtTimerId live_timer_start(RtClock *self, uint64_t delay_ns, RtTimerFunc fn,
                                  void *user_data) {
    RtLiveEnv *live = (RtLiveEnv *)((char *)self - offsetof(RtLiveEnv, clock));
    assert(g_hash_table_size(live->timers) < LIVE_MAX_TIMERS);
    LiveTimer *t = g_new0(LiveTimer, 1);
    t->live = live;
    t->id = ++live->next_timer_id;
    t->fn = fn;
    t->user_data = user_data;
    uint64_t ms = (delay_ns + 999999u) / 1000000u;
    t->src = g_timeout_source_new(ms > G_MAXUINT ? G_MAXUINT : (guint)ms);
    g_source_set_callback(t->src, live_timer_fire, t, NULL);
    g_source_attach(t->src, live->ctx);
    g_hash_table_insert(live->timers, &t->id, t);
    return t->id;
}

static bool live_timer_cancel(RtClock *self, RtTimerId id) {
    RtLiveEnv *live = (RtLiveEnv *)((char *)self - offsetof(RtLiveEnv, clock));
    return g_hash_table_remove(live->timers, &id);
}

static const RtClockOps live_clock_ops = {
    .name = "live",
    .now_ns = live_now_ns,
    .timer_start = live_timer_start,
    .timer_cancel = live_timer_cancel,
};

static gboolean listen_cb(GSocket *sock, GIOCondition cond, gpointer data) {
    RtLiveEnv *live = data;
    (void)cond;
    for (int i = 0; i < 64; i++) { /* bounded: other sources get their turn */
        GSocket *c = g_socket_accept(sock, NULL, NULL);
        if (c == NULL)
            break;
        rt_live_channel_accepted(live, c);
    }
    return G_SOURCE_CONTINUE;
}

static bool live_listen(RtTransport *self, uint32_t port, RtAcceptFunc accept, void *ud,
                        GError **error) {
    RtLiveEnv *live = (RtLiveEnv *)((char *)self - offsetof(RtLiveEnv, transport));
    (void)error;
    LiveListener *l = g_new0(LiveListener, 1);
    l->accept = accept;
    l->user_data = ud;
    g_hash_table_replace(live->listeners, GUINT_TO_POINTER(port), l);
    return true;
}

static void live_unlisten(RtTransport *self, uint32_t port) {
    RtLiveEnv *live = (RtLiveEnv *)((char *)self - offsetof(RtLiveEnv, transport));
    g_hash_table_remove(live->listeners, GUINT_TO_POINTER(port));
}

void rt_live_log(RtLiveEnv *live, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    uint64_t ms = (uint64_t)(g_get_monotonic_time() - live->start_us) / 1000u;
    fprintf(stderr, "[%" G_GUINT64_FORMAT " ms] process %u: %s\n", ms, live->env.process_id,
            msg);
    fflush(stderr);
    g_free(msg);
}

/* -------------------------------------------------------------------- env */

static bool live_bind(RtLiveEnv *live, GError **error) {
    uint32_t tcp_port = (uint32_t)live->base_port + live->env.process_id;
    if (tcp_port > 65535) {
        g_set_error(error, RT_LIVE_ERROR, RT_LIVE_ERROR_ADDRESS,
                    "base port %u + process %u is not a TCP port", live->base_port,
                    live->env.process_id);
        return false;
    }
    live->listen_sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_TCP, error);
    if (live->listen_sock == NULL)
        return false;
    g_socket_set_blocking(live->listen_sock, FALSE);
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(ia, (guint16)tcp_port);
    g_object_unref(ia);
    bool ok = g_socket_bind(live->listen_sock, sa, TRUE, error) &&
              g_socket_listen(live->listen_sock, error);
    g_object_unref(sa);
    if (!ok) {
        g_prefix_error(error, "cannot listen on 127.0.0.1:%u: ", tcp_port);
        return false;
    }
    live->listen_src = g_socket_create_source(live->listen_sock, G_IO_IN, NULL);
    g_source_set_callback(live->listen_src, (GSourceFunc)(void (*)(void))listen_cb, live, NULL);
    g_source_attach(live->listen_src, live->ctx);
    return true;
}

/* env->coord_open: a real ZooKeeper session whose callbacks run on this env's context. */
static RtCoord *live_coord_open(RtEnv *env, const RtCoordConfig *cfg, GError **error) {
    RtLiveEnv *live = env->world;
    return rt_coord_zk_open(live->ctx, cfg, error);
}

RtLiveEnv *rt_live_env_new(GMainContext *ctx, RtProcessId process_id, uint16_t base_port,
                           const RtLiveSecret *secret, uint64_t seed, RtStorage *storage,
                           RtObserver *observer, GError **error) {
    assert(secret != NULL);
    RtLiveEnv *live = g_new0(RtLiveEnv, 1);
    live->secret = *secret;
    live->transport_ops = rt_live_transport_ops;
    live->transport_ops.listen = live_listen;
    live->transport_ops.unlisten = live_unlisten;
    live->ctx = ctx != NULL ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
    live->start_us = g_get_monotonic_time();
    live->base_port = base_port;
    live->clock.ops = &live_clock_ops;
    live->transport.ops = &live->transport_ops;
    live->timers = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, live_timer_free);
    live->listeners = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    live->channels = g_ptr_array_new();
    live->env.process_id = process_id;
    live->env.clock = &live->clock;
    live->env.transport = &live->transport;
    live->env.storage = storage;
    live->env.observer = observer;
    live->env.seed = seed;
    live->env.coord_open = live_coord_open;
    live->env.world = live;
    if (!live_bind(live, error)) {
        rt_live_env_free(live);
        return NULL;
    }
    return live;
}

void rt_live_env_free(RtLiveEnv *live) {
    if (live == NULL)
        return;
    rt_live_channels_destroy_all(live);
    g_ptr_array_unref(live->channels);
    g_hash_table_destroy(live->timers);
    g_hash_table_destroy(live->listeners);
    if (live->listen_src != NULL) {
        g_source_destroy(live->listen_src);
        g_source_unref(live->listen_src);
    }
    if (live->listen_sock != NULL) {
        g_socket_close(live->listen_sock, NULL);
        g_object_unref(live->listen_sock);
    }
    g_main_context_unref(live->ctx);
    memset(&live->secret, 0, sizeof live->secret);
    g_free(live);
}

RtEnv *rt_live_env_get(RtLiveEnv *live) {
    assert(live != NULL);
    return &live->env;
}

void rt_live_env_set_origin_us(RtLiveEnv *live, int64_t origin_us) {
    assert(live != NULL);
    assert(origin_us <= g_get_monotonic_time());
    live->start_us = origin_us;
}
