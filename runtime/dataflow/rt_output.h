/* rt_output.h - the output side of one subtask: a logical channel per (edge,
 * downstream subtask), records batched into buffers, credit-based flow control and the
 * aligned-barrier block, as Flink's ResultPartition / PipelinedSubpartition.
 *
 * Every channel is a FIFO of finished buffers and events (barriers, cancel markers,
 * end of partition) plus the buffer being filled. A buffer is finished when it holds
 * `batch` records or on flush (execution.buffer-timeout). The head of the FIFO is sent
 * when allowed: a buffer needs one credit (granted by the consumer, one per free
 * buffer it has); an event needs none; nothing is sent while the channel is blocked.
 * Sending an aligned barrier blocks the channel until the consumer sends RESUME (Flink
 * 1.11+: PipelinedSubpartition stops after an ALIGNED_CHECKPOINT_BARRIER until
 * resumeConsumption). The subtask may produce only while every channel holds fewer
 * than max_queued finished buffers (rt_output_available): that is backpressure.
 *
 * Unaligned checkpoints (flink-zk.md 1.3, 1.4): an unaligned barrier is put at the
 * head of every channel's FIFO and sent at once, without a credit and past a block
 * (Flink's priority event); the data buffers it overtakes stay queued and are still
 * sent, and are handed to the caller as output channel state. An aligned barrier still
 * queued when its alignment timeout passes is turned into an unaligned one the same way
 * (PipelinedSubpartition.alignedBarrierTimeout). Channels of an edge made with
 * force_aligned never do either: their barriers are FORCED_ALIGNED (in line, blocking, no
 * timeout), as Flink's RecordWriterOutput.broadcastEvent does for pointwise and
 * broadcast edges.
 */
#ifndef RT_OUTPUT_H
#define RT_OUTPUT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/dataflow/rt_partitioner.h"
#include "runtime/dataflow/rt_protocol.h"

#define RT_OUTPUT_MAX_BATCH RT_PROTOCOL_MAX_RECORDS

/* Sends one encoded data-plane message to the consumer's process. */
typedef void (*RtOutputSendFunc)(void *ud, RtProcessId peer, const void *data, size_t len);

typedef struct RtOutItem RtOutItem;

typedef struct RtOutChannel {
    RtChannelKey key;    /* (graph edge, this subtask, downstream subtask) */
    RtProcessId peer;    /* the consumer's process */
    RtRecord *cur;       /* the buffer being filled (capacity batch), NULL when none */
    uint32_t n_cur;      /* records in cur */
    GQueue queue;        /* RtOutItem*: finished buffers and events, FIFO */
    uint32_t queued_buffers; /* buffers in queue */
    uint32_t credits;    /* buffers the consumer can take now */
    bool blocked;        /* an aligned barrier was sent: wait for RESUME */
    bool force_aligned;  /* its edge cannot carry channel state: barriers forced aligned */
    bool bug_overtake;   /* planted bug unaligned-on-forward */
} RtOutChannel;

typedef struct RtOutEdge {
    uint32_t graph_edge;    /* index in the job graph's edges */
    RtPartitioner part;
    uint32_t first_channel; /* channels[first_channel + downstream index] */
    uint32_t n_channels;
} RtOutEdge;

typedef struct RtOutput {
    uint32_t attempt;
    uint32_t batch;          /* records per buffer, 1..RT_OUTPUT_MAX_BATCH */
    uint32_t max_queued;     /* finished buffers per channel before backpressure */
    uint32_t n_edges;
    RtOutEdge *edges;        /* owned */
    uint32_t n_channels;
    RtOutChannel *channels;  /* owned */
    uint32_t n_partial;      /* channels with a non-empty cur buffer */
    RtOutputSendFunc send;
    void *send_ud;
    GByteArray *scratch;     /* encoding buffer, reused */
    GPtrArray *free_buffers; /* recycled RtRecord[batch] arrays (at most n_channels) */
    uint64_t buffers_sent, records_sent;
    uint64_t bugs;           /* planted bugs (rt_bugs.h) of the subtask's env; 0 = none */
} RtOutput;

/* Describes one outgoing edge for rt_output_new. */
typedef struct RtOutEdgeSpec {
    uint32_t graph_edge;
    RtPartitioning partitioning;
    uint32_t n_targets;          /* downstream parallelism */
    uint32_t max_parallelism;    /* downstream key groups (keyBy) */
    const RtProcessId *peers;    /* n_targets: process of each downstream subtask */
    uint32_t initial_credits;    /* credits each channel starts with (>= 1) */
    /* Unaligned checkpoints are unsupported on this edge (rt_job_graph_edge_unaligned_ok):
     * every barrier goes out FORCED_ALIGNED, in line and blocking. */
    bool force_aligned;
    /* Planted bug unaligned-on-forward (with force_aligned): the barrier overtakes the
     * queued data as an unaligned one, but nothing is captured. */
    bool bug_overtake;
} RtOutEdgeSpec;

/* A new output for subtask self_index with n_edges edges (may be 0: a sink). */
RtOutput *rt_output_new(uint32_t attempt, uint32_t self_index, const RtOutEdgeSpec *edges,
                        uint32_t n_edges, uint32_t batch, uint32_t max_queued,
                        RtOutputSendFunc send, void *send_ud);
void rt_output_free(RtOutput *out);

/* Routes rec by each edge's partitioner into the channels' buffers; a full buffer is
 * finished and sent if allowed. Never blocks: the caller checks availability. */
void rt_output_emit(RtOutput *out, const RtRecord *rec);
/* Finishes every partially filled buffer and sends what is allowed. */
void rt_output_flush(RtOutput *out);
/* Finishes the partial buffers and appends an event (RT_MSG_BARRIER, _CANCEL_MARKER or
 * _END_OF_PARTITION) to every channel, in order behind the data. */
void rt_output_broadcast_event(RtOutput *out, RtMsgType type, uint64_t checkpoint_id,
                               uint64_t timestamp_ns, RtBarrierKind kind);
/* Receives records of one channel's output channel state (borrowed for the call). */
typedef void (*RtOutputCaptureFunc)(void *ud, RtChannelKey key, const RtRecord *recs,
                                    uint32_t n);
/* Unaligned barrier: finishes the partial buffers, then on every channel hands the
 * queued data buffers to capture (may be NULL) in order and puts the barrier (kind
 * UNALIGNED) at the head of the FIFO, sending what is allowed. On a force_aligned
 * channel the barrier goes at the tail as FORCED_ALIGNED and nothing is captured. */
void rt_output_broadcast_unaligned_barrier(RtOutput *out, uint64_t checkpoint_id,
                                           uint64_t timestamp_ns, RtOutputCaptureFunc capture,
                                           void *ud);
/* Channels where the aligned barrier checkpoint_id is still queued (not yet sent). */
uint32_t rt_output_barrier_queued(const RtOutput *out, uint64_t checkpoint_id);
/* Alignment timeout: on every channel where the aligned barrier checkpoint_id is still
 * queued, hands the data buffers before it to capture, makes it unaligned and moves it
 * to the head of the FIFO. Returns the number of channels changed. */
uint32_t rt_output_timeout_barrier(RtOutput *out, uint64_t checkpoint_id,
                                   RtOutputCaptureFunc capture, void *ud);
/* Restore: queues n records of a channel's output channel state on the channel named
 * key (same edge, downstream subtask), before anything else produced, and sends what
 * is allowed. Returns false if key names no channel of this output. */
bool rt_output_restore_channel_state(RtOutput *out, RtChannelKey key, const RtRecord *recs,
                                     uint32_t n);

/* The consumer of the channel named key granted n credits / resumed it. Returns false
 * if key names no channel of this output. */
bool rt_output_on_credit(RtOutput *out, RtChannelKey key, uint32_t n);
bool rt_output_on_resume(RtOutput *out, RtChannelKey key);

/* True if every channel has room (fewer than max_queued finished buffers). */
bool rt_output_available(const RtOutput *out);
/* True if some channel holds a partially filled buffer. */
static inline bool rt_output_has_partial(const RtOutput *out) {
    return out->n_partial > 0;
}
/* Finished buffers and events queued over all channels (for tests and metrics). */
uint64_t rt_output_queued(const RtOutput *out);
/* Finished buffers waiting in the channels' queues and credits granted but not yet used,
 * summed over every channel (read only: for the metrics' counter tracks). */
void rt_output_gauges(const RtOutput *out, uint64_t *queued_buffers, uint64_t *credits);

#endif /* RT_OUTPUT_H */
