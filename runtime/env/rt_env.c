/* rt_env.c - the thin wrappers around RtEnv's ops tables: they assert the contract
 * and are the single place where calls into the world pass (tracing hooks live here). */
#include "runtime/env/rt_env.h"

#include <assert.h>
#include <string.h>

G_DEFINE_QUARK(rt-storage-error-quark, rt_storage_error)

RtTimerId rt_env_timer_start(RtEnv *env, uint64_t delay_ns, RtTimerFunc fn, void *user_data) {
    assert(env != NULL && fn != NULL);
    RtTimerId id = env->clock->ops->timer_start(env->clock, delay_ns, fn, user_data);
    assert(id != 0);
    return id;
}

bool rt_env_timer_cancel(RtEnv *env, RtTimerId id) {
    assert(env != NULL);
    if (id == 0)
        return false;
    return env->clock->ops->timer_cancel(env->clock, id);
}

void rt_env_rng(RtEnv *env, const char *stream_name, RtRng *rng) {
    assert(env != NULL && stream_name != NULL && rng != NULL);
    rt_rng_seed_stream(rng, env->seed, stream_name);
}

void rt_env_observe(RtEnv *env, RtEvent *ev) {
    assert(env != NULL && ev != NULL && ev->kind != RT_EV_NONE);
    if (env->observer == NULL)
        return;
    ev->process = env->process_id;
    ev->time_ns = rt_env_now_ns(env);
    env->observer->ops->event(env->observer, ev);
}

bool rt_env_listen(RtEnv *env, uint32_t port, RtAcceptFunc accept, void *user_data,
                   GError **error) {
    assert(env != NULL && accept != NULL);
    return env->transport->ops->listen(env->transport, port, accept, user_data, error);
}

void rt_env_unlisten(RtEnv *env, uint32_t port) {
    assert(env != NULL);
    env->transport->ops->unlisten(env->transport, port);
}

RtChannel *rt_env_connect(RtEnv *env, RtProcessId peer, uint32_t port,
                          const RtChannelHandler *handler, void *user_data, GError **error) {
    assert(env != NULL && handler != NULL && handler->on_message && handler->on_broken);
    return env->transport->ops->connect(env->transport, peer, port, handler, user_data, error);
}

void rt_channel_set_handler(RtChannel *ch, const RtChannelHandler *handler, void *user_data) {
    assert(ch != NULL && handler != NULL && handler->on_message && handler->on_broken);
    ch->transport->ops->set_handler(ch, handler, user_data);
}

bool rt_channel_send(RtChannel *ch, const void *data, size_t len) {
    assert(ch != NULL && (data != NULL || len == 0));
    return ch->transport->ops->send(ch, data, len);
}

void rt_channel_free(RtChannel *ch) {
    if (ch != NULL)
        ch->transport->ops->free(ch);
}

RtProcessId rt_channel_peer(RtChannel *ch) {
    assert(ch != NULL);
    return ch->transport->ops->peer(ch);
}

bool rt_storage_path_valid(const char *path) {
    if (path == NULL || path[0] == '\0' || path[0] == '/' || strlen(path) > 1024)
        return false;
    const char *part = path;
    for (const char *p = path;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t n = (size_t)(p - part);
            if (n == 0 || (n == 1 && part[0] == '.') || (n == 2 && part[0] == '.' && part[1] == '.'))
                return false;
            if (*p == '\0')
                return true;
            part = p + 1;
        } else if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-') {
            return false;
        }
    }
}

#define RT_STORAGE_CHECK(st, path)                                                        \
    do {                                                                                  \
        assert((st) != NULL);                                                             \
        if (!rt_storage_path_valid(path)) {                                               \
            g_set_error(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_INVALID,                \
                        "invalid storage path '%s'", (path) ? (path) : "(null)");         \
            return false;                                                                 \
        }                                                                                 \
    } while (0)

bool rt_storage_write(RtStorage *st, const char *path, const void *data, size_t len,
                      RtStorageDoneFunc done, void *user_data, GError **error) {
    RT_STORAGE_CHECK(st, path);
    assert(done != NULL && (data != NULL || len == 0));
    return st->ops->write(st, path, data, len, done, user_data, error);
}

bool rt_storage_fsync(RtStorage *st, const char *path, RtStorageDoneFunc done, void *user_data,
                      GError **error) {
    RT_STORAGE_CHECK(st, path);
    assert(done != NULL);
    return st->ops->fsync(st, path, done, user_data, error);
}

bool rt_storage_fsync_dir(RtStorage *st, const char *dir, RtStorageDoneFunc done,
                          void *user_data, GError **error) {
    RT_STORAGE_CHECK(st, dir);
    assert(done != NULL);
    return st->ops->fsync_dir(st, dir, done, user_data, error);
}

bool rt_storage_rename(RtStorage *st, const char *from, const char *to, RtStorageDoneFunc done,
                       void *user_data, GError **error) {
    RT_STORAGE_CHECK(st, from);
    RT_STORAGE_CHECK(st, to);
    assert(done != NULL);
    return st->ops->rename(st, from, to, done, user_data, error);
}

bool rt_storage_read(RtStorage *st, const char *path, RtStorageReadFunc done, void *user_data,
                     GError **error) {
    RT_STORAGE_CHECK(st, path);
    assert(done != NULL);
    return st->ops->read(st, path, done, user_data, error);
}

bool rt_storage_list(RtStorage *st, const char *dir, RtStorageListFunc done, void *user_data,
                     GError **error) {
    RT_STORAGE_CHECK(st, dir);
    assert(done != NULL);
    return st->ops->list(st, dir, done, user_data, error);
}

bool rt_storage_remove(RtStorage *st, const char *path, RtStorageDoneFunc done,
                       void *user_data, GError **error) {
    RT_STORAGE_CHECK(st, path);
    assert(done != NULL);
    return st->ops->remove(st, path, done, user_data, error);
}
