/* quant.c: quantize / dequantize in fake-quant mode (a->quant = FAKE).
 * quantize: t = x / s correctly rounded to a->quant_compute (nearest-even),
 * r = t rounded to an integer with a->quant_rounding, q = clamp(r + zp) to
 * the int8/uint8 range; NaN gives zp. dequantize: x' = s * (q - zp)
 * correctly rounded to a->storage. Scales are per tensor (one element) or
 * per axis (a 1-D tensor along attr.axis). */
#include <math.h>
#include <stdint.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

/* Resolves per-axis indexing: element i uses parameter (i / inner) % D, or 0 when per tensor. */
typedef struct qindex {
    int64_t inner, D;
} qindex;

static fsc_status qindex_make(const fsc_attr_quant *at, const fsc_tensor *x, const fsc_tensor *scale,
                              const fsc_tensor *zp, qindex *qi, fsc_error *err)
{
    int64_t ns = fsc_tensor_numel(scale);
    if (zp && fsc_tensor_numel(zp) != ns)
        return fsc_fail(err, FSC_ERR_INVALID, "zero point has %lld elements, scale %lld",
                        (long long)fsc_tensor_numel(zp), (long long)ns);
    if (zp && zp->dtype != FSC_DT_I8 && zp->dtype != FSC_DT_U8)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "zero point of type %s", fsc_dtype_name(zp->dtype));
    qi->inner = 1;
    qi->D = 1;
    if (ns == 1) return FSC_OK;
    int r = x->shape.rank;
    int64_t ax = at->axis < 0 ? at->axis + r : at->axis;
    if (ax < 0 || ax >= r || x->shape.dim[ax] != ns)
        return fsc_fail(err, FSC_ERR_INVALID, "per-axis scale of %lld elements does not match axis %lld",
                        (long long)ns, (long long)at->axis);
    for (int i = (int)ax + 1; i < r; i++) qi->inner *= x->shape.dim[i];
    qi->D = ns;
    return FSC_OK;
}

static double round_int(double t, fsc_rounding mode)
{
    switch (mode) {
    case FSC_RND_TOWARD_ZERO: return trunc(t);
    case FSC_RND_NEAREST_AWAY: return round(t);
    default: {
        double fl = floor(t), d = t - fl;
        if (d > 0.5) return fl + 1.0;
        if (d < 0.5) return fl;
        return fmod(fl, 2.0) == 0.0 ? fl : fl + 1.0;
    }
    }
}

fsc_status fsc_k_quantize(const fsc_attr_quant *at, const fsc_tensor *x, const fsc_tensor *scale,
                          const fsc_tensor *zp, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    int nt = fsc_kthreads(ctx);
    if (a->quant != FSC_QUANT_FAKE)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "integer quantization mode is not handled by the float kernels");
    if (y->dtype != FSC_DT_I8 && y->dtype != FSC_DT_U8)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "quantize to %s", fsc_dtype_name(y->dtype));
    qindex qi;
    fsc_status st = qindex_make(at, x, scale, zp, &qi, err);
    if (st) return st;
    double lo = y->dtype == FSC_DT_I8 ? -128.0 : 0.0, hi = y->dtype == FSC_DT_I8 ? 127.0 : 255.0;
    int64_t n = fsc_tensor_numel(x);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t c = (i / qi.inner) % qi.D;
        double s = fsc_tensor_get(scale, c), z = zp ? fsc_tensor_get(zp, c) : 0.0;
        double v = fsc_tensor_get(x, i);
        double q;
        if (isnan(v)) q = z;
        else {
            q = round_int(fsc_kdiv(v, s, a->quant_compute), a->quant_rounding) + z;
            q = q < lo ? lo : (q > hi ? hi : q);
        }
        if (y->dtype == FSC_DT_I8) ((int8_t *)y->data)[i] = (int8_t)q;
        else ((uint8_t *)y->data)[i] = (uint8_t)q;
    }
    return FSC_OK;
}

fsc_status fsc_k_dequantize(const fsc_attr_quant *at, const fsc_tensor *q, const fsc_tensor *scale,
                            const fsc_tensor *zp, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    int nt = fsc_kthreads(ctx);
    if (a->quant != FSC_QUANT_FAKE)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "integer quantization mode is not handled by the float kernels");
    if (q->dtype != FSC_DT_I8 && q->dtype != FSC_DT_U8 && q->dtype != FSC_DT_I32)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "dequantize from %s", fsc_dtype_name(q->dtype));
    qindex qi;
    fsc_status st = qindex_make(at, q, scale, zp, &qi, err);
    if (st) return st;
    int64_t n = fsc_tensor_numel(q);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t c = (i / qi.inner) % qi.D;
        double s = fsc_tensor_get(scale, c), z = zp ? fsc_tensor_get(zp, c) : 0.0;
        double d = fsc_tensor_get(q, i) - z; /* exact: small integers */
        double p = d * s, e = fma(d, s, -p);
        double r = (e == 0.0 || !isfinite(p)) ? fsc_kround(p, a->storage)
                                              : fsc_round_exact2(p, e, a->storage, fsc_round_default());
        fsc_kset(y, i, r);
    }
    return FSC_OK;
}
