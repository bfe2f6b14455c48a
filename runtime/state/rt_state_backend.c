/* rt_state_backend.c - the state backend factory, the thin wrappers every caller goes
 * through (they assert the contract and encode snapshots: the synchronous part), the
 * state handle value and its binary encoding, and the filesystem path layout. */
#include "runtime/state/rt_state_backend.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/state/rt_backend_zk.h"

G_DEFINE_QUARK(rt-state-backend-error-quark, rt_state_backend_error)

#define HANDLE_MAGIC "CKHANDv1"
#define HANDLE_MAGIC_LEN 8u
#define HANDLE_MAX_STRING 1024u

/* The built-in backends, by state.backend.type. Add a row for a new backend. */
typedef RtStateBackend *(*BackendNewFunc)(RtEnv *env);
static const struct {
    const char *type;
    BackendNewFunc new_backend;
} backend_types[] = {
    {"hashmap", rt_backend_hashmap_new},
    {"filesystem", rt_backend_fs_new},
    {"zookeeper", rt_backend_zk_new}, /* rt_backend_zk.h */
};

/* ------------------------------------------------------------------ factory */

RtStateBackend *rt_state_backend_new(const char *type, RtEnv *env, const RtConfig *config,
                                     GError **error) {
    assert(env != NULL);
    if (type == NULL && config != NULL) {
        /* state.backend.type (deprecated state.backend) with execution.checkpointing.storage,
         * class names and refusals (rocksdb) as rt_config_keys.h reads them. */
        RtBackendKind kind = RT_BACKEND_HASHMAP;
        GError *err = NULL;
        if (!rt_config_backend_kind(config, &kind, &err)) {
            g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG, "%s",
                        err->message);
            g_error_free(err);
            return NULL;
        }
        type = rt_backend_kind_name(kind);
    }
    if (type == NULL)
        type = "hashmap";
    for (size_t i = 0; i < G_N_ELEMENTS(backend_types); i++) {
        if (g_ascii_strcasecmp(type, backend_types[i].type) != 0)
            continue;
        RtStateBackend *b = backend_types[i].new_backend(env);
        assert(b != NULL && b->ops != NULL && b->env == env);
        RtConfig *empty = config == NULL ? rt_config_new() : NULL;
        bool ok = b->ops->configure(b, config != NULL ? config : empty, error);
        rt_config_free(empty);
        if (!ok) {
            b->ops->free(b);
            return NULL;
        }
        return b;
    }
    GString *known = g_string_new(NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(backend_types); i++)
        g_string_append_printf(known, "%s%s", i > 0 ? ", " : "", backend_types[i].type);
    g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CONFIG,
                "state.backend.type: unknown state backend '%s' (known: %s)", type, known->str);
    g_string_free(known, TRUE);
    return NULL;
}

const char *rt_state_backend_name(const RtStateBackend *backend) {
    assert(backend != NULL);
    return backend->ops->name;
}

/* ----------------------------------------------------------------- wrappers */

bool rt_state_backend_snapshot_bytes(RtStateBackend *backend, const RtSnapshotTarget *target,
                                     GBytes *encoded, RtSnapshotDoneFunc done,
                                     void *user_data, GError **error) {
    assert(backend != NULL && target != NULL && target->job != NULL);
    assert(target->checkpoint_id >= 1 && encoded != NULL && done != NULL);
    return backend->ops->snapshot(backend, target, encoded, done, user_data, error);
}

bool rt_state_backend_snapshot(RtStateBackend *backend, const RtSnapshotTarget *target,
                               const RtSnapshot *snap, RtSnapshotDoneFunc done,
                               void *user_data, GError **error) {
    assert(snap != NULL);
    GBytes *encoded = rt_snapshot_encode(snap); /* the synchronous part */
    bool ok = rt_state_backend_snapshot_bytes(backend, target, encoded, done, user_data, error);
    g_bytes_unref(encoded);
    return ok;
}

bool rt_state_backend_restore(RtStateBackend *backend, const RtStateHandle *handle,
                              RtRestoreDoneFunc done, void *user_data, GError **error) {
    assert(backend != NULL && handle != NULL && done != NULL);
    if (strcmp(handle->backend, backend->ops->name) != 0) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE,
                    "cannot restore a '%s' state handle with the '%s' state backend",
                    handle->backend, backend->ops->name);
        return false;
    }
    return backend->ops->restore(backend, handle, done, user_data, error);
}

void rt_state_backend_discard(RtStateBackend *backend, const RtStateHandle *handle) {
    assert(backend != NULL && handle != NULL);
    if (strcmp(handle->backend, backend->ops->name) != 0)
        return; /* not ours: nothing we could delete */
    backend->ops->discard(backend, handle);
}

void rt_state_backend_cancel(RtStateBackend *backend, void *user_data) {
    assert(backend != NULL);
    backend->ops->cancel(backend, user_data);
}

void rt_state_backend_clear(RtStateBackend *backend) {
    assert(backend != NULL);
    backend->ops->clear(backend);
}

void rt_state_backend_free(RtStateBackend *backend) {
    if (backend != NULL)
        backend->ops->free(backend);
}

/* --------------------------------------------------------------- fs layout */

char *rt_state_backend_fs_path(const char *dir, const RtSnapshotTarget *target) {
    assert(dir != NULL && target != NULL && target->job != NULL);
    char *job = g_strdup(target->job[0] != '\0' ? target->job : "job");
    for (char *p = job; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            *p = '_';
    if (job[0] == '.')
        job[0] = '_'; /* never "." or ".." */
    char *path = g_strdup_printf("%s/%s/chk-%" PRIu64 "/%" PRIu32 "-%" PRIu32 "-%" PRIu32,
                                 dir, job, target->checkpoint_id, target->op, target->subtask,
                                 target->attempt);
    g_free(job);
    return path;
}

/* ------------------------------------------------------------------ handles */

RtStateHandle *rt_state_handle_new(const char *backend, const char *location,
                                   uint64_t checkpoint_id, uint64_t size_bytes,
                                   uint32_t crc32c, GBytes *inline_data) {
    assert(backend != NULL && location != NULL);
    assert(strlen(backend) <= HANDLE_MAX_STRING && strlen(location) <= HANDLE_MAX_STRING);
    RtStateHandle *h = g_new0(RtStateHandle, 1);
    h->backend = g_strdup(backend);
    h->location = g_strdup(location);
    h->checkpoint_id = checkpoint_id;
    h->size_bytes = size_bytes;
    h->crc32c = crc32c;
    h->inline_data = inline_data != NULL ? g_bytes_ref(inline_data) : NULL;
    return h;
}

RtStateHandle *rt_state_handle_copy(const RtStateHandle *h) {
    assert(h != NULL);
    return rt_state_handle_new(h->backend, h->location, h->checkpoint_id, h->size_bytes,
                               h->crc32c, h->inline_data);
}

void rt_state_handle_free(RtStateHandle *h) {
    if (h == NULL)
        return;
    g_free(h->backend);
    g_free(h->location);
    if (h->inline_data != NULL)
        g_bytes_unref(h->inline_data);
    g_free(h);
}

bool rt_state_handle_equal(const RtStateHandle *a, const RtStateHandle *b) {
    assert(a != NULL && b != NULL);
    if (strcmp(a->backend, b->backend) != 0 || strcmp(a->location, b->location) != 0 ||
        a->checkpoint_id != b->checkpoint_id || a->size_bytes != b->size_bytes ||
        a->crc32c != b->crc32c || (a->inline_data == NULL) != (b->inline_data == NULL))
        return false;
    return a->inline_data == NULL || g_bytes_equal(a->inline_data, b->inline_data);
}

static void put_str(GByteArray *b, const char *s) {
    size_t n = strlen(s);
    rt_bytes_put_u16(b, (uint16_t)n);
    g_byte_array_append(b, (const uint8_t *)s, (guint)n);
}

GBytes *rt_state_handle_encode(const RtStateHandle *h) {
    assert(h != NULL);
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const uint8_t *)HANDLE_MAGIC, HANDLE_MAGIC_LEN);
    put_str(b, h->backend);
    put_str(b, h->location);
    rt_bytes_put_u64(b, h->checkpoint_id);
    rt_bytes_put_u64(b, h->size_bytes);
    rt_bytes_put_u32(b, h->crc32c);
    gsize n = 0;
    const uint8_t *data = h->inline_data != NULL ? g_bytes_get_data(h->inline_data, &n) : NULL;
    assert(n <= UINT32_MAX);
    rt_bytes_put_u8(b, h->inline_data != NULL ? 1 : 0);
    rt_bytes_put_u32(b, (uint32_t)n);
    if (n > 0)
        g_byte_array_append(b, data, (guint)n);
    rt_bytes_put_u32(b, rt_crc32c(0, b->data, b->len));
    return g_byte_array_free_to_bytes(b);
}

/* Reads a length-prefixed string: a new string, or NULL with r failed. */
static char *get_str(RtBytesReader *r) {
    uint16_t n = rt_bytes_get_u16(r, "string length");
    if (n > HANDLE_MAX_STRING) {
        rt_bytes_reader_reject(r, r->pos, 0, "string too long", n);
        return NULL;
    }
    const char *s = (const char *)rt_bytes_get_span(r, n, "string");
    if (s == NULL || memchr(s, 0, n) != NULL) {
        rt_bytes_reader_reject(r, r->pos, 0, "NUL in string", n);
        return NULL;
    }
    return g_strndup(s, n);
}

static bool handle_error(GError **error, const char *what) {
    g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_HANDLE,
                "state handle: %s", what);
    return false;
}

bool rt_state_handle_decode(const void *data, size_t len, RtStateHandle **out,
                            GError **error) {
    assert((data != NULL || len == 0) && out != NULL);
    const uint8_t *d = data;
    if (len < HANDLE_MAGIC_LEN + 4 || memcmp(d, HANDLE_MAGIC, HANDLE_MAGIC_LEN) != 0)
        return handle_error(error, "bad magic or too short");
    if (rt_bytes_load_u32(d + len - 4) != rt_crc32c(0, d, len - 4))
        return handle_error(error, "checksum mismatch");
    RtBytesReader r;
    rt_bytes_reader_init(&r, d, len - 4); /* the body ends before the CRC */
    r.pos = HANDLE_MAGIC_LEN;
    char *backend = get_str(&r);
    char *location = get_str(&r);
    uint64_t checkpoint_id = rt_bytes_get_u64(&r, "checkpoint id");
    uint64_t size = rt_bytes_get_u64(&r, "size");
    uint32_t crc = rt_bytes_get_u32(&r, "crc");
    uint8_t has_inline = rt_bytes_get_u8(&r, "inline flag");
    uint32_t n = rt_bytes_get_u32(&r, "inline length");
    bool shape = rt_bytes_reader_ok(&r) && has_inline <= 1 &&
                 rt_bytes_reader_left(&r) == n && (has_inline || n == 0);
    if (!shape) {
        g_free(backend);
        g_free(location);
        return handle_error(error, "malformed fields");
    }
    GBytes *inl = has_inline ? g_bytes_new(d + r.pos, n) : NULL;
    *out = rt_state_handle_new(backend, location, checkpoint_id, size, crc, inl);
    if (inl != NULL)
        g_bytes_unref(inl);
    g_free(backend);
    g_free(location);
    return true;
}
