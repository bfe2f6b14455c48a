/* rt_pending_ops.h - who owns the context of an asynchronous operation in flight.
 *
 * A world callback (storage, ZooKeeper, a timer of another module) carries a user_data
 * that points at a small context of the operation. Two things can happen to the owner
 * (the component that started it) while the operation is in flight:
 *   - its process crashes: the world never runs the callback (rt_env.h), so only the
 *     owner's _free(), which the host calls at the crash, can free the context;
 *   - it is freed while its process lives on (an orderly stop, a task cancel, a lost
 *     leadership): the callback does run, later, and must touch nothing that is gone.
 *
 * So an owner embeds an RtPendingOps set, and every operation context embeds an
 * RtPendingOp (first) and is registered in its owner's set when it starts. The world
 * callback's user_data is not a pointer but the registration's token: a process-wide
 * id. The callback looks the token up (rt_pending_op_lookup): NULL means the owner let
 * go of the operation (and freed it), so the callback does nothing; otherwise the
 * context is alive and the callback may use it and its owner. A context stays registered
 * across a chain of calls (one at a time, same token) and unregisters when it finishes
 * (rt_pending_op_unregister), after which its code owns and frees it. The owner's _free()
 * calls rt_pending_ops_clear(), which frees every context still registered through its
 * free function and without running any callback.
 *
 * A callback that calls out into code that may free the owner (a done callback) checks
 * afterwards with rt_pending_op_lookup(token) whether its context still exists.
 *
 * The process-wide registry (id -> context) is only added to and removed from, never
 * iterated, and holds its pointers disguised, so a context that nobody clears is still
 * reported by leak checkers. Ids are never reused. Single loop per world; the registry
 * is locked because a host may run worlds on several threads.
 */
#ifndef RT_PENDING_OPS_H
#define RT_PENDING_OPS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct RtPendingOp RtPendingOp;
typedef struct RtPendingOps RtPendingOps;

/* Frees a context that is no longer registered (its payload and the context itself). */
typedef void (*RtPendingOpFreeFunc)(RtPendingOp *op);

/* Embedded first in an operation context. Zeroed (g_new0) before registration. */
struct RtPendingOp {
    uint64_t id;                 /* registry key while registered, else 0 */
    GList link;                  /* in set->ops while registered */
    RtPendingOps *set;           /* the owner's set while registered, else NULL */
    RtPendingOpFreeFunc free_fn; /* how rt_pending_ops_clear frees it */
};

/* Embedded in an owner. */
struct RtPendingOps {
    GQueue ops; /* RtPendingOp registered, oldest first */
};

/* Prepares an empty set. */
void rt_pending_ops_init(RtPendingOps *set);
/* Unregisters and frees (free_fn) every operation still registered in set; their
 * callbacks, if they ever run, find nothing. The set is empty and reusable after. */
void rt_pending_ops_clear(RtPendingOps *set);
/* Number of operations registered in set. */
guint rt_pending_ops_count(const RtPendingOps *set);

/* Registers op (not registered) in set under a new id; returns its token, the
 * user_data to hand to the world. free_fn frees it if the set is cleared first. */
void *rt_pending_op_register(RtPendingOps *set, RtPendingOp *op, RtPendingOpFreeFunc free_fn);
/* The token of a registered op. */
void *rt_pending_op_token(const RtPendingOp *op);
/* The registered operation of token, borrowed, or NULL if it was unregistered or
 * cleared (then it must not be touched: it may be freed). */
RtPendingOp *rt_pending_op_lookup(void *token);
/* Unregisters a registered op; the caller owns it from now on (and frees it). */
void rt_pending_op_unregister(RtPendingOp *op);
/* rt_pending_op_lookup + rt_pending_op_unregister: the caller owns the result (or NULL). */
RtPendingOp *rt_pending_op_take(void *token);

#endif /* RT_PENDING_OPS_H */
