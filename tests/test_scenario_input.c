/* test_scenario_input.c - the scenario loader's handling of what users get wrong
 * (sim_scenario.h, sim_keys.h): the one error format "FILE:LINE: [section] key: message"
 * in line order with a cap, "did you mean" only for close names, a few errors (not 20)
 * for config.yaml habits and the 'key: value' form accepted in [config], error reporting
 * linear in the input, --set keys validated (also as read from a capsule), bounded reads
 * refusing /dev/zero, FIFOs and oversize files before reading, strict integers, jobs too
 * large for memory, the slot-sharing figure, and the load-time warnings for the HA
 * session timeout and the checkpoint interval. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/harness/sim_capsule.h"
#include "sim/harness/sim_keys.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

static const char *base =
    "[scenario]\n"            /* 1 */
    "name = t\n"              /* 2 */
    "time-limit = 30 s\n"     /* 3 */
    "liveness-bound = 10 s\n" /* 4 */
    "[cluster]\n"             /* 5 */
    "workers = 2\n"           /* 6 */
    "slots = 4\n"             /* 7 */
    "[operator source]\n"     /* 8 */
    "kind = source\n"         /* 9 */
    "parallelism = 2\n"       /* 10 */
    "[operator sink]\n"       /* 11 */
    "kind = sink\n"           /* 12 */
    "parallelism = 2\n"       /* 13 */
    "[edges]\n"               /* 14 */
    "source -> sink = forward\n" /* 15 */
    "[config]\n"              /* 16 */
    "execution.checkpointing.interval = 200 ms\n"; /* 17 */

static SimScenario *load(const char *text, const char *const *sets, char **msg) {
    GError *e = NULL;
    SimScenario *s = sim_scenario_load_text("t.ini", text, sets, &e);
    *msg = e ? g_strdup(e->message) : NULL;
    g_clear_error(&e);
    return s;
}

static char *expect_fail(const char *text, const char *const *sets) {
    char *msg = NULL;
    SimScenario *s = load(text, sets, &msg);
    ck_assert_msg(s == NULL, "loaded, expected an error");
    ck_assert_ptr_nonnull(msg);
    return msg;
}

static void expect_error(const char *text, const char *const *sets, const char *want) {
    char *msg = expect_fail(text, sets);
    ck_assert_msg(strstr(msg, want) != NULL, "error '%s' lacks '%s'", msg, want);
    g_free(msg);
}

static SimScenario *expect_load(const char *text, const char *const *sets) {
    char *msg = NULL;
    SimScenario *s = load(text, sets, &msg);
    ck_assert_msg(s != NULL, "%s", msg ? msg : "");
    return s;
}

static bool has_note(const SimScenario *s, const char *want) {
    for (guint i = 0; i < s->notes->len; i++)
        if (strstr(g_ptr_array_index(s->notes, i), want) != NULL)
            return true;
    return false;
}

static unsigned count_lines(const char *s) {
    unsigned n = 1;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

START_TEST(test_config_colon_form) {
    char *t = g_strconcat(base, "restart-strategy.type: \"fixed-delay\"\n"
                                "restart-strategy.fixed-delay.delay: 250 ms\n"
                                "env.java.opts.all = -Dx=1\n", NULL);
    /* env.java.opts.all is unknown: the point is that '=' before ':' still splits at '='. */
    expect_error(t, NULL, "t.ini:20: [config] env.java.opts.all: unknown key");
    g_free(t);
    t = g_strconcat(base, "restart-strategy.type: \"fixed-delay\"\n"
                          "restart-strategy.fixed-delay.delay: 250 ms\n", NULL);
    SimScenario *s = expect_load(t, NULL);
    ck_assert_str_eq(rt_config_get(s->config, "restart-strategy.type"), "fixed-delay");
    ck_assert_str_eq(rt_config_get(s->config, "restart-strategy.fixed-delay.delay"), "250 ms");
    sim_scenario_free(s);
    g_free(t);
    /* Nested YAML is --flink-conf's business. */
    t = g_strconcat(base, "execution:\n  checkpointing:\n", NULL);
    expect_error(t, NULL, "t.ini:18: [config] execution: no value: nested YAML maps are read "
                          "by --flink-conf");
    g_free(t);
}
END_TEST

/* 20 'key: value' lines outside [config]: three errors that say what to write, then one
 * line for the rest; not 20 identical errors hitting the cap. */
START_TEST(test_colon_lines_elsewhere) {
    GString *t = g_string_new("[scenario]\n");
    for (int i = 0; i < 20; i++)
        g_string_append_printf(t, "key%d: %d\n", i, i);
    char *msg = expect_fail(t->str, NULL);
    ck_assert_msg(strstr(msg, "t.ini:2: [scenario] key0: write 'key0 = 0': the 'key: value' "
                              "form of Flink's config.yaml is accepted in [config] only") != NULL,
                  "%s", msg);
    ck_assert_msg(strstr(msg, "t.ini:5: ... and 17 more lines like these") != NULL, "%s", msg);
    ck_assert_uint_eq(count_lines(msg), 4);
    g_free(msg);
    g_string_free(t, TRUE);
}
END_TEST

/* Errors found by different stages come out in line order, capped with a count. */
START_TEST(test_line_order_and_cap) {
    char *t = g_strconcat(base, "no.such.key = 1\n", NULL);
    char *u = g_strdup(t);
    char *at = strstr(u, "workers = 2");
    memcpy(at, "wrkers = 2 ", 11);
    char *msg = expect_fail(u, NULL);
    /* [cluster] (line 6) is checked after the config line 18 would be, if not sorted. */
    char *a = strstr(msg, "t.ini:6: [cluster] wrkers: unknown key (did you mean 'workers'?)");
    char *b = strstr(msg, "t.ini:18: [config] no.such.key: unknown key");
    ck_assert_msg(a != NULL && b != NULL && a < b, "%s", msg);
    g_free(msg);
    g_free(u);
    g_free(t);
    GString *many = g_string_new(base);
    for (int i = 0; i < 50; i++)
        g_string_append_printf(many, "bogus.key%d = 1\n", i);
    msg = expect_fail(many->str, NULL);
    ck_assert_uint_eq(count_lines(msg), SIM_ERRLIST_MAX + 1);
    ck_assert_msg(strstr(msg, "t.ini:18: [config] bogus.key0:") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "t.ini: ... and 30 more errors") != NULL, "%s", msg);
    g_free(msg);
    g_string_free(many, TRUE);
}
END_TEST

/* No dump of every valid key when nothing is close. */
START_TEST(test_no_key_dump) {
    char *t = g_strdup(base);
    char *at = strstr(t, "slots = 4");
    memcpy(at, "zzzzz = 4", 9);
    char *msg = expect_fail(t, NULL);
    ck_assert_msg(strstr(msg, "t.ini:7: [cluster] zzzzz: unknown key (the keys of [cluster] "
                              "are in scenarios/README.md)") != NULL, "%s", msg);
    ck_assert_ptr_null(strstr(msg, "valid keys"));
    ck_assert_ptr_null(strstr(msg, "jobmanagers"));
    g_free(msg);
    g_free(t);
    const char *c[] = {"map", "sink", NULL};
    ck_assert_ptr_null(sim_keys_nearest("a", c));
    ck_assert_str_eq(sim_keys_nearest("snk", c), "sink");
}
END_TEST

/* A line naming 40 000 unknown operators: errors bounded in size and time. */
/* Loads an [edges] line naming n unknown operators; returns the time taken (us) and
 * checks the errors stay short and capped. */
static gint64 edge_line_load_us(int n) {
    GString *t = g_string_new(NULL);
    char *head = g_strndup(base, (size_t)(strstr(base, "source -> sink") - base));
    g_string_append(t, head);
    for (int i = 0; i < n; i++)
        g_string_append_printf(t, "%sop%d", i > 0 ? " -> " : "", i);
    g_string_append(t, " = forward\n[config]\nexecution.checkpointing.interval = 200 ms\n");
    gint64 t0 = g_get_monotonic_time();
    char *msg = expect_fail(t->str, NULL);
    gint64 took = g_get_monotonic_time() - t0;
    ck_assert_msg(strlen(msg) < 8192, "%zu bytes of errors", strlen(msg));
    ck_assert_msg(strstr(msg, "unknown operator 'op0'") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "... and ") != NULL, "%s", msg);
    g_free(msg);
    g_free(head);
    g_string_free(t, TRUE);
    return took;
}

START_TEST(test_edge_line_linear) {
    /* Linear, not quadratic, in the line's length: ten times the operators may take about
     * ten times as long, never a hundred (measured against itself, so a slow machine or a
     * sanitizer build does not fail it; 69 s was the quadratic figure). */
    gint64 small = edge_line_load_us(4000);
    gint64 large = edge_line_load_us(40000);
    ck_assert_msg(large < 40 * small + 200000, "4000 operators: %lld us, 40000: %lld us",
                  (long long)small, (long long)large);
}
END_TEST

START_TEST(test_set_keys_validated) {
    const char *bad[][2] = {
        {"x]=1", "--set x]=1: bad key 'x]': ']' cannot appear"},
        {"scenario.=1", "--set scenario.=1: bad key 'scenario.': a dotted key has no empty"},
        {"=1", "--set =1: bad key '': empty key"},
        {"a b=1", "--set a b=1: bad key 'a b': a key has no spaces"},
        {" cluster.workers=1", "bad key ' cluster.workers': a key has no spaces"},
        {"operator..kind=map", "a dotted key has no empty part"},
        {"novalue", "--set novalue: expected KEY=VALUE"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *sets[] = {"cluster.workers=2", bad[i][0], NULL};
        expect_error(base, sets, bad[i][1]);
    }
    const char *good[] = {"cluster.workers=3", "high-availability.storageDir=ha", NULL};
    SimScenario *s = expect_load(base, good);
    ck_assert_uint_eq(s->n_workers, 3);
    sim_scenario_free(s);
    /* '>' passes in an edge key: the edge reaches the loader (which sees it twice). */
    const char *edge[] = {"edges.source->sink=rebalance", NULL};
    expect_error(base, edge, "[edges] source->sink: this edge is declared twice");
    char *why = NULL;
    ck_assert(!sim_set_key_check("cluster.a->b", &why));
    g_free(why);
    ck_assert(!sim_set_key_check("a\tb", &why));
    g_free(why);
    ck_assert(sim_set_key_check("execution.checkpointing.interval", &why));
}
END_TEST

/* The same keys through the command line and through a capsule: exit 2, not 0. */
START_TEST(test_set_keys_exit_2) {
    const char *keys[] = {"x]=1", "scenario.=1", "=1", "a b=1"};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        TestProcOut o = test_proc_ckptsim("run", "scenarios/linear.ini", "--set", keys[i],
                                          NULL);
        ck_assert_msg(o.status == 2, "--set '%s': exit %d", keys[i], o.status);
        ck_assert_msg(strstr(o.err, keys[i]) != NULL, "%s", o.err);
        ck_assert_ptr_null(strstr(o.err, "CRITICAL"));
        test_proc_out_clear(&o);
    }
    char *dir = test_proc_tmp_dir("ckptsim-input-XXXXXX");
    char *cap = g_build_filename(dir, "bad.capsule", NULL);
    char *text = NULL;
    char *src = g_build_filename(g_getenv("CKPTSIM_SOURCE_ROOT"), "scenarios/linear.ini", NULL);
    ck_assert(g_file_get_contents(src, &text, NULL, NULL));
    char *sets[] = {"x]=1", NULL};
    char *none[] = {NULL};
    SimCapsule c = {.scenario_path = "scenarios/linear.ini", .scenario_name = "linear",
                    .scenario_text = text, .sets = sets, .bugs = none, .seed = 1};
    GError *e = NULL;
    ck_assert_msg(sim_capsule_write(&c, cap, &e), "%s", e ? e->message : "");
    TestProcOut o = test_proc_ckptsim("replay", cap, NULL);
    ck_assert_msg(o.status == 2, "replay: exit %d: %s", o.status, o.err);
    ck_assert_msg(strstr(o.err, "--set x]=1: bad key") != NULL, "%s", o.err);
    test_proc_out_clear(&o);
    g_free(text);
    g_free(src);
    test_proc_remove_tree(dir);
    g_free(cap);
    g_free(dir);
}
END_TEST

static void expect_read_refused(const char *path, const char *want) {
    char *text = NULL;
    GError *e = NULL;
    ck_assert(!sim_read_text_file(path, SIM_SCENARIO_MAX_BYTES, "scenario", &text, &e));
    ck_assert_ptr_null(text);
    ck_assert_int_eq(e->code, SIM_SCENARIO_ERROR_READ);
    ck_assert_msg(strstr(e->message, want) != NULL, "%s lacks %s", e->message, want);
    g_error_free(e);
}

START_TEST(test_bounded_reads) {
    expect_read_refused("/dev/zero", "/dev/zero: not a regular file");
    char *dir = test_proc_tmp_dir("ckptsim-input-XXXXXX");
    char *fifo = g_build_filename(dir, "fifo.ini", NULL);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    expect_read_refused(fifo, "not a regular file"); /* returns at once: no writer needed */
    char *sparse = g_build_filename(dir, "sparse.ini", NULL);
    int fd = open(sparse, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 1ll << 30), 0);
    close(fd);
    expect_read_refused(sparse, "has 1073741824 bytes, over the limit of 1048576 bytes");
    char *bin = g_build_filename(dir, "nul.ini", NULL);
    ck_assert(g_file_set_contents(bin, "[scenario]\nname = a\0b\n", 22, NULL));
    expect_read_refused(bin, "not a UTF-8 text file");
    TestProcOut o = test_proc_ckptsim("run", "/dev/zero", NULL);
    ck_assert_int_eq(o.status, 2);
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(fifo);
    g_free(sparse);
    g_free(bin);
    g_free(dir);
}
END_TEST

START_TEST(test_strict_integers) {
    const char *bad[] = {"workers = -1", "workers = +2", "workers = 99999999999999999999",
                         "workers = 0x2", "workers = 2.0", "workers = 18446744073709551618"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *t = g_strdup(base);
        GString *g = g_string_new(NULL);
        char *at = strstr(t, "workers = 2");
        g_string_append_len(g, t, at - t);
        g_string_append(g, bad[i]);
        g_string_append(g, at + strlen("workers = 2"));
        expect_error(g->str, NULL, "t.ini:6: [cluster] workers: bad value");
        g_string_free(g, TRUE);
        g_free(t);
    }
    const char *sets[] = {"operator.source.parallelism=-1", NULL};
    expect_error(base, sets, "[operator source] parallelism: bad value '-1'");
    const char *plus[] = {"scenario.time-limit=+5 s", NULL};
    expect_error(base, plus, "[scenario] time-limit: bad value '+5 s': expected a number "
                             "without a sign");
    const char *cfg[] = {"execution.checkpointing.interval=+200 ms", NULL};
    expect_error(base, cfg, "[config] execution.checkpointing.interval: bad value '+200 ms': "
                            "expected a number without a sign");
}
END_TEST

/* 64 operators x parallelism 64, all-to-all: refused at load with its figures. */
START_TEST(test_job_too_large) {
    GString *t = g_string_new("[scenario]\nname = big\n[cluster]\nworkers = 32\nslots = 256\n");
    for (int i = 0; i < 64; i++)
        g_string_append_printf(t, "[operator o%d]\nkind = %s\nparallelism = 64\n", i,
                               i == 0 ? "source" : i == 63 ? "sink" : "map");
    g_string_append(t, "[edges]\n");
    for (int i = 0; i < 63; i++)
        g_string_append_printf(t, "o%d -> o%d = rebalance\n", i, i + 1);
    char *msg = expect_fail(t->str, NULL);
    ck_assert_msg(strstr(msg, "[edges]: the job is too large for memory: 64 operators, 4096 "
                              "subtasks (operators x parallelism), 258048 channels") != NULL,
                  "%s", msg);
    ck_assert_msg(strstr(msg, "MiB estimated, over the limit of 2048 MiB") != NULL, "%s", msg);
    g_free(msg);
    /* The same job with forward edges fits. */
    char *fwd = g_strdup(t->str);
    for (char *p = strstr(fwd, "rebalance"); p != NULL; p = strstr(p, "rebalance"))
        memcpy(p, "forward  ", 9);
    SimScenario *s = expect_load(fwd, NULL);
    sim_scenario_free(s);
    g_free(fwd);
    g_string_free(t, TRUE);
}
END_TEST

START_TEST(test_slot_sharing_figure) {
    const char *sets[] = {"cluster.slots=1", NULL};
    expect_error(base, sets, "2 workers x 1 slots = 2 slots cannot host the job's 4 subtasks: "
                             "ckptsim gives every subtask a slot of its own (Flink's slot "
                             "sharing would need only 2, the highest parallelism); raise "
                             "slots to 2 or workers to 4");
}
END_TEST

static const char *ha_sets[] = {"cluster.jobmanagers=2", "high-availability.type=zookeeper",
                                "high-availability.zookeeper.quorum=zk-1:2181",
                                "high-availability.storageDir=ha",
                                "faults.kill=at 1 s: crash jobmanager-1", NULL};

START_TEST(test_hint_session_timeout) {
    /* Flink's default session timeout (60 s, clamped to 20 ticks = 40 s) vs a 10 s bound. */
    SimScenario *s = expect_load(base, ha_sets);
    ck_assert_msg(has_note(s, "[scenario] liveness-bound: warning: 10 s is not longer than the "
                              "session timeout"), "no warning");
    ck_assert(has_note(s, "ZooKeeper clamps to 2..20 x tickTime = 4..40 s"));
    sim_scenario_free(s);
    /* Control: a 4 s session timeout fits in the bound. */
    GPtrArray *sets = g_ptr_array_new();
    for (const char *const *p = ha_sets; *p != NULL; p++)
        g_ptr_array_add(sets, (gpointer)*p);
    g_ptr_array_add(sets, "high-availability.zookeeper.client.session-timeout=4 s");
    g_ptr_array_add(sets, NULL);
    s = expect_load(base, (const char *const *)sets->pdata);
    ck_assert_msg(!has_note(s, "warning"), "spurious warning");
    sim_scenario_free(s);
    g_ptr_array_free(sets, TRUE);
}
END_TEST

START_TEST(test_hint_interval) {
    const char *zero[] = {"execution.checkpointing.interval=0", NULL};
    SimScenario *s = expect_load(base, zero);
    ck_assert(has_note(s, "[config] execution.checkpointing.interval: warning: no periodic "
                          "checkpoints (unset or 0): the two-phase-commit sink commits only"));
    sim_scenario_free(s);
    const char *hour[] = {"execution.checkpointing.interval=1 h", NULL};
    s = expect_load(base, hour);
    ck_assert(has_note(s, "warning: 3.6e+03 s is not shorter than [scenario] time-limit"));
    sim_scenario_free(s);
    const char *slow[] = {"execution.checkpointing.interval=15 s", NULL};
    s = expect_load(base, slow);
    ck_assert(has_note(s, "warning: 15 s is not shorter than [scenario] liveness-bound"));
    sim_scenario_free(s);
    s = expect_load(base, NULL);
    ck_assert_uint_eq(s->notes->len, 0);
    sim_scenario_free(s);
}
END_TEST

/* What the job manager would refuse at start is an error at load, with its line. */
START_TEST(test_runtime_config_at_load) {
    char *t = g_strconcat(base, "high-availability.type = zookeeper\n", NULL);
    expect_error(t, NULL, "t.ini:18: [config] high-availability.type: "
                          "high-availability.zookeeper.quorum is not set");
    g_free(t);
    t = g_strconcat(base, "high-availability.type = zookeeper\n"
                          "high-availability.zookeeper.quorum = zk-1:2181\n", NULL);
    expect_error(t, NULL, "t.ini:18: [config] high-availability.type: "
                          "high-availability.storageDir: required");
    g_free(t);
    t = g_strconcat(base, "high-availability.type = zookeeper\n"
                          "high-availability.zookeeper.quorum = zk-1:2181\n"
                          "high-availability.storageDir = ha\n", NULL);
    SimScenario *s = expect_load(t, NULL);
    sim_scenario_free(s);
    g_free(t);
}
END_TEST

static Suite *input_suite(void) {
    Suite *s = suite_create("scenario_input");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_config_colon_form);
    tcase_add_test(tc, test_colon_lines_elsewhere);
    tcase_add_test(tc, test_line_order_and_cap);
    tcase_add_test(tc, test_no_key_dump);
    tcase_add_test(tc, test_edge_line_linear);
    tcase_add_test(tc, test_set_keys_validated);
    tcase_add_test(tc, test_set_keys_exit_2);
    tcase_add_test(tc, test_bounded_reads);
    tcase_add_test(tc, test_strict_integers);
    tcase_add_test(tc, test_job_too_large);
    tcase_add_test(tc, test_slot_sharing_figure);
    tcase_add_test(tc, test_hint_session_timeout);
    tcase_add_test(tc, test_hint_interval);
    tcase_add_test(tc, test_runtime_config_at_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(input_suite());
}
