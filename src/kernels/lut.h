/* lut.h (internal): elementwise functions of a small domain evaluated by
 * table. A tensor of int8 values has 256 possible elements and a tensor of
 * fp16 (or bf16) values 65536, so any chain of elementwise ops applied to it
 * is a function of that many inputs: evaluated once on every input (by the
 * ordinary kernels, src/core/exec_fuse.c), it is then one table lookup per
 * element. The lookup is exact by construction; its only condition is that
 * every element really is a value of the domain, which fsc_k_lut_apply
 * checks element by element (a float off the grid, or a NaN whose payload
 * the narrow format cannot hold, makes it return false). */
#ifndef FSC_KERNELS_LUT_H
#define FSC_KERNELS_LUT_H

#include <stdbool.h>
#include <stdint.h>

#include "flipscope/ctx.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

/* How an element indexes a table. */
typedef enum fsc_lut_key {
    FSC_LUT_I8,   /* int8 container: index (uint8_t)x */
    FSC_LUT_U8,   /* uint8 container: index x */
    FSC_LUT_FP16, /* F32 container holding binary16 values: index = their binary16 bit pattern */
    FSC_LUT_BF16, /* F32 container holding bfloat16 values: index = the upper 16 bits */
} fsc_lut_key;

/* One table: entries[j] is the output for the input of index j. */
typedef struct fsc_lut {
    fsc_dtype dtype;     /* of the output container: F32, F64, I8 or U8 */
    const void *entries; /* fsc_lut_entries(key) elements of that dtype */
    const int32_t *wide; /* for I8/U8 outputs: the same entries widened to int32 (gathers), else NULL */
} fsc_lut;

/* 256 or 65536. */
int64_t fsc_lut_entries(fsc_lut_key key);

/* Every input of the key's domain, in index order, as a tensor of the given
 * shape (numel must be fsc_lut_entries(key)): I8/U8 containers for the
 * integer keys, F32 for fp16/bf16 (fmt set to FP16 / BF16). */
fsc_status fsc_k_lut_domain(fsc_lut_key key, const fsc_shape *shape, fsc_tensor *out, fsc_error *err);

/* ys[k][i] = tables[k].entries[index(x[i])] for k < n (ys allocated by the
 * caller, same element count as x, containers of tables[k].dtype). Returns
 * false when some element of x is not a value the key indexes; the outputs
 * are then incomplete and the caller must compute them another way. */
bool fsc_k_lut_apply(fsc_lut_key key, const fsc_tensor *x, int n, const fsc_lut *tables, fsc_tensor *const *ys,
                     const fsc_ctx *ctx);

/* The same, one element at a time without SIMD: the reference the fast path is tested against. */
bool fsc_k_lut_apply_ref(fsc_lut_key key, const fsc_tensor *x, int n, const fsc_lut *tables, fsc_tensor *const *ys);

#endif
