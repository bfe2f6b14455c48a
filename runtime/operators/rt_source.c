/* rt_source.c - the replayable source: emits records offset by offset from its
 * deterministic generator, at a rate, up to a count; its snapshot is its next offset,
 * and a restore rewinds to it (Flink's source position S_n).
 *
 * Planted bug RT_BUG_SKIP_SOURCE_REWIND: the source also auto-commits its position to
 * the external system (sources/<job>/<op>-<subtask>/position, as a Kafka consumer with
 * enable.auto.commit), and on restore resumes from that committed position when it is
 * ahead of the checkpointed offset - the classic misconfiguration. Records between the
 * checkpoint's offset and the committed position are then never replayed: lost.
 * The position commit is fire-and-forget (write, then fsync, no completion context): a
 * crash cancels pending I/O without running its callbacks, so a per-commit context
 * would leak; commits are throttled in simulated time instead of tracked. */
#include "runtime/operators/rt_source.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "runtime/env/rt_bytes.h"
#include "runtime/env/rt_pending_ops.h"
#include "runtime/dataflow/rt_job_graph.h"
#include "runtime/env/rt_bugs.h"
#include "runtime/operators/rt_operator.h"

#define POSITION_COMMIT_EVERY 64u /* bug mode: records between position commits */
/* Bug mode: simulated time between position commits, at least a slow fsync, so that
 * about one commit is in flight at a time. */
#define POSITION_COMMIT_MIN_NS UINT64_C(5000000)

void rt_source_gen_init(RtSourceGen *g, uint64_t seed, const RtJobGraph *graph, uint32_t op,
                        uint32_t subtask) {
    assert(g != NULL && graph != NULL && op < graph->operators->len);
    const RtOperatorSpec *spec = graph->operators->pdata[op];
    assert(spec->kind == RT_OP_SOURCE && spec->keys >= 1 && subtask < spec->parallelism);
    memset(g, 0, sizeof *g);
    g->base = rt_mix64(seed ^ rt_hash_str(spec->name)) ^ rt_mix64(0x5eedULL + subtask);
    g->src = rt_job_graph_source_base(graph, op) + subtask;
    g->keys = spec->keys;
    g->records = spec->records;
    if (spec->distribution == RT_KEYS_ZIPF) {
        assert(spec->keys <= RT_SOURCE_MAX_ZIPF_KEYS && spec->zipf_exponent > 0);
        g->zipf_cdf = g_new(double, spec->keys);
        double total = 0;
        for (uint64_t k = 0; k < spec->keys; k++) {
            total += 1.0 / pow((double)(k + 1), spec->zipf_exponent);
            g->zipf_cdf[k] = total;
        }
        for (uint64_t k = 0; k < spec->keys; k++)
            g->zipf_cdf[k] /= total;
    }
}

void rt_source_gen_deinit(RtSourceGen *g) {
    if (g == NULL)
        return;
    g_free(g->zipf_cdf);
    g->zipf_cdf = NULL;
}

static uint64_t zipf_key(const RtSourceGen *g, uint64_t h) {
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    uint64_t lo = 0, hi = g->keys - 1; /* first k with cdf[k] > u */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (g->zipf_cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

void rt_source_gen_record(const RtSourceGen *g, uint64_t offset, RtRecord *out) {
    uint64_t h = rt_mix64(g->base + offset * 0x9E3779B97F4A7C15ULL);
    out->src = g->src;
    out->offset = offset;
    out->key = g->zipf_cdf ? zipf_key(g, h) : h % g->keys;
    out->value = rt_mix64(h) & 0xffffu;
    out->created_ns = 0;
}

static void sanitize(char *s) {
    for (; *s; s++)
        if (!g_ascii_isalnum(*s) && *s != '.' && *s != '_' && *s != '-')
            *s = '_';
}

char *rt_source_position_path(const RtJobGraph *graph, uint32_t op, uint32_t subtask) {
    char *job = g_strdup(graph->name ? graph->name : "job");
    sanitize(job);
    char *p = g_strdup_printf("sources/%s/%u-%u/position", job, op, subtask);
    g_free(job);
    return p;
}

/* ------------------------------------------------------------------ the operator */

typedef struct RtSource {
    RtOperator base;
    RtSourceGen gen;
    uint64_t next_offset;     /* next record to emit */
    uint64_t start_ns;        /* rate origin: when the source (re)started */
    uint64_t emitted_since_start;
    uint64_t rate_per_s;
    RtPendingOps ops;         /* the position read in flight (bug mode) */
    /* planted bug: auto-committed position */
    bool bug;
    char *position_path;      /* owned */
    uint64_t committed;       /* last position written */
    uint64_t committed_ns;    /* when it was written (UINT64_MAX: never) */
    RtOperatorDoneFunc open_done;
    void *open_ud;
} RtSource;

/* The restore-time read of the auto-committed position (bug mode). */
typedef struct SourceIo {
    RtPendingOp op; /* first: registered in src->ops */
    RtSource *src;
} SourceIo;

static void source_io_free_op(RtPendingOp *op) {
    g_free(op);
}

/* Completion of a position write or fsync: nothing to do (an auto-commit that fails
 * is simply retried by a later one). */
static void position_io_done(void *ud, GError *error) {
    (void)ud;
    g_clear_error(&error);
}

static void maybe_commit_position(RtSource *s) {
    if (!s->bug || s->next_offset < s->committed + POSITION_COMMIT_EVERY)
        return;
    uint64_t now = rt_env_now_ns(s->base.ctx.env);
    if (s->committed_ns != UINT64_MAX && now < s->committed_ns + POSITION_COMMIT_MIN_NS)
        return;
    uint8_t buf[8];
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(s->next_offset >> (8 * i));
    s->committed = s->next_offset;
    s->committed_ns = now;
    /* Both on this process's FIFO: the fsync covers the write. The storage takes the
     * bytes during the call. */
    RtStorage *st = s->base.ctx.env->storage;
    if (rt_storage_write(st, s->position_path, buf, 8, position_io_done, NULL, NULL))
        rt_storage_fsync(st, s->position_path, position_io_done, NULL, NULL);
}

/* Records due dt_ns after the start at rate_per_s (floor), without overflow. */
static uint64_t records_due(uint64_t dt_ns, uint64_t rate_per_s) {
    return dt_ns / 1000000000u * rate_per_s + dt_ns % 1000000000u * rate_per_s / 1000000000u;
}

/* Time after the start at which record n (0-based) is due: ceil(n * 1e9 / rate). */
static uint64_t time_of_record(uint64_t n, uint64_t rate_per_s) {
    uint64_t q = n / rate_per_s, r = n % rate_per_s;
    return q * 1000000000u + (r * 1000000000u + rate_per_s - 1) / rate_per_s;
}

static uint32_t source_produce(RtOperator *self, uint32_t max, uint64_t *next_due_ns) {
    RtSource *s = (RtSource *)self;
    RtEnv *env = self->ctx.env;
    if (s->next_offset >= s->gen.records) {
        *next_due_ns = UINT64_MAX;
        return 0;
    }
    uint64_t now = rt_env_now_ns(env), n = max;
    if (s->rate_per_s > 0) {
        uint64_t due = records_due(now - s->start_ns, s->rate_per_s) + 1;
        n = due > s->emitted_since_start ? MIN(due - s->emitted_since_start, (uint64_t)max) : 0;
    }
    n = MIN(n, s->gen.records - s->next_offset);
    RtRecord rec;
    RtEvent ev = {.kind = RT_EV_RECORD_EMIT, .subtask = self->ctx.id,
                  .attempt = self->ctx.attempt};
    for (uint64_t i = 0; i < n; i++) {
        rt_source_gen_record(&s->gen, s->next_offset, &rec);
        rec.created_ns = now;
        ev.a = rec.offset;
        ev.key = rec.key;
        ev.b = rec.value;
        rt_env_observe(env, &ev);
        self->ctx.emit(self->ctx.emit_ud, &rec);
        s->next_offset++;
    }
    s->emitted_since_start += n;
    maybe_commit_position(s);
    if (s->next_offset >= s->gen.records)
        *next_due_ns = UINT64_MAX;
    else if (s->rate_per_s == 0)
        *next_due_ns = 0;
    else
        *next_due_ns = s->start_ns + time_of_record(s->emitted_since_start, s->rate_per_s);
    return (uint32_t)n;
}

static void position_read_done(void *ud, const void *data, size_t len, GError *error) {
    SourceIo *io = (SourceIo *)rt_pending_op_take(ud);
    if (io != NULL) {
        RtSource *s = io->src;
        g_free(io);
        if (error == NULL && len == 8) {
            uint64_t pos = rt_bytes_load_u64(data);
            if (pos > s->next_offset && pos <= s->gen.records)
                s->next_offset = pos; /* the bug: trust the auto-committed position */
        }
        s->committed = s->next_offset;
        s->open_done(s->open_ud, NULL);
    }
    g_clear_error(&error);
}

static bool source_open(RtOperator *self, const RtSnapshot *restored, bool *async,
                        RtOperatorDoneFunc done, void *ud, GError **error) {
    RtSource *s = (RtSource *)self;
    *async = false;
    if (restored != NULL) {
        size_t len = 0;
        const uint8_t *b = rt_snapshot_get_operator_state(restored, "offset", &len);
        if (b == NULL || len != 8 || rt_bytes_load_u64(b) > s->gen.records) {
            g_set_error(error, RT_OPERATOR_ERROR, RT_OPERATOR_ERROR_RESTORE,
                        "source %s[%u]: bad restored offset", self->ctx.spec->name,
                        self->ctx.id.index);
            return false;
        }
        s->next_offset = rt_bytes_load_u64(b);
    }
    s->committed = s->next_offset;
    s->start_ns = rt_env_now_ns(self->ctx.env);
    if (!s->bug || restored == NULL)
        return true;
    SourceIo *io = g_new0(SourceIo, 1);
    io->src = s;
    s->open_done = done;
    s->open_ud = ud;
    void *token = rt_pending_op_register(&s->ops, &io->op, source_io_free_op);
    if (!rt_storage_read(self->ctx.env->storage, s->position_path, position_read_done, token,
                         NULL)) {
        rt_pending_op_unregister(&io->op);
        g_free(io);
        return true;
    }
    *async = true;
    return true;
}

static bool source_snapshot(RtOperator *self, uint64_t id, RtSnapshot *snap, bool *async,
                            RtOperatorDoneFunc done, void *ud, GError **error) {
    RtSource *s = (RtSource *)self;
    uint8_t b[8];
    rt_bytes_store_u64(b, s->next_offset);
    rt_snapshot_set_operator_state(snap, "offset", b, 8);
    *async = false;
    return true;
}

static bool source_is_done(RtOperator *self) {
    RtSource *s = (RtSource *)self;
    return s->next_offset >= s->gen.records;
}

static void source_free(RtOperator *self) {
    RtSource *s = (RtSource *)self;
    rt_pending_ops_clear(&s->ops);
    rt_source_gen_deinit(&s->gen);
    g_free(s->position_path);
    g_free(s);
}

static const RtOperatorOps source_ops = {
    .name = "source",
    .open = source_open,
    .produce = source_produce,
    .snapshot = source_snapshot,
    .is_done = source_is_done,
    .free = source_free,
};

RtOperator *rt_source_new(const RtOperatorContext *ctx) {
    RtSource *s = g_new0(RtSource, 1);
    s->base.ops = &source_ops;
    s->base.ctx = *ctx;
    rt_source_gen_init(&s->gen, ctx->env->seed, ctx->job->graph, ctx->id.op, ctx->id.index);
    s->rate_per_s = ctx->spec->rate_per_s;
    assert(s->rate_per_s <= 1000000000u);
    rt_pending_ops_init(&s->ops);
    s->committed_ns = UINT64_MAX;
    s->bug = rt_bug_on(ctx->env, RT_BUG_SKIP_SOURCE_REWIND);
    s->position_path = rt_source_position_path(ctx->job->graph, ctx->id.op, ctx->id.index);
    return &s->base;
}
