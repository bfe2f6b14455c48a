/* sim_oracle.h - the oracle: checks a whole run from the simulator's god's-eye view.
 *
 * The oracle is fed every observation event of a run, in order (it is an RtObserver),
 * and reads durable storage directly (never through a process's RtEnv, so reading
 * never perturbs the run). It recomputes every source record (key, value) from the
 * sources' pure generator (rt_source_gen_record, seeded with params.seed) and checks
 * each RT_EV_RECORD_EMIT against it: keys are never taken from the runtime's events.
 * It asserts, on every run:
 *
 *  "exactly-once"   the committed sink output (the committed-<txn> files under
 *                   sink/<op>/<subtask>/, decoded with the sink's format) holds every
 *                   source record (src, offset) of the full, finite input exactly as
 *                   many times as its copies reach that sink *subtask* (paths and
 *                   broadcast fan-out counted; forward, broadcast and keyBy determine the
 *                   subtask, sim_oracle_route.c), with the generator's key. Where a
 *                   rebalance into parallelism > 1 leaves the subtask undetermined, the
 *                   sink's subtasks are compared together (per operator). Every committed
 *                   value is checked: behind a counter, each key's values are exactly
 *                   1..N, each once per copy reaching the subtask (N = the copies of the
 *                   key's records the counter sees), so a stale or skipped count is
 *                   named; with no counter upstream, each value is the source's. Lost
 *                   and duplicated records are named (the first few, with totals), with
 *                   the last checkpoint completed before their emission and the nearest
 *                   fault.
 *  "consistent-cut" every completed checkpoint (RT_EV_CKPT_COMPLETE, detail = metadata
 *                   path), and every restored one (a completion the oracle never saw
 *                   included), is decoded from its real files (metadata, then every
 *                   subtask's snapshot through the state format's decoder) and compared,
 *                   operator by operator, with a reference interpreter run on exactly
 *                   the input the cut includes (the sources' snapshotted offsets, plus the
 *                   channel state for unaligned checkpoints; sim_oracle_state.c):
 *                   counter ValueState = the copies of each key's records; listmap
 *                   MapState = each key's records by value bucket, ListState = its last
 *                   values in arrival order (an interleaving of the in-order streams that
 *                   feed it); each key held only by the subtask owning its key group;
 *                   and each sink subtask's pre-committed, uncommitted transactions of
 *                   the checkpoints after the previous cut = the records that reached it
 *                   between the two cuts (sim_oracle_txn.c). Every referenced file must
 *                   be durable and intact (re-checked for the checkpoint a recovery
 *                   restores and for the latest one at the end). Unaligned, listmap
 *                   buckets and list order are checked against the state's own totals.
 *                   Every operator is checked (one violation never hides another); a
 *                   discrepancy is reported when it appears or changes, not again at
 *                   every later checkpoint.
 *  "liveness"       faults stop at params.faults_end_ns; after that a checkpoint must
 *                   complete within params.checkpoint_bound_ns (unless the job finished
 *                   first), and the job must finish (RT_EV_JOB_FINISHED) before the run
 *                   ends. A run that ends unfinished names what was seen last;
 *                   RT_EV_JOB_FAILED is a liveness violation. Records not committed by
 *                   an unfinished job are not reported as lost (liveness covers it).
 *  "ha-safety"      completed and published checkpoint ids strictly increase across
 *                   leaders; no id is issued twice; only the current leader publishes;
 *                   a restore uses the latest completed checkpoint known at that moment
 *                   (never an older one; a newer one only if its metadata is durable),
 *                   and every subtask of one attempt restores the same checkpoint.
 *  "retention"      when the job finished: of the checkpoints the leader completed after
 *                   the last fault's effect ended (sim_oracle_set_quiet_since; and with
 *                   no injected fault noted since), all but the num-retained newest are
 *                   gone from durable storage: their metadata and every snapshot file or
 *                   znode their state handles point to (Flink's
 *                   CompletedCheckpointStore subsumes the oldest and discards its
 *                   state, CompletedCheckpoint.discardOnSubsume). Checkpoints completed
 *                   earlier may linger (a crashed job manager, a failed delete, another
 *                   store's lock: Flink leaves them too). Off until the harness sets the
 *                   quiet time.
 *
 * With execution.checkpointing.mode = AT_LEAST_ONCE, "more" is allowed everywhere
 * (duplicated records and values are counted in the stats, counts above the cut), "fewer"
 * still is a violation; list order and sink pre-commits are not compared with the cut.
 *
 * Source identity: a record's src is its source subtask index. With several source
 * operators, src is global: the parallelisms of the earlier source operators (in
 * declaration order) plus the subtask index.
 *
 * Memory: the per-record ledger is a few flat arrays indexed by (src, offset) (about 2
 * bytes per record: the dense key index, bit-packed), never a hash entry per record; at
 * the end one 4-bit copy counter per record and one per committed counter value, for one
 * sink subtask at a time. Listmap checks keep per key 16 bucket counts per source
 * operator and the last 4 values per source subtask (keys up to 65536).
 *
 * Determinism: violations are produced in a deterministic order (event order, then
 * sorted by src/offset/key); no pointer values, no hash-table iteration.
 *
 * Lifecycle: sim_oracle_new -> sim_oracle_event (or the observer) for every event ->
 * sim_oracle_finish once -> sim_oracle_free.
 */
#ifndef SIM_ORACLE_H
#define SIM_ORACLE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_config.h"
#include "runtime/env/rt_observe.h"

/* Stable invariant names (they appear in JSON output, capsules and tests). */
#define SIM_INV_EXACTLY_ONCE "exactly-once"
#define SIM_INV_CONSISTENT_CUT "consistent-cut"
#define SIM_INV_LIVENESS "liveness"
#define SIM_INV_HA_SAFETY "ha-safety"
#define SIM_INV_RETENTION "retention"

/* At most this many violations are kept per invariant (later ones are only counted),
 * and at most this many lost or duplicated records are named in one message. */
#define SIM_ORACLE_MAX_VIOLATIONS_PER_INVARIANT 16u
#define SIM_ORACLE_MAX_NAMED 5u

typedef struct SimViolation {
    char *invariant;        /* owned; one of SIM_INV_* */
    char *message;          /* owned; one line of evidence (records, keys, counts, ids) */
    uint64_t time_ns;       /* simulated time it was detected at or relates to */
    uint64_t checkpoint_id; /* related checkpoint, 0 when none */
    char *fault;            /* owned; the related fault ("t=1.200000s crash worker-2"),
                               NULL when no fault was seen */
} SimViolation;

/* A new violation; copies the strings (fault may be NULL). */
SimViolation *sim_violation_new(const char *invariant, const char *message, uint64_t time_ns,
                                uint64_t checkpoint_id, const char *fault);
void sim_violation_free(SimViolation *v);
/* "invariant: message (t=..s, checkpoint N, fault: ...)" - a new string. */
char *sim_violation_to_string(const SimViolation *v);

/* God's-eye, read-only access to the *durable* contents of storage: what would
 * survive if every process crashed now. Decoupled from the world's storage model: the
 * harness adapts sim/world's storage to these two callbacks. */
typedef struct SimOracleFiles {
    /* The durable content of path as a new GBytes reference, or NULL when it does not
     * exist durably. It may borrow the storage's memory: callers release it before
     * returning to the simulation (storage must not change while they hold it). */
    GBytes *(*read)(void *ctx, const char *path);
    /* Sorted names (not paths) of the files durably present directly in dir, as a new
     * NULL-terminated array (g_strfreev), possibly empty; NULL is taken as empty. */
    char **(*list)(void *ctx, const char *dir);
    void *ctx;
    /* Whether path exists now, durably or not (a removal not yet made durable by a
     * directory sync counts as done: only a crash could bring the file back). Used by
     * the retention check; NULL: read is used instead. */
    bool (*present)(void *ctx, const char *path);
} SimOracleFiles;

/* Fills *out with a view of the simulated world's durable storage (storage borrowed:
 * it must outlive the oracle). Implemented in sim_oracle_files.c. */
typedef struct SimStorage SimStorage;
void sim_oracle_files_for_storage(SimStorage *storage, SimOracleFiles *out);
/* The same view plus the ZooKeeper model's tree: a path starting with '/' names a
 * snapshot of the zookeeper state backend, read god's-eye as its manifest and chunks
 * (rt_backend_zk_assemble: NULL when torn or missing); other paths are storage files.
 * ctx is filled by the caller and borrowed (it must outlive the oracle). */
typedef struct SimZk SimZk;
typedef struct SimOracleWorldFiles {
    SimStorage *storage;
    const SimZk *zk;
} SimOracleWorldFiles;
void sim_oracle_files_for_world(SimOracleWorldFiles *ctx, SimOracleFiles *out);

typedef struct SimOracleParams {
    /* Faults stop at this time; UINT64_MAX when they never stop (liveness then only
     * requires the job to finish). 0 = no faults after the start. */
    uint64_t faults_end_ns;
    /* After faults_end_ns a checkpoint must complete within this bound, unless the job
     * finishes first. 0 = default: 10 checkpoint intervals, at least 10 s. */
    uint64_t checkpoint_bound_ns;
    /* Decode every completed checkpoint (the consistent-cut check). Default true. */
    bool check_cuts;
    /* The run ended because of a violation found early (e.g. --stop-at-first): do not
     * report liveness for the unfinished job. */
    bool stopped_early;
    /* The run's seed: the oracle recomputes every source record (key, value) from the
     * sources' pure generator (rt_source_gen_record) seeded with it, and checks the
     * records the runtime reports against it. Default 0. */
    uint64_t seed;
    /* The run reports every committed sink record (RT_EV_SINK_COMMIT_RECORD, as the
     * runtime's sinks do): without a crash or a failover their number must equal the
     * committed output's (an exactly-once violation otherwise). Default false (synthetic
     * event streams do not report them). */
    bool check_commit_reports;
} SimOracleParams;

/* Defaults: faults_end_ns 0, checkpoint_bound_ns 0 (derived), check_cuts true, seed 0,
 * check_commit_reports false. */
void sim_oracle_params_init(SimOracleParams *p);

typedef struct SimOracle SimOracle;

/* A new oracle for the job graph g and configuration cfg (both borrowed; they must
 * outlive the oracle), with parameters p (copied) and god's-eye file access files
 * (copied; its ctx borrowed; used during the run to decode each checkpoint as it
 * completes, and by sim_oracle_finish). */
SimOracle *sim_oracle_new(const RtJobGraph *g, const RtConfig *cfg, const SimOracleParams *p,
                          const SimOracleFiles *files);
void sim_oracle_free(SimOracle *o);

/* Feeds one observation event; events must come in the order they happened (time
 * never goes back). Cheap for the per-record kinds (O(1), no allocation). */
void sim_oracle_event(SimOracle *o, const RtEvent *ev);

/* The oracle as an RtObserver (borrowed, lives as long as o): ops->event calls
 * sim_oracle_event. */
RtObserver *sim_oracle_observer(SimOracle *o);

/* Notes an injected fault (crash, partition, disk error...) at time_ns so violations
 * can name the fault they relate to. RT_EV_WORLD_CRASH / RT_EV_WORLD_FAULT events are
 * noted automatically; call this for faults the world does not report. */
void sim_oracle_note_fault(SimOracle *o, uint64_t time_ns, const char *description);

/* The effects of the run's faults ended at time_ns (the last fired fault's end: a
 * crash's restart, a partition's end...): the "retention" check judges checkpoints
 * completed at or after it. Call before sim_oracle_finish; UINT64_MAX turns the check
 * off (the default). */
void sim_oracle_set_quiet_since(SimOracle *o, uint64_t time_ns);

/* The job manager that leads now, as the leadership events tell (false when none, or
 * no leadership event was seen): its process id and leader session id. */
bool sim_oracle_leader(const SimOracle *o, uint32_t *process, uint64_t *session);

/* True once any violation was found (during the run or by finish): the harness may
 * stop the run early. */
bool sim_oracle_failed(const SimOracle *o);

/* Violations found so far, in detection order (borrowed, SimViolation*). */
const GPtrArray *sim_oracle_violations_peek(const SimOracle *o);

/* HA irregularities that Flink permits (a zombie's publish or completion), in detection
 * order, as one-line strings (borrowed; at most SIM_ORACLE_MAX_FACTS kept). */
#define SIM_ORACLE_MAX_FACTS 32u
const GPtrArray *sim_oracle_facts_peek(const SimOracle *o);

/* Ends the run at end_time_ns (the simulated time the run stopped): checks the
 * committed sink output, the final counts and liveness. Call once. Returns true when
 * every invariant held; *violations (if non-NULL) receives a new array (free with
 * g_ptr_array_unref; it frees its SimViolation elements) of every violation. */
bool sim_oracle_finish(SimOracle *o, uint64_t end_time_ns, GPtrArray **violations);

/* Figures of the run, for JSON output and reports. */
typedef struct SimOracleStats {
    uint64_t records_total;        /* records in the full input (all source subtasks) */
    uint64_t records_emitted;      /* distinct (src, offset) emitted at least once */
    uint64_t emissions;            /* RT_EV_RECORD_EMIT events (replays included) */
    uint64_t records_committed;    /* committed sink records read at finish (all sinks) */
    uint64_t records_lost;         /* over all sinks */
    uint64_t records_duplicated;   /* extra copies over all sinks (also at-least-once) */
    uint64_t values_duplicated;    /* extra copies of committed counter values (key, n) */
    uint64_t checkpoints_completed;
    uint64_t checkpoints_checked;  /* completed checkpoints decoded and checked */
    uint64_t restores;             /* distinct restore attempts */
    uint64_t violations;           /* all found, including those not kept */
    bool job_finished;
    uint64_t job_finished_ns;      /* time of RT_EV_JOB_FINISHED, 0 if none */
} SimOracleStats;

void sim_oracle_get_stats(const SimOracle *o, SimOracleStats *out);

#endif /* SIM_ORACLE_H */
