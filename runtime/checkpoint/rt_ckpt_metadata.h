/* rt_ckpt_metadata.h - a completed checkpoint and its metadata file.
 *
 * When every subtask has acknowledged checkpoint n, the job manager writes
 * <state.checkpoints.dir>/<job>/chk-<n>/_metadata durably (Flink's _metadata): for every
 * subtask, the execution attempt that took its snapshot and its state handle (the bytes
 * of rt_state_handle_encode, opaque here). The completed-checkpoint store publishes and
 * recovers these; the oracle decodes them god's-eye, then every handle through the state
 * backend's restore path.
 *
 * Encoding (integers little-endian, field by field):
 *   magic "CKMETAv1" (8), version u32, total_len u64 (the whole file, checksum included),
 *   checkpoint_id u64, trigger_ns u64, complete_ns u64, attempt u32,
 *   job name (u16 len + bytes), n_subtasks u32,
 *   per subtask (sorted by (op, index), unique): op u16, index u16, attempt u32,
 *     handle_len u32, handle bytes,
 *   crc32c u32 (rt_crc32c of every byte before it).
 * Decoding validates all of it and names the first problem and its byte offset: a torn
 * or corrupt metadata file is detected, never used. Pure computation.
 */
#ifndef RT_CKPT_METADATA_H
#define RT_CKPT_METADATA_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/env/rt_observe.h"

#define RT_CKPT_METADATA_MAGIC "CKMETAv1"
#define RT_CKPT_METADATA_VERSION 1u
#define RT_CKPT_METADATA_MAX_SUBTASKS 65536u
#define RT_CKPT_METADATA_MAX_HANDLE_BYTES (64u << 20)
#define RT_CKPT_METADATA_MAX_JOB_BYTES 255u

#define RT_CKPT_METADATA_ERROR (rt_ckpt_metadata_error_quark())
GQuark rt_ckpt_metadata_error_quark(void);
typedef enum {
    RT_CKPT_METADATA_ERROR_TRUNCATED,
    RT_CKPT_METADATA_ERROR_BAD_MAGIC,
    RT_CKPT_METADATA_ERROR_BAD_VERSION,
    RT_CKPT_METADATA_ERROR_CHECKSUM,
    RT_CKPT_METADATA_ERROR_CORRUPT,
} RtCkptMetadataError;

/* One subtask's acknowledged state in a completed checkpoint. */
typedef struct RtCkptSubtaskState {
    RtSubtaskId subtask;
    uint32_t attempt; /* execution attempt whose ack this is */
    GBytes *handle;   /* owned reference: encoded RtStateHandle; never NULL (may be empty) */
} RtCkptSubtaskState;

/* A completed checkpoint, as the store keeps and publishes it. */
typedef struct RtCompletedCheckpoint {
    char *job;              /* owned: job name */
    uint64_t checkpoint_id; /* >= 1 */
    uint64_t trigger_ns;    /* when it was triggered (coordinator clock), ns */
    uint64_t complete_ns;   /* when the last ack arrived, ns */
    uint32_t attempt;       /* job attempt that took it */
    GArray *subtasks;       /* RtCkptSubtaskState, sorted by (op, index), unique */
} RtCompletedCheckpoint;

/* A new empty checkpoint (copies job). Free with rt_completed_checkpoint_free. */
RtCompletedCheckpoint *rt_completed_checkpoint_new(const char *job, uint64_t checkpoint_id,
                                                   uint64_t trigger_ns, uint64_t complete_ns,
                                                   uint32_t attempt);
void rt_completed_checkpoint_free(RtCompletedCheckpoint *cp);
/* Appends (refs handle) a subtask's state, keeping the order by (op, index); asserts
 * the subtask is not there yet. */
void rt_completed_checkpoint_add(RtCompletedCheckpoint *cp, RtSubtaskId subtask,
                                 uint32_t attempt, GBytes *handle);
/* The state of subtask, or NULL. Borrowed. */
const RtCkptSubtaskState *rt_completed_checkpoint_find(const RtCompletedCheckpoint *cp,
                                                       RtSubtaskId subtask);

/* Encodes cp (deterministic: equal checkpoints, equal bytes). */
GBytes *rt_ckpt_metadata_encode(const RtCompletedCheckpoint *cp);
/* Decodes and validates; on success *out is new (caller frees). On failure false +
 * error naming the problem and offset; *out untouched. Never reads outside data. */
bool rt_ckpt_metadata_decode(const void *data, size_t len, RtCompletedCheckpoint **out,
                             GError **error);

/* "<dir>/<job>" with the job name sanitised as the state backend does ([A-Za-z0-9._-],
 * others become '_'). Caller frees. */
char *rt_ckpt_job_dir(const char *dir, const char *job);
/* "<dir>/<job>/chk-<id>/_metadata". Caller frees. */
char *rt_ckpt_metadata_path(const char *dir, const char *job, uint64_t checkpoint_id);
/* Parses a directory name "chk-<id>" (id >= 1, decimal, no sign); false otherwise. */
bool rt_ckpt_parse_dir_name(const char *name, uint64_t *checkpoint_id);

#endif /* RT_CKPT_METADATA_H */
