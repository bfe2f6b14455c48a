/* rt_lifeline.h - a tiny reference-counted "is my owner still alive?" token.
 *
 * Asynchronous world operations (storage, timers of other modules) call back later,
 * possibly after the object that started them was freed (an orderly stop of a job
 * manager while a metadata write is in flight). The owner holds a lifeline; every
 * operation in flight holds a reference to it in its own small context. When the owner
 * is freed it kills the lifeline; a late callback sees alive == false, frees its
 * context and touches nothing else. Single-threaded (the env's loop), so no atomics.
 */
#ifndef RT_LIFELINE_H
#define RT_LIFELINE_H

#include <assert.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct RtLifeline {
    uint32_t refs; /* owner's reference + one per operation in flight */
    bool alive;    /* false once the owner is gone */
} RtLifeline;

/* A new live lifeline holding the owner's reference. */
static inline RtLifeline *rt_lifeline_new(void) {
    RtLifeline *l = g_new0(RtLifeline, 1);
    l->refs = 1;
    l->alive = true;
    return l;
}

/* Takes a reference for an operation in flight; returns l. */
static inline RtLifeline *rt_lifeline_ref(RtLifeline *l) {
    assert(l != NULL && l->refs > 0 && l->refs < UINT32_MAX);
    l->refs++;
    return l;
}

/* Drops a reference; frees l with the last one. */
static inline void rt_lifeline_unref(RtLifeline *l) {
    assert(l != NULL && l->refs > 0);
    if (--l->refs == 0)
        g_free(l);
}

/* The owner is going away: marks l dead and drops the owner's reference. */
static inline void rt_lifeline_kill(RtLifeline *l) {
    if (l == NULL)
        return;
    assert(l->alive);
    l->alive = false;
    rt_lifeline_unref(l);
}

#endif /* RT_LIFELINE_H */
