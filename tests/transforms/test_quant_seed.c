/* test_quant_seed.c: the W8A8 build of the real seed model (tests/fixtures/seed/seed.onnx,
 * AmplifiedConvTie after torch.manual_seed(1234)) calibrated on its 8 calibration samples under
 * emu:fp16, checked against the independent NumPy oracle tests/fixtures/seed/w8a8_reference.py
 * (w8a8_scales.json, w8a8/<layer>_wq.npy and _ws.npy). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/transforms.h"

#define SEED FSC_FIXTURES "/seed/"

/* w8a8_scales.json "activation_scales": <position>.scale */
static const double conv_in_scale[5] = {0.045013427734375, 0.02532958984375, 0.00681304931640625,
                                        0.0015497207641601562, 0.0005469322204589844};
static const double conv_out_scale[5] = {0.0262298583984375, 0.0089874267578125, 0.00275421142578125,
                                         0.001026153564453125, 0.0009183883666992188};
static const double linear_in_scale = 0.11163330078125;

static fsc_graph *w8a8;
static bool quick; /* FSC_TEST_QUICK: weights only (no calibration run), activation checks skipped */

static int setup(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err = {0};
    fsc_graph *g = NULL;
    fsc_tensor calib = {0};
    if (fsc_model_load(SEED "seed.onnx", &ctx, &g, &err) || fsc_npy_read(SEED "calib.npy", &ctx.limits, &calib, NULL, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    quick = getenv("FSC_TEST_QUICK") != NULL;
    fsc_status s;
    if (quick) {
        fsc_graph *h = NULL;
        s = fsc_variant_fp16(g, &h, &err);
        if (!s) s = fsc_quantize_weights(h, &w8a8, NULL, &err);
        fsc_graph_free(h);
    } else {
        s = fsc_quantize_w8a8(g, &calib, "emu:fp16", FSC_PREC_FP16, &ctx, &w8a8, &err);
    }
    if (s) fprintf(stderr, "setup: %s\n", err.msg);
    fsc_tensor_free(&calib);
    fsc_graph_free(g);
    return s ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    fsc_graph_free(w8a8);
    return 0;
}

static int producer(int v) { return v < 0 ? -1 : w8a8->values[v].producer; }

/* The scale of the pair dequantize(quantize(.)) that produces v, or -1. */
static double pair_scale(int v, int *src)
{
    int d = producer(v);
    if (d < 0 || strcmp(w8a8->nodes[d].op_type, "dequantize")) return -1;
    int q = producer(w8a8->nodes[d].in[0]);
    if (q < 0 || strcmp(w8a8->nodes[q].op_type, "quantize") || w8a8->nodes[q].in[1] != w8a8->nodes[d].in[1]) return -1;
    *src = w8a8->nodes[q].in[0];
    return fsc_tensor_get(w8a8->values[w8a8->nodes[q].in[1]].constant, 0);
}

static int nth_op(fsc_op op, int k)
{
    for (int i = 0; i < w8a8->n_nodes; i++)
        if (w8a8->nodes[i].op == op && k-- == 0) return i;
    return -1;
}

static void test_pairs_and_activation_scales(void **state)
{
    (void)state;
    if (quick) skip();
    int nq = 0, nd = 0, nc = 0;
    for (int i = 0; i < w8a8->n_nodes; i++) {
        nq += !strcmp(w8a8->nodes[i].op_type, "quantize");
        nd += !strcmp(w8a8->nodes[i].op_type, "dequantize");
        nc += !strcmp(w8a8->nodes[i].op_type, "constexpr_affine_dequantize");
    }
    assert_int_equal(nq, 11);
    assert_int_equal(nd, 11);
    assert_int_equal(nc, 6);
    assert_int_equal(nth_op(FSC_OP_SIGMOID, 0), -1); /* the ONNX Sigmoid + Mul pairs became silu ops */
    assert_true(nth_op(FSC_OP_SILU, 4) >= 0 && nth_op(FSC_OP_SILU, 5) < 0);
    for (int k = 0; k < 5; k++) {
        int c = nth_op(FSC_OP_CONV2D, k), src = -1;
        assert_true(c >= 0);
        double s = pair_scale(w8a8->nodes[c].in[0], &src);
        if (s != conv_in_scale[k]) fail_msg("conv%d input scale %.17g, oracle %.17g", k, s, conv_in_scale[k]);
        if (k == 0) assert_true(w8a8->values[src].is_input);
        else assert_int_equal(w8a8->nodes[producer(src)].op, FSC_OP_SILU); /* the previous x * sigmoid(x), fused */
        /* suffix: the conv output is read by the quantize only, the silu reads the dequantized value */
        int y = w8a8->nodes[c].out[0], readers = 0;
        for (int i = 0; i < w8a8->n_nodes; i++)
            for (int j = 0; j < w8a8->nodes[i].n_in; j++)
                if (w8a8->nodes[i].in[j] == y) {
                    readers++;
                    assert_string_equal(w8a8->nodes[i].op_type, "quantize");
                }
        assert_int_equal(readers, 1);
        int sg = nth_op(FSC_OP_SILU, k);
        assert_true(sg >= 0);
        s = pair_scale(w8a8->nodes[sg].in[0], &src);
        assert_int_equal(src, y);
        if (s != conv_out_scale[k]) fail_msg("conv%d output scale %.17g, oracle %.17g", k, s, conv_out_scale[k]);
    }
    int lin = nth_op(FSC_OP_GEMM, 0), src = -1;
    double s = pair_scale(w8a8->nodes[lin].in[0], &src);
    if (s != linear_in_scale) fail_msg("linear input scale %.17g, oracle %.17g", s, linear_in_scale);
    assert_true(w8a8->values[w8a8->nodes[lin].out[0]].is_output);
}

static void test_weights(void **state)
{
    (void)state;
    static const char *const layer[6] = {"conv0", "conv1", "conv2", "conv3", "conv4", "linear"};
    fsc_limits lim = fsc_limits_default();
    for (int k = 0; k < 6; k++) {
        int n = k < 5 ? nth_op(FSC_OP_CONV2D, k) : nth_op(FSC_OP_GEMM, 0);
        int d = producer(w8a8->nodes[n].in[1]);
        assert_true(d >= 0);
        assert_string_equal(w8a8->nodes[d].op_type, "constexpr_affine_dequantize");
        const fsc_tensor *q = w8a8->values[w8a8->nodes[d].in[0]].constant, *sc = w8a8->values[w8a8->nodes[d].in[1]].constant;
        char path[512];
        fsc_tensor rq, rs;
        fsc_error err = {0};
        snprintf(path, sizeof path, SEED "w8a8/%s_wq.npy", layer[k]);
        if (fsc_npy_read(path, &lim, &rq, NULL, &err)) fail_msg("%s", err.msg);
        snprintf(path, sizeof path, SEED "w8a8/%s_ws.npy", layer[k]);
        if (fsc_npy_read(path, &lim, &rs, NULL, &err)) fail_msg("%s", err.msg);
        assert_true(fsc_shape_equal(&q->shape, &rq.shape));
        assert_int_equal(fsc_tensor_numel(sc), fsc_tensor_numel(&rs));
        for (int64_t i = 0; i < fsc_tensor_numel(&rs); i++)
            if (fsc_tensor_get(sc, i) != fsc_tensor_get(&rs, i))
                fail_msg("%s scale[%lld] %.17g, oracle %.17g", layer[k], (long long)i, fsc_tensor_get(sc, i),
                         fsc_tensor_get(&rs, i));
        int64_t bad = 0;
        for (int64_t i = 0; i < fsc_tensor_numel(&rq); i++) bad += fsc_tensor_get(q, i) != fsc_tensor_get(&rq, i);
        if (bad) fail_msg("%s: %lld int8 weights differ from the oracle", layer[k], (long long)bad);
        fsc_tensor_free(&rq);
        fsc_tensor_free(&rs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_and_activation_scales),
        cmocka_unit_test(test_weights),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
