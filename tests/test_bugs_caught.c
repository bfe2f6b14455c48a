/* test_bugs_caught.c - every planted bug the standard scenarios exercise is caught by a
 * sweep over all of them within 200 seeds (seed-major, as `ckptsim sweep
 * --stop-at-first` does), and the first violating run names the invariant that the
 * bugs table (rt_bugs_table) says catches it. Suite 'slow'. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

#define MAX_SEED 200

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
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
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

START_TEST(test_snapshot_on_first_barrier) { check_bug("snapshot-on-first-barrier"); }
END_TEST
START_TEST(test_skip_source_rewind) { check_bug("skip-source-rewind"); }
END_TEST
START_TEST(test_sink_commit_on_precommit) { check_bug("sink-commit-on-precommit"); }
END_TEST
START_TEST(test_restore_older_checkpoint) { check_bug("restore-older-checkpoint"); }
END_TEST
START_TEST(test_ack_before_fsync) { check_bug("ack-before-fsync"); }
END_TEST
START_TEST(test_nonfifo_network) { check_bug("nonfifo-network"); }
END_TEST
START_TEST(test_drop_channel_state) { check_bug("drop-channel-state"); }
END_TEST
START_TEST(test_no_fencing) { check_bug("fence-first-try-only"); }
END_TEST
/* flinkrt: mistakes in the Flink-behaviour code */
START_TEST(test_unaligned_on_forward) { check_bug("unaligned-on-forward"); }
END_TEST
START_TEST(test_switch_forgets_blocked) { check_bug("switch-forgets-blocked"); }
END_TEST
START_TEST(test_sink_timeout_units) { check_bug("sink-timeout-units"); }
END_TEST
START_TEST(test_ha_skips_store_recovery) { check_bug("ha-skips-store-recovery"); }
END_TEST

static Suite *bugs_caught_suite(void) {
    Suite *s = suite_create("bugs_caught");
    TCase *tc = tcase_create("planted");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_snapshot_on_first_barrier);
    tcase_add_test(tc, test_skip_source_rewind);
    tcase_add_test(tc, test_sink_commit_on_precommit);
    tcase_add_test(tc, test_restore_older_checkpoint);
    tcase_add_test(tc, test_ack_before_fsync);
    tcase_add_test(tc, test_nonfifo_network);
    tcase_add_test(tc, test_drop_channel_state);
    tcase_add_test(tc, test_no_fencing);
    tcase_add_test(tc, test_unaligned_on_forward);
    tcase_add_test(tc, test_switch_forgets_blocked);
    tcase_add_test(tc, test_sink_timeout_units);
    tcase_add_test(tc, test_ha_skips_store_recovery);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(bugs_caught_suite());
}
