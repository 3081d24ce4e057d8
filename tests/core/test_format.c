/* test_format.c: fsc_round, fsc_round_exact2 and fsc_ulp_distance against an
 * MPFR oracle written independently of src/core/format.c.
 *
 * Semantics checked (the contract of format.h):
 *   - Rounding is one rounding of the exact value to precision p, with the
 *     format's subnormal spacing 2^(emin-p+1) below 2^emin when subnormals
 *     are on. With subnormals off, the value is rounded to p bits as if the
 *     exponent range were unbounded below, and a result under 2^emin is then
 *     flushed to zero of the input's sign ("flush after rounding").
 *   - Overflow is decided after rounding (IEEE 754): the result rounded with
 *     an unbounded exponent range exceeds max_finite. It then gives
 *       toward-zero: +-max_finite (IEEE: never an infinity);
 *       saturate on: +-max_finite;
 *       otherwise: +-Inf, or NaN for E4M3FN (no infinity in OCP E4M3).
 *     So under nearest-even fp16 overflows from 65520 = 65504 + ulp/2 up
 *     (the tie goes to the even 2^16), E4M3 from 464 = 448 + 16 (ties to 480
 *     lose to the even 448; anything above 464 gives NaN), E5M2 from 61440.
 *   - OCP FP8 maxima: E4M3FN 448 (S.1111.111 is NaN, S.1111.110 = 1.75*2^8),
 *     E5M2 57344 = 1.75*2^15 (IEEE-like, with infinities).
 *   - NaN stays NaN; an infinite input stays infinite, except E4M3FN, which
 *     gives NaN or, when saturating, +-448. The sign of zero is kept, and an
 *     underflow to zero keeps the sign of the input.
 * Nearest-away is not a usable MPFR rounding mode in MPFR 4 for plain
 * functions (MPFR_RNDNA is reserved), so the oracle builds it from toward-zero
 * and away-from-zero roundings and an exact comparison with their midpoint.
 * Subnormal rounding is explicit: mpfr_prec_round at the precision left to
 * the value in the subnormal binades.
 *
 * Counts: FSC_TEST_QUICK=1 uses 10^5 random doubles per format, otherwise 10^6;
 * each double is checked under all 3 modes x subnormals on/off x saturate on/off. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mpfr.h>

#include "flipscope/format.h"

/* The formats as the test knows them, from IEEE 754 and the OCP FP8 spec
 * (not read from the library). */
typedef struct tfmt {
    fsc_format_id id;
    int p, emin, emax;
    int has_inf;
    double max;
} tfmt;

static const tfmt tfmts[] = {
    {FSC_FMT_FP64, 53, -1022, 1023, 1, DBL_MAX},
    {FSC_FMT_FP32, 24, -126, 127, 1, 0x1.fffffep127},
    {FSC_FMT_TF32, 11, -126, 127, 1, 0x1.ffcp127},
    {FSC_FMT_BF16, 8, -126, 127, 1, 0x1.fep127},
    {FSC_FMT_FP16, 11, -14, 15, 1, 65504.0},
    {FSC_FMT_E4M3, 4, -6, 8, 0, 448.0},
    {FSC_FMT_E5M2, 3, -14, 15, 1, 57344.0},
};
#define NFMT ((int)(sizeof tfmts / sizeof tfmts[0]))

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static long n_random_per_format(void)
{
    const char *q = getenv("FSC_TEST_QUICK");
    return (q && *q && strcmp(q, "0") != 0) ? 100000 : 1000000;
}

/* ---------------------------------------------------------------- oracle */

/* Rounds the exact value v (finite, nonzero) to f's precision with MPFR
 * rounding rnd (Z, A or N). With sub, a value under 2^emin keeps only the
 * bits at or above the subnormal quantum 2^(emin-p+1): its precision shrinks
 * by one per binade below emin; with no bit left the result is 0 or the
 * smallest subnormal. Without sub, p bits at any exponent. */
static void mp_round_basic(mpfr_t r, mpfr_srcptr v, const tfmt *f, int sub, mpfr_rnd_t rnd)
{
    long E = (long)mpfr_get_exp(v) - 1; /* v = 1.xxx * 2^E */
    long prec = f->p;
    if (sub && E < f->emin) prec = f->p - (f->emin - E);
    if (prec >= 1) {
        mpfr_t t;
        mpfr_init2(t, mpfr_get_prec(v));
        mpfr_set(t, v, MPFR_RNDN); /* exact copy */
        mpfr_prec_round(t, (mpfr_prec_t)prec, rnd);
        mpfr_set_prec(r, f->p);
        mpfr_set(r, t, MPFR_RNDN); /* exact: prec <= p */
        mpfr_clear(t);
        return;
    }
    /* |v| < smallest subnormal s = 2^(emin-p+1); prec == 0 means |v| >= s/2. */
    mpfr_set_prec(r, f->p);
    int up;
    if (rnd == MPFR_RNDZ) up = 0;
    else if (rnd == MPFR_RNDA) up = 1;
    else if (prec < 0) up = 0;
    else { /* s/2 <= |v| < s: a tie at exactly s/2 goes to the even 0 */
        mpfr_t h;
        mpfr_init2(h, 2);
        mpfr_set_ui_2exp(h, 1, f->emin - f->p, MPFR_RNDN);
        up = mpfr_cmpabs(v, h) > 0;
        mpfr_clear(h);
    }
    if (up) mpfr_set_ui_2exp(r, 1, f->emin - f->p + 1, MPFR_RNDN);
    else mpfr_set_zero(r, 1);
    if (mpfr_signbit(v)) mpfr_neg(r, r, MPFR_RNDN);
}

/* The oracle: v (exact, finite or not) rounded to f under (mode, sub, sat). */
static double oracle(mpfr_srcptr v, const tfmt *f, fsc_rounding mode, int sub, int sat)
{
    if (mpfr_nan_p(v)) return NAN;
    int neg = mpfr_signbit(v);
    double sgn = neg ? -1.0 : 1.0;
    if (mpfr_inf_p(v)) {
        if (f->has_inf) return sgn * INFINITY;
        return sat ? sgn * f->max : NAN;
    }
    if (mpfr_zero_p(v)) return sgn * 0.0;

    mpfr_t r, a, mid;
    mpfr_inits2(f->p, r, a, (mpfr_ptr)0);
    mpfr_init2(mid, f->p + 2);
    if (mode == FSC_RND_NEAREST_EVEN) {
        mp_round_basic(r, v, f, sub, MPFR_RNDN);
    } else if (mode == FSC_RND_TOWARD_ZERO) {
        mp_round_basic(r, v, f, sub, MPFR_RNDZ);
    } else {
        mp_round_basic(r, v, f, sub, MPFR_RNDZ);
        mp_round_basic(a, v, f, sub, MPFR_RNDA);
        if (!mpfr_equal_p(r, a)) {
            mpfr_add(mid, r, a, MPFR_RNDN); /* exact at p+2 bits */
            mpfr_div_2ui(mid, mid, 1, MPFR_RNDN);
            if (mpfr_cmpabs(v, mid) >= 0) mpfr_set(r, a, MPFR_RNDN);
        }
    }
    double res = mpfr_get_d(r, MPFR_RNDN); /* exact: r has <= 53 bits in double range */
    if (mpfr_inf_p(r) || fabs(res) > f->max) { /* overflow, decided after rounding */
        if (mode == FSC_RND_TOWARD_ZERO || sat) res = sgn * f->max;
        else res = f->has_inf ? sgn * INFINITY : NAN;
    } else if (!sub && fabs(res) < ldexp(1.0, f->emin)) {
        res = sgn * 0.0;
    } else if (res == 0.0) {
        res = sgn * 0.0;
    }
    mpfr_clears(r, a, mid, (mpfr_ptr)0);
    return res;
}

static int same(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static const char *mode_name(fsc_rounding m)
{
    return m == FSC_RND_NEAREST_EVEN ? "RNE" : m == FSC_RND_TOWARD_ZERO ? "RZ" : "RNA";
}

/* Checks x under all 12 option combinations; returns the number of checks.
 * Fails the test with the first disagreement. */
static long check_all(double x, const tfmt *f)
{
    mpfr_t v;
    mpfr_init2(v, 53);
    mpfr_set_d(v, x, MPFR_RNDN);
    long n = 0;
    for (int m = 0; m < 3; m++)
        for (int sub = 0; sub < 2; sub++)
            for (int sat = 0; sat < 2; sat++) {
                fsc_round_opts o = {(fsc_rounding)m, sub != 0, sat != 0};
                double want = oracle(v, f, (fsc_rounding)m, sub, sat);
                double got = fsc_round(x, f->id, o);
                if (!same(want, got)) {
                    mpfr_clear(v);
                    fail_msg("fsc_round(%a, %s, %s, sub=%d, sat=%d) = %a, MPFR says %a", x,
                             fsc_format_get(f->id)->name, mode_name((fsc_rounding)m), sub, sat, got, want);
                }
                n++;
            }
    mpfr_clear(v);
    return n;
}

/* ---------------------------------------------------------------- inputs */

static double rand_sign(double x) { return (rnd64() & 1) ? -x : x; }

/* A random value of f's grid (normal or subnormal at spacing 2^(emin-p+1)),
 * or, when full_small, with p bits at an exponent below emin (the grid of the
 * flush-after-rounding mode). */
static double rand_grid_value(const tfmt *f, int *qexp, int full_small)
{
    int span = f->emax - f->emin + 1 + f->p + 2;
    int e = f->emin - f->p - 1 + (int)(rnd64() % (uint64_t)span);
    if (e > f->emax) e = f->emax;
    int qe = (e < f->emin && !full_small ? f->emin : e) - (f->p - 1);
    uint64_t m = rnd64() >> (64 - f->p); /* p random bits */
    if (e >= f->emin || full_small) m |= 1ull << (f->p - 1);
    *qexp = qe;
    return ldexp((double)m, qe);
}

/* One random double aimed at f: across the whole range, ties, near-ties,
 * the overflow threshold and the subnormal boundary. */
static double rand_input(const tfmt *f)
{
    uint64_t kind = rnd64() % 16;
    if (kind < 6) { /* uniform exponent over the format's range and beyond */
        int lo = f->emin - f->p - 4, hi = f->emax + 4;
        if (lo < -1074) lo = -1074;
        if (hi > 1023) hi = 1023;
        int e = lo + (int)(rnd64() % (uint64_t)(hi - lo + 1));
        double m = 1.0 + (double)(rnd64() >> 12) * 0x1p-52;
        return rand_sign(ldexp(m, e));
    }
    if (kind < 10 && f->p < 53) { /* exact ties and their neighbours */
        int qe;
        double g = rand_grid_value(f, &qe, kind >= 8);
        double t = g + ldexp(1.0, qe - 1);
        uint64_t w = rnd64() % 3;
        if (w == 1) t = nextafter(t, 0.0);
        if (w == 2) t = nextafter(t, INFINITY);
        return rand_sign(t);
    }
    if (kind == 10) { /* any bit pattern (NaNs and infinities included) */
        uint64_t b = rnd64();
        double d;
        memcpy(&d, &b, sizeof d);
        return d;
    }
    if (kind == 11) { /* around the overflow threshold */
        double q = ldexp(1.0, f->emax - f->p + 1);
        double t = f->max + q * (double)((int)(rnd64() % 9) - 4) * 0.25;
        uint64_t w = rnd64() % 3;
        if (w == 1) t = nextafter(t, 0.0);
        if (w == 2) t = nextafter(t, INFINITY);
        return rand_sign(t);
    }
    if (kind == 12) { /* around the smallest normal and smallest subnormal */
        double base = (rnd64() & 1) ? ldexp(1.0, f->emin) : ldexp(1.0, f->emin - f->p + 1);
        double t = base * (double)(rnd64() % 17) * 0.125;
        uint64_t w = rnd64() % 3;
        if (w == 1) t = nextafter(t, 0.0);
        if (w == 2) t = nextafter(t, INFINITY);
        return rand_sign(t);
    }
    /* doubles of every magnitude: exponent uniform over the double range */
    int e = -1074 + (int)(rnd64() % 2098);
    double m = 1.0 + (double)(rnd64() >> 12) * 0x1p-52;
    double d = ldexp(m, e);
    if (isinf(d)) d = DBL_MAX;
    return rand_sign(d);
}

/* ---------------------------------------------------------------- tests */

static void test_round_random(void **state)
{
    (void)state;
    long per = n_random_per_format();
    long total = 0;
    for (int i = 0; i < NFMT; i++) {
        long checks = 0;
        for (long k = 0; k < per; k++) checks += check_all(rand_input(&tfmts[i]), &tfmts[i]);
        printf("fsc_round %-5s: %ld random doubles, %ld checks against MPFR\n", fsc_format_get(tfmts[i].id)->name,
               per, checks);
        total += checks;
    }
    printf("fsc_round: %ld checks in all\n", total);
}

/* Hand-picked edges per format, each under all 12 option combinations. */
static void test_round_edges(void **state)
{
    (void)state;
    long n = 0;
    for (int i = 0; i < NFMT; i++) {
        const tfmt *f = &tfmts[i];
        double maxq = ldexp(1.0, f->emax - f->p + 1);   /* spacing at the top */
        double minn = ldexp(1.0, f->emin);              /* smallest normal */
        double mins = ldexp(1.0, f->emin - f->p + 1);   /* smallest subnormal */
        double xs[] = {0.0, -0.0, NAN, -NAN, INFINITY, -INFINITY, 1.0, -1.0,
                       1.0 + ldexp(1.0, -f->p), /* tie between 1 and its successor: to 1 (even) */
                       1.0 + 3 * ldexp(1.0, -f->p), /* tie: to 1 + 2ulp (even) */
                       nextafter(1.0 + ldexp(1.0, -f->p), 0.0), nextafter(1.0 + ldexp(1.0, -f->p), 2.0),
                       f->max, nextafter(f->max, INFINITY), f->max + maxq / 2, nextafter(f->max + maxq / 2, 0.0),
                       nextafter(f->max + maxq / 2, INFINITY), f->max + maxq, f->max * 2, DBL_MAX, -DBL_MAX,
                       minn, nextafter(minn, 0.0), minn - mins / 2, minn - mins, mins, mins / 2,
                       nextafter(mins / 2, 0.0), nextafter(mins / 2, 1.0), mins * 1.5, mins * 2.5, mins / 4,
                       -mins / 4, -mins / 2, 0x1p-1074, -0x1p-1074, DBL_MIN, 3.0 * mins / 4};
        for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
            n += check_all(xs[k], f);
            n += check_all(-xs[k], f);
        }
    }
    printf("fsc_round edges: %ld checks\n", n);

    /* A few facts stated by hand, independent of the oracle. */
    fsc_round_opts rne = {FSC_RND_NEAREST_EVEN, true, false}, sat = {FSC_RND_NEAREST_EVEN, true, true};
    fsc_round_opts rz = {FSC_RND_TOWARD_ZERO, true, false}, rna = {FSC_RND_NEAREST_AWAY, true, false};
    assert_true(isnan(fsc_round(465.0, FSC_FMT_E4M3, rne)));
    assert_true(fsc_round(464.0, FSC_FMT_E4M3, rne) == 448.0);
    assert_true(isnan(fsc_round(464.0, FSC_FMT_E4M3, rna)));
    assert_true(fsc_round(1e9, FSC_FMT_E4M3, sat) == 448.0);
    assert_true(fsc_round(-INFINITY, FSC_FMT_E4M3, sat) == -448.0);
    assert_true(fsc_round(1e9, FSC_FMT_E5M2, rz) == 57344.0);
    assert_true(isinf(fsc_round(61440.0, FSC_FMT_E5M2, rne)));
    assert_true(fsc_round(61439.0, FSC_FMT_E5M2, rne) == 57344.0);
    assert_true(isinf(fsc_round(65520.0, FSC_FMT_FP16, rne)));
    assert_true(fsc_round(65519.99, FSC_FMT_FP16, rne) == 65504.0);
    assert_true(fsc_round(0x1p-25, FSC_FMT_FP16, rne) == 0.0);          /* half the smallest subnormal */
    assert_true(fsc_round(0x1p-25, FSC_FMT_FP16, rna) == 0x1p-24);
    assert_true(fsc_round(0x1.8p-24, FSC_FMT_FP16, rne) == 0x1p-23);    /* 1.5 * min: tie to even 2 */
    assert_true(signbit(fsc_round(-0x1p-26, FSC_FMT_FP16, rne)));
    assert_true(fsc_round(0x1p-9, FSC_FMT_E4M3, rne) == 0x1p-9);        /* E4M3 smallest subnormal */
    assert_true(fsc_round(0x1p-16, FSC_FMT_E5M2, rne) == 0x1p-16);      /* E5M2 smallest subnormal */
    assert_true(fsc_round(0x1p-17, FSC_FMT_E5M2, rne) == 0.0);          /* its half: tie to even 0 */
}

/* fsc_round_exact2: hi + lo formed exactly by MPFR at 200 bits, then rounded
 * by the oracle. */
static long check_exact2(double hi, double lo, const tfmt *f)
{
    mpfr_t v;
    mpfr_init2(v, 200);
    mpfr_set_d(v, hi, MPFR_RNDN);
    mpfr_add_d(v, v, lo, MPFR_RNDN); /* exact at 200 bits for these inputs */
    long n = 0;
    for (int m = 0; m < 3; m++)
        for (int sub = 0; sub < 2; sub++)
            for (int sat = 0; sat < 2; sat++) {
                fsc_round_opts o = {(fsc_rounding)m, sub != 0, sat != 0};
                double want = oracle(v, f, (fsc_rounding)m, sub, sat);
                double got = fsc_round_exact2(hi, lo, f->id, o);
                if (!same(want, got)) {
                    mpfr_clear(v);
                    fail_msg("fsc_round_exact2(%a, %a, %s, %s, sub=%d, sat=%d) = %a, MPFR says %a", hi, lo,
                             fsc_format_get(f->id)->name, mode_name((fsc_rounding)m), sub, sat, got, want);
                }
                n++;
            }
    mpfr_clear(v);
    return n;
}

static void test_round_exact2(void **state)
{
    (void)state;
    long per = n_random_per_format() / 10;
    long n = 0;
    for (int i = 0; i < NFMT; i++) {
        const tfmt *f = &tfmts[i];
        for (long k = 0; k < per; k++) {
            double a = rand_input(f), b;
            if (!isfinite(a)) continue;
            uint64_t kind = rnd64() % 4;
            double hi, lo;
            if (kind == 0) { /* exact product split: hi = RN(a*b), lo = error */
                b = 1.0 + (double)(rnd64() >> 12) * 0x1p-52;
                hi = a * b;
                lo = fma(a, b, -hi);
                if (!isfinite(hi) || (hi != 0 && fabs(hi) < 0x1p-969)) continue; /* lo must be exact */
            } else if (kind == 1 && f->p < 53) { /* a tie of f, split across hi and a tiny lo */
                int qe;
                double g = rand_grid_value(f, &qe, 0) + ldexp(1.0, qe - 1);
                double tiny = ldexp((double)(rnd64() % 3) - 1.0, qe - 60);
                hi = g;
                lo = tiny;
                double s = hi + lo; /* renormalise to a TwoSum pair */
                double bb = s - hi;
                lo = (hi - (s - bb)) + (lo - bb);
                hi = s;
            } else if (kind == 2) { /* a double and half its ulp: fp64 ties */
                hi = a;
                int e2;
                frexp(a, &e2);
                lo = ldexp(rnd64() & 1 ? 1.0 : -1.0, e2 - 54);
                if (rnd64() & 1) lo = nextafter(lo, 0.0);
                if (fabs(a) < 0x1p-960) continue;
                double s = hi + lo, bb = s - hi;
                lo = (hi - (s - bb)) + (lo - bb);
                hi = s;
            } else { /* TwoSum of two random doubles */
                b = rand_sign(ldexp(1.0 + (double)(rnd64() >> 12) * 0x1p-52, -(int)(rnd64() % 70)) * a);
                hi = a + b;
                if (!isfinite(hi)) continue;
                double bb = hi - a;
                lo = (a - (hi - bb)) + (b - bb);
            }
            n += check_exact2(hi, lo, f);
        }
        /* Overflow of the exact sum near the top of the double range. */
        n += check_exact2(DBL_MAX, 0x1p970, f);
        n += check_exact2(DBL_MAX, 0x1p969, f);
        n += check_exact2(-DBL_MAX, -0x1p969, f);
        n += check_exact2(DBL_MAX, 0x1p968, f);
        n += check_exact2(1.0, 0x1p-53, f);
        n += check_exact2(1.0, -0x1p-54, f);
        n += check_exact2(-1.0, -0x1p-53, f);
    }
    printf("fsc_round_exact2: %ld checks against MPFR at 200 bits\n", n);
}

/* ulp distance oracle: the position of a value on its format's ordered grid,
 * from the bit patterns of the encodings (IEEE and OCP layouts). */
static double e4m3_values[127];
static void build_e4m3(void)
{
    for (int b = 0; b < 127; b++) { /* encodings 0x00..0x7e; 0x7f is NaN */
        int e = b >> 3, m = b & 7;
        e4m3_values[b] = e == 0 ? ldexp(m, -9) : ldexp(8 + m, e - 10);
    }
}

static __int128 grid_pos(double v, fsc_format_id id)
{
    double av = fabs(v);
    __int128 pos;
    switch (id) {
    case FSC_FMT_FP64: {
        uint64_t b;
        memcpy(&b, &av, 8);
        pos = (__int128)b;
        break;
    }
    case FSC_FMT_FP32:
    case FSC_FMT_TF32:
    case FSC_FMT_BF16: {
        float fv = (float)av;
        uint32_t b;
        memcpy(&b, &fv, 4);
        pos = (__int128)(b >> (id == FSC_FMT_FP32 ? 0 : id == FSC_FMT_TF32 ? 13 : 16));
        break;
    }
    case FSC_FMT_FP16:
    case FSC_FMT_E5M2: {
        _Float16 h = (_Float16)av;
        uint16_t b;
        memcpy(&b, &h, 2);
        pos = (__int128)(id == FSC_FMT_FP16 ? b : (b >> 8));
        break;
    }
    default: {
        int k = 0;
        while (k < 127 && e4m3_values[k] != av) k++;
        assert_true(k < 127);
        pos = k;
    }
    }
    return signbit(v) ? -pos : pos;
}

static void test_ulp_distance(void **state)
{
    (void)state;
    build_e4m3();
    long n = 0;
    fsc_round_opts o = {FSC_RND_NEAREST_EVEN, true, true};
    for (int i = 0; i < NFMT; i++) {
        const tfmt *f = &tfmts[i];
        for (long k = 0; k < n_random_per_format() / 10; k++) {
            double a = fsc_round(rand_input(f), f->id, o), b;
            if (rnd64() & 1) { /* a close neighbour, often across zero */
                b = fsc_round(a + rand_sign(ldexp((double)(rnd64() % 50), f->emin - f->p + 1 + (int)(rnd64() % 8))),
                              f->id, o);
            } else {
                b = fsc_round(rand_input(f), f->id, o);
            }
            if (isnan(a) || isnan(b)) continue;
            __int128 dw = grid_pos(a, f->id) - grid_pos(b, f->id);
            double want = (double)(dw < 0 ? -dw : dw); /* one rounding, as the library's */
            double got = fsc_ulp_distance(a, b, f->id);
            if (got != want)
                fail_msg("fsc_ulp_distance(%a, %a, %s) = %.17g, encodings say %.17g", a, b,
                         fsc_format_get(f->id)->name, got, want);
            n++;
        }
        assert_true(fsc_ulp_distance(NAN, 1.0, f->id) == -1.0);
        assert_true(fsc_ulp_distance(1.0, NAN, f->id) == -1.0);
        assert_true(fsc_ulp_distance(-0.0, 0.0, f->id) == 0.0);
        double mins = ldexp(1.0, f->emin - f->p + 1);
        assert_true(fsc_ulp_distance(-mins, mins, f->id) == 2.0);
        assert_true(fsc_ulp_distance(1.0, 1.0 + ldexp(1.0, 1 - f->p), f->id) == 1.0);
        if (f->has_inf) assert_true(fsc_ulp_distance(f->max, INFINITY, f->id) == 1.0);
    }
    assert_true(fsc_ulp_distance(448.0, -448.0, FSC_FMT_E4M3) == 252.0); /* 126 positive encodings each side */
    printf("fsc_ulp_distance: %ld checks against encodings\n", n);
}

static void test_format_table(void **state)
{
    (void)state;
    for (int i = 0; i < NFMT; i++) {
        const fsc_format *g = fsc_format_get(tfmts[i].id);
        assert_non_null(g);
        assert_int_equal(g->p, tfmts[i].p);
        assert_int_equal(g->emin, tfmts[i].emin);
        assert_int_equal(g->emax, tfmts[i].emax);
        assert_int_equal(g->has_inf, tfmts[i].has_inf);
        assert_true(g->max_finite == tfmts[i].max);
        assert_int_equal(fsc_format_by_name(g->name), (int)tfmts[i].id);
    }
    assert_int_equal(fsc_format_by_name("fp12"), -1);
    assert_int_equal(fsc_format_by_name(NULL), -1);
    assert_null(fsc_format_get(FSC_FMT_COUNT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_table), cmocka_unit_test(test_round_edges),
        cmocka_unit_test(test_round_random), cmocka_unit_test(test_round_exact2),
        cmocka_unit_test(test_ulp_distance),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    mpfr_free_cache();
    return r;
}
