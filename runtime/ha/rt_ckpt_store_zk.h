/* rt_ckpt_store_zk.h - the completed-checkpoint store and the checkpoint ID counter on
 * ZooKeeper (high-availability.type: zookeeper), after Flink's ZooKeeperStateHandleStore,
 * DefaultCompletedCheckpointStore and ZooKeeperCheckpointIDCounter.
 *
 * Layout (research/flink-zk.md section 3.1):
 *   <root>/jobs/<job>/checkpoint_id_counter      persistent; decimal text: the next id
 *   <root>/jobs/<job>/checkpoints/<%019d id>     persistent; data = the state file's
 *                                                storage path (a RetrievableStateHandle)
 *                           .../<id>/locks       persistent; gone = marked for deletion
 *                           .../<id>/locks/<l>   ephemeral: store instance l holds it
 *   <storageDir>/<cluster>/<job>/completedCheckpoint-<%019d id>   the state file: the
 *                                                encoded completed checkpoint
 *   <state.checkpoints.dir>/<job>/chk-<id>/_metadata   the checkpoint's own metadata
 *                                                (Flink's finalizeCheckpoint), same bytes
 * Both files are written with rt_atomic_write (durable) before ZooKeeper points to them.
 *
 * Counter: checkConnectionState (refused unless CONNECTED); get (value, version);
 * id = value; setData(id + 1, version); on BadVersion read again and retry (bounded).
 * The first id is 1 (ZooKeeperCheckpointIDCounter). With a fence path (the job-attempt
 * counter, so a deposed leader can never deploy) the set is a multi that also checks
 * that node, ids are raised to the floor and the connection check is left out.
 *
 * Store add (addAndLock): both files, then ONE multi: create the pointer + its locks
 * node + our ephemeral lock, with no leadership check, as Flink's
 * ZooKeeperStateHandleStore.writeStoreHandleTransactionally. Only with
 * high-availability.zookeeper.fence-writes = true (ckptsim's option) does the multi
 * also check(fence) - the leader's own latch node, so a writer whose grant is gone is
 * refused. Connection loss, operation timeout or session expiry
 * are retried as Curator does (retry-wait, max-retry-attempts, on the then-current
 * session); NodeExists after such a retry counts as success (FLINK-24543). The outcome:
 * published (RT_EV_CKPT_PUBLISHED, a = leader session id); FAILED (nothing in ZooKeeper:
 * the files are removed); or POSSIBLY_PERSISTED when any attempt's outcome was unknown
 * and none succeeded: nothing is discarded. Planted bug fence-first-try-only (fenced
 * variant) checks the fence on the first try only, so a retry on a new session is
 * unfenced.
 *
 * Subsumption (releaseAndTryRemove): delete our lock; delete locks (NotEmpty: another
 * instance holds it - keep everything); discard the files and the subtasks' state;
 * delete the pointer. Never the latest. The two deletes are retried on connection loss,
 * timeout or expiry as Curator's RetryLoop does (retry-wait, max-retry-attempts, once
 * connected); NoNode of locks after a try of unknown outcome goes on (deleteIfExists).
 *
 * Recovery (getAllAndLock + retrieve): children, lock each (a pointer without locks is
 * marked for deletion: skipped), read its state file; any unreadable one fails the
 * recovery (RT_CKPT_STORE_ERROR_UNREADABLE) instead of restoring from less; retried when
 * the children's cversion changed meanwhile.
 *
 * Contexts of ZooKeeper calls are tracked by the RtHaClient (freed with it if their
 * session is freed first); free() releases our locks (in memory, being removed or being
 * published) with rt_ha_client_delete_guaranteed, so a store shut down while suspended
 * still releases them on reconnect (Curator retries; FLINK-10011).
 */
#ifndef RT_CKPT_STORE_ZK_H
#define RT_CKPT_STORE_ZK_H

#include "runtime/ha/rt_ckpt_store.h"
#include "runtime/ha/rt_ha_client.h"

#define RT_CKPT_STORE_ZK_MAX_ENTRIES 10000u /* pointers recovery accepts */
#define RT_CKPT_STORE_ZK_MAX_RESCANS 10u    /* recovery retries on a changed cversion */
#define RT_CKPT_ID_COUNTER_ZK_MAX_CAS 64u   /* BadVersion retries per increment */

/* <root>/jobs/<job> for the client's root (job sanitised as rt_ckpt_job_dir does). */
char *rt_ckpt_zk_job_path(const RtHaClient *client, const char *job);

/* A store for job through client (borrowed, outlives the store). ckpt_dir is
 * state.checkpoints.dir. fence: the leader's latch node (copied; used only when the
 * client's fence_writes is set); leader_session_id is reported with every publication. Empty
 * until rt_ckpt_store_recover. */
RtCkptStore *rt_ckpt_store_zk_new(RtHaClient *client, const char *ckpt_dir, const char *job,
                                  const char *fence, uint64_t leader_session_id,
                                  uint32_t num_retained, RtCkptDiscardFunc discard,
                                  void *discard_data);

/* A counter at path (absolute znode path); fence as above or NULL for a plain setData
 * (the checkpoint ID counter, as Flink's SharedCount). */
RtCkptIdCounter *rt_ckpt_id_counter_zk_new(RtHaClient *client, const char *path, const char *fence);

/* The value a started ZooKeeper counter read at start (the next id to hand out, >= 1). */
uint64_t rt_ckpt_id_counter_zk_next(const RtCkptIdCounter *counter);

/* The state file of checkpoint id (caller frees). */
char *rt_ckpt_store_zk_state_path(const RtHaClient *client, const char *job,
                                  uint64_t checkpoint_id);

#endif /* RT_CKPT_STORE_ZK_H */
