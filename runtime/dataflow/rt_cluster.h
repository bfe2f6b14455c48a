/* rt_cluster.h - how a host (the simulator's harness, or the live launcher) starts the
 * runtime's processes. A cluster is one or more job manager processes (the first is
 * the leader without HA; with HA the others are standbys) and worker processes that
 * host subtasks in slots, as Flink's JobManager and TaskManagers.
 *
 * Lifecycle: the host creates an RtEnv per process, then calls *_new in it. *_free
 * releases everything the instance owns without any I/O and without running callbacks:
 * the host uses it both for an orderly stop and to model a crash (after which the
 * world itself forgets that process's timers, channels and pending I/O).
 *
 * Ports (RtTransport): job managers listen on RT_PORT_JOBMANAGER (control RPC),
 * task managers listen on RT_PORT_TASKMANAGER (control from the JM) and
 * RT_PORT_DATA (data channels between subtasks).
 */
#ifndef RT_CLUSTER_H
#define RT_CLUSTER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_config.h"
#include "runtime/env/rt_env.h"

enum {
    RT_PORT_JOBMANAGER = 1,
    RT_PORT_TASKMANAGER = 2,
    RT_PORT_DATA = 3,
};

#define RT_CLUSTER_MAX_PROCESSES 64

typedef struct RtClusterSpec {
    uint32_t n_jobmanagers;                         /* >= 1 */
    RtProcessId jobmanagers[RT_CLUSTER_MAX_PROCESSES];
    uint32_t n_workers;                             /* >= 1 */
    RtProcessId workers[RT_CLUSTER_MAX_PROCESSES];
    uint32_t slots_per_worker;                      /* subtasks a worker may host, >= 1 */
} RtClusterSpec;

/* Everything a runtime process needs to know about the job. Borrowed by *_new for the
 * instance's lifetime (the host keeps it alive). */
typedef struct RtJobSpec {
    const RtJobGraph *graph;
    const RtConfig *config;   /* Flink keys: execution.checkpointing.*, state.*, ... */
    const RtClusterSpec *cluster;
} RtJobSpec;

typedef struct RtJobManager RtJobManager;
typedef struct RtTaskManager RtTaskManager;

/* Starts a job manager in env's process: it listens, waits for task managers to
 * register, deploys the job, runs the checkpoint coordinator and drives recovery.
 * Returns NULL + error on a bad configuration (names the key). */
RtJobManager *rt_jobmanager_new(RtEnv *env, const RtJobSpec *spec, GError **error);
void rt_jobmanager_free(RtJobManager *jm);

/* Starts a task manager (worker) in env's process: it registers with the job manager
 * and runs the subtasks deployed to it. */
RtTaskManager *rt_taskmanager_new(RtEnv *env, const RtJobSpec *spec, GError **error);
void rt_taskmanager_free(RtTaskManager *tm);

/* A task manager's network gauges at one moment, summed over its subtasks (Flink's
 * outPoolUsage / inPoolUsage in spirit): buffers finished and waiting for a credit or the
 * wire, credits granted by consumers and not yet used, and items waiting in the subtasks'
 * input queues. */
typedef struct RtTmGauges {
    uint64_t queued_buffers;
    uint64_t credits;
    uint64_t input_queued;
} RtTmGauges;

/* Reads the gauges (read only: no effect on the run). tm may be NULL (all zero). */
void rt_taskmanager_gauges(const RtTaskManager *tm, RtTmGauges *out);

#endif /* RT_CLUSTER_H */
