/* ukernels_avx512.c: AVX-512F micro-kernels and epilogue of the fast
 * dot-product engine (compiled for that target, chosen at run time). */
#include <immintrin.h>

#include "kernels/ukernels.h"

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

/* fp16-accumulation step with embedded rounding: the exact sum lies between
 * its roundings down and up; when they differ (inexact) exactly one of them
 * has an odd last bit, and that one is the round-to-odd sum (when they agree
 * the sum is exact). Its nearest-even rounding to fp16 is the correct
 * rounding of the exact sum, as in fsc_step16. */
AVX512 static inline __m512 step16_avx512(__m512 acc, __m512 w, __m512 x)
{
    /* w * x is exact in fp32 (fp16 operands), so the directed fused
     * multiply-adds are the directed roundings of acc + w*x. */
    __m512 ru = _mm512_fmadd_round_ps(w, x, acc, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
    __m512 rd = _mm512_fmadd_round_ps(w, x, acc, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __mmask16 rd_odd = _mm512_test_epi32_mask(_mm512_castps_si512(rd), _mm512_set1_epi32(1));
    __m512 odd = _mm512_mask_blend_ps(rd_odd, ru, rd);
    __m256i h = _mm512_cvtps_ph(odd, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_cvtph_ps(h);
}

/* Eight rows x 32 columns: 16 independent accumulator chains hide the
 * latency of the rounding step. */
AVX512 static void uk_acc16_avx512(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    __m512 c[8][2];
    for (int i = 0; i < 8; i++) c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        __m512 x0 = _mm512_loadu_ps(xt + k * ld), x1 = _mm512_loadu_ps(xt + k * ld + 16);
        for (int i = 0; i < 8; i++) {
            __m512 w = _mm512_set1_ps(wp[k * 8 + i]);
            c[i][0] = step16_avx512(c[i][0], w, x0);
            c[i][1] = step16_avx512(c[i][1], w, x1);
        }
    }
    float *t = outv;
    for (int i = 0; i < 8; i++) {
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

/* Vector forms of the fp32 epilogue below for fp32, fp16 and bf16 storage:
 * F16C conversion is the nearest-even rounding of a binary32 value to fp16;
 * bf16 is binary32 with the low 16 bits rounded off (nearest-even, carries
 * into the exponent give the right overflow to Inf, NaNs stay quiet NaNs). */
AVX512 void fsc_epi_f32_avx512(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage)
{
    __m512 b = _mm512_set1_ps(bias);
    for (int64_t q = 0; q < n; q += 16) {
        __mmask16 m = n - q >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - q)) - 1u);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, acc + q), b);
        if (storage == FSC_FMT_FP16) {
            v = _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        } else if (storage == FSC_FMT_BF16) {
            __m512i u = _mm512_castps_si512(v);
            __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
            u = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
            v = _mm512_castsi512_ps(_mm512_and_si512(u, _mm512_set1_epi32((int)0xffff0000u)));
        }
        _mm512_mask_storeu_ps(y + q, m, v);
    }
}

/* fp64 epilogue: y = acc + bias, one binary64 addition (fp64 accumulation and storage). */
AVX512 void fsc_epi_f64_avx512(const double *acc, double *y, int64_t n, double bias)
{
    __m512d b = _mm512_set1_pd(bias);
    for (int64_t q = 0; q < n; q += 8) {
        __mmask8 m = n - q >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - q)) - 1u);
        _mm512_mask_storeu_pd(y + q, m, _mm512_add_pd(_mm512_maskz_loadu_pd(m, acc + q), b));
    }
}

/* fp16-accumulation epilogue: y = RN_fp16(acc + bias) for an fp16 bias, the
 * same correctly rounded step as the micro-kernel (bias = 1 * bias exactly);
 * the storage format holds every fp16 value, so its rounding changes nothing. */
AVX512 void fsc_epi_acc16_avx512(const float *acc, float *y, int64_t n, float bias)
{
    __m512 b = _mm512_set1_ps(bias), one = _mm512_set1_ps(1.0f);
    for (int64_t q = 0; q < n; q += 16) {
        __mmask16 m = n - q >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - q)) - 1u);
        _mm512_mask_storeu_ps(y + q, m, step16_avx512(_mm512_maskz_loadu_ps(m, acc + q), one, b));
    }
}

/* In-place nearest-even rounding of binary32 values to tf32, bf16 (bit
 * pattern, Inf and NaN untouched) or fp16 (F16C conversion and back). */
AVX512 void fsc_round_f32_avx512(float *v, int64_t n, fsc_format_id fmt)
{
    int drop = fmt == FSC_FMT_TF32 ? 13 : 16;
    __m512i half = _mm512_set1_epi32((int)((1u << (drop - 1)) - 1u)), keep = _mm512_set1_epi32((int)~((1u << drop) - 1u));
    __m512i one = _mm512_set1_epi32(1), expo = _mm512_set1_epi32(0x7f800000);
    __m128i sh = _mm_cvtsi32_si128(drop);
    for (int64_t q = 0; q < n; q += 16) {
        __mmask16 m = n - q >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - q)) - 1u);
        __m512 x = _mm512_maskz_loadu_ps(m, v + q);
        if (fmt == FSC_FMT_FP16) {
            x = _mm512_cvtph_ps(_mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        } else {
            __m512i u = _mm512_castps_si512(x);
            __mmask16 fin = _mm512_cmpneq_epi32_mask(_mm512_and_si512(u, expo), expo);
            __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(half, _mm512_and_si512(_mm512_srl_epi32(u, sh), one)));
            x = _mm512_castsi512_ps(_mm512_mask_and_epi32(u, fin, r, keep));
        }
        _mm512_mask_storeu_ps(v + q, m, x);
    }
}

const fsc_ukr fsc_uk_avx512[FSC_UK_COUNT] = {{8, 32, uk_f32_avx512}, {8, 32, uk_acc16_avx512}, {8, 16, uk_f64_avx512}};
