/* metrics_lanes.h (internal): pass 1 of fsc_metrics_compute over blocks of
 * doubles, in four interleaved lanes (element i of a block goes to lane
 * i % 4), so that an AVX2 version and a portable version compute
 * bit-identical results: every lane does the same IEEE operations in the
 * same order in both. */
#ifndef FSC_METRICS_LANES_H
#define FSC_METRICS_LANES_H

#include <stdbool.h>
#include <stdint.h>

#include "flipscope/format.h"

/* Running state of pass 1. Sums are Neumaier pairs per lane: s[k] + c[k]. */
typedef struct fsc_mlanes {
    double max_r, max_d, max_ulp;
    double sa_s[4], sa_c[4];    /* sum |d| */
    double sd_s[4], sd_c[4];    /* sum d^2 */
    double sr_s[4], sr_c[4];    /* sum r^2 */
    int64_t beyond, nonfinite, mismatched;
    bool identical;
} fsc_mlanes;

/* How distances are measured: grid positions of format f (ulp_mode 1),
 * fsc_ulp_distance in FP64 (2), or |d| for integer data (0). */
typedef struct fsc_mlanes_cfg {
    double atol, rtol;
    int ulp_mode;
    int p, emin; /* precision and minimum exponent of the ULP format (mode 1) */
} fsc_mlanes_cfg;

void fsc_mlanes_init(fsc_mlanes *s);
/* Adds elements tb[0..len), rb[0..len) (len a multiple of 4; pad with zero
 * pairs, which change nothing). Uses AVX2 when the CPU has it and the mode
 * is 1; the result is the same either way. */
void fsc_mlanes_add(fsc_mlanes *s, const fsc_mlanes_cfg *c, const double *tb, const double *rb, int64_t len);
/* The same, never vectorised (tests compare the two). */
void fsc_mlanes_add_scalar(fsc_mlanes *s, const fsc_mlanes_cfg *c, const double *tb, const double *rb, int64_t len);
/* The lanes' sums folded in a fixed order: Neumaier over the four s, plus
 * the four c. */
void fsc_mlanes_sums(const fsc_mlanes *s, double *Sa, double *Sd, double *Sr);

#endif
