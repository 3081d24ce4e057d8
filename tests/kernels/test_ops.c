/* test_ops.c: elementwise, reduction, pooling, layout, cast and quantization
 * kernels: fp64 results against naive double loops on random tensors,
 * hand-worked cases under narrower models, and the dispatcher on a small graph. */
#include "ktest.h"

#include <mpfr.h>

#include "flipscope/graph.h"
#include "kernels/kernels.h"
#include "kernels/kutil.h"
#include "kernels/ops.h"

typedef struct mfmt_t {
    int prec;
    mpfr_exp_t emin, emax;
} mfmt_t;

static fsc_ctx ctx2(void)
{
    fsc_ctx c = fsc_ctx_default();
    c.threads = 2;
    return c;
}

#define F64(rank, dims) kt_new(FSC_DT_F64, rank, dims)

static void test_unary_fp64(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp64");
    fsc_ctx c = ctx2();
    fsc_rng r;
    fsc_rng_seed(&r, 31);
    int64_t d[2] = {7, 33};
    fsc_tensor x = F64(2, d), y = F64(2, d);
    kt_fill(&x, &r, 3.0, FSC_FMT_FP64);
    fsc_op ops[] = {FSC_OP_RELU, FSC_OP_CLIP, FSC_OP_SIGMOID, FSC_OP_SILU, FSC_OP_TANH, FSC_OP_ERF, FSC_OP_GELU, FSC_OP_GELU, FSC_OP_SQRT};
    double e[7 * 33];
    for (int o = 0; o < 9; o++) {
        fsc_attrs at;
        memset(&at, 0, sizeof at);
        at.clip.lo = -1.0, at.clip.hi = 2.5;
        at.gelu.tanh_approx = o == 7;
        if (ops[o] == FSC_OP_CLIP) at.clip = (fsc_attr_clip){-1.0, 2.5};
        assert_int_equal(fsc_k_unary(ops[o], &at, &x, a, &c, &y, NULL), FSC_OK);
        for (int i = 0; i < 7 * 33; i++) {
            double v = fsc_tensor_get(&x, i);
            switch (ops[o]) {
            case FSC_OP_RELU: e[i] = v < 0 ? 0 : v; break;
            case FSC_OP_CLIP: e[i] = fmin(fmax(v, -1.0), 2.5); break;
            case FSC_OP_SIGMOID: e[i] = 1 / (1 + exp(-v)); break;
            case FSC_OP_SILU: e[i] = v / (1 + exp(-v)); break;
            case FSC_OP_TANH: e[i] = tanh(v); break;
            case FSC_OP_ERF: e[i] = erf(v); break;
            case FSC_OP_GELU:
                e[i] = o == 7 ? 0.5 * v * (1 + tanh(sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)))
                              : 0.5 * v * (1 + erf(v / sqrt(2.0)));
                break;
            default: e[i] = sqrt(v); break;
            }
        }
        kt_assert_close(&y, e, 1e-14, "unary");
    }
    fsc_tensor_free(&x), fsc_tensor_free(&y);
}

static void test_unary_rounding(void **state)
{
    (void)state;
    fsc_ctx c = ctx2();
    fsc_arith a = *fsc_arith_preset("fp16");
    int64_t d[1] = {4};
    double xv[4] = {0.0, 1.0, -3.0, 0.3330078125};
    fsc_tensor x = kt_vals(FSC_DT_F32, 1, d, xv), y = kt_new(FSC_DT_F32, 1, d);
    fsc_attrs at;
    memset(&at, 0, sizeof at);
    assert_int_equal(fsc_k_unary(FSC_OP_SIGMOID, &at, &x, &a, &c, &y, NULL), FSC_OK);
    /* sigmoid(0) = 1/2 exactly; sigmoid(1) = 0.7310585786 -> fp16 0.73095703125 (1497/2048) */
    assert_true(fsc_tensor_get(&y, 0) == 0.5);
    assert_true(fsc_tensor_get(&y, 1) == 1497.0 / 2048.0);
    for (int i = 0; i < 4; i++) assert_true(fsc_tensor_get(&y, i) == fsc_rne(1 / (1 + exp(-xv[i])), FSC_FMT_FP16));
    /* transcendental = STORAGE: each step rounded: 1 + exp(-x) to fp16 first */
    a.transcendental = FSC_TRANS_STORAGE;
    assert_int_equal(fsc_k_unary(FSC_OP_SIGMOID, &at, &x, &a, &c, &y, NULL), FSC_OK);
    for (int i = 0; i < 4; i++) {
        double ex = fsc_rne(exp(fsc_rne(-xv[i], FSC_FMT_FP16)), FSC_FMT_FP16);
        double want = fsc_rne(1 / fsc_rne(1 + ex, FSC_FMT_FP16), FSC_FMT_FP16);
        assert_true(fsc_tensor_get(&y, i) == want);
    }
    /* sigmoid(-3): exp(3) = 20.0855 -> fp16 20.078125 (spacing 1/64: 1285/64); 1 + that = 21.078125
     * (exact); 1/21.078125 = 0.0474426... -> fp16 (spacing 2^-15) 1555/32768 */
    assert_true(fsc_tensor_get(&y, 2) == 1555.0 / 32768.0);
    fsc_tensor_free(&x), fsc_tensor_free(&y);
}

static void test_binary_broadcast(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp64");
    fsc_ctx c = ctx2();
    fsc_rng r;
    fsc_rng_seed(&r, 32);
    int64_t xd[3] = {2, 3, 4}, zd[2] = {3, 1}, z2d[1] = {4};
    fsc_tensor x = F64(3, xd), z = F64(2, zd), z2 = F64(1, z2d), y = F64(3, xd);
    kt_fill(&x, &r, 1, FSC_FMT_FP64), kt_fill(&z, &r, 1, FSC_FMT_FP64), kt_fill(&z2, &r, 1, FSC_FMT_FP64);
    fsc_op ops[5] = {FSC_OP_ADD, FSC_OP_SUB, FSC_OP_MUL, FSC_OP_DIV, FSC_OP_POW};
    double e[24];
    for (int o = 0; o < 5; o++) {
        for (int which = 0; which < 2; which++) {
            const fsc_tensor *zz = which ? &z2 : &z;
            fsc_tensor xa = x;
            if (ops[o] == FSC_OP_POW) /* positive base */
                for (int i = 0; i < 24; i++) ((double *)xa.data)[i] = fabs(((double *)x.data)[i]) + 0.5;
            assert_int_equal(fsc_k_binary(ops[o], &xa, zz, a, &c, &y, NULL), FSC_OK);
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 4; k++) {
                        double u = fsc_tensor_get(&xa, (i * 3 + j) * 4 + k), v = fsc_tensor_get(zz, which ? k : j);
                        double t = ops[o] == FSC_OP_ADD ? u + v : ops[o] == FSC_OP_SUB ? u - v : ops[o] == FSC_OP_MUL ? u * v
                                 : ops[o] == FSC_OP_DIV ? u / v : pow(u, v);
                        e[(i * 3 + j) * 4 + k] = t;
                    }
            kt_assert_close(&y, e, 0, "binary");
        }
    }
    /* hand, fp16 storage: 2049 is not an fp16 value; 2048 + 1 rounds to 2048 (tie, even);
     * 0.1 * 300 in fp16: 0.0999755859375 * 300 = 29.99267578125 -> 30.0 (spacing 1/64) */
    const fsc_arith *h = fsc_arith_preset("fp16");
    int64_t one[1] = {1};
    double v2048 = 2048, v1 = 1, v01 = fsc_rne(0.1, FSC_FMT_FP16), v300 = 300;
    fsc_tensor A = kt_vals(FSC_DT_F32, 1, one, &v2048), B = kt_vals(FSC_DT_F32, 1, one, &v1), Y = kt_new(FSC_DT_F32, 1, one);
    assert_int_equal(fsc_k_binary(FSC_OP_ADD, &A, &B, h, &c, &Y, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&Y, 0) == 2048.0);
    fsc_tensor P = kt_vals(FSC_DT_F32, 1, one, &v01), Q = kt_vals(FSC_DT_F32, 0, one, &v300);
    assert_int_equal(fsc_k_binary(FSC_OP_MUL, &P, &Q, h, &c, &Y, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&Y, 0) == 30.0);
    /* integer tensors (shape arithmetic): exact int64 math, division truncating toward zero */
    int64_t id2[1] = {4};
    double iv[4] = {7, -7, 9007199254740993.0, 12}, jv[1] = {2};
    fsc_tensor I = kt_vals(FSC_DT_I64, 1, id2, iv), J = kt_vals(FSC_DT_I64, 0, id2, jv), IY = kt_new(FSC_DT_I64, 1, id2);
    ((int64_t *)I.data)[2] = INT64_C(9007199254740993); /* 2^53 + 1: not a double */
    assert_int_equal(fsc_k_binary(FSC_OP_DIV, &I, &J, h, &c, &IY, NULL), FSC_OK);
    assert_true(((int64_t *)IY.data)[0] == 3 && ((int64_t *)IY.data)[1] == -3 && ((int64_t *)IY.data)[3] == 6);
    assert_true(((int64_t *)IY.data)[2] == INT64_C(4503599627370496));
    assert_int_equal(fsc_k_binary(FSC_OP_ADD, &I, &J, h, &c, &IY, NULL), FSC_OK);
    assert_true(((int64_t *)IY.data)[2] == INT64_C(9007199254740995));
    fsc_tensor_free(&I), fsc_tensor_free(&J), fsc_tensor_free(&IY);
    fsc_tensor_free(&x), fsc_tensor_free(&z), fsc_tensor_free(&z2), fsc_tensor_free(&y);
    fsc_tensor_free(&A), fsc_tensor_free(&B), fsc_tensor_free(&Y), fsc_tensor_free(&P), fsc_tensor_free(&Q);
}

/* fp64 Mul is the double product (the kernel's shortcut): equal to the
 * MPFR product correctly rounded to binary64, with subnormal and overflowing
 * products among random ones. */
static void test_binary_mul_fp64_mpfr(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp64");
    fsc_ctx c = ctx2();
    int64_t d[1] = {3000};
    fsc_tensor x = F64(1, d), z = F64(1, d), y = F64(1, d);
    uint64_t s = 5150;
    for (int i = 0; i < 3000; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double m1 = 1.0 + (double)(s >> 11) / 9007199254740992.0;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double m2 = 1.0 + (double)(s >> 11) / 9007199254740992.0;
        int e1 = (int)((s >> 40) % 1100) - 1100, e2 = (int)((s >> 20) % 1100); /* products from 2^-1100 to 2^1100 */
        if (i % 3 == 0) e1 = -e2 + (int)((s >> 5) % 7) - 3;                  /* and near 1 */
        ((double *)x.data)[i] = ldexp(m1, e1) * ((s & 1) ? -1 : 1);
        ((double *)z.data)[i] = ldexp(m2, e2);
    }
    assert_int_equal(fsc_k_binary(FSC_OP_MUL, &x, &z, a, &c, &y, NULL), FSC_OK);
    mpfr_exp_t omin = mpfr_get_emin(), omax = mpfr_get_emax();
    mpfr_set_emin(-1073), mpfr_set_emax(1024);
    mpfr_t m;
    mpfr_init2(m, 53);
    for (int i = 0; i < 3000; i++) {
        double u = ((double *)x.data)[i], v = ((double *)z.data)[i];
        mpfr_set_d(m, u, MPFR_RNDN);
        int t = mpfr_mul_d(m, m, v, MPFR_RNDN);
        t = mpfr_check_range(m, t, MPFR_RNDN);
        mpfr_subnormalize(m, t, MPFR_RNDN);
        double want = mpfr_get_d(m, MPFR_RNDN), got = ((double *)y.data)[i];
        if (memcmp(&want, &got, sizeof got) != 0) fail_msg("%a * %a: %a, want %a", u, v, got, want);
    }
    mpfr_clear(m);
    mpfr_set_emin(omin), mpfr_set_emax(omax);
    fsc_tensor_free(&x), fsc_tensor_free(&z), fsc_tensor_free(&y);
}

static void test_reductions_fp64(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp64");
    fsc_ctx c = ctx2();
    fsc_rng r;
    fsc_rng_seed(&r, 33);
    int64_t d[4] = {2, 3, 4, 5}, md[4] = {2, 1, 4, 1}, gd[4] = {2, 3, 1, 1};
    fsc_tensor x = F64(4, d), ym = F64(4, md), yg = F64(4, gd), ys = F64(4, d);
    kt_fill(&x, &r, 1, FSC_FMT_FP64);
    fsc_attr_axes ax = {2, {1, -1}, true};
    assert_int_equal(fsc_k_reduce_mean(&ax, &x, a, &c, &ym, NULL), FSC_OK);
    double e[120];
    for (int n = 0; n < 2; n++)
        for (int h = 0; h < 4; h++) {
            double s = 0;
            for (int ch = 0; ch < 3; ch++)
                for (int w = 0; w < 5; w++) s += fsc_tensor_get(&x, ((n * 3 + ch) * 4 + h) * 5 + w);
            e[n * 4 + h] = s / 15;
        }
    kt_assert_close(&ym, e, 1e-14, "reduce_mean");
    assert_int_equal(fsc_k_global_avgpool(&x, a, &c, &yg, NULL), FSC_OK);
    for (int nc = 0; nc < 6; nc++) {
        double s = 0;
        for (int i = 0; i < 20; i++) s += fsc_tensor_get(&x, nc * 20 + i);
        e[nc] = s / 20;
    }
    kt_assert_close(&yg, e, 1e-14, "global avgpool");
    fsc_attr_axis sa = {1};
    assert_int_equal(fsc_k_softmax(&sa, &x, a, &c, &ys, NULL), FSC_OK);
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 20; i++) {
            double s = 0;
            for (int ch = 0; ch < 3; ch++) s += exp(fsc_tensor_get(&x, (n * 3 + ch) * 20 + i));
            for (int ch = 0; ch < 3; ch++) e[(n * 3 + ch) * 20 + i] = exp(fsc_tensor_get(&x, (n * 3 + ch) * 20 + i)) / s;
        }
    kt_assert_close(&ys, e, 1e-14, "softmax");
    /* layernorm over the last two axes, scale/bias of 20 */
    int64_t pd[1] = {20};
    fsc_tensor g = F64(1, pd), b = F64(1, pd);
    kt_fill(&g, &r, 1, FSC_FMT_FP64), kt_fill(&b, &r, 1, FSC_FMT_FP64);
    fsc_attr_norm ln = {2, 1e-5};
    assert_int_equal(fsc_k_layernorm(&ln, &x, &g, &b, a, &c, &ys, NULL), FSC_OK);
    for (int o = 0; o < 6; o++) {
        double m = 0, v = 0;
        for (int i = 0; i < 20; i++) m += fsc_tensor_get(&x, o * 20 + i);
        m /= 20;
        for (int i = 0; i < 20; i++) v += pow(fsc_tensor_get(&x, o * 20 + i) - m, 2);
        v /= 20;
        for (int i = 0; i < 20; i++)
            e[o * 20 + i] = (fsc_tensor_get(&x, o * 20 + i) - m) / sqrt(v + 1e-5) * fsc_tensor_get(&g, i) + fsc_tensor_get(&b, i);
    }
    kt_assert_close(&ys, e, 1e-12, "layernorm");
    /* batchnorm over channels (3) */
    int64_t cd[1] = {3};
    fsc_tensor sc = F64(1, cd), bi = F64(1, cd), mu = F64(1, cd), var = F64(1, cd);
    kt_fill(&sc, &r, 1, FSC_FMT_FP64), kt_fill(&bi, &r, 1, FSC_FMT_FP64), kt_fill(&mu, &r, 1, FSC_FMT_FP64);
    for (int i = 0; i < 3; i++) fsc_tensor_set(&var, i, 0.5 + i);
    fsc_attr_norm bn = {1, 1e-3};
    assert_int_equal(fsc_k_batchnorm(&bn, &x, &sc, &bi, &mu, &var, a, &c, &ys, NULL), FSC_OK);
    for (int i = 0; i < 120; i++) {
        int ch = (i / 20) % 3;
        e[i] = (fsc_tensor_get(&x, i) - fsc_tensor_get(&mu, ch)) / sqrt(fsc_tensor_get(&var, ch) + 1e-3) * fsc_tensor_get(&sc, ch) +
               fsc_tensor_get(&bi, ch);
    }
    kt_assert_close(&ys, e, 1e-13, "batchnorm");
    fsc_tensor_free(&x), fsc_tensor_free(&ym), fsc_tensor_free(&yg), fsc_tensor_free(&ys), fsc_tensor_free(&g), fsc_tensor_free(&b);
    fsc_tensor_free(&sc), fsc_tensor_free(&bi), fsc_tensor_free(&mu), fsc_tensor_free(&var);
}

/* Hand: the mean of [2048, 1, 1, 1] is 512 with an fp16 reduction (each +1 lost at spacing 2),
 * 512.75 with fp32 sums, and 512.75 in fp16 storage is a tie between 512.5 and 513 -> 513. */
static void test_reduction_formats_hand(void **state)
{
    (void)state;
    fsc_ctx c = ctx2();
    int64_t d[4] = {1, 1, 2, 2}, od[4] = {1, 1, 1, 1};
    double xv[4] = {2048, 1, 1, 1};
    fsc_tensor x = kt_vals(FSC_DT_F32, 4, d, xv), y = kt_new(FSC_DT_F32, 4, od);
    /* an fp16 reduction (fp16-acc16 reduces in fp32 since a running fp16 sum overflows large maps) */
    fsc_arith r16 = *fsc_arith_preset("fp16-acc16");
    r16.reduce = FSC_FMT_FP16;
    assert_int_equal(fsc_k_global_avgpool(&x, &r16, &c, &y, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&y, 0) == 512.0);
    assert_int_equal(fsc_k_global_avgpool(&x, fsc_arith_preset("fp16"), &c, &y, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&y, 0) == 513.0);
    assert_int_equal(fsc_k_global_avgpool(&x, fsc_arith_preset("fp32"), &c, &y, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&y, 0) == 512.75);
    /* pairwise fp16 reduction: (2048 + 1) + (1 + 1) = 2048 + 2 = 2050, / 4 = 512.5 */
    fsc_arith p = r16;
    p.reduce_order = FSC_ORDER_PAIRWISE;
    assert_int_equal(fsc_k_global_avgpool(&x, &p, &c, &y, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&y, 0) == 512.5);
    /* softmax([0, ln 3]) = [1/4, 3/4] */
    int64_t sd[1] = {2};
    double sv[2] = {0.0, log(3.0)};
    fsc_tensor s = kt_vals(FSC_DT_F64, 1, sd, sv), so = kt_new(FSC_DT_F64, 1, sd);
    fsc_attr_axis ax = {-1};
    assert_int_equal(fsc_k_softmax(&ax, &s, fsc_arith_preset("fp64"), &c, &so, NULL), FSC_OK);
    double e[2] = {0.25, 0.75};
    kt_assert_close(&so, e, 1e-15, "softmax hand");
    fsc_tensor_free(&x), fsc_tensor_free(&y), fsc_tensor_free(&s), fsc_tensor_free(&so);
}

static void test_pool_hand(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp64");
    fsc_ctx c = ctx2();
    double xv[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t d[4] = {1, 1, 3, 3}, od[4] = {1, 1, 2, 2};
    fsc_tensor x = kt_vals(FSC_DT_F64, 4, d, xv), y = kt_new(FSC_DT_F64, 4, od);
    /* k2 s2 ceil_mode: windows {1,2,4,5}, {3,6}, {7,8}, {9} */
    fsc_attr_pool p = {{2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, false, true};
    assert_int_equal(fsc_k_pool(FSC_OP_MAXPOOL, &p, &x, a, &c, &y, NULL), FSC_OK);
    double e1[4] = {5, 6, 8, 9};
    kt_assert_close(&y, e1, 0, "maxpool");
    assert_int_equal(fsc_k_pool(FSC_OP_AVGPOOL, &p, &x, a, &c, &y, NULL), FSC_OK);
    double e2[4] = {3, 4.5, 7.5, 9};
    kt_assert_close(&y, e2, 0, "avgpool ceil");
    p.count_include_pad = true; /* no padding: the clipped window is the same (PyTorch) */
    assert_int_equal(fsc_k_pool(FSC_OP_AVGPOOL, &p, &x, a, &c, &y, NULL), FSC_OK);
    kt_assert_close(&y, e2, 0, "avgpool ceil incl pad");
    /* k3 s2 pad 1: window (0,0) covers 1,2,4,5 of 9 taps */
    fsc_attr_pool q = {{3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, false, false};
    assert_int_equal(fsc_k_pool(FSC_OP_AVGPOOL, &q, &x, a, &c, &y, NULL), FSC_OK);
    double e3[4] = {3, 4, 6, 7}; /* {1,2,4,5}/4, {2,3,5,6}/4, {4,5,7,8}/4, {5,6,8,9}/4 */
    kt_assert_close(&y, e3, 0, "avgpool excl pad");
    q.count_include_pad = true;
    assert_int_equal(fsc_k_pool(FSC_OP_AVGPOOL, &q, &x, a, &c, &y, NULL), FSC_OK);
    double e4[4] = {12.0 / 9, 16.0 / 9, 24.0 / 9, 28.0 / 9};
    kt_assert_close(&y, e4, 1e-15, "avgpool incl pad");
    assert_int_equal(fsc_k_pool(FSC_OP_MAXPOOL, &q, &x, a, &c, &y, NULL), FSC_OK);
    double e5[4] = {5, 6, 8, 9};
    kt_assert_close(&y, e5, 0, "maxpool pad");
    fsc_tensor_free(&x), fsc_tensor_free(&y);
}

static void test_layout(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp64");
    double v[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[2] = {2, 3}, td[2] = {3, 2};
    fsc_tensor x = kt_vals(FSC_DT_F64, 2, d, v), y = F64(2, td);
    fsc_attr_transpose tp = {{1, 0}};
    assert_int_equal(fsc_k_transpose(&tp, &x, a, &y, NULL), FSC_OK);
    double e1[6] = {1, 4, 2, 5, 3, 6};
    kt_assert_close(&y, e1, 0, "transpose");
    assert_int_equal(fsc_k_copy(&x, a, &y, NULL), FSC_OK); /* reshape [2,3] -> [3,2] */
    kt_assert_close(&y, v, 0, "reshape");
    /* concat [2,3] and [2,1] on axis 1 */
    int64_t d1[2] = {2, 1}, cd[2] = {2, 4};
    double v1[2] = {-1, -2};
    fsc_tensor x1 = kt_vals(FSC_DT_F64, 2, d1, v1), yc = F64(2, cd);
    const fsc_tensor *xs[2] = {&x, &x1};
    fsc_attr_axis ax = {-1};
    assert_int_equal(fsc_k_concat(&ax, 2, xs, a, &yc, NULL), FSC_OK);
    double e2[8] = {1, 2, 3, -1, 4, 5, 6, -2};
    kt_assert_close(&yc, e2, 0, "concat");
    /* pad [2,3] by (row 1 before, col 1 after) with 9 */
    int64_t pd[2] = {3, 4};
    fsc_tensor yp = F64(2, pd);
    fsc_attr_pad pa;
    memset(&pa, 0, sizeof pa);
    pa.pads[0] = 1, pa.pads[3] = 1, pa.value = 9;
    assert_int_equal(fsc_k_pad(&pa, &x, a, &yp, NULL), FSC_OK);
    double e3[12] = {9, 9, 9, 9, 1, 2, 3, 9, 4, 5, 6, 9};
    kt_assert_close(&yp, e3, 0, "pad");
    /* slice columns 2, 0 (start 2, step -2) of row 1 */
    int64_t sd[2] = {1, 2};
    fsc_tensor ys = F64(2, sd);
    fsc_attr_slice sl = {{1, 2}, {1, -2}};
    assert_int_equal(fsc_k_slice(&sl, &x, a, &ys, NULL), FSC_OK);
    double e4[2] = {6, 4};
    kt_assert_close(&ys, e4, 0, "slice");
    /* gather rows [-1, 0] */
    int64_t id[1] = {2};
    double iv[2] = {-1, 0};
    fsc_tensor idx = kt_vals(FSC_DT_I64, 1, id, iv), yg = F64(2, d);
    fsc_attr_axis g0 = {0};
    assert_int_equal(fsc_k_gather(&g0, &x, &idx, a, &yg, NULL), FSC_OK);
    double e5[6] = {4, 5, 6, 1, 2, 3};
    kt_assert_close(&yg, e5, 0, "gather");
    fsc_error err = {0};
    fsc_tensor_set(&idx, 0, 2);
    assert_int_equal(fsc_k_gather(&g0, &x, &idx, a, &yg, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "out of range"));
    fsc_tensor_free(&x), fsc_tensor_free(&y), fsc_tensor_free(&x1), fsc_tensor_free(&yc), fsc_tensor_free(&yp);
    fsc_tensor_free(&ys), fsc_tensor_free(&idx), fsc_tensor_free(&yg);
}

static void test_cast(void **state)
{
    (void)state;
    const fsc_arith *a = fsc_arith_preset("fp32");
    int64_t d[1] = {6};
    double v[6] = {-200.7, -1.9, 2.9, 300, NAN, 1.0 + 0x1p-11};
    fsc_tensor x = kt_vals(FSC_DT_F32, 1, d, v), y8 = kt_new(FSC_DT_I8, 1, d), yu = kt_new(FSC_DT_U8, 1, d);
    fsc_tensor yh = kt_new(FSC_DT_F32, 1, d), yb = kt_new(FSC_DT_BOOL, 1, d);
    fsc_attr_cast c8 = {FSC_DT_I8}, cu = {FSC_DT_U8}, ch = {FSC_DT_F16}, cb = {FSC_DT_BOOL};
    assert_int_equal(fsc_k_cast(&c8, &x, a, &y8, NULL), FSC_OK);
    double e8[6] = {-128, -1, 2, 127, 0, 1};
    kt_assert_close(&y8, e8, 0, "cast int8");
    assert_int_equal(fsc_k_cast(&cu, &x, a, &yu, NULL), FSC_OK);
    double eu[6] = {0, 0, 2, 255, 0, 1};
    kt_assert_close(&yu, eu, 0, "cast uint8");
    assert_int_equal(fsc_k_cast(&ch, &x, a, &yh, NULL), FSC_OK); /* 1 + 2^-11 is a tie in fp16 -> 1 */
    assert_true(fsc_tensor_get(&yh, 5) == 1.0);
    assert_true(fsc_tensor_get(&yh, 0) == -200.75); /* fp16 spacing 0.125 at 128..256: -200.7 -> -200.75 */
    assert_int_equal(fsc_k_cast(&cb, &x, a, &yb, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&yb, 4) == 1.0 && fsc_tensor_get(&yb, 0) == 1.0);
    fsc_tensor_free(&x), fsc_tensor_free(&y8), fsc_tensor_free(&yu), fsc_tensor_free(&yh), fsc_tensor_free(&yb);
}

static void test_quant(void **state)
{
    (void)state;
    fsc_arith a = *fsc_arith_preset("fp64");
    int64_t d[1] = {7}, one[1] = {1};
    double v[7] = {0.1, -0.25, 1.0, 100, -100, 0.125, -0.375};
    double s = 0.05, sq = 0.25;
    fsc_tensor x = kt_vals(FSC_DT_F64, 1, d, v), sc = kt_vals(FSC_DT_F64, 1, one, &s), q = kt_new(FSC_DT_I8, 1, d);
    fsc_attr_quant at = {0, FSC_DT_I8};
    assert_int_equal(fsc_k_quantize(&at, &x, &sc, NULL, &a, NULL, &q, NULL), FSC_OK);
    /* 0.1/0.05 = 2, -5, 20, 2000 -> 127, -2000 -> -128, 2.5 -> 2 (even), -7.5 -> -8 (even) */
    double e1[7] = {2, -5, 20, 127, -128, 2, -8};
    kt_assert_close(&q, e1, 0, "quantize int8");
    a.quant_rounding = FSC_RND_NEAREST_AWAY;
    assert_int_equal(fsc_k_quantize(&at, &x, &sc, NULL, &a, NULL, &q, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&q, 5) == 3 && fsc_tensor_get(&q, 6) == -8);
    a.quant_rounding = FSC_RND_NEAREST_EVEN;
    /* uint8 with zero point 128, scale 0.25 */
    double zv = 128;
    fsc_tensor zp = kt_vals(FSC_DT_U8, 1, one, &zv), qu = kt_new(FSC_DT_U8, 1, d), s2 = kt_vals(FSC_DT_F64, 1, one, &sq);
    fsc_attr_quant au = {0, FSC_DT_U8};
    assert_int_equal(fsc_k_quantize(&au, &x, &s2, &zp, &a, NULL, &qu, NULL), FSC_OK);
    double e2[7] = {128, 127, 132, 255, 0, 128, 126}; /* 0.4 -> 0, -1, 4, 400, -400, 0.5 -> 0, -1.5 -> -2 */
    kt_assert_close(&qu, e2, 0, "quantize uint8");
    /* dequantize back: 0.25 * (q - 128) */
    fsc_tensor dq = kt_new(FSC_DT_F64, 1, d);
    assert_int_equal(fsc_k_dequantize(&au, &qu, &s2, &zp, &a, NULL, &dq, NULL), FSC_OK);
    double e3[7] = {0, -0.25, 1, 31.75, -32, 0, -0.5};
    kt_assert_close(&dq, e3, 0, "dequantize");
    /* per-axis: x [2,3], axis 1, scales [1, 0.5, 0.25] */
    int64_t pd[2] = {2, 3}, sd[1] = {3};
    double pv[6] = {1, 1, 1, -3, 2.5, 0.2}, sv[3] = {1, 0.5, 0.25};
    fsc_tensor px = kt_vals(FSC_DT_F64, 2, pd, pv), ps = kt_vals(FSC_DT_F64, 1, sd, sv), pq = kt_new(FSC_DT_I8, 2, pd);
    fsc_attr_quant ap = {1, FSC_DT_I8};
    assert_int_equal(fsc_k_quantize(&ap, &px, &ps, NULL, &a, NULL, &pq, NULL), FSC_OK);
    double e4[6] = {1, 2, 4, -3, 5, 1}; /* 0.2/0.25 = 0.8 -> 1 */
    kt_assert_close(&pq, e4, 0, "per-axis quantize");
    /* fp32 storage: 0.1f * -128 rounded once to fp32 */
    fsc_arith f = *fsc_arith_preset("fp32");
    double s01 = (double)0.1f, qv = -128;
    fsc_tensor s32 = kt_vals(FSC_DT_F32, 1, one, &s01), q1 = kt_vals(FSC_DT_I8, 1, one, &qv), o1 = kt_new(FSC_DT_F32, 1, one);
    assert_int_equal(fsc_k_dequantize(&at, &q1, &s32, NULL, &f, NULL, &o1, NULL), FSC_OK);
    assert_true(fsc_tensor_get(&o1, 0) == (double)(float)(-128.0 * s01));
    /* integer mode is refused */
    a.quant = FSC_QUANT_INTEGER;
    assert_int_equal(fsc_k_quantize(&at, &x, &sc, NULL, &a, NULL, &q, NULL), FSC_ERR_UNSUPPORTED);
    fsc_tensor_free(&x), fsc_tensor_free(&sc), fsc_tensor_free(&q), fsc_tensor_free(&zp), fsc_tensor_free(&qu);
    fsc_tensor_free(&s2), fsc_tensor_free(&dq), fsc_tensor_free(&px), fsc_tensor_free(&ps), fsc_tensor_free(&pq);
    fsc_tensor_free(&s32), fsc_tensor_free(&q1), fsc_tensor_free(&o1);
}

/* The dispatcher on a small graph: conv -> silu -> quantize, output allocation and refusals. */
static void test_dispatch(void **state)
{
    (void)state;
    fsc_error err = {0};
    fsc_graph *g = fsc_graph_new("t", &err);
    assert_non_null(g);
    int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3}, bd[1] = {3}, sd[1] = {1};
    fsc_shape xs = fsc_shape_make(4, xd);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, &err);
    fsc_rng r;
    fsc_rng_seed(&r, 41);
    fsc_tensor w = kt_new(FSC_DT_F32, 4, wd), b = kt_new(FSC_DT_F32, 1, bd);
    kt_fill(&w, &r, 0.3, FSC_FMT_FP16), kt_fill(&b, &r, 0.3, FSC_FMT_FP16);
    double sv = 0.02;
    fsc_tensor sc = kt_vals(FSC_DT_F32, 1, sd, &sv);
    int wv = fsc_graph_add_initializer(g, "w", FSC_DT_F32, &w, &err);
    int bv = fsc_graph_add_initializer(g, "b", FSC_DT_F32, &b, &err);
    int sv_id = fsc_graph_add_initializer(g, "s", FSC_DT_F32, &sc, &err);
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    int cin[3] = {x, wv, bv};
    s.op = FSC_OP_CONV2D, s.name = "conv", s.n_in = 3, s.in = cin, s.n_out = 1;
    s.attr.conv = (fsc_attr_conv){{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
    int n0 = fsc_graph_add_node(g, &s, &err);
    assert_true(n0 >= 0);
    int sin_[1] = {g->nodes[n0].out[0]};
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_SILU, s.name = "silu", s.n_in = 1, s.in = sin_, s.n_out = 1;
    int n1 = fsc_graph_add_node(g, &s, &err);
    assert_true(n1 >= 0);
    int qin[2] = {g->nodes[n1].out[0], sv_id};
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_QUANTIZE, s.name = "q", s.n_in = 2, s.in = qin, s.n_out = 1, s.out_dtype = FSC_DT_I8;
    s.attr.quant = (fsc_attr_quant){0, FSC_DT_I8};
    int n2 = fsc_graph_add_node(g, &s, &err);
    assert_true(n2 >= 0);

    const fsc_arith *a = fsc_arith_preset("fp16");
    fsc_ctx c = ctx2();
    fsc_tensor xt = kt_new(FSC_DT_F32, 4, xd);
    kt_fill(&xt, &r, 1.0, FSC_FMT_FP16);
    const fsc_tensor *in0[3] = {&xt, g->values[wv].constant, g->values[bv].constant};
    fsc_tensor y0, y1, y2;
    assert_true(fsc_kernel_supports(g, n0, a));
    assert_int_equal(fsc_kernel_run(g, n0, a, &c, in0, &y0, &err), FSC_OK);
    assert_int_equal(y0.dtype, FSC_DT_F32);
    assert_int_equal(y0.fmt, FSC_FMT_FP16);
    assert_int_equal(y0.shape.dim[1], 3);
    assert_int_equal(y0.shape.dim[2], 5);
    /* the conv output equals the op kernel called directly */
    fsc_tensor direct = kt_new(FSC_DT_F32, 4, y0.shape.dim);
    assert_int_equal(fsc_k_conv2d_ref(&g->nodes[n0].attr.conv, &xt, in0[1], in0[2], a, &c, &direct, NULL), FSC_OK);
    kt_assert_same_bits(&y0, &direct, "dispatch conv");
    const fsc_tensor *in1[1] = {&y0};
    assert_int_equal(fsc_kernel_run(g, n1, a, &c, in1, &y1, &err), FSC_OK);
    for (int64_t i = 0; i < fsc_tensor_numel(&y1); i++) {
        double v = fsc_tensor_get(&y0, i);
        assert_true(fsc_tensor_get(&y1, i) == fsc_rne(v / (1 + exp(-v)), FSC_FMT_FP16));
    }
    const fsc_tensor *in2[2] = {&y1, g->values[sv_id].constant};
    assert_int_equal(fsc_kernel_run(g, n2, a, &c, in2, &y2, &err), FSC_OK);
    assert_int_equal(y2.dtype, FSC_DT_I8);
    /* integer mode (quant_int.h): a quantize outside an int8 conv/linear runs as in fake mode */
    fsc_arith ia = *a;
    ia.quant = FSC_QUANT_INTEGER;
    assert_true(fsc_kernel_supports(g, n2, &ia));
    fsc_tensor yi;
    assert_int_equal(fsc_kernel_run(g, n2, &ia, &c, in2, &yi, &err), FSC_OK);
    assert_memory_equal(yi.data, y2.data, y2.nbytes);
    fsc_tensor_free(&yi);
    /* refusals: a missing input, a wrong container (block FMA is wired: test_blockfma_kernels) */
    fsc_tensor tmp;
    const fsc_tensor *missing[3] = {&xt, NULL, NULL};
    assert_int_equal(fsc_kernel_run(g, n0, a, &c, missing, &tmp, &err), FSC_ERR_INVALID);
    assert_int_equal(fsc_kernel_run(g, n0, fsc_arith_preset("fp64"), &c, in0, &tmp, &err), FSC_ERR_INTERNAL);
    assert_non_null(strstr(err.msg, "container"));
    fsc_tensor_free(&xt), fsc_tensor_free(&y0), fsc_tensor_free(&y1), fsc_tensor_free(&y2), fsc_tensor_free(&direct);
    fsc_graph_free(g);
}

/* Quantize of random data against MPFR: x / s rounded to the compute format
 * (fp32 or fp16: the presets' storage), then to an integer (nearest-even), + zp, clamped. */
static void test_quantize_matches_mpfr(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 53);
    const char *presets[2] = {"fp32", "fp16"};
    int64_t d[3] = {3, 4, 257}, sd[1] = {4}, one[1] = {1};
    mpfr_t mx, ms, mq;
    mpfr_inits2(53, mx, ms, (mpfr_ptr)0);
    for (int p = 0; p < 2; p++) {
        const fsc_arith *a = fsc_arith_preset(presets[p]);
        const mfmt_t *mf = p ? &(mfmt_t){11, -23, 16} : &(mfmt_t){24, -148, 128};
        fsc_tensor x = kt_new(FSC_DT_F32, 3, d), q = kt_new(FSC_DT_I8, 3, d), qu = kt_new(FSC_DT_U8, 3, d);
        kt_fill(&x, &r, 3.0, a->storage);
        double sv[4], zv = 3;
        for (int i = 0; i < 4; i++) sv[i] = fsc_rne(0.01 + fabs(fsc_rng_normal(&r)) * 0.05, a->storage);
        fsc_tensor s = kt_vals(FSC_DT_F32, 1, sd, sv), z = kt_vals(FSC_DT_U8, 1, one, &zv), s1 = kt_vals(FSC_DT_F32, 1, one, sv);
        fsc_tensor z4 = kt_vals(FSC_DT_I8, 1, sd, (double[4]){-2, 0, 1, 5});
        fsc_attr_quant ap = {1, FSC_DT_I8}, au = {0, FSC_DT_U8};
        fsc_ctx c = ctx2();
        assert_int_equal(fsc_k_quantize(&ap, &x, &s, &z4, a, &c, &q, NULL), FSC_OK);
        assert_int_equal(fsc_k_quantize(&au, &x, &s1, &z, a, &c, &qu, NULL), FSC_OK);
        mpfr_init2(mq, mf->prec);
        for (int64_t i = 0; i < fsc_tensor_numel(&x); i++) {
            for (int per_axis = 0; per_axis < 2; per_axis++) {
                int ch = per_axis ? (int)((i / 257) % 4) : 0;
                mpfr_set_d(mx, fsc_tensor_get(&x, i), MPFR_RNDN);
                mpfr_set_d(ms, sv[ch], MPFR_RNDN);
                mpfr_exp_t omin = mpfr_get_emin(), omax = mpfr_get_emax();
                mpfr_set_emin(mf->emin), mpfr_set_emax(mf->emax);
                int t = mpfr_div(mq, mx, ms, MPFR_RNDN);
                t = mpfr_check_range(mq, t, MPFR_RNDN);
                mpfr_subnormalize(mq, t, MPFR_RNDN);
                mpfr_set_emin(omin), mpfr_set_emax(omax);
                mpfr_rint(mq, mq, MPFR_RNDN); /* ties to even */
                double v = mpfr_get_d(mq, MPFR_RNDN) + (per_axis ? fsc_tensor_get(&z4, ch) : zv);
                double lo = per_axis ? -128 : 0, hi = per_axis ? 127 : 255;
                v = v < lo ? lo : (v > hi ? hi : v);
                double got = fsc_tensor_get(per_axis ? &q : &qu, i);
                if (got != v) fail_msg("%s element %lld per_axis %d: %g vs MPFR %g", presets[p], (long long)i, per_axis, got, v);
            }
        }
        mpfr_clear(mq);
        fsc_tensor_free(&x), fsc_tensor_free(&q), fsc_tensor_free(&qu), fsc_tensor_free(&s), fsc_tensor_free(&z);
        fsc_tensor_free(&s1), fsc_tensor_free(&z4);
    }
    mpfr_clears(mx, ms, (mpfr_ptr)0);
}

/* The AVX-512 quantize/dequantize loops are bit-identical to the scalar ones (FSC_KERNEL_ISA=1),
 * per tensor (blocks crossing the 65536-element split) and per axis, int8 and uint8. */
static void test_quant_simd_bit_identical(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 54);
    const char *presets[4] = {"fp32", "fp16", "bf16", "fp64"};
    int64_t d[2] = {7, 10001}, sd[1] = {7}, one[1] = {1};
    double special[8] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e30, -1e30, 0.5};
    for (int p = 0; p < 4; p++) {
        const fsc_arith *a = fsc_arith_preset(presets[p]);
        fsc_dtype dt = kt_container(a);
        fsc_tensor x = kt_new(dt, 2, d);
        kt_fill(&x, &r, 2.0, a->storage);
        for (int i = 0; i < 8; i++) fsc_tensor_set(&x, i * 977, fsc_rne(special[i], a->storage));
        double sv[7], zv[7], s1 = fsc_rne(0.0173, a->storage), z1 = 7;
        for (int i = 0; i < 7; i++) sv[i] = fsc_rne(0.01 + 0.02 * i, a->storage), zv[i] = (double)(i * 17 % 40);
        fsc_tensor sa = kt_vals(dt, 1, sd, sv), za = kt_vals(FSC_DT_U8, 1, sd, zv), st = kt_vals(dt, 1, one, &s1);
        fsc_tensor zt = kt_vals(FSC_DT_I8, 1, one, &z1);
        for (int mode = 0; mode < 2; mode++) {
            bool per_axis = mode == 1;
            fsc_attr_quant at = {0, per_axis ? FSC_DT_U8 : FSC_DT_I8};
            const fsc_tensor *sc = per_axis ? &sa : &st, *zp = per_axis ? &za : &zt;
            fsc_tensor q1 = kt_new(at.out_dtype, 2, d), q2 = kt_new(at.out_dtype, 2, d);
            fsc_tensor y1 = kt_new(dt, 2, d), y2 = kt_new(dt, 2, d);
            fsc_ctx c = ctx2();
            setenv("FSC_KERNEL_ISA", "1", 1);
            assert_int_equal(fsc_k_quantize(&at, &x, sc, zp, a, &c, &q1, NULL), FSC_OK);
            assert_int_equal(fsc_k_dequantize(&at, &q1, sc, zp, a, &c, &y1, NULL), FSC_OK);
            unsetenv("FSC_KERNEL_ISA");
            assert_int_equal(fsc_k_quantize(&at, &x, sc, zp, a, &c, &q2, NULL), FSC_OK);
            assert_int_equal(fsc_k_dequantize(&at, &q1, sc, zp, a, &c, &y2, NULL), FSC_OK);
            kt_assert_same_bits(&q2, &q1, "quantize");
            kt_assert_same_bits(&y2, &y1, "dequantize");
            /* NaN quantizes to the zero point, +-Inf and 1e30 saturate */
            int64_t at0 = 0, at1 = 977, at5 = 5 * 977;
            double z0 = per_axis ? zv[0] : z1, zmax = per_axis ? 255 : 127;
            assert_true(fsc_tensor_get(&q2, at0) == z0);
            assert_true(fsc_tensor_get(&q2, at1) == zmax && fsc_tensor_get(&q2, at5) == zmax);
            fsc_tensor_free(&q1), fsc_tensor_free(&q2), fsc_tensor_free(&y1), fsc_tensor_free(&y2);
        }
        fsc_tensor_free(&x), fsc_tensor_free(&sa), fsc_tensor_free(&za), fsc_tensor_free(&st), fsc_tensor_free(&zt);
    }
}

/* fsc_kexp (sigmoid, silu) within 2 ulp of MPFR's correctly rounded exp. */
static void test_kexp_accuracy(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 51);
    mpfr_t m;
    mpfr_init2(m, 53);
    int n = kt_quick() ? 20000 : 300000;
    for (int i = 0; i < n; i++) {
        double x = i % 2 ? (fsc_rng_uniform(&r) * 1417.0 - 708.0) : 4.0 * fsc_rng_normal(&r);
        mpfr_set_d(m, x, MPFR_RNDN);
        mpfr_exp(m, m, MPFR_RNDN);
        double want = mpfr_get_d(m, MPFR_RNDN), got = fsc_kexp(x);
        int64_t gi, wi;
        memcpy(&gi, &got, 8);
        memcpy(&wi, &want, 8);
        if (llabs(gi - wi) > 2) fail_msg("kexp(%a) = %a, MPFR %a", x, got, want);
    }
    mpfr_clear(m);
    assert_true(fsc_kexp(1000.0) == INFINITY && fsc_kexp(-1000.0) == 0.0 && isnan(fsc_kexp(NAN)) && fsc_kexp(0.0) == 1.0);
}

/* The AVX-512 sigmoid/silu path is bit-identical to the scalar reference (FSC_KERNEL_ISA=1). */
static void test_sigmoid_simd_bit_identical(void **state)
{
    (void)state;
    fsc_rng r;
    fsc_rng_seed(&r, 52);
    int64_t d[1] = {5003};
    const char *presets[4] = {"fp32", "fp16", "bf16", "fp64"};
    double special[12] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 800, -800, 709.5, -709.5, 88.7, -103.9, 1e-40};
    for (int p = 0; p < 4; p++) {
        const fsc_arith *a = fsc_arith_preset(presets[p]);
        fsc_dtype dt = kt_container(a);
        fsc_tensor x = kt_new(dt, 1, d), y = kt_new(dt, 1, d), ref = kt_new(dt, 1, d);
        kt_fill(&x, &r, 6.0, a->storage);
        for (int i = 0; i < 12; i++) fsc_tensor_set(&x, i, fsc_rne(special[i], a->storage));
        for (int i = 12; i < 400; i++) fsc_tensor_set(&x, i, fsc_rne(ldexp(fsc_rng_normal(&r), (int)kt_randint(&r, -30, 10)), a->storage));
        for (int op = 0; op < 2; op++) {
            fsc_op o = op ? FSC_OP_SILU : FSC_OP_SIGMOID;
            fsc_attrs at;
            memset(&at, 0, sizeof at);
            fsc_ctx c = ctx2();
            setenv("FSC_KERNEL_ISA", "1", 1);
            assert_int_equal(fsc_k_unary(o, &at, &x, a, &c, &ref, NULL), FSC_OK);
            unsetenv("FSC_KERNEL_ISA");
            c.threads = 1 + op;
            assert_int_equal(fsc_k_unary(o, &at, &x, a, &c, &y, NULL), FSC_OK);
            kt_assert_same_bits(&y, &ref, presets[p]);
            /* and close to libm: the exp differs by at most ~2 ulp of a double */
            for (int64_t i = 12; i < 5003; i++) {
                double v = fsc_tensor_get(&x, i), lib = 1.0 / (1.0 + exp(-v));
                if (op) lib *= v;
                double got = fsc_tensor_get(&y, i), want = fsc_rne(lib, a->storage);
                if (p == 3) {
                    int64_t gi, wi;
                    memcpy(&gi, &got, 8);
                    memcpy(&wi, &want, 8);
                    assert_true(llabs(gi - wi) <= 8);
                } else {
                    assert_true(fsc_ulp_distance(got, want, a->storage) <= 1);
                }
            }
        }
        fsc_tensor_free(&x), fsc_tensor_free(&y), fsc_tensor_free(&ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_fp64),      cmocka_unit_test(test_unary_rounding),
        cmocka_unit_test(test_binary_broadcast), cmocka_unit_test(test_binary_mul_fp64_mpfr),
        cmocka_unit_test(test_reductions_fp64),
        cmocka_unit_test(test_reduction_formats_hand), cmocka_unit_test(test_pool_hand),
        cmocka_unit_test(test_layout),          cmocka_unit_test(test_cast),
        cmocka_unit_test(test_quant),           cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_kexp_accuracy),   cmocka_unit_test(test_sigmoid_simd_bit_identical),
        cmocka_unit_test(test_quantize_matches_mpfr), cmocka_unit_test(test_quant_simd_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
