/* test_state_snapshot.c - the snapshot format: round trip, determinism, CRC-32C, and
 * that every truncation, every single-bit flip, a bad magic, a bad version and a
 * structurally bad body (with a valid checksum) are each detected with an error. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/state/rt_keyed_state.h"
#include "runtime/state/rt_snapshot.h"
#include "tests/support/test_check.h"

#define MAXP 128u

/* A snapshot of subtask 1 of 2 with value, list and map state and blobs. */
static RtSnapshot *sample(void) {
    RtKeyGroupRange range = rt_key_group_range_for_operator(MAXP, 2, 1);
    RtKeyedStateStore *store = rt_keyed_state_store_new(MAXP, range);
    RtValueState *count = rt_keyed_state_get_value_state(store, "count");
    RtListState *seen = rt_keyed_state_get_list_state(store, "seen");
    RtMapState *last = rt_keyed_state_get_map_state(store, "last");
    for (uint64_t key = 0; key < 200; key++) {
        if (rt_key_group_operator_index_for_key(key, MAXP, 2) != 1)
            continue;
        rt_keyed_state_set_current_key(store, key);
        rt_value_state_update(count, key * 3 + 1);
        if (key % 3 == 0) {
            rt_list_state_add(seen, key);
            rt_list_state_add(seen, key + 1000);
        }
        if (key % 5 == 0)
            rt_map_state_put(last, key % 7, key);
    }
    RtSnapshot *snap = rt_snapshot_new();
    snap->checkpoint_id = 7;
    snap->op = 2;
    snap->subtask = 1;
    snap->attempt = 3;
    snap->parallelism = 2;
    rt_keyed_state_store_snapshot(store, snap);
    rt_keyed_state_store_free(store);
    rt_snapshot_set_operator_state(snap, "source.offset", "\x01\x02\x03", 3);
    rt_snapshot_set_operator_state(snap, "empty", NULL, 0);
    rt_snapshot_set_channel_state(snap, "in-0", "abcdef", 6);
    return snap;
}

static void assert_equal_snapshots(const RtSnapshot *a, const RtSnapshot *b) {
    ck_assert_uint_eq(a->checkpoint_id, b->checkpoint_id);
    ck_assert_uint_eq(a->op, b->op);
    ck_assert_uint_eq(a->subtask, b->subtask);
    ck_assert_uint_eq(a->attempt, b->attempt);
    ck_assert_uint_eq(a->parallelism, b->parallelism);
    ck_assert_uint_eq(a->max_parallelism, b->max_parallelism);
    ck_assert_uint_eq(a->key_groups.start, b->key_groups.start);
    ck_assert_uint_eq(a->key_groups.end, b->key_groups.end);
    ck_assert_uint_eq(a->states->len, b->states->len);
    for (guint i = 0; i < a->states->len; i++) {
        const RtSnapshotState *x = g_ptr_array_index(a->states, i);
        const RtSnapshotState *y = g_ptr_array_index(b->states, i);
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert_uint_eq(x->rows->len, y->rows->len);
        ck_assert(memcmp(x->rows->data, y->rows->data, x->rows->len * sizeof(RtSnapshotRow)) ==
                  0);
    }
    ck_assert_uint_eq(a->operator_state->len, b->operator_state->len);
    ck_assert_uint_eq(a->channel_state->len, b->channel_state->len);
}

START_TEST(test_crc32c_vectors) {
    ck_assert_uint_eq(rt_crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(rt_crc32c(0, "", 0), 0);
    uint8_t zeros[32] = {0};
    ck_assert_uint_eq(rt_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    /* Incremental == whole. */
    const char *text = "the quick brown fox jumps over the lazy dog, twice over";
    size_t n = strlen(text);
    for (size_t cut = 0; cut <= n; cut++)
        ck_assert_uint_eq(rt_crc32c(rt_crc32c(0, text, cut), text + cut, n - cut),
                          rt_crc32c(0, text, n));
}
END_TEST

START_TEST(test_round_trip) {
    RtSnapshot *snap = sample();
    ck_assert_uint_gt(rt_snapshot_find_state(snap, "count")->rows->len, 10);
    GBytes *bytes = rt_snapshot_encode(snap);
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(bytes, &n);
    ck_assert(memcmp(d, RT_SNAPSHOT_MAGIC, 8) == 0);
    RtSnapshot *back = NULL;
    GError *err = NULL;
    ck_assert_msg(rt_snapshot_decode(d, n, &back, &err), "%s", err ? err->message : "");
    assert_equal_snapshots(snap, back);
    size_t len = 0;
    const uint8_t *off = rt_snapshot_get_operator_state(back, "source.offset", &len);
    ck_assert_uint_eq(len, 3);
    ck_assert_uint_eq(off[2], 3);
    ck_assert_ptr_nonnull(rt_snapshot_get_operator_state(back, "empty", &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(rt_snapshot_get_operator_state(back, "missing", &len));
    ck_assert(memcmp(rt_snapshot_get_channel_state(back, "in-0", &len), "abcdef", 6) == 0);
    uint64_t v = 0;
    for (uint64_t key = 0; key < 200; key++) {
        bool mine = rt_key_group_operator_index_for_key(key, MAXP, 2) == 1;
        ck_assert(rt_snapshot_lookup_value(back, "count", key, &v) == mine);
        if (mine)
            ck_assert_uint_eq(v, key * 3 + 1);
    }
    /* Re-encoding the decoded snapshot gives the same bytes; so does a copy. */
    GBytes *again = rt_snapshot_encode(back);
    ck_assert(g_bytes_equal(bytes, again));
    RtSnapshot *copy = rt_snapshot_copy(back);
    GBytes *third = rt_snapshot_encode(copy);
    ck_assert(g_bytes_equal(bytes, third));
    g_bytes_unref(third);
    g_bytes_unref(again);
    g_bytes_unref(bytes);
    rt_snapshot_free(copy);
    rt_snapshot_free(back);
    rt_snapshot_free(snap);
}
END_TEST

START_TEST(test_empty_snapshot) {
    RtSnapshot *snap = rt_snapshot_new(); /* a stateless operator */
    GBytes *bytes = rt_snapshot_encode(snap);
    gsize n = 0;
    const void *d = g_bytes_get_data(bytes, &n);
    RtSnapshot *back = NULL;
    ck_assert(rt_snapshot_decode(d, n, &back, NULL));
    ck_assert_uint_eq(back->states->len, 0);
    rt_snapshot_free(back);
    g_bytes_unref(bytes);
    rt_snapshot_free(snap);
}
END_TEST

START_TEST(test_every_truncation_detected) {
    RtSnapshot *snap = sample();
    GBytes *bytes = rt_snapshot_encode(snap);
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(bytes, &n);
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = g_memdup2(d, len > 0 ? len : 1);
        RtSnapshot *out = NULL;
        GError *err = NULL;
        ck_assert_msg(!rt_snapshot_decode(copy, len, &out, &err), "len %zu accepted", len);
        ck_assert_ptr_null(out);
        ck_assert(g_error_matches(err, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_TRUNCATED));
        ck_assert_ptr_nonnull(strstr(err->message, "truncated"));
        g_error_free(err);
        g_free(copy);
    }
    g_bytes_unref(bytes);
    rt_snapshot_free(snap);
}
END_TEST

START_TEST(test_every_bit_flip_detected) {
    RtSnapshot *snap = sample();
    GBytes *bytes = rt_snapshot_encode(snap);
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(bytes, &n);
    uint8_t *copy = g_memdup2(d, n);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            copy[i] ^= (uint8_t)(1u << bit);
            RtSnapshot *out = NULL;
            GError *err = NULL;
            ck_assert_msg(!rt_snapshot_decode(copy, n, &out, &err), "flip %zu.%d", i, bit);
            ck_assert(err != NULL && err->domain == RT_SNAPSHOT_ERROR);
            g_error_free(err);
            copy[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* Trailing garbage is also an error. */
    uint8_t *longer = g_malloc0(n + 1);
    memcpy(longer, d, n);
    RtSnapshot *out = NULL;
    ck_assert(!rt_snapshot_decode(longer, n + 1, &out, NULL));
    g_free(longer);
    g_free(copy);
    g_bytes_unref(bytes);
    rt_snapshot_free(snap);
}
END_TEST

/* Rewrites the trailing CRC so only the structural checks can catch a change. */
static void fix_crc(uint8_t *d, size_t n) {
    uint32_t crc = rt_crc32c(0, d, n - 4);
    for (int i = 0; i < 4; i++)
        d[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
}

START_TEST(test_bad_magic_version_checksum) {
    RtSnapshot *snap = sample();
    GBytes *bytes = rt_snapshot_encode(snap);
    gsize n = 0;
    const void *data = g_bytes_get_data(bytes, &n);
    uint8_t *d = g_memdup2(data, n);
    GError *err = NULL;
    RtSnapshot *out = NULL;

    d[8] = 2; /* version 2 */
    fix_crc(d, n);
    ck_assert(!rt_snapshot_decode(d, n, &out, &err));
    ck_assert(g_error_matches(err, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_BAD_VERSION));
    ck_assert_ptr_nonnull(strstr(err->message, "version 2"));
    g_clear_error(&err);
    d[8] = 1;

    d[0] = 'X';
    ck_assert(!rt_snapshot_decode(d, n, &out, &err));
    ck_assert(g_error_matches(err, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_BAD_MAGIC));
    g_clear_error(&err);
    d[0] = 'C';

    d[n / 2] ^= 0x40;
    ck_assert(!rt_snapshot_decode(d, n, &out, &err));
    ck_assert(g_error_matches(err, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_CHECKSUM));
    ck_assert_ptr_nonnull(strstr(err->message, "checksum mismatch"));
    g_clear_error(&err);
    d[n / 2] ^= 0x40;

    fix_crc(d, n);
    ck_assert(rt_snapshot_decode(d, n, &out, &err));
    rt_snapshot_free(out);
    g_free(d);
    g_bytes_unref(bytes);
    rt_snapshot_free(snap);
}
END_TEST

/* With the checksum recomputed, every single-byte change in the body must either be
 * rejected as corrupt or decode to a snapshot that re-encodes to exactly those bytes
 * (a change of a value, not of structure): never a crash, never a silent reshape. */
START_TEST(test_structural_checks_with_valid_crc) {
    RtSnapshot *snap = sample();
    GBytes *bytes = rt_snapshot_encode(snap);
    gsize n = 0;
    const uint8_t *orig = g_bytes_get_data(bytes, &n);
    uint8_t *d = g_memdup2(orig, n);
    int rejected = 0;
    for (size_t i = 20; i + 4 < n; i++) {
        d[i] ^= 0x81;
        fix_crc(d, n);
        RtSnapshot *out = NULL;
        GError *err = NULL;
        if (rt_snapshot_decode(d, n, &out, &err)) {
            GBytes *re = rt_snapshot_encode(out);
            GBytes *mine = g_bytes_new(d, n);
            ck_assert_msg(g_bytes_equal(re, mine), "byte %zu: decoded differently", i);
            g_bytes_unref(mine);
            g_bytes_unref(re);
            rt_snapshot_free(out);
        } else {
            ck_assert(err != NULL);
            g_error_free(err);
            rejected++;
        }
        memcpy(d, orig, n);
    }
    ck_assert_int_gt(rejected, 50);
    g_free(d);
    g_bytes_unref(bytes);
    rt_snapshot_free(snap);
}
END_TEST

static Suite *state_snapshot_suite(void) {
    Suite *s = suite_create("state_snapshot");
    TCase *tc = tcase_create("format");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_crc32c_vectors);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_empty_snapshot);
    tcase_add_test(tc, test_every_truncation_detected);
    tcase_add_test(tc, test_every_bit_flip_detected);
    tcase_add_test(tc, test_bad_magic_version_checksum);
    tcase_add_test(tc, test_structural_checks_with_valid_crc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(state_snapshot_suite());
}
