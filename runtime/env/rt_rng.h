/* rt_rng.h - PRNG streams: xoshiro256** seeded through splitmix64.
 *
 * Pure computation (no world access), so both the runtime and the simulator use it.
 * A stream is derived from (run seed, stream name): a new draw in one component never
 * shifts the draws of another. Bit-exact on every platform and compiler.
 */
#ifndef RT_RNG_H
#define RT_RNG_H

#include <stdint.h>

typedef struct RtRng {
    uint64_t s[4];
} RtRng;

/* Seeds from a 64-bit value through splitmix64 (never all-zero state). */
void rt_rng_seed(RtRng *rng, uint64_t seed);
/* Seeds the stream named name of the run seeded with seed. */
void rt_rng_seed_stream(RtRng *rng, uint64_t seed, const char *name);
/* 64-bit FNV-1a of a string: stable stream and key hashing. */
uint64_t rt_hash_str(const char *s);
/* One splitmix64 step: a good 64-bit mixer. */
uint64_t rt_mix64(uint64_t x);

static inline uint64_t rt_rng_rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rt_rng_next(RtRng *rng) {
    uint64_t *s = rng->s;
    const uint64_t result = rt_rng_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rt_rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; bias < n / 2^64). */
uint64_t rt_rng_below(RtRng *rng, uint64_t n);
/* Uniform in [lo, hi], lo <= hi. */
uint64_t rt_rng_range(RtRng *rng, uint64_t lo, uint64_t hi);
/* Uniform double in [0, 1) with 53 bits. */
double rt_rng_double(RtRng *rng);
/* True with probability p. */
int rt_rng_chance(RtRng *rng, double p);

#endif /* RT_RNG_H */
