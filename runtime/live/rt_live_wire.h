/* rt_live_wire.h - the authenticated wire of the live world: the handshake that proves
 * both ends of a TCP connection hold the run's secret, and the MACed, length-limited
 * frames that follow it. Pure byte work (GHmac, no sockets): rt_live_env.c drives it.
 *
 * Every run has a fresh 32-byte secret K (the launcher draws it from /dev/urandom and
 * hands it to each child through an inherited pipe). A connection from process src to
 * process dst's logical port starts with three frames (u32 little-endian length, then
 * the bytes; each handshake frame has one exact length, anything else is refused):
 *   client -> server HELLO      magic, version, src, dst, port, nonce_c[16]
 *   server -> client CHALLENGE  magic, nonce_s[16], HMAC(K, "S" | transcript)
 *   client -> server PROOF      HMAC(K, "C" | transcript)
 * where transcript = nonce_c | nonce_s | src | dst | port. Each side checks the other's
 * MAC (constant time) before anything else is read; nonces are fresh per connection, so
 * a recorded handshake cannot be replayed. Both then derive the session key
 * S = HMAC(K, "session" | transcript), and every later frame is
 *   u32 len | u8 flags | piece[len] | HMAC(S, dir | seq | flags | len | piece)
 * with dir 0 client->server, 1 server->client, and seq counting the frames of that
 * direction from 0: a frame that is forged, altered, replayed, reordered or moved to
 * another connection fails its MAC. A message longer than RT_LIVE_PIECE_BYTES is sent
 * as several pieces (flags RT_LIVE_FLAG_MORE on all but the last) and reassembled up to
 * RT_LIVE_MAX_MESSAGE_BYTES.
 */
#ifndef RT_LIVE_WIRE_H
#define RT_LIVE_WIRE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_LIVE_SECRET_BYTES 32u
#define RT_LIVE_NONCE_BYTES 16u
#define RT_LIVE_MAC_BYTES 32u
#define RT_LIVE_PIECE_BYTES (1u << 20)                   /* payload of one frame */
#define RT_LIVE_MAX_MESSAGE_BYTES ((64u << 20) + (1u << 20)) /* a 64 MiB handle + header */
#define RT_LIVE_FLAG_MORE 0x01u
#define RT_LIVE_FRAME_OVERHEAD (4u + 1u + RT_LIVE_MAC_BYTES)

#define RT_LIVE_HELLO_BYTES (4u + 1u + 12u + RT_LIVE_NONCE_BYTES)
#define RT_LIVE_CHALLENGE_BYTES (4u + RT_LIVE_NONCE_BYTES + RT_LIVE_MAC_BYTES)
#define RT_LIVE_PROOF_BYTES (RT_LIVE_MAC_BYTES)

typedef struct RtLiveSecret {
    uint8_t key[RT_LIVE_SECRET_BYTES];
} RtLiveSecret;

/* What both ends agree on during a handshake. */
typedef struct RtLiveTranscript {
    uint8_t nonce_c[RT_LIVE_NONCE_BYTES];
    uint8_t nonce_s[RT_LIVE_NONCE_BYTES];
    uint32_t src, dst, port;
} RtLiveTranscript;

/* Fills buf with len bytes from /dev/urandom; false + error if it cannot be read. */
bool rt_live_random_bytes(uint8_t *buf, size_t len, GError **error);

/* Reads exactly RT_LIVE_SECRET_BYTES from fd (a pipe from the launcher) and closes it.
 * False + error when fewer bytes arrive. */
bool rt_live_secret_read_fd(int fd, RtLiveSecret *out, GError **error);

/* HELLO / CHALLENGE / PROOF encoders (into out, which must hold the frame's size) and
 * decoders (false on any mismatch: length, magic, version, MAC). */
void rt_live_hello_encode(uint8_t out[RT_LIVE_HELLO_BYTES], const RtLiveTranscript *t);
bool rt_live_hello_decode(const uint8_t *p, size_t len, RtLiveTranscript *t);
void rt_live_challenge_encode(uint8_t out[RT_LIVE_CHALLENGE_BYTES], const RtLiveSecret *k,
                              const RtLiveTranscript *t);
/* Checks a CHALLENGE against t (nonce_c, src, dst, port set); fills t->nonce_s. */
bool rt_live_challenge_check(const uint8_t *p, size_t len, const RtLiveSecret *k,
                             RtLiveTranscript *t);
void rt_live_proof_encode(uint8_t out[RT_LIVE_PROOF_BYTES], const RtLiveSecret *k,
                          const RtLiveTranscript *t);
bool rt_live_proof_check(const uint8_t *p, size_t len, const RtLiveSecret *k,
                         const RtLiveTranscript *t);

/* The per-connection frame MAC state: the session key as a keyed GHmac to copy. */
typedef struct RtLiveMac {
    GHmac *keyed;
} RtLiveMac;

void rt_live_mac_init(RtLiveMac *m, const RtLiveSecret *k, const RtLiveTranscript *t);
void rt_live_mac_clear(RtLiveMac *m);
/* The tag of one frame. */
void rt_live_mac_frame(const RtLiveMac *m, uint8_t dir, uint64_t seq, uint8_t flags,
                       const uint8_t *piece, uint32_t len, uint8_t tag[RT_LIVE_MAC_BYTES]);
/* Appends one whole frame (header, piece, tag) to out. */
void rt_live_frame_append(const RtLiveMac *m, GByteArray *out, uint8_t dir, uint64_t seq,
                          uint8_t flags, const uint8_t *piece, uint32_t len);

/* Constant-time comparison. */
bool rt_live_equal_ct(const uint8_t *a, const uint8_t *b, size_t len);

#endif /* RT_LIVE_WIRE_H */
