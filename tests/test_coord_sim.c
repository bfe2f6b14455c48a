/* test_coord_sim.c - what only the simulated ensemble can show, and the configuration
 * checks: connect-string and path validation, Flink's keys; partitions shorter and longer
 * than the session timeout; the zombie window; a crashed process's session lingering
 * until its timeout inside a SimWorld; a write whose reply is lost (outcome unknown);
 * reply delays; and determinism (same seed, same trace hash).
 */
#include <check.h>
#include <string.h>

#include "sim/world/sim_world.h"
#include "sim/world/sim_zk.h"
#include "tests/support/test_check.h"

#define MS 1000000ull
#define SEC 1000000000ull

/* ------------------------------------------------------------ configuration */

static bool cs_ok(const char *cs, const char *chroot) {
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = cs;
    cfg.chroot = chroot;
    GError *err = NULL;
    bool ok = rt_coord_config_check(&cfg, NULL, NULL, &err);
    if (!ok) {
        ck_assert(err != NULL && err->code == RT_COORD_ERROR_CONFIG);
        g_error_free(err);
    }
    return ok;
}

START_TEST(test_connect_strings) {
    ck_assert(cs_ok("127.0.0.1:2181", NULL));
    ck_assert(cs_ok("a.example:1,b-2:65535/flink/x", "/root"));
    ck_assert(cs_ok("[::1]:2181", NULL));
    ck_assert(!cs_ok("", NULL));
    ck_assert(!cs_ok("host", NULL));
    ck_assert(!cs_ok("host:", NULL));
    ck_assert(!cs_ok("host:0", NULL));
    ck_assert(!cs_ok("host:65536", NULL));
    ck_assert(!cs_ok("host:12x", NULL));
    ck_assert(!cs_ok("h:1,,h:2", NULL));
    ck_assert(!cs_ok("h:1/", NULL));
    ck_assert(!cs_ok("h:1//a", NULL));
    ck_assert(!cs_ok("ho st:1", NULL));
    ck_assert(!cs_ok("h:1", "relative"));
    ck_assert(!cs_ok("h:1", "/"));
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "h:1,h:2/a";
    cfg.chroot = "/b";
    char *hosts = NULL, *chroot = NULL;
    ck_assert(rt_coord_config_check(&cfg, &hosts, &chroot, NULL));
    ck_assert_str_eq(hosts, "h:1,h:2");
    ck_assert_str_eq(chroot, "/a/b");
    g_free(hosts);
    g_free(chroot);
}
END_TEST

START_TEST(test_paths) {
    ck_assert(rt_coord_path_valid("/"));
    ck_assert(rt_coord_path_valid("/a"));
    ck_assert(rt_coord_path_valid("/a/b.c/d-0000000001"));
    ck_assert(!rt_coord_path_valid(""));
    ck_assert(!rt_coord_path_valid("a"));
    ck_assert(!rt_coord_path_valid("/a/"));
    ck_assert(!rt_coord_path_valid("//a"));
    ck_assert(!rt_coord_path_valid("/a/./b"));
    ck_assert(!rt_coord_path_valid("/a/.."));
    ck_assert(!rt_coord_path_valid("/a b"));
    char *longp = g_strnfill(RT_COORD_PATH_MAX_BYTES + 1, 'x');
    longp[0] = '/';
    ck_assert(!rt_coord_path_valid(longp));
    g_free(longp);
}
END_TEST

START_TEST(test_flink_keys) {
    RtConfig *conf = rt_config_new();
    RtCoordConfig cfg;
    GError *err = NULL;
    ck_assert(!rt_coord_config_from_flink(&cfg, conf, &err));
    ck_assert(strstr(err->message, "high-availability.zookeeper.quorum") != NULL);
    g_clear_error(&err);
    rt_config_set(conf, "high-availability.zookeeper.quorum", "zk1:2181,zk2:2181");
    ck_assert(rt_coord_config_from_flink(&cfg, conf, &err));
    ck_assert_str_eq(cfg.chroot, "/flink");
    ck_assert_uint_eq(cfg.session_timeout_ns, 60 * SEC);
    ck_assert_uint_eq(cfg.connect_timeout_ns, 15 * SEC);
    rt_config_set(conf, "high-availability.zookeeper.client.session-timeout", "4 s");
    rt_config_set(conf, "high-availability.zookeeper.client.connection-timeout", "2500");
    rt_config_set(conf, "high-availability.zookeeper.path.root", "/ha");
    ck_assert(rt_coord_config_from_flink(&cfg, conf, &err));
    ck_assert_str_eq(cfg.chroot, "/ha");
    ck_assert_uint_eq(cfg.session_timeout_ns, 4 * SEC);
    ck_assert_uint_eq(cfg.connect_timeout_ns, 2500 * MS);
    rt_config_set(conf, "high-availability.zookeeper.quorum", "zk1");
    ck_assert(!rt_coord_config_from_flink(&cfg, conf, &err));
    g_clear_error(&err);
    rt_config_free(conf);
}
END_TEST

/* ------------------------------------------------------ a bare ensemble */

static SimKernel *k;
static SimZk *zk;

static void setup(void) {
    k = sim_kernel_new();
    zk = sim_zk_new(k, 7, NULL, NULL);
}

static void teardown(void) {
    sim_zk_free(zk);
    sim_kernel_free(k);
}

typedef struct Rec {
    RtCoordState states[32];
    uint64_t times[32];
    int n;
    int done;      /* completions */
    int last_code; /* 0 or RtCoordError */
    uint64_t done_ns;
} Rec;

static void rec_state(RtCoord *c, RtCoordState st, void *ud) {
    (void)c;
    Rec *r = ud;
    ck_assert_int_lt(r->n, 32);
    r->times[r->n] = sim_kernel_now_ns(k);
    r->states[r->n++] = st;
}

static void rec_done(Rec *r, GError *err) {
    r->done++;
    r->done_ns = sim_kernel_now_ns(k);
    r->last_code = err ? err->code : 0;
    if (err)
        g_error_free(err);
}

static void on_create(RtCoord *c, const char *path, GError *err, void *ud) {
    (void)c;
    (void)path;
    rec_done(ud, err);
}

static void on_stat(RtCoord *c, const RtCoordStat *st, GError *err, void *ud) {
    (void)c;
    (void)st;
    rec_done(ud, err);
}

static RtCoord *open_on(RtProcessId pid, Rec *r) {
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "zk:2181";
    cfg.session_timeout_ns = 6 * SEC;
    cfg.on_session = rec_state;
    cfg.session_user_data = r;
    RtCoord *c = sim_zk_open(zk, pid, &cfg, NULL);
    ck_assert(c != NULL);
    sim_kernel_run(k, sim_kernel_now_ns(k) + 100 * MS, 1000000);
    ck_assert_int_eq(r->n, 1);
    ck_assert_int_eq(r->states[0], RT_COORD_CONNECTED);
    ck_assert_uint_eq(rt_coord_session_timeout_ns(c), 6 * SEC);
    return c;
}

static bool node_exists(const char *path) {
    return sim_zk_tree_stat(sim_zk_tree(zk), path, NULL);
}

static void run_to(uint64_t t) {
    sim_kernel_run(k, t, 100000000);
}

START_TEST(test_short_partition_stalls) {
    Rec r = {0}, cr = {0};
    RtCoord *c = open_on(1, &r);
    uint64_t t0 = sim_kernel_now_ns(k);
    sim_zk_partition(zk, 1, 1 * SEC); /* < 2/3 of 6 s: nobody notices */
    ck_assert(rt_coord_create(c, "/p", "x", 1, 0, on_create, &cr, NULL));
    run_to(t0 + 3 * SEC);
    ck_assert_int_eq(cr.done, 1);
    ck_assert_int_eq(cr.last_code, 0);
    ck_assert(cr.done_ns >= t0 + 1 * SEC); /* delivered after the heal */
    ck_assert_int_eq(r.n, 1);              /* never suspended */
    rt_coord_free(c);
}
END_TEST

START_TEST(test_long_partition_expires) {
    Rec r = {0}, cr = {0}, er = {0};
    RtCoord *c = open_on(1, &r);
    ck_assert(rt_coord_create(c, "/eph", "", 0, RT_COORD_EPHEMERAL, on_create, &cr, NULL));
    run_to(sim_kernel_now_ns(k) + 10 * MS);
    ck_assert(node_exists("/eph"));
    uint64_t t0 = sim_kernel_now_ns(k);
    sim_zk_partition(zk, 1, 20 * SEC);
    ck_assert(rt_coord_exists(c, "/eph", NULL, on_stat, &er, NULL));
    run_to(t0 + 4500 * MS);
    /* The client noticed after 2/3 of the timeout; its call failed with loss. */
    ck_assert_int_eq(r.n, 2);
    ck_assert_int_eq(r.states[1], RT_COORD_SUSPENDED);
    ck_assert(r.times[1] >= t0 + 4 * SEC - 10 * MS && r.times[1] <= t0 + 4 * SEC + 10 * MS);
    ck_assert_int_eq(er.last_code, RT_COORD_ERROR_CONNECTION_LOSS);
    ck_assert(node_exists("/eph"));
    run_to(t0 + 6 * SEC + 10 * MS); /* the server expires it after the timeout */
    ck_assert(!node_exists("/eph"));
    ck_assert_int_eq(r.n, 2); /* ... but the client does not know yet */
    run_to(t0 + 21 * SEC);
    ck_assert_int_eq(r.n, 3);
    ck_assert_int_eq(r.states[2], RT_COORD_EXPIRED);
    ck_assert(r.times[2] >= t0 + 20 * SEC);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_zombie_window) {
    Rec r = {0}, cr = {0};
    RtCoord *c = open_on(1, &r);
    ck_assert(rt_coord_create(c, "/lease", "", 0, RT_COORD_EPHEMERAL, on_create, &cr, NULL));
    run_to(sim_kernel_now_ns(k) + 10 * MS);
    uint64_t t0 = sim_kernel_now_ns(k);
    ck_assert(sim_zk_expire_session(zk, rt_coord_session_id(c)));
    ck_assert(!node_exists("/lease")); /* gone on the server at once */
    ck_assert(rt_coord_state(c) != RT_COORD_EXPIRED);
    run_to(t0 + 5 * MS);
    ck_assert(rt_coord_state(c) != RT_COORD_EXPIRED); /* still a zombie */
    run_to(t0 + 1 * SEC);
    ck_assert(rt_coord_state(c) == RT_COORD_EXPIRED);
    /* Learned at the reconnect, ~timeout/60 = 100 ms later. */
    ck_assert_int_eq(r.states[r.n - 1], RT_COORD_EXPIRED);
    ck_assert(r.times[r.n - 1] >= t0 + 100 * MS && r.times[r.n - 1] < t0 + 110 * MS);
    ck_assert_uint_eq(sim_zk_stats(zk).expiries, 1);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_lost_reply_outcome_unknown) {
    Rec r = {0}, cr = {0};
    RtCoord *c = open_on(1, &r);
    uint64_t applied = sim_zk_stats(zk).requests;
    ck_assert(rt_coord_create(c, "/maybe", "", 0, 0, on_create, &cr, NULL));
    for (int i = 0; i < 1000 && sim_zk_stats(zk).requests == applied; i++)
        sim_kernel_step(k);
    ck_assert(node_exists("/maybe")); /* applied, reply still on its way */
    sim_zk_drop_connection(zk, 1, 50 * MS);
    run_to(sim_kernel_now_ns(k) + 1 * SEC);
    ck_assert_int_eq(cr.done, 1);
    ck_assert_int_eq(cr.last_code, RT_COORD_ERROR_CONNECTION_LOSS);
    GError *e = g_error_new(RT_COORD_ERROR, RT_COORD_ERROR_CONNECTION_LOSS, "x");
    ck_assert(rt_coord_error_outcome_unknown(e));
    g_error_free(e);
    ck_assert(node_exists("/maybe"));
    ck_assert(rt_coord_state(c) == RT_COORD_CONNECTED);
    rt_coord_free(c);
}
END_TEST

START_TEST(test_delay_replies) {
    Rec r = {0}, a = {0}, b = {0};
    RtCoord *c = open_on(1, &r);
    uint64_t t0 = sim_kernel_now_ns(k);
    ck_assert(rt_coord_exists(c, "/", NULL, on_stat, &a, NULL));
    run_to(t0 + 10 * MS);
    ck_assert_int_eq(a.done, 1);
    ck_assert(a.done_ns - t0 < 1 * MS);
    uint64_t t1 = sim_kernel_now_ns(k);
    sim_zk_delay_replies(zk, 1, 50 * MS, 1 * SEC);
    ck_assert(rt_coord_exists(c, "/", NULL, on_stat, &b, NULL));
    run_to(t1 + 200 * MS);
    ck_assert_int_eq(b.done, 1);
    ck_assert(b.done_ns - t1 >= 50 * MS);
    rt_coord_free(c);
}
END_TEST

typedef struct Names {
    char joined[512];
    int done;
} Names;

static void on_names(RtCoord *c, const char *const *names, size_t n, const RtCoordStat *st,
                     GError *err, void *ud) {
    (void)c;
    (void)st;
    ck_assert(err == NULL);
    Names *out = ud;
    out->joined[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        g_strlcat(out->joined, names[i], sizeof out->joined);
        g_strlcat(out->joined, ",", sizeof out->joined);
    }
    out->done++;
}

/* A real server lists children in its HashSet order; the model in a seeded one: stable
 * for the same set, not sorted. */
START_TEST(test_children_unordered) {
    Rec r = {0}, cr = {0};
    RtCoord *c = open_on(1, &r);
    ck_assert(rt_coord_create(c, "/u", NULL, 0, 0, on_create, &cr, NULL));
    for (int i = 0; i < 12; i++) {
        char path[16];
        g_snprintf(path, sizeof path, "/u/c%02d", i);
        ck_assert(rt_coord_create(c, path, NULL, 0, 0, on_create, &cr, NULL));
    }
    Names a = {0}, b = {0};
    ck_assert(rt_coord_children(c, "/u", NULL, on_names, &a, NULL));
    ck_assert(rt_coord_children(c, "/u", NULL, on_names, &b, NULL));
    run_to(sim_kernel_now_ns(k) + 100 * MS);
    ck_assert_int_eq(cr.done, 13);
    ck_assert_int_eq(a.done + b.done, 2);
    ck_assert_str_eq(a.joined, b.joined);
    ck_assert_str_ne(a.joined, "c00,c01,c02,c03,c04,c05,c06,c07,c08,c09,c10,c11,");
    ck_assert_uint_eq(strlen(a.joined), 12 * 4);
    rt_coord_free(c);
}
END_TEST

/* The server grants a timeout within [2, 20] ticks (minSessionTimeout,
 * maxSessionTimeout defaults of ZooKeeperServer). */
static uint64_t negotiated(uint64_t tick_ns, uint64_t asked_ns) {
    SimKernel *kk = sim_kernel_new();
    SimZkConfig cfg;
    sim_zk_config_init(&cfg);
    cfg.tick_ns = tick_ns;
    SimZk *z = sim_zk_new(kk, 3, &cfg, NULL);
    RtCoordConfig cc;
    rt_coord_config_init(&cc);
    cc.connect_string = "zk:2181";
    cc.session_timeout_ns = asked_ns;
    RtCoord *c = sim_zk_open(z, 0, &cc, NULL);
    sim_kernel_run(kk, 100 * MS, 100000);
    uint64_t t = rt_coord_session_timeout_ns(c);
    rt_coord_free(c);
    sim_zk_free(z);
    sim_kernel_free(kk);
    return t;
}

START_TEST(test_tick_time_negotiation) {
    ck_assert_uint_eq(negotiated(2 * SEC, 2 * SEC), 4 * SEC);
    ck_assert_uint_eq(negotiated(2 * SEC, 3 * SEC), 4 * SEC);
    ck_assert_uint_eq(negotiated(2 * SEC, 60 * SEC), 40 * SEC);
    ck_assert_uint_eq(negotiated(1 * SEC, 2 * SEC), 2 * SEC);
    ck_assert_uint_eq(negotiated(1 * SEC, 3 * SEC), 3 * SEC);
    ck_assert_uint_eq(negotiated(1 * SEC, 4 * SEC), 4 * SEC);
    ck_assert_uint_eq(negotiated(1 * SEC, 1 * SEC), 2 * SEC);
    ck_assert_uint_eq(negotiated(1 * SEC, 60 * SEC), 20 * SEC);
}
END_TEST

/* A leader change drops every connection; sessions survive a short election. */
START_TEST(test_leader_change_sessions_survive) {
    Rec r1 = {0}, r2 = {0}, cr = {0};
    RtCoord *c1 = open_on(1, &r1), *c2 = open_on(2, &r2);
    int64_t s1 = rt_coord_session_id(c1), s2 = rt_coord_session_id(c2);
    ck_assert(rt_coord_create(c1, "/e1", "", 0, RT_COORD_EPHEMERAL, on_create, &cr, NULL));
    run_to(sim_kernel_now_ns(k) + 10 * MS);
    uint64_t t0 = sim_kernel_now_ns(k);
    ck_assert_uint_eq(sim_zk_leader_change(zk, 300 * MS), 2);
    run_to(t0 + 200 * MS);
    ck_assert_int_eq(r1.states[r1.n - 1], RT_COORD_SUSPENDED);
    ck_assert_int_eq(r2.states[r2.n - 1], RT_COORD_SUSPENDED);
    run_to(t0 + 2 * SEC);
    ck_assert_int_eq(r1.states[r1.n - 1], RT_COORD_CONNECTED);
    ck_assert_int_eq(r2.states[r2.n - 1], RT_COORD_CONNECTED);
    ck_assert(r1.times[r1.n - 1] >= t0 + 300 * MS);
    ck_assert_int_eq(rt_coord_session_id(c1), s1);
    ck_assert_int_eq(rt_coord_session_id(c2), s2);
    ck_assert(node_exists("/e1"));
    ck_assert_uint_eq(sim_zk_stats(zk).expiries, 0);
    rt_coord_free(c1);
    rt_coord_free(c2);
}
END_TEST

/* A write on its way when the leader goes: CONNECTION_LOSS to the caller, and committed
 * or not depending on the seed. */
START_TEST(test_leader_change_in_flight_write) {
    int applied = 0, lost = 0;
    SimKernel *saved_k = k;
    for (uint64_t seed = 1; seed <= 16; seed++) {
        SimKernel *kk = sim_kernel_new();
        SimZk *z = sim_zk_new(kk, seed, NULL, NULL);
        k = kk;
        RtCoordConfig cfg;
        rt_coord_config_init(&cfg);
        cfg.connect_string = "zk:2181";
        cfg.session_timeout_ns = 6 * SEC;
        RtCoord *c = sim_zk_open(z, 0, &cfg, NULL);
        sim_kernel_run(kk, 100 * MS, 100000);
        Rec cr = {0};
        ck_assert(rt_coord_create(c, "/w", "", 0, 0, on_create, &cr, NULL));
        sim_zk_leader_change(z, 100 * MS);
        sim_kernel_run(kk, 2 * SEC, 1000000);
        ck_assert_int_eq(cr.done, 1);
        ck_assert_int_eq(cr.last_code, RT_COORD_ERROR_CONNECTION_LOSS);
        if (sim_zk_tree_stat(sim_zk_tree(z), "/w", NULL))
            applied++;
        else
            lost++;
        ck_assert(rt_coord_state(c) == RT_COORD_CONNECTED);
        rt_coord_free(c);
        sim_zk_free(z);
        sim_kernel_free(kk);
    }
    k = saved_k;
    ck_assert_int_gt(applied, 0);
    ck_assert_int_gt(lost, 0);
}
END_TEST

START_TEST(test_connect_timeout_closes) {
    Rec r = {0}, a = {0};
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "zk:2181";
    cfg.connect_timeout_ns = 2 * SEC;
    cfg.on_session = rec_state;
    cfg.session_user_data = &r;
    RtCoord *c = sim_zk_open(zk, 3, &cfg, NULL);
    sim_zk_partition(zk, 3, 60 * SEC);
    ck_assert(rt_coord_exists(c, "/", NULL, on_stat, &a, NULL));
    run_to(5 * SEC);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.states[0], RT_COORD_CLOSED);
    ck_assert(r.times[0] >= 2 * SEC);
    ck_assert_int_eq(a.done, 1);
    ck_assert(a.last_code == RT_COORD_ERROR_CONNECTION_LOSS ||
              a.last_code == RT_COORD_ERROR_CLOSED);
    GError *err = NULL;
    ck_assert(!rt_coord_exists(c, "/", NULL, on_stat, &a, &err));
    ck_assert_int_eq(err->code, RT_COORD_ERROR_CLOSED);
    g_error_free(err);
    rt_coord_free(c);
}
END_TEST

/* ------------------------------------------------------ inside a SimWorld */

typedef struct Proc {
    RtEnv *env;
    RtCoord *coord;
    int created;
} Proc;

static void proc_created(RtCoord *c, const char *path, GError *err, void *ud) {
    (void)c;
    (void)path;
    ck_assert(err == NULL);
    ((Proc *)ud)->created++;
}

static void proc_session(RtCoord *c, RtCoordState st, void *ud) {
    if (st == RT_COORD_CONNECTED)
        ck_assert(rt_coord_create(c, "/alive", "", 0, RT_COORD_EPHEMERAL, proc_created, ud, NULL));
}

static void *proc_start(RtEnv *env, void *arg) {
    (void)arg;
    Proc *p = g_new0(Proc, 1);
    p->env = env;
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "zk:2181";
    cfg.session_timeout_ns = 8 * SEC;
    cfg.on_session = proc_session;
    cfg.session_user_data = p;
    GError *err = NULL;
    p->coord = rt_coord_open(env, &cfg, &err);
    ck_assert_msg(p->coord != NULL, "%s", err ? err->message : "");
    return p;
}

static void proc_stop(void *instance) {
    Proc *p = instance;
    rt_coord_free(p->coord); /* as a crash's teardown does: must not close the session */
    g_free(p);
}

static const SimProcessClass proc_class = {"zk-user", proc_start, proc_stop};

/* A pause shorter than 2/3 of the timeout goes unnoticed; a longer one than the timeout
 * expires the session on the server at once, and the process learns it only after it
 * resumes and reconnects: until then it still believes it is CONNECTED (the zombie). */
START_TEST(test_world_pause_zombie) {
    SimWorldConfig wc;
    sim_world_config_init(&wc, 13);
    SimWorld *w = sim_world_new(&wc);
    SimZk *z = sim_zk_new(sim_world_kernel(w), 13, NULL, NULL);
    sim_zk_attach_world(z, w);
    SimProcessId pid = sim_world_spawn(w, "p0", &proc_class, NULL);
    sim_world_run(w, 1 * SEC, 1000000);
    Proc *p = sim_world_process_instance(w, pid);
    ck_assert(sim_zk_tree_stat(sim_zk_tree(z), "/alive", NULL));
    uint64_t t0 = sim_world_now_ns(w);
    ck_assert(sim_world_pause(w, pid, 3 * SEC)); /* < 2/3 of 8 s */
    sim_world_run(w, t0 + 5 * SEC, 10000000);
    ck_assert(sim_zk_tree_stat(sim_zk_tree(z), "/alive", NULL));
    ck_assert(rt_coord_state(p->coord) == RT_COORD_CONNECTED);
    ck_assert_uint_eq(sim_zk_stats(z).disconnects, 0);
    uint64_t t1 = sim_world_now_ns(w);
    ck_assert(sim_world_pause(w, pid, 12 * SEC));
    sim_world_run(w, t1 + 9 * SEC, 10000000);
    ck_assert(!sim_zk_tree_stat(sim_zk_tree(z), "/alive", NULL)); /* expired at 8 s */
    ck_assert(rt_coord_state(p->coord) == RT_COORD_CONNECTED);   /* it does not know */
    sim_world_run(w, t1 + 12 * SEC, 10000000);
    ck_assert(rt_coord_state(p->coord) != RT_COORD_EXPIRED); /* resumed: not yet */
    sim_world_run(w, t1 + 13 * SEC, 10000000);
    ck_assert(rt_coord_state(p->coord) == RT_COORD_EXPIRED);
    ck_assert_uint_eq(sim_zk_stats(z).expiries, 1);
    sim_world_free(w);
    sim_zk_free(z);
}
END_TEST

START_TEST(test_world_crash_session_lingers) {
    SimWorldConfig wc;
    sim_world_config_init(&wc, 11);
    SimWorld *w = sim_world_new(&wc);
    SimZk *z = sim_zk_new(sim_world_kernel(w), 11, NULL, NULL);
    sim_zk_attach_world(z, w);
    SimProcessId pid = sim_world_spawn(w, "p0", &proc_class, NULL);
    sim_world_run(w, 1 * SEC, 1000000);
    ck_assert(sim_zk_tree_stat(sim_zk_tree(z), "/alive", NULL));
    ck_assert_uint_eq(sim_zk_live_sessions(z), 1);
    uint64_t t0 = sim_world_now_ns(w);
    ck_assert(sim_world_crash(w, pid));
    sim_world_run(w, t0 + 7 * SEC, 10000000);
    ck_assert(sim_zk_tree_stat(sim_zk_tree(z), "/alive", NULL)); /* lingers */
    sim_world_run(w, t0 + 9 * SEC, 10000000);
    ck_assert(!sim_zk_tree_stat(sim_zk_tree(z), "/alive", NULL)); /* expired */
    ck_assert_uint_eq(sim_zk_live_sessions(z), 0);
    /* A restart opens a new session and takes the node again. */
    ck_assert(sim_world_restart(w, pid));
    sim_world_run(w, t0 + 10 * SEC, 10000000);
    ck_assert(sim_zk_tree_stat(sim_zk_tree(z), "/alive", NULL));
    sim_world_free(w);
    sim_zk_free(z);
}
END_TEST

/* ----------------------------------------------------------- determinism */

static uint64_t scripted_run(uint64_t seed) {
    SimKernel *kk = sim_kernel_new();
    SimZk *z = sim_zk_new(kk, seed, NULL, NULL);
    k = kk; /* the recorders read the time */
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = "zk:2181";
    cfg.session_timeout_ns = 4 * SEC;
    RtCoord *c[3];
    Rec recs[3][40];
    memset(recs, 0, sizeof recs);
    for (unsigned i = 0; i < 3; i++)
        c[i] = sim_zk_open(z, i, &cfg, NULL);
    sim_kernel_run(kk, 50 * MS, 1000000);
    for (unsigned round = 0; round < 40; round++) {
        for (unsigned i = 0; i < 3; i++) {
            char path[32];
            g_snprintf(path, sizeof path, "/n%u", round % 5);
            bool ok = rt_coord_create(c[i], path, "v", 1, RT_COORD_EPHEMERAL, on_create,
                                      &recs[i][round], NULL);
            ck_assert(ok || rt_coord_state(c[i]) == RT_COORD_EXPIRED);
        }
        if (round == 10)
            sim_zk_drop_connection(z, 1, 300 * MS);
        if (round == 20)
            sim_zk_expire_session(z, rt_coord_session_id(c[2]));
        sim_kernel_run(kk, sim_kernel_now_ns(kk) + 20 * MS, 1000000);
    }
    uint64_t h = sim_kernel_trace_hash(kk) ^ (uint64_t)sim_zk_tree_zxid(sim_zk_tree(z));
    for (unsigned i = 0; i < 3; i++)
        rt_coord_free(c[i]);
    sim_zk_free(z);
    sim_kernel_free(kk);
    k = NULL;
    return h;
}

START_TEST(test_same_seed_same_trace) {
    uint64_t a = scripted_run(5), b = scripted_run(5), c = scripted_run(6);
    ck_assert_uint_eq(a, b);
    ck_assert_uint_ne(a, c);
}
END_TEST

static Suite *coord_sim_suite(void) {
    Suite *s = suite_create("coord_sim");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_connect_strings);
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_flink_keys);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_short_partition_stalls);
    tcase_add_test(tc, test_long_partition_expires);
    tcase_add_test(tc, test_zombie_window);
    tcase_add_test(tc, test_lost_reply_outcome_unknown);
    tcase_add_test(tc, test_delay_replies);
    tcase_add_test(tc, test_connect_timeout_closes);
    tcase_add_test(tc, test_children_unordered);
    tcase_add_test(tc, test_tick_time_negotiation);
    tcase_add_test(tc, test_leader_change_sessions_survive);
    tcase_add_test(tc, test_leader_change_in_flight_write);
    suite_add_tcase(s, tc);
    tc = tcase_create("world");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_world_crash_session_lingers);
    tcase_add_test(tc, test_world_pause_zombie);
    tcase_add_test(tc, test_same_seed_same_trace);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(coord_sim_suite());
}
