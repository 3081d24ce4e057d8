/* cmd_demo.c: `flipscope demo`: the seed's reproduction end to end on the
 * built-in model: build, centre the tie, probe, and say honestly what it shows. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/report.h"
#include "flipscope/synth.h"

#define DEMO_CONFIGS "emu:fp32,emu:fp64,emu:fp16,emu:fp16-acc16,emu:bf16,emu:tf32"

static void help(FILE *f)
{
    fprintf(f,
            "usage: flipscope demo [options]\n\n"
            "Reproduces the seed end to end: builds the AmplifiedConvTie near-tie model, finds the preset that\n"
            "moves its margin most away from emu:fp32, centres the tie between the two (sets the head bias B0,\n"
            "as the seed's author did by hand), runs the drift probe across the presets and prints a seed-style\n"
            "summary ending with what this does and does not show.\n\n"
            "options:\n" FSC_CLI_LIMIT_HELP
            "  --runs N          repeated runs per configuration (default 100)\n"
            "  --size N          input height and width (default 224, the seed's)\n"
            "  --configs A,B,..  configurations to probe; the first is the reference (default\n"
            "                    %s)\n"
            "  --threads N       kernel threads\n"
            "  --out DIR         also write the results write-up: DIR/report.md, report.json, report.html\n"
            "  --localize CFG|auto|none  with --out: localize the difference per op between the reference and\n"
            "                    CFG (auto, the default: the configuration that flipped, else the one moved most)\n"
            "  --json            machine-readable output\n",
            DEMO_CONFIGS);
}

/* Margin logit0 - logit1 of one run; NAN with err set on failure. */
static double one_margin(const fsc_graph *g, const fsc_tensor *x, const char *cfg, const fsc_ctx *ctx, fsc_error *err)
{
    fsc_engine *e;
    if (fsc_engine_open(cfg, g, ctx, &e, err)) return NAN;
    fsc_tensor y;
    fsc_status st = fsc_engine_run(e, x, &y, NULL, err);
    fsc_engine_close(e);
    if (st) return NAN;
    double m = fsc_tensor_get(&y, 0) - fsc_tensor_get(&y, 1);
    fsc_tensor_free(&y);
    return m;
}

static void honest_claim(FILE *f, const fsc_drift_result *r)
{
    const fsc_drift_config *ref = &r->cfg[r->reference];
    int stable = 0, failed = 0, flips = 0, nans = 0;
    for (int i = 0; i < r->n; i++) {
        if (r->cfg[i].failed) failed++;
        else if (!r->cfg[i].raw_drift) stable++;
        if (r->cfg[i].logits && r->cfg[i].argmax < 0) nans++;
        else if (r->cfg[i].compared && !r->cfg[i].argmax_agrees) flips++;
    }
    fprintf(f, "\nConclusion\n\n");
    fprintf(f, "  same-backend stability: %d of %d configurations gave bit-identical outputs on all %d repeated runs%s\n",
            stable, r->n, r->runs, failed ? " (failed ones excluded)" : "");
    fprintf(f, "  argmax flips vs %s:    %d configuration%s:", ref->name, flips, flips == 1 ? "" : "s");
    for (int i = 0; i < r->n; i++)
        if (r->cfg[i].compared && !r->cfg[i].argmax_agrees && r->cfg[i].argmax >= 0)
            fprintf(f, " %s (class %d -> %d, margin delta %+.6g)", r->cfg[i].name, ref->argmax, r->cfg[i].argmax,
                    r->cfg[i].margin_delta);
    if (nans) {
        fprintf(f, "\n  NaN outputs:                %d configuration%s:", nans, nans == 1 ? "" : "s");
        for (int i = 0; i < r->n; i++)
            if (r->cfg[i].logits && r->cfg[i].argmax < 0) fprintf(f, " %s", r->cfg[i].name);
        fprintf(f, " (the arithmetic overflowed; no decision)");
    }
    fprintf(f, "\n\nHonest claim: ");
    if (flips && stable == r->n)
        fprintf(f, "each configuration is deterministic on its own, yet they disagree on this near-tie input:\n"
                   "the decision depends on the arithmetic. This does not show run-to-run nondeterminism (there was\n"
                   "none), nor what any real device computes: every row is an emulated arithmetic model, exact to its\n"
                   "definition, standing for hardware only as surely as `flipscope backends` says. The tie was centred\n"
                   "on purpose (head bias B0), as in the seed.\n");
    else if (flips)
        fprintf(f, "the configurations disagree on this near-tie input, but not every configuration was repeatable\n"
                   "or every one ran, so part of the disagreement may be instability; see the table above.\n");
    else
        fprintf(f, "no configuration flipped the decision on this input; the margins moved by the deltas shown.\n");
}

/* The demo's results write-up in dir (takes over res). */
static fsc_status write_report(const fsc_graph *g, const fsc_tensor *x, const fsc_synth_opts *so, uint64_t input_seed,
                               const char *between, const fsc_tie_result *tr, fsc_drift_result *res, long long runs,
                               const char *configs, const char *localize, const char *dir, bool json,
                               const fsc_ctx *ctx, fsc_error *err)
{
    fsc_report rep;
    fsc_report_init(&rep, "demo");
    snprintf(rep.model_desc, sizeof rep.model_desc,
             "built-in AmplifiedConvTie (weights seed %llu, input 1x3x%lldx%lld, tie centred)",
             (unsigned long long)so->seed, (long long)so->height, (long long)so->width);
    rep.seed = (unsigned long long)input_seed;
    rep.has_tie = true;
    snprintf(rep.tie_between, sizeof rep.tie_between, "%s", between);
    rep.tie_b0 = tr->b0;
    rep.tie_margin_reference = tr->margin_a;
    rep.tie_margin_other = tr->margin_b;
    rep.tie_split = tr->split != 0;
    char runs_s[24], size_s[24];
    snprintf(runs_s, sizeof runs_s, "%lld", runs);
    snprintf(size_s, sizeof size_s, "%lld", (long long)so->height);
    const char *words[] = {"flipscope", "demo",    "--runs", runs_s,   "--size", size_s,
                           "--configs", configs, "--localize", localize, "--out",  dir};
    fsc_report_add_command(&rep, words, 12);
    fsc_status st = fsc_report_add_inspect(&rep, g, err);
    if (!st) {
        fsc_report_take_drift(&rep, res);
        st = fsc_report_add_placement(&rep, g, err);
    }
    if (!st) {
        st = fsc_cli_report_localize(&rep, g, x, localize, NULL, NULL, 0, input_seed, so->height, ctx, err);
    }
    if (!st) {
        fsc_report_finish(&rep);
        st = fsc_report_write(&rep, dir, err);
        if (!st) fsc_cli_report_summary(json ? stderr : stdout, &rep, dir);
    }
    fsc_report_free(&rep);
    return st;
}

int fsc_cmd_demo(int argc, char **argv)
{
    static const struct option opts[] = {
        {"runs", required_argument, 0, 'n'},    {"size", required_argument, 0, 'z'},
        {"configs", required_argument, 0, 'c'}, {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},          {"out", required_argument, 0, 'o'},
        {"localize", required_argument, 0, 'l'}, FSC_CLI_LIMIT_OPTION,
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *out = NULL, *localize = "auto";
    fsc_limits lim = fsc_limits_default(); /* --limit */
    long long runs = 100, size = 224, threads = 0;
    char configs_buf[1024] = DEMO_CONFIGS, configs_arg[1024];
    bool json = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': if (!fsc_cli_int("--runs", optarg, 1, 100000, &runs)) return FSC_EXIT_USAGE; break;
        case 'z': if (!fsc_cli_int("--size", optarg, 8, 1024, &size)) return FSC_EXIT_USAGE; break;
        case 't': if (!fsc_cli_int("--threads", optarg, 1, 256, &threads)) return FSC_EXIT_USAGE; break;
        case 'c': snprintf(configs_buf, sizeof configs_buf, "%s", optarg); break;
        case 'j': json = true; break;
        case 'o':
            if (!*optarg) return fsc_cli_error("--out needs a directory");
            out = optarg;
            break;
        case 'l': localize = optarg; break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (optind < argc) return fsc_cli_error("demo takes no positional arguments");
    snprintf(configs_arg, sizeof configs_arg, "%s", configs_buf);
    char *configs[FSC_CLI_MAX_LIST];
    int n_cfg = fsc_cli_split(configs_buf, configs, FSC_CLI_MAX_LIST);
    if (n_cfg < 2) return fsc_cli_error("--configs needs a reference and at least one other configuration");
    fsc_ctx ctx = fsc_cli_ctx((int)threads);
    ctx.limits = lim;
    fsc_error err;
    fsc_error_clear(&err);
    for (int i = 0; i < n_cfg; i++) {
        fsc_config_info info;
        if (fsc_config_lookup(configs[i], &info, &err)) return fsc_cli_fail("demo", &err);
    }
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = size;
    fsc_graph *g = NULL;
    fsc_tensor x;
    memset(&x, 0, sizeof x);
    fsc_drift_result res;
    memset(&res, 0, sizeof res);
    int rc = FSC_EXIT_USAGE;
    uint64_t input_seed = 1234;
    if (fsc_synth_amplified_conv_tie(&so, &g, &err) || fsc_inputs_load(g, NULL, 0, &input_seed, &ctx, &x, &err)) goto fail;
    FILE *log = json ? stderr : stdout;
    fprintf(log, "flipscope demo: the seed's near-tie reproduction, in emulated arithmetic\n\n");
    fprintf(log, "Model: AmplifiedConvTie (built-in; weights seed %llu, input 1x3x%lldx%lld, head bias B0 = 0)\n",
            (unsigned long long)so.seed, size, size);
    fprintf(log, "Input: standard normal, seed %llu\n\n", (unsigned long long)input_seed);

    /* 1. Which preset moves the margin most away from the reference? */
    double m_ref = one_margin(g, &x, configs[0], &ctx, &err);
    if (isnan(m_ref)) goto fail;
    fprintf(log, "Step 1: margins (logit0 - logit1) before centring, one run each\n");
    fprintf(log, "  %-20s %+.9g (reference)\n", configs[0], m_ref);
    int most = -1;
    double most_d = -1;
    for (int i = 1; i < n_cfg; i++) {
        fsc_error e2;
        fsc_error_clear(&e2);
        double m = one_margin(g, &x, configs[i], &ctx, &e2);
        if (isnan(m)) {
            fprintf(log, "  %-20s FAILED: %s\n", configs[i], e2.msg);
            continue;
        }
        fprintf(log, "  %-20s %+.9g (moves it by %+.6g)\n", configs[i], m, m - m_ref);
        if (fabs(m - m_ref) > most_d) {
            most_d = fabs(m - m_ref);
            most = i;
        }
    }
    if (most < 0) {
        fsc_fail(&err, FSC_ERR_INVALID, "no configuration besides the reference could run");
        goto fail;
    }
    /* 2. Centre the tie between the reference and that preset. */
    fsc_tie_result tr;
    if (fsc_tie_centre(g, &x, configs[0], configs[most], &ctx, &tr, &err)) goto fail;
    fprintf(log, "\nStep 2: centre the tie between %s and %s (the one that moves the margin most)\n", configs[0],
            configs[most]);
    fprintf(log, "  head bias B0 = %.9g after %d correction%s; margins now %s %+.6g, %s %+.6g -> %s\n\n", tr.b0,
            tr.iterations, tr.iterations == 1 ? "" : "s", configs[0], tr.margin_a, configs[most], tr.margin_b,
            tr.split ? "opposite classes" : "NOT split");

    /* 3. The drift probe across the presets. */
    fprintf(log, "Step 3: drift probe, %lld repeated runs per configuration\n\n", runs);
    fsc_drift_opts o = {.runs = (int)runs, .configs = (const char *const *)configs, .n_configs = n_cfg,
                        .reference = configs[0], .stop_at_argmax_drift = true};
    if (fsc_probe_drift(g, &x, &o, &ctx, &res, &err)) goto fail;
    if (json) {
        cJSON *d = fsc_cli_json_doc("demo");
        cJSON_AddStringToObject(d, "model", "built-in AmplifiedConvTie");
        cJSON_AddNumberToObject(d, "size", (double)size);
        cJSON *t = cJSON_AddObjectToObject(d, "tie");
        cJSON_AddStringToObject(t, "between", configs[most]);
        cJSON_AddNumberToObject(t, "head_bias", tr.b0);
        cJSON_AddNumberToObject(t, "margin_reference", tr.margin_a);
        cJSON_AddNumberToObject(t, "margin_other", tr.margin_b);
        cJSON_AddBoolToObject(t, "split", tr.split);
        cJSON_AddItemToObject(d, "drift", fsc_cli_drift_json(&res));
        fsc_cli_print_json(d);
    } else {
        fsc_cli_drift_text(stdout, &res);
        honest_claim(stdout, &res);
    }
    if (out && write_report(g, &x, &so, input_seed, configs[most], &tr, &res, runs, configs_arg, localize, out, json, &ctx, &err)) goto fail;
    rc = FSC_EXIT_OK;
    goto out;
fail:
    rc = fsc_cli_fail("demo", &err);
out:
    fsc_drift_result_free(&res);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
    return rc;
}
