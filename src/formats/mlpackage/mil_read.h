/* mil_read.h (internal): pieces of the MIL program reader shared by its files. */
#ifndef FSC_MIL_READ_H
#define FSC_MIL_READ_H

#include "formats/mlpackage/mlp_internal.h"

/* A tensor ValueType -> MIL dtype number, IR dtype and static shape. */
fsc_status fsc_mlp_type_shape(const Mlp_ValueType *vt, int *mil_dt, fsc_dtype *dt, fsc_shape *s, fsc_error *err);

/* Decodes a Value (immediate or blob) into a new tensor; *dt gets the IR dtype
 * (F16 data in an F32 container with fmt FP16; a string as U8 bytes). */
fsc_status fsc_mlp_decode_value(const Mlp_Value *v, fsc_mlp_blob_resolver resolve, void *user,
                                const fsc_limits *lim, fsc_dtype *dt, fsc_tensor *t, fsc_error *err);

#endif
