/* test_ckpt_metadata.c - the checkpoint metadata codec: round trip, determinism, every
 * single-byte corruption and every truncation detected, order and limits validated,
 * and the path helpers. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "tests/support/test_check.h"

static RtCompletedCheckpoint *sample(void) {
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new("wordcount", 42, 1000, 5000, 3);
    const char *h[] = {"alpha", "", "a-much-longer-handle-with-bytes"};
    /* Added out of order: the checkpoint keeps them sorted. */
    RtSubtaskId ids[] = {{2, 1}, {0, 0}, {2, 0}};
    for (int i = 0; i < 3; i++) {
        GBytes *b = g_bytes_new(h[i], strlen(h[i]));
        rt_completed_checkpoint_add(cp, ids[i], 3, b);
        g_bytes_unref(b);
    }
    return cp;
}

START_TEST(test_round_trip) {
    RtCompletedCheckpoint *cp = sample();
    GBytes *enc = rt_ckpt_metadata_encode(cp);
    gsize len = 0;
    const uint8_t *data = g_bytes_get_data(enc, &len);
    ck_assert_int_eq(memcmp(data, RT_CKPT_METADATA_MAGIC, 8), 0);
    RtCompletedCheckpoint *back = NULL;
    GError *err = NULL;
    ck_assert_msg(rt_ckpt_metadata_decode(data, len, &back, &err), "%s",
                  err ? err->message : "");
    ck_assert_str_eq(back->job, "wordcount");
    ck_assert_uint_eq(back->checkpoint_id, 42);
    ck_assert_uint_eq(back->trigger_ns, 1000);
    ck_assert_uint_eq(back->complete_ns, 5000);
    ck_assert_uint_eq(back->attempt, 3);
    ck_assert_uint_eq(back->subtasks->len, 3);
    const RtCkptSubtaskState *s0 = &g_array_index(back->subtasks, RtCkptSubtaskState, 0);
    ck_assert_uint_eq(s0->subtask.op, 0);
    const RtCkptSubtaskState *s = rt_completed_checkpoint_find(back, (RtSubtaskId){2, 1});
    ck_assert_ptr_nonnull(s);
    ck_assert(g_bytes_equal(s->handle, rt_completed_checkpoint_find(cp, (RtSubtaskId){2, 1})
                                           ->handle));
    ck_assert_ptr_null(rt_completed_checkpoint_find(back, (RtSubtaskId){1, 0}));
    /* Deterministic: re-encoding gives the same bytes. */
    GBytes *again = rt_ckpt_metadata_encode(back);
    ck_assert(g_bytes_equal(enc, again));
    g_bytes_unref(again);
    g_bytes_unref(enc);
    rt_completed_checkpoint_free(back);
    rt_completed_checkpoint_free(cp);
}
END_TEST

START_TEST(test_corruption_detected) {
    RtCompletedCheckpoint *cp = sample();
    GBytes *enc = rt_ckpt_metadata_encode(cp);
    gsize len = 0;
    const uint8_t *data = g_bytes_get_data(enc, &len);
    uint8_t *copy = g_memdup2(data, len);
    for (gsize i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            copy[i] ^= (uint8_t)(1u << bit);
            RtCompletedCheckpoint *out = NULL;
            GError *err = NULL;
            ck_assert_msg(!rt_ckpt_metadata_decode(copy, len, &out, &err),
                          "flip at byte %zu not detected", (size_t)i);
            ck_assert_ptr_null(out);
            ck_assert_ptr_nonnull(err);
            g_clear_error(&err);
            copy[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (gsize cut = 0; cut < len; cut++) {
        RtCompletedCheckpoint *out = NULL;
        GError *err = NULL;
        ck_assert(!rt_ckpt_metadata_decode(copy, cut, &out, &err));
        ck_assert(g_error_matches(err, RT_CKPT_METADATA_ERROR, RT_CKPT_METADATA_ERROR_TRUNCATED));
        g_clear_error(&err);
    }
    g_free(copy);
    g_bytes_unref(enc);
    rt_completed_checkpoint_free(cp);
}
END_TEST

START_TEST(test_garbage_and_empty) {
    RtCompletedCheckpoint *out = NULL;
    GError *err = NULL;
    ck_assert(!rt_ckpt_metadata_decode(NULL, 0, &out, &err));
    g_clear_error(&err);
    const char junk[] = "CKMETAv1 but not really a metadata file at all";
    ck_assert(!rt_ckpt_metadata_decode(junk, sizeof junk, &out, &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    RtCompletedCheckpoint *empty = rt_completed_checkpoint_new("j", 1, 0, 0, 0);
    GBytes *enc = rt_ckpt_metadata_encode(empty);
    gsize len = 0;
    const void *d = g_bytes_get_data(enc, &len);
    ck_assert(rt_ckpt_metadata_decode(d, len, &out, NULL));
    ck_assert_uint_eq(out->subtasks->len, 0);
    rt_completed_checkpoint_free(out);
    g_bytes_unref(enc);
    rt_completed_checkpoint_free(empty);
}
END_TEST

START_TEST(test_paths) {
    char *p = rt_ckpt_metadata_path("checkpoints", "word count/1", 7);
    ck_assert_str_eq(p, "checkpoints/word_count_1/chk-7/_metadata");
    g_free(p);
    uint64_t id = 0;
    ck_assert(rt_ckpt_parse_dir_name("chk-12", &id));
    ck_assert_uint_eq(id, 12);
    ck_assert(!rt_ckpt_parse_dir_name("chk-0", &id));
    ck_assert(!rt_ckpt_parse_dir_name("chk-", &id));
    ck_assert(!rt_ckpt_parse_dir_name("chk-1x", &id));
    ck_assert(!rt_ckpt_parse_dir_name("shared", &id));
}
END_TEST

static Suite *metadata_suite(void) {
    Suite *s = suite_create("ckpt_metadata");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_corruption_detected);
    tcase_add_test(tc, test_garbage_and_empty);
    tcase_add_test(tc, test_paths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(metadata_suite());
}
