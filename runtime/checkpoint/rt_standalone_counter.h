/* rt_standalone_counter.h - the checkpoint ID counter of a job manager without high
 * availability, as Flink's StandaloneCheckpointIDCounter: an in-memory counter that
 * starts at 1 and is lost with the job manager process. A job manager restarted without
 * HA therefore starts the job's checkpoint ids (and, with the store, its checkpoints)
 * from nothing, as Flink does. The durable variant (rt_ckpt_id_counter_fs_new) is used
 * only with the ckptsim-specific key ckptsim.jobmanager.recover-without-ha = true.
 */
#ifndef RT_STANDALONE_COUNTER_H
#define RT_STANDALONE_COUNTER_H

#include "runtime/ha/rt_ckpt_store.h"

/* A counter whose first id is 1. Callbacks run from a zero-delay timer of env (the
 * asynchronous contract of rt_ckpt_store.h); free cancels them. */
RtCkptIdCounter *rt_standalone_counter_new(RtEnv *env);

#endif /* RT_STANDALONE_COUNTER_H */
