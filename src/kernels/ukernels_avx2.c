/* ukernels_avx2.c: AVX2 + FMA + F16C micro-kernels and epilogue of the fast
 * dot-product engine (compiled for that target, chosen at run time). */
#include <immintrin.h>

#include "kernels/ukernels.h"

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

/* Vector form of fsc_step16. */
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

AVX2 int64_t fsc_epi_f32_avx2(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage)
{
    __m256 b = _mm256_set1_ps(bias);
    int64_t q = 0;
    for (; q + 8 <= n; q += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(acc + q), b);
        if (storage == FSC_FMT_FP16) {
            v = _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        } else if (storage == FSC_FMT_BF16) {
            __m256i u = _mm256_castps_si256(v);
            __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
            u = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
            v = _mm256_castsi256_ps(_mm256_and_si256(u, _mm256_set1_epi32((int)0xffff0000u)));
        }
        _mm256_storeu_ps(y + q, v);
    }
    return q;
}

AVX2 int64_t fsc_epi_f64_avx2(const double *acc, double *y, int64_t n, double bias)
{
    __m256d b = _mm256_set1_pd(bias);
    int64_t q = 0;
    for (; q + 4 <= n; q += 4) _mm256_storeu_pd(y + q, _mm256_add_pd(_mm256_loadu_pd(acc + q), b));
    return q;
}

AVX2 int64_t fsc_epi_acc16_avx2(const float *acc, float *y, int64_t n, float bias)
{
    __m256 b = _mm256_set1_ps(bias);
    int64_t q = 0;
    for (; q + 8 <= n; q += 8) _mm256_storeu_ps(y + q, step16_avx2(_mm256_loadu_ps(acc + q), b));
    return q;
}
/* fsc_round_f32_avx512 for AVX2 (the tail element by element, as gemm_fast.c's scalar form). */
AVX2 void fsc_round_f32_avx2(float *v, int64_t n, fsc_format_id fmt)
{
    int drop = fmt == FSC_FMT_TF32 ? 13 : 16;
    uint32_t hs = (1u << (drop - 1)) - 1u, ks = ~((1u << drop) - 1u);
    __m256i half = _mm256_set1_epi32((int)hs), keep = _mm256_set1_epi32((int)ks);
    __m256i one = _mm256_set1_epi32(1), expo = _mm256_set1_epi32(0x7f800000);
    __m128i sh = _mm_cvtsi32_si128(drop);
    int64_t q = 0;
    for (; q + 8 <= n; q += 8) {
        __m256 x = _mm256_loadu_ps(v + q);
        if (fmt == FSC_FMT_FP16) {
            x = _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        } else {
            __m256i u = _mm256_castps_si256(x);
            __m256i special = _mm256_cmpeq_epi32(_mm256_and_si256(u, expo), expo);
            __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(half, _mm256_and_si256(_mm256_srl_epi32(u, sh), one)));
            x = _mm256_castsi256_ps(_mm256_blendv_epi8(_mm256_and_si256(r, keep), u, special));
        }
        _mm256_storeu_ps(v + q, x);
    }
    for (; q < n; q++) {
        if (fmt == FSC_FMT_FP16) {
            v[q] = _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtps_ph(_mm_set_ss(v[q]), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
            continue;
        }
        uint32_t u;
        memcpy(&u, &v[q], 4);
        if ((u & 0x7f800000u) != 0x7f800000u) u = (u + hs + ((u >> drop) & 1u)) & ks;
        memcpy(&v[q], &u, 4);
    }
}

const fsc_ukr fsc_uk_avx2[FSC_UK_COUNT] = {{6, 16, uk_f32_avx2}, {4, 16, uk_acc16_avx2}, {6, 8, uk_f64_avx2}};
