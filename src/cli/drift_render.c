/* drift_render.c: text and JSON renderings of a drift result. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/report.h"

static void logits_str(const double *v, int n, char *buf, size_t len)
{
    size_t at = 0;
    at += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < n && at < len; i++) {
        if (i == 4 && n > 5) {
            at += (size_t)snprintf(buf + at, len - at, ", ... (%d)", n);
            break;
        }
        at += (size_t)snprintf(buf + at, len - at, "%s%.9g", i ? ", " : "", v[i]);
    }
    if (at < len) snprintf(buf + at, len - at, "]");
}

void fsc_cli_drift_text(FILE *f, const fsc_drift_result *r)
{
    const char *mname = r->class_a == 0 && r->class_b == 1 ? "logit0 - logit1" : "top1 - top2 of reference";
    fprintf(f, "Runtime stability (%d repeated runs after a first run; margin = %s)\n\n", r->runs, mname);
    fprintf(f, "  %-20s %-7s %-5s %-6s %-6s %-11s %-9s %-14s %-6s %s\n", "configuration", "status", "raw", "argmax",
            "first", "worst|diff|", "ms/run", "margin", "argmax", "logits");
    fprintf(f, "  %-20s %-7s %-5s %-6s %-6s %-11s %-9s %-14s %-6s\n", "", "", "drift", "drift", "drift", "", "", "",
            "");
    for (int i = 0; i < r->n; i++) {
        const fsc_drift_config *c = &r->cfg[i];
        if (c->failed && !c->logits) {
            fprintf(f, "  %-20s FAILED  %s\n", c->name, c->error);
            continue;
        }
        char lg[256], first[16];
        logits_str(c->logits, c->n_logits, lg, sizeof lg);
        if (c->first_drift_run) snprintf(first, sizeof first, "%d", c->first_drift_run);
        else snprintf(first, sizeof first, "-");
        fprintf(f, "  %-20s %-7s %-5s %-6s %-6s %-11.3g %-9.1f %-14.9g %-6d %s\n", c->name,
                c->failed ? "FAILED" : "ok", c->raw_drift ? "YES" : "no", c->argmax_drift ? "YES" : "no", first,
                c->worst_abs_diff, 1e3 * c->seconds_per_run, c->margin, c->argmax, lg);
        if (c->failed) fprintf(f, "  %-20s   after %d runs: %s\n", "", c->runs_done, c->error);
    }
    const fsc_drift_config *ref = &r->cfg[r->reference];
    fprintf(f, "\nCross-configuration comparison against %s (reference)\n\n", ref->name);
    if (ref->failed && !ref->logits) {
        fprintf(f, "  the reference failed: nothing to compare\n");
        return;
    }
    fprintf(f, "  %-20s %-6s %-11s %-9s %-11s %-16s %s\n", "configuration", "exact", "max|diff|", "max ulp", "argmax",
            "margin delta", "delta per logit");
    for (int i = 0; i < r->n; i++) {
        const fsc_drift_config *c = &r->cfg[i];
        if (i == r->reference) continue;
        if (!c->compared) {
            fprintf(f, "  %-20s FAILED  %s\n", c->name, c->error);
            continue;
        }
        char dl[256], am[32], ulp[32];
        logits_str(c->delta, c->n_logits, dl, sizeof dl);
        if (c->argmax < 0) snprintf(am, sizeof am, "NaN output");
        else if (c->argmax_agrees) snprintf(am, sizeof am, "same %d", c->argmax);
        else snprintf(am, sizeof am, "FLIP %d->%d", ref->argmax, c->argmax);
        if (c->max_ulp < 0) snprintf(ulp, sizeof ulp, "NaN");
        else snprintf(ulp, sizeof ulp, "%.0f", c->max_ulp);
        fprintf(f, "  %-20s %-6s %-11.4g %-9s %-11s %-+16.9g %s\n", c->name, c->exact_equal ? "yes" : "no",
                c->max_abs_diff, ulp, am, c->margin_delta, dl);
    }
}

cJSON *fsc_cli_drift_json(const fsc_drift_result *r) { return fsc_drift_json(r); }
