/* w8a8_graph.h (tests): the seed's W8A8 ML Program built by hand, op for op,
 * following docs/formats/coreml-w8a8.md (110 ops: 68 const, 11 quantize, 11
 * dequantize, 6 constexpr_affine_dequantize, 5 conv, 5 silu, mul,
 * reduce_mean, reshape, linear), at a small spatial size so it also runs.
 * Independent of the W8A8 transform and the mlpackage reader (whose output
 * test_plan_seed_package.c checks the same way).
 * Core ML string consts (pad_type, output_dtype) are int32 placeholders:
 * flipscope's IR holds no string tensors, and placement only sees "const". */
#ifndef FSC_TEST_W8A8_GRAPH_H
#define FSC_TEST_W8A8_GRAPH_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "flipscope/format.h"
#include "flipscope/graph.h"

typedef struct w8 {
    fsc_graph *g;
    uint64_t rng;
    bool ok;
} w8;

static double w8_uniform(w8 *b)
{
    b->rng = b->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(b->rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static int w8_const(w8 *b, const char *name, fsc_dtype dt, int rank, const int64_t *dims, double scale)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    fsc_dtype container = dt == FSC_DT_F16 ? FSC_DT_F32 : dt;
    if (fsc_tensor_alloc(&t, container, &s, 0, NULL)) {
        b->ok = false;
        return -1;
    }
    for (int64_t i = 0; i < fsc_tensor_numel(&t); i++)
        fsc_tensor_set(&t, i, dt == FSC_DT_F16 ? fsc_rne(scale * w8_uniform(b), FSC_FMT_FP16) : 1.0);
    if (dt == FSC_DT_F16) t.fmt = FSC_FMT_FP16;
    char vn[96];
    snprintf(vn, sizeof vn, "%s_val", name);
    int v = fsc_graph_add_const_node(b->g, name, "const", vn, dt, &t, NULL);
    if (v < 0) b->ok = false;
    return v;
}

static int w8_scalar(w8 *b, const char *name, double value)
{
    int v = w8_const(b, name, FSC_DT_F16, 0, NULL, 0.0);
    if (v >= 0) fsc_tensor_set(b->g->values[v].constant, 0, fsc_rne(value, FSC_FMT_FP16));
    return v;
}

static int w8_node(w8 *b, fsc_op op, const char *type, const char *name, int n_in, const int *in, fsc_attrs at,
                   fsc_dtype out_dt, const fsc_shape *out_shape)
{
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.op_type = type;
    s.name = name;
    s.n_in = n_in;
    s.in = in;
    s.n_out = 1;
    s.attr = at;
    s.out_dtype = out_dt;
    s.out_shape = out_shape;
    fsc_error err;
    int n = fsc_graph_add_node(b->g, &s, &err);
    if (n < 0) {
        fprintf(stderr, "w8a8 graph: %s\n", err.msg);
        b->ok = false;
        return -1;
    }
    return b->g->nodes[n].out[0];
}

/* quantize -> dequantize pair on x with activation scale s: 3 consts + 2 ops. */
static int w8_qdq(w8 *b, int x, const char *tag, double s)
{
    char n1[64], n2[64], n3[64], n4[64], n5[64];
    snprintf(n1, sizeof n1, "%s_q_scale", tag);
    snprintf(n2, sizeof n2, "%s_dq_scale", tag);
    snprintf(n3, sizeof n3, "%s_output_dtype", tag);
    snprintf(n4, sizeof n4, "%s_quantized", tag);
    snprintf(n5, sizeof n5, "%s_dequantized", tag);
    int qs = w8_scalar(b, n1, s), ds = w8_scalar(b, n2, s);
    int64_t one = 1;
    w8_const(b, n3, FSC_DT_I32, 1, &one, 0.0);
    fsc_attrs at;
    memset(&at, 0, sizeof at);
    int in1[2] = {x, qs};
    at.quant.out_dtype = FSC_DT_I8;
    int q = w8_node(b, FSC_OP_QUANTIZE, "quantize", n4, 2, in1, at, FSC_DT_I8, NULL);
    int in2[2] = {q, ds};
    at.quant.out_dtype = FSC_DT_F16;
    return w8_node(b, FSC_OP_DEQUANTIZE, "dequantize", n5, 2, in2, at, FSC_DT_F16, NULL);
}

/* constexpr_affine_dequantize of a per-channel int8 weight [dims], axis 0. */
static int w8_weight(w8 *b, const char *name, int rank, const int64_t *dims)
{
    fsc_shape s = fsc_shape_make(rank, dims), sc = fsc_shape_make(1, dims);
    fsc_tensor q, scale, zp;
    if (fsc_tensor_alloc(&q, FSC_DT_I8, &s, 0, NULL) || fsc_tensor_alloc(&scale, FSC_DT_F32, &sc, 0, NULL) ||
        fsc_tensor_alloc(&zp, FSC_DT_I8, &sc, 0, NULL)) {
        b->ok = false;
        return -1;
    }
    for (int64_t i = 0; i < fsc_tensor_numel(&q); i++) fsc_tensor_set(&q, i, (double)(int)(127.0 * w8_uniform(b)));
    for (int64_t c = 0; c < dims[0]; c++) fsc_tensor_set(&scale, c, fsc_rne(0.002 + 0.001 * (double)c, FSC_FMT_FP16));
    scale.fmt = FSC_FMT_FP16;
    char nq[96], ns[96], nz[96];
    snprintf(nq, sizeof nq, "%s.quantized_data", name);
    snprintf(ns, sizeof ns, "%s.scale", name);
    snprintf(nz, sizeof nz, "%s.zero_point", name);
    int in[3] = {fsc_graph_add_initializer(b->g, nq, FSC_DT_I8, &q, NULL),
                 fsc_graph_add_initializer(b->g, ns, FSC_DT_F16, &scale, NULL),
                 fsc_graph_add_initializer(b->g, nz, FSC_DT_I8, &zp, NULL)};
    fsc_attrs at;
    memset(&at, 0, sizeof at);
    at.quant.axis = 0;
    at.quant.out_dtype = FSC_DT_F16;
    return w8_node(b, FSC_OP_DEQUANTIZE, "constexpr_affine_dequantize", name, 3, in, at, FSC_DT_F16, NULL);
}

/* The seed's W8A8 AmplifiedConvTie at H x W (the seed: 224 x 224). NULL on failure. */
static fsc_graph *w8a8_seed_graph(int64_t H, int64_t W)
{
    w8 b = {fsc_graph_new("w8a8_seed", NULL), 0x5eedull, true};
    if (!b.g) return NULL;
    int64_t xd[4] = {1, 3, H, W};
    fsc_shape xs = fsc_shape_make(4, xd);
    int x = fsc_graph_add_input(b.g, "x", FSC_DT_F16, &xs, NULL);
    const int64_t cin[5] = {3, 64, 64, 64, 64}, cout[5] = {64, 64, 64, 64, 16}, k[5] = {3, 3, 3, 3, 1};
    const double act_scale[5] = {0.03, 0.02, 0.02, 0.02, 0.02};
    for (int i = 0; i < 5 && b.ok; i++) {
        char tag[32], nm[64];
        int64_t two = 2, four = 4, one = 1;
        snprintf(nm, sizeof nm, "conv_%d_strides", i);
        w8_const(&b, nm, FSC_DT_I32, 1, &two, 0);
        snprintf(nm, sizeof nm, "conv_%d_pad", i);
        w8_const(&b, nm, FSC_DT_I32, 1, &four, 0);
        snprintf(nm, sizeof nm, "conv_%d_dilations", i);
        w8_const(&b, nm, FSC_DT_I32, 1, &two, 0);
        snprintf(nm, sizeof nm, "conv_%d_groups", i);
        w8_const(&b, nm, FSC_DT_I32, 0, NULL, 0);
        snprintf(nm, sizeof nm, "conv_%d_pad_type", i);
        w8_const(&b, nm, FSC_DT_I32, 1, &one, 0);
        snprintf(nm, sizeof nm, "conv_%d_bias", i);
        int bias = w8_const(&b, nm, FSC_DT_F16, 1, &cout[i], 0.05);
        int64_t wd[4] = {cout[i], cin[i], k[i], k[i]};
        snprintf(nm, sizeof nm, "conv_%d_weight", i);
        int w = w8_weight(&b, nm, 4, wd);
        snprintf(tag, sizeof tag, "conv_%d_in", i);
        int xin = w8_qdq(&b, x, tag, act_scale[i]);
        fsc_attrs at;
        memset(&at, 0, sizeof at);
        int64_t p = k[i] / 2;
        at.conv = (fsc_attr_conv){{1, 1}, {p, p, p, p}, {1, 1}, 1};
        int in[3] = {xin, w, bias};
        snprintf(nm, sizeof nm, "conv_%d", i);
        int y = w8_node(&b, FSC_OP_CONV2D, "conv", nm, 3, in, at, FSC_DT_UNDEF, NULL);
        snprintf(tag, sizeof tag, "conv_%d_out", i);
        y = w8_qdq(&b, y, tag, 0.04);
        memset(&at, 0, sizeof at);
        snprintf(nm, sizeof nm, "silu_%d", i);
        x = w8_node(&b, FSC_OP_SILU, "silu", nm, 1, &y, at, FSC_DT_UNDEF, NULL);
    }
    if (!b.ok) goto fail;
    fsc_attrs at;
    memset(&at, 0, sizeof at);
    int c300 = w8_scalar(&b, "mul_y", 300.0);
    int in[3] = {x, c300};
    int y = w8_node(&b, FSC_OP_MUL, "mul", "amplify", 2, in, at, FSC_DT_UNDEF, NULL);
    int64_t two = 2;
    w8_const(&b, "reduce_axes", FSC_DT_I32, 1, &two, 0);
    w8_const(&b, "reduce_keep_dims", FSC_DT_BOOL, 0, NULL, 0);
    at.axes.naxes = 2;
    at.axes.axes[0] = -2;
    at.axes.axes[1] = -1;
    at.axes.keepdims = true;
    y = w8_node(&b, FSC_OP_REDUCE_MEAN, "reduce_mean", "pool", 1, &y, at, FSC_DT_UNDEF, NULL);
    w8_const(&b, "flatten_shape", FSC_DT_I32, 1, &two, 0);
    memset(&at, 0, sizeof at);
    int64_t fd[2] = {1, 16};
    fsc_shape fs = fsc_shape_make(2, fd);
    y = w8_node(&b, FSC_OP_RESHAPE, "reshape", "flatten", 1, &y, at, FSC_DT_UNDEF, &fs);
    int64_t hb = 2;
    int hbias = w8_const(&b, "head_bias", FSC_DT_F16, 1, &hb, 0.5);
    int64_t hw[2] = {2, 16};
    int hwt = w8_weight(&b, "head_weight", 2, hw);
    int yq = w8_qdq(&b, y, "head_in", 1.0);
    at.gemm = (fsc_attr_gemm){1.0, 1.0, false, true};
    int hin[3] = {yq, hwt, hbias};
    y = w8_node(&b, FSC_OP_GEMM, "linear", "head", 3, hin, at, FSC_DT_UNDEF, NULL);
    if (!b.ok || fsc_graph_add_output(b.g, y, NULL)) goto fail;
    return b.g;
fail:
    fsc_graph_free(b.g);
    return NULL;
}

#endif
