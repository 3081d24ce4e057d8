/* reduce.c: reductions under the arithmetic model: reduce_mean, global
 * average pool, softmax, layer normalisation, batch normalisation.
 *
 * Sums run in a->reduce with a->reduce_order (sequential from +0, pairwise
 * halving, or blocks of a->block), each addition correctly rounded; means
 * divide the sum by the exact count with one rounding to a->reduce; the
 * result is rounded to a->storage.
 * Softmax: e_i = exp(x_i - max) rounded to a->reduce (with transcendental =
 * STORAGE the difference and the exponential are first rounded to storage),
 * S = sum of e_i, y_i = e_i / S rounded to reduce, then to storage.
 * Layernorm: mean and variance (mean of the squared deviations, each square
 * rounded to reduce) in reduce; y = (x - mean) * (1 / sqrt(var + eps)) *
 * scale + bias evaluated in double from the reduce-format statistics and
 * rounded once to storage (each step to storage with transcendental =
 * STORAGE). Batchnorm (inference) is elementwise: y = (x - mean) /
 * sqrt(var + eps) * scale + bias in double, rounded once to storage. */
#include <math.h>
#include <stdlib.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

static double rsum(const double *x, int64_t n, fsc_format_id fmt)
{
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc = fsc_kadd(acc, x[i], fmt, FSC_RND_NEAREST_EVEN);
    return acc;
}

static double psum(const double *x, int64_t n, fsc_format_id fmt)
{
    if (n <= 1) return rsum(x, n, fmt);
    int64_t h = n / 2;
    return fsc_kadd(psum(x, h, fmt), psum(x + h, n - h, fmt), fmt, FSC_RND_NEAREST_EVEN);
}

double fsc_k_reduce_sum(const double *x, int64_t n, fsc_format_id fmt, fsc_sum_order order, int block)
{
    if (order == FSC_ORDER_PAIRWISE) return psum(x, n, fmt);
    if (order == FSC_ORDER_BLOCKED && block > 0) {
        double acc = 0.0;
        for (int64_t i = 0; i < n; i += block)
            acc = fsc_kadd(acc, rsum(x + i, n - i < block ? n - i : block, fmt), fmt, FSC_RND_NEAREST_EVEN);
        return acc;
    }
    return rsum(x, n, fmt);
}

static double mean_of(const double *x, int64_t n, const fsc_arith *a)
{
    double s = fsc_k_reduce_sum(x, n, a->reduce, a->reduce_order, a->block);
    return fsc_kdiv(s, (double)n, a->reduce);
}

/* Splits a shape into outer x (reduced) x inner around the axes [lo, hi). */
static void split3(const fsc_shape *s, int lo, int hi, int64_t *outer, int64_t *mid, int64_t *inner)
{
    *outer = *mid = *inner = 1;
    for (int i = 0; i < s->rank; i++) {
        if (i < lo) *outer *= s->dim[i];
        else if (i < hi) *mid *= s->dim[i];
        else *inner *= s->dim[i];
    }
}

fsc_status fsc_k_reduce_mean(const fsc_attr_axes *at, const fsc_tensor *x, const fsc_arith *a,
                             const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    const fsc_shape *s = &x->shape;
    bool red[FSC_MAX_RANK] = {false};
    if (at->naxes == 0)
        for (int i = 0; i < s->rank; i++) red[i] = true;
    for (int i = 0; i < at->naxes; i++) {
        int64_t ax = at->axes[i] < 0 ? at->axes[i] + s->rank : at->axes[i];
        if (ax < 0 || ax >= s->rank) return fsc_fail(err, FSC_ERR_INVALID, "reduce axis %lld out of range", (long long)at->axes[i]);
        red[ax] = true;
    }
    /* Output index space = kept axes; reduced index space = reduced axes, both in C order. */
    int64_t nred = 1, nout = 1;
    int64_t kd[FSC_MAX_RANK], rd[FSC_MAX_RANK], kst[FSC_MAX_RANK], rst[FSC_MAX_RANK];
    int nk = 0, nr = 0;
    int64_t stride = 1, st[FSC_MAX_RANK];
    for (int i = s->rank - 1; i >= 0; i--) { st[i] = stride; stride *= s->dim[i]; }
    for (int i = 0; i < s->rank; i++) {
        if (red[i]) { rd[nr] = s->dim[i]; rst[nr++] = st[i]; nred *= s->dim[i]; }
        else { kd[nk] = s->dim[i]; kst[nk++] = st[i]; nout *= s->dim[i]; }
    }
    if (nred == 0) return fsc_fail(err, FSC_ERR_INVALID, "reduce_mean over an empty axis");
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *buf = malloc((size_t)nred * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t o = 0; o < nout; o++) {
            if (!buf) continue;
            int64_t base = 0, r = o;
            for (int i = nk - 1; i >= 0; i--) { base += (r % kd[i]) * kst[i]; r /= kd[i]; }
            for (int64_t j = 0; j < nred; j++) {
                int64_t off = base, q = j;
                for (int i = nr - 1; i >= 0; i--) { off += (q % rd[i]) * rst[i]; q /= rd[i]; }
                buf[j] = fsc_kget(x, off);
            }
            fsc_kset(y, o, fsc_kround(mean_of(buf, nred, a), a->storage));
        }
        free(buf);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in reduce_mean");
    return FSC_OK;
}

fsc_status fsc_k_global_avgpool(const fsc_tensor *x, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                                fsc_error *err)
{
    if (x->shape.rank < 3) return fsc_fail(err, FSC_ERR_INVALID, "global average pool needs rank >= 3");
    int64_t outer, n, inner;
    split3(&x->shape, 2, x->shape.rank, &outer, &n, &inner);
    if (n == 0) return fsc_fail(err, FSC_ERR_INVALID, "global average pool over an empty window");
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *buf = malloc((size_t)n * sizeof *buf);
        if (!buf) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t o = 0; o < outer; o++) {
            if (!buf) continue;
            for (int64_t j = 0; j < n; j++) buf[j] = fsc_kget(x, o * n + j);
            fsc_kset(y, o, fsc_kround(mean_of(buf, n, a), a->storage));
        }
        free(buf);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in global average pool");
    return FSC_OK;
}

/* Rounds an intermediate of a composite function when the model says so. */
static inline double tstep(double v, const fsc_arith *a)
{
    return a->transcendental == FSC_TRANS_STORAGE ? fsc_kround(v, a->storage) : v;
}

static int64_t norm_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

fsc_status fsc_k_softmax(const fsc_attr_axis *at, const fsc_tensor *x, const fsc_arith *a, const fsc_ctx *ctx,
                         fsc_tensor *y, fsc_error *err)
{
    int64_t ax = norm_axis(at->axis, x->shape.rank);
    if (ax < 0 || ax >= x->shape.rank) return fsc_fail(err, FSC_ERR_INVALID, "softmax axis %lld out of range", (long long)at->axis);
    int64_t outer, n, inner;
    split3(&x->shape, (int)ax, (int)ax + 1, &outer, &n, &inner);
    if (n == 0) return FSC_OK;
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *e = malloc((size_t)n * sizeof *e);
        if (!e) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t o = 0; o < outer * inner; o++) {
            if (!e) continue;
            int64_t base = (o / inner) * n * inner + o % inner;
            double mx = -INFINITY;
            for (int64_t j = 0; j < n; j++) {
                double v = fsc_kget(x, base + j * inner);
                if (v > mx || isnan(v)) mx = v;
            }
            for (int64_t j = 0; j < n; j++)
                e[j] = fsc_kround(tstep(exp(tstep(fsc_kget(x, base + j * inner) - mx, a)), a), a->reduce);
            double S = fsc_k_reduce_sum(e, n, a->reduce, a->reduce_order, a->block);
            for (int64_t j = 0; j < n; j++)
                fsc_kset(y, base + j * inner, fsc_kround(fsc_kdiv(e[j], S, a->reduce), a->storage));
        }
        free(e);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in softmax");
    return FSC_OK;
}

fsc_status fsc_k_layernorm(const fsc_attr_norm *at, const fsc_tensor *x, const fsc_tensor *scale,
                           const fsc_tensor *bias, const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y,
                           fsc_error *err)
{
    int64_t ax = norm_axis(at->axis, x->shape.rank);
    if (ax < 0 || ax >= x->shape.rank) return fsc_fail(err, FSC_ERR_INVALID, "layernorm axis %lld out of range", (long long)at->axis);
    int64_t outer, n, inner;
    split3(&x->shape, (int)ax, x->shape.rank, &outer, &n, &inner);
    int64_t ns = fsc_tensor_numel(scale), nb = bias ? fsc_tensor_numel(bias) : 0;
    if (n == 0) return FSC_OK;
    if ((ns != n && ns != 1) || (bias && nb != n && nb != 1))
        return fsc_fail(err, FSC_ERR_INVALID, "layernorm scale/bias size does not match the normalised size %lld", (long long)n);
    int nt = fsc_kthreads(ctx);
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        double *d = malloc((size_t)n * 2 * sizeof *d);
        if (!d) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t o = 0; o < outer; o++) {
            if (!d) continue;
            double *sq = d + n;
            for (int64_t j = 0; j < n; j++) d[j] = fsc_kget(x, o * n + j);
            double mean = mean_of(d, n, a);
            for (int64_t j = 0; j < n; j++) {
                d[j] = fsc_kround(d[j] - mean, a->reduce);
                sq[j] = fsc_kround(d[j] * d[j], a->reduce);
            }
            double var = mean_of(sq, n, a);
            double rstd = fsc_kround(1.0 / tstep(sqrt(tstep(var + at->epsilon, a)), a), a->reduce);
            for (int64_t j = 0; j < n; j++) {
                double g = fsc_kget(scale, ns == 1 ? 0 : j), b = bias ? fsc_kget(bias, nb == 1 ? 0 : j) : 0.0;
                double v = tstep(tstep(d[j] * rstd, a) * g, a) + b;
                fsc_kset(y, o * n + j, fsc_kround(v, a->storage));
            }
        }
        free(d);
    }
    if (st_all) return fsc_fail(err, st_all, "out of memory in layernorm");
    return FSC_OK;
}

fsc_status fsc_k_batchnorm(const fsc_attr_norm *at, const fsc_tensor *x, const fsc_tensor *scale,
                           const fsc_tensor *bias, const fsc_tensor *mean, const fsc_tensor *var,
                           const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    if (x->shape.rank < 2) return fsc_fail(err, FSC_ERR_INVALID, "batchnorm needs rank >= 2");
    int64_t outer, C, inner;
    split3(&x->shape, 1, 2, &outer, &C, &inner);
    if (fsc_tensor_numel(scale) != C || fsc_tensor_numel(bias) != C || fsc_tensor_numel(mean) != C ||
        fsc_tensor_numel(var) != C)
        return fsc_fail(err, FSC_ERR_INVALID, "batchnorm parameters must have %lld elements", (long long)C);
    int nt = fsc_kthreads(ctx);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t oc = 0; oc < outer * C; oc++) {
        int64_t c = oc % C;
        double m = fsc_kget(mean, c), g = fsc_kget(scale, c), b = fsc_kget(bias, c);
        double den = tstep(sqrt(tstep(fsc_kget(var, c) + at->epsilon, a)), a);
        for (int64_t i = 0; i < inner; i++) {
            int64_t k = oc * inner + i;
            double v = tstep(tstep(tstep(fsc_kget(x, k) - m, a) / den, a) * g, a) + b;
            fsc_kset(y, k, fsc_kround(v, a->storage));
        }
    }
    return FSC_OK;
}
