/* cmd_inspect.c: `flipscope inspect`: the quantization-evidence probe (SEED.md stage 4). */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/onnx.h"
#include "flipscope/model_io.h"
#include "flipscope/probe_inspect.h"

static void help(FILE *f)
{
    fprintf(f, "usage: flipscope inspect MODEL [--hits N] [--json]\n\n"
               "Reads a model without running it and reports its quantization evidence (SEED.md stage 4):\n"
               "op type and output dtype counts; ops whose type, name, outputs or dtypes mention\n"
               "quant/dequant/constexpr/affine/cast/int8/lut; the values made by quantize and by\n"
               "dequantize/constexpr ops; the real ops (conv, linear/gemm, matmul, add, mul, silu, relu, gelu,\n"
               "reduce_mean, reshape) that read them; and a classification:\n"
               "  weight-quantization evidence      constexpr_* ops, or DequantizeLinear of integer initializers\n"
               "  activation-quantization evidence  quantize / dequantize ops\n"
               "  interpretation: \"quantize/dequantize pairs are present before real ops\",\n"
               "    \"... present but no real-op consumers\", \"weight compression only\" or \"no quantization evidence\".\n\n"
               "MODEL: .mlpackage (directory), .mlmodel (ML Program with immediate weights) or .onnx.\n\n"
               "options:\n" FSC_CLI_LIMIT_HELP
               "  --hits N   list at most N keyword hits (default 40; the total is always printed)\n"
               "  --json     print one JSON object instead of text\n\n"
               "exit codes: 0 inspected, 2 usage or unreadable model\n");
}

int fsc_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"hits", required_argument, 0, 'n'}, {"json", no_argument, 0, 'j'},
                                         FSC_CLI_LIMIT_OPTION, {"help", no_argument, 0, 'h'},      {0, 0, 0, 0}};
    fsc_limits lim = fsc_limits_default(); /* --limit */
    long long hits = 40;
    bool json = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': if (!fsc_cli_int("--hits", optarg, 0, 1000000, &hits)) return FSC_EXIT_USAGE; break;
        case 'j': json = true; break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) return fsc_cli_error("inspect needs exactly one MODEL (see flipscope inspect --help)");
    const char *path = argv[optind];
    fsc_ctx ctx = fsc_cli_ctx(0);
    ctx.limits = lim;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_graph *g = NULL;
    fsc_inspect_result r;
    memset(&r, 0, sizeof r);
    /* ONNX models load leniently here: an op flipscope cannot run is still listed. */
    fsc_error note;
    fsc_error_clear(&note);
    size_t pl = strlen(path);
    bool onnx = pl > 5 && !strcmp(path + pl - 5, ".onnx");
    fsc_status ls = onnx ? fsc_onnx_load_for_inspection(path, &ctx, &g, &note, &err) : fsc_model_load(path, &ctx, &g, &err);
    int opaque = 0;
    for (int i = 0; g && i < g->n_nodes; i++) opaque += g->nodes[i].op == FSC_OP_OPAQUE;
    if (ls || fsc_inspect_graph(g, (int)hits, &r, &err)) {
        fsc_graph_free(g);
        return fsc_cli_fail("inspect", &err);
    }
    if (json) {
        cJSON *doc = fsc_cli_json_doc("inspect");
        cJSON_AddStringToObject(doc, "model", path);
        cJSON_AddNumberToObject(doc, "untranslated_ops", opaque);
        if (opaque) cJSON_AddStringToObject(doc, "first_untranslated_error", note.msg);
        cJSON_AddItemToObject(doc, "inspect", fsc_cli_inspect_json(&r));
        fsc_cli_print_json(doc);
    } else {
        fsc_cli_inspect_text(stdout, &r, path);
        if (opaque)
            printf("\nnote: %d op%s could not be translated, so flipscope can inspect this model but not run it;\n"
                   "      the first: %s\n", opaque, opaque == 1 ? "" : "s", note.msg);
    }
    fsc_inspect_result_free(&r);
    fsc_graph_free(g);
    return FSC_EXIT_OK;
}
