/* rt_live_cluster.c - the launcher of a live cluster (rt_live_cluster.h): checks the
 * run directory, ports and ZooKeeper, forks and execs one child per runtime process,
 * merges the children's event pipes into one time-ordered stream for the observer,
 * injects timed crashes and restarts with SIGKILL and re-exec, and stops everything at
 * the end. The child side is rt_live_process.c; the port and directory checks are in
 * rt_live_cluster_setup.c. */
#include "runtime/live/rt_live_cluster.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "runtime/live/rt_live_cluster_internal.h"
#include "runtime/live/rt_live_events.h"

G_DEFINE_QUARK(rt - live - cluster - error - quark, rt_live_cluster_error)

#define TICK_MS 10u
#define READS_PER_WAKEUP 16u
#define READ_CHUNK_BYTES 65536u
#define LOG_TAIL_BYTES 600
#define READY_WAIT_US 3000000 /* a job manager gets this long to start listening */
#define READY_POLL_US 2000

void rt_live_cluster_config_init(RtLiveClusterConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->n_jobmanagers = 1;
    cfg->n_workers = 1;
    cfg->time_limit_ns = 60000000000ull;
    cfg->drain_ns = 500000000ull;
    cfg->reorder_lag_ns = 50000000ull;
    cfg->zk_connect_timeout_ns = 5000000000ull;
}

void rt_live_cluster_result_clear(RtLiveClusterResult *r) {
    if (r == NULL)
        return;
    g_free(r->exit_message);
    memset(r, 0, sizeof *r);
}

uint64_t rt_live_cluster_now_ns(const RtLiveCluster *c) {
    if (c->origin_us == 0)
        return 0;
    return (uint64_t)(g_get_monotonic_time() - c->origin_us) * 1000u;
}

static GSource *add_timer(RtLiveCluster *c, uint64_t delay_ns, GSourceFunc fn, void *data) {
    uint64_t ms = (delay_ns + 999999u) / 1000000u;
    GSource *s = g_timeout_source_new(ms > G_MAXUINT ? G_MAXUINT : (guint)ms);
    g_source_set_callback(s, fn, data, NULL);
    g_source_attach(s, c->ctx);
    return s;
}

static void drop_source(GSource **s) {
    if (*s == NULL)
        return;
    g_source_destroy(*s);
    g_source_unref(*s);
    *s = NULL;
}

/* ------------------------------------------------------------------ events */

static void pending_push(RtLiveCluster *c, const RtEvent *ev, char *detail_owned) {
    if (c->pending->len >= RT_LIVE_CLUSTER_MAX_PENDING_EVENTS) {
        g_free(detail_owned); /* the observer is far behind: a bound, counted */
        c->res.bad_lines++;
        return;
    }
    LiveEvent le = {*ev, detail_owned, c->next_seq++};
    le.ev.detail = detail_owned;
    g_array_append_val(c->pending, le);
}

/* An event of the launcher itself (an injected fault), at the current time. */
static void inject(RtLiveCluster *c, RtEventKind kind, RtProcessId pid, const char *detail) {
    RtEvent ev = {.kind = kind, .process = pid, .time_ns = rt_live_cluster_now_ns(c)};
    pending_push(c, &ev, detail != NULL ? g_strdup(detail) : NULL);
}

static gint live_event_cmp(gconstpointer pa, gconstpointer pb) {
    const LiveEvent *a = pa, *b = pb;
    if (a->ev.time_ns != b->ev.time_ns)
        return a->ev.time_ns < b->ev.time_ns ? -1 : 1;
    if (a->ev.process != b->ev.process)
        return a->ev.process < b->ev.process ? -1 : 1;
    return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

/* Delivers, in order, every pending event at or before watermark_ns. */
static void deliver(RtLiveCluster *c, uint64_t watermark_ns) {
    if (c->pending->len == 0)
        return;
    g_array_sort(c->pending, live_event_cmp);
    guint n = 0;
    GString *line = g_string_new(NULL);
    for (; n < c->pending->len; n++) {
        LiveEvent *le = &g_array_index(c->pending, LiveEvent, n);
        if (le->ev.time_ns > watermark_ns)
            break;
        if (le->ev.time_ns < c->last_delivered_ns) {
            le->ev.time_ns = c->last_delivered_ns;
            c->res.late_events++;
        }
        c->last_delivered_ns = le->ev.time_ns;
        c->res.events++;
        if (c->observer != NULL)
            c->observer->ops->event(c->observer, &le->ev);
        if (c->events_file != NULL) {
            g_string_truncate(line, 0);
            rt_live_event_append_json(line, &le->ev);
            fwrite(line->str, 1, line->len, c->events_file);
        }
        g_free(le->detail);
    }
    g_string_free(line, TRUE);
    g_array_remove_range(c->pending, 0, n);
}

static gboolean tick_cb(gpointer data) {
    RtLiveCluster *c = data;
    uint64_t now = rt_live_cluster_now_ns(c);
    deliver(c, now > c->cfg.reorder_lag_ns ? now - c->cfg.reorder_lag_ns : 0);
    return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ readers */

static void maybe_quit(RtLiveCluster *c) {
    if (!c->stopping)
        return;
    for (uint32_t i = 0; i < c->n_procs; i++)
        if (c->procs[i].pid != 0)
            return;
    if (c->readers->len > 0)
        return;
    g_main_loop_quit(c->loop);
}

static gboolean drain_done_cb(gpointer data);

static void on_line(RtLiveCluster *c, const char *line) {
    RtEvent ev;
    char *detail = NULL;
    if (!rt_live_event_parse_json(line, &ev, &detail)) {
        c->res.bad_lines++;
        return;
    }
    if (c->arrival != NULL)
        c->arrival->ops->event(c->arrival, &ev);
    if (ev.kind == RT_EV_JOB_FINISHED && !c->res.job_finished) {
        c->res.job_finished = true;
        if (!c->stopping)
            c->drain_src = add_timer(c, c->cfg.drain_ns, drain_done_cb, c);
    }
    pending_push(c, &ev, detail);
}

static void reader_lines(Reader *r) {
    char *start = r->buf->str, *nl;
    while ((nl = memchr(start, '\n', r->buf->len - (gsize)(start - r->buf->str))) != NULL) {
        *nl = '\0';
        on_line(r->c, start);
        start = nl + 1;
    }
    g_string_erase(r->buf, 0, start - r->buf->str);
    if (r->buf->len > RT_LIVE_EVENT_MAX_LINE_BYTES) { /* no newline in sight: garbage */
        r->c->res.bad_lines++;
        g_string_truncate(r->buf, 0);
    }
}

static void reader_close(Reader *r) {
    RtLiveCluster *c = r->c;
    drop_source(&r->src);
    close(r->fd);
    if (r->buf->len > 0)
        c->res.bad_lines++; /* a torn last line */
    g_string_free(r->buf, TRUE);
    g_ptr_array_remove(c->readers, r);
    g_free(r);
    maybe_quit(c);
}

static gboolean reader_cb(gint fd, GIOCondition cond, gpointer data) {
    Reader *r = data;
    char chunk[READ_CHUNK_BYTES];
    (void)cond;
    for (uint32_t i = 0; i < READS_PER_WAKEUP; i++) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n > 0) {
            g_string_append_len(r->buf, chunk, n);
            reader_lines(r);
            continue;
        }
        if (n < 0 && (errno == EINTR))
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return G_SOURCE_CONTINUE;
        g_source_unref(r->src); /* EOF or error: the source is removed by returning */
        r->src = NULL;
        reader_close(r);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static void reader_add(RtLiveCluster *c, RtProcessId pid, int fd) {
    Reader *r = g_new0(Reader, 1);
    r->c = c;
    r->pid = pid;
    r->fd = fd;
    r->buf = g_string_new(NULL);
    g_unix_set_fd_nonblocking(fd, TRUE, NULL);
    r->src = g_unix_fd_source_new(fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
    g_source_set_callback(r->src, (GSourceFunc)(void (*)(void))reader_cb, r, NULL);
    g_source_attach(r->src, c->ctx);
    g_ptr_array_add(c->readers, r);
}

/* ------------------------------------------------------------------ processes */

static void begin_stop(RtLiveCluster *c, const char *reason);
static bool proc_spawn(Proc *p, GError **error);

static char *log_tail(const char *path) {
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
        return g_strdup("(no log)");
    gsize from = len > LOG_TAIL_BYTES ? len - LOG_TAIL_BYTES : 0;
    char *tail = g_strstrip(g_strdup(text + from));
    g_free(text);
    return tail;
}

static void on_unexpected_exit(Proc *p, int status) {
    RtLiveCluster *c = p->c;
    if (c->res.unexpected_exit)
        return;
    c->res.unexpected_exit = true;
    c->res.exit_status = WIFEXITED(status)     ? WEXITSTATUS(status)
                         : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                               : 255;
    char *tail = log_tail(p->log_path);
    c->res.exit_message = g_strdup_printf(
        "%s exited on its own with %s %d (log %s): %s", p->name,
        WIFSIGNALED(status) ? "signal" : "status",
        WIFSIGNALED(status) ? WTERMSIG(status) : c->res.exit_status, p->log_path, tail);
    g_free(tail);
    begin_stop(c, "process exited");
}

static void child_exit_cb(GPid pid, gint status, gpointer data) {
    Proc *p = data;
    (void)pid;
    g_spawn_close_pid(p->pid);
    p->pid = 0;
    g_source_unref(p->watch);
    p->watch = NULL;
    bool expected = p->killing || p->c->stopping;
    p->killing = false;
    if (!expected)
        on_unexpected_exit(p, status);
    if (p->restart_when_reaped && !p->c->stopping) {
        p->restart_when_reaped = false;
        GError *e = NULL;
        if (!proc_spawn(p, &e)) {
            p->c->res.unexpected_exit = true;
            p->c->res.exit_message = g_strdup(e->message);
            g_error_free(e);
            begin_stop(p->c, "process exited");
        }
    }
    maybe_quit(p->c);
}

/* A copy of fd at a number >= 10, close-on-exec; the original is closed. */
static int move_high(int fd) {
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return hi;
}

/* The child's argv: exe, the host's args, the child-mode options. */
static char **child_argv(Proc *p) {
    RtLiveCluster *c = p->c;
    GPtrArray *a = g_ptr_array_new();
    g_ptr_array_add(a, g_strdup(c->exe));
    for (char **s = c->child_args; *s != NULL; s++)
        g_ptr_array_add(a, g_strdup(*s));
    g_ptr_array_add(a, g_strdup("--role"));
    g_ptr_array_add(a, g_strdup(p->role == RT_LIVE_ROLE_JOBMANAGER ? "jobmanager" : "worker"));
    g_ptr_array_add(a, g_strdup_printf("--id=%u", p->id));
    g_ptr_array_add(a, g_strdup("--event-fd=3"));
    g_ptr_array_add(a, g_strdup("--secret-fd=4"));
    g_ptr_array_add(a, g_strdup_printf("--origin-us=%" G_GINT64_FORMAT, c->origin_us));
    g_ptr_array_add(a, g_strdup_printf("--base-port=%u", c->base_port));
    g_ptr_array_add(a, g_strdup_printf("--storage=%s", c->storage_root));
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, FALSE);
}

/* Between fork and exec: async-signal-safe calls only. */
static void G_GNUC_NORETURN child_exec(pid_t parent, int wfd, int sfd, int logfd,
                                       char **argv) {
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the launcher */
#endif
    if (getppid() != parent)
        _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(wfd, 3) < 0 || dup2(sfd, 4) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
        _exit(127);
    execv(argv[0], argv);
    _exit(127);
}

/* A pipe holding the run's secret, its write end closed: the read end (close-on-exec,
 * >= 10) or -1. 32 bytes fit any pipe buffer, so the write never blocks. */
static int secret_pipe(const RtLiveCluster *c) {
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    ssize_t n = write(fds[1], c->secret.key, sizeof c->secret.key);
    close(fds[1]);
    if (n != (ssize_t)sizeof c->secret.key) {
        close(fds[0]);
        return -1;
    }
    return move_high(fds[0]);
}

static bool proc_spawn(Proc *p, GError **error) {
    RtLiveCluster *c = p->c;
    int fds[2];
    if (pipe(fds) != 0) { /* made close-on-exec by move_high */
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_SPAWN, "pipe for %s: %s",
                    p->name, g_strerror(errno));
        return false;
    }
    int rfd = move_high(fds[0]), wfd = move_high(fds[1]);
    int sfd = secret_pipe(c);
    int logfd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd >= 0)
        logfd = move_high(logfd);
    char **argv = child_argv(p);
    pid_t parent = getpid();
    pid_t pid = (rfd < 0 || wfd < 0 || sfd < 0 || logfd < 0) ? -1 : fork();
    if (pid == 0)
        child_exec(parent, wfd, sfd, logfd, argv);
    int saved = errno;
    g_strfreev(argv);
    if (sfd >= 0)
        close(sfd);
    if (wfd >= 0)
        close(wfd);
    if (logfd >= 0)
        close(logfd);
    if (pid < 0) {
        if (rfd >= 0)
            close(rfd);
        g_set_error(error, RT_LIVE_CLUSTER_ERROR, RT_LIVE_CLUSTER_ERROR_SPAWN,
                    "cannot start %s (log %s): %s", p->name, p->log_path, g_strerror(saved));
        return false;
    }
    p->pid = pid;
    p->incarnation++;
    reader_add(c, p->id, rfd);
    p->watch = g_child_watch_source_new(pid);
    g_source_set_callback(p->watch, (GSourceFunc)(void (*)(void))child_exit_cb, p, NULL);
    g_source_attach(p->watch, c->ctx);
    return true;
}

/* ------------------------------------------------------------------ faults */

static gboolean fault_cb(gpointer data);

static Fault *fault_add(RtLiveCluster *c, uint64_t at_ns, RtProcessId pid, bool crash,
                        uint64_t restart_after_ns, const char *description) {
    if (pid >= c->n_procs || c->faults->len >= RT_LIVE_CLUSTER_MAX_FAULTS)
        return NULL;
    Fault *f = g_new0(Fault, 1);
    f->c = c;
    f->at_ns = at_ns;
    f->pid = pid;
    f->crash = crash;
    f->restart_after_ns = restart_after_ns;
    f->description = g_strdup(description);
    g_ptr_array_add(c->faults, f);
    if (c->running && !c->stopping) {
        uint64_t now = rt_live_cluster_now_ns(c);
        f->src = add_timer(c, at_ns > now ? at_ns - now : 0, fault_cb, f);
    }
    return f;
}

static void fault_free(gpointer data) {
    Fault *f = data;
    drop_source(&f->src);
    g_free(f->description);
    g_free(f);
}

static void fault_crash(RtLiveCluster *c, const Fault *f, Proc *p) {
    if (p->pid == 0 || p->killing)
        return; /* already down */
    if (f->description != NULL)
        inject(c, RT_EV_WORLD_FAULT, p->id, f->description);
    kill(p->pid, SIGKILL);
    p->killing = true;
    inject(c, RT_EV_WORLD_CRASH, p->id, NULL);
    c->res.crashes++;
    if (f->restart_after_ns > 0)
        fault_add(c, rt_live_cluster_now_ns(c) + f->restart_after_ns, p->id, false, 0, NULL);
}

static void fault_restart(RtLiveCluster *c, const Fault *f, Proc *p) {
    if (p->pid != 0) {
        if (p->killing)
            p->restart_when_reaped = true; /* the port is free once it is reaped */
        return;
    }
    if (f->description != NULL)
        inject(c, RT_EV_WORLD_FAULT, p->id, f->description);
    GError *e = NULL;
    if (!proc_spawn(p, &e)) {
        c->res.unexpected_exit = true;
        c->res.exit_message = g_strdup(e->message);
        g_error_free(e);
        begin_stop(c, "process exited");
        return;
    }
    inject(c, RT_EV_WORLD_RESTART, p->id, NULL);
    c->res.restarts++;
}

static gboolean fault_cb(gpointer data) {
    Fault *f = data;
    RtLiveCluster *c = f->c;
    g_source_unref(f->src);
    f->src = NULL;
    if (c->stopping)
        return G_SOURCE_REMOVE;
    Proc *p = &c->procs[f->pid];
    if (f->crash)
        fault_crash(c, f, p);
    else
        fault_restart(c, f, p);
    return G_SOURCE_REMOVE;
}

bool rt_live_cluster_crash_at(RtLiveCluster *c, uint64_t at_ns, RtProcessId pid,
                              uint64_t restart_after_ns, const char *description) {
    assert(c != NULL);
    return fault_add(c, at_ns, pid, true, restart_after_ns, description) != NULL;
}

bool rt_live_cluster_restart_at(RtLiveCluster *c, uint64_t at_ns, RtProcessId pid,
                                const char *description) {
    assert(c != NULL);
    return fault_add(c, at_ns, pid, false, 0, description) != NULL;
}

/* ------------------------------------------------------------------ stop */

static gboolean hard_deadline_cb(gpointer data) {
    RtLiveCluster *c = data;
    g_source_unref(c->deadline_src);
    c->deadline_src = NULL;
    g_main_loop_quit(c->loop); /* pipes still open (a grandchild?): give up on them */
    return G_SOURCE_REMOVE;
}

static gboolean grace_cb(gpointer data) {
    RtLiveCluster *c = data;
    g_source_unref(c->grace_src);
    c->grace_src = NULL;
    for (uint32_t i = 0; i < c->n_procs; i++)
        if (c->procs[i].pid != 0)
            kill(c->procs[i].pid, SIGKILL);
    c->deadline_src = add_timer(c, 2000000000ull, hard_deadline_cb, c);
    return G_SOURCE_REMOVE;
}

static void begin_stop(RtLiveCluster *c, const char *reason) {
    if (c->stopping)
        return;
    c->stopping = true;
    c->res.end_reason = reason;
    c->res.end_time_ns = rt_live_cluster_now_ns(c);
    for (guint i = 0; i < c->faults->len; i++)
        drop_source(&((Fault *)g_ptr_array_index(c->faults, i))->src);
    for (uint32_t i = 0; i < c->n_procs; i++) {
        Proc *p = &c->procs[i];
        p->restart_when_reaped = false;
        if (p->pid != 0 && !p->killing)
            kill(p->pid, SIGTERM);
    }
    c->grace_src = add_timer(c, RT_LIVE_CLUSTER_STOP_GRACE_NS, grace_cb, c);
    maybe_quit(c);
}

static gboolean drain_done_cb(gpointer data) {
    RtLiveCluster *c = data;
    g_source_unref(c->drain_src);
    c->drain_src = NULL;
    begin_stop(c, "job finished");
    return G_SOURCE_REMOVE;
}

static gboolean limit_cb(gpointer data) {
    RtLiveCluster *c = data;
    g_source_unref(c->limit_src);
    c->limit_src = NULL;
    begin_stop(c, "time limit");
    return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ run */

/* True if something accepts TCP connections on 127.0.0.1:port (loopback: the answer is
 * immediate, accepted or refused). */
static bool port_accepts(uint32_t port) {
    GSocket *s =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
    if (s == NULL)
        return false;
    GInetAddress *ia = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress *sa = g_inet_socket_address_new(ia, (guint16)port);
    bool ok = g_socket_connect(s, sa, NULL, NULL);
    g_object_unref(sa);
    g_object_unref(ia);
    g_socket_close(s, NULL);
    g_object_unref(s);
    return ok;
}

/* Waits (bounded) until job manager i listens, so that the workers' first registration
 * succeeds instead of waiting for their retry timer. Iterates the loop meanwhile: a job
 * manager that exits at once ends the wait (and the run). */
static void wait_listening(RtLiveCluster *c, uint32_t i) {
    int64_t deadline_us = g_get_monotonic_time() + READY_WAIT_US;
    while (!c->stopping && c->procs[i].pid != 0 && g_get_monotonic_time() < deadline_us &&
           !port_accepts((uint32_t)c->base_port + i)) {
        g_usleep(READY_POLL_US);
        for (uint32_t k = 0; k < 64u && g_main_context_iteration(c->ctx, FALSE); k++)
            ;
    }
}

static bool start_all(RtLiveCluster *c, GError **error) {
    for (uint32_t i = 0; i < c->n_procs && !c->stopping; i++) {
        if (i == c->n_jobmanagers) /* job managers first: workers register with them */
            for (uint32_t j = 0; j < c->n_jobmanagers; j++)
                wait_listening(c, j);
        if (!c->stopping && !proc_spawn(&c->procs[i], error)) {
            begin_stop(c, "process exited");
            return false;
        }
    }
    for (guint i = 0; i < c->faults->len; i++) {
        Fault *f = g_ptr_array_index(c->faults, i);
        uint64_t now = rt_live_cluster_now_ns(c);
        f->src = add_timer(c, f->at_ns > now ? f->at_ns - now : 0, fault_cb, f);
    }
    return true;
}

bool rt_live_cluster_run(RtLiveCluster *c, RtLiveClusterResult *out, GError **error) {
    assert(c != NULL && out != NULL && !c->ran);
    memset(out, 0, sizeof *out);
    c->ran = true;
    char *events_path = g_build_filename(c->dir, "events.jsonl", NULL);
    c->events_file = fopen(events_path, "w");
    g_free(events_path);
    c->origin_us = g_get_monotonic_time();
    c->running = true;
    bool started = start_all(c, error);
    c->tick_src = add_timer(c, (uint64_t)TICK_MS * 1000000u, tick_cb, c);
    c->limit_src = add_timer(c, c->cfg.time_limit_ns, limit_cb, c);
    g_main_loop_run(c->loop);
    c->running = false;
    deliver(c, UINT64_MAX);
    if (c->events_file != NULL)
        fclose(c->events_file);
    c->events_file = NULL;
    *out = c->res;
    memset(&c->res, 0, sizeof c->res);
    if (!started) {
        rt_live_cluster_result_clear(out);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ lifecycle */

RtLiveCluster *rt_live_cluster_alloc(const RtLiveClusterConfig *cfg, RtObserver *observer) {
    RtLiveCluster *c = g_new0(RtLiveCluster, 1);
    c->cfg = *cfg;
    c->child_args = g_strdupv((char **)cfg->child_args);
    c->dir = g_strdup(cfg->dir);
    c->cfg.child_args = NULL;
    c->cfg.dir = NULL;
    c->cfg.zk_quorum = NULL; /* only used by setup, before this returns */
    c->observer = observer;
    c->arrival = cfg->arrival;
    c->ctx = g_main_context_new();
    c->loop = g_main_loop_new(c->ctx, FALSE);
    c->readers = g_ptr_array_new();
    c->faults = g_ptr_array_new_with_free_func(fault_free);
    c->pending = g_array_new(FALSE, TRUE, sizeof(LiveEvent));
    c->n_procs = cfg->n_jobmanagers + cfg->n_workers;
    c->n_jobmanagers = cfg->n_jobmanagers;
    assert(c->n_procs <= RT_CLUSTER_MAX_PROCESSES);
    for (uint32_t i = 0; i < c->n_procs; i++) {
        Proc *p = &c->procs[i];
        p->c = c;
        p->id = i;
        p->role = i < cfg->n_jobmanagers ? RT_LIVE_ROLE_JOBMANAGER : RT_LIVE_ROLE_WORKER;
        p->name = p->role == RT_LIVE_ROLE_JOBMANAGER
                      ? g_strdup_printf("jobmanager-%u", i + 1)
                      : g_strdup_printf("worker-%u", i - cfg->n_jobmanagers + 1);
    }
    return c;
}

void rt_live_cluster_free(RtLiveCluster *c) {
    if (c == NULL)
        return;
    for (uint32_t i = 0; i < c->n_procs; i++) {
        Proc *p = &c->procs[i];
        if (p->pid != 0) { /* run not called, or gave up: do not leave orphans */
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
        drop_source(&p->watch);
        g_free(p->name);
        g_free(p->log_path);
    }
    while (c->readers->len > 0)
        reader_close(g_ptr_array_index(c->readers, c->readers->len - 1));
    g_ptr_array_unref(c->readers);
    g_ptr_array_unref(c->faults);
    for (guint i = 0; i < c->pending->len; i++)
        g_free(g_array_index(c->pending, LiveEvent, i).detail);
    g_array_unref(c->pending);
    drop_source(&c->tick_src);
    drop_source(&c->limit_src);
    drop_source(&c->drain_src);
    drop_source(&c->grace_src);
    drop_source(&c->deadline_src);
    g_main_loop_unref(c->loop);
    g_main_context_unref(c->ctx);
    g_strfreev(c->child_args);
    g_free(c->dir);
    g_free(c->storage_root);
    g_free(c->logs_dir);
    g_free(c->exe);
    rt_live_cluster_result_clear(&c->res);
    memset(&c->secret, 0, sizeof c->secret);
    g_free(c);
}

uint16_t rt_live_cluster_base_port(const RtLiveCluster *c) {
    return c->base_port;
}

const char *rt_live_cluster_storage_root(const RtLiveCluster *c) {
    return c->storage_root;
}
