/* graph_infer.c: output shapes and dtypes of every op, checked against the
 * inputs, so that a malformed model is refused when it is built, not when it
 * runs. Messages say what is wrong; fsc_graph_add_node prefixes the node. */
#include <stdio.h>
#include <string.h>

#include "flipscope/graph.h"

#define FAIL(...) fsc_fail(err, FSC_ERR_INVALID, __VA_ARGS__)

static const char *shp(const fsc_shape *s, char *buf) { return fsc_shape_str(s, buf, 160); }

/* numpy broadcasting of a and b into out. */
static fsc_status broadcast(const fsc_shape *a, const fsc_shape *b, fsc_shape *out, fsc_error *err)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char s1[160], s2[160];
            return FAIL("shapes %s and %s do not broadcast", shp(a, s1), shp(b, s2));
        }
        out->dim[i] = da == 1 ? db : da;
    }
    return FSC_OK;
}

static fsc_status need_inputs(const fsc_node_spec *s, const fsc_value *const *in, int min, int max, fsc_error *err)
{
    if (s->n_in < min || s->n_in > max)
        return min == max ? FAIL("expects %d inputs, has %d", min, s->n_in)
                          : FAIL("expects %d to %d inputs, has %d", min, max, s->n_in);
    for (int i = 0; i < min; i++)
        if (!in[i]) return FAIL("required input %d is missing", i);
    return FSC_OK;
}

static fsc_status need_rank(const fsc_value *v, int rank, const char *what, fsc_error *err)
{
    if (v->shape.rank != rank) {
        char sb[160];
        return FAIL("%s '%s' must have rank %d, has shape %s", what, v->name, rank, shp(&v->shape, sb));
    }
    return FSC_OK;
}

/* Spatial output size of a window op; -1 when the window does not fit. */
static int64_t window_out(int64_t in, int64_t k, int64_t stride, int64_t pb, int64_t pa, int64_t dil, bool ceil_mode)
{
    if (k < 1 || stride < 1 || dil < 1 || pb < 0 || pa < 0) return -1;
    int64_t span = (k - 1) * dil + 1;
    int64_t num = in + pb + pa - span;
    if (num < 0) return -1;
    int64_t o = ceil_mode ? (num + stride - 1) / stride + 1 : num / stride + 1;
    /* ONNX/PyTorch: with ceil_mode the last window must start inside the input or left padding */
    if (ceil_mode && (o - 1) * stride >= in + pb) o--;
    return o;
}

static fsc_status infer_conv(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    fsc_status st = need_inputs(s, in, 2, 3, err);
    if (st) return st;
    if ((st = need_rank(in[0], 4, "input", err)) || (st = need_rank(in[1], 4, "weight", err))) return st;
    const fsc_attr_conv *a = &s->attr.conv;
    const int64_t *x = in[0]->shape.dim, *w = in[1]->shape.dim;
    if (a->group < 1 || w[0] % a->group != 0 || x[1] != w[1] * a->group) {
        char s1[160], s2[160];
        return FAIL("input %s and weight %s do not match with group=%lld (need C_in = weight[1] * group and "
                    "C_out divisible by group)",
                    shp(&in[0]->shape, s1), shp(&in[1]->shape, s2), (long long)a->group);
    }
    if (s->n_in == 3 && in[2] && (in[2]->shape.rank != 1 || in[2]->shape.dim[0] != w[0]))
        return FAIL("bias must have shape [%lld]", (long long)w[0]);
    int64_t oh = window_out(x[2], w[2], a->stride[0], a->pad[0], a->pad[2], a->dilation[0], false);
    int64_t ow = window_out(x[3], w[3], a->stride[1], a->pad[1], a->pad[3], a->dilation[1], false);
    if (oh < 1 || ow < 1)
        return FAIL("kernel %lldx%lld (dilation %lld,%lld) does not fit the padded %lldx%lld input, or "
                    "stride/dilation/padding is invalid",
                    (long long)w[2], (long long)w[3], (long long)a->dilation[0], (long long)a->dilation[1],
                    (long long)x[2], (long long)x[3]);
    int64_t d[4] = {x[0], w[0], oh, ow};
    *o = fsc_shape_make(4, d);
    return FSC_OK;
}

static fsc_status infer_pool(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    fsc_status st = need_inputs(s, in, 1, 1, err);
    if (st || (st = need_rank(in[0], 4, "input", err))) return st;
    const fsc_attr_pool *a = &s->attr.pool;
    const int64_t *x = in[0]->shape.dim;
    int64_t dh = a->dilation[0] ? a->dilation[0] : 1, dw = a->dilation[1] ? a->dilation[1] : 1;
    int64_t oh = window_out(x[2], a->kernel[0], a->stride[0], a->pad[0], a->pad[2], dh, a->ceil_mode);
    int64_t ow = window_out(x[3], a->kernel[1], a->stride[1], a->pad[1], a->pad[3], dw, a->ceil_mode);
    if (oh < 1 || ow < 1) return FAIL("pooling window does not fit the input or has invalid parameters");
    int64_t d[4] = {x[0], x[1], oh, ow};
    *o = fsc_shape_make(4, d);
    return FSC_OK;
}

static fsc_status infer_gemm(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    fsc_status st = need_inputs(s, in, 2, 3, err);
    if (st || (st = need_rank(in[0], 2, "A", err)) || (st = need_rank(in[1], 2, "B", err))) return st;
    const fsc_attr_gemm *a = &s->attr.gemm;
    int64_t m = a->trans_a ? in[0]->shape.dim[1] : in[0]->shape.dim[0];
    int64_t ka = a->trans_a ? in[0]->shape.dim[0] : in[0]->shape.dim[1];
    int64_t kb = a->trans_b ? in[1]->shape.dim[1] : in[1]->shape.dim[0];
    int64_t n = a->trans_b ? in[1]->shape.dim[0] : in[1]->shape.dim[1];
    if (ka != kb) {
        char s1[160], s2[160];
        return FAIL("inner dimensions differ: A %s%s, B %s%s", shp(&in[0]->shape, s1), a->trans_a ? " (transposed)" : "",
                    shp(&in[1]->shape, s2), a->trans_b ? " (transposed)" : "");
    }
    int64_t d[2] = {m, n};
    *o = fsc_shape_make(2, d);
    if (s->n_in == 3 && in[2]) {
        fsc_shape b;
        if ((st = broadcast(&in[2]->shape, o, &b, err))) return st;
        if (!fsc_shape_equal(&b, o)) return FAIL("C does not broadcast to [%lld, %lld]", (long long)m, (long long)n);
    }
    return FSC_OK;
}

static fsc_status infer_matmul(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    fsc_status st = need_inputs(s, in, 2, 2, err);
    if (st) return st;
    fsc_shape a = in[0]->shape, b = in[1]->shape;
    if (a.rank < 1 || b.rank < 1) return FAIL("matmul inputs must have rank >= 1");
    bool a1 = a.rank == 1, b1 = b.rank == 1;
    if (a1) { a.rank = 2; a.dim[1] = a.dim[0]; a.dim[0] = 1; }
    if (b1) { b.rank = 2; b.dim[1] = 1; }
    if (a.dim[a.rank - 1] != b.dim[b.rank - 2]) {
        char s1[160], s2[160];
        return FAIL("matmul inner dimensions differ: %s x %s", shp(&in[0]->shape, s1), shp(&in[1]->shape, s2));
    }
    fsc_shape ba = a, bb = b, batch;
    ba.rank -= 2;
    bb.rank -= 2;
    if ((st = broadcast(&ba, &bb, &batch, err))) return st;
    if (batch.rank + 2 > FSC_MAX_RANK) return FAIL("matmul result rank too large");
    *o = batch;
    if (!a1) o->dim[o->rank++] = a.dim[a.rank - 2];
    if (!b1) o->dim[o->rank++] = b.dim[b.rank - 1];
    return FSC_OK;
}

static int64_t norm_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

static fsc_status infer_reduce(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    fsc_status st = need_inputs(s, in, 1, 1, err);
    if (st) return st;
    const fsc_attr_axes *a = &s->attr.axes;
    const fsc_shape *x = &in[0]->shape;
    bool red[FSC_MAX_RANK] = {0};
    if (a->naxes < 0 || a->naxes > x->rank) return FAIL("%d reduction axes for a rank-%d input", a->naxes, x->rank);
    for (int i = 0; i < a->naxes; i++) {
        int64_t ax = norm_axis(a->axes[i], x->rank);
        if (ax < 0 || ax >= x->rank) return FAIL("reduction axis %lld out of range for rank %d", (long long)a->axes[i], x->rank);
        if (red[ax]) return FAIL("reduction axis %lld repeated", (long long)a->axes[i]);
        red[ax] = true;
    }
    o->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        bool r = a->naxes == 0 || red[i];
        if (r && !a->keepdims) continue;
        o->dim[o->rank++] = r ? 1 : x->dim[i];
    }
    return FSC_OK;
}

static fsc_status infer_concat(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    if (s->n_in < 1) return FAIL("concat needs at least one input");
    for (int i = 0; i < s->n_in; i++)
        if (!in[i]) return FAIL("concat input %d is missing", i);
    const fsc_shape *f = &in[0]->shape;
    int64_t ax = norm_axis(s->attr.axis.axis, f->rank);
    if (ax < 0 || ax >= f->rank) return FAIL("concat axis %lld out of range for rank %d", (long long)s->attr.axis.axis, f->rank);
    *o = *f;
    o->dim[ax] = 0;
    for (int i = 0; i < s->n_in; i++) {
        const fsc_shape *x = &in[i]->shape;
        if (x->rank != f->rank) return FAIL("concat inputs have different ranks");
        for (int d = 0; d < f->rank; d++)
            if (d != ax && x->dim[d] != f->dim[d]) {
                char s1[160], s2[160];
                return FAIL("concat input %d has shape %s, incompatible with %s on axis %d", i, shp(x, s1), shp(f, s2), d);
            }
        o->dim[ax] += x->dim[ax];
    }
    return FSC_OK;
}

static fsc_status infer_gather(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    fsc_status st = need_inputs(s, in, 2, 2, err);
    if (st) return st;
    const fsc_shape *x = &in[0]->shape, *idx = &in[1]->shape;
    int64_t ax = norm_axis(s->attr.axis.axis, x->rank);
    if (ax < 0 || ax >= x->rank) return FAIL("gather axis out of range");
    if (in[1]->dtype != FSC_DT_I64 && in[1]->dtype != FSC_DT_I32) return FAIL("gather indices must be int32 or int64");
    if (x->rank - 1 + idx->rank > FSC_MAX_RANK) return FAIL("gather result rank too large");
    o->rank = 0;
    for (int i = 0; i < ax; i++) o->dim[o->rank++] = x->dim[i];
    for (int i = 0; i < idx->rank; i++) o->dim[o->rank++] = idx->dim[i];
    for (int i = (int)ax + 1; i < x->rank; i++) o->dim[o->rank++] = x->dim[i];
    return FSC_OK;
}

static fsc_status infer_quant(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *o, fsc_error *err)
{
    fsc_status st = need_inputs(s, in, 2, 3, err);
    if (st) return st;
    const fsc_shape *x = &in[0]->shape, *sc = &in[1]->shape;
    int64_t n = fsc_shape_numel(sc);
    if (n != 1) {
        int64_t ax = norm_axis(s->attr.quant.axis, x->rank);
        if (sc->rank != 1 || ax < 0 || ax >= x->rank || sc->dim[0] != x->dim[ax]) {
            char s1[160], s2[160];
            return FAIL("scale of shape %s does not match axis %lld of input %s", shp(sc, s1),
                        (long long)s->attr.quant.axis, shp(x, s2));
        }
    }
    if (s->n_in == 3 && in[2] && fsc_shape_numel(&in[2]->shape) != n) return FAIL("zero point and scale differ in size");
    *o = *x;
    return FSC_OK;
}

static bool is_float_dt(fsc_dtype d) { return fsc_dtype_is_float(d); }

fsc_status fsc_infer_node(const fsc_node_spec *s, const fsc_value *const *in, fsc_shape *out, fsc_dtype *dt, fsc_error *err)
{
    fsc_status st = FSC_OK;
    for (int i = 0; i < s->n_out; i++) {
        memset(&out[i], 0, sizeof out[i]);
        dt[i] = s->n_in > 0 && in[0] ? in[0]->dtype : FSC_DT_F32;
    }
    if (s->op == FSC_OP_OPAQUE) {
        /* Nothing is known of an untranslated op but what the file declares. */
        for (int i = 0; i < s->n_out; i++) {
            out[i] = s->out_shape && i == 0 ? *s->out_shape : fsc_shape_make(0, NULL);
            if (s->out_dtype) dt[i] = s->out_dtype;
        }
        return FSC_OK;
    }
    if (s->n_out != 1) return FAIL("expects 1 output, has %d", s->n_out);
    switch (s->op) {
    case FSC_OP_IDENTITY: case FSC_OP_RELU: case FSC_OP_SIGMOID: case FSC_OP_SILU: case FSC_OP_TANH:
    case FSC_OP_ERF: case FSC_OP_GELU: case FSC_OP_SQRT: case FSC_OP_CLIP:
        if ((st = need_inputs(s, in, 1, 1, err))) return st;
        out[0] = in[0]->shape;
        if (s->op != FSC_OP_IDENTITY && !is_float_dt(in[0]->dtype))
            return FAIL("input '%s' must be a float tensor, is %s", in[0]->name, fsc_dtype_name(in[0]->dtype));
        return FSC_OK;
    case FSC_OP_SOFTMAX: {
        if ((st = need_inputs(s, in, 1, 1, err))) return st;
        int64_t ax = norm_axis(s->attr.axis.axis, in[0]->shape.rank);
        if (ax < 0 || ax >= in[0]->shape.rank) return FAIL("softmax axis out of range");
        out[0] = in[0]->shape;
        return FSC_OK;
    }
    case FSC_OP_ADD: case FSC_OP_SUB: case FSC_OP_MUL: case FSC_OP_DIV: case FSC_OP_POW:
        if ((st = need_inputs(s, in, 2, 2, err))) return st;
        if (s->op != FSC_OP_POW && is_float_dt(in[0]->dtype) != is_float_dt(in[1]->dtype))
            return FAIL("mixes %s and %s inputs", fsc_dtype_name(in[0]->dtype), fsc_dtype_name(in[1]->dtype));
        return broadcast(&in[0]->shape, &in[1]->shape, &out[0], err);
    case FSC_OP_CONV2D: return infer_conv(s, in, &out[0], err);
    case FSC_OP_MAXPOOL: case FSC_OP_AVGPOOL: return infer_pool(s, in, &out[0], err);
    case FSC_OP_GLOBAL_AVGPOOL: {
        if ((st = need_inputs(s, in, 1, 1, err)) || (st = need_rank(in[0], 4, "input", err))) return st;
        int64_t d[4] = {in[0]->shape.dim[0], in[0]->shape.dim[1], 1, 1};
        out[0] = fsc_shape_make(4, d);
        return FSC_OK;
    }
    case FSC_OP_GEMM: return infer_gemm(s, in, &out[0], err);
    case FSC_OP_MATMUL: return infer_matmul(s, in, &out[0], err);
    case FSC_OP_REDUCE_MEAN: return infer_reduce(s, in, &out[0], err);
    case FSC_OP_LAYERNORM: {
        if ((st = need_inputs(s, in, 2, 3, err))) return st;
        int64_t ax = norm_axis(s->attr.norm.axis, in[0]->shape.rank);
        if (ax < 0 || ax >= in[0]->shape.rank) return FAIL("layernorm axis out of range");
        int64_t nrm = 1;
        for (int i = (int)ax; i < in[0]->shape.rank; i++) nrm *= in[0]->shape.dim[i];
        for (int i = 1; i < s->n_in; i++)
            if (in[i] && fsc_shape_numel(&in[i]->shape) != nrm) return FAIL("layernorm scale/bias size differs from the normalised size %lld", (long long)nrm);
        out[0] = in[0]->shape;
        return FSC_OK;
    }
    case FSC_OP_BATCHNORM: {
        if ((st = need_inputs(s, in, 5, 5, err))) return st;
        if (in[0]->shape.rank < 2) return FAIL("batchnorm input must have rank >= 2");
        for (int i = 1; i < 5; i++)
            if (in[i]->shape.rank != 1 || in[i]->shape.dim[0] != in[0]->shape.dim[1])
                return FAIL("batchnorm parameter %d must have shape [%lld]", i, (long long)in[0]->shape.dim[1]);
        out[0] = in[0]->shape;
        return FSC_OK;
    }
    case FSC_OP_RESHAPE: case FSC_OP_SLICE:
        if ((st = need_inputs(s, in, 1, 64, err))) return st;
        if (!s->out_shape) return FAIL("needs a static output shape");
        if (s->out_shape->rank < 0 || s->out_shape->rank > FSC_MAX_RANK || fsc_shape_numel(s->out_shape) < 0)
            return FAIL("invalid output shape");
        if (s->op == FSC_OP_RESHAPE && fsc_shape_numel(s->out_shape) != fsc_shape_numel(&in[0]->shape)) {
            char s1[160], s2[160];
            return FAIL("cannot reshape %s into %s", shp(&in[0]->shape, s1), shp(s->out_shape, s2));
        }
        if (s->op == FSC_OP_SLICE) {
            if (s->out_shape->rank != in[0]->shape.rank) return FAIL("slice changes the rank");
            for (int i = 0; i < in[0]->shape.rank; i++) {
                int64_t st0 = s->attr.slice.start[i], step = s->attr.slice.step[i], n = s->out_shape->dim[i];
                if (step == 0) return FAIL("slice step is 0 on axis %d", i);
                int64_t last = n ? st0 + (n - 1) * step : st0;
                if (n && (st0 < 0 || st0 >= in[0]->shape.dim[i] || last < 0 || last >= in[0]->shape.dim[i]))
                    return FAIL("slice reads outside axis %d", i);
            }
        }
        out[0] = *s->out_shape;
        return FSC_OK;
    case FSC_OP_TRANSPOSE: {
        if ((st = need_inputs(s, in, 1, 1, err))) return st;
        const fsc_shape *x = &in[0]->shape;
        bool seen[FSC_MAX_RANK] = {0};
        out[0].rank = x->rank;
        for (int i = 0; i < x->rank; i++) {
            int p = s->attr.transpose.perm[i];
            if (p < 0 || p >= x->rank || seen[p]) return FAIL("transpose perm is not a permutation of 0..%d", x->rank - 1);
            seen[p] = true;
            out[0].dim[i] = x->dim[p];
        }
        return FSC_OK;
    }
    case FSC_OP_CONCAT: return infer_concat(s, in, &out[0], err);
    case FSC_OP_PAD: {
        if ((st = need_inputs(s, in, 1, 64, err))) return st;
        const fsc_shape *x = &in[0]->shape;
        out[0].rank = x->rank;
        for (int i = 0; i < x->rank; i++) {
            int64_t b = s->attr.pad.pads[i], e = s->attr.pad.pads[i + x->rank];
            if (b < 0 || e < 0) return FAIL("negative pads are not supported");
            out[0].dim[i] = x->dim[i] + b + e;
        }
        return FSC_OK;
    }
    case FSC_OP_GATHER: return infer_gather(s, in, &out[0], err);
    case FSC_OP_CAST: {
        if ((st = need_inputs(s, in, 1, 1, err))) return st;
        fsc_dtype to = s->out_dtype ? s->out_dtype : s->attr.cast.to;
        /* The kernel converts to attr.cast.to: an output dtype that says otherwise would make it
         * write elements of one size into a buffer sized for another (found by fuzz_graph). Float
         * to float is fine: every float dtype has the same container. */
        bool both_float = fsc_dtype_is_float(s->out_dtype) && fsc_dtype_is_float(s->attr.cast.to);
        if (s->out_dtype && s->out_dtype != s->attr.cast.to && !both_float)
            return FAIL("cast: output dtype %s differs from the attribute 'to' (%s)", fsc_dtype_name(s->out_dtype),
                        fsc_dtype_name(s->attr.cast.to));
        if (to == FSC_DT_UNDEF || to == FSC_DT_STRING) return FAIL("cast to an unsupported type");
        out[0] = in[0]->shape;
        dt[0] = to;
        return FSC_OK;
    }
    case FSC_OP_QUANTIZE: case FSC_OP_DEQUANTIZE: {
        if ((st = infer_quant(s, in, &out[0], err))) return st;
        fsc_dtype to = s->out_dtype ? s->out_dtype : s->attr.quant.out_dtype;
        if (s->op == FSC_OP_QUANTIZE) {
            if (to != FSC_DT_I8 && to != FSC_DT_U8) return FAIL("quantize output must be int8 or uint8");
            if (!is_float_dt(in[0]->dtype)) return FAIL("quantize input must be float");
        } else {
            if (to == FSC_DT_UNDEF) to = in[1]->dtype;
            if (!is_float_dt(to)) return FAIL("dequantize output must be float");
            if (in[0]->dtype != FSC_DT_I8 && in[0]->dtype != FSC_DT_U8 && in[0]->dtype != FSC_DT_I32)
                return FAIL("dequantize input must be int8, uint8 or int32, is %s", fsc_dtype_name(in[0]->dtype));
        }
        dt[0] = to;
        return FSC_OK;
    }
    case FSC_OP_CONSTANT: case FSC_OP_OPAQUE: case FSC_OP_COUNT: break;
    }
    return fsc_fail(err, FSC_ERR_UNSUPPORTED, "op kind %d has no shape inference", (int)s->op);
}
