/* rt_basic_ops.c - the stateless map, the keyed counter (ValueState) and the listmap
 * operator (ListState + MapState), and rt_operator_new's dispatch by kind. */
#include <assert.h>

#include "runtime/env/rt_bugs.h"

#include "runtime/operators/rt_operator.h"

G_DEFINE_QUARK(rt-operator-error-quark, rt_operator_error)

bool rt_operator_kind_is_keyed(RtOperatorKind kind) {
    return kind == RT_OP_COUNTER || kind == RT_OP_LISTMAP;
}

RtOperator *rt_operator_new(const RtOperatorContext *ctx) {
    assert(ctx != NULL && ctx->env != NULL && ctx->spec != NULL && ctx->job != NULL);
    assert(rt_operator_kind_is_keyed(ctx->spec->kind) == (ctx->keyed != NULL));
    switch (ctx->spec->kind) {
    case RT_OP_SOURCE: return rt_source_new(ctx);
    case RT_OP_MAP: return rt_map_new(ctx);
    case RT_OP_COUNTER: return rt_counter_new(ctx);
    case RT_OP_LISTMAP: return rt_listmap_new(ctx);
    case RT_OP_SINK: return rt_sink_new(ctx);
    }
    assert(!"unknown operator kind");
    return NULL;
}

void rt_operator_free(RtOperator *op) {
    if (op != NULL)
        op->ops->free(op);
}

/* ------------------------------------------------------------------ map */

static void map_process(RtOperator *self, const RtRecord *rec) {
    /* The user function slot: records pass unchanged (identity keeps the oracle's
     * per-record ledger exact through any path). */
    self->ctx.emit(self->ctx.emit_ud, rec);
}

static bool plain_is_done(RtOperator *self) {
    (void)self;
    return true; /* nothing pending after end of input */
}

static void plain_free(RtOperator *self) {
    g_free(self);
}

static const RtOperatorOps map_ops = {
    .name = "map", .process = map_process, .is_done = plain_is_done, .free = plain_free,
};

RtOperator *rt_map_new(const RtOperatorContext *ctx) {
    RtOperator *op = g_new0(RtOperator, 1);
    op->ops = &map_ops;
    op->ctx = *ctx;
    return op;
}

/* ------------------------------------------------------------------ counter */

typedef struct RtCounter {
    RtOperator base;
    RtValueState *count; /* borrowed from the store */
    bool stale_once;     /* planted RT_BUG_STALE_OUTPUT_AFTER_RESTORE: armed by a restore */
} RtCounter;

/* Keyed state is restored by the subtask; this only notes that a restore happened. */
static bool counter_open(RtOperator *self, const RtSnapshot *restored, bool *async,
                         RtOperatorDoneFunc done, void *ud, GError **error) {
    (void)done;
    (void)ud;
    (void)error;
    *async = false;
    /* planted: the output value was cached before the restore and used once after it */
    ((RtCounter *)self)->stale_once =
        restored != NULL && rt_bug_on(self->ctx.env, RT_BUG_STALE_OUTPUT_AFTER_RESTORE);
    return true;
}

static void counter_process(RtOperator *self, const RtRecord *rec) {
    RtCounter *c = (RtCounter *)self;
    rt_keyed_state_set_current_key(self->ctx.keyed, rec->key);
    uint64_t n = 0;
    rt_value_state_get(c->count, &n);
    rt_value_state_update(c->count, ++n);
    RtEvent ev = {.kind = RT_EV_RECORD_COUNT, .subtask = self->ctx.id,
                  .attempt = self->ctx.attempt, .key = rec->key, .a = rec->src,
                  .b = rec->offset, .c = n};
    rt_env_observe(self->ctx.env, &ev);
    RtRecord out = *rec;
    out.value = c->stale_once ? n - 1 : n;
    c->stale_once = false;
    self->ctx.emit(self->ctx.emit_ud, &out);
}

static const RtOperatorOps counter_ops = {
    .name = "counter", .open = counter_open, .process = counter_process, .is_done = plain_is_done,
    .free = plain_free,
};

RtOperator *rt_counter_new(const RtOperatorContext *ctx) {
    RtCounter *c = g_new0(RtCounter, 1);
    c->base.ops = &counter_ops;
    c->base.ctx = *ctx;
    c->count = rt_keyed_state_get_value_state(ctx->keyed, RT_COUNTER_STATE);
    return &c->base;
}

/* ------------------------------------------------------------------ listmap */

typedef struct RtListMap {
    RtOperator base;
    RtListState *last;    /* the last RT_LISTMAP_LAST_N values of the key */
    RtMapState *buckets;  /* value % RT_LISTMAP_BUCKETS -> records seen */
} RtListMap;

static void listmap_process(RtOperator *self, const RtRecord *rec) {
    RtListMap *lm = (RtListMap *)self;
    rt_keyed_state_set_current_key(self->ctx.keyed, rec->key);
    size_t n = 0;
    const uint64_t *vals = rt_list_state_get(lm->last, &n);
    if (n < RT_LISTMAP_LAST_N) {
        rt_list_state_add(lm->last, rec->value);
    } else {
        uint64_t keep[RT_LISTMAP_LAST_N];
        /* planted RT_BUG_LISTSTATE_TRIM_OFF_BY_ONE: keeps the last N-1 values, not N */
        size_t drop = rt_bug_on(self->ctx.env, RT_BUG_LISTSTATE_TRIM_OFF_BY_ONE) ? 2 : 1;
        for (size_t i = drop; i < n; i++)
            keep[i - drop] = vals[i];
        keep[n - drop] = rec->value;
        rt_list_state_update(lm->last, keep, n - drop + 1);
    }
    uint64_t bucket = rec->value % RT_LISTMAP_BUCKETS, cnt = 0;
    rt_map_state_get(lm->buckets, bucket, &cnt);
    rt_map_state_put(lm->buckets, bucket, cnt + 1);
    self->ctx.emit(self->ctx.emit_ud, rec);
}

static const RtOperatorOps listmap_ops = {
    .name = "listmap", .process = listmap_process, .is_done = plain_is_done,
    .free = plain_free,
};

RtOperator *rt_listmap_new(const RtOperatorContext *ctx) {
    RtListMap *lm = g_new0(RtListMap, 1);
    lm->base.ops = &listmap_ops;
    lm->base.ctx = *ctx;
    lm->last = rt_keyed_state_get_list_state(ctx->keyed, RT_LISTMAP_LIST_STATE);
    lm->buckets = rt_keyed_state_get_map_state(ctx->keyed, RT_LISTMAP_MAP_STATE);
    return &lm->base;
}
