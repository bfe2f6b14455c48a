/* test_state_backend_contract.c - the state backend contract, run against every
 * backend (hashmap, filesystem): asynchronous snapshot (done after return, exactly
 * once) -> handle -> restore round trip; corrupt and torn snapshots fail with an error;
 * clear/free cancel callbacks; discard. Then filesystem specifics on the test world's
 * crash model: atomic rename, I/O errors, crash before durability, and the planted
 * RT_BUG_ACK_BEFORE_FSYNC. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/state/rt_state_backend.h"
#include "tests/support/test_backend.h"
#include "tests/support/test_check.h"
#include "tests/support/test_env.h"

#define RUN_LIMIT 10000u

static const char *const backends[] = {"hashmap", "filesystem"};

static RtSnapshot *sample(uint64_t checkpoint_id) {
    return test_backend_sample(checkpoint_id, 300);
}

static RtSnapshotTarget target(uint64_t checkpoint_id) {
    RtSnapshotTarget t = {"word count", checkpoint_id, 1, 0, 2};
    return t;
}

static RtStateBackend *make(TestEnv *te, const char *type) {
    GError *err = NULL;
    RtStateBackend *b = rt_state_backend_new(type, test_env_rt(te), NULL, &err);
    ck_assert_msg(b != NULL, "%s", err ? err->message : "");
    ck_assert_str_eq(rt_state_backend_name(b), type);
    return b;
}

/* Takes a snapshot and runs the world until it is persisted; returns the handle. */
static RtStateHandle *persist(TestEnv *te, RtStateBackend *b, const RtSnapshot *snap) {
    TestBackendOutcome o = {0};
    RtSnapshotTarget t = target(snap->checkpoint_id);
    GError *err = NULL;
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, &err));
    ck_assert_int_eq(o.calls, 0); /* never before the call returns */
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_msg(o.error == NULL, "%s", o.error ? o.error->message : "");
    RtStateHandle *h = o.handle;
    o.handle = NULL;
    test_backend_outcome_clear(&o);
    return h;
}

/* Restores h; returns the snapshot, or NULL with *error set. */
static RtSnapshot *restore(TestEnv *te, RtStateBackend *b, const RtStateHandle *h,
                           GError **error) {
    TestBackendOutcome o = {0};
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &o, NULL));
    ck_assert_int_eq(o.calls, 0);
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(o.calls, 1);
    RtSnapshot *s = o.snapshot;
    o.snapshot = NULL;
    if (o.error != NULL)
        g_propagate_error(error, g_error_copy(o.error));
    test_backend_outcome_clear(&o);
    return s;
}

START_TEST(test_round_trip) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[_i]);
    RtSnapshot *snap = sample(3);
    RtStateHandle *h = persist(te, b, snap);
    ck_assert_str_eq(h->backend, backends[_i]);
    ck_assert_uint_eq(h->checkpoint_id, 3);
    ck_assert_uint_gt(h->size_bytes, 100);
    /* The handle survives its own encoding (it travels in the ack). */
    GBytes *wire = rt_state_handle_encode(h);
    gsize n = 0;
    const void *d = g_bytes_get_data(wire, &n);
    RtStateHandle *h2 = NULL;
    ck_assert(rt_state_handle_decode(d, n, &h2, NULL));
    ck_assert(rt_state_handle_equal(h, h2));
    g_bytes_unref(wire);
    /* Restore in a fresh backend of the same kind (another process after failover). */
    RtStateBackend *b2 = make(te, backends[_i]);
    GError *err = NULL;
    RtSnapshot *back = restore(te, b2, h2, &err);
    ck_assert_msg(back != NULL, "%s", err ? err->message : "");
    test_backend_assert_same(snap, back);
    uint64_t v = 0;
    ck_assert(rt_snapshot_lookup_value(back, "count", 17, &v));
    ck_assert_uint_eq(v, 51);
    rt_snapshot_free(back);
    rt_snapshot_free(snap);
    rt_state_handle_free(h);
    rt_state_handle_free(h2);
    rt_state_backend_free(b);
    rt_state_backend_free(b2);
    test_env_free(te);
}
END_TEST

/* Several snapshots in flight at once each complete exactly once with their own data,
 * while the caller goes on changing its state (the synchronous part copied it). */
START_TEST(test_concurrent_snapshots) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[_i]);
    TestBackendOutcome o[3] = {{0}};
    for (uint64_t id = 1; id <= 3; id++) {
        RtSnapshot *snap = sample(id);
        RtSnapshotTarget t = target(id);
        ck_assert(
            rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o[id - 1], NULL));
        rt_snapshot_free(snap); /* the backend must not need it any more */
    }
    test_env_run(te, RUN_LIMIT);
    for (uint64_t id = 1; id <= 3; id++) {
        ck_assert_int_eq(o[id - 1].calls, 1);
        ck_assert_ptr_nonnull(o[id - 1].handle);
        RtSnapshot *back = restore(te, b, o[id - 1].handle, NULL);
        ck_assert_ptr_nonnull(back);
        RtSnapshot *want = sample(id);
        test_backend_assert_same(want, back);
        rt_snapshot_free(want);
        rt_snapshot_free(back);
        test_backend_outcome_clear(&o[id - 1]);
    }
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

/* Makes a handle/storage pair whose data is corrupt: mode 0 flips a byte, mode 1 tears
 * the data to its first half, mode 2 makes it empty. Returns the handle to restore. */
static RtStateHandle *corrupt(TestEnv *te, const RtStateHandle *h, int mode) {
    GBytes *orig = h->inline_data != NULL ? h->inline_data : test_env_file_peek(te, h->location);
    ck_assert_ptr_nonnull(orig);
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(orig, &n);
    uint8_t *copy = g_memdup2(d, n);
    size_t len = mode == 0 ? n : mode == 1 ? n / 2 : 0;
    if (mode == 0)
        copy[n / 3] ^= 0x10;
    RtStateHandle *bad = rt_state_handle_copy(h);
    if (h->inline_data != NULL) {
        g_bytes_unref(bad->inline_data);
        bad->inline_data = g_bytes_new(copy, len);
    } else {
        test_env_file_put(te, h->location, copy, len);
    }
    g_free(copy);
    return bad;
}

START_TEST(test_corrupt_restore_fails) {
    int backend = _i / 3, mode = _i % 3;
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[backend]);
    RtSnapshot *snap = sample(4);
    RtStateHandle *h = persist(te, b, snap);
    RtStateHandle *bad = corrupt(te, h, mode);
    GError *err = NULL;
    RtSnapshot *back = restore(te, b, bad, &err);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(err);
    ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT));
    g_clear_error(&err);
    rt_state_handle_free(bad);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

/* A handle that matches its (corrupt) bytes still fails: the snapshot's own checks. */
START_TEST(test_consistent_but_garbled_handle_fails) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[_i]);
    RtSnapshot *snap = sample(5);
    RtStateHandle *h = persist(te, b, snap);
    RtStateHandle *bad = corrupt(te, h, 1);
    GBytes *torn = bad->inline_data != NULL ? bad->inline_data
                                            : test_env_file_peek(te, bad->location);
    gsize n = 0;
    const void *d = g_bytes_get_data(torn, &n);
    bad->size_bytes = n;
    bad->crc32c = rt_crc32c(0, d, n);
    GError *err = NULL;
    ck_assert_ptr_null(restore(te, b, bad, &err));
    ck_assert(g_error_matches(err, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_TRUNCATED));
    g_clear_error(&err);
    rt_state_handle_free(bad);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

START_TEST(test_clear_and_free_cancel) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[_i]);
    RtSnapshot *snap = sample(6);
    RtStateHandle *h = persist(te, b, snap);
    TestBackendOutcome o1 = {0}, o2 = {0}, o3 = {0};
    RtSnapshotTarget t = target(7);
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o1, NULL));
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &o2, NULL));
    rt_state_backend_clear(b);
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(o1.calls, 0);
    ck_assert_int_eq(o2.calls, 0);
    /* Still usable after clear. */
    RtSnapshot *back = restore(te, b, h, NULL);
    ck_assert_ptr_nonnull(back);
    rt_snapshot_free(back);
    /* Freed with an operation in flight: no callback, no use after free. */
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o3, NULL));
    rt_state_backend_free(b);
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(o3.calls, 0);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    test_env_free(te);
}
END_TEST

/* cancel(user_data) silences exactly the operations of that user_data. */
START_TEST(test_cancel_one_owner) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[_i]);
    RtSnapshot *snap = sample(14);
    RtStateHandle *h = persist(te, b, snap);
    TestBackendOutcome gone = {0}, gone2 = {0}, kept = {0};
    RtSnapshotTarget t = target(15);
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &gone, NULL));
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &kept, NULL));
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &gone, NULL));
    ck_assert(rt_state_backend_restore(b, h, test_backend_on_restore, &gone2, NULL));
    rt_state_backend_cancel(b, &gone);
    rt_state_backend_cancel(b, &gone2);
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(gone.calls, 0);
    ck_assert_int_eq(gone2.calls, 0);
    ck_assert_int_eq(kept.calls, 1);
    ck_assert_ptr_nonnull(kept.handle);
    test_backend_outcome_clear(&kept);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

START_TEST(test_discard) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[_i]);
    RtSnapshot *snap = sample(8);
    RtStateHandle *h = persist(te, b, snap);
    size_t files = test_env_file_count(te);
    rt_state_backend_discard(b, h);
    test_env_run(te, RUN_LIMIT);
    if (h->inline_data == NULL) { /* a file was deleted */
        ck_assert_uint_eq(test_env_file_count(te), files - 1);
        GError *err = NULL;
        ck_assert_ptr_null(restore(te, b, h, &err));
        ck_assert(g_error_matches(err, RT_STORAGE_ERROR, RT_STORAGE_ERROR_NOT_FOUND));
        g_clear_error(&err);
    } else {
        ck_assert_uint_eq(test_env_file_count(te), 0); /* hashmap writes no file */
    }
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

START_TEST(test_foreign_handle_rejected) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, backends[_i]);
    RtStateHandle *h = rt_state_handle_new("other", "x/y", 1, 10, 0, NULL);
    TestBackendOutcome o = {0};
    GError *err = NULL;
    ck_assert(!rt_state_backend_restore(b, h, test_backend_on_restore, &o, &err));
    ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE));
    g_clear_error(&err);
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(o.calls, 0); /* failed at once: the callback never runs */
    rt_state_handle_free(h);
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

/* ------------------------------------------------------------- factory */

START_TEST(test_factory) {
    TestEnv *te = test_env_new();
    RtConfig *cfg = rt_config_new();
    GError *err = NULL;
    RtStateBackend *b = rt_state_backend_new(NULL, test_env_rt(te), cfg, &err);
    ck_assert_str_eq(rt_state_backend_name(b), "hashmap"); /* the default */
    rt_state_backend_free(b);
    rt_config_set(cfg, "state.backend.type", "filesystem");
    b = rt_state_backend_new(NULL, test_env_rt(te), cfg, &err);
    ck_assert_str_eq(rt_state_backend_name(b), "filesystem");
    rt_state_backend_free(b);
    rt_config_set(cfg, "state.backend.type", "rocksdb");
    ck_assert_ptr_null(rt_state_backend_new(NULL, test_env_rt(te), cfg, &err));
    ck_assert(g_error_matches(err, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG));
    ck_assert_ptr_nonnull(strstr(err->message, "state.backend.type"));
    ck_assert_ptr_nonnull(strstr(err->message, "rocksdb"));
    g_clear_error(&err);
    rt_config_set(cfg, "state.checkpoints.dir", "a/../b");
    ck_assert_ptr_null(rt_state_backend_new("filesystem", test_env_rt(te), cfg, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "state.checkpoints.dir"));
    g_clear_error(&err);
    rt_config_set(cfg, "state.checkpoints.dir", "file:///data/ckpt/");
    b = rt_state_backend_new("filesystem", test_env_rt(te), cfg, &err);
    ck_assert_ptr_nonnull(b);
    RtSnapshot *snap = sample(9);
    RtStateHandle *h = persist(te, b, snap);
    ck_assert_str_eq(h->location, "data/ckpt/word_count/chk-9/1-0-2");
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    rt_config_free(cfg);
    test_env_free(te);
}
END_TEST

START_TEST(test_handle_decode_rejects_damage) {
    RtStateHandle *h = rt_state_handle_new("filesystem", "a/b", 3, 99, 0xdeadbeefu, NULL);
    GBytes *wire = rt_state_handle_encode(h);
    gsize n = 0;
    const uint8_t *d = g_bytes_get_data(wire, &n);
    for (size_t len = 0; len < n; len++) {
        RtStateHandle *out = NULL;
        ck_assert(!rt_state_handle_decode(d, len, &out, NULL));
    }
    uint8_t *copy = g_memdup2(d, n);
    for (size_t i = 0; i < n; i++) {
        copy[i] ^= 1;
        RtStateHandle *out = NULL;
        ck_assert(!rt_state_handle_decode(copy, n, &out, NULL));
        copy[i] ^= 1;
    }
    g_free(copy);
    g_bytes_unref(wire);
    rt_state_handle_free(h);
}
END_TEST

/* ---------------------------------------------------- filesystem specifics */

START_TEST(test_fs_atomic_layout) {
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, "filesystem");
    RtSnapshot *snap = sample(10);
    RtStateHandle *h = persist(te, b, snap);
    ck_assert_str_eq(h->location, "checkpoints/word_count/chk-10/1-0-2");
    ck_assert_ptr_nonnull(test_env_file_peek(te, h->location));
    char *tmp = g_strconcat(h->location, ".tmp", NULL);
    ck_assert_ptr_null(test_env_file_peek(te, tmp)); /* renamed away */
    g_free(tmp);
    ck_assert_uint_eq(test_env_file_count(te), 1);
    /* Acknowledged means durable: a crash right after changes nothing. */
    test_env_crash(te);
    RtSnapshot *back = restore(te, b, h, NULL);
    ck_assert_ptr_nonnull(back);
    test_backend_assert_same(snap, back);
    rt_snapshot_free(back);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

/* A crash at every point before completion: no handle was given, and the final path
 * holds nothing (or, never, a torn file). */
START_TEST(test_fs_crash_before_ack) {
    for (int steps = 0; steps < 4; steps++) {
        TestEnv *te = test_env_new();
        RtStateBackend *b = make(te, "filesystem");
        RtSnapshot *snap = sample(11);
        RtSnapshotTarget t = target(11);
        TestBackendOutcome o = {0};
        ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, NULL));
        for (int s = 0; s < steps; s++)
            ck_assert(test_env_step(te));
        ck_assert_int_eq(o.calls, 0);
        rt_state_backend_free(b); /* the process dies: its instance goes... */
        test_env_crash(te);       /* ...and so do its pending I/O and unsynced data */
        ck_assert_ptr_null(test_env_file_peek(te, "checkpoints/word_count/chk-11/1-0-2"));
        rt_snapshot_free(snap);
        test_env_free(te);
    }
}
END_TEST

START_TEST(test_fs_io_errors) {
    const TestEnvOp ops[] = {TEST_ENV_OP_WRITE, TEST_ENV_OP_FSYNC, TEST_ENV_OP_RENAME,
                             TEST_ENV_OP_FSYNC_DIR};
    const char *names[] = {"write", "fsync", "rename", "fsync_dir"};
    TestEnv *te = test_env_new();
    RtStateBackend *b = make(te, "filesystem");
    RtSnapshot *snap = sample(12);
    RtSnapshotTarget t = target(12);
    TestBackendOutcome o = {0};
    test_env_fail_next(te, ops[_i]);
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, NULL));
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(o.calls, 1);
    ck_assert_ptr_null(o.handle);
    ck_assert(g_error_matches(o.error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO));
    ck_assert_ptr_nonnull(strstr(o.error->message, names[_i]));
    test_backend_outcome_clear(&o);
    test_env_fail_next(te, TEST_ENV_OP_READ);
    RtStateHandle *h = persist(te, b, snap);
    GError *err = NULL;
    ck_assert_ptr_null(restore(te, b, h, &err));
    ck_assert(g_error_matches(err, RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO));
    g_clear_error(&err);
    rt_state_handle_free(h);
    rt_snapshot_free(snap);
    rt_state_backend_free(b);
    test_env_free(te);
}
END_TEST

/* RT_BUG_ACK_BEFORE_FSYNC: the handle arrives right after the write; a crash then
 * leaves a checkpoint whose file is missing. Restore must fail loudly, and the correct
 * backend (bug off) never acks in that state. */
START_TEST(test_fs_bug_ack_before_fsync) {
    TestEnv *te = test_env_new();
    test_env_rt(te)->bugs = RT_BUG_ACK_BEFORE_FSYNC;
    RtStateBackend *b = make(te, "filesystem");
    RtSnapshot *snap = sample(13);
    RtSnapshotTarget t = target(13);
    TestBackendOutcome o = {0};
    ck_assert(rt_state_backend_snapshot(b, &t, snap, test_backend_on_snapshot, &o, NULL));
    ck_assert(test_env_step(te)); /* the write completes */
    ck_assert_int_eq(o.calls, 1); /* ...and the bug acks at once */
    ck_assert_ptr_nonnull(o.handle);
    ck_assert_ptr_null(test_env_file_peek(te, o.handle->location));
    rt_state_backend_free(b);
    test_env_crash(te);
    RtStateBackend *b2 = make(te, "filesystem");
    GError *err = NULL;
    ck_assert_ptr_null(restore(te, b2, o.handle, &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    /* Without the crash the bug is invisible: the chain still finishes. */
    test_backend_outcome_clear(&o);
    ck_assert(rt_state_backend_snapshot(b2, &t, snap, test_backend_on_snapshot, &o, NULL));
    test_env_run(te, RUN_LIMIT);
    ck_assert_int_eq(o.calls, 1);
    RtSnapshot *back = restore(te, b2, o.handle, NULL);
    ck_assert_ptr_nonnull(back);
    rt_snapshot_free(back);
    test_backend_outcome_clear(&o);
    rt_snapshot_free(snap);
    rt_state_backend_free(b2);
    test_env_free(te);
}
END_TEST

static Suite *state_backend_contract_suite(void) {
    Suite *s = suite_create("state_backend_contract");
    int nb = (int)(sizeof(backends) / sizeof(backends[0]));
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_round_trip, 0, nb);
    tcase_add_loop_test(tc, test_concurrent_snapshots, 0, nb);
    tcase_add_loop_test(tc, test_corrupt_restore_fails, 0, nb * 3);
    tcase_add_loop_test(tc, test_consistent_but_garbled_handle_fails, 0, nb);
    tcase_add_loop_test(tc, test_clear_and_free_cancel, 0, nb);
    tcase_add_loop_test(tc, test_cancel_one_owner, 0, nb);
    tcase_add_loop_test(tc, test_discard, 0, nb);
    tcase_add_loop_test(tc, test_foreign_handle_rejected, 0, nb);
    tcase_add_test(tc, test_factory);
    tcase_add_test(tc, test_handle_decode_rejects_damage);
    suite_add_tcase(s, tc);
    TCase *fs = tcase_create("filesystem");
    tcase_set_timeout(fs, 60);
    tcase_add_test(fs, test_fs_atomic_layout);
    tcase_add_test(fs, test_fs_crash_before_ack);
    tcase_add_loop_test(fs, test_fs_io_errors, 0, 4);
    tcase_add_test(fs, test_fs_bug_ack_before_fsync);
    suite_add_tcase(s, fs);
    return s;
}

int main(void) {
    return test_check_run(state_backend_contract_suite());
}
