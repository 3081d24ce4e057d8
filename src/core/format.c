/* format.c: number formats and correctly rounded conversion.
 *
 * Rounding works on the exact double input: scale x by a power of two so the
 * format's quantum (the spacing of representable values at x's magnitude)
 * becomes 1, round to an integer with the requested mode, scale back. Both
 * scalings are exact, so the result is rounded exactly once. */
#include "flipscope/format.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static const fsc_format formats[FSC_FMT_COUNT] = {
    [FSC_FMT_FP64] = {"fp64", 53, -1022, 1023, true, DBL_MAX},
    [FSC_FMT_FP32] = {"fp32", 24, -126, 127, true, 0x1.fffffep127},
    [FSC_FMT_TF32] = {"tf32", 11, -126, 127, true, 0x1.ffcp127},
    [FSC_FMT_BF16] = {"bf16", 8, -126, 127, true, 0x1.fep127},
    [FSC_FMT_FP16] = {"fp16", 11, -14, 15, true, 65504.0},
    /* OCP 8-bit floating point spec: E4M3 reserves S.1111.111 for NaN, so the
     * top binade stops at 1.75 * 2^8 = 448 and there is no infinity. */
    [FSC_FMT_E4M3] = {"e4m3", 4, -6, 8, false, 448.0},
    [FSC_FMT_E5M2] = {"e5m2", 3, -14, 15, true, 57344.0},
};

const fsc_format *fsc_format_get(fsc_format_id id)
{
    if ((int)id < 0 || id >= FSC_FMT_COUNT) return NULL;
    return &formats[id];
}

int fsc_format_by_name(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < FSC_FMT_COUNT; i++)
        if (strcmp(formats[i].name, name) == 0) return i;
    return -1;
}

fsc_round_opts fsc_round_default(void)
{
    fsc_round_opts o = {FSC_RND_NEAREST_EVEN, true, false};
    return o;
}

/* Result for a magnitude that exceeds max_finite after rounding. */
static double overflow_value(const fsc_format *f, double sign, fsc_round_opts o)
{
    if (o.saturate || o.mode == FSC_RND_TOWARD_ZERO) return sign * f->max_finite;
    return f->has_inf ? sign * INFINITY : NAN;
}

double fsc_round(double x, fsc_format_id id, fsc_round_opts o)
{
    const fsc_format *f = &formats[id];
    if (isnan(x)) return x;
    double sign = signbit(x) ? -1.0 : 1.0;
    if (isinf(x)) { /* not an overflow: an infinity stays one where the format has it */
        if (f->has_inf) return x;
        return o.saturate ? sign * f->max_finite : NAN;
    }
    if (x == 0.0) return x;
    if (id == FSC_FMT_FP64) {
        if (!o.subnormals && fabs(x) < DBL_MIN) return sign * 0.0;
        return x;
    }
    int e2;
    frexp(x, &e2); /* |x| = m * 2^e2, m in [0.5, 1) */
    int e = e2 - 1; /* exponent of x's leading bit */
    int qe = (o.subnormals && e < f->emin ? f->emin : e) - (f->p - 1);
    double y = ldexp(x, -qe); /* exact: a power-of-two scaling */
    double r;
    switch (o.mode) {
    case FSC_RND_TOWARD_ZERO: r = trunc(y); break;
    case FSC_RND_NEAREST_AWAY: r = round(y); break;
    default: {
        /* Half to even without depending on the FPU rounding mode. */
        double fl = floor(y), diff = y - fl;
        if (diff > 0.5) r = fl + 1.0;
        else if (diff < 0.5) r = fl;
        else r = fmod(fl, 2.0) == 0.0 ? fl : fl + 1.0;
        break;
    }
    }
    double res = ldexp(r, qe);
    if (fabs(res) > f->max_finite) return overflow_value(f, sign, o);
    if (!o.subnormals && fabs(res) < ldexp(1.0, f->emin)) return sign * 0.0;
    if (res == 0.0) return sign * 0.0;
    return res;
}

double fsc_round_exact2(double hi, double lo, fsc_format_id id, fsc_round_opts o)
{
    /* Renormalise with TwoSum so s = RN(hi + lo) and e is its exact error. */
    double s = hi + lo;
    if (isinf(s) && isfinite(hi) && isfinite(lo)) /* the exact sum is finite but beyond DBL_MAX */
        return overflow_value(&formats[id], signbit(s) ? -1.0 : 1.0, o);
    double bb = s - hi;
    double e = (hi - (s - bb)) + (lo - bb);
    if (e == 0.0 || !isfinite(s)) return fsc_round(s, id, o);
    bool away_from_zero = (e > 0) == (s > 0); /* does the true value lie beyond s? */
    if (id == FSC_FMT_FP64) {
        /* s is the nearest double (ties to even). Truncation moves off it when
         * the true value is nearer zero; nearest-away when the true value was
         * a midpoint that s rounded toward zero. */
        if (o.mode == FSC_RND_TOWARD_ZERO && !away_from_zero) return nextafter(s, 0.0);
        if (o.mode == FSC_RND_NEAREST_AWAY && away_from_zero) {
            double n = nextafter(s, s > 0 ? INFINITY : -INFINITY);
            if (isfinite(n) && n - s == 2.0 * e) return n;
        }
        return s;
    }
    /* Where s sits on the format's unbounded grid (overflow is decided later
     * by fsc_round): y = s / quantum, an exact scaling. */
    const fsc_format *f = &formats[id];
    int e2;
    frexp(s, &e2);
    int qe = (o.subnormals && e2 - 1 < f->emin ? f->emin : e2 - 1) - (f->p - 1);
    double y = ldexp(s, -qe);
    double frac = fabs(y - trunc(y)); /* exact */
    fsc_round_opts tz = o;
    tz.mode = FSC_RND_TOWARD_ZERO;
    if (frac == 0.0) {
        /* s is on the grid: only truncation of a slightly smaller value moves. */
        if (o.mode == FSC_RND_TOWARD_ZERO && !away_from_zero) return fsc_round(nextafter(s, 0.0), id, tz);
        return fsc_round(s, id, o);
    }
    /* Otherwise the true value lies strictly between the same two grid points
     * as s, and on the same side of their midpoint unless s is the midpoint:
     * then the sign of e decides. */
    if (frac == 0.5 && o.mode != FSC_RND_TOWARD_ZERO) /* one double off s is still short of the next grid point */
        return fsc_round(nextafter(s, away_from_zero ? copysign(INFINITY, s) : 0.0), id, o);
    return fsc_round(s, id, o);
}

/* Position of a value of format id on the ordered grid of non-negative values. */
static double grid_index(double ax, const fsc_format *f)
{
    if (ax == 0.0) return 0.0;
    if (isinf(ax)) return grid_index(f->max_finite, f) + 1.0;
    int e2;
    frexp(ax, &e2);
    int e = e2 - 1;
    if (e < f->emin) return ldexp(ax, -(f->emin - (f->p - 1)));
    double m = ldexp(ax, -(e - (f->p - 1))); /* integer significand in [2^(p-1), 2^p) */
    return (double)(e - f->emin + 1) * ldexp(1.0, f->p - 1) + (m - ldexp(1.0, f->p - 1));
}

double fsc_ulp_distance(double a, double b, fsc_format_id id)
{
    if (isnan(a) || isnan(b)) return -1.0;
    if (id == FSC_FMT_FP64) {
        /* Map doubles to a monotone integer line through their bit patterns. */
        int64_t ia, ib;
        memcpy(&ia, &a, 8);
        memcpy(&ib, &b, 8);
        if (ia < 0) ia = INT64_MIN - ia;
        if (ib < 0) ib = INT64_MIN - ib;
        __int128 d = (__int128)ia - (__int128)ib; /* exact: the difference can exceed int64 */
        return (double)(d < 0 ? -d : d);
    }
    const fsc_format *f = &formats[id];
    double ia = grid_index(fabs(a), f) * (signbit(a) ? -1.0 : 1.0);
    double ib = grid_index(fabs(b), f) * (signbit(b) ? -1.0 : 1.0);
    return fabs(ia - ib);
}
