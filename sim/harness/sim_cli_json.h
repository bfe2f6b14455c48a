/* sim_cli_json.h - every JSON the command line writes (run, sweep, replay, bugs) goes
 * through json-glib (JsonBuilder + JsonGenerator, one compact line, members in the order
 * they were added), never through printf: the generator does the escaping. These are the
 * thin helpers the subcommands share, and the renderings of one run's outcome.
 *
 * Numbers: json-glib holds integers as gint64. An unsigned value above 2^63-1 (only a
 * seed can be that large) is written as a JSON string of its decimal digits, so it is
 * never silently wrapped to a negative number. */
#ifndef SIM_CLI_JSON_H
#define SIM_CLI_JSON_H

#include <json-glib/json-glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/harness/sim_cli.h"

/* Each adds a member named key to the open object of b, or (key NULL) an element to
 * its open array. Strings may be NULL: written as "" (sim_json_add_string) or null
 * (sim_json_add_string_or_null). */
void sim_json_add_string(JsonBuilder *b, const char *key, const char *value);
void sim_json_add_string_or_null(JsonBuilder *b, const char *key, const char *value);
void sim_json_add_u64(JsonBuilder *b, const char *key, uint64_t value);
void sim_json_add_bool(JsonBuilder *b, const char *key, bool value);
/* A figure rounded to decimals places (so the text is stable and short). */
void sim_json_add_double(JsonBuilder *b, const char *key, double value, int decimals);
/* A NULL-terminated list (NULL: empty) as an array of strings. */
void sim_json_add_strv(JsonBuilder *b, const char *key, const char *const *list);

/* The compact text of b's finished root (one line, no newline); frees b. New string. */
char *sim_json_finish(JsonBuilder *b);

/* json (one object) with a string member key=value appended: parsed and regenerated
 * with json-glib. New string; NULL when json is not an object. */
char *sim_json_with_member(const char *json, const char *key, const char *value);

/* The --json object of one finished run (keys: scenario, file, seed, bugs, set, verdict,
 * violations[{invariant,message,time_ns,checkpoint[,fault]}], trace_hash, run figures,
 * faults, leaders, expected_violations, facts[, swarm][, capsule][, replay]). */
char *sim_cli_run_json(const SimCliJob *job, const SimRunResult *r, const char *verdict,
                       const char *capsule, const char *replay);

/* The --json object of a run the runtime refused (verdict "error"). */
char *sim_cli_error_json(const SimCliJob *job, const char *message);

/* The --json object of a run whose process died (verdict "violation", invariant
 * "crash", empty trace hash). */
char *sim_cli_crash_json(const SimCliJob *job, const char *why, const char *replay);

#endif /* SIM_CLI_JSON_H */
