/* rt_keyed_state.h - keyed state of one subtask: ValueState, ListState, MapState.
 *
 * As Flink's keyed state: a subtask of a keyed operator owns a range of key groups and
 * one RtKeyedStateStore. A state is obtained by a descriptor (name + kind) and is
 * scoped to the store's current key, set by rt_keyed_state_set_current_key() before
 * each record is processed. Types are fixed to keep the simulator simple:
 *   ValueState<u64>, ListState<u64>, MapState<u64, u64>.
 * Absence is a return value (an unset ValueState get returns false, as Flink's null).
 *
 * Storage is by key group (one hash table per state and key group), so a snapshot can
 * be split by key-group range and restored at another parallelism: a store restores
 * the rows of every key group in its own range from any number of snapshots.
 * Everything observable (snapshots, map iteration) is sorted by (key group, key, sub):
 * hash tables are never iterated for output.
 *
 * Lifecycle: rt_keyed_state_store_new -> get states, set keys, read/write ->
 * snapshot / restore -> rt_keyed_state_store_free. State handles (RtValueState...) are
 * borrowed from the store and live as long as it. Single-threaded, no world access.
 */
#ifndef RT_KEYED_STATE_H
#define RT_KEYED_STATE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/state/rt_key_groups.h"
#include "runtime/state/rt_snapshot.h"

#define RT_KEYED_STATE_ERROR (rt_keyed_state_error_quark())
GQuark rt_keyed_state_error_quark(void);
typedef enum {
    RT_KEYED_STATE_ERROR_MAX_PARALLELISM, /* snapshot taken with another max parallelism */
    RT_KEYED_STATE_ERROR_KIND,            /* same state name, another kind */
    RT_KEYED_STATE_ERROR_DUPLICATE,       /* a key restored twice (overlapping snapshots) */
    RT_KEYED_STATE_ERROR_CORRUPT,         /* bad rows (list positions with gaps...) */
} RtKeyedStateError;

/* Limits (asserted): states per store, elements of one list or map. */
#define RT_KEYED_STATE_MAX_STATES 64u
#define RT_KEYED_STATE_MAX_ELEMENTS (1u << 24)

typedef struct RtKeyedStateStore RtKeyedStateStore;
typedef struct RtValueState RtValueState;
typedef struct RtListState RtListState;
typedef struct RtMapState RtMapState;

typedef struct RtMapEntry {
    uint64_t key;   /* map key */
    uint64_t value;
} RtMapEntry;

/* A store for the key groups in range (non-empty, within [0, max_parallelism)). */
RtKeyedStateStore *rt_keyed_state_store_new(uint32_t max_parallelism, RtKeyGroupRange range);
void rt_keyed_state_store_free(RtKeyedStateStore *store);
/* Sets the planted bugs (rt_bugs.h: an RtEnv's bugs) the store's code tests; 0 at
 * creation. */
void rt_keyed_state_store_set_bugs(RtKeyedStateStore *store, uint64_t bugs);
uint32_t rt_keyed_state_store_max_parallelism(const RtKeyedStateStore *store);
RtKeyGroupRange rt_keyed_state_store_range(const RtKeyedStateStore *store);

/* Sets the key that every state of store is scoped to. Asserts that the key's group
 * lies in the store's range (a record routed to the wrong subtask is a bug). */
void rt_keyed_state_set_current_key(RtKeyedStateStore *store, uint64_t key);
/* The current key; asserts one was set. */
uint64_t rt_keyed_state_current_key(const RtKeyedStateStore *store);

/* Registers (first call) or returns the state named name (the descriptor is the name
 * plus the kind the function implies). Asserts that an existing state of that name has
 * the same kind. Borrowed, valid until rt_keyed_state_store_free. */
RtValueState *rt_keyed_state_get_value_state(RtKeyedStateStore *store, const char *name);
RtListState *rt_keyed_state_get_list_state(RtKeyedStateStore *store, const char *name);
RtMapState *rt_keyed_state_get_map_state(RtKeyedStateStore *store, const char *name);

/* ValueState<u64> of the current key. get: true and *out set if a value is present. */
bool rt_value_state_get(RtValueState *s, uint64_t *out);
void rt_value_state_update(RtValueState *s, uint64_t value);
void rt_value_state_clear(RtValueState *s);

/* ListState<u64> of the current key. get: borrowed elements in insertion order, valid
 * until the next change of this state; NULL with *n = 0 when empty/unset. */
const uint64_t *rt_list_state_get(RtListState *s, size_t *n);
void rt_list_state_add(RtListState *s, uint64_t value);
/* Appends n values (n == 0 is a no-op, as Flink's addAll of an empty list). */
void rt_list_state_add_all(RtListState *s, const uint64_t *values, size_t n);
/* Replaces the list; n == 0 clears it (Flink: "the state value will be null"). */
void rt_list_state_update(RtListState *s, const uint64_t *values, size_t n);
void rt_list_state_clear(RtListState *s);

/* MapState<u64, u64> of the current key. */
bool rt_map_state_get(RtMapState *s, uint64_t map_key, uint64_t *out);
void rt_map_state_put(RtMapState *s, uint64_t map_key, uint64_t value);
/* Returns true if map_key was present. */
bool rt_map_state_remove(RtMapState *s, uint64_t map_key);
bool rt_map_state_contains(RtMapState *s, uint64_t map_key);
size_t rt_map_state_size(RtMapState *s);
bool rt_map_state_is_empty(RtMapState *s);
/* Borrowed entries sorted by map key, valid until the next change of this state;
 * NULL with *n = 0 when empty. */
const RtMapEntry *rt_map_state_entries(RtMapState *s, size_t *n);
void rt_map_state_clear(RtMapState *s);

/* Number of keys with a non-empty value of state name (0 if no such state). */
size_t rt_keyed_state_store_num_keys(const RtKeyedStateStore *store, const char *name);

/* Synchronous part of a snapshot: copies every state into snap (which must have no
 * states yet) as sorted rows, and sets snap->max_parallelism and snap->key_groups.
 * Deterministic: the same contents give the same rows whatever the insertion order. */
void rt_keyed_state_store_snapshot(const RtKeyedStateStore *store, RtSnapshot *snap);

/* Restores the rows of snap whose key group lies in the store's range, merging with
 * what is already there: call it once per snapshot whose range intersects ours to
 * rescale. Fails (store unchanged for that snapshot) if the max parallelism differs,
 * a state's kind differs, a key already has a value of that state, or rows are bad. */
bool rt_keyed_state_store_restore(RtKeyedStateStore *store, const RtSnapshot *snap,
                                  GError **error);

#endif /* RT_KEYED_STATE_H */
