/* sim_kernel.c - the deterministic discrete-event kernel (see sim_kernel.h).
 *
 * Layout. The heap (sim_event_queue.h) holds only 128-bit keys (time_ns << 64 | id). An
 * id is (seq << SIM_KERNEL_SLOT_BITS | slot): seq is the scheduling sequence number
 * (so ids are unique and, inside the key, ties in time are broken in scheduling order);
 * slot indexes a table that holds the callback, its context and payload, and the id of
 * the event that owns the slot. Free slots form an intrusive LIFO list, so an event
 * scheduled from a callback reuses the slot just vacated (hot in cache), and the steady
 * state allocates nothing.
 *
 * Cancellation is O(1): the slot is freed at once and its stored id cleared; the stale key
 * stays in the heap and is recognised when it reaches the top (its slot no longer holds its
 * id). Invariant: the top of the heap is never stale, so next_time_ns and the dispatch
 * loop need no check; the purge runs only while stale keys exist. If stale keys come to
 * outnumber live ones the heap is rebuilt without them, so they cannot pile up.
 *
 * The trace hash is folded with one multiply-xorshift per dispatched event over its time
 * and sequence number (never a slot, pointer or function address).
 */
#include "sim/core/sim_kernel.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/core/sim_event_queue.h"

enum { SIM_KERNEL_SLOT_BITS = 24, SIM_KERNEL_SEQ_BITS = 64 - SIM_KERNEL_SLOT_BITS };
#define SIM_KERNEL_SLOT_MASK ((UINT64_C(1) << SIM_KERNEL_SLOT_BITS) - 1)
#define SIM_KERNEL_MAX_SLOTS (SIM_KERNEL_SLOT_MASK) /* slot numbers 0 .. 2^24 - 2 */
#define SIM_KERNEL_MAX_SEQ ((UINT64_C(1) << SIM_KERNEL_SEQ_BITS) - 1)
#define SIM_KERNEL_NO_SLOT UINT64_MAX
#define SIM_KERNEL_TRACE_SEED UINT64_C(0x6a09e667f3bcc908)
/* A stale-key rebuild is considered only beyond this many stale keys. */
#define SIM_KERNEL_COMPACT_MIN_STALE 1024

typedef struct SimKernelSlot {
    SimEventFunc fn;  /* callback; NULL while the slot is free */
    void *ctx;        /* borrowed from the scheduler */
    uint64_t payload; /* the event's payload; while free: index of the next free slot */
    uint64_t id;      /* id of the pending event that owns the slot; 0 when free */
} SimKernelSlot;

struct SimKernel {
    SimEventQueue queue;  /* keys of pending (and stale, cancelled) events */
    SimKernelSlot *slots; /* slot table, slots_cap entries, first slots_len ever used */
    size_t slots_len;     /* slots handed out at least once */
    size_t slots_cap;     /* allocated entries */
    uint64_t free_head;   /* first free slot, SIM_KERNEL_NO_SLOT when none */
    size_t stale;         /* cancelled keys still in the heap */
    uint64_t now_ns;      /* virtual time: the time of the last dispatched event */
    uint64_t next_seq;    /* sequence number of the next scheduled event (starts at 1) */
    uint64_t dispatched;  /* events run so far */
    uint64_t trace_hash;  /* rolling hash over dispatched events and mixed facts */
    bool running;         /* inside sim_kernel_step / sim_kernel_run (no re-entry) */
    bool stop;            /* sim_kernel_stop() was called during the current run */
};

static inline uint64_t sim_kernel_trace_step(uint64_t h, uint64_t a, uint64_t b) {
    h ^= a + b * UINT64_C(0x9e3779b97f4a7c15);
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    return h ^ (h >> 29);
}

SimKernel *sim_kernel_new(void) {
    SimKernel *k = calloc(1, sizeof *k);
    if (k == NULL) {
        fprintf(stderr, "ckptsim: out of memory (kernel)\n");
        abort();
    }
    sim_event_queue_init(&k->queue);
    k->free_head = SIM_KERNEL_NO_SLOT;
    k->next_seq = 1;
    k->trace_hash = SIM_KERNEL_TRACE_SEED;
    return k;
}

void sim_kernel_free(SimKernel *k) {
    if (k == NULL)
        return;
    assert(!k->running && "sim_kernel_free from inside an event");
    sim_event_queue_deinit(&k->queue);
    free(k->slots);
    free(k);
}

uint64_t sim_kernel_now_ns(const SimKernel *k) {
    return k->now_ns;
}

/* Hands out a never-used slot, growing the table geometrically. Cold path. */
static __attribute__((noinline)) uint64_t sim_kernel_slot_extend(SimKernel *k) {
    assert(k->slots_len < SIM_KERNEL_MAX_SLOTS && "too many pending events");
    if (k->slots_len == k->slots_cap) {
        size_t cap = k->slots_cap == 0 ? 256 : k->slots_cap * 2;
        if (cap > SIM_KERNEL_MAX_SLOTS)
            cap = SIM_KERNEL_MAX_SLOTS;
        SimKernelSlot *slots = realloc(k->slots, cap * sizeof *slots);
        if (slots == NULL) {
            fprintf(stderr, "ckptsim: out of memory (%zu event slots)\n", cap);
            abort();
        }
        memset(slots + k->slots_cap, 0, (cap - k->slots_cap) * sizeof *slots);
        k->slots = slots;
        k->slots_cap = cap;
    }
    return k->slots_len++;
}

static inline uint64_t sim_kernel_slot_take(SimKernel *k) {
    uint64_t s = k->free_head;
    if (__builtin_expect(s != SIM_KERNEL_NO_SLOT, 1)) {
        k->free_head = k->slots[s].payload;
        return s;
    }
    return sim_kernel_slot_extend(k);
}

static inline void sim_kernel_slot_release(SimKernel *k, uint64_t s) {
    SimKernelSlot *slot = &k->slots[s];
    slot->fn = NULL;
    slot->ctx = NULL;
    slot->id = 0;
    slot->payload = k->free_head;
    k->free_head = s;
}

SimEventId sim_kernel_schedule_at(SimKernel *k, uint64_t time_ns, SimEventFunc fn, void *ctx,
                                  uint64_t payload) {
    assert(time_ns >= k->now_ns && "event scheduled in the past");
    assert(fn != NULL);
    assert(k->next_seq < SIM_KERNEL_MAX_SEQ && "sequence numbers exhausted");
    uint64_t s = sim_kernel_slot_take(k);
    SimEventId id = (k->next_seq++ << SIM_KERNEL_SLOT_BITS) | s;
    SimKernelSlot *slot = &k->slots[s];
    slot->fn = fn;
    slot->ctx = ctx;
    slot->payload = payload;
    slot->id = id;
    sim_event_queue_push(&k->queue, sim_event_key(time_ns, id));
    return id;
}

SimEventId sim_kernel_schedule_in(SimKernel *k, uint64_t delay_ns, SimEventFunc fn, void *ctx,
                                  uint64_t payload) {
    uint64_t t = k->now_ns + delay_ns;
    if (t < k->now_ns)
        t = UINT64_MAX;
    return sim_kernel_schedule_at(k, t, fn, ctx, payload);
}

static inline bool sim_kernel_key_live(const SimKernel *k, SimEventKey key) {
    uint64_t id = sim_event_key_low(key);
    return k->slots[id & SIM_KERNEL_SLOT_MASK].id == id;
}

/* Pops stale keys off the top until the top is live (or the heap empty). */
static void sim_kernel_purge_top(SimKernel *k) {
    while (k->stale > 0 && k->queue.len > 0 &&
           !sim_kernel_key_live(k, sim_event_queue_peek(&k->queue))) {
        (void)sim_event_queue_pop(&k->queue);
        k->stale--;
    }
}

/* Rebuilds the heap without its stale keys. The order of live events is unchanged: it is
 * a function of their keys only. */
static void sim_kernel_compact(SimKernel *k) {
    SimEventQueue fresh;
    sim_event_queue_init(&fresh);
    for (size_t i = 0; i < k->queue.len; i++)
        if (sim_kernel_key_live(k, k->queue.keys[i]))
            sim_event_queue_push(&fresh, k->queue.keys[i]);
    assert(fresh.len + k->stale == k->queue.len);
    sim_event_queue_deinit(&k->queue);
    k->queue = fresh;
    k->stale = 0;
}

bool sim_kernel_cancel(SimKernel *k, SimEventId id) {
    assert(k != NULL);
    uint64_t s = id & SIM_KERNEL_SLOT_MASK;
    if (id == 0 || s >= k->slots_len || k->slots[s].id != id)
        return false; /* never issued, already ran, or already cancelled */
    sim_kernel_slot_release(k, s);
    k->stale++;
    if (k->stale > SIM_KERNEL_COMPACT_MIN_STALE && k->stale > k->queue.len / 2)
        sim_kernel_compact(k);
    else
        sim_kernel_purge_top(k);
    return true;
}

/* Pops the (live) top event, advances time, folds it into the trace hash and runs it. */
static inline void sim_kernel_dispatch_top(SimKernel *k) {
    SimEventKey key = sim_event_queue_pop(&k->queue);
    uint64_t id = sim_event_key_low(key);
    uint64_t s = id & SIM_KERNEL_SLOT_MASK;
    SimKernelSlot *slot = &k->slots[s];
    assert(slot->id == id && "stale key at the top of the heap");
    SimEventFunc fn = slot->fn;
    void *ctx = slot->ctx;
    uint64_t payload = slot->payload;
    sim_kernel_slot_release(k, s);
    k->now_ns = sim_event_key_time_ns(key);
    k->dispatched++;
    k->trace_hash = sim_kernel_trace_step(k->trace_hash, k->now_ns, id >> SIM_KERNEL_SLOT_BITS);
    if (__builtin_expect(k->stale > 0, 0))
        sim_kernel_purge_top(k);
    if (k->queue.len > 0) /* the next event's slot is most likely needed next */
        __builtin_prefetch(&k->slots[sim_event_key_low(k->queue.keys[0]) & SIM_KERNEL_SLOT_MASK]);
    fn(k, ctx, payload);
}

bool sim_kernel_step(SimKernel *k) {
    assert(!k->running && "sim_kernel_step from inside an event");
    if (k->queue.len == 0)
        return false;
    k->running = true;
    sim_kernel_dispatch_top(k);
    k->running = false;
    return true;
}

uint64_t sim_kernel_run(SimKernel *k, uint64_t until_ns, uint64_t max_events) {
    assert(!k->running && "sim_kernel_run from inside an event");
    k->running = true;
    k->stop = false;
    uint64_t n = 0;
    /* Bounded by max_events. */
    while (n < max_events && k->queue.len > 0 && !k->stop &&
           sim_event_key_time_ns(k->queue.keys[0]) <= until_ns) {
        sim_kernel_dispatch_top(k);
        n++;
    }
    k->running = false;
    k->stop = false;
    return n;
}

void sim_kernel_stop(SimKernel *k) {
    k->stop = true;
}

uint64_t sim_kernel_next_time_ns(const SimKernel *k) {
    if (k->queue.len == 0)
        return UINT64_MAX;
    return sim_event_key_time_ns(k->queue.keys[0]);
}

size_t sim_kernel_pending(const SimKernel *k) {
    assert(k->queue.len >= k->stale);
    return k->queue.len - k->stale;
}

uint64_t sim_kernel_dispatched(const SimKernel *k) {
    return k->dispatched;
}

void sim_kernel_trace_mix(SimKernel *k, uint64_t tag, uint64_t value) {
    k->trace_hash = sim_kernel_trace_step(k->trace_hash, tag ^ UINT64_C(0xd6e8feb86659fd93), value);
}

uint64_t sim_kernel_trace_hash(const SimKernel *k) {
    return k->trace_hash;
}
