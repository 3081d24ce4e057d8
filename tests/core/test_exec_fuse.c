/* test_exec_fuse.c: the executor's fast paths give bit-identical outputs to
 * running every node on its own (fsc_engine_set_unfused):
 *  - fused elementwise regions evaluated by table (exec_fuse.h), on graphs of
 *    quantize / dequantize / sigmoid / mul / silu / tanh / add / div / clip /
 *    sqrt chains fed every fp16 bit pattern (ties of x / scale, saturation,
 *    NaN, Inf, subnormals, signed zeros), under every emulator preset, every
 *    coreml:* configuration and custom arithmetic with each quantize rounding
 *    and quotient format, with 1..3 threads;
 *  - the fallback when a root element is not in the table's domain;
 *  - constant-only nodes (W8A8 weight dequantize) computed once at open;
 *  - the W8A8 seed architecture, fused SiLU and as read back from ONNX
 *    (Sigmoid and Mul);
 *  - the table-lookup kernel's AVX-512 path against its scalar reference. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "backends/registry.h"
#include "core/exec_fuse.h"
#include "core/half.h"
#include "flipscope/exec.h"
#include "flipscope/graph.h"
#include "flipscope/model_io.h"
#include "flipscope/rng.h"
#include "flipscope/synth.h"
#include "flipscope/transforms.h"
#include "kernels/lut.h"

/* ---- graph building ---- */

static int scalar(fsc_graph *g, const char *name, fsc_dtype dt, double v, int rank)
{
    int64_t d[4] = {1, 1, 1, 1};
    fsc_shape s = fsc_shape_make(rank, d);
    fsc_tensor t;
    fsc_dtype cont = dt == FSC_DT_I8 || dt == FSC_DT_U8 ? dt : FSC_DT_F32;
    assert_int_equal(fsc_tensor_alloc(&t, cont, &s, 0, NULL), FSC_OK);
    fsc_tensor_set(&t, 0, v);
    int id = fsc_graph_add_initializer(g, name, dt, &t, NULL);
    assert_true(id >= 0);
    return id;
}

static int node(fsc_graph *g, fsc_op op, const char *name, int n_in, const int *in, fsc_dtype out_dtype)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = op;
    sp.name = name;
    sp.n_in = n_in;
    sp.in = in;
    sp.n_out = 1;
    const char *on[1] = {name};
    sp.out_names = on;
    sp.out_dtype = out_dtype;
    if (op == FSC_OP_QUANTIZE || op == FSC_OP_DEQUANTIZE) sp.attr.quant.out_dtype = out_dtype;
    if (op == FSC_OP_CLIP) sp.attr.clip.lo = -0.75, sp.attr.clip.hi = 6.0;
    fsc_error err;
    int i = fsc_graph_add_node(g, &sp, &err);
    if (i < 0) fail_msg("%s: %s", name, err.msg);
    return g->nodes[i].out[0];
}

/* x [1,C,H,W] float and xi (uint8, same shape):
 *   q1 = Q(x, s1, -3) int8; d1 = DQ(q1); m = d1 * sigmoid(d1); t = tanh(m);
 *   a = t + 0.3; dv = a / 3; q2 = Q(dv, 1/64, 128) uint8; d2 = DQ(q2)
 *   y3 = clip(silu(x)); y5 = sqrt(DQ(xi, 0.5, 7)) * 1.5;
 *   w = DQ(int8 constant) (constant-only: computed at open); y6 = x * w... no: y6 = relu(w) + 0 (constant chain)
 * outputs d2, m (a second output of the same region), y3, y5, y6. */
static fsc_graph *chain_graph(int64_t C, int64_t H, int64_t W)
{
    fsc_graph *g = fsc_graph_new("chain", NULL);
    int64_t d[4] = {1, C, H, W};
    fsc_shape s = fsc_shape_make(4, d);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &s, NULL);
    int xi = fsc_graph_add_input(g, "xi", FSC_DT_U8, &s, NULL);
    int s1 = scalar(g, "s1", FSC_DT_F32, 0.0498046875, 0), z1 = scalar(g, "z1", FSC_DT_I8, -3, 1);
    int s2 = scalar(g, "s2", FSC_DT_F32, 1.0 / 64, 1), z2 = scalar(g, "z2", FSC_DT_U8, 128, 0);
    int s3 = scalar(g, "s3", FSC_DT_F32, 0.5, 0), z3 = scalar(g, "z3", FSC_DT_U8, 7, 0);
    int c03 = scalar(g, "c03", FSC_DT_F32, 0.3, 4), c3 = scalar(g, "c3", FSC_DT_F32, 3.0, 0);
    int c15 = scalar(g, "c15", FSC_DT_F32, 1.5, 2);
    int in[3];
    in[0] = x, in[1] = s1, in[2] = z1;
    int q1 = node(g, FSC_OP_QUANTIZE, "q1", 3, in, FSC_DT_I8);
    in[0] = q1;
    int d1 = node(g, FSC_OP_DEQUANTIZE, "d1", 3, in, FSC_DT_F32);
    in[0] = d1;
    int sg = node(g, FSC_OP_SIGMOID, "sg", 1, in, FSC_DT_F32);
    in[0] = d1, in[1] = sg;
    int m = node(g, FSC_OP_MUL, "m", 2, in, FSC_DT_F32);
    in[0] = m;
    int t = node(g, FSC_OP_TANH, "t", 1, in, FSC_DT_F32);
    in[0] = t, in[1] = c03;
    int a = node(g, FSC_OP_ADD, "a", 2, in, FSC_DT_F32);
    in[0] = a, in[1] = c3;
    int dv = node(g, FSC_OP_DIV, "dv", 2, in, FSC_DT_F32);
    in[0] = dv, in[1] = s2, in[2] = z2;
    int q2 = node(g, FSC_OP_QUANTIZE, "q2", 3, in, FSC_DT_U8);
    in[0] = q2;
    int d2 = node(g, FSC_OP_DEQUANTIZE, "d2", 3, in, FSC_DT_F32);
    in[0] = x;
    int si = node(g, FSC_OP_SILU, "si", 1, in, FSC_DT_F32);
    in[0] = si;
    int y3 = node(g, FSC_OP_CLIP, "y3", 1, in, FSC_DT_F32);
    in[0] = xi, in[1] = s3, in[2] = z3;
    int d5 = node(g, FSC_OP_DEQUANTIZE, "d5", 3, in, FSC_DT_F32);
    in[0] = d5;
    int r5 = node(g, FSC_OP_SQRT, "r5", 1, in, FSC_DT_F32);
    in[0] = c15, in[1] = r5;
    int y5 = node(g, FSC_OP_MUL, "y5", 2, in, FSC_DT_F32);
    /* a constant-only chain: int8 weights dequantized per channel */
    int64_t wd[1] = {C};
    fsc_shape ws = fsc_shape_make(1, wd);
    fsc_tensor wq, wsc;
    assert_int_equal(fsc_tensor_alloc(&wq, FSC_DT_I8, &ws, 0, NULL), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&wsc, FSC_DT_F32, &ws, 0, NULL), FSC_OK);
    for (int64_t c = 0; c < C; c++) {
        fsc_tensor_set(&wq, c, (double)(c * 37 % 255) - 127);
        fsc_tensor_set(&wsc, c, ldexp(1.0 + (double)c / 8, -7));
    }
    int wqv = fsc_graph_add_initializer(g, "wq", FSC_DT_I8, &wq, NULL);
    int wsv = fsc_graph_add_initializer(g, "wsc", FSC_DT_F32, &wsc, NULL);
    in[0] = wqv, in[1] = wsv, in[2] = -1;
    int wdq = node(g, FSC_OP_DEQUANTIZE, "wdq", 3, in, FSC_DT_F32);
    in[0] = wdq;
    int y6 = node(g, FSC_OP_RELU, "y6", 1, in, FSC_DT_F32);
    int outs[5] = {d2, m, y3, y5, y6};
    for (int k = 0; k < 5; k++) assert_int_equal(fsc_graph_add_output(g, outs[k], NULL), FSC_OK);
    return g;
}

/* Inputs: x holds every fp16 bit pattern in turn (then random doubles, off
 * the grid, when off_grid), xi every byte. */
static void chain_inputs(const fsc_graph *g, bool off_grid, fsc_tensor *in)
{
    const fsc_shape *s = &g->values[g->inputs[0]].shape;
    assert_int_equal(fsc_tensor_alloc(&in[0], FSC_DT_F64, s, 0, NULL), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&in[1], FSC_DT_U8, s, 0, NULL), FSC_OK);
    fsc_rng r;
    fsc_rng_seed(&r, 77);
    int64_t n = fsc_tensor_numel(&in[0]);
    for (int64_t i = 0; i < n; i++) {
        double v = fsc_half_to_double((uint16_t)((i * 40503) & 0xffff));
        if (off_grid && i % 3 == 0) v = ldexp(fsc_rng_normal(&r), (int)(i % 40) - 20);
        ((double *)in[0].data)[i] = v;
        ((uint8_t *)in[1].data)[i] = (uint8_t)(i * 97 + 11);
    }
}

static void free_all(fsc_tensor *t, int n)
{
    for (int i = 0; i < n; i++) fsc_tensor_free(&t[i]);
}

/* Runs e fused and unfused on in and asserts bit-identical outputs. */
static void compare_runs(fsc_engine *e, const fsc_graph *g, const fsc_tensor *in, const char *what)
{
    fsc_tensor a[8], b[8];
    fsc_error err;
    int n = g->n_outputs;
    assert_true(n <= 8);
    fsc_engine_set_unfused(e, false);
    if (fsc_engine_run(e, in, a, NULL, &err)) fail_msg("%s fused: %s", what, err.msg);
    fsc_engine_set_unfused(e, true);
    if (fsc_engine_run(e, in, b, NULL, &err)) fail_msg("%s unfused: %s", what, err.msg);
    fsc_engine_set_unfused(e, false);
    for (int k = 0; k < n; k++) {
        assert_int_equal(a[k].nbytes, b[k].nbytes);
        if (memcmp(a[k].data, b[k].data, a[k].nbytes) != 0) {
            for (int64_t i = 0; i < fsc_tensor_numel(&a[k]); i++) {
                double x = fsc_tensor_get(&a[k], i), y = fsc_tensor_get(&b[k], i);
                if (memcmp(&x, &y, 8) != 0) fail_msg("%s: output %d element %lld: fused %a, unfused %a", what, k, (long long)i, x, y);
            }
        }
        assert_int_equal(a[k].fmt, b[k].fmt);
    }
    free_all(a, n);
    free_all(b, n);
}

/* Every preset and coreml configuration on the chain graph, 1..3 threads. */
static void test_chain_every_config(void **state)
{
    (void)state;
    fsc_graph *g = chain_graph(1, 256, 256);
    fsc_tensor in[2];
    const char *extra[] = {"coreml:cpu_only", "coreml:cpu_and_gpu", "coreml:cpu_and_ne", "coreml:all"};
    int np = fsc_arith_preset_count();
    int with_regions = 0;
    for (int grid = 0; grid < 2; grid++) {
        chain_inputs(g, grid == 1, in);
        for (int c = 0; c < np + 4; c++) {
            char cfg[80];
            if (c < np) snprintf(cfg, sizeof cfg, "emu:%s", fsc_arith_preset_at(c)->name);
            else snprintf(cfg, sizeof cfg, "%s", extra[c - np]);
            for (int th = 1; th <= 3; th++) {
                if (th > 1 && c % 3 != 0 && c < np) continue; /* every preset once, a third of them threaded */
                fsc_ctx ctx = fsc_ctx_default();
                ctx.threads = th;
                fsc_engine *e;
                fsc_error err;
                if (fsc_engine_open(cfg, g, &ctx, &e, &err)) continue; /* a preset that cannot run this graph */
                with_regions += fsc_engine_fused_regions(e) > 0;
                char what[120];
                snprintf(what, sizeof what, "%s, %d threads, %s inputs", cfg, th, grid ? "off-grid" : "fp16");
                compare_runs(e, g, in, what);
                fsc_engine_close(e);
            }
        }
        free_all(in, 2);
    }
    assert_true(with_regions > 10);
    fsc_graph_free(g);
}

/* Which regions form: under fp16 storage the float input roots one table
 * (q1 .. d2 and silu/clip: outputs d2, m, y3) and xi another; under fp32
 * only the int8 / uint8 roots do. */
static void test_chain_regions(void **state)
{
    (void)state;
    fsc_graph *g = chain_graph(2, 40, 50);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_engine *e;
    fsc_error err;
    assert_int_equal(fsc_engine_open("emu:fp16", g, &ctx, &e, &err), FSC_OK);
    assert_int_equal(fsc_engine_fused_regions(e), 2);
    fsc_engine_close(e);
    assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &e, &err), FSC_OK);
    assert_int_equal(fsc_engine_fused_regions(e), 2); /* q1's int8 root, xi's uint8 root */
    fsc_engine_close(e);
    fsc_graph_free(g);
}

/* Custom arithmetic: each quantize rounding, quotient formats, step-by-step
 * transcendentals, bf16 storage; odd shapes; caller-built emulator backends. */
static void test_chain_custom_arith(void **state)
{
    (void)state;
    const fsc_rounding rnd[3] = {FSC_RND_NEAREST_EVEN, FSC_RND_TOWARD_ZERO, FSC_RND_NEAREST_AWAY};
    const fsc_format_id qc[3] = {FSC_FMT_FP16, FSC_FMT_FP32, FSC_FMT_FP64};
    const fsc_format_id st[3] = {FSC_FMT_FP16, FSC_FMT_BF16, FSC_FMT_FP32};
    fsc_graph *g = chain_graph(3, 37, 41);
    fsc_tensor in[2];
    for (int grid = 0; grid < 2; grid++) {
        chain_inputs(g, grid == 1, in);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++)
                    for (int tr = 0; tr < 2; tr++) {
                        fsc_arith a = *fsc_arith_preset("fp16");
                        a.quant_rounding = rnd[i];
                        a.quant_compute = qc[j];
                        a.storage = a.weights = st[k];
                        a.transcendental = tr ? FSC_TRANS_STORAGE : FSC_TRANS_EXACT;
                        fsc_ctx ctx = fsc_ctx_default();
                        ctx.threads = 1 + (i + j + k) % 3;
                        fsc_backend *b;
                        fsc_engine *e;
                        fsc_error err;
                        assert_int_equal(fsc_emu_backend_new(&a, &ctx, &b, &err), FSC_OK);
                        if (fsc_engine_open_backend(b, g, &ctx, &e, &err)) fail_msg("%s", err.msg);
                        assert_true(fsc_engine_fused_regions(e) >= 2);
                        char what[120];
                        snprintf(what, sizeof what, "rounding %d, quotient %d, storage %d, trans %d, %s", i, j, k, tr,
                                 grid ? "off-grid" : "fp16");
                        compare_runs(e, g, in, what);
                        fsc_engine_close(e);
                    }
        free_all(in, 2);
    }
    fsc_graph_free(g);
}

/* A float root whose elements are not all on the fp16 grid (an F32 input
 * that claims fp16 but holds other values, NaNs with payloads fp16 cannot
 * hold): the region falls back to its nodes and still matches. */
static void test_fallback_off_grid_root(void **state)
{
    (void)state;
    fsc_graph *g = chain_graph(1, 64, 64);
    fsc_tensor in[2];
    chain_inputs(g, false, in);
    fsc_tensor xf;
    assert_int_equal(fsc_tensor_alloc(&xf, FSC_DT_F32, &in[0].shape, 0, NULL), FSC_OK);
    for (int64_t i = 0; i < fsc_tensor_numel(&xf); i++) ((float *)xf.data)[i] = (float)((double *)in[0].data)[i];
    fsc_ctx ctx = fsc_ctx_default();
    fsc_engine *e;
    fsc_error err;
    assert_int_equal(fsc_engine_open("coreml:cpu_only", g, &ctx, &e, &err), FSC_OK);
    for (int variant = 0; variant < 3; variant++) {
        float *p = xf.data;
        if (variant == 1) p[100] = 0.1f; /* not an fp16 value */
        if (variant == 2) {
            uint32_t nanb = 0x7fc00001u; /* a quiet NaN whose payload fp16 drops */
            memcpy(&p[7], &nanb, 4);
        }
        xf.fmt = FSC_FMT_FP16; /* the executor passes fp16-claimed data on as it is */
        fsc_tensor ins[2] = {xf, in[1]};
        compare_runs(e, g, ins, variant == 0 ? "on grid" : variant == 1 ? "0.1" : "NaN payload");
    }
    fsc_engine_close(e);
    fsc_tensor_free(&xf);
    free_all(in, 2);
    fsc_graph_free(g);
}

/* The W8A8 seed architecture (small input), as built in memory (fused SiLU)
 * and as read back from ONNX (Sigmoid and Mul), every coreml configuration
 * and the W8A8 presets. */
static void test_w8a8_seed(void **state)
{
    (void)state;
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = 40;
    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = 2;
    fsc_graph *g, *q, *r;
    fsc_error err;
    assert_int_equal(fsc_synth_amplified_conv_tie(&so, &g, &err), FSC_OK);
    if (fsc_variant_w8a8(g, 7, 4, &ctx, &q, &err)) fail_msg("%s", err.msg);
    char path[] = "/tmp/fsc_fuse_XXXXXX.onnx";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    if (fsc_model_save(path, q, &ctx, &err)) fail_msg("%s", err.msg);
    if (fsc_model_load(path, &ctx, &r, &err)) fail_msg("%s", err.msg);
    unlink(path);
    const char *cfgs[] = {"coreml:cpu_only", "coreml:cpu_and_gpu", "coreml:cpu_and_ne", "coreml:all",
                          "emu:w8a8-fake16", "emu:w8a8-fake32", "emu:w8a8-int", "emu:fp16", "emu:fp32"};
    const fsc_graph *gs[2] = {q, r};
    for (int k = 0; k < 2; k++) {
        fsc_tensor x;
        uint64_t seed = 5;
        assert_int_equal(fsc_inputs_load(gs[k], NULL, 0, &seed, &ctx, &x, &err), FSC_OK);
        for (size_t c = 0; c < sizeof cfgs / sizeof *cfgs; c++) {
            fsc_engine *e;
            if (fsc_engine_open(cfgs[c], gs[k], &ctx, &e, &err)) fail_msg("%s: %s", cfgs[c], err.msg);
            /* the five conv outputs (+ the input and the head's pair) each root one region */
            if (strncmp(cfgs[c], "emu:fp32", 8) && strncmp(cfgs[c], "emu:w8a8-fake32", 15)) assert_true(fsc_engine_fused_regions(e) >= 5);
            char what[120];
            snprintf(what, sizeof what, "%s on the %s W8A8 seed", cfgs[c], k ? "ONNX" : "in-memory");
            compare_runs(e, gs[k], &x, what);
            fsc_engine_close(e);
        }
        fsc_tensor_free(&x);
    }
    fsc_graph_free(r);
    fsc_graph_free(q);
    fsc_graph_free(g);
}

/* ---- the lookup kernel ---- */

/* The float of binary16 pattern h as the hardware converts it (NaNs quiet,
 * payload kept). */
static float half_float(uint16_t h)
{
    if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) {
        uint32_t b = ((uint32_t)(h & 0x8000u) << 16) | 0x7fc00000u | ((uint32_t)(h & 0x3ffu) << 13);
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    return (float)fsc_half_to_double(h);
}

static void fill_table(fsc_tensor *t, fsc_dtype dt, int64_t n, fsc_rng *r, int32_t **wide)
{
    int64_t d[1] = {n};
    fsc_shape s = fsc_shape_make(1, d);
    assert_int_equal(fsc_tensor_alloc(t, dt, &s, 0, NULL), FSC_OK);
    *wide = NULL;
    for (int64_t j = 0; j < n; j++) {
        uint64_t u = fsc_rng_u64(r);
        if (dt == FSC_DT_F32) memcpy((float *)t->data + j, &u, 4);
        else if (dt == FSC_DT_F64) memcpy((double *)t->data + j, &u, 8);
        else ((uint8_t *)t->data)[j] = (uint8_t)u;
    }
    if (dt == FSC_DT_I8 || dt == FSC_DT_U8) {
        *wide = malloc((size_t)n * sizeof(int32_t));
        for (int64_t j = 0; j < n; j++)
            (*wide)[j] = dt == FSC_DT_I8 ? ((int8_t *)t->data)[j] : ((uint8_t *)t->data)[j];
    }
}

static void test_lut_kernel_matches_reference(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 2024);
    const fsc_dtype dts[4] = {FSC_DT_F32, FSC_DT_F64, FSC_DT_I8, FSC_DT_U8};
    for (int key = FSC_LUT_I8; key <= FSC_LUT_BF16; key++) {
        int64_t entries = fsc_lut_entries((fsc_lut_key)key);
        fsc_tensor tab[4];
        int32_t *wide[4];
        fsc_lut luts[4];
        for (int k = 0; k < 4; k++) {
            fill_table(&tab[k], dts[k], entries, &r, &wide[k]);
            luts[k] = (fsc_lut){dts[k], tab[k].data, wide[k]};
        }
        const int64_t lens[5] = {1, 15, 16, 17, 70001};
        for (int li = 0; li < 5; li++)
            for (int mode = 0; mode < 3; mode++) { /* 0: all in domain; 1: one element outside; 2: random bits */
                int64_t n = lens[li], d[1] = {n};
                fsc_shape s = fsc_shape_make(1, d);
                fsc_tensor x, ya[4], yb[4];
                fsc_tensor *pa[4], *pb[4];
                bool intkey = key == FSC_LUT_I8 || key == FSC_LUT_U8;
                assert_int_equal(fsc_tensor_alloc(&x, intkey ? (key == FSC_LUT_I8 ? FSC_DT_I8 : FSC_DT_U8) : FSC_DT_F32, &s, 0, NULL), FSC_OK);
                for (int64_t i = 0; i < n; i++) {
                    uint64_t u = fsc_rng_u64(&r);
                    if (intkey) ((uint8_t *)x.data)[i] = (uint8_t)u;
                    else {
                        uint16_t h = (uint16_t)u;
                        float f;
                        if (key == FSC_LUT_FP16) f = half_float(h);
                        else {
                            uint32_t b = (uint32_t)h << 16;
                            memcpy(&f, &b, 4);
                        }
                        if (mode == 2) memcpy(&f, &u, 4);
                        ((float *)x.data)[i] = f;
                    }
                }
                if (mode == 1 && !intkey) ((float *)x.data)[n / 2] = 0.1f;
                for (int k = 0; k < 4; k++) {
                    assert_int_equal(fsc_tensor_alloc(&ya[k], dts[k], &s, 0, NULL), FSC_OK);
                    assert_int_equal(fsc_tensor_alloc(&yb[k], dts[k], &s, 0, NULL), FSC_OK);
                    pa[k] = &ya[k];
                    pb[k] = &yb[k];
                }
                for (int th = 1; th <= 3; th++) {
                    fsc_ctx ctx = fsc_ctx_default();
                    ctx.threads = th;
                    bool ok_a = fsc_k_lut_apply((fsc_lut_key)key, &x, 4, luts, pa, &ctx);
                    bool ok_b = fsc_k_lut_apply_ref((fsc_lut_key)key, &x, 4, luts, pb);
                    assert_int_equal(ok_a, ok_b);
                    if (mode == 0 || intkey) assert_true(ok_a);
                    if (mode == 1 && !intkey) assert_false(ok_a);
                    for (int k = 0; ok_a && k < 4; k++) assert_memory_equal(ya[k].data, yb[k].data, ya[k].nbytes);
                }
                free_all(ya, 4);
                free_all(yb, 4);
                fsc_tensor_free(&x);
            }
        free_all(tab, 4);
        for (int k = 0; k < 4; k++) free(wide[k]);
    }
}

/* The domain tensor holds every value of the key once, in index order. */
static void test_lut_domain(void **state)
{
    (void)state;
    int64_t d[2] = {1, 65536};
    fsc_shape s = fsc_shape_make(2, d);
    fsc_tensor t;
    assert_int_equal(fsc_k_lut_domain(FSC_LUT_FP16, &s, &t, NULL), FSC_OK);
    for (int j = 0; j < 65536; j++) {
        float f = ((float *)t.data)[j];
        if (!isnan(f)) assert_int_equal(fsc_double_to_half((double)f), j);
        else if (j & 0x200) assert_memory_equal(&f, &(float){half_float((uint16_t)j)}, 4); /* quiet NaNs: payload kept */
    }
    fsc_tensor_free(&t);
    d[1] = 256;
    s = fsc_shape_make(2, d);
    assert_int_equal(fsc_k_lut_domain(FSC_LUT_I8, &s, &t, NULL), FSC_OK);
    for (int j = 0; j < 256; j++) assert_int_equal((uint8_t)((int8_t *)t.data)[j], j);
    fsc_tensor_free(&t);
    assert_int_equal(fsc_k_lut_domain(FSC_LUT_BF16, &s, &t, NULL), FSC_ERR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lut_domain),
        cmocka_unit_test(test_lut_kernel_matches_reference),
        cmocka_unit_test(test_chain_regions),
        cmocka_unit_test(test_fallback_off_grid_root),
        cmocka_unit_test(test_chain_custom_arith),
        cmocka_unit_test(test_chain_every_config),
        cmocka_unit_test(test_w8a8_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
