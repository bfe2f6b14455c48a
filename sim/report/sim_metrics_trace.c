/* sim_metrics_trace.c - writes trace.json, a Chrome / Perfetto trace (the "JSON Array
 * in an object" format: {"traceEvents": [...]}) of a run in simulated time:
 *  - one process per simulated process (named via sim_metrics_name_process, else
 *    "process N"), one thread per subtask ("<operator>[<index>]"; tid 0 = the process);
 *  - complete events ("X"): checkpoints (trigger -> complete/abort, on the
 *    coordinator), alignments and snapshots (per subtask), recoveries (failover ->
 *    running);
 *  - instant events ("i", global scope): faults (labelled), process restarts,
 *    failovers (with their cause) and the job's end.
 * Timestamps are microseconds with 3 decimals (ns precision), printed with integer
 * arithmetic: identical runs give identical files.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/report/sim_metrics_internal.h"
#include "sim/report/sim_report_io.h"

static void put_us(FILE *f, uint64_t ns) {
    fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / 1000u, ns % 1000u);
}

typedef struct TraceOut {
    FILE *f;
    bool first;
} TraceOut;

static void sep(TraceOut *t) {
    fputs(t->first ? "\n" : ",\n", t->f);
    t->first = false;
}

static void complete_event(TraceOut *t, const char *name, const char *cat, uint64_t start,
                           uint64_t end, uint32_t pid, uint32_t tid, uint64_t id) {
    sep(t);
    fprintf(t->f, "{\"name\":");
    sim_report_put_json_string(t->f, name);
    fprintf(t->f, ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":", cat);
    put_us(t->f, start);
    fprintf(t->f, ",\"dur\":");
    put_us(t->f, end >= start ? end - start : 0);
    fprintf(t->f, ",\"pid\":%u,\"tid\":%u,\"args\":{\"checkpoint\":%" PRIu64 "}}", pid, tid, id);
}

static void instant_event(TraceOut *t, const char *name, const char *cat, uint64_t ts,
                          uint32_t pid, uint32_t tid, bool global) {
    sep(t);
    fprintf(t->f, "{\"name\":");
    sim_report_put_json_string(t->f, name);
    fprintf(t->f, ",\"cat\":\"%s\",\"ph\":\"i\",\"s\":\"%s\",\"ts\":", cat, global ? "g" : "t");
    put_us(t->f, ts);
    fprintf(t->f, ",\"pid\":%u,\"tid\":%u}", pid, tid);
}

static void name_event(TraceOut *t, const char *what, uint32_t pid, uint32_t tid,
                       const char *name) {
    sep(t);
    fprintf(t->f, "{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
            what, pid, tid);
    sim_report_put_json_string(t->f, name);
    fputs("}}", t->f);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Metadata events: a name for every process and subtask track that appears. */
static void write_names(TraceOut *t, const SimMetrics *m) {
    GArray *tracks = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint i = 0; i < m->spans->len; i++) {
        const SimSpan *s = &g_array_index(m->spans, SimSpan, i);
        uint64_t k = ((uint64_t)s->pid << 32) | s->tid;
        g_array_append_val(tracks, k);
    }
    for (guint i = 0; i < m->ckpts->len; i++) {
        uint64_t k = (uint64_t)g_array_index(m->ckpts, SimCkptRow, i).pid << 32;
        g_array_append_val(tracks, k);
    }
    g_array_sort(tracks, cmp_u64);
    uint64_t prev = UINT64_MAX;
    for (guint i = 0; i < tracks->len; i++) {
        uint64_t k = g_array_index(tracks, uint64_t, i);
        if (k == prev)
            continue;
        prev = k;
        uint32_t pid = (uint32_t)(k >> 32), tid = (uint32_t)k;
        if (tid == 0) {
            const char *pn = g_tree_lookup(m->process_names, &pid);
            char *name = pn != NULL ? g_strdup(pn) : g_strdup_printf("process %u", pid);
            name_event(t, "process_name", pid, 0, name);
            g_free(name);
            continue;
        }
        uint32_t op = (tid - 1u) / 1000u, index = (tid - 1u) % 1000u;
        const char *opname = NULL;
        if (m->graph != NULL && op < m->graph->operators->len)
            opname = ((const RtOperatorSpec *)g_ptr_array_index(m->graph->operators, op))->name;
        char *name = opname != NULL ? g_strdup_printf("%s[%u]", opname, index)
                                    : g_strdup_printf("op%u[%u]", op, index);
        name_event(t, "thread_name", pid, tid, name);
        g_free(name);
    }
    g_array_unref(tracks);
}

static void write_checkpoints(TraceOut *t, const SimMetrics *m) {
    for (guint i = 0; i < m->ckpts->len; i++) {
        const SimCkptRow *r = &g_array_index(m->ckpts, SimCkptRow, i);
        if (r->status == SIM_CKPT_PENDING)
            continue;
        char *name = g_strdup_printf("checkpoint %" PRIu64 "%s", r->id,
                                     r->status == SIM_CKPT_ABORTED ? " (aborted)" : "");
        complete_event(t, name, "checkpoint", r->trigger_ns, r->end_ns, r->pid, 0, r->id);
        g_free(name);
    }
}

static void write_spans(TraceOut *t, const SimMetrics *m) {
    for (guint i = 0; i < m->spans->len; i++) {
        const SimSpan *s = &g_array_index(m->spans, SimSpan, i);
        char *name = NULL;
        switch (s->kind) {
        case SIM_SPAN_ALIGN:
            name = g_strdup_printf("align %" PRIu64, s->id);
            complete_event(t, name, "alignment", s->start_ns, s->end_ns, s->pid, s->tid, s->id);
            break;
        case SIM_SPAN_SNAPSHOT:
            name = g_strdup_printf("snapshot %" PRIu64, s->id);
            complete_event(t, name, "snapshot", s->start_ns, s->end_ns, s->pid, s->tid, s->id);
            break;
        case SIM_SPAN_RECOVERY:
            name = g_strdup_printf("recovery (restore %" PRIu64 ")", s->id);
            complete_event(t, name, "recovery", s->start_ns, s->end_ns, s->pid, s->tid, s->id);
            break;
        case SIM_SPAN_FAULT:
            break; /* written from the markers, with their label */
        case SIM_SPAN_RESTART:
            instant_event(t, "restart", "fault", s->start_ns, s->pid, 0, true);
            break;
        }
        g_free(name);
    }
}

bool sim_metrics_write_trace(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "trace.json", error);
    if (f == NULL)
        return false;
    TraceOut t = {f, true};
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", f);
    write_names(&t, m);
    write_checkpoints(&t, m);
    write_spans(&t, m);
    for (guint i = 0; i < m->markers->len; i++) {
        const SimMarker *mk = &g_array_index(m->markers, SimMarker, i);
        const char *cat = mk->kind == SIM_MARK_FAULT      ? "fault"
                          : mk->kind == SIM_MARK_FAILOVER ? "recovery"
                          : mk->kind == SIM_MARK_FINISHED ? "job"
                                                          : NULL;
        if (cat != NULL)
            instant_event(&t, mk->label, cat, mk->time_ns, 0, 0, true);
    }
    fprintf(f, "\n],\"otherData\":{\"spans_dropped\":%" PRIu64 "}}\n", m->spans_dropped);
    return sim_report_close(f, dir, "trace.json", error);
}
