/* sim_oracle_retain.c - the oracle's "retention" check (sim_oracle.h): a subsumed
 * checkpoint is really gone. Flink's completed-checkpoint stores keep the num-retained
 * newest checkpoints and, once a newer one is in, remove the oldest and discard the
 * state its handles point to (DefaultCompletedCheckpointStore.addCheckpointAndSubsume
 * OldestOne -> CompletedCheckpoint.discardOnSubsume -> StateObject.discardState). A
 * store that never subsumes, or that drops the pointer but never discards the state,
 * keeps every checkpoint on disk (or in ZooKeeper) for good: nothing else in the oracle
 * notices, since every restore still finds the latest checkpoint.
 *
 * At each completion the oracle notes the checkpoint's state files (the locations of its
 * non-inline state handles); at the end of a finished run it requires that the metadata
 * and every noted file of each checkpoint completed after the faults' effects ended,
 * but for the num-retained newest, no longer exist (a removal issued but not yet made
 * durable by a directory sync counts as done: Flink's discardState does not sync).
 * Earlier checkpoints may linger, as in Flink (a crashed job manager's removals, a failed delete, a lock of
 * another store instance).
 */
#include <assert.h>
#include <inttypes.h>

#include "runtime/env/rt_config_keys.h"
#include "runtime/state/rt_state_backend.h"
#include "sim/harness/sim_oracle_internal.h"

/* At most this many lingering checkpoints are named in one message. */
#define RETAIN_MAX_NAMED 4u

static char *completed_path(const SimOracle *o, const SimCompleted *c) {
    return c->metadata_path != NULL && c->metadata_path[0] != '\0'
               ? g_strdup(c->metadata_path)
               : sim_oracle_metadata_path(o, c->id);
}

/* The location of one encoded handle, or NULL when inline, empty or undecodable. */
static char *handle_location(GBytes *handle) {
    gsize len = 0;
    const void *data = g_bytes_get_data(handle, &len);
    RtStateHandle *h = NULL;
    if (len == 0 || !rt_state_handle_decode(data, len, &h, NULL))
        return NULL;
    char *loc = h->inline_data == NULL && h->location != NULL && h->location[0] != '\0'
                    ? g_strdup(h->location)
                    : NULL;
    rt_state_handle_free(h);
    return loc;
}

void sim_oracle_retain_note(SimOracle *o, SimCompleted *c) {
    assert(o != NULL && c != NULL && c->state_files == NULL);
    char *path = completed_path(o, c);
    GBytes *b = o->files.read(o->files.ctx, path);
    g_free(path);
    if (b == NULL)
        return; /* consistent-cut reports it */
    gsize len = 0;
    const void *data = g_bytes_get_data(b, &len);
    RtCompletedCheckpoint *cp = NULL;
    bool ok = rt_ckpt_metadata_decode(data, len, &cp, NULL);
    g_bytes_unref(b);
    if (!ok)
        return;
    GPtrArray *files = g_ptr_array_new();
    for (guint i = 0; i < cp->subtasks->len; i++) {
        const RtCkptSubtaskState *st = &g_array_index(cp->subtasks, RtCkptSubtaskState, i);
        char *loc = handle_location(st->handle);
        if (loc != NULL)
            g_ptr_array_add(files, loc);
    }
    g_ptr_array_add(files, NULL);
    c->state_files = (char **)g_ptr_array_free(files, FALSE);
    rt_completed_checkpoint_free(cp);
}

/* Whether path still exists (a removal issued and not yet synced counts as done). */
static bool present(const SimOracle *o, const char *path) {
    if (o->files.present != NULL)
        return o->files.present(o->files.ctx, path);
    GBytes *b = o->files.read(o->files.ctx, path);
    if (b == NULL)
        return false;
    g_bytes_unref(b);
    return true;
}

/* The first present file of c (metadata first), a new string, or NULL. */
static char *lingering_file(const SimOracle *o, const SimCompleted *c) {
    char *path = completed_path(o, c);
    if (present(o, path))
        return path;
    g_free(path);
    for (char **f = c->state_files; f != NULL && *f != NULL; f++)
        if (present(o, *f))
            return g_strdup(*f);
    return NULL;
}

/* Whether an injected fault (a crash, a failed storage operation...) was noted at or
 * after time_ns: a removal then may have failed, as it may in Flink. */
static bool fault_since(const SimOracle *o, uint64_t time_ns) {
    return o->faults->len > 0 &&
           g_array_index(o->faults, SimFault, o->faults->len - 1).time_ns >= time_ns;
}

static uint64_t num_retained(const SimOracle *o) {
    uint64_t n = 1;
    if (!rt_config_key_u64(o->config, RT_KEY_NUM_RETAINED, &n, NULL) || n == 0)
        n = 1;
    return n;
}

void sim_oracle_check_retention(SimOracle *o, uint64_t end_time_ns) {
    if (o->quiet_ns == UINT64_MAX || !o->finished || o->params.stopped_early)
        return;
    guint n = o->completed->len;
    uint64_t keep = num_retained(o);
    if (n <= keep)
        return;
    GString *named = g_string_new(NULL);
    guint lingering = 0;
    uint64_t first_id = 0;
    for (guint i = 0; i < n - (guint)keep; i++) {
        const SimCompleted *c = &g_array_index(o->completed, SimCompleted, i);
        if (c->time_ns < o->quiet_ns || fault_since(o, c->time_ns))
            continue;
        char *file = lingering_file(o, c);
        if (file == NULL)
            continue;
        if (lingering++ == 0)
            first_id = c->id;
        if (lingering <= RETAIN_MAX_NAMED)
            g_string_append_printf(named, "%scheckpoint %" PRIu64 " (%s)",
                                   lingering > 1 ? ", " : "", c->id, file);
        g_free(file);
    }
    if (lingering > 0)
        sim_oracle_violate(o, SIM_INV_RETENTION, end_time_ns, first_id,
                           "%u subsumed checkpoint(s) still in storage when the job "
                           "finished, beyond num-retained %" PRIu64
                           " (newest: checkpoint %" PRIu64 "): %s%s",
                           lingering, keep,
                           g_array_index(o->completed, SimCompleted, n - 1).id, named->str,
                           lingering > RETAIN_MAX_NAMED ? ", ..." : "");
    g_string_free(named, TRUE);
}
