/* fuzz_mlmodel.c: Core ML Model protobuf bytes -> fsc_mlmodel_parse, without
 * weights (blob references then fail cleanly). */
#include "flipscope/mlpackage.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsc_ctx ctx = fuzz_ctx();
    fsc_graph *g = NULL;
    fsc_error err;
    if (fsc_mlmodel_parse(data, size, NULL, 0, &ctx, &g, &err) == FSC_OK) fsc_graph_free(g);
    return 0;
}
