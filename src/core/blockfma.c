/* blockfma.c: the tensor-core block fused multiply-add of arith.h
 * (Khattak & Mikaitis' model of NVIDIA tensor cores), in exact integer
 * arithmetic.
 *
 * One block d = a . b + c:
 *  1. every input is split into an integer significand and an exponent
 *     clamped to its format's emin (subnormals keep a significand below 1);
 *     a product's exponent is the sum of its inputs' exponents and its
 *     significand, in [0, 4), the exact product of theirs;
 *  2. when the largest product (among those of the largest exponent) has a
 *     significand >= 2 and c does not exceed that exponent, the adder keeps
 *     one more alignment bit; products with significands >= 2 are then
 *     renormalised (exponent + 1), which loses no bit for our input formats;
 *  3. every term (products and c, as a binary32 significand with 23 fraction
 *     bits) is aligned to the largest exponent: shifted to keep `extra_bits`
 *     (+ the bit of step 2) bits below binary32's, the bits shifted out
 *     truncated (magnitudes, before the signs are applied);
 *  4. the signed terms are summed exactly, normalised once and rounded to the
 *     output with the block's rounding; with negative extra_bits the output
 *     keeps that many fewer significand bits (Hopper FP8);
 *  5. overflow of the exponent field gives an infinity, in both modes.
 * Zero products and a zero c take no part in the alignment. NaN anywhere, an
 * infinity times zero, or infinities of both signs give NaN; an infinity
 * otherwise gives that infinity. */
#include <math.h>
#include <stdint.h>

#include "flipscope/arith.h"

/* Binary32's fraction bits: the alignment grid is 2^-(FRAC + extra) of the
 * largest term's binade. */
#define FRAC 23

/* v (finite, nonzero, a value of a format with precision p and normal
 * exponent emin) as M * 2^(e - (p-1)) with e >= emin, M < 2^p. */
static void split(double v, int p, int emin, int64_t *M, int *e)
{
    int ex = ilogb(v);
    if (ex < emin) ex = emin;
    *e = ex;
    *M = (int64_t)ldexp(fabs(v), p - 1 - ex); /* exact: v is on the format's grid */
}

/* x (exact) rounded to precision p with normal exponent range down to emin
 * (subnormal spacing below it, or flushed when !sub), by truncation or
 * nearest-even; an exponent beyond emax gives an infinity. */
static double round_out(double x, int p, int emin, int emax, fsc_rounding mode, bool sub)
{
    if (x == 0.0) return 0.0;
    int e = ilogb(x);
    int qe = (e < emin ? emin : e) - (p - 1);
    double y = ldexp(x, -qe); /* exact scaling */
    double r = mode == FSC_RND_TOWARD_ZERO ? trunc(y) : y - remainder(y, 1.0); /* remainder: ties to even */
    double res = ldexp(r, qe);
    if (res != 0.0 && ilogb(res) > emax) return copysign(INFINITY, x);
    if (!sub && fabs(res) < ldexp(1.0, emin)) return copysign(0.0, x);
    return res;
}

/* NaN/Inf handling of a block whose products or c are not all finite. */
static double special(const double *a, const double *b, int K, double c)
{
    bool pos = false, neg = false;
    for (int k = 0; k <= K; k++) {
        double v = k < K ? a[k] * b[k] : c;
        if (isnan(v)) return NAN;
        if (isinf(v)) *(v > 0 ? &pos : &neg) = true;
    }
    if (pos && neg) return NAN;
    return pos ? INFINITY : -INFINITY;
}

double fsc_blockfma_step(const double *a, const double *b, int K, double c, const fsc_blockfma *p)
{
    const fsc_format *fin = fsc_format_get(p->in), *fout = fsc_format_get(p->out);
    bool finite = isfinite(c);
    for (int k = 0; k < K && finite; k++) finite = isfinite(a[k] * b[k]) && isfinite(a[k]) && isfinite(b[k]);
    if (!finite) return special(a, b, K, c);

    /* Step 1: products as significand S (FRAC fraction bits) and exponent. */
    enum { MAXK = 256 };
    int64_t S[MAXK + 1];
    int E[MAXK + 1];
    bool negs[MAXK + 1];
    int n = 0;
    int fp = 2 * (fin->p - 1); /* fraction bits of an exact product significand */
    int maxpe = INT32_MIN;
    int64_t maxps = 0;
    for (int k = 0; k < K && k < MAXK; k++) {
        if (a[k] == 0.0 || b[k] == 0.0) continue;
        int64_t Ma, Mb;
        int ea, eb;
        split(a[k], fin->p, fin->emin, &Ma, &ea);
        split(b[k], fin->p, fin->emin, &Mb, &eb);
        int64_t Mp = Ma * Mb; /* product significand, fp fraction bits, < 4 * 2^fp */
        S[n] = fp <= FRAC ? Mp << (FRAC - fp) : Mp >> (fp - FRAC);
        E[n] = ea + eb;
        negs[n] = (a[k] < 0) != (b[k] < 0);
        if (E[n] > maxpe) {
            maxpe = E[n];
            maxps = S[n];
        } else if (E[n] == maxpe && S[n] > maxps) {
            maxps = S[n];
        }
        n++;
    }
    if (n == 0 && c == 0.0) return 0.0;

    /* c as a binary32 significand with FRAC fraction bits (its own binary32
     * exponent, also when c is an fp16 value). */
    int64_t Sc = 0;
    int Ec = 0;
    if (c != 0.0) split(c, 24, -126, &Sc, &Ec);

    /* Step 2: one more alignment bit when the largest product is >= 2. */
    int extra = p->extra_bits;
    if (n > 0 && maxps >= ((int64_t)2 << FRAC) && (c == 0.0 || maxpe >= Ec)) extra++;
    for (int i = 0; i < n; i++)
        if (S[i] >= ((int64_t)2 << FRAC)) {
            S[i] >>= 1; /* exact for inputs of at most 12 significand bits */
            E[i]++;
        }
    if (c != 0.0) {
        S[n] = Sc;
        E[n] = Ec;
        negs[n] = c < 0;
        n++;
    }

    /* Step 3: align to the largest exponent, truncating what is shifted out. */
    int emax = INT32_MIN;
    for (int i = 0; i < n; i++)
        if (E[i] > emax) emax = E[i];
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = extra >= 0 ? S[i] << extra : S[i] >> -extra;
        int sh = emax - E[i];
        v = sh >= 62 ? 0 : v >> sh;
        sum += negs[i] ? -v : v;
    }
    if (sum == 0) return 0.0;

    /* Step 4: the exact sum, normalised and rounded once. */
    double x = ldexp((double)sum, emax - FRAC - extra); /* exact: |sum| < 2^40 */
    int pout = fout->p + (p->extra_bits < 0 ? p->extra_bits : 0);
    return round_out(x, pout, fout->emin, fout->emax, p->rounding, p->subnormals_out);
}

double fsc_blockfma_dot(const double *a, int64_t sa, const double *b, int64_t sb, int64_t K, double c0,
                        const fsc_blockfma *p)
{
    enum { MAXK = 256 };
    double ab[MAXK], bb[MAXK];
    int blk = p->block < 1 ? 1 : (p->block > MAXK ? MAXK : p->block);
    double c = c0;
    for (int64_t k0 = 0; k0 < K; k0 += blk) {
        int n = (int)(K - k0 < blk ? K - k0 : blk);
        for (int i = 0; i < n; i++) {
            ab[i] = a[(k0 + i) * sa];
            bb[i] = b[(k0 + i) * sb];
        }
        c = fsc_blockfma_step(ab, bb, n, c, p);
    }
    return c;
}
