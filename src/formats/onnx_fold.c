/* onnx_fold.c: evaluates integer shape arithmetic at load time.
 *
 * Exporters compute reshape targets at run time (Shape -> Gather -> Unsqueeze
 * -> Concat -> Reshape). Shapes are static here, so Shape is always a
 * constant, and any integer op whose inputs are all constants is evaluated
 * now and becomes a CONSTANT node (keeping the node's name and op type). The
 * ONNX semantics are not repeated: the node is first translated by onnx_ops.c
 * into a scratch graph holding copies of its inputs, then that one IR node is
 * evaluated on the (small, exact) integer data. Float ops are never folded:
 * their rounding belongs to the arithmetic model under test. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx_internal.h"

/* Integer tensors above this size are not shape arithmetic; leave them to the graph. */
#define FOLD_MAX_NUMEL 4096

static const char *const foldable[] = {"Gather", "Unsqueeze", "Squeeze", "Concat", "Reshape", "Flatten", "Cast",
                                       "Slice", "Add", "Sub", "Mul", "Div", "Identity"};

static bool is_int(fsc_dtype d) { return d == FSC_DT_I64 || d == FSC_DT_I32; }

/* Row-major strides of s. */
static void strides(const fsc_shape *s, int64_t *st)
{
    int64_t acc = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = acc;
        acc *= s->dim[i];
    }
}

/* Evaluates node nd of scratch graph g (all inputs integer constants) into *out. */
static fsc_status eval_node(const fsc_graph *g, const fsc_node *nd, fsc_tensor *out, fsc_error *err)
{
    const fsc_value *ov = &g->values[nd->out[0]];
    fsc_dtype odt = ov->dtype;
    if (!is_int(odt)) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "not an integer result");
    fsc_status st = fsc_tensor_alloc(out, odt, &ov->shape, 0, err);
    if (st) return st;
    const fsc_tensor *a = g->values[nd->in[0]].constant;
    const fsc_tensor *b = nd->n_in > 1 && nd->in[1] >= 0 ? g->values[nd->in[1]].constant : NULL;
    int64_t n = fsc_tensor_numel(out);
    int64_t os[FSC_MAX_RANK], as[FSC_MAX_RANK];
    strides(&ov->shape, os);
    strides(&a->shape, as);
    int rank = ov->shape.rank;
    for (int64_t i = 0; i < n; i++) {
        int64_t idx[FSC_MAX_RANK];
        for (int d = 0; d < rank; d++) idx[d] = (i / os[d]) % ov->shape.dim[d];
        double v;
        switch (nd->op) {
        case FSC_OP_RESHAPE: case FSC_OP_IDENTITY: case FSC_OP_CAST: v = fsc_tensor_get(a, i); break;
        case FSC_OP_SLICE: {
            int64_t off = 0;
            for (int d = 0; d < rank; d++) off += (nd->attr.slice.start[d] + idx[d] * nd->attr.slice.step[d]) * as[d];
            v = fsc_tensor_get(a, off);
            break;
        }
        case FSC_OP_CONCAT: {
            int64_t ax = nd->attr.axis.axis, pos = idx[ax];
            int k = 0;
            while (pos >= g->values[nd->in[k]].shape.dim[ax]) pos -= g->values[nd->in[k++]].shape.dim[ax];
            const fsc_tensor *src = g->values[nd->in[k]].constant;
            int64_t ss[FSC_MAX_RANK], off = 0;
            strides(&src->shape, ss);
            for (int d = 0; d < rank; d++) off += (d == ax ? pos : idx[d]) * ss[d];
            v = fsc_tensor_get(src, off);
            break;
        }
        case FSC_OP_GATHER: {
            int64_t ax = nd->attr.axis.axis, ir = b->shape.rank, bs[FSC_MAX_RANK], boff = 0, off = 0;
            strides(&b->shape, bs);
            for (int d = 0; d < ir; d++) boff += idx[ax + d] * bs[d];
            int64_t j = (int64_t)fsc_tensor_get(b, boff), dim = a->shape.dim[ax];
            if (j < 0) j += dim;
            if (j < 0 || j >= dim) {
                fsc_tensor_free(out);
                return fsc_fail(err, FSC_ERR_INVALID, "gather index %" PRId64 " is out of range for size %" PRId64,
                                (int64_t)fsc_tensor_get(b, boff), dim);
            }
            for (int d = 0; d < a->shape.rank; d++)
                off += (d < ax ? idx[d] : d == ax ? j : idx[d - 1 + ir]) * as[d];
            v = fsc_tensor_get(a, off);
            break;
        }
        case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: {
            double x[2];
            for (int k = 0; k < 2; k++) {
                const fsc_tensor *t = k ? b : a;
                int64_t ts[FSC_MAX_RANK], off = 0;
                strides(&t->shape, ts);
                for (int d = 0; d < t->shape.rank; d++) {
                    int od = d + rank - t->shape.rank;
                    off += (t->shape.dim[d] == 1 ? 0 : idx[od]) * ts[d];
                }
                x[k] = fsc_tensor_get(t, off);
            }
            int64_t p = (int64_t)x[0], q = (int64_t)x[1];
            if (nd->op == FSC_OP_DIV && q == 0) {
                fsc_tensor_free(out);
                return fsc_fail(err, FSC_ERR_INVALID, "integer division by zero");
            }
            v = (double)(nd->op == FSC_OP_ADD ? p + q : nd->op == FSC_OP_SUB ? p - q : nd->op == FSC_OP_MUL ? p * q : p / q);
            break;
        }
        default:
            fsc_tensor_free(out);
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "op %s is not folded", fsc_op_name(nd->op));
        }
        fsc_tensor_set(out, i, v);
    }
    return FSC_OK;
}

/* Shape (opset 15 adds start/end) of a value with a static shape. */
static fsc_status fold_shape(onnx_rd *r)
{
    int in;
    fsc_status st = onnx_input(r, 0, &in);
    if (st) return st;
    const fsc_shape *x = onnx_shape(r, in);
    int64_t start, end;
    if ((st = onnx_attr_int(r, "start", 0, &start)) || (st = onnx_attr_int(r, "end", INT64_MAX, &end))) return st;
    if (start < 0) start += x->rank;
    if (end < 0) end += x->rank;
    start = start < 0 ? 0 : start > x->rank ? x->rank : start;
    end = end < 0 ? 0 : end > x->rank ? x->rank : end;
    fsc_shape s = {.rank = 1, .dim = {end > start ? end - start : 0}};
    fsc_tensor t;
    fsc_error e;
    if (fsc_tensor_alloc(&t, FSC_DT_I64, &s, 0, &e)) return onnx_node_fail(r, e.code, "%s", e.msg);
    for (int64_t i = 0; i < s.dim[0]; i++) ((int64_t *)t.data)[i] = x->dim[start + i];
    if (r->np->n_output < 1 || !r->np->output[0][0]) {
        fsc_tensor_free(&t);
        return onnx_node_fail(r, FSC_ERR_INVALID, "has no output");
    }
    if (fsc_graph_add_const_node(r->g, r->np->name ? r->np->name : "", r->np->op_type, r->np->output[0], FSC_DT_I64, &t,
                                 &e) < 0)
        return onnx_node_fail(r, e.code, "%s", e.msg);
    return FSC_OK;
}

/* True when value id is a small integer constant. */
static bool small_int_const(const onnx_rd *r, int id)
{
    const fsc_tensor *c = r->g->values[id].constant;
    return c && is_int(r->g->values[id].dtype) && fsc_tensor_numel(c) <= FOLD_MAX_NUMEL;
}

fsc_status onnx_try_fold(onnx_rd *r, bool *done)
{
    *done = false;
    if (!strcmp(r->np->op_type, "Shape")) {
        *done = true;
        return fold_shape(r);
    }
    bool match = false;
    for (size_t i = 0; i < sizeof foldable / sizeof foldable[0]; i++) match = match || !strcmp(foldable[i], r->np->op_type);
    int n = onnx_n_inputs(r);
    if (!match || n < 1 || r->np->n_output != 1) return FSC_OK;
    /* Materialising initializers that feed integer ops is harmless: they are read as data anyway. */
    for (int i = 0; i < n; i++) {
        if (!onnx_has_input(r, i)) continue;
        int id;
        fsc_error *saved = r->err;
        fsc_error scratch;
        r->err = &scratch;
        fsc_status st = onnx_input(r, i, &id);
        r->err = saved;
        if (st) return FSC_OK; /* the op's own mapping reports the problem */
        if (!small_int_const(r, id)) return FSC_OK;
    }
    /* Translate into a scratch graph holding copies of the inputs under their names. */
    fsc_error e;
    fsc_graph *scratch = fsc_graph_new("fold", &e);
    if (!scratch) return onnx_node_fail(r, e.code, "%s", e.msg);
    fsc_status st = FSC_OK;
    for (int i = 0; i < n && !st; i++) {
        if (!onnx_has_input(r, i) || fsc_graph_find(scratch, r->np->input[i]) >= 0) continue;
        const fsc_value *v = &r->g->values[fsc_graph_find(r->g, r->np->input[i])];
        fsc_tensor t;
        if (fsc_tensor_clone(&t, v->constant, &e) || fsc_graph_add_initializer(scratch, v->name, v->dtype, &t, &e) < 0)
            st = onnx_node_fail(r, e.code, "%s", e.msg);
    }
    fsc_graph *real = r->g;
    if (!st) {
        r->g = scratch;
        st = onnx_translate_node_unfolded(r);
        r->g = real;
    }
    fsc_tensor out;
    memset(&out, 0, sizeof out);
    if (!st && scratch->n_nodes == 1) {
        if (eval_node(scratch, &scratch->nodes[0], &out, &e)) {
            /* Not evaluable here (e.g. a float result): translate for real instead. */
            fsc_graph_free(scratch);
            return FSC_OK;
        }
        fsc_dtype dt = scratch->values[scratch->nodes[0].out[0]].dtype;
        if (fsc_graph_add_const_node(real, r->np->name ? r->np->name : "", r->np->op_type, r->np->output[0], dt, &out,
                                     &e) < 0)
            st = onnx_node_fail(r, e.code, "%s", e.msg);
        else *done = true;
    }
    fsc_graph_free(scratch);
    return st;
}
