/* test_state_backend_zk_real.c - the "zookeeper" state backend against a real server
 * (suite 'zk': CKPTSIM_TEST_ZK=host:port; TAP skip when unset), through the real client
 * (rt_coord_zk) on the default GMainContext: snapshot -> restore in a fresh backend,
 * several 512 KiB chunks of a ~2 MB state through a real jute.maxbuffer (1 MiB), small
 * chunks, oversized state refused, a torn snapshot (manifest deleted) refused, discard.
 * Every run works under its own root znode, /ckptsim-test/state-<pid>. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/coord/rt_coord_zk.h"
#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_state_backend.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_check.h"

#define WAIT_US (20ll * G_USEC_PER_SEC)

static RtCoord *real_open(RtEnv *self, const RtCoordConfig *cfg, GError **error) {
    (void)self;
    return rt_coord_zk_open(g_main_context_default(), cfg, error);
}

static RtEnv env = {.coord_open = real_open};
static char root[64];

static gboolean tick(gpointer ud) {
    (void)ud;
    return G_SOURCE_CONTINUE;
}

static bool wait_for(const int *calls) {
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    guint t = g_timeout_add(5, tick, NULL); /* bounds each blocking iteration */
    while (*calls == 0 && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(t);
    return *calls > 0;
}

static void run_for_ms(gint64 ms) {
    gint64 deadline = g_get_monotonic_time() + ms * 1000;
    guint t = g_timeout_add(5, tick, NULL);
    while (g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(t);
}

static RtStateBackend *make(const char *chunk) {
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, "state.backend.zookeeper.address", getenv("CKPTSIM_TEST_ZK"));
    rt_config_set(cfg, "state.backend.zookeeper.path", root);
    rt_config_set(cfg, "state.backend.zookeeper.max-state-size", "4 mb");
    if (chunk != NULL)
        rt_config_set(cfg, "state.backend.zookeeper.chunk-size", chunk);
    GError *err = NULL;
    RtStateBackend *b = rt_state_backend_new("zookeeper", &env, cfg, &err);
    ck_assert_msg(b != NULL, "%s", err ? err->message : "");
    rt_config_free(cfg);
    return b;
}

static RtStateHandle *persist(RtStateBackend *b, const RtSnapshot *snap) {
    RtSnapshotTarget t = {"real job", snap->checkpoint_id, 1, 0, 0};
    TestBackendOutcome o = {0};
    GError *err = NULL;
    ck_assert_msg(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, &err), "%s",
                  err ? err->message : "");
    ck_assert_int_eq(o.calls, 0);
    ck_assert(wait_for(&o.calls));
    ck_assert_msg(o.error == NULL, "%s", o.error ? o.error->message : "");
    return o.handle;
}

static RtSnapshot *restore(RtStateBackend *b, const RtStateHandle *h, GError **error) {
    TestBackendOutcome o = {0};
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &o, NULL));
    ck_assert(wait_for(&o.calls));
    if (o.error != NULL)
        g_propagate_error(error, o.error);
    return o.snapshot;
}

/* _i 0: default 512 KiB chunks with ~2 MB of state; 1: 1 kb chunks; 2: the largest
 * chunk size allowed (a real server must take it: jute.maxbuffer). */
START_TEST(test_round_trip_and_discard) {
    char max_chunk[32];
    g_snprintf(max_chunk, sizeof max_chunk, "%u", (unsigned)RT_BACKEND_ZK_CHUNK_MAX_BYTES);
    RtStateBackend *b = make(_i == 0 ? NULL : _i == 1 ? "1 kb" : max_chunk);
    RtSnapshot *snap = test_backend_sample(1 + (uint64_t)_i, _i == 1 ? 2000 : 120000);
    RtStateHandle *h = persist(b, snap);
    ck_assert_uint_gt(h->size_bytes, _i == 1 ? 20000u : 3u * RT_BACKEND_ZK_DEFAULT_CHUNK_BYTES);
    RtStateBackend *b2 = make(NULL);
    GError *err = NULL;
    RtSnapshot *back = restore(b2, h, &err);
    ck_assert_msg(back != NULL, "%s", err ? err->message : "");
    test_backend_assert_same(snap, back);
    rt_snapshot_free(back);
    rt_state_backend_discard(b2, h);
    run_for_ms(1000); /* best effort, no callback: give its deletes time */
    ck_assert_ptr_null(restore(b2, h, &err));
    ck_assert(g_error_matches(err, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE));
    g_clear_error(&err);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    rt_state_backend_free(b2);
}
END_TEST

START_TEST(test_oversize_refused) {
    RtStateBackend *b = make(NULL);
    RtSnapshot *snap = test_backend_sample(3, 300000); /* > 4 mb */
    RtSnapshotTarget t = {"real job", 3, 1, 0, 0};
    TestBackendOutcome o = {0};
    GError *err = NULL;
    ck_assert(!rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "state.backend.zookeeper.max-state-size"));
    g_clear_error(&err);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
}
END_TEST

static void on_deleted(RtCoord *c, GError *error, void *ud) {
    (void)c;
    TestBackendOutcome *o = ud;
    o->calls++;
    o->error = error;
}

START_TEST(test_torn_snapshot_refused) {
    RtStateBackend *b = make("2 kb");
    RtSnapshot *snap = test_backend_sample(4, 1000);
    RtStateHandle *h = persist(b, snap);
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = getenv("CKPTSIM_TEST_ZK");
    RtCoord *raw = rt_coord_zk_open(g_main_context_default(), &cfg, NULL);
    ck_assert_ptr_nonnull(raw);
    char *manifest = g_strconcat(h->location, "/manifest", NULL);
    TestBackendOutcome d = {0};
    ck_assert(rt_coord_delete(raw, manifest, RT_COORD_ANY_VERSION, on_deleted, &d, NULL));
    ck_assert(wait_for(&d.calls));
    ck_assert(d.error == NULL);
    GError *err = NULL;
    ck_assert_ptr_null(restore(b, h, &err));
    ck_assert(g_error_matches(err, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE));
    ck_assert_ptr_nonnull(strstr(err->message, "torn"));
    g_clear_error(&err);
    rt_state_backend_discard(b, h); /* the rest goes */
    run_for_ms(500);
    g_free(manifest);
    rt_coord_free(raw);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
}
END_TEST

static Suite *state_backend_zk_real_suite(void) {
    Suite *s = suite_create("state_backend_zk_real");
    TCase *tc = tcase_create("real");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_round_trip_and_discard, 0, 3);
    tcase_add_test(tc, test_oversize_refused);
    tcase_add_test(tc, test_torn_snapshot_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    if (getenv("CKPTSIM_TEST_ZK") == NULL || getenv("CKPTSIM_TEST_ZK")[0] == '\0') {
        printf("1..0 # SKIP CKPTSIM_TEST_ZK not set\n");
        return 0;
    }
    g_snprintf(root, sizeof root, "/ckptsim-test/state-%ld", (long)getpid());
    return test_check_run(state_backend_zk_real_suite());
}
