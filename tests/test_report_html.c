/* test_report_html.c - the report of real runs (the ckptsim binary): report.html lists
 * every run of a sweep-like directory (not only seed 1) with its verdict, and for a
 * violating run every violation, the planted bug, the capsule and the replay and shrink
 * commands; the checkpoint statistics table is there; trace.json of a crash scenario
 * names every process it uses, names the subtask tracks and holds barrier and ack flow
 * arrows whose starts and finishes pair up. The browser check (no console error in
 * headless Chromium) is test_report_browser.c.
 */
#include <check.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

static char *tmp_root;

static void setup(void) {
    tmp_root = test_proc_tmp_dir("ckptsim-report-html-XXXXXX");
}

static void teardown(void) {
    test_proc_remove_tree(tmp_root);
    g_free(tmp_root);
}

/* ckptsim run SCENARIO --seed SEED [--bug BUG] --out ROOT/NAME; the exit status. */
static int run_into(const char *scenario, const char *seed, const char *bug,
                    const char *name) {
    char *out = g_build_filename(tmp_root, name, NULL);
    const char *args[] = {"run", scenario, "--seed", seed, "--out", out,
                          bug != NULL ? "--bug" : NULL, bug, NULL};
    TestProcOut o = test_proc_ckptsimv(args);
    int status = o.status;
    test_proc_out_clear(&o);
    g_free(out);
    return status;
}

static unsigned count_of(const char *text, const char *needle) {
    unsigned n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

START_TEST(test_every_run_and_violation_detail) {
    if (g_getenv("CKPTSIM_BIN") == NULL)
        return;
    const char *sc = "scenarios/crash-mid-alignment.ini";
    ck_assert_int_eq(run_into(sc, "1", NULL, "cma/seed-1"), 0);
    ck_assert_int_eq(run_into(sc, "2", NULL, "cma/seed-2"), 0);
    ck_assert_int_eq(run_into(sc, "3", "skip-source-rewind", "cma/seed-3"), 1);
    char *index = g_build_filename(tmp_root, "report.html", NULL);
    TestProcOut o = test_proc_ckptsim("report", tmp_root, "--format", "png", NULL);
    ck_assert_msg(o.status == 0, "%s", o.err);
    test_proc_out_clear(&o);
    char *html = NULL, *viol = NULL;
    ck_assert(g_file_get_contents(index, &html, NULL, NULL));
    char *vpath = g_build_filename(tmp_root, "cma", "seed-3", "violations.txt", NULL);
    ck_assert(g_file_get_contents(vpath, &viol, NULL, NULL));
    ck_assert_uint_eq(count_of(html, "<tr class=\"run "), 3); /* every seed */
    ck_assert_uint_eq(count_of(html, "data-verdict=\"violation\""), 1);
    /* Every violation of the failed run, not only the first. */
    unsigned lines = count_of(viol, "\n");
    ck_assert_uint_ge(lines, 2);
    ck_assert_uint_eq(count_of(html, "<li><code>"), lines);
    ck_assert(strstr(html, "planted bug: <b>skip-source-rewind</b>") != NULL);
    ck_assert(strstr(html, "ckptsim replay ") != NULL);
    ck_assert(strstr(html, "ckptsim shrink ") != NULL);
    ck_assert(strstr(html, ".capsule</code>") != NULL);
    ck_assert(strstr(html, "--seed 3 --bug skip-source-rewind") != NULL);
    ck_assert(strstr(html, "Checkpoint statistics") != NULL);
    ck_assert(strstr(html, "coordinator_suspended") != NULL); /* the abort's reason */
    ck_assert(strstr(html, "id=\"f-invariant\"") != NULL);
    g_free(html);
    g_free(viol);
    g_free(vpath);
    g_free(index);
}
END_TEST

/* pid -> whether a process_name names it; flow id -> seen "s" (1) | "f" (2). */
typedef struct TraceFacts {
    GHashTable *named, *used, *flows;
    unsigned subtask_threads, counters, running;
} TraceFacts;

static void trace_event(TraceFacts *t, JsonObject *e) {
    const char *ph = json_object_get_string_member(e, "ph");
    const char *name = json_object_get_string_member(e, "name");
    gint64 pid = json_object_get_int_member(e, "pid");
    if (strcmp(ph, "M") == 0) {
        JsonObject *args = json_object_get_object_member(e, "args");
        const char *what = json_object_get_string_member(args, "name");
        if (strcmp(name, "process_name") == 0)
            g_hash_table_insert(t->named, GINT_TO_POINTER(pid + 1), g_strdup(what));
        if (strcmp(name, "thread_name") == 0 && strchr(what, '[') != NULL)
            t->subtask_threads++;
        return;
    }
    if (strcmp(ph, "C") == 0)
        t->counters++;
    if (g_str_has_prefix(name, "running"))
        t->running++;
    if (ph[0] != 'i' || strcmp(json_object_get_string_member(e, "s"), "g") != 0)
        g_hash_table_add(t->used, GINT_TO_POINTER(pid + 1));
    if (strcmp(ph, "s") == 0 || strcmp(ph, "f") == 0) {
        gpointer id = GINT_TO_POINTER(json_object_get_int_member(e, "id"));
        int bit = ph[0] == 's' ? 1 : 2;
        g_hash_table_insert(t->flows, id,
                            GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(t->flows, id)) | bit));
    }
}

START_TEST(test_crash_trace_names_and_flows) {
    if (g_getenv("CKPTSIM_BIN") == NULL)
        return;
    ck_assert_int_eq(run_into("scenarios/crash-mid-alignment.ini", "1", NULL, "t"), 0);
    char *path = g_build_filename(tmp_root, "t", "trace.json", NULL);
    JsonParser *p = json_parser_new();
    GError *err = NULL;
    ck_assert_msg(json_parser_load_from_file(p, path, &err), "%s", err ? err->message : "");
    JsonArray *evs = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(p)), "traceEvents");
    TraceFacts t = {g_hash_table_new_full(NULL, NULL, NULL, g_free),
                    g_hash_table_new(NULL, NULL), g_hash_table_new(NULL, NULL), 0, 0, 0};
    for (guint i = 0; i < json_array_get_length(evs); i++)
        trace_event(&t, json_array_get_object_element(evs, i));
    /* Every process an event is on has a role name. */
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, t.used);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        const char *n = g_hash_table_lookup(t.named, k);
        ck_assert_msg(n != NULL, "pid %d unnamed", GPOINTER_TO_INT(k) - 1);
        ck_assert(g_str_has_prefix(n, "jobmanager-") || g_str_has_prefix(n, "worker-"));
    }
    ck_assert_uint_eq(g_hash_table_size(t.named), 4); /* 1 job manager, 3 workers */
    /* Flows: some, and every id has both its start and its finish. */
    ck_assert_uint_gt(g_hash_table_size(t.flows), 10);
    g_hash_table_iter_init(&it, t.flows);
    while (g_hash_table_iter_next(&it, &k, &v))
        ck_assert_int_eq(GPOINTER_TO_INT(v), 3);
    ck_assert_uint_ge(t.subtask_threads, 7); /* source[0..1], count[0..2], sink[0..1] */
    ck_assert_uint_gt(t.counters, 0);
    ck_assert_uint_ge(t.running, 14); /* 7 subtasks, 2 attempts */
    g_hash_table_unref(t.named);
    g_hash_table_unref(t.used);
    g_hash_table_unref(t.flows);
    g_object_unref(p);
    g_free(path);
}
END_TEST

/* Backpressure shows on the workers' "buffers" counter tracks: buffers queued for lack
 * of credit at some sample, credits granted at another, every sample on a named worker. */
START_TEST(test_buffer_counter_tracks) {
    if (g_getenv("CKPTSIM_BIN") == NULL)
        return;
    ck_assert_int_eq(run_into("scenarios/backpressure-stall.ini", "1", NULL, "bp"), 0);
    char *path = g_build_filename(tmp_root, "bp", "trace.json", NULL);
    JsonParser *p = json_parser_new();
    GError *err = NULL;
    ck_assert_msg(json_parser_load_from_file(p, path, &err), "%s", err ? err->message : "");
    JsonArray *evs = json_object_get_array_member(
        json_node_get_object(json_parser_get_root(p)), "traceEvents");
    gint64 samples = 0, max_queued = 0, max_credits = 0;
    for (guint i = 0; i < json_array_get_length(evs); i++) {
        JsonObject *e = json_array_get_object_element(evs, i);
        if (g_strcmp0(json_object_get_string_member(e, "name"), "buffers") != 0)
            continue;
        ck_assert_str_eq(json_object_get_string_member(e, "ph"), "C");
        ck_assert_int_gt(json_object_get_int_member(e, "pid"), 0); /* a worker, not jm */
        JsonObject *a = json_object_get_object_member(e, "args");
        max_queued = MAX(max_queued, json_object_get_int_member(a, "queued buffers"));
        max_credits = MAX(max_credits, json_object_get_int_member(a, "credits"));
        ck_assert(json_object_has_member(a, "input queued"));
        samples++;
    }
    ck_assert_int_gt(samples, 100);
    ck_assert_int_gt(max_queued, 0);
    ck_assert_int_gt(max_credits, 0);
    g_object_unref(p);
    g_free(path);
}
END_TEST

static Suite *report_html_suite(void) {
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("html");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_every_run_and_violation_detail);
    tcase_add_test(tc, test_crash_trace_names_and_flows);
    tcase_add_test(tc, test_buffer_counter_tracks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    char *gp = g_find_program_in_path("gnuplot");
    if (gp == NULL) {
        printf("1..0 # SKIP gnuplot not found on PATH\n");
        return EXIT_SUCCESS;
    }
    g_free(gp);
    return test_check_run(report_html_suite());
}
