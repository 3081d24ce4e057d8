/* test_quant_graph.c: the W8A8 graph rewrites on hand-built graphs with
 * hand-set statistics: fp16 precision, the scale rule, the 11 activation
 * pairs of the seed architecture, per-channel weights, cancellation, errors.
 * Expected numbers come from NumPy (the command is quoted next to each). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flipscope/transforms.h"
#include "transforms/seed_like.h"

static int producer(const fsc_graph *g, int v) { return v < 0 ? -1 : g->values[v].producer; }

/* If v = dequantize(quantize(src)) with one shared scale, returns that scale's value; else -1. */
static double pair_of(const fsc_graph *g, int v, const char *src)
{
    int d = producer(g, v);
    if (d < 0 || g->nodes[d].op != FSC_OP_DEQUANTIZE || strcmp(g->nodes[d].op_type, "dequantize")) return -1;
    int q = producer(g, g->nodes[d].in[0]);
    if (q < 0 || g->nodes[q].op != FSC_OP_QUANTIZE || strcmp(g->nodes[q].op_type, "quantize")) return -1;
    if (strcmp(g->values[g->nodes[q].in[0]].name, src)) return -1;
    if (g->nodes[q].in[1] != g->nodes[d].in[1]) return -1;
    if (g->values[g->nodes[q].out[0]].dtype != FSC_DT_I8) return -1;
    if (g->nodes[q].n_in > 2 && g->nodes[q].in[2] >= 0) return -1; /* zero point must be absent */
    return fsc_tensor_get(g->values[g->nodes[q].in[1]].constant, 0);
}

static int node_named(const fsc_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

static int count(const fsc_graph *g, fsc_op op, const char *op_type)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) c += g->nodes[i].op == op && (!op_type || !strcmp(g->nodes[i].op_type, op_type));
    return c;
}

/* Statistics for every non-constant value: [-(1 + v/100), 2 + v/100], the input [-3.5, 2.0]. */
static void hand_stats(const fsc_graph *g, fsc_calib_stats *st)
{
    st->n_values = g->n_values;
    st->range = calloc((size_t)g->n_values, sizeof *st->range);
    for (int v = 0; v < g->n_values; v++) {
        if (g->values[v].constant) continue;
        st->range[v] = (fsc_range){-(1 + v / 100.0), 2 + v / 100.0, true};
    }
    st->range[g->inputs[0]] = (fsc_range){-3.5, 2.0, true};
}

static void test_scale_rule(void **state)
{
    (void)state;
    /* np.float16(np.float16(max(abs(np.float16(a)), abs(np.float16(b)))) / np.float16(127)) */
    assert_true(fsc_act_scale(-3.5, 2.0, FSC_FMT_FP16) == 0.027557373046875);
    assert_true(fsc_act_scale(-100.03, 50.0, FSC_FMT_FP16) == 0.78759765625); /* negative side dominates */
    assert_true(fsc_act_scale(-0.5, 0.75, FSC_FMT_FP16) == 0.0059051513671875);
    assert_true(fsc_act_scale(0.0, 0.0, FSC_FMT_FP16) == 1.0);   /* zero range -> 1 */
    assert_true(fsc_act_scale(0.0, 1e-9, FSC_FMT_FP16) == 1.0);  /* rounds to a zero range in fp16 */
    assert_true(fsc_act_scale(-1e-6, 0.0, FSC_FMT_FP16) == 1.0); /* m / 127 underflows fp16 */
    /* np.float32(max(...)) / np.float32(127) */
    assert_true(fsc_act_scale(-1e-3, 7.77, FSC_FMT_FP32) == 0x1.f532120000000p-5);
}

static void test_fp16_program(void **state)
{
    (void)state;
    fsc_graph *g = seed_like(4, 6, 3, false), *h = NULL;
    fsc_error err = {0};
    assert_int_equal(fsc_to_fp16(g, &h, &err), FSC_OK);
    for (int v = 0; v < h->n_values; v++) assert_int_equal(h->values[v].dtype, FSC_DT_F16);
    assert_int_equal(fsc_program_format(h), FSC_FMT_FP16);
    assert_int_equal(fsc_program_format(g), FSC_FMT_FP32);
    /* every constant rounded to fp16; the source graph is unchanged */
    int w = fsc_graph_find(h, "conv0.weight"), w0 = fsc_graph_find(g, "conv0.weight");
    const fsc_tensor *t = h->values[w].constant, *t0 = g->values[w0].constant;
    assert_int_equal(t->fmt, FSC_FMT_FP16);
    int changed = 0;
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++) {
        double a = fsc_tensor_get(t0, i), b = fsc_tensor_get(t, i);
        assert_true(fabs(a - b) <= ldexp(fabs(a), -11)); /* within half an fp16 ulp */
        assert_true((double)(_Float16)a == b);         /* the compiler's fp16 conversion agrees */
        changed += a != b;
    }
    assert_true(changed > 0);
    assert_int_equal(g->values[w0].dtype, FSC_DT_F32);
    assert_int_equal(h->n_nodes, g->n_nodes); /* no casts */
    fsc_graph_free(h);
    fsc_graph_free(g);

    /* a constant beyond fp16's range is refused */
    g = fsc_graph_new("big", NULL);
    int64_t d[2] = {2, 2};
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &(fsc_shape){2, {2, 2}}, NULL);
    int c = sl_const(g, "huge", 2, d, NULL, 70000.0);
    fsc_attrs none = {0};
    int in[2] = {x, c};
    fsc_graph_add_output(g, sl_node(g, FSC_OP_ADD, "sum", 2, in, none, NULL), NULL);
    assert_int_equal(fsc_to_fp16(g, &h, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "huge"));
    assert_null(h);
    fsc_graph_free(g);
}

/* The 11 pairs of the seed at the positions of the facts page. */
static void check_seed_pairs(bool onnx_silu)
{
    fsc_graph *g = seed_like(4, 6, 3, onnx_silu), *h = NULL, *q = NULL;
    fsc_error err = {0};
    assert_int_equal(fsc_to_fp16(g, &h, &err), FSC_OK);
    fsc_calib_stats st = {0};
    hand_stats(h, &st);
    int pairs = -1;
    assert_int_equal(fsc_insert_act_qdq(h, &st, &q, &pairs, &err), FSC_OK);
    assert_int_equal(pairs, 11);
    assert_int_equal(count(q, FSC_OP_QUANTIZE, "quantize"), 11);
    assert_int_equal(count(q, FSC_OP_DEQUANTIZE, "dequantize"), 11);
    char nm[64], src[64];
    for (int k = 0; k < 5; k++) {
        snprintf(nm, sizeof nm, "conv%d", k);
        int c = node_named(q, nm);
        assert_true(c >= 0);
        /* prefix: x of conv k is the dequantized input / previous silu */
        snprintf(src, sizeof src, k ? "silu%d" : "x", k - 1);
        double s = pair_of(q, q->nodes[c].in[0], src);
        int sv = fsc_graph_find(h, src);
        assert_true(s == fsc_act_scale(st.range[sv].min, st.range[sv].max, FSC_FMT_FP16));
        if (k == 0) assert_true(s == 0.027557373046875); /* the input's hand range [-3.5, 2] */
        /* the weight input is untouched by activation quantization */
        assert_string_equal(q->values[q->nodes[c].in[1]].name, q->values[q->nodes[c].in[1]].name);
        assert_true(fsc_graph_is_const(q, q->nodes[c].in[1]));
        /* suffix: between conv and silu (silu is not an allowed activation) */
        snprintf(nm, sizeof nm, onnx_silu ? "sigmoid%d" : "silu%d", k);
        int a = node_named(q, nm);
        snprintf(src, sizeof src, "conv%d", k);
        assert_true(pair_of(q, q->nodes[a].in[0], src) > 0);
        if (onnx_silu) { /* both readers of the conv output read the same dequantized value */
            snprintf(nm, sizeof nm, "silu%d", k);
            assert_int_equal(q->nodes[node_named(q, nm)].in[0], q->nodes[a].in[0]);
        }
    }
    /* linear: prefix on x, none after it (a model output) */
    int lin = node_named(q, "y");
    assert_true(pair_of(q, q->nodes[lin].in[0], "flatten") > 0);
    assert_int_equal(q->n_outputs, 1);
    assert_string_equal(q->values[q->outputs[0]].name, "y");
    assert_int_equal(producer(q, q->outputs[0]), lin);
    /* mul, mean, flatten get none */
    assert_string_equal(q->values[q->nodes[node_named(q, "mul")].in[0]].name, "silu4");
    assert_string_equal(q->values[q->nodes[node_named(q, "mean")].in[0]].name, "mul");
    assert_string_equal(q->values[q->nodes[node_named(q, "flatten")].in[0]].name, "mean");
    /* readable names, fp16 scalar scales */
    int xq = fsc_graph_find(q, "x_quantized"), xd = fsc_graph_find(q, "x_dequantized"), xs = fsc_graph_find(q, "x_scale");
    assert_true(xq >= 0 && xd >= 0 && xs >= 0);
    assert_int_equal(q->values[xd].dtype, FSC_DT_F16);
    assert_int_equal(q->values[xs].dtype, FSC_DT_F16);
    assert_int_equal(q->values[xs].shape.rank, 0);

    /* weights: 6 per-channel constexpr dequantizes, biases untouched */
    fsc_graph *w = NULL;
    int nw = -1;
    assert_int_equal(fsc_quantize_weights(q, &w, &nw, &err), FSC_OK);
    assert_int_equal(nw, 6);
    assert_int_equal(count(w, FSC_OP_DEQUANTIZE, "constexpr_affine_dequantize"), 6);
    assert_int_equal(count(w, FSC_OP_QUANTIZE, "quantize"), 11);
    for (int k = 0; k < 6; k++) {
        if (k < 5) snprintf(nm, sizeof nm, "conv%d", k);
        else snprintf(nm, sizeof nm, "y");
        const fsc_node *n = &w->nodes[node_named(w, nm)];
        int d = producer(w, n->in[1]);
        assert_true(d >= 0);
        const fsc_node *dq = &w->nodes[d];
        assert_string_equal(dq->op_type, "constexpr_affine_dequantize");
        assert_int_equal(dq->n_in, 3);
        assert_int_equal(w->values[dq->in[0]].dtype, FSC_DT_I8);
        assert_int_equal(w->values[dq->in[1]].dtype, FSC_DT_F16);
        assert_int_equal(w->values[dq->in[2]].dtype, FSC_DT_I8);
        assert_int_equal(w->values[dq->in[1]].shape.dim[0], w->values[dq->in[0]].shape.dim[0]);
        assert_int_equal(dq->attr.quant.axis, 0);
        assert_int_equal(w->values[n->out[0]].dtype, FSC_DT_F16);
        /* the bias stays an fp16 constant */
        assert_true(fsc_graph_is_const(w, n->in[2]));
        assert_int_equal(w->values[n->in[2]].dtype, FSC_DT_F16);
        assert_int_equal(w->values[n->in[2]].shape.rank, 1);
    }
    assert_int_equal(fsc_graph_find(w, "conv0.weight"), -1); /* the float weight is gone */
    assert_true(fsc_graph_find(w, "amp") >= 0);              /* scalars stay */
    fsc_graph_free(w);
    fsc_calib_stats_free(&st);
    fsc_graph_free(q);
    fsc_graph_free(h);
    fsc_graph_free(g);
}

static void test_seed_pairs_coreml(void **state)
{
    (void)state;
    check_seed_pairs(false);
}

static void test_seed_pairs_onnx(void **state)
{
    (void)state;
    check_seed_pairs(true);
}

static void test_weight_values(void **state)
{
    (void)state;
    /* w = np.array([[0.5,-0.25,0.1,0.3337],[-2.0,1.999,0.0078,-0.5],[-0.003,0.001,0.002,0.0025]]).astype(np.float16)
     * s = (np.max(np.abs(w), axis=1) / np.float16(127)).astype(np.float16)
     * q = np.clip(np.round((w / s[:, None]).astype(np.float16)), -127, 127) */
    static const double wv[12] = {0.5, -0.25, 0.1, 0.3337, -2.0, 1.999, 0.0078, -0.5, -0.003, 0.001, 0.002, 0.0025};
    static const double s_ref[3] = {0.003936767578125, 0.0157470703125, 2.3603439331054688e-05};
    static const int q_ref[12] = {127, -64, 25, 85, -127, 127, 0, -32, -127, 42, 85, 106};
    fsc_graph *g = fsc_graph_new("lin", NULL), *h = NULL, *w = NULL;
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &(fsc_shape){2, {1, 4}}, NULL);
    fsc_tensor t;
    fsc_tensor_alloc(&t, FSC_DT_F32, &(fsc_shape){2, {3, 4}}, 0, NULL);
    for (int i = 0; i < 12; i++) fsc_tensor_set(&t, i, wv[i]);
    int wi = fsc_graph_add_initializer(g, "W", FSC_DT_F32, &t, NULL);
    fsc_attrs ga = {0};
    ga.gemm.alpha = ga.gemm.beta = 1;
    ga.gemm.trans_b = true;
    int in[2] = {x, wi};
    fsc_graph_add_output(g, sl_node(g, FSC_OP_GEMM, "lin", 2, in, ga, NULL), NULL);
    fsc_error err = {0};
    assert_int_equal(fsc_to_fp16(g, &h, &err), FSC_OK);
    assert_int_equal(fsc_quantize_weights(h, &w, NULL, &err), FSC_OK);
    const fsc_tensor *q = w->values[fsc_graph_find(w, "W_quantized_data")].constant;
    const fsc_tensor *s = w->values[fsc_graph_find(w, "W_scale")].constant;
    const fsc_tensor *z = w->values[fsc_graph_find(w, "W_zero_point")].constant;
    for (int c = 0; c < 3; c++) {
        assert_true(fsc_tensor_get(s, c) == s_ref[c]);
        assert_true(fsc_tensor_get(z, c) == 0);
    }
    for (int i = 0; i < 12; i++) assert_int_equal((int)fsc_tensor_get(q, i), q_ref[i]);
    fsc_graph_free(w);
    /* fp32 program: the same in float32 (np.float32 throughout) */
    static const double s32[3] = {0x1.0204080000000p-8, 0x1.0204080000000p-6, 0x1.8c4fec0000000p-16};
    assert_int_equal(fsc_quantize_weights(g, &w, NULL, &err), FSC_OK);
    q = w->values[fsc_graph_find(w, "W_quantized_data")].constant;
    s = w->values[fsc_graph_find(w, "W_scale")].constant;
    assert_int_equal(w->values[fsc_graph_find(w, "W_scale")].dtype, FSC_DT_F32);
    for (int c = 0; c < 3; c++) assert_true(fsc_tensor_get(s, c) == s32[c]);
    for (int i = 0; i < 12; i++) assert_int_equal((int)fsc_tensor_get(q, i), q_ref[i]);
    fsc_graph_free(w);
    fsc_graph_free(h);
    fsc_graph_free(g);
}

/* The library call behind `synth --variant w8a8`: seeded calibration under emu:fp16 end to end. */
static void test_variant_w8a8(void **state)
{
    (void)state;
    fsc_graph *g = seed_like(4, 8, 3, true), *v = NULL, *v2 = NULL;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err = {0};
    if (fsc_variant_w8a8(g, 1234, 2, &ctx, &v, &err)) fail_msg("%s", err.msg);
    assert_int_equal(count(v, FSC_OP_QUANTIZE, "quantize"), 11);
    assert_int_equal(count(v, FSC_OP_DEQUANTIZE, "constexpr_affine_dequantize"), 6);
    assert_int_equal(count(v, FSC_OP_SILU, "silu"), 5);
    assert_int_equal(fsc_program_format(v), FSC_FMT_FP16);
    /* deterministic: the same seed gives the same scales */
    if (fsc_variant_w8a8(g, 1234, 2, &ctx, &v2, &err)) fail_msg("%s", err.msg);
    int xs = fsc_graph_find(v, "x_scale"), xs2 = fsc_graph_find(v2, "x_scale");
    assert_true(fsc_tensor_get(v->values[xs].constant, 0) == fsc_tensor_get(v2->values[xs2].constant, 0));
    assert_true(fsc_tensor_get(v->values[xs].constant, 0) != 1.0);
    fsc_graph_free(v2);
    fsc_graph_free(v);
    fsc_graph *f = NULL;
    if (fsc_variant_fp16(g, &f, &err)) fail_msg("%s", err.msg);
    assert_int_equal(count(f, FSC_OP_SILU, "silu"), 5);
    assert_int_equal(count(f, FSC_OP_QUANTIZE, NULL), 0);
    assert_int_equal(fsc_program_format(f), FSC_FMT_FP16);
    fsc_graph_free(f);
    fsc_graph_free(g);
}

static void test_nothing_to_quantize(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("plain", NULL), *w = NULL;
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &(fsc_shape){2, {2, 2}}, NULL);
    int b = sl_const(g, "b", 1, (int64_t[]){2}, NULL, 1.0);
    fsc_attrs none = {0};
    int in[2] = {x, b};
    fsc_graph_add_output(g, sl_node(g, FSC_OP_ADD, "sum", 2, in, none, NULL), NULL);
    fsc_error err = {0};
    assert_int_equal(fsc_quantize_weights(g, &w, NULL, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "nothing to quantize"));
    assert_null(w);
    fsc_graph_free(g);
}

/* conv -> conv: the suffix pair of the first meets the prefix pair of the second and the
 * back-to-back dequantize -> quantize cancels, leaving q1 -> dq2. */
static void test_cancellation(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("cc", NULL), *q = NULL;
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &(fsc_shape){4, {1, 2, 4, 4}}, NULL);
    unsigned seed = 7;
    int w1 = sl_const(g, "w1", 4, (int64_t[]){2, 2, 1, 1}, &seed, 0);
    int w2 = sl_const(g, "w2", 4, (int64_t[]){2, 2, 1, 1}, &seed, 0);
    fsc_attrs at = {0};
    at.conv.stride[0] = at.conv.stride[1] = at.conv.dilation[0] = at.conv.dilation[1] = at.conv.group = 1;
    int i1[2] = {x, w1};
    int y1 = sl_node(g, FSC_OP_CONV2D, "c1", 2, i1, at, NULL);
    int i2[2] = {y1, w2};
    fsc_graph_add_output(g, sl_node(g, FSC_OP_CONV2D, "c2", 2, i2, at, NULL), NULL);
    fsc_calib_stats st = {0};
    hand_stats(g, &st);
    fsc_error err = {0};
    int pairs = -1;
    assert_int_equal(fsc_insert_act_qdq(g, &st, &q, &pairs, &err), FSC_OK);
    assert_int_equal(pairs, 2);
    assert_int_equal(count(q, FSC_OP_QUANTIZE, NULL), 2);
    assert_int_equal(count(q, FSC_OP_DEQUANTIZE, NULL), 2);
    /* c2 reads dequantize(quantize(c1)) through the suffix quantize and the prefix dequantize */
    assert_true(pair_of(q, q->nodes[node_named(q, "c2")].in[0], "c1") < 0); /* scales are two constants now */
    int d = producer(q, q->nodes[node_named(q, "c2")].in[0]);
    assert_int_equal(q->nodes[d].op, FSC_OP_DEQUANTIZE);
    int qq = producer(q, q->nodes[d].in[0]);
    assert_int_equal(q->nodes[qq].op, FSC_OP_QUANTIZE);
    assert_string_equal(q->values[q->nodes[qq].in[0]].name, "c1");
    assert_true(fsc_tensor_get(q->values[q->nodes[qq].in[1]].constant, 0) ==
                fsc_tensor_get(q->values[q->nodes[d].in[1]].constant, 0));
    fsc_graph_free(q);
    fsc_calib_stats_free(&st);
    fsc_graph_free(g);
}

/* Hand-made chains: dq(s) -> q(s) cancels, dq(s) -> q(t != s) does not. */
static int add(fsc_graph *g, const fsc_node_spec *s)
{
    fsc_error err = {0};
    int ni = fsc_graph_add_node(g, s, &err);
    if (ni < 0) fail_msg("%s", err.msg);
    return g->nodes[ni].out[0];
}

static fsc_graph *chain(double s1, double s2)
{
    fsc_graph *g = fsc_graph_new("chain", NULL);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &(fsc_shape){1, {4}}, NULL);
    int a = sl_const(g, "s1", 0, NULL, NULL, s1), b = sl_const(g, "s2", 0, NULL, NULL, s2);
    fsc_node_spec s = {.op = FSC_OP_QUANTIZE, .name = "q1", .n_in = 2, .in = (int[]){x, a}, .n_out = 1,
                       .out_names = (const char *[]){"q1"}, .out_dtype = FSC_DT_I8};
    int q1 = add(g, &s);
    s = (fsc_node_spec){.op = FSC_OP_DEQUANTIZE, .name = "d1", .n_in = 2, .in = (int[]){q1, a}, .n_out = 1,
                        .out_names = (const char *[]){"d1"}, .out_dtype = FSC_DT_F32};
    int d1 = add(g, &s);
    s = (fsc_node_spec){.op = FSC_OP_QUANTIZE, .name = "q2", .n_in = 2, .in = (int[]){d1, b}, .n_out = 1,
                        .out_names = (const char *[]){"q2"}, .out_dtype = FSC_DT_I8};
    int q2 = add(g, &s);
    s = (fsc_node_spec){.op = FSC_OP_DEQUANTIZE, .name = "d2", .n_in = 2, .in = (int[]){q2, b}, .n_out = 1,
                        .out_names = (const char *[]){"d2"}, .out_dtype = FSC_DT_F32};
    int d2 = add(g, &s);
    fsc_attrs none = {0};
    fsc_graph_add_output(g, sl_node(g, FSC_OP_RELU, "r", 1, &d2, none, NULL), NULL);
    return g;
}

static void test_cancel_rule(void **state)
{
    (void)state;
    fsc_error err = {0};
    fsc_graph *g = chain(0.5, 0.5), *c = NULL;
    int n = -1;
    assert_int_equal(fsc_cancel_dq_q(g, &c, &n, &err), FSC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(c->n_nodes, 3); /* q1, d2, relu */
    assert_int_equal(fsc_graph_find(c, "d1"), -1);
    assert_int_equal(fsc_graph_find(c, "q2"), -1);
    int d2 = c->nodes[node_named(c, "d2")].in[0];
    assert_string_equal(c->values[d2].name, "q1");
    assert_true(fsc_graph_find(c, "s2") >= 0); /* still read by d2 */
    fsc_graph_free(c);
    fsc_graph_free(g);
    g = chain(0.5, 0.25);
    assert_int_equal(fsc_cancel_dq_q(g, &c, &n, &err), FSC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(c->n_nodes, 5);
    fsc_graph_free(c);
    fsc_graph_free(g);
}

/* add of two non-constants: a pair on each input and a suffix pair; conv -> relu puts the suffix after relu;
 * add with a constant gets nothing. */
static void test_add_and_relu(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("ar", NULL), *q = NULL;
    fsc_shape s4 = {4, {1, 2, 3, 3}};
    int a = fsc_graph_add_input(g, "a", FSC_DT_F32, &s4, NULL);
    unsigned seed = 3;
    int w = sl_const(g, "w", 4, (int64_t[]){2, 2, 1, 1}, &seed, 0);
    fsc_attrs at = {0};
    at.conv.stride[0] = at.conv.stride[1] = at.conv.dilation[0] = at.conv.dilation[1] = at.conv.group = 1;
    fsc_attrs none = {0};
    int y = sl_node(g, FSC_OP_CONV2D, "c", 2, (int[]){a, w}, at, NULL);
    int r = sl_node(g, FSC_OP_RELU, "r", 1, &y, none, NULL);
    int s = sl_node(g, FSC_OP_ADD, "s", 2, (int[]){r, a}, none, NULL);
    int k = sl_const(g, "k", 0, NULL, NULL, 1.0);
    int t = sl_node(g, FSC_OP_ADD, "t", 2, (int[]){s, k}, none, NULL);
    fsc_graph_add_output(g, sl_node(g, FSC_OP_TANH, "out", 1, &t, none, NULL), NULL);
    fsc_calib_stats st = {0};
    hand_stats(g, &st);
    fsc_error err = {0};
    int pairs = -1;
    assert_int_equal(fsc_insert_act_qdq(g, &st, &q, &pairs, &err), FSC_OK);
    /* prefix c.x (a), suffix after relu r, prefix s.a (second pair on a), suffix after s; the prefix pair of
     * s on r meets r's suffix pair and cancels: 4 quantizes remain */
    assert_int_equal(pairs, 4);
    int rn = node_named(q, "r");
    assert_string_equal(q->values[q->nodes[rn].in[0]].name, "c"); /* nothing between conv and relu */
    int sn = node_named(q, "s");
    assert_true(pair_of(q, q->nodes[sn].in[1], "a") > 0);
    int d = producer(q, q->nodes[sn].in[0]);
    assert_int_equal(q->nodes[d].op, FSC_OP_DEQUANTIZE);
    assert_int_equal(q->nodes[producer(q, q->nodes[d].in[0])].op, FSC_OP_QUANTIZE);
    assert_true(pair_of(q, q->nodes[node_named(q, "t")].in[0], "s") > 0); /* suffix of the add */
    assert_string_equal(q->values[q->nodes[node_named(q, "out")].in[0]].name, "t"); /* add with a constant: none */
    /* two pairs on one value get distinct names */
    assert_true(fsc_graph_find(q, "a_quantized") >= 0 && fsc_graph_find(q, "a_1_quantized") >= 0);
    fsc_graph_free(q);
    fsc_calib_stats_free(&st);
    fsc_graph_free(g);
}

static void test_missing_stats(void **state)
{
    (void)state;
    fsc_graph *g = seed_like(2, 4, 2, false), *q = NULL;
    fsc_calib_stats st = {0};
    hand_stats(g, &st);
    st.range[fsc_graph_find(g, "silu2")].seen = false;
    fsc_error err = {0};
    assert_int_equal(fsc_insert_act_qdq(g, &st, &q, NULL, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "silu2"));
    assert_null(q);
    st.n_values--;
    assert_int_equal(fsc_insert_act_qdq(g, &st, &q, NULL, &err), FSC_ERR_INVALID);
    st.n_values++;
    fsc_calib_stats_free(&st);
    fsc_graph_free(g);
}

static void test_fuse_silu(void **state)
{
    (void)state;
    fsc_graph *g = seed_like(4, 6, 3, true), *f = NULL;
    fsc_error err = {0};
    int n = -1;
    assert_int_equal(fsc_fuse_silu(g, &f, &n, &err), FSC_OK);
    assert_int_equal(n, 5);
    assert_int_equal(count(f, FSC_OP_SIGMOID, NULL), 0);
    assert_int_equal(count(f, FSC_OP_SILU, "silu"), 5);
    assert_int_equal(count(f, FSC_OP_MUL, NULL), 1); /* the * 300 stays */
    assert_int_equal(f->n_nodes, g->n_nodes - 5);
    int s2 = node_named(f, "silu2");
    assert_int_equal(f->nodes[s2].op, FSC_OP_SILU);
    assert_string_equal(f->values[f->nodes[s2].in[0]].name, "conv2");
    assert_string_equal(f->values[f->nodes[s2].out[0]].name, "silu2");
    fsc_graph_free(f);
    /* a sigmoid with another reader is not fused */
    fsc_graph *h = fsc_graph_new("sg", NULL);
    int x = fsc_graph_add_input(h, "x", FSC_DT_F32, &(fsc_shape){1, {3}}, NULL);
    fsc_attrs none = {0};
    int sg = sl_node(h, FSC_OP_SIGMOID, "sg", 1, &x, none, NULL);
    int m = sl_node(h, FSC_OP_MUL, "m", 2, (int[]){sg, x}, none, NULL);
    fsc_graph_add_output(h, m, NULL);
    fsc_graph_add_output(h, sg, NULL);
    assert_int_equal(fsc_fuse_silu(h, &f, &n, &err), FSC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(f->n_nodes, 2);
    fsc_graph_free(f);
    fsc_graph_free(h);
    fsc_graph_free(g);
}

static void test_calib_samples(void **state)
{
    (void)state;
    fsc_graph *g = seed_like(2, 4, 2, false);
    fsc_error err = {0};
    fsc_tensor t;
    int64_t n = -1;
    fsc_tensor_alloc(&t, FSC_DT_F32, &(fsc_shape){5, {3, 1, 3, 4, 4}}, 0, NULL);
    assert_int_equal(fsc_calib_sample_count(g, &t, &n, &err), FSC_OK);
    assert_int_equal(n, 3);
    fsc_tensor_free(&t);
    fsc_tensor_alloc(&t, FSC_DT_F32, &(fsc_shape){4, {8, 3, 4, 4}}, 0, NULL); /* the seed's calib.npy layout */
    assert_int_equal(fsc_calib_sample_count(g, &t, &n, &err), FSC_OK);
    assert_int_equal(n, 8);
    fsc_tensor_free(&t);
    fsc_tensor_alloc(&t, FSC_DT_F32, &(fsc_shape){4, {8, 3, 4, 5}}, 0, NULL);
    assert_int_equal(fsc_calib_sample_count(g, &t, &n, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "[8, 3, 4, 5]"));
    assert_non_null(strstr(err.msg, "[N, 1, 3, 4, 4]"));
    fsc_tensor_free(&t);
    fsc_tensor_alloc(&t, FSC_DT_F32, &(fsc_shape){4, {0, 3, 4, 4}}, 0, NULL);
    assert_int_equal(fsc_calib_sample_count(g, &t, &n, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "empty"));
    fsc_tensor_free(&t);
    fsc_tensor_alloc(&t, FSC_DT_I32, &(fsc_shape){4, {2, 3, 4, 4}}, 0, NULL);
    assert_int_equal(fsc_calib_sample_count(g, &t, &n, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "int32"));
    fsc_tensor_free(&t);
    fsc_graph_free(g);
}

static void test_calib_random(void **state)
{
    (void)state;
    fsc_graph *g = seed_like(2, 16, 2, false);
    fsc_error err = {0};
    fsc_tensor a, b, c;
    assert_int_equal(fsc_calib_random(g, 5, 8, &a, &err), FSC_OK);
    assert_int_equal(fsc_calib_random(g, 5, 8, &b, &err), FSC_OK);
    assert_int_equal(fsc_calib_random(g, 6, 8, &c, &err), FSC_OK);
    assert_int_equal(a.shape.rank, 5);
    assert_int_equal(a.shape.dim[0], 8);
    int64_t n = fsc_tensor_numel(&a);
    assert_int_equal(n, 8 * 3 * 16 * 16);
    assert_memory_equal(a.data, b.data, a.nbytes);
    assert_memory_not_equal(a.data, c.data, a.nbytes);
    /* standard normal: mean 0 +- 5 sigma / sqrt(n), variance 1 +- 5 * sqrt(2 / n) */
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = fsc_tensor_get(&a, i);
        s += v;
        s2 += v * v;
    }
    double mean = s / n, var = s2 / n - mean * mean;
    assert_true(fabs(mean) < 5.0 / sqrt((double)n));
    assert_true(fabs(var - 1.0) < 5.0 * sqrt(2.0 / n));
    assert_int_equal(fsc_calib_random(g, 5, 0, &c, &err) == FSC_OK, 0);
    fsc_tensor_free(&a);
    fsc_tensor_free(&b);
    fsc_tensor_free(&c);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_rule),       cmocka_unit_test(test_fp16_program),
        cmocka_unit_test(test_seed_pairs_coreml), cmocka_unit_test(test_seed_pairs_onnx),
        cmocka_unit_test(test_weight_values),    cmocka_unit_test(test_nothing_to_quantize),
        cmocka_unit_test(test_cancellation),     cmocka_unit_test(test_cancel_rule),
        cmocka_unit_test(test_add_and_relu),     cmocka_unit_test(test_missing_stats),
        cmocka_unit_test(test_calib_samples),    cmocka_unit_test(test_calib_random),
        cmocka_unit_test(test_fuse_silu),        cmocka_unit_test(test_variant_w8a8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
