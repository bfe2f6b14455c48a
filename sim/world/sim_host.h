/* sim_host.h - how the world's parts (network, storage) tell their host which
 * process's code is about to run.
 *
 * The network and the storage call into runtime code (message handlers, storage
 * completions). The world needs to know, at every moment, whose code is on the stack:
 * a crash requested from inside a callback of the crashing process must be deferred
 * until that callback returns (freeing an instance under its own feet would be a
 * use-after-free). So every callback into process code is bracketed by enter/leave.
 * A NULL SimHost (or NULL functions) means nobody is interested.
 */
#ifndef SIM_HOST_H
#define SIM_HOST_H

#include "runtime/env/rt_env.h"

typedef struct SimHost {
    /* Called right before code of process pid runs (a callback). */
    void (*enter)(void *ud, RtProcessId pid);
    /* Called right after that callback returned. Calls nest like brackets. */
    void (*leave)(void *ud, RtProcessId pid);
    /* When process pid is paused (a GC pause, a frozen VM: sim_world_pause), the time it
     * resumes; 0 when it runs. A part about to call into pid's code while it is paused
     * re-schedules that event for the resume time instead (in the order the events came
     * due, so FIFO streams stay FIFO). May be NULL: nothing is ever paused. */
    uint64_t (*held_until)(void *ud, RtProcessId pid);
    void *ud;
} SimHost;

static inline void sim_host_enter(const SimHost *h, RtProcessId pid) {
    if (h != NULL && h->enter != NULL)
        h->enter(h->ud, pid);
}

/* 0, or the time process pid resumes from a pause (see SimHost.held_until). */
static inline uint64_t sim_host_held_until(const SimHost *h, RtProcessId pid) {
    return h != NULL && h->held_until != NULL ? h->held_until(h->ud, pid) : 0;
}

static inline void sim_host_leave(const SimHost *h, RtProcessId pid) {
    if (h != NULL && h->leave != NULL)
        h->leave(h->ud, pid);
}

/* Trace-hash tags of the world's facts (sim_kernel_trace_mix). Stable values: changing
 * one changes every trace hash. */
enum {
    SIM_TRACE_NET_ACCEPT = 0x6e657401,
    SIM_TRACE_NET_DELIVER = 0x6e657402,
    SIM_TRACE_NET_BROKEN = 0x6e657403,
    SIM_TRACE_NET_DROP = 0x6e657404,
    SIM_TRACE_STORAGE_DONE = 0x73746f01,
    SIM_TRACE_STORAGE_CRASH = 0x73746f02,
    SIM_TRACE_TIMER = 0x74696d01,
    SIM_TRACE_CRASH = 0x776f7201,
    SIM_TRACE_RESTART = 0x776f7202,
    SIM_TRACE_OBSERVE = 0x776f7203,
    SIM_TRACE_FAULT = 0x776f7204,
    SIM_TRACE_PAUSE = 0x776f7205,
    SIM_TRACE_RESUME = 0x776f7206,
};

/* A deterministic 64-bit hash of bytes (little-endian words through rt_mix64): the
 * same on every platform and compiler. Used to fold message and file content into
 * the trace hash. */
uint64_t sim_hash_bytes(const void *data, size_t len);

#endif /* SIM_HOST_H */
