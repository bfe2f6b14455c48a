/* sim_scenario_build.c - turning the checked sections of a scenario key file into a
 * SimScenario: defaults, the job graph (operators, edges and their structural checks),
 * the Flink config, the network model, the fault plan and the expectations. Every
 * problem goes through sim_loader_error so it names its file, line and key. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "runtime/env/rt_config.h"
#include "runtime/env/rt_config_keys.h"
#include "sim/harness/sim_oracle.h"
#include "sim/harness/sim_scenario_private.h"

static const char *const section_names[] = {
    "scenario", "cluster", "operator NAME", "edges", "config", "network", "faults",
    "random-faults", "expect", "zookeeper", NULL,
};

/* ------------------------------------------------------------------ value getters */

/* Values were type-checked by sim_loader_check_keys; absent = default. */
static uint64_t get_u64(SimLoader *L, const char *g, const char *k, uint64_t def) {
    const char *v = sim_loader_value(L, g, k);
    guint64 out = def;
    if (v != NULL && !g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64, &out, NULL))
        out = def;
    return out;
}

static uint64_t get_duration(SimLoader *L, const char *g, const char *k, uint64_t def) {
    const char *v = sim_loader_value(L, g, k);
    uint64_t out = def;
    if (v != NULL && !rt_parse_duration_ns(v, &out))
        out = def;
    return out;
}

static double get_double(SimLoader *L, const char *g, const char *k, double def) {
    const char *v = sim_loader_value(L, g, k);
    return v != NULL ? g_ascii_strtod(v, NULL) : def;
}

static bool get_bool(SimLoader *L, const char *g, const char *k, bool def) {
    const char *v = sim_loader_value(L, g, k);
    bool out = def;
    if (v != NULL && !rt_parse_bool(v, &out))
        out = def;
    return out;
}

/* ------------------------------------------------------------------ sections */

static bool is_operator_group(const char *g, const char **name) {
    if (g_str_has_prefix(g, "operator ") || g_str_has_prefix(g, "operator.")) {
        *name = g + strlen("operator ");
        while (**name == ' ')
            (*name)++;
        return true;
    }
    return false;
}

static void check_sections(SimLoader *L, char **groups) {
    bool has_scenario = false, has_edges = false, has_op = false;
    for (char **g = groups; *g != NULL; g++) {
        const char *opname = NULL;
        if (is_operator_group(*g, &opname)) {
            has_op = true;
            continue;
        }
        if (!g_strv_contains(section_names, *g)) {
            const char *near = sim_keys_nearest(*g, section_names);
            sim_loader_error(L, *g, NULL, "unknown section%s%s%s", near ? " (did you mean [" : "",
                             near ? near : "", near ? "]?)" : "");
        }
        has_scenario |= strcmp(*g, "scenario") == 0;
        has_edges |= strcmp(*g, "edges") == 0;
    }
    if (!has_scenario)
        sim_loader_error(L, "scenario", NULL, "missing section (it needs at least 'name')");
    if (!has_op)
        sim_loader_error(L, "operator NAME", NULL,
                         "missing section: the job needs [operator NAME] sections");
    if (!has_edges)
        sim_loader_error(L, "edges", NULL, "missing section: connect the operators");
}

static void build_scenario(SimLoader *L) {
    SimScenario *s = L->s;
    const char *g = "scenario";
    sim_loader_check_keys(L, g, sim_keys_scenario);
    const char *name = sim_loader_value(L, g, "name");
    if (name == NULL && g_key_file_has_group(L->kf, g))
        sim_loader_error(L, g, NULL, "missing required key 'name'");
    s->name = g_strdup(name ? name : "");
    const char *d = sim_loader_value(L, g, "description");
    s->description = g_strdup(d ? d : "");
    s->seed = get_u64(L, g, "seed", 1);
    s->time_limit_ns = get_duration(L, g, "time-limit", 60000000000ull);
    s->faults_stop_ns = get_duration(L, g, "faults-stop-at", s->time_limit_ns / 2);
    s->liveness_bound_ns = get_duration(L, g, "liveness-bound", 20 * 1000000000ull);
    s->max_steps = get_u64(L, g, "max-steps", 50000000);
    s->drain_ns = get_duration(L, g, "drain", 200 * 1000000ull);
    if (s->time_limit_ns == 0)
        sim_loader_error(L, g, "time-limit", "must be > 0");
    if (s->faults_stop_ns > s->time_limit_ns)
        sim_loader_error(L, g, "faults-stop-at", "is after the time limit");
}

static void build_cluster(SimLoader *L) {
    SimScenario *s = L->s;
    sim_loader_check_keys(L, "cluster", sim_keys_cluster);
    s->n_jobmanagers = (uint32_t)get_u64(L, "cluster", "jobmanagers", 1);
    s->n_workers = (uint32_t)get_u64(L, "cluster", "workers", 2);
    s->slots_per_worker = (uint32_t)get_u64(L, "cluster", "slots", 4);
}

static const char *const source_only[] = {"records", "keys", "distribution", "zipf-exponent",
                                          "rate", NULL};

static bool valid_op_name(const char *n) {
    if (*n == '\0')
        return false;
    for (const char *p = n; *p; p++)
        if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '_' && *p != '-')
            return false;
    return true;
}

static void build_operator(SimLoader *L, const char *group, const char *name) {
    SimScenario *s = L->s;
    sim_loader_check_keys(L, group, sim_keys_operator);
    if (!valid_op_name(name))
        sim_loader_error(L, group, NULL, "operator names use [a-z0-9_-]: '%s'", name);
    if (sim_scenario_operator(s, name) >= 0)
        sim_loader_error(L, group, NULL, "operator '%s' is declared twice", name);
    RtOperatorSpec *op = g_new0(RtOperatorSpec, 1);
    op->name = g_strdup(name);
    const char *kind = sim_loader_value(L, group, "kind");
    static const char *const kinds[] = {"source", "map", "counter", "listmap", "sink", NULL};
    op->kind = RT_OP_MAP;
    for (int i = 0; kind != NULL && kinds[i] != NULL; i++)
        if (g_ascii_strcasecmp(kind, kinds[i]) == 0)
            op->kind = (RtOperatorKind)i;
    static_assert(RT_OP_SOURCE == 0 && RT_OP_SINK == 4, "kinds[] follows RtOperatorKind");
    if (kind == NULL)
        sim_loader_error(L, group, NULL, "missing required key 'kind'");
    op->parallelism = (uint32_t)get_u64(L, group, "parallelism", 1);
    op->records = get_u64(L, group, "records", 1000);
    op->keys = get_u64(L, group, "keys", 16);
    const char *dist = sim_loader_value(L, group, "distribution");
    op->distribution = dist && g_ascii_strcasecmp(dist, "zipf") == 0 ? RT_KEYS_ZIPF
                                                                     : RT_KEYS_UNIFORM;
    op->zipf_exponent = get_double(L, group, "zipf-exponent", 1.1);
    op->rate_per_s = get_u64(L, group, "rate", 0);
    op->txn_timeout_ns = get_duration(L, group, "transaction-timeout",
                                      RT_SINK_DEFAULT_TXN_TIMEOUT_NS);
    if (op->kind != RT_OP_SINK && g_key_file_has_key(L->kf, group, "transaction-timeout", NULL))
        sim_loader_error(L, group, "transaction-timeout", "applies only to kind = sink");
    if (op->txn_timeout_ns == 0)
        sim_loader_error(L, group, "transaction-timeout", "must be > 0");
    if (op->distribution == RT_KEYS_ZIPF && !(op->zipf_exponent > 0))
        sim_loader_error(L, group, "zipf-exponent", "must be > 0 for a Zipf distribution");
    for (int i = 0; op->kind != RT_OP_SOURCE && source_only[i] != NULL; i++)
        if (g_key_file_has_key(L->kf, group, source_only[i], NULL))
            sim_loader_error(L, group, source_only[i], "applies only to kind = source");
    g_ptr_array_add(s->graph.operators, op);
}

static void build_operators(SimLoader *L, char **groups) {
    for (char **g = groups; *g != NULL; g++) {
        const char *name = NULL;
        if (!is_operator_group(*g, &name))
            continue;
        if (L->s->graph.operators->len >= SIM_SCENARIO_MAX_OPERATORS) {
            sim_loader_error(L, *g, NULL, "more than %u operators", SIM_SCENARIO_MAX_OPERATORS);
            return;
        }
        build_operator(L, *g, name);
    }
}

/* ------------------------------------------------------------------ edges */

static bool parse_partitioning(const char *v, RtPartitioning *out) {
    static const struct {
        const char *name;
        RtPartitioning p;
    } table[] = {{"forward", RT_PART_FORWARD},     {"rebalance", RT_PART_REBALANCE},
                 {"broadcast", RT_PART_BROADCAST}, {"keyby", RT_PART_KEYBY},
                 {"key-by", RT_PART_KEYBY},        {"hash", RT_PART_KEYBY}};
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++)
        if (g_ascii_strcasecmp(v, table[i].name) == 0) {
            *out = table[i].p;
            return true;
        }
    return false;
}

/* The operator called name, or -1 after an error at place (resolved once per line: a line
 * naming thousands of unknown operators costs no more than its length). */
static int32_t edge_endpoint(SimLoader *L, const SimErrPlace *place, const char *name) {
    int32_t i = sim_scenario_operator(L->s, name);
    if (i >= 0)
        return i;
    GPtrArray *names = g_ptr_array_new();
    for (guint k = 0; k < L->s->graph.operators->len; k++)
        g_ptr_array_add(names, ((RtOperatorSpec *)g_ptr_array_index(L->s->graph.operators, k))
                                   ->name);
    g_ptr_array_add(names, NULL);
    const char *near = sim_keys_nearest(name, (const char *const *)names->pdata);
    sim_loader_error_at(L, place, "unknown operator '%.60s'%s%s%s", name,
                        near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    g_ptr_array_free(names, TRUE);
    return -1;
}

static void add_edge(SimLoader *L, const SimErrPlace *place, int32_t from, int32_t to,
                     RtPartitioning p) {
    GArray *edges = L->s->graph.edges;
    for (guint i = 0; i < edges->len; i++) {
        RtEdgeSpec *e = &g_array_index(edges, RtEdgeSpec, i);
        if (e->from == (uint32_t)from && e->to == (uint32_t)to) {
            sim_loader_error_at(L, place, "this edge is declared twice");
            return;
        }
    }
    const RtOperatorSpec *a = g_ptr_array_index(L->s->graph.operators, from);
    const RtOperatorSpec *b = g_ptr_array_index(L->s->graph.operators, to);
    if (from == to)
        sim_loader_error_at(L, place, "an operator cannot feed itself");
    else if (p == RT_PART_FORWARD && a->parallelism != b->parallelism)
        sim_loader_error_at(L, place,
                         "forward needs equal parallelism (%s has %u, %s has %u): use "
                         "rebalance or keyBy",
                         a->name, a->parallelism, b->name, b->parallelism);
    RtEdgeSpec e = {(uint32_t)from, (uint32_t)to, p};
    g_array_append_val(edges, e);
}

/* Splits "a -> b -> c" at each "->" in one pass. g_strsplit calls strstr per piece, and
 * a sanitizer's strstr measures the rest of the line each time: quadratic in a long line. */
static char **split_arrows(const char *key) {
    GPtrArray *parts = g_ptr_array_new();
    const char *start = key;
    for (const char *c = key; *c != '\0'; c++) {
        if (c[0] == '-' && c[1] == '>') {
            g_ptr_array_add(parts, g_strndup(start, (gsize)(c - start)));
            start = c + 2;
            c++;
        }
    }
    g_ptr_array_add(parts, g_strdup(start));
    g_ptr_array_add(parts, NULL);
    return (char **)g_ptr_array_free(parts, FALSE);
}

static void build_edge_line(SimLoader *L, const char *key) {
    SimErrPlace place;
    sim_loader_place(L, "edges", key, &place);
    const char *v = sim_loader_value(L, "edges", key);
    RtPartitioning p = RT_PART_FORWARD;
    if (v == NULL || !parse_partitioning(v, &p)) {
        sim_loader_error_at(L, &place,
                            "bad value '%.60s': expected forward, rebalance, broadcast or keyBy",
                            v ? v : "");
        return;
    }
    char **parts = split_arrows(key);
    guint n = g_strv_length(parts);
    if (n < 2)
        sim_loader_error_at(L, &place, "an edge is 'from -> to = partitioning'");
    int32_t prev = -1;
    for (guint i = 0; i < n; i++) {
        int32_t cur = edge_endpoint(L, &place, g_strstrip(parts[i]));
        if (prev >= 0 && cur >= 0)
            add_edge(L, &place, prev, cur, p);
        prev = cur;
    }
    g_strfreev(parts);
}

/* Sources have no inputs, sinks no outputs, everything else both; no cycles. */
static void check_topology(SimLoader *L) {
    const RtJobGraph *g = &L->s->graph;
    guint n = g->operators->len;
    uint32_t *in = g_new0(uint32_t, n), *out = g_new0(uint32_t, n);
    for (guint i = 0; i < g->edges->len; i++) {
        const RtEdgeSpec *e = &g_array_index(g->edges, RtEdgeSpec, i);
        out[e->from]++;
        in[e->to]++;
    }
    bool has_source = false, has_sink = false;
    for (guint i = 0; i < n; i++) {
        const RtOperatorSpec *op = g_ptr_array_index(g->operators, i);
        char *group = g_strdup_printf("operator %s", op->name);
        if (!g_key_file_has_group(L->kf, group)) {
            g_free(group);
            group = g_strdup_printf("operator.%s", op->name);
        }
        has_source |= op->kind == RT_OP_SOURCE;
        has_sink |= op->kind == RT_OP_SINK;
        if (op->kind == RT_OP_SOURCE && in[i] > 0)
            sim_loader_error(L, group, "kind", "a source cannot have inputs");
        if (op->kind != RT_OP_SOURCE && in[i] == 0)
            sim_loader_error(L, group, NULL, "operator '%s' has no input edge", op->name);
        if (op->kind == RT_OP_SINK && out[i] > 0)
            sim_loader_error(L, group, "kind", "a sink cannot have outputs");
        if (op->kind != RT_OP_SINK && out[i] == 0)
            sim_loader_error(L, group, NULL, "operator '%s' has no output edge", op->name);
        g_free(group);
    }
    if (n > 0 && !has_source)
        sim_loader_error(L, "edges", NULL, "the job has no operator of kind = source");
    if (n > 0 && !has_sink)
        sim_loader_error(L, "edges", NULL, "the job has no operator of kind = sink");
    /* Kahn: every operator must be removable, else there is a cycle. */
    guint removed = 0;
    bool *done = g_new0(bool, n);
    for (bool progress = true; progress && removed < n;) {
        progress = false;
        for (guint i = 0; i < n; i++) {
            if (done[i] || in[i] > 0)
                continue;
            done[i] = true;
            removed++;
            progress = true;
            for (guint k = 0; k < g->edges->len; k++) {
                const RtEdgeSpec *e = &g_array_index(g->edges, RtEdgeSpec, k);
                if (e->from == i)
                    in[e->to]--;
            }
        }
    }
    if (removed < n)
        sim_loader_error(L, "edges", NULL, "the edges form a cycle");
    g_free(done);
    g_free(in);
    g_free(out);
}

static void build_edges(SimLoader *L) {
    gsize n = 0;
    char **keys = g_key_file_get_keys(L->kf, "edges", &n, NULL);
    for (gsize i = 0; keys != NULL && i < n; i++)
        build_edge_line(L, keys[i]);
    g_strfreev(keys);
    if (L->n_errors == 0)
        check_topology(L);
}

/* ------------------------------------------------------------------ config */

/* Records msg (may be NULL) and, for a key another name of the same key shadows under
 * Flink's precedence (a deprecated --set under a canonical key in the file), says so. */
static void note_config_key(SimLoader *L, const char *key, const char *msg) {
    if (msg != NULL)
        sim_loader_note(L, "config", key, "%s", msg);
    const RtKeyDef *d = rt_config_key_find(key, NULL);
    if (d == NULL || d->status != RT_KEY_MODELLED)
        return;
    const char *names[RT_KEY_MAX_ALIASES + 1] = {d->name};
    memcpy(names + 1, d->aliases, sizeof d->aliases);
    for (size_t i = 0; i <= RT_KEY_MAX_ALIASES && names[i] != NULL; i++) {
        if (strcmp(names[i], key) == 0)
            return;
        if (g_key_file_has_key(L->kf, "config", names[i], NULL)) {
            sim_loader_note(L, "config", key, "ignored, '%s' is also set and wins (Flink's "
                            "precedence)", names[i]);
            return;
        }
    }
}

static bool numeric_type(RtKeyType t) {
    return t == RT_KEY_T_DURATION || t == RT_KEY_T_U64 || t == RT_KEY_T_SIZE ||
           t == RT_KEY_T_DOUBLE;
}

/* Every [config] key through the one registry (rt_config_keys.h), as the runtime reads
 * it: unknown keys and refused values are errors; deprecated names, value aliases and
 * known Flink keys ckptsim does not model are accepted with a note (s->notes). */
static void check_config(SimLoader *L) {
    gsize n = 0;
    char **keys = g_key_file_get_keys(L->kf, "config", &n, NULL);
    for (gsize i = 0; keys != NULL && i < n; i++) {
        const char *v = sim_loader_value(L, "config", keys[i]);
        char *msg = NULL;
        const RtKeyDef *d = rt_config_key_find(keys[i], NULL);
        if (v != NULL && d != NULL && numeric_type(d->type) && !g_ascii_isdigit(v[0])) {
            sim_loader_error(L, "config", keys[i], "bad value '%s': expected a number without "
                             "a sign", v);
            continue;
        }
        switch (v != NULL ? rt_config_key_check(keys[i], v, &msg) : RT_KEY_OK) {
        case RT_KEY_OK:
        case RT_KEY_NOTE: note_config_key(L, keys[i], msg); break;
        case RT_KEY_BAD: sim_loader_error(L, "config", keys[i], "%s", msg); break;
        case RT_KEY_UNKNOWN: {
            const char **names = rt_config_key_names();
            const char *near = sim_keys_nearest(keys[i], names);
            if (near != NULL)
                sim_loader_error(L, "config", keys[i], "unknown key (did you mean '%s'?)",
                                 near);
            else
                sim_loader_error(L, "config", keys[i], "unknown key (the keys are listed in "
                                 "README.md, 'Configuration keys')");
            g_free(names);
            break;
        }
        }
        g_free(msg);
    }
    g_strfreev(keys);
}

static void copy_config(SimLoader *L) {
    gsize n = 0;
    char **keys = g_key_file_get_keys(L->kf, "config", &n, NULL);
    for (gsize i = 0; keys != NULL && i < n; i++) {
        const char *v = sim_loader_value(L, "config", keys[i]);
        if (v != NULL && rt_config_key_find(keys[i], NULL) != NULL)
            rt_config_set(L->s->config, keys[i], v);
    }
    g_strfreev(keys);
    uint64_t maxp = 0;
    GError *e = NULL;
    if (rt_config_key_u64(L->s->config, RT_KEY_MAX_PARALLELISM, &maxp, &e)) {
        L->s->graph.max_parallelism = (uint32_t)maxp;
    } else {
        g_error_free(e);
    }
    for (guint i = 0; maxp > 0 && i < L->s->graph.operators->len; i++) {
        const RtOperatorSpec *op = g_ptr_array_index(L->s->graph.operators, i);
        if (op->parallelism > maxp)
            sim_loader_error(L, "config", "pipeline.max-parallelism",
                             "%" G_GUINT64_FORMAT " is below the parallelism of '%s' (%u)", maxp,
                             op->name, op->parallelism);
    }
}

/* ------------------------------------------------------------------ network */

static SimFaultContext fault_context(const SimScenario *s) {
    return (SimFaultContext){s->n_jobmanagers, s->n_workers, &s->graph};
}

static bool parse_latency(SimLoader *L, const char *key, const char *value, SimLatency *out) {
    GError *e = NULL;
    if (sim_latency_parse(value, out, &e))
        return true;
    sim_loader_error(L, "network", key, "bad value '%s': %s (e.g. constant:1ms, "
                     "uniform:500us:2ms, lognormal:500us:0.5:100us:20ms)", value, e->message);
    g_error_free(e);
    return false;
}

static void build_link(SimLoader *L, const char *key, const char *value) {
    SimFaultContext ctx = fault_context(L->s);
    char **parts = g_strsplit(key + strlen("link."), ".", -1);
    SimLinkSpec link;
    memset(&link, 0, sizeof link);
    char *why = NULL;
    if (g_strv_length(parts) != 2) {
        sim_loader_error(L, "network", key, "a link override is 'link.PROCESS.PROCESS'");
    } else if (!sim_proc_parse(parts[0], &ctx, &link.a, &why) ||
               !sim_proc_parse(parts[1], &ctx, &link.b, &why)) {
        sim_loader_error(L, "network", key, "%s", why);
    } else if (!parse_latency(L, key, value, &link.latency)) {
    } else if (L->s->links->len >= SIM_SCENARIO_MAX_LINKS) {
        sim_loader_error(L, "network", key, "more than %u link overrides",
                         SIM_SCENARIO_MAX_LINKS);
    } else {
        g_array_append_val(L->s->links, link);
    }
    g_free(why);
    g_strfreev(parts);
}

static void build_network(SimLoader *L) {
    SimScenario *s = L->s;
    s->latency = sim_latency_uniform(500000, 2000000);
    gsize n = 0;
    char **keys = g_key_file_get_keys(L->kf, "network", &n, NULL);
    for (gsize i = 0; keys != NULL && i < n; i++) {
        const char *v = sim_loader_value(L, "network", keys[i]);
        char *why = NULL;
        if (g_str_has_prefix(keys[i], "link.")) {
            build_link(L, keys[i], v);
        } else if (strcmp(keys[i], "latency") == 0) {
            parse_latency(L, keys[i], v, &s->latency);
        } else if (strcmp(keys[i], "detection-delay") == 0) {
            s->has_detection_delay = rt_parse_duration_ns(v, &s->detection_delay_ns);
            if (!s->has_detection_delay)
                sim_loader_error(L, "network", keys[i], "bad value '%s': expected a duration",
                                 v);
        } else {
            char *hint = sim_keys_hint(sim_keys_network, keys[i]);
            sim_loader_error(L, "network", keys[i], "unknown key%s (per-link overrides are "
                             "'link.PROCESS.PROCESS')", hint);
            g_free(hint);
        }
        g_free(why);
    }
    g_strfreev(keys);
}

/* ------------------------------------------------------------------ faults */

static bool valid_fault_name(const char *n) {
    for (const char *p = n; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
            return false;
    return *n != '\0';
}

static void build_faults(SimLoader *L) {
    SimScenario *s = L->s;
    SimFaultContext ctx = fault_context(s);
    gsize n = 0;
    char **keys = g_key_file_get_keys(L->kf, "faults", &n, NULL);
    for (gsize i = 0; keys != NULL && i < n; i++) {
        const char *v = sim_loader_value(L, "faults", keys[i]);
        SimFault f;
        char *why = NULL;
        if (!valid_fault_name(keys[i])) {
            sim_loader_error(L, "faults", keys[i], "fault names use [A-Za-z0-9_-]");
        } else if (!sim_fault_parse(keys[i], v, &ctx, &f, &why)) {
            sim_loader_error(L, "faults", keys[i], "%s", why);
        } else if (f.trigger.kind == SIM_TRIGGER_AT && f.trigger.at_ns >= s->faults_stop_ns) {
            sim_loader_error(L, "faults", keys[i],
                             "fires at or after [scenario] faults-stop-at");
            sim_fault_clear(&f);
        } else {
            g_ptr_array_add(s->faults, sim_fault_copy(&f));
            sim_fault_clear(&f);
        }
        g_free(why);
    }
    g_strfreev(keys);
}

static void build_random_faults(SimLoader *L) {
    const char *g = "random-faults";
    SimRandomFaults *r = &L->s->random;
    sim_loader_check_keys(L, g, sim_keys_random_faults);
    r->crash_rate = get_double(L, g, "crash-rate", 0);
    r->jobmanager_crash_rate = get_double(L, g, "jobmanager-crash-rate", 0);
    r->restart_after_ns = get_duration(L, g, "restart-after", 1000000000ull);
    r->spike_rate = get_double(L, g, "spike-rate", 0);
    r->spike_latency_ns = get_duration(L, g, "spike-latency", 50000000ull);
    r->spike_duration_ns = get_duration(L, g, "spike-duration", 500000000ull);
    r->partition_rate = get_double(L, g, "partition-rate", 0);
    r->partition_duration_ns = get_duration(L, g, "partition-duration", 500000000ull);
    r->storage_error_rate = get_double(L, g, "storage-error-rate", 0);
    r->zk_expire_rate = get_double(L, g, "zk-expire-rate", 0);
    r->swarm = get_bool(L, g, "swarm", false);
}

static void build_zookeeper(SimLoader *L) {
    sim_loader_check_keys(L, "zookeeper", sim_keys_zookeeper);
    L->s->zk_tick_ns = get_duration(L, "zookeeper", "tick-time", 2000000000ull);
    if (L->s->zk_tick_ns < 1000000ull)
        sim_loader_error(L, "zookeeper", "tick-time", "tickTime must be at least 1 ms");
    L->s->zk_servers = (uint32_t)get_u64(L, "zookeeper", "servers", 3);
    L->s->zk_follower_lag_ns = get_duration(L, "zookeeper", "follower-lag", 1000000ull);
}

static void build_expect(SimLoader *L) {
    SimExpect *x = &L->s->expect;
    sim_loader_check_keys(L, "expect", sim_keys_expect);
    x->exactly_once = get_bool(L, "expect", "exactly-once", true);
    x->consistent_cuts = get_bool(L, "expect", "consistent-cuts", true);
    x->liveness = get_bool(L, "expect", "liveness", true);
    x->coverage = get_bool(L, "expect", "coverage", true);
    x->min_completed_checkpoints = get_u64(L, "expect", "min-completed-checkpoints", 0);
    x->min_failovers = get_u64(L, "expect", "min-failovers", 0);
    const char *ev = sim_loader_value(L, "expect", "expected-violations");
    if (ev == NULL)
        return;
    static const char *const known[] = {SIM_INV_EXACTLY_ONCE, SIM_INV_CONSISTENT_CUT,
                                        SIM_INV_LIVENESS, SIM_INV_HA_SAFETY,
                                        SIM_INV_RETENTION, NULL};
    x->expected_violations = g_strsplit_set(ev, ", ", -1);
    guint n = 0;
    for (guint i = 0; x->expected_violations[i] != NULL; i++) {
        char *name = x->expected_violations[i];
        if (name[0] == '\0') {
            g_free(name);
            continue;
        }
        if (!g_strv_contains(known, name))
            sim_loader_error(L, "expect", "expected-violations",
                             "'%s' is not an invariant the oracle checks (exactly-once, "
                             "consistent-cut, liveness, ha-safety, retention)", name);
        x->expected_violations[n++] = name;
    }
    x->expected_violations[n] = NULL;
}

/* ckptsim's scheduler gives every subtask a slot of its own (rt_jobmanager_deploy.c), where
 * Flink's slot sharing (SlotSharingGroup: one slot holds one subtask of each operator of
 * the default group) needs only as many slots as the highest parallelism: the error says
 * both figures. */
static void check_capacity(SimLoader *L) {
    const SimScenario *s = L->s;
    uint64_t subtasks = 0, maxp = 0;
    for (guint i = 0; i < s->graph.operators->len; i++) {
        uint32_t p = ((RtOperatorSpec *)g_ptr_array_index(s->graph.operators, i))->parallelism;
        subtasks += p;
        maxp = MAX(maxp, p);
    }
    uint64_t slots = (uint64_t)s->n_workers * s->slots_per_worker;
    if (subtasks > slots)
        sim_loader_error(L, "cluster", "slots",
                         "%u workers x %u slots = %" G_GUINT64_FORMAT " slots cannot host the "
                         "job's %" G_GUINT64_FORMAT " subtasks: ckptsim gives every subtask a "
                         "slot of its own (Flink's slot sharing would need only %" G_GUINT64_FORMAT
                         ", the highest parallelism); raise slots to %" G_GUINT64_FORMAT
                         " or workers to %" G_GUINT64_FORMAT,
                         s->n_workers, s->slots_per_worker, slots, subtasks, maxp,
                         (subtasks + s->n_workers - 1) / s->n_workers,
                         (subtasks + s->slots_per_worker - 1) / s->slots_per_worker);
}

void sim_loader_build(SimLoader *L) {
    SimScenario *s = L->s;
    s->graph.operators = g_ptr_array_new();
    s->graph.edges = g_array_new(FALSE, TRUE, sizeof(RtEdgeSpec));
    s->config = rt_config_new();
    s->notes = g_ptr_array_new_with_free_func(g_free);
    s->links = g_array_new(FALSE, TRUE, sizeof(SimLinkSpec));
    s->faults = g_ptr_array_new_with_free_func((GDestroyNotify)sim_fault_free);
    char **groups = g_key_file_get_groups(L->kf, NULL);
    check_sections(L, groups);
    build_scenario(L);
    build_cluster(L);
    check_config(L);
    build_operators(L, groups);
    s->graph.name = g_strdup(s->name);
    if (L->n_errors == 0)
        build_edges(L);
    if (L->n_errors == 0)
        sim_loader_check_size(L);
    if (L->n_errors == 0)
        check_capacity(L);
    copy_config(L);
    build_network(L);
    build_random_faults(L);
    build_zookeeper(L);
    build_expect(L);
    if (L->n_errors == 0)
        build_faults(L);
    if (L->n_errors == 0)
        sim_loader_check_runtime_config(L);
    if (L->n_errors == 0)
        sim_loader_hints(L);
    g_strfreev(groups);
}

/* ------------------------------------------------------------------ public */

void sim_scenario_free(SimScenario *s) {
    if (s == NULL)
        return;
    g_free(s->path);
    g_free(s->text);
    g_free(s->name);
    g_free(s->description);
    g_strfreev(s->expect.expected_violations);
    if (s->notes != NULL)
        g_ptr_array_free(s->notes, TRUE);
    g_free(s->graph.name);
    if (s->graph.operators != NULL) {
        for (guint i = 0; i < s->graph.operators->len; i++) {
            RtOperatorSpec *op = g_ptr_array_index(s->graph.operators, i);
            g_free(op->name);
            g_free(op);
        }
        g_ptr_array_free(s->graph.operators, TRUE);
    }
    if (s->graph.edges != NULL)
        g_array_free(s->graph.edges, TRUE);
    rt_config_free(s->config);
    if (s->links != NULL)
        g_array_free(s->links, TRUE);
    if (s->faults != NULL)
        g_ptr_array_free(s->faults, TRUE);
    g_free(s);
}

int32_t sim_scenario_operator(const SimScenario *s, const char *name) {
    for (guint i = 0; s->graph.operators != NULL && i < s->graph.operators->len; i++)
        if (strcmp(((RtOperatorSpec *)g_ptr_array_index(s->graph.operators, i))->name, name) ==
            0)
            return (int32_t)i;
    return -1;
}

void sim_scenario_cluster_spec(const SimScenario *s, const RtProcessId *jm_ids,
                               const RtProcessId *worker_ids, RtClusterSpec *out) {
    assert(s != NULL && out != NULL);
    assert(s->n_jobmanagers <= RT_CLUSTER_MAX_PROCESSES);
    assert(s->n_workers <= RT_CLUSTER_MAX_PROCESSES);
    memset(out, 0, sizeof *out);
    out->n_jobmanagers = s->n_jobmanagers;
    out->n_workers = s->n_workers;
    out->slots_per_worker = s->slots_per_worker;
    for (uint32_t i = 0; i < s->n_jobmanagers; i++)
        out->jobmanagers[i] = jm_ids[i];
    for (uint32_t i = 0; i < s->n_workers; i++)
        out->workers[i] = worker_ids[i];
}
