/* rewrite.h (internal): copying a graph into a new one node by node, so a
 * transform can insert nodes, redirect inputs and drop values on the way.
 *
 * Usage: fsc_rw_begin copies the inputs and initializers (except skipped
 * ones); the transform then walks the source nodes in order, copying each
 * (fsc_rw_copy_node) after adding whatever it inserts; fsc_rw_finish marks
 * the outputs and hands over the new graph. map[] translates source value
 * ids into ids of the new graph; a transform may point an entry elsewhere
 * (at an inserted dequantize) so later consumers read that value instead. */
#ifndef FSC_TRANSFORMS_REWRITE_H
#define FSC_TRANSFORMS_REWRITE_H

#include <stdbool.h>

#include "flipscope/graph.h"
#include "flipscope/status.h"

typedef struct fsc_rw {
    const fsc_graph *src;
    fsc_graph *dst;
    int *map; /* src value id -> dst value id; -1 when not (yet) copied */
} fsc_rw;

/* Starts the copy; skip_value (may be NULL) marks initializers not to copy. */
fsc_status fsc_rw_begin(fsc_rw *rw, const fsc_graph *src, const bool *skip_value, fsc_error *err);
/* Copies source node `node` (CONSTANT nodes too) reading map[] for its inputs. */
fsc_status fsc_rw_copy_node(fsc_rw *rw, int node, fsc_error *err);
/* Marks the mapped outputs and returns the new graph in *out (rw is reset). */
fsc_status fsc_rw_finish(fsc_rw *rw, fsc_graph **out, fsc_error *err);
/* Frees everything after a failure. */
void fsc_rw_abort(fsc_rw *rw);

/* A name not yet used in dst: "<base><suffix>", else with "_1", "_2", ... appended. */
void fsc_rw_unique_name(const fsc_rw *rw, const char *base, const char *suffix, char *buf, size_t len);
/* Adds an initializer holding one float (a scalar of dtype dt, container F32,
 * value already in dt's format). Returns the value id or -1. */
int fsc_rw_add_scalar(fsc_rw *rw, const char *name, fsc_dtype dt, double v, fsc_error *err);
/* Adds a scalar scale constant "<base>_scale" (dtype float_dt), quantize(x,
 * scale) -> int8 "<base>_quantized" and dequantize(q, scale) -> float_dt
 * "<base>_dequantized" (base gets "_1", "_2", ... when taken). x is a dst
 * value id. Returns the dequantized value id or -1. */
int fsc_rw_add_qdq(fsc_rw *rw, int x, double scale, fsc_dtype float_dt, const char *base, fsc_error *err);

#endif
