/* cmd_synth.c: `flipscope synth`: the built-in AmplifiedConvTie model to a file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/model_io.h"
#include "flipscope/synth.h"
#include "flipscope/transforms.h"

static void help(FILE *f)
{
    fprintf(f, "usage: flipscope synth -o OUT.onnx [options]\n\n"
               "Builds the seed's AmplifiedConvTie model (SEED.md stage 1) and writes it.\n\n"
               "options:\n" FSC_CLI_LIMIT_HELP
               "  -o, --out FILE        output model (.onnx or .mlpackage)\n"
               "  --seed N              weight seed (default 1234)\n"
               "  --size N              input height and width (default 224)\n"
               "  --head-bias B         the class-0 head bias B0 (default 0)\n"
               "  --centre A,B          set B0 so configurations A and B land on opposite classes for the\n"
               "                        probe input (--input-seed), e.g. --centre emu:fp32,emu:fp16-acc16\n"
               "  --input-seed N        seed of the standard-normal probe input used by --centre (default 1234)\n"
               "  --save-input FILE.npy also write that probe input\n");
}

int fsc_cmd_synth(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},       {"seed", required_argument, 0, 's'},
        {"size", required_argument, 0, 'z'},      {"head-bias", required_argument, 0, 'b'},
        {"centre", required_argument, 0, 'c'},    {"center", required_argument, 0, 'c'},
        {"input-seed", required_argument, 0, 'i'}, {"save-input", required_argument, 0, 'v'},
        {"variant", required_argument, 0, 'V'},  {"calib-seed", required_argument, 0, 'S'},
        {"calib-count", required_argument, 0, 'N'},
        FSC_CLI_LIMIT_OPTION, {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    fsc_limits lim = fsc_limits_default(); /* --limit */
    const char *out = NULL, *save_input = NULL;
    char centre[256] = "";
    long long seed = 1234, size = 224, input_seed = 1234, calib_seed = 10000, calib_count = 8;
    const char *variant = "fp32";
    double bias = 0.0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's': if (!fsc_cli_int("--seed", optarg, 0, 1LL << 62, &seed)) return FSC_EXIT_USAGE; break;
        case 'z': if (!fsc_cli_int("--size", optarg, 1, 4096, &size)) return FSC_EXIT_USAGE; break;
        case 'i': if (!fsc_cli_int("--input-seed", optarg, 0, 1LL << 62, &input_seed)) return FSC_EXIT_USAGE; break;
        case 'b': {
            char *end;
            bias = strtod(optarg, &end);
            if (end == optarg || *end) return fsc_cli_error("--head-bias expects a number, got '%s'", optarg);
            break;
        }
        case 'c': snprintf(centre, sizeof centre, "%s", optarg); break;
        case 'v': save_input = optarg; break;
        case 'V':
            if (strcmp(optarg, "fp32") && strcmp(optarg, "fp16") && strcmp(optarg, "w8a8"))
                return fsc_cli_error("--variant expects fp32, fp16 or w8a8, got '%s'", optarg);
            variant = optarg;
            break;
        case 'S': if (!fsc_cli_int("--calib-seed", optarg, 0, 1LL << 62, &calib_seed)) return FSC_EXIT_USAGE; break;
        case 'N': if (!fsc_cli_int("--calib-count", optarg, 1, 100000, &calib_count)) return FSC_EXIT_USAGE; break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (optind < argc) return fsc_cli_error("synth takes no positional arguments (use -o FILE)");
    if (!out && !save_input) return fsc_cli_error("synth needs -o OUT.onnx (see flipscope synth --help)");
    fsc_ctx ctx = fsc_cli_ctx(0);
    ctx.limits = lim;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_synth_opts so = fsc_synth_default();
    so.seed = (uint64_t)seed;
    so.height = so.width = size;
    so.head_bias = bias;
    fsc_graph *g = NULL;
    fsc_tensor x;
    memset(&x, 0, sizeof x);
    int rc = FSC_EXIT_USAGE;
    if (fsc_synth_amplified_conv_tie(&so, &g, &err)) goto fail;
    if (strcmp(variant, "fp32")) {
        fsc_graph *v = NULL;
        fsc_status vs = !strcmp(variant, "fp16") ? fsc_variant_fp16(g, &v, &err)
                                                 : fsc_variant_w8a8(g, (uint64_t)calib_seed, calib_count, &ctx, &v, &err);
        if (vs) goto fail;
        fsc_graph_free(g);
        g = v;
    }
    uint64_t is = (uint64_t)input_seed;
    if (fsc_inputs_load(g, NULL, 0, &is, &ctx, &x, &err)) goto fail;
    if (centre[0]) {
        char *cfg[3];
        if (fsc_cli_split(centre, cfg, 2) != 2) {
            rc = fsc_cli_error("--centre expects two configurations A,B");
            goto out;
        }
        fsc_tie_result tr;
        if (fsc_tie_centre(g, &x, cfg[0], cfg[1], &ctx, &tr, &err)) goto fail;
        fprintf(stderr, "centred: B0 = %.9g; margins %s %.9g, %s %.9g (%s)\n", tr.b0, cfg[0], tr.margin_a, cfg[1],
                tr.margin_b, tr.split ? "opposite classes" : "NOT split: the two agree too closely");
    }
    if (save_input && fsc_npy_write(save_input, &x, FSC_DT_F32, &err)) goto fail;
    if (out && fsc_model_save(out, g, &ctx, &err)) goto fail;
    if (out) fprintf(stderr, "wrote %s\n", out);
    rc = FSC_EXIT_OK;
    goto out;
fail:
    rc = fsc_cli_fail("synth", &err);
out:
    fsc_tensor_free(&x);
    fsc_graph_free(g);
    return rc;
}
