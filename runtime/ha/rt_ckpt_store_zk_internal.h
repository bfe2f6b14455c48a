/* rt_ckpt_store_zk_internal.h - the ZooKeeper store's state, shared by
 * rt_ckpt_store_zk.c (add, subsumption, lifecycle) and rt_ckpt_store_zk_recover.c
 * (getAllAndLock recovery). Not a public interface. */
#ifndef RT_CKPT_STORE_ZK_INTERNAL_H
#define RT_CKPT_STORE_ZK_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "runtime/env/rt_pending_ops.h"
#include "runtime/ha/rt_ckpt_store_zk.h"

typedef struct ZkCall ZkCall;

typedef struct ZkStore {
    RtCkptStore base;           /* first */
    RtHaClient *client;         /* borrowed */
    char *ckpt_dir;             /* state.checkpoints.dir */
    char *zk_dir;               /* <root>/jobs/<job>/checkpoints */
    char *fence;                /* the leader's latch node, NULL: unfenced */
    uint64_t leader_session_id; /* reported with RT_EV_CKPT_PUBLISHED */
    char *lock_name;            /* our lock node's name under <id>/locks */
    RtPendingOps ops;           /* ZkCall in flight (add, removals, recovery) */
    bool busy;             /* a recover or add is in flight */
    ZkCall *adding;        /* the add in flight, NULL when none */
    GPtrArray *removing;   /* char*: nodes being removed whose lock we may still hold */
    RtTimerId retry_timer; /* the add waits to retry */
    uint64_t retry_ticket; /* ... then for a connection */
} ZkStore;

/* One asynchronous operation's context (add, removal or recovery), registered in
 * s->ops from zk_call_new to zk_call_free: its ZooKeeper and storage callbacks carry
 * its token (zk_call_ud), and the store's free frees it if it is still in flight. */
struct ZkCall {
    RtPendingOp op; /* first */
    ZkStore *s;
    RtHaClient *client;
    RtCompletedCheckpoint *cp; /* owned (add, removal) */
    char *node;                /* the pointer znode */
    char *meta_path;           /* chk-<id>/_metadata */
    char *state_path;          /* completedCheckpoint-<id> */
    uint32_t tries;            /* multi tries so far; a removal's retries so far */
    bool outcome_unknown;      /* some try may have committed */
    /* removal: the step waiting to be retried (Curator's RetryLoop) */
    void (*retry_step)(ZkCall *call);
    RtTimerId retry_timer;     /* retry-wait before the retry */
    uint64_t retry_ticket;     /* ... then a connection */
    RtCkptStoreDoneFunc done;
    void *user_data;
    /* recovery */
    GPtrArray *names; /* char*, pointer names to read, ascending */
    guint next;       /* index into names */
    int32_t cversion; /* of the checkpoints znode when listed */
    uint32_t scans;
    GPtrArray *found; /* RtCompletedCheckpoint*, owned, ascending */
};

/* A new call, registered in s->ops. */
ZkCall *zk_call_new(ZkStore *s);
/* Unregisters and frees call. */
void zk_call_free(ZkCall *call);
/* The user data for call's callbacks (its token). */
void *zk_call_ud(ZkCall *call);
/* A callback arrived with user data ud: its call, or NULL if the store freed it. */
ZkCall *zk_call_enter(void *ud);
/* <zk_dir>/<%019d id>, caller frees. */
char *zk_store_node(const ZkStore *s, uint64_t checkpoint_id);

/* rt_ckpt_store_zk_recover.c */
bool zk_store_recover(RtCkptStore *self, RtCkptStoreDoneFunc done, void *user_data, GError **error);

#endif /* RT_CKPT_STORE_ZK_INTERNAL_H */
