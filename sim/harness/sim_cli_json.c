/* sim_cli_json.c - the JSON of the command line through json-glib (sim_cli_json.h): the
 * builder helpers, and the objects of a finished, refused or crashed run. The key order
 * is the one scripts and tests have relied on since the printf days. */
#include "sim/harness/sim_cli_json.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void sim_json_add_string(JsonBuilder *b, const char *key, const char *value) {
    if (key != NULL)
        json_builder_set_member_name(b, key);
    json_builder_add_string_value(b, value != NULL ? value : "");
}

void sim_json_add_string_or_null(JsonBuilder *b, const char *key, const char *value) {
    if (key != NULL)
        json_builder_set_member_name(b, key);
    if (value != NULL)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

void sim_json_add_u64(JsonBuilder *b, const char *key, uint64_t value) {
    if (key != NULL)
        json_builder_set_member_name(b, key);
    if (value <= (uint64_t)G_MAXINT64) {
        json_builder_add_int_value(b, (gint64)value);
    } else {
        char digits[24];
        g_snprintf(digits, sizeof digits, "%" PRIu64, value);
        json_builder_add_string_value(b, digits);
    }
}

void sim_json_add_bool(JsonBuilder *b, const char *key, bool value) {
    if (key != NULL)
        json_builder_set_member_name(b, key);
    json_builder_add_boolean_value(b, value);
}

void sim_json_add_strv(JsonBuilder *b, const char *key, const char *const *list) {
    if (key != NULL)
        json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
    for (size_t i = 0; list != NULL && list[i] != NULL; i++)
        json_builder_add_string_value(b, list[i]);
    json_builder_end_array(b);
}

void sim_json_add_double(JsonBuilder *b, const char *key, double value, int decimals) {
    assert(decimals >= 0 && decimals <= 9);
    double scale = 1.0;
    for (int i = 0; i < decimals; i++)
        scale *= 10.0;
    if (key != NULL)
        json_builder_set_member_name(b, key);
    int64_t scaled = (int64_t)(value * scale + (value < 0 ? -0.5 : 0.5));
    if (decimals == 0)
        json_builder_add_int_value(b, scaled); /* a whole figure: no ".0" */
    else
        json_builder_add_double_value(b, (double)scaled / scale);
}

static char *node_text(JsonNode *root) {
    JsonGenerator *g = json_generator_new();
    json_generator_set_root(g, root);
    char *text = json_generator_to_data(g, NULL);
    g_object_unref(g);
    return text;
}

char *sim_json_finish(JsonBuilder *b) {
    JsonNode *root = json_builder_get_root(b);
    assert(root != NULL); /* every begin has its end */
    char *text = node_text(root);
    json_node_unref(root);
    g_object_unref(b);
    return text;
}

void sim_json_string(GString *out, const char *s) {
    JsonNode *n = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(n, s != NULL ? s : "");
    char *text = node_text(n);
    g_string_append(out, text);
    g_free(text);
    json_node_unref(n);
}

char *sim_json_with_member(const char *json, const char *key, const char *value) {
    JsonParser *p = json_parser_new();
    char *text = NULL;
    if (json_parser_load_from_data(p, json, -1, NULL)) {
        JsonNode *root = json_parser_get_root(p);
        if (root != NULL && JSON_NODE_HOLDS_OBJECT(root)) {
            json_object_set_string_member(json_node_get_object(root), key, value);
            text = node_text(root);
        }
    }
    g_object_unref(p);
    return text;
}

/* ------------------------------------------------------------------ one run */

static void add_violations(JsonBuilder *b, const char *key, const GPtrArray *vs, bool full) {
    json_builder_set_member_name(b, key);
    json_builder_begin_array(b);
    for (guint i = 0; vs != NULL && i < vs->len; i++) {
        const SimViolation *v = g_ptr_array_index(vs, i);
        json_builder_begin_object(b);
        sim_json_add_string(b, "invariant", v->invariant);
        sim_json_add_string(b, "message", v->message);
        if (full) {
            sim_json_add_u64(b, "time_ns", v->time_ns);
            sim_json_add_u64(b, "checkpoint", v->checkpoint_id);
            if (v->fault != NULL)
                sim_json_add_string(b, "fault", v->fault);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void add_fault(JsonBuilder *b, const SimFaultReport *f) {
    json_builder_begin_object(b);
    sim_json_add_string(b, "name", f->name);
    sim_json_add_string(b, "text", f->text);
    sim_json_add_u64(b, "number", f->number);
    sim_json_add_bool(b, "random", f->random);
    sim_json_add_bool(b, "planned", true);
    sim_json_add_bool(b, "fired", f->fired);
    sim_json_add_u64(b, "fired_ns", f->fired_ns);
    sim_json_add_bool(b, "effective", f->effective);
    sim_json_add_string(b, "why", f->why);
    json_builder_end_object(b);
}

/* "faults":[...],"leader_changes":N,"leaders":[{time_ns,process}] */
static void add_coverage(JsonBuilder *b, const SimCoverageReport *c) {
    sim_json_add_u64(b, "faults_effective", c->effective);
    json_builder_set_member_name(b, "faults");
    json_builder_begin_array(b);
    for (uint32_t i = 0; i < c->n_faults; i++)
        add_fault(b, &c->faults[i]);
    json_builder_end_array(b);
    sim_json_add_u64(b, "leader_changes", c->leader_changes);
    json_builder_set_member_name(b, "leaders");
    json_builder_begin_array(b);
    for (uint32_t i = 0; i < c->n_leaders; i++) {
        char name[32];
        g_snprintf(name, sizeof name, "jobmanager-%u", c->leaders[i].process + 1);
        json_builder_begin_object(b);
        sim_json_add_u64(b, "time_ns", c->leaders[i].time_ns);
        sim_json_add_string(b, "process", name);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

/* "swarm":{"on":[kinds drawn on],"off":[kinds drawn off]} when [random-faults] swarm. */
static void add_swarm(JsonBuilder *b, const SimCliJob *job) {
    const SimRandomFaults *rf = &job->scenario->random;
    if (!rf->swarm)
        return;
    uint32_t enabled = sim_random_faults_enabled(rf, job->seed);
    uint32_t configured = sim_random_faults_configured(rf);
    json_builder_set_member_name(b, "swarm");
    json_builder_begin_object(b);
    for (int on = 1; on >= 0; on--) {
        json_builder_set_member_name(b, on ? "on" : "off");
        json_builder_begin_array(b);
        for (uint32_t k = 0; k < SIM_RANDOM_N_KINDS; k++)
            if ((configured & (1u << k)) && ((enabled & (1u << k)) != 0) == (on == 1))
                json_builder_add_string_value(b, sim_random_kind_name((SimRandomKind)k));
        json_builder_end_array(b);
    }
    json_builder_end_object(b);
}

static void add_figures(JsonBuilder *b, const SimRunResult *r) {
    char hash[20];
    g_snprintf(hash, sizeof hash, "%016" PRIx64, r->trace_hash);
    sim_json_add_string(b, "trace_hash", hash);
    sim_json_add_u64(b, "sim_time_ns", r->sim_time_ns);
    sim_json_add_u64(b, "steps", r->steps);
    sim_json_add_string(b, "end", r->end_reason);
    const SimOracleStats *o = &r->oracle;
    sim_json_add_u64(b, "records_total", o->records_total);
    sim_json_add_u64(b, "records_committed", o->records_committed);
    sim_json_add_u64(b, "records_lost", o->records_lost);
    sim_json_add_u64(b, "records_duplicated", o->records_duplicated);
    sim_json_add_u64(b, "checkpoints_completed", o->checkpoints_completed);
    sim_json_add_u64(b, "failovers", r->failovers);
    sim_json_add_u64(b, "faults_planned", r->faults_planned);
    sim_json_add_u64(b, "faults_fired", r->faults_fired);
}

static void add_head(JsonBuilder *b, const SimCliJob *job) {
    sim_json_add_string(b, "scenario", job->scenario->name);
    sim_json_add_string(b, "file", job->file);
    sim_json_add_u64(b, "seed", job->seed);
}

char *sim_cli_run_json(const SimCliJob *job, const SimRunResult *r, const char *verdict,
                       const char *capsule, const char *replay) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    add_head(b, job);
    sim_json_add_strv(b, "bugs", job->bug_names);
    sim_json_add_strv(b, "set", job->sets);
    sim_json_add_string(b, "verdict", verdict);
    add_violations(b, "violations", r->violations, true);
    add_figures(b, r);
    add_coverage(b, &r->coverage);
    add_violations(b, "expected_violations", r->expected, false);
    json_builder_set_member_name(b, "facts");
    json_builder_begin_array(b);
    for (guint i = 0; r->facts != NULL && i < r->facts->len; i++)
        json_builder_add_string_value(b, g_ptr_array_index(r->facts, i));
    json_builder_end_array(b);
    add_swarm(b, job);
    if (capsule != NULL)
        sim_json_add_string(b, "capsule", capsule);
    if (replay != NULL)
        sim_json_add_string(b, "replay", replay);
    json_builder_end_object(b);
    return sim_json_finish(b);
}

char *sim_cli_error_json(const SimCliJob *job, const char *message) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    add_head(b, job);
    sim_json_add_string(b, "verdict", "error");
    sim_json_add_string(b, "error", message);
    json_builder_set_member_name(b, "violations");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    return sim_json_finish(b);
}

char *sim_cli_crash_json(const SimCliJob *job, const char *why, const char *replay) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    add_head(b, job);
    sim_json_add_string(b, "verdict", "violation");
    json_builder_set_member_name(b, "violations");
    json_builder_begin_array(b);
    json_builder_begin_object(b);
    sim_json_add_string(b, "invariant", "crash");
    sim_json_add_string(b, "message", why);
    json_builder_end_object(b);
    json_builder_end_array(b);
    sim_json_add_string(b, "trace_hash", "");
    sim_json_add_string(b, "replay", replay);
    json_builder_end_object(b);
    return sim_json_finish(b);
}
