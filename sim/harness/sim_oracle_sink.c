/* sim_oracle_sink.c - the exactly-once ledger at the end of a run. Reads the committed
 * sink output god's-eye (every committed-<txn> file under sink/<op>/<subtask>/, decoded
 * with the sink's own format, record by record without a copy) and checks, per sink
 * subtask wherever the destination subtask is determined (forward, broadcast, keyBy:
 * sim_oracle_route) and per sink operator where it is not (a rebalance into parallelism
 * > 1 upstream):
 *  - records: each record identity (src, offset) is committed exactly as many times as
 *    its copies reach that subtask (bit-packed counters per source subtask, 4 bits or
 *    wide enough for the largest multiplicity plus one, saturating; one subtask at a
 *    time, so the memory is that of one counter per record); fewer = lost, more =
 *    duplicated; the committed key must be the generator's key;
 *  - values: behind a counter (every path into the sink comes from one counter, with
 *    no other counter between), each key's committed values are exactly 1..N, each as
 *    many times as a copy of that counter's output reaches the subtask, where N is the
 *    copies of the key's records the counter sees: a stale or skipped count is named
 *    even when the records all arrived; with only sources upstream (maps and listmaps
 *    pass records on), each value is the generator's value.
 * At-least-once, "more" is allowed (counted in records_duplicated / values_duplicated),
 * "fewer" is a violation. An unfinished job reports no "fewer" (liveness covers it).
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/operators/rt_sink_format.h"
#include "sim/harness/sim_oracle_internal.h"

/* One pass over the committed files of a sink operator: one subtask (j), or all of
 * them at once (j = UINT32_MAX: the destination is not determined). */
typedef struct SinkPass {
    uint32_t op;
    uint32_t j;
    SimPacked *seen;     /* per global src, per offset: copies committed (saturating) */
    uint64_t records;
    uint64_t foreign;    /* records with an impossible identity or key */
    uint64_t bad_values; /* source values that are not the generator's (values_src) */
    /* Counter values (vc != UINT32_MAX): */
    uint32_t vc;         /* the counter whose counts the values are */
    uint64_t *voff;      /* per key index: first slot of its values 1..N in vals */
    uint64_t *vn;        /* per key index: N */
    SimPacked vals;      /* per (key, value) slot: copies committed (saturating) */
    uint64_t out_of_range; /* values 0 or > N */
    uint64_t first_oor_key, first_oor_value;
    bool values_src;     /* values must be the sources' (no counter upstream) */
    SimRouteCache route; /* routes to (op, j) */
} SinkPass;

static void tally_value(SimOracle *o, SinkPass *t, const RtRecord *r, uint32_t k) {
    if (t->values_src) {
        RtRecord g;
        sim_oracle_source_record(o, r->src, r->offset, &g);
        t->bad_values += g.value != r->value;
    }
    if (t->vc == UINT32_MAX)
        return;
    if (r->value == 0 || r->value > t->vn[k]) {
        if (t->out_of_range++ == 0) {
            t->first_oor_key = r->key;
            t->first_oor_value = r->value;
        }
        return;
    }
    uint64_t slot = t->voff[k] + r->value - 1;
    uint32_t c = sim_packed_get(&t->vals, slot);
    if (c < sim_packed_max(&t->vals))
        sim_packed_set(&t->vals, slot, c + 1);
}

static void tally_record(SimOracle *o, SinkPass *t, const RtRecord *r, const char *file,
                         uint64_t end_ns) {
    t->records++;
    if (r->src >= o->n_src || r->offset >= o->src_records[r->src]) {
        if (t->foreign++ == 0)
            sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_ns, 0,
                               "%s holds record (src %u, offset %" PRIu64
                               ") which is not in the input",
                               file, r->src, r->offset);
        return;
    }
    uint32_t k = sim_oracle_ledger_key(o, r->src, r->offset);
    if (k == SIM_ORACLE_NO_KEY) {
        if (t->foreign++ == 0)
            sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_ns, 0,
                               "%s holds record (src %u, offset %" PRIu64
                               ") which no source emitted",
                               file, r->src, r->offset);
        return;
    }
    uint64_t key = g_array_index(o->keys, uint64_t, k);
    if (key != r->key) {
        if (t->foreign++ == 0)
            sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_ns, 0,
                               "%s holds record (src %u, offset %" PRIu64 ") with key %" PRIu64
                               ", the source's generator gives key %" PRIu64,
                               file, r->src, r->offset, r->key, key);
        return;
    }
    SimPacked *seen = &t->seen[r->src];
    uint32_t c = sim_packed_get(seen, r->offset);
    if (c < sim_packed_max(seen))
        sim_packed_set(seen, r->offset, c + 1);
    tally_value(o, t, r, k);
}

/* One committed file being tallied (rt_sink_file_foreach's user data). */
typedef struct SinkFileRead {
    SimOracle *o;
    SinkPass *t;
    const char *path;
    uint64_t end_ns;
} SinkFileRead;

static void tally_cb(void *ud, uint32_t index, const RtRecord *r) {
    (void)index;
    SinkFileRead *rd = ud;
    tally_record(rd->o, rd->t, r, rd->path, rd->end_ns);
}

static void read_sink_file(SimOracle *o, SinkPass *t, const char *path, uint64_t end_ns) {
    GBytes *b = o->files.read(o->files.ctx, path);
    if (b == NULL) {
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_ns, 0,
                           "committed sink file %s is listed but unreadable", path);
        return;
    }
    size_t len = 0;
    const void *data = g_bytes_get_data(b, &len);
    GError *err = NULL;
    SinkFileRead rd = {o, t, path, end_ns};
    if (!rt_sink_file_foreach(data, len, tally_cb, &rd, NULL, &err)) {
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_ns, 0,
                           "committed sink file %s is corrupt: %s", path, err->message);
        g_error_free(err);
    }
    g_bytes_unref(b);
}

/* Reads the committed files of subtask j (every subtask when j = UINT32_MAX). */
static void read_sink(SimOracle *o, SinkPass *t, uint64_t end_ns) {
    const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, t->op);
    for (uint32_t i = 0; i < spec->parallelism; i++) {
        if (t->j != UINT32_MAX && i != t->j)
            continue;
        char *dir = rt_sink_dir(spec->name, i);
        char **names = o->files.list(o->files.ctx, dir);
        for (char **n = names; n != NULL && *n != NULL; n++) {
            if (!g_str_has_prefix(*n, RT_SINK_COMMITTED_PREFIX))
                continue;
            char *path = g_strdup_printf("%s/%s", dir, *n);
            read_sink_file(o, t, path, end_ns);
            g_free(path);
        }
        g_strfreev(names);
        g_free(dir);
    }
    o->records_committed += t->records;
}

/* Appends a named record "(src S, offset O, key K, emitted after checkpoint C)". */
static void name_record(const SimOracle *o, GString *s, uint32_t src, uint64_t off,
                        uint32_t copies) {
    uint32_t k = sim_oracle_ledger_key(o, src, off);
    if (s->len > 0)
        g_string_append(s, ", ");
    g_string_append_printf(s, "(src %u, offset %" PRIu64, src, off);
    if (k == SIM_ORACLE_NO_KEY) {
        g_string_append(s, ", never emitted)");
        return;
    }
    const SimEpoch *e = sim_oracle_ledger_epoch(o, src, off);
    g_string_append_printf(s, ", key %" PRIu64 ", %u copies, emitted after checkpoint %" PRIu64
                           " at t>=%" PRIu64 " ms)",
                           g_array_index(o->keys, uint64_t, k), copies, e->last_completed_id,
                           e->start_ns / 1000000u);
}

typedef struct LedgerFinding {
    uint64_t n;        /* records in this category */
    uint64_t copies;   /* extra copies (duplicates) */
    GString *named;
    uint32_t first_src;
    uint64_t first_off;
} LedgerFinding;

/* "sink X" or "sink X[j]" (new string). */
static char *pass_name(const SimOracle *o, const SinkPass *t) {
    const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, t->op);
    return t->j == UINT32_MAX ? g_strdup_printf("sink %s", spec->name)
                              : g_strdup_printf("sink %s[%u]", spec->name, t->j);
}

static void report_finding(SimOracle *o, const SinkPass *t, LedgerFinding *f, const char *what,
                           uint64_t end_ns) {
    if (f->n > 0) {
        uint64_t ckpt = 0, when = end_ns;
        if (sim_oracle_ledger_key(o, f->first_src, f->first_off) != SIM_ORACLE_NO_KEY) {
            const SimEpoch *e = sim_oracle_ledger_epoch(o, f->first_src, f->first_off);
            ckpt = e->last_completed_id;
            when = e->start_ns;
        }
        char *name = pass_name(o, t);
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, when, ckpt, "%s: %" PRIu64 " records %s; "
                           "first: %s", name, f->n, what, f->named->str);
        g_free(name);
    }
    g_string_free(f->named, TRUE);
}

/* Copies of record (s, off) that must reach the pass's subtask(s). */
static uint64_t expected_copies(const SimOracle *o, SinkPass *t, uint32_t s, uint64_t off) {
    uint32_t op = o->src_op[s];
    if (t->j == UINT32_MAX)
        return o->mult[(size_t)op * o->n_ops + t->op];
    uint32_t k = sim_oracle_ledger_key(o, s, off);
    if (k != SIM_ORACLE_NO_KEY)
        return sim_route_cache_get(o, &t->route, s, k);
    RtRecord r; /* never emitted: its key from the generator */
    sim_oracle_source_record(o, s, off, &r);
    return sim_oracle_route(o, op, s - o->src_first[op], r.key, t->op, t->j, NULL);
}

/* Compares each record's copies with the copies that reach the pass's subtask(s). */
static void check_ledger(SimOracle *o, SinkPass *t, bool complete, uint64_t end_ns) {
    LedgerFinding lost = {0, 0, g_string_new(NULL), 0, 0};
    LedgerFinding dup = {0, 0, g_string_new(NULL), 0, 0};
    for (uint32_t s = 0; s < o->n_src; s++) {
        if (o->mult[(size_t)o->src_op[s] * o->n_ops + t->op] == 0)
            continue;
        for (uint64_t off = 0; off < o->src_records[s]; off++) {
            uint32_t c = sim_packed_get(&t->seen[s], off);
            uint64_t m = expected_copies(o, t, s, off);
            if (c == m)
                continue;
            if (c > m)
                o->records_duplicated += c - m;
            if ((c < m && !complete) || (o->at_least_once && c > m))
                continue;
            LedgerFinding *f = c < m ? &lost : &dup;
            if (f->n == 0) {
                f->first_src = s;
                f->first_off = off;
            }
            if (f->n++ < SIM_ORACLE_MAX_NAMED)
                name_record(o, f->named, s, off, c);
        }
    }
    o->records_lost += lost.n;
    report_finding(o, t, &lost, "lost (committed fewer times than they reach it)", end_ns);
    report_finding(o, t, &dup, "duplicated (committed more times than they reach it)", end_ns);
}

/* Copies of each count of key that the counter's output brings to the pass's
 * subtask(s). */
static uint64_t value_copies(const SimOracle *o, const SinkPass *t, uint64_t key) {
    if (t->j == UINT32_MAX)
        return o->mult[(size_t)t->vc * o->n_ops + t->op];
    return sim_oracle_route(o, t->vc, sim_oracle_key_owner(o, t->vc, key), key, t->op, t->j,
                            NULL);
}

/* Each key's committed values must be 1..N, each value_copies times. */
static void check_values(SimOracle *o, SinkPass *t, bool complete, uint64_t end_ns) {
    GString *named = g_string_new(NULL);
    uint64_t bad = 0;
    for (uint32_t k = 0; t->vc != UINT32_MAX && k < o->keys->len; k++) {
        uint64_t key = g_array_index(o->keys, uint64_t, k), e = value_copies(o, t, key);
        for (uint64_t v = 1; v <= t->vn[k]; v++) {
            uint64_t c = sim_packed_get(&t->vals, t->voff[k] + v - 1);
            if (c > e)
                o->values_duplicated += c - e;
            if (c == e || (c < e && !complete) || (o->at_least_once && c > e))
                continue;
            if (bad++ < SIM_ORACLE_MAX_NAMED)
                g_string_append_printf(named, "%skey %" PRIu64 " value %" PRIu64 " committed %"
                                       PRIu64 " times (expected %" PRIu64 ")",
                                       named->len > 0 ? ", " : "", key, v, c, e);
        }
    }
    if (t->out_of_range > 0 && !o->at_least_once) {
        bad += t->out_of_range;
        g_string_append_printf(named, "%s%" PRIu64 " values out of range (first: key %" PRIu64
                               " value %" PRIu64 ")", named->len > 0 ? ", " : "",
                               t->out_of_range, t->first_oor_key, t->first_oor_value);
    } else if (t->out_of_range > 0) {
        o->values_duplicated += t->out_of_range; /* counts beyond N: over-counting */
    }
    if (t->bad_values > 0) {
        bad += t->bad_values;
        g_string_append_printf(named, "%s%" PRIu64 " records whose value is not the source's",
                               named->len > 0 ? ", " : "", t->bad_values);
    }
    if (bad > 0) {
        char *name = pass_name(o, t);
        const RtOperatorSpec *c = t->vc != UINT32_MAX ? g_ptr_array_index(o->graph->operators,
                                                                          t->vc) : NULL;
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_ns, o->last_completed_id,
                           "%s: %" PRIu64 " committed values are wrong%s%s: %s", name, bad,
                           c != NULL ? ", counter " : "", c != NULL ? c->name : "", named->str);
        g_free(name);
    }
    g_string_free(named, TRUE);
}

/* Width of a copy counter that must hold m: room for m plus one (so a duplicate is
 * always visible), at least 4 bits, at most 8. */
static uint32_t copy_bits(uint64_t m) {
    return CLAMP(sim_packed_bits_for(m + 1), 4u, 8u);
}

/* Prepares the counter-value slots of sink x: N per key over every emitted record. */
static void values_init(SimOracle *o, SinkPass *t) {
    uint32_t nk = o->keys->len;
    t->voff = g_new0(uint64_t, (size_t)nk + 1);
    t->vn = g_new0(uint64_t, (size_t)nk + 1);
    for (uint32_t s = 0; s < o->n_src; s++) {
        uint64_t m = o->mult[(size_t)o->src_op[s] * o->n_ops + t->vc];
        for (uint64_t off = 0; m > 0 && off < o->src_records[s]; off++) {
            uint32_t k = sim_oracle_ledger_key(o, s, off);
            if (k != SIM_ORACLE_NO_KEY)
                t->vn[k] += m;
        }
    }
    uint64_t total = 0;
    for (uint32_t k = 0; k < nk; k++) {
        t->voff[k] = total;
        total += t->vn[k];
    }
    sim_packed_init(&t->vals, total + 1, copy_bits(o->mult[(size_t)t->vc * o->n_ops + t->op]));
}

static void pass_run(SimOracle *o, SinkPass *t, uint64_t end_ns, bool complete) {
    uint64_t m = 0;
    for (uint32_t s = 0; s < o->n_src; s++)
        m = MAX(m, o->mult[(size_t)o->src_op[s] * o->n_ops + t->op]);
    t->seen = g_new0(SimPacked, o->n_src + 1);
    for (uint32_t s = 0; s < o->n_src; s++)
        sim_packed_init(&t->seen[s], o->src_records[s], copy_bits(m));
    if (t->vc != UINT32_MAX)
        values_init(o, t);
    sim_route_cache_init(&t->route, o, t->op, t->j);
    read_sink(o, t, end_ns);
    check_ledger(o, t, complete, end_ns);
    check_values(o, t, complete, end_ns);
    for (uint32_t s = 0; s < o->n_src; s++)
        sim_packed_deinit(&t->seen[s]);
    g_free(t->seen);
    if (t->vc != UINT32_MAX)
        sim_packed_deinit(&t->vals);
    g_free(t->voff);
    g_free(t->vn);
    sim_route_cache_deinit(&t->route);
}

/* True when the sink's values are the sources' own (no counter on any path into it). */
static bool values_from_sources(const SimOracle *o, uint32_t x) {
    for (uint32_t s = 0; s < o->n_ops; s++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, s);
        if (s != x && spec->kind == RT_OP_COUNTER && o->mult[(size_t)s * o->n_ops + x] > 0)
            return false;
    }
    return true;
}

void sim_oracle_check_sinks(SimOracle *o, uint64_t end_time_ns, bool complete) {
    for (uint32_t op = 0; op < o->n_ops; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        if (spec->kind != RT_OP_SINK)
            continue;
        uint32_t vc = o->records_emitted > 0 ? sim_oracle_value_counter(o, op) : UINT32_MAX;
        bool agg = sim_oracle_route_undetermined_any(o, op);
        uint32_t passes = agg ? 1 : spec->parallelism;
        for (uint32_t j = 0; j < passes; j++) {
            SinkPass t = {.op = op, .j = agg ? UINT32_MAX : j, .vc = vc,
                          .values_src = values_from_sources(o, op)};
            pass_run(o, &t, end_time_ns, complete);
        }
    }
}
