/* json_common.c: the JSON every --json output shares (docs/json.md): the
 * envelope, the DRIFT object and the inspect object. In the library so the
 * report renderer and the CLI print the same schema. */
#include "flipscope/format.h"
#include "flipscope/report.h"

cJSON *fsc_json_envelope(const char *command)
{
    cJSON *d = cJSON_CreateObject();
    if (!d) return NULL;
    cJSON_AddNumberToObject(d, "schema_version", FSC_JSON_SCHEMA_VERSION);
    cJSON_AddStringToObject(d, "tool", FSC_TOOL_NAME);
    cJSON_AddStringToObject(d, "command", command);
    return d;
}

static cJSON *num_array(const double *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; v && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

cJSON *fsc_drift_json(const fsc_drift_result *r)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "runs", r->runs);
    cJSON_AddStringToObject(d, "reference", r->cfg[r->reference].name);
    cJSON *m = cJSON_AddArrayToObject(d, "margin_classes");
    cJSON_AddItemToArray(m, cJSON_CreateNumber(r->class_a));
    cJSON_AddItemToArray(m, cJSON_CreateNumber(r->class_b));
    cJSON_AddBoolToObject(d, "any_flip", r->any_flip);
    cJSON_AddBoolToObject(d, "any_instability", r->any_instability);
    cJSON *arr = cJSON_AddArrayToObject(d, "configurations");
    for (int i = 0; i < r->n; i++) {
        const fsc_drift_config *c = &r->cfg[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", c->name);
        cJSON_AddBoolToObject(o, "emulated", c->info.emulated);
        if (c->info.stands_for) cJSON_AddStringToObject(o, "stands_for", c->info.stands_for);
        if (c->info.certainty) cJSON_AddStringToObject(o, "certainty", c->info.certainty);
        cJSON_AddStringToObject(o, "status", c->failed ? "FAILED" : "ok");
        if (c->failed) cJSON_AddStringToObject(o, "error", c->error);
        cJSON_AddNumberToObject(o, "runs_done", c->runs_done);
        if (c->logits) {
            cJSON_AddBoolToObject(o, "raw_drift", c->raw_drift);
            cJSON_AddBoolToObject(o, "argmax_drift", c->argmax_drift);
            cJSON_AddNumberToObject(o, "first_drift_run", c->first_drift_run);
            cJSON_AddNumberToObject(o, "worst_abs_diff", c->worst_abs_diff);
            cJSON_AddNumberToObject(o, "seconds_per_run", c->seconds_per_run);
            cJSON *sh = cJSON_AddArrayToObject(o, "shape");
            for (int k = 0; k < c->shape.rank; k++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)c->shape.dim[k]));
            cJSON_AddStringToObject(o, "output_format", fsc_format_get(c->out_fmt)->name);
            cJSON_AddItemToObject(o, "logits", num_array(c->logits, c->n_logits));
            cJSON_AddNumberToObject(o, "margin", c->margin);
            cJSON_AddNumberToObject(o, "argmax", c->argmax);
        }
        if (c->compared) {
            cJSON *cmp = cJSON_AddObjectToObject(o, "vs_reference");
            cJSON_AddBoolToObject(cmp, "exact_equal", c->exact_equal);
            cJSON_AddNumberToObject(cmp, "max_abs_diff", c->max_abs_diff);
            if (c->max_ulp >= 0) cJSON_AddNumberToObject(cmp, "max_ulp", c->max_ulp);
            else cJSON_AddNullToObject(cmp, "max_ulp");
            cJSON_AddBoolToObject(cmp, "argmax_agrees", c->argmax_agrees);
            cJSON_AddItemToObject(cmp, "delta", num_array(c->delta, c->n_logits));
            cJSON_AddNumberToObject(cmp, "margin_delta", c->margin_delta);
        }
        cJSON_AddItemToArray(arr, o);
    }
    return d;
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

cJSON *fsc_inspect_json(const fsc_inspect_result *r)
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
