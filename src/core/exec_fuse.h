/* exec_fuse.h (internal): the executor's fused elementwise regions.
 *
 * A region is a set of elementwise nodes on one emulator backend (quantize,
 * dequantize, sigmoid, silu, mul, add, ... with per-tensor parameters) that
 * together compute a function of a single value, the root, element by
 * element. When the root's elements come from a small domain (int8 / uint8,
 * or fp16 / bf16 under a backend whose storage is that format), the region
 * is evaluated at open on every element of the domain by the backend's own
 * kernels, and at run time its outputs are one table lookup per element
 * (kernels/lut.h) instead of one pass over the tensor per node. That is
 * bit-identical to running the nodes one by one by construction: each of
 * these kernels computes an output element from the same input element and
 * the per-tensor constants only. A root element outside the domain (which
 * the lookup detects) makes that run of the region fall back to the nodes. */
#ifndef FSC_EXEC_FUSE_H
#define FSC_EXEC_FUSE_H

#include "backends/registry.h"
#include "kernels/lut.h"

#define FSC_FUSE_MAX_OUT 4

typedef struct fsc_fused_region {
    int backend;      /* index into the engine plan's backends */
    int root;         /* value id every output is a function of */
    fsc_lut_key key;  /* how a root element indexes the tables */
    int n_nodes;
    int *nodes;       /* in graph order; the region runs at nodes[0] */
    int n_out;
    int out[FSC_FUSE_MAX_OUT]; /* region values read outside it (or graph outputs) */
    fsc_tensor table[FSC_FUSE_MAX_OUT];
    int32_t *wide[FSC_FUSE_MAX_OUT];
    fsc_lut lut[FSC_FUSE_MAX_OUT];
    bool built;       /* tables built (on the region's first fused run) */
} fsc_fused_region;

typedef struct fsc_fusion {
    int n_regions;
    fsc_fused_region *regions;
    int *region_of; /* per node: index into regions, or -1 */
    int *last_use;  /* per value: last node reading it when regions run fused (n_nodes: graph output) */
} fsc_fusion;

/* True when b is the emulator (whose kernels the region tables are built with). */
bool fsc_backend_is_emu(const fsc_backend *b);

/* Finds the regions of g under plan (tables not built yet); skip[node] marks
 * nodes that must not join a region (may be NULL). *out is NULL when there
 * is no region. */
fsc_status fsc_fusion_plan(const fsc_graph *g, const fsc_engine_plan *plan, const bool *skip, fsc_fusion **out,
                           fsc_error *err);
/* Builds R's tables by running its nodes on the key's whole domain with the
 * backend's kernels. consts is the engine's [n_backends][n_values] array of
 * constants as each backend holds them. */
fsc_status fsc_fusion_build(fsc_fused_region *R, const fsc_graph *g, const fsc_engine_plan *plan,
                            const fsc_tensor *consts, fsc_error *err);
void fsc_fusion_free(fsc_fusion *f);

/* The number of fused regions engine e found (0 when none); for tests. */
int fsc_engine_fused_regions(const fsc_engine *e);

#endif
