/* weights.c: per-output-channel symmetric int8 weight quantization as
 * coremltools' linear_quantize_weights (mode linear_symmetric, int8) does it
 * (docs/formats/coreml-w8a8.md, "Weight quantization"):
 *   s_c = fmt(max_i |w_ci| / 127), q = clamp(round_half_even(fmt(w / s_c)), -127, 127)
 * in the program's float format fmt; emitted as constexpr_affine_dequantize. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "flipscope/transforms.h"
#include "transforms/rewrite.h"

/* Float constants of rank > 1 read by a node that is not a (de)quantize parameter. */
static int mark_weights(const fsc_graph *g, bool *is_w)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *nd = &g->nodes[i];
        bool qparam = nd->op == FSC_OP_QUANTIZE || nd->op == FSC_OP_DEQUANTIZE;
        for (int k = 0; k < nd->n_in; k++) {
            int v = nd->in[k];
            if (v < 0 || (qparam && k > 0)) continue;
            const fsc_value *val = &g->values[v];
            if (!val->constant || val->shape.rank < 2 || !fsc_dtype_is_float(val->dtype) || is_w[v] || val->is_output)
                continue;
            if (fsc_shape_numel(&val->shape) == 0) continue;
            is_w[v] = true;
            n++;
        }
    }
    return n;
}

/* Adds the int8 data, scale and zero point of weight w as initializers and the
 * constexpr_affine_dequantize node; returns the dequantized value id or -1. */
static int quantize_one(fsc_rw *rw, int w, fsc_format_id fmt, fsc_dtype fdt, fsc_error *err)
{
    const fsc_value *val = &rw->src->values[w];
    const fsc_tensor *t = val->constant;
    int64_t C = val->shape.dim[0], n = fsc_shape_numel(&val->shape), per = n / C;
    fsc_shape cs = {.rank = 1, .dim = {C}};
    fsc_tensor q, sc, zp;
    if (fsc_tensor_alloc(&q, FSC_DT_I8, &val->shape, 0, err)) return -1;
    if (fsc_tensor_alloc(&sc, FSC_DT_F32, &cs, 0, err)) {
        fsc_tensor_free(&q);
        return -1;
    }
    if (fsc_tensor_alloc(&zp, FSC_DT_I8, &cs, 0, err)) {
        fsc_tensor_free(&q);
        fsc_tensor_free(&sc);
        return -1;
    }
    int8_t *qd = q.data;
    for (int64_t c = 0; c < C; c++) {
        double m = 0;
        for (int64_t i = 0; i < per; i++) {
            double a = fabs(fsc_rne(fsc_tensor_get(t, c * per + i), fmt));
            if (a > m) m = a;
        }
        double s = fsc_rne(m / 127.0, fmt);
        if (s == 0.0) s = 1.0; /* an all-zero channel: every q is 0 whatever the scale */
        fsc_tensor_set(&sc, c, s);
        for (int64_t i = 0; i < per; i++) {
            double r = nearbyint(fsc_rne(fsc_rne(fsc_tensor_get(t, c * per + i), fmt) / s, fmt)); /* ties to even */
            qd[c * per + i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
        }
    }
    if (fmt == FSC_FMT_FP16) sc.fmt = FSC_FMT_FP16;
    char qn[512], sn[512], zn[512], dn[512];
    fsc_rw_unique_name(rw, val->name, "_quantized_data", qn, sizeof qn);
    fsc_rw_unique_name(rw, val->name, "_scale", sn, sizeof sn);
    fsc_rw_unique_name(rw, val->name, "_zero_point", zn, sizeof zn);
    fsc_rw_unique_name(rw, val->name, "_dequantized", dn, sizeof dn);
    int qi = fsc_graph_add_initializer(rw->dst, qn, FSC_DT_I8, &q, err);
    int si = qi < 0 ? (fsc_tensor_free(&sc), -1) : fsc_graph_add_initializer(rw->dst, sn, fdt, &sc, err);
    int zi = si < 0 ? (fsc_tensor_free(&zp), -1) : fsc_graph_add_initializer(rw->dst, zn, FSC_DT_I8, &zp, err);
    if (qi < 0 || si < 0 || zi < 0) return -1;
    int in[3] = {qi, si, zi};
    const char *names[1] = {dn};
    fsc_node_spec d = {.op = FSC_OP_DEQUANTIZE, .name = dn, .op_type = "constexpr_affine_dequantize", .n_in = 3,
                       .in = in, .n_out = 1, .out_names = names, .out_dtype = fdt};
    d.attr.quant.axis = 0;
    d.attr.quant.out_dtype = fdt;
    int ni = fsc_graph_add_node(rw->dst, &d, err);
    return ni < 0 ? -1 : rw->dst->nodes[ni].out[0];
}

fsc_status fsc_quantize_weights(const fsc_graph *g, fsc_graph **out, int *n_weights, fsc_error *err)
{
    *out = NULL;
    bool *is_w = fsc_calloc((size_t)g->n_values + 1, sizeof(bool), "weight plan", err);
    if (!is_w) return FSC_ERR_NOMEM;
    int n = mark_weights(g, is_w);
    if (n == 0) {
        free(is_w);
        return fsc_fail(err, FSC_ERR_INVALID,
                        "graph '%s' has nothing to quantize: no float constant of rank > 1 feeds an op", g->name);
    }
    fsc_format_id fmt = fsc_program_format(g);
    fsc_dtype fdt = fmt == FSC_FMT_FP16 ? FSC_DT_F16 : FSC_DT_F32;
    fsc_rw rw;
    /* Weight initializers are not copied: the quantized data replaces them. A
     * weight held by a CONSTANT node is quantized where that node stood. */
    fsc_status s = fsc_rw_begin(&rw, g, is_w, err);
    if (s) {
        free(is_w);
        return s;
    }
    for (int v = 0; v < g->n_values; v++) {
        if (!is_w[v] || g->values[v].producer >= 0) continue;
        int dq = quantize_one(&rw, v, fmt, fdt, err);
        if (dq < 0) goto fail;
        rw.map[v] = dq;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *nd = &g->nodes[i];
        if (nd->op == FSC_OP_CONSTANT && is_w[nd->out[0]]) {
            int dq = quantize_one(&rw, nd->out[0], fmt, fdt, err);
            if (dq < 0) goto fail;
            rw.map[nd->out[0]] = dq;
            continue;
        }
        if ((s = fsc_rw_copy_node(&rw, i, err))) goto fail_s;
    }
    free(is_w);
    if ((s = fsc_rw_finish(&rw, out, err))) return s;
    if (n_weights) *n_weights = n;
    return FSC_OK;
fail:
    s = err && err->code ? err->code : FSC_ERR_INVALID;
fail_s:
    free(is_w);
    fsc_rw_abort(&rw);
    return s;
}
