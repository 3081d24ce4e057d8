/* qdq.h (internal): recognising the QDQ (W8A8) patterns that int8 backends
 * (onednn:s8, xnnpack:qs8) run as real integer kernels. */
#ifndef FSC_QDQ_H
#define FSC_QDQ_H

#include <stdbool.h>

#include "flipscope/graph.h"

/* Quantize f32 -> int8 with a constant scalar scale, or dequantize int8 ->
 * f32 with a constant scalar or 1-D (per-axis) scale; zero point absent or 0. */
bool fsc_qdq_simple(const fsc_graph *g, const fsc_node *n);
/* The simple dequantize node producing value v, or NULL. */
const fsc_node *fsc_qdq_dequant_of(const fsc_graph *g, int v);
/* The only reader of value v when it is a simple quantize, else NULL. */
const fsc_node *fsc_qdq_quant_consumer(const fsc_graph *g, int v);
/* A W8A8 convolution: activation from a scalar-scale simple dequantize,
 * weights from a simple dequantize of a constant int8 tensor (per-tensor or
 * per-output-channel scales). */
bool fsc_qdq_conv(const fsc_graph *g, const fsc_node *n);

#endif
