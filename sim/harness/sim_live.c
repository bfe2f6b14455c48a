/* sim_live.c - `ckptsim live`: the scenario's job run for real, by the same runtime,
 * as operating-system processes on this machine (runtime/live/rt_live_cluster.h), then
 * checked by the same oracle over the merged observation events and the real files.
 *
 * This file is glue and holds no wall clock, fork or signal: it loads the scenario,
 * translates its fault plan into the launcher's timed crashes and restarts (the kinds a
 * real machine can do without privileges; others are reported as not supported live),
 * feeds the oracle, and prints the verdict. The same command, with the hidden --role
 * option, is the body of each child process (the launcher re-executes this program).
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/live/rt_live_cluster.h"
#include "runtime/state/rt_backend_zk.h"
#include "sim/harness/sim_cli.h"
#include "sim/harness/sim_live_internal.h"
#include "sim/harness/sim_oracle.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "sim/sim_commands.h"

#define LIVE_INV_PROCESS "process-died" /* a runtime process died on its own */

static const char *const empty_list[] = {NULL};

static const char *const *or_empty(char **list) {
    return list != NULL ? (const char *const *)list : empty_list;
}

/* ------------------------------------------------------------------ faults */

static RtProcessId fault_pid(const SimScenario *s, SimProcRef ref, RtProcessId this_pid) {
    switch (ref.kind) {
    case SIM_PROC_JOBMANAGER: return ref.index;
    case SIM_PROC_WORKER: return s->n_jobmanagers + ref.index;
    case SIM_PROC_THIS: return this_pid;
    case SIM_PROC_ANY:
    case SIM_PROC_LEADER:  /* roles need the simulated harness's view (sim_coverage) */
    case SIM_PROC_STANDBY:
    case SIM_PROC_HOST: break;
    }
    return UINT32_MAX;
}

static void fire(SimLiveHost *h, const SimFault *f, uint64_t at_ns, RtProcessId this_pid) {
    const SimFaultAction *a = &f->action;
    RtProcessId pid = fault_pid(h->s, a->target, this_pid);
    char *detail = g_strdup_printf("fault %s: %s", f->name, f->text);
    bool ok = a->kind == SIM_FAULT_CRASH
                  ? rt_live_cluster_crash_at(h->cluster, at_ns, pid, a->restart_after_ns, detail)
                  : rt_live_cluster_restart_at(h->cluster, at_ns, pid, detail);
    if (ok)
        h->faults_fired++;
    g_free(detail);
}

static bool supported(const SimFault *f) {
    bool action = f->action.kind == SIM_FAULT_CRASH || f->action.kind == SIM_FAULT_RESTART;
    SimProcKind k = f->action.target.kind;
    return action && (k == SIM_PROC_JOBMANAGER || k == SIM_PROC_WORKER || k == SIM_PROC_THIS);
}

/* Schedules the timed faults, keeps the event-triggered ones for live_observe, and warns
 * about the rest. */
static void install_faults(SimLiveHost *h) {
    h->plan = sim_run_fault_plan(h->s, h->seed);
    for (guint i = 0; i < h->plan->len; i++) {
        const SimFault *f = g_ptr_array_index(h->plan, i);
        if (!supported(f)) {
            g_ptr_array_add(
                h->warnings,
                g_strdup_printf("fault %s (%s): not supported live, skipped", f->name, f->text));
            continue;
        }
        h->faults_planned++;
        if (f->trigger.kind == SIM_TRIGGER_AT) {
            if (f->trigger.at_ns < h->s->faults_stop_ns)
                fire(h, f, f->trigger.at_ns, UINT32_MAX);
            continue;
        }
        g_array_append_val(h->event_faults, i);
        g_array_set_size(h->event_matches, h->event_faults->len);
        g_ptr_array_add(h->warnings,
                        g_strdup_printf("fault %s (%s): triggered by an event, it fires "
                                        "when the launcher reads the event (tens of ms late "
                                        "live)",
                                        f->name, f->text));
    }
}

static bool event_matches(const SimLiveHost *h, const SimFaultTrigger *t, const RtEvent *ev) {
    if (ev->kind != t->event || ev->time_ns < t->after_ns)
        return false;
    if (t->checkpoint_id != 0 && ev->checkpoint_id != t->checkpoint_id)
        return false;
    if (t->op >= 0 && ev->subtask.op != (uint32_t)t->op)
        return false;
    if (t->index >= 0 && ev->subtask.index != (uint32_t)t->index)
        return false;
    if (t->has_process && ev->process != fault_pid(h->s, t->process, UINT32_MAX))
        return false;
    return true;
}

static void check_event_faults(SimLiveHost *h, const RtEvent *ev) {
    if (ev->time_ns >= h->s->faults_stop_ns)
        return;
    for (guint i = 0; i < h->event_faults->len; i++) {
        uint32_t *matches = &g_array_index(h->event_matches, uint32_t, i);
        const SimFault *f = g_ptr_array_index(h->plan, g_array_index(h->event_faults, guint, i));
        if (*matches == UINT32_MAX || !event_matches(h, &f->trigger, ev))
            continue;
        if (++*matches < f->trigger.nth)
            continue;
        *matches = UINT32_MAX; /* fired */
        fire(h, f, ev->time_ns + f->trigger.delay_ns, ev->process);
    }
}

/* ------------------------------------------------------------------ observation */

/* The checkpoint's metadata path, as the oracle derives it (detail, else the default). */
static char *metadata_path(const SimLiveHost *h, uint64_t checkpoint_id, const char *detail) {
    if (detail != NULL && detail[0] != '\0')
        return g_strdup(detail);
    char *dir = rt_config_key_dir(h->s->config, RT_KEY_CHECKPOINTS_DIR, NULL);
    char *path = rt_ckpt_metadata_path(dir != NULL ? dir : "checkpoints", h->s->graph.name,
                                       checkpoint_id);
    g_free(dir);
    return path;
}

/* At arrival (before the reorder lag): keep a completed checkpoint's files. */
/* A restore too: a checkpoint completed right after it may subsume the restored one
 * (and delete its files) before the oracle, a reorder lag later, checks the restore. */
static void live_arrival(RtObserver *self, const RtEvent *ev) {
    SimLiveHost *h = ((SimLiveObserver *)self)->host;
    if (!h->s->expect.consistent_cuts)
        return;
    char *path = NULL;
    if (ev->kind == RT_EV_CKPT_COMPLETE) {
        path = metadata_path(h, ev->checkpoint_id, ev->detail);
    } else if (ev->kind == RT_EV_RESTORE && ev->checkpoint_id != 0) {
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(h->restores, &ev->checkpoint_id));
        if (n == 0)
            path = metadata_path(h, ev->checkpoint_id, NULL);
        g_hash_table_insert(h->restores, g_memdup2(&ev->checkpoint_id, sizeof(uint64_t)),
                            GUINT_TO_POINTER(n + 1));
    }
    if (path != NULL)
        sim_live_files_keep_checkpoint(&h->files, ev->checkpoint_id, path);
    g_free(path);
}

/* Delivers a restore with the files kept at its arrival; drops them after the last. */
static void observe_restore(SimLiveHost *h, const RtEvent *ev) {
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(h->restores, &ev->checkpoint_id));
    h->files.delivering_id = n > 0 ? ev->checkpoint_id : 0;
    sim_oracle_event(h->oracle, ev);
    h->files.delivering_id = 0;
    if (n > 1) {
        g_hash_table_insert(h->restores, g_memdup2(&ev->checkpoint_id, sizeof(uint64_t)),
                            GUINT_TO_POINTER(n - 1));
    } else if (n == 1) {
        g_hash_table_remove(h->restores, &ev->checkpoint_id);
        sim_live_files_forget_checkpoint(&h->files, ev->checkpoint_id);
    }
}

static const RtObserverOps arrival_observer_ops = {live_arrival};

static void live_observe(RtObserver *self, const RtEvent *ev) {
    SimLiveHost *h = ((SimLiveObserver *)self)->host;
    if (ev->kind == RT_EV_CKPT_COMPLETE) {
        h->files.delivering_id = ev->checkpoint_id;
        sim_oracle_event(h->oracle, ev);
        h->files.delivering_id = 0;
        if (!g_hash_table_contains(h->restores, &ev->checkpoint_id))
            sim_live_files_forget_checkpoint(&h->files, ev->checkpoint_id);
    } else if (ev->kind == RT_EV_RESTORE && ev->checkpoint_id != 0) {
        observe_restore(h, ev);
    } else {
        sim_oracle_event(h->oracle, ev);
    }
    if (ev->kind == RT_EV_FAILOVER)
        h->failovers++;
    if (h->event_faults->len > 0)
        check_event_faults(h, ev);
}

static const RtObserverOps live_observer_ops = {live_observe};

/* ------------------------------------------------------------------ verdict */

static bool expected(const SimScenario *s, const SimViolation *v) {
    if (strcmp(v->invariant, SIM_INV_EXACTLY_ONCE) == 0)
        return s->expect.exactly_once;
    if (strcmp(v->invariant, SIM_INV_CONSISTENT_CUT) == 0)
        return s->expect.consistent_cuts;
    if (strcmp(v->invariant, SIM_INV_LIVENESS) == 0)
        return s->expect.liveness;
    return true;
}

static void add_violation(SimLiveHost *h, const char *inv, char *message) {
    g_ptr_array_add(h->violations, sim_violation_new(inv, message, h->end_ns, 0, NULL));
    g_free(message);
}

static void verdict(SimLiveHost *h, GPtrArray *found) {
    const SimScenario *s = h->s;
    for (guint i = 0; found != NULL && i < found->len; i++) {
        SimViolation *v = g_ptr_array_index(found, i);
        if (expected(s, v))
            g_ptr_array_add(h->violations, sim_violation_new(v->invariant, v->message, v->time_ns,
                                                             v->checkpoint_id, v->fault));
    }
    if (h->stats.checkpoints_completed < s->expect.min_completed_checkpoints)
        add_violation(h, SIM_RUN_INVARIANT_EXPECT,
                      g_strdup_printf("%" PRIu64 " checkpoints completed, [expect] "
                                      "min-completed-checkpoints = %" PRIu64,
                                      h->stats.checkpoints_completed,
                                      s->expect.min_completed_checkpoints));
    if (h->failovers < s->expect.min_failovers)
        add_violation(h, SIM_RUN_INVARIANT_EXPECT,
                      g_strdup_printf("%" PRIu64 " failovers, [expect] min-failovers = %" PRIu64
                                      " (did the fault hit?)",
                                      h->failovers, s->expect.min_failovers));
    if (h->result.unexpected_exit)
        add_violation(h, LIVE_INV_PROCESS, g_strdup(h->result.exit_message));
}

/* ------------------------------------------------------------------ run */

/* Args after argv[0] that make a child load the same job. */
static char **child_args(const SimLiveArgs *a, const char *file, uint64_t seed) {
    GPtrArray *v = g_ptr_array_new();
    g_ptr_array_add(v, g_strdup("live"));
    g_ptr_array_add(v, g_strdup(file));
    g_ptr_array_add(v, g_strdup_printf("--seed=%" PRIu64, seed));
    for (const char *const *s = or_empty(a->sets); *s != NULL; s++)
        g_ptr_array_add(v, g_strdup_printf("--set=%s", *s));
    for (const char *const *b = or_empty(a->bugs); *b != NULL; b++)
        g_ptr_array_add(v, g_strdup_printf("--bug=%s", *b));
    g_ptr_array_add(v, NULL);
    return (char **)g_ptr_array_free(v, FALSE);
}

/* The quorum the processes will connect to, or NULL when they use no ZooKeeper (HA
 * off and another state backend: a quorum key alone is ignored, as Flink does). */
static const char *zk_quorum(const SimScenario *s) {
    unsigned ha = 0; /* none|zookeeper */
    RtBackendKind backend = RT_BACKEND_HASHMAP;
    if (!rt_config_key_choice(s->config, RT_KEY_HA_TYPE, &ha, NULL))
        ha = 0;
    if (!rt_config_backend_kind(s->config, &backend, NULL))
        backend = RT_BACKEND_HASHMAP;
    /* The backend's address falls back to the HA quorum, then to its default. */
    if (backend == RT_BACKEND_ZOOKEEPER)
        return rt_config_key_string(s->config, RT_KEY_ZK_STATE_ADDRESS);
    return ha == 1 ? rt_config_lookup(s->config, RT_KEY_HA_QUORUM) : NULL;
}

/* How long the launcher waits for ZooKeeper: the processes' own connection timeout. */
static uint64_t zk_timeout_ns(const SimScenario *s, uint64_t def) {
    uint64_t t = def;
    if (rt_config_lookup(s->config, RT_KEY_HA_CONNECTION_TIMEOUT) == NULL ||
        !rt_config_key_duration_ns(s->config, RT_KEY_HA_CONNECTION_TIMEOUT, &t, NULL) || t == 0)
        t = def;
    return t;
}

static bool make_cluster(SimLiveHost *h, const SimLiveArgs *a, const char *file, GError **error) {
    const SimScenario *s = h->s;
    char **args = child_args(a, file, h->seed);
    RtLiveClusterConfig cfg;
    rt_live_cluster_config_init(&cfg);
    cfg.child_args = (const char *const *)args;
    cfg.dir = h->dir;
    cfg.base_port = (uint16_t)a->base_port;
    cfg.n_jobmanagers = s->n_jobmanagers;
    cfg.n_workers = s->n_workers;
    cfg.time_limit_ns = h->time_limit_ns;
    cfg.drain_ns = s->drain_ns > SIM_LIVE_MIN_DRAIN_NS ? s->drain_ns : SIM_LIVE_MIN_DRAIN_NS;
    cfg.zk_quorum = zk_quorum(s);
    cfg.zk_connect_timeout_ns = zk_timeout_ns(s, cfg.zk_connect_timeout_ns);
    h->observer.base.ops = &live_observer_ops;
    h->observer.host = h;
    h->arrival.base.ops = &arrival_observer_ops;
    h->arrival.host = h;
    cfg.arrival = &h->arrival.base;
    h->cluster = rt_live_cluster_new(&cfg, &h->observer.base, error);
    g_strfreev(args);
    return h->cluster != NULL;
}

static void make_oracle(SimLiveHost *h) {
    const SimScenario *s = h->s;
    sim_live_files_init(&h->files, rt_live_cluster_storage_root(h->cluster), zk_quorum(s));
    SimOracleFiles files = {.read = sim_live_files_read, .list = sim_live_files_list, .ctx = &h->files};
    SimOracleParams params;
    sim_oracle_params_init(&params);
    params.faults_end_ns = s->faults_stop_ns;
    params.checkpoint_bound_ns = s->liveness_bound_ns;
    params.check_cuts = s->expect.consistent_cuts;
    params.seed = h->seed; /* the oracle recomputes the sources' records */
    h->oracle = sim_oracle_new(&s->graph, s->config, &params, &files);
}

/* Runs the job; false + error on bad input (the run did not happen). */
static bool live_run(SimLiveHost *h, const SimLiveArgs *a, const char *file, GError **error) {
    if (!make_cluster(h, a, file, error))
        return false;
    make_oracle(h);
    install_faults(h);
    if (!rt_live_cluster_run(h->cluster, &h->result, error))
        return false;
    h->end_ns = h->result.end_time_ns;
    GPtrArray *found = NULL;
    sim_oracle_finish(h->oracle, h->end_ns, &found);
    sim_oracle_get_stats(h->oracle, &h->stats);
    verdict(h, found);
    if (found != NULL)
        g_ptr_array_unref(found);
    return true;
}

/* A child that could not start (exit 2: bad config, port taken) is bad input. */
static bool startup_failure(const SimLiveHost *h) {
    return h->result.unexpected_exit && h->result.exit_status == SIM_EXIT_BAD_INPUT &&
           h->stats.checkpoints_completed == 0;
}

int sim_live_run(const SimLiveArgs *a, const char *file, bool print, SimLiveSummary *sum) {
    GError *e = NULL;
    SimScenario *s = sim_scenario_load(file, or_empty(a->sets), &e);
    if (s == NULL) {
        sim_cli_print_error("ckptsim live", e);
        g_error_free(e);
        return SIM_EXIT_BAD_INPUT;
    }
    SimLiveHost h;
    if (!sim_live_host_init(&h, a, s, &e)) {
        fprintf(stderr, "ckptsim live: %s\n", e->message);
        g_error_free(e);
        sim_scenario_free(s);
        return SIM_EXIT_BAD_INPUT;
    }
    int status = SIM_EXIT_BAD_INPUT;
    if (!live_run(&h, a, file, &e)) {
        fprintf(stderr, "ckptsim live: %s: %s\n", file, e->message);
        g_error_free(e);
    } else if (startup_failure(&h)) {
        fprintf(stderr, "ckptsim live: %s: %s\n", file, h.result.exit_message);
    } else {
        status = h.violations->len == 0 ? SIM_EXIT_OK : SIM_EXIT_VIOLATION;
        if (print)
            sim_live_print(&h, a->json, file);
        if (sum != NULL) {
            sum->records_committed = h.stats.records_committed;
            sum->checkpoints_completed = h.stats.checkpoints_completed;
            sum->violations = h.violations->len;
        }
    }
    sim_live_host_clear(&h);
    sim_scenario_free(s);
    return status;
}

/* ------------------------------------------------------------------ child */

static int run_child(const SimLiveArgs *a, const char *file) {
    RtLiveProcessConfig pc;
    memset(&pc, 0, sizeof pc);
    if (!rt_live_role_parse(a->role, &pc.role) || a->storage == NULL || a->id < 0) {
        fprintf(stderr, "ckptsim live: child mode needs --role, --id and --storage\n");
        return SIM_EXIT_BAD_INPUT;
    }
    GError *e = NULL;
    SimScenario *s = sim_scenario_load(file, or_empty(a->sets), &e);
    if (s == NULL) {
        sim_cli_print_error("ckptsim live", e);
        g_error_free(e);
        return SIM_EXIT_BAD_INPUT;
    }
    uint64_t seed = s->seed, bugs = 0;
    if ((a->seed != NULL && !sim_cli_parse_seed(a->seed, &seed)) ||
        !sim_cli_parse_bugs(or_empty(a->bugs), &bugs)) {
        sim_scenario_free(s);
        return SIM_EXIT_BAD_INPUT;
    }
    RtProcessId jm_ids[RT_CLUSTER_MAX_PROCESSES], tm_ids[RT_CLUSTER_MAX_PROCESSES];
    for (uint32_t i = 0; i < s->n_jobmanagers; i++)
        jm_ids[i] = i;
    for (uint32_t i = 0; i < s->n_workers; i++)
        tm_ids[i] = s->n_jobmanagers + i;
    RtClusterSpec cluster;
    sim_scenario_cluster_spec(s, jm_ids, tm_ids, &cluster);
    RtJobSpec spec = {&s->graph, s->config, &cluster};
    pc.process_id = (RtProcessId)a->id;
    pc.base_port = (uint16_t)a->base_port;
    pc.storage_root = a->storage;
    pc.event_fd = a->event_fd;
    pc.secret_fd = a->secret_fd;
    pc.origin_us = a->origin_us;
    pc.seed = seed;
    pc.bugs = bugs;
    int status = rt_live_process_main(&pc, &spec);
    sim_scenario_free(s);
    return status;
}

/* ------------------------------------------------------------------ command */

static void args_clear(SimLiveArgs *a) {
    g_free(a->seed);
    g_strfreev(a->sets);
    g_strfreev(a->bugs);
    g_free(a->dir);
    g_free(a->time_limit);
    g_free(a->role);
    g_free(a->storage);
}

int sim_cmd_live(int argc, char **argv) {
    SimLiveArgs a;
    memset(&a, 0, sizeof a);
    a.id = -1;
    a.event_fd = -1;
    a.secret_fd = -1;
    GOptionContext *ctx = sim_live_option_context(&a);
    int status = SIM_EXIT_BAD_INPUT;
    GError *e = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &e)) {
        fprintf(stderr, "ckptsim live: %s (see --help)\n", e->message);
        g_error_free(e);
    } else if (argc != 2) {
        fprintf(stderr, "ckptsim live: expected one SCENARIO file (see --help)\n");
    } else if (a.base_port < 0 || a.base_port > 65535) {
        fprintf(stderr, "ckptsim live: --base-port %d: expected 1..65535\n", a.base_port);
    } else {
        status = a.role != NULL ? run_child(&a, argv[1]) : sim_live_run(&a, argv[1], true, NULL);
    }
    g_option_context_free(ctx);
    args_clear(&a);
    return status;
}
