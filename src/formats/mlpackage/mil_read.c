/* mil_read.c: an ML Program (Model protobuf, unpacked) -> the IR. One MIL op
 * becomes one node; parameters the IR keeps as attributes are read from the
 * const ops they are bound to, and those const ops stay as CONSTANT nodes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/mlpackage/mil_read.h"

/* Bound on strides, dilations, kernel sizes and pads: far beyond any real model, small enough
 * that window arithmetic on 2^40-element dimensions cannot overflow. */
#define MAX_WINDOW (1 << 20)

typedef struct rd {
    fsc_graph *g;
    const fsc_limits *lim;
    fsc_mlp_blob_resolver resolve;
    void *user;
    const Mlp_Block *blk;
    size_t at;            /* index of the op being read */
    const Mlp_Op *op;
    const char *name;     /* the op's name */
    fsc_error *err;
} rd;

/* ---- attributes and arguments ---------------------------------------- */

static const Mlp_Value *find_attr(const Mlp_Op *op, const char *key)
{
    for (size_t i = 0; i < op->n_attributes; i++)
        if (op->attributes[i] && !strcmp(op->attributes[i]->key, key)) return op->attributes[i]->value;
    return NULL;
}

static const Mlp_Argument *find_arg(const Mlp_Op *op, const char *key)
{
    for (size_t i = 0; i < op->n_inputs; i++)
        if (op->inputs[i] && !strcmp(op->inputs[i]->key, key)) return op->inputs[i]->value;
    return NULL;
}

/* The string held by a rank-0 string Value, or NULL. */
static const char *value_string(const Mlp_Value *v)
{
    if (!v || v->value_case != CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_IMMEDIATE_VALUE || !v->immediatevalue)
        return NULL;
    const Mlp_Immediate *im = v->immediatevalue;
    if (im->value_case != CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TENSOR || !im->tensor)
        return NULL;
    const Mlp_TensorValue *tv = im->tensor;
    if (tv->value_case != CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS || tv->strings->n_values != 1)
        return NULL;
    return tv->strings->values[0];
}

/* Index of the op after r->at that defines name, or -1. */
static long later_definition(const rd *r, const char *name)
{
    for (size_t i = r->at + 1; i < r->blk->n_operations; i++) {
        const Mlp_Op *o = r->blk->operations[i];
        for (size_t k = 0; o && k < o->n_outputs; k++)
            if (o->outputs[k] && !strcmp(o->outputs[k]->name, name)) return (long)i;
    }
    return -1;
}

static fsc_status lookup(rd *r, const char *key, const char *name, int *id)
{
    *id = fsc_graph_find(r->g, name);
    if (*id >= 0) return FSC_OK;
    long later = later_definition(r, name);
    if (later >= 0)
        return fsc_fail(r->err, FSC_ERR_FORMAT,
                        "input '%s' refers to '%s', which only op %ld defines later: the program is cyclic or out of order",
                        key, name, later);
    return fsc_fail(r->err, FSC_ERR_FORMAT, "input '%s' refers to '%s', which nothing defines (dangling reference)", key,
                    name);
}

/* Value id of tensor input key (-1 when absent and optional). An inline value becomes an initializer. */
static fsc_status arg_value(rd *r, const char *key, bool required, int *id)
{
    *id = -1;
    const Mlp_Argument *a = find_arg(r->op, key);
    if (!a || a->n_arguments == 0) {
        if (required) return fsc_fail(r->err, FSC_ERR_FORMAT, "required input '%s' is missing", key);
        return FSC_OK;
    }
    if (a->n_arguments != 1)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "input '%s' binds %zu values, expected one", key, a->n_arguments);
    const Mlp_Binding *b = a->arguments[0];
    if (b->binding_case == CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_NAME)
        return lookup(r, key, b->name, id);
    if (b->binding_case != CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_VALUE)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "input '%s' has an empty binding", key);
    fsc_tensor t;
    fsc_dtype dt;
    fsc_status st = fsc_mlp_decode_value(b->value, r->resolve, r->user, r->lim, &dt, &t, r->err);
    if (st) {
        fsc_error_prefix(r->err, "input '%s'", key);
        return st;
    }
    char nm[512];
    snprintf(nm, sizeof nm, "%s.%s", r->name, key);
    *id = fsc_graph_add_initializer(r->g, nm, dt, &t, r->err);
    return *id < 0 ? r->err->code : FSC_OK;
}

/* The constant tensor bound to parameter key (NULL when absent). *owned is set when
 * the tensor was decoded from an inline value and must be freed by the caller. */
static fsc_status param_tensor(rd *r, const char *key, const fsc_tensor **t, fsc_dtype *dt, fsc_tensor *owned)
{
    *t = NULL;
    memset(owned, 0, sizeof *owned);
    const Mlp_Argument *a = find_arg(r->op, key);
    const Mlp_Value *inl = NULL;
    if (a && a->n_arguments) {
        if (a->n_arguments != 1)
            return fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' binds %zu values, expected one", key,
                            a->n_arguments);
        const Mlp_Binding *b = a->arguments[0];
        if (b->binding_case == CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_NAME) {
            int id;
            fsc_status st = lookup(r, key, b->name, &id);
            if (st) return st;
            if (!r->g->values[id].constant)
                return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "parameter '%s' ('%s') is not a constant", key, b->name);
            *t = r->g->values[id].constant;
            *dt = r->g->values[id].dtype;
            return FSC_OK;
        }
        if (b->binding_case == CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_VALUE) inl = b->value;
    } else {
        inl = find_attr(r->op, key); /* constexpr_* ops up to iOS17: parameters are attributes */
    }
    if (!inl) return FSC_OK;
    fsc_status st = fsc_mlp_decode_value(inl, r->resolve, r->user, r->lim, dt, owned, r->err);
    if (st) {
        fsc_error_prefix(r->err, "parameter '%s'", key);
        return st;
    }
    *t = owned;
    return FSC_OK;
}

/* Integer parameter (up to max values). *n = -1 when absent. */
static fsc_status param_ints(rd *r, const char *key, int64_t *out, int max, int *n)
{
    const fsc_tensor *t;
    fsc_tensor own;
    fsc_dtype dt;
    *n = -1;
    fsc_status st = param_tensor(r, key, &t, &dt, &own);
    if (st || !t) return st;
    if (dt != FSC_DT_I32 && dt != FSC_DT_I64 && dt != FSC_DT_I8 && dt != FSC_DT_U8)
        st = fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' must be an integer tensor, not %s", key, fsc_dtype_name(dt));
    else if (fsc_tensor_numel(t) > max)
        st = fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' has %lld values (at most %d)", key,
                      (long long)fsc_tensor_numel(t), max);
    else {
        *n = (int)fsc_tensor_numel(t);
        for (int i = 0; i < *n; i++) out[i] = (int64_t)fsc_tensor_get(t, i);
    }
    fsc_tensor_free(&own);
    return st;
}

static fsc_status param_bool(rd *r, const char *key, bool dflt, bool *out)
{
    const fsc_tensor *t;
    fsc_tensor own;
    fsc_dtype dt;
    *out = dflt;
    fsc_status st = param_tensor(r, key, &t, &dt, &own);
    if (st || !t) return st;
    if (dt != FSC_DT_BOOL || fsc_tensor_numel(t) != 1)
        st = fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' must be a scalar bool", key);
    else
        *out = fsc_tensor_get(t, 0) != 0;
    fsc_tensor_free(&own);
    return st;
}

/* Scalar float parameter (any float dtype). */
static fsc_status param_float(rd *r, const char *key, double dflt, double *out)
{
    const fsc_tensor *t;
    fsc_tensor own;
    fsc_dtype dt;
    *out = dflt;
    fsc_status st = param_tensor(r, key, &t, &dt, &own);
    if (st || !t) return st;
    if (!fsc_dtype_is_float(dt) || fsc_tensor_numel(t) != 1)
        st = fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' must be a float scalar", key);
    else
        *out = fsc_tensor_get(t, 0);
    fsc_tensor_free(&own);
    return st;
}

/* String parameter into buf ("" with *present false when absent). */
static fsc_status param_string(rd *r, const char *key, char *buf, size_t len, bool *present)
{
    const fsc_tensor *t;
    fsc_tensor own;
    fsc_dtype dt;
    *present = false;
    buf[0] = '\0';
    fsc_status st = param_tensor(r, key, &t, &dt, &own);
    if (st || !t) return st;
    if (dt != FSC_DT_STRING)
        st = fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' must be a string", key);
    else {
        size_t n = t->nbytes < len - 1 ? t->nbytes : len - 1;
        memcpy(buf, t->data, n);
        buf[n] = '\0';
        *present = true;
    }
    fsc_tensor_free(&own);
    return st;
}

/* ---- node creation ----------------------------------------------------- */

/* Adds the node for the current op and checks its inferred outputs against the declared types. */
static fsc_status add(rd *r, fsc_node_spec *sp)
{
    const Mlp_Op *op = r->op;
    if (op->n_outputs != 1)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%zu outputs (ops with one output are supported)", op->n_outputs);
    const char *oname = op->outputs[0]->name;
    if (!oname[0]) return fsc_fail(r->err, FSC_ERR_FORMAT, "output has an empty name");
    if (fsc_graph_find(r->g, oname) >= 0)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "output '%s' is defined twice", oname);
    sp->name = r->name;
    sp->op_type = op->type;
    sp->n_out = 1;
    sp->out_names = &oname;
    int node = fsc_graph_add_node(r->g, sp, r->err);
    if (node < 0) return r->err->code;
    int mil;
    fsc_dtype dt;
    fsc_shape s;
    fsc_status st = fsc_mlp_type_shape(op->outputs[0]->type, &mil, &dt, &s, r->err);
    if (st) {
        fsc_error_prefix(r->err, "output '%s'", oname);
        return st;
    }
    const fsc_value *v = &r->g->values[r->g->nodes[node].out[0]];
    char a[96], b[96];
    if (v->dtype != dt)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "output '%s' is declared %s but the op computes %s", oname,
                        fsc_dtype_name(dt), fsc_dtype_name(v->dtype));
    if (!fsc_shape_equal(&v->shape, &s))
        return fsc_fail(r->err, FSC_ERR_FORMAT, "output '%s' is declared %s but the op computes %s", oname,
                        fsc_shape_str(&s, a, sizeof a), fsc_shape_str(&v->shape, b, sizeof b));
    return FSC_OK;
}

static fsc_status read_const(rd *r)
{
    const Mlp_Op *op = r->op;
    if (op->n_outputs != 1) return fsc_fail(r->err, FSC_ERR_FORMAT, "const op has %zu outputs", op->n_outputs);
    const char *oname = op->outputs[0]->name;
    const Mlp_Value *val = find_attr(op, "val");
    if (!val) return fsc_fail(r->err, FSC_ERR_FORMAT, "const op without a 'val' attribute");
    if (fsc_graph_find(r->g, oname) >= 0)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "output '%s' is defined twice", oname);
    int m1, m2;
    fsc_dtype d1, d2;
    fsc_shape s1, s2;
    fsc_status st = fsc_mlp_type_shape(op->outputs[0]->type, &m1, &d1, &s1, r->err);
    if (!st) st = fsc_mlp_type_shape(val->type, &m2, &d2, &s2, r->err);
    if (st) return st;
    if (m1 != m2 || !fsc_shape_equal(&s1, &s2)) {
        char a[96], b[96];
        return fsc_fail(r->err, FSC_ERR_FORMAT, "output '%s' is declared %s%s but 'val' is %s%s", oname,
                        fsc_mlp_mil_dtype_name(m1), fsc_shape_str(&s1, a, sizeof a), fsc_mlp_mil_dtype_name(m2),
                        fsc_shape_str(&s2, b, sizeof b));
    }
    fsc_tensor t;
    fsc_dtype dt;
    st = fsc_mlp_decode_value(val, r->resolve, r->user, r->lim, &dt, &t, r->err);
    if (st) {
        fsc_error_prefix(r->err, "'val'");
        return st;
    }
    return fsc_graph_add_const_node(r->g, r->name, op->type, oname, dt, &t, r->err) < 0 ? r->err->code : FSC_OK;
}

static fsc_status simple(rd *r, fsc_op kind, const char *const *keys, int n)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[4];
    for (int i = 0; i < n; i++) {
        fsc_status st = arg_value(r, keys[i], true, &in[i]);
        if (st) return st;
    }
    sp.op = kind;
    sp.n_in = n;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_unary(rd *r, fsc_op kind)
{
    static const char *const k[] = {"x"};
    return simple(r, kind, k, 1);
}

static fsc_status read_binary(rd *r, fsc_op kind)
{
    static const char *const k[] = {"x", "y"};
    return simple(r, kind, k, 2);
}

/* Resolves a MIL pad_type for 2 spatial dims into IR pads (top, left, bottom, right). */
static fsc_status resolve_pads(rd *r, const char *pad_type, const int64_t *pad, int npad, const fsc_shape *xs,
                               const int64_t *k, const int64_t *stride, const int64_t *dil, int64_t *out)
{
    if (!strcmp(pad_type, "valid")) {
        for (int i = 0; i < 4; i++) out[i] = 0;
        return FSC_OK;
    }
    if (!strcmp(pad_type, "custom")) {
        if (npad != 4) return fsc_fail(r->err, FSC_ERR_FORMAT, "pad_type custom needs 4 pad values, got %d", npad < 0 ? 0 : npad);
        for (int i = 0; i < 4; i++)
            if (pad[i] < 0 || pad[i] > MAX_WINDOW)
                return fsc_fail(r->err, FSC_ERR_FORMAT, "pad %lld out of range [0, %d]", (long long)pad[i], MAX_WINDOW);
        out[0] = pad[0]; /* MIL: h_begin, h_end, w_begin, w_end */
        out[2] = pad[1];
        out[1] = pad[2];
        out[3] = pad[3];
        return FSC_OK;
    }
    bool lower = !strcmp(pad_type, "same_lower");
    if (!lower && strcmp(pad_type, "same"))
        return fsc_fail(r->err, FSC_ERR_FORMAT, "unknown pad_type '%s'", pad_type);
    for (int i = 0; i < 2; i++) {
        int64_t d = xs->dim[2 + i], o = (d + stride[i] - 1) / stride[i];
        int64_t total = (o - 1) * stride[i] + (k[i] - 1) * dil[i] + 1 - d;
        if (total < 0) total = 0;
        int64_t small = total / 2, big = total - small;
        out[i] = lower ? big : small;
        out[2 + i] = lower ? small : big;
    }
    return FSC_OK;
}

static fsc_status two_ints(rd *r, const char *key, int64_t dflt, int64_t *out, bool positive)
{
    int n;
    fsc_status st = param_ints(r, key, out, 2, &n);
    if (st) return st;
    if (n < 0) out[0] = out[1] = dflt;
    else if (n != 2) return fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' needs 2 values, got %d", key, n);
    if (positive && (out[0] < 1 || out[1] < 1 || out[0] > MAX_WINDOW || out[1] > MAX_WINDOW))
        return fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' must lie in [1, %d]", key, MAX_WINDOW);
    return FSC_OK;
}

static fsc_status read_conv(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[3];
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = arg_value(r, "weight", true, &in[1])) ||
        (st = arg_value(r, "bias", false, &in[2])))
        return st;
    const fsc_shape *xs = &r->g->values[in[0]].shape, *ws = &r->g->values[in[1]].shape;
    if (xs->rank != 4 || ws->rank != 4)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "only 2-D convolutions (rank-4 x and weight) are supported");
    fsc_attr_conv *c = &sp.attr.conv;
    int64_t pad[4];
    int npad, ng;
    int64_t groups = 1;
    char pt[32];
    bool has_pt;
    if ((st = two_ints(r, "strides", 1, c->stride, true)) || (st = two_ints(r, "dilations", 1, c->dilation, true)) ||
        (st = param_ints(r, "pad", pad, 4, &npad)) || (st = param_ints(r, "groups", &groups, 1, &ng)) ||
        (st = param_string(r, "pad_type", pt, sizeof pt, &has_pt)))
        return st;
    if (!has_pt) strcpy(pt, "valid");
    if (groups < 1) return fsc_fail(r->err, FSC_ERR_FORMAT, "groups = %lld", (long long)groups);
    c->group = groups;
    if ((st = resolve_pads(r, pt, pad, npad, xs, ws->dim + 2, c->stride, c->dilation, c->pad))) return st;
    sp.op = FSC_OP_CONV2D;
    sp.n_in = 3;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_pool(rd *r, fsc_op kind)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1];
    fsc_status st = arg_value(r, "x", true, &in[0]);
    if (st) return st;
    const fsc_shape *xs = &r->g->values[in[0]].shape;
    if (xs->rank != 4) return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "only 2-D pooling (rank-4 x) is supported");
    fsc_attr_pool *p = &sp.attr.pool;
    int64_t pad[4], one[2] = {1, 1};
    int npad, nk;
    char pt[32];
    bool has_pt, exclude = false;
    if ((st = param_ints(r, "kernel_sizes", p->kernel, 2, &nk))) return st;
    if (nk != 2 || p->kernel[0] < 1 || p->kernel[1] < 1 || p->kernel[0] > MAX_WINDOW || p->kernel[1] > MAX_WINDOW)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "kernel_sizes must hold 2 values in [1, %d]", MAX_WINDOW);
    if ((st = two_ints(r, "strides", 1, p->stride, true)) || (st = param_ints(r, "pad", pad, 4, &npad)) ||
        (st = param_string(r, "pad_type", pt, sizeof pt, &has_pt)) || (st = param_bool(r, "ceil_mode", false, &p->ceil_mode)))
        return st;
    if (kind == FSC_OP_AVGPOOL && (st = param_bool(r, "exclude_padding_from_average", false, &exclude))) return st;
    p->count_include_pad = !exclude;
    p->dilation[0] = p->dilation[1] = 1;
    if (!has_pt) strcpy(pt, "valid");
    if ((st = resolve_pads(r, pt, pad, npad, xs, p->kernel, p->stride, one, p->pad))) return st;
    sp.op = kind;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_linear(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[3];
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = arg_value(r, "weight", true, &in[1])) ||
        (st = arg_value(r, "bias", false, &in[2])))
        return st;
    sp.op = FSC_OP_GEMM;
    sp.attr.gemm.alpha = sp.attr.gemm.beta = 1.0;
    sp.attr.gemm.trans_b = true;
    sp.n_in = 3;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_matmul(rd *r)
{
    bool tx, ty;
    fsc_status st;
    if ((st = param_bool(r, "transpose_x", false, &tx)) || (st = param_bool(r, "transpose_y", false, &ty))) return st;
    if (tx || ty) return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "matmul with transpose_x/transpose_y is not supported");
    return read_binary(r, FSC_OP_MATMUL);
}

static fsc_status read_axis_op(rd *r, fsc_op kind, const char *key, int64_t dflt)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1], n;
    int64_t axis;
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = param_ints(r, key, &axis, 1, &n))) return st;
    sp.attr.axis.axis = n < 0 ? dflt : axis;
    sp.op = kind;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_reduce_mean(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1], n;
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = param_ints(r, "axes", sp.attr.axes.axes, FSC_MAX_RANK, &n)) ||
        (st = param_bool(r, "keep_dims", false, &sp.attr.axes.keepdims)))
        return st;
    sp.attr.axes.naxes = n < 0 ? 0 : n;
    sp.op = FSC_OP_REDUCE_MEAN;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_reshape(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1], n;
    int64_t dims[FSC_MAX_RANK];
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = param_ints(r, "shape", dims, FSC_MAX_RANK, &n))) return st;
    if (n < 0) return fsc_fail(r->err, FSC_ERR_FORMAT, "required parameter 'shape' is missing");
    int64_t total = fsc_shape_numel(&r->g->values[in[0]].shape), known = 1;
    int infer = -1;
    for (int i = 0; i < n; i++) {
        if (dims[i] == -1 && infer < 0) infer = i;
        else if (dims[i] <= 0) return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "reshape dimension %lld", (long long)dims[i]);
        else if (dims[i] > total || known > total / dims[i])
            return fsc_fail(r->err, FSC_ERR_FORMAT, "reshape shape does not fit %lld elements", (long long)total);
        else known *= dims[i];
    }
    if (infer >= 0) {
        if (known == 0 || total % known)
            return fsc_fail(r->err, FSC_ERR_FORMAT, "cannot reshape %lld elements with shape having -1", (long long)total);
        dims[infer] = total / known;
    }
    fsc_shape os = fsc_shape_make(n, dims);
    sp.op = FSC_OP_RESHAPE;
    sp.n_in = 1;
    sp.in = in;
    sp.out_shape = &os;
    return add(r, &sp);
}

static fsc_status read_transpose(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1], n;
    int64_t perm[FSC_MAX_RANK];
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = param_ints(r, "perm", perm, FSC_MAX_RANK, &n))) return st;
    if (n != r->g->values[in[0]].shape.rank)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "perm has %d values for a rank-%d input", n < 0 ? 0 : n,
                        r->g->values[in[0]].shape.rank);
    for (int i = 0; i < n; i++) sp.attr.transpose.perm[i] = (int)perm[i];
    sp.op = FSC_OP_TRANSPOSE;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_concat(rd *r)
{
    const Mlp_Argument *a = find_arg(r->op, "values");
    if (!a || !a->n_arguments) return fsc_fail(r->err, FSC_ERR_FORMAT, "required input 'values' is missing");
    if (a->n_arguments > 4096) return fsc_fail(r->err, FSC_ERR_LIMIT, "concat of %zu values", a->n_arguments);
    bool inter;
    int64_t axis;
    int n;
    fsc_status st;
    if ((st = param_bool(r, "interleave", false, &inter)) || (st = param_ints(r, "axis", &axis, 1, &n))) return st;
    if (inter) return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "concat with interleave is not supported");
    if (n < 0) return fsc_fail(r->err, FSC_ERR_FORMAT, "required parameter 'axis' is missing");
    int *in = malloc(a->n_arguments * sizeof *in);
    if (!in) return fsc_fail(r->err, FSC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < a->n_arguments && !st; i++) {
        const Mlp_Binding *b = a->arguments[i];
        if (b->binding_case != CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_NAME)
            st = fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "concat input %zu is an inline value", i);
        else
            st = lookup(r, "values", b->name, &in[i]);
    }
    if (!st) {
        fsc_node_spec sp;
        memset(&sp, 0, sizeof sp);
        sp.op = FSC_OP_CONCAT;
        sp.attr.axis.axis = axis;
        sp.n_in = (int)a->n_arguments;
        sp.in = in;
        st = add(r, &sp);
    }
    free(in);
    return st;
}

static fsc_status dtype_by_name(rd *r, const char *key, const char *s, fsc_dtype *dt)
{
    static const struct { const char *n; fsc_dtype d; } map[] = {
        {"fp16", FSC_DT_F16}, {"fp32", FSC_DT_F32}, {"int32", FSC_DT_I32}, {"int8", FSC_DT_I8},
        {"uint8", FSC_DT_U8}, {"bool", FSC_DT_BOOL}, {"int64", FSC_DT_I64}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(s, map[i].n)) {
            *dt = map[i].d;
            return FSC_OK;
        }
    return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%s '%s' is not supported", key, s);
}

static fsc_status read_cast(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1];
    char s[32];
    bool has;
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = param_string(r, "dtype", s, sizeof s, &has))) return st;
    if (!has) return fsc_fail(r->err, FSC_ERR_FORMAT, "required parameter 'dtype' is missing");
    if ((st = dtype_by_name(r, "dtype", s, &sp.attr.cast.to))) return st;
    sp.out_dtype = sp.attr.cast.to;
    sp.op = FSC_OP_CAST;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_quantize(rd *r, bool quantize)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[3], n;
    int64_t axis = 0;
    fsc_status st;
    if ((st = arg_value(r, "input", true, &in[0])) || (st = arg_value(r, "scale", true, &in[1])) ||
        (st = arg_value(r, "zero_point", false, &in[2])) || (st = param_ints(r, "axis", &axis, 1, &n)))
        return st;
    sp.attr.quant.axis = n < 0 ? 0 : axis;
    if (quantize) {
        char s[32];
        bool has;
        if ((st = param_string(r, "output_dtype", s, sizeof s, &has))) return st;
        if (!has) return fsc_fail(r->err, FSC_ERR_FORMAT, "required parameter 'output_dtype' is missing");
        if ((st = dtype_by_name(r, "output_dtype", s, &sp.attr.quant.out_dtype))) return st;
        if (sp.attr.quant.out_dtype != FSC_DT_I8 && sp.attr.quant.out_dtype != FSC_DT_U8)
            return fsc_fail(r->err, FSC_ERR_FORMAT, "output_dtype '%s' (int8 or uint8 expected)", s);
    } else {
        sp.attr.quant.out_dtype = r->g->values[in[1]].dtype;
    }
    sp.out_dtype = sp.attr.quant.out_dtype;
    sp.op = quantize ? FSC_OP_QUANTIZE : FSC_OP_DEQUANTIZE;
    sp.n_in = 3;
    sp.in = in;
    return add(r, &sp);
}

/* A constant parameter of a constexpr op as an initializer "<op>.<key>" (id -1 when absent). */
static fsc_status constexpr_param(rd *r, const char *key, bool required, int *id, fsc_dtype *dt)
{
    const fsc_tensor *t;
    fsc_tensor own;
    *id = -1;
    fsc_status st = param_tensor(r, key, &t, dt, &own);
    if (st) return st;
    if (!t) return required ? fsc_fail(r->err, FSC_ERR_FORMAT, "required parameter '%s' is missing", key) : FSC_OK;
    fsc_tensor copy;
    if (t != &own) {
        if ((st = fsc_tensor_clone(&copy, t, r->err))) return st;
    } else {
        copy = own;
    }
    char nm[512];
    snprintf(nm, sizeof nm, "%s.%s", r->name, key);
    *id = fsc_graph_add_initializer(r->g, nm, *dt, &copy, r->err);
    return *id < 0 ? r->err->code : FSC_OK;
}

static fsc_status read_affine_dequantize(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[3], n;
    int64_t axis = 0;
    fsc_dtype dq, ds, dz;
    fsc_status st;
    if ((st = constexpr_param(r, "quantized_data", true, &in[0], &dq)) ||
        (st = constexpr_param(r, "scale", true, &in[1], &ds)) ||
        (st = constexpr_param(r, "zero_point", true, &in[2], &dz)) || (st = param_ints(r, "axis", &axis, 1, &n)))
        return st;
    if (dq != FSC_DT_I8 && dq != FSC_DT_U8)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "quantized_data is %s (int8 or uint8 expected)", fsc_dtype_name(dq));
    if (dz != dq)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "zero_point is %s but quantized_data is %s", fsc_dtype_name(dz),
                        fsc_dtype_name(dq));
    if (ds != FSC_DT_F16 && ds != FSC_DT_F32)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "scale is %s (fp16 or fp32 expected)", fsc_dtype_name(ds));
    int rank = r->g->values[in[0]].shape.rank;
    if (n < 0) return fsc_fail(r->err, FSC_ERR_FORMAT, "required parameter 'axis' is missing");
    if (axis < -rank || axis >= rank) return fsc_fail(r->err, FSC_ERR_FORMAT, "axis %lld out of range", (long long)axis);
    sp.attr.quant.axis = axis < 0 ? axis + rank : axis;
    sp.attr.quant.out_dtype = ds;
    sp.out_dtype = ds;
    sp.op = FSC_OP_DEQUANTIZE;
    sp.n_in = 3;
    sp.in = in;
    return add(r, &sp);
}

/* iOS18 constexpr_blockwise_shift_scale: representable when the blocks are whole
 * output channels (scale of shape [1.., C, 1..] along one axis) or one block. */
static fsc_status read_blockwise(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[3];
    fsc_dtype dq, ds, dz = FSC_DT_UNDEF;
    fsc_status st;
    if ((st = constexpr_param(r, "data", true, &in[0], &dq)) || (st = constexpr_param(r, "scale", true, &in[1], &ds)) ||
        (st = constexpr_param(r, "offset", false, &in[2], &dz)))
        return st;
    if (dq != FSC_DT_I8 && dq != FSC_DT_U8)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "data of dtype %s (int8/uint8 supported)", fsc_dtype_name(dq));
    if (ds != FSC_DT_F16 && ds != FSC_DT_F32)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "scale is %s (fp16 or fp32 expected)", fsc_dtype_name(ds));
    if (in[2] >= 0 && dz != dq)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "offset of dtype %s (only an offset of the data's dtype maps to a zero point)",
                        fsc_dtype_name(dz));
    fsc_value *vd = &r->g->values[in[0]];
    int axis = -1;
    for (int v = 1; v < 3; v++) {
        if (in[v] < 0) continue;
        fsc_value *p = &r->g->values[in[v]];
        if (p->shape.rank != vd->shape.rank)
            return fsc_fail(r->err, FSC_ERR_FORMAT, "scale/offset rank %d differs from the data's %d", p->shape.rank,
                            vd->shape.rank);
        for (int i = 0; i < p->shape.rank; i++) {
            if (p->shape.dim[i] == 1) continue;
            if (p->shape.dim[i] != vd->shape.dim[i] || (axis >= 0 && axis != i))
                return fsc_fail(r->err, FSC_ERR_UNSUPPORTED,
                                "blockwise scales other than one per output channel are not supported");
            axis = i;
        }
    }
    /* Per-channel (or per-tensor) parameters become 1-D vectors (or scalars), as the IR expects. */
    for (int v = 1; v < 3; v++) {
        if (in[v] < 0) continue;
        fsc_value *p = &r->g->values[in[v]];
        int64_t c = axis >= 0 ? vd->shape.dim[axis] : 1;
        p->shape = axis >= 0 ? fsc_shape_make(1, &c) : fsc_shape_make(0, NULL);
        p->constant->shape = p->shape;
    }
    if (in[2] < 0) {
        /* No offset: an explicit zero point of zeros keeps the IR's three-input form. */
        fsc_tensor z;
        fsc_shape zs = r->g->values[in[1]].shape;
        if ((st = fsc_tensor_alloc(&z, dq, &zs, 0, r->err))) return st;
        char nm[512];
        snprintf(nm, sizeof nm, "%s.offset", r->name);
        in[2] = fsc_graph_add_initializer(r->g, nm, dq, &z, r->err);
        if (in[2] < 0) return r->err->code;
    }
    sp.attr.quant.axis = axis < 0 ? 0 : axis;
    sp.attr.quant.out_dtype = ds;
    sp.out_dtype = ds;
    sp.op = FSC_OP_DEQUANTIZE;
    sp.n_in = 3;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_gelu(rd *r)
{
    char mode[48];
    bool has;
    fsc_status st = param_string(r, "mode", mode, sizeof mode, &has);
    if (st) return st;
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    if (!has || !strcmp(mode, "EXACT")) sp.attr.gelu.tanh_approx = false;
    else if (!strcmp(mode, "TANH_APPROXIMATION")) sp.attr.gelu.tanh_approx = true;
    else return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "gelu mode '%s' is not supported", mode);
    int in[1];
    if ((st = arg_value(r, "x", true, &in[0]))) return st;
    sp.op = FSC_OP_GELU;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_clip(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1];
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = param_float(r, "alpha", -INFINITY, &sp.attr.clip.lo)) ||
        (st = param_float(r, "beta", INFINITY, &sp.attr.clip.hi)))
        return st;
    sp.op = FSC_OP_CLIP;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

/* An initializer "<op>.<key>" of n values v, dtype dt (for defaulted norm parameters). */
static fsc_status filled(rd *r, const char *key, fsc_dtype dt, int64_t n, double v, int *id)
{
    fsc_tensor t;
    fsc_shape s = fsc_shape_make(1, &n);
    fsc_status st = fsc_tensor_alloc(&t, dt == FSC_DT_F16 ? FSC_DT_F32 : dt, &s, r->lim->max_tensor_bytes, r->err);
    if (st) return st;
    if (dt == FSC_DT_F16) t.fmt = FSC_FMT_FP16;
    for (int64_t i = 0; i < n; i++) fsc_tensor_set(&t, i, v);
    char nm[512];
    snprintf(nm, sizeof nm, "%s.%s", r->name, key);
    *id = fsc_graph_add_initializer(r->g, nm, dt, &t, r->err);
    return *id < 0 ? r->err->code : FSC_OK;
}

static fsc_status read_batch_norm(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[5]; /* IR order: x, scale, bias, mean, var */
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = arg_value(r, "mean", true, &in[3])) ||
        (st = arg_value(r, "variance", true, &in[4])) || (st = arg_value(r, "gamma", false, &in[1])) ||
        (st = arg_value(r, "beta", false, &in[2])) || (st = param_float(r, "epsilon", 1e-5, &sp.attr.norm.epsilon)))
        return st;
    const fsc_value *m = &r->g->values[in[3]];
    int64_t c = m->shape.rank == 1 ? m->shape.dim[0] : 0;
    if (in[1] < 0 && (st = filled(r, "gamma", m->dtype, c, 1.0, &in[1]))) return st;
    if (in[2] < 0 && (st = filled(r, "beta", m->dtype, c, 0.0, &in[2]))) return st;
    sp.op = FSC_OP_BATCHNORM;
    sp.n_in = 5;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_layer_norm(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[3], n;
    int64_t axes[FSC_MAX_RANK];
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = arg_value(r, "gamma", false, &in[1])) ||
        (st = arg_value(r, "beta", false, &in[2])) || (st = param_ints(r, "axes", axes, FSC_MAX_RANK, &n)) ||
        (st = param_float(r, "epsilon", 1e-5, &sp.attr.norm.epsilon)))
        return st;
    const fsc_value *x = &r->g->values[in[0]];
    int rank = x->shape.rank;
    if (n < 0) { /* absent: all axes */
        n = rank;
        for (int i = 0; i < n; i++) axes[i] = i;
    }
    if (n < 1) return fsc_fail(r->err, FSC_ERR_FORMAT, "layer_norm needs at least one axis");
    int64_t first = axes[0] < 0 ? axes[0] + rank : axes[0];
    for (int i = 0; i < n; i++)
        if ((axes[i] < 0 ? axes[i] + rank : axes[i]) != first + i || first + n != rank)
            return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "layer_norm over axes other than the trailing ones");
    sp.attr.norm.axis = first;
    if (in[1] < 0) {
        int64_t nrm = 1;
        for (int i = (int)first; i < rank; i++) nrm *= x->shape.dim[i];
        if ((st = filled(r, "gamma", x->dtype, nrm, 1.0, &in[1]))) return st;
    }
    sp.op = FSC_OP_LAYERNORM;
    sp.n_in = in[2] >= 0 ? 3 : 2;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_pad(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1], n;
    int64_t pads[2 * FSC_MAX_RANK];
    char mode[32];
    bool has;
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = param_ints(r, "pad", pads, 2 * FSC_MAX_RANK, &n)) ||
        (st = param_string(r, "mode", mode, sizeof mode, &has)) ||
        (st = param_float(r, "constant_val", 0.0, &sp.attr.pad.value)))
        return st;
    if (has && strcmp(mode, "constant"))
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "pad mode '%s' (only constant)", mode);
    int rank = r->g->values[in[0]].shape.rank;
    if (n < 0 || n % 2 || n / 2 > rank) return fsc_fail(r->err, FSC_ERR_FORMAT, "pad needs 2 values per padded axis");
    /* MIL: (begin, end) pairs for the last n/2 axes; IR: all begins, then all ends. */
    int lead = rank - n / 2;
    for (int i = 0; i < n / 2; i++) {
        if (pads[2 * i] < 0 || pads[2 * i + 1] < 0 || pads[2 * i] > MAX_WINDOW || pads[2 * i + 1] > MAX_WINDOW)
            return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "pad values must lie in [0, %d]", MAX_WINDOW);
        sp.attr.pad.pads[lead + i] = pads[2 * i];
        sp.attr.pad.pads[rank + lead + i] = pads[2 * i + 1];
    }
    sp.op = FSC_OP_PAD;
    sp.n_in = 1;
    sp.in = in;
    return add(r, &sp);
}

static fsc_status read_gather(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[2], n, nb;
    int64_t axis = 0, bd = 0;
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0])) || (st = arg_value(r, "indices", true, &in[1])) ||
        (st = param_ints(r, "axis", &axis, 1, &n)) || (st = param_ints(r, "batch_dims", &bd, 1, &nb)))
        return st;
    if (nb >= 0 && bd != 0) return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "gather with batch_dims");
    sp.attr.axis.axis = n < 0 ? 0 : axis;
    sp.op = FSC_OP_GATHER;
    sp.n_in = 2;
    sp.in = in;
    return add(r, &sp);
}

/* A bool-vector parameter of rank values (absent: all false). */
static fsc_status param_bools(rd *r, const char *key, int rank, bool *out)
{
    const fsc_tensor *t;
    fsc_tensor own;
    fsc_dtype dt;
    for (int i = 0; i < rank; i++) out[i] = false;
    fsc_status st = param_tensor(r, key, &t, &dt, &own);
    if (st || !t) return st;
    if (dt != FSC_DT_BOOL || fsc_tensor_numel(t) != rank)
        st = fsc_fail(r->err, FSC_ERR_FORMAT, "parameter '%s' must hold %d bools", key, rank);
    else
        for (int i = 0; i < rank; i++) out[i] = fsc_tensor_get(t, i) != 0;
    fsc_tensor_free(&own);
    return st;
}

/* slice_by_index with numpy semantics (negative indices count from the end, masks take the whole axis). */
static fsc_status read_slice(rd *r)
{
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    int in[1], nb, ne, ns;
    int64_t begin[FSC_MAX_RANK], end[FSC_MAX_RANK], stride[FSC_MAX_RANK];
    bool bm[FSC_MAX_RANK], em[FSC_MAX_RANK], sq[FSC_MAX_RANK];
    fsc_status st;
    if ((st = arg_value(r, "x", true, &in[0]))) return st;
    const fsc_shape *xs = &r->g->values[in[0]].shape;
    int rank = xs->rank;
    if ((st = param_ints(r, "begin", begin, FSC_MAX_RANK, &nb)) || (st = param_ints(r, "end", end, FSC_MAX_RANK, &ne)) ||
        (st = param_ints(r, "stride", stride, FSC_MAX_RANK, &ns)) || (st = param_bools(r, "begin_mask", rank, bm)) ||
        (st = param_bools(r, "end_mask", rank, em)) || (st = param_bools(r, "squeeze_mask", rank, sq)))
        return st;
    if (nb != rank || ne != rank || (ns >= 0 && ns != rank))
        return fsc_fail(r->err, FSC_ERR_FORMAT, "begin/end/stride need %d values", rank);
    fsc_shape os = *xs;
    for (int i = 0; i < rank; i++) {
        int64_t d = xs->dim[i], s1 = ns < 0 ? 1 : stride[i];
        if (sq[i]) return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "slice_by_index with squeeze_mask");
        if (s1 == 0 || s1 > MAX_WINDOW || s1 < -MAX_WINDOW)
            return fsc_fail(r->err, FSC_ERR_FORMAT, "stride %lld on axis %d", (long long)s1, i);
        int64_t lo = s1 > 0 ? 0 : -1, hi = s1 > 0 ? d : d - 1;
        int64_t b = begin[i], e = end[i];
        if (b < -d - 1 || b > d + 1 || e < -d - 1 || e > d + 1)
            return fsc_fail(r->err, FSC_ERR_FORMAT, "slice bounds out of range on axis %d", i);
        b = bm[i] ? (s1 > 0 ? 0 : d - 1) : (b < 0 ? b + d : b);
        e = em[i] ? (s1 > 0 ? d : -1) : (e < 0 ? e + d : e);
        b = b < lo ? lo : b > hi ? hi : b;
        e = e < lo ? lo : e > hi ? hi : e;
        int64_t n = s1 > 0 ? (e - b + s1 - 1) / s1 : (b - e + (-s1) - 1) / (-s1);
        if (n < 0) n = 0;
        sp.attr.slice.start[i] = n ? b : 0;
        sp.attr.slice.step[i] = s1;
        os.dim[i] = n;
    }
    sp.op = FSC_OP_SLICE;
    sp.n_in = 1;
    sp.in = in;
    sp.out_shape = &os;
    return add(r, &sp);
}

static fsc_status read_op(rd *r)
{
    const char *t = r->op->type;
    if (!strcmp(t, "const")) return read_const(r);
    if (!strcmp(t, "conv")) return read_conv(r);
    if (!strcmp(t, "linear")) return read_linear(r);
    if (!strcmp(t, "matmul")) return read_matmul(r);
    if (!strcmp(t, "add")) return read_binary(r, FSC_OP_ADD);
    if (!strcmp(t, "sub")) return read_binary(r, FSC_OP_SUB);
    if (!strcmp(t, "mul")) return read_binary(r, FSC_OP_MUL);
    if (!strcmp(t, "real_div")) return read_binary(r, FSC_OP_DIV);
    if (!strcmp(t, "silu")) return read_unary(r, FSC_OP_SILU);
    if (!strcmp(t, "sigmoid")) return read_unary(r, FSC_OP_SIGMOID);
    if (!strcmp(t, "relu")) return read_unary(r, FSC_OP_RELU);
    if (!strcmp(t, "tanh")) return read_unary(r, FSC_OP_TANH);
    if (!strcmp(t, "gelu")) return read_gelu(r);
    if (!strcmp(t, "identity")) return read_unary(r, FSC_OP_IDENTITY);
    if (!strcmp(t, "sqrt")) return read_unary(r, FSC_OP_SQRT);
    if (!strcmp(t, "erf")) return read_unary(r, FSC_OP_ERF);
    if (!strcmp(t, "pow")) return read_binary(r, FSC_OP_POW);
    if (!strcmp(t, "clip")) return read_clip(r);
    if (!strcmp(t, "batch_norm")) return read_batch_norm(r);
    if (!strcmp(t, "layer_norm")) return read_layer_norm(r);
    if (!strcmp(t, "pad")) return read_pad(r);
    if (!strcmp(t, "gather")) return read_gather(r);
    if (!strcmp(t, "slice_by_index")) return read_slice(r);
    if (!strcmp(t, "softmax")) return read_axis_op(r, FSC_OP_SOFTMAX, "axis", -1);
    if (!strcmp(t, "reduce_mean")) return read_reduce_mean(r);
    if (!strcmp(t, "avg_pool")) return read_pool(r, FSC_OP_AVGPOOL);
    if (!strcmp(t, "max_pool")) return read_pool(r, FSC_OP_MAXPOOL);
    if (!strcmp(t, "reshape")) return read_reshape(r);
    if (!strcmp(t, "transpose")) return read_transpose(r);
    if (!strcmp(t, "concat")) return read_concat(r);
    if (!strcmp(t, "cast")) return read_cast(r);
    if (!strcmp(t, "quantize")) return read_quantize(r, true);
    if (!strcmp(t, "dequantize")) return read_quantize(r, false);
    if (!strcmp(t, "constexpr_affine_dequantize")) return read_affine_dequantize(r);
    if (!strcmp(t, "constexpr_blockwise_shift_scale")) return read_blockwise(r);
    return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "op type '%s' is not supported", t);
}

/* ---- program ----------------------------------------------------------- */

static const Mlp_Function *pick_function(const Mlp_Program *p, const Mlp_Model *m, fsc_error *err)
{
    const char *want = "main";
    if (m->description && m->description->defaultfunctionname && m->description->defaultfunctionname[0])
        want = m->description->defaultfunctionname;
    for (size_t i = 0; i < p->n_functions; i++)
        if (p->functions[i] && !strcmp(p->functions[i]->key, want) && p->functions[i]->value)
            return p->functions[i]->value;
    if (p->n_functions == 1 && p->functions[0] && p->functions[0]->value) return p->functions[0]->value;
    fsc_fail(err, FSC_ERR_FORMAT, "program has no function '%s' (%zu functions)", want, p->n_functions);
    return NULL;
}

static fsc_status read_inputs(rd *r, const Mlp_Function *f)
{
    for (size_t i = 0; i < f->n_inputs; i++) {
        const Mlp_NamedType *nt = f->inputs[i];
        int mil;
        fsc_dtype dt;
        fsc_shape s;
        fsc_status st = fsc_mlp_type_shape(nt->type, &mil, &dt, &s, r->err);
        if (st) {
            fsc_error_prefix(r->err, "function input '%s'", nt->name);
            return st;
        }
        if (fsc_graph_add_input(r->g, nt->name, dt, &s, r->err) < 0) return r->err->code;
    }
    return FSC_OK;
}

static bool has_unknown_field(const ProtobufCMessage *m, uint32_t tag)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == tag) return true;
    return false;
}

static fsc_status read_block(rd *r)
{
    const Mlp_Block *b = r->blk;
    if (r->lim->max_nodes > 0 && b->n_operations > (size_t)r->lim->max_nodes)
        return fsc_fail(r->err, FSC_ERR_LIMIT, "program has %zu ops, over the max_nodes limit of %d (raise it with --limit max_nodes=N)",
                        b->n_operations,
                        r->lim->max_nodes);
    for (size_t i = 0; i < b->n_operations; i++) {
        const Mlp_Op *op = b->operations[i];
        r->at = i;
        r->op = op;
        const char *nm = value_string(find_attr(op, "name"));
        if (!nm) nm = op->n_outputs && op->outputs[0] ? op->outputs[0]->name : "";
        r->name = nm;
        for (size_t k = 0; k < op->n_outputs; k++)
            if (!op->outputs[k] || !op->outputs[k]->name) return fsc_fail(r->err, FSC_ERR_FORMAT, "op %zu: bad output", i);
        size_t longest = strlen(nm);
        for (size_t k = 0; k < op->n_outputs; k++)
            if (strlen(op->outputs[k]->name) > longest) longest = strlen(op->outputs[k]->name);
        if (r->lim->max_string && longest > r->lim->max_string)
            return fsc_fail(r->err, FSC_ERR_LIMIT, "op %zu (%s): a name of %zu bytes is over the max_string limit of %zu (raise it with --limit max_string=N)", i,
                            op->type, longest, r->lim->max_string);
        fsc_status st = FSC_OK;
        if (has_unknown_field(&op->base, 4))
            st = fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "ops with nested blocks are not supported");
        else
            st = read_op(r);
        if (st) {
            fsc_error_prefix(r->err, "op %zu (%s '%s')", i, op->type, nm);
            return st;
        }
    }
    for (size_t i = 0; i < b->n_outputs; i++) {
        int id = fsc_graph_find(r->g, b->outputs[i]);
        if (id < 0)
            return fsc_fail(r->err, FSC_ERR_FORMAT, "block output '%s' is not defined by any op (dangling)", b->outputs[i]);
        fsc_status st = fsc_graph_add_output(r->g, id, r->err);
        if (st) return st;
    }
    return FSC_OK;
}

/* Checks the model description against the program: every described input and output exists. */
static fsc_status check_description(const Mlp_Model *m, const fsc_graph *g, fsc_error *err)
{
    const Mlp_ModelDesc *d = m->description;
    if (!d) return FSC_OK;
    for (size_t i = 0; i < d->n_input; i++) {
        int id = fsc_graph_find(g, d->input[i]->name);
        if (id < 0 || !g->values[id].is_input)
            return fsc_fail(err, FSC_ERR_FORMAT, "model description input '%s' is not an input of the program",
                            d->input[i]->name);
    }
    for (size_t i = 0; i < d->n_output; i++) {
        int id = fsc_graph_find(g, d->output[i]->name);
        if (id < 0 || !g->values[id].is_output)
            return fsc_fail(err, FSC_ERR_FORMAT, "model description output '%s' is not an output of the program",
                            d->output[i]->name);
    }
    return FSC_OK;
}

fsc_status fsc_mlp_model_to_graph(const Mlp_Model *m, fsc_mlp_blob_resolver resolve, void *user,
                                  const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    *out = NULL;
    if (m->type_case != CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM || !m->mlprogram)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "model is not an ML Program (specification version %d)",
                        m->specificationversion);
    if (m->specificationversion < 6)
        return fsc_fail(err, FSC_ERR_FORMAT, "specification version %d is older than ML Programs (6)",
                        m->specificationversion);
    const Mlp_Function *f = pick_function(m->mlprogram, m, err);
    if (!f) return err ? err->code : FSC_ERR_FORMAT;
    const Mlp_Block *blk = NULL;
    for (size_t i = 0; i < f->n_block_specializations; i++)
        if (f->block_specializations[i] && !strcmp(f->block_specializations[i]->key, f->opset))
            blk = f->block_specializations[i]->value;
    if (!blk) return fsc_fail(err, FSC_ERR_FORMAT, "function has no block for its opset '%s'", f->opset);

    fsc_graph *g = fsc_graph_new("main", err);
    if (!g) return err ? err->code : FSC_ERR_NOMEM;
    fsc_limits lim = ctx ? ctx->limits : fsc_limits_default();
    g->max_const_bytes = lim.max_total_bytes;
    fsc_error local;
    rd r = {.g = g, .lim = &lim, .resolve = resolve, .user = user, .blk = blk, .err = err ? err : &local};
    fsc_status st = read_inputs(&r, f);
    if (!st) st = read_block(&r);
    if (!st) st = check_description(m, g, r.err);
    if (st) {
        fsc_graph_free(g);
        return st;
    }
    *out = g;
    return FSC_OK;
}
