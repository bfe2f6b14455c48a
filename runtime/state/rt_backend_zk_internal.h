/* rt_backend_zk_internal.h - private to the "zookeeper" state backend: what
 * rt_backend_zk.c (the asynchronous backend) and rt_backend_zk_manifest.c (the znode
 * layout, the manifest codec and the synchronous reader) share. Not for other modules. */
#ifndef RT_BACKEND_ZK_INTERNAL_H
#define RT_BACKEND_ZK_INTERNAL_H

#include <assert.h>
#include <stdint.h>

#define ZK_MANIFEST_NAME "manifest"

/* The number of chunk_bytes-sized chunks that hold size_bytes (saturating). */
static inline uint32_t chunks_for(uint64_t size_bytes, uint32_t chunk_bytes) {
    assert(chunk_bytes > 0);
    uint64_t n = (size_bytes + chunk_bytes - 1) / chunk_bytes;
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

#endif /* RT_BACKEND_ZK_INTERNAL_H */
