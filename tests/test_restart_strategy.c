/* test_restart_strategy.c - the restart strategies (rt_restart_strategy.h) on their own:
 * fixed-delay attempts, failure-rate's sliding window, exponential-delay's growth, cap,
 * jitter bounds, reset and attempt limit, config defaults and bad values; and end to end,
 * that a failure-rate job gives up (a liveness violation) when crashes exceed the rate and
 * holds when they do not. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/rt_restart_strategy.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

#define MS 1000000ull
#define SEC 1000000000ull

static RtRestartStrategyConfig read_cfg(const char *const *kv) {
    RtConfig *cfg = rt_config_new();
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
        rt_config_set(cfg, kv[i], kv[i + 1]);
    RtRestartStrategyConfig out;
    GError *err = NULL;
    ck_assert_msg(rt_restart_strategy_config_read(cfg, &out, &err), "%s",
                  err != NULL ? err->message : "");
    rt_config_free(cfg);
    return out;
}

static bool read_fails(const char *key, const char *value) {
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, key, value);
    RtRestartStrategyConfig out;
    GError *err = NULL;
    bool ok = rt_restart_strategy_config_read(cfg, &out, &err);
    ck_assert(ok == (err == NULL));
    if (err != NULL) {
        ck_assert_ptr_nonnull(strstr(err->message, key));
        g_error_free(err);
    }
    rt_config_free(cfg);
    return !ok;
}

static void init(RtRestartStrategy *s, const RtRestartStrategyConfig *c, uint64_t seed) {
    RtRng rng;
    rt_rng_seed_stream(&rng, seed, "restart-test");
    rt_restart_strategy_init(s, c, &rng);
}

/* Notifies a failure at now and returns the delay, or UINT64_MAX when it may not restart. */
static uint64_t fail_at(RtRestartStrategy *s, uint64_t now) {
    rt_restart_strategy_notify_failure(s, now);
    if (!rt_restart_strategy_can_restart(s, now))
        return UINT64_MAX;
    return rt_restart_strategy_next_delay_ns(s, now);
}

START_TEST(test_defaults) {
    /* No strategy configured (RestartBackoffTimeStrategyFactoryLoader, 1.19+): none
     * without checkpointing, exponential-delay with it. */
    ck_assert_int_eq(read_cfg(NULL).kind, RT_RESTART_NONE);
    const char *ckpt[] = {"execution.checkpointing.interval", "1 s", NULL};
    RtRestartStrategyConfig c = read_cfg(ckpt);
    ck_assert_int_eq(c.kind, RT_RESTART_EXPONENTIAL_DELAY);
    const char *fixed[] = {"execution.checkpointing.interval", "1 s",
                           "restart-strategy.type", "fixed-delay", NULL};
    ck_assert_int_eq(read_cfg(fixed).kind, RT_RESTART_FIXED_DELAY);
    ck_assert_uint_eq(c.fixed_attempts, 2147483647u);
    ck_assert_uint_eq(c.fixed_delay_ns, SEC);
    ck_assert_uint_eq(c.rate_max_failures, 1);
    ck_assert_uint_eq(c.rate_interval_ns, 60 * SEC);
    ck_assert_uint_eq(c.rate_delay_ns, SEC);
    ck_assert_uint_eq(c.exp_initial_ns, SEC);
    ck_assert_uint_eq(c.exp_max_ns, 60 * SEC);
    ck_assert_double_eq(c.exp_multiplier, 1.5);
    ck_assert_uint_eq(c.exp_reset_threshold_ns, 3600 * SEC);
    ck_assert_double_eq(c.exp_jitter, 0.1);
    ck_assert_uint_eq(c.exp_attempts, 2147483647u);
    const char *old[] = {"restart-strategy", "failure-rate", NULL};
    ck_assert_int_eq(read_cfg(old).kind, RT_RESTART_FAILURE_RATE);
    const char *exp[] = {"restart-strategy.type", "exponential-delay", NULL};
    ck_assert_int_eq(read_cfg(exp).kind, RT_RESTART_EXPONENTIAL_DELAY);
    const char *none[] = {"restart-strategy.type", "disable", NULL};
    ck_assert_int_eq(read_cfg(none).kind, RT_RESTART_NONE);
}
END_TEST

START_TEST(test_bad_values) {
    ck_assert(read_fails("restart-strategy.type", "sometimes"));
    ck_assert(read_fails("restart-strategy.failure-rate.max-failures-per-interval", "0"));
    ck_assert(read_fails("restart-strategy.failure-rate.failure-rate-interval", "0 ms"));
    ck_assert(read_fails("restart-strategy.exponential-delay.initial-backoff", "0 ms"));
    ck_assert(read_fails("restart-strategy.exponential-delay.max-backoff", "10 ms"));
    ck_assert(read_fails("restart-strategy.exponential-delay.backoff-multiplier", "1"));
    ck_assert(read_fails("restart-strategy.exponential-delay.jitter-factor", "1.5"));
    ck_assert(read_fails("restart-strategy.exponential-delay.reset-backoff-threshold", "0 s"));
    ck_assert(read_fails("restart-strategy.exponential-delay.attempts-before-reset-backoff",
                         "0"));
    ck_assert(!read_fails("restart-strategy.exponential-delay.jitter-factor", "1"));
}
END_TEST

START_TEST(test_none_and_fixed) {
    const char *none[] = {"restart-strategy.type", "none", NULL};
    RtRestartStrategyConfig c = read_cfg(none);
    RtRestartStrategy s;
    init(&s, &c, 1);
    ck_assert_uint_eq(fail_at(&s, 0), UINT64_MAX);
    rt_restart_strategy_deinit(&s);

    const char *fixed[] = {"restart-strategy.type", "fixed-delay",
                           "restart-strategy.fixed-delay.attempts", "3",
                           "restart-strategy.fixed-delay.delay", "250 ms", NULL};
    c = read_cfg(fixed);
    init(&s, &c, 1);
    for (int round = 0; round < 2; round++) {
        for (uint64_t i = 1; i <= 3; i++)
            ck_assert_uint_eq(fail_at(&s, i * SEC), 250 * MS);
        ck_assert_uint_eq(fail_at(&s, 100 * SEC), UINT64_MAX); /* no window: attempts count */
        rt_restart_strategy_reset(&s);                         /* a new JobMaster */
    }
    rt_restart_strategy_deinit(&s);
}
END_TEST

START_TEST(test_failure_rate_window) {
    const char *kv[] = {"restart-strategy.type", "failure-rate",
                        "restart-strategy.failure-rate.max-failures-per-interval", "2",
                        "restart-strategy.failure-rate.failure-rate-interval", "10 s",
                        "restart-strategy.failure-rate.delay", "300 ms", NULL};
    RtRestartStrategyConfig c = read_cfg(kv);
    RtRestartStrategy s;
    init(&s, &c, 1);
    /* Two failures in the window are fine, a third within 10 s of the first is not. */
    ck_assert_uint_eq(fail_at(&s, 0), 300 * MS);
    ck_assert_uint_eq(fail_at(&s, 4 * SEC), 300 * MS);
    ck_assert_uint_eq(fail_at(&s, 9 * SEC), UINT64_MAX);
    rt_restart_strategy_reset(&s);
    /* Exactly the interval after the oldest is still within it (Flink: strictly more). */
    ck_assert_uint_eq(fail_at(&s, 0), 300 * MS);
    ck_assert_uint_eq(fail_at(&s, 1 * SEC), 300 * MS);
    rt_restart_strategy_notify_failure(&s, 10 * SEC);
    ck_assert(!rt_restart_strategy_can_restart(&s, 10 * SEC));
    ck_assert(rt_restart_strategy_can_restart(&s, 10 * SEC + 1));
    rt_restart_strategy_reset(&s);
    /* A steady rate below the limit restarts forever: the window slides. */
    for (uint64_t i = 0; i < 1000; i++)
        ck_assert_uint_eq(fail_at(&s, i * 6 * SEC), 300 * MS);
    rt_restart_strategy_deinit(&s);
    /* Default: one failure per minute. */
    const char *def[] = {"restart-strategy.type", "failure-rate", NULL};
    c = read_cfg(def);
    init(&s, &c, 1);
    ck_assert_uint_eq(fail_at(&s, 5 * SEC), SEC);
    ck_assert_uint_eq(fail_at(&s, 64 * SEC), UINT64_MAX);
    ck_assert_uint_eq(fail_at(&s, 130 * SEC), SEC);
    rt_restart_strategy_deinit(&s);
}
END_TEST

static const char *const exp_kv[] = {
    "restart-strategy.type", "exponential-delay",
    "restart-strategy.exponential-delay.initial-backoff", "100 ms",
    "restart-strategy.exponential-delay.max-backoff", "1 s",
    "restart-strategy.exponential-delay.backoff-multiplier", "2",
    "restart-strategy.exponential-delay.reset-backoff-threshold", "10 s",
    "restart-strategy.exponential-delay.jitter-factor", "0", NULL};

START_TEST(test_exponential_growth_cap_reset) {
    RtRestartStrategyConfig c = read_cfg(exp_kv);
    RtRestartStrategy s;
    init(&s, &c, 1);
    const uint64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
    uint64_t now = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        now += 2 * SEC; /* failing again and again, well within the threshold */
        ck_assert_uint_eq(fail_at(&s, now), want[i] * MS);
    }
    /* Quiet for threshold + current backoff: back to the initial backoff. */
    now += 10 * SEC + 1 * SEC - 1;
    ck_assert_uint_eq(fail_at(&s, now), 1000 * MS);
    now += 11 * SEC;
    ck_assert_uint_eq(fail_at(&s, now), 100 * MS);
    ck_assert_uint_eq(fail_at(&s, now + SEC), 200 * MS);
    rt_restart_strategy_deinit(&s);
    /* Flink's default multiplier 1.5: 1 s, 1.5 s, 2.25 s ... capped at 1 min. */
    const char *d[] = {"restart-strategy.type", "exponential-delay",
                       "restart-strategy.exponential-delay.jitter-factor", "0", NULL};
    c = read_cfg(d);
    init(&s, &c, 1);
    ck_assert_uint_eq(fail_at(&s, 0), SEC);
    ck_assert_uint_eq(fail_at(&s, SEC), 1500 * MS);
    ck_assert_uint_eq(fail_at(&s, 2 * SEC), 2250 * MS);
    for (uint64_t i = 3; i < 40; i++)
        ck_assert_uint_le(fail_at(&s, i * SEC), 60 * SEC);
    ck_assert_uint_eq(fail_at(&s, 41 * SEC), 60 * SEC);
    rt_restart_strategy_deinit(&s);
}
END_TEST

START_TEST(test_exponential_attempts) {
    const char *kv[] = {"restart-strategy.type", "exponential-delay",
                        "restart-strategy.exponential-delay.attempts-before-reset-backoff",
                        "3", "restart-strategy.exponential-delay.reset-backoff-threshold",
                        "10 s", "restart-strategy.exponential-delay.jitter-factor", "0",
                        NULL};
    RtRestartStrategyConfig c = read_cfg(kv);
    RtRestartStrategy s;
    init(&s, &c, 1);
    for (uint64_t i = 0; i < 3; i++)
        ck_assert_uint_ne(fail_at(&s, i * SEC), UINT64_MAX);
    ck_assert_uint_eq(fail_at(&s, 3 * SEC), UINT64_MAX);
    /* A reset of the backoff also resets the attempt count. */
    ck_assert_uint_eq(fail_at(&s, 100 * SEC), SEC);
    ck_assert_uint_ne(fail_at(&s, 101 * SEC), UINT64_MAX);
    rt_restart_strategy_deinit(&s);
}
END_TEST

START_TEST(test_exponential_jitter) {
    const char *kv[] = {"restart-strategy.type", "exponential-delay",
                        "restart-strategy.exponential-delay.initial-backoff", "10 s",
                        "restart-strategy.exponential-delay.max-backoff", "20 s",
                        "restart-strategy.exponential-delay.jitter-factor", "0.1", NULL};
    RtRestartStrategyConfig c = read_cfg(kv);
    RtRestartStrategy a, b;
    init(&a, &c, 42);
    init(&b, &c, 42);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t i = 0; i < 200; i++) {
        uint64_t now = i * 2 * 3600 * SEC; /* always past the threshold: backoff 10 s */
        uint64_t d = fail_at(&a, now);
        ck_assert_uint_eq(d, fail_at(&b, now)); /* same stream, same draws */
        ck_assert_uint_ge(d, 9 * SEC);
        ck_assert_uint_le(d, 11 * SEC);
        lo = MIN(lo, d);
        hi = MAX(hi, d);
    }
    ck_assert_uint_lt(lo, 9500 * MS); /* the draws spread over the range */
    ck_assert_uint_gt(hi, 10500 * MS);
    /* Jitter never exceeds the maximum backoff. */
    for (uint64_t i = 0; i < 50; i++)
        ck_assert_uint_le(fail_at(&a, 1000000 * SEC + i * SEC), 20 * SEC);
    rt_restart_strategy_deinit(&a);
    rt_restart_strategy_deinit(&b);
}
END_TEST

/* random-faults with a high crash rate under failure-rate (delay 200 ms). */
static TestProcOut run_rate(const char *max_failures) {
    char *mf = g_strdup_printf("restart-strategy.failure-rate.max-failures-per-interval=%s",
                               max_failures);
    TestProcOut o = test_proc_ckptsim(
        "run", "scenarios/random-faults.ini", "--seed", "1", "--json", "--set",
        "random-faults.crash-rate=2", "--set", "restart-strategy.type=failure-rate", "--set",
        "restart-strategy.failure-rate.delay=200 ms", "--set", mf, NULL);
    g_free(mf);
    return o;
}

START_TEST(test_e2e_failure_rate) {
    /* One failure per minute allowed, crashes every half second: the job fails. */
    TestProcOut o = run_rate("1");
    ck_assert_msg(o.status == 1, "status %d: %s%s", o.status, o.out, o.err);
    ck_assert_ptr_nonnull(strstr(o.out, "\"verdict\":\"violation\""));
    ck_assert_ptr_nonnull(strstr(o.out, "\"invariant\":\"liveness\""));
    ck_assert_ptr_nonnull(strstr(o.out, "the job failed"));
    /* failovers counts job restarts: one restart, then the second failure fails the job. */
    ck_assert_int_ge(test_proc_json_number(o.out, "failovers"), 1);
    test_proc_out_clear(&o);
    /* A rate above the crashes: every failure restarts and the job finishes. */
    o = run_rate("100");
    ck_assert_msg(o.status == 0, "status %d: %s%s", o.status, o.out, o.err);
    ck_assert_ptr_nonnull(strstr(o.out, "\"verdict\":\"pass\""));
    ck_assert_ptr_nonnull(strstr(o.out, "\"end\":\"job finished\""));
    ck_assert_int_ge(test_proc_json_number(o.out, "failovers"), 3);
    test_proc_out_clear(&o);
}
END_TEST

static Suite *restart_strategy_suite(void) {
    Suite *s = suite_create("restart_strategy");
    TCase *tc = tcase_create("strategy");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_none_and_fixed);
    tcase_add_test(tc, test_failure_rate_window);
    tcase_add_test(tc, test_exponential_growth_cap_reset);
    tcase_add_test(tc, test_exponential_attempts);
    tcase_add_test(tc, test_exponential_jitter);
    suite_add_tcase(s, tc);
    TCase *e2e = tcase_create("e2e");
    tcase_set_timeout(e2e, 120);
    tcase_add_test(e2e, test_e2e_failure_rate);
    suite_add_tcase(s, e2e);
    return s;
}

int main(void) {
    return test_check_run(restart_strategy_suite());
}
