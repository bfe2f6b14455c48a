/* sim_metrics_trace.c - writes trace.json, a Chrome / Perfetto trace (the "JSON Object"
 * format: {"traceEvents": [...]}) of a run in simulated time, built with json-glib:
 *  - metadata: every process named by role (process_name "jobmanager-1", "worker-2",
 *    else "process N"); per subtask a thread named "<operator>[<index>]" (tid
 *    op*1000+index+1) and one for its asynchronous snapshots ("count[1] async"); tid 0
 *    of a job manager is its checkpoint coordinator, tid 999999 its recoveries;
 *  - complete events ("X"): on the coordinator each checkpoint (trigger -> complete or
 *    abort); on a subtask's thread "running" (its restore -> failover, crash or end),
 *    in it "checkpoint N" (first barrier -> ack) with "align N" and "sync N" inside; the
 *    asynchronous part on the async thread; recoveries (failover -> running);
 *  - flow events (ph s/f, one id per arrow): each barrier from the upstream subtask's
 *    snapshot to the downstream subtask that received it, each ack from the subtask's
 *    persisted snapshot to the coordinator;
 *  - instant events ("i"): faults, process restarts, failovers, restores, leader changes,
 *    ZooKeeper session changes, the job's end;
 *  - counter events ("C"): records emitted and committed per time bin; per worker a
 *    "buffers" track (finished output buffers queued, credits granted and unused, input
 *    items queued) sampled every SIM_METRICS_GAUGE_NS from the task managers' gauges.
 * Timestamps are microseconds (doubles with ns resolution). Identical runs give
 * identical files: every array is walked in insertion or sorted order.
 */
#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sim/report/sim_metrics_internal.h"
#include "sim/report/sim_report_io.h"

#define ASYNC_TID_BASE 1000000u /* + the subtask's tid: its asynchronous snapshot thread */
#define RECOVERY_TID 999999u    /* a job manager's recovery track (above every subtask's
                                 * tid: op * 1000 + index + 1 with index < 1000) */

static double us(uint64_t ns) {
    return (double)ns / 1000.0;
}

/* Opens an event object with the members every event has; the caller may add more and
 * must json_builder_end_object. */
static void ev_open(JsonBuilder *b, const char *name, const char *cat, const char *ph,
                    uint64_t ts_ns, uint32_t pid, uint32_t tid) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, name);
    if (cat != NULL) {
        json_builder_set_member_name(b, "cat");
        json_builder_add_string_value(b, cat);
    }
    json_builder_set_member_name(b, "ph");
    json_builder_add_string_value(b, ph);
    json_builder_set_member_name(b, "ts");
    json_builder_add_double_value(b, us(ts_ns));
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, pid);
    json_builder_set_member_name(b, "tid");
    json_builder_add_int_value(b, tid);
}

static void complete(JsonBuilder *b, const char *name, const char *cat, uint64_t start,
                     uint64_t end, uint32_t pid, uint32_t tid, uint64_t ckpt) {
    ev_open(b, name, cat, "X", start, pid, tid);
    json_builder_set_member_name(b, "dur");
    json_builder_add_double_value(b, us(end >= start ? end - start : 0));
    if (ckpt != 0) {
        json_builder_set_member_name(b, "args");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "checkpoint");
        json_builder_add_int_value(b, (gint64)ckpt);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
}

static void instant(JsonBuilder *b, const char *name, const char *cat, uint64_t ts,
                    uint32_t pid, bool global) {
    ev_open(b, name, cat, "i", ts, pid, 0);
    json_builder_set_member_name(b, "s");
    json_builder_add_string_value(b, global ? "g" : "p");
    json_builder_end_object(b);
}

/* One end of a flow arrow: ph "s" (start) or "f" (finish, bound to the enclosing slice). */
static void flow(JsonBuilder *b, const char *name, const char *ph, uint64_t id, uint64_t ts,
                 uint32_t pid, uint32_t tid) {
    ev_open(b, name, "flow", ph, ts, pid, tid);
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, (gint64)id);
    if (ph[0] == 'f') {
        json_builder_set_member_name(b, "bp");
        json_builder_add_string_value(b, "e");
    }
    json_builder_end_object(b);
}

static void name_event(JsonBuilder *b, const char *what, uint32_t pid, uint32_t tid,
                       const char *name) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, what);
    json_builder_set_member_name(b, "ph");
    json_builder_add_string_value(b, "M");
    json_builder_set_member_name(b, "pid");
    json_builder_add_int_value(b, pid);
    json_builder_set_member_name(b, "tid");
    json_builder_add_int_value(b, tid);
    json_builder_set_member_name(b, "args");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, name);
    json_builder_end_object(b);
    json_builder_end_object(b);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void add_track(GArray *tracks, uint32_t pid, uint32_t tid) {
    uint64_t k = ((uint64_t)pid << 32) | tid;
    g_array_append_val(tracks, k);
}

/* Metadata: a name for every process (named or seen) and every thread that appears. */
static void write_names(JsonBuilder *b, const SimMetrics *m) {
    GArray *tracks = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    GTreeNode *n = g_tree_node_first(m->process_names);
    for (; n != NULL; n = g_tree_node_next(n))
        add_track(tracks, *(const uint32_t *)g_tree_node_key(n), 0);
    for (guint i = 0; i < m->spans->len; i++) {
        const SimSpan *s = &g_array_index(m->spans, SimSpan, i);
        add_track(tracks, s->pid, s->kind == SIM_SPAN_RECOVERY ? RECOVERY_TID : 0);
    }
    for (guint i = 0; i < m->ckpts->len; i++)
        add_track(tracks, g_array_index(m->ckpts, SimCkptRow, i).pid, 0);
    for (guint i = 0; i < m->tasks->len; i++) {
        const SimTaskCkpt *t = &g_array_index(m->tasks, SimTaskCkpt, i);
        add_track(tracks, t->pid, sim_metrics_tid(t->st));
        add_track(tracks, t->pid, ASYNC_TID_BASE + sim_metrics_tid(t->st));
    }
    for (guint i = 0; i < m->running->len; i++) {
        const SimRunSpan *r = &g_array_index(m->running, SimRunSpan, i);
        add_track(tracks, r->pid, sim_metrics_tid(r->st));
    }
    g_array_sort(tracks, cmp_u64);
    uint64_t prev = UINT64_MAX;
    uint32_t prev_pid = UINT32_MAX;
    for (guint i = 0; i < tracks->len; i++) {
        uint64_t k = g_array_index(tracks, uint64_t, i);
        if (k == prev)
            continue;
        prev = k;
        uint32_t pid = (uint32_t)(k >> 32), tid = (uint32_t)k;
        if (pid != prev_pid) { /* every process once, whichever of its tracks came first */
            prev_pid = pid;
            char *pn = sim_metrics_process_name(m, pid);
            name_event(b, "process_name", pid, 0, pn);
            g_free(pn);
        }
        if (tid == 0) {
            const char *pn = g_tree_lookup(m->process_names, &pid);
            bool jm = pn != NULL && g_str_has_prefix(pn, "jobmanager");
            name_event(b, "thread_name", pid, 0, jm ? "checkpoint coordinator" : "process");
            continue;
        }
        if (tid == RECOVERY_TID) {
            name_event(b, "thread_name", pid, tid, "recovery");
            continue;
        }
        bool async = tid > ASYNC_TID_BASE;
        uint32_t t = async ? tid - ASYNC_TID_BASE : tid;
        RtSubtaskId st = {(uint16_t)((t - 1u) / 1000u), (uint16_t)((t - 1u) % 1000u)};
        char *sn = sim_metrics_subtask_name(m, st);
        char *name = async ? g_strdup_printf("%s async", sn) : g_strdup(sn);
        name_event(b, "thread_name", pid, tid, name);
        g_free(name);
        g_free(sn);
    }
    g_array_unref(tracks);
}

static void write_checkpoints(JsonBuilder *b, const SimMetrics *m) {
    for (guint i = 0; i < m->ckpts->len; i++) {
        const SimCkptRow *r = &g_array_index(m->ckpts, SimCkptRow, i);
        if (r->status == SIM_CKPT_PENDING)
            continue;
        char *name = g_strdup_printf("checkpoint %" PRIu64 "%s", r->id,
                                     r->status == SIM_CKPT_ABORTED ? " (aborted)" : "");
        complete(b, name, "checkpoint", r->trigger_ns, r->end_ns, r->pid, 0, r->id);
        g_free(name);
    }
    for (guint i = 0; i < m->spans->len; i++) {
        const SimSpan *s = &g_array_index(m->spans, SimSpan, i);
        if (s->kind == SIM_SPAN_RECOVERY) {
            char *name = g_strdup_printf("recovery (restore %" PRIu64 ")", s->id);
            complete(b, name, "recovery", s->start_ns, s->end_ns, s->pid, RECOVERY_TID, s->id);
            g_free(name);
        } else if (s->kind == SIM_SPAN_RESTART) {
            instant(b, "restart", "fault", s->start_ns, s->pid, false);
        }
    }
}

/* Where a subtask's checkpoint slice starts: 1 ns before its first barrier (so the
 * barrier's flow arrow lands inside it), or its snapshot for a source. */
static uint64_t task_start(const SimTaskCkpt *t) {
    uint64_t s = t->first_barrier_ns != 0 ? t->first_barrier_ns : t->sync_ns;
    return s > 0 ? s - 1 : 0;
}

static void write_tasks(JsonBuilder *b, const SimMetrics *m) {
    for (guint i = 0; i < m->running->len; i++) {
        const SimRunSpan *r = &g_array_index(m->running, SimRunSpan, i);
        char *name = g_strdup_printf("running (attempt %u)", r->attempt);
        complete(b, name, "processing", r->start_ns, r->end_ns != 0 ? r->end_ns : m->last_ns,
                 r->pid, sim_metrics_tid(r->st), 0);
        g_free(name);
    }
    for (guint i = 0; i < m->tasks->len; i++) {
        const SimTaskCkpt *t = &g_array_index(m->tasks, SimTaskCkpt, i);
        uint32_t tid = sim_metrics_tid(t->st);
        uint64_t end = MAX(t->persisted_ns, MAX(t->sync_ns, t->align_end_ns));
        if (end == 0)
            continue; /* only barriers seen: the checkpoint died before this subtask */
        char *name = g_strdup_printf("checkpoint %" PRIu64, t->id);
        complete(b, name, "checkpoint", task_start(t), end, t->pid, tid, t->id);
        g_free(name);
        if (t->align_start_ns != 0 && t->align_end_ns != 0) {
            name = g_strdup_printf("align %" PRIu64, t->id);
            complete(b, name, "alignment", t->align_start_ns, t->align_end_ns, t->pid, tid, t->id);
            g_free(name);
        }
        uint64_t ready = MAX(t->last_barrier_ns, t->align_end_ns);
        if (t->sync_ns != 0 && ready != 0 && t->sync_ns > ready) {
            name = g_strdup_printf("sync %" PRIu64, t->id);
            complete(b, name, "snapshot", ready, t->sync_ns, t->pid, tid, t->id);
            g_free(name);
        }
        if (t->sync_ns != 0 && t->persisted_ns != 0) {
            name = g_strdup_printf("async snapshot %" PRIu64, t->id);
            complete(b, name, "snapshot", t->sync_ns, t->persisted_ns, t->pid,
                     ASYNC_TID_BASE + tid, t->id);
            g_free(name);
        }
    }
}

/* The snapshot (barrier forwarding) time of subtask st in checkpoint id, 0 if none. */
static const SimTaskCkpt *task_of(const SimMetrics *m, uint64_t id, RtSubtaskId st) {
    uint64_t k = (id << 32) | ((uint64_t)st.op << 16) | st.index;
    void *v = g_hash_table_lookup(m->task_index, &k);
    return v != NULL ? &g_array_index(m->tasks, SimTaskCkpt, GPOINTER_TO_UINT(v) - 1) : NULL;
}

static void write_flows(JsonBuilder *b, const SimMetrics *m) {
    uint64_t next_id = 1;
    for (guint i = 0; i < m->barriers->len; i++) {
        const SimBarrierRow *br = &g_array_index(m->barriers, SimBarrierRow, i);
        RtSubtaskId up;
        if (!sim_metrics_channel_source(m, br->st, br->channel, &up))
            continue;
        const SimTaskCkpt *from = task_of(m, br->id, up);
        if (from == NULL || from->sync_ns == 0 || from->sync_ns > br->time_ns)
            continue; /* forwarded by an earlier attempt, or unknown */
        char *name = g_strdup_printf("barrier %" PRIu64, br->id);
        flow(b, name, "s", next_id, from->sync_ns, from->pid, sim_metrics_tid(up));
        flow(b, name, "f", next_id, br->time_ns, br->pid, sim_metrics_tid(br->st));
        next_id++;
        g_free(name);
    }
    for (guint i = 0; i < m->acks->len; i++) {
        const SimBarrierRow *a = &g_array_index(m->acks, SimBarrierRow, i);
        const SimTaskCkpt *t = task_of(m, a->id, a->st);
        if (t == NULL || t->persisted_ns == 0 || t->persisted_ns > a->time_ns)
            continue;
        char *name = g_strdup_printf("ack %" PRIu64, a->id);
        /* From inside the async snapshot slice (1 ns before it ends). */
        uint64_t ts = t->persisted_ns > t->sync_ns ? t->persisted_ns - 1 : t->persisted_ns;
        flow(b, name, "s", next_id, ts, t->pid, ASYNC_TID_BASE + sim_metrics_tid(a->st));
        flow(b, name, "f", next_id, a->time_ns, a->pid, 0);
        next_id++;
        g_free(name);
    }
}

static void write_instants(JsonBuilder *b, const SimMetrics *m) {
    for (guint i = 0; i < m->markers->len; i++) {
        const SimMarker *mk = &g_array_index(m->markers, SimMarker, i);
        const char *cat = mk->kind == SIM_MARK_FAULT      ? "fault"
                          : mk->kind == SIM_MARK_FAILOVER ? "recovery"
                          : mk->kind == SIM_MARK_RESTORE  ? "recovery"
                          : mk->kind == SIM_MARK_LEADER   ? "ha"
                          : mk->kind == SIM_MARK_ZK       ? "zookeeper"
                          : mk->kind == SIM_MARK_FINISHED ? "job"
                                                          : NULL;
        if (cat != NULL)
            instant(b, mk->label, cat, mk->time_ns, 0, true);
    }
}

static void write_counters(JsonBuilder *b, const SimMetrics *m) {
    for (guint i = 0; i < m->bins->len; i++) {
        const SimBin *bin = &g_array_index(m->bins, SimBin, i);
        ev_open(b, "records per bin", "counter", "C", (uint64_t)i * m->bin_ns, 0, 0);
        json_builder_set_member_name(b, "args");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "emitted");
        json_builder_add_int_value(b, (gint64)bin->emitted);
        json_builder_set_member_name(b, "committed");
        json_builder_add_int_value(b, (gint64)bin->committed);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
}

static void add_int(JsonBuilder *b, const char *name, uint64_t v) {
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, (gint64)v);
}

/* Per worker: one "buffers" counter track with three series. */
static void write_gauges(JsonBuilder *b, const SimMetrics *m) {
    for (guint i = 0; i < m->gauges->len; i++) {
        const SimGauge *s = &g_array_index(m->gauges, SimGauge, i);
        ev_open(b, "buffers", "counter", "C", s->time_ns, s->pid, 0);
        json_builder_set_member_name(b, "args");
        json_builder_begin_object(b);
        add_int(b, "queued buffers", s->g.queued_buffers);
        add_int(b, "credits", s->g.credits);
        add_int(b, "input queued", s->g.input_queued);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
}

bool sim_metrics_write_trace(const SimMetrics *m, const char *dir, GError **error) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "displayTimeUnit");
    json_builder_add_string_value(b, "ms");
    json_builder_set_member_name(b, "traceEvents");
    json_builder_begin_array(b);
    write_names(b, m);
    write_checkpoints(b, m);
    write_tasks(b, m);
    write_flows(b, m);
    write_instants(b, m);
    write_counters(b, m);
    write_gauges(b, m);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "otherData");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "spans_dropped");
    json_builder_add_int_value(b, (gint64)m->spans_dropped);
    json_builder_set_member_name(b, "gauges_dropped");
    json_builder_add_int_value(b, (gint64)m->gauges_dropped);
    json_builder_end_object(b);
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    JsonGenerator *g = json_generator_new();
    json_generator_set_root(g, root);
    char *path = g_build_filename(dir, "trace.json", NULL);
    GError *e = NULL;
    bool ok = json_generator_to_file(g, path, &e);
    if (!ok) {
        g_set_error(error, SIM_METRICS_ERROR, SIM_METRICS_ERROR_IO, "cannot write %s: %s", path,
                    e->message);
        g_error_free(e);
    }
    g_free(path);
    g_object_unref(g);
    json_node_unref(root);
    g_object_unref(b);
    return ok;
}
