/* fuzz_common.h: what every fuzz target shares: a context with tight limits
 * (a fuzzer must not spend its time allocating gigabytes that the default
 * limits would allow) and a tiny byte reader for decoding structured inputs. */
#ifndef FSC_FUZZ_COMMON_H
#define FSC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "flipscope/ctx.h"

/* Single-threaded, limits small enough that one execution stays fast. */
static inline fsc_ctx fuzz_ctx(void)
{
    fsc_ctx c = fsc_ctx_default();
    c.threads = 1;
    c.limits.max_tensor_bytes = (size_t)1 << 22;
    c.limits.max_file_bytes = (size_t)1 << 22;
    c.limits.max_nodes = 4096;
    c.limits.max_string = 4096;
    c.limits.max_npy_header = 4096;
    return c;
}

/* Sequential reader over the fuzzer's bytes; reads past the end give 0. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n, at;
} fuzz_in;

static inline uint8_t fuzz_u8(fuzz_in *in) { return in->at < in->n ? in->p[in->at++] : 0; }
static inline uint16_t fuzz_u16(fuzz_in *in)
{
    uint16_t lo = fuzz_u8(in);
    return (uint16_t)(lo | (uint16_t)fuzz_u8(in) << 8);
}
static inline size_t fuzz_left(const fuzz_in *in) { return in->at < in->n ? in->n - in->at : 0; }

#endif
