/* test_scenario_parse.c - the scenario loader (sim/harness/sim_scenario.h) and the
 * fault statement parser (sim/faults/sim_fault_plan.h): a good file loads with its
 * values; every kind of error names file:line: key; unknown keys suggest the nearest
 * valid one; --set overrides scenario and Flink keys. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/faults/sim_fault_plan.h"
#include "sim/harness/sim_keys.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

static const char *good =
    "# a comment\n"
    "[scenario]\n"
    "name = good\n"
    "description = a small pipeline\n"
    "seed = 7\n"
    "time-limit = 30 s\n"
    "faults-stop-at = 10 s\n"
    "\n"
    "[cluster]\n"
    "jobmanagers = 1\n"
    "workers = 3\n"
    "slots = 4\n"
    "\n"
    "[operator source]\n"
    "kind = source\n"
    "parallelism = 2\n"
    "records = 500\n"
    "keys = 8\n"
    "distribution = zipf\n"
    "zipf-exponent = 1.2\n"
    "\n"
    "[operator.count]\n"
    "kind = counter\n"
    "parallelism = 3\n"
    "\n"
    "[operator sink]\n"
    "kind = sink\n"
    "\n"
    "[edges]\n"
    "source -> count = keyBy\n"
    "count -> sink = rebalance\n"
    "\n"
    "[config]\n"
    "execution.checkpointing.interval = 200 ms\n"
    "state.backend.type = hashmap\n"
    "\n"
    "[network]\n"
    "latency = uniform:1ms:3ms\n"
    "link.worker-1.worker-2 = constant:5ms\n"
    "\n"
    "[faults]\n"
    "kill = at 2 s: crash worker-2 restart after 500 ms\n"
    "mid-align = when align_start of checkpoint 3 on count[1]: crash this\n"
    "after-ack = when 2nd ckpt_ack of checkpoint 4 after 2 s + 1 ms: crash jobmanager-1\n"
    "cut = at 3s: partition worker-1 | worker-2 worker-3 for 1 s\n"
    "slow = at 4 s: spike worker-1 -> * + 50 ms for 2 s\n"
    "disk = when snapshot_persisted of checkpoint 2: storage-error eio on chk count 2\n"
    "zk = at 5 s: zk-disconnect jobmanager-1 for 1 s\n"
    "\n"
    "[random-faults]\n"
    "crash-rate = 0.1\n"
    "\n"
    "[expect]\n"
    "exactly-once = true\n"
    "min-completed-checkpoints = 2\n";

static SimScenario *load(const char *text, const char *const *sets, char **msg) {
    GError *e = NULL;
    SimScenario *s = sim_scenario_load_text("t.ini", text, sets, &e);
    *msg = e ? g_strdup(e->message) : NULL;
    if (e)
        g_error_free(e);
    return s;
}

/* Loads text with one line replaced/added and expects an error containing want. */
static void expect_error(const char *text, const char *const *sets, const char *want) {
    char *msg = NULL;
    SimScenario *s = load(text, sets, &msg);
    ck_assert_msg(s == NULL, "expected an error containing '%s'", want);
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(strstr(msg, want) != NULL, "error '%s' lacks '%s'", msg, want);
    g_free(msg);
}

static char *replace(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    ck_assert_ptr_nonnull(at);
    return g_strdup_printf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

START_TEST(test_good_file) {
    char *msg = NULL;
    SimScenario *s = load(good, NULL, &msg);
    ck_assert_msg(s != NULL, "%s", msg ? msg : "");
    ck_assert_str_eq(s->name, "good");
    ck_assert_uint_eq(s->seed, 7);
    ck_assert_uint_eq(s->time_limit_ns, 30000000000ull);
    ck_assert_uint_eq(s->faults_stop_ns, 10000000000ull);
    ck_assert_uint_eq(s->n_workers, 3);
    ck_assert_uint_eq(s->graph.operators->len, 3);
    const RtOperatorSpec *src = g_ptr_array_index(s->graph.operators, 0);
    ck_assert_str_eq(src->name, "source");
    ck_assert_int_eq(src->kind, RT_OP_SOURCE);
    ck_assert_uint_eq(src->parallelism, 2);
    ck_assert_uint_eq(src->records, 500);
    ck_assert_int_eq(src->distribution, RT_KEYS_ZIPF);
    ck_assert_int_eq(sim_scenario_operator(s, "count"), 1);
    ck_assert_uint_eq(s->graph.edges->len, 2);
    RtEdgeSpec e0 = g_array_index(s->graph.edges, RtEdgeSpec, 0);
    ck_assert_int_eq(e0.partitioning, RT_PART_KEYBY);
    ck_assert_str_eq(rt_config_get(s->config, "state.backend.type"), "hashmap");
    ck_assert_uint_eq(s->links->len, 1);
    ck_assert_uint_eq(s->faults->len, 7);
    const SimFault *kill = g_ptr_array_index(s->faults, 0);
    ck_assert_str_eq(kill->name, "kill");
    ck_assert_int_eq(kill->trigger.kind, SIM_TRIGGER_AT);
    ck_assert_uint_eq(kill->trigger.at_ns, 2000000000ull);
    ck_assert_int_eq(kill->action.kind, SIM_FAULT_CRASH);
    ck_assert_uint_eq(kill->action.target.index, 1);
    ck_assert_uint_eq(kill->action.restart_after_ns, 500000000ull);
    const SimFault *mid = g_ptr_array_index(s->faults, 1);
    ck_assert_int_eq(mid->trigger.event, RT_EV_ALIGN_START);
    ck_assert_uint_eq(mid->trigger.checkpoint_id, 3);
    ck_assert_int_eq(mid->trigger.op, 1);
    ck_assert_int_eq(mid->trigger.index, 1);
    ck_assert_int_eq(mid->action.target.kind, SIM_PROC_THIS);
    const SimFault *ack = g_ptr_array_index(s->faults, 2);
    ck_assert_uint_eq(ack->trigger.nth, 2);
    ck_assert_uint_eq(ack->trigger.delay_ns, 1000000ull);
    ck_assert_uint_eq(ack->trigger.after_ns, 2000000000ull);
    const SimFault *cut = g_ptr_array_index(s->faults, 3);
    ck_assert_uint_eq(cut->action.side_a, 1ull << 8);
    ck_assert_uint_eq(cut->action.side_b, (1ull << 9) | (1ull << 10));
    const SimFault *disk = g_ptr_array_index(s->faults, 5);
    ck_assert_str_eq(disk->action.prefix, "chk");
    ck_assert_uint_eq(disk->action.count, 2);
    const SimFault *zk = g_ptr_array_index(s->faults, 6);
    ck_assert_int_eq(zk->action.kind, SIM_FAULT_ZK_DISCONNECT);
    ck_assert_uint_eq(zk->action.duration_ns, 1000000000ull);
    ck_assert(s->expect.exactly_once);
    ck_assert_uint_eq(s->expect.min_completed_checkpoints, 2);
    sim_scenario_free(s);
}
END_TEST

START_TEST(test_unknown_key_suggests) {
    char *t = replace(good, "seed = 7\n", "sed = 7\n");
    expect_error(t, NULL, "t.ini:5: [scenario] sed: unknown key (did you mean 'seed'?)");
    g_free(t);
    t = replace(good, "execution.checkpointing.interval", "execution.checkpointing.intervall");
    expect_error(t, NULL, "t.ini:34: [config] execution.checkpointing.intervall: unknown "
                          "key (did you mean 'execution.checkpointing.interval'?)");
    g_free(t);
    expect_error("[scenario]\nname = bad\nno_such_key = 1\n", NULL, "t.ini:3: [scenario] no_such_key:");
}
END_TEST

START_TEST(test_bad_values) {
    char *t = replace(good, "workers = 3", "workers = three");
    expect_error(t, NULL, "t.ini:11: [cluster] workers: bad value 'three'");
    g_free(t);
    t = replace(good, "interval = 200 ms", "interval = soon");
    expect_error(t, NULL, "t.ini:34: [config] execution.checkpointing.interval: bad value 'soon'");
    g_free(t);
    t = replace(good, "state.backend.type = hashmap", "state.backend.type = rocks");
    expect_error(t, NULL, "t.ini:35: [config] state.backend.type: bad value 'rocks': expected one of");
    g_free(t);
    t = replace(good, "kind = counter", "kind = counte");
    expect_error(t, NULL, "t.ini:23: [operator.count] kind: bad value 'counte'");
    g_free(t);
    t = replace(good, "latency = uniform:1ms:3ms", "latency = fast");
    expect_error(t, NULL, "t.ini:38: [network] latency: bad value 'fast'");
    g_free(t);
    t = replace(good, "time-limit = 30 s", "time-limit = 30 s # half a minute");
    expect_error(t, NULL, "t.ini:6: [scenario] time-limit: inline comments are not supported");
    g_free(t);
}
END_TEST

START_TEST(test_missing_and_dangling) {
    char *t = replace(good, "[edges]\nsource -> count = keyBy\ncount -> sink = rebalance\n",
                      "");
    expect_error(t, NULL, "[edges]: missing section");
    g_free(t);
    t = replace(good, "count -> sink", "count -> sinc");
    expect_error(t, NULL, "t.ini:31: [edges] count -> sinc: unknown operator 'sinc' (did you mean "
                          "'sink'?)");
    g_free(t);
    t = replace(good, "count -> sink = rebalance", "count -> sink = shuffle");
    expect_error(t, NULL, "t.ini:31: [edges] count -> sink: bad value 'shuffle'");
    g_free(t);
    t = replace(good, "[scenario]\nname = good\n", "[scenario]\n");
    expect_error(t, NULL, "[scenario]: missing required key 'name'");
    g_free(t);
    t = replace(good, "[expect]", "[expects]");
    expect_error(t, NULL, "[expects]: unknown section (did you mean [expect]?)");
    g_free(t);
    t = replace(good, "count -> sink = rebalance", "count -> sink = forward");
    expect_error(t, NULL, "forward needs equal parallelism");
    g_free(t);
    t = replace(good, "slots = 4", "slots = 1");
    expect_error(t, NULL, "t.ini:12: [cluster] slots: 3 workers x 1 slots = 3 slots cannot host");
    g_free(t);
    t = replace(good, "[cluster]", "name = x\n[cluster]");
    expect_error(t, NULL, "t.ini:9: [scenario] name: set twice (first at line 3)");
    g_free(t);
    t = replace(good, "[cluster]", "garbage line\n[cluster]");
    expect_error(t, NULL, "t.ini:9: [scenario] garbage line: not a 'key = value' line");
    g_free(t);
}
END_TEST

START_TEST(test_fault_errors) {
    char *t = replace(good, "crash worker-2 restart", "crash worker-9 restart");
    expect_error(t, NULL, "t.ini:42: [faults] kill: no process 'worker-9': the cluster has 3 workers");
    g_free(t);
    t = replace(good, "on count[1]", "on cuont[1]");
    expect_error(t, NULL, "t.ini:43: [faults] mid-align: unknown operator 'cuont' (did you mean "
                          "'count'?)");
    g_free(t);
    t = replace(good, "on count[1]", "on count[3]");
    expect_error(t, NULL, "operator 'count' has parallelism 3");
    g_free(t);
    t = replace(good, "when align_start", "when align_begin");
    expect_error(t, NULL, "'align_begin' is not an event");
    g_free(t);
    t = replace(good, "at 2 s: crash", "at 12 s: crash");
    expect_error(t, NULL, "t.ini:42: [faults] kill: fires at or after [scenario] faults-stop-at");
    g_free(t);
    t = replace(good, "at 2 s: crash", "at 2 s: smash");
    expect_error(t, NULL, "unknown action 'smash'");
    g_free(t);
}
END_TEST

START_TEST(test_set_overrides) {
    const char *sets[] = {"state.backend.type=filesystem", "cluster.workers=4",
                          "operator.source.records=99", "scenario.seed=11", NULL};
    char *msg = NULL;
    SimScenario *s = load(good, sets, &msg);
    ck_assert_msg(s != NULL, "%s", msg ? msg : "");
    ck_assert_str_eq(rt_config_get(s->config, "state.backend.type"), "filesystem");
    ck_assert_uint_eq(s->n_workers, 4);
    ck_assert_uint_eq(((RtOperatorSpec *)g_ptr_array_index(s->graph.operators, 0))->records,
                      99);
    ck_assert_uint_eq(s->seed, 11);
    /* The capsule text is the file before --set. */
    ck_assert_ptr_nonnull(strstr(s->text, "state.backend.type = hashmap"));
    sim_scenario_free(s);
    const char *bad[] = {"state.backend.type=rocksdb", NULL};
    expect_error(good, bad, "t.ini: --set state.backend.type=rocksdb: [config] "
                            "state.backend.type: bad value 'rocksdb'");
    const char *typo[] = {"cluster.wrokers=2", NULL};
    expect_error(good, typo, "--set cluster.wrokers=2: [cluster] wrokers: unknown key "
                             "(did you mean 'workers'?)");
    const char *noeq[] = {"state.backend.type", NULL};
    expect_error(good, noeq, "expected KEY=VALUE");
}
END_TEST

START_TEST(test_file_errors_name_file) {
    char path[] = "/tmp/test-scenario-XXXXXX.ini";
    int fd = g_mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "[scenario]\nname = bad\nno_such_key = 1\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    GError *e = NULL;
    ck_assert_ptr_null(sim_scenario_load(path, NULL, &e));
    ck_assert_ptr_nonnull(e);
    char *want = g_strdup_printf("%s:3: [scenario] no_such_key:", path);
    ck_assert_msg(strstr(e->message, want) != NULL, "%s", e->message);
    g_free(want);
    g_error_free(e);
    unlink(path);
    e = NULL;
    ck_assert_ptr_null(sim_scenario_load("/nonexistent/x.ini", NULL, &e));
    ck_assert_int_eq(e->code, SIM_SCENARIO_ERROR_READ);
    ck_assert_ptr_nonnull(strstr(e->message, "/nonexistent/x.ini"));
    g_error_free(e);
}
END_TEST

START_TEST(test_levenshtein_and_random) {
    ck_assert_uint_eq(sim_levenshtein("kitten", "sitting"), 3);
    ck_assert_uint_eq(sim_levenshtein("", "abc"), 3);
    ck_assert_uint_eq(sim_levenshtein("same", "same"), 0);
    const char *c[] = {"workers", "slots", "jobmanagers", NULL};
    ck_assert_str_eq(sim_keys_nearest("wokrers", c), "workers");
    ck_assert_ptr_null(sim_keys_nearest("completely-different", c));
    /* Random faults are a pure function of the seed, and stop at stop_ns. */
    RtJobGraph g = {0};
    SimFaultContext ctx = {1, 3, &g};
    SimRandomFaults rf = {.crash_rate = 2.0, .restart_after_ns = 1000000000ull,
                          .spike_rate = 1.0, .spike_latency_ns = 1, .spike_duration_ns = 2};
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)sim_fault_free);
    GPtrArray *b = g_ptr_array_new_with_free_func((GDestroyNotify)sim_fault_free);
    sim_fault_plan_add_random(a, &rf, 42, 10000000000ull, &ctx);
    sim_fault_plan_add_random(b, &rf, 42, 10000000000ull, &ctx);
    ck_assert_uint_gt(a->len, 5);
    ck_assert_uint_eq(a->len, b->len);
    for (guint i = 0; i < a->len; i++) {
        const SimFault *fa = g_ptr_array_index(a, i), *fb = g_ptr_array_index(b, i);
        ck_assert_str_eq(fa->text, fb->text);
        ck_assert_uint_lt(fa->trigger.at_ns, 10000000000ull);
        /* The generated text parses back to the same fault. */
        SimFault back;
        char *why = NULL;
        ck_assert_msg(sim_fault_parse("x", fa->text, &ctx, &back, &why), "%s: %s", fa->text,
                      why ? why : "");
        ck_assert_uint_eq(back.trigger.at_ns, fa->trigger.at_ns);
        ck_assert_int_eq(back.action.kind, fa->action.kind);
        sim_fault_clear(&back);
    }
    g_ptr_array_free(a, TRUE);
    g_ptr_array_free(b, TRUE);
}
END_TEST

static Suite *scenario_parse_suite(void) {
    Suite *s = suite_create("scenario_parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_good_file);
    tcase_add_test(tc, test_unknown_key_suggests);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_missing_and_dangling);
    tcase_add_test(tc, test_fault_errors);
    tcase_add_test(tc, test_set_overrides);
    tcase_add_test(tc, test_file_errors_name_file);
    tcase_add_test(tc, test_levenshtein_and_random);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(scenario_parse_suite());
}
