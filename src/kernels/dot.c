/* dot.c: the reference dot product of arith.h, one term at a time.
 *
 * Every accumulation step is a single correct rounding of the exact value
 * acc + product: the pair is summed with TwoSum and the (sum, error) pair
 * rounded with fsc_round_exact2, because acc + p is not always exact in a
 * double (a tiny fp16 accumulator plus a large 22-bit product spans more
 * than 53 bits).
 *
 * Orders, precisely:
 *  - sequential: acc = +0, then acc = rnd(acc + p_k) for k = 0..K-1;
 *  - pairwise: sum(k0, n) = rnd(sum(k0, n/2) + sum(k0 + n/2, n - n/2)); a
 *    single term is rnd(+0 + p_k), the product brought into the accumulator;
 *  - blocked: each block of `block` consecutive terms summed sequentially from
 *    +0, then the block sums added sequentially into a +0 accumulator.
 * The bias, when present, is added once at the end: rnd(acc + bias).
 * With a block FMA (a->block_fma.block > 0) the operands are rounded to
 * block_fma.in (truncated when in_truncate, as TF32 units read fp32) and the
 * dot product is a chain of tensor-core blocks from an accumulator of +0
 * (fsc_blockfma_step); the bias is then added as above. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/kutil.h"
#include "kernels/ops.h"

typedef struct dotcfg {
    fsc_format_id operand, product, accum;
    fsc_rounding operand_rounding, rounding;
} dotcfg;

/* Adds the exact product of x and w (operands already rounded) to acc, rounded once. */
static double step(const dotcfg *c, double acc, double x, double w)
{
    if (c->product == FSC_FMT_FP64 && c->accum == FSC_FMT_FP64 && c->rounding == FSC_RND_NEAREST_EVEN)
        return fma(x, w, acc); /* exact product + acc, one rounding (also for fp64 operands) */
    double hi = x * w;
    double lo = fma(x, w, -hi); /* exact error of the product: 0 for operands of <= 26 bits */
    if (c->product != FSC_FMT_FP64) {
        fsc_round_opts o = {c->rounding, true, false};
        hi = lo == 0.0 ? fsc_kround_mode(hi, c->product, c->rounding) : fsc_round_exact2(hi, lo, c->product, o);
        lo = 0.0;
    }
    if (lo == 0.0) return fsc_kadd(acc, hi, c->accum, c->rounding);
    /* fp64 operands with an exact (fused) product: only an fp64 nearest-even
     * accumulator is supported (fsc_k_dot_unsupported refuses the others). */
    return fma(x, w, acc);
}

static double seq(const dotcfg *c, const double *x, ptrdiff_t sx, const double *w, ptrdiff_t sw, int64_t k0,
                  int64_t n)
{
    double acc = 0.0;
    for (int64_t k = k0; k < k0 + n; k++) {
        double xv = fsc_kround_mode(x[k * sx], c->operand, c->operand_rounding);
        double wv = fsc_kround_mode(w[k * sw], c->operand, c->operand_rounding);
        acc = step(c, acc, xv, wv);
    }
    return acc;
}

static double pairwise(const dotcfg *c, const double *x, ptrdiff_t sx, const double *w, ptrdiff_t sw, int64_t k0,
                       int64_t n)
{
    if (n <= 1) return seq(c, x, sx, w, sw, k0, n);
    int64_t h = n / 2;
    double l = pairwise(c, x, sx, w, sw, k0, h);
    double r = pairwise(c, x, sx, w, sw, k0 + h, n - h);
    return fsc_kadd(l, r, c->accum, c->rounding);
}

/* x rounded to the block's input format: nearest-even, or truncation (TF32
 * read from fp32), the latter by clearing the double's low significand bits
 * in the normal range. */
static inline double round_in(double x, fsc_format_id in, bool truncate)
{
    if (!truncate) return fsc_kround(x, in);
    double ax = fabs(x);
    if (!(ax >= fsc_kfmt[in].min_normal && ax <= fsc_kfmt[in].max_finite)) {
        fsc_round_opts o = {FSC_RND_TOWARD_ZERO, true, false};
        return fsc_round(x, in, o);
    }
    uint64_t b;
    memcpy(&b, &x, 8);
    b &= ~((UINT64_C(1) << (53 - fsc_kfmt[in].p)) - 1);
    memcpy(&x, &b, 8);
    return x;
}

double fsc_k_blockfma_in(double x, fsc_format_id in, bool truncate) { return round_in(x, in, truncate); }

/* The tensor-core dot product: blocks of block_fma.block terms, each block's
 * operands rounded to block_fma.in (skipped where the contract already makes
 * them values of it: x holds activations, w weights or activations), chained
 * through the accumulator. */
static double blockfma(const fsc_arith *a, const double *x, ptrdiff_t sx, const double *w, ptrdiff_t sw,
                       int64_t K)
{
    enum { MAXB = 256 }; /* fsc_k_dot_unsupported refuses larger blocks */
    const fsc_blockfma *p = &a->block_fma;
    double xb[MAXB], wb[MAXB];
    bool rx = !fsc_kfmt_within(a->storage, p->in), rw = rx || !fsc_kfmt_within(a->weights, p->in);
    double acc = 0.0;
    for (int64_t k0 = 0; k0 < K; k0 += p->block) {
        int n = (int)(K - k0 < p->block ? K - k0 : p->block);
        for (int i = 0; i < n; i++) {
            double xv = x[(k0 + i) * sx], wv = w[(k0 + i) * sw];
            xb[i] = rx ? round_in(xv, p->in, p->in_truncate) : xv;
            wb[i] = rw ? round_in(wv, p->in, p->in_truncate) : wv;
        }
        acc = fsc_blockfma_step(xb, wb, n, acc, p);
    }
    return acc;
}

const char *fsc_k_dot_unsupported(const fsc_arith *a)
{
    if (a->block_fma.block > 256) return "block FMA with more than 256 products per block";
    if (a->block_fma.block > 0) {
        if (a->block_fma.out != FSC_FMT_FP32 && a->block_fma.out != FSC_FMT_FP16)
            return "block FMA output other than fp32 or fp16";
        return NULL;
    }
    if (a->order == FSC_ORDER_BLOCKED && a->block < 1) return "blocked summation order with block < 1";
    if (a->product == FSC_FMT_FP64 && a->operand == FSC_FMT_FP64 &&
        (a->storage == FSC_FMT_FP64 || a->weights == FSC_FMT_FP64) &&
        !(a->accum == FSC_FMT_FP64 && a->rounding == FSC_RND_NEAREST_EVEN))
        return "exact fp64 products need an fp64 nearest-even accumulator";
    return NULL;
}

double fsc_dot_ref(const double *x, ptrdiff_t sx, const double *w, ptrdiff_t sw, int64_t K, bool has_bias,
                   double bias, const fsc_arith *a)
{
    if (fsc_k_dot_unsupported(a)) return NAN; /* callers check supports first */
    dotcfg c = {a->operand, a->product, a->accum, a->operand_rounding, a->rounding};
    double acc;
    if (a->block_fma.block > 0) {
        acc = blockfma(a, x, sx, w, sw, K);
        if (has_bias) acc = fsc_kadd(acc, bias, c.accum, c.rounding);
        return acc;
    }
    switch (a->order) {
    case FSC_ORDER_PAIRWISE: acc = K > 0 ? pairwise(&c, x, sx, w, sw, 0, K) : 0.0; break;
    case FSC_ORDER_BLOCKED:
        acc = 0.0;
        for (int64_t k0 = 0; k0 < K; k0 += a->block) {
            int64_t n = K - k0 < a->block ? K - k0 : a->block;
            acc = fsc_kadd(acc, seq(&c, x, sx, w, sw, k0, n), c.accum, c.rounding);
        }
        break;
    default: acc = seq(&c, x, sx, w, sw, 0, K); break;
    }
    if (has_bias) acc = fsc_kadd(acc, bias, c.accum, c.rounding);
    return acc;
}
