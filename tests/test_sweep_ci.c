/* test_sweep_ci.c - `ckptsim sweep` as CI and a terminal see it ($CKPTSIM_BIN): JUnit
 * XML valid against tests/junit.xsd (checked with xmllint, which must reject a broken
 * file too), with unique test names, properties, failure types and an error for a bad
 * scenario file; the --junit folder checked before the first run; SIGINT ending the
 * sweep with a summary, partial XML and exit 130; the progress line on a pseudo-terminal,
 * --progress and --quiet. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

/* xmllint --schema tests/junit.xsd on path: true when valid (*log: its output). */
static bool junit_valid(const char *path, char **log) {
    char *xmllint = g_find_program_in_path("xmllint");
    ck_assert_msg(xmllint != NULL, "xmllint is missing: scripts/setup.sh installs libxml2-utils");
    char *xsd = g_build_filename(g_getenv("CKPTSIM_SOURCE_ROOT"), "tests", "junit.xsd", NULL);
    const char *argv[] = {xmllint, "--noout", "--schema", xsd, path, NULL};
    int wait = 0;
    char *out = NULL, *err = NULL;
    ck_assert(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                           &wait, NULL));
    *log = g_strconcat(out, err, NULL);
    g_free(out);
    g_free(err);
    g_free(xsd);
    g_free(xmllint);
    return WIFEXITED(wait) && WEXITSTATUS(wait) == 0;
}

static unsigned count(const char *hay, const char *needle) {
    unsigned n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* A sweep with a bug, a --set and one bad scenario file: valid JUnit with every run and
 * the bad file; the schema rejects a duplicated test and a testcase without time. */
START_TEST(test_junit_schema) {
    char *dir = test_proc_tmp_dir("ckptsim-ci-XXXXXX");
    char *bad = g_build_filename(dir, "bad.ini", NULL);
    ck_assert(g_file_set_contents(bad, "[scenario]\nname = bad\nno_such_key = 1\n", -1, NULL));
    char *xml_path = g_build_filename(dir, "out.xml", NULL);
    TestProcOut o = test_proc_ckptsim(
        "sweep", "scenarios/linear.ini", "scenarios/keyby-fanout.ini", bad, "--seeds", "1..2",
        "--bug", "snapshot-on-first-barrier", "--set", "state.backend.type=filesystem", "--out",
        dir, "--junit", xml_path, "--jobs", "2", NULL);
    ck_assert_int_eq(o.status, 1); /* keyby-fanout violates; bad.ini is an error */
    ck_assert_ptr_nonnull(strstr(o.out, "sweep: 4 runs, 2 violations, 1 errors"));
    char *xml = NULL, *log = NULL;
    ck_assert(g_file_get_contents(xml_path, &xml, NULL, NULL));
    ck_assert_msg(junit_valid(xml_path, &log), "%s\n%s", log, xml);
    g_free(log);
    ck_assert_uint_eq(count(xml, "<testcase "), 5);
    ck_assert_ptr_nonnull(strstr(xml, "tests=\"5\" failures=\"2\" errors=\"1\""));
    ck_assert_ptr_nonnull(strstr(xml, " timestamp=\""));
    ck_assert_ptr_nonnull(strstr(xml, "name=\"seed 2 [bug=snapshot-on-first-barrier; "
                                      "set=state.backend.type=filesystem]\" "
                                      "classname=\"ckptsim.keyby-fanout\" time=\""));
    ck_assert_ptr_nonnull(
        strstr(xml, "<failure type=\"consistent-cut\" message=\"consistent-cut: "));
    ck_assert_ptr_nonnull(strstr(xml, "<property name=\"trace_hash\" value=\""));
    ck_assert_ptr_nonnull(strstr(xml, "<property name=\"seed\" value=\"2\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "<property name=\"file\" value=\"scenarios/linear.ini\"/>"));
    ck_assert_ptr_nonnull(strstr(xml, "<error type=\"bad-input\" message=\""));
    ck_assert_ptr_nonnull(strstr(xml, "bad.ini:3: [scenario] no_such_key"));
    /* The validator can fail: a duplicate test name, then a testcase without its time. */
    char *broken = g_build_filename(dir, "broken.xml", NULL);
    const char *first = strstr(xml, "  <testcase name=\"seed 1");
    const char *end = strstr(first, "</testcase>\n") + strlen("</testcase>\n");
    GString *dup = g_string_new_len(xml, end - xml);
    g_string_append_len(dup, first, end - first);
    g_string_append(dup, end);
    ck_assert(g_file_set_contents(broken, dup->str, -1, NULL));
    ck_assert_msg(!junit_valid(broken, &log), "a duplicated testcase validated");
    g_free(log);
    g_string_free(dup, TRUE);
    char *no_time = g_strdup(xml);
    char *t = strstr(no_time, " time=\"0.");
    ck_assert_ptr_nonnull(t);
    memcpy(t, " tame", 5);
    ck_assert(g_file_set_contents(broken, no_time, -1, NULL));
    ck_assert_msg(!junit_valid(broken, &log), "a testcase without time validated");
    g_free(log);
    g_free(no_time);
    g_free(broken);
    g_free(xml);
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(xml_path);
    g_free(bad);
    g_free(dir);
}
END_TEST

/* --junit into a folder that does not exist: exit 2 before any run. */
START_TEST(test_junit_folder_checked_first) {
    TestProcOut o = test_proc_ckptsim("sweep", "scenarios/linear.ini", "--seeds", "1..100000",
                                      "--junit", "/nonexistent-ckptsim/out.xml", NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "--junit /nonexistent-ckptsim/out.xml: cannot write there") !=
                      NULL, "%s", o.err);
    ck_assert_str_eq(o.out, "");
    test_proc_out_clear(&o);
}
END_TEST

/* --metrics DIR: every run's metrics in DIR/NAME/seed-N; a violating run's capsule there. */
START_TEST(test_sweep_metrics_dirs) {
    char *dir = test_proc_tmp_dir("ckptsim-sweep-metrics-XXXXXX");
    TestProcOut o = test_proc_ckptsim("sweep", "scenarios/linear.ini",
                                      "scenarios/crash-mid-alignment.ini", "--seeds", "1..2",
                                      "--quiet", "--metrics", dir, "--bug",
                                      "snapshot-on-first-barrier", NULL);
    ck_assert_int_eq(o.status, 1); /* crash-mid-alignment catches the bug */
    const char *names[] = {"linear", "crash-mid-alignment"};
    for (int n = 0; n < 2; n++)
        for (int seed = 1; seed <= 2; seed++) {
            char sd[16];
            g_snprintf(sd, sizeof sd, "seed-%d", seed);
            char *f = g_build_filename(dir, names[n], sd, "summary.csv", NULL);
            ck_assert_msg(g_file_test(f, G_FILE_TEST_IS_REGULAR), "no %s", f);
            g_free(f);
        }
    char *run = g_build_filename(dir, "crash-mid-alignment", "seed-1", NULL);
    GDir *d = g_dir_open(run, 0, NULL);
    ck_assert_ptr_nonnull(d);
    bool capsule = false;
    for (const char *e; (e = g_dir_read_name(d)) != NULL;)
        capsule = capsule || g_str_has_suffix(e, ".capsule");
    g_dir_close(d);
    ck_assert_msg(capsule, "no capsule in %s", run);
    g_free(run);
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(dir);
}
END_TEST

/* SIGINT in the middle: exit 130, the summary of what ran, valid JUnit of those runs. */
START_TEST(test_sweep_interrupt) {
    char *dir = test_proc_tmp_dir("ckptsim-ci-XXXXXX");
    char *xml_path = g_build_filename(dir, "out.xml", NULL);
    char *out_path = g_build_filename(dir, "stdout", NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || chdir(g_getenv("CKPTSIM_SOURCE_ROOT")) != 0)
            _exit(99);
        execl(g_getenv("CKPTSIM_BIN"), "ckptsim", "sweep", "scenarios/linear.ini", "--seeds",
              "1..100000", "--jobs", "2", "--no-progress", "--junit", xml_path, (char *)NULL);
        _exit(98);
    }
    /* Wait for some runs to finish (at most 60 s), then interrupt. */
    char *text = NULL;
    for (int i = 0; i < 600; i++) {
        g_usleep(100000);
        g_free(text);
        text = NULL;
        if (g_file_get_contents(out_path, &text, NULL, NULL) && count(text, " held") >= 3)
            break;
    }
    ck_assert_int_eq(kill(pid, SIGINT), 0);
    int wstatus = 0;
    ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
    ck_assert_msg(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 130, "wait status %d", wstatus);
    g_free(text);
    ck_assert(g_file_get_contents(out_path, &text, NULL, NULL));
    unsigned runs = 0, total = 0;
    const char *sum = strstr(text, "\nsweep: ");
    ck_assert_msg(sum != NULL, "no summary: %s", text);
    ck_assert_int_eq(sscanf(sum, "\nsweep: %u runs", &runs), 1);
    const char *why = strstr(sum, "(interrupted by SIGINT after ");
    ck_assert_msg(why != NULL, "%s", sum);
    ck_assert_int_eq(sscanf(why, "(interrupted by SIGINT after %*u of %u runs)", &total), 1);
    ck_assert_uint_ge(runs, 3);
    ck_assert_uint_lt(runs, total);
    ck_assert_uint_eq(count(text, " held"), runs);
    char *xml = NULL, *log = NULL;
    ck_assert_msg(g_file_get_contents(xml_path, &xml, NULL, NULL), "no partial JUnit XML");
    ck_assert_msg(junit_valid(xml_path, &log), "%s", log);
    ck_assert_uint_eq(count(xml, "<testcase "), runs);
    ck_assert_ptr_nonnull(strstr(xml, "<property name=\"interrupted\" value=\"true\"/>"));
    g_free(log);
    g_free(xml);
    g_free(text);
    test_proc_remove_tree(dir);
    g_free(out_path);
    g_free(xml_path);
    g_free(dir);
}
END_TEST

/* Runs ckptsim with stdout and stderr on a new pseudo-terminal; returns what it wrote
 * there and its exit status. */
static char *run_on_pty(const char *const *args, int *status) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert(grantpt(master) == 0 && unlockpt(master) == 0);
    char *slave_name = g_strdup(ptsname(master));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int slave = open(slave_name, O_RDWR);
        if (slave < 0 || setsid() < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0 ||
            chdir(g_getenv("CKPTSIM_SOURCE_ROOT")) != 0)
            _exit(99);
        GPtrArray *argv = g_ptr_array_new();
        g_ptr_array_add(argv, (gpointer)"ckptsim");
        for (size_t i = 0; args[i] != NULL; i++)
            g_ptr_array_add(argv, (gpointer)args[i]);
        g_ptr_array_add(argv, NULL);
        execv(g_getenv("CKPTSIM_BIN"), (char **)argv->pdata);
        _exit(98);
    }
    GString *got = g_string_new(NULL);
    char buf[4096];
    for (;;) { /* EIO once the child's side is closed */
        ssize_t n = read(master, buf, sizeof buf);
        if (n <= 0)
            break;
        g_string_append_len(got, buf, n);
    }
    int wstatus = 0;
    ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
    *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128;
    close(master);
    g_free(slave_name);
    return g_string_free(got, FALSE);
}

/* On a terminal: the progress line (redrawn in place) instead of the lines of runs that
 * held, then the summary. Redirected: a line per run; --quiet drops them; --progress
 * forces the progress line. */
START_TEST(test_sweep_progress) {
    const char *args[] = {"sweep", "scenarios/linear.ini", "scenarios/keyby-fanout.ini", "--seeds",
                          "1..3", "--bug", "snapshot-on-first-barrier", NULL};
    int status = 0;
    char *tty = run_on_pty(args, &status);
    ck_assert_int_eq(status, 1);
    ck_assert_msg(strstr(tty, "\r\033[Ksweep: ") != NULL, "no progress line: %s", tty);
    ck_assert_ptr_nonnull(strstr(tty, "runs/s, ETA "));
    ck_assert_msg(strstr(tty, ": held") == NULL, "a held run was printed: %s", tty);
    ck_assert_uint_eq(count(tty, ": VIOLATION"), 3);
    ck_assert_ptr_nonnull(strstr(tty, "sweep: 6 runs, 3 violations, 0 errors"));
    g_free(tty);
    TestProcOut o = test_proc_ckptsimv(args);
    ck_assert_uint_eq(count(o.out, ": held"), 3);
    ck_assert_msg(strstr(o.err, "runs/s") == NULL, "%s", o.err);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("sweep", "scenarios/linear.ini", "--seeds", "1..4", "--quiet",
                          "--progress", NULL);
    ck_assert_int_eq(o.status, 0);
    ck_assert_str_eq(o.out, "sweep: 4 runs, 0 violations, 0 errors\n");
    ck_assert_msg(strstr(o.err, "sweep: 4/4 runs, 0 violations, ") != NULL, "%s", o.err);
    ck_assert_ptr_nonnull(strstr(o.err, "runs/s, ETA "));
    test_proc_out_clear(&o);
}
END_TEST

static Suite *sweep_ci_suite(void) {
    Suite *s = suite_create("sweep_ci");
    TCase *tc = tcase_create("sweep_ci");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_junit_schema);
    tcase_add_test(tc, test_junit_folder_checked_first);
    tcase_add_test(tc, test_sweep_interrupt);
    tcase_add_test(tc, test_sweep_progress);
    tcase_add_test(tc, test_sweep_metrics_dirs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(sweep_ci_suite());
}
