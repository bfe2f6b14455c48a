/* sim_capsule.c - reading and writing replay capsules (sim_capsule.h). */
#include "sim/harness/sim_capsule.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    size_t size = strlen(header);
    bool ok = size <= SIM_CAPSULE_MAX_BYTES;
    if (!ok)
        g_set_error(&e, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_WRITE,
                    "the capsule would be %zu bytes, more than the limit of %u MiB", size,
                    SIM_CAPSULE_MAX_BYTES >> 20);
    else
        ok = g_file_set_contents(path, header, (gssize)size, &e);
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

/* The 1-based line of key in the [capsule] group of text, 0 when absent. */
static unsigned key_line(const char *text, const char *key) {
    size_t klen = strlen(key);
    bool in_group = false;
    unsigned line = 1;
    for (const char *p = text; *p; line++) {
        const char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        while (len > 0 && (*p == ' ' || *p == '\t'))
            p++, len--;
        if (len > 0 && *p == '[')
            in_group = len >= sizeof "[" GROUP "]" - 1 &&
                       strncmp(p, "[" GROUP "]", sizeof "[" GROUP "]" - 1) == 0;
        else if (in_group && len > klen && strncmp(p, key, klen) == 0 &&
                 strspn(p + klen, " \t") < len - klen && p[klen + strspn(p + klen, " \t")] == '=')
            return line;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
}

/* A strict unsigned integer (no sign, no blanks, no junk, in [0, max]) from key;
 * else an error naming path:line, the key and the value. */
static bool get_unsigned(GKeyFile *kf, const char *text, const char *path, const char *key,
                         unsigned base, guint64 max, const char *what, guint64 *out,
                         GError **error) {
    char *raw = g_key_file_get_value(kf, GROUP, key, NULL);
    bool ok = raw != NULL && g_ascii_string_to_unsigned(raw, base, 0, max, out, NULL);
    if (!ok)
        g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_INVALID,
                    "%s:%u: %s: bad %s '%s' (expected %s 0..%" G_GUINT64_FORMAT ")", path,
                    key_line(text, key), key, what, raw != NULL ? raw : "(missing)",
                    base == 16 ? "hex digits for" : "a whole number", max);
    g_free(raw);
    return ok;
}

static bool read_fields(GKeyFile *kf, const char *text, const char *path, SimCapsule *c,
                        GError **error) {
    guint64 version = 0;
    if (!get_unsigned(kf, text, path, "version", 10, 1000, "version", &version, error))
        return false;
    if (version != SIM_CAPSULE_VERSION)
        return bad(error, path, "unsupported version");
    c->build = g_key_file_get_string(kf, GROUP, "build", NULL);
    c->scenario_path = g_key_file_get_string(kf, GROUP, "scenario-path", NULL);
    c->scenario_name = g_key_file_get_string(kf, GROUP, "scenario-name", NULL);
    c->scenario_text = g_key_file_get_string(kf, GROUP, "scenario", NULL);
    if (c->scenario_text == NULL || c->scenario_path == NULL)
        return bad(error, path, "no scenario");
    if (!get_unsigned(kf, text, path, "seed", 10, G_MAXUINT64, "seed", &c->seed, error))
        return false;
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
        if (!ok) {
            g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_INVALID,
                        "%s:%u: faults: bad fault list (expected numbers like 1,3)", path,
                        key_line(text, "faults"));
            return false;
        }
    }
    if (!get_unsigned(kf, text, path, "trace-hash", 16, G_MAXUINT64, "trace hash",
                      &c->trace_hash, error))
        return false;
    c->verdict = g_key_file_get_string(kf, GROUP, "verdict", NULL);
    c->invariants = g_key_file_get_string(kf, GROUP, "invariants", NULL);
    return true;
}

/* The whole file, refused before reading when larger than SIM_CAPSULE_MAX_BYTES. */
static char *read_bounded(const char *path, gsize *len, GError **error) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    const char *why = NULL;
    if (fd < 0 || fstat(fd, &st) != 0)
        why = g_strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_size > (off_t)SIM_CAPSULE_MAX_BYTES)
        why = "too large";
    char *data = NULL;
    if (why == NULL) {
        data = g_malloc((gsize)st.st_size + 1);
        *len = 0;
        for (ssize_t n = 1; n > 0 && *len <= (gsize)st.st_size;) {
            n = read(fd, data + *len, (gsize)st.st_size + 1 - *len);
            if (n < 0 && errno == EINTR)
                n = 1;
            else if (n > 0)
                *len += (gsize)n;
            else if (n < 0)
                why = g_strerror(errno);
        }
        if (why == NULL && *len > (gsize)st.st_size)
            why = "too large"; /* it grew while being read */
    }
    if (fd >= 0)
        close(fd);
    if (why != NULL && strcmp(why, "too large") == 0)
        g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_READ,
                    "%s: %" G_GINT64_FORMAT " bytes: a capsule is at most %u MiB "
                    "(SIM_CAPSULE_MAX_BYTES); this is not one",
                    path, (gint64)st.st_size, SIM_CAPSULE_MAX_BYTES >> 20);
    else if (why != NULL)
        g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_READ, "%s: %s", path, why);
    if (why != NULL) {
        g_free(data);
        return NULL;
    }
    data[*len] = '\0';
    return data;
}

SimCapsule *sim_capsule_read(const char *path, GError **error) {
    gsize len = 0;
    char *text = read_bounded(path, &len, error);
    if (text == NULL)
        return NULL;
    GKeyFile *kf = g_key_file_new();
    GError *e = NULL;
    if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &e)) {
        g_set_error(error, SIM_CAPSULE_ERROR, SIM_CAPSULE_ERROR_READ, "%s: %s", path,
                    e->message);
        g_error_free(e);
        g_key_file_free(kf);
        g_free(text);
        return NULL;
    }
    SimCapsule *c = g_new0(SimCapsule, 1);
    if (!read_fields(kf, text, path, c, error)) {
        sim_capsule_free(c);
        c = NULL;
    }
    g_key_file_free(kf);
    g_free(text);
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
