/* test_sink_format.c - the 2PC sink's compact transaction file format: exact
 * round-trips (extreme values, wrapping deltas, colliding delta slots), the encoder's
 * reuse after finish, the size of a typical transaction, and rejection of every
 * truncation, every single-bit flip and well-checksummed but malformed bodies.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/operators/rt_sink_format.h"
#include "runtime/state/rt_snapshot.h"
#include "tests/support/test_check.h"

static uint64_t xs(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void check_same(const RtRecord *a, const GArray *b, size_t n) {
    ck_assert_uint_eq(b->len, n);
    for (size_t i = 0; i < n; i++) {
        const RtRecord *r = &g_array_index(b, RtRecord, i);
        ck_assert_uint_eq(r->src, a[i].src);
        ck_assert_uint_eq(r->offset, a[i].offset);
        ck_assert_uint_eq(r->key, a[i].key);
        ck_assert_uint_eq(r->value, a[i].value);
        ck_assert_uint_eq(r->created_ns, a[i].created_ns);
    }
}

/* Random records, many with extreme fields: every field must come back exactly. */
START_TEST(test_roundtrip_extremes) {
    enum { N = 5000 };
    RtRecord *recs = g_new0(RtRecord, N);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < N; i++) {
        uint64_t r = xs(&s);
        recs[i].src = (r & 3u) == 0 ? UINT32_MAX - (uint32_t)(r >> 60) : (uint32_t)(r % 40u);
        recs[i].offset = (r & 4u) ? xs(&s) : (r & 8u) ? UINT64_MAX - i : i;
        recs[i].key = (r & 16u) ? UINT64_MAX : xs(&s);
        recs[i].value = (r & 32u) ? 0 : xs(&s);
        recs[i].created_ns = (r & 64u) ? xs(&s) : UINT64_MAX - (r & 0xffu);
    }
    GBytes *b = rt_sink_file_encode(7, 3, UINT64_MAX - 1, recs, N);
    size_t len = 0;
    const void *data = g_bytes_get_data(b, &len);
    GArray *out = NULL;
    RtSinkFileInfo info;
    GError *e = NULL;
    ck_assert(rt_sink_file_decode_info(data, len, &out, &info, &e));
    ck_assert_ptr_null(e);
    ck_assert_uint_eq(info.op, 7);
    ck_assert_uint_eq(info.subtask, 3);
    ck_assert_uint_eq(info.txn, UINT64_MAX - 1);
    ck_assert_uint_eq(info.n_records, N);
    check_same(recs, out, N);
    g_array_unref(out);
    g_bytes_unref(b);
    g_free(recs);
}
END_TEST

START_TEST(test_empty_file) {
    GBytes *b = rt_sink_file_encode(1, 2, 3, NULL, 0);
    size_t len = 0;
    const void *data = g_bytes_get_data(b, &len);
    ck_assert_uint_eq(len, 44); /* header and checksum only */
    GArray *out = NULL;
    ck_assert(rt_sink_file_decode(data, len, &out, NULL));
    ck_assert_uint_eq(out->len, 0);
    g_array_unref(out);
    g_bytes_unref(b);
}
END_TEST

/* A typical transaction (4 sources, consecutive offsets split over 4 sinks, created
 * 20 us apart, 1024 keys, each value its key's running count from ~10,000) takes at
 * most 10 bytes a record, and the encoder is reusable after finish (the delta state
 * restarts with the file). */
START_TEST(test_typical_size_and_reuse) {
    enum { N = 40000 };
    RtRecord *recs = g_new0(RtRecord, N);
    uint64_t s = 42, *counts = g_new0(uint64_t, 1024);
    for (size_t i = 0; i < N; i++) {
        recs[i].src = (uint32_t)(i % 4);
        recs[i].offset = 1000000 + (i / 4) * 4 + (xs(&s) % 4);
        recs[i].created_ns = 5000000000u + i * 20000u;
        recs[i].key = xs(&s) % 1024;
        recs[i].value = 10000 + ++counts[recs[i].key];
    }
    g_free(counts);
    RtSinkEncoder enc;
    rt_sink_encoder_init(&enc);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < N; i++)
            rt_sink_encoder_add(&enc, &recs[i]);
        ck_assert_uint_eq(rt_sink_encoder_count(&enc), N);
        ck_assert_uint_le(rt_sink_encoder_size_bytes(&enc), 40 + 10 * (size_t)N);
        GBytes *b = rt_sink_encoder_finish(&enc, 0, 0, (uint64_t)round);
        ck_assert_uint_eq(rt_sink_encoder_count(&enc), 0);
        size_t len = 0;
        const void *data = g_bytes_get_data(b, &len);
        ck_assert_uint_le(len, 44 + 10 * (size_t)N);
        GArray *out = NULL;
        RtSinkFileInfo info;
        ck_assert(rt_sink_file_decode_info(data, len, &out, &info, NULL));
        ck_assert_uint_eq(info.txn, (uint64_t)round);
        check_same(recs, out, N);
        g_array_unref(out);
        g_bytes_unref(b);
    }
    rt_sink_encoder_deinit(&enc);
    g_free(recs);
}
END_TEST

static GBytes *small_file(void) {
    RtRecord recs[3] = {{1, 10, 5, 1, 100}, {2, 7, 6, 1, 90}, {1, 11, 5, 2, 130}};
    return rt_sink_file_encode(4, 0, 9, recs, 3);
}

static void count_cb(void *ud, uint32_t index, const RtRecord *r) {
    (void)r;
    uint32_t *n = ud;
    ck_assert_uint_eq(index, *n);
    (*n)++;
}

/* Every proper prefix and every single-bit flip is refused, and the callback never runs
 * for a refused file. */
START_TEST(test_truncation_and_flips) {
    GBytes *b = small_file();
    size_t len = 0;
    const uint8_t *data = g_bytes_get_data(b, &len);
    uint8_t *copy = g_memdup2(data, len);
    for (size_t l = 0; l < len; l++) {
        uint32_t n = 0;
        GError *e = NULL;
        ck_assert(!rt_sink_file_foreach(copy, l, count_cb, &n, NULL, &e));
        ck_assert(e != NULL && e->domain == RT_SINK_FORMAT_ERROR);
        ck_assert_uint_eq(n, 0);
        g_error_free(e);
    }
    for (size_t bit = 0; bit < len * 8; bit++) {
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        uint32_t n = 0;
        ck_assert(!rt_sink_file_foreach(copy, len, count_cb, &n, NULL, NULL));
        ck_assert_uint_eq(n, 0);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    uint32_t n = 0;
    ck_assert(rt_sink_file_foreach(copy, len, count_cb, &n, NULL, NULL));
    ck_assert_uint_eq(n, 3);
    g_free(copy);
    g_bytes_unref(b);
}
END_TEST

static void reseal(uint8_t *p, size_t len) {
    uint32_t c = rt_crc32c(0, p, len - 4);
    for (int i = 0; i < 4; i++)
        p[len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
}

/* Malformed bodies with a valid checksum: wrong record count, an overlong varint. */
START_TEST(test_malformed_bodies) {
    GBytes *b = small_file();
    size_t len = 0;
    const uint8_t *data = g_bytes_get_data(b, &len);
    uint8_t *p = g_memdup2(data, len);
    GError *e = NULL;
    p[36] = 2; /* claims 2 records: bytes left over */
    reseal(p, len);
    ck_assert(!rt_sink_file_foreach(p, len, NULL, NULL, NULL, &e));
    ck_assert_int_eq(e->code, RT_SINK_FORMAT_ERROR_CORRUPT);
    g_clear_error(&e);
    p[36] = 4; /* claims 4: the body runs out */
    reseal(p, len);
    ck_assert(!rt_sink_file_foreach(p, len, NULL, NULL, NULL, &e));
    ck_assert_int_eq(e->code, RT_SINK_FORMAT_ERROR_CORRUPT);
    g_clear_error(&e);
    g_free(p);
    /* One record whose src varint never ends (11 continuation bytes). */
    size_t l2 = 40 + 15 + 4;
    uint8_t *q = g_malloc0(l2);
    memcpy(q, data, 40);
    for (int i = 0; i < 8; i++)
        q[12 + i] = (uint8_t)((uint64_t)l2 >> (8 * i));
    q[36] = 1;
    memset(q + 40, 0xff, 15);
    reseal(q, l2);
    ck_assert(!rt_sink_file_foreach(q, l2, NULL, NULL, NULL, &e));
    ck_assert_int_eq(e->code, RT_SINK_FORMAT_ERROR_CORRUPT);
    g_clear_error(&e);
    g_free(q);
    g_bytes_unref(b);
}
END_TEST

static Suite *sink_format_suite(void) {
    Suite *s = suite_create("sink_format");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_roundtrip_extremes);
    tcase_add_test(tc, test_empty_file);
    tcase_add_test(tc, test_typical_size_and_reuse);
    tcase_add_test(tc, test_truncation_and_flips);
    tcase_add_test(tc, test_malformed_bodies);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(sink_format_suite());
}
