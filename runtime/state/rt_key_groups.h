/* rt_key_groups.h - key groups, bit-exact with Flink's KeyGroupRangeAssignment.
 *
 * Keyed state and keyBy partitioning work on key groups: a key's group is
 * murmurHash(key.hashCode()) % maxParallelism, and the key groups are split into
 * contiguous ranges, one per subtask. Because state is stored and snapshotted by key
 * group, a snapshot can be restored at another parallelism (never at another max
 * parallelism, as in Flink).
 *
 * Our keys are uint64_t. Their "hashCode" is Java's Long.hashCode:
 * (int)(v ^ (v >>> 32)), so a key k < 2^31 behaves exactly as Flink's Integer k and
 * Long k. Pure computation: no world access.
 *
 * Ranges here are half-open, [start, end), unlike Flink's inclusive KeyGroupRange; an
 * empty range has start == end.
 */
#ifndef RT_KEY_GROUPS_H
#define RT_KEY_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

/* Flink's bounds on the default max parallelism and on any max parallelism. */
#define RT_KEY_GROUPS_DEFAULT_LOWER 128u
#define RT_KEY_GROUPS_UPPER_BOUND 32768u

typedef struct RtKeyGroupRange {
    uint32_t start; /* first key group in the range */
    uint32_t end;   /* one past the last key group; start == end is empty */
} RtKeyGroupRange;

/* Java's Long.hashCode(v): (int)(v ^ (v >>> 32)). */
int32_t rt_key_hash_code(uint64_t key);

/* Flink's MathUtils.murmurHash(int): a non-negative int (0 .. 2^31-1). */
uint32_t rt_murmur_hash(int32_t code);

/* Key group of a Java hash code: murmurHash(hash_code) % max_parallelism.
 * Requires 1 <= max_parallelism <= RT_KEY_GROUPS_UPPER_BOUND. */
uint32_t rt_key_group_for_hash(int32_t hash_code, uint32_t max_parallelism);

/* Key group of one of our keys: rt_key_group_for_hash(rt_key_hash_code(key), maxp). */
uint32_t rt_key_group_for_key(uint64_t key, uint32_t max_parallelism);

/* Index of the subtask that owns key_group: key_group * parallelism / max_parallelism.
 * Requires 1 <= parallelism <= max_parallelism and key_group < max_parallelism. */
uint32_t rt_key_group_operator_index(uint32_t key_group, uint32_t max_parallelism,
                                     uint32_t parallelism);

/* Index of the subtask that owns key (keyBy partitioning). */
uint32_t rt_key_group_operator_index_for_key(uint64_t key, uint32_t max_parallelism,
                                             uint32_t parallelism);

/* Key groups of subtask index: Flink's computeKeyGroupRangeForOperatorIndex,
 * [ceil(i * maxp / p), floor(((i + 1) * maxp - 1) / p)] as a half-open range. The
 * ranges of 0..p-1 are contiguous, disjoint and cover [0, max_parallelism). */
RtKeyGroupRange rt_key_group_range_for_operator(uint32_t max_parallelism,
                                                uint32_t parallelism, uint32_t index);

/* Flink's default max parallelism: roundUpToPowerOfTwo(p + p/2) clamped to
 * [128, 32768]. Requires 1 <= parallelism <= RT_KEY_GROUPS_UPPER_BOUND. */
uint32_t rt_key_groups_default_max_parallelism(uint32_t parallelism);

/* Number of key groups in r. */
static inline uint32_t rt_key_group_range_size(RtKeyGroupRange r) {
    return r.end > r.start ? r.end - r.start : 0;
}

/* True if key_group lies in r. */
static inline bool rt_key_group_range_contains(RtKeyGroupRange r, uint32_t key_group) {
    return key_group >= r.start && key_group < r.end;
}

/* The key groups in both a and b (empty if none). */
RtKeyGroupRange rt_key_group_range_intersect(RtKeyGroupRange a, RtKeyGroupRange b);

#endif /* RT_KEY_GROUPS_H */
