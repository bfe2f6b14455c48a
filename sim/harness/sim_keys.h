/* sim_keys.h - the tables of valid scenario keys, their value types, and the checks and
 * "did you mean" suggestions the scenario loader builds its error messages from.
 *
 * Every section of a scenario file (scenarios/README.md) has a table of SimKeySpec: a
 * key's name, its value type and bounds, and a one-line help. [config] is checked against
 * the runtime's key registry instead (runtime/env/rt_config_keys.h: Flink's names, their
 * deprecated aliases, and the known Flink keys ckptsim does not model). Unknown keys are
 * errors; sim_keys_nearest() proposes the nearest valid key (Levenshtein distance).
 */
#ifndef SIM_KEYS_H
#define SIM_KEYS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum SimKeyType {
    SIM_KEY_STRING,   /* any non-empty text */
    SIM_KEY_NAME,     /* [A-Za-z0-9_-]+ */
    SIM_KEY_U64,      /* unsigned integer within [min, max] */
    SIM_KEY_DOUBLE,   /* finite number >= 0 */
    SIM_KEY_BOOL,     /* true|false|yes|no|on|off|1|0 */
    SIM_KEY_DURATION, /* Flink duration: "500 ms", "2 s", bare number = ms */
    SIM_KEY_SIZE,     /* Flink memory size: "64 kb", bare number = bytes */
    SIM_KEY_CHOICE,   /* one of choices ("a|b|c"), case-insensitive */
    SIM_KEY_PATH,     /* a relative storage path (rt_storage_path_valid) */
    SIM_KEY_SYNTAX,   /* checked by the section's own parser (faults, latencies) */
} SimKeyType;

typedef struct SimKeySpec {
    const char *name;    /* NULL terminates a table */
    SimKeyType type;
    const char *choices; /* SIM_KEY_CHOICE: "a|b|c" */
    uint64_t min, max;   /* SIM_KEY_U64: inclusive bounds (max 0 = no upper bound) */
    const char *help;    /* one line, shown by suggestions and the README */
} SimKeySpec;

/* The key tables of each section (NULL-name terminated). */
extern const SimKeySpec sim_keys_scenario[];
extern const SimKeySpec sim_keys_cluster[];
extern const SimKeySpec sim_keys_operator[];
extern const SimKeySpec sim_keys_network[];
extern const SimKeySpec sim_keys_random_faults[];
extern const SimKeySpec sim_keys_zookeeper[];
extern const SimKeySpec sim_keys_expect[];

/* The entry named name in table, or NULL. */
const SimKeySpec *sim_keys_find(const SimKeySpec *table, const char *name);

/* Checks value against spec's type and bounds. On failure returns false and sets
 * *why to a newly allocated reason ("expected a duration such as '500 ms'"). */
bool sim_key_check(const SimKeySpec *spec, const char *value, char **why);

/* The valid name nearest to name among the NULL-terminated candidates, if it is close
 * enough to be a plausible typo (distance <= max(2, len/3); <= 1 for names of up to 3
 * characters); NULL otherwise. Borrowed. */
const char *sim_keys_nearest(const char *name, const char *const *candidates);

/* A newly allocated hint for an unknown key: " (did you mean 'x'?)" when a key of table
 * is close, else "" (no list of every key: the README has it). */
char *sim_keys_hint(const SimKeySpec *table, const char *name);

/* Levenshtein edit distance (insert, delete, substitute), bounded to strings of at most
 * 256 bytes (longer ones compare as far apart). */
size_t sim_levenshtein(const char *a, const char *b);

/* Checks the KEY of a --set KEY=VALUE (as written, untrimmed): non-empty, letters,
 * digits, '.', '_', '-' only ('>' too under "edges."), no whitespace, no empty dotted
 * part ("scenario.", ".x", "a..b"). On failure returns false and sets *why (newly
 * allocated). GKeyFile would refuse such a key with a critical warning and drop it. */
bool sim_set_key_check(const char *key, char **why);

/* ------------------------------------------------------------------ error lists */

/* The one error format of every input ckptsim reads (scenario, --set, --flink-conf):
 *     FILE:LINE: [section] key: message     (":LINE" only where there is a line)
 *     FILE: --set ARG: [section] key: message
 * A SimErrList keeps the SIM_ERRLIST_MAX first errors in input order (file lines
 * first, by line, then --set arguments in order, then errors of no place), counts the
 * rest, and costs O(max) per error whatever the input (no re-scan of anything). */
#define SIM_ERRLIST_MAX 20u
typedef struct SimErrList SimErrList;

/* Where an error is: line (0 = none) or origin (a --set argument, NULL = none, index =
 * its position among the --set arguments), the section and key (either may be NULL). */
typedef struct SimErrPlace {
    unsigned line;
    const char *origin;
    unsigned origin_index;
    const char *section;
    const char *key;
} SimErrPlace;

SimErrList *sim_errlist_new(const char *path);
/* Records msg at place (copied; long keys and origins are shortened). */
void sim_errlist_add(SimErrList *E, const SimErrPlace *place, const char *msg);
unsigned sim_errlist_count(const SimErrList *E);
/* The errors, one a line, in input order, then "FILE: ... and N more errors" when there
 * were more than the cap; NULL when there were none. Newly allocated; E stays usable. */
char *sim_errlist_text(const SimErrList *E);
void sim_errlist_free(SimErrList *E);

#endif /* SIM_KEYS_H */
