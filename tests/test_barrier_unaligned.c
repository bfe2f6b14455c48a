/* test_barrier_unaligned.c - the alternating barrier handler (unaligned mode) as a pure
 * state machine, Flink semantics (flink-zk.md 1.3, 1.4): an unaligned barrier triggers
 * at once and blocks nothing; later barriers only mark channels; a newer barrier
 * subsumes, cancel markers and JM aborts abort; aligned barriers with an alignment
 * timeout switch in place to unaligned at trigger timestamp + timeout (on the timer,
 * on a barrier, on an announcement), resuming the blocked channels; without a timeout
 * they stay aligned. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/rt_barrier_handler.h"
#include "tests/support/test_check.h"

/* A log of callbacks: "T3u"/"T3a" trigger 3 unaligned/aligned, "A3:s" abort 3 (reason
 * initial), "R1" resume channel 1, "S3" align start, "E3/d" align end after d ns,
 * "W3@t" timer for checkpoint 3 at t. */
typedef struct Log {
    GString *s;
} Log;

static void t_trigger(void *ud, uint64_t id, uint64_t ts, RtBarrierKind kind) {
    (void)ts;
    g_string_append_printf(((Log *)ud)->s, "T%llu%c ", (unsigned long long)id,
                           kind == RT_BARRIER_UNALIGNED ? 'u' : 'a');
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

static void t_timer(void *ud, uint64_t id, uint64_t deadline) {
    g_string_append_printf(((Log *)ud)->s, "W%llu@%llu ", (unsigned long long)id,
                           (unsigned long long)deadline);
}

static const RtBarrierCallbacks cbs = {t_trigger, t_abort, t_resume, t_start, t_end, t_timer};

static RtBarrierHandler *make(uint32_t n, uint64_t timeout_ns, Log *log) {
    log->s = g_string_new(NULL);
    RtBarrierHandler *h = rt_barrier_handler_new(RT_BARRIER_MODE_UNALIGNED, n, &cbs, log, false);
    rt_barrier_handler_set_alignment_timeout(h, timeout_ns);
    return h;
}

static void expect(Log *log, const char *want) {
    ck_assert_str_eq(log->s->str, want);
    g_string_truncate(log->s, 0);
}

static void done(RtBarrierHandler *h, Log *log) {
    rt_barrier_handler_free(h);
    g_string_free(log->s, TRUE);
}

/* Barriers triggered at timestamp 1000. */
#define U(h, ch, id, t) rt_barrier_handler_on_barrier(h, ch, id, 1000, RT_BARRIER_UNALIGNED, t)
#define A(h, ch, id, t) rt_barrier_handler_on_barrier(h, ch, id, 1000, RT_BARRIER_ALIGNED, t)

START_TEST(test_unaligned_first_barrier_triggers) {
    Log log;
    RtBarrierHandler *h = make(3, 0, &log);
    U(h, 1, 1, 1010);
    /* At once, unaligned, nothing blocked. */
    expect(&log, "S1 E1/0 T1u ");
    ck_assert(rt_barrier_handler_pending(h));
    ck_assert(rt_barrier_handler_unaligned_pending(h, 1));
    ck_assert(!rt_barrier_handler_unaligned_pending(h, 2));
    ck_assert(rt_barrier_handler_channel_received(h, 1));
    ck_assert(!rt_barrier_handler_channel_received(h, 0));
    ck_assert(!rt_barrier_handler_channel_blocked(h, 1));
    U(h, 0, 1, 1020);
    expect(&log, "");
    U(h, 2, 1, 1030);
    expect(&log, ""); /* done here: no second trigger, nothing to resume */
    ck_assert(!rt_barrier_handler_pending(h));
    U(h, 0, 1, 1040); /* stale unaligned barrier: ignored, no resume */
    expect(&log, "");
    done(h, &log);
}
END_TEST

START_TEST(test_unaligned_single_channel) {
    Log log;
    RtBarrierHandler *h = make(1, 0, &log);
    U(h, 0, 4, 1);
    expect(&log, "S4 E4/0 T4u ");
    ck_assert(!rt_barrier_handler_pending(h));
    done(h, &log);
}
END_TEST

START_TEST(test_unaligned_newer_subsumes) {
    Log log;
    RtBarrierHandler *h = make(2, 0, &log);
    U(h, 0, 1, 10);
    expect(&log, "S1 E1/0 T1u ");
    U(h, 0, 2, 20); /* channel 1 never delivered 1 */
    expect(&log, "A1:s S2 E2/0 T2u ");
    ck_assert(rt_barrier_handler_unaligned_pending(h, 2));
    U(h, 1, 2, 30);
    expect(&log, "");
    ck_assert(!rt_barrier_handler_pending(h));
    U(h, 1, 1, 40); /* stale */
    expect(&log, "");
    done(h, &log);
}
END_TEST

START_TEST(test_unaligned_cancel_and_jm_abort) {
    Log log;
    RtBarrierHandler *h = make(2, 0, &log);
    U(h, 0, 1, 10);
    expect(&log, "S1 E1/0 T1u ");
    rt_barrier_handler_on_cancel_marker(h, 1, 1, 20);
    expect(&log, "A1:c ");
    ck_assert(!rt_barrier_handler_pending(h));
    U(h, 1, 1, 30); /* its late barrier is stale */
    expect(&log, "");
    U(h, 0, 2, 40);
    expect(&log, "S2 E2/0 T2u ");
    /* A JM abort changes nothing here (Flink's SingleCheckpointBarrierHandler is not
     * told); the checkpoint ends when its last barrier arrives. */
    rt_barrier_handler_on_abort_notification(h, 2, 50);
    expect(&log, "");
    ck_assert(rt_barrier_handler_pending(h));
    U(h, 1, 2, 55);
    expect(&log, "");
    ck_assert(!rt_barrier_handler_pending(h));
    rt_barrier_handler_on_abort_notification(h, 2, 60); /* not pending: nothing */
    expect(&log, "");
    /* A cancel marker for a newer id than any seen aborts it too. */
    rt_barrier_handler_on_cancel_marker(h, 0, 5, 70);
    expect(&log, "A5:c ");
    U(h, 1, 5, 80);
    expect(&log, "");
    done(h, &log);
}
END_TEST

START_TEST(test_timeout_on_timer) {
    Log log;
    RtBarrierHandler *h = make(3, 100, &log);
    A(h, 0, 1, 1010);
    /* Aligned, blocked; the deadline is trigger timestamp + timeout, not the start. */
    expect(&log, "S1 W1@1100 ");
    ck_assert(rt_barrier_handler_channel_blocked(h, 0));
    A(h, 1, 1, 1050);
    expect(&log, "");
    rt_barrier_handler_on_timer(h, 1099);
    expect(&log, "");
    rt_barrier_handler_on_timer(h, 1100);
    /* Switch in place: trigger unaligned; the blocked channels stay blocked until the
     * checkpoint is done (FLINK-22638). */
    expect(&log, "E1/90 T1u ");
    ck_assert(rt_barrier_handler_unaligned_pending(h, 1));
    ck_assert(rt_barrier_handler_channel_blocked(h, 0));
    ck_assert(rt_barrier_handler_channel_blocked(h, 1));
    A(h, 2, 1, 1200); /* the missing barrier: now every channel resumes */
    expect(&log, "R0 R1 R2 ");
    ck_assert(!rt_barrier_handler_pending(h));
    rt_barrier_handler_on_timer(h, 1300);
    expect(&log, "");
    done(h, &log);
}
END_TEST

START_TEST(test_timeout_on_barrier) {
    Log log;
    RtBarrierHandler *h = make(3, 100, &log);
    A(h, 2, 1, 1090);
    expect(&log, "S1 W1@1100 ");
    A(h, 0, 1, 1150); /* past the deadline: switches on arrival */
    expect(&log, "E1/60 T1u ");
    A(h, 1, 1, 1160);
    expect(&log, "R0 R1 R2 ");
    ck_assert(!rt_barrier_handler_pending(h));
    done(h, &log);
}
END_TEST

START_TEST(test_timeout_aligned_in_time) {
    Log log;
    RtBarrierHandler *h = make(2, 100, &log);
    A(h, 0, 1, 1010);
    expect(&log, "S1 W1@1100 ");
    A(h, 1, 1, 1060);
    expect(&log, "E1/50 T1a R0 R1 ");
    rt_barrier_handler_on_timer(h, 1100); /* too late to matter */
    expect(&log, "");
    /* The last barrier past the deadline (timer not run yet) completes aligned:
     * nothing is left to wait for. */
    A(h, 0, 2, 1050);
    expect(&log, "S2 W2@1100 ");
    A(h, 1, 2, 1150);
    expect(&log, "E2/100 T2a R0 R1 ");
    done(h, &log);
}
END_TEST

START_TEST(test_unaligned_barrier_switches_alignment) {
    Log log;
    RtBarrierHandler *h = make(3, 100, &log);
    A(h, 0, 1, 1010);
    expect(&log, "S1 W1@1100 ");
    U(h, 1, 1, 1030); /* its producer timed out first */
    expect(&log, "E1/20 T1u ");
    A(h, 2, 1, 1040);
    expect(&log, "R0 R2 ");
    ck_assert(!rt_barrier_handler_pending(h));
    done(h, &log);
}
END_TEST

START_TEST(test_announcement) {
    Log log;
    RtBarrierHandler *h = make(2, 100, &log);
    /* A timeoutable barrier queued behind data: the timeout is counted already. */
    rt_barrier_handler_on_announcement(h, 1, 1, 1000, RT_BARRIER_ALIGNED, 1020);
    expect(&log, "S1 W1@1100 ");
    ck_assert(rt_barrier_handler_pending(h));
    ck_assert(!rt_barrier_handler_channel_received(h, 1));
    rt_barrier_handler_on_timer(h, 1100);
    expect(&log, "E1/80 T1u ");
    A(h, 1, 1, 1110); /* after the switch an aligned barrier still blocks (FLINK-22638) */
    expect(&log, "");
    ck_assert(rt_barrier_handler_channel_blocked(h, 1));
    A(h, 0, 1, 1120);
    expect(&log, "R0 R1 ");
    ck_assert(!rt_barrier_handler_pending(h));
    /* Past its deadline already: switch at once. */
    rt_barrier_handler_on_announcement(h, 0, 2, 1000, RT_BARRIER_ALIGNED, 1300);
    expect(&log, "S2 W2@1100 E2/0 T2u ");
    /* Stale announcements, unaligned kinds and other modes are ignored. */
    rt_barrier_handler_on_announcement(h, 0, 1, 1000, RT_BARRIER_ALIGNED, 1310);
    rt_barrier_handler_on_announcement(h, 0, 3, 1000, RT_BARRIER_UNALIGNED, 1310);
    expect(&log, "");
    done(h, &log);
}
END_TEST

#define F(h, ch, id, t) \
    rt_barrier_handler_on_barrier(h, ch, id, 1000, RT_BARRIER_FORCED_ALIGNED, t)

/* A forced-aligned barrier (forward or broadcast edge) blocks and never times out:
 * no timer, no switch at the deadline, aligned trigger on the last barrier. */
START_TEST(test_forced_aligned_never_times_out) {
    Log log;
    RtBarrierHandler *h = make(2, 100, &log);
    F(h, 0, 1, 1010);
    expect(&log, "S1 ");
    ck_assert(rt_barrier_handler_channel_blocked(h, 0));
    rt_barrier_handler_on_timer(h, 5000);
    expect(&log, "");
    ck_assert(!rt_barrier_handler_unaligned_pending(h, 1));
    F(h, 1, 1, 6000);
    expect(&log, "E1/4990 T1a R0 R1 ");
    ck_assert(!rt_barrier_handler_pending(h));
    done(h, &log);
}
END_TEST

START_TEST(test_stale_aligned_resumes) {
    Log log;
    RtBarrierHandler *h = make(2, 100, &log);
    A(h, 0, 3, 1010);
    A(h, 1, 3, 1020);
    expect(&log, "S3 W3@1100 E3/10 T3a R0 R1 ");
    A(h, 0, 2, 1030); /* stale aligned: its producer blocked the channel */
    expect(&log, "R0 ");
    done(h, &log);
}
END_TEST

START_TEST(test_no_timeout_stays_aligned) {
    Log log;
    RtBarrierHandler *h = make(2, 0, &log);
    A(h, 0, 1, 1010);
    expect(&log, "S1 ");
    rt_barrier_handler_on_timer(h, 1000000);
    rt_barrier_handler_on_announcement(h, 1, 1, 1000, RT_BARRIER_ALIGNED, 1000000);
    expect(&log, "");
    A(h, 1, 1, 1000000);
    expect(&log, "E1/998990 T1a R0 R1 ");
    done(h, &log);
}
END_TEST

static Suite *barrier_unaligned_suite(void) {
    Suite *s = suite_create("barrier_unaligned");
    TCase *tc = tcase_create("unaligned");
    tcase_add_test(tc, test_unaligned_first_barrier_triggers);
    tcase_add_test(tc, test_unaligned_single_channel);
    tcase_add_test(tc, test_unaligned_newer_subsumes);
    tcase_add_test(tc, test_unaligned_cancel_and_jm_abort);
    suite_add_tcase(s, tc);
    tc = tcase_create("timeout");
    tcase_add_test(tc, test_timeout_on_timer);
    tcase_add_test(tc, test_timeout_on_barrier);
    tcase_add_test(tc, test_timeout_aligned_in_time);
    tcase_add_test(tc, test_unaligned_barrier_switches_alignment);
    tcase_add_test(tc, test_announcement);
    tcase_add_test(tc, test_forced_aligned_never_times_out);
    tcase_add_test(tc, test_stale_aligned_resumes);
    tcase_add_test(tc, test_no_timeout_stays_aligned);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(barrier_unaligned_suite());
}
