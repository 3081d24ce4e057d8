/* bench_cuda.c: inferences per second of a model (default: the seed fixture,
 * tests/fixtures/seed/seed.onnx) at batch 1 and batch 32 under cuda:*
 * configurations. Batch B is made by setting the leading dimension of every
 * non-constant value to B, valid for models whose activations all lead with
 * the batch dimension (the seed's do); the input is drawn N(0,1).
 * Usage: bench_cuda [--model M.onnx] [--reps N] [CONFIG ...]
 * (default configurations cuda:fp32 cuda:tf32 cuda:fp16 cuda:bf16).
 * Without a usable GPU it says why and exits 77 (skipped). The time includes
 * what flipscope's executor does per node: host-device copies of activations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cuda_internal.h"
#include "flipscope/exec.h"
#include "flipscope/model_io.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The same graph with batch B (see the file comment); NULL on error. */
static fsc_graph *rebatch(const fsc_graph *g, int64_t B, fsc_error *err)
{
    fsc_graph *h = fsc_graph_clone(g, err);
    if (!h) return NULL;
    for (int v = 0; v < h->n_values; v++) {
        fsc_value *val = &h->values[v];
        if (val->constant || val->shape.rank < 1) continue;
        if (val->shape.dim[0] != 1) {
            fsc_fail(err, FSC_ERR_UNSUPPORTED, "value '%s' does not lead with a batch dimension of 1", val->name);
            fsc_graph_free(h);
            return NULL;
        }
        val->shape.dim[0] = B;
    }
    return h;
}

/* Median seconds of one run of cfg on g (after one warm-up run); < 0 on error. */
static double time_config(const char *cfg, const fsc_graph *g, const fsc_ctx *ctx, int reps)
{
    fsc_error err;
    fsc_tensor *x = calloc((size_t)g->n_inputs, sizeof *x), *y = calloc((size_t)g->n_outputs, sizeof *y);
    double *t = calloc((size_t)reps, sizeof *t), med = -1;
    fsc_engine *e = NULL;
    uint64_t seed = 1234;
    if (!x || !y || !t) goto out;
    if (fsc_inputs_load(g, NULL, 0, &seed, ctx, x, &err) || fsc_engine_open(cfg, g, ctx, &e, &err)) {
        fprintf(stderr, "bench_cuda: %s: %s\n", cfg, err.msg);
        goto out;
    }
    for (int r = -1; r < reps; r++) {
        double t0 = now_s();
        if (fsc_engine_run(e, x, y, NULL, &err)) {
            fprintf(stderr, "bench_cuda: %s: %s\n", cfg, err.msg);
            goto out;
        }
        if (r >= 0) t[r] = now_s() - t0;
        for (int o = 0; o < g->n_outputs; o++) fsc_tensor_free(&y[o]);
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    med = t[reps / 2];
out:
    fsc_engine_close(e);
    for (int i = 0; x && i < g->n_inputs; i++) fsc_tensor_free(&x[i]);
    free(x);
    free(y);
    free(t);
    return med;
}

int main(int argc, char **argv)
{
    const char *model = FSC_SOURCE_DIR "/tests/fixtures/seed/seed.onnx";
    int reps = 20, n = 0;
    const char *cfgs[64];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (n < 64) cfgs[n++] = argv[i];
    }
    static const char *defaults[] = {"cuda:fp32", "cuda:tf32", "cuda:fp16", "cuda:bf16"};
    if (!n) {
        for (int i = 0; i < 4; i++) cfgs[i] = defaults[i];
        n = 4;
    }
    if (reps < 1 || reps > 10000) {
        fprintf(stderr, "bench_cuda: bad --reps\n");
        return 2;
    }
    char why[256];
    if (!fsc_cuda_probe(why, sizeof why)) {
        printf("bench_cuda: skipped, no GPU measurement taken: %s\n", why);
        return 77;
    }
    printf("bench_cuda: %s, model %s, median of %d runs\n", why, model, reps);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_error err;
    fsc_graph *g1;
    if (fsc_model_load(model, &ctx, &g1, &err)) {
        fprintf(stderr, "bench_cuda: %s\n", err.msg);
        return 2;
    }
    fsc_graph *g32 = rebatch(g1, 32, &err);
    if (!g32) {
        fprintf(stderr, "bench_cuda: batch 32: %s\n", err.msg);
        fsc_graph_free(g1);
        return 2;
    }
    int rc = 0;
    printf("%-16s %14s %14s\n", "configuration", "batch 1 inf/s", "batch 32 inf/s");
    for (int i = 0; i < n; i++) {
        double t1 = time_config(cfgs[i], g1, &ctx, reps), t32 = time_config(cfgs[i], g32, &ctx, reps);
        if (t1 < 0 || t32 < 0) rc = 1;
        printf("%-16s %14.1f %14.1f\n", cfgs[i], t1 > 0 ? 1.0 / t1 : 0.0, t32 > 0 ? 32.0 / t32 : 0.0);
    }
    fsc_graph_free(g32);
    fsc_graph_free(g1);
    return rc;
}
