/* rt_rng.c - xoshiro256** streams seeded through splitmix64. See rt_rng.h. */
#include "runtime/env/rt_rng.h"

#include <assert.h>
#include <stddef.h>

uint64_t rt_mix64(uint64_t x) {
    uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void rt_rng_seed(RtRng *rng, uint64_t seed) {
    assert(rng != NULL);
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        rng->s[i] = rt_mix64(x);
        x += 0x9e3779b97f4a7c15ULL;
    }
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1; /* xoshiro must never be all-zero */
}

uint64_t rt_hash_str(const char *s) {
    assert(s != NULL);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

void rt_rng_seed_stream(RtRng *rng, uint64_t seed, const char *name) {
    rt_rng_seed(rng, rt_mix64(seed) ^ rt_mix64(rt_hash_str(name)));
}

uint64_t rt_rng_below(RtRng *rng, uint64_t n) {
    assert(n > 0);
    /* 64x64 -> 128 multiply done in 32-bit halves: portable, bit-exact everywhere. */
    uint64_t x = rt_rng_next(rng);
    uint64_t x_lo = x & 0xffffffffULL, x_hi = x >> 32;
    uint64_t n_lo = n & 0xffffffffULL, n_hi = n >> 32;
    uint64_t lo_lo = x_lo * n_lo, hi_lo = x_hi * n_lo;
    uint64_t lo_hi = x_lo * n_hi, hi_hi = x_hi * n_hi;
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
    uint64_t r = hi_hi + (hi_lo >> 32) + (cross >> 32);
    assert(r < n);
    return r;
}

uint64_t rt_rng_range(RtRng *rng, uint64_t lo, uint64_t hi) {
    assert(lo <= hi);
    if (lo == 0 && hi == UINT64_MAX)
        return rt_rng_next(rng);
    return lo + rt_rng_below(rng, hi - lo + 1);
}

double rt_rng_double(RtRng *rng) {
    return (double)(rt_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

int rt_rng_chance(RtRng *rng, double p) {
    if (p <= 0.0)
        return 0;
    if (p >= 1.0)
        return 1;
    return rt_rng_double(rng) < p;
}
