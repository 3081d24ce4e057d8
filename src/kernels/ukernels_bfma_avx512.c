/* ukernels_bfma_avx512.c: AVX-512 (F, BW) block-FMA micro-kernel, exponent pass and
 * epilogue (compiled for that target, chosen at run time; see gemm_bfma.h
 * for the algorithm). Four rows x 32 columns; per block:
 *  1. the largest exponent sum maxpe per lane (int16 add and max, 32 lanes);
 *  2. the grid: emax = max(maxpe, Ec), 1/q = 2^(23 + extra - emax) built
 *     from bits (c is +0 or normal: its exponent field is Ec biased, 0 for +0);
 *  3. each exact product w*x (binary32) times 1/q, converted with
 *     truncation (the truncation toward zero of the term to the grid), the
 *     int32 sum (below 2^31: at most 2^(6 - extra) terms under 2^(25 + extra));
 *  4. c truncated alike and added (signed overflow declines), the sum
 *     converted to binary32 with the block's rounding (embedded rounding
 *     control; 24 - pout low bits cleared for narrower outputs, toward zero
 *     only), times q (exact: emax's range keeps the result normal). */
#include <immintrin.h>

#include "kernels/gemm_bfma.h"

#define AVX512 __attribute__((target("avx512f,avx512bw")))
#define MR 4
#define V 2
#define NR (16 * V)

AVX512 static inline __m512 cvt_round(__m512i r, bool rz)
{
    return rz ? _mm512_cvt_roundepi32_ps(r, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC)
              : _mm512_cvt_roundepi32_ps(r, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

AVX512 static int uk_bfma_avx512(const fsc_bfma_cfg *cfg, int64_t K, const float *w, const int16_t *ew,
                                 const float *x, const int16_t *ex, int64_t ld, float *out)
{
    const __m512i lo = _mm512_set1_epi32(FSC_BFMA_EMAX_LO), span = _mm512_set1_epi32(FSC_BFMA_EMAX_HI + cfg->extra - FSC_BFMA_EMAX_LO);
    const __m512i ibias = _mm512_set1_epi32(277 + cfg->extra), qbias = _mm512_set1_epi32(23 + cfg->extra);
    const __m512i ff = _mm512_set1_epi32(0xff), zero = _mm512_setzero_si512(), none = _mm512_set1_epi16(INT16_MIN);
    const __m512i pmask = _mm512_set1_epi32((int)(~((1u << (24 - cfg->pout)) - 1u)));
    const bool rz = cfg->rz, narrow = cfg->pout < 24;
    __m512 c[MR][V], invq[MR][V];
    __m512i s[MR][V], em[MR][V], q16[MR];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < V; v++) c[i][v] = _mm512_setzero_ps();
    for (int64_t k0 = 0; k0 < K; k0 += cfg->block) {
        int64_t k1 = K - k0 < cfg->block ? K : k0 + cfg->block;
        __mmask16 bail = 0;
        /* 1: the largest exponent sum, 32 columns of int16 at a time */
        for (int i = 0; i < MR; i++) q16[i] = none;
        for (int64_t k = k0; k < k1; k++) {
            __m512i e = _mm512_loadu_si512(ex + k * ld);
            for (int i = 0; i < MR; i++)
                q16[i] = _mm512_max_epi16(q16[i], _mm512_add_epi16(_mm512_set1_epi16(ew[k * MR + i]), e));
        }
        /* 2: emax with c's exponent (c is +0 or normal), the checks, 1/q */
        for (int i = 0; i < MR; i++) {
            __m512i qs[V] = {_mm512_cvtepi16_epi32(_mm512_castsi512_si256(q16[i])),
                             _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(q16[i], 1))};
            for (int v = 0; v < V; v++) {
                __m512i ec = _mm512_and_si512(_mm512_srli_epi32(_mm512_castps_si512(c[i][v]), 23), ff);
                __m512i e = _mm512_max_epi32(qs[v], ec); /* 0: no nonzero term */
                bail |= _mm512_mask_cmpgt_epu32_mask(_mm512_test_epi32_mask(e, e), _mm512_sub_epi32(e, lo), span);
                e = _mm512_max_epi32(e, lo);
                em[i][v] = e;
                invq[i][v] = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(ibias, e), 23));
                s[i][v] = zero;
            }
        }
        /* 3: the truncated terms' int32 sum */
        for (int64_t k = k0; k < k1; k++) {
            __m512 x0 = _mm512_loadu_ps(x + k * ld), x1 = _mm512_loadu_ps(x + k * ld + 16);
            for (int i = 0; i < MR; i++) {
                __m512 wv = _mm512_set1_ps(w[k * MR + i]);
                s[i][0] = _mm512_add_epi32(s[i][0], _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_mul_ps(wv, x0), invq[i][0])));
                s[i][1] = _mm512_add_epi32(s[i][1], _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_mul_ps(wv, x1), invq[i][1])));
            }
        }
        /* 4: c's term, one rounding, back to scale */
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < V; v++) {
                __m512i tc = _mm512_cvttps_epi32(_mm512_mul_ps(c[i][v], invq[i][v]));
                __m512i r = _mm512_add_epi32(s[i][v], tc);
                /* signed overflow of s + tc: both operands' signs differ from the result's */
                bail |= _mm512_cmplt_epi32_mask(_mm512_ternarylogic_epi32(s[i][v], tc, r, 0x42), zero);
                __m512 f = cvt_round(r, rz);
                if (narrow) f = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(f), pmask));
                __m512 q = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(em[i][v], qbias), 23));
                c[i][v] = _mm512_mul_ps(f, q);
            }
        if (bail) return 1;
    }
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < V; v++) _mm512_storeu_ps(out + i * NR + 16 * v, c[i][v]);
    return 0;
}

AVX512 static int exps_avx512(const float *x, int16_t *e, int64_t ld, int64_t rows, int64_t n, int emin, int bias,
                              int *lo, int *hi)
{
    const __m512i absm = _mm512_set1_epi32(0x7fffffff), b127 = _mm512_set1_epi32(127);
    const __m512i zexp = _mm512_set1_epi32(FSC_BFMA_ZERO_EXP), vemin = _mm512_set1_epi32(emin);
    const __m512i vbias = _mm512_set1_epi32(bias);
    const __m512i e128 = _mm512_set1_epi32(128), sub_e = _mm512_set1_epi32(-127), sub_raw = _mm512_set1_epi32(-150);
    __m512i vlo = _mm512_set1_epi32(*lo), vhi = _mm512_set1_epi32(*hi);
    __mmask16 bad = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t q = 0; q < n; q += 16) {
            __mmask16 m = n - q >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - q)) - 1u);
            __m512i b = _mm512_and_si512(_mm512_maskz_loadu_epi32(m, x + r * ld + q), absm);
            __mmask16 nz = _mm512_test_epi32_mask(b, b);
            __m512i E = _mm512_sub_epi32(_mm512_srli_epi32(b, 23), b127);
            bad |= _mm512_mask_cmpeq_epi32_mask(nz, E, e128);
            __m512i raw = _mm512_mask_mov_epi32(E, _mm512_cmpeq_epi32_mask(E, sub_e), sub_raw);
            vlo = _mm512_mask_min_epi32(vlo, nz, vlo, raw);
            vhi = _mm512_mask_max_epi32(vhi, nz, vhi, raw);
            __m512i ev = _mm512_mask_mov_epi32(zexp, nz, _mm512_add_epi32(_mm512_max_epi32(E, vemin), vbias));
            _mm512_mask_cvtepi32_storeu_epi16(e + r * ld + q, m, ev);
        }
    *lo = _mm512_reduce_min_epi32(vlo);
    *hi = _mm512_reduce_max_epi32(vhi);
    return bad != 0;
}

/* y = round_storage(acc + bias): F16C-style conversion is the nearest-even
 * rounding of binary32 to fp16; bf16 keeps binary32's high half rounded to
 * nearest-even on the bits (carries give the right overflow), NaNs kept as they are. */
AVX512 static void epi_avx512(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage)
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
            __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
            r = _mm512_and_si512(r, _mm512_set1_epi32((int)0xffff0000u));
            v = _mm512_mask_mov_ps(_mm512_castsi512_ps(r), _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
        }
        _mm512_mask_storeu_ps(y + q, m, v);
    }
}

static bool takes_avx512(const fsc_bfma_cfg *cfg)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512bw")) return false;
    /* int32 sums of a block's terms (each below 2^(25 + extra)); narrower
     * outputs only toward zero (clearing bits after a truncating conversion);
     * late_c (Blackwell FP8, blocks of 32) is the portable kernel's */
    return (int64_t)cfg->block << (25 + cfg->extra) <= (INT64_C(1) << 31) && (cfg->pout == 24 || cfg->rz) &&
           !cfg->late_c;
}

const fsc_bfma_ukr fsc_bfma_uk_avx512 = {MR, NR, uk_bfma_avx512, exps_avx512, epi_avx512, takes_avx512};
