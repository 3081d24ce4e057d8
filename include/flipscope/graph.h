/* graph.h: the format-neutral graph IR.
 *
 * A graph holds values (named tensors with a dtype and a static shape, some of
 * them constants) and nodes (an op kind, input and output value ids, a typed
 * attribute struct). Nodes are appended in topological order: a node may only
 * read values that already exist, so a graph is acyclic by construction.
 * fsc_graph_add_node infers and checks output shapes and dtypes; an error
 * names the node ("node 12 (Conv '/stem/0'): ...").
 *
 * Ownership: the graph owns its values, nodes, names and constant tensors.
 * Loaders translate files into this IR; writers translate it out.
 */
#ifndef FLIPSCOPE_GRAPH_H
#define FLIPSCOPE_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "flipscope/status.h"
#include "flipscope/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fsc_op {
    FSC_OP_CONSTANT = 0, /* no inputs; its output value holds the data */
    FSC_OP_IDENTITY,
    FSC_OP_CONV2D,       /* x [N,C,H,W], w [M,C/g,kh,kw], optional b [M] */
    FSC_OP_GEMM,         /* y = alpha * A' B' + beta * C; Core ML linear = Gemm(transB) */
    FSC_OP_MATMUL,       /* numpy matmul semantics, batched, broadcasting */
    FSC_OP_ADD,
    FSC_OP_SUB,
    FSC_OP_MUL,
    FSC_OP_DIV,
    FSC_OP_POW,
    FSC_OP_RELU,
    FSC_OP_CLIP,
    FSC_OP_SIGMOID,
    FSC_OP_SILU,
    FSC_OP_TANH,
    FSC_OP_ERF,
    FSC_OP_GELU,
    FSC_OP_SQRT,
    FSC_OP_SOFTMAX,
    FSC_OP_LAYERNORM,    /* x, scale, optional bias; normalised over axes >= axis */
    FSC_OP_BATCHNORM,    /* x, scale, bias, mean, var (inference) */
    FSC_OP_MAXPOOL,
    FSC_OP_AVGPOOL,
    FSC_OP_GLOBAL_AVGPOOL,
    FSC_OP_REDUCE_MEAN,
    FSC_OP_RESHAPE,      /* also Flatten, Squeeze, Unsqueeze: the output shape is static */
    FSC_OP_TRANSPOSE,
    FSC_OP_CONCAT,
    FSC_OP_PAD,
    FSC_OP_SLICE,
    FSC_OP_GATHER,
    FSC_OP_CAST,
    FSC_OP_QUANTIZE,     /* x, scale, optional zero_point -> int8/uint8 */
    FSC_OP_DEQUANTIZE,   /* q, scale, optional zero_point -> float */
    FSC_OP_OPAQUE,       /* an op flipscope cannot translate, kept only so inspection can list it
                            (fsc_onnx_load_for_inspection); no backend runs it. Outputs have the
                            shape the loader passes in out_shape (rank 0 when unknown) */
    FSC_OP_COUNT
} fsc_op;

/* Stable lower-case name of an op kind ("conv2d", "gemm", ...). */
const char *fsc_op_name(fsc_op op);

typedef struct fsc_attr_conv {
    int64_t stride[2];
    int64_t pad[4]; /* top, left, bottom, right */
    int64_t dilation[2];
    int64_t group;
} fsc_attr_conv;

typedef struct fsc_attr_pool {
    int64_t kernel[2];
    int64_t stride[2];
    int64_t pad[4]; /* top, left, bottom, right */
    int64_t dilation[2];
    bool count_include_pad;
    bool ceil_mode;
} fsc_attr_pool;

typedef struct fsc_attr_gemm {
    double alpha, beta;
    bool trans_a, trans_b;
} fsc_attr_gemm;

typedef struct fsc_attr_axes {
    int naxes; /* 0 with reduce_mean = all axes */
    int64_t axes[FSC_MAX_RANK];
    bool keepdims;
} fsc_attr_axes;

typedef struct fsc_attr_transpose {
    int perm[FSC_MAX_RANK];
} fsc_attr_transpose;

typedef struct fsc_attr_axis {
    int64_t axis; /* concat, softmax, gather; may be negative as in ONNX */
} fsc_attr_axis;

typedef struct fsc_attr_norm {
    int64_t axis;   /* layernorm: first normalised axis */
    double epsilon;
} fsc_attr_norm;

typedef struct fsc_attr_clip {
    double lo, hi; /* -inf / +inf when absent */
} fsc_attr_clip;

typedef struct fsc_attr_gelu {
    bool tanh_approx;
} fsc_attr_gelu;

typedef struct fsc_attr_quant {
    int64_t axis;        /* per-axis scale axis; ignored for a scalar scale */
    fsc_dtype out_dtype; /* quantize: I8 or U8; dequantize: F32 or F16 */
} fsc_attr_quant;

typedef struct fsc_attr_cast {
    fsc_dtype to;
} fsc_attr_cast;

typedef struct fsc_attr_pad {
    int64_t pads[2 * FSC_MAX_RANK]; /* begin of each axis, then end of each axis (ONNX order) */
    double value;                   /* constant mode only */
} fsc_attr_pad;

typedef struct fsc_attr_slice {
    int64_t start[FSC_MAX_RANK]; /* resolved: 0 <= start; per axis of the input */
    int64_t step[FSC_MAX_RANK];  /* non-zero; output dim comes from the output shape */
} fsc_attr_slice;

typedef union fsc_attrs {
    fsc_attr_conv conv;
    fsc_attr_pool pool;
    fsc_attr_gemm gemm;
    fsc_attr_axes axes;
    fsc_attr_transpose transpose;
    fsc_attr_axis axis;
    fsc_attr_norm norm;
    fsc_attr_clip clip;
    fsc_attr_gelu gelu;
    fsc_attr_quant quant;
    fsc_attr_cast cast;
    fsc_attr_pad pad;
    fsc_attr_slice slice;
} fsc_attrs;

typedef struct fsc_value {
    char *name;
    fsc_dtype dtype;      /* logical element type (F16 in an fp16 program) */
    fsc_shape shape;
    fsc_tensor *constant; /* owned; NULL unless the value is a constant */
    int producer;         /* node index, or -1 for graph inputs and initializers */
    bool is_input, is_output;
} fsc_value;

typedef struct fsc_node {
    fsc_op op;
    char *name;    /* node name as in the source file */
    char *op_type; /* op type as written in the source ("Conv", "conv", "constexpr_affine_dequantize") */
    int n_in, n_out;
    int *in;       /* value ids; -1 for an absent optional input */
    int *out;
    fsc_attrs attr;
} fsc_node;

typedef struct fsc_graph {
    char *name;
    fsc_value *values;
    int n_values, cap_values;
    fsc_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;  /* value ids of graph inputs, in order */
    int n_inputs;
    int *outputs; /* value ids of graph outputs, in order */
    int n_outputs;
    struct fsc_name_index *index; /* private: value name -> id hash */
    char *source_path; /* absolute path of the file fsc_model_load read, or NULL (built, cloned) */
    size_t const_bytes;     /* bytes of all constant tensors attached so far */
    size_t max_const_bytes; /* 0: unbounded; loaders set it from the max_total_bytes limit */
} fsc_graph;

/* What a loader hands to fsc_graph_add_node. Output shapes and dtypes are inferred. */
typedef struct fsc_node_spec {
    fsc_op op;
    const char *name;
    const char *op_type;   /* NULL: fsc_op_name(op) */
    int n_in;
    const int *in;
    int n_out;
    const char *const *out_names;
    fsc_attrs attr;
    fsc_dtype out_dtype;   /* only for ops whose output dtype is not implied (cast, quantize, dequantize) */
    const fsc_shape *out_shape; /* only for RESHAPE (and SLICE): the static output shape */
} fsc_node_spec;

fsc_graph *fsc_graph_new(const char *name, fsc_error *err);
void fsc_graph_free(fsc_graph *g);

/* Adds a graph input; returns its value id, or -1 with err set (duplicate name, bad shape). */
int fsc_graph_add_input(fsc_graph *g, const char *name, fsc_dtype dtype, const fsc_shape *shape,
                        fsc_error *err);
/* Adds an initializer (constant value without a producing node). Takes ownership of *t
 * (the struct is moved, *t is zeroed) even on failure. Returns the value id or -1. */
int fsc_graph_add_initializer(fsc_graph *g, const char *name, fsc_dtype dtype, fsc_tensor *t,
                              fsc_error *err);
/* Adds a CONSTANT node (ONNX Constant, Core ML const) whose single output holds *t
 * (ownership taken as above). Returns the output value id or -1. */
int fsc_graph_add_const_node(fsc_graph *g, const char *node_name, const char *op_type,
                             const char *value_name, fsc_dtype dtype, fsc_tensor *t, fsc_error *err);
/* Appends a node, infers and checks its output shapes; returns the node index or -1.
 * On success spec's outputs exist as values (ids in g->nodes[i].out). */
int fsc_graph_add_node(fsc_graph *g, const fsc_node_spec *spec, fsc_error *err);
/* Marks value id as a graph output (in call order). */
fsc_status fsc_graph_add_output(fsc_graph *g, int value, fsc_error *err);

/* Value id by name, or -1. */
int fsc_graph_find(const fsc_graph *g, const char *name);
/* Bytes of tensors a run of g holds at its peak, executing nodes in order and
 * freeing each intermediate after its last reader (as the engine does):
 * constants, inputs and live node outputs, float values counted at
 * float_elem bytes per element (4 for F32 containers, 8 for F64), others at
 * their dtype's size. Saturates at UINT64_MAX. */
uint64_t fsc_graph_peak_bytes(const fsc_graph *g, size_t float_elem);

/* True when value id is a constant (initializer or CONSTANT node output). */
bool fsc_graph_is_const(const fsc_graph *g, int value);
/* "node 12 (Conv '/stem/0')" into buf; returns buf. */
char *fsc_node_label(const fsc_graph *g, int node, char *buf, size_t len);

/* Deep copy (for transforms that rewrite a graph). NULL with err on failure. */
fsc_graph *fsc_graph_clone(const fsc_graph *g, fsc_error *err);

/* Shape and dtype inference for one node (used by fsc_graph_add_node; exposed for
 * transforms and tests). in_vals are the input values (NULL for absent optionals). */
fsc_status fsc_infer_node(const fsc_node_spec *spec, const fsc_value *const *in_vals, fsc_shape *out_shapes,
                          fsc_dtype *out_dtypes, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
