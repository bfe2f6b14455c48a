/* sim_zk_tree.h - the simulated ensemble's data tree: znodes with ZooKeeper's stat
 * (czxid, mzxid, pzxid, version, cversion, ephemeralOwner), sequential names ("%010d" of
 * the parent's cversion as the server's request preparation sees it: it counts child
 * creates only, while stat.cversion counts creates and deletes; measured on 3.8.0:
 * create, create, delete, create gives suffix 2 with cversion 3 before it), and transactions that
 * are all or nothing (a multi applies its ops one by one against the tree and rolls them back on
 * the first failure).
 *
 * Pure data: no time, no sessions, no watches. A committed transaction returns the
 * watch triggers it caused (which watch table, which path, which event) so the ensemble
 * can fire them. Paths here are full paths (chroot included). Error results are
 * RtCoordError codes; 0 means success.
 */
#ifndef SIM_ZK_TREE_H
#define SIM_ZK_TREE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/coord/rt_coord.h"

typedef struct SimZkTree SimZkTree;
typedef struct SimZkTxn SimZkTxn;

/* A watch trigger: fire the watches registered on path in the data table (get/exists
 * watches) or in the child table (children watches) with event type. */
typedef struct SimZkTrigger {
    char *path;       /* owned */
    bool child_table; /* false: data/exists watches; true: children watches */
    RtCoordEventType type;
} SimZkTrigger;

/* A tree holding only "/" at zxid 0. */
SimZkTree *sim_zk_tree_new(void);
void sim_zk_tree_free(SimZkTree *t);
/* The last committed zxid. */
int64_t sim_zk_tree_zxid(const SimZkTree *t);
/* Number of znodes, "/" included. */
size_t sim_zk_tree_count(const SimZkTree *t);

/* Reads. Each returns false when path does not exist. Borrowed results stay valid until
 * the next transaction. */
bool sim_zk_tree_stat(const SimZkTree *t, const char *path, RtCoordStat *stat);
bool sim_zk_tree_data(const SimZkTree *t, const char *path, const void **data, size_t *len);
/* *names: a new NULL-terminated, sorted array of borrowed child names (g_free it). */
bool sim_zk_tree_children(const SimZkTree *t, const char *path, const char ***names, size_t *n);
/* New GPtrArray (owned strings, sorted) of the paths of the ephemeral nodes of session. */
GPtrArray *sim_zk_tree_ephemerals(const SimZkTree *t, int64_t session_id);

/* A transaction: ops apply at once (later ops see earlier ones); commit keeps them under
 * one new zxid, abort rolls every one back. One transaction at a time per tree. */
SimZkTxn *sim_zk_txn_begin(SimZkTree *t);
/* *created (may be NULL): newly allocated actual path. */
int sim_zk_txn_create(SimZkTxn *x, const char *path, const void *data, size_t len, unsigned flags,
                      int64_t session_id, char **created);
int sim_zk_txn_delete(SimZkTxn *x, const char *path, int32_t version);
/* stat (may be NULL): the node's stat after the set (its mzxid is the txn's zxid). */
int sim_zk_txn_set(SimZkTxn *x, const char *path, const void *data, size_t len, int32_t version,
                   RtCoordStat *stat);
int sim_zk_txn_check(SimZkTxn *x, const char *path, int32_t version);
/* Commits and frees x. Returns the triggers in order (a new array of SimZkTrigger
 * values; free with sim_zk_triggers_free). A transaction that changed nothing commits
 * without consuming a zxid. */
GArray *sim_zk_txn_commit(SimZkTxn *x);
void sim_zk_txn_abort(SimZkTxn *x);
void sim_zk_triggers_free(GArray *triggers);

#endif /* SIM_ZK_TREE_H */
