/* test_live_cmd.c - `ckptsim live` end to end ($CKPTSIM_BIN): the linear scenario run as
 * real processes in a temporary directory on a free port range, checked by the oracle
 * (verdict pass, committed sink output on disk, events file); the same job with a timed
 * worker crash and restart (SIGKILL, failover, restore) still exactly-once; a planted
 * recovery bug caught after a real crash (exit 1); faults the
 * live world cannot inject reported as such; and bad input (port in use, unwritable or
 * non-empty directory, unreachable ZooKeeper) refused with exit 2 and a clear message. */
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

/* Committed sink files (committed-*) with data under run/storage/sink/sink/0. */
static unsigned committed_files(const char *run) {
    char *dir = g_build_filename(run, "storage", "sink", "sink", "0", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    unsigned n = 0;
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        char *p = g_build_filename(dir, name, NULL);
        GStatBuf st;
        if (g_str_has_prefix(name, "committed-") && g_stat(p, &st) == 0 && st.st_size > 0)
            n++;
        g_free(p);
    }
    if (d != NULL)
        g_dir_close(d);
    g_free(dir);
    return n;
}

static bool file_contains(const char *path, const char *needle) {
    char *text = NULL;
    bool found = g_file_get_contents(path, &text, NULL, NULL) && strstr(text, needle) != NULL;
    g_free(text);
    return found;
}

START_TEST(test_linear_holds_live) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    TestProcOut o =
        test_proc_ckptsim("live", "scenarios/linear.ini", "--set", "operator.source.records=500",
                          "--dir", run, "--time-limit", "15 s", "--json", NULL);
    ck_assert_msg(o.status == 0, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
    ck_assert_msg(strstr(o.out, "\"verdict\":\"pass\"") != NULL, "%s", o.out);
    ck_assert_msg(strstr(o.out, "\"mode\":\"live\"") != NULL, "%s", o.out);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_total"), 500);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_committed"), 500);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_lost"), 0);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_duplicated"), 0);
    ck_assert_int_eq(test_proc_json_number(o.out, "bad_event_lines"), 0);
    ck_assert_int_ge(test_proc_json_number(o.out, "checkpoints_completed"), 1);
    ck_assert_int_eq(test_proc_json_number(o.out, "checkpoints_checked"),
                     test_proc_json_number(o.out, "checkpoints_completed"));
    ck_assert_msg(strstr(o.out, "\"end\":\"job finished\"") != NULL, "%s", o.out);
    ck_assert_uint_ge(committed_files(run), 1);
    char *events = g_build_filename(run, "events.jsonl", NULL);
    ck_assert(file_contains(events, "\"kind\":\"job_finished\""));
    ck_assert(file_contains(events, "\"kind\":\"ckpt_complete\""));
    g_free(events);
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
}
END_TEST

START_TEST(test_worker_crash_restart_holds_live) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    TestProcOut o = test_proc_ckptsim(
        "live", "scenarios/linear.ini", "--set", "operator.source.records=1500", "--set",
        "scenario.faults-stop-at=3 s", "--set",
        "faults.kill=at 700 ms: crash worker-1 restart after 300 ms", "--set",
        "expect.min-failovers=1", "--dir", run, "--time-limit", "18 s", "--json", NULL);
    ck_assert_msg(o.status == 0, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
    ck_assert_msg(strstr(o.out, "\"verdict\":\"pass\"") != NULL, "%s", o.out);
    ck_assert_int_eq(test_proc_json_number(o.out, "crashes"), 1);
    ck_assert_int_eq(test_proc_json_number(o.out, "restarts"), 1);
    ck_assert_int_ge(test_proc_json_number(o.out, "failovers"), 1);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_committed"), 1500);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_lost"), 0);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_duplicated"), 0);
    char *events = g_build_filename(run, "events.jsonl", NULL);
    ck_assert(file_contains(events, "\"kind\":\"world_crash\""));
    ck_assert(file_contains(events, "\"kind\":\"failover\""));
    g_free(events);
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
}
END_TEST

/* Checkpoints that follow each other faster than the launcher's reorder lag: every
 * completed one is still decoded (its files are kept when its completion arrives, before
 * the next one subsumes and deletes them). */
START_TEST(test_fast_checkpoints_all_checked) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    TestProcOut o =
        test_proc_ckptsim("live", "scenarios/linear.ini", "--set", "operator.source.records=800",
                          "--set", "execution.checkpointing.interval=10 ms", "--dir", run,
                          "--time-limit", "15 s", "--json", NULL);
    ck_assert_msg(o.status == 0, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
    ck_assert_int_ge(test_proc_json_number(o.out, "checkpoints_completed"), 5);
    ck_assert_int_eq(test_proc_json_number(o.out, "checkpoints_checked"),
                     test_proc_json_number(o.out, "checkpoints_completed"));
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
}
END_TEST

/* The checker can fail live: a planted recovery bug loses records after a real crash. */
START_TEST(test_planted_bug_caught_live) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    TestProcOut o =
        /* The crash follows a protocol event, not a wall-clock instant, so a loaded machine
         * cannot move it past the end of the input (where the bug loses nothing). It comes
         * 150 ms after checkpoint 1 completes: the source has auto-committed a position
         * (every 64 records at 1000/s) past the checkpoint's offset by then, however fast
         * the checkpoint completed (with TCP_NODELAY it takes ~10 ms). */
        test_proc_ckptsim("live", "scenarios/linear.ini", "--set", "operator.source.records=1000",
                          "--bug", "skip-source-rewind", "--set", "scenario.faults-stop-at=4 s",
                          "--set",
                          "faults.kill=when ckpt_complete of checkpoint 1 + 150 ms: crash worker-1 "
                          "restart after 100 ms",
                          "--dir", run, "--time-limit", "15 s", "--json", NULL);
    ck_assert_msg(o.status == 1, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
    ck_assert_msg(strstr(o.out, "\"verdict\":\"violation\"") != NULL, "%s", o.out);
    ck_assert_msg(strstr(o.out, "\"invariant\":\"exactly-once\"") != NULL, "%s", o.out);
    ck_assert_int_gt(test_proc_json_number(o.out, "records_lost"), 0);
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
}
END_TEST

START_TEST(test_unsupported_fault_is_reported) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    TestProcOut o = test_proc_ckptsim(
        "live", "scenarios/linear.ini", "--set", "operator.source.records=200", "--set",
        "scenario.faults-stop-at=1 s", "--set", "faults.cut=at 100 ms: isolate worker-1 for 50 ms",
        "--set", "expect.min-completed-checkpoints=0", "--dir", run, NULL);
    ck_assert_msg(o.status == 0, "exit %d\nstdout: %s\nstderr: %s", o.status, o.out, o.err);
    ck_assert_msg(strstr(o.out, "not supported live") != NULL, "%s", o.out);
    ck_assert_msg(strstr(o.out, "(live): held") != NULL, "%s", o.out);
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
}
END_TEST

START_TEST(test_port_in_use_exits_2) {
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    ck_assert_ptr_nonnull(s);
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *any = g_inet_socket_address_new(ia, 0);
    ck_assert(g_socket_bind(s, any, FALSE, NULL) && g_socket_listen(s, NULL));
    GSocketAddress *bound = g_socket_get_local_address(s, NULL);
    guint16 port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    char *base = g_strdup_printf("%u", (unsigned)port - 1u); /* process 1 hits it */
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    TestProcOut o =
        test_proc_ckptsim("live", "scenarios/linear.ini", "--base-port", base, "--dir", run, NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "in use") != NULL, "%s", o.err);
    ck_assert(!g_file_test(run, G_FILE_TEST_EXISTS)); /* bad input leaves nothing behind */
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
    g_free(base);
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(ia);
    g_socket_close(s, NULL);
    g_object_unref(s);
}
END_TEST

START_TEST(test_bad_dir_exits_2) {
    TestProcOut o =
        test_proc_ckptsim("live", "scenarios/linear.ini", "--dir", "/dev/null/run", NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "/dev/null/run") != NULL, "%s", o.err);
    test_proc_out_clear(&o);
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *file = g_build_filename(tmp, "old-file", NULL);
    ck_assert(g_file_set_contents(file, "x", -1, NULL));
    o = test_proc_ckptsim("live", "scenarios/linear.ini", "--dir", tmp, NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "not empty") != NULL, "%s", o.err);
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(file);
    g_free(tmp);
}
END_TEST

START_TEST(test_unreachable_zookeeper_exits_2) {
    char *tmp = test_proc_tmp_dir("ckptsim-live-test-XXXXXX");
    char *run = g_build_filename(tmp, "run", NULL);
    TestProcOut o = test_proc_ckptsim(
        "live", "scenarios/linear.ini", "--set", "high-availability=zookeeper", "--set",
        "high-availability.zookeeper.quorum=127.0.0.1:1", "--set",
        "high-availability.zookeeper.client.connection-timeout=1 s", "--set",
        "high-availability.storageDir=ha", "--dir", run, NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "unreachable") != NULL && strstr(o.err, "127.0.0.1:1") != NULL,
                  "%s", o.err);
    test_proc_out_clear(&o);
    test_proc_remove_tree(tmp);
    g_free(run);
    g_free(tmp);
}
END_TEST

static Suite *live_cmd_suite(void) {
    Suite *s = suite_create("live_cmd");
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 40);
    tcase_add_test(run, test_linear_holds_live);
    tcase_add_test(run, test_worker_crash_restart_holds_live);
    tcase_add_test(run, test_unsupported_fault_is_reported);
    tcase_add_test(run, test_planted_bug_caught_live);
    tcase_add_test(run, test_fast_checkpoints_all_checked);
    suite_add_tcase(s, run);
    TCase *bad = tcase_create("bad_input");
    tcase_set_timeout(bad, 30);
    tcase_add_test(bad, test_port_in_use_exits_2);
    tcase_add_test(bad, test_bad_dir_exits_2);
    tcase_add_test(bad, test_unreachable_zookeeper_exits_2);
    suite_add_tcase(s, bad);
    return s;
}

int main(void) {
    return test_check_run(live_cmd_suite());
}
