/* rt_live_cluster_internal.h - the launcher's state, shared by rt_live_cluster.c (the
 * run) and rt_live_cluster_setup.c (checks before the run). Not for other modules. */
#ifndef RT_LIVE_CLUSTER_INTERNAL_H
#define RT_LIVE_CLUSTER_INTERNAL_H

#include <stdio.h>

#include "runtime/live/rt_live_cluster.h"
#include "runtime/live/rt_live_wire.h"

typedef struct RtLiveCluster RtLiveCluster;

/* An event waiting in the reorder buffer. */
typedef struct LiveEvent {
    RtEvent ev;   /* ev.detail == detail */
    char *detail; /* owned, may be NULL */
    uint64_t seq; /* arrival order: the last tie-breaker */
} LiveEvent;

/* The read end of one incarnation's event pipe (it outlives the process: what a killed
 * process wrote is still read). */
typedef struct Reader {
    RtLiveCluster *c;
    RtProcessId pid;
    int fd;
    GSource *src;
    GString *buf; /* bytes after the last complete line */
} Reader;

typedef struct Proc {
    RtLiveCluster *c;
    RtProcessId id;
    RtLiveRole role;
    char *name;     /* "worker-1" */
    char *log_path; /* DIR/logs/NAME.log */
    GPid pid;       /* 0 while down (reaped) */
    GSource *watch; /* child watch of pid */
    uint32_t incarnation;
    bool killing; /* we signalled it: its exit is expected */
    bool restart_when_reaped;
} Proc;

typedef struct Fault {
    RtLiveCluster *c;
    uint64_t at_ns; /* cluster time */
    RtProcessId pid;
    bool crash; /* else restart */
    uint64_t restart_after_ns;
    char *description; /* NULL: no RT_EV_WORLD_FAULT event */
    GSource *src;      /* pending timer, NULL once fired or cancelled */
} Fault;

struct RtLiveCluster {
    RtLiveClusterConfig cfg; /* copy; its pointers are cleared (see fields below) */
    char **child_args;
    char *dir, *storage_root, *logs_dir, *exe;
    RtObserver *observer;
    RtObserver *arrival; /* cfg.arrival */
    GMainContext *ctx;
    GMainLoop *loop;
    uint16_t base_port;
    RtLiveSecret secret; /* the run's, drawn by rt_live_cluster_new */
    uint32_t n_procs;
    uint32_t n_jobmanagers; /* procs[0 .. n_jobmanagers) are job managers */
    Proc procs[RT_CLUSTER_MAX_PROCESSES];
    GPtrArray *readers; /* Reader* */
    GPtrArray *faults;  /* Fault*, owned */
    GArray *pending;    /* LiveEvent */
    uint64_t next_seq;
    uint64_t last_delivered_ns;
    int64_t origin_us; /* g_get_monotonic_time() at the start; 0 before */
    bool running, stopping, ran;
    GSource *tick_src, *limit_src, *drain_src, *grace_src, *deadline_src;
    FILE *events_file;
    RtLiveClusterResult res;
};

/* A cluster with its processes named and nothing checked or created. */
RtLiveCluster *rt_live_cluster_alloc(const RtLiveClusterConfig *cfg, RtObserver *observer);
/* Cluster time, ns since the run's origin (0 before the run). */
uint64_t rt_live_cluster_now_ns(const RtLiveCluster *c);

#endif /* RT_LIVE_CLUSTER_INTERNAL_H */
