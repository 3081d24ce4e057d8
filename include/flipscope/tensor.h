/* tensor.h: dense, contiguous, C-order tensors that own their buffer.
 *
 * Ownership: an fsc_tensor owns `data` (allocated by fsc_tensor_alloc or
 * fsc_tensor_clone) and frees it in fsc_tensor_free. Copying the struct by
 * value copies the pointer, not the data: use fsc_tensor_clone.
 *
 * Float tensors live in an F32 or F64 container. A value of a narrower format
 * (fp16, bf16, ...) is held in the container already rounded to that format;
 * `fmt` records which format the elements are known to be rounded to.
 */
#ifndef FLIPSCOPE_TENSOR_H
#define FLIPSCOPE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flipscope/format.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSC_MAX_RANK 8

/* Element types. F16/BF16 are logical types of model values and file dtypes
 * (.npy, weight blobs); in memory such data is held in an F32 container. */
typedef enum fsc_dtype {
    FSC_DT_UNDEF = 0,
    FSC_DT_F32,
    FSC_DT_F64,
    FSC_DT_F16,
    FSC_DT_BF16,
    FSC_DT_I8,
    FSC_DT_U8,
    FSC_DT_I32,
    FSC_DT_I64,
    FSC_DT_BOOL,
    FSC_DT_STRING, /* only as a graph value type (Core ML string consts); no tensor data */
    FSC_DT_COUNT
} fsc_dtype;

typedef struct fsc_shape {
    int rank;
    int64_t dim[FSC_MAX_RANK];
} fsc_shape;

typedef struct fsc_tensor {
    fsc_dtype dtype; /* container type: F32, F64, I8, U8, I32, I64 or BOOL */
    fsc_format_id fmt; /* for float containers: the format elements are rounded to */
    fsc_shape shape;
    void *data;
    size_t nbytes;
} fsc_tensor;

/* Name of a dtype ("float32", "float16", "int8", ...). */
const char *fsc_dtype_name(fsc_dtype dt);
/* Bytes per element of a container/file dtype (F16, BF16: 2); 0 for UNDEF/STRING. */
size_t fsc_dtype_size(fsc_dtype dt);
/* True for F32, F64, F16, BF16. */
bool fsc_dtype_is_float(fsc_dtype dt);

/* Number of elements; -1 when a dimension is negative or the product overflows int64. */
int64_t fsc_shape_numel(const fsc_shape *s);
bool fsc_shape_equal(const fsc_shape *a, const fsc_shape *b);
/* Writes "[1, 3, 224, 224]" into buf (always NUL-terminated); returns buf. */
char *fsc_shape_str(const fsc_shape *s, char *buf, size_t len);
/* Builds a shape from a rank and dims. */
fsc_shape fsc_shape_make(int rank, const int64_t *dims);

/* Allocates a zero-filled tensor of container dtype dt. Float containers get
 * fmt = FP32 (F32) or FP64 (F64). Refuses shapes whose byte size overflows or
 * exceeds max_bytes (0 = no limit) with FSC_ERR_LIMIT. */
fsc_status fsc_tensor_alloc(fsc_tensor *t, fsc_dtype dt, const fsc_shape *shape, size_t max_bytes,
                            fsc_error *err);
/* Deep copy of src into dst (dst is overwritten, not freed first). */
fsc_status fsc_tensor_clone(fsc_tensor *dst, const fsc_tensor *src, fsc_error *err);
/* Frees the buffer and zeroes the struct; safe on a zeroed tensor. */
void fsc_tensor_free(fsc_tensor *t);
int64_t fsc_tensor_numel(const fsc_tensor *t);

/* Element i of any numeric tensor as a double (exact for every container). */
double fsc_tensor_get(const fsc_tensor *t, int64_t i);
/* Stores v into element i, converting to the container (float: rounded to nearest;
 * integer: truncated toward zero, saturated to the type's range, NaN stored as 0). */
void fsc_tensor_set(fsc_tensor *t, int64_t i, double v);

/* New float tensor holding src's values in container dt (F32 or F64);
 * integer sources are converted exactly when representable. */
fsc_status fsc_tensor_to_float(fsc_tensor *dst, const fsc_tensor *src, fsc_dtype dt, fsc_error *err);

/* Index of the largest element (first on ties; NaN never wins); -1 if empty. */
int64_t fsc_tensor_argmax(const fsc_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
