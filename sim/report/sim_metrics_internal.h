/* sim_metrics_internal.h - the collector's state, shared by sim_metrics.c (collection)
 * and sim_metrics_write.c (CSV and trace writers). Not for use elsewhere.
 */
#ifndef SIM_METRICS_INTERNAL_H
#define SIM_METRICS_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/report/sim_metrics.h"

/* Log-linear histogram: values 0..7 exact, then 8 sub-buckets per power of two. */
#define SIM_HIST_BUCKETS 496u
uint32_t sim_hist_bucket(uint64_t v);
/* A representative value (the middle) of bucket b. */
uint64_t sim_hist_bucket_mid(uint32_t b);
/* The q-quantile (0 < q <= 1) of n values in hist, capped at max. 0 when n == 0. */
uint64_t sim_hist_quantile(const uint64_t *hist, uint64_t n, uint64_t max, double q);

typedef struct SimBin {
    uint64_t emitted;   /* RT_EV_RECORD_EMIT in the bin */
    uint64_t committed; /* RT_EV_SINK_COMMIT_RECORD in the bin */
    uint64_t lat_count;
    uint64_t lat_max;   /* ns */
    uint64_t *hist;     /* SIM_HIST_BUCKETS counts, NULL until a commit */
} SimBin;

typedef enum { SIM_CKPT_PENDING = 0, SIM_CKPT_COMPLETED, SIM_CKPT_ABORTED } SimCkptStatus;

typedef struct SimCkptRow {
    uint64_t id;
    uint64_t trigger_ns, end_ns, duration_ns;
    uint64_t size_bytes;
    uint64_t acks;
    uint64_t align_max_ns, align_sum_ns, align_n;
    SimCkptStatus status;
    uint32_t pid;       /* the coordinator's process */
    char *reason;       /* owned: why it was aborted, NULL otherwise */
} SimCkptRow;

typedef struct SimAlignRow {
    uint64_t id;
    uint32_t op, subtask;
    uint64_t end_ns, duration_ns;
} SimAlignRow;

typedef struct SimRecoveryRow {
    uint64_t failover_ns;
    uint64_t running_ns;  /* 0 while not running again */
    uint32_t attempt;
    uint64_t restored_id; /* checkpoint restored (0 = from scratch) */
    uint32_t pid;
} SimRecoveryRow;

typedef enum {
    SIM_MARK_FAULT,
    SIM_MARK_RESTART,
    SIM_MARK_FAILOVER,
    SIM_MARK_COMPLETE,
    SIM_MARK_ABORT,
    SIM_MARK_FINISHED,
    SIM_MARK_RESTORE, /* the job manager deploys an attempt from a checkpoint */
    SIM_MARK_LEADER,  /* a job manager gains leadership (after the first) */
    SIM_MARK_ZK,      /* a ZooKeeper session changes state */
} SimMarkerKind;

typedef struct SimMarker {
    uint64_t time_ns;
    SimMarkerKind kind;
    char *label; /* owned */
} SimMarker;

typedef enum {
    SIM_SPAN_ALIGN = 1,
    SIM_SPAN_SNAPSHOT,
    SIM_SPAN_RECOVERY,
    SIM_SPAN_FAULT,   /* instant */
    SIM_SPAN_RESTART, /* instant */
} SimSpanKind;

typedef struct SimSpan {
    uint64_t start_ns, end_ns;
    uint32_t pid, tid;
    SimSpanKind kind;
    uint64_t id; /* checkpoint id */
} SimSpan;

/* A fault as an interval of simulated time (faults.csv, shading in the plots). */
typedef struct SimFaultSpan {
    uint64_t start_ns;
    uint64_t end_ns;   /* UINT64_MAX while open (a crashed process not restarted yet) */
    const char *kind;  /* static: crash, partition, spike, pause, zk-expire, ... */
    uint32_t pid;      /* the target, UINT32_MAX when none (partition sides, ensemble) */
    char *label;       /* owned */
} SimFaultSpan;

/* One subtask's part of one checkpoint (Flink's SubtaskCheckpointStatistics). Times are
 * absolute ns, 0 = not seen. */
typedef struct SimTaskCkpt {
    uint64_t id;
    RtSubtaskId st;
    uint32_t pid;
    uint64_t first_barrier_ns, last_barrier_ns;
    uint64_t align_start_ns, align_end_ns;
    uint64_t sync_ns, persisted_ns;
    uint64_t state_bytes, channel_bytes;
} SimTaskCkpt;

/* A barrier that reached a subtask (trace flow arrows). */
typedef struct SimBarrierRow {
    uint64_t id, time_ns;
    RtSubtaskId st;
    uint32_t pid, channel;
} SimBarrierRow;

/* A subtask running one attempt: from its restore (deploy) to the failover, its
 * process's crash or the job's end (trace "running" spans). */
typedef struct SimRunSpan {
    RtSubtaskId st;
    uint32_t pid, attempt;
    uint64_t start_ns, end_ns; /* end 0 while running */
} SimRunSpan;

/* One committed record's latency (exact percentiles). */
typedef struct SimLatSample {
    uint64_t time_ns, latency_ns;
} SimLatSample;

/* One sample of a worker's network gauges (sim_metrics_note_gauges). */
typedef struct SimGauge {
    uint64_t time_ns;
    uint32_t pid;
    RtTmGauges g;
} SimGauge;

struct SimMetrics {
    RtObserver observer; /* first */
    const RtJobGraph *graph;
    SimOracleFiles files;
    bool has_files;
    uint64_t bin_ns;
    GArray *bins;        /* SimBin by time / bin_ns */
    uint64_t hist[SIM_HIST_BUCKETS];
    uint64_t lat_count, lat_max;
    uint64_t emitted, committed;
    GArray *ckpts;       /* SimCkptRow in trigger order */
    GHashTable *ckpt_index; /* uint64_t* id -> index + 1 (lookup only) */
    GArray *aligns;      /* SimAlignRow */
    uint64_t align_max_ns;
    GArray *recoveries;  /* SimRecoveryRow */
    bool recovery_open;
    GArray *markers;     /* SimMarker */
    GArray *spans;       /* SimSpan */
    uint64_t spans_dropped;
    GHashTable *open_spans; /* uint64_t* key -> uint64_t* start (lookup only) */
    GTree *process_names;   /* uint32_t* pid -> char* */
    uint64_t faults;
    uint64_t last_ns, finished_ns;
    GArray *fault_spans;    /* SimFaultSpan in start order */
    GArray *tasks;          /* SimTaskCkpt in first-seen order */
    GHashTable *task_index; /* uint64_t* key -> index + 1 (lookup only) */
    GArray *barriers;       /* SimBarrierRow */
    GArray *samples;        /* SimLatSample; dropped (lat_exact false) past the bound */
    bool lat_exact;
    GArray *running;        /* SimRunSpan */
    GArray *acks;           /* SimBarrierRow reused: coordinator acks (id, st, pid, time) */
    uint32_t last_restore_attempt;
    uint64_t leader_session;
    GArray *gauges;         /* SimGauge in sampling order */
    uint64_t gauges_dropped;
};

int sim_metrics_cmp_u32(const void *a, const void *b, void *unused);

/* Trace thread id of a subtask (0 is the process-level track). */
static inline uint32_t sim_metrics_tid(RtSubtaskId st) {
    return (uint32_t)st.op * 1000u + st.index + 1u;
}

/* sim_metrics_detail.c: per-subtask checkpoint parts, barriers, acks, fault spans and
 * latency samples, fed by sim_metrics_event. */
void sim_metrics_detail_init(SimMetrics *m);
void sim_metrics_detail_free(SimMetrics *m);
void sim_metrics_detail_event(SimMetrics *m, const RtEvent *ev);
/* The worst (max) and the last-acking subtask's parts of checkpoint id, in ns. */
typedef struct SimCkptParts {
    bool measured;  /* some subtask acknowledged it */
    uint64_t start_delay_max, align_max, sync_max, async_max;
    uint64_t state_bytes, channel_bytes; /* sums over the subtasks */
    uint64_t crit_start_delay, crit_align, crit_sync, crit_async; /* last ack */
} SimCkptParts;
/* The subtask rows sorted by (checkpoint, operator, index): a new array. */
GArray *sim_metrics_sorted_tasks(const SimMetrics *m);
/* Parts of checkpoint r from sorted (sim_metrics_sorted_tasks). */
void sim_metrics_ckpt_parts(const GArray *sorted, const SimCkptRow *r, SimCkptParts *out);
/* One subtask's start delay, alignment, sync and async durations (ns), in out[0..3]. */
void sim_metrics_task_parts(const SimTaskCkpt *t, uint64_t trigger_ns, uint64_t out[4]);
/* A sorted copy of the latency samples: by bin (time / bin_ns), then latency. */
GArray *sim_metrics_sorted_samples(const SimMetrics *m, uint64_t bin_ns);
/* Nearest-rank q-quantile of n sorted latencies starting at v. */
uint64_t sim_metrics_rank_quantile(const SimLatSample *v, size_t n, double q);
/* The name of process pid in the trace ("worker-2", else "process N"); new string. */
char *sim_metrics_process_name(const SimMetrics *m, uint32_t pid);
/* Operator name of op ("op3" when the graph is unknown); new string "name[index]". */
char *sim_metrics_subtask_name(const SimMetrics *m, RtSubtaskId st);
/* The upstream subtask that feeds input channel ch of st (Flink's input gate order, as
 * rt_subtask.c build_inputs numbers them); false when the graph does not say. */
bool sim_metrics_channel_source(const SimMetrics *m, RtSubtaskId st, uint32_t ch,
                                RtSubtaskId *from);

/* sim_metrics_write.c: seconds with 6 decimals, milliseconds with 3 (integer maths). */
void sim_metrics_put_s(FILE *f, uint64_t ns);
void sim_metrics_put_ms(FILE *f, uint64_t ns);
int sim_metrics_cmp_uint(const void *a, const void *b);
/* sim_metrics_write_ckpt.c: checkpoints.csv, checkpoint_subtasks.csv, alignments.csv;
 * faults.csv. */
bool sim_metrics_write_checkpoints(const SimMetrics *m, const char *dir, GError **error);
bool sim_metrics_write_faults(const SimMetrics *m, const char *dir, GError **error);

/* sim_metrics_trace.c: writes trace.json into dir. */
bool sim_metrics_write_trace(const SimMetrics *m, const char *dir, GError **error);

#endif /* SIM_METRICS_INTERNAL_H */
