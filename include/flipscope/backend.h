/* backend.h: the backend vtable (the ggml-backend shape). A backend executes
 * nodes of a graph under its own arithmetic; the executor (exec.h) owns the
 * tensors, cuts the graph by supports(), and converts at boundaries.
 *
 * Ownership: the executor creates a backend through its provider, calls
 * prepare() once per graph, run_node() per node, release() at the end. */
#ifndef FLIPSCOPE_BACKEND_H
#define FLIPSCOPE_BACKEND_H

#include <stdbool.h>

#include "flipscope/arith.h"
#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsc_backend fsc_backend;

typedef struct fsc_backend_vtable {
    const char *kind; /* "emu", "onednn", "xnnpack", "cuda", "runner" */
    /* Can this backend run node? (op, dtypes, sizes) */
    bool (*supports)(const fsc_backend *b, const fsc_graph *g, int node);
    /* Called once before the first run: compile, pack weights, ... May be NULL. */
    fsc_status (*prepare)(fsc_backend *b, const fsc_graph *g, fsc_error *err);
    /* The value of constant `value` as this backend holds it (e.g. rounded to
     * its weight format), written to *out (allocated here, freed by the caller). */
    fsc_status (*load_const)(fsc_backend *b, const fsc_graph *g, int value, fsc_tensor *out, fsc_error *err);
    /* Runs one node: in[i] is the tensor of g->nodes[node].in[i] (NULL for an
     * absent optional input); allocates and fills out[0 .. n_out). */
    fsc_status (*run_node)(fsc_backend *b, const fsc_graph *g, int node, const fsc_tensor *const *in,
                           fsc_tensor *out, fsc_error *err);
    void (*release)(fsc_backend *b);
    /* Optional, for whole-graph backends (external runners): runs all of g
     * at once. inputs: one per graph input. vals has g->n_values entries, all
     * empty; fill every graph output's entry, and when want_intermediates
     * also every node output the engine can report (others stay empty).
     * Used by the executor when one backend holds every computing node. */
    fsc_status (*run_graph)(fsc_backend *b, const fsc_graph *g, const fsc_tensor *inputs, fsc_tensor *vals,
                            bool want_intermediates, fsc_error *err);
} fsc_backend_vtable;

struct fsc_backend {
    const fsc_backend_vtable *vt;
    const fsc_ctx *ctx;
    const fsc_arith *arith; /* the arithmetic it computes with, or the closest description */
    char name[64];          /* device or configuration name, e.g. "emu:fp16", "ne" */
    void *state;            /* backend-private */
};

/* The emulator: a backend computing with arithmetic model a (kernels of src/kernels). */
fsc_status fsc_emu_backend_new(const fsc_arith *a, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err);
void fsc_backend_free(fsc_backend *b);

#ifdef __cplusplus
}
#endif
#endif
