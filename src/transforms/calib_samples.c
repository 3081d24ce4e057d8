/* calib_samples.c: the shape rules of a calibration set, and the statistics
 * container (kept apart from calibrate.c, which needs an engine). */
#include <stdlib.h>
#include <string.h>

#include "flipscope/transforms.h"

void fsc_calib_stats_free(fsc_calib_stats *s)
{
    if (!s) return;
    free(s->range);
    memset(s, 0, sizeof *s);
}

fsc_status fsc_calib_sample_count(const fsc_graph *g, const fsc_tensor *samples, int64_t *n, fsc_error *err)
{
    char s1[160], s2[160];
    if (g->n_inputs != 1)
        return fsc_fail(err, FSC_ERR_INVALID, "calibration needs a model with one input, '%s' has %d", g->name,
                        g->n_inputs);
    const fsc_value *in = &g->values[g->inputs[0]];
    if (!fsc_dtype_is_float(in->dtype))
        return fsc_fail(err, FSC_ERR_INVALID, "model input '%s' is %s, calibration needs a float input", in->name,
                        fsc_dtype_name(in->dtype));
    if (samples->dtype != FSC_DT_F32 && samples->dtype != FSC_DT_F64)
        return fsc_fail(err, FSC_ERR_INVALID, "calibration samples are %s, expected float16, float32 or float64",
                        fsc_dtype_name(samples->dtype));
    const fsc_shape *x = &in->shape, *s = &samples->shape;
    bool stacked = s->rank == x->rank + 1, squeezed = s->rank == x->rank && x->rank >= 1 && x->dim[0] == 1;
    /* stacked: [N, <input shape>]; squeezed: [N, <input shape minus its leading 1>] */
    int off = stacked ? 0 : 1;
    bool ok = (stacked || squeezed) && s->rank >= 1;
    for (int i = off; ok && i < x->rank; i++) ok = s->dim[i + 1 - off] == x->dim[i];
    if (!ok)
        return fsc_fail(err, FSC_ERR_INVALID,
                        "calibration samples have shape %s; input '%s' of shape %s needs N samples stacked on a "
                        "new first axis ([N, %s)",
                        fsc_shape_str(s, s1, sizeof s1), in->name, fsc_shape_str(x, s2, sizeof s2),
                        fsc_shape_str(x, s2, sizeof s2) + 1);
    if (s->dim[0] == 0) return fsc_fail(err, FSC_ERR_INVALID, "the calibration set is empty (0 samples)");
    *n = s->dim[0];
    return FSC_OK;
}
