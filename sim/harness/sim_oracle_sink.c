/* sim_oracle_sink.c - the exactly-once ledger at the end of a run. Reads the committed
 * sink output god's-eye (every committed-<txn> file under sink/<op>/<subtask>/, decoded
 * with the sink's own format, record by record without a copy), counts each record
 * identity (src, offset) in a bit-packed counter per source subtask (4 bits, or wide
 * enough for the largest path multiplicity plus one, saturating), and compares with the
 * path multiplicity from the record's source to the sink: fewer copies = lost, more =
 * duplicated. For a sink fed only by one
 * counter, each key's largest committed value (the counter's final count) must equal the
 * number of copies of records with that key the counter must have seen.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/operators/rt_sink_format.h"
#include "sim/harness/sim_oracle_internal.h"

/* Per-sink tallies while reading its committed files. */
typedef struct SinkTally {
    uint32_t op;
    SimPacked *seen;    /* per global src, per offset: copies committed (saturating) */
    uint64_t *max_value;/* per key index: largest committed value */
    uint64_t records;
    uint64_t foreign;   /* records with an impossible identity */
} SinkTally;

static void tally_record(SimOracle *o, SinkTally *t, const RtRecord *r, const char *file,
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
                               ", the source emitted key %" PRIu64,
                               file, r->src, r->offset, r->key, key);
        return;
    }
    SimPacked *seen = &t->seen[r->src];
    uint32_t c = sim_packed_get(seen, r->offset);
    if (c < sim_packed_max(seen))
        sim_packed_set(seen, r->offset, c + 1);
    if (r->value > t->max_value[k])
        t->max_value[k] = r->value;
}

/* One committed file being tallied (rt_sink_file_foreach's user data). */
typedef struct SinkFileRead {
    SimOracle *o;
    SinkTally *t;
    const char *path;
    uint64_t end_ns;
} SinkFileRead;

static void tally_cb(void *ud, uint32_t index, const RtRecord *r) {
    (void)index;
    SinkFileRead *rd = ud;
    tally_record(rd->o, rd->t, r, rd->path, rd->end_ns);
}

static void read_sink_file(SimOracle *o, SinkTally *t, const char *path, uint64_t end_ns) {
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

static void read_sink(SimOracle *o, SinkTally *t, uint64_t end_ns) {
    const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, t->op);
    for (uint32_t i = 0; i < spec->parallelism; i++) {
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

static void report_finding(SimOracle *o, const SinkTally *t, LedgerFinding *f, const char *what,
                           uint64_t end_ns) {
    if (f->n > 0) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, t->op);
        uint64_t ckpt = 0, when = end_ns;
        if (sim_oracle_ledger_key(o, f->first_src, f->first_off) != SIM_ORACLE_NO_KEY) {
            const SimEpoch *e = sim_oracle_ledger_epoch(o, f->first_src, f->first_off);
            ckpt = e->last_completed_id;
            when = e->start_ns;
        }
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, when, ckpt,
                           "sink %s: %" PRIu64 " records %s; first: %s", spec->name, f->n, what,
                           f->named->str);
    }
    g_string_free(f->named, TRUE);
}

/* Compares each record's copies with the multiplicity from its source to the sink. */
static void check_ledger(SimOracle *o, const SinkTally *t, bool complete, uint64_t end_ns) {
    LedgerFinding lost = {0, 0, g_string_new(NULL), 0, 0};
    LedgerFinding dup = {0, 0, g_string_new(NULL), 0, 0};
    for (uint32_t s = 0; s < o->n_src; s++) {
        uint64_t m = o->mult[(size_t)o->src_op[s] * o->n_ops + t->op];
        for (uint64_t off = 0; off < o->src_records[s]; off++) {
            uint32_t c = sim_packed_get(&t->seen[s], off);
            if (c == m || (o->at_least_once && c > m))
                continue;
            LedgerFinding *f = c < m ? &lost : &dup;
            if (c < m && !complete)
                continue;
            if (f->n == 0) {
                f->first_src = s;
                f->first_off = off;
            }
            if (f->n++ < SIM_ORACLE_MAX_NAMED)
                name_record(o, f->named, s, off, c);
            if (c > m)
                f->copies += c - m;
        }
    }
    o->records_lost += lost.n;
    o->records_duplicated += dup.copies;
    report_finding(o, t, &lost, "lost (committed fewer times than they reach the sink)", end_ns);
    report_finding(o, t, &dup, "duplicated (committed more times than they reach the sink)",
                   end_ns);
}

/* The counter feeding sink op, if every edge into it comes from one counter; else
 * UINT32_MAX. */
static uint32_t feeding_counter(const SimOracle *o, uint32_t sink) {
    uint32_t c = UINT32_MAX;
    for (guint e = 0; e < o->graph->edges->len; e++) {
        const RtEdgeSpec *ed = &g_array_index(o->graph->edges, RtEdgeSpec, e);
        if (ed->to != sink)
            continue;
        const RtOperatorSpec *from = g_ptr_array_index(o->graph->operators, ed->from);
        if (from->kind != RT_OP_COUNTER || (c != UINT32_MAX && c != ed->from))
            return UINT32_MAX;
        c = ed->from;
    }
    return c;
}

/* Each key's final count (largest committed value) must be the copies of its records
 * that reach the counter. Only meaningful once the whole input was emitted. */
static void check_final_counts(SimOracle *o, const SinkTally *t, uint64_t end_ns) {
    uint32_t c = feeding_counter(o, t->op);
    if (c == UINT32_MAX || o->records_emitted == 0)
        return;
    uint32_t nk = o->keys->len;
    uint64_t *want = g_new0(uint64_t, (size_t)nk + 1);
    for (uint32_t s = 0; s < o->n_src; s++) {
        uint64_t m = o->mult[(size_t)o->src_op[s] * o->n_ops + c];
        for (uint64_t off = 0; off < o->src_records[s]; off++) {
            uint32_t k = sim_oracle_ledger_key(o, s, off);
            if (k != SIM_ORACLE_NO_KEY)
                want[k] += m;
        }
    }
    GString *named = g_string_new(NULL);
    uint64_t bad = 0;
    for (uint32_t k = 0; k < nk; k++) {
        if (t->max_value[k] == want[k] || (o->at_least_once && t->max_value[k] > want[k]))
            continue;
        if (bad++ < SIM_ORACLE_MAX_NAMED)
            g_string_append_printf(named, "%skey %" PRIu64 " final count %" PRIu64
                                   " expected %" PRIu64,
                                   named->len > 0 ? ", " : "", g_array_index(o->keys, uint64_t, k),
                                   t->max_value[k], want[k]);
    }
    if (bad > 0) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, t->op);
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_ns, o->last_completed_id,
                           "sink %s: %" PRIu64 " keys have a wrong final count: %s", spec->name,
                           bad, named->str);
    }
    g_string_free(named, TRUE);
    g_free(want);
}

/* Width of sink op's copy counters: at least 4 bits, and room for the largest
 * multiplicity plus one (so a duplicate is always visible), at most 8 bits. */
static uint32_t seen_bits(const SimOracle *o, uint32_t op) {
    uint64_t m = 0;
    for (uint32_t s = 0; s < o->n_src; s++)
        m = MAX(m, o->mult[(size_t)o->src_op[s] * o->n_ops + op]);
    return CLAMP(sim_packed_bits_for(m + 1), 4u, 8u);
}

void sim_oracle_check_sinks(SimOracle *o, uint64_t end_time_ns, bool complete) {
    for (uint32_t op = 0; op < o->n_ops; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        if (spec->kind != RT_OP_SINK)
            continue;
        SinkTally t = {op, g_new0(SimPacked, o->n_src + 1),
                       g_new0(uint64_t, (size_t)o->keys->len + 1), 0, 0};
        uint32_t bits = seen_bits(o, op);
        for (uint32_t s = 0; s < o->n_src; s++)
            sim_packed_init(&t.seen[s], o->src_records[s], bits);
        read_sink(o, &t, end_time_ns);
        check_ledger(o, &t, complete, end_time_ns);
        if (complete)
            check_final_counts(o, &t, end_time_ns);
        for (uint32_t s = 0; s < o->n_src; s++)
            sim_packed_deinit(&t.seen[s]);
        g_free(t.seen);
        g_free(t.max_value);
    }
}
