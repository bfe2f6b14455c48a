/* test_ckpt_store.c - the completed-checkpoint store and ID counter in durable storage
 * (tests/support TestEnv with its crash model): ids start at 1 and strictly increase
 * across restarts and crashes; checkpoints survive a restart; an unreadable checkpoint
 * fails recovery loudly; an unpublished one is not recovered; write failures are
 * classified (failed vs possibly persisted); subsumption keeps the latest. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ha/rt_ckpt_store_fs.h"
#include "tests/support/test_env.h"
#include "tests/support/test_check.h"

typedef struct Result {
    int calls;
    uint64_t id;
    GError *error;
} Result;

static void on_done(void *ud, GError *error) {
    Result *r = ud;
    r->calls++;
    g_clear_error(&r->error);
    r->error = error;
}

static void on_id(void *ud, uint64_t id, GError *error) {
    Result *r = ud;
    r->calls++;
    r->id = id;
    g_clear_error(&r->error);
    r->error = error;
}

static void run(TestEnv *te) {
    test_env_run(te, 100000);
}

static RtCkptIdCounter *counter_started(TestEnv *te) {
    RtCkptIdCounter *c = rt_ckpt_id_counter_fs_new(test_env_rt(te), "ck", "job");
    Result r = {0};
    ck_assert(rt_ckpt_id_counter_start(c, on_done, &r, NULL));
    ck_assert_int_eq(r.calls, 0); /* never before the call returns */
    run(te);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_ptr_null(r.error);
    return c;
}

static uint64_t next_id(TestEnv *te, RtCkptIdCounter *c) {
    Result r = {0};
    ck_assert(rt_ckpt_id_counter_get_and_increment(c, on_id, &r, NULL));
    run(te);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_ptr_null(r.error);
    return r.id;
}

START_TEST(test_counter_monotonic_across_restart) {
    TestEnv *te = test_env_new();
    RtCkptIdCounter *c = counter_started(te);
    ck_assert_uint_eq(next_id(te, c), 1);
    ck_assert_uint_eq(next_id(te, c), 2);
    ck_assert_uint_eq(next_id(te, c), 3);
    rt_ckpt_id_counter_free(c);
    test_env_crash(te); /* the JM process dies; durable data stays */
    c = counter_started(te);
    ck_assert_uint_eq(next_id(te, c), 4);
    /* Crash in the middle of an increment: the id was never handed out, and no id
     * already handed out is ever handed out again. */
    Result r = {0};
    ck_assert(rt_ckpt_id_counter_get_and_increment(c, on_id, &r, NULL));
    test_env_step(te);
    rt_ckpt_id_counter_free(c);
    test_env_crash(te);
    c = counter_started(te);
    uint64_t id = next_id(te, c);
    ck_assert_uint_ge(id, 5);
    rt_ckpt_id_counter_set_floor(c, 100);
    ck_assert_uint_eq(next_id(te, c), 100);
    ck_assert_uint_eq(next_id(te, c), 101);
    rt_ckpt_id_counter_free(c);
    test_env_free(te);
}
END_TEST

static RtCompletedCheckpoint *make_cp(uint64_t id) {
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new("job", id, id * 10, id * 10 + 5, 1);
    for (uint16_t op = 0; op < 2; op++) {
        char buf[16];
        g_snprintf(buf, sizeof buf, "h%u-%u", op, (unsigned)id);
        GBytes *b = g_bytes_new(buf, strlen(buf));
        rt_completed_checkpoint_add(cp, (RtSubtaskId){op, 0}, 1, b);
        g_bytes_unref(b);
    }
    return cp;
}

static void discard_count(void *ud, const RtCompletedCheckpoint *cp) {
    (void)cp;
    (*(int *)ud)++;
}

static RtCkptStore *store_recovered(TestEnv *te, uint32_t retained, int *discards,
                                    GError **error) {
    RtCkptStore *s = rt_ckpt_store_fs_new(test_env_rt(te), "ck", "job", retained,
                                          discard_count, discards);
    Result r = {0};
    ck_assert(rt_ckpt_store_recover(s, on_done, &r, NULL));
    run(te);
    ck_assert_int_eq(r.calls, 1);
    *error = r.error;
    return s;
}

/* Issues ids through the counter (as the coordinator does) and publishes them. */
static void publish(TestEnv *te, RtCkptIdCounter *c, RtCkptStore *s, int n) {
    for (int i = 0; i < n; i++) {
        uint64_t id = next_id(te, c);
        Result r = {0};
        ck_assert(rt_ckpt_store_add(s, make_cp(id), on_done, &r, NULL));
        run(te);
        ck_assert_int_eq(r.calls, 1);
        ck_assert_ptr_null(r.error);
        ck_assert_uint_eq(rt_ckpt_store_latest(s)->checkpoint_id, id);
    }
}

START_TEST(test_store_survives_restart) {
    TestEnv *te = test_env_new();
    int discards = 0;
    GError *err = NULL;
    RtCkptIdCounter *c = counter_started(te);
    RtCkptStore *s = store_recovered(te, 2, &discards, &err);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(rt_ckpt_store_count(s), 0);
    publish(te, c, s, 4);
    ck_assert_uint_eq(rt_ckpt_store_count(s), 2);
    ck_assert_int_eq(discards, 2);
    char *loc = rt_ckpt_store_location(s, 4);
    ck_assert_str_eq(loc, "ck/job/chk-4/_metadata");
    ck_assert_ptr_nonnull(test_env_file_peek(te, loc));
    g_free(loc);
    rt_ckpt_store_free(s);
    rt_ckpt_id_counter_free(c);
    test_env_crash(te);
    s = store_recovered(te, 2, &discards, &err);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(rt_ckpt_store_count(s), 2);
    ck_assert_uint_eq(rt_ckpt_store_get(s, 0)->checkpoint_id, 3);
    const RtCompletedCheckpoint *latest = rt_ckpt_store_latest(s);
    ck_assert_uint_eq(latest->checkpoint_id, 4);
    ck_assert_uint_eq(latest->trigger_ns, 40);
    ck_assert_uint_eq(latest->subtasks->len, 2);
    rt_ckpt_store_free(s);
    test_env_free(te);
}
END_TEST

START_TEST(test_unreadable_checkpoint_fails_recovery) {
    TestEnv *te = test_env_new();
    int discards = 0;
    GError *err = NULL;
    RtCkptIdCounter *c = counter_started(te);
    RtCkptStore *s = store_recovered(te, 3, &discards, &err);
    publish(te, c, s, 3);
    rt_ckpt_store_free(s);
    /* Garble checkpoint 2's metadata: recovery must refuse, not skip it. */
    GBytes *b = test_env_file_peek(te, "ck/job/chk-2/_metadata");
    ck_assert_ptr_nonnull(b);
    GByteArray *copy = g_byte_array_new();
    gsize len = 0;
    const guint8 *orig = g_bytes_get_data(b, &len);
    g_byte_array_append(copy, orig, (guint)len);
    ck_assert_uint_gt(copy->len, 16);
    copy->data[copy->len / 2] ^= 0x40;
    test_env_file_put(te, "ck/job/chk-2/_metadata", copy->data, copy->len);
    s = store_recovered(te, 3, &discards, &err);
    ck_assert(g_error_matches(err, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE));
    ck_assert_ptr_nonnull(strstr(err->message, "chk-2"));
    g_clear_error(&err);
    rt_ckpt_store_free(s);
    /* A corrupt counter file fails loudly too. */
    test_env_file_put(te, "ck/job/chk-2/_metadata", "x", 1);
    test_env_file_put(te, "ck/job/checkpoint-counter", "garbage", 7);
    s = store_recovered(te, 3, &discards, &err);
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    rt_ckpt_store_free(s);
    rt_ckpt_id_counter_free(c);
    g_byte_array_unref(copy);
    test_env_free(te);
}
END_TEST

START_TEST(test_unpublished_not_recovered) {
    TestEnv *te = test_env_new();
    int discards = 0;
    GError *err = NULL;
    RtCkptIdCounter *c = counter_started(te);
    RtCkptStore *s = store_recovered(te, 3, &discards, &err);
    publish(te, c, s, 1);
    uint64_t id = next_id(te, c);
    Result r = {0};
    ck_assert(rt_ckpt_store_add(s, make_cp(id), on_done, &r, NULL));
    test_env_step(te); /* the temp write only */
    rt_ckpt_store_free(s);
    rt_ckpt_id_counter_free(c);
    test_env_crash(te);
    s = store_recovered(te, 3, &discards, &err);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(rt_ckpt_store_count(s), 1);
    ck_assert_uint_eq(rt_ckpt_store_latest(s)->checkpoint_id, 1);
    rt_ckpt_store_free(s);
    test_env_free(te);
}
END_TEST

static void check_failure(TestEnvOp op, RtCkptStoreError expected) {
    TestEnv *te = test_env_new();
    int discards = 0;
    GError *err = NULL;
    RtCkptIdCounter *c = counter_started(te);
    RtCkptStore *s = store_recovered(te, 1, &discards, &err);
    publish(te, c, s, 1);
    uint64_t id = next_id(te, c);
    test_env_fail_next(te, op);
    Result r = {0};
    ck_assert(rt_ckpt_store_add(s, make_cp(id), on_done, &r, NULL));
    run(te);
    ck_assert_int_eq(r.calls, 1);
    ck_assert(g_error_matches(r.error, RT_CKPT_STORE_ERROR, (gint)expected));
    g_clear_error(&r.error);
    /* The failed one is not in the store; the previous one is kept. */
    ck_assert_uint_eq(rt_ckpt_store_count(s), 1);
    ck_assert_uint_eq(rt_ckpt_store_latest(s)->checkpoint_id, 1);
    ck_assert_int_eq(discards, 0);
    publish(te, c, s, 1); /* the store still works */
    ck_assert_uint_eq(rt_ckpt_store_count(s), 1);
    rt_ckpt_store_free(s);
    rt_ckpt_id_counter_free(c);
    test_env_free(te);
}

START_TEST(test_write_failures_classified) {
    check_failure(TEST_ENV_OP_WRITE, RT_CKPT_STORE_ERROR_FAILED);
    check_failure(TEST_ENV_OP_FSYNC, RT_CKPT_STORE_ERROR_FAILED);
    check_failure(TEST_ENV_OP_RENAME, RT_CKPT_STORE_ERROR_POSSIBLY_PERSISTED);
    check_failure(TEST_ENV_OP_FSYNC_DIR, RT_CKPT_STORE_ERROR_POSSIBLY_PERSISTED);
}
END_TEST

static Suite *store_suite(void) {
    Suite *s = suite_create("ckpt_store");
    TCase *tc = tcase_create("fs");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_counter_monotonic_across_restart);
    tcase_add_test(tc, test_store_survives_restart);
    tcase_add_test(tc, test_unreadable_checkpoint_fails_recovery);
    tcase_add_test(tc, test_unpublished_not_recovered);
    tcase_add_test(tc, test_write_failures_classified);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(store_suite());
}
