/* exec.h: configurations and the executor.
 *
 * A configuration is a name like "emu:fp16", "coreml:cpu_and_ne",
 * "onednn:f32" or "runner:ort". Opening it on a graph gives an engine: the
 * backends it needs, the placement of every node (plan.h), prepared
 * constants. An engine runs the graph on inputs, optionally handing every
 * node's outputs to a tap (for localize) without changing what it computes.
 *
 * Ownership: fsc_engine_open returns an engine the caller closes with
 * fsc_engine_close; the graph must outlive it. Output tensors of
 * fsc_engine_run belong to the caller (fsc_tensor_free each). */
#ifndef FLIPSCOPE_EXEC_H
#define FLIPSCOPE_EXEC_H

#include <stdbool.h>

#include "flipscope/backend.h"
#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsc_config_info {
    char name[64];          /* "emu:fp16" */
    char backend[16];       /* "emu" */
    const char *stands_for; /* the hardware it stands for */
    const char *certainty;  /* how sure we are of that */
    bool emulated;          /* true for emulated arithmetic */
    bool available;         /* false: reason says why (not built, no device, ...) */
    char reason[256];
} fsc_config_info;

/* Every configuration flipscope knows, available or not. Returns the count
 * (fills at most max entries). */
int fsc_config_list(fsc_config_info *out, int max);
/* Describes one configuration name; FSC_ERR_INVALID for an unknown name (the
 * message lists the known prefixes). An unavailable one is FSC_OK with available=false. */
fsc_status fsc_config_lookup(const char *name, fsc_config_info *info, fsc_error *err);

typedef struct fsc_engine fsc_engine;

/* Called after each node with its outputs (n_out tensors). The tensors are
 * the engine's: read them, do not keep or free them. */
typedef void (*fsc_tap_fn)(void *user, const fsc_graph *g, int node, const fsc_tensor *outs, int n_out);

typedef struct fsc_run_opts {
    fsc_tap_fn tap;
    void *tap_user;
} fsc_run_opts;

/* Opens configuration `config` for graph g. FSC_ERR_UNAVAILABLE when the
 * backend is not built or not usable here (the message says why). */
fsc_status fsc_engine_open(const char *config, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine **out,
                           fsc_error *err);
/* Runs g on inputs (one per graph input, in order; shapes must match; float
 * inputs are rounded to the receiving device's storage format). Fills outputs
 * (one per graph output) with new tensors in F64 containers. opts may be NULL. */
fsc_status fsc_engine_run(fsc_engine *e, const fsc_tensor *inputs, fsc_tensor *outputs, const fsc_run_opts *opts,
                          fsc_error *err);
/* fsc_engine_run that also hands over every node output: keep holds
 * g->n_values tensors, zeroed by the caller; each node output is moved to
 * keep[value] once the run no longer needs it, instead of being freed
 * (localize keeps them all without copying). The caller frees them with
 * fsc_tensor_free, also after a failed run. */
fsc_status fsc_engine_run_keep(fsc_engine *e, const fsc_tensor *inputs, fsc_tensor *outputs, const fsc_run_opts *opts,
                               fsc_tensor *keep, fsc_error *err);
/* Runs a single node on given input tensors (isolated error in localize):
 * in[i] for g->nodes[node].in[i], constants may be NULL (the engine's own
 * prepared constants are used). Allocates out[0 .. n_out). */
fsc_status fsc_engine_run_node(fsc_engine *e, int node, const fsc_tensor *const *in, fsc_tensor *out,
                               fsc_error *err);
/* Opens an engine that runs every computing node of g on backend b (taking
 * ownership of b, also on failure): for callers that build a backend
 * themselves, e.g. tests that plant a fault by wrapping the emulator. */
fsc_status fsc_engine_open_backend(fsc_backend *b, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine **out,
                                   fsc_error *err);
const fsc_config_info *fsc_engine_info(const fsc_engine *e);
/* The backend (device) node runs on; NULL for constants. */
const fsc_backend *fsc_engine_node_backend(const fsc_engine *e, int node);
void fsc_engine_close(fsc_engine *e);

#ifdef __cplusplus
}
#endif
#endif
