/* mlpackage.h: Core ML ML Programs in and out (.mlpackage directories and
 * bare .mlmodel files).
 *
 * Reading translates the program's ops into the IR (graph.h). Every MIL op
 * becomes one node, so an op inventory survives the trip: `const` ops are
 * CONSTANT nodes (op_type "const"), including the parameter consts the IR
 * absorbs into attributes (a conv's strides/pad/dilations/groups/pad_type,
 * reduce_mean's axes/keep_dims, quantize's output_dtype, ...), which stay as
 * CONSTANT nodes without consumers. A string const is a value of dtype
 * FSC_DT_STRING whose constant tensor is a U8 vector of the string's bytes.
 * The attributes of constexpr_* ops (quantized_data, scale, zero_point) are
 * initializers (constants without a node) named "<op>.<attribute>".
 *
 * Writing produces a spec-8 (iOS17 / macOS14, opset CoreML7) ML Program in
 * the conventions coremltools follows; see docs/formats.md.
 */
#ifndef FLIPSCOPE_MLPACKAGE_H
#define FLIPSCOPE_MLPACKAGE_H

#include <stddef.h>

#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads a .mlpackage directory, or a bare .mlmodel file whose constants are
 * all immediate values. Paths inside the package may not leave it. Errors
 * name the file and the op. */
fsc_status fsc_mlpackage_load(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);

/* Parses a serialized Model from memory; weights (may be NULL) stands for
 * @model_path/weights/weight.bin. For fuzzing and tests. */
fsc_status fsc_mlmodel_parse(const void *buf, size_t len, const void *weights, size_t weights_len,
                             const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);

/* Writes g as a .mlpackage directory at path. The package is assembled next
 * to path and renamed into place in one step: on failure an existing package
 * at path is left untouched. */
fsc_status fsc_mlpackage_save(const char *path, const fsc_graph *g, const fsc_ctx *ctx, fsc_error *err);

/* Serializes g into memory: the Model protobuf and its weight.bin (NULL and 0
 * when no constant needs blob storage). Both buffers are malloc'ed. */
fsc_status fsc_mlmodel_serialize(const fsc_graph *g, void **model, size_t *model_len, void **weights,
                                 size_t *weights_len, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
