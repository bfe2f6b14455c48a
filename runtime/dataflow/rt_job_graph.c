/* rt_job_graph.c - small pure helpers over the job graph (key groups per operator,
 * global subtask and source numbering, validation). The graph itself is plain data
 * built by the host. */
#include "runtime/dataflow/rt_job_graph.h"

#include <assert.h>

#include "runtime/state/rt_key_groups.h"

G_DEFINE_QUARK(rt-job-graph-error-quark, rt_job_graph_error)

static const RtOperatorSpec *op_at(const RtJobGraph *g, uint32_t op) {
    assert(g != NULL && g->operators != NULL && op < g->operators->len);
    return g->operators->pdata[op];
}

uint32_t rt_job_graph_max_parallelism(const RtJobGraph *graph, uint32_t op) {
    const RtOperatorSpec *spec = op_at(graph, op);
    if (graph->max_parallelism != 0)
        return graph->max_parallelism;
    return rt_key_groups_default_max_parallelism(spec->parallelism);
}

uint32_t rt_job_graph_subtask_base(const RtJobGraph *graph, uint32_t op) {
    uint32_t base = 0;
    for (uint32_t i = 0; i < op; i++)
        base += op_at(graph, i)->parallelism;
    return base;
}

uint32_t rt_job_graph_n_subtasks(const RtJobGraph *graph) {
    assert(graph != NULL && graph->operators != NULL);
    return rt_job_graph_subtask_base(graph, graph->operators->len);
}

uint32_t rt_job_graph_source_base(const RtJobGraph *graph, uint32_t op) {
    assert(op_at(graph, op)->kind == RT_OP_SOURCE);
    uint32_t base = 0;
    for (uint32_t i = 0; i < op; i++)
        if (op_at(graph, i)->kind == RT_OP_SOURCE)
            base += op_at(graph, i)->parallelism;
    return base;
}

static bool check_edge(const RtJobGraph *g, const RtEdgeSpec *e, uint32_t i, GError **error) {
    uint32_t n = g->operators->len;
    if (e->from >= n || e->to >= n || e->from == e->to) {
        g_set_error(error, RT_JOB_GRAPH_ERROR, RT_JOB_GRAPH_ERROR_INVALID,
                    "edge %u: bad operator index (%u -> %u)", i, e->from, e->to);
        return false;
    }
    const RtOperatorSpec *from = op_at(g, e->from), *to = op_at(g, e->to);
    const char *why = NULL;
    if (to->kind == RT_OP_SOURCE)
        why = "an edge into a source";
    else if (from->kind == RT_OP_SINK)
        why = "an edge out of a sink";
    else if (e->partitioning == RT_PART_FORWARD && from->parallelism != to->parallelism)
        why = "forward edge between different parallelisms";
    else if ((to->kind == RT_OP_COUNTER || to->kind == RT_OP_LISTMAP) &&
             e->partitioning != RT_PART_KEYBY)
        why = "a keyed operator must be fed by keyBy edges";
    if (why != NULL) {
        g_set_error(error, RT_JOB_GRAPH_ERROR, RT_JOB_GRAPH_ERROR_INVALID, "edge %s -> %s: %s",
                    from->name, to->name, why);
        return false;
    }
    return true;
}

/* Kahn's algorithm: true if the edges form no cycle. */
static bool acyclic(const RtJobGraph *g) {
    uint32_t n = g->operators->len, done = 0;
    uint32_t *indeg = g_new0(uint32_t, n);
    bool *taken = g_new0(bool, n);
    for (guint i = 0; i < g->edges->len; i++)
        indeg[g_array_index(g->edges, RtEdgeSpec, i).to]++;
    for (bool progress = true; progress;) {
        progress = false;
        for (uint32_t v = 0; v < n; v++) {
            if (taken[v] || indeg[v] != 0)
                continue;
            taken[v] = true;
            done++;
            progress = true;
            for (guint i = 0; i < g->edges->len; i++)
                if (g_array_index(g->edges, RtEdgeSpec, i).from == v)
                    indeg[g_array_index(g->edges, RtEdgeSpec, i).to]--;
        }
    }
    g_free(indeg);
    g_free(taken);
    return done == n;
}

bool rt_job_graph_validate(const RtJobGraph *graph, GError **error) {
    assert(graph != NULL);
    if (graph->operators == NULL || graph->operators->len == 0 || graph->edges == NULL ||
        graph->operators->len > UINT16_MAX) {
        g_set_error(error, RT_JOB_GRAPH_ERROR, RT_JOB_GRAPH_ERROR_INVALID,
                    "job graph needs at least one operator");
        return false;
    }
    for (uint32_t i = 0; i < graph->operators->len; i++) {
        const RtOperatorSpec *op = op_at(graph, i);
        uint32_t maxp = rt_job_graph_max_parallelism(graph, i);
        if (op->parallelism < 1 || op->parallelism > maxp ||
            maxp > RT_KEY_GROUPS_UPPER_BOUND) {
            g_set_error(error, RT_JOB_GRAPH_ERROR, RT_JOB_GRAPH_ERROR_INVALID,
                        "operator %s: parallelism %u not in [1, %u]", op->name,
                        op->parallelism, maxp);
            return false;
        }
        bool fed = false;
        for (guint e = 0; e < graph->edges->len; e++)
            fed = fed || g_array_index(graph->edges, RtEdgeSpec, e).to == i;
        if (op->kind != RT_OP_SOURCE && !fed) {
            g_set_error(error, RT_JOB_GRAPH_ERROR, RT_JOB_GRAPH_ERROR_INVALID,
                        "operator %s has no input edge", op->name);
            return false;
        }
    }
    for (guint i = 0; i < graph->edges->len; i++)
        if (!check_edge(graph, &g_array_index(graph->edges, RtEdgeSpec, i), i, error))
            return false;
    if (!acyclic(graph)) {
        g_set_error(error, RT_JOB_GRAPH_ERROR, RT_JOB_GRAPH_ERROR_INVALID,
                    "job graph has a cycle");
        return false;
    }
    return true;
}

bool rt_job_graph_edge_unaligned_ok(const RtJobGraph *graph, uint32_t edge) {
    assert(graph != NULL && edge < graph->edges->len);
    uint32_t to = g_array_index(graph->edges, RtEdgeSpec, edge).to;
    for (guint e = 0; e < graph->edges->len; e++) {
        const RtEdgeSpec *es = &g_array_index(graph->edges, RtEdgeSpec, e);
        if (es->to == to &&
            (es->partitioning == RT_PART_FORWARD || es->partitioning == RT_PART_BROADCAST))
            return false;
    }
    return true;
}

static uint32_t uf_find(uint32_t *parent, uint32_t x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static void uf_union(uint32_t *parent, uint32_t a, uint32_t b) {
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a != b)
        parent[MAX(a, b)] = MIN(a, b);
}

uint32_t rt_job_graph_regions(const RtJobGraph *graph, uint32_t *region) {
    assert(graph != NULL && region != NULL);
    uint32_t n = rt_job_graph_n_subtasks(graph);
    uint32_t *parent = g_new(uint32_t, n > 0 ? n : 1);
    for (uint32_t k = 0; k < n; k++)
        parent[k] = k;
    for (guint e = 0; e < graph->edges->len; e++) {
        const RtEdgeSpec *es = &g_array_index(graph->edges, RtEdgeSpec, e);
        const RtOperatorSpec *from = g_ptr_array_index(graph->operators, es->from);
        const RtOperatorSpec *to = g_ptr_array_index(graph->operators, es->to);
        uint32_t fb = rt_job_graph_subtask_base(graph, es->from);
        uint32_t tb = rt_job_graph_subtask_base(graph, es->to);
        if (es->partitioning == RT_PART_FORWARD) {
            for (uint32_t i = 0; i < from->parallelism && i < to->parallelism; i++)
                uf_union(parent, fb + i, tb + i);
            continue;
        }
        for (uint32_t i = 0; i < from->parallelism; i++)
            uf_union(parent, fb, fb + i);
        for (uint32_t i = 0; i < to->parallelism; i++)
            uf_union(parent, fb, tb + i);
    }
    uint32_t n_regions = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t root = uf_find(parent, k);
        region[k] = root == k ? n_regions++ : region[root];
    }
    g_free(parent);
    return n_regions;
}
