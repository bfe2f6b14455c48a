/* test_storage_contract.c - one contract for RtStorage, run against the simulated disk
 * (sim/world/sim_storage, driven by the kernel) and the POSIX storage
 * (runtime/live/rt_live_storage, in a mkdtemp directory, driven by a GMainContext).
 * The simulation is only worth what it agrees with reality on: every contract test is
 * a loop test over both implementations (_i: 0 = sim, 1 = posix).
 *
 * Then the crash semantics only the simulation has: unsynced data lost, a torn write,
 * a rename not durable before fsync_dir, injected EIO and ENOSPC, pending operations
 * forgotten by a crash.
 */
#include <check.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_env.h"
#include "runtime/live/rt_live_storage.h"
#include "sim/core/sim_kernel.h"
#include "sim/world/sim_storage.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

/* ------------------------------------------------------------ the two worlds */

typedef struct Impl {
    int kind; /* 0 sim, 1 posix */
    SimKernel *k;
    SimStorage *sim;
    GMainContext *ctx;
    RtLiveStorage *live;
    char *dir;
    RtStorage *st;
} Impl;

static Impl impl;
static bool in_call;        /* true while a storage call is on the stack */
static int early_callbacks; /* callbacks that ran before their call returned */

static void impl_setup_sim(const SimStorageConfig *cfg) {
    memset(&impl, 0, sizeof impl);
    impl.kind = 0;
    impl.k = sim_kernel_new();
    impl.sim = sim_storage_new(impl.k, 42, cfg, NULL, NULL);
    impl.st = sim_storage_client(impl.sim, 0);
}

static void impl_setup(int kind) {
    early_callbacks = 0;
    if (kind == 0) {
        SimStorageConfig cfg;
        sim_storage_config_init(&cfg);
        impl_setup_sim(&cfg);
        return;
    }
    memset(&impl, 0, sizeof impl);
    impl.kind = 1;
    impl.dir = g_dir_make_tmp("ckptsim-storage-XXXXXX", NULL);
    ck_assert_ptr_nonnull(impl.dir);
    impl.ctx = g_main_context_new();
    GError *err = NULL;
    impl.live = rt_live_storage_new(impl.ctx, impl.dir, &err);
    ck_assert_msg(impl.live != NULL, "%s", err ? err->message : "?");
    impl.st = rt_live_storage_get(impl.live);
}

static void impl_teardown(void) {
    if (impl.kind == 0) {
        sim_storage_free(impl.sim);
        sim_kernel_free(impl.k);
    } else {
        rt_live_storage_free(impl.live);
        g_main_context_unref(impl.ctx);
        test_proc_remove_tree(impl.dir);
        g_free(impl.dir);
    }
    ck_assert_int_eq(early_callbacks, 0);
}

/* Runs the world until *pending is 0 (bounded). */
static void impl_drive(int *pending) {
    for (int i = 0; i < 1000000 && *pending > 0; i++) {
        if (impl.kind == 0)
            ck_assert_msg(sim_kernel_step(impl.k), "no event left but %d pending", *pending);
        else
            g_main_context_iteration(impl.ctx, FALSE);
    }
    ck_assert_int_eq(*pending, 0);
}

/* ------------------------------------------------------------ synchronous helpers */

typedef struct Result {
    int pending;
    int calls;
    GError *error;
    GBytes *data;
    char **names;
} Result;

static void result_clear(Result *r) {
    if (r->error != NULL)
        g_error_free(r->error);
    if (r->data != NULL)
        g_bytes_unref(r->data);
    g_strfreev(r->names);
    memset(r, 0, sizeof *r);
}

static void on_done(void *ud, GError *error) {
    Result *r = ud;
    if (in_call)
        early_callbacks++;
    r->calls++;
    r->pending--;
    r->error = error;
}

static void on_read(void *ud, const void *data, size_t len, GError *error) {
    Result *r = ud;
    if (in_call)
        early_callbacks++;
    r->calls++;
    r->pending--;
    r->error = error;
    if (error == NULL) {
        ck_assert_ptr_nonnull(data);
        r->data = g_bytes_new(data, len);
    } else {
        ck_assert_ptr_null(data);
    }
}

static void on_list(void *ud, const char *const *names, GError *error) {
    Result *r = ud;
    if (in_call)
        early_callbacks++;
    r->calls++;
    r->pending--;
    r->error = error;
    if (error == NULL)
        r->names = g_strdupv((char **)names);
}

/* Each returns the completion's error code, or -1 for success. */
static int code_of(Result *r) {
    int code = r->error != NULL ? r->error->code : -1;
    ck_assert_int_eq(r->calls, 1);
    return code;
}

static int do_write(const char *path, const char *text) {
    Result r = {.pending = 1};
    in_call = true;
    bool ok = rt_storage_write(impl.st, path, text, strlen(text), on_done, &r, NULL);
    in_call = false;
    ck_assert(ok);
    impl_drive(&r.pending);
    int code = code_of(&r);
    result_clear(&r);
    return code;
}

typedef bool (*PathOp)(RtStorage *, const char *, RtStorageDoneFunc, void *, GError **);

static int do_path_op(PathOp op, const char *path) {
    Result r = {.pending = 1};
    in_call = true;
    bool ok = op(impl.st, path, on_done, &r, NULL);
    in_call = false;
    ck_assert(ok);
    impl_drive(&r.pending);
    int code = code_of(&r);
    if (r.error != NULL)
        ck_assert_msg(strstr(r.error->message, path) != NULL, "message '%s' lacks the path",
                      r.error->message);
    result_clear(&r);
    return code;
}

static int do_rename(const char *from, const char *to) {
    Result r = {.pending = 1};
    in_call = true;
    bool ok = rt_storage_rename(impl.st, from, to, on_done, &r, NULL);
    in_call = false;
    ck_assert(ok);
    impl_drive(&r.pending);
    int code = code_of(&r);
    result_clear(&r);
    return code;
}

/* Reads path; returns a new string with its content, or NULL with *code set. */
static char *do_read(const char *path, int *code) {
    Result r = {.pending = 1};
    in_call = true;
    bool ok = rt_storage_read(impl.st, path, on_read, &r, NULL);
    in_call = false;
    ck_assert(ok);
    impl_drive(&r.pending);
    *code = code_of(&r);
    char *s = NULL;
    if (r.data != NULL) {
        size_t n = 0;
        const char *p = g_bytes_get_data(r.data, &n);
        s = n > 0 ? g_strndup(p, n) : g_strdup(""); /* GBytes of 0 bytes has NULL data */
    }
    if (r.error != NULL)
        ck_assert_msg(strstr(r.error->message, path) != NULL, "message '%s' lacks the path",
                      r.error->message);
    result_clear(&r);
    return s;
}

/* Lists dir; returns the names joined by ',' (new string). */
static char *do_list(const char *dir) {
    Result r = {.pending = 1};
    in_call = true;
    bool ok = rt_storage_list(impl.st, dir, on_list, &r, NULL);
    in_call = false;
    ck_assert(ok);
    impl_drive(&r.pending);
    ck_assert_int_eq(code_of(&r), -1);
    char *s = g_strjoinv(",", r.names);
    result_clear(&r);
    return s;
}

static void assert_content(const char *path, const char *want) {
    int code = 0;
    char *got = do_read(path, &code);
    ck_assert_int_eq(code, -1);
    ck_assert_str_eq(got, want);
    g_free(got);
}

static void assert_missing(const char *path) {
    int code = 0;
    char *got = do_read(path, &code);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(code, RT_STORAGE_ERROR_NOT_FOUND);
}

/* ------------------------------------------------------------ the contract */

START_TEST(test_write_read) {
    impl_setup(_i);
    ck_assert_int_eq(do_write("a/b/file.txt", "hello"), -1);
    assert_content("a/b/file.txt", "hello");
    ck_assert_int_eq(do_write("top", ""), -1); /* empty file: data non-NULL, len 0 */
    assert_content("top", "");
    impl_teardown();
}
END_TEST

START_TEST(test_overwrite) {
    impl_setup(_i);
    ck_assert_int_eq(do_write("d/x", "a rather long first content"), -1);
    ck_assert_int_eq(do_write("d/x", "short"), -1);
    assert_content("d/x", "short");
    impl_teardown();
}
END_TEST

START_TEST(test_read_missing) {
    impl_setup(_i);
    assert_missing("no/such/file");
    ck_assert_int_eq(do_write("d/x", "1"), -1);
    assert_missing("d/y");
    impl_teardown();
}
END_TEST

START_TEST(test_list_sorted) {
    impl_setup(_i);
    const char *paths[] = {"d/c", "d/a-2", "d/b", "d/a", "d/sub/x", "e", "dd/z"};
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++)
        ck_assert_int_eq(do_write(paths[i], paths[i]), -1);
    char *got = do_list("d");
    ck_assert_str_eq(got, "a,a-2,b,c");
    g_free(got);
    got = do_list("d/sub");
    ck_assert_str_eq(got, "x");
    g_free(got);
    got = do_list("nothing/here");
    ck_assert_str_eq(got, "");
    g_free(got);
    impl_teardown();
}
END_TEST

START_TEST(test_rename) {
    impl_setup(_i);
    ck_assert_int_eq(do_write("d/tmp", "new"), -1);
    ck_assert_int_eq(do_rename("d/tmp", "d/final"), -1);
    assert_content("d/final", "new");
    assert_missing("d/tmp");
    ck_assert_int_eq(do_write("d/tmp2", "newer"), -1); /* rename replaces the target */
    ck_assert_int_eq(do_rename("d/tmp2", "d/final"), -1);
    assert_content("d/final", "newer");
    ck_assert_int_eq(do_rename("d/final", "other/dir/moved"), -1); /* into a new directory */
    assert_content("other/dir/moved", "newer");
    ck_assert_int_eq(do_rename("d/ghost", "d/x"), RT_STORAGE_ERROR_NOT_FOUND);
    char *got = do_list("d");
    ck_assert_str_eq(got, "");
    g_free(got);
    impl_teardown();
}
END_TEST

START_TEST(test_remove) {
    impl_setup(_i);
    ck_assert_int_eq(do_write("d/x", "x"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_remove, "d/x"), -1);
    assert_missing("d/x");
    ck_assert_int_eq(do_path_op(rt_storage_remove, "d/x"), RT_STORAGE_ERROR_NOT_FOUND);
    impl_teardown();
}
END_TEST

START_TEST(test_fsync) {
    impl_setup(_i);
    ck_assert_int_eq(do_write("d/x", "x"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "d/x"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_fsync_dir, "d"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "d/missing"), RT_STORAGE_ERROR_NOT_FOUND);
    ck_assert_int_eq(do_path_op(rt_storage_fsync_dir, "no/dir"), -1); /* implicit dirs */
    assert_content("d/x", "x");
    impl_teardown();
}
END_TEST

static void on_never(void *ud, GError *error) {
    (void)ud;
    (void)error;
    ck_abort_msg("a callback ran for an operation that failed at once");
}

static void on_never_read(void *ud, const void *d, size_t l, GError *e) {
    on_never(ud, e);
    (void)d;
    (void)l;
}

static void on_never_list(void *ud, const char *const *n, GError *e) {
    on_never(ud, e);
    (void)n;
}

START_TEST(test_invalid_paths) {
    impl_setup(_i);
    const char *bad[] = {"", "/abs", "a/../b", "..", "a//b", "./a", "a/.", "sp ace", "a/",
                         "tab\tx", "quote\"", "star*"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        ck_assert(!rt_storage_write(impl.st, bad[i], "x", 1, on_never, NULL, &err));
        ck_assert_int_eq(err->code, RT_STORAGE_ERROR_INVALID);
        g_clear_error(&err);
        ck_assert(!rt_storage_read(impl.st, bad[i], on_never_read, NULL, &err));
        ck_assert_int_eq(err->code, RT_STORAGE_ERROR_INVALID);
        g_clear_error(&err);
        ck_assert(!rt_storage_list(impl.st, bad[i], on_never_list, NULL, &err));
        g_clear_error(&err);
        ck_assert(!rt_storage_rename(impl.st, "ok", bad[i], on_never, NULL, &err));
        g_clear_error(&err);
        ck_assert(!rt_storage_fsync_dir(impl.st, bad[i], on_never, NULL, &err));
        g_clear_error(&err);
    }
    char *long_path = g_strnfill(1100, 'a');
    GError *err = NULL;
    ck_assert(!rt_storage_fsync(impl.st, long_path, on_never, NULL, &err));
    g_clear_error(&err);
    g_free(long_path);
    /* Drive the world a while: no callback may come. */
    int zero = 0;
    impl_drive(&zero);
    if (impl.kind == 0)
        ck_assert_int_eq(sim_kernel_pending(impl.k), 0);
    else
        ck_assert_uint_eq(rt_live_storage_pending(impl.live), 0);
    impl_teardown();
}
END_TEST

/* Issued back to back without waiting: completions come later, in issue order, and a
 * read after a write sees it. */
typedef struct Order {
    int pending;
    int seen[8];
    int n;
    char *read_back;
} Order;

static void order_done(void *ud, GError *error) {
    Order *o = ud;
    if (in_call)
        early_callbacks++;
    ck_assert_ptr_null(error);
    int i = o->n++;
    o->seen[i] = i;
    o->pending--;
}

static void order_read(void *ud, const void *data, size_t len, GError *error) {
    Order *o = ud;
    if (in_call)
        early_callbacks++;
    ck_assert_ptr_null(error);
    o->read_back = g_strndup(data, len);
    o->seen[o->n++] = 100;
    o->pending--;
}

START_TEST(test_completion_order) {
    impl_setup(_i);
    Order o = {.pending = 4};
    in_call = true;
    ck_assert(rt_storage_write(impl.st, "q/1", "one", 3, order_done, &o, NULL));
    ck_assert(rt_storage_fsync(impl.st, "q/1", order_done, &o, NULL));
    ck_assert(rt_storage_write(impl.st, "q/1", "two", 3, order_done, &o, NULL));
    ck_assert(rt_storage_read(impl.st, "q/1", order_read, &o, NULL));
    in_call = false;
    ck_assert_int_eq(o.n, 0); /* nothing ran inside the calls */
    impl_drive(&o.pending);
    ck_assert_int_eq(o.n, 4);
    ck_assert_int_eq(o.seen[0], 0);
    ck_assert_int_eq(o.seen[1], 1);
    ck_assert_int_eq(o.seen[2], 2);
    ck_assert_int_eq(o.seen[3], 100);
    ck_assert_str_eq(o.read_back, "two");
    g_free(o.read_back);
    impl_teardown();
}
END_TEST

/* ------------------------------------------------------------ simulation only */

static void setup_sim_crash(double torn, double garble) {
    SimStorageConfig cfg;
    sim_storage_config_init(&cfg);
    cfg.torn_probability = torn;
    cfg.garble_probability = garble;
    early_callbacks = 0;
    impl_setup_sim(&cfg);
}

static bool durable_is(const char *path, const char *want) {
    size_t len = 0;
    const char *got = sim_storage_read_durable(impl.sim, path, &len);
    if (want == NULL)
        return got == NULL;
    return got != NULL && len == strlen(want) && memcmp(got, want, len) == 0;
}

START_TEST(test_sim_unsynced_lost) {
    setup_sim_crash(0.0, 0.0);
    ck_assert_int_eq(do_write("d/new", "never synced"), -1);
    ck_assert_int_eq(do_write("d/old", "v1"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "d/old"), -1);
    ck_assert_int_eq(do_write("d/old", "v2 not synced"), -1);
    assert_content("d/old", "v2 not synced");
    ck_assert(sim_storage_is_dirty(impl.sim, "d/old"));
    ck_assert(durable_is("d/old", "v1"));
    ck_assert(durable_is("d/new", NULL));
    sim_storage_process_crashed(impl.sim, 0);
    assert_missing("d/new");
    assert_content("d/old", "v1");
    ck_assert(!sim_storage_is_dirty(impl.sim, "d/old"));
    SimStorageStats stats;
    sim_storage_stats(impl.sim, &stats);
    ck_assert_uint_eq(stats.lost, 2);
    ck_assert_uint_eq(stats.torn, 0);
    impl_teardown();
}
END_TEST

/* A crash with torn writes on: the file is neither the old nor the new content. */
START_TEST(test_sim_torn_write) {
    const char *v1 = "old content, durable";
    const char *v2 = "NEW CONTENT THAT WAS NEVER FSYNCED, AND IS LONGER";
    for (int garble = 0; garble <= 1; garble++) {
        setup_sim_crash(1.0, garble);
        ck_assert_int_eq(do_write("f", v1), -1);
        ck_assert_int_eq(do_path_op(rt_storage_fsync, "f"), -1);
        ck_assert_int_eq(do_write("f", v2), -1);
        sim_storage_process_crashed(impl.sim, 0);
        int code = 0;
        char *got = do_read("f", &code);
        ck_assert_int_eq(code, -1);
        ck_assert_str_ne(got, v1);
        ck_assert_str_ne(got, v2);
        if (garble) { /* same length, some bytes changed */
            ck_assert_uint_eq(strlen(got), strlen(v2));
        } else { /* a strict prefix of the new content */
            ck_assert_uint_lt(strlen(got), strlen(v2));
            ck_assert(strncmp(got, v2, strlen(got)) == 0);
        }
        ck_assert(durable_is("f", got)); /* what is on disk now is durable */
        g_free(got);
        SimStorageStats stats;
        sim_storage_stats(impl.sim, &stats);
        ck_assert_uint_eq(stats.torn, 1);
        impl_teardown();
    }
}
END_TEST

START_TEST(test_sim_rename_needs_fsync_dir) {
    setup_sim_crash(0.0, 0.0);
    ck_assert_int_eq(do_write("ck/meta", "old"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "ck/meta"), -1);
    ck_assert_int_eq(do_write("ck/meta.tmp", "new"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "ck/meta.tmp"), -1);
    ck_assert_int_eq(do_rename("ck/meta.tmp", "ck/meta"), -1);
    assert_content("ck/meta", "new");
    ck_assert(durable_is("ck/meta", "old")); /* the rename is not durable yet */
    ck_assert(durable_is("ck/meta.tmp", "new"));
    sim_storage_process_crashed(impl.sim, 0);
    assert_content("ck/meta", "old");
    assert_content("ck/meta.tmp", "new");
    /* Again, with fsync_dir: now it sticks. */
    ck_assert_int_eq(do_rename("ck/meta.tmp", "ck/meta"), -1);
    ck_assert_int_eq(do_path_op(rt_storage_fsync_dir, "ck"), -1);
    ck_assert(durable_is("ck/meta", "new"));
    ck_assert(durable_is("ck/meta.tmp", NULL));
    sim_storage_process_crashed(impl.sim, 0);
    assert_content("ck/meta", "new");
    assert_missing("ck/meta.tmp");
    /* A remove is volatile until fsync_dir as well. */
    ck_assert_int_eq(do_path_op(rt_storage_remove, "ck/meta"), -1);
    sim_storage_process_crashed(impl.sim, 0);
    assert_content("ck/meta", "new");
    char **durable = sim_storage_list_paths(impl.sim, "ck/", true);
    ck_assert_uint_eq(g_strv_length(durable), 1);
    ck_assert_str_eq(durable[0], "ck/meta");
    g_strfreev(durable);
    impl_teardown();
}
END_TEST

START_TEST(test_sim_injected_errors) {
    setup_sim_crash(0.0, 0.0);
    sim_storage_fail_next(impl.sim, "data/", RT_STORAGE_ERROR_IO, 1);
    sim_storage_fail_next(impl.sim, "data/", RT_STORAGE_ERROR_NO_SPACE, 1);
    ck_assert_int_eq(do_write("other/x", "fine"), -1); /* prefix does not match */
    ck_assert_int_eq(do_write("data/x", "v"), RT_STORAGE_ERROR_IO);
    assert_missing("data/x"); /* a failed op changes nothing; reads skip NO_SPACE rules */
    ck_assert_int_eq(do_write("data/x", "v"), RT_STORAGE_ERROR_NO_SPACE);
    ck_assert_int_eq(do_write("data/x", "v"), -1); /* rules used up */
    assert_content("data/x", "v");
    sim_storage_set_fault_rates(impl.sim, 1.0, 0.0);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "data/x"), RT_STORAGE_ERROR_IO);
    sim_storage_set_fault_rates(impl.sim, 0.0, 1.0);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "data/x"), RT_STORAGE_ERROR_NO_SPACE);
    assert_content("data/x", "v"); /* NO_SPACE does not apply to reads */
    sim_storage_set_fault_rates(impl.sim, 0.0, 0.0);
    ck_assert_int_eq(do_path_op(rt_storage_fsync, "data/x"), -1);
    SimStorageStats stats;
    sim_storage_stats(impl.sim, &stats);
    ck_assert_uint_eq(stats.injected, 4);
    impl_teardown();
}
END_TEST

START_TEST(test_sim_crash_forgets_pending) {
    setup_sim_crash(0.0, 0.0);
    Result r = {.pending = 1};
    ck_assert(rt_storage_write(impl.st, "p/x", "x", 1, on_done, &r, NULL));
    ck_assert_uint_eq(sim_kernel_pending(impl.k), 1);
    sim_storage_process_crashed(impl.sim, 0);
    for (int i = 0; i < 10 && sim_kernel_step(impl.k); i++) {
    }
    ck_assert_int_eq(r.calls, 0); /* the callback of a dead process never runs */
    assert_missing("p/x");
    /* Another process's pending operation is untouched by that crash. */
    RtStorage *other = sim_storage_client(impl.sim, 1);
    Result r2 = {.pending = 1};
    ck_assert(rt_storage_write(other, "p/y", "y", 1, on_done, &r2, NULL));
    sim_storage_process_crashed(impl.sim, 0);
    impl_drive(&r2.pending);
    ck_assert_int_eq(code_of(&r2), -1);
    assert_content("p/y", "y");
    impl_teardown();
}
END_TEST

/* The crash walk is deterministic: same seed, same torn bytes. */
START_TEST(test_sim_crash_deterministic) {
    char *first = NULL;
    for (int run = 0; run < 2; run++) {
        setup_sim_crash(0.5, 0.5);
        for (int i = 0; i < 20; i++) {
            char path[32];
            g_snprintf(path, sizeof path, "z/f%02d", i);
            ck_assert_int_eq(do_write(path, "0123456789abcdefghijklmnopqrstuvwxyz"), -1);
        }
        sim_storage_process_crashed(impl.sim, 0);
        GString *all = g_string_new(NULL);
        char **paths = sim_storage_list_paths(impl.sim, "z/", false);
        for (char **p = paths; *p != NULL; p++) {
            size_t len = 0;
            const char *d = sim_storage_read_current(impl.sim, *p, &len);
            g_string_append_printf(all, "%s=%.*s;", *p, (int)len, d);
        }
        g_strfreev(paths);
        if (run == 0)
            first = g_string_free(all, FALSE);
        else {
            ck_assert_str_eq(all->str, first);
            g_string_free(all, TRUE);
        }
        impl_teardown();
    }
    g_free(first);
}
END_TEST

static Suite *storage_contract_suite(void) {
    Suite *s = suite_create("storage_contract");
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_write_read, 0, 2);
    tcase_add_loop_test(tc, test_overwrite, 0, 2);
    tcase_add_loop_test(tc, test_read_missing, 0, 2);
    tcase_add_loop_test(tc, test_list_sorted, 0, 2);
    tcase_add_loop_test(tc, test_rename, 0, 2);
    tcase_add_loop_test(tc, test_remove, 0, 2);
    tcase_add_loop_test(tc, test_fsync, 0, 2);
    tcase_add_loop_test(tc, test_invalid_paths, 0, 2);
    tcase_add_loop_test(tc, test_completion_order, 0, 2);
    suite_add_tcase(s, tc);
    TCase *sim = tcase_create("sim_crash");
    tcase_set_timeout(sim, 60);
    tcase_add_test(sim, test_sim_unsynced_lost);
    tcase_add_test(sim, test_sim_torn_write);
    tcase_add_test(sim, test_sim_rename_needs_fsync_dir);
    tcase_add_test(sim, test_sim_injected_errors);
    tcase_add_test(sim, test_sim_crash_forgets_pending);
    tcase_add_test(sim, test_sim_crash_deterministic);
    suite_add_tcase(s, sim);
    return s;
}

int main(void) {
    return test_check_run(storage_contract_suite());
}
