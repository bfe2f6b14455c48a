/* test_oracle_ledger.c - the oracle's compact per-record ledger: the bit-packed arrays
 * (every width, straddling words, widening keeps values, neighbours untouched), and,
 * through the oracle's public API, that the packed ledger still names lost and
 * duplicated records with their key and the checkpoint they were first emitted after,
 * and catches a replay whose key is not the source generator's.
 *
 * The job: src (1 subtask, 40 records, 100 keys, the source's own generator with seed
 * 0) -forward-> sink (1 subtask).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/operators/rt_sink_format.h"
#include "runtime/operators/rt_source.h"
#include "sim/harness/sim_oracle.h"
#include "sim/harness/sim_packed.h"
#include "tests/support/test_check.h"

#define RECORDS 40u
#define SEC UINT64_C(1000000000)

/* The source's generator (seed 0) for the fixture's graph. */
static RtSourceGen lx_gen;

/* ------------------------------------------------------------------ packed arrays */

static uint64_t xs(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

START_TEST(test_packed_every_width) {
    enum { N = 997 };
    uint32_t *ref = g_new0(uint32_t, N);
    uint64_t seed = 0x1234567u;
    for (uint32_t bits = 1; bits <= SIM_PACKED_MAX_BITS; bits++) {
        SimPacked p;
        sim_packed_init(&p, N, bits);
        memset(ref, 0, sizeof(uint32_t) * N);
        uint32_t max = sim_packed_max(&p);
        ck_assert_uint_eq(max, (uint32_t)((UINT64_C(1) << bits) - 1));
        for (int round = 0; round < 4 * N; round++) {
            uint64_t i = xs(&seed) % N;
            uint32_t v = (uint32_t)(xs(&seed) & max);
            if (round % 7 == 0)
                v = max;
            sim_packed_set(&p, i, v);
            ref[i] = v;
        }
        for (uint64_t i = 0; i < N; i++)
            ck_assert_uint_eq(sim_packed_get(&p, i), ref[i]);
        uint32_t wider = bits + (uint32_t)(xs(&seed) % (SIM_PACKED_MAX_BITS - bits + 1));
        sim_packed_widen(&p, wider);
        ck_assert_uint_eq(p.bits, wider);
        for (uint64_t i = 0; i < N; i++)
            ck_assert_uint_eq(sim_packed_get(&p, i), ref[i]);
        ck_assert_uint_le(sim_packed_size_bytes(&p), ((uint64_t)N * wider + 63) / 64 * 8 + 8);
        sim_packed_deinit(&p);
    }
    g_free(ref);
}
END_TEST

START_TEST(test_packed_bits_for) {
    ck_assert_uint_eq(sim_packed_bits_for(0), 1);
    ck_assert_uint_eq(sim_packed_bits_for(1), 1);
    ck_assert_uint_eq(sim_packed_bits_for(2), 2);
    ck_assert_uint_eq(sim_packed_bits_for(1024), 11);
    ck_assert_uint_eq(sim_packed_bits_for(UINT32_MAX), 32);
}
END_TEST

/* ------------------------------------------------------------------ oracle */

typedef struct Lx {
    RtJobGraph g;
    RtConfig *cfg;
    GHashTable *files; /* path -> GBytes */
    SimOracle *o;
    uint64_t t;
} Lx;

static GBytes *lx_read(void *ctx, const char *path) {
    GBytes *b = g_hash_table_lookup(ctx, path);
    return b != NULL ? g_bytes_ref(b) : NULL;
}

static char **lx_list(void *ctx, const char *dir) {
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

static void op_free(void *p) {
    RtOperatorSpec *s = p;
    g_free(s->name);
    g_free(s);
}

static void lx_init(Lx *x) {
    memset(x, 0, sizeof *x);
    x->g.name = g_strdup("job");
    x->g.operators = g_ptr_array_new_with_free_func(op_free);
    x->g.edges = g_array_new(FALSE, TRUE, sizeof(RtEdgeSpec));
    x->g.max_parallelism = 128;
    RtOperatorSpec *src = g_new0(RtOperatorSpec, 1);
    src->name = g_strdup("src");
    src->kind = RT_OP_SOURCE;
    src->parallelism = 1;
    src->records = RECORDS;
    src->keys = 100;
    g_ptr_array_add(x->g.operators, src);
    RtOperatorSpec *sink = g_new0(RtOperatorSpec, 1);
    sink->name = g_strdup("sink");
    sink->kind = RT_OP_SINK;
    sink->parallelism = 1;
    g_ptr_array_add(x->g.operators, sink);
    RtEdgeSpec e = {0, 1, RT_PART_FORWARD};
    g_array_append_val(x->g.edges, e);
    x->cfg = rt_config_new();
    x->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify)g_bytes_unref);
    SimOracleFiles files = {.read = lx_read, .list = lx_list, .ctx = x->files};
    SimOracleParams p;
    sim_oracle_params_init(&p);
    p.check_cuts = false;
    x->o = sim_oracle_new(&x->g, x->cfg, &p, &files);
    x->t = SEC;
    rt_source_gen_init(&lx_gen, 0, &x->g, 0, 0);
}

static void lx_deinit(Lx *x) {
    rt_source_gen_deinit(&lx_gen);
    sim_oracle_free(x->o);
    g_hash_table_unref(x->files);
    rt_config_free(x->cfg);
    g_ptr_array_unref(x->g.operators);
    g_array_unref(x->g.edges);
    g_free(x->g.name);
}

static uint64_t key_of(uint64_t off) {
    RtRecord r;
    rt_source_gen_record(&lx_gen, off, &r);
    return r.key;
}

static uint64_t value_of(uint64_t off) {
    RtRecord r;
    rt_source_gen_record(&lx_gen, off, &r);
    return r.value;
}

static void lx_emit(Lx *x, uint64_t from, uint64_t to) {
    for (uint64_t off = from; off < to; off++) {
        RtEvent ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = RT_EV_RECORD_EMIT;
        ev.time_ns = x->t;
        ev.a = off;
        ev.key = key_of(off);
        ev.b = value_of(off);
        sim_oracle_event(x->o, &ev);
        x->t += SEC / 1000;
    }
}

static void lx_send(Lx *x, RtEventKind kind, uint64_t ckpt) {
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ns = x->t;
    ev.checkpoint_id = ckpt;
    sim_oracle_event(x->o, &ev);
    x->t += SEC / 100;
}

/* Commits one file with every record once, except offset skip (absent) and offset dup
 * (three times). */
static void lx_commit(Lx *x, uint64_t skip, uint64_t dup) {
    RtSinkEncoder enc;
    rt_sink_encoder_init(&enc);
    for (uint64_t off = 0; off < RECORDS; off++) {
        RtRecord r = {0, off, key_of(off), value_of(off), 0};
        for (int c = 0; c < (off == skip ? 0 : off == dup ? 3 : 1); c++)
            rt_sink_encoder_add(&enc, &r);
    }
    char *path = rt_sink_txn_path("sink", 0, 1, true);
    g_hash_table_replace(x->files, path, rt_sink_encoder_finish(&enc, 1, 0, 1));
    rt_sink_encoder_deinit(&enc);
}

static bool has(const GPtrArray *v, const char *needle) {
    for (guint i = 0; i < v->len; i++) {
        const SimViolation *sv = g_ptr_array_index(v, i);
        if (strstr(sv->message, needle) != NULL)
            return true;
    }
    return false;
}

static GPtrArray *lx_finish(Lx *x) {
    GPtrArray *v = NULL;
    sim_oracle_finish(x->o, x->t, &v);
    return v;
}

START_TEST(test_ledger_names_epochs_and_keys) {
    Lx x;
    lx_init(&x);
    lx_emit(&x, 0, 10);
    lx_send(&x, RT_EV_CKPT_COMPLETE, 1);
    lx_emit(&x, 10, 20);
    lx_emit(&x, 5, 15); /* a replay: first emissions keep their epochs */
    lx_send(&x, RT_EV_CKPT_COMPLETE, 2);
    lx_emit(&x, 20, RECORDS);
    lx_send(&x, RT_EV_JOB_FINISHED, 0);
    lx_commit(&x, 15, 33);
    GPtrArray *v = lx_finish(&x);
    char *lost = g_strdup_printf("(src 0, offset 15, key %d, 0 copies, emitted after "
                                 "checkpoint 1 ",
                                 (int)key_of(15));
    char *dup = g_strdup_printf("(src 0, offset 33, key %d, 3 copies, emitted after "
                                "checkpoint 2 ",
                                (int)key_of(33));
    ck_assert_msg(has(v, "1 records lost") && has(v, lost), "lost record not named");
    ck_assert_msg(has(v, "1 records duplicated") && has(v, dup), "duplicate not named");
    ck_assert_uint_eq(v->len, 2);
    SimOracleStats st;
    sim_oracle_get_stats(x.o, &st);
    ck_assert_uint_eq(st.records_emitted, RECORDS);
    ck_assert_uint_eq(st.records_lost, 1);
    ck_assert_uint_eq(st.records_duplicated, 2);
    g_free(lost);
    g_free(dup);
    g_ptr_array_unref(v);
    lx_deinit(&x);
}
END_TEST

START_TEST(test_ledger_clean_run_and_replayed_key) {
    Lx x;
    lx_init(&x);
    lx_emit(&x, 0, RECORDS);
    lx_send(&x, RT_EV_JOB_FINISHED, 0);
    lx_commit(&x, UINT64_MAX, UINT64_MAX);
    GPtrArray *v = lx_finish(&x);
    ck_assert_uint_eq(v->len, 0);
    g_ptr_array_unref(v);
    lx_deinit(&x);

    lx_init(&x);
    lx_emit(&x, 0, RECORDS);
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = RT_EV_RECORD_EMIT;
    ev.time_ns = x.t;
    ev.a = 7;
    ev.key = key_of(8);
    sim_oracle_event(x.o, &ev);
    lx_send(&x, RT_EV_JOB_FINISHED, 0);
    lx_commit(&x, UINT64_MAX, UINT64_MAX);
    v = lx_finish(&x);
    ck_assert(has(v, "(src 0, offset 7) with key"));
    ck_assert(has(v, "not replayable"));
    g_ptr_array_unref(v);
    lx_deinit(&x);
}
END_TEST

static Suite *oracle_ledger_suite(void) {
    Suite *s = suite_create("oracle_ledger");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_packed_every_width);
    tcase_add_test(tc, test_packed_bits_for);
    tcase_add_test(tc, test_ledger_names_epochs_and_keys);
    tcase_add_test(tc, test_ledger_clean_run_and_replayed_key);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(oracle_ledger_suite());
}
