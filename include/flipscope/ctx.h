/* ctx.h: the context every entry point takes: threads, resource limits,
 * progress reporting. There is no global mutable state; what would be global
 * lives here and is passed down. */
#ifndef FLIPSCOPE_CTX_H
#define FLIPSCOPE_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits stop hostile or absurd inputs early. Each has a documented default
 * (docs/limits.md) and a CLI override (--limit NAME=VALUE). */
typedef struct fsc_limits {
    size_t max_tensor_bytes;  /* one tensor's data */
    size_t max_file_bytes;    /* one input file read into memory */
    int max_nodes;            /* nodes in a graph */
    size_t max_string;        /* one name or string attribute */
    int max_nesting;          /* protobuf message nesting */
    size_t max_npy_header;    /* .npy header length */
    size_t max_total_bytes;   /* all tensors of a model at once: its constants, and constants + live intermediates of a run */
} fsc_limits;

typedef void (*fsc_progress_fn)(void *user, const char *what, int64_t done, int64_t total);

typedef struct fsc_ctx {
    int threads;              /* worker threads for kernels; results never depend on it */
    fsc_limits limits;
    fsc_progress_fn progress; /* NULL: silent */
    void *progress_user;
} fsc_ctx;

/* Defaults: threads = online CPUs (at most 64), limits as documented. */
fsc_ctx fsc_ctx_default(void);
fsc_limits fsc_limits_default(void);

#ifdef __cplusplus
}
#endif
#endif
