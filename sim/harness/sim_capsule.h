/* sim_capsule.h - replay capsules: a small file written on every violation that holds
 * everything needed to reproduce the run bit for bit: the scenario text inline, the
 * --set options, the seed, the planted bugs, the kept faults (after shrinking), the
 * build version and the trace hash the run produced. `ckptsim replay CAPSULE` re-runs
 * it and checks that the trace hash matches.
 *
 * Format: a GKeyFile with one [capsule] section (keys: version, build, scenario-path,
 * scenario-name, seed, bugs, set, faults, trace-hash, verdict, invariants, scenario).
 * The scenario text is stored escaped in the single 'scenario' value.
 */
#ifndef SIM_CAPSULE_H
#define SIM_CAPSULE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define SIM_CAPSULE_ERROR (sim_capsule_error_quark())
GQuark sim_capsule_error_quark(void);
typedef enum { SIM_CAPSULE_ERROR_READ, SIM_CAPSULE_ERROR_INVALID, SIM_CAPSULE_ERROR_WRITE }
SimCapsuleError;

#define SIM_CAPSULE_VERSION 1
/* The largest capsule read or written. A capsule holds one scenario file (a few KiB);
 * anything bigger is refused before it is read, so a wrong path costs nothing. */
#define SIM_CAPSULE_MAX_BYTES (16u << 20)

typedef struct SimCapsule {
    char *build;         /* "ckptsim 0.1.0 (gcc 12.2.0)"; owned */
    char *scenario_path; /* as given on the command line; owned */
    char *scenario_name; /* owned */
    char *scenario_text; /* the file's text, before --set; owned */
    char **sets;         /* NULL-terminated KEY=VALUE list; owned (g_strfreev) */
    char **bugs;         /* NULL-terminated bug names; owned */
    uint64_t seed;
    bool has_faults;     /* the plan was restricted to faults[] */
    uint32_t *faults;    /* 1-based fault numbers, ascending; owned */
    uint32_t n_faults;
    uint64_t trace_hash;
    char *verdict;       /* "violation" / "pass"; owned */
    char *invariants;    /* comma-separated invariants violated; owned */
} SimCapsule;

/* The build string of this binary (version + compiler). Static. */
const char *sim_capsule_build(void);

/* Writes c to path (atomically: temp file + rename); refuses a capsule larger than
 * SIM_CAPSULE_MAX_BYTES. */
bool sim_capsule_write(const SimCapsule *c, const char *path, GError **error);
/* Reads path into a new capsule; NULL + error when unreadable, larger than
 * SIM_CAPSULE_MAX_BYTES (checked before reading) or malformed. Integers are strict:
 * a negative, out-of-range or non-numeric seed, version or trace hash is an error that
 * names path:line and the key ("bad seed"). */
SimCapsule *sim_capsule_read(const char *path, GError **error);
void sim_capsule_free(SimCapsule *c);

/* Parses "1,3,7" into ascending unique 1-based numbers (new array, *n its length).
 * false if malformed (empty, zero, non-numeric) or more than 100000 entries. */
bool sim_parse_fault_list(const char *text, uint32_t **out, uint32_t *n);
/* "1,3,7" (new string; "" for an empty list). */
char *sim_format_fault_list(const uint32_t *faults, uint32_t n);

#endif /* SIM_CAPSULE_H */
