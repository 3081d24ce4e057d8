/* report_util.c: small helpers shared by the report renderers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_internal.h"

int fsc_report_shown_logits(const fsc_report *r, int idx[FSC_REPORT_MAX_SHOWN_LOGITS])
{
    if (!r->has_drift) return 0;
    const fsc_drift_config *ref = &r->drift.cfg[r->drift.reference];
    int n = ref->logits ? ref->n_logits : 0;
    for (int i = 0; n == 0 && i < r->drift.n; i++)
        if (r->drift.cfg[i].logits) {
            ref = &r->drift.cfg[i];
            n = ref->n_logits;
        }
    if (n <= FSC_REPORT_MAX_SHOWN_LOGITS) {
        for (int i = 0; i < n; i++) idx[i] = i;
        return n;
    }
    /* the largest FSC_REPORT_MAX_SHOWN_LOGITS by selection, then back to index order */
    int k = 0;
    for (; k < FSC_REPORT_MAX_SHOWN_LOGITS; k++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int j = 0; j < k; j++) taken = taken || idx[j] == i;
            if (taken) continue;
            if (best < 0 || ref->logits[i] > ref->logits[best] || (isnan(ref->logits[best]) && !isnan(ref->logits[i])))
                best = i;
        }
        idx[k] = best;
    }
    for (int a = 1; a < k; a++)
        for (int b = a; b > 0 && idx[b - 1] > idx[b]; b--) {
            int t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }
    return k;
}

FILE *fsc_report_stream(char **out, size_t *len, fsc_error *err)
{
    *out = NULL;
    *len = 0;
    FILE *f = open_memstream(out, len);
    if (!f) fsc_fail(err, FSC_ERR_NOMEM, "out of memory starting a report");
    return f;
}

fsc_status fsc_report_stream_done(FILE *f, char **out, size_t *len, const char *what, fsc_error *err)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    if (bad || !*out) {
        free(*out);
        *out = NULL;
        *len = 0;
        return fsc_fail(err, FSC_ERR_NOMEM, "out of memory rendering the %s report", what);
    }
    return FSC_OK;
}

const char *fsc_report_num(char *buf, size_t len, double v)
{
    if (isnan(v)) snprintf(buf, len, "NaN");
    else if (isinf(v)) snprintf(buf, len, "%sinf", v < 0 ? "-" : "");
    else snprintf(buf, len, "%.6g", v);
    return buf;
}

void fsc_report_margin_name(const fsc_report *r, char *buf, size_t len)
{
    snprintf(buf, len, "logit%d - logit%d", r->has_drift ? r->drift.class_a : 0, r->has_drift ? r->drift.class_b : 1);
}
