/* sim_packed.c - bit-packed arrays of small integers (see sim_packed.h). An entry may
 * straddle two 64-bit words; one spare word at the end keeps the access branch-light. */
#include "sim/harness/sim_packed.h"

#include <assert.h>
#include <glib.h>
#include <string.h>

static uint64_t words_for(uint64_t n, uint32_t bits) {
    return (n * bits + 63u) / 64u + 1u;
}

void sim_packed_init(SimPacked *p, uint64_t n, uint32_t bits) {
    assert(p != NULL && bits >= 1 && bits <= SIM_PACKED_MAX_BITS);
    assert(n <= (UINT64_MAX - 64u) / SIM_PACKED_MAX_BITS);
    p->n = n;
    p->bits = bits;
    p->words = g_new0(uint64_t, words_for(n, bits));
}

void sim_packed_deinit(SimPacked *p) {
    if (p == NULL)
        return;
    g_free(p->words);
    memset(p, 0, sizeof *p);
}

uint32_t sim_packed_max(const SimPacked *p) {
    return (uint32_t)((UINT64_C(1) << p->bits) - 1u);
}

uint32_t sim_packed_get(const SimPacked *p, uint64_t i) {
    assert(i < p->n);
    uint64_t bit = i * p->bits;
    uint64_t w = bit >> 6;
    unsigned sh = (unsigned)(bit & 63u);
    uint64_t v = p->words[w] >> sh;
    if (sh + p->bits > 64u)
        v |= p->words[w + 1] << (64u - sh);
    return (uint32_t)(v & sim_packed_max(p));
}

void sim_packed_set(SimPacked *p, uint64_t i, uint32_t v) {
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

void sim_packed_widen(SimPacked *p, uint32_t bits) {
    assert(bits >= p->bits && bits <= SIM_PACKED_MAX_BITS);
    if (bits == p->bits)
        return;
    SimPacked wide;
    sim_packed_init(&wide, p->n, bits);
    for (uint64_t i = 0; i < p->n; i++)
        sim_packed_set(&wide, i, sim_packed_get(p, i));
    g_free(p->words);
    *p = wide;
}

uint32_t sim_packed_bits_for(uint64_t v) {
    uint32_t b = 1;
    while (b < 64u && (v >> b) != 0)
        b++;
    return b;
}

uint64_t sim_packed_size_bytes(const SimPacked *p) {
    return words_for(p->n, p->bits) * sizeof(uint64_t);
}
