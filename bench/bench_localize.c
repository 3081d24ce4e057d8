/* bench_localize.c: the cost of `localize` on the built-in model (224x224 by
 * default) against the cost of running both configurations once (opening
 * each engine and one inference). Issue 7 asks for at most 3x.
 * Usage: bench_localize [--size N] [--threads N] [--no-margin] [REFERENCE TARGET]
 * Prints both wall times, the ratio, and where localize spent its time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/probe_localize.h"
#include "flipscope/synth.h"

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

/* Opens cfg and runs it once; returns the wall time or -1. */
static double run_once(const fsc_graph *g, const fsc_tensor *x, const char *cfg, const fsc_ctx *ctx)
{
    fsc_error err;
    fsc_engine *e;
    fsc_tensor y[8];
    double t0 = now_s();
    if (fsc_engine_open(cfg, g, ctx, &e, &err) || fsc_engine_run(e, x, y, NULL, &err)) {
        fprintf(stderr, "bench_localize: %s\n", err.msg);
        return -1;
    }
    double t = now_s() - t0;
    for (int i = 0; i < g->n_outputs && i < 8; i++) fsc_tensor_free(&y[i]);
    fsc_engine_close(e);
    return t;
}

int main(int argc, char **argv)
{
    int size = 224, threads = 0;
    const char *cfg[2] = {"emu:fp64", "emu:fp16-acc16"};
    int n = 0;
    fsc_localize_opts o = fsc_localize_default();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-margin")) o.margin = false;
        else if (n < 2) cfg[n++] = argv[i];
    }
    if (size < 8 || size > 4096) {
        fprintf(stderr, "bench_localize: bad --size\n");
        return 2;
    }
    fsc_ctx ctx = fsc_ctx_default();
    if (threads > 0) ctx.threads = threads;
    fsc_error err;
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = size;
    fsc_graph *g;
    if (fsc_synth_amplified_conv_tie(&so, &g, &err)) {
        fprintf(stderr, "bench_localize: %s\n", err.msg);
        return 2;
    }
    fsc_tensor x;
    uint64_t seed = 1234;
    if (fsc_inputs_load(g, NULL, 0, &seed, &ctx, &x, &err)) return 2;
    double c0 = cpu_s();
    double tr = run_once(g, &x, cfg[0], &ctx), tt = run_once(g, &x, cfg[1], &ctx);
    double cb = cpu_s() - c0;
    if (tr < 0 || tt < 0) return 2;
    fsc_localize_result r;
    c0 = cpu_s();
    double t0 = now_s();
    if (fsc_probe_localize(g, &x, cfg[0], cfg[1], &o, &ctx, &r, &err)) {
        fprintf(stderr, "bench_localize: %s\n", err.msg);
        return 2;
    }
    double tl = now_s() - t0, cl = cpu_s() - c0;
    printf("model AmplifiedConvTie %dx%d, reference %s, target %s, %d threads\n", size, size, cfg[0], cfg[1],
           ctx.threads);
    printf("both configurations once: %.3f s (%s %.3f s + %s %.3f s)\n", tr + tt, cfg[0], tr, cfg[1], tt);
    printf("localize%s: %.3f s (tapped runs %.3f + %.3f s, isolated %.3f s, margin patching %.3f s)\n",
           o.margin ? "" : " --no-margin", tl, r.seconds_reference, r.seconds_target, r.seconds_isolated,
           r.seconds_margin);
    printf("ratio localize / both once: %.2fx wall, %.2fx CPU (%.3f s / %.3f s) (issue 7: at most 3x)\n",
           tl / (tr + tt), cl / cb, cl, cb);
    printf("peak tensor memory held by the probe: %.1f MiB\n", (double)r.peak_bytes / (1024.0 * 1024.0));
    if (r.margin_attributed)
        printf("margin delta %.9g, sum of contributions %.9g, %lld reference op runs, %d steps skipped\n",
               r.margin_delta, r.margin_contrib_sum, (long long)r.margin_node_runs, r.margin_skipped);
    fsc_localize_result_free(&r);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
    return 0;
}
