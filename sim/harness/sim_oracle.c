/* sim_oracle.c - the oracle's event side: topology analysis (path multiplicities), the
 * per-record ledger fed by RT_EV_RECORD_EMIT, checkpoint id order, leadership and
 * restore checks (ha-safety), liveness, and the finish step that reads the committed
 * sink output (sim_oracle_sink.c). Completed checkpoints are decoded and checked as
 * they complete (sim_oracle_cut.c). See sim_oracle.h for the invariants.
 */
#include "sim/harness/sim_oracle.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/env/rt_config_keys.h"
#include "sim/harness/sim_oracle_internal.h"

static const char *const invariant_names[SIM_ORACLE_N_INVARIANTS] = {
    SIM_INV_EXACTLY_ONCE, SIM_INV_CONSISTENT_CUT, SIM_INV_LIVENESS, SIM_INV_HA_SAFETY,
    SIM_INV_RETENTION};

/* ------------------------------------------------------------------ violations */

SimViolation *sim_violation_new(const char *invariant, const char *message, uint64_t time_ns,
                                uint64_t checkpoint_id, const char *fault) {
    assert(invariant != NULL && message != NULL);
    SimViolation *v = g_new0(SimViolation, 1);
    v->invariant = g_strdup(invariant);
    v->message = g_strdup(message);
    v->time_ns = time_ns;
    v->checkpoint_id = checkpoint_id;
    v->fault = g_strdup(fault);
    return v;
}

void sim_violation_free(SimViolation *v) {
    if (v == NULL)
        return;
    g_free(v->invariant);
    g_free(v->message);
    g_free(v->fault);
    g_free(v);
}

char *sim_violation_to_string(const SimViolation *v) {
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s: %s (t=%" PRIu64 ".%09" PRIu64 "s", v->invariant, v->message,
                           v->time_ns / 1000000000u, v->time_ns % 1000000000u);
    if (v->checkpoint_id != 0)
        g_string_append_printf(s, ", checkpoint %" PRIu64, v->checkpoint_id);
    if (v->fault != NULL)
        g_string_append_printf(s, ", fault: %s", v->fault);
    g_string_append(s, ")");
    return g_string_free(s, FALSE);
}

static unsigned invariant_index(const char *invariant) {
    for (unsigned i = 0; i < SIM_ORACLE_N_INVARIANTS; i++)
        if (strcmp(invariant, invariant_names[i]) == 0)
            return i;
    assert(!"unknown invariant name");
    return 0;
}

const char *sim_oracle_fault_near(const SimOracle *o, uint64_t time_ns) {
    if (o->faults->len == 0)
        return NULL;
    for (guint i = 0; i < o->faults->len; i++) {
        const SimFault *f = &g_array_index(o->faults, SimFault, i);
        if (f->time_ns >= time_ns)
            return f->description;
    }
    return g_array_index(o->faults, SimFault, o->faults->len - 1).description;
}

void sim_oracle_violate(SimOracle *o, const char *invariant, uint64_t time_ns,
                        uint64_t checkpoint_id, const char *fmt, ...) {
    unsigned idx = invariant_index(invariant);
    o->n_violations++;
    if (o->per_invariant[idx]++ >= SIM_ORACLE_MAX_VIOLATIONS_PER_INVARIANT)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(o->violations, sim_violation_new(invariant, msg, time_ns, checkpoint_id,
                                                     sim_oracle_fault_near(o, time_ns)));
    g_free(msg);
}

/* ------------------------------------------------------------------- key map */

static uint64_t key_mix(uint64_t k) {
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return k;
}

static void keymap_grow(SimKeyMap *m) {
    uint32_t old_cap = m->cap;
    uint64_t *old_keys = m->keys;
    uint32_t *old_vals = m->vals;
    m->cap = old_cap == 0 ? 1024u : old_cap * 2u;
    assert(m->cap > old_cap);
    m->keys = g_new0(uint64_t, m->cap);
    m->vals = g_new0(uint32_t, m->cap);
    for (uint32_t i = 0; i < old_cap; i++) {
        if (old_vals[i] == 0)
            continue;
        uint32_t j = (uint32_t)key_mix(old_keys[i]) & (m->cap - 1);
        while (m->vals[j] != 0)
            j = (j + 1) & (m->cap - 1);
        m->keys[j] = old_keys[i];
        m->vals[j] = old_vals[i];
    }
    g_free(old_keys);
    g_free(old_vals);
}

static uint32_t keymap_find(const SimKeyMap *m, uint64_t key) {
    if (m->cap == 0)
        return SIM_ORACLE_NO_KEY;
    uint32_t j = (uint32_t)key_mix(key) & (m->cap - 1);
    for (uint32_t probes = 0; probes < m->cap; probes++) {
        if (m->vals[j] == 0)
            return SIM_ORACLE_NO_KEY;
        if (m->keys[j] == key)
            return m->vals[j] - 1;
        j = (j + 1) & (m->cap - 1);
    }
    return SIM_ORACLE_NO_KEY;
}

uint32_t sim_oracle_key_lookup(const SimOracle *o, uint64_t key) {
    return keymap_find(&o->keymap, key);
}

/* Dense index of key, adding it when new; SIM_ORACLE_NO_KEY beyond the key limit. */
static uint32_t key_intern(SimOracle *o, uint64_t key) {
    uint32_t idx = keymap_find(&o->keymap, key);
    if (idx != SIM_ORACLE_NO_KEY)
        return idx;
    if (o->keys->len >= SIM_ORACLE_MAX_KEYS)
        return SIM_ORACLE_NO_KEY;
    if ((o->keymap.n + 1) * 2 > o->keymap.cap)
        keymap_grow(&o->keymap);
    idx = o->keys->len;
    g_array_append_val(o->keys, key);
    uint32_t j = (uint32_t)key_mix(key) & (o->keymap.cap - 1);
    while (o->keymap.vals[j] != 0)
        j = (j + 1) & (o->keymap.cap - 1);
    o->keymap.keys[j] = key;
    o->keymap.vals[j] = idx + 1;
    o->keymap.n++;
    return idx;
}

/* ------------------------------------------------------------------ topology */

uint32_t sim_oracle_global_src(const SimOracle *o, uint32_t op, uint32_t index) {
    if (op >= o->n_ops || o->src_first[op] == UINT32_MAX)
        return UINT32_MAX;
    const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
    if (index >= spec->parallelism)
        return UINT32_MAX;
    return o->src_first[op] + index;
}

/* Distinct keys the sources declare (their key ranges may overlap), capped at the
 * tracking limit: the ledger's initial key width. */
static uint64_t expected_keys(const SimOracle *o) {
    uint64_t n = 0;
    for (uint32_t op = 0; op < o->n_ops; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        if (o->src_first[op] != UINT32_MAX)
            n += MIN(spec->keys, (uint64_t)SIM_ORACLE_MAX_KEYS);
    }
    return MIN(n, (uint64_t)SIM_ORACLE_MAX_KEYS);
}

/* One generator per source subtask; the subtasks of one Zipf source share the first
 * one's table (only it owns the table). */
static void setup_generators(SimOracle *o) {
    o->gens = g_new0(RtSourceGen, o->n_src + 1);
    for (uint32_t s = 0; s < o->n_src; s++) {
        uint32_t op = o->src_op[s], first = o->src_first[op];
        rt_source_gen_init(&o->gens[s], o->params.seed, o->graph, op, s - first);
        if (s != first && o->gens[s].zipf_cdf != NULL) {
            rt_source_gen_deinit(&o->gens[s]);
            o->gens[s].zipf_cdf = o->gens[first].zipf_cdf;
        }
    }
}

static void free_generators(SimOracle *o) {
    for (uint32_t s = 0; s < o->n_src; s++)
        if (s == o->src_first[o->src_op[s]])
            rt_source_gen_deinit(&o->gens[s]);
    g_free(o->gens);
}

void sim_oracle_source_record(const SimOracle *o, uint32_t src, uint64_t off, RtRecord *out) {
    assert(src < o->n_src && off < o->src_records[src]);
    rt_source_gen_record(&o->gens[src], off, out);
}

/* The cursors' summaries below the cut, the per-operator report signatures and the
 * boundary. Values (bucket counts, last values per key) are tracked only when a listmap
 * needs them and the declared keys fit SIM_ORACLE_MAX_VALUE_KEYS. */
static void setup_cut_state(SimOracle *o) {
    o->base = g_new0(GArray *, o->n_src_ops + 1);
    o->bucket_base = g_new0(GArray *, o->n_src_ops + 1);
    for (uint32_t i = 0; i < o->n_src_ops; i++) {
        o->base[i] = g_array_new(FALSE, TRUE, sizeof(uint64_t));
        o->bucket_base[i] = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    }
    o->tails = g_new0(GArray *, o->n_src + 1);
    for (uint32_t s = 0; s < o->n_src; s++)
        o->tails[s] = g_array_new(FALSE, TRUE, sizeof(SimTail));
    o->op_sig = g_new0(uint64_t, o->n_ops);
    for (uint32_t op = 0; op < o->n_ops; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(o->graph->operators, op);
        if (spec->kind == RT_OP_LISTMAP)
            o->track_values = expected_keys(o) <= SIM_ORACLE_MAX_VALUE_KEYS;
    }
    o->bnd_off = g_new0(uint64_t, o->n_src + 1);
    o->bnd_chan = g_array_new(FALSE, TRUE, sizeof(SimChanRec));
}

static void setup_topology(SimOracle *o) {
    const RtJobGraph *g = o->graph;
    o->n_ops = g->operators->len;
    assert(o->n_ops >= 1 && o->n_ops <= SIM_ORACLE_MAX_OPS);
    o->src_first = g_new0(uint32_t, o->n_ops);
    o->src_op_list = g_new0(uint32_t, o->n_ops);
    for (uint32_t op = 0; op < o->n_ops; op++) {
        const RtOperatorSpec *spec = g_ptr_array_index(g->operators, op);
        o->src_first[op] = UINT32_MAX;
        if (spec->kind != RT_OP_SOURCE)
            continue;
        o->src_first[op] = o->n_src;
        o->src_op_list[o->n_src_ops++] = op;
        o->n_src += spec->parallelism;
        assert(o->n_src <= SIM_ORACLE_MAX_SOURCES);
    }
    o->src_op = g_new0(uint32_t, o->n_src + 1);
    o->src_records = g_new0(uint64_t, o->n_src + 1);
    o->key_idx = g_new0(SimPacked, o->n_src + 1);
    o->runs = g_new0(GArray *, o->n_src + 1);
    o->cursor = g_new0(uint64_t, o->n_src + 1);
    uint32_t bits = sim_packed_bits_for(expected_keys(o));
    for (uint32_t op = 0; op < o->n_ops; op++) {
        if (o->src_first[op] == UINT32_MAX)
            continue;
        const RtOperatorSpec *spec = g_ptr_array_index(g->operators, op);
        for (uint32_t i = 0; i < spec->parallelism; i++) {
            uint32_t s = o->src_first[op] + i;
            o->src_op[s] = op;
            o->src_records[s] = spec->records;
            sim_packed_init(&o->key_idx[s], spec->records, bits);
            o->runs[s] = g_array_new(FALSE, TRUE, sizeof(SimEmitRun));
        }
    }
    sim_oracle_route_init(o);
    setup_generators(o);
    setup_cut_state(o);
}

/* ------------------------------------------------------------------ lifecycle */

void sim_oracle_params_init(SimOracleParams *p) {
    memset(p, 0, sizeof *p);
    p->check_cuts = true;
}

static void oracle_observer_event(RtObserver *self, const RtEvent *ev) {
    sim_oracle_event((SimOracle *)self, ev);
}

static const RtObserverOps oracle_observer_ops = {.event = oracle_observer_event};

static void fault_clear(void *p) {
    g_free(((SimFault *)p)->description);
}

static void completed_clear(void *p) {
    g_free(((SimCompleted *)p)->metadata_path);
    g_strfreev(((SimCompleted *)p)->state_files);
}

SimOracle *sim_oracle_new(const RtJobGraph *g, const RtConfig *cfg, const SimOracleParams *p,
                          const SimOracleFiles *files) {
    assert(g != NULL && cfg != NULL && p != NULL && files != NULL);
    SimOracle *o = g_new0(SimOracle, 1);
    o->observer.ops = &oracle_observer_ops;
    o->graph = g;
    o->config = cfg;
    o->params = *p;
    o->files = *files;
    GError *err = NULL;
    if (!rt_config_key_duration_ns(cfg, RT_KEY_CHECKPOINTING_INTERVAL, &o->interval_ns, &err)) {
        g_clear_error(&err);
        o->interval_ns = 0;
    }
    unsigned mode = 0; /* EXACTLY_ONCE|AT_LEAST_ONCE */
    if (!rt_config_key_choice(cfg, RT_KEY_CHECKPOINTING_MODE, &mode, &err)) {
        g_clear_error(&err);
        mode = 0;
    }
    o->at_least_once = mode == 1;
    if (o->params.checkpoint_bound_ns == 0) {
        uint64_t b = o->interval_ns * 10u;
        o->params.checkpoint_bound_ns = b < UINT64_C(10000000000) ? UINT64_C(10000000000) : b;
    }
    o->keys = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    o->epochs = g_array_new(FALSE, TRUE, sizeof(SimEpoch));
    SimEpoch first = {0, 0};
    g_array_append_val(o->epochs, first);
    o->faults = g_array_new(FALSE, TRUE, sizeof(SimFault));
    g_array_set_clear_func(o->faults, fault_clear);
    o->quiet_ns = UINT64_MAX;
    o->completed = g_array_new(FALSE, TRUE, sizeof(SimCompleted));
    g_array_set_clear_func(o->completed, completed_clear);
    o->issued = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    o->violations = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
    o->facts = g_ptr_array_new_with_free_func(g_free);
    o->zombie_publishes = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    if (!rt_config_key_bool(cfg, RT_KEY_HA_FENCE_WRITES, &o->fenced_writes, NULL))
        o->fenced_writes = false;
    setup_topology(o);
    return o;
}

void sim_oracle_free(SimOracle *o) {
    if (o == NULL)
        return;
    for (uint32_t s = 0; s < o->n_src; s++) {
        sim_packed_deinit(&o->key_idx[s]);
        g_array_unref(o->runs[s]);
    }
    for (uint32_t i = 0; i < o->n_src_ops; i++) {
        g_array_unref(o->base[i]);
        g_array_unref(o->bucket_base[i]);
    }
    g_free(o->base);
    g_free(o->bucket_base);
    for (uint32_t s = 0; s < o->n_src; s++)
        g_array_unref(o->tails[s]);
    g_free(o->tails);
    g_free(o->op_sig);
    g_free(o->bnd_off);
    g_array_unref(o->bnd_chan);
    free_generators(o);
    g_free(o->direct);
    g_free(o->ordered);
    g_free(o->key_idx);
    g_free(o->runs);
    g_free(o->cursor);
    g_free(o->src_first);
    g_free(o->src_op);
    g_free(o->src_op_list);
    g_free(o->src_records);
    g_free(o->mult);
    g_free(o->keymap.keys);
    g_free(o->keymap.vals);
    g_array_unref(o->keys);
    g_array_unref(o->epochs);
    g_array_unref(o->faults);
    g_array_unref(o->completed);
    g_hash_table_unref(o->issued);
    g_ptr_array_unref(o->violations);
    g_ptr_array_unref(o->facts);
    g_hash_table_unref(o->zombie_publishes);
    g_free(o->job_failed_cause);
    g_free(o);
}

RtObserver *sim_oracle_observer(SimOracle *o) {
    return &o->observer;
}

bool sim_oracle_failed(const SimOracle *o) {
    return o->n_violations > 0;
}

void sim_oracle_set_quiet_since(SimOracle *o, uint64_t time_ns) {
    assert(o != NULL && !o->finish_called);
    o->quiet_ns = time_ns;
}

bool sim_oracle_leader(const SimOracle *o, uint32_t *process, uint64_t *session) {
    assert(o != NULL && process != NULL && session != NULL);
    *process = o->leader_process;
    *session = o->leader_session;
    return o->leader_known && o->has_leader;
}

const GPtrArray *sim_oracle_facts_peek(const SimOracle *o) {
    return o->facts;
}

/* An HA irregularity: a violation of ha-safety when store writes are fenced, else a fact
 * (Flink allows it; its consequences are judged by the other invariants). */
static void ha_irregular(SimOracle *o, uint64_t time_ns, uint64_t id, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
static void ha_irregular(SimOracle *o, uint64_t time_ns, uint64_t id, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (o->fenced_writes)
        sim_oracle_violate(o, SIM_INV_HA_SAFETY, time_ns, id, "%s", msg);
    else if (o->facts->len < SIM_ORACLE_MAX_FACTS)
        g_ptr_array_add(o->facts, g_strdup_printf("t=%.3f s: %s (Flink permits this: its HA "
                                                  "store writes are not fenced)",
                                                  (double)time_ns / 1e9, msg));
    g_free(msg);
}

const GPtrArray *sim_oracle_violations_peek(const SimOracle *o) {
    return o->violations;
}

static void new_epoch(SimOracle *o, uint64_t time_ns) {
    if (o->epochs->len > SIM_ORACLE_MAX_EPOCH)
        return; /* saturated: later records share the last epoch */
    SimEpoch e = {time_ns, o->last_completed_id};
    g_array_append_val(o->epochs, e);
}

void sim_oracle_note_fault(SimOracle *o, uint64_t time_ns, const char *description) {
    assert(description != NULL);
    SimFault f = {time_ns, NULL};
    f.description = g_strdup_printf("t=%" PRIu64 ".%06" PRIu64 "s %s", time_ns / 1000000000u,
                                    (time_ns % 1000000000u) / 1000u, description);
    g_array_append_val(o->faults, f);
    new_epoch(o, time_ns);
}

/* ------------------------------------------------------------------ ledger */

uint32_t sim_oracle_ledger_key(const SimOracle *o, uint32_t src, uint64_t off) {
    assert(src < o->n_src && off < o->src_records[src]);
    uint32_t v = sim_packed_get(&o->key_idx[src], off);
    return v == 0 ? SIM_ORACLE_NO_KEY : v - 1;
}

const SimEpoch *sim_oracle_ledger_epoch(const SimOracle *o, uint32_t src, uint64_t off) {
    assert(src < o->n_src);
    const GArray *runs = o->runs[src];
    uint32_t e = 0;
    for (guint i = runs->len; i > 0; i--) {
        const SimEmitRun *r = &g_array_index(runs, SimEmitRun, i - 1);
        if (r->start <= off && off < r->end) {
            e = r->epoch;
            break;
        }
        if (i == runs->len && runs->len >= SIM_ORACLE_MAX_RUNS)
            e = r->epoch; /* runs saturated: the last one stands for the rest */
    }
    return &g_array_index(o->epochs, SimEpoch, e);
}

/* Records the first emission of (s, off) with dense key idx in the current epoch. */
static void ledger_note_first(SimOracle *o, uint32_t s, uint64_t off, uint32_t idx) {
    if (idx + 1u > sim_packed_max(&o->key_idx[s])) {
        uint32_t bits = sim_packed_bits_for((uint64_t)idx + 1u);
        for (uint32_t i = 0; i < o->n_src; i++)
            sim_packed_widen(&o->key_idx[i], bits);
    }
    sim_packed_set(&o->key_idx[s], off, idx + 1u);
    GArray *runs = o->runs[s];
    uint32_t epoch = o->epochs->len - 1;
    SimEmitRun *last = runs->len > 0 ? &g_array_index(runs, SimEmitRun, runs->len - 1) : NULL;
    if (last != NULL && last->end == off && last->epoch == epoch) {
        last->end++;
    } else if (runs->len < SIM_ORACLE_MAX_RUNS) {
        SimEmitRun r = {off, off + 1, epoch};
        g_array_append_val(runs, r);
    }
}

/* ------------------------------------------------------------------ events */

static void on_record_emit(SimOracle *o, const RtEvent *ev) {
    o->emissions++;
    uint32_t s = sim_oracle_global_src(o, ev->subtask.op, ev->subtask.index);
    if (s == UINT32_MAX || ev->a >= o->src_records[s]) {
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, ev->time_ns, 0,
                           "operator %u subtask %u emitted offset %" PRIu64
                           " outside its input (%" PRIu64 " records)",
                           ev->subtask.op, ev->subtask.index, ev->a,
                           s == UINT32_MAX ? 0 : o->src_records[s]);
        return;
    }
    RtRecord gen;
    sim_oracle_source_record(o, s, ev->a, &gen);
    if (ev->key != gen.key || ev->b != gen.value)
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, ev->time_ns, 0,
                           "operator %u subtask %u emitted record (src %u, offset %" PRIu64
                           ") with key %" PRIu64 " value %" PRIu64 ", its generator gives key %"
                           PRIu64 " value %" PRIu64 " (source not replayable)",
                           ev->subtask.op, ev->subtask.index, s, ev->a, ev->key, ev->b,
                           gen.key, gen.value);
    if (sim_oracle_ledger_key(o, s, ev->a) != SIM_ORACLE_NO_KEY)
        return; /* a replay */
    uint32_t idx = key_intern(o, gen.key);
    if (idx == SIM_ORACLE_NO_KEY) {
        sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, ev->time_ns, 0,
                           "more than %u distinct keys: the oracle cannot track them",
                           SIM_ORACLE_MAX_KEYS);
        return;
    }
    ledger_note_first(o, s, ev->a, idx);
    o->records_emitted++;
}

static bool from_leader(const SimOracle *o, const RtEvent *ev);

static void on_ckpt_complete(SimOracle *o, const RtEvent *ev) {
    uint64_t id = ev->checkpoint_id;
    if (!from_leader(o, ev)) {
        /* A deposed leader's late completion (it publishes unfenced, as Flink's
         * ZooKeeperStateHandleStore lets it): not part of the current leader's lineage,
         * so it neither moves the latest completed id, the cut cursor nor the sinks'
         * boundary; its consequences (the commits it notifies) are judged by
         * exactly-once. */
        ha_irregular(o, ev->time_ns, id,
                     "process %u, not the leader, completed checkpoint %" PRIu64
                     " (latest completed by the leader: %" PRIu64 ")",
                     ev->process, id, o->last_completed_id);
        return;
    }
    if (id <= o->last_completed_id)
        sim_oracle_violate(o, SIM_INV_HA_SAFETY, ev->time_ns, id,
                           "checkpoint %" PRIu64 " completed after checkpoint %" PRIu64
                           ": completed ids must strictly increase",
                           id, o->last_completed_id);
    else
        o->last_completed_id = id;
    SimCompleted c = {id, ev->time_ns, g_strdup(ev->detail), NULL};
    if (o->params.check_cuts)
        sim_oracle_retain_note(o, &c);
    g_array_append_val(o->completed, c);
    new_epoch(o, ev->time_ns);
    if (o->first_complete_after_faults_ns == 0 && ev->time_ns >= o->params.faults_end_ns)
        o->first_complete_after_faults_ns = ev->time_ns;
    if (o->params.check_cuts) {
        char *path = ev->detail != NULL && ev->detail[0] != '\0'
                         ? g_strdup(ev->detail)
                         : sim_oracle_metadata_path(o, id);
        if (sim_oracle_check_checkpoint(o, id, path, ev->time_ns, "completed"))
            o->checkpoints_checked++;
        g_free(path);
    }
}

static void on_ckpt_issued(SimOracle *o, const RtEvent *ev) {
    uint64_t id = ev->checkpoint_id;
    if (g_hash_table_contains(o->issued, &id)) {
        sim_oracle_violate(o, SIM_INV_HA_SAFETY, ev->time_ns, id,
                           "checkpoint id %" PRIu64 " issued twice (process %u)", id,
                           ev->process);
        return;
    }
    uint64_t *k = g_new(uint64_t, 1);
    *k = id;
    g_hash_table_add(o->issued, k);
}

/* Whether the event comes from the job manager that leads now (always true before any
 * leadership event: no HA). */
static uint64_t zombie_key(uint32_t process, uint64_t id) {
    return ((uint64_t)process << 40) | (id & ((UINT64_C(1) << 40) - 1));
}

static bool from_leader(const SimOracle *o, const RtEvent *ev) {
    if (ev->kind == RT_EV_CKPT_COMPLETE) {
        uint64_t k = zombie_key(ev->process, ev->checkpoint_id);
        if (g_hash_table_contains(o->zombie_publishes, &k))
            return false;
    }
    return !o->leader_known || (o->has_leader && o->leader_process == ev->process);
}

static void on_ckpt_published(SimOracle *o, const RtEvent *ev) {
    uint64_t id = ev->checkpoint_id;
    if (id <= o->last_published_id)
        ha_irregular(o, ev->time_ns, id,
                     "process %u published checkpoint %" PRIu64 " after checkpoint %" PRIu64
                     " was published: published ids must strictly increase across leaders",
                     ev->process, id, o->last_published_id);
    else
        o->last_published_id = id;
    if (!o->leader_known)
        return;
    if (!o->has_leader || o->leader_process != ev->process || o->leader_session != ev->a) {
        uint64_t *k = g_new(uint64_t, 1);
        *k = zombie_key(ev->process, id);
        g_hash_table_add(o->zombie_publishes, k);
    }
    if (!o->has_leader || o->leader_process != ev->process || o->leader_session != ev->a)
        ha_irregular(o, ev->time_ns, id,
                     "process %u published checkpoint %" PRIu64 " with leader session %" PRIu64
                     " while the current leader is %s%u (session %" PRIu64 ")",
                     ev->process, id, ev->a, o->has_leader ? "process " : "none, last ",
                     o->leader_process, o->leader_session);
}

static void on_leader(SimOracle *o, const RtEvent *ev, bool gained) {
    if (gained) {
        o->leader_known = true;
        o->has_leader = true;
        o->leader_process = ev->process;
        o->leader_session = ev->a;
    } else if (o->has_leader && o->leader_process == ev->process) {
        o->has_leader = false;
    }
}

/* A restore from scratch: the sinks' transactions start from the empty cut. */
static void reset_boundary(SimOracle *o) {
    o->bnd_id = 0;
    memset(o->bnd_off, 0, sizeof(uint64_t) * o->n_src);
    g_array_set_size(o->bnd_chan, 0);
}

/* The checkpoint that a restore must use: the latest completed one. A newer one is
 * acceptable only when its metadata is durable (completed, but the event was lost with
 * a crashed job manager). */
static void on_restore(SimOracle *o, const RtEvent *ev) {
    uint64_t c = ev->checkpoint_id;
    if (o->restore_open && o->restore_attempt == ev->attempt) {
        if (c != o->restore_checkpoint_id)
            sim_oracle_violate(o, SIM_INV_HA_SAFETY, ev->time_ns, c,
                               "attempt %u restores operator %u subtask %u from checkpoint %"
                               PRIu64 " but other subtasks from checkpoint %" PRIu64,
                               ev->attempt, ev->subtask.op, ev->subtask.index, c,
                               o->restore_checkpoint_id);
        return;
    }
    o->restore_open = true;
    o->restore_attempt = ev->attempt;
    o->restore_checkpoint_id = c;
    o->restores++;
    if (c < o->last_completed_id) {
        sim_oracle_violate(o, SIM_INV_HA_SAFETY, ev->time_ns, c,
                           "attempt %u restored %s%" PRIu64 " but checkpoint %" PRIu64
                           " had completed: recovery must use the latest completed checkpoint",
                           ev->attempt, c == 0 ? "from scratch, checkpoint " : "checkpoint ",
                           c, o->last_completed_id);
        if (c == 0) {
            reset_boundary(o);
        } else if (o->params.check_cuts) {
            char *path = sim_oracle_metadata_path(o, c);
            sim_oracle_check_checkpoint(o, c, path, ev->time_ns, "restored");
            g_free(path);
        }
        return;
    }
    if (c == 0) {
        reset_boundary(o);
        return;
    }
    char *path = sim_oracle_metadata_path(o, c);
    if (c > o->last_completed_id) {
        GBytes *b = o->files.read(o->files.ctx, path);
        if (b == NULL)
            sim_oracle_violate(o, SIM_INV_HA_SAFETY, ev->time_ns, c,
                               "attempt %u restored checkpoint %" PRIu64 " which never completed"
                               " (latest completed %" PRIu64 ", no durable %s)",
                               ev->attempt, c, o->last_completed_id, path);
        else
            g_bytes_unref(b);
        /* Its completion was never reported (the job manager that completed it
         * crashed): it is restored, so it must be a consistent cut like any other. */
        if (b != NULL && o->params.check_cuts &&
            sim_oracle_check_checkpoint(o, c, path, ev->time_ns, "restored"))
            o->checkpoints_checked++;
    } else if (o->bnd_id != c && o->params.check_cuts) {
        sim_oracle_check_checkpoint(o, c, path, ev->time_ns, "restored");
    } else {
        sim_oracle_verify_restorable(o, c, path, ev->time_ns, "restored");
    }
    g_free(path);
}

static void on_world(SimOracle *o, const RtEvent *ev) {
    char *d = ev->kind == RT_EV_WORLD_CRASH
                  ? g_strdup_printf("crash process %u", ev->process)
                  : g_strdup(ev->detail != NULL ? ev->detail : "fault");
    sim_oracle_note_fault(o, ev->time_ns, d);
    g_free(d);
}

static void on_lifecycle(SimOracle *o, const RtEvent *ev) {
    switch (ev->kind) {
    case RT_EV_FAILOVER:
        new_epoch(o, ev->time_ns);
        break;
    case RT_EV_RESTORE:
        on_restore(o, ev);
        break;
    case RT_EV_JOB_FINISHED:
        if (!o->finished) {
            o->finished = true;
            o->finished_ns = ev->time_ns;
        }
        break;
    case RT_EV_JOB_FAILED:
        if (!o->job_failed) {
            o->job_failed = true;
            o->job_failed_cause = g_strdup(ev->detail != NULL ? ev->detail : "unknown");
            sim_oracle_violate(o, SIM_INV_LIVENESS, ev->time_ns, 0, "the job failed: %s",
                               o->job_failed_cause);
        }
        break;
    default:
        break;
    }
}

void sim_oracle_event(SimOracle *o, const RtEvent *ev) {
    assert(o != NULL && ev != NULL);
    assert(!o->finish_called);
    assert(ev->time_ns >= o->now_ns);
    o->now_ns = ev->time_ns;
    if (ev->kind == RT_EV_RECORD_EMIT) {
        on_record_emit(o, ev);
        return; /* per-record kinds do not update "last seen": too noisy */
    }
    if (ev->kind == RT_EV_SINK_COMMIT_RECORD)
        o->commit_reports++;
    if (ev->kind == RT_EV_RECORD_COUNT || ev->kind == RT_EV_SINK_COMMIT_RECORD)
        return;
    if (ev->kind == RT_EV_WORLD_CRASH || ev->kind == RT_EV_FAILOVER)
        o->disrupted = true;
    o->last_kind = ev->kind;
    o->last_time_ns = ev->time_ns;
    switch (ev->kind) {
    case RT_EV_CKPT_COMPLETE: on_ckpt_complete(o, ev); break;
    case RT_EV_CKPT_ID_ISSUED: on_ckpt_issued(o, ev); break;
    case RT_EV_CKPT_PUBLISHED: on_ckpt_published(o, ev); break;
    case RT_EV_LEADER_GAINED: on_leader(o, ev, true); break;
    case RT_EV_LEADER_LOST: on_leader(o, ev, false); break;
    case RT_EV_WORLD_CRASH:
    case RT_EV_WORLD_FAULT: on_world(o, ev); break;
    default: on_lifecycle(o, ev); break;
    }
}

/* ------------------------------------------------------------------ finish */

static uint64_t records_total(const SimOracle *o) {
    uint64_t t = 0;
    for (uint32_t s = 0; s < o->n_src; s++)
        t += o->src_records[s];
    return t;
}

static void check_liveness(SimOracle *o, uint64_t end_time_ns) {
    if (o->params.stopped_early || o->job_failed)
        return;
    if (!o->finished) {
        const char *last = o->last_kind == RT_EV_NONE ? "nothing"
                                                      : rt_event_kind_name(o->last_kind);
        uint64_t last_t = o->last_time_ns;
        sim_oracle_violate(o, SIM_INV_LIVENESS, end_time_ns, o->last_completed_id,
                           "the job did not finish by t=%" PRIu64 ".%06" PRIu64
                           "s: last seen %s at t=%" PRIu64 ".%06" PRIu64
                           "s, last completed checkpoint %" PRIu64 ", %" PRIu64 " of %" PRIu64
                           " records emitted",
                           end_time_ns / 1000000000u, (end_time_ns % 1000000000u) / 1000u, last,
                           last_t / 1000000000u, (last_t % 1000000000u) / 1000u,
                           o->last_completed_id, o->records_emitted, records_total(o));
        return;
    }
    if (o->interval_ns == 0 || o->params.faults_end_ns == UINT64_MAX)
        return;
    uint64_t deadline = o->params.faults_end_ns + o->params.checkpoint_bound_ns;
    if (o->finished_ns <= deadline)
        return;
    if (o->first_complete_after_faults_ns != 0 && o->first_complete_after_faults_ns <= deadline)
        return;
    sim_oracle_violate(o, SIM_INV_LIVENESS, deadline, o->last_completed_id,
                       "no checkpoint completed within %" PRIu64 " ms after faults stopped at t=%"
                       PRIu64 " ms (first after: %s%" PRIu64 " ms)",
                       o->params.checkpoint_bound_ns / 1000000u,
                       o->params.faults_end_ns / 1000000u,
                       o->first_complete_after_faults_ns == 0 ? "none, job finished at t=" : "t=",
                       (o->first_complete_after_faults_ns == 0 ? o->finished_ns
                                                               : o->first_complete_after_faults_ns)
                           / 1000000u);
}

/* The sinks report each record of a transaction they commit (RT_EV_SINK_COMMIT_RECORD,
 * what the metrics plot) once, when the commit's rename is durable. Without a crash or
 * a failover (a crash may end a commit between its durable rename and its report; a
 * restored sink's recovery commit does not report its records), the reports must add up
 * to the committed output. */
static void check_commit_reports(SimOracle *o, uint64_t end_time_ns) {
    if (!o->params.check_commit_reports || !o->finished || o->params.stopped_early ||
        o->disrupted ||
        o->commit_reports == o->records_committed)
        return;
    sim_oracle_violate(o, SIM_INV_EXACTLY_ONCE, end_time_ns, 0,
                       "the sinks reported %" PRIu64 " committed records, their committed "
                       "files hold %" PRIu64 " (no crash, no failover): the commit reports "
                       "(and the metrics built on them) disagree with the output",
                       o->commit_reports, o->records_committed);
}

bool sim_oracle_finish(SimOracle *o, uint64_t end_time_ns, GPtrArray **violations) {
    assert(!o->finish_called);
    o->finish_called = true;
    if (o->last_completed_id != 0 && o->params.check_cuts) {
        const SimCompleted *c =
            &g_array_index(o->completed, SimCompleted, o->completed->len - 1);
        char *path = c->metadata_path != NULL ? g_strdup(c->metadata_path)
                                              : sim_oracle_metadata_path(o, c->id);
        sim_oracle_verify_restorable(o, c->id, path, end_time_ns, "latest at the end");
        g_free(path);
    }
    sim_oracle_check_sinks(o, end_time_ns, o->finished && !o->params.stopped_early);
    check_liveness(o, end_time_ns);
    check_commit_reports(o, end_time_ns);
    sim_oracle_check_retention(o, end_time_ns);
    if (violations != NULL) {
        *violations = g_ptr_array_new_with_free_func((GDestroyNotify)sim_violation_free);
        for (guint i = 0; i < o->violations->len; i++) {
            const SimViolation *v = g_ptr_array_index(o->violations, i);
            g_ptr_array_add(*violations, sim_violation_new(v->invariant, v->message, v->time_ns,
                                                           v->checkpoint_id, v->fault));
        }
    }
    return o->n_violations == 0;
}

void sim_oracle_get_stats(const SimOracle *o, SimOracleStats *out) {
    memset(out, 0, sizeof *out);
    out->records_total = records_total(o);
    out->records_emitted = o->records_emitted;
    out->emissions = o->emissions;
    out->records_committed = o->records_committed;
    out->records_lost = o->records_lost;
    out->records_duplicated = o->records_duplicated;
    out->values_duplicated = o->values_duplicated;
    out->checkpoints_completed = o->completed->len;
    out->checkpoints_checked = o->checkpoints_checked;
    out->restores = o->restores;
    out->violations = o->n_violations;
    out->job_finished = o->finished;
    out->job_finished_ns = o->finished_ns;
}
