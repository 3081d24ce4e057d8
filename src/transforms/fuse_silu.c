/* fuse_silu.c: x * sigmoid(x) -> silu(x). PyTorch's SiLU reaches ONNX as a
 * Sigmoid and a Mul (two roundings in an fp16 program); coremltools maps it
 * to one `silu` op (one rounding), so the Core ML-like program flipscope
 * builds from an ONNX model fuses the pair back. The fused node keeps the
 * Mul's name and output value. */
#include <stdlib.h>

#include "flipscope/transforms.h"
#include "transforms/rewrite.h"

/* The sigmoid node of mul node i when it computes x * sigmoid(x) and the
 * sigmoid feeds nothing else; -1 otherwise. *x gets x's value id. */
static int silu_pattern(const fsc_graph *g, const int *uses, int i, int *x)
{
    const fsc_node *m = &g->nodes[i];
    if (m->op != FSC_OP_MUL || m->n_in != 2 || m->in[0] < 0 || m->in[1] < 0) return -1;
    for (int k = 0; k < 2; k++) {
        int s = g->values[m->in[k]].producer, other = m->in[1 - k];
        if (s < 0 || g->nodes[s].op != FSC_OP_SIGMOID || g->nodes[s].in[0] != other) continue;
        int sv = g->nodes[s].out[0];
        if (uses[sv] != 1 || g->values[sv].is_output) continue;
        if (!fsc_shape_equal(&g->values[other].shape, &g->values[m->out[0]].shape)) continue;
        *x = other;
        return s;
    }
    return -1;
}

fsc_status fsc_fuse_silu(const fsc_graph *g, fsc_graph **out, int *n_fused, fsc_error *err)
{
    *out = NULL;
    int *uses = fsc_calloc((size_t)g->n_values + 1, sizeof(int), "consumer counts", err);
    int *fuse_x = fsc_malloc(((size_t)g->n_nodes + 1) * sizeof(int), "fusion plan", err);
    bool *skip = fsc_calloc((size_t)g->n_nodes + 1, sizeof(bool), "fusion plan", err);
    fsc_status s = FSC_ERR_NOMEM;
    int n = 0;
    fsc_rw rw = {0};
    if (!uses || !fuse_x || !skip) goto done;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) uses[g->nodes[i].in[k]]++;
    for (int i = 0; i < g->n_nodes; i++) {
        int x = -1, sg = silu_pattern(g, uses, i, &x);
        fuse_x[i] = sg >= 0 ? x : -1;
        if (sg >= 0) {
            skip[sg] = true;
            n++;
        }
    }
    if ((s = fsc_rw_begin(&rw, g, NULL, err))) goto done;
    for (int i = 0; i < g->n_nodes && !s; i++) {
        if (skip[i]) continue;
        if (fuse_x[i] < 0) {
            s = fsc_rw_copy_node(&rw, i, err);
            continue;
        }
        const fsc_node *m = &g->nodes[i];
        int in[1] = {rw.map[fuse_x[i]]};
        const char *names[1] = {g->values[m->out[0]].name};
        fsc_node_spec sp = {.op = FSC_OP_SILU, .name = m->name, .op_type = "silu", .n_in = 1, .in = in, .n_out = 1,
                            .out_names = names};
        int ni = fsc_graph_add_node(rw.dst, &sp, err);
        if (ni < 0) s = err && err->code ? err->code : FSC_ERR_INVALID;
        else rw.map[m->out[0]] = rw.dst->nodes[ni].out[0];
    }
    if (s) fsc_rw_abort(&rw);
    else if (!(s = fsc_rw_finish(&rw, out, err)) && n_fused) *n_fused = n;
done:
    free(uses);
    free(fuse_x);
    free(skip);
    return s;
}
