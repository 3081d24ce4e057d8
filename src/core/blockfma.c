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
 * otherwise gives that infinity.
 *
 * Two refinements, off when zero, reproduce Hopper and Blackwell FP8 units
 * (tests/fixtures/tensor-cores; docs/arithmetic.md has the evidence):
 *  - chunks > 1: the block's products are dealt to `chunks` sub-blocks in
 *    runs of chunk_run (an FP8 k32 instruction with fp16 output adds the
 *    products k mod 4 in {0, 1} first, then those in {2, 3}); each sub-block
 *    is steps 1-5 above, its accumulator the previous sub-block's rounded
 *    result;
 *  - late_c: c takes no part in the alignment; the products (sub-blocks)
 *    start from +0, and c is added to their rounded sum at the end with one
 *    nearest-even rounding (B200 FP8: the product sum truncated to fp32,
 *    then c added, rounded to nearest). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "flipscope/arith.h"

/* The largest block (the kernels refuse larger ones). */
#define MAXK 256

/* Binary32's fraction bits: the alignment grid is 2^-(FRAC + extra) of the
 * largest term's binade. */
#define FRAC 23

/* v (finite, nonzero, a value of a format with precision p and normal
 * exponent emin) as M * 2^(e - (p-1)) with e >= emin, M < 2^p, read from the
 * bits of the double (every value of our formats is a normal double). */
static inline void split(double v, int p, int emin, int64_t *M, int *e)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    int E = (int)((u >> 52) & 0x7ff) - 1023;
    uint64_t F = (u & 0xfffffffffffffull) | (1ull << 52);
    int ex = E < emin ? emin : E;
    *e = ex;
    *M = (int64_t)(F >> (52 - (p - 1) + (ex - E))); /* exact: v is on the format's grid */
}

/* The exact value mag * 2^e0 (mag > 0) with sign neg, rounded to precision p
 * with normal exponent range down to emin (subnormal spacing below it, or
 * flushed when !sub), by truncation or nearest-even, in integer arithmetic;
 * an exponent beyond emax gives an infinity. */
static double round_out(uint64_t mag, int e0, bool neg, int p, int emin, int emax, fsc_rounding mode, bool sub)
{
    int e = 63 - __builtin_clzll(mag) + e0; /* exponent of the leading bit */
    int qe = (e < emin ? emin : e) - (p - 1); /* exponent of the result's last place */
    int s = qe - e0;                           /* bits of mag below that place */
    uint64_t q;
    if (s <= 0) {
        q = mag << -s; /* exact: mag has at most p bits above the place */
    } else if (s >= 64) {
        q = 0; /* mag < 2^63 is below half a place */
    } else {
        q = mag >> s;
        uint64_t rem = mag & ((UINT64_C(1) << s) - 1), half = UINT64_C(1) << (s - 1);
        if (mode == FSC_RND_NEAREST_EVEN && (rem > half || (rem == half && (q & 1)))) q++;
    }
    double res = ldexp((double)q, qe); /* exact: q <= 2^p */
    if (q != 0 && ilogb(res) > emax) res = INFINITY;
    else if (!sub && res < ldexp(1.0, emin)) res = 0.0;
    return neg ? -res : res;
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

/* The precision the block rounds its result to: out's, less -extra_bits
 * when that is negative (Hopper FP8 keeps 13 fraction bits). */
static int out_precision(const fsc_blockfma *p)
{
    return fsc_format_get(p->out)->p + (p->extra_bits < 0 ? p->extra_bits : 0);
}

/* Steps 1-5 for K <= MAXK products and an accumulator c. */
static double one_block(const double *a, const double *b, int K, double c, const fsc_blockfma *p)
{
    const fsc_format *fin = fsc_format_get(p->in), *fout = fsc_format_get(p->out);
    if (!isfinite(c)) return special(a, b, K, c);

    /* Step 1: products as magnitude S (FRAC fraction bits), exponent E and
     * sign; step 2's flag from the largest unnormalised product, then each
     * product with a significand >= 2 renormalised (exact for inputs of at
     * most 12 significand bits). */
    int64_t S[MAXK + 1];
    int E[MAXK + 1];
    int64_t sg[MAXK + 1]; /* 0 or -1: the sign as a mask */
    int n = 0;
    const int p_in = fin->p, emin_in = fin->emin;
    const int fp = 2 * (p_in - 1); /* fraction bits of an exact product significand */
    const int64_t two = (int64_t)2 << FRAC;
    int maxpe = INT32_MIN, emax = INT32_MIN;
    int64_t maxps = 0;
    for (int k = 0; k < K; k++) {
        if (!isfinite(a[k]) || !isfinite(b[k])) return special(a, b, K, c);
        if (a[k] == 0.0 || b[k] == 0.0) continue;
        int64_t Ma, Mb;
        int ea, eb;
        split(a[k], p_in, emin_in, &Ma, &ea);
        split(b[k], p_in, emin_in, &Mb, &eb);
        int64_t Mp = Ma * Mb; /* product significand, fp fraction bits, < 4 * 2^fp */
        int64_t v = fp <= FRAC ? Mp << (FRAC - fp) : Mp >> (fp - FRAC);
        int ep = ea + eb;
        if (ep > maxpe) {
            maxpe = ep;
            maxps = v;
        } else if (ep == maxpe && v > maxps) {
            maxps = v;
        }
        if (v >= two) {
            v >>= 1;
            ep++;
        }
        S[n] = v;
        E[n] = ep;
        sg[n] = (signbit(a[k]) != signbit(b[k])) ? -1 : 0;
        if (ep > emax) emax = ep;
        n++;
    }
    if (n == 0 && c == 0.0) return 0.0;

    /* c as a binary32 significand with FRAC fraction bits (its own binary32
     * exponent, also when c is an fp16 value). */
    int extra = p->extra_bits;
    if (c != 0.0) {
        int64_t Sc;
        int Ec;
        split(c, 24, -126, &Sc, &Ec);
        if (n > 0 && maxps >= two && maxpe >= Ec) extra++;
        S[n] = Sc;
        E[n] = Ec;
        sg[n] = signbit(c) ? -1 : 0;
        if (Ec > emax) emax = Ec;
        n++;
    } else if (maxps >= two) {
        extra++;
    }

    /* Step 3: align to the largest exponent, truncating the magnitudes'
     * shifted-out bits, and sum exactly. */
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        int64_t v = extra >= 0 ? S[i] << extra : S[i] >> -extra;
        int sh = emax - E[i];
        v = sh >= 62 ? 0 : v >> sh;
        sum += (v ^ sg[i]) - sg[i]; /* v or -v */
    }
    if (sum == 0) return 0.0;

    /* Step 4: the exact sum, normalised and rounded once. */
    return round_out(sum < 0 ? (uint64_t)-sum : (uint64_t)sum, emax - FRAC - extra, sum < 0, out_precision(p),
                     fout->emin, fout->emax, p->rounding, p->subnormals_out);
}

/* late_c's last step: x + y rounded once to the block's output precision,
 * nearest-even. x is the products' rounded sum (a value of out, or an
 * infinity), y the finite accumulator input (a value of binary32's grid).
 * The sum is exact in 64 bits while the exponents are within G of each
 * other; a smaller y only decides the rounding by its sign (it lies far
 * inside one rounding interval next to x), so it is kept as one sticky unit. */
static double add_late(double x, double y, const fsc_blockfma *p)
{
    enum { G = 38 }; /* 24-bit significands shifted by G stay below 2^62 */
    const fsc_format *fout = fsc_format_get(p->out);
    if (!isfinite(x)) return x;
    if (x == 0.0 && y == 0.0) return signbit(x) && signbit(y) ? -0.0 : 0.0;
    int64_t Mx = 0, My = 0;
    int ex = 0, ey = 0;
    if (x != 0.0) split(x, 24, -126, &Mx, &ex);
    if (y != 0.0) split(y, 24, -126, &My, &ey);
    if (x == 0.0) ex = ey;
    if (y == 0.0) ey = ex;
    if (ex < ey) { /* x the operand of the larger exponent */
        int64_t tm = Mx;
        int te = ex;
        double tv = x;
        Mx = My, ex = ey, x = y;
        My = tm, ey = te, y = tv;
    }
    int d = ex - ey;
    int64_t sx = Mx << G, sy = d <= G ? My << (G - d) : (My != 0);
    int64_t s = (signbit(x) ? -sx : sx) + (signbit(y) ? -sy : sy);
    if (s == 0) return 0.0; /* exact cancellation: +0 under nearest-even */
    return round_out(s < 0 ? (uint64_t)-s : (uint64_t)s, ex - FRAC - G, s < 0, out_precision(p), fout->emin,
                     fout->emax, FSC_RND_NEAREST_EVEN, p->subnormals_out);
}

double fsc_blockfma_step(const double *a, const double *b, int K, double c, const fsc_blockfma *p)
{
    if (K > MAXK) K = MAXK; /* callers (fsc_blockfma_dot, dot.c) never pass more */
    if (p->chunks <= 1 && !p->late_c) return one_block(a, b, K, c, p);

    /* NaN and infinities are decided on the whole block, as one_block does. */
    bool finite = isfinite(c);
    for (int k = 0; k < K && finite; k++) finite = isfinite(a[k]) && isfinite(b[k]);
    if (!finite) return special(a, b, K, c);

    double acc = p->late_c ? 0.0 : c;
    if (p->chunks <= 1) {
        acc = one_block(a, b, K, acc, p);
    } else {
        int run = p->chunk_run > 0 ? p->chunk_run : 1;
        double ca[MAXK], cb[MAXK];
        for (int j = 0; j < p->chunks; j++) {
            int n = 0;
            for (int k = 0; k < K; k++) {
                if ((k / run) % p->chunks != j) continue;
                ca[n] = a[k];
                cb[n] = b[k];
                n++;
            }
            acc = one_block(ca, cb, n, acc, p);
        }
    }
    return p->late_c ? add_late(acc, c, p) : acc;
}

double fsc_blockfma_dot(const double *a, int64_t sa, const double *b, int64_t sb, int64_t K, double c0,
                        const fsc_blockfma *p)
{
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
