/* sim_event_queue.h - the kernel's priority queue: a 4-ary min-heap of 128-bit keys.
 *
 * A key is ((time_ns << 64) | low), compared as one unsigned 128-bit integer, which is
 * branch-free and twice as fast as comparing (time, seq) field by field. The kernel puts
 * (seq << 24 | slot) in the low half, so keys are unique and ties in time fall back to
 * scheduling order. Only the 16-byte keys live in the heap: the four children of a node
 * share one 64-byte cache line (the array is offset so that keys[1] is line-aligned),
 * which keeps a sift-down at one cache line per level. pop is bottom-up (the hole goes
 * down to a leaf along the smallest children, then the last key sifts up): the last key
 * belongs near the bottom, so this saves a compare and a mispredicted branch per level.
 *
 * Lifecycle: sim_event_queue_init() -> push/pop ... -> sim_event_queue_deinit(). The
 * array grows geometrically and is never shrunk, so steady state allocates nothing.
 * push and pop are inline: they are the innermost loop of every simulation.
 */
#ifndef SIM_EVENT_QUEUE_H
#define SIM_EVENT_QUEUE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

__extension__ typedef unsigned __int128 SimEventKey;

/* The most keys a queue may hold (a limit on everything: 16 Mi events = 256 MiB). */
#define SIM_EVENT_QUEUE_MAX_LEN ((size_t)1 << 24)

typedef struct SimEventQueue {
    SimEventKey *keys; /* keys[0] is the minimum; children of i are 4i+1 .. 4i+4 */
    void *raw;         /* the allocation keys points into (owned) */
    size_t len;        /* keys held */
    size_t cap;        /* keys that fit before the next growth */
} SimEventQueue;

static inline SimEventKey sim_event_key(uint64_t time_ns, uint64_t low) {
    return ((SimEventKey)time_ns << 64) | low;
}
static inline uint64_t sim_event_key_time_ns(SimEventKey key) {
    return (uint64_t)(key >> 64);
}
static inline uint64_t sim_event_key_low(SimEventKey key) {
    return (uint64_t)key;
}

/* An empty queue (allocates a small initial array; aborts on out-of-memory). */
void sim_event_queue_init(SimEventQueue *q);
/* Frees the array; the queue must be re-initialised before reuse. */
void sim_event_queue_deinit(SimEventQueue *q);
/* Doubles the capacity (up to SIM_EVENT_QUEUE_MAX_LEN; asserts beyond). */
void sim_event_queue_grow(SimEventQueue *q);

/* Adds key. Keys must be unique (the kernel guarantees it through the sequence number). */
static inline void sim_event_queue_push(SimEventQueue *q, SimEventKey key) {
    if (__builtin_expect(q->len == q->cap, 0))
        sim_event_queue_grow(q);
    SimEventKey *a = q->keys;
    size_t i = q->len++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        SimEventKey pk = a[p];
        if (!(key < pk))
            break;
        a[i] = pk;
        i = p;
    }
    a[i] = key;
}

/* The smallest key; the queue must not be empty. */
static inline SimEventKey sim_event_queue_peek(const SimEventQueue *q) {
    assert(q->len > 0);
    return q->keys[0];
}

/* Removes and returns the smallest key; the queue must not be empty. */
static inline SimEventKey sim_event_queue_pop(SimEventQueue *q) {
    assert(q->len > 0);
    SimEventKey *a = q->keys;
    SimEventKey top = a[0];
    size_t n = --q->len;
    SimEventKey last = a[n];
    size_t i = 0;
    /* Bottom-up: move the hole down along the smallest children to a leaf, then sift the
     * last key up from there; it usually belongs near the bottom. */
    for (;;) {
        size_t c = 4 * i + 1;
        if (__builtin_expect(c + 3 < n, 1)) {
            SimEventKey k0 = a[c], k1 = a[c + 1], k2 = a[c + 2], k3 = a[c + 3];
            if (4 * c + 13 < n) {
                /* The next level is one of these four lines: fetch them while comparing. */
                __builtin_prefetch(&a[4 * c + 1]);
                __builtin_prefetch(&a[4 * c + 5]);
                __builtin_prefetch(&a[4 * c + 9]);
                __builtin_prefetch(&a[4 * c + 13]);
            }
            size_t b01 = k1 < k0 ? c + 1 : c;
            SimEventKey m01 = k1 < k0 ? k1 : k0;
            size_t b23 = k3 < k2 ? c + 3 : c + 2;
            SimEventKey m23 = k3 < k2 ? k3 : k2;
            size_t best = m23 < m01 ? b23 : b01;
            a[i] = m23 < m01 ? m23 : m01;
            i = best;
        } else {
            if (c < n) {
                size_t best = c;
                SimEventKey bk = a[c];
                for (size_t j = c + 1; j < n; j++) {
                    if (a[j] < bk) {
                        bk = a[j];
                        best = j;
                    }
                }
                a[i] = bk;
                i = best;
            }
            break;
        }
    }
    while (i > 0) {
        size_t p = (i - 1) / 4;
        SimEventKey pk = a[p];
        if (!(last < pk))
            break;
        a[i] = pk;
        i = p;
    }
    a[i] = last;
    return top;
}

#endif /* SIM_EVENT_QUEUE_H */
