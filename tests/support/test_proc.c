/* test_proc.c - running the ckptsim binary from tests and cleaning up after them (see
 * test_proc.h). */
#include "tests/support/test_proc.h"

#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#define REMOVE_TREE_MAX_DEPTH 16

TestProcOut test_proc_ckptsimv(const char *const *args) {
    const char *bin = g_getenv("CKPTSIM_BIN");
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_msg(bin != NULL && root != NULL, "CKPTSIM_BIN / CKPTSIM_SOURCE_ROOT unset");
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)bin);
    for (size_t i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    TestProcOut o = {0};
    int wait = 0;
    GError *e = NULL;
    ck_assert_msg(g_spawn_sync(root, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &o.out, &o.err, &wait, &e),
                  "%s", e ? e->message : "");
    o.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : 128;
    g_ptr_array_free(argv, TRUE);
    return o;
}

TestProcOut test_proc_ckptsim(const char *first, ...) {
    GPtrArray *args = g_ptr_array_new();
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
        g_ptr_array_add(args, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(args, NULL);
    TestProcOut o = test_proc_ckptsimv((const char *const *)args->pdata);
    g_ptr_array_free(args, TRUE);
    return o;
}

void test_proc_out_clear(TestProcOut *o) {
    g_free(o->out);
    g_free(o->err);
    memset(o, 0, sizeof *o);
}

char *test_proc_tmp_dir(const char *tmpl) {
    GError *e = NULL;
    char *d = g_dir_make_tmp(tmpl, &e);
    ck_assert_msg(d != NULL, "%s", e ? e->message : "");
    return d;
}

static void remove_tree(const char *path, int depth) {
    GDir *d = depth < REMOVE_TREE_MAX_DEPTH ? g_dir_open(path, 0, NULL) : NULL;
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        char *p = g_build_filename(path, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            remove_tree(p, depth + 1);
        else
            g_unlink(p);
        g_free(p);
    }
    if (d != NULL)
        g_dir_close(d);
    g_remove(path);
}

void test_proc_remove_tree(const char *path) {
    remove_tree(path, 0);
}

long long test_proc_json_number(const char *json, const char *key) {
    char *pat = g_strdup_printf("\"%s\":", key);
    const char *p = strstr(json, pat);
    long long v = p != NULL ? strtoll(p + strlen(pat), NULL, 10) : -1;
    g_free(pat);
    return v;
}
