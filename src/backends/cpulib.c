/* cpulib.c: listing, lookup and placement shared by the oneDNN and XNNPACK
 * providers. A node the library cannot run goes to emu:fp32, visibly: its
 * backend is named "emu:fp32 (fallback)" in the plan. */
#include <stdio.h>
#include <string.h>

#include "backends/cpulib.h"

static const fsc_cpulib_variant *find(const fsc_cpulib *lib, const char *name)
{
    for (int i = 0; i < lib->n_variants; i++)
        if (!strcmp(lib->variants[i].name, name)) return &lib->variants[i];
    return NULL;
}

static void describe(const fsc_cpulib *lib, const fsc_cpulib_variant *v, fsc_config_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s:%s", lib->prefix, v->name);
    snprintf(info->backend, sizeof info->backend, "%s", lib->prefix);
    info->stands_for = v->stands_for;
    info->certainty = "real: the library's own kernels compute (unsupported ops fall back to emu:fp32)";
    info->emulated = false;
    info->available = lib->available(v, info->reason, sizeof info->reason);
}

int fsc_cpulib_list(const fsc_cpulib *lib, fsc_config_info *out, int max)
{
    for (int i = 0; i < lib->n_variants && i < max && out; i++) describe(lib, &lib->variants[i], &out[i]);
    return lib->n_variants;
}

fsc_status fsc_cpulib_lookup(const fsc_cpulib *lib, const char *variant, fsc_config_info *info, fsc_error *err)
{
    const fsc_cpulib_variant *v = find(lib, variant);
    if (!v) {
        char known[256] = "";
        for (int i = 0; i < lib->n_variants; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, lib->variants[i].name, sizeof known - strlen(known) - 1);
        }
        return fsc_fail(err, FSC_ERR_INVALID, "unknown configuration '%s:%s' (variants: %s)", lib->prefix, variant,
                        known);
    }
    describe(lib, v, info);
    return FSC_OK;
}

fsc_status fsc_cpulib_open(const fsc_cpulib *lib, const char *variant, const fsc_graph *g, const fsc_ctx *ctx,
                           fsc_engine_plan *plan, fsc_error *err)
{
    fsc_config_info info;
    fsc_status st = fsc_cpulib_lookup(lib, variant, &info, err);
    if (st) return st;
    if (!info.available) return fsc_fail(err, FSC_ERR_UNAVAILABLE, "%s: %s", info.name, info.reason);
    st = lib->backend_new(find(lib, variant), ctx, &plan->backends[0], err);
    if (st) return st;
    plan->n_backends = 1;
    plan->node_backend = fsc_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int), "node placement", err);
    if (!plan->node_backend) return FSC_ERR_NOMEM;
    fsc_backend *real = plan->backends[0];
    for (int i = 0; i < g->n_nodes; i++) {
        plan->node_backend[i] = -1;
        if (g->nodes[i].op == FSC_OP_CONSTANT) continue;
        if (real->vt->supports(real, g, i)) {
            plan->node_backend[i] = 0;
            continue;
        }
        if (plan->n_backends == 1) {
            st = fsc_emu_backend_new(fsc_arith_preset("fp32"), ctx, &plan->backends[1], err);
            if (st) return st;
            snprintf(plan->backends[1]->name, sizeof plan->backends[1]->name, "emu:fp32 (fallback)");
            plan->n_backends = 2;
        }
        fsc_backend *fb = plan->backends[1];
        if (!fb->vt->supports(fb, g, i)) {
            char lb[200];
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s is supported neither by %s nor by its fallback emu:fp32",
                            fsc_node_label(g, i, lb, sizeof lb), real->name);
        }
        plan->node_backend[i] = 1;
    }
    return FSC_OK;
}
