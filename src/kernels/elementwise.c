/* elementwise.c: unary and broadcasting binary ops. Each output is computed
 * in double from the (already rounded) inputs and rounded once to
 * a->storage; with transcendental = STORAGE every intermediate step of a
 * composite function is rounded to storage as well:
 *   sigmoid = 1 / (1 + exp(-x)), silu = x * sigmoid(x),
 *   gelu = 0.5 * x * (1 + erf(x / sqrt 2)) or, tanh form,
 *   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
#include <math.h>

#include "kernels/kutil.h"
#include "kernels/ops.h"

static inline double ts(double v, bool storage_steps, fsc_format_id f)
{
    return storage_steps ? fsc_kround(v, f) : v;
}

static double sigmoid_of(double x, bool st, fsc_format_id f)
{
    return 1.0 / ts(1.0 + ts(exp(ts(-x, st, f)), st, f), st, f);
}

/* The value of unary op at x, before the final rounding to storage. */
static double unary_value(fsc_op op, const fsc_attrs *at, double x, bool st, fsc_format_id f)
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
    if (x->dtype == FSC_DT_F32) {
        const float *xp = x->data;
        float *yp = y->data;
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t i = 0; i < n; i++) yp[i] = (float)fsc_kround(unary_value(op, at, xp[i], st, f), f);
    } else {
#pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t i = 0; i < n; i++) fsc_kset(y, i, fsc_kround(unary_value(op, at, fsc_kget(x, i), st, f), f));
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

fsc_status fsc_k_binary(fsc_op op, const fsc_tensor *x, const fsc_tensor *z, const fsc_arith *a,
                        const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    if (op != FSC_OP_ADD && op != FSC_OP_SUB && op != FSC_OP_MUL && op != FSC_OP_DIV && op != FSC_OP_POW)
        return fsc_fail(err, FSC_ERR_INTERNAL, "op %d is not a binary elementwise op", (int)op);
    int64_t sx[FSC_MAX_RANK], sz[FSC_MAX_RANK];
    const fsc_shape *ys = &y->shape;
    if (!bstrides(&x->shape, ys, sx) || !bstrides(&z->shape, ys, sz))
        return fsc_fail(err, FSC_ERR_INVALID, "operands do not broadcast to the output shape");
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
