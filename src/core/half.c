/* half.c: binary16 and bfloat16 bit patterns <-> double, exactly. */
#include "core/half.h"

#include <math.h>
#include <string.h>

#include "flipscope/format.h"

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
