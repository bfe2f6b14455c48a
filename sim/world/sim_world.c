/* sim_world.c - processes, their envs and their timers on the kernel, plus the glue
 * that ties the network, the storage and the coordination hooks to process lifecycle
 * (see sim_world.h).
 *
 * Timers are kernel events whose context is a SimTimer record (from a freelist); a
 * process keeps its pending timers in a hash table by id, used only for cancel and to
 * cancel them all on a crash (never iterated for anything observable).
 */
#include "sim/world/sim_world.h"

#include <assert.h>
#include <string.h>

#define SIM_WORLD_STACK_MAX 32u        /* nesting of callbacks into process code */
#define SIM_WORLD_TIMER_FREELIST 4096u /* freelist bound */
#define SIM_WORLD_ENV_MAGIC UINT64_C(0x53696d576f726c64)

G_DEFINE_QUARK(sim-world-error-quark, sim_world_error)

typedef struct SimProcess SimProcess;

typedef struct SimProcessClock {
    RtClock base; /* first */
    SimProcess *proc;
} SimProcessClock;

typedef struct SimTimer {
    struct SimTimer *next_free;
    SimProcess *proc;
    RtTimerId id;         /* the hash table key points here */
    uint32_t incarnation; /* of the process that started it */
    SimEventId ev;
    RtTimerFunc fn;
    void *ud;
} SimTimer;

struct SimProcess {
    uint64_t magic; /* SIM_WORLD_ENV_MAGIC: env->world points here */
    SimWorld *w;
    RtProcessId pid;
    char *name;
    const SimProcessClass *cls;
    void *arg;
    void *instance;       /* NULL while dead */
    bool alive;
    uint32_t incarnation; /* 1 at spawn, +1 per crash */
    RtEnv env;
    SimProcessClock clock;
    GHashTable *timers; /* &timer->id -> SimTimer*, pending timers */
    uint64_t paused_until_ns; /* 0 while it runs; else when its pause ends */
};

typedef struct SimObserverProxy {
    RtObserver base; /* first */
    SimWorld *w;
} SimObserverProxy;

struct SimWorld {
    SimWorldConfig cfg;
    SimKernel *k;
    SimNet *net;
    SimStorage *storage;
    SimHost host;             /* given to net and storage: brackets their callbacks */
    SimObserverProxy proxy;   /* every env's observer: folds, then forwards */
    RtObserver *observer;     /* the harness's, may be NULL */
    SimWorldCoordHooks coord; /* zeroed when none */
    SimProcess *procs[SIM_WORLD_MAX_PROCESSES];
    uint32_t nprocs;
    RtProcessId stack[SIM_WORLD_STACK_MAX]; /* whose callbacks are running */
    uint32_t depth;
    RtTimerId next_timer_id;
    SimTimer *free_timers;
    uint32_t free_timer_count;
};

static const RtClockOps sim_clock_ops;

void sim_world_config_init(SimWorldConfig *cfg, uint64_t seed) {
    assert(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = seed;
    sim_net_config_init(&cfg->net);
    sim_storage_config_init(&cfg->storage);
}

/* ------------------------------------------------------------ observation */

static void sim_world_observe(RtObserver *self, const RtEvent *ev) {
    SimWorld *w = ((SimObserverProxy *)self)->w;
    uint64_t h = rt_mix64((uint64_t)ev->kind << 32 | ev->process);
    h = rt_mix64(h ^ ((uint64_t)ev->subtask.op << 16 | ev->subtask.index) ^
                 ((uint64_t)ev->attempt << 32));
    h = rt_mix64(h ^ ev->checkpoint_id) ^ rt_mix64(h + ev->key);
    h = rt_mix64(h ^ ev->a) ^ rt_mix64(h + ev->b) ^ rt_mix64(h - ev->c);
    if (ev->detail != NULL)
        h ^= rt_hash_str(ev->detail);
    sim_kernel_trace_mix(w->k, SIM_TRACE_OBSERVE, h);
    if (w->observer != NULL)
        w->observer->ops->event(w->observer, ev);
}

static const RtObserverOps sim_observer_proxy_ops = {.event = sim_world_observe};

static void sim_world_emit(SimWorld *w, RtEventKind kind, RtProcessId pid, uint64_t a,
                           const char *detail) {
    RtEvent ev = {.kind = kind, .process = pid, .time_ns = sim_kernel_now_ns(w->k), .a = a,
                  .detail = detail};
    sim_world_observe(&w->proxy.base, &ev);
}

void sim_world_report_fault(SimWorld *w, SimProcessId pid, const char *detail) {
    assert(w != NULL && detail != NULL);
    sim_kernel_trace_mix(w->k, SIM_TRACE_FAULT, rt_hash_str(detail) ^ pid);
    sim_world_emit(w, RT_EV_WORLD_FAULT, pid, 0, detail);
}

/* ------------------------------------------------------------ callback brackets */

void sim_world_enter(SimWorld *w, SimProcessId pid) {
    assert(w != NULL && w->depth < SIM_WORLD_STACK_MAX);
    w->stack[w->depth++] = pid;
}

void sim_world_leave(SimWorld *w, SimProcessId pid) {
    assert(w != NULL && w->depth > 0 && w->stack[w->depth - 1] == pid);
    w->depth--;
}

SimProcessId sim_world_current_process(const SimWorld *w) {
    return w->depth > 0 ? w->stack[w->depth - 1] : SIM_WORLD_NO_PROCESS;
}

static bool sim_world_on_stack(const SimWorld *w, SimProcessId pid) {
    for (uint32_t i = 0; i < w->depth; i++)
        if (w->stack[i] == pid)
            return true;
    return false;
}

static void sim_host_enter_cb(void *ud, RtProcessId pid) {
    sim_world_enter(ud, pid);
}

static void sim_host_leave_cb(void *ud, RtProcessId pid) {
    sim_world_leave(ud, pid);
}

static uint64_t sim_host_held_until_cb(void *ud, RtProcessId pid) {
    return sim_world_paused_until(ud, pid);
}

/* ------------------------------------------------------------ timers */

static SimTimer *sim_timer_alloc(SimWorld *w) {
    SimTimer *t = w->free_timers;
    if (t != NULL) {
        w->free_timers = t->next_free;
        w->free_timer_count--;
        memset(t, 0, sizeof *t);
        return t;
    }
    return g_new0(SimTimer, 1);
}

static void sim_timer_release(SimWorld *w, SimTimer *t) {
    if (w->free_timer_count >= SIM_WORLD_TIMER_FREELIST) {
        g_free(t);
        return;
    }
    t->next_free = w->free_timers;
    w->free_timers = t;
    w->free_timer_count++;
}

static void sim_timer_fire(SimKernel *k, void *ctx, uint64_t payload) {
    (void)payload;
    SimTimer *t = ctx;
    SimProcess *p = t->proc;
    SimWorld *w = p->w;
    if (p->paused_until_ns != 0) { /* it fires late, at the resume */
        t->ev = sim_kernel_schedule_at(k, p->paused_until_ns, sim_timer_fire, t, 0);
        return;
    }
    bool removed = g_hash_table_remove(p->timers, &t->id);
    assert(removed);
    RtTimerFunc fn = t->fn;
    void *ud = t->ud;
    bool current = p->alive && t->incarnation == p->incarnation;
    sim_timer_release(w, t);
    if (!current) /* unreachable: a crash cancels its timers; kept as a second guard */
        return;
    sim_kernel_trace_mix(w->k, SIM_TRACE_TIMER, p->pid);
    sim_world_enter(w, p->pid);
    fn(ud);
    sim_world_leave(w, p->pid);
}

static uint64_t sim_clock_now(RtClock *self) {
    return sim_kernel_now_ns(((SimProcessClock *)self)->proc->w->k);
}

static RtTimerId sim_clock_timer_start(RtClock *self, uint64_t delay_ns, RtTimerFunc fn,
                                       void *user_data) {
    SimProcess *p = ((SimProcessClock *)self)->proc;
    SimWorld *w = p->w;
    SimTimer *t = sim_timer_alloc(w);
    t->proc = p;
    t->id = ++w->next_timer_id;
    t->incarnation = p->incarnation;
    t->fn = fn;
    t->ud = user_data;
    t->ev = sim_kernel_schedule_in(w->k, delay_ns, sim_timer_fire, t, 0);
    g_hash_table_insert(p->timers, &t->id, t);
    return t->id;
}

static bool sim_clock_timer_cancel(RtClock *self, RtTimerId id) {
    SimProcess *p = ((SimProcessClock *)self)->proc;
    SimTimer *t = g_hash_table_lookup(p->timers, &id);
    if (t == NULL)
        return false;
    bool cancelled = sim_kernel_cancel(p->w->k, t->ev);
    assert(cancelled);
    g_hash_table_remove(p->timers, &id);
    sim_timer_release(p->w, t);
    return true;
}

static const RtClockOps sim_clock_ops = {
    .name = "sim",
    .now_ns = sim_clock_now,
    .timer_start = sim_clock_timer_start,
    .timer_cancel = sim_clock_timer_cancel,
};

/* Cancels every pending timer of p (order is unobservable: cancelled events leave no
 * trace in the kernel's hash or sequence). */
static void sim_process_cancel_timers(SimProcess *p) {
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, p->timers);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimTimer *t = value;
        sim_kernel_cancel(p->w->k, t->ev);
        g_hash_table_iter_remove(&it);
        sim_timer_release(p->w, t);
    }
}

/* ------------------------------------------------------------ processes */

static RtCoord *sim_world_coord_open(RtEnv *env, const RtCoordConfig *cfg, GError **error) {
    SimWorld *w = sim_world_from_env(env);
    if (w->coord.open == NULL) {
        g_set_error(error, SIM_WORLD_ERROR, SIM_WORLD_ERROR_NO_COORD,
                    "process %u: this simulated world has no ZooKeeper model "
                    "(sim_world_set_coord_hooks was not called)",
                    env->process_id);
        return NULL;
    }
    return w->coord.open(w->coord.ud, env, cfg, error);
}

SimWorld *sim_world_from_env(const RtEnv *env) {
    assert(env != NULL && env->world != NULL);
    const SimProcess *p = env->world;
    assert(p->magic == SIM_WORLD_ENV_MAGIC && &p->env == env);
    return p->w;
}

static SimProcess *sim_world_proc(const SimWorld *w, SimProcessId pid) {
    assert(w != NULL && pid < w->nprocs);
    return w->procs[pid];
}

/* Forgets everything a dead incarnation left in the world. */
static void sim_process_reap(SimProcess *p) {
    SimWorld *w = p->w;
    p->alive = false;
    p->incarnation++;
    p->paused_until_ns = 0; /* kill -9 of a stopped process works */
    sim_process_cancel_timers(p);
    sim_net_process_down(w->net, p->pid);
    sim_storage_process_crashed(w->storage, p->pid);
    if (w->coord.process_crashed != NULL)
        w->coord.process_crashed(w->coord.ud, p->pid);
    sim_kernel_trace_mix(w->k, SIM_TRACE_CRASH, (uint64_t)p->pid << 32 | p->incarnation);
}

/* Runs start() for the current incarnation; a NULL instance is an immediate death. */
static void sim_process_start(SimProcess *p) {
    SimWorld *w = p->w;
    p->alive = true;
    sim_net_process_up(w->net, p->pid);
    sim_world_enter(w, p->pid);
    void *instance = p->cls->start(&p->env, p->arg);
    sim_world_leave(w, p->pid);
    if (!p->alive) /* crashed from inside start(): already reaped */
        return;
    p->instance = instance;
    if (instance == NULL) {
        sim_process_reap(p);
        sim_world_emit(w, RT_EV_WORLD_CRASH, p->pid, p->incarnation, "start failed");
    }
}

SimProcessId sim_world_spawn(SimWorld *w, const char *name, const SimProcessClass *cls,
                             void *arg) {
    assert(w != NULL && name != NULL && cls != NULL && cls->start != NULL && cls->stop != NULL);
    assert(w->nprocs < SIM_WORLD_MAX_PROCESSES);
    SimProcess *p = g_new0(SimProcess, 1);
    p->magic = SIM_WORLD_ENV_MAGIC;
    p->w = w;
    p->pid = w->nprocs;
    p->name = g_strdup(name);
    p->cls = cls;
    p->arg = arg;
    p->incarnation = 1;
    p->clock.base.ops = &sim_clock_ops;
    p->clock.proc = p;
    p->timers = g_hash_table_new(g_int64_hash, g_int64_equal);
    p->env.process_id = p->pid;
    p->env.clock = &p->clock.base;
    p->env.transport = sim_net_transport(w->net, p->pid);
    p->env.storage = sim_storage_client(w->storage, p->pid);
    p->env.coord_open = sim_world_coord_open;
    p->env.observer = &w->proxy.base;
    p->env.seed = w->cfg.seed;
    p->env.bugs = w->cfg.bugs;
    p->env.world = p;
    w->procs[w->nprocs++] = p;
    sim_process_start(p);
    return p->pid;
}

static void sim_world_deferred_crash(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimWorld *w = ctx;
    SimProcessId pid = (SimProcessId)(payload & 0xffffffffu);
    SimProcess *p = sim_world_proc(w, pid);
    if (p->alive && p->incarnation == (uint32_t)(payload >> 32))
        sim_world_crash(w, pid);
}

bool sim_world_crash(SimWorld *w, SimProcessId pid) {
    SimProcess *p = sim_world_proc(w, pid);
    if (!p->alive)
        return false;
    if (sim_world_on_stack(w, pid)) { /* its code is running: crash right after it */
        sim_kernel_schedule_in(w->k, 0, sim_world_deferred_crash, w,
                               (uint64_t)p->incarnation << 32 | pid);
        return true;
    }
    void *instance = p->instance;
    p->instance = NULL;
    sim_world_enter(w, pid);
    p->cls->stop(instance);
    sim_world_leave(w, pid);
    sim_process_reap(p);
    sim_world_emit(w, RT_EV_WORLD_CRASH, pid, p->incarnation, NULL);
    return true;
}

bool sim_world_restart(SimWorld *w, SimProcessId pid) {
    SimProcess *p = sim_world_proc(w, pid);
    if (p->alive)
        return false;
    sim_kernel_trace_mix(w->k, SIM_TRACE_RESTART, (uint64_t)pid << 32 | p->incarnation);
    if (w->coord.process_restarted != NULL)
        w->coord.process_restarted(w->coord.ud, pid);
    sim_world_emit(w, RT_EV_WORLD_RESTART, pid, p->incarnation, NULL);
    sim_process_start(p);
    return true;
}

/* ------------------------------------------------------------ pauses */

uint64_t sim_world_paused_until(const SimWorld *w, SimProcessId pid) {
    return sim_world_proc(w, pid)->paused_until_ns;
}

static void sim_world_resume_fire(SimKernel *k, void *ctx, uint64_t payload) {
    SimWorld *w = ctx;
    SimProcess *p = sim_world_proc(w, (SimProcessId)(payload & 0xffffffffu));
    if (p->paused_until_ns == 0 || p->incarnation != (uint32_t)(payload >> 32) ||
        sim_kernel_now_ns(k) < p->paused_until_ns)
        return; /* crashed meanwhile, or the pause was extended */
    p->paused_until_ns = 0;
    sim_kernel_trace_mix(k, SIM_TRACE_RESUME, p->pid);
    if (w->coord.process_resumed != NULL)
        w->coord.process_resumed(w->coord.ud, p->pid);
}

bool sim_world_pause(SimWorld *w, SimProcessId pid, uint64_t duration_ns) {
    SimProcess *p = sim_world_proc(w, pid);
    if (!p->alive || duration_ns == 0)
        return false;
    uint64_t until = sim_kernel_now_ns(w->k) + duration_ns;
    if (until <= p->paused_until_ns)
        return true;
    p->paused_until_ns = until;
    sim_kernel_trace_mix(w->k, SIM_TRACE_PAUSE, (uint64_t)pid << 32 | (until & 0xffffffffu));
    /* Scheduled now, before anything it holds: at the resume the world (and the
     * ZooKeeper client's look at its clock) runs first, then the held events. */
    sim_kernel_schedule_at(w->k, until, sim_world_resume_fire, w,
                           (uint64_t)p->incarnation << 32 | pid);
    if (w->coord.process_paused != NULL)
        w->coord.process_paused(w->coord.ud, pid, until);
    return true;
}

static void sim_world_crash_fire(SimKernel *k, void *ctx, uint64_t pid) {
    (void)k;
    sim_world_crash(ctx, (SimProcessId)pid);
}

static void sim_world_restart_fire(SimKernel *k, void *ctx, uint64_t pid) {
    (void)k;
    sim_world_restart(ctx, (SimProcessId)pid);
}

void sim_world_crash_at(SimWorld *w, SimProcessId pid, uint64_t time_ns) {
    (void)sim_world_proc(w, pid);
    sim_kernel_schedule_at(w->k, time_ns, sim_world_crash_fire, w, pid);
}

void sim_world_restart_at(SimWorld *w, SimProcessId pid, uint64_t time_ns) {
    (void)sim_world_proc(w, pid);
    sim_kernel_schedule_at(w->k, time_ns, sim_world_restart_fire, w, pid);
}

/* ------------------------------------------------------------ the world */

SimWorld *sim_world_new(const SimWorldConfig *cfg) {
    assert(cfg != NULL);
    SimWorld *w = g_new0(SimWorld, 1);
    w->cfg = *cfg;
    w->k = sim_kernel_new();
    w->host.enter = sim_host_enter_cb;
    w->host.leave = sim_host_leave_cb;
    w->host.held_until = sim_host_held_until_cb;
    w->host.ud = w;
    w->proxy.base.ops = &sim_observer_proxy_ops;
    w->proxy.w = w;
    w->net = sim_net_new(w->k, cfg->seed, cfg->bugs, &cfg->net, &w->host, &w->proxy.base);
    w->storage = sim_storage_new(w->k, cfg->seed, &cfg->storage, &w->host, &w->proxy.base);
    return w;
}

void sim_world_free(SimWorld *w) {
    if (w == NULL)
        return;
    for (uint32_t i = 0; i < w->nprocs; i++) {
        SimProcess *p = w->procs[i];
        if (p->alive) {
            sim_world_enter(w, p->pid);
            p->cls->stop(p->instance);
            sim_world_leave(w, p->pid);
            p->instance = NULL;
            p->alive = false;
        }
        sim_process_cancel_timers(p);
    }
    sim_net_free(w->net);
    sim_storage_free(w->storage);
    for (uint32_t i = 0; i < w->nprocs; i++) {
        g_hash_table_destroy(w->procs[i]->timers);
        g_free(w->procs[i]->name);
        g_free(w->procs[i]);
    }
    while (w->free_timers != NULL) {
        SimTimer *t = w->free_timers;
        w->free_timers = t->next_free;
        g_free(t);
    }
    sim_kernel_free(w->k);
    g_free(w);
}

SimKernel *sim_world_kernel(SimWorld *w) {
    return w->k;
}

SimNet *sim_world_net(SimWorld *w) {
    return w->net;
}

SimStorage *sim_world_storage(SimWorld *w) {
    return w->storage;
}

uint64_t sim_world_now_ns(const SimWorld *w) {
    return sim_kernel_now_ns(w->k);
}

uint64_t sim_world_seed(const SimWorld *w) {
    return w->cfg.seed;
}

uint64_t sim_world_bugs(const SimWorld *w) {
    return w->cfg.bugs;
}

uint64_t sim_world_trace_hash(const SimWorld *w) {
    return sim_kernel_trace_hash(w->k);
}

void sim_world_set_observer(SimWorld *w, RtObserver *observer) {
    assert(w != NULL);
    w->observer = observer;
}

void sim_world_set_coord_hooks(SimWorld *w, const SimWorldCoordHooks *hooks) {
    assert(w != NULL);
    if (hooks != NULL)
        w->coord = *hooks;
    else
        memset(&w->coord, 0, sizeof w->coord);
}

uint32_t sim_world_process_count(const SimWorld *w) {
    return w->nprocs;
}

bool sim_world_process_alive(const SimWorld *w, SimProcessId pid) {
    return sim_world_proc(w, pid)->alive;
}

uint32_t sim_world_process_incarnation(const SimWorld *w, SimProcessId pid) {
    return sim_world_proc(w, pid)->incarnation;
}

const char *sim_world_process_name(const SimWorld *w, SimProcessId pid) {
    return sim_world_proc(w, pid)->name;
}

void *sim_world_process_instance(const SimWorld *w, SimProcessId pid) {
    return sim_world_proc(w, pid)->instance;
}

RtEnv *sim_world_process_env(SimWorld *w, SimProcessId pid) {
    return &sim_world_proc(w, pid)->env;
}

uint64_t sim_world_run(SimWorld *w, uint64_t until_ns, uint64_t max_events) {
    assert(w != NULL && w->depth == 0);
    return sim_kernel_run(w->k, until_ns, max_events);
}

bool sim_world_step(SimWorld *w) {
    assert(w != NULL && w->depth == 0);
    return sim_kernel_step(w->k);
}
