/* sim_coverage.h - the harness-side invariant "coverage": a run proves what it exercised.
 *
 * The tracker follows the observation stream with a god's-eye view of the job: which
 * job manager leads (RT_EV_LEADER_GAINED / LOST with HA; without HA jobmanager-1 while it
 * is up), which attempt the leader deployed and which worker hosts each subtask in it
 * (RT_EV_RESTORE from the job manager, b = the worker), whether that attempt still runs,
 * which processes are up and hold a ZooKeeper session, and which checkpoints are still in
 * flight. With it the harness resolves role targets when a fault fires (leader, standby,
 * host of OP[I]), counts job restarts (each new attempt the leader deploys after the
 * first: once per restart, whatever the number of failover events), lists the leader
 * changes, and judges each fault of the plan:
 *
 *   planned   - in the (kept) plan;
 *   fired     - its trigger came before faults-stop-at and the action ran;
 *   effective - it hit a process doing work, by the rules of scenarios/README.md
 *               ("Coverage"): e.g. a crash of a worker that hosts a subtask of the running
 *               attempt, of the leading job manager, a storage error that failed an
 *               operation, a partition of links that carried traffic.
 *
 * sim_coverage_finish turns the record into `coverage` violations: a scripted fault that
 * never fired or had no effect, random faults of which none was effective, a run that
 * emitted no record, completed no checkpoint although checkpointing is on, did not
 * restart after an effective crash of a working process, or completed no checkpoint
 * within the liveness bound after the end of its last effective fault.
 *
 * A new fault kind needs one case in judge_fired() (sim_coverage.c): what it must hit.
 */
#ifndef SIM_COVERAGE_H
#define SIM_COVERAGE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_observe.h"
#include "sim/faults/sim_fault_plan.h"
#include "sim/world/sim_net.h"
#include "sim/world/sim_storage.h"

#define SIM_RUN_INVARIANT_COVERAGE "coverage" /* harness-side, like "expect" */
#define SIM_COVERAGE_NONE (UINT32_MAX - 1)    /* no such process (SIM_NET_ANY is "*") */

/* The report of one fault of the plan. */
typedef struct SimFaultReport {
    char *name;        /* owned */
    char *text;        /* owned */
    uint32_t number;   /* 1-based position in the full plan */
    bool random;       /* materialized from [random-faults] */
    bool fired;
    uint64_t fired_ns;
    bool effective;
    char *why;         /* owned: what it hit, or why it had no effect / never fired */
} SimFaultReport;

typedef struct SimLeaderChange {
    uint64_t time_ns;
    uint32_t process;  /* job manager process id */
} SimLeaderChange;

/* What a run's coverage came to (filled by sim_coverage_finish). */
typedef struct SimCoverageReport {
    SimFaultReport *faults; /* owned, n_faults */
    uint32_t n_faults;
    uint32_t fired, effective;
    uint64_t restarts;      /* job restarts (new attempts the leader deployed) */
    SimLeaderChange *leaders; /* every leadership start, in time order; owned */
    uint32_t n_leaders;
    uint32_t leader_changes;  /* n_leaders - 1 (0 with none) */
} SimCoverageReport;

void sim_coverage_report_clear(SimCoverageReport *r);

typedef struct SimCoverage SimCoverage;

/* The world the judge may look at (borrowed; net and storage may be NULL in tests). */
typedef struct SimCoverageWorld {
    SimNet *net;
    SimStorage *storage;
    uint32_t n_processes;
} SimCoverageWorld;

typedef struct SimCoverageParams {
    uint32_t n_jobmanagers, n_workers;
    bool ha;                   /* leadership comes from RT_EV_LEADER_GAINED */
    bool checkpointing;        /* execution.checkpointing.interval is set */
    uint64_t liveness_bound_ns;
} SimCoverageParams;

/* A tracker for one run of graph (borrowed, outlives it). */
SimCoverage *sim_coverage_new(const RtJobGraph *graph, const SimCoverageParams *params,
                              const SimCoverageWorld *world);
void sim_coverage_free(SimCoverage *c);

/* Adds fault f (borrowed, outlives c) of the plan; returns its index in c. */
uint32_t sim_coverage_add_fault(SimCoverage *c, const SimFault *f, uint32_t number,
                                bool random);

/* Feeds one observation event. Also judges faults whose effect shows only after their
 * interval (partitions, spikes) at the first event at or after its end. */
void sim_coverage_event(SimCoverage *c, const RtEvent *ev);

/* Role resolution at fire time (SIM_COVERAGE_NONE when nobody fits). */
uint32_t sim_coverage_resolve(const SimCoverage *c, SimProcRef ref, uint32_t this_pid);

/* What the fault did when it fired; filled by the harness while applying it. */
typedef struct SimFaultFiring {
    uint64_t now_ns;
    uint32_t target;         /* resolved target (SIM_COVERAGE_NONE: unresolved) */
    uint32_t peer;           /* SPIKE: resolved peer (SIM_NET_ANY for '*') */
    uint64_t side_a;         /* PARTITION: process ids on side a, bit = pid */
    uint64_t trigger_ckpt;   /* EVENT: the triggering event's checkpoint id */
    uint64_t storage_rule;   /* STORAGE_ERROR: the rule sim_storage_fail_next returned */
    uint32_t zk_expired;     /* ZK_EXPIRE: sessions expired */
} SimFaultFiring;

/* Fault i fired (call before the action is applied: the judge looks at the state it
 * lands in; then call sim_coverage_fault_applied with what the action reported). */
void sim_coverage_fault_fired(SimCoverage *c, uint32_t i, SimFaultFiring *firing);
void sim_coverage_fault_applied(SimCoverage *c, uint32_t i, const SimFaultFiring *firing);

/* When the effects of the fired faults ended: the latest end of any of them (a crash's
 * restart, a partition's, spike's, pause's or ZooKeeper fault's end, else the firing
 * time); 0 when none fired. */
uint64_t sim_coverage_quiet_since(const SimCoverage *c);

/* Job restarts so far. */
uint64_t sim_coverage_restarts(const SimCoverage *c);

/* Ends the record at end_ns: judges what is still open, appends the coverage
 * violations (SimViolation*) to violations, and fills *out. checks = false skips the
 * violations (the run stopped early) but still fills *out. */
void sim_coverage_finish(SimCoverage *c, uint64_t end_ns, bool checks, GPtrArray *violations,
                         SimCoverageReport *out);

#endif /* SIM_COVERAGE_H */
