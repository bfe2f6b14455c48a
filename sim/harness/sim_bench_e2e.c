/* sim_bench_e2e.c - `ckptsim bench e2e`: a whole job through the simulator, the real
 * runtime and the oracle: 4 sources -keyBy-> 4 keyed counters -forward-> 4 two-phase-
 * commit sinks, 1 M records by default (50,000 records per second per source),
 * checkpoints every simulated second, hashmap backend, no faults.
 *
 * Reports record-hops per wall second (a record-hop is one record handled by one
 * operator: emitted by a source, counted by a counter, committed by a sink, so three
 * per record), the simulated-to-wall time ratio, and the peak RSS (getrusage). This
 * file may read the wall clock (tests/tidy.sh allows sim/harness/sim_bench*). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sim/harness/sim_cli_json.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "sim/sim_commands.h"

#define E2E_SOURCES 4u
#define E2E_HOPS_PER_RECORD 3u

static const char *e2e_scenario =
    "[scenario]\n"
    "name = bench-e2e\n"
    "description = 4 sources -keyBy-> 4 counters -> 4 sinks\n"
    "time-limit = 10 min\n"
    "faults-stop-at = 0 s\n"
    "liveness-bound = 1 min\n"
    "max-steps = 2000000000\n"
    "[cluster]\n"
    "workers = 4\n"
    "slots = 3\n"
    "[operator source]\n"
    "kind = source\n"
    "parallelism = 4\n"
    "keys = 1024\n"
    "rate = 50000\n"
    "[operator count]\n"
    "kind = counter\n"
    "parallelism = 4\n"
    "[operator sink]\n"
    "kind = sink\n"
    "parallelism = 4\n"
    "[edges]\n"
    "source -> count = keyBy\n"
    "count -> sink = forward\n"
    "[config]\n"
    "execution.checkpointing.interval = 1 s\n"
    "state.backend.type = hashmap\n"
    "execution.checkpointing.dir = chk\n";

static uint64_t wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void report(bool json, uint64_t records, const SimRunResult *r, uint64_t wall,
                   uint64_t rss) {
    double secs = (double)wall / 1e9;
    double hops = (double)records * E2E_HOPS_PER_RECORD / secs;
    double ratio = (double)r->sim_time_ns / (double)wall;
    if (json) {
        JsonBuilder *b = json_builder_new();
        json_builder_begin_object(b);
        sim_json_add_string(b, "benchmark", "e2e");
        sim_json_add_u64(b, "records", records);
        sim_json_add_string(b, "verdict", r->held ? "pass" : "violation");
        sim_json_add_double(b, "record_hops_per_s", hops, 0);
        sim_json_add_double(b, "sim_to_wall_ratio", ratio, 2);
        sim_json_add_u64(b, "peak_rss_bytes", rss);
        sim_json_add_double(b, "wall_s", secs, 3);
        sim_json_add_double(b, "sim_time_s", (double)r->sim_time_ns / 1e9, 3);
        sim_json_add_u64(b, "events", r->steps);
        sim_json_add_u64(b, "checkpoints_completed", r->oracle.checkpoints_completed);
        char hash[17];
        g_snprintf(hash, sizeof hash, "%016" PRIx64, r->trace_hash);
        sim_json_add_string(b, "trace_hash", hash);
        json_builder_end_object(b);
        char *text = sim_json_finish(b);
        printf("%s\n", text);
        g_free(text);
    } else {
        printf("e2e: %" PRIu64 " records, %s, %.3f s wall, %.3f s simulated (%.1fx), %.2f M "
               "record-hops/s, %" PRIu64 " events, %" PRIu64 " checkpoints, peak RSS %.1f "
               "MiB\n",
               records, r->held ? "held" : "VIOLATION", secs, (double)r->sim_time_ns / 1e9,
               ratio, hops / 1e6, r->steps, r->oracle.checkpoints_completed,
               (double)rss / 1048576.0);
    }
}

int sim_bench_e2e(int argc, char **argv) {
    gboolean json = FALSE;
    gint64 records = 1000000;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object", NULL},
        {"records", 0, 0, G_OPTION_ARG_INT64, &records, "total records (default 1000000)",
         "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("- a whole job: throughput, speed, memory");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(ctx, "Example:\n  ckptsim bench e2e --json\n"
                                          "  ckptsim bench e2e --records 10000000\n");
    GError *e = NULL;
    bool ok = g_option_context_parse(ctx, &argc, &argv, &e);
    g_option_context_free(ctx);
    if (!ok || records < (gint64)E2E_SOURCES || records > 1000000000) {
        fprintf(stderr, "ckptsim bench e2e: %s\n", e ? e->message : "--records 4..1e9");
        g_clear_error(&e);
        return SIM_EXIT_BAD_INPUT;
    }
    uint64_t per_source = (uint64_t)records / E2E_SOURCES;
    char *set = g_strdup_printf("operator.source.records=%" PRIu64, per_source);
    const char *sets[] = {set, NULL};
    SimScenario *s = sim_scenario_load_text("bench-e2e", e2e_scenario, sets, &e);
    g_free(set);
    if (s == NULL) {
        fprintf(stderr, "%s\n", e->message);
        g_error_free(e);
        return SIM_EXIT_BAD_INPUT;
    }
    SimRunOptions opt;
    sim_run_options_init(&opt, 1);
    SimRunResult r;
    uint64_t t0 = wall_ns();
    ok = sim_run(s, &opt, &r, &e);
    uint64_t wall = wall_ns() - t0;
    int status = SIM_EXIT_BAD_INPUT;
    if (!ok) {
        fprintf(stderr, "ckptsim bench e2e: %s\n", e->message);
        g_error_free(e);
    } else {
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        getrusage(RUSAGE_SELF, &ru);
        report(json, per_source * E2E_SOURCES, &r, wall > 0 ? wall : 1,
               (uint64_t)ru.ru_maxrss * 1024u);
        status = r.held ? SIM_EXIT_OK : SIM_EXIT_VIOLATION;
    }
    sim_run_result_clear(&r);
    sim_scenario_free(s);
    return status;
}
