/* precision.c: the float16 program of a float model, as coremltools' float16
 * compute precision builds it: fp16 inputs, outputs, activations and
 * constants, no casts (docs/formats/coreml-w8a8.md, "FP16 conversion"). */
#include <math.h>
#include <stdlib.h>

#include "flipscope/transforms.h"

static bool is_wide_float(fsc_dtype d) { return d == FSC_DT_F32 || d == FSC_DT_F64; }

/* Replaces constant t by its values rounded once to fp16 (F32 container);
 * refuses finite values that overflow fp16, which would silently become infinities. */
static fsc_status round_const(fsc_tensor *t, const char *name, fsc_error *err)
{
    fsc_tensor f;
    if (fsc_tensor_alloc(&f, FSC_DT_F32, &t->shape, 0, err)) return err ? err->code : FSC_ERR_NOMEM;
    int64_t n = fsc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = fsc_tensor_get(t, i); /* read from the original: no double rounding via fp32 */
        double h = fsc_rne(v, FSC_FMT_FP16);
        if (isinf(h) && isfinite(v)) {
            fsc_tensor_free(&f);
            return fsc_fail(err, FSC_ERR_UNSUPPORTED,
                            "constant '%s' holds %g at element %lld, beyond fp16's range (65504)", name, v,
                            (long long)i);
        }
        fsc_tensor_set(&f, i, h);
    }
    f.fmt = FSC_FMT_FP16;
    fsc_tensor_free(t);
    *t = f;
    return FSC_OK;
}

fsc_status fsc_to_fp16(const fsc_graph *g, fsc_graph **out, fsc_error *err)
{
    *out = NULL;
    fsc_graph *c = fsc_graph_clone(g, err);
    if (!c) return err ? err->code : FSC_ERR_NOMEM;
    /* Same ids and names: only dtypes, constant data and the dtype attributes of
     * dequantize / cast change, so the clone is rewritten in place. */
    for (int v = 0; v < c->n_values; v++) {
        fsc_value *val = &c->values[v];
        if (!is_wide_float(val->dtype) && val->dtype != FSC_DT_F16) continue;
        val->dtype = FSC_DT_F16;
        if (val->constant && fsc_dtype_is_float(val->constant->dtype)) {
            fsc_status st = round_const(val->constant, val->name, err);
            if (st) {
                fsc_graph_free(c);
                return st;
            }
        }
    }
    for (int i = 0; i < c->n_nodes; i++) {
        fsc_node *n = &c->nodes[i];
        if (n->op == FSC_OP_DEQUANTIZE && is_wide_float(n->attr.quant.out_dtype)) n->attr.quant.out_dtype = FSC_DT_F16;
        if (n->op == FSC_OP_CAST && is_wide_float(n->attr.cast.to)) n->attr.cast.to = FSC_DT_F16;
    }
    *out = c;
    return FSC_OK;
}

fsc_format_id fsc_program_format(const fsc_graph *g)
{
    for (int v = 0; v < g->n_values; v++) {
        if (g->values[v].dtype == FSC_DT_F16) return FSC_FMT_FP16;
        if (is_wide_float(g->values[v].dtype)) return FSC_FMT_FP32;
    }
    return FSC_FMT_FP32;
}

fsc_status fsc_variant_fp16(const fsc_graph *g, fsc_graph **out, fsc_error *err)
{
    fsc_graph *fused = NULL;
    *out = NULL;
    fsc_status s = fsc_fuse_silu(g, &fused, NULL, err);
    if (s) return s;
    s = fsc_to_fp16(fused, out, err);
    fsc_graph_free(fused);
    return s;
}
