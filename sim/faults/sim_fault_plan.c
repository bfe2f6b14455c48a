/* sim_fault_plan.c - parsing fault statements and materializing random faults
 * (sim_fault_plan.h). The grammar (scenarios/README.md):
 *
 *   at DURATION : ACTION
 *   when [NTH] EVENT [of checkpoint N] [on OP[I]] [in PROC] [after TIME] [+ DURATION]
 *        : ACTION
 *
 *   PROC   := jobmanager-N | worker-N | this | leader | standby | host of OP[I]
 *   ACTION := crash PROC [restart after DURATION]
 *           | restart PROC
 *           | isolate PROC for DURATION
 *           | partition PROC... | PROC... for DURATION
 *           | spike PROC -> PROC + DURATION for DURATION      (PROC may be '*')
 *           | storage-error eio|enospc [on PREFIX] [count N]
 *           | zk-expire PROC
 *           | zk-disconnect PROC for DURATION
 *           | zk-partition PROC for DURATION
 *           | pause PROC for DURATION
 *           | zk-leader-change [for DURATION]                  (default 300 ms)
 *           | notify-drop | notify-duplicate | notify-delay DURATION
 *             [of checkpoint N] [to PROC]
 */
#include "sim/faults/sim_fault_plan.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "runtime/env/rt_config.h"
#include "runtime/env/rt_rng.h"
#include "sim/harness/sim_keys.h"

uint32_t sim_proc_ordinal(SimProcRef ref) {
    assert(ref.kind == SIM_PROC_JOBMANAGER || ref.kind == SIM_PROC_WORKER);
    if (ref.kind == SIM_PROC_JOBMANAGER) {
        assert(ref.index < SIM_FAULT_MAX_JOBMANAGERS);
        return ref.index;
    }
    assert(ref.index < SIM_FAULT_MAX_WORKERS);
    return SIM_FAULT_MAX_JOBMANAGERS + ref.index;
}

/* ---------------------------------------------------------------- event names */

static const RtEventKind trigger_kinds[] = {
    RT_EV_RECORD_EMIT,     RT_EV_RECORD_COUNT,      RT_EV_SINK_COMMIT_RECORD,
    RT_EV_CKPT_TRIGGER,    RT_EV_CKPT_ACK,          RT_EV_CKPT_DECLINE,
    RT_EV_CKPT_COMPLETE,   RT_EV_CKPT_ABORT,        RT_EV_CKPT_SUBSUMED,
    RT_EV_BARRIER_RECEIVED, RT_EV_ALIGN_START,      RT_EV_ALIGN_END,
    RT_EV_SNAPSHOT_SYNC,   RT_EV_SNAPSHOT_PERSISTED, RT_EV_SNAPSHOT_FAILED,
    RT_EV_TXN_PRECOMMIT,   RT_EV_TXN_COMMIT,        RT_EV_TXN_ABORT,
    RT_EV_JOB_RUNNING,     RT_EV_FAILOVER,          RT_EV_RESTORE,
    RT_EV_JOB_FINISHED,    RT_EV_JOB_FAILED,        RT_EV_LEADER_GAINED,
    RT_EV_LEADER_LOST,     RT_EV_CKPT_ID_ISSUED,    RT_EV_CKPT_PUBLISHED,
    RT_EV_COORD_SESSION,   RT_EV_WORLD_CRASH,       RT_EV_WORLD_RESTART,
};

static const struct {
    const char *alias;
    RtEventKind kind;
} event_aliases[] = {
    {"trigger", RT_EV_CKPT_TRIGGER},   {"ack", RT_EV_CKPT_ACK},
    {"decline", RT_EV_CKPT_DECLINE},   {"complete", RT_EV_CKPT_COMPLETE},
    {"abort", RT_EV_CKPT_ABORT},       {"barrier", RT_EV_BARRIER_RECEIVED},
    {"precommit", RT_EV_TXN_PRECOMMIT}, {"commit", RT_EV_TXN_COMMIT},
    {"crash", RT_EV_WORLD_CRASH},      {"published", RT_EV_CKPT_PUBLISHED},
    {"emit", RT_EV_RECORD_EMIT},
};

bool sim_fault_event_by_name(const char *name, RtEventKind *out) {
    char *norm = g_strdelimit(g_ascii_strdown(name, -1), "-", '_');
    bool found = false;
    for (size_t i = 0; !found && i < G_N_ELEMENTS(trigger_kinds); i++)
        if (strcmp(norm, rt_event_kind_name(trigger_kinds[i])) == 0) {
            *out = trigger_kinds[i];
            found = true;
        }
    for (size_t i = 0; !found && i < G_N_ELEMENTS(event_aliases); i++)
        if (strcmp(norm, event_aliases[i].alias) == 0) {
            *out = event_aliases[i].kind;
            found = true;
        }
    g_free(norm);
    return found;
}

/* ---------------------------------------------------------------- the parser */

typedef struct Parser {
    char **tok;   /* tokens, NULL-terminated */
    size_t n, pos;
    const SimFaultContext *ctx;
    bool event;   /* an event-triggered fault: 'this' is allowed */
    char *why;    /* first error, owned */
} Parser;

static const char *peek(const Parser *p) {
    return p->pos < p->n ? p->tok[p->pos] : NULL;
}

static const char *next(Parser *p) {
    return p->pos < p->n ? p->tok[p->pos++] : NULL;
}

static bool fail(Parser *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool fail(Parser *p, const char *fmt, ...) {
    if (p->why == NULL) {
        va_list ap;
        va_start(ap, fmt);
        p->why = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool accept(Parser *p, const char *word) {
    const char *t = peek(p);
    if (t != NULL && g_ascii_strcasecmp(t, word) == 0) {
        p->pos++;
        return true;
    }
    return false;
}

static bool expect_word(Parser *p, const char *word) {
    if (accept(p, word))
        return true;
    const char *t = peek(p);
    return fail(p, "expected '%s' but found %s%s%s", word, t ? "'" : "", t ? t : "the end",
                t ? "'" : "");
}

static bool has_unit(const char *t) {
    for (; *t; t++)
        if (g_ascii_isalpha(*t))
            return true;
    return false;
}

/* A duration as one token ("500ms") or two ("500 ms"); a bare number is ms (Flink). */
static bool parse_duration(Parser *p, uint64_t *out) {
    const char *t = next(p);
    if (t == NULL)
        return fail(p, "expected a duration (e.g. '500 ms') but found the end");
    if (!has_unit(t) && peek(p) != NULL) {
        char *two = g_strdup_printf("%s %s", t, peek(p));
        bool ok = rt_parse_duration_ns(two, out);
        g_free(two);
        if (ok) {
            p->pos++;
            return true;
        }
    }
    if (rt_parse_duration_ns(t, out))
        return true;
    return fail(p, "'%s' is not a duration (e.g. '500 ms', '2 s')", t);
}

static bool parse_u64_tok(Parser *p, const char *what, uint64_t *out) {
    const char *t = next(p);
    guint64 v = 0;
    if (t == NULL || !g_ascii_isdigit(t[0]) ||
        !g_ascii_string_to_unsigned(t, 10, 0, G_MAXUINT64, &v, NULL))
        return fail(p, "expected %s (a number) but found %s", what, t ? t : "the end");
    *out = v;
    return true;
}

static bool parse_subtask(Parser *p, int32_t *op, int32_t *index);

/* leader | standby | host of OP[I] (the word already taken); false if t is no role. */
static bool parse_role(Parser *p, const char *t, SimProcRef *out, bool *ok) {
    *ok = true;
    if (strcmp(t, "leader") == 0 || strcmp(t, "standby") == 0) {
        *out = (SimProcRef){t[0] == 'l' ? SIM_PROC_LEADER : SIM_PROC_STANDBY, 0, 0};
        return true;
    }
    if (strcmp(t, "host") != 0)
        return false;
    int32_t op = -1, index = -1;
    *ok = expect_word(p, "of") && parse_subtask(p, &op, &index);
    if (*ok && index < 0)
        *ok = fail(p, "'host of' needs one subtask: write host of OP[I]");
    if (*ok)
        *out = (SimProcRef){SIM_PROC_HOST, (uint32_t)index, (uint32_t)op};
    return true;
}

/* allow_this allows the refs resolved when the fault fires: the roles (leader, standby,
 * host of OP[I]) and, in an event-triggered fault, 'this'. */
static bool parse_proc(Parser *p, bool allow_this, bool allow_any, SimProcRef *out) {
    const char *t = next(p);
    if (t == NULL)
        return fail(p, "expected a process (jobmanager-N, worker-N) but found the end");
    if (allow_this && strcmp(t, "this") == 0) {
        *out = (SimProcRef){SIM_PROC_THIS, 0, 0};
        return p->event || fail(p, "'this' needs an event trigger ('when EVENT ...:')");
    }
    bool role_ok = true;
    if (allow_this && parse_role(p, t, out, &role_ok))
        return role_ok;
    if (allow_any && strcmp(t, "*") == 0) {
        *out = (SimProcRef){SIM_PROC_ANY, 0, 0};
        return true;
    }
    const char *num = NULL;
    uint32_t limit = 0;
    if (g_str_has_prefix(t, "jobmanager-")) {
        *out = (SimProcRef){SIM_PROC_JOBMANAGER, 0, 0};
        num = t + strlen("jobmanager-");
        limit = p->ctx->n_jobmanagers;
    } else if (g_str_has_prefix(t, "worker-")) {
        *out = (SimProcRef){SIM_PROC_WORKER, 0, 0};
        num = t + strlen("worker-");
        limit = p->ctx->n_workers;
    } else {
        return fail(p, "'%s' is not a process: use jobmanager-N or worker-N%s", t,
                    allow_this ? ", this, leader, standby or host of OP[I]" : "");
    }
    guint64 v = 0;
    if (!g_ascii_string_to_unsigned(num, 10, 1, G_MAXUINT32, &v, NULL) || v > limit)
        return fail(p, "no process '%s': the cluster has %u %s", t, limit,
                    out->kind == SIM_PROC_WORKER ? "workers" : "job managers");
    out->index = (uint32_t)v - 1;
    return true;
}

static int32_t find_operator(const RtJobGraph *g, const char *name) {
    for (guint i = 0; g != NULL && i < g->operators->len; i++) {
        const RtOperatorSpec *op = g_ptr_array_index(g->operators, i);
        if (strcmp(op->name, name) == 0)
            return (int32_t)i;
    }
    return -1;
}

static bool unknown_operator(Parser *p, const char *name) {
    const RtJobGraph *g = p->ctx->graph;
    GPtrArray *names = g_ptr_array_new();
    for (guint i = 0; g != NULL && i < g->operators->len; i++)
        g_ptr_array_add(names, ((RtOperatorSpec *)g_ptr_array_index(g->operators, i))->name);
    g_ptr_array_add(names, NULL);
    const char *near = sim_keys_nearest(name, (const char *const *)names->pdata);
    fail(p, "unknown operator '%s'%s%s%s", name, near ? " (did you mean '" : "",
         near ? near : "", near ? "'?)" : "");
    g_ptr_array_free(names, TRUE);
    return false;
}

/* OP or OP[I] */
static bool parse_subtask(Parser *p, int32_t *op, int32_t *index) {
    const char *t = next(p);
    if (t == NULL)
        return fail(p, "expected a subtask (operator or operator[i]) but found the end");
    char *name = g_strdup(t);
    char *br = strchr(name, '[');
    *index = -1;
    bool ok = true;
    if (br != NULL) {
        guint64 v = 0;
        size_t len = strlen(br);
        *br = '\0';
        char *num = g_strndup(br + 1, len >= 2 ? len - 2 : 0);
        ok = len >= 3 && br[len - 1] == ']' &&
             g_ascii_string_to_unsigned(num, 10, 0, 1u << 20, &v, NULL);
        g_free(num);
        if (!ok)
            fail(p, "'%s' is not a subtask: write operator[index]", t);
        *index = (int32_t)v;
    }
    if (ok) {
        *op = find_operator(p->ctx->graph, name);
        if (*op < 0) {
            ok = unknown_operator(p, name);
        } else {
            const RtOperatorSpec *s = g_ptr_array_index(p->ctx->graph->operators, *op);
            if (*index >= 0 && (uint32_t)*index >= s->parallelism)
                ok = fail(p, "subtask %s: operator '%s' has parallelism %u", t, name,
                          s->parallelism);
        }
    }
    g_free(name);
    return ok;
}

static bool parse_ordinal(const char *t, uint32_t *out) {
    size_t len = strlen(t);
    if (len < 3 || !g_ascii_isdigit(t[0]))
        return false;
    const char *suf = t + len - 2;
    if (strcmp(suf, "st") != 0 && strcmp(suf, "nd") != 0 && strcmp(suf, "rd") != 0 &&
        strcmp(suf, "th") != 0)
        return false;
    char *num = g_strndup(t, len - 2);
    guint64 v = 0;
    bool ok = g_ascii_string_to_unsigned(num, 10, 1, 1000000, &v, NULL);
    g_free(num);
    *out = (uint32_t)v;
    return ok;
}

static bool parse_when(Parser *p, SimFaultTrigger *tr) {
    tr->kind = SIM_TRIGGER_EVENT;
    tr->op = tr->index = -1;
    tr->nth = 1;
    const char *t = peek(p);
    if (t != NULL && parse_ordinal(t, &tr->nth))
        p->pos++;
    t = next(p);
    if (t == NULL || !sim_fault_event_by_name(t, &tr->event))
        return fail(p, "'%s' is not an event: use e.g. align_start, ckpt_ack, ckpt_complete, "
                       "snapshot_persisted, failover, restore (see README)",
                    t ? t : "");
    for (uint32_t guard = 0; guard < 16 && peek(p) != NULL && strcmp(peek(p), ":") != 0;
         guard++) {
        if (accept(p, "of") || accept(p, "checkpoint")) {
            if (strcmp(p->tok[p->pos - 1], "of") == 0 && !expect_word(p, "checkpoint"))
                return false;
            if (!parse_u64_tok(p, "a checkpoint id", &tr->checkpoint_id))
                return false;
            if (tr->checkpoint_id == 0)
                return fail(p, "checkpoint ids start at 1");
        } else if (accept(p, "on")) {
            if (!parse_subtask(p, &tr->op, &tr->index))
                return false;
        } else if (accept(p, "in")) {
            tr->has_process = true;
            if (!parse_proc(p, false, false, &tr->process))
                return false;
        } else if (accept(p, "after")) {
            if (!parse_duration(p, &tr->after_ns))
                return false;
        } else if (accept(p, "+")) {
            if (!parse_duration(p, &tr->delay_ns))
                return false;
        } else {
            return fail(p, "unexpected '%s': expected 'of checkpoint N', 'on OP[I]', "
                           "'in PROCESS', 'after TIME', '+ DELAY' or ':'",
                        peek(p));
        }
    }
    return true;
}

/* this_side != NULL (side a): "this" or one role may stand on the side, in *dyn. */
static bool parse_side(Parser *p, SimProcMask *mask, bool *this_side, SimProcRef *dyn) {
    for (uint32_t guard = 0; guard < 64; guard++) {
        const char *t = peek(p);
        if (t == NULL || strcmp(t, "|") == 0 || strcmp(t, "for") == 0)
            break;
        SimProcRef r;
        if (!parse_proc(p, this_side != NULL, false, &r))
            return false;
        if (sim_proc_is_dynamic(r)) {
            if (*this_side)
                return fail(p, "a partition side may hold one of this, leader, standby, "
                               "host of OP[I]");
            *this_side = true;
            *dyn = r;
        } else {
            *mask |= (SimProcMask)1 << sim_proc_ordinal(r);
        }
    }
    if (*mask == 0 && (this_side == NULL || !*this_side))
        return fail(p, "a partition side needs at least one process");
    return true;
}

static bool parse_partition(Parser *p, SimFaultAction *a) {
    a->kind = SIM_FAULT_PARTITION;
    if (!parse_side(p, &a->side_a, &a->side_a_this, &a->target))
        return false;
    if (accept(p, "|") && !parse_side(p, &a->side_b, NULL, NULL))
        return false;
    if ((a->side_a & a->side_b) != 0)
        return fail(p, "a process is on both sides of the partition");
    return expect_word(p, "for") && parse_duration(p, &a->duration_ns);
}

static bool parse_storage(Parser *p, SimFaultAction *a) {
    a->kind = SIM_FAULT_STORAGE_ERROR;
    const char *t = next(p);
    if (t != NULL && g_ascii_strcasecmp(t, "eio") == 0)
        a->storage_error = SIM_STORAGE_EIO;
    else if (t != NULL && g_ascii_strcasecmp(t, "enospc") == 0)
        a->storage_error = SIM_STORAGE_ENOSPC;
    else
        return fail(p, "expected eio or enospc after storage-error");
    if (accept(p, "on")) {
        t = next(p);
        if (t == NULL || strlen(t) >= SIM_FAULT_PREFIX_MAX)
            return fail(p, "expected a path prefix (shorter than %u bytes) after 'on'",
                        SIM_FAULT_PREFIX_MAX);
        g_strlcpy(a->prefix, t, sizeof a->prefix);
    }
    a->count = 1;
    if (accept(p, "count")) {
        uint64_t n = 0;
        if (!parse_u64_tok(p, "a count", &n))
            return false;
        if (n == 0 || n > 1000000)
            return fail(p, "count must be between 1 and 1000000");
        a->count = (uint32_t)n;
    }
    return true;
}

/* A ZooKeeper leader election lasts a few hundred ms on a small, healthy ensemble. */
#define SIM_FAULT_ZK_ELECTION_NS 300000000ull

/* pause PROC for DURATION | zk-leader-change [for DURATION]. *handled: the verb is one
 * of these. */
static bool parse_pause_or_election(Parser *p, const char *verb, bool event_trigger,
                                    SimFaultAction *a, bool *handled) {
    *handled = true;
    if (strcmp(verb, "pause") == 0) {
        a->kind = SIM_FAULT_PAUSE;
        return parse_proc(p, event_trigger, false, &a->target) && expect_word(p, "for") &&
               parse_duration(p, &a->duration_ns);
    }
    if (strcmp(verb, "zk-leader-change") == 0) {
        a->kind = SIM_FAULT_ZK_LEADER_CHANGE;
        a->duration_ns = SIM_FAULT_ZK_ELECTION_NS;
        return !accept(p, "for") || parse_duration(p, &a->duration_ns);
    }
    *handled = false;
    return false;
}

/* notify-drop | notify-duplicate | notify-delay DURATION, then [of checkpoint N]
 * [to PROC] (default: the next checkpoint notified, every task manager). */
static bool parse_notify(Parser *p, const char *verb, SimFaultAction *a) {
    a->kind = SIM_FAULT_NOTIFY;
    a->target = (SimProcRef){SIM_PROC_ANY, 0, 0};
    if (strcmp(verb, "notify-drop") == 0)
        a->notify_mode = SIM_FAULT_NOTIFY_DROP;
    else if (strcmp(verb, "notify-duplicate") == 0)
        a->notify_mode = SIM_FAULT_NOTIFY_DUPLICATE;
    else if (strcmp(verb, "notify-delay") == 0)
        a->notify_mode = SIM_FAULT_NOTIFY_DELAY;
    else
        return fail(p, "unknown action '%s': use notify-drop, notify-duplicate or "
                       "notify-delay DURATION", verb);
    if (a->notify_mode == SIM_FAULT_NOTIFY_DELAY && !parse_duration(p, &a->duration_ns))
        return false;
    if (accept(p, "of")) {
        if (!expect_word(p, "checkpoint") ||
            !parse_u64_tok(p, "a checkpoint id", &a->checkpoint_id))
            return false;
        if (a->checkpoint_id == 0)
            return fail(p, "checkpoint ids start at 1");
    }
    if (accept(p, "to")) {
        if (!parse_proc(p, true, false, &a->target))
            return false;
        if (a->target.kind == SIM_PROC_JOBMANAGER)
            return fail(p, "notifications go to task managers (worker-N), not job managers");
    }
    return true;
}

static bool parse_action(Parser *p, SimFaultAction *a) {
    const char *verb = next(p);
    if (verb == NULL)
        return fail(p, "expected an action after ':' (crash, restart, isolate, partition, "
                       "spike, storage-error)");
    if (strcmp(verb, "crash") == 0) {
        a->kind = SIM_FAULT_CRASH;
        if (!parse_proc(p, true, false, &a->target))
            return false;
        if (accept(p, "restart"))
            return expect_word(p, "after") && parse_duration(p, &a->restart_after_ns);
        return true;
    }
    if (strcmp(verb, "restart") == 0) {
        a->kind = SIM_FAULT_RESTART;
        return parse_proc(p, true, false, &a->target);
    }
    if (strcmp(verb, "isolate") == 0) {
        a->kind = SIM_FAULT_PARTITION;
        SimProcRef r;
        if (!parse_proc(p, true, false, &r))
            return false;
        if (sim_proc_is_dynamic(r)) {
            a->side_a_this = true;
            a->target = r;
        } else {
            a->side_a = (SimProcMask)1 << sim_proc_ordinal(r);
        }
        return expect_word(p, "for") && parse_duration(p, &a->duration_ns);
    }
    if (strcmp(verb, "partition") == 0)
        return parse_partition(p, a);
    if (strcmp(verb, "spike") == 0) {
        a->kind = SIM_FAULT_SPIKE;
        return parse_proc(p, true, true, &a->target) && expect_word(p, "->") &&
               parse_proc(p, true, true, &a->peer) && expect_word(p, "+") &&
               parse_duration(p, &a->latency_ns) && expect_word(p, "for") &&
               parse_duration(p, &a->duration_ns);
    }
    if (strcmp(verb, "storage-error") == 0)
        return parse_storage(p, a);
    if (strcmp(verb, "zk-expire") == 0) {
        a->kind = SIM_FAULT_ZK_EXPIRE;
        return parse_proc(p, true, false, &a->target);
    }
    if (strcmp(verb, "zk-disconnect") == 0 || strcmp(verb, "zk-partition") == 0) {
        a->kind = strcmp(verb, "zk-disconnect") == 0 ? SIM_FAULT_ZK_DISCONNECT
                                                     : SIM_FAULT_ZK_PARTITION;
        return parse_proc(p, true, false, &a->target) && expect_word(p, "for") &&
               parse_duration(p, &a->duration_ns);
    }
    if (g_str_has_prefix(verb, "notify-"))
        return parse_notify(p, verb, a);
    bool handled = false;
    bool ok = parse_pause_or_election(p, verb, true, a, &handled);
    if (handled)
        return ok;
    return fail(p, "unknown action '%s': use crash, restart, isolate, partition, spike, "
                   "storage-error, zk-expire, zk-disconnect, zk-partition, pause, "
                   "zk-leader-change, notify-drop, notify-duplicate or notify-delay",
                verb);
}

static char **tokenize(const char *text, size_t *n) {
    GString *s = g_string_new(NULL);
    for (const char *c = text; *c; c++) {
        if (c[0] == '-' && c[1] == '>') {
            g_string_append(s, " -> ");
            c++;
        } else if (*c == ':' || *c == '|' || *c == '+') {
            g_string_append_printf(s, " %c ", *c);
        } else {
            g_string_append_c(s, *c);
        }
    }
    char **raw = g_strsplit_set(s->str, " \t", -1);
    g_string_free(s, TRUE);
    GPtrArray *out = g_ptr_array_new();
    for (char **r = raw; *r != NULL; r++)
        if (**r != '\0')
            g_ptr_array_add(out, g_strdup(*r));
    g_strfreev(raw);
    *n = out->len;
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

bool sim_fault_parse(const char *name, const char *text, const SimFaultContext *ctx,
                     SimFault *out, char **why) {
    assert(name != NULL && text != NULL && ctx != NULL && out != NULL && why != NULL);
    memset(out, 0, sizeof *out);
    Parser p = {.ctx = ctx};
    p.tok = tokenize(text, &p.n);
    bool ok;
    if (accept(&p, "at")) {
        out->trigger.kind = SIM_TRIGGER_AT;
        ok = parse_duration(&p, &out->trigger.at_ns);
    } else if (accept(&p, "when")) {
        ok = parse_when(&p, &out->trigger);
    } else {
        ok = fail(&p, "a fault starts with 'at TIME:' or 'when EVENT ...:'");
    }
    p.event = out->trigger.kind == SIM_TRIGGER_EVENT;
    ok = ok && expect_word(&p, ":") && parse_action(&p, &out->action);
    if (ok && peek(&p) != NULL)
        ok = fail(&p, "unexpected '%s' after the action", peek(&p));
    g_strfreev(p.tok);
    if (!ok) {
        *why = p.why;
        memset(out, 0, sizeof *out);
        return false;
    }
    out->name = g_strdup(name);
    out->text = g_strdup(text);
    *why = NULL;
    return true;
}

void sim_fault_clear(SimFault *f) {
    if (f == NULL)
        return;
    g_free(f->name);
    g_free(f->text);
    memset(f, 0, sizeof *f);
}

SimFault *sim_fault_copy(const SimFault *f) {
    SimFault *c = g_new0(SimFault, 1);
    *c = *f;
    c->name = g_strdup(f->name);
    c->text = g_strdup(f->text);
    return c;
}

void sim_fault_free(SimFault *f) {
    sim_fault_clear(f);
    g_free(f);
}

bool sim_proc_parse(const char *text, const SimFaultContext *ctx, SimProcRef *out, char **why) {
    assert(text != NULL && ctx != NULL && out != NULL && why != NULL);
    char *tok[2] = {g_strdup(text), NULL};
    Parser p = {.tok = tok, .n = 1, .ctx = ctx};
    bool ok = parse_proc(&p, false, false, out);
    g_free(tok[0]);
    *why = p.why;
    return ok;
}

/* ---------------------------------------------------------------- random faults */

bool sim_proc_is_dynamic(SimProcRef r) {
    return r.kind == SIM_PROC_THIS || r.kind == SIM_PROC_LEADER ||
           r.kind == SIM_PROC_STANDBY || r.kind == SIM_PROC_HOST;
}

char *sim_proc_name_in(SimProcRef r, const RtJobGraph *graph) {
    switch (r.kind) {
    case SIM_PROC_JOBMANAGER: return g_strdup_printf("jobmanager-%u", r.index + 1);
    case SIM_PROC_WORKER: return g_strdup_printf("worker-%u", r.index + 1);
    case SIM_PROC_THIS: return g_strdup("this");
    case SIM_PROC_ANY: return g_strdup("*");
    case SIM_PROC_LEADER: return g_strdup("leader");
    case SIM_PROC_STANDBY: return g_strdup("standby");
    case SIM_PROC_HOST: break;
    }
    if (graph != NULL && r.op < graph->operators->len)
        return g_strdup_printf("host of %s[%u]",
                               ((RtOperatorSpec *)g_ptr_array_index(graph->operators, r.op))->name,
                               r.index);
    return g_strdup_printf("host of #%u[%u]", r.op, r.index);
}

char *sim_proc_name(SimProcRef r) {
    return sim_proc_name_in(r, NULL);
}

/* A uniformly drawn subtask of the graph, as a HOST ref (a worker that has work). */
static SimProcRef random_host(RtRng *rng, const RtJobGraph *g) {
    uint64_t n = 0;
    for (guint i = 0; i < g->operators->len; i++)
        n += ((RtOperatorSpec *)g_ptr_array_index(g->operators, i))->parallelism;
    uint64_t k = rt_rng_below(rng, n);
    for (guint i = 0; i < g->operators->len; i++) {
        uint32_t par = ((RtOperatorSpec *)g_ptr_array_index(g->operators, i))->parallelism;
        if (k < par)
            return (SimProcRef){SIM_PROC_HOST, (uint32_t)k, i};
        k -= par;
    }
    assert(false);
    return (SimProcRef){SIM_PROC_WORKER, 0, 0};
}

/* Appends "at T: ACTION" with action text built by describe. */
static void add_at(GPtrArray *faults, uint64_t at_ns, const SimFaultAction *a,
                   const char *action_text) {
    if (faults->len >= SIM_FAULT_MAX_FAULTS)
        return;
    SimFault *f = g_new0(SimFault, 1);
    f->name = g_strdup_printf("random-%u", faults->len + 1);
    f->text = g_strdup_printf("at %" G_GUINT64_FORMAT " ns: %s", at_ns, action_text);
    f->trigger.kind = SIM_TRIGGER_AT;
    f->trigger.at_ns = at_ns;
    f->action = *a;
    g_ptr_array_add(faults, f);
}


static void make_random(SimRandomKind kind, RtRng *rng, const SimRandomFaults *rf,
                        const SimFaultContext *ctx, SimFaultAction *a, GString *text) {
    memset(a, 0, sizeof *a);
    bool graph = ctx->graph != NULL && ctx->graph->operators != NULL &&
                 ctx->graph->operators->len > 0;
    SimProcRef r = graph
                       ? random_host(rng, ctx->graph)
                       : (SimProcRef){SIM_PROC_WORKER, (uint32_t)rt_rng_below(rng, ctx->n_workers), 0};
    char *name = NULL;
    switch (kind) {
    case SIM_RANDOM_JOBMANAGER_CRASH:
        r = graph ? (SimProcRef){SIM_PROC_LEADER, 0, 0}
                               : (SimProcRef){SIM_PROC_JOBMANAGER,
                                              (uint32_t)rt_rng_below(rng, ctx->n_jobmanagers), 0};
        /* fall through */
    case SIM_RANDOM_CRASH:
        a->kind = SIM_FAULT_CRASH;
        a->target = r;
        a->restart_after_ns = rf->restart_after_ns;
        name = sim_proc_name_in(r, ctx->graph);
        g_string_printf(text, "crash %s restart after %" G_GUINT64_FORMAT " ns", name,
                        a->restart_after_ns);
        break;
    case SIM_RANDOM_SPIKE:
        a->kind = SIM_FAULT_SPIKE;
        a->target = r;
        a->peer = (SimProcRef){SIM_PROC_ANY, 0, 0};
        a->latency_ns = rf->spike_latency_ns;
        a->duration_ns = rf->spike_duration_ns;
        name = sim_proc_name_in(r, ctx->graph);
        g_string_printf(text, "spike %s -> * + %" G_GUINT64_FORMAT " ns for %" G_GUINT64_FORMAT
                        " ns", name, a->latency_ns, a->duration_ns);
        break;
    case SIM_RANDOM_PARTITION:
        a->kind = SIM_FAULT_PARTITION;
        if (sim_proc_is_dynamic(r)) {
            a->side_a_this = true;
            a->target = r;
        } else {
            a->side_a = (SimProcMask)1 << sim_proc_ordinal(r);
        }
        a->duration_ns = rf->partition_duration_ns;
        name = sim_proc_name_in(r, ctx->graph);
        g_string_printf(text, "isolate %s for %" G_GUINT64_FORMAT " ns", name, a->duration_ns);
        break;
    case SIM_RANDOM_STORAGE_ERROR:
        a->kind = SIM_FAULT_STORAGE_ERROR;
        a->storage_error = SIM_STORAGE_EIO;
        a->count = 1;
        g_string_printf(text, "storage-error eio count 1");
        break;
    case SIM_RANDOM_ZK_EXPIRE: {
        /* With a graph: a job manager (they hold the HA sessions); else any process. */
        uint32_t p = (uint32_t)rt_rng_below(rng, ctx->n_jobmanagers +
                                                     (graph ? 0 : ctx->n_workers));
        a->kind = SIM_FAULT_ZK_EXPIRE;
        a->target = p < ctx->n_jobmanagers
                        ? (SimProcRef){SIM_PROC_JOBMANAGER, p, 0}
                        : (SimProcRef){SIM_PROC_WORKER, p - ctx->n_jobmanagers, 0};
        name = sim_proc_name(a->target);
        g_string_printf(text, "zk-expire %s", name);
        break;
    }
    case SIM_RANDOM_N_KINDS:
        assert(false);
        break;
    }
    g_free(name);
}

static const char *const random_kind_names[SIM_RANDOM_N_KINDS] = {
    "crash", "jobmanager-crash", "spike", "partition", "storage-error", "zk-expire",
};

const char *sim_random_kind_name(SimRandomKind kind) {
    assert(kind < SIM_RANDOM_N_KINDS);
    return random_kind_names[kind];
}

static double random_rate(const SimRandomFaults *rf, SimRandomKind kind) {
    switch (kind) {
    case SIM_RANDOM_CRASH:
        return rf->crash_rate;
    case SIM_RANDOM_JOBMANAGER_CRASH:
        return rf->jobmanager_crash_rate;
    case SIM_RANDOM_SPIKE:
        return rf->spike_rate;
    case SIM_RANDOM_PARTITION:
        return rf->partition_rate;
    case SIM_RANDOM_STORAGE_ERROR:
        return rf->storage_error_rate;
    case SIM_RANDOM_ZK_EXPIRE:
        return rf->zk_expire_rate;
    case SIM_RANDOM_N_KINDS:
        break;
    }
    assert(false);
    return 0;
}

uint32_t sim_random_faults_configured(const SimRandomFaults *rf) {
    assert(rf != NULL);
    uint32_t mask = 0;
    for (uint32_t k = 0; k < SIM_RANDOM_N_KINDS; k++)
        if (random_rate(rf, (SimRandomKind)k) > 0)
            mask |= 1u << k;
    return mask;
}

/* A kind drawn uniformly among the bits of mask (non-empty), from the stream named
 * stream of seed; *rng_out (if not NULL) continues that stream. */
static uint32_t nth_kind(uint32_t mask, uint64_t seed, const char *stream, RtRng *rng_out) {
    assert(mask != 0);
    RtRng rng;
    rt_rng_seed_stream(&rng, seed, stream);
    uint64_t nth = rt_rng_below(&rng, (uint64_t)__builtin_popcount(mask));
    uint32_t k = 0;
    for (; k < SIM_RANDOM_N_KINDS; k++)
        if ((mask & (1u << k)) != 0 && nth-- == 0)
            break;
    if (rng_out != NULL)
        *rng_out = rng;
    return k;
}

uint32_t sim_random_faults_enabled(const SimRandomFaults *rf, uint64_t seed) {
    uint32_t mask = sim_random_faults_configured(rf);
    if (!rf->swarm)
        return mask;
    for (uint32_t k = 0; k < SIM_RANDOM_N_KINDS; k++) {
        if ((mask & (1u << k)) == 0)
            continue;
        char *stream = g_strdup_printf("faults/swarm/%s", random_kind_names[k]);
        RtRng rng;
        rt_rng_seed_stream(&rng, seed, stream);
        g_free(stream);
        if (rt_rng_below(&rng, 2) == 0)
            mask &= ~(1u << k);
    }
    if (mask == 0)
        mask = 1u << nth_kind(sim_random_faults_configured(rf), seed, "faults/swarm/any", NULL);
    return mask;
}

/* The anchor: one more fault of a kind drawn among the enabled ones, fired on the first
 * record a source emits at or after a time drawn uniformly in the window (both from the
 * stream "faults/random/any"). Sources emit only while an attempt runs, so it lands on a
 * working job even when the timed faults all fell into restarts. */
static void add_anchor(GPtrArray *faults, const SimRandomFaults *rf, uint64_t seed,
                       uint64_t from_ns, uint64_t to_ns, const SimFaultContext *ctx,
                       uint32_t on, GString *text) {
    if (faults->len >= SIM_FAULT_MAX_FAULTS)
        return;
    RtRng rng;
    uint32_t k = nth_kind(on, seed, "faults/random/any", &rng);
    uint64_t after_ns = from_ns + rt_rng_below(&rng, to_ns - from_ns);
    SimFault *f = g_new0(SimFault, 1);
    make_random((SimRandomKind)k, &rng, rf, ctx, &f->action, text);
    f->name = g_strdup_printf("random-%u", faults->len + 1);
    f->text = g_strdup_printf("when record_emit after %" G_GUINT64_FORMAT " ns: %s", after_ns,
                              text->str);
    f->trigger = (SimFaultTrigger){.kind = SIM_TRIGGER_EVENT, .event = RT_EV_RECORD_EMIT,
                                   .op = -1, .index = -1, .nth = 1, .after_ns = after_ns};
    g_ptr_array_add(faults, f);
}

void sim_fault_plan_add_random(GPtrArray *faults, const SimRandomFaults *rf, uint64_t seed,
                               uint64_t stop_ns, const SimFaultContext *ctx) {
    sim_fault_plan_add_random_window(faults, rf, seed, 0, stop_ns, ctx);
}

void sim_fault_plan_add_random_window(GPtrArray *faults, const SimRandomFaults *rf,
                                      uint64_t seed, uint64_t from_ns, uint64_t to_ns,
                                      const SimFaultContext *ctx) {
    assert(faults != NULL && rf != NULL && ctx != NULL);
    uint32_t on = sim_random_faults_enabled(rf, seed);
    if (on == 0 || from_ns >= to_ns)
        return;
    GString *text = g_string_new(NULL);
    for (uint32_t k = 0; k < SIM_RANDOM_N_KINDS; k++) {
        if ((on & (1u << k)) == 0)
            continue;
        double rate = random_rate(rf, (SimRandomKind)k);
        char *stream = g_strdup_printf("faults/random/%s", random_kind_names[k]);
        RtRng rng;
        rt_rng_seed_stream(&rng, seed, stream);
        g_free(stream);
        double t_s = (double)from_ns / 1e9;
        for (uint32_t i = 0; i < SIM_FAULT_MAX_FAULTS; i++) {
            /* Poisson arrivals: exponential gaps with mean 1 / rate seconds. */
            t_s += -log(1.0 - rt_rng_double(&rng)) / rate;
            uint64_t at_ns = (uint64_t)(t_s * 1e9);
            if (t_s * 1e9 >= (double)to_ns)
                break;
            SimFaultAction a;
            make_random((SimRandomKind)k, &rng, rf, ctx, &a, text);
            add_at(faults, at_ns, &a, text->str);
        }
    }
    add_anchor(faults, rf, seed, from_ns, to_ns, ctx, on, text);
    g_string_free(text, TRUE);
}
