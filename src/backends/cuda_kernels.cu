// cuda_kernels.cu: the cuda backend's own device kernels (elementwise ops,
// broadcasting binary ops, row means, the GEMM and conv epilogues, storage
// conversions). Every kernel loads its operands from the storage type, computes
// in fp32 with explicitly rounded operations (built with --fmad=false, so no
// a*b+c is fused unless written as fmaf), and rounds once to the storage type.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "backends/cuda_internal.h"

namespace {

__device__ __forceinline__ float load(const void *p, int64_t i, int elt)
{
    if (elt == FSC_CUDA_F16) return __half2float(static_cast<const __half *>(p)[i]);
    if (elt == FSC_CUDA_BF16) return __bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i]);
    return static_cast<const float *>(p)[i];
}

__device__ __forceinline__ void store(void *p, int64_t i, float v, int elt)
{
    if (elt == FSC_CUDA_F16)
        static_cast<__half *>(p)[i] = __float2half_rn(v);
    else if (elt == FSC_CUDA_BF16)
        static_cast<__nv_bfloat16 *>(p)[i] = __float2bfloat16_rn(v);
    else
        static_cast<float *>(p)[i] = v;
}

const int kThreads = 256;

unsigned blocks_for(int64_t n)
{
    int64_t b = (n + kThreads - 1) / kThreads;
    return (unsigned)(b < 65535 * 8 ? (b > 0 ? b : 1) : 65535 * 8);
}

// Grid-stride loops: any n works with a bounded grid.
#define FOR_EACH(i, n) for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void k_from_f32(const float *src, void *dst, int64_t n, int elt)
{
    FOR_EACH(i, n) store(dst, i, src[i], elt);
}

__global__ void k_to_f32(const void *src, float *dst, int64_t n, int elt)
{
    FOR_EACH(i, n) dst[i] = load(src, i, elt);
}

__device__ float unary_op(int op, float x)
{
    switch (op) {
    case FSC_CUDA_RELU: return x > 0.0f ? x : (isnan(x) ? x : 0.0f);
    case FSC_CUDA_SIGMOID: return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-x)));
    case FSC_CUDA_SILU: return __fdiv_rn(x, __fadd_rn(1.0f, expf(-x)));
    default: return tanhf(x);
    }
}

__global__ void k_unary(int op, const void *x, void *y, int64_t n, int elt)
{
    FOR_EACH(i, n) store(y, i, unary_op(op, load(x, i, elt)), elt);
}

__global__ void k_binary(int op, const void *a, const void *b, void *y, fsc_cuda_bcast bc, int64_t n, int elt)
{
    FOR_EACH(i, n)
    {
        int64_t rem = i, ia = 0, ib = 0;
        for (int d = bc.rank - 1; d >= 0; d--) {
            int64_t c = rem % bc.dim[d];
            rem /= bc.dim[d];
            ia += c * bc.sa[d];
            ib += c * bc.sb[d];
        }
        float u = load(a, ia, elt), v = load(b, ib, elt), r;
        switch (op) {
        case FSC_CUDA_ADD: r = __fadd_rn(u, v); break;
        case FSC_CUDA_SUB: r = __fsub_rn(u, v); break;
        case FSC_CUDA_MUL: r = __fmul_rn(u, v); break;
        default: r = __fdiv_rn(u, v); break;
        }
        store(y, i, r, elt);
    }
}

// One thread per row, k = 0..cols-1 in order: the same order as the emulator's
// sequential reduce, so fp32 results can be compared term for term.
__global__ void k_row_mean(const void *x, void *y, int64_t rows, int64_t cols, int elt)
{
    FOR_EACH(r, rows)
    {
        float s = 0.0f;
        for (int64_t c = 0; c < cols; c++) s = __fadd_rn(s, load(x, r * cols + c, elt));
        store(y, r, __fdiv_rn(s, (float)cols), elt);
    }
}

__global__ void k_gemm_epilogue(const float *acc, const void *c, int64_t csm, int64_t csn, void *y, int64_t M,
                                int64_t N, float alpha, float beta, int elt)
{
    FOR_EACH(i, M * N)
    {
        float v = __fmul_rn(alpha, acc[i]);
        if (c) v = __fadd_rn(v, __fmul_rn(beta, load(c, (i / N) * csm + (i % N) * csn, elt)));
        store(y, i, v, elt);
    }
}

__global__ void k_bias_nchw(void *y, const void *b, int64_t N, int64_t C, int64_t HW, int elt)
{
    FOR_EACH(i, N * C * HW) store(y, i, __fadd_rn(load(y, i, elt), load(b, (i / HW) % C, elt)), elt);
}

int done() { return (int)cudaGetLastError(); }

} // namespace

extern "C" size_t fsc_cuda_elt_size(int elt) { return elt == FSC_CUDA_F32 ? 4 : 2; }

extern "C" int fsc_cuda_from_f32(const float *src, void *dst, int64_t n, int elt)
{
    k_from_f32<<<blocks_for(n), kThreads>>>(src, dst, n, elt);
    return done();
}

extern "C" int fsc_cuda_to_f32(const void *src, float *dst, int64_t n, int elt)
{
    k_to_f32<<<blocks_for(n), kThreads>>>(src, dst, n, elt);
    return done();
}

extern "C" int fsc_cuda_unary(int op, const void *x, void *y, int64_t n, int elt)
{
    k_unary<<<blocks_for(n), kThreads>>>(op, x, y, n, elt);
    return done();
}

extern "C" int fsc_cuda_binary(int op, const void *a, const void *b, void *y, const fsc_cuda_bcast *bc, int elt)
{
    int64_t n = 1;
    for (int d = 0; d < bc->rank; d++) n *= bc->dim[d];
    k_binary<<<blocks_for(n), kThreads>>>(op, a, b, y, *bc, n, elt);
    return done();
}

extern "C" int fsc_cuda_row_mean(const void *x, void *y, int64_t rows, int64_t cols, int elt)
{
    k_row_mean<<<blocks_for(rows), kThreads>>>(x, y, rows, cols, elt);
    return done();
}

extern "C" int fsc_cuda_gemm_epilogue(const float *acc, const void *c, int64_t csm, int64_t csn, void *y, int64_t M,
                                      int64_t N, float alpha, float beta, int elt)
{
    k_gemm_epilogue<<<blocks_for(M * N), kThreads>>>(acc, c, csm, csn, y, M, N, alpha, beta, elt);
    return done();
}

extern "C" int fsc_cuda_bias_nchw(void *y, const void *b, int64_t N, int64_t C, int64_t HW, int elt)
{
    k_bias_nchw<<<blocks_for(N * C * HW), kThreads>>>(y, b, N, C, HW, elt);
    return done();
}
