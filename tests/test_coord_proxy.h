/* test_coord_proxy.h - a loopback TCP proxy in front of a real ZooKeeper server, so a
 * test can cut a client's connection and refuse its reconnects for a while (the real
 * counterpart of sim_zk_drop_connection). Runs on its own thread; tests only. */
#ifndef TEST_COORD_PROXY_H
#define TEST_COORD_PROXY_H

#include <stdint.h>

typedef struct CoordProxy CoordProxy;

/* Listens on 127.0.0.1 (a free port, *port_out) and forwards to upstream "host:port".
 * NULL on failure. */
CoordProxy *coord_proxy_start(const char *upstream, int *port_out);
/* Closes every proxied connection now; connections accepted in the next refuse_ns are
 * closed at once. */
void coord_proxy_cut(CoordProxy *p, uint64_t refuse_ns);
void coord_proxy_stop(CoordProxy *p);

#endif /* TEST_COORD_PROXY_H */
