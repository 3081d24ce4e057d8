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

/* Element off of an integer tensor, read without a detour through double. */
static int64_t geti(const fsc_tensor *t, int64_t off)
{
    return t->dtype == FSC_DT_I64 ? ((const int64_t *)t->data)[off] : ((const int32_t *)t->data)[off];
}

static void seti(fsc_tensor *t, int64_t off, int64_t v)
{
    if (t->dtype == FSC_DT_I64) ((int64_t *)t->data)[off] = v;
    else ((int32_t *)t->data)[off] = (int32_t)v;
}

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
static fsc_status eval_node(const fsc_graph *g, const fsc_node *nd, size_t max_bytes, fsc_tensor *out, fsc_error *err)
{
    const fsc_value *ov = &g->values[nd->out[0]];
    fsc_dtype odt = ov->dtype;
    if (!is_int(odt)) return fsc_fail(err, FSC_ERR_UNSUPPORTED, "not an integer result");
    fsc_status st = fsc_tensor_alloc(out, odt, &ov->shape, max_bytes, err);
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
        int64_t v;
        switch (nd->op) {
        case FSC_OP_RESHAPE: case FSC_OP_IDENTITY: case FSC_OP_CAST: v = geti(a, i); break;
        case FSC_OP_SLICE: {
            int64_t off = 0;
            for (int d = 0; d < rank; d++) off += (nd->attr.slice.start[d] + idx[d] * nd->attr.slice.step[d]) * as[d];
            v = geti(a, off);
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
            v = geti(src, off);
            break;
        }
        case FSC_OP_GATHER: {
            int64_t ax = nd->attr.axis.axis, ir = b->shape.rank, bs[FSC_MAX_RANK], boff = 0, off = 0;
            strides(&b->shape, bs);
            for (int d = 0; d < ir; d++) boff += idx[ax + d] * bs[d];
            int64_t j = geti(b, boff), dim = a->shape.dim[ax];
            if (j < 0) j += dim;
            if (j < 0 || j >= dim) {
                fsc_tensor_free(out);
                return fsc_fail(err, FSC_ERR_INVALID, "gather index %" PRId64 " is out of range for size %" PRId64,
                                geti(b, boff), dim);
            }
            for (int d = 0; d < a->shape.rank; d++)
                off += (d < ax ? idx[d] : d == ax ? j : idx[d - 1 + ir]) * as[d];
            v = geti(a, off);
            break;
        }
        case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: {
            int64_t x[2];
            for (int k = 0; k < 2; k++) {
                const fsc_tensor *t = k ? b : a;
                int64_t ts[FSC_MAX_RANK], off = 0;
                strides(&t->shape, ts);
                for (int d = 0; d < t->shape.rank; d++) {
                    int od = d + rank - t->shape.rank;
                    off += (t->shape.dim[d] == 1 ? 0 : idx[od]) * ts[d];
                }
                x[k] = geti(t, off);
            }
            bool ovf = false;
            if (nd->op == FSC_OP_ADD) ovf = __builtin_add_overflow(x[0], x[1], &v);
            else if (nd->op == FSC_OP_SUB) ovf = __builtin_sub_overflow(x[0], x[1], &v);
            else if (nd->op == FSC_OP_MUL) ovf = __builtin_mul_overflow(x[0], x[1], &v);
            else if (x[1] == 0 || (x[0] == INT64_MIN && x[1] == -1)) ovf = true;
            else v = x[0] / x[1]; /* C and ONNX integer Div both truncate toward zero */
            if (ovf) {
                fsc_tensor_free(out);
                return fsc_fail(err, FSC_ERR_INVALID, "integer %s overflows or divides by zero",
                                fsc_op_name(nd->op));
            }
            break;
        }
        default:
            fsc_tensor_free(out);
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "op %s is not folded", fsc_op_name(nd->op));
        }
        seti(out, i, v);
    }
    return FSC_OK;
}

/* Shape (opset 15 adds start/end) of a value with a static shape. */
static fsc_status fold_shape(onnx_rd *r)
{
    if (onnx_n_inputs(r) != 1) return onnx_node_fail(r, FSC_ERR_INVALID, "expects 1 input, has %d", onnx_n_inputs(r));
    /* The input's shape, without adding a constant input to the graph just to look at it. */
    fsc_shape xs;
    fsc_status st;
    int in = fsc_graph_find(r->g, r->np->input[0]);
    if (in >= 0) {
        xs = *onnx_shape(r, in);
    } else {
        fsc_tensor c;
        if ((st = onnx_const_input(r, 0, "input", &c))) return st;
        xs = c.shape;
        fsc_tensor_free(&c);
    }
    const fsc_shape *x = &xs;
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
    if (r->np->n_output != 1 || !r->np->output[0][0]) {
        fsc_tensor_free(&t);
        return onnx_node_fail(r, FSC_ERR_INVALID, "expects one output");
    }
    return onnx_add_pending(r, FSC_DT_I64, &t);
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
    for (int i = 0; i < n; i++)
        if (onnx_has_input(r, i) && !onnx_is_small_int_const(r, r->np->input[i], FOLD_MAX_NUMEL)) return FSC_OK;
    /* Translate into a scratch graph holding copies of the inputs under their names. */
    fsc_error e;
    fsc_graph *scratch = fsc_graph_new("fold", &e);
    if (!scratch) return onnx_node_fail(r, e.code, "%s", e.msg);
    fsc_status st = FSC_OK;
    for (int i = 0; i < n && !st; i++) {
        if (!onnx_has_input(r, i) || fsc_graph_find(scratch, r->np->input[i]) >= 0) continue;
        fsc_tensor t;
        if (!(st = onnx_const_input(r, i, "input", &t)) &&
            fsc_graph_add_initializer(scratch, r->np->input[i], t.dtype, &t, &e) < 0)
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
        if (eval_node(scratch, &scratch->nodes[0], r->ctx->limits.max_tensor_bytes, &out, &e)) {
            /* Not evaluable here (e.g. a float result): translate for real instead. */
            fsc_graph_free(scratch);
            return FSC_OK;
        }
        fsc_dtype dt = scratch->values[scratch->nodes[0].out[0]].dtype;
        st = onnx_add_pending(r, dt, &out);
        *done = true;
    }
    fsc_graph_free(scratch);
    return st;
}
