/* report_svg.c: the report's charts as inline SVG (no script, no network):
 * the margin of each configuration around the decision boundary, per-op
 * isolated error along the graph on a log scale, and grouped logits. */
#include <math.h>
#include <string.h>

#include "report/report_internal.h"

#define W 760.0
#define X0 210.0
#define X1 730.0

static const char *const palette[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static void text(FILE *f, double x, double y, const char *anchor, const char *cls, const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">", x, y, anchor, cls);
    fsc_report_html_esc(f, s);
    fputs("</text>\n", f);
}

int fsc_report_svg_margin(FILE *f, const fsc_report *r)
{
    const fsc_drift_result *d = &r->drift;
    /* labels left of X0, values in their own column right of x1: nothing overlaps the points */
    const double x0 = X0, x1 = 640, xv = W - 8;
    int n = 0;
    double lim = 0;
    for (int i = 0; i < d->n; i++) {
        if (!d->cfg[i].logits) continue;
        n++;
        if (isfinite(d->cfg[i].margin) && fabs(d->cfg[i].margin) > lim) lim = fabs(d->cfg[i].margin);
    }
    lim = lim > 0 ? 1.1 * lim : 1;
    double top = 30, row = 26, bottom = top + n * row, h = bottom + 50;
    double xz = (x0 + x1) / 2;
    fprintf(f, "<svg class=\"chart margin\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"margin of each configuration\">\n",
            W, h, W, h);
    char buf[96], mname[64];
    fsc_report_margin_name(r, mname, sizeof mname);
    snprintf(buf, sizeof buf, "margin = %s", mname);
    text(f, x0, 18, "start", "axis-title", buf);
    text(f, xv, 18, "end", "axis-title", "margin");
    for (int t = -2; t <= 2; t++) {
        double v = t * lim / 2;
        double x = xz + v / lim * (x1 - x0) / 2;
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, top - 4, x, bottom);
        snprintf(buf, sizeof buf, "%.3g", v);
        text(f, x, bottom + 16, "middle", "tick", buf);
    }
    fprintf(f, "<line class=\"zero\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", xz, top - 8, xz, bottom + 4);
    snprintf(buf, sizeof buf, "\xe2\x86\x90 class %d wins", d->class_b);
    text(f, x0, bottom + 36, "start", "side", buf);
    snprintf(buf, sizeof buf, "class %d wins \xe2\x86\x92", d->class_a);
    text(f, x1, bottom + 36, "end", "side", buf);
    text(f, xz, bottom + 36, "middle", "side", "decision boundary");
    int drawn = 0, k = 0;
    for (int i = 0; i < d->n; i++) {
        const fsc_drift_config *c = &d->cfg[i];
        if (!c->logits) continue;
        double y = top + k * row + row / 2;
        k++;
        snprintf(buf, sizeof buf, "%s%s", c->name, i == d->reference ? " (ref)" : "");
        text(f, x0 - 12, y + 4, "end", "label", buf);
        if (!isfinite(c->margin)) {
            text(f, xv, y + 4, "end", "value", "non-finite");
            continue;
        }
        double x = xz + c->margin / lim * (x1 - x0) / 2;
        const char *side = c->margin > 0 ? "a" : c->margin < 0 ? "b" : "tie";
        fprintf(f, "<line class=\"stem side-%s\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>\n", side, xz, y, x, y);
        fprintf(f, "<circle class=\"point margin side-%s\" cx=\"%.2f\" cy=\"%.1f\" r=\"6\"><title>", side, x, y);
        fsc_report_html_esc(f, c->name);
        fprintf(f, ": margin %.9g, argmax %d</title></circle>\n", c->margin, c->argmax);
        snprintf(buf, sizeof buf, "%+.6g", c->margin);
        text(f, xv, y + 4, "end", "value", buf);
        drawn++;
    }
    fputs("</svg>\n", f);
    return drawn;
}

int fsc_report_svg_isoerr(FILE *f, const fsc_report *r)
{
    const fsc_report_localize *l = &r->localize;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < l->n_ops; i++) {
        double v = l->ops[i].isolated;
        if (v > 0 && isfinite(v)) {
            if (log10(v) < lo) lo = log10(v);
            if (log10(v) > hi) hi = log10(v);
        }
    }
    if (!isfinite(lo)) lo = -8, hi = 0;
    lo = floor(lo);
    hi = ceil(hi);
    if (hi <= lo) hi = lo + 1;
    double top = 30, ph = 200, bottom = top + ph, h = bottom + 50, x0 = 70, x1 = X1;
    fprintf(f, "<svg class=\"chart isoerr\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"isolated error per op\">\n",
            W, h, W, h);
    char buf[160];
    snprintf(buf, sizeof buf, "isolated error (%s, log scale) of each op of %s vs %s, in graph order", l->metric,
             l->target, l->reference);
    text(f, x0, 18, "start", "axis-title", buf);
    for (double e = lo; e <= hi; e += 1) {
        double y = bottom - (e - lo) / (hi - lo) * ph;
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y, x1, y);
        snprintf(buf, sizeof buf, "1e%d", (int)e);
        text(f, x0 - 6, y + 4, "end", "tick", buf);
    }
    double bw = l->n_ops ? (x1 - x0) / l->n_ops : 1;
    int drawn = 0;
    for (int i = 0; i < l->n_ops; i++) {
        const fsc_report_op_error *o = &l->ops[i];
        double v = o->isolated;
        if (!(v > 0)) continue; /* zero (identical) or NaN: no bar */
        double e = isinf(v) ? hi : log10(v);
        double y = bottom - (e - lo) / (hi - lo) * ph;
        fprintf(f, "<rect class=\"bar isoerr%s%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>",
                isinf(v) ? " inf" : "", o->rank == 1 ? " worst" : "", x0 + i * bw + bw * 0.1, y, bw * 0.8 > 0.5 ? bw * 0.8 : 0.5,
                bottom - y > 1 ? bottom - y : 1);
        fprintf(f, "node %d ", o->node);
        fsc_report_html_esc(f, o->op);
        fputs(" '", f);
        fsc_report_html_esc(f, o->name);
        fprintf(f, "': %.6g</title></rect>\n", v);
        drawn++;
    }
    snprintf(buf, sizeof buf, "op 0 .. %d (bars absent: identical output)", l->n_ops ? l->n_ops - 1 : 0);
    text(f, x0, bottom + 18, "start", "tick", buf);
    if (l->n_top) {
        const fsc_report_op_error *w = &l->ops[l->top[0]];
        snprintf(buf, sizeof buf, "worst: node %d %s", w->node, w->op);
        text(f, x1, bottom + 18, "end", "tick", buf);
    }
    fputs("</svg>\n", f);
    return drawn;
}

int fsc_report_svg_logits(FILE *f, const fsc_report *r)
{
    const fsc_drift_result *d = &r->drift;
    int idx[FSC_REPORT_MAX_SHOWN_LOGITS], ng = fsc_report_shown_logits(r, idx);
    int m = 0;
    double vmin = 0, vmax = 0;
    for (int i = 0; i < d->n; i++) {
        const fsc_drift_config *c = &d->cfg[i];
        if (!c->logits) continue;
        m++;
        for (int g = 0; g < ng; g++) {
            double v = idx[g] < c->n_logits ? c->logits[idx[g]] : NAN;
            if (!isfinite(v)) continue;
            if (v < vmin) vmin = v;
            if (v > vmax) vmax = v;
        }
    }
    if (vmax == vmin) vmax = vmin + 1;
    double pad = 0.05 * (vmax - vmin);
    if (vmax > 0) vmax += pad;
    if (vmin < 0) vmin -= pad;
    int legend_rows = (m + 3) / 4;
    double top = 30, ph = 220, bottom = top + ph, h = bottom + 40 + legend_rows * 20, x0 = 70, x1 = X1;
    fprintf(f, "<svg class=\"chart logits\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"logits of each configuration\">\n",
            W, h, W, h);
    text(f, x0, 18, "start", "axis-title", "logits of each configuration (first run)");
#define YOF(v) (bottom - ((v) - vmin) / (vmax - vmin) * ph)
    char buf[128];
    for (int t = 0; t <= 4; t++) {
        double v = vmin + t * (vmax - vmin) / 4, y = YOF(v);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x0, y, x1, y);
        snprintf(buf, sizeof buf, "%.3g", v);
        text(f, x0 - 6, y + 4, "end", "tick", buf);
    }
    double y0 = YOF(0.0);
    fprintf(f, "<line class=\"zero\" x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\"/>\n", x0, y0, x1, y0);
    double gw = ng ? (x1 - x0) / ng : 1, bw = m ? gw * 0.8 / m : 1;
    int drawn = 0;
    for (int g = 0; g < ng; g++) {
        double gx = x0 + g * gw + gw * 0.1;
        snprintf(buf, sizeof buf, "logit %d", idx[g]);
        text(f, x0 + g * gw + gw / 2, bottom + 16, "middle", "tick", buf);
        int k = 0;
        for (int i = 0; i < d->n; i++) {
            const fsc_drift_config *c = &d->cfg[i];
            if (!c->logits) continue;
            int slot = k++;
            double v = idx[g] < c->n_logits ? c->logits[idx[g]] : NAN;
            if (!isfinite(v)) continue;
            double y = YOF(v), yt = y < y0 ? y : y0, hh = fabs(y0 - y);
            fprintf(f, "<rect class=\"bar logit\" fill=\"%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"><title>",
                    palette[(slot) % 10], gx + slot * bw, yt, bw, hh > 0.5 ? hh : 0.5);
            fsc_report_html_esc(f, c->name);
            fprintf(f, " logit %d = %.9g</title></rect>\n", idx[g], v);
            drawn++;
        }
    }
#undef YOF
    int k = 0;
    for (int i = 0; i < d->n; i++) {
        const fsc_drift_config *c = &d->cfg[i];
        if (!c->logits) continue;
        double lx = x0 + (k % 4) * 165, ly = bottom + 34 + (k / 4) * 20;
        fprintf(f, "<rect class=\"swatch\" fill=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\"/>\n",
                palette[k % 10], lx, ly - 10);
        text(f, lx + 16, ly, "start", "legend", c->name);
        k++;
    }
    fputs("</svg>\n", f);
    return drawn;
}
