/* probe.h: the drift probe (SEED.md stage 3). A probe is a library function
 * that fills a plain result struct; it never prints (renderers in src/cli
 * and src/report do).
 *
 * Margin convention: for a 2-class output, margin = logit0 - logit1 (the
 * seed's); with more classes, margin = logit[a] - logit[b] where a and b are
 * the reference configuration's two leading classes. */
#ifndef FLIPSCOPE_PROBE_H
#define FLIPSCOPE_PROBE_H

#include <stdbool.h>

#include "flipscope/ctx.h"
#include "flipscope/exec.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsc_drift_opts {
    int runs;                    /* repeated runs after the first (default 100) */
    const char *const *configs;  /* configurations to probe */
    int n_configs;
    const char *reference;       /* one of configs (or added first when absent); NULL = configs[0] */
    bool stop_at_argmax_drift;   /* stop a configuration's runs at its first argmax change (the seed's rule) */
    /* Optional, n_configs entries: the graph configs[i] runs instead of g (NULL = g), so a
     * quantized model can be compared with its float model; inputs and the first output
     * must have the same shapes. reference_graph likewise for the reference. */
    const fsc_graph *const *config_graphs;
    const fsc_graph *reference_graph;
} fsc_drift_opts;

typedef struct fsc_drift_config {
    char name[64];
    fsc_config_info info;
    bool failed;                 /* could not open or run: error says why */
    char error[FSC_ERROR_MSG_MAX];
    /* stability over repeated runs */
    int runs_done;
    bool raw_drift;              /* some run not bit-identical to the first */
    bool argmax_drift;           /* some run's argmax differs from the first */
    int first_drift_run;         /* 1-based index of the first drifting run, 0 = none */
    double worst_abs_diff;       /* over runs, vs the first run */
    double seconds_per_run;      /* median wall time of one run */
    /* the first run's output (first graph output, flattened) */
    fsc_shape shape;
    int n_logits;
    double *logits;
    fsc_format_id out_fmt;       /* storage format of the output */
    double margin;
    int argmax;
    /* comparison against the reference configuration (absent for the reference itself) */
    bool compared;
    bool exact_equal;
    double max_abs_diff;
    double max_ulp;              /* in the coarser of this and the reference's output formats; -1 for NaN */
    bool argmax_agrees;
    double *delta;               /* per logit: this - reference */
    double margin_delta;         /* this margin - reference margin */
} fsc_drift_config;

typedef struct fsc_drift_result {
    int n;
    fsc_drift_config *cfg;
    int reference;               /* index into cfg */
    int runs;
    int class_a, class_b;        /* the classes whose difference is the margin */
    bool any_flip;               /* some configuration's argmax differs from the reference's */
    bool any_instability;        /* some configuration drifted across its own runs */
} fsc_drift_result;

/* Runs every configuration (reference first) on inputs (one tensor per graph
 * input) and fills res (free with fsc_drift_result_free). A configuration
 * that fails is recorded as failed and the probe goes on; only bad options
 * or out-of-memory fail the whole call. Progress goes to ctx->progress. */
fsc_status fsc_probe_drift(const fsc_graph *g, const fsc_tensor *inputs, const fsc_drift_opts *o, const fsc_ctx *ctx,
                           fsc_drift_result *res, fsc_error *err);
void fsc_drift_result_free(fsc_drift_result *res);

#ifdef __cplusplus
}
#endif
#endif
