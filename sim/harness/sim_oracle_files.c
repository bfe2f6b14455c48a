/* sim_oracle_files.c - adapts the simulated world's storage (sim/world/sim_storage.h)
 * to the oracle's god's-eye file view (SimOracleFiles): durable contents only, what
 * would survive if every process crashed now.
 */
#include <assert.h>
#include <string.h>

#include "sim/harness/sim_oracle.h"
#include "runtime/state/rt_backend_zk.h"
#include "sim/world/sim_storage.h"
#include "sim/world/sim_zk.h"

static GBytes *storage_read(void *ctx, const char *path) {
    size_t len = 0;
    const void *data = sim_storage_read_durable(ctx, path, &len);
    /* Borrowed, not copied: the oracle and the metrics drop the GBytes before they
     * return, and storage does not change while they run (SimOracleFiles.read). */
    return data == NULL ? NULL : g_bytes_new_static(data, len);
}

/* Names directly in dir: the durable paths under "dir/" without a further '/'. */
static char **storage_list(void *ctx, const char *dir) {
    char *prefix = g_strconcat(dir, "/", NULL);
    char **paths = sim_storage_list_paths(ctx, prefix, true);
    GPtrArray *names = g_ptr_array_new();
    size_t plen = strlen(prefix);
    for (char **p = paths; p != NULL && *p != NULL; p++) {
        const char *rest = *p + plen;
        if (rest[0] != '\0' && strchr(rest, '/') == NULL)
            g_ptr_array_add(names, g_strdup(rest));
    }
    g_ptr_array_add(names, NULL);
    g_strfreev(paths);
    g_free(prefix);
    return (char **)g_ptr_array_free(names, FALSE);
}

static bool storage_present(void *ctx, const char *path) {
    size_t len = 0;
    return sim_storage_read_current(ctx, path, &len) != NULL;
}

void sim_oracle_files_for_storage(SimStorage *storage, SimOracleFiles *out) {
    assert(storage != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->read = storage_read;
    out->list = storage_list;
    out->present = storage_present;
    out->ctx = storage;
}

/* ------------------------------------------------- storage + ZooKeeper tree */

static GBytes *znode_read(void *ctx, const char *path) {
    const void *data = NULL;
    size_t len = 0;
    if (!sim_zk_tree_data(sim_zk_tree(ctx), path, &data, &len))
        return NULL;
    return g_bytes_new_static(data, len); /* copied by rt_backend_zk_assemble */
}

static GBytes *world_read(void *ctx, const char *path) {
    SimOracleWorldFiles *w = ctx;
    if (path[0] != '/')
        return storage_read(w->storage, path);
    GBytes *b = rt_backend_zk_assemble(path, znode_read, (void *)w->zk, NULL);
    return b; /* committed znodes are durable: the ensemble does not lose them */
}

static char **world_list(void *ctx, const char *dir) {
    return storage_list(((SimOracleWorldFiles *)ctx)->storage, dir);
}

/* A znode path: the snapshot's manifest is readable (committed znodes are durable). */
static bool world_present(void *ctx, const char *path) {
    SimOracleWorldFiles *w = ctx;
    if (path[0] != '/')
        return storage_present(w->storage, path);
    GBytes *b = world_read(ctx, path);
    if (b != NULL)
        g_bytes_unref(b);
    return b != NULL;
}

void sim_oracle_files_for_world(SimOracleWorldFiles *ctx, SimOracleFiles *out) {
    assert(ctx != NULL && ctx->storage != NULL && ctx->zk != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    out->read = world_read;
    out->list = world_list;
    out->present = world_present;
    out->ctx = ctx;
}
