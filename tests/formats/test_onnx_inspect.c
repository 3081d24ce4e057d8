/* test_onnx_inspect.c: ONNX models with ops flipscope cannot translate still
 * load for inspection (the op kept, opaque), and engines refuse to run them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/onnx.h"
#include "flipscope/probe_inspect.h"

#define FIX FSC_FIXTURES "/onnx/"

static void test_unknown_op_alone(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g;
    fsc_error note, err;
    /* the strict loader refuses, naming op type, node and opset */
    assert_int_equal(fsc_onnx_load(FIX "bad_unknown_op.onnx", &ctx, &g, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "node 0 (FancyOp 'mystery'): operator FancyOp (opset 13) is not supported"));
    assert_int_equal(fsc_onnx_load_for_inspection(FIX "bad_unknown_op.onnx", &ctx, &g, &note, &err), FSC_OK);
    assert_int_equal(note.code, FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(note.msg, "FancyOp"));
    assert_int_equal(g->n_nodes, 1);
    assert_int_equal(g->nodes[0].op, FSC_OP_OPAQUE);
    assert_string_equal(g->nodes[0].op_type, "FancyOp");
    assert_string_equal(g->nodes[0].name, "mystery");
    fsc_engine *e;
    assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &e, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "FancyOp 'mystery'"));
    fsc_graph_free(g);
}

static void test_unknown_op_inside_qdq(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g;
    fsc_error note, err;
    assert_int_equal(fsc_onnx_load_for_inspection(FIX "unknown_mid_qdq.onnx", &ctx, &g, &note, &err), FSC_OK);
    assert_non_null(strstr(note.msg, "FancySigmoid"));
    int opaque = 0, fancy = -1;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == FSC_OP_OPAQUE) {
            opaque++;
            if (!strcmp(g->nodes[i].op_type, "FancySigmoid")) fancy = i;
        }
    /* only the renamed op is opaque: its consumer (Mul) broadcasts a rank-0 value and still builds */
    assert_true(fancy >= 0);
    assert_true(opaque >= 1);
    fsc_inspect_result r;
    assert_int_equal(fsc_inspect_graph(g, 50, &r, &err), FSC_OK);
    /* the seed QDQ model's evidence is all still there (tests/fixtures/seed/gen_seed_qdq.py) */
    assert_int_equal(r.quantize_ops, 11);
    assert_int_equal(r.dequantize_ops, 11);
    assert_int_equal(r.weight_dequant_ops, 6);
    assert_int_equal(r.verdict, FSC_INSPECT_PAIRS_BEFORE_REAL_OPS);
    bool listed = false;
    for (int i = 0; i < r.n_op_types; i++) listed = listed || !strcmp(r.op_types[i].name, "FancySigmoid");
    assert_true(listed);
    fsc_inspect_result_free(&r);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_op_alone),
        cmocka_unit_test(test_unknown_op_inside_qdq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
