/* cuda.c: the "cuda" provider: configurations cuda:fp32, cuda:tf32,
 * cuda:fp16, cuda:bf16 (and their "-det" forms, which restrict cuDNN to
 * deterministic algorithms), whether a GPU is usable here, and the placement
 * of nodes: on the GPU when the cuda backend supports them, on emu:fp32
 * otherwise. Built without the toolkit, it lists the same configurations as
 * unavailable ("built without CUDA"). */
#include <stdio.h>
#include <string.h>

#include "backends/cuda_internal.h"
#include "backends/registry.h"

#ifdef FSC_HAVE_CUDA
#include <cuda_runtime.h>
#endif

typedef struct cuda_config {
    const char *variant;
    const char *stands_for;
    const char *certainty;
} cuda_config;

static const cuda_config configs[] = {
    {"fp32", "this machine's NVIDIA GPU: fp32 storage, cuBLAS/cuDNN with TF32 off (CUBLAS_COMPUTE_32F, CUDNN_FMA_MATH)",
     "real hardware (measured when run); the algorithm cuBLAS/cuDNN choose decides the summation order"},
    {"tf32", "this machine's NVIDIA GPU: fp32 storage, GEMM/conv operands in TF32 on tensor cores "
     "(CUBLAS_COMPUTE_32F_FAST_TF32, CUDNN_TENSOR_OP_MATH)",
     "real hardware (measured when run); tensor cores are used only where cuBLAS/cuDNN pick them"},
    {"fp16", "this machine's NVIDIA GPU: fp16 storage and weights, fp32 accumulation (cublasGemmEx CUDA_R_16F in, "
     "CUBLAS_COMPUTE_32F; cuDNN half data, float compute)",
     "real hardware (measured when run)"},
    {"bf16", "this machine's NVIDIA GPU: bf16 storage and weights, fp32 accumulation (CUDA_R_16BF, CUBLAS_COMPUTE_32F; "
     "cuDNN bfloat16 data, float compute)",
     "real hardware (measured when run)"},
};
#define N_CONFIGS ((int)(sizeof configs / sizeof configs[0]))

bool fsc_cuda_probe(char *reason, size_t len)
{
#ifdef FSC_HAVE_CUDA
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(reason, len, "no usable CUDA device: cudaGetDeviceCount: %s (%s)", cudaGetErrorString(e),
                 cudaGetErrorName(e));
        return false;
    }
    if (n < 1) {
        snprintf(reason, len, "no usable CUDA device: cudaGetDeviceCount found none");
        return false;
    }
    struct cudaDeviceProp p;
    e = cudaGetDeviceProperties(&p, 0);
    if (e != cudaSuccess) {
        snprintf(reason, len, "no usable CUDA device: cudaGetDeviceProperties: %s", cudaGetErrorString(e));
        return false;
    }
    snprintf(reason, len, "device 0: %s (sm_%d%d)", p.name, p.major, p.minor);
    return true;
#else
    snprintf(reason, len, "built without CUDA (CMake found no nvcc with cuBLAS and cuDNN, or -DFSC_CUDA=OFF; see docs/gpu.md)");
    return false;
#endif
}

/* The config of variant ("fp16" or "fp16-det"), or NULL; *det says which. */
static const cuda_config *find(const char *variant, bool *det)
{
    size_t n = strlen(variant);
    *det = n > 4 && strcmp(variant + n - 4, "-det") == 0;
    size_t base = *det ? n - 4 : n;
    for (int i = 0; i < N_CONFIGS; i++)
        if (strlen(configs[i].variant) == base && strncmp(configs[i].variant, variant, base) == 0) return &configs[i];
    return NULL;
}

static void describe(const cuda_config *c, bool det, bool available, const char *reason, fsc_config_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "cuda:%s%s", c->variant, det ? "-det" : "");
    snprintf(info->backend, sizeof info->backend, "cuda");
    info->stands_for = c->stands_for;
    info->certainty = c->certainty;
    info->emulated = false;
    info->available = available;
    snprintf(info->reason, sizeof info->reason, "%s", available ? "" : reason);
}

static int cuda_list(fsc_config_info *out, int max)
{
    char reason[256];
    bool ok = out && max > 0 ? fsc_cuda_probe(reason, sizeof reason) : false;
    for (int i = 0; out && i < 2 * N_CONFIGS && i < max; i++) describe(&configs[i / 2], i % 2, ok, reason, &out[i]);
    return 2 * N_CONFIGS;
}

static fsc_status cuda_lookup(const char *variant, fsc_config_info *info, fsc_error *err)
{
    bool det;
    const cuda_config *c = find(variant, &det);
    if (!c)
        return fsc_fail(err, FSC_ERR_INVALID,
                        "unknown configuration 'cuda:%s' (cuda:fp32, cuda:tf32, cuda:fp16, cuda:bf16, each also with "
                        "-det for deterministic cuDNN algorithms)",
                        variant);
    char reason[256];
    bool ok = fsc_cuda_probe(reason, sizeof reason);
    describe(c, det, ok, reason, info);
    return FSC_OK;
}

static fsc_status cuda_open(const char *variant, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine_plan *plan,
                            fsc_error *err)
{
    fsc_config_info info;
    fsc_status st = cuda_lookup(variant, &info, err);
    if (st) return st;
    if (!info.available) return fsc_fail(err, FSC_ERR_UNAVAILABLE, "cuda:%s is not available here: %s", variant, info.reason);
#ifdef FSC_HAVE_CUDA
    st = fsc_cuda_backend_new(variant, ctx, &plan->backends[0], err);
    if (st) return st;
    plan->n_backends = 1;
    /* Ops the GPU backend lacks run on the fp32 emulator, as a framework falls
     * back to its CPU kernels; the plan names the backend of every node. */
    st = fsc_emu_backend_new(fsc_arith_preset("fp32"), ctx, &plan->backends[1], err);
    if (st) return st;
    plan->n_backends = 2;
    plan->node_backend = fsc_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int), "node placement", err);
    if (!plan->node_backend) return FSC_ERR_NOMEM;
    for (int i = 0; i < g->n_nodes; i++) {
        plan->node_backend[i] = -1;
        if (g->nodes[i].op == FSC_OP_CONSTANT) continue;
        for (int b = 0; b < 2 && plan->node_backend[i] < 0; b++)
            if (plan->backends[b]->vt->supports(plan->backends[b], g, i)) plan->node_backend[i] = b;
        if (plan->node_backend[i] < 0) {
            char lb[200];
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s is supported neither by cuda:%s nor by its fallback emu:fp32",
                            fsc_node_label(g, i, lb, sizeof lb), variant);
        }
    }
    return FSC_OK;
#else
    (void)g;
    (void)ctx;
    (void)plan;
    return fsc_fail(err, FSC_ERR_INTERNAL, "cuda backend not built");
#endif
}

const fsc_provider fsc_cuda_provider = {
    .prefix = "cuda",
    .list = cuda_list,
    .lookup = cuda_lookup,
    .open = cuda_open,
};
