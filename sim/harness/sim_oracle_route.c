/* sim_oracle_route.c - where a record goes: path counts between operators and the
 * subtask a copy reaches. The oracle's own model of the partitioners (Flink's
 * ForwardPartitioner, BroadcastPartitioner, KeyGroupStreamPartitioner and
 * RebalancePartitioner), written from the job graph and the pure key-group assignment
 * (rt_key_groups.h), not by running the runtime's output code:
 *  - forward keeps the subtask index, broadcast reaches every subtask, keyBy the
 *    subtask owning the key's group: the destination subtask is determined;
 *  - rebalance (round robin from a state the oracle does not model) determines only
 *    the operator, unless it has parallelism 1.
 * Checks then compare per subtask where the destination is determined and per operator
 * (a multiset over its subtasks) where it is not.
 */
#include <assert.h>
#include <string.h>

#include "runtime/state/rt_key_groups.h"
#include "sim/harness/sim_oracle_internal.h"

static const RtOperatorSpec *op_spec(const SimOracle *o, uint32_t op) {
    return g_ptr_array_index(o->graph->operators, op);
}

static bool edge_keeps_order(const SimOracle *o, const RtEdgeSpec *ed) {
    return ed->partitioning != RT_PART_REBALANCE || op_spec(o, ed->to)->parallelism == 1;
}

/* Path counts from operator s to every operator into out[n_ops] (out[s] = 1), by
 * relaxation over the edges (a DAG: at most n_ops rounds). through_counters: paths may
 * pass through counters; ordered_only: only order-keeping edges. */
static void path_counts(const SimOracle *o, uint32_t s, bool through_counters,
                        bool ordered_only, uint64_t *out) {
    uint32_t n = o->n_ops;
    const GArray *edges = o->graph->edges;
    uint64_t *next = g_new0(uint64_t, n);
    memset(out, 0, sizeof(uint64_t) * n);
    out[s] = 1;
    for (uint32_t round = 0; round <= n; round++) {
        memset(next, 0, sizeof(uint64_t) * n);
        next[s] = 1;
        for (guint e = 0; e < edges->len; e++) {
            const RtEdgeSpec *ed = &g_array_index(edges, RtEdgeSpec, e);
            assert(ed->from < n && ed->to < n);
            if (!through_counters && ed->from != s && op_spec(o, ed->from)->kind == RT_OP_COUNTER)
                continue;
            if (ordered_only && !edge_keeps_order(o, ed))
                continue;
            uint64_t fan = ed->partitioning == RT_PART_BROADCAST ? op_spec(o, ed->to)->parallelism
                                                                 : 1;
            next[ed->to] += out[ed->from] * fan;
        }
        if (memcmp(next, out, sizeof(uint64_t) * n) == 0)
            break;
        memcpy(out, next, sizeof(uint64_t) * n);
    }
    g_free(next);
}

void sim_oracle_route_init(SimOracle *o) {
    uint32_t n = o->n_ops;
    o->mult = g_new0(uint64_t, (size_t)n * n);
    o->direct = g_new0(uint64_t, (size_t)n * n);
    o->ordered = g_new0(bool, (size_t)n * n);
    uint64_t *ord = g_new0(uint64_t, n);
    for (uint32_t s = 0; s < n; s++) {
        path_counts(o, s, true, false, &o->mult[(size_t)s * n]);
        path_counts(o, s, false, false, &o->direct[(size_t)s * n]);
        path_counts(o, s, false, true, ord);
        for (uint32_t x = 0; x < n; x++)
            o->ordered[(size_t)s * n + x] = ord[x] == o->direct[(size_t)s * n + x];
    }
    g_free(ord);
}

uint32_t sim_oracle_key_owner(const SimOracle *o, uint32_t x, uint64_t key) {
    return rt_key_group_operator_index_for_key(key, rt_job_graph_max_parallelism(o->graph, x),
                                               op_spec(o, x)->parallelism);
}

uint64_t sim_oracle_route(const SimOracle *o, uint32_t from, uint32_t from_idx, uint64_t key,
                          uint32_t x, uint32_t j, uint64_t *undet) {
    if (x == from)
        return j == from_idx ? 1 : 0;
    uint64_t d = 0;
    const GArray *edges = o->graph->edges;
    for (guint e = 0; e < edges->len; e++) {
        const RtEdgeSpec *ed = &g_array_index(edges, RtEdgeSpec, e);
        if (ed->to != x)
            continue;
        uint64_t tot = o->mult[(size_t)from * o->n_ops + ed->from];
        if (tot == 0)
            continue;
        switch (ed->partitioning) {
        case RT_PART_FORWARD:
            d += sim_oracle_route(o, from, from_idx, key, ed->from, j, undet);
            break;
        case RT_PART_BROADCAST: d += tot; break;
        case RT_PART_KEYBY: d += sim_oracle_key_owner(o, x, key) == j ? tot : 0; break;
        case RT_PART_REBALANCE:
            if (op_spec(o, x)->parallelism == 1)
                d += tot;
            else if (undet != NULL)
                *undet += tot;
            break;
        }
    }
    return d;
}

bool sim_oracle_route_undetermined(const SimOracle *o, uint32_t from, uint32_t x) {
    /* Whether a copy is undetermined depends on the edges only, not on key or subtask. */
    uint64_t undet = 0;
    if (o->mult[(size_t)from * o->n_ops + x] > 0)
        (void)sim_oracle_route(o, from, 0, 0, x, 0, &undet);
    return undet > 0;
}

bool sim_oracle_route_undetermined_any(const SimOracle *o, uint32_t x) {
    for (uint32_t s = 0; s < o->n_ops; s++)
        if (s != x && sim_oracle_route_undetermined(o, s, x))
            return true;
    return false;
}

uint32_t sim_oracle_value_counter(const SimOracle *o, uint32_t x) {
    uint32_t c = UINT32_MAX;
    for (uint32_t s = 0; s < o->n_ops; s++) {
        if (s == x || o->direct[(size_t)s * o->n_ops + x] == 0)
            continue;
        RtOperatorKind k = op_spec(o, s)->kind;
        if (k == RT_OP_SOURCE || (k == RT_OP_COUNTER && c != UINT32_MAX))
            return UINT32_MAX;
        if (k == RT_OP_COUNTER)
            c = s;
    }
    return c;
}

uint64_t sim_oracle_sig(uint64_t sig, uint64_t v) {
    uint64_t h = (sig ^ v) * UINT64_C(0x9E3779B97F4A7C15);
    h ^= h >> 29;
    return h != 0 ? h : 1; /* 0 means "nothing reported" */
}

void sim_route_cache_init(SimRouteCache *c, const SimOracle *o, uint32_t x, uint32_t j) {
    memset(c, 0, sizeof *c);
    c->x = x;
    c->j = j;
    c->nk = o->keys->len;
    uint64_t n = (uint64_t)o->n_src * c->nk;
    if (n > 0 && n <= SIM_ROUTE_CACHE_MAX)
        c->v = g_new0(uint8_t, n);
}

void sim_route_cache_deinit(SimRouteCache *c) {
    g_free(c->v);
    c->v = NULL;
}

uint64_t sim_route_cache_get(const SimOracle *o, SimRouteCache *c, uint32_t s, uint32_t k) {
    uint8_t *slot = c->v != NULL && k < c->nk ? &c->v[(size_t)s * c->nk + k] : NULL;
    if (slot != NULL && *slot != 0)
        return *slot - 1u;
    uint32_t op = o->src_op[s];
    uint64_t r = sim_oracle_route(o, op, s - o->src_first[op], g_array_index(o->keys, uint64_t, k),
                                  c->x, c->j, NULL);
    if (slot != NULL && r < UINT8_MAX)
        *slot = (uint8_t)(r + 1);
    return r;
}
