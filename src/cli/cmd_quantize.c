/* cmd_quantize.c: `flipscope quantize`: the W8A8 program of a float model, built the way coremltools
 * builds it (calibration, activation quantize/dequantize pairs, per-channel int8 weights). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/model_io.h"
#include "flipscope/transforms.h"

static void help(FILE *f)
{
    fprintf(f, "usage: flipscope quantize MODEL (--calib FILE.npy | --calib-seed S --calib-count N) -o OUT\n\n"
               "Builds the W8A8 program of a float model with coremltools' rules: SiLU fused, float16\n"
               "program (--precision fp16), activation ranges from running it on the calibration samples,\n"
               "int8 symmetric quantize/dequantize pairs before conv/pool/linear/matmul/add and after them,\n"
               "per-output-channel symmetric int8 weights. OUT is .onnx (a QDQ model) or .mlpackage.\n\n"
               "options:\n" FSC_CLI_LIMIT_HELP
               "  -o, --out FILE          output model (.onnx or .mlpackage)\n"
               "  --calib FILE.npy        calibration samples stacked on axis 0 ([N, <input shape>], or\n"
               "                          [N, <input shape without its leading 1>])\n"
               "  --calib-seed S          draw standard-normal calibration samples with seed S ...\n"
               "  --calib-count N         ... N of them (the seed uses 8)\n"
               "  --precision P           fp16 (default) or fp32 program\n"
               "  --calib-config CFG      configuration the calibration runs under (default emu:fp16 for\n"
               "                          fp16, emu:fp32 for fp32)\n"
               "  --threads N             worker threads (default: all cores)\n");
}

int fsc_cmd_quantize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},          {"calib", required_argument, 0, 'c'},
        {"calib-seed", required_argument, 0, 's'},   {"calib-count", required_argument, 0, 'n'},
        {"precision", required_argument, 0, 'p'},    {"calib-config", required_argument, 0, 'g'},
        {"threads", required_argument, 0, 't'},      FSC_CLI_LIMIT_OPTION, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    fsc_limits lim = fsc_limits_default(); /* --limit */
    const char *out = NULL, *calib = NULL, *cfg = NULL;
    long long seed = -1, count = -1, threads = 0;
    fsc_precision prec = FSC_PREC_FP16;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'c': calib = optarg; break;
        case 's': if (!fsc_cli_int("--calib-seed", optarg, 0, 1LL << 62, &seed)) return FSC_EXIT_USAGE; break;
        case 'n': if (!fsc_cli_int("--calib-count", optarg, 1, 1 << 20, &count)) return FSC_EXIT_USAGE; break;
        case 't': if (!fsc_cli_int("--threads", optarg, 1, 1024, &threads)) return FSC_EXIT_USAGE; break;
        case 'g': cfg = optarg; break;
        case 'p':
            if (!strcmp(optarg, "fp16")) prec = FSC_PREC_FP16;
            else if (!strcmp(optarg, "fp32")) prec = FSC_PREC_FP32;
            else return fsc_cli_error("--precision expects fp16 or fp32, got '%s'", optarg);
            break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return fsc_cli_error("quantize needs exactly one MODEL (see flipscope quantize --help)");
    if (!out) return fsc_cli_error("quantize needs -o OUT.onnx or -o OUT.mlpackage");
    if (calib && (seed >= 0 || count >= 0))
        return fsc_cli_error("give either --calib FILE.npy or --calib-seed/--calib-count, not both");
    if (!calib && (seed < 0 || count < 0))
        return fsc_cli_error("quantize needs calibration samples: --calib FILE.npy or --calib-seed S --calib-count N");
    fsc_ctx ctx = fsc_cli_ctx((int)threads);
    ctx.limits = lim;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_graph *g = NULL, *q = NULL;
    fsc_tensor samples;
    memset(&samples, 0, sizeof samples);
    int rc;
    if (fsc_model_load(argv[optind], &ctx, &g, &err)) goto fail;
    if (calib) {
        if (fsc_npy_read(calib, &ctx.limits, &samples, NULL, &err)) goto fail;
        fsc_error_clear(&err);
    } else if (fsc_calib_random(g, (uint64_t)seed, count, &samples, &err)) {
        goto fail;
    }
    if (fsc_quantize_w8a8(g, &samples, cfg, prec, &ctx, &q, &err)) {
        if (calib) fsc_error_prefix(&err, "%s", calib);
        goto fail;
    }
    if (fsc_model_save(out, q, &ctx, &err)) goto fail;
    int nq = 0, nw = 0;
    for (int i = 0; i < q->n_nodes; i++) {
        nq += q->nodes[i].op == FSC_OP_QUANTIZE;
        nw += !strcmp(q->nodes[i].op_type, "constexpr_affine_dequantize");
    }
    fprintf(stderr, "wrote %s: %d activation quantize/dequantize pairs, %d per-channel int8 weights (%s program, "
                    "%lld calibration samples)\n",
            out, nq, nw, prec == FSC_PREC_FP16 ? "fp16" : "fp32", (long long)samples.shape.dim[0]);
    rc = FSC_EXIT_OK;
    goto done;
fail:
    rc = fsc_cli_fail("quantize", &err);
done:
    fsc_tensor_free(&samples);
    fsc_graph_free(q);
    fsc_graph_free(g);
    return rc;
}
