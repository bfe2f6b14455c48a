/* rt_config_keys.h - the one registry of configuration keys, and the one way to read them.
 *
 * Every key ckptsim knows is a row of the registry (rt_config_keys.c): its canonical name
 * (Flink 1.20 / 2.x), the older names Flink still honours in Flink's precedence, its type,
 * default, bounds and a line of help. The runtime and the checker (scenario loader, oracle,
 * reports) read a key only through rt_config_lookup() and the typed rt_config_key_*()
 * getters, by RtKeyId: no call site names a raw key string.
 *
 * Precedence is Flink's ConfigOption.withDeprecatedKeys / withFallbackKeys as
 * Configuration.getOptional applies it: the canonical key wins; else the first alias that
 * is set, in declaration order (deprecated keys first, then fallback keys). So
 * "execution.checkpointing.dir" beats "state.checkpoints.dir" whatever order they were set
 * in, and "state.checkpoints.dir" alone is honoured.
 *
 * Besides the modelled keys (RtKeyId), the registry lists Flink keys a user may write that
 * ckptsim does not model: rt_config_key_check() answers them with a note (harmless: the
 * protocol does not change) or a refusal (the key would change semantics ckptsim cannot
 * model, e.g. state.backend.type=rocksdb, execution.checkpointing.incremental=true).
 * Values have aliases too: restart-strategy.type=fixeddelay is fixed-delay, and Flink 1.x
 * class names of state backends and checkpoint storages are understood (with a note).
 */
#ifndef RT_CONFIG_KEYS_H
#define RT_CONFIG_KEYS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_config.h"

/* The modelled keys. The order is the registry's order (rt_config_keys.c). */
typedef enum RtKeyId {
    RT_KEY_CHECKPOINTING_INTERVAL,
    RT_KEY_CHECKPOINTING_MODE,
    RT_KEY_CHECKPOINTING_TIMEOUT,
    RT_KEY_CHECKPOINTING_MAX_CONCURRENT,
    RT_KEY_CHECKPOINTING_MIN_PAUSE,
    RT_KEY_CHECKPOINTING_TOLERABLE_FAILED,
    RT_KEY_UNALIGNED_ENABLED,
    RT_KEY_UNALIGNED_FORCED,
    RT_KEY_ALIGNED_CHECKPOINT_TIMEOUT,
    RT_KEY_NUM_RETAINED,
    RT_KEY_CHECKPOINTS_DIR,
    RT_KEY_CHECKPOINT_STORAGE,
    RT_KEY_STATE_BACKEND,
    RT_KEY_ZK_STATE_ADDRESS,
    RT_KEY_ZK_STATE_PATH,
    RT_KEY_ZK_STATE_CHUNK_SIZE,
    RT_KEY_ZK_STATE_MAX_SIZE,
    RT_KEY_RESTART_STRATEGY,
    RT_KEY_FIXED_DELAY_ATTEMPTS,
    RT_KEY_FIXED_DELAY_DELAY,
    RT_KEY_RATE_MAX_FAILURES,
    RT_KEY_RATE_INTERVAL,
    RT_KEY_RATE_DELAY,
    RT_KEY_EXP_INITIAL_BACKOFF,
    RT_KEY_EXP_MAX_BACKOFF,
    RT_KEY_EXP_MULTIPLIER,
    RT_KEY_EXP_RESET_THRESHOLD,
    RT_KEY_EXP_JITTER,
    RT_KEY_EXP_ATTEMPTS,
    RT_KEY_FAILOVER_STRATEGY,
    RT_KEY_BUFFERS_PER_CHANNEL,
    RT_KEY_FLOATING_BUFFERS,
    RT_KEY_SEGMENT_SIZE,
    RT_KEY_BUFFER_TIMEOUT,
    RT_KEY_MAX_PARALLELISM,
    RT_KEY_HA_TYPE,
    RT_KEY_HA_QUORUM,
    RT_KEY_HA_ROOT,
    RT_KEY_HA_CLUSTER_ID,
    RT_KEY_HA_STORAGE_DIR,
    RT_KEY_HA_SESSION_TIMEOUT,
    RT_KEY_HA_CONNECTION_TIMEOUT,
    RT_KEY_HA_RETRY_WAIT,
    RT_KEY_HA_MAX_RETRIES,
    RT_KEY_HA_TOLERATE_SUSPENDED,
    RT_KEY_HA_FENCE_WRITES,
    RT_KEY_RECOVER_WITHOUT_HA,
    RT_KEY_COUNT
} RtKeyId;

typedef enum RtKeyType {
    RT_KEY_T_STRING,   /* any non-empty text */
    RT_KEY_T_DURATION, /* Flink duration ("500 ms"; bare number = ms), bounds in ns */
    RT_KEY_T_U64,      /* unsigned integer within [min, max] (max 0 = unbounded) */
    RT_KEY_T_DOUBLE,   /* finite number >= 0 */
    RT_KEY_T_BOOL,     /* true|false (and yes/no/on/off/1/0) */
    RT_KEY_T_SIZE,     /* Flink memory size ("64 kb"; bare number = bytes) */
    RT_KEY_T_CHOICE,   /* one of choices "a|b", case-insensitive, or a value alias */
    RT_KEY_T_PATH,     /* a checkpoint directory (a relative path, or file:///path) */
} RtKeyType;

/* What ckptsim does with a key of the registry. */
typedef enum RtKeyStatus {
    RT_KEY_MODELLED, /* read by the runtime or the checker: it has an effect */
    RT_KEY_NOTED,    /* a Flink key ckptsim does not model; harmless: accepted with a note */
    RT_KEY_REFUSED,  /* a Flink key whose (refuse_value) would change what ckptsim models */
} RtKeyStatus;

#define RT_KEY_MAX_ALIASES 4

typedef struct RtKeyDef {
    const char *name;                         /* canonical; a trailing '.' = a prefix */
    const char *aliases[RT_KEY_MAX_ALIASES];  /* deprecated then fallback keys, in order */
    RtKeyType type;
    const char *choices;  /* RT_KEY_T_CHOICE: canonical values "a|b|c" */
    const char *def;      /* the default as text (README and getters), NULL = none */
    uint64_t min, max;    /* U64 / SIZE / DURATION (ns) bounds; max 0 = unbounded */
    bool zero_disables;   /* DURATION: 0 is allowed below min (it switches the feature off) */
    RtKeyStatus status;
    const char *refuse_value; /* RT_KEY_REFUSED: refused for this value ("*" = any) */
    const char *help;         /* meaning; for not-modelled keys: what to use instead */
} RtKeyDef;

/* The registry: modelled keys first (index == RtKeyId), then the known, not modelled
 * ones; *n = its length. */
const RtKeyDef *rt_config_keys(size_t *n);
/* The row of a modelled key. */
const RtKeyDef *rt_config_key_def(RtKeyId id);
/* The row that knows name (canonical, alias, or under a prefix row), or NULL; *is_alias is
 * set when name is one of its aliases (may be NULL). */
const RtKeyDef *rt_config_key_find(const char *name, bool *is_alias);

/* The effective raw value of key id under Flink's precedence, or NULL when none of its
 * names is set. *from (may be NULL) = the name that supplied it. Borrowed from cfg. */
const char *rt_config_lookup(const RtConfig *cfg, RtKeyId id);
const char *rt_config_lookup_from(const RtConfig *cfg, RtKeyId id, const char **from);

/* Typed reads with the registry's default and bounds. On a malformed or out-of-bounds
 * value: false + an RT_CONFIG_ERROR naming the key as the user wrote it. */
bool rt_config_key_duration_ns(const RtConfig *cfg, RtKeyId id, uint64_t *out, GError **error);
bool rt_config_key_u64(const RtConfig *cfg, RtKeyId id, uint64_t *out, GError **error);
bool rt_config_key_double(const RtConfig *cfg, RtKeyId id, double *out, GError **error);
bool rt_config_key_bool(const RtConfig *cfg, RtKeyId id, bool *out, GError **error);
bool rt_config_key_size_bytes(const RtConfig *cfg, RtKeyId id, uint64_t *out, GError **error);
/* *out = index of the (normalised) value among the row's choices. A refused value alias
 * (state.backend.type=rocksdb) is an error that says what to use instead. */
bool rt_config_key_choice(const RtConfig *cfg, RtKeyId id, unsigned *out, GError **error);
/* The raw string value or the registry default (NULL when neither). */
const char *rt_config_key_string(const RtConfig *cfg, RtKeyId id);
/* A directory key (RT_KEY_T_PATH) as a storage path: Flink's URI form "file:///ckpt/" and
 * "/ckpt" both give "ckpt". Newly allocated; NULL when unset without a default, or on an
 * invalid path (then *error is set). */
char *rt_config_key_dir(const RtConfig *cfg, RtKeyId id, GError **error);

/* The checkpoint storage the effective state backend writes to, as Flink's
 * StateBackendLoader + CheckpointStorageLoader combine state.backend.type with
 * execution.checkpointing.storage. */
typedef enum RtBackendKind {
    RT_BACKEND_HASHMAP,    /* HashMapStateBackend + JobManagerCheckpointStorage */
    RT_BACKEND_FILESYSTEM, /* HashMapStateBackend + FileSystemCheckpointStorage */
    RT_BACKEND_ZOOKEEPER,  /* ckptsim's own: snapshots in ZooKeeper */
} RtBackendKind;
bool rt_config_backend_kind(const RtConfig *cfg, RtBackendKind *out, GError **error);
/* "hashmap", "filesystem", "zookeeper". */
const char *rt_backend_kind_name(RtBackendKind kind);

/* The checker's verdict on one key = value a user wrote. */
typedef enum RtKeyVerdict {
    RT_KEY_OK,        /* modelled, value valid */
    RT_KEY_NOTE,      /* accepted, *msg says why it changes nothing or what it means */
    RT_KEY_BAD,       /* refused: bad value, or semantics ckptsim does not model (*msg) */
    RT_KEY_UNKNOWN,   /* not a key of the registry (*msg: a "did you mean" hint) */
} RtKeyVerdict;
/* Checks key = value. *msg = NULL or a newly allocated message. Deprecated names get a
 * note naming the canonical key. */
RtKeyVerdict rt_config_key_check(const char *key, const char *value, char **msg);

/* Every name of the registry (canonical and aliases), NULL-terminated; free the array
 * (not the strings) with g_free. */
const char **rt_config_key_names(void);

#endif /* RT_CONFIG_KEYS_H */
