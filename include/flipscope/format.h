/* format.h: binary floating-point number formats as plain data, and correctly
 * rounded conversion into them (CPFloat-style).
 *
 * A format is described by its precision p (significand bits, implicit bit
 * included), its exponent range [emin, emax] of normal numbers, whether it has
 * subnormals, infinities, and its largest finite value. Values of every format
 * are held in a double, already rounded to the format.
 */
#ifndef FLIPSCOPE_FORMAT_H
#define FLIPSCOPE_FORMAT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fsc_format_id {
    FSC_FMT_FP64 = 0,
    FSC_FMT_FP32,
    FSC_FMT_TF32, /* NVIDIA TensorFloat-32: fp32 range, 11-bit significand */
    FSC_FMT_BF16,
    FSC_FMT_FP16,
    FSC_FMT_E4M3, /* OCP FP8 E4M3FN: no infinities, max 448 */
    FSC_FMT_E5M2, /* OCP FP8 E5M2: IEEE-like, max 57344 */
    FSC_FMT_COUNT
} fsc_format_id;

typedef struct fsc_format {
    const char *name; /* "fp64", "fp32", "tf32", "bf16", "fp16", "e4m3", "e5m2" */
    int p;            /* precision in bits, implicit bit included */
    int emin;         /* exponent of the smallest normal number */
    int emax;         /* exponent of the largest finite number */
    bool has_inf;     /* false for E4M3FN: overflow gives NaN (or saturates) */
    double max_finite;
} fsc_format;

typedef enum fsc_rounding {
    FSC_RND_NEAREST_EVEN = 0,
    FSC_RND_TOWARD_ZERO,
    FSC_RND_NEAREST_AWAY
} fsc_rounding;

/* How a conversion treats the edges of the format's range. */
typedef struct fsc_round_opts {
    fsc_rounding mode;
    bool subnormals; /* false: results below the normal range flush to signed zero */
    bool saturate;   /* true: overflow gives +-max_finite instead of Inf (NaN for E4M3FN) */
} fsc_round_opts;

/* The static description of a format. id must be < FSC_FORMAT_COUNT. */
const fsc_format *fsc_format_get(fsc_format_id id);

/* Looks a format up by name ("fp16", "bf16", ...); returns -1 when unknown. */
int fsc_format_by_name(const char *name);

/* Default options: nearest-even, subnormals on, no saturation (IEEE behaviour). */
fsc_round_opts fsc_round_default(void);

/* x correctly rounded to fmt (one rounding of the exact value x, never double
 * rounding). NaN stays NaN, +-Inf stays +-Inf (E4M3FN: NaN, or +-max when
 * saturating), the sign of zero is kept. */
double fsc_round(double x, fsc_format_id fmt, fsc_round_opts o);

/* The exact value hi + lo correctly rounded to fmt, where lo is the rounding
 * error of hi (|lo| <= ulp(hi)/2, as TwoSum or an exact product split gives).
 * This is how sums that do not fit in a double are rounded without error. */
double fsc_round_exact2(double hi, double lo, fsc_format_id fmt, fsc_round_opts o);

/* Shorthand: nearest-even with subnormals, no saturation. */
static inline double fsc_rne(double x, fsc_format_id fmt)
{
    fsc_round_opts o = {FSC_RND_NEAREST_EVEN, true, false};
    return fsc_round(x, fmt, o);
}

/* Distance in units in the last place of fmt between two values of fmt
 * (0 when equal, counting across zero; a NaN on either side gives -1). */
double fsc_ulp_distance(double a, double b, fsc_format_id fmt);

#ifdef __cplusplus
}
#endif
#endif
