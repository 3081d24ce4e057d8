/* half.c: binary16 and bfloat16 bit patterns <-> double, exactly. */
#include "core/half.h"

#include <math.h>
#include <string.h>

#include "flipscope/format.h"
#include "kernels/kutil.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HALF_X86 1
#endif

double fsc_half_to_double(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0) v = ldexp((double)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp((double)(m | 0x400), e - 25);
    return sign ? -v : v;
}

uint16_t fsc_double_to_half(double x)
{
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    if (isnan(x)) return 0x7e00;
    double r = fabs(fsc_rne(x, FSC_FMT_FP16));
    if (isinf(r)) return sign | 0x7c00;
    if (r == 0) return sign;
    int e2;
    frexp(r, &e2);
    int e = e2 - 1;
    if (e < -14) return sign | (uint16_t)ldexp(r, 24); /* subnormal: multiple of 2^-24 */
    uint16_t m = (uint16_t)(ldexp(r, 10 - e) - 1024.0);
    return sign | (uint16_t)((e + 15) << 10) | m;
}

double fsc_bf16_to_double(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t fsc_double_to_bf16(double x)
{
    if (isnan(x)) return 0x7fc0;
    float f = (float)fsc_rne(x, FSC_FMT_BF16); /* exact in float */
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}

/* One element, as the executor always rounded it. clang before 15 has no
 * _Float16 on x86 (the fuzz build): the portable conversion there. */
static float round_half1(double x)
{
#if defined(__FLT16_MAX__)
    return (float)(_Float16)x;
#else
    return (float)fsc_half_to_double(fsc_double_to_half(x));
#endif
}

#ifdef HALF_X86
/* The four 64-bit lanes of a compare mask as four 32-bit lanes. */
__attribute__((target("avx,f16c"))) static inline __m128i narrow_mask(__m256d m)
{
    __m128 lo = _mm256_castps256_ps128(_mm256_castpd_ps(m)), hi = _mm256_extractf128_ps(_mm256_castpd_ps(m), 1);
    return _mm_castps_si128(_mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)));
}

/* Four doubles at a time: the float truncation of x with its last bit set
 * when inexact is x rounded to odd in 24 bits, and rounding that to nearest
 * binary16 (F16C) is the correct rounding of x (24 >= 11 + 2). A group with
 * a NaN goes through round_half1 (same payloads as before). Returns how many
 * elements were done. */
__attribute__((target("avx,f16c"))) static int64_t round_half_f16c(const double *x, float *y, int64_t n)
{
    const __m256d mag = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d v = _mm256_loadu_pd(x + i);
        if (_mm256_movemask_pd(_mm256_cmp_pd(v, v, _CMP_UNORD_Q))) {
            for (int k = 0; k < 4; k++) y[i + k] = round_half1(x[i + k]);
            continue;
        }
        __m128 f = _mm256_cvtpd_ps(v); /* nearest */
        __m256d back = _mm256_cvtps_pd(f);
        __m128i above = narrow_mask(_mm256_cmp_pd(_mm256_and_pd(back, mag), _mm256_and_pd(v, mag), _CMP_GT_OQ));
        __m128i inexact = narrow_mask(_mm256_cmp_pd(back, v, _CMP_NEQ_OQ));
        __m128i fi = _mm_add_epi32(_mm_castps_si128(f), above); /* one step toward zero: the truncation */
        fi = _mm_or_si128(fi, _mm_and_si128(inexact, _mm_set1_epi32(1)));
        __m128i h = _mm_cvtps_ph(_mm_castsi128_ps(fi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_ps(y + i, _mm_cvtph_ps(h));
    }
    return i;
}
#endif

void fsc_round_half_f64(const double *x, float *y, int64_t n)
{
    int64_t i = 0;
#ifdef HALF_X86
    if (__builtin_cpu_supports("avx") && fsc_cpu_has_f16c()) i = round_half_f16c(x, y, n);
#endif
    for (; i < n; i++) y[i] = round_half1(x[i]);
}
