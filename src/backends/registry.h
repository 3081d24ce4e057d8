/* registry.h (internal): configuration providers. Each prefix of a
 * configuration name ("emu", "coreml", "onednn", ...) has one provider that
 * lists its configurations and builds the backends + node placement of an
 * engine. The executor (src/core/exec.c) does the rest. */
#ifndef FSC_REGISTRY_H
#define FSC_REGISTRY_H

#include "flipscope/exec.h"

#define FSC_MAX_DEVICES 16

typedef struct fsc_engine_plan {
    int n_backends;
    fsc_backend *backends[FSC_MAX_DEVICES];
    int *node_backend; /* n_nodes entries (malloc'd): index into backends, -1 for constants */
} fsc_engine_plan;

typedef struct fsc_provider {
    const char *prefix;
    /* Fills up to max configurations of this prefix; returns how many exist. */
    int (*list)(fsc_config_info *out, int max);
    /* Describes prefix:variant; FSC_ERR_INVALID when the variant is unknown. */
    fsc_status (*lookup)(const char *variant, fsc_config_info *info, fsc_error *err);
    /* Creates the backends and places every node of g. */
    fsc_status (*open)(const char *variant, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine_plan *plan,
                       fsc_error *err);
} fsc_provider;

/* The providers compiled in, in listing order. */
const fsc_provider *const *fsc_providers(int *n);

/* The emulator's provider ("emu:<preset>"). */
extern const fsc_provider fsc_emu_provider;
/* Real CPU libraries (src/backends/onednn.c, xnnpack.c); present in every
 * build, available only when built with the library. */
extern const fsc_provider fsc_onednn_provider;
extern const fsc_provider fsc_xnnpack_provider;
/* NVIDIA GPUs through cuBLAS/cuDNN ("cuda:<fp32|tf32|fp16|bf16>[-det]"); always
 * listed, unavailable when built without CUDA or without a usable GPU. */
extern const fsc_provider fsc_cuda_provider;

/* The device-profile providers (src/plan/profile_provider.c, plan.h):
 * "coreml:<preset>" from the built-in coreml profile, and "<profile>:<preset>"
 * for any other profile in the profile table, whose lookup/open take the
 * whole name as the variant. fsc_profile_claims: is prefix[0 .. len) such a
 * profile (loading it from disk by name when it can)? */
extern const fsc_provider fsc_coreml_provider;
extern const fsc_provider fsc_profile_provider;
bool fsc_profile_claims(const char *prefix, size_t len);

/* Places every computing node of g on plan->backends[0] when it supports it;
 * an unsupported node is an FSC_ERR_UNSUPPORTED error naming it. */
fsc_status fsc_plan_single(const fsc_graph *g, fsc_engine_plan *plan, fsc_error *err);

#endif
