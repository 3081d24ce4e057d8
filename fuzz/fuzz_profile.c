/* fuzz_profile.c: device profile text -> fsc_profile_parse (docs/plan.md). */
#include "flipscope/plan.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsc_profile *p = NULL;
    fsc_error err;
    if (fsc_profile_parse((const char *)data, size, "fuzz", "<fuzz input>", &p, &err) == FSC_OK) fsc_profile_free(p);
    return 0;
}
