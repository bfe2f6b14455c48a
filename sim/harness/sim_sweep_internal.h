/* sim_sweep_internal.h - what the files of `ckptsim sweep` share: the sweep's state (the
 * work list, the process pool, the results) and the pool (sim_sweep.c), the reports
 * (sim_sweep_report.c: the progress line, the summary, JUnit XML) and the command itself
 * (sim_sweep_cmd.c). Wall-clock time lives only in these files (tests/tidy.sh allows
 * sim/harness/sim_sweep*): it goes to stderr and to the JUnit file, never to stdout. */
#ifndef SIM_SWEEP_INTERNAL_H
#define SIM_SWEEP_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sim/harness/sim_cli.h"

#define SWEEP_MAX_ITEMS 10000000u
#define SWEEP_MAX_JOBS 256
#define SWEEP_MAX_OUTPUT (64u << 20) /* bytes one run may report */

typedef struct SweepItem {
    uint32_t scenario;
    uint64_t seed;
} SweepItem;

typedef struct SweepRunning {
    pid_t pid;
    int fd;
    size_t item;
    uint64_t started_ns; /* wall clock, for the JUnit time of the run */
    GByteArray *buf;
} SweepRunning;

typedef struct Sweep {
    char **files;             /* scenario paths (borrowed from argv) */
    SimScenario **scenarios;  /* loaded, owned; NULL where the file is bad input */
    char **load_errors;       /* per scenario: why it did not load (owned), or NULL */
    uint32_t n_scenarios;
    const char *const *sets;
    const char *const *bugs;
    uint64_t mask;
    const char *out_dir;
    const char *metrics_dir;  /* --metrics: each run's metrics in DIR/NAME/seed-N */
    bool json, stop_at_first;
    bool quiet_passes;        /* print only violations, crashes, errors and the summary */
    bool progress;            /* keep a progress line on stderr */
    bool progress_tty;        /* ... redrawn in place (stderr is a terminal) */
    bool interruptible;       /* SIGINT/SIGTERM stop the sweep (children ignore them) */
    uint32_t jobs;
    SweepItem *items;
    size_t n_items;
    SimCliOutcome **results;  /* per item, NULL until done */
    double *run_s;            /* per item: wall seconds from fork to reap */
    SweepRunning running[SWEEP_MAX_JOBS];
    uint32_t n_running;
    size_t next_item, next_print;
    bool stop;                /* --stop-at-first reached */
    int interrupted;          /* the signal that stopped the sweep, 0 if none */
    /* progress (every finished run, in any order) */
    uint64_t t0_ns, last_progress_ns;
    size_t done, done_violations;
    bool progress_shown;      /* a progress line is on the terminal now */
    /* summary (runs printed, in work-list order) */
    size_t runs, violations, errors;
    bool has_first;
    size_t first_item;
    const SimCliJob *given;   /* sim_sweep_execute: the jobs themselves, nothing printed */
} Sweep;

/* sim_sweep.c */
uint64_t sim_sweep_wall_ns(void);
/* The job of work-list item i. */
void sim_sweep_make_job(const Sweep *sw, size_t item, SimCliJob *job);
/* Runs the work list (stops early at --stop-at-first or on SIGINT/SIGTERM when
 * interruptible), printing results in order as they come. */
void sim_sweep_run_all(Sweep *sw);
/* Installs (true) or restores (false) the SIGINT/SIGTERM handlers of an interruptible
 * sweep; the handler only records the signal. */
void sim_sweep_catch_signals(bool on);
/* The signal caught since the handlers were installed, 0 if none. */
int sim_sweep_caught_signal(void);

/* sim_sweep_report.c */
/* Prints one result on stdout unless it is a pass and quiet_passes; counts it. */
void sim_sweep_report_result(Sweep *sw, size_t item);
/* Redraws the progress line (at most every 100 ms on a terminal and every second
 * elsewhere, unless force). */
void sim_sweep_progress(Sweep *sw, bool force);
/* Erases the progress line from the terminal (before other output). */
void sim_sweep_progress_clear(Sweep *sw);
void sim_sweep_print_summary(const Sweep *sw, const char *seeds, const char *shard);
/* Checks before the first run that path can be written (its folder exists and is
 * writable, it is not a folder); prints why not. */
bool sim_sweep_junit_check_path(const char *path);
/* Writes the JUnit XML of every run that finished (and every scenario that failed to
 * load) atomically to path; timestamp is ISO 8601 local time of the start. */
bool sim_sweep_write_junit(const Sweep *sw, const char *path, const char *timestamp,
                           double total_s, const char *seeds, const char *shard);

#endif /* SIM_SWEEP_INTERNAL_H */
