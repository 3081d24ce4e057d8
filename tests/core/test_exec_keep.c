/* test_exec_keep.c: fsc_engine_run_keep hands over every node output, bit
 * for bit what a tap sees, and nothing else (no graph input, no constant);
 * the outputs are those of fsc_engine_run. On the built-in model under
 * single-device configurations and a mixed Core ML plan (values crossing
 * devices), and on the seed fixture (a value read by two nodes). */
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
#include "flipscope/synth.h"

typedef struct clones {
    fsc_tensor *val;
    int seen;
} clones;

static void tap_clone(void *user, const fsc_graph *g, int node, const fsc_tensor *outs, int n_out)
{
    clones *c = user;
    for (int o = 0; o < n_out; o++) {
        assert_int_equal(fsc_tensor_clone(&c->val[g->nodes[node].out[o]], &outs[o], NULL), FSC_OK);
        c->seen++;
    }
}

static void check_config(const fsc_graph *g, const fsc_tensor *x, const char *cfg)
{
    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = 2;
    fsc_engine *e;
    fsc_error err;
    if (fsc_engine_open(cfg, g, &ctx, &e, &err)) fail_msg("%s: %s", cfg, err.msg);
    clones c = {calloc((size_t)g->n_values, sizeof(fsc_tensor)), 0};
    fsc_tensor *keep = calloc((size_t)g->n_values, sizeof(fsc_tensor));
    assert_non_null(c.val);
    assert_non_null(keep);
    fsc_tensor y1[4], y2[4];
    fsc_run_opts ro = {.tap = tap_clone, .tap_user = &c};
    if (fsc_engine_run(e, x, y1, &ro, &err)) fail_msg("%s: %s", cfg, err.msg);
    if (fsc_engine_run_keep(e, x, y2, NULL, keep, &err)) fail_msg("%s: %s", cfg, err.msg);
    int kept = 0;
    for (int v = 0; v < g->n_values; v++) {
        if (!c.val[v].data) {
            if (keep[v].data) fail_msg("%s: value %s kept but never tapped", cfg, g->values[v].name);
            continue;
        }
        if (!keep[v].data) fail_msg("%s: value %s not kept", cfg, g->values[v].name);
        assert_int_equal(keep[v].dtype, c.val[v].dtype);
        assert_int_equal(keep[v].fmt, c.val[v].fmt);
        assert_true(fsc_shape_equal(&keep[v].shape, &c.val[v].shape));
        assert_int_equal(keep[v].nbytes, c.val[v].nbytes);
        assert_memory_equal(keep[v].data, c.val[v].data, keep[v].nbytes);
        kept++;
    }
    assert_int_equal(kept, c.seen);
    assert_true(kept > 0);
    for (int i = 0; i < g->n_inputs; i++) assert_null(keep[g->inputs[i]].data);
    for (int k = 0; k < g->n_outputs; k++) {
        assert_int_equal(y1[k].nbytes, y2[k].nbytes);
        assert_memory_equal(y1[k].data, y2[k].data, y1[k].nbytes);
        fsc_tensor_free(&y1[k]);
        fsc_tensor_free(&y2[k]);
    }
    for (int v = 0; v < g->n_values; v++) {
        fsc_tensor_free(&c.val[v]);
        fsc_tensor_free(&keep[v]);
    }
    free(c.val);
    free(keep);
    fsc_engine_close(e);
}

static void test_builtin(void **state)
{
    (void)state;
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = 12;
    fsc_graph *g;
    assert_int_equal(fsc_synth_amplified_conv_tie(&so, &g, NULL), FSC_OK);
    fsc_tensor x;
    uint64_t seed = 7;
    fsc_ctx ctx = fsc_ctx_default();
    assert_int_equal(fsc_inputs_load(g, NULL, 0, &seed, &ctx, &x, NULL), FSC_OK);
    const char *cfgs[5] = {"emu:fp64", "emu:fp16-acc16", "emu:bf16", "coreml:all", "coreml:cpu_and_gpu"};
    for (int k = 0; k < 5; k++) check_config(g, &x, cfgs[k]);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

static void test_seed(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g;
    fsc_error err;
    if (fsc_model_load(FSC_FIXTURES "/seed/seed.onnx", &ctx, &g, &err)) fail_msg("%s", err.msg);
    fsc_tensor x;
    const char *spec[1] = {"x=" FSC_FIXTURES "/seed/input.npy"};
    if (fsc_inputs_load(g, spec, 1, NULL, &ctx, &x, &err)) fail_msg("%s", err.msg);
    check_config(g, &x, "emu:fp16");
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin),
        cmocka_unit_test(test_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
