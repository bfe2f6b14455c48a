/* rt_sink_format.c - encoding and validated decoding of the 2PC sink's transaction
 * files (format in rt_sink_format.h). */
#include "runtime/operators/rt_sink_format.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/state/rt_snapshot.h"

G_DEFINE_QUARK(rt-sink-format-error-quark, rt_sink_format_error)

#define HEADER_BYTES (8u + 4u + 8u + 4u + 4u + 8u + 4u)

char *rt_sink_dir(const char *op_name, uint32_t subtask) {
    assert(op_name != NULL);
    return g_strdup_printf("sink/%s/%u", op_name, subtask);
}

char *rt_sink_txn_path(const char *op_name, uint32_t subtask, uint64_t txn, bool committed) {
    assert(op_name != NULL);
    return g_strdup_printf("sink/%s/%u/%s%020" PRIu64, op_name, subtask,
                           committed ? RT_SINK_COMMITTED_PREFIX : RT_SINK_PENDING_PREFIX, txn);
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

GBytes *rt_sink_file_encode(uint32_t op, uint32_t subtask, uint64_t txn,
                            const RtRecord *records, size_t n) {
    assert(n <= RT_SINK_MAX_RECORDS && (records != NULL || n == 0));
    size_t total = HEADER_BYTES + n * RT_PROTOCOL_RECORD_BYTES + 4;
    uint8_t *buf = g_malloc(total), *p = buf;
    memcpy(p, RT_SINK_MAGIC, 8);
    put32(p + 8, RT_SINK_FORMAT_VERSION);
    put64(p + 12, total);
    put32(p + 20, op);
    put32(p + 24, subtask);
    put64(p + 28, txn);
    put32(p + 36, (uint32_t)n);
    p += HEADER_BYTES;
    for (size_t i = 0; i < n; i++, p += RT_PROTOCOL_RECORD_BYTES)
        rt_protocol_record_encode(p, &records[i]);
    put32(p, rt_crc32c(0, buf, total - 4));
    return g_bytes_new_take(buf, total);
}

static bool fail(GError **error, RtSinkFormatError code, const char *msg, uint64_t v) {
    g_set_error(error, RT_SINK_FORMAT_ERROR, code, "sink file: %s (%" PRIu64 ")", msg, v);
    return false;
}

bool rt_sink_file_decode_info(const void *data, size_t len, GArray **records_out,
                              RtSinkFileInfo *info, GError **error) {
    assert(records_out != NULL && (data != NULL || len == 0));
    const uint8_t *b = data;
    if (len < HEADER_BYTES + 4)
        return fail(error, RT_SINK_FORMAT_ERROR_TRUNCATED, "shorter than a header", len);
    if (memcmp(b, RT_SINK_MAGIC, 8) != 0)
        return fail(error, RT_SINK_FORMAT_ERROR_BAD_MAGIC, "bad magic, length", len);
    if (get32(b + 8) != RT_SINK_FORMAT_VERSION)
        return fail(error, RT_SINK_FORMAT_ERROR_BAD_VERSION, "unknown version", get32(b + 8));
    if (get64(b + 12) != len)
        return fail(error, RT_SINK_FORMAT_ERROR_TRUNCATED, "length differs from header, have",
                    len);
    if (rt_crc32c(0, b, len - 4) != get32(b + len - 4))
        return fail(error, RT_SINK_FORMAT_ERROR_CHECKSUM, "checksum mismatch, length", len);
    uint32_t n = get32(b + 36);
    if (n > RT_SINK_MAX_RECORDS ||
        (uint64_t)HEADER_BYTES + (uint64_t)n * RT_PROTOCOL_RECORD_BYTES + 4 != len)
        return fail(error, RT_SINK_FORMAT_ERROR_CORRUPT, "record count does not fit", n);
    GArray *recs = g_array_sized_new(FALSE, TRUE, sizeof(RtRecord), n);
    const uint8_t *p = b + HEADER_BYTES;
    for (uint32_t i = 0; i < n; i++, p += RT_PROTOCOL_RECORD_BYTES) {
        RtRecord r;
        memset(&r, 0, sizeof r);
        r.src = get32(p);
        r.offset = get64(p + 4);
        r.key = get64(p + 12);
        r.value = get64(p + 20);
        r.created_ns = get64(p + 28);
        g_array_append_val(recs, r);
    }
    if (info != NULL) {
        info->op = get32(b + 20);
        info->subtask = get32(b + 24);
        info->txn = get64(b + 28);
    }
    *records_out = recs;
    return true;
}

bool rt_sink_file_decode(const void *data, size_t len, GArray **records_out, GError **error) {
    return rt_sink_file_decode_info(data, len, records_out, NULL, error);
}
