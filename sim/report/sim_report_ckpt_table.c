/* sim_report_ckpt_table.c - a run's checkpoint statistics as an HTML table, the columns
 * of Flink's web UI checkpoint history (CheckpointStatsTracker): id, status, trigger
 * time, end-to-end duration, the slowest subtask's start delay, alignment, sync and
 * async durations, state size and persisted channel state (in-flight data), and the
 * reason of an abort. Read from checkpoints.csv (sim_metrics_write_ckpt.c).
 */
#include <string.h>

#include "sim/report/sim_report_index.h"

/* checkpoints.csv columns shown, in order: header, column index (0-based), unit. */
typedef struct CkptColumn {
    const char *header;
    unsigned col;
    const char *unit;
} CkptColumn;

static const CkptColumn ckpt_columns[] = {
    {"id", 0, ""},
    {"status", 3, ""},
    {"trigger", 1, " s"},
    {"end to end", 4, " ms"},
    {"start delay (max)", 9, " ms"},
    {"alignment (max)", 7, " ms"},
    {"sync (max)", 10, " ms"},
    {"async (max)", 11, " ms"},
    {"state size", 12, " B"},
    {"channel state (persisted)", 13, " B"},
    {"acks", 6, ""},
    {"abort reason", 18, ""},
};

/* Splits one CSV line into at most n fields (the last may be quoted, quotes doubled). */
static char **split_row(const char *line, unsigned n) {
    char **f = g_strsplit(line, ",", (gint)n);
    guint len = g_strv_length(f);
    if (len > 0) {
        char *last = f[len - 1];
        size_t l = strlen(last);
        if (l >= 2 && last[0] == '"' && last[l - 1] == '"') {
            GString *u = g_string_new(NULL);
            for (size_t i = 1; i + 1 < l; i++) {
                g_string_append_c(u, last[i]);
                if (last[i] == '"' && last[i + 1] == '"')
                    i++;
            }
            g_free(last);
            f[len - 1] = g_string_free(u, FALSE);
        }
    }
    return f;
}

void sim_report_html_checkpoints(FILE *f, const SimReportRun *r) {
    char *path = g_build_filename(r->dir, "checkpoints.csv", NULL);
    char *text = NULL;
    bool ok = g_file_get_contents(path, &text, NULL, NULL);
    g_free(path);
    if (!ok)
        return;
    char **lines = g_strsplit(text, "\n", -1);
    fputs("<details><summary>Checkpoint statistics</summary>\n<table class=\"ckpts\"><thead>"
          "<tr>",
          f);
    for (size_t c = 0; c < G_N_ELEMENTS(ckpt_columns); c++)
        fprintf(f, "<th>%s</th>", ckpt_columns[c].header);
    fputs("</tr></thead><tbody>\n", f);
    for (char **l = lines; *l != NULL; l++) {
        if (l == lines || **l == '\0')
            continue; /* header, end */
        char **fields = split_row(*l, 19);
        guint nf = g_strv_length(fields);
        fprintf(f, "<tr class=\"%s\">", nf > 3 ? fields[3] : "");
        for (size_t c = 0; c < G_N_ELEMENTS(ckpt_columns); c++) {
            const CkptColumn *col = &ckpt_columns[c];
            const char *v = col->col < nf ? fields[col->col] : "";
            fputs("<td>", f);
            sim_report_put_html(f, v);
            if (v[0] != '\0')
                fputs(col->unit, f);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
        g_strfreev(fields);
    }
    fputs("</tbody></table></details>\n", f);
    g_strfreev(lines);
    g_free(text);
}
