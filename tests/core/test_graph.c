/* test_graph.c: graph construction, shape inference and its error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/graph.h"
#include "flipscope/synth.h"

static int add_const(fsc_graph *g, const char *name, int rank, const int64_t *dims)
{
    fsc_shape s = fsc_shape_make(rank, dims);
    fsc_tensor t;
    assert_int_equal(fsc_tensor_alloc(&t, FSC_DT_F32, &s, 0, NULL), FSC_OK);
    return fsc_graph_add_initializer(g, name, FSC_DT_F32, &t, NULL);
}

static int conv(fsc_graph *g, int x, int w, const char *name, int64_t pad, int64_t stride, fsc_error *err)
{
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_CONV2D;
    s.name = name;
    s.op_type = "Conv";
    int in[2] = {x, w};
    s.in = in;
    s.n_in = 2;
    s.n_out = 1;
    s.attr.conv = (fsc_attr_conv){{stride, stride}, {pad, pad, pad, pad}, {1, 1}, 1};
    return fsc_graph_add_node(g, &s, err);
}

static void test_conv_shapes(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("t", NULL);
    int64_t xd[4] = {1, 3, 10, 7}, wd[4] = {8, 3, 3, 3};
    fsc_shape xs = fsc_shape_make(4, xd);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, NULL);
    int w = add_const(g, "w", 4, wd);
    /* (10 + 2 - 3) / 2 + 1 = 5, (7 + 2 - 3) / 2 + 1 = 4 */
    int n = conv(g, x, w, "c", 1, 2, NULL);
    assert_true(n >= 0);
    const fsc_value *y = &g->values[g->nodes[n].out[0]];
    assert_int_equal(y->shape.rank, 4);
    assert_int_equal(y->shape.dim[1], 8);
    assert_int_equal(y->shape.dim[2], 5);
    assert_int_equal(y->shape.dim[3], 4);
    assert_int_equal(y->producer, n);
    fsc_graph_free(g);
}

static void test_errors_name_the_node(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("t", NULL);
    int64_t xd[4] = {1, 4, 8, 8}, wd[4] = {8, 3, 3, 3};
    fsc_shape xs = fsc_shape_make(4, xd);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, NULL);
    int w = add_const(g, "w", 4, wd);
    fsc_error err;
    fsc_error_clear(&err);
    assert_int_equal(conv(g, x, w, "/stem/0", 1, 1, &err), -1);
    assert_int_equal(err.code, FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "node 0 (Conv '/stem/0')"));
    assert_non_null(strstr(err.msg, "group=1"));
    assert_int_equal(g->n_nodes, 0); /* a refused node leaves the graph unchanged */

    /* duplicate value names */
    fsc_error_clear(&err);
    assert_int_equal(fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, &err), -1);
    assert_non_null(strstr(err.msg, "defined twice"));

    /* broadcasting mismatch */
    int64_t ad[2] = {3, 4}, bd[2] = {2, 4};
    int a = add_const(g, "a", 2, ad), b = add_const(g, "b", 2, bd);
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_ADD;
    s.name = "plus";
    int in[2] = {a, b};
    s.in = in;
    s.n_in = 2;
    s.n_out = 1;
    fsc_error_clear(&err);
    assert_int_equal(fsc_graph_add_node(g, &s, &err), -1);
    assert_non_null(strstr(err.msg, "[3, 4] and [2, 4] do not broadcast"));

    /* absurd window: kernel larger than the padded input */
    int64_t sd[4] = {1, 4, 2, 2}, kd[4] = {1, 4, 5, 5};
    fsc_shape ss = fsc_shape_make(4, sd);
    int small = fsc_graph_add_input(g, "small", FSC_DT_F32, &ss, NULL);
    int k = add_const(g, "k", 4, kd);
    fsc_error_clear(&err);
    assert_int_equal(conv(g, small, k, "big", 0, 1, &err), -1);
    assert_non_null(strstr(err.msg, "does not fit"));
    fsc_graph_free(g);
}

static void test_broadcast_and_matmul(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("t", NULL);
    int64_t ad[3] = {5, 1, 4}, bd[2] = {3, 1}, md[3] = {2, 4, 6}, nd[2] = {6, 7};
    int a = add_const(g, "a", 3, ad), b = add_const(g, "b", 2, bd);
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_MUL;
    int in[2] = {a, b};
    s.in = in;
    s.n_in = 2;
    s.n_out = 1;
    int n = fsc_graph_add_node(g, &s, NULL);
    assert_true(n >= 0);
    const fsc_shape *o = &g->values[g->nodes[n].out[0]].shape;
    assert_int_equal(o->rank, 3);
    assert_int_equal(o->dim[0], 5);
    assert_int_equal(o->dim[1], 3);
    assert_int_equal(o->dim[2], 4);
    int m = add_const(g, "m", 3, md), q = add_const(g, "q", 2, nd);
    s.op = FSC_OP_MATMUL;
    in[0] = m;
    in[1] = q;
    n = fsc_graph_add_node(g, &s, NULL);
    assert_true(n >= 0);
    o = &g->values[g->nodes[n].out[0]].shape;
    assert_int_equal(o->rank, 3);
    assert_int_equal(o->dim[0], 2);
    assert_int_equal(o->dim[1], 4);
    assert_int_equal(o->dim[2], 7);
    fsc_graph_free(g);
}

static void test_builtin_model_and_clone(void **state)
{
    (void)state;
    fsc_synth_opts o = fsc_synth_default();
    o.height = o.width = 16;
    fsc_graph *g;
    assert_int_equal(fsc_synth_amplified_conv_tie(&o, &g, NULL), FSC_OK);
    /* 5 convs + 5 silus + mul + pool + flatten + linear */
    assert_int_equal(g->n_nodes, 14);
    assert_int_equal(g->n_inputs, 1);
    assert_int_equal(g->n_outputs, 1);
    const fsc_value *y = &g->values[g->outputs[0]];
    assert_string_equal(y->name, "y");
    assert_int_equal(y->shape.rank, 2);
    assert_int_equal(y->shape.dim[1], 2);
    int hb = fsc_synth_head_bias_value(g);
    assert_true(hb >= 0);
    assert_string_equal(g->values[hb].name, "head.bias");
    /* Kaiming-uniform bounds: conv0 weights within 1/sqrt(27), conv1 within 1/sqrt(576) */
    const fsc_tensor *w0 = g->values[fsc_graph_find(g, "conv0.weight")].constant;
    const fsc_tensor *w1 = g->values[fsc_graph_find(g, "conv1.weight")].constant;
    double m0 = 0, m1 = 0;
    for (int64_t i = 0; i < fsc_tensor_numel(w0); i++) m0 = fmax(m0, fabs(fsc_tensor_get(w0, i)));
    for (int64_t i = 0; i < fsc_tensor_numel(w1); i++) m1 = fmax(m1, fabs(fsc_tensor_get(w1, i)));
    assert_true(m0 <= 1.0 / sqrt(27.0) && m0 > 0.9 / sqrt(27.0));
    assert_true(m1 <= 1.0 / sqrt(576.0) && m1 > 0.9 / sqrt(576.0));

    fsc_graph *c = fsc_graph_clone(g, NULL);
    assert_non_null(c);
    assert_int_equal(c->n_values, g->n_values);
    assert_int_equal(c->n_nodes, g->n_nodes);
    for (int i = 0; i < g->n_values; i++) {
        assert_string_equal(c->values[i].name, g->values[i].name);
        assert_int_equal(fsc_graph_find(c, g->values[i].name), i);
        if (g->values[i].constant)
            assert_memory_equal(c->values[i].constant->data, g->values[i].constant->data, g->values[i].constant->nbytes);
    }
    fsc_graph_free(c);
    fsc_graph_free(g);
}

static void test_many_values_index(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("t", NULL);
    int64_t d[1] = {1};
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "v%d", i);
        assert_int_equal(add_const(g, name, 1, d), i);
    }
    for (int i = 0; i < 5000; i += 7) {
        snprintf(name, sizeof name, "v%d", i);
        assert_int_equal(fsc_graph_find(g, name), i);
    }
    assert_int_equal(fsc_graph_find(g, "nope"), -1);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_shapes),         cmocka_unit_test(test_errors_name_the_node),
        cmocka_unit_test(test_broadcast_and_matmul), cmocka_unit_test(test_builtin_model_and_clone),
        cmocka_unit_test(test_many_values_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
