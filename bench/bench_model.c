/* bench_model.c: median wall time of one inference per configuration, of the
 * built-in AmplifiedConvTie model (224x224 by default) or of a model file.
 * Usage: bench_model [--size N] [--reps N] [--threads N] [--model FILE] [CONFIG ...]
 * Prints one line per configuration: name, median ms, min ms, GFLOP/s (the
 * GFLOP figure is the seed architecture's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/synth.h"

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

int main(int argc, char **argv)
{
    int size = 224, reps = 5, threads = 0;
    const char *model = NULL;
    const char *cfgs[64];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[++i];
        else if (n < 64) cfgs[n++] = argv[i];
    }
    static const char *defaults[] = {"emu:fp32", "emu:fp16", "emu:bf16", "emu:tf32", "emu:fp16-acc16", "emu:fp64"};
    if (!n) {
        for (int i = 0; i < 6; i++) cfgs[i] = defaults[i];
        n = 6;
    }
    if (reps < 1 || reps > 1000 || size < 8) {
        fprintf(stderr, "bench_model: bad --reps or --size\n");
        return 2;
    }
    fsc_ctx ctx = fsc_ctx_default();
    if (threads > 0) ctx.threads = threads;
    fsc_error err;
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = size;
    fsc_graph *g;
    if (model ? fsc_model_load(model, &ctx, &g, &err) : fsc_synth_amplified_conv_tie(&so, &g, &err)) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        return 2;
    }
    fsc_tensor x;
    uint64_t seed = 1234;
    if (fsc_inputs_load(g, NULL, 0, &seed, &ctx, &x, &err)) return 2;
    /* multiply-adds: 3x3 convs 3->64, 64->64 (x3), 1x1 64->16 */
    double hw = (double)size * size;
    double gflop = 2.0 * hw * (27.0 * 64 + 3 * 576.0 * 64 + 64.0 * 16) / 1e9;
    printf("# %s %dx%d (%.2f GFLOP), %d threads, median of %d runs after 1 warm-up\n",
           model ? model : "AmplifiedConvTie", size, size, gflop, ctx.threads, reps);
    printf("%-22s %10s %10s %10s\n", "configuration", "median_ms", "min_ms", "GFLOP/s");
    for (int c = 0; c < n; c++) {
        fsc_engine *e;
        if (fsc_engine_open(cfgs[c], g, &ctx, &e, &err)) {
            printf("%-22s FAILED: %s\n", cfgs[c], err.msg);
            continue;
        }
        double *t = calloc((size_t)reps, sizeof *t);
        fsc_tensor y;
        int ok = fsc_engine_run(e, &x, &y, NULL, &err) == FSC_OK;
        if (ok) fsc_tensor_free(&y);
        for (int r = 0; ok && r < reps; r++) {
            double t0 = now_s();
            ok = fsc_engine_run(e, &x, &y, NULL, &err) == FSC_OK;
            t[r] = now_s() - t0;
            if (ok) fsc_tensor_free(&y);
        }
        if (!ok) printf("%-22s FAILED: %s\n", cfgs[c], err.msg);
        else {
            qsort(t, (size_t)reps, sizeof *t, cmp);
            printf("%-22s %10.1f %10.1f %10.1f\n", cfgs[c], 1e3 * t[reps / 2], 1e3 * t[0], gflop / t[reps / 2]);
        }
        fflush(stdout);
        free(t);
        fsc_engine_close(e);
    }
    fsc_tensor_free(&x);
    fsc_graph_free(g);
    return 0;
}
