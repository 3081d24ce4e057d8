/* test_plan_seed_package.c: issue 6's acceptance on a real W8A8 .mlpackage:
 * the seed model's W8A8 variant (the W8A8 transform, written by the
 * mlpackage writer and read back by the reader) has 110 ops; under compute
 * units ALL 74 have no device and 36 run on the NE (the seed's plan); under
 * CPU_ONLY all 36 run on the CPU. Then the four coreml presets run it. The
 * input is 16 x 16 (the op count does not depend on it) to keep the test fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/plan.h"
#include "flipscope/synth.h"
#include "flipscope/transforms.h"

static char tmpdir[64], pkg[128];

static void rm_tree(const char *path)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
}

static fsc_graph *seed_package(void)
{
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err;
    fsc_synth_opts o = fsc_synth_default();
    o.height = o.width = 16;
    fsc_graph *f, *w, *g;
    if (fsc_synth_amplified_conv_tie(&o, &f, &err)) fail_msg("%s", err.msg);
    if (fsc_variant_w8a8(f, 10000, 8, &ctx, &w, &err)) fail_msg("%s", err.msg);
    if (fsc_model_save(pkg, w, &ctx, &err)) fail_msg("%s", err.msg);
    if (fsc_model_load(pkg, &ctx, &g, &err)) fail_msg("%s", err.msg);
    fsc_graph_free(f);
    fsc_graph_free(w);
    return g;
}

static int count_type(const fsc_plan *pl, const char *t, int dev)
{
    for (int i = 0; i < pl->n_types; i++)
        if (!strcmp(pl->types[i].op_type, t)) return dev < 0 ? pl->types[i].none : pl->types[i].on_device[dev];
    return -1;
}

static void test_seed_plan_from_mlpackage(void **state)
{
    (void)state;
    fsc_graph *g = seed_package();
    const fsc_profile *p;
    fsc_error err;
    assert_int_equal(fsc_profile_get("coreml", &p, &err), FSC_OK);
    int ne = fsc_profile_device_index(p, "ne"), cpu = fsc_profile_device_index(p, "cpu");
    fsc_plan pl;
    assert_int_equal(fsc_plan_make(g, p, "all", &pl, &err), FSC_OK);
    assert_int_equal(pl.n_ops, 110);
    assert_int_equal(pl.n_none, 74);
    assert_int_equal(pl.preferred[ne], 36);
    assert_int_equal(count_type(&pl, "const", -1), 68);
    assert_int_equal(count_type(&pl, "constexpr_affine_dequantize", -1), 6);
    assert_int_equal(count_type(&pl, "quantize", ne), 11);
    assert_int_equal(count_type(&pl, "dequantize", ne), 11);
    assert_int_equal(count_type(&pl, "conv", ne), 5);
    assert_int_equal(count_type(&pl, "silu", ne), 5);
    assert_int_equal(count_type(&pl, "mul", ne), 1);
    assert_int_equal(count_type(&pl, "reduce_mean", ne), 1);
    assert_int_equal(count_type(&pl, "reshape", ne), 1);
    assert_int_equal(count_type(&pl, "linear", ne), 1);
    fsc_plan_free(&pl);
    assert_int_equal(fsc_plan_make(g, p, "cpu_only", &pl, &err), FSC_OK);
    assert_int_equal(pl.n_none, 74);
    assert_int_equal(pl.preferred[cpu], 36);
    assert_int_equal(pl.preferred[ne], 0);
    fsc_plan_free(&pl);

    /* Every preset runs the package; cpu_only is the fp16 preset's arithmetic. */
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor x, y[5];
    assert_int_equal(fsc_tensor_alloc(&x, FSC_DT_F32, &g->values[g->inputs[0]].shape, 0, NULL), FSC_OK);
    for (int64_t i = 0; i < fsc_tensor_numel(&x); i++) fsc_tensor_set(&x, i, sin(0.37 * (double)i));
    const char *cfg[5] = {"coreml:cpu_only", "coreml:cpu_and_gpu", "coreml:cpu_and_ne", "coreml:all", "emu:fp16"};
    for (int c = 0; c < 5; c++) {
        fsc_engine *e;
        if (fsc_engine_open(cfg[c], g, &ctx, &e, &err)) fail_msg("%s: %s", cfg[c], err.msg);
        if (fsc_engine_run(e, &x, &y[c], NULL, &err)) fail_msg("%s: %s", cfg[c], err.msg);
        fsc_engine_close(e);
        assert_int_equal(fsc_tensor_numel(&y[c]), 2);
        assert_true(isfinite(fsc_tensor_get(&y[c], 0)) && isfinite(fsc_tensor_get(&y[c], 1)));
    }
    for (int k = 0; k < 2; k++) {
        assert_true(fsc_tensor_get(&y[0], k) == fsc_tensor_get(&y[4], k));
        assert_true(fsc_tensor_get(&y[2], k) == fsc_tensor_get(&y[3], k)); /* both: everything on the NE */
    }
    for (int c = 0; c < 5; c++) fsc_tensor_free(&y[c]);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_planpkg_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(pkg, sizeof pkg, "%s/seed_w8a8.mlpackage", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rm_tree(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_plan_from_mlpackage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
