/* elementwise.c: unary and broadcasting binary ops. Each output is computed
 * in double from the (already rounded) inputs and rounded once to
 * a->storage; with transcendental = STORAGE every intermediate step of a
 * composite function is rounded to storage as well:
 *   sigmoid = 1 / (1 + exp(-x)), silu = x * sigmoid(x) (exp: fsc_kexp, so
 *   the AVX-512 path below is bit-identical to the scalar one),
 *   gelu = 0.5 * x * (1 + erf(x / sqrt 2)) or, tanh form,
 *   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
#include <math.h>
#include <stdlib.h>

#include <immintrin.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma,f16c")))

/* fsc_kexp on 8 lanes: the same operations in the same order. */
AVX512 static __m512d kexp8(__m512d x)
{
    __m512d xc = _mm512_min_pd(_mm512_max_pd(x, _mm512_set1_pd(FSC_KEXP_LO)), _mm512_set1_pd(FSC_KEXP_HI));
    __m512d t = _mm512_add_pd(_mm512_mul_pd(xc, _mm512_set1_pd(FSC_KEXP_LOG2E)), _mm512_set1_pd(FSC_KEXP_MAGIC));
    __m512d n = _mm512_sub_pd(t, _mm512_set1_pd(FSC_KEXP_MAGIC));
    __m512d r = _mm512_fmadd_pd(_mm512_sub_pd(_mm512_setzero_pd(), n), _mm512_set1_pd(FSC_KEXP_LN2HI), xc);
    r = _mm512_fmadd_pd(_mm512_sub_pd(_mm512_setzero_pd(), n), _mm512_set1_pd(FSC_KEXP_LN2LO), r);
    __m512d p = _mm512_set1_pd(fsc_kexp_c[13]);
    for (int i = 12; i >= 0; i--) p = _mm512_fmadd_pd(p, r, _mm512_set1_pd(fsc_kexp_c[i]));
    __m512i sb = _mm512_slli_epi64(
        _mm512_add_epi64(_mm512_sub_epi64(_mm512_castpd_si512(t), _mm512_set1_epi64(INT64_C(0x4338000000000000))),
                         _mm512_set1_epi64(1022)),
        52);
    __m512d res = _mm512_mul_pd(_mm512_mul_pd(p, _mm512_castsi512_pd(sb)), _mm512_set1_pd(2.0));
    res = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, _mm512_set1_pd(FSC_KEXP_HI), _CMP_GT_OQ), res, _mm512_set1_pd(INFINITY));
    res = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, _mm512_set1_pd(FSC_KEXP_LO), _CMP_LT_OQ), res, _mm512_setzero_pd());
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q), res, x);
}

/* 8 doubles correctly rounded to storage (fp32, fp16 or bf16) as floats: the
 * truncated float with its last bit set when inexact is the round-to-odd
 * value, whose nearest-even rounding to fp16/bf16 is the correct rounding. */
AVX512 static __m256 round8(__m512d v, fsc_format_id st)
{
    if (st == FSC_FMT_FP32) return _mm512_cvtpd_ps(v);
    __m256 f = _mm512_cvt_roundpd_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask8 inexact = _mm512_cmp_pd_mask(_mm512_cvtps_pd(f), v, _CMP_NEQ_UQ);
    __m256i fi = _mm256_mask_or_epi32(_mm256_castps_si256(f), inexact, _mm256_castps_si256(f), _mm256_set1_epi32(1));
    if (st == FSC_FMT_FP16)
        return _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_castsi256_ps(fi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(fi, 16), _mm256_set1_epi32(1));
    fi = _mm256_add_epi32(fi, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
    return _mm256_castsi256_ps(_mm256_and_si256(fi, _mm256_set1_epi32((int)0xffff0000u)));
}

/* sigmoid or silu (transcendental = EXACT) of n floats into fp32/fp16/bf16 storage. */
AVX512 static void sigmoid_avx512(const float *x, float *y, int64_t n, bool silu, fsc_format_id st)
{
    for (int64_t q = 0; q < n; q += 8) {
        __mmask8 m = n - q >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - q)) - 1u);
        __m512d d = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + q));
        __m512d e = kexp8(_mm512_sub_pd(_mm512_setzero_pd(), d));
        __m512d sg = _mm512_div_pd(_mm512_set1_pd(1.0), _mm512_add_pd(_mm512_set1_pd(1.0), e));
        _mm256_mask_storeu_ps(y + q, m, round8(silu ? _mm512_mul_pd(d, sg) : sg, st));
    }
}

/* The same for an F64 container with fp64 storage. */
AVX512 static void sigmoid_avx512_f64(const double *x, double *y, int64_t n, bool silu)
{
    for (int64_t q = 0; q < n; q += 8) {
        __mmask8 m = n - q >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - q)) - 1u);
        __m512d d = _mm512_maskz_loadu_pd(m, x + q);
        __m512d e = kexp8(_mm512_sub_pd(_mm512_setzero_pd(), d));
        __m512d sg = _mm512_div_pd(_mm512_set1_pd(1.0), _mm512_add_pd(_mm512_set1_pd(1.0), e));
        _mm512_mask_storeu_pd(y + q, m, silu ? _mm512_mul_pd(d, sg) : sg);
    }
}

static bool have_avx512_vl_dq(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && fsc_cpu_has_f16c();
}

static inline double ts(double v, bool storage_steps, fsc_format_id f)
{
    return storage_steps ? fsc_kround(v, f) : v;
}

static inline __attribute__((always_inline)) double sigmoid_of(double x, bool st, fsc_format_id f)
{
    return 1.0 / ts(1.0 + ts(fsc_kexp(ts(-x, st, f)), st, f), st, f);
}

/* The value of unary op at x, before the final rounding to storage. */
static inline __attribute__((always_inline)) double unary_value(fsc_op op, const fsc_attrs *at, double x, bool st,
                                                               fsc_format_id f)
{
    switch (op) {
    case FSC_OP_RELU: return x > 0.0 ? x : (isnan(x) ? x : 0.0);
    case FSC_OP_CLIP: return isnan(x) ? x : (x < at->clip.lo ? at->clip.lo : (x > at->clip.hi ? at->clip.hi : x));
    case FSC_OP_SIGMOID: return sigmoid_of(x, st, f);
    case FSC_OP_SILU: return x * ts(sigmoid_of(x, st, f), st, f);
    case FSC_OP_TANH: return tanh(x);
    case FSC_OP_ERF: return erf(x);
    case FSC_OP_SQRT: return sqrt(x);
    case FSC_OP_GELU:
        if (at->gelu.tanh_approx) {
            double x3 = ts(ts(x * x, st, f) * x, st, f);
            double inner = ts(0.7978845608028654 * ts(x + ts(0.044715 * x3, st, f), st, f), st, f);
            return ts(0.5 * x, st, f) * ts(1.0 + ts(tanh(inner), st, f), st, f);
        }
        return ts(0.5 * x, st, f) * ts(1.0 + ts(erf(ts(x * 0.7071067811865476, st, f)), st, f), st, f);
    default: return NAN;
    }
}

/* y[i] for i in [q0, q0 + len): the scalar reference. */
static inline __attribute__((always_inline)) void unary_loop_body(fsc_op op, const fsc_attrs *at, const fsc_tensor *x, fsc_tensor *y, int64_t q0,
                                   int64_t len, bool st, fsc_format_id f)
{
    for (int64_t i = q0; i < q0 + len; i++) fsc_kset(y, i, fsc_kround(unary_value(op, at, fsc_kget(x, i), st, f), f));
}

static void unary_loop(fsc_op op, const fsc_attrs *at, const fsc_tensor *x, fsc_tensor *y, int64_t q0, int64_t len,
                       bool st, fsc_format_id f)
{
    unary_loop_body(op, at, x, y, q0, len, st, f);
}

/* The same code where fma() is one instruction (fma is correctly rounded
 * either way, so the results are identical). */
__attribute__((target("fma"))) static void unary_loop_fma(fsc_op op, const fsc_attrs *at, const fsc_tensor *x,
                                                          fsc_tensor *y, int64_t q0, int64_t len, bool st,
                                                          fsc_format_id f)
{
    unary_loop_body(op, at, x, y, q0, len, st, f);
}

fsc_status fsc_k_unary(fsc_op op, const fsc_attrs *at, const fsc_tensor *x, const fsc_arith *a,
                       const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    if (op != FSC_OP_RELU && op != FSC_OP_CLIP && op != FSC_OP_SIGMOID && op != FSC_OP_SILU &&
        op != FSC_OP_TANH && op != FSC_OP_ERF && op != FSC_OP_SQRT && op != FSC_OP_GELU)
        return fsc_fail(err, FSC_ERR_INTERNAL, "op %d is not a unary elementwise op", (int)op);
    int64_t n = fsc_tensor_numel(x);
    bool st = a->transcendental == FSC_TRANS_STORAGE;
    fsc_format_id f = a->storage;
    int nt = fsc_kthreads(ctx);
    const char *isa = getenv("FSC_KERNEL_ISA"); /* tests pin the scalar path with 0 or 1 */
    bool sig = (op == FSC_OP_SIGMOID || op == FSC_OP_SILU) && !st && !(isa && *isa && atoi(isa) < 2);
    bool simd32 = sig && x->dtype == FSC_DT_F32 && (f == FSC_FMT_FP32 || f == FSC_FMT_FP16 || f == FSC_FMT_BF16);
    bool simd64 = sig && x->dtype == FSC_DT_F64 && f == FSC_FMT_FP64;
    if ((simd32 || simd64) && have_avx512_vl_dq()) {
        int64_t chunk = 4096, nchunks = (n + chunk - 1) / chunk;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t q0 = c * chunk, len = n - q0 < chunk ? n - q0 : chunk;
            if (simd32) sigmoid_avx512((const float *)x->data + q0, (float *)y->data + q0, len, op == FSC_OP_SILU, f);
            else sigmoid_avx512_f64((const double *)x->data + q0, (double *)y->data + q0, len, op == FSC_OP_SILU);
        }
        return FSC_OK;
    }
    __builtin_cpu_init();
    bool hw_fma = __builtin_cpu_supports("fma");
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t c = 0; c < (n + 4095) / 4096; c++) {
        int64_t q0 = c * 4096, len = n - q0 < 4096 ? n - q0 : 4096;
        if (hw_fma) unary_loop_fma(op, at, x, y, q0, len, st, f);
        else unary_loop(op, at, x, y, q0, len, st, f);
    }
    return FSC_OK;
}

static double binary_value(fsc_op op, double u, double v)
{
    switch (op) {
    case FSC_OP_ADD: return u + v;
    case FSC_OP_SUB: return u - v;
    case FSC_OP_MUL: return u * v;
    case FSC_OP_DIV: return u / v;
    case FSC_OP_POW: return pow(u, v);
    default: return NAN;
    }
}

/* u op v correctly rounded to storage (exact operations; pow via double). */
static double binary_rounded(fsc_op op, double u, double v, fsc_format_id f)
{
    switch (op) {
    case FSC_OP_ADD: return fsc_kadd(u, v, f, FSC_RND_NEAREST_EVEN);
    case FSC_OP_SUB: return fsc_kadd(u, -v, f, FSC_RND_NEAREST_EVEN);
    case FSC_OP_MUL: {
        /* In fp64 the double product is already the correctly rounded one
         * (fsc_round_exact2 would return it): skip the exact error. */
        if (f == FSC_FMT_FP64) return u * v;
        double p = u * v, e = fma(u, v, -p);
        if (e == 0.0 || !isfinite(p)) return fsc_kround(p, f);
        return fsc_round_exact2(p, e, f, fsc_round_default());
    }
    case FSC_OP_DIV: return fsc_kdiv(u, v, f);
    default: return fsc_kround(binary_value(op, u, v), f);
    }
}

/* Strides of x viewed with y's rank under numpy broadcasting (0 on broadcast axes). */
static bool bstrides(const fsc_shape *xs, const fsc_shape *ys, int64_t *st)
{
    int off = ys->rank - xs->rank;
    if (off < 0) return false;
    int64_t s = 1;
    for (int i = ys->rank - 1; i >= 0; i--) {
        int xi = i - off;
        if (xi < 0) { st[i] = 0; continue; }
        if (xs->dim[xi] == ys->dim[i]) st[i] = s;
        else if (xs->dim[xi] == 1) st[i] = 0;
        else return false;
        s *= xs->dim[xi];
    }
    return true;
}

/* Element i of an integer container as an int64 (exact). */
static int64_t iget(const fsc_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case FSC_DT_I64: return ((const int64_t *)t->data)[i];
    case FSC_DT_I32: return ((const int32_t *)t->data)[i];
    case FSC_DT_I8: return ((const int8_t *)t->data)[i];
    case FSC_DT_U8: case FSC_DT_BOOL: return ((const uint8_t *)t->data)[i];
    default: return 0;
    }
}

/* Stores v into an integer container, wrapping like a two's complement cast. */
static void iset(fsc_tensor *t, int64_t i, int64_t v)
{
    switch (t->dtype) {
    case FSC_DT_I64: ((int64_t *)t->data)[i] = v; break;
    case FSC_DT_I32: ((int32_t *)t->data)[i] = (int32_t)(uint32_t)(uint64_t)v; break;
    case FSC_DT_I8: ((int8_t *)t->data)[i] = (int8_t)(uint8_t)(uint64_t)v; break;
    case FSC_DT_U8: ((uint8_t *)t->data)[i] = (uint8_t)(uint64_t)v; break;
    default: break;
    }
}

static bool is_int_container(fsc_dtype dt)
{
    return dt == FSC_DT_I64 || dt == FSC_DT_I32 || dt == FSC_DT_I8 || dt == FSC_DT_U8;
}

/* Binary ops on integer tensors (shape arithmetic): wrapping add/sub/mul,
 * division truncating toward zero (as C and ONNX Runtime). */
static fsc_status binary_int(fsc_op op, const fsc_tensor *x, const fsc_tensor *z, const int64_t *sx,
                             const int64_t *sz, fsc_tensor *y, fsc_error *err)
{
    if (op == FSC_OP_POW) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "pow on integer tensors");
    int r = y->shape.rank;
    int64_t n = fsc_tensor_numel(y);
    for (int64_t o = 0; o < n; o++) {
        int64_t q = o, ox = 0, oz = 0;
        for (int i = r - 1; i >= 0; i--) {
            int64_t c = q % y->shape.dim[i];
            q /= y->shape.dim[i];
            ox += c * sx[i];
            oz += c * sz[i];
        }
        uint64_t u = (uint64_t)iget(x, ox), v = (uint64_t)iget(z, oz);
        int64_t res;
        if (op == FSC_OP_ADD) res = (int64_t)(u + v);
        else if (op == FSC_OP_SUB) res = (int64_t)(u - v);
        else if (op == FSC_OP_MUL) res = (int64_t)(u * v);
        else {
            int64_t a = (int64_t)u, b = (int64_t)v;
            if (b == 0) return fsc_fail(err, FSC_ERR_INVALID, "integer division by zero");
            res = (a == INT64_MIN && b == -1) ? INT64_MIN : a / b;
        }
        iset(y, o, res);
    }
    return FSC_OK;
}

fsc_status fsc_k_binary(fsc_op op, const fsc_tensor *x, const fsc_tensor *z, const fsc_arith *a,
                        const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    if (op != FSC_OP_ADD && op != FSC_OP_SUB && op != FSC_OP_MUL && op != FSC_OP_DIV && op != FSC_OP_POW)
        return fsc_fail(err, FSC_ERR_INTERNAL, "op %d is not a binary elementwise op", (int)op);
    int64_t sx[FSC_MAX_RANK], sz[FSC_MAX_RANK];
    const fsc_shape *ys = &y->shape;
    if (!bstrides(&x->shape, ys, sx) || !bstrides(&z->shape, ys, sz))
        return fsc_fail(err, FSC_ERR_INVALID, "operands do not broadcast to the output shape");
    if (is_int_container(y->dtype) || is_int_container(x->dtype) || is_int_container(z->dtype)) {
        if (x->dtype != y->dtype || z->dtype != y->dtype)
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "mixed %s/%s operands", fsc_dtype_name(x->dtype), fsc_dtype_name(z->dtype));
        return binary_int(op, x, z, sx, sz, y, err);
    }
    /* Anything else that is not a float container (bool) would be read as floats out of
     * bounds below (found by fuzz_graph: Add of a Cast-to-bool output). */
    const fsc_tensor *ops3[3] = {x, z, y};
    for (int k = 0; k < 3; k++)
        if (ops3[k]->dtype != FSC_DT_F32 && ops3[k]->dtype != FSC_DT_F64)
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s on %s data", fsc_op_name(op), fsc_dtype_name(ops3[k]->dtype));
    int64_t n = fsc_tensor_numel(y);
    int r = ys->rank;
    int64_t inner = r > 0 ? ys->dim[r - 1] : 1;
    int64_t isx = r > 0 ? sx[r - 1] : 0, isz = r > 0 ? sz[r - 1] : 0;
    int64_t rows = inner > 0 ? n / inner : 0;
    fsc_format_id f = a->storage;
    int nt = fsc_kthreads(ctx);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t row = 0; row < rows; row++) {
        int64_t ox = 0, oz = 0, q = row;
        for (int i = r - 2; i >= 0; i--) {
            int64_t c = q % ys->dim[i];
            q /= ys->dim[i];
            ox += c * sx[i];
            oz += c * sz[i];
        }
        for (int64_t j = 0; j < inner; j++)
            fsc_kset(y, row * inner + j, binary_rounded(op, fsc_kget(x, ox + j * isx), fsc_kget(z, oz + j * isz), f));
    }
    return FSC_OK;
}
