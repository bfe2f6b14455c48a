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
} RtOperatorSpec;

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

#endif /* RT_JOB_GRAPH_H */
