/* rt_sink_format.c - encoding and validated decoding of the 2PC sink's transaction
 * files (format in rt_sink_format.h): a fixed header, varint/delta-coded records and a
 * CRC-32C. Decoding never trusts a field before the checksum has been verified, and
 * never allocates in proportion to a claimed count before the body has been walked. */
#include "runtime/operators/rt_sink_format.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"
#include "runtime/state/rt_snapshot.h"

G_DEFINE_QUARK(rt-sink-format-error-quark, rt_sink_format_error)

#define HEADER_BYTES (8u + 4u + 8u + 4u + 4u + 8u + 4u)
#define CRC_BYTES 4u
#define RECORD_MAX_BYTES (5u + 4u * RT_BYTES_VARINT_MAX_BYTES) /* src is a u32 */

char *rt_sink_dir(const char *op_name, uint32_t subtask) {
    assert(op_name != NULL);
    return g_strdup_printf("sink/%s/%u", op_name, subtask);
}

char *rt_sink_txn_path(const char *op_name, uint32_t subtask, uint64_t txn, bool committed) {
    assert(op_name != NULL);
    return g_strdup_printf("sink/%s/%u/%s%020" PRIu64, op_name, subtask,
                           committed ? RT_SINK_COMMITTED_PREFIX : RT_SINK_PENDING_PREFIX, txn);
}

/* Zigzag of the wrapped difference a - b: small magnitudes of either sign stay small. */
static uint64_t zigzag(uint64_t a, uint64_t b) {
    uint64_t d = a - b;
    return (d << 1) ^ (0 - (d >> 63));
}

/* Inverse of zigzag: the a for which zigzag(a, b) == z. */
static uint64_t unzigzag(uint64_t z, uint64_t b) {
    uint64_t d = (z >> 1) ^ (0 - (z & 1u));
    return b + d;
}

/* ------------------------------------------------------------------ encoding */

void rt_sink_encoder_init(RtSinkEncoder *e) {
    assert(e != NULL);
    memset(e, 0, sizeof *e);
    e->buf = g_byte_array_new();
    g_byte_array_set_size(e->buf, HEADER_BYTES);
    memset(e->buf->data, 0, HEADER_BYTES);
}

void rt_sink_encoder_deinit(RtSinkEncoder *e) {
    if (e == NULL || e->buf == NULL)
        return;
    g_byte_array_unref(e->buf);
    e->buf = NULL;
}

/* Value slot of a key (Fibonacci hashing: keys that differ in any bits spread). */
static unsigned value_slot(uint64_t key) {
    static_assert(RT_SINK_VALUE_SLOTS == 256u, "value_slot takes the top 8 bits");
    return (unsigned)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 56);
}

/* The value base for key in state d (its last value if its slot holds it, else 0). */
static uint64_t value_base(const RtSinkDeltaState *d, uint64_t key, unsigned slot) {
    return d->value_used[slot] && d->value_key[slot] == key ? d->value_prev[slot] : 0;
}

/* Moves d past record r. */
static void delta_advance(RtSinkDeltaState *d, const RtRecord *r, unsigned vslot) {
    unsigned slot = r->src % RT_SINK_DELTA_SLOTS;
    d->prev_offset[slot] = r->offset;
    d->prev_created_ns[slot] = r->created_ns;
    d->value_used[vslot] = true;
    d->value_key[vslot] = r->key;
    d->value_prev[vslot] = r->value;
}

void rt_sink_encoder_add(RtSinkEncoder *e, const RtRecord *r) {
    assert(e != NULL && e->buf != NULL && r != NULL && e->n < RT_SINK_MAX_RECORDS);
    uint8_t tmp[RECORD_MAX_BYTES], *p = tmp;
    RtSinkDeltaState *d = &e->d;
    unsigned slot = r->src % RT_SINK_DELTA_SLOTS, vslot = value_slot(r->key);
    p = rt_bytes_store_varint(p, r->src);
    p = rt_bytes_store_varint(p, zigzag(r->offset, d->prev_offset[slot]));
    p = rt_bytes_store_varint(p, zigzag(r->created_ns, d->prev_created_ns[slot]));
    p = rt_bytes_store_varint(p, r->key);
    p = rt_bytes_store_varint(p, zigzag(r->value, value_base(d, r->key, vslot)));
    assert(p <= tmp + sizeof tmp);
    delta_advance(d, r, vslot);
    g_byte_array_append(e->buf, tmp, (guint)(p - tmp));
    e->n++;
}

uint32_t rt_sink_encoder_count(const RtSinkEncoder *e) {
    assert(e != NULL);
    return e->n;
}

size_t rt_sink_encoder_size_bytes(const RtSinkEncoder *e) {
    assert(e != NULL && e->buf != NULL);
    return e->buf->len;
}

GBytes *rt_sink_encoder_finish(RtSinkEncoder *e, uint32_t op, uint32_t subtask, uint64_t txn) {
    assert(e != NULL && e->buf != NULL);
    GByteArray *b = e->buf;
    uint64_t total = (uint64_t)b->len + CRC_BYTES;
    uint8_t *h = b->data;
    memcpy(h, RT_SINK_MAGIC, 8);
    rt_bytes_store_u32(h + 8, RT_SINK_FORMAT_VERSION);
    rt_bytes_store_u64(h + 12, total);
    rt_bytes_store_u32(h + 20, op);
    rt_bytes_store_u32(h + 24, subtask);
    rt_bytes_store_u64(h + 28, txn);
    rt_bytes_store_u32(h + 36, e->n);
    uint8_t crc[CRC_BYTES];
    rt_bytes_store_u32(crc, rt_crc32c(0, b->data, b->len));
    g_byte_array_append(b, crc, CRC_BYTES);
    assert(b->len == total);
    e->buf = NULL;
    rt_sink_encoder_deinit(e);
    rt_sink_encoder_init(e);
    return g_byte_array_free_to_bytes(b);
}

GBytes *rt_sink_file_encode(uint32_t op, uint32_t subtask, uint64_t txn,
                            const RtRecord *records, size_t n) {
    assert(n <= RT_SINK_MAX_RECORDS && (records != NULL || n == 0));
    RtSinkEncoder e;
    rt_sink_encoder_init(&e);
    for (size_t i = 0; i < n; i++)
        rt_sink_encoder_add(&e, &records[i]);
    GBytes *b = rt_sink_encoder_finish(&e, op, subtask, txn);
    rt_sink_encoder_deinit(&e);
    return b;
}

/* ------------------------------------------------------------------ decoding */

static bool fail(GError **error, RtSinkFormatError code, const char *msg, uint64_t v) {
    g_set_error(error, RT_SINK_FORMAT_ERROR, code, "sink file: %s (%" PRIu64 ")", msg, v);
    return false;
}

/* Decodes the record at *p (advancing it) and moves the delta state d past it. */
static bool decode_record(const uint8_t **p, const uint8_t *end, RtSinkDeltaState *d,
                          RtRecord *r) {
    uint64_t src = 0, doff = 0, dcreated = 0, dvalue = 0;
    memset(r, 0, sizeof *r);
    if (!rt_bytes_load_varint(p, end, &src) || src > UINT32_MAX ||
        !rt_bytes_load_varint(p, end, &doff) || !rt_bytes_load_varint(p, end, &dcreated) ||
        !rt_bytes_load_varint(p, end, &r->key) || !rt_bytes_load_varint(p, end, &dvalue))
        return false;
    unsigned slot = (unsigned)(src % RT_SINK_DELTA_SLOTS), vslot = value_slot(r->key);
    r->src = (uint32_t)src;
    r->offset = unzigzag(doff, d->prev_offset[slot]);
    r->created_ns = unzigzag(dcreated, d->prev_created_ns[slot]);
    r->value = unzigzag(dvalue, value_base(d, r->key, vslot));
    delta_advance(d, r, vslot);
    return true;
}

/* Walks the body of a checked file: n records exactly filling it. fn may be NULL. */
static bool walk_body(const uint8_t *b, size_t len, uint32_t n, RtSinkRecordFunc fn, void *ud,
                      GError **error) {
    RtSinkDeltaState d;
    memset(&d, 0, sizeof d);
    const uint8_t *p = b + HEADER_BYTES, *end = b + len - CRC_BYTES;
    for (uint32_t i = 0; i < n; i++) {
        RtRecord r;
        if (!decode_record(&p, end, &d, &r))
            return fail(error, RT_SINK_FORMAT_ERROR_CORRUPT, "record does not decode, index",
                        i);
        if (fn != NULL)
            fn(ud, i, &r);
    }
    if (p != end)
        return fail(error, RT_SINK_FORMAT_ERROR_CORRUPT, "bytes after the last record",
                    (uint64_t)(end - p));
    return true;
}

/* Checks the header and checksum; stores the record count. */
static bool check_frame(const uint8_t *b, size_t len, uint32_t *n, GError **error) {
    if (len < HEADER_BYTES + CRC_BYTES)
        return fail(error, RT_SINK_FORMAT_ERROR_TRUNCATED, "shorter than a header", len);
    if (memcmp(b, RT_SINK_MAGIC, 8) != 0)
        return fail(error, RT_SINK_FORMAT_ERROR_BAD_MAGIC, "bad magic, length", len);
    uint32_t version = rt_bytes_load_u32(b + 8);
    if (version != RT_SINK_FORMAT_VERSION)
        return fail(error, RT_SINK_FORMAT_ERROR_BAD_VERSION, "unknown version", version);
    if (rt_bytes_load_u64(b + 12) != len)
        return fail(error, RT_SINK_FORMAT_ERROR_TRUNCATED, "length differs from header, have",
                    len);
    if (rt_crc32c(0, b, len - CRC_BYTES) != rt_bytes_load_u32(b + len - CRC_BYTES))
        return fail(error, RT_SINK_FORMAT_ERROR_CHECKSUM, "checksum mismatch, length", len);
    *n = rt_bytes_load_u32(b + 36);
    /* Each record takes at least 5 bytes (five varints). */
    if (*n > RT_SINK_MAX_RECORDS || (uint64_t)*n * 5u > len - HEADER_BYTES - CRC_BYTES)
        return fail(error, RT_SINK_FORMAT_ERROR_CORRUPT, "record count does not fit", *n);
    return true;
}

bool rt_sink_file_foreach(const void *data, size_t len, RtSinkRecordFunc fn, void *user_data,
                          RtSinkFileInfo *info, GError **error) {
    assert(data != NULL || len == 0);
    const uint8_t *b = data;
    uint32_t n = 0;
    if (!check_frame(b, len, &n, error) || !walk_body(b, len, n, NULL, NULL, error))
        return false;
    if (fn != NULL && !walk_body(b, len, n, fn, user_data, error))
        assert(!"a validated body failed to decode");
    if (info != NULL) {
        info->op = rt_bytes_load_u32(b + 20);
        info->subtask = rt_bytes_load_u32(b + 24);
        info->txn = rt_bytes_load_u64(b + 28);
        info->n_records = n;
    }
    return true;
}

static void append_record(void *ud, uint32_t index, const RtRecord *r) {
    GArray *recs = ud;
    assert(index == recs->len);
    g_array_append_vals(recs, r, 1);
}

bool rt_sink_file_decode_info(const void *data, size_t len, GArray **records_out,
                              RtSinkFileInfo *info, GError **error) {
    assert(records_out != NULL && (data != NULL || len == 0));
    GArray *recs = g_array_new(FALSE, TRUE, sizeof(RtRecord));
    if (!rt_sink_file_foreach(data, len, append_record, recs, info, error)) {
        g_array_unref(recs);
        return false;
    }
    *records_out = recs;
    return true;
}

bool rt_sink_file_decode(const void *data, size_t len, GArray **records_out, GError **error) {
    return rt_sink_file_decode_info(data, len, records_out, NULL, error);
}

/* ------------------------------------------------------------------ operator state */

void rt_sink_state_encode(GByteArray *out, const RtSinkStateTxn *pending, size_t n,
                          uint64_t open_txn) {
    assert(out != NULL && n <= RT_SINK_STATE_MAX_PENDING);
    rt_bytes_put_u64(out, RT_SINK_STATE_VERSION);
    rt_bytes_put_u64(out, n);
    for (size_t i = 0; i < n; i++) {
        rt_bytes_put_u64(out, pending[i].txn);
        rt_bytes_put_u64(out, pending[i].checkpoint_id);
        rt_bytes_put_u64(out, pending[i].begin_ns);
    }
    rt_bytes_put_u64(out, open_txn);
}

bool rt_sink_state_decode(const uint8_t *data, size_t len, GArray **pending, uint64_t *open_txn,
                          GError **error) {
    assert(pending != NULL && open_txn != NULL);
    bool ok = data != NULL && len >= 24 && rt_bytes_load_u64(data) == RT_SINK_STATE_VERSION;
    uint64_t n = ok ? rt_bytes_load_u64(data + 8) : 0;
    ok = ok && n <= RT_SINK_STATE_MAX_PENDING && len == 24 + 24 * n;
    if (!ok) {
        g_set_error(error, RT_SINK_FORMAT_ERROR, RT_SINK_FORMAT_ERROR_CORRUPT,
                    "malformed transaction state (%zu bytes)", len);
        return false;
    }
    *pending = g_array_sized_new(FALSE, TRUE, sizeof(RtSinkStateTxn), (guint)n);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *p = data + 16 + 24 * i;
        RtSinkStateTxn t = {rt_bytes_load_u64(p), rt_bytes_load_u64(p + 8),
                            rt_bytes_load_u64(p + 16)};
        g_array_append_val(*pending, t);
    }
    *open_txn = rt_bytes_load_u64(data + 16 + 24 * n);
    return true;
}
