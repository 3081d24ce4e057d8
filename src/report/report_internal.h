/* report_internal.h: helpers shared by the report sources (not public). */
#ifndef FSC_REPORT_INTERNAL_H
#define FSC_REPORT_INTERNAL_H

#include <stdio.h>

#include "flipscope/report.h"

#define FSC_REPORT_MAX_SHOWN_LOGITS 10

/* Writes the honest claim of r (gates already computed) into r->claim. */
void fsc_report_claim(fsc_report *r);
/* The logit indices the logits chart and tables show: all of them up to
 * FSC_REPORT_MAX_SHOWN_LOGITS, else the reference's largest, in index order.
 * Returns the count written to idx. */
int fsc_report_shown_logits(const fsc_report *r, int idx[FSC_REPORT_MAX_SHOWN_LOGITS]);
/* A configuration row that has output to show. */
static inline int fsc_report_cfg_has_output(const fsc_drift_config *c) { return c->logits != NULL; }
/* Opens a growing in-memory text stream; fsc_report_stream_done closes it into *out and *len. */
FILE *fsc_report_stream(char **out, size_t *len, fsc_error *err);
fsc_status fsc_report_stream_done(FILE *f, char **out, size_t *len, const char *what, fsc_error *err);
/* A number for people: %.6g, "NaN"/"inf" spelled out. */
const char *fsc_report_num(char *buf, size_t len, double v);
/* The margin's name, e.g. "logit0 - logit1". */
void fsc_report_margin_name(const fsc_report *r, char *buf, size_t len);



/* ---- HTML (report_html.c, report_svg.c) ---- */
/* Writes s with &, <, >, " and ' escaped. */
void fsc_report_html_esc(FILE *f, const char *s);
/* Inline SVG charts; each bar or point carries class "bar <chart>" or
 * "point <chart>" so tests can count them. Return the number drawn. */
int fsc_report_svg_margin(FILE *f, const fsc_report *r);
int fsc_report_svg_isoerr(FILE *f, const fsc_report *r);
int fsc_report_svg_logits(FILE *f, const fsc_report *r);
#endif
