/* sim_coverage.c - the coverage tracker and invariant (sim_coverage.h): the job's state
 * as seen from the observation stream, role resolution, and per-fault effectiveness. */
#include "sim/harness/sim_coverage.h"

#include <assert.h>
#include <string.h>

#include "runtime/coord/rt_coord.h"
#include "sim/harness/sim_oracle.h"

typedef struct FaultCov {
    const SimFault *f;      /* borrowed */
    uint32_t number;
    bool random;
    bool fired, judged, effective;
    uint64_t fired_ns, end_ns;
    char *why;              /* owned */
    bool working_crash;     /* an effective crash: a restart must follow */
    /* judged later: */
    bool await_traffic;     /* PARTITION / SPIKE: traffic on its links by end_ns */
    uint64_t traffic_base;
    uint32_t target, peer;
    uint64_t side_a;
    bool await_notify;      /* NOTIFY: some notification was dropped, duplicated or
                               delayed after it was armed, by the end of the run (the
                               network counts them for all rules together) */
    uint64_t notify_base;
    bool await_storage;     /* STORAGE_ERROR: the rule failed an operation by the end */
    uint64_t storage_rule;
} FaultCov;

struct SimCoverage {
    const RtJobGraph *g;
    SimCoverageParams p;
    SimCoverageWorld w;
    uint32_t n_proc, n_subtasks;
    uint32_t *host;         /* per global subtask: the worker of the current attempt */
    uint32_t *last_host;    /* per global subtask: the worker of the latest attempt that
                               placed it (kept across restarts, for role resolution) */
    bool *alive, *session;
    uint32_t leader;        /* SIM_COVERAGE_NONE: nobody leads */
    uint32_t attempt;       /* latest attempt the leader deployed (0: none yet) */
    bool attempt_live;      /* deployed, not failed over, not finished */
    bool finished;
    uint64_t emits;
    GArray *leaders;        /* SimLeaderChange */
    GArray *restart_times;  /* uint64_t: when each restart's attempt was deployed */
    GArray *completes;      /* uint64_t: times of RT_EV_CKPT_COMPLETE */
    GHashTable *ended;      /* checkpoint ids completed or aborted (gint64 keys) */
    GArray *faults;         /* FaultCov */
};

/* ------------------------------------------------------------------ lifecycle */

SimCoverage *sim_coverage_new(const RtJobGraph *graph, const SimCoverageParams *params,
                              const SimCoverageWorld *world) {
    assert(graph != NULL && params != NULL && world != NULL);
    SimCoverage *c = g_new0(SimCoverage, 1);
    c->g = graph;
    c->p = *params;
    c->w = *world;
    c->n_proc = params->n_jobmanagers + params->n_workers;
    c->n_subtasks = rt_job_graph_n_subtasks(graph);
    c->host = g_new(uint32_t, MAX(c->n_subtasks, 1u));
    c->last_host = g_new(uint32_t, MAX(c->n_subtasks, 1u));
    for (uint32_t i = 0; i < c->n_subtasks; i++)
        c->host[i] = c->last_host[i] = SIM_COVERAGE_NONE;
    c->alive = g_new(bool, c->n_proc);
    c->session = g_new0(bool, c->n_proc);
    for (uint32_t i = 0; i < c->n_proc; i++)
        c->alive[i] = true;
    c->leaders = g_array_new(FALSE, FALSE, sizeof(SimLeaderChange));
    c->restart_times = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    c->completes = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    c->ended = g_hash_table_new(g_int64_hash, g_int64_equal);
    c->faults = g_array_new(FALSE, TRUE, sizeof(FaultCov));
    c->leader = SIM_COVERAGE_NONE;
    if (!params->ha && params->n_jobmanagers > 0) { /* jobmanager-1 leads while it is up */
        c->leader = 0;
        g_array_append_val(c->leaders, ((SimLeaderChange){0, 0}));
    }
    return c;
}

static void ended_free_keys(gpointer key, gpointer value, gpointer ud) {
    (void)value;
    (void)ud;
    g_free(key);
}

void sim_coverage_free(SimCoverage *c) {
    if (c == NULL)
        return;
    for (guint i = 0; i < c->faults->len; i++)
        g_free(g_array_index(c->faults, FaultCov, i).why);
    g_array_free(c->faults, TRUE);
    g_hash_table_foreach(c->ended, ended_free_keys, NULL);
    g_hash_table_destroy(c->ended);
    g_array_free(c->leaders, TRUE);
    g_array_free(c->restart_times, TRUE);
    g_array_free(c->completes, TRUE);
    g_free(c->host);
    g_free(c->last_host);
    g_free(c->alive);
    g_free(c->session);
    g_free(c);
}

uint32_t sim_coverage_add_fault(SimCoverage *c, const SimFault *f, uint32_t number,
                                bool random) {
    FaultCov fc = {.f = f, .number = number, .random = random};
    g_array_append_val(c->faults, fc);
    return c->faults->len - 1;
}

uint64_t sim_coverage_restarts(const SimCoverage *c) {
    return c->restart_times->len;
}

/* ------------------------------------------------------------------ the job's state */

static bool is_jm(const SimCoverage *c, uint32_t pid) {
    return pid < c->p.n_jobmanagers;
}

static void set_leader(SimCoverage *c, uint32_t pid, uint64_t now) {
    c->leader = pid;
    if (pid != SIM_COVERAGE_NONE)
        g_array_append_val(c->leaders, ((SimLeaderChange){now, pid}));
}

static void clear_hosts(SimCoverage *c, uint32_t worker) {
    for (uint32_t i = 0; i < c->n_subtasks; i++)
        if (worker == SIM_COVERAGE_NONE || c->host[i] == worker)
            c->host[i] = SIM_COVERAGE_NONE;
}

static int64_t subtask_slot(const SimCoverage *c, RtSubtaskId s) {
    if (s.op >= c->g->operators->len)
        return -1;
    const RtOperatorSpec *op = g_ptr_array_index(c->g->operators, s.op);
    if (s.index >= op->parallelism)
        return -1;
    return (int64_t)rt_job_graph_subtask_base(c->g, s.op) + s.index;
}

/* RT_EV_RESTORE: from the leader when it deploys (b = the worker), from the subtask when
 * its state is back. Each new attempt the leader deploys after the first is a restart. */
static void on_restore(SimCoverage *c, const RtEvent *ev) {
    int64_t slot = subtask_slot(c, ev->subtask);
    if (slot < 0)
        return;
    if (!is_jm(c, ev->process)) {
        if (ev->attempt == c->attempt && c->alive[ev->process])
            c->host[slot] = c->last_host[slot] = ev->process;
        return;
    }
    if (ev->process != c->leader || ev->attempt < c->attempt)
        return;
    if (ev->attempt > c->attempt) {
        if (c->attempt != 0)
            g_array_append_val(c->restart_times, ev->time_ns);
        c->attempt = ev->attempt;
        c->attempt_live = true;
        clear_hosts(c, SIM_COVERAGE_NONE);
    }
    if (ev->b < c->n_proc && !is_jm(c, (uint32_t)ev->b))
        c->host[slot] = c->last_host[slot] = (uint32_t)ev->b;
}

static void on_crash(SimCoverage *c, uint32_t pid) {
    c->alive[pid] = false;
    c->session[pid] = false;
    if (pid == c->leader)
        c->leader = SIM_COVERAGE_NONE;
    if (!is_jm(c, pid))
        clear_hosts(c, pid);
}

static void on_checkpoint_end(SimCoverage *c, const RtEvent *ev) {
    gint64 id = (gint64)ev->checkpoint_id;
    if (!g_hash_table_contains(c->ended, &id))
        g_hash_table_add(c->ended, g_memdup2(&id, sizeof id));
    if (ev->kind == RT_EV_CKPT_COMPLETE)
        g_array_append_val(c->completes, ev->time_ns);
}

static void judge_traffic(SimCoverage *c, FaultCov *fc);

static void track(SimCoverage *c, const RtEvent *ev) {
    uint32_t pid = ev->process;
    bool known = pid < c->n_proc;
    switch (ev->kind) {
    case RT_EV_RECORD_EMIT: c->emits++; break;
    case RT_EV_RESTORE: if (known) on_restore(c, ev); break;
    case RT_EV_FAILOVER:
        if (pid == c->leader && ev->a == c->attempt)
            c->attempt_live = false; /* the leader cancels the attempt */
        break;
    case RT_EV_JOB_FINISHED:
    case RT_EV_JOB_FAILED:
        if (pid == c->leader) {
            c->finished = true;
            c->attempt_live = false;
        }
        break;
    case RT_EV_LEADER_GAINED: if (known && c->p.ha) set_leader(c, pid, ev->time_ns); break;
    case RT_EV_LEADER_LOST:
        if (pid == c->leader && c->p.ha)
            c->leader = SIM_COVERAGE_NONE;
        break;
    case RT_EV_COORD_SESSION:
        if (known)
            c->session[pid] = ev->a == RT_COORD_CONNECTED || ev->a == RT_COORD_SUSPENDED;
        break;
    case RT_EV_CKPT_COMPLETE:
    case RT_EV_CKPT_ABORT: if (known && is_jm(c, pid)) on_checkpoint_end(c, ev); break;
    case RT_EV_WORLD_CRASH: if (known) on_crash(c, pid); break;
    case RT_EV_WORLD_RESTART:
        if (known) {
            c->alive[pid] = true;
            if (!c->p.ha && pid == 0)
                set_leader(c, 0, ev->time_ns);
        }
        break;
    default: break;
    }
}

void sim_coverage_event(SimCoverage *c, const RtEvent *ev) {
    assert(c != NULL && ev != NULL);
    track(c, ev);
    for (guint i = 0; i < c->faults->len; i++) {
        FaultCov *fc = &g_array_index(c->faults, FaultCov, i);
        if (fc->await_traffic && ev->time_ns >= fc->end_ns)
            judge_traffic(c, fc);
    }
}

/* ------------------------------------------------------------------ roles */

uint32_t sim_coverage_resolve(const SimCoverage *c, SimProcRef ref, uint32_t this_pid) {
    switch (ref.kind) {
    case SIM_PROC_JOBMANAGER: return ref.index;
    case SIM_PROC_WORKER: return c->p.n_jobmanagers + ref.index;
    case SIM_PROC_THIS: return this_pid < c->n_proc ? this_pid : SIM_COVERAGE_NONE;
    case SIM_PROC_ANY: return SIM_NET_ANY;
    case SIM_PROC_LEADER: return c->leader;
    case SIM_PROC_STANDBY:
        for (uint32_t j = 0; j < c->p.n_jobmanagers; j++)
            if (j != c->leader && c->alive[j])
                return j;
        return SIM_COVERAGE_NONE;
    case SIM_PROC_HOST: { /* between attempts: the live worker that hosted it last */
        int64_t slot = subtask_slot(c, (RtSubtaskId){(uint16_t)ref.op, (uint16_t)ref.index});
        if (slot < 0)
            return SIM_COVERAGE_NONE;
        if (c->host[slot] != SIM_COVERAGE_NONE)
            return c->host[slot];
        uint32_t last = c->last_host[slot];
        return last != SIM_COVERAGE_NONE && c->alive[last] ? last : SIM_COVERAGE_NONE;
    }
    }
    return SIM_COVERAGE_NONE;
}

/* ------------------------------------------------------------------ judging */

static char *proc_name(const SimCoverage *c, uint32_t pid) {
    if (pid == SIM_NET_ANY)
        return g_strdup("*");
    if (is_jm(c, pid))
        return g_strdup_printf("jobmanager-%u", pid + 1);
    return g_strdup_printf("worker-%u", pid - c->p.n_jobmanagers + 1);
}

/* Appends the subtasks pid hosts in the running attempt to s; returns how many. */
static uint32_t hosted(const SimCoverage *c, uint32_t pid, GString *s) {
    uint32_t n = 0;
    if (!c->attempt_live || c->finished)
        return 0;
    for (guint op = 0; op < c->g->operators->len; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(c->g->operators, op);
        uint32_t base = rt_job_graph_subtask_base(c->g, op);
        for (uint32_t i = 0; i < spec->parallelism; i++)
            if (c->host[base + i] == pid && n++ < 4 && s != NULL)
                g_string_append_printf(s, "%s%s[%u]", n > 1 ? "," : "", spec->name, i);
    }
    return n;
}

/* Whether pid does work now: the leader, or a worker hosting a running subtask. */
static bool works(const SimCoverage *c, uint32_t pid, GString *what) {
    if (pid >= c->n_proc || !c->alive[pid])
        return false;
    if (is_jm(c, pid)) {
        if (pid == c->leader && !c->finished && what != NULL)
            g_string_append(what, "the leader");
        return pid == c->leader && !c->finished;
    }
    GString *subs = g_string_new(NULL);
    uint32_t n = hosted(c, pid, subs);
    if (n > 0 && what != NULL)
        g_string_append_printf(what, "hosting %s%s of attempt %u", subs->str,
                               n > 4 ? ",..." : "", c->attempt);
    g_string_free(subs, TRUE);
    return n > 0;
}

/* Checkpoint-phase trigger events: the checkpoint must still be in flight when the fault
 * lands, or the fault hit another phase than the one it names. */
static bool in_flight_event(RtEventKind k) {
    switch (k) {
    case RT_EV_CKPT_TRIGGER: case RT_EV_CKPT_ACK: case RT_EV_BARRIER_RECEIVED:
    case RT_EV_ALIGN_START: case RT_EV_ALIGN_END: case RT_EV_SNAPSHOT_SYNC:
    case RT_EV_SNAPSHOT_PERSISTED: case RT_EV_TXN_PRECOMMIT: case RT_EV_CKPT_ID_ISSUED:
        return true;
    default:
        return false;
    }
}

static void verdict(FaultCov *fc, bool effective, char *why) {
    fc->judged = true;
    fc->effective = effective;
    g_free(fc->why);
    fc->why = why;
}

static uint64_t traffic(const SimCoverage *c, const FaultCov *fc) {
    uint64_t sum = 0;
    if (c->w.net == NULL)
        return 0;
    bool spike = fc->f->action.kind == SIM_FAULT_SPIKE;
    for (uint32_t a = 0; a < c->w.n_processes && a < 64; a++)
        for (uint32_t b = 0; b < c->w.n_processes && b < 64; b++) {
            bool hit = spike ? (fc->target == SIM_NET_ANY || fc->target == a) &&
                                   (fc->peer == SIM_NET_ANY || fc->peer == b)
                             : ((fc->side_a >> a) & 1u) || ((fc->side_a >> b) & 1u);
            if (a == b || !hit)
                continue;
            SimNetLinkStats st;
            sim_net_link_stats(c->w.net, a, b, &st);
            sum += st.msgs_sent;
        }
    return sum;
}

static void judge_traffic(SimCoverage *c, FaultCov *fc) {
    fc->await_traffic = false;
    uint64_t n = traffic(c, fc) - fc->traffic_base;
    if (n > 0)
        verdict(fc, true, g_strdup_printf("%s, %" G_GUINT64_FORMAT " messages on its links "
                                          "during the interval", fc->why, n));
    else
        verdict(fc, false, g_strdup("no message crossed its links during the interval"));
}

static void judge_crash(SimCoverage *c, FaultCov *fc, uint32_t t, const char *name) {
    GString *what = g_string_new(NULL);
    if (!c->alive[t])
        verdict(fc, false, g_strdup_printf("%s was already down", name));
    else if (works(c, t, what))
        verdict(fc, true, g_strdup_printf("crashed %s, %s", name, what->str));
    else if (is_jm(c, t))
        verdict(fc, false, g_strdup_printf("%s did not lead", name));
    else
        verdict(fc, false, g_strdup_printf("%s was idle: it hosted no running subtask%s", name,
                                           c->finished ? " (the job had finished)" : ""));
    fc->working_crash = fc->effective;
    g_string_free(what, TRUE);
}

/* Links: effective when messages cross them during the interval (sent, or stalled by a
 * partition), judged at its end (judge_traffic); nothing once the job has finished. */
static void judge_links(SimCoverage *c, FaultCov *fc, const SimFaultFiring *x) {
    GString *what = g_string_new(NULL);
    if (fc->f->action.kind == SIM_FAULT_SPIKE) {
        if (!works(c, x->target, what))
            works(c, x->peer, what);
    } else {
        for (uint32_t p = 0; p < c->n_proc && p < 64 && what->len == 0; p++)
            if ((x->side_a >> p) & 1u)
                works(c, p, what);
    }
    if (c->finished) {
        verdict(fc, false, g_strdup("the job had finished"));
    } else {
        fc->await_traffic = true;
        fc->target = x->target;
        fc->peer = x->peer;
        fc->side_a = x->side_a;
        fc->traffic_base = traffic(c, fc);
        g_free(fc->why);
        fc->why = g_strdup(what->len > 0 ? what->str : "between attempts");
    }
    g_string_free(what, TRUE);
}

/* What fault kind k must hit to be effective. A new kind adds its case here. */
static void judge_fired(SimCoverage *c, FaultCov *fc, const SimFaultFiring *x) {
    const SimFaultAction *a = &fc->f->action;
    char *name = proc_name(c, x->target);
    switch (a->kind) {
    case SIM_FAULT_CRASH: judge_crash(c, fc, x->target, name); break;
    case SIM_FAULT_RESTART:
        verdict(fc, !c->alive[x->target], g_strdup_printf(
                    c->alive[x->target] ? "%s was not down" : "restarted %s", name));
        break;
    case SIM_FAULT_PARTITION:
    case SIM_FAULT_SPIKE: judge_links(c, fc, x); break;
    case SIM_FAULT_STORAGE_ERROR: fc->await_storage = true; break;
    case SIM_FAULT_ZK_EXPIRE: break; /* sim_coverage_fault_applied: sessions expired */
    case SIM_FAULT_ZK_DISCONNECT:
    case SIM_FAULT_ZK_PARTITION:
        verdict(fc, c->session[x->target],
                g_strdup_printf(c->session[x->target] ? "%s held a ZooKeeper session"
                                                      : "%s held no ZooKeeper session",
                                name));
        break;
    case SIM_FAULT_PAUSE: {
        /* A pause is effective on a process that does work (as a crash). */
        GString *what = g_string_new(NULL);
        bool w = works(c, x->target, what);
        verdict(fc, w, w ? g_strdup_printf("paused %s, %s", name, what->str)
                         : g_strdup_printf("%s did no work when paused", name));
        g_string_free(what, TRUE);
        break;
    }
    case SIM_FAULT_NOTIFY:
        fc->await_notify = true;
        fc->notify_base = c->w.net != NULL ? sim_net_notify_applied(c->w.net) : 0;
        break;
    case SIM_FAULT_ZK_LEADER_CHANGE: {
        /* Effective when some process held a ZooKeeper session: all of them drop. */
        bool any = false;
        for (uint32_t p = 0; p < c->n_proc; p++)
            any = any || (c->alive[p] && c->session[p]);
        verdict(fc, any, g_strdup(any ? "every ZooKeeper session lost its connection"
                                      : "no process held a ZooKeeper session"));
        break;
    }
    }
    g_free(name);
}

static bool unresolved(const SimFaultAction *a, const SimFaultFiring *x) {
    switch (a->kind) {
    case SIM_FAULT_PARTITION: return x->side_a == 0;
    case SIM_FAULT_SPIKE: return x->target == SIM_COVERAGE_NONE || x->peer == SIM_COVERAGE_NONE;
    case SIM_FAULT_STORAGE_ERROR:
    case SIM_FAULT_ZK_LEADER_CHANGE: return false;
    case SIM_FAULT_NOTIFY: return a->target.kind != SIM_PROC_ANY && x->target == SIM_COVERAGE_NONE;
    default: return x->target == SIM_COVERAGE_NONE;
    }
}

static uint64_t fault_end(const SimFaultAction *a, uint64_t now) {
    switch (a->kind) {
    case SIM_FAULT_CRASH: return now + a->restart_after_ns;
    case SIM_FAULT_PARTITION:
    case SIM_FAULT_SPIKE:
    case SIM_FAULT_ZK_DISCONNECT:
    case SIM_FAULT_ZK_PARTITION:
    case SIM_FAULT_PAUSE:
    case SIM_FAULT_ZK_LEADER_CHANGE: return now + a->duration_ns;
    default: return now;
    }
}

void sim_coverage_fault_fired(SimCoverage *c, uint32_t i, SimFaultFiring *x) {
    assert(i < c->faults->len);
    FaultCov *fc = &g_array_index(c->faults, FaultCov, i);
    const SimFaultTrigger *t = &fc->f->trigger;
    fc->fired = true;
    fc->fired_ns = x->now_ns;
    fc->end_ns = fault_end(&fc->f->action, x->now_ns);
    gint64 ck = (gint64)x->trigger_ckpt;
    if (unresolved(&fc->f->action, x)) {
        char *who = sim_proc_name_in(fc->f->action.target, c->g);
        verdict(fc, false, g_strdup_printf("%s resolved to no process", who));
        g_free(who);
    } else if (t->kind == SIM_TRIGGER_EVENT && in_flight_event(t->event) && ck != 0 &&
               g_hash_table_contains(c->ended, &ck)) {
        verdict(fc, false, g_strdup_printf("checkpoint %" G_GINT64_FORMAT " had already "
                                           "completed or aborted when it landed", ck));
    } else {
        judge_fired(c, fc, x);
    }
}

uint64_t sim_coverage_quiet_since(const SimCoverage *c) {
    uint64_t quiet = 0;
    for (guint i = 0; i < c->faults->len; i++) {
        const FaultCov *fc = &g_array_index(c->faults, FaultCov, i);
        if (fc->fired && fc->end_ns > quiet)
            quiet = fc->end_ns;
    }
    return quiet;
}

void sim_coverage_fault_applied(SimCoverage *c, uint32_t i, const SimFaultFiring *x) {
    FaultCov *fc = &g_array_index(c->faults, FaultCov, i);
    if (fc->judged || !fc->fired)
        return;
    if (fc->f->action.kind == SIM_FAULT_ZK_EXPIRE) {
        char *name = proc_name(c, x->target);
        verdict(fc, x->zk_expired > 0,
                x->zk_expired > 0 ? g_strdup_printf("expired %u session(s) of %s",
                                                    x->zk_expired, name)
                                  : g_strdup_printf("%s held no ZooKeeper session", name));
        g_free(name);
    } else if (fc->f->action.kind == SIM_FAULT_STORAGE_ERROR) {
        fc->storage_rule = x->storage_rule;
    }
}

/* ------------------------------------------------------------------ the verdict */

static void close_open(SimCoverage *c, FaultCov *fc) {
    if (fc->await_traffic)
        judge_traffic(c, fc);
    if (fc->await_notify) {
        fc->await_notify = false;
        uint64_t n = c->w.net != NULL ? sim_net_notify_applied(c->w.net) - fc->notify_base : 0;
        verdict(fc, n > 0,
                n > 0 ? g_strdup_printf("%" G_GUINT64_FORMAT " checkpoint-complete "
                                        "notification(s) affected", n)
                      : g_strdup("no checkpoint-complete notification matched it"));
    }
    if (fc->await_storage) {
        fc->await_storage = false;
        uint32_t hits = c->w.storage != NULL
                            ? sim_storage_fail_rule_hits(c->w.storage, fc->storage_rule)
                            : 0;
        verdict(fc, hits > 0,
                hits > 0 ? g_strdup_printf("failed %u storage operation(s)", hits)
                         : g_strdup("no storage operation matched it"));
    }
    if (!fc->fired && fc->why == NULL)
        fc->why = g_strdup(fc->f->trigger.kind == SIM_TRIGGER_AT
                               ? "never fired: the run ended (or faults stopped) before its time"
                               : "never fired: its trigger event never came before "
                                 "faults-stop-at");
    if (fc->fired && !fc->judged)
        verdict(fc, true, g_strdup("fired while the job ran"));
}

static void violate(GPtrArray *v, uint64_t t, const char *fault, char *msg) {
    g_ptr_array_add(v, sim_violation_new(SIM_RUN_INVARIANT_COVERAGE, msg, t, 0, fault));
    g_free(msg);
}

static bool restarted_after(const SimCoverage *c, uint64_t t) {
    for (guint i = 0; i < c->restart_times->len; i++)
        if (g_array_index(c->restart_times, uint64_t, i) >= t)
            return true;
    return false;
}

static void fault_violations(SimCoverage *c, uint64_t end_ns, GPtrArray *v) {
    uint32_t n_random = 0, random_effective = 0;
    for (guint i = 0; i < c->faults->len; i++) {
        FaultCov *fc = &g_array_index(c->faults, FaultCov, i);
        if (fc->random) {
            n_random++;
            random_effective += fc->effective;
        } else if (!fc->effective) {
            violate(v, fc->fired ? fc->fired_ns : end_ns, fc->f->name,
                    g_strdup_printf("fault %s (%s) %s%s", fc->f->name, fc->f->text,
                                    fc->fired ? "fired with no effect: " : "", fc->why));
        }
        if (fc->working_crash && !restarted_after(c, fc->fired_ns))
            violate(v, fc->fired_ns, fc->f->name,
                    g_strdup_printf("fault %s crashed a working process but the job never "
                                    "restarted (no restore after it)", fc->f->name));
    }
    if (n_random > 0 && random_effective == 0)
        violate(v, end_ns, NULL, g_strdup_printf("none of the %u random faults was effective",
                                                 n_random));
}

/* After the end of the last effective fault a checkpoint must complete within the bound. */
static void liveness_after_faults(SimCoverage *c, GPtrArray *v) {
    const FaultCov *last = NULL;
    for (guint i = 0; i < c->faults->len; i++) {
        const FaultCov *fc = &g_array_index(c->faults, FaultCov, i);
        if (fc->effective && (last == NULL || fc->end_ns > last->end_ns))
            last = fc;
    }
    if (last == NULL || !c->p.checkpointing)
        return;
    for (guint i = 0; i < c->completes->len; i++) {
        uint64_t t = g_array_index(c->completes, uint64_t, i);
        if (t > last->end_ns && t <= last->end_ns + c->p.liveness_bound_ns)
            return;
    }
    violate(v, last->end_ns, last->f->name,
            g_strdup_printf("no checkpoint completed within liveness-bound %.3f s after the "
                            "last effective fault (%s) ended at t=%.3f s%s",
                            (double)c->p.liveness_bound_ns / 1e9, last->f->name,
                            (double)last->end_ns / 1e9,
                            c->finished ? ": the job finished first (lengthen the job)" : ""));
}

static void run_violations(SimCoverage *c, uint64_t end_ns, GPtrArray *v) {
    fault_violations(c, end_ns, v);
    if (c->emits == 0)
        violate(v, end_ns, NULL, g_strdup("no record was emitted: the run exercised nothing"));
    if (c->p.checkpointing && c->completes->len == 0)
        violate(v, end_ns, NULL, g_strdup("no checkpoint completed although checkpointing "
                                          "is configured"));
    liveness_after_faults(c, v);
}

void sim_coverage_finish(SimCoverage *c, uint64_t end_ns, bool checks, GPtrArray *violations,
                         SimCoverageReport *out) {
    assert(c != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    for (guint i = 0; i < c->faults->len; i++)
        close_open(c, &g_array_index(c->faults, FaultCov, i));
    if (checks && violations != NULL)
        run_violations(c, end_ns, violations);
    out->n_faults = c->faults->len;
    out->faults = g_new0(SimFaultReport, MAX(c->faults->len, 1u));
    for (guint i = 0; i < c->faults->len; i++) {
        const FaultCov *fc = &g_array_index(c->faults, FaultCov, i);
        out->faults[i] = (SimFaultReport){g_strdup(fc->f->name), g_strdup(fc->f->text),
                                          fc->number, fc->random, fc->fired, fc->fired_ns,
                                          fc->effective, g_strdup(fc->why)};
        out->fired += fc->fired;
        out->effective += fc->effective;
    }
    out->restarts = c->restart_times->len;
    out->n_leaders = c->leaders->len;
    out->leaders = g_new0(SimLeaderChange, MAX(c->leaders->len, 1u));
    memcpy(out->leaders, c->leaders->data, sizeof(SimLeaderChange) * c->leaders->len);
    out->leader_changes = c->leaders->len > 0 ? c->leaders->len - 1 : 0;
}

void sim_coverage_report_clear(SimCoverageReport *r) {
    if (r == NULL)
        return;
    for (uint32_t i = 0; i < r->n_faults; i++) {
        g_free(r->faults[i].name);
        g_free(r->faults[i].text);
        g_free(r->faults[i].why);
    }
    g_free(r->faults);
    g_free(r->leaders);
    memset(r, 0, sizeof *r);
}
