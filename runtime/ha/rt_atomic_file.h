/* rt_atomic_file.h - durable, atomic file replacement through RtStorage, and small
 * checksummed "durable number" files built on it.
 *
 * rt_atomic_write() is the one place of the job manager's stores that knows the
 * crash-safe sequence: write "<path>.tmp", fsync it, rename it over <path>, fsync the
 * parent directory. A reader then sees either the old or the new content, never a torn
 * file (the temp file may be torn; readers ignore it). The completion says whether a
 * failure may nevertheless have left the new content in place (it failed at rename or
 * at the directory fsync): such a write must never cause its referenced state to be
 * discarded (Flink's PossibleInconsistentStateException rule).
 *
 * rt_durable_u64_*: a file holding one u64 ("CKU64v01", u64 LE, CRC-32C LE = 20 bytes)
 * written with rt_atomic_write; used for the checkpoint ID counter and the job attempt.
 */
#ifndef RT_ATOMIC_FILE_H
#define RT_ATOMIC_FILE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_env.h"
#include "runtime/env/rt_pending_ops.h"

#define RT_ATOMIC_FILE_ERROR (rt_atomic_file_error_quark())
GQuark rt_atomic_file_error_quark(void);
typedef enum {
    RT_ATOMIC_FILE_ERROR_CORRUPT, /* a durable number file with a bad size/magic/checksum */
} RtAtomicFileError;

/* Write finished. error is owned by the callee (NULL on success). possibly_persisted is
 * true when error != NULL but the new content may be in place after all. */
typedef void (*RtAtomicWriteDone)(void *user_data, GError *error, bool possibly_persisted);

/* Replaces path's content with data (ref'd) durably, as described above. path must be
 * a valid storage path containing a '/'. Async contract of RtEnv: false + error at
 * once, or done exactly once later. The write's context is registered in owner (the
 * caller's set, rt_pending_ops.h): clearing owner cancels it (done never runs), as
 * does a crash of the process. */
bool rt_atomic_write(RtStorage *st, RtPendingOps *owner, const char *path, GBytes *data,
                     RtAtomicWriteDone done, void *user_data, GError **error);

/* The parent directory of path (caller frees): "a/b/c" -> "a/b". path contains '/'. */
char *rt_path_parent(const char *path);

/* Read finished: found is false when the file does not exist (value 0, no error); a
 * corrupt file or an I/O failure gives error (owned by the callee). */
typedef void (*RtDurableU64ReadDone)(void *user_data, bool found, uint64_t value,
                                     GError *error);

/* Reads a durable number file. Async contract and owner as rt_atomic_write. */
bool rt_durable_u64_read(RtStorage *st, RtPendingOps *owner, const char *path,
                         RtDurableU64ReadDone done, void *user_data, GError **error);
/* Writes value durably with rt_atomic_write. */
bool rt_durable_u64_write(RtStorage *st, RtPendingOps *owner, const char *path,
                          uint64_t value, RtAtomicWriteDone done, void *user_data,
                          GError **error);

/* Encoding and decoding of a durable number file's content (pure). */
GBytes *rt_durable_u64_encode(uint64_t value);
bool rt_durable_u64_decode(const void *data, size_t len, uint64_t *value, GError **error);

#endif /* RT_ATOMIC_FILE_H */
