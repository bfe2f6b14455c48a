/* rt_live_zk_reader.h - synchronous, read-only ZooKeeper access for a live run's
 * checker: the god's-eye view of the zookeeper state backend's znodes that the oracle
 * needs (it reads, it never writes). A private GMainContext is iterated inside each call
 * until the answer arrives, so the caller's loop is never re-entered.
 *
 * Lifecycle: rt_live_zk_reader_new (connects, blocking up to the timeout) ->
 * rt_live_zk_reader_get ... -> rt_live_zk_reader_free.
 */
#ifndef RT_LIVE_ZK_READER_H
#define RT_LIVE_ZK_READER_H

#include <glib.h>
#include <stdint.h>

typedef struct RtLiveZkReader RtLiveZkReader;

/* Connects to connect_string ("host:port[,...][/chroot]", the same string the processes
 * use, so paths mean the same). NULL + RT_COORD_ERROR when no session is established
 * within timeout_ns. */
RtLiveZkReader *rt_live_zk_reader_new(const char *connect_string, uint64_t timeout_ns,
                                      GError **error);
void rt_live_zk_reader_free(RtLiveZkReader *r);

/* The data of the znode at path as a new GBytes, or NULL when it does not exist or the
 * read failed (ZooKeeper unreachable for RT_LIVE_ZK_READER_CALL_TIMEOUT_NS). */
#define RT_LIVE_ZK_READER_CALL_TIMEOUT_NS 10000000000ull
GBytes *rt_live_zk_reader_get(RtLiveZkReader *r, const char *path);

#endif /* RT_LIVE_ZK_READER_H */
