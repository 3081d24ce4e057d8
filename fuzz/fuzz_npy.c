/* fuzz_npy.c: .npy bytes -> fsc_npy_parse. */
#include "flipscope/model_io.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsc_ctx ctx = fuzz_ctx();
    fsc_tensor t = {0};
    fsc_dtype ft;
    fsc_error err;
    if (fsc_npy_parse(data, size, &ctx.limits, &t, &ft, &err) == FSC_OK) fsc_tensor_free(&t);
    return 0;
}
