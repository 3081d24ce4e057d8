/* cublas_lazy.c: the few cuBLAS entry points the cuda backend calls, loaded
 * with dlopen on first use instead of linked. Loading libcublas maps and
 * relocates about 215 MB that stay resident in every process (measured: an
 * empty program linked against it peaks at 217 MB RSS), which alone broke the
 * 200 MB budget of one emu inference that never touches a GPU. The library
 * path found at configure time (FSC_CUBLAS_PATH) is tried first, then the
 * soname through the usual search. Without the library every call returns
 * CUBLAS_STATUS_NOT_INITIALIZED, which the backend reports as unavailable. */
#ifdef FSC_HAVE_CUDA
#include <cublas_v2.h>
#include <dlfcn.h>
#include <pthread.h>

#ifndef FSC_CUBLAS_PATH
#define FSC_CUBLAS_PATH "libcublas.so"
#endif

static void *lib;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    lib = dlopen(FSC_CUBLAS_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libcublas.so", RTLD_NOW | RTLD_LOCAL);
}

/* The named symbol of the library, NULL when either is missing. */
static void *sym(const char *name)
{
    pthread_once(&once, load);
    return lib ? dlsym(lib, name) : NULL;
}

/* Each forwarder resolves its target once (a benign race: every thread stores the same pointer). */
#define FORWARD(name, params, args)                                                        \
    cublasStatus_t name params                                                             \
    {                                                                                      \
        static cublasStatus_t(*fn) params;                                                 \
        if (!fn) *(void **)&fn = sym(#name);                                               \
        return fn ? fn args : CUBLAS_STATUS_NOT_INITIALIZED;                               \
    }

FORWARD(cublasCreate_v2, (cublasHandle_t *handle), (handle))
FORWARD(cublasDestroy_v2, (cublasHandle_t handle), (handle))
FORWARD(cublasSetMathMode, (cublasHandle_t handle, cublasMath_t mode), (handle, mode))
FORWARD(cublasSetAtomicsMode, (cublasHandle_t handle, cublasAtomicsMode_t mode), (handle, mode))
FORWARD(cublasGemmEx,
        (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
         const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B, cudaDataType Btype, int ldb,
         const void *beta, void *C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
         cublasGemmAlgo_t algo),
        (handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo))
FORWARD(cublasGemmStridedBatchedEx,
        (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
         const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA, const void *B,
         cudaDataType Btype, int ldb, long long int strideB, const void *beta, void *C, cudaDataType Ctype, int ldc,
         long long int strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo),
        (handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb, strideB, beta, C, Ctype, ldc,
         strideC, batchCount, computeType, algo))

const char *cublasGetStatusString(cublasStatus_t status)
{
    static const char *(*fn)(cublasStatus_t);
    if (!fn) *(void **)&fn = sym("cublasGetStatusString");
    if (fn) return fn(status);
    return lib ? "unknown cuBLAS status" : "libcublas could not be loaded";
}
#else
typedef int fsc_cublas_lazy_unused; /* ISO C: a translation unit is not empty */
#endif
