/* exec.c: the executor. An engine = the backends of a configuration, the
 * placement of each node, and each backend's copy of the constants. Running
 * walks the nodes in order; a tensor that crosses to another backend (or
 * enters from the caller) is converted to the receiving backend's container
 * and rounded to its storage format, as a real runtime converts at device
 * boundaries. Tensors are freed after their last use. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/registry.h"
#include "core/half.h"
#include "flipscope/exec.h"

const fsc_provider *fsc_provider_for(const char *name, const char **variant, fsc_error *err);

/* Correctly rounded to fp16 and back. clang before 15 has no _Float16 on x86
 * (the fuzz build uses clang 14): there the portable conversion is used. */
#if defined(__FLT16_MAX__)
#define ROUND_HALF(x) ((float)(_Float16)(x))
#else
#define ROUND_HALF(x) ((float)fsc_half_to_double(fsc_double_to_half((double)(x))))
#endif

struct fsc_engine {
    const fsc_graph *g;
    const fsc_ctx *ctx;
    fsc_config_info info;
    fsc_engine_plan plan;
    fsc_tensor *consts; /* [n_backends][n_values]: constants as each backend holds them */
    int *last_use;      /* per value: index of the last node reading it; n_nodes for graph outputs */
};

static fsc_dtype container_of(const fsc_backend *b)
{
    return b->arith && b->arith->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
}

/* True when every value of format a is a value of format b (fp16 in fp32,
 * fp32 in fp64, ...): converting needs no rounding. */
static bool format_fits(fsc_format_id a, fsc_format_id b)
{
    if (a == b) return true;
    const fsc_format *fa = fsc_format_get(a), *fb = fsc_format_get(b);
    return fa->p <= fb->p && fa->emax <= fb->emax && fa->emin - fa->p >= fb->emin - fb->p &&
           (!fa->has_inf || fb->has_inf);
}

/* True when src is already exactly as backend b would receive it (same
 * container, values on its storage grid and on the value's logical format). */
static bool arrives_as_is(const fsc_backend *b, const fsc_value *v, const fsc_tensor *src)
{
    if (src->dtype != FSC_DT_F32 && src->dtype != FSC_DT_F64) return false;
    if (src->dtype != container_of(b) || (int)src->fmt < 0 || src->fmt >= FSC_FMT_COUNT) return false;
    fsc_format_id storage = b->arith ? b->arith->storage : FSC_FMT_FP32;
    bool to16 = v && v->dtype == FSC_DT_F16, tobf = v && v->dtype == FSC_DT_BF16;
    return format_fits(src->fmt, storage) && (!to16 || format_fits(src->fmt, FSC_FMT_FP16)) &&
           (!tobf || format_fits(src->fmt, FSC_FMT_BF16));
}

/* New tensor holding src as backend b receives it. Float data is rounded to
 * the value's logical format (fp16 programs) and then to b's storage. */
static fsc_status convert_for(const fsc_backend *b, const fsc_value *v, const fsc_tensor *src, fsc_tensor *dst,
                              fsc_error *err)
{
    if (src->dtype != FSC_DT_F32 && src->dtype != FSC_DT_F64) return fsc_tensor_clone(dst, src, err);
    fsc_dtype ct = container_of(b);
    fsc_status st = fsc_tensor_alloc(dst, ct, &src->shape, 0, err);
    if (st) return st;
    fsc_round_opts o = fsc_round_default();
    int64_t n = fsc_tensor_numel(src);
    bool to16 = v && v->dtype == FSC_DT_F16, tobf = v && v->dtype == FSC_DT_BF16;
    fsc_format_id storage = b->arith ? b->arith->storage : FSC_FMT_FP32;
    bool exact = (int)src->fmt >= 0 && src->fmt < FSC_FMT_COUNT && format_fits(src->fmt, storage) &&
                 (!to16 || format_fits(src->fmt, FSC_FMT_FP16)) && (!tobf || format_fits(src->fmt, FSC_FMT_BF16));
    if (exact) { /* already on the receiving grid (localize feeds fp16 values to fp64, ...) */
        if (src->dtype == FSC_DT_F32 && ct == FSC_DT_F64) {
            const float *x = src->data;
            double *d = dst->data;
            for (int64_t i = 0; i < n; i++) d[i] = x[i];
        } else {
            for (int64_t i = 0; i < n; i++) fsc_tensor_set(dst, i, fsc_tensor_get(src, i));
        }
        dst->fmt = storage;
        return FSC_OK;
    }
    if (ct == FSC_DT_F32 && !tobf && (storage == FSC_FMT_FP32 || storage == FSC_FMT_FP16)) {
        /* Hardware/libgcc conversions are correctly rounded (nearest-even,
         * subnormals, overflow to Inf): the same as fsc_round with default
         * options, many times faster. fp16 values are fp32 values. */
        float *d = dst->data;
        bool half = to16 || storage == FSC_FMT_FP16;
        if (src->dtype == FSC_DT_F64) {
            const double *x = src->data;
            if (half)
                fsc_round_half_f64(x, d, n); /* vectorised; same values as ROUND_HALF */
            else
                for (int64_t i = 0; i < n; i++) d[i] = (float)x[i];
        } else {
            const float *x = src->data;
            if (half)
                for (int64_t i = 0; i < n; i++) d[i] = ROUND_HALF(x[i]);
            else
                memcpy(d, x, (size_t)n * sizeof(float));
        }
        dst->fmt = storage;
        return FSC_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        double x = fsc_tensor_get(src, i);
        if (to16) x = fsc_round(x, FSC_FMT_FP16, o);
        if (tobf) x = fsc_round(x, FSC_FMT_BF16, o);
        x = fsc_round(x, storage, o);
        fsc_tensor_set(dst, i, x);
    }
    dst->fmt = storage;
    return FSC_OK;
}

static void free_plan(fsc_engine_plan *p)
{
    for (int i = 0; i < p->n_backends; i++) fsc_backend_free(p->backends[i]);
    free(p->node_backend);
    memset(p, 0, sizeof *p);
}

void fsc_engine_close(fsc_engine *e)
{
    if (!e) return;
    if (e->consts)
        for (int i = 0; i < e->plan.n_backends * e->g->n_values; i++) fsc_tensor_free(&e->consts[i]);
    free(e->consts);
    free(e->last_use);
    free_plan(&e->plan);
    free(e);
}

static fsc_status finish_open(fsc_engine *e, const char *config, fsc_status st, fsc_engine **out, fsc_error *err);

fsc_status fsc_engine_open(const char *config, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine **out, fsc_error *err)
{
    *out = NULL;
    const char *variant;
    const fsc_provider *p = fsc_provider_for(config, &variant, err);
    if (!p) return err ? err->code : FSC_ERR_INVALID;
    fsc_engine *e = fsc_calloc(1, sizeof *e, "an engine", err);
    if (!e) return FSC_ERR_NOMEM;
    e->g = g;
    e->ctx = ctx;
    fsc_status st = p->lookup(variant, &e->info, err);
    if (!st && !e->info.available)
        st = fsc_fail(err, FSC_ERR_UNAVAILABLE, "not available here: %s", e->info.reason);
    if (!st) st = p->open(variant, g, ctx, &e->plan, err);
    return finish_open(e, config, st, out, err);
}

fsc_status fsc_engine_open_backend(fsc_backend *be, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine **out,
                                   fsc_error *err)
{
    *out = NULL;
    fsc_engine *e = fsc_calloc(1, sizeof *e, "an engine", err);
    if (!e) {
        fsc_backend_free(be);
        return FSC_ERR_NOMEM;
    }
    e->g = g;
    e->ctx = ctx;
    e->plan.backends[0] = be;
    e->plan.n_backends = 1;
    snprintf(e->info.name, sizeof e->info.name, "%s", be->name);
    snprintf(e->info.backend, sizeof e->info.backend, "%s", be->vt->kind);
    e->info.stands_for = "a caller-built backend";
    e->info.certainty = "as built by the caller";
    e->info.available = true;
    return finish_open(e, be->name, fsc_plan_single(g, &e->plan, err), out, err);
}

/* The common end of opening: prepare backends, load constants, bookkeeping.
 * st is the status so far; e is closed on failure. */
static fsc_status finish_open(fsc_engine *e, const char *config, fsc_status st, fsc_engine **out, fsc_error *err)
{
    const fsc_graph *g = e->g;
    if (!st) { /* max_total_bytes: refuse before any backend allocates */
        size_t elem = 4, limit = e->ctx ? e->ctx->limits.max_total_bytes : fsc_limits_default().max_total_bytes;
        for (int b = 0; b < e->plan.n_backends; b++)
            if (container_of(e->plan.backends[b]) == FSC_DT_F64) elem = 8;
        uint64_t peak = fsc_graph_peak_bytes(g, elem);
        if (limit && peak > limit)
            st = fsc_fail(err, FSC_ERR_LIMIT,
                          "a run needs %" PRIu64 " bytes of tensors at its peak (constants and live intermediates), "
                          "over the max_total_bytes limit of %zu (raise it with --limit max_total_bytes=N)",
                          peak, limit);
    }
    for (int b = 0; !st && b < e->plan.n_backends; b++)
        if (e->plan.backends[b]->vt->prepare) st = e->plan.backends[b]->vt->prepare(e->plan.backends[b], g, err);
    if (!st) {
        size_t nv = (size_t)(g->n_values ? g->n_values : 1);
        e->consts = fsc_calloc((size_t)e->plan.n_backends * nv, sizeof *e->consts, "engine constants", err);
        e->last_use = fsc_malloc(nv * sizeof(int), "engine bookkeeping", err);
        if (!e->consts || !e->last_use) st = FSC_ERR_NOMEM;
    }
    if (!st) {
        for (int v = 0; v < g->n_values; v++) e->last_use[v] = g->values[v].is_output ? g->n_nodes : -1;
        for (int i = 0; i < g->n_nodes && !st; i++) {
            const fsc_node *n = &g->nodes[i];
            int b = e->plan.node_backend[i];
            for (int k = 0; k < n->n_in; k++) {
                int v = n->in[k];
                if (v < 0) continue;
                if (e->last_use[v] < i) e->last_use[v] = i;
                if (b < 0 || !g->values[v].constant) continue;
                fsc_tensor *c = &e->consts[(size_t)b * (size_t)g->n_values + (size_t)v];
                if (c->data) continue;
                fsc_backend *be = e->plan.backends[b];
                st = be->vt->load_const(be, g, v, c, err);
                if (st) {
                    char lb[200];
                    fsc_error_prefix(err, "%s: loading constant '%s'", fsc_node_label(g, i, lb, sizeof lb),
                                     g->values[v].name);
                }
            }
        }
    }
    if (st) {
        fsc_error_prefix(err, "%s", config);
        fsc_engine_close(e);
        return st;
    }
    *out = e;
    return FSC_OK;
}

const fsc_config_info *fsc_engine_info(const fsc_engine *e) { return &e->info; }

const fsc_backend *fsc_engine_node_backend(const fsc_engine *e, int node)
{
    if (node < 0 || node >= e->g->n_nodes) return NULL;
    int b = e->plan.node_backend[node];
    return b < 0 ? NULL : e->plan.backends[b];
}

/* Per-run state: each value's tensor where it was produced, and converted
 * copies for other backends. */
typedef struct run_state {
    fsc_tensor *vals;  /* [n_values] */
    int *home;         /* [n_values]: producing backend, -2 for caller inputs, -1 none yet */
    fsc_tensor *conv;  /* [n_backends][n_values] converted copies */
    fsc_tensor *keep;  /* fsc_engine_run_keep's, or NULL */
} run_state;

/* Done with value v: a node output goes to keep when asked, else is freed. */
static void free_value(const fsc_engine *e, run_state *rs, int v)
{
    if (rs->keep && rs->home[v] >= 0 && rs->vals[v].data && !rs->keep[v].data) {
        rs->keep[v] = rs->vals[v];
        memset(&rs->vals[v], 0, sizeof rs->vals[v]);
    }
    fsc_tensor_free(&rs->vals[v]);
    for (int b = 0; b < e->plan.n_backends; b++) fsc_tensor_free(&rs->conv[(size_t)b * (size_t)e->g->n_values + (size_t)v]);
}

/* The tensor of value v as backend b must read it. */
static fsc_status input_for(fsc_engine *e, run_state *rs, int b, int v, const fsc_tensor **out, fsc_error *err)
{
    const fsc_graph *g = e->g;
    size_t at = (size_t)b * (size_t)g->n_values + (size_t)v;
    if (g->values[v].constant) {
        *out = &e->consts[at];
        return FSC_OK;
    }
    if (!rs->vals[v].data && fsc_shape_numel(&g->values[v].shape) > 0)
        return fsc_fail(err, FSC_ERR_INTERNAL, "value '%s' read before it was computed", g->values[v].name);
    if (rs->home[v] == b) {
        *out = &rs->vals[v];
        return FSC_OK;
    }
    if (!rs->conv[at].data) {
        fsc_status st = convert_for(e->plan.backends[b], &g->values[v], &rs->vals[v], &rs->conv[at], err);
        if (st) return st;
    }
    *out = &rs->conv[at];
    return FSC_OK;
}

/* True when the plan is one whole-graph backend (an external runner). */
static bool whole_graph(const fsc_engine *e)
{
    return e->plan.n_backends == 1 && e->plan.backends[0]->vt->run_graph;
}

/* Runs the graph in one call of a whole-graph backend; graph outputs land in
 * rs->vals, intermediates it reported are handed to the tap node by node. */
static fsc_status run_whole(fsc_engine *e, const fsc_tensor *inputs, run_state *rs, const fsc_run_opts *opts,
                            fsc_tensor *keep, fsc_error *err)
{
    const fsc_graph *g = e->g;
    fsc_backend *be = e->plan.backends[0];
    bool tap = opts && opts->tap;
    fsc_tensor *vals = fsc_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *vals, "run values", err);
    if (!vals) return FSC_ERR_NOMEM;
    fsc_status st = be->vt->run_graph(be, g, inputs, vals, tap || keep, err);
    for (int i = 0; !st && tap && i < g->n_nodes; i++) {
        const fsc_node *n = &g->nodes[i];
        if (e->plan.node_backend[i] < 0 || n->n_out > 8) continue;
        fsc_tensor outs[8];
        bool all = true;
        for (int o = 0; o < n->n_out; o++) {
            outs[o] = vals[n->out[o]];
            if (!outs[o].data && fsc_shape_numel(&g->values[n->out[o]].shape) > 0) all = false;
        }
        if (all) opts->tap(opts->tap_user, g, i, outs, n->n_out);
    }
    for (int k = 0; !st && k < g->n_outputs; k++) {
        int v = g->outputs[k];
        if (g->values[v].constant) continue;
        if (!vals[v].data && fsc_shape_numel(&g->values[v].shape) > 0)
            st = fsc_fail(err, FSC_ERR_IO, "%s did not produce output '%s'", be->name, g->values[v].name);
        else if (!rs->vals[v].data) {
            rs->vals[v] = vals[v];
            rs->home[v] = 0;
            memset(&vals[v], 0, sizeof vals[v]);
        }
    }
    for (int v = 0; v < g->n_values; v++) {
        if (keep && vals[v].data && !keep[v].data && !g->values[v].constant && rs->home[v] != -2) {
            keep[v] = vals[v];
            memset(&vals[v], 0, sizeof vals[v]);
        }
        fsc_tensor_free(&vals[v]);
    }
    free(vals);
    return st;
}

fsc_status fsc_engine_run(fsc_engine *e, const fsc_tensor *inputs, fsc_tensor *outputs, const fsc_run_opts *opts,
                          fsc_error *err)
{
    return fsc_engine_run_keep(e, inputs, outputs, opts, NULL, err);
}

fsc_status fsc_engine_run_keep(fsc_engine *e, const fsc_tensor *inputs, fsc_tensor *outputs, const fsc_run_opts *opts,
                               fsc_tensor *keep, fsc_error *err)
{
    const fsc_graph *g = e->g;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1);
    run_state rs;
    rs.vals = fsc_calloc(nv, sizeof *rs.vals, "run values", err);
    rs.home = fsc_malloc(nv * sizeof(int), "run values", err);
    rs.conv = fsc_calloc((size_t)e->plan.n_backends * nv, sizeof *rs.conv, "run values", err);
    rs.keep = keep;
    fsc_status st = (!rs.vals || !rs.home || !rs.conv) ? FSC_ERR_NOMEM : FSC_OK;
    for (size_t v = 0; !st && v < nv; v++) rs.home[v] = -1;
    for (int i = 0; !st && i < g->n_inputs; i++) {
        int v = g->inputs[i];
        const fsc_value *val = &g->values[v];
        if (!fsc_shape_equal(&inputs[i].shape, &val->shape)) {
            char s1[160], s2[160];
            st = fsc_fail(err, FSC_ERR_INVALID, "input '%s' has shape %s, the model expects %s", val->name,
                          fsc_shape_str(&inputs[i].shape, s1, sizeof s1), fsc_shape_str(&val->shape, s2, sizeof s2));
            break;
        }
        if (fsc_dtype_is_float(val->dtype) != (inputs[i].dtype == FSC_DT_F32 || inputs[i].dtype == FSC_DT_F64)) {
            st = fsc_fail(err, FSC_ERR_INVALID, "input '%s' has dtype %s, the model expects %s", val->name,
                          fsc_dtype_name(inputs[i].dtype), fsc_dtype_name(val->dtype));
            break;
        }
        st = fsc_tensor_clone(&rs.vals[v], &inputs[i], err);
        rs.home[v] = -2;
    }
    if (!st && whole_graph(e)) st = run_whole(e, inputs, &rs, opts, keep, err);
    const fsc_tensor *in[64];
    for (int i = 0; !st && !whole_graph(e) && i < g->n_nodes; i++) {
        const fsc_node *n = &g->nodes[i];
        int b = e->plan.node_backend[i];
        if (b < 0) continue; /* constants: loaded per backend at open */
        for (int k = 0; k < n->n_in && !st; k++) {
            in[k] = NULL;
            if (n->in[k] >= 0) st = input_for(e, &rs, b, n->in[k], &in[k], err);
        }
        if (st) break;
        fsc_tensor outs[8];
        memset(outs, 0, sizeof outs);
        fsc_backend *be = e->plan.backends[b];
        st = be->vt->run_node(be, g, i, in, outs, err);
        if (st) {
            char lb[200];
            fsc_error_prefix(err, "%s on %s", fsc_node_label(g, i, lb, sizeof lb), be->name);
            for (int o = 0; o < n->n_out; o++) fsc_tensor_free(&outs[o]);
            break;
        }
        for (int o = 0; o < n->n_out; o++) {
            rs.vals[n->out[o]] = outs[o];
            rs.home[n->out[o]] = b;
        }
        if (opts && opts->tap) opts->tap(opts->tap_user, g, i, outs, n->n_out);
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v >= 0 && !g->values[v].constant && e->last_use[v] == i) free_value(e, &rs, v);
        }
        for (int o = 0; o < n->n_out; o++)
            if (e->last_use[n->out[o]] < 0) free_value(e, &rs, n->out[o]); /* never read */
    }
    int done = 0;
    for (; !st && done < g->n_outputs; done++) {
        int v = g->outputs[done];
        const fsc_tensor *src = g->values[v].constant ? g->values[v].constant : &rs.vals[v];
        if (fsc_dtype_is_float(g->values[v].dtype) || src->dtype == FSC_DT_F32 || src->dtype == FSC_DT_F64) {
            st = fsc_tensor_to_float(&outputs[done], src, FSC_DT_F64, err);
            if (!st) outputs[done].fmt = src->fmt;
        } else {
            st = fsc_tensor_clone(&outputs[done], src, err);
        }
    }
    if (st)
        for (int k = 0; k < done; k++) fsc_tensor_free(&outputs[k]);
    if (rs.vals)
        for (size_t v = 0; v < nv; v++) {
            if (rs.home && rs.conv) free_value(e, &rs, (int)v); /* node outputs to keep */
            else fsc_tensor_free(&rs.vals[v]);
        }
    if (rs.conv)
        for (size_t k = 0; k < (size_t)e->plan.n_backends * nv; k++) fsc_tensor_free(&rs.conv[k]);
    free(rs.vals);
    free(rs.home);
    free(rs.conv);
    return st;
}

fsc_status fsc_engine_run_node(fsc_engine *e, int node, const fsc_tensor *const *in, fsc_tensor *out, fsc_error *err)
{
    const fsc_graph *g = e->g;
    if (node < 0 || node >= g->n_nodes) return fsc_fail(err, FSC_ERR_INVALID, "no node %d", node);
    int b = e->plan.node_backend[node];
    if (b < 0) return fsc_fail(err, FSC_ERR_INVALID, "node %d is a constant", node);
    const fsc_node *n = &g->nodes[node];
    fsc_backend *be = e->plan.backends[b];
    const fsc_tensor *args[64];
    fsc_tensor conv[64];
    memset(conv, 0, sizeof conv);
    fsc_status st = FSC_OK;
    for (int k = 0; k < n->n_in && !st; k++) {
        int v = n->in[k];
        args[k] = NULL;
        if (v < 0) continue;
        if (g->values[v].constant && !in[k]) {
            args[k] = &e->consts[(size_t)b * (size_t)g->n_values + (size_t)v];
        } else if (!in[k]) {
            st = fsc_fail(err, FSC_ERR_INVALID, "input %d of node %d was not given", k, node);
        } else if (arrives_as_is(be, &g->values[v], in[k])) {
            args[k] = in[k]; /* no copy: nothing to convert */
        } else {
            st = convert_for(be, &g->values[v], in[k], &conv[k], err);
            args[k] = &conv[k];
        }
    }
    if (!st) st = be->vt->run_node(be, g, node, args, out, err);
    for (int k = 0; k < n->n_in; k++) fsc_tensor_free(&conv[k]);
    return st;
}
