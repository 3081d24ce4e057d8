/* test_blockfma_gemm.c: gemm and conv2d kernels under the tensor-core presets
 * equal the same dot products chained by hand, block by block, through
 * fsc_blockfma_step (itself checked bit for bit against hardware in
 * test_tensorcore.c): operands rounded to the block's input format (TF32 by
 * truncation), blocks of block_fma.block products from an accumulator of +0,
 * the bias added once in fp32 nearest-even, the result rounded to storage. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/arith.h"
#include "flipscope/ctx.h"
#include "flipscope/tensor.h"
#include "kernels/ops.h"

static uint64_t rs = 12345;
static double urand(void) /* uniform in [-1, 1) */
{
    rs = rs * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rs >> 11) * 0x1p-52 - 1.0;
}

/* The dot product of x and w (K terms) chained by hand through the block FMA. */
static double hand_dot(const double *x, const double *w, int K, const fsc_arith *a)
{
    const fsc_blockfma *p = &a->block_fma;
    fsc_round_opts o = {p->in_truncate ? FSC_RND_TOWARD_ZERO : FSC_RND_NEAREST_EVEN, true, false};
    double acc = 0.0;
    for (int k0 = 0; k0 < K; k0 += p->block) {
        double xb[64], wb[64];
        int n = K - k0 < p->block ? K - k0 : p->block;
        for (int i = 0; i < n; i++) {
            xb[i] = fsc_round(x[k0 + i], p->in, o);
            wb[i] = fsc_round(w[k0 + i], p->in, o);
        }
        acc = fsc_blockfma_step(xb, wb, n, acc, p);
    }
    return acc;
}

static void fill(fsc_tensor *t, fsc_format_id fmt, double scale)
{
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++) fsc_tensor_set(t, i, fsc_rne(urand() * scale, fmt));
    t->fmt = fmt;
}

/* y = A B + C (C a row bias [N]) under preset name; every element checked. */
static void check_gemm(const char *name, int M, int K, int N)
{
    const fsc_arith *a = fsc_arith_preset(name);
    assert_non_null(a);
    fsc_error err = {0};
    fsc_ctx ctx = fsc_ctx_default();
    fsc_dtype dt = FSC_DT_F32;
    int64_t da[2] = {M, K}, db[2] = {K, N}, dc[1] = {N}, dy[2] = {M, N};
    fsc_shape sa = fsc_shape_make(2, da), sb = fsc_shape_make(2, db), sc = fsc_shape_make(1, dc),
              sy = fsc_shape_make(2, dy);
    fsc_tensor A = {0}, B = {0}, C = {0}, Y = {0};
    assert_int_equal(fsc_tensor_alloc(&A, dt, &sa, 0, &err), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&B, dt, &sb, 0, &err), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&C, dt, &sc, 0, &err), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&Y, dt, &sy, 0, &err), FSC_OK);
    fill(&A, a->storage, 1.0);
    fill(&B, a->weights, 1.0);
    fill(&C, a->weights, 0.5);
    fsc_attr_gemm at = {.alpha = 1.0, .beta = 1.0, .trans_a = false, .trans_b = false};
    fsc_status st = fsc_k_gemm(&at, &A, &B, &C, a, &ctx, &Y, &err);
    if (st != FSC_OK) fail_msg("gemm under %s: %s", name, err.msg);
    int differs_from_rne = 0;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double x[512], w[512], exact = 0.0;
            for (int k = 0; k < K; k++) {
                x[k] = fsc_tensor_get(&A, (int64_t)m * K + k);
                w[k] = fsc_tensor_get(&B, (int64_t)k * N + n);
            }
            double acc = hand_dot(x, w, K, a);
            double r = fsc_rne(fsc_rne(acc + fsc_tensor_get(&C, n), FSC_FMT_FP32), a->storage);
            /* acc + bias: both fp32 values, their double sum is exact, one rounding to fp32. */
            double got = fsc_tensor_get(&Y, (int64_t)m * N + n);
            if (got != r) fail_msg("%s gemm y[%d,%d] = %a, hand-chained blocks give %a", name, m, n, got, r);
            for (int k = 0; k < K; k++) exact += x[k] * w[k]; /* only to see the model matter */
            differs_from_rne += acc != fsc_rne(exact, FSC_FMT_FP32);
        }
    printf("%s gemm %dx%dx%d: all %d outputs equal the hand-chained blocks (%d block sums differ from a "
           "nearest-even fp32 sum)\n",
           name, M, K, N, M * N, differs_from_rne);
    fsc_tensor_free(&A);
    fsc_tensor_free(&B);
    fsc_tensor_free(&C);
    fsc_tensor_free(&Y);
}

static void test_gemm_h100_fp16(void **state)
{
    (void)state;
    check_gemm("h100-fp16", 5, 70, 6); /* 70 = 4 blocks of 16 and a partial block of 6 */
}

static void test_gemm_other_presets(void **state)
{
    (void)state;
    check_gemm("v100-fp16", 3, 33, 4);
    check_gemm("a100-tf32", 3, 21, 4);
    check_gemm("h100-tf32", 3, 40, 5);
    check_gemm("b200-bf16", 3, 50, 4);
    check_gemm("h100-e4m3", 3, 64, 3);
    check_gemm("b200-e4m3", 3, 70, 3); /* late_c: 2 blocks of 32 and a partial block of 6 */
    check_gemm("b200-e5m2", 2, 33, 2);
}

/* conv2d: one output channel of a 3x3 conv over 4 input channels (K = 36,
 * blocks of 16, 16, 4) with padding; each output checked by hand in im2col
 * order (c, i, j), padding taps as zero terms. */
static void test_conv_h100_fp16(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("h100-fp16");
    fsc_error err = {0};
    fsc_ctx ctx = fsc_ctx_default();
    int64_t dx[4] = {1, 4, 5, 5}, dw[4] = {2, 4, 3, 3}, db[1] = {2}, dy[4] = {1, 2, 5, 5};
    fsc_shape sx = fsc_shape_make(4, dx), sw = fsc_shape_make(4, dw), sb = fsc_shape_make(1, db),
              sy = fsc_shape_make(4, dy);
    fsc_tensor X = {0}, W = {0}, Bs = {0}, Y = {0};
    assert_int_equal(fsc_tensor_alloc(&X, FSC_DT_F32, &sx, 0, &err), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&W, FSC_DT_F32, &sw, 0, &err), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&Bs, FSC_DT_F32, &sb, 0, &err), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&Y, FSC_DT_F32, &sy, 0, &err), FSC_OK);
    fill(&X, FSC_FMT_FP16, 2.0);
    fill(&W, FSC_FMT_FP16, 1.0);
    fill(&Bs, FSC_FMT_FP16, 1.0);
    fsc_attr_conv at;
    memset(&at, 0, sizeof at);
    at.stride[0] = at.stride[1] = 1;
    at.dilation[0] = at.dilation[1] = 1;
    at.pad[0] = at.pad[1] = at.pad[2] = at.pad[3] = 1;
    at.group = 1;
    fsc_status st = fsc_k_conv2d(&at, &X, &W, &Bs, a, &ctx, &Y, &err);
    if (st != FSC_OK) fail_msg("conv2d under h100-fp16: %s", err.msg);
    for (int m = 0; m < 2; m++)
        for (int oh = 0; oh < 5; oh++)
            for (int ow = 0; ow < 5; ow++) {
                double x[36], w[36];
                int k = 0;
                for (int c = 0; c < 4; c++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++, k++) {
                            int h = oh + i - 1, v = ow + j - 1;
                            x[k] = (h < 0 || h >= 5 || v < 0 || v >= 5) ? 0.0
                                                                      : fsc_tensor_get(&X, (c * 5 + h) * 5 + v);
                            w[k] = fsc_tensor_get(&W, ((m * 4 + c) * 3 + i) * 3 + j);
                        }
                double acc = hand_dot(x, w, 36, a);
                double r = fsc_rne(fsc_rne(acc + fsc_tensor_get(&Bs, m), FSC_FMT_FP32), FSC_FMT_FP16);
                double got = fsc_tensor_get(&Y, (m * 5 + oh) * 5 + ow);
                if (got != r) fail_msg("conv y[%d,%d,%d] = %a, hand-chained blocks give %a", m, oh, ow, got, r);
            }
    fsc_tensor_free(&X);
    fsc_tensor_free(&W);
    fsc_tensor_free(&Bs);
    fsc_tensor_free(&Y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_h100_fp16),
        cmocka_unit_test(test_gemm_other_presets),
        cmocka_unit_test(test_conv_h100_fp16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
