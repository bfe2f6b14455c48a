/* test_coord_harness_real.c - the contract suite's world: a real ZooKeeper server at
 * CKPTSIM_TEST_ZK (host:port), reached through a cuttable loopback proxy; callbacks run
 * on the default GMainContext, which the waits iterate. Expiry is forced with the
 * second-handle trick (rt_coord_zk_force_expire). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/coord/rt_coord_zk.h"
#include "tests/test_coord_harness.h"
#include "tests/test_coord_proxy.h"

static CoordProxy *proxy;
static char *proxy_address;

const char *coord_harness_name(void) {
    return "real";
}

bool coord_harness_available(const char **why) {
    const char *zk = getenv("CKPTSIM_TEST_ZK");
    if (zk == NULL || zk[0] == '\0') {
        *why = "CKPTSIM_TEST_ZK not set";
        return false;
    }
    *why = NULL;
    return true;
}

void coord_harness_setup(void) {
    int port = 0;
    proxy = coord_proxy_start(getenv("CKPTSIM_TEST_ZK"), &port);
    ck_assert_msg(proxy != NULL, "cannot start the loopback proxy to %s",
                  getenv("CKPTSIM_TEST_ZK"));
    proxy_address = g_strdup_printf("127.0.0.1:%d", port);
}

void coord_harness_teardown(void) {
    coord_proxy_stop(proxy);
    proxy = NULL;
    g_free(proxy_address);
    /* Let the default context run whatever the freed handles left queued. */
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

RtCoord *coord_harness_open(const char *chroot, uint64_t session_timeout_ns,
                            RtCoordSessionFunc on_session, void *ud) {
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = proxy_address;
    cfg.chroot = chroot;
    cfg.session_timeout_ns = session_timeout_ns;
    cfg.connect_timeout_ns = 10ull * 1000000000ull;
    cfg.on_session = on_session;
    cfg.session_user_data = ud;
    GError *err = NULL;
    RtCoord *c = rt_coord_zk_open(g_main_context_default(), &cfg, &err);
    ck_assert_msg(c != NULL, "open: %s", err ? err->message : "?");
    return c;
}

RtCoord *coord_harness_open_unreachable(uint64_t connect_timeout_ns, RtCoordSessionFunc on_session,
                                        void *ud) {
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "127.0.0.1:1";
    cfg.connect_timeout_ns = connect_timeout_ns;
    cfg.on_session = on_session;
    cfg.session_user_data = ud;
    RtCoord *c = rt_coord_zk_open(g_main_context_default(), &cfg, NULL);
    ck_assert(c != NULL);
    return c;
}

static gboolean tick(gpointer ud) {
    (void)ud;
    return G_SOURCE_CONTINUE;
}

bool coord_harness_wait(bool (*cond)(void *ud), void *ud, uint64_t max_ns) {
    gint64 deadline = g_get_monotonic_time() + (gint64)(max_ns / 1000u);
    guint t = g_timeout_add(5, tick, NULL); /* bounds each blocking iteration */
    while (!cond(ud) && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(t);
    return cond(ud);
}

static bool never(void *ud) {
    (void)ud;
    return false;
}

void coord_harness_run_for(uint64_t ns) {
    coord_harness_wait(never, NULL, ns);
}

void coord_harness_expire(RtCoord *c) {
    GError *err = NULL;
    unsigned attempts = 0;
    bool ok = rt_coord_zk_force_expire(c, 30ull * 1000000000ull, &attempts, &err);
    ck_assert_msg(ok, "force expire: %s", err ? err->message : "?");
    fprintf(stderr, "# forced expiry took %u second-handle attempt(s)\n", attempts);
}

void coord_harness_drop(RtCoord *c, uint64_t duration_ns) {
    (void)c;
    coord_proxy_cut(proxy, duration_ns);
}
