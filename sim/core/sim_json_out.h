/* sim_json_out.h - prints a finished json-glib object as one line on stdout: the one
 * JSON writer the low layers (sim/core, sim/world) share; sim/harness has its own
 * builder helpers (sim_cli_json.h) on top of the same library. */
#ifndef SIM_JSON_OUT_H
#define SIM_JSON_OUT_H

#include <json-glib/json-glib.h>

/* Prints b's root (every begin matched by its end) compactly plus a newline, and frees b
 * (ownership taken). */
void sim_json_out_print(JsonBuilder *b);

#endif /* SIM_JSON_OUT_H */
