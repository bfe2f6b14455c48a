/* sim_flink_conf.c - Flink's config.yaml as [config] overrides (sim_flink_conf.h): a
 * libyaml event loop that flattens nested maps into dotted keys (as Flink's
 * YamlParserUtils / GlobalConfiguration.loadYAMLResource do), then the registry's verdict
 * on each key, with errors in the one format of sim_keys.h. */
#include "sim/harness/sim_flink_conf.h"

#include <assert.h>
#include <stdarg.h>
#include <string.h>
#include <yaml.h>

#include "runtime/env/rt_config_keys.h"
#include "sim/harness/sim_keys.h"
#include "sim/harness/sim_scenario.h"

/* Unknown keys under these prefixes are errors (ckptsim models these families). */
static const char *const modelled_families[] = {
    "execution.checkpointing.", "restart-strategy.", "high-availability.", "state.",
    "ckptsim.", "pipeline.max-parallelism", NULL,
};

typedef struct Frame {
    bool is_seq;
    char *prefix;    /* map: "a.b." of its keys; seq: the full key */
    char *key;       /* map: the key whose value comes next, NULL = expecting a key */
    unsigned line;   /* of key (map) or of the sequence's key */
    GString *items;  /* seq: the scalars joined with ';' */
} Frame;

typedef struct Reader {
    const char *path;
    SimErrList *errs;
    GPtrArray *sets, *notes;
    GHashTable *seen; /* key -> first line */
    GPtrArray *stack; /* Frame* */
} Reader;

static void error_at(Reader *r, unsigned line, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void error_at(Reader *r, unsigned line, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    SimErrPlace place = {line, NULL, 0, key != NULL ? "config" : NULL, key};
    sim_errlist_add(r->errs, &place, msg);
    g_free(msg);
}

static bool in_modelled_family(const char *key) {
    for (const char *const *f = modelled_families; *f != NULL; f++)
        if (g_str_has_prefix(key, *f))
            return true;
    return false;
}

/* Unknown to the registry: an error in a family ckptsim models or within two edits of a
 * known key (a typo must not vanish); else deployment detail, ignored with a note. */
static void unknown_key(Reader *r, unsigned line, const char *key) {
    const char **names = rt_config_key_names();
    const char *near = sim_keys_nearest(key, names);
    bool typo = near != NULL && sim_levenshtein(key, near) <= 2;
    if (in_modelled_family(key) || typo)
        error_at(r, line, key, "unknown key%s%s%s", near ? " (did you mean '" : "",
                 near ? near : "", near ? "'?)" : " (the keys are listed in README.md, "
                                                  "'Configuration keys')");
    else if (strcmp(key, "taskmanager.numberOfTaskSlots") == 0)
        g_ptr_array_add(r->notes, g_strdup_printf("%s:%u: [config] %s: ignored: the "
                                                  "scenario's [cluster] slots is used (--set "
                                                  "cluster.slots=N)", r->path, line, key));
    else
        g_ptr_array_add(r->notes, g_strdup_printf("%s:%u: [config] %s: ignored: not a key "
                                                  "the simulation reads (deployment, "
                                                  "resources)", r->path, line, key));
    g_free(names);
}

/* A value of a numeric key that does not start with a digit (a sign), as the scenario
 * loader refuses it. */
static bool signed_number(const char *key, const char *value) {
    const RtKeyDef *d = rt_config_key_find(key, NULL);
    if (d == NULL || g_ascii_isdigit(value[0]))
        return false;
    return d->type == RT_KEY_T_DURATION || d->type == RT_KEY_T_U64 ||
           d->type == RT_KEY_T_SIZE || d->type == RT_KEY_T_DOUBLE;
}

/* One flattened key = value at line. */
static void emit(Reader *r, const char *key, const char *value, unsigned line) {
    char *why = NULL, *msg = NULL;
    guint prev = GPOINTER_TO_UINT(g_hash_table_lookup(r->seen, key));
    if (prev != 0) {
        error_at(r, line, key, "set twice (first at line %u)", prev);
        return;
    }
    g_hash_table_insert(r->seen, g_strdup(key), GUINT_TO_POINTER(line));
    if (!sim_set_key_check(key, &why)) {
        error_at(r, line, key, "bad key: %s", why);
    } else if (*value == '\0') {
        error_at(r, line, key, "empty value");
    } else if (strchr(value, '\n') != NULL) {
        error_at(r, line, key, "expected a one-line value");
    } else if (signed_number(key, value)) {
        error_at(r, line, key, "bad value '%s': expected a number without a sign", value);
    } else {
        switch (rt_config_key_check(key, value, &msg)) {
        case RT_KEY_OK:
        case RT_KEY_NOTE:
            g_ptr_array_add(r->sets, g_strdup_printf("config.%s=%s", key, value));
            break;
        case RT_KEY_BAD: error_at(r, line, key, "%s", msg); break;
        case RT_KEY_UNKNOWN: unknown_key(r, line, key); break;
        }
    }
    g_free(msg);
    g_free(why);
}

static Frame *top(Reader *r) {
    return r->stack->len > 0 ? g_ptr_array_index(r->stack, r->stack->len - 1) : NULL;
}

static void frame_free(gpointer p) {
    Frame *f = p;
    g_free(f->prefix);
    g_free(f->key);
    if (f->items != NULL)
        g_string_free(f->items, TRUE);
    g_free(f);
}

static void pop(Reader *r) {
    g_ptr_array_remove_index(r->stack, r->stack->len - 1);
    Frame *parent = top(r);
    if (parent != NULL) {
        g_free(parent->key);
        parent->key = NULL;
    }
}

/* A map or a list starts; returns false on an error. */
static bool open_node(Reader *r, bool is_seq, unsigned line) {
    Frame *t = top(r);
    if (t != NULL && (t->is_seq || t->key == NULL)) {
        error_at(r, line, t->is_seq ? t->prefix : NULL, "%s", t->is_seq
                 ? "a list of lists or maps is not a Flink value" : "a key must be a scalar");
        return false;
    }
    if (t == NULL && is_seq) {
        error_at(r, line, NULL, "a Flink config.yaml is a map of keys, not a list");
        return false;
    }
    if (r->stack->len >= SIM_FLINK_CONF_MAX_DEPTH) {
        error_at(r, line, NULL, "maps nested deeper than %u levels", SIM_FLINK_CONF_MAX_DEPTH);
        return false;
    }
    Frame *f = g_new0(Frame, 1);
    f->is_seq = is_seq;
    f->line = t ? t->line : line;
    if (is_seq) {
        f->prefix = g_strconcat(t->prefix, t->key, NULL);
        f->items = g_string_new(NULL);
    } else {
        f->prefix = t ? g_strconcat(t->prefix, t->key, ".", NULL) : g_strdup("");
    }
    g_ptr_array_add(r->stack, f);
    return true;
}

static void scalar(Reader *r, const char *v, unsigned line) {
    Frame *t = top(r);
    if (t == NULL) {
        if (*v != '\0')
            error_at(r, line, NULL, "a Flink config.yaml is a map of keys, not a value");
    } else if (t->is_seq) {
        g_string_append_printf(t->items, "%s%s", t->items->len > 0 ? ";" : "", v);
    } else if (t->key == NULL) {
        t->key = g_strdup(v);
        t->line = line;
    } else {
        char *key = g_strconcat(t->prefix, t->key, NULL);
        emit(r, key, v, t->line);
        g_free(key);
        g_free(t->key);
        t->key = NULL;
    }
}

/* Handles one event; returns false at the end of the stream or on a fatal error. */
static bool on_event(Reader *r, const yaml_event_t *ev) {
    unsigned line = (unsigned)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT: return open_node(r, false, line);
    case YAML_SEQUENCE_START_EVENT: return open_node(r, true, line);
    case YAML_MAPPING_END_EVENT: pop(r); return true;
    case YAML_SEQUENCE_END_EVENT: {
        Frame *t = top(r);
        emit(r, t->prefix, t->items->str, t->line);
        pop(r);
        return true;
    }
    case YAML_SCALAR_EVENT: scalar(r, (const char *)ev->data.scalar.value, line); return true;
    case YAML_ALIAS_EVENT:
        error_at(r, line, NULL, "YAML aliases (*name) are not supported");
        return false;
    case YAML_STREAM_END_EVENT: return false;
    default: return true;
    }
}

static void read_events(Reader *r, const char *text) {
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    for (bool more = true; more;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            error_at(r, (unsigned)parser.problem_mark.line + 1, NULL, "not valid YAML: %s",
                     parser.problem ? parser.problem : "parse error");
            break;
        }
        more = on_event(r, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
}

bool sim_flink_conf_parse(const char *display_path, const char *text, GPtrArray *sets,
                          GPtrArray *notes, GError **error) {
    assert(display_path != NULL && text != NULL && sets != NULL && notes != NULL);
    Reader r = {display_path, sim_errlist_new(display_path), sets, notes,
                g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                g_ptr_array_new_with_free_func(frame_free)};
    read_events(&r, text);
    char *msg = sim_errlist_text(r.errs);
    if (msg != NULL)
        g_set_error(error, SIM_SCENARIO_ERROR, SIM_SCENARIO_ERROR_INVALID, "%s", msg);
    g_free(msg);
    bool ok = sim_errlist_count(r.errs) == 0;
    sim_errlist_free(r.errs);
    g_hash_table_destroy(r.seen);
    g_ptr_array_free(r.stack, TRUE);
    return ok;
}

bool sim_flink_conf_merge(const char *path, char ***sets, FILE *notes_out, GError **error) {
    assert(path != NULL && sets != NULL);
    char *text = NULL;
    if (!sim_read_text_file(path, SIM_FLINK_CONF_MAX_BYTES, "Flink config", &text, error))
        return false;
    GPtrArray *got = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
    bool ok = sim_flink_conf_parse(path, text, got, notes, error);
    for (guint i = 0; ok && notes_out != NULL && i < notes->len; i++)
        fprintf(notes_out, "%s\n", (const char *)g_ptr_array_index(notes, i));
    if (ok) {
        for (char **s = *sets; s != NULL && *s != NULL; s++)
            g_ptr_array_add(got, g_strdup(*s));
        g_ptr_array_add(got, NULL);
        g_strfreev(*sets);
        *sets = (char **)g_ptr_array_free(got, FALSE);
    } else {
        g_ptr_array_free(got, TRUE);
    }
    g_ptr_array_free(notes, TRUE);
    g_free(text);
    return ok;
}

bool sim_flink_conf_apply(const char *prog, const char *path, char ***sets) {
    GError *e = NULL;
    if (path == NULL || sim_flink_conf_merge(path, sets, stderr, &e))
        return true;
    fprintf(stderr, "%s\n%s: bad input (--flink-conf reads a Flink config.yaml)\n", e->message,
            prog);
    g_error_free(e);
    return false;
}
