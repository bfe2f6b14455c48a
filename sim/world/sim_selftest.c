/* sim_selftest.c - `ckptsim selftest`: a randomized workload over the kernel, the
 * network, the storage and process crashes/restarts, that prints its trace hash.
 *
 * A few "node" processes listen, connect to each other (reconnecting after breaks),
 * exchange sequence-numbered messages both ways, write / fsync / rename / read / list /
 * remove checksummed files, and run on random timers. A driver crashes and restarts
 * nodes, partitions and slows links, and injects storage errors, all drawn from the
 * seed. The run checks two world invariants as it goes: FIFO per channel (a gap or a
 * reordering is a violation) and "no callback of a dead incarnation" (every callback
 * checks that its instance belongs to the live incarnation). Same seed -> same trace
 * hash, on any compiler; a violation exits 1. `--bug nonfifo-network` plants the
 * network bug and must be caught (exit 1).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_bytes.h"
#include "sim/core/sim_json_out.h"
#include "sim/sim_commands.h"
#include "sim/world/sim_world.h"

#define ST_MAX_NODES 8u
#define ST_PORT 7u
#define ST_FILES 8u
#define ST_MAX_BODY 256u

typedef struct StStats {
    uint64_t msgs_received;
    uint64_t fifo_violations;  /* gaps or reorderings seen on a channel */
    uint64_t stale_callbacks;  /* callbacks into a dead incarnation (must be 0) */
    uint64_t list_violations;  /* a list result not sorted and unique (must be 0) */
    uint64_t reconnects;
    uint64_t crashes, restarts, partitions, spikes, injected;
    uint64_t checksum_failures; /* torn files found by reads (expected after crashes) */
    uint64_t io_errors;
} StStats;

typedef struct SimSelftest {
    SimWorld *w;
    RtRng rng; /* "selftest.driver" */
    uint32_t n;
    StStats stats;
} SimSelftest;

typedef struct StNode StNode;

typedef struct StLink {
    StNode *node;
    RtChannel *ch;
    RtProcessId peer;
    uint64_t send_seq; /* next sequence number to send */
    uint64_t recv_seq; /* next sequence number expected */
} StLink;

typedef enum StIo { ST_IO_IDLE, ST_IO_WRITE, ST_IO_FSYNC, ST_IO_RENAME, ST_IO_OTHER } StIo;

struct StNode {
    RtEnv *env;
    SimSelftest *st;
    RtRng rng;
    uint32_t incarnation;
    StLink *out[ST_MAX_NODES]; /* links this node connected, by peer */
    GPtrArray *in;             /* accepted links */
    RtTimerId tick;
    StIo io;                   /* one storage chain at a time */
    char path[64];             /* the chain's file */
    char tmp[64];              /* the chain's temporary file */
};

/* ------------------------------------------------------------ checks */

static bool st_live(StNode *node) {
    SimWorld *w = node->st->w;
    RtProcessId pid = node->env->process_id;
    if (sim_world_process_alive(w, pid) && sim_world_process_incarnation(w, pid) ==
                                               node->incarnation)
        return true;
    node->st->stats.stale_callbacks++;
    return false;
}

/* ------------------------------------------------------------ channels */

static void st_link_message(RtChannel *ch, const void *data, size_t len, void *ud) {
    (void)ch;
    StLink *l = ud;
    if (!st_live(l->node))
        return;
    l->node->st->stats.msgs_received++;
    if (len < 8) {
        l->node->st->stats.fifo_violations++;
        return;
    }
    uint64_t seq = rt_bytes_load_u64(data);
    if (seq != l->recv_seq)
        l->node->st->stats.fifo_violations++;
    l->recv_seq = seq + 1;
}

static void st_connect(StNode *node, RtProcessId peer);

static void st_reconnect_fire(void *ud) {
    StLink *l = ud; /* a placeholder link that only carries (node, peer) */
    StNode *node = l->node;
    RtProcessId peer = l->peer;
    node->out[peer] = NULL;
    g_free(l);
    if (st_live(node)) {
        node->st->stats.reconnects++;
        st_connect(node, peer);
    }
}

static void st_link_broken(RtChannel *ch, void *ud) {
    StLink *l = ud;
    StNode *node = l->node;
    if (!st_live(node))
        return;
    rt_channel_free(ch);
    l->ch = NULL;
    if (node->out[l->peer] == l) { /* ours: reconnect later, reusing l as the record */
        rt_env_timer_start(node->env, rt_rng_range(&node->rng, 1000000, 20000000),
                           st_reconnect_fire, l);
        return;
    }
    g_ptr_array_remove(node->in, l);
    g_free(l);
}

static const RtChannelHandler st_link_handler = {
    .on_message = st_link_message,
    .on_broken = st_link_broken,
};

static void st_connect(StNode *node, RtProcessId peer) {
    StLink *l = g_new0(StLink, 1);
    l->node = node;
    l->peer = peer;
    GError *err = NULL;
    l->ch = rt_env_connect(node->env, peer, ST_PORT, &st_link_handler, l, &err);
    if (l->ch == NULL) {
        g_error_free(err);
        g_free(l);
        return;
    }
    node->out[peer] = l;
}

static void st_accept(RtChannel *ch, RtProcessId peer, void *ud) {
    StNode *node = ud;
    if (!st_live(node)) {
        rt_channel_free(ch);
        return;
    }
    StLink *l = g_new0(StLink, 1);
    l->node = node;
    l->peer = peer;
    l->ch = ch;
    rt_channel_set_handler(ch, &st_link_handler, l);
    g_ptr_array_add(node->in, l);
}

static void st_send_some(StNode *node) {
    uint32_t nlinks = 0;
    StLink *links[ST_MAX_NODES * 4];
    for (uint32_t i = 0; i < ST_MAX_NODES; i++)
        if (node->out[i] != NULL && node->out[i]->ch != NULL)
            links[nlinks++] = node->out[i];
    for (guint i = 0; i < node->in->len && nlinks < G_N_ELEMENTS(links); i++)
        links[nlinks++] = node->in->pdata[i];
    if (nlinks == 0)
        return;
    StLink *l = links[rt_rng_below(&node->rng, nlinks)];
    uint32_t count = 1 + (uint32_t)rt_rng_below(&node->rng, 4);
    unsigned char buf[8 + ST_MAX_BODY];
    for (uint32_t m = 0; m < count; m++) {
        size_t len = 8 + (size_t)rt_rng_below(&node->rng, ST_MAX_BODY);
        rt_bytes_store_u64(buf, l->send_seq++);
        for (size_t i = 8; i < len; i++)
            buf[i] = (unsigned char)rt_rng_next(&node->rng);
        rt_channel_send(l->ch, buf, len);
    }
}

/* ------------------------------------------------------------ storage chains */

static void st_io_done(void *ud, GError *error);

static void st_io_error(StNode *node, GError *error) {
    if (error == NULL || error->code != RT_STORAGE_ERROR_NOT_FOUND)
        node->st->stats.io_errors++; /* removing a missing file is part of the game */
    if (error != NULL)
        g_error_free(error);
    node->io = ST_IO_IDLE;
}

/* Issues the next step of the chain or, when the call fails at once, ends it. */
static void st_io_check(StNode *node, bool issued, GError *err) {
    if (!issued)
        st_io_error(node, err);
}

static void st_io_done(void *ud, GError *error) {
    StNode *node = ud;
    if (!st_live(node))
        return;
    if (error != NULL) {
        st_io_error(node, error);
        return;
    }
    GError *err = NULL;
    char dir[64];
    g_snprintf(dir, sizeof dir, "st/%u", node->env->process_id);
    switch (node->io) {
    case ST_IO_WRITE: /* written: make it durable */
        node->io = ST_IO_FSYNC;
        st_io_check(node, rt_storage_fsync(node->env->storage, node->tmp, st_io_done, node, &err),
                    err);
        return;
    case ST_IO_FSYNC: /* durable: atomically rename over the final name, half the time */
        if (strcmp(node->tmp, node->path) == 0 || rt_rng_chance(&node->rng, 0.5)) {
            node->io = ST_IO_IDLE;
            return;
        }
        node->io = ST_IO_RENAME;
        st_io_check(node,
                    rt_storage_rename(node->env->storage, node->tmp, node->path, st_io_done,
                                      node, &err),
                    err);
        return;
    case ST_IO_RENAME:
        node->io = ST_IO_OTHER;
        st_io_check(node, rt_storage_fsync_dir(node->env->storage, dir, st_io_done, node, &err),
                    err);
        return;
    case ST_IO_OTHER:
    case ST_IO_IDLE: node->io = ST_IO_IDLE; return;
    }
}

static void st_read_done(void *ud, const void *data, size_t len, GError *error) {
    StNode *node = ud;
    if (!st_live(node))
        return;
    node->io = ST_IO_IDLE;
    if (error != NULL) {
        if (error->code != RT_STORAGE_ERROR_NOT_FOUND)
            node->st->stats.io_errors++;
        g_error_free(error);
        return;
    }
    if (len < 8 || rt_bytes_load_u64(data) != sim_hash_bytes((const char *)data + 8, len - 8))
        node->st->stats.checksum_failures++;
}

static void st_list_done(void *ud, const char *const *names, GError *error) {
    StNode *node = ud;
    if (!st_live(node))
        return;
    node->io = ST_IO_IDLE;
    if (error != NULL) {
        st_io_error(node, error);
        return;
    }
    for (size_t i = 0; names[i] != NULL && names[i + 1] != NULL; i++)
        if (strcmp(names[i], names[i + 1]) >= 0) /* contract: sorted, unique */
            node->st->stats.list_violations++;
}

static void st_start_write(StNode *node, uint32_t file) {
    unsigned char buf[8 + 1024];
    size_t len = 8 + (size_t)rt_rng_below(&node->rng, 1024);
    for (size_t i = 8; i < len; i++)
        buf[i] = (unsigned char)rt_rng_next(&node->rng);
    rt_bytes_store_u64(buf, sim_hash_bytes(buf + 8, len - 8));
    g_snprintf(node->path, sizeof node->path, "st/%u/f%u", node->env->process_id, file);
    if (rt_rng_chance(&node->rng, 0.5))
        g_snprintf(node->tmp, sizeof node->tmp, "%s.tmp", node->path);
    else
        g_strlcpy(node->tmp, node->path, sizeof node->tmp);
    node->io = ST_IO_WRITE;
    GError *err = NULL;
    st_io_check(node,
                rt_storage_write(node->env->storage, node->tmp, buf, len, st_io_done, node, &err),
                err);
}

static void st_start_io(StNode *node) {
    if (node->io != ST_IO_IDLE)
        return;
    uint32_t file = (uint32_t)rt_rng_below(&node->rng, ST_FILES);
    uint64_t r = rt_rng_below(&node->rng, 10);
    char path[64], dir[64];
    g_snprintf(dir, sizeof dir, "st/%u", node->env->process_id);
    g_snprintf(path, sizeof path, "%s/f%u", dir, file);
    GError *err = NULL;
    RtStorage *s = node->env->storage;
    if (r < 5) {
        st_start_write(node, file);
        return;
    }
    node->io = ST_IO_OTHER;
    if (r < 8)
        st_io_check(node, rt_storage_read(s, path, st_read_done, node, &err), err);
    else if (r < 9)
        st_io_check(node, rt_storage_list(s, dir, st_list_done, node, &err), err);
    else
        st_io_check(node, rt_storage_remove(s, path, st_io_done, node, &err), err);
}

/* ------------------------------------------------------------ the node process */

static void st_tick(void *ud) {
    StNode *node = ud;
    node->tick = 0;
    if (!st_live(node))
        return;
    uint64_t r = rt_rng_below(&node->rng, 10);
    if (r < 6)
        st_send_some(node);
    else
        st_start_io(node);
    node->tick = rt_env_timer_start(node->env, rt_rng_range(&node->rng, 200000, 3000000),
                                    st_tick, node);
}

static void *st_node_start(RtEnv *env, void *arg) {
    SimSelftest *st = arg;
    StNode *node = g_new0(StNode, 1);
    node->env = env;
    node->st = st;
    node->incarnation = sim_world_process_incarnation(st->w, env->process_id);
    node->in = g_ptr_array_new();
    char name[64];
    g_snprintf(name, sizeof name, "selftest.node/%u/%u", env->process_id, node->incarnation);
    rt_env_rng(env, name, &node->rng);
    GError *err = NULL;
    if (!rt_env_listen(env, ST_PORT, st_accept, node, &err)) {
        fprintf(stderr, "selftest: %s\n", err->message);
        g_error_free(err);
        g_ptr_array_free(node->in, TRUE);
        g_free(node);
        return NULL;
    }
    for (RtProcessId p = 0; p < st->n; p++)
        if (p != env->process_id)
            st_connect(node, p);
    node->tick = rt_env_timer_start(env, rt_rng_range(&node->rng, 100000, 1000000), st_tick,
                                    node);
    return node;
}

/* Frees the instance without I/O (channels are released, timers die with the process). */
static void st_node_stop(void *instance) {
    StNode *node = instance;
    for (uint32_t i = 0; i < ST_MAX_NODES; i++) {
        if (node->out[i] != NULL) {
            rt_channel_free(node->out[i]->ch);
            g_free(node->out[i]);
        }
    }
    for (guint i = 0; i < node->in->len; i++) {
        StLink *l = node->in->pdata[i];
        rt_channel_free(l->ch);
        g_free(l);
    }
    g_ptr_array_free(node->in, TRUE);
    g_free(node);
}

static const SimProcessClass st_node_class = {
    .name = "selftest-node",
    .start = st_node_start,
    .stop = st_node_stop,
};

/* ------------------------------------------------------------ the driver */

/* One random fault, then the next one 2-30 ms later (the chaos never ends: the run is
 * bounded by its event budget). */
static void st_chaos_fire(SimKernel *k, void *ctx, uint64_t payload) {
    (void)payload;
    SimSelftest *st = ctx;
    SimWorld *w = st->w;
    uint64_t now = sim_kernel_now_ns(k);
    RtProcessId pid = (RtProcessId)rt_rng_below(&st->rng, st->n);
    uint64_t r = rt_rng_below(&st->rng, 10);
    if (r < 4) {
        if (sim_world_crash(w, pid)) {
            st->stats.crashes++;
            sim_world_restart_at(w, pid, now + rt_rng_range(&st->rng, 1000000, 50000000));
        }
    } else if (r < 6) {
        RtProcessId other = (RtProcessId)rt_rng_below(&st->rng, st->n);
        uint64_t len = rt_rng_range(&st->rng, 1000000, 120000000);
        sim_net_partition(sim_world_net(w), pid, other == pid ? SIM_NET_ANY : other, now,
                          now + len);
        st->stats.partitions++;
    } else if (r < 8) {
        /* One draw per statement: argument evaluation order is unspecified in C. */
        uint64_t len = rt_rng_range(&st->rng, 1000000, 30000000);
        uint64_t extra = rt_rng_range(&st->rng, 100000, 10000000);
        sim_net_add_spike(sim_world_net(w), pid, SIM_NET_ANY, now, now + len, extra);
        st->stats.spikes++;
    } else {
        char prefix[32];
        g_snprintf(prefix, sizeof prefix, "st/%u/", pid);
        sim_storage_fail_next(sim_world_storage(w), prefix,
                              r == 8 ? RT_STORAGE_ERROR_IO : RT_STORAGE_ERROR_NO_SPACE, 1);
        st->stats.injected++;
    }
    sim_kernel_schedule_in(k, rt_rng_range(&st->rng, 2000000, 30000000), st_chaos_fire, st, 0);
}

static void st_usage(FILE *out) {
    fprintf(out,
            "Usage: ckptsim selftest [--seed N] [--events N] [--nodes N] [--bug NAME] [--json]\n"
            "\n"
            "Runs a randomized workload over the simulation kernel, network, storage and\n"
            "process crashes/restarts, checks FIFO channels and that no callback of a dead\n"
            "process incarnation runs, and prints the run's trace hash. The same seed gives\n"
            "the same hash on every machine and compiler.\n"
            "\n"
            "  --seed N     the run's seed (default 1)\n"
            "  --events N   kernel events to run (default 200000, at most 100000000)\n"
            "  --nodes N    processes, 2..%u (default 4)\n"
            "  --bug NAME   plant a bug (only nonfifo-network affects this workload)\n"
            "  --json       one JSON line instead of text\n"
            "\n"
            "Exit status: 0 the checks held, 1 a check failed, 2 bad usage.\n",
            ST_MAX_NODES);
}

typedef struct StOptions {
    uint64_t seed, events, bugs;
    uint32_t nodes;
    bool json;
} StOptions;

static bool st_parse_u64(const char *s, uint64_t max, uint64_t *out) {
    guint64 v = 0;
    if (s == NULL || !g_ascii_string_to_unsigned(s, 10, 0, max, &v, NULL))
        return false;
    *out = v;
    return true;
}

/* Parses argv; returns -1 to go on, else the exit code. */
static int st_parse(int argc, char **argv, StOptions *o) {
    *o = (StOptions){.seed = 1, .events = 200000, .nodes = 4};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            st_usage(stdout);
            return SIM_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--seed") == 0 && st_parse_u64(v, UINT64_MAX, &o->seed)) {
            i++;
        } else if (strcmp(a, "--events") == 0 && st_parse_u64(v, 100000000, &o->events)) {
            i++;
        } else if (strcmp(a, "--nodes") == 0 && st_parse_u64(v, ST_MAX_NODES, &n) && n >= 2) {
            o->nodes = (uint32_t)n;
            i++;
        } else if (strcmp(a, "--bug") == 0 && v != NULL && rt_bug_by_name(v) != 0) {
            o->bugs |= rt_bug_by_name(v);
            i++;
        } else {
            fprintf(stderr, "ckptsim selftest: bad option or value: '%s'%s%s\n", a,
                    v != NULL ? " " : "", v != NULL ? v : "");
            st_usage(stderr);
            return SIM_EXIT_BAD_INPUT;
        }
    }
    return -1;
}

static void st_print(const StOptions *o, SimSelftest *st, uint64_t events, bool ok) {
    SimWorld *w = st->w;
    SimNetLinkStats net;
    SimStorageStats io;
    sim_net_total_stats(sim_world_net(w), &net);
    sim_storage_stats(sim_world_storage(w), &io);
    const StStats *s = &st->stats;
    if (o->json) {
        char hash[17];
        g_snprintf(hash, sizeof hash, "%016" PRIx64, sim_world_trace_hash(w));
        const struct { const char *key; uint64_t v; } figs[] = {
            {"events", events}, {"virtual_time_ns", sim_world_now_ns(w)},
            {"nodes", o->nodes}, {"bugs", o->bugs}, {"messages_sent", net.msgs_sent},
            {"messages_delivered", net.msgs_delivered}, {"messages_dropped", net.msgs_dropped},
            {"storage_ops", io.ops}, {"storage_failed", io.failed}, {"torn", io.torn},
            {"lost", io.lost}, {"crashes", s->crashes}, {"partitions", s->partitions},
            {"reconnects", s->reconnects}, {"checksum_failures", s->checksum_failures},
            {"fifo_violations", s->fifo_violations}, {"stale_callbacks", s->stale_callbacks},
        };
        JsonBuilder *b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "seed");
        json_builder_add_int_value(b, (gint64)o->seed);
        json_builder_set_member_name(b, "trace_hash");
        json_builder_add_string_value(b, hash);
        for (size_t k = 0; k < G_N_ELEMENTS(figs); k++) {
            json_builder_set_member_name(b, figs[k].key);
            json_builder_add_int_value(b, (gint64)figs[k].v);
        }
        json_builder_set_member_name(b, "ok");
        json_builder_add_boolean_value(b, ok);
        json_builder_end_object(b);
        sim_json_out_print(b);
        return;
    }
    printf("seed %" PRIu64 "\ntrace_hash %016" PRIx64 "\nevents %" PRIu64
           "\nvirtual_time_ns %" PRIu64 "\nmessages sent %" PRIu64 " delivered %" PRIu64
           " dropped %" PRIu64 "\nstorage ops %" PRIu64 " failed %" PRIu64 " torn %" PRIu64
           " lost %" PRIu64 "\ncrashes %" PRIu64 " partitions %" PRIu64 " spikes %" PRIu64
           " reconnects %" PRIu64 "\nchecksum_failures %" PRIu64 "\nfifo_violations %" PRIu64
           "\nstale_callbacks %" PRIu64 "\nlist_violations %" PRIu64 "\n%s\n",
           o->seed, sim_world_trace_hash(w), events, sim_world_now_ns(w), net.msgs_sent,
           net.msgs_delivered, net.msgs_dropped, io.ops, io.failed, io.torn, io.lost, s->crashes,
           s->partitions, s->spikes, s->reconnects, s->checksum_failures, s->fifo_violations,
           s->stale_callbacks, s->list_violations, ok ? "ok" : "FAILED");
}

int sim_cmd_selftest(int argc, char **argv) {
    StOptions o;
    int rc = st_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    SimWorldConfig cfg;
    sim_world_config_init(&cfg, o.seed);
    cfg.bugs = o.bugs;
    cfg.net.latency = sim_latency_lognormal(300000, 0.8, 50000, 30000000);
    cfg.net.detection_delay_ns = 5000000;
    cfg.net.break_timeout_ns = 60000000;
    SimSelftest st = {.n = o.nodes};
    rt_rng_seed_stream(&st.rng, o.seed, "selftest.driver");
    st.w = sim_world_new(&cfg);
    sim_storage_set_fault_rates(sim_world_storage(st.w), 0.002, 0.001);
    char name[32];
    for (uint32_t i = 0; i < o.nodes; i++) {
        g_snprintf(name, sizeof name, "node-%u", i);
        sim_world_spawn(st.w, name, &st_node_class, &st);
    }
    sim_kernel_schedule_in(sim_world_kernel(st.w), 5000000, st_chaos_fire, &st, 0);
    uint64_t events = sim_world_run(st.w, UINT64_MAX, o.events);
    bool ok = st.stats.fifo_violations == 0 && st.stats.stale_callbacks == 0 &&
              st.stats.list_violations == 0 && st.stats.msgs_received > 0;
    st_print(&o, &st, events, ok);
    sim_world_free(st.w);
    return ok ? SIM_EXIT_OK : SIM_EXIT_VIOLATION;
}
