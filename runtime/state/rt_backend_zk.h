/* rt_backend_zk.h - the "zookeeper" state backend: small keyed-state snapshots stored in
 * znodes through RtCoord (never ZooKeeper directly), as the design that started ckptsim
 * describes. Chosen with state.backend.type = zookeeper.
 *
 * Layout, under state.backend.zookeeper.path (default "/ckptsim/state"):
 *   <root>/<job>/chk-<id>/<op>-<subtask>-<attempt>/chunk-0000000000 ... chunk-<n-1>
 *   <root>/<job>/chk-<id>/<op>-<subtask>-<attempt>/manifest
 * A snapshot's encoding is cut into chunks of state.backend.zookeeper.chunk-size bytes
 * (default 512 KiB, well below jute.maxbuffer: a request over 1 MiB makes a real server
 * drop the connection). The manifest (chunk count, sizes, CRC-32C of the whole encoding)
 * is written LAST, only after every chunk write succeeded: a manifest means a complete
 * snapshot. The handle is backend "zookeeper", location = the snapshot's znode, size and
 * CRC-32C. Restore reads the manifest and the chunks and checks manifest, sizes and CRC
 * against the handle before decoding: a missing manifest, a missing or short chunk or a
 * wrong checksum is an error, never a silently wrong snapshot. Discard (subsumption)
 * deletes the manifest first, then the chunks and the directories (best effort).
 *
 * Options:
 *   state.backend.zookeeper.address   connect string; default the HA quorum
 *       (high-availability.zookeeper.quorum), else "127.0.0.1:2181". A world without
 *       ZooKeeper (env->coord_open NULL) is a configuration error naming this key.
 *   state.backend.zookeeper.path      root znode, default "/ckptsim/state"
 *   state.backend.zookeeper.chunk-size        default 512 kb, at most
 *       RT_BACKEND_ZK_CHUNK_MAX_BYTES
 *   state.backend.zookeeper.max-state-size    default 8 mb: a bigger snapshot is refused
 *       at once with an error that names the key (ZooKeeper keeps everything in memory)
 *   high-availability.zookeeper.client.session-timeout / .connection-timeout: the
 *       session's timeouts (Flink's defaults 60 s / 15 s).
 *
 * Sessions: one RtCoord session per backend instance, opened at configure. A write whose
 * outcome is unknown (connection loss) fails the snapshot; a suspended session fails
 * every operation in flight on it; an expired or closed one is retired and the next
 * operation opens a fresh session. A failed or cancelled snapshot's znodes are deleted
 * (best effort): its handle was never given out, so nothing refers to them.
 */
#ifndef RT_BACKEND_ZK_H
#define RT_BACKEND_ZK_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/coord/rt_coord.h"
#include "runtime/state/rt_state_backend.h"

#define RT_BACKEND_ZK_DEFAULT_ROOT "/ckptsim/state"
#define RT_BACKEND_ZK_DEFAULT_ADDRESS "127.0.0.1:2181"
#define RT_BACKEND_ZK_DEFAULT_CHUNK_BYTES (512u * 1024u)
/* A chunk plus the longest path must fit the RtCoord request budget. */
#define RT_BACKEND_ZK_CHUNK_MAX_BYTES (RT_COORD_DATA_MAX_BYTES - RT_COORD_PATH_MAX_BYTES)
#define RT_BACKEND_ZK_DEFAULT_MAX_STATE_BYTES (8ull * 1024u * 1024u)
/* Hard bound on max-state-size (and on what restore will allocate). */
#define RT_BACKEND_ZK_MAX_STATE_LIMIT_BYTES (256ull * 1024u * 1024u)
/* Bound on the chunks of one snapshot. */
#define RT_BACKEND_ZK_MAX_CHUNKS 65536u
/* Root paths longer than this leave too little room for job and ids. */
#define RT_BACKEND_ZK_ROOT_MAX_BYTES 200u
#define RT_BACKEND_ZK_MANIFEST_BYTES 40u

/* Creates an unconfigured zookeeper backend on env (rt_state_backend_new configures it). */
RtStateBackend *rt_backend_zk_new(RtEnv *env);

/* The snapshot znode of target under root (caller frees), e.g.
 * "/ckptsim/state/word_count/chk-7/2-1-0". Job characters outside [A-Za-z0-9._-] become
 * '_', as for the filesystem backend. */
char *rt_backend_zk_path(const char *root, const RtSnapshotTarget *target);

/* The manifest znode, written last: what a complete snapshot looks like. */
typedef struct RtBackendZkManifest {
    uint64_t checkpoint_id;
    uint64_t size_bytes;  /* length of the whole encoded snapshot */
    uint32_t crc32c;      /* rt_crc32c of the whole encoded snapshot */
    uint32_t chunk_bytes; /* every chunk but the last has exactly this length */
    uint32_t chunk_count; /* ceil(size_bytes / chunk_bytes) */
} RtBackendZkManifest;

/* Encodes m (magic "CKZKMAN1", little-endian fields, CRC-32C of the rest):
 * RT_BACKEND_ZK_MANIFEST_BYTES bytes. */
GBytes *rt_backend_zk_manifest_encode(const RtBackendZkManifest *m);
/* Decodes and validates (magic, length, checksum, chunk_count consistent with the sizes).
 * False + RT_STATE_BACKEND_ERROR_CORRUPT otherwise; *out is untouched then. */
bool rt_backend_zk_manifest_decode(const void *data, size_t len, RtBackendZkManifest *out,
                                   GError **error);

/* Reads one znode synchronously: its data as a new GBytes reference, NULL when absent. */
typedef GBytes *(*RtBackendZkReadFunc)(void *ctx, const char *path);
/* Reads the snapshot under dir through read (a god's-eye view, for the harness's checks;
 * restore does the same asynchronously): the manifest, then every chunk, checked as
 * restore checks them (manifest valid, every chunk present with its exact length, the
 * whole matching the manifest's CRC-32C). Returns the encoded snapshot (caller unrefs),
 * or NULL + RT_STATE_BACKEND_ERROR_CORRUPT naming what is missing or wrong. */
GBytes *rt_backend_zk_assemble(const char *dir, RtBackendZkReadFunc read, void *ctx,
                               GError **error);

#endif /* RT_BACKEND_ZK_H */
