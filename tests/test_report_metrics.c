/* test_report_metrics.c - the metrics collector: exact CSV contents for a synthetic
 * event stream (throughput bins, latency quantiles, checkpoint rows with sizes read
 * from metadata, alignments, recovery, markers), bin coarsening on long runs, the
 * histogram's error bound, and a well-formed, deterministic trace.json.
 */
#include <check.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/report/sim_metrics.h"
#include "sim/report/sim_metrics_internal.h"
#include "tests/support/test_check.h"

#define MS UINT64_C(1000000)

static GBytes *files_read(void *ctx, const char *path) {
    GBytes *b = g_hash_table_lookup(ctx, path);
    return b != NULL ? g_bytes_ref(b) : NULL;
}

static char **files_list(void *ctx, const char *dir) {
    return g_new0(char *, 1);
}

static void ev_at(SimMetrics *m, RtEventKind kind, uint64_t t, uint64_t ckpt, uint64_t a,
                  uint64_t c) {
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ns = t;
    ev.checkpoint_id = ckpt;
    ev.a = a;
    ev.c = c;
    ev.process = 1;
    ev.subtask = (RtSubtaskId){1, 0};
    sim_metrics_event(m, &ev);
}

static char *slurp(const char *dir, const char *name) {
    char *path = g_build_filename(dir, name, NULL);
    char *text = NULL;
    ck_assert_msg(g_file_get_contents(path, &text, NULL, NULL), "missing %s", path);
    g_free(path);
    return text;
}

/* A metadata file whose two handles have 100 and 250 bytes. */
static GBytes *metadata_with_sizes(void) {
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new("job", 1, 0, 0, 1);
    uint64_t sizes[2] = {100, 250};
    for (uint16_t i = 0; i < 2; i++) {
        RtStateHandle *h = rt_state_handle_new("filesystem", "x", 1, sizes[i], 0, NULL);
        GBytes *hb = rt_state_handle_encode(h);
        rt_completed_checkpoint_add(cp, (RtSubtaskId){0, i}, 1, hb);
        g_bytes_unref(hb);
        rt_state_handle_free(h);
    }
    GBytes *b = rt_ckpt_metadata_encode(cp);
    rt_completed_checkpoint_free(cp);
    return b;
}

static void feed_run(SimMetrics *m) {
    /* Bin 0 (0-100 ms): 3 emitted, 2 committed with latencies 1 ms and 3 ms. */
    ev_at(m, RT_EV_RECORD_EMIT, 10 * MS, 0, 0, 0);
    ev_at(m, RT_EV_RECORD_EMIT, 20 * MS, 0, 1, 0);
    ev_at(m, RT_EV_RECORD_EMIT, 30 * MS, 0, 2, 0);
    ev_at(m, RT_EV_SINK_COMMIT_RECORD, 40 * MS, 0, 0, 1 * MS);
    ev_at(m, RT_EV_SINK_COMMIT_RECORD, 50 * MS, 0, 0, 3 * MS);
    /* Checkpoint 1: 100 ms -> 150 ms, two acks, one alignment of 5 ms. */
    ev_at(m, RT_EV_CKPT_TRIGGER, 100 * MS, 1, 0, 0);
    ev_at(m, RT_EV_ALIGN_START, 110 * MS, 1, 0, 0);
    ev_at(m, RT_EV_ALIGN_END, 115 * MS, 1, 5 * MS, 0);
    ev_at(m, RT_EV_SNAPSHOT_SYNC, 115 * MS, 1, 0, 0);
    ev_at(m, RT_EV_SNAPSHOT_PERSISTED, 120 * MS, 1, 0, 0);
    ev_at(m, RT_EV_CKPT_ACK, 121 * MS, 1, 0, 0);
    ev_at(m, RT_EV_CKPT_ACK, 122 * MS, 1, 0, 0);
    RtEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = RT_EV_CKPT_COMPLETE;
    ev.time_ns = 150 * MS;
    ev.checkpoint_id = 1;
    ev.a = 50 * MS;
    ev.detail = "checkpoints/job/chk-1/_metadata";
    sim_metrics_event(m, &ev);
    /* Checkpoint 2 aborted; a crash, failover, restore of 1, running again. */
    ev_at(m, RT_EV_CKPT_TRIGGER, 200 * MS, 2, 0, 0);
    ev_at(m, RT_EV_WORLD_CRASH, 210 * MS, 0, 0, 0);
    ev_at(m, RT_EV_FAILOVER, 220 * MS, 0, 2, 0);
    ev_at(m, RT_EV_CKPT_ABORT, 225 * MS, 2, 0, 0);
    ev_at(m, RT_EV_RESTORE, 240 * MS, 1, 2, 0);
    ev_at(m, RT_EV_JOB_RUNNING, 320 * MS, 0, 2, 0);
    ev_at(m, RT_EV_SINK_COMMIT_RECORD, 330 * MS, 0, 0, 2 * MS);
    ev_at(m, RT_EV_JOB_FINISHED, 400 * MS, 0, 0, 0);
}

/* trace.json parses (json-glib) and holds the checkpoint span, its alignment on the
 * subtask's track, the recovery, the crash instant and the process's name. */
static void check_trace(const char *dir) {
    char *path = g_build_filename(dir, "trace.json", NULL);
    JsonParser *p = json_parser_new();
    GError *err = NULL;
    ck_assert_msg(json_parser_load_from_file(p, path, &err), "%s", err ? err->message : "");
    JsonObject *root = json_node_get_object(json_parser_get_root(p));
    JsonArray *evs = json_object_get_array_member(root, "traceEvents");
    bool ckpt = false, align = false, recovery = false, crash = false, pname = false;
    for (guint i = 0; i < json_array_get_length(evs); i++) {
        JsonObject *e = json_array_get_object_element(evs, i);
        const char *name = json_object_get_string_member(e, "name");
        const char *ph = json_object_get_string_member(e, "ph");
        if (strcmp(name, "checkpoint 1") == 0 && strcmp(ph, "X") == 0 &&
            json_object_get_int_member(e, "tid") == 0) {
            ckpt = true;
            ck_assert(json_object_get_double_member(e, "ts") == 100000.0);
            ck_assert(json_object_get_double_member(e, "dur") == 50000.0);
        }
        align |= strcmp(name, "align 1") == 0 && json_object_get_int_member(e, "tid") == 1001;
        recovery |= strcmp(name, "recovery (restore 1)") == 0;
        crash |= strcmp(name, "crash process 1") == 0 && strcmp(ph, "i") == 0;
        pname |= strcmp(name, "process_name") == 0;
    }
    ck_assert(ckpt && align && recovery && crash && pname);
    g_object_unref(p);
    g_free(path);
}

START_TEST(test_csv_contents) {
    GHashTable *files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify)g_bytes_unref);
    g_hash_table_insert(files, g_strdup("checkpoints/job/chk-1/_metadata"),
                        metadata_with_sizes());
    SimOracleFiles fv = {.read = files_read, .list = files_list, .ctx = files};
    SimMetrics *m = sim_metrics_new(NULL, &fv, 0);
    feed_run(m);
    char *dir = g_dir_make_tmp("ckptsim-metrics-XXXXXX", NULL);
    ck_assert_ptr_nonnull(dir);
    SimMetricsRunInfo info = {"linear", 7, "ok", 0xabcdefu, 400 * MS, NULL, "aligned"};
    GError *err = NULL;
    ck_assert_msg(sim_metrics_write(m, dir, &info, &err), "%s", err ? err->message : "");

    char *t = slurp(dir, "throughput.csv");
    /* No completed pair of checkpoints: the committed rate is smoothed over 1 s (10
     * bins, clipped to the 4 there are); the totals are cumulative. */
    ck_assert_str_eq(t, "time_s,emitted,committed,emitted_per_s,committed_per_s,"
                        "emitted_total,committed_total,committed_smooth_per_s\n"
                        "0.000000,3,2,30.000,20.000,3,2,7.500\n"
                        "0.100000,0,0,0.000,0.000,3,2,7.500\n"
                        "0.200000,0,0,0.000,0.000,3,2,7.500\n"
                        "0.300000,0,1,0.000,10.000,3,3,7.500\n");
    g_free(t);
    t = slurp(dir, "latency.csv");
    /* Exact nearest-rank percentiles of {1 ms, 3 ms}: p50 = 1 ms, p90 = p99 = 3 ms; the
     * bins with commits are 3 apart, once: no outage, no break. */
    ck_assert_str_eq(t, "time_s,count,p50_ms,p90_ms,p99_ms,max_ms\n"
                        "0.000000,2,1.000,3.000,3.000,3.000\n"
                        "0.300000,1,2.000,2.000,2.000,2.000\n");
    g_free(t);
    t = slurp(dir, "latency_cdf.csv");
    ck_assert_str_eq(t, "latency_ms,fraction\n1.000,0.333333\n2.000,0.666666\n"
                        "3.000,1.000000\n");
    g_free(t);
    t = slurp(dir, "checkpoints.csv");
    /* Checkpoint 1: the subtask's barrier-less snapshot at 115 ms (a source: start delay
     * 15 ms), alignment 5 ms, async 5 ms; checkpoint 2 aborted unmeasured (empty). */
    ck_assert_str_eq(t, "id,trigger_s,end_s,status,duration_ms,size_bytes,acks,align_max_ms,"
                        "align_mean_ms,start_delay_max_ms,sync_max_ms,async_max_ms,"
                        "state_bytes,channel_bytes,crit_start_delay_ms,crit_align_ms,"
                        "crit_sync_ms,crit_async_ms,reason\n"
                        "1,0.100000,0.150000,completed,50.000,350,2,5.000,5.000,15.000,"
                        "0.000,5.000,0,0,15.000,5.000,0.000,5.000,\n"
                        "2,0.200000,0.225000,aborted,25.000,0,0,,,,,,0,0,,,,,\n");
    g_free(t);
    t = slurp(dir, "checkpoint_subtasks.csv");
    ck_assert_str_eq(t, "id,subtask,process,ack_s,start_delay_ms,alignment_ms,sync_ms,"
                        "async_ms,state_bytes,channel_bytes\n"
                        "1,op1[0],process 1,0.120000,15.000,5.000,0.000,5.000,0,0\n");
    g_free(t);
    t = slurp(dir, "alignments.csv");
    ck_assert_str_eq(t, "id,op,subtask,end_s,duration_ms\n1,1,0,0.115000,5.000\n");
    g_free(t);
    t = slurp(dir, "recovery.csv");
    ck_assert_str_eq(t, "failover_s,running_s,recovery_ms,attempt,restored_checkpoint\n"
                        "0.220000,0.320000,100.000,2,1\n");
    g_free(t);
    t = slurp(dir, "faults.csv");
    /* The crash never restarts: its interval runs to the run's last event. */
    ck_assert_str_eq(t, "start_s,end_s,kind,target,label\n"
                        "0.210000,0.400000,crash,process 1,crash process 1\n");
    g_free(t);
    t = slurp(dir, "markers.csv");
    ck_assert_str_eq(t, "time_s,kind,label\n"
                        "0.150000,complete,checkpoint 1\n"
                        "0.210000,fault,crash process 1\n"
                        "0.220000,failover,failover: \n"
                        "0.225000,abort,checkpoint 2 aborted: \n"
                        "0.400000,finished,job finished\n");
    g_free(t);
    t = slurp(dir, "summary.csv");
    ck_assert(strstr(t, "scenario,linear\nseed,7\nverdict,ok\nmode,aligned\n"
                        "trace_hash,0000000000abcdef\n") != NULL);
    ck_assert(strstr(t, "records_committed,3\nlatency_percentiles,exact\n"
                        "latency_p50_ms,2.000\n") != NULL);
    ck_assert(strstr(t, "checkpoints_completed,1\ncheckpoints_aborted,1\n") != NULL);
    ck_assert(strstr(t, "recoveries,1\nrecovery_mean_ms,100.000\nfaults,1\n") != NULL);
    g_free(t);
    check_trace(dir);
    SimMetricsSummary s;
    sim_metrics_get_summary(m, &s);
    ck_assert_uint_eq(s.records_emitted, 3);
    ck_assert_uint_eq(s.latency_max_ns, 3 * MS);
    ck_assert_uint_eq(s.alignment_max_ns, 5 * MS);
    sim_metrics_free(m);
    g_hash_table_unref(files);
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
    g_free(dir);
}
END_TEST

START_TEST(test_histogram_error_bound) {
    uint64_t hist[SIM_HIST_BUCKETS] = {0};
    for (uint64_t v = 0; v < 5000000; v = v * 9 / 8 + 1) {
        uint32_t b = sim_hist_bucket(v);
        uint64_t mid = sim_hist_bucket_mid(b);
        ck_assert(sim_hist_bucket(mid) == b);
        uint64_t diff = mid > v ? mid - v : v - mid;
        ck_assert_msg(diff * 8 <= v + 8, "v=%" G_GUINT64_FORMAT " mid=%" G_GUINT64_FORMAT, v,
                      mid);
    }
    ck_assert_uint_eq(sim_hist_bucket(UINT64_MAX), SIM_HIST_BUCKETS - 1);
    /* 100 values 1..100 ms: p50 ~ 50 ms, p99 ~ 99 ms, within a bucket. */
    for (uint64_t i = 1; i <= 100; i++)
        hist[sim_hist_bucket(i * MS)]++;
    uint64_t p50 = sim_hist_quantile(hist, 100, 100 * MS, 0.5);
    uint64_t p99 = sim_hist_quantile(hist, 100, 100 * MS, 0.99);
    ck_assert(p50 >= 45 * MS && p50 <= 56 * MS);
    ck_assert(p99 >= 90 * MS && p99 <= 100 * MS);
    ck_assert_uint_eq(sim_hist_quantile(hist, 0, 0, 0.5), 0);
}
END_TEST

START_TEST(test_bins_coarsen_on_long_runs) {
    SimMetrics *m = sim_metrics_new(NULL, NULL, 0);
    uint64_t total = 0;
    /* One record per simulated second for an hour: 36000 bins of 100 ms would be too
     * many, so the width doubles until at most SIM_METRICS_MAX_BINS remain. */
    for (uint64_t s = 0; s < 3600; s++) {
        ev_at(m, RT_EV_RECORD_EMIT, s * 1000 * MS, 0, s, 0);
        total++;
    }
    SimMetricsSummary sum;
    sim_metrics_get_summary(m, &sum);
    ck_assert_uint_eq(sum.bin_ns, 1600 * MS);
    ck_assert_uint_eq(sum.records_emitted, total);
    char *dir = g_dir_make_tmp("ckptsim-metrics-XXXXXX", NULL);
    ck_assert(sim_metrics_write(m, dir, NULL, NULL));
    char *t = slurp(dir, "throughput.csv");
    uint64_t rows = 0, emitted = 0;
    char **lines = g_strsplit(t, "\n", -1);
    for (char **l = lines + 1; *l != NULL && **l != '\0'; l++) {
        rows++;
        emitted += g_ascii_strtoull(strchr(*l, ',') + 1, NULL, 10);
    }
    ck_assert_uint_le(rows, SIM_METRICS_MAX_BINS);
    ck_assert_uint_eq(emitted, total); /* merging keeps every record */
    g_strfreev(lines);
    g_free(t);
    sim_metrics_free(m);
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(cmd);
    g_free(dir);
}
END_TEST

START_TEST(test_output_is_deterministic) {
    char *texts[2];
    for (int r = 0; r < 2; r++) {
        SimMetrics *m = sim_metrics_new(NULL, NULL, 0);
        sim_metrics_name_process(m, 1, "worker-1");
        feed_run(m);
        char *dir = g_dir_make_tmp("ckptsim-metrics-XXXXXX", NULL);
        ck_assert(sim_metrics_write(m, dir, NULL, NULL));
        texts[r] = slurp(dir, "trace.json");
        ck_assert(strstr(texts[r], "\"worker-1\"") != NULL);
        sim_metrics_free(m);
        char *cmd = g_strdup_printf("rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
        g_free(cmd);
        g_free(dir);
    }
    ck_assert_str_eq(texts[0], texts[1]);
    g_free(texts[0]);
    g_free(texts[1]);
}
END_TEST

START_TEST(test_write_error_names_path) {
    SimMetrics *m = sim_metrics_new(NULL, NULL, 0);
    GError *err = NULL;
    ck_assert(!sim_metrics_write(m, "/proc/ckptsim-no-such-dir", NULL, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert(strstr(err->message, "/proc/ckptsim-no-such-dir") != NULL);
    g_error_free(err);
    sim_metrics_free(m);
}
END_TEST

static Suite *report_metrics_suite(void) {
    Suite *s = suite_create("report_metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_csv_contents);
    tcase_add_test(tc, test_histogram_error_bound);
    tcase_add_test(tc, test_bins_coarsen_on_long_runs);
    tcase_add_test(tc, test_output_is_deterministic);
    tcase_add_test(tc, test_write_error_names_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(report_metrics_suite());
}
