/* rt_jobmanager_internal.h - the job manager's state, shared by its two files:
 * rt_jobmanager.c (lifecycle, task manager registration, control messages, coordinator
 * hooks) and rt_jobmanager_deploy.c (scheduling, deployment, failover, job end).
 *
 * States: RECOVERING (reading the counter, the store and the attempt from durable
 * storage) -> WAITING (for idle coordinator, registrations and enough slots) ->
 * DEPLOYING (attempt persisted, DEPLOY sent, waiting for every DEPLOYED) -> RUNNING
 * (coordinator started) -> RESTARTING (after a failure, for the restart strategy's delay,
 * rt_restart_strategy.h) -> WAITING ...;
 * FINISHED and FAILED are terminal. Without HA (Flink's standalone services) the
 * RECOVERING step finds no checkpoint: the store starts empty and the ID counter at 1 in
 * memory, so a restarted job manager runs the job again from nothing; the attempt
 * counter stays durable (ckptsim plumbing: Flink's execution attempt ids are unique
 * UUIDs, never reused across job manager processes). Without high availability only the cluster's first
 * job manager leads (rt_cluster.h); any other one is a passive STANDBY that neither
 * listens nor touches storage.
 *
 * With high availability (high-availability.type: zookeeper, rt_jobmanager_ha.c) every
 * job manager runs a leader election and stays STANDBY (not listening: task managers
 * find the leader as the one job manager that accepts them) until granted. A grant
 * opens a *term*: a checkpoint coordinator over a ZooKeeper store, ID counter and
 * attempt counter fenced on the grant's latch node, then RECOVERING as above. Losing
 * leadership ends the term at once: the coordinator stops (no trigger, publish
 * notification or deployment), the listener and every worker channel close (the task
 * managers tear the job down), and the term is retired - kept until its coordinator is
 * idle, since a store write in flight may still finish (fenced in ZooKeeper).
 */
#ifndef RT_JOBMANAGER_INTERNAL_H
#define RT_JOBMANAGER_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/checkpoint/rt_ckpt_coordinator.h"
#include "runtime/checkpoint/rt_restart_strategy.h"
#include "runtime/env/rt_pending_ops.h"
#include "runtime/dataflow/rt_cluster.h"
#include "runtime/dataflow/rt_protocol.h"
#include "runtime/ha/rt_ckpt_store.h"
#include "runtime/ha/rt_ha_client.h"
#include "runtime/ha/rt_leader_election.h"
#include "runtime/state/rt_state_backend.h"

/* How long the first deployment waits for every worker of the cluster to register once
 * enough slots are there (later deployments use whatever live workers there are). */
#define RT_JM_REGISTRATION_GRACE_NS 1000000000ull

typedef enum {
    JM_RECOVERING,
    JM_WAITING,
    JM_DEPLOYING,
    JM_RUNNING,
    JM_RESTARTING,
    JM_FINISHED,
    JM_FAILED,
    JM_STANDBY, /* not the cluster's first job manager, and no HA: stays passive */
} JmState;

typedef struct JmWorker {
    RtJobManager *jm;
    RtProcessId pid;
    RtChannel *ch;            /* NULL when not connected */
    bool registered;          /* REGISTER received on ch */
    uint32_t slots;
    uint32_t n_tasks;         /* subtasks of the current attempt deployed here */
    uint32_t deployed;        /* DEPLOYED count received for the current attempt */
} JmWorker;

/* One leadership term's checkpointing services (without HA: the only term). The
 * coordinator's hooks get the term, so a retired term's late hooks change nothing. */
typedef struct JmTerm {
    RtJobManager *jm;
    RtCkptCoordinator *coord;
    RtCkptStore *store;
    RtCkptIdCounter *counter;
    RtCkptIdCounter *attempts;   /* HA: the fenced job-attempt counter; NULL without HA */
    bool retired;                /* leadership lost: freed once idle */
    bool attempt_busy;           /* an attempt claim is in flight on attempts */
} JmTerm;

struct RtJobManager {
    RtEnv *env;
    const RtJobSpec *spec;
    RtPendingOps ops;            /* contexts of recovery steps and attempt writes in flight */
    JmState state;
    char *job;                   /* job name */
    char *ckpt_dir;              /* state.checkpoints.dir */
    char *attempt_path;          /* <dir>/<job>/job-attempt */
    RtCkptCoordinatorConfig ccfg;
    uint32_t num_retained;
    RtRestartStrategy restart;   /* restart-strategy.*: whether and when to restart */
    RtStateBackend *backend;     /* to discard state handles */
    RtCkptStore *store;
    RtCkptIdCounter *counter;
    RtCkptCoordinator *coord;
    uint32_t attempt;            /* current (last deployed) attempt */
    uint32_t n_subtasks;
    RtSubtaskId *subtasks;       /* every subtask, graph order */
    RtProcessId *location;       /* per subtask, current attempt */
    bool *done;                  /* per subtask: TASK_DONE for the current attempt */
    uint32_t n_done;
    GPtrArray *workers;          /* JmWorker*, sorted by pid */
    RtTimerId restart_timer;
    RtTimerId grace_timer;
    uint64_t first_ready_ns;     /* when enough slots were first there (0 = not yet) */
    bool first_deploy_done;
    bool persisting_attempt;     /* the attempt file write is in flight */
    bool resumed_reported;       /* FAILOVER reported for resuming after a JM restart */
    JmTerm *term;                /* current term (coord/store/counter alias it), or NULL */
    uint64_t term_gen;           /* bumped by every grant and revocation */
    GPtrArray *retired;          /* JmTerm*: ended terms waiting to be idle */
    RtTimerId reap_timer;        /* frees idle retired terms */
    bool ha;                     /* high-availability.type: zookeeper */
    /* Without HA: the checkpoint store and ID counter live in memory, as Flink's
     * StandaloneCompletedCheckpointStore / StandaloneCheckpointIDCounter (a restarted
     * job manager starts the job from nothing); false with the ckptsim-specific
     * ckptsim.jobmanager.recover-without-ha = true (both recovered from durable
     * storage). */
    bool standalone;
    /* jobmanager.execution.failover-strategy: region (Flink's default,
     * RestartPipelinedRegionFailoverStrategy) or full. The regions are computed
     * (rt_job_graph_regions) but every failover restarts the whole job: a failover of
     * a region smaller than the job is reported as such in the FAILOVER event. */
    bool region_failover;
    uint32_t n_regions;
    RtHaClient *ha_client;       /* HA only */
    RtLeaderElection *election;  /* HA only */
    uint64_t leader_session;     /* current grant's fencing token, 0 when not leading */
};

/* rt_jobmanager_deploy.c */
void jm_try_deploy(RtJobManager *jm);
void jm_failover(RtJobManager *jm, const char *cause);
void jm_on_deployed(RtJobManager *jm, JmWorker *w, uint32_t count);
void jm_on_task_done(RtJobManager *jm, RtSubtaskId subtask);
void jm_fail_job(RtJobManager *jm, const char *cause);
/* Tells the restart strategy of a failure now; true with the restart delay in *delay_ns
 * when the job may restart, false when the job must fail. */
bool jm_restart_admit(RtJobManager *jm, uint64_t *delay_ns);
int64_t jm_subtask_index(const RtJobManager *jm, RtSubtaskId subtask);

/* rt_jobmanager_ha.c */
bool jm_ha_start(RtJobManager *jm, GError **error);
void jm_ha_free(RtJobManager *jm);
void jm_reap_schedule(RtJobManager *jm);

/* rt_jobmanager.c */
/* Makes a term of these services (taken) with a coordinator and makes it current. */
JmTerm *jm_term_open(RtJobManager *jm, RtCkptStore *store, RtCkptIdCounter *counter,
                     RtCkptIdCounter *attempts);
/* Frees a term and everything it holds (no callbacks run). */
void jm_term_free(JmTerm *t);
/* True when a retired term may be freed (nothing in flight). */
bool jm_term_idle(const JmTerm *t);
bool jm_listen(RtJobManager *jm, GError **error);
/* The store's discard function (user data: the job manager). */
void jm_store_discard(void *ud, const RtCompletedCheckpoint *cp);
/* Starts the recovery chain (counter -> store -> attempt -> WAITING) of the current term. */
void jm_recover_start(RtJobManager *jm);
JmWorker *jm_worker_find(const RtJobManager *jm, RtProcessId pid);
void jm_send(JmWorker *w, const RtMsg *msg);
void jm_send_all(RtJobManager *jm, const RtMsg *msg, bool only_with_tasks);
void jm_observe(RtJobManager *jm, RtEventKind kind, uint64_t a, const char *detail);

#endif /* RT_JOBMANAGER_INTERNAL_H */
