/* test_ha_real.c - ZooKeeper HA against a real server (suite 'zk': CKPTSIM_TEST_ZK=
 * host:port; TAP skip when unset), through the real client on live envs (GLib main
 * context, real files in a temporary directory): two contenders elect the one with the
 * lower latch sequence; the leader publishes a checkpoint with the fenced multi; when it
 * leaves, the other is elected through its predecessor watch; a store fenced on the old
 * leader's latch (a zombie) is refused; the new leader's store recovers the published
 * checkpoint. Every run works under its own root, /ckptsim-test/ha-<pid>. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/ha/rt_ckpt_store_zk.h"
#include "runtime/ha/rt_ha_client.h"
#include "runtime/ha/rt_leader_election.h"
#include "runtime/live/rt_live_env.h"
#include "runtime/live/rt_live_storage.h"
#include "tests/support/test_proc.h"

#define WAIT_US (20ll * G_USEC_PER_SEC)

typedef struct Node {
    RtLiveEnv *live;
    RtHaClient *client;
    RtLeaderElection *el;
    int grants, revokes;
} Node;

static RtLiveStorage *storage;
static char *tmpdir;
static char cluster[64];

static gboolean tick(gpointer ud) {
    (void)ud;
    return G_SOURCE_CONTINUE;
}

/* Iterates the default context until *flag or the deadline. */
static bool wait_until(bool (*cond)(void *), void *ud) {
    gint64 deadline = g_get_monotonic_time() + WAIT_US;
    guint t = g_timeout_add(5, tick, NULL);
    while (!cond(ud) && g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(t);
    return cond(ud);
}

static void settle_ms(gint64 ms) {
    gint64 deadline = g_get_monotonic_time() + ms * 1000;
    guint t = g_timeout_add(5, tick, NULL);
    while (g_get_monotonic_time() < deadline)
        g_main_context_iteration(NULL, TRUE);
    g_source_remove(t);
}

static void on_granted(void *ud, uint64_t token) {
    (void)token;
    ((Node *)ud)->grants++;
}

static void on_revoked(void *ud) {
    ((Node *)ud)->revokes++;
}

static const RtLeaderElectionHooks hooks = {on_granted, on_revoked};

static void node_start(Node *n, RtProcessId pid) {
    GError *err = NULL;
    uint16_t base = (uint16_t)(30000 + (getpid() % 20000));
    static const RtLiveSecret secret = {{7}};
    n->live =
        rt_live_env_new(NULL, pid, base, &secret, 7, rt_live_storage_get(storage), NULL, &err);
    ck_assert_msg(n->live != NULL, "%s", err ? err->message : "");
    RtConfig *conf = rt_config_new();
    rt_config_set(conf, "high-availability.type", "zookeeper");
    rt_config_set(conf, "high-availability.zookeeper.quorum", getenv("CKPTSIM_TEST_ZK"));
    rt_config_set(conf, "high-availability.zookeeper.path.root", "/ckptsim-test");
    rt_config_set(conf, "high-availability.cluster-id", cluster);
    rt_config_set(conf, "high-availability.storageDir", "ha");
    rt_config_set(conf, "high-availability.zookeeper.client.session-timeout", "10 s");
    /* ckptsim's fenced variant: the test checks that the real server refuses a zombie's
     * publish through the latch check in the multi (Flink's default does not fence). */
    rt_config_set(conf, "high-availability.zookeeper.fence-writes", "true");
    RtHaConfig hc;
    ck_assert_msg(rt_ha_config_read(&hc, conf, &err), "%s", err ? err->message : "");
    n->client = rt_ha_client_new(rt_live_env_get(n->live), &hc, &err);
    ck_assert_msg(n->client != NULL, "%s", err ? err->message : "");
    rt_ha_config_clear(&hc);
    rt_config_free(conf);
    n->el = rt_leader_election_new(n->client, "jobmanager", "real", &hooks, n);
}

static void node_stop(Node *n) {
    rt_leader_election_free(n->el);
    rt_ha_client_free(n->client);
    rt_live_env_free(n->live);
    memset(n, 0, sizeof *n);
}

static bool leads(void *ud) {
    return rt_leader_election_has_leadership(((Node *)ud)->el);
}

static bool has_latch(void *ud) {
    return rt_leader_election_latch_path(((Node *)ud)->el) != NULL;
}

static int64_t seq_of(const char *latch) {
    size_t n = strlen(latch);
    return g_ascii_strtoll(latch + n - 10, NULL, 10);
}

typedef struct Done {
    int calls;
    GError *error;
} Done;

static void on_done(void *ud, GError *error) {
    Done *d = ud;
    d->calls++;
    d->error = error;
}

static bool done_called(void *ud) {
    return ((Done *)ud)->calls > 0;
}

static GError *store_op(RtCkptStore *s, uint64_t add_id) {
    Done d = {0, NULL};
    GError *err = NULL;
    bool ok;
    if (add_id == 0) {
        ok = rt_ckpt_store_recover(s, on_done, &d, &err);
    } else {
        RtCompletedCheckpoint *cp = rt_completed_checkpoint_new("job", add_id, 1, 2, 1);
        GBytes *b = g_bytes_new_static("state", 5);
        rt_completed_checkpoint_add(cp, (RtSubtaskId){0, 0}, 1, b);
        g_bytes_unref(b);
        ok = rt_ckpt_store_add(s, cp, on_done, &d, &err);
    }
    ck_assert_msg(ok, "%s", err ? err->message : "");
    ck_assert(wait_until(done_called, &d));
    return d.error;
}

START_TEST(test_election_store_fencing_real) {
    Node a = {0}, b = {0};
    node_start(&a, 1);
    ck_assert(wait_until(leads, &a));
    node_start(&b, 2);
    ck_assert(wait_until(has_latch, &b));
    settle_ms(300);
    ck_assert(!leads(&b));
    char *a_latch = g_strdup(rt_leader_election_latch_path(a.el));
    ck_assert_int_lt(seq_of(a_latch), seq_of(rt_leader_election_latch_path(b.el)));

    RtCkptStore *sa = rt_ckpt_store_zk_new(a.client, "chk", "job", a_latch, 1, 1, NULL, NULL);
    ck_assert_ptr_null(store_op(sa, 0));
    GError *e = store_op(sa, 1);
    ck_assert_msg(e == NULL, "%s", e ? e->message : "");
    rt_ckpt_store_free(sa);

    node_stop(&a); /* closes A's session: its latch goes, B's watch fires */
    ck_assert(wait_until(leads, &b));
    ck_assert_int_eq(b.grants, 1);

    /* A zombie fenced on A's latch is refused by the server. */
    RtCkptStore *z = rt_ckpt_store_zk_new(b.client, "chk", "job", a_latch, 9, 1, NULL, NULL);
    ck_assert_ptr_null(store_op(z, 0));
    e = store_op(z, 2);
    ck_assert_ptr_nonnull(e);
    ck_assert(g_error_matches(e, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_FAILED));
    g_error_free(e);
    rt_ckpt_store_free(z);

    /* The new leader recovers checkpoint 1. */
    RtCkptStore *sb = rt_ckpt_store_zk_new(b.client, "chk", "job",
                                           rt_leader_election_latch_path(b.el), 2, 1, NULL, NULL);
    ck_assert_ptr_null(store_op(sb, 0));
    ck_assert_uint_eq(rt_ckpt_store_count(sb), 1);
    ck_assert_uint_eq(rt_ckpt_store_latest(sb)->checkpoint_id, 1);
    rt_ckpt_store_free(sb);
    node_stop(&b);
    g_free(a_latch);
}
END_TEST

int main(void) {
    const char *zk = getenv("CKPTSIM_TEST_ZK");
    if (zk == NULL || zk[0] == '\0') {
        printf("1..0 # SKIP CKPTSIM_TEST_ZK not set\n");
        return EXIT_SUCCESS;
    }
    g_snprintf(cluster, sizeof cluster, "ha-%d", (int)getpid());
    tmpdir = g_dir_make_tmp("ckptsim-ha-XXXXXX", NULL);
    GError *err = NULL;
    storage = rt_live_storage_new(NULL, tmpdir, &err);
    if (storage == NULL) {
        printf("Bail out! %s\n", err->message);
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("ha_real");
    TCase *tc = tcase_create("real");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_election_store_fencing_real);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rt_live_storage_free(storage);
    test_proc_remove_tree(tmpdir);
    g_free(tmpdir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
