/* onnx_ops.c: each ONNX operator mapped onto IR nodes with ONNX semantics.
 *
 * Operands that the IR holds as attributes (Reshape's shape, Slice's starts,
 * Pad's pads, Clip's bounds, ReduceMean's axes in opset 18) must be constants;
 * everything is resolved here against the static input shapes, so the IR
 * node carries explicit numbers (auto_pad becomes explicit pads, Slice bounds
 * are clamped as ONNX clamps them). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/onnx_internal.h"

typedef fsc_status (*op_fn)(onnx_rd *r);

/* Bound on kernel sizes, strides, dilations and pads: far above any real model,
 * low enough that window arithmetic cannot overflow. */
#define WINDOW_MAX (1 << 24)

/* Value ids of inputs 0..n-1 (-1 for absent ones); inputs beyond need..max are an error. */
static fsc_status get_inputs(onnx_rd *r, int need, int max, int *ids)
{
    int n = onnx_n_inputs(r);
    if (n < need || n > max)
        return need == max ? onnx_node_fail(r, FSC_ERR_INVALID, "expects %d inputs, has %d", need, n)
                           : onnx_node_fail(r, FSC_ERR_INVALID, "expects %d to %d inputs, has %d", need, max, n);
    for (int i = 0; i < max; i++) {
        ids[i] = -1;
        if (i < n && onnx_has_input(r, i)) {
            fsc_status st = onnx_input(r, i, &ids[i]);
            if (st) return st;
        } else if (i < need) {
            return onnx_node_fail(r, FSC_ERR_INVALID, "required input %d is missing", i);
        }
    }
    return FSC_OK;
}

/* Refuses optional extra outputs that something would read (Dropout mask, BatchNorm running stats). */
static fsc_status single_output(onnx_rd *r)
{
    if (r->np->n_output < 1 || !r->np->output[0][0]) return onnx_node_fail(r, FSC_ERR_INVALID, "has no output");
    for (size_t i = 1; i < r->np->n_output; i++)
        if (r->np->output[i][0])
            return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "output %zu ('%s') is not supported (inference only)", i,
                                  r->np->output[i]);
    return FSC_OK;
}

/* Nodes with only their data inputs and no attributes the IR needs. */
static fsc_status simple(onnx_rd *r, fsc_op op, int n_in)
{
    int in[2];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, n_in, n_in, in);
    if (!st) st = onnx_emit(r, op, NULL, n_in, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
    return st;
}

static fsc_status op_identity(onnx_rd *r) { return simple(r, FSC_OP_IDENTITY, 1); }
static fsc_status op_add(onnx_rd *r) { return simple(r, FSC_OP_ADD, 2); }
static fsc_status op_sub(onnx_rd *r) { return simple(r, FSC_OP_SUB, 2); }
static fsc_status op_mul(onnx_rd *r) { return simple(r, FSC_OP_MUL, 2); }
static fsc_status op_div(onnx_rd *r) { return simple(r, FSC_OP_DIV, 2); }
static fsc_status op_pow(onnx_rd *r) { return simple(r, FSC_OP_POW, 2); }
static fsc_status op_matmul(onnx_rd *r) { return simple(r, FSC_OP_MATMUL, 2); }
static fsc_status op_relu(onnx_rd *r) { return simple(r, FSC_OP_RELU, 1); }
static fsc_status op_sigmoid(onnx_rd *r) { return simple(r, FSC_OP_SIGMOID, 1); }
static fsc_status op_tanh(onnx_rd *r) { return simple(r, FSC_OP_TANH, 1); }
static fsc_status op_erf(onnx_rd *r) { return simple(r, FSC_OP_ERF, 1); }
static fsc_status op_sqrt(onnx_rd *r) { return simple(r, FSC_OP_SQRT, 1); }
static fsc_status op_gap(onnx_rd *r) { return simple(r, FSC_OP_GLOBAL_AVGPOOL, 1); }

/* Dropout at inference is the identity (its ratio applies only in training mode). */
static fsc_status op_dropout(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st && (onnx_n_inputs(r) < 1 || onnx_n_inputs(r) > 3))
        st = onnx_node_fail(r, FSC_ERR_INVALID, "expects 1 to 3 inputs, has %d", onnx_n_inputs(r));
    if (!st) st = onnx_input(r, 0, &in[0]);
    if (!st && onnx_has_input(r, 2)) {
        fsc_tensor t;
        if ((st = onnx_const_input(r, 2, "training_mode", &t))) return st;
        bool training = fsc_tensor_numel(&t) == 1 && fsc_tensor_get(&t, 0) != 0;
        fsc_tensor_free(&t);
        if (training) return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "training_mode=true is not supported");
    }
    if (!st) st = onnx_emit(r, FSC_OP_IDENTITY, NULL, 1, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
    return st;
}

/* ---- convolution and pooling ------------------------------------------ */

/* Resolves auto_pad / pads for a 2-D window op over spatial dims in[2..3]. */
static fsc_status window_pads(onnx_rd *r, const fsc_shape *x, const int64_t k[2], const int64_t stride[2],
                              const int64_t dil[2], int64_t pad[4])
{
    char mode[32];
    fsc_status st = onnx_attr_string(r, "auto_pad", "NOTSET", mode, sizeof mode);
    if (st) return st;
    int np;
    int64_t p[8];
    if ((st = onnx_attr_ints(r, "pads", p, 8, &np))) return st;
    memset(pad, 0, 4 * sizeof pad[0]);
    if (!strcmp(mode, "NOTSET")) {
        if (np >= 0 && np != 4) return onnx_node_fail(r, FSC_ERR_INVALID, "pads has %d values, expected 4", np);
        if (np == 4)
            for (int i = 0; i < 4; i++) {
                if (p[i] < 0 || p[i] > WINDOW_MAX)
                    return onnx_node_fail(r, FSC_ERR_INVALID, "pads must be between 0 and %d", WINDOW_MAX);
                pad[i] = p[i];
            }
        return FSC_OK;
    }
    if (!strcmp(mode, "VALID")) return FSC_OK;
    bool upper = !strcmp(mode, "SAME_UPPER");
    if (!upper && strcmp(mode, "SAME_LOWER"))
        return onnx_node_fail(r, FSC_ERR_INVALID, "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID",
                              mode);
    for (int i = 0; i < 2; i++) {
        int64_t in = x->dim[2 + i];
        int64_t out = (in + stride[i] - 1) / stride[i];
        int64_t total = (out - 1) * stride[i] + (k[i] - 1) * dil[i] + 1 - in;
        if (total < 0) total = 0;
        int64_t small = total / 2, big = total - small;
        pad[i] = upper ? small : big;     /* begin */
        pad[i + 2] = upper ? big : small; /* end */
    }
    return FSC_OK;
}

/* Reads a 2-value int attribute (kernel_shape, strides, dilations); absent -> dflt. */
static fsc_status pair_attr(onnx_rd *r, const char *name, int64_t dflt, int64_t out[2])
{
    int n;
    int64_t v[8];
    fsc_status st = onnx_attr_ints(r, name, v, 8, &n);
    if (st) return st;
    if (n < 0) {
        out[0] = out[1] = dflt;
        return FSC_OK;
    }
    if (n != 2)
        return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "%s has %d values; only 2-D windows (NCHW) are supported", name, n);
    for (int i = 0; i < 2; i++)
        if (v[i] < 1 || v[i] > WINDOW_MAX)
            return onnx_node_fail(r, FSC_ERR_INVALID, "%s must be between 1 and %d", name, WINDOW_MAX);
    out[0] = v[0];
    out[1] = v[1];
    return FSC_OK;
}

static fsc_status need_nchw(onnx_rd *r, int id)
{
    const fsc_shape *s = onnx_shape(r, id);
    char sb[160];
    if (s->rank != 4)
        return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "input has shape %s; only 2-D (NCHW) inputs are supported",
                              fsc_shape_str(s, sb, sizeof sb));
    return FSC_OK;
}

static fsc_status op_conv(onnx_rd *r)
{
    int in[3];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 2, 3, in);
    if (!st) st = need_nchw(r, in[0]);
    if (st) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    const fsc_shape *x = onnx_shape(r, in[0]), *w = onnx_shape(r, in[1]);
    char s1[160], s2[160];
    if (w->rank != 4)
        return onnx_node_fail(r, FSC_ERR_INVALID, "weight has shape %s, expected rank 4", fsc_shape_str(w, s1, 160));
    int64_t k[2];
    if ((st = onnx_attr_int(r, "group", 1, &a.conv.group)) || (st = pair_attr(r, "strides", 1, a.conv.stride)) ||
        (st = pair_attr(r, "dilations", 1, a.conv.dilation)) || (st = pair_attr(r, "kernel_shape", 0, k)))
        return st;
    if (k[0] && (k[0] != w->dim[2] || k[1] != w->dim[3]))
        return onnx_node_fail(r, FSC_ERR_INVALID, "kernel_shape [%" PRId64 ", %" PRId64 "] differs from weight %s", k[0],
                              k[1], fsc_shape_str(w, s1, 160));
    if (a.conv.group < 1 || x->dim[1] != w->dim[1] * a.conv.group || w->dim[0] % a.conv.group)
        return onnx_node_fail(r, FSC_ERR_INVALID,
                              "input %s has %" PRId64 " channels but weight %s with group=%" PRId64 " expects %" PRId64,
                              fsc_shape_str(x, s1, 160), x->dim[1], fsc_shape_str(w, s2, 160), a.conv.group,
                              w->dim[1] * a.conv.group);
    k[0] = w->dim[2];
    k[1] = w->dim[3];
    if ((st = window_pads(r, x, k, a.conv.stride, a.conv.dilation, a.conv.pad))) return st;
    return onnx_emit(r, FSC_OP_CONV2D, &a, in[2] >= 0 ? 3 : 2, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status pool(onnx_rd *r, fsc_op op)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 1, 1, in);
    if (!st) st = need_nchw(r, in[0]);
    if (st) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    int64_t ceil_mode, cip, order;
    if ((st = pair_attr(r, "kernel_shape", 0, a.pool.kernel)) || (st = pair_attr(r, "strides", 1, a.pool.stride)) ||
        (st = pair_attr(r, "dilations", 1, a.pool.dilation)) || (st = onnx_attr_int(r, "ceil_mode", 0, &ceil_mode)) ||
        (st = onnx_attr_int(r, "count_include_pad", 0, &cip)) || (st = onnx_attr_int(r, "storage_order", 0, &order)))
        return st;
    if (!a.pool.kernel[0]) return onnx_node_fail(r, FSC_ERR_INVALID, "kernel_shape is required");
    a.pool.ceil_mode = ceil_mode != 0;
    a.pool.count_include_pad = cip != 0;
    if ((st = window_pads(r, onnx_shape(r, in[0]), a.pool.kernel, a.pool.stride, a.pool.dilation, a.pool.pad)))
        return st;
    return onnx_emit(r, op, &a, 1, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status op_maxpool(onnx_rd *r) { return pool(r, FSC_OP_MAXPOOL); }
static fsc_status op_avgpool(onnx_rd *r) { return pool(r, FSC_OP_AVGPOOL); }

/* ---- dense and normalisation ------------------------------------------ */

static fsc_status op_gemm(onnx_rd *r)
{
    int in[3];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 2, 3, in);
    if (st) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    int64_t ta, tb;
    if ((st = onnx_attr_float(r, "alpha", 1.0, &a.gemm.alpha)) || (st = onnx_attr_float(r, "beta", 1.0, &a.gemm.beta)) ||
        (st = onnx_attr_int(r, "transA", 0, &ta)) || (st = onnx_attr_int(r, "transB", 0, &tb)))
        return st;
    a.gemm.trans_a = ta != 0;
    a.gemm.trans_b = tb != 0;
    return onnx_emit(r, FSC_OP_GEMM, &a, in[2] >= 0 ? 3 : 2, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status op_batchnorm(onnx_rd *r)
{
    int in[5];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 5, 5, in);
    if (st) return st;
    int64_t training;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    if ((st = onnx_attr_float(r, "epsilon", 1e-5, &a.norm.epsilon)) ||
        (st = onnx_attr_int(r, "training_mode", 0, &training)))
        return st;
    if (training) return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "training_mode=1 is not supported (inference only)");
    a.norm.axis = 1;
    return onnx_emit(r, FSC_OP_BATCHNORM, &a, 5, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status op_layernorm(onnx_rd *r)
{
    int in[3];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 2, 3, in);
    if (st) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    int64_t ax, stash;
    if ((st = onnx_attr_float(r, "epsilon", 1e-5, &a.norm.epsilon)) || (st = onnx_attr_int(r, "axis", -1, &ax)) ||
        (st = onnx_attr_int(r, "stash_type", 1, &stash)))
        return st;
    if ((st = onnx_axis(r, ax, onnx_shape(r, in[0])->rank, "axis", &a.norm.axis))) return st;
    return onnx_emit(r, FSC_OP_LAYERNORM, &a, in[2] >= 0 ? 3 : 2, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

/* Reads a scalar bound of Clip (input i), leaving *v unchanged when absent. */
static fsc_status clip_bound(onnx_rd *r, int i, const char *what, double *v)
{
    if (!onnx_has_input(r, i)) return FSC_OK;
    fsc_tensor t;
    fsc_status st = onnx_const_input(r, i, what, &t);
    if (st) return st;
    if (fsc_tensor_numel(&t) != 1) st = onnx_node_fail(r, FSC_ERR_INVALID, "%s must be a scalar", what);
    else *v = fsc_tensor_get(&t, 0);
    fsc_tensor_free(&t);
    return st;
}

static fsc_status op_clip(onnx_rd *r)
{
    fsc_status st = single_output(r);
    if (st) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    a.clip.lo = -INFINITY;
    a.clip.hi = INFINITY;
    int n = onnx_n_inputs(r);
    if (r->opset < 11) {
        if (n != 1) return onnx_node_fail(r, FSC_ERR_INVALID, "expects 1 input before opset 11, has %d", n);
        if ((st = onnx_attr_float(r, "min", -INFINITY, &a.clip.lo)) ||
            (st = onnx_attr_float(r, "max", INFINITY, &a.clip.hi)))
            return st;
    } else {
        if (n < 1 || n > 3) return onnx_node_fail(r, FSC_ERR_INVALID, "expects 1 to 3 inputs, has %d", n);
        if ((st = clip_bound(r, 1, "min", &a.clip.lo)) || (st = clip_bound(r, 2, "max", &a.clip.hi))) return st;
    }
    int in;
    if ((st = onnx_input(r, 0, &in))) return st;
    return onnx_emit(r, FSC_OP_CLIP, &a, 1, &in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status op_gelu(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 1, 1, in);
    if (st) return st;
    char approx[16];
    if ((st = onnx_attr_string(r, "approximate", "none", approx, sizeof approx))) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    if (!strcmp(approx, "tanh")) a.gelu.tanh_approx = true;
    else if (strcmp(approx, "none"))
        return onnx_node_fail(r, FSC_ERR_INVALID, "approximate '%s' is not 'none' or 'tanh'", approx);
    return onnx_emit(r, FSC_OP_GELU, &a, 1, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

/* Softmax. From opset 13 it normalises one axis (default -1). Before, it
 * flattens the input to 2-D at `axis` (default 1) and normalises each row;
 * that becomes reshape -> softmax over axis 1 -> reshape unless axis is the last. */
static fsc_status op_softmax(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 1, 1, in);
    if (st) return st;
    const fsc_shape x = *onnx_shape(r, in[0]);
    int64_t ax;
    if ((st = onnx_attr_int(r, "axis", r->opset >= 13 ? -1 : 1, &ax)) || (st = onnx_axis(r, ax, x.rank, "axis", &ax)))
        return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    if (r->opset >= 13 || ax == x.rank - 1) {
        a.axis.axis = ax;
        return onnx_emit(r, FSC_OP_SOFTMAX, &a, 1, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
    }
    fsc_shape flat = {.rank = 2, .dim = {1, 1}};
    for (int i = 0; i < x.rank; i++) flat.dim[i < ax ? 0 : 1] *= x.dim[i];
    char *n1 = onnx_tmp_name(r, r->np->output[0]), *n2 = onnx_tmp_name(r, r->np->output[0]);
    if (!n1 || !n2) st = onnx_node_fail(r, FSC_ERR_NOMEM, "out of memory");
    int idx, mid;
    if (!st) st = onnx_emit(r, FSC_OP_RESHAPE, NULL, 1, in, 1, (const char *const *)&n1, FSC_DT_UNDEF, &flat, &idx);
    if (!st) {
        mid = r->g->nodes[idx].out[0];
        a.axis.axis = 1;
        st = onnx_emit(r, FSC_OP_SOFTMAX, &a, 1, &mid, 1, (const char *const *)&n2, FSC_DT_UNDEF, NULL, &idx);
    }
    if (!st) {
        mid = r->g->nodes[idx].out[0];
        st = onnx_emit(r, FSC_OP_RESHAPE, NULL, 1, &mid, 1, NULL, FSC_DT_UNDEF, &x, NULL);
    }
    free(n1);
    free(n2);
    return st;
}

/* ---- shape manipulation ----------------------------------------------- */

/* Axes from the attribute (before from_opset) or from constant input 1. *n = -1 when absent. */
static fsc_status axes_operand(onnx_rd *r, int64_t from_opset, int64_t *axes, int *n)
{
    if (r->opset < from_opset) return onnx_attr_ints(r, "axes", axes, FSC_MAX_RANK, n);
    *n = -1;
    if (!onnx_has_input(r, 1)) return FSC_OK;
    return onnx_const_ints(r, 1, "axes", axes, FSC_MAX_RANK, n);
}

static fsc_status reshape_to(onnx_rd *r, int in, const fsc_shape *out)
{
    return onnx_emit(r, FSC_OP_RESHAPE, NULL, 1, &in, 1, NULL, FSC_DT_UNDEF, out, NULL);
}

static fsc_status op_reshape(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (st) return st;
    if (onnx_n_inputs(r) != 2) return onnx_node_fail(r, FSC_ERR_INVALID, "expects 2 inputs (data, shape)");
    if ((st = onnx_input(r, 0, &in[0]))) return st;
    int64_t v[FSC_MAX_RANK];
    int n;
    int64_t allowzero;
    if ((st = onnx_const_ints(r, 1, "shape", v, FSC_MAX_RANK, &n)) ||
        (st = onnx_attr_int(r, "allowzero", 0, &allowzero)))
        return st;
    const fsc_shape *x = onnx_shape(r, in[0]);
    fsc_shape o = {.rank = n};
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        int64_t d = v[i];
        if (d == 0 && !allowzero) {
            if (i >= x->rank) return onnx_node_fail(r, FSC_ERR_INVALID, "shape[%d] = 0 copies a dimension the input lacks", i);
            d = x->dim[i];
        }
        if (d == -1) {
            if (infer >= 0) return onnx_node_fail(r, FSC_ERR_INVALID, "shape has more than one -1");
            infer = i;
            d = 1;
        } else if (d < 0) {
            return onnx_node_fail(r, FSC_ERR_INVALID, "shape[%d] = %" PRId64 " is invalid", i, d);
        }
        if (d > ((int64_t)1 << 40) || (d && known > ((int64_t)1 << 40) / d))
            return onnx_node_fail(r, FSC_ERR_INVALID, "shape is absurdly large");
        o.dim[i] = d;
        known *= d;
    }
    int64_t total = fsc_shape_numel(x);
    char s1[160];
    if (infer >= 0) {
        if (known == 0 || total % known)
            return onnx_node_fail(r, FSC_ERR_INVALID, "cannot infer the -1 in the shape from input %s",
                                  fsc_shape_str(x, s1, sizeof s1));
        o.dim[infer] = total / known;
    }
    return reshape_to(r, in[0], &o);
}

static fsc_status op_flatten(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 1, 1, in);
    if (st) return st;
    const fsc_shape *x = onnx_shape(r, in[0]);
    int64_t ax;
    if ((st = onnx_attr_int(r, "axis", 1, &ax))) return st;
    if (ax < 0) ax += x->rank;
    if (ax < 0 || ax > x->rank) return onnx_node_fail(r, FSC_ERR_INVALID, "axis is out of range for rank %d", x->rank);
    fsc_shape o = {.rank = 2, .dim = {1, 1}};
    for (int i = 0; i < x->rank; i++) o.dim[i < ax ? 0 : 1] *= x->dim[i];
    return reshape_to(r, in[0], &o);
}

static fsc_status op_squeeze(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = onnx_input(r, 0, &in[0]);
    if (st) return st;
    const fsc_shape *x = onnx_shape(r, in[0]);
    int64_t axes[FSC_MAX_RANK];
    int n;
    if ((st = axes_operand(r, 13, axes, &n))) return st;
    bool drop[FSC_MAX_RANK] = {0};
    if (n < 0) {
        for (int i = 0; i < x->rank; i++) drop[i] = x->dim[i] == 1;
    } else {
        for (int i = 0; i < n; i++) {
            int64_t a;
            if ((st = onnx_axis(r, axes[i], x->rank, "axis", &a))) return st;
            if (x->dim[a] != 1)
                return onnx_node_fail(r, FSC_ERR_INVALID, "cannot squeeze axis %" PRId64 " of size %" PRId64, a, x->dim[a]);
            drop[a] = true;
        }
    }
    fsc_shape o = {.rank = 0};
    for (int i = 0; i < x->rank; i++)
        if (!drop[i]) o.dim[o.rank++] = x->dim[i];
    return reshape_to(r, in[0], &o);
}

static fsc_status op_unsqueeze(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = onnx_input(r, 0, &in[0]);
    if (st) return st;
    const fsc_shape *x = onnx_shape(r, in[0]);
    int64_t axes[FSC_MAX_RANK];
    int n;
    if ((st = axes_operand(r, 13, axes, &n))) return st;
    if (n < 0) return onnx_node_fail(r, FSC_ERR_INVALID, "axes are required");
    int rank = x->rank + n;
    if (rank > FSC_MAX_RANK) return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "result rank %d exceeds %d", rank, FSC_MAX_RANK);
    bool add[FSC_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        int64_t a;
        if ((st = onnx_axis(r, axes[i], rank, "axis", &a))) return st;
        if (add[a]) return onnx_node_fail(r, FSC_ERR_INVALID, "axis %" PRId64 " is repeated", a);
        add[a] = true;
    }
    fsc_shape o = {.rank = rank};
    for (int i = 0, k = 0; i < rank; i++) o.dim[i] = add[i] ? 1 : x->dim[k++];
    return reshape_to(r, in[0], &o);
}

static fsc_status op_transpose(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 1, 1, in);
    if (st) return st;
    int rank = onnx_shape(r, in[0])->rank, n;
    int64_t p[FSC_MAX_RANK];
    if ((st = onnx_attr_ints(r, "perm", p, FSC_MAX_RANK, &n))) return st;
    if (n >= 0 && n != rank) return onnx_node_fail(r, FSC_ERR_INVALID, "perm has %d values for rank %d", n, rank);
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    for (int i = 0; i < rank; i++) {
        int64_t v = n < 0 ? rank - 1 - i : p[i];
        if (v < 0 || v >= rank) return onnx_node_fail(r, FSC_ERR_INVALID, "perm is not a permutation");
        a.transpose.perm[i] = (int)v;
    }
    return onnx_emit(r, FSC_OP_TRANSPOSE, &a, 1, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status op_concat(onnx_rd *r)
{
    fsc_status st = single_output(r);
    if (st) return st;
    int n = onnx_n_inputs(r);
    if (n < 1 || n > 64) return onnx_node_fail(r, FSC_ERR_INVALID, "expects 1 to 64 inputs, has %d", n);
    int in[64];
    for (int i = 0; i < n; i++)
        if ((st = onnx_input(r, i, &in[i]))) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    if (!onnx_attr(r, "axis")) return onnx_node_fail(r, FSC_ERR_INVALID, "attribute 'axis' is required");
    if ((st = onnx_attr_int(r, "axis", 0, &a.axis.axis)) ||
        (st = onnx_axis(r, a.axis.axis, onnx_shape(r, in[0])->rank, "axis", &a.axis.axis)))
        return st;
    return onnx_emit(r, FSC_OP_CONCAT, &a, n, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status op_pad(onnx_rd *r)
{
    fsc_status st = single_output(r);
    if (st) return st;
    int in;
    if ((st = onnx_input(r, 0, &in))) return st;
    int rank = onnx_shape(r, in)->rank;
    char mode[16];
    if ((st = onnx_attr_string(r, "mode", "constant", mode, sizeof mode))) return st;
    if (strcmp(mode, "constant"))
        return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "mode '%s' is not supported (only 'constant')", mode);
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    int64_t p[2 * FSC_MAX_RANK];
    int np;
    int64_t axes[FSC_MAX_RANK];
    int naxes = -1;
    if (r->opset < 11) {
        if ((st = onnx_attr_ints(r, "pads", p, 2 * FSC_MAX_RANK, &np)) ||
            (st = onnx_attr_float(r, "value", 0.0, &a.pad.value)))
            return st;
    } else {
        if ((st = onnx_const_ints(r, 1, "pads", p, 2 * FSC_MAX_RANK, &np))) return st;
        if (onnx_has_input(r, 2)) {
            fsc_tensor t;
            if ((st = onnx_const_input(r, 2, "constant_value", &t))) return st;
            if (fsc_tensor_numel(&t) != 1) st = onnx_node_fail(r, FSC_ERR_INVALID, "constant_value must be a scalar");
            else a.pad.value = fsc_tensor_get(&t, 0);
            fsc_tensor_free(&t);
            if (st) return st;
        }
        if (onnx_has_input(r, 3) && (st = onnx_const_ints(r, 3, "axes", axes, FSC_MAX_RANK, &naxes))) return st;
    }
    int count = naxes >= 0 ? naxes : rank;
    if (np != 2 * count)
        return onnx_node_fail(r, FSC_ERR_INVALID, "pads has %d values, expected %d", np < 0 ? 0 : np, 2 * count);
    for (int i = 0; i < count; i++) {
        int64_t ax = i;
        if (naxes >= 0 && (st = onnx_axis(r, axes[i], rank, "axis", &ax))) return st;
        if (p[i] < 0 || p[i + count] < 0)
            return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "negative pads (cropping) are not supported");
        if (p[i] > WINDOW_MAX || p[i + count] > WINDOW_MAX)
            return onnx_node_fail(r, FSC_ERR_INVALID, "pads larger than %d are absurd", WINDOW_MAX);
        a.pad.pads[ax] = p[i];
        a.pad.pads[ax + rank] = p[i + count];
    }
    return onnx_emit(r, FSC_OP_PAD, &a, 1, &in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

/* Clamps one Slice axis as ONNX does and returns start and count. */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step, int64_t *s0, int64_t *count)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : (start > dim ? dim : start);
        end = end < 0 ? 0 : (end > dim ? dim : end);
        *count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
        start = start < 0 ? 0 : (start > dim - 1 ? dim - 1 : start);
        end = end < -1 ? -1 : (end > dim - 1 ? dim - 1 : end);
        *count = start > end ? (start - end - 1) / (-step) + 1 : 0;
    }
    *s0 = *count ? start : 0;
}

static fsc_status op_slice(onnx_rd *r)
{
    fsc_status st = single_output(r);
    if (st) return st;
    int in;
    if ((st = onnx_input(r, 0, &in))) return st;
    const fsc_shape *x = onnx_shape(r, in);
    int64_t starts[FSC_MAX_RANK], ends[FSC_MAX_RANK], axes[FSC_MAX_RANK], steps[FSC_MAX_RANK];
    int ns, ne, na = -1, nst = -1;
    if (r->opset < 10) {
        if ((st = onnx_attr_ints(r, "starts", starts, FSC_MAX_RANK, &ns)) ||
            (st = onnx_attr_ints(r, "ends", ends, FSC_MAX_RANK, &ne)) ||
            (st = onnx_attr_ints(r, "axes", axes, FSC_MAX_RANK, &na)))
            return st;
    } else {
        if ((st = onnx_const_ints(r, 1, "starts", starts, FSC_MAX_RANK, &ns)) ||
            (st = onnx_const_ints(r, 2, "ends", ends, FSC_MAX_RANK, &ne)))
            return st;
        if (onnx_has_input(r, 3) && (st = onnx_const_ints(r, 3, "axes", axes, FSC_MAX_RANK, &na))) return st;
        if (onnx_has_input(r, 4) && (st = onnx_const_ints(r, 4, "steps", steps, FSC_MAX_RANK, &nst))) return st;
    }
    if (ns < 0 || ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return onnx_node_fail(r, FSC_ERR_INVALID, "starts, ends, axes and steps must have the same length");
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    fsc_shape o = *x;
    bool seen[FSC_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) a.slice.step[i] = 1;
    for (int i = 0; i < ns; i++) {
        int64_t ax = i;
        if (na >= 0 && (st = onnx_axis(r, axes[i], x->rank, "axis", &ax))) return st;
        if (ax >= x->rank) return onnx_node_fail(r, FSC_ERR_INVALID, "more slice axes than input axes");
        if (seen[ax]) return onnx_node_fail(r, FSC_ERR_INVALID, "axis %" PRId64 " is repeated", ax);
        seen[ax] = true;
        int64_t step = nst >= 0 ? steps[i] : 1;
        if (step == 0 || step == INT64_MIN) return onnx_node_fail(r, FSC_ERR_INVALID, "step must be non-zero");
        slice_axis(x->dim[ax], starts[i], ends[i], step, &a.slice.start[ax], &o.dim[ax]);
        a.slice.step[ax] = step;
    }
    return onnx_emit(r, FSC_OP_SLICE, &a, 1, &in, 1, NULL, FSC_DT_UNDEF, &o, NULL);
}

static fsc_status op_gather(onnx_rd *r)
{
    int in[2];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 2, 2, in);
    if (st) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    if ((st = onnx_attr_int(r, "axis", 0, &a.axis.axis)) ||
        (st = onnx_axis(r, a.axis.axis, onnx_shape(r, in[0])->rank, "axis", &a.axis.axis)))
        return st;
    return onnx_emit(r, FSC_OP_GATHER, &a, 2, in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

static fsc_status op_reduce_mean(onnx_rd *r)
{
    fsc_status st = single_output(r);
    if (st) return st;
    int in;
    if ((st = onnx_input(r, 0, &in))) return st;
    int64_t axes[FSC_MAX_RANK], keep, noop;
    int n;
    if ((st = axes_operand(r, 18, axes, &n)) || (st = onnx_attr_int(r, "keepdims", 1, &keep)) ||
        (st = onnx_attr_int(r, "noop_with_empty_axes", 0, &noop)))
        return st;
    if (n <= 0 && noop) return onnx_emit(r, FSC_OP_IDENTITY, NULL, 1, &in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    int rank = onnx_shape(r, in)->rank;
    a.axes.naxes = n < 0 ? 0 : n;
    for (int i = 0; i < a.axes.naxes; i++)
        if ((st = onnx_axis(r, axes[i], rank, "axis", &a.axes.axes[i]))) return st;
    a.axes.keepdims = keep != 0;
    return onnx_emit(r, FSC_OP_REDUCE_MEAN, &a, 1, &in, 1, NULL, FSC_DT_UNDEF, NULL, NULL);
}

/* ---- types and quantization ------------------------------------------- */

static fsc_status op_cast(onnx_rd *r)
{
    int in[1];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 1, 1, in);
    if (st) return st;
    int64_t to;
    if ((st = onnx_attr_int(r, "to", 0, &to))) return st;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    a.cast.to = onnx_dtype_from((int32_t)to);
    if (a.cast.to == FSC_DT_UNDEF || to != (int32_t)to)
        return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "cast to element type %" PRId64 " is not supported", to);
    return onnx_emit(r, FSC_OP_CAST, &a, 1, in, 1, NULL, a.cast.to, NULL, NULL);
}

static fsc_status quant(onnx_rd *r, fsc_op op)
{
    int in[3];
    fsc_status st = single_output(r);
    if (!st) st = get_inputs(r, 2, 3, in);
    if (st) return st;
    int64_t block = 0, out_dt = 0;
    fsc_attrs a;
    memset(&a, 0, sizeof a);
    if ((st = onnx_attr_int(r, "axis", 1, &a.quant.axis)) || (st = onnx_attr_int(r, "block_size", 0, &block)) ||
        (st = onnx_attr_int(r, "output_dtype", 0, &out_dt)))
        return st;
    if (block) return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "blocked quantization (block_size) is not supported");
    const fsc_value *scale = &r->g->values[in[1]];
    if (fsc_shape_numel(&scale->shape) != 1 &&
        (st = onnx_axis(r, a.quant.axis, onnx_shape(r, in[0])->rank, "axis", &a.quant.axis)))
        return st;
    if (a.quant.axis < 0) a.quant.axis += onnx_shape(r, in[0])->rank;
    if (op == FSC_OP_QUANTIZE) {
        fsc_dtype zdt = in[2] >= 0 ? r->g->values[in[2]].dtype : FSC_DT_U8;
        if (out_dt) zdt = onnx_dtype_from((int32_t)out_dt);
        if (zdt != FSC_DT_I8 && zdt != FSC_DT_U8)
            return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "quantizing to %s is not supported (int8 and uint8 are)",
                                  fsc_dtype_name(zdt));
        a.quant.out_dtype = zdt;
    } else {
        const fsc_value *q = &r->g->values[in[0]];
        if (in[2] >= 0 && r->g->values[in[2]].dtype != q->dtype)
            return onnx_node_fail(r, FSC_ERR_INVALID, "zero point is %s but the input is %s",
                                  fsc_dtype_name(r->g->values[in[2]].dtype), fsc_dtype_name(q->dtype));
        a.quant.out_dtype = scale->dtype;
    }
    return onnx_emit(r, op, &a, in[2] >= 0 ? 3 : 2, in, 1, NULL, a.quant.out_dtype, NULL, NULL);
}

static fsc_status op_quantize(onnx_rd *r) { return quant(r, FSC_OP_QUANTIZE); }
static fsc_status op_dequantize(onnx_rd *r) { return quant(r, FSC_OP_DEQUANTIZE); }

/* ---- constants -------------------------------------------------------- */

static fsc_status op_constant(onnx_rd *r)
{
    fsc_status st = single_output(r);
    if (st) return st;
    if (onnx_n_inputs(r)) return onnx_node_fail(r, FSC_ERR_INVALID, "a Constant has no inputs");
    if (r->np->n_attribute != 1)
        return onnx_node_fail(r, FSC_ERR_INVALID, "a Constant needs exactly one value attribute");
    const Onnx__AttributeProto *at = r->np->attribute[0];
    fsc_tensor t;
    memset(&t, 0, sizeof t);
    fsc_dtype dt;
    fsc_error e;
    const char *an = at->name ? at->name : "";
    fsc_shape scalar = {.rank = 0}, vec = {.rank = 1};
    if (!strcmp(an, "value") && at->t) {
        if (onnx_tensor_decode(at->t, &r->ctx->limits, &t, &dt, &e)) return onnx_node_fail(r, e.code, "%s", e.msg);
    } else if (!strcmp(an, "value_float") || !strcmp(an, "value_int")) {
        dt = an[6] == 'f' ? FSC_DT_F32 : FSC_DT_I64;
        if (fsc_tensor_alloc(&t, dt, &scalar, 0, &e)) return onnx_node_fail(r, e.code, "%s", e.msg);
        fsc_tensor_set(&t, 0, dt == FSC_DT_F32 ? (double)at->f : (double)at->i);
    } else if (!strcmp(an, "value_floats") || !strcmp(an, "value_ints")) {
        dt = an[6] == 'f' ? FSC_DT_F32 : FSC_DT_I64;
        vec.dim[0] = (int64_t)(dt == FSC_DT_F32 ? at->n_floats : at->n_ints);
        if (fsc_tensor_alloc(&t, dt, &vec, r->ctx->limits.max_tensor_bytes, &e))
            return onnx_node_fail(r, e.code, "%s", e.msg);
        for (int64_t i = 0; i < vec.dim[0]; i++)
            if (dt == FSC_DT_F32) ((float *)t.data)[i] = at->floats[i];
            else ((int64_t *)t.data)[i] = at->ints[i];
    } else {
        return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "Constant attribute '%s' is not supported", an);
    }
    return onnx_add_pending(r, dt, &t);
}

/* ---- dispatch --------------------------------------------------------- */

typedef struct op_entry {
    const char *type;
    bool ms;      /* com.microsoft domain */
    int since;    /* first default-domain opset that has the op */
    op_fn fn;
} op_entry;

static const op_entry ops[] = {
    {"Conv", false, 1, op_conv},
    {"Gemm", false, 1, op_gemm},
    {"MatMul", false, 1, op_matmul},
    {"Add", false, 1, op_add},
    {"Sub", false, 1, op_sub},
    {"Mul", false, 1, op_mul},
    {"Div", false, 1, op_div},
    {"Pow", false, 1, op_pow},
    {"Relu", false, 1, op_relu},
    {"Clip", false, 1, op_clip},
    {"Sigmoid", false, 1, op_sigmoid},
    {"Tanh", false, 1, op_tanh},
    {"Erf", false, 9, op_erf},
    {"Gelu", false, 20, op_gelu},
    {"Gelu", true, 1, op_gelu},
    {"Softmax", false, 1, op_softmax},
    {"LayerNormalization", false, 17, op_layernorm},
    {"BatchNormalization", false, 1, op_batchnorm},
    {"MaxPool", false, 1, op_maxpool},
    {"AveragePool", false, 1, op_avgpool},
    {"GlobalAveragePool", false, 1, op_gap},
    {"ReduceMean", false, 1, op_reduce_mean},
    {"Flatten", false, 1, op_flatten},
    {"Reshape", false, 5, op_reshape},
    {"Squeeze", false, 1, op_squeeze},
    {"Unsqueeze", false, 1, op_unsqueeze},
    {"Transpose", false, 1, op_transpose},
    {"Concat", false, 1, op_concat},
    {"Pad", false, 1, op_pad},
    {"Slice", false, 1, op_slice},
    {"Gather", false, 1, op_gather},
    {"Sqrt", false, 1, op_sqrt},
    {"Identity", false, 1, op_identity},
    {"Dropout", false, 1, op_dropout},
    {"Cast", false, 1, op_cast},
    {"QuantizeLinear", false, 10, op_quantize},
    {"DequantizeLinear", false, 10, op_dequantize},
    {"Constant", false, 1, op_constant},
};

fsc_status onnx_translate_node(onnx_rd *r)
{
    const char *dom = r->np->domain ? r->np->domain : "";
    bool ms = !strcmp(dom, "com.microsoft");
    if (!ms && dom[0] && strcmp(dom, "ai.onnx"))
        return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "operator domain '%s' is not supported", dom);
    if (ms && !r->ms_opset)
        return onnx_node_fail(r, FSC_ERR_INVALID, "uses domain com.microsoft, which the model does not import");
    bool folded = false;
    fsc_status st = ms ? FSC_OK : onnx_try_fold(r, &folded);
    if (st || folded) return st;
    return onnx_translate_node_unfolded(r);
}

fsc_status onnx_translate_node_unfolded(onnx_rd *r)
{
    const char *dom = r->np->domain ? r->np->domain : "";
    bool ms = !strcmp(dom, "com.microsoft");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (ops[i].ms != ms || strcmp(ops[i].type, r->np->op_type)) continue;
        if (!ms && r->opset < ops[i].since) continue;
        return ops[i].fn(r);
    }
    if (ms)
        return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "operator com.microsoft.%s (opset %" PRId64 ") is not supported",
                              r->np->op_type, r->ms_opset);
    return onnx_node_fail(r, FSC_ERR_UNSUPPORTED, "operator %s (opset %" PRId64 ") is not supported", r->np->op_type,
                          r->opset);
}
