/* sim_scenario.c - reading a scenario file (sim_scenario.h): the pre-scan that maps
 * every (section, key) to its line and catches syntax errors GKeyFile would report
 * without a line, the --set overrides, key checks, and error messages of the form
 * "FILE:LINE: KEY: message". Building the SimScenario from the checked sections is in
 * sim_scenario_build.c. */
#include "sim/harness/sim_scenario.h"

#include <assert.h>
#include <stdarg.h>
#include <string.h>

#include "sim/harness/sim_scenario_private.h"

G_DEFINE_QUARK(sim-scenario-error-quark, sim_scenario_error)

static char *line_key(const char *group, const char *key) {
    return g_strdup_printf("%s\n%s", group, key ? key : "");
}

/* Appends "PATH:LINE: WHAT: MSG" (or "PATH: --set ARG: WHAT: MSG"). */
static void error_at(SimLoader *L, const char *origin, guint line, const char *what,
                     const char *msg) {
    L->n_errors++;
    if (L->n_errors > SIM_SCENARIO_MAX_ERRORS)
        return;
    if (L->errors->len > 0)
        g_string_append_c(L->errors, '\n');
    if (origin != NULL)
        g_string_append_printf(L->errors, "%s: --set %s: %s: %s", L->path, origin, what, msg);
    else
        g_string_append_printf(L->errors, "%s:%u: %s: %s", L->path, line ? line : 1, what, msg);
}

static void error_line(SimLoader *L, guint line, const char *what, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void error_line(SimLoader *L, guint line, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_at(L, NULL, line, what, msg);
    g_free(msg);
}

void sim_loader_error(SimLoader *L, const char *group, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    char *lk = line_key(group ? group : "", key);
    const char *origin = g_hash_table_lookup(L->set_origin, lk);
    guint line = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, lk));
    if (line == 0 && group != NULL) {
        char *hk = line_key(group, NULL);
        line = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, hk));
        g_free(hk);
    }
    char *what = key != NULL ? g_strdup(key) : g_strdup_printf("[%s]", group ? group : "");
    error_at(L, origin, line, what, msg);
    g_free(what);
    g_free(lk);
    g_free(msg);
}

const char *sim_loader_value(SimLoader *L, const char *group, const char *key) {
    char *v = g_key_file_get_value(L->kf, group, key, NULL);
    if (v == NULL)
        return NULL;
    g_strstrip(v);
    g_ptr_array_add(L->strings, v);
    return v;
}

void sim_loader_check_keys(SimLoader *L, const char *group, const SimKeySpec *table) {
    gsize n = 0;
    char **keys = g_key_file_get_keys(L->kf, group, &n, NULL);
    for (gsize i = 0; keys != NULL && i < n; i++) {
        const SimKeySpec *spec = sim_keys_find(table, keys[i]);
        if (spec == NULL) {
            char *hint = sim_keys_hint(table, keys[i]);
            sim_loader_error(L, group, keys[i], "unknown key in [%s]%s", group, hint);
            g_free(hint);
            continue;
        }
        const char *v = sim_loader_value(L, group, keys[i]);
        char *why = NULL;
        if (v != NULL && !sim_key_check(spec, v, &why)) {
            sim_loader_error(L, group, keys[i], "bad value '%s': %s", v, why);
            g_free(why);
        }
    }
    g_strfreev(keys);
}

/* ------------------------------------------------------------------ pre-scan */

static void scan_group(SimLoader *L, const char *line, guint lineno, char **group) {
    size_t len = strlen(line);
    if (len < 3 || line[len - 1] != ']') {
        error_line(L, lineno, line, "a section header is '[name]'");
        return;
    }
    char *name = g_strstrip(g_strndup(line + 1, len - 2));
    char *what = g_strdup_printf("[%s]", name);
    char *hk = line_key(name, NULL);
    guint prev = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, hk));
    if (prev != 0) {
        error_line(L, lineno, what, "section appears twice (first at line %u)", prev);
        g_free(hk);
    } else {
        g_hash_table_replace(L->lines, hk, GUINT_TO_POINTER(lineno));
    }
    g_free(what);
    g_free(*group);
    *group = name;
}

static void scan_key(SimLoader *L, const char *line, guint lineno, const char *group) {
    const char *eq = strchr(line, '=');
    char *key = g_strstrip(g_strndup(line, (size_t)(eq - line)));
    const char *value = eq + 1;
    char *lk = line_key(group, key);
    guint prev = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, lk));
    if (prev != 0) {
        error_line(L, lineno, key, "set twice in [%s] (first at line %u)", group, prev);
        g_free(lk);
    } else {
        g_hash_table_replace(L->lines, lk, GUINT_TO_POINTER(lineno));
    }
    if (*key == '\0')
        error_line(L, lineno, "(empty)", "empty key name");
    if (strstr(value, " #") != NULL || strstr(value, "\t#") != NULL)
        error_line(L, lineno, key,
                   "inline comments are not supported: put the comment on its own line");
    g_free(key);
}

/* Maps (group, key) -> line and reports lines GKeyFile would reject (without a line). */
static void prescan(SimLoader *L, const char *text) {
    char **lines = g_strsplit(text, "\n", -1);
    char *group = NULL;
    for (guint i = 0; lines[i] != NULL; i++) {
        guint lineno = i + 1;
        char *line = g_strstrip(lines[i]);
        if (*line == '\0' || *line == '#')
            continue;
        if (*line == '[') {
            scan_group(L, line, lineno, &group);
        } else if (strchr(line, '=') == NULL) {
            error_line(L, lineno, line,
                       "not a 'key = value' line, a [section] header or a # comment");
        } else if (group == NULL) {
            char *key = g_strstrip(g_strndup(line, (size_t)(strchr(line, '=') - line)));
            error_line(L, lineno, key, "key outside any section (start with [scenario])");
            g_free(key);
        } else {
            scan_key(L, line, lineno, group);
        }
    }
    g_free(group);
    g_strfreev(lines);
}

/* ------------------------------------------------------------------ --set */

static const char *const set_sections[] = {"scenario", "cluster",       "network", "faults",
                                           "random-faults", "expect", "edges",   "config",
                                           "zookeeper", NULL};

/* The existing group of operator name ("operator NAME" or "operator.NAME"). */
static char *operator_group(SimLoader *L, const char *name) {
    char *a = g_strdup_printf("operator %s", name);
    char *b = g_strdup_printf("operator.%s", name);
    char *found = g_key_file_has_group(L->kf, b) && !g_key_file_has_group(L->kf, a) ? b : a;
    char *res = g_strdup(found);
    g_free(a);
    g_free(b);
    return res;
}

static void apply_set(SimLoader *L, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) {
        error_at(L, arg, 0, arg, "expected KEY=VALUE");
        return;
    }
    char *k = g_strstrip(g_strndup(arg, (size_t)(eq - arg)));
    char *value = g_strstrip(g_strdup(eq + 1));
    char *group = NULL, *key = NULL;
    const char *dot = strchr(k, '.');
    char *first = dot ? g_strndup(k, (size_t)(dot - k)) : g_strdup(k);
    if (dot != NULL && g_strv_contains(set_sections, first)) {
        group = g_strdup(first);
        key = g_strdup(dot + 1);
    } else if (dot != NULL && strcmp(first, "operator") == 0 && strchr(dot + 1, '.') != NULL) {
        const char *dot2 = strchr(dot + 1, '.');
        char *op = g_strndup(dot + 1, (size_t)(dot2 - dot - 1));
        group = operator_group(L, op);
        key = g_strdup(dot2 + 1);
        g_free(op);
    } else {
        group = g_strdup("config");
        key = g_strdup(k);
    }
    g_key_file_set_value(L->kf, group, key, value);
    g_hash_table_replace(L->set_origin, line_key(group, key), g_strdup(arg));
    g_free(first);
    g_free(group);
    g_free(key);
    g_free(k);
    g_free(value);
}

/* ------------------------------------------------------------------ load */

static SimLoader *loader_new(const char *path) {
    SimLoader *L = g_new0(SimLoader, 1);
    L->path = path;
    L->kf = g_key_file_new();
    L->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    L->set_origin = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    L->errors = g_string_new(NULL);
    L->strings = g_ptr_array_new_with_free_func(g_free);
    return L;
}

static void loader_free(SimLoader *L) {
    g_key_file_free(L->kf);
    g_hash_table_destroy(L->lines);
    g_hash_table_destroy(L->set_origin);
    g_string_free(L->errors, TRUE);
    g_ptr_array_free(L->strings, TRUE);
    g_free(L);
}

static void fail_with_errors(SimLoader *L, GError **error) {
    if (L->n_errors > SIM_SCENARIO_MAX_ERRORS)
        g_string_append_printf(L->errors, "\n%s: ... and %u more errors", L->path,
                               L->n_errors - SIM_SCENARIO_MAX_ERRORS);
    g_set_error(error, SIM_SCENARIO_ERROR, SIM_SCENARIO_ERROR_INVALID, "%s", L->errors->str);
}

SimScenario *sim_scenario_load_text(const char *display_path, const char *text,
                                    const char *const *sets, GError **error) {
    assert(display_path != NULL && text != NULL);
    SimLoader *L = loader_new(display_path);
    if (strlen(text) > SIM_SCENARIO_MAX_BYTES)
        error_line(L, 1, "file", "larger than %u bytes", SIM_SCENARIO_MAX_BYTES);
    else
        prescan(L, text);
    GError *kf_error = NULL;
    if (L->n_errors == 0 &&
        !g_key_file_load_from_data(L->kf, text, (gsize)-1, G_KEY_FILE_NONE, &kf_error)) {
        error_line(L, 1, "file", "%s", kf_error->message);
        g_error_free(kf_error);
    }
    for (size_t i = 0; L->n_errors == 0 && sets != NULL && sets[i] != NULL; i++)
        apply_set(L, sets[i]);
    if (L->n_errors == 0) {
        L->s = g_new0(SimScenario, 1);
        L->s->path = g_strdup(display_path);
        L->s->text = g_strdup(text);
        sim_loader_build(L);
    }
    SimScenario *s = NULL;
    if (L->n_errors > 0) {
        fail_with_errors(L, error);
        sim_scenario_free(L->s);
    } else {
        s = L->s;
    }
    loader_free(L);
    return s;
}

SimScenario *sim_scenario_load(const char *path, const char *const *sets, GError **error) {
    assert(path != NULL);
    char *text = NULL;
    gsize len = 0;
    GError *e = NULL;
    if (!g_file_get_contents(path, &text, &len, &e)) {
        g_set_error(error, SIM_SCENARIO_ERROR, SIM_SCENARIO_ERROR_READ, "%s: cannot read: %s",
                    path, e->message);
        g_error_free(e);
        return NULL;
    }
    if (strlen(text) != len || !g_utf8_validate(text, (gssize)len, NULL)) {
        g_set_error(error, SIM_SCENARIO_ERROR, SIM_SCENARIO_ERROR_INVALID,
                    "%s:1: file: not a UTF-8 text file", path);
        g_free(text);
        return NULL;
    }
    SimScenario *s = sim_scenario_load_text(path, text, sets, error);
    g_free(text);
    return s;
}
