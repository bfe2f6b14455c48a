/* test_bytes.c - runtime/env/rt_bytes: the little-endian layout byte by byte, LEB128
 * varints (known encodings, the 10-byte limit, truncation), and the bounded reader's
 * contract: a short read or a rejection fails it once, the first failure is the one kept,
 * and later reads return zero without moving. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"
#include "tests/support/test_check.h"

START_TEST(test_le_layout) {
    uint8_t b[8];
    rt_bytes_store_u16(b, 0x0102u);
    ck_assert_uint_eq(b[0], 0x02);
    ck_assert_uint_eq(b[1], 0x01);
    rt_bytes_store_u32(b, 0x01020304u);
    ck_assert_mem_eq(b, "\x04\x03\x02\x01", 4);
    ck_assert_uint_eq(rt_bytes_load_u32(b), 0x01020304u);
    rt_bytes_store_u64(b, UINT64_C(0x0102030405060708));
    ck_assert_mem_eq(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    ck_assert_uint_eq(rt_bytes_load_u64(b), UINT64_C(0x0102030405060708));
    ck_assert_uint_eq(rt_bytes_load_u16(b), 0x0708u);
    rt_bytes_store_u64(b, UINT64_MAX);
    ck_assert_uint_eq(rt_bytes_load_u64(b), UINT64_MAX);
}
END_TEST

START_TEST(test_put_and_patch) {
    GByteArray *a = g_byte_array_new();
    rt_bytes_put_u8(a, 0xab);
    rt_bytes_put_u16(a, 0xcdefu);
    rt_bytes_put_u32(a, 0);
    rt_bytes_put_u64(a, 0);
    ck_assert_uint_eq(a->len, 15);
    rt_bytes_patch_u32(a, 3, 0x11223344u);
    rt_bytes_patch_u64(a, 7, UINT64_C(0x8877665544332211));
    ck_assert_mem_eq(a->data, "\xab\xef\xcd\x44\x33\x22\x11\x11\x22\x33\x44\x55\x66\x77\x88",
                     15);
    g_byte_array_unref(a);
}
END_TEST

typedef struct VarintVector {
    uint64_t value;
    const char *bytes;
    size_t len;
} VarintVector;

static const VarintVector varints[] = {
    {0, "\x00", 1},
    {1, "\x01", 1},
    {127, "\x7f", 1},
    {128, "\x80\x01", 2},
    {300, "\xac\x02", 2},
    {UINT32_MAX, "\xff\xff\xff\xff\x0f", 5},
    {UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10},
};

START_TEST(test_varint_vectors) {
    const VarintVector *v = &varints[_i];
    uint8_t buf[RT_BYTES_VARINT_MAX_BYTES];
    uint8_t *end = rt_bytes_store_varint(buf, v->value);
    ck_assert_uint_eq((size_t)(end - buf), v->len);
    ck_assert_mem_eq(buf, v->bytes, v->len);
    const uint8_t *p = buf;
    uint64_t back = 1234;
    ck_assert(rt_bytes_load_varint(&p, end, &back));
    ck_assert_uint_eq(back, v->value);
    ck_assert_ptr_eq(p, end);
    /* Every proper prefix is truncated. */
    for (size_t n = 0; n < v->len; n++) {
        p = buf;
        ck_assert(!rt_bytes_load_varint(&p, buf + n, &back));
    }
}
END_TEST

START_TEST(test_varint_too_long) {
    /* A tenth byte above 1 carries bits beyond 64; an eleventh byte is never read. */
    const uint8_t over[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0x00};
    const uint8_t *p = over;
    uint64_t v = 0;
    ck_assert(!rt_bytes_load_varint(&p, over + sizeof over, &v));
    p = eleven;
    ck_assert(!rt_bytes_load_varint(&p, eleven + sizeof eleven, &v));
}
END_TEST

START_TEST(test_reader_reads_in_order) {
    const uint8_t d[] = {1, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 'x', 'y'};
    RtBytesReader r;
    rt_bytes_reader_init(&r, d, sizeof d);
    ck_assert_uint_eq(rt_bytes_get_u8(&r, "a"), 1);
    ck_assert_uint_eq(rt_bytes_get_u16(&r, "b"), 2);
    ck_assert_uint_eq(rt_bytes_get_u32(&r, "c"), 3);
    ck_assert_uint_eq(rt_bytes_get_u64(&r, "d"), 4);
    ck_assert_uint_eq(rt_bytes_reader_left(&r), 2);
    const uint8_t *s = rt_bytes_get_span(&r, 2, "e");
    ck_assert_ptr_eq(s, d + 15);
    ck_assert(rt_bytes_reader_ok(&r));
    ck_assert_uint_eq(rt_bytes_reader_left(&r), 0);
    /* An empty span at the end is fine; an empty input too. */
    ck_assert_ptr_nonnull(rt_bytes_get_span(&r, 0, "f"));
    rt_bytes_reader_init(&r, NULL, 0);
    ck_assert(rt_bytes_reader_need(&r, 0, "g"));
    ck_assert(!rt_bytes_reader_need(&r, 1, "h"));
}
END_TEST

START_TEST(test_reader_short_read_sticks) {
    const uint8_t d[] = {1, 2, 3, 4, 5, 6};
    RtBytesReader r;
    rt_bytes_reader_init(&r, d, sizeof d);
    ck_assert_uint_eq(rt_bytes_get_u32(&r, "first"), 0x04030201u);
    ck_assert_uint_eq(rt_bytes_get_u32(&r, "second"), 0);
    ck_assert(!rt_bytes_reader_ok(&r));
    ck_assert_uint_eq(r.pos, 4); /* a failed read does not move */
    ck_assert_uint_eq(r.failure.at_bytes, 4);
    ck_assert_uint_eq(r.failure.need_bytes, 4);
    ck_assert_uint_eq(r.failure.have_bytes, 2);
    ck_assert_str_eq(r.failure.what, "second");
    /* Later reads return zero and keep the first failure, even ones that would fit. */
    ck_assert_uint_eq(rt_bytes_get_u8(&r, "third"), 0);
    ck_assert_ptr_null(rt_bytes_get_span(&r, 1, "fourth"));
    ck_assert(!rt_bytes_reader_reject(&r, 0, 7, "rejected", 9));
    ck_assert_str_eq(r.failure.what, "second");
    ck_assert_int_eq(r.failure.code, 0);
    ck_assert_uint_eq(r.pos, 4);
}
END_TEST

START_TEST(test_reader_reject) {
    const uint8_t d[] = {200, 0};
    RtBytesReader r;
    rt_bytes_reader_init(&r, d, sizeof d);
    uint8_t v = rt_bytes_get_u8(&r, "count");
    ck_assert(!rt_bytes_reader_reject(&r, 0, 3, "count too large", v));
    ck_assert(!rt_bytes_reader_ok(&r));
    ck_assert_uint_eq(r.failure.at_bytes, 0);
    ck_assert_uint_eq(r.failure.need_bytes, 0);
    ck_assert_int_eq(r.failure.code, 3);
    ck_assert_uint_eq(r.failure.value, 200);
    ck_assert_str_eq(r.failure.what, "count too large");
    /* A short read after a rejection does not replace it. */
    ck_assert_uint_eq(rt_bytes_get_u64(&r, "more"), 0);
    ck_assert_str_eq(r.failure.what, "count too large");
}
END_TEST

static Suite *bytes_suite(void) {
    Suite *s = suite_create("bytes");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_le_layout);
    tcase_add_test(tc, test_put_and_patch);
    tcase_add_loop_test(tc, test_varint_vectors, 0, (int)(sizeof varints / sizeof varints[0]));
    tcase_add_test(tc, test_varint_too_long);
    tcase_add_test(tc, test_reader_reads_in_order);
    tcase_add_test(tc, test_reader_short_read_sticks);
    tcase_add_test(tc, test_reader_reject);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(bytes_suite());
}
