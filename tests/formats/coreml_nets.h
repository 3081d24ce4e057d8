/* coreml_nets.h (tests): small hand-built graphs in the shape of the seed's
 * model (conv -> silu -> conv -> silu -> reduce_mean -> reshape -> linear ->
 * mul 300), in FP16, with activation quantize/dequantize pairs placed where
 * coremltools places them, and/or constexpr_affine_dequantize weights, plus
 * a graph comparison. Shared by the Core ML and inspect tests. */
#ifndef FSC_TEST_COREML_NETS_H
#define FSC_TEST_COREML_NETS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "flipscope/format.h"
#include "flipscope/graph.h"

/* Deterministic values in [-1, 1) (a 64-bit LCG). */
static inline double net_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 4503599627370496.0 - 1.0;
}

static inline fsc_tensor net_tensor(fsc_dtype dt, int rank, const int64_t *dims)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    memset(&t, 0, sizeof t);
    if (fsc_tensor_alloc(&t, dt == FSC_DT_F16 ? FSC_DT_F32 : dt, &s, 0, NULL)) return t;
    if (dt == FSC_DT_F16) t.fmt = FSC_FMT_FP16;
    return t;
}

/* An fp16 CONSTANT node of random values scaled by amp (or all = value when amp is 0). */
static inline int net_const(fsc_graph *g, const char *name, int rank, const int64_t *dims, double amp, double value,
                     uint64_t *seed)
{
    fsc_tensor t = net_tensor(FSC_DT_F16, rank, dims);
    for (int64_t i = 0; i < fsc_tensor_numel(&t); i++)
        fsc_tensor_set(&t, i, fsc_rne(amp ? amp * net_rand(seed) : value, FSC_FMT_FP16));
    return fsc_graph_add_const_node(g, name, "const", name, FSC_DT_F16, &t, NULL);
}

static inline int net_node(fsc_graph *g, fsc_op op, const char *type, const char *name, const char *out, const int *in,
                    int n_in, const fsc_attrs *attr, fsc_dtype out_dtype, const fsc_shape *out_shape)
{
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.op_type = type;
    s.name = name;
    s.in = in;
    s.n_in = n_in;
    s.n_out = 1;
    s.out_names = &out;
    if (attr) s.attr = *attr;
    s.out_dtype = out_dtype;
    s.out_shape = out_shape;
    fsc_error err;
    int n = fsc_graph_add_node(g, &s, &err);
    if (n < 0) {
        fprintf(stderr, "net_node %s: %s\n", name, err.msg);
        return -1;
    }
    return g->nodes[n].out[0];
}

/* quantize -> dequantize of v with scalar fp16 scales; returns the dequantized value. */
static inline int net_qdq(fsc_graph *g, int v, const char *tag, double scale)
{
    char sn[64], sn2[64], qn[64], qo[64], dn[64], dout[64];
    snprintf(sn, sizeof sn, "%s_qscale", tag);
    snprintf(sn2, sizeof sn2, "%s_dqscale", tag);
    snprintf(qn, sizeof qn, "%s_q", tag);
    snprintf(qo, sizeof qo, "%s_qv", tag);
    snprintf(dn, sizeof dn, "%s_dq", tag);
    snprintf(dout, sizeof dout, "%s_dqv", tag);
    int s = net_const(g, sn, 0, NULL, 0, scale, NULL);
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    a.quant.axis = 0;
    a.quant.out_dtype = FSC_DT_I8;
    int in[3] = {v, s, -1};
    int q = net_node(g, FSC_OP_QUANTIZE, "quantize", qn, qo, in, 3, &a, FSC_DT_I8, NULL);
    a.quant.out_dtype = FSC_DT_F16;
    int s2 = net_const(g, sn2, 0, NULL, 0, scale, NULL); /* coremltools: a separate const per op */
    int in2[3] = {q, s2, -1};
    return net_node(g, FSC_OP_DEQUANTIZE, "dequantize", dn, dout, in2, 3, &a, FSC_DT_F16, NULL);
}

/* A weight: an fp16 CONSTANT node, or (wq) constexpr_affine_dequantize of int8 data with
 * per-output-channel fp16 scales, parameters as initializers "<op>.<attribute>". */
static inline int net_weight(fsc_graph *g, const char *name, int rank, const int64_t *dims, bool wq, uint64_t *seed)
{
    if (!wq) return net_const(g, name, rank, dims, 0.5, 0, seed);
    char qn[96], sn[96], zn[96], out[96];
    snprintf(qn, sizeof qn, "%s.quantized_data", name);
    snprintf(sn, sizeof sn, "%s.scale", name);
    snprintf(zn, sizeof zn, "%s.zero_point", name);
    snprintf(out, sizeof out, "%s_dqw", name);
    fsc_tensor q = net_tensor(FSC_DT_I8, rank, dims);
    for (int64_t i = 0; i < fsc_tensor_numel(&q); i++) fsc_tensor_set(&q, i, (double)(int)(127 * net_rand(seed)));
    fsc_tensor s = net_tensor(FSC_DT_F16, 1, dims);
    for (int64_t i = 0; i < dims[0]; i++) fsc_tensor_set(&s, i, fsc_rne(0.004 + 0.001 * (double)i, FSC_FMT_FP16));
    fsc_tensor z = net_tensor(FSC_DT_I8, 1, dims);
    int in[3];
    in[0] = fsc_graph_add_initializer(g, qn, FSC_DT_I8, &q, NULL);
    in[1] = fsc_graph_add_initializer(g, sn, FSC_DT_F16, &s, NULL);
    in[2] = fsc_graph_add_initializer(g, zn, FSC_DT_I8, &z, NULL);
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    a.quant.axis = 0;
    a.quant.out_dtype = FSC_DT_F16;
    return net_node(g, FSC_OP_DEQUANTIZE, "constexpr_affine_dequantize", name, out, in, 3, &a, FSC_DT_F16, NULL);
}

/* The seed-shaped net. aq: activation quantize/dequantize pairs (prefix on conv/linear inputs,
 * suffix after each conv); wq: constexpr weights. */
static inline fsc_graph *net_build(bool aq, bool wq)
{
    uint64_t seed = 12345;
    fsc_graph *g = fsc_graph_new("net", NULL);
    int64_t xd[4] = {1, 3, 8, 8};
    fsc_shape xs = fsc_shape_make(4, xd);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F16, &xs, NULL);
    fsc_attrs a;

    int v = aq ? net_qdq(g, x, "x", 0.0078125) : x;
    int64_t w0d[4] = {4, 3, 3, 3}, b0d[1] = {4};
    int w0 = net_weight(g, "conv0_weight", 4, w0d, wq, &seed);
    int b0 = net_const(g, "conv0_bias", 1, b0d, 0.1, 0, &seed);
    memset(&a, 0, sizeof a);
    a.conv = (fsc_attr_conv){{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
    int in0[3] = {v, w0, b0};
    v = net_node(g, FSC_OP_CONV2D, "conv", "conv0", "c0", in0, 3, &a, 0, NULL);
    if (aq) v = net_qdq(g, v, "c0", 0.015625);
    v = net_node(g, FSC_OP_SILU, "silu", "silu0", "s0", &v, 1, NULL, 0, NULL);

    if (aq) v = net_qdq(g, v, "s0", 0.0078125);
    int64_t w1d[4] = {6, 4, 3, 3}, b1d[1] = {6};
    int w1 = net_weight(g, "conv1_weight", 4, w1d, wq, &seed);
    int b1 = net_const(g, "conv1_bias", 1, b1d, 0.1, 0, &seed);
    memset(&a, 0, sizeof a);
    a.conv = (fsc_attr_conv){{2, 2}, {1, 0, 0, 1}, {1, 1}, 1}; /* top 1, left 0, bottom 0, right 1 */
    int in1[3] = {v, w1, b1};
    v = net_node(g, FSC_OP_CONV2D, "conv", "conv1", "c1", in1, 3, &a, 0, NULL);
    if (aq) v = net_qdq(g, v, "c1", 0.015625);
    v = net_node(g, FSC_OP_SILU, "silu", "silu1", "s1", &v, 1, NULL, 0, NULL);

    memset(&a, 0, sizeof a);
    a.axes.naxes = 2;
    a.axes.axes[0] = -2;
    a.axes.axes[1] = -1;
    a.axes.keepdims = true;
    v = net_node(g, FSC_OP_REDUCE_MEAN, "reduce_mean", "pool", "pooled", &v, 1, &a, 0, NULL);
    int64_t rd[2] = {1, 6};
    fsc_shape rs = fsc_shape_make(2, rd);
    v = net_node(g, FSC_OP_RESHAPE, "reshape", "flat", "flat_out", &v, 1, NULL, 0, &rs);
    if (aq) v = net_qdq(g, v, "f", 0.0078125);
    int64_t lwd[2] = {2, 6}, lbd[1] = {2};
    int lw = net_weight(g, "head_weight", 2, lwd, wq, &seed);
    int lb = net_const(g, "head_bias", 1, lbd, 0.1, 0, &seed);
    memset(&a, 0, sizeof a);
    a.gemm = (fsc_attr_gemm){1.0, 1.0, false, true};
    int inl[3] = {v, lw, lb};
    v = net_node(g, FSC_OP_GEMM, "linear", "head", "logits", inl, 3, &a, 0, NULL);
    int k = net_const(g, "amp", 0, NULL, 0, 300.0, NULL);
    int inm[2] = {v, k};
    v = net_node(g, FSC_OP_MUL, "mul", "amplify", "y", inm, 2, NULL, 0, NULL);
    fsc_graph_add_output(g, v, NULL);
    return g;
}

/* ---- comparison ------------------------------------------------------------ */

static inline bool net_attr_equal(const fsc_node *a, const fsc_node *b, int rank)
{
    const fsc_attrs *x = &a->attr, *y = &b->attr;
    switch (a->op) {
    case FSC_OP_CONV2D:
        return !memcmp(x->conv.stride, y->conv.stride, sizeof x->conv.stride) &&
               !memcmp(x->conv.pad, y->conv.pad, sizeof x->conv.pad) &&
               !memcmp(x->conv.dilation, y->conv.dilation, sizeof x->conv.dilation) && x->conv.group == y->conv.group;
    case FSC_OP_GEMM:
        return x->gemm.alpha == y->gemm.alpha && x->gemm.beta == y->gemm.beta && x->gemm.trans_a == y->gemm.trans_a &&
               x->gemm.trans_b == y->gemm.trans_b;
    case FSC_OP_REDUCE_MEAN:
        if (x->axes.naxes != y->axes.naxes || x->axes.keepdims != y->axes.keepdims) return false;
        for (int i = 0; i < x->axes.naxes; i++)
            if (x->axes.axes[i] != y->axes.axes[i]) return false;
        return true;
    case FSC_OP_QUANTIZE: case FSC_OP_DEQUANTIZE:
        return x->quant.axis == y->quant.axis && x->quant.out_dtype == y->quant.out_dtype;
    case FSC_OP_TRANSPOSE:
        for (int i = 0; i < rank; i++)
            if (x->transpose.perm[i] != y->transpose.perm[i]) return false;
        return true;
    case FSC_OP_CAST: return x->cast.to == y->cast.to;
    default: return true;
    }
}

/* Value named name in a equals the value of the same name in b (dtype, shape, flags, constant bits). */
static inline bool net_value_equal(const fsc_graph *a, int va, const fsc_graph *b, char *why, size_t len)
{
    const fsc_value *x = &a->values[va];
    int vb = fsc_graph_find(b, x->name);
    if (vb < 0) return snprintf(why, len, "value '%s' missing", x->name), false;
    const fsc_value *y = &b->values[vb];
    if (x->dtype != y->dtype || !fsc_shape_equal(&x->shape, &y->shape) || x->is_input != y->is_input ||
        x->is_output != y->is_output || !x->constant != !y->constant)
        return snprintf(why, len, "value '%s' differs in dtype/shape/flags", x->name), false;
    if (x->constant) {
        const fsc_tensor *s = x->constant, *t = y->constant;
        if (s->dtype != t->dtype || s->fmt != t->fmt || !fsc_shape_equal(&s->shape, &t->shape) || s->nbytes != t->nbytes ||
            (s->nbytes && memcmp(s->data, t->data, s->nbytes)))
            return snprintf(why, len, "constant '%s' differs", x->name), false;
    }
    return true;
}

static inline bool net_node_equal(const fsc_graph *a, int i, const fsc_graph *b, int j, char *why, size_t len)
{
    const fsc_node *x = &a->nodes[i], *y = &b->nodes[j];
    if (x->op != y->op || strcmp(x->op_type, y->op_type) || strcmp(x->name, y->name) || x->n_in != y->n_in ||
        x->n_out != y->n_out)
        return snprintf(why, len, "node %d '%s' (%s) vs node %d '%s' (%s)", i, x->name, x->op_type, j, y->name,
                        y->op_type), false;
    for (int k = 0; k < x->n_in; k++) {
        if ((x->in[k] < 0) != (y->in[k] < 0)) return snprintf(why, len, "node '%s' input %d presence", x->name, k), false;
        if (x->in[k] >= 0 && strcmp(a->values[x->in[k]].name, b->values[y->in[k]].name))
            return snprintf(why, len, "node '%s' input %d name", x->name, k), false;
        if (x->in[k] >= 0 && !net_value_equal(a, x->in[k], b, why, len)) return false;
    }
    for (int k = 0; k < x->n_out; k++)
        if (!net_value_equal(a, x->out[k], b, why, len)) return false;
    int rank = x->n_in && x->in[0] >= 0 ? a->values[x->in[0]].shape.rank : 0;
    if (!net_attr_equal(x, y, rank)) return snprintf(why, len, "node '%s' attributes differ", x->name), false;
    return true;
}

/* Consumers of value v in g. */
static inline int net_consumers(const fsc_graph *g, int v)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) n += g->nodes[i].in[k] == v;
    return n;
}

/* a's nodes appear in b in order; b's other nodes are unconsumed CONSTANT nodes (parameter consts).
 * exact: no other nodes at all. Returns the number of extra nodes, or -1 with why set. */
static inline int net_graph_match(const fsc_graph *a, const fsc_graph *b, bool exact, char *why, size_t len)
{
    int j = 0, extra = 0;
    for (int i = 0; i < a->n_nodes; i++) {
        while (j < b->n_nodes && !exact && b->nodes[j].op == FSC_OP_CONSTANT &&
               fsc_graph_find(a, b->values[b->nodes[j].out[0]].name) < 0) {
            if (net_consumers(b, b->nodes[j].out[0])) return snprintf(why, len, "extra const '%s' is consumed", b->nodes[j].name), -1;
            j++;
            extra++;
        }
        if (j >= b->n_nodes) return snprintf(why, len, "node '%s' missing", a->nodes[i].name), -1;
        if (!net_node_equal(a, i, b, j, why, len)) return -1;
        j++;
    }
    extra += b->n_nodes - j;
    if (exact && extra) return snprintf(why, len, "%d extra nodes", extra), -1;
    if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs) return snprintf(why, len, "input/output counts"), -1;
    for (int i = 0; i < a->n_inputs; i++)
        if (strcmp(a->values[a->inputs[i]].name, b->values[b->inputs[i]].name) || !net_value_equal(a, a->inputs[i], b, why, len))
            return snprintf(why, len, "input %d", i), -1;
    for (int i = 0; i < a->n_outputs; i++)
        if (strcmp(a->values[a->outputs[i]].name, b->values[b->outputs[i]].name))
            return snprintf(why, len, "output %d", i), -1;
    return extra;
}

/* Number of nodes with op_type t. */
static inline int net_count(const fsc_graph *g, const char *t)
{
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += !strcmp(g->nodes[i].op_type, t);
    return n;
}

#endif
