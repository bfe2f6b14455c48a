/* rt_partitioner.c - forward, rebalance and keyBy target selection (broadcast is the
 * caller's loop over all targets). */
#include "runtime/dataflow/rt_partitioner.h"

#include <assert.h>

#include "runtime/state/rt_key_groups.h"

void rt_partitioner_init(RtPartitioner *p, RtPartitioning kind, uint32_t n_targets,
                         uint32_t max_parallelism, uint32_t self_index) {
    assert(p != NULL && n_targets >= 1);
    assert(kind != RT_PART_FORWARD || self_index < n_targets);
    assert(kind != RT_PART_KEYBY || (max_parallelism >= n_targets));
    p->kind = kind;
    p->n_targets = n_targets;
    p->max_parallelism = max_parallelism;
    p->self_index = self_index;
    p->next = self_index % n_targets;
}

uint32_t rt_partitioner_select(RtPartitioner *p, uint64_t key) {
    switch (p->kind) {
    case RT_PART_FORWARD: return p->self_index;
    case RT_PART_REBALANCE: {
        uint32_t t = p->next;
        p->next = (t + 1) % p->n_targets;
        return t;
    }
    case RT_PART_KEYBY:
        return rt_key_group_operator_index_for_key(key, p->max_parallelism, p->n_targets);
    case RT_PART_BROADCAST: break;
    }
    assert(!"broadcast has no single target");
    return 0;
}
