/* sim_oracle_txn.c - the sink's transactions at a cut. Flink's
 * TwoPhaseCommitSinkFunction, as runtime/operators/rt_sink.c implements it: at
 * snapshot(n) the open transaction is pre-committed and remembered as pending for n, a
 * new one begins, and the snapshot lists every pending (not yet committed) transaction
 * with its checkpoint id plus the open one; notify_complete(n) commits every pending
 * transaction of a checkpoint <= n, and a restore commits the restored pending ones and
 * aborts the open one. Hence, for a sink subtask and two consecutive cuts B (the
 * boundary: the last checkpoint completed or restored) and n:
 *
 *   the transactions listed in n's snapshot with a checkpoint id in (B, n] hold exactly
 *   the records that reached that subtask between cut B and cut n,
 *
 * where "reached between" is the source records between B's and n's offsets (their
 * copies routed to the subtask: sim_oracle_route), plus the records in B's channel
 * state (delivered after B), minus those in n's (delivered after n). A record missing
 * from a pre-commit is lost at the next restore; an extra one is a duplicate. Each
 * transaction's records are read god's-eye from its pending-<txn> file (or committed-
 * <txn>, once committed) with the sink's own format. Where the destination subtask is
 * not determined (a rebalance into parallelism > 1 upstream), the subtasks are compared
 * together as one multiset. Not checked at-least-once (a snapshot may then include
 * records after its cut), where the end-of-run ledger still catches loss.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/operators/rt_sink_format.h"
#include "runtime/state/rt_snapshot.h"
#include "sim/harness/sim_oracle_internal.h"

#define TXN_MAX_NAMED 5u
#define TXN_OFFSET_BITS 44u    /* diff table key: src << 44 | offset */

/* Both sides of the comparison, as record identities (src << 44 | offset), one entry a
 * copy: "got" = the transactions' records plus n's channel state, "want" = the source
 * records between the cuts plus B's channel state. Sorted and merged at the end. */
typedef struct TxnDiff {
    GArray *got, *want; /* uint64_t */
    uint64_t foreign;   /* records with an impossible identity */
    uint64_t missing_files;
    uint64_t first_missing_txn;
} TxnDiff;

static void diff_add(TxnDiff *t, uint32_t src, uint64_t off, int64_t n) {
    assert(off < (UINT64_C(1) << TXN_OFFSET_BITS));
    uint64_t k = (uint64_t)src << TXN_OFFSET_BITS | off;
    GArray *side = n > 0 ? t->got : t->want;
    for (int64_t i = 0; i < (n > 0 ? n : -n); i++)
        g_array_append_val(side, k);
}

typedef struct TxnRead {
    const SimOracle *o;
    TxnDiff *t;
} TxnRead;

static void txn_record(void *ud, uint32_t index, const RtRecord *r) {
    (void)index;
    TxnRead *rd = ud;
    if (r->src >= rd->o->n_src || r->offset >= rd->o->src_records[r->src])
        rd->t->foreign++;
    else
        diff_add(rd->t, r->src, r->offset, 1);
}

/* Adds the records of transaction txn of sink subtask (x, j): its pending file, else its
 * committed file. */
static void add_txn(SimOracle *o, uint32_t x, uint32_t j, uint64_t txn, TxnDiff *t) {
    const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, x);
    GBytes *b = NULL;
    for (int committed = 0; committed < 2 && b == NULL; committed++) {
        char *path = rt_sink_txn_path(spec->name, j, txn, committed != 0);
        b = o->files.read(o->files.ctx, path);
        g_free(path);
    }
    if (b == NULL) {
        if (t->missing_files++ == 0)
            t->first_missing_txn = txn;
        return;
    }
    size_t len = 0;
    const void *data = g_bytes_get_data(b, &len);
    TxnRead rd = {o, t};
    if (!rt_sink_file_foreach(data, len, txn_record, &rd, NULL, NULL) &&
        t->missing_files++ == 0)
        t->first_missing_txn = txn; /* torn: as good as missing */
    g_bytes_unref(b);
}

/* Adds the transactions of snap (sink subtask j) with a checkpoint id in (bnd, id]. */
static bool add_snapshot_txns(SimOracle *o, uint32_t x, const RtSnapshot *snap, uint64_t id,
                              TxnDiff *t) {
    size_t len = 0;
    const uint8_t *b = rt_snapshot_get_operator_state(snap, RT_SINK_STATE_BLOB, &len);
    GArray *txns = NULL;
    uint64_t open_txn = 0;
    if (!rt_sink_state_decode(b, len, &txns, &open_txn, NULL))
        return false;
    for (guint i = 0; i < txns->len; i++) {
        const RtSinkStateTxn *r = &g_array_index(txns, RtSinkStateTxn, i);
        if (r->checkpoint_id > o->bnd_id && r->checkpoint_id <= id)
            add_txn(o, x, snap->subtask, r->txn, t);
    }
    g_array_unref(txns);
    return true;
}

/* Adds the records expected at sink subtask j (all subtasks when agg). */
static void sub_expected(SimOracle *o, uint32_t x, uint32_t j, bool agg, const GArray *chan,
                         TxnDiff *t) {
    SimRouteCache rc;
    sim_route_cache_init(&rc, o, x, j);
    for (uint32_t s = 0; s < o->n_src; s++) {
        uint64_t m = o->mult[(size_t)o->src_op[s] * o->n_ops + x];
        for (uint64_t off = o->bnd_off[s]; m > 0 && off < o->cursor[s]; off++) {
            uint64_t e = agg ? m : sim_route_cache_get(o, &rc, s, sim_oracle_ledger_key(o, s, off));
            diff_add(t, s, off, -(int64_t)e);
        }
    }
    sim_route_cache_deinit(&rc);
    for (int side = 0; side < 2; side++) {
        const GArray *c = side == 0 ? chan : o->bnd_chan;
        for (guint i = 0; i < c->len; i++) {
            const SimChanRec *r = &g_array_index(c, SimChanRec, i);
            if (r->rec.src >= o->n_src || r->rec.offset >= o->src_records[r->rec.src])
                continue; /* reported by the operator checks */
            uint64_t e = agg ? o->mult[(size_t)r->to_op * o->n_ops + x]
                             : sim_oracle_route(o, r->to_op, r->to_idx, r->rec.key, x, j, NULL);
            /* n's channel state arrives after n: not in its transactions; B's arrives
             * after B: in them. */
            diff_add(t, r->rec.src, r->rec.offset, side == 0 ? (int64_t)e : -(int64_t)e);
        }
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Appends one differing record to the named list and the signature. */
static void name_diff(uint64_t k, int64_t v, uint64_t i, GString *named, uint64_t *sig) {
    *sig = sim_oracle_sig(sim_oracle_sig(*sig, k), (uint64_t)v);
    if (i < TXN_MAX_NAMED)
        g_string_append_printf(named, "%s(src %" PRIu64 ", offset %" PRIu64 ") %s %" PRIu64,
                               i > 0 ? ", " : "", k >> TXN_OFFSET_BITS,
                               k & ((UINT64_C(1) << TXN_OFFSET_BITS) - 1),
                               v < 0 ? "missing" : "extra", (uint64_t)(v < 0 ? -v : v));
}

/* Appends the verdict for one subtask (or "all") to msg and the signature; true when
 * the transactions matched. Empties t. */
static bool diff_verdict(TxnDiff *t, const char *who, GString *msg, uint64_t *sig) {
    g_array_sort(t->got, cmp_u64);
    g_array_sort(t->want, cmp_u64);
    const uint64_t *g = (const uint64_t *)(void *)t->got->data;
    const uint64_t *w = (const uint64_t *)(void *)t->want->data;
    guint i = 0, j = 0;
    uint64_t missing = 0, extra = 0, n = 0;
    GString *named = g_string_new(NULL);
    while (i < t->got->len || j < t->want->len) {
        uint64_t k = j >= t->want->len || (i < t->got->len && g[i] < w[j]) ? g[i] : w[j];
        int64_t v = 0;
        for (; i < t->got->len && g[i] == k; i++)
            v++;
        for (; j < t->want->len && w[j] == k; j++)
            v--;
        if (v == 0)
            continue;
        if (v < 0)
            missing += (uint64_t)-v;
        else
            extra += (uint64_t)v;
        name_diff(k, v, n++, named, sig);
    }
    bool ok = n == 0 && t->foreign == 0 && t->missing_files == 0;
    if (!ok) {
        *sig = sim_oracle_sig(sim_oracle_sig(*sig, t->foreign), t->missing_files);
        g_string_append_printf(msg, "%s%s: %" PRIu64 " missing, %" PRIu64 " extra",
                               msg->len > 0 ? "; " : "", who, missing, extra + t->foreign);
        if (t->missing_files > 0)
            g_string_append_printf(msg, ", %" PRIu64 " transaction files gone (first txn %"
                                   PRIu64 ")", t->missing_files, t->first_missing_txn);
        if (named->len > 0)
            g_string_append_printf(msg, ", first: %s", named->str);
    }
    g_string_free(named, TRUE);
    g_array_set_size(t->got, 0);
    g_array_set_size(t->want, 0);
    t->foreign = t->missing_files = 0;
    return ok;
}

bool sim_oracle_check_sink_txns(SimOracle *o, uint32_t x, const RtCompletedCheckpoint *cp,
                                const GPtrArray *snaps, const GArray *chan, uint64_t time_ns) {
    if (o->at_least_once)
        return true;
    for (uint32_t s = 0; s < o->n_src; s++)
        if (o->bnd_off[s] > o->cursor[s])
            return true; /* the cut went back (an older checkpoint): no interval */
    bool agg = sim_oracle_route_undetermined_any(o, x);
    TxnDiff t = {g_array_new(FALSE, FALSE, sizeof(uint64_t)),
                 g_array_new(FALSE, FALSE, sizeof(uint64_t)), 0, 0, 0};
    GString *msg = g_string_new(NULL);
    uint64_t sig = 0;
    bool ok = true;
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        if (st->subtask.op != x)
            continue;
        if (!add_snapshot_txns(o, x, g_ptr_array_index(snaps, i), cp->checkpoint_id, &t)) {
            g_string_append_printf(msg, "%ssubtask %u: malformed transaction state",
                                   msg->len > 0 ? "; " : "", st->subtask.index);
            sig = sim_oracle_sig(sig, st->subtask.index);
            ok = false;
            continue;
        }
        if (agg)
            continue;
        sub_expected(o, x, st->subtask.index, false, chan, &t);
        char *who = g_strdup_printf("subtask %u", st->subtask.index);
        ok &= diff_verdict(&t, who, msg, &sig);
        g_free(who);
    }
    if (agg) {
        sub_expected(o, x, 0, true, chan, &t);
        ok &= diff_verdict(&t, "all subtasks", msg, &sig);
    }
    if (!ok && sim_oracle_cut_report(o, x, sig)) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, x);
        sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                           "checkpoint %" PRIu64 " is not a consistent cut: sink %s's "
                           "pre-committed transactions of checkpoints %" PRIu64 "..%" PRIu64
                           " differ from the records that reached it since checkpoint %" PRIu64
                           " (%s)",
                           cp->checkpoint_id, spec->name, o->bnd_id + 1, cp->checkpoint_id,
                           o->bnd_id, msg->str);
    } else if (ok) {
        (void)sim_oracle_cut_report(o, x, 0);
    }
    g_string_free(msg, TRUE);
    g_array_unref(t.got);
    g_array_unref(t.want);
    return ok;
}
