/* dispatch.c: fsc_kernel_supports / fsc_kernel_run: allocate a node's
 * outputs from the graph's inferred shapes and dtypes, check its inputs and
 * hand them to the op kernel (ops.h). */
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kutil.h"
#include "kernels/ops.h"
#include "kernels/quant_int.h"

static bool is_dot_op(fsc_op op) { return op == FSC_OP_CONV2D || op == FSC_OP_GEMM || op == FSC_OP_MATMUL; }

/* Why node cannot run under a, or NULL. */
static const char *unsupported_reason(const fsc_graph *g, int node, const fsc_arith *a)
{
    if (!g || node < 0 || node >= g->n_nodes) return "no such node";
    fsc_op op = g->nodes[node].op;
    if (op == FSC_OP_CONSTANT) return "constant nodes are not run";
    if (op == FSC_OP_OPAQUE) return "its op type is not supported by flipscope (the model was loaded for inspection only)";
    if ((int)op < 0 || op >= FSC_OP_COUNT) return "unknown op";
    if (a->storage != FSC_FMT_FP64 && !fsc_kfmt_within(a->storage, FSC_FMT_FP32))
        return "storage format wider than fp32 other than fp64";
    if (is_dot_op(op)) return fsc_k_dot_unsupported(a);
    if ((op == FSC_OP_QUANTIZE || op == FSC_OP_DEQUANTIZE) && a->quant != FSC_QUANT_FAKE)
        return "integer quantization mode is not handled by the float kernels";
    for (int i = 0; i < g->nodes[node].n_out; i++) {
        int v = g->nodes[node].out[i];
        if (v < 0 || v >= g->n_values || g->values[v].dtype == FSC_DT_STRING || g->values[v].dtype == FSC_DT_UNDEF)
            return "output value without a numeric dtype";
    }
    return NULL;
}

bool fsc_kernel_supports(const fsc_graph *g, int node, const fsc_arith *a)
{
    if (a->quant == FSC_QUANT_INTEGER && node >= 0 && node < g->n_nodes) { /* see fsc_kernel_run */
        if (is_dot_op(g->nodes[node].op) && fsc_qint_applies(g, node)) return true;
        fsc_arith fake = *a;
        fake.quant = FSC_QUANT_FAKE;
        return unsupported_reason(g, node, &fake) == NULL;
    }
    return unsupported_reason(g, node, a) == NULL;
}

/* Minimum number of present inputs of each op. */
static int min_inputs(fsc_op op)
{
    switch (op) {
    case FSC_OP_CONV2D: case FSC_OP_GEMM: case FSC_OP_MATMUL: case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL:
    case FSC_OP_DIV: case FSC_OP_POW: case FSC_OP_LAYERNORM: case FSC_OP_GATHER: case FSC_OP_QUANTIZE:
    case FSC_OP_DEQUANTIZE: return 2;
    case FSC_OP_BATCHNORM: return 5;
    default: return 1;
    }
}

static fsc_dtype container_of(fsc_dtype dt, const fsc_arith *a)
{
    if (fsc_dtype_is_float(dt)) return a->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
    return dt;
}

/* Ops whose data inputs (all but index / scale / zero-point inputs) must be float tensors. */
static int float_data_inputs(fsc_op op)
{
    switch (op) {
    case FSC_OP_CONV2D: case FSC_OP_GEMM: case FSC_OP_MATMUL: return 3;
    case FSC_OP_LAYERNORM: return 3;
    case FSC_OP_BATCHNORM: return 5;
    case FSC_OP_RELU: case FSC_OP_CLIP: case FSC_OP_SIGMOID: case FSC_OP_SILU: case FSC_OP_TANH: case FSC_OP_ERF:
    case FSC_OP_GELU: case FSC_OP_SQRT: case FSC_OP_SOFTMAX: case FSC_OP_MAXPOOL: case FSC_OP_AVGPOOL:
    case FSC_OP_GLOBAL_AVGPOOL: case FSC_OP_REDUCE_MEAN: case FSC_OP_QUANTIZE: return 1;
    default: return 0; /* layout ops, cast, binary ops (integer arithmetic exists), dequantize */
    }
}

static fsc_status run_op(const fsc_node *nd, const fsc_arith *a, const fsc_ctx *ctx, const fsc_tensor *const *in,
                         fsc_tensor *out, fsc_error *err)
{
    for (int i = 0; i < float_data_inputs(nd->op) && i < nd->n_in; i++)
        if (in[i] && in[i]->dtype != FSC_DT_F32 && in[i]->dtype != FSC_DT_F64)
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "input %d holds %s data; this op runs on float tensors", i,
                            fsc_dtype_name(in[i]->dtype));
    const fsc_attrs *at = &nd->attr;
    const fsc_tensor *x = in[0];
    const fsc_tensor *i1 = nd->n_in > 1 ? in[1] : NULL, *i2 = nd->n_in > 2 ? in[2] : NULL;
    switch (nd->op) {
    case FSC_OP_IDENTITY:
    case FSC_OP_RESHAPE: return fsc_k_copy(x, a, out, err);
    case FSC_OP_CONV2D: return fsc_k_conv2d(&at->conv, x, i1, i2, a, ctx, out, err);
    case FSC_OP_GEMM: return fsc_k_gemm(&at->gemm, x, i1, i2, a, ctx, out, err);
    case FSC_OP_MATMUL: return fsc_k_matmul(x, i1, a, ctx, out, err);
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: case FSC_OP_POW:
        return fsc_k_binary(nd->op, x, i1, a, ctx, out, err);
    case FSC_OP_RELU: case FSC_OP_CLIP: case FSC_OP_SIGMOID: case FSC_OP_SILU: case FSC_OP_TANH: case FSC_OP_ERF:
    case FSC_OP_GELU: case FSC_OP_SQRT: return fsc_k_unary(nd->op, at, x, a, ctx, out, err);
    case FSC_OP_SOFTMAX: return fsc_k_softmax(&at->axis, x, a, ctx, out, err);
    case FSC_OP_LAYERNORM: return fsc_k_layernorm(&at->norm, x, i1, i2, a, ctx, out, err);
    case FSC_OP_BATCHNORM: return fsc_k_batchnorm(&at->norm, x, i1, i2, in[3], in[4], a, ctx, out, err);
    case FSC_OP_MAXPOOL: case FSC_OP_AVGPOOL: return fsc_k_pool(nd->op, &at->pool, x, a, ctx, out, err);
    case FSC_OP_GLOBAL_AVGPOOL: return fsc_k_global_avgpool(x, a, ctx, out, err);
    case FSC_OP_REDUCE_MEAN: return fsc_k_reduce_mean(&at->axes, x, a, ctx, out, err);
    case FSC_OP_TRANSPOSE: return fsc_k_transpose(&at->transpose, x, a, out, err);
    case FSC_OP_CONCAT: return fsc_k_concat(&at->axis, nd->n_in, in, a, out, err);
    case FSC_OP_PAD: return fsc_k_pad(&at->pad, x, a, out, err);
    case FSC_OP_SLICE: return fsc_k_slice(&at->slice, x, a, out, err);
    case FSC_OP_GATHER: return fsc_k_gather(&at->axis, x, i1, a, out, err);
    case FSC_OP_CAST: return fsc_k_cast(&at->cast, x, a, out, err);
    case FSC_OP_QUANTIZE: return fsc_k_quantize(&at->quant, x, i1, i2, a, ctx, out, err);
    case FSC_OP_DEQUANTIZE: return fsc_k_dequantize(&at->quant, x, i1, i2, a, ctx, out, err);
    default: return fsc_fail(err, FSC_ERR_UNSUPPORTED, "no kernel for op %d", (int)nd->op);
    }
}

fsc_status fsc_kernel_run(const fsc_graph *g, int node, const fsc_arith *a, const fsc_ctx *ctx,
                          const fsc_tensor *const *in, fsc_tensor *out, fsc_error *err)
{
    /* Integer mode (quant_int.h): int8 conv/linear run in the integer pipeline,
     * every other node as in fake mode (quantize/dequantize are the same float ops). */
    fsc_arith fake;
    if (a->quant == FSC_QUANT_INTEGER && node >= 0 && node < g->n_nodes) {
        if (is_dot_op(g->nodes[node].op) && fsc_qint_applies(g, node)) return fsc_qint_run(g, node, a, ctx, in, out, err);
        fake = *a;
        fake.quant = FSC_QUANT_FAKE;
        a = &fake;
    }
    const char *why = unsupported_reason(g, node, a);
    if (why) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s", why);
    const fsc_node *nd = &g->nodes[node];
    if (nd->n_in < min_inputs(nd->op) || nd->n_out < 1)
        return fsc_fail(err, FSC_ERR_INVALID, "%d inputs / %d outputs are too few", nd->n_in, nd->n_out);
    fsc_dtype fc = a->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
    int need = min_inputs(nd->op);
    if (nd->op == FSC_OP_CONCAT) need = nd->n_in;
    for (int i = 0; i < nd->n_in; i++) {
        if (!in[i]) {
            if (i < need) return fsc_fail(err, FSC_ERR_INVALID, "input %d is missing", i);
            continue;
        }
        if ((in[i]->dtype == FSC_DT_F32 || in[i]->dtype == FSC_DT_F64) && in[i]->dtype != fc)
            return fsc_fail(err, FSC_ERR_INTERNAL, "input %d is in a %s container, expected %s under storage %s", i,
                            fsc_dtype_name(in[i]->dtype), fsc_dtype_name(fc), fsc_format_get(a->storage)->name);
    }
    size_t max_bytes = ctx ? ctx->limits.max_tensor_bytes : 0;
    for (int i = 0; i < nd->n_out; i++) memset(&out[i], 0, sizeof out[i]);
    fsc_status st = FSC_OK;
    for (int i = 0; i < nd->n_out && !st; i++) {
        const fsc_value *v = &g->values[nd->out[i]];
        st = fsc_tensor_alloc(&out[i], container_of(v->dtype, a), &v->shape, max_bytes, err);
        out[i].fmt = a->storage;
    }
    if (!st) st = run_op(nd, a, ctx, in, out, err);
    if (st) {
        for (int i = 0; i < nd->n_out; i++) fsc_tensor_free(&out[i]);
        return st;
    }
    for (int i = 0; i < nd->n_out; i++) out[i].fmt = a->storage;
    return FSC_OK;
}
