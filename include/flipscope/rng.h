/* rng.h: a small seeded random number generator (xoshiro256** seeded by
 * splitmix64) with uniform and standard-normal draws. The same seed gives
 * the same stream on every machine with the same libm (normals use log and
 * sqrt through Marsaglia's polar method). */
#ifndef FLIPSCOPE_RNG_H
#define FLIPSCOPE_RNG_H

#include <stdint.h>

#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsc_rng {
    uint64_t s[4];
    double spare; /* second normal of the last polar pair */
    int has_spare;
} fsc_rng;

void fsc_rng_seed(fsc_rng *r, uint64_t seed);
uint64_t fsc_rng_u64(fsc_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double fsc_rng_uniform(fsc_rng *r);
/* Standard normal N(0, 1). */
double fsc_rng_normal(fsc_rng *r);
/* Fills a float tensor with standard normals (rounded to the container). */
void fsc_rng_fill_normal(fsc_rng *r, fsc_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
