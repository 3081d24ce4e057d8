/* claim.c: the honest claim, generated from what was and was not measured
 * (rules: docs/report.md). Each sentence is chosen by a measured fact;
 * nothing here states what a probe did not measure. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "report/report_internal.h"

typedef struct claim_buf {
    char *s;
    size_t len, at;
} claim_buf;

static void put(claim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(claim_buf *b, const char *fmt, ...)
{
    if (b->at + 1 >= b->len) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->at, b->len - b->at, fmt, ap);
    va_end(ap);
    if (n > 0) b->at = b->at + (size_t)n < b->len ? b->at + (size_t)n : b->len - 1;
}

typedef bool (*cfg_pred)(const fsc_drift_config *c);
static bool is_failed(const fsc_drift_config *c) { return c->failed; }
static bool is_drifted(const fsc_drift_config *c) { return c->logits && c->raw_drift; }
static bool is_flipped(const fsc_drift_config *c) { return c->compared && !c->argmax_agrees; }
static bool is_emulated_ran(const fsc_drift_config *c) { return c->logits && c->info.emulated; }
static bool is_real_ran(const fsc_drift_config *c) { return c->logits && !c->info.emulated; }

static bool is_hypothesis(const fsc_drift_config *c)
{
    return c->logits && c->info.certainty && strstr(c->info.certainty, "hypothesis");
}

static int count(const fsc_drift_result *d, cfg_pred p)
{
    int n = 0;
    for (int i = 0; i < d->n; i++) n += p(&d->cfg[i]);
    return n;
}

/* Appends "a, b and c". */
static void names(claim_buf *b, const fsc_drift_result *d, cfg_pred p)
{
    int n = count(d, p), k = 0;
    for (int i = 0; i < d->n; i++) {
        if (!p(&d->cfg[i])) continue;
        put(b, "%s%s", k == 0 ? "" : k == n - 1 ? " and " : ", ", d->cfg[i].name);
        k++;
    }
}

static void stability(claim_buf *b, const fsc_drift_result *d, int ran)
{
    int drifted = count(d, is_drifted), failed = count(d, is_failed);
    if (ran == 0) {
        put(b, "No configuration ran (every one failed), so nothing is claimed about the model's outputs. ");
        return;
    }
    if (drifted == 0)
        put(b, "Each of the %d configurations that ran was deterministic: bit-identical outputs on all %d repeated runs. ",
            ran, d->runs);
    else {
        put(b, "%d configuration%s (", drifted, drifted == 1 ? "" : "s");
        names(b, d, is_drifted);
        put(b, ") %s not bit-identical across %s own repeated runs: run-to-run nondeterminism was observed there. ",
            drifted == 1 ? "was" : "were", drifted == 1 ? "its" : "their");
    }
    if (failed) {
        put(b, "%d configuration%s failed (", failed, failed == 1 ? "" : "s");
        names(b, d, is_failed);
        put(b, "): nothing is claimed for %s. ", failed == 1 ? "it" : "them");
    }
}

static void comparison(claim_buf *b, const fsc_report *r)
{
    const fsc_drift_result *d = &r->drift;
    const fsc_drift_config *ref = &d->cfg[d->reference];
    const fsc_report_gate *ld = &r->gates[FSC_GATE_MAX_LOGIT_DELTA], *md = &r->gates[FSC_GATE_MARGIN_DELTA];
    int flips = count(d, is_flipped), drifted = count(d, is_drifted);
    if (ld->state == FSC_GATE_NA) {
        put(b, "No configuration could be compared with the reference %s. ", ref->name);
        return;
    }
    if (flips) {
        put(b, "%s they disagree on this input's decision: ", drifted ? "And" : "Yet");
        names(b, d, is_flipped);
        put(b, " choose%s another class than the reference %s (class %d, margin %.6g; largest margin delta %+.6g)",
            flips == 1 ? "s" : "", ref->name, ref->argmax, ref->margin, md->value);
        put(b, drifted ? ", though part of the disagreement may be the instability above. "
                       : ": the decision depends on the arithmetic. ");
    } else if (ld->value != 0) {
        put(b, "The configurations differ from the reference %s (max |logit delta| %.6g, largest margin delta %+.6g) "
               "but none flipped the decision on this input (reference margin %.6g). ",
            ref->name, ld->value, md->value, ref->margin);
    } else {
        put(b, "Every configuration gave exactly the reference %s's output on this input. ", ref->name);
    }
}

static void limits(claim_buf *b, const fsc_report *r, int ran)
{
    const fsc_drift_result *d = &r->drift;
    int drifted = count(d, is_drifted), emu = count(d, is_emulated_ran), real = count(d, is_real_ran);
    if (ran && !drifted) put(b, "This does not show run-to-run nondeterminism (there was none). ");
    if (emu && !real)
        put(b, "Nor does it show any accelerator's internal arithmetic: every row is emulated arithmetic, exact to "
               "its definition, standing for hardware only as surely as its certainty says. ");
    else if (emu && real) {
        put(b, "The emulated rows (");
        names(b, d, is_emulated_ran);
        put(b, ") model hardware arithmetic, they do not measure it; the other rows (");
        names(b, d, is_real_ran);
        put(b, ") are runs of real backends on this machine. ");
    } else if (real) {
        put(b, "Every row is a run of a real backend on this machine, not of other hardware. ");
    }
    int hyp = count(d, is_hypothesis);
    if (hyp) {
        names(b, d, is_hypothesis);
        put(b, " rest%s partly on hypotheses about the hardware (see %s certainty). ", hyp == 1 ? "s" : "",
            hyp == 1 ? "its" : "their");
    }
}

void fsc_report_claim(fsc_report *r)
{
    claim_buf b = {r->claim, sizeof r->claim, 0};
    r->claim[0] = '\0';
    if (r->has_drift) {
        int ran = 0;
        for (int i = 0; i < r->drift.n; i++) ran += r->drift.cfg[i].logits != NULL;
        stability(&b, &r->drift, ran);
        if (ran) comparison(&b, r);
        limits(&b, r, ran);
    } else {
        put(&b, "The model was not run (no drift probe): nothing is claimed about its outputs. ");
    }
    if (r->has_inspect && !r->inspect.weight_evidence && !r->inspect.activation_evidence)
        put(&b, "The model holds no quantization (inspect), so int8 effects play no part here. ");
    else if (!r->has_inspect)
        put(&b, "Quantization evidence was not measured. ");
    if (r->n_placement)
        put(&b, "Placement comes from device profiles (flipscope plan), not from a device runtime. ");
    else
        put(&b, "Placement of ops on devices was not measured. ");
    if (r->has_localize && r->localize.n_top) {
        const fsc_report_op_error *o = &r->localize.ops[r->localize.top[0]];
        put(&b, "Between %s and %s the largest isolated op error is at node %d '%s' (%s)", r->localize.reference,
            r->localize.target, o->node, o->name, o->op);
        if (r->localize.has_margin && isfinite(o->margin_contrib))
            put(&b, ", which moves the margin by %+.6g of the %+.6g between them", o->margin_contrib,
                r->localize.margin_delta);
        put(&b, ". ");
    } else if (r->has_localize) {
        put(&b, "Localization between %s and %s found no op with an isolated error. ", r->localize.reference,
            r->localize.target);
    } else if (r->gates[FSC_GATE_MAX_LOGIT_DELTA].state == FSC_GATE_FAIL) {
        put(&b, "There was no difference to localize. ");
    } else {
        put(&b, "Which op introduced the difference was not measured. ");
    }
    if (r->has_tie)
        put(&b, "The tie was centred on purpose (head bias B0 = %.9g, between the reference and %s), as in the seed. ",
            r->tie_b0, r->tie_between);
    if (r->has_drift) {
        if (r->n_input_files) put(&b, "This is one input (the given file%s); other inputs may decide differently.",
                                  r->n_input_files == 1 ? "" : "s");
        else put(&b, "This is one input (standard normal, seed %llu); other inputs may decide differently.", r->seed);
    }
    /* trailing space off */
    size_t n = strlen(r->claim);
    while (n && r->claim[n - 1] == ' ') r->claim[--n] = '\0';
}
