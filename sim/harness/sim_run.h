/* sim_run.h - one simulated run of a scenario: build the world from the scenario and a
 * seed (+ planted bugs), spawn the job manager and worker processes running the real
 * runtime, install the fault plan, feed every observation event to the oracle (and the
 * metrics when an output directory is asked for), run until the job finishes (then a
 * short drain) or the time limit / step budget, and ask the oracle for the verdict.
 *
 * Process ids: jobmanager-N is process N-1; worker-N is process n_jobmanagers + N-1
 * (the world hands out ids in spawn order).
 *
 * Faults. Timed faults are kernel events scheduled before the run starts. A fault
 * triggered by an observation event is scheduled as a separate kernel event at the
 * event's time plus its delay: a process is never crashed from inside its own callback.
 * No fault fires at or after [scenario] faults-stop-at. Role targets (leader, standby,
 * host of OP[I]) are resolved when the fault fires, by the coverage tracker
 * (sim_coverage.h), which also judges whether each fault was effective and adds the
 * harness-side `coverage` invariant to the verdict. The plan is the scenario's
 * [faults] in file order followed by the random faults materialized from the seed;
 * SimRunOptions.keep restricts it to a subset (fault numbers are 1-based positions in
 * that plan), which is how `ckptsim shrink` cuts a failing plan down.
 *
 * Determinism: a run is a pure function of (scenario text, --set options, seed, bugs,
 * kept faults); the trace hash is the world's.
 */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/harness/sim_coverage.h"
#include "sim/harness/sim_oracle.h"
#include "sim/harness/sim_scenario.h"

#define SIM_RUN_ERROR (sim_run_error_quark())
GQuark sim_run_error_quark(void);
typedef enum {
    SIM_RUN_ERROR_CONFIG, /* the runtime rejected the configuration (names the key) */
    SIM_RUN_ERROR_OUTPUT, /* writing the --out directory failed */
} SimRunError;

#define SIM_RUN_INVARIANT_EXPECT "expect" /* a failed [expect] count (harness-side) */

typedef struct SimRunOptions {
    uint64_t seed;
    uint64_t bugs;          /* RtBug mask */
    const char *out_dir;    /* NULL: no metrics; else metrics, trace and report there */
    bool stop_at_first;     /* end the run at the first violation */
    bool has_keep;          /* restrict the fault plan to keep[] */
    const uint32_t *keep;   /* 1-based fault numbers, sorted ascending */
    uint32_t n_keep;
} SimRunOptions;

void sim_run_options_init(SimRunOptions *o, uint64_t seed);

typedef struct SimRunResult {
    bool held;              /* every invariant and expectation held */
    GPtrArray *violations;  /* SimViolation*, owned (frees its elements) */
    uint64_t trace_hash;
    uint64_t sim_time_ns;   /* simulated time at the end */
    uint64_t steps;         /* kernel events dispatched */
    const char *end_reason; /* static: "job finished", "time limit", "step budget",
                               "violation", "no events" */
    uint64_t failovers;     /* job restarts: new attempts the leader deployed after the
                               first (once per restart, sim_coverage.h) */
    uint32_t faults_planned;/* faults in the (kept) plan */
    uint32_t faults_fired;  /* of which fired */
    uint32_t faults_effective; /* of which effective (sim_coverage.h) */
    GPtrArray *expected;    /* SimViolation*, owned: violations of [expect]
                               expected-violations (Flink's known behaviour), not counted */
    GPtrArray *facts;       /* char*, owned: HA irregularities Flink permits (a zombie's
                               publish), reported, not violations */
    SimCoverageReport coverage; /* per fault planned/fired/effective, leader changes */
    SimOracleStats oracle;
} SimRunResult;

/* Runs s once. Returns false + error only when the run could not be set up (the
 * runtime rejected the configuration: bad input) or --out could not be written; a
 * violation is a successful run with held = false. out must be cleared with
 * sim_run_result_clear. */
bool sim_run(const SimScenario *s, const SimRunOptions *opt, SimRunResult *out,
             GError **error);
void sim_run_result_clear(SimRunResult *r);

/* The fault plan of s for seed: [faults] then the materialized random faults
 * (SimFault*, new array that frees its elements). Random faults are drawn over the job's
 * active window: from min(end / 10, 200 ms) to end = min(faults-stop-at, 70% of the
 * estimate), where the estimate is sim_run_active_estimate_ns. */
GPtrArray *sim_run_fault_plan(const SimScenario *s, uint64_t seed);

/* How long the job's sources emit, estimated from the scenario: the largest records /
 * rate over the source operators; faults-stop-at when a source is unthrottled (rate 0). */
uint64_t sim_run_active_estimate_ns(const SimScenario *s);

#endif /* SIM_RUN_H */
