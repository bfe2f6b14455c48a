/* test_state_backend_zk.c - the "zookeeper" state backend on the simulated ensemble
 * (sim/world/sim_zk attached to a real SimWorld): the state backend contract that
 * test_state_backend_contract.c runs against hashmap and filesystem (asynchronous
 * snapshot -> handle -> restore in another process, concurrent snapshots, corrupt, torn
 * and consistent-but-garbled snapshots fail, clear/free/cancel drop callbacks, discard,
 * foreign handles, factory), then what is particular to ZooKeeper: the znode layout,
 * chunking below jute.maxbuffer (restores bit-identical), oversized state refused with
 * an error naming the key, a torn snapshot (no manifest, missing chunk) never restores,
 * the manifest is written last (a crash at every moment: a manifest always means a
 * complete snapshot), connection loss and session expiry fail the snapshot and the
 * backend recovers with a fresh session, the znodes of a failed snapshot are removed,
 * a backend freed from its own callback, and the manifest codec. Corruption is planted
 * through a second, raw RtCoord session, as an operator with zkCli would. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/world/sim_world.h"
#include "sim/world/sim_zk.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_check.h"
#include "tests/support/test_env.h"

#define SEC 1000000000ull
#define RUN_NS (30ull * SEC)
#define NPROC 3u

/* ------------------------------------------------------------------ world */

typedef struct Proc {
    RtEnv *env;
    RtStateBackend *backend; /* owned: a crash frees it (stop) */
} Proc;

static void *proc_start(RtEnv *env, void *arg) {
    (void)arg;
    Proc *p = g_new0(Proc, 1);
    p->env = env;
    return p;
}

static void proc_stop(void *instance) {
    Proc *p = instance;
    rt_state_backend_free(p->backend);
    g_free(p);
}

static const SimProcessClass proc_class = {"zk-state-test", proc_start, proc_stop};

static SimWorld *world;
static SimZk *zk;
static RtCoord *admin_coord;

static void world_setup(void) {
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, 7);
    world = sim_world_new(&cfg);
    zk = sim_zk_new(sim_world_kernel(world), 7, NULL, NULL);
    sim_zk_attach_world(zk, world);
    for (unsigned i = 0; i < NPROC; i++)
        ck_assert_uint_eq(sim_world_spawn(world, "p", &proc_class, NULL), i);
}

static void world_teardown(void) {
    sim_world_free(world); /* first: its processes' teardown frees handles */
    sim_zk_free(zk);
    world = NULL;
    zk = NULL;
    admin_coord = NULL;
}

static Proc *proc(SimProcessId pid) {
    Proc *p = sim_world_process_instance(world, pid);
    ck_assert_ptr_nonnull(p);
    return p;
}

static bool run_until(bool (*cond)(void *), void *ud, uint64_t max_ns) {
    SimKernel *k = sim_world_kernel(world);
    uint64_t deadline = sim_world_now_ns(world) + max_ns;
    for (unsigned i = 0; i < 10000000u; i++) {
        if (cond != NULL && cond(ud))
            return true;
        if (sim_kernel_next_time_ns(k) > deadline || !sim_world_step(world))
            break;
    }
    return cond != NULL && cond(ud);
}

static void run_for(uint64_t ns) {
    run_until(NULL, NULL, ns);
}

/* Makes pid's backend (replacing any) from cfg (may be NULL). */
static RtStateBackend *make_cfg(SimProcessId pid, const RtConfig *cfg) {
    Proc *p = proc(pid);
    rt_state_backend_free(p->backend);
    GError *err = NULL;
    p->backend = rt_state_backend_new("zookeeper", p->env, cfg, &err);
    ck_assert_msg(p->backend != NULL, "%s", err ? err->message : "");
    ck_assert_str_eq(rt_state_backend_name(p->backend), "zookeeper");
    return p->backend;
}

static RtStateBackend *make(SimProcessId pid) {
    return make_cfg(pid, NULL);
}

/* Frees pid's backend now (as its owner would). */
static void unmake(SimProcessId pid) {
    Proc *p = proc(pid);
    rt_state_backend_free(p->backend);
    p->backend = NULL;
}

/* ---------------------------------------------------------- raw znodes */

typedef struct Raw {
    int calls;
    GError *error;
    GBytes *data;
} Raw;

static bool raw_done(void *ud) {
    return ((Raw *)ud)->calls > 0;
}

static void raw_on_done(RtCoord *c, GError *error, void *ud) {
    (void)c;
    Raw *r = ud;
    r->calls++;
    r->error = error;
}

static void raw_on_stat(RtCoord *c, const RtCoordStat *st, GError *error, void *ud) {
    (void)st;
    raw_on_done(c, error, ud);
}

/* The operator's session (opened on first use; sim_zk_free frees it). */
static RtCoord *admin(void) {
    if (admin_coord == NULL) {
        RtCoordConfig cfg;
        rt_coord_config_init(&cfg);
        cfg.connect_string = "127.0.0.1:2181";
        GError *err = NULL;
        admin_coord = rt_coord_open(sim_world_process_env(world, NPROC - 1), &cfg, &err);
        ck_assert_msg(admin_coord != NULL, "%s", err ? err->message : "");
    }
    return admin_coord;
}

static void raw_set(const char *path, const void *data, size_t len) {
    Raw r = {0};
    ck_assert(rt_coord_set(admin(), path, data, len, RT_COORD_ANY_VERSION, raw_on_stat, &r,
                           NULL));
    ck_assert(run_until(raw_done, &r, RUN_NS));
    ck_assert_msg(r.error == NULL, "%s", r.error ? r.error->message : "");
}

static void raw_delete(const char *path) {
    Raw r = {0};
    ck_assert(rt_coord_delete(admin(), path, RT_COORD_ANY_VERSION, raw_on_done, &r, NULL));
    ck_assert(run_until(raw_done, &r, RUN_NS));
    ck_assert_msg(r.error == NULL, "%s", r.error ? r.error->message : "");
}

/* God's-eye reads of the ensemble's tree. */
static GBytes *znode(const char *path) {
    const void *d = NULL;
    size_t n = 0;
    if (!sim_zk_tree_data(sim_zk_tree(zk), path, &d, &n))
        return NULL;
    return g_bytes_new(d, n);
}

static GBytes *tree_read(void *ctx, const char *path) {
    (void)ctx;
    return znode(path);
}

static bool znode_exists(const char *path) {
    return sim_zk_tree_stat(sim_zk_tree(zk), path, NULL);
}

static size_t znode_children(const char *path) {
    const char **names = NULL;
    size_t n = 0;
    if (!sim_zk_tree_children(sim_zk_tree(zk), path, &names, &n))
        return 0;
    g_free(names);
    return n;
}

static char *child(const RtStateHandle *h, const char *name) {
    return g_strdup_printf("%s/%s", h->location, name);
}

/* ------------------------------------------------------------- outcomes */

static bool outcome_done(void *ud) {
    return ((TestBackendOutcome *)ud)->calls > 0;
}

static RtSnapshot *sample(uint64_t checkpoint_id) {
    return test_backend_sample(checkpoint_id, 300);
}

static RtSnapshotTarget target(uint64_t checkpoint_id) {
    RtSnapshotTarget t = {"word count", checkpoint_id, 1, 0, 2};
    return t;
}

static RtStateHandle *persist(RtStateBackend *b, const RtSnapshot *snap) {
    TestBackendOutcome o = {0};
    RtSnapshotTarget t = target(snap->checkpoint_id);
    GError *err = NULL;
    ck_assert_msg(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, &err), "%s",
                  err ? err->message : "");
    ck_assert_int_eq(o.calls, 0); /* never before the call returns */
    ck_assert(run_until(outcome_done, &o, RUN_NS));
    run_for(SEC / 100); /* nothing more arrives */
    ck_assert_int_eq(o.calls, 1);
    ck_assert_msg(o.error == NULL, "%s", o.error ? o.error->message : "");
    RtStateHandle *h = o.handle;
    o.handle = NULL;
    test_backend_outcome_clear(&o);
    return h;
}

static RtSnapshot *restore(RtStateBackend *b, const RtStateHandle *h, GError **error) {
    TestBackendOutcome o = {0};
    GError *err = NULL;
    ck_assert_msg(rt_state_backend_restore(b, h, test_backend_on_restore, &o, &err), "%s",
                  err ? err->message : "");
    ck_assert_int_eq(o.calls, 0);
    ck_assert(run_until(outcome_done, &o, RUN_NS));
    run_for(SEC / 100);
    ck_assert_int_eq(o.calls, 1);
    RtSnapshot *s = o.snapshot;
    o.snapshot = NULL;
    if (o.error != NULL)
        g_propagate_error(error, g_error_copy(o.error));
    test_backend_outcome_clear(&o);
    return s;
}

/* ------------------------------------------------------------- contract */

START_TEST(test_round_trip) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(3);
    RtStateHandle *h = persist(b, snap);
    ck_assert_str_eq(h->backend, "zookeeper");
    ck_assert_uint_eq(h->checkpoint_id, 3);
    ck_assert_uint_gt(h->size_bytes, 100);
    ck_assert_ptr_null(h->inline_data);
    GBytes *wire = rt_state_handle_encode(h);
    gsize n = 0;
    const void *d = g_bytes_get_data(wire, &n);
    RtStateHandle *h2 = NULL;
    ck_assert(rt_state_handle_decode(d, n, &h2, NULL));
    ck_assert(rt_state_handle_equal(h, h2));
    g_bytes_unref(wire);
    /* Restore in another process (after failover), with its own session. */
    RtStateBackend *b2 = make(1);
    GError *err = NULL;
    RtSnapshot *back = restore(b2, h2, &err);
    ck_assert_msg(back != NULL, "%s", err ? err->message : "");
    test_backend_assert_same(snap, back);
    uint64_t v = 0;
    ck_assert(rt_snapshot_lookup_value(back, "count", 17, &v));
    ck_assert_uint_eq(v, 51);
    rt_snapshot_free(back);
    rt_snapshot_free(snap);
    rt_state_handle_free(h);
    rt_state_handle_free(h2);
    world_teardown();
}
END_TEST

static bool all_three(void *ud) {
    TestBackendOutcome *o = ud;
    return o[0].calls > 0 && o[1].calls > 0 && o[2].calls > 0;
}

START_TEST(test_concurrent_snapshots) {
    world_setup();
    RtStateBackend *b = make(0);
    TestBackendOutcome o[3] = {{0}};
    for (uint64_t id = 1; id <= 3; id++) {
        RtSnapshot *snap = sample(id);
        RtSnapshotTarget t = target(id);
        ck_assert(
            rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o[id - 1], NULL));
        rt_snapshot_free(snap); /* the backend must not need it any more */
    }
    ck_assert(run_until(all_three, o, RUN_NS));
    run_for(SEC / 10);
    for (uint64_t id = 1; id <= 3; id++) {
        ck_assert_int_eq(o[id - 1].calls, 1);
        ck_assert_ptr_nonnull(o[id - 1].handle);
        RtSnapshot *back = restore(b, o[id - 1].handle, NULL);
        ck_assert_ptr_nonnull(back);
        RtSnapshot *want = sample(id);
        test_backend_assert_same(want, back);
        rt_snapshot_free(want);
        rt_snapshot_free(back);
        test_backend_outcome_clear(&o[id - 1]);
    }
    world_teardown();
}
END_TEST

/* Corrupts chunk 0 of h: mode 0 flips a byte, 1 tears it to its first half, 2 empties
 * it. Returns the torn bytes (mode 1) for the caller, else NULL. */
static GBytes *corrupt(const RtStateHandle *h, int mode) {
    char *path = child(h, "chunk-0000000000");
    GBytes *orig = znode(path);
    ck_assert_ptr_nonnull(orig);
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(orig, &n);
    uint8_t *copy = g_memdup2(d, n);
    size_t len = mode == 0 ? n : mode == 1 ? n / 2 : 0;
    if (mode == 0)
        copy[n / 3] ^= 0x10;
    raw_set(path, copy, len);
    GBytes *torn = mode == 1 ? g_bytes_new(copy, len) : NULL;
    g_free(copy);
    g_bytes_unref(orig);
    g_free(path);
    return torn;
}

START_TEST(test_corrupt_restore_fails) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(4);
    RtStateHandle *h = persist(b, snap);
    GBytes *torn = corrupt(h, _i);
    GError *err = NULL;
    ck_assert_ptr_null(restore(b, h, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT),
                  "%s", err->message);
    g_clear_error(&err);
    if (torn != NULL)
        g_bytes_unref(torn);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    world_teardown();
}
END_TEST

/* Chunks, manifest and handle all agree on torn bytes: the snapshot's own checks. */
START_TEST(test_consistent_but_garbled_handle_fails) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(5);
    RtStateHandle *h = persist(b, snap);
    GBytes *torn = corrupt(h, 1);
    gsize n = 0;
    const void *d = g_bytes_get_data(torn, &n);
    RtStateHandle *bad = rt_state_handle_copy(h);
    bad->size_bytes = n;
    bad->crc32c = rt_crc32c(0, d, n);
    RtBackendZkManifest m = {5, n, bad->crc32c, RT_BACKEND_ZK_DEFAULT_CHUNK_BYTES, 1};
    GBytes *man = rt_backend_zk_manifest_encode(&m);
    char *mpath = child(h, "manifest");
    raw_set(mpath, g_bytes_get_data(man, NULL), g_bytes_get_size(man));
    GError *err = NULL;
    ck_assert_ptr_null(restore(b, bad, &err));
    ck_assert_msg(g_error_matches(err, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_TRUNCATED), "%s",
                  err ? err->message : "");
    g_clear_error(&err);
    g_free(mpath);
    g_bytes_unref(man);
    g_bytes_unref(torn);
    rt_state_handle_free(bad);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    world_teardown();
}
END_TEST

START_TEST(test_clear_and_free_cancel) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(6);
    RtStateHandle *h = persist(b, snap);
    TestBackendOutcome o1 = {0}, o2 = {0}, o3 = {0};
    RtSnapshotTarget t = target(7);
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o1, NULL));
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &o2, NULL));
    rt_state_backend_clear(b);
    run_for(SEC);
    ck_assert_int_eq(o1.calls, 0);
    ck_assert_int_eq(o2.calls, 0);
    /* A cleared snapshot never acknowledged: its znodes are gone again. */
    RtSnapshotTarget t7 = target(7);
    char *dir7 = rt_backend_zk_path(RT_BACKEND_ZK_DEFAULT_ROOT, &t7);
    ck_assert(!znode_exists(dir7));
    g_free(dir7);
    RtSnapshot *back = restore(b, h, NULL); /* still usable after clear */
    ck_assert_ptr_nonnull(back);
    rt_snapshot_free(back);
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o3, NULL));
    unmake(0); /* freed with an operation in flight: no callback, no use after free */
    run_for(SEC);
    ck_assert_int_eq(o3.calls, 0);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    world_teardown();
}
END_TEST

START_TEST(test_cancel_one_owner) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(14);
    RtStateHandle *h = persist(b, snap);
    TestBackendOutcome gone = {0}, gone2 = {0}, kept = {0};
    RtSnapshotTarget t = target(15);
    RtSnapshotTarget t2 = target(16);
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &gone, NULL));
    ck_assert(rt_state_backend_snapshot(b, &t2, snap, test_backend_on_snapshot, &kept, NULL));
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &gone, NULL));
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &gone2, NULL));
    rt_state_backend_cancel(b, &gone);
    rt_state_backend_cancel(b, &gone2);
    run_for(SEC);
    ck_assert_int_eq(gone.calls, 0);
    ck_assert_int_eq(gone2.calls, 0);
    ck_assert_int_eq(kept.calls, 1);
    ck_assert_ptr_nonnull(kept.handle);
    test_backend_outcome_clear(&kept);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    world_teardown();
}
END_TEST

START_TEST(test_discard) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(8);
    RtStateHandle *h = persist(b, snap);
    /* A second subtask's snapshot of the same checkpoint keeps chk-8 alive. */
    RtSnapshotTarget t2 = target(8);
    t2.subtask = 1;
    TestBackendOutcome o = {0};
    ck_assert(rt_state_backend_snapshot(b, &t2, snap, test_backend_on_snapshot, &o, NULL));
    ck_assert(run_until(outcome_done, &o, RUN_NS));
    ck_assert_ptr_nonnull(o.handle);
    char *chk = g_strndup(h->location, (gsize)(strrchr(h->location, '/') - h->location));
    ck_assert_uint_eq(znode_children(chk), 2);
    rt_state_backend_discard(b, h);
    run_for(SEC);
    ck_assert(!znode_exists(h->location));
    ck_assert(znode_exists(chk));
    GError *err = NULL;
    ck_assert_ptr_null(restore(b, h, &err));
    ck_assert(g_error_matches(err, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE));
    ck_assert_ptr_nonnull(strstr(err->message, "manifest"));
    g_clear_error(&err);
    /* The last one goes with its checkpoint's znode (discarded by another process). */
    RtStateBackend *b2 = make(1);
    rt_state_backend_discard(b2, o.handle);
    run_for(SEC);
    ck_assert(!znode_exists(o.handle->location));
    ck_assert(!znode_exists(chk));
    ck_assert(znode_exists(RT_BACKEND_ZK_DEFAULT_ROOT "/word_count"));
    g_free(chk);
    test_backend_outcome_clear(&o);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    world_teardown();
}
END_TEST

START_TEST(test_foreign_handle_rejected) {
    world_setup();
    RtStateBackend *b = make(0);
    TestBackendOutcome o = {0};
    GError *err = NULL;
    RtStateHandle *h = rt_state_handle_new("other", "x/y", 1, 10, 0, NULL);
    ck_assert(!rt_state_backend_restore(b, h, test_backend_on_restore, &o, &err));
    ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE));
    g_clear_error(&err);
    rt_state_handle_free(h);
    /* Ours by name, but not a znode path. */
    h = rt_state_handle_new("zookeeper", "x/y", 1, 10, 0, NULL);
    ck_assert(!rt_state_backend_restore(b, h, test_backend_on_restore, &o, &err));
    ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE));
    g_clear_error(&err);
    run_for(SEC);
    ck_assert_int_eq(o.calls, 0); /* failed at once: the callback never runs */
    rt_state_handle_free(h);
    world_teardown();
}
END_TEST

static void expect_config_error(const RtConfig *cfg, RtEnv *env, const char *key) {
    GError *err = NULL;
    ck_assert_ptr_null(rt_state_backend_new("zookeeper", env, cfg, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, key) != NULL, "'%s' lacks %s", err->message, key);
    g_clear_error(&err);
}

START_TEST(test_factory) {
    world_setup();
    RtEnv *env = sim_world_process_env(world, 0);
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, "state.backend.type", "zookeeper");
    GError *err = NULL;
    RtStateBackend *b = rt_state_backend_new(NULL, env, cfg, &err);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(rt_state_backend_name(b), "zookeeper");
    rt_state_backend_free(b);
    rt_config_set(cfg, "state.backend.zookeeper.path", "/");
    expect_config_error(cfg, env, "state.backend.zookeeper.path");
    rt_config_set(cfg, "state.backend.zookeeper.path", "relative/path");
    expect_config_error(cfg, env, "state.backend.zookeeper.path");
    rt_config_set(cfg, "state.backend.zookeeper.path", "/flink/state/");
    rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "1 mb"); /* over jute.maxbuffer */
    expect_config_error(cfg, env, "state.backend.zookeeper.chunk-size");
    rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "lots");
    expect_config_error(cfg, env, "state.backend.zookeeper.chunk-size");
    rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "1000 kb");
    rt_config_set(cfg, "state.backend.zookeeper.max-state-size", "0");
    expect_config_error(cfg, env, "state.backend.zookeeper.max-state-size");
    rt_config_set(cfg, "state.backend.zookeeper.max-state-size", "1 mb");
    rt_config_set(cfg, "state.backend.zookeeper.address", "no port here");
    expect_config_error(cfg, env, "state.backend.zookeeper.address");
    rt_config_set(cfg, "state.backend.zookeeper.address", "zk1:2181,zk2:2181");
    b = rt_state_backend_new(NULL, env, cfg, &err);
    ck_assert_msg(b != NULL, "%s", err ? err->message : "");
    RtSnapshot *snap = sample(9);
    RtStateHandle *h = persist(b, snap);
    ck_assert_str_eq(h->location, "/flink/state/word_count/chk-9/1-0-2");
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    /* A world without ZooKeeper: an error naming the key, at configure. */
    TestEnv *te = test_env_new();
    expect_config_error(NULL, test_env_rt(te), "state.backend.zookeeper.address");
    test_env_free(te);
    rt_config_free(cfg);
    world_teardown();
}
END_TEST

/* -------------------------------------------------------- zookeeper specifics */

START_TEST(test_layout) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(10);
    RtStateHandle *h = persist(b, snap);
    ck_assert_str_eq(h->location, "/ckptsim/state/word_count/chk-10/1-0-2");
    ck_assert_uint_eq(znode_children(h->location), 2); /* one chunk + the manifest */
    char *mpath = child(h, "manifest");
    char *cpath = child(h, "chunk-0000000000");
    GBytes *man = znode(mpath), *chunk = znode(cpath);
    RtBackendZkManifest m;
    ck_assert(rt_backend_zk_manifest_decode(g_bytes_get_data(man, NULL), g_bytes_get_size(man),
                                            &m, NULL));
    ck_assert_uint_eq(m.chunk_count, 1);
    ck_assert_uint_eq(m.size_bytes, h->size_bytes);
    ck_assert_uint_eq(m.crc32c, h->crc32c);
    ck_assert_uint_eq(m.checkpoint_id, 10);
    GBytes *enc = rt_snapshot_encode(snap);
    ck_assert(g_bytes_equal(enc, chunk));
    /* The manifest was written after the chunk (ZooKeeper's zxids order writes). */
    RtCoordStat sm, sc;
    ck_assert(sim_zk_tree_stat(sim_zk_tree(zk), mpath, &sm));
    ck_assert(sim_zk_tree_stat(sim_zk_tree(zk), cpath, &sc));
    ck_assert_int_gt(sm.czxid, sc.czxid);
    g_bytes_unref(enc);
    g_bytes_unref(man);
    g_bytes_unref(chunk);
    g_free(mpath);
    g_free(cpath);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    world_teardown();
}
END_TEST

/* State bigger than a chunk: several chunks, none over the chunk size, the manifest
 * after every one of them, and a bit-identical restore. _i: 0 = 1 kb chunks, 1 = the
 * default 512 KiB chunks with ~2 MB of state. */
START_TEST(test_chunking) {
    world_setup();
    RtConfig *cfg = rt_config_new();
    uint64_t keys = _i == 0 ? 2000 : 120000;
    uint64_t chunk = _i == 0 ? 1024 : RT_BACKEND_ZK_DEFAULT_CHUNK_BYTES;
    if (_i == 0)
        rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "1 kb");
    RtStateBackend *b = make_cfg(0, cfg);
    RtSnapshot *snap = test_backend_sample(11, keys);
    RtStateHandle *h = persist(b, snap);
    uint64_t want = (h->size_bytes + chunk - 1) / chunk;
    ck_assert_uint_ge(want, 3);
    ck_assert_uint_eq(znode_children(h->location), want + 1);
    char *mpath = child(h, "manifest");
    RtCoordStat sm;
    ck_assert(sim_zk_tree_stat(sim_zk_tree(zk), mpath, &sm));
    uint64_t total = 0;
    for (uint64_t i = 0; i < want; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "chunk-%010u", (unsigned)i);
        char *p = child(h, name);
        RtCoordStat sc;
        ck_assert(sim_zk_tree_stat(sim_zk_tree(zk), p, &sc));
        ck_assert_int_le(sc.data_length, (int32_t)chunk);
        ck_assert_int_lt(sc.czxid, sm.czxid);
        total += (uint64_t)sc.data_length;
        g_free(p);
    }
    ck_assert_uint_eq(total, h->size_bytes);
    GBytes *enc = rt_snapshot_encode(snap);
    GBytes *seen = rt_backend_zk_assemble(h->location, tree_read, NULL, NULL);
    ck_assert_ptr_nonnull(seen); /* the harness's god's-eye view agrees */
    ck_assert(g_bytes_equal(enc, seen));
    g_bytes_unref(seen);
    g_bytes_unref(enc);
    RtStateBackend *b2 = make(1); /* default chunk size: the manifest says how to read */
    RtSnapshot *back = restore(b2, h, NULL);
    ck_assert_ptr_nonnull(back);
    test_backend_assert_same(snap, back);
    rt_snapshot_free(back);
    g_free(mpath);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_config_free(cfg);
    world_teardown();
}
END_TEST

START_TEST(test_oversize_refused) {
    world_setup();
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, "state.backend.zookeeper.max-state-size", "10 kb");
    RtStateBackend *b = make_cfg(0, cfg);
    RtSnapshot *snap = test_backend_sample(12, 3000);
    RtSnapshotTarget t = target(12);
    TestBackendOutcome o = {0};
    GError *err = NULL;
    size_t before = sim_zk_tree_count(sim_zk_tree(zk));
    ck_assert(!rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, &err));
    ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG));
    ck_assert_ptr_nonnull(strstr(err->message, "state.backend.zookeeper.max-state-size"));
    ck_assert_ptr_nonnull(strstr(err->message, "10240 bytes"));
    g_clear_error(&err);
    run_for(SEC);
    ck_assert_int_eq(o.calls, 0);
    ck_assert_uint_eq(sim_zk_tree_count(sim_zk_tree(zk)), before); /* nothing written */
    /* Small state still goes through the same backend. */
    RtSnapshot *small = test_backend_sample(13, 10);
    RtStateHandle *h = persist(b, small);
    rt_state_handle_free(h);
    rt_snapshot_free(small);
    rt_snapshot_free(snap);
    rt_config_free(cfg);
    world_teardown();
}
END_TEST

/* A torn snapshot: no manifest (_i 0), or a chunk missing under its manifest (_i 1). */
START_TEST(test_torn_snapshot_fails) {
    world_setup();
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "2 kb");
    RtStateBackend *b = make_cfg(0, cfg);
    RtSnapshot *snap = test_backend_sample(20, 1000);
    RtStateHandle *h = persist(b, snap);
    char *victim = child(h, _i == 0 ? "manifest" : "chunk-0000000001");
    raw_delete(victim);
    GError *err = NULL;
    ck_assert_ptr_null(rt_backend_zk_assemble(h->location, tree_read, NULL, &err));
    ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT));
    g_clear_error(&err);
    ck_assert_ptr_null(restore(b, h, &err));
    ck_assert_ptr_nonnull(err);
    if (_i == 0) {
        ck_assert(g_error_matches(err, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE));
        ck_assert_ptr_nonnull(strstr(err->message, "torn"));
    } else {
        ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT));
        ck_assert_ptr_nonnull(strstr(err->message, "chunk 1"));
    }
    g_clear_error(&err);
    g_free(victim);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_config_free(cfg);
    world_teardown();
}
END_TEST

/* The manifest is written last: the process crashes after k events of a snapshot's life,
 * for every k. Whatever is left, a manifest always describes a complete snapshot (a
 * handle made from it restores bit-identically), and an acknowledged snapshot always
 * restores. */
START_TEST(test_crash_at_every_step) {
    RtSnapshot *snap = test_backend_sample(21, 1500);
    GBytes *enc = rt_snapshot_encode(snap);
    bool saw_torn = false, saw_complete = false;
    for (unsigned k = 0; k < 400; k++) {
        world_setup();
        RtConfig *cfg = rt_config_new();
        /* More chunks than the backend keeps in flight at once. */
        rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "1 kb");
        RtStateBackend *b = make_cfg(0, cfg);
        run_for(SEC / 10); /* connected */
        RtSnapshotTarget t = target(21);
        TestBackendOutcome o = {0};
        ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, NULL));
        for (unsigned s = 0; s < k && o.calls == 0; s++)
            ck_assert(sim_world_step(world));
        bool acked = o.calls > 0;
        ck_assert(sim_world_crash(world, 0)); /* frees the backend (stop) */
        ck_assert(sim_world_restart(world, 0));
        run_for(SEC);
        char *dir = rt_backend_zk_path(RT_BACKEND_ZK_DEFAULT_ROOT, &t);
        char *mpath = g_strconcat(dir, "/manifest", NULL);
        GBytes *man = znode(mpath);
        saw_torn = saw_torn || (man == NULL && znode_children(dir) > 0);
        if (man != NULL) {
            saw_complete = true;
            RtBackendZkManifest m;
            ck_assert(rt_backend_zk_manifest_decode(g_bytes_get_data(man, NULL),
                                                    g_bytes_get_size(man), &m, NULL));
            RtStateHandle *h = rt_state_handle_new("zookeeper", dir, 21, m.size_bytes,
                                                   m.crc32c, NULL);
            RtSnapshot *back = restore(make(1), h, NULL);
            ck_assert_ptr_nonnull(back);
            test_backend_assert_same(snap, back);
            rt_snapshot_free(back);
            rt_state_handle_free(h);
            g_bytes_unref(man);
        } else {
            ck_assert(!acked);
        }
        g_free(mpath);
        g_free(dir);
        test_backend_outcome_clear(&o);
        rt_config_free(cfg);
        world_teardown();
        if (acked)
            break;
    }
    ck_assert(saw_torn);     /* some crash left chunks without a manifest... */
    ck_assert(saw_complete); /* ...and the loop reached the acknowledgement */
    g_bytes_unref(enc);
    rt_snapshot_free(snap);
}
END_TEST

/* Connection loss in the middle of a snapshot: the outcome of the writes in flight is
 * unknown, so the snapshot fails; its znodes are removed after the reconnect, and the
 * next snapshot succeeds on the same session. */
START_TEST(test_connection_loss_fails_snapshot) {
    world_setup();
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "1 kb");
    RtStateBackend *b = make_cfg(0, cfg);
    run_for(SEC / 10);
    RtSnapshot *snap = test_backend_sample(22, 3000);
    RtSnapshotTarget t = target(22);
    TestBackendOutcome o = {0};
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, NULL));
    for (unsigned s = 0; s < 20; s++)
        ck_assert(sim_world_step(world));
    ck_assert_int_eq(o.calls, 0);
    sim_zk_drop_connection(zk, 0, SEC / 2);
    ck_assert(run_until(outcome_done, &o, RUN_NS));
    run_for(5 * SEC);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_ptr_null(o.handle);
    ck_assert_ptr_nonnull(o.error);
    ck_assert_msg(g_error_matches(o.error, RT_COORD_ERROR, RT_COORD_ERROR_CONNECTION_LOSS),
                  "%s", o.error->message);
    char *dir = rt_backend_zk_path(RT_BACKEND_ZK_DEFAULT_ROOT, &t);
    ck_assert_msg(!znode_exists(dir), "a failed snapshot's znodes must be cleaned up");
    g_free(dir);
    test_backend_outcome_clear(&o);
    RtStateHandle *h = persist(b, snap);
    RtSnapshot *back = restore(b, h, NULL);
    ck_assert_ptr_nonnull(back);
    test_backend_assert_same(snap, back);
    rt_snapshot_free(back);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_config_free(cfg);
    world_teardown();
}
END_TEST

/* Session expiry in the middle of a snapshot: exactly one outcome, never a handle whose
 * data is missing; then the backend opens a new session and works again. */
START_TEST(test_session_expiry) {
    world_setup();
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, "state.backend.zookeeper.chunk-size", "1 kb");
    rt_config_set(cfg, "high-availability.zookeeper.client.session-timeout", "4 s");
    RtStateBackend *b = make_cfg(0, cfg);
    run_for(SEC / 10);
    RtSnapshot *snap = test_backend_sample(23, 3000);
    RtSnapshotTarget t = target(23);
    TestBackendOutcome o = {0};
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, NULL));
    for (unsigned s = 0; s < 10; s++)
        ck_assert(sim_world_step(world));
    ck_assert_uint_ge(sim_zk_expire_process(zk, 0), 1);
    sim_zk_drop_connection(zk, 0, SEC / 10); /* the client learns it on reconnect */
    ck_assert(run_until(outcome_done, &o, RUN_NS));
    run_for(5 * SEC);
    ck_assert_int_eq(o.calls, 1);
    if (o.handle != NULL) { /* completed before the expiry: must restore */
        RtSnapshot *back = restore(b, o.handle, NULL);
        ck_assert_ptr_nonnull(back);
        rt_snapshot_free(back);
    }
    test_backend_outcome_clear(&o);
    RtSnapshot *small = sample(24);
    RtStateHandle *h = persist(b, small); /* a fresh session */
    RtSnapshot *back = restore(make(1), h, NULL);
    ck_assert_ptr_nonnull(back);
    test_backend_assert_same(small, back);
    rt_snapshot_free(back);
    rt_state_handle_free(h);
    rt_snapshot_free(small);
    rt_snapshot_free(snap);
    rt_config_free(cfg);
    world_teardown();
}
END_TEST

/* The owner frees the backend from inside its own callback. */
static void free_in_callback(void *ud, RtStateHandle *handle, const GError *error) {
    test_backend_on_snapshot(ud, handle, error);
    unmake(0);
}

START_TEST(test_free_inside_callback) {
    world_setup();
    RtStateBackend *b = make(0);
    RtSnapshot *snap = sample(25);
    RtSnapshotTarget t = target(25);
    TestBackendOutcome o = {0}, other = {0};
    ck_assert(rt_state_backend_snapshot(b, &t, snap, free_in_callback, &o, NULL));
    t.subtask = 1;
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &other, NULL));
    ck_assert(run_until(outcome_done, &o, RUN_NS));
    run_for(SEC);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_int_eq(other.calls, 0); /* freed with it in flight */
    ck_assert_ptr_null(proc(0)->backend);
    test_backend_outcome_clear(&o);
    rt_snapshot_free(snap);
    world_teardown();
}
END_TEST

START_TEST(test_manifest_codec) {
    RtBackendZkManifest m = {7, 1000000, 0xdeadbeefu, 4096, 245};
    GBytes *enc = rt_backend_zk_manifest_encode(&m);
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(enc, &n);
    ck_assert_uint_eq(n, RT_BACKEND_ZK_MANIFEST_BYTES);
    RtBackendZkManifest out;
    ck_assert(rt_backend_zk_manifest_decode(d, n, &out, NULL));
    ck_assert_uint_eq(out.checkpoint_id, 7);
    ck_assert_uint_eq(out.size_bytes, 1000000);
    ck_assert_uint_eq(out.crc32c, 0xdeadbeefu);
    ck_assert_uint_eq(out.chunk_bytes, 4096);
    ck_assert_uint_eq(out.chunk_count, 245);
    for (size_t len = 0; len < n; len++)
        ck_assert(!rt_backend_zk_manifest_decode(d, len, &out, NULL));
    uint8_t *copy = g_memdup2(d, n);
    for (size_t i = 0; i < n * 8; i++) {
        copy[i / 8] ^= (uint8_t)(1u << (i % 8));
        GError *err = NULL;
        ck_assert(!rt_backend_zk_manifest_decode(copy, n, &out, &err));
        ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT));
        g_clear_error(&err);
        copy[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    g_free(copy);
    g_bytes_unref(enc);
}
END_TEST

static Suite *state_backend_zk_suite(void) {
    Suite *s = suite_create("state_backend_zk");
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_concurrent_snapshots);
    tcase_add_loop_test(tc, test_corrupt_restore_fails, 0, 3);
    tcase_add_test(tc, test_consistent_but_garbled_handle_fails);
    tcase_add_test(tc, test_clear_and_free_cancel);
    tcase_add_test(tc, test_cancel_one_owner);
    tcase_add_test(tc, test_discard);
    tcase_add_test(tc, test_foreign_handle_rejected);
    tcase_add_test(tc, test_factory);
    suite_add_tcase(s, tc);
    TCase *z = tcase_create("zookeeper");
    tcase_set_timeout(z, 300);
    tcase_add_test(z, test_layout);
    tcase_add_loop_test(z, test_chunking, 0, 2);
    tcase_add_test(z, test_oversize_refused);
    tcase_add_loop_test(z, test_torn_snapshot_fails, 0, 2);
    tcase_add_test(z, test_crash_at_every_step);
    tcase_add_test(z, test_connection_loss_fails_snapshot);
    tcase_add_test(z, test_session_expiry);
    tcase_add_test(z, test_free_inside_callback);
    tcase_add_test(z, test_manifest_codec);
    suite_add_tcase(s, z);
    return s;
}

int main(void) {
    return test_check_run(state_backend_zk_suite());
}
