/* rt_channel_state.c - naming and encoding of unaligned checkpoints' channel state
 * (see rt_channel_state.h). */
#include "runtime/dataflow/rt_channel_state.h"

#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"

G_DEFINE_QUARK(rt-channel-state-error-quark, rt_channel_state_error)

char *rt_channel_state_name(RtChannelDir dir, RtChannelKey key) {
    return g_strdup_printf("%s/%u/%u/%u", dir == RT_CHANNEL_INPUT ? "in" : "out",
                           (unsigned)key.edge, (unsigned)key.from, (unsigned)key.to);
}

/* Parses a decimal u16 without leading zeros at *p, advancing *p. */
static bool parse_u16(const char **p, uint16_t *out) {
    const char *s = *p;
    uint32_t v = 0;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 6) {
        v = v * 10 + (uint32_t)(s[n] - '0');
        n++;
    }
    if (n == 0 || n > 5 || v > UINT16_MAX || (n > 1 && s[0] == '0'))
        return false;
    *out = (uint16_t)v;
    *p = s + n;
    return true;
}

bool rt_channel_state_parse_name(const char *name, RtChannelDir *dir, RtChannelKey *key,
                                 GError **error) {
    assert(name != NULL && dir != NULL && key != NULL);
    const char *p = name;
    RtChannelDir d;
    if (strncmp(p, "in/", 3) == 0) {
        d = RT_CHANNEL_INPUT;
        p += 3;
    } else if (strncmp(p, "out/", 4) == 0) {
        d = RT_CHANNEL_OUTPUT;
        p += 4;
    } else {
        goto bad;
    }
    RtChannelKey k;
    memset(&k, 0, sizeof k);
    if (!parse_u16(&p, &k.edge) || *p++ != '/' || !parse_u16(&p, &k.from) || *p++ != '/' ||
        !parse_u16(&p, &k.to) || *p != '\0')
        goto bad;
    *dir = d;
    *key = k;
    return true;
bad:
    g_set_error(error, RT_CHANNEL_STATE_ERROR, RT_CHANNEL_STATE_ERROR_NAME,
                "'%s' is not a channel state name (in|out/<edge>/<from>/<to>)", name);
    return false;
}

GBytes *rt_channel_state_encode(const RtRecord *recs, uint32_t n) {
    assert(n <= RT_CHANNEL_STATE_MAX_RECORDS && (recs != NULL || n == 0));
    size_t len = RT_CHANNEL_STATE_HEADER_BYTES + (size_t)n * RT_PROTOCOL_RECORD_BYTES;
    uint8_t *buf = g_malloc0(len);
    memcpy(buf, RT_CHANNEL_STATE_MAGIC, 4);
    rt_bytes_store_u32(buf + 4, n);
    for (uint32_t i = 0; i < n; i++)
        rt_protocol_record_encode(buf + RT_CHANNEL_STATE_HEADER_BYTES +
                                      (size_t)i * RT_PROTOCOL_RECORD_BYTES,
                                  &recs[i]);
    return g_bytes_new_take(buf, len);
}

bool rt_channel_state_decode(const void *data, size_t len, GArray **out, GError **error) {
    assert((data != NULL || len == 0) && out != NULL);
    const uint8_t *p = data;
    if (len < RT_CHANNEL_STATE_HEADER_BYTES || memcmp(p, RT_CHANNEL_STATE_MAGIC, 4) != 0) {
        g_set_error(error, RT_CHANNEL_STATE_ERROR, RT_CHANNEL_STATE_ERROR_CORRUPT,
                    "channel state of %zu bytes has no header", len);
        return false;
    }
    uint32_t n = rt_bytes_load_u32(p + 4);
    if (n > RT_CHANNEL_STATE_MAX_RECORDS ||
        len != RT_CHANNEL_STATE_HEADER_BYTES + (size_t)n * RT_PROTOCOL_RECORD_BYTES) {
        g_set_error(error, RT_CHANNEL_STATE_ERROR, RT_CHANNEL_STATE_ERROR_CORRUPT,
                    "channel state of %zu bytes claims %" PRIu32 " records", len, n);
        return false;
    }
    GArray *a = g_array_sized_new(FALSE, TRUE, sizeof(RtRecord), n);
    g_array_set_size(a, n);
    for (uint32_t i = 0; i < n; i++)
        rt_protocol_record_decode(p + RT_CHANNEL_STATE_HEADER_BYTES +
                                      (size_t)i * RT_PROTOCOL_RECORD_BYTES,
                                  &g_array_index(a, RtRecord, i));
    *out = a;
    return true;
}

bool rt_channel_state_foreach(const RtSnapshot *snap, RtChannelStateVisitFunc visit, void *ud,
                              GError **error) {
    assert(snap != NULL && visit != NULL);
    for (guint i = 0; i < snap->channel_state->len; i++) {
        const RtSnapshotBlob *b = g_ptr_array_index(snap->channel_state, i);
        RtChannelDir dir;
        RtChannelKey key;
        if (!rt_channel_state_parse_name(b->name, &dir, &key, error))
            return false;
        gsize len = 0;
        const void *data = g_bytes_get_data(b->data, &len);
        GArray *recs = NULL;
        if (!rt_channel_state_decode(data, len, &recs, error)) {
            g_prefix_error(error, "%s: ", b->name);
            return false;
        }
        visit(ud, dir, key, (const RtRecord *)(void *)recs->data, recs->len);
        g_array_unref(recs);
    }
    return true;
}
