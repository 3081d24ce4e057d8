/* test_exec_convert.c: the executor's boundary conversion (a tensor entering
 * a device is rounded to its storage format) equals fsc_round with default
 * options, also on its fast paths (fp32 and fp16 storage), for values near
 * rounding ties, subnormals and overflow; and exact inputs pass unchanged. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/graph.h"

#define N 60000

static fsc_graph *identity_graph(fsc_dtype logical)
{
    fsc_graph *g = fsc_graph_new("id", NULL);
    int64_t d[1] = {N};
    fsc_shape s = fsc_shape_make(1, d);
    int x = fsc_graph_add_input(g, "x", logical, &s, NULL);
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_IDENTITY;
    sp.name = "id";
    int in[1] = {x};
    sp.in = in;
    sp.n_in = 1;
    sp.n_out = 1;
    const char *on[1] = {"y"};
    sp.out_names = on;
    int n = fsc_graph_add_node(g, &sp, NULL);
    assert_true(n >= 0);
    assert_int_equal(fsc_graph_add_output(g, g->nodes[n].out[0], NULL), FSC_OK);
    return g;
}

/* Random doubles over fp16's whole range and beyond, a quarter of them on
 * (or a hair off) midpoints of the fp16 grid, where double rounding through
 * fp32 would go wrong. */
static void fill(fsc_tensor *x)
{
    uint64_t s = 99;
    double *d = x->data;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        int e = (int)((s >> 3) % 50) - 30;
        double v = ldexp(1.0 + u, e) * ((s & 1) ? -1.0 : 1.0);
        if (i % 4 == 0) {
            double h = fsc_rne(v, FSC_FMT_FP16), up = fsc_rne(nextafter(h, INFINITY) * 1.0000001, FSC_FMT_FP16);
            double mid = (h + up) / 2;
            int k = (int)((s >> 20) % 3);
            v = mid + (k == 0 ? ldexp(fabs(mid), -40) : k == 1 ? -ldexp(fabs(mid), -40) : 0.0);
        }
        d[i] = v;
    }
    d[0] = 70000.0;   /* overflows fp16 */
    d[1] = -0.0;
    d[2] = 1e-300;    /* flushes to +0 in fp16/fp32 by rounding */
}

static void check(const char *cfg, fsc_dtype logical, fsc_format_id storage)
{
    fsc_graph *g = identity_graph(logical);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_engine *e;
    fsc_error err;
    if (fsc_engine_open(cfg, g, &ctx, &e, &err)) fail_msg("%s: %s", cfg, err.msg);
    int64_t d[1] = {N};
    fsc_shape s = fsc_shape_make(1, d);
    fsc_tensor x, y;
    assert_int_equal(fsc_tensor_alloc(&x, FSC_DT_F64, &s, 0, NULL), FSC_OK);
    fill(&x);
    const fsc_tensor *in[1] = {&x};
    if (fsc_engine_run_node(e, 0, in, &y, &err)) fail_msg("%s: %s", cfg, err.msg);
    for (int i = 0; i < N; i++) {
        double want = fsc_tensor_get(&x, i);
        if (logical == FSC_DT_F16) want = fsc_rne(want, FSC_FMT_FP16);
        want = fsc_rne(want, storage);
        double got = fsc_tensor_get(&y, i);
        if (isnan(got) && isnan(want)) continue;
        if (!(got == want && !!signbit(got) == !!signbit(want)))
            fail_msg("%s: element %d: %a became %a, fsc_round gives %a", cfg, i, fsc_tensor_get(&x, i), got, want);
    }
    /* values already on the grid pass unchanged (the no-copy path) */
    fsc_tensor y2;
    const fsc_tensor *in2[1] = {&y};
    assert_int_equal(fsc_engine_run_node(e, 0, in2, &y2, &err), FSC_OK);
    assert_int_equal(memcmp(y.data, y2.data, y.nbytes), 0);
    fsc_tensor_free(&x);
    fsc_tensor_free(&y);
    fsc_tensor_free(&y2);
    fsc_engine_close(e);
    fsc_graph_free(g);
}

static void test_convert_fp16(void **state)
{
    (void)state;
    check("emu:fp16", FSC_DT_F32, FSC_FMT_FP16);
}

static void test_convert_fp32(void **state)
{
    (void)state;
    check("emu:fp32", FSC_DT_F32, FSC_FMT_FP32);
}

static void test_convert_fp16_program_on_fp32(void **state)
{
    (void)state;
    check("emu:fp32", FSC_DT_F16, FSC_FMT_FP32); /* a float16 model value entering an fp32 device */
}

static void test_convert_bf16(void **state)
{
    (void)state;
    check("emu:bf16", FSC_DT_F32, FSC_FMT_BF16); /* the general path */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_convert_fp16),
        cmocka_unit_test(test_convert_fp32),
        cmocka_unit_test(test_convert_fp16_program_on_fp32),
        cmocka_unit_test(test_convert_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
