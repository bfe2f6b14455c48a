/* test_bugs_caught.c - every planted bug of the table (rt_bugs_table) is caught by a
 * sweep over all the standard scenarios within 200 seeds (seed-major, as `ckptsim sweep
 * --stop-at-first` does), and the first violating run names the invariant that the
 * table says catches it. The test walks the table, so a new bug is covered (and fails
 * here until a scenario catches it). Suite 'slow'. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

#define MAX_SEED 200

/* g_ptr_array_sort hands the comparator pointers to the elements, not the elements:
 * comparing those with g_strcmp0 orders by garbage, so "the first catching run" was not
 * the one `ckptsim sweep` over the sorted standard scenarios finds. */
static gint cmp_path(gconstpointer a, gconstpointer b) {
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static GPtrArray *load_all(void) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_ptr_nonnull(root);
    char *dir = g_build_filename(root, "scenarios", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (const char *n = g_dir_read_name(d); n != NULL; n = g_dir_read_name(d)) {
        char *path = g_build_filename(dir, n, NULL);
        /* Standard scenarios only: the museum/ subdirectory is not one. */
        if (!g_str_has_suffix(n, ".md") && n[0] != '.' &&
            g_file_test(path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(names, path);
        else
            g_free(path);
    }
    g_dir_close(d);
    g_free(dir);
    g_ptr_array_sort(names, cmp_path);
    GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)sim_scenario_free);
    for (guint i = 0; i < names->len; i++) {
        GError *e = NULL;
        SimScenario *s = sim_scenario_load(g_ptr_array_index(names, i), NULL, &e);
        ck_assert_msg(s != NULL, "%s", e ? e->message : "");
        g_ptr_array_add(all, s);
    }
    g_ptr_array_free(names, TRUE);
    return all;
}

static void check_bug(const char *name) {
    const RtBugInfo *info = NULL;
    for (const RtBugInfo *b = rt_bugs_table(); b->name != NULL; b++)
        if (strcmp(b->name, name) == 0)
            info = b;
    ck_assert_msg(info != NULL, "bug %s is not in the table", name);
    GPtrArray *all = load_all();
    bool caught = false;
    for (uint64_t seed = 1; seed <= MAX_SEED && !caught; seed++) {
        for (guint i = 0; i < all->len && !caught; i++) {
            const SimScenario *s = g_ptr_array_index(all, i);
            SimRunOptions opt;
            sim_run_options_init(&opt, seed);
            opt.bugs = info->bug;
            SimRunResult r;
            ck_assert(sim_run(s, &opt, &r, NULL));
            if (!r.held) {
                caught = true;
                bool named = false;
                GString *seen = g_string_new(NULL);
                for (guint k = 0; k < r.violations->len; k++) {
                    const SimViolation *v = g_ptr_array_index(r.violations, k);
                    named |= strcmp(v->invariant, info->invariant) == 0;
                    g_string_append_printf(seen, " %s", v->invariant);
                }
                ck_assert_msg(named, "%s caught by %s seed %" G_GUINT64_FORMAT
                              " but as%s, not %s", name, s->name, seed, seen->str,
                              info->invariant);
                g_string_free(seen, TRUE);
            }
            sim_run_result_clear(&r);
        }
    }
    ck_assert_msg(caught, "%s not caught within %d seeds", name, MAX_SEED);
    g_ptr_array_free(all, TRUE);
}

static int n_bugs(void) {
    int n = 0;
    for (const RtBugInfo *b = rt_bugs_table(); b->name != NULL; b++)
        n++;
    return n;
}

/* One loop iteration per entry of the table: a bug added to rt_bugs.c is tested here
 * without further edits, and fails this test until some standard scenario catches it. */
START_TEST(test_planted_bug_caught) {
    ck_assert_int_lt(_i, n_bugs());
    check_bug(rt_bugs_table()[_i].name);
}
END_TEST

START_TEST(test_table_complete) {
    /* Names unique, every field set, flags distinct single bits. */
    uint64_t seen = 0;
    for (const RtBugInfo *b = rt_bugs_table(); b->name != NULL; b++) {
        ck_assert(b->description != NULL && b->invariant != NULL);
        ck_assert_msg(b->bug != 0 && ((uint64_t)b->bug & ((uint64_t)b->bug - 1)) == 0,
                      "%s: not a single bit", b->name);
        ck_assert_msg((seen & (uint64_t)b->bug) == 0, "%s: flag reused", b->name);
        seen |= (uint64_t)b->bug;
        ck_assert_uint_eq(rt_bug_by_name(b->name), (uint64_t)b->bug);
    }
    ck_assert_int_ge(n_bugs(), 20);
}
END_TEST

static Suite *bugs_caught_suite(void) {
    Suite *s = suite_create("bugs_caught");
    TCase *tc = tcase_create("planted");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, test_table_complete);
    tcase_add_loop_test(tc, test_planted_bug_caught, 0, n_bugs());
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(bugs_caught_suite());
}
