/* report.c: the report model's lifecycle: date, model identity, commands,
 * and the measurements it takes over from the probes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flipscope/report.h"
#include "flipscope/sha256.h"

void fsc_report_init(fsc_report *r, const char *command)
{
    memset(r, 0, sizeof *r);
    snprintf(r->command, sizeof r->command, "%s", command);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(r->date, sizeof r->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else snprintf(r->date, sizeof r->date, "unknown");
    snprintf(r->model_format, sizeof r->model_format, "built-in");
}

void fsc_report_free(fsc_report *r)
{
    if (r->has_inspect) fsc_inspect_result_free(&r->inspect);
    if (r->has_drift) fsc_drift_result_free(&r->drift);
    free(r->placement);
    free(r->localize.ops);
    r->has_inspect = r->has_drift = r->has_localize = false;
    r->placement = NULL;
    r->n_placement = 0;
    r->localize.ops = NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    while (n > 1 && s[n - 1] == '/') n--; /* "model.mlpackage/" */
    return n >= m && !strncmp(s + n - m, suffix, m);
}

fsc_status fsc_report_set_model_file(fsc_report *r, const char *path, fsc_error *err)
{
    if (strlen(path) >= sizeof r->model_path) return fsc_fail(err, FSC_ERR_LIMIT, "%.64s...: path too long", path);
    snprintf(r->model_path, sizeof r->model_path, "%s", path);
    const char *fmt = ends_with(path, ".onnx")        ? "onnx"
                      : ends_with(path, ".mlpackage") ? "mlpackage"
                      : ends_with(path, ".mlmodel")   ? "mlmodel"
                                                      : "unknown";
    snprintf(r->model_format, sizeof r->model_format, "%s", fmt);
    if (!r->model_desc[0]) snprintf(r->model_desc, sizeof r->model_desc, "%s", path);
    return fsc_sha256_path(path, r->model_sha256, err);
}

/* Appends word to buf (at *at), single-quoted when it holds anything a shell would interpret. */
static void shell_word(char *buf, size_t len, size_t *at, const char *w)
{
    bool plain = *w != '\0';
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=:,./@%", *p)) plain = false;
    if (*at + 1 >= len) return;
    if (plain) {
        *at += (size_t)snprintf(buf + *at, len - *at, "%s", w);
    } else {
        *at += (size_t)snprintf(buf + *at, len - *at, "'");
        for (const char *p = w; *p && *at + 5 < len; p++) {
            if (*p == '\'') *at += (size_t)snprintf(buf + *at, len - *at, "'\\''");
            else buf[(*at)++] = *p;
        }
        if (*at < len) *at += (size_t)snprintf(buf + *at, len - *at, "'");
    }
    if (*at >= len) *at = len - 1;
    buf[*at] = '\0';
}

void fsc_report_add_command(fsc_report *r, const char *const *argv, int argc)
{
    if (r->n_commands == FSC_REPORT_MAX_COMMANDS) return;
    char *buf = r->commands[r->n_commands++];
    size_t len = sizeof r->commands[0], at = 0;
    buf[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i && at + 1 < len) {
            buf[at++] = ' ';
            buf[at] = '\0';
        }
        shell_word(buf, len, &at, argv[i]);
    }
}

fsc_status fsc_report_add_inspect(fsc_report *r, const fsc_graph *g, fsc_error *err)
{
    if (r->has_inspect) fsc_inspect_result_free(&r->inspect);
    r->has_inspect = false;
    fsc_status st = fsc_inspect_graph(g, 40, &r->inspect, err);
    if (!st) r->has_inspect = true;
    return st;
}

void fsc_report_take_drift(fsc_report *r, fsc_drift_result *res)
{
    if (r->has_drift) fsc_drift_result_free(&r->drift);
    r->drift = *res;
    r->has_drift = true;
    memset(res, 0, sizeof *res);
}

const char *fsc_gate_state_name(fsc_gate_state s)
{
    return s == FSC_GATE_PASS ? "PASS" : s == FSC_GATE_FAIL ? "FAIL" : "n/a";
}
