/* cuda_gemm.c: one standalone cublasGemmEx (fp16 in, fp32 compute and out),
 * for comparing the GPU's GEMM with the tensor-core emulation (tests and
 * bench); the backend's own GEMMs are in cuda_backend.c. */
#include "backends/cuda_internal.h"

#ifdef FSC_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>

fsc_status fsc_cuda_gemm_f16(const float *A, const float *B, float *C, int M, int N, int K, fsc_error *err)
{
    char reason[256];
    if (!fsc_cuda_probe(reason, sizeof reason)) return fsc_fail(err, FSC_ERR_UNAVAILABLE, "%s", reason);
    if (M < 1 || N < 1 || K < 1) return fsc_fail(err, FSC_ERR_INVALID, "GEMM sizes must be positive");
    size_t na = (size_t)M * (size_t)K, nb = (size_t)K * (size_t)N, nc = (size_t)M * (size_t)N;
    float *fa = NULL, *fb = NULL, *fc = NULL;
    void *ha = NULL, *hb = NULL;
    cublasHandle_t h = NULL;
    fsc_status st = FSC_OK;
    const char *what = "cudaMalloc";
    cudaError_t e = cudaMalloc((void **)&fa, na * 4);
    if (!e) e = cudaMalloc((void **)&fb, nb * 4);
    if (!e) e = cudaMalloc((void **)&fc, nc * 4);
    if (!e) e = cudaMalloc(&ha, na * 2);
    if (!e) e = cudaMalloc(&hb, nb * 2);
    if (!e && (what = "upload", 1)) e = cudaMemcpy(fa, A, na * 4, cudaMemcpyHostToDevice);
    if (!e) e = cudaMemcpy(fb, B, nb * 4, cudaMemcpyHostToDevice);
    /* The inputs are fp16 values held in floats: the conversion is exact. */
    if (!e && (what = "conversion kernel", 1)) e = (cudaError_t)fsc_cuda_from_f32(fa, ha, (int64_t)na, FSC_CUDA_F16);
    if (!e) e = (cudaError_t)fsc_cuda_from_f32(fb, hb, (int64_t)nb, FSC_CUDA_F16);
    if (e) st = fsc_fail(err, FSC_ERR_UNAVAILABLE, "CUDA %s: %s", what, cudaGetErrorString(e));
    cublasStatus_t bs = CUBLAS_STATUS_SUCCESS;
    if (!st) bs = cublasCreate(&h);
    const float one = 1.0f, zero = 0.0f;
    /* Row-major C = A B is column-major C^T = B^T A^T. */
    if (!st && !bs)
        bs = cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, N, M, K, &one, hb, CUDA_R_16F, N, ha, CUDA_R_16F, K, &zero, fc,
                          CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (!st && bs) st = fsc_fail(err, FSC_ERR_UNAVAILABLE, "cuBLAS: %s", cublasGetStatusString(bs));
    if (!st && (e = cudaMemcpy(C, fc, nc * 4, cudaMemcpyDeviceToHost)))
        st = fsc_fail(err, FSC_ERR_UNAVAILABLE, "CUDA download: %s", cudaGetErrorString(e));
    if (h) cublasDestroy(h);
    cudaFree(fa);
    cudaFree(fb);
    cudaFree(fc);
    cudaFree(ha);
    cudaFree(hb);
    return st;
}

#else

fsc_status fsc_cuda_gemm_f16(const float *A, const float *B, float *C, int M, int N, int K, fsc_error *err)
{
    (void)A;
    (void)B;
    (void)C;
    (void)M;
    (void)N;
    (void)K;
    char reason[256];
    fsc_cuda_probe(reason, sizeof reason);
    return fsc_fail(err, FSC_ERR_UNAVAILABLE, "%s", reason);
}

#endif
