/* rt_sink_format.h - the two-phase-commit sink's files in the external "sink system"
 * (modelled in storage, like Flink's FileSink): where they live and their encoding.
 *
 * Layout: sink/<operator name>/<subtask>/pending-<txn> (pre-committed, durable) and
 * sink/<operator name>/<subtask>/committed-<txn> (committed: renamed from pending).
 * <txn> is a zero-padded 20-digit decimal, so names sort in transaction order.
 *
 * Encoding (little-endian header, then a compact body, then a checksum):
 *   magic "CKSINKv3" (8 bytes), version u32, total_len u64 (whole file, checksum
 *   included), op u32, subtask u32, txn u64, n_records u32;
 *   n records, each as LEB128 varints: src, zigzag(offset - prev offset),
 *   zigzag(created_ns - prev created_ns), key, zigzag(value - prev value). For offset and
 *   created_ns "prev" is the last record of delta slot src % RT_SINK_DELTA_SLOTS in this
 *   file (0 at the start); for value it is the last value of the same key if that key
 *   is the last one seen in its value slot (a hash of the key modulo
 *   RT_SINK_VALUE_SLOTS), else 0.
 *   The records of a transaction are mostly consecutive offsets of a few sources, created
 *   microseconds apart, and a key's values are its running count, so a record takes
 *   ~8 bytes instead of 36;
 *   crc32c u32 of every byte before it (rt_crc32c).
 * Every field round-trips exactly (deltas wrap modulo 2^64). Decoding validates
 * everything: a torn or corrupt file is reported, never half-read.
 * Pure computation: no world access.
 */
#ifndef RT_SINK_FORMAT_H
#define RT_SINK_FORMAT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/dataflow/rt_protocol.h"

#define RT_SINK_MAGIC "CKSINKv3"
#define RT_SINK_FORMAT_VERSION 3u
#define RT_SINK_PENDING_PREFIX "pending-"
#define RT_SINK_COMMITTED_PREFIX "committed-"
#define RT_SINK_MAX_RECORDS (1u << 26) /* records in one transaction file */
#define RT_SINK_DELTA_SLOTS 16u         /* delta-coding contexts, by src modulo */
#define RT_SINK_VALUE_SLOTS 256u        /* value delta contexts, by key hash */

/* The sink's operator state in a snapshot (blob RT_SINK_STATE_BLOB): version, n, n x
 * (txn, checkpoint id, begin ns), the open transaction; all u64 little-endian. One codec
 * for the sink (write and restore) and the oracle (its cut check). */
#define RT_SINK_STATE_BLOB "txns"
#define RT_SINK_STATE_VERSION 2u
#define RT_SINK_STATE_MAX_PENDING 4096u

typedef struct RtSinkStateTxn {
    uint64_t txn;
    uint64_t checkpoint_id; /* the checkpoint whose snapshot pre-committed it */
    uint64_t begin_ns;      /* env time the transaction began, for its timeout */
} RtSinkStateTxn;

#define RT_SINK_FORMAT_ERROR (rt_sink_format_error_quark())
GQuark rt_sink_format_error_quark(void);
typedef enum {
    RT_SINK_FORMAT_ERROR_TRUNCATED,
    RT_SINK_FORMAT_ERROR_BAD_MAGIC,
    RT_SINK_FORMAT_ERROR_BAD_VERSION,
    RT_SINK_FORMAT_ERROR_CHECKSUM,
    RT_SINK_FORMAT_ERROR_CORRUPT,
} RtSinkFormatError;

/* Header fields of a decoded file. */
typedef struct RtSinkFileInfo {
    uint32_t op;
    uint32_t subtask;
    uint64_t txn;
    uint32_t n_records;
} RtSinkFileInfo;

/* Builds a transaction file record by record, so an open transaction is held in its
 * compact encoding (the sink's in-memory buffer). Lifecycle: _init, any number of _add,
 * _finish (which leaves the encoder empty and ready for the next file), _deinit. */
/* The delta-coding context, the same on both sides; all zero at the start of a file. */
typedef struct RtSinkDeltaState {
    uint64_t prev_offset[RT_SINK_DELTA_SLOTS];     /* per slot: last offset */
    uint64_t prev_created_ns[RT_SINK_DELTA_SLOTS]; /* per slot: last created_ns */
    uint64_t value_key[RT_SINK_VALUE_SLOTS];       /* per value slot: last key */
    uint64_t value_prev[RT_SINK_VALUE_SLOTS];      /* per value slot: that key's last value */
    bool value_used[RT_SINK_VALUE_SLOTS];          /* per value slot: a key was seen */
} RtSinkDeltaState;

typedef struct RtSinkEncoder {
    GByteArray *buf;    /* header space, then the body so far */
    uint32_t n;         /* records added */
    RtSinkDeltaState d; /* context after the last record */
} RtSinkEncoder;

/* Appends the state blob of n pending transactions (n <= RT_SINK_STATE_MAX_PENDING) and
 * the open transaction open_txn to out. */
void rt_sink_state_encode(GByteArray *out, const RtSinkStateTxn *pending, size_t n,
                          uint64_t open_txn);
/* Decodes a state blob of len bytes: *pending gets a new array of RtSinkStateTxn (in
 * order), *open_txn the open transaction. false + error when it is malformed (wrong
 * version, length or count); nothing is returned then. */
bool rt_sink_state_decode(const uint8_t *data, size_t len, GArray **pending, uint64_t *open_txn,
                          GError **error);

void rt_sink_encoder_init(RtSinkEncoder *e);
void rt_sink_encoder_deinit(RtSinkEncoder *e);
/* Appends a record. Asserts fewer than RT_SINK_MAX_RECORDS records were added. */
void rt_sink_encoder_add(RtSinkEncoder *e, const RtRecord *r);
/* Records added since the last _finish. */
uint32_t rt_sink_encoder_count(const RtSinkEncoder *e);
/* Bytes held (encoded body so far, header included): the memory an open transaction
 * costs. */
size_t rt_sink_encoder_size_bytes(const RtSinkEncoder *e);
/* The complete file (caller owns it); the encoder is empty again afterwards. */
GBytes *rt_sink_encoder_finish(RtSinkEncoder *e, uint32_t op, uint32_t subtask, uint64_t txn);

/* Directory of a sink subtask's files: "sink/<op_name>/<subtask>" (new string). */
char *rt_sink_dir(const char *op_name, uint32_t subtask);
/* "<dir>/pending-<txn>" or "<dir>/committed-<txn>" (new string). */
char *rt_sink_txn_path(const char *op_name, uint32_t subtask, uint64_t txn, bool committed);

/* Encodes a transaction file of n records (n <= RT_SINK_MAX_RECORDS). */
GBytes *rt_sink_file_encode(uint32_t op, uint32_t subtask, uint64_t txn,
                            const RtRecord *records, size_t n);

/* Called for each record of a validated file, in file order; index counts from 0. */
typedef void (*RtSinkRecordFunc)(void *user_data, uint32_t index, const RtRecord *record);

/* Validates a transaction file completely (header, checksum, every record decodes and
 * the body is consumed exactly), then, only if it is valid, calls fn for every record
 * (fn may be NULL: validation only) and stores the header fields in info (if non-NULL).
 * On failure returns false with an RT_SINK_FORMAT_ERROR naming the problem and fn was
 * never called. No memory proportional to the file is allocated. */
bool rt_sink_file_foreach(const void *data, size_t len, RtSinkRecordFunc fn, void *user_data,
                          RtSinkFileInfo *info, GError **error);

/* Decodes and validates a transaction file. On success *records_out is a new GArray of
 * RtRecord (g_array_unref) and, if info is non-NULL, the header fields are stored; on
 * failure returns false with an RT_SINK_FORMAT_ERROR naming the problem. */
bool rt_sink_file_decode_info(const void *data, size_t len, GArray **records_out,
                              RtSinkFileInfo *info, GError **error);
/* Same, without the header fields. */
bool rt_sink_file_decode(const void *data, size_t len, GArray **records_out, GError **error);

#endif /* RT_SINK_FORMAT_H */
