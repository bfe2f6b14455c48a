/* sim_sweep.c - the process pool of `ckptsim sweep` (and of sim_sweep_execute).
 *
 * Every run executes in its own forked process (no static state can leak from one seed
 * into the next, and a run that dies on an assertion is reported as a "crash" of that
 * seed instead of killing the sweep); --jobs N runs N of them at once. Results are
 * printed strictly in work-list order, so the output is the same bytes with and without
 * --jobs. An interruptible sweep (the command) catches SIGINT and SIGTERM: the children
 * ignore them (a Ctrl-C reaches the whole process group), the parent stops spawning,
 * kills the running children and reports what finished. This file may read the wall
 * clock (tests/tidy.sh allows sim/harness/sim_sweep*).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A sanitizer build checks every run for leaks: _exit() skips LeakSanitizer's
 * exit-time check, so the child runs it itself (see child_main). */
#if defined(__SANITIZE_ADDRESS__)
#define SWEEP_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SWEEP_LEAK_CHECK 1
#endif
#endif
#ifdef SWEEP_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif
#define SWEEP_LEAK_STATUS 23 /* LeakSanitizer's own exit status for a leak */
#define SWEEP_POLL_MS 100    /* wake-ups for the progress line and a signal */

#include "runtime/env/rt_bytes.h"
#include "sim/harness/sim_cli_json.h"
#include "sim/harness/sim_sweep.h"
#include "sim/harness/sim_sweep_internal.h"
#include "sim/sim_commands.h"

static volatile sig_atomic_t caught_signal;
static struct sigaction saved_int, saved_term;

static void on_signal(int sig) {
    caught_signal = sig;
}

void sim_sweep_catch_signals(bool on) {
    if (on) {
        caught_signal = 0;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: poll() returns; a 2nd Ctrl-C kills */
        sigaction(SIGINT, &sa, &saved_int);
        sigaction(SIGTERM, &sa, &saved_term);
    } else {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGTERM, &saved_term, NULL);
    }
}

int sim_sweep_caught_signal(void) {
    return (int)caught_signal;
}

uint64_t sim_sweep_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sim_sweep_make_job(const Sweep *sw, size_t item, SimCliJob *job) {
    if (sw->given != NULL) {
        *job = sw->given[item];
        return;
    }
    const SweepItem *it = &sw->items[item];
    *job = (SimCliJob){sw->files[it->scenario], sw->scenarios[it->scenario], sw->sets,
                       sw->bugs, sw->mask, it->seed, false, NULL, 0, sw->out_dir, false, true};
}

/* ------------------------------------------------------------------ wire format */

static void put_str(GByteArray *b, const char *s) {
    size_t len = s ? strlen(s) : 0;
    rt_bytes_put_u64(b, len);
    g_byte_array_append(b, (const guint8 *)(s ? s : ""), (guint)len);
}

/* A new copy of a length-prefixed string, or NULL with r failed. */
static char *get_str(RtBytesReader *r) {
    uint64_t len = rt_bytes_get_u64(r, "string length");
    const char *p = (const char *)rt_bytes_get_span(r, (size_t)len, "string");
    return p != NULL ? g_strndup(p, (gsize)len) : NULL;
}

static bool decode_outcome(const GByteArray *b, SimCliOutcome *o) {
    RtBytesReader r;
    rt_bytes_reader_init(&r, b->data, b->len);
    memset(o, 0, sizeof *o);
    o->status = (int)rt_bytes_get_u64(&r, "status");
    o->trace_hash = rt_bytes_get_u64(&r, "trace hash");
    o->json = get_str(&r);
    o->human = get_str(&r);
    o->invariants = get_str(&r);
    o->message = get_str(&r);
    bool ok = rt_bytes_reader_ok(&r) && rt_bytes_reader_left(&r) == 0;
    if (!ok)
        sim_cli_outcome_clear(o);
    return ok;
}

/* The child: run one item, write the framed outcome to fd, exit without stdio. */
static G_GNUC_NORETURN void child_main(const Sweep *sw, size_t item, int fd) {
    if (sw->interruptible) { /* the parent decides what a Ctrl-C does to this run */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
    }
    SimCliJob job;
    sim_sweep_make_job(sw, item, &job);
    char *run_dir = NULL;
    if (sw->metrics_dir != NULL && sw->given == NULL) {
        /* DIR/NAME/seed-N, NAME the scenario file's name without ".ini": the run's
         * metrics, trace and (on a violation) capsule, as `ckptsim run --out` writes. */
        char *base = g_path_get_basename(job.file);
        if (g_str_has_suffix(base, ".ini"))
            base[strlen(base) - 4] = '\0';
        char seed_dir[32];
        g_snprintf(seed_dir, sizeof seed_dir, "seed-%" PRIu64, job.seed);
        run_dir = g_build_filename(sw->metrics_dir, base, seed_dir, NULL);
        g_free(base);
        job.out_dir = run_dir;
        job.metrics = true;
    }
    SimCliOutcome o;
    sim_cli_execute(&job, &o);
    g_free(run_dir);
#ifdef SWEEP_LEAK_CHECK
    /* A run that leaks fails (reported as a crash of its seed); a no-op when
     * ASAN_OPTIONS has detect_leaks=0. The outcome is still reachable here. */
    if (__lsan_do_recoverable_leak_check() != 0)
        _exit(SWEEP_LEAK_STATUS);
#endif
    GByteArray *b = g_byte_array_new();
    rt_bytes_put_u64(b, (uint64_t)o.status);
    rt_bytes_put_u64(b, o.trace_hash);
    put_str(b, o.json);
    put_str(b, o.human);
    put_str(b, o.invariants);
    put_str(b, o.message);
    for (size_t off = 0; off < b->len;) {
        ssize_t n = write(fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            _exit(3);
        off += (size_t)n;
    }
    _exit(0);
}

/* A run whose process died (assertion, signal) or reported garbage. */
static void crash_outcome(const Sweep *sw, size_t item, int wstatus, SimCliOutcome *o) {
    SimCliJob job;
    sim_sweep_make_job(sw, item, &job);
    char *replay = sim_cli_replay_command(&job);
    char *why = WIFSIGNALED(wstatus)
                    ? g_strdup_printf("the run died with signal %d (%s; see stderr)",
                                      WTERMSIG(wstatus),
                                      WTERMSIG(wstatus) == SIGABRT ? "an assertion failed"
                                                                   : "a crash")
                : WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == SWEEP_LEAK_STATUS
                    ? g_strdup("the run leaked memory (LeakSanitizer's report is on stderr)")
                    : g_strdup_printf("the run exited with status %d without a result",
                                      WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    memset(o, 0, sizeof *o);
    o->status = SIM_EXIT_VIOLATION;
    o->invariants = g_strdup("crash");
    o->human = g_strdup_printf("%s seed %" PRIu64 ": CRASH - %s\n  seed %" PRIu64
                               "; replay with:\n    %s\n",
                               job.scenario->name, job.seed, why, job.seed, replay);
    o->json = sim_cli_crash_json(&job, why, replay);
    o->message = why;
    g_free(replay);
}

/* ------------------------------------------------------------------ the pool */

static bool spawn(Sweep *sw) {
    int fds[2];
    if (pipe(fds) != 0) {
        perror("ckptsim sweep: pipe");
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("ckptsim sweep: fork");
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    size_t item = sw->next_item++;
    if (pid == 0) {
        close(fds[0]);
        for (uint32_t i = 0; i < sw->n_running; i++)
            close(sw->running[i].fd);
        child_main(sw, item, fds[1]);
    }
    close(fds[1]);
    sw->running[sw->n_running++] =
        (SweepRunning){pid, fds[0], item, sim_sweep_wall_ns(), g_byte_array_new()};
    return true;
}

static void reap(Sweep *sw, uint32_t r) {
    SweepRunning *run = &sw->running[r];
    int wstatus = 0;
    while (waitpid(run->pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    close(run->fd);
    SimCliOutcome *o = g_new0(SimCliOutcome, 1);
    if (!(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && decode_outcome(run->buf, o)))
        crash_outcome(sw, run->item, wstatus, o);
    sw->results[run->item] = o;
    if (sw->run_s != NULL)
        sw->run_s[run->item] = (double)(sim_sweep_wall_ns() - run->started_ns) / 1e9;
    sw->done++;
    if (o->status == SIM_EXIT_VIOLATION)
        sw->done_violations++;
    g_byte_array_free(run->buf, TRUE);
    sw->running[r] = sw->running[--sw->n_running];
}

/* Waits (a little) for output of any running child; reaps those that finished. */
static void pump(Sweep *sw) {
    struct pollfd pfd[SWEEP_MAX_JOBS];
    for (uint32_t i = 0; i < sw->n_running; i++)
        pfd[i] = (struct pollfd){sw->running[i].fd, POLLIN, 0};
    int n = poll(pfd, sw->n_running, SWEEP_POLL_MS);
    if (n <= 0)
        return; /* timeout or EINTR: the caller looks at the clock and the signals */
    uint8_t chunk[65536];
    for (uint32_t i = sw->n_running; i-- > 0;) {
        if (pfd[i].revents == 0)
            continue;
        ssize_t got = read(sw->running[i].fd, chunk, sizeof chunk);
        if (got > 0 && sw->running[i].buf->len < SWEEP_MAX_OUTPUT)
            g_byte_array_append(sw->running[i].buf, chunk, (guint)got);
        else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
            reap(sw, i);
    }
}

static void kill_all(Sweep *sw) {
    for (uint32_t i = 0; i < sw->n_running; i++)
        kill(sw->running[i].pid, SIGKILL);
    while (sw->n_running > 0) {
        SweepRunning *run = &sw->running[sw->n_running - 1];
        while (waitpid(run->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(run->fd);
        g_byte_array_free(run->buf, TRUE);
        sw->n_running--;
    }
}

/* Reports finished results in work-list order; after an interruption also those behind
 * a run that never finished (still in order, with the gaps skipped). */
static void flush_results(Sweep *sw) {
    while (!sw->stop && sw->next_print < sw->n_items) {
        if (sw->results[sw->next_print] != NULL)
            sim_sweep_report_result(sw, sw->next_print);
        else if (!sw->interrupted)
            break;
        sw->next_print++;
    }
    fflush(stdout);
}

void sim_sweep_run_all(Sweep *sw) {
    for (size_t guard = 0; guard < (sw->n_items + 1) * 65536; guard++) {
        if (sw->interruptible && sim_sweep_caught_signal() != 0) {
            sw->interrupted = sim_sweep_caught_signal();
            kill_all(sw);
            break;
        }
        while (!sw->stop && sw->n_running < sw->jobs && sw->next_item < sw->n_items)
            if (!spawn(sw)) {
                sw->stop = true;
                sw->errors++;
            }
        if (sw->n_running == 0)
            break;
        pump(sw);
        flush_results(sw);
        if (sw->progress)
            sim_sweep_progress(sw, false);
        if (sw->stop)
            kill_all(sw);
    }
    while (sw->n_running > 0)
        pump(sw);
    flush_results(sw);
    if (sw->progress && !sw->progress_tty)
        sim_sweep_progress(sw, true); /* the last count, as a line of the log */
    if (sw->progress)
        sim_sweep_progress_clear(sw);
}

void sim_sweep_execute(const SimCliJob *jobs, size_t n, uint32_t parallel, SimCliOutcome *out) {
    assert(parallel >= 1 && parallel <= SWEEP_MAX_JOBS);
    Sweep sw;
    memset(&sw, 0, sizeof sw);
    sw.given = jobs;
    sw.n_items = n;
    sw.jobs = parallel;
    sw.results = g_new0(SimCliOutcome *, n + 1);
    sim_sweep_run_all(&sw);
    for (size_t i = 0; i < n; i++) {
        if (sw.results[i] != NULL) {
            out[i] = *sw.results[i];
            g_free(sw.results[i]);
        } else { /* fork failed: reported as a crash of that run */
            crash_outcome(&sw, i, 0, &out[i]);
        }
    }
    g_free(sw.results);
}
