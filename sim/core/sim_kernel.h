/* sim_kernel.h - the deterministic discrete-event kernel.
 *
 * Virtual time in uint64_t nanoseconds. Events are ordered by (time, sequence
 * number): the sequence number is assigned at scheduling time, so ties are broken in
 * scheduling order, deterministically. A rolling trace hash covers every dispatched
 * event (its time and sequence number) plus whatever facts the world folds in with
 * sim_kernel_trace_mix(); same scenario + same seed => same hash on any machine.
 * No function pointers or addresses ever enter the hash.
 *
 * Lifecycle: sim_kernel_new() -> schedule/run/cancel ... -> sim_kernel_free(). The
 * kernel owns no user data: ctx pointers are borrowed. Steady state allocates
 * nothing per event (the queue grows geometrically and is reused).
 */
#ifndef SIM_KERNEL_H
#define SIM_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct SimKernel SimKernel;
typedef uint64_t SimEventId; /* 0 is never a valid id */
typedef void (*SimEventFunc)(SimKernel *k, void *ctx, uint64_t payload);

/* A new kernel at time 0 with an empty queue. Aborts on out-of-memory. */
SimKernel *sim_kernel_new(void);
/* Frees the kernel; pending events are dropped without being run. */
void sim_kernel_free(SimKernel *k);

uint64_t sim_kernel_now_ns(const SimKernel *k);

/* Schedules fn(k, ctx, payload) at absolute time_ns >= now. Returns its id. */
SimEventId sim_kernel_schedule_at(SimKernel *k, uint64_t time_ns, SimEventFunc fn, void *ctx,
                                  uint64_t payload);
/* Same, delay_ns from now (saturating). */
SimEventId sim_kernel_schedule_in(SimKernel *k, uint64_t delay_ns, SimEventFunc fn, void *ctx,
                                  uint64_t payload);
/* Cancels a pending event. Returns false if it already ran or was cancelled. O(log n)
 * or amortised O(1); a cancelled event never runs and never enters the trace hash. */
bool sim_kernel_cancel(SimKernel *k, SimEventId id);

/* Dispatches the next event. Returns false when the queue is empty. */
bool sim_kernel_step(SimKernel *k);
/* Dispatches events while the next one is at time <= until_ns, at most max_events
 * of them, and until sim_kernel_stop() is called from inside an event. Time advances to
 * the last dispatched event (not to until_ns). Returns the number dispatched. */
uint64_t sim_kernel_run(SimKernel *k, uint64_t until_ns, uint64_t max_events);
/* Makes the current sim_kernel_run() return after the running event. */
void sim_kernel_stop(SimKernel *k);

/* Time of the next pending event, or UINT64_MAX when none. */
uint64_t sim_kernel_next_time_ns(const SimKernel *k);
size_t sim_kernel_pending(const SimKernel *k);
uint64_t sim_kernel_dispatched(const SimKernel *k);

/* Folds a fact (tag identifies its kind, value its content) into the trace hash. */
void sim_kernel_trace_mix(SimKernel *k, uint64_t tag, uint64_t value);
uint64_t sim_kernel_trace_hash(const SimKernel *k);

#endif /* SIM_KERNEL_H */
