/* probe_localize.h: which op introduced the difference between two
 * configurations, and which ops amplified it (issue 7, docs/localize.md).
 *
 * The probe runs a reference and a target configuration with taps on every
 * node, compares every op output (accumulated error: the target on its own
 * upstream values), re-runs every target op alone on the reference's inputs
 * (isolated error), and decides verdicts: first divergent ops, introduction
 * rate, amplification, a ranking by isolated error and, for classifier
 * outputs, each op's exact contribution to the final margin delta.
 *
 * Like every probe it fills a plain result struct and never prints. */
#ifndef FLIPSCOPE_PROBE_LOCALIZE_H
#define FLIPSCOPE_PROBE_LOCALIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flipscope/ctx.h"
#include "flipscope/exec.h"
#include "flipscope/format.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- error metrics of a target tensor t against a reference tensor r (metrics.c) ---- */

typedef enum fsc_metric {
    FSC_METRIC_MAX_ABS = 0,
    FSC_METRIC_MEAN_ABS,
    FSC_METRIC_REL_L2,
    FSC_METRIC_SNR,   /* lower is worse */
    FSC_METRIC_PSNR,  /* lower is worse */
    FSC_METRIC_MAX_ULP,
    FSC_METRIC_BEYOND,
    FSC_METRIC_COUNT
} fsc_metric;

/* Every metric over all elements (definitions: docs/localize.md). Infinite
 * results are IEEE infinities (+inf SNR for identical tensors). */
typedef struct fsc_err_metrics {
    int64_t n;             /* elements compared */
    double max_abs;        /* max |t - r| */
    double mean_abs;       /* sum |t - r| / n */
    double rel_l2;         /* ||t - r||_2 / ||r||_2; 0 when t == r; +inf when r == 0 != t */
    double snr_db;         /* 10 log10(sum r^2 / sum (t-r)^2); +inf when t == r; -inf when r == 0 != t */
    double psnr_db;        /* 10 log10(max|r|^2 / mse); +inf when t == r; -inf when r == 0 != t */
    double max_ulp;        /* max ULP distance in the given format; +inf with a NaN divergence */
    int64_t beyond;        /* elements with |t - r| > atol + rtol |r|, or a non-finite divergence */
    int64_t nonfinite;     /* elements where t is NaN/Inf and r is finite (each also in beyond) */
    int64_t mismatched_special; /* elements where r is NaN/Inf and t is not that same value */
    bool identical;        /* every element equal (same sign of zero; NaN matches NaN) */
    bool pass;             /* beyond == 0 */
} fsc_err_metrics;

/* Compares t with r (same element count; any numeric containers) under the
 * tolerance |t - r| <= atol + rtol |r|, ULP distances in format ulp_fmt
 * (integer tensors: distance in integer units). FSC_ERR_INVALID on a shape
 * mismatch or a negative tolerance. */
fsc_status fsc_metrics_compute(const fsc_tensor *t, const fsc_tensor *r, fsc_format_id ulp_fmt, double atol,
                               double rtol, fsc_err_metrics *m, fsc_error *err);
/* The metric as a "badness" key: larger is worse (SNR and PSNR are negated). */
double fsc_metric_badness(const fsc_err_metrics *m, fsc_metric which);
/* The metric's raw value (SNR/PSNR in dB, counts as doubles). */
double fsc_metric_value(const fsc_err_metrics *m, fsc_metric which);
/* "max_abs", "mean_abs", "rel_l2", "snr", "psnr", "max_ulp", "beyond". */
const char *fsc_metric_name(fsc_metric which);
/* The metric of a name above, or -1. */
int fsc_metric_by_name(const char *name);

/* ---- the localize probe (localize.c) ---- */

typedef struct fsc_localize_opts {
    double atol, rtol;   /* element tolerance (default 1e-3, 1e-2) */
    fsc_metric rank_by;  /* ranking metric of isolated errors (default rel_l2) */
    int top;             /* ranking length (default 10) */
    double eps;          /* CRADLE epsilon of the introduction rate (default 1e-7) */
    bool margin;         /* attribute the margin delta to ops by patching (default false: it costs about one reference run per op depth, docs/localize.md) */
} fsc_localize_opts;

/* The defaults above. */
fsc_localize_opts fsc_localize_default(void);

/* One row per output of every computing node (constants have none), in graph order. */
typedef struct fsc_localize_row {
    int node;             /* node index */
    int out_index;        /* which output of the node */
    int value;            /* value id */
    char name[128];       /* node name */
    char op[32];          /* fsc_op_name */
    char device[64];      /* the target backend that ran it */
    fsc_format_id ulp_fmt; /* the target's storage format (ULP unit) */
    fsc_err_metrics acc;  /* accumulated: target on its own upstream values */
    fsc_err_metrics iso;  /* isolated: target op on the reference's inputs */
    bool iso_reused;      /* iso taken from acc: every non-constant input was identical */
    double e_out;         /* accumulated relative L2 of this output */
    double e_in;          /* max accumulated relative L2 over non-constant inputs (0: graph inputs only) */
    double rate;          /* CRADLE introduction rate (e_out - e_in) / (e_in + eps) */
    double amplification; /* e_out / e_in; NaN when e_in == 0 (undefined) */
    bool first_divergent; /* fails the tolerance while every non-constant input passes */
    int rank;             /* 1-based place in the isolated ranking, 0 = not in the top N */
} fsc_localize_row;

typedef struct fsc_localize_result {
    char reference[64], target[64];
    fsc_localize_opts opts;
    int n_rows;
    fsc_localize_row *rows;
    int n_ranked;          /* rows in ranking (top N with non-zero isolated error) */
    int *ranking;          /* row indices, worst isolated error first */
    int n_first_divergent;
    bool any_divergence;   /* some row fails the tolerance */
    /* the first graph output, as a classifier (has_margin: >= 2 elements) */
    bool has_margin;
    int class_a, class_b;  /* margin = y[class_a] - y[class_b] (probe.h convention) */
    double margin_reference, margin_target, margin_delta;
    int argmax_reference, argmax_target;
    bool margin_attributed; /* the per-node contributions below were computed */
    double *margin_contrib; /* per node (n_nodes entries): margin(k) - margin(k-1); 0 for constants */
    double margin_contrib_sum; /* Neumaier sum of margin_contrib */
    int64_t margin_node_runs;  /* reference node executions the patching needed */
    int margin_skipped;        /* patch steps proved identical to the previous one and skipped */
    /* cost */
    size_t peak_bytes;     /* tensors held by the probe at once (taps + patching working set) */
    double seconds_reference, seconds_target, seconds_isolated, seconds_margin; /* wall clock */
    /* process CPU seconds (all threads) of the tapped runs, the accumulated
     * comparison, the isolated runs and the margin attribution */
    double cpu_reference, cpu_target, cpu_compare, cpu_isolated, cpu_margin;
} fsc_localize_result;

/* Opens reference and target configurations on g and localizes (below). */
fsc_status fsc_probe_localize(const fsc_graph *g, const fsc_tensor *inputs, const char *reference, const char *target,
                              const fsc_localize_opts *o, const fsc_ctx *ctx, fsc_localize_result *res,
                              fsc_error *err);
/* The same on engines already opened on g (tests plant faults through
 * fsc_engine_open_backend). res is freed with fsc_localize_result_free. */
fsc_status fsc_probe_localize_engines(const fsc_graph *g, const fsc_tensor *inputs, fsc_engine *reference,
                                      fsc_engine *target, const fsc_localize_opts *o, const fsc_ctx *ctx,
                                      fsc_localize_result *res, fsc_error *err);
void fsc_localize_result_free(fsc_localize_result *res);

#ifdef __cplusplus
}
#endif
#endif
