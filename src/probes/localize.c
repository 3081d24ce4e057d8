/* localize.c: the localize probe (docs/localize.md). Runs the reference and
 * the target once each with taps keeping every op output, compares them
 * (accumulated error), re-runs each target op on the reference's inputs
 * (isolated error), derives the verdicts, and attributes the final margin
 * delta to ops by patching: margin(k) is the output margin when the first k
 * computing ops come from the target and the rest from the reference, so the
 * contributions margin(k) - margin(k-1) telescope to the measured delta. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flipscope/probe_localize.h"

fsc_localize_opts fsc_localize_default(void)
{
    fsc_localize_opts o = {.atol = 1e-3, .rtol = 1e-2, .rank_by = FSC_METRIC_REL_L2, .top = 10, .eps = 1e-7,
                           .margin = false};
    return o;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the process (all threads): the cost measure that a busy
 * shared machine does not distort. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Every node output of one run, by value id: the engine's own tensors,
 * handed over by fsc_engine_run_keep (no copies). */
typedef struct tap_store {
    fsc_tensor *val; /* [n_values] */
    size_t bytes;
} tap_store;

static void taps_free(tap_store *ts, int n_values)
{
    if (ts->val)
        for (int v = 0; v < n_values; v++) fsc_tensor_free(&ts->val[v]);
    free(ts->val);
    ts->val = NULL;
}

/* Every element equal (same sign of zero; NaN matches NaN). */
static bool tensors_identical(const fsc_tensor *a, const fsc_tensor *b)
{
    int64_t n = fsc_tensor_numel(a);
    if (n != fsc_tensor_numel(b)) return false;
    /* Same container: equal bytes are identical values; the first differing
     * byte usually ends the scan early. NaNs with different payloads count
     * as different here (safe: it only costs a recomputation). */
    if (a->dtype == b->dtype && a->nbytes == b->nbytes) return memcmp(a->data, b->data, a->nbytes) == 0;
    for (int64_t i = 0; i < n; i++) {
        double x = fsc_tensor_get(a, i), y = fsc_tensor_get(b, i);
        if (isnan(x) && isnan(y)) continue;
        if (x != y || signbit(x) != signbit(y)) return false;
    }
    return true;
}

/* Shared state of one localize call. */
typedef struct loc {
    const fsc_graph *g;
    const fsc_tensor *inputs;
    fsc_engine *ref, *tgt;
    const fsc_localize_opts *o;
    const fsc_ctx *ctx;
    fsc_localize_result *res;
    tap_store rt, tt;       /* reference and target taps */
    int *row_of;            /* [n_values]: first row index of a node output, -1 otherwise */
    int *input_idx;         /* [n_values]: graph input position, -1 otherwise */
    bool *same;             /* [n_values]: target tap identical to the reference tap (inputs: true) */
    size_t held;            /* bytes held now by the probe */
} loc;

static void note_bytes(loc *L, size_t delta_plus, size_t delta_minus)
{
    L->held += delta_plus;
    L->held -= delta_minus;
    if (L->held > L->res->peak_bytes) L->res->peak_bytes = L->held;
}

static bool is_const_value(const fsc_graph *g, int v) { return v >= 0 && g->values[v].constant != NULL; }

/* The tensor of value v in the reference run (graph inputs: the caller's). */
static const fsc_tensor *ref_value(const loc *L, int v)
{
    if (L->input_idx[v] >= 0) return &L->inputs[L->input_idx[v]];
    return &L->rt.val[v];
}

static fsc_status build_rows(loc *L, fsc_error *err)
{
    const fsc_graph *g = L->g;
    fsc_localize_result *r = L->res;
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op != FSC_OP_CONSTANT) n += g->nodes[i].n_out;
    r->rows = fsc_calloc((size_t)(n ? n : 1), sizeof *r->rows, "localize rows", err);
    if (!r->rows) return FSC_ERR_NOMEM;
    r->n_rows = n;
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *nd = &g->nodes[i];
        if (nd->op == FSC_OP_CONSTANT) continue;
        const fsc_backend *b = fsc_engine_node_backend(L->tgt, i);
        for (int o = 0; o < nd->n_out; o++, k++) {
            fsc_localize_row *row = &r->rows[k];
            row->node = i;
            row->out_index = o;
            row->value = nd->out[o];
            snprintf(row->name, sizeof row->name, "%s", nd->name ? nd->name : "");
            snprintf(row->op, sizeof row->op, "%s", fsc_op_name(nd->op));
            snprintf(row->device, sizeof row->device, "%s", b ? b->name : "?");
            row->ulp_fmt = b && b->arith ? b->arith->storage : FSC_FMT_FP32;
            L->row_of[nd->out[o]] = k;
        }
    }
    return FSC_OK;
}

/* Runs one engine over the inputs, keeping every node output. */
static fsc_status run_tapped(loc *L, fsc_engine *e, tap_store *ts, fsc_tensor *outs, double *seconds, double *cpu,
                             fsc_error *err)
{
    const fsc_graph *g = L->g;
    ts->val = fsc_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *ts->val, "taps", err);
    if (!ts->val) return FSC_ERR_NOMEM;
    double t0 = now_s(), c0 = cpu_s();
    fsc_status st = fsc_engine_run_keep(e, L->inputs, outs, NULL, ts->val, err);
    *seconds = now_s() - t0;
    *cpu = cpu_s() - c0;
    for (int v = 0; v < g->n_values; v++) ts->bytes += ts->val[v].nbytes;
    if (st) fsc_error_prefix(err, "%s", fsc_engine_info(e)->name);
    size_t out_bytes = 0;
    for (int i = 0; !st && i < g->n_outputs; i++) out_bytes += outs[i].nbytes;
    note_bytes(L, ts->bytes + out_bytes, 0);
    return st;
}

static fsc_status accumulated(loc *L, fsc_error *err)
{
    const fsc_graph *g = L->g;
    for (int v = 0; v < g->n_values; v++) L->same[v] = L->input_idx[v] >= 0;
    for (int k = 0; k < L->res->n_rows; k++) {
        fsc_localize_row *row = &L->res->rows[k];
        fsc_status st = fsc_metrics_compute(&L->tt.val[row->value], &L->rt.val[row->value], row->ulp_fmt, L->o->atol,
                                            L->o->rtol, &row->acc, err);
        if (st) {
            char lb[200];
            fsc_error_prefix(err, "%s", fsc_node_label(g, row->node, lb, sizeof lb));
            return st;
        }
        L->same[row->value] = row->acc.identical;
    }
    return FSC_OK;
}

/* Isolated error: each target op fed the reference's inputs. An op whose
 * non-constant inputs are all identical in both runs computed exactly this
 * in the target run already, so its accumulated metrics are reused. */
static fsc_status isolated(loc *L, fsc_error *err)
{
    const fsc_graph *g = L->g;
    const fsc_tensor *in[64];
    fsc_tensor outs[8];
    for (int k = 0; k < L->res->n_rows;) {
        int node = L->res->rows[k].node;
        const fsc_node *nd = &g->nodes[node];
        if (nd->n_in > 64 || nd->n_out > 8)
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "node %d has too many inputs or outputs", node);
        bool all_same = true;
        for (int i = 0; i < nd->n_in; i++) {
            int v = nd->in[i];
            in[i] = NULL;
            if (v < 0 || is_const_value(g, v)) continue;
            in[i] = ref_value(L, v);
            all_same = all_same && L->same[v];
        }
        if (all_same) {
            for (int o = 0; o < nd->n_out; o++) {
                L->res->rows[k + o].iso = L->res->rows[k + o].acc;
                L->res->rows[k + o].iso_reused = true;
            }
        } else {
            memset(outs, 0, sizeof outs);
            fsc_status st = fsc_engine_run_node(L->tgt, node, in, outs, err);
            for (int o = 0; !st && o < nd->n_out; o++) {
                fsc_localize_row *row = &L->res->rows[k + o];
                st = fsc_metrics_compute(&outs[o], &L->rt.val[row->value], row->ulp_fmt, L->o->atol, L->o->rtol,
                                         &row->iso, err);
            }
            for (int o = 0; o < nd->n_out; o++) fsc_tensor_free(&outs[o]);
            if (st) {
                char lb[200];
                fsc_error_prefix(err, "isolated run of %s", fsc_node_label(g, node, lb, sizeof lb));
                return st;
            }
        }
        k += nd->n_out;
        if (L->ctx && L->ctx->progress) L->ctx->progress(L->ctx->progress_user, "localize: isolated", k, L->res->n_rows);
    }
    return FSC_OK;
}

static void verdicts(loc *L)
{
    const fsc_graph *g = L->g;
    fsc_localize_result *r = L->res;
    for (int k = 0; k < r->n_rows; k++) {
        fsc_localize_row *row = &r->rows[k];
        const fsc_node *nd = &g->nodes[row->node];
        bool inputs_pass = true;
        double e_in = 0;
        for (int i = 0; i < nd->n_in; i++) {
            int v = nd->in[i];
            if (v < 0 || is_const_value(g, v) || L->row_of[v] < 0) continue; /* graph inputs: no error */
            const fsc_localize_row *src = &r->rows[L->row_of[v]];
            inputs_pass = inputs_pass && src->acc.pass;
            if (src->acc.rel_l2 > e_in || isnan(src->acc.rel_l2)) e_in = src->acc.rel_l2;
        }
        row->e_out = row->acc.rel_l2;
        row->e_in = e_in;
        row->rate = (row->e_out - e_in) / (e_in + L->o->eps);
        if (isinf(row->e_out) && isinf(e_in)) row->rate = 0; /* an infinite error passed through */
        row->amplification = e_in > 0 ? row->e_out / e_in : NAN;
        row->first_divergent = !row->acc.pass && inputs_pass;
        if (row->first_divergent) r->n_first_divergent++;
        if (!row->acc.pass) r->any_divergence = true;
    }
}

/* Sort key context for the ranking (qsort has no user pointer: we sort pairs). */
typedef struct rank_key {
    double bad;
    int row;
} rank_key;

static int cmp_rank(const void *a, const void *b)
{
    const rank_key *x = a, *y = b;
    if (x->bad != y->bad) {
        if (isnan(x->bad)) return -1;
        if (isnan(y->bad)) return 1;
        return x->bad > y->bad ? -1 : 1;
    }
    return x->row - y->row; /* ties in graph order */
}

static fsc_status ranking(loc *L, fsc_error *err)
{
    fsc_localize_result *r = L->res;
    rank_key *keys = fsc_calloc((size_t)(r->n_rows ? r->n_rows : 1), sizeof *keys, "ranking", err);
    r->ranking = fsc_calloc((size_t)(r->n_rows ? r->n_rows : 1), sizeof *r->ranking, "ranking", err);
    if (!keys || !r->ranking) {
        free(keys);
        return FSC_ERR_NOMEM;
    }
    int n = 0;
    for (int k = 0; k < r->n_rows; k++)
        if (!r->rows[k].iso.identical) keys[n++] = (rank_key){fsc_metric_badness(&r->rows[k].iso, L->o->rank_by), k};
    qsort(keys, (size_t)n, sizeof *keys, cmp_rank);
    r->n_ranked = n < L->o->top ? n : L->o->top;
    for (int i = 0; i < r->n_ranked; i++) {
        r->ranking[i] = keys[i].row;
        r->rows[keys[i].row].rank = i + 1;
    }
    free(keys);
    return FSC_OK;
}

/* margin = y[a] - y[b] of a flattened output tensor. */
static double margin_of(const fsc_tensor *y, int a, int b) { return fsc_tensor_get(y, a) - fsc_tensor_get(y, b); }

/* The classes of the margin (probe.h): 0 and 1 for two logits, else the
 * reference's two leading classes. */
static void margin_classes(const fsc_tensor *y, int *a, int *b)
{
    int64_t n = fsc_tensor_numel(y);
    if (n == 2) {
        *a = 0;
        *b = 1;
        return;
    }
    int best = (int)fsc_tensor_argmax(y), second = -1;
    for (int64_t i = 0; i < n; i++) {
        if (i == best) continue;
        double v = fsc_tensor_get(y, i);
        if (isnan(v)) continue;
        if (second < 0 || v > fsc_tensor_get(y, second)) second = (int)i;
    }
    *a = best;
    *b = second < 0 ? (best == 0 ? 1 : 0) : second;
}

/* The outputs of one node in one patched graph H_k, kept for the next
 * step's identity check: borrowed from the reference's outputs (which live
 * as long as the probe) or owned. */
typedef struct slot {
    fsc_tensor own[8];
    const fsc_tensor *t[8]; /* output o; NULL when own[o] holds it */
} slot;

static const fsc_tensor *slot_get(const slot *s, int o) { return s->t[o] ? s->t[o] : &s->own[o]; }

static void slot_free(slot *s)
{
    for (int o = 0; o < 8; o++) fsc_tensor_free(&s->own[o]);
    memset(s, 0, sizeof *s);
}

/* Working set of one patched run: each value's tensor, borrowed from the
 * taps or owned (computed by the reference on hybrid inputs). */
typedef struct hybrid {
    const fsc_tensor **val; /* [n_values] */
    fsc_tensor *own;        /* [n_values] owned tensors (data == NULL: not owned) */
    bool *dirty;            /* [n_values] may differ from the reference tap */
    int *last_use;          /* [n_values] last node reading the value; n_nodes for the margin output */
    int *pin;               /* [n_values] o + 1: output o of the step's node, moved to *keep when dropped */
    slot *keep;
} hybrid;

static void hybrid_drop(loc *L, hybrid *h, int v)
{
    if (!h->own[v].data) return;
    note_bytes(L, 0, h->own[v].nbytes);
    if (h->pin[v]) { /* needed by the next step: handed over, not copied */
        h->keep->own[h->pin[v] - 1] = h->own[v];
        h->keep->t[h->pin[v] - 1] = NULL;
        memset(&h->own[v], 0, sizeof h->own[v]);
        h->pin[v] = 0;
        return;
    }
    fsc_tensor_free(&h->own[v]);
}

/* Computes margin(k): computing nodes cn[0..k) from the target taps, the rest
 * by the reference engine on the hybrid values. Keeps the outputs of cn[k]
 * in *keep (borrowed or handed over) for the next step's identity check. */
static fsc_status patched_margin(loc *L, hybrid *h, const int *cn, int K, int k, int y, slot *keep, double *m,
                                 fsc_error *err)
{
    const fsc_graph *g = L->g;
    fsc_localize_result *r = L->res;
    h->keep = keep;
    for (int v = 0; v < g->n_values; v++) {
        h->val[v] = NULL;
        h->dirty[v] = false;
        h->pin[v] = 0;
        if (L->input_idx[v] >= 0) h->val[v] = &L->inputs[L->input_idx[v]];
        else if (g->values[v].constant) h->val[v] = g->values[v].constant;
    }
    for (int j = 0; j < k; j++) {
        const fsc_node *nd = &g->nodes[cn[j]];
        for (int o = 0; o < nd->n_out; o++) {
            int v = nd->out[o];
            h->val[v] = &L->tt.val[v];
            h->dirty[v] = !L->same[v];
        }
    }
    const fsc_tensor *in[64];
    fsc_status st = FSC_OK;
    for (int j = k; j < K && !st; j++) {
        int node = cn[j];
        const fsc_node *nd = &g->nodes[node];
        bool dirty = false;
        for (int i = 0; i < nd->n_in; i++) {
            int v = nd->in[i];
            in[i] = NULL;
            if (v < 0 || is_const_value(g, v)) continue;
            in[i] = h->val[v];
            dirty = dirty || h->dirty[v];
        }
        if (!dirty) {
            for (int o = 0; o < nd->n_out; o++) h->val[nd->out[o]] = &L->rt.val[nd->out[o]];
        } else {
            fsc_tensor outs[8];
            memset(outs, 0, sizeof outs);
            st = fsc_engine_run_node(L->ref, node, in, outs, err);
            r->margin_node_runs++;
            if (st) {
                char lb[200];
                fsc_error_prefix(err, "patched run %d of %s", k, fsc_node_label(g, node, lb, sizeof lb));
                for (int o = 0; o < nd->n_out; o++) fsc_tensor_free(&outs[o]);
                break;
            }
            for (int o = 0; o < nd->n_out; o++) {
                int v = nd->out[o];
                if (tensors_identical(&outs[o], &L->rt.val[v])) {
                    fsc_tensor_free(&outs[o]); /* back on the reference's values */
                    h->val[v] = &L->rt.val[v];
                    continue;
                }
                h->own[v] = outs[o];
                note_bytes(L, outs[o].nbytes, 0);
                h->val[v] = &h->own[v];
                h->dirty[v] = true;
            }
        }
        if (j == k && !st)
            for (int o = 0; o < nd->n_out; o++) {
                int v = nd->out[o];
                if (h->val[v] == &h->own[v]) h->pin[v] = o + 1; /* owned: handed over when dropped */
                else keep->t[o] = h->val[v];                   /* the reference's tap */
            }
        for (int i = 0; i < nd->n_in; i++) {
            int v = nd->in[i];
            if (v >= 0 && h->last_use[v] == node) hybrid_drop(L, h, v);
        }
        for (int o = 0; o < nd->n_out; o++)
            if (h->last_use[nd->out[o]] < 0) hybrid_drop(L, h, nd->out[o]);
    }
    if (!st) *m = margin_of(h->val[y], r->class_a, r->class_b);
    for (int v = 0; v < g->n_values; v++) hybrid_drop(L, h, v);
    return st;
}

/* H_k's value at node cn[k]: every input of that node comes from earlier
 * nodes, all from the target in H_k, so it is the reference op on the
 * target's values (the reference's own output when those are identical). */
static fsc_status ref_on_target_inputs(loc *L, int node, slot *outs, fsc_error *err)
{
    const fsc_graph *g = L->g;
    const fsc_node *nd = &g->nodes[node];
    const fsc_tensor *in[64];
    bool dirty = false;
    for (int i = 0; i < nd->n_in; i++) {
        int v = nd->in[i];
        in[i] = NULL;
        if (v < 0 || is_const_value(g, v)) continue;
        in[i] = L->input_idx[v] >= 0 ? &L->inputs[L->input_idx[v]] : &L->tt.val[v];
        dirty = dirty || !L->same[v];
    }
    if (!dirty) {
        for (int o = 0; o < nd->n_out; o++) outs->t[o] = &L->rt.val[nd->out[o]];
        return FSC_OK;
    }
    L->res->margin_node_runs++;
    fsc_status st = fsc_engine_run_node(L->ref, node, in, outs->own, err);
    if (st) {
        char lb[200];
        fsc_error_prefix(err, "patching %s", fsc_node_label(g, node, lb, sizeof lb));
    }
    return st;
}

static void ksum2(double *s, double *c, double x)
{
    double t = *s + x;
    if (fabs(*s) >= fabs(x))
        *c += (*s - t) + x;
    else
        *c += (x - t) + *s;
    *s = t;
}

/* Margin attribution by patching (docs/localize.md). */
static fsc_status attribute_margin(loc *L, fsc_error *err)
{
    const fsc_graph *g = L->g;
    fsc_localize_result *r = L->res;
    int y = g->outputs[0];
    int K = 0;
    int *cn = fsc_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int), "patching", err);
    double *m = fsc_calloc((size_t)g->n_nodes + 1, sizeof(double), "patching", err);
    hybrid h = {0};
    h.val = fsc_calloc((size_t)g->n_values + 1, sizeof *h.val, "patching", err);
    h.own = fsc_calloc((size_t)g->n_values + 1, sizeof *h.own, "patching", err);
    h.dirty = fsc_calloc((size_t)g->n_values + 1, sizeof *h.dirty, "patching", err);
    h.last_use = fsc_malloc(((size_t)g->n_values + 1) * sizeof(int), "patching", err);
    h.pin = fsc_calloc((size_t)g->n_values + 1, sizeof(int), "patching", err);
    slot keep, prev;
    memset(&keep, 0, sizeof keep);
    memset(&prev, 0, sizeof prev);
    fsc_status st = (!cn || !m || !h.val || !h.own || !h.dirty || !h.last_use || !h.pin) ? FSC_ERR_NOMEM : FSC_OK;
    if (!st) {
        for (int v = 0; v < g->n_values; v++) h.last_use[v] = -1;
        h.last_use[y] = g->n_nodes;
        for (int i = 0; i < g->n_nodes; i++) {
            if (g->nodes[i].op == FSC_OP_CONSTANT) continue;
            cn[K++] = i;
            for (int j = 0; j < g->nodes[i].n_in; j++) {
                int v = g->nodes[i].in[j];
                if (v >= 0 && h.last_use[v] < i) h.last_use[v] = i;
            }
        }
        m[0] = r->margin_reference;
        m[K] = r->margin_target;
        /* H_0's values at cn[0] are the reference's own. */
        const fsc_node *n0 = K ? &g->nodes[cn[0]] : NULL;
        for (int o = 0; n0 && o < n0->n_out; o++) prev.t[o] = &L->rt.val[n0->out[o]];
    }
    for (int k = 1; k < K && !st; k++) {
        /* H_k differs from H_{k-1} only in node cn[k-1]: from the target now,
         * from the reference on H_{k-1}'s inputs before. Equal outputs make
         * H_k == H_{k-1}: no run needed. */
        const fsc_node *nd = &g->nodes[cn[k - 1]];
        bool same = true;
        for (int o = 0; o < nd->n_out; o++) same = same && tensors_identical(&L->tt.val[nd->out[o]], slot_get(&prev, o));
        slot_free(&prev);
        if (same) {
            m[k] = m[k - 1];
            r->margin_skipped++;
            st = ref_on_target_inputs(L, cn[k], &prev, err);
        } else {
            st = patched_margin(L, &h, cn, K, k, y, &keep, &m[k], err);
            prev = keep;
            memset(&keep, 0, sizeof keep);
        }
        if (L->ctx && L->ctx->progress) L->ctx->progress(L->ctx->progress_user, "localize: margin", k, K - 1);
    }
    if (!st) {
        double s = 0, c = 0;
        for (int k = 1; k <= K; k++) {
            double d = m[k] - m[k - 1];
            r->margin_contrib[cn[k - 1]] = d;
            ksum2(&s, &c, d);
        }
        r->margin_contrib_sum = s + c;
        r->margin_attributed = true;
    }
    if (h.own)
        for (int v = 0; v < g->n_values; v++) hybrid_drop(L, &h, v);
    slot_free(&keep);
    slot_free(&prev);
    free(h.val);
    free(h.own);
    free(h.dirty);
    free(h.last_use);
    free(h.pin);
    free(cn);
    free(m);
    return st;
}

fsc_status fsc_probe_localize_engines(const fsc_graph *g, const fsc_tensor *inputs, fsc_engine *reference,
                                      fsc_engine *target, const fsc_localize_opts *o, const fsc_ctx *ctx,
                                      fsc_localize_result *res, fsc_error *err)
{
    memset(res, 0, sizeof *res);
    fsc_localize_opts def = fsc_localize_default();
    if (!o) o = &def;
    if (!(o->atol >= 0) || !(o->rtol >= 0) || !(o->eps > 0) || o->top < 0 || (int)o->rank_by < 0 ||
        o->rank_by >= FSC_METRIC_COUNT)
        return fsc_fail(err, FSC_ERR_INVALID, "localize: bad options (atol %g, rtol %g, eps %g, top %d)", o->atol,
                        o->rtol, o->eps, o->top);
    if (g->n_outputs < 1) return fsc_fail(err, FSC_ERR_INVALID, "localize: the graph has no output");
    res->opts = *o;
    snprintf(res->reference, sizeof res->reference, "%s", fsc_engine_info(reference)->name);
    snprintf(res->target, sizeof res->target, "%s", fsc_engine_info(target)->name);
    loc L = {.g = g, .inputs = inputs, .ref = reference, .tgt = target, .o = o, .ctx = ctx, .res = res};
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), nout = (size_t)g->n_outputs;
    L.row_of = fsc_malloc(nv * sizeof(int), "localize", err);
    L.input_idx = fsc_malloc(nv * sizeof(int), "localize", err);
    L.same = fsc_calloc(nv, sizeof(bool), "localize", err);
    res->margin_contrib = fsc_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof(double), "localize", err);
    fsc_tensor *rout = fsc_calloc(nout, sizeof *rout, "localize", err);
    fsc_tensor *tout = fsc_calloc(nout, sizeof *tout, "localize", err);
    fsc_status st = (!L.row_of || !L.input_idx || !L.same || !res->margin_contrib || !rout || !tout) ? FSC_ERR_NOMEM : FSC_OK;
    if (!st) {
        for (size_t v = 0; v < nv; v++) L.row_of[v] = L.input_idx[v] = -1;
        for (int i = 0; i < g->n_inputs; i++) L.input_idx[g->inputs[i]] = i;
        st = build_rows(&L, err);
    }
    if (!st) st = run_tapped(&L, reference, &L.rt, rout, &res->seconds_reference, &res->cpu_reference, err);
    if (!st) st = run_tapped(&L, target, &L.tt, tout, &res->seconds_target, &res->cpu_target, err);
    double c0 = cpu_s();
    if (!st) st = accumulated(&L, err);
    res->cpu_compare = cpu_s() - c0;
    double t0 = now_s();
    c0 = cpu_s();
    if (!st) st = isolated(&L, err);
    res->seconds_isolated = now_s() - t0;
    res->cpu_isolated = cpu_s() - c0;
    if (!st) {
        verdicts(&L);
        st = ranking(&L, err);
    }
    if (!st && fsc_tensor_numel(&rout[0]) >= 2 && fsc_tensor_numel(&tout[0]) == fsc_tensor_numel(&rout[0])) {
        res->has_margin = true;
        margin_classes(&rout[0], &res->class_a, &res->class_b);
        res->margin_reference = margin_of(&rout[0], res->class_a, res->class_b);
        res->margin_target = margin_of(&tout[0], res->class_a, res->class_b);
        res->margin_delta = res->margin_target - res->margin_reference;
        res->argmax_reference = (int)fsc_tensor_argmax(&rout[0]);
        res->argmax_target = (int)fsc_tensor_argmax(&tout[0]);
        if (o->margin) {
            t0 = now_s();
            c0 = cpu_s();
            st = attribute_margin(&L, err);
            res->seconds_margin = now_s() - t0;
            res->cpu_margin = cpu_s() - c0;
        }
    }
    for (size_t i = 0; rout && i < nout; i++) fsc_tensor_free(&rout[i]);
    for (size_t i = 0; tout && i < nout; i++) fsc_tensor_free(&tout[i]);
    free(rout);
    free(tout);
    taps_free(&L.rt, g->n_values);
    taps_free(&L.tt, g->n_values);
    free(L.row_of);
    free(L.input_idx);
    free(L.same);
    if (st) fsc_localize_result_free(res);
    return st;
}

fsc_status fsc_probe_localize(const fsc_graph *g, const fsc_tensor *inputs, const char *reference, const char *target,
                              const fsc_localize_opts *o, const fsc_ctx *ctx, fsc_localize_result *res,
                              fsc_error *err)
{
    memset(res, 0, sizeof *res);
    fsc_engine *re = NULL, *te = NULL;
    fsc_status st = fsc_engine_open(reference, g, ctx, &re, err);
    if (!st) st = fsc_engine_open(target, g, ctx, &te, err);
    if (!st) st = fsc_probe_localize_engines(g, inputs, re, te, o, ctx, res, err);
    fsc_engine_close(re);
    fsc_engine_close(te);
    return st;
}

void fsc_localize_result_free(fsc_localize_result *res)
{
    if (!res) return;
    free(res->rows);
    free(res->ranking);
    free(res->margin_contrib);
    memset(res, 0, sizeof *res);
}
