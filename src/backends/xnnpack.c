/* xnnpack.c: the "xnnpack" provider. Always compiled, so `flipscope
 * backends` lists its configurations; without XNNPACK at build time they are
 * unavailable with the reason. */
#include <stdio.h>
#include <string.h>

#include "backends/cpulib.h"
#include "backends/xnnpack.h"

static const fsc_cpulib_variant variants[] = {
    {"f32", "fp32", "Google XNNPACK f32 operators on this CPU (TensorFlow Lite / ONNX Runtime mobile CPU kernels)"},
    {"f16", "fp16", "Google XNNPACK f16 operators: fp16 activations and weights (F16C on x86, FP16 arithmetic on ARM)"},
    {"qs8", "fp32", "Google XNNPACK int8 for QDQ (W8A8) graphs: Conv+Quantize as qc8 convolutions (per-channel "
                    "weight scales, int32 bias, requantized int8 output), Quantize/Dequantize as converts; other ops f32"},
};

static bool available(const fsc_cpulib_variant *v, char *reason, size_t len)
{
#ifdef FSC_HAVE_XNNPACK
    return fsc_xnnpack_ok(!strcmp(v->name, "f16"), reason, len);
#else
    (void)v;
    snprintf(reason, len, "built without XNNPACK: install libxnnpack-dev libpthreadpool-dev and rebuild");
    return false;
#endif
}

static fsc_status backend_new(const fsc_cpulib_variant *v, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err)
{
#ifdef FSC_HAVE_XNNPACK
    return fsc_xnnpack_backend_new(v->name, ctx, out, err);
#else
    (void)v, (void)ctx, (void)out;
    return fsc_fail(err, FSC_ERR_UNAVAILABLE, "built without XNNPACK: install libxnnpack-dev and rebuild");
#endif
}

static const fsc_cpulib lib = {"xnnpack", variants, 3, available, backend_new};

static int list(fsc_config_info *out, int max) { return fsc_cpulib_list(&lib, out, max); }
static fsc_status lookup(const char *variant, fsc_config_info *info, fsc_error *err)
{
    return fsc_cpulib_lookup(&lib, variant, info, err);
}
static fsc_status open_(const char *variant, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine_plan *plan,
                        fsc_error *err)
{
    return fsc_cpulib_open(&lib, variant, g, ctx, plan, err);
}

const fsc_provider fsc_xnnpack_provider = {.prefix = "xnnpack", .list = list, .lookup = lookup, .open = open_};
