/* calib_random.c: seeded standard-normal calibration samples
 * (`--calib-seed S --calib-count N`), drawn from the project's generator
 * (rng.h) and held as float32, as a NumPy float32 array would hold them. */
#include "flipscope/rng.h"
#include "flipscope/transforms.h"

fsc_status fsc_calib_random(const fsc_graph *g, uint64_t seed, int64_t count, fsc_tensor *samples, fsc_error *err)
{
    if (g->n_inputs != 1)
        return fsc_fail(err, FSC_ERR_INVALID, "calibration needs a model with one input, '%s' has %d", g->name,
                        g->n_inputs);
    if (count <= 0) return fsc_fail(err, FSC_ERR_INVALID, "the calibration set is empty (count %lld)", (long long)count);
    const fsc_shape *x = &g->values[g->inputs[0]].shape;
    if (x->rank >= FSC_MAX_RANK)
        return fsc_fail(err, FSC_ERR_INVALID, "model input has rank %d; stacked samples would exceed %d", x->rank,
                        FSC_MAX_RANK);
    fsc_shape s = {.rank = x->rank + 1};
    s.dim[0] = count;
    for (int i = 0; i < x->rank; i++) s.dim[i + 1] = x->dim[i];
    fsc_status st = fsc_tensor_alloc(samples, FSC_DT_F32, &s, 0, err);
    if (st) return st;
    fsc_rng r;
    fsc_rng_seed(&r, seed);
    fsc_rng_fill_normal(&r, samples);
    return FSC_OK;
}
