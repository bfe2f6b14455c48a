/* sim_scenario.h - loading a scenario file: the job, the cluster, the Flink config, the
 * network model, the fault plan and the expectations of one simulated run.
 *
 * The format is a GKeyFile (.ini) documented in scenarios/README.md; [config] also takes
 * Flink's config.yaml habit "key: value". GKeyFile keeps no line numbers, so the loader
 * pre-scans the text itself and maps every (section, key) to its line: every error reads
 * "FILE:LINE: [section] key: message" (for a --set override: "FILE: --set KEY=VALUE:
 * [section] key: message"; no ":LINE" where there is none), see sim_keys.h. Unknown
 * sections and keys are errors, with the nearest valid name suggested when one is close.
 * The errors are reported in input order, at most SIM_ERRLIST_MAX of them then "... and
 * N more", one per line, in one GError of domain SIM_SCENARIO_ERROR; the CLI exits 2.
 * Inputs are size-checked before they are read (sim_read_text_file), and a job too large
 * for memory is refused before anything is allocated for it.
 *
 * --set overrides (as Flink's -D): "section.key=value" for scenario keys (section one of
 * scenario, cluster, network, faults, random-faults, expect, edges, config, or
 * "operator.NAME.key"); any other "key=value" is a Flink key of [config]
 * (e.g. state.backend.type=filesystem).
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_cluster.h"
#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_config.h"
#include "sim/faults/sim_fault_plan.h"
#include "sim/world/sim_net.h"

#define SIM_SCENARIO_ERROR (sim_scenario_error_quark())
GQuark sim_scenario_error_quark(void);
typedef enum {
    SIM_SCENARIO_ERROR_READ,    /* the file cannot be read */
    SIM_SCENARIO_ERROR_INVALID, /* syntax, unknown key, bad value, missing/dangling name */
} SimScenarioError;

#define SIM_SCENARIO_MAX_BYTES (1u << 20) /* a scenario file is at most 1 MiB */
#define SIM_SCENARIO_MAX_ERRORS 20u       /* errors listed before "... and more" */
#define SIM_SET_MAX_COUNT 4096u           /* --set arguments of one run */
#define SIM_SET_MAX_BYTES (1u << 20)      /* their total length */
#define SIM_SCENARIO_MAX_OPERATORS 64u
#define SIM_SCENARIO_MAX_LINKS 64u

/* A per-link override of the default latency: between two processes, both directions. */
typedef struct SimLinkSpec {
    SimProcRef a, b;
    SimLatency latency;
} SimLinkSpec;

typedef struct SimExpect {
    bool exactly_once;                  /* default true */
    bool consistent_cuts;               /* default true */
    bool liveness;                      /* default true */
    bool coverage;                      /* default true: the run proves what it exercised */
    uint64_t min_completed_checkpoints; /* default 0 */
    uint64_t min_failovers;             /* default 0 */
    /* Invariants the run must violate (Flink's known behaviour, e.g. duplicates after a
     * job manager crash without HA), NULL-terminated, owned; NULL = none. Their
     * violations are reported as expected; one that does not happen is a violation of
     * "expect". */
    char **expected_violations;
} SimExpect;

typedef struct SimScenario {
    char *path;        /* as given (for messages); owned */
    char *text;        /* the file's text, before --set (capsules embed it); owned */
    char *name;        /* [scenario] name */
    char *description; /* may be "" */
    uint64_t seed;     /* default seed */
    uint64_t time_limit_ns, faults_stop_ns, liveness_bound_ns, drain_ns;
    uint64_t max_steps;

    uint32_t n_jobmanagers, n_workers, slots_per_worker;
    RtJobGraph graph;  /* operators in declaration order */
    RtConfig *config;  /* [config] after --set; owned */
    GPtrArray *notes;  /* char*: "KEY: note" for deprecated or not modelled keys; owned */

    SimLatency latency;         /* [network] latency (sim_net.h syntax) */
    uint64_t detection_delay_ns;
    bool has_detection_delay;
    GArray *links;              /* SimLinkSpec */

    uint64_t zk_tick_ns;        /* [zookeeper] tick-time: the ensemble's tickTime */
    uint32_t zk_servers;        /* [zookeeper] servers: ensemble size */
    uint64_t zk_follower_lag_ns; /* [zookeeper] follower-lag: median follower apply lag */

    GPtrArray *faults;          /* SimFault*: [faults] in file order; owned */
    SimRandomFaults random;     /* [random-faults] */
    SimExpect expect;
} SimScenario;

/* Loads path, applies the --set overrides (NULL-terminated "KEY=VALUE" strings, may be
 * NULL) and validates everything. Returns NULL + error on any problem. */
SimScenario *sim_scenario_load(const char *path, const char *const *sets, GError **error);
/* Same from text; display_path names it in messages (e.g. the capsule's path). */
SimScenario *sim_scenario_load_text(const char *display_path, const char *text,
                                    const char *const *sets, GError **error);
void sim_scenario_free(SimScenario *s);

/* Reads the text file path of at most max bytes into *text (NUL-terminated, newly
 * allocated): refuses at once, before reading anything, what is not a regular file
 * (/dev/zero, a FIFO, a directory) and a file whose size is over max (a sparse file
 * too), and refuses a file with NUL bytes or invalid UTF-8. what names the input in
 * messages ("scenario", "Flink config"). Errors: SIM_SCENARIO_ERROR_READ, "PATH: ...". */
bool sim_read_text_file(const char *path, size_t max, const char *what, char **text,
                        GError **error);

/* The spec a runtime process needs, built from s and its cluster's process ids
 * (jobmanagers first, then workers, in order). The graph and config stay owned by s. */
void sim_scenario_cluster_spec(const SimScenario *s, const RtProcessId *jm_ids,
                               const RtProcessId *worker_ids, RtClusterSpec *out);

/* "linear" -> operator index, or -1. */
int32_t sim_scenario_operator(const SimScenario *s, const char *name);

#endif /* SIM_SCENARIO_H */
