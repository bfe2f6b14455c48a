/* sim_metrics.h - run metrics and the Perfetto trace, collected from observation events.
 *
 * A SimMetrics is an RtObserver: the harness feeds it every event of a run, in order.
 * It keeps, in simulated time:
 *  - throughput: records emitted by sources and committed by sinks per time bin;
 *  - end-to-end latency (RT_EV_SINK_COMMIT_RECORD c = latency_ns): every sample up to
 *    SIM_METRICS_MAX_SAMPLES (exact nearest-rank percentiles), and a log-linear histogram
 *    per bin (8 sub-buckets per power of two: midpoints within 6.25%) used past it;
 *  - per subtask and checkpoint: start delay, alignment, sync, async, state and channel
 *    state sizes; barriers and acks (trace arrows); running attempts;
 *  - faults as intervals (crash -> restart, partition, spike, pause, ZooKeeper faults,
 *    notification faults) and markers for failovers, restores, leader changes and
 *    ZooKeeper session changes;
 *  - checkpoints: trigger, end, status, duration, size (summed state handle sizes, read
 *    from the metadata when a files view is given), acks, alignment max/mean;
 *  - alignments (per subtask), recoveries (failover -> job running), markers (faults,
 *    failovers, checkpoint completions and aborts, job finished).
 * The bin width starts at bin_ns and doubles (merging bins) when a run is long, so at
 * most SIM_METRICS_MAX_BINS bins exist.
 *
 * sim_metrics_write() writes into a directory (deterministic content: no wall-clock
 * time, no pointers, fixed number formats):
 *   summary.csv      key,value (scenario, seed, verdict, totals, percentiles...)
 *   violations.txt   one violation per line (empty when the run held)
 *   throughput.csv   time_s,emitted,committed,emitted_per_s,committed_per_s,
 *                    emitted_total,committed_total,committed_smooth_per_s (the committed
 *                    rate averaged over one checkpoint interval)
 *   latency.csv      time_s,count,p50_ms,p90_ms,p99_ms,max_ms   (bins with commits; a
 *                    blank line where nothing was committed for over twice the usual gap)
 *   latency_cdf.csv  latency_ms,fraction (at most 1000 points)
 *   checkpoints.csv, checkpoint_subtasks.csv, alignments.csv, faults.csv: see
 *                    sim_metrics_write_ckpt.c
 *   recovery.csv     failover_s,running_s,recovery_ms,attempt,restored_checkpoint
 *   markers.csv      time_s,kind,label      (kind: fault|restart|failover|complete|abort|
 *                    finished|restore|leader|zk)
 *   trace.json       Chrome/Perfetto trace, see sim_metrics_trace.c.
 */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_cluster.h"
#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_config.h"
#include "runtime/env/rt_observe.h"
#include "sim/faults/sim_fault_plan.h"
#include "sim/harness/sim_oracle.h"

#define SIM_METRICS_MAX_BINS 4096u
#define SIM_METRICS_DEFAULT_BIN_NS UINT64_C(100000000) /* 100 ms */
/* Bounds on what is kept per run (later entries are counted, not kept). */
#define SIM_METRICS_MAX_CHECKPOINTS 100000u
#define SIM_METRICS_MAX_ALIGNMENTS 200000u
#define SIM_METRICS_MAX_SPANS 500000u
#define SIM_METRICS_MAX_MARKERS 100000u
/* Committed records whose latency is kept for exact percentiles (16 bytes each); past
 * it the percentiles come from the histograms (bucket midpoints, within 6.25%). */
#define SIM_METRICS_MAX_SAMPLES 2000000u

#define SIM_METRICS_ERROR (sim_metrics_error_quark())
GQuark sim_metrics_error_quark(void);
typedef enum { SIM_METRICS_ERROR_IO } SimMetricsError;

typedef struct SimMetrics SimMetrics;

/* A new collector. graph (borrowed, may be NULL) names operators in the trace; files
 * (copied, may be NULL) lets it read checkpoint metadata for sizes; bin_ns 0 = default. */
SimMetrics *sim_metrics_new(const RtJobGraph *graph, const SimOracleFiles *files,
                            uint64_t bin_ns);
void sim_metrics_free(SimMetrics *m);

/* Feeds one event (in time order). O(1) for per-record kinds. */
void sim_metrics_event(SimMetrics *m, const RtEvent *ev);
/* The collector as an RtObserver (borrowed, lives as long as m). */
RtObserver *sim_metrics_observer(SimMetrics *m);
/* A fault the world does not report as an event (a marker and a trace instant). */
void sim_metrics_note_fault(SimMetrics *m, uint64_t time_ns, const char *description);
/* A fault of the plan fired at time_ns with its action resolved to process target
 * (UINT32_MAX: none): recorded as an interval of its kind (faults.csv) that lasts the
 * action's duration. Crashes need no call: their interval runs from the world's crash
 * event to the restart of that process. */
void sim_metrics_note_fault_action(SimMetrics *m, uint64_t time_ns, const char *name,
                                   const SimFaultAction *action, uint32_t target);
/* A worker's network gauges sampled at time_ns (trace counter tracks "buffers"). The
 * harness samples each live worker about every SIM_METRICS_GAUGE_NS of simulated time;
 * past SIM_METRICS_MAX_GAUGES samples the rest are dropped (counted). */
#define SIM_METRICS_GAUGE_NS UINT64_C(10000000) /* 10 ms */
#define SIM_METRICS_MAX_GAUGES 1000000u
void sim_metrics_note_gauges(SimMetrics *m, uint64_t time_ns, uint32_t pid,
                             const RtTmGauges *g);
/* Names process pid in the trace ("jobmanager-0", "worker-2"). */
void sim_metrics_name_process(SimMetrics *m, uint32_t pid, const char *name);

/* What the harness knows about the run, for summary.csv and violations.txt. */
typedef struct SimMetricsRunInfo {
    const char *scenario;        /* name or path */
    uint64_t seed;
    const char *verdict;         /* "ok" or "violation" */
    uint64_t trace_hash;
    uint64_t end_time_ns;        /* simulated time the run ended */
    const GPtrArray *violations; /* SimViolation*, may be NULL */
    const char *mode;            /* "aligned" / "unaligned" (for comparisons), may be NULL */
} SimMetricsRunInfo;

/* Figures for JSON output and tests. Latencies in ns (0 when no commit). */
typedef struct SimMetricsSummary {
    uint64_t records_emitted;     /* emit events (replays included) */
    uint64_t records_committed;   /* sink commit events */
    uint64_t latency_p50_ns, latency_p99_ns, latency_max_ns;
    uint64_t checkpoints_completed, checkpoints_aborted;
    uint64_t checkpoint_duration_mean_ns, checkpoint_duration_max_ns;
    uint64_t alignment_max_ns;
    uint64_t recoveries;
    uint64_t recovery_mean_ns;
    uint64_t faults;
    uint64_t bin_ns;              /* final bin width */
} SimMetricsSummary;

void sim_metrics_get_summary(const SimMetrics *m, SimMetricsSummary *out);

/* The checkpointing mode a configuration selects, for SimMetricsRunInfo.mode:
 * "at-least-once" (execution.checkpointing.mode = AT_LEAST_ONCE), "unaligned"
 * (execution.checkpointing.unaligned or .unaligned.enabled true), else "aligned".
 * A malformed value counts as the default. Static string. */
const char *sim_metrics_checkpoint_mode(const RtConfig *cfg);

/* Writes the files listed above into dir (created if missing). info may be NULL.
 * false + error (SIM_METRICS_ERROR_IO, naming the file) on an I/O failure. */
bool sim_metrics_write(const SimMetrics *m, const char *dir, const SimMetricsRunInfo *info,
                       GError **error);

#endif /* SIM_METRICS_H */
