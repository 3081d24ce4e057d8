/* report_localize.c: the report's localization section, from the localize
 * probe (docs/localize.md): every op output in graph order with its isolated
 * and accumulated relative L2 error, the top of the isolated ranking, and
 * each op's contribution to the margin delta. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/probe_localize.h"
#include "report/report_internal.h"

int fsc_report_pick_localize_target(const fsc_report *r)
{
    if (!r->has_drift) return -1;
    const fsc_drift_result *d = &r->drift;
    int best = -1;
    for (int i = 0; i < d->n; i++) {
        const fsc_drift_config *c = &d->cfg[i];
        if (!c->compared || c->failed || c->exact_equal) continue;
        if (best < 0) {
            best = i;
            continue;
        }
        const fsc_drift_config *b = &d->cfg[best];
        bool cf = !c->argmax_agrees, bf = !b->argmax_agrees;
        if (cf != bf ? cf : fabs(c->margin_delta) > fabs(b->margin_delta)) best = i;
    }
    return best;
}

/* Copies what the report shows of a localize result. */
static fsc_status from_result(fsc_report *r, const fsc_graph *g, const fsc_localize_result *lr, fsc_error *err)
{
    fsc_report_localize *l = &r->localize;
    memset(l, 0, sizeof *l);
    snprintf(l->reference, sizeof l->reference, "%s", lr->reference);
    snprintf(l->target, sizeof l->target, "%s", lr->target);
    snprintf(l->metric, sizeof l->metric, "%s", fsc_metric_name(FSC_METRIC_REL_L2));
    l->ops = calloc((size_t)(lr->n_rows ? lr->n_rows : 1), sizeof *l->ops);
    if (!l->ops) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory for the localization summary");
    l->n_ops = lr->n_rows;
    for (int i = 0; i < lr->n_rows; i++) {
        const fsc_localize_row *row = &lr->rows[i];
        fsc_report_op_error *o = &l->ops[i];
        o->node = row->node;
        snprintf(o->name, sizeof o->name, "%s", row->name);
        snprintf(o->op, sizeof o->op, "%s", row->op);
        o->isolated = row->iso.rel_l2;
        o->accumulated = row->acc.rel_l2;
        /* a node's contribution is shown on its first output only */
        bool first_out = row->out_index == 0;
        o->margin_contrib = lr->margin_attributed && first_out && row->node < g->n_nodes ? lr->margin_contrib[row->node]
                                                                                        : NAN;
        o->first_divergent = row->first_divergent;
        o->rank = row->rank;
    }
    for (int k = 0; k < lr->n_ranked && l->n_top < (int)(sizeof l->top / sizeof l->top[0]); k++)
        l->top[l->n_top++] = lr->ranking[k];
    l->has_margin = lr->has_margin;
    l->margin_delta = lr->margin_delta;
    r->has_localize = true;
    return FSC_OK;
}

fsc_status fsc_report_add_localize(fsc_report *r, const fsc_graph *g, const fsc_tensor *inputs, const char *reference,
                                   const char *target, const fsc_ctx *ctx, fsc_error *err)
{
    free(r->localize.ops);
    memset(&r->localize, 0, sizeof r->localize);
    r->has_localize = false;
    fsc_localize_opts o = fsc_localize_default();
    o.margin = true; /* the report shows each op's share of the margin delta */
    o.rank_by = FSC_METRIC_REL_L2; /* the chart's log scale and the table read one metric */
    o.top = 10;
    fsc_localize_result lr;
    memset(&lr, 0, sizeof lr);
    fsc_status st = fsc_probe_localize(g, inputs, reference, target, &o, ctx, &lr, err);
    if (!st) st = from_result(r, g, &lr, err);
    fsc_localize_result_free(&lr);
    return st;
}
