/* registry.c: the table of configuration providers, and name lookup. */
#include "backends/registry.h"
#include "backends/runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const fsc_provider *const providers[] = {
    &fsc_emu_provider,
    &fsc_coreml_provider,
    &fsc_onednn_provider,
    &fsc_xnnpack_provider,
    &fsc_runner_provider,
    &fsc_cuda_provider,
};

const fsc_provider *const *fsc_providers(int *n)
{
    *n = (int)(sizeof providers / sizeof providers[0]);
    return providers;
}

int fsc_config_list(fsc_config_info *out, int max)
{
    int n, total = 0;
    const fsc_provider *const *p = fsc_providers(&n);
    for (int i = 0; i < n; i++) {
        int room = max - total > 0 ? max - total : 0;
        total += p[i]->list(out ? out + total : NULL, room);
        if (total > max && out) total = max;
    }
    int room = max - total > 0 ? max - total : 0;
    total += fsc_profile_provider.list(out ? out + total : NULL, room);
    if (total > max && out) total = max;
    return total;
}

/* Splits "prefix:variant"; returns the provider or NULL. */
static const fsc_provider *split(const char *name, const char **variant)
{
    const char *colon = strchr(name, ':');
    if (!colon) return NULL;
    int n;
    const fsc_provider *const *p = fsc_providers(&n);
    for (int i = 0; i < n; i++)
        if (strlen(p[i]->prefix) == (size_t)(colon - name) && strncmp(p[i]->prefix, name, (size_t)(colon - name)) == 0) {
            *variant = colon + 1;
            return p[i];
        }
    /* Other device profiles (plan.h): the variant is the whole name. */
    if (fsc_profile_claims(name, (size_t)(colon - name))) {
        *variant = name;
        return &fsc_profile_provider;
    }
    return NULL;
}

static fsc_status unknown(const char *name, fsc_error *err)
{
    char known[256] = "";
    int n;
    const fsc_provider *const *p = fsc_providers(&n);
    for (int i = 0; i < n; i++) {
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, p[i]->prefix, sizeof known - strlen(known) - 1);
        strncat(known, ":...", sizeof known - strlen(known) - 1);
    }
    strncat(known, ", <profile>:<preset> for a device profile", sizeof known - strlen(known) - 1);
    return fsc_fail(err, FSC_ERR_INVALID, "unknown configuration '%s' (known kinds: %s; `flipscope backends` lists them all)",
                    name, known);
}

fsc_status fsc_config_lookup(const char *name, fsc_config_info *info, fsc_error *err)
{
    const char *variant;
    const fsc_provider *p = split(name, &variant);
    if (!p) return unknown(name, err);
    memset(info, 0, sizeof *info);
    return p->lookup(variant, info, err);
}

fsc_status fsc_plan_single(const fsc_graph *g, fsc_engine_plan *plan, fsc_error *err)
{
    plan->node_backend = fsc_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int), "node placement", err);
    if (!plan->node_backend) return FSC_ERR_NOMEM;
    fsc_backend *b = plan->backends[0];
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == FSC_OP_CONSTANT) {
            plan->node_backend[i] = -1;
            continue;
        }
        if (!b->vt->supports(b, g, i)) {
            char lb[200];
            return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s is not supported by %s", fsc_node_label(g, i, lb, sizeof lb),
                            b->name);
        }
        plan->node_backend[i] = 0;
    }
    return FSC_OK;
}

/* Used by the executor to find the provider of a configuration name. */
const fsc_provider *fsc_provider_for(const char *name, const char **variant, fsc_error *err);
const fsc_provider *fsc_provider_for(const char *name, const char **variant, fsc_error *err)
{
    const fsc_provider *p = split(name, variant);
    if (!p) unknown(name, err);
    return p;
}
