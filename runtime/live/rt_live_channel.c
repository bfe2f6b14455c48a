/* rt_live_channel.c - the live env's channels: TCP on 127.0.0.1 (TCP_NODELAY), the
 * handshake and MACed frames of rt_live_wire.h, bounds on everything a peer can make a
 * process hold, and refusal (close + a log line, never an assertion) of anything that
 * does not follow the wire: a peer without the run's secret never reaches the runtime.
 *
 * States: a client channel goes CONNECTING -> AWAIT_CHALLENGE -> OPEN (messages sent
 * before OPEN are held and framed once the session key is known); a server channel goes
 * AWAIT_HELLO -> AWAIT_PROOF -> OPEN, and only then is it handed to the port's accept
 * callback. Callbacks may free the channel they are called for; a channel therefore
 * defers its own free while dispatching.
 */
#include <assert.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"
#include "runtime/live/rt_live_env_internal.h"

#define READ_CHUNK 65536u
/* Bytes a channel keeps unread: one whole frame plus one read. */
#define IN_BOUND (RT_LIVE_PIECE_BYTES + RT_LIVE_FRAME_OVERHEAD + READ_CHUNK)
#define DIR_C2S 0u
#define DIR_S2C 1u

typedef enum {
    CH_CONNECTING,      /* client: TCP connect pending (HELLO queued) */
    CH_AWAIT_CHALLENGE, /* client */
    CH_AWAIT_HELLO,     /* server */
    CH_AWAIT_PROOF,     /* server */
    CH_OPEN,
    CH_BROKEN
} ChState;

typedef struct LiveChannel {
    RtChannel base; /* first: RtChannel* <-> LiveChannel* */
    RtLiveEnv *live;
    GSocket *sock;
    GSource *io_src;      /* watches IN (and OUT while there is output) */
    GIOCondition io_want; /* the conditions io_src watches */
    GSource *broken_src;  /* idle source delivering on_broken */
    GSource *hs_timer;    /* handshake deadline, NULL once open */
    GByteArray *out;      /* bytes not yet written */
    GByteArray *in;       /* bytes read, not yet framed */
    GByteArray *held;     /* client: messages (u32 len | bytes) sent before OPEN */
    GByteArray *msg;      /* pieces of a fragmented message so far */
    const RtChannelHandler *handler;
    void *user_data;
    RtProcessId peer;
    bool client;
    ChState state;
    RtLiveTranscript tr;
    RtLiveMac mac;
    uint64_t send_seq, recv_seq;
    char *who; /* for logs: "process 2 port 1" or the remote address */
    bool dispatching; /* inside a callback: free is deferred */
    bool free_requested;
} LiveChannel;

static void channel_update_io(LiveChannel *ch);

static void drop_source(GSource **s) {
    if (*s == NULL)
        return;
    g_source_destroy(*s);
    g_source_unref(*s);
    *s = NULL;
}

static void channel_destroy(LiveChannel *ch) {
    drop_source(&ch->io_src);
    drop_source(&ch->broken_src);
    drop_source(&ch->hs_timer);
    if (ch->sock != NULL) {
        g_socket_close(ch->sock, NULL);
        g_object_unref(ch->sock);
    }
    if (!ch->client && (ch->state == CH_AWAIT_HELLO || ch->state == CH_AWAIT_PROOF))
        ch->live->unauthenticated--;
    rt_live_mac_clear(&ch->mac);
    g_byte_array_unref(ch->out);
    g_byte_array_unref(ch->in);
    g_byte_array_unref(ch->held);
    g_byte_array_unref(ch->msg);
    g_free(ch->who);
    g_ptr_array_remove_fast(ch->live->channels, ch);
    g_free(ch);
}

void rt_live_channels_destroy_all(RtLiveEnv *live) {
    while (live->channels->len > 0)
        channel_destroy(g_ptr_array_index(live->channels, live->channels->len - 1));
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

static void set_nodelay(GSocket *sock) {
    g_socket_set_option(sock, IPPROTO_TCP, TCP_NODELAY, 1, NULL); /* best effort */
}

static LiveChannel *channel_new(RtLiveEnv *live, GSocket *sock, ChState state) {
    LiveChannel *ch = g_new0(LiveChannel, 1);
    ch->base.transport = &live->transport;
    ch->live = live;
    ch->sock = sock;
    ch->state = state;
    ch->out = g_byte_array_new();
    ch->in = g_byte_array_new();
    ch->held = g_byte_array_new();
    ch->msg = g_byte_array_new();
    g_socket_set_blocking(sock, FALSE);
    set_nodelay(sock);
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
    if (!ch->client && (ch->state == CH_AWAIT_HELLO || ch->state == CH_AWAIT_PROOF))
        ch->live->unauthenticated--;
    ch->state = CH_BROKEN;
    drop_source(&ch->io_src);
    drop_source(&ch->hs_timer);
    if (ch->sock != NULL) {
        g_socket_close(ch->sock, NULL);
        g_object_unref(ch->sock);
        ch->sock = NULL;
    }
    ch->broken_src = g_idle_source_new();
    g_source_set_callback(ch->broken_src, channel_broken_cb, ch, NULL);
    g_source_attach(ch->broken_src, ch->live->ctx);
}

/* Closes the channel because its peer broke the wire, with a log line (bounded). */
static void channel_refuse(LiveChannel *ch, const char *why) {
    RtLiveEnv *live = ch->live;
    live->refused++;
    if (live->refused <= RT_LIVE_MAX_LOGGED_REFUSALS || live->refused % 1000u == 0)
        rt_live_log(live, "refused connection %s: %s (%" G_GUINT64_FORMAT " refused so far)",
                    ch->who != NULL ? ch->who : "(unknown peer)", why, live->refused);
    channel_break(ch);
}

static char *remote_name(GSocket *sock) {
    GSocketAddress *sa = g_socket_get_remote_address(sock, NULL);
    char *s = NULL;
    if (sa != NULL && G_IS_INET_SOCKET_ADDRESS(sa)) {
        GInetSocketAddress *isa = G_INET_SOCKET_ADDRESS(sa);
        char *ip = g_inet_address_to_string(g_inet_socket_address_get_address(isa));
        s = g_strdup_printf("from %s:%u", ip, g_inet_socket_address_get_port(isa));
        g_free(ip);
    }
    if (sa != NULL)
        g_object_unref(sa);
    return s != NULL ? s : g_strdup("from an unknown address");
}

/* ------------------------------------------------------------------ framing */

/* Appends one message as MACed frames (pieces of at most RT_LIVE_PIECE_BYTES). */
static void frames_append(LiveChannel *ch, const uint8_t *data, size_t len) {
    uint8_t dir = ch->client ? DIR_C2S : DIR_S2C;
    size_t off = 0;
    do {
        size_t n = len - off > RT_LIVE_PIECE_BYTES ? RT_LIVE_PIECE_BYTES : len - off;
        uint8_t flags = off + n < len ? RT_LIVE_FLAG_MORE : 0;
        rt_live_frame_append(&ch->mac, ch->out, dir, ch->send_seq++, flags, data + off,
                             (uint32_t)n);
        off += n;
    } while (off < len);
}

static void raw_append(GByteArray *out, const void *data, uint32_t len) {
    uint8_t hdr[4];
    rt_bytes_store_u32(hdr, len);
    g_byte_array_append(out, hdr, 4);
    if (len > 0)
        g_byte_array_append(out, data, len);
}

/* Both ends authenticated: the session key, then the held messages go out. */
static void channel_open(LiveChannel *ch) {
    rt_live_mac_init(&ch->mac, &ch->live->secret, &ch->tr);
    drop_source(&ch->hs_timer);
    ch->state = CH_OPEN;
    for (size_t off = 0; off + 4 <= ch->held->len;) {
        uint32_t n = rt_bytes_load_u32(ch->held->data + off);
        frames_append(ch, ch->held->data + off + 4, n);
        off += 4 + (size_t)n;
    }
    g_byte_array_set_size(ch->held, 0);
}

static void on_hello(LiveChannel *ch, const uint8_t *p, size_t len) {
    RtLiveEnv *live = ch->live;
    if (!rt_live_hello_decode(p, len, &ch->tr)) {
        channel_refuse(ch, "not a handshake of this wire");
        return;
    }
    char *who = g_strdup_printf("%s claiming process %u port %u", ch->who, ch->tr.src,
                                ch->tr.port);
    g_free(ch->who);
    ch->who = who;
    if (ch->tr.dst != live->env.process_id) {
        channel_refuse(ch, "handshake for another process");
        return;
    }
    rt_live_random_bytes(ch->tr.nonce_s, sizeof ch->tr.nonce_s, NULL);
    uint8_t c[RT_LIVE_CHALLENGE_BYTES];
    rt_live_challenge_encode(c, &live->secret, &ch->tr);
    raw_append(ch->out, c, sizeof c);
    ch->state = CH_AWAIT_PROOF;
}

static void on_proof(LiveChannel *ch, const uint8_t *p, size_t len) {
    RtLiveEnv *live = ch->live;
    if (!rt_live_proof_check(p, len, &live->secret, &ch->tr)) {
        channel_refuse(ch, "handshake proof does not hold the run's secret");
        return;
    }
    LiveListener *l = g_hash_table_lookup(live->listeners, GUINT_TO_POINTER(ch->tr.port));
    if (l == NULL) {
        channel_refuse(ch, "no listener on that port");
        return;
    }
    live->unauthenticated--;
    channel_open(ch);
    ch->peer = ch->tr.src;
    l->accept(&ch->base, ch->peer, l->user_data);
    assert(ch->handler != NULL || ch->free_requested); /* the accept contract */
}

static void on_challenge(LiveChannel *ch, const uint8_t *p, size_t len) {
    RtLiveEnv *live = ch->live;
    if (!rt_live_challenge_check(p, len, &live->secret, &ch->tr)) {
        channel_refuse(ch, "the server does not hold the run's secret");
        return;
    }
    uint8_t proof[RT_LIVE_PROOF_BYTES];
    rt_live_proof_encode(proof, &live->secret, &ch->tr);
    raw_append(ch->out, proof, sizeof proof);
    channel_open(ch);
}

/* Handles one handshake frame; its length must be exact for the state. */
static void on_handshake_frame(LiveChannel *ch, const uint8_t *p, size_t len) {
    if (ch->state == CH_AWAIT_HELLO)
        on_hello(ch, p, len);
    else if (ch->state == CH_AWAIT_PROOF)
        on_proof(ch, p, len);
    else
        on_challenge(ch, p, len);
}

static size_t handshake_len(ChState s) {
    return s == CH_AWAIT_HELLO   ? RT_LIVE_HELLO_BYTES
           : s == CH_AWAIT_PROOF ? RT_LIVE_PROOF_BYTES
                                 : RT_LIVE_CHALLENGE_BYTES;
}

/* One MACed frame at in+off, complete (len bytes of piece). */
static void on_data_frame(LiveChannel *ch, const uint8_t *f, uint32_t len) {
    uint8_t flags = f[4];
    const uint8_t *piece = f + 5;
    uint8_t tag[RT_LIVE_MAC_BYTES];
    rt_live_mac_frame(&ch->mac, ch->client ? DIR_S2C : DIR_C2S, ch->recv_seq++, flags, piece,
                      len, tag);
    if (!rt_live_equal_ct(tag, piece + len, RT_LIVE_MAC_BYTES)) {
        channel_refuse(ch, "frame MAC mismatch (forged, altered or replayed frame)");
        return;
    }
    if ((flags & ~RT_LIVE_FLAG_MORE) != 0) {
        channel_refuse(ch, "unknown frame flags");
        return;
    }
    if ((flags & RT_LIVE_FLAG_MORE) || ch->msg->len > 0) {
        if ((size_t)ch->msg->len + len > RT_LIVE_MAX_MESSAGE_BYTES) {
            channel_refuse(ch, "message longer than the wire's limit");
            return;
        }
        g_byte_array_append(ch->msg, piece, len);
        if (flags & RT_LIVE_FLAG_MORE)
            return;
        GByteArray *m = ch->msg;
        ch->msg = g_byte_array_new();
        ch->handler->on_message(&ch->base, m->data, m->len, ch->user_data);
        g_byte_array_unref(m);
        return;
    }
    ch->handler->on_message(&ch->base, piece, len, ch->user_data);
}

/* Length of the next complete frame at p (avail bytes), 0 if incomplete; sets *bad. */
static size_t next_frame(const LiveChannel *ch, const uint8_t *p, size_t avail, bool *bad) {
    if (avail < 4)
        return 0;
    uint32_t n = rt_bytes_load_u32(p);
    if (ch->state != CH_OPEN) {
        if (n != handshake_len(ch->state)) {
            *bad = true;
            return 0;
        }
        return avail >= 4 + (size_t)n ? 4 + (size_t)n : 0;
    }
    if (n > RT_LIVE_PIECE_BYTES) {
        *bad = true;
        return 0;
    }
    size_t need = RT_LIVE_FRAME_OVERHEAD + (size_t)n;
    return avail >= need ? need : 0;
}

/* Delivers every complete frame in ch->in. Returns false if the channel was freed. */
static bool channel_deliver_frames(LiveChannel *ch) {
    size_t off = 0;
    ch->dispatching = true;
    while (!ch->free_requested && ch->state != CH_BROKEN) {
        bool bad = false;
        const uint8_t *p = ch->in->data + off;
        size_t n = next_frame(ch, p, ch->in->len - off, &bad);
        if (bad)
            channel_refuse(ch, ch->state == CH_OPEN ? "frame longer than the wire's limit"
                                                    : "malformed handshake");
        if (n == 0)
            break;
        off += n;
        if (ch->state == CH_OPEN)
            on_data_frame(ch, p, rt_bytes_load_u32(p));
        else
            on_handshake_frame(ch, p + 4, n - 4);
    }
    ch->dispatching = false;
    if (ch->free_requested) {
        channel_destroy(ch);
        return false;
    }
    g_byte_array_remove_range(ch->in, 0, (guint)off);
    return true;
}

/* ------------------------------------------------------------------ socket I/O */

static void channel_flush(LiveChannel *ch) {
    while (ch->out->len > 0 && ch->state != CH_BROKEN && ch->state != CH_CONNECTING) {
        GError *err = NULL;
        gssize n =
            g_socket_send(ch->sock, (const gchar *)ch->out->data, ch->out->len, NULL, &err);
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

/* Reads what is there (bounded); false if the channel was freed. */
static bool channel_read(LiveChannel *ch) {
    if (ch->in->len >= IN_BOUND) { /* cannot happen: every complete frame was consumed */
        channel_refuse(ch, "input buffer bound reached");
        return true;
    }
    uint8_t buf[READ_CHUNK];
    GError *err = NULL;
    gssize n = g_socket_receive(ch->sock, (gchar *)buf, sizeof buf, NULL, &err);
    bool alive = true;
    if (n > 0) {
        g_byte_array_append(ch->in, buf, (guint)n);
        alive = channel_deliver_frames(ch);
    } else if (n == 0 || !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        channel_break(ch);
    }
    g_clear_error(&err);
    return alive;
}

static gboolean channel_io_cb(GSocket *sock, GIOCondition cond, gpointer data) {
    LiveChannel *ch = data;
    (void)sock;
    if (ch->state == CH_CONNECTING && (cond & (G_IO_OUT | G_IO_ERR | G_IO_HUP))) {
        if (!g_socket_check_connect_result(ch->sock, NULL)) {
            channel_break(ch);
            return G_SOURCE_CONTINUE; /* channel_break destroyed this source */
        }
        ch->state = CH_AWAIT_CHALLENGE;
    }
    if (cond & G_IO_OUT)
        channel_flush(ch);
    if (ch->state != CH_BROKEN && ch->state != CH_CONNECTING &&
        (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
        if (!channel_read(ch))
            return G_SOURCE_REMOVE;
        channel_flush(ch); /* a handshake answer */
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
    drop_source(&ch->io_src);
    ch->io_want = want;
    ch->io_src = g_socket_create_source(ch->sock, want, NULL);
    g_source_set_callback(ch->io_src, (GSourceFunc)(void (*)(void))channel_io_cb, ch, NULL);
    g_source_attach(ch->io_src, ch->live->ctx);
}

static gboolean handshake_timeout_cb(gpointer data) {
    LiveChannel *ch = data;
    g_source_unref(ch->hs_timer);
    ch->hs_timer = NULL;
    channel_refuse(ch, "no handshake within the timeout");
    return G_SOURCE_REMOVE;
}

static void start_handshake_timer(LiveChannel *ch) {
    ch->hs_timer = g_timeout_source_new(RT_LIVE_HANDSHAKE_TIMEOUT_MS);
    g_source_set_callback(ch->hs_timer, handshake_timeout_cb, ch, NULL);
    g_source_attach(ch->hs_timer, ch->live->ctx);
}

/* ------------------------------------------------------------------ transport ops */

static bool live_send(RtChannel *base, const void *data, size_t len) {
    LiveChannel *ch = (LiveChannel *)base;
    if (ch->state == CH_BROKEN)
        return false;
    if (len > RT_LIVE_MAX_MESSAGE_BYTES) {
        rt_live_log(ch->live, "message of %zu bytes to %s exceeds the wire's limit of %u: "
                    "channel closed", len, ch->who, RT_LIVE_MAX_MESSAGE_BYTES);
        channel_break(ch);
        return false;
    }
    if (ch->state != CH_OPEN) {
        raw_append(ch->held, data, (uint32_t)len);
        return true;
    }
    frames_append(ch, data, len);
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
    LiveChannel *ch = channel_new(live, sock, CH_CONNECTING);
    ch->client = true;
    ch->peer = peer;
    ch->handler = handler;
    ch->user_data = user_data;
    ch->who = g_strdup_printf("to process %u port %u", peer, port);
    ch->tr.src = live->env.process_id;
    ch->tr.dst = peer;
    ch->tr.port = port;
    rt_live_random_bytes(ch->tr.nonce_c, sizeof ch->tr.nonce_c, NULL);
    uint8_t hello[RT_LIVE_HELLO_BYTES];
    rt_live_hello_encode(hello, &ch->tr);
    raw_append(ch->out, hello, sizeof hello);
    start_handshake_timer(ch);
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(ia, (guint16)tcp_port);
    g_object_unref(ia);
    GError *err = NULL;
    if (g_socket_connect(sock, sa, NULL, &err)) {
        ch->state = CH_AWAIT_CHALLENGE;
        channel_flush(ch);
    } else if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_PENDING)) {
        channel_break(ch); /* refused at once: on_broken from the loop, as the contract says */
    }
    g_clear_error(&err);
    g_object_unref(sa);
    if (ch->state != CH_BROKEN)
        channel_update_io(ch);
    return &ch->base;
}

void rt_live_channel_accepted(RtLiveEnv *live, GSocket *sock) {
    bool full = live->channels->len >= RT_LIVE_MAX_CHANNELS ||
                live->unauthenticated >= RT_LIVE_MAX_UNAUTHENTICATED;
    LiveChannel *ch = channel_new(live, sock, CH_AWAIT_HELLO);
    ch->who = remote_name(sock);
    live->unauthenticated++;
    if (full) {
        channel_refuse(ch, "connection limit reached");
        return;
    }
    start_handshake_timer(ch);
    channel_update_io(ch);
}

const RtTransportOps rt_live_transport_ops = {
    .name = "tcp",
    .listen = NULL, /* set by rt_live_env.c */
    .unlisten = NULL,
    .connect = live_connect,
    .set_handler = live_set_handler,
    .send = live_send,
    .free = live_channel_free,
    .peer = live_peer,
};
