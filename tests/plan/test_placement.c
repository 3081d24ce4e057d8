/* test_placement.c: placement of nodes on the devices of a preset, segments,
 * the seed's W8A8 compute plan (110 ops: 74 without a device, 36 on the NE
 * with compute units ALL; everything on the CPU with CPU_ONLY), load-time
 * nodes, device limits, unsupported ops with and without a fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/plan.h"
#include "plan/w8a8_graph.h"

static const fsc_profile *coreml(void)
{
    const fsc_profile *p = NULL;
    fsc_error err;
    assert_int_equal(fsc_profile_get("coreml", &p, &err), FSC_OK);
    return p;
}

static int dev(const fsc_profile *p, const char *name)
{
    int d = fsc_profile_device_index(p, name);
    assert_true(d >= 0);
    return d;
}

static const fsc_plan_type *type_row(const fsc_plan *pl, const char *t)
{
    for (int i = 0; i < pl->n_types; i++)
        if (!strcmp(pl->types[i].op_type, t)) return &pl->types[i];
    fail_msg("no op type '%s' in the plan", t);
    return NULL;
}

/* The seed's plan (SEED.md stage 2, coreml-w8a8.md): with ALL, 110 ops, 74
 * without a device (68 const + 6 constexpr_affine_dequantize), 36 on the NE. */
static void test_w8a8_seed_plan_all(void **state)
{
    (void)state;
    fsc_graph *g = w8a8_seed_graph(8, 8);
    assert_non_null(g);
    assert_int_equal(g->n_nodes, 110);
    const fsc_profile *p = coreml();
    fsc_plan pl;
    fsc_error err;
    assert_int_equal(fsc_plan_make(g, p, "all", &pl, &err), FSC_OK);
    int ne = dev(p, "ne"), gpu = dev(p, "gpu"), cpu = dev(p, "cpu");
    assert_int_equal(pl.n_ops, 110);
    assert_int_equal(pl.n_none, 74);
    assert_int_equal(pl.preferred[ne], 36);
    assert_int_equal(pl.preferred[gpu], 0);
    assert_int_equal(pl.preferred[cpu], 0);
    assert_int_equal(pl.supported[ne], 36);
    assert_int_equal(pl.supported[gpu], 36);
    assert_int_equal(pl.supported[cpu], 36);
    assert_int_equal(pl.n_fallback, 0);
    /* The per-type table of coreml-w8a8.md. */
    const fsc_plan_type *t = type_row(&pl, "const");
    assert_int_equal(t->count, 68);
    assert_int_equal(t->none, 68);
    t = type_row(&pl, "constexpr_affine_dequantize");
    assert_int_equal(t->count, 6);
    assert_int_equal(t->none, 6);
    t = type_row(&pl, "quantize");
    assert_int_equal(t->count, 11);
    assert_int_equal(t->on_device[ne], 11);
    t = type_row(&pl, "dequantize");
    assert_int_equal(t->count, 11);
    assert_int_equal(t->on_device[ne], 11);
    assert_int_equal(type_row(&pl, "conv")->on_device[ne], 5);
    assert_int_equal(type_row(&pl, "silu")->on_device[ne], 5);
    assert_int_equal(type_row(&pl, "mul")->on_device[ne], 1);
    assert_int_equal(type_row(&pl, "reduce_mean")->on_device[ne], 1);
    assert_int_equal(type_row(&pl, "reshape")->on_device[ne], 1);
    assert_int_equal(type_row(&pl, "linear")->on_device[ne], 1);
    assert_int_equal(pl.n_types, 10);
    assert_string_equal(pl.types[0].op_type, "const"); /* sorted by count */
    /* Constants and constexpr ops: no device, and flagged as load time. */
    for (int i = 0; i < g->n_nodes; i++) {
        bool lt = g->nodes[i].op == FSC_OP_CONSTANT || !strcmp(g->nodes[i].op_type, "constexpr_affine_dequantize");
        assert_int_equal(pl.ops[i].load_time, lt);
        assert_int_equal(pl.ops[i].device < 0, lt);
        assert_int_equal(pl.ops[i].supported == 0, lt);
    }
    /* One NE segment: the load-time nodes in between do not cut it. */
    assert_int_equal(pl.n_segments, 1);
    assert_int_equal(pl.segments[0].device, ne);
    assert_int_equal(pl.segments[0].n_ops, 36);
    fsc_plan_free(&pl);
    fsc_graph_free(g);
}

static void test_w8a8_seed_plan_other_units(void **state)
{
    (void)state;
    fsc_graph *g = w8a8_seed_graph(8, 8);
    assert_non_null(g);
    const fsc_profile *p = coreml();
    fsc_plan pl;
    fsc_error err;
    const char *units[3] = {"cpu_only", "cpu_and_gpu", "cpu_and_ne"}, *where[3] = {"cpu", "gpu", "ne"};
    for (int u = 0; u < 3; u++) {
        assert_int_equal(fsc_plan_make(g, p, units[u], &pl, &err), FSC_OK);
        int d = dev(p, where[u]);
        assert_int_equal(pl.n_none, 74);
        assert_int_equal(pl.preferred[d], 36);
        for (int k = 0; k < FSC_PROFILE_MAX; k++)
            if (k != d) assert_int_equal(pl.preferred[k], 0);
        /* cpu_only: no other device is even asked. */
        if (u == 0) {
            assert_int_equal(pl.supported[dev(p, "ne")], 0);
            assert_int_equal(pl.supported[dev(p, "gpu")], 0);
        }
        fsc_plan_free(&pl);
    }
    assert_int_equal(fsc_plan_make(g, p, "cpu_and_npu", &pl, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "cpu_and_npu"));
    assert_non_null(strstr(err.msg, "cpu_and_ne")); /* lists the presets */
    fsc_graph_free(g);
}

/* A graph whose middle op the NE lacks: x -> conv -> div -> conv -> gather. */
static fsc_graph *mixed_graph(void)
{
    fsc_graph *g = fsc_graph_new("mixed", NULL);
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {2, 2, 3, 3}, one = 1;
    fsc_shape xs = fsc_shape_make(4, xd), ws = fsc_shape_make(4, wd), cs = fsc_shape_make(1, &one);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, NULL);
    fsc_tensor w, c, idx;
    assert_int_equal(fsc_tensor_alloc(&w, FSC_DT_F32, &ws, 0, NULL), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&c, FSC_DT_F32, &cs, 0, NULL), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&idx, FSC_DT_I64, &cs, 0, NULL), FSC_OK);
    int wv = fsc_graph_add_initializer(g, "w", FSC_DT_F32, &w, NULL);
    int cv = fsc_graph_add_const_node(g, "c", "const", "c", FSC_DT_F32, &c, NULL);
    int iv = fsc_graph_add_initializer(g, "idx", FSC_DT_I64, &idx, NULL);
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.n_out = 1;
    s.op = FSC_OP_CONV2D;
    s.attr.conv = (fsc_attr_conv){{1, 1}, {1, 1, 1, 1}, {1, 1}, 1};
    int in[2] = {x, wv};
    s.in = in;
    s.n_in = 2;
    s.name = "conv_a";
    int n = fsc_graph_add_node(g, &s, NULL);
    assert_true(n >= 0);
    s.op = FSC_OP_DIV;
    s.name = "div";
    in[0] = g->nodes[n].out[0];
    in[1] = cv;
    n = fsc_graph_add_node(g, &s, NULL);
    assert_true(n >= 0);
    s.op = FSC_OP_CONV2D;
    s.name = "conv_b";
    in[0] = g->nodes[n].out[0];
    in[1] = wv;
    n = fsc_graph_add_node(g, &s, NULL);
    assert_true(n >= 0);
    memset(&s.attr, 0, sizeof s.attr);
    s.op = FSC_OP_GATHER;
    s.name = "pick";
    s.attr.axis.axis = 1;
    in[0] = g->nodes[n].out[0];
    in[1] = iv;
    n = fsc_graph_add_node(g, &s, NULL);
    assert_true(n >= 0);
    return g;
}

static void test_segments_and_priority(void **state)
{
    (void)state;
    fsc_graph *g = mixed_graph();
    const fsc_profile *p = coreml();
    int ne = dev(p, "ne"), gpu = dev(p, "gpu"), cpu = dev(p, "cpu");
    fsc_plan pl;
    fsc_error err;
    /* cpu_and_ne: conv on NE, div on CPU (the NE lacks div), conv on NE, gather on CPU. */
    assert_int_equal(fsc_plan_make(g, p, "cpu_and_ne", &pl, &err), FSC_OK);
    assert_int_equal(pl.ops[0].device, -1); /* the const node */
    assert_int_equal(pl.ops[1].device, ne);
    assert_int_equal(pl.ops[2].device, cpu);
    assert_int_equal(pl.ops[2].supported, 1u << cpu);
    assert_int_equal(pl.ops[3].device, ne);
    assert_int_equal(pl.ops[4].device, cpu);
    assert_int_equal(pl.n_segments, 4);
    assert_int_equal(pl.segments[1].device, cpu);
    assert_int_equal(pl.segments[1].first, 2);
    fsc_plan_free(&pl);
    /* all: the GPU takes what the NE lacks (ne > gpu > cpu); the gather's
     * output is float32, which the GPU takes, but its int64 index is a constant. */
    assert_int_equal(fsc_plan_make(g, p, "all", &pl, &err), FSC_OK);
    assert_int_equal(pl.ops[2].device, gpu);
    assert_int_equal(pl.ops[2].supported, (1u << gpu) | (1u << cpu));
    assert_int_equal(pl.ops[4].device, gpu);
    assert_int_equal(pl.ops[1].supported, (1u << ne) | (1u << gpu) | (1u << cpu));
    fsc_plan_free(&pl);
    fsc_graph_free(g);
}

static fsc_profile *parse(const char *text)
{
    fsc_profile *p = NULL;
    fsc_error err;
    fsc_status st = fsc_profile_parse(text, strlen(text), "t", "t.profile", &p, &err);
    if (st) fail_msg("%s", err.msg);
    return p;
}

static void test_unsupported_op_and_fallback(void **state)
{
    (void)state;
    fsc_graph *g = mixed_graph();
    fsc_profile *p = parse("arith a base=fp16\n"
                           "device acc arith=a ops=conv2d,div\n"
                           "device host arith=a ops=all\n"
                           "preset only_acc devices=acc\n"
                           "preset with_fb devices=acc fallback=host\n");
    fsc_plan pl;
    fsc_error err;
    assert_int_equal(fsc_plan_make(g, p, "only_acc", &pl, &err), FSC_ERR_UNSUPPORTED);
    /* The message names the node and the op. */
    assert_non_null(strstr(err.msg, "node 4"));
    assert_non_null(strstr(err.msg, "'pick'"));
    assert_non_null(strstr(err.msg, "op 'gather'"));
    assert_non_null(strstr(err.msg, "t:only_acc"));
    assert_int_equal(fsc_plan_make(g, p, "with_fb", &pl, &err), FSC_OK);
    assert_int_equal(pl.ops[4].device, 1);
    assert_true(pl.ops[4].fallback);
    assert_int_equal(pl.ops[4].supported, 0); /* not listed, not supported: only taken */
    assert_int_equal(pl.n_fallback, 1);
    assert_int_equal(pl.preferred[0], 3);
    assert_int_equal(pl.preferred[1], 1);
    fsc_plan_free(&pl);
    fsc_profile_free(p);
    fsc_graph_free(g);
}

static void test_device_limits(void **state)
{
    (void)state;
    fsc_graph *g = mixed_graph();
    fsc_profile *p = parse("arith a base=fp32\n"
                           "device k2 arith=a ops=all max_kernel=2\n"
                           "device r3 arith=a ops=all max_rank=3\n"
                           "device f16 arith=a ops=all dtypes=float16\n"
                           "device ok arith=a ops=conv2d,div,gather max_kernel=3 max_rank=4 dtypes=float32\n"
                           "preset s devices=k2,r3,f16,ok\n");
    fsc_plan pl;
    fsc_error err;
    assert_int_equal(fsc_plan_make(g, p, "s", &pl, &err), FSC_OK);
    /* conv 3x3: not k2 (kernel), not r3 (rank 4), not f16 (float32 input): ok. */
    assert_int_equal(pl.ops[1].device, 3);
    assert_int_equal(pl.ops[1].supported, 1u << 3);
    /* div has no kernel: k2 takes it. */
    assert_int_equal(pl.ops[2].device, 0);
    assert_int_equal(pl.ops[2].supported, (1u << 0) | (1u << 3));
    fsc_plan_free(&pl);
    fsc_profile_free(p);
    fsc_graph_free(g);
}

/* constexpr_* counts as load time only when all its inputs are constants. */
static void test_load_time_rule(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("lt", NULL);
    int64_t d = 4;
    fsc_shape s = fsc_shape_make(1, &d);
    int q = fsc_graph_add_input(g, "q", FSC_DT_I8, &s, NULL);
    fsc_tensor qc, sc;
    assert_int_equal(fsc_tensor_alloc(&qc, FSC_DT_I8, &s, 0, NULL), FSC_OK);
    assert_int_equal(fsc_tensor_alloc(&sc, FSC_DT_F32, &s, 0, NULL), FSC_OK);
    int qv = fsc_graph_add_initializer(g, "qc", FSC_DT_I8, &qc, NULL);
    int sv = fsc_graph_add_initializer(g, "sc", FSC_DT_F16, &sc, NULL);
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_DEQUANTIZE;
    sp.op_type = "constexpr_affine_dequantize";
    sp.n_out = 1;
    sp.n_in = 2;
    sp.out_dtype = FSC_DT_F16;
    int in[2] = {qv, sv};
    sp.in = in;
    sp.name = "all_const";
    assert_int_equal(fsc_graph_add_node(g, &sp, NULL), 0);
    in[0] = q;
    sp.name = "runtime_input";
    assert_int_equal(fsc_graph_add_node(g, &sp, NULL), 1);
    sp.op_type = "dequantize";
    in[0] = qv;
    sp.name = "plain_dequantize_of_constants";
    assert_int_equal(fsc_graph_add_node(g, &sp, NULL), 2);
    assert_true(fsc_node_is_load_time(g, 0));
    assert_false(fsc_node_is_load_time(g, 1));
    assert_false(fsc_node_is_load_time(g, 2)); /* a real op in ONNX QDQ models */
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_w8a8_seed_plan_all),
        cmocka_unit_test(test_w8a8_seed_plan_other_units),
        cmocka_unit_test(test_segments_and_priority),
        cmocka_unit_test(test_unsupported_op_and_fallback),
        cmocka_unit_test(test_device_limits),
        cmocka_unit_test(test_load_time_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
