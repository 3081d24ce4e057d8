/* test_quant_int.c: the integer W8A8 pipeline (src/kernels/quant_int.c)
 * against a hand-written int32 reference, for every requantization rounding
 * and both multiplier representations, on small conv and linear layers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flipscope/arith.h"
#include "flipscope/ctx.h"
#include "flipscope/exec.h"
#include "flipscope/graph.h"
#include "kernels/quant_int.h"

/* ---- the reference: plain integer arithmetic, written independently ---- */

/* v / 2^r, rounded by mode; via truncating division and the remainder's size. */
static int64_t ref_div_pow2(int64_t v, int r, fsc_requant_rounding mode)
{
    __int128 d = (__int128)1 << r;
    __int128 q = v / d, rem = v % d, twice = 2 * (rem < 0 ? -rem : rem);
    int sgn = v < 0 ? -1 : 1;
    if (twice > d) q += sgn;
    else if (twice == d) {
        if (mode == FSC_REQ_HALF_AWAY) q += sgn;
        else if (mode == FSC_REQ_HALF_EVEN) q += (q % 2 != 0) ? sgn : 0;
        else if (v > 0) q += 1; /* half up: for v < 0 truncation already went up */
    }
    return (int64_t)q;
}

static int ref_clamp(int64_t v) { return v > 127 ? 127 : v < -128 ? -128 : (int)v; }

/* The int8 output of one accumulator. */
static int ref_requant(int32_t acc, double sx, double sw, double sy, fsc_requant_rounding mode, bool fixed,
                       int *ties)
{
    if (fixed) {
        double m = sx * sw / sy;
        int e = 0;
        while (m * ldexp(1.0, -e) >= 1.0) e++;
        while (m * ldexp(1.0, -e) < 0.5) e--;
        int64_t m0 = (int64_t)floor(m * ldexp(1.0, 31 - e) + 0.5);
        if (m0 == (INT64_C(1) << 31)) {
            m0 /= 2;
            e++;
        }
        int64_t v = (int64_t)acc * m0;
        int r = 31 - e;
        if (v % ((int64_t)1 << r) != 0 && 2 * llabs(v % ((int64_t)1 << r)) == ((int64_t)1 << r)) (*ties)++;
        return ref_clamp(ref_div_pow2(v, r, mode));
    }
    float mf = (float)sx * (float)sw / (float)sy;
    float v = (float)acc * mf;
    double rv;
    if (mode == FSC_REQ_HALF_EVEN) rv = rint(v);
    else if (mode == FSC_REQ_HALF_AWAY) rv = round(v);
    else rv = floor((double)v + 0.5);
    if ((double)v - floor(v) == 0.5) (*ties)++;
    return ref_clamp((int64_t)rv);
}

/* ---- the layer under test ---- */

enum { N = 1, C = 3, H = 6, W = 5, M = 4, K = 3 };

typedef struct layer {
    fsc_graph *g;
    int conv;
    int8_t qx[N * C * H * W], qw[M * C * K * K];
    double sx, sw[M], sy, bias[M];
} layer;

static unsigned lcg(unsigned *s) { return (*s = *s * 1664525u + 1013904223u) >> 8; }

static int add(fsc_graph *g, fsc_node_spec s)
{
    fsc_error err = {0};
    int ni = fsc_graph_add_node(g, &s, &err);
    if (ni < 0) fail_msg("%s", err.msg);
    return g->nodes[ni].out[0];
}

static int scalar(fsc_graph *g, const char *name, double v)
{
    fsc_tensor t;
    fsc_tensor_alloc(&t, FSC_DT_F32, &(fsc_shape){0}, 0, NULL);
    fsc_tensor_set(&t, 0, v);
    return fsc_graph_add_initializer(g, name, FSC_DT_F16, &t, NULL);
}

/* input -> q -> dq -> conv(stride 2, pad 1, weight constexpr dq) -> q -> dq -> output.
 * pow2: scales whose requantization multiplier is 2^-2, so that many results tie. */
static void build(layer *L, bool pow2, unsigned seed)
{
    memset(L, 0, sizeof *L);
    /* pow2: small integers so that acc / 4 lands in int8's range and ties often */
    int span = pow2 ? 17 : 256;
    for (int i = 0; i < N * C * H * W; i++) L->qx[i] = (int8_t)((int)(lcg(&seed) % (unsigned)span) - span / 2);
    for (int i = 0; i < M * C * K * K; i++) L->qw[i] = (int8_t)((int)(lcg(&seed) % (unsigned)(span - 1)) - (span - 1) / 2);
    L->sx = pow2 ? 0.5 : 0.0234375;
    L->sy = pow2 ? 0.5 : 0.25;
    for (int m = 0; m < M; m++) {
        L->sw[m] = pow2 ? 0.25 : (double)(_Float16)(0.001 + 0.0007 * m);
        L->bias[m] = (double)(_Float16)(((int)(lcg(&seed) % 2001) - 1000) * (pow2 ? 0.001 : 0.01));
    }
    fsc_graph *g = fsc_graph_new("layer", NULL);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F16, &(fsc_shape){4, {N, C, H, W}}, NULL);
    int sx = scalar(g, "sx", L->sx), sy = scalar(g, "sy", L->sy);
    int q = add(g, (fsc_node_spec){.op = FSC_OP_QUANTIZE, .name = "xq", .n_in = 2, .in = (int[]){x, sx}, .n_out = 1,
                                   .out_names = (const char *[]){"xq"}, .out_dtype = FSC_DT_I8});
    int dx = add(g, (fsc_node_spec){.op = FSC_OP_DEQUANTIZE, .name = "xd", .n_in = 2, .in = (int[]){q, sx},
                                    .n_out = 1, .out_names = (const char *[]){"xd"}, .out_dtype = FSC_DT_F16});
    fsc_tensor tq, ts, tz, tb;
    fsc_tensor_alloc(&tq, FSC_DT_I8, &(fsc_shape){4, {M, C, K, K}}, 0, NULL);
    memcpy(tq.data, L->qw, sizeof L->qw);
    fsc_tensor_alloc(&ts, FSC_DT_F32, &(fsc_shape){1, {M}}, 0, NULL);
    fsc_tensor_alloc(&tz, FSC_DT_I8, &(fsc_shape){1, {M}}, 0, NULL);
    fsc_tensor_alloc(&tb, FSC_DT_F32, &(fsc_shape){1, {M}}, 0, NULL);
    for (int m = 0; m < M; m++) {
        fsc_tensor_set(&ts, m, L->sw[m]);
        fsc_tensor_set(&tb, m, L->bias[m]);
    }
    int wq = fsc_graph_add_initializer(g, "wq", FSC_DT_I8, &tq, NULL);
    int ws = fsc_graph_add_initializer(g, "ws", FSC_DT_F16, &ts, NULL);
    int wz = fsc_graph_add_initializer(g, "wz", FSC_DT_I8, &tz, NULL);
    int b = fsc_graph_add_initializer(g, "b", FSC_DT_F16, &tb, NULL);
    fsc_node_spec wd = {.op = FSC_OP_DEQUANTIZE, .name = "wd", .op_type = "constexpr_affine_dequantize", .n_in = 3,
                        .in = (int[]){wq, ws, wz}, .n_out = 1, .out_names = (const char *[]){"wd"},
                        .out_dtype = FSC_DT_F16};
    int w = add(g, wd);
    fsc_node_spec cs = {.op = FSC_OP_CONV2D, .name = "conv", .n_in = 3, .in = (int[]){dx, w, b}, .n_out = 1,
                        .out_names = (const char *[]){"conv"}};
    cs.attr.conv = (fsc_attr_conv){.stride = {2, 2}, .pad = {1, 1, 1, 1}, .dilation = {1, 1}, .group = 1};
    int y = add(g, cs);
    L->conv = g->values[y].producer;
    int yq = add(g, (fsc_node_spec){.op = FSC_OP_QUANTIZE, .name = "yq", .n_in = 2, .in = (int[]){y, sy}, .n_out = 1,
                                    .out_names = (const char *[]){"yq"}, .out_dtype = FSC_DT_I8});
    int yd = add(g, (fsc_node_spec){.op = FSC_OP_DEQUANTIZE, .name = "yd", .n_in = 2, .in = (int[]){yq, sy},
                                    .n_out = 1, .out_names = (const char *[]){"yd"}, .out_dtype = FSC_DT_F16});
    fsc_graph_add_output(g, yd, NULL);
    L->g = g;
}

/* Runs the conv node in the integer pipeline and compares every output with the reference. */
static void check_conv(const layer *L, fsc_requant_rounding mode, bool fixed, int *ties)
{
    fsc_arith a = *fsc_arith_preset("w8a8-int");
    a.requant = mode;
    a.requant_fixed_point = fixed;
    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = 2;
    fsc_tensor x, wdq, b, out[1];
    fsc_tensor_alloc(&x, FSC_DT_F32, &(fsc_shape){4, {N, C, H, W}}, 0, NULL);
    for (int i = 0; i < N * C * H * W; i++) fsc_tensor_set(&x, i, (double)(_Float16)(L->sx * L->qx[i]));
    fsc_tensor_alloc(&wdq, FSC_DT_F32, &(fsc_shape){4, {M, C, K, K}}, 0, NULL);
    fsc_tensor_alloc(&b, FSC_DT_F32, &(fsc_shape){1, {M}}, 0, NULL);
    const fsc_tensor *in[3] = {&x, &wdq, &b};
    fsc_error err = {0};
    assert_true(fsc_qint_applies(L->g, L->conv));
    if (fsc_qint_run(L->g, L->conv, &a, &ctx, in, out, &err)) fail_msg("%s", err.msg);
    int OH = (H + 2 - K) / 2 + 1, OW = (W + 2 - K) / 2 + 1, interior = 0;
    assert_int_equal(out[0].shape.dim[2], OH);
    assert_int_equal(out[0].shape.dim[3], OW);
    for (int m = 0; m < M; m++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                int32_t acc = 0;
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < K; i++)
                        for (int j = 0; j < K; j++) {
                            int ih = oh * 2 - 1 + i, iw = ow * 2 - 1 + j;
                            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                            acc += L->qx[(c * H + ih) * W + iw] * L->qw[((m * C + c) * K + i) * K + j];
                        }
                acc += (int32_t)lrint(L->bias[m] / (L->sx * L->sw[m]));
                int q = ref_requant(acc, L->sx, L->sw[m], L->sy, mode, fixed, ties);
                interior += q > -128 && q < 127 && q != 0;
                double got = fsc_tensor_get(&out[0], (m * OH + oh) * OW + ow);
                assert_true(got == (double)(_Float16)(L->sy * q));
            }
    if (interior * 2 <= M * OH * OW) fail_msg("interior %d of %d (sx %g sy %g)", interior, M * OH * OW, L->sx, L->sy);
    fsc_tensor_free(&out[0]);
    fsc_tensor_free(&x);
    fsc_tensor_free(&wdq);
    fsc_tensor_free(&b);
}

static void test_conv_requant(void **state)
{
    (void)state;
    static const fsc_requant_rounding modes[3] = {FSC_REQ_HALF_EVEN, FSC_REQ_HALF_AWAY, FSC_REQ_HALF_UP};
    for (int pow2 = 0; pow2 < 2; pow2++)
        for (unsigned seed = 1; seed <= 4; seed++) {
            layer L;
            build(&L, pow2, seed);
            for (int f = 0; f < 2; f++)
                for (int k = 0; k < 3; k++) {
                    int ties = 0;
                    check_conv(&L, modes[k], f, &ties);
                    if (pow2 && seed == 1) assert_true(ties > 0); /* the rounding modes really differ here */
                }
            fsc_graph_free(L.g);
        }
}

/* The modes give different results on the tie layer (so the comparison above can fail). */
static void test_modes_differ(void **state)
{
    (void)state;
    layer L;
    build(&L, true, 1);
    fsc_arith a = *fsc_arith_preset("w8a8-int");
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor x, out[3];
    fsc_tensor_alloc(&x, FSC_DT_F32, &(fsc_shape){4, {N, C, H, W}}, 0, NULL);
    for (int i = 0; i < N * C * H * W; i++) fsc_tensor_set(&x, i, (double)(_Float16)(L.sx * L.qx[i]));
    const fsc_tensor *in[3] = {&x, NULL, NULL};
    fsc_error err = {0};
    for (int k = 0; k < 3; k++) {
        a.requant = (fsc_requant_rounding)k;
        assert_int_equal(fsc_qint_run(L.g, L.conv, &a, &ctx, in, &out[k], &err), FSC_OK);
    }
    int d01 = 0, d02 = 0;
    for (int64_t i = 0; i < fsc_tensor_numel(&out[0]); i++) {
        d01 += fsc_tensor_get(&out[0], i) != fsc_tensor_get(&out[1], i);
        d02 += fsc_tensor_get(&out[0], i) != fsc_tensor_get(&out[2], i);
    }
    assert_true(d01 > 0 && d02 > 0);
    for (int k = 0; k < 3; k++) fsc_tensor_free(&out[k]);
    fsc_tensor_free(&x);
    fsc_graph_free(L.g);
}

/* Through the engine (emu:w8a8-int: fixed point, half away): the dispatcher routes the conv to the
 * integer pipeline, the quantize after it recovers q_y, the model output is fp16(s_y * q_y). */
static void test_engine(void **state)
{
    (void)state;
    layer L;
    build(&L, true, 2);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err = {0};
    fsc_engine *e = NULL;
    fsc_tensor x, y;
    fsc_tensor_alloc(&x, FSC_DT_F32, &(fsc_shape){4, {N, C, H, W}}, 0, NULL);
    for (int i = 0; i < N * C * H * W; i++) fsc_tensor_set(&x, i, (double)(_Float16)(L.sx * L.qx[i]));
    if (fsc_engine_open("emu:w8a8-int", L.g, &ctx, &e, &err) || fsc_engine_run(e, &x, &y, NULL, &err))
        fail_msg("%s", err.msg);
    int OH = (H + 2 - K) / 2 + 1, OW = (W + 2 - K) / 2 + 1, ties = 0;
    for (int m = 0; m < M; m++)
        for (int o = 0; o < OH * OW; o++) {
            int oh = o / OW, ow = o % OW;
            int32_t acc = 0;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++) {
                        int ih = oh * 2 - 1 + i, iw = ow * 2 - 1 + j;
                        if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                            acc += L.qx[(c * H + ih) * W + iw] * L.qw[((m * C + c) * K + i) * K + j];
                    }
            acc += (int32_t)lrint(L.bias[m] / (L.sx * L.sw[m]));
            int q = ref_requant(acc, L.sx, L.sw[m], L.sy, FSC_REQ_HALF_AWAY, true, &ties);
            assert_true(fsc_tensor_get(&y, m * OH * OW + o) == (double)(_Float16)(L.sy * q));
        }
    assert_true(ties > 0);
    fsc_tensor_free(&y);
    fsc_tensor_free(&x);
    fsc_engine_close(e);
    fsc_graph_free(L.g);
}

/* linear whose output is the model output: y = fp16(acc * s_x * s_w) with no requantization. */
static void test_linear_float_out(void **state)
{
    (void)state;
    enum { B = 2, D = 7, O = 3 };
    unsigned seed = 99;
    int8_t qa[B * D], qw[O * D];
    double sx = 0.01171875, sw[O] = {0.00390625, 0.0029296875, 0.005859375}, bias[O] = {14.6, 0, -0.3};
    for (int i = 0; i < B * D; i++) qa[i] = (int8_t)((int)(lcg(&seed) % 256) - 128);
    for (int i = 0; i < O * D; i++) qw[i] = (int8_t)((int)(lcg(&seed) % 255) - 127);
    fsc_graph *g = fsc_graph_new("lin", NULL);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F16, &(fsc_shape){2, {B, D}}, NULL);
    int s = scalar(g, "sx", sx);
    int q = add(g, (fsc_node_spec){.op = FSC_OP_QUANTIZE, .name = "xq", .n_in = 2, .in = (int[]){x, s}, .n_out = 1,
                                   .out_names = (const char *[]){"xq"}, .out_dtype = FSC_DT_I8});
    int dx = add(g, (fsc_node_spec){.op = FSC_OP_DEQUANTIZE, .name = "xd", .n_in = 2, .in = (int[]){q, s},
                                    .n_out = 1, .out_names = (const char *[]){"xd"}, .out_dtype = FSC_DT_F16});
    fsc_tensor tq, ts, tb;
    fsc_tensor_alloc(&tq, FSC_DT_I8, &(fsc_shape){2, {O, D}}, 0, NULL);
    memcpy(tq.data, qw, sizeof qw);
    fsc_tensor_alloc(&ts, FSC_DT_F32, &(fsc_shape){1, {O}}, 0, NULL);
    fsc_tensor_alloc(&tb, FSC_DT_F32, &(fsc_shape){1, {O}}, 0, NULL);
    for (int o = 0; o < O; o++) {
        fsc_tensor_set(&ts, o, sw[o]);
        fsc_tensor_set(&tb, o, (double)(_Float16)bias[o]);
    }
    int wq = fsc_graph_add_initializer(g, "wq", FSC_DT_I8, &tq, NULL);
    int ws = fsc_graph_add_initializer(g, "ws", FSC_DT_F16, &ts, NULL);
    int b = fsc_graph_add_initializer(g, "b", FSC_DT_F16, &tb, NULL);
    int w = add(g, (fsc_node_spec){.op = FSC_OP_DEQUANTIZE, .name = "wd", .op_type = "constexpr_affine_dequantize",
                                   .n_in = 2, .in = (int[]){wq, ws}, .n_out = 1,
                                   .out_names = (const char *[]){"wd"}, .out_dtype = FSC_DT_F16});
    fsc_node_spec gs = {.op = FSC_OP_GEMM, .name = "y", .n_in = 3, .in = (int[]){dx, w, b}, .n_out = 1,
                        .out_names = (const char *[]){"y"}};
    gs.attr.gemm = (fsc_attr_gemm){.alpha = 1, .beta = 1, .trans_b = true};
    int y = add(g, gs);
    fsc_graph_add_output(g, y, NULL);
    int node = g->values[y].producer;
    fsc_tensor xt, out;
    fsc_tensor_alloc(&xt, FSC_DT_F32, &(fsc_shape){2, {B, D}}, 0, NULL);
    for (int i = 0; i < B * D; i++) fsc_tensor_set(&xt, i, (double)(_Float16)(sx * qa[i]));
    const fsc_tensor *in[3] = {&xt, NULL, NULL};
    fsc_arith a = *fsc_arith_preset("w8a8-int");
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err = {0};
    assert_true(fsc_qint_applies(g, node));
    if (fsc_qint_run(g, node, &a, &ctx, in, &out, &err)) fail_msg("%s", err.msg);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < O; o++) {
            int32_t acc = 0;
            for (int k = 0; k < D; k++) acc += qa[i * D + k] * qw[o * D + k];
            acc += (int32_t)lrint((double)(_Float16)bias[o] / (sx * sw[o]));
            assert_true(fsc_tensor_get(&out, i * O + o) == (double)(_Float16)((double)acc * sx * sw[o]));
        }
    fsc_tensor_free(&out);
    fsc_tensor_free(&xt);
    fsc_graph_free(g);
}

static void test_helpers(void **state)
{
    (void)state;
    /* 5/2 = 2.5, 7/2 = 3.5, -5/2 = -2.5, -7/2 = -3.5, 9/4 = 2.25 */
    assert_int_equal(fsc_qint_round_shift(5, 1, FSC_REQ_HALF_EVEN), 2);
    assert_int_equal(fsc_qint_round_shift(7, 1, FSC_REQ_HALF_EVEN), 4);
    assert_int_equal(fsc_qint_round_shift(5, 1, FSC_REQ_HALF_AWAY), 3);
    assert_int_equal(fsc_qint_round_shift(5, 1, FSC_REQ_HALF_UP), 3);
    assert_int_equal(fsc_qint_round_shift(-5, 1, FSC_REQ_HALF_EVEN), -2);
    assert_int_equal(fsc_qint_round_shift(-5, 1, FSC_REQ_HALF_AWAY), -3);
    assert_int_equal(fsc_qint_round_shift(-5, 1, FSC_REQ_HALF_UP), -2);
    assert_int_equal(fsc_qint_round_shift(-7, 1, FSC_REQ_HALF_UP), -3);
    assert_int_equal(fsc_qint_round_shift(9, 2, FSC_REQ_HALF_UP), 2);
    assert_int_equal(fsc_qint_round_shift(-9, 2, FSC_REQ_HALF_AWAY), -2);
    assert_true(fsc_qint_round(-2.5, FSC_REQ_HALF_EVEN) == -2 && fsc_qint_round(-2.5, FSC_REQ_HALF_AWAY) == -3 &&
                fsc_qint_round(-2.5, FSC_REQ_HALF_UP) == -2 && fsc_qint_round(3.5, FSC_REQ_HALF_EVEN) == 4);
    int32_t m0;
    int e;
    fsc_error err = {0};
    assert_int_equal(fsc_qint_multiplier(0.75, &m0, &e, &err), FSC_OK); /* 0.75 * 2^31 */
    assert_int_equal(m0, 1610612736);
    assert_int_equal(e, 0);
    assert_int_equal(fsc_qint_multiplier(0.0046875, &m0, &e, &err), FSC_OK); /* 0.6 * 2^-7 */
    assert_int_equal(e, -7);
    assert_int_equal(m0, 1288490189); /* round(0.6 * 2^31) = round(1288490188.8) */
    assert_int_equal(fsc_qint_multiplier(0.0, &m0, &e, &err), FSC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_conv_requant),
        cmocka_unit_test(test_modes_differ),
        cmocka_unit_test(test_linear_float_out),
        cmocka_unit_test(test_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
