/* test_live_env.c - the live world's clock, timers and TCP transport (suite unit).
 * Two envs (processes 0 and 1) share one GMainContext in this test process and talk
 * over real loopback sockets. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "runtime/env/rt_bytes.h"
#include "runtime/live/rt_live_env.h"
#include "tests/support/test_check.h"

typedef struct {
    GMainContext *ctx;
    RtLiveEnv *a, *b;
    RtChannel *client, *server;
    GPtrArray *got;       /* messages received by the server side, as GBytes */
    int broken_client, broken_server;
    int fired[4];
    int accepted;
} Fixture;

static Fixture fx;
static const RtLiveSecret test_secret = {{1, 2, 3, 4, 5, 6, 7, 8}};
static uint16_t base_port;

static void on_server_msg(RtChannel *ch, const void *data, size_t len, void *ud) {
    (void)ch;
    (void)ud;
    g_ptr_array_add(fx.got, g_bytes_new(data, len));
}
static void on_server_broken(RtChannel *ch, void *ud) {
    (void)ud;
    fx.broken_server++;
    rt_channel_free(ch);
    fx.server = NULL;
}
static const RtChannelHandler server_handler = {on_server_msg, on_server_broken};

static void on_client_msg(RtChannel *ch, const void *data, size_t len, void *ud) {
    (void)ch; (void)data; (void)len; (void)ud;
}
static void on_client_broken(RtChannel *ch, void *ud) {
    (void)ud;
    fx.broken_client++;
    rt_channel_free(ch);
    fx.client = NULL;
}
static const RtChannelHandler client_handler = {on_client_msg, on_client_broken};

static void on_accept(RtChannel *ch, RtProcessId peer, void *ud) {
    (void)ud;
    ck_assert_uint_eq(peer, 0);
    fx.accepted++;
    fx.server = ch;
    rt_channel_set_handler(ch, &server_handler, NULL);
}

static void spin_until(bool (*cond)(void), int max_iterations) {
    for (int i = 0; i < max_iterations && !cond(); i++)
        g_main_context_iteration(fx.ctx, TRUE);
}

static void setup(void) {
    memset(&fx, 0, sizeof fx);
    fx.ctx = g_main_context_new();
    fx.got = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    /* Find two free consecutive ports: try a few bases derived from our pid. */
    for (int attempt = 0; attempt < 50 && fx.b == NULL; attempt++) {
        base_port = (uint16_t)(20000 + (getpid() * 7 + attempt * 131) % 40000);
        rt_live_env_free(fx.a);
        fx.a = rt_live_env_new(fx.ctx, 0, base_port, &test_secret, 1, NULL, NULL, NULL);
        if (fx.a != NULL)
            fx.b = rt_live_env_new(fx.ctx, 1, base_port, &test_secret, 1, NULL, NULL, NULL);
    }
    ck_assert_ptr_nonnull(fx.b);
}

static void teardown(void) {
    rt_channel_free(fx.client);
    rt_channel_free(fx.server);
    rt_live_env_free(fx.a);
    rt_live_env_free(fx.b);
    g_ptr_array_unref(fx.got);
    g_main_context_unref(fx.ctx);
}

static bool got_100(void) { return fx.got->len >= 100; }
static bool server_broken(void) { return fx.broken_server > 0; }
static bool client_broken(void) { return fx.broken_client > 0; }

START_TEST(test_fifo_frames) {
    ck_assert(rt_env_listen(rt_live_env_get(fx.b), 7, on_accept, NULL, NULL));
    fx.client = rt_env_connect(rt_live_env_get(fx.a), 1, 7, &client_handler, NULL, NULL);
    ck_assert_ptr_nonnull(fx.client);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t msg[64];
        for (int j = 0; j < 64; j++)
            msg[j] = i * 1000 + (uint32_t)j;
        ck_assert(rt_channel_send(fx.client, msg, (i % 64 + 1) * sizeof(uint32_t)));
    }
    spin_until(got_100, 10000);
    ck_assert_uint_eq(fx.got->len, 100);
    for (uint32_t i = 0; i < 100; i++) {
        gsize len = 0;
        const uint32_t *m = g_bytes_get_data(g_ptr_array_index(fx.got, i), &len);
        ck_assert_uint_eq(len, (i % 64 + 1) * sizeof(uint32_t));
        ck_assert_uint_eq(m[0], i * 1000);
        ck_assert_uint_eq(m[len / 4 - 1], i * 1000 + (uint32_t)(len / 4 - 1));
    }
    /* Closing one end breaks the other. */
    rt_channel_free(fx.client);
    fx.client = NULL;
    spin_until(server_broken, 10000);
    ck_assert_int_eq(fx.broken_server, 1);
}
END_TEST

START_TEST(test_connect_to_nobody_breaks_later) {
    /* Process 5 does not exist: the connect returns a channel, on_broken comes later. */
    fx.client = rt_env_connect(rt_live_env_get(fx.a), 5, 7, &client_handler, NULL, NULL);
    ck_assert_ptr_nonnull(fx.client);
    ck_assert_int_eq(fx.broken_client, 0); /* never before the call returns */
    spin_until(client_broken, 10000);
    ck_assert_int_eq(fx.broken_client, 1);
}
END_TEST

START_TEST(test_unlistened_port_breaks) {
    fx.client = rt_env_connect(rt_live_env_get(fx.a), 1, 99, &client_handler, NULL, NULL);
    spin_until(client_broken, 10000);
    ck_assert_int_eq(fx.broken_client, 1);
}
END_TEST

static void fire(void *ud) {
    fx.fired[GPOINTER_TO_INT(ud)]++;
}
static bool fired_1_and_3(void) { return fx.fired[1] && fx.fired[3]; }

START_TEST(test_timers) {
    RtEnv *env = rt_live_env_get(fx.a);
    uint64_t t0 = rt_env_now_ns(env);
    rt_env_timer_start(env, 2000000, fire, GINT_TO_POINTER(1));
    RtTimerId t2 = rt_env_timer_start(env, 1000000, fire, GINT_TO_POINTER(2));
    rt_env_timer_start(env, 5000000, fire, GINT_TO_POINTER(3));
    ck_assert(rt_env_timer_cancel(env, t2));
    ck_assert(!rt_env_timer_cancel(env, t2));
    spin_until(fired_1_and_3, 100000);
    ck_assert_int_eq(fx.fired[1], 1);
    ck_assert_int_eq(fx.fired[2], 0);
    ck_assert_int_eq(fx.fired[3], 1);
    ck_assert_uint_ge(rt_env_now_ns(env) - t0, 5000000);
}
END_TEST

static bool got_1(void) { return fx.got->len >= 1; }

/* A message larger than one frame piece (a 20 MiB snapshot handle) goes through whole. */
START_TEST(test_big_message_in_pieces) {
    ck_assert(rt_env_listen(rt_live_env_get(fx.b), 7, on_accept, NULL, NULL));
    fx.client = rt_env_connect(rt_live_env_get(fx.a), 1, 7, &client_handler, NULL, NULL);
    size_t len = 20u << 20;
    uint8_t *big = g_malloc(len);
    for (size_t i = 0; i < len; i++)
        big[i] = (uint8_t)(i * 31u + (i >> 20));
    ck_assert(rt_channel_send(fx.client, big, len));
    spin_until(got_1, 100000);
    ck_assert_uint_eq(fx.got->len, 1);
    gsize got_len = 0;
    const uint8_t *m = g_bytes_get_data(g_ptr_array_index(fx.got, 0), &got_len);
    ck_assert_uint_eq(got_len, len);
    ck_assert(memcmp(m, big, len) == 0);
    g_free(big);
    /* Beyond the wire's limit: refused (false, channel broken), never an assertion. */
    ck_assert(!rt_channel_send(fx.client, "", (size_t)RT_LIVE_MAX_MESSAGE_BYTES + 1));
}
END_TEST

/* An env of another run (another secret) cannot connect: both ends refuse. */
START_TEST(test_other_secret_refused) {
    static const RtLiveSecret other = {{9, 9, 9}};
    RtLiveEnv *c = rt_live_env_new(fx.ctx, 2, base_port, &other, 1, NULL, NULL, NULL);
    ck_assert_ptr_nonnull(c);
    ck_assert(rt_env_listen(rt_live_env_get(fx.b), 7, on_accept, NULL, NULL));
    fx.client = rt_env_connect(rt_live_env_get(c), 1, 7, &client_handler, NULL, NULL);
    ck_assert(rt_channel_send(fx.client, "hello", 5));
    spin_until(client_broken, 10000);
    ck_assert_int_eq(fx.broken_client, 1);
    for (int i = 0; i < 50; i++)
        g_main_context_iteration(fx.ctx, FALSE);
    ck_assert_int_eq(fx.accepted, 0);
    ck_assert_uint_eq(fx.got->len, 0);
    rt_live_env_free(c);
}
END_TEST

/* Raw bytes to process 1's port; true when the process closed the connection. */
static bool raw_refused(const uint8_t *bytes, size_t len) {
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(ia, (guint16)(base_port + 1));
    ck_assert(g_socket_connect(s, sa, NULL, NULL));
    g_object_unref(sa);
    g_object_unref(ia);
    ck_assert_int_eq(g_socket_send(s, (const gchar *)bytes, len, NULL, NULL), (gssize)len);
    g_socket_set_blocking(s, FALSE);
    bool closed = false;
    for (int i = 0; i < 2000 && !closed; i++) {
        g_main_context_iteration(fx.ctx, FALSE);
        char buf[256];
        GError *e = NULL;
        gssize n = g_socket_receive(s, buf, sizeof buf, NULL, &e);
        closed = n == 0 || (n < 0 && !g_error_matches(e, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK));
        g_clear_error(&e);
        if (!closed)
            g_usleep(1000);
    }
    g_socket_close(s, NULL);
    g_object_unref(s);
    return closed;
}

/* The old unauthenticated handshake claiming process 0, then a forged DEPLOY; a HELLO
 * whose proof is made with the wrong key; garbage: each is closed, nothing accepted. */
START_TEST(test_forged_connections_refused) {
    ck_assert(rt_env_listen(rt_live_env_get(fx.b), 7, on_accept, NULL, NULL));
    uint8_t old[16 + 30] = {0};
    rt_bytes_store_u32(old, 12);
    rt_bytes_store_u32(old + 4, 0x434b5054u);
    rt_bytes_store_u32(old + 8, 0);
    rt_bytes_store_u32(old + 12, 7);
    rt_bytes_store_u32(old + 16, 26);
    old[20] = 1;                           /* version */
    old[21] = 2;                           /* DEPLOY */
    rt_bytes_store_u32(old + 22, 0xffffffffu); /* attempt */
    ck_assert(raw_refused(old, sizeof old));
    RtLiveTranscript t = {.src = 0, .dst = 1, .port = 7};
    uint8_t hello[4 + RT_LIVE_HELLO_BYTES + 4 + RT_LIVE_PROOF_BYTES];
    rt_bytes_store_u32(hello, RT_LIVE_HELLO_BYTES);
    rt_live_hello_encode(hello + 4, &t);
    static const RtLiveSecret guess = {{1, 2, 3}};
    rt_bytes_store_u32(hello + 4 + RT_LIVE_HELLO_BYTES, RT_LIVE_PROOF_BYTES);
    rt_live_proof_encode(hello + 8 + RT_LIVE_HELLO_BYTES, &guess, &t);
    ck_assert(raw_refused(hello, sizeof hello));
    uint8_t junk[4096];
    memset(junk, 0xff, sizeof junk);
    ck_assert(raw_refused(junk, sizeof junk));
    ck_assert_int_eq(fx.accepted, 0);
    /* The real process 0 still gets through. */
    fx.client = rt_env_connect(rt_live_env_get(fx.a), 1, 7, &client_handler, NULL, NULL);
    ck_assert(rt_channel_send(fx.client, "ok", 2));
    spin_until(got_1, 10000);
    ck_assert_int_eq(fx.accepted, 1);
}
END_TEST

static Suite *live_env_suite(void) {
    Suite *s = suite_create("live_env");
    TCase *tc = tcase_create("transport");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fifo_frames);
    tcase_add_test(tc, test_connect_to_nobody_breaks_later);
    tcase_add_test(tc, test_unlistened_port_breaks);
    tcase_add_test(tc, test_timers);
    tcase_add_test(tc, test_big_message_in_pieces);
    tcase_add_test(tc, test_other_secret_refused);
    tcase_add_test(tc, test_forged_connections_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(live_env_suite());
}
