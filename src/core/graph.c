/* graph.c: building, querying, copying and freeing the graph IR.
 * Shape inference lives in graph_infer.c. */
#include "flipscope/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Open-addressing hash from value name to id, so that loaders of large
 * graphs do not go quadratic in name lookups. */
struct fsc_name_index {
    int *slots; /* value id + 1; 0 = empty */
    int cap;    /* power of two */
};

static const char *op_names[FSC_OP_COUNT] = {
    [FSC_OP_CONSTANT] = "constant", [FSC_OP_IDENTITY] = "identity", [FSC_OP_CONV2D] = "conv2d",
    [FSC_OP_GEMM] = "gemm", [FSC_OP_MATMUL] = "matmul", [FSC_OP_ADD] = "add", [FSC_OP_SUB] = "sub",
    [FSC_OP_MUL] = "mul", [FSC_OP_DIV] = "div", [FSC_OP_POW] = "pow", [FSC_OP_RELU] = "relu",
    [FSC_OP_CLIP] = "clip", [FSC_OP_SIGMOID] = "sigmoid", [FSC_OP_SILU] = "silu", [FSC_OP_TANH] = "tanh",
    [FSC_OP_ERF] = "erf", [FSC_OP_GELU] = "gelu", [FSC_OP_SQRT] = "sqrt", [FSC_OP_SOFTMAX] = "softmax",
    [FSC_OP_LAYERNORM] = "layernorm", [FSC_OP_BATCHNORM] = "batchnorm", [FSC_OP_MAXPOOL] = "maxpool",
    [FSC_OP_AVGPOOL] = "avgpool", [FSC_OP_GLOBAL_AVGPOOL] = "global_avgpool",
    [FSC_OP_REDUCE_MEAN] = "reduce_mean", [FSC_OP_RESHAPE] = "reshape", [FSC_OP_TRANSPOSE] = "transpose",
    [FSC_OP_CONCAT] = "concat", [FSC_OP_PAD] = "pad", [FSC_OP_SLICE] = "slice", [FSC_OP_GATHER] = "gather",
    [FSC_OP_CAST] = "cast", [FSC_OP_QUANTIZE] = "quantize", [FSC_OP_DEQUANTIZE] = "dequantize",
    [FSC_OP_OPAQUE] = "opaque",
};

const char *fsc_op_name(fsc_op op)
{
    if ((int)op < 0 || op >= FSC_OP_COUNT || !op_names[op]) return "unknown";
    return op_names[op];
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int index_lookup(const fsc_graph *g, const char *name)
{
    const struct fsc_name_index *ix = g->index;
    if (!ix || !ix->cap) return -1;
    for (uint64_t i = hash_str(name) & (uint64_t)(ix->cap - 1);; i = (i + 1) & (uint64_t)(ix->cap - 1)) {
        int s = ix->slots[i];
        if (!s) return -1;
        if (strcmp(g->values[s - 1].name, name) == 0) return s - 1;
    }
}

static fsc_status index_insert(fsc_graph *g, int id, fsc_error *err)
{
    struct fsc_name_index *ix = g->index;
    if ((int64_t)(g->n_values + 1) * 2 > ix->cap) {
        int ncap = ix->cap ? ix->cap * 2 : 64;
        while ((int64_t)(g->n_values + 1) * 2 > ncap) ncap *= 2;
        int *ns = fsc_calloc((size_t)ncap, sizeof *ns, "graph name index", err);
        if (!ns) return FSC_ERR_NOMEM;
        free(ix->slots);
        ix->slots = ns;
        ix->cap = ncap;
        for (int v = 0; v < g->n_values; v++)
            if (v != id) {
                uint64_t i = hash_str(g->values[v].name) & (uint64_t)(ncap - 1);
                while (ns[i]) i = (i + 1) & (uint64_t)(ncap - 1);
                ns[i] = v + 1;
            }
    }
    uint64_t i = hash_str(g->values[id].name) & (uint64_t)(ix->cap - 1);
    while (ix->slots[i]) i = (i + 1) & (uint64_t)(ix->cap - 1);
    ix->slots[i] = id + 1;
    return FSC_OK;
}

static char *dup_str(const char *s, fsc_error *err)
{
    size_t n = strlen(s ? s : "");
    char *d = fsc_malloc(n + 1, "a name", err);
    if (d) memcpy(d, s ? s : "", n + 1);
    return d;
}

fsc_graph *fsc_graph_new(const char *name, fsc_error *err)
{
    fsc_graph *g = fsc_calloc(1, sizeof *g, "a graph", err);
    if (!g) return NULL;
    g->index = fsc_calloc(1, sizeof *g->index, "graph name index", err);
    g->name = dup_str(name ? name : "graph", err);
    if (!g->index || !g->name) {
        fsc_graph_free(g);
        return NULL;
    }
    return g;
}

void fsc_graph_free(fsc_graph *g)
{
    if (!g) return;
    free(g->source_path);
    for (int i = 0; i < g->n_values; i++) {
        free(g->values[i].name);
        if (g->values[i].constant) {
            fsc_tensor_free(g->values[i].constant);
            free(g->values[i].constant);
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        free(g->nodes[i].name);
        free(g->nodes[i].op_type);
        free(g->nodes[i].in);
        free(g->nodes[i].out);
    }
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    if (g->index) free(g->index->slots);
    free(g->index);
    free(g->name);
    free(g);
}

static fsc_status grow(void **arr, int *cap, int need, size_t elem, const char *what, fsc_error *err)
{
    if (need <= *cap) return FSC_OK;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > (1 << 29)) return fsc_fail(err, FSC_ERR_LIMIT, "too many %s", what);
        ncap *= 2;
    }
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory growing %s", what);
    *arr = p;
    *cap = ncap;
    return FSC_OK;
}

/* Appends a value; returns its id or -1. */
static int add_value(fsc_graph *g, const char *name, fsc_dtype dt, const fsc_shape *shape, fsc_error *err)
{
    if (!name || !*name) {
        fsc_fail(err, FSC_ERR_INVALID, "a value has an empty name");
        return -1;
    }
    if (index_lookup(g, name) >= 0) {
        fsc_fail(err, FSC_ERR_INVALID, "value '%s' is defined twice", name);
        return -1;
    }
    if (shape->rank < 0 || shape->rank > FSC_MAX_RANK) {
        fsc_fail(err, FSC_ERR_INVALID, "value '%s' has rank %d (at most %d supported)", name, shape->rank,
                 FSC_MAX_RANK);
        return -1;
    }
    if (fsc_shape_numel(shape) < 0) {
        char sb[160];
        fsc_fail(err, FSC_ERR_INVALID, "value '%s' has an invalid shape %s", name,
                 fsc_shape_str(shape, sb, sizeof sb));
        return -1;
    }
    if (grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof *g->values, "values", err)) return -1;
    fsc_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = dup_str(name, err);
    if (!v->name) return -1;
    v->dtype = dt;
    v->shape = *shape;
    v->producer = -1;
    int id = g->n_values++;
    if (index_insert(g, id, err)) {
        free(v->name);
        g->n_values--;
        return -1;
    }
    return id;
}

int fsc_graph_add_input(fsc_graph *g, const char *name, fsc_dtype dtype, const fsc_shape *shape, fsc_error *err)
{
    int id = add_value(g, name, dtype, shape, err);
    if (id < 0) return -1;
    /* inputs grow one at a time: realloc to exact size keeps the code simple */
    int *p = realloc(g->inputs, (size_t)(g->n_inputs + 1) * sizeof(int));
    if (!p) {
        fsc_fail(err, FSC_ERR_NOMEM, "out of memory adding input '%s'", name);
        return -1;
    }
    g->inputs = p;
    g->inputs[g->n_inputs++] = id;
    g->values[id].is_input = true;
    return id;
}

static int attach_constant(fsc_graph *g, int id, fsc_tensor *t, fsc_error *err)
{
    /* The loaders' budget for all constants together (max_total_bytes): one
     * tensor is bounded by max_tensor_bytes, but a file may hold many. */
    if (g->max_const_bytes && t->nbytes > g->max_const_bytes - g->const_bytes) {
        fsc_fail(err, FSC_ERR_LIMIT,
                 "constant '%s' would bring the model's constants to %zu bytes, over the max_total_bytes limit of %zu "
                 "(raise it with --limit max_total_bytes=N)",
                 g->values[id].name ? g->values[id].name : "?", g->const_bytes + t->nbytes, g->max_const_bytes);
        fsc_tensor_free(t);
        return -1;
    }
    fsc_tensor *c = fsc_malloc(sizeof *c, "a constant", err);
    if (!c) {
        fsc_tensor_free(t);
        return -1;
    }
    *c = *t;
    memset(t, 0, sizeof *t);
    g->values[id].constant = c;
    g->const_bytes += c->nbytes;
    return id;
}

int fsc_graph_add_initializer(fsc_graph *g, const char *name, fsc_dtype dtype, fsc_tensor *t, fsc_error *err)
{
    int id = add_value(g, name, dtype, &t->shape, err);
    if (id < 0) {
        fsc_tensor_free(t);
        return -1;
    }
    return attach_constant(g, id, t, err);
}

/* Appends a node record (no values); returns its index or -1. */
static int append_node(fsc_graph *g, fsc_op op, const char *name, const char *op_type, int n_in, const int *in,
                       int n_out, const fsc_attrs *attr, fsc_error *err)
{
    if (grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes, "nodes", err)) return -1;
    fsc_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->name = dup_str(name ? name : "", err);
    n->op_type = dup_str(op_type ? op_type : fsc_op_name(op), err);
    n->in = fsc_calloc((size_t)(n_in ? n_in : 1), sizeof(int), "node inputs", err);
    n->out = fsc_calloc((size_t)(n_out ? n_out : 1), sizeof(int), "node outputs", err);
    if (!n->name || !n->op_type || !n->in || !n->out) {
        free(n->name);
        free(n->op_type);
        free(n->in);
        free(n->out);
        return -1;
    }
    n->n_in = n_in;
    n->n_out = n_out;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    if (attr) n->attr = *attr;
    return g->n_nodes++;
}

static void drop_last_node(fsc_graph *g)
{
    fsc_node *n = &g->nodes[--g->n_nodes];
    free(n->name);
    free(n->op_type);
    free(n->in);
    free(n->out);
}

int fsc_graph_add_const_node(fsc_graph *g, const char *node_name, const char *op_type, const char *value_name,
                             fsc_dtype dtype, fsc_tensor *t, fsc_error *err)
{
    int ni = append_node(g, FSC_OP_CONSTANT, node_name, op_type, 0, NULL, 1, NULL, err);
    if (ni < 0) {
        fsc_tensor_free(t);
        return -1;
    }
    int id = add_value(g, value_name, dtype, &t->shape, err);
    if (id < 0) {
        drop_last_node(g);
        fsc_tensor_free(t);
        fsc_error_prefix(err, "const node '%s'", node_name ? node_name : "");
        return -1;
    }
    g->values[id].producer = ni;
    g->nodes[ni].out[0] = id;
    return attach_constant(g, id, t, err);
}

int fsc_graph_add_node(fsc_graph *g, const fsc_node_spec *spec, fsc_error *err)
{
    char label[200];
    snprintf(label, sizeof label, "node %d (%s '%s')", g->n_nodes, spec->op_type ? spec->op_type : fsc_op_name(spec->op),
             spec->name ? spec->name : "");
    if (spec->op == FSC_OP_CONSTANT || (int)spec->op < 0 || spec->op >= FSC_OP_COUNT)
        return fsc_fail(err, FSC_ERR_INVALID, "%s: not a computing op (use fsc_graph_add_const_node)", label), -1;
    if (spec->n_in < 0 || spec->n_in > 64 || spec->n_out < 1 || spec->n_out > 8)
        return fsc_fail(err, FSC_ERR_INVALID, "%s: %d inputs / %d outputs is out of range", label, spec->n_in,
                        spec->n_out), -1;
    const fsc_value *in_vals[64];
    for (int i = 0; i < spec->n_in; i++) {
        int v = spec->in[i];
        if (v < -1 || v >= g->n_values)
            return fsc_fail(err, FSC_ERR_INVALID, "%s: input %d refers to no value", label, i), -1;
        in_vals[i] = v < 0 ? NULL : &g->values[v];
    }
    fsc_shape shapes[8];
    fsc_dtype dtypes[8];
    fsc_status st = fsc_infer_node(spec, in_vals, shapes, dtypes, err);
    if (st) {
        fsc_error_prefix(err, "%s", label);
        return -1;
    }
    /* Check output names before touching the graph, so a refused node leaves it unchanged. */
    char auto_names[8][64];
    const char *names[8];
    for (int o = 0; o < spec->n_out; o++) {
        names[o] = spec->out_names ? spec->out_names[o] : NULL;
        if (!names[o]) {
            snprintf(auto_names[o], sizeof auto_names[o], "%s_%d_out%d", fsc_op_name(spec->op), g->n_nodes, o);
            names[o] = auto_names[o];
        }
        bool dup = index_lookup(g, names[o]) >= 0 || !*names[o];
        for (int k = 0; k < o; k++) dup = dup || strcmp(names[k], names[o]) == 0;
        if (dup)
            return fsc_fail(err, FSC_ERR_INVALID, "%s: output '%s' is empty or already defined", label, names[o]), -1;
    }
    int ni = append_node(g, spec->op, spec->name, spec->op_type, spec->n_in, spec->in, spec->n_out, &spec->attr, err);
    if (ni < 0) return -1;
    for (int o = 0; o < spec->n_out; o++) {
        int id = add_value(g, names[o], dtypes[o], &shapes[o], err);
        if (id < 0) { /* only out-of-memory gets here; the node keeps fewer outputs */
            g->nodes[ni].n_out = o;
            fsc_error_prefix(err, "%s", label);
            return -1;
        }
        g->values[id].producer = ni;
        g->nodes[ni].out[o] = id;
    }
    return ni;
}

fsc_status fsc_graph_add_output(fsc_graph *g, int value, fsc_error *err)
{
    if (value < 0 || value >= g->n_values) return fsc_fail(err, FSC_ERR_INVALID, "output refers to no value");
    int *p = realloc(g->outputs, (size_t)(g->n_outputs + 1) * sizeof(int));
    if (!p) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory adding an output");
    g->outputs = p;
    g->outputs[g->n_outputs++] = value;
    g->values[value].is_output = true;
    return FSC_OK;
}

int fsc_graph_find(const fsc_graph *g, const char *name) { return name ? index_lookup(g, name) : -1; }

bool fsc_graph_is_const(const fsc_graph *g, int value)
{
    return value >= 0 && value < g->n_values && g->values[value].constant != NULL;
}

char *fsc_node_label(const fsc_graph *g, int node, char *buf, size_t len)
{
    if (node < 0 || node >= g->n_nodes) {
        snprintf(buf, len, "node %d", node);
        return buf;
    }
    snprintf(buf, len, "node %d (%s '%s')", node, g->nodes[node].op_type, g->nodes[node].name);
    return buf;
}

fsc_graph *fsc_graph_clone(const fsc_graph *g, fsc_error *err)
{
    fsc_graph *c = fsc_graph_new(g->name, err);
    if (!c) return NULL;
    /* Values and nodes are copied wholesale; ids stay the same. */
    c->values = fsc_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *c->values, "values", err);
    c->nodes = fsc_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *c->nodes, "nodes", err);
    c->inputs = fsc_calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof(int), "inputs", err);
    c->outputs = fsc_calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof(int), "outputs", err);
    if (!c->values || !c->nodes || !c->inputs || !c->outputs) goto fail;
    c->cap_values = g->n_values ? g->n_values : 1;
    c->const_bytes = g->const_bytes; /* the clone carries no budget: max_const_bytes stays 0 */
    c->cap_nodes = g->n_nodes ? g->n_nodes : 1;
    for (int i = 0; i < g->n_values; i++) {
        fsc_value *d = &c->values[i];
        *d = g->values[i];
        d->name = NULL;
        d->constant = NULL;
        c->n_values = i + 1;
        d->name = dup_str(g->values[i].name, err);
        if (!d->name) goto fail;
        if (g->values[i].constant) {
            d->constant = fsc_malloc(sizeof *d->constant, "a constant", err);
            if (!d->constant) goto fail;
            if (fsc_tensor_clone(d->constant, g->values[i].constant, err)) {
                free(d->constant);
                d->constant = NULL;
                goto fail;
            }
        }
        if (index_insert(c, i, err)) goto fail;
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *s = &g->nodes[i];
        if (append_node(c, s->op, s->name, s->op_type, s->n_in, s->in, s->n_out, &s->attr, err) < 0) goto fail;
        for (int o = 0; o < s->n_out; o++) c->nodes[i].out[o] = s->out[o];
    }
    memcpy(c->inputs, g->inputs, (size_t)g->n_inputs * sizeof(int));
    c->n_inputs = g->n_inputs;
    memcpy(c->outputs, g->outputs, (size_t)g->n_outputs * sizeof(int));
    c->n_outputs = g->n_outputs;
    return c;
fail:
    fsc_graph_free(c);
    return NULL;
}
