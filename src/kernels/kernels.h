/* kernels.h (internal): op kernels parameterised by an arithmetic model.
 *
 * Contract shared by every kernel:
 *  - all float tensors of a node (inputs and outputs) use one container:
 *    F64 when a->storage is FP64, F32 otherwise; integer tensors (quantized
 *    data, indices) use their own containers;
 *  - inputs hold values already rounded (activations to a->storage, float
 *    constants to a->weights); outputs are written rounded to a->storage
 *    (quantize: to its integer type) and get out->fmt = a->storage;
 *  - results never depend on ctx->threads (each output element is computed by
 *    one thread in a fixed order);
 *  - every kernel has a plain scalar reference path; faster paths must be
 *    bit-identical to it and are tested against it.
 */
#ifndef FSC_KERNELS_H
#define FSC_KERNELS_H

#include "flipscope/arith.h"
#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

/* True when the emulator has a kernel for node under arithmetic a. */
bool fsc_kernel_supports(const fsc_graph *g, int node, const fsc_arith *a);

/* Runs node of g: allocates out[0 .. n_out) with the shapes and dtypes the
 * graph inferred (float outputs in the container above) and computes them. */
fsc_status fsc_kernel_run(const fsc_graph *g, int node, const fsc_arith *a, const fsc_ctx *ctx,
                          const fsc_tensor *const *in, fsc_tensor *out, fsc_error *err);

/* The reference dot product of arith.h: sum_k x[k*sx] * w[k*sw], then + bias
 * when has_bias, under a (order, product, accum, block FMA). Not rounded to
 * storage. Inputs are values already rounded as the contract says. */
double fsc_dot_ref(const double *x, ptrdiff_t sx, const double *w, ptrdiff_t sw, int64_t K, bool has_bias,
                   double bias, const fsc_arith *a);

#endif
