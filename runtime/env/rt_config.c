/* rt_config.c - job configuration map and Flink-style value parsers (rt_config.h). */
#include "runtime/env/rt_config.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(rt-config-error-quark, rt_config_error)

struct RtConfig {
    GTree *map; /* char* key -> char* value, sorted by strcmp: deterministic iteration */
};

static int key_cmp(gconstpointer a, gconstpointer b, gpointer unused) {
    (void)unused;
    return strcmp(a, b);
}

RtConfig *rt_config_new(void) {
    RtConfig *cfg = g_new0(RtConfig, 1);
    cfg->map = g_tree_new_full(key_cmp, NULL, g_free, g_free);
    return cfg;
}

static gboolean copy_one(gpointer key, gpointer value, gpointer data) {
    rt_config_set(data, key, value);
    return FALSE;
}

RtConfig *rt_config_copy(const RtConfig *cfg) {
    assert(cfg != NULL);
    RtConfig *copy = rt_config_new();
    g_tree_foreach(cfg->map, copy_one, copy);
    return copy;
}

void rt_config_free(RtConfig *cfg) {
    if (cfg == NULL)
        return;
    g_tree_destroy(cfg->map);
    g_free(cfg);
}

void rt_config_set(RtConfig *cfg, const char *key, const char *value) {
    assert(cfg != NULL && key != NULL && value != NULL);
    g_tree_replace(cfg->map, g_strdup(key), g_strdup(value));
}

const char *rt_config_get(const RtConfig *cfg, const char *key) {
    assert(cfg != NULL && key != NULL);
    return g_tree_lookup(cfg->map, key);
}

bool rt_config_has(const RtConfig *cfg, const char *key) {
    return rt_config_get(cfg, key) != NULL;
}

typedef struct {
    void (*fn)(const char *, const char *, void *);
    void *user_data;
} ForeachCtx;

static gboolean foreach_one(gpointer key, gpointer value, gpointer data) {
    ForeachCtx *ctx = data;
    ctx->fn(key, value, ctx->user_data);
    return FALSE;
}

void rt_config_foreach(const RtConfig *cfg,
                       void (*fn)(const char *key, const char *value, void *user_data),
                       void *user_data) {
    assert(cfg != NULL && fn != NULL);
    ForeachCtx ctx = {fn, user_data};
    g_tree_foreach(cfg->map, foreach_one, &ctx);
}

/* Parses "<number>[ ]<unit>" where unit is looked up in units (lower-case suffixes).
 * A bare number is multiplied by bare_mult. Rejects negative, NaN and overflow. */
typedef struct {
    const char *suffix;
    double mult;
} Unit;

static bool parse_with_units(const char *text, const Unit *units, double bare_mult,
                             uint64_t *out) {
    if (text == NULL)
        return false;
    while (g_ascii_isspace(*text))
        text++;
    if (*text == '\0' || *text == '-')
        return false;
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(v) || v < 0)
        return false;
    while (g_ascii_isspace(*end))
        end++;
    char *suffix = g_ascii_strdown(end, -1);
    g_strchomp(suffix);
    double mult = -1;
    if (suffix[0] == '\0')
        mult = bare_mult;
    for (const Unit *u = units; mult < 0 && u->suffix != NULL; u++)
        if (strcmp(suffix, u->suffix) == 0)
            mult = u->mult;
    g_free(suffix);
    if (mult < 0)
        return false;
    double r = v * mult;
    if (r >= 18446744073709551615.0)
        return false;
    *out = (uint64_t)llround(r);
    return true;
}

bool rt_parse_duration_ns(const char *text, uint64_t *out) {
    static const Unit units[] = {
        {"ns", 1},        {"nanos", 1},       {"us", 1e3},     {"micros", 1e3},
        {"ms", 1e6},      {"milli", 1e6},     {"millis", 1e6}, {"s", 1e9},
        {"sec", 1e9},     {"secs", 1e9},      {"second", 1e9}, {"seconds", 1e9},
        {"min", 60e9},    {"m", 60e9},        {"minute", 60e9},{"minutes", 60e9},
        {"h", 3600e9},    {"hour", 3600e9},   {"hours", 3600e9},
        {"d", 86400e9},   {"day", 86400e9},   {"days", 86400e9},
        {NULL, 0},
    };
    return parse_with_units(text, units, 1e6, out);
}

bool rt_parse_size_bytes(const char *text, uint64_t *out) {
    static const Unit units[] = {
        {"b", 1},           {"bytes", 1},       {"k", 1024},           {"kb", 1024},
        {"kib", 1024},      {"m", 1048576},     {"mb", 1048576},       {"mib", 1048576},
        {"g", 1073741824.0},{"gb", 1073741824.0},{"gib", 1073741824.0}, {NULL, 0},
    };
    return parse_with_units(text, units, 1, out);
}

bool rt_parse_bool(const char *text, bool *out) {
    if (text == NULL)
        return false;
    if (g_ascii_strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0 ||
        g_ascii_strcasecmp(text, "yes") == 0 || g_ascii_strcasecmp(text, "on") == 0) {
        *out = true;
        return true;
    }
    if (g_ascii_strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0 ||
        g_ascii_strcasecmp(text, "no") == 0 || g_ascii_strcasecmp(text, "off") == 0) {
        *out = false;
        return true;
    }
    return false;
}

static bool bad_value(GError **error, const char *key, const char *value, const char *what) {
    g_set_error(error, RT_CONFIG_ERROR, RT_CONFIG_ERROR_BAD_VALUE,
                "%s: bad value '%s' (expected %s)", key, value, what);
    return false;
}

bool rt_config_get_duration_ns(const RtConfig *cfg, const char *key, uint64_t def,
                               uint64_t *out, GError **error) {
    const char *v = rt_config_get(cfg, key);
    if (v == NULL) {
        *out = def;
        return true;
    }
    return rt_parse_duration_ns(v, out) ||
           bad_value(error, key, v, "a duration such as '500 ms' or '1 s'");
}

bool rt_config_get_u64(const RtConfig *cfg, const char *key, uint64_t def, uint64_t *out,
                       GError **error) {
    const char *v = rt_config_get(cfg, key);
    if (v == NULL) {
        *out = def;
        return true;
    }
    guint64 n = 0;
    if (!g_ascii_string_to_unsigned(v, 10, 0, G_MAXUINT64, &n, NULL))
        return bad_value(error, key, v, "a non-negative integer");
    *out = n;
    return true;
}

bool rt_config_get_double(const RtConfig *cfg, const char *key, double def, double *out,
                          GError **error) {
    const char *v = rt_config_get(cfg, key);
    if (v == NULL) {
        *out = def;
        return true;
    }
    char *end = NULL;
    double d = g_ascii_strtod(v, &end);
    if (end == v || *end != '\0' || !isfinite(d))
        return bad_value(error, key, v, "a number");
    *out = d;
    return true;
}

bool rt_config_get_bool(const RtConfig *cfg, const char *key, bool def, bool *out,
                        GError **error) {
    const char *v = rt_config_get(cfg, key);
    if (v == NULL) {
        *out = def;
        return true;
    }
    return rt_parse_bool(v, out) || bad_value(error, key, v, "true or false");
}

bool rt_config_get_size_bytes(const RtConfig *cfg, const char *key, uint64_t def,
                              uint64_t *out, GError **error) {
    const char *v = rt_config_get(cfg, key);
    if (v == NULL) {
        *out = def;
        return true;
    }
    return rt_parse_size_bytes(v, out) || bad_value(error, key, v, "a size such as '1 mb'");
}

bool rt_config_get_choice(const RtConfig *cfg, const char *key, const char *const *choices,
                          unsigned def, unsigned *out, GError **error) {
    const char *v = rt_config_get(cfg, key);
    if (v == NULL) {
        *out = def;
        return true;
    }
    for (unsigned i = 0; choices[i] != NULL; i++) {
        if (g_ascii_strcasecmp(v, choices[i]) == 0) {
            *out = i;
            return true;
        }
    }
    char *list = g_strjoinv(", ", (char **)choices);
    bad_value(error, key, v, list);
    g_free(list);
    return false;
}
