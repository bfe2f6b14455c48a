/* sim_oracle_state.c - the reference interpreter at a cut: what the keyed state of
 * every counter and listmap must hold given exactly the input the cut includes (the
 * sources' snapshotted offsets, plus the channel state of unaligned checkpoints). It is
 * the oracle's own model of the operators of runtime/operators/rt_basic_ops.c, not a
 * call into them, so a bug in an operator (or in a backend's restore) is caught:
 *
 *  counter  ValueState "count": per key, the copies of records with that key that
 *           reach the counter (path multiplicities, broadcast fan-out counted). Each key
 *           lives only in the subtask owning its key group.
 *  listmap  MapState "value-count": per key, bucket (value % RT_LISTMAP_BUCKETS) ->
 *           records seen; ListState "last": per key the last RT_LISTMAP_LAST_N values,
 *           in arrival order. The value a listmap sees is the source's value (map and
 *           listmap pass records unchanged) or, behind a counter, that counter's count
 *           (values 1..n of the key). The list must be the last values of an
 *           interleaving of the in-order streams that feed the key (one per source
 *           subtask and path, one per counter and path): exact when one stream feeds
 *           it, the tightest statement possible when several race.
 *
 * Unaligned checkpoints: a channel-state record will still reach operator x
 * mult[consumer][x] times, so state + channel state = the copies below the cut (totals
 * per key; listmap buckets and lists are then checked against the state's own totals).
 * At-least-once: more is allowed, fewer is a violation; list order is not checked.
 * A discrepancy is reported when it appears or changes (a signature per operator), not
 * again at every later checkpoint.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/operators/rt_operator.h"
#include "runtime/state/rt_key_groups.h"
#include "sim/harness/sim_oracle_internal.h"

#include <stdarg.h>

#define STATE_MAX_NAMED 5u   /* keys named in one message */
#define STATE_MAX_STREAMS 64u /* streams considered for a list's order */

uint64_t sim_oracle_want(const SimOracle *o, uint32_t x, uint32_t k) {
    uint64_t want = 0;
    for (uint32_t p = 0; p < o->n_src_ops; p++) {
        const GArray *base = o->base[p];
        uint64_t b = k < base->len ? g_array_index(base, uint64_t, k) : 0;
        want += o->mult[(size_t)o->src_op_list[p] * o->n_ops + x] * b;
    }
    return want;
}

bool sim_oracle_cut_report(SimOracle *o, uint32_t op, uint64_t sig) {
    bool changed = o->op_sig[op] != sig;
    o->op_sig[op] = sig;
    return changed && sig != 0;
}

static const char *op_kind_name(RtOperatorKind k) {
    switch (k) {
    case RT_OP_COUNTER: return "counter";
    case RT_OP_LISTMAP: return "listmap";
    case RT_OP_SINK: return "sink";
    case RT_OP_MAP: return "map";
    case RT_OP_SOURCE: return "source";
    }
    return "operator";
}

/* Problems found in one operator's snapshots, for one message. */
typedef struct Finding {
    uint64_t bad;     /* keys (or rows) wrong */
    uint64_t sig;     /* signature of what is wrong */
    GString *named;   /* the first STATE_MAX_NAMED, comma-separated */
} Finding;

static void finding_add(Finding *f, uint64_t key, uint64_t detail, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void finding_add(Finding *f, uint64_t key, uint64_t detail, const char *fmt, ...) {
    f->sig = sim_oracle_sig(sim_oracle_sig(f->sig, key), detail);
    if (f->bad++ >= STATE_MAX_NAMED)
        return;
    if (f->named->len > 0)
        g_string_append(f->named, ", ");
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(f->named, fmt, ap);
    va_end(ap);
}

/* Reports f for operator op (what: "counter X holds wrong counts for"), frees it, and
 * returns whether it was clean. */
static bool finding_report(SimOracle *o, uint32_t op, Finding *f, const RtCompletedCheckpoint *cp,
                           const char *what, bool chan, uint64_t time_ns) {
    bool clean = f->bad == 0;
    if (sim_oracle_cut_report(o, op, f->sig)) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                           "checkpoint %" PRIu64 " is not a consistent cut: %s %s %s %" PRIu64
                           " keys (%s) given the sources' offsets%s",
                           cp->checkpoint_id, op_kind_name(spec->kind), spec->name, what, f->bad,
                           f->named->str, chan ? " and the channel state" : "");
    }
    g_string_free(f->named, TRUE);
    return clean;
}

/* Key index of a state row, or SIM_ORACLE_NO_KEY after noting in f a key no source
 * emitted or a key held by a subtask that does not own its key group. */
static uint32_t row_key(const SimOracle *o, uint32_t op, const RtSnapshot *snap,
                        const RtSnapshotRow *row, Finding *f) {
    uint32_t k = sim_oracle_key_lookup(o, row->key);
    if (k == SIM_ORACLE_NO_KEY || k >= o->keys->len) {
        finding_add(f, row->key, 1, "key %" PRIu64 " which no source emitted", row->key);
        return SIM_ORACLE_NO_KEY;
    }
    uint32_t owner = sim_oracle_key_owner(o, op, row->key);
    uint32_t kg = rt_key_group_for_key(row->key, rt_job_graph_max_parallelism(o->graph, op));
    if (owner != snap->subtask || row->key_group != kg) {
        finding_add(f, row->key, 2, "key %" PRIu64 " in subtask %u key group %u (owner: %u, "
                    "key group %u)", row->key, snap->subtask, row->key_group, owner, kg);
        return SIM_ORACLE_NO_KEY;
    }
    return k;
}

/* got[k] += the copies of the channel-state records with key index k that reach x. */
static void add_channel(const SimOracle *o, uint32_t x, const GArray *chan, uint64_t *got,
                        Finding *f) {
    for (guint i = 0; i < chan->len; i++) {
        const SimChanRec *c = &g_array_index(chan, SimChanRec, i);
        uint64_t m = o->mult[(size_t)c->to_op * o->n_ops + x];
        if (m == 0)
            continue;
        uint32_t k = sim_oracle_key_lookup(o, c->rec.key);
        if (k == SIM_ORACLE_NO_KEY || k >= o->keys->len)
            finding_add(f, c->rec.key, 3, "channel record with key %" PRIu64
                        " which no source emitted", c->rec.key);
        else
            got[k] += m;
    }
}

static bool more_ok(const SimOracle *o, uint64_t got, uint64_t want) {
    return got == want || (o->at_least_once && got > want);
}

bool sim_oracle_check_counter(SimOracle *o, uint32_t c, const RtCompletedCheckpoint *cp,
                              const GPtrArray *snaps, const GArray *chan, uint64_t time_ns) {
    uint32_t nk = o->keys->len;
    uint64_t *got = g_new0(uint64_t, (size_t)nk + 1);
    Finding f = {0, 0, g_string_new(NULL)};
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        const RtSnapshot *snap = g_ptr_array_index(snaps, i);
        const RtSnapshotState *vs = st->subtask.op == c
                                        ? rt_snapshot_find_state(snap, RT_COUNTER_STATE)
                                        : NULL;
        for (guint r = 0; vs != NULL && r < vs->rows->len; r++) {
            const RtSnapshotRow *row = &g_array_index(vs->rows, RtSnapshotRow, r);
            uint32_t k = row_key(o, c, snap, row, &f);
            if (k != SIM_ORACLE_NO_KEY)
                got[k] += row->value;
        }
    }
    add_channel(o, c, chan, got, &f);
    for (uint32_t k = 0; k < nk; k++) {
        uint64_t want = sim_oracle_want(o, c, k), key = g_array_index(o->keys, uint64_t, k);
        if (!more_ok(o, got[k], want))
            finding_add(&f, key, got[k] - want, "key %" PRIu64 " counted %" PRIu64
                        " expected %" PRIu64, key, got[k], want);
    }
    g_free(got);
    return finding_report(o, c, &f, cp, "holds wrong counts for", chan->len > 0, time_ns);
}

/* ------------------------------------------------------------------ listmap */

/* One key's listmap state as snapshotted. */
typedef struct LmKey {
    uint64_t list[RT_LISTMAP_LAST_N];
    uint32_t list_n;                      /* rows (the first LAST_N kept in list) */
    bool list_gap;                        /* positions not 0..n-1 */
    uint64_t buckets[RT_LISTMAP_BUCKETS];
} LmKey;

static void collect_listmap(const SimOracle *o, uint32_t l, const RtCompletedCheckpoint *cp,
                            const GPtrArray *snaps, LmKey *lk, Finding *f) {
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        if (st->subtask.op != l)
            continue;
        const RtSnapshot *snap = g_ptr_array_index(snaps, i);
        const RtSnapshotState *ls = rt_snapshot_find_state(snap, RT_LISTMAP_LIST_STATE);
        const RtSnapshotState *ms = rt_snapshot_find_state(snap, RT_LISTMAP_MAP_STATE);
        for (guint r = 0; ls != NULL && r < ls->rows->len; r++) {
            const RtSnapshotRow *row = &g_array_index(ls->rows, RtSnapshotRow, r);
            uint32_t k = row_key(o, l, snap, row, f);
            if (k == SIM_ORACLE_NO_KEY)
                continue;
            LmKey *x = &lk[k];
            x->list_gap |= row->sub != x->list_n;
            if (x->list_n < RT_LISTMAP_LAST_N)
                x->list[x->list_n] = row->value;
            x->list_n++;
        }
        for (guint r = 0; ms != NULL && r < ms->rows->len; r++) {
            const RtSnapshotRow *row = &g_array_index(ms->rows, RtSnapshotRow, r);
            uint32_t k = row_key(o, l, snap, row, f);
            if (k == SIM_ORACLE_NO_KEY)
                continue;
            if (row->sub >= RT_LISTMAP_BUCKETS)
                finding_add(f, row->key, 4, "key %" PRIu64 " has map key %" PRIu64
                            " (buckets are 0..%u)", row->key, row->sub, RT_LISTMAP_BUCKETS - 1);
            else
                lk[k].buckets[row->sub] += row->value;
        }
    }
}

/* The in-order streams of values that feed one key of a listmap: each holds its last
 * values (oldest first) and its length. */
typedef struct Stream {
    uint64_t v[RT_LISTMAP_LAST_N];
    uint32_t have;
    uint64_t n;
} Stream;

/* Can list[0..i] be the tail of an interleaving of what remains of the streams (used[s]
 * values already taken from the end of stream s)? Backtracking, depth <= LAST_N. */
static bool suffix_match(const uint64_t *list, int i, const Stream *st, uint32_t ns,
                         uint32_t *used) {
    if (i < 0)
        return true;
    for (uint32_t s = 0; s < ns; s++) {
        uint32_t u = used[s];
        if (u >= st[s].have || st[s].v[st[s].have - 1 - u] != list[i])
            continue;
        used[s]++;
        bool ok = suffix_match(list, i - 1, st, ns, used);
        used[s]--;
        if (ok)
            return true;
    }
    return false;
}

static void stream_add(Stream *st, uint32_t *ns, uint64_t copies, const Stream *one) {
    for (uint64_t c = 0; c < copies && *ns < STATE_MAX_STREAMS; c++)
        st[(*ns)++] = *one;
}

/* The streams feeding key index k of listmap l below the cut; false when there are too
 * many to consider. */
static bool key_streams(const SimOracle *o, uint32_t l, uint32_t k, Stream *st, uint32_t *ns) {
    *ns = 0;
    uint64_t total = 0;
    for (uint32_t s = 0; s < o->n_src; s++) {
        uint64_t d = o->direct[(size_t)o->src_op[s] * o->n_ops + l];
        const GArray *t = o->tails[s];
        if (d == 0 || k >= t->len)
            continue;
        const SimTail *tl = &g_array_index(t, SimTail, k);
        Stream one = {.n = tl->n, .have = MIN(tl->n, RT_LISTMAP_LAST_N)};
        for (uint32_t i = 0; i < one.have; i++)
            one.v[i] = tl->v[(tl->n - one.have + i) % RT_LISTMAP_LAST_N];
        stream_add(st, ns, d, &one);
        total += d;
    }
    for (uint32_t c = 0; c < o->n_ops; c++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, c);
        uint64_t d = o->direct[(size_t)c * o->n_ops + l];
        if (c == l || d == 0 || spec->kind != RT_OP_COUNTER)
            continue;
        Stream one = {.n = sim_oracle_want(o, c, k)};
        one.have = (uint32_t)MIN(one.n, (uint64_t)RT_LISTMAP_LAST_N);
        for (uint32_t i = 0; i < one.have; i++)
            one.v[i] = one.n - one.have + 1 + i; /* the counts n-have+1 .. n */
        stream_add(st, ns, d, &one);
        total += d;
    }
    return total <= STATE_MAX_STREAMS;
}

/* Expected bucket counts of key index k of listmap l below the cut. */
static void want_buckets(const SimOracle *o, uint32_t l, uint32_t k, uint64_t *want) {
    memset(want, 0, sizeof(uint64_t) * RT_LISTMAP_BUCKETS);
    for (uint32_t p = 0; p < o->n_src_ops; p++) {
        uint64_t d = o->direct[(size_t)o->src_op_list[p] * o->n_ops + l];
        const GArray *bb = o->bucket_base[p];
        for (uint32_t b = 0; d > 0 && b < RT_LISTMAP_BUCKETS; b++) {
            size_t i = (size_t)k * RT_LISTMAP_BUCKETS + b;
            want[b] += d * (i < bb->len ? g_array_index(bb, uint32_t, i) : 0);
        }
    }
    for (uint32_t c = 0; c < o->n_ops; c++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, c);
        uint64_t d = o->direct[(size_t)c * o->n_ops + l];
        if (c == l || d == 0 || spec->kind != RT_OP_COUNTER)
            continue;
        uint64_t n = sim_oracle_want(o, c, k); /* values 1..n */
        for (uint32_t b = 0; b < RT_LISTMAP_BUCKETS; b++)
            want[b] += d * (n / RT_LISTMAP_BUCKETS + (b >= 1 && b <= n % RT_LISTMAP_BUCKETS));
    }
}

/* True when every stream feeding l keeps a key's records in order. */
static bool order_known(const SimOracle *o, uint32_t l) {
    for (uint32_t x = 0; x < o->n_ops; x++) {
        size_t i = (size_t)x * o->n_ops + l;
        if (x != l && o->direct[i] > 0 && !o->ordered[i])
            return false;
    }
    return true;
}

static void check_listmap_key(SimOracle *o, uint32_t l, uint32_t k, const LmKey *x,
                              uint64_t chan_k, bool exact, Finding *f) {
    uint64_t key = g_array_index(o->keys, uint64_t, k), total = 0;
    for (uint32_t b = 0; b < RT_LISTMAP_BUCKETS; b++)
        total += x->buckets[b];
    uint64_t want = sim_oracle_want(o, l, k);
    if (!more_ok(o, total + chan_k, want)) {
        finding_add(f, key, total + chan_k - want, "key %" PRIu64 " map state counts %" PRIu64
                    " records expected %" PRIu64, key, total + chan_k, want);
        return;
    }
    uint64_t wb[RT_LISTMAP_BUCKETS];
    if (exact && o->track_values) {
        want_buckets(o, l, k, wb);
        for (uint32_t b = 0; b < RT_LISTMAP_BUCKETS; b++)
            if (!more_ok(o, x->buckets[b], wb[b])) {
                finding_add(f, key, ((uint64_t)b << 32) ^ x->buckets[b], "key %" PRIu64
                            " map state bucket %u = %" PRIu64 " expected %" PRIu64, key, b,
                            x->buckets[b], wb[b]);
                return;
            }
    }
    uint32_t want_n = (uint32_t)MIN(total, (uint64_t)RT_LISTMAP_LAST_N);
    if (x->list_gap || x->list_n != want_n) {
        finding_add(f, key, 5 + x->list_n, "key %" PRIu64 " list state holds %u%s values, "
                    "expected the last %u of %" PRIu64, key, x->list_n,
                    x->list_gap ? " (misnumbered)" : "", want_n, total);
        return;
    }
    Stream st[STATE_MAX_STREAMS];
    uint32_t ns = 0, used[STATE_MAX_STREAMS] = {0};
    if (!exact || o->at_least_once || !o->track_values || !order_known(o, l) ||
        !key_streams(o, l, k, st, &ns))
        return;
    if (!suffix_match(x->list, (int)x->list_n - 1, st, ns, used)) {
        GString *lst = g_string_new(NULL);
        for (uint32_t i = 0; i < x->list_n; i++)
            g_string_append_printf(lst, "%s%" PRIu64, i > 0 ? " " : "", x->list[i]);
        finding_add(f, key, 6 ^ x->list[0], "key %" PRIu64 " list state [%s] is not the last "
                    "values of its input in order", key, lst->str);
        g_string_free(lst, TRUE);
    }
}

bool sim_oracle_check_listmap(SimOracle *o, uint32_t l, const RtCompletedCheckpoint *cp,
                              const GPtrArray *snaps, const GArray *chan, uint64_t time_ns) {
    uint32_t nk = o->keys->len;
    LmKey *lk = g_new0(LmKey, (size_t)nk + 1);
    uint64_t *chan_k = g_new0(uint64_t, (size_t)nk + 1);
    Finding f = {0, 0, g_string_new(NULL)};
    collect_listmap(o, l, cp, snaps, lk, &f);
    add_channel(o, l, chan, chan_k, &f);
    for (uint32_t k = 0; k < nk; k++)
        check_listmap_key(o, l, k, &lk[k], chan_k[k], chan->len == 0, &f);
    g_free(chan_k);
    g_free(lk);
    return finding_report(o, l, &f, cp, "holds wrong state for", chan->len > 0, time_ns);
}
