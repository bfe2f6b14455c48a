/* rt_snapshot.h - one subtask's snapshot: keyed state by key group, small operator state
 * blobs and channel state blobs, and its versioned, checksummed binary encoding.
 *
 * An RtSnapshot is plain data, all that a subtask restores from one checkpoint:
 *  - keyed state: for each named state (a ValueState, ListState or MapState), rows
 *    (key_group, key, sub, value) sorted by (key_group, key, sub):
 *      value state: sub = 0, value = the value;
 *      list state:  sub = position in the list (0, 1, ...), value = the element;
 *      map state:   sub = the map key, value = the mapped value;
 *  - operator state: small named byte blobs (a source's offset, a sink's pending
 *    transactions...), sorted by name;
 *  - channel state: named byte blobs (unaligned checkpoints: the in-flight data of an
 *    input or output channel), sorted by name. Their content belongs to the dataflow.
 *
 * Encoding (all integers little-endian, written byte by byte, never a struct dump):
 *
 *   magic          8 bytes  "CKSNAPv1"
 *   version        u32      RT_SNAPSHOT_FORMAT_VERSION
 *   total_len      u64      length of the whole encoding, checksum included
 *   checkpoint_id  u64
 *   op, subtask, attempt, parallelism, max_parallelism, kg_start, kg_end   7 x u32
 *   n_states       u32      then per state: name (u16 len + bytes), kind (u8)
 *   n_key_groups   u32      then per non-empty key group, ascending:
 *                             key_group u32, n_parts u32, then per part:
 *                               state index u32, n_rows u32, rows (key, sub, value u64)
 *   n_operator     u32      then per blob: name (u16 len + bytes), len u32, bytes
 *   n_channel      u32      same
 *   crc32c         u32      CRC-32C (Castagnoli) of every byte before it
 *
 * Decoding validates the magic, the version, the length (a truncated file is reported
 * with its length), the checksum, every inner length and the sort order, and returns a
 * GError naming what is wrong and at which byte: a torn or corrupt snapshot is detected,
 * never silently restored. Pure computation: no world access.
 */
#ifndef RT_SNAPSHOT_H
#define RT_SNAPSHOT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/state/rt_key_groups.h"

#define RT_SNAPSHOT_MAGIC "CKSNAPv1" /* 8 bytes, no terminator in the file */
#define RT_SNAPSHOT_FORMAT_VERSION 1u
/* Limits that decoding enforces (a corrupt length must not make us allocate wildly). */
#define RT_SNAPSHOT_MAX_NAME_BYTES 255u
#define RT_SNAPSHOT_MAX_STATES 1024u
#define RT_SNAPSHOT_MAX_BLOBS 65536u

#define RT_SNAPSHOT_ERROR (rt_snapshot_error_quark())
GQuark rt_snapshot_error_quark(void);
typedef enum {
    RT_SNAPSHOT_ERROR_TRUNCATED, /* shorter than its header says, or than a field needs */
    RT_SNAPSHOT_ERROR_BAD_MAGIC, /* not a snapshot */
    RT_SNAPSHOT_ERROR_BAD_VERSION,
    RT_SNAPSHOT_ERROR_CHECKSUM,  /* CRC-32C mismatch */
    RT_SNAPSHOT_ERROR_CORRUPT,   /* a bad length, count, order, kind or range */
} RtSnapshotError;

/* Kinds of keyed state; the numbers are part of the file format. */
typedef enum RtStateKind {
    RT_STATE_VALUE = 1, /* ValueState<u64> */
    RT_STATE_LIST = 2,  /* ListState<u64> */
    RT_STATE_MAP = 3,   /* MapState<u64, u64> */
} RtStateKind;

typedef struct RtSnapshotRow {
    uint32_t key_group; /* rt_key_group_for_key(key, max_parallelism) */
    uint32_t pad;       /* always 0 (keeps the struct free of uninitialised bytes) */
    uint64_t key;       /* the record key the state is scoped to */
    uint64_t sub;       /* 0 (value), list position (list), map key (map) */
    uint64_t value;
} RtSnapshotRow;

typedef struct RtSnapshotState {
    char *name;       /* owned; 1..RT_SNAPSHOT_MAX_NAME_BYTES bytes */
    RtStateKind kind;
    GArray *rows;     /* RtSnapshotRow, sorted by (key_group, key, sub), unique */
} RtSnapshotState;

typedef struct RtSnapshotBlob {
    char *name;       /* owned; 1..RT_SNAPSHOT_MAX_NAME_BYTES bytes */
    GBytes *data;     /* owned reference */
} RtSnapshotBlob;

typedef struct RtSnapshot {
    uint64_t checkpoint_id;
    uint32_t op;              /* operator index in the job graph */
    uint32_t subtask;         /* subtask index */
    uint32_t attempt;         /* execution attempt that took it */
    uint32_t parallelism;     /* of the operator when it was taken */
    uint32_t max_parallelism; /* key groups; 0 for an operator without keyed state */
    RtKeyGroupRange key_groups; /* the subtask's range when it was taken */
    GPtrArray *states;        /* RtSnapshotState*, owned, sorted by name, unique */
    GPtrArray *operator_state;/* RtSnapshotBlob*, owned, sorted by name, unique */
    GPtrArray *channel_state; /* RtSnapshotBlob*, owned, sorted by name, unique */
} RtSnapshot;

/* A new empty snapshot (all ids 0, no states, no blobs). Free with rt_snapshot_free. */
RtSnapshot *rt_snapshot_new(void);
void rt_snapshot_free(RtSnapshot *snap);
/* A deep copy. */
RtSnapshot *rt_snapshot_copy(const RtSnapshot *snap);

/* Returns the state named name, adding an empty one (keeping the order by name) if
 * absent. Asserts that an existing state has the same kind. Borrowed. */
RtSnapshotState *rt_snapshot_ensure_state(RtSnapshot *snap, const char *name,
                                          RtStateKind kind);
/* The state named name, or NULL. Borrowed. */
const RtSnapshotState *rt_snapshot_find_state(const RtSnapshot *snap, const char *name);
/* The value of value state name for key, if any: true and *out set, else false. */
bool rt_snapshot_lookup_value(const RtSnapshot *snap, const char *name, uint64_t key,
                              uint64_t *out);

/* Sets (copies) operator blob name, replacing any previous one. */
void rt_snapshot_set_operator_state(RtSnapshot *snap, const char *name, const void *data,
                                    size_t len);
/* Borrowed bytes of operator blob name, or NULL when absent (*len then 0). */
const void *rt_snapshot_get_operator_state(const RtSnapshot *snap, const char *name,
                                           size_t *len);
/* Same for channel state blobs. */
void rt_snapshot_set_channel_state(RtSnapshot *snap, const char *name, const void *data,
                                   size_t len);
const void *rt_snapshot_get_channel_state(const RtSnapshot *snap, const char *name,
                                          size_t *len);

/* Encodes snap as described above. Asserts snap's invariants (sorted, unique, rows in
 * its key-group range). Deterministic: equal snapshots give equal bytes. */
GBytes *rt_snapshot_encode(const RtSnapshot *snap);

/* Decodes and validates an encoding. On success *out is a new snapshot (caller frees);
 * on failure returns false, *out is untouched, and error names the problem and byte
 * offset. Never reads outside data[0..len). */
bool rt_snapshot_decode(const void *data, size_t len, RtSnapshot **out, GError **error);

/* CRC-32C (Castagnoli, reflected, as iSCSI/ext4): crc = rt_crc32c(0, data, len) for a
 * whole buffer; pass the previous result to continue over more data. */
uint32_t rt_crc32c(uint32_t crc, const void *data, size_t len);

#endif /* RT_SNAPSHOT_H */
