/* test_onnx.c: the ONNX reader and writer.
 *
 * Oracles: output shapes from onnx.shape_inference (the .shapes files in tests/fixtures/onnx),
 * attribute values resolved by hand from the ONNX operator definitions (auto_pad,
 * Slice clamping, old Softmax), and for the hostile files the defect each one
 * carries (tests/fixtures/onnx/make_onnx_fixtures.py). Round trips compare graphs
 * field by field and constants bit for bit. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flipscope/model_io.h"
#include "flipscope/onnx.h"

#define FIX FSC_FIXTURES "/onnx/"

static const char *const valid[] = {"cnn_ops", "misc_ops", "ln_gelu", "old_opset", "qdq"};
#define N_VALID ((int)(sizeof valid / sizeof valid[0]))

static fsc_graph *load_ok(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s.onnx", name);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_status st = fsc_onnx_load(path, &ctx, &g, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, FSC_OK);
    assert_non_null(g);
    return g;
}

/* First node whose name is `name` and op is `op`, or -1. */
static int find_node(const fsc_graph *g, const char *name, fsc_op op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].op == op && !strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

static void assert_shape(const fsc_shape *s, int rank, const int64_t *dims)
{
    assert_int_equal(s->rank, rank);
    for (int i = 0; i < rank; i++) assert_int_equal(s->dim[i], dims[i]);
}

static void test_output_shapes_match_onnx_shape_inference(void **state)
{
    (void)state;
    for (int k = 0; k < N_VALID; k++) {
        fsc_graph *g = load_ok(valid[k]);
        char path[512];
        snprintf(path, sizeof path, FIX "%s.shapes", valid[k]);
        FILE *f = fopen(path, "r");
        if (f) {
            char line[512];
            int n = 0;
            while (fgets(line, sizeof line, f)) {
                char name[128];
                int off;
                assert_int_equal(sscanf(line, "%127s%n", name, &off), 1);
                int id = g->outputs[n++];
                assert_string_equal(g->values[id].name, name);
                int64_t dims[FSC_MAX_RANK];
                int rank = 0;
                long long d;
                int used;
                for (char *p = line + off; sscanf(p, "%lld%n", &d, &used) == 1; p += used) dims[rank++] = d;
                assert_shape(&g->values[id].shape, rank, dims);
            }
            fclose(f);
            assert_int_equal(n, g->n_outputs);
        } else {
            /* ln_gelu (opset 20) is newer than Debian's onnx shape inference: [2,3,6] reduced over axis 2. */
            assert_string_equal(valid[k], "ln_gelu");
            assert_int_equal(g->n_outputs, 1);
            assert_shape(&g->values[g->outputs[0]].shape, 2, (int64_t[]){2, 3});
        }
        fsc_graph_free(g);
    }
}

static void test_cnn_attributes(void **state)
{
    (void)state;
    fsc_graph *g = load_ok("cnn_ops");
    assert_int_equal(g->n_inputs, 1);
    assert_string_equal(g->values[g->inputs[0]].name, "x");
    /* SAME_UPPER, input 8, stride 2, kernel 3: output 4, total pad (4-1)*2+3-8 = 1, the odd one at the end */
    int dw = find_node(g, "/dw", FSC_OP_CONV2D);
    assert_true(dw >= 0);
    const fsc_attr_conv *c = &g->nodes[dw].attr.conv;
    assert_int_equal(c->group, 4);
    assert_int_equal(c->stride[0], 2);
    assert_int_equal(c->pad[0], 0);
    assert_int_equal(c->pad[1], 0);
    assert_int_equal(c->pad[2], 1);
    assert_int_equal(c->pad[3], 1);
    /* SAME_LOWER, kernel 2, stride 1: total pad 1 at the beginning */
    int c3 = find_node(g, "/conv3", FSC_OP_CONV2D);
    assert_true(c3 >= 0);
    c = &g->nodes[c3].attr.conv;
    assert_int_equal(c->pad[0], 1);
    assert_int_equal(c->pad[1], 1);
    assert_int_equal(c->pad[2], 0);
    assert_int_equal(c->pad[3], 0);
    int stem = find_node(g, "/stem/conv", FSC_OP_CONV2D);
    assert_int_equal(g->nodes[stem].n_in, 3);
    assert_int_equal(g->nodes[stem].attr.conv.pad[3], 1);
    int clip = find_node(g, "/clip", FSC_OP_CLIP);
    assert_true(clip >= 0);
    assert_int_equal(g->nodes[clip].n_in, 1);
    assert_true(g->nodes[clip].attr.clip.lo == 0.0 && g->nodes[clip].attr.clip.hi == 0.75);
    int gm = find_node(g, "/head", FSC_OP_GEMM);
    assert_true(g->nodes[gm].attr.gemm.alpha == 0.5 && g->nodes[gm].attr.gemm.beta == 2.0);
    assert_true(g->nodes[gm].attr.gemm.trans_b && !g->nodes[gm].attr.gemm.trans_a);
    int bn = find_node(g, "/stem/bn", FSC_OP_BATCHNORM);
    assert_true(g->nodes[bn].attr.norm.epsilon == (double)1e-3f);
    int ap = find_node(g, "/avgpool", FSC_OP_AVGPOOL);
    assert_false(g->nodes[ap].attr.pool.count_include_pad);
    assert_int_equal(g->nodes[ap].attr.pool.kernel[0], 3);
    int fl = find_node(g, "/flatten", FSC_OP_RESHAPE);
    assert_shape(&g->values[g->nodes[fl].out[0]].shape, 2, (int64_t[]){1, 4});
    int sm = find_node(g, "/softmax", FSC_OP_SOFTMAX);
    assert_int_equal(g->nodes[sm].attr.axis.axis, 1);
    /* Initializers: the weight keeps its data bit for bit (first element from the NumPy file is not
     * available here, so check shape and that the Clip bounds did not become graph values). */
    assert_int_equal(fsc_graph_find(g, "lo"), -1);
    int w1 = fsc_graph_find(g, "w1");
    assert_true(w1 >= 0 && g->values[w1].constant);
    assert_shape(&g->values[w1].shape, 4, (int64_t[]){4, 3, 3, 3});
    fsc_graph_free(g);
}

static void test_misc_attributes(void **state)
{
    (void)state;
    fsc_graph *g = load_ok("misc_ops");
    assert_int_equal(g->n_inputs, 2);
    /* Shape -> Gather -> Unsqueeze -> Concat is evaluated at load time ([2, -1]) and used only as the
     * Reshape's static shape, so none of it is in the graph ... */
    assert_int_equal(fsc_graph_find(g, "newshape"), -1);
    assert_int_equal(fsc_graph_find(g, "s0u"), -1);
    /* ... except the Shape itself, which a Cast reads as data: a CONSTANT node [2, 3, 4]. */
    int sh = fsc_graph_find(g, "s");
    assert_true(sh >= 0 && g->values[sh].constant);
    assert_int_equal(g->nodes[g->values[sh].producer].op, FSC_OP_CONSTANT);
    assert_string_equal(g->nodes[g->values[sh].producer].op_type, "Shape");
    assert_string_equal(g->nodes[g->values[sh].producer].name, "/shape");
    assert_int_equal(g->values[sh].dtype, FSC_DT_I64);
    for (int i = 0; i < 3; i++) assert_int_equal(((int64_t *)g->values[sh].constant->data)[i], i + 2);
    int n_const = 0;
    for (int i = 0; i < g->n_nodes; i++) n_const += g->nodes[i].op == FSC_OP_CONSTANT;
    assert_int_equal(n_const, 1);
    int rs = find_node(g, "/reshape", FSC_OP_RESHAPE);
    assert_int_equal(g->nodes[rs].n_in, 1);
    assert_shape(&g->values[g->nodes[rs].out[0]].shape, 2, (int64_t[]){2, 12});
    /* Slice r[1:INT64_MAX, -100:10:3] on [2, 12]: rows from 1, cols 0,3,6,9 */
    int sl = find_node(g, "/slice", FSC_OP_SLICE);
    const fsc_attr_slice *a = &g->nodes[sl].attr.slice;
    assert_int_equal(a->start[0], 1);
    assert_int_equal(a->step[0], 1);
    assert_int_equal(a->start[1], 0);
    assert_int_equal(a->step[1], 3);
    assert_shape(&g->values[g->nodes[sl].out[0]].shape, 2, (int64_t[]){1, 4});
    /* x[:, :, -1:-1000:-2] on [2,3,4]: indices 3, 1 */
    sl = find_node(g, "/slice_neg", FSC_OP_SLICE);
    a = &g->nodes[sl].attr.slice;
    assert_int_equal(a->start[2], 3);
    assert_int_equal(a->step[2], -2);
    assert_shape(&g->values[g->nodes[sl].out[0]].shape, 3, (int64_t[]){2, 3, 2});
    int pd = find_node(g, "/pad", FSC_OP_PAD);
    const fsc_attr_pad *p = &g->nodes[pd].attr.pad;
    assert_int_equal(p->pads[1], 1);
    assert_int_equal(p->pads[5], 2);
    assert_true(p->value == 0.5);
    int sq = find_node(g, "/squeeze", FSC_OP_RESHAPE);
    assert_shape(&g->values[g->nodes[sq].out[0]].shape, 2, (int64_t[]){2, 5});
    int rm = find_node(g, "/rmean", FSC_OP_REDUCE_MEAN);
    assert_int_equal(g->nodes[rm].attr.axes.naxes, 1);
    assert_int_equal(g->nodes[rm].attr.axes.axes[0], 1);
    assert_true(g->nodes[rm].attr.axes.keepdims);
    int ga = find_node(g, "/gather", FSC_OP_GATHER);
    assert_int_equal(g->nodes[ga].attr.axis.axis, 1);
    int c64 = find_node(g, "/cast64", FSC_OP_CAST);
    assert_int_equal(g->values[g->nodes[c64].out[0]].dtype, FSC_DT_F64);
    fsc_graph_free(g);
}

static void test_old_opset_semantics(void **state)
{
    (void)state;
    fsc_graph *g = load_ok("old_opset");
    int clip = find_node(g, "/clip", FSC_OP_CLIP);
    assert_true(g->nodes[clip].attr.clip.lo == -0.5 && g->nodes[clip].attr.clip.hi == 0.75);
    /* opset 10 Softmax(axis=1) on [2,3,4] normalises the flattened [2,12] rows */
    int sm = find_node(g, "/softmax", FSC_OP_SOFTMAX);
    assert_true(sm > 0);
    assert_int_equal(g->nodes[sm].attr.axis.axis, 1);
    int in = g->nodes[sm].in[0];
    assert_shape(&g->values[in].shape, 2, (int64_t[]){2, 12});
    assert_int_equal(g->nodes[sm + 1].op, FSC_OP_RESHAPE);
    assert_string_equal(g->values[g->nodes[sm + 1].out[0]].name, "sm");
    assert_shape(&g->values[g->nodes[sm + 1].out[0]].shape, 3, (int64_t[]){2, 3, 4});
    int pd = find_node(g, "/pad", FSC_OP_PAD);
    assert_int_equal(g->nodes[pd].attr.pad.pads[2], 1);
    assert_true(g->nodes[pd].attr.pad.value == 0.25);
    int sl = find_node(g, "/slice", FSC_OP_SLICE);
    assert_int_equal(g->nodes[sl].attr.slice.start[2], 1);
    assert_shape(&g->values[g->nodes[sl].out[0]].shape, 3, (int64_t[]){2, 3, 2});
    fsc_graph_free(g);
}

static void test_qdq(void **state)
{
    (void)state;
    fsc_graph *g = load_ok("qdq");
    int xq = find_node(g, "/x_q", FSC_OP_QUANTIZE);
    assert_int_equal(g->values[g->nodes[xq].out[0]].dtype, FSC_DT_U8);
    int yq = find_node(g, "/y_q", FSC_OP_QUANTIZE);
    assert_int_equal(g->values[g->nodes[yq].out[0]].dtype, FSC_DT_I8);
    int wd = find_node(g, "/w_dq", FSC_OP_DEQUANTIZE);
    assert_int_equal(g->nodes[wd].attr.quant.axis, 0);
    assert_int_equal(g->values[g->nodes[wd].out[0]].dtype, FSC_DT_F32);
    int wq = g->nodes[wd].in[0];
    assert_int_equal(g->values[wq].dtype, FSC_DT_I8);
    assert_non_null(g->values[wq].constant);
    assert_int_equal(g->values[wq].constant->dtype, FSC_DT_I8);
    fsc_graph_free(g);
}

/* ---- round trips ---------------------------------------------------------- */

static void assert_same_tensor(const fsc_tensor *a, const fsc_tensor *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->fmt, b->fmt);
    assert_true(fsc_shape_equal(&a->shape, &b->shape));
    assert_int_equal(a->nbytes, b->nbytes);
    assert_memory_equal(a->data, b->data, a->nbytes);
}

static void assert_same_value(const fsc_graph *ga, int a, const fsc_graph *gb, int b)
{
    const fsc_value *va = &ga->values[a], *vb = &gb->values[b];
    assert_string_equal(va->name, vb->name);
    assert_int_equal(va->dtype, vb->dtype);
    assert_true(fsc_shape_equal(&va->shape, &vb->shape));
    assert_int_equal(va->is_input, vb->is_input);
    assert_int_equal(va->is_output, vb->is_output);
    assert_int_equal(!va->constant, !vb->constant);
    if (va->constant) assert_same_tensor(va->constant, vb->constant);
}

/* Same graph up to value numbering: nodes in order, values matched by name. */
static void assert_same_graph(const fsc_graph *a, const fsc_graph *b)
{
    assert_int_equal(a->n_nodes, b->n_nodes);
    assert_int_equal(a->n_values, b->n_values);
    assert_int_equal(a->n_inputs, b->n_inputs);
    assert_int_equal(a->n_outputs, b->n_outputs);
    for (int i = 0; i < a->n_inputs; i++) assert_same_value(a, a->inputs[i], b, b->inputs[i]);
    for (int i = 0; i < a->n_outputs; i++) assert_same_value(a, a->outputs[i], b, b->outputs[i]);
    for (int i = 0; i < a->n_values; i++) {
        int j = fsc_graph_find(b, a->values[i].name);
        assert_true(j >= 0);
        assert_same_value(a, i, b, j);
    }
    for (int i = 0; i < a->n_nodes; i++) {
        const fsc_node *x = &a->nodes[i], *y = &b->nodes[i];
        assert_int_equal(x->op, y->op);
        assert_string_equal(x->name, y->name);
        /* Flatten/Squeeze/Unsqueeze come back as Reshape, folded shape arithmetic as Constant. */
        if (x->op != FSC_OP_CONSTANT && x->op != FSC_OP_RESHAPE) assert_string_equal(x->op_type, y->op_type);
        assert_int_equal(x->n_in, y->n_in);
        assert_int_equal(x->n_out, y->n_out);
        for (int k = 0; k < x->n_in; k++) {
            if (x->in[k] < 0) assert_int_equal(y->in[k], -1);
            else assert_string_equal(a->values[x->in[k]].name, b->values[y->in[k]].name);
        }
        for (int k = 0; k < x->n_out; k++) assert_string_equal(a->values[x->out[k]].name, b->values[y->out[k]].name);
        assert_memory_equal(&x->attr, &y->attr, sizeof x->attr);
    }
}

/* Operator fixtures plus the PyTorch-exported fixture models (paths relative to tests/fixtures/onnx). */
static const char *const round_trip_models[] = {
    "cnn_ops", "misc_ops", "ln_gelu", "ms_gelu", "old_opset", "qdq", "../seed/seed", "../seed/seed_w8a8_qdq",
    "../resnet_block/model", "../dwsep/model", "../tiny_transformer/model", "../tiny_transformer/model_opset17"};

static void test_round_trip(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    const char *const *valid = round_trip_models;
    for (int k = 0; k < (int)(sizeof round_trip_models / sizeof round_trip_models[0]); k++) {
        fsc_graph *g = load_ok(valid[k]);
        void *buf = NULL, *buf2 = NULL;
        size_t len = 0, len2 = 0;
        fsc_error err;
        fsc_error_clear(&err);
        assert_int_equal(fsc_onnx_serialize(g, &ctx, &buf, &len, &err), FSC_OK);
        fsc_graph *g2 = NULL;
        fsc_status st = fsc_onnx_parse(buf, len, &ctx, &g2, &err);
        if (st) fprintf(stderr, "%s: %s\n", valid[k], err.msg);
        assert_int_equal(st, FSC_OK);
        assert_same_graph(g, g2);
        /* Writing the re-read graph gives the same bytes: the writer is deterministic and loses nothing. */
        assert_int_equal(fsc_onnx_serialize(g2, &ctx, &buf2, &len2, &err), FSC_OK);
        assert_int_equal(len, len2);
        assert_memory_equal(buf, buf2, len);
        free(buf);
        free(buf2);
        fsc_graph_free(g);
        fsc_graph_free(g2);
    }
}

/* An fp16 program: F16 input, F16 weights (values held rounded in F32), Conv + Clip + Pad + Slice. */
static void test_fp16_graph_written_as_float16(void **state)
{
    (void)state;
    fsc_error err;
    fsc_graph *g = fsc_graph_new("fp16", &err);
    assert_non_null(g);
    fsc_shape xs = fsc_shape_make(4, (int64_t[]){1, 2, 4, 4}), ws = fsc_shape_make(4, (int64_t[]){3, 2, 1, 1});
    int x = fsc_graph_add_input(g, "x", FSC_DT_F16, &xs, &err);
    assert_true(x >= 0);
    fsc_tensor w;
    assert_int_equal(fsc_tensor_alloc(&w, FSC_DT_F32, &ws, 0, &err), FSC_OK);
    /* binary16 values: 1/3 rounded to 11 bits is 0x3555 = 0.333251953125; 65504 is the largest finite */
    const float vals[6] = {0.333251953125f, -2.0f, 65504.0f, 0.0009765625f, -0.5f, 6.103515625e-05f};
    memcpy(w.data, vals, sizeof vals);
    w.fmt = FSC_FMT_FP16;
    int wi = fsc_graph_add_initializer(g, "w", FSC_DT_F16, &w, &err);
    assert_true(wi >= 0);
    fsc_node_spec s;
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_CONV2D;
    s.name = "conv";
    s.op_type = "Conv";
    s.n_in = 2;
    s.in = (int[]){x, wi};
    s.n_out = 1;
    s.out_names = (const char *const[]){"c"};
    s.attr.conv = (fsc_attr_conv){.stride = {1, 1}, .dilation = {1, 1}, .group = 1};
    int n0 = fsc_graph_add_node(g, &s, &err);
    assert_true(n0 >= 0);
    memset(&s, 0, sizeof s);
    s.op = FSC_OP_CLIP;
    s.name = "relu6";
    s.op_type = "Clip";
    s.n_in = 1;
    s.in = (int[]){g->nodes[n0].out[0]};
    s.n_out = 1;
    s.out_names = (const char *const[]){"y"};
    s.attr.clip = (fsc_attr_clip){.lo = 0.0, .hi = 6.0};
    int n1 = fsc_graph_add_node(g, &s, &err);
    assert_true(n1 >= 0);
    assert_int_equal(fsc_graph_add_output(g, g->nodes[n1].out[0], &err), FSC_OK);
    fsc_ctx ctx = fsc_ctx_default();
    void *buf;
    size_t len;
    assert_int_equal(fsc_onnx_serialize(g, &ctx, &buf, &len, &err), FSC_OK);
    /* The weight bytes in the file are the IEEE binary16 patterns, little-endian. */
    const uint8_t want[12] = {0x55, 0x35, 0x00, 0xc0, 0xff, 0x7b, 0x00, 0x14, 0x00, 0xb8, 0x00, 0x04};
    bool found = false;
    for (size_t i = 0; i + 12 <= len && !found; i++) found = !memcmp((uint8_t *)buf + i, want, 12);
    assert_true(found);
    fsc_graph *g2 = NULL;
    assert_int_equal(fsc_onnx_parse(buf, len, &ctx, &g2, &err), FSC_OK);
    assert_same_graph(g, g2);
    int w2 = fsc_graph_find(g2, "w");
    assert_int_equal(g2->values[w2].dtype, FSC_DT_F16);
    assert_int_equal(g2->values[w2].constant->fmt, FSC_FMT_FP16);
    free(buf);
    fsc_graph_free(g);
    fsc_graph_free(g2);
}

static void test_model_io_dispatch(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = load_ok("cnn_ops"), *g2 = NULL;
    char dir[] = "/tmp/fsc_onnx_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/model.ONNX", dir);
    fsc_error err;
    assert_int_equal(fsc_model_save(path, g, &ctx, &err), FSC_OK);
    assert_int_equal(fsc_model_load(path, &ctx, &g2, &err), FSC_OK);
    assert_same_graph(g, g2);
    fsc_graph_free(g2);
    snprintf(path, sizeof path, "%s/model.pb", dir);
    assert_int_equal(fsc_model_save(path, g, &ctx, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "model.pb: unknown model file type"));
    assert_non_null(strstr(err.msg, ".onnx"));
    assert_int_equal(fsc_model_load(path, &ctx, &g2, &err), FSC_ERR_UNSUPPORTED);
    assert_null(g2);
    snprintf(path, sizeof path, "%s/model.ONNX", dir);
    unlink(path);
    rmdir(dir);
    fsc_graph_free(g);
}

/* ---- bad input ------------------------------------------------------------ */

/* Loads fixture name, expecting failure with code and every needle in the message. */
static void expect_fail(const char *name, fsc_status code, const char *const *needles)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s.onnx", name);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = (fsc_graph *)&ctx; /* must be reset to NULL */
    fsc_error err;
    fsc_error_clear(&err);
    fsc_status st = fsc_onnx_load(path, &ctx, &g, &err);
    if (st != code) fprintf(stderr, "%s: got %s: %s\n", name, fsc_status_name(st), err.msg);
    assert_int_equal(st, code);
    assert_null(g);
    assert_non_null(strstr(err.msg, path));
    for (; *needles; needles++) {
        if (!strstr(err.msg, *needles)) fprintf(stderr, "missing '%s' in: %s\n", *needles, err.msg);
        assert_non_null(strstr(err.msg, *needles));
    }
}

static void test_hostile_files(void **state)
{
    (void)state;
    expect_fail("bad_cycle", FSC_ERR_INVALID, (const char *[]){"node 0 (Add 'first')", "cycle", NULL});
    expect_fail("bad_cycle_downstream", FSC_ERR_INVALID, (const char *[]){"cycle", NULL});
    {
        fsc_ctx ctx = fsc_ctx_default();
        fsc_graph *g = NULL;
        fsc_error err;
        assert_int_not_equal(fsc_onnx_load(FIX "bad_cycle_downstream.onnx", &ctx, &g, &err), FSC_OK);
        assert_true(strstr(err.msg, "node 1 (Add 'first')") || strstr(err.msg, "node 2 (Relu 'loop')"));
    }
    expect_fail("bad_dangling", FSC_ERR_INVALID,
                (const char *[]){"node 0 (Add 'adder')", "input 'nowhere' is not produced", NULL});
    expect_fail("bad_conv_channels", FSC_ERR_INVALID,
                (const char *[]){"node 0 (Conv '/stem/0')", "3 channels", "expects 2", NULL});
    expect_fail("bad_absurd_dims", FSC_ERR_LIMIT,
                (const char *[]){"node 0 (Add 'adder')", "initializer 'w'", "2^40", NULL});
    expect_fail("bad_absurd_input", FSC_ERR_LIMIT, (const char *[]){"graph input 'x'", "2^40", NULL});
    expect_fail("bad_unknown_op", FSC_ERR_UNSUPPORTED,
                (const char *[]){"node 0 (FancyOp 'mystery')", "operator FancyOp (opset 13) is not supported", NULL});
    expect_fail("bad_external_data", FSC_ERR_UNSUPPORTED,
                (const char *[]){"initializer 'w'", "external file", "save_as_external_data=False", NULL});
    expect_fail("bad_dim_param", FSC_ERR_UNSUPPORTED,
                (const char *[]){"graph input 'x'", "symbolic dimension 0 ('batch')", "fixed input shapes", NULL});
    expect_fail("bad_reshape_dynamic", FSC_ERR_UNSUPPORTED,
                (const char *[]){"node 0 (Reshape 'reshaper')", "shape ('s') must be a constant", NULL});
    expect_fail("bad_short_data", FSC_ERR_FORMAT, (const char *[]){"initializer 'w'", "holds 2 elements", NULL});
    expect_fail("does_not_exist", FSC_ERR_IO, (const char *[]){"cannot open", NULL});
}

static void *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, FIX "%s.onnx", name);
    void *buf;
    assert_int_equal(fsc_read_file(path, 0, &buf, len, NULL), FSC_OK);
    return buf;
}

/* Flips one random bit at a time in fixture name: never a crash or a leak; whatever
 * still parses is a graph with outputs, whatever does not has a message. */
static void flip_bits(const char *name, int trials, uint64_t seed)
{
    fsc_ctx ctx = fsc_ctx_default();
    size_t len;
    uint8_t *buf = read_fixture(name, &len);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull;
    for (int trial = 0; trial < trials; trial++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t pos = (size_t)(s >> 33) % len;
        uint8_t old = buf[pos];
        buf[pos] ^= (uint8_t)(1u << ((s >> 20) & 7));
        fsc_graph *g = NULL;
        fsc_error err;
        if (fsc_onnx_parse(buf, len, &ctx, &g, &err) == FSC_OK) {
            assert_true(g->n_outputs >= 1);
            fsc_graph_free(g);
        } else {
            assert_null(g);
            assert_true(err.msg[0] != '\0');
        }
        buf[pos] = old;
    }
    free(buf);
}

static void test_truncated_and_garbage(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    size_t len;
    uint8_t *buf = read_fixture("cnn_ops", &len);
    /* Every strict prefix is refused (length-delimited fields are cut, or the opsets are missing). */
    size_t step = getenv("FSC_TEST_QUICK") ? 7 : 1;
    for (size_t n = 0; n < len; n += step) {
        fsc_graph *g = NULL;
        fsc_error err;
        fsc_error_clear(&err);
        fsc_status st = fsc_onnx_parse(buf, n, &ctx, &g, &err);
        assert_int_not_equal(st, FSC_OK);
        assert_null(g);
        assert_non_null(strstr(err.msg, "<onnx buffer>"));
    }
    free(buf);
    const char *fuzzed[] = {"cnn_ops", "misc_ops", "old_opset", "qdq", "ln_gelu", "../tiny_transformer/model"};
    for (int f = 0; f < 6; f++) flip_bits(fuzzed[f], getenv("FSC_TEST_QUICK") ? 300 : 3000, (uint64_t)f + 1);
    const char *texts[] = {"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "hello, I am not a model\n", "{\"graph\": []}"};
    for (int i = 0; i < 3; i++) {
        fsc_graph *g = NULL;
        fsc_error err;
        assert_int_not_equal(fsc_onnx_parse(texts[i], strlen(texts[i]) + (i == 0 ? 8 : 0), &ctx, &g, &err), FSC_OK);
        assert_null(g);
        assert_non_null(strstr(err.msg, "<onnx buffer>"));
    }
    fsc_graph *g = NULL;
    fsc_error err;
    assert_int_equal(fsc_onnx_parse("", 0, &ctx, &g, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "empty file"));
}

static void test_limits(void **state)
{
    (void)state;
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g = NULL;
    fsc_error err;
    ctx.limits.max_nodes = 5;
    assert_int_equal(fsc_onnx_load(FIX "cnn_ops.onnx", &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "13 nodes, over the max_nodes limit of 5"));
    ctx = fsc_ctx_default();
    ctx.limits.max_string = 6;
    assert_int_equal(fsc_onnx_load(FIX "cnn_ops.onnx", &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "max_string"));
    ctx = fsc_ctx_default();
    ctx.limits.max_tensor_bytes = 512; /* x is 1*3*8*8 floats = 768 bytes */
    assert_int_equal(fsc_onnx_load(FIX "cnn_ops.onnx", &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "graph input 'x' needs 768 bytes, over the max_tensor_bytes limit of 512"));
    /* An initializer over the limit: x [1] + w [64] floats (256 bytes), limit 128. */
    fsc_graph *small = fsc_graph_new("small", &err);
    fsc_shape s1 = fsc_shape_make(1, (int64_t[]){1}), s64 = fsc_shape_make(1, (int64_t[]){64});
    int x = fsc_graph_add_input(small, "x", FSC_DT_F32, &s1, &err);
    fsc_tensor w;
    assert_int_equal(fsc_tensor_alloc(&w, FSC_DT_F32, &s64, 0, &err), FSC_OK);
    int wi = fsc_graph_add_initializer(small, "w", FSC_DT_F32, &w, &err);
    fsc_node_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.op = FSC_OP_ADD;
    sp.name = "add";
    sp.op_type = "Add";
    sp.n_in = 2;
    sp.in = (int[]){x, wi};
    sp.n_out = 1;
    sp.out_names = (const char *const[]){"y"};
    int n = fsc_graph_add_node(small, &sp, &err);
    assert_true(n >= 0);
    assert_int_equal(fsc_graph_add_output(small, small->nodes[n].out[0], &err), FSC_OK);
    void *buf;
    size_t len;
    ctx = fsc_ctx_default();
    assert_int_equal(fsc_onnx_serialize(small, &ctx, &buf, &len, &err), FSC_OK);
    ctx.limits.max_tensor_bytes = 128;
    assert_int_equal(fsc_onnx_parse(buf, len, &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_null(g);
    assert_non_null(strstr(err.msg, "<onnx buffer>: node 0 (Add 'add'): initializer 'w'"));
    assert_non_null(strstr(err.msg, "max_tensor_bytes"));
    free(buf);
    fsc_graph_free(small);
    ctx = fsc_ctx_default();
    ctx = fsc_ctx_default();
    ctx.limits.max_file_bytes = 100;
    assert_int_equal(fsc_onnx_load(FIX "cnn_ops.onnx", &ctx, &g, &err), FSC_ERR_LIMIT);
    assert_null(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_shapes_match_onnx_shape_inference),
        cmocka_unit_test(test_cnn_attributes),
        cmocka_unit_test(test_misc_attributes),
        cmocka_unit_test(test_old_opset_semantics),
        cmocka_unit_test(test_qdq),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_fp16_graph_written_as_float16),
        cmocka_unit_test(test_model_io_dispatch),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
