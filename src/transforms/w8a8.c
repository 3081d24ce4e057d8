/* w8a8.c: the whole W8A8 build, coremltools' order: float16 program (when
 * asked), calibration of that float program, activation pairs, then weights. */
#include <stdlib.h>

#include "flipscope/transforms.h"

fsc_status fsc_quantize_w8a8(const fsc_graph *g, const fsc_tensor *samples, const char *calib_config,
                             fsc_precision precision, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    *out = NULL;
    fsc_graph *fused = NULL, *fp = NULL, *act = NULL;
    fsc_calib_stats st = {0};
    fsc_status s;
    int64_t n;
    if ((s = fsc_calib_sample_count(g, samples, &n, err))) return s;
    if ((s = fsc_fuse_silu(g, &fused, NULL, err))) return s;
    if (precision == FSC_PREC_FP16) s = fsc_to_fp16(fused, &fp, err);
    else if (!(fp = fsc_graph_clone(fused, err))) s = err && err->code ? err->code : FSC_ERR_NOMEM;
    fsc_graph_free(fused);
    if (s) return s;
    const char *cfg = calib_config ? calib_config : precision == FSC_PREC_FP16 ? "emu:fp16" : "emu:fp32";
    int n_pairs = 0;
    if (!(s = fsc_calibrate(fp, cfg, samples, ctx, &st, err)) && !(s = fsc_insert_act_qdq(fp, &st, &act, &n_pairs, err)))
        s = fsc_quantize_weights(act, out, NULL, err);
    fsc_calib_stats_free(&st);
    fsc_graph_free(fp);
    fsc_graph_free(act);
    return s;
}

fsc_status fsc_variant_w8a8(const fsc_graph *g, uint64_t calib_seed, int64_t calib_count, const fsc_ctx *ctx,
                            fsc_graph **out, fsc_error *err)
{
    fsc_tensor samples = {0};
    *out = NULL;
    fsc_status s = fsc_calib_random(g, calib_seed, calib_count, &samples, err);
    if (!s) s = fsc_quantize_w8a8(g, &samples, "emu:fp16", FSC_PREC_FP16, ctx, out, err);
    fsc_tensor_free(&samples);
    return s;
}
