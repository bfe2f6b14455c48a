/* rt_sink_format.h - the two-phase-commit sink's files in the external "sink system"
 * (modelled in storage, like Flink's FileSink): where they live and their encoding.
 *
 * Layout: sink/<operator name>/<subtask>/pending-<txn> (pre-committed, durable) and
 * sink/<operator name>/<subtask>/committed-<txn> (committed: renamed from pending).
 * <txn> is a zero-padded 20-digit decimal, so names sort in transaction order.
 *
 * Encoding (little-endian, written field by field):
 *   magic "CKSINKv1" (8 bytes), version u32, total_len u64 (whole file, checksum
 *   included), op u32, subtask u32, txn u64, n_records u32, n records of 36 bytes
 *   (src u32, offset u64, key u64, value u64, created_ns u64), crc32c u32 of every
 *   byte before it (rt_crc32c).
 * Decoding validates everything: a torn or corrupt file is reported, never half-read.
 * Pure computation: no world access.
 */
#ifndef RT_SINK_FORMAT_H
#define RT_SINK_FORMAT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/dataflow/rt_protocol.h"

#define RT_SINK_MAGIC "CKSINKv1"
#define RT_SINK_FORMAT_VERSION 1u
#define RT_SINK_PENDING_PREFIX "pending-"
#define RT_SINK_COMMITTED_PREFIX "committed-"
#define RT_SINK_MAX_RECORDS (1u << 26) /* records in one transaction file */

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
} RtSinkFileInfo;

/* Directory of a sink subtask's files: "sink/<op_name>/<subtask>" (new string). */
char *rt_sink_dir(const char *op_name, uint32_t subtask);
/* "<dir>/pending-<txn>" or "<dir>/committed-<txn>" (new string). */
char *rt_sink_txn_path(const char *op_name, uint32_t subtask, uint64_t txn, bool committed);

/* Encodes a transaction file of n records (n <= RT_SINK_MAX_RECORDS). */
GBytes *rt_sink_file_encode(uint32_t op, uint32_t subtask, uint64_t txn,
                            const RtRecord *records, size_t n);

/* Decodes and validates a transaction file. On success *records_out is a new GArray of
 * RtRecord (g_array_unref) and, if info is non-NULL, the header fields are stored; on
 * failure returns false with an RT_SINK_FORMAT_ERROR naming the problem. */
bool rt_sink_file_decode_info(const void *data, size_t len, GArray **records_out,
                              RtSinkFileInfo *info, GError **error);
/* Same, without the header fields. */
bool rt_sink_file_decode(const void *data, size_t len, GArray **records_out, GError **error);

#endif /* RT_SINK_FORMAT_H */
