/* rt_ckpt_metadata.c - completed checkpoints and the _metadata encoding
 * (rt_ckpt_metadata.h). */
#include "runtime/checkpoint/rt_ckpt_metadata.h"

#include <assert.h>
#include <string.h>

#include "runtime/state/rt_snapshot.h"

G_DEFINE_QUARK(rt-ckpt-metadata-error-quark, rt_ckpt_metadata_error)

/* Fixed part before the job name: magic, version, total_len, id, trigger, complete,
 * attempt. */
#define HEADER_BYTES (8u + 4u + 8u + 8u + 8u + 8u + 4u)

static void subtask_state_clear(void *p) {
    RtCkptSubtaskState *s = p;
    if (s->handle != NULL)
        g_bytes_unref(s->handle);
}

RtCompletedCheckpoint *rt_completed_checkpoint_new(const char *job, uint64_t checkpoint_id,
                                                   uint64_t trigger_ns, uint64_t complete_ns,
                                                   uint32_t attempt) {
    assert(job != NULL && strlen(job) <= RT_CKPT_METADATA_MAX_JOB_BYTES);
    assert(checkpoint_id >= 1);
    RtCompletedCheckpoint *cp = g_new0(RtCompletedCheckpoint, 1);
    cp->job = g_strdup(job);
    cp->checkpoint_id = checkpoint_id;
    cp->trigger_ns = trigger_ns;
    cp->complete_ns = complete_ns;
    cp->attempt = attempt;
    cp->subtasks = g_array_new(FALSE, TRUE, sizeof(RtCkptSubtaskState));
    g_array_set_clear_func(cp->subtasks, subtask_state_clear);
    return cp;
}

void rt_completed_checkpoint_free(RtCompletedCheckpoint *cp) {
    if (cp == NULL)
        return;
    g_array_unref(cp->subtasks);
    g_free(cp->job);
    g_free(cp);
}

static int subtask_cmp(RtSubtaskId a, RtSubtaskId b) {
    if (a.op != b.op)
        return a.op < b.op ? -1 : 1;
    if (a.index != b.index)
        return a.index < b.index ? -1 : 1;
    return 0;
}

/* Index of the first entry >= subtask (binary search). */
static guint lower_bound(const RtCompletedCheckpoint *cp, RtSubtaskId subtask) {
    guint lo = 0, hi = cp->subtasks->len;
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        const RtCkptSubtaskState *s = &g_array_index(cp->subtasks, RtCkptSubtaskState, mid);
        if (subtask_cmp(s->subtask, subtask) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void rt_completed_checkpoint_add(RtCompletedCheckpoint *cp, RtSubtaskId subtask,
                                 uint32_t attempt, GBytes *handle) {
    assert(cp != NULL && handle != NULL);
    assert(cp->subtasks->len < RT_CKPT_METADATA_MAX_SUBTASKS);
    assert(g_bytes_get_size(handle) <= RT_CKPT_METADATA_MAX_HANDLE_BYTES);
    guint i = lower_bound(cp, subtask);
    if (i < cp->subtasks->len) {
        const RtCkptSubtaskState *s = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        assert(subtask_cmp(s->subtask, subtask) != 0);
    }
    RtCkptSubtaskState s = {.subtask = subtask, .attempt = attempt,
                            .handle = g_bytes_ref(handle)};
    g_array_insert_val(cp->subtasks, i, s);
}

const RtCkptSubtaskState *rt_completed_checkpoint_find(const RtCompletedCheckpoint *cp,
                                                       RtSubtaskId subtask) {
    assert(cp != NULL);
    guint i = lower_bound(cp, subtask);
    if (i >= cp->subtasks->len)
        return NULL;
    const RtCkptSubtaskState *s = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
    return subtask_cmp(s->subtask, subtask) == 0 ? s : NULL;
}

/* ------------------------------------------------------------------ encoding */

static void put_le(GByteArray *out, uint64_t v, int bytes) {
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    g_byte_array_append(out, b, (guint)bytes);
}

GBytes *rt_ckpt_metadata_encode(const RtCompletedCheckpoint *cp) {
    assert(cp != NULL);
    GByteArray *out = g_byte_array_new();
    g_byte_array_append(out, (const guint8 *)RT_CKPT_METADATA_MAGIC, 8);
    put_le(out, RT_CKPT_METADATA_VERSION, 4);
    put_le(out, 0, 8); /* total_len, patched below */
    put_le(out, cp->checkpoint_id, 8);
    put_le(out, cp->trigger_ns, 8);
    put_le(out, cp->complete_ns, 8);
    put_le(out, cp->attempt, 4);
    size_t job_len = strlen(cp->job);
    assert(job_len <= RT_CKPT_METADATA_MAX_JOB_BYTES);
    put_le(out, job_len, 2);
    g_byte_array_append(out, (const guint8 *)cp->job, (guint)job_len);
    put_le(out, cp->subtasks->len, 4);
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *s = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        assert(i == 0 || subtask_cmp((&s[-1])->subtask, s->subtask) < 0);
        gsize n = 0;
        const void *h = g_bytes_get_data(s->handle, &n);
        put_le(out, s->subtask.op, 2);
        put_le(out, s->subtask.index, 2);
        put_le(out, s->attempt, 4);
        put_le(out, n, 4);
        if (n > 0)
            g_byte_array_append(out, h, (guint)n);
    }
    uint64_t total = (uint64_t)out->len + 4;
    for (int i = 0; i < 8; i++)
        out->data[12 + i] = (uint8_t)(total >> (8 * i));
    put_le(out, rt_crc32c(0, out->data, out->len), 4);
    return g_byte_array_free_to_bytes(out);
}

/* A bounds-checked reader: every get fails (sets error once) rather than overrun. */
typedef struct Reader {
    const uint8_t *data;
    size_t len;
    size_t pos;
    GError **error;
    bool failed;
} Reader;

static bool fail(Reader *r, RtCkptMetadataError code, const char *what) {
    if (!r->failed)
        g_set_error(r->error, RT_CKPT_METADATA_ERROR, code,
                    "checkpoint metadata: %s at byte %zu", what, r->pos);
    r->failed = true;
    return false;
}

static bool get_le(Reader *r, int bytes, uint64_t *v) {
    if (r->failed)
        return false;
    if (r->len - r->pos < (size_t)bytes)
        return fail(r, RT_CKPT_METADATA_ERROR_TRUNCATED, "truncated");
    uint64_t x = 0;
    for (int i = 0; i < bytes; i++)
        x |= (uint64_t)r->data[r->pos + (size_t)i] << (8 * i);
    r->pos += (size_t)bytes;
    *v = x;
    return true;
}

/* Checks magic, version, length and checksum before anything else is trusted. */
static bool check_envelope(Reader *r) {
    if (r->len < 8 || memcmp(r->data, RT_CKPT_METADATA_MAGIC, 8) != 0)
        return fail(r, r->len < 8 ? RT_CKPT_METADATA_ERROR_TRUNCATED
                                  : RT_CKPT_METADATA_ERROR_BAD_MAGIC, "bad magic");
    r->pos = 8;
    uint64_t version = 0, total = 0;
    if (!get_le(r, 4, &version) || !get_le(r, 8, &total))
        return false;
    if (version != RT_CKPT_METADATA_VERSION)
        return fail(r, RT_CKPT_METADATA_ERROR_BAD_VERSION, "unknown version");
    if (total != r->len) {
        g_set_error(r->error, RT_CKPT_METADATA_ERROR, RT_CKPT_METADATA_ERROR_TRUNCATED,
                    "checkpoint metadata: length %zu but header says %" G_GUINT64_FORMAT,
                    r->len, total);
        r->failed = true;
        return false;
    }
    if (r->len < HEADER_BYTES + 2 + 4 + 4)
        return fail(r, RT_CKPT_METADATA_ERROR_TRUNCATED, "truncated");
    const uint8_t *c = r->data + r->len - 4;
    uint32_t stored = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
                      (uint32_t)c[3] << 24;
    if (stored != rt_crc32c(0, r->data, r->len - 4))
        return fail(r, RT_CKPT_METADATA_ERROR_CHECKSUM, "checksum mismatch");
    r->len -= 4; /* the body ends before the checksum */
    return true;
}

static bool decode_subtasks(Reader *r, RtCompletedCheckpoint *cp) {
    uint64_t n = 0;
    if (!get_le(r, 4, &n))
        return false;
    if (n > RT_CKPT_METADATA_MAX_SUBTASKS)
        return fail(r, RT_CKPT_METADATA_ERROR_CORRUPT, "too many subtasks");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t op = 0, index = 0, attempt = 0, hlen = 0;
        if (!get_le(r, 2, &op) || !get_le(r, 2, &index) || !get_le(r, 4, &attempt) ||
            !get_le(r, 4, &hlen))
            return false;
        if (hlen > RT_CKPT_METADATA_MAX_HANDLE_BYTES || hlen > r->len - r->pos)
            return fail(r, RT_CKPT_METADATA_ERROR_CORRUPT, "bad handle length");
        RtSubtaskId st = {.op = (uint16_t)op, .index = (uint16_t)index};
        if (cp->subtasks->len > 0) {
            const RtCkptSubtaskState *last = &g_array_index(
                cp->subtasks, RtCkptSubtaskState, cp->subtasks->len - 1);
            if (subtask_cmp(last->subtask, st) >= 0)
                return fail(r, RT_CKPT_METADATA_ERROR_CORRUPT, "subtasks out of order");
        }
        GBytes *h = g_bytes_new(r->data + r->pos, (gsize)hlen);
        r->pos += (size_t)hlen;
        rt_completed_checkpoint_add(cp, st, (uint32_t)attempt, h);
        g_bytes_unref(h);
    }
    return true;
}

bool rt_ckpt_metadata_decode(const void *data, size_t len, RtCompletedCheckpoint **out,
                             GError **error) {
    assert(out != NULL && (data != NULL || len == 0));
    Reader r = {.data = data, .len = len, .pos = 0, .error = error, .failed = false};
    if (!check_envelope(&r))
        return false;
    uint64_t id = 0, trig = 0, comp = 0, attempt = 0, job_len = 0;
    if (!get_le(&r, 8, &id) || !get_le(&r, 8, &trig) || !get_le(&r, 8, &comp) ||
        !get_le(&r, 4, &attempt) || !get_le(&r, 2, &job_len))
        return false;
    if (id == 0)
        return fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "checkpoint id 0");
    if (job_len > RT_CKPT_METADATA_MAX_JOB_BYTES || job_len > r.len - r.pos)
        return fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "bad job name length");
    char *job = g_strndup((const char *)r.data + r.pos, (gsize)job_len);
    r.pos += (size_t)job_len;
    if (strlen(job) != job_len) {
        g_free(job);
        return fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "NUL in job name");
    }
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new(job, id, trig, comp,
                                                            (uint32_t)attempt);
    g_free(job);
    if (!decode_subtasks(&r, cp) ||
        (r.pos != r.len && !fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "trailing bytes"))) {
        rt_completed_checkpoint_free(cp);
        return false;
    }
    *out = cp;
    return true;
}

/* -------------------------------------------------------------------- paths */

char *rt_ckpt_job_dir(const char *dir, const char *job) {
    assert(dir != NULL && job != NULL);
    char *safe = g_strdup(job[0] != '\0' ? job : "job");
    for (char *p = safe; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            *p = '_';
    }
    char *path = g_strdup_printf("%s/%s", dir, safe);
    g_free(safe);
    return path;
}

char *rt_ckpt_metadata_path(const char *dir, const char *job, uint64_t checkpoint_id) {
    char *jd = rt_ckpt_job_dir(dir, job);
    char *path = g_strdup_printf("%s/chk-%" G_GUINT64_FORMAT "/_metadata", jd, checkpoint_id);
    g_free(jd);
    return path;
}

bool rt_ckpt_parse_dir_name(const char *name, uint64_t *checkpoint_id) {
    if (name == NULL || strncmp(name, "chk-", 4) != 0 || !g_ascii_isdigit(name[4]))
        return false;
    guint64 v = 0;
    if (!g_ascii_string_to_unsigned(name + 4, 10, 1, G_MAXUINT64, &v, NULL))
        return false;
    *checkpoint_id = v;
    return true;
}
