/* test_live_events.c - the JSON-lines codec of observation events between a live
 * cluster's processes and its launcher (runtime/live/rt_live_events.h): round trips of
 * every field, details with quotes, backslashes and control characters, long details
 * cut to fit a line, and malformed lines refused. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/live/rt_live_events.h"
#include "tests/support/test_check.h"

static void round_trip(const RtEvent *in, RtEvent *out, char **detail) {
    GString *line = g_string_new(NULL);
    rt_live_event_append_json(line, in);
    ck_assert_int_eq(line->str[line->len - 1], '\n');
    ck_assert_ptr_null(memchr(line->str, '\n', line->len - 1));
    ck_assert_uint_lt(line->len, RT_LIVE_EVENT_MAX_LINE_BYTES);
    g_string_truncate(line, line->len - 1);
    ck_assert_msg(rt_live_event_parse_json(line->str, out, detail), "%s", line->str);
    g_string_free(line, TRUE);
}

START_TEST(test_every_field_round_trips) {
    RtEvent in = {.kind = RT_EV_SINK_COMMIT_RECORD,
                  .process = 7,
                  .time_ns = UINT64_MAX - 3,
                  .subtask = {65535, 12},
                  .attempt = 4000000000u,
                  .checkpoint_id = 123456789012345ull,
                  .key = 42,
                  .a = 1,
                  .b = UINT64_MAX,
                  .c = 99,
                  .detail = NULL};
    RtEvent out;
    char *detail = (char *)"sentinel";
    round_trip(&in, &out, &detail);
    ck_assert_ptr_null(detail);
    ck_assert_ptr_null(out.detail);
    ck_assert_int_eq(out.kind, in.kind);
    ck_assert_uint_eq(out.process, 7);
    ck_assert_uint_eq(out.time_ns, in.time_ns);
    ck_assert_uint_eq(out.subtask.op, 65535);
    ck_assert_uint_eq(out.subtask.index, 12);
    ck_assert_uint_eq(out.attempt, in.attempt);
    ck_assert_uint_eq(out.checkpoint_id, in.checkpoint_id);
    ck_assert_uint_eq(out.key, 42);
    ck_assert_uint_eq(out.a, 1);
    ck_assert_uint_eq(out.b, UINT64_MAX);
    ck_assert_uint_eq(out.c, 99);
}
END_TEST

START_TEST(test_details_are_escaped) {
    const char *text = "chk/\"q\"\\x\ttab\nnewline \x01 end";
    RtEvent in = {.kind = RT_EV_CKPT_COMPLETE, .checkpoint_id = 3, .detail = text};
    RtEvent out;
    char *detail = NULL;
    round_trip(&in, &out, &detail);
    ck_assert_str_eq(detail, text);
    ck_assert_ptr_eq(out.detail, detail);
    g_free(detail);
}
END_TEST

START_TEST(test_long_detail_is_cut) {
    char *text = g_malloc(20000);
    memset(text, '"', 19999);
    text[19999] = '\0';
    RtEvent in = {.kind = RT_EV_JOB_FAILED, .detail = text};
    RtEvent out;
    char *detail = NULL;
    round_trip(&in, &out, &detail);
    ck_assert_uint_gt(strlen(detail), 100);
    ck_assert_uint_lt(strlen(detail), 19999);
    ck_assert(strspn(detail, "\"") == strlen(detail));
    g_free(detail);
    g_free(text);
}
END_TEST

START_TEST(test_malformed_lines_are_refused) {
    const char *bad[] = {
        "",
        "{}",
        "not json",
        "{\"t\":1,\"p\":0,\"kind\":\"x\",\"k\":1}",
        "{\"t\":1,\"p\":0,\"kind\":\"x\",\"k\":1,\"op\":70000,\"idx\":0,\"att\":0,\"ckpt\":0,"
        "\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null}",
        "{\"t\":1,\"p\":0,\"kind\":\"x\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,\"ckpt\":0,"
        "\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":\"unterminated}",
        "{\"t\":1,\"p\":0,\"kind\":\"x\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,\"ckpt\":0,"
        "\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":\"bad \\q escape\"}",
        "{\"t\":1,\"p\":0,\"kind\":\"x\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,\"ckpt\":0,"
        "\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null} trailing",
        /* what sscanf accepted and the encoder never writes */
        "{\"t\":1,\"p\":-1,\"kind\":\"record_emit\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,"
        "\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null}",
        "{\"t\":1,\"p\":+7,\"kind\":\"record_emit\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,"
        "\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null}",
        "{\"t\":1,\"p\":0,\"kind\":\"record_emit\",\"k\":1,\"op\":4294967297,\"idx\":0,"
        "\"att\":0,\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null}",
        "{\"t\":1,\"p\":0,\"kind\":\"record_emit\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,"
        "\"ckpt\":1.5,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null}",
        "{\"t\":\"5\",\"p\":0,\"kind\":\"record_emit\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,"
        "\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null}",
        "{\"t\":1,\"p\":0,\"kind\":\"job_failed\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,"
        "\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null}",
        "{\"t\":1,\"p\":0,\"kind\":\"record_emit\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,"
        "\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":null,\"extra\":1}",
        "{\"t\":1,\"p\":0,\"kind\":\"record_emit\",\"k\":1,\"op\":0,\"idx\":0,\"att\":0,"
        "\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        RtEvent ev;
        char *detail = NULL;
        ck_assert_msg(!rt_live_event_parse_json(bad[i], &ev, &detail), "accepted: %s", bad[i]);
        ck_assert_ptr_null(detail);
    }
    const char *good = "{\"t\":1,\"p\":2,\"kind\":\"restore\",\"k\":402,\"op\":0,\"idx\":0,\"att\":0,"
                       "\"ckpt\":0,\"key\":0,\"a\":0,\"b\":0,\"c\":0,\"detail\":\"ok\"}";
    RtEvent ev;
    char *detail = NULL;
    ck_assert(rt_live_event_parse_json(good, &ev, &detail));
    ck_assert_str_eq(detail, "ok");
    ck_assert_uint_eq(ev.process, 2);
    g_free(detail);
}
END_TEST

static Suite *live_events_suite(void) {
    Suite *s = suite_create("live_events");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_every_field_round_trips);
    tcase_add_test(tc, test_details_are_escaped);
    tcase_add_test(tc, test_long_detail_is_cut);
    tcase_add_test(tc, test_malformed_lines_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return test_check_run(live_events_suite());
}
