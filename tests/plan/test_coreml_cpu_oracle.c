/* test_coreml_cpu_oracle.c: the coreml:cpu_only configuration, op by op, on
 * the seed model (full 1x3x224x224 input) against the independent NumPy
 * emulation of Core ML's CPU rules in tests/fixtures/seed/
 * coreml_cpu_reference.py (coreml_cpu_ref.json): for every op output of the
 * FP16 and the W8A8 program, the shape, the exact sum, min, max and the
 * values at 32 fixed positions must be identical, and so the logits.
 *
 * The two programs are built here from seed.onnx's weights the way
 * coremltools builds them (docs/formats/coreml-w8a8.md): fp16 weights, SiLU
 * as one op, `*300`, reduce_mean over H and W, reshape, linear; W8A8 adds
 * the 11 quantize/dequantize pairs with the fixture's scales and the int8
 * per-channel weights as constexpr_affine_dequantize, so that this checks
 * the configuration's arithmetic alone, not the W8A8 transform's
 * calibration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/plan.h"

#define SEED FSC_FIXTURES "/seed/"

static cJSON *read_json(const char *path)
{
    void *data;
    size_t len;
    fsc_error err;
    if (fsc_read_file(path, (size_t)64 << 20, &data, &len, &err)) fail_msg("%s", err.msg);
    cJSON *j = cJSON_ParseWithLength(data, len);
    free(data);
    assert_non_null(j);
    return j;
}

typedef struct builder {
    fsc_graph *g;
    const fsc_graph *src;
    int convs[5], gemm;
    const cJSON *scales; /* activation_scales of w8a8_scales.json, or NULL for the FP16 program */
} builder;

static int init_f16(builder *b, const char *name, const fsc_tensor *t)
{
    fsc_tensor c;
    assert_int_equal(fsc_tensor_clone(&c, t, NULL), FSC_OK);
    for (int64_t i = 0; i < fsc_tensor_numel(&c); i++)
        fsc_tensor_set(&c, i, fsc_round(fsc_tensor_get(&c, i), FSC_FMT_FP16, fsc_round_default()));
    c.fmt = FSC_FMT_FP16;
    int v = fsc_graph_add_initializer(b->g, name, FSC_DT_F16, &c, NULL);
    assert_true(v >= 0);
    return v;
}

static int node(builder *b, fsc_op op, const char *type, const char *name, int n_in, const int *in, fsc_attrs at,
                fsc_dtype out_dt, const fsc_shape *out_shape)
{
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.op_type = type;
    s.name = name;
    s.n_in = n_in;
    s.in = in;
    s.n_out = 1;
    s.attr = at;
    s.out_dtype = out_dt;
    s.out_shape = out_shape;
    const char *out_names[1] = {name};
    s.out_names = out_names;
    fsc_error err;
    int n = fsc_graph_add_node(b->g, &s, &err);
    if (n < 0) fail_msg("%s", err.msg);
    return b->g->nodes[n].out[0];
}

/* A quantize/dequantize pair "<tag>.q", "<tag>.dq" with the fixture's fp16 scale (W8A8 only). */
static int qdq(builder *b, int x, const char *tag)
{
    if (!b->scales) return x;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(b->scales, tag);
    assert_non_null(e);
    double s = cJSON_GetObjectItemCaseSensitive(e, "scale")->valuedouble;
    assert_true(s == fsc_round(s, FSC_FMT_FP16, fsc_round_default()));
    fsc_tensor st;
    fsc_shape s0 = fsc_shape_make(0, NULL);
    assert_int_equal(fsc_tensor_alloc(&st, FSC_DT_F32, &s0, 0, NULL), FSC_OK);
    fsc_tensor_set(&st, 0, s);
    char nm[64];
    snprintf(nm, sizeof nm, "%s.scale", tag);
    int sv = init_f16(b, nm, &st);
    fsc_tensor_free(&st);
    fsc_attrs at;
    memset(&at, 0, sizeof at);
    at.quant.out_dtype = FSC_DT_I8;
    int in[2] = {x, sv};
    snprintf(nm, sizeof nm, "%s.q", tag);
    int q = node(b, FSC_OP_QUANTIZE, "quantize", nm, 2, in, at, FSC_DT_I8, NULL);
    at.quant.out_dtype = FSC_DT_F16;
    in[0] = q;
    snprintf(nm, sizeof nm, "%s.dq", tag);
    return node(b, FSC_OP_DEQUANTIZE, "dequantize", nm, 2, in, at, FSC_DT_F16, NULL);
}

/* The weight of layer (conv0..conv4, linear): fp16 of the float weight, or
 * (W8A8) constexpr_affine_dequantize of the fixture's int8 data and scales. */
static int weight(builder *b, const char *layer, const fsc_tensor *w)
{
    char nm[64];
    snprintf(nm, sizeof nm, "%s.weight", layer);
    if (!b->scales) return init_f16(b, nm, w);
    char p[256];
    fsc_tensor q, s;
    fsc_dtype fd;
    fsc_error err;
    fsc_limits lim = fsc_limits_default();
    snprintf(p, sizeof p, SEED "w8a8/%s_wq.npy", layer);
    if (fsc_npy_read(p, &lim, &q, &fd, &err)) fail_msg("%s", err.msg);
    snprintf(p, sizeof p, SEED "w8a8/%s_ws.npy", layer);
    if (fsc_npy_read(p, &lim, &s, &fd, &err)) fail_msg("%s", err.msg);
    assert_int_equal(q.dtype, FSC_DT_I8);
    assert_true(fsc_shape_equal(&q.shape, &w->shape));
    fsc_tensor z;
    assert_int_equal(fsc_tensor_alloc(&z, FSC_DT_I8, &s.shape, 0, NULL), FSC_OK);
    char nq[80], ns[80], nz[80];
    snprintf(nq, sizeof nq, "%s.quantized_data", layer);
    snprintf(ns, sizeof ns, "%s.scale", layer);
    snprintf(nz, sizeof nz, "%s.zero_point", layer);
    int in[3] = {fsc_graph_add_initializer(b->g, nq, FSC_DT_I8, &q, NULL), init_f16(b, ns, &s),
                 fsc_graph_add_initializer(b->g, nz, FSC_DT_I8, &z, NULL)};
    fsc_tensor_free(&s);
    fsc_attrs at;
    memset(&at, 0, sizeof at);
    at.quant.axis = 0;
    at.quant.out_dtype = FSC_DT_F16;
    return node(b, FSC_OP_DEQUANTIZE, "constexpr_affine_dequantize", nm, 3, in, at, FSC_DT_F16, NULL);
}

static const fsc_tensor *src_const(const builder *b, int node_idx, int k)
{
    const fsc_tensor *t = b->src->values[b->src->nodes[node_idx].in[k]].constant;
    assert_non_null(t);
    return t;
}

static fsc_graph *build_program(const fsc_graph *src, const cJSON *scales)
{
    builder b = {fsc_graph_new(scales ? "seed_w8a8" : "seed_fp16", NULL), src, {0}, -1, scales};
    int nc = 0;
    for (int i = 0; i < src->n_nodes; i++) {
        if (src->nodes[i].op == FSC_OP_CONV2D && nc < 5) b.convs[nc++] = i;
        if (src->nodes[i].op == FSC_OP_GEMM) b.gemm = i;
    }
    assert_int_equal(nc, 5);
    assert_true(b.gemm >= 0);
    int x = fsc_graph_add_input(b.g, "x", FSC_DT_F16, &src->values[src->inputs[0]].shape, NULL);
    fsc_attrs none;
    memset(&none, 0, sizeof none);
    for (int i = 0; i < 5; i++) {
        char layer[16], tag[32], nm[32];
        snprintf(layer, sizeof layer, "conv%d", i);
        int w = weight(&b, layer, src_const(&b, b.convs[i], 1));
        snprintf(nm, sizeof nm, "conv%d.bias", i);
        int bias = init_f16(&b, nm, src_const(&b, b.convs[i], 2));
        snprintf(tag, sizeof tag, "conv%d_in", i);
        x = qdq(&b, x, tag);
        int in[3] = {x, w, bias};
        x = node(&b, FSC_OP_CONV2D, "conv", layer, 3, in, src->nodes[b.convs[i]].attr, FSC_DT_UNDEF, NULL);
        snprintf(tag, sizeof tag, "conv%d_out", i);
        x = qdq(&b, x, tag);
        snprintf(nm, sizeof nm, "silu%d", i);
        x = node(&b, FSC_OP_SILU, "silu", nm, 1, &x, none, FSC_DT_UNDEF, NULL);
    }
    fsc_tensor c300;
    fsc_shape s0 = fsc_shape_make(0, NULL);
    assert_int_equal(fsc_tensor_alloc(&c300, FSC_DT_F32, &s0, 0, NULL), FSC_OK);
    fsc_tensor_set(&c300, 0, 300.0);
    int in[3] = {x, init_f16(&b, "mul.y", &c300)};
    fsc_tensor_free(&c300);
    x = node(&b, FSC_OP_MUL, "mul", "mul", 2, in, none, FSC_DT_UNDEF, NULL);
    fsc_attrs at = none;
    at.axes.naxes = 2;
    at.axes.axes[0] = -2;
    at.axes.axes[1] = -1;
    at.axes.keepdims = true;
    x = node(&b, FSC_OP_REDUCE_MEAN, "reduce_mean", "reduce_mean", 1, &x, at, FSC_DT_UNDEF, NULL);
    int64_t fd[2] = {1, 16};
    fsc_shape fs = fsc_shape_make(2, fd);
    x = node(&b, FSC_OP_RESHAPE, "reshape", "reshape", 1, &x, none, FSC_DT_UNDEF, &fs);
    x = qdq(&b, x, "linear_in");
    in[0] = x;
    in[1] = weight(&b, "linear", src_const(&b, b.gemm, 1));
    in[2] = init_f16(&b, "linear.bias", src_const(&b, b.gemm, 2));
    x = node(&b, FSC_OP_GEMM, "linear", "linear", 3, in, src->nodes[b.gemm].attr, FSC_DT_UNDEF, NULL);
    assert_int_equal(fsc_graph_add_output(b.g, x, NULL), FSC_OK);
    return b.g;
}

/* Compares tensor t with the fixture's record of one op; returns the number of mismatches (printed). */
static int compare(const char *name, const fsc_tensor *t, const cJSON *rec)
{
    int bad = 0;
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(rec, "shape");
    /* Positions index the fixture's shape; ours may differ by size-1 axes
     * (the fixture records reduce_mean as [1, 16], the program keeps dims). */
    int rank = cJSON_GetArraySize(shape), ours = 0, theirs = 0;
    int64_t a[FSC_MAX_RANK], f[FSC_MAX_RANK], stride[FSC_MAX_RANK];
    for (int k = 0; k < t->shape.rank; k++)
        if (t->shape.dim[k] != 1) a[ours++] = t->shape.dim[k];
    for (int k = 0; k < rank && k < FSC_MAX_RANK; k++) {
        int64_t d = (int64_t)cJSON_GetArrayItem(shape, k)->valuedouble;
        if (d != 1) f[theirs++] = d;
    }
    if (rank > FSC_MAX_RANK || ours != theirs || memcmp(a, f, (size_t)ours * sizeof a[0])) {
        print_error("%s: shape differs from the fixture's\n", name);
        return 1;
    }
    for (int k = rank - 1, acc = 1; k >= 0; k--) {
        stride[k] = acc;
        acc *= (int)cJSON_GetArrayItem(shape, k)->valuedouble;
    }
    bool is_int = t->dtype == FSC_DT_I8;
    int64_t n = fsc_tensor_numel(t);
    double lo = INFINITY, hi = -INFINITY;
    long long units = 0; /* fp16 values are multiples of 2^-24: their sum in 2^-24 units is exact */
    for (int64_t i = 0; i < n; i++) {
        double v = fsc_tensor_get(t, i);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        units += (long long)(is_int ? v : ldexp(v, 24));
    }
    double want_units = is_int ? cJSON_GetObjectItemCaseSensitive(rec, "sum")->valuedouble
                               : cJSON_GetObjectItemCaseSensitive(rec, "sum_units_2m24")->valuedouble;
    if ((double)units != want_units) {
        print_error("%s: sum %lld units, fixture %.0f\n", name, units, want_units);
        bad++;
    }
    if (lo != cJSON_GetObjectItemCaseSensitive(rec, "min")->valuedouble ||
        hi != cJSON_GetObjectItemCaseSensitive(rec, "max")->valuedouble) {
        print_error("%s: min/max %.9g %.9g differ from the fixture\n", name, lo, hi);
        bad++;
    }
    const cJSON *smp;
    cJSON_ArrayForEach(smp, cJSON_GetObjectItemCaseSensitive(rec, "samples"))
    {
        const cJSON *pos = cJSON_GetArrayItem(smp, 0);
        int64_t at = 0;
        for (int k = 0; k < rank; k++) at += (int64_t)cJSON_GetArrayItem(pos, k)->valuedouble * stride[k];
        double want = cJSON_GetArrayItem(smp, 1)->valuedouble, got = fsc_tensor_get(t, at);
        if (got != want) {
            if (bad < 5) print_error("%s: element %lld = %.9g, fixture %.9g\n", name, (long long)at, got, want);
            bad++;
        }
    }
    return bad;
}

typedef struct tap_state {
    const cJSON *ops; /* the fixture's records, by name */
    int checked, bad;
} tap_state;

static const cJSON *record(const cJSON *ops, const char *name)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, ops)
    if (!strcmp(cJSON_GetObjectItemCaseSensitive(r, "name")->valuestring, name)) return r;
    return NULL;
}

static void tap(void *user, const fsc_graph *g, int n, const fsc_tensor *outs, int n_out)
{
    (void)n_out;
    tap_state *ts = user;
    const cJSON *r = record(ts->ops, g->nodes[n].name);
    if (!r) return; /* constexpr weights: not op outputs of the program's record */
    ts->checked++;
    ts->bad += compare(g->nodes[n].name, &outs[0], r);
}

static void check_variant(const char *variant)
{
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err;
    fsc_graph *src;
    if (fsc_model_load(SEED "seed.onnx", &ctx, &src, &err)) fail_msg("%s", err.msg);
    cJSON *ref = read_json(SEED "coreml_cpu_ref.json");
    cJSON *sc = strcmp(variant, "w8a8") ? NULL : read_json(SEED "w8a8_scales.json");
    fsc_graph *g = build_program(src, sc ? cJSON_GetObjectItemCaseSensitive(sc, "activation_scales") : NULL);
    const cJSON *var = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ref, "variants"), variant);
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(var, "ops");
    fsc_tensor x;
    fsc_dtype fd;
    fsc_limits lim = fsc_limits_default();
    if (fsc_npy_read(SEED "input.npy", &lim, &x, &fd, &err)) fail_msg("%s", err.msg);
    /* The program's input is fp16(x). */
    fsc_tensor x16;
    assert_int_equal(fsc_tensor_clone(&x16, &x, NULL), FSC_OK);
    for (int64_t i = 0; i < fsc_tensor_numel(&x16); i++)
        fsc_tensor_set(&x16, i, fsc_round(fsc_tensor_get(&x16, i), FSC_FMT_FP16, fsc_round_default()));
    assert_int_equal(compare("input", &x16, record(ops, "input")), 0);

    fsc_engine *e;
    if (fsc_engine_open("coreml:cpu_only", g, &ctx, &e, &err)) fail_msg("%s", err.msg);
    tap_state ts = {ops, 0, 0};
    fsc_run_opts ro = {tap, &ts};
    fsc_tensor y;
    if (fsc_engine_run(e, &x, &y, &ro, &err)) fail_msg("%s", err.msg);
    assert_int_equal(ts.checked, cJSON_GetArraySize(ops) - 1); /* every op but the input */
    assert_int_equal(ts.bad, 0);
    const cJSON *logits = cJSON_GetObjectItemCaseSensitive(var, "logits");
    for (int k = 0; k < 2; k++) assert_true(fsc_tensor_get(&y, k) == cJSON_GetArrayItem(logits, k)->valuedouble);
    fsc_engine_close(e);
    fsc_tensor_free(&y);
    fsc_tensor_free(&x);
    fsc_tensor_free(&x16);
    fsc_graph_free(g);
    fsc_graph_free(src);
    cJSON_Delete(ref);
    cJSON_Delete(sc);
}

static void test_fp16_program(void **state)
{
    (void)state;
    if (getenv("FSC_TEST_QUICK")) skip(); /* the W8A8 check below covers the same rules and more */
    check_variant("fp16");
}

static void test_w8a8_program(void **state)
{
    (void)state;
    check_variant("w8a8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_program),
        cmocka_unit_test(test_w8a8_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
