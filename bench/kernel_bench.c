/* kernel_bench.c: times the conv kernels and one inference of the built-in
 * model per preset (not a test: timings vary). Usage:
 *   kernel_bench [threads] [runs] [preset ...]   (FSC_KERNEL_ISA=0 pins the portable path;
 *   presets default to fp32 fp16 bf16 tf32 fp16-acc16 fp64, e.g. h100-fp16 for the block-FMA engine) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "flipscope/arith.h"
#include "flipscope/exec.h"
#include "flipscope/rng.h"
#include "flipscope/synth.h"
#include "flipscope/transforms.h"
#include "kernels/gemm_fast.h"
#include "kernels/ops.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads): robust on a loaded machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fill_rounded(fsc_tensor *t, fsc_rng *r, double scale, fsc_format_id f)
{
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++) fsc_tensor_set(t, i, fsc_rne(scale * fsc_rng_normal(r), f));
}

typedef struct taptime {
    double last;
    bool print;
} taptime;

/* Prints the time since the previous node (per-node profile of the last run). */
static void tap(void *user, const fsc_graph *g, int node, const fsc_tensor *outs, int n_out)
{
    (void)outs, (void)n_out;
    taptime *tt = user;
    double t = cpu_now();
    if (tt->print) printf("    node %2d %-14s cpu %.4f s\n", node, g->nodes[node].op_type, t - tt->last);
    tt->last = cpu_now();
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2, runs = argc > 2 ? atoi(argv[2]) : 3;
    fsc_ctx ctx = fsc_ctx_default();
    ctx.threads = threads;
    fsc_error err = {0};
    const char *defaults[] = {"fp32", "fp16", "bf16", "tf32", "fp16-acc16", "fp64"};
    const char *const *names = argc > 3 ? (const char *const *)argv + 3 : defaults;
    int n_names = argc > 3 ? argc - 3 : 6;
    printf("threads %d, isa %d\n", threads, fsc_fastmm_isa(-1));
    for (int p = 0; p < n_names; p++) {
        const fsc_arith *a = fsc_arith_preset(names[p]);
        if (!a) {
            fprintf(stderr, "kernel_bench: unknown preset %s\n", names[p]);
            return 2;
        }
        fsc_dtype dt = a->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
        int64_t xd[4] = {1, 64, 224, 224}, wd[4] = {64, 64, 3, 3}, bd[1] = {64};
        fsc_shape xs = fsc_shape_make(4, xd), ws = fsc_shape_make(4, wd), bs = fsc_shape_make(1, bd);
        fsc_tensor x, w, b, y;
        fsc_rng r;
        fsc_rng_seed(&r, 7);
        if (fsc_tensor_alloc(&x, dt, &xs, 0, &err) || fsc_tensor_alloc(&w, dt, &ws, 0, &err) ||
            fsc_tensor_alloc(&b, dt, &bs, 0, &err) || fsc_tensor_alloc(&y, dt, &xs, 0, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        fill_rounded(&x, &r, 1.0, a->storage);
        fill_rounded(&w, &r, 0.04, a->weights);
        fill_rounded(&b, &r, 0.04, a->weights);
        fsc_attr_conv at = {{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
        double best = 1e9, bestc = 1e9;
        for (int i = 0; i < runs; i++) {
            double t0 = now(), c0 = cpu_now();
            if (fsc_k_conv2d(&at, &x, &w, &b, a, &ctx, &y, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
            double t = now() - t0, c = cpu_now() - c0;
            if (t < best) best = t;
            if (c < bestc) bestc = c;
        }
        double flop = 2.0 * 64 * 64 * 9 * 224 * 224;
        printf("%-11s conv 64->64 3x3 224x224: wall %.3f s (%.1f GFLOP/s), cpu %.3f s (%.1f GFLOP/s per core)", names[p],
               best, flop / best * 1e-9, bestc, flop / bestc * 1e-9);
        fsc_tensor_free(&x), fsc_tensor_free(&w), fsc_tensor_free(&b), fsc_tensor_free(&y);

        /* One inference of the built-in model through the executor. */
        fsc_synth_opts so = fsc_synth_default();
        fsc_graph *g = NULL;
        fsc_engine *e = NULL;
        char cfg[64];
        snprintf(cfg, sizeof cfg, "emu:%s", names[p]);
        if (fsc_synth_amplified_conv_tie(&so, &g, &err) || fsc_engine_open(cfg, g, &ctx, &e, &err)) {
            printf("  (model: %s)\n", err.msg);
            fsc_graph_free(g);
            continue;
        }
        int64_t id[4] = {1, 3, 224, 224};
        fsc_shape is = fsc_shape_make(4, id);
        fsc_tensor in, out;
        fsc_tensor_alloc(&in, FSC_DT_F32, &is, 0, &err);
        fsc_rng_fill_normal(&r, &in);
        best = 1e9, bestc = 1e9;
        for (int i = 0; i < runs; i++) {
            double t0 = now(), c0 = cpu_now();
            taptime tt = {c0, getenv("FSC_BENCH_PROFILE") && i == runs - 1};
            fsc_run_opts ro = {tap, &tt};
            if (fsc_engine_run(e, &in, &out, &ro, &err)) { printf("  (run: %s)\n", err.msg); break; }
            double t = now() - t0, c = cpu_now() - c0;
            if (t < best) best = t;
            if (c < bestc) bestc = c;
            if (i == runs - 1)
                printf("\n            model: wall %.3f s/inference, cpu %.3f s  logits %.6f %.6f\n", best, bestc,
                       fsc_tensor_get(&out, 0), fsc_tensor_get(&out, 1));
            fsc_tensor_free(&out);
        }
        fsc_tensor_free(&in);
        fsc_engine_close(e);
        fsc_graph_free(g);
    }
    /* The seed's W8A8 variant under the fake-quant configurations. */
    fsc_synth_opts so = fsc_synth_default();
    fsc_graph *g = NULL, *q = NULL;
    if (fsc_synth_amplified_conv_tie(&so, &g, &err) || fsc_variant_w8a8(g, 7, 8, &ctx, &q, &err)) {
        printf("w8a8: %s\n", err.msg);
        fsc_graph_free(g);
        return 0;
    }
    const char *qc[2] = {"emu:w8a8-fake16", "emu:w8a8-fake32"};
    for (int i = 0; i < 2; i++) {
        fsc_engine *e = NULL;
        if (fsc_engine_open(qc[i], q, &ctx, &e, &err)) {
            printf("%s: %s\n", qc[i], err.msg);
            continue;
        }
        int64_t id[4] = {1, 3, 224, 224};
        fsc_shape is = fsc_shape_make(4, id);
        fsc_tensor in, out;
        fsc_rng r;
        fsc_rng_seed(&r, 9);
        fsc_tensor_alloc(&in, FSC_DT_F32, &is, 0, &err);
        fsc_rng_fill_normal(&r, &in);
        double best = 1e9, bestc = 1e9;
        for (int k = 0; k < runs; k++) {
            double t0 = now(), c0 = cpu_now();
            if (fsc_engine_run(e, &in, &out, NULL, &err)) { printf("%s: %s\n", qc[i], err.msg); break; }
            double t = now() - t0, c = cpu_now() - c0;
            if (t < best) best = t;
            if (c < bestc) bestc = c;
            if (k == runs - 1)
                printf("%-16s W8A8 model: wall %.3f s/inference, cpu %.3f s  logits %.6f %.6f\n", qc[i], best, bestc,
                       fsc_tensor_get(&out, 0), fsc_tensor_get(&out, 1));
            fsc_tensor_free(&out);
        }
        fsc_tensor_free(&in);
        fsc_engine_close(e);
    }
    fsc_graph_free(q);
    fsc_graph_free(g);
    return 0;
}
