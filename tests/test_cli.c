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

typedef struct Out {
    int status;
    char *out, *err;
} Out;

/* Runs ckptsim with the NULL-terminated args in the source root. */
static Out ckptsim(const char *first, ...) {
    const char *bin = g_getenv("CKPTSIM_BIN");
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_msg(bin != NULL && root != NULL, "CKPTSIM_BIN / CKPTSIM_SOURCE_ROOT unset");
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer)bin);
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *))
        g_ptr_array_add(argv, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    Out o = {0};
    int wait = 0;
    GError *e = NULL;
    ck_assert_msg(g_spawn_sync(root, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &o.out, &o.err, &wait, &e),
                  "%s", e ? e->message : "");
    o.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : 128;
    g_ptr_array_free(argv, TRUE);
    return o;
}

static void out_free(Out *o) {
    g_free(o->out);
    g_free(o->err);
}

static char *tmp_dir(void) {
    GError *e = NULL;
    char *d = g_dir_make_tmp("ckptsim-cli-XXXXXX", &e);
    ck_assert_ptr_nonnull(d);
    return d;
}

START_TEST(test_bad_scenario_exits_2) {
    char *dir = tmp_dir();
    char *path = g_build_filename(dir, "bad-key.ini", NULL);
    ck_assert(g_file_set_contents(path, "[scenario]\nname = bad\nno_such_key = 1\n", -1, NULL));
    Out o = ckptsim("run", path, NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "bad-key.ini:3: no_such_key: unknown key") != NULL, "%s",
                  o.err);
    out_free(&o);
    o = ckptsim("run", "scenarios/linear.ini", "--set", "state.backend.type=rocks", NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_ptr_nonnull(strstr(o.err, "--set state.backend.type=rocks"));
    out_free(&o);
    o = ckptsim("run", "/nonexistent.ini", NULL);
    ck_assert_int_eq(o.status, 2);
    out_free(&o);
    o = ckptsim("run", "scenarios/linear.ini", "--bug", "no-such-bug", NULL);
    ck_assert_int_eq(o.status, 2);
    out_free(&o);
    o = ckptsim("sweep", "scenarios/linear.ini", NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_ptr_nonnull(strstr(o.err, "--seeds"));
    out_free(&o);
    unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}
END_TEST

START_TEST(test_run_json_and_determinism) {
    Out o = ckptsim("run", "scenarios/linear.ini", "--seed", "7", "--json",
                    "--check-determinism", NULL);
    ck_assert_int_eq(o.status, 0);
    const char *want[] = {"\"scenario\":\"linear\"", "\"seed\":7", "\"verdict\":\"pass\"",
                          "\"violations\":[]", "\"trace_hash\":\"", "\"determinism\":\"ok\""};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
        ck_assert_msg(strstr(o.out, want[i]) != NULL, "no %s in %s", want[i], o.out);
    ck_assert_int_eq(strchr(o.out, '\n') - o.out + 1, (int)strlen(o.out)); /* one line */
    out_free(&o);
}
END_TEST

START_TEST(test_violation_replay) {
    char *dir = tmp_dir();
    Out o = ckptsim("run", "scenarios/keyby-fanout.ini", "--seed", "1", "--bug",
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
    out_free(&o);
    o = ckptsim("replay", capsule, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_msg(strstr(o.out, "matches the capsule") != NULL, "%s", o.out);
    out_free(&o);
    /* A tampered trace hash is reported as a divergence. */
    char *text = NULL;
    ck_assert(g_file_get_contents(capsule, &text, NULL, NULL));
    char *at = strstr(text, "trace-hash=");
    ck_assert_ptr_nonnull(at);
    at[strlen("trace-hash=")] = at[strlen("trace-hash=")] == '0' ? '1' : '0';
    ck_assert(g_file_set_contents(capsule, text, -1, NULL));
    o = ckptsim("replay", capsule, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_ptr_nonnull(strstr(o.out, "DIVERGED"));
    out_free(&o);
    g_free(text);
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
    g_free(metrics);
    g_free(capsule);
    g_free(dir);
}
END_TEST

START_TEST(test_sweep_jobs_identical) {
    Out a = ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                    "--seeds", "1..6", "--json", NULL);
    Out b = ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                    "--seeds", "1..6", "--json", "--jobs", "3", NULL);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(b.status, 0);
    ck_assert_str_eq(a.out, b.out);
    ck_assert_ptr_nonnull(strstr(a.out, "\"summary\":true,\"runs\":12,\"violations\":0"));
    ck_assert_ptr_nonnull(strstr(a.out, "\"first_violation_seed\":null"));
    /* Shards 1/2 and 2/2 together are the whole list. */
    Out s1 = ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                     "--seeds", "1..6", "--json", "--shard", "1/2", NULL);
    Out s2 = ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                     "--seeds", "1..6", "--json", "--shard", "2/2", NULL);
    ck_assert_ptr_nonnull(strstr(s1.out, "\"runs\":6,"));
    ck_assert_ptr_nonnull(strstr(s2.out, "\"runs\":6,"));
    char **lines = g_strsplit(a.out, "\n", -1);
    for (char **l = lines; *l != NULL && **l != '\0'; l++)
        if (strstr(*l, "\"summary\"") == NULL)
            ck_assert_msg((strstr(s1.out, *l) != NULL) != (strstr(s2.out, *l) != NULL),
                          "line in neither or both shards: %s", *l);
    g_strfreev(lines);
    out_free(&a);
    out_free(&b);
    out_free(&s1);
    out_free(&s2);
}
END_TEST

START_TEST(test_sweep_stop_at_first_and_junit) {
    char *dir = tmp_dir();
    char *junit = g_build_filename(dir, "out.xml", NULL);
    Out o = ckptsim("sweep", "scenarios/linear.ini", "scenarios/keyby-fanout.ini", "--seeds",
                    "1..50", "--bug", "snapshot-on-first-barrier", "--stop-at-first", "--json",
                    "--jobs", "2", "--out", dir, "--junit", junit, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_msg(strstr(o.out, "\"stopped_early\":true") != NULL, "%s", o.out);
    ck_assert_ptr_nonnull(strstr(o.out, "\"first_violation_seed\":"));
    char *xml = NULL;
    ck_assert(g_file_get_contents(junit, &xml, NULL, NULL));
    ck_assert_ptr_nonnull(strstr(xml, "<testsuite name=\"ckptsim\""));
    ck_assert_ptr_nonnull(strstr(xml, "<failure message=\""));
    g_free(xml);
    out_free(&o);
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
    g_free(junit);
    g_free(dir);
}
END_TEST

START_TEST(test_bugs_and_help) {
    Out o = ckptsim("bugs", NULL);
    ck_assert_int_eq(o.status, 0);
    const char *names[] = {"snapshot-on-first-barrier", "skip-source-rewind",
                           "sink-commit-on-precommit", "restore-older-checkpoint",
                           "ack-before-fsync", "nonfifo-network"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        ck_assert_msg(strstr(o.out, names[i]) != NULL, "bugs lacks %s", names[i]);
    out_free(&o);
    const char *cmds[] = {"run", "sweep", "replay", "bugs", "shrink"};
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        o = ckptsim(cmds[i], "--help", NULL);
        ck_assert_int_eq(o.status, 0);
        ck_assert_msg(strstr(o.out, "ckptsim ") != NULL && strstr(o.out, "Example") != NULL,
                      "%s --help lacks an example: %s", cmds[i], o.out);
        out_free(&o);
    }
}
END_TEST

/* shrink cuts a random fault plan down to a smaller one that still fails, and its
 * capsule replays. */
START_TEST(test_shrink) {
    char *dir = tmp_dir();
    Out o = ckptsim("run", "scenarios/random-faults.ini", "--seed", "3", "--bug",
                    "skip-source-rewind", "--out", dir, NULL);
    ck_assert_int_eq(o.status, 1);
    out_free(&o);
    char *capsule = g_build_filename(dir, "random-faults-seed3-skip-source-rewind.capsule",
                                     NULL);
    o = ckptsim("shrink", capsule, NULL);
    ck_assert_int_eq(o.status, 1);
    unsigned from = 0, to = 0;
    const char *line = strstr(o.out, "shrunk ");
    ck_assert_ptr_nonnull(line);
    ck_assert_int_eq(sscanf(line, "shrunk %u faults to %u", &from, &to), 2);
    ck_assert_uint_lt(to, from);
    ck_assert_ptr_nonnull(strstr(o.out, "--faults "));
    out_free(&o);
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
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
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
