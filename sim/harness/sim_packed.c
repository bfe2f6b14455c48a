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
