/* quant.c: quantize / dequantize in fake-quant mode (a->quant = FAKE).
 * quantize: t = x / s correctly rounded to a->quant_compute (nearest-even),
 * r = t rounded to an integer with a->quant_rounding, q = clamp(r + zp) to
 * the int8/uint8 range; NaN gives zp. dequantize: x' = s * (q - zp)
 * correctly rounded to a->storage. Scales are per tensor (one element) or
 * per axis (a 1-D tensor along attr.axis). */
#include <math.h>
#include <stdint.h>

#include <immintrin.h>
#include <stdlib.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c")))

/* 8 doubles correctly rounded to fmt (fp64, fp32, fp16 or bf16), as doubles:
 * the truncated float with its last bit set when inexact is the
 * round-to-odd value, whose nearest-even rounding to fp16/bf16 is correct. */
AVX512 static __m512d round8d(__m512d v, fsc_format_id fmt)
{
    if (fmt == FSC_FMT_FP64) return v;
    if (fmt == FSC_FMT_FP32) return _mm512_cvtps_pd(_mm512_cvtpd_ps(v));
    __m256 f = _mm512_cvt_roundpd_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __mmask8 inexact = _mm512_cmp_pd_mask(_mm512_cvtps_pd(f), v, _CMP_NEQ_UQ);
    __m256i fi = _mm256_mask_or_epi32(_mm256_castps_si256(f), inexact, _mm256_castps_si256(f), _mm256_set1_epi32(1));
    if (fmt == FSC_FMT_FP16)
        return _mm512_cvtps_pd(
            _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_castsi256_ps(fi), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(fi, 16), _mm256_set1_epi32(1));
    fi = _mm256_add_epi32(fi, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
    return _mm512_cvtps_pd(_mm256_castsi256_ps(_mm256_and_si256(fi, _mm256_set1_epi32((int)0xffff0000u))));
}

/* The fast quantize loop below on 8 lanes: the same operations, NaN -> zp. */
AVX512 static void quant_avx512(const float *x, void *y, bool i8, int64_t n, double s, double z, double lo, double hi,
                                fsc_format_id qc)
{
    for (int64_t q = 0; q < n; q += 8) {
        __mmask8 m = n - q >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - q)) - 1u);
        __m512d d = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x + q));
        __m512d t = round8d(_mm512_div_pd(d, _mm512_set1_pd(s)), qc);
        t = _mm512_min_pd(_mm512_max_pd(t, _mm512_set1_pd(-0x1p20)), _mm512_set1_pd(0x1p20));
        __m512d r = _mm512_sub_pd(_mm512_add_pd(t, _mm512_set1_pd(0x1.8p52)), _mm512_set1_pd(0x1.8p52));
        r = _mm512_add_pd(r, _mm512_set1_pd(z));
        r = _mm512_min_pd(_mm512_max_pd(r, _mm512_set1_pd(lo)), _mm512_set1_pd(hi));
        r = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(d, d, _CMP_UNORD_Q), r, _mm512_set1_pd(z));
        __m128i b = _mm256_cvtepi32_epi8(_mm512_cvtpd_epi32(r));
        _mm_mask_storeu_epi8((char *)y + q, m, b);
        (void)i8; /* values are in range: the low byte is the int8 or uint8 value */
    }
}

/* The fast dequantize loop below on 8 lanes. */
AVX512 static void dequant_avx512(const void *qv, bool i8, float *y, int64_t n, double s, double z, fsc_format_id st)
{
    for (int64_t q = 0; q < n; q += 8) {
        __mmask8 m = n - q >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (n - q)) - 1u);
        __m128i b = _mm_maskz_loadu_epi8(m, (const char *)qv + q);
        __m256i w = i8 ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
        __m512d d = _mm512_sub_pd(_mm512_cvtepi32_pd(w), _mm512_set1_pd(z));
        __m512d v = round8d(_mm512_mul_pd(d, _mm512_set1_pd(s)), st);
        _mm256_mask_storeu_ps(y + q, m, _mm512_cvtpd_ps(v));
    }
}

static bool simd_fmt(fsc_format_id f)
{
    return f == FSC_FMT_FP64 || f == FSC_FMT_FP32 || f == FSC_FMT_FP16 || f == FSC_FMT_BF16;
}

/* Resolves per-axis indexing: element i uses parameter (i / inner) % D, or 0 when per tensor. */
typedef struct qindex {
    int64_t inner, D;
} qindex;

static fsc_status qindex_make(const fsc_attr_quant *at, const fsc_tensor *x, const fsc_tensor *scale,
                              const fsc_tensor *zp, qindex *qi, fsc_error *err)
{
    int64_t ns = fsc_tensor_numel(scale);
    if (zp && fsc_tensor_numel(zp) != ns)
        return fsc_fail(err, FSC_ERR_INVALID, "zero point has %lld elements, scale %lld",
                        (long long)fsc_tensor_numel(zp), (long long)ns);
    if (zp && zp->dtype != FSC_DT_I8 && zp->dtype != FSC_DT_U8)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "zero point of type %s", fsc_dtype_name(zp->dtype));
    qi->inner = fsc_tensor_numel(x) > 0 ? fsc_tensor_numel(x) : 1; /* per tensor: one block of everything */
    qi->D = 1;
    if (ns == 1) return FSC_OK;
    qi->inner = 1;
    int r = x->shape.rank;
    int64_t ax = at->axis < 0 ? at->axis + r : at->axis;
    if (ax < 0 || ax >= r || x->shape.dim[ax] != ns)
        return fsc_fail(err, FSC_ERR_INVALID, "per-axis scale of %lld elements does not match axis %lld",
                        (long long)ns, (long long)at->axis);
    for (int i = (int)ax + 1; i < r; i++) qi->inner *= x->shape.dim[i];
    qi->D = ns;
    return FSC_OK;
}

static double round_int(double t, fsc_rounding mode)
{
    switch (mode) {
    case FSC_RND_TOWARD_ZERO: return trunc(t);
    case FSC_RND_NEAREST_AWAY: return round(t);
    default: {
        double fl = floor(t), d = t - fl;
        if (d > 0.5) return fl + 1.0;
        if (d < 0.5) return fl;
        return fmod(fl, 2.0) == 0.0 ? fl : fl + 1.0;
    }
    }
}

fsc_status fsc_k_quantize(const fsc_attr_quant *at, const fsc_tensor *x, const fsc_tensor *scale,
                          const fsc_tensor *zp, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    int nt = fsc_kthreads(ctx);
    if (a->quant != FSC_QUANT_FAKE)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "integer quantization mode is not handled by the float kernels");
    if (y->dtype != FSC_DT_I8 && y->dtype != FSC_DT_U8)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "quantize to %s", fsc_dtype_name(y->dtype));
    qindex qi;
    fsc_status st = qindex_make(at, x, scale, zp, &qi, err);
    if (st) return st;
    /* A zero, infinite or NaN scale makes x / scale NaN for some x (0/0, inf/inf), and converting
     * NaN to an integer is undefined behaviour (found by fuzz_graph): refuse such scales. */
    for (int64_t i = 0; i < fsc_tensor_numel(scale); i++) {
        double s = fsc_tensor_get(scale, i);
        if (s == 0.0 || !isfinite(s))
            return fsc_fail(err, FSC_ERR_INVALID, "quantize: scale element %lld is %g; a scale must be finite and non-zero",
                            (long long)i, s);
    }
    double lo = y->dtype == FSC_DT_I8 ? -128.0 : 0.0, hi = y->dtype == FSC_DT_I8 ? 127.0 : 255.0;
    int64_t n = fsc_tensor_numel(x);
    if (n == 0) return FSC_OK;
    /* per-tensor blocks are split so that threads share the work */
    if (qi.D == 1 && n > 65536) qi.inner = 65536, qi.D = 1;
    int64_t nblocks = (n + qi.inner - 1) / qi.inner;
    bool simd = fsc_cpu_avx512_rows() && simd_fmt(a->quant_compute);
    /* Blocks of `inner` consecutive elements share one scale and zero point. */
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t c = b % qi.D;
        double s = fsc_tensor_get(scale, c), z = zp ? fsc_tensor_get(zp, c) : 0.0;
        /* fp32 data and an fp32 scale: the double quotient rounds correctly to
         * any compute format of <= 24 bits (fsc_kdiv's fast case). */
        bool fast = x->dtype == FSC_DT_F32 && (double)(float)s == s && a->quant_rounding == FSC_RND_NEAREST_EVEN &&
                    (a->quant_compute == FSC_FMT_FP64 || fsc_kfmt[a->quant_compute].p <= 24);
        int64_t i0 = b * qi.inner, i1 = i0 + qi.inner < n ? i0 + qi.inner : n;
        if (fast && simd) {
            quant_avx512((const float *)x->data + i0, (char *)y->data + i0, y->dtype == FSC_DT_I8, i1 - i0, s, z, lo, hi,
                         a->quant_compute);
            continue;
        }
        if (fast) { /* the common case, without per-element type dispatch */
            const float *xp = x->data;
            int8_t *q8 = y->data;
            uint8_t *qu = y->data;
            bool is_i8 = y->dtype == FSC_DT_I8;
            for (int64_t i = i0; i < i1; i++) {
                double v = xp[i], q = z;
                if (v == v) {
                    double t = fsc_kround(v / s, a->quant_compute);
                    t = t > 0x1p20 ? 0x1p20 : (t < -0x1p20 ? -0x1p20 : t); /* far outside [lo, hi] either way */
                    q = ((t + 0x1.8p52) - 0x1.8p52) + z;                    /* nearest-even to an integer */
                    q = q < lo ? lo : (q > hi ? hi : q);
                }
                if (is_i8) q8[i] = (int8_t)q;
                else qu[i] = (uint8_t)q;
            }
            continue;
        }
        for (int64_t i = i0; i < i1; i++) {
            double v = fsc_tensor_get(x, i), q;
            if (isnan(v)) {
                q = z;
            } else {
                q = round_int(fsc_kdiv(v, s, a->quant_compute), a->quant_rounding) + z;
                q = q < lo ? lo : (q > hi ? hi : q);
            }
            if (y->dtype == FSC_DT_I8) ((int8_t *)y->data)[i] = (int8_t)q;
            else ((uint8_t *)y->data)[i] = (uint8_t)q;
        }
    }
    return FSC_OK;
}

fsc_status fsc_k_dequantize(const fsc_attr_quant *at, const fsc_tensor *q, const fsc_tensor *scale,
                            const fsc_tensor *zp, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    int nt = fsc_kthreads(ctx);
    if (a->quant != FSC_QUANT_FAKE)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "integer quantization mode is not handled by the float kernels");
    if (q->dtype != FSC_DT_I8 && q->dtype != FSC_DT_U8 && q->dtype != FSC_DT_I32)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "dequantize from %s", fsc_dtype_name(q->dtype));
    qindex qi;
    fsc_status st = qindex_make(at, q, scale, zp, &qi, err);
    if (st) return st;
    int64_t n = fsc_tensor_numel(q);
    if (n == 0) return FSC_OK;
    if (qi.D == 1 && n > 65536) qi.inner = 65536, qi.D = 1;
    int64_t nblocks = (n + qi.inner - 1) / qi.inner;
    bool simd = fsc_cpu_avx512_rows() && simd_fmt(a->storage) && a->storage != FSC_FMT_FP64;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t c = b % qi.D;
        double s = fsc_tensor_get(scale, c), z = zp ? fsc_tensor_get(zp, c) : 0.0;
        bool exact = (double)(float)s == s; /* (q - zp) has <= 9 bits: the product is exact */
        int64_t i0 = b * qi.inner, i1 = i0 + qi.inner < n ? i0 + qi.inner : n;
        if (exact && simd && y->dtype == FSC_DT_F32 && (q->dtype == FSC_DT_I8 || q->dtype == FSC_DT_U8)) {
            dequant_avx512((const char *)q->data + i0, q->dtype == FSC_DT_I8, (float *)y->data + i0, i1 - i0, s, z, a->storage);
            continue;
        }
        if (exact && y->dtype == FSC_DT_F32 && (q->dtype == FSC_DT_I8 || q->dtype == FSC_DT_U8)) {
            const int8_t *q8 = q->data;
            const uint8_t *qu = q->data;
            float *yp = y->data;
            if (q->dtype == FSC_DT_I8)
                for (int64_t i = i0; i < i1; i++) yp[i] = (float)fsc_kround(((double)q8[i] - z) * s, a->storage);
            else
                for (int64_t i = i0; i < i1; i++) yp[i] = (float)fsc_kround(((double)qu[i] - z) * s, a->storage);
            continue;
        }
        for (int64_t i = i0; i < i1; i++) {
            double d = fsc_tensor_get(q, i) - z; /* exact: small integers */
            double p = d * s, e = exact ? 0.0 : fma(d, s, -p);
            double r = (e == 0.0 || !isfinite(p)) ? fsc_kround(p, a->storage)
                                                  : fsc_round_exact2(p, e, a->storage, fsc_round_default());
            fsc_kset(y, i, r);
        }
    }
    return FSC_OK;
}
