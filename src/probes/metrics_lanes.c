/* metrics_lanes.c: pass 1 of the localize metrics (metrics.c) over a block
 * of doubles: classification of special values, maxima, the tolerance
 * count, the ULP distance and the three compensated sums, in four lanes.
 * The AVX2 version is the portable one with four lanes per instruction:
 * the same operations on the same values, so the results are bit-identical
 * (tests/probes/test_localize.c compares them). */
#include "metrics_lanes.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "flipscope/format.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FSC_LANES_X86 1
#define AVX2 __attribute__((target("avx2")))
#endif

void fsc_mlanes_init(fsc_mlanes *s)
{
    memset(s, 0, sizeof *s);
    s->identical = true;
}

/* 2^k as a double, k in [-1022, 1023] (exact, from its bits). */
static double pow2(int k)
{
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Position of ax >= 0 (finite) on the ordered grid of non-negative values
 * of a format of precision p and minimum exponent emin: the same as
 * fsc_ulp_distance's, fractional off the grid. Below 2^emin (the format's
 * subnormals, and every subnormal double) the grid is linear. */
static double grid_pos(double ax, int p, int emin)
{
    uint64_t bits;
    memcpy(&bits, &ax, sizeof bits);
    int biased = (int)(bits >> 52);
    if (biased - 1023 < emin) return ax * pow2(p - 1 - emin); /* 0 included */
    uint64_t mbits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m2, base = pow2(p - 1);
    memcpy(&m2, &mbits, sizeof m2);
    return (double)(biased - 1022 - emin) * base + (m2 * base - base); /* (e - emin + 1) base + (m2 - 1) base */
}

/* Neumaier step of one lane. */
static inline void nadd(double *s, double *c, double x)
{
    double t = *s + x;
    double a = fabs(*s) >= fabs(x) ? (*s - t) + x : (x - t) + *s;
    *c += a;
    *s = t;
}

void fsc_mlanes_add_scalar(fsc_mlanes *s, const fsc_mlanes_cfg *c, const double *tb, const double *rb, int64_t len)
{
    for (int64_t i = 0; i < len; i++) {
        int l = (int)(i & 3);
        double tv = tb[i], rv = rb[i], x1 = 0, x2 = 0, x3 = 0;
        bool same = (tv == rv && signbit(tv) == signbit(rv)) || (isnan(tv) && isnan(rv));
        if (!same) s->identical = false;
        if (!isfinite(rv)) {
            bool same_special = isnan(rv) ? isnan(tv) : tv == rv;
            if (!same_special) {
                s->mismatched++;
                s->beyond++;
            }
        } else if (!isfinite(tv)) {
            s->nonfinite++;
            s->beyond++;
        } else {
            double d = fabs(tv - rv), ar = fabs(rv);
            if (ar > s->max_r) s->max_r = ar;
            if (d > s->max_d) s->max_d = d;
            if (d > c->atol + c->rtol * ar) s->beyond++;
            x1 = d;
            x2 = d * d;
            x3 = rv * rv;
            double u;
            if (c->ulp_mode == 1) {
                double it = grid_pos(fabs(tv), c->p, c->emin), ir = grid_pos(ar, c->p, c->emin);
                if (signbit(tv)) it = -it;
                if (signbit(rv)) ir = -ir;
                u = fabs(it - ir);
            } else if (c->ulp_mode == 2) {
                u = d == 0 ? 0 : fsc_ulp_distance(tv, rv, FSC_FMT_FP64);
            } else {
                u = d;
            }
            if (u > s->max_ulp) s->max_ulp = u;
        }
        nadd(&s->sa_s[l], &s->sa_c[l], x1);
        nadd(&s->sd_s[l], &s->sd_c[l], x2);
        nadd(&s->sr_s[l], &s->sr_c[l], x3);
    }
}

#ifdef FSC_LANES_X86
AVX2 static inline void nadd4(__m256d *s, __m256d *c, __m256d x)
{
    const __m256d abs = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    __m256d t = _mm256_add_pd(*s, x);
    __m256d big = _mm256_cmp_pd(_mm256_and_pd(*s, abs), _mm256_and_pd(x, abs), _CMP_GE_OQ);
    __m256d a1 = _mm256_add_pd(_mm256_sub_pd(*s, t), x), a2 = _mm256_add_pd(_mm256_sub_pd(x, t), *s);
    *c = _mm256_add_pd(*c, _mm256_blendv_pd(a2, a1, big));
    *s = t;
}

/* grid_pos of four finite non-negative doubles. */
AVX2 static inline __m256d grid_pos4(__m256d ax, int p, int emin)
{
    __m256i bits = _mm256_castpd_si256(ax);
    __m256i biased = _mm256_srli_epi64(bits, 52);
    __m256d lin = _mm256_mul_pd(ax, _mm256_set1_pd(pow2(p - 1 - emin)));
    /* (double)biased, exact for 0 <= biased < 2^52: the bits of 2^52 + biased, minus 2^52 */
    const __m256d two52 = _mm256_set1_pd(4503599627370496.0);
    __m256d bd = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(biased, _mm256_castpd_si256(two52))), two52);
    __m256d k = _mm256_sub_pd(bd, _mm256_set1_pd((double)(1022 + emin)));
    __m256d m2 = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi64x(0x000fffffffffffffLL)),
                                                     _mm256_set1_epi64x(0x3ff0000000000000LL)));
    __m256d base = _mm256_set1_pd(pow2(p - 1));
    __m256d nrm = _mm256_add_pd(_mm256_mul_pd(k, base), _mm256_sub_pd(_mm256_mul_pd(m2, base), base));
    __m256i below = _mm256_cmpgt_epi64(_mm256_set1_epi64x(1023 + emin), biased);
    return _mm256_blendv_pd(nrm, lin, _mm256_castsi256_pd(below));
}

AVX2 static void add_avx2(fsc_mlanes *s, const fsc_mlanes_cfg *c, const double *tb, const double *rb, int64_t len)
{
    const __m256d abs = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    const __m256d sign = _mm256_castsi256_pd(_mm256_set1_epi64x((long long)0x8000000000000000ULL));
    const __m256d dmax = _mm256_set1_pd(DBL_MAX), atol = _mm256_set1_pd(c->atol), rtol = _mm256_set1_pd(c->rtol);
    const __m256i zero = _mm256_setzero_si256();
    __m256d sa = _mm256_loadu_pd(s->sa_s), ca = _mm256_loadu_pd(s->sa_c);
    __m256d sd = _mm256_loadu_pd(s->sd_s), cd = _mm256_loadu_pd(s->sd_c);
    __m256d sr = _mm256_loadu_pd(s->sr_s), cr = _mm256_loadu_pd(s->sr_c);
    __m256d mr = _mm256_setzero_pd(), md = _mm256_setzero_pd(), mu = _mm256_setzero_pd();
    __m256i nbeyond = zero, nnonf = zero, nmism = zero;
    __m256d allsame = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    for (int64_t i = 0; i < len; i += 4) {
        __m256d tv = _mm256_loadu_pd(tb + i), rv = _mm256_loadu_pd(rb + i);
        __m256d at = _mm256_and_pd(tv, abs), ar = _mm256_and_pd(rv, abs);
        __m256d rfin = _mm256_cmp_pd(ar, dmax, _CMP_LE_OQ), tfin = _mm256_cmp_pd(at, dmax, _CMP_LE_OQ);
        __m256d rnan = _mm256_cmp_pd(rv, rv, _CMP_UNORD_Q), tnan = _mm256_cmp_pd(tv, tv, _CMP_UNORD_Q);
        __m256d eq = _mm256_cmp_pd(tv, rv, _CMP_EQ_OQ);
        __m256i sdiff = _mm256_castpd_si256(_mm256_and_pd(_mm256_xor_pd(tv, rv), sign));
        __m256d signeq = _mm256_castsi256_pd(_mm256_cmpeq_epi64(sdiff, zero));
        __m256d same = _mm256_or_pd(_mm256_and_pd(eq, signeq), _mm256_and_pd(tnan, rnan));
        allsame = _mm256_and_pd(allsame, same);
        __m256d spec_same = _mm256_blendv_pd(eq, tnan, rnan);
        __m256d mism = _mm256_andnot_pd(rfin, _mm256_andnot_pd(spec_same, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))));
        __m256d nonf = _mm256_andnot_pd(tfin, rfin);
        __m256d fin = _mm256_and_pd(rfin, tfin);
        __m256d d = _mm256_and_pd(_mm256_and_pd(_mm256_sub_pd(tv, rv), abs), fin);
        __m256d arf = _mm256_and_pd(ar, fin);
        mr = _mm256_max_pd(mr, arf);
        md = _mm256_max_pd(md, d);
        __m256d over = _mm256_and_pd(_mm256_cmp_pd(d, _mm256_add_pd(atol, _mm256_mul_pd(rtol, arf)), _CMP_GT_OQ), fin);
        nbeyond = _mm256_sub_epi64(nbeyond, _mm256_castpd_si256(_mm256_or_pd(over, _mm256_or_pd(mism, nonf))));
        nnonf = _mm256_sub_epi64(nnonf, _mm256_castpd_si256(nonf));
        nmism = _mm256_sub_epi64(nmism, _mm256_castpd_si256(mism));
        __m256d it = _mm256_xor_pd(grid_pos4(_mm256_and_pd(at, fin), c->p, c->emin), _mm256_and_pd(tv, sign));
        __m256d ir = _mm256_xor_pd(grid_pos4(arf, c->p, c->emin), _mm256_and_pd(rv, sign));
        mu = _mm256_max_pd(mu, _mm256_and_pd(_mm256_and_pd(_mm256_sub_pd(it, ir), abs), fin));
        __m256d rf = _mm256_and_pd(rv, fin);
        nadd4(&sa, &ca, d);
        nadd4(&sd, &cd, _mm256_mul_pd(d, d));
        nadd4(&sr, &cr, _mm256_mul_pd(rf, rf));
    }
    _mm256_storeu_pd(s->sa_s, sa);
    _mm256_storeu_pd(s->sa_c, ca);
    _mm256_storeu_pd(s->sd_s, sd);
    _mm256_storeu_pd(s->sd_c, cd);
    _mm256_storeu_pd(s->sr_s, sr);
    _mm256_storeu_pd(s->sr_c, cr);
    double v[4];
    int64_t k[4];
    _mm256_storeu_pd(v, mr);
    for (int l = 0; l < 4; l++)
        if (v[l] > s->max_r) s->max_r = v[l];
    _mm256_storeu_pd(v, md);
    for (int l = 0; l < 4; l++)
        if (v[l] > s->max_d) s->max_d = v[l];
    _mm256_storeu_pd(v, mu);
    for (int l = 0; l < 4; l++)
        if (v[l] > s->max_ulp) s->max_ulp = v[l];
    _mm256_storeu_si256((__m256i *)k, nbeyond);
    s->beyond += k[0] + k[1] + k[2] + k[3];
    _mm256_storeu_si256((__m256i *)k, nnonf);
    s->nonfinite += k[0] + k[1] + k[2] + k[3];
    _mm256_storeu_si256((__m256i *)k, nmism);
    s->mismatched += k[0] + k[1] + k[2] + k[3];
    if (_mm256_movemask_pd(allsame) != 0xf) s->identical = false;
}

static bool have_avx2(void) { return __builtin_cpu_supports("avx2"); }
#endif

void fsc_mlanes_add(fsc_mlanes *s, const fsc_mlanes_cfg *c, const double *tb, const double *rb, int64_t len)
{
#ifdef FSC_LANES_X86
    if (c->ulp_mode == 1 && have_avx2()) {
        add_avx2(s, c, tb, rb, len);
        return;
    }
#endif
    fsc_mlanes_add_scalar(s, c, tb, rb, len);
}

static void fold(const double *ls, const double *lc, double *out)
{
    double s = 0, c = 0;
    for (int l = 0; l < 4; l++) nadd(&s, &c, ls[l]);
    *out = s + (c + ((lc[0] + lc[1]) + (lc[2] + lc[3])));
}

void fsc_mlanes_sums(const fsc_mlanes *s, double *Sa, double *Sd, double *Sr)
{
    fold(s->sa_s, s->sa_c, Sa);
    fold(s->sd_s, s->sd_c, Sd);
    fold(s->sr_s, s->sr_c, Sr);
}
