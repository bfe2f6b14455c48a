/* sim_metrics_write_ckpt.c - the checkpoint tables and the fault intervals of a run:
 *   checkpoints.csv          one row per checkpoint, Flink's checkpoint statistics:
 *       id,trigger_s,end_s,status,duration_ms,size_bytes,acks,align_max_ms,align_mean_ms,
 *       start_delay_max_ms,sync_max_ms,async_max_ms,state_bytes,channel_bytes,
 *       crit_start_delay_ms,crit_align_ms,crit_sync_ms,crit_async_ms,reason
 *     (maxima over the subtasks; crit_* are the parts of the subtask that acknowledged
 *     last, which add up to about the end-to-end duration; a field is empty when it was
 *     not measured, e.g. the alignment of a checkpoint aborted before any ack);
 *   checkpoint_subtasks.csv  id,subtask,process,ack_s,start_delay_ms,alignment_ms,sync_ms,
 *                            async_ms,state_bytes,channel_bytes
 *   alignments.csv           id,op,subtask,end_s,duration_ms
 *   faults.csv               start_s,end_s,kind,target,label   (sorted by start)
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/report/sim_metrics_internal.h"
#include "sim/report/sim_report_io.h"

static const char *status_name(SimCkptStatus s) {
    return s == SIM_CKPT_COMPLETED ? "completed" : s == SIM_CKPT_ABORTED ? "aborted" : "pending";
}

/* ",X" with X in ms, or "," alone when not measured. */
static void opt_ms(FILE *f, bool measured, uint64_t ns) {
    fputc(',', f);
    if (measured)
        sim_metrics_put_ms(f, ns);
}

static void checkpoint_row(FILE *f, const SimCkptRow *r, const SimCkptParts *p) {
    bool ended = r->status != SIM_CKPT_PENDING;
    fprintf(f, "%" PRIu64 ",", r->id);
    sim_metrics_put_s(f, r->trigger_ns);
    fputc(',', f);
    if (ended)
        sim_metrics_put_s(f, r->end_ns);
    fprintf(f, ",%s", status_name(r->status));
    opt_ms(f, ended, r->duration_ns);
    fprintf(f, ",%" PRIu64 ",%" PRIu64, r->size_bytes, r->acks);
    opt_ms(f, r->align_n > 0, r->align_max_ns);
    opt_ms(f, r->align_n > 0, r->align_n == 0 ? 0 : r->align_sum_ns / r->align_n);
    opt_ms(f, p->measured, p->start_delay_max);
    opt_ms(f, p->measured, p->sync_max);
    opt_ms(f, p->measured, p->async_max);
    fprintf(f, ",%" PRIu64 ",%" PRIu64, p->state_bytes, p->channel_bytes);
    opt_ms(f, p->measured, p->crit_start_delay);
    opt_ms(f, p->measured, p->crit_align);
    opt_ms(f, p->measured, p->crit_sync);
    opt_ms(f, p->measured, p->crit_async);
    fputc(',', f);
    sim_report_put_csv_field(f, r->reason != NULL ? r->reason : "");
    fputc('\n', f);
}

static bool write_subtasks(const SimMetrics *m, const GArray *sorted, const char *dir,
                           GError **error) {
    FILE *f = sim_report_open(dir, "checkpoint_subtasks.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "id,subtask,process,ack_s,start_delay_ms,alignment_ms,sync_ms,async_ms,"
               "state_bytes,channel_bytes\n");
    for (guint i = 0; i < sorted->len; i++) {
        const SimTaskCkpt *t = &g_array_index(sorted, SimTaskCkpt, i);
        void *v = g_hash_table_lookup(m->ckpt_index, &t->id);
        if (t->persisted_ns == 0 || v == NULL)
            continue;
        const SimCkptRow *r = &g_array_index(m->ckpts, SimCkptRow, GPOINTER_TO_UINT(v) - 1);
        uint64_t p[4];
        sim_metrics_task_parts(t, r->trigger_ns, p);
        char *st = sim_metrics_subtask_name(m, t->st);
        char *proc = sim_metrics_process_name(m, t->pid);
        fprintf(f, "%" PRIu64 ",%s,%s,", t->id, st, proc);
        sim_metrics_put_s(f, t->persisted_ns);
        for (int k = 0; k < 4; k++)
            opt_ms(f, true, p[k]);
        fprintf(f, ",%" PRIu64 ",%" PRIu64 "\n", t->state_bytes, t->channel_bytes);
        g_free(st);
        g_free(proc);
    }
    return sim_report_close(f, dir, "checkpoint_subtasks.csv", error);
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
        sim_metrics_put_s(f, a->end_ns);
        fputc(',', f);
        sim_metrics_put_ms(f, a->duration_ns);
        fputc('\n', f);
    }
    return sim_report_close(f, dir, "alignments.csv", error);
}

bool sim_metrics_write_checkpoints(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "checkpoints.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "id,trigger_s,end_s,status,duration_ms,size_bytes,acks,align_max_ms,"
               "align_mean_ms,start_delay_max_ms,sync_max_ms,async_max_ms,state_bytes,"
               "channel_bytes,crit_start_delay_ms,crit_align_ms,crit_sync_ms,crit_async_ms,"
               "reason\n");
    GArray *sorted = sim_metrics_sorted_tasks(m);
    for (guint i = 0; i < m->ckpts->len; i++) {
        const SimCkptRow *r = &g_array_index(m->ckpts, SimCkptRow, i);
        SimCkptParts p;
        sim_metrics_ckpt_parts(sorted, r, &p);
        checkpoint_row(f, r, &p);
    }
    bool ok = sim_report_close(f, dir, "checkpoints.csv", error) &&
              write_subtasks(m, sorted, dir, error) && write_alignments(m, dir, error);
    g_array_unref(sorted);
    return ok;
}

static int cmp_fault(const void *a, const void *b) {
    const SimFaultSpan *x = *(SimFaultSpan *const *)a, *y = *(SimFaultSpan *const *)b;
    return x->start_ns < y->start_ns ? -1 : x->start_ns > y->start_ns;
}

bool sim_metrics_write_faults(const SimMetrics *m, const char *dir, GError **error) {
    FILE *f = sim_report_open(dir, "faults.csv", error);
    if (f == NULL)
        return false;
    fprintf(f, "start_s,end_s,kind,target,label\n");
    GPtrArray *order = g_ptr_array_new();
    for (guint i = 0; i < m->fault_spans->len; i++)
        g_ptr_array_add(order, &g_array_index(m->fault_spans, SimFaultSpan, i));
    g_ptr_array_sort(order, cmp_fault); /* stable: equal starts keep their order */
    for (guint i = 0; i < order->len; i++) {
        const SimFaultSpan *s = g_ptr_array_index(order, i);
        sim_metrics_put_s(f, s->start_ns);
        fputc(',', f);
        /* Still open at the end (a process that never restarts): until the run ends. */
        sim_metrics_put_s(f, s->end_ns == UINT64_MAX ? MAX(m->last_ns, s->start_ns) : s->end_ns);
        char *target = s->pid != UINT32_MAX ? sim_metrics_process_name(m, s->pid)
                                            : g_strdup("");
        fprintf(f, ",%s,%s,", s->kind, target);
        sim_report_put_csv_field(f, s->label);
        fputc('\n', f);
        g_free(target);
    }
    g_ptr_array_unref(order);
    return sim_report_close(f, dir, "faults.csv", error);
}
