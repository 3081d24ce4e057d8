/* drift.c: the drift probe. Each configuration runs once for its reference
 * output, then `runs` more times: any output that is not bit-identical is
 * drift (a backend that is not repeatable). Then every configuration is
 * compared with the reference configuration: a backend-dependent flip is a
 * different argmax between two individually repeatable configurations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flipscope/probe.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void free_outputs(fsc_tensor *t, int n)
{
    for (int i = 0; i < n; i++) fsc_tensor_free(&t[i]);
}

static bool bit_identical(const fsc_tensor *a, const fsc_tensor *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].nbytes != b[i].nbytes || memcmp(a[i].data, b[i].data, a[i].nbytes) != 0) return false;
    return true;
}

/* The configuration part of a name "cfg@model": what engines open. */
static const char *config_base(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s", name);
    char *at = strchr(buf, '@');
    if (at) *at = '\0';
    return buf;
}

/* Runs one configuration; fills c. Failures are recorded in c, not returned. */
static fsc_status probe_one(const fsc_graph *g, const fsc_tensor *inputs, const fsc_drift_opts *o, const fsc_ctx *ctx,
                            fsc_drift_config *c, int ci, int n_cfg)
{
    fsc_error e;
    fsc_error_clear(&e);
    fsc_engine *eng = NULL;
    int nout = g->n_outputs;
    fsc_tensor *first = calloc((size_t)nout, sizeof *first), *again = calloc((size_t)nout, sizeof *again);
    double *times = calloc((size_t)o->runs + 1, sizeof *times);
    if (!first || !again || !times) {
        free(first);
        free(again);
        free(times);
        return FSC_ERR_NOMEM;
    }
    char base[64];
    fsc_status st = fsc_engine_open(config_base(c->name, base, sizeof base), g, ctx, &eng, &e);
    if (!st) {
        c->info = *fsc_engine_info(eng);
        double t0 = now_s();
        st = fsc_engine_run(eng, inputs, first, NULL, &e);
        times[0] = now_s() - t0;
    } else {
        fsc_config_info info;
        fsc_error e2;
        if (fsc_config_lookup(base, &info, &e2) == FSC_OK) c->info = info;
    }
    if (st) {
        /* a configuration that cannot open or run is a FAILED row; the probe goes on */
        c->failed = true;
        snprintf(c->error, sizeof c->error, "%s", e.msg);
        st = FSC_OK;
        goto done;
    }
    c->runs_done = 0;
    const fsc_tensor *y = &first[0];
    c->shape = y->shape;
    c->out_fmt = y->fmt;
    c->n_logits = (int)fsc_tensor_numel(y);
    c->logits = calloc((size_t)(c->n_logits ? c->n_logits : 1), sizeof(double));
    if (!c->logits) {
        st = FSC_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < c->n_logits; i++) c->logits[i] = fsc_tensor_get(y, i);
    c->argmax = (int)fsc_tensor_argmax(y);
    int timed = 1;
    for (int r = 1; r <= o->runs; r++) {
        double t0 = now_s();
        st = fsc_engine_run(eng, inputs, again, NULL, &e);
        if (st) {
            c->failed = true;
            snprintf(c->error, sizeof c->error, "run %d: %s", r, e.msg);
            st = FSC_OK;
            break;
        }
        times[timed++] = now_s() - t0;
        c->runs_done = r;
        if (!bit_identical(first, again, nout)) {
            if (!c->raw_drift) c->first_drift_run = r;
            c->raw_drift = true;
            for (int k = 0; k < nout; k++) {
                int64_t n = fsc_tensor_numel(&first[k]);
                for (int64_t i = 0; i < n; i++) {
                    double d = fabs(fsc_tensor_get(&again[k], i) - fsc_tensor_get(&first[k], i));
                    if (d > c->worst_abs_diff || isnan(d)) c->worst_abs_diff = d;
                }
            }
            if ((int)fsc_tensor_argmax(&again[0]) != c->argmax) {
                c->argmax_drift = true;
                free_outputs(again, nout);
                if (o->stop_at_argmax_drift) break;
                continue;
            }
        }
        free_outputs(again, nout);
        if (ctx->progress) ctx->progress(ctx->progress_user, c->name, (int64_t)ci * (o->runs + 1) + r,
                                         (int64_t)n_cfg * (o->runs + 1));
    }
    qsort(times, (size_t)timed, sizeof *times, cmp_double);
    c->seconds_per_run = times[timed / 2];
done:
    free_outputs(first, nout);
    free_outputs(again, nout);
    free(first);
    free(again);
    free(times);
    fsc_engine_close(eng);
    return st;
}

void fsc_drift_result_free(fsc_drift_result *res)
{
    if (!res) return;
    for (int i = 0; i < res->n; i++) {
        free(res->cfg[i].logits);
        free(res->cfg[i].delta);
    }
    free(res->cfg);
    memset(res, 0, sizeof *res);
}

fsc_status fsc_probe_drift(const fsc_graph *g, const fsc_tensor *inputs, const fsc_drift_opts *o, const fsc_ctx *ctx,
                           fsc_drift_result *res, fsc_error *err)
{
    memset(res, 0, sizeof *res);
    if (o->runs < 1) return fsc_fail(err, FSC_ERR_INVALID, "--runs must be at least 1 (got %d)", o->runs);
    if (o->n_configs < 1) return fsc_fail(err, FSC_ERR_INVALID, "no configurations to probe");
    if (g->n_outputs < 1) return fsc_fail(err, FSC_ERR_INVALID, "the model has no outputs");
    const char *ref = o->reference ? o->reference : o->configs[0];
    /* Validate every name first: a typo is a usage error, not a FAILED row. */
    fsc_config_info info;
    char base[64];
    if (fsc_config_lookup(config_base(ref, base, sizeof base), &info, err)) return err ? err->code : FSC_ERR_INVALID;
    int n = 1;
    for (int i = 0; i < o->n_configs; i++) {
        if (fsc_config_lookup(config_base(o->configs[i], base, sizeof base), &info, err))
            return err ? err->code : FSC_ERR_INVALID;
        if (strcmp(o->configs[i], ref) != 0) n++;
    }
    res->cfg = calloc((size_t)n, sizeof *res->cfg);
    const fsc_graph **gr = calloc((size_t)n, sizeof *gr);
    if (!res->cfg || !gr) {
        free(gr);
        fsc_drift_result_free(res);
        return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    }
    res->n = n;
    res->runs = o->runs;
    res->reference = 0;
    snprintf(res->cfg[0].name, sizeof res->cfg[0].name, "%s", ref);
    gr[0] = o->reference_graph ? o->reference_graph : g;
    for (int i = 0, k = 1; i < o->n_configs; i++) {
        const fsc_graph *gi = o->config_graphs && o->config_graphs[i] ? o->config_graphs[i] : g;
        if (strcmp(o->configs[i], ref) == 0) continue;
        /* duplicates are probed once */
        bool dup = false;
        for (int j = 0; j < k; j++) dup = dup || strcmp(res->cfg[j].name, o->configs[i]) == 0;
        if (dup) {
            res->n--;
            continue;
        }
        snprintf(res->cfg[k].name, sizeof res->cfg[k].name, "%s", o->configs[i]);
        gr[k++] = gi;
    }
    /* Another model in the comparison must take the same inputs and give the same first output. */
    for (int i = 0; i < res->n; i++) {
        const fsc_graph *h = gr[i];
        bool same = h->n_inputs == g->n_inputs && h->n_outputs >= 1 &&
                    fsc_shape_equal(&h->values[h->outputs[0]].shape, &g->values[g->outputs[0]].shape);
        for (int k = 0; same && k < g->n_inputs; k++)
            same = fsc_shape_equal(&h->values[h->inputs[k]].shape, &g->values[g->inputs[k]].shape);
        if (!same) {
            fsc_status st = fsc_fail(err, FSC_ERR_INVALID,
                                     "%s: its model's inputs or first output differ in shape from the probed model's",
                                     res->cfg[i].name);
            free(gr);
            fsc_drift_result_free(res);
            return st;
        }
    }
    for (int i = 0; i < res->n; i++) {
        fsc_status st = probe_one(gr[i], inputs, o, ctx, &res->cfg[i], i, res->n);
        if (st) {
            free(gr);
            fsc_drift_result_free(res);
            return fsc_fail(err, st, "drift probe: out of memory");
        }
        if (res->cfg[i].raw_drift) res->any_instability = true;
    }
    free(gr);
    /* The margin's two classes come from the reference (the seed's logit0 - logit1 for two classes). */
    const fsc_drift_config *r = &res->cfg[0];
    res->class_a = 0;
    res->class_b = 1;
    if (!r->failed && r->n_logits > 2) {
        int a = r->argmax, b = -1;
        for (int i = 0; i < r->n_logits; i++)
            if (i != a && (b < 0 || r->logits[i] > r->logits[b])) b = i;
        res->class_a = a;
        res->class_b = b;
    }
    for (int i = 0; i < res->n; i++) {
        fsc_drift_config *c = &res->cfg[i];
        if (c->failed || c->n_logits < 2) continue;
        c->margin = c->logits[res->class_a] - c->logits[res->class_b];
    }
    if (r->failed) return FSC_OK; /* nothing to compare against; the rows say why */
    for (int i = 1; i < res->n; i++) {
        fsc_drift_config *c = &res->cfg[i];
        if (c->failed) continue;
        if (c->n_logits != r->n_logits) {
            c->failed = true;
            snprintf(c->error, sizeof c->error, "output has %d values, the reference %d", c->n_logits, r->n_logits);
            continue;
        }
        c->delta = calloc((size_t)c->n_logits, sizeof(double));
        if (!c->delta) {
            fsc_drift_result_free(res);
            return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
        }
        c->compared = true;
        c->exact_equal = true;
        for (int k = 0; k < c->n_logits; k++) {
            double d = c->logits[k] - r->logits[k];
            c->delta[k] = d;
            if (!(c->logits[k] == r->logits[k])) c->exact_equal = false;
            if (fabs(d) > c->max_abs_diff || isnan(d)) c->max_abs_diff = fabs(d);
            /* ULPs of the coarser of the two output formats: an fp64 target against an
             * fp32 reference is judged in fp32 ulps, an fp16 one in fp16 ulps. */
            fsc_format_id uf = fsc_format_get(c->out_fmt)->p < fsc_format_get(r->out_fmt)->p ? c->out_fmt : r->out_fmt;
            double u = fsc_ulp_distance(fsc_round(c->logits[k], uf, fsc_round_default()),
                                        fsc_round(r->logits[k], uf, fsc_round_default()), uf);
            if (u < 0) c->max_ulp = -1;
            else if (c->max_ulp >= 0 && u > c->max_ulp) c->max_ulp = u;
        }
        c->argmax_agrees = c->argmax == r->argmax;
        c->margin_delta = c->margin - r->margin;
        if (!c->argmax_agrees) res->any_flip = true;
    }
    return FSC_OK;
}
