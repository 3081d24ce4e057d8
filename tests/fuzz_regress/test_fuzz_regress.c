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
 * valid ONNX), but the float kernels read their inputs as floats, out of
 * bounds. Now the run fails cleanly naming the input and the op. */
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
    int ci = fsc_graph_add_initializer(g, "c", FSC_DT_I8, &c, &err);
    assert_true(x >= 0 && ci >= 0);
    const char *outs[1] = {"y"};
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
        assert_int_equal(fsc_engine_run(e, &in, out, NULL, &err), FSC_ERR_UNSUPPORTED);
        print_message("    %s\n", err.msg);
        assert_non_null(strstr(err.msg, "input 0 is int8"));
        fsc_engine_close(e);
    }
    fsc_tensor_free(&in);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_all),
        cmocka_unit_test(test_cast_dtype_mismatch),
        cmocka_unit_test(test_binary_int_operand),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pkgfs_rm_tree(pkgfs_root());
    return rc;
}
