/* test_dataflow.c - unit tests of the dataflow layer: the wire protocol (round trips of
 * every message, malformed input rejected with an error), the partitioners (keyBy equal
 * to Flink's key-group assignment, rebalance round robin, broadcast, forward) and the
 * output's credit-based flow control (a consumer that grants no credit stops the
 * producer with bounded in-flight data; aligned barriers block until RESUME). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dataflow/rt_output.h"
#include "runtime/dataflow/rt_partitioner.h"
#include "runtime/dataflow/rt_protocol.h"
#include "runtime/state/rt_key_groups.h"
#include "tests/support/test_check.h"

/* ------------------------------------------------------------------ protocol */

static void roundtrip(const RtMsg *in, RtMsg *out) {
    GByteArray *b = g_byte_array_new();
    rt_msg_encode(in, b);
    GError *err = NULL;
    ck_assert_msg(rt_msg_decode(b->data, b->len, out, &err), "%s", err ? err->message : "");
    ck_assert_int_eq(out->type, in->type);
    ck_assert_uint_eq(out->attempt, in->attempt);
    /* Every strict prefix is malformed (truncated). */
    for (guint n = 0; n < b->len; n++) {
        RtMsg m;
        GError *e = NULL;
        ck_assert_msg(!rt_msg_decode(b->data, n, &m, &e), "prefix %u of %s accepted", n,
                      rt_msg_type_name(in->type));
        ck_assert(e != NULL && e->domain == RT_PROTOCOL_ERROR);
        g_error_free(e);
    }
    /* A trailing byte is malformed too. */
    g_byte_array_append(b, (const guint8 *)"x", 1);
    RtMsg m;
    GError *e = NULL;
    ck_assert(!rt_msg_decode(b->data, b->len, &m, &e));
    ck_assert_int_eq(e->code, RT_PROTOCOL_ERROR_TRAILING);
    g_error_free(e);
    g_byte_array_unref(b);
}

START_TEST(test_protocol_control_roundtrip) {
    RtMsg in, out;
    memset(&in, 0, sizeof in);
    in.type = RT_MSG_REGISTER;
    in.attempt = 7;
    in.process = 3;
    in.slots = 4;
    in.running_attempt = 6;
    roundtrip(&in, &out);
    ck_assert_uint_eq(out.process, 3);
    ck_assert_uint_eq(out.slots, 4);
    ck_assert_uint_eq(out.running_attempt, 6);
    rt_msg_clear(&out);

    RtDeployLocation locs[2] = {{{0, 0}, 5}, {{1, 0}, 6}};
    uint8_t handle[3] = {1, 2, 3};
    RtDeployTask tasks[2] = {{{0, 0}, 0, NULL, 0}, {{1, 0}, 9, handle, 3}};
    memset(&in, 0, sizeof in);
    in.type = RT_MSG_DEPLOY;
    in.attempt = 2;
    in.locations = locs;
    in.n_locations = 2;
    in.tasks = tasks;
    in.n_tasks = 2;
    roundtrip(&in, &out);
    ck_assert_uint_eq(out.n_locations, 2);
    ck_assert_uint_eq(out.locations[1].process, 6);
    ck_assert_uint_eq(out.locations[1].subtask.op, 1);
    ck_assert_uint_eq(out.n_tasks, 2);
    ck_assert_uint_eq(out.tasks[1].restore_checkpoint_id, 9);
    ck_assert_uint_eq(out.tasks[1].handle_len, 3);
    ck_assert_int_eq(memcmp(out.tasks[1].handle, handle, 3), 0);
    ck_assert_ptr_null(out.tasks[0].handle);
    rt_msg_clear(&out);

    memset(&in, 0, sizeof in);
    in.type = RT_MSG_TRIGGER;
    in.attempt = 2;
    in.checkpoint_id = 11;
    in.timestamp_ns = 123456789;
    in.barrier_kind = RT_BARRIER_AT_LEAST_ONCE;
    in.subtask = (RtSubtaskId){2, 5};
    roundtrip(&in, &out);
    ck_assert_uint_eq(out.checkpoint_id, 11);
    ck_assert_uint_eq(out.timestamp_ns, 123456789);
    ck_assert_int_eq(out.barrier_kind, RT_BARRIER_AT_LEAST_ONCE);
    ck_assert_uint_eq(out.subtask.index, 5);
    rt_msg_clear(&out);

    memset(&in, 0, sizeof in);
    in.type = RT_MSG_ACK;
    in.checkpoint_id = 4;
    in.handle = handle;
    in.handle_len = 3;
    roundtrip(&in, &out);
    ck_assert_uint_eq(out.handle_len, 3);
    ck_assert_int_eq(out.handle[2], 3);
    rt_msg_clear(&out);

    memset(&in, 0, sizeof in);
    in.type = RT_MSG_DECLINE;
    in.checkpoint_id = 4;
    in.decline_reason = RT_DECLINE_SUBSUMED;
    in.text = "newer barrier";
    roundtrip(&in, &out);
    ck_assert_int_eq(out.decline_reason, RT_DECLINE_SUBSUMED);
    ck_assert_str_eq(out.text, "newer barrier");
    rt_msg_clear(&out);

    RtMsgType simple[] = {RT_MSG_DEPLOYED, RT_MSG_NOTIFY_COMPLETE, RT_MSG_NOTIFY_ABORT,
                          RT_MSG_CANCEL, RT_MSG_TASK_FAILED, RT_MSG_TASK_DONE, RT_MSG_FINISH};
    for (size_t i = 0; i < G_N_ELEMENTS(simple); i++) {
        memset(&in, 0, sizeof in);
        in.type = simple[i];
        in.attempt = 99;
        in.checkpoint_id = 3;
        in.count = 2;
        roundtrip(&in, &out);
        rt_msg_clear(&out);
    }
}
END_TEST

START_TEST(test_protocol_data_roundtrip) {
    RtRecord recs[3];
    for (uint32_t i = 0; i < 3; i++)
        recs[i] = (RtRecord){.src = i, .offset = 1000 + i, .key = UINT64_MAX - i,
                             .value = 7 * i, .created_ns = (uint64_t)1 << (40 + i)};
    GByteArray *b = g_byte_array_new();
    RtChannelKey key = {.edge = 3, .from = 1, .to = 2};
    rt_protocol_encode_buffer(b, 5, key, recs, 3);
    ck_assert_uint_eq(b->len, RT_PROTOCOL_BUFFER_HEADER_BYTES + 3 * RT_PROTOCOL_RECORD_BYTES);
    RtMsg m;
    ck_assert(rt_msg_decode(b->data, b->len, &m, NULL));
    ck_assert_int_eq(m.type, RT_MSG_BUFFER);
    ck_assert_uint_eq(m.attempt, 5);
    ck_assert_uint_eq(m.channel.edge, 3);
    ck_assert_uint_eq(m.channel.to, 2);
    ck_assert_uint_eq(m.n_records, 3);
    for (uint32_t i = 0; i < 3; i++) {
        RtRecord r;
        rt_msg_record_at(&m, i, &r);
        ck_assert_uint_eq(r.src, recs[i].src);
        ck_assert_uint_eq(r.offset, recs[i].offset);
        ck_assert_uint_eq(r.key, recs[i].key);
        ck_assert_uint_eq(r.value, recs[i].value);
        ck_assert_uint_eq(r.created_ns, recs[i].created_ns);
    }
    /* Little-endian on the wire: the attempt's low byte comes right after the type. */
    ck_assert_uint_eq(b->data[0], RT_PROTOCOL_VERSION);
    ck_assert_uint_eq(b->data[1], RT_MSG_BUFFER);
    ck_assert_uint_eq(b->data[2], 5);
    rt_msg_clear(&m);
    /* Same bytes through the generic encoder. */
    GByteArray *b2 = g_byte_array_new();
    RtMsg in;
    memset(&in, 0, sizeof in);
    in.type = RT_MSG_BUFFER;
    in.attempt = 5;
    in.channel = key;
    in.records = b->data + RT_PROTOCOL_BUFFER_HEADER_BYTES;
    in.n_records = 3;
    rt_msg_encode(&in, b2);
    ck_assert_uint_eq(b2->len, b->len);
    ck_assert_int_eq(memcmp(b2->data, b->data, b->len), 0);
    g_byte_array_unref(b2);
    g_byte_array_unref(b);

    RtMsgType types[] = {RT_MSG_BARRIER, RT_MSG_CANCEL_MARKER, RT_MSG_END_OF_PARTITION,
                         RT_MSG_CREDIT, RT_MSG_RESUME};
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        memset(&in, 0, sizeof in);
        in.type = types[i];
        in.attempt = 1;
        in.channel = key;
        in.checkpoint_id = 8;
        in.timestamp_ns = 9;
        in.count = 4;
        RtMsg out;
        roundtrip(&in, &out);
        ck_assert_uint_eq(out.channel.from, 1);
        if (types[i] == RT_MSG_CREDIT)
            ck_assert_uint_eq(out.count, 4);
        if (types[i] == RT_MSG_BARRIER)
            ck_assert_uint_eq(out.timestamp_ns, 9);
        rt_msg_clear(&out);
    }
}
END_TEST

START_TEST(test_protocol_malformed) {
    uint8_t bad_version[] = {9, RT_MSG_CANCEL, 0, 0, 0, 0};
    uint8_t bad_type[] = {RT_PROTOCOL_VERSION, 200, 0, 0, 0, 0};
    /* BUFFER claiming 2000 records. */
    uint8_t too_many[] = {RT_PROTOCOL_VERSION, RT_MSG_BUFFER, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                          0xd0, 0x07, 0, 0};
    /* DEPLOY claiming 10^9 locations. */
    uint8_t huge[] = {RT_PROTOCOL_VERSION, RT_MSG_DEPLOY, 1, 0, 0, 0, 0, 0xca, 0x9a, 0x3b};
    /* BARRIER with kind 7. */
    uint8_t kind[] = {RT_PROTOCOL_VERSION, RT_MSG_BARRIER, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                      1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7};
    struct {
        const uint8_t *d;
        size_t n;
        RtProtocolError code;
    } cases[] = {{bad_version, sizeof bad_version, RT_PROTOCOL_ERROR_VERSION},
                 {bad_type, sizeof bad_type, RT_PROTOCOL_ERROR_TYPE},
                 {too_many, sizeof too_many, RT_PROTOCOL_ERROR_LIMIT},
                 {huge, sizeof huge, RT_PROTOCOL_ERROR_LIMIT},
                 {kind, sizeof kind, RT_PROTOCOL_ERROR_INVALID},
                 {NULL, 0, RT_PROTOCOL_ERROR_TRUNCATED}};
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        RtMsg m;
        GError *e = NULL;
        ck_assert_msg(!rt_msg_decode(cases[i].d, cases[i].n, &m, &e), "case %zu accepted", i);
        ck_assert_msg(e->code == (int)cases[i].code, "case %zu: %s", i, e->message);
        g_error_free(e);
        RtMsg zero;
        memset(&zero, 0, sizeof zero);
        ck_assert_int_eq(memcmp(&m, &zero, sizeof m), 0);
    }
}
END_TEST

/* ------------------------------------------------------------------ partitioners */

START_TEST(test_partitioner_keyby_matches_key_groups) {
    /* flink-zk.md section 4: Integer 42 -> key group 29 -> subtask 0 (p=4, maxP=128). */
    RtPartitioner p;
    rt_partitioner_init(&p, RT_PART_KEYBY, 4, 128, 0);
    ck_assert_uint_eq(rt_partitioner_select(&p, 0), 2);
    ck_assert_uint_eq(rt_partitioner_select(&p, 1), 2);
    ck_assert_uint_eq(rt_partitioner_select(&p, 2), 3);
    ck_assert_uint_eq(rt_partitioner_select(&p, 42), 0);
    ck_assert_uint_eq(rt_partitioner_select(&p, 1000), 0);
    for (uint64_t k = 0; k < 5000; k++) {
        uint32_t kg = rt_key_group_for_key(k, 128);
        uint32_t t = rt_partitioner_select(&p, k);
        ck_assert_uint_eq(t, kg * 4 / 128);
        ck_assert(rt_key_group_range_contains(rt_key_group_range_for_operator(128, 4, t), kg));
    }
}
END_TEST

START_TEST(test_partitioner_rebalance_forward) {
    RtPartitioner p;
    rt_partitioner_init(&p, RT_PART_REBALANCE, 3, 128, 1);
    uint32_t expect[] = {1, 2, 0, 1, 2, 0, 1};
    for (size_t i = 0; i < G_N_ELEMENTS(expect); i++)
        ck_assert_uint_eq(rt_partitioner_select(&p, 77), expect[i]);
    rt_partitioner_init(&p, RT_PART_FORWARD, 3, 128, 2);
    for (uint64_t k = 0; k < 10; k++)
        ck_assert_uint_eq(rt_partitioner_select(&p, k), 2);
    rt_partitioner_init(&p, RT_PART_BROADCAST, 3, 128, 0);
    ck_assert(rt_partitioner_is_broadcast(&p));
}
END_TEST

/* ------------------------------------------------------------------ output + credits */

typedef struct Sent {
    GPtrArray *msgs; /* GBytes* */
} Sent;

static void capture(void *ud, RtProcessId peer, const void *data, size_t len) {
    (void)peer;
    g_ptr_array_add(((Sent *)ud)->msgs, g_bytes_new(data, len));
}

static RtMsgType sent_type(Sent *s, guint i, RtMsg *m) {
    gsize len = 0;
    const void *d = g_bytes_get_data(s->msgs->pdata[i], &len);
    ck_assert(rt_msg_decode(d, len, m, NULL));
    return m->type;
}

static RtOutput *make_output(Sent *s, RtPartitioning part, uint32_t targets, uint32_t credits,
                             uint32_t batch) {
    static const RtProcessId peers[8] = {10, 11, 12, 13, 14, 15, 16, 17};
    RtOutEdgeSpec e = {.graph_edge = 0, .partitioning = part, .n_targets = targets,
                       .max_parallelism = 128, .peers = peers, .initial_credits = credits};
    s->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    return rt_output_new(1, 0, &e, 1, batch, 2, capture, s);
}

START_TEST(test_credit_bounds_in_flight) {
    Sent s;
    RtOutput *out = make_output(&s, RT_PART_FORWARD, 1, 2, 4);
    RtRecord r = {.key = 1};
    uint32_t emitted = 0;
    /* A producer that respects availability, against a consumer that grants nothing. */
    for (int i = 0; i < 1000 && rt_output_available(out); i++, emitted++) {
        r.offset = (uint64_t)i;
        rt_output_emit(out, &r);
    }
    ck_assert_uint_eq(s.msgs->len, 2);        /* the 2 initial credits: 2 buffers sent */
    ck_assert_uint_eq(emitted, 2 * 4 + 2 * 4); /* + 2 queued buffers: then unavailable */
    ck_assert(!rt_output_available(out));
    /* A credit lets exactly one more buffer go and makes room. */
    RtChannelKey key = {.edge = 0, .from = 0, .to = 0};
    ck_assert(rt_output_on_credit(out, key, 1));
    ck_assert_uint_eq(s.msgs->len, 3);
    ck_assert(rt_output_available(out));
    RtMsg m;
    ck_assert_int_eq(sent_type(&s, 2, &m), RT_MSG_BUFFER);
    ck_assert_uint_eq(m.n_records, 4);
    RtRecord first;
    rt_msg_record_at(&m, 0, &first);
    ck_assert_uint_eq(first.offset, 8); /* FIFO: the third buffer */
    rt_msg_clear(&m);
    rt_output_free(out);
    g_ptr_array_unref(s.msgs);
}
END_TEST

START_TEST(test_aligned_barrier_blocks_until_resume) {
    Sent s;
    RtOutput *out = make_output(&s, RT_PART_REBALANCE, 2, 10, 2);
    RtRecord r = {.key = 1};
    rt_output_emit(out, &r); /* one record each into channel 0 and 1 (partial buffers) */
    rt_output_emit(out, &r);
    rt_output_broadcast_event(out, RT_MSG_BARRIER, 3, 100, RT_BARRIER_ALIGNED);
    /* Each channel: its partial buffer, then the barrier. */
    ck_assert_uint_eq(s.msgs->len, 4);
    RtMsg m;
    ck_assert_int_eq(sent_type(&s, 0, &m), RT_MSG_BUFFER);
    rt_msg_clear(&m);
    ck_assert_int_eq(sent_type(&s, 1, &m), RT_MSG_BARRIER);
    ck_assert_uint_eq(m.checkpoint_id, 3);
    rt_msg_clear(&m);
    /* Blocked: new data stays queued although credits remain. */
    for (int i = 0; i < 4; i++)
        rt_output_emit(out, &r);
    ck_assert_uint_eq(s.msgs->len, 4);
    RtChannelKey k1 = {.edge = 0, .from = 0, .to = 1};
    ck_assert(rt_output_on_resume(out, k1));
    ck_assert_uint_eq(s.msgs->len, 5); /* channel 1's full buffer goes */
    ck_assert_int_eq(sent_type(&s, 4, &m), RT_MSG_BUFFER);
    ck_assert_uint_eq(m.channel.to, 1);
    rt_msg_clear(&m);
    /* An at-least-once barrier does not block. */
    rt_output_broadcast_event(out, RT_MSG_BARRIER, 4, 100, RT_BARRIER_AT_LEAST_ONCE);
    rt_output_emit(out, &r);
    rt_output_emit(out, &r);
    rt_output_flush(out);
    guint n = s.msgs->len;
    ck_assert_int_eq(sent_type(&s, n - 1, &m), RT_MSG_BUFFER);
    ck_assert_uint_eq(m.channel.to, 1);
    rt_msg_clear(&m);
    rt_output_free(out);
    g_ptr_array_unref(s.msgs);
}
END_TEST

START_TEST(test_broadcast_output) {
    Sent s;
    RtOutput *out = make_output(&s, RT_PART_BROADCAST, 3, 10, 1);
    RtRecord r = {.key = 5, .offset = 77};
    rt_output_emit(out, &r);
    ck_assert_uint_eq(s.msgs->len, 3);
    for (guint i = 0; i < 3; i++) {
        RtMsg m;
        ck_assert_int_eq(sent_type(&s, i, &m), RT_MSG_BUFFER);
        ck_assert_uint_eq(m.channel.to, i);
        rt_msg_clear(&m);
    }
    rt_output_free(out);
    g_ptr_array_unref(s.msgs);
}
END_TEST

static Suite *dataflow_suite(void) {
    Suite *s = suite_create("dataflow");
    TCase *tc = tcase_create("protocol");
    tcase_add_test(tc, test_protocol_control_roundtrip);
    tcase_add_test(tc, test_protocol_data_roundtrip);
    tcase_add_test(tc, test_protocol_malformed);
    suite_add_tcase(s, tc);
    tc = tcase_create("partitioners");
    tcase_add_test(tc, test_partitioner_keyby_matches_key_groups);
    tcase_add_test(tc, test_partitioner_rebalance_forward);
    suite_add_tcase(s, tc);
    tc = tcase_create("output");
    tcase_add_test(tc, test_credit_bounds_in_flight);
    tcase_add_test(tc, test_aligned_barrier_blocks_until_resume);
    tcase_add_test(tc, test_broadcast_output);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(dataflow_suite());
}
