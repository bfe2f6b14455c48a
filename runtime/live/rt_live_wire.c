/* rt_live_wire.c - handshake and frame MACs of the live wire (rt_live_wire.h), on
 * GLib's GHmac (HMAC-SHA256). */
#include "runtime/live/rt_live_wire.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "runtime/env/rt_bytes.h"

#define WIRE_MAGIC 0x434b5032u /* "CKP2" */
#define WIRE_VERSION 1u

bool rt_live_equal_ct(const uint8_t *a, const uint8_t *b, size_t len) {
    uint8_t d = 0;
    for (size_t i = 0; i < len; i++)
        d |= (uint8_t)(a[i] ^ b[i]);
    return d == 0;
}

static bool read_exact(int fd, uint8_t *buf, size_t len) {
    size_t got = 0;
    for (uint32_t guard = 0; got < len && guard < 100000u; guard++) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return got == len;
}

bool rt_live_random_bytes(uint8_t *buf, size_t len, GError **error) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && read_exact(fd, buf, len);
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!ok)
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e),
                    "cannot read /dev/urandom: %s", g_strerror(e));
    return ok;
}

bool rt_live_secret_read_fd(int fd, RtLiveSecret *out, GError **error) {
    bool ok = fd >= 0 && read_exact(fd, out->key, sizeof out->key);
    if (fd >= 0)
        close(fd);
    if (!ok)
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "the run's secret could not be read from fd %d", fd);
    return ok;
}

/* HMAC(K, label | transcript) into out. */
static void transcript_mac(const RtLiveSecret *k, const char *label, const RtLiveTranscript *t,
                           uint8_t out[RT_LIVE_MAC_BYTES]) {
    GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, k->key, sizeof k->key);
    uint8_t ids[12];
    rt_bytes_store_u32(ids, t->src);
    rt_bytes_store_u32(ids + 4, t->dst);
    rt_bytes_store_u32(ids + 8, t->port);
    g_hmac_update(h, (const guchar *)label, (gssize)strlen(label));
    g_hmac_update(h, t->nonce_c, sizeof t->nonce_c);
    g_hmac_update(h, t->nonce_s, sizeof t->nonce_s);
    g_hmac_update(h, ids, sizeof ids);
    gsize n = RT_LIVE_MAC_BYTES;
    g_hmac_get_digest(h, out, &n);
    assert(n == RT_LIVE_MAC_BYTES);
    g_hmac_unref(h);
}

void rt_live_hello_encode(uint8_t out[RT_LIVE_HELLO_BYTES], const RtLiveTranscript *t) {
    rt_bytes_store_u32(out, WIRE_MAGIC);
    out[4] = WIRE_VERSION;
    rt_bytes_store_u32(out + 5, t->src);
    rt_bytes_store_u32(out + 9, t->dst);
    rt_bytes_store_u32(out + 13, t->port);
    memcpy(out + 17, t->nonce_c, RT_LIVE_NONCE_BYTES);
}

bool rt_live_hello_decode(const uint8_t *p, size_t len, RtLiveTranscript *t) {
    if (len != RT_LIVE_HELLO_BYTES || rt_bytes_load_u32(p) != WIRE_MAGIC || p[4] != WIRE_VERSION)
        return false;
    t->src = rt_bytes_load_u32(p + 5);
    t->dst = rt_bytes_load_u32(p + 9);
    t->port = rt_bytes_load_u32(p + 13);
    memcpy(t->nonce_c, p + 17, RT_LIVE_NONCE_BYTES);
    return true;
}

void rt_live_challenge_encode(uint8_t out[RT_LIVE_CHALLENGE_BYTES], const RtLiveSecret *k,
                              const RtLiveTranscript *t) {
    rt_bytes_store_u32(out, WIRE_MAGIC);
    memcpy(out + 4, t->nonce_s, RT_LIVE_NONCE_BYTES);
    transcript_mac(k, "S", t, out + 4 + RT_LIVE_NONCE_BYTES);
}

bool rt_live_challenge_check(const uint8_t *p, size_t len, const RtLiveSecret *k,
                             RtLiveTranscript *t) {
    if (len != RT_LIVE_CHALLENGE_BYTES || rt_bytes_load_u32(p) != WIRE_MAGIC)
        return false;
    memcpy(t->nonce_s, p + 4, RT_LIVE_NONCE_BYTES);
    uint8_t want[RT_LIVE_MAC_BYTES];
    transcript_mac(k, "S", t, want);
    return rt_live_equal_ct(want, p + 4 + RT_LIVE_NONCE_BYTES, RT_LIVE_MAC_BYTES);
}

void rt_live_proof_encode(uint8_t out[RT_LIVE_PROOF_BYTES], const RtLiveSecret *k,
                          const RtLiveTranscript *t) {
    transcript_mac(k, "C", t, out);
}

bool rt_live_proof_check(const uint8_t *p, size_t len, const RtLiveSecret *k,
                         const RtLiveTranscript *t) {
    if (len != RT_LIVE_PROOF_BYTES)
        return false;
    uint8_t want[RT_LIVE_MAC_BYTES];
    transcript_mac(k, "C", t, want);
    return rt_live_equal_ct(want, p, RT_LIVE_MAC_BYTES);
}

void rt_live_mac_init(RtLiveMac *m, const RtLiveSecret *k, const RtLiveTranscript *t) {
    uint8_t session[RT_LIVE_MAC_BYTES];
    transcript_mac(k, "session", t, session);
    m->keyed = g_hmac_new(G_CHECKSUM_SHA256, session, sizeof session);
    memset(session, 0, sizeof session);
}

void rt_live_mac_clear(RtLiveMac *m) {
    if (m->keyed != NULL)
        g_hmac_unref(m->keyed);
    m->keyed = NULL;
}

void rt_live_mac_frame(const RtLiveMac *m, uint8_t dir, uint64_t seq, uint8_t flags,
                       const uint8_t *piece, uint32_t len, uint8_t tag[RT_LIVE_MAC_BYTES]) {
    assert(m->keyed != NULL);
    uint8_t hdr[14];
    hdr[0] = dir;
    rt_bytes_store_u64(hdr + 1, seq);
    hdr[9] = flags;
    rt_bytes_store_u32(hdr + 10, len);
    GHmac *h = g_hmac_copy(m->keyed);
    g_hmac_update(h, hdr, sizeof hdr);
    if (len > 0)
        g_hmac_update(h, piece, len);
    gsize n = RT_LIVE_MAC_BYTES;
    g_hmac_get_digest(h, tag, &n);
    g_hmac_unref(h);
}

void rt_live_frame_append(const RtLiveMac *m, GByteArray *out, uint8_t dir, uint64_t seq,
                          uint8_t flags, const uint8_t *piece, uint32_t len) {
    assert(len <= RT_LIVE_PIECE_BYTES);
    uint8_t hdr[5];
    rt_bytes_store_u32(hdr, len);
    hdr[4] = flags;
    g_byte_array_append(out, hdr, sizeof hdr);
    if (len > 0)
        g_byte_array_append(out, piece, len);
    uint8_t tag[RT_LIVE_MAC_BYTES];
    rt_live_mac_frame(m, dir, seq, flags, piece, len, tag);
    g_byte_array_append(out, tag, sizeof tag);
}
