/* cmd_report.c: `flipscope report`: runs the probes on a model and writes the
 * results write-up (SEED.md "The write-up") as DIR/report.{md,json,html}. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/model_io.h"
#include "flipscope/plan.h"
#include "flipscope/report.h"
#include "flipscope/synth.h"

#define DEFAULT_CONFIGS "emu:fp64,emu:fp32,emu:fp16,emu:fp16-acc16,emu:bf16,emu:tf32"

static void help(FILE *f)
{
    fprintf(f,
            "usage: flipscope report [MODEL] --out DIR [options]\n\n"
            "Runs the probes on MODEL and writes the results write-up as DIR/report.md, DIR/report.json\n"
            "(docs/json.md) and DIR/report.html (self-contained, inline SVG charts), each written atomically.\n"
            "Sections: model (path, format, SHA-256), configurations and what each stands for, commands to\n"
            "reproduce, quantization evidence (inspect), placement evidence, runtime stability and the\n"
            "cross-configuration comparison (drift), localization, gates and the honest claim (docs/report.md).\n"
            "Sections a probe did not measure say \"not measured\".\n\n"
            "MODEL is an .onnx file, an .mlpackage directory or an .mlmodel; without it the built-in\n"
            "AmplifiedConvTie model (head bias 0) is used.\n\n"
            "options:\n" FSC_CLI_LIMIT_HELP
            "  --out DIR           where to write the report (created if missing; required)\n"
            "  --configs A,B,...   configurations (default %s)\n"
            "  --reference CFG     the configuration others are compared with (default: emu:fp32 when listed,\n"
            "                      else the first)\n"
            "  --runs N            repeated runs per configuration after the first (default 100)\n"
            "  --input FILE.npy    the input of a single-input model; NAME=FILE.npy for several (repeatable)\n"
            "  --seed N            draw inputs not given with --input from N(0,1) with this seed (default 1234)\n"
            "  --size N            input height and width of the built-in model (default 224)\n"
            "  --localize CFG|auto|none  localize the difference between the reference and CFG per op\n"
            "                      (auto, the default: the configuration that flipped, else the one whose\n"
            "                      margin moved most; none: skip)\n"
            "  --profile P         a device profile (NAME or FILE.profile, docs/plan.md) whose presets become\n"
            "                      configurations P:<preset> (repeatable); coreml:* are built in. Configurations\n"
            "                      of a profile also get a placement plan in the report\n"
            "  --threads N         kernel threads (results never depend on it)\n\n"
            "example:\n"
            "  flipscope report model.onnx --input x.npy --runs 10 --out results/\n",
            DEFAULT_CONFIGS);
}

/* True when --profile ARG names the profile called name (a file: its base name without ".profile"). */
static bool profile_arg_is(const char *arg, const char *name)
{
    const char *base = strrchr(arg, '/');
    base = base ? base + 1 : arg;
    size_t n = strlen(base), sfx = strlen(".profile");
    if (n > sfx && !strcmp(base + n - sfx, ".profile")) n -= sfx;
    return strlen(name) == n && !strncmp(base, name, n);
}

void fsc_cli_report_summary(FILE *f, const fsc_report *r, const char *dir)
{
    fprintf(f, "\nGates\n\n");
    for (int i = 0; i < FSC_GATE_COUNT; i++)
        fprintf(f, "  %-34s %-5s %s\n", r->gates[i].title, fsc_gate_state_name(r->gates[i].state), r->gates[i].detail);
    fprintf(f, "\nHonest claim: %s\n", r->claim);
    if (dir) fprintf(f, "\nwrote %s/report.md, %s/report.json, %s/report.html\n", dir, dir, dir);
}

fsc_status fsc_cli_report_localize(fsc_report *rep, const fsc_graph *g, const fsc_tensor *in, const char *which,
                                   const char *model, const char *const *inputs, int n_inputs, unsigned long long seed,
                                   long long size, const fsc_ctx *ctx, fsc_error *err)
{
    if (!strcmp(which, "none")) return FSC_OK;
    const char *ref = rep->drift.cfg[rep->drift.reference].name, *target = which;
    if (!strcmp(which, "auto")) {
        int t = fsc_report_pick_localize_target(rep);
        if (t < 0) return FSC_OK; /* every configuration matched the reference bit for bit: nothing to localize */
        target = rep->drift.cfg[t].name;
    }
    fprintf(stderr, "localizing %s against %s\n", target, ref);
    fsc_status st = fsc_report_add_localize(rep, g, in, ref, target, ctx, err);
    if (st) return st;
    if (size) return FSC_OK; /* the built-in model at another size: the report/demo line reproduces it */
    const char *words[40];
    char seed_s[24];
    snprintf(seed_s, sizeof seed_s, "%llu", seed);
    int n = 0;
    words[n++] = "flipscope";
    words[n++] = "localize";
    if (model) words[n++] = model;
    words[n++] = "--reference";
    words[n++] = ref;
    words[n++] = "--target";
    words[n++] = target;
    for (int i = 0; i < n_inputs && n < 36; i++) {
        words[n++] = "--input";
        words[n++] = inputs[i];
    }
    words[n++] = "--seed";
    words[n++] = seed_s;
    fsc_report_add_command(rep, words, n);
    return FSC_OK;
}

int fsc_cmd_report(int argc, char **argv)
{
    static const struct option opts[] = {
        {"configs", required_argument, 0, 'c'}, {"reference", required_argument, 0, 'r'},
        {"runs", required_argument, 0, 'n'},    {"input", required_argument, 0, 'i'},
        {"seed", required_argument, 0, 's'},    {"threads", required_argument, 0, 't'},
        {"size", required_argument, 0, 'z'},    {"out", required_argument, 0, 'o'},
        {"localize", required_argument, 0, 'l'}, {"profile", required_argument, 0, 'P'},
        FSC_CLI_LIMIT_OPTION,                   {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    fsc_limits lim = fsc_limits_default(); /* --limit */
    char configs_buf[2048] = DEFAULT_CONFIGS, configs_arg[2048];
    const char *reference = NULL, *out = NULL, *localize = "auto";
    const char *inputs[FSC_CLI_MAX_LIST];
    int n_inputs = 0, n_profiles = 0;
    const char *profiles[8];
    const fsc_profile *prof;
    fsc_error perr;
    long long runs = 100, seed = 1234, threads = 0, size = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': snprintf(configs_buf, sizeof configs_buf, "%s", optarg); break;
        case 'r': reference = optarg; break;
        case 'n': if (!fsc_cli_int("--runs", optarg, 1, 1000000, &runs)) return FSC_EXIT_USAGE; break;
        case 'i':
            if (n_inputs == 8) return fsc_cli_error("too many --input options (at most 8)");
            inputs[n_inputs++] = optarg;
            break;
        case 's': if (!fsc_cli_int("--seed", optarg, 0, (1LL << 62), &seed)) return FSC_EXIT_USAGE; break;
        case 't': if (!fsc_cli_int("--threads", optarg, 1, 256, &threads)) return FSC_EXIT_USAGE; break;
        case 'z': if (!fsc_cli_int("--size", optarg, 8, 1024, &size)) return FSC_EXIT_USAGE; break;
        case 'o': out = optarg; break;
        case 'l': localize = optarg; break;
        case 'P':
            if (n_profiles == 8) return fsc_cli_error("too many --profile options (at most 8)");
            if (fsc_profile_use(optarg, &prof, &perr)) return fsc_cli_fail("report", &perr);
            profiles[n_profiles++] = optarg;
            break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) return fsc_cli_error("report takes at most one MODEL (got %d)", argc - optind);
    if (!out || !*out) return fsc_cli_error("report needs --out DIR (see flipscope report --help)");
    const char *model = optind < argc ? argv[optind] : NULL;
    if (model && size) return fsc_cli_error("--size applies to the built-in model only");
    snprintf(configs_arg, sizeof configs_arg, "%s", configs_buf);
    char *configs[FSC_CLI_MAX_LIST];
    int n_cfg = fsc_cli_split(configs_buf, configs, FSC_CLI_MAX_LIST);
    if (n_cfg < 1) return fsc_cli_error("--configs needs at least one configuration");
    if (!reference) reference = fsc_cli_default_reference(configs, n_cfg);

    fsc_ctx ctx = fsc_cli_ctx((int)threads);
    ctx.limits = lim;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_report rep;
    fsc_report_init(&rep, "report");
    rep.seed = (unsigned long long)seed;
    fsc_graph *g = NULL;
    fsc_tensor *in = NULL;
    fsc_drift_result res;
    memset(&res, 0, sizeof res);
    int rc = FSC_EXIT_USAGE;
    if (model) {
        if (fsc_model_load(model, &ctx, &g, &err) || fsc_report_set_model_file(&rep, model, &err)) goto fail;
    } else {
        fsc_synth_opts so = fsc_synth_default();
        if (size) so.height = so.width = size;
        snprintf(rep.model_desc, sizeof rep.model_desc,
                 "built-in AmplifiedConvTie (weights seed %llu, input 1x3x%lldx%lld, head bias 0)",
                 (unsigned long long)so.seed, (long long)so.height, (long long)so.width);
        if (fsc_synth_amplified_conv_tie(&so, &g, &err)) goto fail;
    }
    for (int i = 0; i < n_inputs; i++) snprintf(rep.input_files[i], sizeof rep.input_files[i], "%s", inputs[i]);
    rep.n_input_files = n_inputs;

    /* the commands that reproduce this report: itself, and the probes it ran */
    {
        const char *words[64];
        char runs_s[24], seed_s[24], size_s[24];
        snprintf(runs_s, sizeof runs_s, "%lld", runs);
        snprintf(seed_s, sizeof seed_s, "%lld", seed);
        snprintf(size_s, sizeof size_s, "%lld", size);
        for (int which = 0; which < 2; which++) {
            int n = 0;
            words[n++] = "flipscope";
            words[n++] = which == 0 ? "report" : "drift";
            if (model) words[n++] = model;
            words[n++] = "--configs";
            words[n++] = configs_arg;
            words[n++] = "--reference";
            words[n++] = reference;
            words[n++] = "--runs";
            words[n++] = runs_s;
            for (int i = 0; i < n_inputs; i++) {
                words[n++] = "--input";
                words[n++] = inputs[i];
            }
            words[n++] = "--seed";
            words[n++] = seed_s;
            for (int i = 0; i < n_profiles; i++) {
                words[n++] = "--profile";
                words[n++] = profiles[i];
            }
            if (size && which == 0) {
                words[n++] = "--size";
                words[n++] = size_s;
            }
            if (which == 0) {
                words[n++] = "--out";
                words[n++] = out;
            }
            if (which == 1 && !model && size) continue; /* drift has no --size: the report line covers it */
            fsc_report_add_command(&rep, words, n);
        }
        if (model) {
            const char *iw[] = {"flipscope", "inspect", model};
            fsc_report_add_command(&rep, iw, 3);
        }
    }

    in = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *in);
    uint64_t useed = (uint64_t)seed;
    if (!in) {
        fsc_fail(&err, FSC_ERR_NOMEM, "out of memory for the inputs");
        goto fail;
    }
    if (fsc_inputs_load(g, inputs, n_inputs, &useed, &ctx, in, &err)) goto fail;
    if (fsc_report_add_inspect(&rep, g, &err)) goto fail;
    fsc_drift_opts o = {.runs = (int)runs, .configs = (const char *const *)configs, .n_configs = n_cfg,
                        .reference = reference, .stop_at_argmax_drift = true};
    if (fsc_probe_drift(g, in, &o, &ctx, &res, &err)) goto fail;
    fsc_report_take_drift(&rep, &res);
    if (fsc_report_add_placement(&rep, g, &err)) goto fail;
    for (int i = 0; i < rep.n_placement && !size; i++) {
        const char *pw[12] = {"flipscope", "plan"};
        int n = 2;
        if (model) pw[n++] = model;
        pw[n++] = "--units";
        pw[n++] = rep.placement[i].preset;
        pw[n++] = "--profile";
        pw[n++] = rep.placement[i].profile;
        for (int k = 0; k < n_profiles; k++) /* a profile given as a file is named by its path */
            if (profile_arg_is(profiles[k], rep.placement[i].profile)) pw[n - 1] = profiles[k];
        fsc_report_add_command(&rep, pw, n);
    }
    if (fsc_cli_report_localize(&rep, g, in, localize, model, inputs, n_inputs, (unsigned long long)seed, size, &ctx,
                                &err))
        goto fail;
    fsc_report_finish(&rep);
    if (fsc_report_write(&rep, out, &err)) goto fail;
    printf("flipscope report: %s\n", rep.model_desc);
    fsc_cli_report_summary(stdout, &rep, out);
    rc = FSC_EXIT_OK;
    goto done;
fail:
    rc = fsc_cli_fail("report", &err);
done:
    fsc_drift_result_free(&res);
    fsc_report_free(&rep);
    if (in)
        for (int i = 0; i < g->n_inputs; i++) fsc_tensor_free(&in[i]);
    free(in);
    fsc_graph_free(g);
    return rc;
}
