/* tensor.c: dense tensors, shapes, element access. */
#include "flipscope/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fsc_dtype_name(fsc_dtype dt)
{
    switch (dt) {
    case FSC_DT_F32: return "float32";
    case FSC_DT_F64: return "float64";
    case FSC_DT_F16: return "float16";
    case FSC_DT_BF16: return "bfloat16";
    case FSC_DT_I8: return "int8";
    case FSC_DT_U8: return "uint8";
    case FSC_DT_I32: return "int32";
    case FSC_DT_I64: return "int64";
    case FSC_DT_BOOL: return "bool";
    case FSC_DT_STRING: return "string";
    default: return "undefined";
    }
}

size_t fsc_dtype_size(fsc_dtype dt)
{
    switch (dt) {
    case FSC_DT_F64: case FSC_DT_I64: return 8;
    case FSC_DT_F32: case FSC_DT_I32: return 4;
    case FSC_DT_F16: case FSC_DT_BF16: return 2;
    case FSC_DT_I8: case FSC_DT_U8: case FSC_DT_BOOL: return 1;
    default: return 0;
    }
}

bool fsc_dtype_is_float(fsc_dtype dt)
{
    return dt == FSC_DT_F32 || dt == FSC_DT_F64 || dt == FSC_DT_F16 || dt == FSC_DT_BF16;
}

int64_t fsc_shape_numel(const fsc_shape *s)
{
    if (s->rank < 0 || s->rank > FSC_MAX_RANK) return -1;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dim[i] < 0) return -1;
        if (s->dim[i] != 0 && n > INT64_MAX / s->dim[i]) return -1;
        n *= s->dim[i];
    }
    return n;
}

bool fsc_shape_equal(const fsc_shape *a, const fsc_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dim[i] != b->dim[i]) return false;
    return true;
}

char *fsc_shape_str(const fsc_shape *s, char *buf, size_t len)
{
    if (!len) return buf;
    size_t at = 0;
    buf[0] = '\0';
    at += (size_t)snprintf(buf + at, len - at, "[");
    for (int i = 0; i < s->rank && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%lld", i ? ", " : "", (long long)s->dim[i]);
    if (at < len) snprintf(buf + at, len - at, "]");
    return buf;
}

fsc_shape fsc_shape_make(int rank, const int64_t *dims)
{
    fsc_shape s;
    memset(&s, 0, sizeof s);
    s.rank = rank;
    for (int i = 0; i < rank && i < FSC_MAX_RANK; i++) s.dim[i] = dims[i];
    return s;
}

fsc_status fsc_tensor_alloc(fsc_tensor *t, fsc_dtype dt, const fsc_shape *shape, size_t max_bytes, fsc_error *err)
{
    memset(t, 0, sizeof *t);
    size_t es = fsc_dtype_size(dt);
    if (es == 0 || dt == FSC_DT_F16 || dt == FSC_DT_BF16)
        return fsc_fail(err, FSC_ERR_INVALID, "cannot hold %s data in a tensor container", fsc_dtype_name(dt));
    int64_t n = fsc_shape_numel(shape);
    char sb[160];
    if (n < 0) return fsc_fail(err, FSC_ERR_INVALID, "invalid shape %s", fsc_shape_str(shape, sb, sizeof sb));
    if ((uint64_t)n > SIZE_MAX / es)
        return fsc_fail(err, FSC_ERR_LIMIT, "tensor of shape %s is too large to address",
                        fsc_shape_str(shape, sb, sizeof sb));
    size_t bytes = (size_t)n * es;
    if (max_bytes && bytes > max_bytes)
        return fsc_fail(err, FSC_ERR_LIMIT,
                        "tensor of shape %s needs %zu bytes, over the max_tensor_bytes limit of %zu "
                        "(raise it with --limit max_tensor_bytes=N)",
                        fsc_shape_str(shape, sb, sizeof sb), bytes, max_bytes);
    void *p = calloc(bytes ? bytes : 1, 1);
    if (!p)
        return fsc_fail(err, FSC_ERR_NOMEM, "out of memory allocating %zu bytes for a tensor of shape %s", bytes,
                        fsc_shape_str(shape, sb, sizeof sb));
    t->dtype = dt;
    t->fmt = dt == FSC_DT_F64 ? FSC_FMT_FP64 : FSC_FMT_FP32;
    t->shape = *shape;
    t->data = p;
    t->nbytes = bytes;
    return FSC_OK;
}

fsc_status fsc_tensor_clone(fsc_tensor *dst, const fsc_tensor *src, fsc_error *err)
{
    fsc_status st = fsc_tensor_alloc(dst, src->dtype, &src->shape, 0, err);
    if (st) return st;
    dst->fmt = src->fmt;
    if (src->nbytes) memcpy(dst->data, src->data, src->nbytes);
    return FSC_OK;
}

void fsc_tensor_free(fsc_tensor *t)
{
    if (!t) return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

int64_t fsc_tensor_numel(const fsc_tensor *t) { return fsc_shape_numel(&t->shape); }

double fsc_tensor_get(const fsc_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case FSC_DT_F32: return ((const float *)t->data)[i];
    case FSC_DT_F64: return ((const double *)t->data)[i];
    case FSC_DT_I8: return ((const int8_t *)t->data)[i];
    case FSC_DT_U8: return ((const uint8_t *)t->data)[i];
    case FSC_DT_I32: return ((const int32_t *)t->data)[i];
    case FSC_DT_I64: return (double)((const int64_t *)t->data)[i];
    case FSC_DT_BOOL: return ((const uint8_t *)t->data)[i] ? 1.0 : 0.0;
    default: return NAN;
    }
}

/* v clamped to [lo, hi], NaN to 0: converting a double outside an integer
 * type's range is undefined behaviour in C (found by fuzz_graph: a Pad value
 * of -8 stored into a uint8 tensor). */
static double clamp_int(double v, double lo, double hi) { return v != v ? 0.0 : (v < lo ? lo : (v > hi ? hi : v)); }

void fsc_tensor_set(fsc_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case FSC_DT_F32: ((float *)t->data)[i] = (float)v; break;
    case FSC_DT_F64: ((double *)t->data)[i] = v; break;
    case FSC_DT_I8: ((int8_t *)t->data)[i] = (int8_t)clamp_int(v, -128.0, 127.0); break;
    case FSC_DT_U8: ((uint8_t *)t->data)[i] = (uint8_t)clamp_int(v, 0.0, 255.0); break;
    case FSC_DT_I32: ((int32_t *)t->data)[i] = (int32_t)clamp_int(v, -2147483648.0, 2147483647.0); break;
    case FSC_DT_I64: ((int64_t *)t->data)[i] = (int64_t)clamp_int(v, -0x1p63, 0x1.fffffffffffffp62); break;
    case FSC_DT_BOOL: ((uint8_t *)t->data)[i] = v != 0.0; break;
    default: break;
    }
}

fsc_status fsc_tensor_to_float(fsc_tensor *dst, const fsc_tensor *src, fsc_dtype dt, fsc_error *err)
{
    if (dt != FSC_DT_F32 && dt != FSC_DT_F64)
        return fsc_fail(err, FSC_ERR_INVALID, "float container must be float32 or float64, not %s",
                        fsc_dtype_name(dt));
    fsc_status st = fsc_tensor_alloc(dst, dt, &src->shape, 0, err);
    if (st) return st;
    int64_t n = fsc_tensor_numel(src);
    for (int64_t i = 0; i < n; i++) fsc_tensor_set(dst, i, fsc_tensor_get(src, i));
    if (src->dtype == FSC_DT_F32 || src->dtype == FSC_DT_F64) dst->fmt = src->fmt;
    if (dt == FSC_DT_F32 && src->dtype == FSC_DT_F64 && src->fmt == FSC_FMT_FP64) dst->fmt = FSC_FMT_FP32;
    return FSC_OK;
}

int64_t fsc_tensor_argmax(const fsc_tensor *t)
{
    int64_t n = fsc_tensor_numel(t), best = -1;
    double bv = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = fsc_tensor_get(t, i);
        if (isnan(v)) continue;
        if (best < 0 || v > bv) {
            best = i;
            bv = v;
        }
    }
    return best;
}
