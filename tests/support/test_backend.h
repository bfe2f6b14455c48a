/* test_backend.h - what the state backend tests (contract, zookeeper, simulated world,
 * real ZooKeeper) share: an outcome that records an asynchronous snapshot's or restore's
 * single callback, and a sample snapshot of a keyed counter. */
#ifndef TEST_BACKEND_H
#define TEST_BACKEND_H

#include <stdint.h>

#include "runtime/state/rt_state_backend.h"

/* The result of one asynchronous snapshot or restore. Start it zeroed ({0}). */
typedef struct TestBackendOutcome {
    int calls;              /* times the callback ran: the contract says exactly once */
    RtStateHandle *handle;  /* snapshot: the handle (owned), NULL on error */
    RtSnapshot *snapshot;   /* restore: the snapshot (owned), NULL on error */
    GError *error;          /* a copy of the callback's error (owned), or NULL */
} TestBackendOutcome;

/* RtSnapshotDoneFunc and RtRestoreDoneFunc for user_data = a TestBackendOutcome: count
 * the call, take the result, copy the error, and assert that exactly one of result and
 * error is set. */
void test_backend_on_snapshot(void *ud, RtStateHandle *handle, const GError *error);
void test_backend_on_restore(void *ud, RtSnapshot *snapshot, const GError *error);

/* Frees what o holds and zeroes it for the next operation. */
void test_backend_outcome_clear(TestBackendOutcome *o);

/* A new snapshot (caller frees) of operator 1 at parallelism 1 over all 128 key groups:
 * value state "count" = k * checkpoint_id for each key k < keys, and operator state
 * "offset" = "12345678". */
RtSnapshot *test_backend_sample(uint64_t checkpoint_id, uint64_t keys);

/* Fails the running Check test unless a and b encode to the same bytes (a restore is
 * bit-identical to what was snapshotted). */
void test_backend_assert_same(const RtSnapshot *a, const RtSnapshot *b);

#endif /* TEST_BACKEND_H */
