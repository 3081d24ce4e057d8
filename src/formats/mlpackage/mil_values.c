/* mil_values.c: MIL value types and values (immediate or blob) -> IR dtypes,
 * shapes and tensors, with every count checked against the declared type. */
#include <stdlib.h>
#include <string.h>

#include "formats/mlpackage/mil_read.h"

fsc_status fsc_mlp_type_shape(const Mlp_ValueType *vt, int *mil_dt, fsc_dtype *dt, fsc_shape *s, fsc_error *err)
{
    *mil_dt = 0;
    *dt = FSC_DT_UNDEF;
    memset(s, 0, sizeof *s);
    if (!vt || vt->type_case != CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_TENSOR_TYPE || !vt->tensortype)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "type is not a tensor type (lists, tuples, dicts, states are not supported)");
    const Mlp_TensorType *tt = vt->tensortype;
    if (tt->rank < 0)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "tensor of unknown rank (only static shapes are supported)");
    if (tt->rank > FSC_MAX_RANK)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "tensor of rank %lld (at most %d)", (long long)tt->rank, FSC_MAX_RANK);
    if ((int64_t)tt->n_dimensions != tt->rank)
        return fsc_fail(err, FSC_ERR_FORMAT, "tensor type of rank %lld lists %zu dimensions", (long long)tt->rank,
                        tt->n_dimensions);
    memset(s, 0, sizeof *s);
    s->rank = (int)tt->rank;
    for (int i = 0; i < s->rank; i++) {
        const Mlp_Dim *d = tt->dimensions[i];
        if (d->dimension_case != CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_CONSTANT || !d->constant)
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "dimension %d is not a constant (only static shapes are supported)", i);
        if (d->constant->size > (uint64_t)1 << 40)
            return fsc_fail(err, FSC_ERR_LIMIT, "dimension %d = %llu is absurdly large", i,
                            (unsigned long long)d->constant->size);
        s->dim[i] = (int64_t)d->constant->size;
    }
    if (fsc_shape_numel(s) < 0) return fsc_fail(err, FSC_ERR_LIMIT, "tensor shape overflows");
    *mil_dt = (int)tt->datatype;
    *dt = fsc_mlp_dtype_from_mil(*mil_dt);
    if (*dt == FSC_DT_UNDEF)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "dtype %s (%d) is not supported", fsc_mlp_mil_dtype_name(*mil_dt),
                        *mil_dt);
    return FSC_OK;
}

/* Container dtype of a value dtype (F16 data lives in F32, strings in U8 bytes). */
static fsc_dtype container_of(fsc_dtype dt)
{
    if (dt == FSC_DT_F16) return FSC_DT_F32;
    if (dt == FSC_DT_STRING) return FSC_DT_U8;
    return dt;
}

static fsc_status from_immediate(const Mlp_TensorValue *tv, fsc_dtype dt, int64_t n, fsc_tensor *t, fsc_error *err)
{
    if (!tv) return fsc_fail(err, FSC_ERR_FORMAT, "immediate value holds no tensor");
    switch (tv->value_case) {
    case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_FLOATS:
        if (dt != FSC_DT_F32 && dt != FSC_DT_F16) break;
        if ((int64_t)tv->floats->n_values != n)
            return fsc_fail(err, FSC_ERR_FORMAT, "immediate value holds %zu floats, the type needs %lld",
                            tv->floats->n_values, (long long)n);
        for (int64_t i = 0; i < n; i++) {
            float f = tv->floats->values[i];
            ((float *)t->data)[i] = dt == FSC_DT_F16 ? fsc_mlp_half_to_float(fsc_mlp_float_to_half(f)) : f;
        }
        return FSC_OK;
    case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES: {
        size_t esz = dt == FSC_DT_F16 ? 2 : (dt == FSC_DT_I8 || dt == FSC_DT_U8) ? 1 : 0;
        if (!esz) break;
        if (tv->bytes->values.len != (size_t)n * esz)
            return fsc_fail(err, FSC_ERR_FORMAT, "immediate value holds %zu bytes, the type needs %lld",
                            tv->bytes->values.len, (long long)n * (long long)esz);
        const uint8_t *b = tv->bytes->values.data;
        if (dt == FSC_DT_F16)
            for (int64_t i = 0; i < n; i++)
                ((float *)t->data)[i] = fsc_mlp_half_to_float((uint16_t)(b[2 * i] | b[2 * i + 1] << 8));
        else if (n)
            memcpy(t->data, b, (size_t)n);
        return FSC_OK;
    }
    case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS:
        if (dt != FSC_DT_I32 && dt != FSC_DT_I8 && dt != FSC_DT_U8) break;
        if ((int64_t)tv->ints->n_values != n)
            return fsc_fail(err, FSC_ERR_FORMAT, "immediate value holds %zu ints, the type needs %lld",
                            tv->ints->n_values, (long long)n);
        for (int64_t i = 0; i < n; i++) {
            int32_t v = tv->ints->values[i];
            if ((dt == FSC_DT_I8 && (v < -128 || v > 127)) || (dt == FSC_DT_U8 && (v < 0 || v > 255)))
                return fsc_fail(err, FSC_ERR_FORMAT, "immediate value %d is out of range for %s", v, fsc_dtype_name(dt));
            fsc_tensor_set(t, i, v);
        }
        return FSC_OK;
    case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_LONG_INTS:
        if (dt != FSC_DT_I64) break;
        if ((int64_t)tv->longints->n_values != n)
            return fsc_fail(err, FSC_ERR_FORMAT, "immediate value holds %zu int64s, the type needs %lld",
                            tv->longints->n_values, (long long)n);
        if (n) memcpy(t->data, tv->longints->values, (size_t)n * 8);
        return FSC_OK;
    case CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BOOLS:
        if (dt != FSC_DT_BOOL) break;
        if ((int64_t)tv->bools->n_values != n)
            return fsc_fail(err, FSC_ERR_FORMAT, "immediate value holds %zu bools, the type needs %lld",
                            tv->bools->n_values, (long long)n);
        for (int64_t i = 0; i < n; i++) ((uint8_t *)t->data)[i] = tv->bools->values[i] ? 1 : 0;
        return FSC_OK;
    default: break;
    }
    return fsc_fail(err, FSC_ERR_FORMAT, "immediate value kind %d does not match the declared dtype %s",
                    (int)tv->value_case, fsc_dtype_name(dt));
}

fsc_status fsc_mlp_decode_value(const Mlp_Value *v, fsc_mlp_blob_resolver resolve, void *user,
                                const fsc_limits *lim, fsc_dtype *dt_out, fsc_tensor *t, fsc_error *err)
{
    memset(t, 0, sizeof *t);
    if (!v) return fsc_fail(err, FSC_ERR_FORMAT, "value missing");
    int mil;
    fsc_dtype dt;
    fsc_shape s;
    fsc_status st = fsc_mlp_type_shape(v->type, &mil, &dt, &s, err);
    if (st) return st;
    int64_t n = fsc_shape_numel(&s);

    if (dt == FSC_DT_STRING) {
        const Mlp_Immediate *im = v->value_case == CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_IMMEDIATE_VALUE
                                      ? v->immediatevalue : NULL;
        const Mlp_TensorValue *tv = im && im->value_case == CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TENSOR
                                        ? im->tensor : NULL;
        if (s.rank != 0 || !tv || tv->value_case != CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS ||
            tv->strings->n_values != 1)
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "string values must be rank-0 immediate strings");
        const char *str = tv->strings->values[0];
        size_t len = strlen(str);
        if (lim->max_string && len > lim->max_string)
            return fsc_fail(err, FSC_ERR_LIMIT, "string of %zu bytes is over the max_string limit of %zu (raise it with --limit max_string=N)", len,
                            lim->max_string);
        fsc_shape bs = {.rank = 1, .dim = {(int64_t)len}};
        st = fsc_tensor_alloc(t, FSC_DT_U8, &bs, lim->max_tensor_bytes, err);
        if (st) return st;
        if (len) memcpy(t->data, str, len);
        *dt_out = dt;
        return FSC_OK;
    }

    st = fsc_tensor_alloc(t, container_of(dt), &s, lim->max_tensor_bytes, err);
    if (st) return st;
    if (dt == FSC_DT_F16) t->fmt = FSC_FMT_FP16;

    if (v->value_case == CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_IMMEDIATE_VALUE) {
        const Mlp_Immediate *im = v->immediatevalue;
        if (!im || im->value_case != CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TENSOR)
            st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "immediate value is not a tensor");
        else
            st = from_immediate(im->tensor, dt, n, t, err);
    } else if (v->value_case == CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_BLOB_FILE_VALUE) {
        const Mlp_BlobValue *bv = v->blobfilevalue;
        int bdt = fsc_mlp_blob_dtype(dt);
        const uint8_t *buf = NULL, *data = NULL;
        size_t len = 0;
        if (!bdt)
            st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "blob value of dtype %s is not supported", fsc_dtype_name(dt));
        else if (!resolve)
            st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "blob value '%s' but no weights are available", bv->filename);
        else if (!(st = resolve(user, bv->filename, &buf, &len, err)) &&
                 !(st = fsc_mlp_blob_get(buf, len, bv->offset, bdt, (uint64_t)n * fsc_dtype_size(dt), &data,
                                         bv->filename, err))) {
            if (dt == FSC_DT_F16)
                for (int64_t i = 0; i < n; i++)
                    ((float *)t->data)[i] = fsc_mlp_half_to_float((uint16_t)(data[2 * i] | data[2 * i + 1] << 8));
            else if (n)
                memcpy(t->data, data, (size_t)n * fsc_dtype_size(dt)); /* little-endian host (x86-64, arm64) */
        }
    } else {
        st = fsc_fail(err, FSC_ERR_FORMAT, "value has neither an immediate nor a blob");
    }
    if (st) {
        fsc_tensor_free(t);
        return st;
    }
    *dt_out = dt;
    return FSC_OK;
}
