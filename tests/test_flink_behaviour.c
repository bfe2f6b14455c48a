/* test_flink_behaviour.c - end to end, that ckptsim behaves like Flink 1.20 where Flink
 * is less kind than a careful runtime would be, and that the documented safe options
 * give the safe behaviour back:
 *  - a job manager restarted without HA knows no checkpoint (Flink's
 *    StandaloneCompletedCheckpointStore / StandaloneCheckpointIDCounter): the job runs
 *    again from nothing and the sink commits duplicates; with
 *    ckptsim.jobmanager.recover-without-ha = true the same run holds;
 *  - unaligned checkpoints with max-concurrent-checkpoints > 1 are refused
 *    (CheckpointCoordinatorConfiguration);
 *  - the sink's external system aborts a transaction open longer than its timeout
 *    (FLINK-7784): a recovery slower than that loses the restored transactions; the
 *    default timeout (15 min) holds;
 *  - a failed sink commit fails the task (TwoPhaseCommitSinkFunction
 *    .notifyCheckpointComplete rethrows): a failover, and the recovery commits;
 *  - pipelined regions (RestartPipelinedRegionFailoverStrategy's unit of restart). */
#include <check.h>
#include <string.h>

#include "runtime/dataflow/rt_job_graph.h"
#include "tests/support/test_check.h"
#include "tests/support/test_proc.h"

START_TEST(test_jm_restart_without_ha_duplicates) {
    /* Flink's behaviour (StandaloneCompletedCheckpointStore): duplicates, which the
     * scenario asserts through [expect] expected-violations: it passes with them. */
    TestProcOut o = test_proc_ckptsim("run", "scenarios/jobmanager-crash.ini",
                                      "--seed", "1", "--json", NULL);
    ck_assert_msg(o.status == 0, "status %d: %s%s", o.status, o.out, o.err);
    const char *exp = strstr(o.out, "\"expected_violations\":[");
    ck_assert_ptr_nonnull(exp);
    ck_assert_ptr_nonnull(strstr(exp, "\"invariant\":\"exactly-once\""));
    ck_assert_ptr_nonnull(strstr(exp, "duplicated"));
    ck_assert_int_eq(test_proc_json_number(o.out, "records_lost"), 0);
    ck_assert_int_gt(test_proc_json_number(o.out, "records_duplicated"), 0);
    test_proc_out_clear(&o);
    /* The safe, non-Flink variant loses nothing: the expected violation does not come,
     * and the scenario says the runtime was kinder than Flink. */
    o = test_proc_ckptsim("run", "scenarios/jobmanager-crash.ini", "--seed", "1",
                          "--json", "--set", "ckptsim.jobmanager.recover-without-ha=true",
                          NULL);
    ck_assert_msg(o.status == 1, "status %d: %s%s", o.status, o.out, o.err);
    ck_assert_ptr_nonnull(strstr(o.out, "kinder than Flink"));
    ck_assert_int_eq(test_proc_json_number(o.out, "records_duplicated"), 0);
    test_proc_out_clear(&o);
}
END_TEST

START_TEST(test_unaligned_concurrent_refused) {
    TestProcOut o = test_proc_ckptsim(
        "run", "scenarios/unaligned-backpressure.ini", "--seed", "1", "--set",
        "execution.checkpointing.max-concurrent-checkpoints=2", NULL);
    ck_assert_msg(o.status == 2, "status %d: %s%s", o.status, o.out, o.err);
    ck_assert_ptr_nonnull(strstr(o.out, "can't be > 1 if unaligned"));
    test_proc_out_clear(&o);
}
END_TEST

START_TEST(test_sink_transaction_timeout_loses) {
    TestProcOut o = test_proc_ckptsim("run", "scenarios/flink-gaps/sink-transaction-timeout.ini",
                                      "--seed", "1", "--json", NULL);
    ck_assert_msg(o.status == 1, "status %d: %s%s", o.status, o.out, o.err);
    ck_assert_int_gt(test_proc_json_number(o.out, "records_lost"), 0);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_duplicated"), 0);
    test_proc_out_clear(&o);
    o = test_proc_ckptsim("run", "scenarios/flink-gaps/sink-transaction-timeout.ini", "--seed",
                          "1", "--json", "--set", "operator.sink.transaction-timeout=15min",
                          NULL);
    ck_assert_msg(o.status == 0, "status %d: %s%s", o.status, o.out, o.err);
    test_proc_out_clear(&o);
}
END_TEST

START_TEST(test_sink_commit_failure_fails_task) {
    /* EIO on the read-back and the rename of sink[0]'s second commit. */
    TestProcOut o = test_proc_ckptsim(
        "run", "scenarios/crash-after-complete.ini", "--seed", "1", "--json", "--set",
        "faults.w1=when 2nd txn_precommit on sink[0]: storage-error eio on sink/sink/0/pending "
        "count 2",
        "--set", "faults.w2=at 7 s: crash worker-1", "--set", "expect.coverage=false", NULL);
    ck_assert_msg(o.status == 0, "status %d: %s%s", o.status, o.out, o.err);
    ck_assert_int_ge(test_proc_json_number(o.out, "failovers"), 1);
    ck_assert_int_eq(test_proc_json_number(o.out, "records_lost"), 0);
    test_proc_out_clear(&o);
}
END_TEST

static void add_op(RtJobGraph *g, uint32_t parallelism) {
    RtOperatorSpec *op = g_new0(RtOperatorSpec, 1);
    op->parallelism = parallelism;
    g_ptr_array_add(g->operators, op);
}

START_TEST(test_pipelined_regions) {
    RtJobGraph g = {.operators = g_ptr_array_new_with_free_func(g_free),
                    .edges = g_array_new(FALSE, FALSE, sizeof(RtEdgeSpec))};
    add_op(&g, 2); /* a: subtasks 0 1 */
    add_op(&g, 2); /* b: 2 3 */
    add_op(&g, 2); /* c: 4 5 */
    RtEdgeSpec fwd[] = {{0, 1, RT_PART_FORWARD}, {1, 2, RT_PART_FORWARD}};
    g_array_append_vals(g.edges, fwd, 2);
    uint32_t region[6];
    /* Forward only: two independent pipelines a[i] -> b[i] -> c[i]. */
    ck_assert_uint_eq(rt_job_graph_regions(&g, region), 2);
    uint32_t want_fwd[6] = {0, 1, 0, 1, 0, 1};
    for (int k = 0; k < 6; k++)
        ck_assert_uint_eq(region[k], want_fwd[k]);
    /* One all-to-all edge joins everything it touches: here the whole job. */
    g_array_index(g.edges, RtEdgeSpec, 1).partitioning = RT_PART_KEYBY;
    ck_assert_uint_eq(rt_job_graph_regions(&g, region), 1);
    for (int k = 0; k < 6; k++)
        ck_assert_uint_eq(region[k], 0);
    g_array_unref(g.edges);
    g_ptr_array_unref(g.operators);
}
END_TEST

static Suite *flink_behaviour_suite(void) {
    Suite *s = suite_create("flink_behaviour");
    TCase *tc = tcase_create("e2e");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_jm_restart_without_ha_duplicates);
    tcase_add_test(tc, test_unaligned_concurrent_refused);
    tcase_add_test(tc, test_sink_transaction_timeout_loses);
    tcase_add_test(tc, test_sink_commit_failure_fails_task);
    suite_add_tcase(s, tc);
    TCase *unit = tcase_create("unit");
    tcase_add_test(unit, test_pipelined_regions);
    suite_add_tcase(s, unit);
    return s;
}

int main(void) {
    return test_check_run(flink_behaviour_suite());
}
