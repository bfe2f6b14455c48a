/* rt_coord.c - the thin wrappers around RtCoordOps (they check every argument and the
 * handle's state, so implementations see only well-formed calls), the names of codes and
 * states, and the configuration: Flink's keys and the connect-string syntax, checked at
 * once so a malformed quorum is an error before any I/O. */
#include "runtime/coord/rt_coord.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_config_keys.h"

G_DEFINE_QUARK(rt - coord - error - quark, rt_coord_error)

static const char *const error_names[] = {
    [RT_COORD_ERROR_NO_NODE] = "no_node",
    [RT_COORD_ERROR_NODE_EXISTS] = "node_exists",
    [RT_COORD_ERROR_BAD_VERSION] = "bad_version",
    [RT_COORD_ERROR_NOT_EMPTY] = "not_empty",
    [RT_COORD_ERROR_NO_CHILDREN_FOR_EPHEMERALS] = "no_children_for_ephemerals",
    [RT_COORD_ERROR_CONNECTION_LOSS] = "connection_loss",
    [RT_COORD_ERROR_OPERATION_TIMEOUT] = "operation_timeout",
    [RT_COORD_ERROR_SESSION_EXPIRED] = "session_expired",
    [RT_COORD_ERROR_MARSHALLING] = "marshalling",
    [RT_COORD_ERROR_BAD_ARGUMENTS] = "bad_arguments",
    [RT_COORD_ERROR_NO_AUTH] = "no_auth",
    [RT_COORD_ERROR_AUTH_FAILED] = "auth_failed",
    [RT_COORD_ERROR_INVALID_ACL] = "invalid_acl",
    [RT_COORD_ERROR_CLOSED] = "closed",
    [RT_COORD_ERROR_CONFIG] = "config",
    [RT_COORD_ERROR_UNREACHABLE] = "unreachable",
    [RT_COORD_ERROR_TOO_LARGE] = "too_large",
    [RT_COORD_ERROR_TOO_BUSY] = "too_busy",
    [RT_COORD_ERROR_SYSTEM] = "system",
};

const char *rt_coord_error_name(int code) {
    if (code <= 0 || (size_t)code >= G_N_ELEMENTS(error_names) || !error_names[code])
        return "unknown";
    return error_names[code];
}

bool rt_coord_error_outcome_unknown(const GError *error) {
    return error != NULL && error->domain == RT_COORD_ERROR &&
           (error->code == RT_COORD_ERROR_CONNECTION_LOSS ||
            error->code == RT_COORD_ERROR_OPERATION_TIMEOUT);
}

const char *rt_coord_state_name(RtCoordState state) {
    switch (state) {
    case RT_COORD_CONNECTING: return "connecting";
    case RT_COORD_CONNECTED: return "connected";
    case RT_COORD_SUSPENDED: return "suspended";
    case RT_COORD_EXPIRED: return "expired";
    case RT_COORD_CLOSED: return "closed";
    }
    return "unknown";
}

const char *rt_coord_event_name(RtCoordEventType type) {
    switch (type) {
    case RT_COORD_EVENT_CREATED: return "created";
    case RT_COORD_EVENT_DELETED: return "deleted";
    case RT_COORD_EVENT_DATA_CHANGED: return "data_changed";
    case RT_COORD_EVENT_CHILDREN_CHANGED: return "children_changed";
    case RT_COORD_EVENT_SESSION_ENDED: return "session_ended";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ paths */

bool rt_coord_path_valid(const char *path) {
    if (path == NULL || path[0] != '/')
        return false;
    size_t len = strlen(path);
    if (len > RT_COORD_PATH_MAX_BYTES)
        return false;
    if (len == 1)
        return true;
    if (path[len - 1] == '/')
        return false;
    const char *part = path + 1;
    for (size_t i = 1; i <= len; i++) {
        char ch = path[i];
        if (ch == '/' || ch == '\0') {
            size_t plen = (size_t)(path + i - part);
            if (plen == 0 || (plen == 1 && part[0] == '.') ||
                (plen == 2 && part[0] == '.' && part[1] == '.'))
                return false;
            part = path + i + 1;
        } else if (ch < 0x21 || ch > 0x7e) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ config */

void rt_coord_config_init(RtCoordConfig *cfg) {
    assert(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->session_timeout_ns = RT_COORD_DEFAULT_SESSION_TIMEOUT_NS;
    cfg->connect_timeout_ns = RT_COORD_DEFAULT_CONNECT_TIMEOUT_NS;
}

bool rt_coord_config_from_flink(RtCoordConfig *cfg, const RtConfig *conf, GError **error) {
    assert(cfg != NULL && conf != NULL);
    rt_coord_config_init(cfg);
    const char *quorum = rt_config_lookup(conf, RT_KEY_HA_QUORUM);
    if (quorum == NULL || quorum[0] == '\0') {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "high-availability.zookeeper.quorum is not set");
        return false;
    }
    cfg->connect_string = quorum;
    cfg->chroot = rt_config_key_string(conf, RT_KEY_HA_ROOT);
    GError *err = NULL;
    if (!rt_config_key_duration_ns(conf, RT_KEY_HA_SESSION_TIMEOUT, &cfg->session_timeout_ns,
                                   &err) ||
        !rt_config_key_duration_ns(conf, RT_KEY_HA_CONNECTION_TIMEOUT,
                                   &cfg->connect_timeout_ns, &err)) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG, "%s", err->message);
        g_error_free(err);
        return false;
    }
    return rt_coord_config_check(cfg, NULL, NULL, error);
}

/* host: a DNS name or IPv4 literal ([A-Za-z0-9.-_]) or a bracketed IPv6 literal. */
static bool host_valid(const char *h, size_t n) {
    if (n == 0 || n > 253)
        return false;
    if (h[0] == '[')
        return n > 2 && h[n - 1] == ']' && strspn(h + 1, "0123456789abcdefABCDEF:.") >= n - 2;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(h[i]) && h[i] != '.' && h[i] != '-' && h[i] != '_')
            return false;
    return true;
}

/* One "host:port" entry, n bytes long. */
static bool server_valid(const char *s, size_t n, GError **error) {
    const char *colon = NULL;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == ':') {
            colon = s + i - 1;
            break;
        }
    size_t hlen = colon ? (size_t)(colon - s) : 0;
    size_t plen = colon ? n - hlen - 1 : 0;
    unsigned port = 0;
    bool ok = colon != NULL && host_valid(s, hlen) && plen >= 1 && plen <= 5 &&
              strspn(colon + 1, "0123456789") >= plen;
    for (size_t i = 0; ok && i < plen; i++)
        port = port * 10 + (unsigned)(colon[1 + i] - '0');
    if (!ok || port == 0 || port > 65535) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "malformed ZooKeeper server '%.*s' (want host:port, port 1..65535)", (int)n, s);
        return false;
    }
    return true;
}

static bool chroot_valid(const char *chroot, const char *what, GError **error) {
    if (chroot == NULL || (rt_coord_path_valid(chroot) && strcmp(chroot, "/") != 0 &&
                           strlen(chroot) <= RT_COORD_CHROOT_MAX_BYTES))
        return true;
    g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                "malformed ZooKeeper chroot '%s' in %s (want /a/b)", chroot, what);
    return false;
}

static bool connect_string_split(const char *cs, char **hosts, char **chroot, GError **error) {
    if (cs == NULL || cs[0] == '\0') {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG, "empty ZooKeeper connect string");
        return false;
    }
    const char *slash = strchr(cs, '/');
    size_t hlen = slash ? (size_t)(slash - cs) : strlen(cs);
    *hosts = g_strndup(cs, hlen);
    *chroot = slash ? g_strdup(slash) : NULL;
    if (!chroot_valid(*chroot, "the connect string", error))
        return false;
    char **parts = g_strsplit(*hosts, ",", 0);
    guint n = g_strv_length(parts);
    bool ok = n >= 1 && n <= 64;
    if (!ok)
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "malformed ZooKeeper connect string '%s'", cs);
    for (guint i = 0; ok && i < n; i++)
        ok = server_valid(parts[i], strlen(parts[i]), error);
    g_strfreev(parts);
    return ok;
}

bool rt_coord_config_check(const RtCoordConfig *cfg, char **hosts_out, char **chroot_out,
                           GError **error) {
    assert(cfg != NULL);
    char *hosts = NULL, *cs_chroot = NULL;
    bool ok = connect_string_split(cfg->connect_string, &hosts, &cs_chroot, error) &&
              chroot_valid(cfg->chroot, "the configured root", error);
    if (ok && (cfg->session_timeout_ns < 1000000ull ||
               cfg->session_timeout_ns > 3600ull * 1000000000ull)) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "ZooKeeper session timeout out of range (1 ms .. 1 h)");
        ok = false;
    }
    if (ok && cfg->connect_timeout_ns < 1000000ull) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "ZooKeeper connect timeout must be at least 1 ms");
        ok = false;
    }
    if (ok && cfg->digest_auth != NULL &&
        (strchr(cfg->digest_auth, ':') == NULL || cfg->digest_auth[0] == ':')) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "ZooKeeper digest auth must be 'user:password'");
        ok = false;
    }
    char *joined = NULL;
    if (ok && (cs_chroot || cfg->chroot)) {
        joined = g_strconcat(cs_chroot ? cs_chroot : "", cfg->chroot ? cfg->chroot : "", NULL);
        ok = chroot_valid(joined, "connect string + root", error);
    }
    if (ok && hosts_out) {
        *hosts_out = hosts;
        hosts = NULL;
    }
    if (ok && chroot_out) {
        *chroot_out = joined;
        joined = NULL;
    }
    g_free(hosts);
    g_free(cs_chroot);
    g_free(joined);
    return ok;
}

/* ---------------------------------------------------------------- wrappers */

/* The common checks: the handle is alive, the path is well-formed. */
static bool check_call(RtCoord *c, const char *path, GError **error) {
    assert(c != NULL && c->ops != NULL);
    RtCoordState st = c->ops->state(c);
    if (st == RT_COORD_EXPIRED) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_SESSION_EXPIRED,
                    "ZooKeeper session expired");
        return false;
    }
    if (st == RT_COORD_CLOSED) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CLOSED, "ZooKeeper handle closed");
        return false;
    }
    if (path != NULL && !rt_coord_path_valid(path)) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_BAD_ARGUMENTS,
                    "malformed ZooKeeper path '%s'", path);
        return false;
    }
    return true;
}

static bool check_size(size_t total, GError **error) {
    if (total <= RT_COORD_DATA_MAX_BYTES)
        return true;
    g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_TOO_LARGE,
                "ZooKeeper request of %zu bytes exceeds the %u-byte budget (jute.maxbuffer "
                "%u minus headers); chunk the data",
                total, RT_COORD_DATA_MAX_BYTES, RT_COORD_PACKET_MAX_BYTES);
    return false;
}

static bool check_not_root(const char *path, GError **error) {
    if (strcmp(path, "/") != 0)
        return true;
    g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_BAD_ARGUMENTS,
                "cannot create or delete the root znode");
    return false;
}

bool rt_coord_create(RtCoord *c, const char *path, const void *data, size_t len, unsigned flags,
                     RtCoordCreateFunc done, void *user_data, GError **error) {
    assert(done != NULL && (data != NULL || len == 0));
    assert((flags & ~(unsigned)(RT_COORD_EPHEMERAL | RT_COORD_SEQUENTIAL)) == 0);
    if (!check_call(c, path, error) || !check_not_root(path, error) ||
        !check_size(len + strlen(path), error))
        return false;
    return c->ops->create(c, path, data, len, flags, done, user_data, error);
}

bool rt_coord_get(RtCoord *c, const char *path, const RtCoordWatch *watch, RtCoordDataFunc done,
                  void *user_data, GError **error) {
    assert(done != NULL && (watch == NULL || watch->func != NULL));
    if (!check_call(c, path, error))
        return false;
    return c->ops->get(c, path, watch, done, user_data, error);
}

bool rt_coord_exists(RtCoord *c, const char *path, const RtCoordWatch *watch, RtCoordStatFunc done,
                     void *user_data, GError **error) {
    assert(done != NULL && (watch == NULL || watch->func != NULL));
    if (!check_call(c, path, error))
        return false;
    return c->ops->exists(c, path, watch, done, user_data, error);
}

bool rt_coord_set(RtCoord *c, const char *path, const void *data, size_t len, int32_t version,
                  RtCoordStatFunc done, void *user_data, GError **error) {
    assert(done != NULL && (data != NULL || len == 0) && version >= RT_COORD_ANY_VERSION);
    if (!check_call(c, path, error) || !check_size(len + strlen(path), error))
        return false;
    return c->ops->set(c, path, data, len, version, done, user_data, error);
}

bool rt_coord_delete(RtCoord *c, const char *path, int32_t version, RtCoordDoneFunc done,
                     void *user_data, GError **error) {
    assert(done != NULL && version >= RT_COORD_ANY_VERSION);
    if (!check_call(c, path, error) || !check_not_root(path, error))
        return false;
    return c->ops->delete (c, path, version, done, user_data, error);
}

bool rt_coord_children(RtCoord *c, const char *path, const RtCoordWatch *watch,
                       RtCoordChildrenFunc done, void *user_data, GError **error) {
    assert(done != NULL && (watch == NULL || watch->func != NULL));
    if (!check_call(c, path, error))
        return false;
    return c->ops->children(c, path, watch, done, user_data, error);
}

bool rt_coord_multi(RtCoord *c, const RtCoordOp *ops, size_t n, RtCoordMultiFunc done,
                    void *user_data, GError **error) {
    assert(done != NULL && ops != NULL && n >= 1);
    if (!check_call(c, NULL, error))
        return false;
    if (n > RT_COORD_MULTI_MAX_OPS) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_BAD_ARGUMENTS,
                    "multi of %zu ops exceeds %u", n, RT_COORD_MULTI_MAX_OPS);
        return false;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const RtCoordOp *op = &ops[i];
        assert(op->type >= RT_COORD_OP_CHECK && op->type <= RT_COORD_OP_DELETE);
        assert(op->data != NULL || op->len == 0);
        assert(op->version >= RT_COORD_ANY_VERSION);
        assert((op->flags & ~(unsigned)(RT_COORD_EPHEMERAL | RT_COORD_SEQUENTIAL)) == 0);
        if (!check_call(c, op->path, error))
            return false;
        if ((op->type == RT_COORD_OP_CREATE || op->type == RT_COORD_OP_DELETE) &&
            !check_not_root(op->path, error))
            return false;
        total += op->len + strlen(op->path) + 64;
    }
    if (!check_size(total, error))
        return false;
    return c->ops->multi(c, ops, n, done, user_data, error);
}

RtCoordState rt_coord_state(RtCoord *c) {
    assert(c != NULL);
    return c->ops->state(c);
}

int64_t rt_coord_session_id(RtCoord *c) {
    assert(c != NULL);
    return c->ops->session_id(c);
}

uint64_t rt_coord_session_timeout_ns(RtCoord *c) {
    assert(c != NULL);
    return c->ops->session_timeout_ns(c);
}

const char *rt_coord_impl_name(RtCoord *c) {
    assert(c != NULL);
    return c->ops->name;
}

void rt_coord_free(RtCoord *c) {
    if (c == NULL)
        return;
    c->ops->free(c);
}

RtCoord *rt_coord_open(RtEnv *env, const RtCoordConfig *cfg, GError **error) {
    assert(env != NULL && cfg != NULL);
    if (env->coord_open == NULL) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_CONFIG,
                    "this world has no ZooKeeper (high-availability.zookeeper.quorum unset?)");
        return NULL;
    }
    if (!rt_coord_config_check(cfg, NULL, NULL, error))
        return NULL;
    RtCoord *c = env->coord_open(env, cfg, error);
    assert(c != NULL || error == NULL || *error != NULL);
    return c;
}
