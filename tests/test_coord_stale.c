/* test_coord_stale.c - the simulated ensemble's followers: a session reads from its own
 * server, which may be behind the leader (a stale read), while ZooKeeper's guarantees
 * hold: read your own writes (a pipelined read waits behind the write), no connection to
 * a server behind the client's last zxid, watches fire per server in zxid order and no
 * earlier than that server applied the write, watches survive a reconnect (SetWatches),
 * and one server is never stale. Independent of the contract suite. */
#include <check.h>
#include <string.h>

#include "sim/world/sim_zk.h"
#include "tests/support/test_check.h"

#define MS 1000000ull
#define SEC 1000000000ull

static SimKernel *k;
static SimZk *zk;
static RtProcessId next_pid; /* every handle gets a process of its own */

static void setup_n(unsigned servers) {
    k = sim_kernel_new();
    SimZkConfig cfg;
    sim_zk_config_init(&cfg);
    cfg.servers = servers;
    zk = sim_zk_new(k, 11, &cfg, NULL);
    next_pid = 1;
}

static void setup(void) {
    setup_n(3);
}

static void teardown(void) {
    sim_zk_free(zk);
    sim_kernel_free(k);
}

static void run_to(uint64_t t) {
    sim_kernel_run(k, t, 100000000);
}

static void run_for(uint64_t d) {
    run_to(sim_kernel_now_ns(k) + d);
}

/* ------------------------------------------------------------- recorders */

typedef struct Read {
    char value[32];
    int done, code;
    uint64_t at;
} Read;

static void on_data(RtCoord *c, const void *data, size_t len, const RtCoordStat *st, GError *err,
                    void *ud) {
    (void)c;
    (void)st;
    Read *r = ud;
    r->done++;
    r->at = sim_kernel_now_ns(k);
    r->code = err ? err->code : 0;
    g_snprintf(r->value, sizeof r->value, "%.*s", err ? 0 : (int)len, (const char *)data);
    g_clear_error(&err);
}

static void on_stat(RtCoord *c, const RtCoordStat *st, GError *err, void *ud) {
    (void)c;
    (void)st;
    Read *r = ud;
    r->done++;
    r->at = sim_kernel_now_ns(k);
    r->code = err ? err->code : 0;
    g_clear_error(&err);
}

static void on_create(RtCoord *c, const char *path, GError *err, void *ud) {
    (void)path;
    on_stat(c, NULL, err, ud);
}

typedef struct Events {
    RtCoordEventType type[8];
    char path[8][16];
    uint64_t at[8];
    int n;
} Events;

static void on_watch(RtCoord *c, RtCoordEventType type, const char *path, void *ud) {
    (void)c;
    Events *e = ud;
    ck_assert_int_lt(e->n, 8);
    e->type[e->n] = type;
    g_strlcpy(e->path[e->n], path, sizeof e->path[0]);
    e->at[e->n++] = sim_kernel_now_ns(k);
}

static RtCoord *open_pid(RtProcessId pid) {
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "zk1:2181,zk2:2181,zk3:2181";
    cfg.session_timeout_ns = 6 * SEC;
    RtCoord *c = sim_zk_open(zk, pid, &cfg, NULL);
    ck_assert(c != NULL);
    run_for(50 * MS);
    ck_assert_int_eq(rt_coord_state(c), RT_COORD_CONNECTED);
    return c;
}

/* A handle (of a fresh process, *pid if pid) connected to server want; the others
 * opened on the way are closed. */
static RtCoord *open_on_server(int want, RtProcessId *pid) {
    for (int i = 0; i < 64; i++) {
        RtProcessId p = next_pid++;
        RtCoord *c = open_pid(p);
        if (sim_zk_handle_server(c) == want) {
            if (pid != NULL)
                *pid = p;
            return c;
        }
        rt_coord_free(c);
    }
    ck_abort_msg("no handle landed on server %d", want);
    return NULL;
}

static void put(RtCoord *c, const char *path, const char *value) {
    Read w = {0};
    ck_assert(rt_coord_set(c, path, value, strlen(value), RT_COORD_ANY_VERSION, on_stat, &w,
                           NULL));
    run_for(50 * MS);
    ck_assert_int_eq(w.done, 1);
    ck_assert_int_eq(w.code, 0);
}

static void make(RtCoord *c, const char *path, const char *value) {
    Read w = {0};
    ck_assert(rt_coord_create(c, path, value, strlen(value), 0, on_create, &w, NULL));
    run_for(50 * MS);
    ck_assert_int_eq(w.code, 0);
}

/* ------------------------------------------------------------------ tests */

/* A on follower 1 writes; B on follower 2 (slowed) still reads the old value until its
 * server applies the write; A reads its own write at once, even pipelined. */
START_TEST(test_stale_read_then_fresh) {
    RtCoord *a = open_on_server(1, NULL), *b = open_on_server(2, NULL);
    make(a, "/v", "old");
    sim_zk_slow_follower(zk, 2, 200 * MS, 1 * SEC);
    uint64_t t0 = sim_kernel_now_ns(k);
    Read w = {0}, ra = {0}, rb = {0};
    ck_assert(rt_coord_set(a, "/v", "new", 3, RT_COORD_ANY_VERSION, on_stat, &w, NULL));
    ck_assert(rt_coord_get(a, "/v", NULL, on_data, &ra, NULL)); /* pipelined */
    run_for(20 * MS);
    ck_assert_int_eq(w.done, 1);
    ck_assert_int_eq(ra.done, 1);
    ck_assert_str_eq(ra.value, "new"); /* read your writes */
    ck_assert(ra.at >= w.at);
    ck_assert(rt_coord_get(b, "/v", NULL, on_data, &rb, NULL));
    run_for(10 * MS);
    ck_assert_int_eq(rb.done, 1);
    ck_assert_str_eq(rb.value, "old"); /* stale: follower 2 is behind */
    ck_assert_int_lt(sim_zk_server_zxid(zk, 2), sim_zk_server_zxid(zk, 0));
    ck_assert_uint_ge(sim_zk_stats(zk).lagging_reads, 1);
    run_to(t0 + 300 * MS);
    ck_assert_int_eq(sim_zk_server_zxid(zk, 2), sim_zk_server_zxid(zk, 0));
    ck_assert(rt_coord_get(b, "/v", NULL, on_data, &rb, NULL));
    run_for(10 * MS);
    ck_assert_int_eq(rb.done, 2);
    ck_assert_str_eq(rb.value, "new");
    rt_coord_free(a);
    rt_coord_free(b);
}
END_TEST

/* B's own write on a slowed follower: the reply waits until that follower applied it,
 * so B reads it back. */
START_TEST(test_write_reply_waits_for_own_server) {
    RtCoord *b = open_on_server(2, NULL);
    make(b, "/w", "0");
    sim_zk_slow_follower(zk, 2, 100 * MS, 1 * SEC);
    uint64_t t0 = sim_kernel_now_ns(k);
    Read w = {0}, r = {0};
    ck_assert(rt_coord_set(b, "/w", "1", 1, RT_COORD_ANY_VERSION, on_stat, &w, NULL));
    ck_assert(rt_coord_get(b, "/w", NULL, on_data, &r, NULL));
    run_for(50 * MS);
    ck_assert_int_eq(w.done, 0); /* committed at the leader, not yet applied on 2 */
    ck_assert_int_eq(r.done, 0); /* parked behind it */
    run_to(t0 + 150 * MS);
    ck_assert_int_eq(w.done, 1);
    ck_assert_int_eq(r.done, 1);
    ck_assert(w.at >= t0 + 100 * MS && r.at >= w.at);
    ck_assert_str_eq(r.value, "1");
    rt_coord_free(b);
}
END_TEST

/* A has seen a zxid follower 2 has not applied: after losing its connection it is
 * refused there and lands on a server that has it (single system image). */
START_TEST(test_no_reconnect_to_lagging_server) {
    RtProcessId apid;
    RtCoord *a = open_on_server(1, &apid);
    make(a, "/s", "old");
    sim_zk_slow_follower(zk, 2, 5 * SEC, 1 * SEC);
    put(a, "/s", "new");
    ck_assert_int_lt(sim_zk_server_zxid(zk, 2), sim_zk_server_zxid(zk, 1));
    uint64_t refused = sim_zk_stats(zk).refusals;
    sim_zk_drop_connection(zk, apid, 0);
    run_for(1 * SEC);
    ck_assert_int_eq(rt_coord_state(a), RT_COORD_CONNECTED);
    ck_assert_int_ne(sim_zk_handle_server(a), 2);
    ck_assert_uint_gt(sim_zk_stats(zk).refusals, refused);
    Read r = {0};
    ck_assert(rt_coord_get(a, "/s", NULL, on_data, &r, NULL));
    run_for(10 * MS);
    ck_assert_str_eq(r.value, "new"); /* never back in time */
    rt_coord_free(a);
}
END_TEST

/* B's watches live on its (slowed) follower: they fire in zxid order when it applies the
 * writes, after A's replies, and never before B could read the new data there. */
START_TEST(test_watches_fire_per_server_in_order) {
    RtCoord *a = open_on_server(1, NULL), *b = open_on_server(2, NULL);
    make(a, "/x", "old");
    run_for(50 * MS);
    Events ev = {0};
    RtCoordWatch watch = {on_watch, &ev};
    Read g = {0}, e = {0};
    ck_assert(rt_coord_get(b, "/x", &watch, on_data, &g, NULL));
    ck_assert(rt_coord_exists(b, "/y", &watch, on_stat, &e, NULL));
    run_for(10 * MS);
    ck_assert_int_eq(e.code, 0);
    sim_zk_slow_follower(zk, 2, 200 * MS, 1 * SEC);
    uint64_t t0 = sim_kernel_now_ns(k);
    Read w1 = {0}, w2 = {0};
    ck_assert(rt_coord_set(a, "/x", "new", 3, RT_COORD_ANY_VERSION, on_stat, &w1, NULL));
    ck_assert(rt_coord_create(a, "/y", "", 0, 0, on_create, &w2, NULL));
    run_for(50 * MS);
    ck_assert_int_eq(w1.done + w2.done, 2);
    ck_assert_int_eq(ev.n, 0); /* follower 2 has not applied them */
    run_to(t0 + 400 * MS);
    ck_assert_int_eq(ev.n, 2);
    ck_assert_int_eq(ev.type[0], RT_COORD_EVENT_DATA_CHANGED);
    ck_assert_str_eq(ev.path[0], "/x");
    ck_assert_int_eq(ev.type[1], RT_COORD_EVENT_CREATED);
    ck_assert_str_eq(ev.path[1], "/y");
    ck_assert(ev.at[0] >= t0 + 200 * MS && ev.at[1] >= ev.at[0]);
    rt_coord_free(a);
    rt_coord_free(b);
}
END_TEST

/* A watch set before a lost connection: the node changes while B is away; on reconnect
 * the new server fires it (SetWatches relative to B's last zxid), once. */
START_TEST(test_watch_survives_reconnect) {
    RtProcessId bpid;
    RtCoord *a = open_on_server(0, NULL), *b = open_on_server(1, &bpid);
    make(a, "/r", "0");
    run_for(50 * MS);
    Events ev = {0};
    RtCoordWatch watch = {on_watch, &ev};
    Read g = {0};
    ck_assert(rt_coord_get(b, "/r", &watch, on_data, &g, NULL));
    run_for(10 * MS);
    ck_assert_str_eq(g.value, "0");
    sim_zk_drop_connection(zk, bpid, 200 * MS);
    put(a, "/r", "1");
    ck_assert_int_eq(ev.n, 0);
    run_for(1 * SEC);
    ck_assert_int_eq(rt_coord_state(b), RT_COORD_CONNECTED);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.type[0], RT_COORD_EVENT_DATA_CHANGED);
    put(a, "/r", "2");
    run_for(100 * MS);
    ck_assert_int_eq(ev.n, 1); /* one-shot */
    rt_coord_free(a);
    rt_coord_free(b);
}
END_TEST

/* One server: never stale, nobody refused. */
START_TEST(test_one_server_never_stale) {
    teardown();
    setup_n(1);
    RtCoord *a = open_pid(next_pid++), *b = open_pid(next_pid++);
    ck_assert_int_eq(sim_zk_handle_server(a), 0);
    make(a, "/o", "old");
    Read w = {0}, r = {0};
    ck_assert(rt_coord_set(a, "/o", "new", 3, RT_COORD_ANY_VERSION, on_stat, &w, NULL));
    for (int i = 0; i < 100000 && w.done == 0; i++)
        sim_kernel_step(k);
    ck_assert(rt_coord_get(b, "/o", NULL, on_data, &r, NULL));
    run_for(10 * MS);
    ck_assert_str_eq(r.value, "new");
    ck_assert_uint_eq(sim_zk_stats(zk).lagging_reads, 0);
    rt_coord_free(a);
    rt_coord_free(b);
}
END_TEST

static Suite *coord_stale_suite(void) {
    Suite *s = suite_create("coord_stale");
    TCase *tc = tcase_create("followers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_stale_read_then_fresh);
    tcase_add_test(tc, test_write_reply_waits_for_own_server);
    tcase_add_test(tc, test_no_reconnect_to_lagging_server);
    tcase_add_test(tc, test_watches_fire_per_server_in_order);
    tcase_add_test(tc, test_watch_survives_reconnect);
    tcase_add_test(tc, test_one_server_never_stale);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(coord_stale_suite());
}
