/* sim_scenario_private.h - the loader state shared by sim_scenario.c (reading, line
 * map, --set, error messages), sim_scenario_build.c (sections -> SimScenario) and
 * sim_scenario_check.c (load-time limits and hints). */
#ifndef SIM_SCENARIO_PRIVATE_H
#define SIM_SCENARIO_PRIVATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/harness/sim_keys.h"
#include "sim/harness/sim_scenario.h"

typedef struct SimLoader {
    const char *path;       /* display path, borrowed */
    GKeyFile *kf;
    GHashTable *lines;      /* "group\nkey" (key "" = header) -> line number (1-based) */
    GHashTable *set_origin; /* "group\nkey" -> SimSetOrigin of the --set that set it */
    SimErrList *errs;       /* every error, in the one format (sim_keys.h) */
    uint32_t n_errors;      /* = sim_errlist_count(errs) */
    GPtrArray *strings;     /* values handed out by sim_loader_value, freed at the end */
    SimScenario *s;
} SimLoader;

/* Records an error located at (group, key); key NULL = the section itself. Resolving the
 * place costs a hash of group and key: callers reporting many errors on one key resolve
 * it once with sim_loader_place and use sim_loader_error_at. */
void sim_loader_error(SimLoader *L, const char *group, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/* The place (line or --set origin) of (group, key); borrowed strings, valid until the
 * load ends. */
void sim_loader_place(SimLoader *L, const char *group, const char *key, SimErrPlace *out);
void sim_loader_error_at(SimLoader *L, const SimErrPlace *place, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Records a note ("[group] key: text") for the CLI to print; never fails the load. */
void sim_loader_note(SimLoader *L, const char *group, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* The stripped value of group.key, or NULL when absent. Borrowed until the load ends. */
const char *sim_loader_value(SimLoader *L, const char *group, const char *key);

/* Checks every key of group against table (unknown keys, value types). */
void sim_loader_check_keys(SimLoader *L, const char *group, const SimKeySpec *table);

/* Builds L->s from the validated key file (sim_scenario_build.c). */
void sim_loader_build(SimLoader *L);

/* Load-time checks of a built scenario (sim_scenario_check.c): the job's size against
 * memory (an error), and the traps a run would only show as a violation (notes). */
void sim_loader_check_size(SimLoader *L);
void sim_loader_check_runtime_config(SimLoader *L);
void sim_loader_hints(SimLoader *L);

#endif /* SIM_SCENARIO_PRIVATE_H */
