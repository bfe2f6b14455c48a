/* test_config_keys.c - the key registry (runtime/env/rt_config_keys.h): Flink's precedence
 * (canonical beats deprecated whatever the order they were set in; a deprecated key alone is
 * honoured; among deprecated keys, declaration order), refusals with what to use instead
 * (rocksdb, incremental), value aliases and Flink 1.x class names, bounds as Flink's, the
 * registry's own consistency (defaults parse and match the runtime's constants, no name
 * twice), and the Flink 1.20/2.x keys a user writes that must be accepted. */
#include <check.h>
#include <string.h>

#include "runtime/coord/rt_coord.h"
#include "runtime/env/rt_config_keys.h"
#include "runtime/ha/rt_ha_client.h"
#include "runtime/state/rt_backend_zk.h"
#include "tests/support/test_check.h"

static RtConfig *config_of(const char *const *kv) {
    RtConfig *cfg = rt_config_new();
    for (size_t i = 0; kv[i] != NULL; i += 2)
        rt_config_set(cfg, kv[i], kv[i + 1]);
    return cfg;
}

START_TEST(test_canonical_beats_deprecated_in_any_order) {
    const char *a[] = {"state.checkpoints.dir", "old", "execution.checkpointing.dir", "new",
                       NULL};
    const char *b[] = {"execution.checkpointing.dir", "new", "state.checkpoints.dir", "old",
                       NULL};
    const char *const *orders[] = {a, b};
    for (size_t i = 0; i < 2; i++) {
        RtConfig *cfg = config_of(orders[i]);
        const char *from = NULL;
        ck_assert_str_eq(rt_config_lookup_from(cfg, RT_KEY_CHECKPOINTS_DIR, &from), "new");
        ck_assert_str_eq(from, "execution.checkpointing.dir");
        char *dir = rt_config_key_dir(cfg, RT_KEY_CHECKPOINTS_DIR, NULL);
        ck_assert_str_eq(dir, "new");
        g_free(dir);
        rt_config_free(cfg);
    }
    const char *n[] = {"state.checkpoints.num-retained", "7",
                       "execution.checkpointing.num-retained", "3", NULL};
    RtConfig *cfg = config_of(n);
    uint64_t v = 0;
    ck_assert(rt_config_key_u64(cfg, RT_KEY_NUM_RETAINED, &v, NULL));
    ck_assert_uint_eq(v, 3);
    rt_config_free(cfg);
}
END_TEST

START_TEST(test_deprecated_alone_is_honoured) {
    const char *kv[] = {"state.checkpoints.dir", "file:///old/", "state.backend", "filesystem",
                        "execution.checkpointing.alignment-timeout", "30 ms",
                        "execution.buffer-timeout", "7 ms", "restart-strategy", "none", NULL};
    RtConfig *cfg = config_of(kv);
    char *dir = rt_config_key_dir(cfg, RT_KEY_CHECKPOINTS_DIR, NULL);
    ck_assert_str_eq(dir, "old");
    g_free(dir);
    RtBackendKind kind = RT_BACKEND_HASHMAP;
    ck_assert(rt_config_backend_kind(cfg, &kind, NULL));
    ck_assert_int_eq(kind, RT_BACKEND_FILESYSTEM);
    uint64_t ns = 0;
    ck_assert(rt_config_key_duration_ns(cfg, RT_KEY_ALIGNED_CHECKPOINT_TIMEOUT, &ns, NULL));
    ck_assert_uint_eq(ns, 30000000u);
    ck_assert(rt_config_key_duration_ns(cfg, RT_KEY_BUFFER_TIMEOUT, &ns, NULL));
    ck_assert_uint_eq(ns, 7000000u);
    unsigned c = 0;
    ck_assert(rt_config_key_choice(cfg, RT_KEY_RESTART_STRATEGY, &c, NULL));
    ck_assert_uint_eq(c, 1); /* none */
    rt_config_free(cfg);
}
END_TEST

START_TEST(test_deprecated_keys_in_declaration_order) {
    /* cluster-id: deprecated high-availability.zookeeper.path.namespace, then
     * recovery.zookeeper.path.namespace. */
    const char *kv[] = {"recovery.zookeeper.path.namespace", "/second",
                        "high-availability.zookeeper.path.namespace", "/first", NULL};
    RtConfig *cfg = config_of(kv);
    ck_assert_str_eq(rt_config_key_string(cfg, RT_KEY_HA_CLUSTER_ID), "/first");
    rt_config_set(cfg, "high-availability.cluster-id", "/canonical");
    ck_assert_str_eq(rt_config_key_string(cfg, RT_KEY_HA_CLUSTER_ID), "/canonical");
    rt_config_free(cfg);
    RtConfig *empty = rt_config_new();
    ck_assert_str_eq(rt_config_key_string(empty, RT_KEY_HA_CLUSTER_ID), "/default");
    ck_assert_ptr_null(rt_config_lookup(empty, RT_KEY_HA_CLUSTER_ID));
    rt_config_free(empty);
}
END_TEST

static void expect_bad(const char *key, const char *value, const char *needle) {
    char *msg = NULL;
    ck_assert_int_eq(rt_config_key_check(key, value, &msg), RT_KEY_BAD);
    ck_assert_msg(msg != NULL && strstr(msg, needle) != NULL, "%s=%s: '%s' lacks '%s'", key,
                  value, msg ? msg : "", needle);
    g_free(msg);
}

START_TEST(test_refusals_say_what_to_use) {
    expect_bad("state.backend.type", "rocksdb", "RocksDB");
    expect_bad("state.backend.type", "rocksdb", "use hashmap or filesystem");
    expect_bad("state.backend", "org.apache.flink.contrib.streaming.state."
                                "EmbeddedRocksDBStateBackendFactory", "RocksDB");
    expect_bad("state.backend.type", "forst", "ForSt");
    expect_bad("execution.checkpointing.incremental", "true", "not modelled");
    expect_bad("state.backend.incremental", "true", "full snapshot");
    expect_bad("high-availability.type", "kubernetes", "use zookeeper or none");
    expect_bad("execution.checkpointing.interval", "5 ms", "at least 10 ms");
    expect_bad("execution.checkpointing.timeout", "9 ms", "at least 10 ms");
    expect_bad("execution.checkpointing.max-concurrent-checkpoints", "0", "between 1 and");
    expect_bad("restart-strategy.type", "sometimes", "expected one of");
    char *msg = NULL;
    ck_assert_int_eq(rt_config_key_check("execution.checkpointing.incremental", "false", &msg),
                     RT_KEY_OK);
    ck_assert_int_eq(rt_config_key_check("execution.checkpointing.interval", "0", &msg),
                     RT_KEY_OK);
    ck_assert_int_eq(rt_config_key_check("execution.checkpointing.interval", "10 ms", &msg),
                     RT_KEY_OK);
    ck_assert_int_eq(rt_config_key_check("execution.checkpoint.interval", "1 s", &msg),
                     RT_KEY_UNKNOWN);
    /* The runtime refuses the same way (a --set or a config built in code). */
    const char *kv[] = {"state.backend.type", "RocksDB", NULL};
    RtConfig *cfg = config_of(kv);
    RtBackendKind kind;
    GError *err = NULL;
    ck_assert(!rt_config_backend_kind(cfg, &kind, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "state.backend.type"));
    ck_assert_ptr_nonnull(strstr(err->message, "does not model"));
    g_clear_error(&err);
    rt_config_set(cfg, "execution.checkpointing.interval", "5 ms");
    uint64_t ns = 0;
    ck_assert(!rt_config_key_duration_ns(cfg, RT_KEY_CHECKPOINTING_INTERVAL, &ns, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "execution.checkpointing.interval"));
    g_clear_error(&err);
    rt_config_free(cfg);
}
END_TEST

static RtBackendKind kind_of(const char *backend, const char *storage) {
    RtConfig *cfg = rt_config_new();
    if (backend != NULL)
        rt_config_set(cfg, "state.backend", backend);
    if (storage != NULL)
        rt_config_set(cfg, "execution.checkpointing.storage", storage);
    RtBackendKind kind = RT_BACKEND_ZOOKEEPER;
    GError *err = NULL;
    ck_assert_msg(rt_config_backend_kind(cfg, &kind, &err), "%s", err ? err->message : "");
    rt_config_free(cfg);
    return kind;
}

START_TEST(test_class_names_and_storage) {
    const char *hm = "org.apache.flink.runtime.state.hashmap.HashMapStateBackend";
    const char *fs = "org.apache.flink.runtime.state.filesystem.FsStateBackend";
    const char *mem = "org.apache.flink.runtime.state.memory.MemoryStateBackend";
    ck_assert_int_eq(kind_of(NULL, NULL), RT_BACKEND_HASHMAP);
    ck_assert_int_eq(kind_of(hm, NULL), RT_BACKEND_HASHMAP);
    ck_assert_int_eq(kind_of("org.apache.flink.runtime.state.hashmap.HashMapStateBackendFactory",
                             NULL), RT_BACKEND_HASHMAP);
    ck_assert_int_eq(kind_of(mem, NULL), RT_BACKEND_HASHMAP);
    ck_assert_int_eq(kind_of("jobmanager", NULL), RT_BACKEND_HASHMAP);
    /* FsStateBackend: hashmap with filesystem checkpoint storage, as Flink maps it; a legacy
     * backend is its own storage (CheckpointStorageLoader). */
    ck_assert_int_eq(kind_of(fs, NULL), RT_BACKEND_FILESYSTEM);
    ck_assert_int_eq(kind_of(fs, "jobmanager"), RT_BACKEND_FILESYSTEM);
    ck_assert_int_eq(kind_of("hashmap", "filesystem"), RT_BACKEND_FILESYSTEM);
    ck_assert_int_eq(kind_of(hm, "org.apache.flink.runtime.state.storage."
                                 "FileSystemCheckpointStorage"), RT_BACKEND_FILESYSTEM);
    ck_assert_int_eq(kind_of("HASHMAP", "jobmanager"), RT_BACKEND_HASHMAP);
    ck_assert_int_eq(kind_of("zookeeper", "filesystem"), RT_BACKEND_ZOOKEEPER);
    char *msg = NULL;
    ck_assert_int_eq(rt_config_key_check("state.backend.type", fs, &msg), RT_KEY_NOTE);
    ck_assert_ptr_nonnull(strstr(msg, "deprecated FsStateBackend"));
    g_free(msg);
    ck_assert_int_eq(rt_config_key_check("state.backend", "hashmap", &msg), RT_KEY_NOTE);
    ck_assert_ptr_nonnull(strstr(msg, "state.backend.type"));
    g_free(msg);
}
END_TEST

START_TEST(test_restart_strategy_values) {
    static const struct {
        const char *value;
        unsigned choice; /* fixed-delay|none|failure-rate|exponential-delay */
    } cases[] = {
        {"fixeddelay", 0},   {"fixed-delay", 0},        {"none", 1},
        {"off", 1},          {"disable", 1},            {"failurerate", 2},
        {"failure-rate", 2}, {"exponentialdelay", 3},   {"exponential-delay", 3},
        {"FixedDelay", 0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        RtConfig *cfg = rt_config_new();
        rt_config_set(cfg, "restart-strategy.type", cases[i].value);
        unsigned c = 99;
        ck_assert_msg(rt_config_key_choice(cfg, RT_KEY_RESTART_STRATEGY, &c, NULL), "%s",
                      cases[i].value);
        ck_assert_uint_eq(c, cases[i].choice);
        rt_config_free(cfg);
    }
}
END_TEST

/* The keys of issue 8 that must run (exit 0 or 1), and harmless ones answered with a note. */
START_TEST(test_flink_keys_accepted) {
    static const char *const ok[][2] = {
        {"jobmanager.execution.failover-strategy", "full"},
        {"jobmanager.execution.failover-strategy", "region"},
        {"restart-strategy.type", "exponentialdelay"},
        {"restart-strategy.type", "fixeddelay"},
        {"execution.buffer-timeout.interval", "100ms"},
        {"execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION"},
        {"execution.checkpointing.unaligned.forced", "true"},
        {"execution.checkpointing.storage", "filesystem"},
        {"taskmanager.memory.segment-size", "64 kb"},
        {"taskmanager.network.memory.floating-buffers-per-gate", "4"},
        {"state.backend.rocksdb.memory.managed", "true"},
        {"high-availability", "zookeeper"},
        {"recovery.zookeeper.quorum", "zk:2181"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        char *msg = NULL;
        RtKeyVerdict v = rt_config_key_check(ok[i][0], ok[i][1], &msg);
        ck_assert_msg(v == RT_KEY_OK || v == RT_KEY_NOTE, "%s=%s: %d %s", ok[i][0], ok[i][1],
                      v, msg ? msg : "");
        g_free(msg);
    }
    char *msg = NULL;
    ck_assert_int_eq(rt_config_key_check("jobmanager.execution.failover-strategy", "region",
                                         &msg), RT_KEY_NOTE);
    ck_assert_ptr_nonnull(strstr(msg, "whole job"));
    g_free(msg);
}
END_TEST

START_TEST(test_registry_consistent) {
    size_t n = 0;
    const RtKeyDef *keys = rt_config_keys(&n);
    ck_assert_uint_gt(n, RT_KEY_COUNT);
    for (unsigned id = 0; id < RT_KEY_COUNT; id++) {
        const RtKeyDef *d = rt_config_key_def((RtKeyId)id);
        ck_assert_msg(d->name != NULL && d->status == RT_KEY_MODELLED, "row %u", id);
        bool alias = true;
        ck_assert_ptr_eq(rt_config_key_find(d->name, &alias), d);
        ck_assert(!alias);
    }
    /* Every default parses under its own type and bounds. */
    RtConfig *empty = rt_config_new();
    for (unsigned id = 0; id < RT_KEY_COUNT; id++) {
        const RtKeyDef *d = rt_config_key_def((RtKeyId)id);
        char *msg = NULL;
        if (d->def != NULL)
            ck_assert_msg(rt_config_key_check(d->name, d->def, &msg) != RT_KEY_BAD, "%s: %s",
                          d->name, msg);
        g_free(msg);
    }
    /* No name twice. */
    const char **names = rt_config_key_names();
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (const char **p = names; *p != NULL; p++)
        ck_assert_msg(g_hash_table_add(seen, (gpointer)*p), "'%s' twice", *p);
    g_hash_table_destroy(seen);
    g_free(names);
    /* The defaults the runtime's constants name. */
    uint64_t v = 0;
    ck_assert(rt_config_key_duration_ns(empty, RT_KEY_HA_SESSION_TIMEOUT, &v, NULL));
    ck_assert_uint_eq(v, RT_COORD_DEFAULT_SESSION_TIMEOUT_NS);
    ck_assert(rt_config_key_duration_ns(empty, RT_KEY_HA_CONNECTION_TIMEOUT, &v, NULL));
    ck_assert_uint_eq(v, RT_COORD_DEFAULT_CONNECT_TIMEOUT_NS);
    ck_assert(rt_config_key_duration_ns(empty, RT_KEY_HA_RETRY_WAIT, &v, NULL));
    ck_assert_uint_eq(v, RT_HA_DEFAULT_RETRY_WAIT_NS);
    ck_assert(rt_config_key_u64(empty, RT_KEY_HA_MAX_RETRIES, &v, NULL));
    ck_assert_uint_eq(v, RT_HA_DEFAULT_MAX_RETRIES);
    ck_assert(rt_config_key_size_bytes(empty, RT_KEY_ZK_STATE_CHUNK_SIZE, &v, NULL));
    ck_assert_uint_eq(v, RT_BACKEND_ZK_DEFAULT_CHUNK_BYTES);
    ck_assert(rt_config_key_size_bytes(empty, RT_KEY_ZK_STATE_MAX_SIZE, &v, NULL));
    ck_assert_uint_eq(v, RT_BACKEND_ZK_DEFAULT_MAX_STATE_BYTES);
    ck_assert_str_eq(rt_config_key_string(empty, RT_KEY_ZK_STATE_PATH),
                     RT_BACKEND_ZK_DEFAULT_ROOT);
    ck_assert_str_eq(rt_config_key_string(empty, RT_KEY_ZK_STATE_ADDRESS),
                     RT_BACKEND_ZK_DEFAULT_ADDRESS);
    ck_assert(rt_config_key_duration_ns(empty, RT_KEY_CHECKPOINTING_INTERVAL, &v, NULL));
    ck_assert_uint_eq(v, 0); /* unset: no periodic checkpoints */
    rt_config_free(empty);
    (void)keys;
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("config_keys");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_canonical_beats_deprecated_in_any_order);
    tcase_add_test(tc, test_deprecated_alone_is_honoured);
    tcase_add_test(tc, test_deprecated_keys_in_declaration_order);
    tcase_add_test(tc, test_refusals_say_what_to_use);
    tcase_add_test(tc, test_class_names_and_storage);
    tcase_add_test(tc, test_restart_strategy_values);
    tcase_add_test(tc, test_flink_keys_accepted);
    tcase_add_test(tc, test_registry_consistent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(suite());
}
