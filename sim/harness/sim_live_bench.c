/* sim_live_bench.c - `ckptsim bench live [--zk HOST:PORT] [--records N] [--json]`: a job
 * run for real (`ckptsim live`: processes, TCP, files, the oracle) as fast as it goes:
 * 2 sources (unthrottled) -keyBy-> 2 counters -> 2 two-phase-commit sinks on one
 * worker, checkpoints every second, hashmap backend; with --zk, ZooKeeper HA on that
 * server.
 *
 * Reports, from the run's events.jsonl: records per second end to end (records committed
 * over the time from the first record emitted to the last committed), checkpoint
 * duration (trigger to completion) p50 and p99, and with --zk the ZooKeeper requests per
 * completed checkpoint (the server's `srvr` Received count over the run, so session
 * pings and leader election are included: an upper bound). The verdict of the oracle is
 * part of the report: a fast run that breaks exactly-once is not a result. This file
 * may read the wall clock (tests/tidy.sh allows sim/harness/sim_bench*, and this is a
 * bench of the live world). */
#include <gio/gio.h>
#include <inttypes.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "runtime/live/rt_live_events.h"
#include <glib/gstdio.h>

#include "sim/harness/sim_cli_json.h"
#include "sim/harness/sim_live_internal.h"
#include "sim/sim_commands.h"

static const char *bench_scenario =
    "[scenario]\n"
    "name = bench-live\n"
    "description = 2 sources -keyBy-> 2 counters -> 2 sinks, unthrottled, live\n"
    "time-limit = 5 min\n"
    "faults-stop-at = 0 s\n"
    "liveness-bound = 5 min\n"
    "[cluster]\n"
    "workers = 1\n"
    "slots = 6\n"
    "[operator source]\n"
    "kind = source\n"
    "parallelism = 2\n"
    "keys = 1024\n"
    "rate = 0\n"
    "[operator count]\n"
    "kind = counter\n"
    "parallelism = 2\n"
    "[operator sink]\n"
    "kind = sink\n"
    "parallelism = 2\n"
    "[edges]\n"
    "source -> count = keyBy\n"
    "count -> sink = forward\n"
    "[config]\n"
    "execution.checkpointing.interval = 1 s\n"
    "state.backend.type = hashmap\n"
    "execution.checkpointing.dir = chk\n";

typedef struct BenchStats {
    uint64_t first_emit_ns, last_commit_ns, commits;
    GHashTable *trigger_ns; /* checkpoint id -> first trigger time */
    GArray *durations_ns;   /* uint64_t, per completed checkpoint */
} BenchStats;

static void stats_event(BenchStats *b, const RtEvent *ev) {
    if (ev->kind == RT_EV_RECORD_EMIT && (b->first_emit_ns == 0 || ev->time_ns < b->first_emit_ns))
        b->first_emit_ns = ev->time_ns;
    if (ev->kind == RT_EV_SINK_COMMIT_RECORD) {
        b->commits++;
        b->last_commit_ns = MAX(b->last_commit_ns, ev->time_ns);
    }
    if (ev->kind == RT_EV_CKPT_TRIGGER && !g_hash_table_contains(b->trigger_ns, &ev->checkpoint_id))
        g_hash_table_insert(b->trigger_ns, g_memdup2(&ev->checkpoint_id, 8),
                            g_memdup2(&ev->time_ns, 8));
    if (ev->kind == RT_EV_CKPT_COMPLETE) {
        const uint64_t *t = g_hash_table_lookup(b->trigger_ns, &ev->checkpoint_id);
        if (t != NULL && ev->time_ns >= *t) {
            uint64_t d = ev->time_ns - *t;
            g_array_append_val(b->durations_ns, d);
        }
    }
}

/* Reads the run's events.jsonl; false if it cannot be read. */
static bool read_events(const char *run, BenchStats *b) {
    char *path = g_build_filename(run, "events.jsonl", NULL);
    char *text = NULL;
    bool ok = g_file_get_contents(path, &text, NULL, NULL);
    g_free(path);
    for (char *line = text, *nl; ok && line != NULL && *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        RtEvent ev;
        char *detail = NULL;
        if (rt_live_event_parse_json(line, &ev, &detail))
            stats_event(b, &ev);
        g_free(detail);
    }
    g_free(text);
    return ok;
}

static gint cmp_u64(gconstpointer a, gconstpointer b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_ms(GArray *a, double q) {
    if (a->len == 0)
        return 0;
    g_array_sort(a, cmp_u64);
    guint i = (guint)(q * (double)(a->len - 1) + 0.5);
    return (double)g_array_index(a, uint64_t, i) / 1e6;
}

/* The server's count of received packets (`srvr`), or -1. */
static int64_t zk_received(const char *hostport) {
    GSocketClient *c = g_socket_client_new();
    g_socket_client_set_timeout(c, 5);
    GSocketConnection *conn = g_socket_client_connect_to_host(c, hostport, 2181, NULL, NULL);
    int64_t n = -1;
    if (conn != NULL) {
        GOutputStream *o = g_io_stream_get_output_stream(G_IO_STREAM(conn));
        GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
        char buf[4096];
        gsize got = 0;
        if (g_output_stream_write_all(o, "srvr", 4, NULL, NULL, NULL) &&
            g_input_stream_read_all(in, buf, sizeof buf - 1, &got, NULL, NULL)) {
            buf[got] = '\0';
            const char *r = strstr(buf, "Received: ");
            if (r != NULL)
                n = g_ascii_strtoll(r + 10, NULL, 10);
        }
        g_object_unref(conn);
    }
    g_object_unref(c);
    return n;
}

/* rm -rf of the bench's own temporary directory (no symbolic link is followed). */
static void remove_tree(const char *path, int depth) {
    if (depth < 16 && g_file_test(path, G_FILE_TEST_IS_DIR) &&
        !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        GDir *d = g_dir_open(path, 0, NULL);
        const char *name;
        while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
            char *child = g_build_filename(path, name, NULL);
            remove_tree(child, depth + 1);
            g_free(child);
        }
        if (d != NULL)
            g_dir_close(d);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

typedef struct BenchOpts {
    char *zk;
    gint64 records;
    gboolean json;
} BenchOpts;

static int bench_run(const BenchOpts *o, const char *tmp, BenchStats *b, SimLiveSummary *sum,
                     int64_t *zk_ops) {
    char *file = g_build_filename(tmp, "bench-live.ini", NULL);
    char *run = g_build_filename(tmp, "run", NULL);
    g_file_set_contents(file, bench_scenario, -1, NULL);
    GPtrArray *sets = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(sets, g_strdup_printf("operator.source.records=%" G_GINT64_FORMAT,
                                          o->records));
    if (o->zk != NULL) {
        g_ptr_array_add(sets, g_strdup("high-availability.type=zookeeper"));
        g_ptr_array_add(sets, g_strdup_printf("high-availability.zookeeper.quorum=%s", o->zk));
        g_ptr_array_add(sets, g_strdup("high-availability.storageDir=ha"));
        g_ptr_array_add(sets, g_strdup_printf("high-availability.cluster-id=bench-%d",
                                              (int)getpid()));
    }
    g_ptr_array_add(sets, NULL);
    SimLiveArgs a;
    memset(&a, 0, sizeof a);
    a.sets = (char **)sets->pdata;
    a.dir = run;
    a.id = -1;
    a.event_fd = -1;
    a.secret_fd = -1;
    int64_t before = o->zk != NULL ? zk_received(o->zk) : -1;
    int status = sim_live_run(&a, file, false, sum);
    int64_t after = o->zk != NULL ? zk_received(o->zk) : -1;
    *zk_ops = before >= 0 && after >= before ? after - before : -1;
    if (status != SIM_EXIT_BAD_INPUT && !read_events(run, b))
        status = SIM_EXIT_BAD_INPUT;
    g_ptr_array_unref(sets);
    g_free(file);
    g_free(run);
    return status;
}

static void bench_report(const BenchOpts *o, int status, BenchStats *b, const SimLiveSummary *s,
                         int64_t zk_ops) {
    double secs = (double)(b->last_commit_ns - b->first_emit_ns) / 1e9;
    double rps = secs > 0 ? (double)b->commits / secs : 0;
    double p50 = percentile_ms(b->durations_ns, 0.5), p99 = percentile_ms(b->durations_ns, 0.99);
    double zk = zk_ops >= 0 && s->checkpoints_completed > 0
                    ? (double)zk_ops / (double)s->checkpoints_completed
                    : 0;
    const char *verdict = status == SIM_EXIT_OK ? "pass" : "violation";
    if (o->json) {
        JsonBuilder *jb = json_builder_new();
        json_builder_begin_object(jb);
        sim_json_add_string(jb, "benchmark", "live");
        sim_json_add_string(jb, "verdict", verdict);
        sim_json_add_u64(jb, "records", b->commits);
        sim_json_add_double(jb, "records_per_s", rps, 0);
        sim_json_add_double(jb, "checkpoint_p50_ms", p50, 2);
        sim_json_add_double(jb, "checkpoint_p99_ms", p99, 2);
        if (o->zk != NULL) {
            sim_json_add_double(jb, "zk_ops_per_checkpoint", zk, 1);
        } else {
            json_builder_set_member_name(jb, "zk_ops_per_checkpoint");
            json_builder_add_null_value(jb);
        }
        sim_json_add_u64(jb, "checkpoints", b->durations_ns->len);
        sim_json_add_double(jb, "seconds", secs, 3);
        json_builder_end_object(jb);
        char *text = sim_json_finish(jb);
        printf("%s\n", text);
        g_free(text);
    } else {
        printf("live: %s, %" PRIu64 " records in %.3f s: %.0f records/s; checkpoint p50 %.2f "
               "ms, p99 %.2f ms over %u checkpoints",
               verdict, b->commits, secs, rps, p50, p99, b->durations_ns->len);
        if (o->zk != NULL)
            printf("; ZooKeeper requests per checkpoint %.1f (pings included)", zk);
        printf("\n");
    }
}

int sim_bench_live(int argc, char **argv) {
    BenchOpts o = {NULL, 300000, FALSE};
    GOptionEntry entries[] = {
        {"zk", 0, 0, G_OPTION_ARG_STRING, &o.zk, "ZooKeeper HA on this server", "HOST:PORT"},
        {"records", 0, 0, G_OPTION_ARG_INT64, &o.records, "records (default 300000)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &o.json, "one JSON object", NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- a live job end to end (bench live)");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *e = NULL;
    int status = SIM_EXIT_BAD_INPUT;
    if (!g_option_context_parse(ctx, &argc, &argv, &e) || o.records < 1) {
        fprintf(stderr, "ckptsim bench live: %s\n", e != NULL ? e->message : "--records >= 1");
        g_clear_error(&e);
    } else {
        char *tmp = g_dir_make_tmp("ckptsim-bench-live-XXXXXX", NULL);
        BenchStats b = {0, 0, 0, g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free),
                        g_array_new(FALSE, FALSE, sizeof(uint64_t))};
        SimLiveSummary sum = {0};
        int64_t zk_ops = -1;
        status = tmp != NULL ? bench_run(&o, tmp, &b, &sum, &zk_ops) : SIM_EXIT_BAD_INPUT;
        if (status != SIM_EXIT_BAD_INPUT)
            bench_report(&o, status, &b, &sum, zk_ops);
        if (tmp != NULL)
            remove_tree(tmp, 0);
        g_hash_table_unref(b.trigger_ns);
        g_array_unref(b.durations_ns);
        g_free(tmp);
    }
    g_free(o.zk);
    g_option_context_free(ctx);
    return status;
}
