/* report_placement.c: the report's placement section, from device profiles
 * (docs/plan.md): for every probed configuration named PROFILE:PRESET, where
 * the preset's placement puts each op, and how many ops land on devices the
 * profile marks as accelerators. Emulated presets (emu:*) have no plan. */
#include <stdlib.h>
#include <string.h>

#include "flipscope/plan.h"
#include "report/report_internal.h"

/* Fills p from a plan of g under preset of profile prof. */
static void from_plan(fsc_report_placement *p, const char *config, const fsc_profile *prof, const fsc_plan *plan)
{
    const fsc_preset *ps = &prof->presets[plan->preset];
    memset(p, 0, sizeof *p);
    snprintf(p->config, sizeof p->config, "%s", config);
    snprintf(p->profile, sizeof p->profile, "%s", prof->name);
    snprintf(p->preset, sizeof p->preset, "%s", ps->name);
    p->n_ops = plan->n_ops;
    p->n_load_time = plan->n_none;
    p->n_fallback = plan->n_fallback;
    /* the preset's devices in priority order, then its fallback when it is not among them */
    int devs[FSC_PROFILE_MAX + 1], nd = 0;
    for (int k = 0; k < ps->n_devices; k++) devs[nd++] = ps->devices[k];
    bool listed = false;
    for (int k = 0; k < nd; k++) listed = listed || devs[k] == ps->fallback;
    if (ps->fallback >= 0 && !listed) devs[nd++] = ps->fallback;
    for (int k = 0; k < nd && p->n_devices < FSC_REPORT_MAX_DEVICES; k++) {
        const fsc_device *d = &prof->devices[devs[k]];
        int i = p->n_devices++;
        snprintf(p->device[i], sizeof p->device[i], "%s", d->name);
        p->accelerator[i] = d->accelerator;
        p->ops_on[i] = plan->preferred[devs[k]];
        if (d->accelerator) p->on_accelerator += plan->preferred[devs[k]];
    }
    snprintf(p->certainty, sizeof p->certainty, "%s", ps->certainty ? ps->certainty : "");
}

fsc_status fsc_report_add_placement(fsc_report *r, const fsc_graph *g, fsc_error *err)
{
    free(r->placement);
    r->placement = NULL;
    r->n_placement = 0;
    if (!r->has_drift) return FSC_OK;
    r->placement = calloc((size_t)(r->drift.n ? r->drift.n : 1), sizeof *r->placement);
    if (!r->placement) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory for the placement summary");
    for (int i = 0; i < r->drift.n; i++) {
        const char *name = r->drift.cfg[i].name, *colon = strchr(name, ':');
        if (!colon || (size_t)(colon - name) >= FSC_PROFILE_NAME) continue;
        char pname[FSC_PROFILE_NAME];
        snprintf(pname, sizeof pname, "%.*s", (int)(colon - name), name);
        const fsc_profile *prof;
        fsc_error quiet;
        if (!strcmp(pname, "emu") || fsc_profile_get(pname, &prof, &quiet)) continue; /* not a profile: no plan */
        if (fsc_profile_preset_index(prof, colon + 1) < 0) continue;
        fsc_plan plan;
        memset(&plan, 0, sizeof plan);
        fsc_status st = fsc_plan_make(g, prof, colon + 1, &plan, err);
        if (st) return st;
        from_plan(&r->placement[r->n_placement++], name, prof, &plan);
        fsc_plan_free(&plan);
    }
    return FSC_OK;
}
