/* test_localize.c: the localize probe. Metrics against hand calculations;
 * a planted fault (a wrapped emulator backend that perturbs one chosen op)
 * found as the only first divergent op at every position of a small graph;
 * on the built-in model, emu:fp64 vs emu:fp16-acc16: a ranking by isolated
 * error and margin contributions that telescope to the measured delta. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/probe_localize.h"
#include "flipscope/synth.h"
#include "probes/metrics_lanes.h"

/* ---- metrics ---- */

static fsc_tensor vec(fsc_dtype dt, int n, const double *v)
{
    int64_t d[1] = {n};
    fsc_shape s = fsc_shape_make(1, d);
    fsc_tensor t;
    assert_int_equal(fsc_tensor_alloc(&t, dt, &s, 0, NULL), FSC_OK);
    for (int i = 0; i < n; i++) fsc_tensor_set(&t, i, v[i]);
    return t;
}

static fsc_err_metrics metrics(const double *t, const double *r, int n, fsc_format_id f, double atol, double rtol)
{
    fsc_tensor tt = vec(FSC_DT_F32, n, t), rr = vec(FSC_DT_F64, n, r);
    fsc_err_metrics m;
    assert_int_equal(fsc_metrics_compute(&tt, &rr, f, atol, rtol, &m, NULL), FSC_OK);
    fsc_tensor_free(&tt);
    fsc_tensor_free(&rr);
    return m;
}

/* r = [1 2 3 4], t = [1 2.5 3 3]: d = [0 .5 0 -1], sum d^2 = 1.25, sum r^2 = 30. */
static void test_metrics_hand(void **state)
{
    (void)state;
    const double r[4] = {1, 2, 3, 4}, t[4] = {1, 2.5, 3, 3};
    fsc_err_metrics m = metrics(t, r, 4, FSC_FMT_FP32, 0.1, 0.1);
    assert_int_equal(m.n, 4);
    assert_true(m.max_abs == 1.0);
    assert_true(m.mean_abs == 0.375);
    assert_true(fabs(m.rel_l2 - sqrt(1.25 / 30.0)) < 1e-15);
    assert_true(fabs(m.snr_db - 10.0 * log10(24.0)) < 1e-12);                /* 30 / 1.25 */
    assert_true(fabs(m.psnr_db - 10.0 * log10(16.0 / (1.25 / 4.0))) < 1e-12); /* 51.2 */
    /* fp32 ulp in [2, 4) is 2^-22: 4 -> 3 is 2^22 ulps; fp16 ulp there is 2^-9: 512 */
    assert_true(m.max_ulp == 4194304.0);
    assert_true(metrics(t, r, 4, FSC_FMT_FP16, 0.1, 0.1).max_ulp == 512.0);
    /* tolerance 0.1 + 0.1 |r|: 0.5 > 0.3 at r = 2, 1 > 0.5 at r = 4 */
    assert_int_equal(m.beyond, 2);
    assert_false(m.pass);
    assert_false(m.identical);
    assert_int_equal(metrics(t, r, 4, FSC_FMT_FP32, 1.0, 0.0).beyond, 0); /* |d| <= 1 everywhere */
    /* across zero: fp16 distance from -2^-24 (smallest subnormal) to 2^-24 is 2 */
    const double a[1] = {-ldexp(1, -24)}, b[1] = {ldexp(1, -24)};
    assert_true(metrics(a, b, 1, FSC_FMT_FP16, 0, 0).max_ulp == 2.0);
}

/* max_ulp agrees exactly with fsc_ulp_distance (the library's definition) on
 * pairs spread over every format's normal and subnormal ranges. */
static void test_metrics_ulp_matches_library(void **state)
{
    (void)state;
    const fsc_format_id fmts[5] = {FSC_FMT_FP16, FSC_FMT_BF16, FSC_FMT_FP32, FSC_FMT_E4M3, FSC_FMT_FP64};
    uint64_t s = 12345;
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 3000; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u1 = (double)(s >> 11) / 9007199254740992.0;
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u2 = (double)(s >> 11) / 9007199254740992.0;
            int e = (int)(u1 * 60.0) - 40; /* 2^-40 .. 2^20: subnormals of fp16 to beyond its range */
            double r = ldexp(1.0 + u2, e) * (i % 3 == 0 ? -1.0 : 1.0);
            double t = fsc_rne(r * (1.0 + (u1 - 0.5) * 0.01), fmts[k]);
            if (i % 7 == 0) t = -t; /* across zero */
            if (!isfinite(t)) continue;
            fsc_tensor tt = vec(FSC_DT_F64, 1, &t), rr = vec(FSC_DT_F64, 1, &r);
            fsc_err_metrics m;
            assert_int_equal(fsc_metrics_compute(&tt, &rr, fmts[k], 0, 0, &m, NULL), FSC_OK);
            double want = fsc_ulp_distance(t, r, fmts[k]);
            if (m.max_ulp != want) fail_msg("fmt %d: t %a r %a: %.17g vs %.17g", (int)fmts[k], t, r, m.max_ulp, want);
            fsc_tensor_free(&tt);
            fsc_tensor_free(&rr);
        }
}

static void test_metrics_identical_and_zero(void **state)
{
    (void)state;
    const double r[3] = {1.5, -2, 0.25};
    fsc_err_metrics m = metrics(r, r, 3, FSC_FMT_FP32, 0, 0);
    assert_true(m.identical && m.pass);
    assert_true(m.max_abs == 0 && m.mean_abs == 0 && m.rel_l2 == 0 && m.max_ulp == 0);
    assert_true(isinf(m.snr_db) && m.snr_db > 0);
    assert_true(isinf(m.psnr_db) && m.psnr_db > 0);

    const double z[3] = {0, 0, 0};
    m = metrics(z, z, 3, FSC_FMT_FP32, 0, 0);
    assert_true(m.identical && m.pass && m.rel_l2 == 0 && m.snr_db == INFINITY && m.psnr_db == INFINITY);

    /* all-zero reference, non-zero target: relative L2 +inf, SNR and PSNR -inf */
    const double t[3] = {0, 0.5, 0};
    m = metrics(t, z, 3, FSC_FMT_FP32, 0, 0);
    assert_true(m.rel_l2 == INFINITY && m.snr_db == -INFINITY && m.psnr_db == -INFINITY);
    assert_true(m.max_abs == 0.5 && fabs(m.mean_abs - 0.5 / 3) < 1e-16);
    assert_int_equal(m.beyond, 1);

    /* -0 vs +0: equal values, not identical bits; no error */
    const double nz[1] = {-0.0}, pz[1] = {0.0};
    m = metrics(nz, pz, 1, FSC_FMT_FP32, 0, 0);
    assert_false(m.identical);
    assert_true(m.pass && m.max_abs == 0 && m.rel_l2 == 0);

    /* scaling: huge and tiny values give the same relative metrics */
    const double rb[2] = {3e300, 4e300}, tb[2] = {3e300, 4.4e300};
    fsc_tensor tt = vec(FSC_DT_F64, 2, tb), rr = vec(FSC_DT_F64, 2, rb);
    assert_int_equal(fsc_metrics_compute(&tt, &rr, FSC_FMT_FP64, 0, 0, &m, NULL), FSC_OK);
    assert_true(fabs(m.rel_l2 - 0.4 / 5.0) < 1e-12);          /* ||d|| = 0.4e300, ||r|| = 5e300 */
    assert_true(fabs(m.snr_db - 10.0 * log10(25.0 / 0.16)) < 1e-9);
    fsc_tensor_free(&tt);
    fsc_tensor_free(&rr);
}

static void test_metrics_nonfinite(void **state)
{
    (void)state;
    const double r[3] = {1, 2, 3};
    const double tn[3] = {1, NAN, 3};
    fsc_err_metrics m = metrics(tn, r, 3, FSC_FMT_FP32, 1, 1);
    assert_int_equal(m.nonfinite, 1);
    assert_int_equal(m.beyond, 1);
    assert_false(m.pass);
    assert_true(m.max_abs == INFINITY && m.rel_l2 == INFINITY && m.max_ulp == INFINITY);
    assert_true(m.snr_db == -INFINITY && m.psnr_db == -INFINITY);

    const double ti[3] = {INFINITY, 2, 3};
    m = metrics(ti, r, 3, FSC_FMT_FP32, 1, 1);
    assert_int_equal(m.nonfinite, 1);
    assert_false(m.pass);

    /* the reference's own NaN/Inf matched by the target: no divergence */
    const double rs[3] = {NAN, -INFINITY, 2}, ts[3] = {NAN, -INFINITY, 2};
    m = metrics(ts, rs, 3, FSC_FMT_FP32, 0, 0);
    assert_true(m.identical && m.pass && m.max_abs == 0);
    /* ... not matched: a divergence */
    const double tm[3] = {1, -INFINITY, 2};
    m = metrics(tm, rs, 3, FSC_FMT_FP32, 0, 0);
    assert_int_equal(m.mismatched_special, 1);
    assert_int_equal(m.nonfinite, 0);
    assert_false(m.pass);

    /* bad arguments */
    fsc_tensor a = vec(FSC_DT_F32, 2, r), b = vec(FSC_DT_F32, 3, r);
    fsc_error err;
    assert_int_equal(fsc_metrics_compute(&a, &b, FSC_FMT_FP32, 0, 0, &m, &err), FSC_ERR_INVALID);
    assert_int_equal(fsc_metrics_compute(&a, &a, FSC_FMT_FP32, -1, 0, &m, &err), FSC_ERR_INVALID);
    fsc_tensor_free(&a);
    fsc_tensor_free(&b);
    assert_int_equal(fsc_metric_by_name("snr"), FSC_METRIC_SNR);
    assert_int_equal(fsc_metric_by_name("nope"), -1);
}

/* The vectorised pass 1 (AVX2 when the CPU has it) against the portable one,
 * bit for bit: random data over every magnitude, target values on and off
 * the format's grid, and every kind of special value, in every format the
 * metrics measure ULPs in, with random tolerances. Then the full metrics
 * against a plain sequential computation in long double. */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 11;
}

static double draw(uint64_t *s, int kind)
{
    double u = (double)lcg(s) / 9007199254740992.0;
    switch (kind % 9) {
    case 0: return NAN;
    case 1: return (lcg(s) & 1) ? INFINITY : -INFINITY;
    case 2: return (lcg(s) & 1) ? 0.0 : -0.0;
    case 3: return ldexp(u, -1074 + (int)(lcg(s) % 60)); /* double subnormals */
    default: return ldexp(1.0 + u, (int)(lcg(s) % 200) - 100) * ((lcg(s) & 1) ? -1.0 : 1.0);
    }
}

static void lanes_equal(const fsc_mlanes *a, const fsc_mlanes *b)
{
    assert_memory_equal(a->sa_s, b->sa_s, sizeof a->sa_s);
    assert_memory_equal(a->sa_c, b->sa_c, sizeof a->sa_c);
    assert_memory_equal(a->sd_s, b->sd_s, sizeof a->sd_s);
    assert_memory_equal(a->sd_c, b->sd_c, sizeof a->sd_c);
    assert_memory_equal(a->sr_s, b->sr_s, sizeof a->sr_s);
    assert_memory_equal(a->sr_c, b->sr_c, sizeof a->sr_c);
    assert_memory_equal(&a->max_r, &b->max_r, sizeof a->max_r);
    assert_memory_equal(&a->max_d, &b->max_d, sizeof a->max_d);
    assert_memory_equal(&a->max_ulp, &b->max_ulp, sizeof a->max_ulp);
    assert_int_equal(a->beyond, b->beyond);
    assert_int_equal(a->nonfinite, b->nonfinite);
    assert_int_equal(a->mismatched, b->mismatched);
    assert_int_equal(a->identical, b->identical);
}

static void test_metrics_lanes_vector_equals_scalar(void **state)
{
    (void)state;
    const fsc_format_id fmts[5] = {FSC_FMT_FP16, FSC_FMT_BF16, FSC_FMT_FP32, FSC_FMT_E4M3, FSC_FMT_TF32};
    uint64_t s = 777;
    enum { N = 1024 };
    static double tb[N], rb[N];
    for (int rep = 0; rep < 200; rep++) {
        fsc_format_id f = fmts[rep % 5];
        const fsc_format *F = fsc_format_get(f);
        fsc_mlanes_cfg c = {.atol = (rep % 3) ? ldexp((double)(lcg(&s) % 100), -(int)(lcg(&s) % 30)) : 0,
                            .rtol = (rep % 4) ? (double)(lcg(&s) % 100) / 1000.0 : 0,
                            .ulp_mode = 1, .p = F->p, .emin = F->emin};
        int special_rate = rep % 4 == 0 ? 0 : 1 + (int)(lcg(&s) % 50); /* some blocks all finite */
        for (int i = 0; i < N; i++) {
            bool sp = special_rate && (int)(lcg(&s) % 100) < special_rate;
            rb[i] = sp ? draw(&s, (int)(lcg(&s) % 4)) : draw(&s, 4);
            switch (lcg(&s) % 6) {
            case 0: tb[i] = rb[i]; break;                                          /* identical */
            case 1: tb[i] = fsc_rne(rb[i], f); break;                              /* on the grid */
            case 2: tb[i] = fsc_rne(rb[i] * (1 + ((double)(lcg(&s) % 200) - 100) * 1e-4), f); break;
            case 3: tb[i] = -rb[i]; break;                                         /* across zero */
            case 4: tb[i] = sp ? draw(&s, (int)(lcg(&s) % 4)) : rb[i] * 1.001; break;
            default: tb[i] = draw(&s, (int)(lcg(&s) % 9)); break;
            }
        }
        fsc_mlanes a, b;
        fsc_mlanes_init(&a);
        fsc_mlanes_init(&b);
        int len = 4 * (1 + (int)(lcg(&s) % (N / 4)));
        fsc_mlanes_add(&a, &c, tb, rb, len);
        fsc_mlanes_add_scalar(&b, &c, tb, rb, len);
        lanes_equal(&a, &b);
        double sa[3], sb[3];
        fsc_mlanes_sums(&a, &sa[0], &sa[1], &sa[2]);
        fsc_mlanes_sums(&b, &sb[0], &sb[1], &sb[2]);
        assert_memory_equal(sa, sb, sizeof sa);
    }
}

/* The whole metrics on odd sizes (the padded tail) against a direct
 * sequential computation: counts and maxima exactly, sums to 1e-14. */
static void test_metrics_against_direct(void **state)
{
    (void)state;
    uint64_t s = 99;
    const int sizes[6] = {1, 3, 5, 4095, 4097, 10001};
    for (int k = 0; k < 6; k++) {
        int n = sizes[k];
        fsc_tensor t, r;
        int64_t d[1] = {n};
        fsc_shape sh = fsc_shape_make(1, d);
        assert_int_equal(fsc_tensor_alloc(&t, FSC_DT_F32, &sh, 0, NULL), FSC_OK);
        assert_int_equal(fsc_tensor_alloc(&r, FSC_DT_F64, &sh, 0, NULL), FSC_OK);
        long double sa = 0, sd = 0, sr = 0;
        double maxd = 0, maxu = 0;
        int64_t beyond = 0;
        for (int i = 0; i < n; i++) {
            double rv = ((double)lcg(&s) / 9007199254740992.0 - 0.5) * 8.0;
            double tv = fsc_rne(rv, FSC_FMT_FP16);
            fsc_tensor_set(&r, i, rv);
            fsc_tensor_set(&t, i, tv);
            double dd = fabs(tv - rv);
            sa += dd;
            sd += (long double)dd * dd;
            sr += (long double)rv * rv;
            if (dd > maxd) maxd = dd;
            double u = fsc_ulp_distance(tv, rv, FSC_FMT_FP16);
            if (u > maxu) maxu = u;
            if (dd > 1e-4 + 1e-4 * fabs(rv)) beyond++;
        }
        fsc_err_metrics m;
        assert_int_equal(fsc_metrics_compute(&t, &r, FSC_FMT_FP16, 1e-4, 1e-4, &m, NULL), FSC_OK);
        assert_true(m.max_abs == maxd && m.max_ulp == maxu);
        assert_int_equal(m.beyond, beyond);
        assert_true(fabs(m.mean_abs - (double)(sa / n)) <= 1e-14 * (double)(sa / n));
        double rel = (double)sqrtl(sd / sr);
        assert_true(fabs(m.rel_l2 - rel) <= 1e-14 * rel);
        fsc_tensor_free(&t);
        fsc_tensor_free(&r);
    }
}

/* Every margin(H_k) recomputed by brute force, independently of the probe's
 * shortcuts (dirty tracking, identity checks, skipped steps, borrowed
 * values): all computing nodes run one by one, the first k on the target
 * engine and the rest on the reference, each on the values this very graph
 * produced. The probe's contributions must equal the differences bit for bit. */
static double brute_margin(const fsc_graph *g, const fsc_tensor *x, fsc_engine *ref, fsc_engine *tgt, int k, int a,
                           int b)
{
    fsc_tensor *val = calloc((size_t)g->n_values, sizeof *val);
    assert_non_null(val);
    int seen = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const fsc_node *nd = &g->nodes[i];
        if (nd->op == FSC_OP_CONSTANT) continue;
        const fsc_tensor *in[64];
        for (int j = 0; j < nd->n_in; j++) {
            int v = nd->in[j];
            in[j] = NULL;
            if (v < 0 || g->values[v].constant) continue;
            in[j] = &val[v];
            for (int q = 0; q < g->n_inputs; q++)
                if (g->inputs[q] == v) in[j] = &x[q];
        }
        fsc_tensor outs[8];
        memset(outs, 0, sizeof outs);
        fsc_error err;
        if (fsc_engine_run_node(seen < k ? tgt : ref, i, in, outs, &err)) fail_msg("node %d: %s", i, err.msg);
        seen++;
        for (int o = 0; o < nd->n_out; o++) val[nd->out[o]] = outs[o];
    }
    const fsc_tensor *y = &val[g->outputs[0]];
    double m = fsc_tensor_get(y, a) - fsc_tensor_get(y, b);
    for (int v = 0; v < g->n_values; v++) fsc_tensor_free(&val[v]);
    free(val);
    return m;
}

static void check_contributions_brute(const fsc_graph *g, const fsc_tensor *x, const fsc_localize_result *r,
                                      const fsc_ctx *ctx)
{
    fsc_engine *ref, *tgt;
    assert_int_equal(fsc_engine_open(r->reference, g, ctx, &ref, NULL), FSC_OK);
    assert_int_equal(fsc_engine_open(r->target, g, ctx, &tgt, NULL), FSC_OK);
    int K = 0;
    for (int i = 0; i < g->n_nodes; i++) K += g->nodes[i].op != FSC_OP_CONSTANT;
    double prev = brute_margin(g, x, ref, tgt, 0, r->class_a, r->class_b);
    assert_true(prev == r->margin_reference);
    int k = 0, nonzero = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op == FSC_OP_CONSTANT) continue;
        double m = brute_margin(g, x, ref, tgt, ++k, r->class_a, r->class_b);
        if (r->margin_contrib[i] != m - prev)
            fail_msg("node %d (%s): contribution %.17g, brute force %.17g", i, g->nodes[i].name,
                     r->margin_contrib[i], m - prev);
        nonzero += m != prev;
        prev = m;
    }
    assert_int_equal(k, K);
    assert_true(prev == r->margin_target);
    assert_true(nonzero > 1);
    fsc_engine_close(ref);
    fsc_engine_close(tgt);
}

/* Integer outputs (shape arithmetic): distances in integer units. */
static void test_metrics_integers(void **state)
{
    (void)state;
    const double r[5] = {1, 2, 3, 4, 5}, t[5] = {1, 5, 3, 4, -1};
    fsc_tensor tt = vec(FSC_DT_I64, 5, t), rr = vec(FSC_DT_I64, 5, r);
    fsc_err_metrics m;
    assert_int_equal(fsc_metrics_compute(&tt, &rr, FSC_FMT_FP16, 0, 0, &m, NULL), FSC_OK);
    assert_true(m.max_abs == 6 && m.max_ulp == 6 && m.mean_abs == 9.0 / 5.0);
    assert_int_equal(m.beyond, 2);
    assert_false(m.identical);
    assert_true(fabs(m.rel_l2 - sqrt(45.0 / 55.0)) < 1e-15);
    assert_int_equal(fsc_metrics_compute(&rr, &rr, FSC_FMT_FP16, 0, 0, &m, NULL), FSC_OK);
    assert_true(m.identical && m.pass && m.max_ulp == 0);
    fsc_tensor_free(&tt);
    fsc_tensor_free(&rr);
}

/* ---- planted fault ---- */

/* A backend wrapping an emulator; adds `delta` to element 0 of node `node`'s output. */
typedef struct fault {
    fsc_backend *inner;
    int node;
    double delta;
} fault;

static bool fault_supports(const fsc_backend *b, const fsc_graph *g, int node)
{
    const fault *f = b->state;
    return f->inner->vt->supports(f->inner, g, node);
}

static fsc_status fault_load_const(fsc_backend *b, const fsc_graph *g, int value, fsc_tensor *out, fsc_error *err)
{
    fault *f = b->state;
    return f->inner->vt->load_const(f->inner, g, value, out, err);
}

static fsc_status fault_run_node(fsc_backend *b, const fsc_graph *g, int node, const fsc_tensor *const *in,
                                 fsc_tensor *out, fsc_error *err)
{
    fault *f = b->state;
    fsc_status st = f->inner->vt->run_node(f->inner, g, node, in, out, err);
    if (!st && node == f->node) fsc_tensor_set(&out[0], 0, fsc_tensor_get(&out[0], 0) + f->delta);
    return st;
}

static void fault_release(fsc_backend *b)
{
    fault *f = b->state;
    fsc_backend_free(f->inner);
    free(f);
}

static const fsc_backend_vtable fault_vt = {
    .kind = "fault",
    .supports = fault_supports,
    .prepare = NULL,
    .load_const = fault_load_const,
    .run_node = fault_run_node,
    .release = fault_release,
};

static fsc_engine *fault_engine(const fsc_graph *g, const fsc_ctx *ctx, int node, double delta)
{
    fault *f = calloc(1, sizeof *f);
    fsc_backend *b = calloc(1, sizeof *b);
    assert_non_null(f);
    assert_non_null(b);
    assert_int_equal(fsc_emu_backend_new(fsc_arith_preset("fp32"), ctx, &f->inner, NULL), FSC_OK);
    f->node = node;
    f->delta = delta;
    b->vt = &fault_vt;
    b->ctx = ctx;
    b->arith = f->inner->arith;
    b->state = f;
    snprintf(b->name, sizeof b->name, "fault@%d", node);
    fsc_engine *e;
    fsc_error err;
    if (fsc_engine_open_backend(b, g, ctx, &e, &err)) fail_msg("%s", err.msg);
    return e;
}

static fsc_tensor filled(int rank, const int64_t *dims, double scale, int salt)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    assert_int_equal(fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, NULL), FSC_OK);
    int64_t n = fsc_tensor_numel(&t);
    for (int64_t i = 0; i < n; i++) fsc_tensor_set(&t, i, scale * sin(0.7 * (double)(i + 1) + salt));
    return t;
}

static int node1(fsc_graph *g, fsc_op op, const char *name, int n_in, const int *in, const fsc_attrs *at,
                 const fsc_shape *shape)
{
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.name = name;
    s.n_in = n_in;
    s.in = in;
    s.n_out = 1;
    const char *on[1] = {name};
    s.out_names = on;
    if (at) s.attr = *at;
    s.out_shape = shape;
    fsc_error err;
    int n = fsc_graph_add_node(g, &s, &err);
    if (n < 0) fail_msg("%s", err.msg);
    return g->nodes[n].out[0];
}

/* x[1,3,6,6] -> conv 3->4 3x3 -> silu -> mul 2 -> global avgpool -> reshape [1,4] -> gemm 4->2: 6 ops. */
static fsc_graph *small_graph(void)
{
    fsc_graph *g = fsc_graph_new("small", NULL);
    int64_t xd[4] = {1, 3, 6, 6}, wd[4] = {4, 3, 3, 3}, bd[1] = {4}, hd[2] = {2, 4}, hb[1] = {2}, fd[2] = {1, 4};
    fsc_shape xs = fsc_shape_make(4, xd), fs = fsc_shape_make(2, fd), sc = fsc_shape_make(0, NULL);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, NULL);
    fsc_tensor t = filled(4, wd, 0.3, 1);
    int w = fsc_graph_add_initializer(g, "w", FSC_DT_F32, &t, NULL);
    t = filled(1, bd, 0.1, 2);
    int b = fsc_graph_add_initializer(g, "b", FSC_DT_F32, &t, NULL);
    fsc_attrs at;
    memset(&at, 0, sizeof at);
    at.conv = (fsc_attr_conv){{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
    int ci[3] = {x, w, b};
    int v = node1(g, FSC_OP_CONV2D, "conv", 3, ci, &at, NULL);
    int si[1] = {v};
    v = node1(g, FSC_OP_SILU, "silu", 1, si, NULL, NULL);
    assert_int_equal(fsc_tensor_alloc(&t, FSC_DT_F32, &sc, 0, NULL), FSC_OK);
    ((float *)t.data)[0] = 2.0f;
    int two = fsc_graph_add_initializer(g, "two", FSC_DT_F32, &t, NULL);
    int mi[2] = {v, two};
    v = node1(g, FSC_OP_MUL, "mul", 2, mi, NULL, NULL);
    int pi[1] = {v};
    v = node1(g, FSC_OP_GLOBAL_AVGPOOL, "pool", 1, pi, NULL, NULL);
    int ri[1] = {v};
    v = node1(g, FSC_OP_RESHAPE, "flatten", 1, ri, NULL, &fs);
    t = filled(2, hd, 1.0, 3);
    int hw = fsc_graph_add_initializer(g, "hw", FSC_DT_F32, &t, NULL);
    t = filled(1, hb, 0.2, 4);
    int hbv = fsc_graph_add_initializer(g, "hb", FSC_DT_F32, &t, NULL);
    memset(&at, 0, sizeof at);
    at.gemm = (fsc_attr_gemm){1.0, 1.0, false, true};
    int gi[3] = {v, hw, hbv};
    v = node1(g, FSC_OP_GEMM, "head", 3, gi, &at, NULL);
    assert_int_equal(fsc_graph_add_output(g, v, NULL), FSC_OK);
    return g;
}

static void test_planted_fault(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = small_graph();
    int64_t xd[4] = {1, 3, 6, 6};
    fsc_tensor x = filled(4, xd, 1.0, 5);
    fsc_localize_opts o = fsc_localize_default();
    o.margin = true; /* attribution is opt-in */
    o.atol = 1e-6;
    o.rtol = 0;
    const double delta = 0.25;
    assert_int_equal(g->n_nodes, 6);
    for (int p = 0; p < g->n_nodes; p++) {
        fsc_engine *ref, *tgt = fault_engine(g, &ctx, p, delta);
        fsc_error err;
        assert_int_equal(fsc_engine_open("emu:fp32", g, &ctx, &ref, &err), FSC_OK);
        fsc_localize_result r;
        fsc_status st = fsc_probe_localize_engines(g, &x, ref, tgt, &o, &ctx, &r, &err);
        if (st) fail_msg("%s", err.msg);
        assert_int_equal(r.n_rows, 6);
        assert_int_equal(r.n_first_divergent, 1);
        for (int k = 0; k < r.n_rows; k++) {
            assert_int_equal(r.rows[k].first_divergent, k == p);
            if (k < p) assert_true(r.rows[k].acc.identical);
            /* every op but the faulty one computes exactly the reference's op */
            assert_int_equal(r.rows[k].iso.identical, k != p);
        }
        /* the isolated error is the planted amount (stored in fp32: within its rounding) */
        assert_true(fabs(r.rows[p].iso.max_abs - delta) < 1e-6);
        assert_int_equal(r.rows[p].iso.beyond, 1);
        assert_int_equal(r.n_ranked, 1);
        assert_int_equal(r.ranking[0], p);
        assert_int_equal(r.rows[p].rank, 1);
        /* margin: only ops from the faulty one on can move it; the sum is the delta */
        assert_true(r.has_margin && r.margin_attributed);
        for (int k = 0; k < p; k++) assert_true(r.margin_contrib[k] == 0.0);
        assert_true(fabs(r.margin_contrib_sum - r.margin_delta) <= 1e-12 * fmax(1.0, fabs(r.margin_delta)));
        assert_true(r.margin_delta != 0.0);
        fsc_localize_result_free(&r);
        fsc_engine_close(ref);
        fsc_engine_close(tgt);
    }
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

/* ---- the built-in model, emu:fp64 vs emu:fp16-acc16 ---- */

static void test_builtin_fp16(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = 16;
    fsc_graph *g;
    assert_int_equal(fsc_synth_amplified_conv_tie(&so, &g, NULL), FSC_OK);
    fsc_tensor x;
    uint64_t seed = 1234;
    assert_int_equal(fsc_inputs_load(g, NULL, 0, &seed, &ctx, &x, NULL), FSC_OK);
    fsc_localize_opts o = fsc_localize_default();
    o.margin = true; /* attribution is opt-in */
    fsc_localize_result r;
    fsc_error err;
    fsc_status st = fsc_probe_localize(g, &x, "emu:fp64", "emu:fp16-acc16", &o, &ctx, &r, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal(r.n_rows, 14); /* 5 x (conv, silu), mul, pool, flatten, head */
    /* ranking by isolated error, worst first */
    assert_true(r.n_ranked > 0 && r.n_ranked <= o.top);
    for (int i = 1; i < r.n_ranked; i++)
        assert_true(r.rows[r.ranking[i - 1]].iso.rel_l2 >= r.rows[r.ranking[i]].iso.rel_l2);
    /* fp16 differs from fp64 in the first conv already: it is the first divergent op */
    assert_true(r.rows[0].first_divergent);
    /* the measured margins are those of plain runs of both configurations */
    fsc_tensor y;
    fsc_engine *e;
    assert_int_equal(fsc_engine_open("emu:fp16-acc16", g, &ctx, &e, NULL), FSC_OK);
    assert_int_equal(fsc_engine_run(e, &x, &y, NULL, NULL), FSC_OK);
    assert_true(r.margin_target == fsc_tensor_get(&y, 0) - fsc_tensor_get(&y, 1));
    fsc_tensor_free(&y);
    fsc_engine_close(e);
    /* the contributions telescope to the measured delta */
    assert_true(r.margin_attributed);
    assert_true(r.margin_delta != 0.0);
    double rel = fabs(r.margin_contrib_sum - r.margin_delta) / fabs(r.margin_delta);
    printf("margin delta %.9g, sum of contributions %.9g, relative difference %.3g\n", r.margin_delta,
           r.margin_contrib_sum, rel);
    assert_true(rel <= 1e-6);
    /* flatten copies values: moving it to the target cannot move the margin */
    int flatten = -1;
    for (int k = 0; k < r.n_rows; k++)
        if (!strcmp(r.rows[k].op, "reshape")) flatten = r.rows[k].node;
    assert_true(flatten >= 0);
    assert_true(r.margin_contrib[flatten] == 0.0);
    check_contributions_brute(g, &x, &r, &ctx);
    fsc_localize_result_free(&r);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

/* The seed fixture (ONNX export of AmplifiedConvTie, 224x224, b0 = 14.6),
 * emu:fp64 vs emu:fp16-acc16: the reference margin is PyTorch's float64
 * margin (meta.json), and the contributions telescope to the measured delta.
 * Several seconds of CPU: skipped under FSC_TEST_QUICK. */
static void test_seed_fixture(void **state)
{
    (void)state;
    if (getenv("FSC_TEST_QUICK")) skip();
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g;
    fsc_error err;
    if (fsc_model_load(FSC_FIXTURES "/seed/seed.onnx", &ctx, &g, &err)) fail_msg("%s", err.msg);
    const char *spec[1] = {FSC_FIXTURES "/seed/input.npy"};
    fsc_tensor x;
    if (fsc_inputs_load(g, spec, 1, NULL, &ctx, &x, &err)) fail_msg("%s", err.msg);
    fsc_localize_opts o = fsc_localize_default();
    o.margin = true; /* attribution is opt-in */
    fsc_localize_result r;
    if (fsc_probe_localize(g, &x, "emu:fp64", "emu:fp16-acc16", &o, &ctx, &r, &err)) fail_msg("%s", err.msg);
    assert_true(fabs(r.margin_reference - (-0.4538484051109415)) < 1e-9); /* torch float64, meta.json */
    assert_true(r.n_ranked > 0);
    for (int i = 1; i < r.n_ranked; i++)
        assert_true(r.rows[r.ranking[i - 1]].iso.rel_l2 >= r.rows[r.ranking[i]].iso.rel_l2);
    assert_true(r.margin_attributed && isfinite(r.margin_delta) && r.margin_delta != 0.0);
    double rel = fabs(r.margin_contrib_sum - r.margin_delta) / fabs(r.margin_delta);
    printf("seed fixture: margin delta %.9g, sum of contributions %.9g, relative difference %.3g\n", r.margin_delta,
           r.margin_contrib_sum, rel);
    assert_true(rel <= 1e-6);
    check_contributions_brute(g, &x, &r, &ctx);
    fsc_localize_result_free(&r);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_hand),
        cmocka_unit_test(test_metrics_ulp_matches_library),
        cmocka_unit_test(test_metrics_identical_and_zero),
        cmocka_unit_test(test_metrics_nonfinite),
        cmocka_unit_test(test_metrics_lanes_vector_equals_scalar),
        cmocka_unit_test(test_metrics_against_direct),
        cmocka_unit_test(test_metrics_integers),
        cmocka_unit_test(test_planted_fault),
        cmocka_unit_test(test_builtin_fp16),
        cmocka_unit_test(test_seed_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
