/* xnnpack.h (internal): the XNNPACK backend (xnnpack_impl.c, built with FSC_HAVE_XNNPACK). */
#ifndef FSC_XNNPACK_H
#define FSC_XNNPACK_H

#include "backends/registry.h"

/* A backend running supported nodes on XNNPACK operators; variant "f32" or "f16". */
fsc_status fsc_xnnpack_backend_new(const char *variant, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err);
/* Whether XNNPACK (and with f16 its half-precision kernels) works on this CPU; false fills reason. */
bool fsc_xnnpack_ok(bool f16, char *reason, size_t len);

#endif
