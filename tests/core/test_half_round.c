/* test_half_round.c: fsc_round_half_f64 (the executor's vectorised fp64 ->
 * fp16 boundary rounding) equals the correctly rounded binary16 value of
 * every input: ties and their neighbours at every binade, subnormals of
 * fp16 and of fp32/fp64, the overflow threshold, values beyond the float
 * range, signed zeros, and NaNs (mixed into vectors of finite values), at
 * every offset and length (the scalar tail). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/half.h"

static void check(const double *x, int64_t n)
{
    float *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    assert_non_null(y);
    fsc_round_half_f64(x, y, n);
    for (int64_t i = 0; i < n; i++) {
        if (isnan(x[i])) {
            if (!isnan(y[i])) fail_msg("element %lld: NaN became %a", (long long)i, (double)y[i]);
            continue;
        }
        double want = fsc_half_to_double(fsc_double_to_half(x[i]));
        if (memcmp(&(float){(float)want}, &y[i], sizeof(float)) != 0)
            fail_msg("element %lld: %a rounds to %a, got %a", (long long)i, x[i], want, (double)y[i]);
    }
    free(y);
}

static void test_edges(void **state)
{
    (void)state;
    double v[4096];
    int n = 0;
    /* every binade of fp16 (and below/above): exact values, midpoints, their neighbours */
    for (int e = -30; e <= 17 && n + 40 < 4096; e++)
        for (int m = 0; m < 4; m++) {
            double ulp = ldexp(1.0, (e < -14 ? -14 : e) - 10);
            double base = ldexp(1.0, e) + m * ulp, mid = base + ulp / 2;
            const double c[6] = {base, mid, nextafter(mid, 0), nextafter(mid, INFINITY), base + ulp / 4,
                                 base + 3 * ulp / 4};
            for (int k = 0; k < 6; k++) {
                v[n++] = c[k];
                v[n++] = -c[k];
            }
        }
    const double sp[] = {0.0, -0.0, 65504.0, 65519.99, 65520.0, 65536.0, 1e39, -1e300, INFINITY, -INFINITY,
                         ldexp(1, -24), ldexp(1, -25), nextafter(ldexp(1, -25), 1), ldexp(3, -26), 1e-40,
                         -1e-300, 4.9e-324, ldexp(1, -150), ldexp(1.5, -149), 0x1.ffffffp127, 0x1.fffffep127};
    for (size_t k = 0; k < sizeof sp / sizeof sp[0]; k++) v[n++] = sp[k];
    for (int off = 0; off < 4; off++) check(v + off, n - off);
    /* NaNs mixed into groups of finite values */
    v[5] = NAN;
    v[18] = -NAN;
    v[19] = NAN;
    for (int off = 0; off < 4; off++) check(v + off, n - off);
}

static void test_random(void **state)
{
    (void)state;
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x);
    assert_non_null(x);
    uint64_t s = 4242;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t bits = s;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int e = (int)(s >> 58) - 40; /* 2^-40 .. 2^23 */
        double m;
        bits = (bits >> 12) | 0x3ff0000000000000ULL;
        memcpy(&m, &bits, sizeof m);
        x[i] = ldexp(m, e) * ((s >> 20) & 1 ? -1.0 : 1.0);
        if (i % 5 == 0) x[i] = fsc_half_to_double(fsc_double_to_half(x[i])); /* exact ones too */
    }
    for (int len = 0; len < 9; len++) check(x, len);
    check(x, N);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
