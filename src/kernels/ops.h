/* ops.h (internal): the op kernels behind fsc_kernel_run, as functions over
 * explicit attributes and tensors. Each writes into outputs that the caller
 * allocated with the right shape and container (see kernels.h) and rounds
 * what it writes to a->storage. Shapes are trusted (graph inference checked
 * them); each kernel still refuses combinations it does not handle. */
#ifndef FSC_KERNELS_OPS_H
#define FSC_KERNELS_OPS_H

#include "kernels/kernels.h"

/* Conv2d: x [N,C,H,W], w [M,C/g,kh,kw], b [M] or NULL; y [N,M,OH,OW]. */
fsc_status fsc_k_conv2d(const fsc_attr_conv *at, const fsc_tensor *x, const fsc_tensor *w, const fsc_tensor *b,
                        const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);
/* The scalar reference of fsc_k_conv2d (always fsc_dot_ref per output). */
fsc_status fsc_k_conv2d_ref(const fsc_attr_conv *at, const fsc_tensor *x, const fsc_tensor *w,
                            const fsc_tensor *b, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                            fsc_error *err);
/* Gemm: y = alpha * A' B' + beta * C (C optional, unidirectionally broadcast to [M,N]). */
fsc_status fsc_k_gemm(const fsc_attr_gemm *at, const fsc_tensor *A, const fsc_tensor *B, const fsc_tensor *C,
                      const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_gemm_ref(const fsc_attr_gemm *at, const fsc_tensor *A, const fsc_tensor *B,
                          const fsc_tensor *C, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                          fsc_error *err);
/* MatMul with numpy semantics (1-D operands, batched broadcasting). */
fsc_status fsc_k_matmul(const fsc_tensor *A, const fsc_tensor *B, const fsc_arith *a, const fsc_ctx *ctx,
                        fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_matmul_ref(const fsc_tensor *A, const fsc_tensor *B, const fsc_arith *a, const fsc_ctx *ctx,
                            fsc_tensor *y, fsc_error *err);

/* Unary elementwise op (relu, clip, sigmoid, silu, tanh, erf, gelu, sqrt). */
fsc_status fsc_k_unary(fsc_op op, const fsc_attrs *at, const fsc_tensor *x, const fsc_arith *a,
                       const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);
/* Binary elementwise op with numpy broadcasting (add, sub, mul, div, pow). */
fsc_status fsc_k_binary(fsc_op op, const fsc_tensor *x, const fsc_tensor *z, const fsc_arith *a,
                        const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);

/* Sum of n terms x[i*stride] in fmt/order (the reduction of arith.h). */
double fsc_k_reduce_sum(const double *x, int64_t n, fsc_format_id fmt, fsc_sum_order order, int block);
fsc_status fsc_k_reduce_mean(const fsc_attr_axes *at, const fsc_tensor *x, const fsc_arith *a,
                             const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_global_avgpool(const fsc_tensor *x, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                                fsc_error *err);
fsc_status fsc_k_softmax(const fsc_attr_axis *at, const fsc_tensor *x, const fsc_arith *a, const fsc_ctx *ctx,
                         fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_layernorm(const fsc_attr_norm *at, const fsc_tensor *x, const fsc_tensor *scale,
                           const fsc_tensor *bias, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                           fsc_error *err);
fsc_status fsc_k_batchnorm(const fsc_attr_norm *at, const fsc_tensor *x, const fsc_tensor *scale,
                           const fsc_tensor *bias, const fsc_tensor *mean, const fsc_tensor *var,
                           const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);

/* Max/average pooling over [N,C,H,W]. */
fsc_status fsc_k_pool(fsc_op op, const fsc_attr_pool *at, const fsc_tensor *x, const fsc_arith *a,
                      const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);

/* Layout ops: data movement (any element type), float outputs rounded to storage. */
fsc_status fsc_k_copy(const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_transpose(const fsc_attr_transpose *at, const fsc_tensor *x, const fsc_arith *a,
                           fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_concat(const fsc_attr_axis *at, int n, const fsc_tensor *const *xs, const fsc_arith *a,
                        fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_pad(const fsc_attr_pad *at, const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y,
                     fsc_error *err);
fsc_status fsc_k_slice(const fsc_attr_slice *at, const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y,
                       fsc_error *err);
fsc_status fsc_k_gather(const fsc_attr_axis *at, const fsc_tensor *x, const fsc_tensor *idx,
                        const fsc_arith *a, fsc_tensor *y, fsc_error *err);
/* Cast: float targets round to storage (F16/BF16 targets to that format first); integer targets
 * follow ONNX (truncation toward zero, saturation to the type's range, NaN -> 0; bool: x != 0). */
fsc_status fsc_k_cast(const fsc_attr_cast *at, const fsc_tensor *x, const fsc_arith *a, fsc_tensor *y,
                      fsc_error *err);

/* Fake quantization: q = clamp(round(x / s) + zp); dequantize: x' = s * (q - zp) rounded to storage. */
fsc_status fsc_k_quantize(const fsc_attr_quant *at, const fsc_tensor *x, const fsc_tensor *scale,
                          const fsc_tensor *zp, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err);
fsc_status fsc_k_dequantize(const fsc_attr_quant *at, const fsc_tensor *q, const fsc_tensor *scale,
                            const fsc_tensor *zp, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                            fsc_error *err);

/* Why the dot-product kernels cannot run a (NULL when they can). */
const char *fsc_k_dot_unsupported(const fsc_arith *a);
/* An operand as fsc_dot_ref's block FMA reads it: rounded to the block's
 * input format, by truncation when truncate (TF32 read from fp32). */
double fsc_k_blockfma_in(double x, fsc_format_id in, bool truncate);

#endif
