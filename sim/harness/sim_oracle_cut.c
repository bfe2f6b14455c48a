/* sim_oracle_cut.c - the consistent-cut check. When a checkpoint completes, the oracle
 * reads its files god's-eye from durable storage: the metadata (rt_ckpt_metadata_decode),
 * then every subtask's state handle (rt_state_handle_decode) and its snapshot bytes
 * (inline for the hashmap backend, a file for the filesystem backend), checks the size
 * and CRC-32C the handle promises, as the backend's restore does, and decodes them
 * (rt_snapshot_decode validates again). Every file must be durable and intact.
 *
 * Then the cut: the sources' snapshots give their offsets S(src); for every counter
 * operator C and key k, the counts in C's snapshots must equal
 *     sum over sources s:  mult(s, C) * #{records of s at offset < S(s) with key k}.
 * The right side is kept incrementally: a cursor per source subtask moves from the
 * previous cut to the new one, adding or removing the records in between, so the cost
 * is the distance moved, not the input size.
 *
 * Unaligned checkpoints (flink-zk.md "Invariants" 4): records in flight belong to the
 * checkpoint as channel state, decoded with the runtime's own rt_channel_state code. A
 * record in the channel state of a channel into operator Y (the consumer's input
 * channel state, or the producer's output channel state: both are replayed into Y on
 * restore) will still reach counter C, reach(Y, C) times (paths from Y to C, broadcast
 * fan-out counted; 1 for Y = C). So for every key k:
 *     counts_C(k) + sum over channel-state records r with key k: reach(consumer(r), C)
 *       = the copies of records before the cut,
 * which catches both a record missing from the channel state (lost on restore) and one
 * in both channel and operator state (duplicated).
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/dataflow/rt_channel_state.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/operators/rt_operator.h"
#include "runtime/state/rt_snapshot.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/harness/sim_oracle_internal.h"

/* Keys named in one mismatch message. */
#define CUT_MAX_NAMED 5u

/* The operators' snapshot layout (runtime/operators): a source keeps its next offset
 * as an 8-byte little-endian operator blob; a counter keeps its counts in a ValueState
 * (rt_operator.h). */
#define CUT_SOURCE_OFFSET_BLOB "offset"
#define CUT_COUNTER_STATE RT_COUNTER_STATE

static bool source_offset(const RtSnapshot *snap, uint64_t *out) {
    size_t len = 0;
    const uint8_t *p = rt_snapshot_get_operator_state(snap, CUT_SOURCE_OFFSET_BLOB, &len);
    if (p == NULL || len != 8)
        return false;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    *out = v;
    return true;
}

char *sim_oracle_metadata_path(const SimOracle *o, uint64_t checkpoint_id) {
    /* The directory the job manager writes to: the same reading of the key. */
    char *dir = rt_config_key_dir(o->config, RT_KEY_CHECKPOINTS_DIR, NULL);
    char *path = rt_ckpt_metadata_path(dir != NULL ? dir : "checkpoints", o->graph->name,
                                       checkpoint_id);
    g_free(dir);
    return path;
}

/* Loads the bytes a handle points to and checks size and CRC. NULL + *why on failure. */
static GBytes *handle_bytes(SimOracle *o, const RtStateHandle *h, char **why) {
    GBytes *b = NULL;
    if (h->inline_data != NULL) {
        b = g_bytes_ref(h->inline_data);
    } else if (h->location != NULL && h->location[0] != '\0') {
        b = o->files.read(o->files.ctx, h->location);
        if (b == NULL) {
            *why = g_strdup_printf("snapshot file %s is not durable", h->location);
            return NULL;
        }
    } else {
        *why = g_strdup("state handle has neither inline data nor a location");
        return NULL;
    }
    size_t len = 0;
    const void *data = g_bytes_get_data(b, &len);
    uint32_t crc = rt_crc32c(0, data, len);
    if (len != h->size_bytes || crc != h->crc32c) {
        *why = g_strdup_printf("snapshot %s has %zu bytes crc %08x, its handle promises %" PRIu64
                               " bytes crc %08x",
                               h->location[0] != '\0' ? h->location : "(inline)", len, crc,
                               h->size_bytes, h->crc32c);
        g_bytes_unref(b);
        return NULL;
    }
    return b;
}

/* Decodes one subtask's state; NULL + *why on failure. */
static RtSnapshot *subtask_snapshot(SimOracle *o, const RtCkptSubtaskState *st, char **why) {
    size_t hlen = 0;
    const void *hdata = g_bytes_get_data(st->handle, &hlen);
    RtStateHandle *h = NULL;
    GError *err = NULL;
    if (!rt_state_handle_decode(hdata, hlen, &h, &err)) {
        *why = g_strdup_printf("undecodable state handle: %s", err->message);
        g_error_free(err);
        return NULL;
    }
    GBytes *b = handle_bytes(o, h, why);
    RtSnapshot *snap = NULL;
    if (b != NULL) {
        size_t len = 0;
        const void *data = g_bytes_get_data(b, &len);
        if (!rt_snapshot_decode(data, len, &snap, &err)) {
            *why = g_strdup_printf("corrupt snapshot %s: %s",
                                   h->location[0] != '\0' ? h->location : "(inline)",
                                   err->message);
            g_error_free(err);
            snap = NULL;
        }
        g_bytes_unref(b);
    }
    rt_state_handle_free(h);
    return snap;
}

/* Reads and decodes checkpoint id: the metadata, then every subtask's snapshot. On any
 * failure reports a consistent-cut violation (prefixed by why) and returns NULL. */
static RtCompletedCheckpoint *load_checkpoint(SimOracle *o, uint64_t id, const char *path,
                                              uint64_t time_ns, const char *why,
                                              GPtrArray **snaps_out) {
    GBytes *b = o->files.read(o->files.ctx, path);
    if (b == NULL) {
        sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, id,
                           "%s checkpoint %" PRIu64 ": metadata %s is not durable", why, id,
                           path);
        return NULL;
    }
    size_t len = 0;
    const void *data = g_bytes_get_data(b, &len);
    RtCompletedCheckpoint *cp = NULL;
    GError *err = NULL;
    bool ok = rt_ckpt_metadata_decode(data, len, &cp, &err);
    g_bytes_unref(b);
    if (!ok) {
        sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, id,
                           "%s checkpoint %" PRIu64 ": metadata %s is corrupt: %s", why, id,
                           path, err->message);
        g_error_free(err);
        return NULL;
    }
    if (cp->checkpoint_id != id) {
        sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, id,
                           "%s checkpoint %" PRIu64 ": metadata %s is of checkpoint %" PRIu64,
                           why, id, path, cp->checkpoint_id);
        rt_completed_checkpoint_free(cp);
        return NULL;
    }
    GPtrArray *snaps = g_ptr_array_new_with_free_func((GDestroyNotify)rt_snapshot_free);
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        char *problem = NULL;
        RtSnapshot *snap = subtask_snapshot(o, st, &problem);
        if (snap == NULL) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, id,
                               "%s checkpoint %" PRIu64 ", operator %u subtask %u: %s", why,
                               id, st->subtask.op, st->subtask.index, problem);
            g_free(problem);
            g_ptr_array_unref(snaps);
            rt_completed_checkpoint_free(cp);
            return NULL;
        }
        g_ptr_array_add(snaps, snap);
    }
    *snaps_out = snaps;
    return cp;
}

void sim_oracle_verify_restorable(SimOracle *o, uint64_t checkpoint_id, const char *path,
                                  uint64_t time_ns, const char *why) {
    if (checkpoint_id == o->unrestorable_id)
        return; /* reported once: every retry of the restore would repeat it */
    GPtrArray *snaps = NULL;
    uint64_t before = o->n_violations;
    RtCompletedCheckpoint *cp = load_checkpoint(o, checkpoint_id, path, time_ns, why, &snaps);
    if (cp == NULL) {
        if (o->n_violations > before)
            o->unrestorable_id = checkpoint_id;
        return;
    }
    g_ptr_array_unref(snaps);
    rt_completed_checkpoint_free(cp);
}

/* Every subtask of the graph must be in the checkpoint. */
static bool check_complete(SimOracle *o, const RtCompletedCheckpoint *cp, uint64_t time_ns) {
    for (uint32_t op = 0; op < o->n_ops; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        for (uint32_t i = 0; i < spec->parallelism; i++) {
            RtSubtaskId id = {(uint16_t)op, (uint16_t)i};
            if (rt_completed_checkpoint_find(cp, id) == NULL) {
                sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                                   "checkpoint %" PRIu64 " completed without a state for "
                                   "operator %s subtask %u",
                                   cp->checkpoint_id, spec->name, i);
                return false;
            }
        }
    }
    return true;
}

/* Moves source s's cursor to offset cut, keeping base[] = counts below the cursor. */
static bool move_cursor(SimOracle *o, uint32_t s, uint64_t cut, uint64_t id, uint64_t time_ns) {
    uint32_t pos = 0;
    while (o->src_op_list[pos] != o->src_op[s])
        pos++;
    GArray *base = o->base[pos];
    if (base->len < o->keys->len)
        g_array_set_size(base, o->keys->len);
    uint64_t *cnt = (uint64_t *)(void *)base->data;
    for (uint64_t off = o->cursor[s]; off < cut; off++) {
        uint32_t k = sim_oracle_ledger_key(o, s, off);
        if (k == SIM_ORACLE_NO_KEY) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, id,
                               "checkpoint %" PRIu64 " has source %u at offset %" PRIu64
                               " but record %" PRIu64 " was never emitted",
                               id, s, cut, off);
            o->cursor[s] = off;
            return false;
        }
        cnt[k]++;
    }
    for (uint64_t off = cut; off < o->cursor[s]; off++) {
        uint32_t k = sim_oracle_ledger_key(o, s, off);
        assert(k != SIM_ORACLE_NO_KEY && cnt[k] > 0);
        cnt[k]--;
    }
    o->cursor[s] = cut;
    return true;
}

/* Reads every source's offset from its snapshot and moves the cursors there. */
static bool apply_source_offsets(SimOracle *o, const RtCompletedCheckpoint *cp,
                                 const GPtrArray *snaps, uint64_t time_ns) {
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        uint32_t s = sim_oracle_global_src(o, st->subtask.op, st->subtask.index);
        if (s == UINT32_MAX)
            continue;
        uint64_t off = 0;
        if (!source_offset(g_ptr_array_index(snaps, i), &off)) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                               "checkpoint %" PRIu64 ": source subtask %u has no offset in "
                               "its snapshot",
                               cp->checkpoint_id, s);
            return false;
        }
        if (off > o->src_records[s]) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                               "checkpoint %" PRIu64 ": source %u offset %" PRIu64
                               " beyond its %" PRIu64 " records",
                               cp->checkpoint_id, s, off, o->src_records[s]);
            return false;
        }
        if (!move_cursor(o, s, off, cp->checkpoint_id, time_ns))
            return false;
    }
    return true;
}

/* Adds counter C's snapshot rows into got[] (by key index); returns false (after a
 * violation) on a key that no source ever emitted. */
static bool add_counter_rows(SimOracle *o, const RtSnapshot *snap, uint64_t *got, uint64_t id,
                             uint64_t time_ns) {
    const RtSnapshotState *st = rt_snapshot_find_state(snap, CUT_COUNTER_STATE);
    if (st == NULL)
        return true; /* no key counted yet */
    for (guint r = 0; r < st->rows->len; r++) {
        const RtSnapshotRow *row = &g_array_index(st->rows, RtSnapshotRow, r);
        uint32_t k = sim_oracle_key_lookup(o, row->key);
        if (k == SIM_ORACLE_NO_KEY || k >= o->keys->len) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, id,
                               "checkpoint %" PRIu64 ": operator %u subtask %u counts key %"
                               PRIu64 " which no source emitted",
                               id, snap->op, snap->subtask, row->key);
            return false;
        }
        got[k] += row->value;
    }
    return true;
}

/* reach[y] = copies of one record processed by operator y that reach operator c (1 for
 * y = c). Relaxation over the edges, at most n_ops rounds (the graph is a DAG). */
static uint64_t *reach_to(const SimOracle *o, uint32_t c) {
    uint32_t n = o->n_ops;
    const GArray *edges = o->graph->edges;
    uint64_t *r = g_new0(uint64_t, n);
    uint64_t *next = g_new0(uint64_t, n);
    r[c] = 1;
    for (uint32_t round = 0; round <= n; round++) {
        memset(next, 0, sizeof(uint64_t) * n);
        next[c] = 1;
        for (guint e = 0; e < edges->len; e++) {
            const RtEdgeSpec *ed = &g_array_index(edges, RtEdgeSpec, e);
            const RtOperatorSpec *to = g_ptr_array_index(o->graph->operators, ed->to);
            uint64_t fan = ed->partitioning == RT_PART_BROADCAST ? to->parallelism : 1;
            if (ed->from != c)
                next[ed->from] += r[ed->to] * fan;
        }
        if (memcmp(next, r, sizeof(uint64_t) * n) == 0)
            break;
        memcpy(r, next, sizeof(uint64_t) * n);
    }
    g_free(next);
    return r;
}

/* Accumulates channel-state records into got[] for one counter. */
typedef struct ChannelAcc {
    SimOracle *o;
    const uint64_t *reach;  /* reach_to(counter) */
    uint64_t *got;          /* by key index */
    uint64_t unknown_key;   /* a key no source emitted (0 = none) */
    bool unknown;
    bool bad_edge;
} ChannelAcc;

static void channel_visit(void *ud, RtChannelDir dir, RtChannelKey key, const RtRecord *recs,
                          uint32_t n) {
    (void)dir;
    ChannelAcc *acc = ud;
    const GArray *edges = acc->o->graph->edges;
    if (key.edge >= edges->len) {
        acc->bad_edge = true;
        return;
    }
    uint64_t mult = acc->reach[g_array_index(edges, RtEdgeSpec, key.edge).to];
    for (uint32_t i = 0; i < n && mult > 0; i++) {
        uint32_t k = sim_oracle_key_lookup(acc->o, recs[i].key);
        if (k == SIM_ORACLE_NO_KEY || k >= acc->o->keys->len) {
            acc->unknown = true;
            acc->unknown_key = recs[i].key;
            continue;
        }
        acc->got[k] += mult;
    }
}

/* Adds the channel state of every snapshot into got[] for counter c; false after a
 * violation (undecodable channel state, a key never emitted, an unknown edge). */
static bool add_channel_state(SimOracle *o, uint32_t c, const RtCompletedCheckpoint *cp,
                              const GPtrArray *snaps, uint64_t *got, uint64_t time_ns) {
    uint64_t *reach = reach_to(o, c);
    ChannelAcc acc = {.o = o, .reach = reach, .got = got};
    bool ok = true;
    for (guint i = 0; i < snaps->len && ok; i++) {
        const RtSnapshot *snap = g_ptr_array_index(snaps, i);
        GError *err = NULL;
        if (!rt_channel_state_foreach(snap, channel_visit, &acc, &err)) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                               "checkpoint %" PRIu64 ", operator %u subtask %u: corrupt "
                               "channel state: %s",
                               cp->checkpoint_id, snap->op, snap->subtask, err->message);
            g_error_free(err);
            ok = false;
        } else if (acc.unknown || acc.bad_edge) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                               "checkpoint %" PRIu64 ", operator %u subtask %u: channel state "
                               "holds %s",
                               cp->checkpoint_id, snap->op, snap->subtask,
                               acc.bad_edge ? "a channel of no edge"
                                            : "a record whose key no source emitted");
            ok = false;
        }
    }
    g_free(reach);
    return ok;
}

/* Copies of records with key index k before the cut that counter c must have seen. */
static uint64_t want_for(const SimOracle *o, uint32_t c, uint32_t k) {
    uint64_t want = 0;
    for (uint32_t p = 0; p < o->n_src_ops; p++) {
        const GArray *base = o->base[p];
        uint64_t b = k < base->len ? g_array_index(base, uint64_t, k) : 0;
        want += o->mult[(size_t)o->src_op_list[p] * o->n_ops + c] * b;
    }
    return want;
}

/* Compares counter C's counts with the records before the cut. A discrepancy that only
 * persists unchanged from the previous checkpoint (e.g. records skipped once) is not
 * reported again: each new or changed discrepancy is. */
static bool check_counter(SimOracle *o, uint32_t c, const RtCompletedCheckpoint *cp,
                          const GPtrArray *snaps, bool channel_state, uint64_t time_ns) {
    uint32_t nk = o->keys->len;
    uint64_t *got = g_new0(uint64_t, (size_t)nk + 1);
    bool ok = true;
    for (guint i = 0; i < cp->subtasks->len && ok; i++) {
        const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        if (st->subtask.op == c)
            ok = add_counter_rows(o, g_ptr_array_index(snaps, i), got, cp->checkpoint_id,
                                  time_ns);
    }
    if (ok && channel_state)
        ok = add_channel_state(o, c, cp, snaps, got, time_ns);
    GArray *prev = o->cut_delta[c];
    if (prev->len < nk)
        g_array_set_size(prev, nk);
    GString *named = g_string_new(NULL);
    uint64_t bad = 0;
    bool changed = false;
    for (uint32_t k = 0; k < nk && ok; k++) {
        uint64_t want = want_for(o, c, k);
        int64_t delta = (int64_t)(got[k] - want);
        changed |= delta != g_array_index(prev, int64_t, k);
        g_array_index(prev, int64_t, k) = delta;
        if (got[k] == want || (o->at_least_once && got[k] > want))
            continue;
        if (bad++ < CUT_MAX_NAMED)
            g_string_append_printf(named, "%skey %" PRIu64 " counted %" PRIu64
                                   " expected %" PRIu64,
                                   named->len > 0 ? ", " : "", g_array_index(o->keys, uint64_t, k),
                                   got[k], want);
    }
    if (bad > 0) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, c);
        if (changed)
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                               "checkpoint %" PRIu64 " is not a consistent cut: counter %s "
                               "holds wrong counts for %" PRIu64 " keys (%s) given the "
                               "sources' offsets%s",
                               cp->checkpoint_id, spec->name, bad, named->str,
                               channel_state ? " and the channel state" : "");
        ok = false;
    }
    g_string_free(named, TRUE);
    g_free(got);
    return ok;
}

static bool has_channel_state(const GPtrArray *snaps) {
    for (guint i = 0; i < snaps->len; i++) {
        const RtSnapshot *s = g_ptr_array_index(snaps, i);
        if (s->channel_state->len > 0)
            return true;
    }
    return false;
}

bool sim_oracle_check_checkpoint(SimOracle *o, uint64_t checkpoint_id, const char *path,
                                 uint64_t time_ns) {
    GPtrArray *snaps = NULL;
    RtCompletedCheckpoint *cp =
        load_checkpoint(o, checkpoint_id, path, time_ns, "completed", &snaps);
    if (cp == NULL) {
        o->unrestorable_id = checkpoint_id;
        return false;
    }
    bool ok = check_complete(o, cp, time_ns) && apply_source_offsets(o, cp, snaps, time_ns);
    bool channel_state = has_channel_state(snaps);
    for (uint32_t op = 0; op < o->n_ops && ok; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        if (spec->kind == RT_OP_COUNTER)
            ok = check_counter(o, op, cp, snaps, channel_state, time_ns);
    }
    g_ptr_array_unref(snaps);
    rt_completed_checkpoint_free(cp);
    return ok;
}
