/* sim_scenario_private.h - the loader state shared by sim_scenario.c (reading, line
 * map, --set, error messages) and sim_scenario_build.c (sections -> SimScenario). */
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
    GHashTable *set_origin; /* "group\nkey" -> the --set argument that set it */
    GString *errors;        /* one message per line */
    uint32_t n_errors;
    GPtrArray *strings;     /* values handed out by sim_loader_value, freed at the end */
    SimScenario *s;
} SimLoader;

/* Records an error located at (group, key); key NULL = the section itself. */
void sim_loader_error(SimLoader *L, const char *group, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* The stripped value of group.key, or NULL when absent. Borrowed until the load ends. */
const char *sim_loader_value(SimLoader *L, const char *group, const char *key);

/* Checks every key of group against table (unknown keys, value types). */
void sim_loader_check_keys(SimLoader *L, const char *group, const SimKeySpec *table);

/* Builds L->s from the validated key file (sim_scenario_build.c). */
void sim_loader_build(SimLoader *L);

#endif /* SIM_SCENARIO_PRIVATE_H */
