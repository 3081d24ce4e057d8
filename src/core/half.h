/* half.h (internal): bit-exact conversions between IEEE binary16 / bfloat16
 * bit patterns and doubles (used by file formats that store such data). */
#ifndef FSC_HALF_H
#define FSC_HALF_H

#include <stdint.h>

/* y[i] = x[i] rounded to binary16 (nearest-even, subnormals, overflow to
 * Inf), as a float: the same values as (float)(_Float16)x[i], NaNs included,
 * vectorised with F16C where the CPU has it (the executor's boundary
 * conversion of fp64 data to an fp16 device). */
void fsc_round_half_f64(const double *x, float *y, int64_t n);

/* Exact value of a binary16 bit pattern. */
double fsc_half_to_double(uint16_t h);
/* Bit pattern of x rounded to binary16 (nearest-even; overflow to Inf). */
uint16_t fsc_double_to_half(double x);
/* Exact value of a bfloat16 bit pattern. */
double fsc_bf16_to_double(uint16_t h);
/* Bit pattern of x rounded to bfloat16 (nearest-even). */
uint16_t fsc_double_to_bf16(double x);

#endif
