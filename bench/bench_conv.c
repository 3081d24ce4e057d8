/* bench_conv.c: the dot-product engine alone, on the seed model's conv layers
 * (224x224: 3->64 3x3, 64->64 3x3, 64->16 1x1) per preset. Prints, per
 * layer and preset, the minimum over the runs of the wall time and of the
 * process CPU time (on a shared machine the CPU time is the figure to
 * compare), and the GFLOP/s the CPU time gives per thread.
 * Usage: bench_conv [--size N] [--reps N] [--threads N] [--layer 0|1|2] [PRESET ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flipscope/rng.h"
#include "kernels/ops.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static fsc_tensor make(fsc_dtype dt, int rank, const int64_t *d, fsc_rng *r, double scale, fsc_format_id fmt)
{
    fsc_shape s = fsc_shape_make(rank, d);
    fsc_tensor t;
    if (fsc_tensor_alloc(&t, dt, &s, 0, NULL)) exit(2);
    for (int64_t i = 0; i < fsc_tensor_numel(&t); i++) fsc_tensor_set(&t, i, fsc_rne(scale * fsc_rng_normal(r), fmt));
    return t;
}

int main(int argc, char **argv)
{
    int size = 224, reps = 5, threads = 1, only = -1;
    const char *presets[32];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--layer") && i + 1 < argc) only = atoi(argv[++i]);
        else if (np < 32) presets[np++] = argv[i];
    }
    if (!np) presets[np++] = "fp32";
    static const int64_t layers[3][3] = {{3, 64, 3}, {64, 64, 3}, {64, 16, 1}}; /* C, M, k */
    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = threads;
    printf("# conv layers at %dx%d, %d threads, min of %d runs\n", size, size, threads, reps);
    printf("%-12s %-14s %9s %9s %12s\n", "preset", "layer", "wall_ms", "cpu_ms", "GFLOP/s/thr");
    for (int p = 0; p < np; p++) {
        const fsc_arith *a = fsc_arith_preset(presets[p]);
        if (!a) {
            fprintf(stderr, "bench_conv: unknown preset %s\n", presets[p]);
            return 2;
        }
        fsc_dtype dt = a->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
        for (int l = 0; l < 3; l++) {
            if (only >= 0 && l != only) continue;
            int64_t C = layers[l][0], M = layers[l][1], k = layers[l][2];
            fsc_rng r;
            fsc_rng_seed(&r, 7);
            int64_t xd[4] = {1, C, size, size}, wd[4] = {M, C, k, k}, bd[1] = {M}, yd[4] = {1, M, size, size};
            fsc_tensor x = make(dt, 4, xd, &r, 1.0, a->storage), w = make(dt, 4, wd, &r, 0.1, a->weights);
            fsc_tensor b = make(dt, 1, bd, &r, 0.1, a->weights), y = make(dt, 4, yd, &r, 0.0, a->storage);
            int64_t pd = k / 2;
            fsc_attr_conv at = {{1, 1}, {pd, pd, pd, pd}, {1, 1}, 1};
            double best_w = 1e30, best_c = 1e30;
            fsc_error err;
            for (int i = 0; i <= reps; i++) { /* run 0 warms up */
                double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
                if (fsc_k_conv2d(&at, &x, &w, &b, a, &ctx, &y, &err)) {
                    fprintf(stderr, "bench_conv: %s\n", err.msg);
                    return 2;
                }
                double dw = clock_s(CLOCK_MONOTONIC) - w0, dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
                if (i && dw < best_w) best_w = dw;
                if (i && dc < best_c) best_c = dc;
            }
            double flop = 2.0 * (double)(M * C * k * k) * (double)size * (double)size;
            char name[32];
            snprintf(name, sizeof name, "%lldx%lld %lldx%lld", (long long)C, (long long)M, (long long)k, (long long)k);
            printf("%-12s %-14s %9.1f %9.1f %12.1f\n", presets[p], name, 1e3 * best_w, 1e3 * best_c,
                   flop / best_c / 1e9);
            fsc_tensor_free(&x), fsc_tensor_free(&w), fsc_tensor_free(&b), fsc_tensor_free(&y);
        }
    }
    return 0;
}
