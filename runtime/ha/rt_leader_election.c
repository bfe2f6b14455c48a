/* rt_leader_election.c - LeaderLatch-style election with predecessor watches, latch
 * resets, protected creates and the published connection_info (rt_leader_election.h).
 * Every asynchronous step carries a context with the latch generation it belongs to (a
 * late answer about a dropped latch changes nothing), registered in the election's
 * RtPendingOps set: callbacks and watches get its token, and the election's free frees
 * the contexts whose answers never came (rt_pending_ops.h). */
#include "runtime/ha/rt_leader_election.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_pending_ops.h"

#define LATCH_SEQ_DIGITS 10u
#define INFO_MAX_TRIES 5u

struct RtLeaderElection {
    RtHaClient *client;
    RtEnv *env;
    RtPendingOps ops; /* Ctx of calls and watches in flight */
    RtLeaderElectionHooks hooks;
    void *user_data;
    char *address;
    char *latch_dir;      /* <root>/leader/latch */
    char *info_path;      /* <root>/leader/<component>/connection_info */
    char *latch;          /* our latch node, NULL when none */
    char *creating_token; /* token of the latch create in flight, NULL when none */
    char *orphan_token;   /* a create with unknown outcome: its node may linger */
    GPtrArray *stale;     /* char*: our reset latch nodes not known deleted yet (a stale
                             node would still pass a fence check and block the election) */
    uint64_t gen;         /* bumped whenever the latch is dropped */
    bool connected_once;  /* the current session has been CONNECTED */
    bool leader;
    uint64_t session_id; /* fencing token of the current grant */
    uint64_t grants;
    RtTimerId lost_timer;  /* tolerate-suspended: LOST after the session timeout */
    RtTimerId retry_timer; /* a latch create that failed for good is tried again */
    RtTimerId start_timer; /* the first look at the session's state */
    RtRng rng;             /* tokens and leader session ids */
};

typedef struct Ctx {
    RtPendingOp op; /* first: registered in e->ops until its answer is handled */
    RtLeaderElection *e;
    uint64_t gen;
    uint64_t grant; /* connection_info: the grant it publishes */
    uint32_t tries;
    char *token;
} Ctx;

static void ctx_free_op(RtPendingOp *op) {
    Ctx *c = (Ctx *)op;
    g_free(c->token);
    g_free(c);
}

/* A new context, registered. */
static Ctx *ctx_new(RtLeaderElection *e) {
    Ctx *c = g_new0(Ctx, 1);
    c->e = e;
    c->gen = e->gen;
    c->grant = e->grants;
    rt_pending_op_register(&e->ops, &c->op, ctx_free_op);
    return c;
}

/* The user data of c's callbacks (its token). */
static void *ctx_ud(Ctx *c) {
    return rt_pending_op_token(&c->op);
}

/* The context of token ud, or NULL if the election was freed. */
static Ctx *ctx_get(void *ud) {
    return (Ctx *)rt_pending_op_lookup(ud);
}

/* Ends the context of token ud; returns its election if it is alive and (same_gen)
 * still at the context's generation, else NULL. */
static RtLeaderElection *ctx_take(void *ud, bool same_gen) {
    Ctx *c = (Ctx *)rt_pending_op_take(ud);
    if (c == NULL)
        return NULL;
    RtLeaderElection *e = c->e;
    if (same_gen && c->gen != e->gen)
        e = NULL;
    ctx_free_op(&c->op);
    return e;
}

static void ignore_done(RtCoord *coord, GError *error, void *user_data) {
    (void)coord;
    (void)user_data;
    g_clear_error(&error);
}

static void delete_quietly(RtLeaderElection *e, const char *path) {
    rt_coord_delete(rt_ha_client_coord(e->client), path, RT_COORD_ANY_VERSION, ignore_done, NULL,
                    NULL);
}

static bool is_stale(const RtLeaderElection *e, const char *path) {
    for (guint i = 0; i < e->stale->len; i++)
        if (strcmp(g_ptr_array_index(e->stale, i), path) == 0)
            return true;
    return false;
}

static void on_stale_deleted(RtCoord *coord, GError *error, void *ud) {
    (void)coord;
    Ctx *c = ctx_get(ud);
    bool gone = error == NULL || g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE);
    g_clear_error(&error);
    char *path = c != NULL ? g_strdup(c->token) : NULL;
    RtLeaderElection *e = ctx_take(ud, false);
    for (guint i = 0; e != NULL && gone && i < e->stale->len; i++) {
        if (strcmp(g_ptr_array_index(e->stale, i), path) == 0) {
            g_ptr_array_remove_index(e->stale, i);
            break;
        }
    }
    g_free(path);
}

/* Deletes a reset latch node of ours; re-issued on every reconnect until it is gone. */
static void stale_delete(RtLeaderElection *e, const char *path) {
    Ctx *c = ctx_new(e);
    c->token = g_strdup(path);
    if (!rt_coord_delete(rt_ha_client_coord(e->client), path, RT_COORD_ANY_VERSION,
                         on_stale_deleted, ctx_ud(c), NULL))
        ctx_take(ctx_ud(c), false);
}

/* ---------------------------------------------------------------- leadership */

static void publish_info(RtLeaderElection *e, Ctx *c);

static void grant(RtLeaderElection *e) {
    if (e->leader)
        return;
    uint64_t id = 0;
    for (int guard = 0; guard < 8 && id == 0; guard++)
        id = rt_rng_next(&e->rng);
    e->leader = true;
    e->session_id = id != 0 ? id : 1;
    e->grants++;
    publish_info(e, ctx_new(e));
    e->hooks.granted(e->user_data, e->session_id);
}

static void revoke(RtLeaderElection *e) {
    if (!e->leader)
        return;
    e->leader = false;
    e->session_id = 0;
    e->hooks.revoked(e->user_data);
}

/* The latch is gone (session ended, reset, or found missing). */
static void drop_latch(RtLeaderElection *e) {
    e->gen++;
    g_free(e->latch);
    e->latch = NULL;
    g_free(e->creating_token);
    e->creating_token = NULL;
}

/* ------------------------------------------------------------ connection_info */

static void info_step_created(RtCoord *coord, const char *path, GError *error, void *ud);

static void info_create(RtLeaderElection *e, Ctx *c) {
    char *data = g_strdup_printf("address=%s\nsession=%016" PRIx64 "\n", e->address, e->session_id);
    if (!rt_coord_create(rt_ha_client_coord(e->client), e->info_path, data, strlen(data),
                         RT_COORD_EPHEMERAL, info_step_created, ctx_ud(c), NULL))
        ctx_take(ctx_ud(c), false);
    g_free(data);
}

static bool info_current(RtLeaderElection *e, const Ctx *c) {
    return e != NULL && e->leader && e->grants == c->grant;
}

static void info_step_created(RtCoord *coord, const char *path, GError *error, void *ud) {
    (void)coord;
    (void)path;
    Ctx *c = ctx_get(ud);
    RtLeaderElection *e = c != NULL ? c->e : NULL;
    bool again = e != NULL && info_current(e, c) && error != NULL &&
                 g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS) &&
                 ++c->tries < INFO_MAX_TRIES;
    g_clear_error(&error);
    if (again)
        publish_info(e, c); /* someone else's node appeared meanwhile */
    else
        ctx_take(ud, false);
}

static void info_step_deleted(RtCoord *coord, GError *error, void *ud) {
    (void)coord;
    Ctx *c = ctx_get(ud);
    RtLeaderElection *e = c != NULL ? c->e : NULL;
    g_clear_error(&error);
    if (e != NULL && info_current(e, c))
        info_create(e, c);
    else
        ctx_take(ud, false);
}

static void info_step_set(RtCoord *coord, const RtCoordStat *stat, GError *error, void *ud) {
    (void)coord;
    (void)stat;
    g_clear_error(&error);
    ctx_take(ud, false);
}

static void info_step_stat(RtCoord *coord, const RtCoordStat *stat, GError *error, void *ud) {
    Ctx *c = ctx_get(ud);
    RtLeaderElection *e = c != NULL ? c->e : NULL;
    if (error != NULL || e == NULL || !info_current(e, c)) {
        g_clear_error(&error);
        ctx_take(ud, false);
        return;
    }
    if (stat == NULL) {
        info_create(e, c);
    } else if (stat->ephemeral_owner == rt_coord_session_id(coord)) {
        /* Ours (an earlier grant of this session): replace the data. */
        char *data =
            g_strdup_printf("address=%s\nsession=%016" PRIx64 "\n", e->address, e->session_id);
        if (!rt_coord_set(coord, e->info_path, data, strlen(data), stat->version, info_step_set, ud,
                          NULL))
            ctx_take(ud, false);
        g_free(data);
    } else if (!rt_coord_delete(coord, e->info_path, stat->version, info_step_deleted, ud, NULL)) {
        ctx_take(ud, false);
    }
}

/* Flink's writeLeaderInformationToZooKeeper: only while leading; owner-checked. */
static void publish_info(RtLeaderElection *e, Ctx *c) {
    RtCoord *coord = rt_ha_client_coord(e->client);
    char *parent = g_path_get_dirname(e->info_path);
    rt_ha_create_path(coord, parent);
    g_free(parent);
    if (!rt_coord_exists(coord, e->info_path, NULL, info_step_stat, ctx_ud(c), NULL))
        ctx_take(ctx_ud(c), false);
}

/* --------------------------------------------------------------------- latch */

static void create_latch(RtLeaderElection *e);
static void recheck(RtLeaderElection *e);

/* Sequence number of a latch node name (its last 10 digits), or -1. */
static int64_t latch_seq(const char *name) {
    size_t n = strlen(name);
    if (n < LATCH_SEQ_DIGITS || strstr(name, "latch-") == NULL)
        return -1;
    const char *digits = name + n - LATCH_SEQ_DIGITS;
    for (size_t i = 0; i < LATCH_SEQ_DIGITS; i++)
        if (!g_ascii_isdigit(digits[i]))
            return -1;
    return (int64_t)g_ascii_strtoll(digits, NULL, 10);
}

static gint latch_cmp(gconstpointer a, gconstpointer b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int64_t sx = latch_seq(x), sy = latch_seq(y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return strcmp(x, y);
}

static void on_pred_watch(RtCoord *coord, RtCoordEventType type, const char *path, void *ud) {
    (void)coord;
    (void)path;
    RtLeaderElection *e = ctx_take(ud, true);
    if (e != NULL && type != RT_COORD_EVENT_SESSION_ENDED)
        recheck(e);
}

static void on_pred_stat(RtCoord *coord, const RtCoordStat *stat, GError *error, void *ud) {
    (void)coord;
    RtLeaderElection *e = ctx_take(ud, true);
    bool gone = error == NULL && stat == NULL;
    g_clear_error(&error);
    if (e != NULL && gone)
        recheck(e); /* the predecessor went before the watch was set */
}

static void watch_predecessor(RtLeaderElection *e, const char *name) {
    char *path = g_strdup_printf("%s/%s", e->latch_dir, name);
    RtCoordWatch w = {on_pred_watch, ctx_ud(ctx_new(e))};
    void *c = ctx_ud(ctx_new(e));
    if (!rt_coord_exists(rt_ha_client_coord(e->client), path, &w, on_pred_stat, c, NULL)) {
        ctx_take(w.user_data, false);
        ctx_take(c, false);
    }
    g_free(path);
}

/* Candidates in sequence order, without orphans of ours (deleted on the way). */
static GPtrArray *candidates(RtLeaderElection *e, const char *const *names, size_t n) {
    GPtrArray *list = g_ptr_array_new();
    bool orphan_left = false;
    for (size_t i = 0; i < n; i++) {
        if (latch_seq(names[i]) < 0)
            continue;
        bool mine = e->latch != NULL && strcmp(strrchr(e->latch, '/') + 1, names[i]) == 0;
        char *full = g_strdup_printf("%s/%s", e->latch_dir, names[i]);
        bool stale = is_stale(e, full);
        g_free(full);
        if (stale)
            continue; /* ours, being deleted: it leads nobody */
        if (!mine && e->orphan_token != NULL && strstr(names[i], e->orphan_token) != NULL) {
            char *path = g_strdup_printf("%s/%s", e->latch_dir, names[i]);
            delete_quietly(e, path);
            g_free(path);
            orphan_left = true;
            continue;
        }
        g_ptr_array_add(list, (gpointer)names[i]);
    }
    if (!orphan_left) {
        g_free(e->orphan_token);
        e->orphan_token = NULL;
    }
    g_ptr_array_sort(list, latch_cmp);
    return list;
}

static void on_children(RtCoord *coord, const char *const *names, size_t n, const RtCoordStat *stat,
                        GError *error, void *ud) {
    (void)coord;
    (void)stat;
    RtLeaderElection *e = ctx_take(ud, true);
    if (e == NULL || e->latch == NULL || error != NULL) {
        /* Connection trouble: the state listener re-checks on reconnect. */
        g_clear_error(&error);
        return;
    }
    GPtrArray *list = candidates(e, names, n);
    const char *mine = strrchr(e->latch, '/') + 1;
    guint idx = list->len;
    for (guint i = 0; i < list->len; i++)
        if (strcmp(g_ptr_array_index(list, i), mine) == 0)
            idx = i;
    if (idx == list->len) {
        /* Our node is gone (deleted by hand, or our session ended): start over. */
        revoke(e);
        drop_latch(e);
        create_latch(e);
    } else if (idx == 0) {
        grant(e);
    } else {
        revoke(e); /* cannot happen with increasing sequences; be safe */
        watch_predecessor(e, g_ptr_array_index(list, idx - 1));
    }
    g_ptr_array_unref(list);
}

static void recheck(RtLeaderElection *e) {
    if (e->latch == NULL)
        return;
    void *c = ctx_ud(ctx_new(e));
    if (!rt_coord_children(rt_ha_client_coord(e->client), e->latch_dir, NULL, on_children, c, NULL))
        ctx_take(c, false);
}

static void retry_create(void *ud) {
    RtLeaderElection *e = ud;
    e->retry_timer = 0;
    create_latch(e);
}

static void on_latch_created(RtCoord *coord, const char *path, GError *error, void *ud) {
    Ctx *c = ctx_get(ud);
    RtLeaderElection *e = c != NULL ? c->e : NULL;
    if (e != NULL && c->gen != e->gen) {
        if (error == NULL)
            rt_coord_delete(coord, path, RT_COORD_ANY_VERSION, ignore_done, NULL, NULL);
        e = NULL;
    }
    if (e == NULL) {
        g_clear_error(&error);
        ctx_take(ud, false);
        return;
    }
    g_free(e->creating_token);
    e->creating_token = NULL;
    if (error == NULL) {
        e->latch = g_strdup(path);
        ctx_take(ud, false);
        recheck(e);
        return;
    }
    if (rt_coord_error_outcome_unknown(error)) {
        g_free(e->orphan_token);
        e->orphan_token = g_strdup(c->token); /* may exist: found by its token later */
    }
    bool retryable = rt_ha_error_retryable(error);
    g_error_free(error);
    ctx_take(ud, false);
    /* Connection trouble: the state listener creates again on reconnect. Otherwise a
     * parent vanished under us (someone removed it): try again later. */
    if (!retryable && e->retry_timer == 0)
        e->retry_timer = rt_env_timer_start(e->env, rt_ha_client_config(e->client)->retry_wait_ns,
                                            retry_create, e);
}

static void create_latch(RtLeaderElection *e) {
    if (e->latch != NULL || e->creating_token != NULL ||
        rt_ha_client_state(e->client) != RT_COORD_CONNECTED)
        return;
    RtCoord *coord = rt_ha_client_coord(e->client);
    rt_ha_create_path(coord, e->latch_dir);
    Ctx *c = ctx_new(e);
    c->token = g_strdup_printf("_c_%016" PRIx64 "-", rt_rng_next(&e->rng));
    e->creating_token = g_strdup(c->token);
    char *path = g_strdup_printf("%s/%slatch-", e->latch_dir, c->token);
    GError *err = NULL;
    if (!rt_coord_create(coord, path, NULL, 0, RT_COORD_EPHEMERAL | RT_COORD_SEQUENTIAL,
                         on_latch_created, ctx_ud(c), &err)) {
        g_clear_error(&err);
        g_free(e->creating_token);
        e->creating_token = NULL;
        ctx_take(ctx_ud(c), false);
    }
    g_free(path);
}

/* ---------------------------------------------------------- session states */

static void lost_fire(void *ud) {
    RtLeaderElection *e = ud;
    e->lost_timer = 0;
    if (rt_ha_client_state(e->client) != RT_COORD_CONNECTED &&
        !rt_bug_on(e->env, RT_BUG_JM_IGNORES_SESSION_EXPIRY))
        revoke(e); /* Curator's LOST: the session timeout passed while suspended */
}

static void on_connected(RtLeaderElection *e, bool new_session) {
    rt_env_timer_cancel(e->env, e->lost_timer);
    e->lost_timer = 0;
    bool tolerate = rt_ha_client_config(e->client)->tolerate_suspended;
    if (new_session) {
        drop_latch(e); /* went with the old session, as did any orphan */
        g_free(e->orphan_token);
        e->orphan_token = NULL;
        g_ptr_array_set_size(e->stale, 0);
    } else {
        /* First (FIFO: before any retried write), whatever reset nodes may remain. */
        for (guint i = 0; i < e->stale->len; i++)
            stale_delete(e, g_ptr_array_index(e->stale, i));
    }
    if (!new_session && e->connected_once && (!tolerate || !e->leader) && e->latch != NULL) {
        /* Curator's reset on RECONNECTED: a fresh node behind everyone else. */
        char *old = g_strdup(e->latch);
        drop_latch(e);
        if (e->stale->len < 64)
            g_ptr_array_add(e->stale, g_strdup(old));
        stale_delete(e, old);
        g_free(old);
    }
    e->connected_once = true;
    if (e->latch == NULL)
        create_latch(e);
    else
        recheck(e);
}

static void on_state(void *ud, RtCoordState state, bool new_session) {
    RtLeaderElection *e = ud;
    switch (state) {
    case RT_COORD_CONNECTED: on_connected(e, new_session); break;
    case RT_COORD_SUSPENDED:
        if (rt_bug_on(e->env, RT_BUG_JM_IGNORES_SESSION_EXPIRY))
            break; /* planted: connection trouble is "transient", leadership is kept */
        /* Planted bug FLINK-10052: revoked on every SUSPENDED, tolerated or not. */
        if (!rt_ha_client_config(e->client)->tolerate_suspended ||
            rt_bug_on(e->env, RT_BUG_FLINK_10052)) {
            revoke(e);
        } else if (e->lost_timer == 0) {
            uint64_t t = rt_coord_session_timeout_ns(rt_ha_client_coord(e->client));
            e->lost_timer = rt_env_timer_start(e->env, t, lost_fire, e);
        }
        break;
    case RT_COORD_EXPIRED:
    case RT_COORD_CLOSED:
        rt_env_timer_cancel(e->env, e->lost_timer);
        e->lost_timer = 0;
        /* planted: "the client reconnects with a new session, leadership survives" */
        if (state != RT_COORD_EXPIRED || !rt_bug_on(e->env, RT_BUG_JM_IGNORES_SESSION_EXPIRY))
            revoke(e);
        drop_latch(e);
        e->connected_once = false;
        break;
    default: break;
    }
}

/* ------------------------------------------------------------------ lifecycle */

static void start_fire(void *ud) {
    RtLeaderElection *e = ud;
    e->start_timer = 0;
    if (!e->connected_once && rt_ha_client_state(e->client) == RT_COORD_CONNECTED)
        on_connected(e, false);
}

RtLeaderElection *rt_leader_election_new(RtHaClient *client, const char *component,
                                         const char *address, const RtLeaderElectionHooks *hooks,
                                         void *user_data) {
    assert(client != NULL && component != NULL && address != NULL && hooks != NULL);
    assert(hooks->granted != NULL && hooks->revoked != NULL);
    RtLeaderElection *e = g_new0(RtLeaderElection, 1);
    e->client = client;
    e->env = rt_ha_client_env(client);
    rt_pending_ops_init(&e->ops);
    e->hooks = *hooks;
    e->user_data = user_data;
    e->address = g_strdup(address);
    e->stale = g_ptr_array_new_with_free_func(g_free);
    const char *root = rt_ha_client_config(client)->root;
    e->latch_dir = g_strdup_printf("%s/leader/latch", root);
    e->info_path = g_strdup_printf("%s/leader/%s/connection_info", root, component);
    assert(rt_coord_path_valid(e->info_path));
    char *stream = g_strdup_printf("leader-election-%u", e->env->process_id);
    rt_env_rng(e->env, stream, &e->rng);
    g_free(stream);
    rt_ha_client_set_listener(client, on_state, e);
    /* Already connected (a client shared with earlier users): start from a timer. */
    e->start_timer = rt_env_timer_start(e->env, 0, start_fire, e);
    return e;
}

void rt_leader_election_free(RtLeaderElection *e) {
    if (e == NULL)
        return;
    rt_ha_client_set_listener(e->client, NULL, NULL);
    rt_env_timer_cancel(e->env, e->lost_timer);
    rt_env_timer_cancel(e->env, e->retry_timer);
    rt_env_timer_cancel(e->env, e->start_timer);
    if (e->latch != NULL)
        delete_quietly(e, e->latch);
    rt_pending_ops_clear(&e->ops);
    g_free(e->address);
    g_free(e->latch_dir);
    g_free(e->info_path);
    g_free(e->latch);
    g_free(e->creating_token);
    g_free(e->orphan_token);
    g_ptr_array_unref(e->stale);
    g_free(e);
}

bool rt_leader_election_has_leadership(const RtLeaderElection *e) {
    return e != NULL && e->leader;
}

uint64_t rt_leader_election_session_id(const RtLeaderElection *e) {
    assert(e != NULL);
    return e->leader ? e->session_id : 0;
}

const char *rt_leader_election_latch_path(const RtLeaderElection *e) {
    assert(e != NULL);
    return e->latch;
}

uint64_t rt_leader_election_grants(const RtLeaderElection *e) {
    assert(e != NULL);
    return e->grants;
}

const char *rt_leader_election_latch_dir(const RtLeaderElection *e) {
    assert(e != NULL);
    return e->latch_dir;
}
