/* rt_live_events.c - the JSON-lines codec of observation events (rt_live_events.h),
 * written with json-glib's JsonBuilder/JsonGenerator and read with JsonParser under
 * strict rules: exactly the thirteen members, each of its JSON type and range, and a
 * "kind" name that matches "k". */
#include "runtime/live/rt_live_events.h"

#include <assert.h>
#include <json-glib/json-glib.h>
#include <string.h>

/* Details longer than this are cut (at a character boundary): escaped (6 bytes per byte
 * at worst) plus the other fields, a line stays under RT_LIVE_EVENT_MAX_LINE_BYTES. */
#define DETAIL_MAX_BYTES 1000u
#define N_MEMBERS 13u

/* A u64 as a JSON integer; above G_MAXINT64 (which JSON parsers cannot hold in an int64)
 * as a string of its decimal digits. */
static void add_u64(JsonBuilder *b, const char *name, uint64_t v) {
    json_builder_set_member_name(b, name);
    if (v <= (uint64_t)G_MAXINT64) {
        json_builder_add_int_value(b, (gint64)v);
    } else {
        char s[24];
        g_snprintf(s, sizeof s, "%" G_GUINT64_FORMAT, v);
        json_builder_add_string_value(b, s);
    }
}

/* The detail as valid UTF-8 of at most DETAIL_MAX_BYTES bytes (owned). */
static char *detail_text(const char *d) {
    size_t n = strnlen(d, DETAIL_MAX_BYTES);
    char *valid = g_utf8_make_valid(d, (gssize)n); /* a cut character becomes U+FFFD */
    if (strlen(valid) > DETAIL_MAX_BYTES) {
        const char *end = g_utf8_find_prev_char(valid, valid + DETAIL_MAX_BYTES + 1);
        valid[end != NULL ? end - valid : 0] = '\0';
    }
    return valid;
}

void rt_live_event_append_json(GString *out, const RtEvent *ev) {
    assert(out != NULL && ev != NULL);
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    add_u64(b, "t", ev->time_ns);
    add_u64(b, "p", ev->process);
    json_builder_set_member_name(b, "kind");
    json_builder_add_string_value(b, rt_event_kind_name(ev->kind));
    add_u64(b, "k", (uint64_t)ev->kind);
    add_u64(b, "op", ev->subtask.op);
    add_u64(b, "idx", ev->subtask.index);
    add_u64(b, "att", ev->attempt);
    add_u64(b, "ckpt", ev->checkpoint_id);
    add_u64(b, "key", ev->key);
    add_u64(b, "a", ev->a);
    add_u64(b, "b", ev->b);
    add_u64(b, "c", ev->c);
    json_builder_set_member_name(b, "detail");
    if (ev->detail == NULL) {
        json_builder_add_null_value(b);
    } else {
        char *d = detail_text(ev->detail);
        json_builder_add_string_value(b, d);
        g_free(d);
    }
    json_builder_end_object(b);
    JsonNode *root = json_builder_get_root(b);
    JsonGenerator *g = json_generator_new();
    json_generator_set_root(g, root);
    gsize len = 0;
    char *text = json_generator_to_data(g, &len);
    g_string_append_len(out, text, (gssize)len);
    g_string_append_c(out, '\n');
    g_free(text);
    g_object_unref(g);
    json_node_unref(root);
    g_object_unref(b);
}

/* A member that must be an unsigned integer <= max (a JSON integer, or for values above
 * G_MAXINT64 the decimal string the encoder writes). */
static bool get_u64(JsonObject *o, const char *name, uint64_t max, uint64_t *out) {
    JsonNode *n = json_object_get_member(o, name);
    if (n == NULL || JSON_NODE_TYPE(n) != JSON_NODE_VALUE)
        return false;
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_INT64) {
        gint64 v = json_node_get_int(n);
        if (v < 0 || (uint64_t)v > max)
            return false;
        *out = (uint64_t)v;
        return true;
    }
    if (t != G_TYPE_STRING)
        return false;
    const char *s = json_node_get_string(n);
    guint64 v = 0;
    /* digits only, no sign, no leading zero, and really above G_MAXINT64 */
    if (s == NULL || s[0] < '1' || s[0] > '9' || strspn(s, "0123456789") != strlen(s) ||
        !g_ascii_string_to_unsigned(s, 10, 0, G_MAXUINT64, &v, NULL) ||
        v <= (guint64)G_MAXINT64 || v > max)
        return false;
    *out = v;
    return true;
}

static bool get_fields(JsonObject *o, RtEvent *ev) {
    uint64_t p = 0, k = 0, op = 0, idx = 0, att = 0;
    bool ok = json_object_get_size(o) == N_MEMBERS &&
              get_u64(o, "t", G_MAXUINT64, &ev->time_ns) && get_u64(o, "p", G_MAXUINT32, &p) &&
              get_u64(o, "k", G_MAXUINT32, &k) && get_u64(o, "op", G_MAXUINT16, &op) &&
              get_u64(o, "idx", G_MAXUINT16, &idx) && get_u64(o, "att", G_MAXUINT32, &att) &&
              get_u64(o, "ckpt", G_MAXUINT64, &ev->checkpoint_id) &&
              get_u64(o, "key", G_MAXUINT64, &ev->key) && get_u64(o, "a", G_MAXUINT64, &ev->a) &&
              get_u64(o, "b", G_MAXUINT64, &ev->b) && get_u64(o, "c", G_MAXUINT64, &ev->c);
    if (!ok)
        return false;
    ev->kind = (RtEventKind)k;
    ev->process = (uint32_t)p;
    ev->subtask.op = (uint16_t)op;
    ev->subtask.index = (uint16_t)idx;
    ev->attempt = (uint32_t)att;
    const char *name = json_object_get_string_member_with_default(o, "kind", NULL);
    JsonNode *kn = json_object_get_member(o, "kind");
    return kn != NULL && json_node_get_value_type(kn) == G_TYPE_STRING && name != NULL &&
           strcmp(name, rt_event_kind_name(ev->kind)) == 0 && strcmp(name, "unknown") != 0;
}

/* The detail member: null, or a string without NUL of at most DETAIL_MAX_BYTES. */
static bool get_detail(JsonObject *o, char **detail_out) {
    JsonNode *n = json_object_get_member(o, "detail");
    if (n == NULL)
        return false;
    if (JSON_NODE_HOLDS_NULL(n)) {
        *detail_out = NULL;
        return true;
    }
    if (JSON_NODE_TYPE(n) != JSON_NODE_VALUE || json_node_get_value_type(n) != G_TYPE_STRING)
        return false;
    const char *s = json_node_get_string(n);
    if (s == NULL || strlen(s) > DETAIL_MAX_BYTES)
        return false;
    *detail_out = g_strdup(s);
    return true;
}

bool rt_live_event_parse_json(const char *line, RtEvent *ev, char **detail_out) {
    assert(line != NULL && ev != NULL && detail_out != NULL);
    size_t len = strlen(line);
    if (len == 0 || len >= RT_LIVE_EVENT_MAX_LINE_BYTES || line[0] != '{' ||
        line[len - 1] != '}')
        return false; /* one object, nothing around it */
    JsonParser *parser = json_parser_new_immutable();
    bool ok = json_parser_load_from_data(parser, line, (gssize)len, NULL);
    JsonNode *root = ok ? json_parser_get_root(parser) : NULL;
    RtEvent e;
    memset(&e, 0, sizeof e);
    char *detail = NULL;
    ok = root != NULL && JSON_NODE_HOLDS_OBJECT(root) &&
         get_fields(json_node_get_object(root), &e) &&
         get_detail(json_node_get_object(root), &detail);
    g_object_unref(parser);
    if (!ok)
        return false;
    *ev = e;
    ev->detail = detail;
    *detail_out = detail;
    return true;
}
