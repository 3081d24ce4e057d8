/* seed_like.h: the seed's AmplifiedConvTie architecture built by hand at a
 * small size (5 convs with SiLU, *300, mean over H,W, flatten, linear), in
 * the Core ML form (silu op) or the ONNX export form (x * sigmoid(x)).
 * Weights are small pseudo-random numbers from a fixed LCG. */
#ifndef FSC_TESTS_SEED_LIKE_H
#define FSC_TESTS_SEED_LIKE_H

#include <stdio.h>
#include <string.h>

#include "flipscope/graph.h"

static double sl_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return ((double)((*s >> 8) & 0xffff) / 65536.0 - 0.5) * 0.5;
}

static int sl_const(fsc_graph *g, const char *name, int rank, const int64_t *dims, unsigned *seed, double fixed)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    if (fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, NULL)) return -1;
    for (int64_t i = 0; i < fsc_tensor_numel(&t); i++) fsc_tensor_set(&t, i, seed ? sl_rand(seed) : fixed);
    return fsc_graph_add_initializer(g, name, FSC_DT_F32, &t, NULL);
}

static int sl_node(fsc_graph *g, fsc_op op, const char *name, int n_in, const int *in, fsc_attrs at,
                   const fsc_shape *out_shape)
{
    const char *names[1] = {name};
    fsc_node_spec s = {.op = op, .name = name, .n_in = n_in, .in = in, .n_out = 1, .out_names = names, .attr = at,
                       .out_shape = out_shape};
    fsc_error err = {0};
    int ni = fsc_graph_add_node(g, &s, &err);
    if (ni < 0) {
        fprintf(stderr, "seed_like: %s\n", err.msg);
        return -1;
    }
    return g->nodes[ni].out[0];
}

/* C channels, S x S images, last conv to L channels, linear L -> 2. onnx_silu: sigmoid + mul. */
static fsc_graph *seed_like(int C, int S, int L, bool onnx_silu)
{
    fsc_graph *g = fsc_graph_new("seed_like", NULL);
    unsigned seed = 1234;
    int64_t xd[4] = {1, 3, S, S};
    fsc_shape xs = fsc_shape_make(4, xd);
    int v = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, NULL);
    int cin = 3;
    char nm[64];
    for (int k = 0; k < 5; k++) {
        int cout = k == 4 ? L : C, ks = k == 4 ? 1 : 3;
        int64_t wd[4] = {cout, cin, ks, ks}, bd[1] = {cout};
        snprintf(nm, sizeof nm, "conv%d.weight", k);
        int w = sl_const(g, nm, 4, wd, &seed, 0);
        snprintf(nm, sizeof nm, "conv%d.bias", k);
        int b = sl_const(g, nm, 1, bd, &seed, 0);
        fsc_attrs at;
        memset(&at, 0, sizeof at);
        at.conv.stride[0] = at.conv.stride[1] = 1;
        at.conv.dilation[0] = at.conv.dilation[1] = 1;
        at.conv.group = 1;
        for (int i = 0; i < 4; i++) at.conv.pad[i] = ks == 3 ? 1 : 0;
        int in[3] = {v, w, b};
        snprintf(nm, sizeof nm, "conv%d", k);
        int y = sl_node(g, FSC_OP_CONV2D, nm, 3, in, at, NULL);
        fsc_attrs none;
        memset(&none, 0, sizeof none);
        if (onnx_silu) {
            snprintf(nm, sizeof nm, "sigmoid%d", k);
            int sg = sl_node(g, FSC_OP_SIGMOID, nm, 1, &y, none, NULL);
            int mi[2] = {y, sg};
            snprintf(nm, sizeof nm, "silu%d", k);
            v = sl_node(g, FSC_OP_MUL, nm, 2, mi, none, NULL);
        } else {
            snprintf(nm, sizeof nm, "silu%d", k);
            v = sl_node(g, FSC_OP_SILU, nm, 1, &y, none, NULL);
        }
        cin = cout;
    }
    fsc_attrs none;
    memset(&none, 0, sizeof none);
    int amp = sl_const(g, "amp", 0, NULL, NULL, 300.0);
    int mi[2] = {v, amp};
    int m = sl_node(g, FSC_OP_MUL, "mul", 2, mi, none, NULL);
    fsc_attrs ax;
    memset(&ax, 0, sizeof ax);
    ax.axes.naxes = 2;
    ax.axes.axes[0] = -2;
    ax.axes.axes[1] = -1;
    ax.axes.keepdims = true;
    int r = sl_node(g, FSC_OP_REDUCE_MEAN, "mean", 1, &m, ax, NULL);
    int64_t fd[2] = {1, L};
    fsc_shape fs = fsc_shape_make(2, fd);
    int f = sl_node(g, FSC_OP_RESHAPE, "flatten", 1, &r, none, &fs);
    int64_t hd[2] = {2, L}, hb[1] = {2};
    int hw = sl_const(g, "linear.weight", 2, hd, &seed, 0);
    int hbv = sl_const(g, "linear.bias", 1, hb, &seed, 0);
    fsc_attrs ga;
    memset(&ga, 0, sizeof ga);
    ga.gemm.alpha = ga.gemm.beta = 1.0;
    ga.gemm.trans_b = true;
    int gi[3] = {f, hw, hbv};
    int y = sl_node(g, FSC_OP_GEMM, "y", 3, gi, ga, NULL);
    fsc_graph_add_output(g, y, NULL);
    return g;
}

#endif
