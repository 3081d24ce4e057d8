/* cmd_drift.c: `flipscope drift`: SEED.md stage 3 on any model. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/model_io.h"
#include "flipscope/plan.h"

#define DEFAULT_CONFIGS "emu:fp64,emu:fp32,emu:fp16,emu:fp16-acc16,emu:bf16,emu:tf32"

static void help(FILE *f)
{
    fprintf(f,
            "usage: flipscope drift [MODEL] [options]\n\n"
            "Runs each configuration once for a reference output, then --runs more times to see whether it is\n"
            "repeatable (raw drift: any output not bit-identical; argmax drift: a changed decision), then\n"
            "compares every configuration with the reference configuration: exact equality, max |diff|, max ULP\n"
            "distance in the output's format, argmax agreement, logits and deltas, margin delta.\n\n"
            "MODEL is an .onnx file, an .mlpackage directory or an .mlmodel; without it the built-in\n"
            "AmplifiedConvTie model (SEED.md stage 1, head bias 0) is used.\n\n"
            "options:\n" FSC_CLI_LIMIT_HELP
            "  --configs A,B,...   configurations (default %s);\n"
            "                      CFG@OTHER_MODEL runs CFG on another model with the same inputs and output\n"
            "                      shape, e.g. emu:fp32@float.onnx against a quantized MODEL\n"
            "  --reference CFG     the configuration others are compared with (default: emu:fp32 when listed,\n"
            "                      else the first)\n"
            "  --runs N            repeated runs per configuration after the first (default 100)\n"
            "  --input FILE.npy    the input of a single-input model; NAME=FILE.npy for several (repeatable)\n"
            "  --seed N            draw inputs not given with --input from N(0,1) with this seed (default 1234)\n"
            "  --threads N         kernel threads (results never depend on it)\n"
            "  --fail-on flip|drift  exit 1 when an argmax differs from the reference (flip) or a\n"
            "                      configuration is not repeatable (drift)\n"
            "  --profile P         a device profile (NAME or FILE.profile, docs/plan.md) whose presets become\n"
            "                      configurations P:<preset> (repeatable); coreml:* are built in\n"
            "  --json              machine-readable output (docs/json.md)\n\n"
            "examples:\n"
            "  flipscope drift --configs emu:fp32,emu:fp16-acc16 --runs 10\n"
            "  flipscope drift model.onnx --input x.npy --fail-on flip\n"
            "  flipscope drift w8a8.onnx --configs emu:fp32@float.onnx,emu:w8a8-fake16,emu:w8a8-int\n\n"
            "`flipscope backends` lists every configuration and what it stands for.\n",
            DEFAULT_CONFIGS);
}

int fsc_cmd_drift(int argc, char **argv)
{
    static const struct option opts[] = {
        {"configs", required_argument, 0, 'c'}, {"reference", required_argument, 0, 'r'},
        {"runs", required_argument, 0, 'n'},    {"input", required_argument, 0, 'i'},
        {"seed", required_argument, 0, 's'},    {"threads", required_argument, 0, 't'},
        {"fail-on", required_argument, 0, 'f'}, {"json", no_argument, 0, 'j'},
        {"profile", required_argument, 0, 'P'}, FSC_CLI_LIMIT_OPTION, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    fsc_limits lim = fsc_limits_default(); /* --limit */
    fsc_error perr;
    const fsc_profile *prof;
    char configs_buf[2048] = DEFAULT_CONFIGS;
    const char *reference = NULL, *fail_on = NULL;
    const char *inputs[FSC_CLI_MAX_LIST];
    int n_inputs = 0;
    long long runs = 100, seed = 1234, threads = 0;
    bool json = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': snprintf(configs_buf, sizeof configs_buf, "%s", optarg); break;
        case 'r': reference = optarg; break;
        case 'n': if (!fsc_cli_int("--runs", optarg, 1, 1000000, &runs)) return FSC_EXIT_USAGE; break;
        case 'i':
            if (n_inputs == FSC_CLI_MAX_LIST) return fsc_cli_error("too many --input options");
            inputs[n_inputs++] = optarg;
            break;
        case 's': if (!fsc_cli_int("--seed", optarg, 0, (1LL << 62), &seed)) return FSC_EXIT_USAGE; break;
        case 't': if (!fsc_cli_int("--threads", optarg, 1, 256, &threads)) return FSC_EXIT_USAGE; break;
        case 'f':
            if (strcmp(optarg, "flip") && strcmp(optarg, "drift"))
                return fsc_cli_error("--fail-on expects 'flip' or 'drift', got '%s'", optarg);
            fail_on = optarg;
            break;
        case 'j': json = true; break;
        case 'P':
            if (fsc_profile_use(optarg, &prof, &perr)) return fsc_cli_fail("drift", &perr);
            break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) return fsc_cli_error("drift takes at most one MODEL (got %d)", argc - optind);
    const char *model = optind < argc ? argv[optind] : NULL;
    char *configs[FSC_CLI_MAX_LIST];
    int n_cfg = fsc_cli_split(configs_buf, configs, FSC_CLI_MAX_LIST);
    if (n_cfg < 1) return fsc_cli_error("--configs needs at least one configuration");
    if (!reference) reference = fsc_cli_default_reference(configs, n_cfg);

    fsc_ctx ctx = fsc_cli_ctx((int)threads);
    ctx.limits = lim;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_graph *g = NULL;
    fsc_tensor *in = NULL;
    char desc[512];
    if (fsc_cli_model_inputs(model, inputs, n_inputs, seed, &ctx, &g, &in, desc, sizeof desc, &err))
        return fsc_cli_fail("drift", &err);
    int rc = FSC_EXIT_USAGE;
    fsc_drift_result res;
    memset(&res, 0, sizeof res);
    /* CFG@MODEL: load each other model once. */
    fsc_graph *others[FSC_CLI_MAX_LIST] = {0};
    const fsc_graph *cfg_graphs[FSC_CLI_MAX_LIST] = {0};
    const fsc_graph *ref_graph = NULL;
    int n_others = 0;
    for (int i = 0; i <= n_cfg; i++) {
        const char *name = i < n_cfg ? configs[i] : reference;
        const char *at = strchr(name, '@');
        if (!at) continue;
        fsc_graph *h = NULL;
        if (fsc_model_load(at + 1, &ctx, &h, &err)) {
            rc = fsc_cli_fail("drift", &err);
            for (int k = 0; k < n_others; k++) fsc_graph_free(others[k]);
            goto out;
        }
        others[n_others++] = h;
        if (i < n_cfg) cfg_graphs[i] = h;
        else ref_graph = h;
    }
    fsc_drift_opts o = {.runs = (int)runs, .configs = (const char *const *)configs, .n_configs = n_cfg,
                        .reference = reference, .stop_at_argmax_drift = true, .config_graphs = cfg_graphs,
                        .reference_graph = ref_graph};
    /* the reference listed in --configs with @ shares its graph */
    for (int i = 0; i < n_cfg && !ref_graph; i++)
        if (!strcmp(configs[i], reference)) o.reference_graph = cfg_graphs[i];
    fsc_status pst = fsc_probe_drift(g, in, &o, &ctx, &res, &err);
    for (int k = 0; k < n_others; k++) fsc_graph_free(others[k]);
    if (pst) {
        rc = fsc_cli_fail("drift", &err);
        goto out;
    }
    if (json) {
        cJSON *d = fsc_cli_json_run("drift", desc, n_inputs, seed);
        cJSON_AddItemToObject(d, "drift", fsc_cli_drift_json(&res));
        fsc_cli_print_json(d);
    } else {
        fsc_cli_print_run_head(stdout, "drift", desc, inputs, n_inputs, seed);
        fsc_cli_drift_text(stdout, &res);
        bool emulated = false;
        for (int i = 0; i < res.n; i++) emulated = emulated || res.cfg[i].info.emulated;
        if (emulated)
            printf("\nemu:* rows are emulated arithmetic: they show what that arithmetic computes, not a measurement\n"
                   "of the hardware it stands for (`flipscope backends` says how sure we are of each).\n");
        /* Device hypotheses (coreml:*, profiles) are restated wherever they are used. */
        for (int i = 0; i < res.n; i++)
            if (res.cfg[i].info.certainty && strstr(res.cfg[i].info.certainty, "hypothesis"))
                printf("\n%s is partly a hypothesis: %s\n", res.cfg[i].name, res.cfg[i].info.certainty);
    }
    rc = FSC_EXIT_OK;
    if (fail_on && !strcmp(fail_on, "flip") && res.any_flip) rc = FSC_EXIT_FLIP;
    if (fail_on && !strcmp(fail_on, "drift") && res.any_instability) rc = FSC_EXIT_FLIP;
out:
    fsc_drift_result_free(&res);
    fsc_cli_model_free(g, in);
    return rc;
}
