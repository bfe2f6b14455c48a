/* rt_live_env.c - RtEnv for the real world: a GLib main context, the monotonic clock,
 * GLib timeout sources, and framed TCP on 127.0.0.1 (see rt_live_env.h).
 *
 * Wire format of a channel: every frame is a 4-byte little-endian length followed by
 * that many bytes. The connecting side's first frame is the handshake: magic, source
 * process id, logical port (three little-endian u32). Callbacks may free the channel
 * they are called for; a channel therefore defers its own free while dispatching.
 */
#include "runtime/live/rt_live_env.h"

#include "runtime/coord/rt_coord_zk.h"
#include "runtime/env/rt_bytes.h"

#include <assert.h>
#include <gio/gio.h>
#include <string.h>

G_DEFINE_QUARK(rt-live-error-quark, rt_live_error)

#define LIVE_HANDSHAKE_MAGIC 0x434b5054u /* "CKPT" */
#define LIVE_MAX_TIMERS 1000000u

typedef struct LiveListener {
    RtAcceptFunc accept;
    void *user_data;
} LiveListener;

typedef enum { CH_CONNECTING, CH_AWAIT_HANDSHAKE, CH_OPEN, CH_BROKEN } ChState;

typedef struct LiveChannel {
    RtChannel base; /* first: RtChannel* <-> LiveChannel* */
    struct RtLiveEnv *live;
    GSocket *sock;
    GSource *io_src;        /* watches IN (and OUT while there is output) */
    GIOCondition io_want;   /* the conditions io_src watches */
    GSource *broken_src;    /* idle source delivering on_broken */
    GByteArray *out;        /* bytes not yet written */
    GByteArray *in;         /* bytes read, not yet framed */
    const RtChannelHandler *handler;
    void *user_data;
    RtProcessId peer;
    ChState state;
    bool dispatching;       /* inside a callback: free is deferred */
    bool free_requested;
} LiveChannel;

typedef struct LiveTimer {
    struct RtLiveEnv *live;
    RtTimerId id;
    RtTimerFunc fn;
    void *user_data;
    GSource *src;
} LiveTimer;

struct RtLiveEnv {
    RtEnv env;
    RtClock clock;
    RtTransport transport;
    GMainContext *ctx;
    gint64 start_us;
    uint16_t base_port;
    RtTimerId next_timer_id;
    GHashTable *timers;     /* RtTimerId* -> LiveTimer*; lookup only, never iterated */
    GHashTable *listeners;  /* port -> LiveListener*; lookup only */
    GPtrArray *channels;    /* every LiveChannel not yet freed */
    GSocket *listen_sock;
    GSource *listen_src;
};

static void channel_update_io(LiveChannel *ch);
static void channel_break(LiveChannel *ch);

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

/* ---------------------------------------------------------------- channels */

static void channel_destroy(LiveChannel *ch) {
    if (ch->io_src != NULL) {
        g_source_destroy(ch->io_src);
        g_source_unref(ch->io_src);
    }
    if (ch->broken_src != NULL) {
        g_source_destroy(ch->broken_src);
        g_source_unref(ch->broken_src);
    }
    if (ch->sock != NULL) {
        g_socket_close(ch->sock, NULL);
        g_object_unref(ch->sock);
    }
    g_byte_array_unref(ch->out);
    g_byte_array_unref(ch->in);
    g_ptr_array_remove_fast(ch->live->channels, ch);
    g_free(ch);
}

/* Frees now, or after the running callback returns. */
static void live_channel_free(RtChannel *base) {
    LiveChannel *ch = (LiveChannel *)base;
    if (ch->dispatching) {
        ch->free_requested = true;
        return;
    }
    channel_destroy(ch);
}

static LiveChannel *channel_new(RtLiveEnv *live, GSocket *sock, ChState state) {
    LiveChannel *ch = g_new0(LiveChannel, 1);
    ch->base.transport = &live->transport;
    ch->live = live;
    ch->sock = sock;
    ch->state = state;
    ch->out = g_byte_array_new();
    ch->in = g_byte_array_new();
    g_ptr_array_add(live->channels, ch);
    return ch;
}

static gboolean channel_broken_cb(gpointer data) {
    LiveChannel *ch = data;
    g_source_unref(ch->broken_src);
    ch->broken_src = NULL;
    if (ch->handler == NULL) { /* never accepted: nobody to tell */
        channel_destroy(ch);
        return G_SOURCE_REMOVE;
    }
    ch->dispatching = true;
    ch->handler->on_broken(&ch->base, ch->user_data);
    ch->dispatching = false;
    if (ch->free_requested)
        channel_destroy(ch);
    return G_SOURCE_REMOVE;
}

/* Marks the channel broken and tells its owner from the loop (never re-entrantly). */
static void channel_break(LiveChannel *ch) {
    if (ch->state == CH_BROKEN)
        return;
    ch->state = CH_BROKEN;
    if (ch->io_src != NULL) {
        g_source_destroy(ch->io_src);
        g_source_unref(ch->io_src);
        ch->io_src = NULL;
    }
    if (ch->sock != NULL) {
        g_socket_close(ch->sock, NULL);
        g_object_unref(ch->sock);
        ch->sock = NULL;
    }
    ch->broken_src = g_idle_source_new();
    g_source_set_callback(ch->broken_src, channel_broken_cb, ch, NULL);
    g_source_attach(ch->broken_src, ch->live->ctx);
}

static void channel_accept_handshake(LiveChannel *ch, const uint8_t *p, size_t len) {
    if (len != 12 || rt_bytes_load_u32(p) != LIVE_HANDSHAKE_MAGIC) {
        channel_break(ch);
        return;
    }
    ch->peer = rt_bytes_load_u32(p + 4);
    uint32_t port = rt_bytes_load_u32(p + 8);
    LiveListener *l = g_hash_table_lookup(ch->live->listeners, GUINT_TO_POINTER(port));
    if (l == NULL) {
        channel_break(ch);
        return;
    }
    ch->state = CH_OPEN;
    l->accept(&ch->base, ch->peer, l->user_data);
    assert(ch->handler != NULL || ch->free_requested); /* the accept contract */
}

/* Delivers every complete frame in ch->in. Returns false if the channel was freed. */
static bool channel_deliver_frames(LiveChannel *ch) {
    size_t off = 0;
    bool alive = true;
    ch->dispatching = true;
    while (ch->in->len - off >= 4 && !ch->free_requested && ch->state != CH_BROKEN) {
        uint32_t n = rt_bytes_load_u32(ch->in->data + off);
        if (n > RT_LIVE_MAX_FRAME_BYTES) {
            channel_break(ch);
            break;
        }
        if (ch->in->len - off - 4 < n)
            break;
        const uint8_t *frame = ch->in->data + off + 4;
        off += 4 + (size_t)n;
        if (ch->state == CH_AWAIT_HANDSHAKE)
            channel_accept_handshake(ch, frame, n);
        else
            ch->handler->on_message(&ch->base, frame, n, ch->user_data);
    }
    ch->dispatching = false;
    if (ch->free_requested) {
        channel_destroy(ch);
        alive = false;
    } else {
        g_byte_array_remove_range(ch->in, 0, (guint)off);
    }
    return alive;
}

static void channel_flush(LiveChannel *ch) {
    while (ch->out->len > 0 && ch->state != CH_BROKEN) {
        GError *err = NULL;
        gssize n = g_socket_send(ch->sock, (const gchar *)ch->out->data, ch->out->len, NULL,
                                 &err);
        if (n < 0) {
            bool again = g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
            g_error_free(err);
            if (!again)
                channel_break(ch);
            return;
        }
        g_byte_array_remove_range(ch->out, 0, (guint)n);
    }
}

static gboolean channel_io_cb(GSocket *sock, GIOCondition cond, gpointer data) {
    LiveChannel *ch = data;
    (void)sock;
    if (ch->state == CH_CONNECTING && (cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP))) {
        if (!g_socket_check_connect_result(ch->sock, NULL)) {
            channel_break(ch);
            return G_SOURCE_CONTINUE; /* channel_break destroyed this source */
        }
        ch->state = CH_OPEN;
    }
    if (cond & G_IO_OUT)
        channel_flush(ch);
    if (ch->state != CH_BROKEN && (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
        uint8_t buf[65536];
        GError *err = NULL;
        gssize n = g_socket_receive(ch->sock, (gchar *)buf, sizeof buf, NULL, &err);
        if (n > 0) {
            g_byte_array_append(ch->in, buf, (guint)n);
            if (!channel_deliver_frames(ch))
                return G_SOURCE_REMOVE;
        } else if (n == 0 || !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            channel_break(ch);
        }
        g_clear_error(&err);
    }
    if (ch->state != CH_BROKEN)
        channel_update_io(ch);
    return G_SOURCE_CONTINUE;
}

/* (Re)creates the socket source for the conditions the channel now waits for. */
static void channel_update_io(LiveChannel *ch) {
    GIOCondition want = G_IO_IN | G_IO_HUP | G_IO_ERR;
    if (ch->out->len > 0 || ch->state == CH_CONNECTING)
        want |= G_IO_OUT;
    if (ch->io_src != NULL && ch->io_want == want)
        return;
    if (ch->io_src != NULL) {
        g_source_destroy(ch->io_src);
        g_source_unref(ch->io_src);
    }
    ch->io_want = want;
    ch->io_src = g_socket_create_source(ch->sock, want, NULL);
    g_source_set_callback(ch->io_src, (GSourceFunc)(void (*)(void))channel_io_cb, ch, NULL);
    g_source_attach(ch->io_src, ch->live->ctx);
}

static void frame_append(GByteArray *out, const void *data, size_t len) {
    uint8_t hdr[4];
    rt_bytes_store_u32(hdr, (uint32_t)len);
    g_byte_array_append(out, hdr, 4);
    if (len > 0)
        g_byte_array_append(out, data, (guint)len);
}

static bool live_send(RtChannel *base, const void *data, size_t len) {
    LiveChannel *ch = (LiveChannel *)base;
    assert(len <= RT_LIVE_MAX_FRAME_BYTES);
    if (ch->state == CH_BROKEN)
        return false;
    frame_append(ch->out, data, len);
    if (ch->state == CH_OPEN)
        channel_flush(ch);
    if (ch->state != CH_BROKEN)
        channel_update_io(ch);
    return true;
}

static void live_set_handler(RtChannel *base, const RtChannelHandler *handler, void *ud) {
    LiveChannel *ch = (LiveChannel *)base;
    ch->handler = handler;
    ch->user_data = ud;
}

static RtProcessId live_peer(RtChannel *base) {
    return ((LiveChannel *)base)->peer;
}

static GSocketAddress *loopback_address(uint16_t port) {
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(ia, port);
    g_object_unref(ia);
    return sa;
}

static RtChannel *live_connect(RtTransport *self, RtProcessId peer, uint32_t port,
                               const RtChannelHandler *handler, void *user_data,
                               GError **error) {
    RtLiveEnv *live = (RtLiveEnv *)((char *)self - offsetof(RtLiveEnv, transport));
    uint32_t tcp_port = (uint32_t)live->base_port + peer;
    if (tcp_port > 65535) {
        g_set_error(error, RT_LIVE_ERROR, RT_LIVE_ERROR_ADDRESS,
                    "process %u has no TCP port (base port %u)", peer, live->base_port);
        return NULL;
    }
    GSocket *sock = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, error);
    if (sock == NULL)
        return NULL;
    g_socket_set_blocking(sock, FALSE);
    LiveChannel *ch = channel_new(live, sock, CH_CONNECTING);
    ch->peer = peer;
    ch->handler = handler;
    ch->user_data = user_data;
    uint8_t hs[12];
    rt_bytes_store_u32(hs, LIVE_HANDSHAKE_MAGIC);
    rt_bytes_store_u32(hs + 4, live->env.process_id);
    rt_bytes_store_u32(hs + 8, port);
    frame_append(ch->out, hs, sizeof hs);
    GSocketAddress *sa = loopback_address((uint16_t)tcp_port);
    GError *err = NULL;
    if (g_socket_connect(sock, sa, NULL, &err)) {
        ch->state = CH_OPEN;
    } else if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_PENDING)) {
        channel_break(ch); /* refused at once: on_broken from the loop, as the contract says */
    }
    g_clear_error(&err);
    g_object_unref(sa);
    if (ch->state != CH_BROKEN)
        channel_update_io(ch);
    return &ch->base;
}

static gboolean listen_cb(GSocket *sock, GIOCondition cond, gpointer data) {
    RtLiveEnv *live = data;
    (void)cond;
    for (int i = 0; i < 64; i++) { /* bounded: other sources get their turn */
        GSocket *c = g_socket_accept(sock, NULL, NULL);
        if (c == NULL)
            break;
        g_socket_set_blocking(c, FALSE);
        LiveChannel *ch = channel_new(live, c, CH_AWAIT_HANDSHAKE);
        channel_update_io(ch);
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

static const RtTransportOps live_transport_ops = {
    .name = "tcp",
    .listen = live_listen,
    .unlisten = live_unlisten,
    .connect = live_connect,
    .set_handler = live_set_handler,
    .send = live_send,
    .free = live_channel_free,
    .peer = live_peer,
};

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
    GSocketAddress *sa = loopback_address((uint16_t)tcp_port);
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
                           uint64_t seed, RtStorage *storage, RtObserver *observer,
                           GError **error) {
    RtLiveEnv *live = g_new0(RtLiveEnv, 1);
    live->ctx = ctx != NULL ? g_main_context_ref(ctx) : g_main_context_ref_thread_default();
    live->start_us = g_get_monotonic_time();
    live->base_port = base_port;
    live->clock.ops = &live_clock_ops;
    live->transport.ops = &live_transport_ops;
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
    while (live->channels->len > 0)
        channel_destroy(g_ptr_array_index(live->channels, live->channels->len - 1));
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
