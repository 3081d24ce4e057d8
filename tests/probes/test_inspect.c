/* test_inspect.c: the quantization-evidence probe on hand-built graphs (whose
 * counts are known by construction), on their .mlpackage round trips, on the
 * ONNX QDQ fixture (counts from its generator script), and the CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "flipscope/mlpackage.h"
#include "flipscope/model_io.h"
#include "flipscope/probe_inspect.h"
#include "formats/coreml_nets.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_insp_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int type_count(const fsc_inspect_count *c, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(c[i].name, name)) return c[i].count;
    return 0;
}

/* Writes g as a package and reads it back. */
static fsc_graph *through_package(const fsc_graph *g, const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    assert_int_equal(fsc_mlpackage_save(p, g, NULL, NULL), FSC_OK);
    fsc_graph *r = NULL;
    assert_int_equal(fsc_model_load(p, NULL, &r, NULL), FSC_OK);
    return r;
}

/* The W8A8 net: 5 pairs (prefix on conv0, conv1, head; suffix after conv0, conv1), 3 constexpr weights. */
static void check_w8a8(const fsc_graph *g)
{
    fsc_inspect_result r;
    assert_int_equal(fsc_inspect_graph(g, 4, &r, NULL), FSC_OK);
    assert_int_equal(r.n_ops, g->n_nodes);
    assert_true(r.weight_evidence);
    assert_int_equal(r.weight_dequant_ops, 3);
    assert_true(r.activation_evidence);
    assert_int_equal(r.quantize_ops, 5);
    assert_int_equal(r.dequantize_ops, 5);
    assert_int_equal(r.n_quantized, 5);
    assert_int_equal(r.n_dequantized, 8);
    /* conv0, conv1 (x from dequantize), silu0, silu1 (after the suffix pairs), head (prefix) */
    assert_int_equal(r.n_deq_consumers, 5);
    assert_int_equal(type_count(r.deq_consumer_types, r.n_deq_consumer_types, "conv"), 2);
    assert_int_equal(type_count(r.deq_consumer_types, r.n_deq_consumer_types, "silu"), 2);
    assert_int_equal(type_count(r.deq_consumer_types, r.n_deq_consumer_types, "linear"), 1);
    assert_int_equal(r.n_q_consumers, 0);
    /* hits: 5 quantize + 5 dequantize + 3 constexpr ops; the list is capped at 4 */
    assert_int_equal(r.total_hits, 13);
    assert_int_equal(r.n_hits, 4);
    assert_string_equal(r.hits[0].op_type, "quantize");
    assert_int_equal(type_count(r.out_dtypes, r.n_out_dtypes, "int8"), 5);
    assert_int_equal(r.verdict, FSC_INSPECT_PAIRS_BEFORE_REAL_OPS);
    assert_string_equal(r.interpretation, "quantize/dequantize pairs are present before real ops");
    fsc_inspect_result_free(&r);
}

static void test_w8a8(void **state)
{
    (void)state;
    fsc_graph *g = net_build(true, true);
    check_w8a8(g);
    fsc_graph *r = through_package(g, "w8a8.mlpackage");
    check_w8a8(r);
    fsc_inspect_result res;
    assert_int_equal(fsc_inspect_graph(r, 0, &res, NULL), FSC_OK);
    /* read back: 32 consts (2 scales per pair, conv/reduce/reshape params, output_dtype strings) */
    assert_int_equal(type_count(res.op_types, res.n_op_types, "const"), 32);
    assert_int_equal(type_count(res.op_types, res.n_op_types, "constexpr_affine_dequantize"), 3);
    assert_int_equal(type_count(res.out_dtypes, res.n_out_dtypes, "string"), 2 + 5); /* pad_type x2, output_dtype x5 */
    assert_int_equal(res.n_hits, 0);
    fsc_inspect_result_free(&res);
    fsc_graph_free(r);
    fsc_graph_free(g);
}

static void test_weights_only(void **state)
{
    (void)state;
    fsc_graph *g = net_build(false, true);
    fsc_graph *r = through_package(g, "wo.mlpackage");
    const fsc_graph *gs[2] = {g, r};
    for (int k = 0; k < 2; k++) {
        fsc_inspect_result res;
        assert_int_equal(fsc_inspect_graph(gs[k], 10, &res, NULL), FSC_OK);
        assert_true(res.weight_evidence);
        assert_int_equal(res.weight_dequant_ops, 3);
        assert_false(res.activation_evidence);
        assert_int_equal(res.quantize_ops + res.dequantize_ops, 0);
        assert_int_equal(res.n_deq_consumers, 3); /* conv0, conv1, head read the dequantized weights */
        assert_int_equal(res.verdict, FSC_INSPECT_WEIGHTS_ONLY);
        assert_string_equal(res.interpretation, "weight compression only");
        fsc_inspect_result_free(&res);
    }
    fsc_graph_free(r);
    fsc_graph_free(g);
}

static void test_fp16_none(void **state)
{
    (void)state;
    fsc_graph *g = net_build(false, false);
    fsc_graph *r = through_package(g, "fp16.mlpackage");
    fsc_inspect_result res;
    assert_int_equal(fsc_inspect_graph(r, 10, &res, NULL), FSC_OK);
    assert_false(res.weight_evidence);
    assert_false(res.activation_evidence);
    assert_int_equal(res.total_hits, 0);
    assert_int_equal(res.n_deq_consumers + res.n_q_consumers, 0);
    assert_int_equal(res.verdict, FSC_INSPECT_NONE);
    assert_string_equal(res.interpretation, "no quantization evidence");
    assert_int_equal(type_count(res.op_types, res.n_op_types, "conv"), 2);
    /* 7 fp16 consts; conv0, silu0, conv1, silu1, reduce_mean, reshape, linear, mul */
    assert_int_equal(type_count(res.out_dtypes, res.n_out_dtypes, "float16"), 7 + 8);
    fsc_inspect_result_free(&res);
    fsc_graph_free(r);
    fsc_graph_free(g);
}

static void test_pairs_without_real_consumers(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("p", NULL);
    int64_t d[2] = {1, 4};
    fsc_shape s = fsc_shape_make(2, d);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F16, &s, NULL);
    int v = net_qdq(g, x, "only", 0.5);
    v = net_node(g, FSC_OP_SIGMOID, "sigmoid", "sig", "y", &v, 1, NULL, 0, NULL); /* not a real op */
    fsc_graph_add_output(g, v, NULL);
    fsc_inspect_result res;
    assert_int_equal(fsc_inspect_graph(g, 10, &res, NULL), FSC_OK);
    assert_true(res.activation_evidence);
    assert_false(res.weight_evidence);
    assert_int_equal(res.n_deq_consumers, 0);
    assert_int_equal(res.verdict, FSC_INSPECT_PAIRS_NO_CONSUMERS);
    fsc_inspect_result_free(&res);
    fsc_graph_free(g);
}

/* tests/fixtures/onnx/make_onnx_fixtures.py qdq(): QuantizeLinear/DequantizeLinear of x, DequantizeLinear of
 * the int8 initializer wq, Conv, then QuantizeLinear/DequantizeLinear of the output. */
static void check_onnx_qdq(const fsc_graph *g, const char *conv_type)
{
    fsc_inspect_result res;
    assert_int_equal(fsc_inspect_graph(g, 10, &res, NULL), FSC_OK);
    assert_int_equal(res.weight_dequant_ops, 1);
    assert_int_equal(res.quantize_ops, 2);
    assert_int_equal(res.dequantize_ops, 2);
    assert_int_equal(res.n_deq_consumers, 1);
    assert_int_equal(type_count(res.deq_consumer_types, res.n_deq_consumer_types, conv_type), 1);
    assert_int_equal(res.n_q_consumers, 0);
    assert_int_equal(res.verdict, FSC_INSPECT_PAIRS_BEFORE_REAL_OPS);
    fsc_inspect_result_free(&res);
}

static void test_onnx_qdq(void **state)
{
    (void)state;
    fsc_graph *g = NULL;
    assert_int_equal(fsc_model_load(FSC_FIXTURES "/onnx/qdq.onnx", NULL, &g, NULL), FSC_OK);
    check_onnx_qdq(g, "Conv");
    fsc_graph *r = through_package(g, "qdq.mlpackage");
    check_onnx_qdq(r, "conv");
    fsc_graph_free(r);
    fsc_graph_free(g);
}

static char *run_cli(const char *args, int *rc)
{
    char out[512], cmd[1536];
    snprintf(out, sizeof out, "%s/cli.out", tmpdir);
    snprintf(cmd, sizeof cmd, "%s %s > '%s' 2>&1", FSC_CLI, args, out);
    int st = system(cmd);
    *rc = WEXITSTATUS(st);
    void *d;
    size_t len;
    assert_int_equal(fsc_read_file(out, 0, &d, &len, NULL), FSC_OK);
    char *s = realloc(d, len + 1);
    s[len] = '\0';
    return s;
}

static void test_cli(void **state)
{
    (void)state;
    fsc_graph *g = net_build(true, true);
    char p[512], args[1024];
    snprintf(p, sizeof p, "%s/cli.mlpackage", tmpdir);
    assert_int_equal(fsc_mlpackage_save(p, g, NULL, NULL), FSC_OK);
    fsc_graph_free(g);
    int rc;
    snprintf(args, sizeof args, "inspect '%s' --json --hits 2", p);
    char *out = run_cli(args, &rc);
    assert_int_equal(rc, 0);
    cJSON *doc = cJSON_Parse(out);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItem(doc, "schema_version")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(doc, "command")->valuestring, "inspect");
    assert_string_equal(cJSON_GetObjectItem(doc, "model")->valuestring, p);
    cJSON *j = cJSON_GetObjectItem(doc, "inspect");
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "quantize_ops")->valueint, 5);
    assert_int_equal(cJSON_GetObjectItem(j, "dequantize_ops")->valueint, 5);
    assert_int_equal(cJSON_GetObjectItem(j, "weight_dequantize_ops")->valueint, 3);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "activation_quantization_evidence")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "hits")), 2);
    assert_int_equal(cJSON_GetObjectItem(j, "total_hits")->valueint, 13);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "real_ops_consuming_dequantized")), 5);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "op_types"), "const")->valueint, 32);
    assert_string_equal(cJSON_GetObjectItem(j, "interpretation")->valuestring,
                        "quantize/dequantize pairs are present before real ops");
    cJSON_Delete(doc);
    free(out);

    snprintf(args, sizeof args, "inspect '%s'", p);
    out = run_cli(args, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "real ops consuming dequantized values: 5 (2 conv, 2 silu, 1 linear)"));
    assert_non_null(strstr(out, "activation-quantization evidence: yes (5 quantize, 5 dequantize)"));
    assert_non_null(strstr(out, "interpretation: quantize/dequantize pairs are present before real ops"));
    free(out);

    /* A broken package: exit 2, the message names the file. */
    char wb[600];
    snprintf(wb, sizeof wb, "%s/Data/com.apple.CoreML/weights/weight.bin", p);
    assert_int_equal(truncate(wb, 100), 0);
    snprintf(args, sizeof args, "inspect '%s'", p);
    out = run_cli(args, &rc);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "weight.bin"));
    free(out);
    out = run_cli("inspect", &rc);
    assert_int_equal(rc, 2);
    free(out);
    out = run_cli("inspect --help", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "weight compression only"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_w8a8),
        cmocka_unit_test(test_weights_only),
        cmocka_unit_test(test_fp16_none),
        cmocka_unit_test(test_pairs_without_real_consumers),
        cmocka_unit_test(test_onnx_qdq),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
