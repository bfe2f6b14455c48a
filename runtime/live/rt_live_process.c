/* rt_live_process.c - the body of one live cluster process (rt_live_process_main in
 * rt_live_cluster.h): a GMainLoop running a job manager or a task manager on an
 * RtLiveEnv with POSIX storage, its observation events written as JSON lines to the
 * launcher's pipe, stopped by SIGTERM. */
#include <assert.h>
#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runtime/live/rt_live_cluster.h"
#include "runtime/live/rt_live_env.h"
#include "runtime/live/rt_live_events.h"
#include "runtime/live/rt_live_storage.h"

typedef struct PipeObserver {
    RtObserver base; /* first */
    int fd;
    GString *line;
    GMainLoop *loop;
    bool broken; /* the launcher is gone: stop */
} PipeObserver;

/* Writes the whole buffer; false when the pipe is closed. */
static bool write_all(int fd, const char *p, size_t len) {
    for (uint32_t guard = 0; len > 0 && guard < 1000000u; guard++) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return len == 0;
}

/* One write per event: a SIGKILL never leaves a buffered event behind. */
static void pipe_observe(RtObserver *self, const RtEvent *ev) {
    PipeObserver *po = (PipeObserver *)self;
    if (po->fd < 0 || po->broken)
        return;
    g_string_truncate(po->line, 0);
    rt_live_event_append_json(po->line, ev);
    if (!write_all(po->fd, po->line->str, po->line->len)) {
        po->broken = true;
        g_main_loop_quit(po->loop);
    }
}

static const RtObserverOps pipe_observer_ops = {pipe_observe};

static gboolean on_sigterm(gpointer data) {
    g_main_loop_quit(data);
    return G_SOURCE_CONTINUE;
}

bool rt_live_role_parse(const char *name, RtLiveRole *out) {
    if (g_strcmp0(name, "jobmanager") == 0)
        *out = RT_LIVE_ROLE_JOBMANAGER;
    else if (g_strcmp0(name, "worker") == 0)
        *out = RT_LIVE_ROLE_WORKER;
    else
        return false;
    return true;
}

typedef struct Proc {
    GMainContext *ctx;
    GMainLoop *loop;
    RtLiveStorage *storage;
    RtLiveEnv *live;
    RtJobManager *jm;
    RtTaskManager *tm;
    PipeObserver obs;
} Proc;

static bool proc_start(Proc *p, const RtLiveProcessConfig *pc, const RtJobSpec *spec,
                       GError **error) {
    RtLiveSecret secret;
    if (!rt_live_secret_read_fd(pc->secret_fd, &secret, error))
        return false;
    p->storage = rt_live_storage_new(p->ctx, pc->storage_root, error);
    if (p->storage == NULL)
        return false;
    p->live = rt_live_env_new(p->ctx, pc->process_id, pc->base_port, &secret, pc->seed,
                              rt_live_storage_get(p->storage), &p->obs.base, error);
    memset(&secret, 0, sizeof secret);
    if (p->live == NULL)
        return false;
    rt_live_env_set_origin_us(p->live, pc->origin_us);
    RtEnv *env = rt_live_env_get(p->live);
    env->bugs = pc->bugs;
    if (pc->role == RT_LIVE_ROLE_JOBMANAGER)
        p->jm = rt_jobmanager_new(env, spec, error);
    else
        p->tm = rt_taskmanager_new(env, spec, error);
    return p->jm != NULL || p->tm != NULL;
}

int rt_live_process_main(const RtLiveProcessConfig *pc, const RtJobSpec *spec) {
    assert(pc != NULL && spec != NULL && pc->storage_root != NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is an EPIPE error, handled */
    Proc p;
    memset(&p, 0, sizeof p);
    p.ctx = g_main_context_new();
    g_main_context_push_thread_default(p.ctx);
    p.loop = g_main_loop_new(p.ctx, FALSE);
    p.obs.base.ops = &pipe_observer_ops;
    p.obs.fd = pc->event_fd;
    p.obs.line = g_string_new(NULL);
    p.obs.loop = p.loop;
    GSource *term = g_unix_signal_source_new(SIGTERM);
    g_source_set_callback(term, on_sigterm, p.loop, NULL);
    g_source_attach(term, p.ctx);
    GError *e = NULL;
    int status = 0;
    if (proc_start(&p, pc, spec, &e)) {
        if (!p.obs.broken)
            g_main_loop_run(p.loop);
    } else {
        fprintf(stderr, "ckptsim live: %s %u could not start: %s\n",
                pc->role == RT_LIVE_ROLE_JOBMANAGER ? "job manager" : "worker", pc->process_id,
                e != NULL ? e->message : "unknown error");
        g_clear_error(&e);
        status = 2;
    }
    rt_jobmanager_free(p.jm);
    rt_taskmanager_free(p.tm);
    rt_live_env_free(p.live);
    rt_live_storage_free(p.storage);
    g_source_destroy(term);
    g_source_unref(term);
    g_string_free(p.obs.line, TRUE);
    g_main_loop_unref(p.loop);
    g_main_context_pop_thread_default(p.ctx);
    g_main_context_unref(p.ctx);
    return status;
}
