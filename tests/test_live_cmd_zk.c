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

#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

START_TEST(test_zookeeper_backend_with_crash_live) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-zk-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    char *addr = g_strdup_printf("state.backend.zookeeper.address=%s", getenv("CKPTSIM_TEST_ZK"));
    char *path =
        g_strdup_printf("state.backend.zookeeper.path=/ckptsim-test/live-%ld", (long)getpid());
    const char *argv[] = {
        "live",         "scenarios/linear.ini",
        "--set",        "operator.source.records=1500",
        "--set",        "state.backend.type=zookeeper",
        "--set",        addr,
        "--set",        path,
        "--set",        "scenario.faults-stop-at=3 s",
        "--set",        "faults.kill=at 700 ms: crash worker-1 restart after 300 ms",
        "--dir",        run,
        "--time-limit", "20 s",
        "--json",       NULL};
    TestProcOut o = test_proc_ckptsimv(argv);
    ck_assert_msg(o.status == 0, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
    ck_assert_msg(strstr(o.out, "\"verdict\":\"pass\"") != NULL, "%s", o.out);
    ck_assert_int_eq(test_proc_json_number(o.out, "crashes"), 1);
    ck_assert_int_ge(test_proc_json_number(o.out, "failovers"), 1);
    ck_assert_int_ge(test_proc_json_number(o.out, "checkpoints_completed"), 2);
    ck_assert_int_eq(test_proc_json_number(o.out, "checkpoints_checked"),
                     test_proc_json_number(o.out, "checkpoints_completed"));
    ck_assert_int_eq(test_proc_json_number(o.out, "records_committed"), 1500);
    test_proc_out_clear(&o);
    g_free(addr);
    g_free(path);
    g_free(run);
    test_proc_remove_tree(tmp); /* only after the asserts: a failing run stays for inspection */
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
    return test_check_run(s);
}
