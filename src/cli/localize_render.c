/* localize_render.c: text and JSON renderings of a localize result. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* A metric for a table cell: "inf", "-inf", "-" (undefined), else %.3g. */
static const char *num(double v, char *buf, size_t len)
{
    if (isnan(v)) snprintf(buf, len, "-");
    else if (isinf(v)) snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else snprintf(buf, len, "%.3g", v);
    return buf;
}

/* A JSON number, or the strings "inf" / "-inf" for infinities and null for an undefined value. */
static cJSON *jnum(double v)
{
    if (isnan(v)) return cJSON_CreateNull();
    if (isinf(v)) return cJSON_CreateString(v > 0 ? "inf" : "-inf");
    return cJSON_CreateNumber(v);
}

static void add_num(cJSON *o, const char *key, double v) { cJSON_AddItemToObject(o, key, jnum(v)); }

void fsc_cli_localize_text(FILE *f, const fsc_localize_result *r)
{
    const fsc_localize_opts *o = &r->opts;
    const char *metric = fsc_metric_name(o->rank_by);
    fprintf(f, "reference %s, target %s\n", r->reference, r->target);
    fprintf(f, "tolerance |t - r| <= %g + %g |r|; e = relative L2; ranking by isolated %s\n\n", o->atol, o->rtol,
            metric);
    char iso_head[32];
    snprintf(iso_head, sizeof iso_head, "iso %s", metric);
    fprintf(f, "  %-3s %-18s %-15s %-10s %-10s %-16s %-10s %-10s %-10s %-9s %-12s %s\n", "#", "node", "op", "acc e",
            "acc max|d|", "beyond", iso_head, "iso ulp", "rate R", "ampl", "margin", "");
    for (int k = 0; k < r->n_rows; k++) {
        const fsc_localize_row *w = &r->rows[k];
        char a[32], b[32], c[32], d[32], e[32], g[32], h[32], beyond[32], mark[64] = "", name[20];
        snprintf(name, sizeof name, "%s", w->name);
        snprintf(beyond, sizeof beyond, "%lld/%lld", (long long)w->acc.beyond, (long long)w->acc.n);
        if (w->first_divergent) strcat(mark, "<- FIRST DIVERGENT ");
        if (w->rank) snprintf(mark + strlen(mark), sizeof mark - strlen(mark), "#%d isolated ", w->rank);
        if (w->acc.nonfinite || w->acc.mismatched_special) strcat(mark, "NaN/Inf");
        bool first_out = k == 0 || r->rows[k - 1].node != w->node;
        if (r->margin_attributed && first_out) num(r->margin_contrib[w->node], h, sizeof h);
        else snprintf(h, sizeof h, " ");
        fprintf(f, "  %-3d %-18s %-15s %-10s %-10s %-16s %-10s %-10s %-10s %-9s %-12s %s\n", w->node, name, w->op,
                num(w->acc.rel_l2, a, sizeof a), num(w->acc.max_abs, b, sizeof b), beyond,
                num(fsc_metric_value(&w->iso, o->rank_by), c, sizeof c), num(w->iso.max_ulp, d, sizeof d),
                num(w->rate, e, sizeof e), num(w->amplification, g, sizeof g), h, mark);
    }
    fprintf(f, "\n%d first divergent op%s", r->n_first_divergent, r->n_first_divergent == 1 ? "" : "s");
    for (int k = 0, shown = 0; k < r->n_rows; k++)
        if (r->rows[k].first_divergent) fprintf(f, "%s%s", shown++ ? ", " : ": ", r->rows[k].name);
    fprintf(f, "%s\n", r->any_divergence ? "" : " (every op output is within the tolerance)");
    if (r->n_ranked) {
        fprintf(f, "\nTop %d by isolated %s (the op's own error, fed the reference's inputs)\n", r->n_ranked, metric);
        for (int i = 0; i < r->n_ranked; i++) {
            const fsc_localize_row *w = &r->rows[r->ranking[i]];
            char a[32], b[32], c[32], extra[64] = "";
            if (o->rank_by != FSC_METRIC_REL_L2) snprintf(extra, sizeof extra, "rel_l2 %-10s ", num(w->iso.rel_l2, b, sizeof b));
            fprintf(f, "  %2d. %-20s %-15s %s %-10s %smax ulp %s\n", i + 1, w->name, w->op, metric,
                    num(fsc_metric_value(&w->iso, o->rank_by), a, sizeof a), extra, num(w->iso.max_ulp, c, sizeof c));
        }
    } else {
        bool any = false;
        for (int k = 0; k < r->n_rows; k++) any = any || !r->rows[k].iso.identical;
        if (!any) fprintf(f, "\nNo op has an isolated error: every target op computes exactly the reference's op.\n");
    }
    if (!r->has_margin) return;
    fprintf(f, "\nMargin y[%d] - y[%d]: reference %.9g (argmax %d), target %.9g (argmax %d), delta %+.9g%s\n",
            r->class_a, r->class_b, r->margin_reference, r->argmax_reference, r->margin_target, r->argmax_target,
            r->margin_delta, r->argmax_reference != r->argmax_target ? "  FLIP" : "");
    if (!r->margin_attributed) {
        if (r->margin_delta != 0.0)
            fprintf(f, "(--margin attributes this delta to the ops exactly; it re-runs the reference downstream of every op)\n");
        return;
    }
    fprintf(f, "Contributions by patching (first k ops from the target, the rest from the reference):\n"
               "  sum %+.9g over %d ops (%lld reference op runs, %d steps skipped as unchanged)\n",
            r->margin_contrib_sum, r->n_rows ? r->rows[r->n_rows - 1].node + 1 : 0, (long long)r->margin_node_runs,
            r->margin_skipped);
    /* the largest contributions by magnitude */
    int shown[5] = {-1, -1, -1, -1, -1};
    for (int s = 0; s < 5; s++) {
        int best = -1;
        for (int k = 0; k < r->n_rows; k++) {
            int n = r->rows[k].node;
            bool used = false;
            for (int t = 0; t < s; t++) used = used || shown[t] == n;
            if (used || r->margin_contrib[n] == 0.0) continue;
            if (best < 0 || fabs(r->margin_contrib[n]) > fabs(r->margin_contrib[best])) best = n;
        }
        if (best < 0) break;
        shown[s] = best;
        const char *nm = "";
        for (int k = 0; k < r->n_rows; k++)
            if (r->rows[k].node == best) nm = r->rows[k].name;
        fprintf(f, "  %-20s %+.6g (%.1f%% of the delta)\n", nm, r->margin_contrib[best],
                r->margin_delta != 0 ? 100.0 * r->margin_contrib[best] / r->margin_delta : 0.0);
    }
}

static cJSON *metrics_json(const fsc_err_metrics *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)m->n);
    add_num(o, "max_abs", m->max_abs);
    add_num(o, "mean_abs", m->mean_abs);
    add_num(o, "rel_l2", m->rel_l2);
    add_num(o, "snr_db", m->snr_db);
    add_num(o, "psnr_db", m->psnr_db);
    add_num(o, "max_ulp", m->max_ulp);
    cJSON_AddNumberToObject(o, "beyond", (double)m->beyond);
    cJSON_AddNumberToObject(o, "nonfinite", (double)m->nonfinite);
    cJSON_AddNumberToObject(o, "mismatched_special", (double)m->mismatched_special);
    cJSON_AddBoolToObject(o, "identical", m->identical);
    cJSON_AddBoolToObject(o, "pass", m->pass);
    return o;
}

cJSON *fsc_cli_localize_json(const fsc_localize_result *r)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "reference", r->reference);
    cJSON_AddStringToObject(d, "target", r->target);
    cJSON *o = cJSON_AddObjectToObject(d, "options");
    cJSON_AddNumberToObject(o, "atol", r->opts.atol);
    cJSON_AddNumberToObject(o, "rtol", r->opts.rtol);
    cJSON_AddStringToObject(o, "metric", fsc_metric_name(r->opts.rank_by));
    cJSON_AddNumberToObject(o, "top", r->opts.top);
    cJSON_AddNumberToObject(o, "eps", r->opts.eps);
    cJSON_AddBoolToObject(o, "margin", r->opts.margin);
    cJSON *rows = cJSON_AddArrayToObject(d, "ops");
    for (int k = 0; k < r->n_rows; k++) {
        const fsc_localize_row *w = &r->rows[k];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "node", w->node);
        cJSON_AddStringToObject(x, "name", w->name);
        cJSON_AddStringToObject(x, "op", w->op);
        cJSON_AddNumberToObject(x, "output", w->out_index);
        cJSON_AddStringToObject(x, "device", w->device);
        cJSON_AddStringToObject(x, "ulp_format", fsc_format_get(w->ulp_fmt)->name);
        cJSON_AddItemToObject(x, "accumulated", metrics_json(&w->acc));
        cJSON_AddItemToObject(x, "isolated", metrics_json(&w->iso));
        cJSON_AddBoolToObject(x, "isolated_reused", w->iso_reused);
        add_num(x, "e_in", w->e_in);
        add_num(x, "e_out", w->e_out);
        add_num(x, "introduction_rate", w->rate);
        add_num(x, "amplification", w->amplification);
        cJSON_AddBoolToObject(x, "first_divergent", w->first_divergent);
        cJSON_AddNumberToObject(x, "rank", w->rank);
        bool first_out = k == 0 || r->rows[k - 1].node != w->node;
        if (r->margin_attributed && first_out) add_num(x, "margin_contribution", r->margin_contrib[w->node]);
        else cJSON_AddNullToObject(x, "margin_contribution");
        cJSON_AddItemToArray(rows, x);
    }
    cJSON *fd = cJSON_AddArrayToObject(d, "first_divergent");
    for (int k = 0; k < r->n_rows; k++)
        if (r->rows[k].first_divergent) cJSON_AddItemToArray(fd, cJSON_CreateString(r->rows[k].name));
    cJSON_AddBoolToObject(d, "any_divergence", r->any_divergence);
    cJSON *rk = cJSON_AddArrayToObject(d, "ranking");
    for (int i = 0; i < r->n_ranked; i++) {
        const fsc_localize_row *w = &r->rows[r->ranking[i]];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "rank", i + 1);
        cJSON_AddNumberToObject(x, "node", w->node);
        cJSON_AddStringToObject(x, "name", w->name);
        add_num(x, "value", fsc_metric_value(&w->iso, r->opts.rank_by));
        cJSON_AddItemToArray(rk, x);
    }
    if (r->has_margin) {
        cJSON *m = cJSON_AddObjectToObject(d, "margin");
        cJSON *cl = cJSON_AddArrayToObject(m, "classes");
        cJSON_AddItemToArray(cl, cJSON_CreateNumber(r->class_a));
        cJSON_AddItemToArray(cl, cJSON_CreateNumber(r->class_b));
        add_num(m, "reference", r->margin_reference);
        add_num(m, "target", r->margin_target);
        add_num(m, "delta", r->margin_delta);
        cJSON_AddNumberToObject(m, "argmax_reference", r->argmax_reference);
        cJSON_AddNumberToObject(m, "argmax_target", r->argmax_target);
        cJSON_AddBoolToObject(m, "attributed", r->margin_attributed);
        if (r->margin_attributed) {
            add_num(m, "contributions_sum", r->margin_contrib_sum);
            cJSON_AddNumberToObject(m, "reference_op_runs", (double)r->margin_node_runs);
            cJSON_AddNumberToObject(m, "steps_skipped", r->margin_skipped);
        }
    } else {
        cJSON_AddNullToObject(d, "margin");
    }
    cJSON *c = cJSON_AddObjectToObject(d, "cost");
    cJSON_AddNumberToObject(c, "peak_bytes", (double)r->peak_bytes);
    cJSON_AddNumberToObject(c, "seconds_reference", r->seconds_reference);
    cJSON_AddNumberToObject(c, "seconds_target", r->seconds_target);
    cJSON_AddNumberToObject(c, "seconds_isolated", r->seconds_isolated);
    cJSON_AddNumberToObject(c, "seconds_margin", r->seconds_margin);
    return d;
}
