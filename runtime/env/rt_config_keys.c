/* rt_config_keys.c - lookup under Flink's precedence, typed reads with the registry's
 * defaults and bounds, value aliases, and the checker's verdict on a key (rt_config_keys.h).
 * The data is in rt_config_keys_table.c. */
#include "runtime/env/rt_config_keys_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "runtime/env/rt_env.h"

#define MS_NS UINT64_C(1000000)
#define SEC_NS UINT64_C(1000000000)

const RtKeyDef *rt_config_keys(size_t *n) {
    assert(n != NULL);
    *n = rt_key_table_len;
    return rt_key_table;
}

const RtKeyDef *rt_config_key_def(RtKeyId id) {
    assert((unsigned)id < RT_KEY_COUNT && rt_key_table[id].name != NULL);
    return &rt_key_table[id];
}

static bool is_prefix_row(const RtKeyDef *d) {
    size_t n = strlen(d->name);
    return n > 0 && d->name[n - 1] == '.';
}

const RtKeyDef *rt_config_key_find(const char *name, bool *is_alias) {
    assert(name != NULL);
    if (is_alias != NULL)
        *is_alias = false;
    for (size_t i = 0; i < rt_key_table_len; i++)
        if (strcmp(rt_key_table[i].name, name) == 0)
            return &rt_key_table[i];
    for (size_t i = 0; i < rt_key_table_len; i++) {
        for (size_t a = 0; a < RT_KEY_MAX_ALIASES && rt_key_table[i].aliases[a]; a++) {
            if (strcmp(rt_key_table[i].aliases[a], name) == 0) {
                if (is_alias != NULL)
                    *is_alias = true;
                return &rt_key_table[i];
            }
        }
    }
    for (size_t i = 0; i < rt_key_table_len; i++) {
        const RtKeyDef *d = &rt_key_table[i];
        if (is_prefix_row(d) && g_str_has_prefix(name, d->name) && name[strlen(d->name)])
            return d;
    }
    return NULL;
}

/* Configuration.getOptional with withDeprecatedKeys/withFallbackKeys: the canonical key,
 * else the first alias set, in declaration order. */
const char *rt_config_lookup_from(const RtConfig *cfg, RtKeyId id, const char **from) {
    assert(cfg != NULL);
    const RtKeyDef *d = rt_config_key_def(id);
    const char *v = rt_config_get(cfg, d->name);
    const char *key = d->name;
    for (size_t a = 0; v == NULL && a < RT_KEY_MAX_ALIASES && d->aliases[a] != NULL; a++) {
        v = rt_config_get(cfg, d->aliases[a]);
        key = d->aliases[a];
    }
    if (from != NULL)
        *from = v != NULL ? key : d->name;
    return v;
}

const char *rt_config_lookup(const RtConfig *cfg, RtKeyId id) {
    return rt_config_lookup_from(cfg, id, NULL);
}

/* ------------------------------------------------------------------ values */

/* "10 ms", "1 min", "1500 ns": the largest exact unit. Newly allocated. */
static char *fmt_ns(uint64_t ns) {
    if (ns != 0 && ns % (60 * SEC_NS) == 0)
        return g_strdup_printf("%" PRIu64 " min", ns / (60 * SEC_NS));
    if (ns != 0 && ns % SEC_NS == 0)
        return g_strdup_printf("%" PRIu64 " s", ns / SEC_NS);
    if (ns != 0 && ns % MS_NS == 0)
        return g_strdup_printf("%" PRIu64 " ms", ns / MS_NS);
    return g_strdup_printf("%" PRIu64 " ns", ns);
}

static char *bounds_why(const RtKeyDef *d, uint64_t v) {
    bool dur = d->type == RT_KEY_T_DURATION;
    char *lo = dur ? fmt_ns(d->min) : g_strdup_printf("%" PRIu64, d->min);
    char *hi = dur ? fmt_ns(d->max) : g_strdup_printf("%" PRIu64, d->max);
    char *why;
    if (d->zero_disables && v < d->min)
        why = g_strdup_printf("0 (off) or at least %s", lo);
    else if (d->max != 0)
        why = g_strdup_printf("between %s and %s", lo, hi);
    else
        why = g_strdup_printf("at least %s", lo);
    g_free(lo);
    g_free(hi);
    return why;
}

static bool in_bounds(const RtKeyDef *d, uint64_t v) {
    if (d->zero_disables && v == 0)
        return true;
    return v >= d->min && (d->max == 0 || v <= d->max);
}

/* The value alias of row `row` spelled value, or NULL. */
static const RtValueAlias *value_alias(size_t row, const char *value) {
    for (size_t i = 0; row < RT_KEY_COUNT && i < rt_value_aliases_len; i++)
        if ((size_t)rt_value_aliases[i].key == row &&
            g_ascii_strcasecmp(rt_value_aliases[i].alias, value) == 0)
            return &rt_value_aliases[i];
    return NULL;
}

static bool check_choice(size_t row, const char *value, unsigned *choice, const char **note,
                         char **why) {
    const RtKeyDef *d = &rt_key_table[row];
    const RtValueAlias *va = value_alias(row, value);
    if (va != NULL && va->canonical == NULL) {
        *why = g_strdup(va->note);
        return false;
    }
    if (va != NULL)
        *note = va->note;
    const char *want = va != NULL ? va->canonical : value;
    char **choices = g_strsplit(d->choices, "|", -1);
    bool ok = false;
    for (unsigned i = 0; choices[i] != NULL && !ok; i++) {
        if (g_ascii_strcasecmp(choices[i], want) == 0) {
            *choice = i;
            ok = true;
        }
    }
    g_strfreev(choices);
    if (!ok) {
        char *list = g_strdelimit(g_strdup(d->choices), "|", ',');
        *why = g_strdup_printf("expected one of: %s", list);
        g_free(list);
    }
    return ok;
}

/* Strips Flink's URI scheme and surrounding slashes. Newly allocated. */
static char *clean_dir(const char *dir) {
    const char *scheme = strstr(dir, "://");
    if (scheme != NULL)
        dir = scheme + 3;
    while (*dir == '/')
        dir++;
    char *clean = g_strdup(dir);
    size_t n = strlen(clean);
    while (n > 0 && clean[n - 1] == '/')
        clean[--n] = '\0';
    return clean;
}

/* Checks value against row: on success fills what the type yields (*num, *dbl, *flag,
 * *choice) and may set *note (borrowed); else sets *why (newly allocated). */
typedef struct {
    uint64_t num;
    double dbl;
    bool flag;
    unsigned choice;
    const char *note;
} Parsed;

static bool parse_value(size_t row, const char *value, Parsed *p, char **why) {
    const RtKeyDef *d = &rt_key_table[row];
    memset(p, 0, sizeof *p);
    *why = NULL;
    switch (d->type) {
    case RT_KEY_T_STRING:
        if (*value == '\0')
            *why = g_strdup("expected a value");
        break;
    case RT_KEY_T_DURATION:
        if (!rt_parse_duration_ns(value, &p->num))
            *why = g_strdup("expected a duration such as '500 ms', '2 s' or '1 min'");
        break;
    case RT_KEY_T_SIZE:
        if (!rt_parse_size_bytes(value, &p->num))
            *why = g_strdup("expected a size such as '64 kb'");
        break;
    case RT_KEY_T_U64:
        if (!g_ascii_isdigit(value[0]) ||
            !g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &p->num, NULL))
            *why = g_strdup("expected an unsigned integer");
        break;
    case RT_KEY_T_DOUBLE: {
        char *end = NULL;
        p->dbl = g_ascii_strtod(value, &end);
        if (end == value || *end != '\0' || !isfinite(p->dbl) || p->dbl < 0)
            *why = g_strdup("expected a number >= 0");
        break;
    }
    case RT_KEY_T_BOOL:
        if (!rt_parse_bool(value, &p->flag))
            *why = g_strdup("expected true or false");
        break;
    case RT_KEY_T_CHOICE: return check_choice(row, value, &p->choice, &p->note, why);
    case RT_KEY_T_PATH: {
        char *clean = clean_dir(value);
        if (!rt_storage_path_valid(clean))
            *why = g_strdup("expected a relative path of [A-Za-z0-9._-/] without '..' "
                            "(or file:///path)");
        g_free(clean);
        break;
    }
    }
    bool numeric = d->type == RT_KEY_T_DURATION || d->type == RT_KEY_T_SIZE ||
                   d->type == RT_KEY_T_U64;
    if (*why == NULL && numeric && !in_bounds(d, p->num))
        *why = bounds_why(d, p->num);
    return *why == NULL;
}

/* The effective value of id parsed, or the default's; false + error on a bad value. */
static bool read_key(const RtConfig *cfg, RtKeyId id, Parsed *p, GError **error) {
    const RtKeyDef *d = rt_config_key_def(id);
    const char *from = NULL;
    const char *v = rt_config_lookup_from(cfg, id, &from);
    if (v == NULL && d->def == NULL) {
        memset(p, 0, sizeof *p);
        return true;
    }
    char *why = NULL;
    if (parse_value((size_t)id, v != NULL ? v : d->def, p, &why))
        return true;
    assert(v != NULL); /* the registry's defaults are valid (a unit test checks) */
    g_set_error(error, RT_CONFIG_ERROR, RT_CONFIG_ERROR_BAD_VALUE, "%s: bad value '%s' (%s)",
                from, v, why);
    g_free(why);
    return false;
}

bool rt_config_key_duration_ns(const RtConfig *cfg, RtKeyId id, uint64_t *out,
                               GError **error) {
    assert(rt_config_key_def(id)->type == RT_KEY_T_DURATION);
    Parsed p;
    if (!read_key(cfg, id, &p, error))
        return false;
    *out = p.num;
    return true;
}

bool rt_config_key_u64(const RtConfig *cfg, RtKeyId id, uint64_t *out, GError **error) {
    assert(rt_config_key_def(id)->type == RT_KEY_T_U64);
    Parsed p;
    if (!read_key(cfg, id, &p, error))
        return false;
    *out = p.num;
    return true;
}

bool rt_config_key_size_bytes(const RtConfig *cfg, RtKeyId id, uint64_t *out,
                              GError **error) {
    assert(rt_config_key_def(id)->type == RT_KEY_T_SIZE);
    Parsed p;
    if (!read_key(cfg, id, &p, error))
        return false;
    *out = p.num;
    return true;
}

bool rt_config_key_double(const RtConfig *cfg, RtKeyId id, double *out, GError **error) {
    assert(rt_config_key_def(id)->type == RT_KEY_T_DOUBLE);
    Parsed p;
    if (!read_key(cfg, id, &p, error))
        return false;
    *out = p.dbl;
    return true;
}

bool rt_config_key_bool(const RtConfig *cfg, RtKeyId id, bool *out, GError **error) {
    assert(rt_config_key_def(id)->type == RT_KEY_T_BOOL);
    Parsed p;
    if (!read_key(cfg, id, &p, error))
        return false;
    *out = p.flag;
    return true;
}

bool rt_config_key_choice(const RtConfig *cfg, RtKeyId id, unsigned *out, GError **error) {
    assert(rt_config_key_def(id)->type == RT_KEY_T_CHOICE);
    Parsed p;
    if (!read_key(cfg, id, &p, error))
        return false;
    *out = p.choice;
    return true;
}

const char *rt_config_key_string(const RtConfig *cfg, RtKeyId id) {
    const char *v = rt_config_lookup(cfg, id);
    return v != NULL ? v : rt_config_key_def(id)->def;
}

char *rt_config_key_dir(const RtConfig *cfg, RtKeyId id, GError **error) {
    assert(rt_config_key_def(id)->type == RT_KEY_T_PATH);
    const char *from = NULL;
    const char *v = rt_config_lookup_from(cfg, id, &from);
    if (v == NULL)
        v = rt_config_key_def(id)->def;
    if (v == NULL)
        return NULL;
    char *clean = clean_dir(v);
    if (!rt_storage_path_valid(clean)) {
        g_set_error(error, RT_CONFIG_ERROR, RT_CONFIG_ERROR_BAD_VALUE,
                    "%s: '%s' is not a valid storage path (expected a relative path or "
                    "file:///path)", from, v);
        g_free(clean);
        return NULL;
    }
    return clean;
}

/* StateBackendLoader + CheckpointStorageLoader: a legacy FsStateBackend is its own
 * (filesystem) storage; hashmap takes execution.checkpointing.storage. */
bool rt_config_backend_kind(const RtConfig *cfg, RtBackendKind *out, GError **error) {
    unsigned backend = 0, storage = 0;
    if (!rt_config_key_choice(cfg, RT_KEY_STATE_BACKEND, &backend, error) ||
        !rt_config_key_choice(cfg, RT_KEY_CHECKPOINT_STORAGE, &storage, error))
        return false;
    if (backend == 0)
        *out = storage == 1 ? RT_BACKEND_FILESYSTEM : RT_BACKEND_HASHMAP;
    else
        *out = backend == 1 ? RT_BACKEND_FILESYSTEM : RT_BACKEND_ZOOKEEPER;
    return true;
}

const char *rt_backend_kind_name(RtBackendKind kind) {
    static const char *const names[] = {"hashmap", "filesystem", "zookeeper"};
    assert((unsigned)kind < G_N_ELEMENTS(names));
    return names[kind];
}

/* ------------------------------------------------------------------ checker */

static bool refused_value(const RtKeyDef *d, const char *value) {
    if (strcmp(d->refuse_value, "*") == 0)
        return true;
    bool a = false, b = false;
    if (d->type == RT_KEY_T_BOOL && rt_parse_bool(value, &a) &&
        rt_parse_bool(d->refuse_value, &b))
        return a == b;
    return g_ascii_strcasecmp(value, d->refuse_value) == 0;
}

RtKeyVerdict rt_config_key_check(const char *key, const char *value, char **msg) {
    assert(key != NULL && value != NULL && msg != NULL);
    *msg = NULL;
    bool alias = false;
    const RtKeyDef *d = rt_config_key_find(key, &alias);
    if (d == NULL)
        return RT_KEY_UNKNOWN;
    Parsed p;
    char *why = NULL;
    if (!parse_value((size_t)(d - rt_key_table), value, &p, &why)) {
        *msg = g_strdup_printf("bad value '%s': %s", value, why);
        g_free(why);
        return RT_KEY_BAD;
    }
    if (d->status == RT_KEY_REFUSED && refused_value(d, value)) {
        *msg = g_strdup_printf("known Flink key, not modelled by ckptsim: %s", d->help);
        return RT_KEY_BAD;
    }
    GString *note = g_string_new(NULL);
    if (d->status == RT_KEY_NOTED)
        g_string_append_printf(note, "known Flink key, not modelled by ckptsim: %s", d->help);
    if (alias)
        g_string_append_printf(note, "%sdeprecated key: Flink's name is '%s'",
                               note->len ? "; " : "", d->name);
    if (p.note != NULL)
        g_string_append_printf(note, "%s'%s': %s", note->len ? "; " : "", value, p.note);
    if (note->len == 0) {
        g_string_free(note, TRUE);
        return RT_KEY_OK;
    }
    *msg = g_string_free(note, FALSE);
    return RT_KEY_NOTE;
}

const char **rt_config_key_names(void) {
    GPtrArray *names = g_ptr_array_new();
    for (size_t i = 0; i < rt_key_table_len; i++) {
        g_ptr_array_add(names, (gpointer)rt_key_table[i].name);
        for (size_t a = 0; a < RT_KEY_MAX_ALIASES && rt_key_table[i].aliases[a]; a++) {
            bool alias = false;
            /* A fallback key that is another row's canonical name is listed there. */
            if (rt_config_key_find(rt_key_table[i].aliases[a], &alias) == &rt_key_table[i])
                g_ptr_array_add(names, (gpointer)rt_key_table[i].aliases[a]);
        }
    }
    g_ptr_array_add(names, NULL);
    return (const char **)g_ptr_array_free(names, FALSE);
}
