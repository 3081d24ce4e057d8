/* rng.c: xoshiro256** (Blackman & Vigna) and Marsaglia's polar normals. */
#include "flipscope/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fsc_rng_seed(fsc_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fsc_rng_u64(fsc_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

double fsc_rng_uniform(fsc_rng *r) { return (double)(fsc_rng_u64(r) >> 11) * 0x1.0p-53; }

double fsc_rng_normal(fsc_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * fsc_rng_uniform(r) - 1.0;
        v = 2.0 * fsc_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    r->spare = v * m;
    r->has_spare = 1;
    return u * m;
}

void fsc_rng_fill_normal(fsc_rng *r, fsc_tensor *t)
{
    int64_t n = fsc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) fsc_tensor_set(t, i, fsc_rng_normal(r));
}
