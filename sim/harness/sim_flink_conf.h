/* sim_flink_conf.h - reading a Flink config.yaml for `ckptsim run|sweep --flink-conf FILE`.
 *
 * The file is Flink's own (Flink 1.19+ config.yaml, standard YAML: flat "a.b.c: v" keys,
 * nested maps "a: {b: {c: v}}" flattened to "a.b.c", lists joined with ';'; the legacy
 * flink-conf.yaml of flat "key: value" lines is valid YAML too), read through libyaml
 * after a bounded read (sim_read_text_file, SIM_FLINK_CONF_MAX_BYTES). Every key goes
 * through the one key registry (runtime/env/rt_config_keys.h), as [config] keys do:
 *   - modelled and known keys become "config.KEY=VALUE" overrides, placed before the
 *     user's --set arguments;
 *   - a refused value, or an unknown key in a family ckptsim models (execution.checkpointing.,
 *     restart-strategy., high-availability., state., ckptsim.) is an error
 *     "FILE:LINE: [config] key: message" (a typo must not vanish);
 *   - any other key (jobmanager.rpc.address, taskmanager.memory.process.size, rest.port...)
 *     is deployment detail the simulation has no use for: ignored with a note, as Flink
 *     itself ignores keys no component reads.
 * Precedence, as Flink's: the scenario's [config] < --flink-conf < --set (Flink's -D
 * dynamic properties override the file). Within one Configuration Flink's key precedence
 * still holds: a canonical key beats its deprecated name whatever the source.
 * Expanding the file into overrides keeps capsules and replay commands self-contained.
 */
#ifndef SIM_FLINK_CONF_H
#define SIM_FLINK_CONF_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

#define SIM_FLINK_CONF_MAX_BYTES (1u << 20) /* a config.yaml is at most 1 MiB */
#define SIM_FLINK_CONF_MAX_DEPTH 32u         /* nested maps */

/* Parses text (display_path names it in messages) and appends to sets (char*, owned by
 * the array's free function) one "config.KEY=VALUE" per key in file order, and to notes
 * (char*) one "PATH:LINE: [config] KEY: note" per key ignored. Returns false with every
 * error in one SIM_SCENARIO_ERROR_INVALID on any problem. */
bool sim_flink_conf_parse(const char *display_path, const char *text, GPtrArray *sets,
                          GPtrArray *notes, GError **error);

/* For the CLI: reads path (bounded), and replaces *sets (a NULL-terminated string vector
 * owned by the caller, may be NULL) with the file's overrides followed by the old *sets.
 * Prints the notes to notes_out (may be NULL). Returns false with an error to print
 * (exit 2) on any problem; *sets is then unchanged. */
bool sim_flink_conf_merge(const char *path, char ***sets, FILE *notes_out, GError **error);

/* The CLI's one call: path NULL = nothing to do (true); else sim_flink_conf_merge with
 * notes and errors printed to stderr (errors followed by "PROG: bad input"). */
bool sim_flink_conf_apply(const char *prog, const char *path, char ***sets);

#endif /* SIM_FLINK_CONF_H */
