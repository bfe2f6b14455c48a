/* rt_coord_zk_probe.c - `ckptsim zk probe`: measures a real ZooKeeper server with the C
 * client's synchronous calls and the wall clock (allowed here: this is a real-world
 * adapter). The simulated ensemble's default latencies (sim_zk_config_init) come from
 * these figures. Every node it creates lives under a fresh /ckptsim-probe-* root, which it
 * removes at the end.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

#include "runtime/coord/rt_coord_zk.h"
#include "runtime/coord/rt_coord_zk_error.h"

void rt_coord_zk_probe_config_init(RtCoordZkProbeConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->connect_timeout_ns = RT_COORD_DEFAULT_CONNECT_TIMEOUT_NS;
    cfg->calls = 500;
    cfg->pipelined_sets = 20000;
    cfg->window = 256;
    cfg->data_bytes = 100;
}

typedef struct ProbeSync {
    GMutex lock;
    GCond cond;
    int state;         /* last session state */
    unsigned inflight; /* pipelined sets not yet answered */
    int first_error;   /* first failed pipelined set, ZOK if none */
} ProbeSync;

static void probe_watcher(zhandle_t *zh, int type, int state, const char *path, void *ctx) {
    (void)zh;
    (void)path;
    if (type != ZOO_SESSION_EVENT)
        return;
    ProbeSync *s = ctx;
    g_mutex_lock(&s->lock);
    s->state = state;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

static double now_us(void) {
    return (double)g_get_monotonic_time();
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void figures(double *lat, unsigned n, RtCoordZkOpFigures *out) {
    qsort(lat, n, sizeof *lat, cmp_double);
    out->n = n;
    out->median_us = n % 2 ? lat[n / 2] : (lat[n / 2 - 1] + lat[n / 2]) / 2;
    unsigned k = (unsigned)ceil(0.99 * n);
    out->p99_us = lat[k > 0 ? k - 1 : 0];
    out->max_us = lat[n - 1];
}

static bool probe_check(const RtCoordZkProbeConfig *cfg, GError **error) {
    RtCoordConfig c;
    rt_coord_config_init(&c);
    c.connect_string = cfg->connect_string;
    c.connect_timeout_ns = cfg->connect_timeout_ns;
    if (!rt_coord_config_check(&c, NULL, NULL, error))
        return false;
    if (cfg->calls < 1 || cfg->calls > 100000 || cfg->pipelined_sets < 1 ||
        cfg->pipelined_sets > 1000000 || cfg->window < 1 || cfg->window > 100000 ||
        cfg->data_bytes > 65536) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "probe limits: calls 1..100000, pipelined sets 1..1000000, window "
                    "1..100000, data <= 65536 bytes");
        return false;
    }
    return true;
}

/* Connects; false + UNREACHABLE when no CONNECTED came within the timeout. */
static zhandle_t *probe_connect(const RtCoordZkProbeConfig *cfg, ProbeSync *s, double *ms,
                                GError **error) {
    double t0 = now_us();
    errno = 0;
    zhandle_t *zh = zookeeper_init(cfg->connect_string, probe_watcher, 10000, NULL, s, 0);
    if (zh == NULL) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "cannot start a ZooKeeper client for '%s': %s", cfg->connect_string,
                    g_strerror(errno ? errno : EINVAL));
        return NULL;
    }
    gint64 until = g_get_monotonic_time() + (gint64)(cfg->connect_timeout_ns / 1000u);
    g_mutex_lock(&s->lock);
    while (s->state != ZOO_CONNECTED_STATE && g_get_monotonic_time() < until)
        g_cond_wait_until(&s->cond, &s->lock, until);
    bool ok = s->state == ZOO_CONNECTED_STATE;
    g_mutex_unlock(&s->lock);
    if (!ok) {
        zookeeper_close(zh);
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_UNREACHABLE,
                    "no ZooKeeper server answered at %s within %.1f s", cfg->connect_string,
                    (double)cfg->connect_timeout_ns / 1e9);
        return NULL;
    }
    *ms = (now_us() - t0) / 1000.0;
    return zh;
}

enum { OP_CREATE, OP_GET, OP_SET, OP_DELETE };

/* One synchronous call of kind op on node i; returns the ZooKeeper code. */
static int probe_call(zhandle_t *zh, int op, const char *path, const char *data, int len) {
    char buf[256];
    int blen = sizeof buf;
    switch (op) {
    case OP_CREATE:
        return zoo_create(zh, path, data, len, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, buf,
                          sizeof buf);
    case OP_GET: {
        char *out = g_malloc(len > 0 ? (size_t)len : 1);
        blen = len;
        int rc = zoo_get(zh, path, 0, out, &blen, NULL);
        g_free(out);
        return rc;
    }
    case OP_SET: return zoo_set(zh, path, data, len, 0);
    default: return zoo_delete(zh, path, 1);
    }
}

static bool measure(zhandle_t *zh, const RtCoordZkProbeConfig *cfg, const char *root,
                    const char *data, RtCoordZkProbeResult *out, GError **error) {
    static const char *const names[] = {"create", "get", "set", "delete"};
    RtCoordZkOpFigures *figs[] = {&out->create, &out->get, &out->set, &out->delete};
    double *lat = g_new0(double, cfg->calls);
    int len = cfg->data_bytes ? (int)cfg->data_bytes : -1;
    bool ok = true;
    for (int op = OP_CREATE; op <= OP_DELETE && ok; op++) {
        for (unsigned i = 0; i < cfg->calls && ok; i++) {
            char path[128];
            g_snprintf(path, sizeof path, "%s/n%u", root, i);
            double t0 = now_us();
            int rc = probe_call(zh, op, path, data, len);
            lat[i] = now_us() - t0;
            if (rc != ZOK) {
                g_propagate_error(error, rt_coord_zk_error_new(rc, names[op], path));
                ok = false;
            }
        }
        if (ok)
            figures(lat, cfg->calls, figs[op]);
    }
    g_free(lat);
    return ok;
}

static void on_pipelined(int rc, const struct Stat *st, const void *data) {
    (void)st;
    ProbeSync *s = (ProbeSync *)data;
    g_mutex_lock(&s->lock);
    s->inflight--;
    if (rc != ZOK && s->first_error == ZOK)
        s->first_error = rc;
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

/* Sets on one node with at most cfg->window in flight; ops/s over the whole run. */
static bool pipelined(zhandle_t *zh, const RtCoordZkProbeConfig *cfg, const char *path,
                      const char *data, ProbeSync *s, RtCoordZkProbeResult *out, GError **error) {
    int len = cfg->data_bytes ? (int)cfg->data_bytes : -1;
    double t0 = now_us();
    int rc = ZOK;
    for (unsigned i = 0; i < cfg->pipelined_sets && rc == ZOK; i++) {
        g_mutex_lock(&s->lock);
        while (s->inflight >= cfg->window)
            g_cond_wait(&s->cond, &s->lock);
        s->inflight++;
        rc = s->first_error;
        g_mutex_unlock(&s->lock);
        if (rc == ZOK)
            rc = zoo_aset(zh, path, data, len, -1, on_pipelined, s);
        if (rc != ZOK) {
            g_mutex_lock(&s->lock);
            s->inflight--;
            g_mutex_unlock(&s->lock);
        }
    }
    g_mutex_lock(&s->lock);
    while (s->inflight > 0)
        g_cond_wait(&s->cond, &s->lock);
    if (rc == ZOK)
        rc = s->first_error;
    g_mutex_unlock(&s->lock);
    double secs = (now_us() - t0) / 1e6;
    if (rc != ZOK) {
        g_propagate_error(error, rt_coord_zk_error_new(rc, "pipelined set", path));
        return false;
    }
    out->pipelined_set_ops_per_s = secs > 0 ? cfg->pipelined_sets / secs : 0;
    out->window = cfg->window;
    return true;
}

bool rt_coord_zk_probe(const RtCoordZkProbeConfig *cfg, RtCoordZkProbeResult *out, GError **error) {
    assert(cfg != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    if (!probe_check(cfg, error))
        return false;
    rt_coord_zk_set_log_level(0);
    ProbeSync s;
    memset(&s, 0, sizeof s);
    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);
    zhandle_t *zh = probe_connect(cfg, &s, &out->connect_ms, error);
    bool ok = zh != NULL;
    if (ok) {
        out->session_timeout_ms = (uint64_t)zoo_recv_timeout(zh);
        char root[96], pipe[128];
        g_snprintf(root, sizeof root, "/ckptsim-probe-%ld-%" G_GINT64_FORMAT, (long)getpid(),
                   g_get_real_time());
        g_snprintf(pipe, sizeof pipe, "%s/pipe", root);
        char *data = g_malloc0(cfg->data_bytes + 1);
        memset(data, 'p', cfg->data_bytes);
        int rc = zoo_create(zh, root, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc == ZOK)
            rc = zoo_create(zh, pipe, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
        if (rc != ZOK)
            g_propagate_error(error, rt_coord_zk_error_new(rc, "create", root));
        ok = rc == ZOK && measure(zh, cfg, root, data, out, error) &&
             pipelined(zh, cfg, pipe, data, &s, out, error);
        zoo_delete(zh, pipe, -1); /* best effort: leave the server as we found it */
        zoo_delete(zh, root, -1);
        g_free(data);
        zookeeper_close(zh);
    }
    g_cond_clear(&s.cond);
    g_mutex_clear(&s.lock);
    return ok;
}
