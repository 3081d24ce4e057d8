/* onednn_impl.c: nodes run on oneDNN primitives (compiled only with
 * FSC_HAVE_ONEDNN). Tensors arrive in flipscope's plain layouts (NCHW, row
 * major) as f32; each primitive is created with format "any" where oneDNN
 * allows it, so it picks its own blocked layout as in deployment, and
 * reorders convert at the edges (including f32 <-> bf16 for onednn:bf16).
 * oneDNN's primitive cache makes re-creating a primitive per run cheap. */
#ifdef FSC_HAVE_ONEDNN
#include <dnnl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/onednn.h"
#include "backends/qdq.h"

typedef struct dn_state {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dnnl_data_type_t cdt; /* compute type of conv/matmul/eltwise data: f32 or bf16 */
    bool s8;              /* onednn:s8: QDQ convolutions as int8 primitives, Q/DQ as scaled reorders */
} dn_state;

#define MAXM 8 /* memories one node may hold */

typedef struct dn_run {
    dn_state *s;
    dnnl_memory_t mems[MAXM * 2];
    int n_mems;
    dnnl_primitive_t prims[MAXM];
    int n_prims;
    dnnl_primitive_desc_t pds[MAXM];
    int n_pds;
} dn_run;

static fsc_status dn_check(dnnl_status_t s, const char *what, fsc_error *err)
{
    if (s == dnnl_success) return FSC_OK;
    return fsc_fail(err, s == dnnl_unimplemented ? FSC_ERR_UNSUPPORTED : FSC_ERR_INTERNAL,
                    "oneDNN %s failed (dnnl_status %d)", what, (int)s);
}

static void run_free(dn_run *r)
{
    for (int i = 0; i < r->n_mems; i++) dnnl_memory_destroy(r->mems[i]);
    for (int i = 0; i < r->n_prims; i++) dnnl_primitive_destroy(r->prims[i]);
    for (int i = 0; i < r->n_pds; i++) dnnl_primitive_desc_destroy(r->pds[i]);
}

/* Plain row-major descriptor of dims (rank n) with data type dt. */
static void plain_md(dnnl_memory_desc_t *md, int n, const int64_t *dims, dnnl_data_type_t dt)
{
    dnnl_dims_t d, s;
    int64_t stride = 1;
    for (int i = n - 1; i >= 0; i--) {
        d[i] = dims[i];
        s[i] = stride;
        stride *= dims[i] ? dims[i] : 1;
    }
    dnnl_memory_desc_init_by_strides(md, n, d, dt, s);
}

static fsc_status mem_new(dn_run *r, const dnnl_memory_desc_t *md, void *data, dnnl_memory_t *out, fsc_error *err)
{
    fsc_status st = dn_check(dnnl_memory_create(out, md, r->s->eng, data ? data : DNNL_MEMORY_ALLOCATE), "memory", err);
    if (!st) r->mems[r->n_mems++] = *out;
    return st;
}

static fsc_status reorder(dn_run *r, dnnl_memory_t from, dnnl_memory_t to, fsc_error *err)
{
    const dnnl_memory_desc_t *fm, *tm;
    dnnl_memory_get_memory_desc(from, &fm);
    dnnl_memory_get_memory_desc(to, &tm);
    dnnl_primitive_desc_t pd;
    fsc_status st = dn_check(dnnl_reorder_primitive_desc_create(&pd, fm, r->s->eng, tm, r->s->eng, NULL), "reorder", err);
    if (st) return st;
    r->pds[r->n_pds++] = pd;
    dnnl_primitive_t p;
    st = dn_check(dnnl_primitive_create(&p, pd), "reorder", err);
    if (st) return st;
    r->prims[r->n_prims++] = p;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    st = dn_check(dnnl_primitive_execute(p, r->s->stream, 2, a), "reorder", err);
    if (!st) st = dn_check(dnnl_stream_wait(r->s->stream), "stream wait", err);
    return st;
}

/* Memory in the layout/type `want` holding the f32 plain data of user md. */
static fsc_status arg_in(dn_run *r, const dnnl_memory_desc_t *user, const float *data, const dnnl_memory_desc_t *want,
                         dnnl_memory_t *out, fsc_error *err)
{
    dnnl_memory_t um;
    fsc_status st = mem_new(r, user, (void *)data, &um, err);
    if (st || dnnl_memory_desc_equal(user, want)) {
        *out = um;
        return st;
    }
    st = mem_new(r, want, NULL, out, err);
    return st ? st : reorder(r, um, *out, err);
}

/* Executes prim with args, then copies memory `res` (layout of the primitive)
 * into the f32 plain data y of user md. */
static fsc_status exec_out(dn_run *r, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
                           dnnl_memory_t res, const dnnl_memory_desc_t *user, float *y, fsc_error *err)
{
    fsc_status st = dn_check(dnnl_primitive_execute(prim, r->s->stream, nargs, args), "execute", err);
    if (!st) st = dn_check(dnnl_stream_wait(r->s->stream), "stream wait", err);
    if (st) return st;
    const dnnl_memory_desc_t *rm;
    dnnl_memory_get_memory_desc(res, &rm);
    if (dnnl_memory_desc_equal(rm, user)) {
        void *h;
        dnnl_memory_get_data_handle(res, &h);
        if (h != y) memcpy(y, h, dnnl_memory_desc_get_size(user));
        return FSC_OK;
    }
    dnnl_memory_t um;
    st = mem_new(r, user, y, &um, err);
    return st ? st : reorder(r, res, um, err);
}

static fsc_status make_prim(dn_run *r, const void *op_desc, const dnnl_primitive_attr_t attr,
                            dnnl_primitive_desc_t *pd, dnnl_primitive_t *p, fsc_error *err)
{
    fsc_status st = dn_check(dnnl_primitive_desc_create(pd, op_desc, attr, r->s->eng, NULL), "primitive descriptor", err);
    if (st) return st;
    r->pds[r->n_pds++] = *pd;
    st = dn_check(dnnl_primitive_create(p, *pd), "primitive", err);
    if (!st) r->prims[r->n_prims++] = *p;
    return st;
}

static bool all_f32(const fsc_graph *g, const fsc_node *n)
{
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && g->values[n->in[k]].dtype != FSC_DT_F32) return false;
    for (int k = 0; k < n->n_out; k++)
        if (g->values[n->out[k]].dtype != FSC_DT_F32) return false;
    return true;
}

static const fsc_shape *shp(const fsc_graph *g, int v) { return &g->values[v].shape; }

/* Eltwise algorithm of op (alpha/beta set), or false. */
static bool eltwise_alg(const fsc_node *n, dnnl_alg_kind_t *alg, float *alpha, float *beta)
{
    *alpha = 0, *beta = 0;
    switch (n->op) {
    case FSC_OP_RELU: *alg = dnnl_eltwise_relu; return true;
    case FSC_OP_SIGMOID: *alg = dnnl_eltwise_logistic; return true;
    case FSC_OP_TANH: *alg = dnnl_eltwise_tanh; return true;
    case FSC_OP_SILU: *alg = dnnl_eltwise_swish, *alpha = 1; return true;
    case FSC_OP_SQRT: *alg = dnnl_eltwise_sqrt; return true;
    case FSC_OP_GELU: *alg = n->attr.gelu.tanh_approx ? dnnl_eltwise_gelu_tanh : dnnl_eltwise_gelu_erf; return true;
    case FSC_OP_CLIP: *alg = dnnl_eltwise_clip_v2, *alpha = (float)n->attr.clip.lo, *beta = (float)n->attr.clip.hi; return true;
    default: return false;
    }
}

static bool binary_alg(fsc_op op, dnnl_alg_kind_t *alg)
{
    switch (op) {
    case FSC_OP_ADD: *alg = dnnl_binary_add; return true;
    case FSC_OP_SUB: *alg = dnnl_binary_sub; return true;
    case FSC_OP_MUL: *alg = dnnl_binary_mul; return true;
    case FSC_OP_DIV: *alg = dnnl_binary_div; return true;
    default: return false;
    }
}

/* Left-pads shape s to rank n with 1s into d. */
static void pad_dims(const fsc_shape *s, int n, int64_t *d)
{
    int off = n - s->rank;
    for (int i = 0; i < n; i++) d[i] = i < off ? 1 : s->dim[i - off];
}

bool fsc_onednn_supports(const fsc_backend *b, const fsc_graph *g, int node)
{
    const dn_state *s = b->state;
    const fsc_node *n = &g->nodes[node];
    if (s->s8 && (n->op == FSC_OP_QUANTIZE || n->op == FSC_OP_DEQUANTIZE)) return fsc_qdq_simple(g, n);
    if (!all_f32(g, n)) return false;
    dnnl_alg_kind_t alg;
    float a0, a1;
    switch (n->op) {
    case FSC_OP_CONV2D: return shp(g, n->in[0])->rank == 4;
    case FSC_OP_GEMM: {
        if (n->n_in > 2 && n->in[2] >= 0) {
            const fsc_shape *c = shp(g, n->in[2]), *y = shp(g, n->out[0]);
            if (n->attr.gemm.beta != 1.0) return false;
            bool row = (c->rank == 1 && c->dim[0] == y->dim[1]) ||
                       (c->rank == 2 && (c->dim[0] == 1 || c->dim[0] == y->dim[0]) && c->dim[1] == y->dim[1]);
            if (!row) return false;
        }
        return true;
    }
    case FSC_OP_MATMUL: {
        const fsc_shape *x = shp(g, n->in[0]), *w = shp(g, n->in[1]);
        if (x->rank < 2 || w->rank < 2 || x->rank > 5 || w->rank > 5) return false;
        int r = x->rank > w->rank ? x->rank : w->rank;
        int64_t dx[8], dw[8];
        pad_dims(x, r, dx);
        pad_dims(w, r, dw);
        /* oneDNN matmul broadcasts only the weights' batch dims */
        for (int i = 0; i < r - 2; i++)
            if (dx[i] != dw[i] && dw[i] != 1) return false;
        return true;
    }
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: {
        if (!binary_alg(n->op, &alg)) return false;
        const fsc_shape *x = shp(g, n->in[0]), *y = shp(g, n->out[0]);
        return fsc_shape_equal(x, y) && x->rank >= 1 && shp(g, n->in[1])->rank <= x->rank && s->cdt == dnnl_f32;
    }
    case FSC_OP_RELU: case FSC_OP_SIGMOID: case FSC_OP_TANH: case FSC_OP_SILU: case FSC_OP_SQRT: case FSC_OP_GELU:
    case FSC_OP_CLIP:
        return eltwise_alg(n, &alg, &a0, &a1) && shp(g, n->in[0])->rank >= 1;
    case FSC_OP_MAXPOOL: case FSC_OP_AVGPOOL:
        return shp(g, n->in[0])->rank == 4 && !n->attr.pool.ceil_mode;
    case FSC_OP_GLOBAL_AVGPOOL: return shp(g, n->in[0])->rank == 4;
    case FSC_OP_SOFTMAX: return shp(g, n->in[0])->rank >= 1;
    default: return false;
    }
}

static fsc_status run_conv(dn_run *r, const fsc_node *n, const fsc_tensor *const *in,
                           fsc_tensor *y, fsc_error *err)
{
    const fsc_attr_conv *c = &n->attr.conv;
    const fsc_shape *xs = &in[0]->shape, *ws = &in[1]->shape, *ys = &y->shape;
    int64_t G = c->group;
    dnnl_memory_desc_t xu, wu, bu, yu, xa, wa, ya, ba;
    plain_md(&xu, 4, xs->dim, dnnl_f32);
    plain_md(&yu, 4, ys->dim, dnnl_f32);
    dnnl_dims_t any4, anyw;
    memcpy(any4, xs->dim, 4 * sizeof(int64_t));
    dnnl_memory_desc_init_by_tag(&xa, 4, any4, r->s->cdt, dnnl_format_tag_any);
    memcpy(any4, ys->dim, 4 * sizeof(int64_t));
    dnnl_memory_desc_init_by_tag(&ya, 4, any4, r->s->cdt, dnnl_format_tag_any);
    int wn = G > 1 ? 5 : 4;
    int64_t wd[5];
    if (G > 1) {
        wd[0] = G, wd[1] = ws->dim[0] / G, wd[2] = ws->dim[1], wd[3] = ws->dim[2], wd[4] = ws->dim[3];
    } else {
        memcpy(wd, ws->dim, 4 * sizeof(int64_t));
    }
    plain_md(&wu, wn, wd, dnnl_f32);
    memcpy(anyw, wd, (size_t)wn * sizeof(int64_t));
    dnnl_memory_desc_init_by_tag(&wa, wn, anyw, r->s->cdt, dnnl_format_tag_any);
    bool has_b = n->n_in > 2 && n->in[2] >= 0;
    int64_t bd[1] = {ys->dim[1]};
    plain_md(&bu, 1, bd, dnnl_f32);
    ba = bu;
    dnnl_dims_t strides = {c->stride[0], c->stride[1]}, dil = {c->dilation[0] - 1, c->dilation[1] - 1};
    dnnl_dims_t pl = {c->pad[0], c->pad[1]}, pr = {c->pad[2], c->pad[3]};
    dnnl_convolution_desc_t cd;
    fsc_status st = dn_check(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                                                        dnnl_convolution_direct, &xa, &wa,
                                                                        has_b ? &ba : NULL, &ya, strides, dil, pl, pr),
                             "convolution descriptor", err);
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    if (!st) st = make_prim(r, &cd, NULL, &pd, &p, err);
    if (st) return st;
    const dnnl_memory_desc_t *xw = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *ww = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *yw = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t xm, wm, bm = NULL, ym;
    st = arg_in(r, &xu, in[0]->data, xw, &xm, err);
    if (!st) st = arg_in(r, &wu, in[1]->data, ww, &wm, err);
    if (!st && has_b) st = mem_new(r, &bu, in[2]->data, &bm, err);
    if (!st) st = dnnl_memory_desc_equal(yw, &yu) ? mem_new(r, &yu, y->data, &ym, err) : mem_new(r, yw, NULL, &ym, err);
    if (st) return st;
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}, {DNNL_ARG_BIAS, bm}};
    return exec_out(r, p, has_b ? 4 : 3, a, ym, &yu, y->data, err);
}

/* Matmul of x [.., M, K] by w [.., K, N] (strides allow transposes), optional
 * bias broadcast to y, output scale alpha. */
static fsc_status run_matmul(dn_run *r, int rank, const int64_t *xd, const int64_t *xs, const float *x,
                             const int64_t *wd, const int64_t *wstr, const float *w, const int64_t *bdims,
                             const float *bias, double alpha, const int64_t *yd, float *y, fsc_error *err)
{
    dnnl_memory_desc_t xu, wu, bu, yu, xa, wa, ya;
    dnnl_dims_t d, s;
    memcpy(d, xd, (size_t)rank * sizeof(int64_t));
    memcpy(s, xs, (size_t)rank * sizeof(int64_t));
    dnnl_memory_desc_init_by_strides(&xu, rank, d, dnnl_f32, s);
    dnnl_memory_desc_init_by_tag(&xa, rank, d, r->s->cdt, dnnl_format_tag_any);
    memcpy(d, wd, (size_t)rank * sizeof(int64_t));
    memcpy(s, wstr, (size_t)rank * sizeof(int64_t));
    dnnl_memory_desc_init_by_strides(&wu, rank, d, dnnl_f32, s);
    dnnl_memory_desc_init_by_tag(&wa, rank, d, r->s->cdt, dnnl_format_tag_any);
    plain_md(&yu, rank, yd, dnnl_f32);
    memcpy(d, yd, (size_t)rank * sizeof(int64_t));
    dnnl_memory_desc_init_by_tag(&ya, rank, d, r->s->cdt, dnnl_format_tag_any);
    if (bias) plain_md(&bu, rank, bdims, dnnl_f32);
    dnnl_matmul_desc_t md;
    fsc_status st = dn_check(dnnl_matmul_desc_init(&md, &xa, &wa, bias ? &bu : NULL, &ya), "matmul descriptor", err);
    if (st) return st;
    dnnl_primitive_attr_t attr = NULL;
    if (alpha != 1.0) {
        float a = (float)alpha;
        st = dn_check(dnnl_primitive_attr_create(&attr), "attr", err);
        if (!st) st = dn_check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &a), "output scale", err);
        if (st) {
            dnnl_primitive_attr_destroy(attr);
            return st;
        }
    }
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    st = make_prim(r, &md, attr, &pd, &p, err);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (st) return st;
    const dnnl_memory_desc_t *xw = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *ww = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *yw = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t xm, wm, bm = NULL, ym;
    st = arg_in(r, &xu, x, xw, &xm, err);
    if (!st) st = arg_in(r, &wu, w, ww, &wm, err);
    if (!st && bias) st = mem_new(r, &bu, (void *)bias, &bm, err);
    if (!st) st = dnnl_memory_desc_equal(yw, &yu) ? mem_new(r, &yu, y, &ym, err) : mem_new(r, yw, NULL, &ym, err);
    if (st) return st;
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}, {DNNL_ARG_BIAS, bm}};
    return exec_out(r, p, bias ? 4 : 3, a, ym, &yu, y, err);
}

static void dense_strides(int rank, const int64_t *d, int64_t *s)
{
    int64_t st = 1;
    for (int i = rank - 1; i >= 0; i--) {
        s[i] = st;
        st *= d[i];
    }
}

static fsc_status run_gemm(dn_run *r, const fsc_node *n, const fsc_tensor *const *in, fsc_tensor *y, fsc_error *err)
{
    const fsc_attr_gemm *a = &n->attr.gemm;
    const fsc_shape *as = &in[0]->shape, *bs = &in[1]->shape;
    int64_t M = y->shape.dim[0], N = y->shape.dim[1], K = a->trans_a ? as->dim[0] : as->dim[1];
    /* A' as [M,K] over A's storage: transposed means strides (1, M). */
    int64_t xd[2] = {M, K}, xs[2] = {a->trans_a ? 1 : K, a->trans_a ? M : 1};
    int64_t wd[2] = {K, N}, ws[2] = {a->trans_b ? 1 : N, a->trans_b ? K : 1};
    (void)bs;
    const float *bias = NULL;
    int64_t bd[2] = {1, N};
    if (n->n_in > 2 && n->in[2] >= 0) {
        bias = in[2]->data;
        const fsc_shape *c = &in[2]->shape;
        if (c->rank == 2) bd[0] = c->dim[0];
    }
    return run_matmul(r, 2, xd, xs, in[0]->data, wd, ws, in[1]->data, bd, bias, a->alpha, y->shape.dim, y->data,
                      err);
}

static fsc_status run_matmul_node(dn_run *r, const fsc_tensor *const *in, fsc_tensor *y, fsc_error *err)
{
    int rank = y->shape.rank;
    int64_t xd[8], wd[8], xs[8], ws[8];
    pad_dims(&in[0]->shape, rank, xd);
    pad_dims(&in[1]->shape, rank, wd);
    dense_strides(rank, xd, xs);
    dense_strides(rank, wd, ws);
    return run_matmul(r, rank, xd, xs, in[0]->data, wd, ws, in[1]->data, NULL, NULL, 1.0, y->shape.dim, y->data, err);
}

/* A primitive on one plain src and one plain dst of the same type (eltwise,
 * softmax, pooling): src/dst reordered when the compute type is bf16. */
static fsc_status run_simple(dn_run *r, const void *desc, const dnnl_memory_desc_t *xu, const float *x,
                             const dnnl_memory_desc_t *yu, float *y, fsc_error *err)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    fsc_status st = make_prim(r, desc, NULL, &pd, &p, err);
    if (st) return st;
    const dnnl_memory_desc_t *xw = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *yw = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
    dnnl_memory_t xm, ym, wm = NULL;
    st = arg_in(r, xu, x, xw, &xm, err);
    if (!st) st = dnnl_memory_desc_equal(yw, yu) ? mem_new(r, yu, y, &ym, err) : mem_new(r, yw, NULL, &ym, err);
    if (!st && ws && dnnl_memory_desc_get_size(ws) > 0) st = mem_new(r, ws, NULL, &wm, err);
    if (st) return st;
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DST, ym}, {DNNL_ARG_WORKSPACE, wm}};
    return exec_out(r, p, wm ? 3 : 2, a, ym, yu, y, err);
}

/* Quantize / dequantize as a reorder with output scales (1/s, or s per axis). */
static fsc_status run_qdq(dn_run *r, const fsc_graph *g, const fsc_node *n, const fsc_tensor *const *in, fsc_tensor *y,
                          fsc_error *err)
{
    bool q = n->op == FSC_OP_QUANTIZE;
    const fsc_tensor *sc = g->values[n->in[1]].constant;
    int64_t ns = fsc_tensor_numel(sc);
    const fsc_shape *xs = &in[0]->shape;
    float *scales = fsc_malloc((size_t)ns * sizeof(float), "scales", err);
    if (!scales) return FSC_ERR_NOMEM;
    for (int64_t i = 0; i < ns; i++) scales[i] = q ? 1.0f / (float)fsc_tensor_get(sc, i) : (float)fsc_tensor_get(sc, i);
    int64_t axis = n->attr.quant.axis < 0 ? n->attr.quant.axis + xs->rank : n->attr.quant.axis;
    int mask = ns == 1 ? 0 : 1 << axis;
    dnnl_memory_desc_t xm, ym;
    int rank = xs->rank ? xs->rank : 1;
    int64_t one = 1;
    plain_md(&xm, rank, xs->rank ? xs->dim : &one, q ? dnnl_f32 : dnnl_s8);
    plain_md(&ym, rank, xs->rank ? xs->dim : &one, q ? dnnl_s8 : dnnl_f32);
    dnnl_primitive_attr_t attr;
    fsc_status st = dn_check(dnnl_primitive_attr_create(&attr), "attr", err);
    if (!st) st = dn_check(dnnl_primitive_attr_set_output_scales(attr, ns, mask, scales), "output scales", err);
    dnnl_primitive_desc_t pd = NULL;
    if (!st) st = dn_check(dnnl_reorder_primitive_desc_create(&pd, &xm, r->s->eng, &ym, r->s->eng, attr), "reorder", err);
    dnnl_primitive_attr_destroy(attr);
    free(scales);
    if (st) return st;
    r->pds[r->n_pds++] = pd;
    dnnl_primitive_t p;
    dnnl_memory_t a, b;
    st = dn_check(dnnl_primitive_create(&p, pd), "reorder", err);
    if (st) return st;
    r->prims[r->n_prims++] = p;
    st = mem_new(r, &xm, in[0]->data, &a, err);
    if (!st) st = mem_new(r, &ym, y->data, &b, err);
    if (st) return st;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, a}, {DNNL_ARG_TO, b}};
    st = dn_check(dnnl_primitive_execute(p, r->s->stream, 2, args), "reorder", err);
    return st ? st : dn_check(dnnl_stream_wait(r->s->stream), "stream wait", err);
}

/* W8A8 convolution: s8 codes of the activation (recovered exactly from its
 * dequantized values: x = s*q, |q| <= 128) and of the weights (the constant
 * under their dequantize), s32 accumulation inside oneDNN, f32 result scaled
 * by s_x*s_w[oc], bias added by a binary post-op (after the scaling). */
static fsc_status run_s8_conv(dn_run *r, const fsc_graph *g, const fsc_node *n, const fsc_tensor *const *in,
                              fsc_tensor *y, fsc_error *err)
{
    const fsc_node *dx = fsc_qdq_dequant_of(g, n->in[0]), *dw = fsc_qdq_dequant_of(g, n->in[1]);
    float sx = (float)fsc_tensor_get(g->values[dx->in[1]].constant, 0);
    const fsc_tensor *swt = g->values[dw->in[1]].constant, *wq = g->values[dw->in[0]].constant;
    const fsc_attr_conv *c = &n->attr.conv;
    const fsc_shape *xs = &in[0]->shape, *ws = &wq->shape, *ys = &y->shape;
    int64_t OC = ys->dim[1], G = c->group, nx = fsc_tensor_numel(in[0]);
    int64_t nsw = fsc_tensor_numel(swt);
    int8_t *xq = fsc_malloc((size_t)nx, "int8 activations", err);
    float *scales = fsc_malloc((size_t)OC * sizeof(float), "scales", err);
    fsc_status st = (!xq || !scales) ? FSC_ERR_NOMEM : FSC_OK;
    const float *xf = in[0]->data;
    for (int64_t i = 0; !st && i < nx; i++) {
        float q = nearbyintf(xf[i] / sx);
        xq[i] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
    }
    for (int64_t o = 0; !st && o < OC; o++) scales[o] = sx * (float)fsc_tensor_get(swt, nsw == 1 ? 0 : o);
    dnnl_memory_desc_t xu, wu, yu, xa, wa, ya, bu;
    int64_t wd[5];
    int wn = G > 1 ? 5 : 4;
    if (G > 1) wd[0] = G, wd[1] = ws->dim[0] / G, wd[2] = ws->dim[1], wd[3] = ws->dim[2], wd[4] = ws->dim[3];
    else memcpy(wd, ws->dim, 4 * sizeof(int64_t));
    plain_md(&xu, 4, xs->dim, dnnl_s8);
    plain_md(&wu, wn, wd, dnnl_s8);
    plain_md(&yu, 4, ys->dim, dnnl_f32);
    dnnl_dims_t d;
    memcpy(d, xs->dim, 4 * sizeof(int64_t));
    dnnl_memory_desc_init_by_tag(&xa, 4, d, dnnl_s8, dnnl_format_tag_any);
    memcpy(d, wd, (size_t)wn * sizeof(int64_t));
    dnnl_memory_desc_init_by_tag(&wa, wn, d, dnnl_s8, dnnl_format_tag_any);
    memcpy(d, ys->dim, 4 * sizeof(int64_t));
    dnnl_memory_desc_init_by_tag(&ya, 4, d, dnnl_f32, dnnl_format_tag_any);
    bool has_b = n->n_in > 2 && n->in[2] >= 0;
    int64_t bd[4] = {1, OC, 1, 1};
    plain_md(&bu, 4, bd, dnnl_f32);
    dnnl_dims_t strides = {c->stride[0], c->stride[1]}, dil = {c->dilation[0] - 1, c->dilation[1] - 1};
    dnnl_dims_t pl = {c->pad[0], c->pad[1]}, pr = {c->pad[2], c->pad[3]};
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (!st) st = dn_check(dnnl_dilated_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                                                      &xa, &wa, NULL, &ya, strides, dil, pl, pr),
                           "int8 convolution descriptor", err);
    if (!st) st = dn_check(dnnl_primitive_attr_create(&attr), "attr", err);
    if (!st) st = dn_check(dnnl_primitive_attr_set_output_scales(attr, OC, 1 << 1, scales), "output scales", err);
    if (!st && has_b) {
        st = dn_check(dnnl_post_ops_create(&po), "post-ops", err);
        if (!st) st = dn_check(dnnl_post_ops_append_binary(po, dnnl_binary_add, &bu), "bias post-op", err);
        if (!st) st = dn_check(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops", err);
    }
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    if (!st) st = make_prim(r, &cd, attr, &pd, &p, err);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    dnnl_memory_t xm, wm, ym, bm = NULL;
    if (!st) {
        const dnnl_memory_desc_t *xw = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        const dnnl_memory_desc_t *ww = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        const dnnl_memory_desc_t *yw = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
        st = arg_in(r, &xu, (const float *)(const void *)xq, xw, &xm, err);
        if (!st) st = arg_in(r, &wu, (const float *)wq->data, ww, &wm, err);
        if (!st && has_b) st = mem_new(r, &bu, in[2]->data, &bm, err);
        if (!st) st = dnnl_memory_desc_equal(yw, &yu) ? mem_new(r, &yu, y->data, &ym, err) : mem_new(r, yw, NULL, &ym, err);
        if (!st) {
            dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym},
                                    {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, bm}};
            st = exec_out(r, p, has_b ? 4 : 3, a, ym, &yu, y->data, err);
        }
    }
    free(xq);
    free(scales);
    return st;
}

static fsc_status run_node(dn_run *r, const fsc_graph *g, const fsc_node *n, const fsc_tensor *const *in,
                           fsc_tensor *y, fsc_error *err)
{
    if (r->s->s8 && (n->op == FSC_OP_QUANTIZE || n->op == FSC_OP_DEQUANTIZE)) return run_qdq(r, g, n, in, y, err);
    if (r->s->s8 && fsc_qdq_conv(g, n)) return run_s8_conv(r, g, n, in, y, err);
    dnnl_data_type_t cdt = r->s->cdt;
    const fsc_shape *xs = &in[0]->shape;
    dnnl_memory_desc_t xu, yu, xc, yc;
    plain_md(&xu, xs->rank, xs->dim, dnnl_f32);
    plain_md(&yu, y->shape.rank, y->shape.dim, dnnl_f32);
    plain_md(&xc, xs->rank, xs->dim, cdt);
    plain_md(&yc, y->shape.rank, y->shape.dim, cdt);
    dnnl_alg_kind_t alg;
    float a0, a1;
    switch (n->op) {
    case FSC_OP_CONV2D: return run_conv(r, n, in, y, err);
    case FSC_OP_GEMM: return run_gemm(r, n, in, y, err);
    case FSC_OP_MATMUL: return run_matmul_node(r, in, y, err);
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: {
        binary_alg(n->op, &alg);
        int64_t bd[8];
        pad_dims(&in[1]->shape, xs->rank, bd);
        dnnl_memory_desc_t bu;
        plain_md(&bu, xs->rank, bd, dnnl_f32);
        dnnl_binary_desc_t d;
        fsc_status st = dn_check(dnnl_binary_desc_init(&d, alg, &xu, &bu, &yu), "binary descriptor", err);
        dnnl_primitive_desc_t pd;
        dnnl_primitive_t p;
        if (!st) st = make_prim(r, &d, NULL, &pd, &p, err);
        dnnl_memory_t xm, bm, ym;
        if (!st) st = mem_new(r, &xu, in[0]->data, &xm, err);
        if (!st) st = mem_new(r, &bu, in[1]->data, &bm, err);
        if (!st) st = mem_new(r, &yu, y->data, &ym, err);
        if (st) return st;
        dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC_0, xm}, {DNNL_ARG_SRC_1, bm}, {DNNL_ARG_DST, ym}};
        return exec_out(r, p, 3, a, ym, &yu, y->data, err);
    }
    case FSC_OP_SOFTMAX: {
        int axis = (int)(n->attr.axis.axis < 0 ? n->attr.axis.axis + xs->rank : n->attr.axis.axis);
        dnnl_softmax_v2_desc_t d;
        fsc_status st = dn_check(dnnl_softmax_v2_forward_desc_init(&d, dnnl_forward_inference, dnnl_softmax_accurate,
                                                                    &xc, &yc, axis),
                                 "softmax descriptor", err);
        return st ? st : run_simple(r, &d, &xu, in[0]->data, &yu, y->data, err);
    }
    case FSC_OP_MAXPOOL: case FSC_OP_AVGPOOL: case FSC_OP_GLOBAL_AVGPOOL: {
        const fsc_attr_pool *pa = &n->attr.pool;
        bool global = n->op == FSC_OP_GLOBAL_AVGPOOL;
        dnnl_dims_t k = {global ? xs->dim[2] : pa->kernel[0], global ? xs->dim[3] : pa->kernel[1]};
        dnnl_dims_t s = {global ? 1 : pa->stride[0], global ? 1 : pa->stride[1]};
        dnnl_dims_t dl = {global ? 0 : pa->dilation[0] - 1, global ? 0 : pa->dilation[1] - 1};
        dnnl_dims_t pl = {global ? 0 : pa->pad[0], global ? 0 : pa->pad[1]};
        dnnl_dims_t pr = {global ? 0 : pa->pad[2], global ? 0 : pa->pad[3]};
        dnnl_alg_kind_t al = n->op == FSC_OP_MAXPOOL ? dnnl_pooling_max
                             : (!global && pa->count_include_pad) ? dnnl_pooling_avg_include_padding
                                                                   : dnnl_pooling_avg_exclude_padding;
        dnnl_pooling_v2_desc_t d;
        fsc_status st = dn_check(dnnl_pooling_v2_forward_desc_init(&d, dnnl_forward_inference, al, &xc, &yc, s, k, dl,
                                                                    pl, pr),
                                 "pooling descriptor", err);
        return st ? st : run_simple(r, &d, &xu, in[0]->data, &yu, y->data, err);
    }
    default:
        if (eltwise_alg(n, &alg, &a0, &a1)) {
            dnnl_eltwise_desc_t d;
            fsc_status st =
                dn_check(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_inference, alg, &xc, a0, a1), "eltwise", err);
            return st ? st : run_simple(r, &d, &xu, in[0]->data, &yu, y->data, err);
        }
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "op %s is not run on oneDNN", fsc_op_name(n->op));
    }
}

static fsc_status dn_run_node(fsc_backend *b, const fsc_graph *g, int node, const fsc_tensor *const *in,
                              fsc_tensor *out, fsc_error *err)
{
    const fsc_node *n = &g->nodes[node];
    fsc_dtype dt = g->values[n->out[0]].dtype == FSC_DT_I8 ? FSC_DT_I8 : FSC_DT_F32;
    fsc_status st = fsc_tensor_alloc(&out[0], dt, &g->values[n->out[0]].shape, b->ctx->limits.max_tensor_bytes, err);
    if (st) return st;
    if (dt == FSC_DT_F32) out[0].fmt = b->arith->storage;
    if (fsc_shape_numel(&out[0].shape) == 0) return FSC_OK;
    omp_set_num_threads(b->ctx->threads > 0 ? b->ctx->threads : 1);
    dn_run r;
    memset(&r, 0, sizeof r);
    r.s = b->state;
    st = run_node(&r, g, n, in, &out[0], err);
    run_free(&r);
    if (st) fsc_tensor_free(&out[0]);
    return st;
}

static fsc_status dn_load_const(fsc_backend *b, const fsc_graph *g, int value, fsc_tensor *out, fsc_error *err)
{
    (void)b;
    const fsc_tensor *c = g->values[value].constant;
    if (c->dtype != FSC_DT_F32 && c->dtype != FSC_DT_F64) return fsc_tensor_clone(out, c, err);
    fsc_status st = fsc_tensor_alloc(out, FSC_DT_F32, &c->shape, 0, err);
    if (st) return st;
    float *d = out->data;
    int64_t n = fsc_tensor_numel(c);
    /* float32 constants as the file holds them; onednn:bf16 reorders them to bf16 itself */
    for (int64_t i = 0; i < n; i++) d[i] = (float)fsc_round(fsc_tensor_get(c, i), FSC_FMT_FP32, fsc_round_default());
    out->fmt = FSC_FMT_FP32;
    return FSC_OK;
}

static void dn_release(fsc_backend *b)
{
    dn_state *s = b->state;
    if (!s) return;
    if (s->stream) dnnl_stream_destroy(s->stream);
    if (s->eng) dnnl_engine_destroy(s->eng);
    free(s);
}

static bool dn_supports(const fsc_backend *b, const fsc_graph *g, int node) { return fsc_onednn_supports(b, g, node); }

static const fsc_backend_vtable dn_vtable = {
    .kind = "onednn",
    .supports = dn_supports,
    .prepare = NULL,
    .load_const = dn_load_const,
    .run_node = dn_run_node,
    .release = dn_release,
};

fsc_status fsc_onednn_backend_new(const char *variant, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err)
{
    fsc_backend *b = fsc_calloc(1, sizeof *b, "oneDNN backend", err);
    dn_state *s = b ? fsc_calloc(1, sizeof *s, "oneDNN backend", err) : NULL;
    if (!s) {
        free(b);
        return FSC_ERR_NOMEM;
    }
    b->vt = &dn_vtable;
    b->ctx = ctx;
    b->state = s;
    bool bf = !strcmp(variant, "bf16");
    s->cdt = bf ? dnnl_bf16 : dnnl_f32;
    s->s8 = !strcmp(variant, "s8");
    b->arith = fsc_arith_preset(bf ? "bf16" : "fp32");
    snprintf(b->name, sizeof b->name, "onednn:%s", variant);
    fsc_status st = dn_check(dnnl_engine_create(&s->eng, dnnl_cpu, 0), "engine", err);
    if (!st) st = dn_check(dnnl_stream_create(&s->stream, s->eng, dnnl_stream_default_flags), "stream", err);
    if (st) {
        fsc_backend_free(b);
        return st;
    }
    *out = b;
    return FSC_OK;
}

bool fsc_onednn_bf16_ok(char *reason, size_t len)
{
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    bool ok = ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    if (!ok) snprintf(reason, len, "this CPU lacks AVX512-BF16/AMX (oneDNN ISA %d): no native bf16 here", (int)isa);
    return ok;
}

#else
typedef int fsc_onednn_impl_absent; /* built without oneDNN */
#endif
