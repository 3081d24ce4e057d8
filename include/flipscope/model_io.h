/* model_io.h: reading and writing models and arrays.
 *
 * Every writer goes through fsc_write_file_atomic (temporary name + rename),
 * so a failed or interrupted run never truncates an existing file. */
#ifndef FLIPSCOPE_MODEL_IO_H
#define FLIPSCOPE_MODEL_IO_H

#include <stddef.h>

#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a .npy file (format 1.0-3.0; little-endian float64/float32/float16,
 * int8, uint8, int32, int64, bool; C order). Float data lands in an F32
 * container (F64 for float64 files); *file_dtype (may be NULL) gets the
 * dtype in the file. Errors name the file and what is wrong. */
fsc_status fsc_npy_read(const char *path, const fsc_limits *lim, fsc_tensor *out, fsc_dtype *file_dtype,
                        fsc_error *err);
/* The same from memory (used by the file reader and the fuzzer). */
fsc_status fsc_npy_parse(const void *buf, size_t len, const fsc_limits *lim, fsc_tensor *out,
                         fsc_dtype *file_dtype, fsc_error *err);
/* Writes t as .npy with element type file_dtype (F64, F32, F16, I8, U8, I32, I64),
 * atomically. Float values are rounded to nearest-even into the file type. */
fsc_status fsc_npy_write(const char *path, const fsc_tensor *t, fsc_dtype file_dtype, fsc_error *err);

/* Reads a whole file into a new buffer (*data, freed by the caller), refusing
 * files larger than max_bytes (0 = no limit) with FSC_ERR_LIMIT. */
fsc_status fsc_read_file(const char *path, size_t max_bytes, void **data, size_t *len, fsc_error *err);
/* Writes data to path via a temporary file in the same directory + fsync + rename. */
fsc_status fsc_write_file_atomic(const char *path, const void *data, size_t len, fsc_error *err);

/* Resolves the inputs of graph g into out[0 .. g->n_inputs) (caller frees each):
 * specs are "FILE.npy" (single-input models) or "NAME=FILE.npy"; inputs not
 * given are drawn standard-normal from fsc_rng seeded with *seed (NULL: an
 * input left without data is an error). Shapes must match the declared ones. */
fsc_status fsc_inputs_load(const fsc_graph *g, const char *const *specs, int n_specs, const uint64_t *seed,
                           const fsc_ctx *ctx, fsc_tensor *out, fsc_error *err);

/* Loads a model by file type: .onnx, .mlpackage (directory), .mlmodel. */
fsc_status fsc_model_load(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);
/* Saves a model by the extension of path (.onnx, .mlpackage). */
fsc_status fsc_model_save(const char *path, const fsc_graph *g, const fsc_ctx *ctx, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
