/* gemm_fast.c: the fast dot-product engine (see gemm_fast.h).
 *
 * Weights are packed once into blocks of MR rows, [set][m-block][k][MR],
 * rounded to the operand format. Per task (one job, one tile of NT columns)
 * a thread fills an X tile [K][NT] (zero columns past N), rounds it to the
 * operand format when needed, then for each NR-column panel and each m-block
 * a micro-kernel keeps MR x NR accumulators in registers and walks k from 0
 * to K-1. Lanes span columns, so each output's sum is sequential in k; the
 * epilogue adds the bias in the accumulator format and rounds to storage
 * exactly as fsc_dot_ref and the reference kernels do. */
#include <cpuid.h>
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_fast.h"
#include "kernels/kutil.h"

typedef enum kind { K_F32 = 0, K_ACC16, K_F64, K_COUNT } kind;
/* Computes the MR x NR accumulators into out[i * NR + j] (float, or double for F64). */
typedef void (*ukr_fn)(int64_t K, const void *wp, const void *xt, int64_t ld, void *out);
typedef struct ukr {
    int mr, nr;
    ukr_fn fn;
} ukr;

#define NT_COLS 192 /* tile width: a multiple of every NR below */

/* ---- portable C micro-kernels (MR = 4, NR = 8) ---- */

static void uk_f32_c(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    float acc[4][8] = {{0}};
    for (int64_t k = 0; k < K; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++) acc[i][j] = fmaf(wp[k * 4 + i], xt[k * ld + j], acc[i][j]);
    memcpy(outv, acc, sizeof acc);
}

/* One fp16-accumulation step: RN_fp16(acc + p) for an fp16 acc and an exact fp32 product p.
 * The fp32 sum is turned into the round-to-odd sum (TwoSum tells whether it
 * was inexact and on which side the exact sum lies), whose nearest-even
 * rounding to fp16 is the correct rounding of the exact sum (fp32 has more
 * than 11 + 2 bits). */
static inline float step16_c(float acc, float p)
{
    float s = acc + p, bb = s - acc, e = (acc - (s - bb)) + (p - bb);
    if (e != 0.0f) {
        uint32_t si, ei;
        memcpy(&si, &s, 4);
        memcpy(&ei, &e, 4);
        if (!(si & 1u)) si += ((si ^ ei) >> 31) ? UINT32_MAX : 1u;
        memcpy(&s, &si, 4);
    }
    return (float)fsc_kround((double)s, FSC_FMT_FP16);
}

static void uk_acc16_c(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    float acc[4][8] = {{0}};
    for (int64_t k = 0; k < K; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++) acc[i][j] = step16_c(acc[i][j], wp[k * 4 + i] * xt[k * ld + j]);
    memcpy(outv, acc, sizeof acc);
}

static void uk_f64_c(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const double *wp = wpv, *xt = xtv;
    double acc[4][8] = {{0}};
    for (int64_t k = 0; k < K; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++) acc[i][j] = fma(wp[k * 4 + i], xt[k * ld + j], acc[i][j]);
    memcpy(outv, acc, sizeof acc);
}

/* ---- AVX2 + FMA + F16C micro-kernels ---- */

#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static void uk_f32_avx2(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    __m256 c[6][2];
    for (int i = 0; i < 6; i++) c[i][0] = c[i][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m256 x0 = _mm256_loadu_ps(xt + k * ld), x1 = _mm256_loadu_ps(xt + k * ld + 8);
        for (int i = 0; i < 6; i++) {
            __m256 w = _mm256_broadcast_ss(wp + k * 6 + i);
            c[i][0] = _mm256_fmadd_ps(w, x0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(w, x1, c[i][1]);
        }
    }
    float *t = outv;
    for (int i = 0; i < 6; i++) {
        _mm256_storeu_ps(t + i * 16, c[i][0]);
        _mm256_storeu_ps(t + i * 16 + 8, c[i][1]);
    }
}

/* Vector form of step16_c. */
AVX2 static inline __m256 step16_avx2(__m256 acc, __m256 p)
{
    __m256 s = _mm256_add_ps(acc, p);
    __m256 bb = _mm256_sub_ps(s, acc);
    __m256 e = _mm256_add_ps(_mm256_sub_ps(acc, _mm256_sub_ps(s, bb)), _mm256_sub_ps(p, bb));
    __m256i si = _mm256_castps_si256(s), one = _mm256_set1_epi32(1);
    __m256i even = _mm256_cmpeq_epi32(_mm256_and_si256(si, one), _mm256_setzero_si256());
    __m256i inexact = _mm256_castps_si256(_mm256_cmp_ps(e, _mm256_setzero_ps(), _CMP_NEQ_OQ));
    __m256i dir = _mm256_or_si256(_mm256_srai_epi32(_mm256_xor_si256(si, _mm256_castps_si256(e)), 31), one);
    si = _mm256_add_epi32(si, _mm256_and_si256(dir, _mm256_and_si256(even, inexact)));
    __m128i h = _mm256_cvtps_ph(_mm256_castsi256_ps(si), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm256_cvtph_ps(h);
}

AVX2 static void uk_acc16_avx2(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    __m256 c[4][2];
    for (int i = 0; i < 4; i++) c[i][0] = c[i][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m256 x0 = _mm256_loadu_ps(xt + k * ld), x1 = _mm256_loadu_ps(xt + k * ld + 8);
        for (int i = 0; i < 4; i++) {
            __m256 w = _mm256_broadcast_ss(wp + k * 4 + i);
            c[i][0] = step16_avx2(c[i][0], _mm256_mul_ps(w, x0));
            c[i][1] = step16_avx2(c[i][1], _mm256_mul_ps(w, x1));
        }
    }
    float *t = outv;
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(t + i * 16, c[i][0]);
        _mm256_storeu_ps(t + i * 16 + 8, c[i][1]);
    }
}

AVX2 static void uk_f64_avx2(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const double *wp = wpv, *xt = xtv;
    __m256d c[6][2];
    for (int i = 0; i < 6; i++) c[i][0] = c[i][1] = _mm256_setzero_pd();
    for (int64_t k = 0; k < K; k++) {
        __m256d x0 = _mm256_loadu_pd(xt + k * ld), x1 = _mm256_loadu_pd(xt + k * ld + 4);
        for (int i = 0; i < 6; i++) {
            __m256d w = _mm256_broadcast_sd(wp + k * 6 + i);
            c[i][0] = _mm256_fmadd_pd(w, x0, c[i][0]);
            c[i][1] = _mm256_fmadd_pd(w, x1, c[i][1]);
        }
    }
    double *out = outv;
    for (int i = 0; i < 6; i++) {
        _mm256_storeu_pd(out + i * 8, c[i][0]);
        _mm256_storeu_pd(out + i * 8 + 4, c[i][1]);
    }
}

/* ---- AVX-512F micro-kernels ---- */

#define AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

AVX512 static void uk_f32_avx512(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    __m512 c[8][2];
    for (int i = 0; i < 8; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m512 x0 = _mm512_loadu_ps(xt + k * ld), x1 = _mm512_loadu_ps(xt + k * ld + 16);
        for (int i = 0; i < 8; i++) {
            __m512 w = _mm512_set1_ps(wp[k * 8 + i]);
            c[i][0] = _mm512_fmadd_ps(w, x0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(w, x1, c[i][1]);
        }
    }
    float *t = outv;
    for (int i = 0; i < 8; i++) {
        _mm512_storeu_ps(t + i * 32, c[i][0]);
        _mm512_storeu_ps(t + i * 32 + 16, c[i][1]);
    }
}

/* fp16-accumulation step with embedded rounding: the round-to-odd sum is the
 * truncated (toward zero) fp32 sum with its last bit set when the sum is
 * inexact (rounding up and down disagree); its nearest-even rounding to fp16
 * is the correct rounding of the exact sum, as in step16_c. */
AVX512 static inline __m512 step16_avx512(__m512 acc, __m512 p)
{
    __m512 rz = _mm512_add_round_ps(acc, p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m512 ru = _mm512_add_round_ps(acc, p, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
    __m512 rd = _mm512_add_round_ps(acc, p, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __mmask16 inexact = _mm512_cmp_ps_mask(ru, rd, _CMP_NEQ_OQ);
    __m512i odd = _mm512_mask_or_epi32(_mm512_castps_si512(rz), inexact, _mm512_castps_si512(rz), _mm512_set1_epi32(1));
    __m256i h = _mm512_cvtps_ph(_mm512_castsi512_ps(odd), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_cvtph_ps(h);
}

AVX512 static void uk_acc16_avx512(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    __m512 c[4][2];
    for (int i = 0; i < 4; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m512 x0 = _mm512_loadu_ps(xt + k * ld), x1 = _mm512_loadu_ps(xt + k * ld + 16);
        for (int i = 0; i < 4; i++) {
            __m512 w = _mm512_set1_ps(wp[k * 4 + i]);
            c[i][0] = step16_avx512(c[i][0], _mm512_mul_ps(w, x0));
            c[i][1] = step16_avx512(c[i][1], _mm512_mul_ps(w, x1));
        }
    }
    float *t = outv;
    for (int i = 0; i < 4; i++) {
        _mm512_storeu_ps(t + i * 32, c[i][0]);
        _mm512_storeu_ps(t + i * 32 + 16, c[i][1]);
    }
}

AVX512 static void uk_f64_avx512(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const double *wp = wpv, *xt = xtv;
    __m512d c[8][2];
    for (int i = 0; i < 8; i++) c[i][0] = c[i][1] = _mm512_setzero_pd();
    for (int64_t k = 0; k < K; k++) {
        __m512d x0 = _mm512_loadu_pd(xt + k * ld), x1 = _mm512_loadu_pd(xt + k * ld + 8);
        for (int i = 0; i < 8; i++) {
            __m512d w = _mm512_set1_pd(wp[k * 8 + i]);
            c[i][0] = _mm512_fmadd_pd(w, x0, c[i][0]);
            c[i][1] = _mm512_fmadd_pd(w, x1, c[i][1]);
        }
    }
    double *out = outv;
    for (int i = 0; i < 8; i++) {
        _mm512_storeu_pd(out + i * 16, c[i][0]);
        _mm512_storeu_pd(out + i * 16 + 8, c[i][1]);
    }
}

/* Epilogue for fp32 accumulation into an F32 container, contiguous outputs,
 * one bias per row: acc + bias is one binary32 addition (a correct rounding
 * in fp32, as fsc_kadd), then the rounding to storage. */
static void epi_f32(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage)
{
    if (storage == FSC_FMT_FP32)
        for (int64_t q = 0; q < n; q++) y[q] = acc[q] + bias;
    else
        for (int64_t q = 0; q < n; q++) y[q] = (float)fsc_kround((double)(acc[q] + bias), storage);
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

static const ukr ukrs[3][K_COUNT] = {
    {{4, 8, uk_f32_c}, {4, 8, uk_acc16_c}, {4, 8, uk_f64_c}},
    {{6, 16, uk_f32_avx2}, {4, 16, uk_acc16_avx2}, {6, 8, uk_f64_avx2}},
    {{8, 32, uk_f32_avx512}, {4, 32, uk_acc16_avx512}, {8, 16, uk_f64_avx512}},
};

/* F16C via CPUID leaf 1, ECX bit 29: clang's __builtin_cpu_supports does not know "f16c". */
static bool cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}

int fsc_fastmm_isa(int max_isa)
{
    const char *env = getenv("FSC_KERNEL_ISA"); /* tests and benchmarks pin a variant */
    if (max_isa < 0 && env && *env) max_isa = atoi(env);
    if (max_isa < 0) max_isa = 2;
    __builtin_cpu_init();
    int best = 0;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) best = 1;
    if (best == 1 && __builtin_cpu_supports("avx512f")) best = 2;
    return best < max_isa ? best : max_isa;
}

bool fsc_fastmm_eligible(const fsc_arith *a, fsc_dtype container)
{
    if (a->block_fma.block > 0 || a->order != FSC_ORDER_SEQUENTIAL || a->rounding != FSC_RND_NEAREST_EVEN ||
        a->product != FSC_FMT_FP64)
        return false;
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
    bool f64 = job->y->dtype == FSC_DT_F64;
    kind kd = f64 ? K_F64 : (a->accum == FSC_FMT_FP16 ? K_ACC16 : K_F32);
    ukr u = ukrs[fsc_fastmm_isa(max_isa)][kd];
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
    bool round_x = !job->x_operand_ready && !fsc_kfmt_within(a->storage, a->operand);
    int64_t NT = N < NT_COLS ? (N + u.nr - 1) / u.nr * u.nr : NT_COLS;
    int64_t ntiles = (N + NT - 1) / NT, tasks = job->jobs * ntiles;
    int nt = fsc_kthreads(ctx);
    if (nt > tasks) nt = (int)tasks;
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        void *tile = malloc((size_t)(K > 0 ? K : 1) * (size_t)NT * es);
        void *acc = malloc((size_t)u.mr * (size_t)u.nr * sizeof(double));
        if (!tile || !acc) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++) {
            if (!tile || !acc) continue;
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
                    if (round_x)
                        for (int64_t c = 0; c < nn; c++)
                            row[c] = (float)fsc_kround_mode(row[c], a->operand, a->operand_rounding);
                }
            }
            for (int64_t c0 = 0; c0 < nn; c0 += u.nr) {
                const char *xt = (const char *)tile + (size_t)c0 * es;
                for (int64_t b = 0; b < nmb; b++) {
                    u.fn(K, wp + (size_t)(s * nmb + b) * (size_t)K * (size_t)u.mr * es, xt, NT, acc);
                    int64_t mrows = M - b * u.mr < u.mr ? M - b * u.mr : u.mr;
                    int64_t ncol = nn - c0 < u.nr ? nn - c0 : u.nr;
                    for (int64_t i = 0; i < mrows; i++) {
                        int64_t m = b * u.mr + i;
                        size_t yo = (size_t)(j * job->y_job_stride + m * job->y_m + (n0 + c0) * job->y_n);
                        const fsc_tensor *bt = job->bias;
                        int64_t bo = s * job->bias_set_stride + m * job->bias_m + (n0 + c0) * job->bias_n;
                        if (kd == K_F32 && job->y_n == 1 && (!bt || job->bias_n == 0))
                            epi_f32((const float *)acc + i * u.nr, (float *)job->y->data + yo, ncol,
                                    bt ? (float)fsc_kget(bt, bo) : 0.0f, a->storage);
                        else
                            epi_generic(acc, f64, i * u.nr, ncol, bt, bo, job->bias_n, job->y, yo, job->y_n, a);
                    }
                }
            }
        }
        free(tile);
        free(acc);
    }
    free(wp);
    if (st_all) return fsc_fail(err, st_all, "out of memory in the dot-product engine");
    return FSC_OK;
}
