/* gemm_bfma.c: the block-FMA engine's driver (see gemm_bfma.h).
 *
 * Weights are packed once per job into blocks of MR rows, [set][m-block][k][MR],
 * with their clamped exponents alongside; per task (one job, one tile of NT
 * columns) a thread fills an X tile [K][NT], rounds it to the block's input
 * format where fsc_dot_ref does, takes the exponents, and for each NR-column
 * panel and m-block runs a micro-kernel, or the scalar model where the panel
 * or the m-block holds a value the kernels do not take or the micro-kernel
 * declines. The epilogue adds the bias in the accumulator format and rounds
 * to storage as fsc_dot_ref and the reference kernels do. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm_bfma.h"
#include "kernels/kutil.h"
#include "kernels/ops.h"

#define NT_COLS 192 /* tile width: a multiple of every micro-kernel's NR */
#define EXP_LO_INIT 1000
#define EXP_HI_INIT (-1000)

static int64_t n_kernel_tiles, n_scalar_tiles;

void fsc_bfma_counts(int64_t *kernel_tiles, int64_t *scalar_tiles)
{
#pragma omp atomic read
    *kernel_tiles = n_kernel_tiles;
#pragma omp atomic read
    *scalar_tiles = n_scalar_tiles;
}

/* True when p holds nothing but the fields this engine knows: any other byte
 * (a field added to fsc_blockfma later, set to a nonzero value) sends the
 * model to the scalar reference. */
static bool only_known_fields(const fsc_blockfma *p)
{
    unsigned char b[sizeof *p];
    memcpy(b, p, sizeof b);
#define CLEAR(f) memset(b + offsetof(fsc_blockfma, f), 0, sizeof p->f)
    CLEAR(block);
    CLEAR(extra_bits);
    CLEAR(rounding);
    CLEAR(out);
    CLEAR(in);
    CLEAR(in_truncate);
    CLEAR(subnormals_out);
    CLEAR(chunks);
    CLEAR(chunk_run);
    CLEAR(late_c);
#undef CLEAR
    for (size_t i = 0; i < sizeof b; i++)
        if (b[i]) return false;
    return true;
}

bool fsc_bfma_eligible(const fsc_arith *a, fsc_dtype container)
{
    const fsc_blockfma *p = &a->block_fma;
    if (container != FSC_DT_F32 || p->block < 1 || p->block > 256 || !only_known_fields(p)) return false;
    /* Input formats whose products are exact binary32 numbers (at most 11 significand bits). */
    if (p->in != FSC_FMT_FP16 && p->in != FSC_FMT_BF16 && p->in != FSC_FMT_TF32 && p->in != FSC_FMT_E4M3 &&
        p->in != FSC_FMT_E5M2)
        return false;
    if (p->out != FSC_FMT_FP32 || !p->subnormals_out) return false;
    if (p->extra_bits < -20 || p->extra_bits > 2) return false;
    if (p->rounding != FSC_RND_TOWARD_ZERO && p->rounding != FSC_RND_NEAREST_EVEN) return false;
    /* One block per block (chunk_run only matters with chunks > 1); c added
     * late only with a full binary32 output (then one binary32 addition). */
    if (p->chunks > 1 || (p->late_c && p->extra_bits < 0)) return false;
    /* Callers of the fast engines may round operands to a->operand before the
     * job (conv2d does); that must be the block's own input rounding. */
    fsc_rounding in_rnd = p->in_truncate ? FSC_RND_TOWARD_ZERO : FSC_RND_NEAREST_EVEN;
    return a->operand == p->in && a->operand_rounding == in_rnd;
}

/* The dot products of a micro-tile by the scalar model, chained block by block as fsc_dot_ref does. */
static void scalar_tile(const fsc_blockfma *p, int64_t K, const float *wb, int mr, const float *xt, int64_t ld,
                        int64_t mrows, int64_t ncol, int nr, float *out, double *buf)
{
    double *xb = buf, *wv = buf + p->block;
    for (int64_t i = 0; i < mrows; i++)
        for (int64_t j = 0; j < ncol; j++) {
            double acc = 0.0;
            for (int64_t k0 = 0; k0 < K; k0 += p->block) {
                int n = (int)(K - k0 < p->block ? K - k0 : p->block);
                for (int t = 0; t < n; t++) {
                    xb[t] = xt[(k0 + t) * ld + j];
                    wv[t] = wb[(k0 + t) * mr + i];
                }
                acc = fsc_blockfma_step(xb, wv, n, acc, p);
            }
            out[i * nr + j] = (float)acc;
        }
}

/* Exponent statistics of a packed m-block or an X panel. */
typedef struct bstat {
    int bad, lo, hi;
} bstat;

static bool products_in_range(const bstat *w, const bstat *x)
{
    return !w->bad && !x->bad && w->lo + x->lo >= -126 && w->hi + x->hi <= 125;
}

fsc_status fsc_bfma_run(const fsc_fastmm_job *job, const fsc_arith *a, const fsc_ctx *ctx, int max_isa,
                        fsc_error *err)
{
    const fsc_blockfma *p = &a->block_fma;
    fsc_bfma_cfg cfg = {p->block, p->extra_bits, 24 + (p->extra_bits < 0 ? p->extra_bits : 0),
                        p->rounding == FSC_RND_TOWARD_ZERO, fsc_format_get(p->in)->emin, p->late_c};
    int isa = fsc_fastmm_isa(max_isa);
    /* The widest variant allowed that takes these parameters (the portable one takes all). */
    static const fsc_bfma_ukr *const variants[3] = {&fsc_bfma_uk_portable, &fsc_bfma_uk_avx2, &fsc_bfma_uk_avx512};
    while (isa > 0 && !variants[isa]->takes(&cfg)) isa--;
    fsc_bfma_ukr u = *variants[isa];
    int64_t M = job->M, K = job->K, N = job->N;
    if (M == 0 || N == 0 || job->jobs == 0) return FSC_OK;
    /* Operands rounded to the block's input format exactly where fsc_dot_ref rounds them. */
    bool rx = !fsc_kfmt_within(a->storage, p->in), rw = rx || !fsc_kfmt_within(a->weights, p->in);
    int64_t nmb = (M + u.mr - 1) / u.mr, Kp = K > 0 ? K : 1;
    size_t nw = (size_t)job->w_sets * (size_t)nmb * (size_t)Kp * (size_t)u.mr;
    float *wp = fsc_malloc(nw * sizeof *wp, "packed weights", err);
    int16_t *ewp = wp ? fsc_malloc(nw * sizeof *ewp, "packed weight exponents", err) : NULL;
    bstat *wst = ewp ? fsc_malloc((size_t)(job->w_sets * nmb) * sizeof *wst, "weight statistics", err) : NULL;
    if (!wst) {
        free(wp);
        free(ewp);
        return FSC_ERR_NOMEM;
    }
    for (int64_t s = 0; s < job->w_sets; s++)
        for (int64_t b = 0; b < nmb; b++) {
            bstat *st = &wst[s * nmb + b];
            st->bad = 0, st->lo = EXP_LO_INIT, st->hi = EXP_HI_INIT;
            size_t base = (size_t)(s * nmb + b) * (size_t)Kp * (size_t)u.mr;
            for (int64_t k = 0; k < K; k++)
                for (int i = 0; i < u.mr; i++) {
                    int64_t m = b * u.mr + i;
                    double v = 0.0;
                    if (m < M) {
                        v = fsc_kget(job->w, s * job->w_set_stride + m * job->w_m + k * job->w_k);
                        if (rw) v = fsc_k_blockfma_in(v, p->in, p->in_truncate);
                    }
                    wp[base + (size_t)k * (size_t)u.mr + (size_t)i] = (float)v;
                }
            st->bad = fsc_bfma_uk_portable.exps(wp + base, ewp + base, u.mr, K, u.mr, cfg.emin_in, 0, &st->lo, &st->hi);
        }
    int64_t NT = N < NT_COLS ? (N + u.nr - 1) / u.nr * u.nr : NT_COLS;
    int64_t ntiles = (N + NT - 1) / NT, tasks = job->jobs * ntiles, npanels = NT / u.nr;
    int nt = fsc_kthreads(ctx);
    if (nt > tasks) nt = (int)tasks;
    fsc_status st_all = FSC_OK;
#pragma omp parallel num_threads(nt)
    {
        float *tile = malloc((size_t)Kp * (size_t)NT * sizeof *tile);
        int16_t *ex = malloc((size_t)Kp * (size_t)NT * sizeof *ex);
        float *acc = malloc((size_t)u.mr * (size_t)u.nr * sizeof *acc);
        double *buf = malloc((size_t)p->block * 2 * sizeof *buf);
        bstat *xst = malloc((size_t)npanels * sizeof *xst);
        bool ok = tile && ex && acc && buf && xst;
        int64_t nk = 0, ns = 0;
        if (!ok) {
#pragma omp atomic write
            st_all = FSC_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++) {
            if (!ok) continue;
            int64_t j = t / ntiles, n0 = (t % ntiles) * NT, nn = N - n0 < NT ? N - n0 : NT;
            int64_t ncols = (nn + u.nr - 1) / u.nr * u.nr;
            int64_t s = job->w_set_of ? job->w_set_of(job->user, j) : j % job->w_sets;
            job->fill(job->user, j, n0, nn, tile, NT);
            for (int64_t k = 0; k < K; k++) {
                float *row = tile + k * NT;
                for (int64_t c = nn; c < ncols; c++) row[c] = 0.0f;
                if (rx)
                    for (int64_t c = 0; c < nn; c++) row[c] = (float)fsc_k_blockfma_in(row[c], p->in, p->in_truncate);
            }
            for (int64_t c = 0; c < ncols / u.nr; c++) {
                xst[c] = (bstat){0, EXP_LO_INIT, EXP_HI_INIT};
                xst[c].bad = u.exps(tile + c * u.nr, ex + c * u.nr, NT, K, u.nr, cfg.emin_in, 127, &xst[c].lo, &xst[c].hi);
            }
            for (int64_t c0 = 0; c0 < nn; c0 += u.nr) {
                const float *xt = tile + c0;
                const int16_t *xe = ex + c0;
                int64_t ncol = nn - c0 < u.nr ? nn - c0 : u.nr;
                for (int64_t b = 0; b < nmb; b++) {
                    size_t base = (size_t)(s * nmb + b) * (size_t)Kp * (size_t)u.mr;
                    int64_t mrows = M - b * u.mr < u.mr ? M - b * u.mr : u.mr;
                    if (!products_in_range(&wst[s * nmb + b], &xst[c0 / u.nr]) ||
                        u.fn(&cfg, K, wp + base, ewp + base, xt, xe, NT, acc)) {
                        scalar_tile(p, K, wp + base, u.mr, xt, NT, mrows, ncol, u.nr, acc, buf);
                        ns++;
                    } else {
                        nk++;
                    }
                    for (int64_t i = 0; i < mrows; i++) {
                        int64_t m = b * u.mr + i;
                        size_t yo = (size_t)(j * job->y_job_stride + m * job->y_m + (n0 + c0) * job->y_n);
                        const fsc_tensor *bt = job->bias;
                        int64_t bo = s * job->bias_set_stride + m * job->bias_m + (n0 + c0) * job->bias_n;
                        double bv = bt ? fsc_kget(bt, bo) : 0.0;
                        const float *ar = acc + i * u.nr;
                        /* acc + bias in fp32 nearest-even is one binary32 addition of two binary32 values. */
                        bool vec = job->y->dtype == FSC_DT_F32 && job->y_n == 1 && (!bt || job->bias_n == 0) &&
                                   a->accum == FSC_FMT_FP32 && a->rounding == FSC_RND_NEAREST_EVEN &&
                                   (double)(float)bv == bv &&
                                   (a->storage == FSC_FMT_FP32 || a->storage == FSC_FMT_FP16 || a->storage == FSC_FMT_BF16);
                        if (vec) {
                            u.epi(ar, (float *)job->y->data + yo, ncol, (float)bv, a->storage);
                            continue;
                        }
                        for (int64_t q = 0; q < ncol; q++) {
                            double r = ar[q];
                            if (bt) r = fsc_kadd(r, fsc_kget(bt, bo + q * job->bias_n), a->accum, a->rounding);
                            fsc_kset(job->y, (int64_t)yo + q * job->y_n, fsc_kround(r, a->storage));
                        }
                    }
                }
            }
        }
#pragma omp atomic
        n_kernel_tiles += nk;
#pragma omp atomic
        n_scalar_tiles += ns;
        free(tile);
        free(ex);
        free(acc);
        free(buf);
        free(xst);
    }
    free(wp);
    free(ewp);
    free(wst);
    if (st_all) return fsc_fail(err, st_all, "out of memory in the block-FMA engine");
    return FSC_OK;
}
