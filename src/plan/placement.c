/* placement.c: which device of a compute-unit preset runs each node, the
 * segments that placement cuts the graph into, and the counts that
 * `flipscope plan` reports (SEED.md stage 2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/plan.h"

bool fsc_node_is_load_time(const fsc_graph *g, int node)
{
    if (!g || node < 0 || node >= g->n_nodes) return false;
    const fsc_node *n = &g->nodes[node];
    if (n->op == FSC_OP_CONSTANT) return true;
    /* Core ML's constexpr_* ops (weight decompression) are evaluated when the
     * model is loaded, not by a compute unit: the seed's plan lists them with
     * no device. Only when every input is a constant can that be so. */
    if (!n->op_type || strncmp(n->op_type, "constexpr_", 10) != 0) return false;
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0 && !fsc_graph_is_const(g, n->in[k])) return false;
    return true;
}

static bool value_ok(const fsc_device *d, const fsc_value *v)
{
    if (d->max_rank && v->shape.rank > d->max_rank) return false;
    if (!d->any_dtype && (v->dtype <= FSC_DT_UNDEF || v->dtype >= FSC_DT_COUNT || !d->dtypes[v->dtype])) return false;
    return true;
}

bool fsc_device_supports(const fsc_device *d, const fsc_graph *g, int node)
{
    if (!d || !g || node < 0 || node >= g->n_nodes) return false;
    const fsc_node *n = &g->nodes[node];
    if ((int)n->op < 0 || n->op >= FSC_OP_COUNT || n->op == FSC_OP_CONSTANT) return false;
    if (!d->all_ops && !d->ops[n->op]) return false;
    for (int k = 0; k < n->n_in; k++) {
        int v = n->in[k];
        if (v < 0 || v >= g->n_values) continue;
        const fsc_value *val = &g->values[v];
        if (d->max_rank && val->shape.rank > d->max_rank) return false;
        /* Constant inputs (shapes, axes, scales, weights) are parameters the
         * device compiles in; dtype limits apply to the tensors it streams. */
        if (!fsc_graph_is_const(g, v) && !value_ok(d, val)) return false;
    }
    for (int k = 0; k < n->n_out; k++) {
        int v = n->out[k];
        if (v >= 0 && v < g->n_values && !value_ok(d, &g->values[v])) return false;
    }
    if (d->max_kernel) {
        int64_t kh = 0, kw = 0;
        if (n->op == FSC_OP_CONV2D && n->n_in > 1 && n->in[1] >= 0 && g->values[n->in[1]].shape.rank == 4) {
            kh = g->values[n->in[1]].shape.dim[2];
            kw = g->values[n->in[1]].shape.dim[3];
        } else if (n->op == FSC_OP_MAXPOOL || n->op == FSC_OP_AVGPOOL) {
            kh = n->attr.pool.kernel[0];
            kw = n->attr.pool.kernel[1];
        }
        if (kh > d->max_kernel || kw > d->max_kernel) return false;
    }
    return true;
}

void fsc_plan_free(fsc_plan *plan)
{
    if (!plan) return;
    free(plan->ops);
    free(plan->segments);
    free(plan->types);
    memset(plan, 0, sizeof *plan);
}

static const char *op_type_of(const fsc_graph *g, int node)
{
    const fsc_node *n = &g->nodes[node];
    return n->op_type ? n->op_type : fsc_op_name(n->op);
}

static int type_cmp(const void *a, const void *b)
{
    const fsc_plan_type *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->op_type, y->op_type);
}

/* Counts per op type (and per preferred device). */
static fsc_status count_types(const fsc_graph *g, fsc_plan *pl, fsc_error *err)
{
    pl->types = fsc_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *pl->types, "plan op types", err);
    if (!pl->types) return FSC_ERR_NOMEM;
    for (int i = 0; i < g->n_nodes; i++) {
        const char *t = op_type_of(g, i);
        int k = 0;
        while (k < pl->n_types && strcmp(pl->types[k].op_type, t)) k++;
        if (k == pl->n_types) pl->types[pl->n_types++].op_type = t;
        pl->types[k].count++;
        if (pl->ops[i].device < 0) pl->types[k].none++;
        else pl->types[k].on_device[pl->ops[i].device]++;
    }
    qsort(pl->types, (size_t)pl->n_types, sizeof *pl->types, type_cmp);
    return FSC_OK;
}

static fsc_status cut_segments(const fsc_graph *g, fsc_plan *pl, fsc_error *err)
{
    pl->segments = fsc_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *pl->segments, "plan segments", err);
    if (!pl->segments) return FSC_ERR_NOMEM;
    fsc_plan_segment *cur = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        int d = pl->ops[i].device;
        if (d < 0) continue;
        if (!cur || cur->device != d) {
            cur = &pl->segments[pl->n_segments++];
            cur->device = d;
            cur->first = i;
        }
        cur->last = i;
        cur->n_ops++;
    }
    return FSC_OK;
}

fsc_status fsc_plan_make(const fsc_graph *g, const fsc_profile *p, const char *preset, fsc_plan *out, fsc_error *err)
{
    memset(out, 0, sizeof *out);
    int si = fsc_profile_preset_index(p, preset);
    if (si < 0) {
        char known[512] = "";
        for (int i = 0; i < p->n_presets; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, p->presets[i].name, sizeof known - strlen(known) - 1);
        }
        return fsc_fail(err, FSC_ERR_INVALID, "profile '%s' has no preset '%s' (presets: %s)", p->name,
                        preset ? preset : "", known);
    }
    const fsc_preset *s = &p->presets[si];
    out->profile = p;
    out->preset = si;
    out->n_ops = g->n_nodes;
    out->ops = fsc_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *out->ops, "plan ops", err);
    if (!out->ops) return FSC_ERR_NOMEM;
    fsc_status st = FSC_OK;
    for (int i = 0; i < g->n_nodes && !st; i++) {
        fsc_plan_op *op = &out->ops[i];
        op->device = -1;
        if (fsc_node_is_load_time(g, i)) {
            op->load_time = true;
            out->n_none++;
            continue;
        }
        for (int k = 0; k < s->n_devices; k++) {
            int d = s->devices[k];
            if (!fsc_device_supports(&p->devices[d], g, i)) continue;
            op->supported |= 1u << d;
            out->supported[d]++;
            if (op->device < 0) op->device = d;
        }
        if (op->device < 0 && s->fallback >= 0) {
            op->device = s->fallback;
            op->fallback = true;
            out->n_fallback++;
        }
        if (op->device < 0) {
            char lb[200], devs[256] = "";
            for (int k = 0; k < s->n_devices; k++) {
                strncat(devs, k ? ", " : "", sizeof devs - strlen(devs) - 1);
                strncat(devs, p->devices[s->devices[k]].name, sizeof devs - strlen(devs) - 1);
            }
            st = fsc_fail(err, FSC_ERR_UNSUPPORTED,
                          "%s: op '%s' is supported by no device of %s:%s (%s) and the preset has no fallback device",
                          fsc_node_label(g, i, lb, sizeof lb), op_type_of(g, i), p->name, s->name, devs);
            break;
        }
        out->preferred[op->device]++;
    }
    if (!st) st = cut_segments(g, out, err);
    if (!st) st = count_types(g, out, err);
    if (st) fsc_plan_free(out);
    return st;
}
