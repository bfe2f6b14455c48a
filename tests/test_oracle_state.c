/* test_oracle_state.c - the oracle's reference state at a cut and its per-subtask
 * ledger, on synthetic event streams and storage (snapshots and sink files encoded with
 * the runtime's own encoders, records from the source's own generator, seed 0). Each
 * new check has a planted local mistake it must report and a correct case it must not:
 *  - listmap MapState missing a key group, ListState reordered, ListState one too long;
 *  - a sink's pre-committed transaction missing a record;
 *  - a restored checkpoint whose completion was never reported, checked as a cut;
 *  - a broadcast record committed twice to sink[0] and never to sink[1];
 *  - a counter value committed stale once (n-1 instead of n);
 *  - AT_LEAST_ONCE: duplicates are figures, a loss is a violation.
 *
 * Jobs: LM: src (1 subtask, 40 records, 4 keys) -keyBy-> lm (listmap, 2) -broadcast->
 * sink (2). CT: src -keyBy-> count (2) -forward-> sink (2).
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/operators/rt_operator.h"
#include "runtime/operators/rt_sink_format.h"
#include "runtime/operators/rt_source.h"
#include "runtime/state/rt_key_groups.h"
#include "runtime/state/rt_snapshot.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/harness/sim_oracle.h"
#include "tests/support/test_check.h"

#define RECORDS 40u
#define KEYS 4u
#define MAXP 128u
#define SEC UINT64_C(1000000000)

typedef enum Mut {
    MUT_NONE,
    MUT_MAP_DROP_KG,   /* lm: the map rows of one key group are missing */
    MUT_LIST_SWAP,     /* lm: two list elements of one key swapped */
    MUT_LIST_LONG,     /* lm: a list one value too long */
    MUT_TXN_DROP,      /* sink[1]: a record missing from the pre-commit */
} Mut;

typedef struct Fx {
    RtJobGraph g;
    RtConfig *cfg;
    GHashTable *files;
    SimOracle *o;
    RtSourceGen gen;
    uint64_t t;
    bool counter;     /* CT instead of LM */
    uint64_t prev_cut;
} Fx;

static GBytes *files_read(void *ctx, const char *path) {
    GBytes *b = g_hash_table_lookup(ctx, path);
    return b != NULL ? g_bytes_ref(b) : NULL;
}

static char **files_list(void *ctx, const char *dir) {
    GPtrArray *names = g_ptr_array_new();
    GList *keys = g_list_sort(g_hash_table_get_keys(ctx), (GCompareFunc)strcmp);
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

static void add_op(Fx *fx, const char *name, RtOperatorKind kind) {
    RtOperatorSpec *s = g_new0(RtOperatorSpec, 1);
    s->name = g_strdup(name);
    s->kind = kind;
    s->parallelism = kind == RT_OP_SOURCE ? 1 : 2;
    s->records = kind == RT_OP_SOURCE ? RECORDS : 0;
    s->keys = kind == RT_OP_SOURCE ? KEYS : 0;
    g_ptr_array_add(fx->g.operators, s);
}

static void op_free(void *p) {
    RtOperatorSpec *s = p;
    g_free(s->name);
    g_free(s);
}

static void fx_init(Fx *fx, bool counter, const char *mode) {
    memset(fx, 0, sizeof *fx);
    fx->counter = counter;
    fx->g.name = g_strdup("job");
    fx->g.operators = g_ptr_array_new_with_free_func(op_free);
    fx->g.edges = g_array_new(FALSE, TRUE, sizeof(RtEdgeSpec));
    fx->g.max_parallelism = MAXP;
    add_op(fx, "src", RT_OP_SOURCE);
    add_op(fx, counter ? "count" : "lm", counter ? RT_OP_COUNTER : RT_OP_LISTMAP);
    add_op(fx, "sink", RT_OP_SINK);
    RtEdgeSpec e1 = {0, 1, RT_PART_KEYBY};
    RtEdgeSpec e2 = {1, 2, counter ? RT_PART_FORWARD : RT_PART_BROADCAST};
    g_array_append_val(fx->g.edges, e1);
    g_array_append_val(fx->g.edges, e2);
    fx->cfg = rt_config_new();
    rt_config_set(fx->cfg, "execution.checkpointing.interval", "1 s");
    if (mode != NULL)
        rt_config_set(fx->cfg, "execution.checkpointing.mode", mode);
    fx->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify)g_bytes_unref);
    SimOracleFiles files = {.read = files_read, .list = files_list, .ctx = fx->files};
    SimOracleParams p;
    sim_oracle_params_init(&p);
    fx->o = sim_oracle_new(&fx->g, fx->cfg, &p, &files);
    rt_source_gen_init(&fx->gen, 0, &fx->g, 0, 0);
    fx->t = SEC / 10;
}

static void fx_deinit(Fx *fx) {
    rt_source_gen_deinit(&fx->gen);
    sim_oracle_free(fx->o);
    g_hash_table_unref(fx->files);
    rt_config_free(fx->cfg);
    g_ptr_array_unref(fx->g.operators);
    g_array_unref(fx->g.edges);
    g_free(fx->g.name);
}

static RtRecord rec(const Fx *fx, uint64_t off) {
    RtRecord r;
    rt_source_gen_record(&fx->gen, off, &r);
    return r;
}

static uint32_t owner(uint64_t key) {
    return rt_key_group_operator_index_for_key(key, MAXP, 2);
}

static void send(Fx *fx, RtEventKind kind, uint64_t ckpt, uint32_t attempt, const char *d) {
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ns = fx->t;
    ev.checkpoint_id = ckpt;
    ev.attempt = attempt;
    ev.a = attempt;
    ev.detail = d;
    sim_oracle_event(fx->o, &ev);
    fx->t += SEC / 100;
}

static void emit(Fx *fx, uint64_t from, uint64_t to) {
    for (uint64_t off = from; off < to; off++) {
        RtRecord r = rec(fx, off);
        RtEvent ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = RT_EV_RECORD_EMIT;
        ev.time_ns = fx->t;
        ev.a = off;
        ev.key = r.key;
        ev.b = r.value;
        sim_oracle_event(fx->o, &ev);
        fx->t += SEC / 1000;
    }
}

/* ------------------------------------------------------------------ snapshots */

static int cmp_rows(const void *a, const void *b) {
    const RtSnapshotRow *x = a, *y = b;
    if (x->key_group != y->key_group)
        return x->key_group < y->key_group ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static RtSnapshot *base_snapshot(uint64_t id, uint32_t op, uint32_t index, uint32_t p) {
    RtSnapshot *s = rt_snapshot_new();
    s->checkpoint_id = id;
    s->op = op;
    s->subtask = index;
    s->parallelism = p;
    if (op == 1) {
        s->max_parallelism = MAXP;
        s->key_groups = rt_key_group_range_for_operator(MAXP, 2, index);
    }
    return s;
}

static void add_row(RtSnapshotState *st, uint64_t key, uint64_t sub, uint64_t value) {
    RtSnapshotRow row = {rt_key_group_for_key(key, MAXP), 0, key, sub, value};
    g_array_append_val(st->rows, row);
}

/* The values of key below cut, in offset order, into vals (returns how many). */
static uint32_t key_values(const Fx *fx, uint64_t key, uint64_t cut, uint64_t *vals) {
    uint32_t n = 0;
    for (uint64_t off = 0; off < cut; off++) {
        RtRecord r = rec(fx, off);
        if (r.key == key) {
            vals[n] = fx->counter ? n + 1 : r.value;
            n++;
        }
    }
    return n;
}

/* Subtask j of the keyed operator at cut, with mutation mut applied once (*done). */
static RtSnapshot *keyed_snapshot(Fx *fx, uint64_t id, uint32_t j, uint64_t cut, Mut mut,
                                  bool *done) {
    RtSnapshot *s = base_snapshot(id, 1, j, 2);
    RtSnapshotState *cnt = fx->counter ? rt_snapshot_ensure_state(s, RT_COUNTER_STATE,
                                                                  RT_STATE_VALUE) : NULL;
    RtSnapshotState *ls = fx->counter ? NULL : rt_snapshot_ensure_state(
                                                   s, RT_LISTMAP_LIST_STATE, RT_STATE_LIST);
    RtSnapshotState *ms = fx->counter ? NULL : rt_snapshot_ensure_state(
                                                   s, RT_LISTMAP_MAP_STATE, RT_STATE_MAP);
    for (uint64_t k = 0; k < KEYS; k++) {
        uint64_t vals[RECORDS];
        uint32_t n = key_values(fx, k, cut, vals);
        if (owner(k) != j || n == 0)
            continue;
        if (fx->counter) {
            add_row(cnt, k, 0, n);
            continue;
        }
        uint32_t keep = MIN(n, RT_LISTMAP_LAST_N);
        uint64_t *list = &vals[n - keep];
        if (mut == MUT_LIST_SWAP && !*done && keep >= 2 && list[0] != list[1]) {
            uint64_t x = list[0];
            list[0] = list[1];
            list[1] = x;
            *done = true;
        } else if (mut == MUT_LIST_LONG && !*done && n > keep) {
            list--;
            keep++;
            *done = true;
        }
        for (uint32_t i = 0; i < keep; i++)
            add_row(ls, k, i, list[i]);
        if (mut == MUT_MAP_DROP_KG && !*done) {
            *done = true; /* this key's group was not restored */
            continue;
        }
        uint64_t buckets[RT_LISTMAP_BUCKETS] = {0};
        for (uint32_t i = 0; i < n; i++)
            buckets[vals[i] % RT_LISTMAP_BUCKETS]++;
        for (uint32_t b = 0; b < RT_LISTMAP_BUCKETS; b++)
            if (buckets[b] > 0)
                add_row(ms, k, b, buckets[b]);
    }
    for (guint i = 0; i < s->states->len; i++)
        g_array_sort(((RtSnapshotState *)g_ptr_array_index(s->states, i))->rows, cmp_rows);
    return s;
}

/* True when record off reaches sink subtask j. */
static bool reaches(const Fx *fx, uint64_t off, uint32_t j) {
    return !fx->counter || owner(rec(fx, off).key) == j;
}

/* Sink subtask j pre-commits the records between the previous cut and cut as
 * pending-<id> (txn id = checkpoint id), listed in its "txns" state. */
static RtSnapshot *sink_snapshot(Fx *fx, uint64_t id, uint32_t j, uint64_t cut, Mut mut) {
    RtSnapshot *s = base_snapshot(id, 2, j, 2);
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(RtRecord));
    bool dropped = false;
    for (uint64_t off = fx->prev_cut; off < cut; off++) {
        RtRecord r = rec(fx, off);
        if (!reaches(fx, off, j))
            continue;
        if (mut == MUT_TXN_DROP && j == 1 && !dropped) {
            dropped = true; /* the first record of sink[1] is not in its pre-commit */
            continue;
        }
        g_array_append_val(recs, r);
    }
    GByteArray *b = g_byte_array_new();
    RtSinkStateTxn txn = {id, id, 0};
    rt_sink_state_encode(b, &txn, 1, id + 1);
    char *path = rt_sink_txn_path("sink", j, id, false);
    put_file(fx, path, rt_sink_file_encode(2, j, id, (const RtRecord *)(void *)recs->data,
                                           recs->len));
    g_free(path);
    rt_snapshot_set_operator_state(s, RT_SINK_STATE_BLOB, b->data, b->len);
    g_byte_array_unref(b);
    g_array_unref(recs);
    return s;
}

static void add_state(Fx *fx, RtCompletedCheckpoint *cp, RtSnapshot *s) {
    GBytes *enc = rt_snapshot_encode(s);
    size_t len = 0;
    const void *data = g_bytes_get_data(enc, &len);
    RtStateHandle *h = rt_state_handle_new("hashmap", "", s->checkpoint_id, len,
                                           rt_crc32c(0, data, len), enc);
    GBytes *hb = rt_state_handle_encode(h);
    rt_completed_checkpoint_add(cp, (RtSubtaskId){(uint16_t)s->op, (uint16_t)s->subtask}, 1, hb);
    g_bytes_unref(hb);
    rt_state_handle_free(h);
    g_bytes_unref(enc);
    rt_snapshot_free(s);
    (void)fx;
}

/* Writes checkpoint id with the source at cut; reports its completion when report. */
static void checkpoint(Fx *fx, uint64_t id, uint64_t cut, Mut mut, bool report) {
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new("job", id, fx->t, fx->t, 1);
    RtSnapshot *src = base_snapshot(id, 0, 0, 1);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(cut >> (8 * i));
    rt_snapshot_set_operator_state(src, "offset", b, 8);
    add_state(fx, cp, src);
    bool done = false;
    for (uint32_t j = 0; j < 2; j++)
        add_state(fx, cp, keyed_snapshot(fx, id, j, cut, mut, &done));
    for (uint32_t j = 0; j < 2; j++)
        add_state(fx, cp, sink_snapshot(fx, id, j, cut, mut));
    char *path = rt_ckpt_metadata_path("checkpoints", "job", id);
    put_file(fx, path, rt_ckpt_metadata_encode(cp));
    rt_completed_checkpoint_free(cp);
    if (report)
        send(fx, RT_EV_CKPT_COMPLETE, id, 0, path);
    g_free(path);
    fx->prev_cut = cut;
}

/* ------------------------------------------------------------------ committed output */

typedef enum Fin {
    FIN_OK,
    FIN_BCAST_WRONG, /* record 5 committed twice to sink[0], never to sink[1] */
    FIN_STALE,       /* record 20's count committed as n-1 */
    FIN_DUP,         /* record 7 committed twice */
    FIN_LOSE,        /* record 8 never committed */
} Fin;

/* Commits every record to the sink subtasks it reaches (one committed file each), with
 * the value the operator gives it (the source's value, or the running count). */
static void commit_all(Fx *fx, Fin fin) {
    for (uint32_t j = 0; j < 2; j++) {
        GArray *recs = g_array_new(FALSE, TRUE, sizeof(RtRecord));
        uint64_t count[KEYS] = {0};
        for (uint64_t off = 0; off < RECORDS; off++) {
            RtRecord r = rec(fx, off);
            r.value = fx->counter ? ++count[r.key] : r.value;
            if (!reaches(fx, off, j) || (fin == FIN_LOSE && off == 8) ||
                (fin == FIN_BCAST_WRONG && off == 5 && j == 1))
                continue;
            if (fin == FIN_STALE && off == 20)
                r.value--;
            g_array_append_val(recs, r);
            if ((fin == FIN_BCAST_WRONG && off == 5) || (fin == FIN_DUP && off == 7))
                g_array_append_val(recs, r);
        }
        char *path = rt_sink_txn_path("sink", j, 1, true);
        put_file(fx, path, rt_sink_file_encode(2, j, 1, (const RtRecord *)(void *)recs->data,
                                               recs->len));
        g_free(path);
        g_array_unref(recs);
    }
}

static bool has_violation(const GPtrArray *v, const char *inv, const char *needle) {
    for (guint i = 0; i < v->len; i++) {
        const SimViolation *x = g_ptr_array_index(v, i);
        if (strcmp(x->invariant, inv) == 0 && strstr(x->message, needle) != NULL)
            return true;
    }
    return false;
}

static void dump(const GPtrArray *v) {
    for (guint i = 0; i < v->len; i++) {
        char *s = sim_violation_to_string(g_ptr_array_index(v, i));
        fprintf(stderr, "# %s\n", s);
        g_free(s);
    }
}

/* Emits everything with checkpoints at 15 and 30 (the second with mutation mut),
 * commits with fin and finishes. Returns the violations (caller unrefs). */
static GPtrArray *run(Fx *fx, Mut mut, Fin fin) {
    emit(fx, 0, 15);
    checkpoint(fx, 1, 15, MUT_NONE, true);
    emit(fx, 15, 30);
    checkpoint(fx, 2, 30, mut, true);
    emit(fx, 30, RECORDS);
    checkpoint(fx, 3, RECORDS, MUT_NONE, true);
    commit_all(fx, fin);
    send(fx, RT_EV_JOB_FINISHED, 0, 0, NULL);
    GPtrArray *v = NULL;
    sim_oracle_finish(fx->o, fx->t, &v);
    return v;
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_correct_runs_hold) {
    /* _i: 0 = listmap + broadcast, 1 = counter + forward. */
    Fx fx;
    fx_init(&fx, _i == 1, NULL);
    GPtrArray *v = run(&fx, MUT_NONE, FIN_OK);
    dump(v);
    ck_assert_uint_eq(v->len, 0);
    SimOracleStats st;
    sim_oracle_get_stats(fx.o, &st);
    ck_assert_uint_eq(st.checkpoints_checked, 3);
    ck_assert_uint_eq(st.records_committed, _i == 1 ? RECORDS : 2 * RECORDS);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_listmap_mistakes_caught) {
    static const struct {
        Mut mut;
        const char *needle;
    } cases[] = {
        {MUT_MAP_DROP_KG, "map state counts"},
        {MUT_LIST_SWAP, "is not the last values of its input in order"},
        {MUT_LIST_LONG, "list state holds 5 values"},
        {MUT_TXN_DROP, "sink sink's pre-committed transactions of checkpoints 2..2"},
    };
    Fx fx;
    fx_init(&fx, false, NULL);
    GPtrArray *v = run(&fx, cases[_i].mut, FIN_OK);
    if (!has_violation(v, SIM_INV_CONSISTENT_CUT, cases[_i].needle))
        dump(v);
    ck_assert(has_violation(v, SIM_INV_CONSISTENT_CUT, cases[_i].needle));
    ck_assert(has_violation(v, SIM_INV_CONSISTENT_CUT, "checkpoint 2 is not a consistent cut"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_unreported_restored_checkpoint_is_a_cut) {
    /* Checkpoint 2 completed but its completion was never reported (its job manager
     * crashed); a restore from it must check it as a cut: held when it is one, a
     * violation when its listmap state is wrong. */
    for (int bad = 0; bad < 2; bad++) {
        Fx fx;
        fx_init(&fx, false, NULL);
        emit(&fx, 0, 15);
        checkpoint(&fx, 1, 15, MUT_NONE, true);
        emit(&fx, 15, 30);
        checkpoint(&fx, 2, 30, bad ? MUT_MAP_DROP_KG : MUT_NONE, false);
        send(&fx, RT_EV_FAILOVER, 0, 2, "crash");
        send(&fx, RT_EV_RESTORE, 2, 2, NULL);
        const GPtrArray *v = sim_oracle_violations_peek(fx.o);
        SimOracleStats st;
        sim_oracle_get_stats(fx.o, &st);
        if (bad) {
            ck_assert(has_violation(v, SIM_INV_CONSISTENT_CUT,
                                    "checkpoint 2 is not a consistent cut: listmap lm"));
        } else {
            dump(v);
            ck_assert_uint_eq(v->len, 0);
            ck_assert_uint_eq(st.checkpoints_checked, 2);
        }
        fx_deinit(&fx);
    }
}
END_TEST

START_TEST(test_ledger_per_sink_subtask) {
    /* One broadcast record committed twice to sink[0] and never to sink[1]: the totals
     * per operator are right, the subtasks are not. */
    Fx fx;
    fx_init(&fx, false, NULL);
    GPtrArray *v = run(&fx, MUT_NONE, FIN_BCAST_WRONG);
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "sink sink[0]: 1 records duplicated"));
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "sink sink[1]: 1 records lost"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_stale_counter_value) {
    /* Every record committed once, but one count is stale (n-1 instead of n): the
     * maximum per key is still right; the values are not. */
    Fx fx;
    fx_init(&fx, true, NULL);
    GPtrArray *v = run(&fx, MUT_NONE, FIN_STALE);
    RtRecord r = rec(&fx, 20);
    uint64_t n = 0;
    for (uint64_t off = 0; off <= 20; off++)
        n += rec(&fx, off).key == r.key;
    char *want = g_strdup_printf("key %" PRIu64 " value %" PRIu64 " committed 2 times", r.key,
                                 n - 1);
    char *gone = g_strdup_printf("key %" PRIu64 " value %" PRIu64 " committed 0 times", r.key, n);
    if (!has_violation(v, SIM_INV_EXACTLY_ONCE, want))
        dump(v);
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, want));
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, gone));
    ck_assert(!has_violation(v, SIM_INV_EXACTLY_ONCE, "records lost"));
    g_free(want);
    g_free(gone);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

START_TEST(test_at_least_once_figures) {
    /* AT_LEAST_ONCE: a duplicate is a figure, not a violation; a loss is a violation. */
    Fx fx;
    fx_init(&fx, true, "AT_LEAST_ONCE");
    GPtrArray *v = run(&fx, MUT_NONE, FIN_DUP);
    dump(v);
    ck_assert_uint_eq(v->len, 0);
    SimOracleStats st;
    sim_oracle_get_stats(fx.o, &st);
    ck_assert_uint_eq(st.records_duplicated, 1);
    ck_assert_uint_eq(st.values_duplicated, 1);
    g_ptr_array_unref(v);
    fx_deinit(&fx);
    fx_init(&fx, true, "AT_LEAST_ONCE");
    v = run(&fx, MUT_NONE, FIN_LOSE);
    ck_assert(has_violation(v, SIM_INV_EXACTLY_ONCE, "1 records lost"));
    g_ptr_array_unref(v);
    fx_deinit(&fx);
}
END_TEST

static Suite *oracle_state_suite(void) {
    Suite *s = suite_create("oracle_state");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_correct_runs_hold, 0, 2);
    tcase_add_loop_test(tc, test_listmap_mistakes_caught, 0, 4);
    tcase_add_test(tc, test_unreported_restored_checkpoint_is_a_cut);
    tcase_add_test(tc, test_ledger_per_sink_subtask);
    tcase_add_test(tc, test_stale_counter_value);
    tcase_add_test(tc, test_at_least_once_figures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(oracle_state_suite());
}
