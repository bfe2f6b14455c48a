/* rt_ckpt_store_zk_recover.c - recovery of the ZooKeeper completed-checkpoint store:
 * Flink's getAllAndLock (list, lock each pointer, skip those marked for deletion, list
 * again and start over if the children's cversion moved) and retrieveCompletedCheckpoints
 * (read every state file; an unreadable one fails the whole recovery, loudly). */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/ha/rt_ckpt_store_zk_internal.h"

static void recovery_list(ZkCall *call);
static void recovery_next(ZkCall *call);

static void completed_free(gpointer p) {
    rt_completed_checkpoint_free(p);
}

static void recovery_finish(ZkCall *call, GError *error) {
    ZkStore *s = call->s;
    s->busy = false;
    if (error == NULL) {
        g_ptr_array_set_size(s->base.completed, 0);
        for (guint i = 0; i < call->found->len; i++)
            rt_ckpt_store_base_append(&s->base, g_ptr_array_index(call->found, i));
        g_ptr_array_set_free_func(call->found, NULL);
    } else {
        g_prefix_error(&error, "recovering checkpoints from ZooKeeper: ");
    }
    RtCkptStoreDoneFunc done = call->done;
    void *ud = call->user_data;
    zk_call_free(call);
    done(ud, error);
}

static GError *unreadable(const char *node, const char *what, const GError *cause) {
    return g_error_new(RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                       "%s: the state handle is broken (%s%s%s); try cleaning the state "
                       "handle store",
                       node, what, cause != NULL ? ": " : "", cause != NULL ? cause->message : "");
}

static bool pointer_name(const char *name, uint64_t *id) {
    if (strlen(name) != 19)
        return false;
    for (int i = 0; i < 19; i++)
        if (!g_ascii_isdigit(name[i]))
            return false;
    guint64 v = 0;
    if (!g_ascii_string_to_unsigned(name, 10, 1, G_MAXUINT64, &v, NULL))
        return false;
    *id = v;
    return true;
}

static void skip_entry(ZkCall *call) {
    call->next++;
    recovery_next(call);
}

static void on_state_read(void *ud, const void *data, size_t len, GError *error) {
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) { /* the store was freed */
        g_clear_error(&error);
        return;
    }
    const char *name = g_ptr_array_index(call->names, call->next);
    uint64_t id = 0;
    bool named = pointer_name(name, &id);
    assert(named);
    RtCompletedCheckpoint *cp = NULL;
    GError *err = NULL;
    if (error != NULL) {
        err = unreadable(name, call->state_path, error);
    } else if (!rt_ckpt_metadata_decode(data, len, &cp, &error)) {
        err = unreadable(name, "undecodable state file", error);
    } else if (cp->checkpoint_id != id) {
        err = unreadable(name, "the state file holds another checkpoint", NULL);
        rt_completed_checkpoint_free(cp);
    }
    g_clear_error(&error);
    if (err != NULL && rt_bug_on(call->s->base.env, RT_BUG_FLINK_7783)) {
        /* Planted bug FLINK-7783 (FLINK-5940's fallback): skip it, restore from less. */
        g_error_free(err);
        skip_entry(call);
        return;
    }
    if (err != NULL) {
        recovery_finish(call, err);
        return;
    }
    g_ptr_array_add(call->found, cp);
    skip_entry(call);
}

static void on_pointer(RtCoord *coord, const void *data, size_t len, const RtCoordStat *stat,
                       GError *error, void *ud) {
    (void)coord;
    (void)stat;
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL && g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE)) {
        g_error_free(error); /* removed meanwhile */
        skip_entry(call);
        return;
    }
    if (error != NULL) {
        recovery_finish(call, error);
        return;
    }
    const char *name = g_ptr_array_index(call->names, call->next);
    g_free(call->state_path);
    call->state_path = g_strndup(data, len);
    if (len == 0 || memchr(data, '\0', len) != NULL || !rt_storage_path_valid(call->state_path)) {
        recovery_finish(call, unreadable(name, "no state file path in the znode", NULL));
        return;
    }
    GError *err = NULL;
    if (!rt_storage_read(call->s->base.env->storage, call->state_path, on_state_read, ud, &err))
        recovery_finish(call, unreadable(name, call->state_path, err));
    g_clear_error(&err);
}

static void on_locked(RtCoord *coord, const char *path, GError *error, void *ud) {
    (void)path;
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL && g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NO_NODE)) {
        g_error_free(error); /* no locks node: marked for deletion, or gone */
        skip_entry(call);
        return;
    }
    if (error != NULL && !g_error_matches(error, RT_COORD_ERROR, RT_COORD_ERROR_NODE_EXISTS)) {
        recovery_finish(call, error);
        return;
    }
    g_clear_error(&error);
    char *node = g_strdup_printf("%s/%s", call->s->zk_dir,
                                 (const char *)g_ptr_array_index(call->names, call->next));
    GError *err = NULL;
    if (!rt_coord_get(coord, node, NULL, on_pointer, ud, &err)) {
        recovery_finish(call, err);
    }
    g_free(node);
}

/* getAndLock of names[next], or list again when all are done. */
static void recovery_next(ZkCall *call) {
    if (call->next >= call->names->len) {
        recovery_list(call); /* compare the cversion */
        return;
    }
    char *lock = g_strdup_printf("%s/%s/locks/%s", call->s->zk_dir,
                                 (const char *)g_ptr_array_index(call->names, call->next),
                                 call->s->lock_name);
    GError *err = NULL;
    if (!rt_coord_create(rt_ha_client_coord(call->client), lock, NULL, 0, RT_COORD_EPHEMERAL,
                         on_locked, zk_call_ud(call), &err)) {
        recovery_finish(call, err);
    }
    g_free(lock);
}

static gint name_cmp(gconstpointer a, gconstpointer b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void on_listed(RtCoord *coord, const char *const *names, size_t n, const RtCoordStat *stat,
                      GError *error, void *ud) {
    (void)coord;
    ZkCall *call = zk_call_enter(ud);
    if (call == NULL) {
        g_clear_error(&error);
        return;
    }
    if (error != NULL) {
        recovery_finish(call, error);
        return;
    }
    if (call->scans > 0 && stat->cversion == call->cversion) {
        recovery_finish(call, NULL); /* nothing changed while we read: consistent */
        return;
    }
    if (++call->scans > RT_CKPT_STORE_ZK_MAX_RESCANS) {
        recovery_finish(call, g_error_new(RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_FAILED,
                                          "%s keeps changing", call->s->zk_dir));
        return;
    }
    call->cversion = stat->cversion;
    g_ptr_array_set_size(call->names, 0);
    g_ptr_array_set_size(call->found, 0);
    call->next = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = 0;
        if (pointer_name(names[i], &id))
            g_ptr_array_add(call->names, g_strdup(names[i]));
    }
    /* ZooKeeper lists children in no particular order (its DataNode keeps them in a
     * HashSet); like DefaultCompletedCheckpointStoreUtils.retrieveCompletedCheckpoints,
     * sort by name: the %019d names then sort by checkpoint id. */
    g_ptr_array_sort(call->names, name_cmp);
    if (call->names->len > RT_CKPT_STORE_ZK_MAX_ENTRIES) {
        recovery_finish(call, g_error_new(RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_UNREADABLE,
                                          "%s holds %u pointers (at most %u)", call->s->zk_dir,
                                          call->names->len, RT_CKPT_STORE_ZK_MAX_ENTRIES));
        return;
    }
    recovery_next(call);
}

static void recovery_list(ZkCall *call) {
    GError *err = NULL;
    if (!rt_coord_children(rt_ha_client_coord(call->client), call->s->zk_dir, NULL, on_listed,
                           zk_call_ud(call), &err)) {
        recovery_finish(call, err);
    }
}

bool zk_store_recover(RtCkptStore *self, RtCkptStoreDoneFunc done, void *user_data,
                      GError **error) {
    ZkStore *s = (ZkStore *)self;
    if (s->busy) {
        g_set_error(error, RT_CKPT_STORE_ERROR, RT_CKPT_STORE_ERROR_BUSY, "store busy");
        return false;
    }
    RtCoord *coord = rt_ha_client_coord(s->client);
    ZkCall *call = zk_call_new(s);
    call->done = done;
    call->user_data = user_data;
    call->names = g_ptr_array_new_with_free_func(g_free);
    call->found = g_ptr_array_new_with_free_func(completed_free);
    rt_ha_create_path(coord, s->zk_dir);
    if (!rt_coord_children(coord, s->zk_dir, NULL, on_listed, zk_call_ud(call), error)) {
        zk_call_free(call);
        return false;
    }
    s->busy = true;
    return true;
}
