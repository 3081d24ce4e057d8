/* report_md.c: the Markdown rendering of a report (GitHub-flavoured tables).
 * One function per section; a section that was not measured says so. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

/* A table cell: '|' escaped, '<' and '>' as entities, line breaks and backticks flattened. */
static void cell(FILE *f, const char *s)
{
    fputc(' ', f);
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n' || *s == '\r') fputc(' ', f);
        else if (*s == '`') fputc('\'', f);
        else if (*s == '<') fputs("&lt;", f); /* no raw HTML from names or messages */
        else if (*s == '>') fputs("&gt;", f);
        else fputc(*s, f);
    }
    fputs(" |", f);
}

/* Paragraph text: '<' and '>' as entities, so names from a model never become HTML. */
static void para(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else fputc(*s, f);
    }
}

static void cellf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cellf(FILE *f, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cell(f, buf);
}

static void row_start(FILE *f) { fputc('|', f); }
static void row_end(FILE *f) { fputc('\n', f); }

static void header(FILE *f, const char *const *cols, int n)
{
    row_start(f);
    for (int i = 0; i < n; i++) cell(f, cols[i]);
    row_end(f);
    fputc('|', f);
    for (int i = 0; i < n; i++) fputs("---|", f);
    fputc('\n', f);
}

static void not_measured(FILE *f, const char *why) { fprintf(f, "_Not measured_: %s\n\n", why); }

static void md_model(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Model\n\n");
    static const char *const cols[] = {"field", "value"};
    header(f, cols, 2);
    row_start(f); cell(f, "model"); cell(f, r->model_desc); row_end(f);
    row_start(f); cell(f, "path"); cell(f, r->model_path[0] ? r->model_path : "(built in, no file)"); row_end(f);
    row_start(f); cell(f, "format"); cell(f, r->model_format); row_end(f);
    row_start(f); cell(f, "SHA-256"); cell(f, r->model_sha256[0] ? r->model_sha256 : "(no file)"); row_end(f);
    row_start(f);
    cell(f, "input");
    if (r->n_input_files) {
        char buf[1024] = "";
        size_t at = 0;
        for (int i = 0; i < r->n_input_files && at < sizeof buf; i++)
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", i ? ", " : "", r->input_files[i]);
        cell(f, buf);
    } else {
        cellf(f, "standard normal, seed %llu", r->seed);
    }
    row_end(f);
    if (r->has_tie) {
        row_start(f);
        cell(f, "tie");
        cellf(f, "centred: head bias B0 = %.9g between the reference and %s; margins %+.6g and %+.6g (%s)", r->tie_b0,
              r->tie_between, r->tie_margin_reference, r->tie_margin_other,
              r->tie_split ? "opposite classes" : "not split");
        row_end(f);
    }
    fputc('\n', f);
}

static void md_configs(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Configurations\n\n");
    if (!r->has_drift) {
        not_measured(f, "no configuration was run");
        return;
    }
    static const char *const cols[] = {"configuration", "role", "kind", "stands for", "certainty"};
    header(f, cols, 5);
    for (int i = 0; i < r->drift.n; i++) {
        const fsc_drift_config *c = &r->drift.cfg[i];
        row_start(f);
        cell(f, c->name);
        cell(f, i == r->drift.reference ? "reference" : "compared");
        cell(f, c->info.emulated ? "emulated arithmetic" : "real backend");
        cell(f, c->info.stands_for ? c->info.stands_for : "");
        cell(f, c->info.certainty ? c->info.certainty : "");
        row_end(f);
    }
    fputc('\n', f);
}

static void md_commands(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Commands to reproduce\n\n```sh\n");
    for (int i = 0; i < r->n_commands; i++) fprintf(f, "%s\n", r->commands[i]);
    fprintf(f, "```\n\n");
}

static void counts_line(FILE *f, const fsc_inspect_count *c, int n)
{
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s%d ", i ? ", " : "", c[i].count);
        para(f, c[i].name);
    }
    if (!n) fprintf(f, "none");
}

static void md_quant(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Quantization evidence\n\n");
    if (!r->has_inspect) {
        not_measured(f, "the model was not inspected");
        return;
    }
    const fsc_inspect_result *q = &r->inspect;
    fprintf(f, "%d ops. Op types: ", q->n_ops);
    counts_line(f, q->op_types, q->n_op_types);
    fprintf(f, ".\nOutput dtypes: ");
    counts_line(f, q->out_dtypes, q->n_out_dtypes);
    fprintf(f, ".\n\n");
    static const char *const cols[] = {"evidence", "found", "count"};
    header(f, cols, 3);
    row_start(f); cell(f, "weight quantization"); cell(f, q->weight_evidence ? "yes" : "no");
    cellf(f, "%d weight dequantize ops", q->weight_dequant_ops); row_end(f);
    row_start(f); cell(f, "activation quantization"); cell(f, q->activation_evidence ? "yes" : "no");
    cellf(f, "%d quantize, %d dequantize", q->quantize_ops, q->dequantize_ops); row_end(f);
    row_start(f); cell(f, "real ops reading dequantized values"); cell(f, q->n_deq_consumers ? "yes" : "no");
    cellf(f, "%d", q->n_deq_consumers); row_end(f);
    row_start(f); cell(f, "real ops reading quantized values"); cell(f, q->n_q_consumers ? "yes" : "no");
    cellf(f, "%d", q->n_q_consumers); row_end(f);
    fprintf(f, "\nInterpretation: ");
    para(f, q->interpretation);
    fprintf(f, ".\n\n");
}

static void md_placement(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Placement evidence\n\n");
    if (r->n_placement == 0) {
        not_measured(f, "no configuration has a placement plan (flipscope plan)");
        return;
    }
    static const char *const cols[] = {"configuration", "ops", "load time", "fallback", "ops per device",
                                       "on an accelerator"};
    header(f, cols, 6);
    for (int i = 0; i < r->n_placement; i++) {
        const fsc_report_placement *p = &r->placement[i];
        char dev[512] = "";
        size_t at = 0;
        for (int k = 0; k < p->n_devices && at < sizeof dev; k++)
            at += (size_t)snprintf(dev + at, sizeof dev - at, "%s%s%s %d", k ? ", " : "", p->device[k],
                                   p->accelerator[k] ? " (accelerator)" : "", p->ops_on[k]);
        row_start(f);
        cell(f, p->config);
        cellf(f, "%d", p->n_ops);
        cellf(f, "%d", p->n_load_time);
        cellf(f, "%d", p->n_fallback);
        cell(f, dev);
        cellf(f, "%d", p->on_accelerator);
        row_end(f);
    }
    fputc('\n', f);
}

static void md_stability(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Runtime stability\n\n");
    if (!r->has_drift) {
        not_measured(f, "no configuration was run");
        return;
    }
    fprintf(f, "Each configuration ran once for its reference output, then %d more times.\n\n", r->drift.runs);
    static const char *const cols[] = {"configuration", "status", "runs", "bit-identical", "argmax stable",
                                       "first drifting run", "worst abs diff", "ms per run"};
    header(f, cols, 8);
    for (int i = 0; i < r->drift.n; i++) {
        const fsc_drift_config *c = &r->drift.cfg[i];
        char b1[32];
        row_start(f);
        cell(f, c->name);
        if (c->failed) cellf(f, "FAILED: %s", c->error);
        else cell(f, "ok");
        cellf(f, "%d", c->runs_done);
        if (c->logits) {
            cell(f, c->raw_drift ? "NO" : "yes");
            cell(f, c->argmax_drift ? "NO" : "yes");
            if (c->first_drift_run) cellf(f, "%d", c->first_drift_run);
            else cell(f, "-");
            cell(f, fsc_report_num(b1, sizeof b1, c->worst_abs_diff));
            cellf(f, "%.3g", 1e3 * c->seconds_per_run);
        } else {
            for (int k = 0; k < 5; k++) cell(f, "-");
        }
        row_end(f);
    }
    fputc('\n', f);
}

static void md_comparison(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Cross-configuration comparison\n\n");
    if (!r->has_drift) {
        not_measured(f, "no configuration was run");
        return;
    }
    const fsc_drift_config *ref = &r->drift.cfg[r->drift.reference];
    char mname[64];
    fsc_report_margin_name(r, mname, sizeof mname);
    int idx[FSC_REPORT_MAX_SHOWN_LOGITS], n_idx = fsc_report_shown_logits(r, idx);
    fprintf(f, "Against the reference **%s**; margin = %s.", ref->name, mname);
    if (n_idx && n_idx < ref->n_logits) fprintf(f, " Logits shown: the reference's %d largest of %d.", n_idx, ref->n_logits);
    fprintf(f, "\n\n");
    static const char *const cols[] = {"configuration", "argmax", "margin", "margin delta", "exact", "max abs diff",
                                       "max ULP", "logits"};
    header(f, cols, 8);
    for (int i = 0; i < r->drift.n; i++) {
        const fsc_drift_config *c = &r->drift.cfg[i];
        char b1[32], b2[32], b3[32];
        row_start(f);
        cell(f, c->name);
        if (!c->logits) {
            cell(f, "FAILED");
            for (int k = 0; k < 6; k++) cell(f, "-");
            row_end(f);
            continue;
        }
        if (i == r->drift.reference) cellf(f, "%d (reference)", c->argmax);
        else if (c->compared && !c->argmax_agrees) cellf(f, "**%d (FLIP from %d)**", c->argmax, ref->argmax);
        else cellf(f, "%d", c->argmax);
        cell(f, fsc_report_num(b1, sizeof b1, c->margin));
        if (c->compared) {
            snprintf(b2, sizeof b2, "%+.6g", c->margin_delta);
            cell(f, b2);
            cell(f, c->exact_equal ? "yes" : "no");
            cell(f, fsc_report_num(b3, sizeof b3, c->max_abs_diff));
            if (c->max_ulp < 0) cell(f, "NaN");
            else cellf(f, "%.0f", c->max_ulp);
        } else {
            for (int k = 0; k < 4; k++) cell(f, "-");
        }
        char lg[512] = "";
        size_t at = 0;
        for (int k = 0; k < n_idx && at < sizeof lg; k++)
            if (idx[k] < c->n_logits)
                at += (size_t)snprintf(lg + at, sizeof lg - at, "%s[%d] %.9g", k ? ", " : "", idx[k], c->logits[idx[k]]);
        cell(f, lg);
        row_end(f);
    }
    fputc('\n', f);
}

static void md_localize(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Localization\n\n");
    if (!r->has_localize) {
        not_measured(f, "no per-op localization was run (flipscope localize)");
        return;
    }
    const fsc_report_localize *l = &r->localize;
    para(f, l->target);
    fprintf(f, " against ");
    para(f, l->reference);
    fprintf(f, ", %d op outputs compared; error metric %s.", l->n_ops, l->metric);
    if (l->has_margin) fprintf(f, " Margin delta %+.6g.", l->margin_delta);
    fprintf(f, "\n\n");
    if (!l->n_top) {
        fprintf(f, "No op has an isolated error.\n\n");
        return;
    }
    static const char *const cols[] = {"rank", "node", "op", "name", "isolated error", "accumulated error",
                                       "margin contribution", "first divergent"};
    header(f, cols, 8);
    for (int k = 0; k < l->n_top; k++) {
        const fsc_report_op_error *o = &l->ops[l->top[k]];
        char b1[32], b2[32], b3[32];
        row_start(f);
        cellf(f, "%d", k + 1);
        cellf(f, "%d", o->node);
        cell(f, o->op);
        cell(f, o->name);
        cell(f, fsc_report_num(b1, sizeof b1, o->isolated));
        cell(f, fsc_report_num(b2, sizeof b2, o->accumulated));
        cell(f, isnan(o->margin_contrib) ? "-" : fsc_report_num(b3, sizeof b3, o->margin_contrib));
        cell(f, o->first_divergent ? "yes" : "no");
        row_end(f);
    }
    fputc('\n', f);
}

static void md_gates(FILE *f, const fsc_report *r)
{
    fprintf(f, "## Gates\n\n");
    static const char *const cols[] = {"gate", "result", "value", "detail"};
    header(f, cols, 4);
    for (int i = 0; i < FSC_GATE_COUNT; i++) {
        const fsc_report_gate *g = &r->gates[i];
        char b[32];
        row_start(f);
        cell(f, g->title);
        cellf(f, "**%s**", fsc_gate_state_name(g->state));
        cell(f, g->has_value ? fsc_report_num(b, sizeof b, g->value) : "-");
        cell(f, g->detail);
        row_end(f);
    }
    fputc('\n', f);
}

fsc_status fsc_report_markdown(const fsc_report *r, char **out, size_t *len, fsc_error *err)
{
    FILE *f = fsc_report_stream(out, len, err);
    if (!f) return FSC_ERR_NOMEM;
    fprintf(f, "# flipscope report\n\n");
    fprintf(f, "Generated %s by %s (`flipscope %s`).\n\n", r->date, FSC_TOOL_NAME, r->command);
    md_model(f, r);
    md_configs(f, r);
    md_commands(f, r);
    md_quant(f, r);
    md_placement(f, r);
    md_stability(f, r);
    md_comparison(f, r);
    md_localize(f, r);
    md_gates(f, r);
    fprintf(f, "## Honest claim\n\n");
    para(f, r->claim);
    fputc('\n', f);
    return fsc_report_stream_done(f, out, len, "Markdown", err);
}
