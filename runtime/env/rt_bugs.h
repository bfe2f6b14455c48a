/* rt_bugs.h - planted protocol bugs.
 *
 * Named, off-by-default deviations from the correct protocol. They exist so that the
 * harness can prove the oracle catches each of them in a seed sweep: a checker that
 * cannot fail is no checker. The host sets RtEnv.bugs; runtime code tests a flag with
 * rt_bug_on(env, RT_BUG_...). Never enabled in production paths by default.
 */
#ifndef RT_BUGS_H
#define RT_BUGS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum RtBug {
    RT_BUG_SNAPSHOT_ON_FIRST_BARRIER = 1u << 0, /* aligned handler snapshots on the first barrier */
    RT_BUG_SKIP_SOURCE_REWIND = 1u << 1,        /* recovery does not rewind source offsets */
    RT_BUG_SINK_COMMIT_ON_PRECOMMIT = 1u << 2,  /* 2PC sink commits in the snapshot */
    RT_BUG_RESTORE_OLDER_CHECKPOINT = 1u << 3,  /* recovery restores the second-latest checkpoint */
    RT_BUG_ACK_BEFORE_FSYNC = 1u << 4,          /* snapshot acked before its file is durable */
    RT_BUG_NONFIFO_NETWORK = 1u << 5,           /* the network reorders messages (world bug) */
    RT_BUG_DROP_CHANNEL_STATE = 1u << 6,        /* unaligned snapshots omit channel state */
    RT_BUG_FENCE_FIRST_TRY_ONLY = 1u << 7,      /* fenced HA publish: retries skip the check */
    /* --- flinkrt: Flink-behaviour planted bugs (one block, high bits) --- */
    RT_BUG_UNALIGNED_ON_FORWARD = 1u << 24,     /* forward/broadcast: barrier overtakes, no capture */
    RT_BUG_SWITCH_FORGETS_BLOCKED = 1u << 25,   /* unaligned switch forgets its blocked channels */
    RT_BUG_SINK_TIMEOUT_UNITS = 1u << 26,       /* sink transaction timeout taken in ms as ns */
    RT_BUG_HA_SKIPS_STORE_RECOVERY = 1u << 27,  /* a new HA leader treats its store as standalone */
    /* --- end flinkrt --- */
    RT_BUG_MAPSTATE_RESTORE_SKIPS_KEYGROUP = 1u << 8, /* MapState restore skips a key group */
    RT_BUG_LISTSTATE_RESTORE_REORDERS = 1u << 9,      /* ListState restored in reverse */
    RT_BUG_SNAPSHOT_SKIPS_LAST_KEYGROUP = 1u << 10,   /* keyed snapshot misses a key group */
    RT_BUG_LISTSTATE_TRIM_OFF_BY_ONE = 1u << 11,      /* listmap trims its list one short */
    RT_BUG_MAPSTATE_LOOKUP_MISSES = 1u << 12,         /* MapState get misses the last entry */
    RT_BUG_SINK_RECOMMIT_ON_DUPLICATE_NOTIFY = 1u << 13, /* sink commits a txn again */
    RT_BUG_SINK_SKIP_COMMIT_DIR_FSYNC = 1u << 14,     /* commit rename never made durable */
    RT_BUG_STALE_OUTPUT_AFTER_RESTORE = 1u << 15,     /* counter emits n-1 once after restore */
    RT_BUG_BROADCAST_MISROUTE = 1u << 16,             /* broadcast skips a subtask, doubles one */
    RT_BUG_ALIGNMENT_TIMEOUT_NEVER_SWITCHES = 1u << 17, /* alignment timer does nothing */
    RT_BUG_JM_IGNORES_SESSION_EXPIRY = 1u << 18,      /* leader keeps leading when expired */
    RT_BUG_NOTIFY_BEFORE_PUBLISH = 1u << 19,          /* notify before the store has it */
    RT_BUG_SUBSUME_BEFORE_PUBLISH = 1u << 20,         /* old checkpoints removed first */
    RT_BUG_RESTORE_FROM_EMPTY_ON_UNREADABLE = 1u << 21, /* unreadable store = empty store */
} RtBug;

/* The bug museum (sim/harness/sim_museum.c): one planted bug per real Flink ticket,
 * named after it. Bits 40 and up, so other tables can grow without colliding. */
#define RT_BUG_FLINK_24543 (UINT64_C(1) << 40) /* retried publish: NodeExists = failure */
#define RT_BUG_FLINK_22494 (UINT64_C(1) << 41) /* unknown publish outcome: state discarded */
#define RT_BUG_FLINK_26284 (UINT64_C(1) << 42) /* files deleted before marked for deletion */
#define RT_BUG_FLINK_7783 (UINT64_C(1) << 43)  /* recovery skips an unreadable checkpoint */
#define RT_BUG_FLINK_25486 (UINT64_C(1) << 44) /* a suspended leader clears all HA data */
#define RT_BUG_FLINK_14091 (UINT64_C(1) << 45) /* ID counter stuck SUSPENDED */
#define RT_BUG_FLINK_10011 (UINT64_C(1) << 46) /* a former leader keeps its locks */
#define RT_BUG_FLINK_10052 (UINT64_C(1) << 47) /* leadership revoked on every SUSPENDED */
#define RT_BUG_FLINK_10377 (UINT64_C(1) << 48) /* the sink commits only the notified id */
#define RT_BUG_FLINK_20645 (UINT64_C(1) << 49) /* unaligned capture stops on a stale barrier */
#define RT_BUG_FLINK_7784 (UINT64_C(1) << 50)  /* a timed-out transaction's commit fails the task */

typedef struct RtBugInfo {
    uint64_t bug;            /* an RtBug or an RT_BUG_FLINK_* bit */
    const char *name;        /* stable: the --bug NAME of the command line */
    const char *description; /* one line */
    const char *invariant;   /* the oracle invariant expected to catch it */
} RtBugInfo;

/* The table of planted bugs, terminated by an entry with name NULL. */
const RtBugInfo *rt_bugs_table(void);
/* Looks a bug up by name; returns 0 if unknown. */
uint64_t rt_bug_by_name(const char *name);

#define rt_bug_on(env, b) (((env)->bugs & (uint64_t)(b)) != 0)

#endif /* RT_BUGS_H */
