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
    /* Add a member nested 12 levels deep (the object, "x", 10 arrays, the number). */
    const char *brace = strchr(buf, '{');
    assert_non_null(brace);
    char *doc = malloc(len + 64);
    assert_non_null(doc);
    snprintf(doc, len + 64, "{\"x\": [[[[[[[[[[1]]]]]]]]]], %s", brace + 1);
    assert_int_equal(fsc_write_file_atomic(path, doc, strlen(doc), &err), FSC_OK);
    free(doc);
    free(buf);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_OK); /* 12 <= default 64 */
    fsc_graph_free(g);
    ctx.limits.max_nesting = 11;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_limit_msg(&err, "max_nesting");
    assert_non_null(strstr(err.msg, "12 levels"));
    ctx.limits.max_nesting = 12;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &g, &err), FSC_OK);
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
        cmocka_unit_test(test_cli_limit_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
