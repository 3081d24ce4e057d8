/* cmd_localize.c: `flipscope localize`: which op introduced the difference
 * between two configurations, and which ops amplified it (docs/localize.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/model_io.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: flipscope localize [MODEL] --reference CFG --target CFG [options]\n\n"
            "Runs both configurations once with every op output tapped and compares them op by op:\n"
            "  accumulated error  the target on its own upstream values (what the deployed model sees)\n"
            "  isolated error     each target op fed the reference's inputs (its own error alone)\n"
            "Metrics per op output: max |d|, mean |d|, relative L2, SNR and PSNR in dB, max ULP distance in\n"
            "the target's storage format, elements beyond the tolerance (NaN/Inf where the reference is finite\n"
            "counts as a divergence). Verdicts: the first divergent ops (failing the tolerance while every\n"
            "input passes), the introduction rate R = (e_out - e_in) / (e_in + eps) and the amplification\n"
            "e_out / e_in (e = accumulated relative L2), a ranking by isolated error, and for classifier outputs\n"
            "with --margin each op's exact contribution to the margin delta (docs/localize.md).\n\n"
            "MODEL is an .onnx file, an .mlpackage directory or an .mlmodel; without it the built-in\n"
            "AmplifiedConvTie model is used.\n\n"
            "options:\n" FSC_CLI_LIMIT_HELP
            "  --reference CFG     the configuration taken as correct (e.g. emu:fp64)\n"
            "  --target CFG        the configuration examined (e.g. emu:fp16-acc16)\n"
            "  --input FILE.npy    the input of a single-input model; NAME=FILE.npy for several (repeatable)\n"
            "  --seed N            draw inputs not given with --input from N(0,1) with this seed (default 1234)\n"
            "  --top N             length of the isolated-error ranking (default 10)\n"
            "  --metric M          ranking metric: rel_l2 (default), max_abs, mean_abs, snr, psnr, max_ulp, beyond\n"
            "  --atol A --rtol R   element tolerance |t - r| <= A + R |r| (default 1e-3, 1e-2)\n"
            "  --margin            attribute the margin delta to ops exactly, by patching: re-runs the reference\n"
            "                      downstream of every op (about 2x localize's own cost on the seed model)\n"
            "  --no-margin         no attribution (the default)\n"
            "  --threads N         kernel threads (results never depend on it)\n"
            "  --fail-on divergence  exit 1 when some op output fails the tolerance\n"
            "  --json              machine-readable output (docs/localize.md)\n\n"
            "example:\n"
            "  flipscope localize --reference emu:fp64 --target emu:fp16-acc16 --top 5\n"
            "  flipscope localize --reference emu:fp64 --target emu:fp16-acc16 --margin\n");
}

static bool parse_double(const char *opt, const char *s, double *v)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !(x >= 0) || isinf(x)) {
        fsc_cli_error("%s expects a finite non-negative number, got '%s'", opt, s);
        return false;
    }
    *v = x;
    return true;
}

int fsc_cmd_localize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"reference", required_argument, 0, 'r'}, {"target", required_argument, 0, 'T'},
        {"input", required_argument, 0, 'i'},     {"seed", required_argument, 0, 's'},
        {"top", required_argument, 0, 'n'},       {"metric", required_argument, 0, 'm'},
        {"atol", required_argument, 0, 'a'},      {"rtol", required_argument, 0, 'R'},
        {"no-margin", no_argument, 0, 'M'},       {"margin", no_argument, 0, 'G'},       {"threads", required_argument, 0, 't'},
        {"fail-on", required_argument, 0, 'f'},   {"json", no_argument, 0, 'j'},
        FSC_CLI_LIMIT_OPTION, {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    fsc_limits lim = fsc_limits_default(); /* --limit */
    const char *reference = NULL, *target = NULL;
    const char *inputs[FSC_CLI_MAX_LIST];
    int n_inputs = 0;
    long long seed = 1234, threads = 0, top;
    bool json = false, fail_on = false;
    fsc_localize_opts lo = fsc_localize_default();
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': reference = optarg; break;
        case 'T': target = optarg; break;
        case 'i':
            if (n_inputs == FSC_CLI_MAX_LIST) return fsc_cli_error("too many --input options");
            inputs[n_inputs++] = optarg;
            break;
        case 's': if (!fsc_cli_int("--seed", optarg, 0, (1LL << 62), &seed)) return FSC_EXIT_USAGE; break;
        case 'n':
            if (!fsc_cli_int("--top", optarg, 0, 100000, &top)) return FSC_EXIT_USAGE;
            lo.top = (int)top;
            break;
        case 'm': {
            int m = fsc_metric_by_name(optarg);
            if (m < 0)
                return fsc_cli_error("--metric expects rel_l2, max_abs, mean_abs, snr, psnr, max_ulp or beyond, got '%s'",
                                     optarg);
            lo.rank_by = (fsc_metric)m;
            break;
        }
        case 'a': if (!parse_double("--atol", optarg, &lo.atol)) return FSC_EXIT_USAGE; break;
        case 'R': if (!parse_double("--rtol", optarg, &lo.rtol)) return FSC_EXIT_USAGE; break;
        case 'M': lo.margin = false; break;
        case 'G': lo.margin = true; break;
        case 't': if (!fsc_cli_int("--threads", optarg, 1, 256, &threads)) return FSC_EXIT_USAGE; break;
        case 'f':
            if (strcmp(optarg, "divergence")) return fsc_cli_error("--fail-on expects 'divergence', got '%s'", optarg);
            fail_on = true;
            break;
        case 'j': json = true; break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) return fsc_cli_error("localize takes at most one MODEL (got %d)", argc - optind);
    if (!reference || !target) return fsc_cli_error("localize needs --reference CFG and --target CFG");
    const char *model = optind < argc ? argv[optind] : NULL;

    fsc_ctx ctx = fsc_cli_ctx((int)threads);
    ctx.limits = lim;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_graph *g = NULL;
    fsc_tensor *in = NULL;
    char desc[512];
    if (fsc_cli_model_inputs(model, inputs, n_inputs, seed, &ctx, &g, &in, desc, sizeof desc, &err))
        return fsc_cli_fail("localize", &err);
    int rc = FSC_EXIT_USAGE;
    fsc_localize_result res;
    memset(&res, 0, sizeof res);
    if (fsc_probe_localize(g, in, reference, target, &lo, &ctx, &res, &err)) {
        rc = fsc_cli_fail("localize", &err);
        goto out;
    }
    if (json) {
        cJSON *d = fsc_cli_json_run("localize", desc, n_inputs, seed);
        cJSON_AddItemToObject(d, "localize", fsc_cli_localize_json(&res));
        fsc_cli_print_json(d);
    } else {
        fsc_cli_print_run_head(stdout, "localize", desc, inputs, n_inputs, seed);
        fsc_cli_localize_text(stdout, &res);
    }
    rc = fail_on && res.any_divergence ? FSC_EXIT_FLIP : FSC_EXIT_OK;
out:
    fsc_localize_result_free(&res);
    fsc_cli_model_free(g, in);
    return rc;
}
