/* sim_oracle_ha.c - the "ha-hygiene" check (sim_oracle_ha.h): reads the ZooKeeper
 * model's tree god's-eye at the end of a run. */
#include "sim/harness/sim_oracle_ha.h"

#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_config_keys.h"
#include "runtime/ha/rt_ha_client.h"
#include "sim/harness/sim_oracle.h"
#include "sim/world/sim_zk_tree.h"

static uint64_t num_retained(const RtConfig *cfg) {
    uint64_t n = 1;
    if (!rt_config_key_u64(cfg, RT_KEY_NUM_RETAINED, &n, NULL))
        n = 1;
    return n;
}

/* Pointers under dir whose locks node has children. */
static size_t locked_pointers(const SimZkTree *tree, const char *dir) {
    const char **names = NULL;
    size_t n = 0, locked = 0;
    if (!sim_zk_tree_children(tree, dir, &names, &n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char *locks = g_strdup_printf("%s/%s/locks", dir, names[i]);
        RtCoordStat st;
        if (sim_zk_tree_stat(tree, locks, &st) && st.num_children > 0)
            locked++;
        g_free(locks);
    }
    g_free(names);
    return locked;
}

/* The leader's connection_info must hold "address=jobmanager@P\nsession=S\n"
 * (rt_leader_election.c publish_info). */
static void check_leader_info(const SimZkTree *tree, const char *root,
                              const SimOracleHaLeader *leader, uint64_t end_ns,
                              GPtrArray *violations) {
    char *path = g_strdup_printf("%s/leader/jobmanager/connection_info", root);
    char *want = g_strdup_printf("address=jobmanager@%u\nsession=%016" PRIx64 "\n",
                                 leader->process, leader->session);
    const void *data = NULL;
    size_t len = 0;
    bool found = sim_zk_tree_data(tree, path, &data, &len);
    if (!found || len != strlen(want) || memcmp(data, want, len) != 0) {
        char *have = found ? g_strndup(data, len) : g_strdup("(no node)");
        g_strdelimit(have, "\n", ' ');
        char *msg = g_strdup_printf("%s holds '%s' when the job has finished, but process %u "
                                    "leads with session %016" PRIx64
                                    ": clients would look for a stale or no leader",
                                    path, g_strstrip(have), leader->process, leader->session);
        g_ptr_array_add(violations,
                        sim_violation_new(SIM_INV_HA_HYGIENE, msg, end_ns, 0, NULL));
        g_free(msg);
        g_free(have);
    }
    g_free(want);
    g_free(path);
}

void sim_oracle_ha_finish(const SimZkTree *tree, const RtConfig *cfg, bool job_finished,
                          const SimOracleHaLeader *leader, uint64_t end_ns,
                          GPtrArray *violations) {
    bool enabled = false;
    RtHaConfig hc;
    if (!job_finished || tree == NULL || !rt_ha_enabled(cfg, &enabled, NULL) || !enabled ||
        !rt_ha_config_read(&hc, cfg, NULL))
        return;
    char *jobs = g_strdup_printf("%s/jobs", hc.root);
    const char **names = NULL;
    size_t n = 0;
    uint64_t keep = num_retained(cfg);
    if (sim_zk_tree_children(tree, jobs, &names, &n)) {
        for (size_t i = 0; i < n; i++) {
            char *dir = g_strdup_printf("%s/%s/checkpoints", jobs, names[i]);
            size_t locked = locked_pointers(tree, dir);
            if (locked > keep) {
                char *msg = g_strdup_printf(
                    "%zu checkpoint pointers under %s still carry locks when the job has "
                    "finished, more than num-retained %" PRIu64
                    ": a job manager kept its locks after losing leadership",
                    locked, dir, keep);
                g_ptr_array_add(violations,
                                sim_violation_new(SIM_INV_HA_HYGIENE, msg, end_ns, 0, NULL));
                g_free(msg);
            }
            g_free(dir);
        }
        g_free(names);
    }
    g_free(jobs);
    if (leader != NULL && leader->has)
        check_leader_info(tree, hc.root, leader, end_ns, violations);
    rt_ha_config_clear(&hc);
}
