/* rt_ckpt_store.c - the shared base of completed-checkpoint stores and ID counters, and
 * their thin wrappers (rt_ckpt_store.h). */
#include "runtime/ha/rt_ckpt_store.h"

#include <assert.h>

G_DEFINE_QUARK(rt-ckpt-store-error-quark, rt_ckpt_store_error)

static void completed_free(gpointer p) {
    rt_completed_checkpoint_free(p);
}

void rt_ckpt_store_base_init(RtCkptStore *self, const RtCkptStoreOps *ops, RtEnv *env,
                             const char *job, uint32_t num_retained,
                             RtCkptDiscardFunc discard, void *discard_data) {
    assert(self != NULL && ops != NULL && env != NULL && job != NULL && num_retained >= 1);
    self->ops = ops;
    self->env = env;
    self->job = g_strdup(job);
    self->completed = g_ptr_array_new_with_free_func(completed_free);
    self->num_retained = num_retained;
    self->discard = discard;
    self->discard_data = discard_data;
}

void rt_ckpt_store_base_deinit(RtCkptStore *self) {
    if (self->completed != NULL)
        g_ptr_array_unref(self->completed);
    self->completed = NULL;
    g_free(self->job);
    self->job = NULL;
}

void rt_ckpt_store_base_append(RtCkptStore *self, RtCompletedCheckpoint *cp) {
    assert(cp != NULL);
    const RtCompletedCheckpoint *latest = rt_ckpt_store_latest(self);
    assert(latest == NULL || latest->checkpoint_id < cp->checkpoint_id);
    g_ptr_array_add(self->completed, cp);
}

RtCompletedCheckpoint *rt_ckpt_store_base_take_subsumed(RtCkptStore *self) {
    /* Never the latest: with num_retained >= 1, len > num_retained implies len >= 2. */
    if (self->completed->len <= self->num_retained)
        return NULL;
    RtCompletedCheckpoint *old = g_ptr_array_steal_index(self->completed, 0);
    RtEvent ev = {.kind = RT_EV_CKPT_SUBSUMED, .checkpoint_id = old->checkpoint_id};
    rt_env_observe(self->env, &ev);
    return old;
}

bool rt_ckpt_store_recover(RtCkptStore *store, RtCkptStoreDoneFunc done, void *user_data,
                           GError **error) {
    assert(store != NULL && done != NULL);
    return store->ops->recover(store, done, user_data, error);
}

bool rt_ckpt_store_add(RtCkptStore *store, RtCompletedCheckpoint *cp,
                       RtCkptStoreDoneFunc done, void *user_data, GError **error) {
    assert(store != NULL && cp != NULL && done != NULL);
    const RtCompletedCheckpoint *latest = rt_ckpt_store_latest(store);
    assert(latest == NULL || latest->checkpoint_id < cp->checkpoint_id);
    return store->ops->add(store, cp, done, user_data, error);
}

void rt_ckpt_store_free(RtCkptStore *store) {
    if (store != NULL)
        store->ops->free(store);
}

char *rt_ckpt_store_location(RtCkptStore *store, uint64_t checkpoint_id) {
    assert(store != NULL);
    return store->ops->location(store, checkpoint_id);
}

const char *rt_ckpt_store_job(const RtCkptStore *store) {
    assert(store != NULL);
    return store->job;
}

guint rt_ckpt_store_count(const RtCkptStore *store) {
    assert(store != NULL);
    return store->completed->len;
}

const RtCompletedCheckpoint *rt_ckpt_store_get(const RtCkptStore *store, guint i) {
    assert(store != NULL && i < store->completed->len);
    return g_ptr_array_index(store->completed, i);
}

const RtCompletedCheckpoint *rt_ckpt_store_latest(const RtCkptStore *store) {
    assert(store != NULL);
    if (store->completed->len == 0)
        return NULL;
    return g_ptr_array_index(store->completed, store->completed->len - 1);
}

bool rt_ckpt_id_counter_start(RtCkptIdCounter *c, RtCkptIdCounterStartFunc done,
                              void *user_data, GError **error) {
    assert(c != NULL && done != NULL);
    return c->ops->start(c, done, user_data, error);
}

bool rt_ckpt_id_counter_get_and_increment(RtCkptIdCounter *c, RtCkptIdFunc done,
                                          void *user_data, GError **error) {
    assert(c != NULL && done != NULL);
    return c->ops->get_and_increment(c, done, user_data, error);
}

void rt_ckpt_id_counter_set_floor(RtCkptIdCounter *c, uint64_t floor) {
    assert(c != NULL);
    if (floor > c->floor)
        c->floor = floor;
}

void rt_ckpt_id_counter_free(RtCkptIdCounter *c) {
    if (c != NULL)
        c->ops->free(c);
}
