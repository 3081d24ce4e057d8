/* inspect_render.c: text and JSON renderings of an inspect result. */
#include <stdio.h>

#include "cli/cli.h"

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

static cJSON *counts_json(const fsc_inspect_count *c, int n)
{
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < n; i++) cJSON_AddNumberToObject(o, c[i].name, c[i].count);
    return o;
}

static cJSON *refs_json(const fsc_inspect_ref *r, int n, const char *detail_key)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "node", r[i].node);
        cJSON_AddStringToObject(o, "op_type", r[i].op_type);
        cJSON_AddStringToObject(o, "name", r[i].name ? r[i].name : "");
        cJSON_AddStringToObject(o, "value", r[i].value ? r[i].value : "");
        cJSON_AddStringToObject(o, detail_key, r[i].detail ? r[i].detail : "");
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *fsc_cli_inspect_json(const fsc_inspect_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "ops", r->n_ops);
    cJSON_AddItemToObject(o, "op_types", counts_json(r->op_types, r->n_op_types));
    cJSON_AddItemToObject(o, "output_dtypes", counts_json(r->out_dtypes, r->n_out_dtypes));
    cJSON_AddNumberToObject(o, "total_hits", r->total_hits);
    cJSON_AddItemToObject(o, "hits", refs_json(r->hits, r->n_hits, "keyword"));
    cJSON_AddItemToObject(o, "quantized_values", refs_json(r->quantized, r->n_quantized, "dtype"));
    cJSON_AddItemToObject(o, "dequantized_values", refs_json(r->dequantized, r->n_dequantized, "dtype"));
    cJSON_AddItemToObject(o, "real_ops_consuming_dequantized", refs_json(r->deq_consumers, r->n_deq_consumers, "producer"));
    cJSON_AddItemToObject(o, "real_ops_consuming_dequantized_by_type",
                          counts_json(r->deq_consumer_types, r->n_deq_consumer_types));
    cJSON_AddItemToObject(o, "real_ops_consuming_quantized", refs_json(r->q_consumers, r->n_q_consumers, "producer"));
    cJSON_AddItemToObject(o, "real_ops_consuming_quantized_by_type",
                          counts_json(r->q_consumer_types, r->n_q_consumer_types));
    cJSON_AddBoolToObject(o, "weight_quantization_evidence", r->weight_evidence);
    cJSON_AddNumberToObject(o, "weight_dequantize_ops", r->weight_dequant_ops);
    cJSON_AddBoolToObject(o, "activation_quantization_evidence", r->activation_evidence);
    cJSON_AddNumberToObject(o, "quantize_ops", r->quantize_ops);
    cJSON_AddNumberToObject(o, "dequantize_ops", r->dequantize_ops);
    cJSON_AddStringToObject(o, "interpretation", r->interpretation);
    return o;
}
