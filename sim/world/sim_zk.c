/* sim_zk.c - the simulated ZooKeeper ensemble (see sim_zk.h for the model).
 *
 * Everything that reaches process code goes through a kernel event whose payload is an
 * id (request, message, client, session) looked up when it fires: a handle freed or
 * crashed meanwhile simply makes the lookup fail, so no event ever touches freed memory,
 * and every callback into process code is the last thing its event does.
 *
 * Connections are numbered (epoch). A request or message carries the epoch it was sent
 * on; when it arrives on a different epoch the connection it travelled on is gone: a
 * request is then lost (its caller already got CONNECTION_LOSS), and so is a watch event:
 * the client still holds the watch and re-registers it on its next connection, where
 * the server fires it if its node changed since the client's last zxid (SetWatches).
 *
 * This file holds the configuration, lookups, free helpers, lifecycle, the world hooks,
 * the faults and observation. Sessions and the client connection state machine are in
 * sim_zk_session.c; completions, message delivery and the network in sim_zk_wire.c; the
 * server (requests applied to the tree, watches) in sim_zk_server.c; the followers, the
 * commit log, host choice and SetWatches in sim_zk_ensemble.c; the RtCoord calls
 * in sim_zk_calls.c. The types and helpers they share are in sim_zk_internal.h.
 */
#include "sim/world/sim_zk.h"
#include "sim/world/sim_zk_internal.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_rng.h"
#include "sim/world/sim_world.h"

/* ---------------------------------------------------------------- config */

void sim_zk_config_init(SimZkConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    /* Calibration (`ckptsim zk probe --calls 1000`, Debian ZooKeeper 3.8.0 on loopback,
     * forceSync=no, 100-byte data). Idle machine, warm server: get 91 us median / 251 us
     * p99, create 144 / ~2000, set 140 / 445, delete 138 / 391, connect 4 ms, pipelined
     * sets 13.9 k/s at window 256; perf-anchors.md §3 (idle, forceSync=no): writes
     * 100-120 us median, 250-430 p99, reads ~90. Loaded machine (load average 8): medians
     * 160-245 us. The model: one way 35 us, a read's service 20 us (get ~90 us), a write's
     * 55 us (~125 us), +-20% jitter and a 2% tail up to 4x for the p99. */
    cfg->net_one_way_ns = 35000;
    cfg->read_service_ns = 20000;
    cfg->write_service_ns = 55000;
    cfg->tick_ns = 2000000000ull; /* tickTime=2000 */
    /* Three servers, the usual production ensemble. A follower applies a commit after the
     * leader: the COMMIT packet's hop plus its commit processor's queue, and on a busy
     * ensemble the follower's own log fsync backlog; on a LAN that is sub-millisecond
     * idle and a few milliseconds loaded. The model: 1 ms median with the same jitter
     * and tail as the requests (p99 up to ~4 ms). */
    cfg->servers = 3;
    cfg->follower_lag_ns = 1000000;
    cfg->jitter = 0.2;
    cfg->tail_chance = 0.02;
    cfg->tail_factor = 4.0;
}

uint64_t sim_zk_jittered(SimZk *zk, uint64_t median_ns) {
    double f = 1.0 - zk->cfg.jitter + 2.0 * zk->cfg.jitter * rt_rng_double(&zk->rng);
    if (zk->cfg.tail_chance > 0 && rt_rng_double(&zk->rng) < zk->cfg.tail_chance)
        f *= 1.0 + (zk->cfg.tail_factor - 1.0) * rt_rng_double(&zk->rng);
    return (uint64_t)((double)median_ns * f);
}

/* ---------------------------------------------------------------- lookups */

static gint u64_cmp(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static gint i64_cmp(gconstpointer a, gconstpointer b, gpointer ud) {
    (void)ud;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

SimZkClient *sim_zk_client_get(SimZk *zk, uint64_t id) {
    return g_tree_lookup(zk->clients, &id);
}

Session *sim_zk_session_get(SimZk *zk, int64_t id) {
    return id == 0 ? NULL : g_tree_lookup(zk->sessions, &id);
}

uint64_t sim_zk_now_ns(SimZk *zk) {
    return sim_kernel_now_ns(zk->k);
}

bool sim_zk_partitioned(SimZk *zk, SimZkClient *c) {
    return sim_zk_now_ns(zk) < c->partition_until_ns;
}

bool sim_zk_unreachable(SimZk *zk, SimZkClient *c) {
    return c->paused || sim_zk_partitioned(zk, c);
}

bool sim_zk_held(SimZk *zk, SimZkClient *c, SimEventFunc fn, uint64_t payload) {
    uint64_t until = sim_host_held_until(zk->host, c->process);
    if (until == 0)
        return false;
    sim_kernel_schedule_at(zk->k, until, fn, zk, payload);
    return true;
}

uint64_t sim_zk_extra_delay(SimZk *zk, SimZkClient *c) {
    return sim_zk_now_ns(zk) < c->delay_until_ns ? c->delay_extra_ns : 0;
}

uint64_t sim_zk_retry_delay_ns(SimZkClient *c) {
    uint64_t t = c->timeout_ns ? c->timeout_ns : c->requested_timeout_ns;
    return MAX(t / 60, 1000000ull);
}

/* Full path <-> chroot-relative path. */
char *sim_zk_full_path(SimZkClient *c, const char *path) {
    if (c->chroot == NULL)
        return g_strdup(path);
    return strcmp(path, "/") == 0 ? g_strdup(c->chroot) : g_strconcat(c->chroot, path, NULL);
}

const char *sim_zk_rel_path(SimZkClient *c, const char *full) {
    if (c->chroot == NULL)
        return full;
    size_t n = strlen(c->chroot);
    assert(strncmp(full, c->chroot, n) == 0);
    return full[n] == '\0' ? "/" : full + n;
}

/* --------------------------------------------------------- free helpers */

void sim_zk_request_free(Request *r) {
    g_free(r->path);
    g_free(r->data);
    for (size_t i = 0; i < r->n_ops; i++) {
        g_free((char *)r->ops[i].path);
        g_free((void *)r->ops[i].data);
        if (r->created_paths)
            g_free(r->created_paths[i]);
    }
    g_free(r->ops);
    g_free(r->created_paths);
    g_free(r->op_stats);
    g_free(r->rc_detail);
    g_free(r->created);
    g_free(r->rdata);
    g_strfreev(r->names);
    g_free(r);
}

void sim_zk_msg_free(Msg *m) {
    g_free(m->path);
    g_free(m);
}

static void watch_free(gpointer p) {
    ClientWatch *w = p;
    g_free(w->path);
    g_free(w);
}

static void session_free(gpointer p) {
    g_free(p);
}

static void watch_array_free(gpointer p) {
    g_array_free(p, TRUE);
}

/* ---------------------------------------------------------------- lifecycle */

SimZk *sim_zk_new(SimKernel *k, uint64_t seed, const SimZkConfig *cfg, const SimHost *host) {
    assert(k != NULL);
    SimZk *zk = g_new0(SimZk, 1);
    zk->k = k;
    zk->host = host;
    if (cfg != NULL)
        zk->cfg = *cfg;
    else
        sim_zk_config_init(&zk->cfg);
    assert(zk->cfg.tick_ns > 0 && zk->cfg.jitter >= 0 && zk->cfg.jitter < 1);
    assert(zk->cfg.servers >= 1 && zk->cfg.servers <= SIM_ZK_MAX_SERVERS);
    rt_rng_seed_stream(&zk->rng, seed, "sim_zk");
    zk->order_salt = rt_mix64(seed ^ rt_hash_str("sim_zk/children-order"));
    zk->tree = sim_zk_tree_new();
    sim_zk_servers_init(zk);
    zk->sessions = g_tree_new_full(i64_cmp, NULL, NULL, session_free);
    zk->clients = g_tree_new_full(u64_cmp, NULL, NULL, NULL);
    zk->requests = g_hash_table_new(g_int64_hash, g_int64_equal);
    zk->msgs =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, (GDestroyNotify)sim_zk_msg_free);
    zk->data_watches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, watch_array_free);
    zk->child_watches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, watch_array_free);
    /* Session ids look like a real server's: server id in the top byte. */
    zk->next_session = (int64_t)0x0100000000000000ll;
    return zk;
}

void sim_zk_free(SimZk *zk) {
    if (zk == NULL)
        return;
    GTreeNode *n;
    while ((n = g_tree_node_first(zk->clients)) != NULL)
        sim_zk_client_release(zk, g_tree_node_value(n));
    g_tree_destroy(zk->clients);
    g_tree_destroy(zk->sessions);
    assert(g_hash_table_size(zk->requests) == 0);
    g_hash_table_destroy(zk->requests);
    g_hash_table_destroy(zk->msgs);
    g_hash_table_destroy(zk->data_watches);
    g_hash_table_destroy(zk->child_watches);
    sim_zk_servers_free(zk);
    sim_zk_tree_free(zk->tree);
    g_free(zk);
}

RtCoord *sim_zk_open(SimZk *zk, RtProcessId pid, const RtCoordConfig *cfg, GError **error) {
    assert(zk != NULL && cfg != NULL);
    char *chroot = NULL;
    if (!rt_coord_config_check(cfg, NULL, &chroot, error))
        return NULL;
    SimZkClient *c = g_new0(SimZkClient, 1);
    c->base.ops = &sim_zk_coord_ops;
    c->zk = zk;
    c->id = ++zk->next_id;
    c->process = pid;
    c->state = RT_COORD_CONNECTING;
    c->chroot = chroot;
    c->requested_timeout_ns = cfg->session_timeout_ns;
    c->on_session = cfg->on_session;
    c->session_user_data = cfg->session_user_data;
    c->watches = g_tree_new_full(u64_cmp, NULL, NULL, watch_free);
    g_queue_init(&c->pending);
    g_queue_init(&c->parked);
    /* The client shuffles its host list once (StaticHostProvider, zookeeper_init). */
    if (zk->n_servers > 1)
        c->first_server = (unsigned)rt_rng_below(&zk->rng, zk->n_servers);
    g_tree_insert(zk->clients, &c->id, c);
    sim_zk_schedule_attempt(zk, c, 0);
    sim_kernel_schedule_in(zk->k, cfg->connect_timeout_ns, sim_zk_ev_connect_timeout, zk, c->id);
    return &c->base;
}

/* Calls fn on every handle of pid, in id order (fn may not free handles). */
static unsigned foreach_client(SimZk *zk, RtProcessId pid,
                               void (*fn)(SimZk *, SimZkClient *, void *), void *ud) {
    unsigned n = 0;
    for (GTreeNode *t = g_tree_node_first(zk->clients); t; t = g_tree_node_next(t)) {
        SimZkClient *c = g_tree_node_value(t);
        if (c->process != pid || c->dead)
            continue;
        fn(zk, c, ud);
        n++;
    }
    return n;
}

static void crash_one(SimZk *zk, SimZkClient *c, void *ud) {
    (void)ud;
    c->dead = true;
    if (c->link_up) {
        c->link_up = false;
        c->epoch++;
        sim_zk_session_silence(zk, sim_zk_session_get(zk, c->session_id));
    }
}

void sim_zk_process_crashed(SimZk *zk, RtProcessId pid) {
    foreach_client(zk, pid, crash_one, NULL);
    /* A handle freed by the crash's own teardown never got its close out. */
    for (GTreeNode *t = g_tree_node_first(zk->sessions); t; t = g_tree_node_next(t)) {
        Session *s = g_tree_node_value(t);
        if (s->alive && s->close_pending && s->close_pid == pid) {
            s->close_pending = false;
            sim_zk_session_silence(zk, s);
        }
    }
}

static void pause_one(SimZk *zk, SimZkClient *c, void *ud) {
    (void)ud;
    if (!c->paused)
        c->paused_since_ns = sim_zk_now_ns(zk);
    c->paused = true;
    if (c->link_up)
        sim_zk_session_silence(zk, sim_zk_session_get(zk, c->session_id));
}

void sim_zk_process_paused(SimZk *zk, RtProcessId pid) {
    foreach_client(zk, pid, pause_one, NULL);
}

/* The client's I/O thread runs again and looks at its clock: silent for 2/3 of the
 * timeout or more (the C client's read timeout), or cut off by the server meanwhile,
 * it drops the connection (SUSPENDED; on reconnect it learns whether the session
 * survived); otherwise its next heartbeat keeps the session. */
static void resume_one(SimZk *zk, SimZkClient *c, void *ud) {
    (void)ud;
    c->paused = false;
    if (!c->link_up || sim_zk_partitioned(zk, c))
        return; /* not connected, or the partition's own detection handles it */
    uint64_t gone = sim_zk_now_ns(zk) - c->paused_since_ns;
    if (c->server_closed || gone >= c->timeout_ns * 2 / 3)
        sim_zk_client_disconnect(zk, c);
    else
        sim_zk_session_wake(zk, sim_zk_session_get(zk, c->session_id));
}

void sim_zk_process_resumed(SimZk *zk, RtProcessId pid) {
    foreach_client(zk, pid, resume_one, NULL);
}

/* ------------------------------------------------------------- the world */

static void world_enter(void *ud, RtProcessId pid) {
    sim_world_enter(ud, pid);
}

static void world_leave(void *ud, RtProcessId pid) {
    sim_world_leave(ud, pid);
}

static RtCoord *hook_open(void *ud, RtEnv *env, const RtCoordConfig *cfg, GError **error) {
    return sim_zk_open(ud, env->process_id, cfg, error);
}

static void hook_crashed(void *ud, RtProcessId pid) {
    sim_zk_process_crashed(ud, pid);
}

static void hook_restarted(void *ud, RtProcessId pid) {
    (void)ud;
    (void)pid; /* a restarted process opens new sessions itself */
}

static void hook_paused(void *ud, RtProcessId pid, uint64_t until_ns) {
    (void)until_ns;
    sim_zk_process_paused(ud, pid);
}

static void hook_resumed(void *ud, RtProcessId pid) {
    sim_zk_process_resumed(ud, pid);
}

void sim_zk_attach_world(SimZk *zk, SimWorld *w) {
    assert(zk != NULL && w != NULL && sim_world_kernel(w) == zk->k);
    zk->world_host.enter = world_enter;
    zk->world_host.leave = world_leave;
    zk->world_host.ud = w;
    zk->host = &zk->world_host;
    SimWorldCoordHooks hooks = {hook_open,   hook_crashed, hook_restarted,
                                hook_paused, hook_resumed, zk};
    sim_world_set_coord_hooks(w, &hooks);
}

/* ------------------------------------------------------------------- faults */

bool sim_zk_expire_session(SimZk *zk, int64_t session_id) {
    Session *s = sim_zk_session_get(zk, session_id);
    if (s == NULL || !s->alive)
        return false;
    sim_zk_session_end(zk, s, true);
    return true;
}

static void expire_one(SimZk *zk, SimZkClient *c, void *ud) {
    unsigned *n = ud;
    *n += sim_zk_expire_session(zk, c->session_id) ? 1 : 0;
}

unsigned sim_zk_expire_process(SimZk *zk, RtProcessId pid) {
    unsigned n = 0;
    foreach_client(zk, pid, expire_one, &n);
    return n;
}

static void drop_one(SimZk *zk, SimZkClient *c, void *ud) {
    uint64_t until = *(const uint64_t *)ud;
    c->drop_until_ns = MAX(c->drop_until_ns, until);
    if (c->link_up)
        sim_zk_client_disconnect(zk, c);
}

void sim_zk_drop_connection(SimZk *zk, RtProcessId pid, uint64_t duration_ns) {
    uint64_t until = sim_zk_now_ns(zk) + duration_ns;
    foreach_client(zk, pid, drop_one, &until);
}

/* In-flight writes of c (sent, not yet at the server) are committed by the new leader
 * or lost, one draw each, in call order. */
static void settle_in_flight(SimZk *zk, SimZkClient *c) {
    Session *s = sim_zk_session_get(zk, c->session_id);
    for (GList *l = c->pending.head; l != NULL; l = l->next) {
        Request *r = l->data;
        if (r->state != REQ_SENT || r->epoch != c->epoch || !sim_zk_is_write(r))
            continue;
        if (s != NULL && s->alive && (rt_rng_next(&zk->rng) & 1u))
            (void)sim_zk_apply(zk, c, r);
    } /* the disconnect fails them all: their arrivals then find nothing to do */
}

unsigned sim_zk_leader_change(SimZk *zk, uint64_t duration_ns) {
    uint64_t until = sim_zk_now_ns(zk) + duration_ns;
    unsigned dropped = 0;
    for (GTreeNode *t = g_tree_node_first(zk->sessions); t; t = g_tree_node_next(t)) {
        Session *s = g_tree_node_value(t);
        if (s->alive && s->silent) { /* a fresh timeout from the new leader */
            sim_zk_session_wake(zk, s);
            sim_zk_session_silence(zk, s);
        }
    }
    for (GTreeNode *t = g_tree_node_first(zk->clients); t; t = g_tree_node_next(t)) {
        SimZkClient *c = g_tree_node_value(t);
        if (c->dead)
            continue;
        c->drop_until_ns = MAX(c->drop_until_ns, until);
        if (!c->link_up)
            continue;
        settle_in_flight(zk, c);
        sim_zk_client_disconnect(zk, c);
        dropped++;
    }
    sim_zk_sync_followers(zk);
    return dropped;
}

typedef struct DelayArgs {
    uint64_t extra_ns, until_ns;
} DelayArgs;

static void delay_one(SimZk *zk, SimZkClient *c, void *ud) {
    (void)zk;
    const DelayArgs *a = ud;
    c->delay_extra_ns = a->extra_ns;
    c->delay_until_ns = a->until_ns;
}

void sim_zk_delay_replies(SimZk *zk, RtProcessId pid, uint64_t extra_ns, uint64_t duration_ns) {
    DelayArgs a = {extra_ns, sim_zk_now_ns(zk) + duration_ns};
    foreach_client(zk, pid, delay_one, &a);
}

static void partition_one(SimZk *zk, SimZkClient *c, void *ud) {
    uint64_t until = *(const uint64_t *)ud;
    if (!sim_zk_partitioned(zk, c))
        c->partition_since_ns = sim_zk_now_ns(zk);
    c->partition_until_ns = MAX(c->partition_until_ns, until);
    sim_kernel_schedule_at(zk->k, c->partition_until_ns, sim_zk_ev_partition_end, zk, c->id);
    if (!c->link_up)
        return;
    sim_zk_session_silence(zk, sim_zk_session_get(zk, c->session_id));
    sim_kernel_schedule_at(zk->k, c->partition_since_ns + c->timeout_ns * 2 / 3, sim_zk_ev_detect,
                           zk, c->id);
}

void sim_zk_partition(SimZk *zk, RtProcessId pid, uint64_t duration_ns) {
    uint64_t until = sim_zk_now_ns(zk) + duration_ns;
    foreach_client(zk, pid, partition_one, &until);
}

/* ------------------------------------------------------------ observation */

const SimZkTree *sim_zk_tree(const SimZk *zk) {
    return zk->tree;
}

int64_t sim_zk_server_zxid(const SimZk *zk, unsigned server) {
    assert(server < zk->n_servers);
    return sim_zk_tree_zxid(zk->servers[server].tree);
}

int sim_zk_handle_server(RtCoord *c) {
    assert(c != NULL && c->ops == &sim_zk_coord_ops);
    const SimZkClient *sc = (const SimZkClient *)c;
    return sc->link_up ? (int)sc->server : -1;
}

static gboolean count_live(gpointer key, gpointer value, gpointer ud) {
    (void)key;
    *(unsigned *)ud += ((Session *)value)->alive ? 1 : 0;
    return FALSE;
}

unsigned sim_zk_live_sessions(const SimZk *zk) {
    unsigned n = 0;
    g_tree_foreach(zk->sessions, count_live, &n);
    return n;
}

SimZkStats sim_zk_stats(const SimZk *zk) {
    return zk->stats;
}
