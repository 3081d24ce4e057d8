/* cuda_internal.h (internal): what the cuda backend's C files and its device
 * kernels (cuda_kernels.cu, compiled by nvcc) share. Only built with
 * FSC_HAVE_CUDA, except the provider entry points at the end.
 *
 * Device tensors hold their elements in the configuration's storage type
 * (float, __half or __nv_bfloat16: FSC_CUDA_F32/F16/BF16); every kernel reads
 * them, computes in fp32 and rounds once (nearest-even) to that type. The
 * kernel launchers return a cudaError_t as int (0 = success) and run on the
 * default stream. */
#ifndef FSC_CUDA_INTERNAL_H
#define FSC_CUDA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flipscope/backend.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { FSC_CUDA_F32 = 0, FSC_CUDA_F16 = 1, FSC_CUDA_BF16 = 2 };
enum { FSC_CUDA_RELU = 0, FSC_CUDA_SIGMOID, FSC_CUDA_SILU, FSC_CUDA_TANH };
enum { FSC_CUDA_ADD = 0, FSC_CUDA_SUB, FSC_CUDA_MUL, FSC_CUDA_DIV };

#define FSC_CUDA_MAX_RANK 8

/* Broadcast of a binary op: output dims, and per operand the element stride
 * of each output axis (0 where the operand is broadcast along it). */
typedef struct fsc_cuda_bcast {
    int rank;
    int64_t dim[FSC_CUDA_MAX_RANK];
    int64_t sa[FSC_CUDA_MAX_RANK];
    int64_t sb[FSC_CUDA_MAX_RANK];
} fsc_cuda_bcast;

/* Bytes of one element of storage type elt. */
size_t fsc_cuda_elt_size(int elt);
/* dst[i] = src[i] (fp32) rounded to elt; n elements, device pointers. */
int fsc_cuda_from_f32(const float *src, void *dst, int64_t n, int elt);
/* dst[i] = src[i] (elt) widened to fp32 (exact). */
int fsc_cuda_to_f32(const void *src, float *dst, int64_t n, int elt);
/* y = f(x) elementwise, f one of FSC_CUDA_RELU.. (fp32 math, libdevice expf/tanhf). */
int fsc_cuda_unary(int op, const void *x, void *y, int64_t n, int elt);
/* y = a op b with numpy broadcasting described by bc. */
int fsc_cuda_binary(int op, const void *a, const void *b, void *y, const fsc_cuda_bcast *bc, int elt);
/* y[r] = (sum_{c<cols} x[r*cols + c]) / cols, summed sequentially in fp32. */
int fsc_cuda_row_mean(const void *x, void *y, int64_t rows, int64_t cols, int elt);
/* y[m,n] = alpha * acc[m,n] + beta * c[m*csm + n*csn] (c may be NULL), in fp32,
 * rounded once to elt. acc is the fp32 GEMM result. */
int fsc_cuda_gemm_epilogue(const float *acc, const void *c, int64_t csm, int64_t csn, void *y, int64_t M, int64_t N,
                           float alpha, float beta, int elt);
/* y[n,c,:] += b[c] for y [N,C,HW], in fp32, rounded to elt. */
int fsc_cuda_bias_nchw(void *y, const void *b, int64_t N, int64_t C, int64_t HW, int elt);

/* One GEMM on the GPU as cuBLAS computes it for `cuda:fp16`: C = A B with A
 * [M,K] and B [K,N] row-major host arrays of fp16 values held in floats,
 * cublasGemmEx with CUDA_R_16F inputs, CUBLAS_COMPUTE_32F, CUDA_R_32F output,
 * CUBLAS_GEMM_DEFAULT. FSC_ERR_UNAVAILABLE without a usable GPU. */
fsc_status fsc_cuda_gemm_f16(const float *A, const float *B, float *C, int M, int N, int K, fsc_error *err);

/* True when the cuda backend runs node of g (op, float dtypes, handled forms:
 * symmetric conv padding, matmul with B 2-D or equal batch dims, gemm, means
 * over trailing axes, broadcasting binary ops, ...). No GPU needed. */
bool fsc_cuda_node_supported(const fsc_graph *g, int node);
/* How many trailing axes of a rank-r input reduce_mean's axes are, or -1 when
 * they are not the trailing ones. */
int fsc_cuda_mean_trailing(const fsc_attr_axes *ax, int r);

/* Output dims and operand strides of a broadcasting binary op y = a op b
 * (numpy rules: shapes aligned on the right, size-1 axes broadcast). */
void fsc_cuda_bcast_make(const fsc_shape *y, const fsc_shape *a, const fsc_shape *b, fsc_cuda_bcast *bc);

/* A gemm or matmul node as one (strided-batched) row-major GEMM
 * C[batch][M,N] = op(A) op(B), then alpha * C + beta * bias. */
typedef struct fsc_cuda_gemm_desc {
    bool ta, tb;                /* A, B stored transposed */
    int64_t M, N, K, batch;     /* matmul with a 2-D B folds A's batch axes into M */
    int64_t stride_a, stride_b; /* elements between batches */
    int64_t lda, ldb;           /* leading dimensions of the column-major cuBLAS call */
    double alpha, beta;
    bool has_c;                 /* gemm's optional C, broadcast to [M,N] */
    int64_t csm, csn;           /* C's strides along M and N (0: broadcast) */
} fsc_cuda_gemm_desc;
/* Fills d for a supported gemm/matmul node; false for any other node. */
bool fsc_cuda_gemm_describe(const fsc_graph *g, int node, fsc_cuda_gemm_desc *d);

/* Whether a CUDA device can be used here; reason says why not (the CUDA
 * runtime's error string) or names the device. Always defined: without
 * FSC_HAVE_CUDA it answers "built without CUDA". */
bool fsc_cuda_probe(char *reason, size_t len);

/* The cuda backend for configuration variant ("fp32", "tf32", "fp16",
 * "bf16", each optionally "-det"); creates the cuBLAS/cuDNN handles. */
fsc_status fsc_cuda_backend_new(const char *variant, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err);
/* The cuDNN forward algorithm recorded for conv node at prepare (-1: none). */
int fsc_cuda_conv_algo(const fsc_backend *b, int node);

#ifdef __cplusplus
}
#endif
#endif
