/* qdq.c: QDQ pattern recognition for the int8 backends. */
#include "backends/qdq.h"

#include <stddef.h>

/* True when value v holds only zeros (an absent zero point counts). */
static bool zero_const(const fsc_graph *g, int v)
{
    if (v < 0) return true;
    const fsc_tensor *t = g->values[v].constant;
    if (!t) return false;
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++)
        if (fsc_tensor_get(t, i) != 0) return false;
    return true;
}

bool fsc_qdq_simple(const fsc_graph *g, const fsc_node *n)
{
    if (n->op != FSC_OP_QUANTIZE && n->op != FSC_OP_DEQUANTIZE) return false;
    const fsc_value *sc = &g->values[n->in[1]];
    int zp = n->n_in > 2 ? n->in[2] : -1;
    if (!sc->constant || !zero_const(g, zp)) return false;
    bool scalar = fsc_shape_numel(&sc->shape) == 1;
    if (n->op == FSC_OP_QUANTIZE)
        return scalar && g->values[n->in[0]].dtype == FSC_DT_F32 && g->values[n->out[0]].dtype == FSC_DT_I8;
    return g->values[n->in[0]].dtype == FSC_DT_I8 && g->values[n->out[0]].dtype == FSC_DT_F32 &&
           (scalar || sc->shape.rank == 1);
}

const fsc_node *fsc_qdq_dequant_of(const fsc_graph *g, int v)
{
    int p = g->values[v].producer;
    if (p < 0 || g->nodes[p].op != FSC_OP_DEQUANTIZE || !fsc_qdq_simple(g, &g->nodes[p])) return NULL;
    return &g->nodes[p];
}

const fsc_node *fsc_qdq_quant_consumer(const fsc_graph *g, int v)
{
    if (g->values[v].is_output) return NULL;
    const fsc_node *found = NULL;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) {
                if (found) return NULL;
                found = &g->nodes[i];
            }
    return found && found->op == FSC_OP_QUANTIZE && fsc_qdq_simple(g, found) && found->in[0] == v ? found : NULL;
}

bool fsc_qdq_conv(const fsc_graph *g, const fsc_node *n)
{
    if (n->op != FSC_OP_CONV2D || g->values[n->in[0]].shape.rank != 4) return false;
    const fsc_node *dx = fsc_qdq_dequant_of(g, n->in[0]), *dw = fsc_qdq_dequant_of(g, n->in[1]);
    if (!dx || !dw || !g->values[dw->in[0]].constant) return false;
    const fsc_value *sx = &g->values[dx->in[1]], *sw = &g->values[dw->in[1]];
    int64_t nw = fsc_shape_numel(&sw->shape);
    return fsc_shape_numel(&sx->shape) == 1 &&
           (nw == 1 || (dw->attr.quant.axis == 0 && nw == g->values[n->in[1]].shape.dim[0]));
}
