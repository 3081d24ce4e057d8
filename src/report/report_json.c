/* report_json.c: the JSON rendering of a report (docs/json.md, `report`):
 * the common envelope, then one member per section; a section that was not
 * measured is null. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

static cJSON *num_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *model_json(const fsc_report *r)
{
    cJSON *m = cJSON_CreateObject();
    if (r->model_path[0]) cJSON_AddStringToObject(m, "path", r->model_path);
    else cJSON_AddNullToObject(m, "path");
    cJSON_AddStringToObject(m, "format", r->model_format);
    if (r->model_sha256[0]) cJSON_AddStringToObject(m, "sha256", r->model_sha256);
    else cJSON_AddNullToObject(m, "sha256");
    cJSON_AddStringToObject(m, "description", r->model_desc);
    return m;
}

static cJSON *input_json(const fsc_report *r)
{
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "kind", r->n_input_files ? "files" : "seeded standard normal");
    cJSON *files = cJSON_AddArrayToObject(in, "files");
    for (int i = 0; i < r->n_input_files; i++) cJSON_AddItemToArray(files, cJSON_CreateString(r->input_files[i]));
    cJSON_AddNumberToObject(in, "seed", (double)r->seed);
    return in;
}

static cJSON *placement_json(const fsc_report *r)
{
    if (!r->n_placement) return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < r->n_placement; i++) {
        const fsc_report_placement *p = &r->placement[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "configuration", p->config);
        cJSON_AddStringToObject(o, "profile", p->profile);
        cJSON_AddStringToObject(o, "preset", p->preset);
        cJSON_AddNumberToObject(o, "ops", p->n_ops);
        cJSON_AddNumberToObject(o, "load_time", p->n_load_time);
        cJSON_AddNumberToObject(o, "fallback", p->n_fallback);
        cJSON *devs = cJSON_AddArrayToObject(o, "devices");
        for (int k = 0; k < p->n_devices; k++) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "name", p->device[k]);
            cJSON_AddBoolToObject(d, "accelerator", p->accelerator[k]);
            cJSON_AddNumberToObject(d, "ops", p->ops_on[k]);
            cJSON_AddItemToArray(devs, d);
        }
        cJSON_AddNumberToObject(o, "on_accelerator", p->on_accelerator);
        cJSON_AddStringToObject(o, "certainty", p->certainty);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *localize_json(const fsc_report *r)
{
    if (!r->has_localize) return cJSON_CreateNull();
    const fsc_report_localize *l = &r->localize;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "reference", l->reference);
    cJSON_AddStringToObject(o, "target", l->target);
    cJSON_AddStringToObject(o, "metric", l->metric);
    cJSON *ops = cJSON_AddArrayToObject(o, "ops");
    for (int i = 0; i < l->n_ops; i++) {
        const fsc_report_op_error *e = &l->ops[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "node", e->node);
        cJSON_AddStringToObject(x, "name", e->name);
        cJSON_AddStringToObject(x, "op", e->op);
        cJSON_AddItemToObject(x, "isolated", num_or_null(e->isolated));
        cJSON_AddItemToObject(x, "accumulated", num_or_null(e->accumulated));
        cJSON_AddItemToObject(x, "margin_contribution", num_or_null(e->margin_contrib));
        cJSON_AddBoolToObject(x, "first_divergent", e->first_divergent);
        cJSON_AddNumberToObject(x, "rank", e->rank);
        cJSON_AddItemToArray(ops, x);
    }
    cJSON *top = cJSON_AddArrayToObject(o, "top");
    for (int k = 0; k < l->n_top; k++) cJSON_AddItemToArray(top, cJSON_CreateNumber(l->ops[l->top[k]].node));
    cJSON_AddItemToObject(o, "margin_delta", l->has_margin ? num_or_null(l->margin_delta) : cJSON_CreateNull());
    return o;
}

static cJSON *gates_json(const fsc_report *r)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < FSC_GATE_COUNT; i++) {
        const fsc_report_gate *g = &r->gates[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", g->id ? g->id : "");
        cJSON_AddStringToObject(o, "title", g->title ? g->title : "");
        cJSON_AddStringToObject(o, "status", fsc_gate_state_name(g->state));
        cJSON_AddItemToObject(o, "value", g->has_value ? num_or_null(g->value) : cJSON_CreateNull());
        cJSON_AddStringToObject(o, "detail", g->detail);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

cJSON *fsc_report_json(const fsc_report *r)
{
    cJSON *d = fsc_json_envelope(r->command);
    if (!d) return NULL;
    cJSON_AddStringToObject(d, "date", r->date);
    cJSON_AddItemToObject(d, "model", model_json(r));
    cJSON_AddItemToObject(d, "input", input_json(r));
    if (r->has_tie) {
        cJSON *t = cJSON_AddObjectToObject(d, "tie");
        cJSON_AddStringToObject(t, "between", r->tie_between);
        cJSON_AddNumberToObject(t, "head_bias", r->tie_b0);
        cJSON_AddNumberToObject(t, "margin_reference", r->tie_margin_reference);
        cJSON_AddNumberToObject(t, "margin_other", r->tie_margin_other);
        cJSON_AddBoolToObject(t, "split", r->tie_split);
    }
    cJSON *cmds = cJSON_AddArrayToObject(d, "commands");
    for (int i = 0; i < r->n_commands; i++) cJSON_AddItemToArray(cmds, cJSON_CreateString(r->commands[i]));
    cJSON_AddItemToObject(d, "quantization", r->has_inspect ? fsc_inspect_json(&r->inspect) : cJSON_CreateNull());
    cJSON_AddItemToObject(d, "placement", placement_json(r));
    cJSON_AddItemToObject(d, "drift", r->has_drift ? fsc_drift_json(&r->drift) : cJSON_CreateNull());
    cJSON_AddItemToObject(d, "localization", localize_json(r));
    cJSON_AddItemToObject(d, "gates", gates_json(r));
    cJSON_AddStringToObject(d, "claim", r->claim);
    return d;
}

fsc_status fsc_report_json_text(const fsc_report *r, char **out, size_t *len, fsc_error *err)
{
    *out = NULL;
    *len = 0;
    cJSON *d = fsc_report_json(r);
    char *s = d ? cJSON_Print(d) : NULL;
    cJSON_Delete(d);
    if (!s) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory rendering the JSON report");
    size_t n = strlen(s);
    char *t = realloc(s, n + 2); /* end with a newline like every text file */
    if (!t) {
        free(s);
        return fsc_fail(err, FSC_ERR_NOMEM, "out of memory rendering the JSON report");
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    *out = t;
    *len = n + 1;
    return FSC_OK;
}
