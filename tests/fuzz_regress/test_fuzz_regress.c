/* test_fuzz_regress.c: every input a fuzzer crashed on, replayed. The fuzz
 * targets' own code (fuzz/fuzz_*.c) is compiled in, each entry point renamed,
 * and every file under tests/fuzz_regress/<target>/ is fed to its target: in
 * the ASan+UBSan build (make test-asan) a regression is a sanitizer report.
 * Each bug also has a test here that asserts the clean error it now gets. */
#define _GNU_SOURCE /* nftw, mkdtemp in the fuzz targets compiled in below */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_onnx_one
#include "../../fuzz/fuzz_onnx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_mlmodel_one
#include "../../fuzz/fuzz_mlmodel.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_weights_one
#include "../../fuzz/fuzz_weights.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_manifest_one
#include "../../fuzz/fuzz_manifest.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_mlpackage_one
#include "../../fuzz/fuzz_mlpackage.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_npy_one
#include "../../fuzz/fuzz_npy.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_graph_one
#include "../../fuzz/fuzz_graph.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_profile_one
#include "../../fuzz/fuzz_profile.c"
#undef LLVMFuzzerTestOneInput

#include "flipscope/model_io.h"

#define REGRESS_DIR FSC_SOURCE_DIR "/tests/fuzz_regress"

static const struct {
    const char *dir;
    int (*one)(const uint8_t *, size_t);
} targets[] = {
    {"onnx", fuzz_onnx_one},         {"mlmodel", fuzz_mlmodel_one},     {"weights", fuzz_weights_one},
    {"manifest", fuzz_manifest_one}, {"mlpackage", fuzz_mlpackage_one}, {"npy", fuzz_npy_one},
    {"graph", fuzz_graph_one},       {"profile", fuzz_profile_one},
};

static void test_replay_all(void **state)
{
    (void)state;
    int replayed = 0;
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", REGRESS_DIR, targets[t].dir);
        DIR *d = opendir(dir);
        if (!d) continue; /* no crash found for this target */
        for (struct dirent *e; (e = readdir(d));) {
            if (e->d_name[0] == '.') continue;
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            void *buf;
            size_t len;
            fsc_error err;
            assert_int_equal(fsc_read_file(path, 0, &buf, &len, &err), FSC_OK);
            print_message("    replay %s/%s (%zu bytes)\n", targets[t].dir, e->d_name, len);
            assert_int_equal(targets[t].one(buf, len), 0);
            free(buf);
            replayed++;
        }
        closedir(d);
    }
    assert_true(replayed >= 2); /* the inputs committed with this test */
}

/* Bug 1 (fuzz_graph): a Cast whose output dtype (int8) disagreed with its
 * attribute 'to' (float32) passed inference; the kernel then wrote 4-byte
 * floats into a 1-byte-per-element buffer. Now refused when the node is added. */
static void test_cast_dtype_mismatch(void **state)
{
    (void)state;
    fsc_error err;
    fsc_graph *g = fsc_graph_new("cast", &err);
    assert_non_null(g);
    fsc_shape s = {.rank = 1, .dim = {3}};
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &s, &err);
    assert_true(x >= 0);
    const char *outs[1] = {"y"};
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_CAST;
    sp.name = "c";
    sp.n_in = 1;
    sp.in = &x;
    sp.n_out = 1;
    sp.out_names = outs;
    sp.attr.cast.to = FSC_DT_F32;
    sp.out_dtype = FSC_DT_I8;
    assert_int_equal(fsc_graph_add_node(g, &sp, &err), -1);
    print_message("    %s\n", err.msg);
    assert_non_null(strstr(err.msg, "differs from the attribute 'to'"));
    sp.attr.cast.to = FSC_DT_I8; /* consistent: fine */
    assert_true(fsc_graph_add_node(g, &sp, &err) >= 0);
    fsc_graph_free(g);
}

/* Bug 2 (fuzz_graph): Add of two int8 constants is a valid graph (int Add is
 * valid ONNX), but the float kernels read the int8 inputs as floats, out of
 * bounds. Fixed on main at the same time (a10a61e: binary ops on integer
 * tensors are exact integer arithmetic; float-only ops refuse integer data).
 * Checked against hand-computed sums and a float-only op (Relu) on int8. */
static void test_binary_int_operand(void **state)
{
    (void)state;
    fsc_error err;
    fsc_graph *g = fsc_graph_new("addi8", &err);
    assert_non_null(g);
    fsc_shape s = {.rank = 1, .dim = {3}};
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &s, &err);
    fsc_tensor c;
    assert_int_equal(fsc_tensor_alloc(&c, FSC_DT_I8, &s, 0, &err), FSC_OK);
    static const int8_t cv[3] = {1, -3, 7};
    memcpy(c.data, cv, sizeof cv);
    int ci = fsc_graph_add_initializer(g, "c", FSC_DT_I8, &c, &err);
    assert_true(x >= 0 && ci >= 0);
    const char *outs[1] = {"y"}, *routs[1] = {"r"};
    int ins[2] = {ci, ci};
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_ADD;
    sp.name = "add";
    sp.n_in = 2;
    sp.in = ins;
    sp.n_out = 1;
    sp.out_names = outs;
    int n = fsc_graph_add_node(g, &sp, &err);
    assert_true(n >= 0);
    assert_int_equal(fsc_graph_add_output(g, g->nodes[n].out[0], &err), FSC_OK);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor in, out[1];
    assert_int_equal(fsc_tensor_alloc(&in, FSC_DT_F32, &s, 0, &err), FSC_OK);
    const char *cfgs[2] = {"emu:fp32", "emu:fp16"};
    for (int k = 0; k < 2; k++) {
        fsc_engine *e = NULL;
        assert_int_equal(fsc_engine_open(cfgs[k], g, &ctx, &e, &err), FSC_OK);
        assert_int_equal(fsc_engine_run(e, &in, out, NULL, &err), FSC_OK);
        assert_true(fsc_tensor_get(&out[0], 0) == 2.0 && fsc_tensor_get(&out[0], 1) == -6.0 &&
                    fsc_tensor_get(&out[0], 2) == 14.0);
        fsc_tensor_free(&out[0]);
        fsc_engine_close(e);
    }
    /* Relu of the int8 sum: a float-only op, refused cleanly */
    int y = g->nodes[n].out[0];
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_RELU;
    sp.name = "relu";
    sp.n_in = 1;
    sp.in = &y;
    sp.n_out = 1;
    sp.out_names = routs;
    int rn = fsc_graph_add_node(g, &sp, &err);
    if (rn >= 0) { /* inference may already refuse it; if not, the run must */
        fsc_graph *g2 = g;
        g2->outputs[0] = g2->nodes[rn].out[0];
        g2->values[y].is_output = false;
        g2->values[g2->nodes[rn].out[0]].is_output = true;
        fsc_engine *e = NULL;
        assert_int_equal(fsc_engine_open("emu:fp32", g2, &ctx, &e, &err), FSC_OK);
        assert_int_not_equal(fsc_engine_run(e, &in, out, NULL, &err), FSC_OK);
        print_message("    %s\n", err.msg);
        fsc_engine_close(e);
    } else {
        print_message("    %s\n", err.msg);
    }
    fsc_tensor_free(&in);
    fsc_graph_free(g);
}

/* Bug 5 (fuzz_graph): Add of two bool tensors (Cast outputs) took the float
 * path and read the 1-byte bools as floats out of bounds. Now refused. */
static void test_binary_bool_operand(void **state)
{
    (void)state;
    fsc_error err;
    fsc_graph *g = fsc_graph_new("addb", &err);
    assert_non_null(g);
    fsc_shape s = {.rank = 1, .dim = {5}};
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &s, &err);
    const char *bo[1] = {"b"}, *yo[1] = {"y"};
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_CAST;
    sp.name = "tobool";
    sp.n_in = 1;
    sp.in = &x;
    sp.n_out = 1;
    sp.out_names = bo;
    sp.attr.cast.to = FSC_DT_BOOL;
    int cn = fsc_graph_add_node(g, &sp, &err);
    assert_true(cn >= 0);
    int b = g->nodes[cn].out[0];
    int ins[2] = {b, b};
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_ADD;
    sp.name = "add";
    sp.n_in = 2;
    sp.in = ins;
    sp.n_out = 1;
    sp.out_names = yo;
    int n = fsc_graph_add_node(g, &sp, &err);
    if (n < 0) { /* refusing it at build time is as good */
        print_message("    %s\n", err.msg);
        fsc_graph_free(g);
        return;
    }
    assert_int_equal(fsc_graph_add_output(g, g->nodes[n].out[0], &err), FSC_OK);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor in, out[1];
    assert_int_equal(fsc_tensor_alloc(&in, FSC_DT_F32, &s, 0, &err), FSC_OK);
    fsc_engine *e = NULL;
    assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &e, &err), FSC_OK);
    assert_int_equal(fsc_engine_run(e, &in, out, NULL, &err), FSC_ERR_UNSUPPORTED);
    print_message("    %s\n", err.msg);
    assert_non_null(strstr(err.msg, "bool"));
    fsc_engine_close(e);
    fsc_tensor_free(&in);
    fsc_graph_free(g);
}

/* Bug 3 (fuzz_graph): QuantizeLinear with a zero scale computed 0/0 = NaN and
 * converted it to int8 (undefined behaviour; UBSan report). Now refused. */
static void test_quantize_zero_scale(void **state)
{
    (void)state;
    fsc_error err;
    fsc_graph *g = fsc_graph_new("q0", &err);
    assert_non_null(g);
    fsc_shape s = {.rank = 1, .dim = {2}}, one = {.rank = 0};
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &s, &err);
    fsc_tensor sc;
    assert_int_equal(fsc_tensor_alloc(&sc, FSC_DT_F32, &one, 0, &err), FSC_OK); /* scale 0 */
    int si = fsc_graph_add_initializer(g, "s", FSC_DT_F32, &sc, &err);
    assert_true(x >= 0 && si >= 0);
    const char *outs[1] = {"q"};
    int ins[2] = {x, si};
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_QUANTIZE;
    sp.name = "quant";
    sp.n_in = 2;
    sp.in = ins;
    sp.n_out = 1;
    sp.out_names = outs;
    sp.attr.quant.out_dtype = FSC_DT_I8;
    sp.out_dtype = FSC_DT_I8;
    int n = fsc_graph_add_node(g, &sp, &err);
    assert_true(n >= 0);
    assert_int_equal(fsc_graph_add_output(g, g->nodes[n].out[0], &err), FSC_OK);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_tensor in, out[1];
    assert_int_equal(fsc_tensor_alloc(&in, FSC_DT_F32, &s, 0, &err), FSC_OK); /* x = 0: 0/0 */
    fsc_engine *e = NULL;
    assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &e, &err), FSC_OK);
    assert_int_equal(fsc_engine_run(e, &in, out, NULL, &err), FSC_ERR_INVALID);
    print_message("    %s\n", err.msg);
    assert_non_null(strstr(err.msg, "finite and non-zero"));
    fsc_engine_close(e);
    fsc_tensor_free(&in);
    fsc_graph_free(g);
}

/* Bug 4 (fuzz_graph): fsc_tensor_set converted out-of-range doubles to integer
 * types (undefined behaviour): a Pad value of -8 into a uint8 tensor. Now
 * saturating, truncating toward zero, NaN -> 0 (tensor.h). */
static void test_tensor_set_saturates(void **state)
{
    (void)state;
    fsc_error err;
    fsc_shape s = {.rank = 1, .dim = {4}};
    static const struct { fsc_dtype dt; double in[4]; double want[4]; } cases[] = {
        {FSC_DT_U8, {-8.0, 300.0, 2.9, NAN}, {0.0, 255.0, 2.0, 0.0}},
        {FSC_DT_I8, {-1000.0, 1000.0, -2.9, INFINITY}, {-128.0, 127.0, -2.0, 127.0}},
        {FSC_DT_I32, {-1e12, 1e12, 7.5, -INFINITY}, {-2147483648.0, 2147483647.0, 7.0, -2147483648.0}},
        {FSC_DT_I64, {-1e30, 1e30, -0.5, NAN}, {-0x1p63, 0x1.fffffffffffffp62, 0.0, 0.0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fsc_tensor t;
        assert_int_equal(fsc_tensor_alloc(&t, cases[c].dt, &s, 0, &err), FSC_OK);
        for (int i = 0; i < 4; i++) fsc_tensor_set(&t, i, cases[c].in[i]);
        for (int i = 0; i < 4; i++) assert_true(fsc_tensor_get(&t, i) == cases[c].want[i]);
        fsc_tensor_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_all),
        cmocka_unit_test(test_cast_dtype_mismatch),
        cmocka_unit_test(test_binary_int_operand),
        cmocka_unit_test(test_quantize_zero_scale),
        cmocka_unit_test(test_binary_bool_operand),
        cmocka_unit_test(test_tensor_set_saturates),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pkgfs_rm_tree(pkgfs_root());
    return rc;
}
