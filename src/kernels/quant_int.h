/* quant_int.h (internal): the integer execution of W8A8 conv / linear under
 * an arithmetic model with quant = FSC_QUANT_INTEGER (arith.h).
 *
 * Pattern: conv2d or gemm whose x is dequantize(int8 q_x, scalar s_x) and whose
 * weight is dequantize(int8 constant q_w, scale s_w [Cout] or scalar, axis =
 * output channel), zero points absent or zero. Executed as
 *   acc = sum q_x * q_w  (int8 x int8 products, int32 accumulator)
 *       + b_q, b_q = round_half_even(b / (s_x * s_w_c)) as int32;
 * then, when the op's only consumer is quantize(., s_y) to int8 (the next
 * activation pair), requantized:
 *   q_y = clamp(round(acc * M), -128, 127), M = s_x * s_w_c / s_y,
 * with a->requant rounding, M either as float (ONNX Runtime / MLAS style:
 * M = fp32(fp32(s_x * s_w_c) / s_y), v = fp32(fp32(acc) * M), v rounded to an
 * integer) or, with a->requant_fixed_point, as gemmlowp's multiplier M0 (Q31,
 * in [2^30, 2^31)) and exponent e, M = M0 * 2^(e - 31), the exact product
 * acc * M0 rounded once by 2^(31 - e) (gemmlowp itself rounds twice). The op
 * then writes y = storage(s_y * q_y), which the quantize node maps back to q_y
 * exactly. Otherwise (the op feeds a float consumer or is an output) it writes
 * y = storage(acc * s_x * s_w_c) (the product is exact in a double).
 *
 * The kernel sees x as the dequantized tensor x' = storage(s_x * q_x); it
 * recovers q_x = round(x' / s_x), exact while the storage format keeps at
 * least 11 significand bits (|x'/s_x - q_x| <= 128 * 2^-11 < 1/2). */
#ifndef FSC_KERNELS_QUANT_INT_H
#define FSC_KERNELS_QUANT_INT_H

#include <stdint.h>

#include "kernels/kernels.h"

/* v / 2^r rounded to an integer with mode (0 <= r <= 63). */
int64_t fsc_qint_round_shift(int64_t v, int r, fsc_requant_rounding mode);
/* x rounded to an integer with mode. */
double fsc_qint_round(double x, fsc_requant_rounding mode);
/* gemmlowp's QuantizeMultiplier: m = m0 * 2^(e - 31), m0 in [2^30, 2^31). FSC_ERR_INVALID unless 0 < m < 2^31. */
fsc_status fsc_qint_multiplier(double m, int32_t *m0, int *e, fsc_error *err);
/* One accumulator requantized to int8 under a (a->requant, a->requant_fixed_point);
 * m = s_x * s_w_c / s_y is given as its parts (s_x * s_w_c, s_y). */
fsc_status fsc_qint_requantize(int32_t acc, double sxw, double sy, const fsc_arith *a, int8_t *q, fsc_error *err);

/* True when node matches the pattern above (conv2d or gemm reading dequantized int8). */
bool fsc_qint_applies(const fsc_graph *g, int node);
/* Runs such a node in the integer pipeline; in[] and out[] as fsc_kernel_run. */
fsc_status fsc_qint_run(const fsc_graph *g, int node, const fsc_arith *a, const fsc_ctx *ctx,
                        const fsc_tensor *const *in, fsc_tensor *out, fsc_error *err);

#endif
