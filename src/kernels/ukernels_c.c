/* ukernels_c.c: portable C micro-kernels (MR = 4, NR = 8) of the fast
 * dot-product engine; the fallback where AVX2 is absent. */
#include <math.h>

#include "kernels/ukernels.h"

static void uk_f32_c(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    float acc[4][8] = {{0}};
    for (int64_t k = 0; k < K; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++) acc[i][j] = fmaf(wp[k * 4 + i], xt[k * ld + j], acc[i][j]);
    memcpy(outv, acc, sizeof acc);
}

static void uk_acc16_c(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const float *wp = wpv, *xt = xtv;
    float acc[4][8] = {{0}};
    for (int64_t k = 0; k < K; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++) acc[i][j] = fsc_step16(acc[i][j], wp[k * 4 + i] * xt[k * ld + j]);
    memcpy(outv, acc, sizeof acc);
}

static void uk_f64_c(int64_t K, const void *wpv, const void *xtv, int64_t ld, void *outv)
{
    const double *wp = wpv, *xt = xtv;
    double acc[4][8] = {{0}};
    for (int64_t k = 0; k < K; k++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++) acc[i][j] = fma(wp[k * 4 + i], xt[k * ld + j], acc[i][j]);
    memcpy(outv, acc, sizeof acc);
}

const fsc_ukr fsc_uk_portable[FSC_UK_COUNT] = {{4, 8, uk_f32_c}, {4, 8, uk_acc16_c}, {4, 8, uk_f64_c}};
