/* test_key_groups.c - Flink's KeyGroupRangeAssignment, bit-exact: murmur hash test
 * vectors (research/flink-zk.md section 4), key group -> subtask, ranges, the default
 * max parallelism rule, and the Long.hashCode mapping of our uint64_t keys. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/state/rt_key_groups.h"
#include "tests/support/test_check.h"

typedef struct Vector {
    int32_t hash_code;
    uint32_t murmur;
    uint32_t key_group; /* maxP = 128 */
    uint32_t subtask;   /* p = 4 */
} Vector;

static const Vector vectors[] = {
    {0, 593689054u, 94, 2},    {1, 68075478u, 86, 2},   {2, 1085422463u, 127, 3},
    {42, 1134849565u, 29, 0},  {-1, 1982413648u, 80, 2}, {1000, 3506311u, 7, 0},
    {99162322, 1715862179u, 35, 1}, /* String "hello" */
};

START_TEST(test_murmur_vectors) {
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const Vector *v = &vectors[i];
        ck_assert_uint_eq(rt_murmur_hash(v->hash_code), v->murmur);
        ck_assert_uint_eq(rt_key_group_for_hash(v->hash_code, 128), v->key_group);
        ck_assert_uint_eq(rt_key_group_operator_index(v->key_group, 128, 4), v->subtask);
    }
}
END_TEST

START_TEST(test_long_hash_code) {
    /* Long.hashCode: small non-negative values hash as themselves (= Integer). */
    ck_assert_int_eq(rt_key_hash_code(0), 0);
    ck_assert_int_eq(rt_key_hash_code(42), 42);
    ck_assert_int_eq(rt_key_hash_code(0x7fffffffu), INT32_MAX);
    /* (int)(v ^ v>>>32) for v = 2^31: 0x80000000 -> Integer.MIN_VALUE. */
    ck_assert_int_eq(rt_key_hash_code(0x80000000u), INT32_MIN);
    /* Long -1: 0xffffffff ^ 0xffffffff = 0. */
    ck_assert_int_eq(rt_key_hash_code(UINT64_MAX), 0);
    /* Long 2^32: low 0 ^ high 1 = 1. */
    ck_assert_int_eq(rt_key_hash_code(UINT64_C(1) << 32), 1);
    /* Long 0x00000001ffffffff: 0xffffffff ^ 1 = 0xfffffffe = -2. */
    ck_assert_int_eq(rt_key_hash_code(UINT64_C(0x1ffffffff)), -2);
    /* Keys route as Flink's Integer keys for small values. */
    ck_assert_uint_eq(rt_key_group_for_key(42, 128), 29);
    ck_assert_uint_eq(rt_key_group_for_key(1000, 128), 7);
    ck_assert_uint_eq(rt_key_group_operator_index_for_key(2, 128, 4), 3);
    /* Long -1 hashes as 0, so it lands where Integer 0 lands. */
    ck_assert_uint_eq(rt_key_group_for_key(UINT64_MAX, 128), 94);
}
END_TEST

START_TEST(test_murmur_min_value_and_range) {
    /* The result is always a non-negative Java int, for any input. */
    for (int64_t c = INT32_MIN; c <= INT32_MAX; c += 65537) {
        uint32_t h = rt_murmur_hash((int32_t)c);
        ck_assert_uint_lt(h, 0x80000000u);
    }
}
END_TEST

START_TEST(test_ranges_p4) {
    const uint32_t want[4][2] = {{0, 32}, {32, 64}, {64, 96}, {96, 128}};
    for (uint32_t i = 0; i < 4; i++) {
        RtKeyGroupRange r = rt_key_group_range_for_operator(128, 4, i);
        ck_assert_uint_eq(r.start, want[i][0]);
        ck_assert_uint_eq(r.end, want[i][1]);
    }
}
END_TEST

/* For many (maxP, p): ranges are contiguous, cover [0, maxP), and agree with the
 * key group -> operator index mapping (as Flink's assignment guarantees). */
START_TEST(test_ranges_consistent) {
    const uint32_t maxps[] = {1, 7, 128, 129, 1000, 32768};
    for (size_t m = 0; m < sizeof(maxps) / sizeof(maxps[0]); m++) {
        uint32_t maxp = maxps[m];
        for (uint32_t p = 1; p <= maxp && p <= 67; p++) {
            uint32_t next = 0;
            for (uint32_t i = 0; i < p; i++) {
                RtKeyGroupRange r = rt_key_group_range_for_operator(maxp, p, i);
                ck_assert_uint_eq(r.start, next);
                ck_assert_uint_gt(r.end, r.start);
                ck_assert_uint_eq(rt_key_group_operator_index(r.start, maxp, p), i);
                ck_assert_uint_eq(rt_key_group_operator_index(r.end - 1, maxp, p), i);
                next = r.end;
            }
            ck_assert_uint_eq(next, maxp);
        }
    }
}
END_TEST

START_TEST(test_default_max_parallelism) {
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(1), 128);
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(4), 128);
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(85), 128);  /* 127 -> 128 */
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(86), 256);  /* 129 -> 256 */
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(100), 256); /* 150 -> 256 */
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(1000), 2048);
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(21846), 32768);
    ck_assert_uint_eq(rt_key_groups_default_max_parallelism(30000), 32768);
}
END_TEST

START_TEST(test_intersect) {
    RtKeyGroupRange a = {10, 20}, b = {15, 30}, c = {20, 25};
    RtKeyGroupRange ab = rt_key_group_range_intersect(a, b);
    ck_assert_uint_eq(ab.start, 15);
    ck_assert_uint_eq(ab.end, 20);
    ck_assert_uint_eq(rt_key_group_range_size(rt_key_group_range_intersect(a, c)), 0);
    ck_assert(rt_key_group_range_contains(a, 10));
    ck_assert(!rt_key_group_range_contains(a, 20));
}
END_TEST

static Suite *key_groups_suite(void) {
    Suite *s = suite_create("key_groups");
    TCase *tc = tcase_create("assignment");
    tcase_add_test(tc, test_murmur_vectors);
    tcase_add_test(tc, test_long_hash_code);
    tcase_add_test(tc, test_murmur_min_value_and_range);
    tcase_add_test(tc, test_ranges_p4);
    tcase_add_test(tc, test_ranges_consistent);
    tcase_add_test(tc, test_default_max_parallelism);
    tcase_add_test(tc, test_intersect);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(key_groups_suite());
}
