/* rt_ckpt_coordinator.c - checkpoint triggering, acknowledgement, completion, abort and
 * failure accounting (rt_ckpt_coordinator.h). */
#include "runtime/checkpoint/rt_ckpt_coordinator.h"

#include "runtime/env/rt_bugs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_pending_ops.h"
#include "runtime/env/rt_config_keys.h"

typedef enum { PC_PENDING, PC_FULLY_ACKED, PC_FINALIZING } PendingState;

typedef struct Pending {
    RtCkptCoordinator *coord;
    uint64_t id;
    uint64_t trigger_ns;
    uint64_t acked_ns;    /* when the last ack arrived */
    PendingState state;
    RtTimerId timeout;    /* 0 once cancelled / fired */
    GBytes **handles;     /* per task (index as coord->tasks); NULL = not acked */
    uint32_t n_handles;   /* coord->n_tasks when it was triggered */
    uint32_t n_acked;
} Pending;

struct RtCkptCoordinator {
    RtEnv *env;
    RtCkptCoordinatorConfig cfg;
    RtCkptStore *store;
    RtCkptIdCounter *counter;
    RtCkptCoordinatorHooks hooks;
    void *user_data;
    RtPendingOps ops;           /* id requests and publications in flight */
    RtRng rng;                  /* initial delay draws */
    bool running;
    uint64_t epoch;             /* bumped by every start and stop */
    uint32_t attempt;
    RtSubtaskId *tasks;         /* sorted by (op, index) */
    uint32_t n_tasks;
    GPtrArray *pending;         /* Pending*, ascending ids */
    RtTimerId periodic;         /* periodic trigger timer, 0 = none */
    uint64_t base_interval_ns;  /* max(interval, min pause) */
    uint32_t queued_manual;     /* queued non-periodic requests */
    uint32_t queued_periodic;   /* queued periodic requests */
    bool counter_busy;          /* an id request is in flight */
    bool store_busy;            /* a publish is in flight */
    uint64_t last_completion_ns;
    uint64_t last_completed_id;
    uint32_t failures;          /* continuous counted failures */
    GArray *counted_ids;        /* uint64_t: ids counted since the last reset */
};

/* ------------------------------------------------------------------ reasons */

const char *rt_ckpt_failure_reason_name(RtCkptFailureReason reason) {
    switch (reason) {
    case RT_CKPT_FAIL_EXPIRED: return "expired";
    case RT_CKPT_FAIL_DECLINED: return "declined";
    case RT_CKPT_FAIL_ASYNC: return "async_failure";
    case RT_CKPT_FAIL_SUBSUMED: return "subsumed";
    case RT_CKPT_FAIL_DECLINED_SUBSUMED: return "declined_subsumed";
    case RT_CKPT_FAIL_DECLINED_CANCEL: return "declined_on_cancellation_barrier";
    case RT_CKPT_FAIL_TASK_NOT_READY: return "declined_task_not_ready";
    case RT_CKPT_FAIL_FINALIZE: return "finalize_failure";
    case RT_CKPT_FAIL_SUSPENDED: return "coordinator_suspended";
    }
    return "unknown";
}

bool rt_ckpt_failure_reason_counts(RtCkptFailureReason reason) {
    return reason == RT_CKPT_FAIL_EXPIRED || reason == RT_CKPT_FAIL_DECLINED ||
           reason == RT_CKPT_FAIL_ASYNC;
}

RtCkptFailureReason rt_ckpt_failure_from_decline(RtDeclineReason reason) {
    switch (reason) {
    case RT_DECLINE_SUBSUMED: return RT_CKPT_FAIL_DECLINED_SUBSUMED;
    case RT_DECLINE_CANCEL_MARKER: return RT_CKPT_FAIL_DECLINED_CANCEL;
    case RT_DECLINE_NOT_READY: return RT_CKPT_FAIL_TASK_NOT_READY;
    case RT_DECLINE_ASYNC_FAILED: return RT_CKPT_FAIL_ASYNC;
    case RT_DECLINE_SYNC_FAILED: return RT_CKPT_FAIL_DECLINED;
    case RT_DECLINE_ABORTED: return RT_CKPT_FAIL_DECLINED_CANCEL;
    }
    return RT_CKPT_FAIL_DECLINED;
}

/* ------------------------------------------------------------------- config */

bool rt_ckpt_coordinator_config_read(const RtConfig *cfg, RtCkptCoordinatorConfig *out,
                                     GError **error) {
    memset(out, 0, sizeof *out);
    uint64_t max_conc = 0, tolerable = 0, aligned_timeout = 0;
    unsigned mode = 0; /* EXACTLY_ONCE|AT_LEAST_ONCE */
    bool unaligned = false;
    /* Bounds as Flink's CheckpointConfig / CheckpointCoordinatorConfiguration: interval 0
     * (off) or >= 10 ms, timeout >= 10 ms, 1..1000 concurrent (the registry's rows). The
     * aligned-checkpoint-timeout is read under its deprecated alignment-timeout name too,
     * as the task managers read it. */
    if (!rt_config_key_duration_ns(cfg, RT_KEY_CHECKPOINTING_INTERVAL, &out->interval_ns,
                                   error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_CHECKPOINTING_TIMEOUT, &out->timeout_ns,
                                   error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_CHECKPOINTING_MIN_PAUSE, &out->min_pause_ns,
                                   error) ||
        !rt_config_key_u64(cfg, RT_KEY_CHECKPOINTING_MAX_CONCURRENT, &max_conc, error) ||
        !rt_config_key_u64(cfg, RT_KEY_CHECKPOINTING_TOLERABLE_FAILED, &tolerable, error) ||
        !rt_config_key_choice(cfg, RT_KEY_CHECKPOINTING_MODE, &mode, error) ||
        !rt_config_key_bool(cfg, RT_KEY_UNALIGNED_ENABLED, &unaligned, error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_ALIGNED_CHECKPOINT_TIMEOUT, &aligned_timeout,
                                   error))
        return false;
    /* Flink's CheckpointCoordinatorConfiguration refuses the job: "maxConcurrentCheckpoints
     * can't be > 1 if UnalignedCheckpoints enabled" (checked before the mode, as there). */
    if (unaligned && max_conc > 1) {
        g_set_error(error, RT_CONFIG_ERROR, RT_CONFIG_ERROR_BAD_VALUE,
                    "execution.checkpointing.max-concurrent-checkpoints: can't be > 1 if "
                    "unaligned checkpoints are enabled (execution.checkpointing.unaligned"
                    ".enabled)");
        return false;
    }
    out->max_concurrent = (uint32_t)max_conc;
    out->tolerable_failures = (uint32_t)MIN(tolerable, (uint64_t)G_MAXINT32);
    if (mode == 1)
        out->barrier_kind = RT_BARRIER_AT_LEAST_ONCE;
    else if (unaligned && aligned_timeout == 0)
        out->barrier_kind = RT_BARRIER_UNALIGNED;
    else
        out->barrier_kind = RT_BARRIER_ALIGNED; /* timeoutable when unaligned is on */
    return true;
}

/* ---------------------------------------------------------------- helpers */

static int subtask_cmp(RtSubtaskId a, RtSubtaskId b) {
    if (a.op != b.op)
        return a.op < b.op ? -1 : 1;
    return a.index < b.index ? -1 : (a.index > b.index ? 1 : 0);
}

static gint subtask_qsort_cmp(gconstpointer a, gconstpointer b) {
    return subtask_cmp(*(const RtSubtaskId *)a, *(const RtSubtaskId *)b);
}

/* Index of subtask in coord->tasks, or -1. */
static int64_t task_index(const RtCkptCoordinator *coord, RtSubtaskId subtask) {
    uint32_t lo = 0, hi = coord->n_tasks;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = subtask_cmp(coord->tasks[mid], subtask);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static Pending *find_pending(const RtCkptCoordinator *coord, uint64_t id) {
    for (guint i = 0; i < coord->pending->len; i++) {
        Pending *p = g_ptr_array_index(coord->pending, i);
        if (p->id == id)
            return p;
    }
    return NULL;
}

static void observe(RtCkptCoordinator *coord, RtEventKind kind, uint64_t id,
                    RtSubtaskId subtask, uint32_t attempt, uint64_t a, const char *detail) {
    RtEvent ev = {.kind = kind, .checkpoint_id = id, .subtask = subtask, .attempt = attempt,
                  .a = a, .detail = detail};
    rt_env_observe(coord->env, &ev);
}

static void pending_free(Pending *p) {
    for (uint32_t i = 0; i < p->n_handles; i++) {
        if (p->handles[i] != NULL)
            g_bytes_unref(p->handles[i]);
    }
    g_free(p->handles);
    g_free(p);
}

static void maybe_idle(RtCkptCoordinator *coord) {
    if (!coord->running && rt_ckpt_coordinator_idle(coord) && coord->hooks.idle != NULL)
        coord->hooks.idle(coord->user_data);
}

static void execute_queued(RtCkptCoordinator *coord);
static void pump_completion(RtCkptCoordinator *coord);

static bool counted(const RtCkptCoordinator *coord, uint64_t id) {
    for (guint i = 0; i < coord->counted_ids->len; i++)
        if (g_array_index(coord->counted_ids, uint64_t, i) == id)
            return true;
    return false;
}

static void clear_count(RtCkptCoordinator *coord) {
    coord->failures = 0;
    g_array_set_size(coord->counted_ids, 0);
}

/* Counts a failure as Flink's CheckpointFailureManager (checkFailureAgainstCounter,
 * checkFailureCounter): only counted reasons, only above the last completed id, each id
 * once (its set countedCheckpointIds, so an older id failing after a newer one still
 * counts). Returns true when the tolerable number is exceeded (the count is reset). */
static bool count_failure(RtCkptCoordinator *coord, uint64_t id, RtCkptFailureReason reason) {
    if (!rt_ckpt_failure_reason_counts(reason) || id <= coord->last_completed_id ||
        counted(coord, id))
        return false;
    g_array_append_val(coord->counted_ids, id);
    coord->failures++;
    if (coord->failures <= coord->cfg.tolerable_failures)
        return false;
    clear_count(coord);
    return true;
}

/* Removes p from pending and aborts it. Calls fail_job last (it may stop us). */
static void abort_pending(RtCkptCoordinator *coord, Pending *p, RtCkptFailureReason reason,
                          bool discard_state, bool notify) {
    assert(p->state != PC_FINALIZING || reason == RT_CKPT_FAIL_FINALIZE);
    rt_env_timer_cancel(coord->env, p->timeout);
    p->timeout = 0;
    bool removed = g_ptr_array_remove(coord->pending, p);
    assert(removed);
    observe(coord, RT_EV_CKPT_ABORT, p->id, (RtSubtaskId){0, 0}, coord->attempt, reason,
            rt_ckpt_failure_reason_name(reason));
    assert(p->n_handles == coord->n_tasks || !discard_state);
    for (uint32_t i = 0; discard_state && i < p->n_handles; i++) {
        if (p->handles[i] != NULL && coord->hooks.discard != NULL)
            coord->hooks.discard(coord->user_data, coord->tasks[i], p->handles[i]);
    }
    uint64_t id = p->id;
    pending_free(p);
    if (notify && coord->running && coord->hooks.notify_abort != NULL)
        coord->hooks.notify_abort(coord->user_data, id);
    if (count_failure(coord, id, reason))
        coord->hooks.fail_job(coord->user_data,
                              "Exceeded checkpoint tolerable failure threshold.");
}

/* -------------------------------------------------------------- triggering */

static void periodic_fire(void *user_data);
static void timeout_fire(void *user_data);

static void schedule_periodic(RtCkptCoordinator *coord, uint64_t delay_ns) {
    rt_env_timer_cancel(coord->env, coord->periodic);
    coord->periodic = rt_env_timer_start(coord->env, delay_ns, periodic_fire, coord);
}

static void periodic_fire(void *user_data) {
    RtCkptCoordinator *coord = user_data;
    coord->periodic = 0;
    assert(coord->running);
    /* Fixed rate: the next tick is one interval after this one. */
    schedule_periodic(coord, coord->base_interval_ns);
    if (coord->queued_manual + coord->queued_periodic < RT_CKPT_MAX_QUEUED_REQUESTS)
        coord->queued_periodic++;
    execute_queued(coord);
}

/* An id request or a publication in flight, registered in coord->ops: the counter or
 * the store (owned by the job manager) may outlive the coordinator, or not. */
typedef struct IdRequest {
    RtPendingOp op; /* first */
    RtCkptCoordinator *coord;
    uint64_t epoch;
} IdRequest;

static void op_free(RtPendingOp *op) {
    g_free(op);
}

static void trigger_with_id(RtCkptCoordinator *coord, uint64_t id) {
    uint64_t now = rt_env_now_ns(coord->env);
    observe(coord, RT_EV_CKPT_ID_ISSUED, id, (RtSubtaskId){0, 0}, coord->attempt, 0, NULL);
    Pending *p = g_new0(Pending, 1);
    p->coord = coord;
    p->id = id;
    p->trigger_ns = now;
    p->state = PC_PENDING;
    p->handles = g_new0(GBytes *, MAX(coord->n_tasks, 1u));
    p->n_handles = coord->n_tasks;
    g_ptr_array_add(coord->pending, p);
    observe(coord, RT_EV_CKPT_TRIGGER, id, (RtSubtaskId){0, 0}, coord->attempt,
            coord->cfg.barrier_kind, NULL);
    p->timeout = rt_env_timer_start(coord->env, coord->cfg.timeout_ns, timeout_fire, p);
    coord->hooks.trigger(coord->user_data, id, now, coord->cfg.barrier_kind);
}

static void id_done(void *user_data, uint64_t checkpoint_id, GError *error) {
    IdRequest *req = (IdRequest *)rt_pending_op_take(user_data);
    if (req == NULL) { /* the coordinator was freed */
        g_clear_error(&error);
        return;
    }
    RtCkptCoordinator *coord = req->coord;
    bool current = req->epoch == coord->epoch && coord->running;
    g_free(req);
    coord->counter_busy = false;
    if (error != NULL) {
        /* Flink: TRIGGER_CHECKPOINT_FAILURE, not counted; the next tick retries. */
        observe(coord, RT_EV_CKPT_ABORT, 0, (RtSubtaskId){0, 0}, coord->attempt, 0,
                error->message);
        g_clear_error(&error);
    } else if (current) {
        trigger_with_id(coord, checkpoint_id);
    }
    if (coord->running)
        execute_queued(coord);
    else
        maybe_idle(coord);
}

static void start_trigger(RtCkptCoordinator *coord) {
    IdRequest *req = g_new0(IdRequest, 1);
    req->coord = coord;
    req->epoch = coord->epoch;
    GError *err = NULL;
    coord->counter_busy = true;
    void *token = rt_pending_op_register(&coord->ops, &req->op, op_free);
    if (!rt_ckpt_id_counter_get_and_increment(coord->counter, id_done, token, &err)) {
        coord->counter_busy = false;
        rt_pending_op_unregister(&req->op);
        g_free(req);
        observe(coord, RT_EV_CKPT_ABORT, 0, (RtSubtaskId){0, 0}, coord->attempt, 0,
                err->message);
        g_clear_error(&err);
    }
}

/* CheckpointRequestDecider.chooseRequestToExecute, then trigger. */
static void execute_queued(RtCkptCoordinator *coord) {
    if (!coord->running || coord->counter_busy)
        return;
    if (coord->queued_manual + coord->queued_periodic == 0)
        return;
    if (coord->pending->len >= coord->cfg.max_concurrent)
        return;
    if (coord->queued_manual > 0) {
        coord->queued_manual--;
    } else {
        uint64_t now = rt_env_now_ns(coord->env);
        uint64_t ready = coord->last_completion_ns + coord->cfg.min_pause_ns;
        if (ready > now) {
            /* MINIMUM_TIME_BETWEEN_CHECKPOINTS: drop it, retick when allowed. */
            coord->queued_periodic--;
            schedule_periodic(coord, ready - now);
            return;
        }
        coord->queued_periodic--;
    }
    start_trigger(coord);
}

/* CheckpointCanceller: the checkpoint expired. */
static void timeout_fire(void *user_data) {
    Pending *p = user_data;
    RtCkptCoordinator *coord = p->coord;
    p->timeout = 0;
    assert(p->state == PC_PENDING);
    abort_pending(coord, p, RT_CKPT_FAIL_EXPIRED, true, true);
    execute_queued(coord);
}

/* ---------------------------------------------------------------- completion */

typedef struct Publish {
    RtPendingOp op; /* first: registered in coord->ops */
    RtCkptCoordinator *coord;
    uint64_t id;
    uint64_t epoch;
} Publish;

/* Flink's cleanupAfterCompletedCheckpoint: subsume older pending checkpoints. */
static void drop_subsumed(RtCkptCoordinator *coord, uint64_t id) {
    for (guint guard = 0; guard <= RT_CKPT_MAX_QUEUED_REQUESTS; guard++) {
        Pending *older = NULL;
        for (guint i = 0; i < coord->pending->len && older == NULL; i++) {
            Pending *q = g_ptr_array_index(coord->pending, i);
            if (q->id < id && q->state != PC_FINALIZING)
                older = q;
        }
        if (older == NULL)
            return;
        abort_pending(coord, older, RT_CKPT_FAIL_SUBSUMED, true, false);
    }
}

static void complete(RtCkptCoordinator *coord, Pending *p, bool current) {
    uint64_t now = rt_env_now_ns(coord->env);
    uint64_t id = p->id;
    char *where = rt_ckpt_store_location(coord->store, id);
    observe(coord, RT_EV_CKPT_COMPLETE, id, (RtSubtaskId){0, 0}, coord->attempt,
            now - p->trigger_ns, where);
    g_free(where);
    g_ptr_array_remove(coord->pending, p);
    pending_free(p);
    /* CheckpointFailureManager.handleCheckpointSuccess: only a newer success resets. */
    if (id > coord->last_completed_id)
        clear_count(coord);
    coord->last_completed_id = MAX(coord->last_completed_id, id);
    coord->last_completion_ns = now;
    drop_subsumed(coord, id);
    if (current && coord->hooks.notify_complete != NULL)
        coord->hooks.notify_complete(coord->user_data, id);
}

static void publish_done(void *user_data, GError *error) {
    Publish *pub = (Publish *)rt_pending_op_take(user_data);
    if (pub == NULL) { /* the coordinator was freed */
        g_clear_error(&error);
        return;
    }
    RtCkptCoordinator *coord = pub->coord;
    uint64_t id = pub->id;
    bool current = pub->epoch == coord->epoch && coord->running;
    g_free(pub);
    coord->store_busy = false;
    Pending *p = find_pending(coord, id);
    assert(p != NULL && p->state == PC_FINALIZING);
    if (error == NULL) {
        complete(coord, p, current);
    } else {
        /* Possibly persisted: the state must be kept (it may be restored from). */
        bool discard = !g_error_matches(error, RT_CKPT_STORE_ERROR,
                                        RT_CKPT_STORE_ERROR_POSSIBLY_PERSISTED);
        g_clear_error(&error);
        abort_pending(coord, p, RT_CKPT_FAIL_FINALIZE, discard, current);
    }
    pump_completion(coord);
    if (coord->running)
        execute_queued(coord);
    else
        maybe_idle(coord);
}

static RtCompletedCheckpoint *build_completed(RtCkptCoordinator *coord, const Pending *p) {
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new(
        rt_ckpt_store_job(coord->store), p->id, p->trigger_ns, p->acked_ns, coord->attempt);
    for (uint32_t i = 0; i < coord->n_tasks; i++)
        rt_completed_checkpoint_add(cp, coord->tasks[i], coord->attempt, p->handles[i]);
    return cp;
}

/* Publishes the lowest fully acknowledged checkpoint, one at a time, in id order. */
static void pump_completion(RtCkptCoordinator *coord) {
    if (coord->store_busy)
        return;
    Pending *p = NULL;
    for (guint i = 0; i < coord->pending->len && p == NULL; i++) {
        Pending *q = g_ptr_array_index(coord->pending, i);
        if (q->state == PC_FULLY_ACKED)
            p = q;
    }
    if (p == NULL)
        return;
    const RtCompletedCheckpoint *latest = rt_ckpt_store_latest(coord->store);
    if (latest != NULL && latest->checkpoint_id >= p->id) {
        abort_pending(coord, p, RT_CKPT_FAIL_SUBSUMED, true, false);
        pump_completion(coord);
        return;
    }
    p->state = PC_FINALIZING;
    Publish *pub = g_new0(Publish, 1);
    pub->coord = coord;
    pub->id = p->id;
    pub->epoch = coord->epoch;
    GError *err = NULL;
    coord->store_busy = true;
    /* planted: "every subtask acked, so the checkpoint is complete" - but it is complete
     * only once published (CheckpointCoordinator#completePendingCheckpoint notifies after
     * completedCheckpointStore.addCheckpointAndSubsumeOldestOne) */
    if (rt_bug_on(coord->env, RT_BUG_NOTIFY_BEFORE_PUBLISH) && coord->running &&
        coord->hooks.notify_complete != NULL)
        coord->hooks.notify_complete(coord->user_data, p->id);
    void *token = rt_pending_op_register(&coord->ops, &pub->op, op_free);
    if (!rt_ckpt_store_add(coord->store, build_completed(coord, p), publish_done, token,
                           &err)) {
        coord->store_busy = false;
        rt_pending_op_unregister(&pub->op);
        g_free(pub);
        g_clear_error(&err);
        abort_pending(coord, p, RT_CKPT_FAIL_FINALIZE, true, coord->running);
    }
}

/* ---------------------------------------------------------------- ack/decline */

void rt_ckpt_coordinator_ack(RtCkptCoordinator *coord, uint64_t checkpoint_id,
                             RtSubtaskId subtask, uint32_t attempt, GBytes *handle) {
    assert(coord != NULL && handle != NULL);
    int64_t t = task_index(coord, subtask);
    if (t < 0)
        return; /* not a task of this job: ignore */
    if (attempt != coord->attempt || !coord->running) {
        /* An older execution attempt's state: discarded, as Flink's UNKNOWN (never
         * state a completed checkpoint may hold). */
        if (attempt != coord->attempt && checkpoint_id > coord->last_completed_id &&
            coord->hooks.discard != NULL)
            coord->hooks.discard(coord->user_data, subtask, handle);
        return;
    }
    Pending *p = find_pending(coord, checkpoint_id);
    if (p == NULL || p->state != PC_PENDING || p->handles[t] != NULL)
        return; /* late, unknown or duplicate: ignored (its state may be shared) */
    p->handles[t] = g_bytes_ref(handle);
    p->n_acked++;
    observe(coord, RT_EV_CKPT_ACK, checkpoint_id, subtask, attempt, p->n_acked, NULL);
    if (p->n_acked < coord->n_tasks)
        return;
    rt_env_timer_cancel(coord->env, p->timeout);
    p->timeout = 0;
    p->acked_ns = rt_env_now_ns(coord->env);
    p->state = PC_FULLY_ACKED;
    pump_completion(coord);
}

void rt_ckpt_coordinator_decline(RtCkptCoordinator *coord, uint64_t checkpoint_id,
                                 RtSubtaskId subtask, uint32_t attempt,
                                 RtDeclineReason reason, const char *text) {
    assert(coord != NULL);
    if (attempt != coord->attempt || !coord->running || task_index(coord, subtask) < 0)
        return;
    Pending *p = find_pending(coord, checkpoint_id);
    if (p == NULL || p->state != PC_PENDING)
        return;
    observe(coord, RT_EV_CKPT_DECLINE, checkpoint_id, subtask, attempt, reason,
            text != NULL ? text : rt_decline_reason_name(reason));
    abort_pending(coord, p, rt_ckpt_failure_from_decline(reason), true, true);
    execute_queued(coord);
}

/* ------------------------------------------------------------------ lifecycle */

RtCkptCoordinator *rt_ckpt_coordinator_new(RtEnv *env, const RtCkptCoordinatorConfig *config,
                                           RtCkptStore *store, RtCkptIdCounter *counter,
                                           const RtCkptCoordinatorHooks *hooks,
                                           void *user_data) {
    assert(env != NULL && config != NULL && store != NULL && counter != NULL);
    assert(hooks != NULL && hooks->trigger != NULL && hooks->fail_job != NULL);
    assert(config->max_concurrent >= 1 && config->timeout_ns > 0);
    RtCkptCoordinator *coord = g_new0(RtCkptCoordinator, 1);
    coord->env = env;
    coord->cfg = *config;
    coord->store = store;
    coord->counter = counter;
    coord->hooks = *hooks;
    coord->user_data = user_data;
    rt_pending_ops_init(&coord->ops);
    rt_env_rng(env, "ckpt-coordinator", &coord->rng);
    coord->pending = g_ptr_array_new();
    coord->counted_ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    coord->base_interval_ns = MAX(config->interval_ns, config->min_pause_ns);
    coord->last_completion_ns = rt_env_now_ns(env);
    const RtCompletedCheckpoint *latest = rt_ckpt_store_latest(store);
    coord->last_completed_id = latest != NULL ? latest->checkpoint_id : 0;
    return coord;
}

void rt_ckpt_coordinator_start(RtCkptCoordinator *coord, uint32_t attempt,
                               const RtSubtaskId *tasks, uint32_t n) {
    assert(coord != NULL && !coord->running && n >= 1 && n <= RT_CKPT_MAX_TASKS);
    assert(coord->pending->len == 0 || coord->store_busy);
    g_free(coord->tasks);
    coord->tasks = g_memdup2(tasks, sizeof(RtSubtaskId) * n);
    coord->n_tasks = n;
    qsort(coord->tasks, n, sizeof(RtSubtaskId), subtask_qsort_cmp);
    for (uint32_t i = 1; i < n; i++)
        assert(subtask_cmp(coord->tasks[i - 1], coord->tasks[i]) < 0);
    coord->attempt = attempt;
    coord->running = true;
    coord->epoch++;
    const RtCompletedCheckpoint *latest = rt_ckpt_store_latest(coord->store);
    if (latest != NULL && latest->checkpoint_id > coord->last_completed_id)
        coord->last_completed_id = latest->checkpoint_id;
    if (coord->cfg.interval_ns > 0) {
        /* Flink: initial delay uniform in [minPause, baseInterval]. */
        uint64_t delay = rt_rng_range(&coord->rng, coord->cfg.min_pause_ns,
                                      coord->base_interval_ns);
        schedule_periodic(coord, delay);
    }
}

void rt_ckpt_coordinator_stop(RtCkptCoordinator *coord, RtCkptFailureReason reason) {
    assert(coord != NULL);
    assert(!rt_ckpt_failure_reason_counts(reason));
    if (!coord->running)
        return;
    coord->running = false;
    coord->epoch++;
    rt_env_timer_cancel(coord->env, coord->periodic);
    coord->periodic = 0;
    coord->queued_manual = 0;
    coord->queued_periodic = 0;
    for (guint guard = 0; guard <= RT_CKPT_MAX_QUEUED_REQUESTS; guard++) {
        Pending *victim = NULL;
        for (guint i = 0; i < coord->pending->len && victim == NULL; i++) {
            Pending *q = g_ptr_array_index(coord->pending, i);
            if (q->state != PC_FINALIZING)
                victim = q;
        }
        if (victim == NULL)
            break;
        abort_pending(coord, victim, reason, true, false);
    }
    maybe_idle(coord);
}

void rt_ckpt_coordinator_free(RtCkptCoordinator *coord) {
    if (coord == NULL)
        return;
    rt_pending_ops_clear(&coord->ops);
    rt_env_timer_cancel(coord->env, coord->periodic);
    for (guint i = 0; i < coord->pending->len; i++) {
        Pending *p = g_ptr_array_index(coord->pending, i);
        rt_env_timer_cancel(coord->env, p->timeout);
        pending_free(p);
    }
    g_ptr_array_unref(coord->pending);
    g_array_unref(coord->counted_ids);
    g_free(coord->tasks);
    g_free(coord);
}

bool rt_ckpt_coordinator_running(const RtCkptCoordinator *coord) {
    return coord->running;
}

bool rt_ckpt_coordinator_idle(const RtCkptCoordinator *coord) {
    return !coord->counter_busy && !coord->store_busy;
}

bool rt_ckpt_coordinator_request(RtCkptCoordinator *coord) {
    assert(coord != NULL);
    if (!coord->running ||
        coord->queued_manual + coord->queued_periodic >= RT_CKPT_MAX_QUEUED_REQUESTS)
        return false;
    coord->queued_manual++;
    execute_queued(coord);
    return true;
}

uint32_t rt_ckpt_coordinator_pending_count(const RtCkptCoordinator *coord) {
    return coord->pending->len;
}

uint32_t rt_ckpt_coordinator_queued_count(const RtCkptCoordinator *coord) {
    return coord->queued_manual + coord->queued_periodic;
}

uint32_t rt_ckpt_coordinator_failure_count(const RtCkptCoordinator *coord) {
    return coord->failures;
}

uint64_t rt_ckpt_coordinator_last_completed_id(const RtCkptCoordinator *coord) {
    return coord->last_completed_id;
}

uint32_t rt_ckpt_coordinator_pending_ids(const RtCkptCoordinator *coord, uint64_t *out,
                                         uint32_t max) {
    uint32_t n = 0;
    for (guint i = 0; i < coord->pending->len && n < max; i++)
        out[n++] = ((Pending *)g_ptr_array_index(coord->pending, i))->id;
    return n;
}
