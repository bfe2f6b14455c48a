/* rt_key_groups.c - Flink's KeyGroupRangeAssignment and MathUtils.murmurHash, in
 * 32-bit unsigned arithmetic (Java's int overflow wraps; C's signed overflow is
 * undefined, so every step is done on uint32_t and converted back at the end). */
#include "runtime/state/rt_key_groups.h"

#include <assert.h>

int32_t rt_key_hash_code(uint64_t key) {
    uint32_t folded = (uint32_t)(key ^ (key >> 32));
    /* Two's-complement reinterpretation without implementation-defined conversion. */
    return folded <= INT32_MAX ? (int32_t)folded : -(int32_t)(~folded) - 1;
}

static uint32_t rotl32(uint32_t x, unsigned k) {
    return (x << k) | (x >> (32u - k));
}

uint32_t rt_murmur_hash(int32_t code) {
    uint32_t h = (uint32_t)code;
    h *= 0xcc9e2d51u;
    h = rotl32(h, 15);
    h *= 0x1b873593u;
    h = rotl32(h, 13);
    h = h * 5u + 0xe6546b64u;
    h ^= 4u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    /* Java: code >= 0 ? code : (code != MIN_VALUE ? -code : 0). */
    if (h < 0x80000000u)
        return h;
    if (h == 0x80000000u)
        return 0;
    return 0u - h; /* -code as a non-negative int */
}

uint32_t rt_key_group_for_hash(int32_t hash_code, uint32_t max_parallelism) {
    assert(max_parallelism >= 1 && max_parallelism <= RT_KEY_GROUPS_UPPER_BOUND);
    return rt_murmur_hash(hash_code) % max_parallelism;
}

uint32_t rt_key_group_for_key(uint64_t key, uint32_t max_parallelism) {
    return rt_key_group_for_hash(rt_key_hash_code(key), max_parallelism);
}

uint32_t rt_key_group_operator_index(uint32_t key_group, uint32_t max_parallelism,
                                     uint32_t parallelism) {
    assert(parallelism >= 1 && parallelism <= max_parallelism);
    assert(max_parallelism <= RT_KEY_GROUPS_UPPER_BOUND && key_group < max_parallelism);
    uint32_t index = (uint32_t)((uint64_t)key_group * parallelism / max_parallelism);
    assert(index < parallelism);
    return index;
}

uint32_t rt_key_group_operator_index_for_key(uint64_t key, uint32_t max_parallelism,
                                             uint32_t parallelism) {
    return rt_key_group_operator_index(rt_key_group_for_key(key, max_parallelism),
                                       max_parallelism, parallelism);
}

RtKeyGroupRange rt_key_group_range_for_operator(uint32_t max_parallelism,
                                                uint32_t parallelism, uint32_t index) {
    assert(parallelism >= 1 && parallelism <= max_parallelism);
    assert(max_parallelism <= RT_KEY_GROUPS_UPPER_BOUND && index < parallelism);
    uint64_t maxp = max_parallelism, p = parallelism, i = index;
    uint64_t start = (i * maxp + p - 1) / p;
    uint64_t last = ((i + 1) * maxp - 1) / p; /* inclusive, as Flink's end */
    RtKeyGroupRange r = {(uint32_t)start, (uint32_t)(last + 1)};
    assert(r.start < r.end && r.end <= max_parallelism);
    return r;
}

uint32_t rt_key_groups_default_max_parallelism(uint32_t parallelism) {
    assert(parallelism >= 1 && parallelism <= RT_KEY_GROUPS_UPPER_BOUND);
    uint32_t want = parallelism + parallelism / 2;
    uint32_t pow2 = 1;
    while (pow2 < want) /* bounded: want <= 49152 < 2^16 */
        pow2 <<= 1;
    if (pow2 < RT_KEY_GROUPS_DEFAULT_LOWER)
        pow2 = RT_KEY_GROUPS_DEFAULT_LOWER;
    if (pow2 > RT_KEY_GROUPS_UPPER_BOUND)
        pow2 = RT_KEY_GROUPS_UPPER_BOUND;
    return pow2;
}

RtKeyGroupRange rt_key_group_range_intersect(RtKeyGroupRange a, RtKeyGroupRange b) {
    RtKeyGroupRange r = {a.start > b.start ? a.start : b.start, a.end < b.end ? a.end : b.end};
    if (r.end < r.start)
        r.end = r.start;
    return r;
}
