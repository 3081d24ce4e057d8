/* main.c: `flipscope <command> [options]` dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const fsc_cli_cmd commands[] = {
    {"demo", "reproduce the seed: build the near-tie model, centre its tie, show the flip", fsc_cmd_demo},
    {"drift", "run configurations repeatedly and compare them against a reference", fsc_cmd_drift},
    {"localize", "find the ops where a target configuration departs from a reference, and rank them",
     fsc_cmd_localize},
    {"backends", "list every configuration, what hardware it stands for, how sure we are", fsc_cmd_backends},
    {"plan", "which device of a compute-unit preset runs each op (Core ML compute plan)", fsc_cmd_plan},
    {"synth", "build the built-in AmplifiedConvTie model and write it to a file", fsc_cmd_synth},
    {"inspect", "report a model's quantization evidence (op/dtype counts, QDQ pairs, classification)", fsc_cmd_inspect},
    {"quantize", "build the W8A8 program of a float model the way coremltools does", fsc_cmd_quantize},
    {"report", "run the probes and write the results write-up (report.md, report.json, report.html)",
     fsc_cmd_report},
    {"tc-check", "replay measured tensor-core results through the block-FMA presets", fsc_cmd_tccheck},
};
static const int n_commands = (int)(sizeof commands / sizeof commands[0]);

int fsc_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("flipscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return FSC_EXIT_USAGE;
}

int fsc_cli_fail(const char *cmd, const fsc_error *err)
{
    fprintf(stderr, "flipscope %s: %s\n", cmd, err->msg[0] ? err->msg : "failed");
    return FSC_EXIT_USAGE;
}

static void usage(FILE *f)
{
    fprintf(f, "flipscope: find, measure, explain and bound backend-dependent decision flips\n\n"
               "usage: flipscope <command> [options]   (flipscope <command> --help for details)\n\n"
               "commands:\n");
    for (int i = 0; i < n_commands; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nexit codes: 0 ok / no flip, 1 flip found (with --fail-on), 2 usage or input error\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? FSC_EXIT_USAGE : FSC_EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("flipscope 0.1.0\n");
        return FSC_EXIT_OK;
    }
    for (int i = 0; i < n_commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fsc_cli_error("unknown command '%s' (try flipscope --help)", argv[1]);
    return FSC_EXIT_USAGE;
}
