/* gemm.c: y = alpha * A' B' + beta * C (ONNX Gemm; Core ML linear).
 * With alpha = beta = 1 (or no C) each output is the dot product of arith.h
 * with C[m,n] as its bias, added once at the end in the accumulator format.
 * Otherwise d = dot product without bias, d = alpha * d rounded to the
 * accumulator (when alpha != 1), c = beta * C rounded to the accumulator
 * (when beta != 1), y = d + c rounded to the accumulator; then y is rounded
 * to storage. The fast engine handles alpha = 1, beta = 1. */
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_fast.h"
#include "kernels/kutil.h"
#include "kernels/ops.h"

typedef struct gemmdims {
    int64_t M, K, N;
    int64_t am, ak, bk, bn; /* element strides of A' and B' */
    int64_t cm, cn;         /* strides of C broadcast to [M, N] */
} gemmdims;

static fsc_status gemm_dims(const fsc_attr_gemm *at, const fsc_tensor *A, const fsc_tensor *B,
                            const fsc_tensor *C, const fsc_tensor *y, gemmdims *d, fsc_error *err)
{
    if (A->shape.rank != 2 || B->shape.rank != 2 || y->shape.rank != 2)
        return fsc_fail(err, FSC_ERR_INVALID, "gemm needs 2-D A, B and output");
    int64_t a0 = A->shape.dim[0], a1 = A->shape.dim[1], b0 = B->shape.dim[0], b1 = B->shape.dim[1];
    d->M = at->trans_a ? a1 : a0;
    d->K = at->trans_a ? a0 : a1;
    d->N = at->trans_b ? b0 : b1;
    int64_t kb = at->trans_b ? b1 : b0;
    if (kb != d->K || y->shape.dim[0] != d->M || y->shape.dim[1] != d->N)
        return fsc_fail(err, FSC_ERR_INVALID, "gemm shapes do not agree (K=%lld vs %lld)", (long long)d->K, (long long)kb);
    d->am = at->trans_a ? 1 : a1;
    d->ak = at->trans_a ? a1 : 1;
    d->bk = at->trans_b ? 1 : b1;
    d->bn = at->trans_b ? b1 : 1;
    d->cm = d->cn = 0;
    if (C) {
        int r = C->shape.rank;
        int64_t cM = r == 2 ? C->shape.dim[0] : 1, cN = r >= 1 ? C->shape.dim[r - 1] : 1;
        if (r > 2 || (cM != 1 && cM != d->M) || (cN != 1 && cN != d->N))
            return fsc_fail(err, FSC_ERR_INVALID, "gemm C does not broadcast to [%lld, %lld]", (long long)d->M, (long long)d->N);
        d->cm = cM == 1 ? 0 : cN;
        d->cn = cN == 1 ? 0 : 1;
    }
    return FSC_OK;
}

fsc_status fsc_k_gemm_ref(const fsc_attr_gemm *at, const fsc_tensor *A, const fsc_tensor *B,
                          const fsc_tensor *C, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                          fsc_error *err)
{
    gemmdims d;
    fsc_status st = gemm_dims(at, A, B, C, y, &d, err);
    if (st) return st;
    const char *why = fsc_k_dot_unsupported(a);
    if (why) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s", why);
    bool plain = at->alpha == 1.0 && (!C || at->beta == 1.0);
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *buf = malloc((size_t)(d.K > 0 ? d.K : 1) * 2 * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t m = 0; m < d.M; m++) {
            if (!buf) continue;
            double *av = buf, *bv = buf + d.K;
            for (int64_t k = 0; k < d.K; k++) av[k] = fsc_kget(A, m * d.am + k * d.ak);
            for (int64_t n = 0; n < d.N; n++) {
                for (int64_t k = 0; k < d.K; k++) bv[k] = fsc_kget(B, k * d.bk + n * d.bn);
                double c = C ? fsc_kget(C, m * d.cm + n * d.cn) : 0.0, r;
                if (plain) {
                    r = fsc_dot_ref(av, 1, bv, 1, d.K, C != NULL, c, a);
                } else {
                    r = fsc_dot_ref(av, 1, bv, 1, d.K, false, 0.0, a);
                    if (at->alpha != 1.0) r = fsc_kadd(at->alpha * r, fma(at->alpha, r, -(at->alpha * r)), a->accum, a->rounding);
                    if (C) {
                        if (at->beta != 1.0) c = fsc_kadd(at->beta * c, fma(at->beta, c, -(at->beta * c)), a->accum, a->rounding);
                        r = fsc_kadd(r, c, a->accum, a->rounding);
                    }
                }
                fsc_kset(y, m * d.N + n, fsc_kround(r, a->storage));
            }
        }
        free(buf);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in gemm");
    return FSC_OK;
}

typedef struct gemmuser {
    const gemmdims *d;
    const fsc_tensor *B;
} gemmuser;

/* X tile = columns [n0, n0 + nn) of B'. */
static void gemm_fill(const void *user, int64_t job, int64_t n0, int64_t nn, void *dst, int64_t ld)
{
    (void)job;
    const gemmuser *gu = user;
    const gemmdims *d = gu->d;
    size_t es = gu->B->dtype == FSC_DT_F64 ? sizeof(double) : sizeof(float);
    const char *src = (const char *)gu->B->data;
    char *out = dst;
    if (d->bn == 1) { /* B' rows are contiguous: one copy per row */
        for (int64_t k = 0; k < d->K; k++)
            memcpy(out + (size_t)(k * ld) * es, src + (size_t)(k * d->bk + n0) * es, (size_t)nn * es);
        return;
    }
    /* transposed B: column q of the tile is row n0 + q of B, read once in order */
    for (int64_t q = 0; q < nn; q++) {
        const char *col = src + (size_t)((n0 + q) * d->bn) * es;
        if (es == sizeof(double))
            for (int64_t k = 0; k < d->K; k++) ((double *)out)[k * ld + q] = ((const double *)col)[k * d->bk];
        else
            for (int64_t k = 0; k < d->K; k++) ((float *)out)[k * ld + q] = ((const float *)col)[k * d->bk];
    }
}

fsc_status fsc_k_gemm(const fsc_attr_gemm *at, const fsc_tensor *A, const fsc_tensor *B, const fsc_tensor *C,
                      const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    gemmdims d;
    fsc_status st = gemm_dims(at, A, B, C, y, &d, err);
    if (st) return st;
    if (at->alpha != 1.0 || (C && at->beta != 1.0) || !fsc_fastmm_eligible(a, y->dtype) || A->dtype != y->dtype ||
        B->dtype != y->dtype || (C && C->dtype != y->dtype))
        return fsc_k_gemm_ref(at, A, B, C, a, ctx, y, err);
    gemmuser gu = {&d, B};
    fsc_fastmm_job job = {
        .M = d.M, .K = d.K, .N = d.N, .jobs = 1,
        .w = A, .w_sets = 1, .w_set_stride = 0, .w_m = d.am, .w_k = d.ak,
        .bias = C, .bias_set_stride = 0, .bias_m = d.cm, .bias_n = d.cn,
        .fill = gemm_fill, .user = &gu,
        .y = y, .y_job_stride = 0, .y_m = d.N, .y_n = 1,
    };
    return fsc_fastmm_run(&job, a, ctx, err);
}
