/* test_npy.c: .npy reading against files NumPy wrote (tests/fixtures/npy),
 * round trips, and malformed files. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flipscope/model_io.h"

#define FIX FSC_FIXTURES "/npy/"

static void test_numpy_written_files(void **state)
{
    (void)state;
    fsc_limits lim = fsc_limits_default();
    fsc_tensor t;
    fsc_dtype dt;
    assert_int_equal(fsc_npy_read(FIX "f16.npy", &lim, &t, &dt, NULL), FSC_OK);
    assert_int_equal(dt, FSC_DT_F16);
    assert_int_equal(t.dtype, FSC_DT_F32);
    assert_int_equal(t.shape.rank, 2);
    assert_int_equal(t.shape.dim[1], 3);
    FILE *f = fopen(FIX "f16_values.txt", "r");
    assert_non_null(f);
    for (int i = 0; i < 6; i++) {
        double want;
        assert_int_equal(fscanf(f, "%la", &want), 1);
        double got = fsc_tensor_get(&t, i);
        assert_true(got == want && signbit(got) == signbit(want));
    }
    fclose(f);
    fsc_tensor_free(&t);

    assert_int_equal(fsc_npy_read(FIX "f64.npy", &lim, &t, &dt, NULL), FSC_OK);
    assert_int_equal(t.dtype, FSC_DT_F64);
    assert_true(fsc_tensor_get(&t, 0) == M_PI);
    assert_true(fsc_tensor_get(&t, 3) == 0x1p-1074);
    fsc_tensor_free(&t);

    assert_int_equal(fsc_npy_read(FIX "i64_3d.npy", &lim, &t, &dt, NULL), FSC_OK);
    assert_int_equal(t.shape.rank, 3);
    assert_true(fsc_tensor_get(&t, 23) == 23.0);
    fsc_tensor_free(&t);

    assert_int_equal(fsc_npy_read(FIX "i8.npy", &lim, &t, &dt, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&t, 0) == -128.0 && fsc_tensor_get(&t, 3) == 127.0);
    fsc_tensor_free(&t);

    assert_int_equal(fsc_npy_read(FIX "scalar_f32.npy", &lim, &t, &dt, NULL), FSC_OK);
    assert_int_equal(t.shape.rank, 0);
    assert_true(fsc_tensor_get(&t, 0) == 1.5);
    fsc_tensor_free(&t);
}

static void test_refused_layouts(void **state)
{
    (void)state;
    fsc_limits lim = fsc_limits_default();
    fsc_tensor t;
    fsc_error err;
    assert_int_equal(fsc_npy_read(FIX "fortran.npy", &lim, &t, NULL, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "fortran.npy"));
    assert_non_null(strstr(err.msg, "Fortran-order"));
    assert_int_equal(fsc_npy_read(FIX "bigendian.npy", &lim, &t, NULL, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "big-endian"));
    assert_int_equal(fsc_npy_read(FIX "does-not-exist.npy", &lim, &t, NULL, &err), FSC_ERR_IO);
    assert_non_null(strstr(err.msg, "does-not-exist.npy"));
}

static void test_round_trip_all_dtypes(void **state)
{
    (void)state;
    const fsc_dtype dts[] = {FSC_DT_F64, FSC_DT_F32, FSC_DT_F16, FSC_DT_I8, FSC_DT_U8, FSC_DT_I32, FSC_DT_I64};
    int64_t d[3] = {2, 1, 3};
    fsc_shape s = fsc_shape_make(3, d);
    char path[] = "/tmp/fsc_npy_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        fsc_tensor src, back;
        assert_int_equal(fsc_tensor_alloc(&src, FSC_DT_F64, &s, 0, NULL), FSC_OK);
        const double vals[6] = {1, -2, 3, 100, 0, 7};
        for (int i = 0; i < 6; i++) fsc_tensor_set(&src, i, dts[k] == FSC_DT_U8 ? fabs(vals[i]) : vals[i]);
        assert_int_equal(fsc_npy_write(path, &src, dts[k], NULL), FSC_OK);
        fsc_dtype got;
        assert_int_equal(fsc_npy_read(path, NULL, &back, &got, NULL), FSC_OK);
        assert_int_equal(got, dts[k]);
        assert_true(fsc_shape_equal(&back.shape, &s));
        for (int i = 0; i < 6; i++) assert_true(fsc_tensor_get(&back, i) == fsc_tensor_get(&src, i));
        fsc_tensor_free(&src);
        fsc_tensor_free(&back);
    }
    close(fd);
    unlink(path);
}

/* Builds an in-memory .npy with the given header dict and data size. */
static size_t make(unsigned char *buf, const char *dict, size_t data_bytes)
{
    size_t hl = strlen(dict);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    memcpy(buf + 10, dict, hl);
    memset(buf + 10 + hl, 0, data_bytes);
    return 10 + hl + data_bytes;
}

static void test_malformed(void **state)
{
    (void)state;
    unsigned char buf[4096];
    fsc_tensor t;
    fsc_error err;
    fsc_limits lim = fsc_limits_default();
    size_t n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    assert_int_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_OK);
    fsc_tensor_free(&t);
    /* truncated data */
    assert_int_equal(fsc_npy_parse(buf, n - 1, &lim, &t, NULL, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "truncated data"));
    /* truncated header */
    assert_int_equal(fsc_npy_parse(buf, 20, &lim, &t, NULL, &err), FSC_ERR_FORMAT);
    /* bad magic */
    buf[1] = 'X';
    assert_int_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "magic"));
    /* absurd shape: refused before any allocation */
    n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }\n", 0);
    assert_int_not_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_OK);
    n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }\n", 0);
    assert_int_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_ERR_FORMAT);
    /* unsupported dtype, missing keys, malformed shape */
    n = make(buf, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n", 16);
    assert_int_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "<c8"));
    n = make(buf, "{'fortran_order': False, 'shape': (2,), }\n", 16);
    assert_int_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_ERR_FORMAT);
    n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }\n", 16);
    assert_int_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_ERR_FORMAT);
    /* header length over the limit */
    lim.max_npy_header = 16;
    n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 8);
    assert_int_equal(fsc_npy_parse(buf, n, &lim, &t, NULL, &err), FSC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "max_npy_header"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_written_files),
        cmocka_unit_test(test_refused_layouts),
        cmocka_unit_test(test_round_trip_all_dtypes),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
