/* tie.c: automatic tie-centring. The seed's author measured the CPU margin
 * and how far the accelerator moved it, and set the head bias by hand; here
 * the same is done by measurement and a few corrections, because rounding
 * of the bias itself (fp16 weights, say) makes the first guess inexact. */
#include <math.h>
#include <string.h>

#include "flipscope/exec.h"
#include "flipscope/synth.h"

/* margin logit0 - logit1 of configuration cfg on input. */
static fsc_status margin_of(const fsc_graph *g, const fsc_tensor *input, const char *cfg, const fsc_ctx *ctx, double *m,
                            fsc_error *err)
{
    fsc_engine *e;
    fsc_status st = fsc_engine_open(cfg, g, ctx, &e, err);
    if (st) return st;
    fsc_tensor y;
    memset(&y, 0, sizeof y);
    st = fsc_engine_run(e, input, &y, NULL, err);
    fsc_engine_close(e);
    if (st) return st;
    *m = fsc_tensor_get(&y, 0) - fsc_tensor_get(&y, 1);
    fsc_tensor_free(&y);
    return FSC_OK;
}

/* Stores b0 as the value's own type holds it (an fp16 program keeps fp16 constants). */
static void set_bias(fsc_graph *g, int v, double b0)
{
    if (g->values[v].dtype == FSC_DT_F16) b0 = fsc_rne(b0, FSC_FMT_FP16);
    if (g->values[v].dtype == FSC_DT_BF16) b0 = fsc_rne(b0, FSC_FMT_BF16);
    fsc_tensor_set(g->values[v].constant, 0, b0);
}

fsc_status fsc_tie_centre(fsc_graph *g, const fsc_tensor *input, const char *a, const char *b, const fsc_ctx *ctx,
                          fsc_tie_result *res, fsc_error *err)
{
    memset(res, 0, sizeof *res);
    int v = fsc_synth_head_bias_value(g);
    if (v < 0)
        return fsc_fail(err, FSC_ERR_INVALID,
                        "tie-centring needs a model whose first output is a gemm/linear with a constant bias of "
                        ">= 2 classes (the AmplifiedConvTie head)");
    double b0 = fsc_tensor_get(g->values[v].constant, 0);
    fsc_status st = margin_of(g, input, a, ctx, &res->margin_a0, err);
    if (!st) st = margin_of(g, input, b, ctx, &res->margin_b0, err);
    if (st) return st;
    double ma = res->margin_a0, mb = res->margin_b0;
    /* The margin moves one-for-one with the class-0 bias (up to rounding). */
    for (int it = 0; it < 40; it++) {
        if ((ma > 0 && mb < 0) || (ma < 0 && mb > 0)) {
            res->split = 1;
            break;
        }
        if (ma == mb) break; /* the two configurations agree exactly: no bias splits them */
        double step = (ma + mb) / 2.0;
        if (step == 0.0) step = (ma > mb ? ma - mb : mb - ma) / 4.0;
        b0 -= step;
        set_bias(g, v, b0);
        b0 = fsc_tensor_get(g->values[v].constant, 0); /* as stored (float32) */
        res->iterations = it + 1;
        if ((st = margin_of(g, input, a, ctx, &ma, err)) || (st = margin_of(g, input, b, ctx, &mb, err))) return st;
    }
    res->b0 = b0;
    res->margin_a = ma;
    res->margin_b = mb;
    return FSC_OK;
}
