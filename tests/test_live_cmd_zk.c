/* test_live_cmd_zk.c - `ckptsim live` against a real ZooKeeper server (suite 'zk':
 * CKPTSIM_TEST_ZK=host:port; TAP skip when unset): the linear job with the zookeeper
 * state backend, its snapshots in real znodes, a worker killed and restarted mid-run;
 * the oracle reads every completed checkpoint's znodes back (checkpoints_checked equals
 * checkpoints_completed) and the job stays exactly-once. Each run keeps its state under
 * its own root znode, /ckptsim-test/live-<pid>. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

static char *json_field_start(const char *json, const char *key) {
    char *pat = g_strdup_printf("\"%s\":", key);
    char *p = strstr(json, pat);
    char *r = p != NULL ? p + strlen(pat) : NULL;
    g_free(pat);
    return r;
}

static long long json_number(const char *json, const char *key) {
    const char *p = json_field_start(json, key);
    return p != NULL ? strtoll(p, NULL, 10) : -1;
}

/* rm -rf path (bounded depth). */
static void remove_tree(const char *path, int depth) {
    GDir *d = depth < 16 ? g_dir_open(path, 0, NULL) : NULL;
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
    g_rmdir(path);
}

START_TEST(test_zookeeper_backend_with_crash_live) {
    const char *bin = g_getenv("CKPTSIM_BIN");
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_msg(bin != NULL && root != NULL, "CKPTSIM_BIN / CKPTSIM_SOURCE_ROOT unset");
    char *tmp = g_dir_make_tmp("ckptsim-live-zk-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmp);
    char *run = g_build_filename(tmp, "run", NULL);
    char *addr = g_strdup_printf("state.backend.zookeeper.address=%s", getenv("CKPTSIM_TEST_ZK"));
    char *path =
        g_strdup_printf("state.backend.zookeeper.path=/ckptsim-test/live-%ld", (long)getpid());
    const char *argv[] = {bin,
                          "live",
                          "scenarios/linear.ini",
                          "--set",
                          "operator.source.records=1500",
                          "--set",
                          "state.backend.type=zookeeper",
                          "--set",
                          addr,
                          "--set",
                          path,
                          "--set",
                          "scenario.faults-stop-at=3 s",
                          "--set",
                          "faults.kill=at 700 ms: crash worker-1 restart after 300 ms",
                          "--dir",
                          run,
                          "--time-limit",
                          "20 s",
                          "--json",
                          NULL};
    char *out = NULL, *err = NULL;
    int wait = 0;
    ck_assert(g_spawn_sync(root, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                           &wait, NULL));
    int status = WIFEXITED(wait) ? WEXITSTATUS(wait) : 128;
    ck_assert_msg(status == 0, "exit %d\nstdout: %s\nstderr: %s", status, out, err);
    ck_assert_msg(strstr(out, "\"verdict\":\"pass\"") != NULL, "%s", out);
    ck_assert_int_eq(json_number(out, "crashes"), 1);
    ck_assert_int_ge(json_number(out, "failovers"), 1);
    ck_assert_int_ge(json_number(out, "checkpoints_completed"), 2);
    ck_assert_int_eq(json_number(out, "checkpoints_checked"),
                     json_number(out, "checkpoints_completed"));
    ck_assert_int_eq(json_number(out, "records_committed"), 1500);
    g_free(out);
    g_free(err);
    g_free(addr);
    g_free(path);
    g_free(run);
    remove_tree(tmp, 0); /* only after the asserts: a failing run stays for inspection */
    g_free(tmp);
}
END_TEST

int main(void) {
    if (getenv("CKPTSIM_TEST_ZK") == NULL || getenv("CKPTSIM_TEST_ZK")[0] == '\0') {
        printf("1..0 # SKIP CKPTSIM_TEST_ZK not set\n");
        return 0;
    }
    Suite *s = suite_create("live_cmd_zk");
    TCase *tc = tcase_create("zookeeper");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_zookeeper_backend_with_crash_live);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
