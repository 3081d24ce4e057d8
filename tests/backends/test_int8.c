/* test_int8.c: the W8A8 seed model (tests/fixtures/seed/seed_w8a8_qdq.onnx)
 * on onednn:s8 and xnnpack:qs8 against emu:fp32 fake quantization.
 *
 * What must hold, and why:
 * - every convolution and most nodes run on the library (the plan says so);
 * - the int8 convolutions really ran: their outputs are not bit-identical to
 *   the fake-quant float convolution (s32 accumulation scaled once vs fp32
 *   sums of dequantized products);
 * - the first convolution's output codes are within 1 of fake quantization:
 *   from the same input codes both compute the same real number up to float
 *   rounding (and, on XNNPACK, the int32 bias quantization, < 1 step), so a
 *   code can only move across one rounding boundary; deeper layers inherit
 *   those differences and swish + a finer next scale can widen one step into
 *   two, so there only a tiny fraction (<= 1e-4) may be off by more than one
 *   (measured on 26.6M codes: oneDNN 6621 off by one, none by more; XNNPACK
 *   1.2M off by one, 562 by more);
 * - the logits are within one quantization step of every input of the final
 *   Gemm: tol = s_in * max_j sum_i |W[j,i]| (computed from the model's
 *   constants), the most a code off by one on each Gemm input can move a logit.
 *   (Measured: bit-identical on this input.) */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"

#define MAXN 128

typedef struct capture {
    fsc_tensor out[MAXN];
} capture;

static void tap(void *user, const fsc_graph *g, int node, const fsc_tensor *outs, int n_out)
{
    capture *c = user;
    (void)n_out;
    fsc_error err;
    if (node < MAXN && (g->nodes[node].op == FSC_OP_QUANTIZE || g->nodes[node].op == FSC_OP_CONV2D))
        assert_int_equal(fsc_tensor_clone(&c->out[node], &outs[0], &err), FSC_OK);
}

static void run(const char *config, const fsc_graph *g, const fsc_ctx *ctx, const fsc_tensor *in, fsc_tensor *y,
                capture *c, fsc_engine **keep)
{
    fsc_engine *e;
    fsc_error err;
    fsc_status st = fsc_engine_open(config, g, ctx, &e, &err);
    if (st) printf("%s: %s\n", config, err.msg);
    assert_int_equal(st, FSC_OK);
    fsc_run_opts o = {.tap = tap, .tap_user = c};
    st = fsc_engine_run(e, in, y, &o, &err);
    if (st) printf("%s: %s\n", config, err.msg);
    assert_int_equal(st, FSC_OK);
    *keep = e;
}

/* One step on every input of the final Gemm (see the header comment). */
static double gemm_tolerance(const fsc_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *n = &g->nodes[i];
        if (n->op != FSC_OP_GEMM) continue;
        const fsc_node *dx = &g->nodes[g->values[n->in[0]].producer], *dw = &g->nodes[g->values[n->in[1]].producer];
        assert_int_equal(dx->op, FSC_OP_DEQUANTIZE);
        assert_int_equal(dw->op, FSC_OP_DEQUANTIZE);
        double s_in = fsc_tensor_get(g->values[dx->in[1]].constant, 0);
        const fsc_tensor *wq = g->values[dw->in[0]].constant, *ws = g->values[dw->in[1]].constant;
        int64_t rows = wq->shape.dim[0], cols = wq->shape.dim[1];
        double worst = 0;
        for (int64_t j = 0; j < rows; j++) {
            double sum = 0, sw = fsc_tensor_get(ws, fsc_tensor_numel(ws) == 1 ? 0 : j);
            for (int64_t k = 0; k < cols; k++) sum += fabs(fsc_tensor_get(wq, j * cols + k) * sw);
            if (sum > worst) worst = sum;
        }
        return s_in * worst;
    }
    fail_msg("no Gemm in the W8A8 model");
    return 0;
}

static void check(const char *config)
{
    fsc_config_info info;
    fsc_error err;
    assert_int_equal(fsc_config_lookup(config, &info, &err), FSC_OK);
    if (!info.available) {
        printf("SKIP %s: not available here: %s\n", config, info.reason);
        skip();
        return;
    }
    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = 2;
    fsc_graph *g;
    assert_int_equal(fsc_model_load(FSC_FIXTURES "/seed/seed_w8a8_qdq.onnx", &ctx, &g, &err), FSC_OK);
    assert_true(g->n_nodes <= MAXN);
    const char *spec = "x=" FSC_FIXTURES "/seed/input.npy";
    fsc_tensor in, yref, y;
    assert_int_equal(fsc_inputs_load(g, &spec, 1, NULL, &ctx, &in, &err), FSC_OK);
    capture *ref = calloc(1, sizeof *ref), *got = calloc(1, sizeof *got);
    assert_non_null(ref);
    assert_non_null(got);
    fsc_engine *er, *eg;
    run("emu:fp32", g, &ctx, &in, &yref, ref, &er);
    run(config, g, &ctx, &in, &y, got, &eg);
    int on_lib = 0, computing = 0, convs = 0, conv_differs = 0, worst_code = 0;
    int64_t codes = 0, off1 = 0, off_more = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_backend *b = fsc_engine_node_backend(eg, i);
        if (!b) continue;
        computing++;
        if (!strcmp(b->name, config)) on_lib++;
        const fsc_node *n = &g->nodes[i];
        if (n->op == FSC_OP_CONV2D) {
            convs++;
            assert_string_equal(b->name, config);
            if (memcmp(ref->out[i].data, got->out[i].data, (size_t)fsc_tensor_numel(&ref->out[i]) * sizeof(float)))
                conv_differs++;
        }
        if (n->op == FSC_OP_QUANTIZE) {
            bool first_conv_out = convs == 1 && g->values[n->in[0]].producer >= 0 &&
                                  g->nodes[g->values[n->in[0]].producer].op == FSC_OP_CONV2D;
            for (int64_t k = 0; k < fsc_tensor_numel(&ref->out[i]); k++) {
                int d = abs((int)fsc_tensor_get(&ref->out[i], k) - (int)fsc_tensor_get(&got->out[i], k));
                if (first_conv_out && d > worst_code) worst_code = d;
                codes++;
                off1 += d == 1;
                off_more += d > 1;
            }
        }
    }
    double tol = gemm_tolerance(g), diff = 0;
    for (int64_t k = 0; k < fsc_tensor_numel(&y); k++) {
        double d = fabs(fsc_tensor_get(&y, k) - fsc_tensor_get(&yref, k));
        if (d > diff) diff = d;
    }
    printf("%s: %d of %d nodes on the library (%d convolutions, %d of them not bit-identical to fake quant), "
           "first conv output codes within %d, of %lld activation codes %lld off by 1 and %lld by more, "
           "logits max|diff| %.3g (tolerance %.3g)\n",
           config, on_lib, computing, convs, conv_differs, worst_code, (long long)codes, (long long)off1,
           (long long)off_more, diff, tol);
    assert_int_equal(convs, 5);
    assert_true(on_lib * 3 >= computing * 2); /* at least two thirds */
    assert_true(conv_differs > 0);
    assert_true(worst_code <= 1);
    assert_true((double)off_more <= 1e-4 * (double)codes);
    assert_true(diff <= tol);
    assert_int_equal(fsc_tensor_argmax(&y), fsc_tensor_argmax(&yref));
    for (int i = 0; i < MAXN; i++) fsc_tensor_free(&ref->out[i]), fsc_tensor_free(&got->out[i]);
    free(ref), free(got);
    fsc_tensor_free(&y), fsc_tensor_free(&yref), fsc_tensor_free(&in);
    fsc_engine_close(er), fsc_engine_close(eg);
    fsc_graph_free(g);
}

static void test_onednn_s8(void **s) { (void)s; check("onednn:s8"); }
static void test_xnnpack_qs8(void **s) { (void)s; check("xnnpack:qs8"); }

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_onednn_s8), cmocka_unit_test(test_xnnpack_qs8)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
