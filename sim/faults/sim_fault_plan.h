/* sim_fault_plan.h - the fault plan of a scenario: what goes wrong, and when.
 *
 * A fault is a trigger plus an action. Triggers: a simulated time ("at 2 s") or a
 * protocol event observed from the runtime ("when 2nd ckpt_ack of checkpoint 4",
 * "when restore after 1 s",
 * "when align_start of checkpoint 3 on count[1]"). Actions: crash (and optionally
 * restart) a process, restart it, isolate it or partition two sets of processes for a
 * while, add a latency spike on links, expire / disconnect / partition a process's
 * ZooKeeper sessions, or make storage fail (EIO / ENOSPC) under a path
 * prefix for a while. The text syntax is documented in scenarios/README.md; this module
 * parses it into plain values and materializes random faults (at rates) into the same
 * explicit form, so a plan can be listed, masked and shrunk fault by fault.
 *
 * Processes are named jobmanager-N and worker-N (1-based), or "this": the process that
 * emitted the triggering event, or a role resolved when the fault fires: "leader" (the
 * job manager that leads), "standby" (a live job manager that does not lead) or
 * "host of OP[I]" (the worker hosting that subtask in the current attempt). Internally a
 * SimProcRef holds a 0-based index.
 */
#ifndef SIM_FAULT_PLAN_H
#define SIM_FAULT_PLAN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_observe.h"

#define SIM_FAULT_MAX_JOBMANAGERS 8u
#define SIM_FAULT_MAX_WORKERS 32u
#define SIM_FAULT_MAX_FAULTS 4096u /* explicit + materialized random faults of one plan */
#define SIM_FAULT_PREFIX_MAX 128u

typedef enum SimProcKind {
    SIM_PROC_JOBMANAGER,
    SIM_PROC_WORKER,
    SIM_PROC_THIS, /* the process that emitted the triggering event */
    SIM_PROC_ANY,  /* '*': every process (spike endpoints only) */
    /* Roles, resolved by the harness when the fault fires (sim_run.c): */
    SIM_PROC_LEADER,  /* the job manager that leads */
    SIM_PROC_STANDBY, /* the live job manager with the lowest id that does not lead */
    SIM_PROC_HOST,    /* the worker hosting subtask (op, index) in the current attempt */
} SimProcKind;

typedef struct SimProcRef {
    SimProcKind kind;
    uint32_t index; /* 0-based: worker-1 is index 0; HOST: the subtask index */
    uint32_t op;    /* HOST: the operator index */
} SimProcRef;

/* True for the kinds resolved at fire time (this and the roles). */
bool sim_proc_is_dynamic(SimProcRef ref);

/* Process sets for partitions: bit i = jobmanager-(i+1) for i < 8, bit 8+j = worker-(j+1). */
typedef uint64_t SimProcMask;
uint32_t sim_proc_ordinal(SimProcRef ref); /* JOBMANAGER / WORKER refs only */

typedef enum SimTriggerKind {
    SIM_TRIGGER_AT,    /* at a simulated time */
    SIM_TRIGGER_EVENT, /* on the nth observation event matching the filters */
} SimTriggerKind;

typedef struct SimFaultTrigger {
    SimTriggerKind kind;
    uint64_t at_ns;         /* AT: absolute simulated time, ns */
    RtEventKind event;      /* EVENT: the kind to match */
    uint64_t checkpoint_id; /* EVENT: 0 = any checkpoint */
    int32_t op;             /* EVENT: operator index, -1 = any */
    int32_t index;          /* EVENT: subtask index, -1 = any */
    bool has_process;       /* EVENT: filter on the emitting process */
    SimProcRef process;
    uint32_t nth;           /* EVENT: fire on the nth match, >= 1 */
    uint64_t after_ns;      /* EVENT: only events at or after this time count, ns */
    uint64_t delay_ns;      /* EVENT: fire this long after the event, ns */
} SimFaultTrigger;

typedef enum SimFaultKind {
    SIM_FAULT_CRASH,         /* target crashes; restarts after restart_after_ns if > 0 */
    SIM_FAULT_RESTART,       /* target restarts (if down) */
    SIM_FAULT_PARTITION,     /* links between side_a and side_b cut for duration_ns */
    SIM_FAULT_SPIKE,         /* links target -> peer get latency_ns more for duration_ns */
    SIM_FAULT_STORAGE_ERROR, /* the next count storage ops under prefix fail */
    SIM_FAULT_ZK_EXPIRE,     /* every ZooKeeper session of target expires now */
    SIM_FAULT_ZK_DISCONNECT, /* target's ZooKeeper connections drop; no reconnect for
                                duration_ns */
    SIM_FAULT_ZK_PARTITION,  /* target is cut from the ZooKeeper ensemble for duration_ns */
    SIM_FAULT_PAUSE,         /* target stops executing for duration_ns (GC pause, frozen VM) */
    SIM_FAULT_ZK_LEADER_CHANGE, /* the ensemble elects a new leader; every ZooKeeper
                                   connection drops for duration_ns */
    SIM_FAULT_NOTIFY,        /* checkpoint-complete notifications (of checkpoint_id, 0 =
                                the next; to target, SIM_PROC_ANY = all) are dropped,
                                duplicated or delayed by duration_ns (notify_mode) */
} SimFaultKind;

typedef enum SimFaultNotifyMode {
    SIM_FAULT_NOTIFY_DROP,
    SIM_FAULT_NOTIFY_DUPLICATE,
    SIM_FAULT_NOTIFY_DELAY,
} SimFaultNotifyMode;

typedef enum SimStorageErrorKind {
    SIM_STORAGE_EIO,
    SIM_STORAGE_ENOSPC,
} SimStorageErrorKind;

typedef struct SimFaultAction {
    SimFaultKind kind;
    SimProcRef target;          /* CRASH, RESTART, ZK_*, SPIKE (from) */
    SimProcRef peer;            /* SPIKE (to) */
    uint64_t restart_after_ns;  /* CRASH: 0 = stays down */
    uint64_t duration_ns;       /* PARTITION, SPIKE, ZK_DISCONNECT, ZK_PARTITION, PAUSE,
                                   ZK_LEADER_CHANGE */
    uint32_t count;             /* STORAGE_ERROR: operations that fail, >= 1 */
    uint64_t latency_ns;        /* SPIKE: added one-way latency */
    SimProcMask side_a, side_b; /* PARTITION; side_b 0 = every other process */
    bool side_a_this;           /* PARTITION: side a also holds the process target
                                   resolves to when the fault fires ("this" or a role) */
    SimStorageErrorKind storage_error;
    char prefix[SIM_FAULT_PREFIX_MAX]; /* STORAGE_ERROR: path prefix ("" = all) */
    SimFaultNotifyMode notify_mode;    /* NOTIFY */
    uint64_t checkpoint_id;            /* NOTIFY: 0 = the next checkpoint notified */
} SimFaultAction;

typedef struct SimFault {
    char *name; /* the key in [faults], or "random-N"; owned */
    char *text; /* the statement as written (or generated); owned */
    SimFaultTrigger trigger;
    SimFaultAction action;
} SimFault;

/* What names a fault statement may refer to. */
typedef struct SimFaultContext {
    uint32_t n_jobmanagers;
    uint32_t n_workers;
    const RtJobGraph *graph;
} SimFaultContext;

/* Parses a process name (jobmanager-N, worker-N; 1-based, within ctx's cluster). false +
 * *why (allocated) if malformed or out of range. */
bool sim_proc_parse(const char *text, const SimFaultContext *ctx, SimProcRef *out, char **why);
/* "worker-2", "jobmanager-1", "this", "*", "leader", "standby" or "host of OP[I]" (graph
 * may be NULL: the operator is then named by its index); newly allocated. */
char *sim_proc_name(SimProcRef ref);
char *sim_proc_name_in(SimProcRef ref, const RtJobGraph *graph);

/* Parses one fault statement (README syntax). On success fills *out (name and text are
 * copied) and returns true; else returns false and sets *why (newly allocated). */
bool sim_fault_parse(const char *name, const char *text, const SimFaultContext *ctx,
                     SimFault *out, char **why);
void sim_fault_clear(SimFault *f);
SimFault *sim_fault_copy(const SimFault *f);
void sim_fault_free(SimFault *f);

/* The kinds of random faults, in the order they are materialized (and listed). */
/* With a job graph in the context, the worker-targeted kinds target "host of OP[I]" of a
 * random subtask (a worker that has work when the fault fires) and job manager crashes
 * target the leader; without one, a random worker / job manager. */
typedef enum SimRandomKind {
    SIM_RANDOM_CRASH,            /* a random (working) worker crashes (and restarts) */
    SIM_RANDOM_JOBMANAGER_CRASH, /* the leading job manager crashes (and restarts) */
    SIM_RANDOM_SPIKE,            /* latency spike on a random worker's outgoing links */
    SIM_RANDOM_PARTITION,        /* a random worker is isolated */
    SIM_RANDOM_STORAGE_ERROR,    /* one storage operation fails (EIO) */
    SIM_RANDOM_ZK_EXPIRE,        /* a random job manager's ZooKeeper sessions expire */
    SIM_RANDOM_N_KINDS,
} SimRandomKind;

/* Random faults at rates (per simulated second), materialized into explicit AT faults. */
typedef struct SimRandomFaults {
    double crash_rate;            /* worker crashes per s */
    double jobmanager_crash_rate; /* job manager crashes per s */
    uint64_t restart_after_ns;
    double spike_rate;
    uint64_t spike_latency_ns, spike_duration_ns;
    double partition_rate;
    uint64_t partition_duration_ns;
    double storage_error_rate;    /* one failing storage operation (EIO) per event */
    double zk_expire_rate;        /* ZooKeeper session expiries per s (any process) */
    bool swarm; /* swarm testing: each kind with a rate > 0 is on with probability 1/2 */
} SimRandomFaults;

/* "crash", "jobmanager-crash", "spike", "partition", "storage-error", "zk-expire"
 * (static). */
const char *sim_random_kind_name(SimRandomKind kind);

/* The random fault kinds that are on for seed: bit k set = kind k has a rate > 0 and,
 * in swarm mode, was drawn on - with probability 1/2, from the run's stream
 * "faults/swarm/<kind>" of seed (so the draw moves no other stream, and a run without
 * swarm draws nothing). A swarm draw that turns every kind off turns one on instead,
 * drawn uniformly from the stream "faults/swarm/any": a run with random faults
 * configured always has some. A pure function of (rf, seed). */
uint32_t sim_random_faults_enabled(const SimRandomFaults *rf, uint64_t seed);

/* The kinds with a rate > 0 (the swarm's candidates), as a mask like the above. */
uint32_t sim_random_faults_configured(const SimRandomFaults *rf);

/* Appends to faults (SimFault*) the random faults of rf in [0, stop_ns), drawn from the
 * run's stream "faults/random/<kind>" of seed (one stream per kind, so that changing one
 * rate does not move the others), for the kinds sim_random_faults_enabled() turns on,
 * then the anchor fault of sim_fault_plan_add_random_window.
 * Bounded by SIM_FAULT_MAX_FAULTS in total. */
void sim_fault_plan_add_random(GPtrArray *faults, const SimRandomFaults *rf, uint64_t seed,
                               uint64_t stop_ns, const SimFaultContext *ctx);
/* Like sim_fault_plan_add_random, over the window [from_ns, to_ns): the Poisson arrivals
 * start at from_ns. Then one anchor fault is added: its kind uniform among the enabled
 * ones, fired on the first record emitted at or after a time uniform in the window
 * ("when record_emit after T: ..."), both drawn from the stream "faults/random/any", so
 * that a run with random faults has one that lands on a running job. Nothing when
 * from_ns >= to_ns. */
void sim_fault_plan_add_random_window(GPtrArray *faults, const SimRandomFaults *rf,
                                      uint64_t seed, uint64_t from_ns, uint64_t to_ns,
                                      const SimFaultContext *ctx);

/* Trigger event names: the rt_event_kind_name()s ('-' and '_' alike) and short aliases
 * (ack, complete, barrier, precommit, commit...). Returns false if unknown. */
bool sim_fault_event_by_name(const char *name, RtEventKind *out);

#endif /* SIM_FAULT_PLAN_H */
