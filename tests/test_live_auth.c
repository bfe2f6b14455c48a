/* test_live_auth.c - `ckptsim live` under forged traffic (suite live): while the linear
 * job runs as real processes, a stranger that does not hold the run's secret connects to
 * the job manager's and the worker's ports and sends what once broke a run (the old bare
 * handshake claiming process 1 followed by a DEPLOY with attempt 0xFFFFFFFF, a BUFFER of
 * records, a BARRIER, an ACK), a handshake with a proof made under a guessed key, and
 * connections that never handshake. Nothing changes: the run passes exactly-once, and
 * the processes' logs name the refused connections. */
#include <check.h>
#include <gio/gio.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "runtime/env/rt_bytes.h"
#include "runtime/live/rt_live_wire.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

#define IDLE_CONNECTIONS 40

static GSocket *dial(uint32_t port) {
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(ia, (guint16)port);
    bool ok = g_socket_connect(s, sa, NULL, NULL);
    g_object_unref(sa);
    g_object_unref(ia);
    if (!ok) {
        g_object_unref(s);
        return NULL;
    }
    return s;
}

static void put_frame(GByteArray *out, const uint8_t *p, uint32_t len) {
    uint8_t hdr[4];
    rt_bytes_store_u32(hdr, len);
    g_byte_array_append(out, hdr, 4);
    g_byte_array_append(out, p, len);
}

/* A protocol message header (version, type, attempt) and some body. */
static void put_message(GByteArray *out, uint8_t type, uint32_t attempt, uint32_t body) {
    uint8_t *m = g_malloc0(6 + body);
    m[0] = 1;
    m[1] = type;
    rt_bytes_store_u32(m + 2, attempt);
    for (uint32_t i = 0; i < body; i++)
        m[6 + i] = (uint8_t)(i * 7u);
    put_frame(out, m, 6 + body);
    g_free(m);
}

/* The pre-authentication wire: a bare handshake naming process 1, then messages. */
static GByteArray *forged_old(uint8_t type, uint32_t port) {
    GByteArray *b = g_byte_array_new();
    uint8_t hs[12];
    rt_bytes_store_u32(hs, 0x434b5054u);
    rt_bytes_store_u32(hs + 4, 1);
    rt_bytes_store_u32(hs + 8, port);
    put_frame(b, hs, sizeof hs);
    put_message(b, type, 0xffffffffu, type == 32 ? 100u * 36u + 8u : 24u);
    return b;
}

/* The new wire with a guessed key: HELLO, a wrong PROOF, then a message. */
static GByteArray *forged_guess(uint32_t dst, uint32_t port) {
    GByteArray *b = g_byte_array_new();
    RtLiveTranscript t = {.src = dst == 0 ? 1u : 0u, .dst = dst, .port = port};
    uint8_t hello[RT_LIVE_HELLO_BYTES], proof[RT_LIVE_PROOF_BYTES];
    rt_live_hello_encode(hello, &t);
    static const RtLiveSecret guess = {{0}};
    rt_live_proof_encode(proof, &guess, &t);
    put_frame(b, hello, sizeof hello);
    put_frame(b, proof, sizeof proof);
    put_message(b, 2, 0xffffffffu, 24);
    return b;
}

static unsigned send_and_close(uint32_t tcp_port, GByteArray *b) {
    GSocket *s = dial(tcp_port);
    unsigned sent = 0;
    if (s != NULL) {
        sent = g_socket_send(s, (const gchar *)b->data, b->len, NULL, NULL) > 0;
        g_usleep(20000);
        g_socket_close(s, NULL);
        g_object_unref(s);
    }
    g_byte_array_unref(b);
    return sent;
}

/* One round of forgeries at the job manager (process 0) and the worker (process 1). */
static unsigned forge_round(uint16_t base) {
    static const uint8_t types[] = {2, 32, 33, 5}; /* DEPLOY BUFFER BARRIER ACK */
    unsigned sent = 0;
    for (unsigned i = 0; i < G_N_ELEMENTS(types); i++) {
        sent += send_and_close(base + 0u, forged_old(types[i], 1));
        sent += send_and_close(base + 1u, forged_old(types[i], types[i] >= 32 ? 3 : 2));
    }
    sent += send_and_close(base + 1u, forged_guess(1, 2));
    sent += send_and_close(base + 0u, forged_guess(0, 1));
    return sent;
}

static char *all_logs(const char *run) {
    char *dir = g_build_filename(run, "logs", NULL);
    GString *all = g_string_new(NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        char *p = g_build_filename(dir, name, NULL), *text = NULL;
        if (g_file_get_contents(p, &text, NULL, NULL))
            g_string_append(all, text);
        g_free(text);
        g_free(p);
    }
    if (d != NULL)
        g_dir_close(d);
    g_free(dir);
    return g_string_free(all, FALSE);
}

START_TEST(test_forged_traffic_changes_nothing) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-auth-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    uint16_t base = (uint16_t)(21000 + (getpid() * 37) % 9000);
    char *base_arg = g_strdup_printf("--base-port=%u", base);
    const char *argv[] = {g_getenv("CKPTSIM_BIN"), "live", "scenarios/linear.ini",
                          "--set", "operator.source.records=1500", "--dir", run, base_arg,
                          "--time-limit", "20 s", "--json", NULL};
    GSubprocessLauncher *l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_subprocess_launcher_set_cwd(l, g_getenv("CKPTSIM_SOURCE_ROOT"));
    GError *e = NULL;
    GSubprocess *p = g_subprocess_launcher_spawnv(l, argv, &e);
    ck_assert_msg(p != NULL, "%s", e != NULL ? e->message : "");
    /* Wait for the worker's port, then forge while the job runs. */
    GSocket *probe = NULL;
    for (int i = 0; i < 500 && probe == NULL; i++) {
        probe = dial(base + 1u);
        if (probe == NULL)
            g_usleep(10000);
    }
    ck_assert_msg(probe != NULL, "the worker never listened on %u", base + 1u);
    g_object_unref(probe);
    GSocket *idle[IDLE_CONNECTIONS] = {NULL};
    for (int i = 0; i < IDLE_CONNECTIONS; i++)
        idle[i] = dial(base + (uint32_t)(i % 2));
    unsigned sent = 0;
    for (int round = 0; round < 3; round++)
        sent += forge_round(base);
    ck_assert_uint_ge(sent, 12);
    char *out = NULL, *err = NULL;
    ck_assert(g_subprocess_communicate_utf8(p, NULL, NULL, &out, &err, &e));
    int status = g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : 128;
    ck_assert_msg(status == 0, "exit %d\nstdout: %s\nstderr: %s", status, out, err);
    ck_assert_msg(strstr(out, "\"verdict\":\"pass\"") != NULL, "%s", out);
    ck_assert_int_eq(test_proc_json_number(out, "records_committed"), 1500);
    ck_assert_int_eq(test_proc_json_number(out, "records_duplicated"), 0);
    ck_assert_int_eq(test_proc_json_number(out, "failovers"), 0);
    char *logs = all_logs(run);
    ck_assert_msg(strstr(logs, "refused connection") != NULL, "logs: %s", logs);
    ck_assert_msg(strstr(logs, "claiming process 1") != NULL, "logs: %s", logs);
    ck_assert_msg(strstr(logs, "does not hold the run's secret") != NULL, "logs: %s", logs);
    g_free(logs);
    for (int i = 0; i < IDLE_CONNECTIONS; i++)
        if (idle[i] != NULL)
            g_object_unref(idle[i]);
    g_free(out);
    g_free(err);
    g_object_unref(p);
    g_object_unref(l);
    g_free(base_arg);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
}
END_TEST

static Suite *live_auth_suite(void) {
    Suite *s = suite_create("live_auth");
    TCase *tc = tcase_create("forged");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_forged_traffic_changes_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(live_auth_suite());
}
