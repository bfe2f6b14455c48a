/* test_notify_faults.c - the notification fault kind (notify-drop, notify-duplicate,
 * notify-delay): its syntax and errors, that each really acts on the job manager's
 * NOTIFY_COMPLETE frames in the simulated network (the world reports every affected
 * notification), that the runtime stays correct under each, and that the planted bug
 * sink-recommit-on-duplicate-notify is caught only when a duplicate arrives. Suite
 * 'unit'. */
#include <check.h>
#include <glib/gstdio.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/faults/sim_fault_plan.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

static const SimFaultContext ctx = {1, 2, NULL};

static SimFault parse_ok(const char *text) {
    SimFault f;
    char *why = NULL;
    ck_assert_msg(sim_fault_parse("n", text, &ctx, &f, &why), "%s: %s", text, why ? why : "");
    ck_assert_int_eq(f.action.kind, SIM_FAULT_NOTIFY);
    return f;
}

static void parse_bad(const char *text, const char *needle) {
    SimFault f;
    char *why = NULL;
    ck_assert_msg(!sim_fault_parse("n", text, &ctx, &f, &why), "%s parsed", text);
    ck_assert_msg(why != NULL && strstr(why, needle) != NULL, "%s: '%s' lacks '%s'", text,
                  why ? why : "", needle);
    g_free(why);
}

START_TEST(test_parse) {
    SimFault f = parse_ok("at 1 s: notify-duplicate");
    ck_assert_int_eq(f.action.notify_mode, SIM_FAULT_NOTIFY_DUPLICATE);
    ck_assert_uint_eq(f.action.checkpoint_id, 0);
    ck_assert_int_eq(f.action.target.kind, SIM_PROC_ANY);
    sim_fault_clear(&f);
    f = parse_ok("when complete of checkpoint 3: notify-delay 400 ms of checkpoint 4 to worker-2");
    ck_assert_int_eq(f.action.notify_mode, SIM_FAULT_NOTIFY_DELAY);
    ck_assert_uint_eq(f.action.duration_ns, 400000000u);
    ck_assert_uint_eq(f.action.checkpoint_id, 4);
    ck_assert_int_eq(f.action.target.kind, SIM_PROC_WORKER);
    ck_assert_uint_eq(f.action.target.index, 1);
    sim_fault_clear(&f);
    f = parse_ok("when trigger of checkpoint 2 in worker-1: notify-drop to this");
    ck_assert_int_eq(f.action.notify_mode, SIM_FAULT_NOTIFY_DROP);
    ck_assert_int_eq(f.action.target.kind, SIM_PROC_THIS);
    sim_fault_clear(&f);
    parse_bad("at 1 s: notify-delay", "duration");
    parse_bad("at 1 s: notify-drop of checkpoint 0", "start at 1");
    parse_bad("at 1 s: notify-drop to jobmanager-1", "task managers");
    parse_bad("at 1 s: notify-lose", "notify-drop");
    parse_bad("at 1 s: notify-drop twice", "unexpected 'twice'");
    parse_bad("at 1 s: notify-drop to this", "this");
}
END_TEST

static const char *const scenario_text =
    "[scenario]\nname = notify\ntime-limit = 30 s\nfaults-stop-at = 5 s\n"
    "[cluster]\nworkers = 2\n"
    "[operator source]\nkind = source\nparallelism = 2\nrecords = 800\nkeys = 16\n"
    "rate = 1000\n"
    "[operator count]\nkind = counter\nparallelism = 2\n"
    "[operator sink]\nkind = sink\nparallelism = 2\n"
    "[edges]\nsource -> count = keyBy\ncount -> sink = forward\n"
    "[config]\nexecution.checkpointing.interval = 100 ms\n";

/* Runs the scenario with one fault statement (NULL: none) and returns the result; the
 * trace is written under dir when dir is not NULL. */
static bool run_with(const char *fault, uint64_t bugs, uint64_t seed, const char *dir,
                     SimRunResult *r) {
    char *set = fault != NULL ? g_strdup_printf("faults.f=%s", fault) : NULL;
    const char *sets[] = {set, NULL};
    GError *e = NULL;
    SimScenario *s = sim_scenario_load_text("notify.ini", scenario_text, sets, &e);
    ck_assert_msg(s != NULL, "%s", e ? e->message : "");
    SimRunOptions opt;
    sim_run_options_init(&opt, seed);
    opt.bugs = bugs;
    opt.out_dir = dir;
    ck_assert(sim_run(s, &opt, r, NULL));
    sim_scenario_free(s);
    g_free(set);
    return r->held;
}

/* How often the trace of a run in dir mentions what. */
static int trace_count(const char *dir, const char *what) {
    char *path = g_build_filename(dir, "trace.json", NULL), *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    int n = 0;
    for (const char *p = strstr(text, what); p != NULL; p = strstr(p + 1, what))
        n++;
    g_free(text);
    g_free(path);
    return n;
}

static void rm_rf(const char *dir) {
    GDir *d = g_dir_open(dir, 0, NULL);
    for (const char *n = d ? g_dir_read_name(d) : NULL; n != NULL; n = g_dir_read_name(d)) {
        char *p = g_build_filename(dir, n, NULL);
        g_remove(p);
        g_free(p);
    }
    if (d != NULL)
        g_dir_close(d);
    g_rmdir(dir);
}

/* Each mode acts on both task managers' notification of its checkpoint, the job still
 * holds every invariant, and a run without the fault has another trace. */
START_TEST(test_modes_take_effect) {
    static const char *const faults[] = {
        "at 0 s: notify-drop of checkpoint 3",
        "at 0 s: notify-duplicate of checkpoint 3",
        "at 0 s: notify-delay 250 ms of checkpoint 3",
    };
    static const char *const seen[] = {"dropped", "duplicated", "delayed"};
    SimRunResult base;
    ck_assert(run_with(NULL, 0, 1, NULL, &base));
    for (int i = 0; i < 3; i++) {
        char *dir = g_dir_make_tmp("ckptsim-notify-XXXXXX", NULL);
        SimRunResult r;
        ck_assert_msg(run_with(faults[i], 0, 1, dir, &r), "%s violated", faults[i]);
        ck_assert_uint_ne(r.trace_hash, base.trace_hash);
        char *what = g_strdup_printf("notify_complete of checkpoint 3 to process 1 %s",
                                     seen[i]);
        ck_assert_int_eq(trace_count(dir, what), 1);
        what[strlen(what) - strlen(seen[i]) - 2] = '2'; /* "... to process 2 ..." */
        ck_assert_int_eq(trace_count(dir, what), 1);
        ck_assert_int_eq(trace_count(dir, "notify_complete of checkpoint 4"), 0);
        g_free(what);
        sim_run_result_clear(&r);
        rm_rf(dir);
        g_free(dir);
    }
    sim_run_result_clear(&base);
}
END_TEST

/* "to worker-2" leaves worker-1's notification alone. */
START_TEST(test_target_filter) {
    char *dir = g_dir_make_tmp("ckptsim-notify-XXXXXX", NULL);
    SimRunResult r;
    ck_assert(run_with("at 0 s: notify-drop of checkpoint 2 to worker-2", 0, 2, dir, &r));
    ck_assert_int_eq(trace_count(dir, "notify_complete of checkpoint 2 to process 2 dropped"), 1);
    ck_assert_int_eq(trace_count(dir, "to process 1 dropped"), 0);
    sim_run_result_clear(&r);
    rm_rf(dir);
    g_free(dir);
}
END_TEST

/* The planted recommit bug needs a duplicate: caught with it, silent without. */
START_TEST(test_duplicate_catches_recommit_bug) {
    uint64_t bug = rt_bug_by_name("sink-recommit-on-duplicate-notify");
    ck_assert_uint_ne(bug, 0);
    SimRunResult r;
    ck_assert(run_with(NULL, bug, 1, NULL, &r));
    sim_run_result_clear(&r);
    ck_assert(!run_with("at 0 s: notify-duplicate of checkpoint 3", bug, 1, NULL, &r));
    bool exactly_once = false;
    for (guint i = 0; i < r.violations->len; i++)
        exactly_once |= strcmp(((SimViolation *)g_ptr_array_index(r.violations, i))->invariant,
                               "exactly-once") == 0;
    ck_assert(exactly_once);
    sim_run_result_clear(&r);
}
END_TEST

static Suite *notify_faults_suite(void) {
    Suite *s = suite_create("notify_faults");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_modes_take_effect);
    tcase_add_test(tc, test_target_filter);
    tcase_add_test(tc, test_duplicate_catches_recommit_bug);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(notify_faults_suite());
}
