/* mlp_internal.h (internal): shared pieces of the Core ML .mlpackage reader and
 * writer: short names for the protobuf-c types, weight.bin blob storage,
 * fp16 bit conversion, the MIL <-> IR dtype maps. */
#ifndef FSC_MLP_INTERNAL_H
#define FSC_MLP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "coreml_subset.pb-c.h"
#include "flipscope/ctx.h"
#include "flipscope/graph.h"
#include "flipscope/status.h"
#include "flipscope/tensor.h"

typedef CoreML__Specification__Model Mlp_Model;
typedef CoreML__Specification__ModelDescription Mlp_ModelDesc;
typedef CoreML__Specification__FeatureDescription Mlp_Feature;
typedef CoreML__Specification__FeatureType Mlp_FeatureType;
typedef CoreML__Specification__ArrayFeatureType Mlp_ArrayType;
typedef CoreML__Specification__MILSpec__Program Mlp_Program;
typedef CoreML__Specification__MILSpec__FunctionsEntry Mlp_FunctionsEntry;
typedef CoreML__Specification__MILSpec__Function Mlp_Function;
typedef CoreML__Specification__MILSpec__BlockSpecializationsEntry Mlp_BlockEntry;
typedef CoreML__Specification__MILSpec__Block Mlp_Block;
typedef CoreML__Specification__MILSpec__Operation Mlp_Op;
typedef CoreML__Specification__MILSpec__InputsEntry Mlp_InputsEntry;
typedef CoreML__Specification__MILSpec__Argument Mlp_Argument;
typedef CoreML__Specification__MILSpec__Argument__Binding Mlp_Binding;
typedef CoreML__Specification__MILSpec__AttributesEntry Mlp_AttrEntry;
typedef CoreML__Specification__MILSpec__NamedValueType Mlp_NamedType;
typedef CoreML__Specification__MILSpec__ValueType Mlp_ValueType;
typedef CoreML__Specification__MILSpec__TensorType Mlp_TensorType;
typedef CoreML__Specification__MILSpec__Dimension Mlp_Dim;
typedef CoreML__Specification__MILSpec__Dimension__ConstantDimension Mlp_ConstDim;
typedef CoreML__Specification__MILSpec__Value Mlp_Value;
typedef CoreML__Specification__MILSpec__Value__ImmediateValue Mlp_Immediate;
typedef CoreML__Specification__MILSpec__Value__BlobFileValue Mlp_BlobValue;
typedef CoreML__Specification__MILSpec__TensorValue Mlp_TensorValue;

/* MIL DataType numbers (the facts page). */
enum {
    MLP_BOOL = 1, MLP_STRING = 2, MLP_FLOAT16 = 10, MLP_FLOAT32 = 11, MLP_FLOAT64 = 12,
    MLP_INT8 = 21, MLP_INT32 = 23, MLP_INT64 = 24, MLP_UINT8 = 31
};
/* ArrayFeatureType data types. */
enum { MLP_ARR_FLOAT16 = 65552, MLP_ARR_FLOAT32 = 65568, MLP_ARR_DOUBLE = 65600,
       MLP_ARR_INT8 = 131080, MLP_ARR_INT32 = 131104 };
/* weight.bin blob dtypes. */
enum { MLP_BLOB_F16 = 1, MLP_BLOB_F32 = 2, MLP_BLOB_U8 = 3, MLP_BLOB_I8 = 4, MLP_BLOB_I32 = 14 };

#define MLP_BLOB_SENTINEL 0xDEADBEEFu
#define MLP_BLOB_ALIGN 64
#define MLP_WEIGHT_REF "@model_path/weights/weight.bin"
#define MLP_SPEC_VERSION 8
#define MLP_OPSET "CoreML7"

/* MIL dtype -> IR dtype; FSC_DT_UNDEF when unsupported. */
fsc_dtype fsc_mlp_dtype_from_mil(int mil);
/* IR dtype -> MIL dtype; 0 when unsupported. */
int fsc_mlp_dtype_to_mil(fsc_dtype dt);
/* Blob storage dtype of an IR dtype (0: not storable in weight.bin). */
int fsc_mlp_blob_dtype(fsc_dtype dt);
/* Name of a MIL dtype number for messages ("fp16", "int8", ...). */
const char *fsc_mlp_mil_dtype_name(int mil);

float fsc_mlp_half_to_float(uint16_t h);
/* Exact for values already rounded to fp16; otherwise rounds to nearest-even. */
uint16_t fsc_mlp_float_to_half(float f);

/* Checks a weight.bin header (size, version 2). file names the file for errors. */
fsc_status fsc_mlp_blob_check(const uint8_t *buf, size_t len, const char *file, fsc_error *err);
/* Locates the blob whose metadata starts at offset: checks alignment, sentinel,
 * dtype == want_dtype, size == want_bytes and that the data lies inside the file.
 * On success *data points into buf. */
fsc_status fsc_mlp_blob_get(const uint8_t *buf, size_t len, uint64_t offset, int want_dtype, uint64_t want_bytes,
                            const uint8_t **data, const char *file, fsc_error *err);

/* Growable weight.bin under construction. */
typedef struct fsc_mlp_blob_writer {
    uint8_t *buf;
    size_t len, cap;
    uint32_t count;
} fsc_mlp_blob_writer;

fsc_status fsc_mlp_blob_writer_init(fsc_mlp_blob_writer *w, fsc_error *err);
/* Appends one blob (64-byte metadata + data, both 64-aligned); *offset gets the metadata offset. */
fsc_status fsc_mlp_blob_append(fsc_mlp_blob_writer *w, int dtype, const void *data, size_t nbytes,
                               uint64_t *offset, fsc_error *err);
void fsc_mlp_blob_writer_free(fsc_mlp_blob_writer *w);

/* Supplies the bytes of a blob file named in the program (e.g. MLP_WEIGHT_REF). */
typedef fsc_status (*fsc_mlp_blob_resolver)(void *user, const char *file_name, const uint8_t **buf, size_t *len,
                                            fsc_error *err);

/* Translates an unpacked Model holding an ML Program into a new graph. */
fsc_status fsc_mlp_model_to_graph(const Mlp_Model *m, fsc_mlp_blob_resolver resolve, void *user,
                                  const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);

/* Serializes g as a spec-8 Model (*model, malloc'ed) and its weight.bin (*weights, malloc'ed,
 * NULL when no constant needed blob storage: *weights_len = 0). */
fsc_status fsc_mlp_graph_to_model(const fsc_graph *g, uint8_t **model, size_t *model_len, uint8_t **weights,
                                  size_t *weights_len, fsc_error *err);

/* root + "/" + rel after checking that rel is relative, has no ".." component, and that
 * the file it names exists and (symlinks resolved) lies inside root. *out is malloc'ed. */
fsc_status fsc_mlp_safe_path(const char *root, const char *rel, char **out, fsc_error *err);

/* Parses pkg/Manifest.json and returns the path of the root model file (malloc'ed). */
fsc_status fsc_mlp_manifest_model_path(const char *pkg, const fsc_limits *lim, char **model_path, fsc_error *err);

#endif
