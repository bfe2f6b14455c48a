/* test_oracle.c - the oracle fires on planted inconsistencies and stays silent on a
 * correct run. Each test feeds a synthetic event stream and synthetic durable storage
 * (checkpoint metadata, snapshots and committed sink files encoded with the runtime's
 * own encoders) and checks the verdict and the invariant named.
 *
 * The job: src (2 subtasks x 24 records, 5 keys, from the source's own generator with
 * seed 0) -keyBy-> count (2 subtasks) -rebalance-> sink (1 subtask). A diamond variant
 * (src -> a, src -> b, a -> count, b -> count) checks path multiplicities. Every
 * checkpoint pre-commits the sink records between the previous cut and its own as
 * pending-<id> (listed in the sink's "txns" state, as rt_sink.c does); commit_pending
 * renames it.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/operators/rt_sink_format.h"
#include "runtime/operators/rt_source.h"
#include "runtime/state/rt_key_groups.h"
#include "runtime/state/rt_snapshot.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/harness/sim_oracle.h"
#include "tests/support/test_check.h"

#define RECORDS 24u
#define KEYS 5u
#define MAXP 128u
#define SEC UINT64_C(1000000000)

typedef struct Fx {
    RtJobGraph g;
    RtConfig *cfg;
    GHashTable *files; /* path -> GBytes: the durable storage */
    SimOracle *o;
    uint64_t t;
    bool diamond;
    uint32_t op_count, op_sink; /* operator indexes */
    bool fs_handles;            /* filesystem handles (files) instead of inline */
    uint64_t prev_cut[2];       /* the previous checkpoint's source offsets */
} Fx;

/* The sources' generators (seed 0) of the current fixture. */
static RtSourceGen fx_gen[2];

/* ------------------------------------------------------------------ fixture */

/* execution.checkpointing.mode for the next fx_init (NULL = default, exactly-once). */
static const char *fx_mode;
/* "true": the fixture fences HA store writes (high-availability.zookeeper.fence-writes). */
static const char *fx_fenced = NULL;

static GBytes *files_read(void *ctx, const char *path) {
    GBytes *b = g_hash_table_lookup(ctx, path);
    return b != NULL ? g_bytes_ref(b) : NULL;
}

static char **files_list(void *ctx, const char *dir) {
    GPtrArray *names = g_ptr_array_new();
    GList *keys = g_hash_table_get_keys(ctx);
    keys = g_list_sort(keys, (GCompareFunc)strcmp);
    size_t n = strlen(dir);
    for (GList *l = keys; l != NULL; l = l->next) {
        const char *p = l->data;
        if (strncmp(p, dir, n) == 0 && p[n] == '/' && strchr(p + n + 1, '/') == NULL)
            g_ptr_array_add(names, g_strdup(p + n + 1));
    }
    g_list_free(keys);
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

static void put_file(Fx *fx, const char *path, GBytes *b) {
    g_hash_table_replace(fx->files, g_strdup(path), b);
}

static void add_op(Fx *fx, const char *name, RtOperatorKind kind, uint32_t p) {
    RtOperatorSpec *s = g_new0(RtOperatorSpec, 1);
    s->name = g_strdup(name);
    s->kind = kind;
    s->parallelism = p;
    if (kind == RT_OP_SOURCE) {
        s->records = RECORDS;
        s->keys = KEYS;
    }
    g_ptr_array_add(fx->g.operators, s);
}

static void add_edge(Fx *fx, uint32_t from, uint32_t to, RtPartitioning part) {
    RtEdgeSpec e = {from, to, part};
    g_array_append_val(fx->g.edges, e);
}

static void op_free(void *p) {
    RtOperatorSpec *s = p;
    g_free(s->name);
    g_free(s);
}

static void fx_init(Fx *fx, bool diamond, const SimOracleParams *params) {
    memset(fx, 0, sizeof *fx);
    fx->diamond = diamond;
    fx->g.name = g_strdup("job");
    fx->g.operators = g_ptr_array_new_with_free_func(op_free);
    fx->g.edges = g_array_new(FALSE, TRUE, sizeof(RtEdgeSpec));
    fx->g.max_parallelism = MAXP;
    add_op(fx, "src", RT_OP_SOURCE, 2);
    if (diamond) {
        add_op(fx, "a", RT_OP_MAP, 2);
        add_op(fx, "b", RT_OP_MAP, 2);
        add_edge(fx, 0, 1, RT_PART_FORWARD);
        add_edge(fx, 0, 2, RT_PART_FORWARD);
    }
    fx->op_count = fx->g.operators->len;
    add_op(fx, "count", RT_OP_COUNTER, 2);
    fx->op_sink = fx->g.operators->len;
    add_op(fx, "sink", RT_OP_SINK, 1);
    if (diamond) {
        add_edge(fx, 1, fx->op_count, RT_PART_KEYBY);
        add_edge(fx, 2, fx->op_count, RT_PART_KEYBY);
    } else {
        add_edge(fx, 0, fx->op_count, RT_PART_KEYBY);
    }
    add_edge(fx, fx->op_count, fx->op_sink, RT_PART_REBALANCE);
    fx->cfg = rt_config_new();
    rt_config_set(fx->cfg, "execution.checkpointing.interval", "1 s");
    if (fx_mode != NULL)
        rt_config_set(fx->cfg, "execution.checkpointing.mode", fx_mode);
    if (fx_fenced != NULL)
        rt_config_set(fx->cfg, "high-availability.zookeeper.fence-writes", fx_fenced);
    fx->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify)g_bytes_unref);
    SimOracleFiles files = {.read = files_read, .list = files_list, .ctx = fx->files};
    SimOracleParams p;
    sim_oracle_params_init(&p);
    if (params != NULL)
        p = *params;
    fx->o = sim_oracle_new(&fx->g, fx->cfg, &p, &files);
    fx->t = SEC / 10;
    for (uint32_t i = 0; i < 2; i++)
        rt_source_gen_init(&fx_gen[i], 0, &fx->g, 0, i);
}

static void fx_deinit(Fx *fx) {
    for (uint32_t i = 0; i < 2; i++)
        rt_source_gen_deinit(&fx_gen[i]);
    sim_oracle_free(fx->o);
    g_hash_table_unref(fx->files);
    rt_config_free(fx->cfg);
    g_ptr_array_unref(fx->g.operators);
    g_array_unref(fx->g.edges);
    g_free(fx->g.name);
}

static uint64_t key_of(uint32_t s, uint64_t off) {
    RtRecord r;
    rt_source_gen_record(&fx_gen[s], off, &r);
    return r.key;
}

static uint64_t value_of(uint32_t s, uint64_t off) {
    RtRecord r;
    rt_source_gen_record(&fx_gen[s], off, &r);
    return r.value;
}

/* Multiplicity of a source record at the counter (2 in the diamond). */
static uint64_t mult(const Fx *fx) {
    return fx->diamond ? 2 : 1;
}

/* ------------------------------------------------------------------ events */

static void send(Fx *fx, RtEventKind kind, uint64_t ckpt, uint64_t a, const char *detail) {
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ns = fx->t;
    ev.checkpoint_id = ckpt;
    ev.a = a;
    ev.attempt = (uint32_t)a;
    ev.detail = detail;
    sim_oracle_event(fx->o, &ev);
    fx->t += SEC / 100;
}

static void emit(Fx *fx, uint32_t s, uint64_t from, uint64_t to) {
    for (uint64_t off = from; off < to; off++) {
        RtEvent ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = RT_EV_RECORD_EMIT;
        ev.time_ns = fx->t;
        ev.subtask = (RtSubtaskId){0, (uint16_t)s};
        ev.a = off;
        ev.key = key_of(s, off);
        ev.b = value_of(s, off);
        sim_oracle_event(fx->o, &ev);
        fx->t += SEC / 1000;
    }
}

/* ------------------------------------------------------------------ checkpoints */

static GBytes *handle_for(Fx *fx, uint64_t id, RtSubtaskId st, const RtSnapshot *snap) {
    GBytes *enc = rt_snapshot_encode(snap);
    size_t len = 0;
    const void *data = g_bytes_get_data(enc, &len);
    RtStateHandle *h;
    if (fx->fs_handles) {
        RtSnapshotTarget tg = {"job", id, st.op, st.index, 0};
        char *path = rt_state_backend_fs_path("checkpoints", &tg);
        h = rt_state_handle_new("filesystem", path, id, len, rt_crc32c(0, data, len), NULL);
        put_file(fx, path, g_bytes_ref(enc));
        g_free(path);
    } else {
        h = rt_state_handle_new("hashmap", "", id, len, rt_crc32c(0, data, len), enc);
    }
    GBytes *hb = rt_state_handle_encode(h);
    rt_state_handle_free(h);
    g_bytes_unref(enc);
    return hb;
}

static int cmp_rows(const void *a, const void *b) {
    const RtSnapshotRow *x = a, *y = b;
    if (x->key_group != y->key_group)
        return x->key_group < y->key_group ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static RtSnapshot *base_snapshot(uint64_t id, uint32_t op, uint32_t index, uint32_t p) {
    RtSnapshot *s = rt_snapshot_new();
    s->checkpoint_id = id;
    s->op = op;
    s->subtask = index;
    s->parallelism = p;
    return s;
}

/* The counter's snapshot for subtask index (key groups split in halves), with counts
 * for the cut (offsets cut[0], cut[1]), plus extra[k] added to key k. */
static RtSnapshot *counter_snapshot(Fx *fx, uint64_t id, uint32_t index, const uint64_t *cut,
                                    const int64_t *extra) {
    RtSnapshot *s = base_snapshot(id, fx->op_count, index, 2);
    s->max_parallelism = MAXP;
    s->key_groups = (RtKeyGroupRange){index * (MAXP / 2), (index + 1) * (MAXP / 2)};
    RtSnapshotState *st = rt_snapshot_ensure_state(s, "count", RT_STATE_VALUE);
    for (uint64_t k = 0; k < KEYS; k++) {
        int64_t c = extra != NULL ? extra[k] : 0;
        for (uint32_t src = 0; src < 2; src++)
            for (uint64_t off = 0; off < cut[src]; off++)
                if (key_of(src, off) == k)
                    c += (int64_t)mult(fx);
        uint32_t kg = rt_key_group_for_key(k, MAXP);
        if (c == 0 || kg < s->key_groups.start || kg >= s->key_groups.end)
            continue;
        RtSnapshotRow row = {kg, 0, k, 0, (uint64_t)c};
        g_array_append_val(st->rows, row);
    }
    g_array_sort(st->rows, cmp_rows);
    return s;
}

/* The sink's snapshot of checkpoint id: pre-commits the records between the previous
 * cut and cut[] (each mult copies) as pending-<id> and lists it (rt_sink.c's layout:
 * rt_sink_state_encode). */
static RtSnapshot *sink_snapshot(Fx *fx, uint64_t id, const uint64_t *cut) {
    RtSnapshot *s = base_snapshot(id, fx->op_sink, 0, 1);
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(RtRecord));
    for (uint32_t src = 0; src < 2; src++)
        for (uint64_t off = fx->prev_cut[src]; off < cut[src]; off++)
            for (uint64_t c = 0; c < mult(fx); c++) {
                RtRecord r = {src, off, key_of(src, off), 1, 0};
                g_array_append_val(recs, r);
            }
    GByteArray *b = g_byte_array_new();
    RtSinkStateTxn txn = {id, id, 0};
    rt_sink_state_encode(b, &txn, recs->len > 0 ? 1 : 0, id + 1);
    if (recs->len > 0) {
        char *path = rt_sink_txn_path("sink", 0, id, false);
        put_file(fx, path, rt_sink_file_encode(fx->op_sink, 0, id,
                                               (const RtRecord *)(void *)recs->data, recs->len));
        g_free(path);
    }
    rt_snapshot_set_operator_state(s, RT_SINK_STATE_BLOB, b->data, b->len);
    g_byte_array_unref(b);
    g_array_unref(recs);
    return s;
}

/* Writes checkpoint id (sources at cut[]) into the files and sends CKPT_COMPLETE. */
static void checkpoint(Fx *fx, uint64_t id, const uint64_t *cut, const int64_t *extra) {
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new("job", id, fx->t, fx->t, 1);
    for (uint32_t op = 0; op < fx->g.operators->len; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(fx->g.operators, op);
        for (uint32_t i = 0; i < spec->parallelism; i++) {
            RtSnapshot *s;
            if (spec->kind == RT_OP_COUNTER) {
                s = counter_snapshot(fx, id, i, cut, extra);
            } else if (spec->kind == RT_OP_SINK) {
                s = sink_snapshot(fx, id, cut);
            } else {
                s = base_snapshot(id, op, i, spec->parallelism);
                if (spec->kind == RT_OP_SOURCE) {
                    uint8_t b[8];
                    for (int j = 0; j < 8; j++)
                        b[j] = (uint8_t)(cut[i] >> (8 * j));
                    rt_snapshot_set_operator_state(s, "offset", b, 8);
                }
            }
            RtSubtaskId st = {(uint16_t)op, (uint16_t)i};
            GBytes *h = handle_for(fx, id, st, s);
            rt_completed_checkpoint_add(cp, st, 1, h);
            g_bytes_unref(h);
            rt_snapshot_free(s);
        }
    }
    char *path = rt_ckpt_metadata_path("checkpoints", "job", id);
    put_file(fx, path, rt_ckpt_metadata_encode(cp));
    rt_completed_checkpoint_free(cp);
    send(fx, RT_EV_CKPT_COMPLETE, id, 0, path);
    g_free(path);
    memcpy(fx->prev_cut, cut, sizeof fx->prev_cut);
}

/* ------------------------------------------------------------------ sink output */

/* Commits a sink transaction holding records [from, to) of both sources, with the
 * counter's running count as value (counts[] carried across calls), each record
 * copies times; skip (src, off) when skip_src matches. */
static void commit_txn(Fx *fx, uint64_t txn, uint64_t from, uint64_t to, uint64_t *counts,
                       int skip_src, uint64_t skip_off, uint64_t copies) {
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(RtRecord));
    for (uint64_t off = from; off < to; off++)
        for (uint32_t s = 0; s < 2; s++) {
            if ((int)s == skip_src && off == skip_off)
                continue;
            for (uint64_t c = 0; c < copies; c++) {
                uint64_t k = key_of(s, off);
                RtRecord r = {s, off, k, ++counts[k], 0};
                g_array_append_val(recs, r);
            }
        }
    GBytes *b = rt_sink_file_encode(fx->op_sink, 0, txn, (const RtRecord *)(void *)recs->data,
                                    recs->len);
    char *path = rt_sink_txn_path("sink", 0, txn, true);
    put_file(fx, path, b);
    g_free(path);
    g_array_unref(recs);
}

/* A whole correct run: emits, two checkpoints, commits, finishes. */
static void correct_run(Fx *fx) {
    uint64_t counts[KEYS] = {0};
    emit(fx, 0, 0, 10);
    emit(fx, 1, 0, 12);
    checkpoint(fx, 1, (uint64_t[]){10, 12}, NULL);
    emit(fx, 0, 10, RECORDS);
    emit(fx, 1, 12, RECORDS);
    checkpoint(fx, 2, (uint64_t[]){RECORDS, RECORDS}, NULL);
    commit_txn(fx, 1, 0, 12, counts, -1, 0, mult(fx));
    commit_txn(fx, 2, 12, RECORDS, counts, -1, 0, mult(fx));
    send(fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
}

/* Finishes the run; returns the violations (caller unrefs). */
static GPtrArray *finish(Fx *fx, bool expect_ok) {
    GPtrArray *v = NULL;
    bool ok = sim_oracle_finish(fx->o, fx->t, &v);
    if (ok != expect_ok) {
        for (guint i = 0; i < v->len; i++) {
            char *s = sim_violation_to_string(g_ptr_array_index(v, i));
            fprintf(stderr, "# %s\n", s);
            g_free(s);
        }
    }
    ck_assert_int_eq(ok, expect_ok);
    ck_assert_int_eq(v->len == 0, expect_ok);
    return v;
}

/* True if some violation has invariant inv and a message containing needle. */
static bool has_violation(const GPtrArray *v, const char *inv, const char *needle) {
    for (guint i = 0; i < v->len; i++) {
        const SimViolation *x = g_ptr_array_index(v, i);
        if (strcmp(x->invariant, inv) == 0 && strstr(x->message, needle) != NULL)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_correct_run_is_silent) {
    Fx fx;
    fx_init(&fx, false, NULL);
    correct_run(&fx);
    ck_assert(!sim_oracle_failed(fx.o));
    GPtrArray *v = finish(&fx, true);
    SimOracleStats st;
    sim_oracle_get_stats(fx.o, &st);
    ck_assert_uint_eq(st.records_total, 2 * RECORDS);
    ck_assert_uint_eq(st.records_emitted, 2 * RECORDS);
    ck_assert_uint_eq(st.records_committed, 2 * RECORDS);
    ck_assert_uint_eq(st.checkpoints_checked, 2);
    ck_assert_uint_eq(st.records_lost + st.records_duplicated, 0);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_correct_run_fs_handles_and_diamond) {
    Fx fx;
    fx_init(&fx, _i == 1, NULL);
    fx.fs_handles = true;
    correct_run(&fx);
    g_ptr_array_unref(finish(&fx, true));
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_diamond_needs_both_paths) {
    /* In the diamond every record reaches the counter and the sink twice: committing
     * each record once is a loss. */
    Fx fx;
    fx_init(&fx, true, NULL);
    uint64_t counts[KEYS] = {0};
    emit(&fx, 0, 0, RECORDS);
    emit(&fx, 1, 0, RECORDS);
    commit_txn(&fx, 1, 0, RECORDS, counts, -1, 0, 1);
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "48 records lost"));
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "committed values are wrong"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_lost_record) {
    Fx fx;
    fx_init(&fx, false, NULL);
    uint64_t counts[KEYS] = {0};
    emit(&fx, 0, 0, RECORDS);
    emit(&fx, 1, 0, RECORDS);
    checkpoint(&fx, 1, (uint64_t[]){RECORDS, RECORDS}, NULL);
    sim_oracle_note_fault(fx.o, fx.t, "crash worker-2");
    commit_txn(&fx, 1, 0, RECORDS, counts, 1, 5, 1);
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "1 records lost"));
    char *named = g_strdup_printf("(src 1, offset 5, key %" PRIu64, key_of(1, 5));
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, named));
    g_free(named);
    const SimViolation *first = g_ptr_array_index(v, 0);
    ck_assert_ptr_nonnull(first->fault);
    ck_assert(strstr(first->fault, "crash worker-2") != NULL);
    SimOracleStats st;
    sim_oracle_get_stats(fx.o, &st);
    ck_assert_uint_eq(st.records_lost, 1);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_duplicate_record) {
    Fx fx;
    fx_init(&fx, false, NULL);
    uint64_t counts[KEYS] = {0};
    emit(&fx, 0, 0, RECORDS);
    emit(&fx, 1, 0, RECORDS);
    commit_txn(&fx, 1, 0, RECORDS, counts, -1, 0, 1);
    uint64_t again[KEYS] = {0};
    commit_txn(&fx, 2, 3, 4, again, -1, 0, 1); /* offsets 3 of both sources again */
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "2 records duplicated"));
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "(src 0, offset 3"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_wrong_final_count) {
    /* Every record committed once, but the counter counted one key twice (its restored
     * state was too high): the final count of that key is wrong. */
    Fx fx;
    fx_init(&fx, false, NULL);
    uint64_t counts[KEYS] = {0};
    counts[3] = 1;
    emit(&fx, 0, 0, RECORDS);
    emit(&fx, 1, 0, RECORDS);
    commit_txn(&fx, 1, 0, RECORDS, counts, -1, 0, 1);
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "key 3 value 1 committed 0 times"));
    ck_assert_uint_eq(v->len, 1);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_inconsistent_cut) {
    Fx fx;
    fx_init(&fx, false, NULL);
    emit(&fx, 0, 0, 10);
    emit(&fx, 1, 0, 10);
    int64_t extra[KEYS] = {0, 0, 1, 0, 0}; /* key 2 counted once too often */
    checkpoint(&fx, 1, (uint64_t[]){8, 9}, extra);
    ck_assert(sim_oracle_failed(fx.o)); /* found at completion, not at the end */
    const GPtrArray *v = sim_oracle_violations_peek(fx.o);
    ck_assert(has_violation(v, SIM_INV_CONSISTENT_CUT, "key 2 counted"));
    ck_assert_uint_eq(((SimViolation *)g_ptr_array_index(v, 0))->checkpoint_id, 1);
    /* The same discrepancy carried into the next checkpoint is not reported again; a
     * changed one is. */
    checkpoint(&fx, 2, (uint64_t[]){10, 10}, extra);
    ck_assert_uint_eq(v->len, 1);
    int64_t other[KEYS] = {0, 0, 1, -1, 0};
    checkpoint(&fx, 3, (uint64_t[]){10, 10}, other);
    ck_assert_uint_eq(v->len, 2);
    ck_assert(has_violation(v, SIM_INV_CONSISTENT_CUT, "checkpoint 3 is not a consistent cut"));
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_cut_beyond_emitted) {
    Fx fx;
    fx_init(&fx, false, NULL);
    emit(&fx, 0, 0, 10);
    emit(&fx, 1, 0, 10);
    checkpoint(&fx, 1, (uint64_t[]){12, 10}, NULL);
    ck_assert(has_violation(sim_oracle_violations_peek(fx.o), SIM_INV_CONSISTENT_CUT,
                            "never emitted"));
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_snapshot_not_durable) {
    /* A filesystem handle that names a file which is not durable (ack before fsync). */
    Fx fx;
    fx_init(&fx, false, NULL);
    fx.fs_handles = true;
    emit(&fx, 0, 0, 10);
    emit(&fx, 1, 0, 10);
    RtSnapshotTarget tg = {"job", 1, fx.op_count, 1, 0};
    char *victim = rt_state_backend_fs_path("checkpoints", &tg);
    checkpoint(&fx, 1, (uint64_t[]){10, 10}, NULL);
    ck_assert(!sim_oracle_failed(fx.o));
    g_hash_table_remove(fx.files, victim); /* a crash loses the unsynced file */
    send(&fx, RT_EV_FAILOVER, 0, 2, "crash");
    send(&fx, RT_EV_RESTORE, 1, 2, NULL);
    ck_assert(has_violation(sim_oracle_violations_peek(fx.o), SIM_INV_CONSISTENT_CUT,
                            "is not durable"));
    g_free(victim);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_corrupt_snapshot) {
    Fx fx;
    fx_init(&fx, false, NULL);
    fx.fs_handles = true;
    emit(&fx, 0, 0, 10);
    emit(&fx, 1, 0, 10);
    /* The counter's file is torn after the checkpoint completed (checked at the end). */
    RtSnapshotTarget tg = {"job", 1, fx.op_count, 0, 0};
    char *victim = rt_state_backend_fs_path("checkpoints", &tg);
    checkpoint(&fx, 1, (uint64_t[]){10, 10}, NULL);
    GBytes *b = g_hash_table_lookup(fx.files, victim);
    size_t len = 0;
    const uint8_t *d = g_bytes_get_data(b, &len);
    uint8_t *torn = g_memdup2(d, len / 2);
    put_file(&fx, victim, g_bytes_new_take(torn, len / 2));
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_CONSISTENT_CUT, "handle promises"));
    g_ptr_array_unref(v);
    g_free(victim);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_liveness_unfinished) {
    Fx fx;
    fx_init(&fx, false, NULL);
    emit(&fx, 0, 0, 10);
    checkpoint(&fx, 1, (uint64_t[]){10, 0}, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_LIVENESS, "did not finish"));
    ck_assert(has_violation(v, SIM_INV_LIVENESS, "last seen ckpt_complete"));
    /* Records not committed are not reported as lost while the job is unfinished. */
    ck_assert(!has_violation(v, SIM_INV_EXACTLY_ONCE, "lost"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_liveness_late_checkpoint) {
    SimOracleParams p;
    sim_oracle_params_init(&p);
    p.faults_end_ns = SEC;
    p.checkpoint_bound_ns = 2 * SEC;
    Fx fx;
    fx_init(&fx, false, &p);
    uint64_t counts[KEYS] = {0};
    emit(&fx, 0, 0, RECORDS);
    emit(&fx, 1, 0, RECORDS);
    fx.t = 5 * SEC; /* faults stopped at 1 s; nothing completes until 5 s */
    checkpoint(&fx, 1, (uint64_t[]){RECORDS, RECORDS}, NULL);
    commit_txn(&fx, 1, 0, RECORDS, counts, -1, 0, 1);
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_LIVENESS, "no checkpoint completed within 2000 ms"));
    ck_assert_uint_eq(v->len, 1);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_liveness_bound_met) {
    SimOracleParams p;
    sim_oracle_params_init(&p);
    p.faults_end_ns = SEC / 2;
    p.checkpoint_bound_ns = 2 * SEC;
    Fx fx;
    fx_init(&fx, false, &p);
    correct_run(&fx); /* finishes well within the bound after 0.5 s */
    g_ptr_array_unref(finish(&fx, true));
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_restore_older_checkpoint) {
    Fx fx;
    fx_init(&fx, false, NULL);
    emit(&fx, 0, 0, 10);
    emit(&fx, 1, 0, 10);
    checkpoint(&fx, 1, (uint64_t[]){5, 5}, NULL);
    checkpoint(&fx, 2, (uint64_t[]){10, 10}, NULL);
    send(&fx, RT_EV_FAILOVER, 0, 2, "crash");
    ck_assert(!sim_oracle_failed(fx.o));
    send(&fx, RT_EV_RESTORE, 1, 2, NULL);
    ck_assert(sim_oracle_failed(fx.o)); /* promptly, at the restore */
    const GPtrArray *v = sim_oracle_violations_peek(fx.o);
    ck_assert(has_violation(v, SIM_INV_HA_SAFETY, "restored checkpoint 1 but checkpoint 2"));
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_restore_latest_is_fine) {
    Fx fx;
    fx_init(&fx, false, NULL);
    emit(&fx, 0, 0, 10);
    emit(&fx, 1, 0, 10);
    checkpoint(&fx, 1, (uint64_t[]){5, 5}, NULL);
    checkpoint(&fx, 2, (uint64_t[]){10, 10}, NULL);
    send(&fx, RT_EV_FAILOVER, 0, 2, "crash");
    RtEvent ev;
    for (uint16_t op = 0; op < 3; op++) {
        memset(&ev, 0, sizeof ev);
        ev.kind = RT_EV_RESTORE;
        ev.time_ns = fx.t;
        ev.checkpoint_id = 2;
        ev.attempt = 2;
        ev.a = 2;
        ev.subtask = (RtSubtaskId){op, 0};
        sim_oracle_event(fx.o, &ev);
    }
    ck_assert(!sim_oracle_failed(fx.o));
    /* A subtask of the same attempt restoring another checkpoint is caught. */
    ev.checkpoint_id = 1;
    sim_oracle_event(fx.o, &ev);
    ck_assert(has_violation(sim_oracle_violations_peek(fx.o), SIM_INV_HA_SAFETY,
                            "but other subtasks from checkpoint 2"));
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_restore_from_scratch_after_completion) {
    Fx fx;
    fx_init(&fx, false, NULL);
    emit(&fx, 0, 0, 10);
    checkpoint(&fx, 1, (uint64_t[]){10, 0}, NULL);
    send(&fx, RT_EV_RESTORE, 0, 2, NULL);
    ck_assert(has_violation(sim_oracle_violations_peek(fx.o), SIM_INV_HA_SAFETY,
                            "from scratch"));
    fx_deinit(&fx);
}
END_TEST

/* Leader 7 (session 100) publishes: fine. Then 8 takes over and 7 publishes: a zombie.
 * Returns the oracle's violations after that (borrowed from fx). */
static const GPtrArray *zombie_publish(Fx *fx) {
    const GPtrArray *v = sim_oracle_violations_peek(fx->o);
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ns = fx->t;
    ev.kind = RT_EV_LEADER_GAINED;
    ev.process = 7;
    ev.a = 100;
    sim_oracle_event(fx->o, &ev);
    ev.kind = RT_EV_CKPT_PUBLISHED;
    ev.checkpoint_id = 4;
    guint before = v->len;
    sim_oracle_event(fx->o, &ev);
    ck_assert_uint_eq(v->len, before);
    ev.kind = RT_EV_LEADER_GAINED;
    ev.process = 8;
    ev.a = 101;
    sim_oracle_event(fx->o, &ev);
    ev.kind = RT_EV_CKPT_PUBLISHED;
    ev.process = 7;
    ev.a = 100;
    ev.checkpoint_id = 5;
    sim_oracle_event(fx->o, &ev);
    return v;
}

START_TEST(test_ids_and_leaders) {
    Fx fx;
    SimOracleParams p;
    sim_oracle_params_init(&p);
    p.check_cuts = false;
    fx_init(&fx, false, &p);
    send(&fx, RT_EV_CKPT_ID_ISSUED, 1, 0, NULL);
    send(&fx, RT_EV_CKPT_ID_ISSUED, 2, 0, NULL);
    ck_assert(!sim_oracle_failed(fx.o));
    send(&fx, RT_EV_CKPT_ID_ISSUED, 2, 0, NULL);
    const GPtrArray *v = sim_oracle_violations_peek(fx.o);
    ck_assert(has_violation(v, SIM_INV_HA_SAFETY, "issued twice"));
    send(&fx, RT_EV_CKPT_COMPLETE, 3, 0, NULL);
    send(&fx, RT_EV_CKPT_COMPLETE, 3, 0, NULL);
    ck_assert(has_violation(v, SIM_INV_HA_SAFETY, "must strictly increase"));
    /* Flink's default, unfenced store writes: the zombie's publish is a fact. */
    guint before = v->len;
    zombie_publish(&fx);
    ck_assert_uint_eq(v->len, before);
    const GPtrArray *facts = sim_oracle_facts_peek(fx.o);
    ck_assert_uint_ge(facts->len, 1);
    ck_assert_ptr_nonnull(strstr(g_ptr_array_index(facts, facts->len - 1),
                                 "process 7 published checkpoint 5"));
    /* 7 leads again (new session) and then completes the checkpoint it published as a
     * zombie: still the deposed term's completion, a fact, not an id going backwards. */
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.time_ns = fx.t;
    ev.kind = RT_EV_LEADER_GAINED;
    ev.process = 7;
    ev.a = 102;
    sim_oracle_event(fx.o, &ev);
    ev.kind = RT_EV_CKPT_COMPLETE;
    ev.checkpoint_id = 5;
    guint facts_before = facts->len;
    sim_oracle_event(fx.o, &ev);
    ck_assert_uint_eq(v->len, before);
    ck_assert_uint_eq(facts->len, facts_before + 1);
    fx_deinit(&fx);
    /* Fenced writes (ckptsim's option): the same publish violates ha-safety. */
    fx_fenced = "true";
    fx_init(&fx, false, &p);
    v = zombie_publish(&fx);
    fx_fenced = NULL;
    ck_assert(has_violation(v, SIM_INV_HA_SAFETY, "process 7 published checkpoint 5"));
    ck_assert_uint_eq(sim_oracle_facts_peek(fx.o)->len, 0);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_replay_with_other_key) {
    Fx fx;
    fx_init(&fx, false, NULL);
    emit(&fx, 0, 0, 4);
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = RT_EV_RECORD_EMIT;
    ev.time_ns = fx.t;
    ev.a = 2;
    ev.key = key_of(0, 2) + 1;
    sim_oracle_event(fx.o, &ev);
    ck_assert(has_violation(sim_oracle_violations_peek(fx.o), SIM_INV_EXACTLY_ONCE,
                            "not replayable"));
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_job_failed_and_stopped_early) {
    Fx fx;
    SimOracleParams p;
    sim_oracle_params_init(&p);
    p.stopped_early = true;
    fx_init(&fx, false, &p);
    emit(&fx, 0, 0, 4);
    /* Stopped early: the unfinished job is not a liveness violation. */
    GPtrArray *v = finish(&fx, true);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
    fx_init(&fx, false, NULL);
    send(&fx, RT_EV_JOB_FAILED, 0, 0, "restart attempts exhausted");
    v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_LIVENESS, "restart attempts exhausted"));
    ck_assert_uint_eq(v->len, 1);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_at_least_once_allows_more_never_less) {
    fx_mode = "AT_LEAST_ONCE";
    Fx fx;
    fx_init(&fx, false, NULL);
    uint64_t counts[KEYS] = {0};
    emit(&fx, 0, 0, RECORDS);
    emit(&fx, 1, 0, RECORDS);
    int64_t extra[KEYS] = {1, 0, 2, 0, 0}; /* replayed records counted again: allowed */
    checkpoint(&fx, 1, (uint64_t[]){RECORDS, RECORDS}, extra);
    ck_assert(!sim_oracle_failed(fx.o));
    commit_txn(&fx, 1, 0, RECORDS, counts, -1, 0, 1);
    commit_txn(&fx, 2, 3, 5, counts, -1, 0, 1); /* duplicates: allowed */
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    g_ptr_array_unref(finish(&fx, true));
    fx_deinit(&fx);
    /* Fewer is still a violation: a lost record and a cut that misses records. */
    fx_init(&fx, false, NULL);
    memset(counts, 0, sizeof counts);
    emit(&fx, 0, 0, RECORDS);
    emit(&fx, 1, 0, RECORDS);
    int64_t fewer[KEYS] = {0, -1, 0, 0, 0};
    checkpoint(&fx, 1, (uint64_t[]){RECORDS, RECORDS}, fewer);
    commit_txn(&fx, 1, 0, RECORDS, counts, 0, 7, 1);
    send(&fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = finish(&fx, false);
    ck_assert(has_violation(v, SIM_INV_CONSISTENT_CUT, "key 1 counted"));
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "1 records lost"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
    fx_mode = NULL;
}
END_TEST

/* Removes every file of checkpoint id whose path contains what ("" = all of them). */
static void drop_checkpoint_files(Fx *fx, uint64_t id, const char *what) {
    char *dir = g_strdup_printf("checkpoints/job/chk-%" PRIu64 "/", id);
    GList *keys = g_hash_table_get_keys(fx->files);
    for (GList *l = keys; l != NULL; l = l->next)
        if (g_str_has_prefix(l->data, dir) && strstr(l->data, what) != NULL)
            g_hash_table_remove(fx->files, l->data);
    g_list_free(keys);
    g_free(dir);
}

/* retention: checkpoint 1 is subsumed by checkpoint 2 (num-retained 1); its metadata
 * and its snapshot files must be gone at the end, unless a fault came after it or the
 * harness did not set the quiet time. _i: 0 all files kept, 1 only the metadata
 * removed (state never discarded), 2 everything removed, 3 a fault after checkpoint 1,
 * 4 no quiet time. */
START_TEST(test_retention) {
    Fx fx;
    fx_init(&fx, false, NULL);
    fx.fs_handles = true;
    if (_i != 4)
        sim_oracle_set_quiet_since(fx.o, 0);
    correct_run(&fx);
    if (_i == 1)
        drop_checkpoint_files(&fx, 1, "_metadata");
    if (_i == 2)
        drop_checkpoint_files(&fx, 1, "");
    if (_i == 3)
        sim_oracle_note_fault(fx.o, fx.t, "storage: injected EIO");
    bool ok = _i >= 2;
    GPtrArray *v = finish(&fx, ok);
    if (_i == 0)
        ck_assert(has_violation(v, SIM_INV_RETENTION,
                                "checkpoint 1 (checkpoints/job/chk-1/_metadata)"));
    if (_i == 1)
        ck_assert(has_violation(v, SIM_INV_RETENTION, "checkpoint 1 (checkpoints/job/chk-1/0-"));
    if (!ok)
        ck_assert(!has_violation(v, SIM_INV_RETENTION, "checkpoint 2 ("));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

/* The sinks' commit reports must add up to the committed output unless a process
 * crashed. _i: 0 none reported, 1 every record reported, 2 none reported but a crash. */
START_TEST(test_commit_reports) {
    SimOracleParams p;
    sim_oracle_params_init(&p);
    p.check_commit_reports = true;
    Fx fx;
    fx_init(&fx, false, &p);
    if (_i == 1)
        for (uint32_t i = 0; i < 2 * RECORDS; i++)
            send(&fx, RT_EV_SINK_COMMIT_RECORD, 0, 0, NULL);
    if (_i == 2)
        send(&fx, RT_EV_WORLD_CRASH, 0, 0, NULL);
    correct_run(&fx);
    GPtrArray *v = finish(&fx, _i != 0);
    if (_i == 0)
        ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "reported 0 committed records, their "
                                                         "committed files hold 48"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_violation_to_string) {
    SimViolation *v = sim_violation_new(SIM_INV_LIVENESS, "stuck", 1500000000u, 3, "t=1s crash");
    char *s = sim_violation_to_string(v);
    ck_assert_str_eq(s, "liveness: stuck (t=1.500000000s, checkpoint 3, fault: t=1s crash)");
    g_free(s);
    sim_violation_free(v);
}
END_TEST

static Suite *oracle_suite(void) {
    Suite *s = suite_create("oracle");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_correct_run_is_silent);
    tcase_add_loop_test(tc, test_correct_run_fs_handles_and_diamond, 0, 2);
    tcase_add_test(tc, test_diamond_needs_both_paths);
    tcase_add_test(tc, test_lost_record);
    tcase_add_test(tc, test_duplicate_record);
    tcase_add_test(tc, test_wrong_final_count);
    tcase_add_test(tc, test_inconsistent_cut);
    tcase_add_test(tc, test_cut_beyond_emitted);
    tcase_add_test(tc, test_snapshot_not_durable);
    tcase_add_test(tc, test_corrupt_snapshot);
    tcase_add_test(tc, test_liveness_unfinished);
    tcase_add_test(tc, test_liveness_late_checkpoint);
    tcase_add_test(tc, test_liveness_bound_met);
    tcase_add_test(tc, test_restore_older_checkpoint);
    tcase_add_test(tc, test_restore_latest_is_fine);
    tcase_add_test(tc, test_restore_from_scratch_after_completion);
    tcase_add_test(tc, test_ids_and_leaders);
    tcase_add_test(tc, test_replay_with_other_key);
    tcase_add_test(tc, test_job_failed_and_stopped_early);
    tcase_add_test(tc, test_at_least_once_allows_more_never_less);
    tcase_add_test(tc, test_violation_to_string);
    tcase_add_loop_test(tc, test_retention, 0, 5);
    tcase_add_loop_test(tc, test_commit_reports, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(oracle_suite());
}
