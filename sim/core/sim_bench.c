/* sim_bench.c - `ckptsim bench`: performance benchmarks, one row per subcommand in the
 * table below (`kernel` here; other modules add theirs as a row).
 *
 * `bench kernel` runs the workload of the reference loop /work/shared/acceptance/lib/
 * des_bench.c through the public kernel API: actors in ping-pong pairs, one message in
 * flight per pair, each message delayed 1..1000 us (xoshiro256**, seed 42), FIFO per
 * channel (a delivery never precedes the channel's previous one), each delivery updating a
 * checksum and sending the reply. Same seed, same arithmetic: the checksum equals the
 * reference's, which checks that the kernel dispatches in exactly the (time, seq) order.
 * This is the one file of sim/core allowed to read the wall clock (tests/tidy.sh).
 */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/env/rt_rng.h"
#include "sim/core/sim_kernel.h"
#include "sim/core/sim_json_out.h"
#include "sim/sim_commands.h"

enum {
    SIM_BENCH_ACTOR_BITS = 24, /* payload = hops << 24 | actor index */
    SIM_BENCH_SEED = 42,       /* the reference benchmark's default seed */
};
#define SIM_BENCH_DEFAULT_EVENTS UINT64_C(10000000)
#define SIM_BENCH_MAX_EVENTS UINT64_C(10000000000)

typedef struct SimBenchActor {
    uint64_t peer;         /* index of the actor this one replies to */
    uint64_t received;     /* messages delivered to this actor */
    uint64_t chan_last_ns; /* channel self -> peer: time of its last delivery */
} SimBenchActor;

typedef struct SimBenchPingPong {
    SimKernel *kernel;
    RtRng rng;             /* the message delays */
    SimBenchActor *actors; /* n_actors entries */
    uint64_t n_actors;
    uint64_t checksum; /* FNV-style hash of the (time, actor, hops) deliveries */
} SimBenchPingPong;

typedef struct SimBenchResult {
    uint64_t events;     /* events dispatched */
    double seconds;      /* wall-clock time of the dispatch loop */
    uint64_t checksum;   /* comparable with des_bench's checksum */
    uint64_t trace_hash; /* the kernel's trace hash */
} SimBenchResult;

static void sim_bench_on_message(SimKernel *k, void *ctx, uint64_t payload);

/* Sends from actor a to its peer over the FIFO channel a -> peer, 1..1000 us later. */
static inline void sim_bench_send(SimBenchPingPong *pp, uint64_t a, uint64_t hops) {
    SimBenchActor *actor = &pp->actors[a];
    uint64_t at = sim_kernel_now_ns(pp->kernel) + 1000 + rt_rng_below(&pp->rng, 999001);
    if (at < actor->chan_last_ns)
        at = actor->chan_last_ns; /* FIFO: never overtake an earlier message */
    actor->chan_last_ns = at;
    sim_kernel_schedule_at(pp->kernel, at, sim_bench_on_message, pp,
                           (hops << SIM_BENCH_ACTOR_BITS) | actor->peer);
}

static void sim_bench_on_message(SimKernel *k, void *ctx, uint64_t payload) {
    SimBenchPingPong *pp = ctx;
    uint64_t a = payload & ((UINT64_C(1) << SIM_BENCH_ACTOR_BITS) - 1);
    uint64_t hops = (payload >> SIM_BENCH_ACTOR_BITS) + 1;
    pp->actors[a].received++;
    pp->checksum =
        (pp->checksum ^ (sim_kernel_now_ns(k) + UINT64_C(0x9e3779b97f4a7c15) * (a + 1) + hops)) *
        UINT64_C(0x100000001b3);
    sim_bench_send(pp, a, hops); /* pong */
}

static double sim_bench_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs `events` deliveries with `inflight` pairs, each holding one message. */
static SimBenchResult sim_bench_ping_pong(uint64_t inflight, uint64_t events) {
    assert(inflight > 0 && inflight * 2 < (UINT64_C(1) << SIM_BENCH_ACTOR_BITS));
    SimBenchPingPong pp;
    memset(&pp, 0, sizeof pp);
    pp.kernel = sim_kernel_new();
    rt_rng_seed(&pp.rng, SIM_BENCH_SEED);
    pp.n_actors = inflight * 2;
    pp.actors = calloc(pp.n_actors, sizeof *pp.actors);
    if (pp.actors == NULL) {
        fprintf(stderr, "ckptsim: out of memory (%llu actors)\n", (unsigned long long)pp.n_actors);
        abort();
    }
    pp.checksum = UINT64_C(0xcbf29ce484222325);
    for (uint64_t i = 0; i < pp.n_actors; i++)
        pp.actors[i].peer = i ^ 1;
    for (uint64_t i = 0; i < pp.n_actors; i += 2)
        sim_bench_send(&pp, i, 0);

    double t0 = sim_bench_now_s();
    uint64_t done = sim_kernel_run(pp.kernel, UINT64_MAX, events);
    double t1 = sim_bench_now_s();

    SimBenchResult r = {.events = done,
                        .seconds = t1 - t0,
                        .checksum = pp.checksum,
                        .trace_hash = sim_kernel_trace_hash(pp.kernel)};
    assert(done == events && sim_kernel_pending(pp.kernel) == inflight);
    sim_kernel_free(pp.kernel);
    free(pp.actors);
    return r;
}

static double sim_bench_rate(const SimBenchResult *r) {
    return r->seconds > 0 ? (double)r->events / r->seconds : 0.0;
}

static void sim_bench_kernel_usage(FILE *out) {
    fprintf(out,
            "Usage: ckptsim bench kernel [--json] [--events N]\n"
            "\n"
            "Timer ping-pong through the simulation kernel with 500 and with 50000 events in\n"
            "flight (the workload of the reference loop des_bench.c); prints events per\n"
            "second for each.\n"
            "  --json       one JSON object: events_per_s_500, events_per_s_50000, ...\n"
            "  --events N   events dispatched per size (default %llu)\n",
            (unsigned long long)SIM_BENCH_DEFAULT_EVENTS);
}

/* Parses a decimal count in [1, max]; false on anything else. */
static bool sim_bench_parse_count(const char *s, uint64_t max, uint64_t *out) {
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max)
        return false;
    *out = v;
    return true;
}

static int sim_bench_kernel(int argc, char **argv) {
    bool json = false;
    uint64_t events = SIM_BENCH_DEFAULT_EVENTS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sim_bench_kernel_usage(stdout);
            return SIM_EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) {
            if (!sim_bench_parse_count(argv[++i], SIM_BENCH_MAX_EVENTS, &events)) {
                fprintf(stderr, "ckptsim bench kernel: bad --events '%s'\n", argv[i]);
                return SIM_EXIT_BAD_INPUT;
            }
        } else {
            fprintf(stderr, "ckptsim bench kernel: unknown option '%s'\n", argv[i]);
            sim_bench_kernel_usage(stderr);
            return SIM_EXIT_BAD_INPUT;
        }
    }
    SimBenchResult small = sim_bench_ping_pong(500, events);
    SimBenchResult large = sim_bench_ping_pong(50000, events);
    if (json) {
        /* One JSON object through json-glib (keys stable: acceptance scripts read them). */
        char hex[4][17];
        g_snprintf(hex[0], 17, "%016llx", (unsigned long long)small.checksum);
        g_snprintf(hex[1], 17, "%016llx", (unsigned long long)large.checksum);
        g_snprintf(hex[2], 17, "%016llx", (unsigned long long)small.trace_hash);
        g_snprintf(hex[3], 17, "%016llx", (unsigned long long)large.trace_hash);
        JsonBuilder *b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "events");
        json_builder_add_int_value(b, (gint64)events);
        json_builder_set_member_name(b, "events_per_s_500");
        json_builder_add_int_value(b, (gint64)sim_bench_rate(&small));
        json_builder_set_member_name(b, "events_per_s_50000");
        json_builder_add_int_value(b, (gint64)sim_bench_rate(&large));
        static const char *const keys[4] = {"checksum_500", "checksum_50000", "trace_hash_500",
                                            "trace_hash_50000"};
        for (int k = 0; k < 4; k++) {
            json_builder_set_member_name(b, keys[k]);
            json_builder_add_string_value(b, hex[k]);
        }
        json_builder_end_object(b);
        sim_json_out_print(b);
    } else {
        const SimBenchResult *rs[2] = {&small, &large};
        const unsigned sizes[2] = {500, 50000};
        for (int j = 0; j < 2; j++)
            printf("kernel ping-pong, %5u in flight: %llu events in %.3f s = %.2f M events/s "
                   "(%.1f ns/event) checksum=%016llx trace_hash=%016llx\n",
                   sizes[j], (unsigned long long)rs[j]->events, rs[j]->seconds,
                   sim_bench_rate(rs[j]) / 1e6, rs[j]->seconds * 1e9 / (double)rs[j]->events,
                   (unsigned long long)rs[j]->checksum, (unsigned long long)rs[j]->trace_hash);
    }
    return SIM_EXIT_OK;
}

typedef struct SimBenchCommand {
    const char *name;
    SimCommandFunc func;
    const char *summary;
} SimBenchCommand;

/* One row per benchmark; a module adds its own row (and declares its function in
 * sim/sim_commands.h). */
static const SimBenchCommand sim_bench_commands[] = {
    {"kernel", sim_bench_kernel, "event-loop throughput of the simulation kernel"},
    {"e2e", sim_bench_e2e, "a whole job: 4 sources -keyBy-> 4 counters -> sinks, 1 M records"},
    {"live", sim_bench_live, "a job run live (processes, TCP, files): records/s, checkpoints"},
};

static void sim_bench_usage(FILE *out) {
    fprintf(out, "Usage: ckptsim bench BENCHMARK [OPTIONS]  (ckptsim bench BENCHMARK --help)\n"
                 "\nBenchmarks:\n");
    for (size_t i = 0; i < sizeof sim_bench_commands / sizeof sim_bench_commands[0]; i++)
        fprintf(out, "  %-8s %s\n", sim_bench_commands[i].name, sim_bench_commands[i].summary);
}

int sim_cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        sim_bench_usage(stderr);
        return SIM_EXIT_BAD_INPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        sim_bench_usage(stdout);
        return SIM_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof sim_bench_commands / sizeof sim_bench_commands[0]; i++)
        if (strcmp(argv[1], sim_bench_commands[i].name) == 0)
            return sim_bench_commands[i].func(argc - 1, argv + 1);
    fprintf(stderr, "ckptsim bench: unknown benchmark '%s'\n", argv[1]);
    sim_bench_usage(stderr);
    return SIM_EXIT_BAD_INPUT;
}
