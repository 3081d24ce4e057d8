/* ukernels_bfma_c.c: the portable block-FMA micro-kernel (the algorithm of
 * gemm_bfma.h lane by lane, with an int64 sum, so it takes every model the
 * engine accepts, late_c included), the exponent pass and the epilogue. */
#include <math.h>
#include <string.h>

#include "kernels/gemm_bfma.h"
#include "kernels/kutil.h"

#define MR 4
#define NR 8

static inline uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* R * 2^qe rounded to cfg->pout bits (binary32 exponent range) into *res;
 * nonzero when the result would be subnormal or overflow (left to the
 * scalar model). */
static int finish(int64_t R, int qe, const fsc_bfma_cfg *cfg, float *res)
{
    if (R == 0) {
        *res = 0.0f;
        return 0;
    }
    uint64_t mag = R < 0 ? (uint64_t)-R : (uint64_t)R;
    int L = 63 - __builtin_clzll(mag);
    if (L + qe < -126) return 1;
    int s = L + 1 - cfg->pout; /* bits below the result's last place */
    if (s > 0) {
        uint64_t q = mag >> s, rem = mag & ((UINT64_C(1) << s) - 1), half = UINT64_C(1) << (s - 1);
        if (!cfg->rz && (rem > half || (rem == half && (q & 1)))) q++;
        mag = q;
        qe += s;
    }
    double v = ldexp((double)mag, qe); /* exact: at most pout + 1 bits, normal */
    if (v >= 0x1p128) return 1;
    *res = (float)(R < 0 ? -v : v);
    return 0;
}

static int uk_bfma_c(const fsc_bfma_cfg *cfg, int64_t K, const float *w, const int16_t *ew, const float *x,
                     const int16_t *ex, int64_t ld, float *out)
{
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) {
            float acc = 0.0f; /* zero or normal, or finite with late_c */
            for (int64_t k0 = 0; k0 < K; k0 += cfg->block) {
                int64_t kb = K - k0 < cfg->block ? K - k0 : cfg->block;
                float c = cfg->late_c ? 0.0f : acc; /* the block's own accumulator input */
                int em = (int)((fbits(c) >> 23) & 0xffu); /* biased exponent of c, 0 for +-0 */
                for (int64_t k = k0; k < k0 + kb; k++) {
                    int e = ew[k * MR + i] + ex[k * ld + j];
                    if (e > em) em = e;
                }
                if (em == 0) { /* no nonzero term: the block's sum is +0 */
                    acc = cfg->late_c ? acc + 0.0f : 0.0f;
                    continue;
                }
                if (em < FSC_BFMA_EMAX_LO || em > FSC_BFMA_EMAX_HI + cfg->extra) return 1;
                float invq = bitsf((uint32_t)(277 + cfg->extra - em) << 23); /* 2^(23 + extra - emax) */
                int64_t S = 0;
                for (int64_t k = k0; k < k0 + kb; k++) {
                    float p = w[k * MR + i] * x[k * ld + j]; /* exact */
                    S += (int64_t)(p * invq);                /* exact scaling, truncated toward zero */
                }
                S += (int64_t)(c * invq);
                if (finish(S, em - 127 - 23 - cfg->extra, cfg, &c)) return 1;
                acc = cfg->late_c ? acc + c : c; /* late c: one binary32 (nearest-even) addition */
                if (!isfinite(acc)) return 1;
            }
            out[i * NR + j] = acc;
        }
    return 0;
}

static int exps_c(const float *x, int16_t *e, int64_t ld, int64_t rows, int64_t n, int emin, int bias, int *lo,
                  int *hi)
{
    int bad = 0, l = *lo, h = *hi;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t q = 0; q < n; q++) {
            uint32_t b = fbits(x[r * ld + q]) & 0x7fffffffu;
            int E = (int)(b >> 23) - 127;
            if (b == 0) {
                e[r * ld + q] = FSC_BFMA_ZERO_EXP;
                continue;
            }
            if (E == 128) bad = 1;
            int raw = E == -127 ? -150 : E; /* binary32 subnormal: below 2^-126 */
            if (raw < l) l = raw;
            if (raw > h) h = raw;
            e[r * ld + q] = (int16_t)((E < emin ? emin : E) + bias);
        }
    *lo = l;
    *hi = h;
    return bad;
}

static void epi_c(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage)
{
    for (int64_t q = 0; q < n; q++) y[q] = (float)fsc_kround((double)(acc[q] + bias), storage);
}

static bool takes_c(const fsc_bfma_cfg *cfg)
{
    (void)cfg;
    return true;
}

const fsc_bfma_ukr fsc_bfma_uk_portable = {MR, NR, uk_bfma_c, exps_c, epi_c, takes_c};
