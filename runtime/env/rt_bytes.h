/* rt_bytes.h - the one place that spells out little-endian integers, LEB128 varints and a
 * bounded read cursor. Every binary format of the runtime (wire protocol, snapshot files,
 * checkpoint metadata, state handles, sink transaction files, channel state) writes its
 * integers byte by byte, little-endian, so the encodings are the same on any host.
 *
 * The reader never reads past its end: a read that does not fit, or a value the caller
 * rejects, marks the reader failed and records the first failure (its byte offset and
 * what was being read); later reads return zero and change nothing. A decoder can
 * therefore read a whole structure and check once, then turn the recorded failure into
 * its own GError with its own wording. The hot paths are static inline; the failure
 * bookkeeping (cold) lives in rt_bytes.c. */
#ifndef RT_BYTES_H
#define RT_BYTES_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest LEB128 encoding of a uint64_t. */
#define RT_BYTES_VARINT_MAX_BYTES 10u

/* ------------------------------------------------------------ raw memory */

static inline void rt_bytes_store_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void rt_bytes_store_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void rt_bytes_store_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t rt_bytes_load_u16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t rt_bytes_load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t rt_bytes_load_u64(const uint8_t *p) {
    return (uint64_t)rt_bytes_load_u32(p) | ((uint64_t)rt_bytes_load_u32(p + 4) << 32);
}

/* Writes v as a LEB128 varint at p (room for RT_BYTES_VARINT_MAX_BYTES); returns the
 * byte after it. */
static inline uint8_t *rt_bytes_store_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80u) {
        *p++ = (uint8_t)(v | 0x80u);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Reads a LEB128 varint from [*p, end), advancing *p past it. False (with *p somewhere
 * inside the bad varint) when it runs past end or holds bits beyond 64. */
bool rt_bytes_load_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* ------------------------------------------------------ appending to an array */

static inline void rt_bytes_put_u8(GByteArray *b, uint8_t v) {
    g_byte_array_append(b, &v, 1);
}

static inline void rt_bytes_put_u16(GByteArray *b, uint16_t v) {
    uint8_t x[2];
    rt_bytes_store_u16(x, v);
    g_byte_array_append(b, x, 2);
}

static inline void rt_bytes_put_u32(GByteArray *b, uint32_t v) {
    uint8_t x[4];
    rt_bytes_store_u32(x, v);
    g_byte_array_append(b, x, 4);
}

static inline void rt_bytes_put_u64(GByteArray *b, uint64_t v) {
    uint8_t x[8];
    rt_bytes_store_u64(x, v);
    g_byte_array_append(b, x, 8);
}

/* Overwrites 4 bytes at offset at (already in b) with v: for counts and lengths known
 * only after what follows them has been written. */
void rt_bytes_patch_u32(GByteArray *b, size_t at, uint32_t v);

/* Overwrites 8 bytes at offset at (already in b) with v. */
void rt_bytes_patch_u64(GByteArray *b, size_t at, uint64_t v);

/* ------------------------------------------------------------ bounded reader */

/* The first failure of a reader. */
typedef struct RtBytesFailure {
    size_t at_bytes;   /* offset of the short read, or the one the caller gave a rejection */
    size_t need_bytes; /* a short read: the bytes it needed (> 0); 0 for a rejection */
    size_t have_bytes; /* a short read: the bytes that remained before the end */
    int code;          /* a rejection: the caller's error code (0 for a short read) */
    uint64_t value;    /* a rejection: the offending value, for the message */
    const char *what;  /* static text: the field read or the reason for the rejection */
} RtBytesFailure;

typedef struct RtBytesReader {
    const uint8_t *data; /* borrowed; never NULL (an empty input points at "") */
    size_t end;          /* parse limit in bytes: no read passes it */
    size_t pos;          /* offset of the next byte to read */
    bool failed;         /* sticky: set by the first failure */
    RtBytesFailure failure; /* valid when failed */
} RtBytesReader;

/* Starts r over [data, data + len). data may be NULL only when len is 0. */
void rt_bytes_reader_init(RtBytesReader *r, const void *data, size_t len);

/* Records a short read of n bytes for what (if r has not failed yet); returns false. */
bool rt_bytes_reader_short(RtBytesReader *r, size_t n, const char *what);

/* Rejects a value the caller read: records (at, code, what, value) as the failure if it
 * is the first, marks r failed and returns false. what must outlive r. */
bool rt_bytes_reader_reject(RtBytesReader *r, size_t at, int code, const char *what,
                            uint64_t value);

static inline bool rt_bytes_reader_ok(const RtBytesReader *r) {
    return !r->failed;
}

/* Bytes left before the end. A failed read does not move the position. */
static inline size_t rt_bytes_reader_left(const RtBytesReader *r) {
    return r->end - r->pos;
}

/* True when n more bytes can be read; otherwise records a short read and returns false.
 * False at once on a failed reader. */
static inline bool rt_bytes_reader_need(RtBytesReader *r, size_t n, const char *what) {
    if (!r->failed && r->end - r->pos >= n)
        return true;
    return rt_bytes_reader_short(r, n, what);
}

/* Borrows the next n bytes and moves past them; NULL (after recording a short read)
 * when fewer remain. */
static inline const uint8_t *rt_bytes_get_span(RtBytesReader *r, size_t n, const char *what) {
    if (!rt_bytes_reader_need(r, n, what))
        return NULL;
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

/* The next integer, little-endian; 0 (after recording a short read) when it does not
 * fit, and 0 on a failed reader. */
static inline uint8_t rt_bytes_get_u8(RtBytesReader *r, const char *what) {
    const uint8_t *p = rt_bytes_get_span(r, 1, what);
    return p != NULL ? p[0] : 0;
}

static inline uint16_t rt_bytes_get_u16(RtBytesReader *r, const char *what) {
    const uint8_t *p = rt_bytes_get_span(r, 2, what);
    return p != NULL ? rt_bytes_load_u16(p) : 0;
}

static inline uint32_t rt_bytes_get_u32(RtBytesReader *r, const char *what) {
    const uint8_t *p = rt_bytes_get_span(r, 4, what);
    return p != NULL ? rt_bytes_load_u32(p) : 0;
}

static inline uint64_t rt_bytes_get_u64(RtBytesReader *r, const char *what) {
    const uint8_t *p = rt_bytes_get_span(r, 8, what);
    return p != NULL ? rt_bytes_load_u64(p) : 0;
}

#endif /* RT_BYTES_H */
