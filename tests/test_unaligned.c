/* test_unaligned.c - unaligned checkpoints and the alignment timeout beyond the barrier
 * handler: the channel-state blob codec (names, round trip, corrupt blobs refused), the
 * output side (an unaligned barrier overtakes queued buffers without credits and past a
 * block, what it overtook is handed out as channel state and still sent; a queued
 * aligned barrier is promoted at its timeout; restored channel state goes first), the
 * configuration check (unaligned + AT_LEAST_ONCE is an error naming the key) and whole
 * jobs in the simulator: unaligned and timed-out checkpoints under backpressure with
 * worker crashes hold exactly-once with both backends, and dropping the channel state
 * (planted bug drop-channel-state) is caught as a consistent-cut and, after a restore,
 * an exactly-once violation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dataflow/rt_channel_state.h"
#include "runtime/dataflow/rt_output.h"
#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"
#include "tests/support/test_check.h"

/* ------------------------------------------------------------------ codec */

START_TEST(test_channel_state_names) {
    RtChannelKey k = {.edge = 3, .from = 12, .to = 0};
    char *in = rt_channel_state_name(RT_CHANNEL_INPUT, k);
    char *out = rt_channel_state_name(RT_CHANNEL_OUTPUT, k);
    ck_assert_str_eq(in, "in/3/12/0");
    ck_assert_str_eq(out, "out/3/12/0");
    RtChannelDir d;
    RtChannelKey got;
    ck_assert(rt_channel_state_parse_name(out, &d, &got, NULL));
    ck_assert_int_eq(d, RT_CHANNEL_OUTPUT);
    ck_assert_uint_eq(got.edge, 3);
    ck_assert_uint_eq(got.from, 12);
    ck_assert_uint_eq(got.to, 0);
    const char *bad[] = {"in/3/12", "in/3/12/0/1", "x/1/2/3", "in/03/1/2", "in//1/2",
                         "out/1/2/70000", "in/1/2/3 ", ""};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *e = NULL;
        ck_assert_msg(!rt_channel_state_parse_name(bad[i], &d, &got, &e), "%s", bad[i]);
        ck_assert(g_error_matches(e, RT_CHANNEL_STATE_ERROR, RT_CHANNEL_STATE_ERROR_NAME));
        g_error_free(e);
    }
    g_free(in);
    g_free(out);
}
END_TEST

START_TEST(test_channel_state_round_trip) {
    RtRecord recs[3] = {{.src = 1, .offset = 5, .key = 9, .value = 2, .created_ns = 77},
                        {.src = 0, .offset = UINT64_MAX, .key = 1, .value = 0, .created_ns = 1},
                        {.src = 7, .offset = 6, .key = 9, .value = 3, .created_ns = 78}};
    GBytes *b = rt_channel_state_encode(recs, 3);
    gsize len = 0;
    const uint8_t *data = g_bytes_get_data(b, &len);
    ck_assert_uint_eq(len, RT_CHANNEL_STATE_HEADER_BYTES + 3 * RT_PROTOCOL_RECORD_BYTES);
    GArray *a = NULL;
    ck_assert(rt_channel_state_decode(data, len, &a, NULL));
    ck_assert_uint_eq(a->len, 3);
    for (guint i = 0; i < 3; i++) {
        const RtRecord *g = &g_array_index(a, RtRecord, i);
        ck_assert(g->src == recs[i].src && g->offset == recs[i].offset &&
                  g->key == recs[i].key && g->value == recs[i].value &&
                  g->created_ns == recs[i].created_ns);
    }
    g_array_unref(a);
    /* Every truncation, and a wrong magic or count, is refused. */
    for (gsize n = 0; n < len; n++) {
        GError *e = NULL;
        ck_assert(!rt_channel_state_decode(data, n, &a, &e));
        g_error_free(e);
    }
    uint8_t *copy = g_memdup2(data, len);
    copy[0] = 'X';
    ck_assert(!rt_channel_state_decode(copy, len, &a, NULL));
    copy[0] = 'C';
    copy[4] = 4;
    ck_assert(!rt_channel_state_decode(copy, len, &a, NULL));
    g_free(copy);
    /* An empty blob is valid. */
    GBytes *e0 = rt_channel_state_encode(NULL, 0);
    data = g_bytes_get_data(e0, &len);
    ck_assert(rt_channel_state_decode(data, len, &a, NULL));
    ck_assert_uint_eq(a->len, 0);
    g_array_unref(a);
    g_bytes_unref(e0);
    g_bytes_unref(b);
}
END_TEST

typedef struct Visits {
    GString *s;
} Visits;

static void visit(void *ud, RtChannelDir dir, RtChannelKey key, const RtRecord *recs,
                  uint32_t n) {
    g_string_append_printf(((Visits *)ud)->s, "%s%u/%u/%u:%u:%llu ",
                           dir == RT_CHANNEL_INPUT ? "i" : "o", key.edge, key.from, key.to, n,
                           n > 0 ? (unsigned long long)recs[n - 1].offset : 0ull);
}

START_TEST(test_channel_state_foreach) {
    RtSnapshot *snap = rt_snapshot_new();
    RtRecord r[2] = {{.offset = 4}, {.offset = 8}};
    GBytes *b = rt_channel_state_encode(r, 2);
    gsize len = 0;
    const void *d = g_bytes_get_data(b, &len);
    rt_snapshot_set_channel_state(snap, "out/1/0/2", d, len);
    rt_snapshot_set_channel_state(snap, "in/0/1/0", d,
                                  RT_CHANNEL_STATE_HEADER_BYTES + RT_PROTOCOL_RECORD_BYTES);
    Visits v = {g_string_new(NULL)};
    GError *e = NULL;
    /* The input blob is truncated: named in the error. */
    ck_assert(!rt_channel_state_foreach(snap, visit, &v, &e));
    ck_assert_ptr_nonnull(strstr(e->message, "in/0/1/0"));
    g_error_free(e);
    rt_snapshot_set_channel_state(snap, "in/0/1/0", d, len);
    g_string_truncate(v.s, 0);
    ck_assert(rt_channel_state_foreach(snap, visit, &v, NULL));
    ck_assert_str_eq(v.s->str, "i0/1/0:2:8 o1/0/2:2:8 ");
    g_string_free(v.s, TRUE);
    g_bytes_unref(b);
    rt_snapshot_free(snap);
}
END_TEST

/* ------------------------------------------------------------------ output */

typedef struct Sent {
    GPtrArray *msgs; /* GBytes* */
    GArray *captured; /* RtRecord */
    GString *keys;    /* channels of the captures */
} Sent;

static void send_fn(void *ud, RtProcessId peer, const void *data, size_t len) {
    (void)peer;
    g_ptr_array_add(((Sent *)ud)->msgs, g_bytes_new(data, len));
}

static void capture_fn(void *ud, RtChannelKey key, const RtRecord *recs, uint32_t n) {
    Sent *s = ud;
    g_array_append_vals(s->captured, recs, n);
    g_string_append_printf(s->keys, "%u:%u ", key.to, n);
}

static RtMsgType sent(Sent *s, guint i, RtMsg *m) {
    gsize len = 0;
    const void *d = g_bytes_get_data(s->msgs->pdata[i], &len);
    ck_assert(rt_msg_decode(d, len, m, NULL));
    return m->type;
}

static RtOutput *make_output(Sent *s, uint32_t targets, uint32_t credits, uint32_t batch) {
    static const RtProcessId peers[4] = {10, 11, 12, 13};
    RtOutEdgeSpec e = {.graph_edge = 0, .partitioning = RT_PART_REBALANCE,
                       .n_targets = targets, .max_parallelism = 128, .peers = peers,
                       .initial_credits = credits};
    s->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    s->captured = g_array_new(FALSE, FALSE, sizeof(RtRecord));
    s->keys = g_string_new(NULL);
    return rt_output_new(1, 0, &e, 1, batch, 8, send_fn, s);
}

static void sent_free(Sent *s) {
    g_ptr_array_unref(s->msgs);
    g_array_unref(s->captured);
    g_string_free(s->keys, TRUE);
}

START_TEST(test_unaligned_barrier_overtakes) {
    Sent s;
    RtOutput *out = make_output(&s, 1, 1, 2);
    RtRecord r = {.key = 1};
    for (uint64_t i = 0; i < 7; i++) { /* 3 full buffers + 1 partial; 1 credit */
        r.offset = i;
        rt_output_emit(out, &r);
    }
    ck_assert_uint_eq(s.msgs->len, 1); /* one buffer sent, two queued, one partial */
    rt_output_broadcast_unaligned_barrier(out, 5, 99, capture_fn, &s);
    /* The barrier went at once, without a credit, ahead of the queued data. */
    ck_assert_uint_eq(s.msgs->len, 2);
    RtMsg m;
    ck_assert_int_eq(sent(&s, 1, &m), RT_MSG_BARRIER);
    ck_assert_uint_eq(m.checkpoint_id, 5);
    ck_assert_uint_eq(m.timestamp_ns, 99);
    ck_assert_int_eq(m.barrier_kind, RT_BARRIER_UNALIGNED);
    rt_msg_clear(&m);
    /* The overtaken records (offsets 2..6, partial buffer included) are channel state. */
    ck_assert_uint_eq(s.captured->len, 5);
    for (guint i = 0; i < 5; i++)
        ck_assert_uint_eq(g_array_index(s.captured, RtRecord, i).offset, 2 + i);
    /* ... and are still sent afterwards, in order, as credits come. */
    RtChannelKey k = {.edge = 0, .from = 0, .to = 0};
    rt_output_on_credit(out, k, 10);
    ck_assert_uint_eq(s.msgs->len, 5);
    ck_assert_int_eq(sent(&s, 2, &m), RT_MSG_BUFFER);
    RtRecord first;
    rt_msg_record_at(&m, 0, &first);
    ck_assert_uint_eq(first.offset, 2);
    rt_msg_clear(&m);
    /* Past a block: an aligned barrier blocks, an unaligned one still goes. */
    rt_output_broadcast_event(out, RT_MSG_BARRIER, 6, 100, RT_BARRIER_ALIGNED);
    rt_output_emit(out, &r);
    rt_output_emit(out, &r);
    guint before = s.msgs->len;
    rt_output_broadcast_unaligned_barrier(out, 7, 101, NULL, NULL);
    ck_assert_uint_eq(s.msgs->len, before + 1);
    ck_assert_int_eq(sent(&s, before, &m), RT_MSG_BARRIER);
    ck_assert_uint_eq(m.checkpoint_id, 7);
    rt_msg_clear(&m);
    rt_output_free(out);
    sent_free(&s);
}
END_TEST

/* A forward (or broadcast) edge cannot carry channel state: on a force_aligned
 * channel an unaligned barrier goes out FORCED_ALIGNED, in line behind the data,
 * blocking, and neither captures nor times out (Flink's RecordWriterOutput.broadcastEvent
 * with CheckpointOptions.withUnalignedUnsupported). */
START_TEST(test_forced_aligned_edge) {
    Sent s;
    static const RtProcessId peers[1] = {10};
    RtOutEdgeSpec e = {.graph_edge = 0, .partitioning = RT_PART_FORWARD, .n_targets = 1,
                       .max_parallelism = 128, .peers = peers, .initial_credits = 1,
                       .force_aligned = true};
    s.msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    s.captured = g_array_new(FALSE, FALSE, sizeof(RtRecord));
    s.keys = g_string_new(NULL);
    RtOutput *out = rt_output_new(1, 0, &e, 1, 1, 8, send_fn, &s);
    RtRecord r = {.key = 1};
    for (uint64_t i = 0; i < 3; i++) {
        r.offset = i;
        rt_output_emit(out, &r);
    }
    ck_assert_uint_eq(s.msgs->len, 1);
    rt_output_broadcast_unaligned_barrier(out, 5, 99, capture_fn, &s);
    ck_assert_uint_eq(s.msgs->len, 1); /* queued behind the two buffers */
    ck_assert_uint_eq(s.captured->len, 0);
    rt_output_broadcast_event(out, RT_MSG_BARRIER, 6, 100, RT_BARRIER_ALIGNED);
    ck_assert_uint_eq(rt_output_barrier_queued(out, 6), 0); /* never timeoutable */
    ck_assert_uint_eq(rt_output_timeout_barrier(out, 6, capture_fn, &s), 0);
    RtChannelKey k = {.edge = 0, .from = 0, .to = 0};
    rt_output_on_credit(out, k, 10);
    ck_assert_uint_eq(s.msgs->len, 4); /* two buffers, then the barrier; then blocked */
    RtMsg m;
    ck_assert_int_eq(sent(&s, 3, &m), RT_MSG_BARRIER);
    ck_assert_int_eq(m.barrier_kind, RT_BARRIER_FORCED_ALIGNED);
    rt_msg_clear(&m);
    rt_output_on_resume(out, k);
    ck_assert_uint_eq(s.msgs->len, 5);
    ck_assert_int_eq(sent(&s, 4, &m), RT_MSG_BARRIER);
    ck_assert_int_eq(m.barrier_kind, RT_BARRIER_FORCED_ALIGNED);
    ck_assert_uint_eq(m.checkpoint_id, 6);
    rt_msg_clear(&m);
    rt_output_free(out);
    sent_free(&s);
}
END_TEST

/* Which edges may carry unaligned barriers: none into an operator with a forward or
 * broadcast input (StreamGraphGenerator disables them on every input of that node). */
START_TEST(test_edge_unaligned_ok) {
    RtJobGraph g = {.name = NULL, .operators = g_ptr_array_new(),
                    .edges = g_array_new(FALSE, FALSE, sizeof(RtEdgeSpec))};
    RtEdgeSpec es[] = {{0, 1, RT_PART_KEYBY}, {1, 2, RT_PART_FORWARD},
                       {0, 2, RT_PART_REBALANCE}, {2, 3, RT_PART_REBALANCE},
                       {3, 4, RT_PART_BROADCAST}};
    g_array_append_vals(g.edges, es, G_N_ELEMENTS(es));
    ck_assert(rt_job_graph_edge_unaligned_ok(&g, 0));
    ck_assert(!rt_job_graph_edge_unaligned_ok(&g, 1));
    ck_assert(!rt_job_graph_edge_unaligned_ok(&g, 2)); /* shares a target with a forward */
    ck_assert(rt_job_graph_edge_unaligned_ok(&g, 3));
    ck_assert(!rt_job_graph_edge_unaligned_ok(&g, 4));
    g_array_unref(g.edges);
    g_ptr_array_unref(g.operators);
}
END_TEST

START_TEST(test_aligned_barrier_timeout_promotes) {
    Sent s;
    RtOutput *out = make_output(&s, 2, 1, 1);
    RtRecord r = {.key = 1};
    for (uint64_t i = 0; i < 6; i++) { /* rebalance: 3 records per channel, 1 credit each */
        r.offset = i;
        rt_output_emit(out, &r);
    }
    ck_assert_uint_eq(s.msgs->len, 2);
    rt_output_broadcast_event(out, RT_MSG_BARRIER, 3, 50, RT_BARRIER_ALIGNED);
    ck_assert_uint_eq(rt_output_barrier_queued(out, 3), 2);
    ck_assert_uint_eq(rt_output_barrier_queued(out, 4), 0);
    /* Channel 1 gets its credits: its barrier leaves normally. */
    RtChannelKey k1 = {.edge = 0, .from = 0, .to = 1};
    rt_output_on_credit(out, k1, 5);
    ck_assert_uint_eq(rt_output_barrier_queued(out, 3), 1);
    guint before = s.msgs->len;
    /* The timeout: channel 0's barrier jumps its two queued buffers, unaligned. */
    ck_assert_uint_eq(rt_output_timeout_barrier(out, 3, capture_fn, &s), 1);
    ck_assert_str_eq(s.keys->str, "0:1 0:1 ");
    ck_assert_uint_eq(s.captured->len, 2);
    ck_assert_uint_eq(g_array_index(s.captured, RtRecord, 0).offset, 2);
    ck_assert_uint_eq(g_array_index(s.captured, RtRecord, 1).offset, 4);
    ck_assert_uint_eq(rt_output_barrier_queued(out, 3), 0);
    ck_assert_uint_eq(s.msgs->len, before + 1);
    RtMsg m;
    ck_assert_int_eq(sent(&s, before, &m), RT_MSG_BARRIER);
    ck_assert_int_eq(m.barrier_kind, RT_BARRIER_UNALIGNED);
    ck_assert_uint_eq(m.channel.to, 0);
    rt_msg_clear(&m);
    ck_assert_uint_eq(rt_output_timeout_barrier(out, 3, capture_fn, &s), 0);
    rt_output_free(out);
    sent_free(&s);
}
END_TEST

START_TEST(test_restore_output_channel_state) {
    Sent s;
    RtOutput *out = make_output(&s, 2, 1, 2);
    RtRecord recs[3] = {{.offset = 10}, {.offset = 11}, {.offset = 12}};
    RtChannelKey k1 = {.edge = 0, .from = 0, .to = 1};
    ck_assert(rt_output_restore_channel_state(out, k1, recs, 3));
    RtChannelKey other = {.edge = 0, .from = 1, .to = 1};
    ck_assert(!rt_output_restore_channel_state(out, other, recs, 1));
    other = (RtChannelKey){.edge = 2, .from = 0, .to = 1};
    ck_assert(!rt_output_restore_channel_state(out, other, recs, 1));
    /* Sent on channel 1 first (one credit: one buffer now, the rest later). */
    ck_assert_uint_eq(s.msgs->len, 1);
    RtMsg m;
    ck_assert_int_eq(sent(&s, 0, &m), RT_MSG_BUFFER);
    ck_assert_uint_eq(m.channel.to, 1);
    ck_assert_uint_eq(m.n_records, 2);
    RtRecord first;
    rt_msg_record_at(&m, 0, &first);
    ck_assert_uint_eq(first.offset, 10);
    rt_msg_clear(&m);
    ck_assert_uint_eq(rt_output_queued(out), 1);
    rt_output_free(out);
    sent_free(&s);
}
END_TEST

/* ------------------------------------------------------------------ whole jobs */

static const char *job_text =
    "[scenario]\nname = uc-e2e\ntime-limit = 60 s\nfaults-stop-at = 5 s\n"
    "[cluster]\njobmanagers = 1\nworkers = 3\nslots = 8\n"
    "[operator src]\nkind = source\nparallelism = 2\nrecords = 15000\nkeys = 24\n"
    "rate = 15000\n"
    "[operator m]\nkind = map\nparallelism = 2\n"
    "[operator count]\nkind = counter\nparallelism = 3\n"
    "[operator out]\nkind = sink\nparallelism = 2\n"
    "[edges]\nsrc -> m = rebalance\nm -> count = keyBy\ncount -> out = rebalance\n"
    "[config]\nexecution.checkpointing.interval = 100 ms\n"
    "execution.checkpointing.unaligned.enabled = true\n"
    "taskmanager.network.memory.buffers-per-channel = 1\n"
    "restart-strategy.type = fixed-delay\n"
    "restart-strategy.fixed-delay.attempts = 20\n"
    "restart-strategy.fixed-delay.delay = 100 ms\n"
    "[faults]\nslow = at 150 ms : spike worker-1 -> * + 80 ms for 500 ms\n"
    "kill = when ckpt_complete of checkpoint 3 + 20 ms : crash worker-2 restart after "
    "200 ms\n"
    "[expect]\nmin-failovers = 1\nmin-completed-checkpoints = 2\n";

static bool run_job(const char *const *sets, uint64_t seed, uint64_t bugs, SimRunResult *res,
                    GError **err) {
    SimScenario *s = sim_scenario_load_text("uc.ini", job_text, sets, err);
    ck_assert_msg(s != NULL, "scenario: %s", *err ? (*err)->message : "?");
    SimRunOptions opt;
    sim_run_options_init(&opt, seed);
    opt.bugs = bugs;
    bool ok = sim_run(s, &opt, res, err);
    sim_scenario_free(s);
    return ok;
}

static bool names(const SimRunResult *r, const char *invariant) {
    for (guint i = 0; r->violations != NULL && i < r->violations->len; i++)
        if (strcmp(((SimViolation *)r->violations->pdata[i])->invariant, invariant) == 0)
            return true;
    return false;
}

static void check_held(const char *const *sets, uint64_t seed) {
    SimRunResult r;
    GError *err = NULL;
    ck_assert_msg(run_job(sets, seed, 0, &r, &err), "run: %s", err ? err->message : "?");
    GString *why = g_string_new(NULL);
    for (guint i = 0; i < r.violations->len && i < 3; i++) {
        const SimViolation *v = r.violations->pdata[i];
        g_string_append_printf(why, "\n  %s: %s", v->invariant, v->message);
    }
    ck_assert_msg(r.held, "seed %llu (%s):%s", (unsigned long long)seed,
                  sets[0] != NULL ? sets[0] : "", why->str);
    ck_assert(r.oracle.job_finished);
    ck_assert_uint_ge(r.failovers, 1);
    ck_assert_uint_eq(r.oracle.records_lost, 0);
    ck_assert_uint_eq(r.oracle.records_duplicated, 0);
    ck_assert_uint_eq(r.oracle.records_committed, 30000);
    g_string_free(why, TRUE);
    sim_run_result_clear(&r);
}

START_TEST(test_unaligned_job_holds) {
    const char *backends[] = {"state.backend.type=hashmap", "state.backend.type=filesystem"};
    for (size_t b = 0; b < G_N_ELEMENTS(backends); b++) {
        const char *sets[] = {backends[b], NULL};
        for (uint64_t seed = 1; seed <= 4; seed++)
            check_held(sets, seed);
    }
}
END_TEST

START_TEST(test_alignment_timeout_job_holds) {
    const char *timeouts[] = {"execution.checkpointing.aligned-checkpoint-timeout=1 ms",
                              "execution.checkpointing.aligned-checkpoint-timeout=40 ms",
                              "execution.checkpointing.alignment-timeout=20 ms"};
    for (size_t t = 0; t < G_N_ELEMENTS(timeouts); t++) {
        const char *sets[] = {timeouts[t], "state.backend.type=filesystem", NULL};
        for (uint64_t seed = 1; seed <= 3; seed++)
            check_held(sets, seed);
    }
}
END_TEST

/* Without channel state the cut is wrong at once, and a restore loses records. */
START_TEST(test_drop_channel_state_caught) {
    const char *modes[] = {"execution.checkpointing.aligned-checkpoint-timeout=0 ms",
                           "execution.checkpointing.aligned-checkpoint-timeout=5 ms"};
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        const char *sets[] = {modes[i], NULL};
        SimRunResult r;
        GError *err = NULL;
        ck_assert(run_job(sets, 1, RT_BUG_DROP_CHANNEL_STATE, &r, &err));
        ck_assert_msg(!r.held, "%s: drop-channel-state not caught", modes[i]);
        ck_assert(names(&r, "consistent-cut"));
        ck_assert(names(&r, "exactly-once"));
        ck_assert_uint_gt(r.oracle.records_lost, 0);
        sim_run_result_clear(&r);
    }
    /* With aligned checkpoints (no channel state), the same bug changes nothing. */
    const char *aligned[] = {"execution.checkpointing.unaligned.enabled=false", NULL};
    check_held(aligned, 1);
    SimRunResult r;
    GError *err = NULL;
    ck_assert(run_job(aligned, 1, RT_BUG_DROP_CHANNEL_STATE, &r, &err));
    ck_assert(r.held);
    sim_run_result_clear(&r);
}
END_TEST

START_TEST(test_unaligned_at_least_once_rejected) {
    const char *sets[] = {"execution.checkpointing.mode=AT_LEAST_ONCE", NULL};
    SimRunResult r;
    GError *err = NULL;
    ck_assert(!run_job(sets, 1, 0, &r, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, "execution.checkpointing.unaligned.enabled") != NULL &&
                      strstr(err->message, "AT_LEAST_ONCE") != NULL,
                  "%s", err->message);
    g_error_free(err);
    sim_run_result_clear(&r);
}
END_TEST

static Suite *unaligned_suite(void) {
    Suite *s = suite_create("unaligned");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_channel_state_names);
    tcase_add_test(tc, test_channel_state_round_trip);
    tcase_add_test(tc, test_channel_state_foreach);
    suite_add_tcase(s, tc);
    tc = tcase_create("output");
    tcase_add_test(tc, test_unaligned_barrier_overtakes);
    tcase_add_test(tc, test_aligned_barrier_timeout_promotes);
    tcase_add_test(tc, test_forced_aligned_edge);
    tcase_add_test(tc, test_edge_unaligned_ok);
    tcase_add_test(tc, test_restore_output_channel_state);
    suite_add_tcase(s, tc);
    tc = tcase_create("e2e");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_unaligned_job_holds);
    tcase_add_test(tc, test_alignment_timeout_job_holds);
    tcase_add_test(tc, test_drop_channel_state_caught);
    tcase_add_test(tc, test_unaligned_at_least_once_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(unaligned_suite());
}
