/* test_mlpackage.c: Core ML .mlpackage / .mlmodel writing and reading: round
 * trips of FP16 and W8A8-style graphs (identical graphs, bit-identical
 * constants and outputs), the written protobuf against protoc --decode and
 * our .proto, weight.bin layout checked by an independent walk, and hostile
 * packages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/mlpackage.h"
#include "flipscope/model_io.h"
#include "formats/coreml_nets.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_mlp_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void save(const fsc_graph *g, const char *path)
{
    fsc_error err;
    fsc_status st = fsc_mlpackage_save(path, g, NULL, &err);
    if (st) fprintf(stderr, "save: %s\n", err.msg);
    assert_int_equal(st, FSC_OK);
}

static fsc_graph *load(const char *path)
{
    fsc_error err;
    fsc_graph *g = NULL;
    fsc_status st = fsc_model_load(path, NULL, &g, &err);
    if (st) fprintf(stderr, "load: %s\n", err.msg);
    assert_int_equal(st, FSC_OK);
    return g;
}

/* Loading path fails with code and a message containing each of the given fragments. */
static void load_fails(const char *path, fsc_status code, const char *frag1, const char *frag2)
{
    fsc_error err;
    fsc_graph *g = NULL;
    fsc_status st = fsc_mlpackage_load(path, NULL, &g, &err);
    if (st != code || (frag1 && !strstr(err.msg, frag1)) || (frag2 && !strstr(err.msg, frag2)))
        fprintf(stderr, "unexpected: status %d, message: %s\n", st, err.msg);
    assert_int_equal(st, code);
    assert_null(g);
    if (frag1) assert_non_null(strstr(err.msg, frag1));
    if (frag2) assert_non_null(strstr(err.msg, frag2));
}

/* Runs g on configuration cfg with a deterministic input; returns output 0 (F64 container). */
static fsc_tensor run(const fsc_graph *g, const char *cfg)
{
    fsc_error err;
    fsc_engine *e = NULL;
    fsc_status st = fsc_engine_open(cfg, g, NULL, &e, &err);
    if (st) fprintf(stderr, "engine: %s\n", err.msg);
    assert_int_equal(st, FSC_OK);
    const fsc_value *xv = &g->values[g->inputs[0]];
    fsc_tensor x, y;
    assert_int_equal(fsc_tensor_alloc(&x, FSC_DT_F32, &xv->shape, 0, NULL), FSC_OK);
    uint64_t s = 99;
    for (int64_t i = 0; i < fsc_tensor_numel(&x); i++) fsc_tensor_set(&x, i, fsc_rne(net_rand(&s), FSC_FMT_FP16));
    st = fsc_engine_run(e, &x, &y, NULL, &err);
    if (st) fprintf(stderr, "run: %s\n", err.msg);
    assert_int_equal(st, FSC_OK);
    fsc_tensor_free(&x);
    fsc_engine_close(e);
    return y;
}

static void assert_same_outputs(const fsc_graph *a, const fsc_graph *b, const char *cfg)
{
    fsc_tensor ya = run(a, cfg), yb = run(b, cfg);
    assert_int_equal(ya.nbytes, yb.nbytes);
    assert_memory_equal(ya.data, yb.data, ya.nbytes);
    /* Not a constant output: the check could fail. */
    assert_true(fsc_tensor_get(&ya, 0) != fsc_tensor_get(&ya, 1));
    fsc_tensor_free(&ya);
    fsc_tensor_free(&yb);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    void *d = NULL;
    assert_int_equal(fsc_read_file(path, 0, &d, len, NULL), FSC_OK);
    return d;
}

static uint32_t u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t u64(const uint8_t *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

/* Walks weight.bin per the format facts; returns the number of blobs and checks layout.
 * first_data/first_size: the first blob's data. */
static uint32_t walk_blobs(const uint8_t *b, size_t len, const uint8_t **first_data, uint64_t *first_size)
{
    assert_true(len >= 64);
    uint32_t count = u32(b);
    assert_int_equal(u32(b + 4), 2);
    uint64_t off = 64;
    for (uint32_t i = 0; i < count; i++) {
        assert_int_equal(off % 64, 0);
        assert_true(off + 64 <= len);
        assert_int_equal(u32(b + off), 0xDEADBEEFu);
        uint64_t size = u64(b + off + 8), data = u64(b + off + 16);
        assert_int_equal(data % 64, 0);
        assert_true(data >= off + 64 && data + size <= len);
        if (i == 0) {
            *first_data = b + data;
            *first_size = size;
        }
        off = (data + size + 63) / 64 * 64;
    }
    assert_true(off >= len);
    return count;
}

/* Counts lines of protoc's text output that equal line (after leading spaces). */
static int count_lines(const char *text, const char *line)
{
    int n = 0;
    size_t l = strlen(line);
    for (const char *p = text; *p;) {
        while (*p == ' ') p++;
        if (!strncmp(p, line, l) && (p[l] == '\n' || !p[l])) n++;
        p = strchr(p, '\n');
        if (!p) break;
        p++;
    }
    return n;
}

/* protoc --decode of model.mlmodel against proto/coreml_subset.proto; NULL when protoc is absent. */
static char *protoc_decode(const char *model)
{
    if (system("command -v protoc >/dev/null 2>&1")) {
        print_message("SKIP protoc --decode check: protoc not installed (Debian package protobuf-compiler)\n");
        return NULL;
    }
    char cmd[1024];
    const char *out = tpath("decoded.txt");
    snprintf(cmd, sizeof cmd,
             "protoc --decode CoreML.Specification.Model -I %s/proto %s/proto/coreml_subset.proto < '%s' > '%s'",
             FSC_SOURCE_DIR, FSC_SOURCE_DIR, model, out);
    assert_int_equal(system(cmd), 0);
    size_t len;
    uint8_t *d = slurp(out, &len);
    char *s = realloc(d, len + 1);
    assert_non_null(s);
    s[len] = '\0';
    return s;
}

/* ---- round trips --------------------------------------------------------- */

static void test_fp16_roundtrip(void **state)
{
    (void)state;
    fsc_graph *g = net_build(false, false);
    assert_non_null(g);
    const char *p1 = tpath("fp16.mlpackage"), *p2 = tpath("fp16b.mlpackage");
    save(g, p1);
    fsc_graph *g1 = load(p1);
    char why[256] = "";
    int extra = net_graph_match(g, g1, false, why, sizeof why);
    if (extra < 0) fprintf(stderr, "mismatch: %s\n", why);
    /* 5 conv parameter consts per conv, axes + keep_dims, the reshape shape. */
    assert_int_equal(extra, 2 * 5 + 2 + 1);
    assert_int_equal(g1->n_nodes, 28);
    assert_int_equal(net_count(g1, "const"), 20);
    assert_int_equal(net_count(g1, "conv"), 2);
    assert_int_equal(net_count(g1, "linear"), 1);
    /* fp16 I/O */
    assert_int_equal(g1->values[g1->inputs[0]].dtype, FSC_DT_F16);
    assert_int_equal(g1->values[g1->outputs[0]].dtype, FSC_DT_F16);
    /* Second trip: exactly the same graph. */
    save(g1, p2);
    fsc_graph *g2 = load(p2);
    assert_int_equal(net_graph_match(g1, g2, true, why, sizeof why), 0);
    assert_same_outputs(g, g1, "emu:fp16");
    assert_same_outputs(g, g2, "emu:fp32");

    /* weight.bin: 3 blobs (conv0 108, conv1 144, head 12 fp16 values); the first holds conv0's weight. */
    size_t len;
    uint8_t *wb = slurp(tpath("fp16.mlpackage/Data/com.apple.CoreML/weights/weight.bin"), &len);
    const uint8_t *data;
    uint64_t size;
    assert_int_equal(walk_blobs(wb, len, &data, &size), 3);
    assert_int_equal(size, 108 * 2);
    const fsc_tensor *w0 = g->values[fsc_graph_find(g, "conv0_weight")].constant;
    for (int i = 0; i < 108; i++) {
        _Float16 h = (_Float16)fsc_tensor_get(w0, i); /* exact: values are fp16 already */
        assert_memory_equal(&h, data + 2 * i, 2);
    }
    assert_int_equal(u32(wb + 64 + 4), 1); /* Float16 */
    free(wb);

    char *txt = protoc_decode(tpath("fp16.mlpackage/Data/com.apple.CoreML/model.mlmodel"));
    if (txt) {
        assert_int_equal(count_lines(txt, "specificationVersion: 8"), 1);
        assert_int_equal(count_lines(txt, "opset: \"CoreML7\""), 1);
        assert_int_equal(count_lines(txt, "type: \"const\""), 20);
        assert_int_equal(count_lines(txt, "type: \"conv\""), 2);
        char *prog = strstr(txt, "mlProgram {");
        assert_non_null(prog);
        *prog = '\0'; /* the model description: fp16 input and output */
        assert_int_equal(count_lines(txt, "dataType: FLOAT16"), 2);
        *prog = 'm';
        assert_int_equal(count_lines(txt, "fileName: \"@model_path/weights/weight.bin\""), 3);
        assert_int_equal(count_lines(txt, "values: \"custom\""), 2);
        /* every op named */
        assert_int_equal(count_lines(txt, "key: \"name\""), 28);
        free(txt);
    }
    fsc_graph_free(g);
    fsc_graph_free(g1);
    fsc_graph_free(g2);
}

static void test_w8a8_roundtrip(void **state)
{
    (void)state;
    fsc_graph *g = net_build(true, true);
    assert_non_null(g);
    const char *p1 = tpath("w8a8.mlpackage"), *p2 = tpath("w8a8b.mlpackage");
    save(g, p1);
    fsc_graph *g1 = load(p1);
    char why[256] = "";
    int extra = net_graph_match(g, g1, false, why, sizeof why);
    if (extra < 0) fprintf(stderr, "mismatch: %s\n", why);
    /* conv params (10), axes, keep_dims, shape, 5 output_dtype strings */
    assert_int_equal(extra, 18);
    /* The inventory, counted by hand: 2 conv biases + head bias + 300 + 10 scales + 18 = 32 consts. */
    assert_int_equal(net_count(g1, "const"), 32);
    assert_int_equal(net_count(g1, "quantize"), 5);
    assert_int_equal(net_count(g1, "dequantize"), 5);
    assert_int_equal(net_count(g1, "constexpr_affine_dequantize"), 3);
    assert_int_equal(g1->n_nodes, 32 + 5 + 5 + 3 + 2 + 2 + 1 + 1 + 1 + 1);
    /* The output_dtype strings are string consts holding "int8". */
    int od = fsc_graph_find(g1, "x_qv_output_dtype_0");
    assert_true(od >= 0);
    assert_int_equal(g1->values[od].dtype, FSC_DT_STRING);
    assert_int_equal(g1->values[od].constant->nbytes, 4);
    assert_memory_equal(g1->values[od].constant->data, "int8", 4);
    save(g1, p2);
    fsc_graph *g2 = load(p2);
    assert_int_equal(net_graph_match(g1, g2, true, why, sizeof why), 0);
    assert_same_outputs(g, g1, "emu:fp16");

    size_t len;
    uint8_t *wb = slurp(tpath("w8a8.mlpackage/Data/com.apple.CoreML/weights/weight.bin"), &len);
    const uint8_t *data;
    uint64_t size;
    /* int8 data of conv0 (108), conv1 (144), head (12); scales and zero points are small immediates */
    assert_int_equal(walk_blobs(wb, len, &data, &size), 3);
    assert_int_equal(size, 108);
    assert_int_equal(u32(wb + 64 + 4), 4); /* Int8 */
    const fsc_tensor *q0 = g->values[fsc_graph_find(g, "conv0_weight.quantized_data")].constant;
    assert_memory_equal(q0->data, data, 108);
    free(wb);

    char *txt = protoc_decode(tpath("w8a8.mlpackage/Data/com.apple.CoreML/model.mlmodel"));
    if (txt) {
        assert_int_equal(count_lines(txt, "type: \"const\""), 32);
        assert_int_equal(count_lines(txt, "type: \"quantize\""), 5);
        assert_int_equal(count_lines(txt, "type: \"dequantize\""), 5);
        assert_int_equal(count_lines(txt, "type: \"constexpr_affine_dequantize\""), 3);
        assert_int_equal(count_lines(txt, "key: \"quantized_data\""), 3);
        assert_int_equal(count_lines(txt, "key: \"zero_point\""), 3);
        assert_int_equal(count_lines(txt, "key: \"axis\""), 3);
        assert_int_equal(count_lines(txt, "key: \"output_dtype\""), 5);
        assert_int_equal(count_lines(txt, "values: \"int8\""), 5);
        free(txt);
    }
    fsc_graph_free(g);
    fsc_graph_free(g1);
    fsc_graph_free(g2);
}

/* An ONNX model with an ONNX Runtime / NumPy reference output survives ONNX -> .mlpackage
 * with bit-identical outputs. */
static void test_onnx_qdq_through_mlpackage(void **state)
{
    (void)state;
    fsc_graph *g = load(FSC_FIXTURES "/onnx/qdq.onnx");
    save(g, tpath("qdq.mlpackage"));
    fsc_graph *g1 = load(tpath("qdq.mlpackage"));
    assert_int_equal(net_count(g1, "constexpr_affine_dequantize"), 1);
    assert_int_equal(net_count(g1, "quantize"), 2);
    assert_int_equal(net_count(g1, "dequantize"), 2);
    fsc_error err;
    fsc_engine *e1, *e2;
    assert_int_equal(fsc_engine_open("emu:fp64", g, NULL, &e1, &err), FSC_OK);
    assert_int_equal(fsc_engine_open("emu:fp64", g1, NULL, &e2, &err), FSC_OK);
    fsc_tensor x, ref, y1, y2;
    assert_int_equal(fsc_npy_read(FSC_FIXTURES "/onnx/qdq.in0.npy", NULL, &x, NULL, &err), FSC_OK);
    assert_int_equal(fsc_npy_read(FSC_FIXTURES "/onnx/qdq.out0.npy", NULL, &ref, NULL, &err), FSC_OK);
    assert_int_equal(fsc_engine_run(e1, &x, &y1, NULL, &err), FSC_OK);
    assert_int_equal(fsc_engine_run(e2, &x, &y2, NULL, &err), FSC_OK);
    assert_int_equal(y1.nbytes, y2.nbytes);
    assert_memory_equal(y1.data, y2.data, y1.nbytes);
    double maxd = 0;
    for (int64_t i = 0; i < fsc_tensor_numel(&ref); i++) {
        double d = fabs(fsc_tensor_get(&y2, i) - fsc_tensor_get(&ref, i));
        if (d > maxd) maxd = d;
    }
    assert_true(maxd <= 1e-6); /* quantized outputs: the reference holds exact multiples of 0.02 */
    fsc_tensor_free(&x);
    fsc_tensor_free(&ref);
    fsc_tensor_free(&y1);
    fsc_tensor_free(&y2);
    fsc_engine_close(e1);
    fsc_engine_close(e2);
    fsc_graph_free(g);
    fsc_graph_free(g1);
}

/* More ONNX fixtures (layer_norm, gelu, clip, pad, slice, gather, pow, erf, ... with NumPy references):
 * through .mlpackage they compute bit-identically to the ONNX graph. */
static void test_onnx_fixtures_through_mlpackage(void **state)
{
    (void)state;
    static const char *const names[] = {"ln_gelu", "old_opset"};
    for (int k = 0; k < 2; k++) {
        char src[512], in0[512], out0[512], pkg[64];
        snprintf(src, sizeof src, FSC_FIXTURES "/onnx/%s.onnx", names[k]);
        snprintf(in0, sizeof in0, FSC_FIXTURES "/onnx/%s.in0.npy", names[k]);
        snprintf(out0, sizeof out0, FSC_FIXTURES "/onnx/%s.out0.npy", names[k]);
        snprintf(pkg, sizeof pkg, "%s.mlpackage", names[k]);
        fsc_graph *g = load(src);
        save(g, tpath(pkg));
        fsc_graph *g1 = load(tpath(pkg));
        fsc_error err;
        fsc_tensor x, ref;
        assert_int_equal(fsc_npy_read(in0, NULL, &x, NULL, &err), FSC_OK);
        assert_int_equal(fsc_npy_read(out0, NULL, &ref, NULL, &err), FSC_OK);
        const char *cfgs[2] = {"emu:fp64", "emu:fp32"};
        for (int c = 0; c < 2; c++) {
            fsc_engine *e1, *e2;
            fsc_tensor y1, y2;
            assert_int_equal(fsc_engine_open(cfgs[c], g, NULL, &e1, &err), FSC_OK);
            assert_int_equal(fsc_engine_open(cfgs[c], g1, NULL, &e2, &err), FSC_OK);
            assert_int_equal(fsc_engine_run(e1, &x, &y1, NULL, &err), FSC_OK);
            assert_int_equal(fsc_engine_run(e2, &x, &y2, NULL, &err), FSC_OK);
            assert_int_equal(y1.nbytes, y2.nbytes);
            assert_memory_equal(y1.data, y2.data, y1.nbytes);
            if (c == 0) { /* fp64 against the NumPy float64 reference */
                assert_int_equal(fsc_tensor_numel(&y2), fsc_tensor_numel(&ref));
                for (int64_t i = 0; i < fsc_tensor_numel(&ref); i++)
                    assert_true(fabs(fsc_tensor_get(&y2, i) - fsc_tensor_get(&ref, i)) <= 1e-6 * (1 + fabs(fsc_tensor_get(&ref, i))));
            }
            fsc_tensor_free(&y1);
            fsc_tensor_free(&y2);
            fsc_engine_close(e1);
            fsc_engine_close(e2);
        }
        fsc_tensor_free(&x);
        fsc_tensor_free(&ref);
        fsc_graph_free(g);
        fsc_graph_free(g1);
    }
}

/* An fp32 constant node of random values (or all = value when amp is 0). */
static int zconst(fsc_graph *g, const char *name, int rank, const int64_t *dims, double amp, double value, uint64_t *seed)
{
    fsc_tensor t = net_tensor(FSC_DT_F32, rank, dims);
    for (int64_t i = 0; i < fsc_tensor_numel(&t); i++)
        fsc_tensor_set(&t, i, (double)(float)(amp ? amp * net_rand(seed) + value : value));
    return fsc_graph_add_const_node(g, name, "const", name, FSC_DT_F32, &t, NULL);
}

/* Every other op the writer knows, with non-default parameters (asymmetric pads, negative slice steps). */
static fsc_graph *zoo_graph(void)
{
    uint64_t sd = 3;
    fsc_graph *g = fsc_graph_new("zoo", NULL);
    int64_t xd[4] = {1, 4, 6, 6}, c4[1] = {4}, c32[1] = {32}, wd[2] = {32, 5};
    fsc_shape xs = fsc_shape_make(4, xd);
    int v = fsc_graph_add_input(g, "x", FSC_DT_F32, &xs, NULL);
    fsc_attrs a;
    int bn[5] = {v, zconst(g, "bn_scale", 1, c4, 0.5, 1, &sd), zconst(g, "bn_bias", 1, c4, 0.5, 0, &sd),
                 zconst(g, "bn_mean", 1, c4, 0.5, 0, &sd), zconst(g, "bn_var", 1, c4, 0.25, 1, &sd)};
    memset(&a, 0, sizeof a);
    a.norm.epsilon = (double)1e-3f;
    v = net_node(g, FSC_OP_BATCHNORM, "batch_norm", "bn", "bn_out", bn, 5, &a, 0, NULL);
    memset(&a, 0, sizeof a);
    a.pad.pads[2] = 1; /* begin of H */
    a.pad.pads[7] = 2; /* end of W */
    a.pad.value = 0.5;
    v = net_node(g, FSC_OP_PAD, "pad", "pad", "pad_out", &v, 1, &a, 0, NULL); /* [1,4,7,8] */
    memset(&a, 0, sizeof a);
    a.pool = (fsc_attr_pool){{2, 2}, {2, 2}, {0, 0, 1, 1}, {1, 1}, true, false};
    v = net_node(g, FSC_OP_MAXPOOL, "max_pool", "mp", "mp_out", &v, 1, &a, 0, NULL); /* [1,4,4,4] */
    a.pool = (fsc_attr_pool){{3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}, false, false};
    v = net_node(g, FSC_OP_AVGPOOL, "avg_pool", "ap", "ap_out", &v, 1, &a, 0, NULL);
    memset(&a, 0, sizeof a);
    int64_t sst[4] = {0, 3, 0, 3}, sstep[4] = {1, -1, 2, -2}, sod[4] = {1, 4, 2, 2};
    for (int i = 0; i < 4; i++) {
        a.slice.start[i] = sst[i];
        a.slice.step[i] = sstep[i];
    }
    fsc_shape sos = fsc_shape_make(4, sod);
    v = net_node(g, FSC_OP_SLICE, "slice_by_index", "sl", "sl_out", &v, 1, &a, 0, &sos);
    memset(&a, 0, sizeof a);
    int perm[4] = {0, 2, 3, 1};
    memcpy(a.transpose.perm, perm, sizeof perm);
    v = net_node(g, FSC_OP_TRANSPOSE, "transpose", "tr", "tr_out", &v, 1, &a, 0, NULL); /* [1,2,2,4] */
    int64_t rd[2] = {1, 16};
    fsc_shape rs = fsc_shape_make(2, rd);
    v = net_node(g, FSC_OP_RESHAPE, "reshape", "rs", "rs_out", &v, 1, NULL, 0, &rs);
    memset(&a, 0, sizeof a);
    a.axis.axis = 1;
    int cin[2] = {v, v};
    v = net_node(g, FSC_OP_CONCAT, "concat", "cat", "cat_out", cin, 2, &a, 0, NULL); /* [1,32] */
    memset(&a, 0, sizeof a);
    a.norm.axis = 1;
    a.norm.epsilon = (double)1e-5f;
    int ln[3] = {v, zconst(g, "ln_scale", 1, c32, 0.5, 1, &sd), zconst(g, "ln_bias", 1, c32, 0.5, 0, &sd)};
    v = net_node(g, FSC_OP_LAYERNORM, "layer_norm", "ln", "ln_out", ln, 3, &a, 0, NULL);
    memset(&a, 0, sizeof a);
    a.axis.axis = -1;
    v = net_node(g, FSC_OP_SOFTMAX, "softmax", "sm", "sm_out", &v, 1, &a, 0, NULL);
    v = net_node(g, FSC_OP_SQRT, "sqrt", "sq", "sq_out", &v, 1, NULL, 0, NULL);
    int pin[2] = {v, zconst(g, "two", 0, NULL, 0, 2.0, NULL)};
    v = net_node(g, FSC_OP_POW, "pow", "pw", "pw_out", pin, 2, NULL, 0, NULL);
    memset(&a, 0, sizeof a);
    a.gelu.tanh_approx = true;
    v = net_node(g, FSC_OP_GELU, "gelu", "ge", "ge_out", &v, 1, &a, 0, NULL);
    v = net_node(g, FSC_OP_ERF, "erf", "er", "er_out", &v, 1, NULL, 0, NULL);
    v = net_node(g, FSC_OP_TANH, "tanh", "th", "th_out", &v, 1, NULL, 0, NULL);
    v = net_node(g, FSC_OP_SIGMOID, "sigmoid", "sg", "sg_out", &v, 1, NULL, 0, NULL);
    v = net_node(g, FSC_OP_IDENTITY, "identity", "id", "id_out", &v, 1, NULL, 0, NULL);
    int sin[2] = {v, zconst(g, "half", 0, NULL, 0, 0.5, NULL)};
    v = net_node(g, FSC_OP_SUB, "sub", "sb", "sb_out", sin, 2, NULL, 0, NULL);
    int din[2] = {v, zconst(g, "three", 0, NULL, 0, 3.0, NULL)};
    v = net_node(g, FSC_OP_DIV, "real_div", "dv", "dv_out", din, 2, NULL, 0, NULL);
    v = net_node(g, FSC_OP_RELU, "relu", "rl", "rl_out", &v, 1, NULL, 0, NULL);
    int min[2] = {v, zconst(g, "mm_w", 2, wd, 1.0, 0, &sd)};
    v = net_node(g, FSC_OP_MATMUL, "matmul", "mm", "mm_out", min, 2, NULL, 0, NULL); /* [1,5] */
    fsc_tensor idx = net_tensor(FSC_DT_I32, 1, (int64_t[]){2});
    fsc_tensor_set(&idx, 0, 4);
    fsc_tensor_set(&idx, 1, 1);
    int gin[2] = {v, fsc_graph_add_const_node(g, "idx", "const", "idx", FSC_DT_I32, &idx, NULL)};
    memset(&a, 0, sizeof a);
    a.axis.axis = 1;
    v = net_node(g, FSC_OP_GATHER, "gather", "ga", "ga_out", gin, 2, &a, 0, NULL); /* [1,2] */
    memset(&a, 0, sizeof a);
    a.clip.lo = -0.25;
    a.clip.hi = 0.25;
    v = net_node(g, FSC_OP_CLIP, "clip", "cl", "cl_out", &v, 1, &a, 0, NULL);
    memset(&a, 0, sizeof a);
    a.cast.to = FSC_DT_F16;
    v = net_node(g, FSC_OP_CAST, "cast", "c16", "c16_out", &v, 1, &a, FSC_DT_F16, NULL);
    int ain[2] = {v, v};
    v = net_node(g, FSC_OP_ADD, "add", "ad", "y", ain, 2, NULL, 0, NULL);
    fsc_graph_add_output(g, v, NULL);
    return g;
}

static void test_op_zoo_roundtrip(void **state)
{
    (void)state;
    fsc_graph *g = zoo_graph();
    assert_non_null(g);
    assert_int_equal(g->values[g->outputs[0]].shape.dim[1], 2);
    save(g, tpath("zoo.mlpackage"));
    fsc_graph *g1 = load(tpath("zoo.mlpackage"));
    char why[256] = "";
    int extra = net_graph_match(g, g1, false, why, sizeof why);
    if (extra < 0) fprintf(stderr, "zoo mismatch: %s\n", why);
    assert_true(extra > 0);
    save(g1, tpath("zoo2.mlpackage"));
    fsc_graph *g2 = load(tpath("zoo2.mlpackage"));
    assert_int_equal(net_graph_match(g1, g2, true, why, sizeof why), 0);
    assert_same_outputs(g, g1, "emu:fp64");
    assert_same_outputs(g, g1, "emu:fp32");
    /* The slice read back: starts and steps as built. */
    const fsc_node *sl = &g1->nodes[g1->values[fsc_graph_find(g1, "sl_out")].producer];
    assert_int_equal(sl->attr.slice.start[1], 3);
    assert_int_equal(sl->attr.slice.step[1], -1);
    assert_int_equal(sl->attr.slice.start[3], 3);
    assert_int_equal(sl->attr.slice.step[3], -2);
    fsc_graph_free(g);
    fsc_graph_free(g1);
    fsc_graph_free(g2);
}

/* Builds a graph whose constants are all small: x -> relu -> sigmoid * k. */
static fsc_graph *small_graph(void)
{
    fsc_graph *g = fsc_graph_new("small", NULL);
    int64_t d[2] = {1, 4};
    fsc_shape s = fsc_shape_make(2, d);
    int x = fsc_graph_add_input(g, "inp0", FSC_DT_F16, &s, NULL);
    int m = net_node(g, FSC_OP_RELU, "relu", "R", "mid1", &x, 1, NULL, 0, NULL);
    int o = net_node(g, FSC_OP_SIGMOID, "sigmoid", "S", "out2", &m, 1, NULL, 0, NULL);
    int k = net_const(g, "k", 0, NULL, 0, 0.5, NULL);
    int in[2] = {o, k};
    int y = net_node(g, FSC_OP_MUL, "mul", "M", "yout", in, 2, NULL, 0, NULL);
    fsc_graph_add_output(g, y, NULL);
    return g;
}

static void test_bare_mlmodel(void **state)
{
    (void)state;
    fsc_graph *g = small_graph();
    void *m, *w;
    size_t ml, wl;
    assert_int_equal(fsc_mlmodel_serialize(g, &m, &ml, &w, &wl, NULL), FSC_OK);
    assert_null(w); /* nothing needed blob storage */
    assert_int_equal(fsc_write_file_atomic(tpath("small.mlmodel"), m, ml, NULL), FSC_OK);
    fsc_graph *g1 = load(tpath("small.mlmodel"));
    char why[256];
    assert_int_equal(net_graph_match(g, g1, true, why, sizeof why), 0);
    free(m);
    fsc_graph_free(g1);
    fsc_graph_free(g);

    /* A bare .mlmodel whose program refers to weight.bin cannot be read alone. */
    fsc_graph *big = net_build(false, false);
    assert_int_equal(fsc_mlmodel_serialize(big, &m, &ml, &w, &wl, NULL), FSC_OK);
    assert_non_null(w);
    assert_int_equal(fsc_write_file_atomic(tpath("big.mlmodel"), m, ml, NULL), FSC_OK);
    load_fails(tpath("big.mlmodel"), FSC_ERR_FORMAT, "big.mlmodel", "conv0_weight");
    /* With the weights given in memory it parses. */
    fsc_graph *g2 = NULL;
    assert_int_equal(fsc_mlmodel_parse(m, ml, w, wl, NULL, &g2, NULL), FSC_OK);
    assert_int_equal(g2->n_nodes, 28);
    fsc_graph_free(g2);
    free(m);
    free(w);
    fsc_graph_free(big);
}

static void test_save_replaces_atomically(void **state)
{
    (void)state;
    fsc_graph *g = small_graph(), *big = net_build(false, false);
    const char *p = tpath("replace.mlpackage");
    save(g, p);
    save(big, p); /* replaces the existing package */
    fsc_graph *g1 = load(p);
    assert_int_equal(g1->n_nodes, 28);
    fsc_graph_free(g1);

    /* A graph the writer cannot express: the save fails, the old package stays intact. */
    fsc_graph *bad = fsc_graph_new("bad", NULL);
    int64_t d[2] = {2, 3};
    fsc_shape s = fsc_shape_make(2, d);
    int x = fsc_graph_add_input(bad, "x", FSC_DT_F32, &s, NULL);
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    a.cast.to = FSC_DT_F64; /* Core ML programs have no float64 */
    int y = net_node(bad, FSC_OP_CAST, "Cast", "caster", "y", &x, 1, &a, FSC_DT_F64, NULL);
    fsc_graph_add_output(bad, y, NULL);
    fsc_error err;
    assert_int_equal(fsc_mlpackage_save(p, bad, NULL, &err), FSC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "caster"));
    g1 = load(p);
    assert_int_equal(g1->n_nodes, 28);
    fsc_graph_free(g1);
    /* No temporary directories are left next to the package. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -d '%s'/replace.mlpackage.tmp* >/dev/null 2>&1", tmpdir);
    assert_int_not_equal(system(cmd), 0);
    fsc_graph_free(bad);
    fsc_graph_free(g);
    fsc_graph_free(big);
}

/* One scale constant shared by a quantize and its dequantize (as a transform may build it) is written
 * as one const op per op, as coremltools does; the graph read back is stable. */
static void test_shared_scale(void **state)
{
    (void)state;
    fsc_graph *g = fsc_graph_new("shared", NULL);
    int64_t d[2] = {1, 4};
    fsc_shape s = fsc_shape_make(2, d);
    int x = fsc_graph_add_input(g, "x", FSC_DT_F16, &s, NULL);
    int sc = net_const(g, "sc", 0, NULL, 0, 0.25, NULL);
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    a.quant.out_dtype = FSC_DT_I8;
    int in[3] = {x, sc, -1};
    int q = net_node(g, FSC_OP_QUANTIZE, "quantize", "q", "xq", in, 3, &a, FSC_DT_I8, NULL);
    a.quant.out_dtype = FSC_DT_F16;
    int in2[3] = {q, sc, -1};
    int dq = net_node(g, FSC_OP_DEQUANTIZE, "dequantize", "dq", "xdq", in2, 3, &a, FSC_DT_F16, NULL);
    int y = net_node(g, FSC_OP_RELU, "relu", "r", "y", &dq, 1, NULL, 0, NULL);
    fsc_graph_add_output(g, y, NULL);
    save(g, tpath("shared.mlpackage"));
    fsc_graph *g1 = load(tpath("shared.mlpackage"));
    /* two scale copies and the output_dtype string; the shared original is not written */
    assert_int_equal(net_count(g1, "const"), 3);
    assert_int_equal(fsc_graph_find(g1, "sc"), -1);
    int s1 = fsc_graph_find(g1, "xq_scale_0"), s2 = fsc_graph_find(g1, "xdq_scale_0");
    assert_true(s1 >= 0 && s2 >= 0);
    assert_true(fsc_tensor_get(g1->values[s1].constant, 0) == 0.25);
    assert_true(fsc_tensor_get(g1->values[s2].constant, 0) == 0.25);
    assert_int_equal(g1->nodes[g1->values[fsc_graph_find(g1, "xdq")].producer].in[1], s2);
    save(g1, tpath("shared2.mlpackage"));
    fsc_graph *g2 = load(tpath("shared2.mlpackage"));
    char why[256];
    assert_int_equal(net_graph_match(g1, g2, true, why, sizeof why), 0);
    fsc_graph_free(g);
    fsc_graph_free(g1);
    fsc_graph_free(g2);
}

/* ---- hostile packages ------------------------------------------------------ */

static void write_text(const char *path, const char *text)
{
    assert_int_equal(fsc_write_file_atomic(path, text, strlen(text), NULL), FSC_OK);
}

/* A fresh copy of a valid package at name. */
static const char *fresh(const char *name)
{
    fsc_graph *g = net_build(true, true);
    const char *p = tpath(name);
    save(g, p);
    fsc_graph_free(g);
    return p;
}

static void patch_weights(const char *pkg, size_t off, const void *bytes, size_t n, long truncate_to)
{
    char path[600];
    snprintf(path, sizeof path, "%s/Data/com.apple.CoreML/weights/weight.bin", pkg);
    size_t len;
    uint8_t *b = slurp(path, &len);
    if (bytes) memcpy(b + off, bytes, n);
    if (truncate_to >= 0) len = (size_t)truncate_to;
    assert_int_equal(fsc_write_file_atomic(path, b, len, NULL), FSC_OK);
    free(b);
}

static void test_hostile_manifest(void **state)
{
    (void)state;
    char path[600];
    const char *p = fresh("h1.mlpackage");
    snprintf(path, sizeof path, "%s/Manifest.json", p);
    unlink(path);
    load_fails(p, FSC_ERR_IO, "Manifest.json", NULL);

    write_text(path, "{ \"fileFormatVersion\": \"1.0.0\", ");
    load_fails(p, FSC_ERR_FORMAT, "Manifest.json", "not a JSON object");

    write_text(path, "{\"fileFormatVersion\":\"1.0.0\",\"rootModelIdentifier\":\"nowhere-id\",\"itemInfoEntries\":{}}");
    load_fails(p, FSC_ERR_FORMAT, "Manifest.json", "nowhere-id");

    write_text(path, "{\"fileFormatVersion\":\"2.0.0\",\"rootModelIdentifier\":\"a\",\"itemInfoEntries\":{}}");
    load_fails(p, FSC_ERR_UNSUPPORTED, "Manifest.json", "2.0.0");

    write_text(path, "{\"fileFormatVersion\":\"1.0.0\",\"rootModelIdentifier\":\"a\",\"itemInfoEntries\":{\"a\":"
                     "{\"path\":\"com.apple.CoreML/model.mlmodel\",\"name\":\"m\",\"author\":\"x\"}}}");
    load_fails(p, FSC_ERR_FORMAT, "Manifest.json", "description");

    write_text(path, "{\"fileFormatVersion\":\"1.0.0\",\"rootModelIdentifier\":\"a\",\"itemInfoEntries\":{\"a\":"
                     "{\"path\":\"../../../../etc/passwd\",\"name\":\"m\",\"author\":\"x\",\"description\":\"d\"}}}");
    load_fails(p, FSC_ERR_FORMAT, "Manifest.json", "..");

    write_text(path, "{\"fileFormatVersion\":\"1.0.0\",\"rootModelIdentifier\":\"a\",\"itemInfoEntries\":{\"a\":"
                     "{\"path\":\"/etc/passwd\",\"name\":\"m\",\"author\":\"x\",\"description\":\"d\"}}}");
    load_fails(p, FSC_ERR_FORMAT, "Manifest.json", "/etc/passwd");

    write_text(path, "{\"fileFormatVersion\":\"1.0.0\",\"rootModelIdentifier\":\"a\",\"itemInfoEntries\":{\"a\":"
                     "{\"path\":\"com.apple.CoreML/missing.mlmodel\",\"name\":\"m\",\"author\":\"x\",\"description\":\"d\"}}}");
    load_fails(p, FSC_ERR_FORMAT, "missing.mlmodel", "does not exist");
}

static void test_hostile_symlink_escape(void **state)
{
    (void)state;
    const char *p = fresh("h2.mlpackage");
    char model[600], outside[600];
    snprintf(model, sizeof model, "%s/Data/com.apple.CoreML/model.mlmodel", p);
    snprintf(outside, sizeof outside, "%s/outside.mlmodel", tmpdir);
    assert_int_equal(rename(model, outside), 0);
    assert_int_equal(symlink(outside, model), 0);
    load_fails(p, FSC_ERR_FORMAT, "outside the package", NULL);

    /* The same for the weights directory. */
    const char *q = fresh("h2b.mlpackage");
    char wdir[600], wout[600];
    snprintf(wdir, sizeof wdir, "%s/Data/com.apple.CoreML/weights", q);
    snprintf(wout, sizeof wout, "%s/weights_outside", tmpdir);
    assert_int_equal(rename(wdir, wout), 0);
    assert_int_equal(symlink(wout, wdir), 0);
    load_fails(q, FSC_ERR_FORMAT, "outside the package", "weight.bin");
}

static void test_hostile_blobs(void **state)
{
    (void)state;
    const char *p = fresh("h3.mlpackage");
    patch_weights(p, 0, NULL, 0, 100); /* the first blob's data runs past the end */
    load_fails(p, FSC_ERR_FORMAT, "weight.bin", "outside the file");
    load_fails(p, FSC_ERR_FORMAT, "conv0_weight", NULL); /* and the op is named */

    p = fresh("h4.mlpackage");
    uint32_t bad = 0xDEADBEEE;
    patch_weights(p, 64, &bad, 4, -1);
    load_fails(p, FSC_ERR_FORMAT, "sentinel", "conv0_weight");

    p = fresh("h5.mlpackage");
    uint32_t f16 = 1; /* Float16 where int8 data is declared */
    patch_weights(p, 68, &f16, 4, -1);
    load_fails(p, FSC_ERR_FORMAT, "storage dtype", "constexpr_affine_dequantize");

    p = fresh("h6.mlpackage");
    uint64_t huge = 1ull << 40; /* data offset far beyond the file */
    patch_weights(p, 64 + 16, &huge, 8, -1);
    load_fails(p, FSC_ERR_FORMAT, "outside the file", NULL);

    p = fresh("h7.mlpackage");
    patch_weights(p, 0, NULL, 0, 10); /* shorter than the header */
    load_fails(p, FSC_ERR_FORMAT, "weight.bin", "header");

    p = fresh("h8.mlpackage");
    uint32_t v3 = 3;
    patch_weights(p, 4, &v3, 4, -1);
    load_fails(p, FSC_ERR_UNSUPPORTED, "version 3", NULL);
}

/* Replaces the occurrence number `which` (0-based; -1 = last) of a length-prefixed string in buf. */
static void patch_string(uint8_t *buf, size_t len, const char *from, const char *to, int which)
{
    size_t n = strlen(from);
    long hits[64];
    int nh = 0;
    for (size_t i = 1; i + n <= len && nh < 64; i++)
        if (buf[i - 1] == n && !memcmp(buf + i, from, n)) hits[nh++] = (long)i;
    assert_true(nh > 0);
    long at = which < 0 ? hits[nh - 1] : hits[which];
    memcpy(buf + at, to, n);
}

static void test_hostile_program(void **state)
{
    (void)state;
    fsc_graph *g = small_graph();
    void *m, *w;
    size_t ml, wl;
    assert_int_equal(fsc_mlmodel_serialize(g, &m, &ml, &w, &wl, NULL), FSC_OK);
    uint8_t *buf = malloc(ml);
    fsc_error err;
    fsc_graph *out = NULL;

    /* Dangling: the sigmoid reads "zzz1", which nothing defines ("mid1" occurs as relu's output, then as the binding). */
    memcpy(buf, m, ml);
    patch_string(buf, ml, "mid1", "zzz1", -1);
    assert_int_equal(fsc_mlmodel_parse(buf, ml, NULL, 0, NULL, &out, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "sigmoid 'S'"));
    assert_non_null(strstr(err.msg, "dangling"));

    /* Cyclic: relu reads "out2", which the later sigmoid defines. */
    memcpy(buf, m, ml);
    patch_string(buf, ml, "inp0", "out2", -1);
    assert_int_equal(fsc_mlmodel_parse(buf, ml, NULL, 0, NULL, &out, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "relu 'R'"));
    assert_non_null(strstr(err.msg, "cyclic"));

    /* A block output that nothing defines ("yout" occurs in the description, the block's
     * outputs (serialized before its operations), then as the mul's output). */
    memcpy(buf, m, ml);
    patch_string(buf, ml, "yout", "nope", 1);
    assert_int_equal(fsc_mlmodel_parse(buf, ml, NULL, 0, NULL, &out, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "block output 'nope'"));
    free(buf);

    /* Garbage and truncation. */
    assert_int_equal(fsc_mlmodel_parse("\xff\xff\xff\xff", 4, NULL, 0, NULL, &out, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "protobuf"));
    for (size_t cut = 0; cut < ml; cut += 7) {
        fsc_status st = fsc_mlmodel_parse(m, cut, NULL, 0, NULL, &out, &err);
        if (st == FSC_OK) fsc_graph_free(out); /* a prefix can be a valid smaller message */
        else assert_null(out);
    }
    free(m);
    fsc_graph_free(g);
}

static void test_hostile_declared_type(void **state)
{
    (void)state;
    /* A const whose declared output type disagrees with its value. */
    fsc_graph *g = small_graph();
    void *m, *w;
    size_t ml, wl;
    assert_int_equal(fsc_mlmodel_serialize(g, &m, &ml, &w, &wl, NULL), FSC_OK);
    fsc_graph *out = NULL;
    fsc_error err;
    /* The rank-0 output type of const 'k' is NamedValueType{name "k", type{tensorType{dataType 10}}}:
     * bytes 0a 01 'k' 12 04 0a 02 08 0a. Make its dataType INT32 (23). */
    uint8_t *b = m;
    const uint8_t pat[] = {0x0a, 0x01, 'k', 0x12, 0x04, 0x0a, 0x02, 0x08, 0x0a};
    long at = -1;
    for (size_t i = 0; i + sizeof pat <= ml; i++)
        if (!memcmp(b + i, pat, sizeof pat)) at = (long)i;
    assert_true(at >= 0);
    b[at + 8] = 23;
    assert_int_equal(fsc_mlmodel_parse(m, ml, NULL, 0, NULL, &out, &err), FSC_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "const 'k'"));
    assert_non_null(strstr(err.msg, "declared int32"));
    free(m);
    fsc_graph_free(g);
}

/* Random byte corruptions of a program and its weights: every one is either read or refused
 * with an error; never a crash or a leak (the ASan build runs this too). */
static void test_mutations(void **state)
{
    (void)state;
    fsc_graph *g = net_build(true, true);
    void *m, *w;
    size_t ml, wl;
    assert_int_equal(fsc_mlmodel_serialize(g, &m, &ml, &w, &wl, NULL), FSC_OK);
    uint8_t *bm = malloc(ml), *bw = malloc(wl);
    assert_non_null(bm);
    assert_non_null(bw);
    int rounds = getenv("FSC_TEST_QUICK") ? 300 : 2000, refused = 0;
    uint64_t s = 7;
    for (int r = 0; r < rounds; r++) {
        memcpy(bm, m, ml);
        memcpy(bw, w, wl);
        int flips = 1 + (int)((net_rand(&s) + 1) * 2);
        for (int k = 0; k < flips; k++) {
            bool in_w = r % 3 == 2;
            size_t n = in_w ? wl : ml;
            size_t at = (size_t)((net_rand(&s) + 1) / 2 * (double)n) % n;
            (in_w ? bw : bm)[at] = (uint8_t)(256 * (net_rand(&s) + 1) / 2);
        }
        fsc_graph *out = NULL;
        fsc_error err;
        fsc_status st = fsc_mlmodel_parse(bm, ml, bw, wl, NULL, &out, &err);
        if (st) {
            assert_null(out);
            assert_true(err.msg[0] != '\0');
            refused++;
        } else {
            fsc_graph_free(out);
        }
    }
    assert_true(refused > 0);
    free(bm);
    free(bw);
    free(m);
    free(w);
    fsc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_roundtrip),
        cmocka_unit_test(test_w8a8_roundtrip),
        cmocka_unit_test(test_onnx_qdq_through_mlpackage),
        cmocka_unit_test(test_onnx_fixtures_through_mlpackage),
        cmocka_unit_test(test_op_zoo_roundtrip),
        cmocka_unit_test(test_bare_mlmodel),
        cmocka_unit_test(test_save_replaces_atomically),
        cmocka_unit_test(test_shared_scale),
        cmocka_unit_test(test_hostile_manifest),
        cmocka_unit_test(test_hostile_symlink_escape),
        cmocka_unit_test(test_hostile_blobs),
        cmocka_unit_test(test_hostile_program),
        cmocka_unit_test(test_hostile_declared_type),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
