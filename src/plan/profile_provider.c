/* profile_provider.c: device profiles as configuration providers. The
 * built-in profile "coreml" is the provider "coreml" (coreml:cpu_only,
 * coreml:cpu_and_gpu, coreml:cpu_and_ne, coreml:all); any other profile P
 * in the table (plan.h) gives configurations "P:<preset>" through
 * fsc_profile_provider. Each device of a preset becomes an emulator backend
 * computing with the device's arithmetic, named "<profile>:<device>"; the
 * executor converts tensors at device boundaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/registry.h"
#include "flipscope/plan.h"

static void describe(const fsc_profile *p, const fsc_preset *s, fsc_config_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "%s:%s", p->name, s->name);
    snprintf(info->backend, sizeof info->backend, "emu");
    info->stands_for = s->stands_for;
    info->certainty = s->certainty;
    info->emulated = true;
    info->available = true;
}

static fsc_status lookup_in(const fsc_profile *p, const char *preset, fsc_config_info *info, fsc_error *err)
{
    int si = fsc_profile_preset_index(p, preset);
    if (si < 0) {
        char known[512] = "";
        for (int i = 0; i < p->n_presets; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, p->name, sizeof known - strlen(known) - 1);
            strncat(known, ":", sizeof known - strlen(known) - 1);
            strncat(known, p->presets[i].name, sizeof known - strlen(known) - 1);
        }
        return fsc_fail(err, FSC_ERR_INVALID, "unknown compute-unit preset '%s:%s' (%s has %s)", p->name, preset,
                        p->source, known);
    }
    describe(p, &p->presets[si], info);
    return FSC_OK;
}

/* The backend a load-time node that is not a constant (constexpr_*) is
 * evaluated on: the device of its first consumer, as a runtime materialises
 * decompressed weights in the format of the device that reads them. */
static int load_time_backend(const fsc_graph *g, const int *node_backend, int node)
{
    const fsc_node *n = &g->nodes[node];
    for (int j = node + 1; j < g->n_nodes; j++) {
        if (node_backend[j] < 0) continue;
        const fsc_node *c = &g->nodes[j];
        for (int k = 0; k < c->n_in; k++)
            for (int o = 0; o < n->n_out; o++)
                if (c->in[k] >= 0 && c->in[k] == n->out[o]) return node_backend[j];
    }
    return 0;
}

static fsc_status add_backend(const fsc_profile *p, int d, const fsc_ctx *ctx, fsc_engine_plan *plan, int *map,
                              fsc_error *err)
{
    fsc_backend *b;
    fsc_status st = fsc_emu_backend_new(&p->ariths[p->devices[d].arith].arith, ctx, &b, err);
    if (st) return st;
    snprintf(b->name, sizeof b->name, "%s:%s", p->name, p->devices[d].name);
    map[d] = plan->n_backends;
    plan->backends[plan->n_backends++] = b;
    return FSC_OK;
}

static fsc_status open_in(const fsc_profile *p, const char *preset, const fsc_graph *g, const fsc_ctx *ctx,
                          fsc_engine_plan *plan, fsc_error *err)
{
    fsc_plan pl;
    fsc_status st = fsc_plan_make(g, p, preset, &pl, err);
    if (st) return st;
    const fsc_preset *s = &p->presets[pl.preset];
    int map[FSC_PROFILE_MAX];
    for (int d = 0; d < FSC_PROFILE_MAX; d++) map[d] = -1;
    /* Backends for the devices placement used, in the preset's priority order. */
    int order[FSC_PROFILE_MAX + 1], m = 0;
    for (int k = 0; k < s->n_devices; k++) order[m++] = s->devices[k];
    if (s->fallback >= 0) order[m++] = s->fallback;
    bool need_any = false;
    for (int i = 0; i < g->n_nodes; i++) need_any = need_any || (pl.ops[i].load_time && g->nodes[i].op != FSC_OP_CONSTANT);
    for (int k = 0; k < m && !st; k++)
        if (map[order[k]] < 0 && pl.preferred[order[k]] > 0) st = add_backend(p, order[k], ctx, plan, map, err);
    if (!st && need_any && plan->n_backends == 0) st = add_backend(p, order[0], ctx, plan, map, err);
    if (!st) {
        plan->node_backend = fsc_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof(int), "node placement", err);
        if (!plan->node_backend) st = FSC_ERR_NOMEM;
    }
    if (!st) {
        for (int i = 0; i < g->n_nodes; i++) plan->node_backend[i] = pl.ops[i].device < 0 ? -1 : map[pl.ops[i].device];
        for (int i = g->n_nodes - 1; i >= 0; i--)
            if (pl.ops[i].load_time && g->nodes[i].op != FSC_OP_CONSTANT)
                plan->node_backend[i] = load_time_backend(g, plan->node_backend, i);
        for (int i = 0; i < g->n_nodes && !st; i++) {
            int b = plan->node_backend[i];
            if (b < 0) continue;
            fsc_backend *be = plan->backends[b];
            if (!be->vt->supports(be, g, i)) {
                char lb[200];
                st = fsc_fail(err, FSC_ERR_UNSUPPORTED,
                              "%s is placed on %s, but the emulator has no kernel for it under arithmetic '%s'",
                              fsc_node_label(g, i, lb, sizeof lb), be->name, be->arith->name);
            }
        }
    }
    fsc_plan_free(&pl);
    return st;
}

/* ---- "coreml": the built-in profile of that name ---- */

static int coreml_list(fsc_config_info *out, int max)
{
    const fsc_profile *p;
    if (fsc_profile_get("coreml", &p, NULL)) return 0;
    for (int i = 0; i < p->n_presets && i < max && out; i++) describe(p, &p->presets[i], &out[i]);
    return p->n_presets;
}

static fsc_status coreml_lookup(const char *variant, fsc_config_info *info, fsc_error *err)
{
    const fsc_profile *p;
    fsc_status st = fsc_profile_get("coreml", &p, err);
    return st ? st : lookup_in(p, variant, info, err);
}

static fsc_status coreml_open(const char *variant, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine_plan *plan,
                              fsc_error *err)
{
    const fsc_profile *p;
    fsc_status st = fsc_profile_get("coreml", &p, err);
    return st ? st : open_in(p, variant, g, ctx, plan, err);
}

const fsc_provider fsc_coreml_provider = {
    .prefix = "coreml",
    .list = coreml_list,
    .lookup = coreml_lookup,
    .open = coreml_open,
};

/* ---- any other profile: the variant is the whole name "<profile>:<preset>" ---- */

static fsc_status split_name(const char *variant, const fsc_profile **p, const char **preset, fsc_error *err)
{
    const char *colon = strchr(variant, ':');
    char name[FSC_PROFILE_NAME];
    size_t n = colon ? (size_t)(colon - variant) : 0;
    if (!colon || n == 0 || n >= sizeof name)
        return fsc_fail(err, FSC_ERR_INVALID, "'%s' is not <profile>:<preset>", variant);
    memcpy(name, variant, n);
    name[n] = '\0';
    *preset = colon + 1;
    return fsc_profile_get(name, p, err);
}

static bool is_provider_prefix(const char *name)
{
    int n;
    const fsc_provider *const *pv = fsc_providers(&n);
    for (int i = 0; i < n; i++)
        if (!strcmp(pv[i]->prefix, name)) return true;
    return false;
}

static int profiles_list(fsc_config_info *out, int max)
{
    const fsc_profile *ps[64];
    int np = fsc_profile_list(ps, 64), total = 0;
    for (int i = 0; i < np && i < 64; i++) {
        if (is_provider_prefix(ps[i]->name)) continue; /* listed by its own provider */
        for (int k = 0; k < ps[i]->n_presets; k++, total++)
            if (out && total < max) describe(ps[i], &ps[i]->presets[k], &out[total]);
    }
    return total;
}

static fsc_status profiles_lookup(const char *variant, fsc_config_info *info, fsc_error *err)
{
    const fsc_profile *p;
    const char *preset = NULL;
    fsc_status st = split_name(variant, &p, &preset, err);
    return st ? st : lookup_in(p, preset, info, err);
}

static fsc_status profiles_open(const char *variant, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine_plan *plan,
                                fsc_error *err)
{
    const fsc_profile *p;
    const char *preset = NULL;
    fsc_status st = split_name(variant, &p, &preset, err);
    return st ? st : open_in(p, preset, g, ctx, plan, err);
}

const fsc_provider fsc_profile_provider = {
    .prefix = "",
    .list = profiles_list,
    .lookup = profiles_lookup,
    .open = profiles_open,
};

bool fsc_profile_claims(const char *prefix, size_t len)
{
    char name[FSC_PROFILE_NAME];
    if (len == 0 || len >= sizeof name) return false;
    memcpy(name, prefix, len);
    name[len] = '\0';
    if (is_provider_prefix(name)) return false;
    const fsc_profile *p;
    return fsc_profile_get(name, &p, NULL) == FSC_OK;
}
