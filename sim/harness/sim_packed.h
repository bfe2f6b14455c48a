/* sim_packed.h - a fixed-length array of small unsigned integers packed at a chosen bit
 * width (1..32), for the oracle's per-record ledger: a record's dense key index takes
 * ~11 bits instead of 32, a copy counter 4 bits instead of 8. The width can be raised
 * later (the values are repacked), so a ledger starts narrow and grows only when a
 * larger value appears.
 */
#ifndef SIM_PACKED_H
#define SIM_PACKED_H

#include <assert.h>
#include <stdint.h>

#define SIM_PACKED_MAX_BITS 32u

typedef struct SimPacked {
    uint64_t *words; /* n * bits bits, little-endian within and across words, + 1 word */
    uint64_t n;      /* entries */
    uint32_t bits;   /* width of an entry, 1..SIM_PACKED_MAX_BITS */
} SimPacked;

/* n entries of width bits, all 0. */
void sim_packed_init(SimPacked *p, uint64_t n, uint32_t bits);
void sim_packed_deinit(SimPacked *p);
/* Raises the width to bits (>= the current width), keeping every value. */
void sim_packed_widen(SimPacked *p, uint32_t bits);
/* Largest value of the current width. */
static inline uint32_t sim_packed_max(const SimPacked *p) {
    return (uint32_t)((UINT64_C(1) << p->bits) - 1u);
}

/* Entry i (asserts i < n). Inline: the oracle reads one or two per record per check. */
static inline uint32_t sim_packed_get(const SimPacked *p, uint64_t i) {
    assert(i < p->n);
    uint64_t bit = i * p->bits;
    uint64_t w = bit >> 6;
    unsigned sh = (unsigned)(bit & 63u);
    uint64_t v = p->words[w] >> sh;
    if (sh + p->bits > 64u)
        v |= p->words[w + 1] << (64u - sh);
    return (uint32_t)(v & sim_packed_max(p));
}

/* Sets entry i to v (asserts i < n and v fits the width). */
static inline void sim_packed_set(SimPacked *p, uint64_t i, uint32_t v) {
    assert(i < p->n && v <= sim_packed_max(p));
    uint64_t bit = i * p->bits, mask = sim_packed_max(p);
    uint64_t w = bit >> 6;
    unsigned sh = (unsigned)(bit & 63u);
    p->words[w] = (p->words[w] & ~(mask << sh)) | ((uint64_t)v << sh);
    if (sh + p->bits > 64u) {
        unsigned lo = 64u - sh; /* bits stored in the first word */
        p->words[w + 1] = (p->words[w + 1] & ~(mask >> lo)) | ((uint64_t)v >> lo);
    }
}
/* Bits needed to hold v (1 for 0). */
uint32_t sim_packed_bits_for(uint64_t v);
/* Bytes held by the array. */
uint64_t sim_packed_size_bytes(const SimPacked *p);

#endif /* SIM_PACKED_H */
