/* matmul.c: numpy matmul: a 1-D A is [1, K] and a 1-D B is [K, 1] (the added
 * axis is dropped from the result); leading batch axes broadcast. Each output
 * is the dot product of arith.h without bias, rounded to storage. The fast
 * engine (gemm_fast.c) takes eligible models: one job per output matrix, the
 * A matrices as packed weight sets, B's columns as the lanes. */
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_fast.h"
#include "kernels/kutil.h"
#include "kernels/ops.h"

/* The shapes of a matmul, with batch broadcasting resolved. */
typedef struct mmdims {
    int64_t M, K, N, nb, na_mats;
    int br;
    int64_t bd[FSC_MAX_RANK], sa[FSC_MAX_RANK], sb[FSC_MAX_RANK];
} mmdims;

static fsc_status mm_dims(const fsc_tensor *A, const fsc_tensor *B, const fsc_tensor *y, mmdims *d, fsc_error *err)
{
    int ra = A->shape.rank, rb = B->shape.rank;
    if (ra < 1 || rb < 1) return fsc_fail(err, FSC_ERR_INVALID, "matmul operands must have rank >= 1");
    d->M = ra >= 2 ? A->shape.dim[ra - 2] : 1, d->K = A->shape.dim[ra - 1];
    int64_t Kb = rb >= 2 ? B->shape.dim[rb - 2] : B->shape.dim[0];
    d->N = rb >= 2 ? B->shape.dim[rb - 1] : 1;
    if (d->K != Kb) return fsc_fail(err, FSC_ERR_INVALID, "matmul inner dimensions differ (%lld vs %lld)", (long long)d->K, (long long)Kb);
    int bra = ra > 2 ? ra - 2 : 0, brb = rb > 2 ? rb - 2 : 0;
    d->br = bra > brb ? bra : brb;
    d->nb = 1;
    int64_t ka = 1, kb = 1;
    for (int i = d->br - 1; i >= 0; i--) {
        int ia = i - (d->br - bra), ib = i - (d->br - brb);
        int64_t da = ia >= 0 ? A->shape.dim[ia] : 1, db = ib >= 0 ? B->shape.dim[ib] : 1;
        if (da != db && da != 1 && db != 1) return fsc_fail(err, FSC_ERR_INVALID, "matmul batch axes do not broadcast");
        d->bd[i] = da > db ? da : db;
        d->sa[i] = da == 1 ? 0 : ka;
        d->sb[i] = db == 1 ? 0 : kb;
        ka *= da;
        kb *= db;
        d->nb *= d->bd[i];
    }
    d->na_mats = ka;
    if (fsc_tensor_numel(y) != d->nb * d->M * d->N) return fsc_fail(err, FSC_ERR_INVALID, "matmul output size mismatch");
    return FSC_OK;
}

/* Matrix offsets (in matrices) of A and B for output batch index bi. */
static void mm_batch(const mmdims *d, int64_t bi, int64_t *oa, int64_t *ob)
{
    *oa = *ob = 0;
    for (int i = d->br - 1; i >= 0; i--) {
        int64_t c = bi % d->bd[i];
        bi /= d->bd[i];
        *oa += c * d->sa[i];
        *ob += c * d->sb[i];
    }
}

typedef struct mmuser {
    const mmdims *d;
    const fsc_tensor *B;
} mmuser;

static int64_t mm_set_of(const void *user, int64_t job)
{
    int64_t oa, ob;
    mm_batch(((const mmuser *)user)->d, job, &oa, &ob);
    return oa;
}

/* X tile = columns [n0, n0 + nn) of job's B matrix. */
static void mm_fill(const void *user, int64_t job, int64_t n0, int64_t nn, void *dst, int64_t ld)
{
    const mmuser *mu = user;
    const mmdims *d = mu->d;
    int64_t oa, ob;
    mm_batch(d, job, &oa, &ob);
    for (int64_t k = 0; k < d->K; k++) {
        int64_t at = (ob * d->K + k) * d->N + n0;
        if (mu->B->dtype == FSC_DT_F64) memcpy((double *)dst + k * ld, (const double *)mu->B->data + at, (size_t)nn * sizeof(double));
        else memcpy((float *)dst + k * ld, (const float *)mu->B->data + at, (size_t)nn * sizeof(float));
    }
}

fsc_status fsc_k_matmul(const fsc_tensor *A, const fsc_tensor *B, const fsc_arith *a, const fsc_ctx *ctx,
                        fsc_tensor *y, fsc_error *err)
{
    mmdims d;
    fsc_status st = mm_dims(A, B, y, &d, err);
    if (st) return st;
    if (!fsc_fastmm_eligible(a, y->dtype) || A->dtype != y->dtype || B->dtype != y->dtype)
        return fsc_k_matmul_ref(A, B, a, ctx, y, err);
    mmuser mu = {&d, B};
    fsc_fastmm_job job = {
        .M = d.M, .K = d.K, .N = d.N, .jobs = d.nb,
        .w = A, .w_sets = d.na_mats, .w_set_stride = d.M * d.K, .w_m = d.K, .w_k = 1, .w_set_of = mm_set_of,
        .fill = mm_fill, .user = &mu,
        .y = y, .y_job_stride = d.M * d.N, .y_m = d.N, .y_n = 1,
    };
    return fsc_fastmm_run(&job, a, ctx, err);
}

fsc_status fsc_k_matmul_ref(const fsc_tensor *A, const fsc_tensor *B, const fsc_arith *a, const fsc_ctx *ctx,
                            fsc_tensor *y, fsc_error *err)
{
    mmdims d;
    fsc_status st = mm_dims(A, B, y, &d, err);
    if (st) return st;
    const char *why = fsc_k_dot_unsupported(a);
    if (why) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s", why);
    int64_t M = d.M, K = d.K, N = d.N;
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *buf = malloc((size_t)(K > 0 ? K : 1) * 2 * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t bm = 0; bm < d.nb * M; bm++) {
            if (!buf) continue;
            int64_t m = bm % M, oa, ob;
            mm_batch(&d, bm / M, &oa, &ob);
            double *av = buf, *bv = buf + K;
            for (int64_t k = 0; k < K; k++) av[k] = fsc_kget(A, (oa * M + m) * K + k);
            for (int64_t n = 0; n < N; n++) {
                for (int64_t k = 0; k < K; k++) bv[k] = fsc_kget(B, (ob * K + k) * N + n);
                fsc_kset(y, bm * N + n, fsc_kround(fsc_dot_ref(av, 1, bv, 1, K, false, 0.0, a), a->storage));
            }
        }
        free(buf);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in matmul");
    return FSC_OK;
}
