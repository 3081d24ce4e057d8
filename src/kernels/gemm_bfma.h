/* gemm_bfma.h (internal): the fast engine for tensor-core block-FMA models
 * (arith.h's block_fma), behind conv2d, gemm and matmul through gemm_fast.h's
 * job (fsc_fastmm_eligible / fsc_fastmm_run hand block-FMA models here).
 *
 * Results are bit-identical to fsc_dot_ref (that is, to fsc_blockfma_step
 * chained block by block) for the models fsc_bfma_eligible accepts. The
 * engine rests on a restatement of blockfma.c's model, exact for input
 * formats of at most 11 significand bits (products exact in binary32):
 *  - let u_k = ea_k + eb_k be the sum of the operands' exponents, each
 *    clamped to the input format's emin, over the nonzero products, maxpe
 *    their maximum, and Ec the exponent of c clamped to -126 (c != 0);
 *  - the alignment grid of the block is q = 2^(max(maxpe, Ec) - 23 - extra_bits):
 *    blockfma.c's extra alignment bit is granted exactly when the largest
 *    term's exponent is maxpe + 1, which leaves the grid where it was;
 *  - each term (the exact products and c) is truncated toward zero to a
 *    multiple of q, the truncated terms summed exactly, the sum rounded once
 *    to 24 + min(extra_bits, 0) bits in binary32's exponent range;
 *  - with late_c, the same from c = +0, then c added with one nearest-even
 *    rounding to binary32 (a binary32 addition; full binary32 outputs only).
 * With fp16-class inputs a product times 1/q is exact in binary32 and below
 * 2^(26 + extra_bits), so its truncation is one float-to-int conversion and
 * the sum an int32 sum. Lanes span output columns as in gemm_fast.c. Cases
 * the vector kernels do not take (non-finite operands, products outside
 * binary32's normal range, a block whose largest term is below 2^-98 or
 * above 2^118, int32 overflow of a block sum) are recomputed for that
 * micro-tile by the scalar model. */
#ifndef FSC_GEMM_BFMA_H
#define FSC_GEMM_BFMA_H

#include "kernels/gemm_fast.h"

/* Operand exponents are int16: a zero operand carries FSC_BFMA_ZERO_EXP, so
 * that a sum with it (saturating) stays below every real exponent and a zero
 * product never sets the block's maximum. Weights carry their clamped
 * exponent, X columns their clamped exponent + 127, so that a sum is the
 * product's exponent in binary32's biased form. */
#define FSC_BFMA_ZERO_EXP (-16384)
/* A block's largest exponent, biased, must lie in [EMAX_LO, EMAX_HI + extra]
 * for the vector kernels (else the scalar model takes the micro-tile): then
 * 2^(23 + extra - emax) and q are normal binary32 numbers and every block
 * result, at least q and at most 2^31 q, is a normal one. */
#define FSC_BFMA_EMAX_LO (127 - 98)
#define FSC_BFMA_EMAX_HI (127 + 118)

/* The block parameters as the micro-kernels read them. */
typedef struct fsc_bfma_cfg {
    int block;     /* products per block */
    int extra;     /* extra_bits, in [-20, 2] */
    int pout;      /* output precision: 24 + min(extra, 0) */
    bool rz;       /* final rounding toward zero (else nearest-even) */
    int emin_in;   /* input format's emin (exponents clamped to it) */
    bool late_c;   /* c outside the alignment: the block's sum from +0, then c + sum in binary32 */
} fsc_bfma_cfg;

/* A micro-kernel: MR x NR block-FMA dot products over K terms, chained from
 * an accumulator of +0, out[i * NR + j] = dot(w[. * MR + i], x[. * ld + j])
 * (operands already rounded to the input format, finite, and with every
 * nonzero product a normal binary32 number; ew and ex hold their exponents
 * as above). Returns 0, or nonzero when some lane met a case it does not
 * take (out is then garbage and the caller recomputes the micro-tile with
 * the scalar model). */
typedef int (*fsc_bfma_uk_fn)(const fsc_bfma_cfg *cfg, int64_t K, const float *w, const int16_t *ew,
                              const float *x, const int16_t *ex, int64_t ld, float *out);

/* Exponents of a rows x n block of operands (x[r * ld + j] into e[r * ld + j]):
 * FSC_BFMA_ZERO_EXP for 0, else max(floor(log2 |x|), emin) + bias. Returns 1
 * when some value is not finite; *lo / *hi are lowered / raised to the
 * smallest / largest exponent of the nonzero values, unclamped (a binary32
 * subnormal counts as -150). */
typedef int (*fsc_bfma_exp_fn)(const float *x, int16_t *e, int64_t ld, int64_t rows, int64_t n, int emin, int bias,
                               int *lo, int *hi);

/* y[q] = round_storage(acc[q] + bias) (binary32 addition) for storage fp32, fp16 or bf16. */
typedef void (*fsc_bfma_epi_fn)(const float *acc, float *y, int64_t n, float bias, fsc_format_id storage);

typedef struct fsc_bfma_ukr {
    int mr, nr;
    fsc_bfma_uk_fn fn;
    fsc_bfma_exp_fn exps;
    fsc_bfma_epi_fn epi;
    /* Whether fn takes these parameters (others use the portable kernel). */
    bool (*takes)(const fsc_bfma_cfg *cfg);
} fsc_bfma_ukr;

extern const fsc_bfma_ukr fsc_bfma_uk_portable;
extern const fsc_bfma_ukr fsc_bfma_uk_avx2;
extern const fsc_bfma_ukr fsc_bfma_uk_avx512;

/* True when the engine computes exactly what fsc_dot_ref computes under a
 * (a block-FMA model) for container dt; false hands the model to the
 * reference kernels. */
bool fsc_bfma_eligible(const fsc_arith *a, fsc_dtype container);

/* Runs the job (the caller checked eligibility); max_isa as fsc_fastmm_isa. */
fsc_status fsc_bfma_run(const fsc_fastmm_job *job, const fsc_arith *a, const fsc_ctx *ctx, int max_isa,
                        fsc_error *err);

/* Micro-tiles computed so far by the vector kernels and by the scalar model
 * (process-wide counts; tests check that the kernels, not only the
 * fallback, did the work). */
void fsc_bfma_counts(int64_t *kernel_tiles, int64_t *scalar_tiles);

#endif
