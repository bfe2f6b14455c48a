/* rt_jobmanager_ha.c - the job manager with ZooKeeper high availability
 * (rt_jobmanager_internal.h): the election, opening a term on a grant (ZooKeeper store
 * and counters fenced on the grant's latch node, then recovery of the job from the
 * latest checkpoint in ZooKeeper as a new attempt), ending it at once on revocation,
 * and freeing retired terms once nothing of theirs is in flight. */
#include <assert.h>
#include <inttypes.h>

#include "runtime/checkpoint/rt_jobmanager_internal.h"
#include "runtime/ha/rt_ckpt_store_zk.h"

/* ------------------------------------------------------------------ reaping */

static void reap_fire(void *user_data) {
    RtJobManager *jm = user_data;
    jm->reap_timer = 0;
    for (guint i = 0; i < jm->retired->len;) {
        JmTerm *t = g_ptr_array_index(jm->retired, i);
        if (jm_term_idle(t)) {
            g_ptr_array_remove_index(jm->retired, i);
            jm_term_free(t);
        } else {
            i++;
        }
    }
}

void jm_reap_schedule(RtJobManager *jm) {
    /* From a timer: the term's own callbacks may be on the stack. */
    if (jm->reap_timer == 0 && jm->retired->len > 0)
        jm->reap_timer = rt_env_timer_start(jm->env, 0, reap_fire, jm);
}

/* --------------------------------------------------------------- leadership */

static void leadership_granted(void *user_data, uint64_t leader_session_id) {
    RtJobManager *jm = user_data;
    assert(jm->term == NULL && jm->state == JM_STANDBY);
    jm->term_gen++;
    jm->leader_session = leader_session_id;
    jm_observe(jm, RT_EV_LEADER_GAINED, leader_session_id, NULL);
    const char *fence = rt_leader_election_latch_path(jm->election);
    assert(fence != NULL);
    char *job_path = rt_ckpt_zk_job_path(jm->ha_client, jm->job);
    char *counter_path = g_strdup_printf("%s/checkpoint_id_counter", job_path);
    char *attempt_path = g_strdup_printf("%s/attempt_counter", job_path);
    /* A new JobMaster: fresh restart accounting and registration grace. */
    rt_restart_strategy_reset(&jm->restart);
    jm->first_deploy_done = false;
    jm->first_ready_ns = 0;
    jm->resumed_reported = false;
    jm->persisting_attempt = false;
    jm_term_open(jm,
                 rt_ckpt_store_zk_new(jm->ha_client, jm->ckpt_dir, jm->job, fence,
                                      leader_session_id, jm->num_retained, jm_store_discard, jm),
                 rt_ckpt_id_counter_zk_new(jm->ha_client, counter_path, NULL),
                 rt_ckpt_id_counter_zk_new(jm->ha_client, attempt_path, fence));
    g_free(counter_path);
    g_free(attempt_path);
    g_free(job_path);
    GError *err = NULL;
    if (!jm_listen(jm, &err)) {
        /* Cannot happen (we unlisten on every revocation); keep trying as a restart. */
        jm_observe(jm, RT_EV_FAILOVER, jm->attempt, err->message);
        g_error_free(err);
    }
    jm_recover_start(jm);
}

static void leadership_revoked(void *user_data) {
    RtJobManager *jm = user_data;
    jm_observe(jm, RT_EV_LEADER_LOST, jm->leader_session, NULL);
    jm->leader_session = 0;
    jm->term_gen++;
    JmTerm *t = jm->term;
    assert(t != NULL);
    /* Stop at once: no trigger, no notification; a publish in flight is fenced. */
    rt_env_timer_cancel(jm->env, jm->restart_timer);
    rt_env_timer_cancel(jm->env, jm->grace_timer);
    jm->restart_timer = 0;
    jm->grace_timer = 0;
    jm->persisting_attempt = false;
    jm->state = JM_STANDBY;
    t->retired = true;
    jm->term = NULL;
    jm->coord = NULL;
    jm->store = NULL;
    jm->counter = NULL;
    rt_ckpt_coordinator_stop(t->coord, RT_CKPT_FAIL_SUSPENDED);
    g_ptr_array_add(jm->retired, t);
    /* Task managers lose this job master: they tear its tasks down. */
    rt_env_unlisten(jm->env, RT_PORT_JOBMANAGER);
    g_ptr_array_set_size(jm->workers, 0);
    jm_reap_schedule(jm);
}

static const RtLeaderElectionHooks election_hooks = {
    .granted = leadership_granted,
    .revoked = leadership_revoked,
};

/* ------------------------------------------------------------------ lifecycle */

bool jm_ha_start(RtJobManager *jm, GError **error) {
    RtHaConfig cfg;
    if (!rt_ha_config_read(&cfg, jm->spec->config, error))
        return false;
    jm->ha_client = rt_ha_client_new(jm->env, &cfg, error);
    rt_ha_config_clear(&cfg);
    if (jm->ha_client == NULL)
        return false;
    char *address = g_strdup_printf("jobmanager@%u", jm->env->process_id);
    jm->election =
        rt_leader_election_new(jm->ha_client, "jobmanager", address, &election_hooks, jm);
    g_free(address);
    return true;
}

void jm_ha_free(RtJobManager *jm) {
    rt_leader_election_free(jm->election);
    jm->election = NULL;
    rt_ha_client_free(jm->ha_client);
    jm->ha_client = NULL;
}
