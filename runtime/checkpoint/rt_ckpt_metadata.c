/* rt_ckpt_metadata.c - completed checkpoints and the _metadata encoding
 * (rt_ckpt_metadata.h). */
#include "runtime/checkpoint/rt_ckpt_metadata.h"

#include <assert.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"
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

GBytes *rt_ckpt_metadata_encode(const RtCompletedCheckpoint *cp) {
    assert(cp != NULL);
    GByteArray *out = g_byte_array_new();
    g_byte_array_append(out, (const guint8 *)RT_CKPT_METADATA_MAGIC, 8);
    rt_bytes_put_u32(out, RT_CKPT_METADATA_VERSION);
    rt_bytes_put_u64(out, 0); /* total_len, patched below */
    rt_bytes_put_u64(out, cp->checkpoint_id);
    rt_bytes_put_u64(out, cp->trigger_ns);
    rt_bytes_put_u64(out, cp->complete_ns);
    rt_bytes_put_u32(out, cp->attempt);
    size_t job_len = strlen(cp->job);
    assert(job_len <= RT_CKPT_METADATA_MAX_JOB_BYTES);
    rt_bytes_put_u16(out, (uint16_t)job_len);
    g_byte_array_append(out, (const guint8 *)cp->job, (guint)job_len);
    rt_bytes_put_u32(out, cp->subtasks->len);
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *s = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        assert(i == 0 || subtask_cmp((&s[-1])->subtask, s->subtask) < 0);
        gsize n = 0;
        const void *h = g_bytes_get_data(s->handle, &n);
        assert(n <= UINT32_MAX);
        rt_bytes_put_u16(out, s->subtask.op);
        rt_bytes_put_u16(out, s->subtask.index);
        rt_bytes_put_u32(out, s->attempt);
        rt_bytes_put_u32(out, (uint32_t)n);
        if (n > 0)
            g_byte_array_append(out, h, (guint)n);
    }
    rt_bytes_patch_u64(out, 12, (uint64_t)out->len + 4);
    rt_bytes_put_u32(out, rt_crc32c(0, out->data, out->len));
    return g_byte_array_free_to_bytes(out);
}

/* The decoder reads through an RtBytesReader (rt_bytes.h); its first failure becomes the
 * GError, named with the byte offset where it was found. */
typedef RtBytesReader Reader;

static bool fail(Reader *r, RtCkptMetadataError code, const char *what) {
    return rt_bytes_reader_reject(r, r->pos, (int)code, what, 0);
}

/* Sets error from r's first failure; returns false. */
static bool set_error(const Reader *r, GError **error) {
    const RtBytesFailure *f = &r->failure;
    assert(r->failed);
    g_set_error(error, RT_CKPT_METADATA_ERROR,
                f->need_bytes > 0 ? RT_CKPT_METADATA_ERROR_TRUNCATED : f->code,
                "checkpoint metadata: %s at byte %zu", f->what, f->at_bytes);
    return false;
}

/* Checks magic, version, length and checksum before anything else is trusted, then ends
 * r before the checksum. A length that differs from the header's is reported at once
 * into error (r stays ok); any other failure is left in r. */
static bool check_envelope(Reader *r, GError **error) {
    if (r->end < 8 || memcmp(r->data, RT_CKPT_METADATA_MAGIC, 8) != 0)
        return fail(r, r->end < 8 ? RT_CKPT_METADATA_ERROR_TRUNCATED
                                  : RT_CKPT_METADATA_ERROR_BAD_MAGIC, "bad magic");
    r->pos = 8;
    uint32_t version = rt_bytes_get_u32(r, "truncated");
    uint64_t total = rt_bytes_get_u64(r, "truncated");
    if (!rt_bytes_reader_ok(r))
        return false;
    if (version != RT_CKPT_METADATA_VERSION)
        return fail(r, RT_CKPT_METADATA_ERROR_BAD_VERSION, "unknown version");
    if (total != r->end) {
        g_set_error(error, RT_CKPT_METADATA_ERROR, RT_CKPT_METADATA_ERROR_TRUNCATED,
                    "checkpoint metadata: length %zu but header says %" G_GUINT64_FORMAT,
                    r->end, total);
        return false;
    }
    if (r->end < HEADER_BYTES + 2 + 4 + 4)
        return fail(r, RT_CKPT_METADATA_ERROR_TRUNCATED, "truncated");
    uint32_t stored = rt_bytes_load_u32(r->data + r->end - 4);
    if (stored != rt_crc32c(0, r->data, r->end - 4))
        return fail(r, RT_CKPT_METADATA_ERROR_CHECKSUM, "checksum mismatch");
    r->end -= 4; /* the body ends before the checksum */
    return true;
}

static bool decode_subtasks(Reader *r, RtCompletedCheckpoint *cp) {
    uint32_t n = rt_bytes_get_u32(r, "truncated");
    if (!rt_bytes_reader_ok(r))
        return false;
    if (n > RT_CKPT_METADATA_MAX_SUBTASKS)
        return fail(r, RT_CKPT_METADATA_ERROR_CORRUPT, "too many subtasks");
    for (uint32_t i = 0; i < n; i++) {
        RtSubtaskId st;
        st.op = rt_bytes_get_u16(r, "truncated");
        st.index = rt_bytes_get_u16(r, "truncated");
        uint32_t attempt = rt_bytes_get_u32(r, "truncated");
        uint32_t hlen = rt_bytes_get_u32(r, "truncated");
        if (!rt_bytes_reader_ok(r))
            return false;
        if (hlen > RT_CKPT_METADATA_MAX_HANDLE_BYTES || hlen > rt_bytes_reader_left(r))
            return fail(r, RT_CKPT_METADATA_ERROR_CORRUPT, "bad handle length");
        if (cp->subtasks->len > 0) {
            const RtCkptSubtaskState *last = &g_array_index(
                cp->subtasks, RtCkptSubtaskState, cp->subtasks->len - 1);
            if (subtask_cmp(last->subtask, st) >= 0)
                return fail(r, RT_CKPT_METADATA_ERROR_CORRUPT, "subtasks out of order");
        }
        GBytes *h = g_bytes_new(rt_bytes_get_span(r, hlen, "truncated"), hlen);
        rt_completed_checkpoint_add(cp, st, attempt, h);
        g_bytes_unref(h);
    }
    return true;
}

bool rt_ckpt_metadata_decode(const void *data, size_t len, RtCompletedCheckpoint **out,
                             GError **error) {
    assert(out != NULL && (data != NULL || len == 0));
    Reader r;
    rt_bytes_reader_init(&r, data, len);
    if (!check_envelope(&r, error))
        return rt_bytes_reader_ok(&r) ? false : set_error(&r, error);
    uint64_t id = rt_bytes_get_u64(&r, "truncated");
    uint64_t trig = rt_bytes_get_u64(&r, "truncated");
    uint64_t comp = rt_bytes_get_u64(&r, "truncated");
    uint32_t attempt = rt_bytes_get_u32(&r, "truncated");
    uint16_t job_len = rt_bytes_get_u16(&r, "truncated");
    if (rt_bytes_reader_ok(&r) && id == 0)
        fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "checkpoint id 0");
    if (job_len > RT_CKPT_METADATA_MAX_JOB_BYTES || job_len > rt_bytes_reader_left(&r))
        fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "bad job name length");
    if (!rt_bytes_reader_ok(&r))
        return set_error(&r, error);
    const char *name = (const char *)rt_bytes_get_span(&r, job_len, "truncated");
    if (memchr(name, '\0', job_len) != NULL) {
        fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "NUL in job name");
        return set_error(&r, error);
    }
    char *job = g_strndup(name, job_len);
    RtCompletedCheckpoint *cp = rt_completed_checkpoint_new(job, id, trig, comp, attempt);
    g_free(job);
    if (!decode_subtasks(&r, cp) ||
        (r.pos != r.end && !fail(&r, RT_CKPT_METADATA_ERROR_CORRUPT, "trailing bytes"))) {
        rt_completed_checkpoint_free(cp);
        return set_error(&r, error);
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
