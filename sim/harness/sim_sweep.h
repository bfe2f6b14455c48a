/* sim_sweep.h - the sweep's process pool for other subcommands (ckptsim museum): a list
 * of runs, each executed in its own forked process as `ckptsim sweep` does (a run that
 * dies is reported as a "crash" outcome of that run, not the caller's death). */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "sim/harness/sim_cli.h"

/* Runs jobs[0..n) (borrowed), at most parallel (1..256) at once, and fills out[i] with
 * job i's outcome (clear each with sim_cli_outcome_clear). Prints nothing. */
void sim_sweep_execute(const SimCliJob *jobs, size_t n, uint32_t parallel, SimCliOutcome *out);

#endif /* SIM_SWEEP_H */
