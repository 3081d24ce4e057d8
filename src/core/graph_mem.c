/* graph_mem.c: how many bytes of tensors a run of a graph holds at its peak,
 * for the max_total_bytes limit (docs/limits.md). Computed from the inferred
 * shapes before anything is allocated, so a small file describing huge
 * intermediates is refused up front instead of failing (or thrashing) half
 * way through a run. */
#include <stdlib.h>

#include "flipscope/graph.h"

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static uint64_t value_bytes(const fsc_value *v, size_t float_elem)
{
    int64_t n = fsc_shape_numel(&v->shape);
    if (n <= 0) return 0;
    bool is_float = v->dtype == FSC_DT_F32 || v->dtype == FSC_DT_F64 || v->dtype == FSC_DT_F16 || v->dtype == FSC_DT_BF16;
    uint64_t es = is_float ? float_elem : fsc_dtype_size(v->dtype);
    if (es == 0) es = 1;
    return (uint64_t)n > UINT64_MAX / es ? UINT64_MAX : (uint64_t)n * es;
}

uint64_t fsc_graph_peak_bytes(const fsc_graph *g, size_t float_elem)
{
    int *last = malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof *last);
    if (!last) return UINT64_MAX; /* cannot tell: treat as too big rather than unbounded */
    uint64_t live = 0;
    for (int v = 0; v < g->n_values; v++) {
        last[v] = g->values[v].is_output ? g->n_nodes : -1;
        if (g->values[v].constant) live = sat_add(live, value_bytes(&g->values[v], float_elem));
    }
    for (int i = 0; i < g->n_inputs; i++) live = sat_add(live, value_bytes(&g->values[g->inputs[i]], float_elem));
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && last[v] < i) last[v] = i;
        }
    uint64_t peak = live;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *n = &g->nodes[i];
        if (n->op == FSC_OP_CONSTANT) continue; /* its output is a constant, counted above */
        for (int o = 0; o < n->n_out; o++)
            if (n->out[o] >= 0) live = sat_add(live, value_bytes(&g->values[n->out[o]], float_elem));
        if (live > peak) peak = live;
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v < 0 || last[v] != i || g->values[v].constant) continue;
            bool is_input = g->values[v].producer < 0;
            if (!is_input) live -= value_bytes(&g->values[v], float_elem);
            last[v] = -2; /* freed once even when a node reads it twice */
        }
        for (int o = 0; o < n->n_out; o++) /* outputs nobody reads are dropped at once */
            if (n->out[o] >= 0 && last[n->out[o]] == -1) live -= value_bytes(&g->values[n->out[o]], float_elem);
    }
    free(last);
    return peak;
}
