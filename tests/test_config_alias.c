/* test_config_alias.c - every documented alias acts (issue 7): each standard scenario
 * (scenarios/NAME.ini) is run with each alias of each [config] key it sets - the key rewritten
 * in the scenario's text (state.checkpoints.dir for execution.checkpointing.dir, ...) - and
 * with the value aliases of its values (fixeddelay for fixed-delay), and must give the same
 * trace hash and the same verdict as the spelling in the file. The state backend is checked
 * the same way through --set: state.backend=filesystem, the FsStateBackend class name and
 * hashmap + execution.checkpointing.storage=filesystem must each run exactly as
 * state.backend.type=filesystem. A control shows the hash sees the keys at all: another
 * checkpoint directory changes it (so an ignored alias would fail the test). */
#include <check.h>
#include <string.h>

#include "runtime/env/rt_config_keys.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

#define SEEDS 2

typedef struct {
    uint64_t hash;
    bool held;
    guint violations;
    const char *end;
} Outcome;

static gint by_name(gconstpointer a, gconstpointer b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char **scenario_files(void) {
    const char *root = g_getenv("CKPTSIM_SOURCE_ROOT");
    ck_assert_msg(root != NULL, "CKPTSIM_SOURCE_ROOT is not set");
    char *dir = g_build_filename(root, "scenarios", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    ck_assert_ptr_nonnull(d);
    GPtrArray *files = g_ptr_array_new();
    for (const char *n = g_dir_read_name(d); n != NULL; n = g_dir_read_name(d))
        if (g_str_has_suffix(n, ".ini"))
            g_ptr_array_add(files, g_build_filename(dir, n, NULL));
    g_dir_close(d);
    g_free(dir);
    g_ptr_array_sort(files, by_name);
    g_ptr_array_add(files, NULL);
    return (char **)g_ptr_array_free(files, FALSE);
}

static Outcome run_text(const char *path, const char *text, const char *set, uint64_t seed) {
    const char *sets[] = {set, NULL};
    GError *e = NULL;
    SimScenario *s = sim_scenario_load_text(path, text, sets, &e);
    ck_assert_msg(s != NULL, "%s (set %s): %s", path, set ? set : "-", e ? e->message : "");
    SimRunOptions opt;
    sim_run_options_init(&opt, seed);
    SimRunResult r;
    ck_assert_msg(sim_run(s, &opt, &r, &e), "%s: %s", path, e ? e->message : "");
    Outcome o = {r.trace_hash, r.held, r.violations->len, r.end_reason};
    sim_run_result_clear(&r);
    sim_scenario_free(s);
    return o;
}

static void expect_same(const char *what, const Outcome *a, const Outcome *b) {
    ck_assert_msg(a->hash == b->hash && a->held == b->held && a->violations == b->violations &&
                      strcmp(a->end, b->end) == 0,
                  "%s: trace %016" G_GINT64_MODIFIER "x %s vs %016" G_GINT64_MODIFIER "x %s",
                  what, a->hash, a->held ? "held" : "violated", b->hash,
                  b->held ? "held" : "violated");
}

/* Value spellings that must act as the canonical value. */
static const struct {
    RtKeyId key;
    const char *value, *alias;
} value_aliases[] = {
    {RT_KEY_RESTART_STRATEGY, "fixed-delay", "fixeddelay"},
    {RT_KEY_STATE_BACKEND, "filesystem", "org.apache.flink.runtime.state.filesystem.FsStateBackend"},
    {RT_KEY_STATE_BACKEND, "hashmap", "org.apache.flink.runtime.state.hashmap.HashMapStateBackend"},
    {RT_KEY_HA_TYPE, "zookeeper", "ZOOKEEPER"},
};

/* The variants of [config] line `line` ("key = value"): other names of its key, and
 * value aliases. Appends "new line" strings to out. */
static void line_variants(const char *key, const char *value, GPtrArray *out) {
    bool is_alias = false;
    const RtKeyDef *d = rt_config_key_find(key, &is_alias);
    if (d == NULL || d->status != RT_KEY_MODELLED)
        return;
    const char *names[RT_KEY_MAX_ALIASES + 1] = {d->name};
    memcpy(names + 1, d->aliases, sizeof d->aliases);
    for (size_t i = 0; i <= RT_KEY_MAX_ALIASES && names[i] != NULL; i++)
        if (strcmp(names[i], key) != 0)
            g_ptr_array_add(out, g_strdup_printf("%s = %s", names[i], value));
    for (size_t i = 0; i < G_N_ELEMENTS(value_aliases); i++)
        if (rt_config_key_def(value_aliases[i].key) == d &&
            g_ascii_strcasecmp(value_aliases[i].value, value) == 0)
            g_ptr_array_add(out, g_strdup_printf("%s = %s", key, value_aliases[i].alias));
}

/* Runs every variant of every [config] line of the scenario at path; returns how many. */
static unsigned check_scenario(const char *path) {
    char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    char **lines = g_strsplit(text, "\n", -1);
    Outcome base[SEEDS];
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
        base[seed - 1] = run_text(path, text, NULL, seed);
    unsigned n = 0;
    bool in_config = false;
    for (size_t i = 0; lines[i] != NULL; i++) {
        char *l = g_strstrip(g_strdup(lines[i]));
        if (l[0] == '[')
            in_config = strcmp(l, "[config]") == 0;
        char *eq = strchr(l, '=');
        if (in_config && eq != NULL && l[0] != '#' && l[0] != ';') {
            *eq = '\0';
            char *key = g_strstrip(l), *value = g_strstrip(eq + 1);
            GPtrArray *variants = g_ptr_array_new_with_free_func(g_free);
            line_variants(key, value, variants);
            for (guint v = 0; v < variants->len; v++) {
                char *saved = lines[i];
                lines[i] = g_ptr_array_index(variants, v);
                char *alt = g_strjoinv("\n", lines);
                lines[i] = saved;
                for (uint64_t seed = 1; seed <= SEEDS; seed++) {
                    Outcome o = run_text(path, alt, NULL, seed);
                    char *what = g_strdup_printf("%s seed %" G_GUINT64_FORMAT ": '%s = %s' "
                                                 "vs '%s'", path, seed, key, value,
                                                 (char *)g_ptr_array_index(variants, v));
                    expect_same(what, &base[seed - 1], &o);
                    g_free(what);
                }
                g_free(alt);
                n++;
            }
            g_ptr_array_free(variants, TRUE);
        }
        g_free(l);
    }
    g_strfreev(lines);
    g_free(text);
    return n;
}

START_TEST(test_every_key_alias_acts) {
    char **files = scenario_files();
    ck_assert_uint_ge(g_strv_length(files), 9);
    unsigned variants = 0;
    for (char **f = files; *f != NULL; f++)
        variants += check_scenario(*f);
    /* dir in every scenario, plus restart, HA and unaligned keys: many variants ran. */
    ck_assert_uint_ge(variants, g_strv_length(files));
    g_strfreev(files);
}
END_TEST

/* --set spellings of the filesystem backend, where the file does not name a backend. */
START_TEST(test_backend_aliases_act) {
    static const char *const spellings[] = {
        "state.backend=filesystem",
        "state.backend=org.apache.flink.runtime.state.filesystem.FsStateBackend",
        "state.backend.type=org.apache.flink.runtime.state.filesystem.FsStateBackendFactory",
        "execution.checkpointing.storage=filesystem",
        "state.checkpoint-storage=filesystem",
    };
    char **files = scenario_files();
    unsigned checked = 0;
    for (char **f = files; *f != NULL; f++) {
        char *text = NULL;
        ck_assert(g_file_get_contents(*f, &text, NULL, NULL));
        if (strstr(text, "state.backend") == NULL) {
            Outcome fs = run_text(*f, text, "state.backend.type=filesystem", 1);
            Outcome hm = run_text(*f, text, "state.backend.type=hashmap", 1);
            /* The backends differ in the trace: an alias that did nothing would show. */
            ck_assert_msg(fs.hash != hm.hash, "%s: filesystem and hashmap runs look alike", *f);
            for (size_t i = 0; i < G_N_ELEMENTS(spellings); i++) {
                Outcome o = run_text(*f, text, spellings[i], 1);
                char *what = g_strdup_printf("%s: --set %s", *f, spellings[i]);
                expect_same(what, &fs, &o);
                g_free(what);
            }
            checked++;
        }
        g_free(text);
    }
    ck_assert_uint_ge(checked, 5);
    g_strfreev(files);
}
END_TEST

/* The control: the trace hash sees the checkpoint directory, under either name. */
START_TEST(test_hash_sees_the_dir) {
    char **files = scenario_files();
    const char *path = files[0];
    char *text = NULL;
    ck_assert(g_file_get_contents(path, &text, NULL, NULL));
    Outcome a = run_text(path, text, NULL, 1);
    Outcome b = run_text(path, text, "execution.checkpointing.dir=elsewhere", 1);
    ck_assert_msg(a.hash != b.hash, "%s: the directory does not reach the trace", path);
    /* Canonical beats deprecated: a deprecated key set later does not move the files. */
    Outcome c = run_text(path, text, "state.checkpoints.dir=elsewhere", 1);
    expect_same("deprecated dir under a canonical one", &a, &c);
    g_free(text);
    g_strfreev(files);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("config_alias");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_every_key_alias_acts);
    tcase_add_test(tc, test_backend_aliases_act);
    tcase_add_test(tc, test_hash_sees_the_dir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(suite());
}
