/* cmd_backends.c: `flipscope backends`: every configuration, what it stands
 * for, how sure we are, and whether it can run here. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/exec.h"
#include "flipscope/plan.h"

static void help(FILE *f)
{
    fprintf(f, "usage: flipscope backends [--profile NAME|FILE]... [--json]\n\n"
               "Lists every configuration flipscope knows (emu:<preset> arithmetic models, and real backends when\n"
               "built), what hardware each stands for, how sure we are of that, and whether it is available on\n"
               "this machine (and why not). Use the names with --configs / --reference. coreml:<preset> come from\n"
               "the built-in device profile; --profile adds a profile's presets as <profile>:<preset> (docs/plan.md).\n");
}

int fsc_cmd_backends(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                          {"profile", required_argument, 0, 'P'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    fsc_error perr;
    const fsc_profile *prof;
    bool json = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') json = true;
        else if (c == 'P') {
            if (fsc_profile_use(optarg, &prof, &perr)) return fsc_cli_fail("backends", &perr);
        }
        else if (c == 'h') { help(stdout); return FSC_EXIT_OK; }
        else { help(stderr); return FSC_EXIT_USAGE; }
    }
    if (optind < argc) return fsc_cli_error("backends takes no arguments");
    int n = fsc_config_list(NULL, 0);
    fsc_config_info *list = calloc((size_t)(n ? n : 1), sizeof *list);
    if (!list) return fsc_cli_error("out of memory");
    n = fsc_config_list(list, n);
    if (json) {
        cJSON *d = fsc_cli_json_doc("backends");
        cJSON *a = cJSON_AddArrayToObject(d, "configurations");
        for (int i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", list[i].name);
            cJSON_AddStringToObject(o, "backend", list[i].backend);
            cJSON_AddBoolToObject(o, "emulated", list[i].emulated);
            cJSON_AddBoolToObject(o, "available", list[i].available);
            if (!list[i].available) cJSON_AddStringToObject(o, "reason", list[i].reason);
            cJSON_AddStringToObject(o, "stands_for", list[i].stands_for ? list[i].stands_for : "");
            cJSON_AddStringToObject(o, "certainty", list[i].certainty ? list[i].certainty : "");
            cJSON_AddItemToArray(a, o);
        }
        fsc_cli_print_json(d);
    } else {
        printf("flipscope configurations (%d)\n\n", n);
        for (int i = 0; i < n; i++) {
            printf("%-22s %s%s\n", list[i].name, list[i].emulated ? "[emulated] " : "[real] ",
                   list[i].available ? "available" : "UNAVAILABLE");
            if (!list[i].available) printf("%-22s   why: %s\n", "", list[i].reason);
            printf("%-22s   stands for: %s\n", "", list[i].stands_for ? list[i].stands_for : "-");
            printf("%-22s   how sure:   %s\n", "", list[i].certainty ? list[i].certainty : "-");
        }
        printf("\nEmulated results show what an arithmetic model computes, bit-exactly; they are labelled as\n"
               "emulated everywhere and are only as good a stand-in for a device as the 'how sure' line says.\n");
    }
    free(list);
    return FSC_EXIT_OK;
}
