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

void sim_report_put_html(FILE *f, const char *s) {
    char *e = g_markup_escape_text(s, -1);
    fputs(e, f);
    g_free(e);
}

#define put_html sim_report_put_html

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

/* The invariants a run violated: the word before ':' of each violations.txt line,
 * unique, space-separated (the table's filter reads them). */
static char *run_invariants(const SimReportRun *r) {
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < r->violations->len; i++) {
        const char *line = g_ptr_array_index(r->violations, i);
        const char *colon = strchr(line, ':');
        char *inv = colon != NULL ? g_strndup(line, (gsize)(colon - line)) : g_strdup(line);
        char *padded = g_strdup_printf(" %s ", inv);
        char *have = g_strdup_printf(" %s ", s->str);
        if (strstr(have, padded) == NULL)
            g_string_append_printf(s, "%s%s", s->len > 0 ? " " : "", inv);
        g_free(have);
        g_free(padded);
        g_free(inv);
    }
    return g_string_free(s, FALSE);
}

static void html_violation_details(FILE *f, const SimReportRun *r, size_t ncols) {
    fprintf(f, "<tr class=\"detail bad\"><td></td><td colspan=\"%zu\"><ul>", ncols);
    for (guint i = 0; i < r->violations->len; i++) {
        fputs("<li><code>", f);
        put_html(f, g_ptr_array_index(r->violations, i));
        fputs("</code></li>", f);
    }
    fputs("</ul>", f);
    if (r->bugs != NULL && r->bugs[0] != '\0') {
        fputs("<p>planted bug: <b>", f);
        put_html(f, r->bugs);
        fputs("</b></p>", f);
    }
    if (r->capsule != NULL) {
        fputs("<p>capsule: <code>", f);
        put_html(f, r->capsule);
        fputs("</code><br>replay: <code>ckptsim replay ", f);
        put_html(f, r->capsule);
        fputs("</code><br>shrink: <code>ckptsim shrink ", f);
        put_html(f, r->capsule);
        fputs("</code>", f);
        if (r->replay != NULL) {
            fputs("<br>rerun: <code>", f);
            put_html(f, r->replay);
            fputs("</code>", f);
        }
        fputs("</p>", f);
    } else {
        fputs("<p>no capsule in the run directory (write one with "
              "<code>ckptsim run SCENARIO --seed N --out DIR</code>)</p>",
              f);
    }
    fputs("</td></tr>\n", f);
}

static void html_filters(FILE *f) {
    fputs("<p class=\"filters\">scenario <select id=\"f-scenario\"><option value=\"\">all"
          "</option></select> verdict <select id=\"f-verdict\"><option value=\"\">all</option>"
          "<option>ok</option><option>violation</option></select> invariant <select "
          "id=\"f-invariant\"><option value=\"\">all</option></select> <span id=\"f-count\">"
          "</span></p>\n",
          f);
}

static void html_table(FILE *f, const GPtrArray *runs) {
    size_t nc = G_N_ELEMENTS(columns);
    html_filters(f);
    fputs("<table id=\"verdicts\">\n<thead><tr><th>run</th>", f);
    for (size_t c = 0; c < nc; c++)
        fprintf(f, "<th>%s</th>", columns[c].header);
    fputs("</tr></thead>\n<tbody>\n", f);
    for (guint i = 0; i < runs->len; i++) {
        const SimReportRun *r = g_ptr_array_index(runs, i);
        char *inv = run_invariants(r);
        fprintf(f, "<tr class=\"run %s\" data-scenario=\"", run_held(r) ? "ok" : "bad");
        put_html(f, cell(r, "scenario"));
        fprintf(f, "\" data-verdict=\"%s\" data-invariants=\"", run_held(r) ? "ok" : "violation");
        put_html(f, inv);
        fputs("\"><td>", f);
        if (r->plotted)
            fprintf(f, "<a href=\"#run-%s\">", r->prefix[0] ? r->prefix : "run");
        put_html(f, run_name(r));
        fputs(r->plotted ? "</a></td>" : "</td>", f);
        for (size_t c = 0; c < nc; c++) {
            fputs("<td>", f);
            put_html(f, cell(r, columns[c].key));
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
        if (r->violations->len > 0)
            html_violation_details(f, r, nc);
        g_free(inv);
    }
    fputs("</tbody></table>\n", f);
}

/* The filters: rows of the verdict table shown when they match every selection; a
 * violation's detail row follows its run row. Plain DOM calls, no library. */
static const char report_js[] =
    "(function () {\n"
    "  var rows = Array.prototype.slice.call(document.querySelectorAll('#verdicts tr.run'));\n"
    "  var sel = { scenario: document.getElementById('f-scenario'),\n"
    "              verdict: document.getElementById('f-verdict'),\n"
    "              invariant: document.getElementById('f-invariant') };\n"
    "  if (!sel.scenario || !sel.verdict || !sel.invariant) return;\n"
    "  function fill(select, values) {\n"
    "    Object.keys(values).sort().forEach(function (v) {\n"
    "      var o = document.createElement('option'); o.textContent = v; o.value = v;\n"
    "      select.appendChild(o); });\n"
    "  }\n"
    "  var scen = {}, inv = {};\n"
    "  rows.forEach(function (r) {\n"
    "    scen[r.getAttribute('data-scenario')] = 1;\n"
    "    (r.getAttribute('data-invariants') || '').split(' ').forEach(function (i) {\n"
    "      if (i) inv[i] = 1; });\n"
    "  });\n"
    "  fill(sel.scenario, scen); fill(sel.invariant, inv);\n"
    "  function apply() {\n"
    "    var shown = 0;\n"
    "    rows.forEach(function (r) {\n"
    "      var invs = ' ' + (r.getAttribute('data-invariants') || '') + ' ';\n"
    "      var ok = (!sel.scenario.value || r.getAttribute('data-scenario') === sel.scenario.value)\n"
    "        && (!sel.verdict.value || r.getAttribute('data-verdict') === sel.verdict.value)\n"
    "        && (!sel.invariant.value || invs.indexOf(' ' + sel.invariant.value + ' ') >= 0);\n"
    "      r.style.display = ok ? '' : 'none';\n"
    "      var d = r.nextElementSibling;\n"
    "      if (d && d.classList.contains('detail')) d.style.display = ok ? '' : 'none';\n"
    "      if (ok) shown++;\n"
    "    });\n"
    "    document.getElementById('f-count').textContent = shown + ' of ' + rows.length + ' runs';\n"
    "  }\n"
    "  [sel.scenario, sel.verdict, sel.invariant].forEach(function (s) {\n"
    "    s.addEventListener('change', apply); });\n"
    "  apply();\n"
    "})();\n";

static void write_html(FILE *f, const SimReportCtx *ctx, const GPtrArray *runs) {
    unsigned held, failed, plotted = 0;
    counts(runs, &held, &failed);
    for (guint i = 0; i < runs->len; i++)
        plotted += ((const SimReportRun *)g_ptr_array_index(runs, i))->plotted;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ckptsim "
          "report</title>\n<link rel=\"icon\" href=\"data:,\">\n<style>body{font-family:sans-serif;"
          "margin:2em}table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid "
          "#ccc;padding:3px 8px;text-align:left;font-size:0.9em}tr.bad td{background:#fde2e2}"
          "tr.ok td{background:#e5f5e0}tr.aborted td{background:#fde2e2}figure{margin:1em 0}"
          "img{max-width:100%}.nodata{color:#888}code{font-size:0.85em}td ul{margin:0;"
          "padding-left:1.2em}.filters select{margin-right:1em}</style></head><body>\n"
          "<h1>ckptsim report</h1>\n",
          f);
    fprintf(f, "<p>%u run%s: %u held, %u with violations. Plots for %u of them (every run "
               "in a small report; else the lowest seed of each scenario and mode and the "
               "first violating runs).</p>\n",
            runs->len, runs->len == 1 ? "" : "s", held, failed, plotted);
    html_table(f, runs);
    if (ctx->comparisons->len > 0) {
        fputs("<h2>Aligned vs unaligned</h2>\n", f);
        for (guint i = 0; i < ctx->comparisons->len; i++)
            html_plot(f, g_ptr_array_index(ctx->comparisons, i));
    }
    for (guint i = 0; i < runs->len; i++) {
        const SimReportRun *r = g_ptr_array_index(runs, i);
        if (!r->plotted)
            continue;
        fprintf(f, "<h2 id=\"run-%s\">", r->prefix[0] ? r->prefix : "run");
        put_html(f, run_name(r));
        fputs(": ", f);
        put_html(f, cell(r, "scenario"));
        fputs(" seed ", f);
        put_html(f, cell(r, "seed"));
        fprintf(f, " &mdash; %s</h2>\n", run_held(r) ? "held" : "VIOLATION");
        for (guint p = 0; p < r->plots->len; p++)
            html_plot(f, g_ptr_array_index(r->plots, p));
        sim_report_html_checkpoints(f, r);
    }
    fprintf(f, "<script>\n%s</script>\n</body></html>\n", report_js);
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
        if (!r->plotted)
            continue;
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
