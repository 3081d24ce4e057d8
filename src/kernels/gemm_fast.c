/* gemm_fast.c: the fast dot-product engine (see gemm_fast.h).
 *
 * Weights are packed once into blocks of MR rows, [set][m-block][k][MR],
 * rounded to the operand format. Per task (one job, one tile of NT columns)
 * a thread fills an X tile [K][NT] (zero columns past N), rounds it to the
 * operand format when needed, then for each m-block and each NR-column panel
 * a micro-kernel keeps MR x NR accumulators in registers and walks k from 0
 * to K-1. Lanes span columns, so each output's sum is sequential in k; the
 * epilogue adds the bias in the accumulator format and rounds to storage
 * exactly as fsc_dot_ref and the reference kernels do. */
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_bfma.h"
#include "kernels/gemm_fast.h"
#include "kernels/kutil.h"
#include "kernels/ukernels.h"

#define NT_COLS 192            /* widest tile: a multiple of every micro-kernel's NR */
#define TILE_BYTES (448 << 10) /* an X tile stays in L2 next to the packed weights */

/* Tile width: NT_COLS columns, fewer (a multiple of nr) when K rows of them
 * would not fit TILE_BYTES (fp64 with K = 576 gets 96: 442 KB, not 884 KB). */
static int64_t tile_cols(int64_t K, size_t es, int nr)
{
    int64_t fit = (int64_t)(TILE_BYTES / es) / (K > 0 ? K : 1) / nr * nr;
    if (fit > NT_COLS) fit = NT_COLS;
    return fit < nr ? nr : fit;
}

/* Epilogue for fp32 accumulation into an F32 container, contiguous outputs,
 * one bias per row: acc + bias is one binary32 addition (a correct rounding
 * in fp32, as fsc_kadd), then the rounding to storage. */
static void epi_f32(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage, int isa)
{
    bool vec_fmt = storage == FSC_FMT_FP32 || storage == FSC_FMT_FP16 || storage == FSC_FMT_BF16;
    int64_t q = 0;
    if (vec_fmt && isa >= 2) {
        fsc_epi_f32_avx512(acc, y, n, bias, storage);
        return;
    }
    if (vec_fmt && isa == 1) q = fsc_epi_f32_avx2(acc, y, n, bias, storage);
    if (storage == FSC_FMT_FP32)
        for (; q < n; q++) y[q] = acc[q] + bias;
    else
        for (; q < n; q++) y[q] = (float)fsc_kround((double)(acc[q] + bias), storage);
}

/* Epilogue for fp16 accumulation into an F32 container, contiguous outputs,
 * an fp16 bias, a storage format holding every fp16 value: one correctly
 * rounded fp16 addition (the micro-kernel's step), which fsc_kadd gives. */
static void epi_acc16(const float *acc, float *y, int64_t n, float bias, int isa)
{
    int64_t q = 0;
    if (isa >= 2) {
        fsc_epi_acc16_avx512(acc, y, n, bias);
        return;
    }
    if (isa == 1) q = fsc_epi_acc16_avx2(acc, y, n, bias);
    for (; q < n; q++) y[q] = fsc_step16(acc[q], bias);
}

/* Epilogue for fp64 accumulation and storage, contiguous outputs: one binary64 addition. */
static void epi_f64(const double *acc, double *y, int64_t n, double bias, int isa)
{
    int64_t q = 0;
    if (isa >= 2) {
        fsc_epi_f64_avx512(acc, y, n, bias);
        return;
    }
    if (isa == 1) q = fsc_epi_f64_avx2(acc, y, n, bias);
    for (; q < n; q++) y[q] = acc[q] + bias;
}

/* Any other epilogue, element by element, exactly as the reference kernels. */
static void epi_generic(const void *acc, bool f64, int64_t at, int64_t n, const fsc_tensor *bias, int64_t bo,
                        int64_t bias_n, fsc_tensor *y, size_t yo, int64_t y_n, const fsc_arith *a)
{
    for (int64_t q = 0; q < n; q++) {
        double r = f64 ? ((const double *)acc)[at + q] : (double)((const float *)acc)[at + q];
        if (bias) r = fsc_kadd(r, fsc_kget(bias, bo + q * bias_n), a->accum, FSC_RND_NEAREST_EVEN);
        fsc_kset(y, (int64_t)yo + q * y_n, fsc_kround(r, a->storage));
    }
}

/* Rounds n binary32 values to the operand format in place, nearest-even: for
 * tf32 and bf16 (binary32's exponent range) on the bit pattern, which is that
 * rounding for every finite value, subnormals included (carries give the
 * overflow to Inf; Inf and NaN are left alone); for fp16 by the IEEE
 * conversion and back. Other formats and modes go element by element. */
void fsc_fastmm_round_operand(float *v, int64_t n, const fsc_arith *a, int isa)
{
    fsc_format_id f = a->operand;
    bool rne = a->operand_rounding == FSC_RND_NEAREST_EVEN;
    if (rne && (f == FSC_FMT_TF32 || f == FSC_FMT_BF16 || f == FSC_FMT_FP16) && isa >= 1) {
        if (isa >= 2) fsc_round_f32_avx512(v, n, f);
        else fsc_round_f32_avx2(v, n, f);
        return;
    }
    if (rne && (f == FSC_FMT_TF32 || f == FSC_FMT_BF16)) {
        int drop = f == FSC_FMT_TF32 ? 13 : 16;
        uint32_t half = (1u << (drop - 1)) - 1u, mask = ~((1u << drop) - 1u);
        for (int64_t q = 0; q < n; q++) {
            uint32_t u;
            memcpy(&u, &v[q], 4);
            if ((u & 0x7f800000u) != 0x7f800000u) u = (u + half + ((u >> drop) & 1u)) & mask;
            memcpy(&v[q], &u, 4);
        }
        return;
    }
    for (int64_t q = 0; q < n; q++) v[q] = (float)fsc_kround_mode(v[q], f, a->operand_rounding);
}

static const fsc_ukr *const ukrs[3] = {fsc_uk_portable, fsc_uk_avx2, fsc_uk_avx512};

/* Blocked order: each block of `block` terms summed sequentially from +0 by
 * the micro-kernel into part, the block sums added in order into acc (from
 * +0) with one rounding to the accumulator each, as fsc_dot_ref does. */
static void blocked_dot(const fsc_ukr *u, fsc_uk_kind kd, int64_t K, int64_t block, const char *wb, const char *xt, int64_t ld,
                        size_t es, void *acc, void *part)
{
    int64_t n = (int64_t)u->mr * u->nr;
    memset(acc, 0, (size_t)n * es);
    for (int64_t k0 = 0; k0 < K; k0 += block) {
        int64_t kb = K - k0 < block ? K - k0 : block;
        u->fn(kb, wb + (size_t)k0 * (size_t)u->mr * es, xt + (size_t)k0 * (size_t)ld * es, ld, part);
        if (kd == FSC_UK_F64) {
            double *t = acc;
            const double *p = part;
            for (int64_t i = 0; i < n; i++) t[i] = t[i] + p[i];
        } else if (kd == FSC_UK_F32) {
            float *t = acc;
            const float *p = part;
            for (int64_t i = 0; i < n; i++) t[i] = t[i] + p[i]; /* binary32 addition: one rounding */
        } else {
            float *t = acc;
            const float *p = part;
            for (int64_t i = 0; i < n; i++) t[i] = fsc_step16(t[i], p[i]);
        }
    }
}

int fsc_fastmm_isa(int max_isa)
{
    const char *env = getenv("FSC_KERNEL_ISA"); /* tests and benchmarks pin a variant */
    if (max_isa < 0 && env && *env) max_isa = atoi(env);
    if (max_isa < 0) max_isa = 2;
    __builtin_cpu_init();
    int best = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && fsc_cpu_has_f16c()) best = 1;
    if (best == 1 && __builtin_cpu_supports("avx512f")) best = 2;
    return best < max_isa ? best : max_isa;
}

bool fsc_fastmm_eligible(const fsc_arith *a, fsc_dtype container)
{
    if (a->block_fma.block > 0) return fsc_bfma_eligible(a, container); /* tensor-core models: gemm_bfma.c */
    if (a->block_fma.block > 0 || a->rounding != FSC_RND_NEAREST_EVEN || a->product != FSC_FMT_FP64)
        return false;
    if (a->order != FSC_ORDER_SEQUENTIAL && !(a->order == FSC_ORDER_BLOCKED && a->block >= 1)) return false;
    if (container == FSC_DT_F64) return a->accum == FSC_FMT_FP64;
    if (container != FSC_DT_F32) return false;
    if (a->accum == FSC_FMT_FP32) return true;
    if (a->accum == FSC_FMT_FP16) /* products of fp16 values are exact in fp32 */
        return fsc_kfmt_within(a->operand, FSC_FMT_FP16) ||
               (fsc_kfmt_within(a->storage, FSC_FMT_FP16) && fsc_kfmt_within(a->weights, FSC_FMT_FP16));
    return false;
}

fsc_status fsc_fastmm_run(const fsc_fastmm_job *job, const fsc_arith *a, const fsc_ctx *ctx, fsc_error *err)
{
    return fsc_fastmm_run_isa(job, a, ctx, -1, err);
}

fsc_status fsc_fastmm_run_isa(const fsc_fastmm_job *job, const fsc_arith *a, const fsc_ctx *ctx, int max_isa,
                              fsc_error *err)
{
    if (a->block_fma.block > 0) return fsc_bfma_run(job, a, ctx, max_isa, err);
    bool f64 = job->y->dtype == FSC_DT_F64;
    fsc_uk_kind kd = f64 ? FSC_UK_F64 : (a->accum == FSC_FMT_FP16 ? FSC_UK_ACC16 : FSC_UK_F32);
    bool blocked = a->order == FSC_ORDER_BLOCKED;
    int isa = fsc_fastmm_isa(max_isa);
    fsc_ukr u = ukrs[isa][kd];
    size_t es = f64 ? sizeof(double) : sizeof(float);
    int64_t M = job->M, K = job->K, N = job->N;
    if (M == 0 || N == 0 || job->jobs == 0) return FSC_OK;
    int64_t nmb = (M + u.mr - 1) / u.mr;
    size_t wsz = (size_t)job->w_sets * (size_t)nmb * (size_t)(K > 0 ? K : 1) * (size_t)u.mr * es;
    char *wp = fsc_malloc(wsz, "packed weights", err);
    if (!wp) return FSC_ERR_NOMEM;
    /* Pack: [set][m-block][k][mr], rounded to the operand format, zero rows past M. */
    for (int64_t s = 0; s < job->w_sets; s++)
        for (int64_t b = 0; b < nmb; b++)
            for (int64_t k = 0; k < K; k++)
                for (int i = 0; i < u.mr; i++) {
                    int64_t m = b * u.mr + i;
                    double v = m < M ? fsc_kround_mode(fsc_kget(job->w, s * job->w_set_stride + m * job->w_m + k * job->w_k),
                                                       a->operand, a->operand_rounding)
                                     : 0.0;
                    size_t at = (((size_t)(s * nmb + b) * (size_t)K + (size_t)k) * (size_t)u.mr + (size_t)i);
                    if (f64) ((double *)wp)[at] = v;
                    else ((float *)wp)[at] = (float)v;
                }
    bool acc16_epi = fsc_kfmt_within(FSC_FMT_FP16, a->storage);
    bool round_x = !job->x_operand_ready && !fsc_kfmt_within(a->storage, a->operand);
    int64_t NT = tile_cols(K, es, u.nr);
    if (N < NT) NT = (N + u.nr - 1) / u.nr * u.nr;
    int64_t ntiles = (N + NT - 1) / NT, tasks = job->jobs * ntiles;
    int nt = fsc_kthreads(ctx);
    if (nt > tasks) nt = (int)tasks;
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        void *tile = malloc((size_t)(K > 0 ? K : 1) * (size_t)NT * es);
        void *acc = malloc((size_t)u.mr * (size_t)u.nr * sizeof(double));
        void *part = malloc((size_t)u.mr * (size_t)u.nr * sizeof(double));
        if (!tile || !acc || !part) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(dynamic, 1) /* tasks are large; a thread slowed by a neighbour takes fewer */
        for (int64_t t = 0; t < tasks; t++) {
            if (!tile || !acc || !part) continue;
            int64_t j = t / ntiles, n0 = (t % ntiles) * NT, nn = N - n0 < NT ? N - n0 : NT;
            int64_t ncols = (nn + u.nr - 1) / u.nr * u.nr;
            int64_t s = job->w_set_of ? job->w_set_of(job->user, j) : j % job->w_sets;
            job->fill(job->user, j, n0, nn, tile, NT);
            for (int64_t k = 0; k < K; k++) {
                if (f64) {
                    double *row = (double *)tile + k * NT;
                    for (int64_t c = nn; c < ncols; c++) row[c] = 0.0;
                    if (round_x)
                        for (int64_t c = 0; c < nn; c++) row[c] = fsc_kround_mode(row[c], a->operand, a->operand_rounding);
                } else {
                    float *row = (float *)tile + k * NT;
                    for (int64_t c = nn; c < ncols; c++) row[c] = 0.0f;
                    if (round_x) fsc_fastmm_round_operand(row, nn, a, isa);
                }
            }
            /* m-blocks outside: the block's packed weights stay in L1 while the
             * tile's panels stream from L2. */
            for (int64_t b = 0; b < nmb; b++) {
                const char *wb = wp + (size_t)(s * nmb + b) * (size_t)K * (size_t)u.mr * es;
                for (int64_t c0 = 0; c0 < nn; c0 += u.nr) {
                    const char *xt = (const char *)tile + (size_t)c0 * es;
                    if (!blocked) u.fn(K, wb, xt, NT, acc);
                    else blocked_dot(&u, kd, K, a->block, wb, xt, NT, es, acc, part);
                    int64_t mrows = M - b * u.mr < u.mr ? M - b * u.mr : u.mr;
                    int64_t ncol = nn - c0 < u.nr ? nn - c0 : u.nr;
                    for (int64_t i = 0; i < mrows; i++) {
                        int64_t m = b * u.mr + i;
                        size_t yo = (size_t)(j * job->y_job_stride + m * job->y_m + (n0 + c0) * job->y_n);
                        const fsc_tensor *bt = job->bias;
                        int64_t bo = s * job->bias_set_stride + m * job->bias_m + (n0 + c0) * job->bias_n;
                        double bv = bt ? fsc_kget(bt, bo) : 0.0;
                        bool row_bias = job->y_n == 1 && (!bt || job->bias_n == 0);
                        if (kd == FSC_UK_F32 && row_bias)
                            epi_f32((const float *)acc + i * u.nr, (float *)job->y->data + yo, ncol, (float)bv, a->storage, isa);
                        else if (kd == FSC_UK_ACC16 && row_bias && acc16_epi && fsc_kround(bv, FSC_FMT_FP16) == bv)
                            epi_acc16((const float *)acc + i * u.nr, (float *)job->y->data + yo, ncol, (float)bv, isa);
                        else if (kd == FSC_UK_F64 && row_bias && a->storage == FSC_FMT_FP64)
                            epi_f64((const double *)acc + i * u.nr, (double *)job->y->data + yo, ncol, bv, isa);
                        else
                            epi_generic(acc, f64, i * u.nr, ncol, bt, bo, job->bias_n, job->y, yo, job->y_n, a);
                    }
                }
            }
        }
        free(tile);
        free(acc);
        free(part);
    }
    free(wp);
    if (st_all) return fsc_fail(err, st_all, "out of memory in the dot-product engine");
    return FSC_OK;
}
