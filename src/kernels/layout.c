/* layout.c: data movement ops (reshape/identity copy, transpose, concat,
 * constant pad, slice, gather) on any element type, and cast. Float outputs
 * are rounded to a->storage (a no-op when the input is already of a format
 * within storage). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

static bool is_float_container(const fsc_tensor *t) { return t->dtype == FSC_DT_F32 || t->dtype == FSC_DT_F64; }

/* Rounds y's float elements to storage unless the source format is already within it. */
static void round_out(fsc_tensor *y, fsc_format_id src_fmt, const fsc_arith *a)
{
    if (!is_float_container(y) || fsc_kfmt_within(src_fmt, a->storage)) return;
    int64_t n = fsc_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) fsc_kset(y, i, fsc_kround(fsc_kget(y, i), a->storage));
}

static fsc_status same_container(const fsc_tensor *x, const fsc_tensor *y, fsc_error *err)
{
    if (x->dtype != y->dtype)
        return fsc_fail(err, FSC_ERR_INVALID, "input container %s does not match output container %s",
                        fsc_dtype_name(x->dtype), fsc_dtype_name(y->dtype));
    return FSC_OK;
}

static void strides_of(const fsc_shape *s, int64_t *st)
{
    int64_t k = 1;
    for (int i = s->rank - 1; i >= 0; i--) { st[i] = k; k *= s->dim[i]; }
}

fsc_status fsc_k_copy(const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y, fsc_error *err)
{
    if (same_container(x, y, err)) return err ? err->code : FSC_ERR_INVALID;
    if (fsc_tensor_numel(x) != fsc_tensor_numel(y))
        return fsc_fail(err, FSC_ERR_INVALID, "reshape changes the element count");
    if (x->nbytes) memcpy(y->data, x->data, x->nbytes);
    round_out(y, x->fmt, a);
    return FSC_OK;
}

fsc_status fsc_k_transpose(const fsc_attr_transpose *at, const fsc_tensor *x, const fsc_arith *a,
                           fsc_tensor *y, fsc_error *err)
{
    if (same_container(x, y, err)) return err ? err->code : FSC_ERR_INVALID;
    int r = x->shape.rank;
    int64_t xs[FSC_MAX_RANK], ps[FSC_MAX_RANK];
    strides_of(&x->shape, xs);
    for (int i = 0; i < r; i++) {
        if (at->perm[i] < 0 || at->perm[i] >= r) return fsc_fail(err, FSC_ERR_INVALID, "bad transpose permutation");
        ps[i] = xs[at->perm[i]];
    }
    size_t es = fsc_dtype_size(x->dtype);
    int64_t n = fsc_tensor_numel(y);
    int64_t idx[FSC_MAX_RANK] = {0}, off = 0;
    for (int64_t o = 0; o < n; o++) {
        memcpy((char *)y->data + (size_t)o * es, (const char *)x->data + (size_t)off * es, es);
        for (int i = r - 1; i >= 0; i--) { /* odometer over y's index, tracking x's offset */
            if (++idx[i] < y->shape.dim[i]) { off += ps[i]; break; }
            off -= ps[i] * (idx[i] - 1);
            idx[i] = 0;
        }
    }
    round_out(y, x->fmt, a);
    return FSC_OK;
}

fsc_status fsc_k_concat(const fsc_attr_axis *at, int n, const fsc_tensor *const *xs, const fsc_arith *a,
                        fsc_tensor *y, fsc_error *err)
{
    int r = y->shape.rank;
    int64_t ax = at->axis < 0 ? at->axis + r : at->axis;
    if (ax < 0 || ax >= r) return fsc_fail(err, FSC_ERR_INVALID, "concat axis %lld out of range", (long long)at->axis);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; i++) outer *= y->shape.dim[i];
    for (int i = (int)ax + 1; i < r; i++) inner *= y->shape.dim[i];
    size_t es = fsc_dtype_size(y->dtype);
    int64_t ychunk = y->shape.dim[ax] * inner, at_el = 0;
    bool all_within = true;
    for (int k = 0; k < n; k++) {
        if (same_container(xs[k], y, err)) return err ? err->code : FSC_ERR_INVALID;
        int64_t chunk = xs[k]->shape.dim[ax] * inner;
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)y->data + (size_t)(o * ychunk + at_el) * es, (const char *)xs[k]->data + (size_t)(o * chunk) * es,
                   (size_t)chunk * es);
        at_el += chunk;
        all_within = all_within && fsc_kfmt_within(xs[k]->fmt, a->storage);
    }
    if (!all_within) round_out(y, FSC_FMT_FP64, a);
    return FSC_OK;
}

/* Writes v (a double) into element i of any numeric container. */
static void put_value(fsc_tensor *y, int64_t i, double v) { fsc_tensor_set(y, i, v); }

fsc_status fsc_k_pad(const fsc_attr_pad *at, const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y,
                     fsc_error *err)
{
    if (same_container(x, y, err)) return err ? err->code : FSC_ERR_INVALID;
    int r = x->shape.rank;
    int64_t xs[FSC_MAX_RANK];
    strides_of(&x->shape, xs);
    size_t es = fsc_dtype_size(x->dtype);
    double pv = is_float_container(y) ? fsc_kround(at->value, a->storage) : at->value;
    int64_t n = fsc_tensor_numel(y);
    for (int64_t o = 0; o < n; o++) {
        int64_t q = o, off = 0;
        bool inside = true;
        for (int i = r - 1; i >= 0; i--) {
            int64_t c = q % y->shape.dim[i] - at->pads[i];
            q /= y->shape.dim[i];
            if (c < 0 || c >= x->shape.dim[i]) inside = false;
            off += c * xs[i];
        }
        if (inside) memcpy((char *)y->data + (size_t)o * es, (const char *)x->data + (size_t)off * es, es);
        else put_value(y, o, pv);
    }
    round_out(y, x->fmt, a);
    return FSC_OK;
}

fsc_status fsc_k_slice(const fsc_attr_slice *at, const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y,
                       fsc_error *err)
{
    if (same_container(x, y, err)) return err ? err->code : FSC_ERR_INVALID;
    int r = x->shape.rank;
    if (y->shape.rank != r) return fsc_fail(err, FSC_ERR_INVALID, "slice changes the rank");
    int64_t xs[FSC_MAX_RANK];
    strides_of(&x->shape, xs);
    for (int i = 0; i < r; i++) {
        if (y->shape.dim[i] == 0) return FSC_OK;
        int64_t step = at->step[i] ? at->step[i] : 1;
        int64_t last = at->start[i] + (y->shape.dim[i] - 1) * step;
        if (at->start[i] < 0 || at->start[i] >= x->shape.dim[i] || last < 0 || last >= x->shape.dim[i])
            return fsc_fail(err, FSC_ERR_INVALID, "slice on axis %d reads outside the input", i);
    }
    size_t es = fsc_dtype_size(x->dtype);
    int64_t n = fsc_tensor_numel(y);
    for (int64_t o = 0; o < n; o++) {
        int64_t q = o, off = 0;
        for (int i = r - 1; i >= 0; i--) {
            int64_t c = q % y->shape.dim[i];
            q /= y->shape.dim[i];
            off += (at->start[i] + c * (at->step[i] ? at->step[i] : 1)) * xs[i];
        }
        memcpy((char *)y->data + (size_t)o * es, (const char *)x->data + (size_t)off * es, es);
    }
    round_out(y, x->fmt, a);
    return FSC_OK;
}

fsc_status fsc_k_gather(const fsc_attr_axis *at, const fsc_tensor *x, const fsc_tensor *idx,
                        const fsc_arith *a, fsc_tensor *y, fsc_error *err)
{
    if (same_container(x, y, err)) return err ? err->code : FSC_ERR_INVALID;
    if (idx->dtype != FSC_DT_I32 && idx->dtype != FSC_DT_I64)
        return fsc_fail(err, FSC_ERR_INVALID, "gather indices must be int32 or int64, not %s", fsc_dtype_name(idx->dtype));
    int r = x->shape.rank;
    int64_t ax = at->axis < 0 ? at->axis + r : at->axis;
    if (ax < 0 || ax >= r) return fsc_fail(err, FSC_ERR_INVALID, "gather axis %lld out of range", (long long)at->axis);
    int64_t outer = 1, inner = 1, D = x->shape.dim[ax];
    for (int i = 0; i < ax; i++) outer *= x->shape.dim[i];
    for (int i = (int)ax + 1; i < r; i++) inner *= x->shape.dim[i];
    int64_t ni = fsc_tensor_numel(idx);
    size_t es = fsc_dtype_size(x->dtype);
    if (fsc_tensor_numel(y) != outer * ni * inner) return fsc_fail(err, FSC_ERR_INVALID, "gather output size mismatch");
    for (int64_t j = 0; j < ni; j++) {
        int64_t k = (int64_t)fsc_tensor_get(idx, j);
        if (k < 0) k += D;
        if (k < 0 || k >= D)
            return fsc_fail(err, FSC_ERR_INVALID, "gather index %lld out of range [-%lld, %lld)",
                            (long long)fsc_tensor_get(idx, j), (long long)D, (long long)D);
        for (int64_t o = 0; o < outer; o++)
            memcpy((char *)y->data + (size_t)((o * ni + j) * inner) * es, (const char *)x->data + (size_t)((o * D + k) * inner) * es,
                   (size_t)inner * es);
    }
    round_out(y, x->fmt, a);
    return FSC_OK;
}

/* ONNX float -> integer: truncate toward zero, saturate to [lo, hi], NaN -> 0. */
static double to_int(double v, double lo, double hi)
{
    if (isnan(v)) return 0.0;
    v = trunc(v);
    return v < lo ? lo : (v > hi ? hi : v);
}

fsc_status fsc_k_cast(const fsc_attr_cast *at, const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y,
                      fsc_error *err)
{
    int64_t n = fsc_tensor_numel(x);
    bool xf = is_float_container(x);
    for (int64_t i = 0; i < n; i++) {
        double v = fsc_tensor_get(x, i);
        switch (at->to) {
        case FSC_DT_F64: fsc_kset(y, i, fsc_kround(v, a->storage)); break;
        case FSC_DT_F32: fsc_kset(y, i, fsc_kround(fsc_kround(v, FSC_FMT_FP32), a->storage)); break;
        case FSC_DT_F16: fsc_kset(y, i, fsc_kround(fsc_kround(v, FSC_FMT_FP16), a->storage)); break;
        case FSC_DT_BF16: fsc_kset(y, i, fsc_kround(fsc_kround(v, FSC_FMT_BF16), a->storage)); break;
        case FSC_DT_BOOL: ((uint8_t *)y->data)[i] = v != 0.0; break;
        case FSC_DT_I8: ((int8_t *)y->data)[i] = xf ? (int8_t)to_int(v, -128, 127) : (int8_t)(int64_t)v; break;
        case FSC_DT_U8: ((uint8_t *)y->data)[i] = xf ? (uint8_t)to_int(v, 0, 255) : (uint8_t)(int64_t)v; break;
        case FSC_DT_I32:
            ((int32_t *)y->data)[i] = xf ? (int32_t)to_int(v, -2147483648.0, 2147483647.0) : (int32_t)(int64_t)v;
            break;
        case FSC_DT_I64:
            if (xf) ((int64_t *)y->data)[i] = (int64_t)to_int(v, -0x1p63, 0x1.fffffffffffffp62);
            else ((int64_t *)y->data)[i] = x->dtype == FSC_DT_I64 ? ((const int64_t *)x->data)[i] : (int64_t)v;
            break;
        default: return fsc_fail(err, FSC_ERR_UNSUPPORTED, "cast to %s", fsc_dtype_name(at->to));
        }
    }
    return FSC_OK;
}
