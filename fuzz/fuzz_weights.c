/* fuzz_weights.c: weight.bin bytes. The model is fixed (an ONNX fixture
 * converted to Core ML once per process, its constants stored as blobs); the
 * fuzzed bytes are its weight.bin, read by the blob reader through
 * fsc_mlmodel_parse (header check, per-blob metadata, bounds). */
#include "fuzz_pkgfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const pkgfs_seed *s = pkgfs_seed_model();
    fsc_ctx ctx = fuzz_ctx();
    fsc_graph *g = NULL;
    fsc_error err;
    if (fsc_mlmodel_parse(s->model, s->model_len, data, size, &ctx, &g, &err) == FSC_OK) fsc_graph_free(g);
    return 0;
}
