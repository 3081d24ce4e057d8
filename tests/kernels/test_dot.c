/* test_dot.c: the reference dot product (fsc_dot_ref) against MPFR emulations
 * of the arithmetic model and hand-worked sums. */
#include "ktest.h"

#include <mpfr.h>

#include "kernels/kernels.h"
#include "kernels/kutil.h"

/* An MPFR "format": precision and exponent range of a binary format (MPFR
 * exponents: x = m * 2^e with m in [1/2, 1)). */
typedef struct mfmt {
    int prec;
    mpfr_exp_t emin, emax;
} mfmt;

static const mfmt M_FP16 = {11, -23, 16};  /* smallest subnormal 2^-24, largest < 2^16 */
static const mfmt M_FP32 = {24, -148, 128}; /* smallest subnormal 2^-149 */

/* Rounds r (just computed with ternary t) into the format, subnormals included. */
static void msub(mpfr_t r, int t, const mfmt *f)
{
    mpfr_exp_t omin = mpfr_get_emin(), omax = mpfr_get_emax();
    mpfr_set_emin(f->emin);
    mpfr_set_emax(f->emax);
    t = mpfr_check_range(r, t, MPFR_RNDN);
    mpfr_subnormalize(r, t, MPFR_RNDN);
    mpfr_set_emin(omin);
    mpfr_set_emax(omax);
}

/* acc = round_f(acc + x*w), the fused step, computed by MPFR. */
static void mfma(mpfr_t acc, double x, double w, const mfmt *f)
{
    mpfr_t mx, mw;
    mpfr_inits2(53, mx, mw, (mpfr_ptr)0);
    mpfr_set_d(mx, x, MPFR_RNDN);
    mpfr_set_d(mw, w, MPFR_RNDN);
    mpfr_exp_t omin = mpfr_get_emin(), omax = mpfr_get_emax();
    mpfr_set_emin(f->emin);
    mpfr_set_emax(f->emax);
    int t = mpfr_fma(acc, mx, mw, acc, MPFR_RNDN);
    t = mpfr_check_range(acc, t, MPFR_RNDN);
    mpfr_subnormalize(acc, t, MPFR_RNDN);
    mpfr_set_emin(omin);
    mpfr_set_emax(omax);
    mpfr_clears(mx, mw, (mpfr_ptr)0);
}

/* Sequential fused accumulation in f, then + bias, by MPFR. */
static double mpfr_seq(const double *x, const double *w, int64_t K, bool has_bias, double bias, const mfmt *f)
{
    mpfr_t acc;
    mpfr_init2(acc, f->prec);
    mpfr_set_zero(acc, 1);
    for (int64_t k = 0; k < K; k++) mfma(acc, x[k], w[k], f);
    if (has_bias) mfma(acc, bias, 1.0, f);
    double r = mpfr_get_d(acc, MPFR_RNDN);
    mpfr_clear(acc);
    return r;
}

/* Pairwise (halving, left half n/2 terms) sum of fused leaves, by MPFR. */
static void mpfr_pair(mpfr_t out, const double *x, const double *w, int64_t n, const mfmt *f)
{
    if (n == 1) {
        mpfr_set_zero(out, 1);
        mfma(out, x[0], w[0], f);
        return;
    }
    mpfr_t l, r;
    mpfr_inits2(f->prec, l, r, (mpfr_ptr)0);
    mpfr_pair(l, x, w, n / 2, f);
    mpfr_pair(r, x + n / 2, w + n / 2, n - n / 2, f);
    int t = mpfr_add(out, l, r, MPFR_RNDN);
    msub(out, t, f);
    mpfr_clears(l, r, (mpfr_ptr)0);
}

static void test_fp16_acc16_matches_mpfr(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp16-acc16");
    fsc_rng r;
    fsc_rng_seed(&r, 11);
    int trials = kt_quick() ? 150 : 2000;
    double x[700], w[700];
    int nonzero_results = 0, subnormal_terms = 0;
    for (int t = 0; t < trials; t++) {
        int64_t K = kt_randint(&r, 1, 700);
        /* per-vector scale 2^-14 .. 2^5 so accumulators range from subnormal to overflow */
        double scale = ldexp(1.0, (int)kt_randint(&r, -14, 5));
        for (int64_t k = 0; k < K; k++) {
            x[k] = fsc_rne(scale * fsc_rng_normal(&r), FSC_FMT_FP16);
            w[k] = fsc_rne(ldexp(fsc_rng_normal(&r), (int)kt_randint(&r, -6, 2)), FSC_FMT_FP16);
            subnormal_terms += fabs(x[k]) < 0x1p-14 && x[k] != 0.0;
        }
        bool hb = t % 2;
        double bias = fsc_rne(fsc_rng_normal(&r), FSC_FMT_FP16);
        double got = fsc_dot_ref(x, 1, w, 1, K, hb, bias, a);
        double want = mpfr_seq(x, w, K, hb, bias, &M_FP16);
        if (memcmp(&got, &want, 8) != 0 && !(isnan(got) && isnan(want)))
            fail_msg("trial %d (K=%lld): dot %a, MPFR %a", t, (long long)K, got, want);
        nonzero_results += got != 0.0;
    }
    assert_true(nonzero_results > trials / 2);
    assert_true(subnormal_terms > 0);
}

static void test_fp32_matches_mpfr_fused(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp32");
    fsc_rng r;
    fsc_rng_seed(&r, 12);
    int trials = kt_quick() ? 100 : 1000;
    double x[500], w[500];
    for (int t = 0; t < trials; t++) {
        int64_t K = kt_randint(&r, 1, 500);
        for (int64_t k = 0; k < K; k++) {
            x[k] = fsc_rne(fsc_rng_normal(&r), FSC_FMT_FP32);
            w[k] = fsc_rne(ldexp(fsc_rng_normal(&r), (int)kt_randint(&r, -30, 30)), FSC_FMT_FP32);
        }
        double got = fsc_dot_ref(x, 1, w, 1, K, true, 0.25, a);
        double want = mpfr_seq(x, w, K, true, 0.25, &M_FP32);
        if (memcmp(&got, &want, 8) != 0) fail_msg("trial %d: dot %a, MPFR %a", t, got, want);
    }
}

static void test_pairwise_and_blocked_match_mpfr(void **state)
{
    (void)state;
    fsc_arith a = *fsc_arith_preset("fp16-acc16");
    fsc_rng r;
    fsc_rng_seed(&r, 13);
    double x[300], w[300];
    int trials = kt_quick() ? 40 : 300;
    for (int t = 0; t < trials; t++) {
        int64_t K = kt_randint(&r, 1, 300);
        for (int64_t k = 0; k < K; k++) {
            x[k] = fsc_rne(4.0 * fsc_rng_normal(&r), FSC_FMT_FP16);
            w[k] = fsc_rne(fsc_rng_normal(&r), FSC_FMT_FP16);
        }
        a.order = FSC_ORDER_PAIRWISE;
        mpfr_t m;
        mpfr_init2(m, 11);
        mpfr_pair(m, x, w, K, &M_FP16);
        double want = mpfr_get_d(m, MPFR_RNDN), got = fsc_dot_ref(x, 1, w, 1, K, false, 0.0, &a);
        if (memcmp(&got, &want, 8) != 0) fail_msg("pairwise trial %d: %a vs MPFR %a", t, got, want);
        /* blocked: sequential blocks of 16 from +0, block sums added sequentially */
        a.order = FSC_ORDER_BLOCKED;
        a.block = 16;
        mpfr_t tot, blk;
        mpfr_inits2(11, tot, blk, (mpfr_ptr)0);
        mpfr_set_zero(tot, 1);
        for (int64_t k0 = 0; k0 < K; k0 += 16) {
            mpfr_set_zero(blk, 1);
            for (int64_t k = k0; k < K && k < k0 + 16; k++) mfma(blk, x[k], w[k], &M_FP16);
            int tt = mpfr_add(tot, tot, blk, MPFR_RNDN);
            msub(tot, tt, &M_FP16);
        }
        want = mpfr_get_d(tot, MPFR_RNDN);
        got = fsc_dot_ref(x, 1, w, 1, K, false, 0.0, &a);
        if (memcmp(&got, &want, 8) != 0) fail_msg("blocked trial %d: %a vs MPFR %a", t, got, want);
        mpfr_clears(m, tot, blk, (mpfr_ptr)0);
    }
}

/* Hand-worked: fp16 spacing at 2048 is 2, so 2048 + 1 is a tie that stays at 2048 (even). */
static void test_hand_fp16_orders(void **state)
{
    (void)state;
    fsc_arith a = *fsc_arith_preset("fp16-acc16");
    double x[4] = {2048, 1, 1, 1}, w[4] = {1, 1, 1, 1};
    assert_true(fsc_dot_ref(x, 1, w, 1, 4, false, 0, &a) == 2048.0); /* every +1 lost */
    a.order = FSC_ORDER_PAIRWISE;                                      /* (2048+1) + (1+1) = 2048 + 2 */
    assert_true(fsc_dot_ref(x, 1, w, 1, 4, false, 0, &a) == 2050.0);
    a.order = FSC_ORDER_BLOCKED;
    a.block = 2; /* blocks {2048,1} -> 2048 and {1,1} -> 2 */
    assert_true(fsc_dot_ref(x, 1, w, 1, 4, false, 0, &a) == 2050.0);
    a.block = 3; /* {2048,1,1} -> 2048, {1} -> 1, 2048 + 1 -> 2048 */
    assert_true(fsc_dot_ref(x, 1, w, 1, 4, false, 0, &a) == 2048.0);
    const fsc_arith *f32 = fsc_arith_preset("fp32"); /* fp32 accumulation keeps them: 2051 */
    assert_true(fsc_dot_ref(x, 1, w, 1, 4, false, 0, f32) == 2051.0);
    /* bias added once at the end: 2048 + 3 = 2051 is odd at spacing 2 -> tie between 2050 and 2052 -> 2052 */
    a = *fsc_arith_preset("fp16-acc16");
    assert_true(fsc_dot_ref(x, 1, w, 1, 1, true, 3.0, &a) == 2052.0);
}

/* Hand-worked: exact (fused) products vs products rounded to fp32.
 * (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24; after -(1 + 2^-11) the fused sum keeps 2^-24,
 * while the product rounded to fp32 (a tie at 2^-24, to even: 1 + 2^-11) cancels to 0. */
static void test_hand_fused_vs_rounded_products(void **state)
{
    (void)state;
    fsc_arith a = *fsc_arith_preset("fp32");
    double x[2] = {-1.0, 1.0 + 0x1p-12}, w[2] = {1.0 + 0x1p-11, 1.0 + 0x1p-12};
    assert_true(fsc_dot_ref(x, 1, w, 1, 2, false, 0, &a) == 0x1p-24);
    a.product = FSC_FMT_FP32;
    assert_true(fsc_dot_ref(x, 1, w, 1, 2, false, 0, &a) == 0.0);
    /* tf32 operands (11-bit significand): 1 + 2^-12 rounds to 1 while 1 + 2^-10 is kept, so
     * -(1 + 2^-10) + 1*1 = -2^-10; in fp32 the exact product keeps -2^-11 + 2^-24. */
    double w2[2] = {1.0 + 0x1p-10, 1.0 + 0x1p-12};
    assert_true(fsc_dot_ref(x, 1, w2, 1, 2, false, 0, fsc_arith_preset("tf32")) == -0x1p-10);
    assert_true(fsc_dot_ref(x, 1, w2, 1, 2, false, 0, fsc_arith_preset("fp32")) == -0x1p-11 + 0x1p-24);
    /* strides: every other element */
    double xs[4] = {-1.0, 99, 1.0 + 0x1p-12, 99}, ws[4] = {1.0 + 0x1p-11, 77, 1.0 + 0x1p-12, 77};
    assert_true(fsc_dot_ref(xs, 2, ws, 2, 2, false, 0, fsc_arith_preset("fp32")) == 0x1p-24);
}

/* Hand-worked: toward-zero accumulation truncates 1 + 2^-24 + 2^-24 ... in fp32. */
static void test_hand_toward_zero(void **state)
{
    (void)state;
    fsc_arith a = *fsc_arith_preset("fp32");
    a.rounding = FSC_RND_TOWARD_ZERO;
    double x[3] = {1.0, 0x1.8p-24, 0x1.8p-24}, w[3] = {1, 1, 1};
    /* 1 + 1.5*2^-24 truncates to 1 each time (spacing 2^-23) */
    assert_true(fsc_dot_ref(x, 1, w, 1, 3, false, 0, &a) == 1.0);
    a.rounding = FSC_RND_NEAREST_EVEN; /* nearest: 1 + 1.5*2^-24 -> 1 + 2^-23, then + 1.5*2^-24 -> 1 + 2^-22 */
    assert_true(fsc_dot_ref(x, 1, w, 1, 3, false, 0, &a) == 1.0 + 0x1p-22);
}

static void test_fp64_is_fma_chain(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 5);
    double x[64], w[64];
    for (int k = 0; k < 64; k++) x[k] = fsc_rng_normal(&r), w[k] = fsc_rng_normal(&r);
    double acc = 0.0;
    for (int k = 0; k < 64; k++) acc = fma(x[k], w[k], acc);
    acc = acc + 0.5;
    assert_true(fsc_dot_ref(x, 1, w, 1, 64, true, 0.5, fsc_arith_preset("fp64")) == acc);
}

/* fsc_kadd (every accumulation step) against MPFR: a + b rounded once, for
 * random doubles whose exact sum usually does not fit in a double. */
static void test_kadd_matches_mpfr(void **state)
{
    (void)state;
    struct { fsc_format_id id; mfmt m; } fm[4] = {
        {FSC_FMT_FP16, {11, -23, 16}}, {FSC_FMT_BF16, {8, -132, 128}}, {FSC_FMT_TF32, {11, -135, 128}}, {FSC_FMT_FP32, {24, -148, 128}}};
    fsc_rng r;
    fsc_rng_seed(&r, 14);
    int n = kt_quick() ? 20000 : 200000, ties = 0;
    mpfr_t ma, mb, ms;
    mpfr_inits2(53, ma, mb, (mpfr_ptr)0);
    for (int i = 0; i < n; i++) {
        int f = i % 4;
        int rz = (i / 4) % 2;
        double a = ldexp(fsc_rng_normal(&r), (int)kt_randint(&r, -20, 12));
        double b = ldexp(fsc_rng_normal(&r), (int)kt_randint(&r, -40, 12));
        if (i % 8 == 0) { /* a near-tie: a value of the format plus (about) half its spacing */
            a = fsc_rne(a, fm[f].id);
            int ex;
            frexp(a, &ex);
            b = ldexp(1.0, ex - fm[f].m.prec - 1) * (1.0 + ldexp(fsc_rng_normal(&r), -45));
            ties++;
        }
        mpfr_init2(ms, fm[f].m.prec);
        mpfr_set_d(ma, a, MPFR_RNDN);
        mpfr_set_d(mb, b, MPFR_RNDN);
        mpfr_exp_t omin = mpfr_get_emin(), omax = mpfr_get_emax();
        mpfr_set_emin(fm[f].m.emin);
        mpfr_set_emax(fm[f].m.emax);
        mpfr_rnd_t mode = rz ? MPFR_RNDZ : MPFR_RNDN;
        int t = mpfr_add(ms, ma, mb, mode);
        t = mpfr_check_range(ms, t, mode);
        mpfr_subnormalize(ms, t, mode);
        mpfr_set_emin(omin);
        mpfr_set_emax(omax);
        double want = mpfr_get_d(ms, MPFR_RNDN);
        double got = fsc_kadd(a, b, fm[f].id, rz ? FSC_RND_TOWARD_ZERO : FSC_RND_NEAREST_EVEN);
        if (memcmp(&got, &want, 8) != 0) fail_msg("kadd(%a, %a) fmt %d rz %d: %a, MPFR %a", a, b, f, rz, got, want);
        mpfr_clear(ms);
    }
    mpfr_clears(ma, mb, (mpfr_ptr)0);
    assert_true(ties > 0);
}

/* fsc_kdiv (means, softmax, quantize) against MPFR: a / b rounded once, nearest-even,
 * for operands of fp32 (the fast path) and of full double precision. */
static void test_kdiv_matches_mpfr(void **state)
{
    (void)state;
    struct { fsc_format_id id; mfmt m; } fm[3] = {{FSC_FMT_FP16, {11, -23, 16}}, {FSC_FMT_BF16, {8, -132, 128}}, {FSC_FMT_FP32, {24, -148, 128}}};
    fsc_rng r;
    fsc_rng_seed(&r, 15);
    int n = kt_quick() ? 20000 : 200000;
    mpfr_t ma, mb, mq;
    mpfr_inits2(53, ma, mb, (mpfr_ptr)0);
    for (int i = 0; i < n; i++) {
        int f = i % 3;
        bool narrow = (i / 3) % 2;
        double a = ldexp(fsc_rng_normal(&r), (int)kt_randint(&r, -10, 10)), b = ldexp(fsc_rng_normal(&r), (int)kt_randint(&r, -10, 10));
        if (narrow) a = (float)a, b = (float)b;
        if (i % 7 == 0) b = (double)kt_randint(&r, 1, 60000); /* means divide by a count */
        mpfr_init2(mq, fm[f].m.prec);
        mpfr_set_d(ma, a, MPFR_RNDN);
        mpfr_set_d(mb, b, MPFR_RNDN);
        mpfr_exp_t omin = mpfr_get_emin(), omax = mpfr_get_emax();
        mpfr_set_emin(fm[f].m.emin);
        mpfr_set_emax(fm[f].m.emax);
        int t = mpfr_div(mq, ma, mb, MPFR_RNDN);
        t = mpfr_check_range(mq, t, MPFR_RNDN);
        mpfr_subnormalize(mq, t, MPFR_RNDN);
        mpfr_set_emin(omin);
        mpfr_set_emax(omax);
        double want = mpfr_get_d(mq, MPFR_RNDN), got = fsc_kdiv(a, b, fm[f].id);
        if (memcmp(&got, &want, 8) != 0) fail_msg("kdiv(%a, %a) fmt %d: %a, MPFR %a", a, b, f, got, want);
        mpfr_clear(mq);
    }
    mpfr_clears(ma, mb, (mpfr_ptr)0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_acc16_matches_mpfr),
        cmocka_unit_test(test_fp32_matches_mpfr_fused),
        cmocka_unit_test(test_pairwise_and_blocked_match_mpfr),
        cmocka_unit_test(test_hand_fp16_orders),
        cmocka_unit_test(test_hand_fused_vs_rounded_products),
        cmocka_unit_test(test_hand_toward_zero),
        cmocka_unit_test(test_fp64_is_fma_chain),
        cmocka_unit_test(test_kadd_matches_mpfr),
        cmocka_unit_test(test_kdiv_matches_mpfr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
