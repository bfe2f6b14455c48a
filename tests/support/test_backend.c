/* test_backend.c - see test_backend.h. */
#include "tests/support/test_backend.h"

#include <check.h>
#include <string.h>

#include "runtime/state/rt_keyed_state.h"

#define SAMPLE_MAX_PARALLELISM 128u

void test_backend_on_snapshot(void *ud, RtStateHandle *handle, const GError *error) {
    TestBackendOutcome *o = ud;
    o->calls++;
    ck_assert((handle == NULL) != (error == NULL));
    o->handle = handle;
    o->error = error != NULL ? g_error_copy(error) : NULL;
}

void test_backend_on_restore(void *ud, RtSnapshot *snapshot, const GError *error) {
    TestBackendOutcome *o = ud;
    o->calls++;
    ck_assert((snapshot == NULL) != (error == NULL));
    o->snapshot = snapshot;
    o->error = error != NULL ? g_error_copy(error) : NULL;
}

void test_backend_outcome_clear(TestBackendOutcome *o) {
    rt_state_handle_free(o->handle);
    rt_snapshot_free(o->snapshot);
    g_clear_error(&o->error);
    memset(o, 0, sizeof(*o));
}

RtSnapshot *test_backend_sample(uint64_t checkpoint_id, uint64_t keys) {
    RtKeyedStateStore *st = rt_keyed_state_store_new(
        SAMPLE_MAX_PARALLELISM, (RtKeyGroupRange){0, SAMPLE_MAX_PARALLELISM});
    RtValueState *v = rt_keyed_state_get_value_state(st, "count");
    for (uint64_t k = 0; k < keys; k++) {
        rt_keyed_state_set_current_key(st, k);
        rt_value_state_update(v, k * checkpoint_id);
    }
    RtSnapshot *snap = rt_snapshot_new();
    snap->checkpoint_id = checkpoint_id;
    snap->op = 1;
    snap->parallelism = 1;
    rt_keyed_state_store_snapshot(st, snap);
    rt_snapshot_set_operator_state(snap, "offset", "12345678", 8);
    rt_keyed_state_store_free(st);
    return snap;
}

void test_backend_assert_same(const RtSnapshot *a, const RtSnapshot *b) {
    GBytes *x = rt_snapshot_encode(a), *y = rt_snapshot_encode(b);
    ck_assert(g_bytes_equal(x, y));
    g_bytes_unref(x);
    g_bytes_unref(y);
}
