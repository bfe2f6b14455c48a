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
#include <json-glib/json-glib.h>
#include <stdbool.h>

#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

/* The one capsule in dir named PREFIX<8 hex digits>SUFFIX (asserted). New string. */
static char *capsule_in(const char *dir, const char *prefix, const char *suffix) {
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    char *found = NULL;
    for (const char *name; (name = g_dir_read_name(d)) != NULL;) {
        size_t lp = strlen(prefix), ls = strlen(suffix), ln = strlen(name);
        if (ln == lp + 8 + ls && g_str_has_prefix(name, prefix) && g_str_has_suffix(name, suffix)) {
            ck_assert_msg(found == NULL, "two capsules match %s*%s", prefix, suffix);
            found = g_build_filename(dir, name, NULL);
        }
    }
    g_dir_close(d);
    ck_assert_msg(found != NULL, "no capsule %s<hash>%s in %s", prefix, suffix, dir);
    return found;
}

START_TEST(test_bad_scenario_exits_2) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    char *path = g_build_filename(dir, "bad-key.ini", NULL);
    ck_assert(g_file_set_contents(path, "[scenario]\nname = bad\nno_such_key = 1\n", -1, NULL));
    TestProcOut o = test_proc_ckptsim("run", path, NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "bad-key.ini:3: [scenario] no_such_key: unknown key") != NULL, "%s", o.err);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/linear.ini", "--set", "state.backend.type=rocks",
                          NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_ptr_nonnull(strstr(o.err, "--set state.backend.type=rocks"));
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "/nonexistent.ini", NULL);
    ck_assert_int_eq(o.status, 2);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/linear.ini", "--bug", "no-such-bug", NULL);
    ck_assert_int_eq(o.status, 2);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("sweep", "scenarios/linear.ini", NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_ptr_nonnull(strstr(o.err, "--seeds"));
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(path);
    g_free(dir);
}
END_TEST

START_TEST(test_run_json_and_determinism) {
    TestProcOut o = test_proc_ckptsim("run", "scenarios/linear.ini", "--seed", "7", "--json",
                                      "--check-determinism", NULL);
    ck_assert_int_eq(o.status, 0);
    const char *want[] = {"\"scenario\":\"linear\"", "\"seed\":7", "\"verdict\":\"pass\"",
                          "\"violations\":[]", "\"trace_hash\":\"", "\"determinism\":\"ok\""};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
        ck_assert_msg(strstr(o.out, want[i]) != NULL, "no %s in %s", want[i], o.out);
    ck_assert_int_eq(strchr(o.out, '\n') - o.out + 1, (int)strlen(o.out)); /* one line */
    test_proc_out_clear(&o);
}
END_TEST

START_TEST(test_violation_replay) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    TestProcOut o = test_proc_ckptsim("run", "scenarios/keyby-fanout.ini", "--seed", "1", "--bug",
                                      "snapshot-on-first-barrier", "--out", dir, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_ptr_nonnull(strstr(o.out, "VIOLATION"));
    ck_assert_ptr_nonnull(strstr(o.out, "violated consistent-cut"));
    ck_assert_ptr_nonnull(strstr(o.out, "seed 1; replay with:"));
    ck_assert_ptr_nonnull(strstr(o.out, "ckptsim run scenarios/keyby-fanout.ini --seed 1 "
                                        "--bug snapshot-on-first-barrier"));
    char *capsule = capsule_in(dir, "keyby-fanout-", "-seed1-snapshot-on-first-barrier.capsule");
    ck_assert_msg(strstr(o.out, capsule) != NULL, "the output names no %s: %s", capsule, o.out);
    ck_assert_msg(g_file_test(capsule, G_FILE_TEST_EXISTS), "no capsule %s", capsule);
    char *metrics = g_build_filename(dir, "summary.csv", NULL);
    ck_assert(g_file_test(metrics, G_FILE_TEST_EXISTS));
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("replay", capsule, NULL);
    ck_assert_int_eq(o.status, 1); /* reproduced */
    ck_assert_msg(strstr(o.out, "replay: reproduced; trace hash") != NULL &&
                      strstr(o.out, "matches the capsule") != NULL, "%s", o.out);
    test_proc_out_clear(&o);
    /* A tampered trace hash is reported as a divergence: exit 3, not 1. */
    char *text = NULL;
    ck_assert(g_file_get_contents(capsule, &text, NULL, NULL));
    char *at = strstr(text, "trace-hash=");
    ck_assert_ptr_nonnull(at);
    at[strlen("trace-hash=")] = at[strlen("trace-hash=")] == '0' ? '1' : '0';
    ck_assert(g_file_set_contents(capsule, text, -1, NULL));
    o = test_proc_ckptsim("replay", capsule, NULL);
    ck_assert_int_eq(o.status, 3);
    ck_assert_ptr_nonnull(strstr(o.out, "DIVERGED"));
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("replay", capsule, "--json", NULL);
    ck_assert_int_eq(o.status, 3);
    ck_assert_ptr_nonnull(strstr(o.out, "\"replay_result\":\"diverged\""));
    test_proc_out_clear(&o);
    g_free(text);
    test_proc_remove_tree(dir);
    g_free(metrics);
    g_free(capsule);
    g_free(dir);
}
END_TEST

START_TEST(test_sweep_jobs_identical) {
    TestProcOut a =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", NULL);
    TestProcOut b =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", "--jobs", "3", NULL);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(b.status, 0);
    ck_assert_str_eq(a.out, b.out);
    ck_assert_ptr_nonnull(strstr(a.out, "\"summary\":true,\"runs\":12,\"violations\":0"));
    ck_assert_ptr_nonnull(strstr(a.out, "\"first_violation_seed\":null"));
    /* Shards 1/2 and 2/2 together are the whole list. */
    TestProcOut s1 =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", "--shard", "1/2", NULL);
    TestProcOut s2 =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/crash-mid-alignment.ini",
                          "--seeds", "1..6", "--json", "--shard", "2/2", NULL);
    ck_assert_ptr_nonnull(strstr(s1.out, "\"runs\":6,"));
    ck_assert_ptr_nonnull(strstr(s2.out, "\"runs\":6,"));
    char **lines = g_strsplit(a.out, "\n", -1);
    for (char **l = lines; *l != NULL && **l != '\0'; l++)
        if (strstr(*l, "\"summary\"") == NULL)
            ck_assert_msg((strstr(s1.out, *l) != NULL) != (strstr(s2.out, *l) != NULL),
                          "line in neither or both shards: %s", *l);
    g_strfreev(lines);
    test_proc_out_clear(&a);
    test_proc_out_clear(&b);
    test_proc_out_clear(&s1);
    test_proc_out_clear(&s2);
}
END_TEST

START_TEST(test_sweep_stop_at_first_and_junit) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    char *junit = g_build_filename(dir, "out.xml", NULL);
    TestProcOut o =
        test_proc_ckptsim("sweep", "scenarios/linear.ini", "scenarios/keyby-fanout.ini", "--seeds",
                          "1..50", "--bug", "snapshot-on-first-barrier", "--stop-at-first",
                          "--json", "--jobs", "2", "--out", dir, "--junit", junit, NULL);
    ck_assert_int_eq(o.status, 1);
    ck_assert_msg(strstr(o.out, "\"stopped_early\":true") != NULL, "%s", o.out);
    ck_assert_ptr_nonnull(strstr(o.out, "\"first_violation_seed\":"));
    char *xml = NULL;
    ck_assert(g_file_get_contents(junit, &xml, NULL, NULL));
    ck_assert_ptr_nonnull(strstr(xml, "<testsuite name=\"ckptsim\""));
    ck_assert_ptr_nonnull(strstr(xml, "<failure type=\"consistent-cut"));
    g_free(xml);
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(junit);
    g_free(dir);
}
END_TEST

START_TEST(test_bugs_and_help) {
    TestProcOut o = test_proc_ckptsim("bugs", NULL);
    ck_assert_int_eq(o.status, 0);
    const char *names[] = {"snapshot-on-first-barrier", "skip-source-rewind",
                           "sink-commit-on-precommit", "restore-older-checkpoint",
                           "ack-before-fsync", "nonfifo-network"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        ck_assert_msg(strstr(o.out, names[i]) != NULL, "bugs lacks %s", names[i]);
    test_proc_out_clear(&o);
    const char *cmds[] = {"run", "sweep", "replay", "bugs", "shrink"};
    for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
        o = test_proc_ckptsim(cmds[i], "--help", NULL);
        ck_assert_int_eq(o.status, 0);
        ck_assert_msg(strstr(o.out, "ckptsim ") != NULL && strstr(o.out, "Example") != NULL,
                      "%s --help lacks an example: %s", cmds[i], o.out);
        test_proc_out_clear(&o);
    }
}
END_TEST

/* shrink cuts a random fault plan down to a smaller one that still fails, and its
 * capsule replays. */
START_TEST(test_shrink) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    TestProcOut o = test_proc_ckptsim("run", "scenarios/random-faults.ini", "--seed", "3", "--bug",
                                      "skip-source-rewind", "--out", dir, NULL);
    ck_assert_int_eq(o.status, 1);
    test_proc_out_clear(&o);
    char *capsule = capsule_in(dir, "random-faults-", "-seed3-skip-source-rewind.capsule");
    o = test_proc_ckptsim("shrink", capsule, NULL);
    ck_assert_int_eq(o.status, 1);
    unsigned from = 0, to = 0;
    const char *line = strstr(o.out, "shrunk ");
    ck_assert_ptr_nonnull(line);
    ck_assert_int_eq(sscanf(line, "shrunk %u faults to %u", &from, &to), 2);
    ck_assert_uint_lt(to, from);
    ck_assert_ptr_nonnull(strstr(o.out, "--faults "));
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(capsule);
    g_free(dir);
}
END_TEST


/* Replaces the whole line "KEY=..." of the capsule at path by "KEY=VALUE" (the key must
 * be there) and writes the result to out_path. */
static void capsule_edit(const char *path, const char *key, const char *value,
                         const char *out_path) {
    char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    char **lines = g_strsplit(text, "\n", -1);
    char *prefix = g_strdup_printf("%s=", key);
    bool seen = false;
    for (char **l = lines; *l != NULL; l++)
        if (g_str_has_prefix(*l, prefix)) {
            g_free(*l);
            *l = g_strdup_printf("%s=%s", key, value);
            seen = true;
        }
    ck_assert_msg(seen, "no %s in %s", key, path);
    char *joined = g_strjoinv("\n", lines);
    ck_assert(g_file_set_contents(out_path, joined, -1, NULL));
    g_free(joined);
    g_free(prefix);
    g_strfreev(lines);
    g_free(text);
}

/* replay: 0 held with the recorded trace, 2 for a bad capsule (a negative or
 * out-of-range seed named with file:line; an oversized file refused by its size). */
START_TEST(test_replay_exit_codes) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    TestProcOut o = test_proc_ckptsim("run", "scenarios/keyby-fanout.ini", "--seed", "1", "--bug",
                                      "snapshot-on-first-barrier", "--out", dir, NULL);
    ck_assert_int_eq(o.status, 1);
    test_proc_out_clear(&o);
    char *capsule = capsule_in(dir, "keyby-fanout-", "-seed1-snapshot-on-first-barrier.capsule");
    /* Without the bug the run holds; with that run's trace hash the replay is "held". */
    o = test_proc_ckptsim("run", "scenarios/keyby-fanout.ini", "--seed", "1", "--json", NULL);
    ck_assert_int_eq(o.status, 0);
    const char *h = strstr(o.out, "\"trace_hash\":\"");
    ck_assert_ptr_nonnull(h);
    char *hash = g_strndup(h + strlen("\"trace_hash\":\""), 16);
    test_proc_out_clear(&o);
    char *held = g_build_filename(dir, "held.capsule", NULL);
    capsule_edit(capsule, "bugs", "", held);
    capsule_edit(held, "trace-hash", hash, held);
    o = test_proc_ckptsim("replay", held, NULL);
    ck_assert_msg(o.status == 0, "status %d: %s%s", o.status, o.out, o.err);
    ck_assert_ptr_nonnull(strstr(o.out, "replay: held; trace hash"));
    test_proc_out_clear(&o);
    const char *bad_seeds[] = {"-1", "18446744073709551616", "12abc", ""};
    char *bad = g_build_filename(dir, "bad.capsule", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(bad_seeds); i++) {
        capsule_edit(capsule, "seed", bad_seeds[i], bad);
        o = test_proc_ckptsim("replay", bad, NULL);
        ck_assert_int_eq(o.status, 2);
        char *want = g_strdup_printf("bad.capsule:7: seed: bad seed '%s'", bad_seeds[i]);
        ck_assert_msg(strstr(o.err, want) != NULL, "no \"%s\" in %s", want, o.err);
        g_free(want);
        test_proc_out_clear(&o);
    }
    /* The largest seed is a seed. */
    capsule_edit(capsule, "seed", "18446744073709551615", bad);
    o = test_proc_ckptsim("replay", bad, NULL);
    ck_assert_int_eq(o.status, 3); /* another seed, another trace */
    test_proc_out_clear(&o);
    /* 17 MiB is refused by its size, with the limit named. */
    char *big = g_malloc0(17u << 20);
    memset(big, '#', 17u << 20);
    ck_assert(g_file_set_contents(bad, big, 17u << 20, NULL));
    g_free(big);
    o = test_proc_ckptsim("replay", bad, NULL);
    ck_assert_int_eq(o.status, 2);
    ck_assert_msg(strstr(o.err, "at most 16 MiB") != NULL, "%s", o.err);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("replay", "--help", NULL);
    ck_assert_msg(strstr(o.out, "3  diverged") != NULL && strstr(o.out, "0  held") != NULL,
                  "%s", o.out);
    test_proc_out_clear(&o);
    test_proc_remove_tree(dir);
    g_free(bad);
    g_free(held);
    g_free(hash);
    g_free(capsule);
    g_free(dir);
}
END_TEST

/* Two scenario files with the same name (and one under two --set options) write three
 * capsules: none overwrites another. */
START_TEST(test_capsule_names_unique) {
    char *dir = test_proc_tmp_dir("ckptsim-cli-XXXXXX");
    char *text = NULL, *copy = g_build_filename(dir, "keyby-fanout.ini", NULL);
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    char *orig = g_build_filename(root, "scenarios/keyby-fanout.ini", NULL);
    ck_assert(g_file_get_contents(orig, &text, NULL, NULL));
    char *changed = g_strconcat(text, "\n# a variant: the same name, another text\n", NULL);
    ck_assert(g_file_set_contents(copy, changed, -1, NULL));
    char *caps = g_build_filename(dir, "caps", NULL);
    TestProcOut o = test_proc_ckptsim("sweep", "scenarios/keyby-fanout.ini", copy, "--seeds",
                                      "1..1",
                                      "--bug", "snapshot-on-first-barrier", "--out", caps, NULL);
    ck_assert_int_eq(o.status, 1);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/keyby-fanout.ini", "--seed", "1", "--bug",
                          "snapshot-on-first-barrier", "--set", "state.backend.type=filesystem",
                          "--out", caps, NULL);
    ck_assert_int_eq(o.status, 1);
    test_proc_out_clear(&o);
    GDir *d = g_dir_open(caps, 0, NULL);
    ck_assert_ptr_nonnull(d);
    unsigned n = 0;
    for (const char *name; (name = g_dir_read_name(d)) != NULL;)
        n += g_str_has_suffix(name, "-seed1-snapshot-on-first-barrier.capsule");
    g_dir_close(d);
    ck_assert_uint_eq(n, 3);
    test_proc_remove_tree(dir);
    g_free(caps);
    g_free(changed);
    g_free(orig);
    g_free(copy);
    g_free(text);
    g_free(dir);
}
END_TEST

/* The JSON parses (json-glib) with the documented shape, and none of the command line's
 * files writes JSON with printf-style formatting. */
START_TEST(test_json_shape) {
    TestProcOut o = test_proc_ckptsim("run", "scenarios/keyby-fanout.ini", "--seed", "1", "--bug",
                                      "snapshot-on-first-barrier", "--json", NULL);
    ck_assert_int_eq(o.status, 1);
    JsonParser *p = json_parser_new();
    ck_assert_msg(json_parser_load_from_data(p, o.out, -1, NULL), "%s", o.out);
    JsonObject *r = json_node_get_object(json_parser_get_root(p));
    ck_assert_str_eq(json_object_get_string_member(r, "scenario"), "keyby-fanout");
    ck_assert_int_eq(json_object_get_int_member(r, "seed"), 1);
    ck_assert_str_eq(json_object_get_string_member(r, "verdict"), "violation");
    ck_assert_int_eq(strlen(json_object_get_string_member(r, "trace_hash")), 16);
    JsonArray *vs = json_object_get_array_member(r, "violations");
    ck_assert_uint_gt(json_array_get_length(vs), 0);
    JsonObject *v = json_array_get_object_element(vs, 0);
    ck_assert_str_eq(json_object_get_string_member(v, "invariant"), "consistent-cut");
    ck_assert(strlen(json_object_get_string_member(v, "message")) > 0);
    g_object_unref(p);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("sweep", "scenarios/linear.ini", "--seeds", "1..3", "--json", NULL);
    ck_assert_int_eq(o.status, 0);
    char **lines = g_strsplit(g_strstrip(o.out), "\n", -1);
    guint n = g_strv_length(lines);
    ck_assert_uint_eq(n, 4);
    p = json_parser_new();
    ck_assert(json_parser_load_from_data(p, lines[n - 1], -1, NULL));
    r = json_node_get_object(json_parser_get_root(p));
    ck_assert_int_eq(json_object_get_int_member(r, "runs"), 3);
    ck_assert_int_eq(json_object_get_int_member(r, "violations"), 0);
    ck_assert(json_object_has_member(r, "first_violation_seed") &&
              json_object_get_null_member(r, "first_violation_seed"));
    g_object_unref(p);
    g_strfreev(lines);
    test_proc_out_clear(&o);
    const char *files[] = {"sim_cli.c", "sim_cli_json.c", "sim_cli_run.c", "sim_sweep.c",
                           "sim_sweep_cmd.c", "sim_sweep_report.c", "sim_capsule.c",
                           "sim_shrink.c"};
    GRegex *re = g_regex_new("\\\\\"[a-z_]+\\\\\":", 0, 0, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *path = g_build_filename(g_getenv("CKPTSIM_SOURCE_ROOT"), "sim/harness", files[i],
                                      NULL);
        char *src = NULL;
        ck_assert_msg(g_file_get_contents(path, &src, NULL, NULL), "%s", path);
        GMatchInfo *m = NULL;
        bool hit = g_regex_match(re, src, 0, &m);
        ck_assert_msg(!hit, "%s writes JSON by hand: %s", files[i],
                      hit ? g_match_info_fetch(m, 0) : "");
        g_match_info_free(m);
        g_free(src);
        g_free(path);
    }
    g_regex_unref(re);
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
    tcase_add_test(tc, test_replay_exit_codes);
    tcase_add_test(tc, test_capsule_names_unique);
    tcase_add_test(tc, test_json_shape);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(cli_suite());
}
