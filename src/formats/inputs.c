/* inputs.c: model inputs from .npy files or a seeded standard-normal draw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/model_io.h"
#include "flipscope/rng.h"

fsc_status fsc_inputs_load(const fsc_graph *g, const char *const *specs, int n_specs, const uint64_t *seed,
                           const fsc_ctx *ctx, fsc_tensor *out, fsc_error *err)
{
    for (int i = 0; i < g->n_inputs; i++) memset(&out[i], 0, sizeof out[i]);
    fsc_status st = FSC_OK;
    for (int k = 0; k < n_specs && !st; k++) {
        const char *spec = specs[k], *eq = strchr(spec, '=');
        int which = -1;
        const char *path = spec;
        if (eq) {
            char name[512];
            size_t nl = (size_t)(eq - spec);
            if (nl >= sizeof name) nl = sizeof name - 1;
            memcpy(name, spec, nl);
            name[nl] = '\0';
            for (int i = 0; i < g->n_inputs; i++)
                if (strcmp(g->values[g->inputs[i]].name, name) == 0) which = i;
            if (which < 0) {
                st = fsc_fail(err, FSC_ERR_INVALID, "--input %s: the model has no input named '%s'", spec, name);
                break;
            }
            path = eq + 1;
        } else {
            if (g->n_inputs != 1) {
                st = fsc_fail(err, FSC_ERR_INVALID,
                              "--input %s: the model has %d inputs; name each one as --input NAME=FILE.npy", spec,
                              g->n_inputs);
                break;
            }
            which = 0;
        }
        if (out[which].data) {
            st = fsc_fail(err, FSC_ERR_INVALID, "input '%s' is given twice", g->values[g->inputs[which]].name);
            break;
        }
        fsc_tensor t;
        st = fsc_npy_read(path, &ctx->limits, &t, NULL, err);
        if (st) break;
        const fsc_value *v = &g->values[g->inputs[which]];
        if (!fsc_shape_equal(&t.shape, &v->shape)) {
            char s1[160], s2[160];
            st = fsc_fail(err, FSC_ERR_INVALID, "%s: array has shape %s, input '%s' expects %s", path,
                          fsc_shape_str(&t.shape, s1, sizeof s1), v->name, fsc_shape_str(&v->shape, s2, sizeof s2));
            fsc_tensor_free(&t);
            break;
        }
        bool want_float = fsc_dtype_is_float(v->dtype);
        bool is_float = t.dtype == FSC_DT_F32 || t.dtype == FSC_DT_F64;
        if (want_float && !is_float) {
            fsc_tensor f;
            st = fsc_tensor_to_float(&f, &t, FSC_DT_F64, err);
            fsc_tensor_free(&t);
            if (st) break;
            t = f;
        } else if (!want_float && is_float) {
            st = fsc_fail(err, FSC_ERR_INVALID, "%s: input '%s' expects %s data, the file holds floats", path, v->name,
                          fsc_dtype_name(v->dtype));
            fsc_tensor_free(&t);
            break;
        }
        out[which] = t;
    }
    fsc_rng r;
    if (seed) fsc_rng_seed(&r, *seed);
    for (int i = 0; i < g->n_inputs && !st; i++) {
        if (out[i].data) continue;
        const fsc_value *v = &g->values[g->inputs[i]];
        if (!seed) {
            st = fsc_fail(err, FSC_ERR_INVALID, "no data for input '%s' %s: give --input or --seed", v->name,
                          fsc_dtype_name(v->dtype));
            break;
        }
        if (!fsc_dtype_is_float(v->dtype)) {
            st = fsc_fail(err, FSC_ERR_INVALID, "input '%s' is %s: --seed draws only float inputs; give --input %s=FILE.npy",
                          v->name, fsc_dtype_name(v->dtype), v->name);
            break;
        }
        st = fsc_tensor_alloc(&out[i], FSC_DT_F32, &v->shape, ctx->limits.max_tensor_bytes, err);
        if (!st) fsc_rng_fill_normal(&r, &out[i]);
    }
    if (st)
        for (int i = 0; i < g->n_inputs; i++) fsc_tensor_free(&out[i]);
    return st;
}
