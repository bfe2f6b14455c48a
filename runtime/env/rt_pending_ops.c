/* rt_pending_ops.c - the process-wide registry of operation tokens and the per-owner
 * sets of operations in flight (rt_pending_ops.h). */
#include "runtime/env/rt_pending_ops.h"

#include <assert.h>

/* id -> disguised context pointer (~address): a pointer a leak checker cannot follow,
 * so an operation that no owner frees is still reported as lost. */
G_LOCK_DEFINE_STATIC(registry);
static GHashTable *registry;
static uint64_t registry_last_id;

static gpointer disguise(RtPendingOp *op) {
    return (gpointer)~(uintptr_t)op;
}

static RtPendingOp *reveal(gpointer p) {
    return (RtPendingOp *)~(uintptr_t)p;
}

void rt_pending_ops_init(RtPendingOps *set) {
    assert(set != NULL);
    g_queue_init(&set->ops);
}

guint rt_pending_ops_count(const RtPendingOps *set) {
    return set->ops.length;
}

void *rt_pending_op_register(RtPendingOps *set, RtPendingOp *op, RtPendingOpFreeFunc free_fn) {
    assert(set != NULL && op != NULL && free_fn != NULL);
    assert(op->id == 0 && op->set == NULL);
    G_LOCK(registry);
    if (registry == NULL)
        registry = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    assert(registry_last_id < UINTPTR_MAX);
    op->id = ++registry_last_id;
    uint64_t *key = g_new(uint64_t, 1);
    *key = op->id;
    g_hash_table_insert(registry, key, disguise(op));
    G_UNLOCK(registry);
    op->set = set;
    op->free_fn = free_fn;
    op->link.data = op;
    g_queue_push_tail_link(&set->ops, &op->link);
    return rt_pending_op_token(op);
}

void *rt_pending_op_token(const RtPendingOp *op) {
    assert(op != NULL && op->id != 0);
    return (void *)(uintptr_t)op->id;
}

RtPendingOp *rt_pending_op_lookup(void *token) {
    uint64_t id = (uint64_t)(uintptr_t)token;
    assert(id != 0);
    G_LOCK(registry);
    gpointer p = registry != NULL ? g_hash_table_lookup(registry, &id) : NULL;
    G_UNLOCK(registry);
    RtPendingOp *op = p != NULL ? reveal(p) : NULL;
    assert(op == NULL || op->id == id);
    return op;
}

void rt_pending_op_unregister(RtPendingOp *op) {
    assert(op != NULL && op->id != 0 && op->set != NULL);
    G_LOCK(registry);
    bool removed = g_hash_table_remove(registry, &op->id);
    if (g_hash_table_size(registry) == 0)
        g_clear_pointer(&registry, g_hash_table_unref);
    G_UNLOCK(registry);
    assert(removed);
    g_queue_unlink(&op->set->ops, &op->link);
    op->id = 0;
    op->set = NULL;
}

RtPendingOp *rt_pending_op_take(void *token) {
    RtPendingOp *op = rt_pending_op_lookup(token);
    if (op != NULL)
        rt_pending_op_unregister(op);
    return op;
}

void rt_pending_ops_clear(RtPendingOps *set) {
    assert(set != NULL);
    /* Bounded: each round unregisters one operation (free_fn may not register more). */
    for (guint n = set->ops.length; n > 0; n--) {
        RtPendingOp *op = g_queue_peek_head(&set->ops);
        rt_pending_op_unregister(op);
        op->free_fn(op);
    }
    assert(g_queue_is_empty(&set->ops));
}
