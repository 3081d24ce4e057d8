/* onnx_write.c: fsc_graph -> ONNX ModelProto.
 *
 * ir_version 8; the default-domain opset is 13 unless the graph needs a later
 * one (LayerNormalization: 17, Gelu: 20). Parameters the IR holds as
 * attributes but ONNX passes as tensors (Reshape's shape, Slice's bounds,
 * Pad's pads, Clip's bounds, ReduceMean's axes from opset 18) are written as
 * extra int64/float initializers named after the node's output. Graph
 * initializers stay initializers; CONSTANT nodes stay Constant nodes, so
 * read -> write -> read reproduces the graph. The protobuf structs borrow the
 * graph's strings; everything the writer allocates is tracked and freed. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "flipscope/model_io.h"
#include "flipscope/onnx.h"
#include "formats/onnx_internal.h"

typedef struct wr {
    const fsc_graph *g;
    fsc_error *err;
    int64_t opset;
    int counter;
    void **allocs;
    size_t n_allocs, cap_allocs;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    bool failed;
} wr;

/* Zeroed memory owned by the writer (NULL and w->failed on failure). */
static void *wr_alloc(wr *w, size_t n)
{
    if (w->failed) return NULL;
    if (w->n_allocs == w->cap_allocs) {
        size_t cap = w->cap_allocs ? 2 * w->cap_allocs : 64;
        void **p = realloc(w->allocs, cap * sizeof *p);
        if (!p) {
            w->failed = true;
            return NULL;
        }
        w->allocs = p;
        w->cap_allocs = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        w->failed = true;
        return NULL;
    }
    w->allocs[w->n_allocs++] = p;
    return p;
}

/* Appends ptr to a growable pointer array. */
static void wr_push(wr *w, void ***arr, size_t *n, size_t *cap, void *ptr)
{
    if (w->failed || !ptr) {
        w->failed = true;
        return;
    }
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        void **p = realloc(*arr, nc * sizeof *p);
        if (!p) {
            w->failed = true;
            return;
        }
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = ptr;
}

static char *wr_name(wr *w, const char *base, const char *what)
{
    size_t len = strlen(base) + strlen(what) + 32;
    char *s = wr_alloc(w, len);
    if (!s) return NULL;
    do snprintf(s, len, "%s__%s%d", base, what, ++w->counter);
    while (fsc_graph_find(w->g, s) >= 0);
    return s;
}

/* ---- tensors ------------------------------------------------------------ */

/* Fills tp with t's data written as logical dtype dt (raw_data, little-endian). */
static void wr_tensor(wr *w, Onnx__TensorProto *tp, const fsc_tensor *t, fsc_dtype dt)
{
    onnx__tensor_proto__init(tp);
    tp->has_data_type = 1;
    tp->data_type = onnx_dtype_to(dt);
    tp->n_dims = (size_t)t->shape.rank;
    tp->dims = wr_alloc(w, sizeof(int64_t) * (size_t)(t->shape.rank + 1));
    if (!tp->dims) return;
    for (int i = 0; i < t->shape.rank; i++) tp->dims[i] = t->shape.dim[i];
    int64_t n = fsc_tensor_numel(t);
    size_t es = fsc_dtype_size(dt);
    uint8_t *raw = wr_alloc(w, (size_t)n * es);
    if (!raw) return;
    if (dt == FSC_DT_F16 || dt == FSC_DT_BF16) {
        for (int64_t i = 0; i < n; i++) {
            double v = fsc_tensor_get(t, i);
            uint16_t b = dt == FSC_DT_F16 ? fsc_double_to_half(v) : fsc_double_to_bf16(v);
            memcpy(raw + 2 * i, &b, 2);
        }
    } else if (dt == t->dtype) {
        memcpy(raw, t->data, (size_t)n * es);
    } else {
        /* Logical float type held in another container (e.g. F32 value in an F64 buffer). */
        for (int64_t i = 0; i < n; i++) {
            double v = fsc_tensor_get(t, i);
            if (dt == FSC_DT_F32) {
                float f = (float)v;
                memcpy(raw + 4 * i, &f, 4);
            } else if (dt == FSC_DT_F64) {
                memcpy(raw + 8 * i, &v, 8);
            } else {
                fsc_tensor tmp = {.dtype = dt, .data = raw + es * i};
                fsc_tensor_set(&tmp, 0, v);
            }
        }
    }
    tp->has_raw_data = 1;
    tp->raw_data.data = raw;
    tp->raw_data.len = (size_t)n * es;
}

static void wr_add_init(wr *w, const char *name, const fsc_tensor *t, fsc_dtype dt)
{
    Onnx__TensorProto *tp = wr_alloc(w, sizeof *tp);
    if (!tp) return;
    wr_tensor(w, tp, t, dt);
    tp->name = (char *)name;
    wr_push(w, (void ***)&w->inits, &w->n_inits, &w->cap_inits, tp);
}

/* Adds an int64 1-D initializer; returns its name. */
static const char *wr_ints_init(wr *w, const char *base, const char *what, const int64_t *v, int n)
{
    fsc_tensor t;
    fsc_shape s = {.rank = 1, .dim = {n}};
    if (fsc_tensor_alloc(&t, FSC_DT_I64, &s, 0, NULL)) {
        w->failed = true;
        return NULL;
    }
    if (n) memcpy(t.data, v, sizeof(int64_t) * (size_t)n);
    char *name = wr_name(w, base, what);
    if (name) wr_add_init(w, name, &t, FSC_DT_I64);
    fsc_tensor_free(&t);
    return name;
}

/* Adds a scalar initializer of logical dtype dt; returns its name. */
static const char *wr_scalar_init(wr *w, const char *base, const char *what, double v, fsc_dtype dt)
{
    fsc_tensor t;
    fsc_shape s = {.rank = 0};
    fsc_dtype container = (dt == FSC_DT_F16 || dt == FSC_DT_BF16) ? FSC_DT_F32 : dt;
    if (fsc_tensor_alloc(&t, container, &s, 0, NULL)) {
        w->failed = true;
        return NULL;
    }
    fsc_tensor_set(&t, 0, v);
    char *name = wr_name(w, base, what);
    if (name) wr_add_init(w, name, &t, dt);
    fsc_tensor_free(&t);
    return name;
}

/* ---- nodes -------------------------------------------------------------- */

static Onnx__NodeProto *wr_node(wr *w, const char *op_type, const char *name, int n_in, int n_out)
{
    Onnx__NodeProto *np = wr_alloc(w, sizeof *np);
    if (!np) return NULL;
    onnx__node_proto__init(np);
    np->op_type = (char *)op_type;
    np->name = (char *)name;
    np->n_input = (size_t)n_in;
    np->input = wr_alloc(w, sizeof(char *) * (size_t)(n_in + 1));
    np->n_output = (size_t)n_out;
    np->output = wr_alloc(w, sizeof(char *) * (size_t)(n_out + 1));
    np->attribute = wr_alloc(w, sizeof(Onnx__AttributeProto *) * 8);
    if (!np->input || !np->output || !np->attribute) return NULL;
    for (int i = 0; i < n_in; i++) np->input[i] = "";
    wr_push(w, (void ***)&w->nodes, &w->n_nodes, &w->cap_nodes, np);
    return np;
}

static Onnx__AttributeProto *wr_attr(wr *w, Onnx__NodeProto *np, const char *name, int type)
{
    if (!np || np->n_attribute >= 8) {
        w->failed = true;
        return NULL;
    }
    Onnx__AttributeProto *a = wr_alloc(w, sizeof *a);
    if (!a) return NULL;
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    np->attribute[np->n_attribute++] = a;
    return a;
}

static void attr_int(wr *w, Onnx__NodeProto *np, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = wr_attr(w, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (!a) return;
    a->has_i = 1;
    a->i = v;
}

static void attr_float(wr *w, Onnx__NodeProto *np, const char *name, double v)
{
    Onnx__AttributeProto *a = wr_attr(w, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (!a) return;
    a->has_f = 1;
    a->f = (float)v;
}

static void attr_ints(wr *w, Onnx__NodeProto *np, const char *name, const int64_t *v, int n)
{
    Onnx__AttributeProto *a = wr_attr(w, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    if (!a) return;
    a->ints = wr_alloc(w, sizeof(int64_t) * (size_t)(n + 1));
    if (!a->ints) return;
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
    a->n_ints = (size_t)n;
}

static void attr_string(wr *w, Onnx__NodeProto *np, const char *name, const char *s)
{
    Onnx__AttributeProto *a = wr_attr(w, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (!a) return;
    a->has_s = 1;
    a->s.data = (uint8_t *)s;
    a->s.len = strlen(s);
}

static const char *vname(const wr *w, int id) { return id < 0 ? "" : w->g->values[id].name; }

/* The ONNX op type of an IR op whose mapping is one node with the same inputs. */
static const char *plain_type(fsc_op op)
{
    switch (op) {
    case FSC_OP_IDENTITY: return "Identity";
    case FSC_OP_MATMUL: return "MatMul";
    case FSC_OP_ADD: return "Add";
    case FSC_OP_SUB: return "Sub";
    case FSC_OP_MUL: return "Mul";
    case FSC_OP_DIV: return "Div";
    case FSC_OP_POW: return "Pow";
    case FSC_OP_RELU: return "Relu";
    case FSC_OP_SIGMOID: return "Sigmoid";
    case FSC_OP_TANH: return "Tanh";
    case FSC_OP_ERF: return "Erf";
    case FSC_OP_SQRT: return "Sqrt";
    case FSC_OP_GLOBAL_AVGPOOL: return "GlobalAveragePool";
    default: return NULL;
    }
}

static void window_attrs(wr *w, Onnx__NodeProto *np, const int64_t k[2], const int64_t s[2], const int64_t p[4],
                         const int64_t d[2], bool write_dil)
{
    attr_ints(w, np, "kernel_shape", k, 2);
    attr_ints(w, np, "strides", s, 2);
    attr_ints(w, np, "pads", p, 4);
    if (write_dil) attr_ints(w, np, "dilations", d, 2);
}

static fsc_status wr_graph_node(wr *w, int idx)
{
    const fsc_graph *g = w->g;
    const fsc_node *nd = &g->nodes[idx];
    const char *out = vname(w, nd->out[0]);
    const fsc_value *x = nd->n_in > 0 && nd->in[0] >= 0 ? &g->values[nd->in[0]] : NULL;
    Onnx__NodeProto *np = NULL;
    const char *ty = plain_type(nd->op);
    if (ty) {
        np = wr_node(w, ty, nd->name, nd->n_in, 1);
        if (np)
            for (int i = 0; i < nd->n_in; i++) np->input[i] = (char *)vname(w, nd->in[i]);
        if (np) np->output[0] = (char *)out;
        return FSC_OK;
    }
    /* Ops whose inputs pass through unchanged, with attributes. */
    const char *pass = NULL;
    switch (nd->op) {
    case FSC_OP_CONV2D: pass = "Conv"; break;
    case FSC_OP_GEMM: pass = "Gemm"; break;
    case FSC_OP_SOFTMAX: pass = "Softmax"; break;
    case FSC_OP_LAYERNORM: pass = "LayerNormalization"; break;
    case FSC_OP_BATCHNORM: pass = "BatchNormalization"; break;
    case FSC_OP_MAXPOOL: pass = "MaxPool"; break;
    case FSC_OP_AVGPOOL: pass = "AveragePool"; break;
    case FSC_OP_TRANSPOSE: pass = "Transpose"; break;
    case FSC_OP_CONCAT: pass = "Concat"; break;
    case FSC_OP_GATHER: pass = "Gather"; break;
    case FSC_OP_CAST: pass = "Cast"; break;
    case FSC_OP_QUANTIZE: pass = "QuantizeLinear"; break;
    case FSC_OP_DEQUANTIZE: pass = "DequantizeLinear"; break;
    case FSC_OP_GELU: pass = "Gelu"; break;
    default: break;
    }
    if (pass) {
        np = wr_node(w, pass, nd->name, nd->n_in, 1);
        if (!np) return FSC_OK;
        for (int i = 0; i < nd->n_in; i++) np->input[i] = (char *)vname(w, nd->in[i]);
        np->output[0] = (char *)out;
        const fsc_attrs *a = &nd->attr;
        switch (nd->op) {
        case FSC_OP_CONV2D: {
            const fsc_shape *ws = &g->values[nd->in[1]].shape;
            int64_t k[2] = {ws->dim[2], ws->dim[3]};
            window_attrs(w, np, k, a->conv.stride, a->conv.pad, a->conv.dilation, true);
            attr_int(w, np, "group", a->conv.group);
            break;
        }
        case FSC_OP_GEMM:
            attr_float(w, np, "alpha", a->gemm.alpha);
            attr_float(w, np, "beta", a->gemm.beta);
            attr_int(w, np, "transA", a->gemm.trans_a);
            attr_int(w, np, "transB", a->gemm.trans_b);
            break;
        case FSC_OP_SOFTMAX: case FSC_OP_CONCAT: case FSC_OP_GATHER: attr_int(w, np, "axis", a->axis.axis); break;
        case FSC_OP_LAYERNORM:
            attr_int(w, np, "axis", a->norm.axis);
            attr_float(w, np, "epsilon", a->norm.epsilon);
            break;
        case FSC_OP_BATCHNORM: attr_float(w, np, "epsilon", a->norm.epsilon); break;
        case FSC_OP_MAXPOOL: case FSC_OP_AVGPOOL: {
            int64_t d[2] = {a->pool.dilation[0] ? a->pool.dilation[0] : 1, a->pool.dilation[1] ? a->pool.dilation[1] : 1};
            /* AveragePool has dilations only from opset 19; write them only when they matter. */
            window_attrs(w, np, a->pool.kernel, a->pool.stride, a->pool.pad, d,
                         nd->op == FSC_OP_MAXPOOL || d[0] != 1 || d[1] != 1);
            attr_int(w, np, "ceil_mode", a->pool.ceil_mode);
            if (nd->op == FSC_OP_AVGPOOL) attr_int(w, np, "count_include_pad", a->pool.count_include_pad);
            break;
        }
        case FSC_OP_TRANSPOSE: {
            int64_t p[FSC_MAX_RANK];
            for (int i = 0; i < x->shape.rank; i++) p[i] = a->transpose.perm[i];
            attr_ints(w, np, "perm", p, x->shape.rank);
            break;
        }
        case FSC_OP_CAST: attr_int(w, np, "to", onnx_dtype_to(g->values[nd->out[0]].dtype)); break;
        case FSC_OP_QUANTIZE: case FSC_OP_DEQUANTIZE:
            if (fsc_shape_numel(&g->values[nd->in[1]].shape) != 1) attr_int(w, np, "axis", a->quant.axis);
            /* Without a zero point QuantizeLinear outputs uint8: an int8 quantize with an absent
             * (= 0) zero point gets an explicit int8 zero (np->input has room for a third name). */
            if (nd->op == FSC_OP_QUANTIZE && (nd->n_in < 3 || nd->in[2] < 0) &&
                g->values[nd->out[0]].dtype == FSC_DT_I8 && fsc_shape_numel(&g->values[nd->in[1]].shape) == 1) {
                np->input[2] = (char *)wr_scalar_init(w, out, "zero_point", 0.0, FSC_DT_I8);
                np->n_input = 3;
            }
            break;
        case FSC_OP_GELU: attr_string(w, np, "approximate", a->gelu.tanh_approx ? "tanh" : "none"); break;
        default: break;
        }
        return FSC_OK;
    }
    const fsc_value *ov = &g->values[nd->out[0]];
    switch (nd->op) {
    case FSC_OP_CONSTANT: {
        np = wr_node(w, "Constant", nd->name, 0, 1);
        Onnx__AttributeProto *a = wr_attr(w, np, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
        if (!a) return FSC_OK;
        np->output[0] = (char *)out;
        a->t = wr_alloc(w, sizeof *a->t);
        if (a->t) wr_tensor(w, a->t, ov->constant, ov->dtype);
        return FSC_OK;
    }
    case FSC_OP_CLIP: {
        np = wr_node(w, "Clip", nd->name, 3, 1);
        if (!np) return FSC_OK;
        np->input[0] = (char *)vname(w, nd->in[0]);
        if (!isinf(nd->attr.clip.lo) || nd->attr.clip.lo > 0)
            np->input[1] = (char *)wr_scalar_init(w, out, "min", nd->attr.clip.lo, x->dtype);
        if (!isinf(nd->attr.clip.hi) || nd->attr.clip.hi < 0)
            np->input[2] = (char *)wr_scalar_init(w, out, "max", nd->attr.clip.hi, x->dtype);
        if (!np->input[2][0]) np->n_input = np->input[1][0] ? 2 : 1;
        np->output[0] = (char *)out;
        return FSC_OK;
    }
    case FSC_OP_SILU: {
        /* ONNX has no SiLU before opset 24 (Swish): x * sigmoid(x). */
        char *mid = wr_name(w, out, "sigmoid");
        np = wr_node(w, "Sigmoid", mid, 1, 1); /* its own name: ONNX node names must be unique */
        if (!np || !mid) return FSC_OK;
        np->input[0] = (char *)vname(w, nd->in[0]);
        np->output[0] = mid;
        np = wr_node(w, "Mul", nd->name, 2, 1);
        if (!np) return FSC_OK;
        np->input[0] = (char *)vname(w, nd->in[0]);
        np->input[1] = mid;
        np->output[0] = (char *)out;
        return FSC_OK;
    }
    case FSC_OP_REDUCE_MEAN: {
        bool as_input = w->opset >= 18 && nd->attr.axes.naxes > 0;
        np = wr_node(w, "ReduceMean", nd->name, as_input ? 2 : 1, 1);
        if (!np) return FSC_OK;
        np->input[0] = (char *)vname(w, nd->in[0]);
        np->output[0] = (char *)out;
        if (as_input) np->input[1] = (char *)wr_ints_init(w, out, "axes", nd->attr.axes.axes, nd->attr.axes.naxes);
        else if (nd->attr.axes.naxes > 0) attr_ints(w, np, "axes", nd->attr.axes.axes, nd->attr.axes.naxes);
        attr_int(w, np, "keepdims", nd->attr.axes.keepdims);
        return FSC_OK;
    }
    case FSC_OP_RESHAPE: {
        np = wr_node(w, "Reshape", nd->name, 2, 1);
        if (!np) return FSC_OK;
        np->input[0] = (char *)vname(w, nd->in[0]);
        np->input[1] = (char *)wr_ints_init(w, out, "shape", ov->shape.dim, ov->shape.rank);
        np->output[0] = (char *)out;
        for (int i = 0; i < ov->shape.rank; i++)
            if (!ov->shape.dim[i]) {
                if (w->opset < 14) w->opset = 14;
                attr_int(w, np, "allowzero", 1);
                break;
            }
        return FSC_OK;
    }
    case FSC_OP_PAD: {
        np = wr_node(w, "Pad", nd->name, 3, 1);
        if (!np) return FSC_OK;
        np->input[0] = (char *)vname(w, nd->in[0]);
        np->input[1] = (char *)wr_ints_init(w, out, "pads", nd->attr.pad.pads, 2 * x->shape.rank);
        np->input[2] = (char *)wr_scalar_init(w, out, "value", nd->attr.pad.value, x->dtype);
        np->output[0] = (char *)out;
        attr_string(w, np, "mode", "constant");
        return FSC_OK;
    }
    case FSC_OP_SLICE: {
        int rank = x->shape.rank;
        int64_t starts[FSC_MAX_RANK], ends[FSC_MAX_RANK], axes[FSC_MAX_RANK], steps[FSC_MAX_RANK];
        for (int i = 0; i < rank; i++) {
            int64_t s = nd->attr.slice.start[i], st = nd->attr.slice.step[i], n = ov->shape.dim[i];
            axes[i] = i;
            steps[i] = st;
            starts[i] = s;
            if (n == 0) ends[i] = s; /* empty: start == end */
            else if (st > 0) ends[i] = s + (n - 1) * st + 1;
            else ends[i] = s + (n - 1) * st - 1 < 0 ? INT64_MIN : s + (n - 1) * st - 1; /* -1 would mean "last" */
        }
        np = wr_node(w, "Slice", nd->name, 5, 1);
        if (!np) return FSC_OK;
        np->input[0] = (char *)vname(w, nd->in[0]);
        np->input[1] = (char *)wr_ints_init(w, out, "starts", starts, rank);
        np->input[2] = (char *)wr_ints_init(w, out, "ends", ends, rank);
        np->input[3] = (char *)wr_ints_init(w, out, "axes", axes, rank);
        np->input[4] = (char *)wr_ints_init(w, out, "steps", steps, rank);
        np->output[0] = (char *)out;
        return FSC_OK;
    }
    default: break;
    }
    char lb[200];
    return fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "%s: op %s cannot be written as ONNX",
                    fsc_node_label(g, idx, lb, sizeof lb), fsc_op_name(nd->op));
}

static Onnx__ValueInfoProto *wr_value_info(wr *w, int id)
{
    const fsc_value *v = &w->g->values[id];
    Onnx__ValueInfoProto *vi = wr_alloc(w, sizeof *vi);
    Onnx__TypeProto *tp = wr_alloc(w, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = wr_alloc(w, sizeof *tt);
    Onnx__TensorShapeProto *sp = wr_alloc(w, sizeof *sp);
    Onnx__TensorShapeProto__Dimension **dims = wr_alloc(w, sizeof *dims * (size_t)(v->shape.rank + 1));
    if (!vi || !tp || !tt || !sp || !dims) return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sp);
    for (int i = 0; i < v->shape.rank; i++) {
        dims[i] = wr_alloc(w, sizeof **dims);
        if (!dims[i]) return NULL;
        onnx__tensor_shape_proto__dimension__init(dims[i]);
        dims[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dims[i]->dim_value = v->shape.dim[i];
    }
    sp->n_dim = (size_t)v->shape.rank;
    sp->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = onnx_dtype_to(v->dtype);
    tt->shape = sp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->name = v->name;
    vi->type = tp;
    return vi;
}

fsc_status fsc_onnx_serialize(const fsc_graph *g, const fsc_ctx *ctx, void **data, size_t *len, fsc_error *err)
{
    (void)ctx;
    *data = NULL;
    *len = 0;
    wr w;
    memset(&w, 0, sizeof w);
    w.g = g;
    w.err = err;
    w.opset = 13;
    fsc_status st = FSC_OK;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == FSC_OP_LAYERNORM && w.opset < 17) w.opset = 17;
        if (g->nodes[i].op == FSC_OP_GELU) w.opset = 20;
        /* Quantize/DequantizeLinear take float16 scales (fp16 W8A8 programs) from opset 19. */
        if ((g->nodes[i].op == FSC_OP_QUANTIZE || g->nodes[i].op == FSC_OP_DEQUANTIZE) && g->nodes[i].n_in > 1 &&
            g->nodes[i].in[1] >= 0 && g->values[g->nodes[i].in[1]].dtype != FSC_DT_F32 && w.opset < 19)
            w.opset = 19;
    }
    for (int i = 0; i < g->n_values && !st; i++) {
        const fsc_value *v = &g->values[i];
        if (!onnx_dtype_to(v->dtype))
            st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "value '%s' has type %s, which ONNX cannot hold", v->name,
                          fsc_dtype_name(v->dtype));
        else if (v->producer < 0 && v->constant && !v->is_input)
            wr_add_init(&w, v->name, v->constant, v->dtype);
    }
    for (int i = 0; i < g->n_nodes && !st; i++) st = wr_graph_node(&w, i);
    Onnx__ValueInfoProto **ins = wr_alloc(&w, sizeof *ins * (size_t)(g->n_inputs + 1));
    Onnx__ValueInfoProto **outs = wr_alloc(&w, sizeof *outs * (size_t)(g->n_outputs + 1));
    for (int i = 0; ins && i < g->n_inputs; i++) ins[i] = wr_value_info(&w, g->inputs[i]);
    for (int i = 0; outs && i < g->n_outputs; i++) outs[i] = wr_value_info(&w, g->outputs[i]);
    if (!st && w.failed) st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory while building the ONNX model");
    if (!st) {
        Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
        gp.name = g->name ? g->name : "flipscope";
        gp.n_node = w.n_nodes;
        gp.node = w.nodes;
        gp.n_initializer = w.n_inits;
        gp.initializer = w.inits;
        gp.n_input = (size_t)g->n_inputs;
        gp.input = ins;
        gp.n_output = (size_t)g->n_outputs;
        gp.output = outs;
        Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT;
        os.domain = "";
        os.has_version = 1;
        os.version = w.opset;
        Onnx__OperatorSetIdProto *osp = &os;
        Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
        m.has_ir_version = 1;
        m.ir_version = 8;
        m.n_opset_import = 1;
        m.opset_import = &osp;
        m.producer_name = "flipscope";
        m.producer_version = "0.1";
        m.graph = &gp;
        size_t n = onnx__model_proto__get_packed_size(&m);
        uint8_t *buf = fsc_malloc(n ? n : 1, "the packed ONNX model", err);
        if (!buf) st = FSC_ERR_NOMEM;
        else {
            onnx__model_proto__pack(&m, buf);
            *data = buf;
            *len = n;
        }
    }
    for (size_t i = 0; i < w.n_allocs; i++) free(w.allocs[i]);
    free(w.allocs);
    free(w.nodes);
    free(w.inits);
    return st;
}

fsc_status fsc_onnx_save(const char *path, const fsc_graph *g, const fsc_ctx *ctx, fsc_error *err)
{
    void *buf;
    size_t len;
    fsc_status st = fsc_onnx_serialize(g, ctx, &buf, &len, err);
    if (st) {
        fsc_error_prefix(err, "%s", path);
        return st;
    }
    st = fsc_write_file_atomic(path, buf, len, err);
    free(buf);
    return st;
}
