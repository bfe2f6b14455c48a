/* sim_cli.h - what the ckptsim subcommands run, sweep, replay and shrink share: one
 * "job" (a scenario + seed + options) executed into an outcome (exit status, one JSON
 * line, a human-readable block, a capsule on violation), the replay command line, and
 * option helpers. The subcommands themselves are in sim_cli_run.c and sim_sweep.c. */
#ifndef SIM_CLI_H
#define SIM_CLI_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/harness/sim_run.h"
#include "sim/harness/sim_scenario.h"

/* `ckptsim replay`: the run's trace hash is not the capsule's. */
#define SIM_CLI_EXIT_DIVERGED 3

/* One run to execute. Everything is borrowed. */
typedef struct SimCliJob {
    const char *file;              /* the scenario path as the user gave it */
    const SimScenario *scenario;   /* loaded with sets applied */
    const char *const *sets;       /* KEY=VALUE, NULL-terminated (may be empty) */
    const char *const *bug_names;  /* NULL-terminated (may be empty) */
    uint64_t bugs;                 /* their mask */
    uint64_t seed;
    bool has_keep;                 /* --faults */
    const uint32_t *keep;
    uint32_t n_keep;
    const char *out_dir;           /* metrics (run only) and capsules; NULL: defaults */
    bool metrics;                  /* write metrics into out_dir */
    bool write_capsule;            /* write a capsule on violation */
} SimCliJob;

typedef struct SimCliOutcome {
    int status;        /* SIM_EXIT_OK, SIM_EXIT_VIOLATION, SIM_EXIT_BAD_INPUT */
    char *json;        /* one line, no newline; owned */
    char *human;       /* one or more lines ending in '\n'; owned */
    char *invariants;  /* comma-separated violated invariants ("" when held); owned */
    char *message;     /* the first violation (or the error) on one line, "" when held;
                          owned (JUnit's failure message) */
    uint64_t trace_hash;
} SimCliOutcome;

/* Runs job and fills out. A run the runtime refused (bad config) gives status 2 with
 * the error in human and json. */
void sim_cli_execute(const SimCliJob *job, SimCliOutcome *out);
void sim_cli_outcome_clear(SimCliOutcome *out);

/* The exact command that replays job ("ckptsim run FILE --seed N --bug X --set K=V
 * --faults L"), shell-quoted where needed. New string. */
char *sim_cli_replay_command(const SimCliJob *job);

/* Where the capsule of job goes: out_dir, else $TMPDIR/ckptsim-capsules, named
 * SCENARIO-HASH-seedN[-BUG...][-shrunk].capsule where HASH is 8 hex digits of SHA-256
 * over the scenario text, --set options, bugs and kept faults (two scenario files of the
 * same name, or one under different options, never share a capsule). New string. */
char *sim_cli_capsule_path(const SimCliJob *job);

/* Appends s as a JSON string (quoted, escaped by json-glib's generator) to out. */
void sim_json_string(GString *out, const char *s);

/* Parses a seed: decimal, or 0x-prefixed hex. */
bool sim_cli_parse_seed(const char *text, uint64_t *out);
/* Resolves bug names into a mask; on an unknown name prints the valid ones to stderr
 * and returns false. */
bool sim_cli_parse_bugs(const char *const *names, uint64_t *mask);
/* Prints a scenario load error (and a hint to the README) to stderr. */
void sim_cli_print_error(const char *prog, const GError *error);

/* Parses subcommand cmd's options (on --help GLib prints and exits 0). On a usage error
 * prints "ckptsim CMD: MESSAGE (see --help)" to stderr and returns false. */
bool sim_cli_parse_options(GOptionContext *ctx, const char *cmd, int *argc, char ***argv);

/* list as a borrowed NULL-terminated list: an empty one when list is NULL (GLib leaves
 * a repeatable option that was never given NULL). */
const char *const *sim_cli_or_empty(char **list);

/* Prints an outcome on stdout: its JSON object and a newline, or its human text. */
void sim_cli_outcome_print(const SimCliOutcome *out, bool json);

#endif /* SIM_CLI_H */
