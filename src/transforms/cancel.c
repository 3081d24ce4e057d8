/* cancel.c: removal of back-to-back dequantize -> quantize pairs with
 * identical parameters (coremltools' dequantize_quantize_pair_elimination):
 * consumers of the quantize read the dequantize's integer input directly; a
 * dequantize (and a scale constant) left without consumers goes too. */
#include <stdlib.h>

#include "flipscope/transforms.h"
#include "transforms/rewrite.h"

/* Element-wise equality of two optional constant inputs; an absent zero point equals zeros. */
static bool same_const(const fsc_graph *g, int a, int b, bool absent_is_zero)
{
    if (a == b) return true;
    const fsc_tensor *ta = a >= 0 ? g->values[a].constant : NULL, *tb = b >= 0 ? g->values[b].constant : NULL;
    if ((a >= 0 && !ta) || (b >= 0 && !tb)) return false; /* not constants: cannot compare */
    if (!ta || !tb) {
        if (!absent_is_zero) return false;
        const fsc_tensor *t = ta ? ta : tb;
        for (int64_t i = 0; i < fsc_tensor_numel(t); i++)
            if (fsc_tensor_get(t, i) != 0.0) return false;
        return true;
    }
    int64_t n = fsc_tensor_numel(ta);
    if (n != fsc_tensor_numel(tb)) return false;
    for (int64_t i = 0; i < n; i++)
        if (fsc_tensor_get(ta, i) != fsc_tensor_get(tb, i)) return false;
    return true;
}

/* True when quantize node qi reads a dequantize whose parameters it repeats. */
static bool cancels(const fsc_graph *g, int qi)
{
    const fsc_node *q = &g->nodes[qi];
    if (q->op != FSC_OP_QUANTIZE || q->n_in < 2 || q->in[0] < 0) return false;
    if (g->values[q->out[0]].is_output) return false; /* the model's output keeps its name */
    int p = g->values[q->in[0]].producer;
    if (p < 0 || g->nodes[p].op != FSC_OP_DEQUANTIZE || g->nodes[p].n_in < 2) return false;
    const fsc_node *d = &g->nodes[p];
    if (d->in[0] < 0 || g->values[d->in[0]].dtype != g->values[q->out[0]].dtype) return false;
    int qz = q->n_in > 2 ? q->in[2] : -1, dz = d->n_in > 2 ? d->in[2] : -1;
    if (!same_const(g, q->in[1], d->in[1], false) || !same_const(g, qz, dz, true)) return false;
    if (fsc_shape_numel(&g->values[q->in[1]].shape) > 1 && q->attr.quant.axis != d->attr.quant.axis) return false;
    return true;
}

fsc_status fsc_cancel_dq_q(const fsc_graph *g, fsc_graph **out, int *n_cancelled, fsc_error *err)
{
    *out = NULL;
    int nn = g->n_nodes, nv = g->n_values;
    bool *drop = fsc_calloc((size_t)nn + 1, sizeof(bool), "cancel plan", err);
    int *uses = fsc_calloc((size_t)nv + 1, sizeof(int), "consumer counts", err);
    bool *skip_v = fsc_calloc((size_t)nv + 1, sizeof(bool), "cancel plan", err);
    fsc_status s = FSC_ERR_NOMEM;
    if (!drop || !uses || !skip_v) goto done;
    int count = 0;
    for (int i = 0; i < nn; i++)
        if (cancels(g, i)) {
            drop[i] = true;
            count++;
        }
    /* Remaining uses once the cancelled quantizes are gone: a dequantize no
     * one reads any more is dropped, and so is a constant only dropped nodes read. */
    for (int i = 0; i < nn; i++)
        if (!drop[i])
            for (int k = 0; k < g->nodes[i].n_in; k++)
                if (g->nodes[i].in[k] >= 0) uses[g->nodes[i].in[k]]++;
    for (int i = 0; i < nn; i++) {
        if (!drop[i]) continue;
        int d = g->values[g->nodes[i].in[0]].producer;
        int y = g->nodes[d].out[0];
        if (!drop[d] && uses[y] == 0 && !g->values[y].is_output) {
            drop[d] = true;
            for (int k = 0; k < g->nodes[d].n_in; k++)
                if (g->nodes[d].in[k] >= 0) uses[g->nodes[d].in[k]]--;
        }
    }
    for (int i = 0; i < nn; i++) {
        if (!drop[i]) continue;
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && uses[v] == 0 && g->values[v].constant && g->values[v].producer < 0 && !g->values[v].is_output)
                skip_v[v] = true;
        }
    }
    fsc_rw rw;
    if ((s = fsc_rw_begin(&rw, g, skip_v, err))) goto done;
    for (int i = 0; i < nn; i++) {
        const fsc_node *n = &g->nodes[i];
        if (drop[i]) {
            if (n->op == FSC_OP_QUANTIZE) { /* its readers take the dequantize's integer input */
                int d = g->values[n->in[0]].producer;
                rw.map[n->out[0]] = rw.map[g->nodes[d].in[0]];
            }
            continue;
        }
        if ((s = fsc_rw_copy_node(&rw, i, err))) {
            fsc_rw_abort(&rw);
            goto done;
        }
    }
    s = fsc_rw_finish(&rw, out, err);
    if (!s && n_cancelled) *n_cancelled = count;
done:
    free(drop);
    free(uses);
    free(skip_v);
    return s;
}
