/* test_state_keyed.c - keyed state: ValueState / ListState / MapState semantics (as
 * Flink's heap state), scoping to the current key, deterministic snapshots whatever the
 * insertion order, and rescaling: snapshots split by key-group range and merged into
 * stores of another parallelism, with the errors Flink raises (max parallelism change,
 * overlapping restores, kind mismatch). */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/state/rt_keyed_state.h"
#include "tests/support/test_check.h"

#define MAXP 128u

static RtKeyedStateStore *whole(void) {
    RtKeyGroupRange all = {0, MAXP};
    return rt_keyed_state_store_new(MAXP, all);
}

START_TEST(test_value_state) {
    RtKeyedStateStore *st = whole();
    RtValueState *v = rt_keyed_state_get_value_state(st, "count");
    ck_assert_ptr_eq(v, rt_keyed_state_get_value_state(st, "count"));
    uint64_t out = 99;
    rt_keyed_state_set_current_key(st, 1);
    ck_assert(!rt_value_state_get(v, &out)); /* unset: Flink's null */
    ck_assert_uint_eq(out, 99);
    rt_value_state_update(v, 0); /* zero is a value, not absence */
    ck_assert(rt_value_state_get(v, &out));
    ck_assert_uint_eq(out, 0);
    rt_value_state_update(v, 5);
    rt_keyed_state_set_current_key(st, 2);
    ck_assert(!rt_value_state_get(v, &out));
    rt_value_state_update(v, 7);
    rt_keyed_state_set_current_key(st, 1);
    ck_assert(rt_value_state_get(v, &out));
    ck_assert_uint_eq(out, 5);
    ck_assert_uint_eq(rt_keyed_state_current_key(st), 1);
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "count"), 2);
    rt_value_state_clear(v);
    ck_assert(!rt_value_state_get(v, &out));
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "count"), 1);
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "nope"), 0);
    rt_keyed_state_store_free(st);
}
END_TEST

START_TEST(test_list_state) {
    RtKeyedStateStore *st = whole();
    RtListState *l = rt_keyed_state_get_list_state(st, "l");
    size_t n = 1;
    rt_keyed_state_set_current_key(st, 10);
    ck_assert_ptr_null(rt_list_state_get(l, &n));
    ck_assert_uint_eq(n, 0);
    rt_list_state_add_all(l, NULL, 0); /* no-op */
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "l"), 0);
    rt_list_state_add(l, 3);
    const uint64_t more[] = {1, 2};
    rt_list_state_add_all(l, more, 2);
    const uint64_t *got = rt_list_state_get(l, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(got[0], 3);
    ck_assert_uint_eq(got[1], 1);
    ck_assert_uint_eq(got[2], 2);
    rt_keyed_state_set_current_key(st, 11);
    ck_assert_ptr_null(rt_list_state_get(l, &n));
    rt_keyed_state_set_current_key(st, 10);
    const uint64_t repl[] = {9};
    rt_list_state_update(l, repl, 1);
    got = rt_list_state_get(l, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(got[0], 9);
    rt_list_state_update(l, NULL, 0); /* "the state value will be null" */
    ck_assert_ptr_null(rt_list_state_get(l, &n));
    rt_list_state_add(l, 4);
    rt_list_state_clear(l);
    ck_assert_ptr_null(rt_list_state_get(l, &n));
    rt_keyed_state_store_free(st);
}
END_TEST

START_TEST(test_map_state) {
    RtKeyedStateStore *st = whole();
    RtMapState *m = rt_keyed_state_get_map_state(st, "m");
    uint64_t out = 0;
    size_t n = 0;
    rt_keyed_state_set_current_key(st, 5);
    ck_assert(rt_map_state_is_empty(m));
    ck_assert(!rt_map_state_get(m, 1, &out));
    ck_assert(!rt_map_state_remove(m, 1));
    const uint64_t keys[] = {50, 10, 30, 20, 40};
    for (int i = 0; i < 5; i++)
        rt_map_state_put(m, keys[i], keys[i] * 2);
    rt_map_state_put(m, 30, 1); /* overwrite */
    ck_assert_uint_eq(rt_map_state_size(m), 5);
    ck_assert(rt_map_state_contains(m, 20));
    ck_assert(rt_map_state_get(m, 30, &out));
    ck_assert_uint_eq(out, 1);
    const RtMapEntry *e = rt_map_state_entries(m, &n);
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(e[i].key, (i + 1) * 10); /* sorted by map key */
    ck_assert(rt_map_state_remove(m, 10));
    ck_assert(!rt_map_state_contains(m, 10));
    rt_keyed_state_set_current_key(st, 6);
    ck_assert(rt_map_state_is_empty(m));
    ck_assert_ptr_null(rt_map_state_entries(m, &n));
    rt_map_state_put(m, 1, 1);
    ck_assert(rt_map_state_remove(m, 1)); /* the last entry: the key's map is gone */
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "m"), 1);
    rt_keyed_state_set_current_key(st, 5);
    rt_map_state_clear(m);
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "m"), 0);
    rt_keyed_state_store_free(st);
}
END_TEST

START_TEST(test_states_independent) {
    RtKeyedStateStore *st = whole();
    RtValueState *a = rt_keyed_state_get_value_state(st, "a");
    RtValueState *b = rt_keyed_state_get_value_state(st, "b");
    rt_keyed_state_set_current_key(st, 77);
    rt_value_state_update(a, 1);
    uint64_t out = 0;
    ck_assert(!rt_value_state_get(b, &out));
    rt_keyed_state_store_free(st);
}
END_TEST

START_TEST(test_kind_mismatch_asserts) {
    RtKeyedStateStore *st = whole();
    rt_keyed_state_get_value_state(st, "x");
    rt_keyed_state_get_list_state(st, "x"); /* programmer error */
}
END_TEST

START_TEST(test_wrong_key_group_asserts) {
    RtKeyedStateStore *st = rt_keyed_state_store_new(MAXP, rt_key_group_range_for_operator(MAXP,
                                                                                         4, 0));
    rt_keyed_state_set_current_key(st, 0); /* key group 94 belongs to subtask 2 */
}
END_TEST

/* Fills a store for [range) with keys 0..n-1 of that range, in an order given by stride. */
static void fill(RtKeyedStateStore *st, uint64_t n, uint64_t stride) {
    RtKeyGroupRange r = rt_keyed_state_store_range(st);
    RtValueState *v = rt_keyed_state_get_value_state(st, "count");
    RtListState *l = rt_keyed_state_get_list_state(st, "hist");
    RtMapState *m = rt_keyed_state_get_map_state(st, "by");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t key = (i * stride) % n;
        if (!rt_key_group_range_contains(r, rt_key_group_for_key(key, MAXP)))
            continue;
        rt_keyed_state_set_current_key(st, key);
        rt_value_state_update(v, key + 1);
        if (key % 4 == 0) {
            rt_list_state_add(l, key);
            rt_list_state_add(l, key * 2);
        }
        if (key % 3 == 0) {
            rt_map_state_put(m, key % 11, key);
            rt_map_state_put(m, key % 5, key + 7);
        }
    }
}

static GBytes *encode_store(const RtKeyedStateStore *st) {
    RtSnapshot *snap = rt_snapshot_new();
    rt_keyed_state_store_snapshot(st, snap);
    GBytes *b = rt_snapshot_encode(snap);
    rt_snapshot_free(snap);
    return b;
}

START_TEST(test_deterministic_snapshot) {
    RtKeyedStateStore *a = whole(), *b = whole();
    fill(a, 5000, 1);
    fill(b, 5000, 7); /* same contents, another insertion order (7 is coprime to 5000) */
    GBytes *x = encode_store(a), *y = encode_store(b);
    ck_assert(g_bytes_equal(x, y));
    /* And a change is visible. */
    rt_keyed_state_set_current_key(b, 3);
    rt_value_state_update(rt_keyed_state_get_value_state(b, "count"), 0);
    GBytes *z = encode_store(b);
    ck_assert(!g_bytes_equal(x, z));
    g_bytes_unref(x);
    g_bytes_unref(y);
    g_bytes_unref(z);
    rt_keyed_state_store_free(a);
    rt_keyed_state_store_free(b);
}
END_TEST

/* Snapshots of p_from stores, restored into p_to stores (each from every snapshot),
 * re-snapshotted into one store covering everything: equal to the original. */
static void rescale(uint32_t p_from, uint32_t p_to) {
    enum { N = 3000 };
    RtKeyedStateStore *ref = whole();
    fill(ref, N, 1);
    GPtrArray *snaps = g_ptr_array_new_with_free_func((GDestroyNotify)rt_snapshot_free);
    for (uint32_t i = 0; i < p_from; i++) {
        RtKeyedStateStore *st =
            rt_keyed_state_store_new(MAXP, rt_key_group_range_for_operator(MAXP, p_from, i));
        fill(st, N, 1);
        RtSnapshot *snap = rt_snapshot_new();
        rt_keyed_state_store_snapshot(st, snap);
        /* Through the codec, as a real restore would. */
        GBytes *b = rt_snapshot_encode(snap);
        rt_snapshot_free(snap);
        gsize n = 0;
        const void *d = g_bytes_get_data(b, &n);
        ck_assert(rt_snapshot_decode(d, n, &snap, NULL));
        g_bytes_unref(b);
        g_ptr_array_add(snaps, snap);
        rt_keyed_state_store_free(st);
    }
    RtKeyedStateStore *merged = whole();
    for (uint32_t j = 0; j < p_to; j++) {
        RtKeyedStateStore *st =
            rt_keyed_state_store_new(MAXP, rt_key_group_range_for_operator(MAXP, p_to, j));
        for (guint i = 0; i < snaps->len; i++) {
            GError *err = NULL;
            ck_assert_msg(rt_keyed_state_store_restore(st, g_ptr_array_index(snaps, i), &err),
                          "%s", err ? err->message : "");
        }
        /* Every key this subtask owns has its value; nothing else is there. */
        RtValueState *v = rt_keyed_state_get_value_state(st, "count");
        size_t owned = 0;
        for (uint64_t key = 0; key < N; key++) {
            if (rt_key_group_operator_index_for_key(key, MAXP, p_to) != j)
                continue;
            owned++;
            rt_keyed_state_set_current_key(st, key);
            uint64_t out = 0;
            ck_assert(rt_value_state_get(v, &out));
            ck_assert_uint_eq(out, key + 1);
        }
        ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "count"), owned);
        RtSnapshot *part = rt_snapshot_new();
        rt_keyed_state_store_snapshot(st, part);
        ck_assert(rt_keyed_state_store_restore(merged, part, NULL));
        rt_snapshot_free(part);
        rt_keyed_state_store_free(st);
    }
    GBytes *x = encode_store(ref), *y = encode_store(merged);
    ck_assert(g_bytes_equal(x, y));
    g_bytes_unref(x);
    g_bytes_unref(y);
    rt_keyed_state_store_free(merged);
    rt_keyed_state_store_free(ref);
    g_ptr_array_unref(snaps);
}

START_TEST(test_rescale) {
    const uint32_t pairs[][2] = {{2, 3}, {3, 2}, {1, 4}, {4, 1}, {5, 7}, {128, 3}, {3, 128}};
    rescale(pairs[_i][0], pairs[_i][1]);
}
END_TEST

START_TEST(test_restore_errors) {
    RtKeyedStateStore *a = whole();
    fill(a, 500, 1);
    RtSnapshot *snap = rt_snapshot_new();
    rt_keyed_state_store_snapshot(a, snap);
    GError *err = NULL;

    RtKeyedStateStore *b = whole();
    ck_assert(rt_keyed_state_store_restore(b, snap, &err));
    ck_assert(!rt_keyed_state_store_restore(b, snap, &err)); /* overlap */
    ck_assert(g_error_matches(err, RT_KEYED_STATE_ERROR, RT_KEYED_STATE_ERROR_DUPLICATE));
    g_clear_error(&err);

    RtKeyedStateStore *c = rt_keyed_state_store_new(256, (RtKeyGroupRange){0, 256});
    ck_assert(!rt_keyed_state_store_restore(c, snap, &err));
    ck_assert(g_error_matches(err, RT_KEYED_STATE_ERROR, RT_KEYED_STATE_ERROR_MAX_PARALLELISM));
    ck_assert_ptr_nonnull(strstr(err->message, "max parallelism"));
    g_clear_error(&err);

    RtKeyedStateStore *d = whole();
    rt_keyed_state_get_list_state(d, "count"); /* same name, another kind */
    ck_assert(!rt_keyed_state_store_restore(d, snap, &err));
    ck_assert(g_error_matches(err, RT_KEYED_STATE_ERROR, RT_KEYED_STATE_ERROR_KIND));
    g_clear_error(&err);
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(d, "hist"), 0); /* unchanged */

    rt_snapshot_free(snap);
    rt_keyed_state_store_free(a);
    rt_keyed_state_store_free(b);
    rt_keyed_state_store_free(c);
    rt_keyed_state_store_free(d);
}
END_TEST

/* The hot path of a keyed counter: 1 M get+update pairs over 10 k keys. */
START_TEST(test_many_updates) {
    RtKeyedStateStore *st = whole();
    RtValueState *v = rt_keyed_state_get_value_state(st, "count");
    for (uint64_t i = 0; i < 1000000; i++) {
        rt_keyed_state_set_current_key(st, (i * 7919) % 10000);
        uint64_t c = 0;
        rt_value_state_get(v, &c);
        rt_value_state_update(v, c + 1);
    }
    ck_assert_uint_eq(rt_keyed_state_store_num_keys(st, "count"), 10000);
    uint64_t c = 0;
    rt_keyed_state_set_current_key(st, 1234);
    ck_assert(rt_value_state_get(v, &c));
    ck_assert_uint_eq(c, 100);
    rt_keyed_state_store_free(st);
}
END_TEST

static Suite *state_keyed_suite(void) {
    Suite *s = suite_create("state_keyed");
    TCase *tc = tcase_create("semantics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_value_state);
    tcase_add_test(tc, test_list_state);
    tcase_add_test(tc, test_map_state);
    tcase_add_test(tc, test_states_independent);
    tcase_add_test_raise_signal(tc, test_kind_mismatch_asserts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_wrong_key_group_asserts, SIGABRT);
    tcase_add_test(tc, test_many_updates);
    suite_add_tcase(s, tc);
    TCase *sn = tcase_create("snapshot");
    tcase_set_timeout(sn, 120);
    tcase_add_test(sn, test_deterministic_snapshot);
    tcase_add_loop_test(sn, test_rescale, 0, 7);
    tcase_add_test(sn, test_restore_errors);
    suite_add_tcase(s, sn);
    return s;
}

int main(void) {
    return test_check_run(state_keyed_suite());
}
