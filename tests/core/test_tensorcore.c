/* test_tensorcore.c: the block-FMA presets against measured NVIDIA tensor-core
 * results (tests/fixtures/tensor-cores, Khattak & Mikaitis' model_validation
 * data, BSD-2 licence beside it). The oracle is the hardware: every one of the
 * 22 files must be reproduced bit for bit, 5000 of 5000 cases. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/arith.h"
#include "flipscope/tccheck.h"

static void test_all_files(void **state)
{
    (void)state;
    static fsc_tc_report rep;
    fsc_error err = {0};
    fsc_status st = fsc_tccheck_dir(FSC_FIXTURES "/tensor-cores", &rep, &err);
    if (st != FSC_OK) fail_msg("%s", err.msg);
    /* 5 GPU dirs: V100 fp16 (2 outputs), A100 fp16 (2) bf16 tf32, H200 fp16 (2) bf16 tf32 E4M3 (2) E5M2 (2),
     * B200 the same: 2 + 4 + 8 + 8 = 22 result files. */
    assert_int_equal(rep.n, 22);
    for (int i = 0; i < rep.n; i++) {
        const fsc_tc_result *r = &rep.r[i];
        printf("%-5s %-5s -> %s  %-10s K=%-2d %4d / %d\n", r->gpu, r->format, r->output, r->preset, r->K, r->matches,
               r->total);
        assert_int_equal(r->total, 5000);
        if (r->matches != 5000)
            fail_msg("%s %s %s output: %d of %d cases (first mismatch: case %d)", r->gpu, r->format, r->output,
                     r->matches, r->total, r->first_mismatch);
    }
}

/* One measured case: line `line` (1-based) of a GPU/format directory, its K
 * inputs, c and the result with output `out` ("fp32" or "fp16"). */
typedef struct tc_case {
    int K;
    double a[32], b[32], c, d;
} tc_case;

static double bits32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
}

static char *nth_line(const char *path, int line, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: cannot open", path);
    char *r = NULL;
    for (int i = 0; i < line && (r = fgets(buf, (int)n, f)); i++) {}
    fclose(f);
    if (!r) fail_msg("%s: no line %d", path, line);
    return buf;
}

static void load_case(const char *gpu, const char *fmt, const char *out, int line, tc_case *cs)
{
    char path[512], buf[1024];
    double *dst[2] = {cs->a, cs->b};
    for (int v = 0; v < 2; v++) {
        snprintf(path, sizeof path, "%s/tensor-cores/%s/%s/%c_%s_%s.txt", FSC_FIXTURES, gpu, fmt, "ab"[v], gpu, fmt);
        char *p = nth_line(path, line, buf, sizeof buf), *end;
        int k = 0;
        for (unsigned long u = strtoul(p, &end, 16); end != p && k < 32; u = strtoul(p, &end, 16)) {
            dst[v][k++] = bits32((uint32_t)u);
            p = end;
        }
        cs->K = k;
    }
    snprintf(path, sizeof path, "%s/tensor-cores/%s/%s/c_%s_fp32.txt", FSC_FIXTURES, gpu, fmt, gpu);
    cs->c = bits32((uint32_t)strtoul(nth_line(path, line, buf, sizeof buf), NULL, 2));
    snprintf(path, sizeof path, "%s/tensor-cores/%s/%s/d_%s_%s.txt", FSC_FIXTURES, gpu, fmt, gpu, out);
    cs->d = bits32((uint32_t)strtoul(nth_line(path, line, buf, sizeof buf), NULL, 2));
}

/* The measured cases that decide the FP8 refinements (docs/arithmetic.md):
 * each is reproduced by the preset and missed by the nearest alternatives. */
static void test_fp8_deciding_cases(void **state)
{
    (void)state;
    fsc_error err = {0};
    fsc_blockfma p;
    tc_case cs;

    /* B200 E5M2, fp32 output, case 3936: the exact a . b + c lies 0.8125 ulp
     * past the hardware's result. The products' sum truncated to fp32 before
     * c is added (late_c, toward zero) gives it; rounding that sum to nearest,
     * or aligning c with the products (even with 20 extra bits), does not. */
    load_case("B200", "E5M2", "fp32", 3936, &cs);
    assert_int_equal(cs.K, 32);
    assert_int_equal(fsc_tc_blockfma_for(fsc_arith_preset("b200-e5m2"), FSC_FMT_FP32, &p, &err), FSC_OK);
    assert_true(p.late_c && p.rounding == FSC_RND_TOWARD_ZERO);
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, cs.c, &p) == cs.d);
    p.rounding = FSC_RND_NEAREST_EVEN;
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, cs.c, &p) != cs.d);
    p.late_c = false;
    p.extra_bits = 20; /* the widest the model takes (arith.h) */
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, cs.c, &p) != cs.d);

    /* H200 E4M3, fp16 output, case 1 (the same unit as B200's): the products
     * k mod 4 in {0, 1} rounded to fp16 first, then those in {2, 3}, then c.
     * One block of 32 rounded once, or other splits, miss it. */
    load_case("H200", "E4M3", "fp16", 1, &cs);
    double c16 = fsc_rne(cs.c, FSC_FMT_FP16); /* the measurement rounded c to fp16 */
    assert_int_equal(fsc_tc_blockfma_for(fsc_arith_preset("h100-e4m3"), FSC_FMT_FP16, &p, &err), FSC_OK);
    assert_true(p.out == FSC_FMT_FP16 && p.chunks == 2 && p.chunk_run == 2 && p.late_c);
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, c16, &p) == cs.d);
    fsc_blockfma q = p;
    q.chunks = 0;
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, c16, &q) != cs.d);
    q = p;
    q.chunk_run = 1;
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, c16, &q) != cs.d);
    q = p;
    q.chunk_run = 16;
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, c16, &q) != cs.d);
    q = p;
    q.late_c = false;
    assert_true(fsc_blockfma_step(cs.a, cs.b, cs.K, c16, &q) != cs.d);
}

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
    return rs;
}

/* A random value of fmt (fp32 or fp16) with exponent in [e0, e0 + 8),
 * random sign; subnormals and exact zeros come out near the bottom. */
static double random_value(fsc_format_id fmt, int e0)
{
    double m = 1.0 + (double)(next() >> 11) * 0x1p-53;
    double v = fsc_rne(ldexp(m, e0 + (int)(next() % 8)), fmt);
    return (next() & 1) ? -v : v;
}

/* x + c rounded to odd in a double (the sum truncated, its last bit set when
 * inexact): rounding that once more to 24 or fewer bits is the correct
 * rounding of the exact sum. TwoSum gives the exact error of x + c. */
static double sum_to_odd(double x, double c)
{
    double s = x + c, bb = s - x, e = (x - (s - bb)) + (c - bb);
    if (e == 0.0) return s;
    if ((e > 0) != (s > 0)) s = nextafter(s, 0.0); /* s was rounded away from zero: truncate */
    uint64_t u;
    memcpy(&u, &s, sizeof u);
    u |= 1; /* inexact: the sticky last bit */
    memcpy(&s, &u, sizeof s);
    return s;
}

/* late_c's addition against an independent reference: one product x * 1
 * (kept exactly), then c, their exact sum rounded once (sum_to_odd, then
 * fsc_rne, itself checked against MPFR), over exponent gaps up to 60: exact
 * sums, and c far enough below to be only a sticky bit. */
static void test_late_c_random(void **state)
{
    (void)state;
    static const fsc_format_id outs[2] = {FSC_FMT_FP32, FSC_FMT_FP16};
    for (int o = 0; o < 2; o++) {
        fsc_format_id f = outs[o];
        fsc_blockfma p = {.block = 1, .extra_bits = 2, .rounding = FSC_RND_NEAREST_EVEN, .out = f,
                          .in = f, .subnormals_out = true, .late_c = true};
        int lo = f == FSC_FMT_FP32 ? -150 : -26, hi = f == FSC_FMT_FP32 ? 119 : 7; /* values below 2^(hi + 8) */
        for (int i = 0; i < 200000; i++) {
            int ex = lo + (int)(next() % (uint64_t)(hi - lo));
            int ec = ex - 60 + (int)(next() % 120);
            ec = ec < lo ? lo : ec > hi ? hi : ec;
            double x = random_value(f, ex), c = random_value(f, ec), one = 1.0;
            /* A zero product takes no part: the products' sum is then +0. */
            double got = fsc_blockfma_step(&x, &one, 1, c, &p), want = fsc_rne(sum_to_odd(x == 0.0 ? 0.0 : x, c), f);
            if (!(got == want && signbit(got) == signbit(want)))
                fail_msg("%s: %a + %a gave %a, expected %a", fsc_format_get(f)->name, x, c, got, want);
        }
    }
}

/* Hand-worked chunks and late_c: what each changes, and that infinities,
 * NaN and zeros behave as in one block. */
static void test_hand_refinements(void **state)
{
    (void)state;
    /* late_c: products 1 and 2^-24 truncated to fp32 give 1; then c = 2^-24
     * makes the tie 1 + 2^-24, to even: 1. With c aligned with the products
     * (2 extra bits) the sum 1 + 2^-23 is exact. */
    fsc_blockfma p = {.block = 4, .extra_bits = 2, .rounding = FSC_RND_TOWARD_ZERO, .out = FSC_FMT_FP32,
                      .in = FSC_FMT_FP16, .in_truncate = false, .subnormals_out = true};
    double a[4] = {1.0, 0x1p-12, 0.0, 0.0}, b[4] = {1.0, 0x1p-12, 0.0, 0.0};
    assert_true(fsc_blockfma_step(a, b, 2, 0x1p-24, &p) == 1.0 + 0x1p-23);
    p.late_c = true;
    assert_true(fsc_blockfma_step(a, b, 2, 0x1p-24, &p) == 1.0);
    /* The late addition rounds the exact sum once: 1 + 2^-24 + 2^-30 is past
     * the tie, so up; c far below (2^-100, kept as a sticky bit) leaves 1 with
     * either sign; a lone c is itself; zeros keep IEEE signs. */
    assert_true(fsc_blockfma_step(a, b, 1, 0x1p-24 + 0x1p-30, &p) == 1.0 + 0x1p-23);
    assert_true(fsc_blockfma_step(a, b, 1, -0x1p-100, &p) == 1.0);
    assert_true(fsc_blockfma_step(a, b, 1, 0x1p-100, &p) == 1.0);
    assert_true(fsc_blockfma_step(a, b, 0, -0.75, &p) == -0.75);
    assert_true(fsc_blockfma_step(a, b, 0, -0.0, &p) == 0.0 && !signbit(fsc_blockfma_step(a, b, 0, -0.0, &p)));
    double m[1] = {-1.0};
    assert_true(fsc_blockfma_step(m, b, 1, 1.0, &p) == 0.0 && !signbit(fsc_blockfma_step(m, b, 1, 1.0, &p)));

    /* chunks: fp16 output, products 1, 2^-11, 2^-11, 2^-11. In one block
     * 1 + 1.5 ulp rounds to 1 + 2^-9; in two chunks of runs of 2 the first
     * (1 + 2^-11, a tie) rounds to 1, the second adds 2^-10 exactly. */
    fsc_blockfma h = {.block = 4, .extra_bits = 2, .rounding = FSC_RND_NEAREST_EVEN, .out = FSC_FMT_FP16,
                      .in = FSC_FMT_FP16, .in_truncate = false, .subnormals_out = true};
    double x[4] = {1.0, 0x1p-6, 0x1p-6, 0x1p-6}, y[4] = {1.0, 0x1p-5, 0x1p-5, 0x1p-5};
    assert_true(fsc_blockfma_step(x, y, 4, 0.0, &h) == 1.0 + 0x1p-9);
    h.chunks = 2;
    h.chunk_run = 2;
    assert_true(fsc_blockfma_step(x, y, 4, 0.0, &h) == 1.0 + 0x1p-10);
    /* Without late_c the accumulator enters the first chunk: c = 2^-11 makes
     * it 1 + 2^-10, then the second chunk 1 + 2^-9. */
    assert_true(fsc_blockfma_step(x, y, 4, 0x1p-11, &h) == 1.0 + 0x1p-9);

    /* Specials over the whole block, across chunks and with a late c. */
    h.late_c = true;
    double g[4] = {INFINITY, 1.0, 1.0, 1.0}, n[4] = {1.0, 1.0, -INFINITY, 1.0}, z[4] = {0.0, 1.0, 1.0, 1.0};
    assert_true(isinf(fsc_blockfma_step(g, y, 4, 1.0, &h)) && fsc_blockfma_step(g, y, 4, 1.0, &h) > 0);
    assert_true(isnan(fsc_blockfma_step(g, n, 4, 1.0, &h)));
    assert_true(isnan(fsc_blockfma_step(g, z, 4, 1.0, &h)));
    assert_true(isnan(fsc_blockfma_step(g, y, 4, -INFINITY, &h)));
    assert_true(isinf(fsc_blockfma_step(x, y, 4, -INFINITY, &h)) && fsc_blockfma_step(x, y, 4, -INFINITY, &h) < 0);
    /* fp16 overflow of the products' sum stays an infinity when c is added. */
    double big[2] = {256.0, 256.0};
    assert_true(isinf(fsc_blockfma_step(big, big, 2, -1.0, &h)));
}

/* Hand-worked block: products and c aligned to the largest exponent, bits
 * below binary32's 24 (+ extra) truncated, then truncated to fp32. */
static void test_hand_block(void **state)
{
    (void)state;
    fsc_blockfma p = {.block = 4, .extra_bits = 0, .rounding = FSC_RND_TOWARD_ZERO, .out = FSC_FMT_FP32,
                      .in = FSC_FMT_FP16, .in_truncate = false, .subnormals_out = true};
    /* 1 + 2^-24 + 2^-24: an exact fp32 sum is 1 + 2^-23, but each tiny term
     * sits below the 24-bit window of the largest exponent and is truncated. */
    double a[4] = {1.0, 0x1p-12, 0x1p-12, 0.0}, b[4] = {1.0, 0x1p-12, 0x1p-12, 0.0};
    assert_true(fsc_blockfma_step(a, b, 4, 0.0, &p) == 1.0);
    /* With 1 extra bit each 2^-24 survives: 1 + 2^-23 exactly. */
    p.extra_bits = 1;
    assert_true(fsc_blockfma_step(a, b, 4, 0.0, &p) == 1.0 + 0x1p-23);
    /* Truncation of the normalised sum: 1 - 2^-24 is kept with 1 extra bit
     * of alignment, truncated to fp32 it stays 1 - 2^-24 (exact in fp32). */
    double c[4] = {1.0, -0x1p-12, 0.0, 0.0}, d[4] = {1.0, 0x1p-12, 0.0, 0.0};
    assert_true(fsc_blockfma_step(c, d, 4, 0.0, &p) == 1.0 - 0x1p-24);
    /* c participates in the alignment: c = 2^12 pushes the product 1.5 * 2^-14
     * below the 24(+1)-bit window entirely; with c = 2^10 one bit (2^-14) of
     * it survives the alignment, then the final truncation to fp32 drops it. */
    double e[1] = {0x1.8p-7}, f[1] = {0x1p-7};
    assert_true(fsc_blockfma_step(e, f, 1, 4096.0, &p) == 4096.0);
    assert_true(fsc_blockfma_step(e, f, 1, 1024.0, &p) == 1024.0);
    /* Nearest-even: 1024 + 2^-14 is the midpoint of 1024 and 1024 + 2^-13, a
     * tie, to even. And -(1024 + 2^-12) + 1.5 * 2^-14 is exactly -(1024 +
     * 1.25 ulp), whose nearest is -(1024 + 2^-13); but the product is
     * truncated to 2^-14 by the alignment, leaving the tie -(1024 + 1.5 ulp),
     * which goes to the even -(1024 + 2^-12). */
    p.rounding = FSC_RND_NEAREST_EVEN;
    assert_true(fsc_blockfma_step(e, f, 1, 1024.0, &p) == 1024.0);
    assert_true(fsc_blockfma_step(e, f, 1, -1024.0 - 0x1p-12, &p) == -1024.0 - 0x1p-12);
    p.rounding = FSC_RND_TOWARD_ZERO;
    /* Specials: NaN, infinities of both signs, Inf * 0. */
    double g[2] = {INFINITY, 1.0}, h[2] = {1.0, -INFINITY};
    assert_true(isnan(fsc_blockfma_step(g, h, 2, 0.0, &p)));
    assert_true(isinf(fsc_blockfma_step(g, h, 1, 0.0, &p)));
    double z[1] = {0.0};
    assert_true(isnan(fsc_blockfma_step(g, z, 1, 0.0, &p)));
    /* Chaining: 12 products of 1 * 1 + c = 0.5 in blocks of 4 equal 12.5. */
    double ones[12];
    for (int i = 0; i < 12; i++) ones[i] = 1.0;
    assert_true(fsc_blockfma_dot(ones, 1, ones, 1, 12, 0.5, &p) == 12.5);
}

static void test_presets_present(void **state)
{
    (void)state;
    static const char *names[] = {"v100-fp16", "a100-fp16", "a100-bf16", "a100-tf32", "h100-fp16",
                                  "h100-bf16", "h100-tf32", "h100-e4m3", "h100-e5m2", "b200-fp16",
                                  "b200-bf16", "b200-tf32", "b200-e4m3", "b200-e5m2"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const fsc_arith *a = fsc_arith_preset(names[i]);
        assert_non_null(a);
        assert_true(a->block_fma.block > 0);
        assert_non_null(a->stands_for);
        assert_non_null(a->certainty);
    }
    fsc_blockfma p;
    fsc_error err = {0};
    assert_int_equal(fsc_tc_blockfma_for(fsc_arith_preset("fp32"), FSC_FMT_FP32, &p, &err), FSC_ERR_INVALID);
    assert_int_equal(fsc_tc_blockfma_for(fsc_arith_preset("h100-fp16"), FSC_FMT_BF16, &p, &err), FSC_ERR_INVALID);
}

static void test_bad_dirs(void **state)
{
    (void)state;
    static fsc_tc_report rep;
    fsc_error err = {0};
    assert_int_equal(fsc_tccheck_dir("/nonexistent/tc", &rep, &err), FSC_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent/tc"));
    assert_int_equal(fsc_tccheck_dir(FSC_FIXTURES "/tensor-cores/V100/fp16", &rep, &err), FSC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_block),
        cmocka_unit_test(test_hand_refinements),
        cmocka_unit_test(test_late_c_random),
        cmocka_unit_test(test_fp8_deciding_cases),
        cmocka_unit_test(test_presets_present),
        cmocka_unit_test(test_bad_dirs),
        cmocka_unit_test(test_all_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
