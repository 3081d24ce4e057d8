/* ukernels.h (internal): the micro-kernels of the fast dot-product engine
 * (gemm_fast.c), one file per instruction set. A micro-kernel computes MR x
 * NR dot products over K terms, out[i * NR + j] = sum_k wp[k * MR + i] *
 * xt[k * ld + j], each sum sequential in k from +0 (float outputs, double
 * for the fp64 kind). */
#ifndef FSC_UKERNELS_H
#define FSC_UKERNELS_H

#include <stdint.h>
#include <string.h>

#include "flipscope/format.h"
#include "kernels/kutil.h"

typedef enum fsc_uk_kind {
    FSC_UK_F32 = 0, /* fp32 accumulation with fused products (fmaf) */
    FSC_UK_ACC16,   /* fp16 accumulation of exact products of fp16 values */
    FSC_UK_F64,     /* fp64 accumulation (fma) */
    FSC_UK_COUNT
} fsc_uk_kind;

typedef void (*fsc_uk_fn)(int64_t K, const void *wp, const void *xt, int64_t ld, void *out);
typedef struct fsc_ukr {
    int mr, nr;
    fsc_uk_fn fn;
} fsc_ukr;

/* Micro-kernels of each variant, indexed by kind. */
extern const fsc_ukr fsc_uk_portable[FSC_UK_COUNT];
extern const fsc_ukr fsc_uk_avx2[FSC_UK_COUNT];
extern const fsc_ukr fsc_uk_avx512[FSC_UK_COUNT];

/* y[q] = round_storage(acc[q] + bias) for storage fp32, fp16 or bf16 (vector forms;
 * the AVX2 one returns how many elements it did, a multiple of 8). */
void fsc_epi_f32_avx512(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage);
int64_t fsc_epi_f32_avx2(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage);

/* y[q] = acc[q] + bias in binary64 (fp64 accumulation and storage). */
void fsc_epi_f64_avx512(const double *acc, double *y, int64_t n, double bias);
int64_t fsc_epi_f64_avx2(const double *acc, double *y, int64_t n, double bias);
/* y[q] = RN_fp16(acc[q] + bias) for fp16 values acc[q] and bias (fp16 accumulation). */
void fsc_epi_acc16_avx512(const float *acc, float *y, int64_t n, float bias);
int64_t fsc_epi_acc16_avx2(const float *acc, float *y, int64_t n, float bias);

/* In-place nearest-even rounding of n binary32 values to fmt (tf32, bf16 or fp16). */
void fsc_round_f32_avx512(float *v, int64_t n, fsc_format_id fmt);
void fsc_round_f32_avx2(float *v, int64_t n, fsc_format_id fmt);

/* One fp16-accumulation step: RN_fp16(acc + p) for an fp16 acc and an exact fp32 product p.
 * The fp32 sum is turned into the round-to-odd sum (TwoSum tells whether it
 * was inexact and on which side the exact sum lies), whose nearest-even
 * rounding to fp16 is the correct rounding of the exact sum (fp32 has more
 * than 11 + 2 bits). */
static inline float fsc_step16(float acc, float p)
{
    float s = acc + p, bb = s - acc, e = (acc - (s - bb)) + (p - bb);
    if (e != 0.0f && e == e) { /* e is NaN when acc is infinite: the sum is that infinity */
        uint32_t si, ei;
        memcpy(&si, &s, 4);
        memcpy(&ei, &e, 4);
        if (!(si & 1u)) si += ((si ^ ei) >> 31) ? UINT32_MAX : 1u;
        memcpy(&s, &si, 4);
    }
    return (float)fsc_kround((double)s, FSC_FMT_FP16);
}

#endif
