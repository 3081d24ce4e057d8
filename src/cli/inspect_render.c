/* inspect_render.c: text and JSON renderings of an inspect result. */
#include <stdio.h>

#include "cli/cli.h"
#include "flipscope/report.h"

static void counts_inline(FILE *f, const fsc_inspect_count *c, int n)
{
    for (int i = 0; i < n; i++) fprintf(f, "%s%d %s", i ? ", " : "", c[i].count, c[i].name);
}

static void refs(FILE *f, const char *title, const fsc_inspect_ref *r, int n, const char *verb)
{
    fprintf(f, "%s (%d):\n", title, n);
    for (int i = 0; i < n; i++)
        fprintf(f, "  %s '%s' %s '%s' (%s)\n", r[i].op_type, r[i].name ? r[i].name : "", verb, r[i].value,
                r[i].detail);
}

void fsc_cli_inspect_text(FILE *f, const fsc_inspect_result *r, const char *model)
{
    fprintf(f, "model: %s\nops: %d\n\nop types:\n", model, r->n_ops);
    for (int i = 0; i < r->n_op_types; i++) fprintf(f, "  %-34s %d\n", r->op_types[i].name, r->op_types[i].count);
    fprintf(f, "\noutput dtypes:\n");
    for (int i = 0; i < r->n_out_dtypes; i++) fprintf(f, "  %-34s %d\n", r->out_dtypes[i].name, r->out_dtypes[i].count);
    fprintf(f, "\nkeyword hits (quant/dequant/constexpr/affine/cast/int8/lut): %d", r->total_hits);
    if (r->n_hits < r->total_hits) fprintf(f, ", first %d shown", r->n_hits);
    fprintf(f, "\n");
    for (int i = 0; i < r->n_hits; i++)
        fprintf(f, "  %s '%s' -> '%s' [%s]\n", r->hits[i].op_type, r->hits[i].name ? r->hits[i].name : "",
                r->hits[i].value, r->hits[i].detail);
    fprintf(f, "\n");
    refs(f, "values produced by quantize ops", r->quantized, r->n_quantized, "makes");
    refs(f, "values produced by dequantize / constexpr ops", r->dequantized, r->n_dequantized, "makes");
    fprintf(f, "\nreal ops consuming dequantized values: %d", r->n_deq_consumers);
    if (r->n_deq_consumers) {
        fprintf(f, " (");
        counts_inline(f, r->deq_consumer_types, r->n_deq_consumer_types);
        fprintf(f, ")");
    }
    fprintf(f, "\n");
    for (int i = 0; i < r->n_deq_consumers; i++)
        fprintf(f, "  %s '%s' reads '%s' (from %s)\n", r->deq_consumers[i].op_type, r->deq_consumers[i].name,
                r->deq_consumers[i].value, r->deq_consumers[i].detail);
    fprintf(f, "real ops consuming quantized values: %d", r->n_q_consumers);
    if (r->n_q_consumers) {
        fprintf(f, " (");
        counts_inline(f, r->q_consumer_types, r->n_q_consumer_types);
        fprintf(f, ")");
    }
    fprintf(f, "\n");
    for (int i = 0; i < r->n_q_consumers; i++)
        fprintf(f, "  %s '%s' reads '%s' (from %s)\n", r->q_consumers[i].op_type, r->q_consumers[i].name,
                r->q_consumers[i].value, r->q_consumers[i].detail);
    fprintf(f, "\nclassification:\n");
    fprintf(f, "  weight-quantization evidence:     %s (%d weight dequantize ops)\n", r->weight_evidence ? "yes" : "no",
            r->weight_dequant_ops);
    fprintf(f, "  activation-quantization evidence: %s (%d quantize, %d dequantize)\n",
            r->activation_evidence ? "yes" : "no", r->quantize_ops, r->dequantize_ops);
    fprintf(f, "  interpretation: %s\n", r->interpretation);
}

cJSON *fsc_cli_inspect_json(const fsc_inspect_result *r) { return fsc_inspect_json(r); }
