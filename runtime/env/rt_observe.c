/* rt_observe.c - names of observation event kinds (stable: traces and CSV use them). */
#include "runtime/env/rt_observe.h"

const char *rt_event_kind_name(RtEventKind kind) {
    switch (kind) {
    case RT_EV_NONE: return "none";
    case RT_EV_RECORD_EMIT: return "record_emit";
    case RT_EV_RECORD_COUNT: return "record_count";
    case RT_EV_SINK_COMMIT_RECORD: return "sink_commit_record";
    case RT_EV_CKPT_TRIGGER: return "ckpt_trigger";
    case RT_EV_CKPT_ACK: return "ckpt_ack";
    case RT_EV_CKPT_DECLINE: return "ckpt_decline";
    case RT_EV_CKPT_COMPLETE: return "ckpt_complete";
    case RT_EV_CKPT_ABORT: return "ckpt_abort";
    case RT_EV_CKPT_SUBSUMED: return "ckpt_subsumed";
    case RT_EV_BARRIER_RECEIVED: return "barrier_received";
    case RT_EV_ALIGN_START: return "align_start";
    case RT_EV_ALIGN_END: return "align_end";
    case RT_EV_SNAPSHOT_SYNC: return "snapshot_sync";
    case RT_EV_SNAPSHOT_PERSISTED: return "snapshot_persisted";
    case RT_EV_SNAPSHOT_FAILED: return "snapshot_failed";
    case RT_EV_TXN_PRECOMMIT: return "txn_precommit";
    case RT_EV_TXN_COMMIT: return "txn_commit";
    case RT_EV_TXN_ABORT: return "txn_abort";
    case RT_EV_JOB_RUNNING: return "job_running";
    case RT_EV_FAILOVER: return "failover";
    case RT_EV_RESTORE: return "restore";
    case RT_EV_JOB_FINISHED: return "job_finished";
    case RT_EV_JOB_FAILED: return "job_failed";
    case RT_EV_LEADER_GAINED: return "leader_gained";
    case RT_EV_LEADER_LOST: return "leader_lost";
    case RT_EV_CKPT_ID_ISSUED: return "ckpt_id_issued";
    case RT_EV_CKPT_PUBLISHED: return "ckpt_published";
    case RT_EV_COORD_SESSION: return "coord_session";
    case RT_EV_WORLD_CRASH: return "world_crash";
    case RT_EV_WORLD_RESTART: return "world_restart";
    case RT_EV_WORLD_FAULT: return "world_fault";
    }
    return "unknown";
}
