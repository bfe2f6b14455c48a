/* rt_live_events.c - the JSON-lines codec of observation events (rt_live_events.h). */
#include "runtime/live/rt_live_events.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Details longer than this are cut: escaped (6 bytes per byte at worst) plus the other
 * fields, a line stays under RT_LIVE_EVENT_MAX_LINE_BYTES. */
#define DETAIL_MAX_BYTES 1000u

static void append_escaped(GString *out, const char *s) {
    g_string_append_c(out, '"');
    for (size_t i = 0; s[i] != '\0' && i < DETAIL_MAX_BYTES; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            g_string_append_printf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            g_string_append_printf(out, "\\u%04x", c);
        else
            g_string_append_c(out, (char)c);
    }
    g_string_append_c(out, '"');
}

void rt_live_event_append_json(GString *out, const RtEvent *ev) {
    assert(out != NULL && ev != NULL);
    g_string_append_printf(
        out,
        "{\"t\":%" PRIu64 ",\"p\":%" PRIu32 ",\"kind\":\"%s\",\"k\":%u,"
        "\"op\":%u,\"idx\":%u,\"att\":%" PRIu32 ",\"ckpt\":%" PRIu64 ",\"key\":%" PRIu64
        ",\"a\":%" PRIu64 ",\"b\":%" PRIu64 ",\"c\":%" PRIu64 ",\"detail\":",
        ev->time_ns, ev->process, rt_event_kind_name(ev->kind), (unsigned)ev->kind,
        (unsigned)ev->subtask.op, (unsigned)ev->subtask.index, ev->attempt, ev->checkpoint_id,
        ev->key, ev->a, ev->b, ev->c);
    if (ev->detail == NULL)
        g_string_append(out, "null");
    else
        append_escaped(out, ev->detail);
    g_string_append(out, "}\n");
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the JSON string starting at p (on its opening quote) into out; sets *end after
 * the closing quote. Only \uXXXX below 0x80 is accepted (the encoder writes no other). */
static bool parse_string(const char *p, GString *out, const char **end) {
    if (*p != '"')
        return false;
    for (p++; *p != '"'; p++) {
        if (*p == '\0')
            return false;
        if (*p != '\\') {
            g_string_append_c(out, *p);
            continue;
        }
        p++;
        switch (*p) {
        case '"':
        case '\\':
        case '/': g_string_append_c(out, *p); break;
        case 'n': g_string_append_c(out, '\n'); break;
        case 't': g_string_append_c(out, '\t'); break;
        case 'r': g_string_append_c(out, '\r'); break;
        case 'u': {
            int v = 0;
            for (int i = 1; i <= 4; i++) {
                int h = hex_value(p[i]);
                if (h < 0)
                    return false;
                v = v * 16 + h;
            }
            if (v == 0 || v >= 0x80)
                return false;
            g_string_append_c(out, (char)v);
            p += 4;
            break;
        }
        default: return false;
        }
    }
    *end = p + 1;
    return true;
}

static bool parse_detail(const char *p, char **detail_out) {
    static const char key[] = ",\"detail\":";
    if (strncmp(p, key, sizeof key - 1) != 0)
        return false;
    p += sizeof key - 1;
    if (strcmp(p, "null}") == 0) {
        *detail_out = NULL;
        return true;
    }
    GString *s = g_string_new(NULL);
    const char *end = NULL;
    if (!parse_string(p, s, &end) || strcmp(end, "}") != 0) {
        g_string_free(s, TRUE);
        return false;
    }
    *detail_out = g_string_free(s, FALSE);
    return true;
}

bool rt_live_event_parse_json(const char *line, RtEvent *ev, char **detail_out) {
    assert(line != NULL && ev != NULL && detail_out != NULL);
    if (strlen(line) >= RT_LIVE_EVENT_MAX_LINE_BYTES)
        return false;
    uint64_t t = 0, ckpt = 0, key = 0, a = 0, b = 0, c = 0;
    unsigned p = 0, k = 0, op = 0, idx = 0, att = 0;
    int used = -1;
    int n = sscanf(line,
                   "{\"t\":%" SCNu64 ",\"p\":%u,\"kind\":\"%*[^\"]\",\"k\":%u,\"op\":%u,"
                   "\"idx\":%u,\"att\":%u,\"ckpt\":%" SCNu64 ",\"key\":%" SCNu64 ",\"a\":%" SCNu64
                   ",\"b\":%" SCNu64 ",\"c\":%" SCNu64 "%n",
                   &t, &p, &k, &op, &idx, &att, &ckpt, &key, &a, &b, &c, &used);
    if (n != 11 || used < 0 || op > UINT16_MAX || idx > UINT16_MAX)
        return false;
    char *detail = NULL;
    if (!parse_detail(line + used, &detail))
        return false;
    memset(ev, 0, sizeof *ev);
    ev->kind = (RtEventKind)k;
    ev->process = p;
    ev->time_ns = t;
    ev->subtask.op = (uint16_t)op;
    ev->subtask.index = (uint16_t)idx;
    ev->attempt = att;
    ev->checkpoint_id = ckpt;
    ev->key = key;
    ev->a = a;
    ev->b = b;
    ev->c = c;
    ev->detail = detail;
    *detail_out = detail;
    return true;
}
