/* synth.c: the built-in AmplifiedConvTie model of the seed. */
#include "flipscope/synth.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "flipscope/rng.h"

fsc_synth_opts fsc_synth_default(void)
{
    fsc_synth_opts o = {.seed = 1234, .height = 224, .width = 224, .amplify = 300.0, .head_bias = 0.0};
    return o;
}

/* Adds a uniform(-bound, bound) float32 initializer of the given shape. */
static int add_uniform(fsc_graph *g, fsc_rng *r, const char *name, int rank, const int64_t *dims, double bound,
                       fsc_error *err)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    if (fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, err)) return -1;
    float *d = t.data;
    int64_t n = fsc_tensor_numel(&t);
    for (int64_t i = 0; i < n; i++) d[i] = (float)((2.0 * fsc_rng_uniform(r) - 1.0) * bound);
    return fsc_graph_add_initializer(g, name, FSC_DT_F32, &t, err);
}

static int add_conv(fsc_graph *g, fsc_rng *r, int x, int idx, int64_t cin, int64_t cout, int64_t k, fsc_error *err)
{
    char wn[32], bn[32], cn[32], on[32], sn[32], so[32];
    snprintf(wn, sizeof wn, "conv%d.weight", idx);
    snprintf(bn, sizeof bn, "conv%d.bias", idx);
    snprintf(cn, sizeof cn, "conv%d", idx);
    snprintf(on, sizeof on, "conv%d_out", idx);
    snprintf(sn, sizeof sn, "silu%d", idx);
    snprintf(so, sizeof so, "silu%d_out", idx);
    double bound = 1.0 / sqrt((double)(cin * k * k)); /* kaiming_uniform(a=sqrt(5)) and the bias rule */
    int64_t wd[4] = {cout, cin, k, k}, bd[1] = {cout};
    int w = add_uniform(g, r, wn, 4, wd, bound, err);
    int b = w < 0 ? -1 : add_uniform(g, r, bn, 1, bd, bound, err);
    if (b < 0) return -1;
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_CONV2D;
    s.name = cn;
    s.op_type = "conv";
    int ins[3] = {x, w, b};
    s.in = ins;
    s.n_in = 3;
    s.n_out = 1;
    const char *outs1[1] = {on};
    s.out_names = outs1;
    int64_t p = k / 2;
    s.attr.conv = (fsc_attr_conv){{1, 1}, {p, p, p, p}, {1, 1}, 1};
    int n = fsc_graph_add_node(g, &s, err);
    if (n < 0) return -1;
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_SILU;
    s.name = sn;
    s.op_type = "silu";
    int in2[1] = {g->nodes[n].out[0]};
    s.in = in2;
    s.n_in = 1;
    s.n_out = 1;
    const char *outs2[1] = {so};
    s.out_names = outs2;
    n = fsc_graph_add_node(g, &s, err);
    return n < 0 ? -1 : g->nodes[n].out[0];
}

static int add_simple(fsc_graph *g, fsc_op op, const char *name, const char *type, int n_in, const int *in,
                      const char *out, const fsc_attrs *attr, const fsc_shape *out_shape, fsc_error *err)
{
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.name = name;
    s.op_type = type;
    s.n_in = n_in;
    s.in = in;
    s.n_out = 1;
    const char *outs[1] = {out};
    s.out_names = outs;
    if (attr) s.attr = *attr;
    s.out_shape = out_shape;
    int n = fsc_graph_add_node(g, &s, err);
    return n < 0 ? -1 : g->nodes[n].out[0];
}

fsc_status fsc_synth_amplified_conv_tie(const fsc_synth_opts *o, fsc_graph **out, fsc_error *err)
{
    *out = NULL;
    if (o->height < 1 || o->width < 1 || o->height > 4096 || o->width > 4096)
        return fsc_fail(err, FSC_ERR_INVALID, "input size %lldx%lld is out of range (1..4096)", (long long)o->height,
                        (long long)o->width);
    fsc_graph *g = fsc_graph_new("AmplifiedConvTie", err);
    if (!g) return FSC_ERR_NOMEM;
    fsc_rng r;
    fsc_rng_seed(&r, o->seed);
    int64_t xd[4] = {1, 3, o->height, o->width};
    fsc_shape xs = fsc_shape_make(4, xd);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, err);
    /* Layers are initialised in forward order, as PyTorch constructs them. */
    const int64_t chans[6] = {3, 64, 64, 64, 64, 16};
    for (int i = 0; i < 5 && x >= 0; i++) x = add_conv(g, &r, x, i, chans[i], chans[i + 1], i < 4 ? 3 : 1, err);
    if (x < 0) goto fail;

    fsc_tensor t;
    fsc_shape scalar = fsc_shape_make(0, NULL);
    if (fsc_tensor_alloc(&t, FSC_DT_F32, &scalar, 0, err)) goto fail;
    ((float *)t.data)[0] = (float)o->amplify;
    int amp = fsc_graph_add_initializer(g, "amplify", FSC_DT_F32, &t, err);
    int mi[2] = {x, amp};
    x = amp < 0 ? -1 : add_simple(g, FSC_OP_MUL, "amplify_mul", "mul", 2, mi, "amplified", NULL, NULL, err);
    int pi[1] = {x};
    x = x < 0 ? -1 : add_simple(g, FSC_OP_GLOBAL_AVGPOOL, "pool", "global_avg_pool", 1, pi, "pooled", NULL, NULL, err);
    int64_t fd[2] = {1, 16};
    fsc_shape fs = fsc_shape_make(2, fd);
    int fi[1] = {x};
    x = x < 0 ? -1 : add_simple(g, FSC_OP_RESHAPE, "flatten", "flatten", 1, fi, "features", NULL, &fs, err);
    if (x < 0) goto fail;

    int64_t wd[2] = {2, 16}, bd[1] = {2};
    fsc_shape ws = fsc_shape_make(2, wd), bs = fsc_shape_make(1, bd);
    if (fsc_tensor_alloc(&t, FSC_DT_F32, &ws, 0, err)) goto fail;
    ((float *)t.data)[0 * 16 + 0] = 1.0f; /* class 0 reads channel 0 */
    ((float *)t.data)[1 * 16 + 1] = 1.0f; /* class 1 reads channel 1 */
    int hw = fsc_graph_add_initializer(g, "head.weight", FSC_DT_F32, &t, err);
    if (hw < 0 || fsc_tensor_alloc(&t, FSC_DT_F32, &bs, 0, err)) goto fail;
    ((float *)t.data)[0] = (float)o->head_bias;
    int hb = fsc_graph_add_initializer(g, "head.bias", FSC_DT_F32, &t, err);
    if (hb < 0) goto fail;
    fsc_attrs ga;
    memset(&ga, 0, sizeof ga);
    ga.gemm = (fsc_attr_gemm){1.0, 1.0, false, true};
    int gi[3] = {x, hw, hb};
    int y = add_simple(g, FSC_OP_GEMM, "head", "linear", 3, gi, "y", &ga, NULL, err);
    if (y < 0 || fsc_graph_add_output(g, y, err)) goto fail;
    *out = g;
    return FSC_OK;
fail:
    fsc_error_prefix(err, "building AmplifiedConvTie");
    fsc_graph_free(g);
    return err ? (err->code ? err->code : FSC_ERR_INTERNAL) : FSC_ERR_INTERNAL;
}

int fsc_synth_head_bias_value(const fsc_graph *g)
{
    if (g->n_outputs < 1) return -1;
    int y = g->outputs[0];
    int p = g->values[y].producer;
    if (p < 0 || g->nodes[p].op != FSC_OP_GEMM || g->nodes[p].n_in < 3) return -1;
    int b = g->nodes[p].in[2];
    if (b < 0 || !g->values[b].constant) return -1;
    const fsc_tensor *t = g->values[b].constant;
    if (t->dtype != FSC_DT_F32 && t->dtype != FSC_DT_F64) return -1;
    if (fsc_tensor_numel(t) < 2) return -1;
    return b;
}
