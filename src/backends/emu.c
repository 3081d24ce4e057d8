/* emu.c: the arithmetic emulator as a backend and as the "emu" provider.
 * It runs the kernels of src/kernels under one arithmetic model; it is
 * deterministic by construction (fixed summation orders, no threading
 * inside a sum). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/registry.h"
#include "kernels/kernels.h"

static bool emu_supports(const fsc_backend *b, const fsc_graph *g, int node)
{
    return fsc_kernel_supports(g, node, b->arith);
}

static fsc_status emu_load_const(fsc_backend *b, const fsc_graph *g, int value, fsc_tensor *out, fsc_error *err)
{
    const fsc_tensor *c = g->values[value].constant;
    if (!c) return fsc_fail(err, FSC_ERR_INTERNAL, "value '%s' is not a constant", g->values[value].name);
    if (c->dtype != FSC_DT_F32 && c->dtype != FSC_DT_F64) return fsc_tensor_clone(out, c, err);
    const fsc_arith *a = b->arith;
    fsc_dtype container = a->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
    fsc_status st = fsc_tensor_alloc(out, container, &c->shape, 0, err);
    if (st) return st;
    /* A backend loads float constants in its weight format (Core ML fp16
     * programs hold every float constant in fp16). */
    int64_t n = fsc_tensor_numel(c);
    fsc_round_opts o = fsc_round_default();
    if (container == FSC_DT_F64) {
        double *d = out->data;
        for (int64_t i = 0; i < n; i++) d[i] = fsc_round(fsc_tensor_get(c, i), a->weights, o);
    } else {
        float *d = out->data;
        for (int64_t i = 0; i < n; i++) d[i] = (float)fsc_round(fsc_tensor_get(c, i), a->weights, o);
    }
    out->fmt = a->weights;
    return FSC_OK;
}

static fsc_status emu_run_node(fsc_backend *b, const fsc_graph *g, int node, const fsc_tensor *const *in, fsc_tensor *out,
                               fsc_error *err)
{
    return fsc_kernel_run(g, node, b->arith, b->ctx, in, out, err);
}

static void emu_release(fsc_backend *b) { (void)b; }

static const fsc_backend_vtable emu_vtable = {
    .kind = "emu",
    .supports = emu_supports,
    .prepare = NULL,
    .load_const = emu_load_const,
    .run_node = emu_run_node,
    .release = emu_release,
};

fsc_status fsc_emu_backend_new(const fsc_arith *a, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err)
{
    fsc_backend *b = fsc_calloc(1, sizeof *b, "emu backend", err);
    if (!b) return FSC_ERR_NOMEM;
    b->vt = &emu_vtable;
    b->ctx = ctx;
    b->arith = a;
    snprintf(b->name, sizeof b->name, "emu:%s", a->name);
    *out = b;
    return FSC_OK;
}

void fsc_backend_free(fsc_backend *b)
{
    if (!b) return;
    if (b->vt && b->vt->release) b->vt->release(b);
    free(b);
}

static void describe(const fsc_arith *a, fsc_config_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "emu:%s", a->name);
    snprintf(info->backend, sizeof info->backend, "emu");
    info->stands_for = a->stands_for;
    info->certainty = a->certainty;
    info->emulated = true;
    info->available = true;
}

static int emu_list(fsc_config_info *out, int max)
{
    int n = fsc_arith_preset_count();
    for (int i = 0; i < n && i < max && out; i++) describe(fsc_arith_preset_at(i), &out[i]);
    return n;
}

static fsc_status emu_lookup(const char *variant, fsc_config_info *info, fsc_error *err)
{
    const fsc_arith *a = fsc_arith_preset(variant);
    if (!a) {
        char known[1024] = "";
        for (int i = 0; i < fsc_arith_preset_count(); i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, fsc_arith_preset_at(i)->name, sizeof known - strlen(known) - 1);
        }
        return fsc_fail(err, FSC_ERR_INVALID, "unknown arithmetic preset 'emu:%s' (presets: %s)", variant, known);
    }
    describe(a, info);
    return FSC_OK;
}

static fsc_status emu_open(const char *variant, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine_plan *plan,
                           fsc_error *err)
{
    fsc_config_info info;
    fsc_status st = emu_lookup(variant, &info, err);
    if (st) return st;
    st = fsc_emu_backend_new(fsc_arith_preset(variant), ctx, &plan->backends[0], err);
    if (st) return st;
    plan->n_backends = 1;
    return fsc_plan_single(g, plan, err);
}

const fsc_provider fsc_emu_provider = {
    .prefix = "emu",
    .list = emu_list,
    .lookup = emu_lookup,
    .open = emu_open,
};
