/* onnx_read.c: ONNX ModelProto -> fsc_graph.
 *
 * Parses with protobuf-c (proto/onnx_subset.proto), checks limits before any
 * allocation sized by the file, sorts the nodes topologically (ONNX requires
 * sorted nodes, but a file may lie), and hands each node to onnx_ops.c.
 * Initializers become graph values only when a node reads them as data:
 * operands that ONNX passes as tensors but the IR holds as attributes (a
 * Reshape's shape, a Slice's starts) never appear in the graph. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/model_io.h"
#include "flipscope/onnx.h"
#include "core/half.h"
#include "formats/onnx_internal.h"
#include "formats/pb_nesting.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; this reader copies it as is"
#endif

/* An element count no model we target comes near; larger dims are hostile. */
#define ONNX_MAX_NUMEL ((int64_t)1 << 40)

/* ---- name map ---------------------------------------------------------- */

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void names_free(onnx_names *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Sizes the table for n keys (load factor <= 1/2). */
static fsc_status names_init(onnx_names *m, size_t n, fsc_error *err)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < 2 * n + 2) cap *= 2;
    m->keys = fsc_calloc(cap, sizeof *m->keys, "ONNX name table", err);
    m->vals = fsc_calloc(cap, sizeof *m->vals, "ONNX name table", err);
    if (!m->keys || !m->vals) {
        names_free(m);
        return FSC_ERR_NOMEM;
    }
    m->cap = cap;
    return FSC_OK;
}

static int names_get(const onnx_names *m, const char *key)
{
    if (!m->cap || !key) return -1;
    for (size_t i = name_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (!strcmp(m->keys[i], key)) return m->vals[i];
    }
}

/* Inserts key (must have room); returns false when the key was already there. */
static bool names_put(onnx_names *m, const char *key, int val)
{
    size_t i = name_hash(key) & (m->cap - 1);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (!strcmp(m->keys[i], key)) return false;
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return true;
}

/* ---- dtypes and tensors ------------------------------------------------ */

fsc_dtype onnx_dtype_from(int32_t dt)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return FSC_DT_F32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return FSC_DT_F64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: return FSC_DT_F16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return FSC_DT_BF16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return FSC_DT_I8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return FSC_DT_U8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return FSC_DT_I32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return FSC_DT_I64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return FSC_DT_BOOL;
    default: return FSC_DT_UNDEF;
    }
}

int32_t onnx_dtype_to(fsc_dtype dt)
{
    switch (dt) {
    case FSC_DT_F32: return ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    case FSC_DT_F64: return ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    case FSC_DT_F16: return ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    case FSC_DT_BF16: return ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
    case FSC_DT_I8: return ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    case FSC_DT_U8: return ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    case FSC_DT_I32: return ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
    case FSC_DT_I64: return ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
    case FSC_DT_BOOL: return ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
    default: return 0;
    }
}

static const char *onnx_dtype_label(int32_t dt)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
                                        "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE",
                                        "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    return dt >= 0 && dt < (int32_t)(sizeof names / sizeof names[0]) ? names[dt] : "unknown";
}

/* Builds a shape from ONNX dims, refusing negative dims, too many axes and absurd sizes. */
static fsc_status dims_to_shape(const int64_t *dims, size_t n, fsc_shape *s, fsc_error *err)
{
    if (n > FSC_MAX_RANK)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "rank %zu exceeds the maximum rank %d", n, FSC_MAX_RANK);
    s->rank = (int)n;
    int64_t numel = 1;
    for (size_t i = 0; i < n; i++) {
        if (dims[i] < 0) return fsc_fail(err, FSC_ERR_INVALID, "dimension %zu is negative (%" PRId64 ")", i, dims[i]);
        s->dim[i] = dims[i];
        if (dims[i] && numel > ONNX_MAX_NUMEL / dims[i]) numel = ONNX_MAX_NUMEL + 1;
        else numel *= dims[i];
    }
    if (numel > ONNX_MAX_NUMEL) {
        char sb[200];
        return fsc_fail(err, FSC_ERR_LIMIT, "shape %s has more than 2^40 elements",
                        fsc_shape_str(s, sb, sizeof sb));
    }
    return FSC_OK;
}

fsc_status onnx_tensor_decode(const Onnx__TensorProto *tp, const fsc_limits *lim, fsc_tensor *t, fsc_dtype *dtype,
                              fsc_error *err)
{
    memset(t, 0, sizeof *t);
    if ((tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
        tp->n_external_data)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED,
                        "tensor data is stored in an external file; flipscope reads self-contained models only "
                        "(re-save with onnx.save_model(model, path, save_as_external_data=False))");
    fsc_dtype dt = onnx_dtype_from(tp->data_type);
    if (dt == FSC_DT_UNDEF)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "tensor element type %s (%d) is not supported",
                        onnx_dtype_label(tp->data_type), (int)tp->data_type);
    fsc_shape s;
    fsc_status st = dims_to_shape(tp->dims, tp->n_dims, &s, err);
    if (st) return st;
    size_t n = (size_t)fsc_shape_numel(&s);
    size_t fsz = fsc_dtype_size(dt); /* element size in the file */
    size_t have;
    const char *field;
    if (tp->has_raw_data) {
        have = tp->raw_data.len / fsz;
        field = "raw_data";
        if (tp->raw_data.len % fsz)
            return fsc_fail(err, FSC_ERR_FORMAT, "raw_data length %zu is not a multiple of %zu bytes",
                            tp->raw_data.len, fsz);
    } else {
        switch (dt) {
        case FSC_DT_F32: have = tp->n_float_data; field = "float_data"; break;
        case FSC_DT_F64: have = tp->n_double_data; field = "double_data"; break;
        case FSC_DT_I64: have = tp->n_int64_data; field = "int64_data"; break;
        default: have = tp->n_int32_data; field = "int32_data"; break;
        }
    }
    if (have != n)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s holds %zu elements, the dims %s need %zu", field, have,
                        fsc_shape_str(&s, (char[200]){0}, 200), n);
    fsc_dtype container = (dt == FSC_DT_F16 || dt == FSC_DT_BF16) ? FSC_DT_F32 : dt;
    st = fsc_tensor_alloc(t, container, &s, lim->max_tensor_bytes, err);
    if (st) return st;
    const uint8_t *raw = tp->has_raw_data ? tp->raw_data.data : NULL;
    if (dt == FSC_DT_F16 || dt == FSC_DT_BF16) {
        float *d = t->data;
        for (size_t i = 0; i < n; i++) {
            uint16_t bits;
            if (raw) memcpy(&bits, raw + 2 * i, 2);
            else bits = (uint16_t)tp->int32_data[i];
            d[i] = (float)(dt == FSC_DT_F16 ? fsc_half_to_double(bits) : fsc_bf16_to_double(bits));
        }
        t->fmt = dt == FSC_DT_F16 ? FSC_FMT_FP16 : FSC_FMT_BF16;
    } else if (raw) {
        if (n) memcpy(t->data, raw, n * fsz);
        if (dt == FSC_DT_BOOL)
            for (size_t i = 0; i < n; i++) ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
    } else if (dt == FSC_DT_F32) {
        if (n) memcpy(t->data, tp->float_data, n * sizeof(float));
    } else if (dt == FSC_DT_F64) {
        if (n) memcpy(t->data, tp->double_data, n * sizeof(double));
    } else if (dt == FSC_DT_I64) {
        if (n) memcpy(t->data, tp->int64_data, n * sizeof(int64_t));
    } else {
        for (size_t i = 0; i < n; i++) fsc_tensor_set(t, (int64_t)i, (double)tp->int32_data[i]);
    }
    *dtype = dt;
    return FSC_OK;
}

/* ---- node context helpers ---------------------------------------------- */

static const char *node_name(const Onnx__NodeProto *np) { return np->name ? np->name : ""; }

fsc_status onnx_node_fail(onnx_rd *r, fsc_status code, const char *fmt, ...)
{
    if (!r->err) return code;
    char msg[FSC_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fsc_fail(r->err, code, "%s: node %d (%s '%s'): %s", r->file, r->node_index,
                    r->np->op_type ? r->np->op_type : "?", node_name(r->np), msg);
}

const Onnx__AttributeProto *onnx_attr(const onnx_rd *r, const char *name)
{
    for (size_t i = 0; i < r->np->n_attribute; i++)
        if (r->np->attribute[i]->name && !strcmp(r->np->attribute[i]->name, name)) return r->np->attribute[i];
    return NULL;
}

/* Effective type of an attribute: old writers leave `type` unset. */
static int attr_type(const Onnx__AttributeProto *a)
{
    if (a->has_type && a->type) return a->type;
    if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
}

fsc_status onnx_attr_int(onnx_rd *r, const char *name, int64_t dflt, int64_t *out)
{
    const Onnx__AttributeProto *a = onnx_attr(r, name);
    *out = dflt;
    if (!a) return FSC_OK;
    if (attr_type(a) != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        return onnx_node_fail(r, FSC_ERR_INVALID, "attribute '%s' should be an int", name);
    *out = a->i;
    return FSC_OK;
}

fsc_status onnx_attr_float(onnx_rd *r, const char *name, double dflt, double *out)
{
    const Onnx__AttributeProto *a = onnx_attr(r, name);
    *out = dflt;
    if (!a) return FSC_OK;
    int ty = attr_type(a);
    if (ty == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) *out = a->f;
    else if (ty == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) *out = (double)a->i;
    else return onnx_node_fail(r, FSC_ERR_INVALID, "attribute '%s' should be a float", name);
    return FSC_OK;
}

fsc_status onnx_attr_string(onnx_rd *r, const char *name, const char *dflt, char *buf, size_t len)
{
    const Onnx__AttributeProto *a = onnx_attr(r, name);
    snprintf(buf, len, "%s", dflt);
    if (!a) return FSC_OK;
    if (attr_type(a) != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
        return onnx_node_fail(r, FSC_ERR_INVALID, "attribute '%s' should be a string", name);
    if (a->s.len >= len || (a->s.len && memchr(a->s.data, 0, a->s.len)))
        return onnx_node_fail(r, FSC_ERR_INVALID, "attribute '%s' has an unexpected value", name);
    if (a->s.len) memcpy(buf, a->s.data, a->s.len);
    buf[a->s.len] = '\0';
    return FSC_OK;
}

fsc_status onnx_attr_ints(onnx_rd *r, const char *name, int64_t *vals, int max, int *n)
{
    const Onnx__AttributeProto *a = onnx_attr(r, name);
    *n = -1;
    if (!a) return FSC_OK;
    if (attr_type(a) != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
        return onnx_node_fail(r, FSC_ERR_INVALID, "attribute '%s' should be a list of ints", name);
    if (a->n_ints > (size_t)max)
        return onnx_node_fail(r, FSC_ERR_INVALID, "attribute '%s' has %zu values, at most %d expected", name,
                              a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++) vals[i] = a->ints[i];
    *n = (int)a->n_ints;
    return FSC_OK;
}

int onnx_n_inputs(const onnx_rd *r)
{
    int n = (int)r->np->n_input;
    while (n > 0 && !r->np->input[n - 1][0]) n--;
    return n;
}

bool onnx_has_input(const onnx_rd *r, int i)
{
    return i >= 0 && (size_t)i < r->np->n_input && r->np->input[i][0];
}

/* Adds initializer k as a graph value (first use). */
static int materialise_init(onnx_rd *r, int k, fsc_error *err)
{
    const Onnx__TensorProto *tp = r->gp->initializer[k];
    fsc_tensor t;
    fsc_dtype dt;
    if (onnx_tensor_decode(tp, &r->ctx->limits, &t, &dt, err)) return -1;
    return fsc_graph_add_initializer(r->g, tp->name, dt, &t, err);
}

const Onnx__TensorProto *onnx_find_init(const onnx_rd *r, const char *name)
{
    int k = names_get(&r->inits, name);
    return k < 0 ? NULL : r->gp->initializer[k];
}

fsc_status onnx_input(onnx_rd *r, int i, int *id)
{
    *id = -1;
    if (!onnx_has_input(r, i)) return onnx_node_fail(r, FSC_ERR_INVALID, "input %d is missing", i);
    const char *name = r->np->input[i];
    int v = fsc_graph_find(r->g, name);
    fsc_error e;
    if (v < 0 && names_get(&r->pend_names, name) >= 0) {
        onnx_pending *p = &r->pend[names_get(&r->pend_names, name)];
        v = fsc_graph_add_const_node(r->g, p->node, p->op_type, p->value, p->dtype, &p->t, &e);
        if (v < 0) return onnx_node_fail(r, e.code, "constant '%s': %s", name, e.msg);
    }
    if (v < 0) {
        int k = names_get(&r->inits, name);
        if (k < 0)
            return onnx_node_fail(r, FSC_ERR_INVALID,
                                  "input '%s' is not produced by any node, initializer or graph input", name);
        v = materialise_init(r, k, &e);
        if (v < 0) return onnx_node_fail(r, e.code, "initializer '%s': %s", name, e.msg);
    }
    *id = v;
    return FSC_OK;
}

fsc_status onnx_add_pending(onnx_rd *r, fsc_dtype dtype, fsc_tensor *t)
{
    const char *out = r->np->output[0];
    onnx_pending *p = &r->pend[r->n_pend];
    memset(p, 0, sizeof *p);
    p->value = strdup(out);
    p->node = strdup(r->np->name ? r->np->name : "");
    p->op_type = strdup(r->np->op_type);
    p->dtype = dtype;
    p->t = *t;
    memset(t, 0, sizeof *t);
    r->n_pend++; /* counted even when incomplete, so that it is freed */
    if (!p->value || !p->node || !p->op_type) return onnx_node_fail(r, FSC_ERR_NOMEM, "out of memory");
    if (!names_put(&r->pend_names, p->value, r->n_pend - 1))
        return onnx_node_fail(r, FSC_ERR_INVALID, "output '%s' is defined twice", out);
    return FSC_OK;
}

bool onnx_is_small_int_const(const onnx_rd *r, const char *name, int64_t max_numel)
{
    int id = fsc_graph_find(r->g, name);
    if (id >= 0) {
        const fsc_value *v = &r->g->values[id];
        return v->constant && (v->dtype == FSC_DT_I64 || v->dtype == FSC_DT_I32) &&
               fsc_tensor_numel(v->constant) <= max_numel;
    }
    int k = names_get(&r->pend_names, name);
    if (k >= 0) {
        const onnx_pending *p = &r->pend[k];
        return (p->dtype == FSC_DT_I64 || p->dtype == FSC_DT_I32) && fsc_tensor_numel(&p->t) <= max_numel;
    }
    const Onnx__TensorProto *tp = onnx_find_init(r, name);
    fsc_dtype dt = tp ? onnx_dtype_from(tp->data_type) : FSC_DT_UNDEF;
    if ((dt != FSC_DT_I64 && dt != FSC_DT_I32) || tp->n_dims > FSC_MAX_RANK) return false;
    int64_t n = 1;
    for (size_t d = 0; d < tp->n_dims; d++) {
        if (tp->dims[d] < 0 || tp->dims[d] > max_numel) return false;
        n *= tp->dims[d];
        if (n > max_numel) return false;
    }
    return true;
}

fsc_status onnx_const_input(onnx_rd *r, int i, const char *what, fsc_tensor *t)
{
    memset(t, 0, sizeof *t);
    if (!onnx_has_input(r, i)) return onnx_node_fail(r, FSC_ERR_INVALID, "input %d (%s) is missing", i, what);
    const char *name = r->np->input[i];
    int v = fsc_graph_find(r->g, name);
    fsc_error e;
    if (v >= 0) {
        if (!r->g->values[v].constant)
            return onnx_node_fail(r, FSC_ERR_UNSUPPORTED,
                                  "%s ('%s') must be a constant: flipscope needs static shapes and parameters "
                                  "(export with constant folding and fixed input shapes)",
                                  what, name);
        if (fsc_tensor_clone(t, r->g->values[v].constant, &e)) return onnx_node_fail(r, e.code, "%s", e.msg);
        return FSC_OK;
    }
    int pk = names_get(&r->pend_names, name);
    if (pk >= 0) {
        if (fsc_tensor_clone(t, &r->pend[pk].t, &e)) return onnx_node_fail(r, e.code, "%s", e.msg);
        return FSC_OK;
    }
    int k = names_get(&r->inits, name);
    if (k < 0)
        return onnx_node_fail(r, FSC_ERR_INVALID, "input '%s' is not produced by any node, initializer or graph input",
                              name);
    fsc_dtype dt;
    if (onnx_tensor_decode(r->gp->initializer[k], &r->ctx->limits, t, &dt, &e))
        return onnx_node_fail(r, e.code, "initializer '%s': %s", name, e.msg);
    return FSC_OK;
}

fsc_status onnx_const_ints(onnx_rd *r, int i, const char *what, int64_t *vals, int max, int *n)
{
    fsc_tensor t;
    fsc_status st = onnx_const_input(r, i, what, &t);
    if (st) return st;
    int64_t cnt = fsc_tensor_numel(&t);
    if ((t.dtype != FSC_DT_I64 && t.dtype != FSC_DT_I32) || t.shape.rank > 1) {
        fsc_tensor_free(&t);
        return onnx_node_fail(r, FSC_ERR_INVALID, "%s must be a 1-D int64 tensor", what);
    }
    if (cnt > max) {
        fsc_tensor_free(&t);
        return onnx_node_fail(r, FSC_ERR_INVALID, "%s has %" PRId64 " values, at most %d expected", what, cnt, max);
    }
    for (int64_t k = 0; k < cnt; k++)
        vals[k] = t.dtype == FSC_DT_I64 ? ((int64_t *)t.data)[k] : ((int32_t *)t.data)[k];
    *n = (int)cnt;
    fsc_tensor_free(&t);
    return FSC_OK;
}

fsc_status onnx_emit(onnx_rd *r, fsc_op op, const fsc_attrs *attr, int n_in, const int *in, int n_out,
                     const char *const *outs, fsc_dtype out_dtype, const fsc_shape *out_shape, int *idx)
{
    fsc_node_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.op = op;
    spec.name = node_name(r->np);
    spec.op_type = r->np->op_type;
    spec.n_in = n_in;
    spec.in = in;
    spec.n_out = outs ? n_out : 1;
    spec.out_names = outs ? outs : (const char *const *)r->np->output;
    if (attr) spec.attr = *attr;
    spec.out_dtype = out_dtype;
    spec.out_shape = out_shape;
    fsc_error e;
    fsc_error_clear(&e);
    int k = fsc_graph_add_node(r->g, &spec, &e);
    if (k < 0) {
        /* The graph labels the node with its own index; ours is the file's, so drop theirs. */
        char label[200];
        int ll = snprintf(label, sizeof label, "node %d (%s '%s'): ", r->g->n_nodes, spec.op_type, spec.name);
        const char *msg = e.msg;
        if (ll > 0 && !strncmp(msg, label, (size_t)ll)) msg += ll;
        return onnx_node_fail(r, e.code ? e.code : FSC_ERR_INVALID, "%s", msg);
    }
    if (idx) *idx = k;
    return FSC_OK;
}

char *onnx_tmp_name(onnx_rd *r, const char *base)
{
    size_t len = strlen(base) + 32;
    char *s = malloc(len);
    if (!s) return NULL;
    do snprintf(s, len, "%s/__fsc%d", base, ++r->tmp_counter);
    while (fsc_graph_find(r->g, s) >= 0 || names_get(&r->inits, s) >= 0 || names_get(&r->pend_names, s) >= 0);
    return s;
}

const fsc_shape *onnx_shape(const onnx_rd *r, int id) { return &r->g->values[id].shape; }

fsc_status onnx_axis(onnx_rd *r, int64_t axis, int rank, const char *what, int64_t *out)
{
    if (axis < -rank || axis >= rank)
        return onnx_node_fail(r, FSC_ERR_INVALID, "%s %" PRId64 " is out of range for rank %d", what, axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return FSC_OK;
}

/* ---- model-level checks ------------------------------------------------ */

static fsc_status check_name(onnx_rd *r, const char *s, const char *what)
{
    if (s && strlen(s) > r->ctx->limits.max_string)
        return fsc_fail(r->err, FSC_ERR_LIMIT, "%s: %s name is longer than the max_string limit of %zu (raise it with --limit max_string=N)", r->file,
                        what, r->ctx->limits.max_string);
    return FSC_OK;
}

/* Every string the loader will copy into the graph, checked against max_string up front. */
static fsc_status check_strings(onnx_rd *r)
{
    const Onnx__GraphProto *gp = r->gp;
    fsc_status st = FSC_OK;
    for (size_t i = 0; !st && i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        st = check_name(r, np->name, "a node");
        if (!st) st = check_name(r, np->op_type, "an op type");
        for (size_t k = 0; !st && k < np->n_input; k++) st = check_name(r, np->input[k], "a value");
        for (size_t k = 0; !st && k < np->n_output; k++) st = check_name(r, np->output[k], "a value");
    }
    for (size_t i = 0; !st && i < gp->n_initializer; i++) st = check_name(r, gp->initializer[i]->name, "an initializer");
    for (size_t i = 0; !st && i < gp->n_input; i++) st = check_name(r, gp->input[i]->name, "an input");
    for (size_t i = 0; !st && i < gp->n_output; i++) st = check_name(r, gp->output[i]->name, "an output");
    return st;
}

static fsc_status read_opsets(onnx_rd *r, const Onnx__ModelProto *m)
{
    r->opset = 0;
    r->ms_opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = o->domain ? o->domain : "";
        if (!d[0] || !strcmp(d, "ai.onnx")) r->opset = o->version;
        else if (!strcmp(d, "com.microsoft")) r->ms_opset = o->version;
    }
    if (r->opset <= 0)
        return fsc_fail(r->err, FSC_ERR_FORMAT, "%s: the model imports no default-domain opset (not an ONNX model?)",
                        r->file);
    if (r->opset < 7 || r->opset > 23)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%s: opset %" PRId64 " is not supported (7 to 23 are)", r->file,
                        r->opset);
    return FSC_OK;
}

/* ValueInfo type -> dtype and static shape; what is "input" or "output". */
static fsc_status value_info_type(onnx_rd *r, const Onnx__ValueInfoProto *vi, const char *what, fsc_dtype *dt,
                                  fsc_shape *s, bool *has_shape)
{
    const char *name = vi->name ? vi->name : "";
    const Onnx__TypeProto *tp = vi->type;
    *has_shape = false;
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) {
        *dt = FSC_DT_UNDEF;
        return FSC_OK;
    }
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%s: graph %s '%s' is not a tensor (sequences, maps and "
                        "optionals are not supported)", r->file, what, name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    *dt = onnx_dtype_from(tt->elem_type);
    if (*dt == FSC_DT_UNDEF)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%s: graph %s '%s' has element type %s, which is not supported",
                        r->file, what, name, onnx_dtype_label(tt->elem_type));
    if (!tt->shape) return FSC_OK;
    int64_t dims[FSC_MAX_RANK];
    if (tt->shape->n_dim > FSC_MAX_RANK)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%s: graph %s '%s' has rank %zu, more than %d", r->file, what,
                        name, tt->shape->n_dim, FSC_MAX_RANK);
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (!strcmp(what, "output")) return FSC_OK; /* outputs: the inferred shape is authoritative */
            return fsc_fail(r->err, FSC_ERR_UNSUPPORTED,
                            "%s: graph input '%s' has a symbolic dimension %zu ('%s'); flipscope needs static shapes: "
                            "export with fixed input shapes (no dynamic_axes) or fix the dimension with "
                            "onnx.tools.update_model_dims",
                            r->file, name, i, d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                                                      d->dim_param ? d->dim_param : "unknown");
        }
        dims[i] = d->dim_value;
    }
    fsc_error e;
    if (dims_to_shape(dims, tt->shape->n_dim, s, &e))
        return fsc_fail(r->err, e.code, "%s: graph %s '%s': %s", r->file, what, name, e.msg);
    *has_shape = true;
    return FSC_OK;
}

static fsc_status add_inputs(onnx_rd *r)
{
    for (size_t i = 0; i < r->gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = r->gp->input[i];
        const char *name = vi->name ? vi->name : "";
        if (names_get(&r->inits, name) >= 0) continue; /* IR < 4: initializers are listed as inputs too */
        fsc_dtype dt;
        fsc_shape s;
        bool has;
        fsc_status st = value_info_type(r, vi, "input", &dt, &s, &has);
        if (st) return st;
        if (dt == FSC_DT_UNDEF || !has)
            return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%s: graph input '%s' has no %s; flipscope needs static shapes",
                            r->file, name, dt == FSC_DT_UNDEF ? "element type" : "shape");
        size_t es = fsc_dtype_size(dt);
        int64_t n = fsc_shape_numel(&s);
        if (r->ctx->limits.max_tensor_bytes && (uint64_t)n > r->ctx->limits.max_tensor_bytes / es)
            return fsc_fail(r->err, FSC_ERR_LIMIT, "%s: graph input '%s' needs %" PRId64
                            " bytes, over the max_tensor_bytes limit of %zu (raise it with --limit max_tensor_bytes=N)", r->file, name, n * (int64_t)es,
                            r->ctx->limits.max_tensor_bytes);
        fsc_error e;
        if (fsc_graph_add_input(r->g, name, dt, &s, &e) < 0)
            return fsc_fail(r->err, e.code, "%s: graph input '%s': %s", r->file, name, e.msg);
    }
    return FSC_OK;
}

/* Binary min-heap of node indices: the sort keeps the file's order where it can. */
typedef struct heap {
    int *a;
    int n;
} heap;

static void heap_push(heap *h, int v)
{
    int i = h->n++;
    h->a[i] = v;
    while (i > 0 && h->a[(i - 1) / 2] > h->a[i]) {
        int p = (i - 1) / 2, t = h->a[p];
        h->a[p] = h->a[i];
        h->a[i] = t;
        i = p;
    }
}

static int heap_pop(heap *h)
{
    int top = h->a[0];
    h->a[0] = h->a[--h->n];
    for (int i = 0;;) {
        int l = 2 * i + 1, s = i;
        if (l < h->n && h->a[l] < h->a[s]) s = l;
        if (l + 1 < h->n && h->a[l + 1] < h->a[s]) s = l + 1;
        if (s == i) break;
        int t = h->a[s];
        h->a[s] = h->a[i];
        h->a[i] = t;
        i = s;
    }
    return top;
}

/* Topological order of the nodes (Kahn's algorithm, smallest file index first).
 * Checks that every output name is produced once and that every input exists. */
static fsc_status sort_nodes(onnx_rd *r, int *order)
{
    const Onnx__GraphProto *gp = r->gp;
    int n = (int)gp->n_node;
    size_t n_outs = 0;
    for (int i = 0; i < n; i++) n_outs += gp->node[i]->n_output;
    onnx_names prod;
    fsc_error e;
    if (names_init(&prod, n_outs, &e)) return fsc_fail(r->err, e.code, "%s: %s", r->file, e.msg);
    fsc_status st = FSC_OK;
    int *indeg = fsc_calloc((size_t)n + 1, sizeof *indeg, "ONNX node sort", &e);
    int *edge_start = fsc_calloc((size_t)n + 2, sizeof *edge_start, "ONNX node sort", &e);
    int *edges = NULL;
    heap h = {fsc_calloc((size_t)n + 1, sizeof(int), "ONNX node sort", &e), 0};
    if (!indeg || !edge_start || !h.a) {
        st = fsc_fail(r->err, FSC_ERR_NOMEM, "%s: %s", r->file, e.msg);
        goto out;
    }
    for (int i = 0; i < n && !st; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        for (size_t k = 0; k < np->n_output; k++) {
            const char *o = np->output[k];
            if (!o[0]) continue;
            if (!names_put(&prod, o, i) || names_get(&r->inits, o) >= 0 || fsc_graph_find(r->g, o) >= 0) {
                r->np = np;
                r->node_index = i;
                st = onnx_node_fail(r, FSC_ERR_INVALID, "output '%s' is already defined elsewhere in the graph", o);
            }
        }
    }
    if (st) goto out;
    /* Edges producer -> consumer in CSR form: count, then fill. */
    size_t n_edges = 0;
    for (int i = 0; i < n; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        for (size_t k = 0; k < np->n_input; k++) {
            const char *in = np->input[k];
            if (!in[0]) continue;
            int p = names_get(&prod, in);
            if (p >= 0) {
                edge_start[p + 1]++;
                n_edges++;
                indeg[i]++;
            } else if (names_get(&r->inits, in) < 0 && fsc_graph_find(r->g, in) < 0) {
                r->np = np;
                r->node_index = i;
                st = onnx_node_fail(r, FSC_ERR_INVALID,
                                    "input '%s' is not produced by any node, initializer or graph input", in);
                goto out;
            }
        }
    }
    for (int i = 0; i < n; i++) edge_start[i + 1] += edge_start[i];
    edges = fsc_calloc(n_edges + 1, sizeof *edges, "ONNX node sort", &e);
    int *fill = fsc_calloc((size_t)n + 1, sizeof *fill, "ONNX node sort", &e);
    if (!edges || !fill) {
        free(fill);
        st = fsc_fail(r->err, FSC_ERR_NOMEM, "%s: %s", r->file, e.msg);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        for (size_t k = 0; k < np->n_input; k++) {
            int p = np->input[k][0] ? names_get(&prod, np->input[k]) : -1;
            if (p >= 0) edges[edge_start[p] + fill[p]++] = i;
        }
    }
    free(fill);
    for (int i = 0; i < n; i++)
        if (!indeg[i]) heap_push(&h, i);
    int done = 0;
    while (h.n) {
        int v = heap_pop(&h);
        order[done++] = v;
        for (int k = edge_start[v]; k < edge_start[v + 1]; k++)
            if (--indeg[edges[k]] == 0) heap_push(&h, edges[k]);
    }
    if (done < n) {
        /* A node left over may only sit downstream of a cycle: walk back through unsorted
         * producers; after n steps the walk is on the cycle itself. */
        int c = 0;
        while (c < n && !indeg[c]) c++;
        for (int step = 0; step < n; step++) {
            const Onnx__NodeProto *np = gp->node[c];
            for (size_t k = 0; k < np->n_input; k++) {
                int p = np->input[k][0] ? names_get(&prod, np->input[k]) : -1;
                if (p >= 0 && indeg[p]) {
                    c = p;
                    break;
                }
            }
        }
        r->np = gp->node[c];
        r->node_index = c;
        st = onnx_node_fail(r, FSC_ERR_INVALID, "the graph has a cycle through this node");
    }
out:
    names_free(&prod);
    free(indeg);
    free(edge_start);
    free(edges);
    free(h.a);
    return st;
}

static fsc_status add_outputs(onnx_rd *r)
{
    char sa[200], sb[200];
    for (size_t i = 0; i < r->gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = r->gp->output[i];
        const char *name = vi->name ? vi->name : "";
        int v = fsc_graph_find(r->g, name);
        fsc_error e;
        int pk = names_get(&r->pend_names, name);
        if (v < 0 && pk >= 0) {
            onnx_pending *p = &r->pend[pk];
            if ((v = fsc_graph_add_const_node(r->g, p->node, p->op_type, p->value, p->dtype, &p->t, &e)) < 0)
                return fsc_fail(r->err, e.code, "%s: constant '%s': %s", r->file, name, e.msg);
        }
        if (v < 0) {
            int k = names_get(&r->inits, name);
            if (k >= 0 && (v = materialise_init(r, k, &e)) < 0)
                return fsc_fail(r->err, e.code, "%s: initializer '%s': %s", r->file, name, e.msg);
        }
        if (v < 0)
            return fsc_fail(r->err, FSC_ERR_INVALID, "%s: graph output '%s' is not produced by any node", r->file, name);
        fsc_dtype dt;
        fsc_shape s;
        bool has;
        fsc_status st = value_info_type(r, vi, "output", &dt, &s, &has);
        if (st) return st;
        const fsc_value *val = &r->g->values[v];
        if (val->producer >= 0 && r->g->nodes[val->producer].op == FSC_OP_OPAQUE) {
            /* nothing was inferred: take the declaration */
            if (fsc_graph_add_output(r->g, v, &e)) return fsc_fail(r->err, e.code, "%s: %s", r->file, e.msg);
            continue;
        }
        if (has && !fsc_shape_equal(&s, &val->shape))
            return fsc_fail(r->err, FSC_ERR_INVALID, "%s: graph output '%s' is declared with shape %s but computes %s",
                            r->file, name, fsc_shape_str(&s, sa, sizeof sa), fsc_shape_str(&val->shape, sb, sizeof sb));
        if (dt != FSC_DT_UNDEF && dt != val->dtype)
            return fsc_fail(r->err, FSC_ERR_INVALID, "%s: graph output '%s' is declared %s but computes %s", r->file,
                            name, fsc_dtype_name(dt), fsc_dtype_name(val->dtype));
        if (fsc_graph_add_output(r->g, v, &e))
            return fsc_fail(r->err, e.code, "%s: graph output '%s': %s", r->file, name, e.msg);
    }
    if (!r->g->n_outputs) return fsc_fail(r->err, FSC_ERR_INVALID, "%s: the graph has no outputs", r->file);
    return FSC_OK;
}

/* Inspection-only: the current node as an FSC_OP_OPAQUE node with its inputs,
 * outputs, and the first output's declared shape and dtype when value_info has them. */
static fsc_status add_opaque(onnx_rd *r)
{
    const Onnx__NodeProto *np = r->np;
    fsc_error scratch;
    for (size_t k = 0; k < np->n_output; k++)
        if (np->output[k][0] && fsc_graph_find(r->g, np->output[k]) >= 0) return FSC_OK; /* partly translated */
    int n_in = np->n_input > 64 ? 64 : (int)np->n_input, n_out = 0;
    int in[64];
    const char *outs[8];
    fsc_error *saved = r->err;
    r->err = &scratch;
    for (int k = 0; k < n_in; k++)
        if (!np->input[k][0] || onnx_input(r, k, &in[k])) in[k] = -1;
    r->err = saved;
    for (size_t k = 0; k < np->n_output && n_out < 8; k++)
        if (np->output[k][0]) outs[n_out++] = np->output[k];
    if (!n_out) return FSC_OK;
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_OPAQUE;
    s.name = node_name(np);
    s.op_type = np->op_type;
    s.n_in = n_in;
    s.in = in;
    s.n_out = n_out;
    s.out_names = outs;
    fsc_shape shape;
    for (size_t i = 0; i < r->gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = r->gp->value_info[i];
        bool has = false;
        fsc_dtype dt;
        r->err = &scratch;
        if (vi->name && !strcmp(vi->name, outs[0]) && !value_info_type(r, vi, "value", &dt, &shape, &has)) {
            s.out_dtype = dt;
            if (has) s.out_shape = &shape;
        }
        r->err = saved;
    }
    if (fsc_graph_add_node(r->g, &s, &scratch) < 0) return onnx_node_fail(r, scratch.code, "%s", scratch.msg);
    return FSC_OK;
}

/* Translates an unpacked model into r->g. */
static fsc_status translate(onnx_rd *r, const Onnx__ModelProto *m)
{
    fsc_status st = read_opsets(r, m);
    if (st) return st;
    if (!m->graph) return fsc_fail(r->err, FSC_ERR_FORMAT, "%s: the model has no graph", r->file);
    const Onnx__GraphProto *gp = r->gp = m->graph;
    if (gp->n_node > (size_t)r->ctx->limits.max_nodes)
        return fsc_fail(r->err, FSC_ERR_LIMIT, "%s: %zu nodes, over the max_nodes limit of %d (raise it with --limit max_nodes=N)",
                        r->file, gp->n_node,
                        r->ctx->limits.max_nodes);
    if (gp->n_sparse_initializer)
        return fsc_fail(r->err, FSC_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", r->file);
    if ((st = check_strings(r))) return st;
    fsc_error e;
    if (names_init(&r->inits, gp->n_initializer, &e)) return fsc_fail(r->err, e.code, "%s: %s", r->file, e.msg);
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const char *nm = gp->initializer[i]->name;
        if (!nm || !nm[0]) return fsc_fail(r->err, FSC_ERR_FORMAT, "%s: initializer %zu has no name", r->file, i);
        if (!names_put(&r->inits, nm, (int)i))
            return fsc_fail(r->err, FSC_ERR_INVALID, "%s: initializer '%s' is defined twice", r->file, nm);
    }
    if ((st = add_inputs(r))) return st;
    r->pend = fsc_calloc(gp->n_node + 1, sizeof *r->pend, "ONNX constants", &e);
    if (!r->pend || names_init(&r->pend_names, gp->n_node, &e)) return fsc_fail(r->err, e.code, "%s: %s", r->file, e.msg);
    int *order = fsc_calloc(gp->n_node + 1, sizeof *order, "ONNX node order", &e);
    if (!order) return fsc_fail(r->err, e.code, "%s: %s", r->file, e.msg);
    st = sort_nodes(r, order);
    for (size_t i = 0; !st && i < gp->n_node; i++) {
        r->np = gp->node[order[i]];
        r->node_index = order[i];
        if (!r->np->op_type || !r->np->op_type[0]) {
            st = onnx_node_fail(r, FSC_ERR_FORMAT, "the node has no op_type");
            break;
        }
        st = onnx_translate_node(r);
        if (st && r->lenient && st != FSC_ERR_NOMEM && st != FSC_ERR_LIMIT) {
            if (r->note && r->note->code == FSC_OK) *r->note = *r->err;
            fsc_error_clear(r->err);
            st = add_opaque(r);
        }
    }
    free(order);
    if (!st) st = add_outputs(r);
    return st;
}

/* Parses buf (file label for messages) into a new graph; note != NULL selects
 * inspection-only loading (untranslatable nodes become opaque). */
static fsc_status parse_named(const char *file, const void *buf, size_t len, const fsc_ctx *ctx, fsc_graph **out,
                              fsc_error *note, fsc_error *err)
{
    *out = NULL;
    fsc_ctx dflt = fsc_ctx_default();
    if (!ctx) ctx = &dflt;
    if (len == 0) return fsc_fail(err, FSC_ERR_FORMAT, "%s: empty file, not an ONNX model", file);
    if (ctx->limits.max_file_bytes && len > ctx->limits.max_file_bytes)
        return fsc_fail(err, FSC_ERR_LIMIT,
                        "%s: %zu bytes, over the max_file_bytes limit of %zu (raise it with --limit max_file_bytes=N)",
                        file, len, ctx->limits.max_file_bytes);
    fsc_status nst = fsc_pb_check_nesting(file, (const uint8_t *)buf, len, &onnx__model_proto__descriptor, ctx->limits.max_nesting, err);
    if (nst) return nst;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s: not a valid ONNX protobuf (truncated or not an ONNX file)", file);
    onnx_rd r;
    memset(&r, 0, sizeof r);
    r.file = file;
    r.ctx = ctx;
    r.err = err;
    r.lenient = note != NULL;
    r.note = note;
    if (note) fsc_error_clear(note);
    fsc_error e;
    r.g = fsc_graph_new(m->graph && m->graph->name ? m->graph->name : "onnx", &e);
    fsc_status st;
    if (!r.g) st = fsc_fail(err, e.code, "%s: %s", file, e.msg);
    else {
        r.g->max_const_bytes = ctx->limits.max_total_bytes;
        st = translate(&r, m);
    }
    names_free(&r.inits);
    names_free(&r.pend_names);
    for (int i = 0; i < r.n_pend; i++) {
        free(r.pend[i].value);
        free(r.pend[i].node);
        free(r.pend[i].op_type);
        fsc_tensor_free(&r.pend[i].t);
    }
    free(r.pend);
    onnx__model_proto__free_unpacked(m, NULL);
    if (st) {
        fsc_graph_free(r.g);
        return st;
    }
    *out = r.g;
    return FSC_OK;
}

fsc_status fsc_onnx_parse(const void *buf, size_t len, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    return parse_named("<onnx buffer>", buf, len, ctx, out, NULL, err);
}

static fsc_status load_file(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *note, fsc_error *err)
{
    *out = NULL;
    fsc_ctx dflt = fsc_ctx_default();
    if (!ctx) ctx = &dflt;
    void *buf = NULL;
    size_t len = 0;
    fsc_status st = fsc_read_file(path, ctx->limits.max_file_bytes, &buf, &len, err);
    if (st) return st;
    st = parse_named(path, buf, len, ctx, out, note, err);
    free(buf);
    return st;
}

fsc_status fsc_onnx_load(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    return load_file(path, ctx, out, NULL, err);
}

fsc_status fsc_onnx_load_for_inspection(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *note,
                                        fsc_error *err)
{
    fsc_error scratch;
    return load_file(path, ctx, out, note ? note : &scratch, err);
}
