/* arith.h: arithmetic models. An arithmetic model is data, not code: one
 * struct that says how a backend computes, honoured by every kernel.
 *
 * Semantics of a dot product sum_k a_k * w_k (+ bias) under a model M:
 *   - a_k are activations already rounded to M.storage, w_k weights already
 *     rounded to M.weights; both are then rounded to M.operand with
 *     M.operand_rounding as they enter the dot product (a no-op unless the
 *     unit reads a narrower format, as TF32 tensor cores do);
 *   - each product is rounded to M.product (FP64 means "exact": for inputs of
 *     fp32 or narrower the product of two values is exact in a double, so the
 *     product-then-add is a fused multiply-add into M.accum);
 *   - the running sum is rounded to M.accum with M.rounding after every
 *     addition, in the order M.order (sequential k = 0..K-1; pairwise
 *     recursive halving; or blocked: sequential sums of M.block terms, then
 *     the block sums added sequentially);
 *   - or, when M.block_fma.block > 0, the tensor-core block FMA (fsc_blockfma
 *     below, src/core/blockfma.c; operands rounded to block_fma.in first);
 *   - the bias, when present, is added once after the dot product, in M.accum;
 *   - the result is rounded to M.storage (nearest-even) when the op writes it.
 * Elementwise ops compute in double from their (already rounded) inputs and
 * round once to M.storage; with transcendental = STORAGE each intermediate
 * step of a composite function (sigmoid = 1 / (1 + exp(-x))) is rounded too.
 * Reductions (mean, pooling, softmax sums, normalisation statistics) sum in
 * M.reduce with M.reduce_order, divide in M.reduce, round to M.storage.
 */
#ifndef FLIPSCOPE_ARITH_H
#define FLIPSCOPE_ARITH_H

#include <stdbool.h>
#include <stdint.h>

#include "flipscope/format.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fsc_sum_order {
    FSC_ORDER_SEQUENTIAL = 0,
    FSC_ORDER_PAIRWISE,
    FSC_ORDER_BLOCKED
} fsc_sum_order;

typedef enum fsc_transcendental {
    FSC_TRANS_EXACT = 0, /* evaluated in double, rounded once to storage */
    FSC_TRANS_STORAGE    /* every step of a composite function rounded to storage */
} fsc_transcendental;

typedef enum fsc_quant_mode {
    FSC_QUANT_FAKE = 0, /* quantize/dequantize as float ops in the storage format */
    FSC_QUANT_INTEGER   /* int8 x int8 -> int32 accumulation, then requantization */
} fsc_quant_mode;

typedef enum fsc_requant_rounding {
    FSC_REQ_HALF_EVEN = 0,
    FSC_REQ_HALF_AWAY,
    FSC_REQ_HALF_UP
} fsc_requant_rounding;

/* Tensor-core style block fused multiply-add (Khattak & Mikaitis' model of
 * NVIDIA tensor cores): `block` exact products and the accumulator are
 * aligned to the largest exponent among them, their significands kept with
 * `extra_bits` bits below binary32's (may be negative), the bits shifted out
 * truncated, summed exactly, normalised once and rounded to `out` with
 * `rounding`. Longer dot products chain blocks through the accumulator.
 * Two refinements, measured on Hopper and Blackwell FP8 units, are off when
 * zero: `chunks` splits a block into sub-blocks run one after another, and
 * `late_c` keeps the accumulator out of the alignment (see blockfma.c). */
typedef struct fsc_blockfma {
    int block;              /* 0 = disabled */
    int extra_bits;         /* alignment bits kept below binary32's 24-bit significand, -24..20 (the sum is kept in 64 bits) */
    fsc_rounding rounding;  /* final rounding of each block's sum */
    fsc_format_id out;      /* FP32 or FP16 output of each block */
    fsc_format_id in;       /* input format the operands are rounded to */
    bool in_truncate;       /* inputs made by truncation (TF32 from fp32) */
    bool subnormals_out;    /* false: subnormal block results flush to zero */
    int chunks;             /* 0 or 1: one block; n > 1: the products are dealt to n sub-blocks in runs of
                               chunk_run (product k to sub-block (k / chunk_run) % n), run one after another,
                               each aligned, summed and rounded to `out` as a block whose accumulator is the
                               previous sub-block's result (the first one's is c, or +0 with late_c) */
    int chunk_run;          /* consecutive products per run when chunks > 1 (0 = 1) */
    bool late_c;            /* c takes no part in the alignment: the products are summed and rounded as a
                               block from +0, then c is added with one nearest-even rounding to `out` */
} fsc_blockfma;

typedef struct fsc_arith {
    const char *name;        /* preset name: "fp32", "fp16-acc16", "h100-fp16", ... */
    const char *stands_for;  /* one line: what real hardware this stands for */
    const char *certainty;   /* "reference", "documented", "measured", "hypothesis" + why */

    fsc_format_id storage;   /* every op output (activation) rounded to this */
    fsc_format_id weights;   /* float constants rounded to this when loaded */
    fsc_format_id operand;   /* dot-product operands rounded to this on entry (TF32 units) */
    fsc_rounding operand_rounding;
    fsc_format_id product;   /* each product rounded to this; FP64 = exact (fused) */
    fsc_format_id accum;     /* running sums rounded to this after every addition */
    fsc_sum_order order;
    int block;               /* block length for FSC_ORDER_BLOCKED */
    fsc_rounding rounding;   /* rounding of accumulation steps */
    fsc_blockfma block_fma;  /* tensor-core accumulation when block_fma.block > 0 */

    fsc_format_id reduce;    /* format of reduction sums (mean, pool, softmax, norms) */
    fsc_sum_order reduce_order;
    fsc_transcendental transcendental;

    fsc_quant_mode quant;
    fsc_rounding quant_rounding;       /* rounding of x / scale in quantize (fake mode) */
    fsc_format_id quant_compute;       /* format the quotient x / scale is rounded to first */
    fsc_requant_rounding requant;      /* integer mode: rounding of the int32 -> int8 step */
    bool requant_fixed_point;          /* integer mode: scale as int32 multiplier + shift */
} fsc_arith;

/* Number of built-in presets, and preset i (0 <= i < count). */
int fsc_arith_preset_count(void);
const fsc_arith *fsc_arith_preset_at(int i);
/* Built-in preset by name ("fp32", "fp16", ...); NULL when unknown. */
const fsc_arith *fsc_arith_preset(const char *name);

/* One block FMA: d = round(sum_{k<K} a[k]*b[k] + c) under p, for K <= p->block
 * (at most 256).
 * a, b must already be values of p->in; c a value of p->out's accumulator
 * (binary32 or fp16 held in a double). Returns the rounded result. */
double fsc_blockfma_step(const double *a, const double *b, int K, double c, const fsc_blockfma *p);

/* A dot product of any length K as a chain of blocks: the result of block j
 * is the c of block j+1; c0 is the initial accumulator. Strides in elements. */
double fsc_blockfma_dot(const double *a, int64_t sa, const double *b, int64_t sb, int64_t K, double c0,
                        const fsc_blockfma *p);

#ifdef __cplusplus
}
#endif
#endif
