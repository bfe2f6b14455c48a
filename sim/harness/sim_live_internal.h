/* sim_live_internal.h - what the two files of `ckptsim live` share: sim_live.c (the
 * command, the fault plan, the oracle feed) and sim_live_support.c (options, the run's
 * state, the oracle's view of the real files, output). Not for other modules. */
#ifndef SIM_LIVE_INTERNAL_H
#define SIM_LIVE_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/live/rt_live_cluster.h"
#include "sim/harness/sim_oracle.h"
#include "sim/harness/sim_scenario.h"

/* Live runs keep going at least this long after the job finished: the last commits and
 * their events are on their way through pipes. */
#define SIM_LIVE_MIN_DRAIN_NS 300000000ull

typedef struct SimLiveArgs {
    char *seed;
    char **sets;
    char **bugs;
    char *dir;
    int base_port; /* 0: picked */
    gboolean json;
    char *time_limit; /* a duration; NULL: the scenario's time-limit */
    /* hidden child mode */
    char *role;
    int id; /* process id, -1 when absent */
    int event_fd;
    int secret_fd; /* the run's secret comes through this fd (-1: none, cannot start) */
    gint64 origin_us;
    char *storage;
} SimLiveArgs;

/* The oracle's read-only view of the run's real storage root; paths starting with '/'
 * are snapshots of the zookeeper state backend, read from the server at zk_quorum. */
/*
 * Kept files. The oracle decodes a checkpoint when its completion is delivered, which is
 * the launcher's reorder lag after it happened; by then a later checkpoint may have
 * subsumed it and its files may be gone (the simulator has no such gap). So when a
 * completion *arrives*, its metadata and snapshots are read at once and kept; while the
 * oracle checks that completion (delivering_id), a file missing from disk is served
 * from what was kept for that checkpoint, and nothing else ever is: later re-checks
 * (the checkpoint a recovery restores, the latest at the end) see only the disk. */
typedef struct SimLiveKept {
    uint64_t checkpoint_id;
    char *path;   /* owned */
    GBytes *data; /* owned */
} SimLiveKept;

#define SIM_LIVE_MAX_KEPT 100000u

typedef struct SimLiveFiles {
    char *root;             /* owned */
    char *zk_quorum;        /* owned, NULL without ZooKeeper */
    void *zk_reader;        /* RtLiveZkReader*, opened on first use */
    bool zk_failed;         /* opening it failed once: do not retry */
    GArray *kept;           /* SimLiveKept */
    uint64_t delivering_id; /* the completion the oracle is checking now; 0: none */
} SimLiveFiles;

void sim_live_files_init(SimLiveFiles *f, const char *root, const char *zk_quorum);
void sim_live_files_clear(SimLiveFiles *f);
/* Reads and keeps checkpoint_id's metadata (at metadata_path) and snapshots. */
void sim_live_files_keep_checkpoint(SimLiveFiles *f, uint64_t checkpoint_id,
                                    const char *metadata_path);
/* Drops what was kept for checkpoint_id. */
void sim_live_files_forget_checkpoint(SimLiveFiles *f, uint64_t checkpoint_id);
GBytes *sim_live_files_read(void *ctx, const char *path);
char **sim_live_files_list(void *ctx, const char *dir);

typedef struct SimLiveHost SimLiveHost;
typedef struct SimLiveObserver {
    RtObserver base; /* first */
    SimLiveHost *host;
} SimLiveObserver;

struct SimLiveHost {
    const SimScenario *s; /* borrowed */
    uint64_t seed;
    uint64_t time_limit_ns;
    char *dir;        /* the run directory (given, or a new temporary one) */
    bool dir_created; /* we made it up (printed so it can be found) */
    RtLiveCluster *cluster;
    SimLiveObserver observer;
    SimLiveObserver arrival; /* keeps each checkpoint's files when it completes */
    SimOracle *oracle;
    SimLiveFiles files;
    GHashTable *restores;  /* uint64 checkpoint id -> restores arrived, not yet delivered */
    GPtrArray *plan;       /* SimFault*, owned */
    GArray *event_faults;  /* guint: plan indexes of event-triggered faults */
    GArray *event_matches; /* uint32_t per event fault; UINT32_MAX once fired */
    uint32_t faults_planned, faults_fired;
    uint64_t failovers;
    GPtrArray *warnings;   /* char* */
    GPtrArray *violations; /* SimViolation* */
    RtLiveClusterResult result;
    SimOracleStats stats;
    uint64_t end_ns;
};

/* The option context of `ckptsim live` (fills a). */
GOptionContext *sim_live_option_context(SimLiveArgs *a);
/* Seed, time limit and run directory from a and s; false + error on bad input. */
bool sim_live_host_init(SimLiveHost *h, const SimLiveArgs *a, const SimScenario *s, GError **error);
void sim_live_host_clear(SimLiveHost *h);
/* What sim_live_run tells its caller beyond the exit status. */
typedef struct SimLiveSummary {
    uint64_t records_committed;
    uint64_t checkpoints_completed;
    uint32_t violations;
} SimLiveSummary;

/* Runs scenario file live as a with the launcher (no child mode): the exit status of
 * `ckptsim live` (0 pass, 1 violation, 2 bad input); prints the verdict when print;
 * fills *sum (may be NULL) when the run happened. */
int sim_live_run(const SimLiveArgs *a, const char *file, bool print, SimLiveSummary *sum);

/* Prints the verdict (one JSON object, or lines for people) to stdout. */
void sim_live_print(const SimLiveHost *h, bool json, const char *file);

#endif /* SIM_LIVE_INTERNAL_H */
