/* rt_protocol.h - the wire protocol of the runtime: control messages between the job
 * manager (JM) and task managers (TM), and data-plane messages between task managers.
 *
 * Every message is one RtChannel message (the transport frames them). Encoding is
 * explicit little-endian, field by field (never a struct dump), so both worlds and
 * both compilers produce the same bytes. Decoding validates everything (type, version,
 * lengths, counts against limits, trailing bytes) and reports malformed input as a
 * GError in RT_PROTOCOL_ERROR; it never asserts on bad input.
 *
 * Common header: u8 version (RT_PROTOCOL_VERSION), u8 type, u32 attempt.
 * The attempt is the job's execution attempt; it strictly increases over the job's
 * life (also across JM restarts and leader changes: the JM derives it from durable
 * state or from the running attempts the TMs report in REGISTER). A TM ignores a
 * DEPLOY whose attempt is not greater than the one it runs, and every other message
 * whose attempt differs from its current one; the JM ignores ACK/DECLINE/TASK_* of an
 * attempt that is not its current one.
 *
 * Control (JM port RT_PORT_JOBMANAGER, TM port RT_PORT_TASKMANAGER; a TM connects to
 * the JM and the JM answers on the same channel):
 *   TM->JM REGISTER(process, slots, running attempt)
 *   JM->TM DEPLOY(attempt, location of every subtask, tasks of this TM + restore info)
 *   TM->JM DEPLOYED(attempt, count): every subtask of this TM for attempt is restored
 *          and running (the JM may wait for all before triggering checkpoints)
 *   JM->TM TRIGGER(checkpoint id, trigger ts, options, source subtask)
 *   TM->JM ACK(checkpoint id, subtask, state handle bytes)
 *   TM->JM DECLINE(checkpoint id, subtask, reason code, reason text)
 *   JM->TM NOTIFY_COMPLETE(id) / NOTIFY_ABORT(id): best effort, may be lost
 *   JM->TM CANCEL(attempt); FINISH(attempt)
 *   TM->JM TASK_FAILED(subtask, reason text); TASK_DONE(subtask)
 *
 * Data plane (port RT_PORT_DATA): the producer's TM connects to the consumer's TM; one
 * RtChannel per (producer process, consumer process) multiplexes the logical channels,
 * each named by RtChannelKey (edge, upstream subtask index, downstream subtask index).
 *   producer->consumer: BUFFER(records), BARRIER(id, ts, kind), CANCEL_MARKER(id),
 *                       END_OF_PARTITION
 *   consumer->producer: CREDIT(n) (n more buffers may be sent), RESUME (consumption of a
 *                       channel blocked by an aligned barrier resumes, as Flink's
 *                       resumeConsumption)
 */
#ifndef RT_PROTOCOL_H
#define RT_PROTOCOL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/env/rt_env.h"
#include "runtime/env/rt_observe.h"

#define RT_PROTOCOL_VERSION 1u

/* Limits enforced by encode (assert) and decode (error). */
#define RT_PROTOCOL_MAX_SUBTASKS 4096u        /* locations / tasks in one DEPLOY */
#define RT_PROTOCOL_MAX_HANDLE_BYTES (64u << 20) /* a state handle */
#define RT_PROTOCOL_MAX_TEXT_BYTES 1024u      /* reason strings */
#define RT_PROTOCOL_MAX_RECORDS 1024u         /* records in one BUFFER */
#define RT_PROTOCOL_RECORD_BYTES 36u          /* encoded size of one RtRecord */

#define RT_PROTOCOL_ERROR (rt_protocol_error_quark())
GQuark rt_protocol_error_quark(void);
typedef enum {
    RT_PROTOCOL_ERROR_TRUNCATED, /* shorter than its fields say */
    RT_PROTOCOL_ERROR_VERSION,   /* unknown protocol version */
    RT_PROTOCOL_ERROR_TYPE,      /* unknown message type */
    RT_PROTOCOL_ERROR_LIMIT,     /* a count or length beyond its limit */
    RT_PROTOCOL_ERROR_TRAILING,  /* bytes left after the last field */
    RT_PROTOCOL_ERROR_INVALID,   /* a field with an impossible value */
} RtProtocolError;

typedef enum RtMsgType {
    RT_MSG_NONE = 0,
    /* control */
    RT_MSG_REGISTER = 1,
    RT_MSG_DEPLOY = 2,
    RT_MSG_DEPLOYED = 3,
    RT_MSG_TRIGGER = 4,
    RT_MSG_ACK = 5,
    RT_MSG_DECLINE = 6,
    RT_MSG_NOTIFY_COMPLETE = 7,
    RT_MSG_NOTIFY_ABORT = 8,
    RT_MSG_CANCEL = 9,
    RT_MSG_TASK_FAILED = 10,
    RT_MSG_TASK_DONE = 11,
    RT_MSG_FINISH = 12,
    /* data plane */
    RT_MSG_BUFFER = 32,
    RT_MSG_BARRIER = 33,
    RT_MSG_CANCEL_MARKER = 34,
    RT_MSG_END_OF_PARTITION = 35,
    RT_MSG_CREDIT = 36,
    RT_MSG_RESUME = 37,
} RtMsgType;

/* Stable lower-case name ("deploy"), or "unknown". */
const char *rt_msg_type_name(RtMsgType type);
/* True for the data-plane types (they carry an RtChannelKey). */
bool rt_msg_type_is_data(RtMsgType type);

/* Barrier kinds (TRIGGER options and BARRIER kind). */
typedef enum RtBarrierKind {
    RT_BARRIER_ALIGNED = 0,      /* exactly-once, aligned: blocks the channel it is sent on */
    RT_BARRIER_UNALIGNED = 1,    /* exactly-once, unaligned: overtakes buffered data */
    RT_BARRIER_AT_LEAST_ONCE = 2,/* no blocking */
    /* exactly-once, aligned on an edge that cannot carry channel state (forward,
     * broadcast), whatever the checkpoint's kind: blocks, never times out. Flink's
     * CheckpointOptions.AlignmentType.FORCED_ALIGNED (RecordWriterOutput.broadcastEvent,
     * CheckpointOptions.withUnalignedUnsupported). */
    RT_BARRIER_FORCED_ALIGNED = 3,
} RtBarrierKind;

/* Why a subtask declined a checkpoint (DECLINE reason code), after Flink's
 * CheckpointFailureReason. */
typedef enum RtDeclineReason {
    RT_DECLINE_SUBSUMED = 1,        /* a newer barrier arrived during alignment */
    RT_DECLINE_CANCEL_MARKER = 2,   /* a cancel marker arrived (upstream declined) */
    RT_DECLINE_NOT_READY = 3,       /* task not running yet (restoring) */
    RT_DECLINE_ASYNC_FAILED = 4,    /* the asynchronous part (persisting) failed */
    RT_DECLINE_SYNC_FAILED = 5,     /* the synchronous part failed */
    RT_DECLINE_ABORTED = 6,         /* the JM already aborted this checkpoint */
} RtDeclineReason;
const char *rt_decline_reason_name(RtDeclineReason reason);

/* One record: identity (source subtask index, offset), key, value, creation time. */
typedef struct RtRecord {
    uint32_t src;        /* source subtask index */
    uint64_t offset;     /* offset within that source subtask */
    uint64_t key;
    uint64_t value;
    uint64_t created_ns; /* when the source emitted it, ns */
} RtRecord;

/* A logical data channel: edge index in the job graph, upstream and downstream
 * subtask indexes. */
typedef struct RtChannelKey {
    uint16_t edge;
    uint16_t from;
    uint16_t to;
} RtChannelKey;

/* DEPLOY: where a subtask runs. */
typedef struct RtDeployLocation {
    RtSubtaskId subtask;
    RtProcessId process;
} RtDeployLocation;

/* DEPLOY: a subtask the receiving TM must run, with what to restore it from. */
typedef struct RtDeployTask {
    RtSubtaskId subtask;
    uint64_t restore_checkpoint_id; /* 0 = fresh start (then no handle) */
    uint8_t *handle;                /* state handle bytes (owned by the RtMsg), may be NULL */
    size_t handle_len;
} RtDeployTask;

/* A decoded or to-be-encoded message. Fields are used per type as noted; unused
 * fields are zero. Owned pointers are freed by rt_msg_clear(). */
typedef struct RtMsg {
    RtMsgType type;
    uint32_t attempt;
    /* REGISTER: the TM's process, its slots and the attempt it runs (0 = none). */
    RtProcessId process;
    uint32_t slots;
    uint32_t running_attempt;
    /* DEPLOY (owned arrays). */
    RtDeployLocation *locations;
    uint32_t n_locations;
    RtDeployTask *tasks;
    uint32_t n_tasks;
    /* DEPLOYED: count of subtasks running; CREDIT: credits granted. */
    uint32_t count;
    /* TRIGGER, ACK, DECLINE, TASK_FAILED, TASK_DONE. */
    RtSubtaskId subtask;
    /* TRIGGER, ACK, DECLINE, NOTIFY_*, BARRIER, CANCEL_MARKER. */
    uint64_t checkpoint_id;
    /* TRIGGER, BARRIER: the checkpoint's trigger time, ns. */
    uint64_t timestamp_ns;
    /* TRIGGER, BARRIER. */
    RtBarrierKind barrier_kind;
    /* ACK: state handle bytes (owned). */
    uint8_t *handle;
    size_t handle_len;
    /* DECLINE. */
    RtDeclineReason decline_reason;
    /* DECLINE, TASK_FAILED: reason text (owned, NUL-terminated), may be NULL. */
    char *text;
    /* Data plane. */
    RtChannelKey channel;
    /* BUFFER: n_records encoded records, a borrowed view into the decoded bytes (valid
     * as long as they are); read them with rt_msg_record_at(). */
    const uint8_t *records;
    uint32_t n_records;
} RtMsg;

/* Frees the owned parts of msg and zeroes it. msg may be zeroed already. */
void rt_msg_clear(RtMsg *msg);

/* Appends the encoding of msg to out. Asserts msg is well-formed (programmer error).
 * For BUFFER, msg->records must hold n_records encoded records (see
 * rt_protocol_record_encode); rt_protocol_encode_buffer is the allocation-free path. */
void rt_msg_encode(const RtMsg *msg, GByteArray *out);

/* Decodes one message. On success fills *msg (which must be zeroed or cleared) and
 * returns true; the caller calls rt_msg_clear(). BUFFER's records view borrows data.
 * On malformed input returns false with an RT_PROTOCOL_ERROR and leaves *msg cleared. */
bool rt_msg_decode(const void *data, size_t len, RtMsg *msg, GError **error);

/* Reads record i (< msg->n_records) of a decoded BUFFER. */
void rt_msg_record_at(const RtMsg *msg, uint32_t i, RtRecord *out);

/* Writes the RT_PROTOCOL_RECORD_BYTES encoding of rec at dst. */
void rt_protocol_record_encode(uint8_t *dst, const RtRecord *rec);

/* Reads the RT_PROTOCOL_RECORD_BYTES encoding at src (the inverse of
 * rt_protocol_record_encode). */
void rt_protocol_record_decode(const uint8_t *src, RtRecord *out);

/* Fast path for the data plane: writes a complete BUFFER message for n records into
 * out (which is reset first). n <= RT_PROTOCOL_MAX_RECORDS. */
void rt_protocol_encode_buffer(GByteArray *out, uint32_t attempt, RtChannelKey channel,
                               const RtRecord *records, uint32_t n);

/* Size of a BUFFER message header (before the records). */
#define RT_PROTOCOL_BUFFER_HEADER_BYTES (6u + 6u + 4u)

#endif /* RT_PROTOCOL_H */
