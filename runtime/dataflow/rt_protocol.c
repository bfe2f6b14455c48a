/* rt_protocol.c - explicit little-endian encoding and validated decoding of the JM<->TM
 * control messages and the TM<->TM data-plane messages (see rt_protocol.h for the
 * message list). Encoders assert well-formedness (a programmer error); the decoder
 * checks every length and count and reports malformed input as a GError. */
#include "runtime/dataflow/rt_protocol.h"

#include <assert.h>
#include <string.h>

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

static void put_u8(GByteArray *out, uint8_t v) {
    g_byte_array_append(out, &v, 1);
}

static void put_u16(GByteArray *out, uint16_t v) {
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    g_byte_array_append(out, b, 2);
}

static void put_u32(GByteArray *out, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    g_byte_array_append(out, b, 4);
}

static void put_u64(GByteArray *out, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    g_byte_array_append(out, b, 8);
}

static void put_bytes(GByteArray *out, const uint8_t *data, size_t len) {
    assert(len <= RT_PROTOCOL_MAX_HANDLE_BYTES && (data != NULL || len == 0));
    put_u32(out, (uint32_t)len);
    if (len > 0)
        g_byte_array_append(out, data, (guint)len);
}

static void put_text(GByteArray *out, const char *text) {
    size_t len = text ? strlen(text) : 0;
    if (len > RT_PROTOCOL_MAX_TEXT_BYTES)
        len = RT_PROTOCOL_MAX_TEXT_BYTES; /* reasons are informative: truncate */
    put_u32(out, (uint32_t)len);
    if (len > 0)
        g_byte_array_append(out, (const guint8 *)text, (guint)len);
}

static void put_subtask(GByteArray *out, RtSubtaskId s) {
    put_u16(out, s.op);
    put_u16(out, s.index);
}

static void put_channel(GByteArray *out, RtChannelKey k) {
    put_u16(out, k.edge);
    put_u16(out, k.from);
    put_u16(out, k.to);
}

static inline void le64_store(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t le64_load(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint32_t le32_load(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

void rt_protocol_record_encode(uint8_t *dst, const RtRecord *rec) {
    assert(dst != NULL && rec != NULL);
    dst[0] = (uint8_t)rec->src;
    dst[1] = (uint8_t)(rec->src >> 8);
    dst[2] = (uint8_t)(rec->src >> 16);
    dst[3] = (uint8_t)(rec->src >> 24);
    le64_store(dst + 4, rec->offset);
    le64_store(dst + 12, rec->key);
    le64_store(dst + 20, rec->value);
    le64_store(dst + 28, rec->created_ns);
}

static void encode_deploy(const RtMsg *msg, GByteArray *out) {
    assert(msg->n_locations <= RT_PROTOCOL_MAX_SUBTASKS);
    assert(msg->n_tasks <= RT_PROTOCOL_MAX_SUBTASKS);
    put_u32(out, msg->n_locations);
    for (uint32_t i = 0; i < msg->n_locations; i++) {
        put_subtask(out, msg->locations[i].subtask);
        put_u32(out, msg->locations[i].process);
    }
    put_u32(out, msg->n_tasks);
    for (uint32_t i = 0; i < msg->n_tasks; i++) {
        const RtDeployTask *t = &msg->tasks[i];
        put_subtask(out, t->subtask);
        put_u64(out, t->restore_checkpoint_id);
        put_bytes(out, t->handle, t->handle_len);
    }
}

static void encode_control_body(const RtMsg *msg, GByteArray *out) {
    switch (msg->type) {
    case RT_MSG_REGISTER:
        put_u32(out, msg->process);
        put_u32(out, msg->slots);
        put_u32(out, msg->running_attempt);
        break;
    case RT_MSG_DEPLOY: encode_deploy(msg, out); break;
    case RT_MSG_DEPLOYED: put_u32(out, msg->count); break;
    case RT_MSG_TRIGGER:
        put_u64(out, msg->checkpoint_id);
        put_u64(out, msg->timestamp_ns);
        put_u8(out, (uint8_t)msg->barrier_kind);
        put_subtask(out, msg->subtask);
        break;
    case RT_MSG_ACK:
        put_u64(out, msg->checkpoint_id);
        put_subtask(out, msg->subtask);
        put_bytes(out, msg->handle, msg->handle_len);
        break;
    case RT_MSG_DECLINE:
        put_u64(out, msg->checkpoint_id);
        put_subtask(out, msg->subtask);
        put_u32(out, (uint32_t)msg->decline_reason);
        put_text(out, msg->text);
        break;
    case RT_MSG_NOTIFY_COMPLETE:
    case RT_MSG_NOTIFY_ABORT: put_u64(out, msg->checkpoint_id); break;
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
        put_u32(out, msg->n_records);
        if (msg->n_records > 0)
            g_byte_array_append(out, msg->records,
                                msg->n_records * RT_PROTOCOL_RECORD_BYTES);
        break;
    case RT_MSG_BARRIER:
        put_u64(out, msg->checkpoint_id);
        put_u64(out, msg->timestamp_ns);
        put_u8(out, (uint8_t)msg->barrier_kind);
        break;
    case RT_MSG_CANCEL_MARKER: put_u64(out, msg->checkpoint_id); break;
    case RT_MSG_CREDIT: put_u32(out, msg->count); break;
    case RT_MSG_END_OF_PARTITION:
    case RT_MSG_RESUME: break;
    default: assert(!"not a data message");
    }
}

void rt_msg_encode(const RtMsg *msg, GByteArray *out) {
    assert(msg != NULL && out != NULL);
    assert(g_strcmp0(rt_msg_type_name(msg->type), "unknown") != 0);
    put_u8(out, (uint8_t)RT_PROTOCOL_VERSION);
    put_u8(out, (uint8_t)msg->type);
    put_u32(out, msg->attempt);
    if (rt_msg_type_is_data(msg->type))
        encode_data_body(msg, out);
    else
        encode_control_body(msg, out);
}

void rt_protocol_encode_buffer(GByteArray *out, uint32_t attempt, RtChannelKey channel,
                               const RtRecord *records, uint32_t n) {
    assert(out != NULL && n <= RT_PROTOCOL_MAX_RECORDS && (records != NULL || n == 0));
    g_byte_array_set_size(out, 0);
    put_u8(out, (uint8_t)RT_PROTOCOL_VERSION);
    put_u8(out, (uint8_t)RT_MSG_BUFFER);
    put_u32(out, attempt);
    put_channel(out, channel);
    put_u32(out, n);
    assert(out->len == RT_PROTOCOL_BUFFER_HEADER_BYTES);
    g_byte_array_set_size(out, RT_PROTOCOL_BUFFER_HEADER_BYTES + n * RT_PROTOCOL_RECORD_BYTES);
    uint8_t *p = out->data + RT_PROTOCOL_BUFFER_HEADER_BYTES;
    for (uint32_t i = 0; i < n; i++)
        rt_protocol_record_encode(p + (size_t)i * RT_PROTOCOL_RECORD_BYTES, &records[i]);
}

/* ------------------------------------------------------------------ decoding */

typedef struct Reader {
    const uint8_t *p;
    size_t left;
    bool ok;        /* false after the first failure; later reads return zero */
    GError **error;
} Reader;

static bool need(Reader *r, size_t n) {
    if (!r->ok)
        return false;
    if (r->left < n) {
        r->ok = false;
        g_set_error(r->error, RT_PROTOCOL_ERROR, RT_PROTOCOL_ERROR_TRUNCATED,
                    "message truncated: need %zu more bytes, have %zu", n, r->left);
        return false;
    }
    return true;
}

static void fail(Reader *r, RtProtocolError code, const char *what, uint64_t value) {
    if (!r->ok)
        return;
    r->ok = false;
    g_set_error(r->error, RT_PROTOCOL_ERROR, code, "%s (%" G_GUINT64_FORMAT ")", what, value);
}

static uint8_t get_u8(Reader *r) {
    if (!need(r, 1))
        return 0;
    uint8_t v = r->p[0];
    r->p++;
    r->left--;
    return v;
}

static uint16_t get_u16(Reader *r) {
    if (!need(r, 2))
        return 0;
    uint16_t v = (uint16_t)(r->p[0] | (r->p[1] << 8));
    r->p += 2;
    r->left -= 2;
    return v;
}

static uint32_t get_u32(Reader *r) {
    if (!need(r, 4))
        return 0;
    uint32_t v = le32_load(r->p);
    r->p += 4;
    r->left -= 4;
    return v;
}

static uint64_t get_u64(Reader *r) {
    if (!need(r, 8))
        return 0;
    uint64_t v = le64_load(r->p);
    r->p += 8;
    r->left -= 8;
    return v;
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
    if (!r->ok)
        return NULL;
    if (len > RT_PROTOCOL_MAX_HANDLE_BYTES) {
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "state handle too large", len);
        return NULL;
    }
    if (len == 0 || !need(r, len))
        return NULL;
    uint8_t *copy = g_malloc(len);
    memcpy(copy, r->p, len);
    r->p += len;
    r->left -= len;
    *len_out = len;
    return copy;
}

static char *get_text(Reader *r) {
    uint32_t len = get_u32(r);
    if (!r->ok)
        return NULL;
    if (len > RT_PROTOCOL_MAX_TEXT_BYTES) {
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "reason text too long", len);
        return NULL;
    }
    if (len == 0 || !need(r, len))
        return NULL;
    if (memchr(r->p, '\0', len) != NULL) {
        fail(r, RT_PROTOCOL_ERROR_INVALID, "NUL byte in reason text", len);
        return NULL;
    }
    char *text = g_strndup((const char *)r->p, len);
    r->p += len;
    r->left -= len;
    return text;
}

static bool get_barrier_kind(Reader *r, RtBarrierKind *out) {
    uint8_t k = get_u8(r);
    if (r->ok && k > RT_BARRIER_AT_LEAST_ONCE)
        fail(r, RT_PROTOCOL_ERROR_INVALID, "unknown barrier kind", k);
    *out = (RtBarrierKind)k;
    return r->ok;
}

static void decode_deploy(Reader *r, RtMsg *msg) {
    uint32_t n = get_u32(r);
    if (r->ok && n > RT_PROTOCOL_MAX_SUBTASKS)
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "too many locations in deploy", n);
    /* Each location takes 8 bytes: check before allocating. */
    if (!r->ok || !need(r, (size_t)n * 8))
        return;
    msg->locations = g_new0(RtDeployLocation, n > 0 ? n : 1);
    msg->n_locations = n;
    for (uint32_t i = 0; i < n; i++) {
        msg->locations[i].subtask = get_subtask(r);
        msg->locations[i].process = get_u32(r);
    }
    n = get_u32(r);
    if (r->ok && n > RT_PROTOCOL_MAX_SUBTASKS)
        fail(r, RT_PROTOCOL_ERROR_LIMIT, "too many tasks in deploy", n);
    if (!r->ok || !need(r, (size_t)n * 16))
        return;
    msg->tasks = g_new0(RtDeployTask, n > 0 ? n : 1);
    msg->n_tasks = n;
    for (uint32_t i = 0; i < n && r->ok; i++) {
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
        if (r->ok && g_strcmp0(rt_decline_reason_name(msg->decline_reason), "unknown") == 0)
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
        if (r->ok && n > RT_PROTOCOL_MAX_RECORDS)
            fail(r, RT_PROTOCOL_ERROR_LIMIT, "too many records in buffer", n);
        size_t bytes = (size_t)n * RT_PROTOCOL_RECORD_BYTES;
        if (!need(r, bytes))
            return;
        msg->records = r->p;
        msg->n_records = n;
        r->p += bytes;
        r->left -= bytes;
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
    Reader r = {.p = data, .left = len, .ok = true, .error = error};
    uint8_t version = get_u8(&r);
    uint8_t type = get_u8(&r);
    msg->attempt = get_u32(&r);
    if (r.ok && version != RT_PROTOCOL_VERSION)
        fail(&r, RT_PROTOCOL_ERROR_VERSION, "unknown protocol version", version);
    if (r.ok && g_strcmp0(rt_msg_type_name((RtMsgType)type), "unknown") == 0)
        fail(&r, RT_PROTOCOL_ERROR_TYPE, "unknown message type", type);
    if (r.ok) {
        msg->type = (RtMsgType)type;
        if (rt_msg_type_is_data(msg->type))
            decode_data_body(&r, msg);
        else
            decode_control_body(&r, msg);
    }
    if (r.ok && r.left != 0)
        fail(&r, RT_PROTOCOL_ERROR_TRAILING, "trailing bytes after message", r.left);
    if (!r.ok) {
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
    out->src = le32_load(p);
    out->offset = le64_load(p + 4);
    out->key = le64_load(p + 12);
    out->value = le64_load(p + 20);
    out->created_ns = le64_load(p + 28);
}
