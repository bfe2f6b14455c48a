/* sim_report_index.h - the report's internal types, shared by sim_report.c (runs and
 * gnuplot) and sim_report_index.c (the HTML / Markdown index). Not for use elsewhere.
 */
#ifndef SIM_REPORT_INDEX_H
#define SIM_REPORT_INDEX_H

#include <glib.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct SimReportPlot {
    char *file;    /* owned: file name next to the index; NULL when there was no data */
    char *caption; /* owned */
} SimReportPlot;

typedef struct SimReportRun {
    char *dir;                /* owned: the run directory */
    char *rel;                /* owned: its path relative to the report's DIR ("" = DIR) */
    char *prefix;             /* owned: rel with '/' -> '_', prefixes its plot files */
    GHashTable *summary;      /* summary.csv key -> value (lookup only) */
    char *first_violation;    /* owned: first line of violations.txt, or NULL */
    GPtrArray *violations;    /* char*, owned: every line of violations.txt */
    char *capsule;            /* owned: the run's replay capsule (*.capsule in dir), or NULL */
    char *bugs;               /* owned: planted bugs named by the capsule ("" = none) */
    char *replay;             /* owned: `ckptsim run ...` rebuilt from the capsule, or NULL */
    bool plotted;             /* plots made for it (see sim_report.h: which runs) */
    GPtrArray *plots;         /* SimReportPlot*, in plot order */
} SimReportRun;

typedef struct SimReportCtx {
    const char *format;       /* "svg" or "png" */
    const char *gnuplot;      /* path of the gnuplot executable */
    char *gnuplot_owned;
    const char *plots_dir;    /* the scripts */
    char *out_dir;            /* owned: where the index and plots go */
    GPtrArray *comparisons;   /* SimReportPlot*: aligned vs unaligned plots */
} SimReportCtx;

/* Runs gnuplot on plots_dir/script with plotsdir and fmt set, plus vars (gnuplot
 * statements "name='value'; ..."). false + SIM_REPORT_ERROR_GNUPLOT with its stderr. */
bool sim_report_gnuplot(const SimReportCtx *ctx, const char *script, const char *vars,
                        GError **error);
/* Writes s HTML-escaped (g_markup_escape_text: the report's one escaper). */
void sim_report_put_html(FILE *f, const char *s);
/* Writes the run's checkpoint statistics table (checkpoints.csv) as HTML. */
void sim_report_html_checkpoints(FILE *f, const SimReportRun *r);
/* strcmp over two char** (for sorting arrays of strings). */
int sim_report_cmp_strptr(const void *a, const void *b);
/* Writes the index (HTML, or Markdown when path ends in ".md"). */
bool sim_report_write_index(const SimReportCtx *ctx, const GPtrArray *runs, const char *path,
                            GError **error);

#endif /* SIM_REPORT_INDEX_H */
