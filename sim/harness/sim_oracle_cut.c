/* sim_oracle_cut.c - the consistent-cut check. When a checkpoint completes, the oracle
 * reads its files god's-eye from durable storage: the metadata (rt_ckpt_metadata_decode),
 * then every subtask's state handle (rt_state_handle_decode) and its snapshot bytes
 * (inline for the hashmap backend, a file for the filesystem backend), checks the size
 * and CRC-32C the handle promises, as the backend's restore does, and decodes them
 * (rt_snapshot_decode validates again). Every file must be durable and intact.
 *
 * Then the cut: the sources' snapshots give their offsets S(src); cursors per source
 * subtask move from the previous cut to the new one, keeping per key the records below
 * the cut (and, for listmaps, their value buckets and last values), so the cost is the
 * distance moved, not the input size. The channel state of unaligned checkpoints is
 * decoded with the runtime's own rt_channel_state code into (record, consumer subtask)
 * pairs: a record in the channel state of a channel into operator Y (input or output
 * side: both are replayed into Y on restore) still reaches X mult[Y][X] times. Every
 * operator is then compared with the reference interpreter (sim_oracle_state.c for
 * counters and listmaps, sim_oracle_txn.c for the sinks' transactions), and the
 * checkpoint becomes the boundary the next one's sink transactions start from.
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

/* Pushes value v (key index k) onto source s's last values. */
static void tail_push(SimOracle *o, uint32_t s, uint32_t k, uint64_t v) {
    GArray *t = o->tails[s];
    if (t->len <= k)
        g_array_set_size(t, MAX(o->keys->len, k + 1));
    SimTail *tl = &g_array_index(t, SimTail, k);
    assert(v <= UINT16_MAX);
    tl->v[tl->n % 4u] = (uint16_t)v;
    tl->n++;
}

/* Adds (dir = 1) or removes (dir = -1) record (s, off) with key index k to the value
 * summaries below the cut (listmaps only). Removing leaves the tails to be rebuilt. */
static void track_value(SimOracle *o, uint32_t pos, uint32_t s, uint64_t off, uint32_t k,
                        int dir) {
    RtRecord r;
    sim_oracle_source_record(o, s, off, &r);
    GArray *bb = o->bucket_base[pos];
    size_t need = (size_t)MAX(o->keys->len, k + 1) * RT_LISTMAP_BUCKETS;
    if (bb->len < need)
        g_array_set_size(bb, (guint)need);
    uint32_t *c = &g_array_index(bb, uint32_t, (size_t)k * RT_LISTMAP_BUCKETS +
                                                     r.value % RT_LISTMAP_BUCKETS);
    assert(dir > 0 || *c > 0);
    *c = dir > 0 ? *c + 1 : *c - 1;
    if (dir > 0)
        tail_push(o, s, k, r.value);
}

/* Rebuilds source s's last values below its cursor (after the cursor went back). */
static void rebuild_tails(SimOracle *o, uint32_t s) {
    g_array_set_size(o->tails[s], 0);
    for (uint64_t off = 0; off < o->cursor[s]; off++) {
        RtRecord r;
        sim_oracle_source_record(o, s, off, &r);
        tail_push(o, s, sim_oracle_ledger_key(o, s, off), r.value);
    }
}

/* Moves source s's cursor to offset cut, keeping base[] = counts below the cursor (and
 * the value summaries when tracked). */
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
        if (o->track_values)
            track_value(o, pos, s, off, k, 1);
    }
    bool back = cut < o->cursor[s];
    for (uint64_t off = cut; off < o->cursor[s]; off++) {
        uint32_t k = sim_oracle_ledger_key(o, s, off);
        assert(k != SIM_ORACLE_NO_KEY && cnt[k] > 0);
        cnt[k]--;
        if (o->track_values)
            track_value(o, pos, s, off, k, -1);
    }
    o->cursor[s] = cut;
    if (back && o->track_values)
        rebuild_tails(o, s);
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

/* Collects channel-state records (SimChanRec) of every snapshot. */
typedef struct ChannelAcc {
    const SimOracle *o;
    GArray *out;
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
    uint32_t to = g_array_index(edges, RtEdgeSpec, key.edge).to;
    for (uint32_t i = 0; i < n; i++) {
        SimChanRec c = {recs[i], to, key.to};
        g_array_append_val(acc->out, c);
    }
}

/* The channel state of the checkpoint (a new array, possibly empty); NULL after a
 * violation (undecodable channel state, an unknown edge). */
static GArray *channel_records(SimOracle *o, const RtCompletedCheckpoint *cp,
                               const GPtrArray *snaps, uint64_t time_ns) {
    ChannelAcc acc = {.o = o, .out = g_array_new(FALSE, TRUE, sizeof(SimChanRec))};
    for (guint i = 0; i < snaps->len; i++) {
        const RtSnapshot *snap = g_ptr_array_index(snaps, i);
        GError *err = NULL;
        if (!rt_channel_state_foreach(snap, channel_visit, &acc, &err) || acc.bad_edge) {
            sim_oracle_violate(o, SIM_INV_CONSISTENT_CUT, time_ns, cp->checkpoint_id,
                               "checkpoint %" PRIu64 ", operator %u subtask %u: corrupt "
                               "channel state: %s",
                               cp->checkpoint_id, snap->op, snap->subtask,
                               err != NULL ? err->message : "a channel of no edge");
            g_clear_error(&err);
            g_array_unref(acc.out);
            return NULL;
        }
    }
    return acc.out;
}

/* Makes the checkpoint just checked the boundary (takes chan). */
static void set_boundary(SimOracle *o, uint64_t id, GArray *chan) {
    o->bnd_id = id;
    memcpy(o->bnd_off, o->cursor, sizeof(uint64_t) * o->n_src);
    g_array_unref(o->bnd_chan);
    o->bnd_chan = chan != NULL ? chan : g_array_new(FALSE, TRUE, sizeof(SimChanRec));
}

/* Checks every operator against the reference interpreter; one operator's violation
 * never stops the others being checked. */
static bool check_operators(SimOracle *o, const RtCompletedCheckpoint *cp,
                            const GPtrArray *snaps, const GArray *chan, uint64_t time_ns) {
    bool ok = true;
    for (uint32_t op = 0; op < o->n_ops; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        switch (spec->kind) {
        case RT_OP_COUNTER: ok &= sim_oracle_check_counter(o, op, cp, snaps, chan, time_ns); break;
        case RT_OP_LISTMAP: ok &= sim_oracle_check_listmap(o, op, cp, snaps, chan, time_ns); break;
        case RT_OP_SINK: ok &= sim_oracle_check_sink_txns(o, op, cp, snaps, chan, time_ns); break;
        default: break;
        }
    }
    return ok;
}

bool sim_oracle_check_checkpoint(SimOracle *o, uint64_t checkpoint_id, const char *path,
                                 uint64_t time_ns, const char *why) {
    GPtrArray *snaps = NULL;
    RtCompletedCheckpoint *cp = load_checkpoint(o, checkpoint_id, path, time_ns, why, &snaps);
    if (cp == NULL) {
        o->unrestorable_id = checkpoint_id;
        return false;
    }
    bool ok = check_complete(o, cp, time_ns) && apply_source_offsets(o, cp, snaps, time_ns);
    GArray *chan = ok ? channel_records(o, cp, snaps, time_ns) : NULL;
    ok = ok && chan != NULL && check_operators(o, cp, snaps, chan, time_ns);
    set_boundary(o, checkpoint_id, chan);
    g_ptr_array_unref(snaps);
    rt_completed_checkpoint_free(cp);
    return ok;
}
