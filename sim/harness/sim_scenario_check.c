/* sim_scenario_check.c - load-time checks of a built scenario that a run would otherwise
 * only show as a crash or a violation with no word on the cause:
 *   - the job's size against memory: operators x parallelism (subtasks) and channels (the
 *     sum over edges of p_from x p_to, as Flink's all-to-all ResultPartition/InputGate
 *     pairs), with an estimate of the bytes they take; over the limit is an error naming
 *     all three figures, before anything is allocated for them;
 *   - the runtime's own reading of the HA keys, so that e.g. a missing quorum is an error
 *     "FILE:LINE: [config] high-availability.type: ..." at load, not a "bad input" of a
 *     run with another prefix and no line;
 *   - traps that are notes ("warning: ..."), never errors: a standby job manager that
 *     cannot take over within the liveness bound or the time limit because the crashed
 *     leader's ZooKeeper session must first expire; no periodic checkpoints (interval
 *     unset or 0) while the two-phase-commit sink commits only on checkpoints; an
 *     interval longer than the liveness bound or the whole run. */
#include <string.h>

#include "runtime/env/rt_config_keys.h"
#include "runtime/ha/rt_ha_client.h"
#include "sim/harness/sim_scenario_private.h"

/* The estimate: a fixed base, per subtask (task, state, oracle ledger) and per channel
 * (queues, credits, in-flight buffers). Calibrated on runs of 4..32 operators x 64
 * (ckptsim run, max RSS): 1-5 KiB per channel and ~50 KiB per subtask were measured; the
 * figures below leave room for data in flight. */
#define EST_BASE_BYTES (32ull << 20)
#define EST_SUBTASK_BYTES (64ull << 10)
#define EST_CHANNEL_BYTES (16ull << 10)
#define SIM_SCENARIO_MAX_EST_BYTES (2ull << 30)

void sim_loader_check_size(SimLoader *L) {
    const RtJobGraph *g = &L->s->graph;
    uint64_t subtasks = 0, channels = 0;
    for (guint i = 0; i < g->operators->len; i++)
        subtasks += ((const RtOperatorSpec *)g_ptr_array_index(g->operators, i))->parallelism;
    for (guint i = 0; i < g->edges->len; i++) {
        const RtEdgeSpec *e = &g_array_index(g->edges, RtEdgeSpec, i);
        const RtOperatorSpec *a = g_ptr_array_index(g->operators, e->from);
        const RtOperatorSpec *b = g_ptr_array_index(g->operators, e->to);
        channels += e->partitioning == RT_PART_FORWARD ? a->parallelism
                                                       : (uint64_t)a->parallelism * b->parallelism;
    }
    uint64_t est = EST_BASE_BYTES + subtasks * EST_SUBTASK_BYTES + channels * EST_CHANNEL_BYTES;
    if (est <= SIM_SCENARIO_MAX_EST_BYTES)
        return;
    sim_loader_error(L, "edges", NULL,
                     "the job is too large for memory: %u operators, %" G_GUINT64_FORMAT
                     " subtasks (operators x parallelism), %" G_GUINT64_FORMAT " channels "
                     "(sum over edges of p_from x p_to; forward: p), about %" G_GUINT64_FORMAT
                     " MiB estimated, over the limit of %" G_GUINT64_FORMAT " MiB: lower the "
                     "parallelism or use forward edges",
                     g->operators->len, subtasks, channels, est >> 20,
                     (uint64_t)SIM_SCENARIO_MAX_EST_BYTES >> 20);
}

/* The HA keys as the job manager will read them (rt_ha_config_read), reported at the line
 * of the key that turned HA on. */
void sim_loader_check_runtime_config(SimLoader *L) {
    const RtConfig *conf = L->s->config;
    bool enabled = false;
    GError *e = NULL;
    if (!rt_ha_enabled(conf, &enabled, &e) || !enabled) {
        g_clear_error(&e); /* a bad value was reported by the registry check */
        return;
    }
    const char *from = NULL;
    rt_config_lookup_from(conf, RT_KEY_HA_TYPE, &from);
    RtHaConfig ha;
    if (!rt_ha_config_read(&ha, conf, &e)) {
        sim_loader_error(L, "config", from, "%s (ZooKeeper high availability needs it)",
                         e->message);
        g_clear_error(&e);
        return;
    }
    rt_ha_config_clear(&ha);
}

/* ------------------------------------------------------------------ hints */

static bool has_faults(const SimScenario *s) {
    const SimRandomFaults *r = &s->random;
    return s->faults->len > 0 || r->crash_rate > 0 || r->jobmanager_crash_rate > 0 ||
           r->partition_rate > 0 || r->zk_expire_rate > 0;
}

static double secs(uint64_t ns) {
    return (double)ns / 1e9;
}

/* ZooKeeper HA: a standby leads only once the crashed leader's session expired (its latch
 * node goes then: Flink's ZooKeeperLeaderElectionDriver over Curator's LeaderLatch), and
 * the server clamps the session timeout to 2..20 ticks (ZooKeeperServer). */
static void hint_session_timeout(SimLoader *L) {
    SimScenario *s = L->s;
    unsigned ha = 0;
    GError *e = NULL;
    if (!rt_config_key_choice(s->config, RT_KEY_HA_TYPE, &ha, &e)) {
        g_clear_error(&e);
        return;
    }
    const char *ha_name = rt_config_key_string(s->config, RT_KEY_HA_TYPE);
    uint64_t timeout = 0;
    if (ha_name == NULL || g_ascii_strcasecmp(ha_name, "zookeeper") != 0 ||
        !has_faults(s) || !rt_config_key_duration_ns(s->config, RT_KEY_HA_SESSION_TIMEOUT,
                                                     &timeout, &e)) {
        g_clear_error(&e);
        return;
    }
    uint64_t lo = 2 * s->zk_tick_ns, hi = 20 * s->zk_tick_ns;
    uint64_t eff = CLAMP(timeout, lo, hi);
    char *why = g_strdup_printf(
        "a standby job manager takes over only after the crashed leader's ZooKeeper session "
        "expires: %.3g s (high-availability.zookeeper.client.session-timeout %.3g s, which "
        "ZooKeeper clamps to 2..20 x tickTime = %.3g..%.3g s), then it recovers the job",
        secs(eff), secs(timeout), secs(lo), secs(hi));
    if (s->expect.liveness && s->liveness_bound_ns <= eff)
        sim_loader_note(L, "scenario", "liveness-bound",
                        "warning: %.3g s is not longer than the session timeout: %s; raise "
                        "liveness-bound or lower the session timeout, or liveness will be "
                        "violated (last seen coord_session)",
                        secs(s->liveness_bound_ns), why);
    if (s->time_limit_ns <= eff)
        sim_loader_note(L, "scenario", "time-limit",
                        "warning: %.3g s is not longer than the session timeout: %s; no "
                        "standby can take over within the run",
                        secs(s->time_limit_ns), why);
    g_free(why);
}

static bool has_sink(const SimScenario *s) {
    for (guint i = 0; i < s->graph.operators->len; i++)
        if (((const RtOperatorSpec *)g_ptr_array_index(s->graph.operators, i))->kind ==
            RT_OP_SINK)
            return true;
    return false;
}

/* The two-phase-commit sink (Flink's TwoPhaseCommittingSink / TwoPhaseCommitSinkFunction)
 * commits a transaction on notifyCheckpointComplete only. */
static void hint_interval(SimLoader *L) {
    SimScenario *s = L->s;
    uint64_t iv = 0;
    GError *e = NULL;
    if (!rt_config_key_duration_ns(s->config, RT_KEY_CHECKPOINTING_INTERVAL, &iv, &e)) {
        g_clear_error(&e);
        return;
    }
    const char *k = "execution.checkpointing.interval";
    if (iv == 0 && has_sink(s))
        sim_loader_note(L, "config", k,
                        "warning: no periodic checkpoints (unset or 0): the two-phase-commit "
                        "sink commits only when a checkpoint completes, so nothing is ever "
                        "committed and the job cannot finish (liveness and "
                        "min-completed-checkpoints fail); set e.g. 200 ms");
    else if (iv > 0 && iv >= s->time_limit_ns)
        sim_loader_note(L, "config", k,
                        "warning: %.3g s is not shorter than [scenario] time-limit (%.3g s): "
                        "no checkpoint is triggered in the run, the sink commits nothing",
                        secs(iv), secs(s->time_limit_ns));
    else if (iv > 0 && s->expect.liveness && iv >= s->liveness_bound_ns)
        sim_loader_note(L, "config", k,
                        "warning: %.3g s is not shorter than [scenario] liveness-bound "
                        "(%.3g s): a checkpoint may not complete within the bound after the "
                        "faults, and the sink commits only on checkpoints",
                        secs(iv), secs(s->liveness_bound_ns));
}

void sim_loader_hints(SimLoader *L) {
    hint_session_timeout(L);
    hint_interval(L);
}
