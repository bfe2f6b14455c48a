/* sim_metrics_detail.c - the collector's finer tables: each subtask's part of each
 * checkpoint (start delay, alignment, synchronous and asynchronous snapshot, state and
 * channel-state sizes, as Flink's SubtaskCheckpointStatistics), the barriers and acks
 * (flow arrows in the trace), faults as intervals of simulated time (a crash lasts until
 * its process restarts, a partition or spike its duration), restore / leader / ZooKeeper
 * markers, and every committed record's latency (exact percentiles while the run stays
 * under SIM_METRICS_MAX_SAMPLES records). See sim_metrics.h.
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/coord/rt_coord.h"
#include "sim/report/sim_metrics_internal.h"

static void fault_span_clear(void *p) {
    g_free(((SimFaultSpan *)p)->label);
}

void sim_metrics_detail_init(SimMetrics *m) {
    m->fault_spans = g_array_new(FALSE, TRUE, sizeof(SimFaultSpan));
    g_array_set_clear_func(m->fault_spans, fault_span_clear);
    m->tasks = g_array_new(FALSE, TRUE, sizeof(SimTaskCkpt));
    m->task_index = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    m->barriers = g_array_new(FALSE, TRUE, sizeof(SimBarrierRow));
    m->acks = g_array_new(FALSE, TRUE, sizeof(SimBarrierRow));
    m->samples = g_array_new(FALSE, FALSE, sizeof(SimLatSample));
    m->running = g_array_new(FALSE, TRUE, sizeof(SimRunSpan));
    m->lat_exact = true;
}

void sim_metrics_detail_free(SimMetrics *m) {
    g_array_unref(m->fault_spans);
    g_array_unref(m->tasks);
    g_hash_table_unref(m->task_index);
    g_array_unref(m->barriers);
    g_array_unref(m->acks);
    g_array_unref(m->samples);
    g_array_unref(m->running);
}

/* Ends the running spans of process pid (every process: UINT32_MAX) at t. */
static void running_end(SimMetrics *m, uint32_t pid, uint64_t t) {
    for (guint i = 0; i < m->running->len; i++) {
        SimRunSpan *r = &g_array_index(m->running, SimRunSpan, i);
        if (r->end_ns == 0 && (pid == UINT32_MAX || r->pid == pid))
            r->end_ns = t > r->start_ns ? t : r->start_ns;
    }
}

static void on_running(SimMetrics *m, const RtEvent *ev) {
    if (ev->kind == RT_EV_RESTORE) {
        /* The subtask's own restore (b = 0; the job manager's names the worker in b). */
        if (ev->b != 0 || m->running->len >= SIM_METRICS_MAX_ALIGNMENTS)
            return;
        SimRunSpan r = {ev->subtask, ev->process, (uint32_t)ev->a, ev->time_ns, 0};
        g_array_append_val(m->running, r);
    } else if (ev->kind == RT_EV_WORLD_CRASH) {
        running_end(m, ev->process, ev->time_ns);
    } else {
        running_end(m, UINT32_MAX, ev->time_ns);
    }
}

/* ------------------------------------------------------------------ names */

char *sim_metrics_process_name(const SimMetrics *m, uint32_t pid) {
    const char *n = g_tree_lookup(m->process_names, &pid);
    return n != NULL ? g_strdup(n) : g_strdup_printf("process %u", pid);
}

char *sim_metrics_subtask_name(const SimMetrics *m, RtSubtaskId st) {
    if (m->graph != NULL && st.op < m->graph->operators->len) {
        const RtOperatorSpec *o = g_ptr_array_index(m->graph->operators, st.op);
        return g_strdup_printf("%s[%u]", o->name, st.index);
    }
    return g_strdup_printf("op%u[%u]", st.op, st.index);
}

bool sim_metrics_channel_source(const SimMetrics *m, RtSubtaskId st, uint32_t ch,
                                RtSubtaskId *from) {
    if (m->graph == NULL)
        return false;
    const RtJobGraph *g = m->graph;
    uint32_t base = 0;
    for (guint e = 0; e < g->edges->len; e++) {
        const RtEdgeSpec *es = &g_array_index(g->edges, RtEdgeSpec, e);
        if (es->to != st.op)
            continue;
        const RtOperatorSpec *up = g_ptr_array_index(g->operators, es->from);
        bool fwd = es->partitioning == RT_PART_FORWARD;
        uint32_t n = fwd ? 1u : up->parallelism;
        if (ch < base + n) {
            *from = (RtSubtaskId){(uint16_t)es->from,
                                  (uint16_t)(fwd ? st.index : ch - base)};
            return true;
        }
        base += n;
    }
    return false;
}

/* ------------------------------------------------------------------ checkpoint parts */

static uint64_t task_key(uint64_t id, RtSubtaskId st) {
    return (id << 32) | ((uint64_t)st.op << 16) | st.index;
}

static SimTaskCkpt *task_row(SimMetrics *m, const RtEvent *ev) {
    uint64_t k = task_key(ev->checkpoint_id, ev->subtask);
    void *v = g_hash_table_lookup(m->task_index, &k);
    SimTaskCkpt *t;
    if (v != NULL) {
        t = &g_array_index(m->tasks, SimTaskCkpt, GPOINTER_TO_UINT(v) - 1);
    } else {
        if (m->tasks->len >= SIM_METRICS_MAX_ALIGNMENTS)
            return NULL;
        SimTaskCkpt row;
        memset(&row, 0, sizeof row);
        row.id = ev->checkpoint_id;
        row.st = ev->subtask;
        g_array_append_val(m->tasks, row);
        uint64_t *kp = g_new(uint64_t, 1);
        *kp = k;
        g_hash_table_insert(m->task_index, kp, GUINT_TO_POINTER(m->tasks->len));
        t = &g_array_index(m->tasks, SimTaskCkpt, m->tasks->len - 1);
    }
    t->pid = ev->process;
    return t;
}

static void on_task_event(SimMetrics *m, const RtEvent *ev) {
    SimTaskCkpt *t = task_row(m, ev);
    if (t == NULL)
        return;
    switch (ev->kind) {
    case RT_EV_BARRIER_RECEIVED:
        if (t->first_barrier_ns == 0)
            t->first_barrier_ns = ev->time_ns;
        t->last_barrier_ns = ev->time_ns;
        if (m->barriers->len < SIM_METRICS_MAX_ALIGNMENTS) {
            SimBarrierRow b = {ev->checkpoint_id, ev->time_ns, ev->subtask, ev->process,
                               (uint32_t)ev->a};
            g_array_append_val(m->barriers, b);
        }
        break;
    case RT_EV_ALIGN_START: t->align_start_ns = ev->time_ns; break;
    case RT_EV_ALIGN_END:
        t->align_end_ns = ev->time_ns;
        if (t->align_start_ns == 0 && ev->time_ns >= ev->a)
            t->align_start_ns = ev->time_ns - ev->a;
        break;
    case RT_EV_SNAPSHOT_SYNC: t->sync_ns = ev->time_ns; break;
    case RT_EV_SNAPSHOT_PERSISTED:
        t->persisted_ns = ev->time_ns;
        t->state_bytes = ev->a;
        t->channel_bytes = ev->b;
        break;
    default: break;
    }
}

static int cmp_task(const void *a, const void *b) {
    const SimTaskCkpt *x = a, *y = b;
    uint64_t kx = task_key(x->id, x->st), ky = task_key(y->id, y->st);
    return kx < ky ? -1 : kx > ky;
}

GArray *sim_metrics_sorted_tasks(const SimMetrics *m) {
    GArray *t = g_array_sized_new(FALSE, FALSE, sizeof(SimTaskCkpt), m->tasks->len);
    g_array_append_vals(t, m->tasks->data, m->tasks->len);
    g_array_sort(t, cmp_task);
    return t;
}

/* The parts of one subtask: when it started (first barrier, or its snapshot for a
 * source, which receives the trigger instead) and how long each phase took. */
static void task_parts(const SimTaskCkpt *t, uint64_t trigger_ns, uint64_t out[4]) {
    uint64_t start = t->first_barrier_ns != 0 ? t->first_barrier_ns : t->sync_ns;
    uint64_t ready = t->last_barrier_ns > t->align_end_ns ? t->last_barrier_ns
                                                          : t->align_end_ns;
    if (ready == 0)
        ready = start;
    out[0] = start > trigger_ns ? start - trigger_ns : 0;
    out[1] = t->align_end_ns > t->align_start_ns && t->align_start_ns != 0
                 ? t->align_end_ns - t->align_start_ns
                 : 0;
    out[2] = t->sync_ns > ready ? t->sync_ns - ready : 0;
    out[3] = t->persisted_ns > t->sync_ns && t->sync_ns != 0 ? t->persisted_ns - t->sync_ns : 0;
}

void sim_metrics_ckpt_parts(const GArray *sorted, const SimCkptRow *r, SimCkptParts *out) {
    memset(out, 0, sizeof *out);
    /* Binary search for the first row of checkpoint r->id. */
    guint lo = 0, hi = sorted->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        if (g_array_index(sorted, SimTaskCkpt, mid).id < r->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t last_ack = 0;
    for (guint i = lo; i < sorted->len; i++) {
        const SimTaskCkpt *t = &g_array_index(sorted, SimTaskCkpt, i);
        if (t->id != r->id)
            break;
        if (t->persisted_ns == 0)
            continue;
        uint64_t p[4];
        task_parts(t, r->trigger_ns, p);
        out->measured = true;
        out->start_delay_max = MAX(out->start_delay_max, p[0]);
        out->align_max = MAX(out->align_max, p[1]);
        out->sync_max = MAX(out->sync_max, p[2]);
        out->async_max = MAX(out->async_max, p[3]);
        out->state_bytes += t->state_bytes;
        out->channel_bytes += t->channel_bytes;
        if (t->persisted_ns >= last_ack) {
            last_ack = t->persisted_ns;
            out->crit_start_delay = p[0];
            out->crit_align = p[1];
            out->crit_sync = p[2];
            out->crit_async = p[3];
        }
    }
}

void sim_metrics_task_parts(const SimTaskCkpt *t, uint64_t trigger_ns, uint64_t out[4]) {
    task_parts(t, trigger_ns, out);
}

/* ------------------------------------------------------------------ faults */

static void fault_open(SimMetrics *m, uint64_t t, uint64_t end, const char *kind,
                       uint32_t pid, char *label) {
    if (m->fault_spans->len >= SIM_METRICS_MAX_MARKERS) {
        g_free(label);
        return;
    }
    SimFaultSpan f = {t, end, kind, pid, label};
    g_array_append_val(m->fault_spans, f);
}

static void on_crash_restart(SimMetrics *m, const RtEvent *ev) {
    char *who = sim_metrics_process_name(m, ev->process);
    if (ev->kind == RT_EV_WORLD_CRASH) {
        fault_open(m, ev->time_ns, UINT64_MAX, "crash", ev->process,
                   g_strdup_printf("crash %s", who));
    } else {
        for (guint i = m->fault_spans->len; i-- > 0;) {
            SimFaultSpan *f = &g_array_index(m->fault_spans, SimFaultSpan, i);
            if (f->end_ns == UINT64_MAX && f->pid == ev->process &&
                strcmp(f->kind, "crash") == 0) {
                f->end_ns = ev->time_ns;
                char *l = g_strdup_printf("%s -> restart", f->label);
                g_free(f->label);
                f->label = l;
                break;
            }
        }
    }
    g_free(who);
}

static const char *action_kind(const SimFaultAction *a) {
    switch (a->kind) {
    case SIM_FAULT_CRASH: return "crash";
    case SIM_FAULT_RESTART: return "restart";
    case SIM_FAULT_PARTITION: return "partition";
    case SIM_FAULT_SPIKE: return "spike";
    case SIM_FAULT_STORAGE_ERROR: return "storage-error";
    case SIM_FAULT_ZK_EXPIRE: return "zk-expire";
    case SIM_FAULT_ZK_DISCONNECT: return "zk-disconnect";
    case SIM_FAULT_ZK_PARTITION: return "zk-partition";
    case SIM_FAULT_PAUSE: return "pause";
    case SIM_FAULT_ZK_LEADER_CHANGE: return "zk-leader-change";
    case SIM_FAULT_NOTIFY:
        return a->notify_mode == SIM_FAULT_NOTIFY_DROP        ? "notify-drop"
               : a->notify_mode == SIM_FAULT_NOTIFY_DUPLICATE ? "notify-duplicate"
                                                              : "notify-delay";
    }
    return "fault";
}

void sim_metrics_note_fault_action(SimMetrics *m, uint64_t time_ns, const char *name,
                                   const SimFaultAction *action, uint32_t target) {
    assert(m != NULL && action != NULL);
    /* Crashes and restarts are spans of the world's own events (on_crash_restart). */
    if (action->kind == SIM_FAULT_CRASH || action->kind == SIM_FAULT_RESTART)
        return;
    bool lasts = action->kind != SIM_FAULT_STORAGE_ERROR &&
                 action->kind != SIM_FAULT_ZK_EXPIRE &&
                 !(action->kind == SIM_FAULT_NOTIFY &&
                   action->notify_mode != SIM_FAULT_NOTIFY_DELAY);
    uint64_t end = time_ns + (lasts ? action->duration_ns : 0);
    const char *kind = action_kind(action);
    char *who = target != UINT32_MAX ? sim_metrics_process_name(m, target) : NULL;
    char *label;
    if (action->kind == SIM_FAULT_SPIKE)
        label = g_strdup_printf("%s %s +%" PRIu64 " ms", kind, who != NULL ? who : "*",
                                action->latency_ns / 1000000u);
    else
        label = g_strdup_printf("%s%s%s", kind, who != NULL ? " " : "", who != NULL ? who : "");
    fault_open(m, time_ns, end, kind, target, label);
    (void)name;
    g_free(who);
}

/* ------------------------------------------------------------------ markers */

static void marker(SimMetrics *m, uint64_t t, SimMarkerKind kind, char *label) {
    if (m->markers->len < SIM_METRICS_MAX_MARKERS) {
        SimMarker mk = {t, kind, label};
        g_array_append_val(m->markers, mk);
    } else {
        g_free(label);
    }
}

static void on_lifecycle(SimMetrics *m, const RtEvent *ev) {
    char *who = sim_metrics_process_name(m, ev->process);
    switch (ev->kind) {
    case RT_EV_RESTORE:
        /* Twice per subtask and attempt (job manager and subtask): one marker each. */
        if (ev->attempt > m->last_restore_attempt || ev->a > m->last_restore_attempt) {
            bool first = m->last_restore_attempt == 0; /* the first deployment */
            m->last_restore_attempt = MAX(ev->attempt, (uint32_t)ev->a);
            if (!first)
                marker(m, ev->time_ns, SIM_MARK_RESTORE,
                   ev->checkpoint_id != 0
                       ? g_strdup_printf("restore checkpoint %" PRIu64, ev->checkpoint_id)
                           : g_strdup("restart from scratch"));
        }
        break;
    case RT_EV_LEADER_GAINED:
        if (m->leader_session++ > 0)
            marker(m, ev->time_ns, SIM_MARK_LEADER, g_strdup_printf("leader %s", who));
        break;
    case RT_EV_LEADER_LOST:
        marker(m, ev->time_ns, SIM_MARK_ZK, g_strdup_printf("%s lost leadership", who));
        break;
    case RT_EV_COORD_SESSION:
        marker(m, ev->time_ns, SIM_MARK_ZK,
               g_strdup_printf("zk %s (%s)", rt_coord_state_name((RtCoordState)ev->a), who));
        break;
    default: break;
    }
    g_free(who);
}

/* ------------------------------------------------------------------ latency samples */

static int cmp_sample(const void *a, const void *b, void *bin) {
    const SimLatSample *x = a, *y = b;
    uint64_t w = *(const uint64_t *)bin;
    uint64_t bx = x->time_ns / w, by = y->time_ns / w;
    if (bx != by)
        return bx < by ? -1 : 1;
    return x->latency_ns < y->latency_ns ? -1 : x->latency_ns > y->latency_ns;
}

GArray *sim_metrics_sorted_samples(const SimMetrics *m, uint64_t bin_ns) {
    GArray *s = g_array_sized_new(FALSE, FALSE, sizeof(SimLatSample), m->samples->len);
    g_array_append_vals(s, m->samples->data, m->samples->len);
    g_array_sort_with_data(s, cmp_sample, &bin_ns);
    return s;
}

uint64_t sim_metrics_rank_quantile(const SimLatSample *v, size_t n, double q) {
    if (n == 0)
        return 0;
    /* Nearest rank: the ceil(q n)-th smallest value. */
    double want = q * (double)n;
    size_t rank = (size_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1].latency_ns;
}

void sim_metrics_detail_event(SimMetrics *m, const RtEvent *ev) {
    switch (ev->kind) {
    case RT_EV_SINK_COMMIT_RECORD:
        if (m->samples->len < SIM_METRICS_MAX_SAMPLES) {
            SimLatSample s = {ev->time_ns, ev->c};
            g_array_append_val(m->samples, s);
        } else {
            m->lat_exact = false;
        }
        break;
    case RT_EV_BARRIER_RECEIVED:
    case RT_EV_ALIGN_START:
    case RT_EV_ALIGN_END:
    case RT_EV_SNAPSHOT_SYNC:
    case RT_EV_SNAPSHOT_PERSISTED: on_task_event(m, ev); break;
    case RT_EV_CKPT_ACK:
        if (m->acks->len < SIM_METRICS_MAX_ALIGNMENTS) {
            SimBarrierRow a = {ev->checkpoint_id, ev->time_ns, ev->subtask, ev->process, 0};
            g_array_append_val(m->acks, a);
        }
        break;
    case RT_EV_WORLD_CRASH:
        on_running(m, ev);
        on_crash_restart(m, ev);
        break;
    case RT_EV_WORLD_RESTART: on_crash_restart(m, ev); break;
    case RT_EV_FAILOVER:
    case RT_EV_JOB_FINISHED:
    case RT_EV_JOB_FAILED: on_running(m, ev); break;
    case RT_EV_RESTORE:
        on_running(m, ev);
        on_lifecycle(m, ev);
        break;
    case RT_EV_LEADER_GAINED:
    case RT_EV_LEADER_LOST:
    case RT_EV_COORD_SESSION: on_lifecycle(m, ev); break;
    default: break;
    }
}
