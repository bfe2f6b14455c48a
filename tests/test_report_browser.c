/* test_report_browser.c - report.html loads in headless Chromium without a console
 * message (a JavaScript error, a resource that fails to load, a console.error all show
 * up as ":CONSOLE" lines with --enable-logging=stderr), and its DOM holds the verdict
 * table after the scripts ran. A page with a planted script error must fail the same
 * check (the check can fail). Skipped (TAP "1..0 # SKIP") when chromium or gnuplot is
 * not installed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

static char *chromium;
static char *tmp_root;

/* Loads file in headless Chromium; its dumped DOM in *dom and the console lines of its
 * log (owned strings). */
static void load(const char *file, char **dom, char **console) {
    char *url = g_strdup_printf("file://%s", file);
    char *argv[] = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--enable-logging=stderr", "--v=0", "--dump-dom", url, NULL};
    char *err = NULL;
    int status = 0;
    ck_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, dom, &err, &status,
                           NULL));
    GString *c = g_string_new(NULL);
    char **lines = g_strsplit(err, "\n", -1);
    for (char **l = lines; *l != NULL; l++)
        if (strstr(*l, ":CONSOLE") != NULL)
            g_string_append_printf(c, "%s\n", *l);
    g_strfreev(lines);
    *console = g_string_free(c, FALSE);
    g_free(err);
    g_free(url);
}

START_TEST(test_report_has_no_console_error) {
    char *out = g_build_filename(tmp_root, "cma", NULL);
    TestProcOut o = test_proc_ckptsim("run", "scenarios/crash-mid-alignment.ini", "--seed", "1",
                                      "--out", out, NULL);
    ck_assert_int_eq(o.status, 0);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("report", tmp_root, NULL);
    ck_assert_msg(o.status == 0, "%s", o.err);
    test_proc_out_clear(&o);
    char *index = g_build_filename(tmp_root, "report.html", NULL);
    char *dom = NULL, *console = NULL;
    load(index, &dom, &console);
    ck_assert_msg(console[0] == '\0', "console messages:\n%s", console);
    ck_assert(strstr(dom, "id=\"verdicts\"") != NULL);
    ck_assert(strstr(dom, "1 of 1 runs") != NULL); /* the filter script ran */
    g_free(dom);
    g_free(console);
    /* The check itself: a script error is seen. */
    char *bad = g_build_filename(tmp_root, "bad.html", NULL);
    ck_assert(g_file_set_contents(bad, "<!DOCTYPE html><html><head><link rel=\"icon\" "
                                       "href=\"data:,\"></head><body><script>nosuch();"
                                       "</script></body></html>",
                                  -1, NULL));
    load(bad, &dom, &console);
    ck_assert(strstr(console, "nosuch") != NULL);
    g_free(dom);
    g_free(console);
    g_free(bad);
    g_free(index);
    g_free(out);
}
END_TEST

static void setup(void) {
    tmp_root = test_proc_tmp_dir("ckptsim-report-browser-XXXXXX");
}

static void teardown(void) {
    test_proc_remove_tree(tmp_root);
    g_free(tmp_root);
}

int main(void) {
    const char *names[] = {"chromium", "chromium-browser", "google-chrome"};
    for (size_t i = 0; i < G_N_ELEMENTS(names) && chromium == NULL; i++)
        chromium = g_find_program_in_path(names[i]);
    char *gp = g_find_program_in_path("gnuplot");
    if (chromium == NULL || gp == NULL || g_getenv("CKPTSIM_BIN") == NULL) {
        printf("1..0 # SKIP chromium, gnuplot or CKPTSIM_BIN missing\n");
        return EXIT_SUCCESS;
    }
    g_free(gp);
    Suite *s = suite_create("report_browser");
    TCase *tc = tcase_create("chromium");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_report_has_no_console_error);
    suite_add_tcase(s, tc);
    int rc = test_check_run(s);
    g_free(chromium);
    return rc;
}
