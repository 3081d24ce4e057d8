/* ukernels_bfma_avx2.c: AVX2 block-FMA micro-kernel, exponent pass and
 * epilogue (compiled for that target, chosen at run time). The same steps as
 * ukernels_bfma_avx512.c on 8 lanes (two rows x 16 columns: the exponent
 * sums of 16 columns in one register of int16, the sums and scale factors
 * within the 16 registers); without embedded rounding control the
 * truncating conversion of the block sum clears the bits below its pout-th
 * significant bit first (the leading bit read from the exact conversion of
 * the sum with its low 8 bits cleared), and the nearest-even one relies on
 * the default MXCSR rounding, as the rest of the library does. */
#include <immintrin.h>

#include "kernels/gemm_bfma.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define MR 2
#define V 2
#define NR (8 * V)

/* r (int32) to binary32 rounded toward zero to pout bits: exact after clearing the low bits of |r|. */
AVX2 static inline __m256 cvt_rz(__m256i r, __m256i keep)
{
    __m256i a = _mm256_abs_epi32(r);
    /* |r| with its low 8 bits cleared has at most 23 significant bits: its conversion is exact */
    __m256i hb = _mm256_castps_si256(_mm256_cvtepi32_ps(_mm256_andnot_si256(_mm256_set1_epi32(0xff), a)));
    __m256i L = _mm256_sub_epi32(_mm256_srli_epi32(hb, 23), _mm256_set1_epi32(127)); /* leading bit (-127 below 256) */
    __m256i d = _mm256_max_epi32(_mm256_sub_epi32(L, keep), _mm256_setzero_si256());
    a = _mm256_and_si256(a, _mm256_sllv_epi32(_mm256_set1_epi32(-1), d));
    __m256 f = _mm256_cvtepi32_ps(a);
    return _mm256_castsi256_ps(_mm256_or_si256(_mm256_castps_si256(f), _mm256_and_si256(r, _mm256_set1_epi32(INT32_MIN))));
}

AVX2 static int uk_bfma_avx2(const fsc_bfma_cfg *cfg, int64_t K, const float *w, const int16_t *ew, const float *x,
                             const int16_t *ex, int64_t ld, float *out)
{
    const __m256i lo = _mm256_set1_epi32(FSC_BFMA_EMAX_LO), hi = _mm256_set1_epi32(FSC_BFMA_EMAX_HI + cfg->extra);
    const __m256i ibias = _mm256_set1_epi32(277 + cfg->extra), qbias = _mm256_set1_epi32(23 + cfg->extra);
    const __m256i ff = _mm256_set1_epi32(0xff), zero = _mm256_setzero_si256();
    const __m256i keep = _mm256_set1_epi32(cfg->pout - 1);
    const bool rz = cfg->rz;
    __m256 c[MR][V], invq[MR][V];
    __m256i s[MR][V], em[MR][V];
    __m256i q16[MR];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < V; v++) c[i][v] = _mm256_setzero_ps();
    for (int64_t k0 = 0; k0 < K; k0 += cfg->block) {
        int64_t k1 = K - k0 < cfg->block ? K : k0 + cfg->block;
        __m256i bail = zero;
        for (int i = 0; i < MR; i++) q16[i] = _mm256_set1_epi16(INT16_MIN);
        for (int64_t k = k0; k < k1; k++) {
            __m256i e = _mm256_loadu_si256((const __m256i *)(ex + k * ld)); /* 16 columns of int16 */
            for (int i = 0; i < MR; i++)
                q16[i] = _mm256_max_epi16(q16[i], _mm256_add_epi16(_mm256_set1_epi16(ew[k * MR + i]), e));
        }
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < V; v++) {
                __m256i ec = _mm256_and_si256(_mm256_srli_epi32(_mm256_castps_si256(c[i][v]), 23), ff);
                __m128i qh = v == 0 ? _mm256_castsi256_si128(q16[i]) : _mm256_extracti128_si256(q16[i], 1);
                __m256i e = _mm256_max_epi32(_mm256_cvtepi16_epi32(qh), ec); /* 0: no nonzero term */
                __m256i out_of_range = _mm256_or_si256(_mm256_cmpgt_epi32(lo, e), _mm256_cmpgt_epi32(e, hi));
                bail = _mm256_or_si256(bail, _mm256_andnot_si256(_mm256_cmpeq_epi32(e, zero), out_of_range));
                e = _mm256_max_epi32(e, lo);
                em[i][v] = e;
                invq[i][v] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(ibias, e), 23));
                s[i][v] = zero;
            }
        for (int64_t k = k0; k < k1; k++) {
            __m256 xv[V];
            for (int v = 0; v < V; v++) xv[v] = _mm256_loadu_ps(x + k * ld + 8 * v);
            for (int i = 0; i < MR; i++) {
                __m256 wv = _mm256_set1_ps(w[k * MR + i]);
                for (int v = 0; v < V; v++)
                    s[i][v] = _mm256_add_epi32(s[i][v], _mm256_cvttps_epi32(_mm256_mul_ps(_mm256_mul_ps(wv, xv[v]), invq[i][v])));
            }
        }
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < V; v++) {
                __m256i tc = _mm256_cvttps_epi32(_mm256_mul_ps(c[i][v], invq[i][v]));
                __m256i r = _mm256_add_epi32(s[i][v], tc);
                /* signed overflow of s + tc: both operands' signs differ from the result's (sign bit) */
                bail = _mm256_or_si256(bail, _mm256_and_si256(_mm256_xor_si256(s[i][v], r), _mm256_xor_si256(tc, r)));
                __m256 f = rz ? cvt_rz(r, keep) : _mm256_cvtepi32_ps(r);
                __m256 q = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(em[i][v], qbias), 23));
                c[i][v] = _mm256_mul_ps(f, q);
            }
        /* the overflow test leaves its verdict in the sign bit, the others in whole lanes */
        if (_mm256_movemask_ps(_mm256_castsi256_ps(bail))) return 1;
    }
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < V; v++) _mm256_storeu_ps(out + i * NR + 8 * v, c[i][v]);
    return 0;
}

AVX2 static int exps_avx2(const float *x, int16_t *e, int64_t ld, int64_t rows, int64_t n, int emin, int bias,
                          int *lo, int *hi)
{
    const __m256i absm = _mm256_set1_epi32(0x7fffffff), b127 = _mm256_set1_epi32(127), zero = _mm256_setzero_si256();
    const __m256i zexp = _mm256_set1_epi32(FSC_BFMA_ZERO_EXP), vemin = _mm256_set1_epi32(emin);
    const __m256i vbias = _mm256_set1_epi32(bias);
    const __m256i e128 = _mm256_set1_epi32(128), sub_e = _mm256_set1_epi32(-127), sub_raw = _mm256_set1_epi32(-150);
    __m256i vlo = _mm256_set1_epi32(*lo), vhi = _mm256_set1_epi32(*hi), bad = zero;
    int r8 = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t q = 0;
        for (; q + 8 <= n; q += 8) {
            __m256i b = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(x + r * ld + q)), absm);
            __m256i z = _mm256_cmpeq_epi32(b, zero);
            __m256i E = _mm256_sub_epi32(_mm256_srli_epi32(b, 23), b127);
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(E, e128));
            __m256i raw = _mm256_blendv_epi8(E, sub_raw, _mm256_cmpeq_epi32(E, sub_e));
            vlo = _mm256_min_epi32(vlo, _mm256_blendv_epi8(raw, vlo, z));
            vhi = _mm256_max_epi32(vhi, _mm256_blendv_epi8(raw, vhi, z));
            __m256i ev = _mm256_blendv_epi8(_mm256_add_epi32(_mm256_max_epi32(E, vemin), vbias), zexp, z);
            __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(ev), _mm256_extracti128_si256(ev, 1));
            _mm_storeu_si128((__m128i *)(e + r * ld + q), p16);
        }
        if (q < n) r8 |= fsc_bfma_uk_portable.exps(x + r * ld + q, e + r * ld + q, ld, 1, n - q, emin, bias, lo, hi);
    }
    int32_t l[8], h[8];
    _mm256_storeu_si256((__m256i *)l, vlo);
    _mm256_storeu_si256((__m256i *)h, vhi);
    for (int i = 0; i < 8; i++) {
        if (l[i] < *lo) *lo = l[i];
        if (h[i] > *hi) *hi = h[i];
    }
    return r8 | !_mm256_testz_si256(bad, bad);
}

AVX2 static void epi_avx2(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage)
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
            __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
            r = _mm256_and_si256(r, _mm256_set1_epi32((int)0xffff0000u));
            v = _mm256_blendv_ps(_mm256_castsi256_ps(r), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        }
        _mm256_storeu_ps(y + q, v);
    }
    if (q < n) fsc_bfma_uk_portable.epi(acc + q, y + q, n - q, bias, storage);
}

static bool takes_avx2(const fsc_bfma_cfg *cfg)
{
    /* int32 sums of a block's terms (each below 2^(25 + extra)); narrower
     * outputs only toward zero; late_c is the portable kernel's */
    return (int64_t)cfg->block << (25 + cfg->extra) <= (INT64_C(1) << 31) && (cfg->pout == 24 || cfg->rz) &&
           !cfg->late_c;
}

const fsc_bfma_ukr fsc_bfma_uk_avx2 = {MR, NR, uk_bfma_avx2, exps_avx2, epi_avx2, takes_avx2};
