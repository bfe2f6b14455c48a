/* sim_report_index.c - the report's index: a verdict table (one row per run, from
 * summary.csv, with the first violation of each failed run), the aligned vs unaligned
 * comparisons, then every run's plots. HTML by default, Markdown for a "*.md" path.
 * Deterministic: the same runs give the same bytes.
 */
#include <stdio.h>
#include <string.h>

#include "sim/report/sim_metrics.h"
#include "sim/report/sim_report.h"
#include "sim/report/sim_report_index.h"
#include "sim/report/sim_report_io.h"

/* Table columns: header and summary.csv key ("" = computed). */
typedef struct Column {
    const char *header;
    const char *key;
} Column;

static const Column columns[] = {
    {"scenario", "scenario"},
    {"seed", "seed"},
    {"mode", "mode"},
    {"verdict", "verdict"},
    {"violations", "violations"},
    {"records committed", "records_committed"},
    {"checkpoints completed", "checkpoints_completed"},
    {"checkpoints aborted", "checkpoints_aborted"},
    {"p99 latency (ms)", "latency_p99_ms"},
    {"recoveries", "recoveries"},
    {"mean recovery (ms)", "recovery_mean_ms"},
};

static const char *cell(const SimReportRun *r, const char *key) {
    const char *v = g_hash_table_lookup(r->summary, key);
    return v != NULL ? v : "";
}

static const char *run_name(const SimReportRun *r) {
    return r->rel[0] != '\0' ? r->rel : "run";
}

static bool run_held(const SimReportRun *r) {
    return strcmp(cell(r, "verdict"), "ok") == 0;
}

static void put_html(FILE *f, const char *s) {
    for (const char *p = s; *p != '\0'; p++) {
        switch (*p) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*p, f);
        }
    }
}

static void put_md(FILE *f, const char *s) {
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '|' || *p == '*' || *p == '_' || *p == '`' || *p == '<')
            fputc('\\', f);
        fputc(*p == '\n' ? ' ' : *p, f);
    }
}

static void counts(const GPtrArray *runs, unsigned *held, unsigned *failed) {
    *held = *failed = 0;
    for (guint i = 0; i < runs->len; i++)
        if (run_held(g_ptr_array_index(runs, i)))
            (*held)++;
        else
            (*failed)++;
}

/* ------------------------------------------------------------------ HTML */

static void html_plot(FILE *f, const SimReportPlot *pl) {
    if (pl->file == NULL) {
        fputs("<p class=\"nodata\">", f);
        put_html(f, pl->caption);
        fputs(": no data.</p>\n", f);
        return;
    }
    fputs("<figure><img src=\"", f);
    put_html(f, pl->file);
    fputs("\" alt=\"", f);
    put_html(f, pl->caption);
    fputs("\"><figcaption>", f);
    put_html(f, pl->caption);
    fputs("</figcaption></figure>\n", f);
}

static void html_table(FILE *f, const GPtrArray *runs) {
    size_t nc = G_N_ELEMENTS(columns);
    fputs("<table>\n<tr><th>run</th>", f);
    for (size_t c = 0; c < nc; c++)
        fprintf(f, "<th>%s</th>", columns[c].header);
    fputs("</tr>\n", f);
    for (guint i = 0; i < runs->len; i++) {
        const SimReportRun *r = g_ptr_array_index(runs, i);
        fprintf(f, "<tr class=\"%s\"><td><a href=\"#run-%s\">", run_held(r) ? "ok" : "bad",
                r->prefix[0] ? r->prefix : "run");
        put_html(f, run_name(r));
        fputs("</a></td>", f);
        for (size_t c = 0; c < nc; c++) {
            fputs("<td>", f);
            put_html(f, cell(r, columns[c].key));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
        if (r->first_violation != NULL) {
            fprintf(f, "<tr class=\"bad\"><td></td><td colspan=\"%zu\"><code>", nc);
            put_html(f, r->first_violation);
            fputs("</code></td></tr>\n", f);
        }
    }
    fputs("</table>\n", f);
}

static void write_html(FILE *f, const SimReportCtx *ctx, const GPtrArray *runs) {
    unsigned held, failed;
    counts(runs, &held, &failed);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ckptsim report"
          "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:"
          "collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
          "tr.bad td{background:#fde2e2}tr.ok td{background:#e5f5e0}figure{margin:1em 0}"
          "img{max-width:100%}.nodata{color:#888}</style></head><body>\n"
          "<h1>ckptsim report</h1>\n",
          f);
    fprintf(f, "<p>%u run%s: %u held, %u with violations.</p>\n", runs->len,
            runs->len == 1 ? "" : "s", held, failed);
    html_table(f, runs);
    if (ctx->comparisons->len > 0) {
        fputs("<h2>Aligned vs unaligned</h2>\n", f);
        for (guint i = 0; i < ctx->comparisons->len; i++)
            html_plot(f, g_ptr_array_index(ctx->comparisons, i));
    }
    for (guint i = 0; i < runs->len; i++) {
        const SimReportRun *r = g_ptr_array_index(runs, i);
        fprintf(f, "<h2 id=\"run-%s\">", r->prefix[0] ? r->prefix : "run");
        put_html(f, run_name(r));
        fputs(": ", f);
        put_html(f, cell(r, "scenario"));
        fputs(" seed ", f);
        put_html(f, cell(r, "seed"));
        fprintf(f, " &mdash; %s</h2>\n", run_held(r) ? "held" : "VIOLATION");
        for (guint p = 0; p < r->plots->len; p++)
            html_plot(f, g_ptr_array_index(r->plots, p));
    }
    fputs("</body></html>\n", f);
}

/* ------------------------------------------------------------------ Markdown */

static void md_plot(FILE *f, const SimReportPlot *pl) {
    if (pl->file == NULL) {
        put_md(f, pl->caption);
        fputs(": no data.\n\n", f);
        return;
    }
    fputs("![", f);
    put_md(f, pl->caption);
    fprintf(f, "](%s)\n\n", pl->file);
}

static void md_table(FILE *f, const GPtrArray *runs) {
    size_t nc = G_N_ELEMENTS(columns);
    fputs("| run |", f);
    for (size_t c = 0; c < nc; c++)
        fprintf(f, " %s |", columns[c].header);
    fputs("\n|---|", f);
    for (size_t c = 0; c < nc; c++)
        fputs("---|", f);
    fputc('\n', f);
    for (guint i = 0; i < runs->len; i++) {
        const SimReportRun *r = g_ptr_array_index(runs, i);
        fputs("| ", f);
        put_md(f, run_name(r));
        for (size_t c = 0; c < nc; c++) {
            fputs(" | ", f);
            put_md(f, cell(r, columns[c].key));
        }
        fputs(" |\n", f);
    }
    fputc('\n', f);
    for (guint i = 0; i < runs->len; i++) {
        const SimReportRun *r = g_ptr_array_index(runs, i);
        if (r->first_violation == NULL)
            continue;
        fputs("- ", f);
        put_md(f, run_name(r));
        fputs(": ", f);
        put_md(f, r->first_violation);
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void write_md(FILE *f, const SimReportCtx *ctx, const GPtrArray *runs) {
    unsigned held, failed;
    counts(runs, &held, &failed);
    fprintf(f, "# ckptsim report\n\n%u run%s: %u held, %u with violations.\n\n", runs->len,
            runs->len == 1 ? "" : "s", held, failed);
    md_table(f, runs);
    if (ctx->comparisons->len > 0) {
        fputs("## Aligned vs unaligned\n\n", f);
        for (guint i = 0; i < ctx->comparisons->len; i++)
            md_plot(f, g_ptr_array_index(ctx->comparisons, i));
    }
    for (guint i = 0; i < runs->len; i++) {
        const SimReportRun *r = g_ptr_array_index(runs, i);
        fputs("## ", f);
        put_md(f, run_name(r));
        fputs(": ", f);
        put_md(f, cell(r, "scenario"));
        fprintf(f, " seed %s (%s)\n\n", cell(r, "seed"), run_held(r) ? "held" : "VIOLATION");
        for (guint p = 0; p < r->plots->len; p++)
            md_plot(f, g_ptr_array_index(r->plots, p));
    }
}

bool sim_report_write_index(const SimReportCtx *ctx, const GPtrArray *runs, const char *path,
                            GError **error) {
    char *dir = g_path_get_dirname(path);
    char *name = g_path_get_basename(path);
    GError *io = NULL;
    FILE *f = sim_report_open(dir, name, &io);
    bool ok = f != NULL;
    if (ok) {
        if (g_str_has_suffix(path, ".md"))
            write_md(f, ctx, runs);
        else
            write_html(f, ctx, runs);
        ok = sim_report_close(f, dir, name, &io);
    }
    if (!ok) {
        g_set_error(error, SIM_REPORT_ERROR, SIM_REPORT_ERROR_IO, "%s", io->message);
        g_error_free(io);
    }
    g_free(dir);
    g_free(name);
    return ok;
}
