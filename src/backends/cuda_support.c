/* cuda_support.c: which nodes the cuda backend runs (op, dtypes, the forms
 * of each op its cuBLAS/cuDNN/kernel paths handle). Pure graph logic without
 * CUDA headers, compiled in every build so that it is tested without a GPU. */
#include <limits.h>
#include <string.h>

#include "backends/cuda_internal.h"
#include "flipscope/graph.h"

static const fsc_value *val(const fsc_graph *g, const fsc_node *n, int k)
{
    return k < n->n_in && n->in[k] >= 0 ? &g->values[n->in[k]] : NULL;
}

int fsc_cuda_mean_trailing(const fsc_attr_axes *ax, int r)
{
    if (ax->naxes == 0) return r;
    if (ax->naxes > r || r > FSC_MAX_RANK) return -1;
    bool hit[FSC_MAX_RANK] = {false};
    for (int i = 0; i < ax->naxes; i++) {
        int64_t a = ax->axes[i] < 0 ? ax->axes[i] + r : ax->axes[i];
        if (a < 0 || a >= r || hit[a]) return -1;
        hit[a] = true;
    }
    for (int a = r - ax->naxes; a < r; a++)
        if (!hit[a]) return -1;
    return ax->naxes;
}

/* Positive and within cuBLAS/cuDNN's int arguments. */
static bool fits_int(int64_t x) { return x > 0 && x < INT_MAX; }

bool fsc_cuda_node_supported(const fsc_graph *g, int node)
{
    if (!g || node < 0 || node >= g->n_nodes) return false;
    const fsc_node *n = &g->nodes[node];
    if (n->n_out != 1 || n->n_in > 3) return false;
    const fsc_value *y = &g->values[n->out[0]];
    if (!fsc_dtype_is_float(y->dtype) || !fits_int(fsc_shape_numel(&y->shape))) return false;
    for (int k = 0; k < n->n_in; k++) {
        const fsc_value *v = val(g, n, k);
        if (v && (!fsc_dtype_is_float(v->dtype) || !fits_int(fsc_shape_numel(&v->shape)))) return false;
    }
    const fsc_value *a = val(g, n, 0), *w = val(g, n, 1);
    switch (n->op) {
    case FSC_OP_IDENTITY: case FSC_OP_RESHAPE: case FSC_OP_RELU: case FSC_OP_SIGMOID: case FSC_OP_SILU:
    case FSC_OP_TANH:
        return a != NULL;
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV:
        return a && w && n->n_in == 2 && y->shape.rank <= FSC_CUDA_MAX_RANK;
    case FSC_OP_GLOBAL_AVGPOOL:
        return a && a->shape.rank >= 3;
    case FSC_OP_REDUCE_MEAN:
        return a && fsc_cuda_mean_trailing(&n->attr.axes, a->shape.rank) >= 0;
    case FSC_OP_GEMM: {
        const fsc_value *c = val(g, n, 2);
        return a && w && a->shape.rank == 2 && w->shape.rank == 2 && (!c || c->shape.rank <= 2);
    }
    case FSC_OP_MATMUL:
        if (!a || !w || a->shape.rank < 2 || w->shape.rank < 2) return false;
        if (w->shape.rank == 2) return true;
        if (a->shape.rank != w->shape.rank) return false;
        for (int i = 0; i < a->shape.rank - 2; i++)
            if (a->shape.dim[i] != w->shape.dim[i]) return false;
        return true;
    case FSC_OP_CONV2D: {
        const fsc_attr_conv *c = &n->attr.conv;
        return a && w && a->shape.rank == 4 && w->shape.rank == 4 && c->pad[0] == c->pad[2] && c->pad[1] == c->pad[3] &&
               c->group >= 1 && c->group < INT_MAX && c->pad[0] < INT_MAX && c->pad[1] < INT_MAX &&
               c->stride[0] < INT_MAX && c->stride[1] < INT_MAX && c->dilation[0] < INT_MAX &&
               c->dilation[1] < INT_MAX && fits_int(a->shape.dim[0]) && fits_int(w->shape.dim[0]);
    }
    default:
        return false;
    }
}

void fsc_cuda_bcast_make(const fsc_shape *y, const fsc_shape *a, const fsc_shape *b, fsc_cuda_bcast *bc)
{
    memset(bc, 0, sizeof *bc);
    bc->rank = y->rank ? y->rank : 1;
    for (int d = 0; d < bc->rank; d++) bc->dim[d] = y->rank ? y->dim[d] : 1;
    for (int k = 0; k < 2; k++) {
        const fsc_shape *in = k ? b : a;
        int64_t *st = k ? bc->sb : bc->sa, stride = 1;
        for (int d = bc->rank - 1, j = in->rank - 1; d >= 0; d--, j--) {
            int64_t dim = j >= 0 ? in->dim[j] : 1;
            st[d] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
    }
}

static int64_t prod(const fsc_shape *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++) p *= s->dim[i];
    return p;
}

bool fsc_cuda_gemm_describe(const fsc_graph *g, int node, fsc_cuda_gemm_desc *d)
{
    memset(d, 0, sizeof *d);
    if (!fsc_cuda_node_supported(g, node)) return false;
    const fsc_node *n = &g->nodes[node];
    if (n->op != FSC_OP_GEMM && n->op != FSC_OP_MATMUL) return false;
    const fsc_shape *as = &g->values[n->in[0]].shape, *bs = &g->values[n->in[1]].shape;
    const fsc_shape *ys = &g->values[n->out[0]].shape;
    d->batch = 1;
    d->alpha = 1.0;
    if (n->op == FSC_OP_GEMM) {
        d->ta = n->attr.gemm.trans_a;
        d->tb = n->attr.gemm.trans_b;
        d->M = ys->dim[0];
        d->N = ys->dim[1];
        d->K = d->ta ? as->dim[0] : as->dim[1];
        d->alpha = n->attr.gemm.alpha;
        if (n->n_in > 2 && n->in[2] >= 0) {
            const fsc_shape *c = &g->values[n->in[2]].shape;
            int64_t d0 = c->rank == 2 ? c->dim[0] : 1, d1 = c->rank >= 1 ? c->dim[c->rank - 1] : 1;
            d->has_c = true;
            d->beta = n->attr.gemm.beta;
            d->csm = d0 == 1 ? 0 : d1;
            d->csn = d1 == 1 ? 0 : 1;
        }
    } else {
        d->K = as->dim[as->rank - 1];
        d->N = bs->dim[bs->rank - 1];
        d->M = as->dim[as->rank - 2];
        if (bs->rank == 2) d->M = prod(as, 0, as->rank - 1);
        else d->batch = prod(as, 0, as->rank - 2);
    }
    /* Row-major X[r,c] is the column-major X^T with leading dimension = X's row length. */
    d->lda = d->ta ? d->M : d->K;
    d->ldb = d->tb ? d->K : d->N;
    d->stride_a = d->M * d->K;
    d->stride_b = d->K * d->N;
    return fits_int(d->M) && fits_int(d->N) && fits_int(d->K) && fits_int(d->batch);
}
