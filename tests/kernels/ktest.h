/* ktest.h: helpers shared by the kernel tests (tensors from values, random
 * fills rounded to a format, bitwise comparison, sampling in quick mode). */
#ifndef FSC_KTEST_H
#define FSC_KTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/arith.h"
#include "flipscope/ctx.h"
#include "flipscope/format.h"
#include "flipscope/rng.h"
#include "flipscope/tensor.h"

static inline bool kt_quick(void) { return getenv("FSC_TEST_QUICK") != NULL; }

static inline fsc_dtype kt_container(const fsc_arith *a)
{
    return a->storage == FSC_FMT_FP64 ? FSC_DT_F64 : FSC_DT_F32;
}

/* New tensor of container dt and the given dims (zeros). */
static inline fsc_tensor kt_new(fsc_dtype dt, int rank, const int64_t *dims)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    assert_int_equal(fsc_tensor_alloc(&t, dt, &s, 0, NULL), FSC_OK);
    return t;
}

/* New tensor holding vals (n of them). */
static inline fsc_tensor kt_vals(fsc_dtype dt, int rank, const int64_t *dims, const double *vals)
{
    fsc_tensor t = kt_new(dt, rank, dims);
    for (int64_t i = 0; i < fsc_tensor_numel(&t); i++) fsc_tensor_set(&t, i, vals[i]);
    return t;
}

/* Fills t with scale * N(0,1) rounded to fmt. */
static inline void kt_fill(fsc_tensor *t, fsc_rng *r, double scale, fsc_format_id fmt)
{
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++) fsc_tensor_set(t, i, fsc_rne(scale * fsc_rng_normal(r), fmt));
    if (t->dtype == FSC_DT_F32 || t->dtype == FSC_DT_F64) t->fmt = fmt;
}

static inline int64_t kt_randint(fsc_rng *r, int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(fsc_rng_u64(r) % (uint64_t)(hi - lo + 1));
}

/* Asserts bit-identical contents (same dtype and shape). */
static inline void kt_assert_same_bits(const fsc_tensor *a, const fsc_tensor *b, const char *what)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_true(fsc_shape_equal(&a->shape, &b->shape));
    if (a->nbytes && memcmp(a->data, b->data, a->nbytes) != 0) {
        for (int64_t i = 0; i < fsc_tensor_numel(a); i++) {
            double x = fsc_tensor_get(a, i), y = fsc_tensor_get(b, i);
            if (memcmp(&x, &y, sizeof x) != 0 && !(isnan(x) && isnan(y))) {
                fail_msg("%s: element %lld differs: %a vs %a", what, (long long)i, x, y);
            }
        }
    }
}

/* Asserts |a - b| <= tol * max(1, |b|) elementwise. */
static inline void kt_assert_close(const fsc_tensor *a, const double *ref, double tol, const char *what)
{
    for (int64_t i = 0; i < fsc_tensor_numel(a); i++) {
        double x = fsc_tensor_get(a, i), y = ref[i];
        double lim = tol * (fabs(y) > 1.0 ? fabs(y) : 1.0);
        if (!(fabs(x - y) <= lim) && !(isnan(x) && isnan(y)))
            fail_msg("%s: element %lld: %.17g vs expected %.17g", what, (long long)i, x, y);
    }
}

#endif
