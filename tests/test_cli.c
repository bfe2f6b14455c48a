/* test_cli.c - the ckptsim command line end to end ($CKPTSIM_BIN): exit codes (0 held,
 * 1 violation, 2 bad input), errors naming file:line:key, --json fields, the replay
 * command and capsule of a violation and `replay` reproducing its trace hash,
 * --check-determinism, sweeps giving the same bytes with and without --jobs, shards
 * partitioning the work list, --stop-at-first, JUnit output, `bugs` and `--help`. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

START_TEST(test_bad_scenario_exits_2) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    char *path = g_build_filename(dir, "bad-key.ini", NULL);
    ck_assert(g_file_set_contents(path, "[scenario]\nname = bad\nno_such_key = 1\n", -1, NULL));
    TestProcOut o = test_proc_ckptsim("run", path, NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "bad-key.ini:3: [scenario] no_such_key: unknown key") != NULL, "%s", o.err);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/linear.ini", "--set", "state.backend.type=rocks",
                          NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_ptr_nonnull(strstr(o.err, "--set state.backend.type=rocks"));
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "/nonexistent.ini", NULL);
    ck_assert_int_eq(o.status, 2);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/linear.ini", "--bug", "no-such-bug", NULL);
    ck_assert_int_eq(o.status, 2);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("sweep", "scenarios/linear.ini", NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_ptr_nonnull(strstr(o.err, "--seeds"));
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(path);
    g_free(dir);
}
END_TEST

START_TEST(test_run_json_and_determinism) {
    TestProcOut o = test_proc_ckptsim("run", "scenarios/linear.ini", "--seed", "7", "--json",
                                      "--check-determinism", NULL);
    ck_assert_int_eq(o.status, 0);
    const char *want[] = {"\"scenario\":\"linear\"", "\"seed\":7", "\"verdict\":\"pass\"",
                          "\"violations\":[]", "\"trace_hash\":\"", "\"determinism\":\"ok\""};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
        ck_assert_msg(strstr(o.out, want[i]) != NULL, "no %s in %s", want[i], o.out);
    ck_assert_int_eq(strchr(o.out, '\n') - o.out + 1, (int)strlen(o.out)); /* one line */
    test_proc_out_clear(&o);
}
END_TEST

START_TEST(test_violation_replay) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    TestProcOut o = test_proc_ckptsim("run", "scenarios/keyby-fanout.ini", "--seed", "1", "--bug",
                                      "snapshot-on-first-barrier", "--out", dir, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_ptr_nonnull(strstr(o.out, "VIOLATION"));
    ck_assert_ptr_nonnull(strstr(o.out, "violated consistent-cut"));
    ck_assert_ptr_nonnull(strstr(o.out, "seed 1; replay with:"));
    ck_assert_ptr_nonnull(strstr(o.out, "ckptsim run scenarios/keyby-fanout.ini --seed 1 "
                                        "--bug snapshot-on-first-barrier"));
    char *capsule = g_build_filename(dir, "keyby-fanout-seed1-snapshot-on-first-barrier.capsule",
                                     NULL);
    ck_assert_msg(g_file_test(capsule, G_FILE_TEST_EXISTS), "no capsule %s", capsule);
    char *metrics = g_build_filename(dir, "summary.csv", NULL);
    ck_assert(g_file_test(metrics, G_FILE_TEST_EXISTS));
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("replay", capsule, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_msg(strstr(o.out, "matches the capsule") != NULL, "%s", o.out);
    test_proc_out_clear(&o);
    /* A tampered trace hash is reported as a divergence. */
    char *text = NULL;
    ck_assert(g_file_get_contents(capsule, &text, NULL, NULL));
    char *at = strstr(text, "trace-hash=");
    ck_assert_ptr_nonnull(at);
    at[strlen("trace-hash=")] = at[strlen("trace-hash=")] == '0' ? '1' : '0';
    ck_assert(g_file_set_contents(capsule, text, -1, NULL));
    o = test_proc_ckptsim("replay", capsule, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_ptr_nonnull(strstr(o.out, "DIVERGED"));
    test_proc_out_clear(&o);
    g_free(text);
    test_proc_remove_tree(dir);
    g_free(metrics);
    g_free(capsule);
    g_free(dir);
}
END_TEST

START_TEST(test_sweep_jobs_identical) {
    TestProcOut a =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", NULL);
    TestProcOut b =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", "--jobs", "3", NULL);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(b.status, 0);
    ck_assert_str_eq(a.out, b.out);
    ck_assert_ptr_nonnull(strstr(a.out, "\"summary\":true,\"runs\":12,\"violations\":0"));
    ck_assert_ptr_nonnull(strstr(a.out, "\"first_violation_seed\":null"));
    /* Shards 1/2 and 2/2 together are the whole list. */
    TestProcOut s1 =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", "--shard", "1/2", NULL);
    TestProcOut s2 =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", "--shard", "2/2", NULL);
    ck_assert_ptr_nonnull(strstr(s1.out, "\"runs\":6,"));
    ck_assert_ptr_nonnull(strstr(s2.out, "\"runs\":6,"));
    char **lines = g_strsplit(a.out, "\n", -1);
    for (char **l = lines; *l != NULL && **l != '\0'; l++)
        if (strstr(*l, "\"summary\"") == NULL)
            ck_assert_msg((strstr(s1.out, *l) != NULL) != (strstr(s2.out, *l) != NULL),
                          "line in neither or both shards: %s", *l);
    g_strfreev(lines);
    test_proc_out_clear(&a);
    test_proc_out_clear(&b);
    test_proc_out_clear(&s1);
    test_proc_out_clear(&s2);
}
END_TEST

START_TEST(test_sweep_stop_at_first_and_junit) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    char *junit = g_build_filename(dir, "out.xml", NULL);
    TestProcOut o =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/keyby-fanout.ini", "--seeds",
                          "1..50", "--bug", "snapshot-on-first-barrier", "--stop-at-first",
                          "--json", "--jobs", "2", "--out", dir, "--junit", junit, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_msg(strstr(o.out, "\"stopped_early\":true") != NULL, "%s", o.out);
    ck_assert_ptr_nonnull(strstr(o.out, "\"first_violation_seed\":"));
    char *xml = NULL;
    ck_assert(g_file_get_contents(junit, &xml, NULL, NULL));
    ck_assert_ptr_nonnull(strstr(xml, "<testsuite name=\"ckptsim\""));
    ck_assert_ptr_nonnull(strstr(xml, "<failure message=\""));
    g_free(xml);
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(junit);
    g_free(dir);
}
END_TEST

START_TEST(test_bugs_and_help) {
    TestProcOut o = test_proc_ckptsim("bugs", NULL);
    ck_assert_int_eq(o.status, 0);
    const char *names[] = {"snapshot-on-first-barrier", "skip-source-rewind",
                           "sink-commit-on-precommit", "restore-older-checkpoint",
                           "ack-before-fsync", "nonfifo-network"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        ck_assert_msg(strstr(o.out, names[i]) != NULL, "bugs lacks %s", names[i]);
    test_proc_out_clear(&o);
    const char *cmds[] = {"run", "sweep", "replay", "bugs", "shrink"};
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        o = test_proc_ckptsim(cmds[i], "--help", NULL);
        ck_assert_int_eq(o.status, 0);
        ck_assert_msg(strstr(o.out, "ckptsim ") != NULL && strstr(o.out, "Example") != NULL,
                      "%s --help lacks an example: %s", cmds[i], o.out);
        test_proc_out_clear(&o);
    }
}
END_TEST

/* shrink cuts a random fault plan down to a smaller one that still fails, and its
 * capsule replays. */
START_TEST(test_shrink) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    TestProcOut o = test_proc_ckptsim("run", "scenarios/random-faults.ini", "--seed", "3", "--bug",
                                      "skip-source-rewind", "--out", dir, NULL);
    ck_assert_int_eq(o.status, 1);
    test_proc_out_clear(&o);
    char *capsule = g_build_filename(dir, "random-faults-seed3-skip-source-rewind.capsule",
                                     NULL);
    o = test_proc_ckptsim("shrink", capsule, NULL);
    ck_assert_int_eq(o.status, 1);
    unsigned from = 0, to = 0;
    const char *line = strstr(o.out, "shrunk ");
    ck_assert_ptr_nonnull(line);
    ck_assert_int_eq(sscanf(line, "shrunk %u faults to %u", &from, &to), 2);
    ck_assert_uint_lt(to, from);
    ck_assert_ptr_nonnull(strstr(o.out, "--faults "));
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(capsule);
    g_free(dir);
}
END_TEST

static Suite *cli_suite(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_bad_scenario_exits_2);
    tcase_add_test(tc, test_run_json_and_determinism);
    tcase_add_test(tc, test_violation_replay);
    tcase_add_test(tc, test_sweep_jobs_identical);
    tcase_add_test(tc, test_sweep_stop_at_first_and_junit);
    tcase_add_test(tc, test_bugs_and_help);
    tcase_add_test(tc, test_shrink);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(cli_suite());
}
