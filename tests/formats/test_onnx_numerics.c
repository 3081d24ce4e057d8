/* test_onnx_numerics.c: ONNX models loaded by flipscope compute what PyTorch,
 * ONNX Runtime and NumPy compute.
 *
 * Oracles: the PyTorch float64/float32 and ONNX Runtime outputs of the fixture
 * models (tests/fixtures/<model>/, see tests/fixtures/README.md) and the NumPy
 * float64 outputs of the operator fixtures (tests/fixtures/onnx/). Error is
 * normwise: max |got - want| / max |want| over each output. emu:fp64 must
 * match float64 references to 1e-9, emu:fp32 the float32 ones to 1e-5. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/onnx.h"

#define MAX_IO 4

typedef struct ref_out {
    const char *f64; /* float64 reference (tol 1e-9 for emu:fp64; 1e-5 for emu:fp32 when no f32 given) */
    const char *f32; /* PyTorch float32 (NULL: none) */
    const char *ort; /* ONNX Runtime (NULL: none) */
} ref_out;

typedef struct num_case {
    const char *model;
    const char *inputs[MAX_IO]; /* "NAME=FILE" relative to tests/fixtures */
    ref_out outs[MAX_IO];
    bool fp32; /* also check emu:fp32 */
} num_case;

static const num_case cases[] = {
    {"seed/seed.onnx", {"x=seed/input.npy"},
     {{"seed/y_torch_f64.npy", "seed/y_torch_f32.npy", "seed/y_ort.npy"}}, true},
    {"resnet_block/model.onnx", {"x=resnet_block/x.npy"},
     {{"resnet_block/y_torch_f64.npy", "resnet_block/y_torch_f32.npy", "resnet_block/y_ort.npy"}}, true},
    {"dwsep/model.onnx", {"x=dwsep/x.npy"},
     {{"dwsep/y_torch_f64.npy", "dwsep/y_torch_f32.npy", "dwsep/y_ort.npy"}}, true},
    {"tiny_transformer/model.onnx", {"tokens=tiny_transformer/tokens.npy", "mask=tiny_transformer/mask.npy"},
     {{"tiny_transformer/logits_torch_f64.npy", "tiny_transformer/logits_torch_f32.npy",
       "tiny_transformer/logits_ort.npy"},
      {"tiny_transformer/gate_torch_f64.npy", "tiny_transformer/gate_torch_f32.npy",
       "tiny_transformer/gate_ort.npy"}},
     true},
    {"tiny_transformer/model_opset17.onnx",
     {"tokens=tiny_transformer/tokens.npy", "mask=tiny_transformer/mask.npy"},
     {{"tiny_transformer/logits_torch_f64.npy", "tiny_transformer/logits_torch_f32.npy",
       "tiny_transformer/logits_ort_opset17.npy"},
      {"tiny_transformer/gate_torch_f64.npy", "tiny_transformer/gate_torch_f32.npy",
       "tiny_transformer/gate_ort_opset17.npy"}},
     true},
    {"onnx/cnn_ops.onnx", {"x=onnx/cnn_ops.in0.npy"}, {{"onnx/cnn_ops.out0.npy", NULL, NULL}}, true},
    {"onnx/misc_ops.onnx", {"x=onnx/misc_ops.in0.npy", "y=onnx/misc_ops.in1.npy"},
     {{"onnx/misc_ops.out0.npy", NULL, NULL}, {"onnx/misc_ops.out1.npy", NULL, NULL},
      {"onnx/misc_ops.out2.npy", NULL, NULL}, {"onnx/misc_ops.out3.npy", NULL, NULL}},
     true},
    {"onnx/ln_gelu.onnx", {"x=onnx/ln_gelu.in0.npy"}, {{"onnx/ln_gelu.out0.npy", NULL, NULL}}, true},
    {"onnx/ms_gelu.onnx", {"x=onnx/ms_gelu.in0.npy"}, {{"onnx/ms_gelu.out0.npy", NULL, NULL}}, true},
    {"onnx/old_opset.onnx", {"x=onnx/old_opset.in0.npy"}, {{"onnx/old_opset.out0.npy", NULL, NULL}}, true},
    /* fp32 rounding may move a value across a quantization step, so only fp64 is compared */
    {"onnx/qdq.onnx", {"x=onnx/qdq.in0.npy"}, {{"onnx/qdq.out0.npy", NULL, NULL}}, false},
};

static void read_npy(const char *rel, fsc_tensor *t)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FSC_FIXTURES, rel);
    fsc_limits lim = fsc_limits_default();
    fsc_error err;
    fsc_status st = fsc_npy_read(path, &lim, t, NULL, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, FSC_OK);
}

/* max |got - want| / max |want| */
static double rel_err(const fsc_tensor *got, const fsc_tensor *want)
{
    int64_t n = fsc_tensor_numel(want);
    assert_int_equal(fsc_tensor_numel(got), n);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = fsc_tensor_get(got, i), b = fsc_tensor_get(want, i);
        assert_false(isnan(a));
        num = fmax(num, fabs(a - b));
        den = fmax(den, fabs(b));
    }
    return den > 0 ? num / den : num;
}

/* Runs config on the loaded graph; fills outs (caller frees). */
static void run(const char *config, const fsc_graph *g, const fsc_tensor *inputs, fsc_tensor *outs)
{
    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = 1; /* results do not depend on it; the test machine's cores are shared */
    fsc_engine *e = NULL;
    fsc_error err;
    fsc_status st = fsc_engine_open(config, g, &ctx, &e, &err);
    if (st) fprintf(stderr, "%s: %s\n", config, err.msg);
    assert_int_equal(st, FSC_OK);
    st = fsc_engine_run(e, inputs, outs, NULL, &err);
    if (st) fprintf(stderr, "%s: %s\n", config, err.msg);
    assert_int_equal(st, FSC_OK);
    fsc_engine_close(e);
}

static void check_case(const num_case *c)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FSC_FIXTURES, c->model);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    fsc_status st = fsc_onnx_load(path, &ctx, &g, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, FSC_OK);
    assert_true(g->n_inputs <= MAX_IO && g->n_outputs <= MAX_IO);
    fsc_tensor in[MAX_IO];
    memset(in, 0, sizeof in);
    for (int i = 0; i < g->n_inputs; i++) {
        const char *name = g->values[g->inputs[i]].name, *file = NULL;
        for (int k = 0; k < MAX_IO && c->inputs[k]; k++)
            if (!strncmp(c->inputs[k], name, strlen(name)) && c->inputs[k][strlen(name)] == '=')
                file = c->inputs[k] + strlen(name) + 1;
        assert_non_null(file);
        read_npy(file, &in[i]);
    }
    fsc_tensor o64[MAX_IO], o32[MAX_IO];
    run("emu:fp64", g, in, o64);
    if (c->fp32) run("emu:fp32", g, in, o32);
    for (int k = 0; k < g->n_outputs; k++) {
        fsc_tensor ref;
        read_npy(c->outs[k].f64, &ref);
        double e64 = rel_err(&o64[k], &ref);
        double e32 = c->fp32 ? rel_err(&o32[k], &ref) : 0;
        fsc_tensor_free(&ref);
        printf("  %-40s out %d: emu:fp64 vs f64 %.3g", c->model, k, e64);
        assert_true(e64 <= 1e-9);
        if (c->fp32) {
            printf(", emu:fp32 vs f64 %.3g", e32);
            assert_true(e32 <= 1e-5);
        }
        const char *more[2] = {c->outs[k].f32, c->outs[k].ort};
        for (int m = 0; m < 2 && c->fp32; m++) {
            if (!more[m]) continue;
            read_npy(more[m], &ref);
            double e = rel_err(&o32[k], &ref);
            printf(", vs %s %.3g", m ? "ort" : "torch_f32", e);
            assert_true(e <= 1e-5);
            fsc_tensor_free(&ref);
        }
        printf("\n");
        fsc_tensor_free(&o64[k]);
        if (c->fp32) fsc_tensor_free(&o32[k]);
    }
    for (int i = 0; i < g->n_inputs; i++) fsc_tensor_free(&in[i]);
    fsc_graph_free(g);
}

static void test_fixture_models(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* The seed model (224x224 convolutions) is the slow one; the ASan run skips it. */
        if (getenv("FSC_TEST_QUICK") && !strncmp(cases[i].model, "seed/", 5)) continue;
        check_case(&cases[i]);
    }
}

/* The seed's W8A8 QDQ export: emu:fp32 (fake-quantized float32) against ONNX Runtime and PyTorch. */
static void test_seed_qdq(void **state)
{
    (void)state;
    if (getenv("FSC_TEST_QUICK")) skip();
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    fsc_status st = fsc_onnx_load(FSC_FIXTURES "/seed/seed_w8a8_qdq.onnx", &ctx, &g, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, FSC_OK);
    fsc_tensor in, out[1], ref;
    read_npy("seed/input.npy", &in);
    run("emu:fp32", g, &in, out);
    const char *refs[] = {"seed/y_ort_w8a8_qdq_basic.npy", "seed/y_ort_w8a8_qdq_all.npy", "seed/y_torch_w8a8_fake32.npy"};
    for (int i = 0; i < 3; i++) {
        read_npy(refs[i], &ref);
        double e = rel_err(&out[0], &ref);
        printf("  seed_w8a8_qdq emu:fp32 vs %s: %.3g\n", refs[i], e);
        assert_true(e <= 1e-5);
        fsc_tensor_free(&ref);
    }
    fsc_tensor_free(&out[0]);
    fsc_tensor_free(&in);
    fsc_graph_free(g);
}

/* Writing a loaded model and reading it back gives bit-identical outputs. */
static void test_round_trip_outputs_bit_identical(void **state)
{
    (void)state;
    const char *models[] = {"resnet_block/model.onnx", "dwsep/model.onnx", "tiny_transformer/model.onnx",
                            "onnx/qdq.onnx"};
    const char *inputs[][2] = {{"resnet_block/x.npy", NULL},
                               {"dwsep/x.npy", NULL},
                               {"tiny_transformer/tokens.npy", "tiny_transformer/mask.npy"},
                               {"onnx/qdq.in0.npy", NULL}};
    fsc_ctx ctx = fsc_ctx_default();
    for (int m = 0; m < 4; m++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", FSC_FIXTURES, models[m]);
        fsc_graph *g = NULL, *g2 = NULL;
        fsc_error err;
        assert_int_equal(fsc_onnx_load(path, &ctx, &g, &err), FSC_OK);
        void *buf;
        size_t len;
        assert_int_equal(fsc_onnx_serialize(g, &ctx, &buf, &len, &err), FSC_OK);
        fsc_status st = fsc_onnx_parse(buf, len, &ctx, &g2, &err);
        if (st) fprintf(stderr, "%s\n", err.msg);
        assert_int_equal(st, FSC_OK);
        free(buf);
        fsc_tensor in[2];
        memset(in, 0, sizeof in);
        for (int i = 0; i < g->n_inputs; i++) read_npy(inputs[m][i], &in[i]);
        const char *configs[] = {"emu:fp32", "emu:fp16"};
        for (int c = 0; c < 2; c++) {
            fsc_tensor a[MAX_IO], b[MAX_IO];
            run(configs[c], g, in, a);
            run(configs[c], g2, in, b);
            for (int k = 0; k < g->n_outputs; k++) {
                assert_int_equal(a[k].nbytes, b[k].nbytes);
                assert_memory_equal(a[k].data, b[k].data, a[k].nbytes);
                fsc_tensor_free(&a[k]);
                fsc_tensor_free(&b[k]);
            }
        }
        for (int i = 0; i < g->n_inputs; i++) fsc_tensor_free(&in[i]);
        fsc_graph_free(g);
        fsc_graph_free(g2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_models),
        cmocka_unit_test(test_seed_qdq),
        cmocka_unit_test(test_round_trip_outputs_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
