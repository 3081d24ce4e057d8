/* fuzz_onnx.c: ONNX ModelProto bytes -> fsc_onnx_parse. A model that parses
 * and is small is also run once on emu:fp32 with zero inputs, so fuzzed
 * attributes reach the kernels too. */
#include <stdlib.h>

#include "flipscope/exec.h"
#include "flipscope/onnx.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs g once on emu:fp32 with zero-filled inputs when its inputs are small. */
static void run_once(const fsc_graph *g, const fsc_ctx *ctx)
{
    enum { MAX_IN = 8 };
    if (g->n_inputs > MAX_IN || g->n_nodes > 64) return;
    fsc_tensor in[MAX_IN] = {0};
    fsc_error err;
    int ok = 1;
    for (int i = 0; i < g->n_inputs && ok; i++) {
        const fsc_value *v = &g->values[g->inputs[i]];
        int64_t n = fsc_shape_numel(&v->shape);
        if (n < 0 || n > 4096 || !fsc_dtype_is_float(v->dtype)) ok = 0;
        else if (fsc_tensor_alloc(&in[i], FSC_DT_F32, &v->shape, 0, &err)) ok = 0;
    }
    fsc_engine *e = NULL;
    if (ok && fsc_engine_open("emu:fp32", g, ctx, &e, &err) == FSC_OK) {
        fsc_tensor *out = calloc((size_t)g->n_outputs + 1, sizeof *out);
        if (out && fsc_engine_run(e, in, out, NULL, &err) == FSC_OK)
            for (int i = 0; i < g->n_outputs; i++) fsc_tensor_free(&out[i]);
        free(out);
        fsc_engine_close(e);
    }
    for (int i = 0; i < MAX_IN; i++) fsc_tensor_free(&in[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsc_ctx ctx = fuzz_ctx();
    fsc_graph *g = NULL;
    fsc_error err;
    if (fsc_onnx_parse(data, size, &ctx, &g, &err) == FSC_OK) {
        run_once(g, &ctx);
        fsc_graph_free(g);
    }
    return 0;
}
