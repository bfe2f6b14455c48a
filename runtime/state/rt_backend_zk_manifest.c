/* rt_backend_zk_manifest.c - the znode layout of the "zookeeper" state backend: the
 * snapshot path, the manifest codec (a fixed 40-byte record, written last, that names
 * the checkpoint, size, CRC-32C and chunking of a snapshot) and the synchronous
 * god's-eye reader rt_backend_zk_assemble() that the verifier uses to read a snapshot
 * straight from a ZooKeeper tree. The asynchronous backend is rt_backend_zk.c. */
#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_backend_zk_internal.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"

#define MANIFEST_MAGIC "CKZKMAN1"
#define MANIFEST_MAGIC_LEN 8u

/* ------------------------------------------------------------------ manifest */

GBytes *rt_backend_zk_manifest_encode(const RtBackendZkManifest *m) {
    assert(m != NULL && m->chunk_bytes > 0);
    assert(m->chunk_count == chunks_for(m->size_bytes, m->chunk_bytes));
    uint8_t b[RT_BACKEND_ZK_MANIFEST_BYTES];
    memcpy(b, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN);
    rt_bytes_store_u64(b + 8, m->checkpoint_id);
    rt_bytes_store_u64(b + 16, m->size_bytes);
    rt_bytes_store_u32(b + 24, m->crc32c);
    rt_bytes_store_u32(b + 28, m->chunk_bytes);
    rt_bytes_store_u32(b + 32, m->chunk_count);
    rt_bytes_store_u32(b + 36, rt_crc32c(0, b, 36));
    return g_bytes_new(b, sizeof b);
}

static bool corrupt(GError **error, const char *what) {
    g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT,
                "zookeeper state manifest: %s", what);
    return false;
}

bool rt_backend_zk_manifest_decode(const void *data, size_t len, RtBackendZkManifest *out,
                                   GError **error) {
    assert((data != NULL || len == 0) && out != NULL);
    const uint8_t *b = data;
    if (len != RT_BACKEND_ZK_MANIFEST_BYTES || memcmp(b, MANIFEST_MAGIC, MANIFEST_MAGIC_LEN))
        return corrupt(error, "bad magic or length");
    if (rt_bytes_load_u32(b + 36) != rt_crc32c(0, b, 36))
        return corrupt(error, "checksum mismatch");
    RtBackendZkManifest m = {
        .checkpoint_id = rt_bytes_load_u64(b + 8),
        .size_bytes = rt_bytes_load_u64(b + 16),
        .crc32c = rt_bytes_load_u32(b + 24),
        .chunk_bytes = rt_bytes_load_u32(b + 28),
        .chunk_count = rt_bytes_load_u32(b + 32),
    };
    if (m.chunk_bytes == 0 || m.chunk_bytes > RT_BACKEND_ZK_CHUNK_MAX_BYTES ||
        m.size_bytes > RT_BACKEND_ZK_MAX_STATE_LIMIT_BYTES ||
        m.chunk_count != chunks_for(m.size_bytes, m.chunk_bytes))
        return corrupt(error, "inconsistent sizes");
    *out = m;
    return true;
}

char *rt_backend_zk_path(const char *root, const RtSnapshotTarget *target) {
    assert(root != NULL && root[0] == '/' && target != NULL);
    /* Same layout (and job name cleaning) as the filesystem backend, under a znode. */
    return rt_state_backend_fs_path(root, target);
}

/* ---------------------------------------------------------- god's-eye read */

static GBytes *assemble_chunks(const char *dir, const RtBackendZkManifest *m,
                               RtBackendZkReadFunc read, void *ctx, GError **error) {
    GByteArray *all = g_byte_array_sized_new((guint)m->size_bytes);
    for (uint32_t i = 0; i < m->chunk_count; i++) { /* bounded by the manifest's check */
        char *path = g_strdup_printf("%s/chunk-%010" PRIu32, dir, i);
        GBytes *c = read(ctx, path);
        g_free(path);
        uint64_t want = MIN((uint64_t)m->chunk_bytes, m->size_bytes - all->len);
        if (c == NULL || g_bytes_get_size(c) != want) {
            g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT,
                        "zookeeper snapshot %s: chunk %" PRIu32 " of %" PRIu32 " is %s", dir,
                        i, m->chunk_count, c == NULL ? "missing" : "of the wrong length");
            if (c != NULL)
                g_bytes_unref(c);
            g_byte_array_unref(all);
            return NULL;
        }
        g_byte_array_append(all, g_bytes_get_data(c, NULL), (guint)want);
        g_bytes_unref(c);
    }
    if (rt_crc32c(0, all->data, all->len) != m->crc32c) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT,
                    "zookeeper snapshot %s: CRC-32C differs from its manifest", dir);
        g_byte_array_unref(all);
        return NULL;
    }
    return g_byte_array_free_to_bytes(all);
}

GBytes *rt_backend_zk_assemble(const char *dir, RtBackendZkReadFunc read, void *ctx,
                               GError **error) {
    assert(dir != NULL && read != NULL);
    char *mpath = g_strconcat(dir, "/" ZK_MANIFEST_NAME, NULL);
    GBytes *man = read(ctx, mpath);
    g_free(mpath);
    if (man == NULL) {
        g_set_error(error, RT_STATE_BACKEND_ERROR, RT_STATE_BACKEND_ERROR_CORRUPT,
                    "zookeeper snapshot %s: no manifest (torn or discarded)", dir);
        return NULL;
    }
    RtBackendZkManifest m;
    gsize n = 0;
    const void *d = g_bytes_get_data(man, &n);
    bool ok = rt_backend_zk_manifest_decode(d, n, &m, error);
    g_bytes_unref(man);
    if (!ok) {
        g_prefix_error(error, "zookeeper snapshot %s: ", dir);
        return NULL;
    }
    return assemble_chunks(dir, &m, read, ctx, error);
}
