/* rt_snapshot_codec.c - the versioned binary encoding of an RtSnapshot (format in
 * rt_snapshot.h) and its validating decoder. Every integer is written and read byte by
 * byte, little-endian; the decoder checks each length against the bytes that remain
 * before using it, so a corrupt count can neither overrun nor allocate wildly. */
#include "runtime/state/rt_snapshot.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"

#define MAGIC_LEN 8u
#define PREFIX_LEN (MAGIC_LEN + 4u + 8u) /* magic, version, total_len */
#define FIXED_LEN (PREFIX_LEN + 8u + 7u * 4u)
#define CRC_LEN 4u
#define ROW_LEN 24u

static_assert(sizeof(RT_SNAPSHOT_MAGIC) == MAGIC_LEN + 1, "magic is 8 bytes");

/* ------------------------------------------------------------------ encoding */

static void put_name(GByteArray *b, const char *name) {
    size_t n = strlen(name);
    assert(n >= 1 && n <= RT_SNAPSHOT_MAX_NAME_BYTES);
    rt_bytes_put_u16(b, (uint16_t)n);
    g_byte_array_append(b, (const uint8_t *)name, (guint)n);
}

static void check_state_rows(const RtSnapshot *snap, const RtSnapshotState *s) {
    for (guint i = 0; i < s->rows->len; i++) {
        const RtSnapshotRow *r = &g_array_index(s->rows, RtSnapshotRow, i);
        assert(rt_key_group_range_contains(snap->key_groups, r->key_group));
        assert(r->key_group == rt_key_group_for_key(r->key, snap->max_parallelism));
        assert(s->kind != RT_STATE_VALUE || r->sub == 0);
        if (i > 0) {
            const RtSnapshotRow *p = &g_array_index(s->rows, RtSnapshotRow, i - 1);
            assert(p->key_group < r->key_group ||
                   (p->key_group == r->key_group &&
                    (p->key < r->key || (p->key == r->key && p->sub < r->sub))));
        }
    }
}

/* Writes the key-group sections: a merge over the states' sorted rows. */
static void put_key_groups(GByteArray *b, const RtSnapshot *snap) {
    guint n = snap->states->len;
    guint *cur = g_new0(guint, n > 0 ? n : 1);
    size_t count_at = b->len;
    uint32_t n_groups = 0;
    rt_bytes_put_u32(b, 0);
    for (;;) { /* bounded: each round consumes at least one row */
        uint32_t kg = UINT32_MAX;
        for (guint i = 0; i < n; i++) {
            const RtSnapshotState *s = g_ptr_array_index(snap->states, i);
            if (cur[i] < s->rows->len)
                kg = MIN(kg, g_array_index(s->rows, RtSnapshotRow, cur[i]).key_group);
        }
        if (kg == UINT32_MAX)
            break;
        n_groups++;
        rt_bytes_put_u32(b, kg);
        size_t parts_at = b->len;
        uint32_t n_parts = 0;
        rt_bytes_put_u32(b, 0);
        for (guint i = 0; i < n; i++) {
            const RtSnapshotState *s = g_ptr_array_index(snap->states, i);
            guint end = cur[i];
            while (end < s->rows->len &&
                   g_array_index(s->rows, RtSnapshotRow, end).key_group == kg)
                end++;
            if (end == cur[i])
                continue;
            n_parts++;
            rt_bytes_put_u32(b, i);
            rt_bytes_put_u32(b, end - cur[i]);
            for (; cur[i] < end; cur[i]++) {
                const RtSnapshotRow *r = &g_array_index(s->rows, RtSnapshotRow, cur[i]);
                rt_bytes_put_u64(b, r->key);
                rt_bytes_put_u64(b, r->sub);
                rt_bytes_put_u64(b, r->value);
            }
        }
        rt_bytes_patch_u32(b, parts_at, n_parts);
    }
    rt_bytes_patch_u32(b, count_at, n_groups);
    g_free(cur);
}

static void put_blobs(GByteArray *b, GPtrArray *blobs) {
    rt_bytes_put_u32(b, blobs->len);
    for (guint i = 0; i < blobs->len; i++) {
        const RtSnapshotBlob *blob = g_ptr_array_index(blobs, i);
        assert(i == 0 || strcmp(((RtSnapshotBlob *)g_ptr_array_index(blobs, i - 1))->name,
                                blob->name) < 0);
        gsize len = 0;
        const uint8_t *data = g_bytes_get_data(blob->data, &len);
        assert(len <= UINT32_MAX);
        put_name(b, blob->name);
        rt_bytes_put_u32(b, (uint32_t)len);
        if (len > 0)
            g_byte_array_append(b, data, (guint)len);
    }
}

GBytes *rt_snapshot_encode(const RtSnapshot *snap) {
    assert(snap != NULL);
    assert(snap->key_groups.start <= snap->key_groups.end);
    assert(snap->key_groups.end <= snap->max_parallelism || snap->key_groups.end == 0);
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const uint8_t *)RT_SNAPSHOT_MAGIC, MAGIC_LEN);
    rt_bytes_put_u32(b, RT_SNAPSHOT_FORMAT_VERSION);
    rt_bytes_put_u64(b, 0); /* total_len, patched below */
    rt_bytes_put_u64(b, snap->checkpoint_id);
    rt_bytes_put_u32(b, snap->op);
    rt_bytes_put_u32(b, snap->subtask);
    rt_bytes_put_u32(b, snap->attempt);
    rt_bytes_put_u32(b, snap->parallelism);
    rt_bytes_put_u32(b, snap->max_parallelism);
    rt_bytes_put_u32(b, snap->key_groups.start);
    rt_bytes_put_u32(b, snap->key_groups.end);
    assert(snap->states->len <= RT_SNAPSHOT_MAX_STATES);
    rt_bytes_put_u32(b, snap->states->len);
    for (guint i = 0; i < snap->states->len; i++) {
        const RtSnapshotState *s = g_ptr_array_index(snap->states, i);
        assert(i == 0 || strcmp(((RtSnapshotState *)g_ptr_array_index(snap->states, i - 1))
                                    ->name, s->name) < 0);
        assert(s->rows->len == 0 || snap->max_parallelism > 0);
        check_state_rows(snap, s);
        put_name(b, s->name);
        rt_bytes_put_u8(b, (uint8_t)s->kind);
    }
    put_key_groups(b, snap);
    put_blobs(b, snap->operator_state);
    put_blobs(b, snap->channel_state);
    uint64_t total = (uint64_t)b->len + CRC_LEN;
    rt_bytes_patch_u64(b, MAGIC_LEN + 4, total);
    rt_bytes_put_u32(b, rt_crc32c(0, b->data, b->len));
    assert(b->len == total);
    return g_byte_array_free_to_bytes(b);
}

/* ------------------------------------------------------------------ decoding */

/* The decoder reads through an RtBytesReader (rt_bytes.h) whose end is the start of the
 * CRC; rt_snapshot_decode turns its first failure into the GError. */
typedef RtBytesReader Reader;

static bool corrupt(Reader *r, size_t at, const char *what) {
    return rt_bytes_reader_reject(r, at, RT_SNAPSHOT_ERROR_CORRUPT, what, 0);
}

static void set_error(const Reader *r, GError **error) {
    const RtBytesFailure *f = &r->failure;
    if (f->need_bytes > 0)
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_CORRUPT,
                    "snapshot corrupt: %s at byte %zu needs %zu bytes, %zu remain", f->what,
                    f->at_bytes, f->need_bytes, f->have_bytes);
    else
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_CORRUPT,
                    "snapshot corrupt: %s at byte %zu", f->what, f->at_bytes);
}

/* Reads a name; *out is a new string; prev (may be NULL) must sort before it. */
static bool get_name(Reader *r, const char *prev, char **out) {
    size_t at = r->pos;
    size_t n = rt_bytes_get_u16(r, "name length");
    if (!rt_bytes_reader_ok(r))
        return false;
    if (n == 0 || n > RT_SNAPSHOT_MAX_NAME_BYTES)
        return corrupt(r, at, "bad name length");
    const char *bytes = (const char *)rt_bytes_get_span(r, n, "name");
    if (bytes == NULL)
        return false;
    if (memchr(bytes, 0, n) != NULL)
        return corrupt(r, at, "NUL in name");
    char *name = g_strndup(bytes, n);
    if (prev != NULL && strcmp(prev, name) >= 0) {
        g_free(name);
        return corrupt(r, at, "names not sorted or not unique");
    }
    *out = name;
    return true;
}

/* Checks the envelope of data[0..len): magic, version, length, checksum. */
static bool check_envelope(const uint8_t *data, size_t len, GError **error) {
    size_t m = MIN(len, (size_t)MAGIC_LEN);
    if (memcmp(data, RT_SNAPSHOT_MAGIC, m) != 0) {
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_BAD_MAGIC,
                    "not a snapshot: bad magic in the first %zu bytes", m);
        return false;
    }
    if (len < PREFIX_LEN) {
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_TRUNCATED,
                    "snapshot truncated at byte %zu: the header needs %u bytes", len,
                    PREFIX_LEN);
        return false;
    }
    uint32_t version = rt_bytes_load_u32(data + MAGIC_LEN);
    if (version != RT_SNAPSHOT_FORMAT_VERSION) {
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_BAD_VERSION,
                    "snapshot format version %" PRIu32 " unsupported (expected %u)", version,
                    RT_SNAPSHOT_FORMAT_VERSION);
        return false;
    }
    uint64_t total = rt_bytes_load_u64(data + MAGIC_LEN + 4);
    if (total > len) {
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_TRUNCATED,
                    "snapshot truncated at byte %zu of %" PRIu64, len, total);
        return false;
    }
    if (total < len || total < FIXED_LEN + CRC_LEN) {
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_CORRUPT,
                    "snapshot corrupt: header says %" PRIu64 " bytes, file has %zu", total,
                    len);
        return false;
    }
    uint32_t stored = rt_bytes_load_u32(data + len - CRC_LEN);
    uint32_t actual = rt_crc32c(0, data, len - CRC_LEN);
    if (stored != actual) {
        g_set_error(error, RT_SNAPSHOT_ERROR, RT_SNAPSHOT_ERROR_CHECKSUM,
                    "snapshot checksum mismatch: stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
                    " over %zu bytes", stored, actual, len - CRC_LEN);
        return false;
    }
    return true;
}

static bool get_header(Reader *r, RtSnapshot *s) {
    uint32_t f[7];
    s->checkpoint_id = rt_bytes_get_u64(r, "checkpoint id");
    for (int i = 0; i < 7; i++)
        f[i] = rt_bytes_get_u32(r, "header field");
    if (!rt_bytes_reader_ok(r))
        return false;
    s->op = f[0];
    s->subtask = f[1];
    s->attempt = f[2];
    s->parallelism = f[3];
    s->max_parallelism = f[4];
    s->key_groups.start = f[5];
    s->key_groups.end = f[6];
    bool ok = s->max_parallelism <= RT_KEY_GROUPS_UPPER_BOUND &&
              s->key_groups.start <= s->key_groups.end &&
              s->key_groups.end <= s->max_parallelism;
    return ok || corrupt(r, PREFIX_LEN + 8 + 16, "bad max parallelism or key-group range");
}

static bool get_states(Reader *r, RtSnapshot *s) {
    size_t at = r->pos;
    uint32_t n = rt_bytes_get_u32(r, "state count");
    if (!rt_bytes_reader_ok(r))
        return false;
    if (n > RT_SNAPSHOT_MAX_STATES)
        return corrupt(r, at, "too many states");
    for (uint32_t i = 0; i < n; i++) {
        const RtSnapshotState *prev = i > 0 ? g_ptr_array_index(s->states, i - 1) : NULL;
        char *name = NULL;
        if (!get_name(r, prev != NULL ? prev->name : NULL, &name))
            return false;
        at = r->pos;
        uint8_t kind = rt_bytes_get_u8(r, "state kind");
        if (!rt_bytes_reader_ok(r) || kind < RT_STATE_VALUE || kind > RT_STATE_MAP) {
            g_free(name);
            return corrupt(r, at, "bad state kind");
        }
        RtSnapshotState *st = g_new0(RtSnapshotState, 1);
        st->name = name;
        st->kind = (RtStateKind)kind;
        st->rows = g_array_new(FALSE, TRUE, sizeof(RtSnapshotRow));
        g_ptr_array_add(s->states, st);
    }
    return true;
}

/* Reads the rows of one (key group, state) part and checks their order and shape. */
static bool get_rows(Reader *r, RtSnapshot *s, RtSnapshotState *st, uint32_t kg,
                     uint32_t n_rows) {
    size_t at = r->pos;
    if (n_rows == 0)
        return corrupt(r, at, "empty state part");
    if (!rt_bytes_reader_need(r, (size_t)n_rows * ROW_LEN, "rows"))
        return false;
    for (uint32_t i = 0; i < n_rows; i++) {
        RtSnapshotRow row = {.key_group = kg};
        at = r->pos;
        row.key = rt_bytes_get_u64(r, "row");
        row.sub = rt_bytes_get_u64(r, "row");
        row.value = rt_bytes_get_u64(r, "row");
        if (rt_key_group_for_key(row.key, s->max_parallelism) != kg)
            return corrupt(r, at, "key in the wrong key group");
        const RtSnapshotRow *p =
            i > 0 ? &g_array_index(st->rows, RtSnapshotRow, st->rows->len - 1) : NULL;
        bool same_key = p != NULL && p->key == row.key;
        if (p != NULL && (p->key > row.key || (same_key && p->sub >= row.sub)))
            return corrupt(r, at, "rows not sorted or not unique");
        if (st->kind == RT_STATE_VALUE && row.sub != 0)
            return corrupt(r, at, "value state row with a sub key");
        if (st->kind == RT_STATE_LIST && row.sub != (same_key ? p->sub + 1 : 0))
            return corrupt(r, at, "list positions not consecutive");
        g_array_append_val(st->rows, row);
    }
    return true;
}

static bool get_key_groups(Reader *r, RtSnapshot *s) {
    size_t at = r->pos;
    uint32_t n = rt_bytes_get_u32(r, "key group count");
    if (!rt_bytes_reader_ok(r))
        return false;
    if (n > rt_key_group_range_size(s->key_groups))
        return corrupt(r, at, "more key groups than the range holds");
    uint32_t prev_kg = 0;
    for (uint32_t g = 0; g < n; g++) {
        uint32_t prev_state = 0;
        at = r->pos;
        uint32_t kg = rt_bytes_get_u32(r, "key group");
        uint32_t n_parts = rt_bytes_get_u32(r, "part count");
        if (!rt_bytes_reader_ok(r))
            return false;
        if (!rt_key_group_range_contains(s->key_groups, kg) || (g > 0 && kg <= prev_kg))
            return corrupt(r, at, "key group out of range or order");
        if (n_parts == 0 || n_parts > s->states->len)
            return corrupt(r, at, "bad part count");
        prev_kg = kg;
        for (uint32_t p = 0; p < n_parts; p++) {
            at = r->pos;
            uint32_t idx = rt_bytes_get_u32(r, "state index");
            uint32_t n_rows = rt_bytes_get_u32(r, "row count");
            if (!rt_bytes_reader_ok(r))
                return false;
            if (idx >= s->states->len || (p > 0 && idx <= prev_state))
                return corrupt(r, at, "state index out of range or order");
            prev_state = idx;
            if (!get_rows(r, s, g_ptr_array_index(s->states, idx), kg, n_rows))
                return false;
        }
    }
    return true;
}

static bool get_blobs(Reader *r, GPtrArray *blobs, const char *what) {
    size_t at = r->pos;
    uint32_t n = rt_bytes_get_u32(r, what);
    if (!rt_bytes_reader_ok(r))
        return false;
    if (n > RT_SNAPSHOT_MAX_BLOBS)
        return corrupt(r, at, "too many blobs");
    for (uint32_t i = 0; i < n; i++) {
        const RtSnapshotBlob *prev = i > 0 ? g_ptr_array_index(blobs, i - 1) : NULL;
        char *name = NULL;
        if (!get_name(r, prev != NULL ? prev->name : NULL, &name))
            return false;
        uint32_t len = rt_bytes_get_u32(r, "blob length");
        const uint8_t *bytes = rt_bytes_get_span(r, len, "blob");
        if (bytes == NULL) {
            g_free(name);
            return false;
        }
        RtSnapshotBlob *b = g_new0(RtSnapshotBlob, 1);
        b->name = name;
        b->data = g_bytes_new(bytes, len);
        g_ptr_array_add(blobs, b);
    }
    return true;
}

bool rt_snapshot_decode(const void *data, size_t len, RtSnapshot **out, GError **error) {
    assert((data != NULL || len == 0) && out != NULL);
    const uint8_t *d = data != NULL ? data : (const void *)"";
    if (!check_envelope(d, len, error))
        return false;
    Reader r;
    rt_bytes_reader_init(&r, d, len - CRC_LEN);
    r.pos = PREFIX_LEN;
    RtSnapshot *s = rt_snapshot_new();
    bool ok = get_header(&r, s) && get_states(&r, s) && get_key_groups(&r, s) &&
              get_blobs(&r, s->operator_state, "operator state count") &&
              get_blobs(&r, s->channel_state, "channel state count");
    if (ok && r.pos != r.end)
        ok = corrupt(&r, r.pos, "trailing bytes before the checksum");
    if (!ok) {
        set_error(&r, error);
        rt_snapshot_free(s);
        return false;
    }
    *out = s;
    return true;
}
