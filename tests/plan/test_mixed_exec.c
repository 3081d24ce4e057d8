/* test_mixed_exec.c: execution of a graph split across devices. A graph
 * placed CPU / NE / CPU gives exactly what its three segments give when run
 * alone as separate graphs on single-arithmetic engines, with the boundary
 * conversions done by hand (fsc_round to the receiving device's storage).
 * Also: the coreml configurations run the hand-built W8A8 seed program with
 * load-time constexpr ops; coreml:cpu_only quantizes with x / scale in fp16
 * (a hand-computed tie). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/plan.h"
#include "plan/w8a8_graph.h"

static uint64_t rng = 7;
static double uni(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static fsc_tensor filled(fsc_dtype dt, int rank, const int64_t *dims, uint64_t seed, double scale)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    assert_int_equal(fsc_tensor_alloc(&t, dt, &s, 0, NULL), FSC_OK);
    rng = seed;
    for (int64_t i = 0; i < fsc_tensor_numel(&t); i++) fsc_tensor_set(&t, i, scale * uni());
    return t;
}

static int add_op(fsc_graph *g, fsc_op op, const char *name, int a, int b, int c)
{
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = op;
    s.name = name;
    int in[3] = {a, b, c};
    s.in = in;
    s.n_in = c >= 0 ? 3 : (b >= 0 ? 2 : 1);
    s.n_out = 1;
    if (op == FSC_OP_CONV2D) s.attr.conv = (fsc_attr_conv){{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
    int n = fsc_graph_add_node(g, &s, NULL);
    assert_true(n >= 0);
    return g->nodes[n].out[0];
}

static const int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {5, 4, 3, 3}, yd[4] = {1, 5, 6, 6}, one = 1, five = 5;

/* Adds the constants of the split graph, the same in every piece. */
static int k_add(fsc_graph *g) { fsc_tensor t = filled(FSC_DT_F32, 1, &one, 11, 0.3); return fsc_graph_add_initializer(g, "c_add", FSC_DT_F32, &t, NULL); }
static int k_w(fsc_graph *g) { fsc_tensor t = filled(FSC_DT_F32, 4, wd, 12, 0.4); return fsc_graph_add_initializer(g, "w", FSC_DT_F32, &t, NULL); }
static int k_b(fsc_graph *g) { fsc_tensor t = filled(FSC_DT_F32, 1, &five, 13, 0.2); return fsc_graph_add_initializer(g, "b", FSC_DT_F32, &t, NULL); }
static int k_mul(fsc_graph *g) { fsc_tensor t = filled(FSC_DT_F32, 1, &one, 14, 3.0); return fsc_graph_add_initializer(g, "c_mul", FSC_DT_F32, &t, NULL); }

/* add (CPU: the NE profile lacks add) -> conv -> silu (NE) -> mul (CPU). */
static fsc_graph *split_graph(void)
{
    fsc_graph *g = fsc_graph_new("split", NULL);
    fsc_shape xs = fsc_shape_make(4, xd);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, NULL);
    int y = add_op(g, FSC_OP_ADD, "add", x, k_add(g), -1);
    y = add_op(g, FSC_OP_CONV2D, "conv", y, k_w(g), k_b(g));
    y = add_op(g, FSC_OP_SILU, "silu", y, -1, -1);
    y = add_op(g, FSC_OP_MUL, "mul", y, k_mul(g), -1);
    assert_int_equal(fsc_graph_add_output(g, y, NULL), FSC_OK);
    return g;
}

/* One piece: input of shape dims, then ops. */
static fsc_graph *piece(int which)
{
    fsc_graph *g = fsc_graph_new("piece", NULL);
    fsc_shape s = fsc_shape_make(4, which == 2 ? yd : xd);
    int x = fsc_graph_add_input(g, "in", FSC_DT_F32, &s, NULL), y;
    if (which == 0) {
        y = add_op(g, FSC_OP_ADD, "add", x, k_add(g), -1);
    } else if (which == 1) {
        y = add_op(g, FSC_OP_CONV2D, "conv", x, k_w(g), k_b(g));
        y = add_op(g, FSC_OP_SILU, "silu", y, -1, -1);
    } else {
        y = add_op(g, FSC_OP_MUL, "mul", x, k_mul(g), -1);
    }
    assert_int_equal(fsc_graph_add_output(g, y, NULL), FSC_OK);
    return g;
}

static fsc_tensor run1(const char *config, const fsc_graph *g, const fsc_tensor *in)
{
    fsc_ctx ctx = fsc_ctx_default();
    fsc_engine *e;
    fsc_error err;
    fsc_status st = fsc_engine_open(config, g, &ctx, &e, &err);
    if (st) fail_msg("%s", err.msg);
    fsc_tensor out;
    st = fsc_engine_run(e, in, &out, NULL, &err);
    if (st) fail_msg("%s", err.msg);
    fsc_engine_close(e);
    return out;
}

/* Rounds every element of t to fmt, by hand: the boundary conversion. */
static void round_to(fsc_tensor *t, fsc_format_id fmt)
{
    for (int64_t i = 0; i < fsc_tensor_numel(t); i++) fsc_tensor_set(t, i, fsc_round(fsc_tensor_get(t, i), fmt, fsc_round_default()));
}

static bool same(const fsc_tensor *a, const fsc_tensor *b)
{
    if (fsc_tensor_numel(a) != fsc_tensor_numel(b)) return false;
    for (int64_t i = 0; i < fsc_tensor_numel(a); i++) {
        double x = fsc_tensor_get(a, i), y = fsc_tensor_get(b, i);
        if (memcmp(&x, &y, sizeof x)) return false;
    }
    return true;
}

static char tmpdir[64], profile_path[128];

static void test_cpu_ne_cpu_equals_segments(void **state)
{
    (void)state;
    const fsc_profile *p;
    fsc_error err;
    /* The CPU computes in fp32, the "NE" in fp16 with fp16 accumulation: the
     * boundaries round fp32 -> fp16 and fp16 -> fp32. */
    FILE *f = fopen(profile_path, "w");
    assert_non_null(f);
    fputs("arith c32 base=fp32\narith n16 base=fp16-acc16\n"
          "device cpu arith=c32 ops=all\ndevice ne arith=n16 ops=conv2d,silu accelerator=yes\n"
          "preset split devices=ne,cpu\n", f);
    fclose(f);
    assert_int_equal(fsc_profile_use(profile_path, &p, &err), FSC_OK);
    assert_string_equal(p->name, "mix");

    fsc_graph *g = split_graph();
    fsc_tensor x = filled(FSC_DT_F32, 4, xd, 99, 2.0);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_engine *e;
    fsc_status st = fsc_engine_open("mix:split", g, &ctx, &e, &err);
    if (st) fail_msg("%s", err.msg);
    /* Placement: add on cpu, conv and silu on ne, mul on cpu. */
    const char *want[4] = {"mix:cpu", "mix:ne", "mix:ne", "mix:cpu"};
    for (int i = 0; i < 4; i++) assert_string_equal(fsc_engine_node_backend(e, i)->name, want[i]);
    fsc_tensor mixed;
    st = fsc_engine_run(e, &x, &mixed, NULL, &err);
    if (st) fail_msg("%s", err.msg);
    fsc_engine_close(e);

    /* The segments alone, boundaries converted by hand. */
    fsc_graph *g0 = piece(0), *g1 = piece(1), *g2 = piece(2);
    fsc_tensor y0 = run1("emu:fp32", g0, &x);
    round_to(&y0, FSC_FMT_FP16); /* cpu -> ne: the NE's storage */
    fsc_tensor y1 = run1("emu:fp16-acc16", g1, &y0);
    round_to(&y1, FSC_FMT_FP32); /* ne -> cpu: exact (fp16 values are fp32 values) */
    fsc_tensor y2 = run1("emu:fp32", g2, &y1);
    assert_true(same(&mixed, &y2));

    /* The split matters: neither device alone computes the same numbers. */
    fsc_tensor a32 = run1("emu:fp32", g, &x), a16 = run1("emu:fp16-acc16", g, &x);
    assert_false(same(&mixed, &a32));
    assert_false(same(&mixed, &a16));
    /* Without the hand conversion at the first boundary the NE piece would
     * have read fp32 values: a different result, so the check above is sharp. */
    fsc_tensor z0 = run1("emu:fp32", g0, &x);
    int64_t changed = 0;
    for (int64_t i = 0; i < fsc_tensor_numel(&z0); i++)
        changed += fsc_tensor_get(&z0, i) != fsc_round(fsc_tensor_get(&z0, i), FSC_FMT_FP16, fsc_round_default());
    assert_true(changed > 0);

    fsc_tensor *ts[] = {&x, &mixed, &y0, &y1, &y2, &a32, &a16, &z0};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) fsc_tensor_free(ts[i]);
    fsc_graph_free(g);
    fsc_graph_free(g0);
    fsc_graph_free(g1);
    fsc_graph_free(g2);
}

/* The hand-built W8A8 seed program runs on every coreml preset; constexpr
 * weight dequantization is evaluated for the device that reads it. */
static void test_coreml_runs_w8a8(void **state)
{
    (void)state;
    fsc_graph *g = w8a8_seed_graph(6, 6);
    assert_non_null(g);
    int64_t xd4[4] = {1, 3, 6, 6};
    fsc_tensor x = filled(FSC_DT_F32, 4, xd4, 5, 1.0);
    round_to(&x, FSC_FMT_FP16);
    const char *cfg[4] = {"coreml:cpu_only", "coreml:cpu_and_gpu", "coreml:cpu_and_ne", "coreml:all"};
    const char *dev[4] = {"coreml:cpu", "coreml:gpu", "coreml:ne", "coreml:ne"};
    fsc_tensor out[4];
    fsc_ctx ctx = fsc_ctx_default();
    for (int c = 0; c < 4; c++) {
        fsc_engine *e;
        fsc_error err;
        fsc_status st = fsc_engine_open(cfg[c], g, &ctx, &e, &err);
        if (st) fail_msg("%s: %s", cfg[c], err.msg);
        for (int i = 0; i < g->n_nodes; i++) {
            const fsc_backend *b = fsc_engine_node_backend(e, i);
            if (g->nodes[i].op == FSC_OP_CONSTANT) assert_null(b);
            else assert_string_equal(b->name, dev[c]);
        }
        st = fsc_engine_run(e, &x, &out[c], NULL, &err);
        if (st) fail_msg("%s: %s", cfg[c], err.msg);
        assert_int_equal(fsc_tensor_numel(&out[c]), 2);
        for (int k = 0; k < 2; k++) {
            double v = fsc_tensor_get(&out[c], k);
            assert_true(isfinite(v));
            assert_true(v == fsc_round(v, FSC_FMT_FP16, fsc_round_default())); /* fp16 program output */
        }
        fsc_engine_close(e);
    }
    /* coreml:cpu_only is the fp16 preset's arithmetic (coreml.profile says so). */
    fsc_tensor ref = run1("emu:fp16", g, &x);
    assert_true(same(&ref, &out[0]));
    /* cpu_and_ne and all both put everything on the NE. */
    assert_true(same(&out[2], &out[3]));
    fsc_tensor_free(&ref);
    for (int c = 0; c < 4; c++) fsc_tensor_free(&out[c]);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

/* Core ML's CPU quantize computes x / scale in fp16. With scale = fp16(0.1)
 * = 1638 * 2^-14 and x = 1433 * 2^-12 (both fp16), the exact quotient is
 * 5732 / 1638 = 3.49939..., within half an fp16 ulp (2^-10 at [2, 4)) of
 * 3.5, so fp16 gives 3.5 and round-half-even gives 4; an fp32 quotient
 * rounds to 3. Hand calculation, no flipscope arithmetic involved. */
static void test_coreml_cpu_quantize_in_fp16(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("q", NULL);
    int64_t two = 2;
    fsc_shape s = fsc_shape_make(1, &two);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F16, &s, NULL);
    fsc_tensor sc;
    assert_int_equal(fsc_tensor_alloc(&sc, FSC_DT_F32, &s, 0, NULL), FSC_OK);
    fsc_shape s0 = fsc_shape_make(0, NULL);
    fsc_tensor_free(&sc);
    assert_int_equal(fsc_tensor_alloc(&sc, FSC_DT_F32, &s0, 0, NULL), FSC_OK);
    fsc_tensor_set(&sc, 0, ldexp(1638.0, -14));
    int sv = fsc_graph_add_const_node(g, "scale", "const", "scale", FSC_DT_F16, &sc, NULL);
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_QUANTIZE;
    sp.op_type = "quantize";
    sp.name = "q";
    int in[2] = {x, sv};
    sp.in = in;
    sp.n_in = 2;
    sp.n_out = 1;
    sp.out_dtype = FSC_DT_I8;
    int n = fsc_graph_add_node(g, &sp, NULL);
    assert_true(n >= 0);
    assert_int_equal(fsc_graph_add_output(g, g->nodes[n].out[0], NULL), FSC_OK);
    fsc_tensor xv;
    assert_int_equal(fsc_tensor_alloc(&xv, FSC_DT_F32, &s, 0, NULL), FSC_OK);
    fsc_tensor_set(&xv, 0, ldexp(1433.0, -12));
    fsc_tensor_set(&xv, 1, -ldexp(1433.0, -12));
    fsc_tensor q16 = run1("coreml:cpu_only", g, &xv), q32 = run1("emu:fp32", g, &xv);
    assert_int_equal((int)fsc_tensor_get(&q16, 0), 4);
    assert_int_equal((int)fsc_tensor_get(&q16, 1), -4);
    assert_int_equal((int)fsc_tensor_get(&q32, 0), 3);
    assert_int_equal((int)fsc_tensor_get(&q32, 1), -3);
    fsc_tensor_free(&q16);
    fsc_tensor_free(&q32);
    fsc_tensor_free(&xv);
    fsc_graph_free(g);
}

/* An op no device of the preset supports fails at open, naming the op. */
static void test_open_unsupported(void **state)
{
    (void)state;
    char path[160];
    snprintf(path, sizeof path, "%s/strict.profile", tmpdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("arith a base=fp16\ndevice ne arith=a ops=conv2d,silu\npreset only devices=ne\n", f);
    fclose(f);
    const fsc_profile *p;
    fsc_error err;
    assert_int_equal(fsc_profile_use(path, &p, &err), FSC_OK);
    fsc_graph *g = split_graph();
    fsc_ctx ctx = fsc_ctx_default();
    fsc_engine *e;
    assert_int_equal(fsc_engine_open("strict:only", g, &ctx, &e, &err), FSC_ERR_UNSUPPORTED);
    assert_null(e);
    assert_non_null(strstr(err.msg, "op 'add'"));
    assert_non_null(strstr(err.msg, "strict:only"));
    assert_int_equal(fsc_engine_open("strict:none", g, &ctx, &e, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "strict:none"));
    unlink(path);
    fsc_graph_free(g);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_mixed_XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(profile_path, sizeof profile_path, "%s/mix.profile", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(profile_path);
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_ne_cpu_equals_segments),
        cmocka_unit_test(test_coreml_runs_w8a8),
        cmocka_unit_test(test_coreml_cpu_quantize_in_fp16),
        cmocka_unit_test(test_open_unsupported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
