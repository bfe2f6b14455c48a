/* rt_keyed_state.c - the heap keyed state store: per state, one hash table per key
 * group mapping a key to its cell (a value, a list, or a map kept sorted by map key).
 * Lookups hash; everything observable (snapshot rows, map entries) is sorted, so hash
 * order never leaks out. Snapshot and restore work on RtSnapshot rows. */
#include "runtime/state/rt_keyed_state.h"

#include "runtime/env/rt_bugs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_rng.h"

G_DEFINE_QUARK(rt-keyed-state-error-quark, rt_keyed_state_error)

/* One key's state: value (VALUE), items = GArray of uint64_t (LIST) or of RtMapEntry
 * sorted by key (MAP). A cell exists only while its state is non-empty. */
typedef struct Cell {
    uint64_t key;
    uint64_t value;
    GArray *items;
} Cell;

typedef struct StateTable {
    RtKeyedStateStore *store; /* back pointer, borrowed */
    char *name;               /* owned */
    RtStateKind kind;
    GHashTable **groups;      /* per key group of the range (index kg - start); lazy */
} StateTable;

struct RtValueState { StateTable t; };
struct RtListState { StateTable t; };
struct RtMapState { StateTable t; };

struct RtKeyedStateStore {
    uint32_t max_parallelism;
    RtKeyGroupRange range;
    bool has_key;             /* a current key was set */
    uint64_t current_key;
    uint32_t current_index;   /* key group of current_key minus range.start */
    GPtrArray *states;        /* StateTable*, registration order, at most MAX_STATES */
    uint64_t bugs;            /* planted bugs (rt_bugs.h) of the owning subtask's env */
};

/* ------------------------------------------------------------------- cells */

static guint cell_hash(gconstpointer p) {
    return (guint)rt_mix64(((const Cell *)p)->key);
}

static gboolean cell_equal(gconstpointer a, gconstpointer b) {
    return ((const Cell *)a)->key == ((const Cell *)b)->key;
}

static void cell_free(void *p) {
    Cell *c = p;
    if (c->items != NULL)
        g_array_unref(c->items);
    g_free(c);
}

static GHashTable *group_of(StateTable *t, uint32_t index, bool create) {
    if (t->groups[index] == NULL && create)
        t->groups[index] = g_hash_table_new_full(cell_hash, cell_equal, cell_free, NULL);
    return t->groups[index];
}

static Cell *cell_find(StateTable *t, uint32_t index, uint64_t key) {
    GHashTable *h = t->groups[index];
    if (h == NULL)
        return NULL;
    Cell probe = {.key = key};
    return g_hash_table_lookup(h, &probe);
}

static Cell *cell_ensure(StateTable *t, uint32_t index, uint64_t key) {
    Cell *c = cell_find(t, index, key);
    if (c != NULL)
        return c;
    c = g_new0(Cell, 1);
    c->key = key;
    if (t->kind == RT_STATE_LIST)
        c->items = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    else if (t->kind == RT_STATE_MAP)
        c->items = g_array_new(FALSE, FALSE, sizeof(RtMapEntry));
    g_hash_table_add(group_of(t, index, true), c);
    return c;
}

/* The cell of the current key, or NULL. */
static Cell *current(StateTable *t) {
    assert(t->store->has_key);
    return cell_find(t, t->store->current_index, t->store->current_key);
}

static Cell *current_ensure(StateTable *t) {
    assert(t->store->has_key);
    return cell_ensure(t, t->store->current_index, t->store->current_key);
}

static void current_remove(StateTable *t) {
    assert(t->store->has_key);
    GHashTable *h = t->groups[t->store->current_index];
    if (h == NULL)
        return;
    Cell probe = {.key = t->store->current_key};
    g_hash_table_remove(h, &probe);
}

/* ------------------------------------------------------------------- store */

RtKeyedStateStore *rt_keyed_state_store_new(uint32_t max_parallelism, RtKeyGroupRange range) {
    assert(max_parallelism >= 1 && max_parallelism <= RT_KEY_GROUPS_UPPER_BOUND);
    assert(range.start < range.end && range.end <= max_parallelism);
    RtKeyedStateStore *s = g_new0(RtKeyedStateStore, 1);
    s->max_parallelism = max_parallelism;
    s->range = range;
    s->states = g_ptr_array_new();
    return s;
}

static void table_free(StateTable *t) {
    uint32_t n = rt_key_group_range_size(t->store->range);
    for (uint32_t i = 0; i < n; i++)
        if (t->groups[i] != NULL)
            g_hash_table_unref(t->groups[i]);
    g_free(t->groups);
    g_free(t->name);
    g_free(t);
}

void rt_keyed_state_store_free(RtKeyedStateStore *store) {
    if (store == NULL)
        return;
    for (guint i = 0; i < store->states->len; i++)
        table_free(g_ptr_array_index(store->states, i));
    g_ptr_array_unref(store->states);
    g_free(store);
}

void rt_keyed_state_store_set_bugs(RtKeyedStateStore *store, uint64_t bugs) {
    store->bugs = bugs;
}

uint32_t rt_keyed_state_store_max_parallelism(const RtKeyedStateStore *store) {
    return store->max_parallelism;
}

RtKeyGroupRange rt_keyed_state_store_range(const RtKeyedStateStore *store) {
    return store->range;
}

void rt_keyed_state_set_current_key(RtKeyedStateStore *store, uint64_t key) {
    assert(store != NULL);
    uint32_t kg = rt_key_group_for_key(key, store->max_parallelism);
    assert(rt_key_group_range_contains(store->range, kg));
    store->current_key = key;
    store->current_index = kg - store->range.start;
    store->has_key = true;
}

uint64_t rt_keyed_state_current_key(const RtKeyedStateStore *store) {
    assert(store != NULL && store->has_key);
    return store->current_key;
}

static StateTable *table_find(const RtKeyedStateStore *store, const char *name) {
    for (guint i = 0; i < store->states->len; i++) { /* bounded by MAX_STATES */
        StateTable *t = g_ptr_array_index(store->states, i);
        if (strcmp(t->name, name) == 0)
            return t;
    }
    return NULL;
}

static StateTable *table_get(RtKeyedStateStore *store, const char *name, RtStateKind kind) {
    assert(store != NULL && name != NULL);
    size_t len = strlen(name);
    assert(len >= 1 && len <= RT_SNAPSHOT_MAX_NAME_BYTES);
    StateTable *t = table_find(store, name);
    if (t != NULL) {
        assert(t->kind == kind);
        return t;
    }
    assert(store->states->len < RT_KEYED_STATE_MAX_STATES);
    /* Every handle type is a StateTable and nothing more: allocate the largest. */
    static_assert(sizeof(RtValueState) == sizeof(StateTable), "handles are tables");
    t = g_new0(StateTable, 1);
    t->store = store;
    t->name = g_strdup(name);
    t->kind = kind;
    t->groups = g_new0(GHashTable *, rt_key_group_range_size(store->range));
    g_ptr_array_add(store->states, t);
    return t;
}

RtValueState *rt_keyed_state_get_value_state(RtKeyedStateStore *store, const char *name) {
    return (RtValueState *)table_get(store, name, RT_STATE_VALUE);
}

RtListState *rt_keyed_state_get_list_state(RtKeyedStateStore *store, const char *name) {
    return (RtListState *)table_get(store, name, RT_STATE_LIST);
}

RtMapState *rt_keyed_state_get_map_state(RtKeyedStateStore *store, const char *name) {
    return (RtMapState *)table_get(store, name, RT_STATE_MAP);
}

size_t rt_keyed_state_store_num_keys(const RtKeyedStateStore *store, const char *name) {
    assert(store != NULL && name != NULL);
    StateTable *t = table_find(store, name);
    if (t == NULL)
        return 0;
    size_t n = 0;
    for (uint32_t i = 0; i < rt_key_group_range_size(store->range); i++)
        if (t->groups[i] != NULL)
            n += g_hash_table_size(t->groups[i]);
    return n;
}

/* ------------------------------------------------------------- value state */

bool rt_value_state_get(RtValueState *s, uint64_t *out) {
    assert(s != NULL && out != NULL);
    Cell *c = current(&s->t);
    if (c == NULL)
        return false;
    *out = c->value;
    return true;
}

void rt_value_state_update(RtValueState *s, uint64_t value) {
    assert(s != NULL);
    current_ensure(&s->t)->value = value;
}

void rt_value_state_clear(RtValueState *s) {
    assert(s != NULL);
    current_remove(&s->t);
}

/* -------------------------------------------------------------- list state */

const uint64_t *rt_list_state_get(RtListState *s, size_t *n) {
    assert(s != NULL && n != NULL);
    Cell *c = current(&s->t);
    if (c == NULL) {
        *n = 0;
        return NULL;
    }
    assert(c->items->len > 0);
    *n = c->items->len;
    return (const uint64_t *)(const void *)c->items->data;
}

void rt_list_state_add(RtListState *s, uint64_t value) {
    rt_list_state_add_all(s, &value, 1);
}

void rt_list_state_add_all(RtListState *s, const uint64_t *values, size_t n) {
    assert(s != NULL && (values != NULL || n == 0));
    if (n == 0)
        return;
    Cell *c = current_ensure(&s->t);
    assert(n <= RT_KEYED_STATE_MAX_ELEMENTS - c->items->len);
    g_array_append_vals(c->items, values, (guint)n);
}

void rt_list_state_update(RtListState *s, const uint64_t *values, size_t n) {
    assert(s != NULL && (values != NULL || n == 0));
    current_remove(&s->t);
    rt_list_state_add_all(s, values, n);
}

void rt_list_state_clear(RtListState *s) {
    assert(s != NULL);
    current_remove(&s->t);
}

/* --------------------------------------------------------------- map state */

/* Index of map_key in the first n sorted entries, or -(insertion point) - 1. */
static long map_find_n(const GArray *items, size_t n, uint64_t map_key) {
    size_t lo = 0, hi = n;
    const RtMapEntry *e = (const RtMapEntry *)(const void *)items->data;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].key == map_key)
            return (long)mid;
        if (e[mid].key < map_key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static long map_find(const GArray *items, uint64_t map_key) {
    return map_find_n(items, items->len, map_key);
}

bool rt_map_state_get(RtMapState *s, uint64_t map_key, uint64_t *out) {
    assert(s != NULL && out != NULL);
    Cell *c = current(&s->t);
    long at = -1;
    if (c != NULL && rt_bug_on(s->t.store, RT_BUG_MAPSTATE_LOOKUP_MISSES))
        at = map_find_n(c->items, c->items->len > 0 ? c->items->len - 1 : 0, map_key);
    else if (c != NULL)
        at = map_find(c->items, map_key);
    if (at < 0)
        return false;
    *out = g_array_index(c->items, RtMapEntry, (guint)at).value;
    return true;
}

void rt_map_state_put(RtMapState *s, uint64_t map_key, uint64_t value) {
    assert(s != NULL);
    Cell *c = current_ensure(&s->t);
    long at = map_find(c->items, map_key);
    if (at >= 0) {
        g_array_index(c->items, RtMapEntry, (guint)at).value = value;
        return;
    }
    assert(c->items->len < RT_KEYED_STATE_MAX_ELEMENTS);
    RtMapEntry e = {map_key, value};
    g_array_insert_val(c->items, (guint)(-at - 1), e);
}

bool rt_map_state_remove(RtMapState *s, uint64_t map_key) {
    assert(s != NULL);
    Cell *c = current(&s->t);
    long at = c != NULL ? map_find(c->items, map_key) : -1;
    if (at < 0)
        return false;
    g_array_remove_index(c->items, (guint)at);
    if (c->items->len == 0)
        current_remove(&s->t);
    return true;
}

bool rt_map_state_contains(RtMapState *s, uint64_t map_key) {
    assert(s != NULL);
    Cell *c = current(&s->t);
    return c != NULL && map_find(c->items, map_key) >= 0;
}

size_t rt_map_state_size(RtMapState *s) {
    assert(s != NULL);
    Cell *c = current(&s->t);
    return c != NULL ? c->items->len : 0;
}

bool rt_map_state_is_empty(RtMapState *s) {
    return rt_map_state_size(s) == 0;
}

const RtMapEntry *rt_map_state_entries(RtMapState *s, size_t *n) {
    assert(s != NULL && n != NULL);
    Cell *c = current(&s->t);
    if (c == NULL) {
        *n = 0;
        return NULL;
    }
    *n = c->items->len;
    return (const RtMapEntry *)(const void *)c->items->data;
}

void rt_map_state_clear(RtMapState *s) {
    assert(s != NULL);
    current_remove(&s->t);
}

/* ---------------------------------------------------------------- snapshot */

static int cell_cmp(const void *a, const void *b) {
    const Cell *x = *(Cell *const *)a, *y = *(Cell *const *)b;
    return x->key < y->key ? -1 : x->key > y->key ? 1 : 0;
}

/* Appends the rows of one key group of t, sorted by (key, sub). */
static void snapshot_group(const StateTable *t, uint32_t index, GArray *rows) {
    GHashTable *h = t->groups[index];
    if (h == NULL || g_hash_table_size(h) == 0)
        return;
    GPtrArray *cells = g_ptr_array_sized_new(g_hash_table_size(h));
    GHashTableIter it;
    void *k = NULL;
    g_hash_table_iter_init(&it, h);
    while (g_hash_table_iter_next(&it, &k, NULL)) /* order fixed by the sort below */
        g_ptr_array_add(cells, k);
    qsort(cells->pdata, cells->len, sizeof(void *), cell_cmp);
    uint32_t kg = t->store->range.start + index;
    for (guint i = 0; i < cells->len; i++) {
        const Cell *c = g_ptr_array_index(cells, i);
        RtSnapshotRow row = {.key_group = kg, .key = c->key};
        if (t->kind == RT_STATE_VALUE) {
            row.value = c->value;
            g_array_append_val(rows, row);
            continue;
        }
        for (guint j = 0; j < c->items->len; j++) {
            if (t->kind == RT_STATE_LIST) {
                row.sub = j;
                row.value = g_array_index(c->items, uint64_t, j);
            } else {
                row.sub = g_array_index(c->items, RtMapEntry, j).key;
                row.value = g_array_index(c->items, RtMapEntry, j).value;
            }
            g_array_append_val(rows, row);
        }
    }
    g_ptr_array_unref(cells);
}

void rt_keyed_state_store_snapshot(const RtKeyedStateStore *store, RtSnapshot *snap) {
    assert(store != NULL && snap != NULL && snap->states->len == 0);
    snap->max_parallelism = store->max_parallelism;
    snap->key_groups = store->range;
    for (guint i = 0; i < store->states->len; i++) {
        const StateTable *t = g_ptr_array_index(store->states, i);
        RtSnapshotState *st = rt_snapshot_ensure_state(snap, t->name, t->kind);
        uint32_t n = rt_key_group_range_size(store->range);
        if (rt_bug_on(store, RT_BUG_SNAPSHOT_SKIPS_LAST_KEYGROUP) && n > 1)
            n--; /* planted: the loop bound is one short */
        for (uint32_t g = 0; g < n; g++)
            snapshot_group(t, g, st->rows);
    }
}

/* ----------------------------------------------------------------- restore */

static bool restore_error(GError **error, int code, const char *state, const char *what) {
    g_set_error(error, RT_KEYED_STATE_ERROR, code, "restore of keyed state '%s': %s", state,
                what);
    return false;
}

/* Checks that the rows of st that fall in our range are well formed and do not collide
 * with what the store already holds. */
static bool restore_check_state(const RtKeyedStateStore *store, const RtSnapshot *snap,
                                const RtSnapshotState *st, GError **error) {
    StateTable *t = table_find(store, st->name);
    if (t != NULL && t->kind != st->kind)
        return restore_error(error, RT_KEYED_STATE_ERROR_KIND, st->name, "kind differs");
    const RtSnapshotRow *prev = NULL;
    for (guint i = 0; i < st->rows->len; i++) {
        const RtSnapshotRow *r = &g_array_index(st->rows, RtSnapshotRow, i);
        bool same_key = prev != NULL && prev->key == r->key && prev->key_group == r->key_group;
        bool ordered = prev == NULL || prev->key_group < r->key_group ||
                       (prev->key_group == r->key_group &&
                        (prev->key < r->key || (same_key && prev->sub < r->sub)));
        bool shape = st->kind == RT_STATE_VALUE   ? r->sub == 0
                     : st->kind == RT_STATE_LIST ? r->sub == (same_key ? prev->sub + 1 : 0)
                                                  : true;
        if (!ordered || !shape || r->key_group >= snap->max_parallelism ||
            rt_key_group_for_key(r->key, snap->max_parallelism) != r->key_group)
            return restore_error(error, RT_KEYED_STATE_ERROR_CORRUPT, st->name, "bad rows");
        prev = r;
        if (!rt_key_group_range_contains(store->range, r->key_group) || same_key || t == NULL)
            continue;
        if (cell_find(t, r->key_group - store->range.start, r->key) != NULL)
            return restore_error(error, RT_KEYED_STATE_ERROR_DUPLICATE, st->name,
                                 "a key is restored twice (overlapping snapshots)");
    }
    return true;
}

static void restore_state(RtKeyedStateStore *store, const RtSnapshotState *st) {
    StateTable *t = table_get(store, st->name, st->kind);
    for (guint i = 0; i < st->rows->len; i++) {
        const RtSnapshotRow *r = &g_array_index(st->rows, RtSnapshotRow, i);
        if (!rt_key_group_range_contains(store->range, r->key_group))
            continue;
        if (st->kind == RT_STATE_MAP && r->key_group == store->range.start &&
            rt_bug_on(store, RT_BUG_MAPSTATE_RESTORE_SKIPS_KEYGROUP))
            continue; /* planted: the restore loop starts one key group late */
        Cell *c = cell_ensure(t, r->key_group - store->range.start, r->key);
        if (st->kind == RT_STATE_VALUE) {
            c->value = r->value;
        } else if (st->kind == RT_STATE_LIST) {
            assert(c->items->len == r->sub && c->items->len < RT_KEYED_STATE_MAX_ELEMENTS);
            if (rt_bug_on(store, RT_BUG_LISTSTATE_RESTORE_REORDERS))
                g_array_prepend_val(c->items, r->value); /* planted: reversed lists */
            else
                g_array_append_val(c->items, r->value);
        } else {
            RtMapEntry e = {r->sub, r->value};
            assert(c->items->len < RT_KEYED_STATE_MAX_ELEMENTS);
            g_array_append_val(c->items, e); /* rows are sorted by map key */
        }
    }
}

bool rt_keyed_state_store_restore(RtKeyedStateStore *store, const RtSnapshot *snap,
                                  GError **error) {
    assert(store != NULL && snap != NULL);
    if (snap->states->len == 0)
        return true;
    if (snap->max_parallelism != store->max_parallelism) {
        g_set_error(error, RT_KEYED_STATE_ERROR, RT_KEYED_STATE_ERROR_MAX_PARALLELISM,
                    "restore of keyed state: snapshot max parallelism %u, job %u "
                    "(the max parallelism cannot change)",
                    snap->max_parallelism, store->max_parallelism);
        return false;
    }
    guint added = 0;
    for (guint i = 0; i < snap->states->len; i++)
        added += table_find(store, ((RtSnapshotState *)g_ptr_array_index(snap->states, i))
                                       ->name) == NULL;
    if (store->states->len + added > RT_KEYED_STATE_MAX_STATES) {
        g_set_error(error, RT_KEYED_STATE_ERROR, RT_KEYED_STATE_ERROR_CORRUPT,
                    "restore of keyed state: too many states");
        return false;
    }
    for (guint i = 0; i < snap->states->len; i++)
        if (!restore_check_state(store, snap, g_ptr_array_index(snap->states, i), error))
            return false;
    for (guint i = 0; i < snap->states->len; i++)
        restore_state(store, g_ptr_array_index(snap->states, i));
    return true;
}
