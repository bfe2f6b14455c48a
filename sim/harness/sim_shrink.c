/* sim_shrink.c - `ckptsim shrink CAPSULE`: delta debugging (Zeller's ddmin) over the
 * fault plan of a failing run. The plan is the scenario's [faults] plus the random
 * faults materialized from the seed; each kept subset is re-run with the same seed and
 * options (random faults come from their own PRNG streams, so dropping one does not
 * move the others). A subset "still fails" when the run violates one of the invariants
 * the capsule recorded. The result is a 1-minimal fault list, printed with its fault
 * statements and a replay command (--faults LIST), and saved as a new capsule. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/harness/sim_capsule.h"
#include "sim/harness/sim_cli.h"
#include "sim/sim_commands.h"

typedef struct Shrinker {
    const SimScenario *s;
    const SimCapsule *c;
    uint64_t bugs;
    char **target; /* invariants to reproduce (any of them) */
    uint32_t runs, max_runs;
} Shrinker;

/* True when the run with exactly these faults violates a target invariant. */
static bool still_fails(Shrinker *sh, const uint32_t *keep, uint32_t n) {
    sh->runs++;
    SimRunOptions opt;
    sim_run_options_init(&opt, sh->c->seed);
    opt.bugs = sh->bugs;
    opt.has_keep = true;
    opt.keep = keep;
    opt.n_keep = n;
    SimRunResult r;
    bool fails = false;
    if (sim_run(sh->s, &opt, &r, NULL)) {
        for (guint i = 0; !fails && i < r.violations->len; i++) {
            const SimViolation *v = g_ptr_array_index(r.violations, i);
            fails = g_strv_contains((const char *const *)sh->target, v->invariant);
        }
    }
    sim_run_result_clear(&r);
    return fails;
}

/* ddmin over *set (ascending fault numbers); shrinks it in place. */
static void ddmin(Shrinker *sh, GArray *set) {
    if (sh->runs < sh->max_runs && still_fails(sh, NULL, 0)) {
        g_array_set_size(set, 0);
        return;
    }
    uint32_t n = 2;
    GArray *cand = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    while (set->len >= 2 && sh->runs < sh->max_runs) {
        uint32_t len = set->len, chunk = (len + n - 1) / n;
        bool reduced = false;
        for (int complement = 0; complement < 2 && !reduced; complement++) {
            for (uint32_t start = 0; start < len && !reduced && sh->runs < sh->max_runs;
                 start += chunk) {
                g_array_set_size(cand, 0);
                for (uint32_t i = 0; i < len; i++) {
                    bool in_chunk = i >= start && i < start + chunk;
                    if (in_chunk != (complement == 1))
                        g_array_append_val(cand, g_array_index(set, uint32_t, i));
                }
                if (cand->len == 0 || cand->len == len)
                    continue;
                if (still_fails(sh, (const uint32_t *)cand->data, cand->len)) {
                    g_array_set_size(set, 0);
                    g_array_append_vals(set, cand->data, cand->len);
                    n = complement ? MAX(n - 1, 2u) : 2;
                    reduced = true;
                }
            }
        }
        if (!reduced) {
            if (n >= len)
                break;
            n = MIN(n * 2, len);
        }
    }
    g_array_free(cand, TRUE);
}

static void print_result(const Shrinker *sh, const GPtrArray *plan, const GArray *set,
                         const char *capsule_path) {
    printf("shrunk %u faults to %u in %u runs (invariants: %s):\n", plan->len, set->len,
           sh->runs, sh->c->invariants ? sh->c->invariants : "");
    for (guint i = 0; i < set->len; i++) {
        uint32_t num = g_array_index(set, uint32_t, i);
        const SimFault *f = g_ptr_array_index(plan, num - 1);
        printf("  fault %u (%s): %s\n", num, f->name, f->text);
    }
    if (set->len == 0)
        printf("  (no fault needed: the violation happens without any)\n");
    printf("saved: ckptsim replay %s\n", capsule_path ? capsule_path : "(not written)");
}

static int shrink_with(const char *path, uint32_t max_runs) {
    GError *e = NULL;
    SimCapsule *c = sim_capsule_read(path, &e);
    if (c == NULL) {
        fprintf(stderr, "%s\n", e->message);
        g_error_free(e);
        return SIM_EXIT_BAD_INPUT;
    }
    Shrinker sh = {.c = c, .max_runs = max_runs};
    SimScenario *s = NULL;
    int status = SIM_EXIT_BAD_INPUT;
    if (!sim_cli_parse_bugs((const char *const *)c->bugs, &sh.bugs))
        goto out;
    s = sim_scenario_load_text(c->scenario_path, c->scenario_text,
                               (const char *const *)c->sets, &e);
    if (s == NULL) {
        sim_cli_print_error("ckptsim shrink", e);
        g_error_free(e);
        goto out;
    }
    sh.s = s;
    sh.target = g_strsplit(c->invariants ? c->invariants : "", ",", -1);
    GPtrArray *plan = sim_run_fault_plan(s, c->seed);
    GArray *set = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    for (uint32_t i = 1; i <= plan->len; i++) {
        bool in = !c->has_faults;
        for (uint32_t k = 0; !in && k < c->n_faults; k++)
            in = c->faults[k] == i;
        if (in)
            g_array_append_val(set, i);
    }
    if (!still_fails(&sh, (const uint32_t *)set->data, set->len)) {
        printf("the capsule's run no longer violates %s: nothing to shrink\n", c->invariants);
        status = SIM_EXIT_OK;
    } else {
        ddmin(&sh, set);
        SimCliJob job = {c->scenario_path, s, (const char *const *)c->sets,
                         (const char *const *)c->bugs, sh.bugs, c->seed, true,
                         (const uint32_t *)set->data, set->len, NULL, false, true};
        SimCliOutcome o;
        sim_cli_execute(&job, &o);
        char *capsule = sim_cli_capsule_path(&job);
        print_result(&sh, plan, set, o.status == SIM_EXIT_VIOLATION ? capsule : NULL);
        fputs(o.human, stdout);
        status = o.status;
        g_free(capsule);
        sim_cli_outcome_clear(&o);
    }
    g_array_free(set, TRUE);
    g_ptr_array_free(plan, TRUE);
    g_strfreev(sh.target);
out:
    sim_scenario_free(s);
    sim_capsule_free(c);
    return status;
}

int sim_cmd_shrink(int argc, char **argv) {
    int max_runs = 200;
    GOptionEntry entries[] = {
        {"max-runs", 0, 0, G_OPTION_ARG_INT, &max_runs, "run budget (default 200)", "N"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *ctx = g_option_context_new("CAPSULE - cut a failing fault plan down");
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_description(
        ctx, "Delta-debugs the fault plan of a capsule's run to a minimal list of faults\n"
             "that still violates the same invariant, prints it with a replay command, and\n"
             "writes a new capsule. Exit status 1 when the shrunk run still fails.\n\n"
             "Example:\n"
             "  ckptsim shrink /tmp/ckptsim-capsules/"
             "random-faults-97b1580b-seed3-skip-source-rewind.capsule\n");
    GError *e = NULL;
    int status = SIM_EXIT_BAD_INPUT;
    if (!g_option_context_parse(ctx, &argc, &argv, &e)) {
        fprintf(stderr, "ckptsim shrink: %s (see --help)\n", e->message);
        g_error_free(e);
    } else if (argc != 2 || max_runs < 1) {
        fprintf(stderr, "ckptsim shrink: expected one CAPSULE and --max-runs >= 1\n");
    } else {
        status = shrink_with(argv[1], (uint32_t)max_runs);
    }
    g_option_context_free(ctx);
    return status;
}
