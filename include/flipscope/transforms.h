/* transforms.h: graph transforms that produce new graphs: float16 precision,
 * calibration, and W8A8 quantization the way coremltools builds it
 * (docs/quantization.md; facts in docs/formats/coreml-w8a8.md).
 *
 * Every transform reads a graph and returns a new one (*out, freed by the
 * caller with fsc_graph_free); the input graph is never modified. Value and
 * node names of the input are kept; new ones are readable and deterministic
 * ("<x>_quantized", "<x>_dequantized", "<w>_quantized_data", ...).
 */
#ifndef FLIPSCOPE_TRANSFORMS_H
#define FLIPSCOPE_TRANSFORMS_H

#include <stdbool.h>
#include <stdint.h>

#include "flipscope/ctx.h"
#include "flipscope/format.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The float16 program coremltools' float16 compute precision produces: every
 * float value (inputs and outputs included) becomes FSC_DT_F16, float
 * constants are rounded to fp16 (nearest-even), no casts are inserted.
 * A constant with a finite value beyond fp16's range is refused. */
fsc_status fsc_to_fp16(const fsc_graph *g, fsc_graph **out, fsc_error *err);

/* x * sigmoid(x) (a Sigmoid feeding only that Mul) -> silu(x), the op
 * coremltools emits for SiLU; the Mul's name and output value are kept.
 * *n_fused may be NULL. */
fsc_status fsc_fuse_silu(const fsc_graph *g, fsc_graph **out, int *n_fused, fsc_error *err);

/* Range of one value over the calibration set. */
typedef struct fsc_range {
    double min, max;
    bool seen; /* false: never observed (constants, values the run did not produce) */
} fsc_range;

/* Calibration statistics: range[v] for every value id v of the calibrated graph. */
typedef struct fsc_calib_stats {
    int n_values;
    fsc_range *range;
    int n_samples;
} fsc_calib_stats;

void fsc_calib_stats_free(fsc_calib_stats *s);

/* Number of samples in `samples` for graph input `input` of g: samples is
 * either [N, <input shape>] or, when the input's first dimension is 1,
 * [N, <input shape without its first dimension>]. Checks dtype and shape;
 * FSC_ERR_INVALID with a message that says what is wrong. */
fsc_status fsc_calib_sample_count(const fsc_graph *g, const fsc_tensor *samples, int64_t *n, fsc_error *err);

/* Runs g (a single-input model) under configuration `config` (NULL: "emu:fp16")
 * once per sample and records min/max of every non-constant value; the
 * input's range comes from the raw sample data. NaNs are ignored. */
fsc_status fsc_calibrate(const fsc_graph *g, const char *config, const fsc_tensor *samples, const fsc_ctx *ctx,
                         fsc_calib_stats *stats, fsc_error *err);

/* N standard-normal samples stacked on axis 0 for g's single input, from a
 * seeded generator (deterministic across platforms; docs/quantization.md). */
fsc_status fsc_calib_random(const fsc_graph *g, uint64_t seed, int64_t count, fsc_tensor *samples,
                            fsc_error *err);

/* coremltools' activation scale: the range rounded to fmt, m = max(|rmin|, |rmax|),
 * scale = fmt(m / 127); a zero scale becomes 1. */
double fsc_act_scale(double rmin, double rmax, fsc_format_id fmt);

/* Float format of a program: FP16 when its float values are FSC_DT_F16, else FP32. */
fsc_format_id fsc_program_format(const fsc_graph *g);

/* Inserts activation quantize/dequantize pairs with coremltools' placement
 * rules and scale rule, then cancels back-to-back dequantize -> quantize with
 * identical parameters. stats must come from g. *n_pairs (may be NULL) gets
 * the number of pairs left. */
fsc_status fsc_insert_act_qdq(const fsc_graph *g, const fsc_calib_stats *stats, fsc_graph **out, int *n_pairs,
                              fsc_error *err);

/* Removes every dequantize -> quantize with the same scale, zero point and
 * integer type (consumers of the quantize read the dequantize's input), and
 * nodes left without consumers by it. *n_cancelled may be NULL. */
fsc_status fsc_cancel_dq_q(const fsc_graph *g, fsc_graph **out, int *n_cancelled, fsc_error *err);

/* Per-output-channel symmetric int8 weights: every float constant of rank > 1
 * with a consumer becomes constexpr_affine_dequantize(int8 data, scale [C],
 * zero point zeros [C], axis 0). A graph with no such constant is refused.
 * *n_weights may be NULL. */
fsc_status fsc_quantize_weights(const fsc_graph *g, fsc_graph **out, int *n_weights, fsc_error *err);

/* Program precision of fsc_quantize_w8a8. */
typedef enum fsc_precision { FSC_PREC_FP16 = 0, FSC_PREC_FP32 } fsc_precision;

/* The whole W8A8 build: SiLU fusion, to fp16 (FSC_PREC_FP16), calibrate under calib_config
 * (NULL: "emu:fp16" for fp16, "emu:fp32" for fp32), insert activation pairs,
 * quantize weights. */
fsc_status fsc_quantize_w8a8(const fsc_graph *g, const fsc_tensor *samples, const char *calib_config,
                             fsc_precision precision, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);

/* The seed's FP16 variant of a float model: SiLU fusion, then fsc_to_fp16
 * (for `flipscope synth --variant fp16`). */
fsc_status fsc_variant_fp16(const fsc_graph *g, fsc_graph **out, fsc_error *err);
/* The seed's W8A8 variant: fp16 program calibrated on `count` seeded
 * standard-normal samples (the seed: 8) under emu:fp16 (`synth --variant w8a8`). */
fsc_status fsc_variant_w8a8(const fsc_graph *g, uint64_t calib_seed, int64_t calib_count, const fsc_ctx *ctx,
                            fsc_graph **out, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
