/* test_bfma_engine.c: the block-FMA engine (gemm_bfma.c and its micro-kernels)
 * bit-identical to the scalar reference (fsc_dot_ref, i.e. fsc_blockfma_step
 * chained block by block) under every block-FMA preset, each instruction-set
 * variant pinned (FSC_KERNEL_ISA), 1..3 threads, on random odd shapes (K not
 * a multiple of the block) and adversarial values: ties and cancellation,
 * exponent spreads across the whole input format (subnormals included),
 * zeros, Inf and NaN, runs of equal large terms, and a block sum past the
 * int32 bound. Also checks that the vector kernels, not only the scalar fallback,
 * did the work on ordinary data. */
#include "ktest.h"

#include "kernels/gemm_bfma.h"
#include "kernels/ops.h"

static fsc_ctx ctx_threads(int t)
{
    fsc_ctx c = fsc_ctx_default();
    c.threads = t;
    return c;
}

enum { V_NORMAL, V_TIES, V_SPREAD, V_SPECIAL, V_EQUAL, V_COUNT };

/* One value of fmt for the given kind of data. */
static double value(fsc_rng *r, int kind, fsc_format_id fmt)
{
    const fsc_format *f = fsc_format_get(fmt);
    double s = kt_randint(r, 0, 1) ? -1.0 : 1.0;
    switch (kind) {
    case V_TIES: { /* few distinct values: exact cancellation, truncation ties, equal exponents */
        static const double set[] = {1.0, 1.5, 0.5, 0.75, 1.0 + 0x1p-10, 1.0 - 0x1p-11, 2.0, 0.0, 3.0, 0.25};
        return fsc_rne(s * set[kt_randint(r, 0, 9)], fmt);
    }
    case V_SPREAD: { /* exponents over the whole format, subnormals and zeros included */
        if (kt_randint(r, 0, 9) == 0) return 0.0;
        int lo = f->emin - f->p + 1, hi = f->emax > 40 ? 40 : f->emax;
        if (kt_randint(r, 0, 3) == 0) hi = f->emax; /* now and then the very top */
        double m = 1.0 + (double)kt_randint(r, 0, 1023) / 1024.0;
        return fsc_rne(s * ldexp(m, (int)kt_randint(r, lo, hi)), fmt);
    }
    case V_SPECIAL: {
        int64_t u = kt_randint(r, 0, 199);
        if (u == 0) return s * INFINITY;
        if (u == 1) return NAN;
        if (u < 60) return 0.0;
        return fsc_rne(s * fsc_rng_normal(r), fmt);
    }
    case V_EQUAL: /* same sign, near the top of a binade: the largest block sums */
        return fsc_rne(1.99 * (kt_randint(r, 0, 19) ? 1.0 : -1.0), fmt);
    default: return fsc_rne(s * fabs(fsc_rng_normal(r)) * ldexp(1.0, (int)kt_randint(r, -3, 3)), fmt);
    }
}

static void fill_kind(fsc_tensor *t, fsc_rng *r, int kind, fsc_format_id fmt)
{
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++) fsc_tensor_set(t, i, value(r, kind, fmt));
}

/* y = A B (+ C) by the engine under every ISA and 1..3 threads, against the reference. */
static void check_gemm(const fsc_arith *a, int64_t M, int64_t K, int64_t N, int kind, bool bias, fsc_rng *r)
{
    fsc_attr_gemm at = {1.0, 1.0, false, false};
    int64_t ad[2] = {M, K}, bd[2] = {K, N}, cd[1] = {N}, yd[2] = {M, N};
    fsc_tensor A = kt_new(FSC_DT_F32, 2, ad), B = kt_new(FSC_DT_F32, 2, bd), C = kt_new(FSC_DT_F32, 1, cd);
    fsc_tensor y = kt_new(FSC_DT_F32, 2, yd), ref = kt_new(FSC_DT_F32, 2, yd);
    /* fp32 storage (the wide variants): operands drawn from the block's input format */
    bool wide = a->storage == FSC_FMT_FP32 && a->weights == FSC_FMT_FP32 && kt_randint(r, 0, 1);
    fill_kind(&A, r, kind, wide ? a->block_fma.in : a->weights);
    fill_kind(&B, r, kind, wide ? a->block_fma.in : a->storage);
    fill_kind(&C, r, V_NORMAL, a->weights);
    fsc_ctx c1 = ctx_threads(1);
    assert_int_equal(fsc_k_gemm_ref(&at, &A, &B, bias ? &C : NULL, a, &c1, &ref, NULL), FSC_OK);
    for (int isa = 0; isa <= 2; isa++)
        for (int th = 1; th <= 3; th++) {
            char v[8], what[96];
            snprintf(v, sizeof v, "%d", isa);
            setenv("FSC_KERNEL_ISA", v, 1);
            fsc_ctx cx = ctx_threads(th);
            memset(y.data, 0xff, y.nbytes);
            assert_int_equal(fsc_k_gemm(&at, &A, &B, bias ? &C : NULL, a, &cx, &y, NULL), FSC_OK);
            snprintf(what, sizeof what, "%s M=%lld K=%lld N=%lld kind %d isa %d threads %d", a->name, (long long)M,
                     (long long)K, (long long)N, kind, isa, th);
            kt_assert_same_bits(&y, &ref, what);
        }
    unsetenv("FSC_KERNEL_ISA");
    fsc_tensor_free(&A), fsc_tensor_free(&B), fsc_tensor_free(&C), fsc_tensor_free(&y), fsc_tensor_free(&ref);
}

static void test_every_preset_every_kind(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 1101);
    int shapes = kt_quick() ? 1 : 3, n = 0;
    for (int i = 0; i < fsc_arith_preset_count(); i++) {
        const fsc_arith *a = fsc_arith_preset_at(i);
        if (a->block_fma.block <= 0) continue;
        n++;
        assert_true(fsc_fastmm_eligible(a, FSC_DT_F32));
        /* The preset, and the preset writing binary32 outputs: fp16 or bf16
         * storage rounds the block results, which would hide their last bits. */
        fsc_arith wide = *a;
        wide.storage = wide.weights = FSC_FMT_FP32;
        assert_true(fsc_fastmm_eligible(&wide, FSC_DT_F32));
        for (int kind = 0; kind < V_COUNT; kind++)
            for (int t = 0; t < shapes; t++) {
                int64_t M = 2 * kt_randint(&r, 0, 6) + 1, N = 2 * kt_randint(&r, 0, 25) + 1;
                int64_t K = a->block_fma.block * kt_randint(&r, 0, 5) + kt_randint(&r, 1, a->block_fma.block - 1);
                if (kind == V_EQUAL) K = 3 * a->block_fma.block + 1;
                check_gemm(a, M, K, N, kind, t != 1, &r);
                check_gemm(&wide, M, K, N, kind, t != 1, &r);
            }
    }
    assert_int_equal(n, 14);
}

/* Ordinary data stays on the vector kernels (the fallback is for special values). */
static void test_kernels_do_the_work(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 1102);
    static const char *names[] = {"h100-fp16", "a100-bf16", "v100-fp16", "h100-e4m3", "b200-tf32"};
    for (int p = 0; p < 5; p++) {
        int64_t k0, s0, k1, s1;
        fsc_bfma_counts(&k0, &s0);
        check_gemm(fsc_arith_preset(names[p]), 9, 77, 41, V_NORMAL, true, &r);
        check_gemm(fsc_arith_preset(names[p]), 5, 33, 70, V_TIES, false, &r);
        fsc_bfma_counts(&k1, &s1);
        assert_true(k1 - k0 > 0);
        assert_int_equal(s1 - s0, 0);
    }
}

/* A block sum at the int32 bound: c = 1 from a first block, then 16 products 1.99^2 of exponent 0 with
 * the grid at 2^-25 (h100-fp16: 2 extra bits): 16 * 3.96 * 2^25 + 2^25 passes 2^31. The kernels must
 * notice the overflow and leave the micro-tile to the scalar model. */
static void test_int32_bound(void **state)
{
    (void)state;
    fsc_arith a = *fsc_arith_preset("h100-fp16");
    a.storage = a.weights = FSC_FMT_FP32;
    int64_t M = 3, K = 32, N = 40;
    int64_t ad[2] = {M, K}, bd[2] = {K, N}, yd[2] = {M, N};
    fsc_tensor A = kt_new(FSC_DT_F32, 2, ad), B = kt_new(FSC_DT_F32, 2, bd);
    fsc_tensor y = kt_new(FSC_DT_F32, 2, yd), ref = kt_new(FSC_DT_F32, 2, yd);
    double big = fsc_rne(1.99, FSC_FMT_FP16);
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) fsc_tensor_set(&A, m * K + k, k == 0 ? 1.0 : (k >= 16 ? big : 0.0));
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < N; n++) fsc_tensor_set(&B, k * N + n, k == 0 ? 1.0 : (k >= 16 ? big : 0.0));
    fsc_attr_gemm at = {1.0, 1.0, false, false};
    fsc_ctx c1 = ctx_threads(1);
    assert_int_equal(fsc_k_gemm_ref(&at, &A, &B, NULL, &a, &c1, &ref, NULL), FSC_OK);
    /* 1 + 16 * big^2, truncated to binary32 on the grid 2^-25 of exponent 0 */
    assert_true(fsc_tensor_get(&ref, 0) > 64.0 && fsc_tensor_get(&ref, 0) < 64.5);
    for (int isa = 0; isa <= 2; isa++) {
        char v[8];
        snprintf(v, sizeof v, "%d", isa);
        setenv("FSC_KERNEL_ISA", v, 1);
        int64_t k0, s0, k1, s1;
        fsc_bfma_counts(&k0, &s0);
        assert_int_equal(fsc_k_gemm(&at, &A, &B, NULL, &a, &c1, &y, NULL), FSC_OK);
        fsc_bfma_counts(&k1, &s1);
        kt_assert_same_bits(&y, &ref, "int32 bound");
        if (isa > 0 && fsc_fastmm_isa(isa) == isa) assert_true(s1 - s0 > 0); /* the vector kernels declined */
    }
    unsetenv("FSC_KERNEL_ISA");
    fsc_tensor_free(&A), fsc_tensor_free(&B), fsc_tensor_free(&y), fsc_tensor_free(&ref);
}

/* conv2d and matmul reach the engine with their own layouts (im2col, batches). */
static void test_conv_and_matmul(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 1103);
    static const char *names[] = {"h100-fp16", "h100-tf32", "h100-e5m2", "b200-e4m3", "a100-bf16"};
    for (int p = 0; p < 5; p++) {
        const fsc_arith *a = fsc_arith_preset(names[p]);
        for (int t = 0; t < (kt_quick() ? 1 : 3); t++) {
            int64_t C = kt_randint(&r, 1, 7), Mo = kt_randint(&r, 1, 9), H = kt_randint(&r, 3, 11), W = kt_randint(&r, 3, 40);
            int kind = (int)kt_randint(&r, 0, V_COUNT - 1);
            int64_t xd[4] = {2, C, H, W}, wd[4] = {Mo, C, 3, 3}, bd[1] = {Mo}, yd[4] = {2, Mo, H, W};
            fsc_tensor x = kt_new(FSC_DT_F32, 4, xd), w = kt_new(FSC_DT_F32, 4, wd), b = kt_new(FSC_DT_F32, 1, bd);
            fsc_tensor y = kt_new(FSC_DT_F32, 4, yd), ref = kt_new(FSC_DT_F32, 4, yd);
            fill_kind(&x, &r, kind, a->storage);
            fill_kind(&w, &r, kind, a->weights);
            fill_kind(&b, &r, V_NORMAL, a->weights);
            fsc_attr_conv at = {{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
            fsc_ctx c1 = ctx_threads(1), c2 = ctx_threads(2);
            assert_int_equal(fsc_k_conv2d_ref(&at, &x, &w, &b, a, &c1, &ref, NULL), FSC_OK);
            for (int isa = 0; isa <= 2; isa++) {
                char v[8];
                snprintf(v, sizeof v, "%d", isa);
                setenv("FSC_KERNEL_ISA", v, 1);
                assert_int_equal(fsc_k_conv2d(&at, &x, &w, &b, a, &c2, &y, NULL), FSC_OK);
                kt_assert_same_bits(&y, &ref, names[p]);
            }
            unsetenv("FSC_KERNEL_ISA");
            /* matmul [2, Mo, C*9] x [2, C*9, H] */
            int64_t K = C * 9, Ad[3] = {2, Mo, K}, Bd[3] = {2, K, H}, Yd[3] = {2, Mo, H};
            fsc_tensor A = kt_new(FSC_DT_F32, 3, Ad), B = kt_new(FSC_DT_F32, 3, Bd);
            fsc_tensor Y = kt_new(FSC_DT_F32, 3, Yd), Yr = kt_new(FSC_DT_F32, 3, Yd);
            fill_kind(&A, &r, kind, a->storage);
            fill_kind(&B, &r, kind, a->storage);
            assert_int_equal(fsc_k_matmul_ref(&A, &B, a, &c1, &Yr, NULL), FSC_OK);
            assert_int_equal(fsc_k_matmul(&A, &B, a, &c2, &Y, NULL), FSC_OK);
            kt_assert_same_bits(&Y, &Yr, names[p]);
            fsc_tensor_free(&x), fsc_tensor_free(&w), fsc_tensor_free(&b), fsc_tensor_free(&y), fsc_tensor_free(&ref);
            fsc_tensor_free(&A), fsc_tensor_free(&B), fsc_tensor_free(&Y), fsc_tensor_free(&Yr);
        }
    }
}

/* Parameters outside what the engine implements go to the reference, and still agree with it. */
static void test_eligibility(void **state)
{
    (void)state;
    fsc_arith a = *fsc_arith_preset("h100-fp16");
    assert_true(fsc_fastmm_eligible(&a, FSC_DT_F32));
    assert_false(fsc_fastmm_eligible(&a, FSC_DT_F64));
    a.block_fma.out = FSC_FMT_FP16;
    assert_false(fsc_fastmm_eligible(&a, FSC_DT_F32));
    a = *fsc_arith_preset("h100-fp16");
    a.block_fma.subnormals_out = false;
    assert_false(fsc_fastmm_eligible(&a, FSC_DT_F32));
    a = *fsc_arith_preset("h100-fp16");
    a.block_fma.extra_bits = 3;
    assert_false(fsc_fastmm_eligible(&a, FSC_DT_F32));
    a = *fsc_arith_preset("h100-tf32");
    a.operand_rounding = FSC_RND_NEAREST_EVEN; /* conv2d would round operands otherwise than the block reads them */
    assert_false(fsc_fastmm_eligible(&a, FSC_DT_F32));
    /* Custom parameters the engine does take: nearest-even, odd block, narrow output, long block. */
    fsc_rng r;
    fsc_rng_seed(&r, 1104);
    a = *fsc_arith_preset("h100-fp16");
    a.storage = a.weights = FSC_FMT_FP32; /* binary32 outputs show every bit of the block results */
    a.block_fma.rounding = FSC_RND_NEAREST_EVEN;
    a.block_fma.block = 7;
    assert_true(fsc_fastmm_eligible(&a, FSC_DT_F32));
    for (int kind = 0; kind < V_COUNT; kind++) check_gemm(&a, 7, 45, 37, kind, true, &r);
    a = *fsc_arith_preset("h100-bf16");
    a.storage = a.weights = FSC_FMT_FP32;
    a.block_fma.extra_bits = -5;
    a.block_fma.block = 64;
    assert_true(fsc_fastmm_eligible(&a, FSC_DT_F32));
    for (int kind = 0; kind < V_COUNT; kind++) check_gemm(&a, 5, 150, 33, kind, false, &r);
    a.block_fma.rounding = FSC_RND_NEAREST_EVEN; /* narrow output, nearest-even: the portable kernel only */
    for (int kind = 0; kind < V_COUNT; kind++) check_gemm(&a, 5, 150, 33, kind, false, &r);
    /* The FP8 refinements: c added late (taken), sub-blocks (not taken, still agreeing through the reference). */
    a = *fsc_arith_preset("h100-fp16");
    a.storage = a.weights = FSC_FMT_FP32;
    a.block_fma.late_c = true;
    assert_true(fsc_fastmm_eligible(&a, FSC_DT_F32));
    for (int kind = 0; kind < V_COUNT; kind++) check_gemm(&a, 5, 70, 19, kind, true, &r);
    a.block_fma.extra_bits = -10;
    assert_false(fsc_fastmm_eligible(&a, FSC_DT_F32));
    a = *fsc_arith_preset("h100-e4m3");
    a.block_fma.chunks = 2;
    a.block_fma.chunk_run = 2;
    assert_false(fsc_fastmm_eligible(&a, FSC_DT_F32));
    check_gemm(&a, 3, 70, 5, V_NORMAL, true, &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_preset_every_kind),
        cmocka_unit_test(test_kernels_do_the_work),
        cmocka_unit_test(test_int32_bound),
        cmocka_unit_test(test_conv_and_matmul),
        cmocka_unit_test(test_eligibility),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
