/* rt_live_storage.h - the real world's storage: RtStorage over a root directory of
 * real POSIX files.
 *
 * Each operation is performed with plain blocking system calls inside the call (the
 * files are local and small: checkpoint metadata and snapshots), and its completion is
 * delivered later from the GMainContext given at creation, in issue order, never
 * before the call returns (one idle source drains a FIFO of completions). Invalid
 * paths fail at once (RT_STORAGE_ERROR_INVALID); everything else reports through the
 * callback.
 *
 * Mapping to POSIX:
 *  - write(p): mkdir -p of p's parent, open(O_WRONLY|O_CREAT|O_TRUNC), write all,
 *    close. No fsync: like the simulated disk, data is volatile until fsync(p).
 *  - fsync(p): open(O_RDONLY) + fsync. fsync_dir(d): open(O_DIRECTORY) + fsync; an
 *    absent directory succeeds (directories exist implicitly, as in the simulation).
 *  - rename(from, to): mkdir -p of to's parent, rename(2) (atomic replace).
 *  - read(p): the whole file (at most RT_LIVE_STORAGE_MAX_FILE_BYTES).
 *  - list(d): names of the regular files directly in d, sorted by strcmp; an absent
 *    directory lists as empty.
 *  - remove(p): unlink(2).
 * Errors: ENOENT/ENOTDIR -> NOT_FOUND, ENOSPC/EDQUOT/EFBIG -> NO_SPACE, anything else
 * -> IO; the message names the operation, the path and strerror.
 *
 * Lifecycle: rt_live_storage_new() -> use rt_live_storage_get() -> rt_live_storage_free()
 * (pending completions are dropped without running; do not free from a callback).
 */
#ifndef RT_LIVE_STORAGE_H
#define RT_LIVE_STORAGE_H

#include <glib.h>

#include "runtime/env/rt_env.h"

#define RT_LIVE_STORAGE_MAX_FILE_BYTES ((size_t)1 << 30)
/* Completions waiting for the loop; more operations fail at once with IO. */
#define RT_LIVE_STORAGE_MAX_PENDING 100000u

typedef struct RtLiveStorage RtLiveStorage;

/* A storage rooted at root (created with its parents if missing; mode 0755).
 * ctx NULL means the default main context. Fails (NULL + RT_STORAGE_ERROR_IO) if root
 * cannot be created or is not a directory. */
RtLiveStorage *rt_live_storage_new(GMainContext *ctx, const char *root, GError **error);
/* Frees the storage; pending completions never run. Files stay on disk. */
void rt_live_storage_free(RtLiveStorage *ls);
/* The RtStorage view (borrowed; valid until rt_live_storage_free). */
RtStorage *rt_live_storage_get(RtLiveStorage *ls);
/* The root directory (borrowed). */
const char *rt_live_storage_root(const RtLiveStorage *ls);
/* Completions issued but not yet delivered. */
guint rt_live_storage_pending(const RtLiveStorage *ls);

#endif /* RT_LIVE_STORAGE_H */
