/* rt_coord_zk_error.h - ZooKeeper C client return codes -> RT_COORD_ERROR. The one place
 * where ZooKeeper's codes are translated (rt_coord_zk_error.c); callers pass the raw int
 * so this header needs no ZooKeeper include. Private to runtime/coord/rt_coord_zk*.
 */
#ifndef RT_COORD_ZK_ERROR_H
#define RT_COORD_ZK_ERROR_H

#include <glib.h>

/* The RtCoordError code for a ZooKeeper return code zrc (non-zero). ZINVALIDSTATE (the
 * handle's session expired, or auth failed) maps to SESSION_EXPIRED. */
int rt_coord_zk_code(int zrc);
/* A new GError in RT_COORD_ERROR: "ZooKeeper <what> <path>: <zerror text> (<zrc>)". */
GError *rt_coord_zk_error_new(int zrc, const char *what, const char *path);

#endif /* RT_COORD_ZK_ERROR_H */
