/* sim_oracle_ha.h - HA hygiene checks on the ZooKeeper model's tree, run once at the
 * end of a run (museum helper; a hook next to sim_oracle_finish, see sim_run.c).
 *
 *  "ha-hygiene"  when the job finished, at most num-retained checkpoint pointers under
 *                <root>/jobs/<job>/checkpoints still carry a lock (a child of their
 *                `locks` node): a job manager that lost leadership must have released
 *                its locks (DefaultCompletedCheckpointStore.shutdown -> releaseAll), or
 *                the new leader can never remove the checkpoints it subsumes
 *                (FLINK-10011). Pointers without locks (lingering, FLINK-2513) are fine.
 *                And the leader's <root>/leader/jobmanager/connection_info names the
 *                current leader: its address (jobmanager@<process>) and leader session
 *                id, as Flink's ZooKeeperLeaderElectionDriver publishes them for the
 *                leader retrieval of clients and task managers.
 */
#ifndef SIM_ORACLE_HA_H
#define SIM_ORACLE_HA_H

#include <glib.h>
#include <stdbool.h>

#include "runtime/env/rt_config.h"

#define SIM_INV_HA_HYGIENE "ha-hygiene"

typedef struct SimZkTree SimZkTree;

/* The leader as the oracle saw it (sim_oracle_leader); has = false: none known. */
typedef struct SimOracleHaLeader {
    bool has;
    uint32_t process;
    uint64_t session;
} SimOracleHaLeader;

/* Appends a SimViolation to violations (SimViolation*, frees its elements) for each
 * job whose locked pointers exceed num-retained, and when the leader's connection_info
 * does not name leader (when leader->has). Does nothing unless the job finished or when
 * cfg has no ZooKeeper HA. end_ns stamps the violation. */
void sim_oracle_ha_finish(const SimZkTree *tree, const RtConfig *cfg, bool job_finished,
                          const SimOracleHaLeader *leader, uint64_t end_ns,
                          GPtrArray *violations);

#endif /* SIM_ORACLE_HA_H */
