/* gemm_fast.h (internal): the fast dot-product engine behind conv2d and gemm.
 *
 * A job is y[m][n] = round_storage(sum_k W[m][k] * X[k][n] (+ bias[m][n]))
 * for m < M, n < N, with X produced tile by tile by a fill callback (im2col
 * for conv, a copy for gemm). Each output's sum runs sequentially in k inside
 * one SIMD lane (lanes span n) (blocked order: per block, then the block
 * sums in order), so results are bit-identical to fsc_dot_ref
 * under the models fsc_fastmm_eligible accepts, whatever the thread count:
 *  - F32 containers, exact products, fp32 accumulation: fmaf semantics;
 *  - F32 containers holding fp16 values, fp16 accumulation: each step one
 *    correct rounding to fp16 (round-to-odd in fp32, then RNE to fp16);
 *  - F64 containers, fp64 accumulation: fma semantics. */
#ifndef FSC_GEMM_FAST_H
#define FSC_GEMM_FAST_H

#include "kernels/kernels.h"

/* Writes X[k][n0 + j] for k < K, j < nn into dst[k * ld + j] (float or double as the container). */
typedef void (*fsc_fastmm_fill_fn)(const void *user, int64_t job, int64_t n0, int64_t nn, void *dst, int64_t ld);

typedef struct fsc_fastmm_job {
    int64_t M, K, N; /* per job */
    int64_t jobs;    /* independent problems (image x group for conv) */
    /* Weights: job j uses set s = j % w_sets (or w_set_of(user, j) when given);
     * W[m][k] = w[s*w_set_stride + m*w_m + k*w_k]. */
    const fsc_tensor *w;
    int64_t w_sets, w_set_stride, w_m, w_k;
    int64_t (*w_set_of)(const void *user, int64_t job);
    /* Bias (NULL: none): bias[s*bias_set_stride + m*bias_m + n*bias_n]. */
    const fsc_tensor *bias;
    int64_t bias_set_stride, bias_m, bias_n;
    fsc_fastmm_fill_fn fill;
    const void *user;
    /* Output: y[j*y_job_stride + m*y_m + n*y_n]. */
    fsc_tensor *y;
    int64_t y_job_stride, y_m, y_n;
    bool x_operand_ready; /* fill already yields values rounded to the operand format */
} fsc_fastmm_job;

/* True when the engine computes exactly what fsc_dot_ref would under a, for float container dt. */
bool fsc_fastmm_eligible(const fsc_arith *a, fsc_dtype container);

/* Runs the job (the caller checked eligibility). */
fsc_status fsc_fastmm_run(const fsc_fastmm_job *job, const fsc_arith *a, const fsc_ctx *ctx, fsc_error *err);

/* Rounds n F32-container values to a's operand format in place (the engine's
 * rounding of X when !x_operand_ready; a fill may call it on rows it just
 * wrote, in cache, and set x_operand_ready). isa as fsc_fastmm_isa returns. */
void fsc_fastmm_round_operand(float *v, int64_t n, const fsc_arith *a, int isa);

/* Which instruction set variant the engine uses: 0 portable C, 1 AVX2+FMA+F16C, 2 AVX-512F.
 * Env FSC_KERNEL_ISA=N caps it when max_isa < 0 (tests and benchmarks pin a variant).
 * max_isa caps it (tests compare variants); -1 = best available. */
int fsc_fastmm_isa(int max_isa);
fsc_status fsc_fastmm_run_isa(const fsc_fastmm_job *job, const fsc_arith *a, const fsc_ctx *ctx, int max_isa,
                              fsc_error *err);

#endif
