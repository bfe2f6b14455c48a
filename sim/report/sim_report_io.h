/* sim_report_io.h - small output helpers shared by the metrics writers and the report:
 * open/close a file in a directory with errors as GErrors (SIM_METRICS_ERROR_IO), and
 * CSV field quoting (JSON is written with json-glib, HTML escaped with
 * g_markup_escape_text). Output only; deterministic.
 */
#ifndef SIM_REPORT_IO_H
#define SIM_REPORT_IO_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

/* Opens dir/name for writing (truncates). NULL + error naming the path on failure. */
FILE *sim_report_open(const char *dir, const char *name, GError **error);
/* Flushes and closes f; false + error naming dir/name if any write failed. */
bool sim_report_close(FILE *f, const char *dir, const char *name, GError **error);
/* Writes s as one CSV field: as is, or double-quoted (quotes doubled, newlines turned
 * into spaces) when it holds a comma, quote or newline. */
void sim_report_put_csv_field(FILE *f, const char *s);

#endif /* SIM_REPORT_IO_H */
