/* onnx.h: ONNX models in and out of the graph IR.
 *
 * The reader accepts ModelProto files with static shapes (docs/formats.md lists
 * the operators and opsets); every error names the file and, where there is
 * one, the node: "seed.onnx: node 12 (Conv '/stem/0'): ...". The writer emits
 * ir_version 8 with the smallest default-domain opset (>= 13) that expresses
 * the graph. Ownership: *out is a new graph the caller frees with fsc_graph_free.
 */
#ifndef FLIPSCOPE_ONNX_H
#define FLIPSCOPE_ONNX_H

#include <stddef.h>

#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads an .onnx file into a new graph (file size, node count, names and tensor bytes checked against ctx limits). */
fsc_status fsc_onnx_load(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);
/* Like fsc_onnx_load, but a node that cannot be translated (an unsupported op, say)
 * becomes an FSC_OP_OPAQUE node keeping its op type, name, inputs and outputs, so
 * `flipscope inspect` can still list it; *note gets the first such error (FSC_OK when
 * there was none). Engines refuse graphs with opaque nodes. */
fsc_status fsc_onnx_load_for_inspection(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *note,
                                        fsc_error *err);
/* The same from a buffer (for the fuzzer and tests); messages say "<onnx buffer>" for the file. */
fsc_status fsc_onnx_parse(const void *buf, size_t len, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);
/* Serialises g as an ONNX ModelProto into a new buffer (*data, freed by the caller). */
fsc_status fsc_onnx_serialize(const fsc_graph *g, const fsc_ctx *ctx, void **data, size_t *len, fsc_error *err);
/* Writes g to path as ONNX, atomically (fsc_write_file_atomic). */
fsc_status fsc_onnx_save(const char *path, const fsc_graph *g, const fsc_ctx *ctx, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
