/* rt_live_cluster.h - a live cluster: the runtime's job manager and worker processes as
 * real operating-system processes on this machine, and the launcher that runs them.
 *
 * The launcher (rt_live_cluster_*) runs in the parent process. It re-executes the
 * running program (/proc/self/exe) once per job manager and worker with the host's
 * arguments (RtLiveClusterConfig.child_args) followed by the child-mode options
 *   --role jobmanager|worker --id PROCESS_ID --event-fd 3 --secret-fd 4 --origin-us T
 *   --base-port P --storage ROOT
 * The run's secret (32 bytes from /dev/urandom, fresh per run) reaches each child
 * through fd 4, a pipe the launcher fills and closes: never on a command line, in the
 * environment or in a file. Only holders of the secret pass the wire's handshake
 * (rt_live_wire.h).
 * and the host's child mode calls rt_live_process_main() with the job it loaded. Process
 * ids are as in the simulator: jobmanager-N is process N-1, worker-N is process
 * n_jobmanagers + N-1; process p listens on 127.0.0.1:(base_port + p).
 *
 * The run directory DIR (created; must be empty or absent) holds:
 *   DIR/storage/        the storage root shared by every process (checkpoints, sink)
 *   DIR/logs/NAME.log   each process's stdout and stderr (appended across restarts)
 *   DIR/events.jsonl    every observation event in delivery order (rt_live_events.h)
 *
 * Time: every process's env counts from the same origin (the launcher's start on the
 * system-wide monotonic clock), so event times of different processes compare.
 *
 * Events: each process writes its observation events as JSON lines to a pipe; the
 * launcher merges the pipes and delivers the events to its observer in (time, process,
 * arrival) order, holding each event reorder_lag_ns so that a slower pipe can catch
 * up. An event that arrives after a later one was delivered is delivered with the time
 * of the last delivered one (counted in late_events): the observer always sees time
 * go forward. The launcher adds RT_EV_WORLD_FAULT / RT_EV_WORLD_CRASH /
 * RT_EV_WORLD_RESTART events for the faults it injects. The observer runs on the
 * launcher's loop and may schedule faults (rt_live_cluster_crash_at).
 *
 * End: the run ends drain_ns after a process reports RT_EV_JOB_FINISHED, at the time
 * limit, or when a process exits on its own (a runtime failure). The launcher then
 * sends SIGTERM to every child (SIGKILL after RT_LIVE_CLUSTER_STOP_GRACE_NS), reaps
 * them, reads their pipes to the end and delivers what is left.
 *
 * Lifecycle: rt_live_cluster_new -> rt_live_cluster_crash_at ... -> rt_live_cluster_run
 * (once) -> rt_live_cluster_free. Not thread-safe; uses its own GMainContext.
 */
#ifndef RT_LIVE_CLUSTER_H
#define RT_LIVE_CLUSTER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_cluster.h"
#include "runtime/env/rt_env.h"

#define RT_LIVE_CLUSTER_ERROR (rt_live_cluster_error_quark())
GQuark rt_live_cluster_error_quark(void);
typedef enum {
    RT_LIVE_CLUSTER_ERROR_DIR,       /* the run directory cannot be used */
    RT_LIVE_CLUSTER_ERROR_PORT,      /* a TCP port is taken, or no free range found */
    RT_LIVE_CLUSTER_ERROR_ZOOKEEPER, /* the ZooKeeper quorum is unreachable */
    RT_LIVE_CLUSTER_ERROR_SPAWN,     /* fork / exec / pipe failed */
    RT_LIVE_CLUSTER_ERROR_CONFIG,    /* bad launcher configuration */
} RtLiveClusterError;

#define RT_LIVE_CLUSTER_STOP_GRACE_NS (3000000000ull) /* SIGTERM, then SIGKILL */
#define RT_LIVE_CLUSTER_MAX_FAULTS 1024u
#define RT_LIVE_CLUSTER_MAX_PENDING_EVENTS 1000000u /* held for reordering */

typedef enum { RT_LIVE_ROLE_JOBMANAGER, RT_LIVE_ROLE_WORKER } RtLiveRole;

typedef struct RtLiveClusterConfig {
    const char *const *child_args;  /* NULL-terminated args after argv[0] that make the
                                       program load the same job; borrowed */
    const char *dir;                /* run directory; borrowed */
    uint16_t base_port;             /* 0: the launcher picks a free range */
    uint32_t n_jobmanagers;         /* >= 1 */
    uint32_t n_workers;             /* >= 1; jobmanagers + workers <= RT_CLUSTER_MAX_PROCESSES */
    uint64_t time_limit_ns;         /* the run ends here at the latest */
    uint64_t drain_ns;              /* kept running this long after RT_EV_JOB_FINISHED */
    uint64_t reorder_lag_ns;        /* events are held this long before delivery */
    const char *zk_quorum;          /* non-NULL: checked reachable before starting */
    uint64_t zk_connect_timeout_ns; /* for that check */
    RtObserver *arrival;            /* NULL, or sees each process's events the moment they
                                       are read (per-process order only, before merging):
                                       for work that cannot wait for the ordered delivery,
                                       such as reading a checkpoint's files before a later
                                       checkpoint subsumes them; borrowed */
} RtLiveClusterConfig;

/* Defaults: base_port 0, 1 job manager, 1 worker, time limit 60 s, drain 500 ms,
 * lag 50 ms, no ZooKeeper check (connect timeout 5 s). */
void rt_live_cluster_config_init(RtLiveClusterConfig *cfg);

typedef struct RtLiveClusterResult {
    const char *end_reason; /* static: "job finished", "time limit", "process exited" */
    uint64_t end_time_ns;   /* cluster time when the children were told to stop */
    uint64_t events;        /* delivered to the observer (injected ones included) */
    uint64_t late_events;   /* delivered with a clamped time */
    uint64_t bad_lines;     /* event lines that did not parse (ignored) */
    uint32_t crashes;       /* processes killed by injected faults */
    uint32_t restarts;      /* processes restarted */
    bool unexpected_exit;   /* a child exited on its own before the end */
    int exit_status;        /* that child's exit code, or 128 + signal */
    char *exit_message;     /* owned: "worker-1 exited with status 2: <log tail>" */
    bool job_finished;
} RtLiveClusterResult;

void rt_live_cluster_result_clear(RtLiveClusterResult *r);

typedef struct RtLiveCluster RtLiveCluster;

/* Checks the configuration, creates DIR (and storage/, logs/), finds or checks the
 * ports and, with zk_quorum, that ZooKeeper answers. observer (borrowed, may be NULL)
 * receives the merged events during rt_live_cluster_run. NULL + error on bad input. */
RtLiveCluster *rt_live_cluster_new(const RtLiveClusterConfig *cfg, RtObserver *observer,
                                   GError **error);
void rt_live_cluster_free(RtLiveCluster *c);

/* The ports in use (base_port + process id) and the storage root (borrowed). */
uint16_t rt_live_cluster_base_port(const RtLiveCluster *c);
const char *rt_live_cluster_storage_root(const RtLiveCluster *c);

/* Schedules a crash (SIGKILL) of process pid at cluster time at_ns (now if in the past),
 * restarted restart_after_ns later when > 0. A crash of a process that is down does
 * nothing. description names the fault in the RT_EV_WORLD_FAULT event (copied). May be
 * called before run or from the observer. False (no error object: it is the host's
 * input) if pid is not a process of the cluster or the fault limit is reached. */
bool rt_live_cluster_crash_at(RtLiveCluster *c, uint64_t at_ns, RtProcessId pid,
                              uint64_t restart_after_ns, const char *description);
/* Schedules a restart of pid at at_ns if it is down then. Same rules as crash_at. */
bool rt_live_cluster_restart_at(RtLiveCluster *c, uint64_t at_ns, RtProcessId pid,
                                const char *description);

/* Starts every process, runs until the end (see above), stops them and delivers the
 * remaining events. Call once. False + error when the processes could not be started
 * (the run then did not happen); otherwise *out (cleared with
 * rt_live_cluster_result_clear) says how it ended. */
bool rt_live_cluster_run(RtLiveCluster *c, RtLiveClusterResult *out, GError **error);

/* ---------------------------------------------------------------- child side */

typedef struct RtLiveProcessConfig {
    RtLiveRole role;
    RtProcessId process_id;
    uint16_t base_port;
    const char *storage_root; /* borrowed */
    int event_fd;             /* JSON lines go here; -1: events are dropped */
    int secret_fd;            /* the run's secret is read from here (then closed) */
    int64_t origin_us;        /* the cluster's time origin (g_get_monotonic_time) */
    uint64_t seed;
    uint64_t bugs; /* planted bugs (rt_bugs.h) */
} RtLiveProcessConfig;

/* The body of a child process: creates its storage, env and job manager or task
 * manager for spec (borrowed), runs the loop until SIGTERM (or the launcher's pipe
 * closes), frees everything and returns the process's exit code: 0 after an orderly
 * stop, 2 when it could not start (the reason is printed to stderr, as no secret on
 * pc->secret_fd). */
int rt_live_process_main(const RtLiveProcessConfig *pc, const RtJobSpec *spec);

/* Parses a role name ("jobmanager" / "worker"). */
bool rt_live_role_parse(const char *name, RtLiveRole *out);

#endif /* RT_LIVE_CLUSTER_H */
