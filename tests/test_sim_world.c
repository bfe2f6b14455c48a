/* test_sim_world.c - the simulated world (sim/world): FIFO channels under random
 * latency (and the planted non-FIFO bug caught), partitions that stall then heal or
 * break, the break-detection delay, refused connects, graceful close, crashes that
 * cancel timers and drop messages of the old incarnation, restarts, a crash requested
 * from inside the crashing process, queue bounds, storage through the world, and
 * determinism of the trace hash.
 *
 * A "probe" process class does what its Probe (the arg) says and records what it saw.
 */
#include <check.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_bytes.h"
#include "sim/world/sim_world.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

#define MS 1000000ull
#define PORT 1u

typedef struct Probe {
    /* what to do */
    bool listen;             /* listen on PORT */
    bool connect;            /* connect to peer on start */
    RtProcessId peer;
    uint32_t burst;          /* messages sent right after connecting */
    bool close_after_burst;  /* rt_channel_free right after the burst */
    uint64_t timer_ns;       /* a timer started by start(), 0 = none */
    bool send_in_timer;      /* the timer sends one message */
    bool crash_self_in_timer;
    bool write_in_start;     /* write (no fsync) "p/<pid>" in start() */
    SimWorld *w;
    /* what happened */
    int starts, stops, timers, accepts, broken, msgs, fifo_bad, writes_done;
    int stops_seen_in_timer;
    uint64_t first_msg_ns, last_msg_ns, broken_ns, timer_fired_ns;
} Probe;

typedef struct Inst {
    Probe *p;
    RtEnv *env;
    RtChannel *out;
    RtChannel *in[16];
    uint64_t next_in[16]; /* next sequence number expected on in[i] */
    uint64_t next_out;    /* ... on out */
    int nin;
    uint64_t send_seq;
} Inst;

static void send_seq(Inst *in, RtChannel *ch) {
    uint8_t b[8];
    rt_bytes_store_u64(b, in->send_seq++);
    rt_channel_send(ch, b, sizeof b);
}

static void on_message(RtChannel *ch, const void *data, size_t len, void *ud) {
    Inst *in = ud;
    Probe *p = in->p;
    ck_assert_uint_eq(len, 8);
    uint64_t now = rt_env_now_ns(in->env);
    if (p->msgs++ == 0)
        p->first_msg_ns = now;
    p->last_msg_ns = now;
    uint64_t seq = rt_bytes_load_u64(data);
    uint64_t *next = &in->next_out;
    for (int i = 0; i < in->nin; i++)
        if (in->in[i] == ch)
            next = &in->next_in[i];
    if (seq != *next)
        p->fifo_bad++;
    *next = seq + 1;
}

static void on_broken(RtChannel *ch, void *ud) {
    Inst *in = ud;
    in->p->broken++;
    in->p->broken_ns = rt_env_now_ns(in->env);
    if (in->out == ch)
        in->out = NULL;
    for (int i = 0; i < in->nin; i++)
        if (in->in[i] == ch)
            in->in[i] = NULL;
    rt_channel_free(ch);
}

static const RtChannelHandler handler = {.on_message = on_message, .on_broken = on_broken};

static void on_accept(RtChannel *ch, RtProcessId peer, void *ud) {
    (void)peer;
    Inst *in = ud;
    in->p->accepts++;
    ck_assert_int_lt(in->nin, 16);
    in->in[in->nin++] = ch;
    rt_channel_set_handler(ch, &handler, in);
}

static void on_timer(void *ud) {
    Inst *in = ud;
    Probe *p = in->p;
    p->timers++;
    p->timer_fired_ns = rt_env_now_ns(in->env);
    if (p->send_in_timer && in->out != NULL)
        send_seq(in, in->out);
    if (p->crash_self_in_timer) {
        ck_assert(sim_world_crash(p->w, in->env->process_id));
        p->stops_seen_in_timer = p->stops; /* the crash must not have run yet */
    }
}

static void on_write(void *ud, GError *error) {
    Inst *in = ud;
    ck_assert_ptr_null(error);
    in->p->writes_done++;
}

static void *probe_start(RtEnv *env, void *arg) {
    Probe *p = arg;
    Inst *in = g_new0(Inst, 1);
    in->p = p;
    in->env = env;
    p->starts++;
    if (p->listen)
        ck_assert(rt_env_listen(env, PORT, on_accept, in, NULL));
    if (p->connect) {
        in->out = rt_env_connect(env, p->peer, PORT, &handler, in, NULL);
        ck_assert_ptr_nonnull(in->out);
        for (uint32_t i = 0; i < p->burst; i++)
            send_seq(in, in->out);
        if (p->close_after_burst) {
            rt_channel_free(in->out);
            in->out = NULL;
        }
    }
    if (p->timer_ns > 0)
        rt_env_timer_start(env, p->timer_ns, on_timer, in);
    if (p->write_in_start) {
        char path[32];
        g_snprintf(path, sizeof path, "p/%u", env->process_id);
        ck_assert(rt_storage_write(env->storage, path, "data", 4, on_write, in, NULL));
    }
    return in;
}

static void probe_stop(void *instance) {
    Inst *in = instance;
    in->p->stops++;
    rt_channel_free(in->out);
    for (int i = 0; i < in->nin; i++)
        rt_channel_free(in->in[i]);
    g_free(in);
}

static const SimProcessClass probe_class = {
    .name = "probe", .start = probe_start, .stop = probe_stop};

static SimWorld *world_new(uint64_t seed, SimLatency lat, uint64_t bugs) {
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, seed);
    cfg.net.latency = lat;
    cfg.bugs = bugs;
    return sim_world_new(&cfg);
}

/* Observer that records world events. */
typedef struct Seen {
    RtObserver base;
    int crashes, restarts, faults;
    RtProcessId last_process;
} Seen;

static void seen_event(RtObserver *self, const RtEvent *ev) {
    Seen *s = (Seen *)self;
    s->last_process = ev->process;
    if (ev->kind == RT_EV_WORLD_CRASH)
        s->crashes++;
    else if (ev->kind == RT_EV_WORLD_RESTART)
        s->restarts++;
    else if (ev->kind == RT_EV_WORLD_FAULT)
        s->faults++;
}

static const RtObserverOps seen_ops = {.event = seen_event};

/* ------------------------------------------------------------ network */

static void run_fifo(uint64_t bugs, Probe *rx) {
    SimWorld *w = world_new(7, sim_latency_uniform(1000, 5 * MS), bugs);
    Probe tx = {.connect = true, .peer = 0, .burst = 2000};
    rx->listen = true;
    ck_assert_uint_eq(sim_world_spawn(w, "rx", &probe_class, rx), 0);
    ck_assert_uint_eq(sim_world_spawn(w, "tx", &probe_class, &tx), 1);
    sim_world_run(w, UINT64_MAX, 1000000);
    SimNetLinkStats st;
    sim_net_link_stats(sim_world_net(w), 1, 0, &st);
    ck_assert_uint_eq(st.msgs_sent, 2000);
    ck_assert_uint_eq(st.bytes_sent, 2000 * 8);
    ck_assert_uint_eq(st.msgs_delivered, (uint64_t)rx->msgs);
    sim_world_free(w);
}

START_TEST(test_fifo_random_latency) {
    Probe rx = {0};
    run_fifo(0, &rx);
    ck_assert_int_eq(rx.msgs, 2000);
    ck_assert_int_eq(rx.fifo_bad, 0);
    ck_assert_uint_gt(rx.last_msg_ns, rx.first_msg_ns); /* the latencies did vary */
}
END_TEST

START_TEST(test_nonfifo_bug_reorders) {
    Probe rx = {0};
    run_fifo(RT_BUG_NONFIFO_NETWORK, &rx);
    ck_assert_int_eq(rx.msgs, 2000); /* reordered, never lost */
    ck_assert_int_gt(rx.fifo_bad, 0);
}
END_TEST

START_TEST(test_latency_models) {
    RtRng rng;
    rt_rng_seed(&rng, 3);
    SimLatency c = sim_latency_constant(5), u = sim_latency_uniform(10, 20);
    SimLatency l = sim_latency_lognormal(1000, 1.0, 100, 50000);
    uint64_t below = 0;
    for (int i = 0; i < 10000; i++) {
        ck_assert_uint_eq(sim_latency_sample(&c, &rng), 5);
        uint64_t x = sim_latency_sample(&u, &rng);
        ck_assert(x >= 10 && x <= 20);
        uint64_t y = sim_latency_sample(&l, &rng);
        ck_assert(y >= 100 && y <= 50000);
        below += y < 1000;
    }
    ck_assert(below > 4500 && below < 5500); /* the median is the median */
    SimLatency p;
    ck_assert(sim_latency_parse("lognormal:500us:0.5:100us:20ms", &p, NULL));
    ck_assert_uint_eq(p.a_ns, 500000);
    ck_assert_uint_eq(p.max_ns, 20 * MS);
    ck_assert(sim_latency_parse("uniform:1ms:2ms", &p, NULL) && p.b_ns == 2 * MS);
    GError *err = NULL;
    ck_assert(!sim_latency_parse("uniform:2ms:1ms", &p, &err));
    ck_assert_ptr_nonnull(err);
    g_error_free(err);
    ck_assert(!sim_latency_parse("gaussian:1", &p, NULL));
}
END_TEST

/* Two probes: 0 listens, 1 connects to 0. Returns the world (constant latency). */
static SimWorld *pair(Probe *p0, Probe *p1, uint64_t latency_ns) {
    SimWorld *w = world_new(1, sim_latency_constant(latency_ns), 0);
    p0->listen = true;
    p0->w = w;
    p1->connect = true;
    p1->peer = 0;
    p1->w = w;
    sim_world_spawn(w, "p0", &probe_class, p0);
    sim_world_spawn(w, "p1", &probe_class, p1);
    return w;
}

START_TEST(test_partition_stalls_then_heals) {
    Probe p0 = {0}, p1 = {.timer_ns = 20 * MS, .send_in_timer = true};
    SimWorld *w = pair(&p0, &p1, 1 * MS);
    sim_net_partition(sim_world_net(w), 0, 1, 10 * MS, 500 * MS);
    ck_assert(sim_net_partitioned(sim_world_net(w), 1, 0, 10 * MS));
    ck_assert(!sim_net_partitioned(sim_world_net(w), 1, 0, 500 * MS));
    sim_world_run(w, 5000 * MS, 100000);
    ck_assert_int_eq(p0.accepts, 1);
    ck_assert_int_eq(p0.msgs, 1);
    ck_assert_uint_eq(p0.first_msg_ns, 500 * MS); /* stalled until the heal */
    ck_assert_int_eq(p0.broken + p1.broken, 0);   /* shorter than the break timeout */
    sim_world_free(w);
}
END_TEST

START_TEST(test_partition_breaks) {
    Probe p0 = {0}, p1 = {.timer_ns = 20 * MS, .send_in_timer = true};
    SimWorld *w = pair(&p0, &p1, 1 * MS);
    Seen seen = {.base.ops = &seen_ops};
    sim_world_set_observer(w, &seen.base);
    sim_net_partition(sim_world_net(w), 1, SIM_NET_ANY, 10 * MS, 10000 * MS); /* isolate 1 */
    sim_world_run(w, 20000 * MS, 100000);
    ck_assert_int_eq(p0.msgs, 0);
    ck_assert_int_eq(p0.broken, 1);
    ck_assert_int_eq(p1.broken, 1);
    ck_assert_uint_eq(p0.broken_ns, 2010 * MS); /* t0 + the 2 s default break timeout */
    ck_assert_uint_eq(p1.broken_ns, 2010 * MS);
    ck_assert_int_ge(seen.faults, 1);
    ck_assert_uint_eq(sim_net_channel_count(sim_world_net(w)), 0);
    sim_world_free(w);
}
END_TEST

START_TEST(test_detection_delay) {
    Probe p0 = {0}, p1 = {0};
    SimWorld *w = pair(&p0, &p1, 1 * MS);
    sim_world_crash_at(w, 0, 50 * MS);
    sim_world_run(w, 1000 * MS, 100000);
    ck_assert_int_eq(p1.broken, 1);
    ck_assert_uint_eq(p1.broken_ns, 150 * MS); /* crash + the 100 ms default delay */
    ck_assert_int_eq(p0.broken, 0);             /* the dead hear nothing */
    sim_world_free(w);
}
END_TEST

START_TEST(test_connect_refused) {
    /* Not listening. */
    SimWorld *w = world_new(1, sim_latency_constant(1 * MS), 0);
    Probe idle = {0}, c = {.connect = true, .peer = 0};
    sim_world_spawn(w, "idle", &probe_class, &idle);
    sim_world_spawn(w, "c", &probe_class, &c);
    sim_world_run(w, 1000 * MS, 1000);
    ck_assert_int_eq(c.broken, 1);
    ck_assert_uint_eq(c.broken_ns, 101 * MS); /* arrival + detection delay */
    /* Dead peer. */
    Probe dead = {.listen = true}, c2 = {.connect = true, .peer = 2};
    sim_world_spawn(w, "dead", &probe_class, &dead);
    ck_assert(sim_world_crash(w, 2));
    sim_world_spawn(w, "c2", &probe_class, &c2);
    uint64_t t0 = sim_world_now_ns(w);
    sim_world_run(w, UINT64_MAX, 1000);
    ck_assert_int_eq(c2.broken, 1);
    ck_assert_uint_eq(c2.broken_ns, t0 + 101 * MS);
    ck_assert_int_eq(dead.accepts, 0);
    sim_world_free(w);
}
END_TEST

START_TEST(test_graceful_close) {
    Probe p0 = {0}, p1 = {.burst = 3, .close_after_burst = true};
    SimWorld *w = pair(&p0, &p1, 1 * MS);
    sim_world_run(w, UINT64_MAX, 1000);
    ck_assert_int_eq(p0.msgs, 3);       /* what was sent before the close arrives */
    ck_assert_int_eq(p0.fifo_bad, 0);
    ck_assert_int_eq(p0.broken, 1);     /* then the close */
    ck_assert_uint_eq(p0.broken_ns, 100 * MS);
    ck_assert_int_eq(p1.broken, 0);     /* the closer gets no callback */
    ck_assert_uint_eq(sim_net_channel_count(sim_world_net(w)), 0);
    sim_world_free(w);
}
END_TEST

START_TEST(test_queue_bound_breaks) {
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, 1);
    cfg.net.latency = sim_latency_constant(1 * MS);
    cfg.net.max_queued_msgs = 10;
    SimWorld *w = sim_world_new(&cfg);
    Seen seen = {.base.ops = &seen_ops};
    sim_world_set_observer(w, &seen.base);
    Probe p0 = {.listen = true}, p1 = {.connect = true, .peer = 0, .burst = 20};
    sim_world_spawn(w, "p0", &probe_class, &p0);
    sim_world_spawn(w, "p1", &probe_class, &p1);
    sim_world_run(w, UINT64_MAX, 1000);
    ck_assert_int_eq(seen.faults, 1);
    ck_assert_int_eq(p1.broken, 1);
    ck_assert_uint_eq(p1.broken_ns, 100 * MS);
    ck_assert_int_eq(p0.msgs, 0);
    sim_world_free(w);
}
END_TEST

/* ------------------------------------------------------------ processes */

START_TEST(test_crash_cancels_and_restart) {
    Probe p0 = {.timer_ns = 100 * MS}, p1 = {.timer_ns = 45 * MS, .send_in_timer = true};
    SimWorld *w = pair(&p0, &p1, 10 * MS);
    Seen seen = {.base.ops = &seen_ops};
    sim_world_set_observer(w, &seen.base);
    ck_assert_uint_eq(sim_world_process_incarnation(w, 0), 1);
    sim_world_crash_at(w, 0, 50 * MS);   /* the message sent at 45 ms is in flight */
    sim_world_restart_at(w, 0, 52 * MS); /* before it would have arrived (55 ms) */
    sim_world_run(w, 1000 * MS, 100000);
    ck_assert_int_eq(p0.starts, 2);
    ck_assert_int_eq(p0.stops, 1);
    ck_assert(sim_world_process_alive(w, 0));
    ck_assert_uint_eq(sim_world_process_incarnation(w, 0), 2);
    ck_assert_ptr_nonnull(sim_world_process_instance(w, 0));
    ck_assert_int_eq(p0.msgs, 0);      /* the old incarnation's message never arrives */
    ck_assert_int_eq(p0.timers, 1);    /* only the new incarnation's timer fired */
    ck_assert_uint_eq(p0.timer_fired_ns, 152 * MS);
    ck_assert_int_eq(p1.broken, 1);
    ck_assert_uint_eq(p1.broken_ns, 150 * MS);
    ck_assert_int_eq(seen.crashes, 1);
    ck_assert_int_eq(seen.restarts, 1);
    ck_assert(!sim_world_restart(w, 0)); /* alive: no restart */
    ck_assert(sim_world_crash(w, 0));
    ck_assert(!sim_world_crash(w, 0));   /* dead: no second crash */
    ck_assert_ptr_null(sim_world_process_instance(w, 0));
    sim_world_free(w);
    ck_assert_int_eq(p1.stops, 1); /* free stops the live ones */
}
END_TEST

START_TEST(test_crash_from_inside_is_deferred) {
    SimWorld *w = world_new(1, sim_latency_constant(1 * MS), 0);
    Probe p = {.timer_ns = 10 * MS, .crash_self_in_timer = true, .w = w};
    sim_world_spawn(w, "self", &probe_class, &p);
    sim_world_run(w, UINT64_MAX, 100);
    ck_assert_int_eq(p.timers, 1);
    ck_assert_int_eq(p.stops_seen_in_timer, 0); /* not stopped under its own stack */
    ck_assert_int_eq(p.stops, 1);
    ck_assert(!sim_world_process_alive(w, 0));
    ck_assert_uint_eq(sim_world_now_ns(w), 10 * MS); /* right after the callback */
    sim_world_free(w);
}
END_TEST

/* A paused process runs nothing: its timer and the message that reached it wait for the
 * resume and then run in the order they came due; its peer notices nothing. */
START_TEST(test_pause_holds_then_resumes) {
    Probe p0 = {.timer_ns = 100 * MS}, p1 = {.timer_ns = 45 * MS, .send_in_timer = true};
    SimWorld *w = pair(&p0, &p1, 10 * MS);
    sim_world_run(w, 30 * MS, 100000);
    ck_assert_int_eq(p0.accepts, 1);
    uint64_t until = sim_world_now_ns(w) + 200 * MS; /* the last event was before 30 ms */
    ck_assert(sim_world_pause(w, 0, 200 * MS));
    ck_assert_uint_eq(sim_world_paused_until(w, 0), until);
    ck_assert(sim_world_pause(w, 0, 100 * MS)); /* a shorter pause does not shorten it */
    ck_assert_uint_eq(sim_world_paused_until(w, 0), until);
    sim_world_run(w, until - 1, 100000);
    ck_assert_int_eq(p0.msgs, 0);   /* arrived at 55 ms, not read */
    ck_assert_int_eq(p0.timers, 0); /* due at 100 ms, not fired */
    ck_assert_int_eq(p1.timers, 1); /* the peer ran on */
    sim_world_run(w, 1000 * MS, 100000);
    ck_assert_int_eq(p0.msgs, 1);
    ck_assert_int_eq(p0.fifo_bad, 0);
    ck_assert_uint_eq(p0.first_msg_ns, until);
    ck_assert_int_eq(p0.timers, 1);
    ck_assert_uint_eq(p0.timer_fired_ns, until);
    ck_assert_uint_eq(sim_world_paused_until(w, 0), 0);
    ck_assert_int_eq(p1.broken, 0);
    /* A dead process cannot be paused; a crash ends a pause. */
    ck_assert(sim_world_pause(w, 1, 50 * MS));
    ck_assert(sim_world_crash(w, 1));
    ck_assert_uint_eq(sim_world_paused_until(w, 1), 0);
    ck_assert(!sim_world_pause(w, 1, 50 * MS));
    sim_world_free(w);
}
END_TEST

START_TEST(test_storage_through_world) {
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, 1);
    cfg.storage.torn_probability = 0.0;
    SimWorld *w = sim_world_new(&cfg);
    Probe a = {.write_in_start = true}, b = {.write_in_start = true};
    sim_world_spawn(w, "a", &probe_class, &a);
    sim_world_run(w, UINT64_MAX, 100);
    ck_assert_int_eq(a.writes_done, 1);
    size_t len = 0;
    ck_assert_ptr_nonnull(sim_storage_read_current(sim_world_storage(w), "p/0", &len));
    ck_assert_ptr_null(sim_storage_read_durable(sim_world_storage(w), "p/0", &len));
    sim_world_crash(w, 0); /* unsynced: lost */
    ck_assert_ptr_null(sim_storage_read_current(sim_world_storage(w), "p/0", &len));
    sim_world_spawn(w, "b", &probe_class, &b); /* its write is pending ... */
    sim_world_crash(w, 1);                     /* ... and forgotten */
    sim_world_run(w, UINT64_MAX, 100);
    ck_assert_int_eq(b.writes_done, 0);
    ck_assert_ptr_null(sim_storage_read_current(sim_world_storage(w), "p/1", &len));
    sim_world_free(w);
}
END_TEST

typedef struct FakeCoord {
    int opens, crashed, restarted;
    RtProcessId last;
} FakeCoord;

static RtCoord *fake_open(void *ud, RtEnv *env, const RtCoordConfig *cfg, GError **error) {
    (void)cfg;
    (void)error;
    FakeCoord *f = ud;
    f->opens++;
    f->last = env->process_id;
    return (RtCoord *)f; /* never dereferenced by the world */
}

static void fake_crashed(void *ud, RtProcessId pid) {
    ((FakeCoord *)ud)->crashed++;
    ((FakeCoord *)ud)->last = pid;
}

static void fake_restarted(void *ud, RtProcessId pid) {
    ((FakeCoord *)ud)->restarted++;
    ((FakeCoord *)ud)->last = pid;
}

START_TEST(test_coord_hooks) {
    SimWorld *w = world_new(1, sim_latency_constant(1 * MS), 0);
    Probe p = {0}, q = {0};
    sim_world_spawn(w, "p", &probe_class, &p);
    sim_world_spawn(w, "q", &probe_class, &q);
    RtEnv *env = sim_world_process_env(w, 1);
    ck_assert_uint_eq(env->process_id, 1);
    ck_assert_ptr_eq(sim_world_from_env(env), w);
    GError *err = NULL;
    ck_assert_ptr_null(env->coord_open(env, NULL, &err));
    ck_assert(g_error_matches(err, SIM_WORLD_ERROR, SIM_WORLD_ERROR_NO_COORD));
    g_error_free(err);
    FakeCoord f = {0};
    SimWorldCoordHooks hooks = {.open = fake_open, .process_crashed = fake_crashed,
                                .process_restarted = fake_restarted, .ud = &f};
    sim_world_set_coord_hooks(w, &hooks);
    ck_assert_ptr_eq(env->coord_open(env, NULL, NULL), (RtCoord *)&f);
    ck_assert_int_eq(f.opens, 1);
    sim_world_crash(w, 1);
    ck_assert_int_eq(f.crashed, 1);
    sim_world_restart(w, 1);
    ck_assert_int_eq(f.restarted, 1);
    ck_assert_uint_eq(f.last, 1);
    sim_world_free(w);
}
END_TEST

/* A busy little world: three processes, random latency, a crash and a restart. */
static uint64_t run_mix(uint64_t seed) {
    SimWorld *w = world_new(seed, sim_latency_lognormal(200000, 0.7, 10000, 5 * MS), 0);
    Probe p0 = {.listen = true, .timer_ns = 3 * MS};
    Probe p1 = {.connect = true, .peer = 0, .burst = 300, .timer_ns = 1 * MS,
                .send_in_timer = true, .write_in_start = true};
    Probe p2 = {.connect = true, .peer = 0, .burst = 300, .write_in_start = true};
    sim_world_spawn(w, "p0", &probe_class, &p0);
    sim_world_spawn(w, "p1", &probe_class, &p1);
    sim_world_spawn(w, "p2", &probe_class, &p2);
    sim_world_crash_at(w, 2, 1 * MS);
    sim_world_restart_at(w, 2, 2 * MS);
    sim_world_run(w, UINT64_MAX, 100000);
    ck_assert_int_eq(p0.fifo_bad + p1.fifo_bad + p2.fifo_bad, 0);
    uint64_t h = sim_world_trace_hash(w);
    sim_world_free(w);
    return h;
}

START_TEST(test_determinism) {
    uint64_t a = run_mix(11), b = run_mix(11), c = run_mix(12);
    ck_assert_uint_eq(a, b);
    ck_assert_uint_ne(a, c);
}
END_TEST

/* ------------------------------------------------------------ ckptsim selftest */

/* Runs "$CKPTSIM_BIN selftest ARGS..."; returns the exit status, *out its stdout. */
static int run_selftest(const char *const *args, char **out) {
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (gpointer) "selftest");
    for (size_t i = 0; args[i] != NULL; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    TestProcOut o = test_proc_ckptsimv((const char *const *)argv->pdata);
    g_ptr_array_free(argv, TRUE);
    *out = g_steal_pointer(&o.out);
    int status = o.status;
    test_proc_out_clear(&o);
    return status;
}

/* The "trace_hash" value of a selftest JSON line (new string). */
static char *hash_of(const char *json) {
    const char *p = strstr(json, "\"trace_hash\":\"");
    ck_assert_ptr_nonnull(p);
    p += strlen("\"trace_hash\":\"");
    ck_assert_uint_eq(strspn(p, "0123456789abcdef"), 16);
    return g_strndup(p, 16);
}

START_TEST(test_selftest_cli) {
    const char *a1[] = {"--seed", "5", "--events", "50000", "--json", NULL};
    const char *a2[] = {"--seed", "6", "--events", "50000", "--json", NULL};
    char *o1 = NULL, *o1b = NULL, *o2 = NULL;
    ck_assert_int_eq(run_selftest(a1, &o1), 0);
    ck_assert_int_eq(run_selftest(a1, &o1b), 0);
    ck_assert_int_eq(run_selftest(a2, &o2), 0);
    ck_assert(g_str_has_prefix(o1, "{\"seed\":5,"));
    int lines = 0;
    for (const char *c = o1; *c != '\0'; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 1); /* one JSON line */
    char *h1 = hash_of(o1), *h1b = hash_of(o1b), *h2 = hash_of(o2);
    ck_assert_str_eq(h1, h1b); /* same seed, same hash */
    ck_assert_str_ne(h1, h2);  /* another seed, another hash */
    g_free(h1);
    g_free(h1b);
    g_free(h2);
    g_free(o1);
    g_free(o1b);
    g_free(o2);
    char *o = NULL;
    const char *bug[] = {"--seed", "5", "--events", "50000", "--bug", "nonfifo-network", NULL};
    ck_assert_int_eq(run_selftest(bug, &o), 1); /* the planted bug is caught */
    g_free(o);
    const char *bad[][3] = {{"--frobnicate", NULL, NULL}, {"--seed", "x", NULL},
                            {"--seed", NULL, NULL},      {"--nodes", "1", NULL},
                            {"--bug", "no-such-bug", NULL}};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        ck_assert_int_eq(run_selftest(bad[i], &o), 2);
        g_free(o);
    }
}
END_TEST

static Suite *sim_world_suite(void) {
    Suite *s = suite_create("sim_world");
    TCase *net = tcase_create("net");
    tcase_set_timeout(net, 60);
    tcase_add_test(net, test_fifo_random_latency);
    tcase_add_test(net, test_nonfifo_bug_reorders);
    tcase_add_test(net, test_latency_models);
    tcase_add_test(net, test_partition_stalls_then_heals);
    tcase_add_test(net, test_partition_breaks);
    tcase_add_test(net, test_detection_delay);
    tcase_add_test(net, test_connect_refused);
    tcase_add_test(net, test_graceful_close);
    tcase_add_test(net, test_queue_bound_breaks);
    suite_add_tcase(s, net);
    TCase *proc = tcase_create("process");
    tcase_set_timeout(proc, 60);
    tcase_add_test(proc, test_crash_cancels_and_restart);
    tcase_add_test(proc, test_crash_from_inside_is_deferred);
    tcase_add_test(proc, test_pause_holds_then_resumes);
    tcase_add_test(proc, test_storage_through_world);
    tcase_add_test(proc, test_coord_hooks);
    tcase_add_test(proc, test_determinism);
    suite_add_tcase(s, proc);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 60);
    tcase_add_test(cli, test_selftest_cli);
    suite_add_tcase(s, cli);
    return s;
}

int main(void) {
    return test_check_run(sim_world_suite());
}
