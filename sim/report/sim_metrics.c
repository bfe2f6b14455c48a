/* sim_metrics.c - the metrics collector: per-bin throughput and latency histograms,
 * checkpoint / alignment / recovery tables, markers and trace spans, fed by observation
 * events. The writers are in sim_metrics_write.c. See sim_metrics.h.
 */
#include "sim/report/sim_metrics.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/checkpoint/rt_ckpt_metadata.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/report/sim_metrics_internal.h"

G_DEFINE_QUARK(sim-metrics-error-quark, sim_metrics_error)

/* ------------------------------------------------------------------ histograms */

uint32_t sim_hist_bucket(uint64_t v) {
    if (v < 8)
        return (uint32_t)v;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(v);
    uint32_t mant = (uint32_t)(v >> (e - 3)) & 7u;
    uint32_t b = 8u + (e - 3u) * 8u + mant;
    assert(b < SIM_HIST_BUCKETS);
    return b;
}

uint64_t sim_hist_bucket_mid(uint32_t b) {
    assert(b < SIM_HIST_BUCKETS);
    if (b < 8)
        return b;
    uint32_t e = (b - 8u) / 8u + 3u, mant = (b - 8u) % 8u;
    uint64_t lo = (uint64_t)(8u + mant) << (e - 3u);
    uint64_t width = UINT64_C(1) << (e - 3u);
    return lo + (width - 1u) / 2u;
}

uint64_t sim_hist_quantile(const uint64_t *hist, uint64_t n, uint64_t max, double q) {
    if (n == 0)
        return 0;
    uint64_t want = (uint64_t)(q * (double)n);
    if (want < 1)
        want = 1;
    if (want > n)
        want = n;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < SIM_HIST_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= want) {
            uint64_t v = sim_hist_bucket_mid(b);
            return v > max ? max : v;
        }
    }
    return max;
}

/* ------------------------------------------------------------------ bins */

static void bin_clear(void *p) {
    g_free(((SimBin *)p)->hist);
}

/* Doubles the bin width, merging bins pairwise. */
static void coarsen(SimMetrics *m) {
    guint n = m->bins->len;
    for (guint i = 0; i < n; i++) {
        SimBin *dst = &g_array_index(m->bins, SimBin, i / 2);
        SimBin *src = &g_array_index(m->bins, SimBin, i);
        if (dst == src)
            continue;
        if (i % 2 == 0) { /* dst is empty-ish slot i/2 < i: move src in */
            g_free(dst->hist);
            *dst = *src;
            memset(src, 0, sizeof *src);
            continue;
        }
        dst->emitted += src->emitted;
        dst->committed += src->committed;
        dst->lat_count += src->lat_count;
        if (src->lat_max > dst->lat_max)
            dst->lat_max = src->lat_max;
        if (src->hist != NULL) {
            if (dst->hist == NULL)
                dst->hist = g_new0(uint64_t, SIM_HIST_BUCKETS);
            for (uint32_t b = 0; b < SIM_HIST_BUCKETS; b++)
                dst->hist[b] += src->hist[b];
        }
        g_free(src->hist);
        memset(src, 0, sizeof *src);
    }
    g_array_set_size(m->bins, (n + 1) / 2);
    m->bin_ns *= 2;
}

static SimBin *bin_at(SimMetrics *m, uint64_t time_ns) {
    uint64_t idx = time_ns / m->bin_ns;
    for (int guard = 0; idx >= SIM_METRICS_MAX_BINS && guard < 64; guard++) {
        coarsen(m);
        idx = time_ns / m->bin_ns;
    }
    assert(idx < SIM_METRICS_MAX_BINS);
    if (idx >= m->bins->len)
        g_array_set_size(m->bins, (guint)idx + 1);
    return &g_array_index(m->bins, SimBin, idx);
}

/* ------------------------------------------------------------------ lifecycle */

static void marker_clear(void *p) {
    g_free(((SimMarker *)p)->label);
}

static void ckpt_clear(void *p) {
    g_free(((SimCkptRow *)p)->reason);
}

static void metrics_observer_event(RtObserver *self, const RtEvent *ev) {
    sim_metrics_event((SimMetrics *)self, ev);
}
static const RtObserverOps metrics_observer_ops = {.event = metrics_observer_event};

SimMetrics *sim_metrics_new(const RtJobGraph *graph, const SimOracleFiles *files,
                            uint64_t bin_ns) {
    SimMetrics *m = g_new0(SimMetrics, 1);
    m->observer.ops = &metrics_observer_ops;
    m->graph = graph;
    if (files != NULL) {
        m->files = *files;
        m->has_files = true;
    }
    m->bin_ns = bin_ns == 0 ? SIM_METRICS_DEFAULT_BIN_NS : bin_ns;
    m->bins = g_array_new(FALSE, TRUE, sizeof(SimBin));
    g_array_set_clear_func(m->bins, bin_clear);
    m->ckpts = g_array_new(FALSE, TRUE, sizeof(SimCkptRow));
    g_array_set_clear_func(m->ckpts, ckpt_clear);
    m->ckpt_index = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    m->aligns = g_array_new(FALSE, TRUE, sizeof(SimAlignRow));
    m->recoveries = g_array_new(FALSE, TRUE, sizeof(SimRecoveryRow));
    m->markers = g_array_new(FALSE, TRUE, sizeof(SimMarker));
    g_array_set_clear_func(m->markers, marker_clear);
    m->spans = g_array_new(FALSE, TRUE, sizeof(SimSpan));
    m->open_spans = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    m->process_names = g_tree_new_full((GCompareDataFunc)sim_metrics_cmp_u32, NULL, g_free,
                                       g_free);
    m->gauges = g_array_new(FALSE, TRUE, sizeof(SimGauge));
    sim_metrics_detail_init(m);
    return m;
}

void sim_metrics_free(SimMetrics *m) {
    if (m == NULL)
        return;
    g_array_unref(m->bins);
    g_array_unref(m->ckpts);
    g_hash_table_unref(m->ckpt_index);
    g_array_unref(m->aligns);
    g_array_unref(m->recoveries);
    g_array_unref(m->markers);
    g_array_unref(m->spans);
    g_hash_table_unref(m->open_spans);
    g_tree_unref(m->process_names);
    g_array_unref(m->gauges);
    sim_metrics_detail_free(m);
    g_free(m);
}

void sim_metrics_note_gauges(SimMetrics *m, uint64_t time_ns, uint32_t pid,
                             const RtTmGauges *g) {
    if (m->gauges->len >= SIM_METRICS_MAX_GAUGES) {
        m->gauges_dropped++;
        return;
    }
    SimGauge s = {.time_ns = time_ns, .pid = pid, .g = *g};
    g_array_append_val(m->gauges, s);
}

RtObserver *sim_metrics_observer(SimMetrics *m) {
    return &m->observer;
}

int sim_metrics_cmp_u32(const void *a, const void *b, void *unused) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int sim_metrics_cmp_uint(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

void sim_metrics_name_process(SimMetrics *m, uint32_t pid, const char *name) {
    uint32_t *k = g_new(uint32_t, 1);
    *k = pid;
    g_tree_replace(m->process_names, k, g_strdup(name));
}

static void add_marker(SimMetrics *m, uint64_t t, SimMarkerKind kind, const char *label) {
    if (m->markers->len >= SIM_METRICS_MAX_MARKERS)
        return;
    SimMarker mk = {t, kind, g_strdup(label)};
    g_array_append_val(m->markers, mk);
}

static void add_span(SimMetrics *m, const SimSpan *s) {
    if (m->spans->len >= SIM_METRICS_MAX_SPANS) {
        m->spans_dropped++;
        return;
    }
    g_array_append_val(m->spans, *s);
}

void sim_metrics_note_fault(SimMetrics *m, uint64_t time_ns, const char *description) {
    m->faults++;
    add_marker(m, time_ns, SIM_MARK_FAULT, description);
    SimSpan s = {time_ns, time_ns, 0, 0, SIM_SPAN_FAULT, 0};
    add_span(m, &s);
}

/* ------------------------------------------------------------------ checkpoints */

static SimCkptRow *ckpt_row(SimMetrics *m, uint64_t id, bool create) {
    void *v = g_hash_table_lookup(m->ckpt_index, &id);
    if (v != NULL)
        return &g_array_index(m->ckpts, SimCkptRow, GPOINTER_TO_UINT(v) - 1);
    if (!create || m->ckpts->len >= SIM_METRICS_MAX_CHECKPOINTS)
        return NULL;
    SimCkptRow r;
    memset(&r, 0, sizeof r);
    r.id = id;
    g_array_append_val(m->ckpts, r);
    uint64_t *k = g_new(uint64_t, 1);
    *k = id;
    g_hash_table_insert(m->ckpt_index, k, GUINT_TO_POINTER(m->ckpts->len));
    return &g_array_index(m->ckpts, SimCkptRow, m->ckpts->len - 1);
}

/* Sum of the state handle sizes in the checkpoint's metadata, 0 when unreadable. */
static uint64_t checkpoint_size(const SimMetrics *m, const char *path) {
    if (!m->has_files || path == NULL || path[0] == '\0')
        return 0;
    GBytes *b = m->files.read(m->files.ctx, path);
    if (b == NULL)
        return 0;
    size_t len = 0;
    const void *data = g_bytes_get_data(b, &len);
    RtCompletedCheckpoint *cp = NULL;
    uint64_t total = 0;
    if (rt_ckpt_metadata_decode(data, len, &cp, NULL)) {
        for (guint i = 0; i < cp->subtasks->len; i++) {
            const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
            size_t hl = 0;
            const void *hd = g_bytes_get_data(st->handle, &hl);
            RtStateHandle *h = NULL;
            if (rt_state_handle_decode(hd, hl, &h, NULL)) {
                total += h->size_bytes;
                rt_state_handle_free(h);
            }
        }
        rt_completed_checkpoint_free(cp);
    }
    g_bytes_unref(b);
    return total;
}

static void on_ckpt_event(SimMetrics *m, const RtEvent *ev) {
    SimCkptRow *r = ckpt_row(m, ev->checkpoint_id, ev->kind == RT_EV_CKPT_TRIGGER);
    if (r == NULL)
        return;
    switch (ev->kind) {
    case RT_EV_CKPT_TRIGGER:
        r->trigger_ns = ev->time_ns;
        r->pid = ev->process;
        break;
    case RT_EV_CKPT_ACK: r->acks++; break;
    case RT_EV_CKPT_COMPLETE: {
        r->status = SIM_CKPT_COMPLETED;
        r->end_ns = ev->time_ns;
        r->duration_ns = ev->a != 0 ? ev->a : ev->time_ns - r->trigger_ns;
        r->size_bytes = checkpoint_size(m, ev->detail);
        char *label = g_strdup_printf("checkpoint %" PRIu64, ev->checkpoint_id);
        add_marker(m, ev->time_ns, SIM_MARK_COMPLETE, label);
        g_free(label);
        break;
    }
    case RT_EV_CKPT_ABORT: {
        if (r->status == SIM_CKPT_COMPLETED)
            break;
        r->status = SIM_CKPT_ABORTED;
        r->end_ns = ev->time_ns;
        r->duration_ns = ev->time_ns - r->trigger_ns;
        char *label = g_strdup_printf("checkpoint %" PRIu64 " aborted: %s", ev->checkpoint_id,
                                      ev->detail != NULL ? ev->detail : "");
        add_marker(m, ev->time_ns, SIM_MARK_ABORT, label);
        g_free(r->reason);
        r->reason = g_strdup(ev->detail != NULL ? ev->detail : "");
        g_free(label);
        break;
    }
    default: break;
    }
}

/* Open spans are keyed by (category, subtask, checkpoint id). */
static uint64_t span_key(SimSpanKind kind, RtSubtaskId st, uint64_t id) {
    return ((uint64_t)kind << 60) | ((uint64_t)st.op << 44) | ((uint64_t)st.index << 28) |
           (id & 0xfffffffu);
}

static void span_open(SimMetrics *m, SimSpanKind kind, const RtEvent *ev) {
    uint64_t *k = g_new(uint64_t, 1);
    *k = span_key(kind, ev->subtask, ev->checkpoint_id);
    uint64_t *t = g_new(uint64_t, 1);
    *t = ev->time_ns;
    g_hash_table_replace(m->open_spans, k, t);
}

/* Closes the span opened by span_open, or (none open) one of length fallback_ns. */
static void span_close(SimMetrics *m, SimSpanKind kind, const RtEvent *ev,
                       uint64_t fallback_ns) {
    uint64_t k = span_key(kind, ev->subtask, ev->checkpoint_id);
    const uint64_t *start = g_hash_table_lookup(m->open_spans, &k);
    uint64_t s = start != NULL ? *start
                               : (ev->time_ns >= fallback_ns ? ev->time_ns - fallback_ns : 0);
    SimSpan sp = {s, ev->time_ns, ev->process, sim_metrics_tid(ev->subtask), kind,
                  ev->checkpoint_id};
    add_span(m, &sp);
    g_hash_table_remove(m->open_spans, &k);
}

static void on_align_end(SimMetrics *m, const RtEvent *ev) {
    span_close(m, SIM_SPAN_ALIGN, ev, ev->a);
    if (ev->a > m->align_max_ns)
        m->align_max_ns = ev->a;
    SimCkptRow *r = ckpt_row(m, ev->checkpoint_id, false);
    if (r != NULL) {
        if (ev->a > r->align_max_ns)
            r->align_max_ns = ev->a;
        r->align_sum_ns += ev->a;
        r->align_n++;
    }
    if (m->aligns->len >= SIM_METRICS_MAX_ALIGNMENTS)
        return;
    SimAlignRow a = {ev->checkpoint_id, ev->subtask.op, ev->subtask.index, ev->time_ns, ev->a};
    g_array_append_val(m->aligns, a);
}

/* ------------------------------------------------------------------ recovery */

static void on_recovery(SimMetrics *m, const RtEvent *ev) {
    SimRecoveryRow *open = m->recovery_open
                               ? &g_array_index(m->recoveries, SimRecoveryRow,
                                                m->recoveries->len - 1)
                               : NULL;
    if (ev->kind == RT_EV_FAILOVER) {
        char *label = g_strdup_printf("failover: %s", ev->detail != NULL ? ev->detail : "");
        add_marker(m, ev->time_ns, SIM_MARK_FAILOVER, label);
        g_free(label);
        if (open != NULL || m->recoveries->len >= SIM_METRICS_MAX_CHECKPOINTS)
            return;
        SimRecoveryRow r = {ev->time_ns, 0, ev->a, 0, ev->process};
        g_array_append_val(m->recoveries, r);
        m->recovery_open = true;
    } else if (ev->kind == RT_EV_RESTORE && open != NULL) {
        open->restored_id = ev->checkpoint_id;
        if (ev->attempt > open->attempt)
            open->attempt = ev->attempt;
    } else if (ev->kind == RT_EV_JOB_RUNNING && open != NULL) {
        open->running_ns = ev->time_ns;
        m->recovery_open = false;
        SimSpan sp = {open->failover_ns, ev->time_ns, open->pid, 0, SIM_SPAN_RECOVERY,
                      open->restored_id};
        add_span(m, &sp);
    }
}

/* ------------------------------------------------------------------ events */

static void on_record(SimMetrics *m, const RtEvent *ev) {
    SimBin *b = bin_at(m, ev->time_ns);
    if (ev->kind == RT_EV_RECORD_EMIT) {
        b->emitted++;
        m->emitted++;
        return;
    }
    b->committed++;
    m->committed++;
    uint64_t lat = ev->c;
    if (b->hist == NULL)
        b->hist = g_new0(uint64_t, SIM_HIST_BUCKETS);
    uint32_t bucket = sim_hist_bucket(lat);
    b->hist[bucket]++;
    b->lat_count++;
    if (lat > b->lat_max)
        b->lat_max = lat;
    m->hist[bucket]++;
    m->lat_count++;
    if (lat > m->lat_max)
        m->lat_max = lat;
}

static void on_world(SimMetrics *m, const RtEvent *ev) {
    char *label, *who = sim_metrics_process_name(m, ev->process);
    if (ev->kind == RT_EV_WORLD_CRASH)
        label = g_strdup_printf("crash %s", who);
    else if (ev->kind == RT_EV_WORLD_RESTART)
        label = g_strdup_printf("restart %s", who);
    else
        label = g_strdup(ev->detail != NULL ? ev->detail : "fault");
    if (ev->kind == RT_EV_WORLD_RESTART) {
        add_marker(m, ev->time_ns, SIM_MARK_RESTART, label);
    } else {
        m->faults++;
        add_marker(m, ev->time_ns, SIM_MARK_FAULT, label);
    }
    SimSpan s = {ev->time_ns, ev->time_ns, ev->process, 0,
                 ev->kind == RT_EV_WORLD_RESTART ? SIM_SPAN_RESTART : SIM_SPAN_FAULT, 0};
    add_span(m, &s);
    g_free(label);
    g_free(who);
}

void sim_metrics_event(SimMetrics *m, const RtEvent *ev) {
    assert(m != NULL && ev != NULL);
    if (ev->time_ns > m->last_ns)
        m->last_ns = ev->time_ns;
    sim_metrics_detail_event(m, ev);
    switch (ev->kind) {
    case RT_EV_RECORD_EMIT:
    case RT_EV_SINK_COMMIT_RECORD: on_record(m, ev); break;
    case RT_EV_CKPT_TRIGGER:
    case RT_EV_CKPT_ACK:
    case RT_EV_CKPT_COMPLETE:
    case RT_EV_CKPT_ABORT: on_ckpt_event(m, ev); break;
    case RT_EV_ALIGN_START: span_open(m, SIM_SPAN_ALIGN, ev); break;
    case RT_EV_ALIGN_END: on_align_end(m, ev); break;
    case RT_EV_SNAPSHOT_SYNC: span_open(m, SIM_SPAN_SNAPSHOT, ev); break;
    case RT_EV_SNAPSHOT_PERSISTED:
    case RT_EV_SNAPSHOT_FAILED: span_close(m, SIM_SPAN_SNAPSHOT, ev, 0); break;
    case RT_EV_FAILOVER:
    case RT_EV_RESTORE:
    case RT_EV_JOB_RUNNING: on_recovery(m, ev); break;
    case RT_EV_JOB_FINISHED:
        add_marker(m, ev->time_ns, SIM_MARK_FINISHED, "job finished");
        m->finished_ns = ev->time_ns;
        break;
    case RT_EV_WORLD_CRASH:
    case RT_EV_WORLD_RESTART:
    case RT_EV_WORLD_FAULT: on_world(m, ev); break;
    default: break;
    }
}

void sim_metrics_get_summary(const SimMetrics *m, SimMetricsSummary *out) {
    memset(out, 0, sizeof *out);
    out->records_emitted = m->emitted;
    out->records_committed = m->committed;
    if (m->lat_exact) {
        GArray *v = sim_metrics_sorted_samples(m, UINT64_MAX);
        const SimLatSample *d = &g_array_index(v, SimLatSample, 0);
        out->latency_p50_ns = sim_metrics_rank_quantile(d, v->len, 0.50);
        out->latency_p99_ns = sim_metrics_rank_quantile(d, v->len, 0.99);
        g_array_unref(v);
    } else {
        out->latency_p50_ns = sim_hist_quantile(m->hist, m->lat_count, m->lat_max, 0.50);
        out->latency_p99_ns = sim_hist_quantile(m->hist, m->lat_count, m->lat_max, 0.99);
    }
    out->latency_max_ns = m->lat_max;
    uint64_t dsum = 0;
    for (guint i = 0; i < m->ckpts->len; i++) {
        const SimCkptRow *r = &g_array_index(m->ckpts, SimCkptRow, i);
        if (r->status == SIM_CKPT_COMPLETED) {
            out->checkpoints_completed++;
            dsum += r->duration_ns;
            if (r->duration_ns > out->checkpoint_duration_max_ns)
                out->checkpoint_duration_max_ns = r->duration_ns;
        } else if (r->status == SIM_CKPT_ABORTED) {
            out->checkpoints_aborted++;
        }
    }
    if (out->checkpoints_completed > 0)
        out->checkpoint_duration_mean_ns = dsum / out->checkpoints_completed;
    out->alignment_max_ns = m->align_max_ns;
    uint64_t rsum = 0;
    for (guint i = 0; i < m->recoveries->len; i++) {
        const SimRecoveryRow *r = &g_array_index(m->recoveries, SimRecoveryRow, i);
        if (r->running_ns == 0)
            continue;
        out->recoveries++;
        rsum += r->running_ns - r->failover_ns;
    }
    if (out->recoveries > 0)
        out->recovery_mean_ns = rsum / out->recoveries;
    out->faults = m->faults;
    out->bin_ns = m->bin_ns;
}

const char *sim_metrics_checkpoint_mode(const RtConfig *cfg) {
    unsigned mode = 0; /* EXACTLY_ONCE|AT_LEAST_ONCE */
    bool unaligned = false;
    if (!rt_config_key_choice(cfg, RT_KEY_CHECKPOINTING_MODE, &mode, NULL))
        mode = 0;
    if (mode == 1)
        return "at-least-once";
    if (!rt_config_key_bool(cfg, RT_KEY_UNALIGNED_ENABLED, &unaligned, NULL))
        unaligned = false;
    return unaligned ? "unaligned" : "aligned";
}
