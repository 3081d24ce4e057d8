/* cmd_tccheck.c: `flipscope tc-check DIR [--json]`: replays measured
 * tensor-core results through the block-FMA presets (fsc_tccheck_dir). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/tccheck.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: flipscope tc-check DIR [--json]\n\n"
            "Checks the tensor-core presets (emu:v100-fp16 ... emu:b200-e5m2) against measured GPU results.\n"
            "Each case is one block d = a . b + c computed on real hardware; the emulator must give the\n"
            "same binary32 (or fp16) bit pattern. Prints, per result file, the preset used and how many\n"
            "cases it reproduces bit for bit.\n\n"
            "DIR is laid out as the data of Khattak & Mikaitis (tests/fixtures/tensor-cores):\n"
            "  DIR/<GPU>/<FMT>/a_<GPU>_<FMT>.txt  K inputs per line, binary32 bit patterns in hex\n"
            "  DIR/<GPU>/<FMT>/b_<GPU>_<FMT>.txt  the other K inputs\n"
            "  DIR/<GPU>/<FMT>/c_<GPU>_fp32.txt   accumulator input, 32 '0'/'1' characters per line\n"
            "  DIR/<GPU>/<FMT>/d_<GPU>_fp32.txt   the GPU's result (and d_<GPU>_fp16.txt for fp16 output)\n"
            "GPU: V100, A100, H100, H200, B200; FMT: fp16, bf16, tf32, E4M3, E5M2.\n\n"
            "options:\n"
            "  --json    one JSON object: {\"files\": [{\"gpu\", \"format\", \"output\", \"preset\", \"K\",\n"
            "            \"matches\", \"total\", \"first_mismatch\"}, ...]}\n\n"
            "example: flipscope tc-check tests/fixtures/tensor-cores\n"
            "exit codes: 0 every file reproduced, 1 some case differs, 2 bad DIR or malformed data\n");
}

int fsc_cmd_tccheck(int argc, char **argv)
{
    const char *dir = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout);
            return FSC_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (argv[i][0] == '-') {
            return fsc_cli_error("tc-check: unknown option '%s' (try flipscope tc-check --help)", argv[i]);
        } else if (dir) {
            return fsc_cli_error("tc-check: one DIR only ('%s' and '%s')", dir, argv[i]);
        } else {
            dir = argv[i];
        }
    }
    if (!dir) return fsc_cli_error("tc-check: DIR is missing (try flipscope tc-check --help)");
    static fsc_tc_report rep;
    fsc_error err = {0};
    if (fsc_tccheck_dir(dir, &rep, &err) != FSC_OK) return fsc_cli_fail("tc-check", &err);
    int exact = 0;
    for (int i = 0; i < rep.n; i++) exact += rep.r[i].matches == rep.r[i].total;
    if (json) {
        printf("{\"files\": [");
        for (int i = 0; i < rep.n; i++) {
            const fsc_tc_result *r = &rep.r[i];
            printf("%s\n  {\"gpu\": \"%s\", \"format\": \"%s\", \"output\": \"%s\", \"preset\": \"%s\", \"K\": %d, "
                   "\"matches\": %d, \"total\": %d, \"first_mismatch\": %d}",
                   i ? "," : "", r->gpu, r->format, r->output, r->preset, r->K, r->matches, r->total,
                   r->first_mismatch);
        }
        printf("\n], \"files_exact\": %d, \"files_total\": %d}\n", exact, rep.n);
    } else {
        printf("%-5s %-5s %-6s %-10s %3s  %s\n", "GPU", "input", "output", "preset", "K", "matches/total");
        for (int i = 0; i < rep.n; i++) {
            const fsc_tc_result *r = &rep.r[i];
            printf("%-5s %-5s %-6s %-10s %3d  %d/%d", r->gpu, r->format, r->output, r->preset, r->K, r->matches,
                   r->total);
            if (r->first_mismatch >= 0) printf("  (first mismatch: case %d)", r->first_mismatch + 1);
            printf("\n");
        }
        printf("%d of %d files reproduced bit for bit\n", exact, rep.n);
    }
    return exact == rep.n ? FSC_EXIT_OK : FSC_EXIT_FLIP;
}
