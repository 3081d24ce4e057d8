/* ctx.c: default context and limits (documented in docs/limits.md). */
#include "flipscope/ctx.h"

#include <unistd.h>

fsc_limits fsc_limits_default(void)
{
    fsc_limits l;
    l.max_tensor_bytes = (size_t)4 << 30; /* 4 GiB: larger than any model we target */
    l.max_file_bytes = (size_t)8 << 30;
    l.max_nodes = 1 << 20;
    l.max_string = 1 << 16;
    l.max_nesting = 64;
    l.max_npy_header = 1 << 16;
    l.max_total_bytes = (size_t)16 << 30; /* 16 GiB */
    return l;
}

fsc_ctx fsc_ctx_default(void)
{
    fsc_ctx c;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c.threads = n < 1 ? 1 : (n > 64 ? 64 : (int)n);
    c.limits = fsc_limits_default();
    c.progress = 0;
    c.progress_user = 0;
    return c;
}
