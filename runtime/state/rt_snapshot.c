/* rt_snapshot.c - the RtSnapshot value (construction, lookup, copy) and its CRC-32C.
 * The binary encoding and its validating decoder live in rt_snapshot_codec.c. */
#include "runtime/state/rt_snapshot.h"

#include <assert.h>
#include <string.h>

G_DEFINE_QUARK(rt-snapshot-error-quark, rt_snapshot_error)

/* ------------------------------------------------------------------ CRC-32C */

/* Reflected Castagnoli polynomial 0x1EDC6F41. */
#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t crc32c_table[8][256];

/* Slicing-by-8 tables: [0] is the classic byte table, [k] advances k more zero bytes. */
static void crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int b = 0; b < 8; b++)
            c = (c & 1u) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            crc32c_table[k][i] = (crc32c_table[k - 1][i] >> 8) ^
                                 crc32c_table[0][crc32c_table[k - 1][i] & 0xffu];
}

uint32_t rt_crc32c(uint32_t crc, const void *data, size_t len) {
    assert(data != NULL || len == 0);
    /* g_once: a sweep may run simulations on several threads. */
    static gsize ready = 0;
    if (g_once_init_enter(&ready)) {
        crc32c_init();
        g_once_init_leave(&ready, 1);
    }
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (len >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc32c_table[7][lo & 0xffu] ^ crc32c_table[6][(lo >> 8) & 0xffu] ^
            crc32c_table[5][(lo >> 16) & 0xffu] ^ crc32c_table[4][lo >> 24] ^
            crc32c_table[3][p[4]] ^ crc32c_table[2][p[5]] ^ crc32c_table[1][p[6]] ^
            crc32c_table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len-- > 0)
        c = (c >> 8) ^ crc32c_table[0][(c ^ *p++) & 0xffu];
    return ~c;
}

/* ---------------------------------------------------------------- the value */

static void state_free(void *p) {
    RtSnapshotState *s = p;
    g_free(s->name);
    g_array_unref(s->rows);
    g_free(s);
}

static void blob_free(void *p) {
    RtSnapshotBlob *b = p;
    g_free(b->name);
    g_bytes_unref(b->data);
    g_free(b);
}

RtSnapshot *rt_snapshot_new(void) {
    RtSnapshot *snap = g_new0(RtSnapshot, 1);
    snap->states = g_ptr_array_new_with_free_func(state_free);
    snap->operator_state = g_ptr_array_new_with_free_func(blob_free);
    snap->channel_state = g_ptr_array_new_with_free_func(blob_free);
    return snap;
}

void rt_snapshot_free(RtSnapshot *snap) {
    if (snap == NULL)
        return;
    g_ptr_array_unref(snap->states);
    g_ptr_array_unref(snap->operator_state);
    g_ptr_array_unref(snap->channel_state);
    g_free(snap);
}

static bool name_ok(const char *name) {
    size_t n = name != NULL ? strlen(name) : 0;
    return n >= 1 && n <= RT_SNAPSHOT_MAX_NAME_BYTES;
}

/* Binary search over an array of structs whose first field is a char *name. Returns
 * the index of name, or -(insertion point) - 1. */
static long find_named(GPtrArray *arr, const char *name) {
    size_t lo = 0, hi = arr->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *const *item = g_ptr_array_index(arr, mid);
        int c = strcmp(*item, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

RtSnapshotState *rt_snapshot_ensure_state(RtSnapshot *snap, const char *name,
                                          RtStateKind kind) {
    assert(snap != NULL && name_ok(name));
    assert(kind == RT_STATE_VALUE || kind == RT_STATE_LIST || kind == RT_STATE_MAP);
    long at = find_named(snap->states, name);
    if (at >= 0) {
        RtSnapshotState *s = g_ptr_array_index(snap->states, (guint)at);
        assert(s->kind == kind);
        return s;
    }
    assert(snap->states->len < RT_SNAPSHOT_MAX_STATES);
    RtSnapshotState *s = g_new0(RtSnapshotState, 1);
    s->name = g_strdup(name);
    s->kind = kind;
    s->rows = g_array_new(FALSE, TRUE, sizeof(RtSnapshotRow));
    g_ptr_array_insert(snap->states, (gint)(-at - 1), s);
    return s;
}

const RtSnapshotState *rt_snapshot_find_state(const RtSnapshot *snap, const char *name) {
    assert(snap != NULL && name != NULL);
    long at = find_named(snap->states, name);
    return at >= 0 ? g_ptr_array_index(snap->states, (guint)at) : NULL;
}

static int row_cmp_key(const RtSnapshotRow *r, uint32_t kg, uint64_t key, uint64_t sub) {
    if (r->key_group != kg)
        return r->key_group < kg ? -1 : 1;
    if (r->key != key)
        return r->key < key ? -1 : 1;
    if (r->sub != sub)
        return r->sub < sub ? -1 : 1;
    return 0;
}

bool rt_snapshot_lookup_value(const RtSnapshot *snap, const char *name, uint64_t key,
                              uint64_t *out) {
    const RtSnapshotState *s = rt_snapshot_find_state(snap, name);
    if (s == NULL || s->kind != RT_STATE_VALUE || snap->max_parallelism == 0)
        return false;
    uint32_t kg = rt_key_group_for_key(key, snap->max_parallelism);
    size_t lo = 0, hi = s->rows->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const RtSnapshotRow *r = &g_array_index(s->rows, RtSnapshotRow, mid);
        int c = row_cmp_key(r, kg, key, 0);
        if (c == 0) {
            *out = r->value;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static void blob_set(GPtrArray *arr, const char *name, const void *data, size_t len) {
    assert(name_ok(name) && (data != NULL || len == 0) && len <= UINT32_MAX);
    GBytes *bytes = g_bytes_new(data, len);
    long at = find_named(arr, name);
    if (at >= 0) {
        RtSnapshotBlob *b = g_ptr_array_index(arr, (guint)at);
        g_bytes_unref(b->data);
        b->data = bytes;
        return;
    }
    assert(arr->len < RT_SNAPSHOT_MAX_BLOBS);
    RtSnapshotBlob *b = g_new0(RtSnapshotBlob, 1);
    b->name = g_strdup(name);
    b->data = bytes;
    g_ptr_array_insert(arr, (gint)(-at - 1), b);
}

static const void *blob_get(GPtrArray *arr, const char *name, size_t *len) {
    assert(name != NULL && len != NULL);
    long at = find_named(arr, name);
    if (at < 0) {
        *len = 0;
        return NULL;
    }
    RtSnapshotBlob *b = g_ptr_array_index(arr, (guint)at);
    gsize n = 0;
    const void *p = g_bytes_get_data(b->data, &n);
    *len = n;
    return p != NULL ? p : (const void *)"";
}

void rt_snapshot_set_operator_state(RtSnapshot *snap, const char *name, const void *data,
                                    size_t len) {
    assert(snap != NULL);
    blob_set(snap->operator_state, name, data, len);
}

const void *rt_snapshot_get_operator_state(const RtSnapshot *snap, const char *name,
                                           size_t *len) {
    assert(snap != NULL);
    return blob_get(snap->operator_state, name, len);
}

void rt_snapshot_set_channel_state(RtSnapshot *snap, const char *name, const void *data,
                                   size_t len) {
    assert(snap != NULL);
    blob_set(snap->channel_state, name, data, len);
}

const void *rt_snapshot_get_channel_state(const RtSnapshot *snap, const char *name,
                                          size_t *len) {
    assert(snap != NULL);
    return blob_get(snap->channel_state, name, len);
}

static void copy_blobs(GPtrArray *dst, GPtrArray *src) {
    for (guint i = 0; i < src->len; i++) {
        const RtSnapshotBlob *b = g_ptr_array_index(src, i);
        RtSnapshotBlob *c = g_new0(RtSnapshotBlob, 1);
        c->name = g_strdup(b->name);
        c->data = g_bytes_ref(b->data);
        g_ptr_array_add(dst, c);
    }
}

RtSnapshot *rt_snapshot_copy(const RtSnapshot *snap) {
    assert(snap != NULL);
    RtSnapshot *c = rt_snapshot_new();
    c->checkpoint_id = snap->checkpoint_id;
    c->op = snap->op;
    c->subtask = snap->subtask;
    c->attempt = snap->attempt;
    c->parallelism = snap->parallelism;
    c->max_parallelism = snap->max_parallelism;
    c->key_groups = snap->key_groups;
    for (guint i = 0; i < snap->states->len; i++) {
        const RtSnapshotState *s = g_ptr_array_index(snap->states, i);
        RtSnapshotState *d = g_new0(RtSnapshotState, 1);
        d->name = g_strdup(s->name);
        d->kind = s->kind;
        d->rows = g_array_sized_new(FALSE, TRUE, sizeof(RtSnapshotRow), s->rows->len);
        g_array_append_vals(d->rows, s->rows->data, s->rows->len);
        g_ptr_array_add(c->states, d);
    }
    copy_blobs(c->operator_state, snap->operator_state);
    copy_blobs(c->channel_state, snap->channel_state);
    return c;
}
