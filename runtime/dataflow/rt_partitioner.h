/* rt_partitioner.h - which downstream subtask(s) a record goes to on one edge, as
 * Flink's ForwardPartitioner, RebalancePartitioner, BroadcastPartitioner and
 * KeyGroupStreamPartitioner. Pure computation: keyBy goes through the key-group
 * assignment of runtime/state/rt_key_groups.h (bit-exact with Flink). */
#ifndef RT_PARTITIONER_H
#define RT_PARTITIONER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_job_graph.h"

typedef struct RtPartitioner {
    RtPartitioning kind;
    uint32_t n_targets;       /* downstream parallelism, >= 1 */
    uint32_t max_parallelism; /* key groups of the downstream operator (keyBy) */
    uint32_t self_index;      /* upstream subtask index (forward) */
    uint32_t next;            /* rebalance: the next target, round robin */
} RtPartitioner;

/* Initialises p. Rebalance starts at self_index % n_targets (Flink starts at a random
 * channel; we stay deterministic). Forward requires self_index < n_targets. */
void rt_partitioner_init(RtPartitioner *p, RtPartitioning kind, uint32_t n_targets,
                         uint32_t max_parallelism, uint32_t self_index);

/* The target subtask of a record with key (not for broadcast, which goes to all). */
uint32_t rt_partitioner_select(RtPartitioner *p, uint64_t key);

static inline bool rt_partitioner_is_broadcast(const RtPartitioner *p) {
    return p->kind == RT_PART_BROADCAST;
}

#endif /* RT_PARTITIONER_H */
