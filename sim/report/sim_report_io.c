/* sim_report_io.c - output helpers for the metrics writers and the report. */
#include "sim/report/sim_report_io.h"

#include <errno.h>
#include <string.h>

#include "sim/report/sim_metrics.h"

FILE *sim_report_open(const char *dir, const char *name, GError **error) {
    char *path = g_build_filename(dir, name, NULL);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        g_set_error(error, SIM_METRICS_ERROR, SIM_METRICS_ERROR_IO, "cannot write %s: %s", path,
                    g_strerror(errno));
    g_free(path);
    return f;
}

bool sim_report_close(FILE *f, const char *dir, const char *name, GError **error) {
    bool bad = ferror(f) != 0;
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = true;
        err = errno;
    }
    if (bad) {
        char *path = g_build_filename(dir, name, NULL);
        g_set_error(error, SIM_METRICS_ERROR, SIM_METRICS_ERROR_IO, "error writing %s: %s",
                    path, g_strerror(err));
        g_free(path);
    }
    return !bad;
}

void sim_report_put_csv_field(FILE *f, const char *s) {
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '"')
            fputs("\"\"", f);
        else if (*p == '\n' || *p == '\r')
            fputc(' ', f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
