/* rt_ha_client.c - the HA ZooKeeper client: configuration, the current session and its
 * replacement after expiry, and callbacks waiting for a connection (rt_ha_client.h). */
#include "runtime/ha/rt_ha_client.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_config_keys.h"

G_DEFINE_QUARK(rt - ha - error - quark, rt_ha_error)

typedef struct Waiter {
    uint64_t ticket;
    RtHaReadyFunc fn;
    void *user_data;
} Waiter;

struct RtHaClient {
    RtEnv *env;
    RtHaConfig cfg;     /* own copies of root, storage_dir and the connect string */
    char *connect;      /* owned: cfg.coord.connect_string points here */
    RtCoord *coord;     /* current session */
    GPtrArray *retired; /* RtCoord*: ended sessions whose callbacks may still drain */
    RtHaStateFunc listener;
    void *listener_data;
    uint64_t sessions; /* opened so far */
    uint64_t suspensions; /* transitions out of CONNECTED seen by the listener */
    bool fresh;        /* the current session followed an ended one, not yet seen up */
    GArray *waiters;   /* Waiter, in ticket order */
    GPtrArray *deletes; /* char*: guaranteed deletes waiting for a connection */
    uint64_t next_ticket;
    RtTimerId flush_timer;  /* runs waiters while connected */
    RtTimerId reopen_timer; /* retries opening a session */
};

/* ------------------------------------------------------------------ config */

static bool config_error(GError **error, const char *key, const char *what) {
    g_set_error(error, RT_HA_ERROR, RT_HA_ERROR_CONFIG, "%s: %s", key, what);
    return false;
}

bool rt_ha_enabled(const RtConfig *conf, bool *enabled, GError **error) {
    unsigned mode = 0; /* "none|zookeeper" (rt_config_keys.h) */
    if (!rt_config_key_choice(conf, RT_KEY_HA_TYPE, &mode, error))
        return false;
    *enabled = mode == 1;
    return true;
}

/* "/a/" + "/b" -> "/a/b"; both parts stripped of surrounding slashes. */
static char *join_root(const char *root, const char *cluster) {
    while (*root == '/')
        root++;
    while (*cluster == '/')
        cluster++;
    char *r = g_strdup(root), *c = g_strdup(cluster);
    g_strchomp(r);
    for (size_t n = strlen(r); n > 0 && r[n - 1] == '/'; n--)
        r[n - 1] = '\0';
    for (size_t n = strlen(c); n > 0 && c[n - 1] == '/'; n--)
        c[n - 1] = '\0';
    char *out = r[0] != '\0' ? g_strdup_printf("/%s/%s", r, c) : g_strdup_printf("/%s", c);
    g_free(r);
    g_free(c);
    return out;
}

static bool read_retry_policy(RtHaConfig *out, const RtConfig *conf, GError **error) {
    uint64_t retries = 0;
    /* max-retry-attempts: at most 29, Curator's limit (the registry's bound). */
    if (!rt_config_key_bool(conf, RT_KEY_HA_TOLERATE_SUSPENDED, &out->tolerate_suspended,
                            error) ||
        !rt_config_key_duration_ns(conf, RT_KEY_HA_RETRY_WAIT, &out->retry_wait_ns, error) ||
        !rt_config_key_u64(conf, RT_KEY_HA_MAX_RETRIES, &retries, error) ||
        !rt_config_key_bool(conf, RT_KEY_HA_FENCE_WRITES, &out->fence_writes, error))
        return false;
    out->max_retries = (uint32_t)retries;
    return true;
}

bool rt_ha_config_read(RtHaConfig *out, const RtConfig *conf, GError **error) {
    assert(out != NULL && conf != NULL);
    memset(out, 0, sizeof *out);
    if (!rt_coord_config_from_flink(&out->coord, conf, error))
        return false;
    out->coord.chroot = NULL; /* the root is a path prefix: it need not exist */
    out->root = join_root(rt_config_key_string(conf, RT_KEY_HA_ROOT),
                          rt_config_key_string(conf, RT_KEY_HA_CLUSTER_ID));
    /* As a storage path, like the checkpoint directory ("file:///ha" -> "ha"). */
    GError *err = NULL;
    char *dir = rt_config_key_dir(conf, RT_KEY_HA_STORAGE_DIR, &err);
    if (dir == NULL || dir[0] == '\0') {
        rt_ha_config_clear(out);
        g_free(dir);
        bool ok = config_error(error, "high-availability.storageDir",
                               err != NULL ? err->message
                                           : "required with high-availability.type zookeeper");
        g_clear_error(&err);
        return ok;
    }
    char *cid = g_strdup(strrchr(out->root, '/') + 1);
    out->storage_dir = g_strdup_printf("%s/%s", dir, cid[0] != '\0' ? cid : "default");
    g_free(cid);
    g_free(dir);
    if (!rt_coord_path_valid(out->root) || strcmp(out->root, "/") == 0) {
        rt_ha_config_clear(out);
        return config_error(error, "high-availability.cluster-id", "not a valid znode path");
    }
    if (!rt_storage_path_valid(out->storage_dir)) {
        rt_ha_config_clear(out);
        return config_error(error, "high-availability.storageDir",
                            "expected a relative storage path");
    }
    if (!read_retry_policy(out, conf, error)) {
        rt_ha_config_clear(out);
        return false;
    }
    return true;
}

void rt_ha_config_clear(RtHaConfig *cfg) {
    if (cfg == NULL)
        return;
    g_free(cfg->root);
    g_free(cfg->storage_dir);
    memset(cfg, 0, sizeof *cfg);
}

bool rt_ha_error_retryable(const GError *error) {
    return error != NULL && error->domain == RT_COORD_ERROR &&
           (error->code == RT_COORD_ERROR_CONNECTION_LOSS ||
            error->code == RT_COORD_ERROR_OPERATION_TIMEOUT ||
            error->code == RT_COORD_ERROR_SESSION_EXPIRED || error->code == RT_COORD_ERROR_CLOSED);
}

/* ---------------------------------------------------------------- sessions */

static void on_session(RtCoord *coord, RtCoordState state, void *user_data);
static void flush_waiters(RtHaClient *client);
static void flush_deletes(RtHaClient *client);

static RtCoord *open_session(RtHaClient *client, GError **error) {
    RtCoordConfig cc = client->cfg.coord;
    cc.on_session = on_session;
    cc.session_user_data = client;
    RtCoord *c = rt_coord_open(client->env, &cc, error);
    if (c != NULL)
        client->sessions++;
    return c;
}

static void retire(RtHaClient *client, RtCoord *old) {
    if (client->retired->len >= RT_HA_MAX_RETIRED_SESSIONS) {
        rt_coord_free(g_ptr_array_index(client->retired, 0));
        g_ptr_array_remove_index(client->retired, 0);
    }
    g_ptr_array_add(client->retired, old);
}

static void reopen_fire(void *user_data) {
    RtHaClient *client = user_data;
    client->reopen_timer = 0;
    GError *err = NULL;
    RtCoord *c = open_session(client, &err);
    if (c == NULL) {
        g_clear_error(&err);
        client->reopen_timer =
            rt_env_timer_start(client->env, client->cfg.retry_wait_ns, reopen_fire, client);
        return;
    }
    retire(client, client->coord);
    client->coord = c;
    client->fresh = true;
}

static void on_session(RtCoord *coord, RtCoordState state, void *user_data) {
    RtHaClient *client = user_data;
    if (coord != client->coord)
        return; /* a retired session */
    RtEvent ev = {.kind = RT_EV_COORD_SESSION, .a = state, .b = client->sessions};
    rt_env_observe(client->env, &ev);
    bool fresh = false;
    if (state != RT_COORD_CONNECTED && state != RT_COORD_CONNECTING)
        client->suspensions++;
    if (state == RT_COORD_CONNECTED) {
        fresh = client->fresh;
        client->fresh = false;
    }
    if (client->listener != NULL)
        client->listener(client->listener_data, state, fresh);
    if (state == RT_COORD_CONNECTED) {
        flush_deletes(client);
        flush_waiters(client);
    } else if ((state == RT_COORD_EXPIRED || state == RT_COORD_CLOSED) &&
               client->reopen_timer == 0) {
        /* As Curator: a new session at once (from a timer: we are inside a callback of
         * the old handle, whose late failures must still be delivered). */
        client->reopen_timer = rt_env_timer_start(client->env, 0, reopen_fire, client);
    }
}

uint64_t rt_ha_client_suspensions(const RtHaClient *client) {
    assert(client != NULL);
    return client->suspensions;
}

/* --------------------------------------------------------- guaranteed deletes */

static void delete_done(RtCoord *coord, GError *error, void *user_data) {
    (void)coord;
    (void)user_data;
    g_clear_error(&error); /* NoNode: gone already; connection loss: the session's end
                              takes an ephemeral node anyway */
}

static void flush_deletes(RtHaClient *client) {
    for (guint i = 0; i < client->deletes->len; i++)
        rt_coord_delete(client->coord, g_ptr_array_index(client->deletes, i),
                        RT_COORD_ANY_VERSION, delete_done, NULL, NULL);
    g_ptr_array_set_size(client->deletes, 0);
}

void rt_ha_client_delete_guaranteed(RtHaClient *client, const char *path) {
    assert(client != NULL && path != NULL);
    if (client->deletes->len >= RT_HA_MAX_WAITERS)
        return;
    g_ptr_array_add(client->deletes, g_strdup(path));
    if (rt_coord_state(client->coord) == RT_COORD_CONNECTED)
        flush_deletes(client);
}

/* ----------------------------------------------------------------- waiters */

static void flush_fire(void *user_data) {
    RtHaClient *client = user_data;
    client->flush_timer = 0;
    if (rt_coord_state(client->coord) != RT_COORD_CONNECTED)
        return;
    /* Only those queued so far: a callback may queue again (it then waits). */
    uint64_t last = client->next_ticket;
    for (guint guard = 0; guard < RT_HA_MAX_WAITERS && client->waiters->len > 0; guard++) {
        Waiter w = g_array_index(client->waiters, Waiter, 0);
        if (w.ticket > last)
            break;
        g_array_remove_index(client->waiters, 0);
        w.fn(w.user_data);
        if (rt_coord_state(client->coord) != RT_COORD_CONNECTED)
            return;
    }
}

static void flush_waiters(RtHaClient *client) {
    if (client->waiters->len > 0 && client->flush_timer == 0)
        client->flush_timer = rt_env_timer_start(client->env, 0, flush_fire, client);
}

uint64_t rt_ha_client_when_connected(RtHaClient *client, RtHaReadyFunc fn, void *user_data) {
    assert(client != NULL && fn != NULL);
    if (client->waiters->len >= RT_HA_MAX_WAITERS)
        return 0;
    Waiter w = {++client->next_ticket, fn, user_data};
    g_array_append_val(client->waiters, w);
    if (rt_coord_state(client->coord) == RT_COORD_CONNECTED)
        flush_waiters(client);
    return w.ticket;
}

void rt_ha_client_cancel(RtHaClient *client, uint64_t ticket) {
    if (client == NULL || ticket == 0)
        return;
    for (guint i = 0; i < client->waiters->len; i++) {
        if (g_array_index(client->waiters, Waiter, i).ticket == ticket) {
            g_array_remove_index(client->waiters, i);
            return;
        }
    }
}

/* ------------------------------------------------------------------ lifecycle */

RtHaClient *rt_ha_client_new(RtEnv *env, const RtHaConfig *cfg, GError **error) {
    assert(env != NULL && cfg != NULL && cfg->root != NULL && cfg->storage_dir != NULL);
    RtHaClient *client = g_new0(RtHaClient, 1);
    client->env = env;
    client->cfg = *cfg;
    client->cfg.root = g_strdup(cfg->root);
    client->cfg.storage_dir = g_strdup(cfg->storage_dir);
    client->connect = g_strdup(cfg->coord.connect_string);
    client->cfg.coord.connect_string = client->connect;
    client->retired = g_ptr_array_new();
    client->waiters = g_array_new(FALSE, TRUE, sizeof(Waiter));
    client->deletes = g_ptr_array_new_with_free_func(g_free);
    client->coord = open_session(client, error);
    if (client->coord == NULL) {
        rt_ha_client_free(client);
        return NULL;
    }
    return client;
}

void rt_ha_client_free(RtHaClient *client) {
    if (client == NULL)
        return;
    rt_env_timer_cancel(client->env, client->flush_timer);
    rt_env_timer_cancel(client->env, client->reopen_timer);
    if (client->coord != NULL)
        rt_coord_free(client->coord);
    for (guint i = 0; i < client->retired->len; i++)
        rt_coord_free(g_ptr_array_index(client->retired, i));
    g_ptr_array_unref(client->retired);
    g_array_unref(client->waiters);
    g_ptr_array_unref(client->deletes);
    rt_ha_config_clear(&client->cfg);
    g_free(client->connect);
    g_free(client);
}

void rt_ha_client_set_listener(RtHaClient *client, RtHaStateFunc fn, void *user_data) {
    assert(client != NULL);
    client->listener = fn;
    client->listener_data = user_data;
}

RtCoord *rt_ha_client_coord(RtHaClient *client) {
    assert(client != NULL && client->coord != NULL);
    return client->coord;
}

RtCoordState rt_ha_client_state(RtHaClient *client) {
    return rt_coord_state(rt_ha_client_coord(client));
}

const RtHaConfig *rt_ha_client_config(const RtHaClient *client) {
    assert(client != NULL);
    return &client->cfg;
}

RtEnv *rt_ha_client_env(const RtHaClient *client) {
    assert(client != NULL);
    return client->env;
}

uint64_t rt_ha_client_sessions(const RtHaClient *client) {
    assert(client != NULL);
    return client->sessions;
}

static void ignore_created(RtCoord *coord, const char *path, GError *error, void *user_data) {
    (void)coord;
    (void)path;
    (void)user_data;
    g_clear_error(&error);
}

void rt_ha_create_path(RtCoord *coord, const char *path) {
    assert(coord != NULL && rt_coord_path_valid(path));
    for (const char *p = path + 1;; p++) { /* bounded by the path's length */
        if (*p != '/' && *p != '\0')
            continue;
        char *prefix = g_strndup(path, (gsize)(p - path));
        rt_coord_create(coord, prefix, NULL, 0, RT_COORD_PERSISTENT, ignore_created, NULL, NULL);
        g_free(prefix);
        if (*p == '\0')
            return;
    }
}
