/* quant_int.c: integer execution of W8A8 conv / linear (quant_int.h). */
#include "kernels/quant_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int64_t fsc_qint_round_shift(int64_t v, int r, fsc_requant_rounding mode)
{
    if (r <= 0) return v;
    if (r > 62) return 0; /* |v| < 2^62 by the callers: |v / 2^r| < 1/2 */
    int64_t d = INT64_C(1) << r;
    int64_t fl = v / d, rem = v % d; /* C truncates: make fl the floor, 0 <= rem < d */
    if (rem < 0) {
        fl -= 1;
        rem += d;
    }
    int64_t half = d / 2;
    if (rem > half) return fl + 1;
    if (rem < half) return fl;
    switch (mode) { /* exactly halfway between fl and fl + 1 */
    case FSC_REQ_HALF_EVEN: return (fl & 1) ? fl + 1 : fl;
    case FSC_REQ_HALF_AWAY: return fl >= 0 ? fl + 1 : fl;
    case FSC_REQ_HALF_UP: default: return fl + 1;
    }
}

double fsc_qint_round(double x, fsc_requant_rounding mode)
{
    double fl = floor(x), d = x - fl; /* exact: fl is within 1 of x */
    if (d > 0.5) return fl + 1;
    if (d < 0.5) return fl;
    switch (mode) {
    case FSC_REQ_HALF_EVEN: return fmod(fl, 2.0) != 0.0 ? fl + 1 : fl;
    case FSC_REQ_HALF_AWAY: return fl >= 0 ? fl + 1 : fl;
    case FSC_REQ_HALF_UP: default: return fl + 1;
    }
}

fsc_status fsc_qint_multiplier(double m, int32_t *m0, int *e, fsc_error *err)
{
    if (!(m > 0) || !(m < 0x1p31))
        return fsc_fail(err, FSC_ERR_INVALID, "requantization multiplier %g is outside (0, 2^31)", m);
    int ex;
    double fr = frexp(m, &ex);              /* m = fr * 2^ex, fr in [0.5, 1) */
    int64_t q = llround(fr * 0x1p31);       /* gemmlowp: std::round, half away from zero */
    if (q == (INT64_C(1) << 31)) {
        q /= 2;
        ex++;
    }
    *m0 = (int32_t)q;
    *e = ex;
    return FSC_OK;
}

static int8_t clamp8(int64_t v) { return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v); }

fsc_status fsc_qint_requantize(int32_t acc, double sxw, double sy, const fsc_arith *a, int8_t *q, fsc_error *err)
{
    if (a->requant_fixed_point) {
        int32_t m0 = 0;
        int e = 0;
        fsc_status s = fsc_qint_multiplier(sxw / sy, &m0, &e, err);
        if (s) return s;
        int r = 31 - e;
        if (r < 0) return fsc_fail(err, FSC_ERR_INVALID, "requantization multiplier %g too large", sxw / sy);
        *q = clamp8(fsc_qint_round_shift((int64_t)acc * m0, r, a->requant));
        return FSC_OK;
    }
    float m = (float)sxw / (float)sy;  /* fp32 scales, one fp32 division (MLAS keeps the scale in fp32) */
    float v = (float)acc * m;          /* fp32(acc) * M rounded to fp32 */
    *q = clamp8((int64_t)fsc_qint_round((double)v, a->requant));
    return FSC_OK;
}

/* ---- pattern ---- */

typedef struct qpat {
    double sx;               /* activation scale */
    const fsc_tensor *qw;    /* int8 weight constant */
    const fsc_tensor *sw;    /* weight scale: 1 or Cout elements */
    int bias;                /* value id of the float bias, -1 when absent */
    bool requant;            /* the op feeds exactly one int8 quantize */
    double sy;
} qpat;

/* Scalar constant value v (> 0) into *s. */
static bool const_scalar(const fsc_graph *g, int v, double *s)
{
    if (v < 0 || !g->values[v].constant || fsc_tensor_numel(g->values[v].constant) != 1) return false;
    *s = fsc_tensor_get(g->values[v].constant, 0);
    return *s > 0 && isfinite(*s);
}

/* An absent zero point, or a constant of zeros. */
static bool zero_zp(const fsc_graph *g, const fsc_node *n)
{
    if (n->n_in < 3 || n->in[2] < 0) return true;
    const fsc_tensor *t = g->values[n->in[2]].constant;
    if (!t) return false;
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++)
        if (fsc_tensor_get(t, i) != 0) return false;
    return true;
}

static bool match(const fsc_graph *g, int node, qpat *p)
{
    const fsc_node *n = &g->nodes[node];
    memset(p, 0, sizeof *p);
    p->bias = -1;
    int w_axis = 0;
    if (n->op == FSC_OP_CONV2D) {
        if (n->n_in < 2) return false;
    } else if (n->op == FSC_OP_GEMM) {
        if (n->n_in < 2 || n->attr.gemm.alpha != 1.0 || n->attr.gemm.trans_a) return false;
        if (n->n_in > 2 && n->in[2] >= 0 && n->attr.gemm.beta != 1.0) return false;
        w_axis = n->attr.gemm.trans_b ? 0 : 1;
    } else {
        return false;
    }
    if (n->in[0] < 0 || n->in[1] < 0) return false;
    int px = g->values[n->in[0]].producer, pw = g->values[n->in[1]].producer;
    if (px < 0 || pw < 0) return false;
    const fsc_node *dx = &g->nodes[px], *dw = &g->nodes[pw];
    if (dx->op != FSC_OP_DEQUANTIZE || dx->n_in < 2 || dx->in[0] < 0 || g->values[dx->in[0]].dtype != FSC_DT_I8)
        return false;
    if (!const_scalar(g, dx->in[1], &p->sx) || !zero_zp(g, dx)) return false;
    if (dw->op != FSC_OP_DEQUANTIZE || dw->n_in < 2 || dw->in[0] < 0 || dw->in[1] < 0) return false;
    const fsc_value *qv = &g->values[dw->in[0]];
    if (!qv->constant || qv->constant->dtype != FSC_DT_I8 || !zero_zp(g, dw)) return false;
    const fsc_tensor *sw = g->values[dw->in[1]].constant;
    if (!sw || !fsc_dtype_is_float(g->values[dw->in[1]].dtype)) return false;
    int64_t ns = fsc_tensor_numel(sw);
    if (ns != 1) {
        int64_t ax = dw->attr.quant.axis < 0 ? dw->attr.quant.axis + qv->shape.rank : dw->attr.quant.axis;
        if (ax != w_axis || qv->shape.rank < 2 || ns != qv->shape.dim[w_axis]) return false;
    }
    for (int64_t i = 0; i < ns; i++)
        if (!(fsc_tensor_get(sw, i) > 0) || !isfinite(fsc_tensor_get(sw, i))) return false;
    p->qw = qv->constant;
    p->sw = sw;
    if (n->n_in > 2 && n->in[2] >= 0) {
        const fsc_value *b = &g->values[n->in[2]];
        int64_t cout = n->op == FSC_OP_CONV2D ? qv->shape.dim[0] : qv->shape.dim[w_axis];
        if (!b->constant || !fsc_dtype_is_float(b->dtype) || fsc_shape_numel(&b->shape) != cout) return false;
        p->bias = n->in[2];
    }
    int y = n->out[0], readers = 0, q = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == y) {
                readers++;
                q = i;
            }
    if (readers == 1 && !g->values[y].is_output && g->nodes[q].op == FSC_OP_QUANTIZE && g->nodes[q].in[0] == y &&
        g->values[g->nodes[q].out[0]].dtype == FSC_DT_I8 && const_scalar(g, g->nodes[q].in[1], &p->sy) &&
        zero_zp(g, &g->nodes[q])) {
        p->requant = true;
    }
    return true;
}

bool fsc_qint_applies(const fsc_graph *g, int node)
{
    qpat p;
    return node >= 0 && node < g->n_nodes && match(g, node, &p);
}

/* ---- execution ---- */

/* q_x recovered from the dequantized x' (exact, see quant_int.h). */
static fsc_status recover_qx(const fsc_tensor *x, double sx, int8_t *qx, fsc_error *err)
{
    int64_t n = fsc_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) {
        double r = fsc_tensor_get(x, i) / sx, q = nearbyint(r);
        if (!(fabs(r - q) <= 0.25) || q < -128 || q > 127)
            return fsc_fail(err, FSC_ERR_INTERNAL, "x[%lld] = %.9g is not scale %.9g times an int8", (long long)i,
                            fsc_tensor_get(x, i), sx);
        qx[i] = (int8_t)q;
    }
    return FSC_OK;
}

/* int32 bias of each output channel: round_half_even(b / (s_x * s_w_c)). */
static fsc_status quantize_bias(const fsc_graph *g, const qpat *p, int64_t cout, int64_t k, int32_t *bq,
                                double *sxw, fsc_error *err)
{
    int64_t ns = fsc_tensor_numel(p->sw);
    for (int64_t c = 0; c < cout; c++) {
        sxw[c] = p->sx * fsc_tensor_get(p->sw, ns == 1 ? 0 : c); /* exact: two <= 24-bit significands */
        double b = p->bias >= 0 ? fsc_tensor_get(g->values[p->bias].constant, c) : 0.0;
        double v = nearbyint(b / sxw[c]);
        /* the sum of k products of at most 2^14 plus the bias must stay in int32 */
        if (!(fabs(v) + (double)k * 16384.0 <= 2147483647.0))
            return fsc_fail(err, FSC_ERR_UNSUPPORTED,
                            "int32 accumulator could overflow (K = %lld, quantized bias %g of channel %lld)",
                            (long long)k, v, (long long)c);
        bq[c] = (int32_t)v;
    }
    return FSC_OK;
}

/* Writes accumulator acc of output element i, channel c. */
static fsc_status emit(const qpat *p, const fsc_arith *a, fsc_tensor *y, int64_t i, int32_t acc, double sxw,
                       fsc_error *err)
{
    if (p->requant) {
        int8_t q = 0;
        fsc_status s = fsc_qint_requantize(acc, sxw, p->sy, a, &q, err);
        if (s) return s;
        fsc_tensor_set(y, i, fsc_rne(p->sy * q, a->storage));
    } else {
        fsc_tensor_set(y, i, fsc_rne((double)acc * sxw, a->storage)); /* exact product, one rounding */
    }
    return FSC_OK;
}

static fsc_status run_conv(const fsc_attr_conv *at, const fsc_shape *xs, const int8_t *qx, const fsc_shape *ws,
                           const int8_t *qw, const int32_t *bq, const double *sxw, const qpat *p,
                           const fsc_arith *a, const fsc_ctx *ctx, fsc_tensor *y, fsc_error *err)
{
    int64_t N = xs->dim[0], C = xs->dim[1], H = xs->dim[2], W = xs->dim[3];
    int64_t M = ws->dim[0], Cg = ws->dim[1], KH = ws->dim[2], KW = ws->dim[3];
    int64_t OH = y->shape.dim[2], OW = y->shape.dim[3], G = at->group > 0 ? at->group : 1;
    int64_t Mg = M / G, sh = at->stride[0], sw = at->stride[1];
    int nt = ctx && ctx->threads > 0 ? ctx->threads : 1;
    fsc_status st = FSC_OK;
    /* One thread per (n, m) output plane. Integer sums are exact (the caller bounded them to
     * int32), so the plane is accumulated tap by tap: the order does not change the result. */
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t nm = 0; nm < N * M; nm++) {
        int64_t n = nm / M, m = nm % M, g0 = m / Mg;
        fsc_error e2 = {0};
        int32_t *acc = calloc((size_t)(OH * OW), sizeof *acc);
        if (!acc) {
#pragma omp critical
            if (!st) st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory for an int32 accumulator plane");
            continue;
        }
        for (int64_t c = 0; c < Cg; c++) {
            const int8_t *xp = qx + ((n * C + g0 * Cg + c) * H) * W;
            for (int64_t i = 0; i < KH; i++)
                for (int64_t j = 0; j < KW; j++) {
                    int32_t w = qw[((m * Cg + c) * KH + i) * KW + j];
                    if (!w) continue;
                    int64_t dj = j * at->dilation[1] - at->pad[1];
                    /* output columns whose input column ow * sw + dj lies inside [0, W) */
                    int64_t ow0 = dj >= 0 ? 0 : (-dj + sw - 1) / sw, ow1 = W - dj <= 0 ? 0 : (W - dj - 1) / sw + 1;
                    if (ow1 > OW) ow1 = OW;
                    for (int64_t oh = 0; oh < OH; oh++) {
                        int64_t ih = oh * sh - at->pad[0] + i * at->dilation[0];
                        if (ih < 0 || ih >= H) continue; /* zero padding: q = 0 with a zero point of 0 */
                        const int8_t *row = xp + ih * W + dj;
                        int32_t *out = acc + oh * OW;
                        for (int64_t ow = ow0; ow < ow1; ow++) out[ow] += w * (int32_t)row[ow * sw];
                    }
                }
        }
        for (int64_t o = 0; o < OH * OW; o++)
            if (emit(p, a, y, (n * M + m) * OH * OW + o, acc[o] + bq[m], sxw[m], &e2)) {
#pragma omp critical
                if (!st) {
                    st = e2.code;
                    if (err) *err = e2;
                }
                break;
            }
        free(acc);
    }
    return st;
}

static fsc_status run_gemm(const fsc_attr_gemm *at, const fsc_shape *as, const int8_t *qa, const int8_t *qb,
                           const int32_t *bq, const double *sxw, const qpat *p, const fsc_arith *a,
                           fsc_tensor *y, fsc_error *err)
{
    int64_t M = as->dim[0], K = as->dim[1], N = y->shape.dim[1];
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int32_t acc = 0;
            for (int64_t k = 0; k < K; k++) {
                int8_t b = at->trans_b ? qb[n * K + k] : qb[k * N + n];
                acc += (int32_t)qa[m * K + k] * (int32_t)b;
            }
            acc += bq[n];
            fsc_status s = emit(p, a, y, m * N + n, acc, sxw[n], err);
            if (s) return s;
        }
    return FSC_OK;
}

fsc_status fsc_qint_run(const fsc_graph *g, int node, const fsc_arith *a, const fsc_ctx *ctx,
                        const fsc_tensor *const *in, fsc_tensor *out, fsc_error *err)
{
    char label[200];
    qpat p;
    if (!match(g, node, &p))
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s: not an int8 conv/linear pattern",
                        fsc_node_label(g, node, label, sizeof label));
    if (fsc_format_get(a->storage)->p < 11 || fsc_format_get(a->quant_compute)->p < 11)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED,
                        "%s: integer mode needs storage of at least fp16 precision to carry int8 values exactly",
                        fsc_node_label(g, node, label, sizeof label));
    const fsc_node *n = &g->nodes[node];
    const fsc_value *yv = &g->values[n->out[0]], *xv = &g->values[n->in[0]];
    fsc_dtype cont = a->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
    fsc_status s = fsc_tensor_alloc(&out[0], cont, &yv->shape, ctx ? ctx->limits.max_tensor_bytes : 0, err);
    if (s) return s;
    out[0].fmt = a->storage;
    int64_t nx = fsc_shape_numel(&xv->shape);
    const fsc_shape *ws = &p.qw->shape;
    int64_t cout = n->op == FSC_OP_CONV2D ? ws->dim[0] : yv->shape.dim[1];
    int64_t k = n->op == FSC_OP_CONV2D ? ws->dim[1] * ws->dim[2] * ws->dim[3] : xv->shape.dim[1];
    int8_t *qx = fsc_malloc((size_t)(nx ? nx : 1), "int8 activations", err);
    int32_t *bq = fsc_malloc((size_t)cout * sizeof *bq + 1, "int32 bias", err);
    double *sxw = fsc_malloc((size_t)cout * sizeof *sxw + 1, "requantization scales", err);
    if (!qx || !bq || !sxw) s = FSC_ERR_NOMEM;
    if (!s) s = recover_qx(in[0], p.sx, qx, err);
    if (!s) s = quantize_bias(g, &p, cout, k, bq, sxw, err);
    if (!s) {
        if (n->op == FSC_OP_CONV2D)
            s = run_conv(&n->attr.conv, &xv->shape, qx, ws, p.qw->data, bq, sxw, &p, a, ctx, &out[0], err);
        else
            s = run_gemm(&n->attr.gemm, &xv->shape, qx, p.qw->data, bq, sxw, &p, a, &out[0], err);
    }
    free(qx);
    free(bq);
    free(sxw);
    if (s) {
        fsc_error_prefix(err, "%s", fsc_node_label(g, node, label, sizeof label));
        fsc_tensor_free(&out[0]);
    }
    return s;
}
