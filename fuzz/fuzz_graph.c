/* fuzz_graph.c: graph construction and execution on small fuzzed graphs.
 * The bytes decode into one input, a few constants and up to 8 nodes whose
 * op, inputs, attributes (small values, invalid ones included) and output
 * dtype/shape come from the input. fsc_graph_add_node may refuse a node
 * (that is fine: decoding goes on with the next); whatever graph results is
 * run on emu:fp32 and emu:fp16. Build errors are fine; crashes are not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/exec.h"
#include "flipscope/graph.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small signed value in [-lo, span - lo). */
static int64_t small(fuzz_in *in, int lo, int span) { return (int64_t)(fuzz_u8(in) % span) - lo; }

static fsc_shape small_shape(fuzz_in *in, int max_rank, int max_dim)
{
    fsc_shape s;
    memset(&s, 0, sizeof s);
    s.rank = 1 + fuzz_u8(in) % max_rank;
    for (int i = 0; i < s.rank; i++) s.dim[i] = 1 + fuzz_u8(in) % max_dim;
    return s;
}

static void fill_attrs(fuzz_in *in, fsc_op op, fsc_attrs *a)
{
    memset(a, 0, sizeof *a);
    switch (op) {
    case FSC_OP_CONV2D:
        for (int i = 0; i < 2; i++) a->conv.stride[i] = small(in, 1, 4), a->conv.dilation[i] = small(in, 1, 4);
        for (int i = 0; i < 4; i++) a->conv.pad[i] = small(in, 1, 4);
        a->conv.group = small(in, 1, 4);
        break;
    case FSC_OP_MAXPOOL:
    case FSC_OP_AVGPOOL:
        for (int i = 0; i < 2; i++) {
            a->pool.kernel[i] = small(in, 1, 5);
            a->pool.stride[i] = small(in, 1, 4);
            a->pool.dilation[i] = small(in, 1, 4);
        }
        for (int i = 0; i < 4; i++) a->pool.pad[i] = small(in, 1, 4);
        a->pool.count_include_pad = fuzz_u8(in) & 1;
        a->pool.ceil_mode = fuzz_u8(in) & 1;
        break;
    case FSC_OP_GEMM: {
        uint8_t f = fuzz_u8(in);
        a->gemm.alpha = (double)small(in, 8, 17) / 4;
        a->gemm.beta = (double)small(in, 8, 17) / 4;
        a->gemm.trans_a = f & 1;
        a->gemm.trans_b = f & 2;
        break;
    }
    case FSC_OP_REDUCE_MEAN:
        a->axes.naxes = fuzz_u8(in) % (FSC_MAX_RANK + 1);
        for (int i = 0; i < a->axes.naxes; i++) a->axes.axes[i] = small(in, 5, 11);
        a->axes.keepdims = fuzz_u8(in) & 1;
        break;
    case FSC_OP_TRANSPOSE:
        for (int i = 0; i < FSC_MAX_RANK; i++) a->transpose.perm[i] = (int)small(in, 1, 10);
        break;
    case FSC_OP_CONCAT:
    case FSC_OP_SOFTMAX:
    case FSC_OP_GATHER:
        a->axis.axis = small(in, 5, 11);
        break;
    case FSC_OP_LAYERNORM:
    case FSC_OP_BATCHNORM:
        a->norm.axis = small(in, 5, 11);
        a->norm.epsilon = (double)fuzz_u8(in) / 1000;
        break;
    case FSC_OP_CLIP:
        a->clip.lo = (double)small(in, 8, 17) / 2;
        a->clip.hi = (double)small(in, 8, 17) / 2;
        break;
    case FSC_OP_GELU:
        a->gelu.tanh_approx = fuzz_u8(in) & 1;
        break;
    case FSC_OP_QUANTIZE:
    case FSC_OP_DEQUANTIZE:
        a->quant.axis = small(in, 5, 11);
        a->quant.out_dtype = (fsc_dtype)(fuzz_u8(in) % FSC_DT_COUNT);
        break;
    case FSC_OP_CAST:
        a->cast.to = (fsc_dtype)(fuzz_u8(in) % FSC_DT_COUNT);
        break;
    case FSC_OP_PAD:
        for (int i = 0; i < 2 * FSC_MAX_RANK; i++) a->pad.pads[i] = small(in, 2, 6);
        a->pad.value = (double)small(in, 8, 17);
        break;
    case FSC_OP_SLICE:
        for (int i = 0; i < FSC_MAX_RANK; i++) a->slice.start[i] = small(in, 1, 6), a->slice.step[i] = small(in, 3, 7);
        break;
    default:
        break;
    }
}

/* A constant of a small shape with values from the input (dtype F32, I64 or I8). */
static int add_const(fsc_graph *g, fuzz_in *in, int k, fsc_error *err)
{
    static const fsc_dtype dts[] = {FSC_DT_F32, FSC_DT_F32, FSC_DT_I64, FSC_DT_I8, FSC_DT_F16};
    fsc_dtype dt = dts[fuzz_u8(in) % 5];
    fsc_shape s = small_shape(in, 4, 4);
    fsc_tensor t;
    if (fsc_tensor_alloc(&t, dt == FSC_DT_F16 ? FSC_DT_F32 : dt, &s, 0, err)) return -1;
    int64_t n = fsc_tensor_numel(&t);
    for (int64_t i = 0; i < n; i++) fsc_tensor_set(&t, i, dt == FSC_DT_I64 ? (double)small(in, 1, 4)
                                                                            : (double)small(in, 64, 128) / 16);
    char name[16];
    snprintf(name, sizeof name, "c%d", k);
    return fsc_graph_add_initializer(g, name, dt, &t, err);
}

static void run_on(const char *config, const fsc_graph *g, const fsc_tensor *x, const fsc_ctx *ctx)
{
    fsc_engine *e = NULL;
    fsc_error err;
    if (fsc_engine_open(config, g, ctx, &e, &err)) return;
    fsc_tensor out[2];
    memset(out, 0, sizeof out);
    if (fsc_engine_run(e, x, out, NULL, &err) == FSC_OK)
        for (int i = 0; i < g->n_outputs; i++) fsc_tensor_free(&out[i]);
    fsc_engine_close(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size, 0};
    fsc_ctx ctx = fuzz_ctx();
    fsc_error err;
    fsc_graph *g = fsc_graph_new("fuzz", &err);
    if (!g) return 0;
    fsc_shape xs = small_shape(&in, 4, 5);
    fsc_tensor x;
    memset(&x, 0, sizeof x);
    int vals[32], nv = 0;
    vals[nv++] = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, &err);
    if (vals[0] < 0 || fsc_tensor_alloc(&x, FSC_DT_F32, &xs, 0, &err)) goto done;
    for (int64_t i = 0; i < fsc_tensor_numel(&x); i++) fsc_tensor_set(&x, i, (double)small(&in, 64, 128) / 8);
    int nc = fuzz_u8(&in) % 4;
    for (int k = 0; k < nc; k++) {
        int id = add_const(g, &in, k, &err);
        if (id >= 0) vals[nv++] = id;
    }
    for (int k = 0; k < 8 && fuzz_left(&in) > 0 && nv < 30; k++) {
        fsc_op op = (fsc_op)(1 + fuzz_u8(&in) % (FSC_OP_COUNT - 1));
        int n_in = fuzz_u8(&in) % 6, ins[5];
        for (int i = 0; i < n_in; i++) ins[i] = (int)(fuzz_u8(&in) % (nv + 1)) - 1;
        for (int i = 0; i < n_in; i++)
            if (ins[i] >= 0) ins[i] = vals[ins[i]];
        fsc_node_spec sp;
        memset(&sp, 0, sizeof sp);
        fill_attrs(&in, op, &sp.attr);
        static const fsc_dtype odt[] = {FSC_DT_F32, FSC_DT_F16, FSC_DT_I8, FSC_DT_U8, FSC_DT_I64, FSC_DT_UNDEF};
        fsc_shape os = small_shape(&in, 4, 6);
        char nname[16], oname[16];
        snprintf(nname, sizeof nname, "n%d", k);
        snprintf(oname, sizeof oname, "v%d", k);
        const char *outs[1] = {oname};
        sp.op = op;
        sp.name = nname;
        sp.n_in = n_in;
        sp.in = ins;
        sp.n_out = 1;
        sp.out_names = outs;
        sp.out_dtype = odt[fuzz_u8(&in) % 6];
        sp.out_shape = &os;
        int node = fsc_graph_add_node(g, &sp, &err);
        if (node >= 0) vals[nv++] = g->nodes[node].out[0];
    }
    if (fsc_graph_add_output(g, vals[nv - 1], &err)) goto done;
    run_on("emu:fp32", g, &x, &ctx);
    run_on("emu:fp16", g, &x, &ctx);
done:
    fsc_tensor_free(&x);
    fsc_graph_free(g);
    return 0;
}
