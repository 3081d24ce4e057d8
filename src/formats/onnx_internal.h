/* onnx_internal.h: what the ONNX reader's parts share (not public).
 *
 * onnx_read.c parses the ModelProto, converts tensors, resolves names, sorts
 * the nodes and drives the translation; onnx_ops.c maps each ONNX operator onto
 * IR nodes; onnx_fold.c evaluates integer shape arithmetic on constants. */
#ifndef FSC_ONNX_INTERNAL_H
#define FSC_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "onnx_subset.pb-c.h"

/* Name -> index hash map (open addressing); names are borrowed, not copied. */
typedef struct onnx_names {
    const char **keys;
    int *vals;
    size_t cap, n;
} onnx_names;

/* A constant (Constant node or folded shape arithmetic) not yet in the graph: it
 * becomes a CONSTANT node only when a node reads it as data, so constants used
 * only as static parameters (a Reshape's shape) leave no trace in the IR. */
typedef struct onnx_pending {
    char *value, *node, *op_type;
    fsc_dtype dtype;
    fsc_tensor t; /* moved into the graph when materialised */
} onnx_pending;

typedef struct onnx_rd {
    const char *file;            /* for messages */
    const fsc_ctx *ctx;
    fsc_graph *g;
    int64_t opset;               /* default domain ("" or "ai.onnx") */
    int64_t ms_opset;            /* com.microsoft, 0 when not imported */
    const Onnx__GraphProto *gp;
    onnx_names inits;            /* initializer name -> index in gp->initializer */
    int tmp_counter;             /* for names of helper values the loader adds */
    onnx_pending *pend;          /* pending constants, indexed through pend_names */
    int n_pend;
    onnx_names pend_names;
    /* The node being translated. */
    const Onnx__NodeProto *np;
    int node_index;              /* position in the file */
    fsc_error *err;
    /* Inspection-only loading: a node that cannot be translated becomes an
     * FSC_OP_OPAQUE node instead of an error; the first such error is kept. */
    bool lenient;
    fsc_error *note;
} onnx_rd;

/* Fails with "<file>: node i (<op> '<name>'): <msg>" for the current node. */
fsc_status onnx_node_fail(onnx_rd *r, fsc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Attribute lookup on the current node (NULL when absent). */
const Onnx__AttributeProto *onnx_attr(const onnx_rd *r, const char *name);
/* Typed attribute getters: absent -> *out = dflt; a wrong type is an error. */
fsc_status onnx_attr_int(onnx_rd *r, const char *name, int64_t dflt, int64_t *out);
fsc_status onnx_attr_float(onnx_rd *r, const char *name, double dflt, double *out);
/* Copies a string attribute into buf (dflt when absent). */
fsc_status onnx_attr_string(onnx_rd *r, const char *name, const char *dflt, char *buf, size_t len);
/* Integer list attribute: *n = -1 when absent; more than max values is an error. */
fsc_status onnx_attr_ints(onnx_rd *r, const char *name, int64_t *vals, int max, int *n);

/* Number of inputs of the current node, not counting trailing empty names. */
int onnx_n_inputs(const onnx_rd *r);
/* True when input i of the current node is present (non-empty name). */
bool onnx_has_input(const onnx_rd *r, int i);
/* Records the current node's single output as a pending constant (takes *t, even on failure). */
fsc_status onnx_add_pending(onnx_rd *r, fsc_dtype dtype, fsc_tensor *t);
/* True when name is an integer constant (any source) of at most max_numel elements, judged without
 * materialising or decoding it. */
bool onnx_is_small_int_const(const onnx_rd *r, const char *name, int64_t max_numel);
/* The initializer called name, or NULL. */
const Onnx__TensorProto *onnx_find_init(const onnx_rd *r, const char *name);
/* Value id of input i (materialising an initializer on first use); -1 with err when unknown. */
fsc_status onnx_input(onnx_rd *r, int i, int *id);
/* Constant data of input i (an initializer or a constant value) into *t (a copy the caller frees).
 * what names the operand in messages ("shape", "pads"). Not constant -> error. */
fsc_status onnx_const_input(onnx_rd *r, int i, const char *what, fsc_tensor *t);
/* Integer list from a constant input (I64/I32 1-D, at most max values). */
fsc_status onnx_const_ints(onnx_rd *r, int i, const char *what, int64_t *vals, int max, int *n);

/* Appends one IR node for the current node; outs are the output names
 * (NULL: the ONNX node's own outputs). Returns the IR node index in *idx (may be NULL). */
fsc_status onnx_emit(onnx_rd *r, fsc_op op, const fsc_attrs *attr, int n_in, const int *in, int n_out,
                     const char *const *outs, fsc_dtype out_dtype, const fsc_shape *out_shape, int *idx);
/* A fresh value name derived from base ("base/__fsc1"). Caller frees. */
char *onnx_tmp_name(onnx_rd *r, const char *base);
/* Shape of value id. */
const fsc_shape *onnx_shape(const onnx_rd *r, int id);
/* Normalises axis into [0, rank) (ONNX allows [-rank, rank)); error naming what. */
fsc_status onnx_axis(onnx_rd *r, int64_t axis, int rank, const char *what, int64_t *out);

/* ONNX TensorProto.DataType -> dtype (FSC_DT_UNDEF when unsupported). */
fsc_dtype onnx_dtype_from(int32_t dt);
/* dtype -> ONNX TensorProto.DataType (0 when it has none). */
int32_t onnx_dtype_to(fsc_dtype dt);
/* Decodes a TensorProto into *t (logical dtype in *dtype: F16 for FLOAT16 data in an F32 container). */
fsc_status onnx_tensor_decode(const Onnx__TensorProto *tp, const fsc_limits *lim, fsc_tensor *t, fsc_dtype *dtype,
                              fsc_error *err);

/* Maps the current node onto the graph (onnx_ops.c). */
fsc_status onnx_translate_node(onnx_rd *r);
/* Maps the current node without trying to fold it (onnx_ops.c). */
fsc_status onnx_translate_node_unfolded(onnx_rd *r);
/* When every input of the current node is an integer constant and the op is
 * shape arithmetic, evaluates it and adds CONSTANT nodes; *done says whether it did (onnx_fold.c). */
fsc_status onnx_try_fold(onnx_rd *r, bool *done);

#endif
