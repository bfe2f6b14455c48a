/* rt_restart_strategy.h - Flink's restart strategies as a small pure state machine: given
 * the times of failures it says whether the job may restart and after what delay. No
 * clock, no world: the caller passes "now" (ns) and, for exponential-delay's jitter, the
 * strategy owns a PRNG stream the caller seeded (rt_env_rng). The job manager calls, on
 * every failure, rt_restart_strategy_notify_failure(now), then
 * rt_restart_strategy_can_restart(now) and, if true, rt_restart_strategy_next_delay_ns.
 *
 * Strategies and keys (Flink RestartStrategyOptions, 1.19+ defaults). Without
 * restart-strategy.type: exponential-delay if checkpointing is on
 * (execution.checkpointing.interval set), none otherwise, as Flink 1.19+'s
 * RestartBackoffTimeStrategyFactoryLoader.
 * - none / off / disable: never restart.
 * - fixed-delay: .attempts (Integer.MAX_VALUE) restarts, each after .delay (1 s).
 * - failure-rate: restart unless more than .max-failures-per-interval (1) failures fell
 *   within .failure-rate-interval (1 min); each restart after .delay (1 s).
 * - exponential-delay: backoff from .initial-backoff (1 s), times .backoff-multiplier
 *   (1.5) per failure up to .max-backoff (1 min), +- .jitter-factor (0.1) of it; reset to
 *   the initial backoff (and the attempt count to 0) when the job ran
 *   .reset-backoff-threshold (1 h) plus the current backoff without failing; fails the
 *   job after .attempts-before-reset-backoff (Integer.MAX_VALUE) attempts without reset.
 */
#ifndef RT_RESTART_STRATEGY_H
#define RT_RESTART_STRATEGY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_config.h"
#include "runtime/env/rt_rng.h"

/* Failure-rate keeps at most this many failure times (max-failures-per-interval + 1). */
#define RT_RESTART_MAX_FAILURES_PER_INTERVAL 100000u

typedef enum {
    RT_RESTART_NONE,
    RT_RESTART_FIXED_DELAY,
    RT_RESTART_FAILURE_RATE,
    RT_RESTART_EXPONENTIAL_DELAY,
} RtRestartKind;

typedef struct RtRestartStrategyConfig {
    RtRestartKind kind;
    uint64_t fixed_attempts;          /* fixed-delay: restarts allowed */
    uint64_t fixed_delay_ns;
    uint64_t rate_max_failures;       /* failure-rate: per interval, >= 1 */
    uint64_t rate_interval_ns;        /* failure-rate: window, > 0 */
    uint64_t rate_delay_ns;
    uint64_t exp_initial_ns;          /* exponential-delay: >= 1 ms-ish, <= exp_max_ns */
    uint64_t exp_max_ns;
    double exp_multiplier;            /* > 1 */
    uint64_t exp_reset_threshold_ns;
    double exp_jitter;                /* fraction of the backoff, 0..1 */
    uint64_t exp_attempts;            /* attempts before the backoff resets */
} RtRestartStrategyConfig;

typedef struct RtRestartStrategy {
    RtRestartStrategyConfig cfg;
    RtRng rng;                        /* exponential-delay jitter */
    uint64_t failures;                /* notified failures (fixed-delay: restarts so far) */
    /* failure-rate: ring of the last rate_max_failures + 1 failure times (ns) */
    uint64_t *times_ns;
    uint64_t n_times;
    uint64_t head;                    /* index of the oldest time */
    /* exponential-delay */
    uint64_t backoff_ns;              /* current backoff, before jitter */
    uint64_t last_failure_ns;
    bool failed_before;
    uint64_t attempt;                 /* attempts since the last reset */
} RtRestartStrategy;

/* Reads the strategy type (restart-strategy.type, or the pre-1.17 restart-strategy) and
 * its keys into *out, Flink defaults for missing keys; false + GError on a bad value. */
bool rt_restart_strategy_config_read(const RtConfig *cfg, RtRestartStrategyConfig *out,
                                     GError **error);
/* Initialises *s for cfg (valid per rt_restart_strategy_config_read); rng seeds the jitter
 * draws (copied). Deinitialise with rt_restart_strategy_deinit. */
void rt_restart_strategy_init(RtRestartStrategy *s, const RtRestartStrategyConfig *cfg,
                              const RtRng *rng);
void rt_restart_strategy_deinit(RtRestartStrategy *s);
/* Forgets every failure (a new JobMaster); the PRNG stream continues. */
void rt_restart_strategy_reset(RtRestartStrategy *s);
/* Records a failure at now_ns (non-decreasing across calls). */
void rt_restart_strategy_notify_failure(RtRestartStrategy *s, uint64_t now_ns);
/* True when the job may restart after the failures notified so far. */
bool rt_restart_strategy_can_restart(const RtRestartStrategy *s, uint64_t now_ns);
/* The delay before the restart of the last notified failure (draws the jitter). */
uint64_t rt_restart_strategy_next_delay_ns(RtRestartStrategy *s, uint64_t now_ns);

#endif /* RT_RESTART_STRATEGY_H */
