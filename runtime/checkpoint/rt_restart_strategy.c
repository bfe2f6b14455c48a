/* rt_restart_strategy.c - Flink's restart strategies (rt_restart_strategy.h): fixed-delay,
 * failure-rate, exponential-delay and none, following Flink's
 * {FixedDelay,FailureRate,ExponentialDelay}RestartBackoffTimeStrategy on simulated time. */
#include "runtime/checkpoint/rt_restart_strategy.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "runtime/env/rt_config_keys.h"

static bool bad_value(GError **error, const char *key, const char *expected) {
    g_set_error(error, RT_CONFIG_ERROR, RT_CONFIG_ERROR_BAD_VALUE,
                "%s: bad value (expected %s)", key, expected);
    return false;
}

static bool read_kind(const RtConfig *cfg, RtRestartKind *kind, GError **error) {
    /* The registry's choices "fixed-delay|none|failure-rate|exponential-delay"; the short
     * spellings (fixeddelay, off, disable, ...) and the deprecated key restart-strategy
     * are resolved there, as RestartStrategyOptions documents them. */
    static const RtRestartKind kinds[] = {RT_RESTART_FIXED_DELAY, RT_RESTART_NONE,
                                          RT_RESTART_FAILURE_RATE,
                                          RT_RESTART_EXPONENTIAL_DELAY};
    if (rt_config_lookup(cfg, RT_KEY_RESTART_STRATEGY) == NULL) {
        /* No strategy configured: Flink 1.19+'s RestartBackoffTimeStrategyFactoryLoader
         * picks exponential-delay when checkpointing is on (before 1.19: fixed-delay) and
         * no restart when it is off. */
        uint64_t interval_ns = 0;
        if (!rt_config_key_duration_ns(cfg, RT_KEY_CHECKPOINTING_INTERVAL, &interval_ns, error))
            return false;
        *kind = interval_ns > 0 ? RT_RESTART_EXPONENTIAL_DELAY : RT_RESTART_NONE;
        return true;
    }
    unsigned type = 0;
    if (!rt_config_key_choice(cfg, RT_KEY_RESTART_STRATEGY, &type, error))
        return false;
    assert(type < G_N_ELEMENTS(kinds));
    *kind = kinds[type];
    return true;
}

static bool read_rate(const RtConfig *cfg, RtRestartStrategyConfig *o, GError **error) {
    /* max-failures-per-interval 1..100000 and interval > 0: the registry's bounds. */
    if (!rt_config_key_u64(cfg, RT_KEY_RATE_MAX_FAILURES, &o->rate_max_failures, error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_RATE_INTERVAL, &o->rate_interval_ns, error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_RATE_DELAY, &o->rate_delay_ns, error))
        return false;
    assert(o->rate_max_failures >= 1 &&
           o->rate_max_failures <= RT_RESTART_MAX_FAILURES_PER_INTERVAL &&
           o->rate_interval_ns > 0);
    return true;
}

static bool read_exp(const RtConfig *cfg, RtRestartStrategyConfig *o, GError **error) {
#define EXP "restart-strategy.exponential-delay."
    if (!rt_config_key_duration_ns(cfg, RT_KEY_EXP_INITIAL_BACKOFF, &o->exp_initial_ns,
                                   error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_EXP_MAX_BACKOFF, &o->exp_max_ns, error) ||
        !rt_config_key_double(cfg, RT_KEY_EXP_MULTIPLIER, &o->exp_multiplier, error) ||
        !rt_config_key_duration_ns(cfg, RT_KEY_EXP_RESET_THRESHOLD,
                                   &o->exp_reset_threshold_ns, error) ||
        !rt_config_key_double(cfg, RT_KEY_EXP_JITTER, &o->exp_jitter, error) ||
        !rt_config_key_u64(cfg, RT_KEY_EXP_ATTEMPTS, &o->exp_attempts, error))
        return false;
    if (o->exp_initial_ns == 0)
        return bad_value(error, EXP "initial-backoff", "a duration > 0");
    if (o->exp_max_ns < o->exp_initial_ns)
        return bad_value(error, EXP "max-backoff", "at least initial-backoff");
    if (!(o->exp_multiplier > 1.0) || !isfinite(o->exp_multiplier))
        return bad_value(error, EXP "backoff-multiplier", "a number > 1");
    if (o->exp_reset_threshold_ns == 0)
        return bad_value(error, EXP "reset-backoff-threshold", "a duration > 0");
    if (!(o->exp_jitter >= 0.0 && o->exp_jitter <= 1.0))
        return bad_value(error, EXP "jitter-factor", "0..1");
    if (o->exp_attempts < 1)
        return bad_value(error, EXP "attempts-before-reset-backoff", "an integer >= 1");
    return true;
#undef EXP
}

bool rt_restart_strategy_config_read(const RtConfig *cfg, RtRestartStrategyConfig *out,
                                     GError **error) {
    memset(out, 0, sizeof *out);
    return read_kind(cfg, &out->kind, error) &&
           rt_config_key_u64(cfg, RT_KEY_FIXED_DELAY_ATTEMPTS, &out->fixed_attempts, error) &&
           rt_config_key_duration_ns(cfg, RT_KEY_FIXED_DELAY_DELAY, &out->fixed_delay_ns,
                                     error) &&
           read_rate(cfg, out, error) && read_exp(cfg, out, error);
}

void rt_restart_strategy_init(RtRestartStrategy *s, const RtRestartStrategyConfig *cfg,
                              const RtRng *rng) {
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->rng = *rng;
    if (cfg->kind == RT_RESTART_FAILURE_RATE) {
        assert(cfg->rate_max_failures >= 1 &&
               cfg->rate_max_failures <= RT_RESTART_MAX_FAILURES_PER_INTERVAL);
        s->times_ns = g_new0(uint64_t, cfg->rate_max_failures + 1);
    }
    if (cfg->kind == RT_RESTART_EXPONENTIAL_DELAY)
        assert(cfg->exp_initial_ns > 0 && cfg->exp_initial_ns <= cfg->exp_max_ns &&
               cfg->exp_multiplier > 1.0);
    rt_restart_strategy_reset(s);
}

void rt_restart_strategy_deinit(RtRestartStrategy *s) {
    g_free(s->times_ns);
    s->times_ns = NULL;
}

void rt_restart_strategy_reset(RtRestartStrategy *s) {
    s->failures = 0;
    s->n_times = 0;
    s->head = 0;
    s->backoff_ns = s->cfg.exp_initial_ns;
    s->last_failure_ns = 0;
    s->failed_before = false;
    s->attempt = 0;
}

/* Flink's increaseBackoff: multiply while below the maximum, clamp to [initial, max]. */
static void exp_increase(RtRestartStrategy *s) {
    const RtRestartStrategyConfig *c = &s->cfg;
    if (s->backoff_ns < c->exp_max_ns) {
        double next = (double)s->backoff_ns * c->exp_multiplier;
        s->backoff_ns = next >= (double)c->exp_max_ns ? c->exp_max_ns : (uint64_t)next;
    }
    s->backoff_ns = MAX(c->exp_initial_ns, MIN(s->backoff_ns, c->exp_max_ns));
}

static void exp_notify(RtRestartStrategy *s, uint64_t now_ns) {
    const RtRestartStrategyConfig *c = &s->cfg;
    /* Reset when the job ran the threshold plus the current backoff without failing. */
    uint64_t quiet = c->exp_reset_threshold_ns + s->backoff_ns;
    if (!s->failed_before || now_ns - s->last_failure_ns >= quiet) {
        s->backoff_ns = c->exp_initial_ns;
        s->attempt = 0;
    } else {
        exp_increase(s);
    }
    s->failed_before = true;
    s->last_failure_ns = now_ns;
    s->attempt++;
}

void rt_restart_strategy_notify_failure(RtRestartStrategy *s, uint64_t now_ns) {
    if (s->failures < UINT64_MAX)
        s->failures++;
    if (s->cfg.kind == RT_RESTART_FAILURE_RATE) {
        uint64_t cap = s->cfg.rate_max_failures + 1;
        if (s->n_times == cap) { /* drop the oldest */
            s->head = (s->head + 1) % cap;
            s->n_times--;
        }
        s->times_ns[(s->head + s->n_times) % cap] = now_ns;
        s->n_times++;
    } else if (s->cfg.kind == RT_RESTART_EXPONENTIAL_DELAY) {
        exp_notify(s, now_ns);
    }
}

bool rt_restart_strategy_can_restart(const RtRestartStrategy *s, uint64_t now_ns) {
    switch (s->cfg.kind) {
    case RT_RESTART_NONE:
        return false;
    case RT_RESTART_FIXED_DELAY:
        return s->failures <= s->cfg.fixed_attempts;
    case RT_RESTART_FAILURE_RATE:
        /* More than max failures kept: the oldest must be older than the interval. */
        if (s->n_times <= s->cfg.rate_max_failures)
            return true;
        return now_ns - s->times_ns[s->head] > s->cfg.rate_interval_ns;
    case RT_RESTART_EXPONENTIAL_DELAY:
        return s->attempt <= s->cfg.exp_attempts;
    }
    assert(false);
    return false;
}

uint64_t rt_restart_strategy_next_delay_ns(RtRestartStrategy *s, uint64_t now_ns) {
    (void)now_ns;
    switch (s->cfg.kind) {
    case RT_RESTART_NONE:
        return 0;
    case RT_RESTART_FIXED_DELAY:
        return s->cfg.fixed_delay_ns;
    case RT_RESTART_FAILURE_RATE:
        return s->cfg.rate_delay_ns;
    case RT_RESTART_EXPONENTIAL_DELAY:
        break;
    }
    /* Jitter uniform in [-offset, offset], offset = backoff * jitter-factor. */
    uint64_t offset = (uint64_t)((double)s->backoff_ns * s->cfg.exp_jitter);
    uint64_t delay = s->backoff_ns;
    if (offset > 0) {
        uint64_t draw = rt_rng_range(&s->rng, 0, 2 * offset);
        delay = delay - offset + draw; /* offset <= backoff: no underflow */
    }
    return MIN(delay, s->cfg.exp_max_ns);
}
