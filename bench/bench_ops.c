/* bench_ops.c: where one inference's time goes, node by node. Runs a model
 * (a file, or the built-in AmplifiedConvTie) under each configuration and
 * prints, per node, the process CPU time and wall time from the end of the
 * previous node to the end of this one (so a node's line includes converting
 * its inputs at a device boundary and freeing values after their last use),
 * averaged over --reps runs after one warm-up, and a total per op type. A tap
 * turns the executor's fused regions off, so the table is the unfused run;
 * the last lines time whole runs without a tap, fused and unfused.
 * Usage: bench_ops [--size N] [--reps N] [--threads N] [--model FILE] CONFIG ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/synth.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct prof {
    double *cpu, *wall; /* per node */
    double last_cpu, last_wall;
} prof;

static void tap(void *user, const fsc_graph *g, int node, const fsc_tensor *outs, int n_out)
{
    (void)g, (void)outs, (void)n_out;
    prof *p = user;
    double c = clock_s(CLOCK_PROCESS_CPUTIME_ID), w = clock_s(CLOCK_MONOTONIC);
    p->cpu[node] += c - p->last_cpu;
    p->wall[node] += w - p->last_wall;
    p->last_cpu = c;
    p->last_wall = w;
}

int main(int argc, char **argv)
{
    int size = 224, reps = 3, threads = 0;
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
    if (!n || reps < 1 || size < 8) {
        fprintf(stderr, "usage: bench_ops [--size N] [--reps N] [--threads N] [--model FILE] CONFIG ...\n");
        return 2;
    }
    fsc_ctx ctx = fsc_ctx_default();
    if (threads > 0) ctx.threads = threads;
    fsc_error err;
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = size;
    fsc_graph *g;
    if (model ? fsc_model_load(model, &ctx, &g, &err) : fsc_synth_amplified_conv_tie(&so, &g, &err)) {
        fprintf(stderr, "bench_ops: %s\n", err.msg);
        return 2;
    }
    fsc_tensor x;
    uint64_t seed = 1234;
    if (fsc_inputs_load(g, NULL, 0, &seed, &ctx, &x, &err)) return 2;
    prof p = {calloc((size_t)g->n_nodes + 1, sizeof(double)), calloc((size_t)g->n_nodes + 1, sizeof(double)), 0, 0};
    for (int c = 0; c < n; c++) {
        fsc_engine *e;
        if (fsc_engine_open(cfgs[c], g, &ctx, &e, &err)) {
            printf("%s FAILED: %s\n", cfgs[c], err.msg);
            continue;
        }
        fsc_tensor y;
        if (fsc_engine_run(e, &x, &y, NULL, &err)) {
            printf("%s FAILED: %s\n", cfgs[c], err.msg);
            fsc_engine_close(e);
            continue;
        }
        fsc_tensor_free(&y);
        memset(p.cpu, 0, (size_t)g->n_nodes * sizeof(double));
        memset(p.wall, 0, (size_t)g->n_nodes * sizeof(double));
        fsc_run_opts ro = {0};
        ro.tap = tap;
        ro.tap_user = &p;
        double tc = 0, tw = 0;
        for (int r = 0; r < reps; r++) {
            double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
            p.last_cpu = c0;
            p.last_wall = w0;
            if (fsc_engine_run(e, &x, &y, &ro, &err)) break;
            fsc_tensor_free(&y);
            tc += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            tw += clock_s(CLOCK_MONOTONIC) - w0;
        }
        printf("# %s, %d threads, per run (mean of %d): CPU %.1f ms, wall %.1f ms\n", cfgs[c], ctx.threads, reps,
               1e3 * tc / reps, 1e3 * tw / reps);
        printf("%-4s %-20s %-44s %9s %9s %-16s\n", "node", "op", "name", "cpu_ms", "wall_ms", "backend");
        for (int i = 0; i < g->n_nodes; i++) {
            const fsc_backend *b = fsc_engine_node_backend(e, i);
            if (!b) continue;
            printf("%-4d %-20s %-44.44s %9.2f %9.2f %-16s\n", i, fsc_op_name(g->nodes[i].op),
                   g->nodes[i].name ? g->nodes[i].name : "", 1e3 * p.cpu[i] / reps, 1e3 * p.wall[i] / reps, b->name);
        }
        printf("# per op type: cpu_ms wall_ms\n");
        for (int op = 0; op < FSC_OP_COUNT; op++) {
            double sc = 0, sw = 0;
            int k = 0;
            for (int i = 0; i < g->n_nodes; i++)
                if ((int)g->nodes[i].op == op && fsc_engine_node_backend(e, i)) sc += p.cpu[i], sw += p.wall[i], k++;
            if (k) printf("#   %-20s x%-3d %9.2f %9.2f\n", fsc_op_name((fsc_op)op), k, 1e3 * sc / reps, 1e3 * sw / reps);
        }
        for (int unf = 0; unf < 2; unf++) {
            fsc_engine_set_unfused(e, unf);
            double bc = 1e30, bw = 1e30;
            for (int r = 0; r < reps; r++) {
                double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_s(CLOCK_MONOTONIC);
                if (fsc_engine_run(e, &x, &y, NULL, &err)) break;
                fsc_tensor_free(&y);
                double c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0, w1 = clock_s(CLOCK_MONOTONIC) - w0;
                bc = c1 < bc ? c1 : bc;
                bw = w1 < bw ? w1 : bw;
            }
            printf("# %s whole run, %s: min CPU %.1f ms, min wall %.1f ms\n", cfgs[c], unf ? "unfused" : "fused",
                   1e3 * bc, 1e3 * bw);
        }
        fsc_engine_close(e);
    }
    free(p.cpu);
    free(p.wall);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
    return 0;
}
