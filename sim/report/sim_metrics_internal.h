/* sim_metrics_internal.h - the collector's state, shared by sim_metrics.c (collection)
 * and sim_metrics_write.c (CSV and trace writers). Not for use elsewhere.
 */
#ifndef SIM_METRICS_INTERNAL_H
#define SIM_METRICS_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

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
};

int sim_metrics_cmp_u32(const void *a, const void *b, void *unused);

/* Trace thread id of a subtask (0 is the process-level track). */
static inline uint32_t sim_metrics_tid(RtSubtaskId st) {
    return (uint32_t)st.op * 1000u + st.index + 1u;
}

/* sim_metrics_trace.c: writes trace.json into dir. */
bool sim_metrics_write_trace(const SimMetrics *m, const char *dir, GError **error);

#endif /* SIM_METRICS_INTERNAL_H */
