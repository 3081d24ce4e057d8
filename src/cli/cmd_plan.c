/* cmd_plan.c: `flipscope plan`: which device of a compute-unit preset runs
 * each op (SEED.md stage 2), from a device profile (plan.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "flipscope/plan.h"

#define SHOWN_OPS 80

static void help(FILE *f)
{
    fprintf(f, "usage: flipscope plan [MODEL] [--units PRESET] [--profile NAME|FILE] [--json]\n\n"
               "Places every op of MODEL on the devices of a compute-unit preset, as Core ML's compute plan does:\n"
               "each op goes to the first device of the preset that supports it; constants and constexpr_* weight\n"
               "decompression run at load time (no device). Prints per op (first %d; all with --json) the index,\n"
               "op type, name, preferred device and supported devices; then totals, counts per preferred and per\n"
               "supported device, counts per op type, the (op type x preferred device) table, the segments (runs of\n"
               "ops on one device) and the ops on the accelerator.\n\n"
               "MODEL is an .onnx file, an .mlpackage directory or an .mlmodel; without it the built-in\n"
               "AmplifiedConvTie model is used.\n\n"
               "options:\n" FSC_CLI_LIMIT_HELP
               "  --units PRESET      compute units (default all; coreml: cpu_only, cpu_and_gpu, cpu_and_ne, all)\n"
               "  --profile P         device profile: a name (default coreml; built in, or NAME.profile in\n"
               "                      $FLIPSCOPE_PROFILES or the source tree's profiles/) or a FILE.profile\n"
               "  --json              machine-readable output (docs/plan.md)\n\n"
               "examples:\n"
               "  flipscope plan model.mlpackage --units all\n"
               "  flipscope plan model.onnx --profile my.profile --units fast --json\n",
               SHOWN_OPS);
}

static const char *dev_name(const fsc_profile *p, int d) { return d < 0 ? "None" : p->devices[d].name; }

/* "ne, gpu, cpu" (or "-") for a supported-device mask, in the preset's order. */
static void supported_str(const fsc_profile *p, const fsc_preset *s, uint32_t mask, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int k = 0; k < s->n_devices; k++)
        if (mask & (1u << s->devices[k])) {
            if (buf[0]) strncat(buf, ",", len - strlen(buf) - 1);
            strncat(buf, p->devices[s->devices[k]].name, len - strlen(buf) - 1);
        }
    if (!buf[0]) snprintf(buf, len, "-");
}

/* Devices a report mentions: the preset's list, then its fallback when not listed. */
static int report_devices(const fsc_preset *s, int *out)
{
    int m = 0;
    for (int k = 0; k < s->n_devices; k++) out[m++] = s->devices[k];
    bool listed = false;
    for (int k = 0; k < s->n_devices; k++) listed = listed || s->devices[k] == s->fallback;
    if (s->fallback >= 0 && !listed) out[m++] = s->fallback;
    return m;
}

static const char *type_of(const fsc_graph *g, int i)
{
    return g->nodes[i].op_type ? g->nodes[i].op_type : fsc_op_name(g->nodes[i].op);
}

static void print_text(const char *desc, const fsc_graph *g, const fsc_plan *pl)
{
    const fsc_profile *p = pl->profile;
    const fsc_preset *s = &p->presets[pl->preset];
    int devs[FSC_PROFILE_MAX + 1], nd = report_devices(s, devs);
    printf("flipscope plan: %s\n", desc);
    printf("profile %s (%s), compute units %s:%s = ", p->name, p->source, p->name, s->name);
    for (int k = 0; k < s->n_devices; k++) printf("%s%s", k ? " > " : "", p->devices[s->devices[k]].name);
    if (s->fallback >= 0) printf(" (fallback %s)", p->devices[s->fallback].name);
    printf("\n\ndevices (emulated arithmetic; how sure we are of each):\n");
    for (int k = 0; k < nd; k++) {
        const fsc_device *d = &p->devices[devs[k]];
        const fsc_profile_arith *a = &p->ariths[d->arith];
        printf("  %-6s arith %s\n", d->name, a->name);
        printf("  %-6s   how sure: %s\n", "", a->certainty ? a->certainty : "-");
        if (d->note) printf("  %-6s   ops: %s\n", "", d->note);
    }
    int shown = g->n_nodes < SHOWN_OPS ? g->n_nodes : SHOWN_OPS;
    printf("\nops (first %d of %d)\n", shown, g->n_nodes);
    printf("  %5s  %-30s %-36s %-9s %s\n", "index", "type", "name", "preferred", "supported");
    for (int i = 0; i < shown; i++) {
        char sup[128];
        supported_str(p, s, pl->ops[i].supported, sup, sizeof sup);
        printf("  %5d  %-30s %-36s %-9s %s%s\n", i, type_of(g, i), g->nodes[i].name ? g->nodes[i].name : "",
               dev_name(p, pl->ops[i].device), sup, pl->ops[i].fallback ? "  (fallback)" : "");
    }
    printf("\ntotals\n  ops: %d\n  preferred device:", pl->n_ops);
    for (int k = 0; k < nd; k++) printf(" %s %d,", p->devices[devs[k]].name, pl->preferred[devs[k]]);
    printf(" None %d\n  supported device:", pl->n_none);
    for (int k = 0; k < s->n_devices; k++)
        printf(" %s %d%s", p->devices[s->devices[k]].name, pl->supported[s->devices[k]], k + 1 < s->n_devices ? "," : "");
    if (pl->n_fallback) printf("\n  on the fallback device (no listed device supports them): %d", pl->n_fallback);
    printf("\n\nop types\n");
    for (int t = 0; t < pl->n_types; t++) printf("  %-30s %d\n", pl->types[t].op_type, pl->types[t].count);
    printf("\nop type x preferred device\n  %-30s", "type");
    for (int k = 0; k < nd; k++) printf(" %6s", p->devices[devs[k]].name);
    printf(" %6s\n", "None");
    for (int t = 0; t < pl->n_types; t++) {
        printf("  %-30s", pl->types[t].op_type);
        for (int k = 0; k < nd; k++) printf(" %6d", pl->types[t].on_device[devs[k]]);
        printf(" %6d\n", pl->types[t].none);
    }
    printf("\nsegments (runs of ops on one device; load-time ops do not cut them): %d\n", pl->n_segments);
    for (int k = 0; k < pl->n_segments && k < SHOWN_OPS; k++) {
        const fsc_plan_segment *sg = &pl->segments[k];
        printf("  %-6s ops %d..%d (%d ops)\n", p->devices[sg->device].name, sg->first, sg->last, sg->n_ops);
    }
    for (int k = 0; k < nd; k++) {
        const fsc_device *d = &p->devices[devs[k]];
        if (!d->accelerator) continue;
        int on = pl->preferred[devs[k]], sup = pl->supported[devs[k]];
        printf("\nops on the accelerator (%s): %d run there, %d supported\n", d->name, on, sup);
        for (int i = 0; i < g->n_nodes; i++) {
            bool runs = pl->ops[i].device == devs[k], can = pl->ops[i].supported & (1u << devs[k]);
            if (runs || can)
                printf("  %5d  %-30s %-36s %s\n", i, type_of(g, i), g->nodes[i].name ? g->nodes[i].name : "",
                       runs ? "runs" : "supported");
        }
    }
    bool hyp = false;
    for (int k = 0; k < nd; k++) {
        const char *c = p->ariths[p->devices[devs[k]].arith].certainty;
        hyp = hyp || (c && strstr(c, "hypothesis"));
    }
    if (hyp)
        printf("\nDevices marked 'hypothesis' compute with an arithmetic we assume, not one measured on the hardware.\n");
}

static cJSON *json_plan(const char *desc, const fsc_graph *g, const fsc_plan *pl)
{
    const fsc_profile *p = pl->profile;
    const fsc_preset *s = &p->presets[pl->preset];
    int devs[FSC_PROFILE_MAX + 1], nd = report_devices(s, devs);
    cJSON *d = fsc_cli_json_doc("plan");
    cJSON_AddStringToObject(d, "model", desc);
    cJSON_AddStringToObject(d, "profile", p->name);
    cJSON_AddStringToObject(d, "profile_source", p->source);
    cJSON_AddStringToObject(d, "units", s->name);
    cJSON *jd = cJSON_AddArrayToObject(d, "devices");
    for (int k = 0; k < nd; k++) {
        const fsc_device *dv = &p->devices[devs[k]];
        const fsc_profile_arith *a = &p->ariths[dv->arith];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", dv->name);
        cJSON_AddNumberToObject(o, "priority", k);
        cJSON_AddBoolToObject(o, "fallback", devs[k] == s->fallback);
        cJSON_AddBoolToObject(o, "accelerator", dv->accelerator);
        cJSON_AddStringToObject(o, "arith", a->name);
        cJSON_AddStringToObject(o, "stands_for", a->stands_for ? a->stands_for : "");
        cJSON_AddStringToObject(o, "certainty", a->certainty ? a->certainty : "");
        cJSON_AddItemToArray(jd, o);
    }
    cJSON *ops = cJSON_AddArrayToObject(d, "ops");
    for (int i = 0; i < g->n_nodes; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", i);
        cJSON_AddStringToObject(o, "type", type_of(g, i));
        cJSON_AddStringToObject(o, "name", g->nodes[i].name ? g->nodes[i].name : "");
        if (pl->ops[i].device < 0) cJSON_AddNullToObject(o, "preferred");
        else cJSON_AddStringToObject(o, "preferred", p->devices[pl->ops[i].device].name);
        cJSON *sup = cJSON_AddArrayToObject(o, "supported");
        for (int k = 0; k < s->n_devices; k++)
            if (pl->ops[i].supported & (1u << s->devices[k]))
                cJSON_AddItemToArray(sup, cJSON_CreateString(p->devices[s->devices[k]].name));
        cJSON_AddBoolToObject(o, "load_time", pl->ops[i].load_time);
        cJSON_AddBoolToObject(o, "fallback", pl->ops[i].fallback);
        cJSON_AddItemToArray(ops, o);
    }
    cJSON *tot = cJSON_AddObjectToObject(d, "totals");
    cJSON_AddNumberToObject(tot, "ops", pl->n_ops);
    cJSON_AddNumberToObject(tot, "no_device", pl->n_none);
    cJSON_AddNumberToObject(tot, "fallback", pl->n_fallback);
    cJSON *pref = cJSON_AddObjectToObject(tot, "preferred");
    for (int k = 0; k < nd; k++) cJSON_AddNumberToObject(pref, p->devices[devs[k]].name, pl->preferred[devs[k]]);
    cJSON_AddNumberToObject(pref, "None", pl->n_none);
    cJSON *supd = cJSON_AddObjectToObject(tot, "supported");
    for (int k = 0; k < s->n_devices; k++)
        cJSON_AddNumberToObject(supd, p->devices[s->devices[k]].name, pl->supported[s->devices[k]]);
    cJSON *types = cJSON_AddObjectToObject(tot, "op_types");
    cJSON *table = cJSON_AddObjectToObject(tot, "op_type_by_device");
    for (int t = 0; t < pl->n_types; t++) {
        cJSON_AddNumberToObject(types, pl->types[t].op_type, pl->types[t].count);
        cJSON *row = cJSON_AddObjectToObject(table, pl->types[t].op_type);
        for (int k = 0; k < nd; k++) cJSON_AddNumberToObject(row, p->devices[devs[k]].name, pl->types[t].on_device[devs[k]]);
        cJSON_AddNumberToObject(row, "None", pl->types[t].none);
    }
    cJSON *segs = cJSON_AddArrayToObject(d, "segments");
    for (int k = 0; k < pl->n_segments; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "device", p->devices[pl->segments[k].device].name);
        cJSON_AddNumberToObject(o, "first", pl->segments[k].first);
        cJSON_AddNumberToObject(o, "last", pl->segments[k].last);
        cJSON_AddNumberToObject(o, "ops", pl->segments[k].n_ops);
        cJSON_AddItemToArray(segs, o);
    }
    cJSON *acc = cJSON_AddArrayToObject(d, "accelerator_ops");
    for (int i = 0; i < g->n_nodes; i++) {
        int dv = pl->ops[i].device;
        if (dv >= 0 && p->devices[dv].accelerator) cJSON_AddItemToArray(acc, cJSON_CreateNumber(i));
    }
    return d;
}

int fsc_cmd_plan(int argc, char **argv)
{
    static const struct option opts[] = {{"units", required_argument, 0, 'u'},
                                          {"profile", required_argument, 0, 'p'},
                                          {"json", no_argument, 0, 'j'},
                                          FSC_CLI_LIMIT_OPTION, {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    fsc_limits lim = fsc_limits_default(); /* --limit */
    const char *units = "all", *profile = "coreml";
    bool json = false;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u': units = optarg; break;
        case 'p': profile = optarg; break;
        case 'j': json = true; break;
        case 'L': if (!fsc_cli_limit(&lim, optarg)) return FSC_EXIT_USAGE; break;
        case 'h': help(stdout); return FSC_EXIT_OK;
        default: help(stderr); return FSC_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) return fsc_cli_error("plan takes at most one MODEL (got %d)", argc - optind);
    const char *model = optind < argc ? argv[optind] : NULL;
    fsc_error err;
    fsc_error_clear(&err);
    const fsc_profile *p;
    if (fsc_profile_use(profile, &p, &err)) return fsc_cli_fail("plan", &err);
    fsc_ctx ctx = fsc_cli_ctx(0);
    ctx.limits = lim;
    fsc_graph *g = NULL;
    char desc[512];
    if (fsc_cli_model(model, &ctx, &g, desc, sizeof desc, &err)) return fsc_cli_fail("plan", &err);
    fsc_plan pl;
    if (fsc_plan_make(g, p, units, &pl, &err)) {
        fsc_graph_free(g);
        return fsc_cli_fail("plan", &err);
    }
    if (json) fsc_cli_print_json(json_plan(desc, g, &pl));
    else print_text(desc, g, &pl);
    fsc_plan_free(&pl);
    fsc_graph_free(g);
    return FSC_EXIT_OK;
}
