/* calib_random.c: seeded standard-normal calibration samples
 * (`--calib-seed S --calib-count N`). splitmix64 gives the bits, Marsaglia's
 * polar method the normals; values are stored as float32, as a NumPy
 * float32 array would hold them. Identical on every platform whose log() is
 * identical (the one libm call; sqrt is correctly rounded everywhere). */
#include <math.h>

#include "flipscope/transforms.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1) with 53 random bits. */
static double uniform_pm1(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1p-52 - 1.0; }

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
    int64_t n = fsc_tensor_numel(samples);
    uint64_t state = seed;
    for (int64_t i = 0; i < n; i += 2) {
        double u, v, r;
        do {
            u = uniform_pm1(&state);
            v = uniform_pm1(&state);
            r = u * u + v * v;
        } while (r >= 1.0 || r == 0.0);
        double f = sqrt(-2.0 * log(r) / r);
        fsc_tensor_set(samples, i, u * f);
        if (i + 1 < n) fsc_tensor_set(samples, i + 1, v * f);
    }
    return FSC_OK;
}
