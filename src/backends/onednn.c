/* onednn.c: the "onednn" provider. Always compiled, so `flipscope backends`
 * lists its configurations; without oneDNN at build time they are
 * unavailable with the reason. */
#include <stdio.h>
#include <string.h>

#include "backends/cpulib.h"
#include "backends/onednn.h"

static const fsc_cpulib_variant variants[] = {
    {"f32", "fp32", "Intel oneDNN (libdnnl) f32 primitives on this CPU: what PyTorch/ONNX Runtime's oneDNN paths run"},
    {"bf16", "bf16", "Intel oneDNN bf16 primitives (AVX512-BF16 / AMX): bf16 data and weights, f32 accumulation"},
    {"s8", "fp32", "Intel oneDNN int8 for QDQ (W8A8) graphs: convolutions on s8 activations and weights with s32 "
                   "accumulation and per-channel scales, Quantize/Dequantize as scaled reorders; other ops f32"},
};

static bool available(const fsc_cpulib_variant *v, char *reason, size_t len)
{
#ifdef FSC_HAVE_ONEDNN
    if (!strcmp(v->name, "bf16")) return fsc_onednn_bf16_ok(reason, len);
    return true;
#else
    (void)v;
    snprintf(reason, len, "built without oneDNN: install libdnnl-dev and rebuild");
    return false;
#endif
}

static fsc_status backend_new(const fsc_cpulib_variant *v, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err)
{
#ifdef FSC_HAVE_ONEDNN
    return fsc_onednn_backend_new(v->name, ctx, out, err);
#else
    (void)v, (void)ctx, (void)out;
    return fsc_fail(err, FSC_ERR_UNAVAILABLE, "built without oneDNN: install libdnnl-dev and rebuild");
#endif
}

static const fsc_cpulib lib = {"onednn", variants, 3, available, backend_new};

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

const fsc_provider fsc_onednn_provider = {.prefix = "onednn", .list = list, .lookup = lookup, .open = open_};
