/* rt_live_zk_reader.c - blocking znode reads on a private context (rt_live_zk_reader.h). */
#include "runtime/live/rt_live_zk_reader.h"

#include <assert.h>

#include "runtime/coord/rt_coord_zk.h"

struct RtLiveZkReader {
    GMainContext *ctx;
    RtCoord *coord;
};

typedef struct GetCall {
    bool done;
    GBytes *data; /* NULL when absent or failed */
} GetCall;

static gboolean flag_cb(gpointer data) {
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}

/* Iterates ctx until *done or timeout_ns passed. */
static void wait_for(GMainContext *ctx, const bool *done, uint64_t timeout_ns,
                     bool (*ready)(void *), void *ready_ud) {
    bool expired = false;
    GSource *t = g_timeout_source_new((guint)(timeout_ns / 1000000u));
    g_source_set_callback(t, flag_cb, &expired, NULL);
    g_source_attach(t, ctx);
    for (uint32_t guard = 0; guard < 10000000u && !expired; guard++) {
        if ((done != NULL && *done) || (ready != NULL && ready(ready_ud)))
            break;
        g_main_context_iteration(ctx, TRUE);
    }
    g_source_destroy(t);
    g_source_unref(t);
}

static bool not_connecting(void *ud) {
    return rt_coord_state(ud) != RT_COORD_CONNECTING;
}

RtLiveZkReader *rt_live_zk_reader_new(const char *connect_string, uint64_t timeout_ns,
                                      GError **error) {
    assert(connect_string != NULL);
    RtLiveZkReader *r = g_new0(RtLiveZkReader, 1);
    r->ctx = g_main_context_new();
    RtCoordConfig cfg;
    rt_coord_config_init(&cfg);
    cfg.connect_string = connect_string;
    cfg.connect_timeout_ns = timeout_ns;
    r->coord = rt_coord_zk_open(r->ctx, &cfg, error);
    if (r->coord != NULL) {
        wait_for(r->ctx, NULL, timeout_ns + 1000000000ull, not_connecting, r->coord);
        if (rt_coord_state(r->coord) == RT_COORD_CONNECTED)
            return r;
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_UNREACHABLE,
                    "ZooKeeper at '%s': no session (state %s)", connect_string,
                    rt_coord_state_name(rt_coord_state(r->coord)));
    }
    rt_live_zk_reader_free(r);
    return NULL;
}

void rt_live_zk_reader_free(RtLiveZkReader *r) {
    if (r == NULL)
        return;
    rt_coord_free(r->coord);
    for (uint32_t i = 0; i < 1000u && g_main_context_iteration(r->ctx, FALSE); i++)
        ; /* let the closed handle's queued completions go */
    g_main_context_unref(r->ctx);
    g_free(r);
}

static void get_done(RtCoord *coord, const void *data, size_t len, const RtCoordStat *stat,
                     GError *error, void *user_data) {
    GetCall *call = user_data;
    (void)coord;
    (void)stat;
    if (error == NULL)
        call->data = g_bytes_new(data, len);
    call->done = true;
}

GBytes *rt_live_zk_reader_get(RtLiveZkReader *r, const char *path) {
    assert(r != NULL && path != NULL);
    GetCall *call = g_new0(GetCall, 1);
    if (!rt_coord_get(r->coord, path, NULL, get_done, call, NULL)) {
        g_free(call);
        return NULL;
    }
    wait_for(r->ctx, &call->done, RT_LIVE_ZK_READER_CALL_TIMEOUT_NS, NULL, NULL);
    if (!call->done)
        return NULL; /* the call is still pending: call is leaked to it, a bounded loss */
    GBytes *data = call->data;
    g_free(call);
    return data;
}
