/* xnnpack_impl.c: nodes run on XNNPACK operators (compiled only with
 * FSC_HAVE_XNNPACK). XNNPACK works in NHWC: run_node takes NCHW tensors,
 * transposes them in, runs the operator, transposes the result back (as a
 * deployed NCHW model on XNNPACK pays layout conversions at its edges).
 * xnnpack:f16 runs the same operators in IEEE half (data, weights and
 * results held in fp16; XNNPACK's f16 kernels use F16C on x86). */
#ifdef FSC_HAVE_XNNPACK
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "backends/qdq.h"
#include "backends/xnnpack.h"
#include "core/half.h"

typedef struct xp_state {
    pthreadpool_t pool;
    bool f16;
    bool qs8; /* xnnpack:qs8: QDQ convolutions (with their output Quantize) as qc8 operators */
} xp_state;

static fsc_status xp_check(enum xnn_status s, const char *what, fsc_error *err)
{
    if (s == xnn_status_success) return FSC_OK;
    return fsc_fail(err, s == xnn_status_unsupported_hardware || s == xnn_status_unsupported_parameter
                             ? FSC_ERR_UNSUPPORTED : FSC_ERR_INTERNAL,
                    "XNNPACK %s failed (xnn_status %d)", what, (int)s);
}

static bool xp_supports(const fsc_backend *b, const fsc_graph *g, int node)
{
    const xp_state *s = b->state;
    const fsc_node *n = &g->nodes[node];
    if (s->qs8 && (n->op == FSC_OP_QUANTIZE || n->op == FSC_OP_DEQUANTIZE))
        return fsc_qdq_simple(g, n) && fsc_shape_numel(&g->values[n->in[1]].shape) == 1;
    if (s->qs8 && fsc_qdq_conv(g, n) && fsc_qdq_quant_consumer(g, n->out[0])) return true;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && g->values[n->in[k]].dtype != FSC_DT_F32) return false;
    if (g->values[n->out[0]].dtype != FSC_DT_F32) return false;
    const fsc_shape *x = &g->values[n->in[0]].shape, *y = &g->values[n->out[0]].shape;
    switch (n->op) {
    case FSC_OP_CONV2D: return x->rank == 4 && g->values[n->in[1]].constant != NULL;
    case FSC_OP_GEMM: {
        const fsc_attr_gemm *a = &n->attr.gemm;
        if (a->trans_a || a->alpha != 1.0 || !g->values[n->in[1]].constant) return false;
        if (n->n_in > 2 && n->in[2] >= 0) {
            const fsc_shape *c = &g->values[n->in[2]].shape;
            if (a->beta != 1.0 || !g->values[n->in[2]].constant || fsc_shape_numel(c) != y->dim[1]) return false;
        }
        return true;
    }
    case FSC_OP_MATMUL: {
        const fsc_shape *w = &g->values[n->in[1]].shape;
        return x->rank >= 2 && w->rank == 2 && g->values[n->in[1]].constant != NULL;
    }
    case FSC_OP_ADD: case FSC_OP_MUL:
        return y->rank <= XNN_MAX_TENSOR_DIMS;
    case FSC_OP_SUB: case FSC_OP_DIV:
        return !s->f16 && y->rank <= XNN_MAX_TENSOR_DIMS;
    case FSC_OP_RELU: case FSC_OP_CLIP: return true;
    case FSC_OP_SIGMOID: case FSC_OP_SQRT: return !s->f16;
    case FSC_OP_SOFTMAX: {
        int64_t ax = n->attr.axis.axis < 0 ? n->attr.axis.axis + x->rank : n->attr.axis.axis;
        return !s->f16 && ax == x->rank - 1;
    }
    case FSC_OP_MAXPOOL: return x->rank == 4 && !n->attr.pool.ceil_mode;
    case FSC_OP_GLOBAL_AVGPOOL: return x->rank == 4;
    default: return false;
    }
}

/* Element buffers: f32 or f16 (held as _Float16), by the variant. */
typedef struct buf {
    void *p;
    bool f16;
} buf;

static void *buf_new(bool f16, int64_t n, fsc_error *err)
{
    return fsc_malloc((size_t)(n > 0 ? n : 1) * (f16 ? 2 : 4) + XNN_EXTRA_BYTES, "XNNPACK buffer", err);
}

#if defined(__FLT16_MAX__)
static void put(void *p, bool f16, int64_t i, float v)
{
    if (f16) ((_Float16 *)p)[i] = (_Float16)v;
    else ((float *)p)[i] = v;
}

static float get(const void *p, bool f16, int64_t i) { return f16 ? (float)((const _Float16 *)p)[i] : ((const float *)p)[i]; }
#else /* clang before 15 has no _Float16 on x86 (the fuzz build): the same bits, converted portably */
static void put(void *p, bool f16, int64_t i, float v)
{
    if (f16) ((uint16_t *)p)[i] = fsc_double_to_half(v);
    else ((float *)p)[i] = v;
}

static float get(const void *p, bool f16, int64_t i)
{
    return f16 ? (float)fsc_half_to_double(((const uint16_t *)p)[i]) : ((const float *)p)[i];
}
#endif

/* x (flat f32) into a new buffer, optionally NCHW -> NHWC. */
static void *load(const fsc_tensor *t, bool f16, bool to_nhwc, fsc_error *err)
{
    int64_t n = fsc_tensor_numel(t);
    void *p = buf_new(f16, n, err);
    if (!p) return NULL;
    const float *x = t->data;
    if (!to_nhwc) {
        for (int64_t i = 0; i < n; i++) put(p, f16, i, x[i]);
        return p;
    }
    int64_t N = t->shape.dim[0], C = t->shape.dim[1], H = t->shape.dim[2], W = t->shape.dim[3];
    for (int64_t a = 0; a < N; a++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) put(p, f16, ((a * H + h) * W + w) * C + c, x[((a * C + c) * H + h) * W + w]);
    return p;
}

/* p (NHWC when from_nhwc) into y (NCHW f32). */
static void store(const void *p, bool f16, bool from_nhwc, fsc_tensor *y)
{
    float *o = y->data;
    int64_t n = fsc_tensor_numel(y);
    if (!from_nhwc) {
        for (int64_t i = 0; i < n; i++) o[i] = get(p, f16, i);
        return;
    }
    int64_t N = y->shape.dim[0], C = y->shape.dim[1], H = y->shape.dim[2], W = y->shape.dim[3];
    for (int64_t a = 0; a < N; a++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) o[((a * C + c) * H + h) * W + w] = get(p, f16, ((a * H + h) * W + w) * C + c);
}

static fsc_status run(xp_state *s, const fsc_graph *g, const fsc_node *n, const fsc_tensor *const *in, fsc_tensor *y,
                      fsc_error *err)
{
    (void)g;
    bool f16 = s->f16;
    bool nhwc = n->op == FSC_OP_CONV2D || n->op == FSC_OP_MAXPOOL || n->op == FSC_OP_GLOBAL_AVGPOOL;
    void *x = load(in[0], f16, nhwc, err), *out = buf_new(f16, fsc_tensor_numel(y), err);
    void *w = NULL, *bias = NULL, *x2 = NULL;
    xnn_operator_t op = NULL;
    fsc_status st = (!x || !out) ? FSC_ERR_NOMEM : FSC_OK;
    const float inf = INFINITY;
    const fsc_shape *xs = &in[0]->shape, *ys = &y->shape;
    if (st) goto done;
    switch (n->op) {
    case FSC_OP_CONV2D: {
        const fsc_attr_conv *c = &n->attr.conv;
        const fsc_tensor *wt = in[1];
        int64_t M = wt->shape.dim[0], Cg = wt->shape.dim[1], KH = wt->shape.dim[2], KW = wt->shape.dim[3];
        /* OIHW -> O,KH,KW,I (XNNPACK's [groups*group_out, kh, kw, group_in]) */
        w = buf_new(f16, M * Cg * KH * KW, err);
        if (!w) { st = FSC_ERR_NOMEM; break; }
        const float *wd = wt->data;
        for (int64_t o = 0; o < M; o++)
            for (int64_t i = 0; i < Cg; i++)
                for (int64_t h = 0; h < KH; h++)
                    for (int64_t q = 0; q < KW; q++)
                        put(w, f16, ((o * KH + h) * KW + q) * Cg + i, wd[((o * Cg + i) * KH + h) * KW + q]);
        if (n->n_in > 2 && n->in[2] >= 0) {
            bias = load(in[2], f16, false, err);
            if (!bias) { st = FSC_ERR_NOMEM; break; }
        }
        uint32_t G = (uint32_t)c->group;
        size_t gin = (size_t)Cg, gout = (size_t)(M / c->group);
        enum xnn_status xs_ = f16 ? xnn_create_convolution2d_nhwc_f16(
                                        (uint32_t)c->pad[0], (uint32_t)c->pad[3], (uint32_t)c->pad[2], (uint32_t)c->pad[1],
                                        (uint32_t)KH, (uint32_t)KW, (uint32_t)c->stride[0], (uint32_t)c->stride[1],
                                        (uint32_t)c->dilation[0], (uint32_t)c->dilation[1], G, gin, gout, G * gin,
                                        G * gout, w, bias, -inf, inf, 0, &op)
                                  : xnn_create_convolution2d_nhwc_f32(
                                        (uint32_t)c->pad[0], (uint32_t)c->pad[3], (uint32_t)c->pad[2], (uint32_t)c->pad[1],
                                        (uint32_t)KH, (uint32_t)KW, (uint32_t)c->stride[0], (uint32_t)c->stride[1],
                                        (uint32_t)c->dilation[0], (uint32_t)c->dilation[1], G, gin, gout, G * gin,
                                        G * gout, w, bias, -inf, inf, 0, &op);
        st = xp_check(xs_, "convolution create", err);
        if (!st)
            st = xp_check(f16 ? xnn_setup_convolution2d_nhwc_f16(op, (size_t)xs->dim[0], (size_t)xs->dim[2],
                                                                 (size_t)xs->dim[3], x, out, s->pool)
                              : xnn_setup_convolution2d_nhwc_f32(op, (size_t)xs->dim[0], (size_t)xs->dim[2],
                                                                 (size_t)xs->dim[3], x, out, s->pool),
                          "convolution setup", err);
        break;
    }
    case FSC_OP_GEMM: case FSC_OP_MATMUL: {
        const fsc_tensor *wt = in[1];
        bool trans = n->op == FSC_OP_GEMM && n->attr.gemm.trans_b; /* [N,K]: XNNPACK's own layout */
        int64_t K = trans ? wt->shape.dim[1] : wt->shape.dim[0], N = trans ? wt->shape.dim[0] : wt->shape.dim[1];
        w = load(wt, f16, false, err);
        if (!w) { st = FSC_ERR_NOMEM; break; }
        if (n->op == FSC_OP_GEMM && n->n_in > 2 && n->in[2] >= 0) {
            bias = load(in[2], f16, false, err);
            if (!bias) { st = FSC_ERR_NOMEM; break; }
        }
        uint32_t fl = trans ? 0 : XNN_FLAG_TRANSPOSE_WEIGHTS;
        st = xp_check(f16 ? xnn_create_fully_connected_nc_f16((size_t)K, (size_t)N, (size_t)K, (size_t)N, w, bias, -inf,
                                                              inf, fl, &op)
                          : xnn_create_fully_connected_nc_f32((size_t)K, (size_t)N, (size_t)K, (size_t)N, w, bias, -inf,
                                                              inf, fl, &op),
                      "fully-connected create", err);
        size_t batch = (size_t)(fsc_tensor_numel(in[0]) / K);
        if (!st)
            st = xp_check(f16 ? xnn_setup_fully_connected_nc_f16(op, batch, x, out, s->pool)
                              : xnn_setup_fully_connected_nc_f32(op, batch, x, out, s->pool),
                          "fully-connected setup", err);
        break;
    }
    case FSC_OP_ADD: case FSC_OP_MUL: case FSC_OP_SUB: case FSC_OP_DIV: {
        x2 = load(in[1], f16, false, err);
        if (!x2) { st = FSC_ERR_NOMEM; break; }
        size_t d1[XNN_MAX_TENSOR_DIMS], d2[XNN_MAX_TENSOR_DIMS];
        const fsc_shape *bs = &in[1]->shape;
        for (int i = 0; i < xs->rank; i++) d1[i] = (size_t)xs->dim[i];
        for (int i = 0; i < bs->rank; i++) d2[i] = (size_t)bs->dim[i];
        enum xnn_status cs;
        if (f16) cs = n->op == FSC_OP_ADD ? xnn_create_add_nd_f16(-inf, inf, 0, &op) : xnn_create_multiply_nd_f16(-inf, inf, 0, &op);
        else if (n->op == FSC_OP_ADD) cs = xnn_create_add_nd_f32(-inf, inf, 0, &op);
        else if (n->op == FSC_OP_MUL) cs = xnn_create_multiply_nd_f32(-inf, inf, 0, &op);
        else if (n->op == FSC_OP_SUB) cs = xnn_create_subtract_nd_f32(-inf, inf, 0, &op);
        else cs = xnn_create_divide_nd_f32(-inf, inf, 0, &op);
        st = xp_check(cs, "binary create", err);
        if (st) break;
        size_t r1 = (size_t)xs->rank, r2 = (size_t)bs->rank;
        if (f16)
            cs = n->op == FSC_OP_ADD ? xnn_setup_add_nd_f16(op, r1, d1, r2, d2, x, x2, out, s->pool)
                                     : xnn_setup_multiply_nd_f16(op, r1, d1, r2, d2, x, x2, out, s->pool);
        else if (n->op == FSC_OP_ADD) cs = xnn_setup_add_nd_f32(op, r1, d1, r2, d2, x, x2, out, s->pool);
        else if (n->op == FSC_OP_MUL) cs = xnn_setup_multiply_nd_f32(op, r1, d1, r2, d2, x, x2, out, s->pool);
        else if (n->op == FSC_OP_SUB) cs = xnn_setup_subtract_nd_f32(op, r1, d1, r2, d2, x, x2, out, s->pool);
        else cs = xnn_setup_divide_nd_f32(op, r1, d1, r2, d2, x, x2, out, s->pool);
        st = xp_check(cs, "binary setup", err);
        break;
    }
    case FSC_OP_RELU: case FSC_OP_CLIP: {
        float lo = n->op == FSC_OP_RELU ? 0.0f : (float)n->attr.clip.lo, hi = n->op == FSC_OP_RELU ? inf : (float)n->attr.clip.hi;
        size_t len = (size_t)fsc_tensor_numel(in[0]);
        st = xp_check(f16 ? xnn_create_clamp_nc_f16(1, 1, 1, lo, hi, 0, &op) : xnn_create_clamp_nc_f32(1, 1, 1, lo, hi, 0, &op),
                      "clamp create", err);
        if (!st)
            st = xp_check(f16 ? xnn_setup_clamp_nc_f16(op, len, x, out, s->pool) : xnn_setup_clamp_nc_f32(op, len, x, out, s->pool),
                          "clamp setup", err);
        break;
    }
    case FSC_OP_SIGMOID: case FSC_OP_SQRT: {
        size_t len = (size_t)fsc_tensor_numel(in[0]);
        st = xp_check(n->op == FSC_OP_SIGMOID ? xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &op)
                                              : xnn_create_square_root_nc_f32(1, 1, 1, 0, &op),
                      "unary create", err);
        if (!st)
            st = xp_check(n->op == FSC_OP_SIGMOID ? xnn_setup_sigmoid_nc_f32(op, len, x, out, s->pool)
                                                  : xnn_setup_square_root_nc_f32(op, len, x, out, s->pool),
                          "unary setup", err);
        break;
    }
    case FSC_OP_SOFTMAX: {
        size_t ch = (size_t)xs->dim[xs->rank - 1];
        st = xp_check(xnn_create_softmax_nc_f32(ch, ch, ch, 0, &op), "softmax create", err);
        if (!st) st = xp_check(xnn_setup_softmax_nc_f32(op, (size_t)fsc_tensor_numel(in[0]) / ch, x, out, s->pool), "softmax setup", err);
        break;
    }
    case FSC_OP_MAXPOOL: {
        const fsc_attr_pool *p = &n->attr.pool;
        size_t C = (size_t)xs->dim[1];
        enum xnn_status cs =
            f16 ? xnn_create_max_pooling2d_nhwc_f16((uint32_t)p->pad[0], (uint32_t)p->pad[3], (uint32_t)p->pad[2],
                                                    (uint32_t)p->pad[1], (uint32_t)p->kernel[0], (uint32_t)p->kernel[1],
                                                    (uint32_t)p->stride[0], (uint32_t)p->stride[1],
                                                    (uint32_t)p->dilation[0], (uint32_t)p->dilation[1], C, C, C, -inf,
                                                    inf, 0, &op)
                : xnn_create_max_pooling2d_nhwc_f32((uint32_t)p->pad[0], (uint32_t)p->pad[3], (uint32_t)p->pad[2],
                                                    (uint32_t)p->pad[1], (uint32_t)p->kernel[0], (uint32_t)p->kernel[1],
                                                    (uint32_t)p->stride[0], (uint32_t)p->stride[1],
                                                    (uint32_t)p->dilation[0], (uint32_t)p->dilation[1], C, C, C, -inf,
                                                    inf, 0, &op);
        st = xp_check(cs, "max-pooling create", err);
        if (!st)
            st = xp_check(f16 ? xnn_setup_max_pooling2d_nhwc_f16(op, (size_t)xs->dim[0], (size_t)xs->dim[2],
                                                                 (size_t)xs->dim[3], x, out, s->pool)
                              : xnn_setup_max_pooling2d_nhwc_f32(op, (size_t)xs->dim[0], (size_t)xs->dim[2],
                                                                 (size_t)xs->dim[3], x, out, s->pool),
                          "max-pooling setup", err);
        break;
    }
    case FSC_OP_GLOBAL_AVGPOOL: {
        size_t C = (size_t)xs->dim[1], HW = (size_t)(xs->dim[2] * xs->dim[3]);
        st = xp_check(f16 ? xnn_create_global_average_pooling_nwc_f16(C, C, C, -inf, inf, 0, &op)
                          : xnn_create_global_average_pooling_nwc_f32(C, C, C, -inf, inf, 0, &op),
                      "global-average-pooling create", err);
        if (!st)
            st = xp_check(f16 ? xnn_setup_global_average_pooling_nwc_f16(op, (size_t)xs->dim[0], HW, x, out, s->pool)
                              : xnn_setup_global_average_pooling_nwc_f32(op, (size_t)xs->dim[0], HW, x, out, s->pool),
                          "global-average-pooling setup", err);
        break;
    }
    default: st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "op %s is not run on XNNPACK", fsc_op_name(n->op));
    }
    if (!st) st = xp_check(xnn_run_operator(op, s->pool), "run", err);
    if (!st) store(out, f16, nhwc && ys->rank == 4, y);
done:
    if (op) xnn_delete_operator(op);
    free(x), free(out), free(w), free(bias), free(x2);
    return st;
}

/* Quantize / dequantize with a scalar scale: XNNPACK's convert operators. */
static fsc_status run_qdq(xp_state *s, const fsc_graph *g, const fsc_node *n, const fsc_tensor *const *in,
                          fsc_tensor *y, fsc_error *err)
{
    float sc = (float)fsc_tensor_get(g->values[n->in[1]].constant, 0);
    size_t len = (size_t)fsc_tensor_numel(in[0]);
    xnn_operator_t op = NULL;
    fsc_status st;
    if (n->op == FSC_OP_QUANTIZE) {
        st = xp_check(xnn_create_convert_nc_f32_qs8(1, 1, 1, sc, 0, -128, 127, 0, &op), "quantize create", err);
        if (!st) st = xp_check(xnn_setup_convert_nc_f32_qs8(op, len, in[0]->data, y->data, s->pool), "quantize setup", err);
    } else {
        st = xp_check(xnn_create_convert_nc_qs8_f32(1, 1, 1, sc, 0, 0, &op), "dequantize create", err);
        if (!st) st = xp_check(xnn_setup_convert_nc_qs8_f32(op, len, in[0]->data, y->data, s->pool), "dequantize setup", err);
    }
    if (!st) st = xp_check(xnn_run_operator(op, s->pool), "run", err);
    if (op) xnn_delete_operator(op);
    return st;
}

/* A W8A8 convolution fused with the Quantize that reads its output, as an
 * XNNPACK qc8 operator: s8 activation codes (recovered exactly from the
 * dequantized input, x = s*q), s8 weights with per-channel scales, bias
 * quantized to int32 at scale s_x*s_w[oc] (as TFLite does), int8 output
 * requantized to the Quantize's scale. An int8 engine never materialises the
 * float convolution output: the node reports the dequantized int8 result,
 * which the following Quantize maps back to the same codes. */
static fsc_status run_qc8_conv(xp_state *s, const fsc_graph *g, const fsc_node *n, const fsc_tensor *const *in,
                               fsc_tensor *y, fsc_error *err)
{
    const fsc_node *dx = fsc_qdq_dequant_of(g, n->in[0]), *dw = fsc_qdq_dequant_of(g, n->in[1]);
    const fsc_node *qy = fsc_qdq_quant_consumer(g, n->out[0]);
    float sx = (float)fsc_tensor_get(g->values[dx->in[1]].constant, 0);
    float sy = (float)fsc_tensor_get(g->values[qy->in[1]].constant, 0);
    const fsc_tensor *swt = g->values[dw->in[1]].constant, *wq = g->values[dw->in[0]].constant;
    const fsc_attr_conv *c = &n->attr.conv;
    const fsc_shape *xs = &in[0]->shape, *ys = &y->shape;
    int64_t M = wq->shape.dim[0], Cg = wq->shape.dim[1], KH = wq->shape.dim[2], KW = wq->shape.dim[3];
    int64_t N = xs->dim[0], C = xs->dim[1], H = xs->dim[2], W = xs->dim[3];
    int64_t OH = ys->dim[2], OW = ys->dim[3], nsw = fsc_tensor_numel(swt);
    int8_t *xq = fsc_malloc((size_t)(N * C * H * W) + XNN_EXTRA_BYTES, "int8 activations", err);
    int8_t *wk = fsc_malloc((size_t)(M * Cg * KH * KW) + XNN_EXTRA_BYTES, "int8 weights", err);
    int8_t *yq = fsc_malloc((size_t)(N * M * OH * OW) + XNN_EXTRA_BYTES, "int8 output", err);
    float *ks = fsc_malloc((size_t)M * sizeof(float), "weight scales", err);
    int32_t *bq = fsc_calloc((size_t)M, sizeof(int32_t), "int32 bias", err);
    xnn_operator_t op = NULL;
    fsc_status st = (!xq || !wk || !yq || !ks || !bq) ? FSC_ERR_NOMEM : FSC_OK;
    const float *xf = in[0]->data;
    for (int64_t a = 0; !st && a < N; a++)
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    float q = nearbyintf(xf[((a * C + ch) * H + h) * W + w] / sx);
                    xq[((a * H + h) * W + w) * C + ch] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
                }
    const int8_t *wd = wq->data;
    for (int64_t o = 0; !st && o < M; o++) {
        for (int64_t i = 0; i < Cg; i++)
            for (int64_t h = 0; h < KH; h++)
                for (int64_t q = 0; q < KW; q++) wk[((o * KH + h) * KW + q) * Cg + i] = wd[((o * Cg + i) * KH + h) * KW + q];
        ks[o] = (float)fsc_tensor_get(swt, nsw == 1 ? 0 : o);
        if (n->n_in > 2 && n->in[2] >= 0) {
            double b = nearbyint(fsc_tensor_get(in[2], o) / ((double)sx * (double)ks[o]));
            bq[o] = (int32_t)(b > 2147483647.0 ? 2147483647.0 : b < -2147483648.0 ? -2147483648.0 : b);
        }
    }
    uint32_t G = (uint32_t)c->group;
    size_t gin = (size_t)Cg, gout = (size_t)(M / c->group);
    if (!st)
        st = xp_check(xnn_create_convolution2d_nhwc_qc8((uint32_t)c->pad[0], (uint32_t)c->pad[3], (uint32_t)c->pad[2],
                                                        (uint32_t)c->pad[1], (uint32_t)KH, (uint32_t)KW,
                                                        (uint32_t)c->stride[0], (uint32_t)c->stride[1],
                                                        (uint32_t)c->dilation[0], (uint32_t)c->dilation[1], G, gin, gout,
                                                        G * gin, G * gout, 0, sx, ks, wk, bq, 0, sy, -128, 127, 0, &op),
                      "qc8 convolution create", err);
    if (!st)
        st = xp_check(xnn_setup_convolution2d_nhwc_qc8(op, (size_t)N, (size_t)H, (size_t)W, xq, yq, s->pool),
                      "qc8 convolution setup", err);
    if (!st) st = xp_check(xnn_run_operator(op, s->pool), "run", err);
    float *yf = y->data;
    for (int64_t a = 0; !st && a < N; a++)
        for (int64_t o = 0; o < M; o++)
            for (int64_t h = 0; h < OH; h++)
                for (int64_t w = 0; w < OW; w++)
                    yf[((a * M + o) * OH + h) * OW + w] = (float)yq[((a * OH + h) * OW + w) * M + o] * sy;
    if (op) xnn_delete_operator(op);
    free(xq), free(wk), free(yq), free(ks), free(bq);
    return st;
}

static fsc_status xp_run_node(fsc_backend *b, const fsc_graph *g, int node, const fsc_tensor *const *in,
                              fsc_tensor *out, fsc_error *err)
{
    const fsc_node *n = &g->nodes[node];
    xp_state *s = b->state;
    fsc_dtype dt = g->values[n->out[0]].dtype == FSC_DT_I8 ? FSC_DT_I8 : FSC_DT_F32;
    fsc_status st = fsc_tensor_alloc(&out[0], dt, &g->values[n->out[0]].shape, b->ctx->limits.max_tensor_bytes, err);
    if (st) return st;
    if (dt == FSC_DT_F32) out[0].fmt = b->arith->storage;
    if (fsc_shape_numel(&out[0].shape) == 0) return FSC_OK;
    if (s->qs8 && (n->op == FSC_OP_QUANTIZE || n->op == FSC_OP_DEQUANTIZE)) st = run_qdq(s, g, n, in, &out[0], err);
    else if (s->qs8 && fsc_qdq_conv(g, n)) st = run_qc8_conv(s, g, n, in, &out[0], err);
    else st = run(b->state, g, n, in, &out[0], err);
    if (st) fsc_tensor_free(&out[0]);
    return st;
}

static fsc_status xp_load_const(fsc_backend *b, const fsc_graph *g, int value, fsc_tensor *out, fsc_error *err)
{
    (void)b;
    const fsc_tensor *c = g->values[value].constant;
    if (c->dtype != FSC_DT_F32 && c->dtype != FSC_DT_F64) return fsc_tensor_clone(out, c, err);
    /* f32 here; xnnpack:f16 converts weights to fp16 when it packs them */
    fsc_status st = fsc_tensor_alloc(out, FSC_DT_F32, &c->shape, 0, err);
    if (st) return st;
    float *d = out->data;
    for (int64_t i = 0; i < fsc_tensor_numel(c); i++) d[i] = (float)fsc_tensor_get(c, i);
    out->fmt = FSC_FMT_FP32;
    return FSC_OK;
}

static void xp_release(fsc_backend *b)
{
    xp_state *s = b->state;
    if (!s) return;
    if (s->pool) pthreadpool_destroy(s->pool);
    free(s);
}

static const fsc_backend_vtable xp_vtable = {
    .kind = "xnnpack",
    .supports = xp_supports,
    .prepare = NULL,
    .load_const = xp_load_const,
    .run_node = xp_run_node,
    .release = xp_release,
};

bool fsc_xnnpack_ok(bool f16, char *reason, size_t len)
{
    enum xnn_status s = xnn_initialize(NULL); /* idempotent */
    if (s != xnn_status_success) {
        snprintf(reason, len, "XNNPACK does not support this CPU (xnn_initialize: %d)", (int)s);
        return false;
    }
    if (!f16) return true;
    uint16_t k[1] = {0x3c00}, bias[1] = {0};
    xnn_operator_t op = NULL;
    s = xnn_create_convolution2d_nhwc_f16(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, k, bias, -INFINITY, INFINITY, 0, &op);
    if (op) xnn_delete_operator(op);
    if (s != xnn_status_success) {
        snprintf(reason, len, "this XNNPACK build has no f16 kernels for this CPU (xnn_status %d)", (int)s);
        return false;
    }
    return true;
}

fsc_status fsc_xnnpack_backend_new(const char *variant, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err)
{
    fsc_backend *b = fsc_calloc(1, sizeof *b, "XNNPACK backend", err);
    xp_state *s = b ? fsc_calloc(1, sizeof *s, "XNNPACK backend", err) : NULL;
    if (!s) {
        free(b);
        return FSC_ERR_NOMEM;
    }
    b->vt = &xp_vtable;
    b->ctx = ctx;
    b->state = s;
    s->f16 = !strcmp(variant, "f16");
    s->qs8 = !strcmp(variant, "qs8");
    b->arith = fsc_arith_preset(s->f16 ? "fp16" : "fp32");
    snprintf(b->name, sizeof b->name, "xnnpack:%s", variant);
    s->pool = pthreadpool_create((size_t)(ctx->threads > 0 ? ctx->threads : 1));
    if (!s->pool) {
        fsc_backend_free(b);
        return fsc_fail(err, FSC_ERR_NOMEM, "cannot create the XNNPACK thread pool");
    }
    *out = b;
    return FSC_OK;
}

#else
typedef int fsc_xnnpack_impl_absent; /* built without XNNPACK */
#endif
