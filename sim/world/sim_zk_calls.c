/* sim_zk_calls.c - the RtCoord interface of a simulated ZooKeeper handle: the calls
 * (create, get, exists, set, delete, children, multi) queue a Request and send it when
 * connected; state queries; free() closes the session (or leaves it to expire) and
 * releases the handle. The model is described in sim_zk.c. */
#include "sim/world/sim_zk.h"
#include "sim/world/sim_zk_internal.h"

#include <assert.h>
#include <string.h>

/* -------------------------------------------------------------- the calls */

static SimZkClient *as_client(RtCoord *self) {
    assert(self != NULL && self->ops == &sim_zk_coord_ops);
    return (SimZkClient *)self;
}

static Request *request_new(SimZkClient *c, ReqKind kind, const char *path) {
    Request *r = g_new0(Request, 1);
    r->id = ++c->zk->next_id;
    r->client_id = c->id;
    r->kind = kind;
    r->state = REQ_UNSENT;
    r->path = path ? sim_zk_full_path(c, path) : NULL;
    r->version = RT_COORD_ANY_VERSION;
    return r;
}

static void copy_data(uint8_t **dst, size_t *dst_len, const void *data, size_t len) {
    *dst = len ? g_memdup2(data, len) : NULL;
    *dst_len = len;
}

/* Queues r (and its watch); sends it now if connected. */
static bool submit(SimZkClient *c, Request *r, const RtCoordWatch *watch, GError **error) {
    SimZk *zk = c->zk;
    assert(sim_zk_client_alive(c) || c->dead);
    if (c->pending.length >= RT_COORD_PENDING_MAX) {
        g_set_error(error, RT_COORD_ERROR, RT_COORD_ERROR_TOO_BUSY, "%u ZooKeeper calls pending",
                    RT_COORD_PENDING_MAX);
        sim_zk_request_free(r);
        return false;
    }
    if (watch != NULL) {
        ClientWatch *w = g_new0(ClientWatch, 1);
        w->id = ++zk->next_id;
        w->watch = *watch;
        w->path = g_strdup(sim_zk_rel_path(c, r->path));
        g_tree_insert(c->watches, &w->id, w);
        r->watch_id = w->id;
    }
    g_hash_table_insert(zk->requests, &r->id, r);
    g_queue_push_tail(&c->pending, r);
    if (c->link_up)
        sim_zk_send_request(zk, c, r);
    return true;
}

static bool sim_create(RtCoord *self, const char *path, const void *data, size_t len,
                       unsigned flags, RtCoordCreateFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_CREATE, path);
    copy_data(&r->data, &r->len, data, len);
    r->flags = flags;
    r->cb.create = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static bool sim_get(RtCoord *self, const char *path, const RtCoordWatch *watch,
                    RtCoordDataFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_GET, path);
    r->cb.data = done;
    r->user_data = ud;
    return submit(c, r, watch, error);
}

static bool sim_exists(RtCoord *self, const char *path, const RtCoordWatch *watch,
                       RtCoordStatFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_EXISTS, path);
    r->cb.stat = done;
    r->user_data = ud;
    return submit(c, r, watch, error);
}

static bool sim_set(RtCoord *self, const char *path, const void *data, size_t len, int32_t version,
                    RtCoordStatFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_SET, path);
    copy_data(&r->data, &r->len, data, len);
    r->version = version;
    r->cb.stat = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static bool sim_delete(RtCoord *self, const char *path, int32_t version, RtCoordDoneFunc done,
                       void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_DELETE, path);
    r->version = version;
    r->cb.done = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static bool sim_children(RtCoord *self, const char *path, const RtCoordWatch *watch,
                         RtCoordChildrenFunc done, void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_CHILDREN, path);
    r->cb.children = done;
    r->user_data = ud;
    return submit(c, r, watch, error);
}

static bool sim_multi(RtCoord *self, const RtCoordOp *ops, size_t n, RtCoordMultiFunc done,
                      void *ud, GError **error) {
    SimZkClient *c = as_client(self);
    Request *r = request_new(c, REQ_MULTI, NULL);
    r->ops = g_new0(RtCoordOp, n);
    r->n_ops = n;
    for (size_t i = 0; i < n; i++) {
        r->ops[i] = ops[i];
        r->ops[i].path = sim_zk_full_path(c, ops[i].path);
        r->ops[i].data = ops[i].len ? g_memdup2(ops[i].data, ops[i].len) : NULL;
    }
    r->cb.multi = done;
    r->user_data = ud;
    return submit(c, r, NULL, error);
}

static RtCoordState sim_state(RtCoord *self) {
    return as_client(self)->state;
}

static int64_t sim_session_id(RtCoord *self) {
    return as_client(self)->session_id;
}

static uint64_t sim_session_timeout_ns(RtCoord *self) {
    return as_client(self)->timeout_ns;
}

static void ev_close_session(SimKernel *k, void *ctx, uint64_t payload) {
    (void)k;
    SimZk *zk = ctx;
    Session *s = sim_zk_session_get(zk, (int64_t)payload);
    if (s != NULL && s->alive && s->close_pending)
        sim_zk_session_end(zk, s, false);
}

void sim_zk_client_release(SimZk *zk, SimZkClient *c) {
    for (GList *l = c->pending.head; l != NULL; l = l->next) {
        Request *r = l->data;
        g_hash_table_remove(zk->requests, &r->id);
        sim_zk_request_free(r);
    }
    g_queue_clear(&c->pending);
    g_queue_clear(&c->parked);
    g_tree_destroy(c->watches);
    g_free(c->chroot);
    g_tree_remove(zk->clients, &c->id);
    g_free(c);
}

/* Closing: a close request reaches a live, reachable session's server after one network
 * hop; otherwise the session lingers until it expires. */
static void sim_free(RtCoord *self) {
    SimZkClient *c = as_client(self);
    SimZk *zk = c->zk;
    Session *s = sim_zk_session_get(zk, c->session_id);
    if (s != NULL && s->client_id == c->id) {
        s->client_id = 0;
        if (s->alive && !c->dead && c->link_up && !sim_zk_partitioned(zk, c)) {
            s->close_pending = true;
            s->close_pid = c->process;
            sim_kernel_schedule_in(zk->k, sim_zk_jittered(zk, zk->cfg.net_one_way_ns),
                                   ev_close_session, zk, (uint64_t)s->id);
        } else {
            sim_zk_session_silence(zk, s);
        }
    }
    sim_zk_client_release(zk, c);
}

const RtCoordOps sim_zk_coord_ops = {
    .name = "sim",
    .create = sim_create,
    .get = sim_get,
    .exists = sim_exists,
    .set = sim_set,
    .delete = sim_delete,
    .children = sim_children,
    .multi = sim_multi,
    .state = sim_state,
    .session_id = sim_session_id,
    .session_timeout_ns = sim_session_timeout_ns,
    .free = sim_free,
};
