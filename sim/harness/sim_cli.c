/* sim_cli.c - executing one job for the ckptsim subcommands (sim_cli.h): the run, the
 * capsule on violation, and the two renderings of its outcome: one JSON line and a
 * human-readable block that names every violated invariant with its evidence, the seed
 * and the exact command that replays it. Output never contains wall-clock time or
 * pointers, so a sweep prints the same bytes with and without --jobs. */
#include "sim/harness/sim_cli.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runtime/env/rt_bugs.h"
#include "sim/harness/sim_capsule.h"
#include "sim/harness/sim_cli_json.h"
#include "sim/sim_commands.h"

bool sim_cli_parse_seed(const char *text, uint64_t *out) {
    guint64 v = 0;
    bool ok;
    if (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X"))
        ok = text[2] != '\0' && g_ascii_string_to_unsigned(text + 2, 16, 0, G_MAXUINT64, &v,
                                                           NULL);
    else
        ok = g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, &v, NULL);
    *out = v;
    return ok;
}

bool sim_cli_parse_bugs(const char *const *names, uint64_t *mask) {
    *mask = 0;
    for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
        uint64_t b = rt_bug_by_name(names[i]);
        if (b == 0) {
            fprintf(stderr, "ckptsim: unknown bug '%s'; planted bugs:", names[i]);
            for (const RtBugInfo *info = rt_bugs_table(); info->name != NULL; info++)
                fprintf(stderr, " %s", info->name);
            fprintf(stderr, " (see 'ckptsim bugs')\n");
            return false;
        }
        *mask |= b;
    }
    return true;
}

void sim_cli_print_error(const char *prog, const GError *error) {
    fprintf(stderr, "%s\n", error->message);
    fprintf(stderr, "%s: bad input (the scenario format is described in "
                    "scenarios/README.md)\n", prog);
}

bool sim_cli_parse_options(GOptionContext *ctx, const char *cmd, int *argc, char ***argv) {
    GError *e = NULL;
    if (g_option_context_parse(ctx, argc, argv, &e))
        return true;
    fprintf(stderr, "ckptsim %s: %s (see --help)\n", cmd, e->message);
    g_error_free(e);
    return false;
}

const char *const *sim_cli_or_empty(char **list) {
    static const char *const empty[] = {NULL};
    return list != NULL ? (const char *const *)list : empty;
}

void sim_cli_outcome_print(const SimCliOutcome *out, bool json) {
    if (json)
        printf("%s\n", out->json);
    else
        fputs(out->human, stdout);
}

static bool needs_quote(const char *s) {
    if (*s == '\0')
        return true;
    for (const char *p = s; *p; p++)
        if (!g_ascii_isalnum(*p) && strchr("-_./=:,+@%", *p) == NULL)
            return true;
    return false;
}

static void append_arg(GString *cmd, const char *arg) {
    g_string_append_c(cmd, ' ');
    if (needs_quote(arg)) {
        char *q = g_shell_quote(arg);
        g_string_append(cmd, q);
        g_free(q);
    } else {
        g_string_append(cmd, arg);
    }
}

char *sim_cli_replay_command(const SimCliJob *job) {
    GString *cmd = g_string_new("ckptsim run");
    append_arg(cmd, job->file);
    g_string_append_printf(cmd, " --seed %" PRIu64, job->seed);
    for (size_t i = 0; job->bug_names != NULL && job->bug_names[i] != NULL; i++) {
        g_string_append(cmd, " --bug");
        append_arg(cmd, job->bug_names[i]);
    }
    for (size_t i = 0; job->sets != NULL && job->sets[i] != NULL; i++) {
        g_string_append(cmd, " --set");
        append_arg(cmd, job->sets[i]);
    }
    if (job->has_keep) {
        char *f = sim_format_fault_list(job->keep, job->n_keep);
        g_string_append(cmd, " --faults");
        append_arg(cmd, job->n_keep > 0 ? f : "none");
        g_free(f);
    }
    return g_string_free(cmd, FALSE);
}

/* The short hash that tells capsules of one scenario name apart: the first 8 hex digits
 * of SHA-256 over the scenario text, the --set options, the bugs and the kept faults
 * (each NUL-terminated, so "a","bc" and "ab","c" differ). */
static char *capsule_hash(const SimCliJob *job) {
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    const char *text = job->scenario->text != NULL ? job->scenario->text : "";
    g_checksum_update(sum, (const guchar *)text, (gssize)strlen(text) + 1);
    const char *const *lists[] = {job->sets, job->bug_names};
    for (size_t l = 0; l < G_N_ELEMENTS(lists); l++) {
        for (size_t i = 0; lists[l] != NULL && lists[l][i] != NULL; i++)
            g_checksum_update(sum, (const guchar *)lists[l][i], (gssize)strlen(lists[l][i]) + 1);
        g_checksum_update(sum, (const guchar *)"\n", 1);
    }
    if (job->has_keep) {
        char *f = sim_format_fault_list(job->keep, job->n_keep);
        g_checksum_update(sum, (const guchar *)f, (gssize)strlen(f) + 1);
        g_free(f);
    }
    char *hash = g_strndup(g_checksum_get_string(sum), 8);
    g_checksum_free(sum);
    return hash;
}

/* s with every character outside [A-Za-z0-9._-] replaced by '_' (a file name part). */
static void append_name_part(GString *name, const char *s) {
    for (const char *p = s; *p; p++)
        g_string_append_c(name, g_ascii_isalnum(*p) || strchr("._-", *p) ? *p : '_');
}

char *sim_cli_capsule_path(const SimCliJob *job) {
    char *dir = job->out_dir != NULL ? g_strdup(job->out_dir)
                                     : g_build_filename(g_get_tmp_dir(), "ckptsim-capsules",
                                                        NULL);
    GString *name = g_string_new(NULL);
    append_name_part(name, job->scenario->name);
    char *hash = capsule_hash(job);
    g_string_append_printf(name, "-%s-seed%" PRIu64, hash, job->seed);
    g_free(hash);
    for (size_t i = 0; job->bug_names != NULL && job->bug_names[i] != NULL; i++) {
        g_string_append_c(name, '-');
        append_name_part(name, job->bug_names[i]);
    }
    if (job->has_keep)
        g_string_append(name, "-shrunk");
    g_string_append(name, ".capsule");
    char *path = g_build_filename(dir, name->str, NULL);
    g_string_free(name, TRUE);
    g_free(dir);
    return path;
}

static char *write_capsule(const SimCliJob *job, const SimRunResult *r, const char *invariants,
                           GError **error) {
    char *path = sim_cli_capsule_path(job);
    char *dir = g_path_get_dirname(path);
    g_mkdir_with_parents(dir, 0755);
    g_free(dir);
    SimCapsule c = {
        .build = (char *)sim_capsule_build(),
        .scenario_path = (char *)job->file,
        .scenario_name = job->scenario->name,
        .scenario_text = job->scenario->text,
        .sets = (char **)job->sets,
        .bugs = (char **)job->bug_names,
        .seed = job->seed,
        .has_faults = job->has_keep,
        .faults = (uint32_t *)job->keep,
        .n_faults = job->n_keep,
        .trace_hash = r->trace_hash,
        .verdict = r->held ? "pass" : "violation",
        .invariants = (char *)invariants,
    };
    if (!sim_capsule_write(&c, path, error)) {
        g_free(path);
        return NULL;
    }
    return path;
}

static char *invariant_list(const GPtrArray *violations) {
    GString *s = g_string_new(NULL);
    for (guint i = 0; violations != NULL && i < violations->len; i++) {
        const SimViolation *v = g_ptr_array_index(violations, i);
        char *needle = g_strdup_printf(",%s,", v->invariant);
        char *hay = g_strdup_printf(",%s,", s->str);
        if (strstr(hay, needle) == NULL)
            g_string_append_printf(s, "%s%s", s->len ? "," : "", v->invariant);
        g_free(needle);
        g_free(hay);
    }
    return g_string_free(s, FALSE);
}

/* The swarm's draw for job's seed (only when [random-faults] swarm is on): the kinds
 * that are on and those that are off, each as comma-separated text. */
static void swarm_lists(const SimCliJob *job, GString *on, GString *off) {
    const SimRandomFaults *rf = &job->scenario->random;
    uint32_t enabled = sim_random_faults_enabled(rf, job->seed);
    uint32_t configured = sim_random_faults_configured(rf);
    for (uint32_t k = 0; k < SIM_RANDOM_N_KINDS; k++) {
        if ((configured & (1u << k)) == 0)
            continue;
        GString *to = (enabled & (1u << k)) ? on : off;
        if (to->len > 0)
            g_string_append_c(to, ',');
        g_string_append(to, sim_random_kind_name((SimRandomKind)k));
    }
}

static void human_swarm(GString *h, const SimCliJob *job) {
    if (!job->scenario->random.swarm)
        return;
    GString *on = g_string_new(NULL), *off = g_string_new(NULL);
    swarm_lists(job, on, off);
    g_string_append_printf(h, "  swarm: on %s; off %s\n", on->len ? on->str : "(none)",
                           off->len ? off->str : "(none)");
    g_string_free(on, TRUE);
    g_string_free(off, TRUE);
}

static const char *leader_name(const SimCliJob *job, uint32_t pid, char *buf, size_t len) {
    (void)job;
    g_snprintf(buf, len, "jobmanager-%u", pid + 1);
    return buf;
}

static void human_coverage(GString *h, const SimCliJob *job, const SimCoverageReport *c) {
    for (uint32_t i = 0; i < c->n_faults; i++) {
        const SimFaultReport *f = &c->faults[i];
        const char *state = f->effective ? "effective" : f->fired ? "NO EFFECT" : "NOT FIRED";
        if (f->fired)
            g_string_append_printf(h, "  fault %s: planned, fired at t=%.3f s, %s: %s\n",
                                   f->name, (double)f->fired_ns / 1e9, state,
                                   f->why != NULL ? f->why : "");
        else
            g_string_append_printf(h, "  fault %s: planned, %s: %s\n", f->name, state,
                                   f->why != NULL ? f->why : "");
    }
    g_string_append_printf(h, "  leaders: %u change%s", c->leader_changes,
                           c->leader_changes == 1 ? "" : "s");
    for (uint32_t i = 0; i < c->n_leaders; i++) {
        char buf[32];
        g_string_append_printf(h, "%s%s at t=%.3f s", i ? ", " : " (",
                               leader_name(job, c->leaders[i].process, buf, sizeof buf),
                               (double)c->leaders[i].time_ns / 1e9);
    }
    g_string_append(h, c->n_leaders > 0 ? ")\n" : "\n");
}

static char *render_human(const SimCliJob *job, const SimRunResult *r, const char *capsule,
                          const char *replay) {
    GString *h = g_string_new(NULL);
    g_string_append_printf(h, "%s seed %" PRIu64 ": %s", job->scenario->name, job->seed,
                           r->held ? "held" : "VIOLATION");
    for (size_t i = 0; job->bug_names != NULL && job->bug_names[i] != NULL; i++)
        g_string_append_printf(h, "%s%s", i ? "," : " (bug: ", job->bug_names[i]);
    if (job->bug_names != NULL && job->bug_names[0] != NULL)
        g_string_append_c(h, ')');
    const SimOracleStats *o = &r->oracle;
    g_string_append_printf(h, " - %s at t=%.3f s, %" PRIu64 " events, %" PRIu64
                           " checkpoints, %" PRIu64 " failovers, %u/%u/%u faults fired/effective/planned, %"
                           PRIu64 "/%" PRIu64 " records committed, trace %016" PRIx64 "\n",
                           r->end_reason, (double)r->sim_time_ns / 1e9, r->steps,
                           o->checkpoints_completed, r->failovers, r->faults_fired,
                           r->faults_effective, r->faults_planned, o->records_committed, o->records_total,
                           r->trace_hash);
    human_swarm(h, job);
    human_coverage(h, job, &r->coverage);
    for (guint i = 0; r->expected != NULL && i < r->expected->len; i++) {
        char *line = sim_violation_to_string(g_ptr_array_index(r->expected, i));
        g_string_append_printf(h, "  expected (Flink's behaviour, [expect] "
                                  "expected-violations) %s\n", line);
        g_free(line);
    }
    for (guint i = 0; r->facts != NULL && i < r->facts->len; i++)
        g_string_append_printf(h, "  fact: %s\n", (const char *)g_ptr_array_index(r->facts, i));
    for (guint i = 0; r->violations != NULL && i < r->violations->len; i++) {
        char *line = sim_violation_to_string(g_ptr_array_index(r->violations, i));
        g_string_append_printf(h, "  violated %s\n", line);
        g_free(line);
    }
    if (!r->held) {
        g_string_append_printf(h, "  seed %" PRIu64 "; replay with:\n    %s\n", job->seed,
                               replay);
        if (capsule != NULL)
            g_string_append_printf(h, "    ckptsim replay %s\n", capsule);
    }
    return g_string_free(h, FALSE);
}

static void config_error_outcome(const SimCliJob *job, const GError *e, SimCliOutcome *out) {
    out->status = SIM_EXIT_BAD_INPUT;
    out->human = g_strdup_printf("%s seed %" PRIu64 ": bad input: %s\n", job->scenario->name,
                                 job->seed, e->message);
    out->json = sim_cli_error_json(job, e->message);
    out->message = g_strdup(e->message);
    out->invariants = g_strdup("");
}

void sim_cli_execute(const SimCliJob *job, SimCliOutcome *out) {
    assert(job != NULL && out != NULL);
    memset(out, 0, sizeof *out);
    SimRunOptions opt;
    sim_run_options_init(&opt, job->seed);
    opt.bugs = job->bugs;
    opt.out_dir = job->metrics ? job->out_dir : NULL;
    opt.has_keep = job->has_keep;
    opt.keep = job->keep;
    opt.n_keep = job->n_keep;
    SimRunResult r;
    GError *e = NULL;
    if (!sim_run(job->scenario, &opt, &r, &e)) {
        config_error_outcome(job, e, out);
        g_error_free(e);
        sim_run_result_clear(&r);
        return;
    }
    out->invariants = invariant_list(r.violations);
    out->message = r.violations != NULL && r.violations->len > 0
                       ? sim_violation_to_string(g_ptr_array_index(r.violations, 0))
                       : g_strdup("");
    out->trace_hash = r.trace_hash;
    out->status = r.held ? SIM_EXIT_OK : SIM_EXIT_VIOLATION;
    char *capsule = NULL, *replay = NULL;
    if (!r.held) {
        replay = sim_cli_replay_command(job);
        if (job->write_capsule) {
            capsule = write_capsule(job, &r, out->invariants, &e);
            if (capsule == NULL) {
                fprintf(stderr, "ckptsim: cannot write the capsule: %s\n", e->message);
                g_clear_error(&e);
            }
        }
    }
    out->json = sim_cli_run_json(job, &r, r.held ? "pass" : "violation", capsule, replay);
    out->human = render_human(job, &r, capsule, replay);
    g_free(capsule);
    g_free(replay);
    sim_run_result_clear(&r);
}

void sim_cli_outcome_clear(SimCliOutcome *out) {
    g_free(out->json);
    g_free(out->human);
    g_free(out->invariants);
    g_free(out->message);
    memset(out, 0, sizeof *out);
}
