/* rt_bytes.c - the out-of-line parts of rt_bytes.h: varint decoding, patching and the
 * bounded reader's failure bookkeeping (the cold path of every decoder). */
#include "runtime/env/rt_bytes.h"

#include <assert.h>

bool rt_bytes_load_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    assert(p != NULL && *p != NULL && end != NULL && out != NULL);
    uint64_t v = 0;
    for (unsigned i = 0; i < RT_BYTES_VARINT_MAX_BYTES; i++) {
        if (*p >= end)
            return false;
        uint8_t c = *(*p)++;
        if (i == RT_BYTES_VARINT_MAX_BYTES - 1 && c > 1u)
            return false; /* bits beyond 64 */
        v |= (uint64_t)(c & 0x7fu) << (7 * i);
        if ((c & 0x80u) == 0) {
            *out = v;
            return true;
        }
    }
    return false;
}

void rt_bytes_patch_u32(GByteArray *b, size_t at, uint32_t v) {
    assert(b != NULL && at + 4 <= b->len);
    rt_bytes_store_u32(b->data + at, v);
}

void rt_bytes_patch_u64(GByteArray *b, size_t at, uint64_t v) {
    assert(b != NULL && at + 8 <= b->len);
    rt_bytes_store_u64(b->data + at, v);
}

void rt_bytes_reader_init(RtBytesReader *r, const void *data, size_t len) {
    assert(r != NULL && (data != NULL || len == 0));
    *r = (RtBytesReader){.data = data != NULL ? data : (const void *)"", .end = len};
}

bool rt_bytes_reader_short(RtBytesReader *r, size_t n, const char *what) {
    assert(r != NULL && r->pos <= r->end && what != NULL);
    if (r->failed)
        return false;
    assert(r->end - r->pos < n);
    r->failed = true;
    r->failure = (RtBytesFailure){.at_bytes = r->pos, .need_bytes = n,
                                  .have_bytes = r->end - r->pos, .what = what};
    return false;
}

bool rt_bytes_reader_reject(RtBytesReader *r, size_t at, int code, const char *what,
                            uint64_t value) {
    assert(r != NULL && what != NULL);
    if (r->failed)
        return false;
    r->failed = true;
    r->failure = (RtBytesFailure){.at_bytes = at, .code = code, .value = value, .what = what};
    return false;
}
