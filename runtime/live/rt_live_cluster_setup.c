/* rt_live_cluster_setup.c - what rt_live_cluster_new checks before anything starts, so
 * that bad input fails at once with a clear message: the run directory (created, empty,
 * writable), the TCP ports (free, or a free range picked outside the kernel's ephemeral
 * range, whose ports outgoing connections take), and ZooKeeper (a session connects). */
#include <assert.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/coord/rt_coord_zk.h"
#include "runtime/live/rt_live_cluster_internal.h"

/* Picked base ports lie in [PICK_LOW, PICK_HIGH): below Linux's default ephemeral range
 * (32768-60999) and above the well-known ports. */
#define PICK_LOW 20000u
#define PICK_HIGH 32000u
#define PICK_TRIES 64u

static bool dir_is_empty(const char *path, GError **error) {
    GDir *d = g_dir_open(path, 0, error);
    if (d == NULL)
        return false;
    const char *name = g_dir_read_name(d);
    g_dir_close(d);
    if (name != NULL)
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_DIR,
                    "is not empty (it holds '%s'): give a new or empty directory, the oracle "
                    "reads every file in it",
                    name);
    return name == NULL;
}

static bool make_dir(const char *path, GError **error) {
    if (g_mkdir_with_parents(path, 0755) != 0) {
        int e = errno;
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_DIR, "cannot create %s: %s",
                    path, g_strerror(e));
        return false;
    }
    return true;
}

/* The run directory is the run owner's alone (0700): logs and storage stay private. */
static bool make_private(const char *path, GError **error) {
    if (g_chmod(path, 0700) != 0) {
        int e = errno;
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_DIR,
                    "cannot make %s private (0700): %s", path, g_strerror(e));
        return false;
    }
    return true;
}

/* A probe file proves the directory is writable (mkdir of an existing one does not). */
static bool probe_writable(const char *dir, GError **error) {
    char *probe = g_build_filename(dir, ".write-probe", NULL);
    GError *e = NULL;
    bool ok = g_file_set_contents(probe, "ok\n", -1, &e);
    if (ok)
        g_unlink(probe);
    else
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_DIR,
                    "cannot write in %s: %s", dir, e->message);
    g_clear_error(&e);
    g_free(probe);
    return ok;
}

/* Before anything else: an existing DIR must be an empty directory. */
static bool check_dir(RtLiveCluster *c, GError **error) {
    GError *e = NULL;
    if (!g_file_test(c->dir, G_FILE_TEST_EXISTS))
        return true;
    if (!g_file_test(c->dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_DIR,
                    "run directory %s: exists and is not a directory", c->dir);
        return false;
    }
    if (!dir_is_empty(c->dir, &e)) {
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_DIR, "run directory %s: %s",
                    c->dir, e->message);
        g_error_free(e);
        return false;
    }
    return true;
}

/* After the other checks passed (so that bad input leaves nothing behind). */
static bool create_dir(RtLiveCluster *c, GError **error) {
    c->storage_root = g_build_filename(c->dir, "storage", NULL);
    c->logs_dir = g_build_filename(c->dir, "logs", NULL);
    if (!make_dir(c->dir, error) || !make_private(c->dir, error) ||
        !probe_writable(c->dir, error) ||
        !make_dir(c->storage_root, error) || !make_dir(c->logs_dir, error))
        return false;
    for (uint32_t i = 0; i < c->n_procs; i++) {
        char *file = g_strdup_printf("%s.log", c->procs[i].name);
        c->procs[i].log_path = g_build_filename(c->logs_dir, file, NULL);
        g_free(file);
    }
    return true;
}

/* ------------------------------------------------------------------ ports */

/* True if 127.0.0.1:port can be bound as the live env binds it (SO_REUSEADDR). */
static bool port_free(uint32_t port, GError **error) {
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
    if (s == NULL)
        return false;
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(ia, (guint16)port);
    bool ok = g_socket_bind(s, sa, TRUE, error) && g_socket_listen(s, error);
    g_object_unref(sa);
    g_object_unref(ia);
    g_socket_close(s, NULL);
    g_object_unref(s);
    return ok;
}

static bool range_free(uint32_t base, uint32_t n, GError **error) {
    for (uint32_t p = 0; p < n; p++) {
        GError *e = NULL;
        if (base + p > 65535) {
            g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_PORT,
                        "base port %u + %u processes goes past port 65535", base, n);
            return false;
        }
        if (!port_free(base + p, &e)) {
            g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_PORT,
                        "port %u (base port %u + process %u) is in use: %s", base + p, base, p,
                        e->message);
            g_error_free(e);
            return false;
        }
    }
    return true;
}

static bool setup_ports(RtLiveCluster *c, GError **error) {
    if (c->cfg.base_port != 0) {
        c->base_port = c->cfg.base_port;
        return range_free(c->base_port, c->n_procs, error);
    }
    uint32_t span = PICK_HIGH - PICK_LOW - RT_CLUSTER_MAX_PROCESSES;
    uint32_t start = PICK_LOW + ((uint32_t)getpid() * 97u) % span; /* spread parallel runs */
    for (uint32_t t = 0; t < PICK_TRIES; t++) {
        uint32_t base = PICK_LOW + (start - PICK_LOW + t * RT_CLUSTER_MAX_PROCESSES) % span;
        if (range_free(base, c->n_procs, NULL)) {
            c->base_port = (uint16_t)base;
            return true;
        }
    }
    g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_PORT,
                "no free range of %u TCP ports found in %u..%u (give --base-port)", c->n_procs,
                PICK_LOW, PICK_HIGH);
    return false;
}

/* ------------------------------------------------------------------ ZooKeeper */

static gboolean zk_deadline_cb(gpointer data) {
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}

static bool check_zookeeper(RtLiveCluster *c, const char *quorum, uint64_t timeout_ns,
                            GError **error) {
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = quorum;
    cfg.connect_timeout_ns = timeout_ns;
    GError *e = NULL;
    RtCoord *coord = rt_coord_zk_open(c->ctx, &cfg, &e);
    if (coord == NULL) {
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_ZOOKEEPER,
                    "high-availability.zookeeper.quorum '%s': %s", quorum, e->message);
        g_error_free(e);
        return false;
    }
    bool expired = false;
    GSource *deadline = g_timeout_source_new((guint)(timeout_ns / 1000000u) + 1000u);
    g_source_set_callback(deadline, zk_deadline_cb, &expired, NULL);
    g_source_attach(deadline, c->ctx);
    RtCoordState st = rt_coord_state(coord);
    for (uint32_t guard = 0; guard < 1000000u && !expired && st == RT_COORD_CONNECTING; guard++) {
        g_main_context_iteration(c->ctx, TRUE);
        st = rt_coord_state(coord);
    }
    g_source_destroy(deadline);
    g_source_unref(deadline);
    rt_coord_free(coord);
    for (uint32_t i = 0; i < 1000u && g_main_context_iteration(c->ctx, FALSE); i++)
        ; /* drop what the closed session left queued */
    if (st == RT_COORD_CONNECTED)
        return true;
    g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_ZOOKEEPER,
                "ZooKeeper at '%s' is unreachable: no session within %" G_GUINT64_FORMAT
                " ms (state %s); start a server or fix high-availability.zookeeper.quorum",
                quorum, timeout_ns / 1000000u, rt_coord_state_name(st));
    return false;
}

/* ------------------------------------------------------------------ new */

static bool check_config(const RtLiveClusterConfig *cfg, GError **error) {
    const char *why = NULL;
    if (cfg->child_args == NULL || cfg->dir == NULL || cfg->dir[0] == '\0')
        why = "child_args and dir are required";
    else if (cfg->n_jobmanagers < 1 || cfg->n_workers < 1)
        why = "a cluster needs a job manager and a worker";
    else if (cfg->n_jobmanagers + cfg->n_workers > RT_CLUSTER_MAX_PROCESSES)
        why = "too many processes";
    else if (cfg->time_limit_ns == 0)
        why = "the time limit must be positive";
    if (why != NULL)
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_CONFIG, "%s", why);
    return why == NULL;
}

RtLiveCluster *rt_live_cluster_new(const RtLiveClusterConfig *cfg, RtObserver *observer,
                                   GError **error) {
    assert(cfg != NULL);
    if (!check_config(cfg, error))
        return NULL;
    RtLiveCluster *c = rt_live_cluster_alloc(cfg, observer);
    GError *e = NULL;
    c->exe = g_file_read_link("/proc/self/exe", &e);
    if (c->exe == NULL) {
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_SPAWN,
                    "cannot find the running program to start the processes: %s", e->message);
        g_error_free(e);
        rt_live_cluster_free(c);
        return NULL;
    }
    if (!rt_live_random_bytes(c->secret.key, sizeof c->secret.key, error)) {
        rt_live_cluster_free(c);
        return NULL;
    }
    if (!check_dir(c, error) || !setup_ports(c, error) ||
        (cfg->zk_quorum != NULL &&
         !check_zookeeper(c, cfg->zk_quorum, cfg->zk_connect_timeout_ns, error)) ||
        !create_dir(c, error)) {
        rt_live_cluster_free(c);
        return NULL;
    }
    return c;
}
