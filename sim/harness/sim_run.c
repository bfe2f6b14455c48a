/* sim_run.c - one simulated run of a scenario (sim_run.h): the world, the runtime's
 * processes, the fault injector, the observer fan-out (oracle, metrics, triggers) and
 * the run loop. */
#include "sim/harness/sim_run.h"

#include <assert.h>
#include <string.h>

#include "runtime/dataflow/rt_cluster.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/ha/rt_ha_client.h"
#include "sim/harness/sim_coverage.h"
#include "sim/report/sim_metrics.h"
#include "sim/world/sim_world.h"
#include "sim/harness/sim_oracle_ha.h"
#include "sim/world/sim_zk.h"

G_DEFINE_QUARK(sim-run-error-quark, sim_run_error)

typedef struct SimRun SimRun;

typedef struct ProcArg {
    SimRun *run;
    uint32_t index; /* 0-based within its kind */
} ProcArg;

typedef struct FaultState {
    const SimFault *fault; /* borrowed from plan */
    uint32_t number;       /* 1-based position in the full plan */
    uint32_t matches;      /* EVENT: matching events seen */
    bool scheduled;        /* fired or scheduled to fire */
    RtProcessId this_pid;  /* EVENT: the process that emitted the trigger */
    uint64_t this_ckpt;    /* EVENT: the trigger's checkpoint id */
} FaultState;

typedef struct RunObserver {
    RtObserver base; /* first: the world calls base.ops->event */
    SimRun *run;
} RunObserver;

struct SimRun {
    const SimScenario *s;
    const SimRunOptions *opt;
    SimWorld *world;
    SimKernel *kernel;
    SimZk *zk;           /* the ZooKeeper ensemble model (idle unless a process opens a
                            session: HA or the zookeeper state backend) */
    SimOracleWorldFiles files_ctx; /* the oracle's view: storage + the ZooKeeper tree */
    RtClusterSpec cluster;
    RtJobSpec spec;
    ProcArg *jm_args, *tm_args;
    SimOracle *oracle;
    SimMetrics *metrics; /* NULL without --out */
    SimCoverage *cov;    /* job state for roles, restarts and fault effectiveness */
    RunObserver observer;
    GPtrArray *plan;     /* SimFault*, the full plan (owned) */
    FaultState *faults;  /* the kept faults */
    uint32_t n_faults;
    uint32_t *event_faults; /* indexes into faults of EVENT-triggered ones */
    uint32_t n_event_faults;
    bool finished;
    uint64_t finished_ns;
    uint64_t next_gauge_ns; /* next sampling of the workers' gauges (metrics only) */
    bool stop_requested;
    uint32_t fired;
    GError *config_error; /* first error a runtime constructor reported */
};

void sim_run_options_init(SimRunOptions *o, uint64_t seed) {
    memset(o, 0, sizeof *o);
    o->seed = seed;
}

/* ------------------------------------------------------------------ processes */

static void *start_common(RtEnv *env, ProcArg *pa, bool jm) {
    GError *e = NULL;
    void *inst = jm ? (void *)rt_jobmanager_new(env, &pa->run->spec, &e)
                    : (void *)rt_taskmanager_new(env, &pa->run->spec, &e);
    if (inst == NULL) {
        if (pa->run->config_error == NULL)
            pa->run->config_error = e;
        else
            g_clear_error(&e);
    }
    return inst;
}

static void *start_jm(RtEnv *env, void *arg) {
    return start_common(env, arg, true);
}

static void *start_tm(RtEnv *env, void *arg) {
    return start_common(env, arg, false);
}

static void stop_jm(void *inst) {
    rt_jobmanager_free(inst);
}

static void stop_tm(void *inst) {
    rt_taskmanager_free(inst);
}

static const SimProcessClass jm_class = {"jobmanager", start_jm, stop_jm};
static const SimProcessClass tm_class = {"taskmanager", start_tm, stop_tm};

/* ------------------------------------------------------------------ faults */

/* A process of the plan, resolved now (roles: sim_coverage); SIM_COVERAGE_NONE if none. */
static RtProcessId resolve(const SimRun *run, SimProcRef ref, RtProcessId this_pid) {
    return sim_coverage_resolve(run->cov, ref, this_pid);
}

static RtProcessId mask_pid(const SimRun *run, uint32_t bit) {
    if (bit < SIM_FAULT_MAX_JOBMANAGERS)
        return bit;
    return run->s->n_jobmanagers + (bit - SIM_FAULT_MAX_JOBMANAGERS);
}

static void partition_one(SimRun *run, RtProcessId pa, const SimFaultAction *a, uint64_t now) {
    SimNet *net = sim_world_net(run->world);
    if (a->side_b == 0) {
        sim_net_partition(net, pa, SIM_NET_ANY, now, now + a->duration_ns);
        return;
    }
    for (uint32_t b = 0; b < 64; b++)
        if ((a->side_b >> b) & 1u)
            sim_net_partition(net, pa, mask_pid(run, b), now, now + a->duration_ns);
}

/* Side a as process ids (bit = pid), the dynamic member resolved now. */
static uint64_t side_a_pids(const SimRun *run, const SimFaultAction *a, RtProcessId this_pid) {
    uint64_t pids = 0;
    for (uint32_t bit = 0; bit < 64; bit++)
        if ((a->side_a >> bit) & 1u)
            pids |= (uint64_t)1 << mask_pid(run, bit);
    RtProcessId t = a->side_a_this ? resolve(run, a->target, this_pid) : SIM_COVERAGE_NONE;
    if (t < sim_world_process_count(run->world))
        pids |= (uint64_t)1 << t;
    return pids;
}

/* Arms a notification fault in the network (sim_net.h). */
static void apply_notify(SimRun *run, const SimFaultAction *a, RtProcessId target) {
    static const SimNotifyMode modes[] = {
        [SIM_FAULT_NOTIFY_DROP] = SIM_NOTIFY_DROP,
        [SIM_FAULT_NOTIFY_DUPLICATE] = SIM_NOTIFY_DUPLICATE,
        [SIM_FAULT_NOTIFY_DELAY] = SIM_NOTIFY_DELAY,
    };
    SimNotifyFault f = {modes[a->notify_mode], a->duration_ns, a->checkpoint_id,
                        target};
    sim_net_notify_fault(sim_world_net(run->world), &f);
}

static void apply_partition(SimRun *run, const SimFaultAction *a, uint64_t pids,
                            uint64_t now) {
    for (uint32_t pid = 0; pid < 64; pid++)
        if ((pids >> pid) & 1u)
            partition_one(run, pid, a, now);
}

static bool targets_process(SimFaultKind k) {
    return k == SIM_FAULT_CRASH || k == SIM_FAULT_RESTART || k == SIM_FAULT_ZK_EXPIRE ||
           k == SIM_FAULT_ZK_DISCONNECT || k == SIM_FAULT_ZK_PARTITION || k == SIM_FAULT_PAUSE;
}

static void apply_action(SimRun *run, const SimFaultAction *a, SimFaultFiring *x) {
    uint64_t now = x->now_ns;
    RtProcessId target = x->target;
    switch (a->kind) {
    case SIM_FAULT_CRASH:
        if (sim_world_crash(run->world, target) && a->restart_after_ns > 0)
            sim_world_restart_at(run->world, target, now + a->restart_after_ns);
        break;
    case SIM_FAULT_RESTART:
        if (!sim_world_process_alive(run->world, target))
            sim_world_restart(run->world, target);
        break;
    case SIM_FAULT_PARTITION:
        apply_partition(run, a, x->side_a, now);
        break;
    case SIM_FAULT_SPIKE:
        sim_net_add_spike(sim_world_net(run->world), target, x->peer, now,
                          now + a->duration_ns, a->latency_ns);
        break;
    case SIM_FAULT_ZK_EXPIRE:
        x->zk_expired = sim_zk_expire_process(run->zk, target);
        break;
    case SIM_FAULT_ZK_DISCONNECT:
        sim_zk_drop_connection(run->zk, target, a->duration_ns);
        break;
    case SIM_FAULT_ZK_PARTITION:
        sim_zk_partition(run->zk, target, a->duration_ns);
        break;
    case SIM_FAULT_PAUSE:
        sim_world_pause(run->world, target, a->duration_ns);
        break;
    case SIM_FAULT_ZK_LEADER_CHANGE:
        sim_zk_leader_change(run->zk, a->duration_ns);
        break;
    case SIM_FAULT_NOTIFY:
        apply_notify(run, a, target);
        break;
    case SIM_FAULT_STORAGE_ERROR:
        x->storage_rule = sim_storage_fail_next(
            sim_world_storage(run->world), a->prefix,
            a->storage_error == SIM_STORAGE_EIO ? RT_STORAGE_ERROR_IO : RT_STORAGE_ERROR_NO_SPACE,
            a->count);
        break;
    }
}

/* Fires fault payload: resolves its processes now, lets the coverage tracker judge the
 * state it lands in, applies it. A target that resolves to nobody (a role without a
 * holder, "this" of an event without a process) fires with no effect. */
static void apply_fault(SimRun *run, uint32_t index) {
    FaultState *fs = &run->faults[index];
    const SimFaultAction *a = &fs->fault->action;
    SimFaultFiring x = {.now_ns = sim_world_now_ns(run->world),
                        .target = resolve(run, a->target, fs->this_pid),
                        .trigger_ckpt = fs->this_ckpt};
    if (a->kind == SIM_FAULT_SPIKE)
        x.peer = resolve(run, a->peer, fs->this_pid);
    if (a->kind == SIM_FAULT_PARTITION)
        x.side_a = side_a_pids(run, a, fs->this_pid);
    run->fired++;
    sim_coverage_fault_fired(run->cov, index, &x);
    bool nobody = (targets_process(a->kind) || a->kind == SIM_FAULT_SPIKE)
                      ? x.target == SIM_COVERAGE_NONE || x.peer == SIM_COVERAGE_NONE
                      : a->kind == SIM_FAULT_PARTITION && x.side_a == 0;
    char *detail = g_strdup_printf("fault %s: %s%s", fs->fault->name, fs->fault->text,
                                   nobody ? " (resolved to no process)" : "");
    sim_world_report_fault(run->world,
                           targets_process(a->kind) && !nobody ? x.target : SIM_WORLD_NO_PROCESS,
                           detail);
    g_free(detail);
    if (!nobody)
        apply_action(run, a, &x);
    if (!nobody && run->metrics != NULL) /* its interval, for the plots' shading */
        sim_metrics_note_fault_action(run->metrics, x.now_ns, fs->fault->name, a,
                                      targets_process(a->kind) || a->kind == SIM_FAULT_SPIKE
                                          ? x.target
                                          : UINT32_MAX);
    sim_coverage_fault_applied(run->cov, index, &x);
}

static void fire_fault(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimRun *run = ctx;
    assert(payload < run->n_faults);
    apply_fault(run, (uint32_t)payload);
}

static bool event_matches(const SimFaultTrigger *t, const RtEvent *ev, const SimRun *run) {
    if (ev->kind != t->event || ev->time_ns < t->after_ns)
        return false;
    if (t->checkpoint_id != 0 && ev->checkpoint_id != t->checkpoint_id)
        return false;
    if (t->op >= 0 && ev->subtask.op != (uint32_t)t->op)
        return false;
    if (t->index >= 0 && ev->subtask.index != (uint32_t)t->index)
        return false;
    if (t->has_process && ev->process != resolve(run, t->process, SIM_COVERAGE_NONE))
        return false;
    return true;
}

static void check_event_faults(SimRun *run, const RtEvent *ev) {
    if (ev->time_ns >= run->s->faults_stop_ns)
        return;
    for (uint32_t i = 0; i < run->n_event_faults; i++) {
        FaultState *fs = &run->faults[run->event_faults[i]];
        const SimFaultTrigger *t = &fs->fault->trigger;
        if (fs->scheduled || !event_matches(t, ev, run))
            continue;
        if (++fs->matches < t->nth)
            continue;
        fs->scheduled = true;
        fs->this_pid = ev->process;
        fs->this_ckpt = ev->checkpoint_id;
        sim_kernel_schedule_at(run->kernel, ev->time_ns + t->delay_ns, fire_fault, run,
                               run->event_faults[i]);
    }
}

static bool kept(const SimRunOptions *opt, uint32_t number) {
    if (!opt->has_keep)
        return true;
    for (uint32_t i = 0; i < opt->n_keep; i++)
        if (opt->keep[i] == number)
            return true;
    return false;
}

uint64_t sim_run_active_estimate_ns(const SimScenario *s) {
    uint64_t est = 0;
    for (guint i = 0; i < s->graph.operators->len; i++) {
        const RtOperatorSpec *op = g_ptr_array_index(s->graph.operators, i);
        if (op->kind == RT_OP_SOURCE && op->rate_per_s > 0)
            est = MAX(est, (uint64_t)((double)op->records / (double)op->rate_per_s * 1e9));
        else if (op->kind == RT_OP_SOURCE)
            return s->faults_stop_ns; /* unthrottled: no estimate */
    }
    return est;
}

GPtrArray *sim_run_fault_plan(const SimScenario *s, uint64_t seed) {
    GPtrArray *plan = g_ptr_array_new_with_free_func((GDestroyNotify)sim_fault_free);
    for (guint i = 0; i < s->faults->len; i++)
        g_ptr_array_add(plan, sim_fault_copy(g_ptr_array_index(s->faults, i)));
    SimFaultContext ctx = {s->n_jobmanagers, s->n_workers, &s->graph};
    /* The active window: from a tenth of its end (at most 200 ms: once the job is
     * deployed) to 70% of the estimated active time (so that the job outlives its last
     * fault and proves recovery), within faults-stop-at. */
    uint64_t to = MIN(s->faults_stop_ns, sim_run_active_estimate_ns(s) / 10 * 7);
    uint64_t from = MIN(to / 10, 200 * G_GUINT64_CONSTANT(1000000));
    sim_fault_plan_add_random_window(plan, &s->random, seed, from, to, &ctx);
    return plan;
}

static void install_faults(SimRun *run) {
    run->plan = sim_run_fault_plan(run->s, run->opt->seed);
    run->faults = g_new0(FaultState, run->plan->len + 1);
    run->event_faults = g_new0(uint32_t, run->plan->len + 1);
    for (guint i = 0; i < run->plan->len; i++) {
        if (!kept(run->opt, i + 1))
            continue;
        FaultState *fs = &run->faults[run->n_faults];
        fs->fault = g_ptr_array_index(run->plan, i);
        fs->number = i + 1;
        fs->this_pid = SIM_NET_ANY;
        uint32_t ci = sim_coverage_add_fault(run->cov, fs->fault, fs->number,
                                             i >= run->s->faults->len);
        assert(ci == run->n_faults);
        if (fs->fault->trigger.kind == SIM_TRIGGER_AT) {
            fs->scheduled = true;
            sim_kernel_schedule_at(run->kernel, fs->fault->trigger.at_ns, fire_fault, run,
                                   run->n_faults);
        } else {
            run->event_faults[run->n_event_faults++] = run->n_faults;
        }
        run->n_faults++;
    }
}

/* ------------------------------------------------------------------ observation */

/* Samples every live worker's network gauges once per SIM_METRICS_GAUGE_NS of simulated
 * time, at the first observed event past the mark. Reads only: the run is unchanged. */
static void sample_gauges(SimRun *run, uint64_t now_ns) {
    if (now_ns < run->next_gauge_ns)
        return;
    run->next_gauge_ns = (now_ns / SIM_METRICS_GAUGE_NS + 1) * SIM_METRICS_GAUGE_NS;
    uint32_t first = run->s->n_jobmanagers;
    for (uint32_t w = 0; w < run->s->n_workers; w++) {
        RtProcessId pid = first + w;
        if (!sim_world_process_alive(run->world, pid))
            continue;
        RtTmGauges g;
        rt_taskmanager_gauges(sim_world_process_instance(run->world, pid), &g);
        sim_metrics_note_gauges(run->metrics, now_ns, pid, &g);
    }
}

static void run_observe(RtObserver *self, const RtEvent *ev) {
    SimRun *run = ((RunObserver *)self)->run;
    sim_oracle_event(run->oracle, ev);
    if (run->metrics != NULL) {
        sim_metrics_event(run->metrics, ev);
        sample_gauges(run, ev->time_ns);
    }
    sim_coverage_event(run->cov, ev);
    if (ev->kind == RT_EV_JOB_FINISHED && !run->finished) {
        run->finished = true;
        run->finished_ns = ev->time_ns;
        run->stop_requested = true;
        sim_kernel_stop(run->kernel);
    }
    if (run->n_event_faults > 0)
        check_event_faults(run, ev);
    if (run->opt->stop_at_first && !run->stop_requested && sim_oracle_failed(run->oracle)) {
        run->stop_requested = true;
        sim_kernel_stop(run->kernel);
    }
}

static const RtObserverOps run_observer_ops = {run_observe};

/* ------------------------------------------------------------------ setup */

static SimWorld *make_world(const SimScenario *s, const SimRunOptions *opt) {
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, opt->seed);
    cfg.bugs = opt->bugs;
    cfg.net.latency = s->latency;
    if (s->has_detection_delay)
        cfg.net.detection_delay_ns = s->detection_delay_ns;
    SimWorld *w = sim_world_new(&cfg);
    uint32_t n_jm = s->n_jobmanagers;
    for (guint i = 0; i < s->links->len; i++) {
        const SimLinkSpec *l = &g_array_index(s->links, SimLinkSpec, i);
        RtProcessId a = l->a.kind == SIM_PROC_JOBMANAGER ? l->a.index : n_jm + l->a.index;
        RtProcessId b = l->b.kind == SIM_PROC_JOBMANAGER ? l->b.index : n_jm + l->b.index;
        sim_net_set_link_latency(sim_world_net(w), a, b, &l->latency);
        sim_net_set_link_latency(sim_world_net(w), b, a, &l->latency);
    }
    return w;
}

static void spawn_processes(SimRun *run) {
    const SimScenario *s = run->s;
    RtProcessId jm_ids[RT_CLUSTER_MAX_PROCESSES], tm_ids[RT_CLUSTER_MAX_PROCESSES];
    for (uint32_t i = 0; i < s->n_jobmanagers; i++)
        jm_ids[i] = i;
    for (uint32_t i = 0; i < s->n_workers; i++)
        tm_ids[i] = s->n_jobmanagers + i;
    sim_scenario_cluster_spec(s, jm_ids, tm_ids, &run->cluster);
    run->spec = (RtJobSpec){&s->graph, s->config, &run->cluster};
    run->jm_args = g_new0(ProcArg, s->n_jobmanagers);
    run->tm_args = g_new0(ProcArg, s->n_workers);
    for (uint32_t i = 0; i < s->n_jobmanagers; i++) {
        run->jm_args[i] = (ProcArg){run, i};
        char *name = g_strdup_printf("jobmanager-%u", i + 1);
        SimProcessId pid = sim_world_spawn(run->world, name, &jm_class, &run->jm_args[i]);
        assert(pid == jm_ids[i]);
        if (run->metrics != NULL)
            sim_metrics_name_process(run->metrics, pid, name);
        g_free(name);
    }
    for (uint32_t i = 0; i < s->n_workers; i++) {
        run->tm_args[i] = (ProcArg){run, i};
        char *name = g_strdup_printf("worker-%u", i + 1);
        SimProcessId pid = sim_world_spawn(run->world, name, &tm_class, &run->tm_args[i]);
        assert(pid == tm_ids[i]);
        if (run->metrics != NULL)
            sim_metrics_name_process(run->metrics, pid, name);
        g_free(name);
    }
}

static SimCoverage *coverage_new(SimRun *run) {
    const SimScenario *s = run->s;
    /* The configuration was validated when the scenario loaded: read errors cannot
     * happen here; treat them as "off". */
    bool ha = false;
    uint64_t interval_ns = 0;
    if (!rt_ha_enabled(s->config, &ha, NULL))
        ha = false;
    if (!rt_config_key_duration_ns(s->config, RT_KEY_CHECKPOINTING_INTERVAL, &interval_ns, NULL))
        interval_ns = 0;
    SimCoverageParams p = {
        .n_jobmanagers = s->n_jobmanagers,
        .n_workers = s->n_workers,
        .ha = ha,
        .checkpointing = interval_ns > 0,
        .liveness_bound_ns = s->liveness_bound_ns,
    };
    SimCoverageWorld w = {sim_world_net(run->world), sim_world_storage(run->world),
                          s->n_jobmanagers + s->n_workers};
    return sim_coverage_new(&s->graph, &p, &w);
}

static void setup(SimRun *run) {
    const SimScenario *s = run->s;
    run->world = make_world(s, run->opt);
    run->kernel = sim_world_kernel(run->world);
    SimZkConfig zcfg;
    sim_zk_config_init(&zcfg);
    zcfg.tick_ns = s->zk_tick_ns;
    zcfg.servers = s->zk_servers;
    zcfg.follower_lag_ns = s->zk_follower_lag_ns;
    run->zk = sim_zk_new(run->kernel, run->opt->seed, &zcfg, NULL);
    sim_zk_attach_world(run->zk, run->world);
    SimOracleFiles files;
    run->files_ctx.storage = sim_world_storage(run->world);
    run->files_ctx.zk = run->zk;
    sim_oracle_files_for_world(&run->files_ctx, &files);
    SimOracleParams params;
    sim_oracle_params_init(&params);
    params.faults_end_ns = s->faults_stop_ns;
    params.checkpoint_bound_ns = s->liveness_bound_ns;
    params.check_cuts = s->expect.consistent_cuts;
    params.seed = run->opt->seed; /* the oracle recomputes the sources' records */
    params.check_commit_reports = true;
    run->oracle = sim_oracle_new(&s->graph, s->config, &params, &files);
    if (run->opt->out_dir != NULL)
        run->metrics = sim_metrics_new(&s->graph, &files, 0);
    run->cov = coverage_new(run);
    run->observer.base.ops = &run_observer_ops;
    run->observer.run = run;
    sim_world_set_observer(run->world, &run->observer.base);
    install_faults(run);
    spawn_processes(run);
}

/* ------------------------------------------------------------------ the loop */

static const char *run_loop(SimRun *run, uint64_t *steps) {
    const SimScenario *s = run->s;
    *steps = 0;
    for (uint32_t guard = 0; guard < 1000000; guard++) {
        if (run->opt->stop_at_first && sim_oracle_failed(run->oracle))
            return "violation";
        if (*steps >= s->max_steps)
            return "step budget";
        uint64_t until = run->finished ? run->finished_ns + s->drain_ns : s->time_limit_ns;
        run->stop_requested = false;
        *steps += sim_world_run(run->world, until, s->max_steps - *steps);
        if (run->stop_requested)
            continue;
        if (*steps >= s->max_steps)
            return "step budget";
        if (run->finished)
            return "job finished";
        if (sim_kernel_next_time_ns(run->kernel) == UINT64_MAX)
            return "no events";
        return "time limit";
    }
    return "step budget";
}

/* ------------------------------------------------------------------ verdict */

static bool expected(const SimScenario *s, const SimViolation *v) {
    if (strcmp(v->invariant, SIM_INV_EXACTLY_ONCE) == 0)
        return s->expect.exactly_once;
    if (strcmp(v->invariant, SIM_INV_CONSISTENT_CUT) == 0)
        return s->expect.consistent_cuts;
    if (strcmp(v->invariant, SIM_INV_LIVENESS) == 0)
        return s->expect.liveness;
    if (strcmp(v->invariant, SIM_RUN_INVARIANT_COVERAGE) == 0)
        return s->expect.coverage;
    return true;
}

static void verdict(SimRun *run, GPtrArray *found, SimRunResult *out) {
    const SimScenario *s = run->s;
    out->violations = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
    bool early = out->end_reason != NULL && strcmp(out->end_reason, "violation") == 0;
    GPtrArray *cov = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
    sim_coverage_finish(run->cov, out->sim_time_ns, !early, cov, &out->coverage);
    out->failovers = out->coverage.restarts;
    out->faults_effective = out->coverage.effective;
    for (guint i = 0; i < cov->len && s->expect.coverage; i++)
        g_ptr_array_add(out->violations, g_ptr_array_steal_index(cov, i--));
    g_ptr_array_unref(cov);
    out->expected = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
    char **want = s->expect.expected_violations;
    for (guint i = 0; found != NULL && i < found->len; i++) {
        SimViolation *v = g_ptr_array_index(found, i);
        if (want != NULL && g_strv_contains((const char *const *)want, v->invariant))
            g_ptr_array_add(out->expected, sim_violation_new(v->invariant, v->message,
                                                             v->time_ns, v->checkpoint_id,
                                                             v->fault));
        else if (expected(s, v))
            g_ptr_array_add(out->violations, sim_violation_new(v->invariant, v->message,
                                                               v->time_ns, v->checkpoint_id,
                                                               v->fault));
    }
    if (!early && out->oracle.checkpoints_completed < s->expect.min_completed_checkpoints) {
        char *m = g_strdup_printf("%" G_GUINT64_FORMAT " checkpoints completed, [expect] "
                                  "min-completed-checkpoints = %" G_GUINT64_FORMAT,
                                  out->oracle.checkpoints_completed,
                                  s->expect.min_completed_checkpoints);
        g_ptr_array_add(out->violations, sim_violation_new(SIM_RUN_INVARIANT_EXPECT, m,
                                                           out->sim_time_ns, 0, NULL));
        g_free(m);
    }
    if (!early && out->failovers < s->expect.min_failovers) {
        char *m = g_strdup_printf("%" G_GUINT64_FORMAT " job restarts, [expect] min-failovers = "
                                  "%" G_GUINT64_FORMAT " (did the fault hit?)",
                                  out->failovers, s->expect.min_failovers);
        g_ptr_array_add(out->violations, sim_violation_new(SIM_RUN_INVARIANT_EXPECT, m,
                                                           out->sim_time_ns, 0, NULL));
        g_free(m);
    }
    for (size_t w = 0; !early && want != NULL && want[w] != NULL; w++) {
        bool seen = false;
        for (guint i = 0; i < out->expected->len && !seen; i++)
            seen = strcmp(((SimViolation *)g_ptr_array_index(out->expected, i))->invariant,
                          want[w]) == 0;
        if (seen)
            continue;
        char *m = g_strdup_printf("[expect] expected-violations: %s was never violated, but "
                                  "Flink's behaviour here violates it: the runtime was kinder "
                                  "than Flink",
                                  want[w]);
        g_ptr_array_add(out->violations, sim_violation_new(SIM_RUN_INVARIANT_EXPECT, m,
                                                           out->sim_time_ns, 0, NULL));
        g_free(m);
    }
    out->held = out->violations->len == 0;
    out->facts = g_ptr_array_new_with_free_func(g_free);
    const GPtrArray *facts = sim_oracle_facts_peek(run->oracle);
    for (guint i = 0; i < facts->len; i++)
        g_ptr_array_add(out->facts, g_strdup(g_ptr_array_index(facts, i)));
}

static bool write_metrics(SimRun *run, SimRunResult *out, GError **error) {
    SimMetricsRunInfo info = {
        .scenario = run->s->name,
        .seed = run->opt->seed,
        .verdict = out->held ? "ok" : "violation",
        .trace_hash = out->trace_hash,
        .end_time_ns = out->sim_time_ns,
        .violations = out->violations,
        .mode = sim_metrics_checkpoint_mode(run->s->config),
    };
    GError *e = NULL;
    if (sim_metrics_write(run->metrics, run->opt->out_dir, &info, &e))
        return true;
    g_set_error(error, SIM_RUN_ERROR, SIM_RUN_ERROR_OUTPUT, "%s", e->message);
    g_error_free(e);
    return false;
}

static void teardown(SimRun *run) {
    sim_world_free(run->world);
    sim_zk_free(run->zk);
    sim_oracle_free(run->oracle);
    sim_metrics_free(run->metrics);
    sim_coverage_free(run->cov);
    if (run->plan != NULL)
        g_ptr_array_free(run->plan, TRUE);
    g_free(run->faults);
    g_free(run->event_faults);
    g_free(run->jm_args);
    g_free(run->tm_args);
    g_clear_error(&run->config_error);
}

bool sim_run(const SimScenario *s, const SimRunOptions *opt, SimRunResult *out,
             GError **error) {
    assert(s != NULL && opt != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    SimRun run = {.s = s, .opt = opt};
    setup(&run);
    if (run.config_error != NULL) {
        g_set_error(error, SIM_RUN_ERROR, SIM_RUN_ERROR_CONFIG, "%s: %s", s->path,
                    run.config_error->message);
        teardown(&run);
        return false;
    }
    out->end_reason = run_loop(&run, &out->steps);
    out->sim_time_ns = sim_world_now_ns(run.world);
    out->trace_hash = sim_world_trace_hash(run.world);
    out->faults_planned = run.n_faults;
    out->faults_fired = run.fired;
    GPtrArray *found = NULL;
    sim_oracle_set_quiet_since(run.oracle, sim_coverage_quiet_since(run.cov));
    sim_oracle_finish(run.oracle, out->sim_time_ns, &found);
    sim_oracle_get_stats(run.oracle, &out->oracle);
    SimOracleHaLeader leader;
    leader.has = sim_oracle_leader(run.oracle, &leader.process, &leader.session);
    sim_oracle_ha_finish(sim_zk_tree(run.zk), s->config, out->oracle.job_finished, &leader,
                         out->sim_time_ns, found);
    verdict(&run, found, out);
    if (found != NULL)
        g_ptr_array_unref(found);
    bool ok = run.metrics == NULL || write_metrics(&run, out, error);
    teardown(&run);
    return ok;
}

void sim_run_result_clear(SimRunResult *r) {
    if (r == NULL)
        return;
    if (r->violations != NULL)
        g_ptr_array_unref(r->violations);
    if (r->expected != NULL)
        g_ptr_array_unref(r->expected);
    if (r->facts != NULL)
        g_ptr_array_unref(r->facts);
    sim_coverage_report_clear(&r->coverage);
    memset(r, 0, sizeof *r);
}
