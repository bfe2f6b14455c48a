/* sim_cmd_zk.c - `ckptsim zk`: ZooKeeper tools. `probe` measures a real server (connect
 * time; median, p99 and max latency of create, get, set and delete; pipelined set
 * throughput) through rt_coord_zk_probe(); the simulated ensemble's default latencies
 * (sim_zk_config_init) were taken from its output. Exit 2 on a malformed or unreachable
 * quorum, 1 when a measured call fails.
 */
#include <stdio.h>
#include <string.h>

#include "runtime/coord/rt_coord_zk.h"
#include "sim/harness/sim_cli_json.h"
#include "sim/sim_commands.h"

static void print_op(const char *name, const RtCoordZkOpFigures *f) {
    printf("  %-7s n=%-6u median %8.1f us   p99 %8.1f us   max %8.1f us\n", name, f->n,
           f->median_us, f->p99_us, f->max_us);
}

static void json_op(JsonBuilder *b, const char *name, const RtCoordZkOpFigures *f) {
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    sim_json_add_u64(b, "n", f->n);
    sim_json_add_double(b, "median_us", f->median_us, 1);
    sim_json_add_double(b, "p99_us", f->p99_us, 1);
    sim_json_add_double(b, "max_us", f->max_us, 1);
    json_builder_end_object(b);
}

/* The probe's figures as one JSON object (json-glib). */
static void print_json(const char *zk, const RtCoordZkProbeConfig *cfg,
                       const RtCoordZkProbeResult *r) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    sim_json_add_string(b, "zk", zk);
    sim_json_add_double(b, "connect_ms", r->connect_ms, 3);
    sim_json_add_u64(b, "session_timeout_ms", r->session_timeout_ms);
    sim_json_add_u64(b, "data_bytes", cfg->data_bytes);
    json_builder_set_member_name(b, "ops");
    json_builder_begin_object(b);
    json_op(b, "create", &r->create);
    json_op(b, "get", &r->get);
    json_op(b, "set", &r->set);
    json_op(b, "delete", &r->delete);
    json_builder_end_object(b);
    sim_json_add_double(b, "pipelined_set_ops_per_s", r->pipelined_set_ops_per_s, 0);
    sim_json_add_u64(b, "window", r->window);
    sim_json_add_u64(b, "pipelined_sets", cfg->pipelined_sets);
    json_builder_end_object(b);
    char *text = sim_json_finish(b);
    printf("%s\n", text);
    g_free(text);
}

static void print_result(const char *zk, const RtCoordZkProbeConfig *cfg,
                         const RtCoordZkProbeResult *r, bool json) {
    if (json) {
        print_json(zk, cfg, r);
        return;
    }
    printf("ZooKeeper at %s: connected in %.3f ms (session timeout %llu ms), %zu-byte data\n",
           zk, r->connect_ms, (unsigned long long)r->session_timeout_ms, cfg->data_bytes);
    print_op("create", &r->create);
    print_op("get", &r->get);
    print_op("set", &r->set);
    print_op("delete", &r->delete);
    printf("  pipelined sets: %.0f ops/s (%u sets, window %u)\n", r->pipelined_set_ops_per_s,
           cfg->pipelined_sets, r->window);
}

static int cmd_probe(int argc, char **argv) {
    gchar *zk = NULL, *timeout = NULL;
    gboolean json = FALSE;
    gint calls = 500, sets = 20000, window = 256, data = 100;
    GOptionEntry entries[] = {
        {"zk", 0, 0, G_OPTION_ARG_STRING, &zk, "server(s) to measure (required)",
         "HOST:PORT[,...]"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object on stdout", NULL},
        {"calls", 0, 0, G_OPTION_ARG_INT, &calls, "calls per op kind (500)", "N"},
        {"pipelined", 0, 0, G_OPTION_ARG_INT, &sets, "sets in the throughput run (20000)", "N"},
        {"window", 0, 0, G_OPTION_ARG_INT, &window, "sets in flight at most (256)", "N"},
        {"data-bytes", 0, 0, G_OPTION_ARG_INT, &data, "payload of creates and sets (100)", "N"},
        {"connect-timeout", 0, 0, G_OPTION_ARG_STRING, &timeout,
         "give up connecting after this (15 s)", "DURATION"},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionContext *ctx = g_option_context_new("- measure a real ZooKeeper server");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *err = NULL;
    int rc = SIM_EXIT_OK;
    RtCoordZkProbeConfig cfg;
    rt_coord_zk_probe_config_init(&cfg);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "ckptsim zk probe: %s\n", err->message);
        rc = SIM_EXIT_BAD_INPUT;
    } else if (zk == NULL || argc > 1) {
        fprintf(stderr, "ckptsim zk probe: --zk HOST:PORT is required (no other arguments)\n");
        rc = SIM_EXIT_BAD_INPUT;
    } else if (timeout && !rt_parse_duration_ns(timeout, &cfg.connect_timeout_ns)) {
        fprintf(stderr, "ckptsim zk probe: bad --connect-timeout '%s'\n", timeout);
        rc = SIM_EXIT_BAD_INPUT;
    }
    if (rc == SIM_EXIT_OK) {
        cfg.connect_string = zk;
        cfg.calls = calls > 0 ? (unsigned)calls : 0;
        cfg.pipelined_sets = sets > 0 ? (unsigned)sets : 0;
        cfg.window = window > 0 ? (unsigned)window : 0;
        cfg.data_bytes = data >= 0 ? (size_t)data : 1u << 20;
        RtCoordZkProbeResult r;
        if (rt_coord_zk_probe(&cfg, &r, &err)) {
            print_result(zk, &cfg, &r, json);
        } else {
            fprintf(stderr, "ckptsim zk probe: %s\n", err->message);
            bool bad =
                err->code == RT_COORD_ERROR_CONFIG || err->code == RT_COORD_ERROR_UNREACHABLE;
            rc = bad ? SIM_EXIT_BAD_INPUT : SIM_EXIT_VIOLATION;
        }
    }
    g_clear_error(&err);
    g_option_context_free(ctx);
    g_free(zk);
    g_free(timeout);
    return rc;
}

int sim_cmd_zk(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "probe") == 0)
        return cmd_probe(argc - 1, argv + 1);
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    fprintf(help ? stdout : stderr,
            "Usage: ckptsim zk probe --zk HOST:PORT [--json] [--calls N] [--pipelined N]\n"
            "                        [--window N] [--data-bytes N] [--connect-timeout DUR]\n"
            "  probe   measure a real ZooKeeper server: connect time, median/p99 latency of\n"
            "          create, get, set, delete, and pipelined set throughput\n");
    return help ? SIM_EXIT_OK : SIM_EXIT_BAD_INPUT;
}
