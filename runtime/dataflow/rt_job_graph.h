/* rt_job_graph.h - the job graph: operators with a parallelism, joined by edges with a
 * partitioning, as Flink's JobGraph. Plain data: the scenario loader (sim/harness) or the
 * live launcher builds it; the job manager and task managers read it. Operators are
 * indexed in declaration order; that index is RtSubtaskId.op.
 */
#ifndef RT_JOB_GRAPH_H
#define RT_JOB_GRAPH_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum RtOperatorKind {
    RT_OP_SOURCE,    /* replayable source: offsets, records from its own PRNG stream */
    RT_OP_MAP,       /* stateless map (value transform), passes records on */
    RT_OP_COUNTER,   /* keyed counter on ValueState<u64>; emits (key, count) downstream */
    RT_OP_LISTMAP,   /* exercises ListState and MapState per key; passes records on */
    RT_OP_SINK,      /* two-phase-commit sink */
} RtOperatorKind;

typedef enum RtKeyDistribution {
    RT_KEYS_UNIFORM,
    RT_KEYS_ZIPF,
} RtKeyDistribution;

typedef struct RtOperatorSpec {
    char *name;               /* unique, [a-z0-9_-]; owned */
    RtOperatorKind kind;
    uint32_t parallelism;     /* >= 1, <= max_parallelism */
    /* RT_OP_SOURCE only: */
    uint64_t records;         /* records per source subtask */
    uint64_t keys;            /* distinct keys, >= 1 */
    RtKeyDistribution distribution;
    double zipf_exponent;     /* > 0 for RT_KEYS_ZIPF */
    uint64_t rate_per_s;      /* records per second per subtask; 0 = as fast as credits allow */
    /* RT_OP_SINK only: the external system aborts a transaction open longer than this
     * (Kafka's transaction.timeout.ms); 0 = RT_SINK_DEFAULT_TXN_TIMEOUT_NS. */
    uint64_t txn_timeout_ns;
} RtOperatorSpec;

/* 15 min: Kafka's broker-side transaction.max.timeout.ms, the longest transaction
 * timeout a default Kafka accepts (FlinkKafkaProducer / KafkaSink users must stay at or
 * below it). */
#define RT_SINK_DEFAULT_TXN_TIMEOUT_NS (15ull * 60 * 1000000000ull)

typedef enum RtPartitioning {
    RT_PART_FORWARD,   /* subtask i -> subtask i (equal parallelism required) */
    RT_PART_REBALANCE, /* round-robin over all downstream subtasks */
    RT_PART_BROADCAST, /* every record to every downstream subtask */
    RT_PART_KEYBY,     /* key group = murmur(key) % max_parallelism -> subtask */
} RtPartitioning;

typedef struct RtEdgeSpec {
    uint32_t from;             /* operator index */
    uint32_t to;               /* operator index */
    RtPartitioning partitioning;
} RtEdgeSpec;

typedef struct RtJobGraph {
    char *name;                /* owned */
    GPtrArray *operators;      /* RtOperatorSpec*, owned */
    GArray *edges;             /* RtEdgeSpec */
    uint32_t max_parallelism;  /* number of key groups; Flink's default rule if 0 */
} RtJobGraph;


/* ---- helpers (runtime/dataflow/rt_job_graph.c) ---- */

#define RT_JOB_GRAPH_ERROR (rt_job_graph_error_quark())
GQuark rt_job_graph_error_quark(void);
typedef enum { RT_JOB_GRAPH_ERROR_INVALID } RtJobGraphError;

/* Number of key groups of operator op: graph->max_parallelism, or Flink's default for
 * the operator's parallelism when that is 0. */
uint32_t rt_job_graph_max_parallelism(const RtJobGraph *graph, uint32_t op);
/* Global index of subtask 0 of op among all subtasks (operators in order). */
uint32_t rt_job_graph_subtask_base(const RtJobGraph *graph, uint32_t op);
/* Total number of subtasks of the job. */
uint32_t rt_job_graph_n_subtasks(const RtJobGraph *graph);
/* Global source index ("src" of records) of subtask 0 of source operator op: the sum of
 * the parallelisms of the source operators declared before it. */
uint32_t rt_job_graph_source_base(const RtJobGraph *graph, uint32_t op);
/* Whether edge (index in graph->edges) may carry unaligned barriers and channel state:
 * false when any input edge of its target operator is forward or broadcast. Flink's
 * StreamPartitioner.isSupportsUnalignedCheckpoint (not pointwise, not broadcast), and
 * StreamGraphGenerator.generate, which disables unaligned checkpoints on every input
 * edge of a node as soon as one of them does not support them. */
bool rt_job_graph_edge_unaligned_ok(const RtJobGraph *graph, uint32_t edge);
/* Pipelined regions of a streaming job (every edge pipelined), as Flink's
 * PipelinedRegionComputeUtil for RestartPipelinedRegionFailoverStrategy: the connected
 * components of the subtask graph, where an all-to-all edge (rebalance, keyBy,
 * broadcast) joins every subtask of both operators and a forward edge joins subtask i
 * to subtask i. Fills region[k] (k: global subtask index, rt_job_graph_subtask_base
 * order) with the region number, numbered 0.. in order of each region's first subtask,
 * and returns the number of regions. region has rt_job_graph_n_subtasks entries. */
uint32_t rt_job_graph_regions(const RtJobGraph *graph, uint32_t *region);
/* Checks what the runtime relies on: >= 1 operator, parallelism in [1, max], edges
 * between existing operators, no edge into a source, forward edges between equal
 * parallelisms, keyed operators (counter, listmap) fed only by keyBy edges, every
 * non-source fed by an edge, acyclic. false + RT_JOB_GRAPH_ERROR naming the problem. */
bool rt_job_graph_validate(const RtJobGraph *graph, GError **error);

#endif /* RT_JOB_GRAPH_H */
