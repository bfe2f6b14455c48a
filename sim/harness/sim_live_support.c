/* sim_live_support.c - the parts of `ckptsim live` around the run (sim_live_internal.h):
 * its options, the run's state, the oracle's read-only view of the real files (and of
 * the zookeeper state backend's znodes), and the verdict's output. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/env/rt_config.h"
#include "runtime/live/rt_live_zk_reader.h"
#include "runtime/state/rt_backend_zk.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/harness/sim_cli_json.h"
#include "sim/harness/sim_cli.h"
#include "sim/harness/sim_live_internal.h"
#include "sim/harness/sim_run.h"

#define ZK_READER_CONNECT_NS 5000000000ull
#define MAX_LISTED_FILES 1000000u

/* ------------------------------------------------------------------ files */

static void kept_clear(gpointer data) {
    SimLiveKept *k = data;
    g_free(k->path);
    g_bytes_unref(k->data);
}

void sim_live_files_init(SimLiveFiles *f, const char *root, const char *zk_quorum) {
    memset(f, 0, sizeof *f);
    f->root = g_strdup(root);
    f->zk_quorum = g_strdup(zk_quorum);
    f->kept = g_array_new(FALSE, TRUE, sizeof(SimLiveKept));
    g_array_set_clear_func(f->kept, kept_clear);
}

void sim_live_files_clear(SimLiveFiles *f) {
    if (f->kept != NULL)
        g_array_unref(f->kept);
    rt_live_zk_reader_free(f->zk_reader);
    g_free(f->root);
    g_free(f->zk_quorum);
    memset(f, 0, sizeof *f);
}

static GBytes *zk_read(void *ctx, const char *path) {
    return rt_live_zk_reader_get(ctx, path);
}

/* A zookeeper state backend snapshot, assembled from its znodes as restore would. */
static GBytes *read_znodes(SimLiveFiles *f, const char *path) {
    if (f->zk_quorum == NULL || f->zk_failed)
        return NULL;
    if (f->zk_reader == NULL) {
        GError *e = NULL;
        f->zk_reader = rt_live_zk_reader_new(f->zk_quorum, ZK_READER_CONNECT_NS, &e);
        if (f->zk_reader == NULL) {
            fprintf(stderr, "ckptsim live: the checker cannot read ZooKeeper: %s\n", e->message);
            g_error_free(e);
            f->zk_failed = true;
            return NULL;
        }
    }
    return rt_backend_zk_assemble(path, zk_read, f->zk_reader, NULL);
}

/* The file or snapshot as it is now (disk or ZooKeeper), NULL when absent. */
static GBytes *read_now(SimLiveFiles *f, const char *path) {
    if (path[0] == '/')
        return read_znodes(f, path);
    if (!rt_storage_path_valid(path))
        return NULL;
    char *full = g_build_filename(f->root, path, NULL);
    char *data = NULL;
    gsize len = 0;
    GBytes *b = NULL;
    if (g_file_test(full, G_FILE_TEST_IS_REGULAR) && g_file_get_contents(full, &data, &len, NULL))
        b = g_bytes_new_take(data, len);
    g_free(full);
    return b;
}

GBytes *sim_live_files_read(void *ctx, const char *path) {
    SimLiveFiles *f = ctx;
    GBytes *b = read_now(f, path);
    for (guint i = 0; b == NULL && f->delivering_id != 0 && i < f->kept->len; i++) {
        const SimLiveKept *k = &g_array_index(f->kept, SimLiveKept, i);
        if (k->checkpoint_id == f->delivering_id && strcmp(k->path, path) == 0)
            b = g_bytes_ref(k->data);
    }
    return b;
}

static void keep(SimLiveFiles *f, uint64_t id, const char *path, GBytes *data) {
    if (f->kept->len >= SIM_LIVE_MAX_KEPT) {
        g_bytes_unref(data); /* bounded: the oracle then reads the disk only */
        return;
    }
    SimLiveKept k = {id, g_strdup(path), data};
    g_array_append_val(f->kept, k);
}

/* Keeps the snapshot behind one encoded state handle (inline handles need nothing). */
static void keep_handle(SimLiveFiles *f, uint64_t id, GBytes *handle) {
    size_t len = 0;
    const void *data = g_bytes_get_data(handle, &len);
    RtStateHandle *h = NULL;
    if (len == 0 || !rt_state_handle_decode(data, len, &h, NULL))
        return;
    GBytes *b = h->location != NULL && h->location[0] != '\0' ? read_now(f, h->location) : NULL;
    if (b != NULL)
        keep(f, id, h->location, b);
    rt_state_handle_free(h);
}

void sim_live_files_keep_checkpoint(SimLiveFiles *f, uint64_t checkpoint_id,
                                    const char *metadata_path) {
    GBytes *meta = read_now(f, metadata_path);
    if (meta == NULL)
        return; /* not durable at completion: the oracle will say so */
    size_t len = 0;
    const void *data = g_bytes_get_data(meta, &len);
    RtCompletedCheckpoint *cp = NULL;
    if (rt_ckpt_metadata_decode(data, len, &cp, NULL)) {
        for (guint i = 0; i < cp->subtasks->len; i++)
            keep_handle(f, checkpoint_id,
                        g_array_index(cp->subtasks, RtCkptSubtaskState, i).handle);
        rt_completed_checkpoint_free(cp);
    }
    keep(f, checkpoint_id, metadata_path, meta);
}

void sim_live_files_forget_checkpoint(SimLiveFiles *f, uint64_t checkpoint_id) {
    for (guint i = f->kept->len; i > 0; i--)
        if (g_array_index(f->kept, SimLiveKept, i - 1).checkpoint_id == checkpoint_id)
            g_array_remove_index(f->kept, i - 1);
}

static gint cmp_str(gconstpointer a, gconstpointer b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **sim_live_files_list(void *ctx, const char *dir) {
    SimLiveFiles *f = ctx;
    GPtrArray *names = g_ptr_array_new();
    char *full = dir[0] == '\0' ? g_strdup(f->root) : g_build_filename(f->root, dir, NULL);
    GDir *d = rt_storage_path_valid(dir) || dir[0] == '\0' ? g_dir_open(full, 0, NULL) : NULL;
    const char *name;
    while (d != NULL && names->len < MAX_LISTED_FILES && (name = g_dir_read_name(d)) != NULL) {
        char *p = g_build_filename(full, name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add(names, g_strdup(name));
        g_free(p);
    }
    if (d != NULL)
        g_dir_close(d);
    g_free(full);
    g_ptr_array_sort(names, cmp_str);
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

/* ------------------------------------------------------------------ options */

GOptionContext *sim_live_option_context(SimLiveArgs *a) {
    GOptionEntry entries[] = {
        {"seed", 0, 0, G_OPTION_ARG_STRING, &a->seed, "seed (default: [scenario] seed)", "N"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a->sets,
         "override a key: section.key=value, or a Flink key", "K=V"},
        {"bug", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a->bugs, "enable a planted bug", "NAME"},
        {"dir", 0, 0, G_OPTION_ARG_FILENAME, &a->dir,
         "run directory, new or empty (default: a new temporary one)", "DIR"},
        {"base-port", 0, 0, G_OPTION_ARG_INT, &a->base_port,
         "process p listens on 127.0.0.1:P+p (default: a free range)", "P"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &a->json, "print one JSON object", NULL},
        {"time-limit", 0, 0, G_OPTION_ARG_STRING, &a->time_limit,
         "stop the run after this long (default: [scenario] time-limit)", "D"},
        {"role", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &a->role, NULL, NULL},
        {"id", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &a->id, NULL, NULL},
        {"event-fd", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &a->event_fd, NULL, NULL},
        {"secret-fd", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT, &a->secret_fd, NULL, NULL},
        {"origin-us", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_INT64, &a->origin_us, NULL, NULL},
        {"storage", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &a->storage, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO - run a scenario's job for real");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Runs the scenario's job with the same runtime as real processes on this machine:\n"
             "one process per job manager and worker, TCP on 127.0.0.1, real files with fsync\n"
             "under DIR/storage, and the real ZooKeeper client when the scenario uses ZooKeeper\n"
             "(high-availability.zookeeper.quorum, state.backend.type=zookeeper). Timed and\n"
             "event-triggered crash / restart faults are injected with SIGKILL and a restart;\n"
             "other fault kinds are reported as not supported live. The oracle then checks the\n"
             "merged events (DIR/events.jsonl) and the real files. Logs: DIR/logs/.\n"
             "Exit status: 0 everything held, 1 a violation, 2 bad input (scenario, port in use,\n"
             "unwritable directory, unreachable ZooKeeper).\n\n"
             "Examples:\n"
             "  ckptsim live scenarios/linear.ini --dir /tmp/live1\n"
             "  ckptsim live scenarios/linear.ini --set scenario.faults-stop-at=3s \\\n"
             "      --set 'faults.kill=at 1 s: crash worker-1 restart after 300 ms' --json\n"
             "  ckptsim live scenarios/crash-mid-alignment.ini --base-port 24000\n");
    return ctx;
}

/* ------------------------------------------------------------------ host */

bool sim_live_host_init(SimLiveHost *h, const SimLiveArgs *a, const SimScenario *s,
                        GError **error) {
    memset(h, 0, sizeof *h);
    h->s = s;
    h->seed = s->seed;
    h->time_limit_ns = s->time_limit_ns;
    h->warnings = g_ptr_array_new_with_free_func(g_free);
    h->restores = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    h->violations = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
    h->event_faults = g_array_new(FALSE, TRUE, sizeof(guint));
    h->event_matches = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    uint64_t mask = 0;
    if (a->seed != NULL && !sim_cli_parse_seed(a->seed, &h->seed)) {
        g_set_error(error, SIM_RUN_ERROR, SIM_RUN_ERROR_CONFIG, "--seed %s: expected a number",
                    a->seed);
        return false;
    }
    static const char *const no_bugs[] = {NULL};
    if (!sim_cli_parse_bugs(a->bugs != NULL ? (const char *const *)a->bugs : no_bugs, &mask)) {
        g_set_error(error, SIM_RUN_ERROR, SIM_RUN_ERROR_CONFIG, "unknown --bug");
        return false;
    }
    if (a->time_limit != NULL &&
        (!rt_parse_duration_ns(a->time_limit, &h->time_limit_ns) || h->time_limit_ns == 0)) {
        g_set_error(error, SIM_RUN_ERROR, SIM_RUN_ERROR_CONFIG,
                    "--time-limit %s: expected a duration such as '20 s'", a->time_limit);
        return false;
    }
    if (a->dir != NULL) {
        h->dir = g_strdup(a->dir);
        return true;
    }
    h->dir = g_dir_make_tmp("ckptsim-live-XXXXXX", error);
    h->dir_created = h->dir != NULL;
    return h->dir != NULL;
}

void sim_live_host_clear(SimLiveHost *h) {
    rt_live_cluster_free(h->cluster);
    sim_oracle_free(h->oracle);
    sim_live_files_clear(&h->files);
    if (h->restores != NULL)
        g_hash_table_unref(h->restores);
    if (h->plan != NULL)
        g_ptr_array_unref(h->plan);
    g_array_unref(h->event_faults);
    g_array_unref(h->event_matches);
    g_ptr_array_unref(h->warnings);
    g_ptr_array_unref(h->violations);
    rt_live_cluster_result_clear(&h->result);
    g_free(h->dir);
    memset(h, 0, sizeof *h);
}

/* ------------------------------------------------------------------ output */

static void print_json(const SimLiveHost *h, const char *file) {
    const SimOracleStats *o = &h->stats;
    const RtLiveClusterResult *r = &h->result;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    sim_json_add_string(b, "scenario", h->s->name);
    sim_json_add_string(b, "file", file);
    sim_json_add_u64(b, "seed", h->seed);
    sim_json_add_string(b, "mode", "live");
    sim_json_add_string(b, "verdict", h->violations->len == 0 ? "pass" : "violation");
    json_builder_set_member_name(b, "violations");
    json_builder_begin_array(b);
    for (guint i = 0; i < h->violations->len; i++) {
        const SimViolation *v = g_ptr_array_index(h->violations, i);
        json_builder_begin_object(b);
        sim_json_add_string(b, "invariant", v->invariant);
        sim_json_add_string(b, "message", v->message);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "warnings");
    json_builder_begin_array(b);
    for (guint i = 0; i < h->warnings->len; i++)
        sim_json_add_string(b, NULL, g_ptr_array_index(h->warnings, i));
    json_builder_end_array(b);
    sim_json_add_string(b, "end", r->end_reason != NULL ? r->end_reason : "unknown");
    sim_json_add_u64(b, "time_ns", h->end_ns);
    sim_json_add_u64(b, "events", r->events);
    sim_json_add_u64(b, "late_events", r->late_events);
    sim_json_add_u64(b, "bad_event_lines", r->bad_lines);
    sim_json_add_u64(b, "records_total", o->records_total);
    sim_json_add_u64(b, "records_committed", o->records_committed);
    sim_json_add_u64(b, "records_lost", o->records_lost);
    sim_json_add_u64(b, "records_duplicated", o->records_duplicated);
    sim_json_add_u64(b, "checkpoints_completed", o->checkpoints_completed);
    sim_json_add_u64(b, "checkpoints_checked", o->checkpoints_checked);
    sim_json_add_u64(b, "failovers", h->failovers);
    sim_json_add_u64(b, "crashes", r->crashes);
    sim_json_add_u64(b, "restarts", r->restarts);
    sim_json_add_u64(b, "faults_planned", h->faults_planned);
    sim_json_add_u64(b, "faults_fired", h->faults_fired);
    sim_json_add_u64(b, "base_port", rt_live_cluster_base_port(h->cluster));
    sim_json_add_string(b, "dir", h->dir);
    json_builder_end_object(b);
    char *text = sim_json_finish(b);
    printf("%s\n", text);
    g_free(text);
}

static void print_human(const SimLiveHost *h) {
    const SimOracleStats *o = &h->stats;
    const RtLiveClusterResult *r = &h->result;
    printf("%s seed %" PRIu64 " (live): %s - %s at t=%.3f s, %" PRIu64 " events, %" PRIu64
           " checkpoints, %" PRIu64 " failovers, %u crashes, %u restarts, %" PRIu64 "/%" PRIu64
           " records committed\n",
           h->s->name, h->seed, h->violations->len == 0 ? "held" : "VIOLATION",
           r->end_reason != NULL ? r->end_reason : "unknown", (double)h->end_ns / 1e9, r->events,
           o->checkpoints_completed, h->failovers, r->crashes, r->restarts, o->records_committed,
           o->records_total);
    for (guint i = 0; i < h->warnings->len; i++)
        printf("  warning: %s\n", (const char *)g_ptr_array_index(h->warnings, i));
    if (r->bad_lines > 0)
        printf("  warning: %" PRIu64 " event lines were malformed or dropped: the check "
               "saw less than happened\n",
               r->bad_lines);
    if (r->late_events > 0)
        printf("  warning: %" PRIu64 " events arrived after later ones were checked "
               "(their times were clamped)\n",
               r->late_events);
    for (guint i = 0; i < h->violations->len; i++) {
        char *line = sim_violation_to_string(g_ptr_array_index(h->violations, i));
        printf("  violated %s\n", line);
        g_free(line);
    }
    printf("  run directory: %s (events.jsonl, logs/, storage/); ports %u..%u\n", h->dir,
           rt_live_cluster_base_port(h->cluster),
           rt_live_cluster_base_port(h->cluster) + h->s->n_jobmanagers + h->s->n_workers - 1);
}

void sim_live_print(const SimLiveHost *h, bool json, const char *file) {
    if (json)
        print_json(h, file);
    else
        print_human(h);
}
