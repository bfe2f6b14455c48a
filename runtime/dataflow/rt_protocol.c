/* rt_protocol.c - explicit little-endian encoding and validated decoding of the JM<->TM
 * control messages and the TM<->TM data-plane messages (see rt_protocol.h for the
 * message list). Encoders assert well-formedness (a programmer error); the decoder
 * checks every length and count and reports malformed input as a GError. */
#include "runtime/dataflow/rt_protocol.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"

G_DEFINE_QUARK(rt-protocol-error-quark, rt_protocol_error)

/* ------------------------------------------------------------------ names */

const char *rt_msg_type_name(RtMsgType type) {
    switch (type) {
    case RT_MSG_REGISTER: return "register";
    case RT_MSG_DEPLOY: return "deploy";
    case RT_MSG_DEPLOYED: return "deployed";
    case RT_MSG_TRIGGER: return "trigger";
    case RT_MSG_ACK: return "ack";
    case RT_MSG_DECLINE: return "decline";
    case RT_MSG_NOTIFY_COMPLETE: return "notify_complete";
    case RT_MSG_NOTIFY_ABORT: return "notify_abort";
    case RT_MSG_CANCEL: return "cancel";
    case RT_MSG_TASK_FAILED: return "task_failed";
    case RT_MSG_TASK_DONE: return "task_done";
    case RT_MSG_FINISH: return "finish";
    case RT_MSG_BUFFER: return "buffer";
    case RT_MSG_BARRIER: return "barrier";
    case RT_MSG_CANCEL_MARKER: return "cancel_marker";
    case RT_MSG_END_OF_PARTITION: return "end_of_partition";
    case RT_MSG_CREDIT: return "credit";
    case RT_MSG_RESUME: return "resume";
    case RT_MSG_NONE: break;
    }
    return "unknown";
}

bool rt_msg_type_is_data(RtMsgType type) {
    return type >= RT_MSG_BUFFER && type <= RT_MSG_RESUME;
}

const char *rt_decline_reason_name(RtDeclineReason reason) {
    switch (reason) {
    case RT_DECLINE_SUBSUMED: return "subsumed";
    case RT_DECLINE_CANCEL_MARKER: return "cancel_marker";
    case RT_DECLINE_NOT_READY: return "not_ready";
    case RT_DECLINE_ASYNC_FAILED: return "async_failed";
    case RT_DECLINE_SYNC_FAILED: return "sync_failed";
    case RT_DECLINE_ABORTED: return "aborted";
    }
    return "unknown";
}

void rt_msg_clear(RtMsg *msg) {
    assert(msg != NULL);
    for (uint32_t i = 0; i < msg->n_tasks; i++)
        g_free(msg->tasks[i].handle);
    g_free(msg->tasks);
    g_free(msg->locations);
    g_free(msg->handle);
    g_free(msg->text);
    memset(msg, 0, sizeof *msg);
}

/* ------------------------------------------------------------------ encoding */

static void put_bytes(GByteArray *out, const uint8_t *data, size_t len) {
    assert(len <= RT_PROTOCOL_MAX_HANDLE_BYTES && (data != NULL || len == 0));
    rt_bytes_put_u32(out, (uint32_t)len);
    if (len > 0)
        g_byte_array_append(out, data, (guint)len);
}

static void put_text(GByteArray *out, const char *text) {
    size_t len = text ? strlen(text) : 0;
    if (len > RT_PROTOCOL_MAX_TEXT_BYTES)
        len = RT_PROTOCOL_MAX_TEXT_BYTES; /* reasons are informative: truncate */
    rt_bytes_put_u32(out, (uint32_t)len);
    if (len > 0)
        g_byte_array_append(out, (const guint8 *)text, (guint)len);
}

static void put_subtask(GByteArray *out, RtSubtaskId s) {
    rt_bytes_put_u16(out, s.op);
    rt_bytes_put_u16(out, s.index);
}

static void put_channel(GByteArray *out, RtChannelKey k) {
    rt_bytes_put_u16(out, k.edge);
    rt_bytes_put_u16(out, k.from);
    rt_bytes_put_u16(out, k.to);
}

void rt_protocol_record_encode(uint8_t *dst, const RtRecord *rec) {
    assert(dst != NULL && rec != NULL);
    rt_bytes_store_u32(dst, rec->src);
    rt_bytes_store_u64(dst + 4, rec->offset);
    rt_bytes_store_u64(dst + 12, rec->key);
    rt_bytes_store_u64(dst + 20, rec->value);
    rt_bytes_store_u64(dst + 28, rec->created_ns);
}

static void encode_deploy(const RtMsg *msg, GByteArray *out) {
    assert(msg->n_locations <= RT_PROTOCOL_MAX_SUBTASKS);
    assert(msg->n_tasks <= RT_PROTOCOL_MAX_SUBTASKS);
    rt_bytes_put_u32(out, msg->n_locations);
    for (uint32_t i = 0; i < msg->n_locations; i++) {
        put_subtask(out, msg->locations[i].subtask);
        rt_bytes_put_u32(out, msg->locations[i].process);
    }
    rt_bytes_put_u32(out, msg->n_tasks);
    for (uint32_t i = 0; i < msg->n_tasks; i++) {
        const RtDeployTask *t = &msg->tasks[i];
        put_subtask(out, t->subtask);
        rt_bytes_put_u64(out, t->restore_checkpoint_id);
        put_bytes(out, t->handle, t->handle_len);
    }
}

static void encode_control_body(const RtMsg *msg, GByteArray *out) {
    switch (msg->type) {
    case RT_MSG_REGISTER:
        rt_bytes_put_u32(out, msg->process);
        rt_bytes_put_u32(out, msg->slots);
        rt_bytes_put_u32(out, msg->running_attempt);
        break;
    case RT_MSG_DEPLOY: encode_deploy(msg, out); break;
    case RT_MSG_DEPLOYED: rt_bytes_put_u32(out, msg->count); break;
    case RT_MSG_TRIGGER:
        rt_bytes_put_u64(out, msg->checkpoint_id);
        rt_bytes_put_u64(out, msg->timestamp_ns);
        rt_bytes_put_u8(out, (uint8_t)msg->barrier_kind);
        put_subtask(out, msg->subtask);
        break;
    case RT_MSG_ACK:
        rt_bytes_put_u64(out, msg->checkpoint_id);
        put_subtask(out, msg->subtask);
        put_bytes(out, msg->handle, msg->handle_len);
        break;
    case RT_MSG_DECLINE:
        rt_bytes_put_u64(out, msg->checkpoint_id);
        put_subtask(out, msg->subtask);
        rt_bytes_put_u32(out, (uint32_t)msg->decline_reason);
        put_text(out, msg->text);
        break;
    case RT_MSG_NOTIFY_COMPLETE:
    case RT_MSG_NOTIFY_ABORT: rt_bytes_put_u64(out, msg->checkpoint_id); break;
    case RT_MSG_TASK_FAILED:
        put_subtask(out, msg->subtask);
        put_text(out, msg->text);
        break;
    case RT_MSG_TASK_DONE: put_subtask(out, msg->subtask); break;
    case RT_MSG_CANCEL:
    case RT_MSG_FINISH: break;
    default: assert(!"not a control message");
    }
}

static void encode_data_body(const RtMsg *msg, GByteArray *out) {
    put_channel(out, msg->channel);
    switch (msg->type) {
    case RT_MSG_BUFFER:
        assert(msg->n_records <= RT_PROTOCOL_MAX_RECORDS);
        assert(msg->records != NULL || msg->n_records == 0);
        rt_bytes_put_u32(out, msg->n_records);
        if (msg->n_records > 0)
            g_byte_array_append(out, msg->records,
                                msg->n_records * RT_PROTOCOL_RECORD_BYTES);
        break;
    case RT_MSG_BARRIER:
        rt_bytes_put_u64(out, msg->checkpoint_id);
        rt_bytes_put_u64(out, msg->timestamp_ns);
        rt_bytes_put_u8(out, (uint8_t)msg->barrier_kind);
        break;
    case RT_MSG_CANCEL_MARKER: rt_bytes_put_u64(out, msg->checkpoint_id); break;
    case RT_MSG_CREDIT: rt_bytes_put_u32(out, msg->count); break;
    case RT_MSG_END_OF_PARTITION:
    case RT_MSG_RESUME: break;
    default: assert(!"not a data message");
    }
}

void rt_msg_encode(const RtMsg *msg, GByteArray *out) {
    assert(msg != NULL && out != NULL);
    assert(g_strcmp0(rt_msg_type_name(msg->type), "unknown") != 0);
    rt_bytes_put_u8(out, (uint8_t)RT_PROTOCOL_VERSION);
    rt_bytes_put_u8(out, (uint8_t)msg->type);
    rt_bytes_put_u32(out, msg->attempt);
    if (rt_msg_type_is_data(msg->type))
        encode_data_body(msg, out);
    else
        encode_control_body(msg, out);
}

void rt_protocol_encode_buffer(GByteArray *out, uint32_t attempt, RtChannelKey channel,
                               const RtRecord *records, uint32_t n) {
    assert(out != NULL && n <= RT_PROTOCOL_MAX_RECORDS && (records != NULL || n == 0));
    g_byte_array_set_size(out, 0);
    rt_bytes_put_u8(out, (uint8_t)RT_PROTOCOL_VERSION);
    rt_bytes_put_u8(out, (uint8_t)RT_MSG_BUFFER);
    rt_bytes_put_u32(out, attempt);
    put_channel(out, channel);
    rt_bytes_put_u32(out, n);
    assert(out->len == RT_PROTOCOL_BUFFER_HEADER_BYTES);
    g_byte_array_set_size(out, RT_PROTOCOL_BUFFER_HEADER_BYTES + n * RT_PROTOCOL_RECORD_BYTES);
    uint8_t *p = out->data + RT_PROTOCOL_BUFFER_HEADER_BYTES;
    for (uint32_t i = 0; i < n; i++)
        rt_protocol_record_encode(p + (size_t)i * RT_PROTOCOL_RECORD_BYTES, &records[i]);
}

/* ------------------------------------------------------------------ decoding */

/* The decoder reads through an RtBytesReader (rt_bytes.h): the first short read or
 * rejected value sticks, later reads return zero, and rt_msg_decode turns the recorded
 * failure into a GError at the end. A rejection's code is an RtProtocolError. */
typedef RtBytesReader Reader;

static void fail(Reader *r, RtProtocolError code, const char *what, uint64_t value) {
    rt_bytes_reader_reject(r, r->pos, (int)code, what, value);
}

static bool need(Reader *r, size_t n) {
    return rt_bytes_reader_need(r, n, "message");
}

static uint8_t get_u8(Reader *r) {
    return rt_bytes_get_u8(r, "u8");
}

static uint16_t get_u16(Reader *r) {
    return rt_bytes_get_u16(r, "u16");
}

static uint32_t get_u32(Reader *r) {
    return rt_bytes_get_u32(r, "u32");
}

static uint64_t get_u64(Reader *r) {
    return rt_bytes_get_u64(r, "u64");
}

static void set_error(const Reader *r, GError **error) {
    const RtBytesFailure *f = &r->failure;
    if (f->need_bytes > 0)
        g_set_error(error, RT_PROTOCOL_ERROR, RT_PROTOCOL_ERROR_TRUNCATED,
                    "message truncated: need %zu more bytes, have %zu", f->need_bytes,
                    f->have_bytes);
    else
        g_set_error(error, RT_PROTOCOL_ERROR, (gint)f->code, "%s (%" G_GUINT64_FORMAT ")",
                    f->what, f->value);
}

static RtSubtaskId get_subtask(Reader *r) {
    RtSubtaskId s;
    s.op = get_u16(r);
    s.index = get_u16(r);
    return s;
}

/* Reads a length-prefixed byte string into an owned copy (NULL when empty). */
static uint8_t *get_bytes(Reader *r, size_t *len_out) {
    *len_out = 0;
    uint32_t len = get_u32(r);
    if (!rt_bytes_reader_ok(r))
        return NULL;
    if (len > RT_PROTOCOL_MAX_HANDLE_BYTES) {
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "state handle too large", len);
        return NULL;
    }
    const uint8_t *bytes = len > 0 ? rt_bytes_get_span(r, len, "handle") : NULL;
    if (bytes == NULL)
        return NULL;
    uint8_t *copy = g_malloc(len);
    memcpy(copy, bytes, len);
    *len_out = len;
    return copy;
}

static char *get_text(Reader *r) {
    uint32_t len = get_u32(r);
    if (!rt_bytes_reader_ok(r))
        return NULL;
    if (len > RT_PROTOCOL_MAX_TEXT_BYTES) {
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "reason text too long", len);
        return NULL;
    }
    const char *bytes = len > 0 ? (const char *)rt_bytes_get_span(r, len, "text") : NULL;
    if (bytes == NULL)
        return NULL;
    if (memchr(bytes, '\0', len) != NULL) {
        fail(r, RT_PROTOCOL_ERROR_INVALID, "NUL byte in reason text", len);
        return NULL;
    }
    return g_strndup(bytes, len);
}

static bool get_barrier_kind(Reader *r, RtBarrierKind *out) {
    uint8_t k = get_u8(r);
    if (k > RT_BARRIER_FORCED_ALIGNED)
        fail(r, RT_PROTOCOL_ERROR_INVALID, "unknown barrier kind", k);
    *out = (RtBarrierKind)k;
    return rt_bytes_reader_ok(r);
}

static void decode_deploy(Reader *r, RtMsg *msg) {
    uint32_t n = get_u32(r);
    if (n > RT_PROTOCOL_MAX_SUBTASKS)
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "too many locations in deploy", n);
    /* Each location takes 8 bytes: check before allocating. */
    if (!need(r, (size_t)n * 8))
        return;
    msg->locations = g_new0(RtDeployLocation, n > 0 ? n : 1);
    msg->n_locations = n;
    for (uint32_t i = 0; i < n; i++) {
        msg->locations[i].subtask = get_subtask(r);
        msg->locations[i].process = get_u32(r);
    }
    n = get_u32(r);
    if (n > RT_PROTOCOL_MAX_SUBTASKS)
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "too many tasks in deploy", n);
    if (!need(r, (size_t)n * 16))
        return;
    msg->tasks = g_new0(RtDeployTask, n > 0 ? n : 1);
    msg->n_tasks = n;
    for (uint32_t i = 0; i < n && rt_bytes_reader_ok(r); i++) {
        RtDeployTask *t = &msg->tasks[i];
        t->subtask = get_subtask(r);
        t->restore_checkpoint_id = get_u64(r);
        t->handle = get_bytes(r, &t->handle_len);
    }
}

static void decode_control_body(Reader *r, RtMsg *msg) {
    switch (msg->type) {
    case RT_MSG_REGISTER:
        msg->process = get_u32(r);
        msg->slots = get_u32(r);
        msg->running_attempt = get_u32(r);
        break;
    case RT_MSG_DEPLOY: decode_deploy(r, msg); break;
    case RT_MSG_DEPLOYED: msg->count = get_u32(r); break;
    case RT_MSG_TRIGGER:
        msg->checkpoint_id = get_u64(r);
        msg->timestamp_ns = get_u64(r);
        get_barrier_kind(r, &msg->barrier_kind);
        msg->subtask = get_subtask(r);
        break;
    case RT_MSG_ACK:
        msg->checkpoint_id = get_u64(r);
        msg->subtask = get_subtask(r);
        msg->handle = get_bytes(r, &msg->handle_len);
        break;
    case RT_MSG_DECLINE:
        msg->checkpoint_id = get_u64(r);
        msg->subtask = get_subtask(r);
        msg->decline_reason = (RtDeclineReason)get_u32(r);
        if (g_strcmp0(rt_decline_reason_name(msg->decline_reason), "unknown") == 0)
            fail(r, RT_PROTOCOL_ERROR_INVALID, "unknown decline reason", msg->decline_reason);
        msg->text = get_text(r);
        break;
    case RT_MSG_NOTIFY_COMPLETE:
    case RT_MSG_NOTIFY_ABORT: msg->checkpoint_id = get_u64(r); break;
    case RT_MSG_TASK_FAILED:
        msg->subtask = get_subtask(r);
        msg->text = get_text(r);
        break;
    case RT_MSG_TASK_DONE: msg->subtask = get_subtask(r); break;
    default: break; /* CANCEL, FINISH: header only */
    }
}

static void decode_data_body(Reader *r, RtMsg *msg) {
    msg->channel.edge = get_u16(r);
    msg->channel.from = get_u16(r);
    msg->channel.to = get_u16(r);
    switch (msg->type) {
    case RT_MSG_BUFFER: {
        uint32_t n = get_u32(r);
        if (n > RT_PROTOCOL_MAX_RECORDS)
            fail(r, RT_PROTOCOL_ERROR_LIMIT, "too many records in buffer", n);
        msg->records = rt_bytes_get_span(r, (size_t)n * RT_PROTOCOL_RECORD_BYTES, "message");
        if (msg->records == NULL)
            return;
        msg->n_records = n;
        break;
    }
    case RT_MSG_BARRIER:
        msg->checkpoint_id = get_u64(r);
        msg->timestamp_ns = get_u64(r);
        get_barrier_kind(r, &msg->barrier_kind);
        break;
    case RT_MSG_CANCEL_MARKER: msg->checkpoint_id = get_u64(r); break;
    case RT_MSG_CREDIT: msg->count = get_u32(r); break;
    default: break; /* END_OF_PARTITION, RESUME: key only */
    }
}

bool rt_msg_decode(const void *data, size_t len, RtMsg *msg, GError **error) {
    assert(msg != NULL && (data != NULL || len == 0));
    memset(msg, 0, sizeof *msg);
    Reader r;
    rt_bytes_reader_init(&r, data, len);
    uint8_t version = get_u8(&r);
    uint8_t type = get_u8(&r);
    msg->attempt = get_u32(&r);
    /* A rejection on a failed reader is a no-op: the first failure is the one reported. */
    if (version != RT_PROTOCOL_VERSION)
        fail(&r, RT_PROTOCOL_ERROR_VERSION, "unknown protocol version", version);
    if (g_strcmp0(rt_msg_type_name((RtMsgType)type), "unknown") == 0)
        fail(&r, RT_PROTOCOL_ERROR_TYPE, "unknown message type", type);
    if (rt_bytes_reader_ok(&r)) {
        msg->type = (RtMsgType)type;
        if (rt_msg_type_is_data(msg->type))
            decode_data_body(&r, msg);
        else
            decode_control_body(&r, msg);
    }
    if (rt_bytes_reader_left(&r) != 0)
        fail(&r, RT_PROTOCOL_ERROR_TRAILING, "trailing bytes after message",
             rt_bytes_reader_left(&r));
    if (!rt_bytes_reader_ok(&r)) {
        set_error(&r, error);
        rt_msg_clear(msg);
        return false;
    }
    return true;
}

void rt_msg_record_at(const RtMsg *msg, uint32_t i, RtRecord *out) {
    assert(msg != NULL && msg->type == RT_MSG_BUFFER && i < msg->n_records && out != NULL);
    rt_protocol_record_decode(msg->records + (size_t)i * RT_PROTOCOL_RECORD_BYTES, out);
}

void rt_protocol_record_decode(const uint8_t *p, RtRecord *out) {
    assert(p != NULL && out != NULL);
    out->src = rt_bytes_load_u32(p);
    out->offset = rt_bytes_load_u64(p + 4);
    out->key = rt_bytes_load_u64(p + 12);
    out->value = rt_bytes_load_u64(p + 20);
    out->created_ns = rt_bytes_load_u64(p + 28);
}
