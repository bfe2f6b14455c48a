/* test_barrier.c - the barrier handlers as pure state machines (Flink semantics,
 * flink-zk.md section 1): aligned exactly-once (blocks per channel, triggers on the
 * last barrier then resumes, a newer barrier aborts, stale barriers only resume, cancel
 * markers abort, the planted first-barrier bug) and the at-least-once tracker. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/rt_barrier_handler.h"
#include "tests/support/test_check.h"

/* A log of callbacks: "T3" trigger 3, "A3:s" abort 3 (reason initial), "R1" resume
 * channel 1, "S3"/"E3" align start/end. */
typedef struct Log {
    GString *s;
} Log;

static void t_trigger(void *ud, uint64_t id, uint64_t ts, RtBarrierKind kind) {
    (void)ts;
    (void)kind;
    g_string_append_printf(((Log *)ud)->s, "T%llu ", (unsigned long long)id);
}

static void t_abort(void *ud, uint64_t id, RtDeclineReason reason) {
    g_string_append_printf(((Log *)ud)->s, "A%llu:%c ", (unsigned long long)id,
                           rt_decline_reason_name(reason)[0]);
}

static void t_resume(void *ud, uint32_t ch) {
    g_string_append_printf(((Log *)ud)->s, "R%u ", ch);
}

static void t_start(void *ud, uint64_t id) {
    g_string_append_printf(((Log *)ud)->s, "S%llu ", (unsigned long long)id);
}

static void t_end(void *ud, uint64_t id, uint64_t d) {
    g_string_append_printf(((Log *)ud)->s, "E%llu/%llu ", (unsigned long long)id,
                           (unsigned long long)d);
}

static const RtBarrierCallbacks cbs = {t_trigger, t_abort, t_resume, t_start, t_end, NULL};

static RtBarrierHandler *make(RtBarrierMode mode, uint32_t n, Log *log, bool bug) {
    log->s = g_string_new(NULL);
    return rt_barrier_handler_new(mode, n, &cbs, log, bug);
}

static void expect(Log *log, const char *want) {
    ck_assert_str_eq(log->s->str, want);
    g_string_truncate(log->s, 0);
}

static void done(RtBarrierHandler *h, Log *log) {
    rt_barrier_handler_free(h);
    g_string_free(log->s, TRUE);
}

#define B(h, ch, id, t) rt_barrier_handler_on_barrier(h, ch, id, 1, RT_BARRIER_ALIGNED, t)

START_TEST(test_aligned_blocks_and_completes) {
    Log log;
    RtBarrierHandler *h = make(RT_BARRIER_MODE_ALIGNED, 3, &log, false);
    B(h, 1, 1, 10);
    expect(&log, "S1 ");
    ck_assert(rt_barrier_handler_pending(h));
    ck_assert(rt_barrier_handler_channel_blocked(h, 1));
    ck_assert(!rt_barrier_handler_channel_blocked(h, 0));
    B(h, 0, 1, 15);
    expect(&log, "");
    B(h, 2, 1, 30);
    /* Trigger after the last barrier, then resume every channel (Flink's order). */
    expect(&log, "E1/20 T1 R0 R1 R2 ");
    ck_assert(!rt_barrier_handler_pending(h));
    ck_assert_uint_eq(rt_barrier_handler_current_id(h), 1);
    done(h, &log);
}
END_TEST

START_TEST(test_aligned_single_channel) {
    Log log;
    RtBarrierHandler *h = make(RT_BARRIER_MODE_ALIGNED, 1, &log, false);
    B(h, 0, 5, 0);
    expect(&log, "S5 E5/0 T5 R0 ");
    done(h, &log);
}
END_TEST

START_TEST(test_aligned_newer_barrier_aborts) {
    Log log;
    RtBarrierHandler *h = make(RT_BARRIER_MODE_ALIGNED, 2, &log, false);
    B(h, 0, 1, 0);
    expect(&log, "S1 ");
    B(h, 0, 2, 5); /* cannot happen on FIFO from one producer, but from another: */
    expect(&log, "R0 A1:s S2 ");
    B(h, 1, 2, 6);
    expect(&log, "E2/1 T2 R0 R1 ");
    /* A stale barrier of 1 on channel 1 only resumes its channel. */
    B(h, 1, 1, 7);
    expect(&log, "R1 ");
    /* So does a duplicate of the completed id. */
    B(h, 0, 2, 8);
    expect(&log, "R0 ");
    done(h, &log);
}
END_TEST

START_TEST(test_aligned_cancel_marker) {
    Log log;
    RtBarrierHandler *h = make(RT_BARRIER_MODE_ALIGNED, 2, &log, false);
    B(h, 0, 3, 0);
    expect(&log, "S3 ");
    rt_barrier_handler_on_cancel_marker(h, 1, 3, 1);
    expect(&log, "R0 A3:c ");
    ck_assert(!rt_barrier_handler_pending(h));
    /* The late barrier of 3 on channel 1 is stale now. */
    B(h, 1, 3, 2);
    expect(&log, "R1 ");
    /* A cancel marker for a newer id, never seen: abort it too. */
    rt_barrier_handler_on_cancel_marker(h, 0, 4, 3);
    expect(&log, "A4:c ");
    /* An old cancel marker is ignored. */
    rt_barrier_handler_on_cancel_marker(h, 0, 2, 3);
    expect(&log, "");
    /* A JM abort of the pending id changes nothing: Flink's
     * SingleCheckpointBarrierHandler has no such path, the channel stays blocked until
     * the alignment ends (here: a newer barrier subsumes it). */
    B(h, 0, 5, 4);
    expect(&log, "S5 ");
    rt_barrier_handler_on_abort_notification(h, 5, 5);
    expect(&log, "");
    ck_assert(rt_barrier_handler_pending(h));
    ck_assert(rt_barrier_handler_channel_blocked(h, 0));
    B(h, 1, 6, 6);
    expect(&log, "R0 A5:s S6 ");
    done(h, &log);
}
END_TEST

START_TEST(test_aligned_bug_first_barrier) {
    Log log;
    RtBarrierHandler *h = make(RT_BARRIER_MODE_ALIGNED, 2, &log, true);
    B(h, 1, 1, 0);
    expect(&log, "S1 T1 "); /* planted bug: snapshot before alignment completes */
    B(h, 0, 1, 4);
    expect(&log, "E1/4 R0 R1 ");
    done(h, &log);
}
END_TEST

#define L(h, ch, id) rt_barrier_handler_on_barrier(h, ch, id, 1, RT_BARRIER_AT_LEAST_ONCE, 0)

START_TEST(test_tracker) {
    Log log;
    RtBarrierHandler *h = make(RT_BARRIER_MODE_AT_LEAST_ONCE, 2, &log, false);
    L(h, 0, 1);
    expect(&log, "S1 ");
    ck_assert(!rt_barrier_handler_channel_blocked(h, 0)); /* never blocks */
    L(h, 0, 2);
    expect(&log, "S2 ");
    L(h, 1, 2); /* 2 complete: triggers and subsumes 1 */
    expect(&log, "E2/0 T2 ");
    L(h, 1, 1); /* a first barrier of an old id is ignored */
    expect(&log, "");
    L(h, 0, 3);
    rt_barrier_handler_on_cancel_marker(h, 1, 3, 0);
    expect(&log, "S3 A3:c ");
    L(h, 1, 3); /* complete but aborted: no trigger */
    expect(&log, "");
    ck_assert(!rt_barrier_handler_pending(h));
    done(h, &log);
}
END_TEST

START_TEST(test_tracker_bounded) {
    Log log;
    RtBarrierHandler *h = make(RT_BARRIER_MODE_AT_LEAST_ONCE, 2, &log, false);
    for (uint64_t id = 1; id <= 200; id++)
        L(h, 0, id);
    g_string_truncate(log.s, 0);
    L(h, 1, 200);
    expect(&log, "E200/0 T200 ");
    L(h, 1, 100); /* forgotten long ago (at most 50 tracked) */
    expect(&log, "");
    done(h, &log);
}
END_TEST

static Suite *barrier_suite(void) {
    Suite *s = suite_create("barrier");
    TCase *tc = tcase_create("aligned");
    tcase_add_test(tc, test_aligned_blocks_and_completes);
    tcase_add_test(tc, test_aligned_single_channel);
    tcase_add_test(tc, test_aligned_newer_barrier_aborts);
    tcase_add_test(tc, test_aligned_cancel_marker);
    tcase_add_test(tc, test_aligned_bug_first_barrier);
    suite_add_tcase(s, tc);
    tc = tcase_create("at_least_once");
    tcase_add_test(tc, test_tracker);
    tcase_add_test(tc, test_tracker_bounded);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(barrier_suite());
}
