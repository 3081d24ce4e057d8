/* test_limits.c: every resource limit of fsc_limits is enforced where a file
 * is read, and its error names the limit and how to raise it (docs/limits.md).
 * Inputs are test fixtures read once with the defaults (they load) and again
 * with one limit set below what they need (file sizes from stat; a 1-node
 * limit is below any multi-node model; 8 bytes below any weight). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/mlpackage.h"
#include "flipscope/model_io.h"
#include "flipscope/onnx.h"

#define ONNX_MODEL FSC_FIXTURES "/onnx/ln_gelu.onnx"
#define NPY_FILE FSC_FIXTURES "/npy/f64.npy"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_limits_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The message names the limit and says how to raise it. */
static void assert_limit_msg(const fsc_error *err, const char *name)
{
    char hint[64];
    snprintf(hint, sizeof hint, "--limit %s=", name);
    print_message("    %s\n", err->msg);
    assert_int_equal(err->code, FSC_ERR_LIMIT);
    assert_non_null(strstr(err->msg, name));
    assert_non_null(strstr(err->msg, hint));
}

static void test_onnx_max_nodes(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_OK); /* loads with the defaults */
    int nodes = g->n_nodes;
    fsc_graph_free(g);
    assert_true(nodes > 1);
    ctx.limits.max_nodes = 1;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_null(g);
    assert_limit_msg(&err, "max_nodes");
}

static void test_onnx_max_tensor_bytes(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    ctx.limits.max_tensor_bytes = 8; /* two floats: every input and weight of the model is larger */
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_tensor_bytes");
}

static void test_onnx_max_file_bytes(void **state)
{
    (void)state;
    struct stat sb;
    assert_int_equal(stat(ONNX_MODEL, &sb), 0);
    fsc_ctx ctx = fsc_ctx_default();
    ctx.limits.max_file_bytes = (size_t)sb.st_size - 1;
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_file_bytes");
    /* the same limit bounds a buffer handed to the parser */
    void *buf;
    size_t len;
    assert_int_equal(fsc_read_file(ONNX_MODEL, 0, &buf, &len, &err), FSC_OK);
    assert_int_equal(fsc_onnx_parse(buf, len, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_file_bytes");
    free(buf);
}

static void test_onnx_max_string(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    ctx.limits.max_string = 1; /* every node and value name of the fixture is longer than 1 byte */
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_string");
}

static void test_npy_max_npy_header(void **state)
{
    (void)state;
    fsc_limits lim = fsc_limits_default();
    lim.max_npy_header = 16; /* NumPy pads headers to a multiple of 64 bytes */
    fsc_tensor t;
    fsc_error err;
    assert_int_equal(fsc_npy_read(NPY_FILE, &lim, &t, NULL, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_npy_header");
}

static void test_npy_max_tensor_bytes(void **state)
{
    (void)state;
    fsc_limits lim = fsc_limits_default();
    lim.max_tensor_bytes = 1;
    fsc_tensor t;
    fsc_error err;
    assert_int_equal(fsc_npy_read(NPY_FILE, &lim, &t, NULL, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_tensor_bytes");
}

/* A Core ML package of the ONNX fixture, saved into tmpdir; returns its path. */
static const char *save_package(void)
{
    static char pkg[300];
    snprintf(pkg, sizeof pkg, "%s/m.mlpackage", tmpdir);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_OK);
    assert_int_equal(fsc_mlpackage_save(pkg, g, &ctx, &err), FSC_OK);
    fsc_graph_free(g);
    return pkg;
}

static void test_mlpackage_max_nodes_and_string(void **state)
{
    (void)state;
    const char *pkg = save_package();
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_OK);
    fsc_graph_free(g);
    ctx.limits.max_nodes = 1;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_nodes");
    ctx = fsc_ctx_default();
    ctx.limits.max_string = 1;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_string");
    ctx = fsc_ctx_default();
    ctx.limits.max_tensor_bytes = 8;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_tensor_bytes");
    ctx = fsc_ctx_default();
    ctx.limits.max_file_bytes = 64; /* the model protobuf is larger */
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_file_bytes");
}

static void test_mlpackage_max_nesting(void **state)
{
    (void)state;
    const char *pkg = save_package();
    char path[400];
    snprintf(path, sizeof path, "%s/Manifest.json", pkg);
    void *buf;
    size_t len;
    fsc_error err;
    assert_int_equal(fsc_read_file(path, 0, &buf, &len, &err), FSC_OK);
    /* Add a member nested 30 levels deep (the object, 28 arrays, the number):
     * deeper than the package's Model protobuf (13), so the JSON check decides. */
    const char *brace = strchr(buf, '{');
    assert_non_null(brace);
    char *doc = malloc(len + 128);
    assert_non_null(doc);
    snprintf(doc, len + 128, "{\"x\": %.28s1%.28s, %s", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]]]]]]]]]]]]", brace + 1);
    assert_int_equal(fsc_write_file_atomic(path, doc, strlen(doc), &err), FSC_OK);
    free(doc);
    free(buf);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_OK); /* 30 <= default 64 */
    fsc_graph_free(g);
    ctx.limits.max_nesting = 29;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_nesting");
    assert_non_null(strstr(err.msg, "30 levels"));
    ctx.limits.max_nesting = 30;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_OK);
    fsc_graph_free(g);
}

/* ONNX nesting: ModelProto > GraphProto > ValueInfoProto > TypeProto >
 * TypeProto.Tensor > TensorShapeProto > Dimension is 7 levels, the deepest
 * path of the fixture (its inputs have shapes). */
static void test_onnx_max_nesting(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    ctx.limits.max_nesting = 6;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_null(g);
    assert_limit_msg(&err, "max_nesting");
    assert_non_null(strstr(err.msg, "protobuf messages nested more than 6 levels"));
    ctx.limits.max_nesting = 7;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_OK);
    fsc_graph_free(g);
}

/* Core ML nesting: the package of the fixture nests its Model protobuf 13
 * levels deep (Model > MLProgram > functions entry > Function > block entry >
 * Block > Operation > inputs entry > Argument > Binding > Value > ... ), its
 * Manifest.json only 4, so the protobuf check is what a limit of 12 hits. */
static void test_mlpackage_protobuf_nesting(void **state)
{
    (void)state;
    const char *pkg = save_package();
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    ctx.limits.max_nesting = 12;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_nesting");
    assert_non_null(strstr(err.msg, "protobuf messages nested more than 12 levels"));
    ctx.limits.max_nesting = 13;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_OK);
    fsc_graph_free(g);
}

/* max_total_bytes at load: the model's constants together. The limit equal
 * to what they take loads; one byte less is refused. */
static void test_onnx_max_total_bytes_constants(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_OK);
    size_t need = g->const_bytes;
    fsc_graph_free(g);
    assert_true(need >= 48); /* two float vectors of 6, at least */
    ctx.limits.max_total_bytes = need;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_OK);
    fsc_graph_free(g);
    ctx.limits.max_total_bytes = need - 1;
    assert_int_equal(fsc_onnx_load(ONNX_MODEL, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_null(g);
    assert_limit_msg(&err, "max_total_bytes");
}

static int relu_of(fsc_graph *g, int x, const char *out)
{
    fsc_node_spec sp = {.op = FSC_OP_RELU, .name = out, .n_in = 1, .in = &x, .n_out = 1, .out_names = &out};
    int n = fsc_graph_add_node(g, &sp, NULL);
    assert_true(n >= 0);
    return g->nodes[n].out[0];
}

/* max_total_bytes when an engine opens: x [1,1000] f32 -> relu a -> relu b
 * -> relu y (output). Hand count with 4-byte floats: x 4000 + a 4000 = 8000;
 * b: 12000, then a is freed (8000); y: 12000, then b is freed. Peak 12000
 * (24000 with 8-byte floats). A 1000-element initializer nobody reads adds
 * its 4000 bytes throughout. */
static void test_engine_max_total_bytes(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("t", NULL);
    int64_t d[2] = {1, 1000};
    fsc_shape s = fsc_shape_make(2, d);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &s, NULL);
    int y = relu_of(g, relu_of(g, relu_of(g, x, "a"), "b"), "y");
    assert_int_equal(fsc_graph_add_output(g, y, NULL), FSC_OK);
    assert_int_equal(fsc_graph_peak_bytes(g, 4), 12000);
    assert_int_equal(fsc_graph_peak_bytes(g, 8), 24000);
    fsc_tensor t;
    assert_int_equal(fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, NULL), FSC_OK);
    assert_true(fsc_graph_add_initializer(g, "unused", FSC_DT_F32, &t, NULL) >= 0);
    assert_int_equal(fsc_graph_peak_bytes(g, 4), 16000);

    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = 1;
    fsc_engine *e = NULL;
    fsc_error err;
    ctx.limits.max_total_bytes = 16000;
    assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &e, &err), FSC_OK);
    fsc_engine_close(e);
    e = NULL;
    ctx.limits.max_total_bytes = 15999;
    assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &e, &err), FSC_ERR_LIMIT);
    assert_null(e);
    assert_limit_msg(&err, "max_total_bytes");
    assert_non_null(strstr(err.msg, "16000 bytes"));
    ctx.limits.max_total_bytes = 31999; /* fp64 holds floats in 8 bytes: 32000 */
    assert_int_equal(fsc_engine_open("emu:fp64", g, &ctx, &e, &err), FSC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "32000 bytes"));
    fsc_graph_free(g);
}

/* Runs a shell command, returns its exit status and its stderr+stdout in out. */
static int run_cli(const char *args, char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", FSC_CLI, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_cli_limit_option(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(run_cli("inspect " ONNX_MODEL, out, sizeof out), 0);
    assert_int_equal(run_cli("inspect --limit max_nodes=1 " ONNX_MODEL, out, sizeof out), 2);
    print_message("    %s", out);
    assert_non_null(strstr(out, "max_nodes limit of 1"));
    assert_non_null(strstr(out, "--limit max_nodes=N"));
    /* raising it again (the last one wins) and a K suffix */
    assert_int_equal(run_cli("inspect --limit max_nodes=1 --limit max_nodes=1K " ONNX_MODEL, out, sizeof out), 0);
    assert_int_equal(run_cli("drift --runs 1 --configs emu:fp32 --limit max_tensor_bytes=4 " ONNX_MODEL, out,
                             sizeof out), 2);
    assert_non_null(strstr(out, "max_tensor_bytes limit of 4"));
    /* bad uses are usage errors naming the known limits */
    assert_int_equal(run_cli("inspect --limit bogus=1 " ONNX_MODEL, out, sizeof out), 2);
    assert_non_null(strstr(out, "max_npy_header"));
    assert_int_equal(run_cli("inspect --limit max_nodes=-3 " ONNX_MODEL, out, sizeof out), 2);
    assert_non_null(strstr(out, "positive integer"));
    assert_int_equal(run_cli("inspect --limit max_nodes " ONNX_MODEL, out, sizeof out), 2);
    /* the limits of this round: protobuf nesting and total bytes */
    assert_int_equal(run_cli("inspect --limit max_nesting=2 " ONNX_MODEL, out, sizeof out), 2);
    assert_non_null(strstr(out, "max_nesting limit of 2"));
    /* a configuration that cannot open is a FAILED row, the probe goes on (exit 0) */
    assert_int_equal(run_cli("drift --runs 1 --configs emu:fp32 --limit max_total_bytes=100 " ONNX_MODEL, out,
                             sizeof out), 0);
    assert_non_null(strstr(out, "FAILED"));
    assert_non_null(strstr(out, "needs 480 bytes of tensors at its peak"));
    assert_non_null(strstr(out, "max_total_bytes limit of 100"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onnx_max_nodes),
        cmocka_unit_test(test_onnx_max_tensor_bytes),
        cmocka_unit_test(test_onnx_max_file_bytes),
        cmocka_unit_test(test_onnx_max_string),
        cmocka_unit_test(test_npy_max_npy_header),
        cmocka_unit_test(test_npy_max_tensor_bytes),
        cmocka_unit_test_setup_teardown(test_mlpackage_max_nodes_and_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mlpackage_max_nesting, setup, teardown),
        cmocka_unit_test(test_onnx_max_nesting),
        cmocka_unit_test_setup_teardown(test_mlpackage_protobuf_nesting, setup, teardown),
        cmocka_unit_test(test_onnx_max_total_bytes_constants),
        cmocka_unit_test(test_engine_max_total_bytes),
        cmocka_unit_test(test_cli_limit_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
