/* report_html.c: the HTML rendering of a report: one self-contained page
 * (inline CSS, inline SVG charts, no script, no external resource). One
 * function per section; a section that was not measured says so. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

void fsc_report_html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void td(FILE *f, const char *cls, const char *s)
{
    if (cls) fprintf(f, "<td class=\"%s\">", cls);
    else fputs("<td>", f);
    fsc_report_html_esc(f, s);
    fputs("</td>", f);
}

static void tdf(FILE *f, const char *cls, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tdf(FILE *f, const char *cls, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    td(f, cls, buf);
}

static void thead(FILE *f, const char *const *cols, int n)
{
    fputs("<table>\n<thead><tr>", f);
    for (int i = 0; i < n; i++) {
        fputs("<th>", f);
        fsc_report_html_esc(f, cols[i]);
        fputs("</th>", f);
    }
    fputs("</tr></thead>\n<tbody>\n", f);
}

static void tend(FILE *f) { fputs("</tbody>\n</table>\n", f); }

static void not_measured(FILE *f, const char *why)
{
    fputs("<p class=\"na\"><strong>Not measured</strong>: ", f);
    fsc_report_html_esc(f, why);
    fputs("</p>\n", f);
}

static const char CSS[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:980px;margin:2em auto;"
    "padding:0 1em;color:#222;line-height:1.45}"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;"
    "margin-top:1.8em}"
    "table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;font-family:ui-monospace,monospace}"
    "code,pre{font-family:ui-monospace,Menlo,Consolas,monospace}pre{background:#f6f8fa;padding:.7em;white-space:pre-wrap;overflow-wrap:anywhere}"
    ".PASS{color:#0a6b0a;font-weight:bold}.FAIL{color:#b00020;font-weight:bold}.na,.n\\/a{color:#777}"
    ".flip{color:#b00020;font-weight:bold}.claim{background:#fff8e1;border-left:4px solid #f0b400;padding:.8em 1em}"
    ".meta{color:#555}"
    "svg.chart{display:block;margin:.8em 0;max-width:100%;height:auto;font-size:12px}"
    "svg .grid{stroke:#e4e4e4;stroke-width:1}svg .zero{stroke:#333;stroke-width:1.5}"
    "svg .stem{stroke-width:2}svg .side-a{stroke:#1f77b4;fill:#1f77b4}svg .side-b{stroke:#d95f02;fill:#d95f02}"
    "svg .side-tie{stroke:#777;fill:#777}svg .bar.isoerr{fill:#6a51a3}svg .bar.isoerr.worst{fill:#b00020}"
    "svg text{fill:#333}svg .tick{fill:#666;font-size:11px}svg .axis-title{font-weight:bold}"
    "svg .side{fill:#555;font-size:11px}svg .value{font-family:ui-monospace,monospace;font-size:11px}"
    "p.note{color:#555;font-style:italic}h3{font-size:1.02em;margin-bottom:.2em}td.mono{font-family:ui-monospace,monospace}";

static void h_model(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"model\">Model</h2>\n", f);
    static const char *const cols[] = {"field", "value"};
    thead(f, cols, 2);
    fputs("<tr>", f); td(f, NULL, "model"); td(f, NULL, r->model_desc); fputs("</tr>\n", f);
    fputs("<tr>", f); td(f, NULL, "path"); td(f, NULL, r->model_path[0] ? r->model_path : "(built in, no file)");
    fputs("</tr>\n", f);
    fputs("<tr>", f); td(f, NULL, "format"); td(f, NULL, r->model_format); fputs("</tr>\n", f);
    fputs("<tr>", f); td(f, NULL, "SHA-256"); td(f, r->model_sha256[0] ? "mono" : NULL, r->model_sha256[0] ? r->model_sha256 : "(no file)");
    fputs("</tr>\n", f);
    fputs("<tr>", f);
    td(f, NULL, "input");
    if (r->n_input_files) {
        fputs("<td>", f);
        for (int i = 0; i < r->n_input_files; i++) {
            if (i) fputs(", ", f);
            fsc_report_html_esc(f, r->input_files[i]);
        }
        fputs("</td>", f);
    } else {
        tdf(f, NULL, "standard normal, seed %llu", r->seed);
    }
    fputs("</tr>\n", f);
    if (r->has_tie) {
        fputs("<tr>", f);
        td(f, NULL, "tie");
        tdf(f, NULL, "centred: head bias B0 = %.9g between the reference and %s; margins %+.6g and %+.6g (%s)", r->tie_b0,
            r->tie_between, r->tie_margin_reference, r->tie_margin_other, r->tie_split ? "opposite classes" : "not split");
        fputs("</tr>\n", f);
    }
    tend(f);
}

static void h_configs(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"configurations\">Configurations</h2>\n", f);
    if (!r->has_drift) {
        not_measured(f, "no configuration was run");
        return;
    }
    static const char *const cols[] = {"configuration", "role", "kind", "stands for", "certainty"};
    thead(f, cols, 5);
    for (int i = 0; i < r->drift.n; i++) {
        const fsc_drift_config *c = &r->drift.cfg[i];
        fputs("<tr>", f);
        td(f, NULL, c->name);
        td(f, NULL, i == r->drift.reference ? "reference" : "compared");
        td(f, NULL, c->info.emulated ? "emulated arithmetic" : "real backend");
        td(f, NULL, c->info.stands_for ? c->info.stands_for : "");
        td(f, NULL, c->info.certainty ? c->info.certainty : "");
        fputs("</tr>\n", f);
    }
    tend(f);
}

static void h_commands(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"commands\">Commands to reproduce</h2>\n<pre><code>", f);
    for (int i = 0; i < r->n_commands; i++) {
        fsc_report_html_esc(f, r->commands[i]);
        fputc('\n', f);
    }
    fputs("</code></pre>\n", f);
}

static void h_quant(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"quantization\">Quantization evidence</h2>\n", f);
    if (!r->has_inspect) {
        not_measured(f, "the model was not inspected");
        return;
    }
    const fsc_inspect_result *q = &r->inspect;
    fprintf(f, "<p>%d ops. Op types: ", q->n_ops);
    for (int i = 0; i < q->n_op_types; i++) {
        fprintf(f, "%s%d ", i ? ", " : "", q->op_types[i].count);
        fsc_report_html_esc(f, q->op_types[i].name);
    }
    fputs(". Output dtypes: ", f);
    for (int i = 0; i < q->n_out_dtypes; i++) {
        fprintf(f, "%s%d ", i ? ", " : "", q->out_dtypes[i].count);
        fsc_report_html_esc(f, q->out_dtypes[i].name);
    }
    fputs(".</p>\n", f);
    static const char *const cols[] = {"evidence", "found", "count"};
    thead(f, cols, 3);
    fputs("<tr>", f); td(f, NULL, "weight quantization"); td(f, NULL, q->weight_evidence ? "yes" : "no");
    tdf(f, NULL, "%d weight dequantize ops", q->weight_dequant_ops); fputs("</tr>\n", f);
    fputs("<tr>", f); td(f, NULL, "activation quantization"); td(f, NULL, q->activation_evidence ? "yes" : "no");
    tdf(f, NULL, "%d quantize, %d dequantize", q->quantize_ops, q->dequantize_ops); fputs("</tr>\n", f);
    fputs("<tr>", f); td(f, NULL, "real ops reading dequantized values"); td(f, NULL, q->n_deq_consumers ? "yes" : "no");
    tdf(f, "num", "%d", q->n_deq_consumers); fputs("</tr>\n", f);
    fputs("<tr>", f); td(f, NULL, "real ops reading quantized values"); td(f, NULL, q->n_q_consumers ? "yes" : "no");
    tdf(f, "num", "%d", q->n_q_consumers); fputs("</tr>\n", f);
    tend(f);
    fputs("<p>Interpretation: ", f);
    fsc_report_html_esc(f, q->interpretation);
    fputs(".</p>\n", f);
}

static void h_placement(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"placement\">Placement evidence</h2>\n", f);
    if (r->n_placement == 0) {
        not_measured(f, "no configuration has a placement plan (flipscope plan)");
        return;
    }
    static const char *const cols[] = {"configuration", "ops", "load time", "fallback", "ops per device",
                                       "on an accelerator"};
    thead(f, cols, 6);
    for (int i = 0; i < r->n_placement; i++) {
        const fsc_report_placement *p = &r->placement[i];
        fputs("<tr>", f);
        td(f, NULL, p->config);
        tdf(f, "num", "%d", p->n_ops);
        tdf(f, "num", "%d", p->n_load_time);
        tdf(f, "num", "%d", p->n_fallback);
        fputs("<td>", f);
        for (int k = 0; k < p->n_devices; k++) {
            if (k) fputs(", ", f);
            fsc_report_html_esc(f, p->device[k]);
            fprintf(f, "%s %d", p->accelerator[k] ? " (accelerator)" : "", p->ops_on[k]);
        }
        fputs("</td>", f);
        tdf(f, "num", "%d", p->on_accelerator);
        fputs("</tr>\n", f);
    }
    tend(f);
}

static void h_stability(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"stability\">Runtime stability</h2>\n", f);
    if (!r->has_drift) {
        not_measured(f, "no configuration was run");
        return;
    }
    fprintf(f, "<p>Each configuration ran once for its reference output, then %d more times.</p>\n", r->drift.runs);
    static const char *const cols[] = {"configuration", "status", "runs", "bit-identical", "argmax stable",
                                       "first drifting run", "worst abs diff", "ms per run"};
    thead(f, cols, 8);
    for (int i = 0; i < r->drift.n; i++) {
        const fsc_drift_config *c = &r->drift.cfg[i];
        char b[32];
        fputs("<tr>", f);
        td(f, NULL, c->name);
        if (c->failed) tdf(f, "FAIL", "FAILED: %s", c->error);
        else td(f, NULL, "ok");
        tdf(f, "num", "%d", c->runs_done);
        if (c->logits) {
            td(f, c->raw_drift ? "FAIL" : NULL, c->raw_drift ? "NO" : "yes");
            td(f, c->argmax_drift ? "FAIL" : NULL, c->argmax_drift ? "NO" : "yes");
            if (c->first_drift_run) tdf(f, "num", "%d", c->first_drift_run);
            else td(f, "num", "-");
            td(f, "num", fsc_report_num(b, sizeof b, c->worst_abs_diff));
            tdf(f, "num", "%.3g", 1e3 * c->seconds_per_run);
        } else {
            for (int k = 0; k < 5; k++) td(f, NULL, "-");
        }
        fputs("</tr>\n", f);
    }
    tend(f);
}

static void h_comparison(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"comparison\">Cross-configuration comparison</h2>\n", f);
    if (!r->has_drift) {
        not_measured(f, "no configuration was run");
        return;
    }
    const fsc_drift_config *ref = &r->drift.cfg[r->drift.reference];
    char mname[64];
    fsc_report_margin_name(r, mname, sizeof mname);
    int idx[FSC_REPORT_MAX_SHOWN_LOGITS], n_idx = fsc_report_shown_logits(r, idx);
    fputs("<p>Against the reference <strong>", f);
    fsc_report_html_esc(f, ref->name);
    fprintf(f, "</strong>; margin = %s.", mname);
    if (n_idx && n_idx < ref->n_logits) fprintf(f, " Logits shown: the reference's %d largest of %d.", n_idx, ref->n_logits);
    fputs("</p>\n", f);
    fprintf(f, "<h3>Margin around the decision boundary</h3>\n");
    fsc_report_svg_margin(f, r);
    static const char *const cols[] = {"configuration", "argmax", "margin", "margin delta", "exact", "max abs diff",
                                       "max ULP", "logits"};
    thead(f, cols, 8);
    for (int i = 0; i < r->drift.n; i++) {
        const fsc_drift_config *c = &r->drift.cfg[i];
        char b[32];
        fputs("<tr>", f);
        td(f, NULL, c->name);
        if (!c->logits) {
            td(f, "FAIL", "FAILED");
            for (int k = 0; k < 6; k++) td(f, NULL, "-");
            fputs("</tr>\n", f);
            continue;
        }
        if (i == r->drift.reference) tdf(f, "num", "%d (reference)", c->argmax);
        else if (c->compared && !c->argmax_agrees) tdf(f, "num flip", "%d (FLIP from %d)", c->argmax, ref->argmax);
        else tdf(f, "num", "%d", c->argmax);
        td(f, "num", fsc_report_num(b, sizeof b, c->margin));
        if (c->compared) {
            tdf(f, "num", "%+.6g", c->margin_delta);
            td(f, NULL, c->exact_equal ? "yes" : "no");
            td(f, "num", fsc_report_num(b, sizeof b, c->max_abs_diff));
            if (c->max_ulp < 0) td(f, "num", "NaN");
            else tdf(f, "num", "%.0f", c->max_ulp);
        } else {
            for (int k = 0; k < 4; k++) td(f, NULL, "-");
        }
        fputs("<td class=\"num\">", f);
        for (int k = 0; k < n_idx; k++)
            if (idx[k] < c->n_logits) fprintf(f, "%s[%d] %.9g", k ? ", " : "", idx[k], c->logits[idx[k]]);
        fputs("</td></tr>\n", f);
    }
    tend(f);
    fprintf(f, "<h3>Logits</h3>\n");
    fsc_report_svg_logits(f, r);
}

static void h_localize(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"localization\">Localization</h2>\n", f);
    if (!r->has_localize) {
        not_measured(f, "no per-op localization was run (flipscope localize)");
        fputs("<p class=\"note\">The chart of per-op isolated error is omitted: there is no localization data.</p>\n", f);
        return;
    }
    const fsc_report_localize *l = &r->localize;
    fputs("<p>", f);
    fsc_report_html_esc(f, l->target);
    fputs(" against ", f);
    fsc_report_html_esc(f, l->reference);
    fprintf(f, ", %d op outputs compared; error metric ", l->n_ops);
    fsc_report_html_esc(f, l->metric);
    fputs(".", f);
    if (l->has_margin) fprintf(f, " Margin delta %+.6g.", l->margin_delta);
    fputs("</p>\n", f);
    fsc_report_svg_isoerr(f, r);
    if (!l->n_top) {
        fputs("<p>No op has an isolated error.</p>\n", f);
        return;
    }
    static const char *const cols[] = {"rank", "node", "op", "name", "isolated error", "accumulated error",
                                       "margin contribution", "first divergent"};
    thead(f, cols, 8);
    for (int k = 0; k < l->n_top; k++) {
        const fsc_report_op_error *o = &l->ops[l->top[k]];
        char b[32];
        fputs("<tr>", f);
        tdf(f, "num", "%d", k + 1);
        tdf(f, "num", "%d", o->node);
        td(f, NULL, o->op);
        td(f, NULL, o->name);
        td(f, "num", fsc_report_num(b, sizeof b, o->isolated));
        td(f, "num", fsc_report_num(b, sizeof b, o->accumulated));
        td(f, "num", isnan(o->margin_contrib) ? "-" : fsc_report_num(b, sizeof b, o->margin_contrib));
        td(f, NULL, o->first_divergent ? "yes" : "no");
        fputs("</tr>\n", f);
    }
    tend(f);
}

static void h_gates(FILE *f, const fsc_report *r)
{
    fputs("<h2 id=\"gates\">Gates</h2>\n", f);
    static const char *const cols[] = {"gate", "result", "value", "detail"};
    thead(f, cols, 4);
    for (int i = 0; i < FSC_GATE_COUNT; i++) {
        const fsc_report_gate *g = &r->gates[i];
        char b[32];
        fputs("<tr>", f);
        td(f, NULL, g->title);
        td(f, fsc_gate_state_name(g->state), fsc_gate_state_name(g->state));
        td(f, "num", g->has_value ? fsc_report_num(b, sizeof b, g->value) : "-");
        td(f, NULL, g->detail);
        fputs("</tr>\n", f);
    }
    tend(f);
}

fsc_status fsc_report_html(const fsc_report *r, char **out, size_t *len, fsc_error *err)
{
    FILE *f = fsc_report_stream(out, len, err);
    if (!f) return FSC_ERR_NOMEM;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
          "<title>flipscope report: ",
          f);
    fsc_report_html_esc(f, r->model_desc);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>flipscope report</h1>\n", CSS);
    fprintf(f, "<p class=\"meta\">Generated %s by %s (<code>flipscope %s</code>).</p>\n", r->date, FSC_TOOL_NAME,
            r->command);
    h_model(f, r);
    h_configs(f, r);
    h_commands(f, r);
    h_quant(f, r);
    h_placement(f, r);
    h_stability(f, r);
    h_comparison(f, r);
    h_localize(f, r);
    h_gates(f, r);
    fputs("<h2 id=\"claim\">Honest claim</h2>\n<p class=\"claim\">", f);
    fsc_report_html_esc(f, r->claim);
    fputs("</p>\n</body>\n</html>\n", f);
    return fsc_report_stream_done(f, out, len, "HTML", err);
}
