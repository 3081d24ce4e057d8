/* test_nothing_lost.c: a writer that fails midway leaves the previous file
 * (or .mlpackage directory) exactly as it was and no temporary behind. The
 * failure is injected with FSC_TEST_FAIL_WRITE_AFTER=N (fileio.c): every
 * write stops after N bytes of a file, as on a full disk. */
#include <dirent.h>
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

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_lost_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("FSC_TEST_FAIL_WRITE_AFTER");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void fail_after(size_t n)
{
    char v[32];
    snprintf(v, sizeof v, "%zu", n);
    setenv("FSC_TEST_FAIL_WRITE_AFTER", v, 1);
}

/* Number of entries in dir besides . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void assert_file_is(const char *path, const void *want, size_t want_len)
{
    void *got;
    size_t len;
    fsc_error err;
    assert_int_equal(fsc_read_file(path, 0, &got, &len, &err), FSC_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, len);
    free(got);
}

static void test_npy_write_fails_midway(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/out.npy", tmpdir);
    static const char before[] = "the previous contents";
    fsc_error err;
    assert_int_equal(fsc_write_file_atomic(path, before, sizeof before, &err), FSC_OK);
    fsc_tensor t;
    fsc_shape s = {.rank = 1, .dim = {1000}};
    assert_int_equal(fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, &err), FSC_OK);
    for (int i = 0; i < 1000; i++) ((float *)t.data)[i] = (float)i;
    fail_after(2000); /* the file is 128 + 4000 bytes: fails about half way */
    assert_int_equal(fsc_npy_write(path, &t, FSC_DT_F32, &err), FSC_ERR_IO);
    print_message("    %s\n", err.msg);
    assert_non_null(strstr(err.msg, path));
    assert_file_is(path, before, sizeof before);
    assert_int_equal(count_entries(tmpdir), 1); /* no temporary left behind */
    /* without the injected failure the same write replaces the file */
    unsetenv("FSC_TEST_FAIL_WRITE_AFTER");
    assert_int_equal(fsc_npy_write(path, &t, FSC_DT_F32, &err), FSC_OK);
    fsc_tensor back;
    assert_int_equal(fsc_npy_read(path, NULL, &back, NULL, &err), FSC_OK);
    assert_int_equal(fsc_tensor_numel(&back), 1000);
    assert_true(fsc_tensor_get(&back, 999) == 999.0);
    fsc_tensor_free(&back);
    fsc_tensor_free(&t);
}

static void test_onnx_save_fails_midway(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/model.onnx", tmpdir);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(FSC_FIXTURES "/onnx/ln_gelu.onnx", &ctx, &g, &err), FSC_OK);
    void *data;
    size_t len;
    assert_int_equal(fsc_onnx_serialize(g, &ctx, &data, &len, &err), FSC_OK);
    static const char before[] = "an older model";
    assert_int_equal(fsc_write_file_atomic(path, before, sizeof before, &err), FSC_OK);
    fail_after(len / 2);
    assert_int_equal(fsc_onnx_save(path, g, &ctx, &err), FSC_ERR_IO);
    assert_file_is(path, before, sizeof before);
    assert_int_equal(count_entries(tmpdir), 1);
    unsetenv("FSC_TEST_FAIL_WRITE_AFTER");
    assert_int_equal(fsc_onnx_save(path, g, &ctx, &err), FSC_OK);
    assert_file_is(path, data, len);
    free(data);
    fsc_graph_free(g);
}

/* Snapshot of a saved package: its three files. */
typedef struct pkg_snap {
    void *data[3];
    size_t len[3];
} pkg_snap;

static const char *const pkg_files[3] = {"Manifest.json", "Data/com.apple.CoreML/model.mlmodel",
                                         "Data/com.apple.CoreML/weights/weight.bin"};

static void snap(const char *pkg, pkg_snap *s)
{
    for (int i = 0; i < 3; i++) {
        char p[512];
        fsc_error err;
        snprintf(p, sizeof p, "%s/%s", pkg, pkg_files[i]);
        assert_int_equal(fsc_read_file(p, 0, &s->data[i], &s->len[i], &err), FSC_OK);
    }
}

static void test_mlpackage_save_fails_midway(void **state)
{
    (void)state;
    char pkg[300];
    snprintf(pkg, sizeof pkg, "%s/m.mlpackage", tmpdir);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *old = NULL, *new = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_load(FSC_FIXTURES "/onnx/ln_gelu.onnx", &ctx, &old, &err), FSC_OK);
    assert_int_equal(fsc_onnx_load(FSC_FIXTURES "/dwsep/model.onnx", &ctx, &new, &err), FSC_OK);
    assert_int_equal(fsc_mlpackage_save(pkg, old, &ctx, &err), FSC_OK);
    pkg_snap before;
    snap(pkg, &before);
    void *m, *w;
    size_t ml, wl;
    assert_int_equal(fsc_mlmodel_serialize(new, &m, &ml, &w, &wl, &err), FSC_OK);
    /* The budget is per file: fail half way through the model protobuf, then (when weight.bin is
     * the larger file) half way through weight.bin, after model.mlmodel was written whole. */
    size_t cuts[2] = {ml / 2, (ml + wl) / 2};
    assert_true(w != NULL && wl > 64);
    for (int c = 0; c < (wl > ml ? 2 : 1); c++) {
        fail_after(cuts[c]);
        assert_int_equal(fsc_mlpackage_save(pkg, new, &ctx, &err), FSC_ERR_IO);
        print_message("    cut at %zu: %s\n", cuts[c], err.msg);
        unsetenv("FSC_TEST_FAIL_WRITE_AFTER");
        pkg_snap after;
        snap(pkg, &after);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(after.len[i], before.len[i]);
            assert_memory_equal(after.data[i], before.data[i], before.len[i]);
            free(after.data[i]);
        }
        assert_int_equal(count_entries(tmpdir), 1); /* the temporary package is gone */
    }
    /* and the package still loads as the old model */
    fsc_graph *back = NULL;
    assert_int_equal(fsc_mlpackage_load(pkg, &ctx, &back, &err), FSC_OK);
    assert_int_equal(back->n_nodes > 0, 1);
    fsc_graph_free(back);
    assert_int_equal(fsc_mlpackage_save(pkg, new, &ctx, &err), FSC_OK);
    char p[512];
    snprintf(p, sizeof p, "%s/%s", pkg, pkg_files[1]);
    assert_file_is(p, m, ml);
    for (int i = 0; i < 3; i++) free(before.data[i]);
    free(m);
    free(w);
    fsc_graph_free(old);
    fsc_graph_free(new);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_npy_write_fails_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_onnx_save_fails_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mlpackage_save_fails_midway, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
