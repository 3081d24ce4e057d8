/* gates.c: the write-up's gates (docs/report.md defines each). Every gate
 * asks whether one piece of the seed's evidence is present: PASS = it is,
 * FAIL = it was measured and is not, n/a = it was not measured. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"

static void set(fsc_report_gate *g, fsc_gate_state s, bool has_value, double value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void set(fsc_report_gate *g, fsc_gate_state s, bool has_value, double value, const char *fmt, ...)
{
    g->state = s;
    g->has_value = has_value;
    g->value = has_value ? value : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->detail, sizeof g->detail, fmt, ap);
    va_end(ap);
}

static void quant_gates(fsc_report *r)
{
    fsc_report_gate *a = &r->gates[FSC_GATE_ACT_QUANT], *w = &r->gates[FSC_GATE_WEIGHT_QUANT];
    if (!r->has_inspect) {
        set(a, FSC_GATE_NA, false, 0, "not measured (no inspect)");
        set(w, FSC_GATE_NA, false, 0, "not measured (no inspect)");
        return;
    }
    const fsc_inspect_result *q = &r->inspect;
    set(a, q->activation_evidence ? FSC_GATE_PASS : FSC_GATE_FAIL, true, q->quantize_ops + q->dequantize_ops,
        "%d quantize + %d dequantize ops on activations; %d real ops read a dequantized activation", q->quantize_ops,
        q->dequantize_ops, q->real_ops_after_act_dequant);
    set(w, q->weight_evidence ? FSC_GATE_PASS : FSC_GATE_FAIL, true, q->weight_dequant_ops,
        "%d weight dequantize ops (constexpr_* or DequantizeLinear of integer constants)", q->weight_dequant_ops);
}

static void placement_gate(fsc_report *r)
{
    fsc_report_gate *g = &r->gates[FSC_GATE_PLACEMENT];
    if (r->n_placement == 0) {
        set(g, FSC_GATE_NA, false, 0, "not measured (no configuration with a placement plan)");
        return;
    }
    int best = 0;
    for (int i = 1; i < r->n_placement; i++)
        if (r->placement[i].on_accelerator > r->placement[best].on_accelerator) best = i;
    const fsc_report_placement *p = &r->placement[best];
    set(g, p->on_accelerator > 0 ? FSC_GATE_PASS : FSC_GATE_FAIL, true, p->on_accelerator,
        "%d of %d ops placed on an accelerator device under %s (the most of %d planned configuration%s)",
        p->on_accelerator, p->n_ops, p->config, r->n_placement, r->n_placement == 1 ? "" : "s");
}

static void drift_gates(fsc_report *r)
{
    fsc_report_gate *st = &r->gates[FSC_GATE_STABILITY], *ld = &r->gates[FSC_GATE_MAX_LOGIT_DELTA],
                    *md = &r->gates[FSC_GATE_MARGIN_DELTA], *fl = &r->gates[FSC_GATE_ARGMAX_FLIP];
    if (!r->has_drift) {
        set(st, FSC_GATE_NA, false, 0, "not measured (no drift probe)");
        set(ld, FSC_GATE_NA, false, 0, "not measured (no drift probe)");
        set(md, FSC_GATE_NA, false, 0, "not measured (no drift probe)");
        set(fl, FSC_GATE_NA, false, 0, "not measured (no drift probe)");
        return;
    }
    const fsc_drift_result *d = &r->drift;
    int ran = 0, drifted = 0, failed = 0;
    for (int i = 0; i < d->n; i++) {
        const fsc_drift_config *c = &d->cfg[i];
        if (c->failed) failed++;
        if (!c->logits) continue;
        ran++;
        if (c->raw_drift) drifted++;
    }
    if (ran == 0)
        set(st, FSC_GATE_NA, false, 0, "not measured (every configuration failed)");
    else
        set(st, drifted ? FSC_GATE_FAIL : FSC_GATE_PASS, true, drifted,
            "%d of %d configurations not bit-identical across %d repeated runs%s", drifted, ran, d->runs,
            failed ? "; some configurations failed (see stability)" : "");

    int compared = 0, flips = 0, worst = -1, worst_m = -1;
    for (int i = 0; i < d->n; i++) {
        const fsc_drift_config *c = &d->cfg[i];
        if (!c->compared) continue;
        compared++;
        if (!c->argmax_agrees) flips++;
        if (worst < 0 || !(c->max_abs_diff <= d->cfg[worst].max_abs_diff)) worst = i;
        if (worst_m < 0 || !(fabs(c->margin_delta) <= fabs(d->cfg[worst_m].margin_delta))) worst_m = i;
    }
    const char *ref = d->cfg[d->reference].name;
    if (!compared) {
        set(ld, FSC_GATE_NA, false, 0, "not measured (no configuration compared with the reference %s)", ref);
        set(md, FSC_GATE_NA, false, 0, "not measured (no configuration compared with the reference %s)", ref);
        set(fl, FSC_GATE_NA, false, 0, "not measured (no configuration compared with the reference %s)", ref);
        return;
    }
    double l = d->cfg[worst].max_abs_diff, m = d->cfg[worst_m].margin_delta;
    set(ld, l == 0 ? FSC_GATE_FAIL : FSC_GATE_PASS, true, l, "max |logit - reference logit| = %.6g (%s vs %s)", l,
        d->cfg[worst].name, ref);
    set(md, m == 0 ? FSC_GATE_FAIL : FSC_GATE_PASS, true, m, "largest margin delta %+.6g (%s vs %s)", m,
        d->cfg[worst_m].name, ref);
    set(fl, flips ? FSC_GATE_PASS : FSC_GATE_FAIL, true, flips, "%d of %d configurations choose another class than %s",
        flips, compared, ref);
}

void fsc_report_finish(fsc_report *r)
{
    static const char *const ids[FSC_GATE_COUNT] = {"activation_quant", "weight_quant", "accelerator_placement",
                                                    "same_backend_stability", "max_logit_delta", "margin_delta",
                                                    "argmax_flip"};
    static const char *const titles[FSC_GATE_COUNT] = {
        "activation-quantization evidence", "weight-quantization evidence", "accelerator placement",
        "same-backend stability", "max logit delta", "margin delta", "argmax flip"};
    for (int i = 0; i < FSC_GATE_COUNT; i++) {
        memset(&r->gates[i], 0, sizeof r->gates[i]);
        r->gates[i].id = ids[i];
        r->gates[i].title = titles[i];
    }
    quant_gates(r);
    placement_gate(r);
    drift_gates(r);
    fsc_report_claim(r);
}
