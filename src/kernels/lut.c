/* lut.c: table lookup of elementwise functions of int8 / fp16 / bf16 values
 * (lut.h). The AVX-512 path gathers 16 entries at a time; it checks every
 * element exactly as the scalar path does (a binary16 value converts to
 * binary16 and back to the same bit pattern; a bfloat16 value has zero low
 * bits), so both return false on the same inputs and write the same outputs
 * otherwise. */
#include <stdlib.h>
#include <string.h>

#include <immintrin.h>

#include "core/half.h"
#include "kernels/kutil.h"
#include "kernels/lut.h"

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,f16c")))

/* The float a binary16 bit pattern converts to, as F16C's vcvtph2ps gives it:
 * NaNs keep their sign and payload (shifted up 13 bits). */
static float half_to_float(uint16_t h)
{
    if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) {
        uint32_t b = ((uint32_t)(h & 0x8000u) << 16) | 0x7f800000u | ((uint32_t)(h & 0x3ffu) << 13);
        float f;
        memcpy(&f, &b, 4);
        return f;
    }
    return (float)fsc_half_to_double(h);
}

int64_t fsc_lut_entries(fsc_lut_key key) { return key == FSC_LUT_I8 || key == FSC_LUT_U8 ? 256 : 65536; }

fsc_status fsc_k_lut_domain(fsc_lut_key key, const fsc_shape *shape, fsc_tensor *out, fsc_error *err)
{
    int64_t n = fsc_lut_entries(key);
    if (fsc_shape_numel(shape) != n)
        return fsc_fail(err, FSC_ERR_INTERNAL, "a table domain of %lld elements needs a shape of that size", (long long)n);
    fsc_dtype dt = key == FSC_LUT_I8 ? FSC_DT_I8 : key == FSC_LUT_U8 ? FSC_DT_U8 : FSC_DT_F32;
    fsc_status st = fsc_tensor_alloc(out, dt, shape, 0, err);
    if (st) return st;
    for (int64_t j = 0; j < n; j++) {
        if (key == FSC_LUT_I8) {
            ((int8_t *)out->data)[j] = (int8_t)(uint8_t)j;
        } else if (key == FSC_LUT_U8) {
            ((uint8_t *)out->data)[j] = (uint8_t)j;
        } else if (key == FSC_LUT_FP16) {
            ((float *)out->data)[j] = half_to_float((uint16_t)j);
        } else {
            uint32_t b = (uint32_t)j << 16;
            memcpy((float *)out->data + j, &b, 4);
        }
    }
    if (key == FSC_LUT_FP16) out->fmt = FSC_FMT_FP16;
    if (key == FSC_LUT_BF16) out->fmt = FSC_FMT_BF16;
    return FSC_OK;
}

/* The table index of element i, or -1 when it is not a value of the key's domain. */
static inline int32_t index_of(fsc_lut_key key, const void *x, int64_t i)
{
    switch (key) {
    case FSC_LUT_I8: return (uint8_t)((const int8_t *)x)[i];
    case FSC_LUT_U8: return ((const uint8_t *)x)[i];
    case FSC_LUT_FP16: {
        float v = ((const float *)x)[i], back;
        uint32_t b;
        memcpy(&b, &v, 4);
        if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu)) {
            /* a NaN: in the domain when quiet with a payload binary16 holds */
            if ((b & 0x1fffu) || !(b & 0x400000u)) return -1;
            return (int32_t)(((b >> 16) & 0x8000u) | 0x7c00u | ((b & 0x7fffffu) >> 13));
        }
        uint16_t h = fsc_double_to_half((double)v);
        back = half_to_float(h);
        return memcmp(&v, &back, 4) == 0 ? (int32_t)h : -1;
    }
    default: {
        uint32_t b;
        memcpy(&b, (const float *)x + i, 4);
        return (b & 0xffffu) == 0 ? (int32_t)(b >> 16) : -1;
    }
    }
}

static inline void put(const fsc_lut *t, fsc_tensor *y, int64_t i, int32_t j)
{
    switch (t->dtype) {
    case FSC_DT_F32: ((float *)y->data)[i] = ((const float *)t->entries)[j]; break;
    case FSC_DT_F64: ((double *)y->data)[i] = ((const double *)t->entries)[j]; break;
    default: ((uint8_t *)y->data)[i] = ((const uint8_t *)t->entries)[j]; break; /* I8 / U8 */
    }
}

static bool apply_ref_range(fsc_lut_key key, const fsc_tensor *x, int n, const fsc_lut *tables, fsc_tensor *const *ys,
                            int64_t i0, int64_t i1)
{
    for (int64_t i = i0; i < i1; i++) {
        int32_t j = index_of(key, x->data, i);
        if (j < 0) return false;
        for (int k = 0; k < n; k++) put(&tables[k], ys[k], i, j);
    }
    return true;
}

bool fsc_k_lut_apply_ref(fsc_lut_key key, const fsc_tensor *x, int n, const fsc_lut *tables, fsc_tensor *const *ys)
{
    return apply_ref_range(key, x, n, tables, ys, 0, fsc_tensor_numel(x));
}

/* 16 lanes of indices (masked lanes: index 0) and the lanes that are not domain values. */
AVX512 static inline __m512i index16(fsc_lut_key key, const void *x, int64_t q, __mmask16 m, __mmask16 *bad)
{
    switch (key) {
    case FSC_LUT_I8:
    case FSC_LUT_U8: return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, (const char *)x + q));
    case FSC_LUT_FP16: {
        __m512 v = _mm512_maskz_loadu_ps(m, (const float *)x + q);
        __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m512 back = _mm512_cvtph_ps(h);
        *bad |= _mm512_mask_cmpneq_epi32_mask(m, _mm512_castps_si512(v), _mm512_castps_si512(back));
        return _mm512_cvtepu16_epi32(h);
    }
    default: {
        __m512i b = _mm512_maskz_loadu_epi32(m, (const float *)x + q);
        *bad |= _mm512_mask_test_epi32_mask(m, b, _mm512_set1_epi32(0xffff));
        return _mm512_srli_epi32(b, 16);
    }
    }
}

AVX512 static bool apply_avx512_range(fsc_lut_key key, const fsc_tensor *x, int n, const fsc_lut *tables,
                                      fsc_tensor *const *ys, int64_t i0, int64_t i1)
{
    __mmask16 bad = 0;
    for (int64_t q = i0; q < i1; q += 16) {
        __mmask16 m = i1 - q >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (i1 - q)) - 1u);
        __m512i idx = index16(key, x->data, q, m, &bad);
        for (int k = 0; k < n; k++) {
            const fsc_lut *t = &tables[k];
            if (t->dtype == FSC_DT_F32) {
                __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, t->entries, 4);
                _mm512_mask_storeu_ps((float *)ys[k]->data + q, m, v);
            } else if (t->dtype == FSC_DT_F64) {
                __mmask8 lo = (__mmask8)m, hi = (__mmask8)(m >> 8);
                __m512d a = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), lo, _mm512_castsi512_si256(idx), t->entries, 8);
                __m512d b =
                    _mm512_mask_i32gather_pd(_mm512_setzero_pd(), hi, _mm512_extracti64x4_epi64(idx, 1), t->entries, 8);
                _mm512_mask_storeu_pd((double *)ys[k]->data + q, lo, a);
                _mm512_mask_storeu_pd((double *)ys[k]->data + q + 8, hi, b);
            } else {
                __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, t->wide, 4);
                _mm_mask_storeu_epi8((char *)ys[k]->data + q, m, _mm512_cvtepi32_epi8(v));
            }
        }
    }
    return bad == 0;
}

bool fsc_k_lut_apply(fsc_lut_key key, const fsc_tensor *x, int n, const fsc_lut *tables, fsc_tensor *const *ys,
                     const fsc_ctx *ctx)
{
    int64_t total = fsc_tensor_numel(x), chunk = 16384, nchunks = (total + chunk - 1) / chunk;
    bool simd = fsc_cpu_avx512_rows();
    for (int k = 0; k < n; k++)
        if (tables[k].dtype != FSC_DT_F32 && tables[k].dtype != FSC_DT_F64 && !tables[k].wide) simd = false;
    int nt = fsc_kthreads(ctx);
    bool ok = true;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(&& : ok)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t i0 = c * chunk, i1 = i0 + chunk < total ? i0 + chunk : total;
        bool r = simd ? apply_avx512_range(key, x, n, tables, ys, i0, i1) : apply_ref_range(key, x, n, tables, ys, i0, i1);
        ok = ok && r;
    }
    return ok;
}
