/* status.h: error codes and error messages with context.
 *
 * Every fallible function returns an fsc_status and, when it fails, fills an
 * fsc_error (if the caller passed one) with a one-line message that says
 * where: "model.onnx: node 12 (Conv '/stem/0'): kernel_shape has 3 values".
 * Context is added from the inside out with fsc_error_prefix().
 */
#ifndef FLIPSCOPE_STATUS_H
#define FLIPSCOPE_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fsc_status {
    FSC_OK = 0,
    FSC_ERR_INVALID,     /* bad argument, bad model, bad shape */
    FSC_ERR_IO,          /* file could not be read or written */
    FSC_ERR_NOMEM,       /* allocation failed */
    FSC_ERR_UNSUPPORTED, /* valid input we do not handle (an op, a dtype) */
    FSC_ERR_LIMIT,       /* a resource limit of fsc_ctx was hit */
    FSC_ERR_FORMAT,      /* malformed file (truncated, wrong magic, ...) */
    FSC_ERR_UNAVAILABLE, /* backend or device not built or not present */
    FSC_ERR_INTERNAL     /* a bug: an invariant did not hold */
} fsc_status;

#define FSC_ERROR_MSG_MAX 1024

typedef struct fsc_error {
    fsc_status code;
    char msg[FSC_ERROR_MSG_MAX];
} fsc_error;

/* Sets err (when not NULL) to code and the printf-formatted message; returns code. */
fsc_status fsc_fail(fsc_error *err, fsc_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "<formatted>: " to err->msg (context from an outer layer). No-op on NULL. */
void fsc_error_prefix(fsc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears err to FSC_OK and an empty message. */
void fsc_error_clear(fsc_error *err);

/* Short stable name of a status ("ok", "invalid", "io", ...). */
const char *fsc_status_name(fsc_status s);

/* malloc/calloc that fail cleanly: return NULL and set err to FSC_ERR_NOMEM naming what. */
void *fsc_malloc(size_t n, const char *what, fsc_error *err);
void *fsc_calloc(size_t count, size_t size, const char *what, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
