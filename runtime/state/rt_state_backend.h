/* rt_state_backend.h - state backends: where a subtask's snapshots are persisted and
 * read back, behind one interface (ops table + base struct, STYLE.md), as Flink's
 * state backends / checkpoint storage.
 *
 * A snapshot has two parts, as in Flink. The synchronous part runs inside the
 * subtask's step: rt_state_backend_snapshot() encodes the RtSnapshot (the caller
 * fills it from its keyed store and operator state) into bytes. The asynchronous part
 * persists those bytes while the subtask keeps processing; when it is done, the done
 * callback receives an RtStateHandle: a small serialisable value that the subtask sends
 * to the job manager in its acknowledgement, and that restore takes back.
 *
 * Backends (state.backend.type):
 *  - "hashmap": the bytes travel inline in the handle (as Flink's
 *    JobManagerCheckpointStorage); persisting completes after a short env timer.
 *  - "filesystem": one file per snapshot under state.checkpoints.dir (default
 *    "checkpoints"): <dir>/<job>/chk-<id>/<op>-<subtask>-<attempt>, written to
 *    "<path>.tmp", fsynced, renamed, and the directory fsynced; restore reads the file,
 *    checks the handle's size and CRC-32C and decodes (which validates again).
 *    Planted bug RT_BUG_ACK_BEFORE_FSYNC: the snapshot completes as soon as the write of
 *    the temp file is done, before fsync, rename and fsync_dir; the handle then names
 *    the final path, which a crash can leave missing, empty or torn.
 *  - "zookeeper": small state in znodes (rt_backend_zk.c, a separate module).
 *
 * Asynchronous contract: snapshot, restore: either fail at once (false + GError, the
 * callback never runs) or return true and call done exactly once, later, from the env's
 * loop. rt_state_backend_cancel() (the operations of one user_data),
 * rt_state_backend_clear() and rt_state_backend_free() (all) cancel operations in
 * flight: their callbacks never run. Storage completions that arrive after that are
 * absorbed (the operation's small record is freed then).
 */
#ifndef RT_STATE_BACKEND_H
#define RT_STATE_BACKEND_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/env/rt_config.h"
#include "runtime/env/rt_env.h"
#include "runtime/state/rt_snapshot.h"

#define RT_STATE_BACKEND_ERROR (rt_state_backend_error_quark())
GQuark rt_state_backend_error_quark(void);
typedef enum {
    RT_STATE_BACKEND_ERROR_CONFIG,   /* unknown state.backend.type, bad option value */
    RT_STATE_BACKEND_ERROR_HANDLE,   /* a handle of another backend, or malformed */
    RT_STATE_BACKEND_ERROR_IO,       /* storage failed (the message says which call) */
    RT_STATE_BACKEND_ERROR_CORRUPT,  /* file size/checksum differs from the handle */
} RtStateBackendError;

/* Where a persisted snapshot is: what the ack carries and restore takes back. */
typedef struct RtStateHandle {
    char *backend;       /* owned: the backend's ops->name ("hashmap", "filesystem"...) */
    char *location;      /* owned: storage path / znode; "" for inline handles */
    uint64_t checkpoint_id;
    uint64_t size_bytes; /* length of the encoded snapshot */
    uint32_t crc32c;     /* rt_crc32c of the encoded snapshot */
    GBytes *inline_data; /* owned reference: the encoded snapshot (hashmap), else NULL */
} RtStateHandle;

/* Handles are plain values: new/copy/free, and a stable binary encoding (magic
 * "CKHANDv1", little-endian fields, CRC-32C) to put them in messages and metadata. */
RtStateHandle *rt_state_handle_new(const char *backend, const char *location,
                                   uint64_t checkpoint_id, uint64_t size_bytes,
                                   uint32_t crc32c, GBytes *inline_data /* ref'd, may NULL */);
RtStateHandle *rt_state_handle_copy(const RtStateHandle *h);
void rt_state_handle_free(RtStateHandle *h);
bool rt_state_handle_equal(const RtStateHandle *a, const RtStateHandle *b);
GBytes *rt_state_handle_encode(const RtStateHandle *h);
/* On success *out is a new handle (caller frees); on failure false + error. */
bool rt_state_handle_decode(const void *data, size_t len, RtStateHandle **out,
                            GError **error);

/* Who took a snapshot: decides its location (the filesystem path). */
typedef struct RtSnapshotTarget {
    const char *job;        /* job name; characters outside [A-Za-z0-9._-] become '_' */
    uint64_t checkpoint_id; /* >= 1 */
    uint32_t op;            /* operator index */
    uint32_t subtask;       /* subtask index */
    uint32_t attempt;       /* execution attempt */
} RtSnapshotTarget;

/* Snapshot persisted: handle is owned by the callback (NULL on error); error is
 * borrowed for the call (NULL on success). */
typedef void (*RtSnapshotDoneFunc)(void *user_data, RtStateHandle *handle,
                                   const GError *error);
/* Restore read back: snapshot is owned by the callback (NULL on error); error is
 * borrowed for the call (NULL on success). */
typedef void (*RtRestoreDoneFunc)(void *user_data, RtSnapshot *snapshot, const GError *error);

typedef struct RtStateBackend RtStateBackend;
typedef struct RtStateBackendOps {
    const char *name; /* stable: appears in handles, logs, CSV columns, plot legends */
    /* Reads the backend's options (state.*). Called once by rt_state_backend_new. */
    bool (*configure)(RtStateBackend *self, const RtConfig *config, GError **error);
    /* Persists encoded (ref it to keep it) for target; done gets the handle. */
    bool (*snapshot)(RtStateBackend *self, const RtSnapshotTarget *target, GBytes *encoded,
                     RtSnapshotDoneFunc done, void *user_data, GError **error);
    /* Reads back, verifies and decodes the snapshot of handle. */
    bool (*restore)(RtStateBackend *self, const RtStateHandle *handle, RtRestoreDoneFunc done,
                    void *user_data, GError **error);
    /* Best effort, no callback: deletes what handle points to (subsumed checkpoint). */
    void (*discard)(RtStateBackend *self, const RtStateHandle *handle);
    /* Cancels the snapshots/restores in flight that were started with user_data:
     * their callbacks never run (for an owner freed while the backend lives on). */
    void (*cancel)(RtStateBackend *self, void *user_data);
    /* Cancels every snapshot/restore in flight: their callbacks never run. */
    void (*clear)(RtStateBackend *self);
    /* Cancels everything in flight and frees self. */
    void (*free)(RtStateBackend *self);
} RtStateBackendOps;

struct RtStateBackend {
    const RtStateBackendOps *ops; /* first: implementations embed RtStateBackend first */
    RtEnv *env;                   /* borrowed: the process's world */
};

/* Creates and configures the backend named type, or, when type is NULL, the one that
 * config's state.backend.type names (default "hashmap"). An unknown type -> NULL and an
 * error naming state.backend.type and the value. config may be NULL (defaults). */
RtStateBackend *rt_state_backend_new(const char *type, RtEnv *env, const RtConfig *config,
                                     GError **error);
/* The stable name of the backend ("hashmap", "filesystem"...). */
const char *rt_state_backend_name(const RtStateBackend *backend);

/* Synchronous part: encodes snap (the caller keeps it and may go on changing its own
 * state); asynchronous part: persists it. See the contract above. */
bool rt_state_backend_snapshot(RtStateBackend *backend, const RtSnapshotTarget *target,
                               const RtSnapshot *snap, RtSnapshotDoneFunc done,
                               void *user_data, GError **error);
/* Same, with bytes already encoded by rt_snapshot_encode. */
bool rt_state_backend_snapshot_bytes(RtStateBackend *backend, const RtSnapshotTarget *target,
                                     GBytes *encoded, RtSnapshotDoneFunc done,
                                     void *user_data, GError **error);
/* Restores handle: fails at once if handle is of another backend. */
bool rt_state_backend_restore(RtStateBackend *backend, const RtStateHandle *handle,
                              RtRestoreDoneFunc done, void *user_data, GError **error);
/* Best effort, no callback: deletes what handle points to (a subsumed checkpoint). */
void rt_state_backend_discard(RtStateBackend *backend, const RtStateHandle *handle);
/* Cancels the operations in flight whose user_data is user_data: their callbacks never
 * run. A subtask that is freed while a shared backend lives on must call this first. */
void rt_state_backend_cancel(RtStateBackend *backend, void *user_data);
/* Cancels every operation in flight. */
void rt_state_backend_clear(RtStateBackend *backend);
void rt_state_backend_free(RtStateBackend *backend);

/* The filesystem backend's path for target under dir (caller frees), e.g.
 * "checkpoints/wordcount/chk-7/2-1-0". Also used by the harness to find files. */
char *rt_state_backend_fs_path(const char *dir, const RtSnapshotTarget *target);

/* Constructors of the built-in backends (unconfigured: rt_state_backend_new calls
 * configure). New backends add a row to the table in rt_state_backend.c. */
RtStateBackend *rt_backend_hashmap_new(RtEnv *env);
RtStateBackend *rt_backend_fs_new(RtEnv *env);

#endif /* RT_STATE_BACKEND_H */
