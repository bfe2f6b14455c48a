/* test_oracle_ha.c - the ha-hygiene check's leader part (sim_oracle_ha.h): at the end of
 * a finished run with ZooKeeper HA, <root>/leader/jobmanager/connection_info must name
 * the leader the oracle saw (address and leader session). Each test builds a ZooKeeper
 * model tree by hand and checks the verdict: silent when it matches, a violation when the
 * node is missing or names another session, nothing without a known leader. */
#include <check.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_config.h"
#include "sim/harness/sim_oracle.h"
#include "sim/harness/sim_oracle_ha.h"
#include "sim/world/sim_zk_tree.h"
#include "tests/support/test_check.h"

#define INFO "/flink/default/leader/jobmanager/connection_info"

static SimZkTree *tree_with_info(const char *data) {
    SimZkTree *t = sim_zk_tree_new();
    SimZkTxn *x = sim_zk_txn_begin(t);
    const char *dirs[] = {"/flink", "/flink/default", "/flink/default/leader",
                          "/flink/default/leader/jobmanager"};
    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++)
        ck_assert_int_eq(sim_zk_txn_create(x, dirs[i], NULL, 0, 0, 0, NULL), 0);
    if (data != NULL)
        ck_assert_int_eq(sim_zk_txn_create(x, INFO, data, strlen(data), 0, 0, NULL), 0);
    sim_zk_triggers_free(sim_zk_txn_commit(x));
    return t;
}

/* The violations of a finished run with leader (process 1, session 0xabc) unless
 * !has, on a tree whose connection_info holds data (NULL: no node). */
static guint violations_for(const char *data, bool has, bool finished) {
    RtConfig *cfg = rt_config_new();
    rt_config_set(cfg, "high-availability.type", "zookeeper");
    rt_config_set(cfg, "high-availability.storageDir", "ha");
    rt_config_set(cfg, "high-availability.zookeeper.quorum", "zk-1:2181");
    SimZkTree *t = tree_with_info(data);
    SimOracleHaLeader leader = {has, 1, 0xabc};
    GPtrArray *v = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
    sim_oracle_ha_finish(t, cfg, finished, &leader, 1, v);
    guint n = v->len;
    for (guint i = 0; i < v->len; i++) {
        const SimViolation *x = g_ptr_array_index(v, i);
        ck_assert_str_eq(x->invariant, SIM_INV_HA_HYGIENE);
        ck_assert(strstr(x->message, "connection_info") != NULL);
    }
    g_ptr_array_unref(v);
    sim_zk_tree_free(t);
    rt_config_free(cfg);
    return n;
}

START_TEST(test_matching_info_is_silent) {
    ck_assert_uint_eq(violations_for("address=jobmanager@1\nsession=0000000000000abc\n", true,
                                     true), 0);
}
END_TEST

START_TEST(test_stale_or_missing_info_fails) {
    ck_assert_uint_eq(violations_for("address=jobmanager@0\nsession=0000000000000def\n", true,
                                     true), 1);
    ck_assert_uint_eq(violations_for("address=jobmanager@1\nsession=0000000000000def\n", true,
                                     true), 1);
    ck_assert_uint_eq(violations_for(NULL, true, true), 1);
}
END_TEST

START_TEST(test_no_leader_or_unfinished_is_not_judged) {
    ck_assert_uint_eq(violations_for(NULL, false, true), 0);
    ck_assert_uint_eq(violations_for(NULL, true, false), 0);
}
END_TEST

static Suite *oracle_ha_suite(void) {
    Suite *s = suite_create("oracle_ha");
    TCase *tc = tcase_create("leader_info");
    tcase_add_test(tc, test_matching_info_is_silent);
    tcase_add_test(tc, test_stale_or_missing_info_fails);
    tcase_add_test(tc, test_no_leader_or_unfinished_is_not_judged);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(oracle_ha_suite());
}
