/* sim_cli_run.c - the subcommands `ckptsim run`, `ckptsim replay`, `ckptsim bugs` and
 * `ckptsim shrink` (sim_commands.h). `sweep` is in sim_sweep.c. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_capsule.h"
#include "sim/harness/sim_cli.h"
#include "sim/harness/sim_cli_json.h"
#include "sim/harness/sim_flink_conf.h"
#include "sim/sim_commands.h"

/* ------------------------------------------------------------------ run */

typedef struct RunArgs {
    char *seed;
    char **sets;
    char **bugs;
    gboolean json;
    char *out;
    gboolean check_determinism;
    char *faults;
    char *flink_conf;
} RunArgs;

static int run_with(const char *file, RunArgs *a) {
    uint64_t mask = 0, seed = 0;
    uint32_t *keep = NULL, n_keep = 0;
    bool has_keep = a->faults != NULL;
    if (!sim_cli_parse_bugs(sim_cli_or_empty(a->bugs), &mask))
        return SIM_EXIT_BAD_INPUT;
    if (a->seed != NULL && !sim_cli_parse_seed(a->seed, &seed)) {
        fprintf(stderr, "ckptsim run: --seed %s: expected a number\n", a->seed);
        return SIM_EXIT_BAD_INPUT;
    }
    if (has_keep && strcmp(a->faults, "none") != 0 &&
        !sim_parse_fault_list(a->faults, &keep, &n_keep)) {
        fprintf(stderr, "ckptsim run: --faults %s: expected 'none' or numbers like 1,3\n",
                a->faults);
        return SIM_EXIT_BAD_INPUT;
    }
    if (!sim_flink_conf_apply("ckptsim run", a->flink_conf, &a->sets))
        return SIM_EXIT_BAD_INPUT;
    GError *e = NULL;
    SimScenario *s = sim_scenario_load(file, sim_cli_or_empty(a->sets), &e);
    if (s == NULL) {
        sim_cli_print_error("ckptsim run", e);
        g_error_free(e);
        g_free(keep);
        return SIM_EXIT_BAD_INPUT;
    }
    for (guint i = 0; i < s->notes->len; i++)
        fprintf(stderr, "%s: note: %s\n", file, (const char *)g_ptr_array_index(s->notes, i));
    SimCliJob job = {file, s, sim_cli_or_empty(a->sets), sim_cli_or_empty(a->bugs), mask,
                     a->seed != NULL ? seed : s->seed, has_keep, keep, n_keep, a->out,
                     a->out != NULL, true};
    SimCliOutcome out;
    sim_cli_execute(&job, &out);
    int status = out.status;
    const char *det = NULL;
    uint64_t second_hash = 0;
    if (a->check_determinism && status != SIM_EXIT_BAD_INPUT) {
        SimCliJob again = job;
        again.write_capsule = false;
        again.metrics = false;
        SimCliOutcome o2;
        sim_cli_execute(&again, &o2);
        second_hash = o2.trace_hash;
        det = o2.trace_hash == out.trace_hash ? "ok" : "mismatch";
        if (o2.trace_hash != out.trace_hash)
            status = SIM_EXIT_VIOLATION;
        sim_cli_outcome_clear(&o2);
    }
    char *with_det = a->json && det != NULL ? sim_json_with_member(out.json, "determinism", det)
                                            : NULL;
    if (with_det != NULL) {
        printf("%s\n", with_det);
        g_free(with_det);
    } else {
        sim_cli_outcome_print(&out, a->json);
        if (!a->json && det != NULL)
            printf("determinism: %s (trace %016" PRIx64 ", then %016" PRIx64 ")\n",
                   strcmp(det, "ok") == 0 ? "same trace hash twice" : "MISMATCH",
                   out.trace_hash, second_hash);
    }
    sim_cli_outcome_clear(&out);
    sim_scenario_free(s);
    g_free(keep);
    return status;
}

int sim_cmd_run(int argc, char **argv) {
    RunArgs a;
    memset(&a, 0, sizeof a);
    GOptionEntry entries[] = {
        {"seed", 0, 0, G_OPTION_ARG_STRING, &a.seed, "seed (default: [scenario] seed)", "N"},
        {"set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.sets,
         "override a key: section.key=value, or a Flink key (state.backend.type=filesystem)",
         "K=V"},
        {"bug", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.bugs, "enable a planted bug (ckptsim bugs)",
         "NAME"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &a.json, "print one JSON object", NULL},
        {"out", 0, 0, G_OPTION_ARG_FILENAME, &a.out,
         "write metrics CSV, trace.json and the capsule into DIR", "DIR"},
        {"check-determinism", 0, 0, G_OPTION_ARG_NONE, &a.check_determinism,
         "run twice and compare the trace hashes (exit 1 on a mismatch)", NULL},
        {"faults", 0, 0, G_OPTION_ARG_STRING, &a.faults,
         "keep only these faults of the plan (1-based, e.g. 1,3; 'none')", "LIST"},
        {"flink-conf", 0, 0, G_OPTION_ARG_FILENAME, &a.flink_conf,
         "read Flink keys from a config.yaml (over [config], under --set)", "FILE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("SCENARIO - run one scenario once");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Runs the scenario in the simulated world with the real runtime and checks it.\n"
             "Exit status: 0 everything held, 1 a violation, 2 bad input.\n"
             "With [random-faults] swarm = true the seed also draws which random fault\n"
             "kinds are on (each with probability 1/2); the output names them (\"swarm\").\n\n"
             "Examples:\n"
             "  ckptsim run scenarios/linear.ini --seed 7\n"
             "  ckptsim run scenarios/crash-mid-alignment.ini --seed 3 "
             "--set state.backend.type=filesystem --json\n"
             "  ckptsim run scenarios/linear.ini --bug skip-source-rewind --out /tmp/run1\n");
    int status = SIM_EXIT_BAD_INPUT;
    if (sim_cli_parse_options(ctx, "run", &argc, &argv)) {
        if (argc != 2)
            fprintf(stderr, "ckptsim run: expected one SCENARIO file (see --help)\n");
        else
            status = run_with(argv[1], &a);
    }
    g_option_context_free(ctx);
    g_free(a.seed);
    g_strfreev(a.sets);
    g_strfreev(a.bugs);
    g_free(a.out);
    g_free(a.faults);
    g_free(a.flink_conf);
    return status;
}

/* ------------------------------------------------------------------ replay */

/* Loads a capsule's scenario and fills job (the caller frees *s and *c). */
static bool capsule_job(const char *path, SimCapsule **c, SimScenario **s, SimCliJob *job) {
    GError *e = NULL;
    *c = sim_capsule_read(path, &e);
    if (*c == NULL) {
        fprintf(stderr, "%s\n", e->message);
        g_error_free(e);
        return false;
    }
    uint64_t mask = 0;
    if (!sim_cli_parse_bugs((const char *const *)(*c)->bugs, &mask))
        return false;
    *s = sim_scenario_load_text((*c)->scenario_path, (*c)->scenario_text,
                                (const char *const *)(*c)->sets, &e);
    if (*s == NULL) {
        sim_cli_print_error("ckptsim replay", e);
        g_error_free(e);
        return false;
    }
    *job = (SimCliJob){(*c)->scenario_path, *s, (const char *const *)(*c)->sets,
                       (const char *const *)(*c)->bugs, mask, (*c)->seed, (*c)->has_faults,
                       (*c)->faults, (*c)->n_faults, NULL, false, false};
    return true;
}

/* The replay's verdict: "held" (0), "reproduced" (1) or "diverged" (3: the trace hash
 * is not the capsule's, whatever the verdict). */
static int replay_status(const SimCapsule *c, const SimCliOutcome *out, const char **word) {
    if (out->status == SIM_EXIT_BAD_INPUT) {
        *word = "error";
        return SIM_EXIT_BAD_INPUT;
    }
    if (c->trace_hash != 0 && out->trace_hash != c->trace_hash) {
        *word = "diverged";
        return SIM_CLI_EXIT_DIVERGED;
    }
    *word = out->status == SIM_EXIT_VIOLATION ? "reproduced" : "held";
    return out->status;
}

static void replay_print(const SimCapsule *c, const SimCliOutcome *out, bool json,
                         const char *word) {
    if (json) {
        char *text = sim_json_with_member(out->json, "replay_result", word);
        printf("%s\n", text != NULL ? text : out->json);
        g_free(text);
    } else {
        sim_cli_outcome_print(out, false);
    }
    if (strcmp(word, "diverged") == 0)
        fprintf(json ? stderr : stdout,
                "replay DIVERGED: the capsule's trace hash is %016" PRIx64 " (%s), this "
                "run's is %016" PRIx64 " (%s)\n",
                c->trace_hash, c->build ? c->build : "unknown build", out->trace_hash,
                sim_capsule_build());
    else if (!json && strcmp(word, "error") != 0)
        printf("replay: %s; trace hash %016" PRIx64 " matches the capsule\n", word,
               out->trace_hash);
}

static int replay_with(const char *path, bool json) {
    SimCapsule *c = NULL;
    SimScenario *s = NULL;
    SimCliJob job;
    int status = SIM_EXIT_BAD_INPUT;
    if (capsule_job(path, &c, &s, &job)) {
        SimCliOutcome out;
        sim_cli_execute(&job, &out);
        const char *word = NULL;
        status = replay_status(c, &out, &word);
        replay_print(c, &out, json, word);
        sim_cli_outcome_clear(&out);
    }
    sim_scenario_free(s);
    sim_capsule_free(c);
    return status;
}

int sim_cmd_replay(int argc, char **argv) {
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "print one JSON object", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("CAPSULE - re-run a recorded violation");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Re-runs the scenario, seed, options and bugs stored in a capsule (written on\n"
             "every violation) and checks that the trace hash matches the recorded one.\n"
             "Exit status:\n"
             "  0  held: the run held, with the capsule's trace hash\n"
             "  1  reproduced: the violation happened again, with the capsule's trace hash\n"
             "  2  bad input: an unreadable, oversized or malformed capsule (a bad seed is\n"
             "     named with its file:line), or a scenario the runtime refuses\n"
             "  3  diverged: the trace hash differs from the capsule's (another build, or an\n"
             "     edited capsule): the run is not the recorded one\n"
             "With --json the object has a member replay_result: held, reproduced or diverged.\n\n"
             "Example:\n"
             "  ckptsim replay /tmp/ckptsim-capsules/"
             "crash-mid-alignment-f2731cef-seed2-skip-source-rewind.capsule\n");
    int status = SIM_EXIT_BAD_INPUT;
    if (sim_cli_parse_options(ctx, "replay", &argc, &argv)) {
        if (argc != 2)
            fprintf(stderr, "ckptsim replay: expected one CAPSULE file (see --help)\n");
        else
            status = replay_with(argv[1], json);
    }
    g_option_context_free(ctx);
    return status;
}

/* ------------------------------------------------------------------ bugs */

int sim_cmd_bugs(int argc, char **argv) {
    gboolean json = FALSE;
    GOptionEntry entries[] = {
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object per bug", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("- list the planted bugs");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Planted bugs are named, off-by-default protocol deviations in the runtime. A\n"
             "sweep with --bug NAME must find a violation of the listed invariant.\n\n"
             "Example:\n"
             "  ckptsim bugs\n"
             "  ckptsim sweep scenarios/*.ini --seeds 1..200 --bug skip-source-rewind "
             "--stop-at-first\n");
    bool ok = sim_cli_parse_options(ctx, "bugs", &argc, &argv);
    g_option_context_free(ctx);
    if (!ok)
        return SIM_EXIT_BAD_INPUT;
    if (!json)
        printf("%-28s %-16s %s\n", "BUG", "CAUGHT BY", "DESCRIPTION");
    for (const RtBugInfo *b = rt_bugs_table(); b->name != NULL; b++) {
        if (json) {
            JsonBuilder *j = json_builder_new();
            json_builder_begin_object(j);
            sim_json_add_string(j, "bug", b->name);
            sim_json_add_string(j, "invariant", b->invariant);
            sim_json_add_string(j, "description", b->description);
            json_builder_end_object(j);
            char *text = sim_json_finish(j);
            printf("%s\n", text);
            g_free(text);
        } else {
            printf("%-28s %-16s %s\n", b->name, b->invariant, b->description);
        }
    }
    return SIM_EXIT_OK;
}
