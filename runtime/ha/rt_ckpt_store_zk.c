/* rt_ckpt_store_zk.c - the completed-checkpoint store on ZooKeeper: retried addAndLock
 * (fenced only with fence-writes), releaseAndTryRemove on subsumption, releaseAll on
 * free (rt_ckpt_store_zk.h). Recovery is in rt_ckpt_store_zk_recover.c. The planted
 * bugs of the museum's HA tickets live here, each at the line Flink got wrong. */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/ha/rt_atomic_file.h"
#include "runtime/ha/rt_ckpt_store_zk_internal.h"

/* ------------------------------------------------------------------ paths */

static char *sanitize(const char *job) {
    char *safe = g_strdup(job[0] != '\0' ? job : "job");
    for (char *p = safe; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            *p = '_';
    }
    return safe;
}

char *rt_ckpt_zk_job_path(const RtHaClient *client, const char *job) {
    char *safe = sanitize(job);
    char *path = g_strdup_printf("%s/jobs/%s", rt_ha_client_config(client)->root, safe);
    g_free(safe);
    return path;
}

char *rt_ckpt_store_zk_state_path(const RtHaClient *client, const char *job,
                                  uint64_t checkpoint_id) {
    char *safe = sanitize(job);
    char *path = g_strdup_printf("%s/%s/completedCheckpoint-%019" PRIu64,
                                 rt_ha_client_config(client)->storage_dir, safe, checkpoint_id);
    g_free(safe);
    return path;
}

char *zk_store_node(const ZkStore *s, uint64_t checkpoint_id) {
    return g_strdup_printf("%s/%019" PRIu64, s->zk_dir, checkpoint_id);
}

/* --------------------------------------------------------------- contexts */

static void call_free_op(RtPendingOp *op) {
    ZkCall *call = (ZkCall *)op;
    if (call->retry_timer != 0)
        rt_env_timer_cancel(call->s->base.env, call->retry_timer);
    rt_ha_client_cancel(call->client, call->retry_ticket);
    if (call->cp != NULL)
        rt_completed_checkpoint_free(call->cp);
    g_free(call->node);
    g_free(call->meta_path);
    g_free(call->state_path);
    if (call->names != NULL)
        g_ptr_array_unref(call->names);
    if (call->found != NULL)
        g_ptr_array_unref(call->found);
    g_free(call);
}

ZkCall *zk_call_new(ZkStore *s) {
    ZkCall *call = g_new0(ZkCall, 1);
    call->s = s;
    call->client = s->client;
    rt_pending_op_register(&s->ops, &call->op, call_free_op);
    return call;
}

void zk_call_free(ZkCall *call) {
    rt_pending_op_unregister(&call->op);
    call_free_op(&call->op);
}

static void call_free(ZkCall *call) {
    zk_call_free(call);
}

void *zk_call_ud(ZkCall *call) {
    return rt_pending_op_token(&call->op);
}

ZkCall *zk_call_enter(void *ud) {
    return (ZkCall *)rt_pending_op_lookup(ud);
}

static void ignore_done(RtCoord *coord, GError *error, void *user_data) {
    (void)coord;
    (void)user_data;
    g_clear_error(&error);
}

static void ignore_storage(void *user_data, GError *error) {
    (void)user_data;
    g_clear_error(&error);
}

/* Best-effort removal of a file (no callback of interest). */
static void remove_file(ZkStore *s, const char *path) {
    rt_storage_remove(s->base.env->storage, path, ignore_storage, NULL, NULL);
}

/* ---------------------------------------------------------- subsumption */

static void removal_node_deleted(RtCoord *coord, GError *error, void *ud) {
    (void)coord;
    ZkCall *call = zk_call_enter(ud);
    g_clear_error(&error);
    if (call != NULL)
        call_free(call);
}

static void removal_retry_ready(void *ud) {
    ZkCall *call = ud;
    call->retry_ticket = 0;
    call->retry_step(call);
}

static void removal_retry_fire(void *ud) {
    ZkCall *call = ud;
    call->retry_timer = 0;
    call->retry_ticket = rt_ha_client_when_connected(call->client, removal_retry_ready, call);
    if (call->retry_ticket == 0)
        call_free(call);
}

/* A removal step failed with error (consumed): Curator's RetryLoop, through which
 * Flink's releaseAndTryRemove runs each of its deletes, issues it again after
 * retry-wait once connected, at most max-retry-attempts times. Returns true when a
 * retry is scheduled; false (give up: keep what is left) otherwise. */
static bool removal_retry(ZkCall *call, GError *error, void (*step)(ZkCall *call)) {
    const RtHaConfig *cfg = rt_ha_client_config(call->client);
    bool retry = rt_ha_error_retryable(error) && call->tries < cfg->max_retries;
    call->outcome_unknown = call->outcome_unknown || rt_coord_error_outcome_unknown(error);
    g_clear_error(&error);
    if (!retry)
        return false;
    call->tries++;
    call->retry_step = step;
    call->retry_timer =
        rt_env_timer_start(call->s->base.env, cfg->retry_wait_ns, removal_retry_fire, call);
    return true;
}

static void removal_mark(ZkCall *call);

/* `locks` is gone: the pointer is marked for deletion. Discard, then delete it. */
static void removal_locks_deleted(RtCoord *coord, GError *error, void *ud) {
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    /* NoNode after a try whose outcome was unknown: that try deleted it (Curator's
     * deleteIfExists goes on). */
    if (call->outcome_unknown && g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE))
        g_clear_error(&error);
    if (error != NULL) {
        /* NotEmpty: another store instance still holds it; NoNode: someone else is
         * removing it; connection trouble past the retries: unknown. Keep everything. */
        if (!removal_retry(call, error, removal_mark))
            call_free(call);
        return;
    }
    ZkStore *s = call->s;
    remove_file(s, call->state_path);
    remove_file(s, call->meta_path);
    if (s->base.discard != NULL)
        s->base.discard(s->base.discard_data, call->cp);
    if (!rt_coord_delete(coord, call->node, RT_COORD_ANY_VERSION, removal_node_deleted, ud, NULL)) {
        call_free(call);
    }
}

/* Deletes the pointer's `locks` node: the mark. */
static void removal_mark(ZkCall *call) {
    char *locks = g_strdup_printf("%s/locks", call->node);
    GError *err = NULL;
    if (!rt_coord_delete(rt_ha_client_coord(call->s->client), locks, RT_COORD_ANY_VERSION,
                         removal_locks_deleted, zk_call_ud(call), &err) &&
        !removal_retry(call, err, removal_mark))
        call_free(call);
    g_free(locks);
}

/* Our lock on node is gone (or will be taken care of): forget it. */
static void removing_forget(ZkStore *s, const char *node) {
    for (guint i = 0; i < s->removing->len; i++)
        if (strcmp(g_ptr_array_index(s->removing, i), node) == 0) {
            g_ptr_array_remove_index(s->removing, i);
            return;
        }
}

static void removal_release(ZkCall *call);

static void removal_lock_deleted(RtCoord *coord, GError *error, void *ud) {
    (void)coord;
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL && !g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE)) {
        if (!removal_retry(call, error, removal_release))
            call_free(call);
        return;
    }
    g_clear_error(&error);
    removing_forget(call->s, call->node);
    call->tries = 0; /* the next delete has its own retries */
    call->outcome_unknown = false;
    removal_mark(call);
}

static void removal_release(ZkCall *call) {
    ZkStore *s = call->s;
    char *lock = g_strdup_printf("%s/locks/%s", call->node, s->lock_name);
    GError *err = NULL;
    if (!rt_coord_delete(rt_ha_client_coord(s->client), lock, RT_COORD_ANY_VERSION,
                         removal_lock_deleted, zk_call_ud(call), &err) &&
        !removal_retry(call, err, removal_release)) {
        call_free(call);
    }
    g_free(lock);
}

/* Planted bug FLINK-26284: the state file is gone (durably, as on a distributed file
 * system) before the pointer is marked. */
static void removal_early_synced(void *ud, GError *error) {
    g_clear_error(&error);
    ZkCall *call = zk_call_enter(ud);
    if (call != NULL)
        removal_release(call);
}

static void removal_early_discarded(void *ud, GError *error) {
    g_clear_error(&error);
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL)
        return;
    char *dir = g_path_get_dirname(call->state_path);
    if (!rt_storage_fsync_dir(call->s->base.env->storage, dir, removal_early_synced, ud, NULL))
        removal_release(call);
    g_free(dir);
}

static void remove_checkpoint(ZkStore *s, RtCompletedCheckpoint *old) {
    ZkCall *call = zk_call_new(s);
    call->cp = old;
    call->node = zk_store_node(s, old->checkpoint_id);
    call->meta_path = rt_ckpt_metadata_path(s->ckpt_dir, s->base.job, old->checkpoint_id);
    call->state_path = rt_ckpt_store_zk_state_path(s->client, s->base.job, old->checkpoint_id);
    if (s->removing->len < RT_CKPT_STORE_ZK_MAX_ENTRIES)
        g_ptr_array_add(s->removing, g_strdup(call->node));
    if (rt_bug_on(s->base.env, RT_BUG_FLINK_26284)) {
        rt_storage_remove(s->base.env->storage, call->state_path, removal_early_discarded,
                          zk_call_ud(call), NULL);
        return;
    }
    /* ZooKeeperStateHandleStore.releaseAndTryRemove: lock, locks (the mark), files, node. */
    removal_release(call);
}

static void subsume(ZkStore *s) {
    for (guint guard = 0; guard < RT_CKPT_STORE_ZK_MAX_ENTRIES; guard++) {
        RtCompletedCheckpoint *old = rt_ckpt_store_base_take_subsumed(&s->base);
        if (old == NULL)
            return;
        remove_checkpoint(s, old);
    }
}

/* -------------------------------------------------------------------- add */

static void add_issue(ZkCall *call);

/* Ends the add in flight: published (error NULL), or failed. */
static void add_finish(ZkCall *call, GError *error) {
    ZkStore *s = call->s;
    assert(s->adding == call);
    s->adding = NULL;
    s->busy = false;
    RtCompletedCheckpoint *cp = call->cp;
    call->cp = NULL;
    if (error == NULL) {
        RtEvent ev = {.kind = RT_EV_CKPT_PUBLISHED,
                      .checkpoint_id = cp->checkpoint_id,
                      .attempt = cp->attempt,
                      .a = s->leader_session_id};
        rt_env_observe(s->base.env, &ev);
        rt_ckpt_store_base_append(&s->base, cp);
    } else {
        /* PossibleInconsistentStateException keeps the state (FLINK-22494; planted bug
         * FLINK-22494 discards it anyway). */
        bool kept =
            g_error_matches(error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_POSSIBLY_PERSISTED) &&
            !rt_bug_on(s->base.env, RT_BUG_FLINK_22494);
        if (!kept) {
            /* Nothing in ZooKeeper points to them: the files may go. */
            remove_file(s, call->state_path);
            remove_file(s, call->meta_path);
        }
        rt_completed_checkpoint_free(cp);
    }
    bool published = error == NULL;
    void *token = zk_call_ud(call);
    /* call stays registered across done: if done frees the store, the store frees it. */
    call->done(call->user_data, error);
    call = zk_call_enter(token);
    if (call == NULL)
        return;
    call_free(call);
    if (published)
        subsume(s); /* the new checkpoint is in before any old one goes */
}

static GError *add_error(ZkCall *call, GError *cause) {
    uint64_t id = call->cp->checkpoint_id;
    bool unknown = call->outcome_unknown;
    GError *err =
        g_error_new(RT_CKPT_STORE_ERROR,
                    unknown ? RT_CKPT_STORE_ERROR_POSSIBLY_PERSISTED : RT_CKPT_STORE_ERROR_FAILED,
                    "publishing checkpoint %" PRIu64 " in ZooKeeper%s: %s", id,
                    unknown ? " (outcome unknown: state kept)" : "", cause->message);
    g_error_free(cause);
    return err;
}

static void add_retry_ready(void *ud) {
    ZkCall *call = ud;
    call->s->retry_ticket = 0;
    add_issue(call);
}

static void add_retry_fire(void *ud) {
    ZkCall *call = ud;
    ZkStore *s = call->s;
    s->retry_timer = 0;
    s->retry_ticket = rt_ha_client_when_connected(s->client, add_retry_ready, call);
    if (s->retry_ticket == 0)
        add_finish(call, add_error(call, g_error_new(RT_HA_ERROR, RT_HA_ERROR_CONFIG,
                                                     "too many calls waiting")));
}

static void add_multi_done(RtCoord *coord, const RtCoordOpResult *results, size_t n, GError *error,
                           void *ud) {
    (void)coord;
    (void)results;
    (void)n;
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    bool exists = g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS);
    if (error == NULL || (call->outcome_unknown && exists &&
                          !rt_bug_on(call->s->base.env, RT_BUG_FLINK_24543))) {
        /* NodeExists after an unknown outcome: our earlier try committed (FLINK-24543). */
        g_clear_error(&error);
        add_finish(call, NULL);
        return;
    }
    if (exists && rt_bug_on(call->s->base.env, RT_BUG_FLINK_24543))
        call->outcome_unknown = false; /* before the fix: a plain failure, files discarded */
    call->outcome_unknown = call->outcome_unknown || rt_coord_error_outcome_unknown(error);
    const RtHaConfig *cfg = rt_ha_client_config(call->client);
    if (rt_ha_error_retryable(error) && call->tries <= cfg->max_retries) {
        g_error_free(error);
        call->s->retry_timer =
            rt_env_timer_start(call->s->base.env, cfg->retry_wait_ns, add_retry_fire, call);
        return;
    }
    if (g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE) && call->s->fence) {
        GError *fenced = g_error_new(RT_HA_ERROR, RT_HA_ERROR_FENCED, "fenced: %s is gone (%s)",
                                     call->s->fence, error->message);
        g_error_free(error);
        error = fenced;
    }
    add_finish(call, add_error(call, error));
}

/* One try of the multi, on the current session. */
static void add_issue(ZkCall *call) {
    ZkStore *s = call->s;
    if (rt_ha_client_state(s->client) != RT_COORD_CONNECTED) {
        /* Never queue the multi on a suspended session: on reconnect the client would
         * send it before the election resets a revoked latch. Wait until the state
         * listener has seen the connection (rt_ha_client_when_connected). */
        s->retry_ticket = rt_ha_client_when_connected(s->client, add_retry_ready, call);
        if (s->retry_ticket == 0)
            add_finish(call, add_error(call, g_error_new(RT_HA_ERROR, RT_HA_ERROR_CONFIG,
                                                         "too many calls waiting")));
        return;
    }
    call->tries++;
    char *locks = g_strdup_printf("%s/locks", call->node);
    char *lock = g_strdup_printf("%s/%s", locks, s->lock_name);
    RtCoordOp ops[4];
    size_t n = 0;
    /* fence-writes: only while our latch node exists (planted bug: first try only). */
    if (s->fence != NULL && !(call->tries > 1 && rt_bug_on(s->base.env, RT_BUG_FENCE_FIRST_TRY_ONLY)))
        ops[n++] = rt_coord_op_check(s->fence, RT_COORD_ANY_VERSION);
    ops[n++] = rt_coord_op_create(call->node, call->state_path, strlen(call->state_path),
                                  RT_COORD_PERSISTENT);
    ops[n++] = rt_coord_op_create(locks, NULL, 0, RT_COORD_PERSISTENT);
    ops[n++] = rt_coord_op_create(lock, NULL, 0, RT_COORD_EPHEMERAL);
    GError *err = NULL;
    bool ok = rt_coord_multi(rt_ha_client_coord(s->client), ops, n, add_multi_done,
                             zk_call_ud(call), &err);
    g_free(locks);
    g_free(lock);
    if (ok)
        return;
    /* Failed at once (a dead session): nothing was sent; retry like a lost connection. */
    const RtHaConfig *cfg = rt_ha_client_config(s->client);
    if (rt_ha_error_retryable(err) && call->tries <= cfg->max_retries) {
        g_error_free(err);
        s->retry_timer = rt_env_timer_start(s->base.env, cfg->retry_wait_ns, add_retry_fire, call);
        return;
    }
    add_finish(call, add_error(call, err));
}

static void add_state_written(void *ud, GError *error, bool possibly_persisted) {
    (void)possibly_persisted; /* nothing points to it yet: not published either way */
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        add_finish(call, add_error(call, error));
        return;
    }
    add_issue(call);
}

static void add_meta_written(void *ud, GError *error, bool possibly_persisted) {
    (void)possibly_persisted;
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        add_finish(call, add_error(call, error));
        return;
    }
    GBytes *bytes = rt_ckpt_metadata_encode(call->cp);
    GError *err = NULL;
    bool ok = rt_atomic_write(call->s->base.env->storage, &call->s->ops, call->state_path, bytes,
                              add_state_written, ud, &err);
    g_bytes_unref(bytes);
    if (!ok)
        add_finish(call, add_error(call, err));
}

static bool zk_add(RtCkptStore *self, RtCompletedCheckpoint *cp, RtCkptStoreDoneFunc done,
                   void *user_data, GError **error) {
    ZkStore *s = (ZkStore *)self;
    if (s->busy) {
        rt_completed_checkpoint_free(cp);
        g_set_error(error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_BUSY, "store busy");
        return false;
    }
    ZkCall *call = zk_call_new(s);
    call->cp = cp;
    call->done = done;
    call->user_data = user_data;
    call->node = zk_store_node(s, cp->checkpoint_id);
    call->meta_path = rt_ckpt_metadata_path(s->ckpt_dir, s->base.job, cp->checkpoint_id);
    call->state_path = rt_ckpt_store_zk_state_path(s->client, s->base.job, cp->checkpoint_id);
    GBytes *bytes = rt_ckpt_metadata_encode(cp);
    /* The checkpoint's own _metadata first (finalizeCheckpoint), then the HA state file. */
    bool ok = rt_atomic_write(self->env->storage, &s->ops, call->meta_path, bytes, add_meta_written,
                              zk_call_ud(call), error);
    g_bytes_unref(bytes);
    if (!ok) {
        call_free(call);
        return false;
    }
    s->busy = true;
    s->adding = call;
    return true;
}

/* ------------------------------------------------------------------ misc ops */

static char *zk_location(RtCkptStore *self, uint64_t checkpoint_id) {
    ZkStore *s = (ZkStore *)self;
    return rt_ckpt_metadata_path(s->ckpt_dir, s->base.job, checkpoint_id);
}

static void zk_free(RtCkptStore *self) {
    ZkStore *s = (ZkStore *)self;
    rt_env_timer_cancel(self->env, s->retry_timer);
    rt_ha_client_cancel(s->client, s->retry_ticket);
    /* DefaultCompletedCheckpointStore.shutdown(non-terminal): releaseAll - our locks go,
     * the pointers stay for the next leader. Planted bugs: FLINK-10011 keeps the locks;
     * FLINK-25486 treats the suspension as terminal and clears everything. */
    RtCoord *coord = rt_ha_client_coord(s->client);
    bool clear = rt_bug_on(self->env, RT_BUG_FLINK_25486);
    for (guint i = 0; i < self->completed->len && !rt_bug_on(self->env, RT_BUG_FLINK_10011);
         i++) {
        const RtCompletedCheckpoint *cp = g_ptr_array_index(self->completed, i);
        char *node = zk_store_node(s, cp->checkpoint_id);
        char *locks = g_strdup_printf("%s/locks", node);
        char *lock = g_strdup_printf("%s/%s", locks, s->lock_name);
        /* Curator retries the release across a suspension: guaranteed. */
        rt_ha_client_delete_guaranteed(s->client, lock);
        if (clear) {
            char *state = rt_ckpt_store_zk_state_path(s->client, self->job, cp->checkpoint_id);
            rt_coord_delete(coord, locks, RT_COORD_ANY_VERSION, ignore_done, NULL, NULL);
            rt_coord_delete(coord, node, RT_COORD_ANY_VERSION, ignore_done, NULL, NULL);
            remove_file(s, state);
            g_free(state);
        }
        g_free(lock);
        g_free(locks);
        g_free(node);
    }
    /* releaseAll covers every node we may lock: also the one a publish in flight may
     * have created and those whose removal had not released our lock yet. */
    if (s->adding != NULL)
        g_ptr_array_add(s->removing, g_strdup(s->adding->node));
    for (guint i = 0; i < s->removing->len && !rt_bug_on(self->env, RT_BUG_FLINK_10011); i++) {
        char *lock = g_strdup_printf("%s/locks/%s", (char *)g_ptr_array_index(s->removing, i),
                                     s->lock_name);
        rt_ha_client_delete_guaranteed(s->client, lock);
        g_free(lock);
    }
    g_ptr_array_unref(s->removing);
    rt_pending_ops_clear(&s->ops); /* the add, removals and recovery in flight */
    rt_ckpt_store_base_deinit(self);
    g_free(s->ckpt_dir);
    g_free(s->zk_dir);
    g_free(s->fence);
    g_free(s->lock_name);
    g_free(s);
}

static const RtCkptStoreOps zk_store_ops = {
    .name = "zookeeper",
    .recover = zk_store_recover,
    .add = zk_add,
    .location = zk_location,
    .free = zk_free,
};

RtCkptStore *rt_ckpt_store_zk_new(RtHaClient *client, const char *ckpt_dir, const char *job,
                                  const char *fence, uint64_t leader_session_id,
                                  uint32_t num_retained, RtCkptDiscardFunc discard,
                                  void *discard_data) {
    assert(client != NULL && ckpt_dir != NULL && job != NULL);
    RtEnv *env = rt_ha_client_env(client);
    ZkStore *s = g_new0(ZkStore, 1);
    rt_ckpt_store_base_init(&s->base, &zk_store_ops, env, job, num_retained, discard, discard_data);
    s->client = client;
    s->ckpt_dir = g_strdup(ckpt_dir);
    char *jp = rt_ckpt_zk_job_path(client, job);
    s->zk_dir = g_strdup_printf("%s/checkpoints", jp);
    g_free(jp);
    /* Flink does not fence store writes; ckptsim's fence-writes option does. */
    s->fence = rt_ha_client_config(client)->fence_writes ? g_strdup(fence) : NULL;
    s->leader_session_id = leader_session_id;
    /* A distinct lock per store instance (Flink: a random UUID): one store per grant,
     * and grants have distinct leader session ids. */
    RtRng rng;
    char *stream =
        g_strdup_printf("ckpt-store-zk-%u-%016" PRIx64, env->process_id, leader_session_id);
    rt_env_rng(env, stream, &rng);
    g_free(stream);
    s->lock_name = g_strdup_printf("%u-%016" PRIx64, env->process_id, rt_rng_next(&rng));
    rt_pending_ops_init(&s->ops);
    s->removing = g_ptr_array_new_with_free_func(g_free);
    return &s->base;
}
