/* conv2d.c: 2-D convolution (NCHW, stride, padding, dilation, groups) under
 * the arithmetic model. Each output is one dot product over K = C/g * kh * kw
 * terms in (c, i, j) row-major order of the weight; taps that fall in the
 * padding are zero terms that still take their place in the sum (im2col
 * semantics, which fixes block boundaries and the sign of zero). The bias is
 * added once at the end, then the result is rounded to storage.
 * fsc_k_conv2d takes the SIMD GEMM path (gemm_fast.c) when the model allows
 * it; that path is bit-identical to fsc_k_conv2d_ref. */
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_fast.h"
#include "kernels/kutil.h"
#include "kernels/ops.h"

typedef struct convdims {
    int64_t N, C, H, W, M, OH, OW, kh, kw, G, Cg, Mg, K;
    int64_t sh, sw, dh, dw, pt, pl;
} convdims;

static fsc_status conv_dims(const fsc_attr_conv *at, const fsc_tensor *x, const fsc_tensor *w,
                            const fsc_tensor *b, const fsc_tensor *y, convdims *d, fsc_error *err)
{
    if (x->shape.rank != 4 || w->shape.rank != 4 || y->shape.rank != 4)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "conv2d needs 4-D input, weight and output");
    d->N = x->shape.dim[0], d->C = x->shape.dim[1], d->H = x->shape.dim[2], d->W = x->shape.dim[3];
    d->M = w->shape.dim[0], d->Cg = w->shape.dim[1], d->kh = w->shape.dim[2], d->kw = w->shape.dim[3];
    d->OH = y->shape.dim[2], d->OW = y->shape.dim[3];
    d->G = at->group ? at->group : 1;
    d->sh = at->stride[0] ? at->stride[0] : 1, d->sw = at->stride[1] ? at->stride[1] : 1;
    d->dh = at->dilation[0] ? at->dilation[0] : 1, d->dw = at->dilation[1] ? at->dilation[1] : 1;
    d->pt = at->pad[0], d->pl = at->pad[1];
    if (d->G < 1 || d->C != d->Cg * d->G || d->M % d->G || y->shape.dim[1] != d->M || y->shape.dim[0] != d->N)
        return fsc_fail(err, FSC_ERR_INVALID, "conv2d channels/groups do not match (C=%lld, weight C/g=%lld, group=%lld, M=%lld)",
                        (long long)d->C, (long long)d->Cg, (long long)d->G, (long long)d->M);
    if (b && fsc_tensor_numel(b) != d->M)
        return fsc_fail(err, FSC_ERR_INVALID, "conv2d bias has %lld elements, expected %lld",
                        (long long)fsc_tensor_numel(b), (long long)d->M);
    d->Mg = d->M / d->G;
    d->K = d->Cg * d->kh * d->kw;
    return FSC_OK;
}

fsc_status fsc_k_conv2d_ref(const fsc_attr_conv *at, const fsc_tensor *x, const fsc_tensor *w,
                            const fsc_tensor *b, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                            fsc_error *err)
{
    convdims d;
    fsc_status st = conv_dims(at, x, w, b, y, &d, err);
    if (st) return st;
    const char *why = fsc_k_dot_unsupported(a);
    if (why) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s", why);
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *buf = malloc((size_t)d.K * 2 * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t nm = 0; nm < d.N * d.M; nm++) {
            if (!buf) continue;
            int64_t n = nm / d.M, m = nm % d.M, g = m / d.Mg;
            double *wv = buf, *xv = buf + d.K;
            for (int64_t k = 0; k < d.K; k++) wv[k] = fsc_kget(w, m * d.K + k);
            double bias = b ? fsc_kget(b, m) : 0.0;
            for (int64_t oh = 0; oh < d.OH; oh++)
                for (int64_t ow = 0; ow < d.OW; ow++) {
                    int64_t k = 0;
                    for (int64_t c = 0; c < d.Cg; c++)
                        for (int64_t i = 0; i < d.kh; i++)
                            for (int64_t j = 0; j < d.kw; j++, k++) {
                                int64_t ih = oh * d.sh - d.pt + i * d.dh, iw = ow * d.sw - d.pl + j * d.dw;
                                bool in = ih >= 0 && ih < d.H && iw >= 0 && iw < d.W;
                                xv[k] = in ? fsc_kget(x, ((n * d.C + g * d.Cg + c) * d.H + ih) * d.W + iw) : 0.0;
                            }
                    double r = fsc_dot_ref(xv, 1, wv, 1, d.K, b != NULL, bias, a);
                    fsc_kset(y, (nm * d.OH + oh) * d.OW + ow, fsc_kround(r, a->storage));
                }
        }
        free(buf);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in conv2d");
    return FSC_OK;
}

typedef struct convuser {
    const convdims *dims;
    const fsc_tensor *x;
    const fsc_arith *round; /* non-NULL: round each filled row to round->operand (F32 containers) */
    int isa;
} convuser;

/* Copies one im2col row segment: dst[t] = src[base + t*sw] where in [0, W), else 0, t < run. */
#define SEGMENT(T)                                                                                        \
    static void segment_##T(T *dst, const T *src, int64_t base, int64_t sw, int64_t W, int64_t run)      \
    {                                                                                                     \
        int64_t lo, hi; /* stride 1 (the common case) without the divisions */                           \
        if (sw == 1) lo = base >= 0 ? 0 : -base, hi = W - base;                                           \
        else lo = base >= 0 ? 0 : (-base + sw - 1) / sw, hi = base > W - 1 ? 0 : (W - 1 - base) / sw + 1; \
        if (lo > run) lo = run;                                                                           \
        if (hi > run) hi = run;                                                                           \
        if (hi < lo) hi = lo;                                                                             \
        for (int64_t t = 0; t < lo; t++) dst[t] = 0;                                                      \
        if (sw == 1) memcpy(dst + lo, src + (base + lo), (size_t)(hi - lo) * sizeof(T));                    \
        else                                                                                              \
            for (int64_t t = lo; t < hi; t++) dst[t] = src[base + t * sw];                                \
        for (int64_t t = hi; t < run; t++) dst[t] = 0;                                                    \
    }
SEGMENT(float)
SEGMENT(double)

/* Fills the im2col tile for pixels [p0, p0 + np) of job (image n, group g): dst[k * ld + q]. */
static void conv_fill(const void *user, int64_t job, int64_t p0, int64_t np, void *dst, int64_t ld)
{
    const convuser *cv = user;
    const convdims *d = cv->dims;
    int64_t n = job / d->G, g = job % d->G;
    bool f64 = cv->x->dtype == FSC_DT_F64;
    int64_t k = 0, oh0 = p0 / d->OW, ow0 = p0 % d->OW;
    for (int64_t c = 0; c < d->Cg; c++) {
        int64_t plane = (n * d->C + g * d->Cg + c) * d->H * d->W;
        for (int64_t i = 0; i < d->kh; i++)
            for (int64_t j = 0; j < d->kw; j++, k++) {
                int64_t oh = oh0, ow = ow0, q = 0;
                while (q < np) {
                    int64_t run = d->OW - ow < np - q ? d->OW - ow : np - q;
                    int64_t ih = oh * d->sh - d->pt + i * d->dh;
                    int64_t base = ow * d->sw - d->pl + j * d->dw;
                    bool row_in = ih >= 0 && ih < d->H;
                    if (f64) {
                        double *o = (double *)dst + k * ld + q;
                        if (row_in) segment_double(o, (const double *)cv->x->data + plane + ih * d->W, base, d->sw, d->W, run);
                        else memset(o, 0, (size_t)run * sizeof *o);
                    } else {
                        float *o = (float *)dst + k * ld + q;
                        if (row_in) segment_float(o, (const float *)cv->x->data + plane + ih * d->W, base, d->sw, d->W, run);
                        else memset(o, 0, (size_t)run * sizeof *o);
                    }
                    q += run;
                    oh++;
                    ow = 0;
                }
                if (cv->round && !f64) fsc_fastmm_round_operand((float *)dst + k * ld, np, cv->round, cv->isa);
            }
    }
}

fsc_status fsc_k_conv2d(const fsc_attr_conv *at, const fsc_tensor *x, const fsc_tensor *w, const fsc_tensor *b,
                        const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    convdims d;
    fsc_status st = conv_dims(at, x, w, b, y, &d, err);
    if (st) return st;
    if (!fsc_fastmm_eligible(a, x->dtype)) return fsc_k_conv2d_ref(at, x, w, b, a, ctx, y, err);
    /* Operand rounding (TF32 units) of each im2col row right after its copy,
     * in L1: cheaper than a rounded copy of the whole input. */
    bool round = !fsc_kfmt_within(a->storage, a->operand);
    convuser cv = {&d, x, round && x->dtype == FSC_DT_F32 ? a : NULL, fsc_fastmm_isa(-1)};
    /* Job = (image n, group g); output (n, g*Mg + m, p) lives at job*Mg*P + m*P + p. */
    fsc_fastmm_job job = {
        .M = d.Mg, .K = d.K, .N = d.OH * d.OW, .jobs = d.N * d.G,
        .w = w, .w_sets = d.G, .w_set_stride = d.Mg * d.K, .w_m = d.K, .w_k = 1,
        .bias = b, .bias_set_stride = d.Mg, .bias_m = 1, .bias_n = 0,
        .fill = conv_fill, .user = &cv,
        .y = y, .y_job_stride = d.Mg * d.OH * d.OW, .y_m = d.OH * d.OW, .y_n = 1,
        .x_operand_ready = cv.round != NULL,
    };
    return fsc_fastmm_run(&job, a, ctx, err);
}
