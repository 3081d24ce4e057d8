/* synth.h: the built-in AmplifiedConvTie model (SEED.md stage 1) and the
 * automatic centring of its decision tie between two configurations. */
#ifndef FLIPSCOPE_SYNTH_H
#define FLIPSCOPE_SYNTH_H

#include <stdint.h>

#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsc_synth_opts {
    uint64_t seed;   /* weights are drawn from fsc_rng seeded with this */
    int64_t height;  /* input H and W (224 in the seed) */
    int64_t width;
    double amplify;  /* the y * 300 factor */
    double head_bias; /* B0, the bias of class 0 */
} fsc_synth_opts;

/* Defaults of the seed: seed 1234, 224 x 224, amplify 300, B0 = 0. */
fsc_synth_opts fsc_synth_default(void);

/* Builds AmplifiedConvTie: conv 3->64 3x3 (pad 1) + SiLU, three conv 64->64
 * 3x3 + SiLU, conv 64->16 1x1 + SiLU, * amplify, global average pool,
 * flatten, linear 16->2 with W = 0 except W[0,0] = W[1,1] = 1, b = [B0, 0].
 * Conv weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), the bounds
 * of PyTorch's default Conv2d initialisation. Input "x", output "y". */
fsc_status fsc_synth_amplified_conv_tie(const fsc_synth_opts *o, fsc_graph **out, fsc_error *err);

/* The value id of the head bias (the constant b of the last gemm whose output
 * is the graph's first output); -1 when the graph has no such head. */
int fsc_synth_head_bias_value(const fsc_graph *g);

/* Result of centring: the bias chosen and each configuration's margin. */
typedef struct fsc_tie_result {
    double b0;          /* the head bias of class 0 that was set */
    double margin_a0;   /* margins logit0 - logit1 before centring (b0 = original) */
    double margin_b0;
    double margin_a;    /* after centring */
    double margin_b;
    int iterations;
    int split;          /* 1 when A and B land on opposite classes */
} fsc_tie_result;

/* Sets the head bias of class 0 so that the margin logit0 - logit1 is
 * centred between configuration a's and b's margins on `input`, so they land
 * on opposite classes whenever their margins differ by more than the bias's
 * own rounding. Modifies g's bias constant in place. */
fsc_status fsc_tie_centre(fsc_graph *g, const fsc_tensor *input, const char *config_a, const char *config_b,
                          const fsc_ctx *ctx, fsc_tie_result *res, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
