/* sim_metrics_write.c - writes the collected metrics as CSV files (and the trace, via
 * sim_metrics_trace.c) into a run's output directory. Numbers are printed with integer
 * arithmetic (seconds with 6 decimals, milliseconds with 3) so the files are identical
 * for identical runs, whatever the compiler.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/report/sim_metrics_internal.h"
#include "sim/report/sim_report_io.h"

static void put_s(FILE *f, uint64_t ns) {
    fprintf(f, "%" PRIu64 ".%06" PRIu64, ns / 1000000000u, (ns % 1000000000u) / 1000u);
}

static void put_ms(FILE *f, uint64_t ns) {
    fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000000u, (ns % 1000000u) / 1000u);
}

/* Records per second for count in a bin of bin_ns, with 3 decimals. */
static void put_rate(FILE *f, uint64_t count, uint64_t bin_ns) {
    __extension__ unsigned __int128 milli = (unsigned __int128)count * 1000000000000u / bin_ns;
    uint64_t v = (uint64_t)milli;
    fprintf(f, "%" PRIu64 ".%03" PRIu64, v / 1000u, v % 1000u);
}

static bool write_throughput(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "throughput.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "time_s,emitted,committed,emitted_per_s,committed_per_s\n");
    for (guint i = 0; i < m->bins->len; i++) {
        const SimBin *b = &g_array_index(m->bins, SimBin, i);
        put_s(f, (uint64_t)i * m->bin_ns);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 ",", b->emitted, b->committed);
        put_rate(f, b->emitted, m->bin_ns);
        fputc(',', f);
        put_rate(f, b->committed, m->bin_ns);
        fputc('\n', f);
    }
    return sim_report_close(f, dir, "throughput.csv", error);
}

static bool write_latency(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "latency.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "time_s,count,p50_ms,p90_ms,p99_ms,max_ms\n");
    for (guint i = 0; i < m->bins->len; i++) {
        const SimBin *b = &g_array_index(m->bins, SimBin, i);
        if (b->lat_count == 0)
            continue;
        put_s(f, (uint64_t)i * m->bin_ns);
        fprintf(f, ",%" PRIu64, b->lat_count);
        const double qs[3] = {0.50, 0.90, 0.99};
        for (int q = 0; q < 3; q++) {
            fputc(',', f);
            put_ms(f, sim_hist_quantile(b->hist, b->lat_count, b->lat_max, qs[q]));
        }
        fputc(',', f);
        put_ms(f, b->lat_max);
        fputc('\n', f);
    }
    return sim_report_close(f, dir, "latency.csv", error);
}

static const char *status_name(SimCkptStatus s) {
    return s == SIM_CKPT_COMPLETED ? "completed" : s == SIM_CKPT_ABORTED ? "aborted" : "pending";
}

static bool write_checkpoints(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "checkpoints.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "id,trigger_s,end_s,status,duration_ms,size_bytes,acks,align_max_ms,"
               "align_mean_ms\n");
    for (guint i = 0; i < m->ckpts->len; i++) {
        const SimCkptRow *r = &g_array_index(m->ckpts, SimCkptRow, i);
        fprintf(f, "%" PRIu64 ",", r->id);
        put_s(f, r->trigger_ns);
        fputc(',', f);
        put_s(f, r->end_ns);
        fprintf(f, ",%s,", status_name(r->status));
        put_ms(f, r->duration_ns);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 ",", r->size_bytes, r->acks);
        put_ms(f, r->align_max_ns);
        fputc(',', f);
        put_ms(f, r->align_n == 0 ? 0 : r->align_sum_ns / r->align_n);
        fputc('\n', f);
    }
    return sim_report_close(f, dir, "checkpoints.csv", error);
}

static bool write_alignments(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "alignments.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "id,op,subtask,end_s,duration_ms\n");
    for (guint i = 0; i < m->aligns->len; i++) {
        const SimAlignRow *a = &g_array_index(m->aligns, SimAlignRow, i);
        const char *op = NULL;
        if (m->graph != NULL && a->op < m->graph->operators->len)
            op = ((const RtOperatorSpec *)g_ptr_array_index(m->graph->operators, a->op))->name;
        if (op != NULL)
            fprintf(f, "%" PRIu64 ",%s,%u,", a->id, op, a->subtask);
        else
            fprintf(f, "%" PRIu64 ",%u,%u,", a->id, a->op, a->subtask);
        put_s(f, a->end_ns);
        fputc(',', f);
        put_ms(f, a->duration_ns);
        fputc('\n', f);
    }
    return sim_report_close(f, dir, "alignments.csv", error);
}

static bool write_recovery(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "recovery.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "failover_s,running_s,recovery_ms,attempt,restored_checkpoint\n");
    for (guint i = 0; i < m->recoveries->len; i++) {
        const SimRecoveryRow *r = &g_array_index(m->recoveries, SimRecoveryRow, i);
        if (r->running_ns == 0)
            continue; /* never running again: no recovery time */
        put_s(f, r->failover_ns);
        fputc(',', f);
        put_s(f, r->running_ns);
        fputc(',', f);
        put_ms(f, r->running_ns - r->failover_ns);
        fprintf(f, ",%u,%" PRIu64 "\n", r->attempt, r->restored_id);
    }
    return sim_report_close(f, dir, "recovery.csv", error);
}

static const char *marker_kind_name(SimMarkerKind k) {
    switch (k) {
    case SIM_MARK_FAULT: return "fault";
    case SIM_MARK_RESTART: return "restart";
    case SIM_MARK_FAILOVER: return "failover";
    case SIM_MARK_COMPLETE: return "complete";
    case SIM_MARK_ABORT: return "abort";
    case SIM_MARK_FINISHED: return "finished";
    }
    return "unknown";
}

static bool write_markers(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "markers.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "time_s,kind,label\n");
    for (guint i = 0; i < m->markers->len; i++) {
        const SimMarker *mk = &g_array_index(m->markers, SimMarker, i);
        put_s(f, mk->time_ns);
        fprintf(f, ",%s,", marker_kind_name(mk->kind));
        sim_report_put_csv_field(f, mk->label);
        fputc('\n', f);
    }
    return sim_report_close(f, dir, "markers.csv", error);
}

static void summary_row_u64(FILE *f, const char *key, uint64_t v) {
    fprintf(f, "%s,%" PRIu64 "\n", key, v);
}

static void summary_row_ms(FILE *f, const char *key, uint64_t ns) {
    fprintf(f, "%s,", key);
    put_ms(f, ns);
    fputc('\n', f);
}

static bool write_summary(const SimMetrics *m, const char *dir, const SimMetricsRunInfo *info,
                          GError **error) {
    FILE *f = sim_report_open(dir, "summary.csv", error);
    if (f == NULL)
        return false;
    SimMetricsSummary s;
    sim_metrics_get_summary(m, &s);
    fprintf(f, "key,value\n");
    if (info != NULL) {
        fprintf(f, "scenario,");
        sim_report_put_csv_field(f, info->scenario != NULL ? info->scenario : "");
        fprintf(f, "\nseed,%" PRIu64 "\nverdict,%s\nmode,%s\ntrace_hash,%016" PRIx64 "\n",
                info->seed, info->verdict != NULL ? info->verdict : "unknown",
                info->mode != NULL ? info->mode : "", info->trace_hash);
        summary_row_ms(f, "end_ms", info->end_time_ns);
        summary_row_u64(f, "violations", info->violations != NULL ? info->violations->len : 0);
    }
    summary_row_u64(f, "records_emitted", s.records_emitted);
    summary_row_u64(f, "records_committed", s.records_committed);
    summary_row_ms(f, "latency_p50_ms", s.latency_p50_ns);
    summary_row_ms(f, "latency_p99_ms", s.latency_p99_ns);
    summary_row_ms(f, "latency_max_ms", s.latency_max_ns);
    summary_row_u64(f, "checkpoints_completed", s.checkpoints_completed);
    summary_row_u64(f, "checkpoints_aborted", s.checkpoints_aborted);
    summary_row_ms(f, "checkpoint_duration_mean_ms", s.checkpoint_duration_mean_ns);
    summary_row_ms(f, "checkpoint_duration_max_ms", s.checkpoint_duration_max_ns);
    summary_row_ms(f, "alignment_max_ms", s.alignment_max_ns);
    summary_row_u64(f, "recoveries", s.recoveries);
    summary_row_ms(f, "recovery_mean_ms", s.recovery_mean_ns);
    summary_row_u64(f, "faults", s.faults);
    summary_row_ms(f, "bin_ms", s.bin_ns);
    if (m->finished_ns != 0)
        summary_row_ms(f, "finished_ms", m->finished_ns);
    return sim_report_close(f, dir, "summary.csv", error);
}

static bool write_violations(const char *dir, const SimMetricsRunInfo *info, GError **error) {
    FILE *f = sim_report_open(dir, "violations.txt", error);
    if (f == NULL)
        return false;
    for (guint i = 0; info != NULL && info->violations != NULL && i < info->violations->len;
         i++) {
        char *line = sim_violation_to_string(g_ptr_array_index(info->violations, i));
        fprintf(f, "%s\n", line);
        g_free(line);
    }
    return sim_report_close(f, dir, "violations.txt", error);
}

bool sim_metrics_write(const SimMetrics *m, const char *dir, const SimMetricsRunInfo *info,
                       GError **error) {
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        g_set_error(error, SIM_METRICS_ERROR, SIM_METRICS_ERROR_IO, "cannot create %s: %s", dir,
                    g_strerror(errno));
        return false;
    }
    return write_summary(m, dir, info, error) && write_violations(dir, info, error) &&
           write_throughput(m, dir, error) && write_latency(m, dir, error) &&
           write_checkpoints(m, dir, error) && write_alignments(m, dir, error) &&
           write_recovery(m, dir, error) && write_markers(m, dir, error) &&
           sim_metrics_write_trace(m, dir, error);
}
