/* sim_museum.h - the bug museum: real Flink incidents, each replayed by one scenario
 * (scenarios/museum/<ticket>.ini) and one planted bug named after its ticket
 * (runtime/env/rt_bugs.c). `ckptsim museum` runs every incident's scenario with its
 * bug (it must be caught: the expected invariant violated at some seed of the range)
 * and without it (every seed must hold). */
#ifndef SIM_MUSEUM_H
#define SIM_MUSEUM_H

#include <stddef.h>

typedef struct SimMuseumIncident {
    const char *ticket;      /* "FLINK-24543": also the --bug name and the scenario's name */
    const char *invariant;   /* the invariant expected to catch the bug */
    const char *description; /* one line: what went wrong in Flink */
} SimMuseumIncident;

/* The incidents, in the museum's order; *n receives their number. */
const SimMuseumIncident *sim_museum_incidents(size_t *n);

#endif /* SIM_MUSEUM_H */
