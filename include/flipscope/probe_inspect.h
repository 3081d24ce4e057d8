/* probe_inspect.h: the quantization-evidence probe (SEED.md stage 4).
 *
 * Reads a graph (no execution) and reports what it holds: op and output dtype
 * counts, keyword hits, which values are quantized / dequantized and by what,
 * which real ops consume them, and a classification. Works on graphs from
 * .mlpackage/.mlmodel (quantize, dequantize, constexpr_*) and ONNX
 * (QuantizeLinear, DequantizeLinear) alike, because it looks at IR op kinds:
 *   - weight dequantization: a DEQUANTIZE whose op_type starts with
 *     "constexpr_", or whose quantized input is an integer constant
 *     (ONNX DequantizeLinear fed by an integer initializer);
 *   - activation quantization: every other QUANTIZE / DEQUANTIZE;
 *   - real ops: conv, linear/gemm, matmul, add, mul, silu, relu, gelu,
 *     reduce_mean, reshape (IR kinds, so ONNX Conv, Gemm, ... count too).
 * Strings in the result point into the graph: keep the graph alive while the
 * result is used.
 */
#ifndef FLIPSCOPE_PROBE_INSPECT_H
#define FLIPSCOPE_PROBE_INSPECT_H

#include <stdbool.h>

#include "flipscope/graph.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsc_inspect_count {
    const char *name; /* op type as written in the source, or a dtype name */
    int count;
} fsc_inspect_count;

/* One op mentioned by the report. */
typedef struct fsc_inspect_ref {
    int node;
    const char *op_type;
    const char *name;
    const char *value;   /* hits: first output; producers: the value made; consumers: the value read */
    const char *detail;  /* hits: the keyword matched; consumers: op type of the value's producer;
                            producers: dtype of the value */
} fsc_inspect_ref;

typedef enum fsc_inspect_verdict {
    FSC_INSPECT_PAIRS_BEFORE_REAL_OPS = 0, /* quantize/dequantize pairs are present before real ops */
    FSC_INSPECT_PAIRS_NO_CONSUMERS,        /* present but no real-op consumers */
    FSC_INSPECT_WEIGHTS_ONLY,              /* weight compression only */
    FSC_INSPECT_NONE                       /* no quantization evidence */
} fsc_inspect_verdict;

typedef struct fsc_inspect_result {
    int n_ops;
    fsc_inspect_count *op_types;     /* by count (descending), then name */
    int n_op_types;
    fsc_inspect_count *out_dtypes;   /* dtypes of every op output */
    int n_out_dtypes;
    fsc_inspect_ref *hits;           /* at most max_hits */
    int n_hits, total_hits;
    fsc_inspect_ref *quantized;      /* values produced by quantize ops */
    int n_quantized;
    fsc_inspect_ref *dequantized;    /* values produced by dequantize / constexpr_* ops */
    int n_dequantized;
    fsc_inspect_ref *deq_consumers;  /* real ops reading a dequantized value (each op once) */
    int n_deq_consumers;
    fsc_inspect_count *deq_consumer_types;
    int n_deq_consumer_types;
    fsc_inspect_ref *q_consumers;    /* real ops reading a quantized value */
    int n_q_consumers;
    fsc_inspect_count *q_consumer_types;
    int n_q_consumer_types;
    int weight_dequant_ops;          /* constexpr_* / DequantizeLinear of integer constants */
    int quantize_ops;
    int dequantize_ops;              /* activation dequantize ops (weight ones excluded) */
    int real_ops_after_act_dequant;  /* real ops reading an activation dequantize's output */
    bool weight_evidence, activation_evidence;
    fsc_inspect_verdict verdict;
    const char *interpretation;      /* the verdict's sentence */
} fsc_inspect_result;

/* Inspects g; max_hits bounds the hits list (total_hits counts them all). */
fsc_status fsc_inspect_graph(const fsc_graph *g, int max_hits, fsc_inspect_result *out, fsc_error *err);
void fsc_inspect_result_free(fsc_inspect_result *r);

/* The sentence of a verdict. */
const char *fsc_inspect_verdict_text(fsc_inspect_verdict v);

#ifdef __cplusplus
}
#endif
#endif
