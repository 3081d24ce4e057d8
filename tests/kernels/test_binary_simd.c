/* test_binary_simd.c: the AVX-512 rows of fsc_k_binary (add, sub, mul, div on
 * F32 containers, fp32 / fp16 / bf16 storage) are bit-identical to the
 * scalar reference (FSC_KERNEL_ISA=1), and so are those on F64 containers
 * with fp64 storage, for same-shape operands and every
 * broadcast of the last axis (stride 0 or 1 on either side), odd lengths,
 * 1..3 threads, and operands chosen to hit the hard cases: sums and
 * quotients on or next to rounding midpoints of the storage format,
 * cancellation to +-0, overflow, underflow to subnormals and zero, Inf,
 * NaN (with payloads), signed zeros. */
#include "ktest.h"

#include "kernels/ops.h"

/* A value of fmt: random magnitude over most of its range, or a special. */
static double pick(fsc_rng *r, fsc_format_id fmt)
{
    static const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1.0, -1.0, 65504.0, 0x1p-24, 0x1p-14,
                                     0x1p-126, 0x1p-149, 3.0, 0x1.8p0, 0x1.002p0, 0x1p-1074, 0x1.8p-1022, 0x1p-540};
    uint64_t u = fsc_rng_u64(r);
    if (u % 7 == 0) return fsc_rne(special[(u >> 8) % (sizeof special / sizeof *special)], fmt);
    int span = fmt == FSC_FMT_FP16 ? 40 : fmt == FSC_FMT_FP64 ? 2100 : 300; /* fp64: products down in the subnormals */
    double v = ldexp(1.0 + fsc_rng_uniform(r), (int)((u >> 16) % (uint64_t)span) - span / 2);
    return fsc_rne((u & 2) ? -v : v, fmt);
}

/* z[i] chosen so that x[i] op z[i] often lands on a midpoint of fmt or one
 * ulp of the wide format away from it. */
static double partner(fsc_rng *r, fsc_op op, double x, fsc_format_id fmt)
{
    uint64_t u = fsc_rng_u64(r);
    if (u % 3 == 0 || !isfinite(x) || x == 0.0) return pick(r, fmt);
    if (u % 3 == 1) return fsc_rne(op == FSC_OP_SUB ? x : -x, fmt); /* exact cancellation */
    /* an operand half an ulp of fmt (relative to x) away: x + z is a midpoint */
    int e;
    frexp(x, &e);
    int p = fmt == FSC_FMT_FP64 ? 53 : fmt == FSC_FMT_FP32 ? 24 : fmt == FSC_FMT_FP16 ? 11 : 8;
    double half_ulp = ldexp(1.0, e - p - 1) * ((u & 4) ? 3.0 : 1.0);
    if (op == FSC_OP_MUL || op == FSC_OP_DIV) return fsc_rne(1.0 + ldexp(1.0, -p) * (double)((u >> 3) % 5), fmt);
    return fsc_rne(half_ulp, fmt);
}

static void run_case(fsc_op op, const fsc_arith *a, int64_t rows, int64_t cols, int bcast, fsc_rng *r)
{
    int64_t dy[2] = {rows, cols}, dx[2] = {rows, (bcast & 1) ? 1 : cols}, dz[2] = {rows, (bcast & 2) ? 1 : cols};
    fsc_dtype ct = kt_container(a);
    fsc_tensor x = kt_new(ct, 2, dx), z = kt_new(ct, 2, dz);
    fsc_format_id f = a->storage;
    for (int64_t i = 0; i < fsc_tensor_numel(&x); i++) fsc_tensor_set(&x, i, pick(r, f));
    for (int64_t i = 0; i < fsc_tensor_numel(&z); i++) {
        double xv = fsc_tensor_get(&x, i % fsc_tensor_numel(&x));
        fsc_tensor_set(&z, i, partner(r, op, xv, f));
    }
    /* a NaN with a payload in each operand */
    if (ct == FSC_DT_F32) {
        uint32_t nanb = 0x7fc01234u;
        memcpy((float *)x.data + fsc_tensor_numel(&x) / 2, &nanb, 4);
        nanb = 0xffc00777u;
        memcpy((float *)z.data + fsc_tensor_numel(&z) / 3, &nanb, 4);
    } else {
        uint64_t nanb = 0x7ff8000000012345u;
        memcpy((double *)x.data + fsc_tensor_numel(&x) / 2, &nanb, 8);
        nanb = 0xfff8000000000777u;
        memcpy((double *)z.data + fsc_tensor_numel(&z) / 3, &nanb, 8);
    }
    x.fmt = z.fmt = f;
    for (int th = 1; th <= 3; th++) {
        fsc_ctx c = fsc_ctx_default();
        c.threads = th;
        fsc_tensor y1 = kt_new(ct, 2, dy), y2 = kt_new(ct, 2, dy);
        setenv("FSC_KERNEL_ISA", "1", 1);
        assert_int_equal(fsc_k_binary(op, &x, &z, a, &c, &y1, NULL), FSC_OK);
        unsetenv("FSC_KERNEL_ISA");
        assert_int_equal(fsc_k_binary(op, &x, &z, a, &c, &y2, NULL), FSC_OK);
        if (memcmp(y1.data, y2.data, y1.nbytes) != 0) {
            size_t es = ct == FSC_DT_F32 ? 4 : 8;
            for (int64_t i = 0; i < fsc_tensor_numel(&y1); i++) {
                uint64_t b1 = 0, b2 = 0;
                memcpy(&b1, (char *)y1.data + (size_t)i * es, es);
                memcpy(&b2, (char *)y2.data + (size_t)i * es, es);
                if (b1 != b2)
                    fail_msg("%s under %s, broadcast %d: element %lld: scalar %llx, simd %llx", fsc_op_name(op), a->name,
                             bcast, (long long)i, (unsigned long long)b1, (unsigned long long)b2);
            }
        }
        fsc_tensor_free(&y1);
        fsc_tensor_free(&y2);
    }
    fsc_tensor_free(&x);
    fsc_tensor_free(&z);
}

static void test_binary_simd_bit_identical(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 4242);
    const char *presets[4] = {"fp32", "fp16", "bf16", "fp64"};
    const fsc_op ops[4] = {FSC_OP_ADD, FSC_OP_SUB, FSC_OP_MUL, FSC_OP_DIV};
    const int64_t shapes[3][2] = {{3, 4099}, {17, 13}, {1, 1}};
    for (int p = 0; p < 4; p++)
        for (int o = 0; o < 4; o++)
            for (int s = 0; s < 3; s++)
                for (int b = 0; b < 4; b++) run_case(ops[o], fsc_arith_preset(presets[p]), shapes[s][0], shapes[s][1], b, &r);
}

/* The results are the correctly rounded ones, checked on a few by hand:
 * fp16 1 + 2^-11 is a midpoint (ties to even: 1), 1 + 3 * 2^-11 too (to 1 + 2^-9). */
static void test_binary_known_values(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp16");
    int64_t d[1] = {3};
    double xv[3] = {1.0, 1.0, 65504.0}, zv[3] = {0x1p-11, 0x1.8p-10, 16.0};
    fsc_tensor x = kt_vals(FSC_DT_F32, 1, d, xv), z = kt_vals(FSC_DT_F32, 1, d, zv), y = kt_new(FSC_DT_F32, 1, d);
    fsc_ctx c = fsc_ctx_default();
    assert_int_equal(fsc_k_binary(FSC_OP_ADD, &x, &z, a, &c, &y, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&y, 0) == 1.0);
    assert_true(fsc_tensor_get(&y, 1) == 1.0 + 0x1p-9);
    assert_true(fsc_tensor_get(&y, 2) == INFINITY); /* 65520 is the midpoint to 65536: ties to even overflow */
    fsc_tensor_free(&x), fsc_tensor_free(&z), fsc_tensor_free(&y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_known_values),
        cmocka_unit_test(test_binary_simd_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
