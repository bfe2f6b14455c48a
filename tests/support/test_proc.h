/* test_proc.h - helpers for tests that run the ckptsim binary as a subprocess (the
 * command line, `ckptsim live`, `selftest`) and work in temporary directories. The
 * binary is $CKPTSIM_BIN and runs in $CKPTSIM_SOURCE_ROOT (both set by tests/meson.build),
 * so scenario paths like "scenarios/linear.ini" resolve. Failures to spawn are Check
 * assertion failures of the calling test. */
#ifndef TEST_PROC_H
#define TEST_PROC_H

#include <glib.h>
#include <stdbool.h>

/* What a run of ckptsim left: its exit status (128 when it did not exit normally) and
 * its whole stdout and stderr (owned, NUL-terminated). */
typedef struct TestProcOut {
    int status;
    char *out;
    char *err;
} TestProcOut;

/* Runs ckptsim with the NULL-terminated arguments after the program name, waits for it
 * and captures its output. Free the result with test_proc_out_clear. */
TestProcOut test_proc_ckptsim(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* The same with a NULL-terminated argument array. */
TestProcOut test_proc_ckptsimv(const char *const *args);

/* Frees the captured output and zeroes o. */
void test_proc_out_clear(TestProcOut *o);

/* A new temporary directory from a g_dir_make_tmp template such as "ckptsim-x-XXXXXX"
 * (asserted to succeed). The caller frees the string and removes the directory. */
char *test_proc_tmp_dir(const char *tmpl);

/* rm -rf path: never follows a symbolic link, and stops 16 levels down. */
void test_proc_remove_tree(const char *path);

/* The integer after "key": in a JSON text, or -1 when the key is absent. */
long long test_proc_json_number(const char *json, const char *key);

#endif /* TEST_PROC_H */
