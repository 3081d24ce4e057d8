/* test_drift.c: the built-in model under every preset: emu:fp32 agrees with
 * emu:fp64; every preset is bit-identical across runs and thread counts;
 * tie-centring splits two configurations; the drift probe reports it. */
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
#include "flipscope/probe.h"
#include "flipscope/synth.h"

static bool quick(void) { return getenv("FSC_TEST_QUICK") != NULL; }

static fsc_graph *model(int size, fsc_tensor *x, const fsc_ctx *ctx)
{
    fsc_synth_opts o = fsc_synth_default();
    o.height = o.width = size;
    fsc_graph *g;
    assert_int_equal(fsc_synth_amplified_conv_tie(&o, &g, NULL), FSC_OK);
    uint64_t seed = 1234;
    assert_int_equal(fsc_inputs_load(g, NULL, 0, &seed, ctx, x, NULL), FSC_OK);
    return g;
}

static void run(const fsc_graph *g, const fsc_tensor *x, const char *cfg, const fsc_ctx *ctx, fsc_tensor *y)
{
    fsc_engine *e;
    fsc_error err;
    fsc_status st = fsc_engine_open(cfg, g, ctx, &e, &err);
    if (st) fail_msg("%s: %s", cfg, err.msg);
    st = fsc_engine_run(e, x, y, NULL, &err);
    if (st) fail_msg("%s: %s", cfg, err.msg);
    fsc_engine_close(e);
}

/* emu:fp32 within 1e-5 relative of emu:fp64 on the logits (issue 2 acceptance). */
static void test_fp32_matches_fp64(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor x, y32, y64;
    fsc_graph *g = model(quick() ? 32 : 224, &x, &ctx);
    run(g, &x, "emu:fp32", &ctx, &y32);
    run(g, &x, "emu:fp64", &ctx, &y64);
    double worst = 0;
    for (int i = 0; i < 2; i++) {
        double a = fsc_tensor_get(&y32, i), b = fsc_tensor_get(&y64, i);
        worst = fmax(worst, fabs(a - b) / fabs(b));
    }
    printf("emu:fp32 vs emu:fp64 max relative logit difference: %.3g\n", worst);
    assert_true(worst < 1e-5);
    assert_true(worst > 0); /* fp32 is not fp64: the comparison measures something */
    fsc_tensor_free(&x);
    fsc_tensor_free(&y32);
    fsc_tensor_free(&y64);
    fsc_graph_free(g);
}

/* Every preset gives bit-identical outputs across runs and thread counts. */
static void test_determinism_all_presets(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    /* Block-FMA (tensor-core) presets emulate every block with exact integer
     * arithmetic: they get a smaller input so the test stays fast. */
    fsc_tensor x, xs;
    fsc_graph *g = model(quick() ? 12 : 24, &x, &ctx);
    fsc_graph *gs = model(6, &xs, &ctx);
    int np = fsc_arith_preset_count();
    for (int p = 0; p < np; p++) {
        bool tc = fsc_arith_preset_at(p)->block_fma.block > 0;
        const fsc_graph *gm = tc ? gs : g;
        const fsc_tensor *xm = tc ? &xs : &x;
        char cfg[64];
        snprintf(cfg, sizeof cfg, "emu:%s", fsc_arith_preset_at(p)->name);
        fsc_tensor first;
        memset(&first, 0, sizeof first);
        bool have = false;
        for (int threads = 1; threads <= 3; threads += 2) {
            ctx.threads = threads;
            for (int rep = 0; rep < 2; rep++) {
                fsc_tensor y;
                fsc_engine *e;
                fsc_error err;
                if (fsc_engine_open(cfg, gm, &ctx, &e, &err)) {
                    /* only presets whose arithmetic is not wired yet may refuse, and they must say so */
                    assert_true(err.code == FSC_ERR_UNSUPPORTED || err.code == FSC_ERR_UNAVAILABLE);
                    printf("%s: not runnable here: %s\n", cfg, err.msg);
                    goto next;
                }
                assert_int_equal(fsc_engine_run(e, xm, &y, NULL, &err), FSC_OK);
                fsc_engine_close(e);
                if (!have) {
                    first = y;
                    have = true;
                    continue;
                }
                assert_int_equal(y.nbytes, first.nbytes);
                if (memcmp(y.data, first.data, y.nbytes) != 0)
                    fail_msg("%s differs with %d threads (run %d)", cfg, threads, rep);
                fsc_tensor_free(&y);
            }
        }
    next:
        fsc_tensor_free(&first);
    }
    fsc_tensor_free(&x);
    fsc_tensor_free(&xs);
    fsc_graph_free(g);
    fsc_graph_free(gs);
}

/* Centring between fp32 and fp16-acc16 puts them on opposite classes, and the
 * drift probe reports exactly that flip, with stable repeated runs. */
static void test_centre_and_drift(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor x;
    fsc_graph *g = model(quick() ? 16 : 32, &x, &ctx);
    fsc_tie_result tr;
    fsc_error err;
    assert_int_equal(fsc_tie_centre(g, &x, "emu:fp32", "emu:fp16-acc16", &ctx, &tr, &err), FSC_OK);
    assert_true(tr.split);
    assert_true((tr.margin_a > 0) != (tr.margin_b > 0));
    /* the bias moves the margin one-for-one: the centred margins straddle 0 by about half the gap */
    double gap = fabs(tr.margin_a0 - tr.margin_b0);
    assert_true(fabs(fabs(tr.margin_a - tr.margin_b) - gap) < 0.05 * gap + 1e-2);

    const char *cfgs[] = {"emu:fp32", "emu:fp16-acc16", "emu:fp64", "emu:fp32"};
    fsc_drift_opts o = {.runs = 3, .configs = cfgs, .n_configs = 4, .reference = "emu:fp32",
                        .stop_at_argmax_drift = true};
    fsc_drift_result r;
    assert_int_equal(fsc_probe_drift(g, &x, &o, &ctx, &r, &err), FSC_OK);
    assert_int_equal(r.n, 3); /* the duplicate is probed once */
    assert_string_equal(r.cfg[0].name, "emu:fp32");
    assert_true(r.any_flip);
    assert_false(r.any_instability);
    for (int i = 0; i < r.n; i++) {
        assert_false(r.cfg[i].failed);
        assert_int_equal(r.cfg[i].runs_done, 3);
        assert_false(r.cfg[i].raw_drift);
        assert_int_equal(r.cfg[i].n_logits, 2);
    }
    const fsc_drift_config *acc16 = &r.cfg[1], *f64 = &r.cfg[2];
    assert_false(acc16->argmax_agrees);
    assert_true(f64->argmax_agrees);
    assert_false(f64->exact_equal);
    /* deltas and margins are consistent with the logits themselves */
    assert_true(acc16->delta[0] == acc16->logits[0] - r.cfg[0].logits[0]);
    assert_true(fabs(acc16->margin_delta - (acc16->delta[0] - acc16->delta[1])) < 1e-12);
    assert_true(acc16->margin == acc16->logits[0] - acc16->logits[1]);
    assert_true(fabs(tr.margin_b - acc16->margin) == 0.0); /* the same computation, bit for bit */
    fsc_drift_result_free(&r);

    /* a bad configuration name is a usage error, not a FAILED row */
    const char *bad[] = {"emu:fp32", "emu:fp99"};
    o.configs = bad;
    o.n_configs = 2;
    assert_int_equal(fsc_probe_drift(g, &x, &o, &ctx, &r, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "emu:fp99"));
    o.runs = 0;
    assert_int_equal(fsc_probe_drift(g, &x, &o, &ctx, &r, &err), FSC_ERR_INVALID);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

/* Inputs of the wrong shape are refused with the shapes in the message. */
static void test_wrong_input_shape(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor x, bad, y;
    fsc_graph *g = model(16, &x, &ctx);
    int64_t d[4] = {1, 3, 16, 15};
    fsc_shape s = fsc_shape_make(4, d);
    assert_int_equal(fsc_tensor_alloc(&bad, FSC_DT_F32, &s, 0, NULL), FSC_OK);
    fsc_engine *e;
    fsc_error err;
    assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &e, &err), FSC_OK);
    assert_int_equal(fsc_engine_run(e, &bad, &y, NULL, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "input 'x' has shape [1, 3, 16, 15], the model expects [1, 3, 16, 16]"));
    fsc_engine_close(e);
    fsc_tensor_free(&bad);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp32_matches_fp64),
        cmocka_unit_test(test_determinism_all_presets),
        cmocka_unit_test(test_centre_and_drift),
        cmocka_unit_test(test_wrong_input_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
