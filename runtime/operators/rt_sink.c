/* rt_sink.c - the two-phase-commit sink, as Flink's TwoPhaseCommitSinkFunction writing
 * to a FileSink-like external system (flink-zk.md section 5):
 *  - records go into the current transaction (in memory, in the file's compact encoding:
 *    RtSinkEncoder, ~9 bytes a record);
 *  - snapshot(n) pre-commits it: its records are written to pending-<txn> and fsynced
 *    (the acknowledgement waits for that), the transaction is remembered as pending
 *    for checkpoint n, and a new transaction begins; the snapshot holds the pending
 *    transactions and the open one;
 *  - notify_complete(n) commits, in order, every pending transaction of a checkpoint
 *    <= n: rename pending -> committed, fsync the directory. Commits are idempotent: a
 *    missing pending file means the transaction was already committed;
 *  - on restore, the restored pending transactions are committed (recoverAndCommit) and
 *    the open one is aborted (its pending file, if a later pre-commit wrote one, is
 *    removed), before any record is processed.
 * Transaction ids are (attempt << 32) | sequence: unique across attempts, so a new
 * attempt never reuses the name of a file an older attempt left behind.
 *
 * As Flink's sinks, warts included:
 *  - transaction timeout (TwoPhaseCommitSinkFunction's transactionTimeout, Kafka's
 *    transaction.timeout.ms, FLINK-7784): the external system aborts a transaction left
 *    open longer than the sink's transaction-timeout (default 15 min), counted from its
 *    begin (the previous pre-commit, or the sink's start). It is enforced in the sink's
 *    view of the external system (ext_expired, on env time): a commit of an expired
 *    transaction finds it aborted, its pending file discarded, its records LOST; the job
 *    goes on, as with FlinkKafkaProducer (ignoreFailuresAfterTransactionTimeout) and
 *    KafkaSink's committer (a known-reason failure, not retried).
 *  - a commit that fails (other than "already committed") fails the task:
 *    TwoPhaseCommitSinkFunction.notifyCheckpointComplete rethrows the first commit
 *    failure; the failover's recoverAndCommit then retries it (and a failure there fails
 *    the restore).
 *
 * Storage callbacks carry an operation token, not a pointer: a crash cancels pending I/O
 * without running its callbacks, so the sink owns its operations in flight (an
 * RtPendingOps set, rt_pending_ops.h) and frees them when it is freed; a callback that
 * arrives later (the sink was freed by a task cancel while its process lived on) finds
 * its token gone and does nothing.
 *
 * Planted bugs: RT_BUG_SINK_COMMIT_ON_PRECOMMIT commits right after the pre-commit
 * write, without waiting for the checkpoint to complete (a failover then replays
 * records that are already committed: duplicates); RT_BUG_ACK_BEFORE_FSYNC reports the
 * pre-commit done after the write, before the fsync (a crash can lose the pending file
 * of a completed checkpoint; its commit then finds nothing: lost records);
 * RT_BUG_SINK_RECOMMIT_ON_DUPLICATE_NOTIFY commits the last committed transaction again
 * (as a new one) when a notification repeats the last id (duplicated output);
 * RT_BUG_SINK_SKIP_COMMIT_DIR_FSYNC reports a commit done after the rename alone (a
 * crash can undo the rename after the transaction was dropped from the pending list).
 */
#include <assert.h>
#include <inttypes.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "runtime/env/rt_pending_ops.h"
#include "runtime/operators/rt_operator.h"
#include "runtime/operators/rt_sink_format.h"

#define SINK_MAX_PENDING RT_SINK_STATE_MAX_PENDING

typedef enum TxnStage {
    TXN_WRITING,    /* pre-commit write in flight */
    TXN_DURABLE,    /* pre-committed: pending file durable */
    TXN_COMMITTING, /* commit in flight */
} TxnStage;

typedef struct SinkTxn {
    uint64_t txn;
    uint64_t checkpoint_id;
    TxnStage stage;
    uint64_t begin_ns; /* when the transaction began (env time), for its timeout */
    GBytes *file;    /* the pending file read back for the commit events (validated), or
                        NULL: not read yet, or torn */
} SinkTxn;

typedef struct RtSink {
    RtOperator base;
    RtPendingOps ios;      /* SinkIo in flight (registered) */
    uint64_t txn_seq;      /* next transaction sequence number */
    uint64_t current_txn;  /* the open transaction */
    uint64_t current_begin_ns; /* when it began */
    RtSinkEncoder current; /* records of the open transaction, encoded */
    GQueue pending;        /* SinkTxn*, checkpoint order */
    uint64_t notified;     /* highest completed checkpoint id notified */
    bool committing;       /* the commit chain runs */
    bool end_of_input;
    bool recovering;       /* open: recovery commits in flight */
    uint64_t abort_txn;    /* open: the restored open transaction to abort after commits */
    RtOperatorDoneFunc open_done;
    void *open_ud;
    bool bug_commit_early, bug_ack_early;
    GBytes *last_commit;   /* RT_BUG_SINK_RECOMMIT_ON_DUPLICATE_NOTIFY: the file of the
                              last transaction committed, or NULL */
} RtSink;

/* One storage operation (or a chain of them, one at a time) of a sink. */
typedef struct SinkIo {
    RtPendingOp op;             /* first: registered in sink->ios while in flight */
    RtSink *sink;
    uint64_t txn;
    GBytes *data;               /* kept alive while a write is in flight */
    RtOperatorDoneFunc done;    /* pre-commit: the snapshot's done */
    void *done_ud;
    bool reported;              /* pre-commit done already reported (ack-before-fsync) */
} SinkIo;

static void sink_commit_next(RtSink *s);
static void sink_recover_next(RtSink *s);

static SinkIo *io_new(RtSink *s, uint64_t txn) {
    SinkIo *io = g_new0(SinkIo, 1);
    io->sink = s;
    io->txn = txn;
    return io;
}

/* Frees an operation that is not in flight. */
static void io_free(SinkIo *io) {
    assert(io != NULL && io->op.id == 0);
    if (io->data != NULL)
        g_bytes_unref(io->data);
    g_free(io);
}

static void io_free_op(RtPendingOp *op) {
    io_free((SinkIo *)op);
}

/* Registers io for one storage operation; returns the callback's user data (its
 * token). */
static void *io_ud(SinkIo *io) {
    return rt_pending_op_register(&io->sink->ios, &io->op, io_free_op);
}

/* The operation whose callback got user data ud, now owned by the caller (unregistered),
 * or NULL if its sink was freed meanwhile. */
static SinkIo *io_take(void *ud) {
    return (SinkIo *)rt_pending_op_take(ud);
}

static SinkTxn *find_txn(RtSink *s, uint64_t txn) {
    for (GList *l = s->pending.head; l != NULL; l = l->next)
        if (((SinkTxn *)l->data)->txn == txn)
            return l->data;
    return NULL;
}

static void txn_free(SinkTxn *t) {
    if (t->file != NULL)
        g_bytes_unref(t->file);
    g_free(t);
}

static void observe(RtSink *s, RtEventKind kind, uint64_t txn, uint64_t ckpt) {
    RtEvent ev = {.kind = kind, .subtask = s->base.ctx.id, .attempt = s->base.ctx.attempt,
                  .a = txn, .checkpoint_id = ckpt};
    rt_env_observe(s->base.ctx.env, &ev);
}

static char *txn_path(RtSink *s, uint64_t txn, bool committed) {
    return rt_sink_txn_path(s->base.ctx.spec->name, s->base.ctx.id.index, txn, committed);
}

static char *sink_dir(RtSink *s) {
    return rt_sink_dir(s->base.ctx.spec->name, s->base.ctx.id.index);
}

/* ------------------------------------------------------------------ commit */

typedef struct CommitEmit {
    RtEnv *env;
    RtEvent ev;
    uint64_t now_ns;
} CommitEmit;

static void emit_committed_record(void *ud, uint32_t index, const RtRecord *r) {
    (void)index;
    CommitEmit *c = ud;
    c->ev.key = r->key;
    c->ev.a = r->src;
    c->ev.b = r->offset;
    c->ev.c = c->now_ns >= r->created_ns ? c->now_ns - r->created_ns : 0;
    rt_env_observe(c->env, &c->ev);
}

/* One RT_EV_SINK_COMMIT_RECORD per record of the committed file (validated before). */
static void emit_committed(RtSink *s, GBytes *file) {
    CommitEmit c = {.env = s->base.ctx.env,
                    .ev = {.kind = RT_EV_SINK_COMMIT_RECORD, .subtask = s->base.ctx.id,
                           .attempt = s->base.ctx.attempt}};
    c.now_ns = rt_env_now_ns(c.env);
    size_t len = 0;
    const void *data = g_bytes_get_data(file, &len);
    bool ok = rt_sink_file_foreach(data, len, emit_committed_record, &c, NULL, NULL);
    assert(ok);
}

/* The commit of the head transaction finished (committed: the rename is durable;
 * otherwise it had been committed before). */
static void commit_finished(RtSink *s, uint64_t txn, bool committed) {
    SinkTxn *t = find_txn(s, txn);
    assert(t != NULL && t == g_queue_peek_head(&s->pending));
    g_queue_pop_head(&s->pending);
    observe(s, RT_EV_TXN_COMMIT, txn, t->checkpoint_id);
    if (committed && t->file != NULL)
        emit_committed(s, t->file);
    if (committed && t->file != NULL &&
        rt_bug_on(s->base.ctx.env, RT_BUG_SINK_RECOMMIT_ON_DUPLICATE_NOTIFY)) {
        if (s->last_commit != NULL)
            g_bytes_unref(s->last_commit);
        s->last_commit = g_bytes_ref(t->file);
    }
    txn_free(t);
    s->committing = false;
    if (s->base.ctx.progress != NULL)
        s->base.ctx.progress(s->base.ctx.progress_ud, NULL);
    if (s->recovering)
        sink_recover_next(s);
    else
        sink_commit_next(s);
}

static void commit_dir_synced(void *ud, GError *error) {
    SinkIo *io = io_take(ud);
    bool ok = error == NULL;
    g_clear_error(&error);
    if (io == NULL)
        return;
    RtSink *s = io->sink;
    uint64_t txn = io->txn;
    io_free(io);
    commit_finished(s, txn, ok);
}

/* The commit of t failed (error consumed): t stays pending for the next try. During
 * recovery the restore fails (recoverAndCommit throwing fails the task in Flink);
 * otherwise TwoPhaseCommitSinkFunction.notifyCheckpointComplete rethrows: the task
 * fails. Either may free s: nothing after this. */
static void commit_failed(RtSink *s, SinkTxn *t, GError *error) {
    t->stage = TXN_DURABLE;
    s->committing = false;
    if (s->recovering) {
        s->recovering = false;
        s->open_done(s->open_ud, error);
    } else if (s->base.ctx.progress != NULL) {
        s->base.ctx.progress(s->base.ctx.progress_ud, error);
    }
    g_error_free(error);
}

static void commit_renamed(void *ud, GError *error) {
    SinkIo *io = io_take(ud);
    if (io == NULL) {
        g_clear_error(&error);
        return;
    }
    RtSink *s = io->sink;
    if (error != NULL) {
        /* Not found: committed before (idempotent). Other errors: the commit is retried
         * by the next notification or, during recovery (no notification will come: the
         * task is not running yet), by the next recovery: the restore fails, as
         * recoverAndCommit throwing fails the task in Flink. */
        uint64_t txn = io->txn;
        io_free(io);
        if (g_error_matches(error, RT_STORAGE_ERROR, RT_STORAGE_ERROR_NOT_FOUND)) {
            g_error_free(error);
            commit_finished(s, txn, false);
        } else {
            commit_failed(s, find_txn(s, txn), error); /* may free s */
        }
        return;
    }
    char *dir = sink_dir(s);
    void *u = io_ud(io);
    if (rt_bug_on(s->base.ctx.env, RT_BUG_SINK_SKIP_COMMIT_DIR_FSYNC))
        commit_dir_synced(u, NULL); /* planted: "the rename is atomic, that is enough" */
    else if (!rt_storage_fsync_dir(s->base.ctx.env->storage, dir, commit_dir_synced, u, NULL))
        commit_dir_synced(u, NULL);
    g_free(dir);
}

static void commit_rename(RtSink *s, SinkTxn *t) {
    char *from = txn_path(s, t->txn, false), *to = txn_path(s, t->txn, true);
    void *u = io_ud(io_new(s, t->txn));
    if (!rt_storage_rename(s->base.ctx.env->storage, from, to, commit_renamed, u, NULL)) {
        GError *e = g_error_new_literal(RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO, "rename");
        commit_renamed(u, e);
    }
    g_free(from);
    g_free(to);
}

static void commit_read_done(void *ud, const void *data, size_t len, GError *error) {
    SinkIo *io = io_take(ud);
    if (io == NULL) {
        g_clear_error(&error);
        return;
    }
    RtSink *s = io->sink;
    SinkTxn *t = find_txn(s, io->txn);
    if (error == NULL && rt_sink_file_foreach(data, len, NULL, NULL, NULL, NULL))
        t->file = g_bytes_new(data, len); /* compact: kept until the commit is durable */
    bool gone = error != NULL && g_error_matches(error, RT_STORAGE_ERROR,
                                                 RT_STORAGE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    io_free(io);
    if (gone)
        commit_finished(s, t->txn, false);
    else
        commit_rename(s, t); /* a torn pending file is committed as is: the oracle sees it */
}

/* The external system's view: true if it has aborted transaction t because it was open
 * longer than the sink's transaction timeout (Kafka's transaction.timeout.ms). */
static bool ext_expired(const RtSink *s, const SinkTxn *t) {
    uint64_t timeout = s->base.ctx.spec->txn_timeout_ns;
    if (timeout == 0)
        timeout = RT_SINK_DEFAULT_TXN_TIMEOUT_NS;
    if (rt_bug_on(s->base.ctx.env, RT_BUG_SINK_TIMEOUT_UNITS))
        timeout /= 1000000; /* planted bug: the timeout in ms taken for ns */
    uint64_t now = rt_env_now_ns(s->base.ctx.env);
    return now > t->begin_ns && now - t->begin_ns > timeout;
}

static void expired_removed(void *ud, GError *error) {
    SinkIo *io = io_take(ud);
    g_clear_error(&error);
    if (io == NULL)
        return;
    RtSink *s = io->sink;
    uint64_t txn = io->txn;
    io_free(io);
    SinkTxn *t = find_txn(s, txn);
    assert(t != NULL && t == g_queue_peek_head(&s->pending));
    g_queue_pop_head(&s->pending);
    observe(s, RT_EV_TXN_ABORT, txn, t->checkpoint_id);
    txn_free(t);
    s->committing = false;
    if (s->base.ctx.progress != NULL)
        s->base.ctx.progress(s->base.ctx.progress_ud, NULL);
    if (s->recovering)
        sink_recover_next(s);
    else
        sink_commit_next(s);
}

static void expired_later(void *ud) {
    expired_removed(ud, NULL);
}

/* The external system aborted t (timeout): its pending data is discarded, the commit
 * commits nothing and the job goes on (FlinkKafkaProducer's
 * ignoreFailuresAfterTransactionTimeout; KafkaCommitter drops it): records lost. */
static void commit_expired(RtSink *s, SinkTxn *t) {
    if (rt_bug_on(s->base.ctx.env, RT_BUG_FLINK_7784)) {
        /* Planted bug FLINK-7784 (TwoPhaseCommitSinkFunction before 1.4.0, and later
         * without ignoreFailuresAfterTransactionTimeout): the failed commit fails the
         * task; every restore's recoverAndCommit fails again: a recovery loop. */
        commit_failed(s, t, g_error_new(RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO,
                                        "commit of transaction %016" PRIx64 " failed: the "
                                        "external system aborted it (transaction timeout)",
                                        t->txn));
        return;
    }
    char *path = txn_path(s, t->txn, false);
    void *u = io_ud(io_new(s, t->txn));
    if (!rt_storage_remove(s->base.ctx.env->storage, path, expired_removed, u, NULL))
        rt_env_timer_start(s->base.ctx.env, 0, expired_later, u);
    g_free(path);
}

/* Starts the commit of the head transaction if it belongs to a notified checkpoint. */
static void sink_commit_next(RtSink *s) {
    SinkTxn *t = g_queue_peek_head(&s->pending);
    if (s->committing || t == NULL || t->stage != TXN_DURABLE)
        return;
    if (t->checkpoint_id > s->notified && !s->bug_commit_early && !s->recovering)
        return;
    if (rt_bug_on(s->base.ctx.env, RT_BUG_FLINK_10377) && t->checkpoint_id < s->notified &&
        !s->recovering) {
        /* Planted bug FLINK-10377: only the exactly notified id commits; a skipped one is
         * forgotten, never committed. */
        txn_free(g_queue_pop_head(&s->pending));
        sink_commit_next(s);
        return;
    }
    s->committing = true;
    t->stage = TXN_COMMITTING;
    if (ext_expired(s, t)) {
        commit_expired(s, t);
        return;
    }
    if (t->file != NULL) {
        commit_rename(s, t); /* read before: a commit retried after a rename error */
        return;
    }
    /* Read the pending file back for the commit events: memory holds only the open
     * transaction (and a restored transaction's records are not in memory at all). */
    char *path = txn_path(s, t->txn, false);
    void *u = io_ud(io_new(s, t->txn));
    if (!rt_storage_read(s->base.ctx.env->storage, path, commit_read_done, u, NULL)) {
        io_free(io_take(u));
        commit_rename(s, t);
    }
    g_free(path);
}

static void recommit_written(void *ud, GError *error) {
    SinkIo *io = io_take(ud);
    if (io != NULL)
        io_free(io);
    g_clear_error(&error);
}

/* Planted RT_BUG_SINK_RECOMMIT_ON_DUPLICATE_NOTIFY: "a repeated notification means the
 * commit was not seen": the last committed transaction is committed again, as a new
 * transaction of the external system (its records are published a second time). */
static void sink_recommit(RtSink *s) {
    uint64_t txn = ((uint64_t)s->base.ctx.attempt << 32) | s->txn_seq++;
    char *path = txn_path(s, txn, true);
    SinkIo *io = io_new(s, txn);
    io->data = g_bytes_ref(s->last_commit);
    gsize len = 0;
    const void *data = g_bytes_get_data(io->data, &len);
    void *u = io_ud(io);
    if (!rt_storage_write(s->base.ctx.env->storage, path, data, len, recommit_written, u,
                          NULL))
        io_free(io_take(u));
    g_free(path);
}

static void sink_notify_complete(RtOperator *self, uint64_t id) {
    RtSink *s = (RtSink *)self;
    if (id == s->notified && s->last_commit != NULL)
        sink_recommit(s);
    if (id > s->notified)
        s->notified = id;
    sink_commit_next(s);
}

/* ------------------------------------------------------------------ pre-commit */

static void precommit_durable(RtSink *s, SinkIo *io, const GError *error) {
    SinkTxn *t = find_txn(s, io->txn);
    assert(t != NULL && t->stage == TXN_WRITING);
    if (error != NULL) {
        /* The transaction's records are not durable: this checkpoint cannot succeed and
         * the records must be replayed, so the task fails (after declining). */
        if (!io->reported)
            io->done(io->done_ud, error);
        if (s->base.ctx.progress != NULL)
            s->base.ctx.progress(s->base.ctx.progress_ud, error);
        return;
    }
    t->stage = TXN_DURABLE;
    /* The records are durable in the pending file: the commit reads them back for its
     * events, so memory holds only the open transaction. */
    observe(s, RT_EV_TXN_PRECOMMIT, t->txn, t->checkpoint_id);
    if (!io->reported)
        io->done(io->done_ud, NULL);
    sink_commit_next(s);
}

static void precommit_synced(void *ud, GError *error) {
    SinkIo *io = io_take(ud);
    if (io != NULL) {
        precommit_durable(io->sink, io, error);
        io_free(io);
    }
    g_clear_error(&error);
}

static void precommit_written(void *ud, GError *error) {
    SinkIo *io = io_take(ud);
    if (io == NULL || error != NULL) {
        if (io != NULL) {
            precommit_durable(io->sink, io, error);
            io_free(io);
        }
        g_clear_error(&error);
        return;
    }
    RtSink *s = io->sink;
    if (s->bug_ack_early) {
        io->reported = true; /* planted bug: acknowledged before the fsync */
        io->done(io->done_ud, NULL);
    }
    char *path = txn_path(s, io->txn, false);
    void *u = io_ud(io);
    if (!rt_storage_fsync(s->base.ctx.env->storage, path, precommit_synced, u, NULL)) {
        GError *e = g_error_new_literal(RT_STORAGE_ERROR, RT_STORAGE_ERROR_IO, "fsync");
        precommit_synced(u, e);
    }
    g_free(path);
}

/* The snapshot blob (rt_sink_state_encode): the pending transactions and the open one. */
static void write_state(RtSink *s, RtSnapshot *snap) {
    RtSinkStateTxn *txns = g_new0(RtSinkStateTxn, s->pending.length + 1);
    size_t n = 0;
    for (GList *l = s->pending.head; l != NULL; l = l->next) {
        const SinkTxn *t = l->data;
        txns[n++] = (RtSinkStateTxn){t->txn, t->checkpoint_id, t->begin_ns};
    }
    GByteArray *b = g_byte_array_new();
    rt_sink_state_encode(b, txns, n, s->current_txn);
    rt_snapshot_set_operator_state(snap, RT_SINK_STATE_BLOB, b->data, b->len);
    g_byte_array_unref(b);
    g_free(txns);
}

static uint64_t next_txn(RtSink *s) {
    return ((uint64_t)s->base.ctx.attempt << 32) | s->txn_seq++;
}

static bool sink_snapshot(RtOperator *self, uint64_t id, RtSnapshot *snap, bool *async,
                          RtOperatorDoneFunc done, void *ud, GError **error) {
    RtSink *s = (RtSink *)self;
    *async = false;
    if (rt_sink_encoder_count(&s->current) > 0) {
        if (s->pending.length >= SINK_MAX_PENDING) {
            g_set_error(error, RT_OPERATOR_ERROR, RT_OPERATOR_ERROR_IO,
                        "sink: too many pending transactions");
            return false;
        }
        SinkTxn *t = g_new0(SinkTxn, 1);
        t->txn = s->current_txn;
        t->checkpoint_id = id;
        t->stage = TXN_WRITING;
        t->begin_ns = s->current_begin_ns;
        g_queue_push_tail(&s->pending, t);
        SinkIo *io = io_new(s, t->txn);
        io->data =
            rt_sink_encoder_finish(&s->current, self->ctx.id.op, self->ctx.id.index, t->txn);
        io->done = done;
        io->done_ud = ud;
        s->current_txn = next_txn(s);
        s->current_begin_ns = rt_env_now_ns(self->ctx.env);
        char *path = txn_path(s, t->txn, false);
        size_t len = 0;
        const void *data = g_bytes_get_data(io->data, &len);
        void *u = io_ud(io);
        bool ok = rt_storage_write(self->ctx.env->storage, path, data, len, precommit_written,
                                   u, error);
        g_free(path);
        if (!ok) {
            io_free(io_take(u)); /* the transaction stays WRITING: the task fails */
            return false;
        }
        *async = true;
    }
    write_state(s, snap);
    return true;
}

/* ------------------------------------------------------------------ recovery */

static void recovery_finished(RtSink *s) {
    s->recovering = false;
    s->open_done(s->open_ud, NULL);
    sink_commit_next(s);
}

static void abort_removed(void *ud, GError *error) {
    SinkIo *io = io_take(ud);
    g_clear_error(&error);
    if (io == NULL)
        return;
    RtSink *s = io->sink;
    uint64_t txn = io->txn;
    io_free(io);
    observe(s, RT_EV_TXN_ABORT, txn, 0);
    recovery_finished(s);
}

static void abort_later(void *ud) {
    abort_removed(ud, NULL);
}

/* Recovery: commit every restored pending transaction (commit_finished calls back here
 * after each), then abort the restored open transaction. */
static void sink_recover_next(RtSink *s) {
    if (!g_queue_is_empty(&s->pending)) {
        sink_commit_next(s);
        return;
    }
    char *path = txn_path(s, s->abort_txn, false);
    void *u = io_ud(io_new(s, s->abort_txn));
    if (!rt_storage_remove(s->base.ctx.env->storage, path, abort_removed, u, NULL))
        rt_env_timer_start(s->base.ctx.env, 0, abort_later, u);
    g_free(path);
}

static bool restore_state(RtSink *s, const RtSnapshot *snap, GError **error) {
    size_t len = 0;
    const uint8_t *b = rt_snapshot_get_operator_state(snap, RT_SINK_STATE_BLOB, &len);
    GArray *txns = NULL;
    GError *e = NULL;
    if (!rt_sink_state_decode(b, len, &txns, &s->abort_txn, &e)) {
        g_set_error(error, RT_OPERATOR_ERROR, RT_OPERATOR_ERROR_RESTORE, "sink %s[%u]: %s",
                    s->base.ctx.spec->name, s->base.ctx.id.index, e->message);
        g_error_free(e);
        return false;
    }
    for (guint i = 0; i < txns->len; i++) {
        const RtSinkStateTxn *r = &g_array_index(txns, RtSinkStateTxn, i);
        SinkTxn *t = g_new0(SinkTxn, 1);
        t->txn = r->txn;
        t->checkpoint_id = r->checkpoint_id;
        t->begin_ns = r->begin_ns;
        t->stage = TXN_DURABLE;
        g_queue_push_tail(&s->pending, t);
    }
    g_array_unref(txns);
    return true;
}

static bool sink_open(RtOperator *self, const RtSnapshot *restored, bool *async,
                      RtOperatorDoneFunc done, void *ud, GError **error) {
    RtSink *s = (RtSink *)self;
    *async = false;
    if (restored == NULL)
        return true;
    if (!restore_state(s, restored, error))
        return false;
    s->open_done = done;
    s->open_ud = ud;
    s->recovering = true;
    *async = true;
    sink_recover_next(s);
    return true;
}

/* ------------------------------------------------------------------ the rest */

static void sink_process(RtOperator *self, const RtRecord *rec) {
    RtSink *s = (RtSink *)self;
    assert(rt_sink_encoder_count(&s->current) < RT_SINK_MAX_RECORDS);
    rt_sink_encoder_add(&s->current, rec);
}

static void sink_end_of_input(RtOperator *self) {
    ((RtSink *)self)->end_of_input = true;
}

static bool sink_is_done(RtOperator *self) {
    RtSink *s = (RtSink *)self;
    return s->end_of_input && rt_sink_encoder_count(&s->current) == 0 &&
           g_queue_is_empty(&s->pending) && !s->recovering;
}

static void sink_free(RtOperator *self) {
    RtSink *s = (RtSink *)self;
    /* Operations in flight: their callbacks, if they ever run, find nothing. */
    rt_pending_ops_clear(&s->ios);
    rt_sink_encoder_deinit(&s->current);
    SinkTxn *t;
    while ((t = g_queue_pop_head(&s->pending)) != NULL)
        txn_free(t);
    if (s->last_commit != NULL)
        g_bytes_unref(s->last_commit);
    g_free(s);
}

static const RtOperatorOps sink_ops = {
    .name = "sink",
    .open = sink_open,
    .process = sink_process,
    .end_of_input = sink_end_of_input,
    .snapshot = sink_snapshot,
    .notify_complete = sink_notify_complete,
    .is_done = sink_is_done,
    .free = sink_free,
};

RtOperator *rt_sink_new(const RtOperatorContext *ctx) {
    RtSink *s = g_new0(RtSink, 1);
    s->base.ops = &sink_ops;
    s->base.ctx = *ctx;
    rt_pending_ops_init(&s->ios);
    rt_sink_encoder_init(&s->current);
    g_queue_init(&s->pending);
    s->current_txn = next_txn(s);
    s->current_begin_ns = rt_env_now_ns(ctx->env);
    s->bug_commit_early = rt_bug_on(ctx->env, RT_BUG_SINK_COMMIT_ON_PRECOMMIT);
    s->bug_ack_early = rt_bug_on(ctx->env, RT_BUG_ACK_BEFORE_FSYNC);
    return &s->base;
}
