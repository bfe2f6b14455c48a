/* rt_bugs.c - the table of planted bugs (see rt_bugs.h). */
#include "runtime/env/rt_bugs.h"

#include <stddef.h>
#include <string.h>

static const RtBugInfo bugs[] = {
    {RT_BUG_SNAPSHOT_ON_FIRST_BARRIER, "snapshot-on-first-barrier",
     "aligned barrier handler snapshots on the first barrier instead of the last",
     "consistent-cut"},
    {RT_BUG_SKIP_SOURCE_REWIND, "skip-source-rewind",
     "recovery keeps the sources' current offsets instead of the checkpoint's", "exactly-once"},
    {RT_BUG_SINK_COMMIT_ON_PRECOMMIT, "sink-commit-on-precommit",
     "two-phase-commit sink commits its transaction in the snapshot, before completion",
     "exactly-once"},
    {RT_BUG_RESTORE_OLDER_CHECKPOINT, "restore-older-checkpoint",
     "recovery restores the second-latest completed checkpoint", "ha-safety"},
    {RT_BUG_ACK_BEFORE_FSYNC, "ack-before-fsync",
     "a subtask acknowledges its snapshot before the snapshot file is durable",
     "consistent-cut"},
    {RT_BUG_NONFIFO_NETWORK, "nonfifo-network", "the network may reorder messages on a channel",
     "consistent-cut"},
    {RT_BUG_DROP_CHANNEL_STATE, "drop-channel-state",
     "unaligned snapshots omit the in-flight channel state", "consistent-cut"},
    {RT_BUG_FENCE_FIRST_TRY_ONLY, "fence-first-try-only",
     "with fence-writes, only a publish's first try checks the leader latch: a retry on a "
     "new session lets a zombie leader publish",
     "ha-safety"},
    {RT_BUG_MAPSTATE_RESTORE_SKIPS_KEYGROUP, "mapstate-restore-skips-keygroup",
     "MapState restore skips the rows of the first key group of the subtask's range",
     "consistent-cut"},
    {RT_BUG_LISTSTATE_RESTORE_REORDERS, "liststate-restore-reorders",
     "ListState restore prepends each element, so restored lists come back reversed",
     "consistent-cut"},
    {RT_BUG_SNAPSHOT_SKIPS_LAST_KEYGROUP, "snapshot-skips-last-keygroup",
     "the keyed-state snapshot loop stops one key group short of the subtask's range",
     "consistent-cut"},
    {RT_BUG_LISTSTATE_TRIM_OFF_BY_ONE, "liststate-trim-off-by-one",
     "the listmap operator trims a full ListState to one element fewer than it keeps",
     "consistent-cut"},
    {RT_BUG_MAPSTATE_LOOKUP_MISSES, "mapstate-lookup-misses",
     "MapState get's binary search never looks at the last entry, so it misses",
     "consistent-cut"},
    {RT_BUG_SINK_RECOMMIT_ON_DUPLICATE_NOTIFY, "sink-recommit-on-duplicate-notify",
     "a duplicated notification makes the sink commit its last transaction again",
     "exactly-once"},
    {RT_BUG_SINK_SKIP_COMMIT_DIR_FSYNC, "sink-skip-commit-dir-fsync",
     "the sink's commit skips the fsync of its directory: a crash can undo the rename",
     "exactly-once"},
    {RT_BUG_STALE_OUTPUT_AFTER_RESTORE, "stale-output-after-restore",
     "after a restore a counter subtask emits n-1 instead of n for its first record",
     "exactly-once"},
    {RT_BUG_BROADCAST_MISROUTE, "broadcast-misroute",
     "a broadcast sends every 64th record twice to subtask 0 and never to the last subtask",
     "exactly-once"},
    {RT_BUG_ALIGNMENT_TIMEOUT_NEVER_SWITCHES, "alignment-timeout-never-switches",
     "the aligned-checkpoint timeout fires but the alignment never switches to unaligned",
     "liveness"},
    {RT_BUG_JM_IGNORES_SESSION_EXPIRY, "jm-ignores-session-expiry",
     "a leading job manager ignores its ZooKeeper session's expiry and keeps leading",
     /* Unfenced (Flink's default) the zombie's completions are facts; what it breaks is
      * the sinks: its notifications commit what the new leader replays. */
     "exactly-once"},
    {RT_BUG_NOTIFY_BEFORE_PUBLISH, "notify-before-publish",
     "subtasks are notified of a checkpoint before it is published in the store",
     /* The early commit empties the sink's pre-committed transactions of a checkpoint
      * that is then not published: the next completed checkpoint is no cut. */
     "consistent-cut"},
    {RT_BUG_SUBSUME_BEFORE_PUBLISH, "subsume-before-publish",
     "the store removes the older checkpoints before the new one is durably published",
     "exactly-once"},
    {RT_BUG_RESTORE_FROM_EMPTY_ON_UNREADABLE, "restore-from-empty-on-unreadable",
     "recovery treats an unreadable store entry as an empty store and restarts from nothing",
     "ha-safety"},
    /* The bug museum: one bug per Flink ticket (scenarios/museum/<ticket>.ini). */
    {RT_BUG_FLINK_24543, "FLINK-24543",
     "a retried publish that answers NodeExists is taken as a failure and its state "
     "discarded while ZooKeeper points at it",
     "liveness"},
    {RT_BUG_FLINK_22494, "FLINK-22494",
     "a publish whose outcome is unknown discards its state although it may be committed",
     "liveness"},
    {RT_BUG_FLINK_26284, "FLINK-26284",
     "subsumption deletes the state files before marking the pointer for deletion",
     "liveness"},
    {RT_BUG_FLINK_7783, "FLINK-7783",
     "recovery skips an unreadable checkpoint and restores an older one (FLINK-5940's "
     "fallback)",
     "ha-safety"},
    {RT_BUG_FLINK_25486, "FLINK-25486",
     "a job manager that loses leadership clears all HA data of the job as if it were "
     "terminal",
     "liveness"},
    {RT_BUG_FLINK_14091, "FLINK-14091",
     "the checkpoint ID counter stays SUSPENDED after a reconnect: no checkpoint ever again",
     "liveness"},
    {RT_BUG_FLINK_10011, "FLINK-10011",
     "a job manager that loses leadership keeps its checkpoint locks: the new leader cannot "
     "remove subsumed checkpoints",
     "ha-hygiene"},
    {RT_BUG_FLINK_10052, "FLINK-10052",
     "leadership is revoked on every SUSPENDED even with tolerate-suspended-connections",
     /* In the standard scenarios (a dozen blips, not the museum's stream of them) the
      * needless leader changes leave a deposed leader's locks behind; the museum's
      * scenario catches it as liveness (sim_museum.c). */
     "ha-hygiene"},
    {RT_BUG_FLINK_10377, "FLINK-10377",
     "the two-phase-commit sink commits only the transaction of the exactly notified id",
     "exactly-once"},
    {RT_BUG_FLINK_20645, "FLINK-20645",
     "an input channel stops recording unaligned channel state at any barrier or cancel "
     "marker, a stale one of an older checkpoint too",
     "consistent-cut"},
    {RT_BUG_FLINK_7784, "FLINK-7784",
     "the commit of a transaction the external system aborted (transaction timeout) fails "
     "the task, on every restore again: a recovery loop",
     "liveness"},
    /* --- flinkrt: mistakes in the Flink-behaviour code --- */
    {RT_BUG_UNALIGNED_ON_FORWARD, "unaligned-on-forward",
     "unaligned barriers overtake data on forward/broadcast edges without recording it as "
     "channel state",
     /* The overtaken records are in neither the snapshot nor its channel state: the
      * completed checkpoint is no cut (a restore from it would then lose them). */
     "consistent-cut"},
    {RT_BUG_SWITCH_FORGETS_BLOCKED, "switch-forgets-blocked",
     "the switch to unaligned on the alignment timeout forgets the channels it keeps "
     "blocked, so they are never resumed", "liveness"},
    {RT_BUG_SINK_TIMEOUT_UNITS, "sink-timeout-units",
     "the sink's transaction timeout, a count of milliseconds, is compared as nanoseconds "
     "(15 min becomes 0.9 ms)", "exactly-once"},
    {RT_BUG_HA_SKIPS_STORE_RECOVERY, "ha-skips-store-recovery",
     "a new HA leader skips the completed-checkpoint store recovery, as if it were standalone",
     "liveness"},
    /* --- end flinkrt --- */
    {0, NULL, NULL, NULL},
};

const RtBugInfo *rt_bugs_table(void) {
    return bugs;
}

uint64_t rt_bug_by_name(const char *name) {
    for (const RtBugInfo *b = bugs; b->name != NULL; b++)
        if (strcmp(b->name, name) == 0)
            return b->bug;
    return 0;
}
