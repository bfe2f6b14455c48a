/* rt_coord_zk_error.c - the translation of ZooKeeper's error codes (zookeeper.h's
 * ZOO_ERRORS) into RT_COORD_ERROR codes. Nothing else in the tree looks at a ZooKeeper
 * return code's value. */
#include "runtime/coord/rt_coord_zk_error.h"

#include <zookeeper/zookeeper.h>

#include "runtime/coord/rt_coord.h"

int rt_coord_zk_code(int zrc) {
    switch (zrc) {
    case ZNONODE: return RT_COORD_ERROR_NO_NODE;
    case ZNODEEXISTS: return RT_COORD_ERROR_NODE_EXISTS;
    case ZBADVERSION: return RT_COORD_ERROR_BAD_VERSION;
    case ZNOTEMPTY: return RT_COORD_ERROR_NOT_EMPTY;
    case ZNOCHILDRENFOREPHEMERALS: return RT_COORD_ERROR_NO_CHILDREN_FOR_EPHEMERALS;
    case ZCONNECTIONLOSS: return RT_COORD_ERROR_CONNECTION_LOSS;
    case ZOPERATIONTIMEOUT: return RT_COORD_ERROR_OPERATION_TIMEOUT;
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:
    case ZSESSIONMOVED: return RT_COORD_ERROR_SESSION_EXPIRED;
    case ZMARSHALLINGERROR: return RT_COORD_ERROR_MARSHALLING;
    case ZBADARGUMENTS: return RT_COORD_ERROR_BAD_ARGUMENTS;
    case ZNOAUTH: return RT_COORD_ERROR_NO_AUTH;
    case ZAUTHFAILED:
    case ZSESSIONCLOSEDREQUIRESASLAUTH: return RT_COORD_ERROR_AUTH_FAILED;
    case ZINVALIDACL: return RT_COORD_ERROR_INVALID_ACL;
    case ZCLOSING: return RT_COORD_ERROR_CLOSED;
    default: return RT_COORD_ERROR_SYSTEM;
    }
}

GError *rt_coord_zk_error_new(int zrc, const char *what, const char *path) {
    return g_error_new(RT_COORD_ERROR, rt_coord_zk_code(zrc), "ZooKeeper %s %s: %s (%d)", what,
                       path ? path : "", zerror(zrc), zrc);
}
