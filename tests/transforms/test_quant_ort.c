/* test_quant_ort.c: the QDQ ONNX flipscope writes for the seed runs in ONNX Runtime, and ORT's logits
 * agree with flipscope's fake quantization in fp32 storage (tests/fixtures/seed/w8a8_ort/README.md). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/transforms.h"

#define DIR FSC_FIXTURES "/seed/w8a8_ort/"

static void test_fake32_matches_ort(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err = {0};
    fsc_graph *g = NULL;
    fsc_tensor x, y_ort, y;
    if (fsc_model_load(DIR "seed_w8a8_fp32.onnx", &ctx, &g, &err) ||
        fsc_npy_read(FSC_FIXTURES "/seed/input.npy", &ctx.limits, &x, NULL, &err) ||
        fsc_npy_read(DIR "y_ort.npy", &ctx.limits, &y_ort, NULL, &err))
        fail_msg("%s", err.msg);
    /* the file holds what the W8A8 build makes: 11 activation pairs and 6 weights */
    int nq = 0, ndq = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        nq += g->nodes[i].op == FSC_OP_QUANTIZE;
        ndq += g->nodes[i].op == FSC_OP_DEQUANTIZE;
    }
    assert_int_equal(nq, 11);
    assert_int_equal(ndq, 17);
    /* one quantization step of the linear's input times the head's largest weight (1) */
    double step = -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == FSC_OP_GEMM) {
            int d = g->values[g->nodes[i].in[0]].producer;
            assert_true(d >= 0 && g->nodes[d].op == FSC_OP_DEQUANTIZE);
            step = fsc_tensor_get(g->values[g->nodes[d].in[1]].constant, 0);
        }
    assert_true(step > 0);
    fsc_engine *e = NULL;
    if (fsc_engine_open("emu:w8a8-fake32", g, &ctx, &e, &err) || fsc_engine_run(e, &x, &y, NULL, &err))
        fail_msg("%s", err.msg);
    for (int k = 0; k < 2; k++) {
        double a = fsc_tensor_get(&y, k), b = fsc_tensor_get(&y_ort, k);
        printf("logit %d: flipscope %.9g, ORT %.9g, |diff| %.3g (step %.6g)\n", k, a, b, fabs(a - b), step);
        assert_true(fabs(a - b) <= step);
    }
    fsc_engine_close(e);
    fsc_tensor_free(&y);
    fsc_tensor_free(&y_ort);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fake32_matches_ort)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
