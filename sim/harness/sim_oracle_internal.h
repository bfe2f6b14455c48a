/* sim_oracle_internal.h - the oracle's state, shared by its files: sim_oracle.c (events,
 * ledger, liveness, HA safety, finish), sim_oracle_route.c (path counts, destination
 * subtasks), sim_oracle_cut.c (decoding completed and restored checkpoints, cursors),
 * sim_oracle_state.c (counters and listmaps at a cut), sim_oracle_txn.c (sink
 * transactions at a cut) and sim_oracle_sink.c (the committed sink output). Not for
 * use outside sim/harness/sim_oracle*.c.
 */
#ifndef SIM_ORACLE_INTERNAL_H
#define SIM_ORACLE_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/dataflow/rt_protocol.h"
#include "runtime/operators/rt_source.h"
#include "sim/harness/sim_oracle.h"
#include "sim/harness/sim_packed.h"

#define SIM_ORACLE_NO_KEY UINT32_MAX   /* key_idx of a record never emitted */
#define SIM_ORACLE_MAX_EPOCH UINT16_MAX
#define SIM_ORACLE_N_INVARIANTS 5u
/* Bounds: distinct keys the oracle tracks, source subtasks, operators. */
#define SIM_ORACLE_MAX_KEYS (1u << 26)
#define SIM_ORACLE_MAX_SOURCES 65536u
#define SIM_ORACLE_MAX_OPS 1024u
/* Values below the cut (for listmaps) are tracked for at most this many declared keys;
 * beyond, a listmap's state is checked by its totals only. */
#define SIM_ORACLE_MAX_VALUE_KEYS (1u << 16)
/* First-emission runs remembered per source subtask (beyond: later records are named
 * with the last run's epoch). Normally one run per epoch. */
#define SIM_ORACLE_MAX_RUNS (1u << 20)

/* Open-addressing map from a record key (u64) to its dense index (u32). */
typedef struct SimKeyMap {
    uint64_t *keys;  /* slot keys */
    uint32_t *vals;  /* slot value + 1; 0 = empty slot */
    uint32_t cap;    /* power of two */
    uint32_t n;      /* used slots */
} SimKeyMap;

/* An epoch starts at every completed checkpoint and every fault: a record's epoch
 * (when first emitted) names the checkpoint and fault it relates to. */
typedef struct SimEpoch {
    uint64_t start_ns;
    uint64_t last_completed_id; /* last checkpoint completed before start_ns, 0 none */
} SimEpoch;

/* Offsets [start, end) of one source subtask first emitted, in order, during one epoch. */
typedef struct SimEmitRun {
    uint64_t start, end;
    uint32_t epoch; /* index into epochs */
} SimEmitRun;

typedef struct SimFault {
    uint64_t time_ns;
    char *description; /* owned */
} SimFault;

/* The last values (u16: source values are 16-bit) of one key of one source subtask
 * below the cut, newest at v[(n - 1) % 4], and how many there are in all. */
typedef struct SimTail {
    uint16_t v[4];
    uint32_t n;
} SimTail;

/* A record in the channel state of a cut: it will be delivered to subtask to_idx of
 * operator to_op after a restore (both input and output channel state). */
typedef struct SimChanRec {
    RtRecord rec;
    uint32_t to_op, to_idx;
} SimChanRec;

typedef struct SimCompleted {
    uint64_t id;
    uint64_t time_ns;
    char *metadata_path; /* owned, may be NULL */
    char **state_files;  /* owned (g_strfreev), NULL-terminated, NULL when not noted: the
                            snapshot files and znodes its handles point to (retention) */
} SimCompleted;

struct SimOracle {
    RtObserver observer; /* first: sim_oracle_observer() hands it out */
    const RtJobGraph *graph;
    const RtConfig *config;
    SimOracleParams params;
    SimOracleFiles files;
    uint64_t interval_ns; /* execution.checkpointing.interval, 0 = disabled */
    bool at_least_once;   /* execution.checkpointing.mode = AT_LEAST_ONCE: copies may exceed */

    /* Topology. */
    uint32_t n_ops;
    uint32_t n_src;          /* global source subtasks */
    uint32_t *src_first;     /* per op: first global src index (UINT32_MAX: not a source) */
    uint32_t *src_op;        /* per global src: its source operator */
    uint64_t *src_records;   /* per global src: records in its full input */
    uint64_t *mult;          /* [from * n_ops + op]: copies of one record processed by
                                operator from that reach op (paths, broadcast fan-out
                                counted; 1 for op = from) */
    uint64_t *direct;        /* [from * n_ops + op]: the same over paths with no counter
                                strictly between (the record's value is unchanged) */
    bool *ordered;           /* [from * n_ops + op]: none of those paths has a rebalance
                                into parallelism > 1 (a key's records stay in order) */
    RtSourceGen *gens;       /* per global src: the source's pure record generator */
    uint32_t n_src_ops;
    uint32_t *src_op_list;   /* the source operators, ascending */

    /* Ledger, per global src, indexed by offset: a few bits a record. Read through
     * sim_oracle_ledger_key / sim_oracle_ledger_epoch. */
    SimPacked *key_idx;      /* dense key index + 1, 0 when never emitted; all share one
                                width, raised when a new key index does not fit */
    GArray **runs;           /* SimEmitRun, in emission order: epoch of first emission */
    SimKeyMap keymap;
    GArray *keys;            /* uint64_t, by dense index */

    GArray *epochs;          /* SimEpoch */
    GArray *faults;          /* SimFault */
    GArray *completed;       /* SimCompleted, in completion order */
    GHashTable *issued;      /* uint64_t* -> itself: checkpoint ids issued (not iterated) */

    /* Consistent-cut cursor: base[s_op_pos][kidx] = records of source operator
     * src_op_list[s_op_pos] with offset < cursor[src] and that key. */
    uint64_t *cursor;        /* per global src */
    GArray **base;           /* per source operator position: uint64_t by key index */
    uint64_t *op_sig;        /* per operator: signature of the discrepancy last reported
                                at a cut (0 = none): an unchanged one is not repeated */
    /* Values below the cut (only when the graph has a listmap: track_values). */
    bool track_values;
    GArray **bucket_base;    /* per source operator position: uint32_t by key index *
                                RT_LISTMAP_BUCKETS + value % RT_LISTMAP_BUCKETS */
    GArray **tails;          /* per global src: SimTail by key index */

    /* The boundary: the last cut checked (a completed or a restored checkpoint). The
     * sinks' transactions of later checkpoints start from it. */
    uint64_t bnd_id;
    uint64_t *bnd_off;       /* per global src: its source offsets */
    GArray *bnd_chan;        /* SimChanRec: its channel state */

    /* HA and recovery. */
    uint64_t last_completed_id;
    uint64_t last_published_id;
    bool leader_known;       /* some RT_EV_LEADER_GAINED was seen */
    bool has_leader;
    uint32_t leader_process;
    uint64_t leader_session;
    bool restore_open;
    uint32_t restore_attempt;
    uint64_t restore_checkpoint_id;
    uint64_t restores;
    uint64_t unrestorable_id; /* last checkpoint reported as not restorable (once each) */

    /* Liveness. */
    bool finished;
    uint64_t finished_ns;
    bool job_failed;
    char *job_failed_cause;
    uint64_t first_complete_after_faults_ns; /* 0 = none yet */
    /* Retention: the end of the last fault's effect (sim_oracle_set_quiet_since);
     * UINT64_MAX (default) = the retention check is off. */
    uint64_t quiet_ns;
    RtEventKind last_kind;
    uint64_t last_time_ns;
    uint64_t now_ns;

    /* Results. */
    GPtrArray *violations;   /* SimViolation* */
    GPtrArray *facts;        /* char*: HA irregularities Flink permits (not violations) */
    /* HA store writes are fenced on the leader latch (high-availability.zookeeper.
     * fence-writes). Then only the current leader may publish, and published ids strictly
     * increase: violations of ha-safety. Without fencing (Flink's default,
     * ZooKeeperStateHandleStore) a deposed leader's publish is possible: it is reported as
     * a fact, and only its consequences are judged. */
    bool fenced_writes;
    /* (process << 40 | checkpoint id) of publishes made outside the current leader's
     * session (uint64_t* -> itself, never iterated): that process's completion of that
     * checkpoint is a deposed leader's, even if the process leads again by then. */
    GHashTable *zombie_publishes;
    uint64_t per_invariant[SIM_ORACLE_N_INVARIANTS];
    uint64_t n_violations;
    uint64_t records_emitted, emissions, records_committed, records_lost, records_duplicated;
    uint64_t values_duplicated;
    uint64_t checkpoints_checked;
    uint64_t commit_reports;  /* RT_EV_SINK_COMMIT_RECORD events: records the sinks report
                                 as committed (the latency/throughput metrics) */
    bool disrupted;           /* a process crashed or the job failed over (a restored
                                 sink's recovery commit reports nothing) */
    bool finish_called;
};

/* Records a violation (kept unless its invariant already has the maximum). The fault
 * named is the one related to time_ns (sim_oracle_fault_near). */
void sim_oracle_violate(SimOracle *o, const char *invariant, uint64_t time_ns,
                        uint64_t checkpoint_id, const char *fmt, ...) G_GNUC_PRINTF(5, 6);
/* Description of the fault nearest to time_ns: the first at or after it, else the last
 * before it; NULL when no fault was noted. Borrowed. */
const char *sim_oracle_fault_near(const SimOracle *o, uint64_t time_ns);
/* Dense key index of record (src, off), or SIM_ORACLE_NO_KEY if it was never emitted.
 * Asserts src < n_src and off < src_records[src]. */
uint32_t sim_oracle_ledger_key(const SimOracle *o, uint32_t src, uint64_t off);
/* The epoch in which record (src, off) was first emitted (epoch 0 if it never was). */
const SimEpoch *sim_oracle_ledger_epoch(const SimOracle *o, uint32_t src, uint64_t off);
/* Dense index of key, or SIM_ORACLE_NO_KEY if the key was never emitted. */
uint32_t sim_oracle_key_lookup(const SimOracle *o, uint64_t key);
/* Global src of (source operator op, subtask index), or UINT32_MAX. */
uint32_t sim_oracle_global_src(const SimOracle *o, uint32_t op, uint32_t index);

/* The source record (src, off) from the generator (asserts src < n_src, off in range). */
void sim_oracle_source_record(const SimOracle *o, uint32_t src, uint64_t off, RtRecord *out);

/* sim_oracle_retain.c: the "retention" check. Notes the state files of completed
 * checkpoint c (read and decoded from its metadata; nothing when it is unreadable). */
void sim_oracle_retain_note(SimOracle *o, SimCompleted *c);
/* At the end of a finished run: every checkpoint completed by the leader after the
 * faults' effects ended, but for the num-retained newest, is gone from durable storage
 * (its metadata and every state file its handles point to). */
void sim_oracle_check_retention(SimOracle *o, uint64_t end_time_ns);

/* sim_oracle_route.c: path counts and routing. Fills mult, direct and ordered. */
void sim_oracle_route_init(SimOracle *o);
/* Copies of one record with key, processed by subtask from_idx of operator from, that
 * reach subtask j of operator x through partitionings that determine the subtask
 * (forward, broadcast, keyBy, rebalance into parallelism 1); copies whose subtask is not
 * determined (a rebalance into parallelism > 1 on the way) are added to *undet (may be
 * NULL). Summed over j, plus *undet, this is mult[from][x]. */
uint64_t sim_oracle_route(const SimOracle *o, uint32_t from, uint32_t from_idx, uint64_t key,
                          uint32_t x, uint32_t j, uint64_t *undet);
/* True when copies of a record processed by from that reach x have an undetermined
 * subtask; _any: from some operator (x's subtasks then compare as one multiset). */
bool sim_oracle_route_undetermined(const SimOracle *o, uint32_t from, uint32_t x);
bool sim_oracle_route_undetermined_any(const SimOracle *o, uint32_t x);
/* The subtask of keyed operator x that owns key (keyBy partitioning). */
uint32_t sim_oracle_key_owner(const SimOracle *o, uint32_t x, uint64_t key);
/* The counter whose counts are the values of every record reaching x (all paths into x
 * from a counter without another counter between, and none from a source without a
 * counter), or UINT32_MAX. */
uint32_t sim_oracle_value_counter(const SimOracle *o, uint32_t x);
/* Routes of source records to subtask j of operator x, memoised by (source subtask,
 * key index): one byte per pair, only when there are at most SIM_ROUTE_CACHE_MAX. */
#define SIM_ROUTE_CACHE_MAX (UINT64_C(1) << 24)
typedef struct SimRouteCache {
    uint32_t x, j;
    uint32_t nk;  /* key indexes covered */
    uint8_t *v;   /* [src * nk + k]: route + 1, 0 = not computed; NULL = no cache */
} SimRouteCache;
void sim_route_cache_init(SimRouteCache *c, const SimOracle *o, uint32_t x, uint32_t j);
void sim_route_cache_deinit(SimRouteCache *c);
/* sim_oracle_route from global source subtask s for key index k to (x, j). */
uint64_t sim_route_cache_get(const SimOracle *o, SimRouteCache *c, uint32_t s, uint32_t k);
/* Mixes v into a running signature. */
uint64_t sim_oracle_sig(uint64_t sig, uint64_t v);

/* sim_oracle_cut.c: decodes the checkpoint whose metadata is at path and checks it as
 * a cut (why: "completed" or "restored"), then makes it the boundary. Returns true if
 * it could be decoded and held. */
bool sim_oracle_check_checkpoint(SimOracle *o, uint64_t checkpoint_id, const char *path,
                                 uint64_t time_ns, const char *why);
/* Re-reads the checkpoint's files (metadata and every handle) and reports a
 * consistent-cut violation when one is no longer durable and intact. */
void sim_oracle_verify_restorable(SimOracle *o, uint64_t checkpoint_id, const char *path,
                                  uint64_t time_ns, const char *why);
/* Metadata path of checkpoint id by the store's layout (new string). */
char *sim_oracle_metadata_path(const SimOracle *o, uint64_t checkpoint_id);

/* sim_oracle_state.c: the reference interpreter at a cut. Each checks one operator's
 * snapshots of checkpoint cp (decoded snapshots snaps, in cp->subtasks order) against
 * the input below the cut (the cursors and bases), channel state included when
 * channel_state; reports a consistent-cut violation (once per change) and returns
 * false when they differ. */
bool sim_oracle_check_counter(SimOracle *o, uint32_t c, const RtCompletedCheckpoint *cp,
                              const GPtrArray *snaps, const GArray *chan, uint64_t time_ns);
bool sim_oracle_check_listmap(SimOracle *o, uint32_t l, const RtCompletedCheckpoint *cp,
                              const GPtrArray *snaps, const GArray *chan, uint64_t time_ns);
/* Copies of records with key index k below the cut that reach operator x. */
uint64_t sim_oracle_want(const SimOracle *o, uint32_t x, uint32_t k);
/* Reports (consistent-cut, checkpoint id) unless op's signature sig is unchanged since
 * the last report; records sig. */
bool sim_oracle_cut_report(SimOracle *o, uint32_t op, uint64_t sig);

/* sim_oracle_txn.c: the sink's pre-committed, uncommitted transactions of checkpoint cp
 * hold exactly the records that reached each sink subtask between the boundary and
 * this cut. */
bool sim_oracle_check_sink_txns(SimOracle *o, uint32_t x, const RtCompletedCheckpoint *cp,
                                const GPtrArray *snaps, const GArray *chan, uint64_t time_ns);

/* sim_oracle_sink.c: reads every committed sink file and checks the ledger and the
 * final counts. complete: the job finished (records not committed are lost). */
void sim_oracle_check_sinks(SimOracle *o, uint64_t end_time_ns, bool complete);

#endif /* SIM_ORACLE_INTERNAL_H */
