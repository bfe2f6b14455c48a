/* rt_ckpt_store_fs.h - the completed-checkpoint store and checkpoint ID counter without
 * high availability: both live in durable storage (RtStorage), as Flink's filesystem
 * checkpoint storage with a standalone job manager, but surviving a job manager restart.
 *
 * Layout under <dir>/<job> (dir = state.checkpoints.dir, job sanitised as the state
 * backend does):
 *   chk-<id>/_metadata     a completed checkpoint (rt_ckpt_metadata.h); it exists iff the
 *                          checkpoint is published: written to _metadata.tmp, fsynced,
 *                          renamed, directory fsynced (rt_atomic_write)
 *   checkpoint-counter     the next checkpoint id (rt_atomic_file.h durable number)
 * A chk-<id> directory without _metadata is a checkpoint that never completed (its
 * subtasks' snapshot files may be there) or was subsumed; recovery ignores it. Since the
 * counter is durable before an id is used, recovery reads the counter and probes
 * chk-1 .. chk-(counter-1) (RtStorage lists files, not directories). It fails loudly
 * (RT_CKPT_STORE_ERROR_UNREADABLE) if any _metadata cannot be read or decoded, or if
 * the counter file is corrupt.
 */
#ifndef RT_CKPT_STORE_FS_H
#define RT_CKPT_STORE_FS_H

#include "runtime/ha/rt_ckpt_store.h"

/* Most checkpoint ids recovery probes (a limit on everything). */
#define RT_CKPT_STORE_FS_MAX_ENTRIES 100000u

/* A store over <dir>/<job>. Empty until rt_ckpt_store_recover. */
RtCkptStore *rt_ckpt_store_fs_new(RtEnv *env, const char *dir, const char *job,
                                  uint32_t num_retained, RtCkptDiscardFunc discard,
                                  void *discard_data);

/* A counter in <dir>/<job>/checkpoint-counter. */
RtCkptIdCounter *rt_ckpt_id_counter_fs_new(RtEnv *env, const char *dir, const char *job);

/* Path of the counter file (caller frees). */
char *rt_ckpt_id_counter_fs_path(const char *dir, const char *job);

#endif /* RT_CKPT_STORE_FS_H */
