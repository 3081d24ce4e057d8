/* mil_write.c: the IR -> a spec-8 ML Program (Model protobuf + weight.bin) in
 * the conventions coremltools follows: every op named, parameters bound to
 * const ops written just before their op ("<op>_<param>_0"), constants of >= 10
 * fp16/fp32/uint8/int8 elements in weight.bin, constexpr_* parameters as
 * attributes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/mlpackage/mlp_internal.h"

#define BLOB_MIN_ELEMENTS 10

typedef struct wr {
    const fsc_graph *g;
    fsc_error *err;
    fsc_status st;          /* first failure (allocation) */
    void **allocs;          /* every allocation of the message tree, freed at the end */
    size_t n_allocs, cap_allocs;
    char **names;           /* hash set of used MIL names */
    size_t cap_names;
    char **mil;             /* MIL name of each value */
    bool *emitted;          /* value already defined in the block */
    int *consumers;         /* number of consumers of each value */
    int *plain_consumers;   /* consumers that bind it by name (not constexpr attributes) */
    Mlp_Op **ops;
    size_t n_ops, cap_ops;
    fsc_mlp_blob_writer blobs;
} wr;

/* ---- allocation ---------------------------------------------------------- */

static void *w_alloc(wr *w, size_t n)
{
    if (w->st) return NULL;
    if (w->n_allocs == w->cap_allocs) {
        size_t cap = w->cap_allocs ? 2 * w->cap_allocs : 256;
        void **a = realloc(w->allocs, cap * sizeof *a);
        if (!a) {
            w->st = fsc_fail(w->err, FSC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        w->allocs = a;
        w->cap_allocs = cap;
    }
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        w->st = fsc_fail(w->err, FSC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    w->allocs[w->n_allocs++] = p;
    return p;
}

static char *w_strdup(wr *w, const char *s)
{
    char *d = w_alloc(w, strlen(s) + 1);
    if (d) strcpy(d, s);
    return d;
}

#define NEW(w, T, INIT) new_msg(w, sizeof(T), &(T)INIT)
static void *new_msg(wr *w, size_t n, const void *init)
{
    void *p = w_alloc(w, n);
    if (p) memcpy(p, init, n);
    return p;
}

/* ---- names ----------------------------------------------------------------- */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static bool name_used(const wr *w, const char *s)
{
    for (size_t i = hash(s) & (w->cap_names - 1);; i = (i + 1) & (w->cap_names - 1)) {
        if (!w->names[i]) return false;
        if (!strcmp(w->names[i], s)) return true;
    }
}

/* Reserves a unique MIL identifier derived from want (sanitized, suffixed on collision). */
static char *unique_name(wr *w, const char *want, bool force_suffix)
{
    size_t n = strlen(want);
    char *base = w_alloc(w, n + 2), *out = w_alloc(w, n + 24);
    if (!out) return NULL;
    size_t k = 0;
    if (!n || (want[0] >= '0' && want[0] <= '9')) base[k++] = '_';
    for (size_t i = 0; i < n; i++) {
        char c = want[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        base[k++] = ok ? c : '_';
    }
    base[k] = '\0';
    if (force_suffix) snprintf(out, n + 24, "%s_0", base);
    else strcpy(out, base);
    for (int i = 1; name_used(w, out); i++) snprintf(out, n + 24, "%s_%d", base, i);
    size_t at = hash(out) & (w->cap_names - 1);
    while (w->names[at]) at = (at + 1) & (w->cap_names - 1);
    w->names[at] = out;
    return out;
}

/* ---- message builders -------------------------------------------------------- */

static Mlp_ValueType *tensor_type(wr *w, int mil, const fsc_shape *s)
{
    Mlp_ValueType *vt = NEW(w, Mlp_ValueType, CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__INIT);
    Mlp_TensorType *tt = NEW(w, Mlp_TensorType, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_TYPE__INIT);
    int rank = s ? s->rank : 0;
    Mlp_Dim **dims = w_alloc(w, (size_t)rank * sizeof *dims);
    if (!vt || !tt || !dims) return NULL;
    tt->datatype = mil;
    tt->rank = rank;
    tt->n_dimensions = (size_t)rank;
    tt->dimensions = dims;
    for (int i = 0; i < rank; i++) {
        Mlp_Dim *d = NEW(w, Mlp_Dim, CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__INIT);
        Mlp_ConstDim *c = NEW(w, Mlp_ConstDim, CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__CONSTANT_DIMENSION__INIT);
        if (!d || !c) return NULL;
        c->size = (uint64_t)s->dim[i];
        d->dimension_case = CORE_ML__SPECIFICATION__MILSPEC__DIMENSION__DIMENSION_CONSTANT;
        d->constant = c;
        dims[i] = d;
    }
    vt->type_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE_TYPE__TYPE_TENSOR_TYPE;
    vt->tensortype = tt;
    return vt;
}

static Mlp_NamedType *named_type(wr *w, const char *name, int mil, const fsc_shape *s)
{
    Mlp_NamedType *nt = NEW(w, Mlp_NamedType, CORE_ML__SPECIFICATION__MILSPEC__NAMED_VALUE_TYPE__INIT);
    if (!nt) return NULL;
    nt->name = w_strdup(w, name);
    nt->type = tensor_type(w, mil, s);
    return nt;
}

static Mlp_Value *immediate(wr *w, int mil, const fsc_shape *s, Mlp_TensorValue **tv)
{
    Mlp_Value *v = NEW(w, Mlp_Value, CORE_ML__SPECIFICATION__MILSPEC__VALUE__INIT);
    Mlp_Immediate *im = NEW(w, Mlp_Immediate, CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__INIT);
    *tv = NEW(w, Mlp_TensorValue, CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__INIT);
    if (!v || !im || !*tv) return NULL;
    v->type = tensor_type(w, mil, s);
    v->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_IMMEDIATE_VALUE;
    v->immediatevalue = im;
    im->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__IMMEDIATE_VALUE__VALUE_TENSOR;
    im->tensor = *tv;
    return v;
}

static Mlp_Value *string_value(wr *w, const char *s, size_t len)
{
    Mlp_TensorValue *tv;
    Mlp_Value *v = immediate(w, MLP_STRING, NULL, &tv);
    CoreML__Specification__MILSpec__TensorValue__RepeatedStrings *rs =
        NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedStrings,
            CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_STRINGS__INIT);
    char **arr = w_alloc(w, sizeof *arr);
    char *str = w_alloc(w, len + 1);
    if (!v || !rs || !arr || !str) return NULL;
    memcpy(str, s, len);
    str[len] = '\0';
    arr[0] = str;
    rs->n_values = 1;
    rs->values = arr;
    tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_STRINGS;
    tv->strings = rs;
    return v;
}

/* The Value of a constant tensor of value dtype dt (blob for >= 10 elements of fp16/fp32/uint8/int8). */
static Mlp_Value *tensor_value(wr *w, fsc_dtype dt, const fsc_tensor *t)
{
    if (dt == FSC_DT_STRING) return string_value(w, t->data, t->nbytes);
    int mil = fsc_mlp_dtype_to_mil(dt);
    if (!mil) {
        if (!w->st) w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "constants of dtype %s cannot be written", fsc_dtype_name(dt));
        return NULL;
    }
    int64_t n = fsc_tensor_numel(t);
    size_t esz = fsc_dtype_size(dt);
    uint8_t *raw = NULL;
    if (dt == FSC_DT_F16 || dt == FSC_DT_I8 || dt == FSC_DT_U8 || dt == FSC_DT_F32) {
        raw = w_alloc(w, (size_t)n * esz);
        if (!raw) return NULL;
        for (int64_t i = 0; i < n; i++) {
            double x = fsc_tensor_get(t, i);
            if (dt == FSC_DT_F16) {
                uint16_t h = fsc_mlp_float_to_half((float)x);
                raw[2 * i] = (uint8_t)h;
                raw[2 * i + 1] = (uint8_t)(h >> 8);
            } else if (dt == FSC_DT_F32) {
                float f = (float)x;
                memcpy(raw + 4 * i, &f, 4);
            } else if (dt == FSC_DT_I8) {
                ((int8_t *)raw)[i] = (int8_t)x;
            } else {
                raw[i] = (uint8_t)x;
            }
        }
    }
    if (raw && n >= BLOB_MIN_ELEMENTS) {
        uint64_t off;
        if (!w->st) w->st = fsc_mlp_blob_append(&w->blobs, fsc_mlp_blob_dtype(dt), raw, (size_t)n * esz, &off, w->err);
        Mlp_Value *v = NEW(w, Mlp_Value, CORE_ML__SPECIFICATION__MILSPEC__VALUE__INIT);
        Mlp_BlobValue *b = NEW(w, Mlp_BlobValue, CORE_ML__SPECIFICATION__MILSPEC__VALUE__BLOB_FILE_VALUE__INIT);
        if (!v || !b) return NULL;
        b->filename = w_strdup(w, MLP_WEIGHT_REF);
        b->offset = off;
        v->type = tensor_type(w, mil, &t->shape);
        v->value_case = CORE_ML__SPECIFICATION__MILSPEC__VALUE__VALUE_BLOB_FILE_VALUE;
        v->blobfilevalue = b;
        return v;
    }
    Mlp_TensorValue *tv;
    Mlp_Value *v = immediate(w, mil, &t->shape, &tv);
    if (!v) return NULL;
    if (dt == FSC_DT_F16 || dt == FSC_DT_I8 || dt == FSC_DT_U8) {
        CoreML__Specification__MILSpec__TensorValue__RepeatedBytes *rb =
            NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedBytes,
                CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_BYTES__INIT);
        if (!rb) return NULL;
        rb->values.data = raw;
        rb->values.len = (size_t)n * esz;
        tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BYTES;
        tv->bytes = rb;
    } else if (dt == FSC_DT_F32) {
        CoreML__Specification__MILSpec__TensorValue__RepeatedFloats *rf =
            NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedFloats,
                CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_FLOATS__INIT);
        if (!rf) return NULL;
        rf->n_values = (size_t)n;
        rf->values = (float *)raw;
        tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_FLOATS;
        tv->floats = rf;
    } else if (dt == FSC_DT_I32) {
        CoreML__Specification__MILSpec__TensorValue__RepeatedInts *ri =
            NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedInts,
                CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_INTS__INIT);
        int32_t *vals = w_alloc(w, (size_t)n * 4);
        if (!ri || !vals) return NULL;
        for (int64_t i = 0; i < n; i++) vals[i] = (int32_t)fsc_tensor_get(t, i);
        ri->n_values = (size_t)n;
        ri->values = vals;
        tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_INTS;
        tv->ints = ri;
    } else if (dt == FSC_DT_I64) {
        CoreML__Specification__MILSpec__TensorValue__RepeatedLongInts *rl =
            NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedLongInts,
                CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_LONG_INTS__INIT);
        int64_t *vals = w_alloc(w, (size_t)n * 8);
        if (!rl || !vals) return NULL;
        for (int64_t i = 0; i < n; i++) vals[i] = (int64_t)fsc_tensor_get(t, i);
        rl->n_values = (size_t)n;
        rl->values = vals;
        tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_LONG_INTS;
        tv->longints = rl;
    } else if (dt == FSC_DT_BOOL) {
        CoreML__Specification__MILSpec__TensorValue__RepeatedBools *rb =
            NEW(w, CoreML__Specification__MILSpec__TensorValue__RepeatedBools,
                CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__REPEATED_BOOLS__INIT);
        protobuf_c_boolean *vals = w_alloc(w, (size_t)n * sizeof *vals);
        if (!rb || !vals) return NULL;
        for (int64_t i = 0; i < n; i++) vals[i] = fsc_tensor_get(t, i) != 0;
        rb->n_values = (size_t)n;
        rb->values = vals;
        tv->value_case = CORE_ML__SPECIFICATION__MILSPEC__TENSOR_VALUE__VALUE_BOOLS;
        tv->bools = rb;
    }
    return v;
}

/* ---- ops ------------------------------------------------------------------ */

#define MAX_OP_INPUTS 12
#define MAX_OP_ATTRS 6

static Mlp_Op *new_op(wr *w, const char *type, const char *name)
{
    Mlp_Op *op = NEW(w, Mlp_Op, CORE_ML__SPECIFICATION__MILSPEC__OPERATION__INIT);
    Mlp_InputsEntry **ins = w_alloc(w, MAX_OP_INPUTS * sizeof *ins);
    Mlp_AttrEntry **attrs = w_alloc(w, MAX_OP_ATTRS * sizeof *attrs);
    Mlp_NamedType **outs = w_alloc(w, sizeof *outs);
    if (!op || !ins || !attrs || !outs) return NULL;
    op->type = w_strdup(w, type);
    op->inputs = ins;
    op->attributes = attrs;
    op->outputs = outs;
    Mlp_AttrEntry *a = NEW(w, Mlp_AttrEntry, CORE_ML__SPECIFICATION__MILSPEC__ATTRIBUTES_ENTRY__INIT);
    if (!a) return NULL;
    a->key = w_strdup(w, "name");
    a->value = string_value(w, name, strlen(name));
    attrs[op->n_attributes++] = a;
    return op;
}

/* Appends a finished op to the block (after the const ops its binding wrote). */
static void push_op(wr *w, Mlp_Op *op)
{
    if (!op || w->st) return;
    if (w->n_ops == w->cap_ops) {
        w->st = fsc_fail(w->err, FSC_ERR_INTERNAL, "op list overflow");
        return;
    }
    w->ops[w->n_ops++] = op;
}

static void op_attr(wr *w, Mlp_Op *op, const char *key, Mlp_Value *v)
{
    if (!op || !v) return;
    Mlp_AttrEntry *a = NEW(w, Mlp_AttrEntry, CORE_ML__SPECIFICATION__MILSPEC__ATTRIBUTES_ENTRY__INIT);
    if (!a) return;
    a->key = w_strdup(w, key);
    a->value = v;
    op->attributes[op->n_attributes++] = a;
}

static void op_output(wr *w, Mlp_Op *op, int vid)
{
    if (!op) return;
    const fsc_value *v = &w->g->values[vid];
    int mil = fsc_mlp_dtype_to_mil(v->dtype);
    if (!mil && !w->st)
        w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "value '%s' has dtype %s, which Core ML cannot hold", v->name,
                         fsc_dtype_name(v->dtype));
    op->outputs[0] = named_type(w, w->mil[vid], mil, v->dtype == FSC_DT_STRING ? NULL : &v->shape);
    op->n_outputs = 1;
    w->emitted[vid] = true;
}

static void bind_names(wr *w, Mlp_Op *op, const char *key, const char *const *names, int n)
{
    if (!op) return;
    Mlp_InputsEntry *e = NEW(w, Mlp_InputsEntry, CORE_ML__SPECIFICATION__MILSPEC__INPUTS_ENTRY__INIT);
    Mlp_Argument *a = NEW(w, Mlp_Argument, CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__INIT);
    Mlp_Binding **bs = w_alloc(w, (size_t)n * sizeof *bs);
    if (!e || !a || !bs) return;
    for (int i = 0; i < n; i++) {
        Mlp_Binding *b = NEW(w, Mlp_Binding, CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__INIT);
        if (!b) return;
        b->binding_case = CORE_ML__SPECIFICATION__MILSPEC__ARGUMENT__BINDING__BINDING_NAME;
        b->name = w_strdup(w, names[i]);
        bs[i] = b;
    }
    a->n_arguments = (size_t)n;
    a->arguments = bs;
    e->key = w_strdup(w, key);
    e->value = a;
    if (op->n_inputs == MAX_OP_INPUTS) {
        if (!w->st) w->st = fsc_fail(w->err, FSC_ERR_INTERNAL, "too many op inputs");
        return;
    }
    op->inputs[op->n_inputs++] = e;
}

static bool constexpr_dequant(const fsc_graph *g, const fsc_node *nd);

/* Writes the const op defining value vid (a graph constant) if not yet written. */
static void emit_value_const(wr *w, int vid, const char *op_name)
{
    if (w->emitted[vid] || w->st) return;
    const fsc_value *v = &w->g->values[vid];
    Mlp_Op *op = new_op(w, "const", op_name ? op_name : w->mil[vid]);
    op_attr(w, op, "val", tensor_value(w, v->dtype, v->constant));
    op_output(w, op, vid);
    push_op(w, op);
}

/* Binds graph value vid to input key, writing a const op first for an initializer. */
static void bind_value(wr *w, Mlp_Op *op, const char *key, int vid)
{
    if (vid < 0 || !op) return;
    const fsc_value *v = &w->g->values[vid];
    if (!w->emitted[vid]) {
        if (v->constant) emit_value_const(w, vid, NULL);
        else if (!w->st) w->st = fsc_fail(w->err, FSC_ERR_INTERNAL, "value '%s' used before it is defined", v->name);
    }
    const char *nm = w->mil[vid];
    bind_names(w, op, key, &nm, 1);
}

static bool tensors_equal(const fsc_tensor *a, const fsc_tensor *b)
{
    return a->dtype == b->dtype && fsc_shape_equal(&a->shape, &b->shape) && a->nbytes == b->nbytes &&
           (!a->nbytes || !memcmp(a->data, b->data, a->nbytes));
}

/* Binds parameter key of the op whose output is named base to a const holding t
 * (value dtype dt). An existing unconsumed graph constant named "<base>_<key>_0"
 * with the same contents is reused (that is how read programs keep their consts);
 * otherwise a new const op is written. Takes ownership of t. */
static void param(wr *w, Mlp_Op *op, const char *base, const char *key, fsc_dtype dt, fsc_tensor *t)
{
    if (!op || w->st) {
        fsc_tensor_free(t);
        return;
    }
    size_t n = strlen(base) + strlen(key) + 8;
    char *want = w_alloc(w, n);
    if (!want) {
        fsc_tensor_free(t);
        return;
    }
    snprintf(want, n, "%s_%s_0", base, key);
    int id = fsc_graph_find(w->g, want);
    const fsc_value *v = id >= 0 ? &w->g->values[id] : NULL;
    if (v && v->constant && v->producer >= 0 && w->g->nodes[v->producer].op == FSC_OP_CONSTANT &&
        w->consumers[id] == 0 && v->dtype == dt && tensors_equal(v->constant, t)) {
        emit_value_const(w, id, w->g->nodes[v->producer].name);
        const char *nm = w->mil[id];
        bind_names(w, op, key, &nm, 1);
        fsc_tensor_free(t);
        return;
    }
    snprintf(want, n, "%s_%s", base, key);
    char *nm = unique_name(w, want, true);
    Mlp_Op *c = new_op(w, "const", nm ? nm : "");
    op_attr(w, c, "val", tensor_value(w, dt, t));
    if (c) {
        c->outputs[0] = named_type(w, nm, fsc_mlp_dtype_to_mil(dt), dt == FSC_DT_STRING ? NULL : &t->shape);
        c->n_outputs = 1;
    }
    push_op(w, c);
    fsc_tensor_free(t);
    const char *cn = nm;
    bind_names(w, op, key, &cn, 1);
}

static void param_ints(wr *w, Mlp_Op *op, const char *base, const char *key, const int64_t *v, int n, bool scalar)
{
    fsc_tensor t;
    int64_t d = n;
    fsc_shape s = scalar ? fsc_shape_make(0, NULL) : fsc_shape_make(1, &d);
    if (!w->st && !(w->st = fsc_tensor_alloc(&t, FSC_DT_I32, &s, 0, w->err))) {
        for (int i = 0; i < n; i++) fsc_tensor_set(&t, i, (double)v[i]);
        param(w, op, base, key, FSC_DT_I32, &t);
    }
}

static void param_bool(wr *w, Mlp_Op *op, const char *base, const char *key, bool b)
{
    fsc_tensor t;
    fsc_shape s = fsc_shape_make(0, NULL);
    if (!w->st && !(w->st = fsc_tensor_alloc(&t, FSC_DT_BOOL, &s, 0, w->err))) {
        fsc_tensor_set(&t, 0, b ? 1 : 0);
        param(w, op, base, key, FSC_DT_BOOL, &t);
    }
}

static void param_bools(wr *w, Mlp_Op *op, const char *base, const char *key, const bool *b, int n)
{
    fsc_tensor t;
    int64_t d = n;
    fsc_shape s = fsc_shape_make(1, &d);
    if (!w->st && !(w->st = fsc_tensor_alloc(&t, FSC_DT_BOOL, &s, 0, w->err))) {
        for (int i = 0; i < n; i++) fsc_tensor_set(&t, i, b[i] ? 1 : 0);
        param(w, op, base, key, FSC_DT_BOOL, &t);
    }
}

static void param_string(wr *w, Mlp_Op *op, const char *base, const char *key, const char *str)
{
    fsc_tensor t;
    int64_t len = (int64_t)strlen(str);
    fsc_shape s = fsc_shape_make(1, &len);
    if (!w->st && !(w->st = fsc_tensor_alloc(&t, FSC_DT_U8, &s, 0, w->err))) {
        if (len) memcpy(t.data, str, (size_t)len);
        param(w, op, base, key, FSC_DT_STRING, &t);
    }
}

/* A scalar of value dtype dt (fp16 values rounded to fp16). */
static void param_float(wr *w, Mlp_Op *op, const char *base, const char *key, fsc_dtype dt, double v)
{
    fsc_tensor t;
    fsc_shape s = fsc_shape_make(0, NULL);
    if (dt != FSC_DT_F16 && dt != FSC_DT_F32) dt = FSC_DT_F32;
    if (!w->st && !(w->st = fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, w->err))) {
        if (dt == FSC_DT_F16) {
            t.fmt = FSC_FMT_FP16;
            v = fsc_rne(v, FSC_FMT_FP16);
        }
        fsc_tensor_set(&t, 0, v);
        param(w, op, base, key, dt, &t);
    }
}

static const char *mil_dtype_string(fsc_dtype dt)
{
    switch (dt) {
    case FSC_DT_F16: return "fp16";
    case FSC_DT_F32: return "fp32";
    case FSC_DT_I32: return "int32";
    case FSC_DT_I8: return "int8";
    case FSC_DT_U8: return "uint8";
    case FSC_DT_BOOL: return "bool";
    case FSC_DT_I64: return "int64";
    default: return NULL;
    }
}

/* A DEQUANTIZE of constant integer data is a weight dequantization: constexpr_affine_dequantize. */
static bool constexpr_dequant(const fsc_graph *g, const fsc_node *nd)
{
    if (nd->op != FSC_OP_DEQUANTIZE) return false;
    if (!strncmp(nd->op_type ? nd->op_type : "", "constexpr_", 10)) return true;
    if (nd->n_in < 2 || nd->in[0] < 0 || nd->in[1] < 0) return false;
    return fsc_graph_is_const(g, nd->in[0]) && fsc_graph_is_const(g, nd->in[1]) &&
           (nd->n_in < 3 || nd->in[2] < 0 || fsc_graph_is_const(g, nd->in[2]));
}

/* True when input k of a quantize/dequantize is a shared constant scale or zero point: coremltools
 * gives every quantize and dequantize its own const ops, so such a constant is written once per op. */
static bool own_qparam(const wr *w, const fsc_node *nd, int k)
{
    if (nd->op != FSC_OP_QUANTIZE && nd->op != FSC_OP_DEQUANTIZE) return false;
    int v = k >= 1 && k < nd->n_in ? nd->in[k] : -1;
    return v >= 0 && w->g->values[v].constant && w->consumers[v] > 1;
}

/* Binds quantize/dequantize parameter key (input k): a copy of a shared constant, or the value itself. */
static void bind_qparam(wr *w, Mlp_Op *op, const fsc_node *nd, int k, const char *base, const char *key)
{
    if (!own_qparam(w, nd, k)) {
        bind_value(w, op, key, nd->in[k]);
        return;
    }
    const fsc_value *v = &w->g->values[nd->in[k]];
    fsc_tensor t;
    if (!w->st && !(w->st = fsc_tensor_clone(&t, v->constant, w->err))) param(w, op, base, key, v->dtype, &t);
}

static void write_constexpr(wr *w, const fsc_node *nd, const char *name)
{
    const fsc_graph *g = w->g;
    const fsc_value *q = &g->values[nd->in[0]], *s = &g->values[nd->in[1]];
    const fsc_value *z = nd->n_in > 2 && nd->in[2] >= 0 ? &g->values[nd->in[2]] : NULL;
    if (q->dtype != FSC_DT_I8 && q->dtype != FSC_DT_U8) {
        w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "weight dequantization of %s data (int8/uint8 supported)",
                         fsc_dtype_name(q->dtype));
        return;
    }
    Mlp_Op *op = new_op(w, "constexpr_affine_dequantize", name);
    fsc_tensor axis, zeros;
    fsc_shape s0 = fsc_shape_make(0, NULL);
    if ((w->st = fsc_tensor_alloc(&axis, FSC_DT_I32, &s0, 0, w->err))) return;
    fsc_tensor_set(&axis, 0, (double)nd->attr.quant.axis);
    op_attr(w, op, "axis", tensor_value(w, FSC_DT_I32, &axis));
    fsc_tensor_free(&axis);
    op_attr(w, op, "quantized_data", tensor_value(w, q->dtype, q->constant));
    op_attr(w, op, "scale", tensor_value(w, s->dtype, s->constant));
    if (z) {
        op_attr(w, op, "zero_point", tensor_value(w, z->dtype, z->constant));
    } else if (!w->st && !(w->st = fsc_tensor_alloc(&zeros, q->dtype, &s->shape, 0, w->err))) {
        op_attr(w, op, "zero_point", tensor_value(w, q->dtype, &zeros));
        fsc_tensor_free(&zeros);
    }
    op_output(w, op, nd->out[0]);
    push_op(w, op);
}

static void write_node(wr *w, int ni)
{
    const fsc_graph *g = w->g;
    const fsc_node *nd = &g->nodes[ni];
    const char *name = nd->name && nd->name[0] ? nd->name : g->values[nd->out[0]].name;
    const char *base = w->mil[nd->out[0]];
    if (nd->op == FSC_OP_CONSTANT) {
        int v = nd->out[0];
        /* Constants only read by constexpr ops become those ops' attributes. */
        if (w->consumers[v] > 0 && w->plain_consumers[v] == 0 && !g->values[v].is_output) return;
        emit_value_const(w, v, name);
        return;
    }
    if (nd->n_out != 1) {
        w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "%d outputs (one supported)", nd->n_out);
        return;
    }
    Mlp_Op *op = NULL;
    const int *in = nd->in;
    switch (nd->op) {
    case FSC_OP_CONV2D: {
        const fsc_attr_conv *c = &nd->attr.conv;
        op = new_op(w, "conv", name);
        bind_value(w, op, "x", in[0]);
        bind_value(w, op, "weight", in[1]);
        if (nd->n_in > 2 && in[2] >= 0) bind_value(w, op, "bias", in[2]);
        int64_t pad[4] = {c->pad[0], c->pad[2], c->pad[1], c->pad[3]};
        param_string(w, op, base, "pad_type", "custom");
        param_ints(w, op, base, "strides", c->stride, 2, false);
        param_ints(w, op, base, "pad", pad, 4, false);
        param_ints(w, op, base, "dilations", c->dilation, 2, false);
        param_ints(w, op, base, "groups", &c->group, 1, true);
        break;
    }
    case FSC_OP_AVGPOOL:
    case FSC_OP_MAXPOOL: {
        const fsc_attr_pool *p = &nd->attr.pool;
        if (p->dilation[0] != 1 || p->dilation[1] != 1) {
            w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "pooling with dilation");
            return;
        }
        op = new_op(w, nd->op == FSC_OP_AVGPOOL ? "avg_pool" : "max_pool", name);
        bind_value(w, op, "x", in[0]);
        int64_t pad[4] = {p->pad[0], p->pad[2], p->pad[1], p->pad[3]};
        param_ints(w, op, base, "kernel_sizes", p->kernel, 2, false);
        param_ints(w, op, base, "strides", p->stride, 2, false);
        param_string(w, op, base, "pad_type", "custom");
        param_ints(w, op, base, "pad", pad, 4, false);
        if (nd->op == FSC_OP_AVGPOOL)
            param_bool(w, op, base, "exclude_padding_from_average", !p->count_include_pad);
        param_bool(w, op, base, "ceil_mode", p->ceil_mode);
        break;
    }
    case FSC_OP_GEMM: {
        const fsc_attr_gemm *a = &nd->attr.gemm;
        if (!a->trans_b || a->trans_a || a->alpha != 1.0 || (a->beta != 1.0 && nd->n_in > 2 && in[2] >= 0)) {
            w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED,
                             "only Gemm with transB=1, transA=0, alpha=beta=1 maps to Core ML linear");
            return;
        }
        op = new_op(w, "linear", name);
        bind_value(w, op, "x", in[0]);
        bind_value(w, op, "weight", in[1]);
        if (nd->n_in > 2 && in[2] >= 0) bind_value(w, op, "bias", in[2]);
        break;
    }
    case FSC_OP_MATMUL:
        op = new_op(w, "matmul", name);
        bind_value(w, op, "x", in[0]);
        bind_value(w, op, "y", in[1]);
        param_bool(w, op, base, "transpose_x", false);
        param_bool(w, op, base, "transpose_y", false);
        break;
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: {
        const char *t = nd->op == FSC_OP_ADD ? "add" : nd->op == FSC_OP_SUB ? "sub" : nd->op == FSC_OP_MUL ? "mul" : "real_div";
        op = new_op(w, t, name);
        bind_value(w, op, "x", in[0]);
        bind_value(w, op, "y", in[1]);
        break;
    }
    case FSC_OP_RELU: case FSC_OP_SIGMOID: case FSC_OP_SILU: case FSC_OP_TANH: {
        const char *t = nd->op == FSC_OP_RELU ? "relu" : nd->op == FSC_OP_SIGMOID ? "sigmoid" : nd->op == FSC_OP_SILU ? "silu" : "tanh";
        op = new_op(w, t, name);
        bind_value(w, op, "x", in[0]);
        break;
    }
    case FSC_OP_IDENTITY: case FSC_OP_SQRT: case FSC_OP_ERF: {
        const char *t = nd->op == FSC_OP_IDENTITY ? "identity" : nd->op == FSC_OP_SQRT ? "sqrt" : "erf";
        op = new_op(w, t, name);
        bind_value(w, op, "x", in[0]);
        break;
    }
    case FSC_OP_POW:
        op = new_op(w, "pow", name);
        bind_value(w, op, "x", in[0]);
        bind_value(w, op, "y", in[1]);
        break;
    case FSC_OP_CLIP: {
        fsc_dtype dt = g->values[in[0]].dtype;
        op = new_op(w, "clip", name);
        bind_value(w, op, "x", in[0]);
        param_float(w, op, base, "alpha", dt, nd->attr.clip.lo);
        param_float(w, op, base, "beta", dt, nd->attr.clip.hi);
        break;
    }
    case FSC_OP_BATCHNORM:
        op = new_op(w, "batch_norm", name);
        bind_value(w, op, "x", in[0]);
        bind_value(w, op, "mean", in[3]);
        bind_value(w, op, "variance", in[4]);
        bind_value(w, op, "gamma", in[1]);
        bind_value(w, op, "beta", in[2]);
        param_float(w, op, base, "epsilon", g->values[in[0]].dtype, nd->attr.norm.epsilon);
        break;
    case FSC_OP_LAYERNORM: {
        int rank = g->values[in[0]].shape.rank;
        int64_t first = nd->attr.norm.axis < 0 ? nd->attr.norm.axis + rank : nd->attr.norm.axis, axes[FSC_MAX_RANK];
        for (int i = 0; i < rank - first; i++) axes[i] = first + i;
        op = new_op(w, "layer_norm", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "axes", axes, (int)(rank - first), false);
        bind_value(w, op, "gamma", in[1]);
        if (nd->n_in > 2 && in[2] >= 0) bind_value(w, op, "beta", in[2]);
        param_float(w, op, base, "epsilon", g->values[in[0]].dtype, nd->attr.norm.epsilon);
        break;
    }
    case FSC_OP_PAD: {
        int rank = g->values[in[0]].shape.rank;
        int64_t pads[2 * FSC_MAX_RANK];
        for (int i = 0; i < rank; i++) {
            pads[2 * i] = nd->attr.pad.pads[i];
            pads[2 * i + 1] = nd->attr.pad.pads[rank + i];
        }
        op = new_op(w, "pad", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "pad", pads, 2 * rank, false);
        param_string(w, op, base, "mode", "constant");
        param_float(w, op, base, "constant_val", g->values[in[0]].dtype, nd->attr.pad.value);
        break;
    }
    case FSC_OP_SLICE: {
        const fsc_shape *xs = &g->values[in[0]].shape, *os = &g->values[nd->out[0]].shape;
        int64_t b[FSC_MAX_RANK], e[FSC_MAX_RANK], st[FSC_MAX_RANK];
        bool bm[FSC_MAX_RANK], em[FSC_MAX_RANK], sq[FSC_MAX_RANK];
        for (int i = 0; i < xs->rank; i++) {
            int64_t s1 = nd->attr.slice.step[i], n = os->dim[i], start = nd->attr.slice.start[i];
            st[i] = s1;
            b[i] = start;
            e[i] = start + n * s1; /* exclusive */
            bm[i] = sq[i] = false;
            em[i] = false;
            if (s1 > 0 && e[i] > xs->dim[i]) e[i] = xs->dim[i];
            if (s1 < 0 && e[i] < 0) { /* runs to the start of the axis: -1 would mean "the last" */
                e[i] = 0;
                em[i] = true;
            }
            if (n == 0) { /* an empty range */
                b[i] = 0;
                e[i] = 0;
                st[i] = 1;
            }
        }
        op = new_op(w, "slice_by_index", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "begin", b, xs->rank, false);
        param_ints(w, op, base, "end", e, xs->rank, false);
        param_ints(w, op, base, "stride", st, xs->rank, false);
        param_bools(w, op, base, "begin_mask", bm, xs->rank);
        param_bools(w, op, base, "end_mask", em, xs->rank);
        param_bools(w, op, base, "squeeze_mask", sq, xs->rank);
        break;
    }
    case FSC_OP_GATHER:
        op = new_op(w, "gather", name);
        bind_value(w, op, "x", in[0]);
        bind_value(w, op, "indices", in[1]);
        param_ints(w, op, base, "axis", &nd->attr.axis.axis, 1, true);
        break;
    case FSC_OP_GELU:
        op = new_op(w, "gelu", name);
        bind_value(w, op, "x", in[0]);
        param_string(w, op, base, "mode", nd->attr.gelu.tanh_approx ? "TANH_APPROXIMATION" : "EXACT");
        break;
    case FSC_OP_SOFTMAX:
        op = new_op(w, "softmax", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "axis", &nd->attr.axis.axis, 1, true);
        break;
    case FSC_OP_REDUCE_MEAN: {
        const fsc_attr_axes *a = &nd->attr.axes;
        int64_t all[FSC_MAX_RANK];
        int n = a->naxes;
        const int64_t *axes = a->axes;
        if (n == 0) { /* IR: all axes */
            n = g->values[in[0]].shape.rank;
            for (int i = 0; i < n; i++) all[i] = i;
            axes = all;
        }
        op = new_op(w, "reduce_mean", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "axes", axes, n, false);
        param_bool(w, op, base, "keep_dims", a->keepdims);
        break;
    }
    case FSC_OP_GLOBAL_AVGPOOL: {
        int64_t axes[2] = {-2, -1};
        op = new_op(w, "reduce_mean", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "axes", axes, 2, false);
        param_bool(w, op, base, "keep_dims", true);
        break;
    }
    case FSC_OP_RESHAPE: {
        const fsc_shape *os = &g->values[nd->out[0]].shape;
        op = new_op(w, "reshape", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "shape", os->dim, os->rank, false);
        break;
    }
    case FSC_OP_TRANSPOSE: {
        int rank = g->values[in[0]].shape.rank;
        int64_t perm[FSC_MAX_RANK];
        for (int i = 0; i < rank; i++) perm[i] = nd->attr.transpose.perm[i];
        op = new_op(w, "transpose", name);
        bind_value(w, op, "x", in[0]);
        param_ints(w, op, base, "perm", perm, rank, false);
        break;
    }
    case FSC_OP_CONCAT: {
        op = new_op(w, "concat", name);
        const char **names = w_alloc(w, (size_t)nd->n_in * sizeof *names);
        if (!names) return;
        for (int i = 0; i < nd->n_in; i++) {
            if (!w->emitted[in[i]] && g->values[in[i]].constant) emit_value_const(w, in[i], NULL);
            names[i] = w->mil[in[i]];
        }
        bind_names(w, op, "values", names, nd->n_in);
        param_ints(w, op, base, "axis", &nd->attr.axis.axis, 1, true);
        param_bool(w, op, base, "interleave", false);
        break;
    }
    case FSC_OP_CAST: {
        const char *s = mil_dtype_string(nd->attr.cast.to);
        if (!s) {
            w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "cast to %s", fsc_dtype_name(nd->attr.cast.to));
            return;
        }
        op = new_op(w, "cast", name);
        bind_value(w, op, "x", in[0]);
        param_string(w, op, base, "dtype", s);
        break;
    }
    case FSC_OP_QUANTIZE:
    case FSC_OP_DEQUANTIZE: {
        if (constexpr_dequant(g, nd)) {
            write_constexpr(w, nd, name);
            return;
        }
        bool q = nd->op == FSC_OP_QUANTIZE;
        op = new_op(w, q ? "quantize" : "dequantize", name);
        bind_value(w, op, "input", in[0]);
        if (nd->n_in > 2 && in[2] >= 0) bind_qparam(w, op, nd, 2, base, "zero_point");
        bind_qparam(w, op, nd, 1, base, "scale");
        if (g->values[in[1]].shape.rank > 0) /* a per-axis scale */
            param_ints(w, op, base, "axis", &nd->attr.quant.axis, 1, true);
        if (q) {
            const char *s = mil_dtype_string(nd->attr.quant.out_dtype);
            param_string(w, op, base, "output_dtype", s ? s : "int8");
        }
        break;
    }
    default:
        w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "op %s has no Core ML counterpart in the writer", fsc_op_name(nd->op));
        return;
    }
    op_output(w, op, nd->out[0]);
    push_op(w, op);
}

/* ---- model ------------------------------------------------------------------ */

static Mlp_Feature *feature(wr *w, int vid)
{
    const fsc_value *v = &w->g->values[vid];
    int arr = v->dtype == FSC_DT_F16 ? MLP_ARR_FLOAT16 : v->dtype == FSC_DT_F32 ? MLP_ARR_FLOAT32
            : v->dtype == FSC_DT_I32 ? MLP_ARR_INT32 : v->dtype == FSC_DT_F64 ? MLP_ARR_DOUBLE
            : v->dtype == FSC_DT_I8 ? MLP_ARR_INT8 : 0;
    if (!arr) {
        if (!w->st)
            w->st = fsc_fail(w->err, FSC_ERR_UNSUPPORTED, "model input/output '%s' of dtype %s", v->name,
                             fsc_dtype_name(v->dtype));
        return NULL;
    }
    Mlp_Feature *f = NEW(w, Mlp_Feature, CORE_ML__SPECIFICATION__FEATURE_DESCRIPTION__INIT);
    Mlp_FeatureType *ft = NEW(w, Mlp_FeatureType, CORE_ML__SPECIFICATION__FEATURE_TYPE__INIT);
    Mlp_ArrayType *at = NEW(w, Mlp_ArrayType, CORE_ML__SPECIFICATION__ARRAY_FEATURE_TYPE__INIT);
    int64_t *shape = w_alloc(w, (size_t)v->shape.rank * sizeof *shape);
    if (!f || !ft || !at || !shape) return NULL;
    for (int i = 0; i < v->shape.rank; i++) shape[i] = v->shape.dim[i];
    at->n_shape = (size_t)v->shape.rank;
    at->shape = shape;
    at->datatype = arr;
    ft->type_case = CORE_ML__SPECIFICATION__FEATURE_TYPE__TYPE_MULTI_ARRAY_TYPE;
    ft->multiarraytype = at;
    f->name = w_strdup(w, w->mil[vid]);
    f->type = ft;
    return f;
}

static fsc_status setup(wr *w, const fsc_graph *g, fsc_error *err)
{
    memset(w, 0, sizeof *w);
    w->g = g;
    w->err = err;
    size_t nv = (size_t)g->n_values;
    w->cap_names = 64;
    while (w->cap_names < 4 * (nv + 8 * (size_t)g->n_nodes + 16)) w->cap_names *= 2;
    w->names = calloc(w->cap_names, sizeof *w->names);
    w->mil = calloc(nv + 1, sizeof *w->mil);
    w->emitted = calloc(nv + 1, sizeof *w->emitted);
    w->consumers = calloc(nv + 1, sizeof *w->consumers);
    w->plain_consumers = calloc(nv + 1, sizeof *w->plain_consumers);
    w->cap_ops = 8 * (size_t)g->n_nodes + nv + 16;
    w->ops = calloc(w->cap_ops, sizeof *w->ops);
    if (!w->names || !w->mil || !w->emitted || !w->consumers || !w->plain_consumers || !w->ops)
        return w->st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    fsc_status st = fsc_mlp_blob_writer_init(&w->blobs, err);
    if (st) return w->st = st;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) w->consumers[g->nodes[i].in[k]]++;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *nd = &g->nodes[i];
        if (constexpr_dequant(g, nd)) continue; /* its constants become attributes */
        for (int k = 0; k < nd->n_in; k++)
            if (nd->in[k] >= 0 && !own_qparam(w, nd, k)) w->plain_consumers[nd->in[k]]++;
    }
    for (int v = 0; v < g->n_values && !w->st; v++) w->mil[v] = unique_name(w, g->values[v].name, false);
    for (int i = 0; i < g->n_inputs; i++) w->emitted[g->inputs[i]] = true;
    return w->st;
}

static void teardown(wr *w)
{
    for (size_t i = 0; i < w->n_allocs; i++) free(w->allocs[i]);
    free(w->allocs);
    free(w->names);
    free(w->mil);
    free(w->emitted);
    free(w->consumers);
    free(w->plain_consumers);
    free(w->ops);
    fsc_mlp_blob_writer_free(&w->blobs);
}

static Mlp_Model *build_model(wr *w)
{
    const fsc_graph *g = w->g;
    char label[256];
    for (int i = 0; i < g->n_nodes && !w->st; i++) {
        write_node(w, i);
        if (w->st) fsc_error_prefix(w->err, "%s", fsc_node_label(g, i, label, sizeof label));
    }
    Mlp_Model *m = NEW(w, Mlp_Model, CORE_ML__SPECIFICATION__MODEL__INIT);
    Mlp_ModelDesc *d = NEW(w, Mlp_ModelDesc, CORE_ML__SPECIFICATION__MODEL_DESCRIPTION__INIT);
    Mlp_Program *p = NEW(w, Mlp_Program, CORE_ML__SPECIFICATION__MILSPEC__PROGRAM__INIT);
    Mlp_FunctionsEntry *fe = NEW(w, Mlp_FunctionsEntry, CORE_ML__SPECIFICATION__MILSPEC__FUNCTIONS_ENTRY__INIT);
    Mlp_Function *f = NEW(w, Mlp_Function, CORE_ML__SPECIFICATION__MILSPEC__FUNCTION__INIT);
    Mlp_BlockEntry *be = NEW(w, Mlp_BlockEntry, CORE_ML__SPECIFICATION__MILSPEC__BLOCK_SPECIALIZATIONS_ENTRY__INIT);
    Mlp_Block *b = NEW(w, Mlp_Block, CORE_ML__SPECIFICATION__MILSPEC__BLOCK__INIT);
    Mlp_FunctionsEntry **fes = w_alloc(w, sizeof *fes);
    Mlp_BlockEntry **bes = w_alloc(w, sizeof *bes);
    Mlp_NamedType **fin = w_alloc(w, (size_t)g->n_inputs * sizeof *fin);
    Mlp_Feature **din = w_alloc(w, (size_t)g->n_inputs * sizeof *din);
    Mlp_Feature **dout = w_alloc(w, (size_t)g->n_outputs * sizeof *dout);
    char **bout = w_alloc(w, (size_t)g->n_outputs * sizeof *bout);
    if (w->st) return NULL;
    for (int i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        fin[i] = named_type(w, w->mil[v], fsc_mlp_dtype_to_mil(g->values[v].dtype), &g->values[v].shape);
        din[i] = feature(w, v);
    }
    for (int i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (!w->emitted[v] && g->values[v].constant) emit_value_const(w, v, NULL);
        bout[i] = w->mil[v];
        dout[i] = feature(w, v);
    }
    if (w->st) return NULL;
    b->n_operations = w->n_ops;
    b->operations = w->ops;
    b->n_outputs = (size_t)g->n_outputs;
    b->outputs = bout;
    be->key = w_strdup(w, MLP_OPSET);
    be->value = b;
    bes[0] = be;
    f->n_inputs = (size_t)g->n_inputs;
    f->inputs = fin;
    f->opset = w_strdup(w, MLP_OPSET);
    f->n_block_specializations = 1;
    f->block_specializations = bes;
    fe->key = w_strdup(w, "main");
    fe->value = f;
    fes[0] = fe;
    p->version = 1;
    p->n_functions = 1;
    p->functions = fes;
    d->n_input = (size_t)g->n_inputs;
    d->input = din;
    d->n_output = (size_t)g->n_outputs;
    d->output = dout;
    m->specificationversion = MLP_SPEC_VERSION;
    m->description = d;
    m->type_case = CORE_ML__SPECIFICATION__MODEL__TYPE_ML_PROGRAM;
    m->mlprogram = p;
    return w->st ? NULL : m;
}

fsc_status fsc_mlp_graph_to_model(const fsc_graph *g, uint8_t **model, size_t *model_len, uint8_t **weights,
                                  size_t *weights_len, fsc_error *err)
{
    *model = *weights = NULL;
    *model_len = *weights_len = 0;
    wr w;
    fsc_status st = setup(&w, g, err);
    Mlp_Model *m = st ? NULL : build_model(&w);
    st = w.st;
    if (!st && !m) st = fsc_fail(err, FSC_ERR_INTERNAL, "model not built");
    if (!st) {
        size_t n = core_ml__specification__model__get_packed_size(m);
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf) st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory (%zu bytes)", n);
        else {
            core_ml__specification__model__pack(m, buf);
            *model = buf;
            *model_len = n;
        }
    }
    if (!st && w.blobs.count) {
        *weights = w.blobs.buf; /* handed over */
        *weights_len = w.blobs.len;
        w.blobs.buf = NULL;
    }
    teardown(&w);
    return st;
}
