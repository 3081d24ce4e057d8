/* calibrate.c: activation statistics for quantization. The float program runs
 * once per calibration sample under a configuration (coremltools runs the
 * FP16 program on the CPU: "emu:fp16"), a tap recording min/max of every
 * non-constant value; the model input's range comes from the raw samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/exec.h"
#include "flipscope/transforms.h"

typedef struct tap_state {
    fsc_range *range;
} tap_state;

static void widen(fsc_range *r, double v)
{
    if (isnan(v)) return;
    if (!r->seen) {
        r->min = r->max = v;
        r->seen = true;
        return;
    }
    if (v < r->min) r->min = v;
    if (v > r->max) r->max = v;
}

static void record(void *user, const fsc_graph *g, int node, const fsc_tensor *outs, int n_out)
{
    tap_state *ts = user;
    for (int o = 0; o < n_out && o < g->nodes[node].n_out; o++) {
        int v = g->nodes[node].out[o];
        if (v < 0 || g->values[v].constant || !outs[o].data) continue;
        int64_t n = fsc_tensor_numel(&outs[o]);
        for (int64_t i = 0; i < n; i++) widen(&ts->range[v], fsc_tensor_get(&outs[o], i));
    }
}

fsc_status fsc_calibrate(const fsc_graph *g, const char *config, const fsc_tensor *samples, const fsc_ctx *ctx,
                         fsc_calib_stats *stats, fsc_error *err)
{
    memset(stats, 0, sizeof *stats);
    int64_t n;
    fsc_status s = fsc_calib_sample_count(g, samples, &n, err);
    if (s) return s;
    const fsc_value *in = &g->values[g->inputs[0]];
    int64_t per = fsc_shape_numel(&in->shape);
    size_t esz = samples->dtype == FSC_DT_F64 ? 8 : 4;
    stats->range = fsc_calloc((size_t)g->n_values + 1, sizeof *stats->range, "calibration statistics", err);
    if (!stats->range) return FSC_ERR_NOMEM;
    stats->n_values = g->n_values;
    fsc_engine *e = NULL;
    if ((s = fsc_engine_open(config ? config : "emu:fp16", g, ctx, &e, err))) {
        fsc_error_prefix(err, "calibration");
        fsc_calib_stats_free(stats);
        return s;
    }
    fsc_tensor *outs = fsc_calloc((size_t)g->n_outputs + 1, sizeof *outs, "calibration outputs", err);
    fsc_tensor x = {0};
    if (!outs || fsc_tensor_alloc(&x, samples->dtype, &in->shape, ctx ? ctx->limits.max_tensor_bytes : 0, err)) {
        s = err && err->code ? err->code : FSC_ERR_NOMEM;
        goto done;
    }
    x.fmt = samples->fmt;
    tap_state ts = {stats->range};
    fsc_run_opts opts = {.tap = record, .tap_user = &ts};
    for (int64_t k = 0; k < n; k++) {
        memcpy(x.data, (const char *)samples->data + (size_t)(k * per) * esz, (size_t)per * esz);
        for (int64_t i = 0; i < per; i++) widen(&stats->range[g->inputs[0]], fsc_tensor_get(&x, i));
        if ((s = fsc_engine_run(e, &x, outs, &opts, err))) {
            fsc_error_prefix(err, "calibration sample %lld", (long long)k);
            goto done;
        }
        for (int o = 0; o < g->n_outputs; o++) fsc_tensor_free(&outs[o]);
        if (ctx && ctx->progress) ctx->progress(ctx->progress_user, "calibration", k + 1, n);
    }
    stats->n_samples = (int)n;
done:
    fsc_tensor_free(&x);
    free(outs);
    fsc_engine_close(e);
    if (s) fsc_calib_stats_free(stats);
    return s;
}
