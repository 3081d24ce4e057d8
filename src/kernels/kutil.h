/* kutil.h (internal): small helpers shared by the kernels: element access in
 * either float container, fast correctly rounded conversion to a format,
 * TwoSum, thread counts. Header-only so the hot loops inline them. */
#ifndef FSC_KUTIL_H
#define FSC_KUTIL_H

#include <cpuid.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/arith.h"
#include "flipscope/ctx.h"
#include "flipscope/format.h"
#include "flipscope/tensor.h"

/* F16C via CPUID leaf 1, ECX bit 29. clang's __builtin_cpu_supports does not
 * know "f16c" (the fuzz build is clang), so both compilers ask CPUID. */
static inline bool fsc_cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}

/* The AVX-512 row kernels (quantize, dequantize, table lookups) need F, VL,
 * BW, DQ and F16C; FSC_KERNEL_ISA=0 or 1 pins the scalar paths (tests). */
static inline bool fsc_cpu_avx512_rows(void)
{
    const char *isa = getenv("FSC_KERNEL_ISA");
    if (isa && *isa && atoi(isa) < 2) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && fsc_cpu_has_f16c();
}

/* Element i of a float container (F32 or F64) as a double. */
static inline double fsc_kget(const fsc_tensor *t, int64_t i)
{
    return t->dtype == FSC_DT_F64 ? ((const double *)t->data)[i] : (double)((const float *)t->data)[i];
}

/* Stores v (already a value of the container's format) into element i. */
static inline void fsc_kset(fsc_tensor *t, int64_t i, double v)
{
    if (t->dtype == FSC_DT_F64) ((double *)t->data)[i] = v;
    else ((float *)t->data)[i] = (float)v;
}

/* Precision and normal range of each format, for the fast rounding below. */
static const struct { int p; double min_normal; double max_finite; } fsc_kfmt[FSC_FMT_COUNT] = {
    [FSC_FMT_FP64] = {53, 0x1p-1022, 0x1.fffffffffffffp1023},
    [FSC_FMT_FP32] = {24, 0x1p-126, 0x1.fffffep127},
    [FSC_FMT_TF32] = {11, 0x1p-126, 0x1.ffcp127},
    [FSC_FMT_BF16] = {8, 0x1p-126, 0x1.fep127},
    [FSC_FMT_FP16] = {11, 0x1p-14, 65504.0},
    [FSC_FMT_E4M3] = {4, 0x1p-6, 448.0},
    [FSC_FMT_E5M2] = {3, 0x1p-14, 57344.0},
};

/* x rounded to nearest-even in fmt: identical to fsc_rne(x, fmt), but for
 * values in the normal range it rounds the double's bit pattern directly
 * (dropping 53 - p significand bits with a carry), which is exact and fast. */
static inline double fsc_kround(double x, fsc_format_id fmt)
{
    if (fmt == FSC_FMT_FP64) return x;
    if (fmt == FSC_FMT_FP32) return (double)(float)x; /* IEEE conversion: one RNE rounding */
    double ax = fabs(x);
    if (!(ax >= fsc_kfmt[fmt].min_normal && ax <= fsc_kfmt[fmt].max_finite)) return fsc_rne(x, fmt);
    int drop = 53 - fsc_kfmt[fmt].p;
    uint64_t b;
    memcpy(&b, &x, 8);
    b += (UINT64_C(1) << (drop - 1)) - 1 + ((b >> drop) & 1);
    b &= ~((UINT64_C(1) << drop) - 1);
    double r;
    memcpy(&r, &b, 8);
    if (fabs(r) > fsc_kfmt[fmt].max_finite) return fsc_rne(x, fmt); /* overflow: the slow path decides */
    return r;
}

/* x rounded to fmt with mode rnd (subnormals kept, IEEE overflow). */
static inline double fsc_kround_mode(double x, fsc_format_id fmt, fsc_rounding rnd)
{
    if (rnd == FSC_RND_NEAREST_EVEN) return fsc_kround(x, fmt);
    fsc_round_opts o = {rnd, true, false};
    return fsc_round(x, fmt, o);
}

/* TwoSum (Knuth): s = RN(a + b) and *e the exact error, a + b = s + *e. */
static inline double fsc_two_sum(double a, double b, double *e)
{
    double s = a + b;
    double bb = s - a;
    *e = (a - (s - bb)) + (b - bb);
    return s;
}

/* a + b correctly rounded (once) to fmt with mode rnd. For nearest-even the
 * TwoSum pair is folded into the round-to-odd double (the last bit set when
 * the sum is inexact), whose nearest-even rounding to any format of <= 51
 * bits is the correct rounding of the exact sum. */
static inline double fsc_kadd(double a, double b, fsc_format_id fmt, fsc_rounding rnd)
{
    if (fmt == FSC_FMT_FP64 && rnd == FSC_RND_NEAREST_EVEN) return a + b;
    if (fmt == FSC_FMT_FP32 && rnd == FSC_RND_NEAREST_EVEN) {
        float fa = (float)a, fb = (float)b;
        if (fa == a && fb == b) return (double)(fa + fb); /* IEEE binary32 addition: one rounding */
    }
    double e, s = fsc_two_sum(a, b, &e);
    if (e == 0.0 || !isfinite(s)) return fsc_kround_mode(s, fmt, rnd); /* exact, or Inf/NaN */
    if (rnd == FSC_RND_NEAREST_EVEN && fmt != FSC_FMT_FP64) {
        uint64_t sb, eb;
        memcpy(&sb, &s, 8);
        memcpy(&eb, &e, 8);
        if (!(sb & 1)) sb += ((sb ^ eb) >> 63) ? UINT64_MAX : 1; /* step toward the exact sum */
        memcpy(&s, &sb, 8);
        return fsc_kround(s, fmt);
    }
    fsc_round_opts o = {rnd, true, false};
    return fsc_round_exact2(s, e, fmt, o);
}

/* a / b correctly rounded (once) to fmt, nearest-even: the remainder of the
 * double quotient (exact by fma) tells on which side the true quotient lies. */
static inline double fsc_kdiv(double a, double b, fsc_format_id fmt)
{
    double q = a / b;
    if (fmt == FSC_FMT_FP64 || !isfinite(q) || q == 0.0) return fsc_kround(q, fmt);
    /* Operands of <= 24 bits and a target of <= 24 bits: the exact quotient is
     * never within 2^-53 (relative) of a target midpoint unless on it, so the
     * double quotient rounds correctly. */
    if ((double)(float)a == a && (double)(float)b == b && fsc_kfmt[fmt].p <= 24) return fsc_kround(q, fmt);
    double r = fma(-q, b, a);
    if (r == 0.0) return fsc_kround(q, fmt);
    return fsc_round_exact2(q, r / b, fmt, fsc_round_default());
}

/* True when every value of format a is also a value of format b. */
static inline bool fsc_kfmt_within(fsc_format_id a, fsc_format_id b)
{
    const fsc_format *fa = fsc_format_get(a), *fb = fsc_format_get(b);
    return fa->p <= fb->p && fa->emax <= fb->emax && fa->emin - fa->p >= fb->emin - fb->p;
}

/* exp(x) in double from a fixed sequence of IEEE operations (range
 * reduction by n = round(x / ln 2), a degree-13 Taylor polynomial by fma
 * Horner, scaling by 2^(n-1) * 2), within about 2 ulp of the true value. The
 * SIMD kernels evaluate exactly the same operations lane by lane, so scalar
 * and vector results are bit-identical; below -708 it returns 0, which only
 * ever meets 1 + exp(.) in sigmoid-like uses where it changes nothing. */
#define FSC_KEXP_HI 709.79
#define FSC_KEXP_LO (-708.0)
static const double fsc_kexp_c[14] = {
    1.0, 1.0, 0x1p-1, 0x1.5555555555555p-3, 0x1.5555555555555p-5, 0x1.1111111111111p-7, 0x1.6c16c16c16c17p-10,
    0x1.a01a01a01a01ap-13, 0x1.a01a01a01a01ap-16, 0x1.71de3a556c734p-19, 0x1.27e4fb7789f5cp-22,
    0x1.ae64567f544e4p-26, 0x1.1eed8eff8d898p-29, 0x1.6124613a86d09p-33};
#define FSC_KEXP_LOG2E 0x1.71547652b82fep0
#define FSC_KEXP_LN2HI 0x1.62e42fee00000p-1
#define FSC_KEXP_LN2LO 0x1.a39ef35793c76p-33
#define FSC_KEXP_MAGIC 0x1.8p52

static inline __attribute__((always_inline)) double fsc_kexp(double x)
{
    if (isnan(x)) return x;
    if (x > FSC_KEXP_HI) return INFINITY;
    if (x < FSC_KEXP_LO) return 0.0;
    double t = x * FSC_KEXP_LOG2E + FSC_KEXP_MAGIC; /* n in the low bits, rounded to nearest */
    double n = t - FSC_KEXP_MAGIC;
    double r = fma(-n, FSC_KEXP_LN2HI, x);
    r = fma(-n, FSC_KEXP_LN2LO, r);
    double p = fsc_kexp_c[13];
    for (int i = 12; i >= 0; i--) p = fma(p, r, fsc_kexp_c[i]);
    int64_t tb;
    memcpy(&tb, &t, 8);
    uint64_t sb = (uint64_t)(tb - INT64_C(0x4338000000000000) + 1022) << 52; /* 2^(n-1) */
    double s;
    memcpy(&s, &sb, 8);
    return (p * s) * 2.0;
}

/* Number of threads a kernel may use. */
static inline int fsc_kthreads(const fsc_ctx *ctx)
{
    int t = ctx ? ctx->threads : 1;
    return t < 1 ? 1 : (t > 64 ? 64 : t);
}

#endif
