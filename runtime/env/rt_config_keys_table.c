/* rt_config_keys_table.c - the data of the key registry (rt_config_keys.h): every key
 * ckptsim knows, with Flink 1.20 / 2.x names and Flink's deprecated keys in Flink's
 * declaration order, and the value aliases (restart-strategy short names, Flink 1.x class
 * names). Sources: CheckpointingOptions, ExecutionCheckpointingOptions (1.x),
 * StateBackendOptions, RestartStrategyOptions, JobManagerOptions, HighAvailabilityOptions,
 * ExecutionOptions, NettyShuffleEnvironmentOptions, TaskManagerOptions, PipelineOptions of
 * Flink 1.20 (flink-zk.md 2.5). README.md's key list is written from this file: keep the two
 * in step. */
#include "runtime/env/rt_config_keys_internal.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define INT_MAX_U 2147483647ull

#define DUR RT_KEY_T_DURATION
#define U64 RT_KEY_T_U64
#define DBL RT_KEY_T_DOUBLE
#define BOOL RT_KEY_T_BOOL
#define SIZE RT_KEY_T_SIZE
#define CHOICE RT_KEY_T_CHOICE
#define STR RT_KEY_T_STRING
#define PATH RT_KEY_T_PATH

#define CK "execution.checkpointing."
#define RS "restart-strategy."
#define HA "high-availability."
#define ZKC "high-availability.zookeeper.client."

const RtKeyDef rt_key_table[] = {
    /* ---------------------------------------------------------------- checkpointing */
    [RT_KEY_CHECKPOINTING_INTERVAL] = {
        .name = CK "interval", .type = DUR, .min = 10 * MS, .zero_disables = true,
        .help = "periodic checkpoint interval; unset or 0: no periodic checkpoints, else at "
                "least 10 ms (Flink's MINIMAL_CHECKPOINT_TIME)"},
    [RT_KEY_CHECKPOINTING_MODE] = {
        .name = CK "mode", .type = CHOICE, .choices = "EXACTLY_ONCE|AT_LEAST_ONCE",
        .def = "EXACTLY_ONCE", .help = "checkpointing guarantee (barrier alignment or not)"},
    [RT_KEY_CHECKPOINTING_TIMEOUT] = {
        .name = CK "timeout", .type = DUR, .def = "10 min", .min = 10 * MS,
        .help = "a checkpoint not complete after this expires (at least 10 ms)"},
    [RT_KEY_CHECKPOINTING_MAX_CONCURRENT] = {
        .name = CK "max-concurrent-checkpoints", .type = U64, .def = "1", .min = 1,
        .max = 1000, .help = "checkpoints in flight at once"},
    [RT_KEY_CHECKPOINTING_MIN_PAUSE] = {
        .name = CK "min-pause", .type = DUR, .def = "0",
        .help = "least time between the end of one checkpoint and the next trigger"},
    [RT_KEY_CHECKPOINTING_TOLERABLE_FAILED] = {
        .name = CK "tolerable-failed-checkpoints", .type = U64, .def = "0", .max = INT_MAX_U,
        .help = "consecutive failed checkpoints tolerated before the job fails over"},
    [RT_KEY_UNALIGNED_ENABLED] = {
        .name = CK "unaligned.enabled", .aliases = {CK "unaligned"}, .type = BOOL,
        .def = "false", .help = "unaligned checkpoints (EXACTLY_ONCE only)"},
    [RT_KEY_UNALIGNED_FORCED] = {
        .name = CK "unaligned.forced", .type = BOOL, .def = "false",
        .help = "Flink: lifts the refusal of unaligned checkpoints for iterations and custom "
                "partitioners; ckptsim jobs have neither, so it is read and has no effect "
                "(forward and broadcast edges stay forced aligned, as in Flink)"},
    [RT_KEY_ALIGNED_CHECKPOINT_TIMEOUT] = {
        .name = CK "aligned-checkpoint-timeout", .aliases = {CK "alignment-timeout"},
        .type = DUR, .def = "0",
        .help = "with unaligned checkpoints: start aligned, switch to unaligned after this "
                "(0: unaligned at once)"},
    [RT_KEY_NUM_RETAINED] = {
        .name = CK "num-retained", .aliases = {"state.checkpoints.num-retained"}, .type = U64,
        .def = "1", .min = 1, .max = 1000, .help = "completed checkpoints retained"},
    [RT_KEY_CHECKPOINTS_DIR] = {
        .name = CK "dir", .aliases = {"state.checkpoints.dir"}, .type = PATH,
        .def = "checkpoints",
        .help = "checkpoint directory: metadata files, and the filesystem backend's snapshots "
                "(a relative path or file:///path)"},
    [RT_KEY_CHECKPOINT_STORAGE] = {
        .name = CK "storage", .aliases = {"state.checkpoint-storage"}, .type = CHOICE,
        .choices = "jobmanager|filesystem", .def = "jobmanager",
        .help = "where hashmap snapshots go: filesystem makes state.backend.type=hashmap the "
                "filesystem backend (Flink's FileSystemCheckpointStorage)"},
    /* ---------------------------------------------------------------- state backend */
    [RT_KEY_STATE_BACKEND] = {
        .name = "state.backend.type", .aliases = {"state.backend"}, .type = CHOICE,
        .choices = "hashmap|filesystem|zookeeper", .def = "hashmap",
        .help = "state backend: hashmap (snapshots to the job manager), filesystem (snapshot "
                "files under the checkpoint dir), zookeeper (ckptsim's: snapshots in znodes)"},
    [RT_KEY_ZK_STATE_ADDRESS] = {
        .name = "state.backend.zookeeper.address", .aliases = {HA "zookeeper.quorum"},
        .type = STR, .def = "127.0.0.1:2181",
        .help = "zookeeper backend: connect string (falls back to the HA quorum)"},
    [RT_KEY_ZK_STATE_PATH] = {
        .name = "state.backend.zookeeper.path", .type = STR, .def = "/ckptsim/state",
        .help = "zookeeper backend: root znode of the state"},
    [RT_KEY_ZK_STATE_CHUNK_SIZE] = {
        .name = "state.backend.zookeeper.chunk-size", .type = SIZE, .def = "512 kb",
        .help = "zookeeper backend: bytes per znode chunk"},
    [RT_KEY_ZK_STATE_MAX_SIZE] = {
        .name = "state.backend.zookeeper.max-state-size", .type = SIZE, .def = "8 mb",
        .help = "zookeeper backend: largest snapshot accepted"},
    /* ---------------------------------------------------------------- restart strategy */
    [RT_KEY_RESTART_STRATEGY] = {
        .name = RS "type", .aliases = {"restart-strategy"}, .type = CHOICE,
        .choices = "fixed-delay|none|failure-rate|exponential-delay",
        .help = "restart strategy (also fixeddelay, failurerate, exponentialdelay, off, "
                "disable); unset: exponential-delay when checkpointing is on, else none "
                "(Flink 1.19+ RestartBackoffTimeStrategyFactoryLoader)"},
    [RT_KEY_FIXED_DELAY_ATTEMPTS] = {
        .name = RS "fixed-delay.attempts", .type = U64, .def = "2147483647", .max = INT_MAX_U,
        .help = "fixed-delay: restarts before the job fails"},
    [RT_KEY_FIXED_DELAY_DELAY] = {
        .name = RS "fixed-delay.delay", .type = DUR, .def = "1 s",
        .help = "fixed-delay: delay before a restart"},
    [RT_KEY_RATE_MAX_FAILURES] = {
        .name = RS "failure-rate.max-failures-per-interval", .type = U64, .def = "1", .min = 1,
        .max = 100000, .help = "failure-rate: failures per interval before the job fails"},
    [RT_KEY_RATE_INTERVAL] = {
        .name = RS "failure-rate.failure-rate-interval", .type = DUR, .def = "1 min", .min = 1,
        .help = "failure-rate: window of the rate"},
    [RT_KEY_RATE_DELAY] = {
        .name = RS "failure-rate.delay", .type = DUR, .def = "1 s",
        .help = "failure-rate: delay before a restart"},
    [RT_KEY_EXP_INITIAL_BACKOFF] = {
        .name = RS "exponential-delay.initial-backoff", .type = DUR, .def = "1 s", .min = 1,
        .help = "exponential-delay: first backoff"},
    [RT_KEY_EXP_MAX_BACKOFF] = {
        .name = RS "exponential-delay.max-backoff", .type = DUR, .def = "1 min",
        .help = "exponential-delay: largest backoff (at least initial-backoff)"},
    [RT_KEY_EXP_MULTIPLIER] = {
        .name = RS "exponential-delay.backoff-multiplier", .type = DBL, .def = "1.5",
        .help = "exponential-delay: backoff growth per failure, > 1"},
    [RT_KEY_EXP_RESET_THRESHOLD] = {
        .name = RS "exponential-delay.reset-backoff-threshold", .type = DUR, .def = "1 h",
        .min = 1, .help = "exponential-delay: quiet time that resets the backoff"},
    [RT_KEY_EXP_JITTER] = {
        .name = RS "exponential-delay.jitter-factor", .type = DBL, .def = "0.1",
        .help = "exponential-delay: jitter as a fraction of the backoff, 0..1"},
    [RT_KEY_EXP_ATTEMPTS] = {
        .name = RS "exponential-delay.attempts-before-reset-backoff", .type = U64,
        .def = "2147483647", .min = 1, .max = INT_MAX_U,
        .help = "exponential-delay: restarts before the job fails"},
    [RT_KEY_FAILOVER_STRATEGY] = {
        .name = "jobmanager.execution.failover-strategy", .type = CHOICE,
        .choices = "full|region", .def = "region",
        .help = "Flink's default is region (RestartPipelinedRegionFailoverStrategy); ckptsim "
                "computes the regions but always restarts the whole job, which is the same "
                "whenever the job is one region (any keyBy or rebalance edge makes it one)"},
    /* ---------------------------------------------------------------- network */
    [RT_KEY_BUFFERS_PER_CHANNEL] = {
        .name = "taskmanager.network.memory.buffers-per-channel", .type = U64, .def = "2",
        .min = 1, .max = 1024, .help = "exclusive credits per input channel"},
    [RT_KEY_FLOATING_BUFFERS] = {
        .name = "taskmanager.network.memory.floating-buffers-per-gate", .type = U64,
        .def = "8", .max = 65536, .help = "floating credits shared by an input gate"},
    [RT_KEY_SEGMENT_SIZE] = {
        .name = "taskmanager.memory.segment-size", .type = SIZE, .def = "32 kb", .min = 1,
        .help = "network buffer size: records per output batch"},
    [RT_KEY_BUFFER_TIMEOUT] = {
        .name = "execution.buffer-timeout.interval", .aliases = {"execution.buffer-timeout"},
        .type = DUR, .def = "100 ms", .help = "an output buffer is flushed after this"},
    [RT_KEY_MAX_PARALLELISM] = {
        .name = "pipeline.max-parallelism", .type = U64, .min = 1, .max = 32768,
        .help = "key groups (default: derived from the parallelism, as Flink)"},
    /* ---------------------------------------------------------------- high availability */
    [RT_KEY_HA_TYPE] = {
        .name = HA "type", .aliases = {"high-availability"}, .type = CHOICE,
        .choices = "none|zookeeper", .def = "none", .help = "high-availability mode"},
    [RT_KEY_HA_QUORUM] = {
        .name = HA "zookeeper.quorum", .aliases = {"recovery.zookeeper.quorum"}, .type = STR,
        .help = "ZooKeeper servers (host:port,...)"},
    [RT_KEY_HA_ROOT] = {
        .name = HA "zookeeper.path.root", .aliases = {"recovery.zookeeper.path.root"},
        .type = STR, .def = "/flink", .help = "root znode of HA data"},
    [RT_KEY_HA_CLUSTER_ID] = {
        .name = HA "cluster-id",
        .aliases = {HA "zookeeper.path.namespace", "recovery.zookeeper.path.namespace"},
        .type = STR, .def = "/default", .help = "the cluster's znode under the root"},
    [RT_KEY_HA_STORAGE_DIR] = {
        .name = HA "storageDir",
        .aliases = {HA "zookeeper.storageDir", "recovery.zookeeper.storageDir"}, .type = PATH,
        .help = "HA metadata directory (required with HA)"},
    [RT_KEY_HA_SESSION_TIMEOUT] = {
        .name = ZKC "session-timeout", .aliases = {"recovery.zookeeper.client.session-timeout"},
        .type = DUR, .def = "60 s", .help = "ZooKeeper session timeout"},
    [RT_KEY_HA_CONNECTION_TIMEOUT] = {
        .name = ZKC "connection-timeout",
        .aliases = {"recovery.zookeeper.client.connection-timeout"}, .type = DUR,
        .def = "15 s", .help = "ZooKeeper connection timeout"},
    [RT_KEY_HA_RETRY_WAIT] = {
        .name = ZKC "retry-wait", .aliases = {"recovery.zookeeper.client.retry-wait"},
        .type = DUR, .def = "5 s", .help = "Curator retry base wait"},
    [RT_KEY_HA_MAX_RETRIES] = {
        .name = ZKC "max-retry-attempts",
        .aliases = {"recovery.zookeeper.client.max-retry-attempts"}, .type = U64, .def = "3",
        .max = 29, .help = "Curator retries (at most 29)"},
    [RT_KEY_HA_TOLERATE_SUSPENDED] = {
        .name = ZKC "tolerate-suspended-connections", .type = BOOL, .def = "false",
        .help = "keep leadership while the connection is suspended"},
    [RT_KEY_HA_FENCE_WRITES] = {
        .name = HA "zookeeper.fence-writes", .type = BOOL, .def = "false",
        .help = "ckptsim only: HA store writes also check the leader latch in their multi "
                "(Flink's ZooKeeperStateHandleStore does not: false)"},
    [RT_KEY_RECOVER_WITHOUT_HA] = {
        .name = "ckptsim.jobmanager.recover-without-ha", .type = BOOL, .def = "false",
        .help = "ckptsim only: without HA, a restarted job manager recovers its checkpoint "
                "store and counter from storage (Flink's StandaloneCompletedCheckpointStore "
                "and StandaloneCheckpointIDCounter live in memory: false)"},

    /* ------------------------------------------- known Flink keys, not modelled */
    {.name = CK "externalized-checkpoint-retention", .type = CHOICE,
     .choices = "NO_EXTERNALIZED_CHECKPOINTS|DELETE_ON_CANCELLATION|RETAIN_ON_CANCELLATION",
     .status = RT_KEY_NOTED,
     .help = "ckptsim jobs are never cancelled; retention follows "
             "execution.checkpointing.num-retained"},
    {.name = CK "incremental", .aliases = {"state.backend.incremental"}, .type = BOOL,
     .status = RT_KEY_REFUSED, .refuse_value = "true",
     .help = "incremental checkpoints are not modelled: every checkpoint is a full snapshot "
             "(use false)"},
    {.name = "state.backend.changelog.enabled", .type = BOOL, .status = RT_KEY_REFUSED,
     .refuse_value = "true",
     .help = "the changelog state backend is not modelled (use false)"},
    {.name = CK "approximate-local-recovery", .type = BOOL, .status = RT_KEY_REFUSED,
     .refuse_value = "true",
     .help = "approximate recovery gives up exactly-once and is not modelled (use false)"},
    {.name = "execution.buffer-timeout.enabled", .type = BOOL, .status = RT_KEY_REFUSED,
     .refuse_value = "false",
     .help = "flushing only full buffers is not modelled: set "
             "execution.buffer-timeout.interval instead"},
    {.name = CK "local-backup.enabled", .aliases = {"state.backend.local-recovery"},
     .type = BOOL, .status = RT_KEY_NOTED,
     .help = "task-local recovery is not modelled: restores read checkpoint storage"},
    {.name = CK "savepoint-dir", .aliases = {"state.savepoints.dir"}, .type = STR,
     .status = RT_KEY_NOTED, .help = "savepoints are not modelled"},
    {.name = CK "create-subdir", .aliases = {"state.checkpoints.create-subdir"}, .type = BOOL,
     .status = RT_KEY_NOTED, .help = "the checkpoint directory layout is ckptsim's own"},
    {.name = CK "data-inline-threshold", .aliases = {"state.storage.fs.memory-threshold"},
     .type = SIZE, .status = RT_KEY_NOTED,
     .help = "not modelled: filesystem snapshots are always files"},
    {.name = CK "write-buffer-size", .aliases = {"state.storage.fs.write-buffer-size"},
     .type = SIZE, .status = RT_KEY_NOTED, .help = "not modelled"},
    {.name = CK "snapshot-compression", .type = BOOL, .status = RT_KEY_NOTED,
     .help = "snapshot compression is not modelled"},
    {.name = CK "cleaner.parallel-mode", .type = BOOL, .status = RT_KEY_NOTED,
     .help = "not modelled: checkpoints are discarded one by one"},
    {.name = CK "interval-during-backlog", .type = DUR, .status = RT_KEY_NOTED,
     .help = "ckptsim sources have no backlog phase: execution.checkpointing.interval "
             "applies"},
    {.name = CK "checkpoints-after-tasks-finish",
     .aliases = {CK "checkpoints-after-tasks-finish.enabled"}, .type = BOOL,
     .status = RT_KEY_NOTED, .help = "not modelled"},
    {.name = CK "unaligned.max-subtasks-per-channel-state-file", .type = U64,
     .status = RT_KEY_NOTED, .help = "channel state file layout: not modelled"},
    {.name = CK "unaligned.interruptible-timers.enabled", .type = BOOL,
     .status = RT_KEY_NOTED, .help = "ckptsim operators have no timers"},
    {.name = CK "file-merging.", .type = STR, .status = RT_KEY_NOTED,
     .help = "checkpoint file merging is not modelled"},
    {.name = "state.backend.rocksdb.", .type = STR, .status = RT_KEY_NOTED,
     .help = "RocksDB options are ignored: RocksDB is not modelled"},
    {.name = "state.backend.forst.", .type = STR, .status = RT_KEY_NOTED,
     .help = "ForSt options are ignored: ForSt is not modelled"},
    {.name = "state.backend.latency-track.", .type = STR, .status = RT_KEY_NOTED,
     .help = "state latency metrics are not modelled"},
    {.name = "parallelism.default", .type = U64, .status = RT_KEY_NOTED,
     .help = "each operator's parallelism is set in its [operator] section"},
    {.name = ZKC "acl", .type = CHOICE, .choices = "open|creator", .status = RT_KEY_NOTED,
     .help = "ZooKeeper ACLs are not modelled"},
    {.name = ZKC "ensemble-tracker", .type = BOOL, .status = RT_KEY_NOTED,
     .help = "not modelled"},
    {.name = HA "zookeeper.path.", .type = STR, .status = RT_KEY_NOTED,
     .help = "the HA znode layout below the cluster id is ckptsim's own"},
    {.name = HA "jobmanager.port", .type = STR, .status = RT_KEY_NOTED,
     .help = "ports are not modelled"},
};
const size_t rt_key_table_len = G_N_ELEMENTS(rt_key_table);

#define HASHMAP_CLASS "org.apache.flink.runtime.state.hashmap.HashMapStateBackend"
#define MEMORY_CLASS "org.apache.flink.runtime.state.memory.MemoryStateBackend"
#define FS_CLASS "org.apache.flink.runtime.state.filesystem.FsStateBackend"
#define ROCKS_PKG "org.apache.flink.contrib.streaming.state."
#define STORAGE_PKG "org.apache.flink.runtime.state.storage."
#define ROCKSDB_NO                                                                         \
    "RocksDB is a Flink state backend ckptsim does not model: use hashmap or filesystem"
#define FORST_NO "ForSt is a Flink state backend ckptsim does not model: use hashmap or " \
                 "filesystem"
#define MEMORY_NOTE                                                                        \
    "Flink's deprecated MemoryStateBackend: Flink runs it as hashmap with the job "       \
    "manager's checkpoint storage, which is ckptsim's hashmap"
#define FS_NOTE                                                                            \
    "Flink's deprecated FsStateBackend: Flink maps it to hashmap with filesystem "        \
    "checkpoint storage, which is ckptsim's filesystem"

/* StateBackendLoader.loadStateBackendFromConfig: shortcut names and factory class names;
 * CheckpointStorageLoader: "jobmanager", "filesystem" or a factory class name. */
const RtValueAlias rt_value_aliases[] = {
    {RT_KEY_RESTART_STRATEGY, "fixeddelay", "fixed-delay", NULL},
    {RT_KEY_RESTART_STRATEGY, "failurerate", "failure-rate", NULL},
    {RT_KEY_RESTART_STRATEGY, "exponentialdelay", "exponential-delay", NULL},
    {RT_KEY_RESTART_STRATEGY, "off", "none", NULL},
    {RT_KEY_RESTART_STRATEGY, "disable", "none", NULL},
    {RT_KEY_STATE_BACKEND, HASHMAP_CLASS, "hashmap", "the class name of hashmap"},
    {RT_KEY_STATE_BACKEND, HASHMAP_CLASS "Factory", "hashmap", "the class name of hashmap"},
    {RT_KEY_STATE_BACKEND, "jobmanager", "hashmap", MEMORY_NOTE},
    {RT_KEY_STATE_BACKEND, MEMORY_CLASS, "hashmap", MEMORY_NOTE},
    {RT_KEY_STATE_BACKEND, MEMORY_CLASS "Factory", "hashmap", MEMORY_NOTE},
    {RT_KEY_STATE_BACKEND, FS_CLASS, "filesystem", FS_NOTE},
    {RT_KEY_STATE_BACKEND, FS_CLASS "Factory", "filesystem", FS_NOTE},
    {RT_KEY_STATE_BACKEND, "rocksdb", NULL, ROCKSDB_NO},
    {RT_KEY_STATE_BACKEND, ROCKS_PKG "EmbeddedRocksDBStateBackend", NULL, ROCKSDB_NO},
    {RT_KEY_STATE_BACKEND, ROCKS_PKG "EmbeddedRocksDBStateBackendFactory", NULL, ROCKSDB_NO},
    {RT_KEY_STATE_BACKEND, ROCKS_PKG "RocksDBStateBackend", NULL, ROCKSDB_NO},
    {RT_KEY_STATE_BACKEND, ROCKS_PKG "RocksDBStateBackendFactory", NULL, ROCKSDB_NO},
    {RT_KEY_STATE_BACKEND, "forst", NULL, FORST_NO},
    {RT_KEY_STATE_BACKEND, "org.apache.flink.state.forst.ForStStateBackendFactory", NULL,
     FORST_NO},
    {RT_KEY_CHECKPOINT_STORAGE, STORAGE_PKG "JobManagerCheckpointStorage", "jobmanager",
     "the class name of jobmanager"},
    {RT_KEY_CHECKPOINT_STORAGE, STORAGE_PKG "JobManagerCheckpointStorageFactory", "jobmanager",
     "the class name of jobmanager"},
    {RT_KEY_CHECKPOINT_STORAGE, STORAGE_PKG "FileSystemCheckpointStorage", "filesystem",
     "the class name of filesystem"},
    {RT_KEY_CHECKPOINT_STORAGE, STORAGE_PKG "FileSystemCheckpointStorageFactory", "filesystem",
     "the class name of filesystem"},
    {RT_KEY_HA_TYPE, "kubernetes", NULL,
     "Kubernetes HA is not modelled by ckptsim: use zookeeper or none"},
    {RT_KEY_HA_TYPE, "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory",
     NULL, "Kubernetes HA is not modelled by ckptsim: use zookeeper or none"},
    {RT_KEY_FAILOVER_STRATEGY, "region", "region",
     "ckptsim always restarts the whole job (Flink's RestartAllFailoverStrategy); a region "
     "failover restarts the same tasks when the job graph is one pipelined region"},
};
const size_t rt_value_aliases_len = G_N_ELEMENTS(rt_value_aliases);
