/* metrics.c: error metrics of a target tensor against a reference tensor,
 * defined over all elements (docs/localize.md gives the definitions).
 *
 * Sums of squares are taken on values scaled by a power of two (exact) so
 * they neither overflow nor underflow for any double data, and are
 * accumulated with Neumaier's compensated summation. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "flipscope/probe_localize.h"
#include "metrics_lanes.h"

static const char *const metric_names[FSC_METRIC_COUNT] = {
    [FSC_METRIC_MAX_ABS] = "max_abs", [FSC_METRIC_MEAN_ABS] = "mean_abs", [FSC_METRIC_REL_L2] = "rel_l2",
    [FSC_METRIC_SNR] = "snr",         [FSC_METRIC_PSNR] = "psnr",         [FSC_METRIC_MAX_ULP] = "max_ulp",
    [FSC_METRIC_BEYOND] = "beyond",
};

const char *fsc_metric_name(fsc_metric which)
{
    return (int)which >= 0 && which < FSC_METRIC_COUNT ? metric_names[which] : "?";
}

int fsc_metric_by_name(const char *name)
{
    for (int i = 0; i < FSC_METRIC_COUNT; i++)
        if (!strcmp(name, metric_names[i])) return i;
    return -1;
}

double fsc_metric_value(const fsc_err_metrics *m, fsc_metric which)
{
    switch (which) {
    case FSC_METRIC_MAX_ABS: return m->max_abs;
    case FSC_METRIC_MEAN_ABS: return m->mean_abs;
    case FSC_METRIC_REL_L2: return m->rel_l2;
    case FSC_METRIC_SNR: return m->snr_db;
    case FSC_METRIC_PSNR: return m->psnr_db;
    case FSC_METRIC_MAX_ULP: return m->max_ulp;
    case FSC_METRIC_BEYOND: return (double)m->beyond;
    default: return NAN;
    }
}

double fsc_metric_badness(const fsc_err_metrics *m, fsc_metric which)
{
    double v = fsc_metric_value(m, which);
    return which == FSC_METRIC_SNR || which == FSC_METRIC_PSNR ? -v : v;
}

/* Neumaier's compensated sum. */
typedef struct ksum {
    double s, c;
} ksum;

static void ksum_add(ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static double ksum_get(const ksum *k) { return k->s + k->c; }

/* The power-of-two exponent e with m * 2^-e in [0.5, 1) (0 for m == 0). */
static int scale_exp(double m)
{
    int e = 0;
    if (m > 0 && isfinite(m)) frexp(m, &e);
    return e;
}

/* Elements [at, at + n) of t as doubles (exact for every container). */
#define BLOCK 4096
static void load(const fsc_tensor *t, int64_t at, int64_t n, double *out)
{
    if (t->dtype == FSC_DT_F64) {
        memcpy(out, (const double *)t->data + at, (size_t)n * sizeof(double));
    } else if (t->dtype == FSC_DT_F32) {
        const float *p = (const float *)t->data + at;
        for (int64_t i = 0; i < n; i++) out[i] = p[i];
    } else {
        for (int64_t i = 0; i < n; i++) out[i] = fsc_tensor_get(t, at + i);
    }
}

/* 2^k as a double, for k in [-1022, 1023] (built from its bits: exact, and
 * much cheaper than ldexp in the per-element loop). */
static double pow2(int k)
{
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static bool is_float_container(const fsc_tensor *t) { return t->dtype == FSC_DT_F32 || t->dtype == FSC_DT_F64; }

static void scaled_sums(const fsc_tensor *t, const fsc_tensor *r, int64_t n, double max_d, double max_r, int *ed_out,
                        int *er_out, double *Sa, double *Sd, double *Sr);

fsc_status fsc_metrics_compute(const fsc_tensor *t, const fsc_tensor *r, fsc_format_id ulp_fmt, double atol,
                               double rtol, fsc_err_metrics *m, fsc_error *err)
{
    memset(m, 0, sizeof *m);
    int64_t n = fsc_tensor_numel(t);
    if (n != fsc_tensor_numel(r) || n < 0) {
        char s1[160], s2[160];
        return fsc_fail(err, FSC_ERR_INVALID, "cannot compare a tensor of shape %s with one of shape %s",
                        fsc_shape_str(&t->shape, s1, sizeof s1), fsc_shape_str(&r->shape, s2, sizeof s2));
    }
    if (!(atol >= 0) || !(rtol >= 0))
        return fsc_fail(err, FSC_ERR_INVALID, "tolerances must be non-negative (atol %g, rtol %g)", atol, rtol);
    if ((int)ulp_fmt < 0 || ulp_fmt >= FSC_FMT_COUNT) ulp_fmt = FSC_FMT_FP64;
    bool floats = is_float_container(t) || is_float_container(r);
    const fsc_format *fmt = fsc_format_get(ulp_fmt);
    m->n = n;
    m->identical = true;
    /* Pass 1: classification, maxima, tolerance, ULP, unscaled sums (used
     * when no square can over/underflow), in four lanes (metrics_lanes.c). */
    fsc_mlanes_cfg cfg = {.atol = atol, .rtol = rtol, .ulp_mode = !floats ? 0 : ulp_fmt == FSC_FMT_FP64 ? 2 : 1,
                          .p = fmt->p, .emin = fmt->emin};
    fsc_mlanes ls;
    fsc_mlanes_init(&ls);
    double tb[BLOCK], rb[BLOCK];
    for (int64_t i = 0; i < n; i += BLOCK) {
        int64_t len = n - i < BLOCK ? n - i : BLOCK, padded = (len + 3) & ~(int64_t)3;
        load(t, i, len, tb);
        load(r, i, len, rb);
        for (int64_t k = len; k < padded; k++) tb[k] = rb[k] = 0; /* zero pairs change nothing */
        fsc_mlanes_add(&ls, &cfg, tb, rb, padded);
    }
    m->identical = ls.identical;
    m->beyond = ls.beyond;
    m->nonfinite = ls.nonfinite;
    m->mismatched_special = ls.mismatched;
    double max_r = ls.max_r, max_d = ls.max_d, max_ulp = ls.max_ulp;
    m->pass = m->beyond == 0;
    if (m->nonfinite || m->mismatched_special) {
        /* A NaN or Inf where the reference has a finite value (or the other
         * way round) is an unbounded error: every metric says so. */
        m->max_abs = m->mean_abs = m->rel_l2 = m->max_ulp = INFINITY;
        m->snr_db = m->psnr_db = -INFINITY;
        return FSC_OK;
    }
    m->max_abs = max_d;
    m->max_ulp = max_ulp;
    if (max_d == 0) { /* t == r on every finite element */
        m->snr_db = m->psnr_db = INFINITY;
        return FSC_OK;
    }
    /* The unscaled sums are good when the largest terms are far from the
     * double range's ends (squares <= 2^900; terms that underflow weigh
     * < 2^-100 of the largest). Otherwise pass 2: scaled sums (exact
     * power-of-two scaling). */
    const double lo = pow2(-450), hi = pow2(450);
    double Sa, Sd, Sr;
    int er = 0, ed = 0;
    if (max_d >= lo && max_d <= hi && (max_r == 0 || (max_r >= lo && max_r <= hi))) {
        fsc_mlanes_sums(&ls, &Sa, &Sd, &Sr);
    } else {
        scaled_sums(t, r, n, max_d, max_r, &ed, &er, &Sa, &Sd, &Sr);
    }
    m->mean_abs = ldexp(Sa / (double)n, ed);
    const double l2 = log10(2.0);
    if (max_r == 0) {
        m->rel_l2 = INFINITY;
        m->snr_db = m->psnr_db = -INFINITY;
        return FSC_OK;
    }
    m->rel_l2 = ldexp(sqrt(Sd) / sqrt(Sr), ed - er);
    m->snr_db = 10.0 * (log10(Sr) - log10(Sd)) + 20.0 * l2 * (double)(er - ed);
    /* PSNR = 10 log10(max|r|^2 / (Sd 2^(2 ed) / n)) */
    m->psnr_db = 20.0 * log10(max_r) + 10.0 * log10((double)n) - 10.0 * log10(Sd) - 20.0 * l2 * (double)ed;
    return FSC_OK;
}

/* Pass 2 of fsc_metrics_compute: sums of |d|, d^2 and r^2 over finite
 * pairs, d scaled by 2^-ed and r by 2^-er (exponents of the maxima). */
static void scaled_sums(const fsc_tensor *t, const fsc_tensor *r, int64_t n, double max_d, double max_r, int *ed_out,
                        int *er_out, double *Sa, double *Sd, double *Sr)
{
    double tb[BLOCK], rb[BLOCK];
    int er = scale_exp(max_r), ed = scale_exp(max_d);
    /* x * 2^-e is the same correctly rounded value as ldexp(x, -e) while 2^-e is a normal double */
    double sd = ed >= -1022 && ed <= 1022 ? pow2(-ed) : 0, sr = er >= -1022 && er <= 1022 ? pow2(-er) : 0;
    ksum sa = {0, 0}, sd2 = {0, 0}, sr2 = {0, 0};
    for (int64_t i = 0; i < n; i++) {
        if (i % BLOCK == 0) {
            int64_t len = n - i < BLOCK ? n - i : BLOCK;
            load(t, i, len, tb);
            load(r, i, len, rb);
        }
        double tv = tb[i % BLOCK], rv = rb[i % BLOCK];
        if (!isfinite(rv)) continue;
        double d = sd ? fabs(tv - rv) * sd : ldexp(fabs(tv - rv), -ed), rs = sr ? rv * sr : ldexp(rv, -er);
        ksum_add(&sa, d);
        ksum_add(&sd2, d * d);
        ksum_add(&sr2, rs * rs);
    }
    *Sa = ksum_get(&sa);
    *Sd = ksum_get(&sd2);
    *Sr = ksum_get(&sr2);
    *ed_out = ed;
    *er_out = er;
}
