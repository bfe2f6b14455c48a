/* rt_ckpt_id_counter_zk.c - the checkpoint ID counter on a versioned znode, after
 * Flink's ZooKeeperCheckpointIDCounter: compare-and-set with setData(version), retried
 * on BadVersion (rt_ckpt_store_zk.h). The unfenced counter is Flink's checkpoint ID
 * counter exactly: every try of getAndIncrement first runs checkConnectionState (refused
 * unless the connection is CONNECTED/RECONNECTED: FLINK-14091), and the id handed out is
 * the node's value - never raised to a floor, as Flink's CheckpointCoordinator calls
 * setCount only after a savepoint restore, never on a regular recovery (so a lost
 * counter shows). Optionally fenced (the job-attempt counter, ckptsim's stand-in for the
 * JobMasterId fencing token): the set is a multi that also checks the leader's latch
 * node, and ids are raised to the floor. A call's context is registered in the counter's
 * RtPendingOps set from start to finish; ZooKeeper callbacks carry its token, so the
 * counter's free frees it whether or not a session ever answers (rt_pending_ops.h). */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_pending_ops.h"
#include "runtime/ha/rt_ckpt_store_zk.h"

typedef struct ZkCounter {
    RtCkptIdCounter base; /* first */
    RtHaClient *client;
    char *path;
    char *fence;          /* NULL: plain setData */
    RtPendingOps ops;     /* calls in flight */
    uint64_t start_value; /* read by start: the next id then */
    bool started;
    bool busy;
    uint64_t suspensions0; /* the client's suspensions when created (FLINK-14091 bug) */
} ZkCounter;

typedef struct CounterCall {
    RtPendingOp op; /* first: registered in c->ops until finished */
    ZkCounter *c;
    RtHaClient *client;
    uint32_t cas_tries;
    uint64_t id; /* the id being claimed */
    RtCkptIdCounterStartFunc start_done;
    RtCkptIdFunc id_done;
    void *user_data;
} CounterCall;

static void call_free_op(RtPendingOp *op) {
    g_free(op);
}

/* Unregisters (if registered) and frees call. */
static void call_free(CounterCall *call) {
    if (call->op.id != 0)
        rt_pending_op_unregister(&call->op);
    g_free(call);
}

static CounterCall *call_new(ZkCounter *c, void *user_data) {
    CounterCall *call = g_new0(CounterCall, 1);
    call->c = c;
    call->client = c->client;
    call->user_data = user_data;
    rt_pending_op_register(&c->ops, &call->op, call_free_op);
    return call;
}

/* The user data of the call's ZooKeeper callbacks. */
static void *call_ud(CounterCall *call) {
    return rt_pending_op_token(&call->op);
}

/* A callback ran: the call of token ud, or NULL if the counter freed it. */
static CounterCall *call_enter(void *ud) {
    return (CounterCall *)rt_pending_op_lookup(ud);
}

static bool parse_value(const void *data, size_t len, uint64_t *out) {
    if (len == 0 || len > 20)
        return false;
    char buf[24];
    memcpy(buf, data, len);
    buf[len] = '\0';
    guint64 v = 0;
    if (!g_ascii_string_to_unsigned(buf, 10, 1, G_MAXINT64, &v, NULL))
        return false;
    *out = v;
    return true;
}

/* ------------------------------------------------------------------- start */

static void start_finish(CounterCall *call, GError *error) {
    ZkCounter *c = call->c;
    c->busy = false;
    c->started = error == NULL;
    RtCkptIdCounterStartFunc done = call->start_done;
    void *ud = call->user_data;
    call_free(call);
    done(ud, error);
}

static void start_got(RtCoord *coord, const void *data, size_t len, const RtCoordStat *stat,
                      GError *error, void *user_data) {
    (void)coord;
    (void)stat;
    CounterCall *call = call_enter(user_data);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    uint64_t v = 0;
    if (error == NULL && !parse_value(data, len, &v))
        error = g_error_new(RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                            "%s: not a checkpoint counter", call->c->path);
    if (error != NULL)
        g_prefix_error(&error, "starting the checkpoint counter: ");
    else
        call->c->start_value = v;
    start_finish(call, error);
}

static void start_created(RtCoord *coord, const char *path, GError *error, void *user_data) {
    (void)path;
    CounterCall *call = call_enter(user_data);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL && !g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS)) {
        g_prefix_error(&error, "creating %s: ", call->c->path);
        start_finish(call, error);
        return;
    }
    g_clear_error(&error);
    GError *err = NULL;
    if (!rt_coord_get(coord, call->c->path, NULL, start_got, call_ud(call), &err)) {
        start_finish(call, err);
    }
}

static bool counter_start(RtCkptIdCounter *self, RtCkptIdCounterStartFunc done, void *user_data,
                          GError **error) {
    ZkCounter *c = (ZkCounter *)self;
    assert(!c->busy);
    RtCoord *coord = rt_ha_client_coord(c->client);
    char *parent = g_path_get_dirname(c->path);
    rt_ha_create_path(coord, parent);
    g_free(parent);
    CounterCall *call = call_new(c, user_data);
    call->start_done = done;
    /* INITIAL_CHECKPOINT_ID = 1: the node holds the next id. */
    if (!rt_coord_create(coord, c->path, "1", 1, RT_COORD_PERSISTENT, start_created, call_ud(call),
                         error)) {
        call_free(call);
        return false;
    }
    c->busy = true;
    return true;
}

/* ----------------------------------------------------------- get and increment */

/* ZooKeeperCheckpointIDCounter.checkConnectionState: refused unless the last state seen
 * is CONNECTED or RECONNECTED. Planted bug FLINK-14091: the last state is never updated
 * back after a reconnect, so once suspended the counter refuses for good. */
static bool check_connection_state(const ZkCounter *c, GError **error) {
    if (c->fence != NULL)
        return true; /* the job-attempt counter: not Flink's checkpoint ID counter */
    RtCoordState st = rt_ha_client_state(c->client);
    if (rt_bug_on(c->base.env, RT_BUG_FLINK_14091) &&
        rt_ha_client_suspensions(c->client) > c->suspensions0)
        st = RT_COORD_SUSPENDED;
    if (st == RT_COORD_CONNECTED)
        return true;
    g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONNECTION_LOSS,
                "checkpoint ID counter: connection state: %s", rt_coord_state_name(st));
    return false;
}

static void cas_read(CounterCall *call);

static void id_finish(CounterCall *call, uint64_t id, GError *error) {
    call->c->busy = false;
    RtCkptIdFunc done = call->id_done;
    void *ud = call->user_data;
    call_free(call);
    done(ud, error == NULL ? id : 0, error);
}

static void cas_result(CounterCall *call, GError *error) {
    if (error == NULL) {
        id_finish(call, call->id, NULL);
        return;
    }
    if (g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_BAD_VERSION) &&
        ++call->cas_tries < RT_CKPT_ID_COUNTER_ZK_MAX_CAS) {
        g_error_free(error); /* someone else incremented: read again */
        cas_read(call);
        return;
    }
    if (call->c->fence != NULL && g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE)) {
        GError *fenced =
            g_error_new(RT_HA_ERROR, RT_HA_ERROR_FENCED, "%s: not the leader any more (%s)",
                        call->c->path, error->message);
        g_error_free(error);
        error = fenced;
    }
    id_finish(call, 0, error);
}

static void cas_set_done(RtCoord *coord, const RtCoordStat *stat, GError *error, void *ud) {
    (void)coord;
    (void)stat;
    CounterCall *call = call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    cas_result(call, error);
}

static void cas_multi_done(RtCoord *coord, const RtCoordOpResult *results, size_t n, GError *error,
                           void *ud) {
    (void)results;
    (void)n;
    cas_set_done(coord, NULL, error, ud);
}

static void cas_got(RtCoord *coord, const void *data, size_t len, const RtCoordStat *stat,
                    GError *error, void *ud) {
    CounterCall *call = call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    uint64_t v = 0;
    if (error == NULL && !parse_value(data, len, &v))
        error = g_error_new(RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                            "%s: not a checkpoint counter", call->c->path);
    if (error != NULL) {
        id_finish(call, 0, error);
        return;
    }
    call->id = call->c->fence != NULL ? MAX(v, call->c->base.floor) : v;
    char buf[24];
    int blen = g_snprintf(buf, sizeof buf, "%" PRIu64, call->id + 1);
    GError *err = NULL;
    bool ok;
    if (call->c->fence != NULL) {
        RtCoordOp ops[2] = {rt_coord_op_check(call->c->fence, RT_COORD_ANY_VERSION),
                            rt_coord_op_set(call->c->path, buf, (size_t)blen, stat->version)};
        ok = rt_coord_multi(coord, ops, 2, cas_multi_done, call_ud(call), &err);
    } else {
        ok = rt_coord_set(coord, call->c->path, buf, (size_t)blen, stat->version, cas_set_done,
                          call_ud(call), &err);
    }
    if (!ok) {
        id_finish(call, 0, err);
    }
}

static void cas_read(CounterCall *call) {
    GError *err = NULL;
    if (!check_connection_state(call->c, &err)) {
        id_finish(call, 0, err);
        return;
    }
    if (!rt_coord_get(rt_ha_client_coord(call->client), call->c->path, NULL, cas_got, call_ud(call),
                      &err)) {
        id_finish(call, 0, err);
    }
}

static bool counter_get_and_increment(RtCkptIdCounter *self, RtCkptIdFunc done, void *user_data,
                                      GError **error) {
    ZkCounter *c = (ZkCounter *)self;
    assert(c->started && !c->busy);
    if (!check_connection_state(c, error))
        return false;
    CounterCall *call = call_new(c, user_data);
    call->id_done = done;
    if (!rt_coord_get(rt_ha_client_coord(c->client), c->path, NULL, cas_got, call_ud(call),
                      error)) {
        call_free(call);
        return false;
    }
    c->busy = true;
    return true;
}

static void counter_free(RtCkptIdCounter *self) {
    ZkCounter *c = (ZkCounter *)self;
    rt_pending_ops_clear(&c->ops);
    g_free(c->path);
    g_free(c->fence);
    g_free(c);
}

static const RtCkptIdCounterOps zk_counter_ops;

uint64_t rt_ckpt_id_counter_zk_next(const RtCkptIdCounter *counter) {
    assert(counter != NULL && counter->ops == &zk_counter_ops);
    const ZkCounter *c = (const ZkCounter *)counter;
    assert(c->started);
    return c->start_value;
}

static const RtCkptIdCounterOps zk_counter_ops = {
    .name = "zookeeper",
    .start = counter_start,
    .get_and_increment = counter_get_and_increment,
    .free = counter_free,
};

RtCkptIdCounter *rt_ckpt_id_counter_zk_new(RtHaClient *client, const char *path,
                                           const char *fence) {
    assert(client != NULL && path != NULL && rt_coord_path_valid(path));
    ZkCounter *c = g_new0(ZkCounter, 1);
    c->base.ops = &zk_counter_ops;
    c->base.env = rt_ha_client_env(client);
    c->base.floor = 1;
    c->client = client;
    c->path = g_strdup(path);
    c->fence = g_strdup(fence);
    c->suspensions0 = rt_ha_client_suspensions(client);
    rt_pending_ops_init(&c->ops);
    return &c->base;
}
