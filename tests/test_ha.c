/* test_ha.c - ZooKeeper high availability (runtime/ha) on the simulated ensemble inside
 * a SimWorld: leader election (the lowest latch sequence wins, a contender watches only
 * its predecessor, connection_info carries the fencing token, an expired leader is
 * revoked, gets a new session and must win a new election, a suspended leader is
 * revoked and resets its latch unless suspensions are tolerated); the checkpoint ID
 * counter's compare-and-set under contention (ids 1..n, each once); the store's multi
 * (pointer + locks + ephemeral lock, both files durable), fencing with fence-writes (a
 * zombie's publish is refused; with the planted fence-first-try-only bug a retried one
 * goes through) and Flink's unfenced default (the same zombie publish goes through), the
 * ID counter's connection-state check (FLINK-14091, with its planted bug) and no floor,
 * subsumption, and recovery that fails loudly on an unreadable checkpoint. */
#include <check.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_config.h"
#include "runtime/ha/rt_ckpt_store_zk.h"
#include "runtime/ha/rt_ha_client.h"
#include "runtime/ha/rt_leader_election.h"
#include "sim/world/sim_storage.h"
#include "sim/world/sim_world.h"
#include "sim/world/sim_zk.h"
#include "tests/support/test_check.h"

#define SEC 1000000000ull
#define NPROC 4u
#define JOB "job"
#define ROOT "/flink/t"

typedef struct Proc {
    RtEnv *env;
    RtHaClient *client;
    RtLeaderElection *el;
    RtCkptStore *store;
    RtCkptIdCounter *counter;
    int grants, revokes;
    uint64_t token;
} Proc;

static void *proc_start(RtEnv *env, void *arg) {
    (void)arg;
    Proc *p = g_new0(Proc, 1);
    p->env = env;
    return p;
}

static void proc_stop(void *instance) {
    Proc *p = instance;
    rt_ckpt_store_free(p->store);
    rt_ckpt_id_counter_free(p->counter);
    rt_leader_election_free(p->el);
    rt_ha_client_free(p->client);
    g_free(p);
}

static const SimProcessClass proc_class = {"ha-test", proc_start, proc_stop};

static SimWorld *world;
static SimZk *zk;
static bool fence_writes; /* high-availability.zookeeper.fence-writes of new clients */

static void world_setup(void) {
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, 11);
    world = sim_world_new(&cfg);
    zk = sim_zk_new(sim_world_kernel(world), 11, NULL, NULL);
    fence_writes = true; /* most tests here test the fenced variant */
    sim_zk_attach_world(zk, world);
    for (unsigned i = 0; i < NPROC; i++)
        ck_assert_uint_eq(sim_world_spawn(world, "p", &proc_class, NULL), i);
}

static void world_teardown(void) {
    sim_world_free(world);
    sim_zk_free(zk);
    world = NULL;
    zk = NULL;
}

static Proc *proc(SimProcessId pid) {
    Proc *p = sim_world_process_instance(world, pid);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void run_for(uint64_t ns) {
    sim_world_run(world, sim_world_now_ns(world) + ns, 50000000u);
}

static RtHaClient *client(SimProcessId pid, bool tolerate) {
    Proc *p = proc(pid);
    RtConfig *conf = rt_config_new();
    rt_config_set(conf, "high-availability.type", "zookeeper");
    rt_config_set(conf, "high-availability.zookeeper.quorum", "zk-1:2181");
    rt_config_set(conf, "high-availability.cluster-id", "/t");
    rt_config_set(conf, "high-availability.storageDir", "ha");
    rt_config_set(conf, "high-availability.zookeeper.client.session-timeout", "4 s");
    rt_config_set(conf, "high-availability.zookeeper.client.retry-wait", "500 ms");
    rt_config_set(conf, "high-availability.zookeeper.client.tolerate-suspended-connections",
                  tolerate ? "true" : "false");
    rt_config_set(conf, "high-availability.zookeeper.fence-writes",
                  fence_writes ? "true" : "false");
    RtHaConfig hc;
    GError *err = NULL;
    ck_assert_msg(rt_ha_config_read(&hc, conf, &err), "%s", err ? err->message : "");
    ck_assert_str_eq(hc.root, ROOT);
    ck_assert_str_eq(hc.storage_dir, "ha/t");
    hc.coord.connect_string = "zk-1:2181"; /* the config is freed below */
    p->client = rt_ha_client_new(p->env, &hc, &err);
    ck_assert_msg(p->client != NULL, "%s", err ? err->message : "");
    rt_ha_config_clear(&hc);
    rt_config_free(conf);
    return p->client;
}

/* -------------------------------------------------------------- election */

static void on_granted(void *ud, uint64_t token) {
    Proc *p = ud;
    ck_assert_uint_ne(token, 0);
    ck_assert_uint_ne(token, p->token); /* fresh per grant */
    p->grants++;
    p->token = token;
}

static void on_revoked(void *ud) {
    ((Proc *)ud)->revokes++;
}

static const RtLeaderElectionHooks hooks = {on_granted, on_revoked};

static void elect(SimProcessId pid, bool tolerate) {
    Proc *p = proc(pid);
    if (p->client == NULL)
        client(pid, tolerate);
    p->el = rt_leader_election_new(p->client, "jobmanager", "addr", &hooks, p);
}

static void leave(SimProcessId pid) {
    Proc *p = proc(pid);
    rt_leader_election_free(p->el);
    p->el = NULL;
    rt_ha_client_free(p->client); /* closes the session: its latch goes at once */
    p->client = NULL;
}

static int64_t seq_of(const char *latch) {
    ck_assert_ptr_nonnull(latch);
    size_t n = strlen(latch);
    ck_assert_uint_ge(n, 10);
    return g_ascii_strtoll(latch + n - 10, NULL, 10);
}

static unsigned leaders(SimProcessId *who) {
    unsigned n = 0;
    for (SimProcessId i = 0; i < NPROC; i++) {
        Proc *p = proc(i);
        if (p->el != NULL && rt_leader_election_has_leadership(p->el)) {
            n++;
            *who = i;
        }
    }
    return n;
}

START_TEST(test_lowest_wins) {
    for (SimProcessId i = 0; i < 3; i++)
        elect(i, false);
    run_for(3 * SEC);
    SimProcessId who = 99;
    ck_assert_uint_eq(leaders(&who), 1);
    int64_t lead_seq = seq_of(rt_leader_election_latch_path(proc(who)->el));
    for (SimProcessId i = 0; i < 3; i++) {
        if (i != who)
            ck_assert_int_lt(lead_seq, seq_of(rt_leader_election_latch_path(proc(i)->el)));
        ck_assert_int_eq(proc(i)->grants, i == who ? 1 : 0);
    }
    /* The leader published its address and fencing token, in an ephemeral node. */
    const void *data = NULL;
    size_t len = 0;
    ck_assert(
        sim_zk_tree_data(sim_zk_tree(zk), ROOT "/leader/jobmanager/connection_info", &data, &len));
    char *text = g_strndup(data, len);
    char *want = g_strdup_printf("session=%016" PRIx64, proc(who)->token);
    ck_assert_msg(strstr(text, want) != NULL, "%s lacks %s", text, want);
    RtCoordStat st;
    ck_assert(sim_zk_tree_stat(sim_zk_tree(zk), ROOT "/leader/jobmanager/connection_info", &st));
    ck_assert_int_eq(st.ephemeral_owner,
                     rt_coord_session_id(rt_ha_client_coord(proc(who)->client)));
    g_free(text);
    g_free(want);
}
END_TEST

/* Sorted by latch sequence: L < M < H. */
static void order3(SimProcessId out[3]) {
    for (SimProcessId i = 0; i < 3; i++)
        out[i] = i;
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (seq_of(rt_leader_election_latch_path(proc(out[b])->el)) <
                seq_of(rt_leader_election_latch_path(proc(out[a])->el))) {
                SimProcessId t = out[a];
                out[a] = out[b];
                out[b] = t;
            }
}

START_TEST(test_predecessor_watch) {
    for (SimProcessId i = 0; i < 3; i++)
        elect(i, false);
    run_for(3 * SEC);
    SimProcessId o[3];
    order3(o);
    ck_assert(rt_leader_election_has_leadership(proc(o[0])->el));
    /* The middle one goes: the leader stays, H re-watches its new predecessor (L). */
    leave(o[1]);
    run_for(2 * SEC);
    ck_assert(rt_leader_election_has_leadership(proc(o[0])->el));
    ck_assert_int_eq(proc(o[0])->grants, 1);
    ck_assert_int_eq(proc(o[2])->grants, 0);
    /* The leader goes: H (watching L now) takes over. */
    leave(o[0]);
    run_for(2 * SEC);
    SimProcessId who = 99;
    ck_assert_uint_eq(leaders(&who), 1);
    ck_assert_uint_eq(who, o[2]);
    ck_assert_int_eq(proc(o[2])->grants, 1);
}
END_TEST

START_TEST(test_expiry_new_session_new_election) {
    elect(0, false);
    run_for(2 * SEC);
    elect(1, false);
    run_for(2 * SEC);
    Proc *a = proc(0), *b = proc(1);
    ck_assert(rt_leader_election_has_leadership(a->el));
    uint64_t first_token = a->token;
    int64_t first_seq = seq_of(rt_leader_election_latch_path(a->el));
    int64_t sid = rt_coord_session_id(rt_ha_client_coord(a->client));
    ck_assert(sim_zk_expire_session(zk, sid));
    run_for(3 * SEC);
    ck_assert_int_eq(a->revokes, 1);
    ck_assert(!rt_leader_election_has_leadership(a->el));
    ck_assert(rt_leader_election_has_leadership(b->el));
    /* Curator-style: a new session, and a new latch behind b's. */
    ck_assert_uint_eq(rt_ha_client_sessions(a->client), 2);
    ck_assert_int_ne(rt_coord_session_id(rt_ha_client_coord(a->client)), sid);
    ck_assert_int_gt(seq_of(rt_leader_election_latch_path(a->el)), first_seq);
    ck_assert_int_gt(seq_of(rt_leader_election_latch_path(a->el)),
                     seq_of(rt_leader_election_latch_path(b->el)));
    /* It must win a new election: when b goes, a leads with a fresh token. */
    leave(1);
    run_for(2 * SEC);
    ck_assert(rt_leader_election_has_leadership(a->el));
    ck_assert_int_eq(a->grants, 2);
    ck_assert_uint_ne(a->token, first_token);
}
END_TEST

START_TEST(test_suspended_revokes_and_resets) {
    elect(0, false);
    run_for(2 * SEC);
    Proc *a = proc(0);
    ck_assert_int_eq(a->grants, 1);
    char *latch = g_strdup(rt_leader_election_latch_path(a->el));
    sim_zk_drop_connection(zk, 0, 200000000u);
    run_for(50000000u);
    ck_assert_int_eq(a->revokes, 1); /* at once, before the session could expire */
    run_for(2 * SEC);
    /* Same session, latch reset (a new node), leadership won again. */
    ck_assert_uint_eq(rt_ha_client_sessions(a->client), 1);
    ck_assert_str_ne(rt_leader_election_latch_path(a->el), latch);
    ck_assert(!sim_zk_tree_stat(sim_zk_tree(zk), latch, NULL));
    ck_assert_int_eq(a->grants, 2);
    g_free(latch);
}
END_TEST

START_TEST(test_suspended_tolerated) {
    elect(0, true);
    run_for(2 * SEC);
    Proc *a = proc(0);
    char *latch = g_strdup(rt_leader_election_latch_path(a->el));
    sim_zk_drop_connection(zk, 0, 200000000u);
    run_for(2 * SEC);
    ck_assert_int_eq(a->revokes, 0);
    ck_assert_int_eq(a->grants, 1);
    ck_assert_str_eq(rt_leader_election_latch_path(a->el), latch);
    g_free(latch);
}
END_TEST

/* ----------------------------------------------------------------- counter */

typedef struct Claims {
    Proc *p;
    GArray *ids;
    int left;
    bool started;
} Claims;

static void claim_next(Claims *c);

static void on_id(void *ud, uint64_t id, GError *error) {
    Claims *c = ud;
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");
    g_array_append_val(c->ids, id);
    claim_next(c);
}

static void claim_next(Claims *c) {
    if (c->left-- <= 0)
        return;
    GError *err = NULL;
    ck_assert(rt_ckpt_id_counter_get_and_increment(c->p->counter, on_id, c, &err));
}

static void on_started(void *ud, GError *error) {
    Claims *c = ud;
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");
    c->started = true;
    claim_next(c);
}

START_TEST(test_counter_cas_contention) {
    enum { N = 3, EACH = 25 };
    Claims cl[N];
    for (SimProcessId i = 0; i < N; i++) {
        client(i, false);
        proc(i)->counter = rt_ckpt_id_counter_zk_new(
            proc(i)->client, ROOT "/jobs/" JOB "/checkpoint_id_counter", NULL);
        cl[i] = (Claims){proc(i), g_array_new(FALSE, TRUE, sizeof(uint64_t)), EACH, false};
    }
    run_for(SEC);
    for (SimProcessId i = 0; i < N; i++)
        ck_assert(rt_ckpt_id_counter_start(proc(i)->counter, on_started, &cl[i], NULL));
    run_for(20 * SEC);
    bool *seen = g_new0(bool, N *EACH + 1);
    for (int i = 0; i < N; i++) {
        ck_assert(cl[i].started);
        ck_assert_uint_eq(cl[i].ids->len, EACH);
        for (guint k = 0; k < cl[i].ids->len; k++) {
            uint64_t id = g_array_index(cl[i].ids, uint64_t, k);
            ck_assert_uint_ge(id, 1);
            ck_assert_uint_le(id, N * EACH);
            ck_assert_msg(!seen[id], "id %" PRIu64 " issued twice", id);
            seen[id] = true;
            if (k > 0)
                ck_assert_uint_gt(id, g_array_index(cl[i].ids, uint64_t, k - 1));
        }
        g_array_unref(cl[i].ids);
    }
    g_free(seen);
}
END_TEST

/* ------------------------------------------------------------------- store */

typedef struct Done {
    int calls;
    GError *error;
} Done;

static void on_done(void *ud, GError *error) {
    Done *d = ud;
    d->calls++;
    d->error = error;
}

static RtCompletedCheckpoint *checkpoint(uint64_t id) {
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new(JOB, id, id * 100, id * 100 + 50, 1);
    char *h = g_strdup_printf("state-of-%" PRIu64, id);
    GBytes *b = g_bytes_new_take(h, strlen(h));
    rt_completed_checkpoint_add(cp, (RtSubtaskId){0, 0}, 1, b);
    g_bytes_unref(b);
    return cp;
}

static Done store_op(RtCkptStore *s, RtCompletedCheckpoint *cp) {
    Done d = {0, NULL};
    GError *err = NULL;
    bool ok = cp != NULL ? rt_ckpt_store_add(s, cp, on_done, &d, &err)
                         : rt_ckpt_store_recover(s, on_done, &d, &err);
    ck_assert_msg(ok, "%s", err ? err->message : "");
    run_for(10 * SEC);
    ck_assert_int_eq(d.calls, 1);
    return d;
}

static RtCkptStore *store(SimProcessId pid, const char *fence, uint32_t retained) {
    Proc *p = proc(pid);
    rt_ckpt_store_free(p->store);
    p->store = rt_ckpt_store_zk_new(p->client, "chk", JOB, fence, p->token, retained, NULL, NULL);
    Done d = store_op(p->store, NULL);
    ck_assert_msg(d.error == NULL, "%s", d.error ? d.error->message : "");
    return p->store;
}

/* Visible now (removals are best-effort and not synced: lingering files are allowed). */
static bool visible(const char *path) {
    size_t len = 0;
    return sim_storage_read_current(sim_world_storage(world), path, &len) != NULL;
}

static bool znode(const char *path) {
    return sim_zk_tree_stat(sim_zk_tree(zk), path, NULL);
}

static bool durable(const char *path) {
    size_t len = 0;
    return sim_storage_read_durable(sim_world_storage(world), path, &len) != NULL;
}

#define PTR(id) ROOT "/jobs/" JOB "/checkpoints/000000000000000000" #id
#define STATE(id) "ha/t/" JOB "/completedCheckpoint-000000000000000000" #id

START_TEST(test_store_multi_and_fencing) {
    elect(0, false);
    run_for(2 * SEC);
    Proc *a = proc(0);
    ck_assert(rt_leader_election_has_leadership(a->el));
    RtCkptStore *s = store(0, rt_leader_election_latch_path(a->el), 1);
    Done d = store_op(s, checkpoint(1));
    ck_assert_msg(d.error == NULL, "%s", d.error ? d.error->message : "");
    /* One multi: pointer + locks + our ephemeral lock; both files durable first. */
    ck_assert(znode(PTR(1)));
    const char **names = NULL;
    size_t n = 0;
    ck_assert(sim_zk_tree_children(sim_zk_tree(zk), PTR(1) "/locks", &names, &n));
    ck_assert_uint_eq(n, 1);
    char *lock = g_strdup_printf("%s/%s", PTR(1) "/locks", names[0]);
    g_free(names);
    RtCoordStat st;
    ck_assert(sim_zk_tree_stat(sim_zk_tree(zk), lock, &st));
    ck_assert_int_ne(st.ephemeral_owner, 0);
    g_free(lock);
    ck_assert(durable(STATE(1)));
    ck_assert(durable("chk/" JOB "/chk-1/_metadata"));
    ck_assert_uint_eq(rt_ckpt_store_latest(s)->checkpoint_id, 1);

    /* The zombie: its session expires; the client opens a new one (not the leader's). */
    ck_assert(sim_zk_expire_session(zk, rt_coord_session_id(rt_ha_client_coord(a->client))));
    run_for(3 * SEC);
    ck_assert_int_eq(a->revokes, 1);
    ck_assert_uint_eq(rt_ha_client_state(a->client), RT_COORD_CONNECTED);
    d = store_op(s, checkpoint(2));
    ck_assert_ptr_nonnull(d.error);
    ck_assert(g_error_matches(d.error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_FAILED));
    ck_assert_msg(strstr(d.error->message, "fenced") != NULL, "%s", d.error->message);
    g_error_free(d.error);
    ck_assert(!znode(PTR(2)));
    ck_assert(!visible(STATE(2))); /* definitely not published: its files are removed */
    ck_assert_uint_eq(rt_ckpt_store_latest(s)->checkpoint_id, 1);
}
END_TEST

/* A publish issued while suspended (tolerate false: already revoked) must not reach the
 * server before the latch reset on reconnect: it is fenced, never published. */
START_TEST(test_suspended_publish_fenced) {
    elect(0, false);
    run_for(2 * SEC);
    Proc *a = proc(0);
    /* Suspensions of varied lengths, so that some publish waits queued for the very
     * connection attempt that succeeds. */
    for (uint64_t k = 1; k <= 24; k++) {
        ck_assert(rt_leader_election_has_leadership(a->el));
        RtCkptStore *s = store(0, rt_leader_election_latch_path(a->el), 1);
        int revokes = a->revokes;
        sim_zk_drop_connection(zk, 0, 5000000u + k * 2500000u);
        run_for(1000000u);
        ck_assert_int_eq(a->revokes, revokes + 1);
        Done d = {0, NULL};
        ck_assert(rt_ckpt_store_add(s, checkpoint(k), on_done, &d, NULL));
        run_for(5 * SEC);
        ck_assert_int_eq(d.calls, 1);
        ck_assert_msg(d.error != NULL, "trial %" PRIu64 ": a revoked leader published", k);
        g_error_free(d.error);
        char *node = g_strdup_printf(ROOT "/jobs/" JOB "/checkpoints/%019" PRIu64, k);
        ck_assert(!znode(node));
        g_free(node);
    }
}
END_TEST

/* Flink's default (fence-writes false): ZooKeeperStateHandleStore writes node + locks +
 * lock with no leadership check, so a store whose latch is gone still publishes. */
START_TEST(test_unfenced_default_lets_zombie_publish) {
    fence_writes = false;
    client(0, false);
    run_for(SEC);
    const char *gone = ROOT "/leader/latch/_c_0000000000000000-latch-0000000099";
    RtCkptStore *s = store(0, gone, 1);
    Done d = store_op(s, checkpoint(1));
    ck_assert_msg(d.error == NULL, "%s", d.error ? d.error->message : "");
    ck_assert(znode(PTR(1)));
}
END_TEST

/* fence-writes: a first try is fenced; the planted fence-first-try-only bug lets a retry
 * (here: the session is cut just after the multi is sent) through. */
START_TEST(test_fenced_first_try_refused) {
    client(0, false);
    run_for(SEC);
    const char *gone = ROOT "/leader/latch/_c_0000000000000000-latch-0000000099";
    RtCkptStore *s = store(0, gone, 1);
    proc(0)->env->bugs |= RT_BUG_FENCE_FIRST_TRY_ONLY;
    Done d = store_op(s, checkpoint(1));
    ck_assert_ptr_nonnull(d.error); /* fenced: that latch does not exist */
    ck_assert_msg(strstr(d.error->message, "fenced") != NULL, "%s", d.error->message);
    g_error_free(d.error);
    ck_assert(!znode(PTR(1)));
}
END_TEST

/* Children of the locks node of a pointer (-1: no locks node). */
static int lock_count(const char *ptr) {
    char *locks = g_strdup_printf("%s/locks", ptr);
    RtCoordStat st;
    int n = sim_zk_tree_stat(sim_zk_tree(zk), locks, &st) ? st.num_children : -1;
    g_free(locks);
    return n;
}

/* A store freed while its session is suspended (a leader revoked at SUSPENDED) still
 * releases its locks once reconnected (DefaultCompletedCheckpointStore.shutdown ->
 * releaseAll, retried by Curator); with the planted FLINK-10011 bug it keeps them. */
static void release_across_suspension(bool bug) {
    client(0, false);
    run_for(SEC);
    RtCkptStore *s = store(0, NULL, 1);
    ck_assert_ptr_null(store_op(s, checkpoint(1)).error);
    ck_assert_int_eq(lock_count(PTR(1)), 1);
    if (bug)
        proc(0)->env->bugs |= RT_BUG_FLINK_10011;
    sim_zk_drop_connection(zk, 0, 500000000u);
    run_for(1000000u);
    rt_ckpt_store_free(proc(0)->store);
    proc(0)->store = NULL;
    run_for(2 * SEC);
    ck_assert_uint_eq(rt_ha_client_state(proc(0)->client), RT_COORD_CONNECTED);
    ck_assert(znode(PTR(1))); /* the pointer stays for the next leader */
    ck_assert_int_eq(lock_count(PTR(1)), bug ? 1 : 0);
}

START_TEST(test_release_across_suspension) { release_across_suspension(false); }
END_TEST
START_TEST(test_keeps_locks_bug) { release_across_suspension(true); }
END_TEST

static void id_done(void *ud, uint64_t id, GError *error) {
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");
    *(uint64_t *)ud = id;
}

static void id_maybe(void *ud, uint64_t id, GError *error) {
    *(uint64_t *)ud = error == NULL ? id : 0;
    g_clear_error(&error);
}

static void start_done(void *ud, GError *error) {
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");
    (*(int *)ud)++;
}

static RtCkptIdCounter *started_counter(SimProcessId pid) {
    Proc *p = proc(pid);
    p->counter = rt_ckpt_id_counter_zk_new(p->client, ROOT "/jobs/" JOB "/checkpoint_id_counter",
                                           NULL);
    int started = 0;
    ck_assert(rt_ckpt_id_counter_start(p->counter, start_done, &started, NULL));
    run_for(SEC);
    ck_assert_int_eq(started, 1);
    return p->counter;
}

/* The checkpoint ID counter hands out the node's value: a floor (the job manager's
 * latest+1 after recovery) does not raise it - Flink calls setCount only after a
 * savepoint restore. */
START_TEST(test_counter_ignores_floor) {
    client(0, false);
    run_for(SEC);
    RtCkptIdCounter *c = started_counter(0);
    rt_ckpt_id_counter_set_floor(c, 50);
    uint64_t id = 0;
    ck_assert(rt_ckpt_id_counter_get_and_increment(c, id_done, &id, NULL));
    run_for(SEC);
    ck_assert_uint_eq(id, 1);
}
END_TEST

/* checkConnectionState: refused while SUSPENDED, fine again after the reconnect; with
 * the planted FLINK-14091 bug it stays refused after the reconnect. */
static void counter_across_suspension(bool bug) {
    client(0, true);
    run_for(SEC);
    RtCkptIdCounter *c = started_counter(0);
    if (bug)
        proc(0)->env->bugs |= RT_BUG_FLINK_14091;
    sim_zk_drop_connection(zk, 0, 500000000u);
    run_for(1000000u);
    GError *err = NULL;
    ck_assert(!rt_ckpt_id_counter_get_and_increment(c, id_done, NULL, &err));
    ck_assert_msg(strstr(err->message, "connection state") != NULL, "%s", err->message);
    g_error_free(err);
    run_for(3 * SEC);
    ck_assert_uint_eq(rt_ha_client_state(proc(0)->client), RT_COORD_CONNECTED);
    uint64_t id = 99;
    bool ok = rt_ckpt_id_counter_get_and_increment(c, id_maybe, &id, &err);
    if (bug) {
        ck_assert(!ok);
        g_error_free(err);
        return;
    }
    ck_assert_msg(ok, "%s", err ? err->message : "");
    run_for(SEC);
    ck_assert_uint_eq(id, 1);
}

START_TEST(test_counter_connection_state) { counter_across_suspension(false); }
END_TEST
START_TEST(test_counter_stuck_suspended_bug) { counter_across_suspension(true); }
END_TEST

START_TEST(test_subsumption) {
    client(0, false);
    run_for(SEC);
    RtCkptStore *s = store(0, NULL, 1);
    ck_assert_ptr_null(store_op(s, checkpoint(1)).error);
    ck_assert_ptr_null(store_op(s, checkpoint(2)).error);
    ck_assert(znode(PTR(2)) && durable(STATE(2)));
    ck_assert(!znode(PTR(1)));
    ck_assert(!visible(STATE(1)));
    ck_assert(!visible("chk/" JOB "/chk-1/_metadata"));
    ck_assert_uint_eq(rt_ckpt_store_count(s), 1);
}
END_TEST

static void set_done(RtCoord *c, const RtCoordStat *st, GError *error, void *ud) {
    (void)c;
    (void)st;
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");
    (*(int *)ud)++;
}

static void storage_done(void *ud, GError *error) {
    ck_assert_msg(error == NULL, "%s", error ? error->message : "");
    (*(int *)ud)++;
}

START_TEST(test_recovery_fails_loudly) {
    client(0, false);
    client(1, false);
    run_for(SEC);
    RtCkptStore *s = store(0, NULL, 2);
    ck_assert_ptr_null(store_op(s, checkpoint(1)).error);
    ck_assert_ptr_null(store_op(s, checkpoint(2)).error);
    /* A new leader's store reads both, latest 2. */
    RtCkptStore *r = store(1, NULL, 2);
    ck_assert_uint_eq(rt_ckpt_store_count(r), 2);
    ck_assert_uint_eq(rt_ckpt_store_latest(r)->checkpoint_id, 2);
    /* Garbage in checkpoint 1's state file: recovery fails, never restores from less. */
    int n = 0;
    RtStorage *st = proc(1)->env->storage;
    ck_assert(rt_storage_write(st, STATE(1), "garbage", 7, storage_done, &n, NULL));
    run_for(SEC);
    ck_assert(rt_storage_fsync(st, STATE(1), storage_done, &n, NULL));
    run_for(SEC);
    ck_assert_int_eq(n, 2);
    Done d = store_op(r, NULL);
    ck_assert_ptr_nonnull(d.error);
    ck_assert(g_error_matches(d.error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE));
    g_error_free(d.error);
    ck_assert_uint_eq(rt_ckpt_store_count(r), 2); /* the old view is kept */
    /* A pointer to a missing file: the same. */
    RtCoord *raw = rt_ha_client_coord(proc(1)->client);
    ck_assert(rt_coord_set(raw, PTR(1), "ha/t/none", 9, RT_COORD_ANY_VERSION, set_done, &n, NULL));
    run_for(SEC);
    ck_assert_int_eq(n, 3);
    d = store_op(r, NULL);
    ck_assert_ptr_nonnull(d.error);
    ck_assert(g_error_matches(d.error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE));
    g_error_free(d.error);
}
END_TEST

START_TEST(test_config) {
    RtConfig *conf = rt_config_new();
    bool on = true;
    ck_assert(rt_ha_enabled(conf, &on, NULL));
    ck_assert(!on);
    rt_config_set(conf, "high-availability", "ZooKeeper");
    ck_assert(rt_ha_enabled(conf, &on, NULL));
    ck_assert(on);
    rt_config_set(conf, "high-availability.zookeeper.quorum", "zk:2181");
    RtHaConfig hc;
    GError *err = NULL;
    ck_assert(!rt_ha_config_read(&hc, conf, &err)); /* storageDir is required */
    ck_assert_msg(strstr(err->message, "high-availability.storageDir") != NULL, "%s", err->message);
    g_clear_error(&err);
    rt_config_set(conf, "high-availability.storageDir", "ha");
    ck_assert(rt_ha_config_read(&hc, conf, &err));
    ck_assert_str_eq(hc.root, "/flink/default");
    ck_assert_str_eq(hc.storage_dir, "ha/default");
    ck_assert(!hc.tolerate_suspended);
    ck_assert_uint_eq(hc.max_retries, 3);
    rt_ha_config_clear(&hc);
    rt_config_free(conf);
}
END_TEST

static Suite *ha_suite(void) {
    Suite *s = suite_create("ha");
    TCase *tc = tcase_create("ha");
    tcase_add_checked_fixture(tc, world_setup, world_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_config);
    tcase_add_test(tc, test_lowest_wins);
    tcase_add_test(tc, test_predecessor_watch);
    tcase_add_test(tc, test_expiry_new_session_new_election);
    tcase_add_test(tc, test_suspended_revokes_and_resets);
    tcase_add_test(tc, test_suspended_tolerated);
    tcase_add_test(tc, test_counter_cas_contention);
    tcase_add_test(tc, test_store_multi_and_fencing);
    tcase_add_test(tc, test_suspended_publish_fenced);
    tcase_add_test(tc, test_unfenced_default_lets_zombie_publish);
    tcase_add_test(tc, test_fenced_first_try_refused);
    tcase_add_test(tc, test_counter_ignores_floor);
    tcase_add_test(tc, test_counter_connection_state);
    tcase_add_test(tc, test_counter_stuck_suspended_bug);
    tcase_add_test(tc, test_release_across_suspension);
    tcase_add_test(tc, test_keeps_locks_bug);
    tcase_add_test(tc, test_subsumption);
    tcase_add_test(tc, test_recovery_fails_loudly);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(ha_suite());
}
