/* test_mlpackage_seed.c: the acceptance checks on the seed model's FP16, W8A8
 * and weights-only programs (built by the transforms of src/transforms/, at a
 * 32x32 input so it runs in seconds; the op inventory does not depend on the
 * size): op inventories of the facts page (110 ops for W8A8), the second trip
 * reproducing the read graph exactly, bit-identical outputs, inspect's
 * classification on the packages and on the ONNX QDQ model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/mlpackage.h"
#include "flipscope/model_io.h"
#include "flipscope/probe_inspect.h"
#include "flipscope/synth.h"
#include "flipscope/transforms.h"
#include "formats/coreml_nets.h"

static char tmpdir[256];
static fsc_graph *base;

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_seed_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    fsc_synth_opts o = fsc_synth_default();
    o.height = o.width = 32;
    return fsc_synth_amplified_conv_tie(&o, &base, NULL) == FSC_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fsc_graph_free(base);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static fsc_tensor run(const fsc_graph *g)
{
    fsc_engine *e = NULL;
    fsc_error err;
    assert_int_equal(fsc_engine_open("emu:fp16", g, NULL, &e, &err), FSC_OK);
    fsc_tensor x, y;
    assert_int_equal(fsc_tensor_alloc(&x, FSC_DT_F32, &g->values[g->inputs[0]].shape, 0, NULL), FSC_OK);
    uint64_t s = 5;
    for (int64_t i = 0; i < fsc_tensor_numel(&x); i++) fsc_tensor_set(&x, i, net_rand(&s));
    assert_int_equal(fsc_engine_run(e, &x, &y, NULL, &err), FSC_OK);
    fsc_tensor_free(&x);
    fsc_engine_close(e);
    return y;
}

/* Writes g, reads it back (r), writes and reads r again: the same graph; outputs of g and r identical. */
static fsc_graph *trip(const fsc_graph *g, const char *name)
{
    char p1[512], p2[512], why[256] = "";
    snprintf(p1, sizeof p1, "%s/%s.mlpackage", tmpdir, name);
    snprintf(p2, sizeof p2, "%s/%s_again.mlpackage", tmpdir, name);
    fsc_error err;
    fsc_graph *r = NULL, *r2 = NULL;
    assert_int_equal(fsc_mlpackage_save(p1, g, NULL, &err), FSC_OK);
    assert_int_equal(fsc_model_load(p1, NULL, &r, &err), FSC_OK);
    assert_int_equal(fsc_mlpackage_save(p2, r, NULL, &err), FSC_OK);
    assert_int_equal(fsc_model_load(p2, NULL, &r2, &err), FSC_OK);
    int m = net_graph_match(r, r2, true, why, sizeof why);
    if (m) fprintf(stderr, "second trip: %s\n", why);
    assert_int_equal(m, 0);
    fsc_tensor a = run(g), b = run(r);
    assert_int_equal(a.nbytes, b.nbytes);
    assert_memory_equal(a.data, b.data, a.nbytes);
    fsc_tensor_free(&a);
    fsc_tensor_free(&b);
    fsc_graph_free(r2);
    return r;
}

static int count(const fsc_inspect_count *c, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].name, name)) return c[i].count;
    return 0;
}

static void test_seed_fp16(void **state)
{
    (void)state;
    fsc_graph *v = NULL;
    assert_int_equal(fsc_variant_fp16(base, &v, NULL), FSC_OK);
    fsc_graph *r = trip(v, "fp16");
    /* 5 conv weights + 5 biases + 25 conv parameters + linear weight and bias + 300 + axes, keep_dims, shape */
    assert_int_equal(net_count(r, "const"), 41);
    assert_int_equal(r->n_nodes, 41 + 5 + 5 + 1 + 1 + 1 + 1);
    assert_int_equal(r->values[r->inputs[0]].dtype, FSC_DT_F16);
    assert_int_equal(r->values[r->outputs[0]].dtype, FSC_DT_F16);
    fsc_inspect_result ins;
    assert_int_equal(fsc_inspect_graph(r, 10, &ins, NULL), FSC_OK);
    assert_int_equal(ins.verdict, FSC_INSPECT_NONE);
    assert_false(ins.weight_evidence || ins.activation_evidence);
    fsc_inspect_result_free(&ins);

    /* Weights only: per-channel int8 weights of the FP16 program. */
    fsc_graph *wq = NULL;
    int nw = 0;
    assert_int_equal(fsc_quantize_weights(v, &wq, &nw, NULL), FSC_OK);
    assert_int_equal(nw, 6);
    fsc_graph *rw = trip(wq, "weights_only");
    assert_int_equal(fsc_inspect_graph(rw, 10, &ins, NULL), FSC_OK);
    assert_int_equal(ins.weight_dequant_ops, 6);
    assert_false(ins.activation_evidence);
    assert_int_equal(ins.verdict, FSC_INSPECT_WEIGHTS_ONLY);
    assert_string_equal(ins.interpretation, "weight compression only");
    fsc_inspect_result_free(&ins);
    fsc_graph_free(rw);
    fsc_graph_free(wq);
    fsc_graph_free(r);
    fsc_graph_free(v);
}

static void check_w8a8_inspect(const fsc_graph *g, const char *conv, const char *linear)
{
    fsc_inspect_result ins;
    assert_int_equal(fsc_inspect_graph(g, 10, &ins, NULL), FSC_OK);
    assert_true(ins.weight_evidence);
    assert_int_equal(ins.weight_dequant_ops, 6);
    assert_true(ins.activation_evidence);
    assert_int_equal(ins.quantize_ops, 11);
    assert_int_equal(ins.dequantize_ops, 11);
    assert_int_equal(ins.n_deq_consumers, 11);
    assert_int_equal(count(ins.deq_consumer_types, ins.n_deq_consumer_types, conv), 5);
    assert_int_equal(count(ins.deq_consumer_types, ins.n_deq_consumer_types, linear), 1);
    assert_int_equal(ins.n_q_consumers, 0);
    assert_string_equal(ins.interpretation, "quantize/dequantize pairs are present before real ops");
    fsc_inspect_result_free(&ins);
}

static void test_seed_w8a8(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *v = NULL;
    fsc_error err;
    assert_int_equal(fsc_variant_w8a8(base, 1, 8, &ctx, &v, &err), FSC_OK);
    fsc_graph *r = trip(v, "w8a8");
    /* The facts page: 110 ops. */
    assert_int_equal(r->n_nodes, 110);
    assert_int_equal(net_count(r, "const"), 68);
    assert_int_equal(net_count(r, "quantize"), 11);
    assert_int_equal(net_count(r, "dequantize"), 11);
    assert_int_equal(net_count(r, "constexpr_affine_dequantize"), 6);
    assert_int_equal(net_count(r, "conv"), 5);
    assert_int_equal(net_count(r, "silu"), 5);
    assert_int_equal(net_count(r, "mul"), 1);
    assert_int_equal(net_count(r, "reduce_mean"), 1);
    assert_int_equal(net_count(r, "reshape"), 1);
    assert_int_equal(net_count(r, "linear"), 1);
    check_w8a8_inspect(r, "conv", "linear");
    fsc_inspect_result ins;
    assert_int_equal(fsc_inspect_graph(r, 0, &ins, NULL), FSC_OK);
    assert_int_equal(count(ins.deq_consumer_types, ins.n_deq_consumer_types, "silu"), 5);
    fsc_inspect_result_free(&ins);

    /* The same classification on the ONNX QDQ model of the same program. */
    char p[512];
    snprintf(p, sizeof p, "%s/w8a8.onnx", tmpdir);
    assert_int_equal(fsc_model_save(p, v, &ctx, &err), FSC_OK);
    fsc_graph *o = NULL;
    assert_int_equal(fsc_model_load(p, &ctx, &o, &err), FSC_OK);
    check_w8a8_inspect(o, "Conv", "Gemm");
    fsc_graph_free(o);
    fsc_graph_free(r);
    fsc_graph_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_fp16),
        cmocka_unit_test(test_seed_w8a8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

