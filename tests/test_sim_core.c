/* test_sim_core.c - unit tests of the simulation kernel (sim/core/sim_kernel.h), its
 * event queue (sim/core/sim_event_queue.h) and the PRNG streams (runtime/env/rt_rng.h):
 * ordering by (time, seq), cancellation, run budgets, stop, the trace hash, and a
 * randomized differential test of the heap against a sorted reference. */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_rng.h"
#include "sim/core/sim_event_queue.h"
#include "sim/core/sim_kernel.h"
#include "tests/support/test_check.h"

/* ---- a recorder: each event appends its payload and the time it ran at ---- */

#define REC_MAX 4096

typedef struct Rec {
    uint64_t payload[REC_MAX];
    uint64_t time_ns[REC_MAX];
    size_t n;
    SimEventId self_id;  /* for the self-cancel test */
    bool self_cancel_ok; /* result of cancelling the running event */
    uint64_t stop_at;    /* payload that calls sim_kernel_stop */
} Rec;

static void rec_event(SimKernel *k, void *ctx, uint64_t payload) {
    Rec *r = ctx;
    ck_assert_uint_lt(r->n, REC_MAX);
    r->payload[r->n] = payload;
    r->time_ns[r->n] = sim_kernel_now_ns(k);
    r->n++;
    if (payload == r->stop_at)
        sim_kernel_stop(k);
}

static void self_cancel_event(SimKernel *k, void *ctx, uint64_t payload) {
    Rec *r = ctx;
    r->self_cancel_ok = sim_kernel_cancel(k, r->self_id);
    rec_event(k, ctx, payload);
}

/* Schedules a follow-up at the current time: it must run after everything already
 * scheduled for this time. */
static void chain_event(SimKernel *k, void *ctx, uint64_t payload) {
    rec_event(k, ctx, payload);
    if (payload < 3)
        sim_kernel_schedule_in(k, 0, chain_event, ctx, payload + 100);
}

static Rec *rec_new(void) {
    Rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    r->stop_at = UINT64_MAX;
    return r;
}

START_TEST(test_order_time_then_seq) {
    SimKernel *k = sim_kernel_new();
    Rec *r = rec_new();
    ck_assert_uint_eq(sim_kernel_next_time_ns(k), UINT64_MAX);
    sim_kernel_schedule_at(k, 30, rec_event, r, 3);
    sim_kernel_schedule_at(k, 10, rec_event, r, 1);
    sim_kernel_schedule_at(k, 20, rec_event, r, 2);
    sim_kernel_schedule_at(k, 10, rec_event, r, 11); /* tie: after payload 1 */
    sim_kernel_schedule_at(k, 0, rec_event, r, 0);
    ck_assert_uint_eq(sim_kernel_pending(k), 5);
    ck_assert_uint_eq(sim_kernel_next_time_ns(k), 0);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 100), 5);
    const uint64_t want[] = {0, 1, 11, 2, 3};
    const uint64_t want_t[] = {0, 10, 10, 20, 30};
    ck_assert_uint_eq(r->n, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(r->payload[i], want[i]);
        ck_assert_uint_eq(r->time_ns[i], want_t[i]);
    }
    ck_assert_uint_eq(sim_kernel_now_ns(k), 30);
    ck_assert_uint_eq(sim_kernel_dispatched(k), 5);
    ck_assert(!sim_kernel_step(k));
    sim_kernel_free(k);
    free(r);
}
END_TEST

START_TEST(test_ties_in_scheduling_order) {
    SimKernel *k = sim_kernel_new();
    Rec *r = rec_new();
    for (uint64_t i = 0; i < 1000; i++)
        sim_kernel_schedule_at(k, 5, rec_event, r, i);
    /* Events scheduled at the current time from inside an event run after the rest. */
    sim_kernel_schedule_at(k, 7, chain_event, r, 1);
    sim_kernel_schedule_at(k, 7, chain_event, r, 2);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 10000), 1004);
    for (uint64_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(r->payload[i], i);
    ck_assert_uint_eq(r->payload[1000], 1);
    ck_assert_uint_eq(r->payload[1001], 2);
    ck_assert_uint_eq(r->payload[1002], 101);
    ck_assert_uint_eq(r->payload[1003], 102);
    ck_assert_uint_eq(r->time_ns[1003], 7);
    sim_kernel_free(k);
    free(r);
}
END_TEST

START_TEST(test_cancel) {
    SimKernel *k = sim_kernel_new();
    Rec *r = rec_new();
    SimEventId a = sim_kernel_schedule_at(k, 10, rec_event, r, 1);
    SimEventId b = sim_kernel_schedule_at(k, 20, rec_event, r, 2);
    SimEventId c = sim_kernel_schedule_at(k, 30, rec_event, r, 3);
    ck_assert_uint_ne(a, 0);
    ck_assert_uint_ne(a, b);
    ck_assert(!sim_kernel_cancel(k, 0));
    ck_assert(!sim_kernel_cancel(k, c + 12345)); /* never issued */
    ck_assert(sim_kernel_cancel(k, a));          /* the top: next time moves on */
    ck_assert_uint_eq(sim_kernel_next_time_ns(k), 20);
    ck_assert(!sim_kernel_cancel(k, a)); /* already cancelled */
    ck_assert_uint_eq(sim_kernel_pending(k), 2);
    ck_assert(sim_kernel_step(k));
    ck_assert(!sim_kernel_cancel(k, b)); /* already ran */
    /* A new event may reuse a cancelled event's storage: the old id stays dead. */
    SimEventId d = sim_kernel_schedule_at(k, 25, rec_event, r, 4);
    ck_assert(!sim_kernel_cancel(k, a));
    ck_assert(sim_kernel_cancel(k, c));
    ck_assert_uint_eq(sim_kernel_pending(k), 1);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 100), 1);
    ck_assert(!sim_kernel_cancel(k, d));
    ck_assert_uint_eq(r->n, 2);
    ck_assert_uint_eq(r->payload[0], 2);
    ck_assert_uint_eq(r->payload[1], 4);
    ck_assert_uint_eq(sim_kernel_pending(k), 0);
    ck_assert_uint_eq(sim_kernel_next_time_ns(k), UINT64_MAX);
    /* Cancelling the running event from inside it: false, it is not pending any more. */
    r->self_cancel_ok = true;
    r->self_id = sim_kernel_schedule_at(k, 40, self_cancel_event, r, 5);
    ck_assert(sim_kernel_step(k));
    ck_assert(!r->self_cancel_ok);
    ck_assert_uint_eq(r->n, 3);
    sim_kernel_free(k);
    free(r);
}
END_TEST

START_TEST(test_cancel_many_compacts) {
    /* Far more cancellations than live events: the stale keys are dropped, order holds. */
    SimKernel *k = sim_kernel_new();
    Rec *r = rec_new();
    enum { N = 20000 };
    static SimEventId ids[N];
    for (uint64_t i = 0; i < N; i++)
        ids[i] = sim_kernel_schedule_at(k, 1000 + (i * 7919) % N, rec_event, r, i);
    for (uint64_t i = 0; i < N; i++)
        if (i % 10 != 0)
            ck_assert(sim_kernel_cancel(k, ids[i]));
    ck_assert_uint_eq(sim_kernel_pending(k), N / 10);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, N), N / 10);
    ck_assert_uint_eq(r->n, N / 10);
    for (size_t i = 1; i < r->n; i++)
        ck_assert_uint_lt(r->time_ns[i - 1], r->time_ns[i]);
    for (size_t i = 0; i < r->n; i++)
        ck_assert_uint_eq(r->payload[i] % 10, 0);
    sim_kernel_free(k);
    free(r);
}
END_TEST

START_TEST(test_run_budget_until_stop) {
    SimKernel *k = sim_kernel_new();
    Rec *r = rec_new();
    for (uint64_t i = 1; i <= 10; i++)
        sim_kernel_schedule_at(k, i * 100, rec_event, r, i);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 3), 3); /* budget */
    ck_assert_uint_eq(sim_kernel_now_ns(k), 300);
    ck_assert_uint_eq(sim_kernel_run(k, 550, 100), 2); /* until: 400, 500 */
    ck_assert_uint_eq(sim_kernel_now_ns(k), 500);      /* not advanced to 550 */
    ck_assert_uint_eq(sim_kernel_run(k, 600, 100), 1); /* until is inclusive */
    ck_assert_uint_eq(sim_kernel_run(k, 600, 100), 0);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 0), 0);
    r->stop_at = 8;
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 100), 2); /* 7, 8 then stop */
    ck_assert_uint_eq(r->payload[r->n - 1], 8);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 100), 2); /* stop does not persist */
    ck_assert_uint_eq(r->n, 10);
    ck_assert_uint_eq(sim_kernel_dispatched(k), 10);
    sim_kernel_free(k);
    free(r);
}
END_TEST

START_TEST(test_schedule_in_saturates) {
    SimKernel *k = sim_kernel_new();
    Rec *r = rec_new();
    sim_kernel_schedule_at(k, 1000, rec_event, r, 1);
    ck_assert(sim_kernel_step(k));
    sim_kernel_schedule_in(k, UINT64_MAX, rec_event, r, 2);
    sim_kernel_schedule_in(k, 5, rec_event, r, 3);
    ck_assert_uint_eq(sim_kernel_next_time_ns(k), 1005);
    ck_assert_uint_eq(sim_kernel_run(k, UINT64_MAX, 10), 2);
    ck_assert_uint_eq(r->time_ns[2], UINT64_MAX);
    sim_kernel_free(k);
    free(r);
}
END_TEST

/* Reachable from a static so that the aborted process leaks nothing under valgrind. */
static SimKernel *volatile past_kernel;
static Rec past_rec;

START_TEST(test_schedule_in_past_asserts) {
    past_kernel = sim_kernel_new();
    SimKernel *k = past_kernel;
    Rec *r = &past_rec;
    sim_kernel_schedule_at(k, 1000, rec_event, r, 1);
    ck_assert(sim_kernel_step(k));
    sim_kernel_schedule_at(k, 999, rec_event, r, 2); /* aborts */
}
END_TEST

/* ---- trace hash ---- */

static uint64_t trace_of(const uint64_t *times, size_t n, uint64_t mix_tag) {
    SimKernel *k = sim_kernel_new();
    Rec *r = rec_new();
    for (size_t i = 0; i < n; i++)
        sim_kernel_schedule_at(k, times[i], rec_event, r, i);
    if (mix_tag != 0)
        sim_kernel_trace_mix(k, mix_tag, 42);
    sim_kernel_run(k, UINT64_MAX, 1000);
    uint64_t h = sim_kernel_trace_hash(k);
    sim_kernel_free(k);
    free(r);
    return h;
}

START_TEST(test_trace_hash) {
    const uint64_t a[] = {5, 1, 9, 9, 3};
    const uint64_t b[] = {5, 1, 9, 9, 4}; /* one time differs */
    const uint64_t c[] = {1, 5, 9, 9, 3}; /* same times, another scheduling order */
    uint64_t ha = trace_of(a, 5, 0);
    ck_assert_uint_eq(ha, trace_of(a, 5, 0));
    ck_assert_uint_ne(ha, trace_of(b, 5, 0));
    ck_assert_uint_ne(ha, trace_of(c, 5, 0));
    ck_assert_uint_ne(ha, trace_of(a, 4, 0));
    ck_assert_uint_ne(ha, trace_of(a, 5, 7));
    ck_assert_uint_ne(trace_of(a, 5, 7), trace_of(a, 5, 8));
    /* The hash does not depend on ctx pointers. */
    SimKernel *k1 = sim_kernel_new(), *k2 = sim_kernel_new();
    Rec *r1 = rec_new(), *r2 = rec_new();
    for (uint64_t i = 0; i < 5; i++) {
        sim_kernel_schedule_at(k1, a[i], rec_event, r1, i);
        sim_kernel_schedule_at(k2, a[i], rec_event, r2, i);
    }
    sim_kernel_run(k1, UINT64_MAX, 100);
    sim_kernel_run(k2, UINT64_MAX, 100);
    ck_assert_uint_eq(sim_kernel_trace_hash(k1), sim_kernel_trace_hash(k2));
    ck_assert_uint_eq(sim_kernel_trace_hash(k1), ha);
    sim_kernel_free(k1);
    sim_kernel_free(k2);
    free(r1);
    free(r2);
}
END_TEST

/* ---- PRNG streams ---- */

START_TEST(test_rng_streams) {
    RtRng a, b, c;
    rt_rng_seed_stream(&a, 7, "network");
    rt_rng_seed_stream(&b, 7, "network");
    rt_rng_seed_stream(&c, 7, "disk");
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rt_rng_next(&a);
        ck_assert_uint_eq(x, rt_rng_next(&b));
        same_c += x == rt_rng_next(&c);
    }
    ck_assert_int_lt(same_c, 2);
    RtRng d, e;
    rt_rng_seed_stream(&d, 8, "network");
    rt_rng_seed_stream(&e, 7, "network");
    ck_assert_uint_ne(rt_rng_next(&d), rt_rng_next(&e));
}
END_TEST

START_TEST(test_rng_streams_independent) {
    /* Draws of "disk" do not shift the draws of "network". */
    RtRng n1, n2, disk;
    rt_rng_seed_stream(&n1, 99, "network");
    rt_rng_seed_stream(&n2, 99, "network");
    rt_rng_seed_stream(&disk, 99, "disk");
    uint64_t ref[64];
    for (int i = 0; i < 64; i++)
        ref[i] = rt_rng_next(&n1);
    for (int i = 0; i < 64; i++) {
        for (int j = 0; j < i % 5; j++)
            (void)rt_rng_below(&disk, 1000);
        ck_assert_uint_eq(rt_rng_next(&n2), ref[i]);
    }
}
END_TEST

START_TEST(test_rng_below_range) {
    RtRng r;
    rt_rng_seed(&r, 1);
    const uint64_t ns[] = {1, 2, 3, 7, 10, 1000, UINT64_C(1) << 33, UINT64_MAX};
    for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
        for (int i = 0; i < 2000; i++)
            ck_assert_uint_lt(rt_rng_below(&r, ns[j]), ns[j]);
    /* Every value of a small range shows up, roughly uniformly. */
    uint64_t hits[10] = {0};
    for (int i = 0; i < 100000; i++)
        hits[rt_rng_below(&r, 10)]++;
    for (int v = 0; v < 10; v++) {
        ck_assert_uint_gt(hits[v], 9000);
        ck_assert_uint_lt(hits[v], 11000);
    }
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rt_rng_range(&r, 5, 9);
        ck_assert(x >= 5 && x <= 9);
    }
}
END_TEST

/* ---- randomized differential tests against a sorted reference ---- */

static int key_cmp(const void *pa, const void *pb) {
    SimEventKey a = *(const SimEventKey *)pa, b = *(const SimEventKey *)pb;
    return a < b ? -1 : a > b;
}

START_TEST(test_queue_differential) {
    /* A plain array kept unsorted; its minimum is found by sorting before each pop. */
    enum { OPS = 30000, MAXN = 5000 };
    SimEventKey *ref = calloc(MAXN, sizeof *ref);
    ck_assert_ptr_nonnull(ref);
    size_t nref = 0;
    uint64_t seq = 1;
    SimEventQueue q;
    sim_event_queue_init(&q);
    RtRng rng;
    rt_rng_seed_stream(&rng, (uint64_t)_i, "queue-differential");
    for (int op = 0; op < OPS; op++) {
        bool push = nref == 0 || (nref < MAXN && rt_rng_below(&rng, 100) < 55);
        if (push) {
            /* Few distinct times: many ties, broken by the unique low half. */
            uint64_t t = rt_rng_below(&rng, 50);
            SimEventKey key = sim_event_key(t, seq++);
            ref[nref++] = key;
            sim_event_queue_push(&q, key);
        } else {
            qsort(ref, nref, sizeof *ref, key_cmp);
            SimEventKey want = ref[0];
            memmove(ref, ref + 1, (nref - 1) * sizeof *ref);
            nref--;
            ck_assert(sim_event_queue_pop(&q) == want);
        }
        ck_assert_uint_eq(q.len, nref);
    }
    sim_event_queue_deinit(&q);
    free(ref);
}
END_TEST

typedef struct RefEvent {
    uint64_t time_ns;
    uint64_t order; /* scheduling order */
    SimEventId id;
    bool live;
} RefEvent;

typedef struct Diff {
    RefEvent *ev; /* every event ever scheduled, by scheduling order */
    size_t n, cap;
    uint64_t last_payload; /* payload of the last dispatched event */
    size_t ran;
} Diff;

static void diff_event(SimKernel *k, void *ctx, uint64_t payload) {
    Diff *d = ctx;
    d->last_payload = payload;
    d->ran++;
}

/* The live reference event with the smallest (time, order), or SIZE_MAX. */
static size_t diff_min(const Diff *d) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < d->n; i++) {
        if (!d->ev[i].live)
            continue;
        if (best == SIZE_MAX || d->ev[i].time_ns < d->ev[best].time_ns)
            best = i;
    }
    return best;
}

START_TEST(test_kernel_differential) {
    enum { OPS = 6000 };
    Diff d = {.cap = OPS};
    d.ev = calloc(d.cap, sizeof *d.ev);
    ck_assert_ptr_nonnull(d.ev);
    SimKernel *k = sim_kernel_new();
    RtRng rng;
    rt_rng_seed_stream(&rng, (uint64_t)_i, "kernel-differential");
    size_t live = 0;
    for (int op = 0; op < OPS; op++) {
        uint64_t dice = rt_rng_below(&rng, 100);
        if (dice < 50 || live == 0) {
            uint64_t t = sim_kernel_now_ns(k) + rt_rng_below(&rng, 20);
            RefEvent *e = &d.ev[d.n];
            e->time_ns = t;
            e->order = d.n;
            e->live = true;
            e->id = sim_kernel_schedule_at(k, t, diff_event, &d, d.n);
            d.n++;
            live++;
        } else if (dice < 70) {
            /* Cancel a random event: true exactly when the reference has it live. */
            size_t i = rt_rng_below(&rng, d.n);
            ck_assert(sim_kernel_cancel(k, d.ev[i].id) == d.ev[i].live);
            live -= d.ev[i].live;
            d.ev[i].live = false;
        } else {
            size_t want = diff_min(&d);
            ck_assert_uint_eq(sim_kernel_next_time_ns(k), d.ev[want].time_ns);
            ck_assert(sim_kernel_step(k));
            ck_assert_uint_eq(d.last_payload, want);
            ck_assert_uint_eq(sim_kernel_now_ns(k), d.ev[want].time_ns);
            d.ev[want].live = false;
            live--;
        }
        ck_assert_uint_eq(sim_kernel_pending(k), live);
    }
    sim_kernel_free(k);
    free(d.ev);
}
END_TEST

static Suite *sim_core_suite(void) {
    Suite *s = suite_create("sim_core");
    TCase *tc = tcase_create("kernel");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_order_time_then_seq);
    tcase_add_test(tc, test_ties_in_scheduling_order);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_cancel_many_compacts);
    tcase_add_test(tc, test_run_budget_until_stop);
    tcase_add_test(tc, test_schedule_in_saturates);
    tcase_add_test_raise_signal(tc, test_schedule_in_past_asserts, SIGABRT);
    tcase_add_test(tc, test_trace_hash);
    suite_add_tcase(s, tc);
    TCase *rng = tcase_create("rng");
    tcase_add_test(rng, test_rng_streams);
    tcase_add_test(rng, test_rng_streams_independent);
    tcase_add_test(rng, test_rng_below_range);
    suite_add_tcase(s, rng);
    TCase *diff = tcase_create("differential");
    tcase_set_timeout(diff, 120);
    tcase_add_loop_test(diff, test_queue_differential, 0, 4);
    tcase_add_loop_test(diff, test_kernel_differential, 0, 4);
    suite_add_tcase(s, diff);
    return s;
}

int main(void) {
    return test_check_run(sim_core_suite());
}
