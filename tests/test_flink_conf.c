/* test_flink_conf.c - `--flink-conf FILE` (sim/harness/sim_flink_conf.h): a Flink
 * config.yaml, flat or nested, through the key registry; errors "FILE:LINE: [config] key:
 * message"; deployment keys ignored with a note; precedence [config] < --flink-conf <
 * --set; and end to end, tests/data/flink-config.yaml (checkpointing, restart and HA
 * keys) running scenarios/ha-leader-crash.ini unchanged, its keys reaching the run. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "sim/harness/sim_flink_conf.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

typedef struct Parsed {
    bool ok;
    GPtrArray *sets, *notes;
    char *error;
} Parsed;

static Parsed parse(const char *text) {
    Parsed p = {false, g_ptr_array_new_with_free_func(g_free),
                g_ptr_array_new_with_free_func(g_free), NULL};
    GError *e = NULL;
    p.ok = sim_flink_conf_parse("c.yaml", text, p.sets, p.notes, &e);
    p.error = e ? g_strdup(e->message) : NULL;
    g_clear_error(&e);
    return p;
}

static void parsed_clear(Parsed *p) {
    g_ptr_array_free(p->sets, TRUE);
    g_ptr_array_free(p->notes, TRUE);
    g_free(p->error);
}

static void expect_parse_error(const char *text, const char *want) {
    Parsed p = parse(text);
    ck_assert_msg(!p.ok, "parsed: %s", text);
    ck_assert_msg(strstr(p.error, want) != NULL, "'%s' lacks '%s'", p.error, want);
    parsed_clear(&p);
}

START_TEST(test_flat_and_nested) {
    Parsed p = parse("# Flink\n"
                     "execution.checkpointing.interval: 300 ms\n"
                     "restart-strategy:\n"
                     "  type: fixed-delay\n"
                     "  fixed-delay:\n"
                     "    attempts: 3\n"
                     "    delay: \"2 s\"\n"
                     "jobmanager.rpc.address: localhost\n"
                     "pipeline.max-parallelism: 128\n");
    ck_assert_msg(p.ok, "%s", p.error ? p.error : "");
    const char *want[] = {"config.execution.checkpointing.interval=300 ms",
                          "config.restart-strategy.type=fixed-delay",
                          "config.restart-strategy.fixed-delay.attempts=3",
                          "config.restart-strategy.fixed-delay.delay=2 s",
                          "config.pipeline.max-parallelism=128"};
    ck_assert_uint_eq(p.sets->len, G_N_ELEMENTS(want));
    for (guint i = 0; i < G_N_ELEMENTS(want); i++)
        ck_assert_str_eq(g_ptr_array_index(p.sets, i), want[i]);
    ck_assert_uint_eq(p.notes->len, 1);
    ck_assert_str_eq(g_ptr_array_index(p.notes, 0), "c.yaml:8: [config] jobmanager.rpc.address: "
                                                    "ignored: not a key the simulation reads "
                                                    "(deployment, resources)");
    parsed_clear(&p);
    /* A list value is joined with ';' (then refused here: not a path). */
    expect_parse_error("execution.checkpointing.dir:\n  - a\n  - b\n",
                       "c.yaml:1: [config] execution.checkpointing.dir:");
}
END_TEST

START_TEST(test_errors_with_lines) {
    expect_parse_error("a: 1\nexecution.checkpointing.interval: soon\n",
                       "c.yaml:2: [config] execution.checkpointing.interval: bad value 'soon'");
    expect_parse_error("execution:\n  checkpointing:\n    intervall: 1 s\n",
                       "c.yaml:3: [config] execution.checkpointing.intervall: unknown key "
                       "(did you mean 'execution.checkpointing.interval'?)");
    expect_parse_error("high-availability.nonsense: 1\n",
                       "c.yaml:1: [config] high-availability.nonsense: unknown key");
    expect_parse_error("state.backend.type: rocksdb\n",
                       "c.yaml:1: [config] state.backend.type: bad value 'rocksdb'");
    expect_parse_error("state.backend.type: hashmap\nstate:\n  backend:\n    type: hashmap\n",
                       "c.yaml:4: [config] state.backend.type: set twice (first at line 1)");
    expect_parse_error("a: [unclosed\n", "c.yaml:2: not valid YAML");
    expect_parse_error("- a\n- b\n", "c.yaml:1: a Flink config.yaml is a map of keys");
    expect_parse_error("x: &a 1\ny: *a\n", "YAML aliases");
    expect_parse_error("execution.checkpointing.interval:\n",
                       "c.yaml:1: [config] execution.checkpointing.interval: empty value");
    expect_parse_error("\"bad key]\": 1\n", "c.yaml:1: [config] bad key]: bad key");
    expect_parse_error("restart-strategy.fixed-delay.attempts: -1\n",
                       "c.yaml:1: [config] restart-strategy.fixed-delay.attempts: bad value "
                       "'-1': expected a number without a sign");
    /* Errors come in line order, whatever the nesting. */
    Parsed p = parse("z.state.x: 1\nstate:\n  a: 1\nexecution.checkpointing.timeout: x\n");
    ck_assert(!p.ok);
    char *a = strstr(p.error, "c.yaml:3:"), *b = strstr(p.error, "c.yaml:4:");
    ck_assert_msg(a != NULL && b != NULL && a < b, "%s", p.error);
    parsed_clear(&p);
    /* Empty file: no keys, no error. */
    p = parse("# nothing\n");
    ck_assert(p.ok);
    ck_assert_uint_eq(p.sets->len, 0);
    parsed_clear(&p);
}
END_TEST

/* Precedence: [config] < --flink-conf < --set. */
START_TEST(test_precedence) {
    char *dir = test_proc_tmp_dir("ckptsim-flinkconf-XXXXXX");
    char *path = g_build_filename(dir, "config.yaml", NULL);
    ck_assert(g_file_set_contents(path, "execution:\n  checkpointing:\n    interval: 300 ms\n"
                                        "    timeout: 5 min\n", -1, NULL));
    char **sets = g_strsplit("execution.checkpointing.timeout=7 min", "\n", -1);
    GError *e = NULL;
    ck_assert_msg(sim_flink_conf_merge(path, &sets, NULL, &e), "%s", e ? e->message : "");
    ck_assert_uint_eq(g_strv_length(sets), 3);
    char *src = g_build_filename(g_getenv("CKPTSIM_SOURCE_ROOT"), "scenarios/linear.ini", NULL);
    SimScenario *s = sim_scenario_load(src, (const char *const *)sets, &e);
    ck_assert_msg(s != NULL, "%s", e ? e->message : "");
    /* linear.ini says 200 ms: the file wins over [config]; --set wins over the file. */
    ck_assert_str_eq(rt_config_get(s->config, "execution.checkpointing.interval"), "300 ms");
    ck_assert_str_eq(rt_config_get(s->config, "execution.checkpointing.timeout"), "7 min");
    sim_scenario_free(s);
    g_strfreev(sets);
    /* Oversize and non-regular files are refused before they are read. */
    sets = NULL;
    ck_assert(!sim_flink_conf_merge("/dev/zero", &sets, NULL, &e));
    ck_assert_msg(strstr(e->message, "/dev/zero: not a regular file") != NULL, "%s",
                  e->message);
    g_clear_error(&e);
    ck_assert_ptr_null(sets);
    g_free(src);
    test_proc_remove_tree(dir);
    g_free(path);
    g_free(dir);
}
END_TEST

static char *trace_of(const char *out) {
    const char *t = strstr(out, "\"trace_hash\":\"");
    ck_assert_ptr_nonnull(t);
    return g_strndup(t + 14, 16);
}

/* The Flink config.yaml runs an HA scenario unchanged, and its keys reach the run. */
START_TEST(test_flink_config_runs) {
    TestProcOut o = test_proc_ckptsim("run", "scenarios/ha-leader-crash.ini", "--flink-conf",
                                      "tests/data/flink-config.yaml", "--json", NULL);
    ck_assert_msg(o.status == 0, "exit %d: %s%s", o.status, o.out, o.err);
    ck_assert_msg(strstr(o.err, "flink-config.yaml:10: [config] jobmanager.rpc.port: ignored")
                      != NULL, "%s", o.err);
    char *with = trace_of(o.out);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/ha-leader-crash.ini", "--json", NULL);
    ck_assert_int_eq(o.status, 0);
    char *without = trace_of(o.out);
    test_proc_out_clear(&o);
    ck_assert_msg(strcmp(with, without) != 0, "the config.yaml changed nothing");
    /* --set over the file: the file's 300 ms interval set back to the scenario's 200 ms,
     * and its 5 s session timeout to 4 s, ... */
    o = test_proc_ckptsim("run", "scenarios/ha-leader-crash.ini", "--flink-conf",
                          "tests/data/flink-config.yaml", "--set",
                          "execution.checkpointing.interval=300 ms", "--json", NULL);
    ck_assert_int_eq(o.status, 0);
    char *same = trace_of(o.out);
    ck_assert_str_eq(same, with); /* ... a --set equal to the file's value changes nothing */
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/ha-leader-crash.ini", "--flink-conf",
                          "tests/data/flink-config.yaml", "--set",
                          "execution.checkpointing.interval=150 ms", "--json", NULL);
    ck_assert_int_eq(o.status, 0);
    char *other = trace_of(o.out);
    ck_assert_str_ne(other, with); /* ... and a different one wins over the file */
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("sweep", "scenarios/ha-leader-crash.ini", "--seeds", "1..2",
                          "--flink-conf", "tests/data/flink-config.yaml", NULL);
    ck_assert_msg(o.status == 0, "sweep exit %d: %s", o.status, o.err);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/linear.ini", "--flink-conf", "/nonexistent.yaml",
                          NULL);
    ck_assert_int_eq(o.status, 2);
    test_proc_out_clear(&o);
    g_free(with);
    g_free(without);
    g_free(same);
    g_free(other);
}
END_TEST

static Suite *flink_conf_suite(void) {
    Suite *s = suite_create("flink_conf");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_flat_and_nested);
    tcase_add_test(tc, test_errors_with_lines);
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_flink_config_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(flink_conf_suite());
}
