/* sim_packed.h - a fixed-length array of small unsigned integers packed at a chosen bit
 * width (1..32), for the oracle's per-record ledger: a record's dense key index takes
 * ~11 bits instead of 32, a copy counter 4 bits instead of 8. The width can be raised
 * later (the values are repacked), so a ledger starts narrow and grows only when a
 * larger value appears.
 */
#ifndef SIM_PACKED_H
#define SIM_PACKED_H

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
/* Entry i (asserts i < n). */
uint32_t sim_packed_get(const SimPacked *p, uint64_t i);
/* Sets entry i to v (asserts i < n and v fits the width). */
void sim_packed_set(SimPacked *p, uint64_t i, uint32_t v);
/* Raises the width to bits (>= the current width), keeping every value. */
void sim_packed_widen(SimPacked *p, uint32_t bits);
/* Largest value of the current width. */
uint32_t sim_packed_max(const SimPacked *p);
/* Bits needed to hold v (1 for 0). */
uint32_t sim_packed_bits_for(uint64_t v);
/* Bytes held by the array. */
uint64_t sim_packed_size_bytes(const SimPacked *p);

#endif /* SIM_PACKED_H */
