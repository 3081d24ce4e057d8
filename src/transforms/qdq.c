/* qdq.c: activation quantize/dequantize insertion with coremltools' placement
 * and scale rules (docs/formats/coreml-w8a8.md, "Activation quantization").
 *
 * Placement, decided on the source graph before anything is copied:
 *  - prefix pair on input x of conv, avg_pool, max_pool, linear (gemm) and
 *    matmul when x is not a constant; on both inputs of an add when neither
 *    is a constant;
 *  - suffix pair after such a core op whose input was dequantized: after its
 *    single following activation when that is one coremltools allows (relu,
 *    relu6, sigmoid, tanh; leaky_relu, scaled_tanh and hard_sigmoid have no
 *    kind in our IR), else directly after the op; none when the value it
 *    would follow has no consumer or is a model output;
 *  - then back-to-back dequantize -> quantize with identical parameters
 *    cancel (fsc_cancel_dq_q).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/transforms.h"
#include "transforms/rewrite.h"

double fsc_act_scale(double rmin, double rmax, fsc_format_id fmt)
{
    double a = fabs(fsc_rne(rmin, fmt)), b = fabs(fsc_rne(rmax, fmt));
    double m = a > b ? a : b;
    /* m / 127 is rounded to a double first; with 53 >= 2p + 2 bits that second
     * rounding to fp16 / fp32 gives the correctly rounded quotient. */
    double s = fsc_rne(m / 127.0, fmt);
    return s == 0.0 ? 1.0 : s;
}

static bool is_core_op(fsc_op op)
{
    return op == FSC_OP_CONV2D || op == FSC_OP_AVGPOOL || op == FSC_OP_MAXPOOL || op == FSC_OP_GEMM ||
           op == FSC_OP_MATMUL || op == FSC_OP_ADD;
}

/* coremltools' activations after which the suffix pair goes. */
static bool is_allowed_activation(const fsc_node *n)
{
    switch (n->op) {
    case FSC_OP_RELU: case FSC_OP_SIGMOID: case FSC_OP_TANH: return true;
    case FSC_OP_CLIP: return n->attr.clip.lo == 0.0 && n->attr.clip.hi == 6.0; /* relu6 */
    default: return false;
    }
}

/* Number of node inputs reading value v. */
static int *count_consumers(const fsc_graph *g, fsc_error *err)
{
    int *c = fsc_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof(int), "consumer counts", err);
    if (!c) return NULL;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) c[g->nodes[i].in[k]]++;
    return c;
}

/* The node reading v (the first one). */
static int first_consumer(const fsc_graph *g, int v)
{
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v) return i;
    return -1;
}

/* Marks prefix[node * 2 + k] for each prefixed input k (0 or 1) and suffix[v]
 * for each value that gets a pair after it. */
static void plan(const fsc_graph *g, const int *consumers, bool *prefix, bool *suffix)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *n = &g->nodes[i];
        if (!is_core_op(n->op) || n->n_in < 1 || n->in[0] < 0) continue;
        bool dequantized;
        if (n->op == FSC_OP_ADD) {
            if (n->n_in != 2 || n->in[1] < 0) continue;
            bool nc = !fsc_graph_is_const(g, n->in[0]) && !fsc_graph_is_const(g, n->in[1]);
            prefix[i * 2] = prefix[i * 2 + 1] = nc;
            dequantized = nc;
        } else {
            prefix[i * 2] = !fsc_graph_is_const(g, n->in[0]);
            int p = g->values[n->in[0]].producer;
            dequantized = prefix[i * 2] || (p >= 0 && g->nodes[p].op == FSC_OP_DEQUANTIZE);
        }
        if (!dequantized) continue;
        int y = n->out[0];
        if (consumers[y] == 0 || g->values[y].is_output) continue;
        if (consumers[y] == 1) {
            int a = first_consumer(g, y);
            if (a >= 0 && is_allowed_activation(&g->nodes[a])) y = g->nodes[a].out[0];
        }
        if (consumers[y] == 0 || g->values[y].is_output) continue;
        suffix[y] = true;
    }
}

static fsc_status pair_scale(const fsc_graph *g, const fsc_calib_stats *st, int v, fsc_format_id fmt, double *s,
                             fsc_error *err)
{
    const fsc_range *r = &st->range[v];
    if (!r->seen) return fsc_fail(err, FSC_ERR_INVALID, "value '%s' has no calibration statistics", g->values[v].name);
    if (!isfinite(fsc_rne(r->min, fmt)) || !isfinite(fsc_rne(r->max, fmt)))
        return fsc_fail(err, FSC_ERR_INVALID, "value '%s' has a non-finite calibration range [%g, %g]",
                        g->values[v].name, r->min, r->max);
    *s = fsc_act_scale(r->min, r->max, fmt);
    return FSC_OK;
}

static int count_op(const fsc_graph *g, fsc_op op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op;
    return c;
}

/* Copies g inserting the planned pairs. */
static fsc_status build(const fsc_graph *g, const fsc_calib_stats *st, const bool *prefix, const bool *suffix,
                        fsc_graph **out, fsc_error *err)
{
    fsc_format_id fmt = fsc_program_format(g);
    fsc_dtype fdt = fmt == FSC_FMT_FP16 ? FSC_DT_F16 : FSC_DT_F32;
    fsc_rw rw;
    fsc_status s = fsc_rw_begin(&rw, g, NULL, err);
    if (s) return s;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *n = &g->nodes[i];
        int saved[2] = {-1, -1};
        for (int k = 0; k < 2 && k < n->n_in; k++) {
            if (!prefix[i * 2 + k]) continue;
            int x = n->in[k];
            if (k == 1 && x == n->in[0]) continue; /* add(x, x): one pair serves both */
            double sc;
            if ((s = pair_scale(g, st, x, fmt, &sc, err))) goto fail;
            int dq = fsc_rw_add_qdq(&rw, rw.map[x], sc, fdt, g->values[x].name, err);
            if (dq < 0) goto fail_code;
            saved[k] = rw.map[x];
            rw.map[x] = dq; /* only this node reads the pair */
        }
        s = fsc_rw_copy_node(&rw, i, err);
        for (int k = 1; k >= 0; k--)
            if (saved[k] >= 0) rw.map[n->in[k]] = saved[k];
        if (s) goto fail;
        for (int o = 0; o < n->n_out; o++) {
            int y = n->out[o];
            if (!suffix[y]) continue;
            double sc;
            if ((s = pair_scale(g, st, y, fmt, &sc, err))) goto fail;
            int dq = fsc_rw_add_qdq(&rw, rw.map[y], sc, fdt, g->values[y].name, err);
            if (dq < 0) goto fail_code;
            rw.map[y] = dq; /* every later consumer reads the dequantized value */
        }
    }
    return fsc_rw_finish(&rw, out, err);
fail_code:
    s = err && err->code ? err->code : FSC_ERR_INVALID;
fail:
    fsc_rw_abort(&rw);
    return s;
}

fsc_status fsc_insert_act_qdq(const fsc_graph *g, const fsc_calib_stats *stats, fsc_graph **out, int *n_pairs,
                              fsc_error *err)
{
    *out = NULL;
    if (!stats || stats->n_values != g->n_values || !stats->range)
        return fsc_fail(err, FSC_ERR_INVALID, "calibration statistics do not belong to graph '%s' (%d values, graph has %d)",
                        g->name, stats ? stats->n_values : 0, g->n_values);
    int *consumers = count_consumers(g, err);
    bool *prefix = fsc_calloc((size_t)g->n_nodes * 2 + 2, sizeof(bool), "prefix plan", err);
    bool *suffix = fsc_calloc((size_t)g->n_values + 1, sizeof(bool), "suffix plan", err);
    fsc_status s = FSC_ERR_NOMEM;
    fsc_graph *mid = NULL;
    if (consumers && prefix && suffix) {
        plan(g, consumers, prefix, suffix);
        s = build(g, stats, prefix, suffix, &mid, err);
    }
    free(consumers);
    free(prefix);
    free(suffix);
    if (s) return s;
    s = fsc_cancel_dq_q(mid, out, NULL, err);
    fsc_graph_free(mid);
    if (s) return s;
    if (n_pairs) *n_pairs = count_op(*out, FSC_OP_QUANTIZE) - count_op(g, FSC_OP_QUANTIZE);
    return FSC_OK;
}
