/* cpulib.h (internal): what the in-process CPU library providers (oneDNN,
 * XNNPACK) share: a list of variants, availability, and a placement that
 * puts every node the library supports on it and the rest on an emu:fp32
 * fallback backend named "emu:fp32 (fallback)". */
#ifndef FSC_CPULIB_H
#define FSC_CPULIB_H

#include "backends/registry.h"

typedef struct fsc_cpulib_variant {
    const char *name;       /* "f32" */
    const char *preset;     /* arithmetic preset that describes it ("fp32", "bf16", "fp16") */
    const char *stands_for; /* what it is */
} fsc_cpulib_variant;

typedef struct fsc_cpulib {
    const char *prefix; /* "onednn" */
    const fsc_cpulib_variant *variants;
    int n_variants;
    /* Usable here? false: reason (e.g. "built without oneDNN: install libdnnl-dev and rebuild"). */
    bool (*available)(const fsc_cpulib_variant *v, char *reason, size_t len);
    /* The library's backend for variant v. */
    fsc_status (*backend_new)(const fsc_cpulib_variant *v, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err);
} fsc_cpulib;

int fsc_cpulib_list(const fsc_cpulib *lib, fsc_config_info *out, int max);
fsc_status fsc_cpulib_lookup(const fsc_cpulib *lib, const char *variant, fsc_config_info *info, fsc_error *err);
/* Creates the library backend and places nodes, falling back to emu:fp32. */
fsc_status fsc_cpulib_open(const fsc_cpulib *lib, const char *variant, const fsc_graph *g, const fsc_ctx *ctx,
                           fsc_engine_plan *plan, fsc_error *err);

#endif
