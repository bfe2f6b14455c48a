/* sim_museum.c - `ckptsim museum` (sim_museum.h): for every incident, the runs of its
 * scenario with its planted bug, seed by seed in chunks until the expected invariant
 * is violated (caught_at_seed), and the runs without it over the whole seed range
 * (holds_without_bug). Runs go through the sweep's process pool (sim_sweep.h), so a
 * run that dies is a "crash" of that run. Output: one line per incident, or with
 * --json one JSON object per incident (json-glib). Exit 0 when every incident is caught
 * within the seeds and holds without its bug, 1 otherwise, 2 on bad input. */
#include "sim/harness/sim_museum.h"

#include <inttypes.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_cli.h"
#include "sim/harness/sim_sweep.h"
#include "sim/sim_commands.h"

#define MUSEUM_MAX_SEEDS 100000u

static const SimMuseumIncident incidents[] = {
    {"FLINK-24543", "liveness",
     "a publish retried after a lost reply answered NodeExists; it was taken as a failure "
     "and the state discarded while ZooKeeper pointed at it"},
    {"FLINK-22494", "liveness",
     "a publish whose outcome was unknown was taken as failed and its state discarded, "
     "although ZooKeeper had committed it"},
    {"FLINK-26284", "liveness",
     "subsumption deleted the state file before marking the pointer for deletion; a crash "
     "in between left a pointer to a missing file"},
    {"FLINK-7783", "ha-safety",
     "recovery skipped an unreadable checkpoint (FLINK-5940's fallback) and restored an "
     "older one"},
    {"FLINK-25486", "liveness",
     "a job manager that lost leadership cleaned up the job's HA data; the new leader "
     "could not recover the job"},
    {"FLINK-14091", "liveness",
     "the checkpoint ID counter stayed SUSPENDED after a reconnect, so no checkpoint was "
     "ever triggered again"},
    {"FLINK-10052", "liveness",
     "leadership was revoked on every SUSPENDED, so every ZooKeeper blip restarted the job"},
    {"FLINK-10011", "ha-hygiene",
     "a job manager that lost leadership kept its checkpoint locks; the new leader could "
     "not remove subsumed checkpoints"},
    {"FLINK-10377", "exactly-once",
     "the two-phase-commit sink committed only the exactly notified checkpoint's "
     "transaction; a skipped one stayed uncommitted"},
    {"FLINK-20645", "consistent-cut",
     "an input channel stopped recording unaligned channel state at a stale barrier or "
     "cancel marker; in-flight records were neither in the state nor replayed"},
    {"FLINK-7784", "liveness",
     "the commit of a transaction the external system had aborted (transaction timeout) "
     "failed the task on every restore: the job never recovered"},
};

const SimMuseumIncident *sim_museum_incidents(size_t *n) {
    *n = sizeof incidents / sizeof incidents[0];
    return incidents;
}

typedef struct Verdict {
    const SimMuseumIncident *inc;
    char *scenario;       /* path */
    bool loaded;
    int64_t caught_at;    /* -1: not caught */
    char *caught_by;      /* invariants violated at caught_at */
    int64_t first_failure; /* without the bug; -1: held everywhere */
    char *failure_by;
} Verdict;

typedef struct Museum {
    uint64_t lo, hi;
    uint32_t jobs;
    const char *dir;
} Museum;

static bool has_invariant(const char *list, const char *inv) {
    char **parts = g_strsplit(list != NULL ? list : "", ",", -1);
    bool found = false;
    for (char **p = parts; *p != NULL && !found; p++)
        found = strcmp(g_strstrip(*p), inv) == 0;
    g_strfreev(parts);
    return found;
}

/* Runs seeds [a, b] of s with bugs; returns the first seed whose outcome matches (with
 * the bug: the expected invariant violated; without: any violation), or -1. */
static int64_t first_match(const Museum *m, const char *file, const SimScenario *s,
                           const char *const *bug_names, uint64_t mask, uint64_t a, uint64_t b,
                           const char *inv, char **seen) {
    static const char *const none[] = {NULL};
    size_t n = (size_t)(b - a + 1);
    SimCliJob *jobs = g_new0(SimCliJob, n);
    SimCliOutcome *out = g_new0(SimCliOutcome, n);
    for (size_t i = 0; i < n; i++)
        jobs[i] = (SimCliJob){file, s, none, bug_names, mask, a + i, false, NULL, 0, NULL, false,
                              false};
    sim_sweep_execute(jobs, n, m->jobs, out);
    int64_t found = -1;
    for (size_t i = 0; i < n; i++) {
        bool hit = inv != NULL ? has_invariant(out[i].invariants, inv)
                               : out[i].status != SIM_EXIT_OK;
        if (hit && found < 0) {
            found = (int64_t)(a + i);
            *seen = g_strdup(out[i].invariants);
        }
        sim_cli_outcome_clear(&out[i]);
    }
    g_free(out);
    g_free(jobs);
    return found;
}

static void judge(const Museum *m, Verdict *v) {
    v->caught_at = v->first_failure = -1;
    v->scenario = g_strdup_printf("%s/%s.ini", m->dir, v->inc->ticket);
    GError *err = NULL;
    SimScenario *s = sim_scenario_load(v->scenario, NULL, &err);
    if (s == NULL) {
        sim_cli_print_error("museum", err);
        g_error_free(err);
        return;
    }
    v->loaded = true;
    const char *bug[] = {v->inc->ticket, NULL};
    uint64_t mask = rt_bug_by_name(v->inc->ticket);
    uint64_t chunk = MAX((uint64_t)m->jobs * 4u, 8u);
    for (uint64_t a = m->lo; a <= m->hi && v->caught_at < 0; a += chunk) {
        uint64_t b = MIN(m->hi, a + chunk - 1);
        v->caught_at = first_match(m, v->scenario, s, bug, mask, a, b, v->inc->invariant,
                                   &v->caught_by);
        if (b == m->hi)
            break;
    }
    static const char *const none[] = {NULL};
    v->first_failure =
        first_match(m, v->scenario, s, none, 0, m->lo, m->hi, NULL, &v->failure_by);
    sim_scenario_free(s);
}

static bool verdict_ok(const Verdict *v) {
    return v->loaded && v->caught_at >= 0 && v->first_failure < 0;
}

static void print_json(const Verdict *v) {
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "ticket");
    json_builder_add_string_value(b, v->inc->ticket);
    json_builder_set_member_name(b, "bug");
    json_builder_add_string_value(b, v->inc->ticket);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, v->scenario);
    json_builder_set_member_name(b, "invariant");
    json_builder_add_string_value(b, v->inc->invariant);
    json_builder_set_member_name(b, "caught_at_seed");
    if (v->caught_at >= 0)
        json_builder_add_int_value(b, v->caught_at);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "holds_without_bug");
    json_builder_add_boolean_value(b, v->loaded && v->first_failure < 0);
    json_builder_set_member_name(b, "description");
    json_builder_add_string_value(b, v->inc->description);
    if (v->caught_by != NULL) {
        json_builder_set_member_name(b, "violated_at_caught_seed");
        json_builder_add_string_value(b, v->caught_by);
    }
    if (v->first_failure >= 0) {
        json_builder_set_member_name(b, "failure_without_bug_seed");
        json_builder_add_int_value(b, v->first_failure);
        json_builder_set_member_name(b, "failure_without_bug");
        json_builder_add_string_value(b, v->failure_by);
    }
    json_builder_end_object(b);
    JsonGenerator *g = json_generator_new();
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    gchar *text = json_generator_to_data(g, NULL);
    printf("%s\n", text);
    g_free(text);
    json_node_unref(root);
    g_object_unref(g);
    g_object_unref(b);
}

static void print_human(const Verdict *v) {
    char caught[32] = "not caught";
    if (v->caught_at >= 0)
        g_snprintf(caught, sizeof caught, "seed %" PRId64, v->caught_at);
    char held[48] = "holds without it";
    if (!v->loaded)
        g_snprintf(held, sizeof held, "scenario not loaded");
    else if (v->first_failure >= 0)
        g_snprintf(held, sizeof held, "FAILS without it at seed %" PRId64, v->first_failure);
    printf("%-12s %s %s\n  %s\n  caught by %s at %s; %s\n", v->inc->ticket,
           verdict_ok(v) ? "ok  " : "FAIL", v->scenario, v->inc->description,
           v->inc->invariant, caught, held);
}

static bool parse_seeds(const char *text, uint64_t *lo, uint64_t *hi) {
    char **parts = g_strsplit(text, "..", 2);
    bool ok = parts[0] != NULL && parts[1] != NULL &&
              g_ascii_string_to_unsigned(parts[0], 10, 1, G_MAXUINT32, lo, NULL) &&
              g_ascii_string_to_unsigned(parts[1], 10, 1, G_MAXUINT32, hi, NULL) &&
              *lo <= *hi && *hi - *lo < MUSEUM_MAX_SEEDS;
    g_strfreev(parts);
    return ok;
}

static bool wanted(char **only, const char *ticket) {
    if (only == NULL)
        return true;
    for (char **p = only; *p != NULL; p++)
        if (g_ascii_strcasecmp(*p, ticket) == 0)
            return true;
    return false;
}

static int museum_with(const Museum *m, char **only, bool json) {
    size_t n = 0;
    const SimMuseumIncident *all = sim_museum_incidents(&n);
    bool ok = true;
    size_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (!wanted(only, all[i].ticket))
            continue;
        Verdict v = {.inc = &all[i]};
        judge(m, &v);
        ran++;
        ok = ok && verdict_ok(&v);
        if (json)
            print_json(&v);
        else
            print_human(&v);
        fflush(stdout);
        g_free(v.scenario);
        g_free(v.caught_by);
        g_free(v.failure_by);
    }
    if (ran == 0) {
        fprintf(stderr, "ckptsim museum: no incident matches --only\n");
        return SIM_EXIT_BAD_INPUT;
    }
    return ok ? SIM_EXIT_OK : SIM_EXIT_VIOLATION;
}

int sim_cmd_museum(int argc, char **argv) {
    char *seeds = NULL, *dir = NULL;
    char **only = NULL;
    int jobs = 1;
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"seeds", 0, 0, G_OPTION_ARG_STRING, &seeds, "seed range (default 1..200)", "A..B"},
        {"jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "runs in parallel (default 1)", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object per incident", NULL},
        {"dir", 0, 0, G_OPTION_ARG_FILENAME, &dir,
         "where the <ticket>.ini scenarios are (default scenarios/museum)", "DIR"},
        {"only", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only, "only this incident (repeatable)",
         "TICKET"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("- replay real Flink incidents");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "For every incident: its scenario (DIR/<ticket>.ini) with its planted bug\n"
             "(--bug <ticket>) until the expected invariant is violated, and without it\n"
             "over every seed. JSON keys: ticket, bug, scenario, invariant, caught_at_seed\n"
             "(int or null), holds_without_bug, description.\n"
             "Exit status: 0 every incident caught and holding without its bug, 1 not,\n"
             "2 bad input.\n\n"
             "Example:\n  ckptsim museum --json --seeds 1..200 --jobs 2\n");
    int status = SIM_EXIT_BAD_INPUT;
    Museum m = {1, 200, 1, NULL};
    if (!sim_cli_parse_options(ctx, "museum", &argc, &argv)) {
        /* reported */
    } else if (seeds != NULL && !parse_seeds(seeds, &m.lo, &m.hi)) {
        fprintf(stderr, "ckptsim museum: --seeds A..B with 1 <= A <= B, e.g. 1..200\n");
    } else if (jobs < 1 || jobs > 256) {
        fprintf(stderr, "ckptsim museum: --jobs between 1 and 256\n");
    } else if (argc > 1) {
        fprintf(stderr, "ckptsim museum: unexpected argument '%s' (see --help)\n", argv[1]);
    } else {
        m.jobs = (uint32_t)jobs;
        m.dir = dir != NULL ? dir : "scenarios/museum";
        status = museum_with(&m, only, json);
    }
    g_option_context_free(ctx);
    g_free(seeds);
    g_free(dir);
    g_strfreev(only);
    return status;
}
