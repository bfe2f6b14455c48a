/* sim_event_queue.c - allocation of the kernel's 4-ary heap (push/pop are inline in
 * sim_event_queue.h). The array is 64-byte aligned and offset by three keys, so that each
 * group of four siblings (indexes 4i+1 .. 4i+4) fills exactly one cache line. */
#include "sim/core/sim_event_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SIM_EVENT_QUEUE_LINE_BYTES = 64,
    SIM_EVENT_QUEUE_OFFSET_KEYS = 3,   /* keys[1] starts a cache line */
    SIM_EVENT_QUEUE_INITIAL_CAP = 253, /* 256 keys in the allocation */
};

static_assert(sizeof(SimEventKey) == 16, "a key is 128 bits");

/* Allocates room for cap keys (plus the offset), 64-byte aligned and zeroed. */
static void *sim_event_queue_alloc(size_t cap) {
    size_t bytes = (cap + SIM_EVENT_QUEUE_OFFSET_KEYS) * sizeof(SimEventKey);
    void *raw = NULL;
    if (posix_memalign(&raw, SIM_EVENT_QUEUE_LINE_BYTES, bytes) != 0 || raw == NULL) {
        fprintf(stderr, "ckptsim: out of memory (event queue of %zu keys)\n", cap);
        abort();
    }
    memset(raw, 0, bytes);
    return raw;
}

void sim_event_queue_init(SimEventQueue *q) {
    assert(q != NULL);
    memset(q, 0, sizeof *q);
    q->cap = SIM_EVENT_QUEUE_INITIAL_CAP;
    q->raw = sim_event_queue_alloc(q->cap);
    q->keys = (SimEventKey *)q->raw + SIM_EVENT_QUEUE_OFFSET_KEYS;
}

void sim_event_queue_deinit(SimEventQueue *q) {
    assert(q != NULL);
    free(q->raw);
    memset(q, 0, sizeof *q);
}

void sim_event_queue_grow(SimEventQueue *q) {
    assert(q != NULL && q->raw != NULL);
    assert(q->len == q->cap);
    assert(q->cap < SIM_EVENT_QUEUE_MAX_LEN && "event queue limit reached");
    size_t cap = (q->cap + SIM_EVENT_QUEUE_OFFSET_KEYS) * 2 - SIM_EVENT_QUEUE_OFFSET_KEYS;
    if (cap > SIM_EVENT_QUEUE_MAX_LEN)
        cap = SIM_EVENT_QUEUE_MAX_LEN;
    void *raw = sim_event_queue_alloc(cap);
    SimEventKey *keys = (SimEventKey *)raw + SIM_EVENT_QUEUE_OFFSET_KEYS;
    memcpy(keys, q->keys, q->len * sizeof(SimEventKey));
    free(q->raw);
    q->raw = raw;
    q->keys = keys;
    q->cap = cap;
}
