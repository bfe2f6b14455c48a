/* sim_report.h - the gnuplot report of one run or of many (`ckptsim report`).
 *
 * Input: a run directory written by sim_metrics_write() (summary.csv, throughput.csv,
 * latency.csv, checkpoints.csv, alignments.csv, recovery.csv, markers.csv,
 * violations.txt), or a directory whose sub-directories (one or two levels down) are
 * run directories, e.g. one per scenario and seed.
 *
 * Output, next to the index file (default DIR/report.html, self-contained: inline CSS
 * and JavaScript; a name ending in ".md" gives Markdown): a verdict table of every run
 * (filters by scenario, verdict and invariant; under a violating run every violation,
 * the planted bug, its capsule and the replay / shrink / run commands); per plotted run
 * (every run up to 40, else the lowest seed of each scenario and mode and the first 20
 * violating runs) plots made by gnuplot with the scripts in plots/ - throughput and
 * latency over simulated time with faults shaded by kind and failovers, restores and
 * leader changes marked; the latency CDF; checkpoint durations split into Flink's phases,
 * alignments and sizes; recovery times - and its checkpoint statistics table; when runs
 * of the same scenario and seed exist with aligned and unaligned checkpoints
 * (summary.csv "mode"), an aligned vs unaligned comparison plot. Plots whose data is
 * empty are left out (the index says so). Deterministic: no timestamps, sorted runs.
 *
 * gnuplot is a run-time tool: it is looked up on PATH when the report runs. The
 * scripts are found in $CKPTSIM_PLOTS_DIR, else sim_report_default_plots_dir().
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <glib.h>
#include <stdbool.h>

#define SIM_REPORT_ERROR (sim_report_error_quark())
GQuark sim_report_error_quark(void);
typedef enum {
    SIM_REPORT_ERROR_NO_GNUPLOT, /* gnuplot is not on PATH */
    SIM_REPORT_ERROR_BAD_INPUT,  /* no run directory, unreadable CSV, bad option */
    SIM_REPORT_ERROR_IO,         /* cannot write the output, scripts not found */
    SIM_REPORT_ERROR_GNUPLOT,    /* gnuplot failed on a script (its stderr is quoted) */
} SimReportError;

typedef struct SimReportOptions {
    const char *out_path;  /* index file; NULL = DIR/report.html; "*.md" = Markdown */
    const char *format;    /* plot format: "svg" (default) or "png" */
    const char *plots_dir; /* NULL = $CKPTSIM_PLOTS_DIR, else the build's default */
    const char *gnuplot;   /* NULL = "gnuplot" looked up on PATH */
} SimReportOptions;

void sim_report_options_init(SimReportOptions *opt);

/* The directory of the gnuplot scripts that a report uses by default (borrowed): the
 * first of BINDIR/plots, BINDIR/../share/ckptsim/plots, the configured install directory
 * (datadir/ckptsim/plots) and the source tree's plots/ that holds common.gp. */
const char *sim_report_default_plots_dir(void);

/* Writes the report of the run(s) in dir. false + a SIM_REPORT_ERROR on failure. */
bool sim_report_generate(const char *dir, const SimReportOptions *opt, GError **error);

/* `ckptsim report DIR [--out FILE] [--format svg|png]`: exit 0 when the report was
 * written, 2 on bad input or when gnuplot is missing, 1 when gnuplot failed. */
int sim_cmd_report(int argc, char **argv);

#endif /* SIM_REPORT_H */
