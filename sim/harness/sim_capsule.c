/* sim_capsule.c - reading and writing replay capsules (sim_capsule.h). */
#include "sim/harness/sim_capsule.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(sim-capsule-error-quark, sim_capsule_error)

#define GROUP "capsule"

#if defined(__clang__)
#define SIM_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define SIM_COMPILER "gcc " __VERSION__
#else
#define SIM_COMPILER "cc"
#endif

const char *sim_capsule_build(void) {
    return "ckptsim " CKPTSIM_VERSION " (" SIM_COMPILER ")";
}

static void set_list(GKeyFile *kf, const char *key, char **list) {
    gsize n = list != NULL ? g_strv_length(list) : 0;
    g_key_file_set_string_list(kf, GROUP, key, (const char *const *)list, n);
}

bool sim_capsule_write(const SimCapsule *c, const char *path, GError **error) {
    assert(c != NULL && path != NULL);
    GKeyFile *kf = g_key_file_new();
    g_key_file_set_integer(kf, GROUP, "version", SIM_CAPSULE_VERSION);
    g_key_file_set_string(kf, GROUP, "build", c->build ? c->build : sim_capsule_build());
    g_key_file_set_string(kf, GROUP, "scenario-path", c->scenario_path);
    g_key_file_set_string(kf, GROUP, "scenario-name", c->scenario_name);
    g_key_file_set_uint64(kf, GROUP, "seed", c->seed);
    set_list(kf, "bugs", c->bugs);
    set_list(kf, "set", c->sets);
    if (c->has_faults) {
        char *f = sim_format_fault_list(c->faults, c->n_faults);
        g_key_file_set_string(kf, GROUP, "faults", f);
        g_free(f);
    }
    char hash[32];
    snprintf(hash, sizeof hash, "%016" G_GINT64_MODIFIER "x", c->trace_hash);
    g_key_file_set_string(kf, GROUP, "trace-hash", hash);
    g_key_file_set_string(kf, GROUP, "verdict", c->verdict ? c->verdict : "");
    g_key_file_set_string(kf, GROUP, "invariants", c->invariants ? c->invariants : "");
    g_key_file_set_string(kf, GROUP, "scenario", c->scenario_text);
    gsize len = 0;
    char *data = g_key_file_to_data(kf, &len, NULL);
    g_key_file_free(kf);
    char *header = g_strdup_printf("# ckptsim replay capsule: ckptsim replay %s\n%s", path,
                                   data);
    GError *e = NULL;
    bool ok = g_file_set_contents(path, header, -1, &e);
    if (!ok) {
        g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_WRITE, "%s: %s", path,
                    e->message);
        g_error_free(e);
    }
    g_free(header);
    g_free(data);
    return ok;
}

static bool bad(GError **error, const char *path, const char *what) {
    g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_INVALID,
                "%s: not a ckptsim capsule: %s", path, what);
    return false;
}

static bool read_fields(GKeyFile *kf, const char *path, SimCapsule *c, GError **error) {
    GError *e = NULL;
    int version = g_key_file_get_integer(kf, GROUP, "version", &e);
    if (e != NULL || version != SIM_CAPSULE_VERSION) {
        g_clear_error(&e);
        return bad(error, path, "missing or unsupported version");
    }
    c->build = g_key_file_get_string(kf, GROUP, "build", NULL);
    c->scenario_path = g_key_file_get_string(kf, GROUP, "scenario-path", NULL);
    c->scenario_name = g_key_file_get_string(kf, GROUP, "scenario-name", NULL);
    c->scenario_text = g_key_file_get_string(kf, GROUP, "scenario", NULL);
    if (c->scenario_text == NULL || c->scenario_path == NULL)
        return bad(error, path, "no scenario");
    c->seed = g_key_file_get_uint64(kf, GROUP, "seed", &e);
    if (e != NULL) {
        g_clear_error(&e);
        return bad(error, path, "bad seed");
    }
    c->bugs = g_key_file_get_string_list(kf, GROUP, "bugs", NULL, NULL);
    c->sets = g_key_file_get_string_list(kf, GROUP, "set", NULL, NULL);
    if (c->bugs == NULL)
        c->bugs = g_new0(char *, 1);
    if (c->sets == NULL)
        c->sets = g_new0(char *, 1);
    char *faults = g_key_file_get_string(kf, GROUP, "faults", NULL);
    if (faults != NULL) {
        c->has_faults = true;
        bool ok = *faults == '\0' || sim_parse_fault_list(faults, &c->faults, &c->n_faults);
        g_free(faults);
        if (!ok)
            return bad(error, path, "bad fault list");
    }
    char *hash = g_key_file_get_string(kf, GROUP, "trace-hash", NULL);
    bool ok = hash != NULL && g_ascii_string_to_unsigned(hash, 16, 0, G_MAXUINT64,
                                                         &c->trace_hash, NULL);
    g_free(hash);
    if (!ok)
        return bad(error, path, "bad trace-hash");
    c->verdict = g_key_file_get_string(kf, GROUP, "verdict", NULL);
    c->invariants = g_key_file_get_string(kf, GROUP, "invariants", NULL);
    return true;
}

SimCapsule *sim_capsule_read(const char *path, GError **error) {
    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
        g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_READ, "%s: %s", path,
                    e->message);
        g_error_free(e);
        g_key_file_free(kf);
        return NULL;
    }
    SimCapsule *c = g_new0(SimCapsule, 1);
    if (!read_fields(kf, path, c, error)) {
        sim_capsule_free(c);
        c = NULL;
    }
    g_key_file_free(kf);
    return c;
}

void sim_capsule_free(SimCapsule *c) {
    if (c == NULL)
        return;
    g_free(c->build);
    g_free(c->scenario_path);
    g_free(c->scenario_name);
    g_free(c->scenario_text);
    g_strfreev(c->sets);
    g_strfreev(c->bugs);
    g_free(c->faults);
    g_free(c->verdict);
    g_free(c->invariants);
    g_free(c);
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

bool sim_parse_fault_list(const char *text, uint32_t **out, uint32_t *n) {
    char **parts = g_strsplit(text, ",", -1);
    guint len = g_strv_length(parts);
    bool ok = len > 0 && len <= 100000;
    uint32_t *v = g_new0(uint32_t, len + 1);
    for (guint i = 0; ok && i < len; i++) {
        guint64 x = 0;
        ok = g_ascii_string_to_unsigned(g_strstrip(parts[i]), 10, 1, G_MAXUINT32, &x, NULL);
        v[i] = (uint32_t)x;
    }
    g_strfreev(parts);
    if (!ok) {
        g_free(v);
        return false;
    }
    qsort(v, len, sizeof v[0], cmp_u32);
    uint32_t m = 0;
    for (guint i = 0; i < len; i++)
        if (m == 0 || v[m - 1] != v[i])
            v[m++] = v[i];
    *out = v;
    *n = m;
    return true;
}

char *sim_format_fault_list(const uint32_t *faults, uint32_t n) {
    GString *s = g_string_new(NULL);
    for (uint32_t i = 0; i < n; i++)
        g_string_append_printf(s, "%s%u", i ? "," : "", faults[i]);
    return g_string_free(s, FALSE);
}
