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

void sim_metrics_put_s(FILE *f, uint64_t ns) {
    fprintf(f, "%" PRIu64 ".%06" PRIu64, ns / 1000000000u, (ns % 1000000000u) / 1000u);
}

void sim_metrics_put_ms(FILE *f, uint64_t ns) {
    fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000000u, (ns % 1000000u) / 1000u);
}

#define put_s sim_metrics_put_s
#define put_ms sim_metrics_put_ms

/* Records per second for count in a bin of bin_ns, with 3 decimals. */
static void put_rate(FILE *f, uint64_t count, uint64_t bin_ns) {
    __extension__ unsigned __int128 milli = (unsigned __int128)count * 1000000000000u / bin_ns;
    uint64_t v = (uint64_t)milli;
    fprintf(f, "%" PRIu64 ".%03" PRIu64, v / 1000u, v % 1000u);
}

/* The smoothing window of the committed rate, in bins: the mean interval between
 * checkpoint completions (a two-phase-commit sink makes records visible only then, so
 * the raw committed rate is a burst at each completion and nothing between). */
static guint smooth_bins(const SimMetrics *m) {
    uint64_t first = 0, last = 0, n = 0;
    for (guint i = 0; i < m->ckpts->len; i++) {
        const SimCkptRow *r = &g_array_index(m->ckpts, SimCkptRow, i);
        if (r->status != SIM_CKPT_COMPLETED)
            continue;
        if (n++ == 0)
            first = r->end_ns;
        last = r->end_ns;
    }
    uint64_t window = n >= 2 ? (last - first) / (n - 1) : UINT64_C(1000000000);
    guint w = (guint)((window + m->bin_ns / 2) / m->bin_ns);
    return w < 1 ? 1 : w > 64 ? 64 : w;
}

static bool write_throughput(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "throughput.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "time_s,emitted,committed,emitted_per_s,committed_per_s,emitted_total,"
               "committed_total,committed_smooth_per_s\n");
    guint w = smooth_bins(m), n = m->bins->len;
    uint64_t etot = 0, ctot = 0;
    for (guint i = 0; i < n; i++) {
        const SimBin *b = &g_array_index(m->bins, SimBin, i);
        etot += b->emitted;
        ctot += b->committed;
        put_s(f, (uint64_t)i * m->bin_ns);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 ",", b->emitted, b->committed);
        put_rate(f, b->emitted, m->bin_ns);
        fputc(',', f);
        put_rate(f, b->committed, m->bin_ns);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 ",", etot, ctot);
        /* Centred moving average over w bins (clipped at the ends). */
        guint lo = i >= w / 2 ? i - w / 2 : 0, hi = MIN(n, lo + w);
        uint64_t sum = 0;
        for (guint j = lo; j < hi; j++)
            sum += g_array_index(m->bins, SimBin, j).committed;
        put_rate(f, sum, (uint64_t)(hi - lo) * m->bin_ns);
        fputc('\n', f);
    }
    return sim_report_close(f, dir, "throughput.csv", error);
}

/* The usual distance (median, in bins) between bins with commits: a longer stretch
 * without a commit is an outage, and the latency lines break there. */
static guint usual_gap(const SimMetrics *m) {
    GArray *gaps = g_array_new(FALSE, FALSE, sizeof(guint));
    guint prev = G_MAXUINT;
    for (guint i = 0; i < m->bins->len; i++) {
        if (g_array_index(m->bins, SimBin, i).lat_count == 0)
            continue;
        if (prev != G_MAXUINT) {
            guint d = i - prev;
            g_array_append_val(gaps, d);
        }
        prev = i;
    }
    guint med = 1;
    if (gaps->len > 0) {
        g_array_sort(gaps, (GCompareFunc)sim_metrics_cmp_uint);
        med = g_array_index(gaps, guint, gaps->len / 2);
    }
    g_array_unref(gaps);
    return med;
}

/* p50, p90, p99 of bin i: exact from the sorted samples (*cursor walks them), else
 * from the bin's histogram. */
static void bin_quantiles(const SimMetrics *m, const GArray *sorted, guint *cursor, guint i,
                          uint64_t out[3]) {
    const double qs[3] = {0.50, 0.90, 0.99};
    const SimBin *b = &g_array_index(m->bins, SimBin, i);
    if (m->lat_exact) {
        guint lo = *cursor;
        while (lo < sorted->len &&
               g_array_index(sorted, SimLatSample, lo).time_ns / m->bin_ns < i)
            lo++;
        guint hi = lo;
        while (hi < sorted->len &&
               g_array_index(sorted, SimLatSample, hi).time_ns / m->bin_ns == i)
            hi++;
        *cursor = hi;
        for (int q = 0; q < 3; q++)
            out[q] = sim_metrics_rank_quantile(
                &g_array_index(sorted, SimLatSample, 0) + lo, hi - lo, qs[q]);
        return;
    }
    for (int q = 0; q < 3; q++)
        out[q] = sim_hist_quantile(b->hist, b->lat_count, b->lat_max, qs[q]);
}

static bool write_latency(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "latency.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "time_s,count,p50_ms,p90_ms,p99_ms,max_ms\n");
    GArray *sorted = sim_metrics_sorted_samples(m, m->bin_ns);
    guint gap = usual_gap(m), prev = G_MAXUINT, cursor = 0;
    for (guint i = 0; i < m->bins->len; i++) {
        const SimBin *b = &g_array_index(m->bins, SimBin, i);
        if (b->lat_count == 0)
            continue;
        if (prev != G_MAXUINT && i - prev > 2 * gap)
            fputc('\n', f); /* nothing measured: gnuplot breaks its lines here */
        prev = i;
        put_s(f, (uint64_t)i * m->bin_ns);
        fprintf(f, ",%" PRIu64, b->lat_count);
        uint64_t q[3];
        bin_quantiles(m, sorted, &cursor, i, q);
        for (int k = 0; k < 3; k++) {
            fputc(',', f);
            put_ms(f, q[k]);
        }
        fputc(',', f);
        put_ms(f, b->lat_max);
        fputc('\n', f);
    }
    g_array_unref(sorted);
    return sim_report_close(f, dir, "latency.csv", error);
}

/* The latency distribution of the whole run: at most 1000 points (fraction of the
 * committed records at or below latency_ms), exact while samples were kept. */
static bool write_latency_cdf(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "latency_cdf.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "latency_ms,fraction\n");
    if (m->lat_exact) {
        GArray *s = sim_metrics_sorted_samples(m, UINT64_MAX);
        guint n = s->len, points = MIN(n, 1000u);
        for (guint k = 1; k <= points; k++) {
            guint idx = (guint)(((uint64_t)k * n + points - 1) / points) - 1;
            put_ms(f, g_array_index(s, SimLatSample, idx).latency_ns);
            uint64_t frac = (uint64_t)(idx + 1) * 1000000u / n;
            fprintf(f, ",%" PRIu64 ".%06" PRIu64 "\n", frac / 1000000u, frac % 1000000u);
        }
        g_array_unref(s);
    } else {
        uint64_t seen = 0;
        for (uint32_t b = 0; b < SIM_HIST_BUCKETS && m->lat_count > 0; b++) {
            if (m->hist[b] == 0)
                continue;
            seen += m->hist[b];
            put_ms(f, MIN(sim_hist_bucket_mid(b), m->lat_max));
            uint64_t frac = seen * 1000000u / m->lat_count;
            fprintf(f, ",%" PRIu64 ".%06" PRIu64 "\n", frac / 1000000u, frac % 1000000u);
        }
    }
    return sim_report_close(f, dir, "latency_cdf.csv", error);
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
    case SIM_MARK_RESTORE: return "restore";
    case SIM_MARK_LEADER: return "leader";
    case SIM_MARK_ZK: return "zk";
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
    fprintf(f, "latency_percentiles,%s\n",
            m->lat_exact ? "exact" : "histogram bucket midpoints (within 6.25%)");
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
           write_latency_cdf(m, dir, error) && sim_metrics_write_checkpoints(m, dir, error) &&
           sim_metrics_write_faults(m, dir, error) &&
           write_recovery(m, dir, error) && write_markers(m, dir, error) &&
           sim_metrics_write_trace(m, dir, error);
}
