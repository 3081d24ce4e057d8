/* exec_fuse.c: finding the executor's fused elementwise regions and building
 * their tables (exec_fuse.h). A table is built the first time its region
 * runs fused, so engines that only ever run with a tap (localize) or
 * unfused never pay for it. */
#include <stdlib.h>
#include <string.h>

#include "core/exec_fuse.h"

bool fsc_backend_is_emu(const fsc_backend *b)
{
    return b && b->vt && b->vt->kind && strcmp(b->vt->kind, "emu") == 0 && b->arith && b->vt->run_node;
}

/* Roots smaller than this do not get a 65536-entry table: building it would
 * cost more than the lookups save. int8 roots (256 entries) always do. */
#define FSC_FUSE_MIN_WIDE_ROOT 4096

static bool scalar_const(const fsc_graph *g, int v)
{
    return v >= 0 && fsc_graph_is_const(g, v) && g->values[v].constant && fsc_tensor_numel(g->values[v].constant) == 1;
}

static bool is_int8(fsc_dtype dt) { return dt == FSC_DT_I8 || dt == FSC_DT_U8; }

/* Does node i compute an output element from the same element of its
 * region inputs (mark[v] == stamp) and per-tensor constants only, with the
 * root's shape? */
static bool node_fits(const fsc_graph *g, int i, const int *mark, int stamp, const fsc_shape *shape)
{
    const fsc_node *n = &g->nodes[i];
    if (n->n_out != 1 || n->out[0] < 0 || n->n_in < 1) return false;
    const fsc_value *y = &g->values[n->out[0]];
    if (!fsc_shape_equal(&y->shape, shape)) return false;
    bool from_region = false;
    for (int k = 0; k < n->n_in; k++) {
        int v = n->in[k];
        if (v >= 0 && mark[v] == stamp) from_region = true;
    }
    if (!from_region) return false;
#define IN_REGION(k) (n->in[k] >= 0 && mark[n->in[k]] == stamp)
    switch (n->op) {
    case FSC_OP_RELU: case FSC_OP_CLIP: case FSC_OP_SIGMOID: case FSC_OP_SILU: case FSC_OP_TANH: case FSC_OP_ERF:
    case FSC_OP_SQRT: case FSC_OP_GELU: case FSC_OP_IDENTITY:
        return n->n_in == 1 && fsc_dtype_is_float(y->dtype) && fsc_dtype_is_float(g->values[n->in[0]].dtype);
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: case FSC_OP_POW:
        if (n->n_in != 2 || !fsc_dtype_is_float(y->dtype)) return false;
        for (int k = 0; k < 2; k++) {
            if (n->in[k] < 0 || !fsc_dtype_is_float(g->values[n->in[k]].dtype)) return false;
            if (!IN_REGION(k) && !scalar_const(g, n->in[k])) return false;
        }
        return true;
    case FSC_OP_QUANTIZE: case FSC_OP_DEQUANTIZE: {
        if (n->n_in < 2 || !IN_REGION(0) || !scalar_const(g, n->in[1])) return false;
        if (n->n_in > 2 && n->in[2] >= 0 && !scalar_const(g, n->in[2])) return false;
        if (n->n_in > 3) return false;
        fsc_dtype xd = g->values[n->in[0]].dtype;
        if (n->op == FSC_OP_QUANTIZE) return fsc_dtype_is_float(xd) && is_int8(y->dtype);
        return is_int8(xd) && fsc_dtype_is_float(y->dtype);
    }
    default: return false;
    }
#undef IN_REGION
}

/* The key a root value indexes tables with on backend b; false when none. */
static bool root_key(const fsc_graph *g, int v, const fsc_backend *b, fsc_lut_key *key)
{
    fsc_dtype dt = g->values[v].dtype;
    int64_t n = fsc_shape_numel(&g->values[v].shape);
    if (dt == FSC_DT_I8) *key = FSC_LUT_I8;
    else if (dt == FSC_DT_U8) *key = FSC_LUT_U8;
    else if (fsc_dtype_is_float(dt) && b->arith->storage == FSC_FMT_FP16 && n >= FSC_FUSE_MIN_WIDE_ROOT) *key = FSC_LUT_FP16;
    else if (fsc_dtype_is_float(dt) && b->arith->storage == FSC_FMT_BF16 && n >= FSC_FUSE_MIN_WIDE_ROOT) *key = FSC_LUT_BF16;
    else return false;
    return n > 0;
}

void fsc_fusion_free(fsc_fusion *f)
{
    if (!f) return;
    for (int r = 0; r < f->n_regions; r++) {
        fsc_fused_region *R = &f->regions[r];
        for (int k = 0; k < R->n_out; k++) {
            fsc_tensor_free(&R->table[k]);
            free(R->wide[k]);
        }
        free(R->nodes);
    }
    free(f->regions);
    free(f->region_of);
    free(f->last_use);
    free(f);
}

/* Grows the region of root r over unclaimed nodes after its producer; fills
 * R (nodes, outputs) and returns true when it is worth a table. Only nodes
 * up to the last reader of a region value can join, so the scan stops there.
 * mark (per value) and node_mark (per node) equal stamp for region members. */
static bool grow(const fsc_graph *g, const fsc_engine_plan *plan, const int *claimed, const bool *skip,
                 const int *last_reader, int *mark, int *node_mark, int stamp, int r, fsc_fused_region *R, int *scratch)
{
    const fsc_value *root = &g->values[r];
    int b = -1, n = 0, limit = last_reader[r];
    fsc_lut_key key = FSC_LUT_I8;
    mark[r] = stamp;
    for (int i = root->producer + 1; i <= limit && i < g->n_nodes; i++) {
        int bi = plan->node_backend[i];
        if (claimed[i] >= 0 || (skip && skip[i]) || bi < 0 || (b >= 0 && bi != b)) continue;
        if (!fsc_backend_is_emu(plan->backends[bi])) continue;
        if (!node_fits(g, i, mark, stamp, &root->shape)) continue;
        if (b < 0) {
            if (!root_key(g, r, plan->backends[bi], &key)) continue;
            b = bi;
        }
        scratch[n++] = i;
        node_mark[i] = stamp;
        int y = g->nodes[i].out[0];
        mark[y] = stamp;
        if (last_reader[y] > limit) limit = last_reader[y];
    }
    if (n == 0) return false;
    /* Outputs: region values read by a node outside the region, or graph outputs. */
    int n_out = 0;
    for (int j = 0; j < n; j++) {
        int v = g->nodes[scratch[j]].out[0];
        bool escapes = g->values[v].is_output;
        for (int i = scratch[j] + 1; !escapes && i <= last_reader[v]; i++) {
            if (node_mark[i] == stamp) continue;
            for (int k = 0; k < g->nodes[i].n_in; k++) escapes = escapes || g->nodes[i].in[k] == v;
        }
        if (!escapes) continue;
        if (n_out == FSC_FUSE_MAX_OUT) return false;
        R->out[n_out++] = v;
    }
    if (n_out == 0) return false; /* nothing reads it: leave the nodes to the ordinary path */
    R->nodes = malloc((size_t)n * sizeof(int));
    if (!R->nodes) return false;
    memcpy(R->nodes, scratch, (size_t)n * sizeof(int));
    R->n_nodes = n;
    R->n_out = n_out;
    R->backend = b;
    R->root = r;
    R->key = key;
    return true;
}

fsc_status fsc_fusion_plan(const fsc_graph *g, const fsc_engine_plan *plan, const bool *skip, fsc_fusion **out,
                           fsc_error *err)
{
    *out = NULL;
    size_t nn = (size_t)(g->n_nodes ? g->n_nodes : 1), nv = (size_t)(g->n_values ? g->n_values : 1);
    fsc_fusion *f = fsc_calloc(1, sizeof *f, "fusion plan", err);
    int *mark = fsc_calloc(nv, sizeof(int), "fusion plan", err);
    int *node_mark = fsc_calloc(nn, sizeof(int), "fusion plan", err);
    int *last_reader = fsc_malloc(nv * sizeof(int), "fusion plan", err);
    int *scratch = fsc_malloc(nn * sizeof(int), "fusion plan", err);
    bool *internal = fsc_calloc(nv, sizeof(bool), "fusion plan", err);
    if (f) {
        f->region_of = fsc_malloc(nn * sizeof(int), "fusion plan", err);
        f->last_use = fsc_malloc(nv * sizeof(int), "fusion plan", err);
        f->regions = fsc_calloc(nn + 1, sizeof *f->regions, "fusion plan", err); /* + the one being tried */
    }
    if (!f || !mark || !node_mark || !last_reader || !scratch || !internal || !f->region_of || !f->last_use ||
        !f->regions) {
        fsc_fusion_free(f);
        free(mark);
        free(node_mark);
        free(last_reader);
        free(scratch);
        free(internal);
        return FSC_ERR_NOMEM;
    }
    for (size_t i = 0; i < nn; i++) f->region_of[i] = -1;
    for (int v = 0; v < g->n_values; v++) last_reader[v] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) last_reader[g->nodes[i].in[k]] = i;
    int stamp = 0;
    /* Candidate roots in graph order: graph inputs, then each node's outputs. */
    for (int i = -1; i < g->n_nodes; i++) {
        int nvals = i < 0 ? g->n_inputs : g->nodes[i].n_out;
        for (int k = 0; k < nvals; k++) {
            int r = i < 0 ? g->inputs[k] : g->nodes[i].out[k];
            if (r < 0 || fsc_graph_is_const(g, r) || internal[r]) continue;
            if (i >= 0 && plan->node_backend[i] < 0) continue;
            fsc_fused_region *R = &f->regions[f->n_regions];
            if (!grow(g, plan, f->region_of, skip, last_reader, mark, node_mark, ++stamp, r, R, scratch)) {
                memset(R, 0, sizeof *R);
                continue;
            }
            for (int j = 0; j < R->n_nodes; j++) {
                f->region_of[R->nodes[j]] = f->n_regions;
                internal[g->nodes[R->nodes[j]].out[0]] = true;
            }
            for (int o = 0; o < R->n_out; o++) internal[R->out[o]] = false;
            f->n_regions++;
        }
    }
    free(mark);
    free(node_mark);
    free(last_reader);
    free(scratch);
    free(internal);
    if (f->n_regions == 0) {
        fsc_fusion_free(f);
        return FSC_OK;
    }
    /* Last uses when every region runs at its first node. */
    for (int v = 0; v < g->n_values; v++) f->last_use[v] = g->values[v].is_output ? g->n_nodes : -1;
    for (int i = 0; i < g->n_nodes; i++) {
        int pos = f->region_of[i] >= 0 ? f->regions[f->region_of[i]].nodes[0] : i;
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].in[k];
            if (v >= 0 && f->last_use[v] < pos) f->last_use[v] = pos;
        }
    }
    *out = f;
    return FSC_OK;
}

/* The region's nodes as a graph of their own whose root is a tensor holding
 * the key's whole domain (shape [1, ..., 1, N] of the root's rank, so that
 * scalar constants of any rank up to it broadcast as in g). *map gets, per
 * value of g, its id in the new graph (-1 when absent). */
static fsc_graph *region_graph(const fsc_graph *g, const fsc_fused_region *R, int *map, fsc_error *err)
{
    fsc_graph *tg = fsc_graph_new("fused region", err);
    if (!tg) return NULL;
    const fsc_value *root = &g->values[R->root];
    fsc_shape s = {.rank = root->shape.rank > 0 ? root->shape.rank : 1};
    for (int d = 0; d < s.rank; d++) s.dim[d] = 1;
    s.dim[s.rank - 1] = fsc_lut_entries(R->key);
    for (int v = 0; v < g->n_values; v++) map[v] = -1;
    map[R->root] = fsc_graph_add_input(tg, root->name, root->dtype, &s, err);
    if (map[R->root] < 0) goto fail;
    for (int j = 0; j < R->n_nodes; j++) {
        const fsc_node *n = &g->nodes[R->nodes[j]];
        int in[4];
        for (int k = 0; k < n->n_in && k < 4; k++) {
            int v = n->in[k];
            if (v < 0 || map[v] >= 0) {
                in[k] = v < 0 ? -1 : map[v];
                continue;
            }
            fsc_tensor c;
            if (fsc_tensor_clone(&c, g->values[v].constant, err)) goto fail;
            map[v] = fsc_graph_add_initializer(tg, g->values[v].name, g->values[v].dtype, &c, err);
            if (map[v] < 0) goto fail;
            in[k] = map[v];
        }
        const fsc_value *y = &g->values[n->out[0]];
        const char *names[1] = {y->name};
        fsc_node_spec sp = {.op = n->op, .name = n->name, .op_type = n->op_type, .n_in = n->n_in, .in = in, .n_out = 1,
                            .out_names = names, .attr = n->attr, .out_dtype = y->dtype};
        int ni = fsc_graph_add_node(tg, &sp, err);
        if (ni < 0) goto fail;
        int ty = tg->nodes[ni].out[0];
        if (!fsc_shape_equal(&tg->values[ty].shape, &s) || tg->values[ty].dtype != y->dtype) {
            fsc_fail(err, FSC_ERR_INTERNAL, "fused region: node '%s' does not keep its input's shape", n->name);
            goto fail;
        }
        map[n->out[0]] = ty;
    }
    return tg;
fail:
    fsc_graph_free(tg);
    return NULL;
}

fsc_status fsc_fusion_build(fsc_fused_region *R, const fsc_graph *g, const fsc_engine_plan *plan,
                            const fsc_tensor *consts, fsc_error *err)
{
    fsc_backend *be = plan->backends[R->backend];
    int *map = fsc_malloc((size_t)(g->n_values ? g->n_values : 1) * sizeof(int), "fused region", err);
    if (!map) return FSC_ERR_NOMEM;
    fsc_graph *tg = region_graph(g, R, map, err);
    if (!tg) {
        free(map);
        return err && err->code ? err->code : FSC_ERR_INVALID;
    }
    fsc_tensor *vals = fsc_calloc((size_t)tg->n_values, sizeof *vals, "fused region", err);
    fsc_status st = vals ? FSC_OK : FSC_ERR_NOMEM;
    if (!st) st = fsc_k_lut_domain(R->key, &tg->values[map[R->root]].shape, &vals[map[R->root]], err);
    for (int j = 0; !st && j < tg->n_nodes; j++) {
        const fsc_node *n = &g->nodes[R->nodes[j]];
        const fsc_tensor *in[4] = {NULL, NULL, NULL, NULL};
        for (int k = 0; k < n->n_in && k < 4; k++) {
            int v = n->in[k];
            if (v < 0) continue;
            in[k] = g->values[v].constant ? &consts[(size_t)R->backend * (size_t)g->n_values + (size_t)v]
                                          : &vals[map[v]];
        }
        st = be->vt->run_node(be, tg, j, in, &vals[tg->nodes[j].out[0]], err);
    }
    for (int k = 0; !st && k < R->n_out; k++) {
        fsc_tensor *t = &vals[map[R->out[k]]];
        R->table[k] = *t;
        memset(t, 0, sizeof *t);
        R->lut[k].dtype = R->table[k].dtype;
        R->lut[k].entries = R->table[k].data;
        if (R->table[k].dtype == FSC_DT_I8 || R->table[k].dtype == FSC_DT_U8) {
            int64_t m = fsc_tensor_numel(&R->table[k]);
            R->wide[k] = fsc_malloc((size_t)m * sizeof(int32_t), "fused region", err);
            if (!R->wide[k]) {
                st = FSC_ERR_NOMEM;
                break;
            }
            for (int64_t j = 0; j < m; j++)
                R->wide[k][j] = R->table[k].dtype == FSC_DT_I8 ? ((const int8_t *)R->table[k].data)[j]
                                                              : ((const uint8_t *)R->table[k].data)[j];
            R->lut[k].wide = R->wide[k];
        }
    }
    if (vals)
        for (int v = 0; v < tg->n_values; v++) fsc_tensor_free(&vals[v]);
    free(vals);
    free(map);
    fsc_graph_free(tg);
    if (st) {
        for (int k = 0; k < R->n_out; k++) {
            fsc_tensor_free(&R->table[k]);
            free(R->wide[k]);
            R->wide[k] = NULL;
            memset(&R->lut[k], 0, sizeof R->lut[k]);
        }
        return st;
    }
    R->built = true;
    return FSC_OK;
}
