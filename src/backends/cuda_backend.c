/* cuda_backend.c: the cuda backend: runs conv2d (cuDNN), gemm/linear/matmul
 * (cuBLAS) and the elementwise ops and means (cuda_kernels.cu) on the GPU.
 *
 * Tensors cross to the GPU per node: the executor hands fp32 host tensors
 * (already rounded to the storage format), they are uploaded, converted to
 * the storage type (float, __half, __nv_bfloat16), computed on, converted
 * back and downloaded. Constants are uploaded once and kept on the device.
 * GEMMs accumulate into fp32 (cuBLAS output CUDA_R_32F); alpha, beta*C and the
 * rounding to storage happen in one epilogue kernel. Convolutions write the
 * storage type (cuDNN rounds), then the bias is added and rounded again, as
 * frameworks that add the bias in a separate op do.
 *
 * Determinism: cuBLAS runs with atomics disallowed; each conv node's cuDNN
 * algorithm is chosen once at prepare (the first of
 * cudnnGetConvolutionForwardAlgorithm_v7's ranking that runs; with "-det",
 * the first that cuDNN marks CUDNN_DETERMINISTIC) and kept for every run. */
#include "backends/cuda_internal.h"

#ifdef FSC_HAVE_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/registry.h"

#define WS_LIMIT ((size_t)512 << 20) /* largest cuDNN workspace we accept */

typedef struct cuda_state {
    int elt;                          /* storage type on the device */
    cudaDataType_t blas_in;           /* cuBLAS A/B type */
    cublasComputeType_t blas_compute; /* CUBLAS_COMPUTE_32F or _32F_FAST_TF32 */
    cudnnDataType_t dnn_data;
    cudnnMathType_t dnn_math;
    bool det;
    cublasHandle_t blas;
    cudnnHandle_t dnn;
    int n_values, n_nodes;
    void **dconst; /* per value: the constant on the device (storage type), or NULL */
    int *algo;     /* per node: the cuDNN forward algorithm, -1 when none */
    void *ws;
    size_t ws_size;
} cuda_state;

static fsc_status cu_fail(fsc_error *err, cudaError_t e, const char *what)
{
    return fsc_fail(err, FSC_ERR_UNAVAILABLE, "CUDA %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

static fsc_status blas_fail(fsc_error *err, cublasStatus_t s, const char *what)
{
    return fsc_fail(err, FSC_ERR_UNAVAILABLE, "cuBLAS %s: %s", what, cublasGetStatusString(s));
}

static fsc_status dnn_fail(fsc_error *err, cudnnStatus_t s, const char *what)
{
    return fsc_fail(err, FSC_ERR_UNAVAILABLE, "cuDNN %s: %s", what, cudnnGetErrorString(s));
}

static fsc_status dalloc(void **p, size_t bytes, fsc_error *err)
{
    *p = NULL;
    cudaError_t e = cudaMalloc(p, bytes ? bytes : 1);
    return e == cudaSuccess ? FSC_OK : cu_fail(err, e, "cudaMalloc");
}

static int64_t prod(const fsc_shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= s->dim[i];
    return p;
}

static bool cuda_supports(const fsc_backend *b, const fsc_graph *g, int node)
{
    (void)b;
    return fsc_cuda_node_supported(g, node);
}

typedef struct conv_desc {
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t c;
} conv_desc;

static void conv_desc_free(conv_desc *d)
{
    if (d->x) cudnnDestroyTensorDescriptor(d->x);
    if (d->y) cudnnDestroyTensorDescriptor(d->y);
    if (d->w) cudnnDestroyFilterDescriptor(d->w);
    if (d->c) cudnnDestroyConvolutionDescriptor(d->c);
    memset(d, 0, sizeof *d);
}

/* cuDNN descriptors of conv node (NCHW, symmetric padding, fp32 compute). */
static fsc_status conv_desc_make(const cuda_state *s, const fsc_graph *g, int node, conv_desc *d, fsc_error *err)
{
    memset(d, 0, sizeof *d);
    const fsc_node *n = &g->nodes[node];
    const int64_t *x = g->values[n->in[0]].shape.dim, *w = g->values[n->in[1]].shape.dim;
    const int64_t *y = g->values[n->out[0]].shape.dim;
    const fsc_attr_conv *a = &n->attr.conv;
    cudnnStatus_t st = cudnnCreateTensorDescriptor(&d->x);
    if (!st) st = cudnnCreateTensorDescriptor(&d->y);
    if (!st) st = cudnnCreateFilterDescriptor(&d->w);
    if (!st) st = cudnnCreateConvolutionDescriptor(&d->c);
    if (!st)
        st = cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, s->dnn_data, (int)x[0], (int)x[1], (int)x[2], (int)x[3]);
    if (!st)
        st = cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, s->dnn_data, (int)y[0], (int)y[1], (int)y[2], (int)y[3]);
    if (!st)
        st = cudnnSetFilter4dDescriptor(d->w, s->dnn_data, CUDNN_TENSOR_NCHW, (int)w[0], (int)w[1], (int)w[2], (int)w[3]);
    if (!st)
        st = cudnnSetConvolution2dDescriptor(d->c, (int)a->pad[0], (int)a->pad[1], (int)a->stride[0], (int)a->stride[1],
                                             (int)a->dilation[0], (int)a->dilation[1], CUDNN_CROSS_CORRELATION,
                                             CUDNN_DATA_FLOAT);
    if (!st) st = cudnnSetConvolutionGroupCount(d->c, (int)a->group);
    if (!st) st = cudnnSetConvolutionMathType(d->c, s->dnn_math);
    if (st) {
        conv_desc_free(d);
        return dnn_fail(err, st, "convolution descriptors");
    }
    return FSC_OK;
}

/* Chooses and records conv node's algorithm (see the file comment). */
static fsc_status choose_algo(cuda_state *s, const fsc_graph *g, int node, fsc_error *err)
{
    conv_desc d;
    fsc_status st = conv_desc_make(s, g, node, &d, err);
    if (st) return st;
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int got = 0;
    cudnnStatus_t ds = cudnnGetConvolutionForwardAlgorithm_v7(s->dnn, d.x, d.w, d.c, d.y,
                                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf);
    conv_desc_free(&d);
    if (ds) return dnn_fail(err, ds, "cudnnGetConvolutionForwardAlgorithm_v7");
    bool fma_only = s->dnn_math == CUDNN_FMA_MATH;
    for (int i = 0; i < got; i++) {
        const cudnnConvolutionFwdAlgoPerf_t *p = &perf[i];
        if (p->status != CUDNN_STATUS_SUCCESS || p->memory > WS_LIMIT) continue;
        if (s->det && p->determinism != CUDNN_DETERMINISTIC) continue;
        if (fma_only && p->mathType != CUDNN_FMA_MATH && p->mathType != CUDNN_DEFAULT_MATH) continue;
        s->algo[node] = (int)p->algo;
        return FSC_OK;
    }
    char lb[200];
    return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s: cuDNN offers no %salgorithm for this convolution",
                    fsc_node_label(g, node, lb, sizeof lb), s->det ? "deterministic " : "");
}

static fsc_status cuda_prepare(fsc_backend *b, const fsc_graph *g, fsc_error *err)
{
    cuda_state *s = b->state;
    s->n_values = g->n_values;
    s->n_nodes = g->n_nodes;
    s->dconst = fsc_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *s->dconst, "cuda constants", err);
    s->algo = fsc_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *s->algo, "cuda algorithms", err);
    if (!s->dconst || !s->algo) return FSC_ERR_NOMEM;
    for (int i = 0; i < g->n_nodes; i++) {
        s->algo[i] = -1;
        if (g->nodes[i].op != FSC_OP_CONV2D || !cuda_supports(b, g, i)) continue;
        fsc_status st = choose_algo(s, g, i, err);
        if (st) return st;
    }
    return FSC_OK;
}

static fsc_status cuda_load_const(fsc_backend *b, const fsc_graph *g, int value, fsc_tensor *out, fsc_error *err)
{
    const fsc_tensor *c = g->values[value].constant;
    if (!c) return fsc_fail(err, FSC_ERR_INTERNAL, "value '%s' is not a constant", g->values[value].name);
    if (c->dtype != FSC_DT_F32 && c->dtype != FSC_DT_F64) return fsc_tensor_clone(out, c, err);
    fsc_status st = fsc_tensor_alloc(out, FSC_DT_F32, &c->shape, 0, err);
    if (st) return st;
    /* Weights are stored in the configuration's format (fp16 weights for cuda:fp16). */
    int64_t n = fsc_tensor_numel(c);
    float *d = out->data;
    fsc_round_opts o = fsc_round_default();
    for (int64_t i = 0; i < n; i++) d[i] = (float)fsc_round(fsc_tensor_get(c, i), b->arith->weights, o);
    out->fmt = b->arith->weights;
    return FSC_OK;
}

/* A new device buffer holding host tensor t in the storage type. */
static fsc_status upload(const cuda_state *s, const fsc_tensor *t, void **dst, fsc_error *err)
{
    *dst = NULL;
    fsc_tensor f = {0};
    const fsc_tensor *src = t;
    fsc_status st = FSC_OK;
    if (t->dtype != FSC_DT_F32) {
        st = fsc_tensor_to_float(&f, t, FSC_DT_F32, err);
        if (st) return st;
        src = &f;
    }
    int64_t n = fsc_tensor_numel(src);
    float *tmp = NULL;
    st = dalloc((void **)&tmp, (size_t)n * sizeof(float), err);
    cudaError_t e = cudaSuccess;
    if (!st) e = cudaMemcpy(tmp, src->data, (size_t)n * sizeof(float), cudaMemcpyHostToDevice);
    if (!st && e) st = cu_fail(err, e, "upload");
    fsc_tensor_free(&f);
    if (!st && s->elt == FSC_CUDA_F32) {
        *dst = tmp;
        return FSC_OK;
    }
    if (!st) st = dalloc(dst, (size_t)n * fsc_cuda_elt_size(s->elt), err);
    if (!st && (e = (cudaError_t)fsc_cuda_from_f32(tmp, *dst, n, s->elt))) st = cu_fail(err, e, "conversion kernel");
    cudaFree(tmp);
    if (st) {
        cudaFree(*dst);
        *dst = NULL;
    }
    return st;
}

/* Host tensor out (F32 container, shape) from device buffer src (storage type). */
static fsc_status download(const fsc_backend *b, const void *src, const fsc_shape *shape, fsc_tensor *out,
                           fsc_error *err)
{
    const cuda_state *s = b->state;
    fsc_status st = fsc_tensor_alloc(out, FSC_DT_F32, shape, b->ctx ? b->ctx->limits.max_tensor_bytes : 0, err);
    if (st) return st;
    int64_t n = fsc_tensor_numel(out);
    float *tmp = (float *)src;
    if (s->elt != FSC_CUDA_F32) {
        st = dalloc((void **)&tmp, (size_t)n * sizeof(float), err);
        cudaError_t e;
        if (!st && (e = (cudaError_t)fsc_cuda_to_f32(src, tmp, n, s->elt))) st = cu_fail(err, e, "conversion kernel");
    }
    if (!st) {
        cudaError_t e = cudaMemcpy(out->data, tmp, (size_t)n * sizeof(float), cudaMemcpyDeviceToHost);
        if (e) st = cu_fail(err, e, "download");
    }
    if (tmp != src) cudaFree(tmp);
    if (st) fsc_tensor_free(out);
    else out->fmt = b->arith->storage;
    return st;
}

/* Row-major fp32 C[batch][M,N] = op(A) op(B) with cuBLAS: the column-major
 * call computes C^T = op(B)^T op(A)^T (dimensions from fsc_cuda_gemm_describe). */
static fsc_status gemm(cuda_state *s, const fsc_cuda_gemm_desc *d, const void *A, const void *B, float *C,
                       fsc_error *err)
{
    const float one = 1.0f, zero = 0.0f;
    int M = (int)d->M, N = (int)d->N, K = (int)d->K, lda = (int)d->lda, ldb = (int)d->ldb;
    cublasOperation_t oa = d->ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = d->tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t bs;
    if (d->batch == 1)
        bs = cublasGemmEx(s->blas, ob, oa, N, M, K, &one, B, s->blas_in, ldb, A, s->blas_in, lda, &zero, C, CUDA_R_32F,
                          N, s->blas_compute, CUBLAS_GEMM_DEFAULT);
    else
        bs = cublasGemmStridedBatchedEx(s->blas, ob, oa, N, M, K, &one, B, s->blas_in, ldb, d->stride_b, A, s->blas_in,
                                        lda, d->stride_a, &zero, C, CUDA_R_32F, N, (long long)M * N, (int)d->batch,
                                        s->blas_compute, CUBLAS_GEMM_DEFAULT);
    return bs ? blas_fail(err, bs, d->batch == 1 ? "cublasGemmEx" : "cublasGemmStridedBatchedEx") : FSC_OK;
}

static fsc_status run_dot(cuda_state *s, const fsc_graph *g, int node, void *const *din, void *dy, fsc_error *err)
{
    fsc_cuda_gemm_desc d;
    if (!fsc_cuda_gemm_describe(g, node, &d))
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "GEMM form or dimensions the cuda backend does not handle");
    float *acc = NULL;
    fsc_status st = dalloc((void **)&acc, (size_t)(d.batch * d.M * d.N) * sizeof(float), err);
    if (!st) st = gemm(s, &d, din[0], din[1], acc, err);
    cudaError_t e;
    if (!st && (e = (cudaError_t)fsc_cuda_gemm_epilogue(acc, d.has_c ? din[2] : NULL, d.csm, d.csn, dy, d.batch * d.M,
                                                        d.N, (float)d.alpha, (float)d.beta, s->elt)))
        st = cu_fail(err, e, "GEMM epilogue");
    cudaFree(acc);
    return st;
}

static fsc_status run_conv(cuda_state *s, const fsc_graph *g, int node, void *const *din, void *dy, fsc_error *err)
{
    const fsc_node *n = &g->nodes[node];
    if (s->algo[node] < 0) return fsc_fail(err, FSC_ERR_INTERNAL, "no cuDNN algorithm was chosen at prepare");
    conv_desc d;
    fsc_status st = conv_desc_make(s, g, node, &d, err);
    if (st) return st;
    cudnnConvolutionFwdAlgo_t algo = (cudnnConvolutionFwdAlgo_t)s->algo[node];
    size_t need = 0;
    cudnnStatus_t ds = cudnnGetConvolutionForwardWorkspaceSize(s->dnn, d.x, d.w, d.c, d.y, algo, &need);
    if (ds) st = dnn_fail(err, ds, "workspace size");
    if (!st && need > s->ws_size) {
        cudaFree(s->ws);
        s->ws = NULL;
        s->ws_size = 0;
        st = dalloc(&s->ws, need, err);
        if (!st) s->ws_size = need;
    }
    const float one = 1.0f, zero = 0.0f;
    if (!st && (ds = cudnnConvolutionForward(s->dnn, &one, d.x, din[0], d.w, din[1], d.c, algo, s->ws, need, &zero,
                                             d.y, dy)))
        st = dnn_fail(err, ds, "cudnnConvolutionForward");
    conv_desc_free(&d);
    if (!st && n->n_in > 2 && n->in[2] >= 0) {
        const int64_t *y = g->values[n->out[0]].shape.dim;
        cudaError_t e = (cudaError_t)fsc_cuda_bias_nchw(dy, din[2], y[0], y[1], y[2] * y[3], s->elt);
        if (e) st = cu_fail(err, e, "bias kernel");
    }
    return st;
}

static fsc_status run_binary(cuda_state *s, const fsc_graph *g, const fsc_node *n, void *const *din, void *dy,
                             fsc_error *err)
{
    fsc_cuda_bcast bc;
    fsc_cuda_bcast_make(&g->values[n->out[0]].shape, &g->values[n->in[0]].shape, &g->values[n->in[1]].shape, &bc);
    int op = n->op == FSC_OP_ADD ? FSC_CUDA_ADD : n->op == FSC_OP_SUB ? FSC_CUDA_SUB : n->op == FSC_OP_MUL ? FSC_CUDA_MUL : FSC_CUDA_DIV;
    cudaError_t e = (cudaError_t)fsc_cuda_binary(op, din[0], din[1], dy, &bc, s->elt);
    return e ? cu_fail(err, e, "binary kernel") : FSC_OK;
}

/* Computes node into device buffer dy (the output's numel in storage type). */
static fsc_status compute(cuda_state *s, const fsc_graph *g, int node, void *const *din, void *dy, fsc_error *err)
{
    const fsc_node *n = &g->nodes[node];
    const fsc_shape *xs = &g->values[n->in[0]].shape;
    int64_t ny = fsc_shape_numel(&g->values[n->out[0]].shape);
    cudaError_t e = cudaSuccess;
    switch (n->op) {
    case FSC_OP_IDENTITY: case FSC_OP_RESHAPE:
        e = cudaMemcpy(dy, din[0], (size_t)ny * fsc_cuda_elt_size(s->elt), cudaMemcpyDeviceToDevice);
        break;
    case FSC_OP_RELU: case FSC_OP_SIGMOID: case FSC_OP_SILU: case FSC_OP_TANH: {
        int op = n->op == FSC_OP_RELU ? FSC_CUDA_RELU : n->op == FSC_OP_SIGMOID ? FSC_CUDA_SIGMOID
               : n->op == FSC_OP_SILU ? FSC_CUDA_SILU : FSC_CUDA_TANH;
        e = (cudaError_t)fsc_cuda_unary(op, din[0], dy, ny, s->elt);
        break;
    }
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV:
        return run_binary(s, g, n, din, dy, err);
    case FSC_OP_GLOBAL_AVGPOOL:
        e = (cudaError_t)fsc_cuda_row_mean(din[0], dy, prod(xs, 0, 2), prod(xs, 2, xs->rank), s->elt);
        break;
    case FSC_OP_REDUCE_MEAN: {
        int k = fsc_cuda_mean_trailing(&n->attr.axes, xs->rank);
        e = (cudaError_t)fsc_cuda_row_mean(din[0], dy, prod(xs, 0, xs->rank - k), prod(xs, xs->rank - k, xs->rank),
                                           s->elt);
        break;
    }
    case FSC_OP_GEMM: case FSC_OP_MATMUL:
        return run_dot(s, g, node, din, dy, err);
    case FSC_OP_CONV2D:
        return run_conv(s, g, node, din, dy, err);
    default:
        return fsc_fail(err, FSC_ERR_INTERNAL, "op %s reached the cuda backend", fsc_op_name(n->op));
    }
    return e ? cu_fail(err, e, "kernel") : FSC_OK;
}

static fsc_status cuda_run_node(fsc_backend *b, const fsc_graph *g, int node, const fsc_tensor *const *in,
                                fsc_tensor *out, fsc_error *err)
{
    cuda_state *s = b->state;
    const fsc_node *n = &g->nodes[node];
    if (!s->dconst || n->n_in > 3) return fsc_fail(err, FSC_ERR_INTERNAL, "cuda backend used before prepare");
    void *din[3] = {NULL, NULL, NULL};
    bool own[3] = {false, false, false};
    fsc_status st = FSC_OK;
    for (int k = 0; k < n->n_in && !st; k++) {
        int v = n->in[k];
        if (v < 0) continue;
        if (!in[k]) {
            st = fsc_fail(err, FSC_ERR_INTERNAL, "input %d missing", k);
        } else if (g->values[v].constant) { /* uploaded once, kept for every run */
            if (!s->dconst[v]) st = upload(s, in[k], &s->dconst[v], err);
            din[k] = s->dconst[v];
        } else {
            st = upload(s, in[k], &din[k], err);
            own[k] = true;
        }
    }
    const fsc_value *y = &g->values[n->out[0]];
    void *dy = NULL;
    if (!st) st = dalloc(&dy, (size_t)fsc_shape_numel(&y->shape) * fsc_cuda_elt_size(s->elt), err);
    if (!st) st = compute(s, g, node, din, dy, err);
    if (!st) st = download(b, dy, &y->shape, &out[0], err);
    cudaFree(dy);
    for (int k = 0; k < 3; k++)
        if (own[k]) cudaFree(din[k]);
    return st;
}

static void cuda_release(fsc_backend *b)
{
    cuda_state *s = b->state;
    if (!s) return;
    for (int v = 0; s->dconst && v < s->n_values; v++) cudaFree(s->dconst[v]);
    free(s->dconst);
    free(s->algo);
    cudaFree(s->ws);
    if (s->blas) cublasDestroy(s->blas);
    if (s->dnn) cudnnDestroy(s->dnn);
    free(s);
    b->state = NULL;
}

static const fsc_backend_vtable cuda_vtable = {
    .kind = "cuda",
    .supports = cuda_supports,
    .prepare = cuda_prepare,
    .load_const = cuda_load_const,
    .run_node = cuda_run_node,
    .release = cuda_release,
};

int fsc_cuda_conv_algo(const fsc_backend *b, int node)
{
    const cuda_state *s = b && b->vt == &cuda_vtable ? b->state : NULL;
    return s && s->algo && node >= 0 && node < s->n_nodes ? s->algo[node] : -1;
}

fsc_status fsc_cuda_backend_new(const char *variant, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err)
{
    *out = NULL;
    char base[16];
    snprintf(base, sizeof base, "%s", variant);
    bool det = false;
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, "-det") == 0) {
        det = true;
        base[len - 4] = '\0';
    }
    const fsc_arith *a = fsc_arith_preset(base);
    if (!a || (strcmp(base, "fp32") && strcmp(base, "tf32") && strcmp(base, "fp16") && strcmp(base, "bf16")))
        return fsc_fail(err, FSC_ERR_INVALID, "unknown cuda configuration '%s'", variant);
    fsc_backend *b = fsc_calloc(1, sizeof *b, "cuda backend", err);
    cuda_state *s = fsc_calloc(1, sizeof *s, "cuda backend", err);
    if (!b || !s) {
        free(b);
        free(s);
        return FSC_ERR_NOMEM;
    }
    b->vt = &cuda_vtable;
    b->ctx = ctx;
    b->arith = a; /* the closest emulated description (fp32, tf32, fp16, bf16): its storage format is exact */
    b->state = s;
    snprintf(b->name, sizeof b->name, "cuda:%s", variant);
    s->det = det;
    s->blas_compute = CUBLAS_COMPUTE_32F;
    s->dnn_data = CUDNN_DATA_FLOAT;
    s->blas_in = CUDA_R_32F;
    if (!strcmp(base, "fp32")) {
        s->elt = FSC_CUDA_F32;
        s->dnn_math = CUDNN_FMA_MATH; /* CUDNN_DEFAULT_MATH would allow TF32 on Ampere and later */
    } else if (!strcmp(base, "tf32")) {
        s->elt = FSC_CUDA_F32;
        s->blas_compute = CUBLAS_COMPUTE_32F_FAST_TF32;
        s->dnn_math = CUDNN_TENSOR_OP_MATH;
    } else {
        bool half = !strcmp(base, "fp16");
        s->elt = half ? FSC_CUDA_F16 : FSC_CUDA_BF16;
        s->blas_in = half ? CUDA_R_16F : CUDA_R_16BF;
        s->dnn_data = half ? CUDNN_DATA_HALF : CUDNN_DATA_BFLOAT16;
        s->dnn_math = CUDNN_TENSOR_OP_MATH;
    }
    fsc_status st = FSC_OK;
    cudaError_t e = cudaSetDevice(0);
    if (e) st = cu_fail(err, e, "cudaSetDevice(0)");
    cublasStatus_t bs;
    if (!st && (bs = cublasCreate(&s->blas))) st = blas_fail(err, bs, "cublasCreate");
    if (!st && (bs = cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH))) st = blas_fail(err, bs, "cublasSetMathMode");
    if (!st && (bs = cublasSetAtomicsMode(s->blas, CUBLAS_ATOMICS_NOT_ALLOWED)))
        st = blas_fail(err, bs, "cublasSetAtomicsMode");
    cudnnStatus_t ds;
    if (!st && (ds = cudnnCreate(&s->dnn))) st = dnn_fail(err, ds, "cudnnCreate");
    if (st) {
        fsc_backend_free(b);
        return st;
    }
    *out = b;
    return FSC_OK;
}

#else /* built without CUDA: the provider (cuda.c) reports every configuration unavailable */

int fsc_cuda_conv_algo(const fsc_backend *b, int node)
{
    (void)b;
    (void)node;
    return -1;
}

#endif
