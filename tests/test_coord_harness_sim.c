/* test_coord_harness_sim.c - the contract suite's world: the simulated ensemble on a
 * bare kernel, one simulated process per handle (so a fault hits exactly one handle). */
#include <check.h>

#include "sim/world/sim_zk.h"
#include "tests/test_coord_harness.h"

#define MAX_HANDLES 64

static SimKernel *kernel;
static SimZk *zk;
static RtCoord *handles[MAX_HANDLES];
static unsigned n_handles;

const char *coord_harness_name(void) {
    return "sim";
}

bool coord_harness_available(const char **why) {
    *why = NULL;
    return true;
}

void coord_harness_setup(void) {
    kernel = sim_kernel_new();
    zk = sim_zk_new(kernel, 42, NULL, NULL);
    n_handles = 0;
}

void coord_harness_teardown(void) {
    sim_zk_free(zk);
    sim_kernel_free(kernel);
    zk = NULL;
    kernel = NULL;
}

RtCoord *coord_harness_open(const char *chroot, uint64_t session_timeout_ns,
                            RtCoordSessionFunc on_session, void *ud) {
    ck_assert_uint_lt(n_handles, MAX_HANDLES);
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "127.0.0.1:2181";
    cfg.chroot = chroot;
    cfg.session_timeout_ns = session_timeout_ns;
    cfg.connect_timeout_ns = 10ull * 1000000000ull;
    cfg.on_session = on_session;
    cfg.session_user_data = ud;
    GError *err = NULL;
    RtCoord *c = sim_zk_open(zk, n_handles, &cfg, &err);
    ck_assert_msg(c != NULL, "open: %s", err ? err->message : "?");
    handles[n_handles++] = c;
    return c;
}

RtCoord *coord_harness_open_unreachable(uint64_t connect_timeout_ns, RtCoordSessionFunc on_session,
                                        void *ud) {
    ck_assert_uint_lt(n_handles, MAX_HANDLES);
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "127.0.0.1:1";
    cfg.connect_timeout_ns = connect_timeout_ns;
    cfg.on_session = on_session;
    cfg.session_user_data = ud;
    RtCoord *c = sim_zk_open(zk, n_handles, &cfg, NULL);
    ck_assert(c != NULL);
    sim_zk_partition(zk, n_handles, 3600ull * 1000000000ull);
    handles[n_handles++] = c;
    return c;
}

bool coord_harness_wait(bool (*cond)(void *ud), void *ud, uint64_t max_ns) {
    uint64_t deadline = sim_kernel_now_ns(kernel) + max_ns;
    for (unsigned i = 0; i < 10000000; i++) {
        if (cond(ud))
            return true;
        if (sim_kernel_next_time_ns(kernel) > deadline)
            break;
        sim_kernel_step(kernel);
    }
    return cond(ud);
}

void coord_harness_run_for(uint64_t ns) {
    sim_kernel_run(kernel, sim_kernel_now_ns(kernel) + ns, 100000000);
}

static RtProcessId pid_of(RtCoord *c) {
    for (unsigned i = 0; i < n_handles; i++)
        if (handles[i] == c)
            return i;
    ck_abort_msg("unknown handle");
    return 0;
}

void coord_harness_expire(RtCoord *c) {
    ck_assert(sim_zk_expire_session(zk, rt_coord_session_id(c)));
}

void coord_harness_drop(RtCoord *c, uint64_t duration_ns) {
    sim_zk_drop_connection(zk, pid_of(c), duration_ns);
}
