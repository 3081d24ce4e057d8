/* matmul.c: numpy matmul: a 1-D A is [1, K] and a 1-D B is [K, 1] (the added
 * axis is dropped from the result); leading batch axes broadcast. Each output
 * is the dot product of arith.h without bias, rounded to storage. */
#include <stdlib.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

fsc_status fsc_k_matmul(const fsc_tensor *A, const fsc_tensor *B, const fsc_arith *a, const fsc_ctx *ctx,
                        fsc_tensor *y, fsc_error *err)
{
    int ra = A->shape.rank, rb = B->shape.rank;
    if (ra < 1 || rb < 1) return fsc_fail(err, FSC_ERR_INVALID, "matmul operands must have rank >= 1");
    const char *why = fsc_k_dot_unsupported(a);
    if (why) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s", why);
    int64_t M = ra >= 2 ? A->shape.dim[ra - 2] : 1, K = A->shape.dim[ra - 1];
    int64_t Kb = rb >= 2 ? B->shape.dim[rb - 2] : B->shape.dim[0], N = rb >= 2 ? B->shape.dim[rb - 1] : 1;
    if (K != Kb) return fsc_fail(err, FSC_ERR_INVALID, "matmul inner dimensions differ (%lld vs %lld)", (long long)K, (long long)Kb);
    /* Batch axes, right-aligned, with broadcast strides (in matrices) for A and B. */
    int bra = ra > 2 ? ra - 2 : 0, brb = rb > 2 ? rb - 2 : 0, br = bra > brb ? bra : brb;
    int64_t bd[FSC_MAX_RANK], sa[FSC_MAX_RANK], sb[FSC_MAX_RANK], nb = 1;
    int64_t ka = 1, kb = 1;
    for (int i = br - 1; i >= 0; i--) {
        int ia = i - (br - bra), ib = i - (br - brb);
        int64_t da = ia >= 0 ? A->shape.dim[ia] : 1, db = ib >= 0 ? B->shape.dim[ib] : 1;
        if (da != db && da != 1 && db != 1) return fsc_fail(err, FSC_ERR_INVALID, "matmul batch axes do not broadcast");
        bd[i] = da > db ? da : db;
        sa[i] = da == 1 ? 0 : ka;
        sb[i] = db == 1 ? 0 : kb;
        ka *= da;
        kb *= db;
        nb *= bd[i];
    }
    if (fsc_tensor_numel(y) != nb * M * N) return fsc_fail(err, FSC_ERR_INVALID, "matmul output size mismatch");
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
        for (int64_t bm = 0; bm < nb * M; bm++) {
            if (!buf) continue;
            int64_t bi = bm / M, m = bm % M, oa = 0, ob = 0, q = bi;
            for (int i = br - 1; i >= 0; i--) {
                int64_t c = q % bd[i];
                q /= bd[i];
                oa += c * sa[i];
                ob += c * sb[i];
            }
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
