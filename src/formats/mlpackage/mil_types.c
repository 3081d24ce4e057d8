/* mil_types.c: MIL and blob dtype numbers <-> IR dtypes, and fp16 bit conversion. */
#include <string.h>

#include "core/half.h"
#include "formats/mlpackage/mlp_internal.h"

fsc_dtype fsc_mlp_dtype_from_mil(int mil)
{
    switch (mil) {
    case MLP_BOOL: return FSC_DT_BOOL;
    case MLP_STRING: return FSC_DT_STRING;
    case MLP_FLOAT16: return FSC_DT_F16;
    case MLP_FLOAT32: return FSC_DT_F32;
    case MLP_INT8: return FSC_DT_I8;
    case MLP_UINT8: return FSC_DT_U8;
    case MLP_INT32: return FSC_DT_I32;
    case MLP_INT64: return FSC_DT_I64;
    default: return FSC_DT_UNDEF;
    }
}

int fsc_mlp_dtype_to_mil(fsc_dtype dt)
{
    switch (dt) {
    case FSC_DT_BOOL: return MLP_BOOL;
    case FSC_DT_STRING: return MLP_STRING;
    case FSC_DT_F16: return MLP_FLOAT16;
    case FSC_DT_F32: return MLP_FLOAT32;
    case FSC_DT_I8: return MLP_INT8;
    case FSC_DT_U8: return MLP_UINT8;
    case FSC_DT_I32: return MLP_INT32;
    case FSC_DT_I64: return MLP_INT64;
    default: return 0;
    }
}

int fsc_mlp_blob_dtype(fsc_dtype dt)
{
    switch (dt) {
    case FSC_DT_F16: return MLP_BLOB_F16;
    case FSC_DT_F32: return MLP_BLOB_F32;
    case FSC_DT_U8: return MLP_BLOB_U8;
    case FSC_DT_I8: return MLP_BLOB_I8;
    case FSC_DT_I32: return MLP_BLOB_I32; /* read only: the writer keeps int32 constants immediate */
    default: return 0;
    }
}

const char *fsc_mlp_mil_dtype_name(int mil)
{
    switch (mil) {
    case MLP_BOOL: return "bool";
    case MLP_STRING: return "string";
    case MLP_FLOAT16: return "fp16";
    case MLP_FLOAT32: return "fp32";
    case MLP_FLOAT64: return "fp64";
    case 13: return "bf16";
    case MLP_INT8: return "int8";
    case 22: return "int16";
    case MLP_INT32: return "int32";
    case MLP_INT64: return "int64";
    case 25: return "int4";
    case MLP_UINT8: return "uint8";
    case 32: return "uint16";
    case 33: return "uint32";
    case 34: return "uint64";
    default: return "unknown dtype";
    }
}

float fsc_mlp_half_to_float(uint16_t h)
{
    return (float)fsc_half_to_double(h);
}

uint16_t fsc_mlp_float_to_half(float f)
{
    return fsc_double_to_half(f);
}
