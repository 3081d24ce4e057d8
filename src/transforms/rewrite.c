/* rewrite.c: node-by-node graph copy used by the transforms (rewrite.h). */
#include "transforms/rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fsc_status fsc_rw_begin(fsc_rw *rw, const fsc_graph *src, const bool *skip_value, fsc_error *err)
{
    memset(rw, 0, sizeof *rw);
    rw->src = src;
    rw->map = fsc_malloc((size_t)(src->n_values ? src->n_values : 1) * sizeof(int), "value map", err);
    rw->dst = fsc_graph_new(src->name, err);
    if (!rw->map || !rw->dst) {
        fsc_rw_abort(rw);
        return err ? err->code : FSC_ERR_NOMEM;
    }
    for (int v = 0; v < src->n_values; v++) rw->map[v] = -1;
    for (int i = 0; i < src->n_inputs; i++) {
        const fsc_value *v = &src->values[src->inputs[i]];
        int id = fsc_graph_add_input(rw->dst, v->name, v->dtype, &v->shape, err);
        if (id < 0) goto fail;
        rw->map[src->inputs[i]] = id;
    }
    for (int v = 0; v < src->n_values; v++) {
        const fsc_value *val = &src->values[v];
        if (!val->constant || val->producer >= 0 || (skip_value && skip_value[v])) continue;
        fsc_tensor t;
        if (fsc_tensor_clone(&t, val->constant, err)) goto fail;
        int id = fsc_graph_add_initializer(rw->dst, val->name, val->dtype, &t, err);
        if (id < 0) goto fail;
        rw->map[v] = id;
    }
    return FSC_OK;
fail:
    fsc_rw_abort(rw);
    return err ? err->code : FSC_ERR_INVALID;
}

fsc_status fsc_rw_copy_node(fsc_rw *rw, int node, fsc_error *err)
{
    const fsc_graph *g = rw->src;
    const fsc_node *n = &g->nodes[node];
    char label[200];
    if (n->op == FSC_OP_CONSTANT) {
        const fsc_value *v = &g->values[n->out[0]];
        fsc_tensor t;
        if (fsc_tensor_clone(&t, v->constant, err)) return err ? err->code : FSC_ERR_NOMEM;
        int id = fsc_graph_add_const_node(rw->dst, n->name, n->op_type, v->name, v->dtype, &t, err);
        if (id < 0) return err ? err->code : FSC_ERR_INVALID;
        rw->map[n->out[0]] = id;
        return FSC_OK;
    }
    int in[64];
    const char *names[8];
    if (n->n_in > 64 || n->n_out > 8)
        return fsc_fail(err, FSC_ERR_INVALID, "%s: too many inputs or outputs", fsc_node_label(g, node, label, sizeof label));
    for (int i = 0; i < n->n_in; i++) {
        in[i] = n->in[i] < 0 ? -1 : rw->map[n->in[i]];
        if (n->in[i] >= 0 && in[i] < 0)
            return fsc_fail(err, FSC_ERR_INTERNAL, "%s: input '%s' was not copied",
                            fsc_node_label(g, node, label, sizeof label), g->values[n->in[i]].name);
    }
    for (int o = 0; o < n->n_out; o++) names[o] = g->values[n->out[o]].name;
    fsc_node_spec spec = {.op = n->op, .name = n->name, .op_type = n->op_type, .n_in = n->n_in, .in = in,
                          .n_out = n->n_out, .out_names = names, .attr = n->attr};
    if (n->op == FSC_OP_QUANTIZE || n->op == FSC_OP_DEQUANTIZE || n->op == FSC_OP_CAST)
        spec.out_dtype = g->values[n->out[0]].dtype;
    if (n->op == FSC_OP_RESHAPE || n->op == FSC_OP_SLICE) spec.out_shape = &g->values[n->out[0]].shape;
    int ni = fsc_graph_add_node(rw->dst, &spec, err);
    if (ni < 0) return err ? err->code : FSC_ERR_INVALID;
    for (int o = 0; o < n->n_out; o++) rw->map[n->out[o]] = rw->dst->nodes[ni].out[o];
    return FSC_OK;
}

fsc_status fsc_rw_finish(fsc_rw *rw, fsc_graph **out, fsc_error *err)
{
    const fsc_graph *g = rw->src;
    for (int i = 0; i < g->n_outputs; i++) {
        int id = rw->map[g->outputs[i]];
        if (id < 0) {
            fsc_fail(err, FSC_ERR_INTERNAL, "output '%s' was not copied", g->values[g->outputs[i]].name);
            fsc_rw_abort(rw);
            return FSC_ERR_INTERNAL;
        }
        fsc_status st = fsc_graph_add_output(rw->dst, id, err);
        if (st) {
            fsc_rw_abort(rw);
            return st;
        }
    }
    *out = rw->dst;
    rw->dst = NULL;
    free(rw->map);
    rw->map = NULL;
    return FSC_OK;
}

void fsc_rw_abort(fsc_rw *rw)
{
    fsc_graph_free(rw->dst);
    free(rw->map);
    rw->dst = NULL;
    rw->map = NULL;
}

void fsc_rw_unique_name(const fsc_rw *rw, const char *base, const char *suffix, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", base, suffix);
    for (int k = 1; fsc_graph_find(rw->dst, buf) >= 0 || fsc_graph_find(rw->src, buf) >= 0; k++)
        snprintf(buf, len, "%s%s_%d", base, suffix, k);
}

int fsc_rw_add_scalar(fsc_rw *rw, const char *name, fsc_dtype dt, double v, fsc_error *err)
{
    fsc_tensor t;
    fsc_shape s = {0};
    if (fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, err)) return -1;
    fsc_tensor_set(&t, 0, v);
    if (dt == FSC_DT_F16) t.fmt = FSC_FMT_FP16;
    return fsc_graph_add_initializer(rw->dst, name, dt, &t, err);
}

/* True when none of "<stem>_quantized", "<stem>_dequantized", "<stem>_scale" is taken. */
static bool stem_free(const fsc_rw *rw, const char *stem)
{
    static const char *const suf[] = {"_quantized", "_dequantized", "_scale"};
    char nm[512];
    for (int i = 0; i < 3; i++) {
        snprintf(nm, sizeof nm, "%s%s", stem, suf[i]);
        if (fsc_graph_find(rw->dst, nm) >= 0 || fsc_graph_find(rw->src, nm) >= 0) return false;
    }
    return true;
}

int fsc_rw_add_qdq(fsc_rw *rw, int x, double scale, fsc_dtype float_dt, const char *base, fsc_error *err)
{
    char stem[400], qn[512], dn[512], sn[512];
    snprintf(stem, sizeof stem, "%s", base);
    for (int k = 1; !stem_free(rw, stem); k++) snprintf(stem, sizeof stem, "%s_%d", base, k);
    snprintf(qn, sizeof qn, "%s_quantized", stem);
    snprintf(dn, sizeof dn, "%s_dequantized", stem);
    snprintf(sn, sizeof sn, "%s_scale", stem);
    int scale_id = fsc_rw_add_scalar(rw, sn, float_dt, scale, err);
    if (scale_id < 0) return -1;
    const char *qnames[1] = {qn}, *dnames[1] = {dn};
    int qin[2] = {x, scale_id};
    fsc_node_spec q = {.op = FSC_OP_QUANTIZE, .name = qn, .op_type = "quantize", .n_in = 2, .in = qin,
                       .n_out = 1, .out_names = qnames, .out_dtype = FSC_DT_I8};
    q.attr.quant.axis = 0;
    q.attr.quant.out_dtype = FSC_DT_I8;
    int qi = fsc_graph_add_node(rw->dst, &q, err);
    if (qi < 0) return -1;
    int din[2] = {rw->dst->nodes[qi].out[0], scale_id};
    fsc_node_spec d = {.op = FSC_OP_DEQUANTIZE, .name = dn, .op_type = "dequantize", .n_in = 2, .in = din,
                       .n_out = 1, .out_names = dnames, .out_dtype = float_dt};
    d.attr.quant.axis = 0;
    d.attr.quant.out_dtype = float_dt;
    int di = fsc_graph_add_node(rw->dst, &d, err);
    if (di < 0) return -1;
    return rw->dst->nodes[di].out[0];
}
