/* sim_scenario.c - reading a scenario file (sim_scenario.h): the bounded read, the
 * pre-scan that maps every (section, key) to its line, catches syntax errors GKeyFile
 * would report without a line and turns [config]'s "key: value" lines (Flink's
 * config.yaml habit) into "key = value", the --set overrides and their key checks, key
 * checks, and the error list (sim_keys.h: "FILE:LINE: [section] key: message", in input
 * order, capped). Building the SimScenario from the checked sections is in
 * sim_scenario_build.c, the size limits and load-time hints in sim_scenario_check.c. */
#include "sim/harness/sim_scenario.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/harness/sim_scenario_private.h"

G_DEFINE_QUARK(sim-scenario-error-quark, sim_scenario_error)

/* Syntax errors of one kind reported before "... and N more lines like these". */
#define PRESCAN_SAME_ERRORS 3u

typedef struct SetOrigin {
    char *arg;
    unsigned index;
} SetOrigin;

static void set_origin_free(gpointer p) {
    SetOrigin *o = p;
    g_free(o->arg);
    g_free(o);
}

static char *line_key(const char *group, const char *key) {
    return g_strdup_printf("%s\n%s", group, key ? key : "");
}

static void add_error_v(SimLoader *L, const SimErrPlace *place, const char *fmt, va_list ap)
    G_GNUC_PRINTF(3, 0);
static void add_error_v(SimLoader *L, const SimErrPlace *place, const char *fmt, va_list ap) {
    char *msg = g_strdup_vprintf(fmt, ap);
    sim_errlist_add(L->errs, place, msg);
    L->n_errors = sim_errlist_count(L->errs);
    g_free(msg);
}

void sim_loader_error_at(SimLoader *L, const SimErrPlace *place, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    add_error_v(L, place, fmt, ap);
    va_end(ap);
}

/* An error at a file line (pre-scan: no key map yet). */
static void error_line(SimLoader *L, guint line, const char *group, const char *what,
                       const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static void error_line(SimLoader *L, guint line, const char *group, const char *what,
                       const char *fmt, ...) {
    SimErrPlace place = {line, NULL, 0, group, what};
    va_list ap;
    va_start(ap, fmt);
    add_error_v(L, &place, fmt, ap);
    va_end(ap);
}

void sim_loader_place(SimLoader *L, const char *group, const char *key, SimErrPlace *out) {
    char *lk = line_key(group ? group : "", key);
    const SetOrigin *origin = g_hash_table_lookup(L->set_origin, lk);
    guint line = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, lk));
    if (line == 0 && group != NULL && key != NULL) {
        char *hk = line_key(group, NULL);
        line = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, hk));
        g_free(hk);
    }
    g_free(lk);
    *out = (SimErrPlace){line, origin ? origin->arg : NULL, origin ? origin->index : 0, group,
                         key};
}

void sim_loader_error(SimLoader *L, const char *group, const char *key, const char *fmt, ...) {
    SimErrPlace place;
    sim_loader_place(L, group, key, &place);
    va_list ap;
    va_start(ap, fmt);
    add_error_v(L, &place, fmt, ap);
    va_end(ap);
}

void sim_loader_note(SimLoader *L, const char *group, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(L->s->notes, g_strdup_printf("[%s]%s%s: %s", group, key ? " " : "",
                                                 key ? key : "", msg));
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
            sim_loader_error(L, group, keys[i], "unknown key%s (the keys of [%s] are in "
                             "scenarios/README.md)", hint, group);
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

typedef struct Prescan {
    char *group;      /* current section, NULL before the first */
    GString *out;     /* the text handed to GKeyFile, [config] "k: v" made "k = v" */
    unsigned n_bad;   /* lines that are neither key = value, header nor comment */
    unsigned first_bad_extra; /* line of the first one not reported */
} Prescan;

static void scan_group(SimLoader *L, const char *line, guint lineno, Prescan *ps) {
    size_t len = strlen(line);
    if (len < 3 || line[len - 1] != ']') {
        error_line(L, lineno, NULL, line, "a section header is '[name]'");
        return;
    }
    char *name = g_strstrip(g_strndup(line + 1, len - 2));
    char *hk = line_key(name, NULL);
    guint prev = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, hk));
    if (prev != 0) {
        error_line(L, lineno, name, NULL, "section appears twice (first at line %u)", prev);
        g_free(hk);
    } else {
        g_hash_table_replace(L->lines, hk, GUINT_TO_POINTER(lineno));
    }
    g_free(ps->group);
    ps->group = name;
}

static void scan_key(SimLoader *L, const char *key, const char *value, guint lineno,
                     const char *group) {
    char *lk = line_key(group, key);
    guint prev = GPOINTER_TO_UINT(g_hash_table_lookup(L->lines, lk));
    if (prev != 0) {
        error_line(L, lineno, group, key, "set twice (first at line %u)", prev);
        g_free(lk);
    } else {
        g_hash_table_replace(L->lines, lk, GUINT_TO_POINTER(lineno));
    }
    if (*key == '\0')
        error_line(L, lineno, group, NULL, "empty key name");
    if (strstr(value, " #") != NULL || strstr(value, "\t#") != NULL)
        error_line(L, lineno, group, key,
                   "inline comments are not supported: put the comment on its own line");
}

/* The separator of a [config] line: '=' or, as in Flink's config.yaml, ": " (or a ':'
 * ending the line), whichever comes first. NULL when there is none. */
static const char *config_separator(const char *line) {
    const char *eq = strchr(line, '=');
    for (const char *c = strchr(line, ':'); c != NULL && (eq == NULL || c < eq);
         c = strchr(c + 1, ':'))
        if (c[1] == ' ' || c[1] == '\t' || c[1] == '\0')
            return c;
    return eq;
}

/* value without one pair of matching YAML quotes; newly allocated. */
static char *unquote(const char *value) {
    size_t n = strlen(value);
    if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0])
        return g_strndup(value + 1, n - 2);
    return g_strdup(value);
}

static void bad_line(SimLoader *L, const char *line, guint lineno, Prescan *ps) {
    if (++ps->n_bad > PRESCAN_SAME_ERRORS) {
        if (ps->first_bad_extra == 0)
            ps->first_bad_extra = lineno;
        return;
    }
    const char *colon = config_separator(line);
    if (colon == NULL || *colon != ':') {
        error_line(L, lineno, ps->group, line,
                   "not a 'key = value' line, a [section] header or a # comment");
        return;
    }
    char *key = g_strstrip(g_strndup(line, (size_t)(colon - line)));
    char *value = g_strstrip(g_strdup(colon + 1));
    error_line(L, lineno, ps->group, key, "write '%s = %s': the 'key: value' form of Flink's "
               "config.yaml is accepted in [config] only", key, value);
    g_free(key);
    g_free(value);
}

static void scan_line(SimLoader *L, char *line, guint lineno, Prescan *ps) {
    bool in_config = ps->group != NULL && strcmp(ps->group, "config") == 0;
    const char *sep = in_config ? config_separator(line) : strchr(line, '=');
    if (*line == '[') {
        scan_group(L, line, lineno, ps);
    } else if (sep == NULL) {
        bad_line(L, line, lineno, ps);
        return;
    }
    if (*line == '[' || sep == NULL) {
        g_string_append_printf(ps->out, "%s\n", line);
        return;
    }
    char *key = g_strstrip(g_strndup(line, (size_t)(sep - line)));
    char *value = g_strstrip(g_strdup(sep + 1));
    if (ps->group == NULL) {
        error_line(L, lineno, NULL, key, "key outside any section (start with [scenario])");
    } else if (*sep == ':' && *value == '\0') {
        error_line(L, lineno, ps->group, key, "no value: nested YAML maps are read by "
                   "--flink-conf FILE, [config] takes flat 'a.b.c: value' lines");
    } else {
        scan_key(L, key, value, lineno, ps->group);
    }
    char *v = *sep == ':' ? unquote(value) : g_strdup(value);
    g_string_append_printf(ps->out, "%s = %s\n", key, v);
    g_free(v);
    g_free(value);
    g_free(key);
}

/* Maps (group, key) -> line, reports lines GKeyFile would reject (without a line), and
 * returns the text for GKeyFile (newly allocated). */
static char *prescan(SimLoader *L, const char *text) {
    char **lines = g_strsplit(text, "\n", -1);
    Prescan ps = {NULL, g_string_sized_new(strlen(text) + 64), 0, 0};
    for (guint i = 0; lines[i] != NULL; i++) {
        char *line = g_strstrip(lines[i]);
        if (*line == '\0' || *line == '#')
            g_string_append_printf(ps.out, "%s\n", line);
        else
            scan_line(L, line, i + 1, &ps);
    }
    if (ps.n_bad > PRESCAN_SAME_ERRORS)
        error_line(L, ps.first_bad_extra, NULL, NULL,
                   "... and %u more lines like these (not 'key = value')",
                   ps.n_bad - PRESCAN_SAME_ERRORS);
    g_free(ps.group);
    g_strfreev(lines);
    return g_string_free(ps.out, FALSE);
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

static void set_error(SimLoader *L, const char *arg, unsigned index, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void set_error(SimLoader *L, const char *arg, unsigned index, const char *fmt, ...) {
    SimErrPlace place = {0, arg, index, NULL, NULL};
    va_list ap;
    va_start(ap, fmt);
    add_error_v(L, &place, fmt, ap);
    va_end(ap);
}

/* Splits the checked key k into its group and key (newly allocated). */
static void set_target(SimLoader *L, const char *k, char **group, char **key) {
    const char *dot = strchr(k, '.');
    char *first = dot ? g_strndup(k, (size_t)(dot - k)) : g_strdup(k);
    const char *dot2 = dot ? strchr(dot + 1, '.') : NULL;
    if (dot != NULL && g_strv_contains(set_sections, first)) {
        *group = g_strdup(first);
        *key = g_strdup(dot + 1);
    } else if (dot2 != NULL && strcmp(first, "operator") == 0) {
        char *op = g_strndup(dot + 1, (size_t)(dot2 - dot - 1));
        *group = operator_group(L, op);
        *key = g_strdup(dot2 + 1);
        g_free(op);
    } else {
        *group = g_strdup("config");
        *key = g_strdup(k);
    }
    g_free(first);
}

static void apply_set(SimLoader *L, const char *arg, unsigned index) {
    const char *eq = strchr(arg, '=');
    if (eq == NULL) {
        set_error(L, arg, index, "expected KEY=VALUE");
        return;
    }
    char *k = g_strndup(arg, (size_t)(eq - arg));
    char *why = NULL;
    if (!sim_set_key_check(k, &why)) {
        set_error(L, arg, index, "bad key '%s': %s", k, why);
        g_free(why);
        g_free(k);
        return;
    }
    char *value = g_strstrip(g_strdup(eq + 1));
    char *group = NULL, *key = NULL;
    set_target(L, k, &group, &key);
    g_key_file_set_value(L->kf, group, key, value);
    SetOrigin *o = g_new0(SetOrigin, 1);
    o->arg = g_strdup(arg);
    o->index = index;
    g_hash_table_replace(L->set_origin, line_key(group, key), o);
    g_free(group);
    g_free(key);
    g_free(k);
    g_free(value);
}

static void apply_sets(SimLoader *L, const char *const *sets) {
    size_t n = 0, bytes = 0;
    for (; sets != NULL && sets[n] != NULL; n++)
        bytes += strlen(sets[n]) + 1;
    if (n > SIM_SET_MAX_COUNT || bytes > SIM_SET_MAX_BYTES) {
        SimErrPlace place = {0, NULL, 0, NULL, "--set"};
        sim_loader_error_at(L, &place, "%zu arguments of %zu bytes: at most %u arguments and "
                            "%u bytes", n, bytes, SIM_SET_MAX_COUNT, SIM_SET_MAX_BYTES);
        return;
    }
    for (size_t i = 0; i < n; i++)
        apply_set(L, sets[i], (unsigned)i);
}

/* ------------------------------------------------------------------ load */

static SimLoader *loader_new(const char *path) {
    SimLoader *L = g_new0(SimLoader, 1);
    L->path = path;
    L->kf = g_key_file_new();
    L->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    L->set_origin = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, set_origin_free);
    L->errs = sim_errlist_new(path);
    L->strings = g_ptr_array_new_with_free_func(g_free);
    return L;
}

static void loader_free(SimLoader *L) {
    g_key_file_free(L->kf);
    g_hash_table_destroy(L->lines);
    g_hash_table_destroy(L->set_origin);
    sim_errlist_free(L->errs);
    g_ptr_array_free(L->strings, TRUE);
    g_free(L);
}

static void parse_text(SimLoader *L, const char *text) {
    if (strlen(text) > SIM_SCENARIO_MAX_BYTES) {
        error_line(L, 0, NULL, NULL, "the scenario is larger than %u bytes (1 MiB)",
                   SIM_SCENARIO_MAX_BYTES);
        return;
    }
    char *normal = prescan(L, text);
    GError *kf_error = NULL;
    if (L->n_errors == 0 &&
        !g_key_file_load_from_data(L->kf, normal, (gsize)-1, G_KEY_FILE_NONE, &kf_error)) {
        error_line(L, 0, NULL, NULL, "%s", kf_error->message);
        g_error_free(kf_error);
    }
    g_free(normal);
}

SimScenario *sim_scenario_load_text(const char *display_path, const char *text,
                                    const char *const *sets, GError **error) {
    assert(display_path != NULL && text != NULL);
    SimLoader *L = loader_new(display_path);
    parse_text(L, text);
    if (L->n_errors == 0)
        apply_sets(L, sets);
    if (L->n_errors == 0) {
        L->s = g_new0(SimScenario, 1);
        L->s->path = g_strdup(display_path);
        L->s->text = g_strdup(text);
        sim_loader_build(L);
    }
    SimScenario *s = NULL;
    if (L->n_errors > 0) {
        char *msg = sim_errlist_text(L->errs);
        g_set_error(error, SIM_SCENARIO_ERROR, SIM_SCENARIO_ERROR_INVALID, "%s", msg);
        g_free(msg);
        sim_scenario_free(L->s);
    } else {
        s = L->s;
    }
    loader_free(L);
    return s;
}

static bool read_fail(GError **error, const char *path, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static bool read_fail(GError **error, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, SIM_SCENARIO_ERROR, SIM_SCENARIO_ERROR_READ, "%s: %s", path, msg);
    g_free(msg);
    return false;
}

/* Reads at most max + 1 bytes of the regular file fd into *text. */
static bool read_bounded(int fd, const char *path, size_t max, const char *what, char **text,
                         GError **error) {
    char *buf = g_malloc(max + 2);
    size_t len = 0;
    while (len <= max) {
        ssize_t got = read(fd, buf + len, max + 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            g_free(buf);
            return read_fail(error, path, "cannot read: %s", g_strerror(errno));
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    if (len > max) {
        g_free(buf);
        return read_fail(error, path, "the %s file grew over %zu bytes while read", what, max);
    }
    if (memchr(buf, '\0', len) != NULL || !g_utf8_validate(buf, (gssize)len, NULL)) {
        g_free(buf);
        return read_fail(error, path, "not a UTF-8 text file (a %s is text)", what);
    }
    *text = buf;
    return true;
}

bool sim_read_text_file(const char *path, size_t max, const char *what, char **text,
                        GError **error) {
    assert(path != NULL && what != NULL && text != NULL);
    *text = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return read_fail(error, path, "cannot read: %s", g_strerror(errno));
    struct stat st;
    bool ok = false;
    if (fstat(fd, &st) != 0)
        read_fail(error, path, "cannot read: %s", g_strerror(errno));
    else if (!S_ISREG(st.st_mode))
        read_fail(error, path, "not a regular file (a %s is a text file of at most %zu "
                  "bytes, %zu KiB)", what, max, max / 1024);
    else if ((uint64_t)st.st_size > max)
        read_fail(error, path, "the %s file has %" G_GUINT64_FORMAT " bytes, over the limit "
                  "of %zu bytes (%zu KiB)", what, (guint64)st.st_size, max, max / 1024);
    else
        ok = read_bounded(fd, path, max, what, text, error);
    close(fd);
    return ok;
}

SimScenario *sim_scenario_load(const char *path, const char *const *sets, GError **error) {
    assert(path != NULL);
    char *text = NULL;
    if (!sim_read_text_file(path, SIM_SCENARIO_MAX_BYTES, "scenario", &text, error))
        return NULL;
    SimScenario *s = sim_scenario_load_text(path, text, sets, error);
    g_free(text);
    return s;
}
