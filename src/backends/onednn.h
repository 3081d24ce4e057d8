/* onednn.h (internal): the oneDNN backend (onednn_impl.c, built with FSC_HAVE_ONEDNN). */
#ifndef FSC_ONEDNN_H
#define FSC_ONEDNN_H

#include "backends/registry.h"

/* A backend running supported nodes on oneDNN primitives; variant "f32" or "bf16". */
fsc_status fsc_onednn_backend_new(const char *variant, const fsc_ctx *ctx, fsc_backend **out, fsc_error *err);
/* Whether oneDNN has native bf16 on this CPU; false fills reason. */
bool fsc_onednn_bf16_ok(char *reason, size_t len);
/* Whether b (a oneDNN backend) runs node natively. */
bool fsc_onednn_supports(const fsc_backend *b, const fsc_graph *g, int node);

#endif
