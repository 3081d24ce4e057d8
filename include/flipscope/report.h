/* report.h: the results write-up (SEED.md "The write-up", issue 10,
 * docs/report.md).
 *
 * A report gathers what the probes measured on one model and one input:
 * the model's identity, the configurations and what each stands for, the
 * commands that reproduce it, quantization evidence (inspect), placement
 * evidence (plan), runtime stability and the cross-configuration comparison
 * (drift), a localization summary (localize), the gates and the honest
 * claim. Sections that were not measured stay empty and every renderer says
 * "not measured" for them; nothing is ever filled in by guess.
 *
 * Three renderers (Markdown, JSON, self-contained HTML with inline SVG
 * charts) each turn a finished report into a malloc'd NUL-terminated text;
 * fsc_report_write renders all three first and only then writes
 * DIR/report.{md,json,html}, each through fsc_write_file_atomic.
 *
 * Ownership: fsc_report_free releases what the report owns (the drift
 * result, the inspect result, placement and localization data). The inspect
 * result points into its graph: keep the graph alive while rendering. */
#ifndef FLIPSCOPE_REPORT_H
#define FLIPSCOPE_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "flipscope/ctx.h"
#include "flipscope/probe.h"
#include "flipscope/probe_inspect.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSC_TOOL_NAME "flipscope 0.1.0"
#define FSC_JSON_SCHEMA_VERSION 1
#define FSC_REPORT_MAX_COMMANDS 24
#define FSC_REPORT_MAX_DEVICES 16

typedef enum fsc_gate_state { FSC_GATE_NA = 0, FSC_GATE_PASS, FSC_GATE_FAIL } fsc_gate_state;

typedef enum fsc_gate_id {
    FSC_GATE_ACT_QUANT = 0,   /* activation-quantization evidence */
    FSC_GATE_WEIGHT_QUANT,    /* weight-quantization evidence */
    FSC_GATE_PLACEMENT,       /* accelerator placement */
    FSC_GATE_STABILITY,       /* same-backend stability */
    FSC_GATE_MAX_LOGIT_DELTA, /* max |logit delta| vs the reference */
    FSC_GATE_MARGIN_DELTA,    /* max |margin delta| vs the reference */
    FSC_GATE_ARGMAX_FLIP,     /* some argmax differs from the reference's */
    FSC_GATE_COUNT
} fsc_gate_id;

typedef struct fsc_report_gate {
    const char *id;      /* "activation_quant", ... (docs/report.md) */
    const char *title;   /* "activation-quantization evidence" */
    fsc_gate_state state;
    bool has_value;
    double value;        /* the gate's number (docs/report.md says which) */
    char detail[256];    /* the number in words */
} fsc_report_gate;

/* Placement of one configuration's ops (from a plan). */
typedef struct fsc_report_placement {
    char config[64];
    char profile[32], preset[32];
    int n_ops, n_load_time, n_fallback;
    int n_devices;
    char device[FSC_REPORT_MAX_DEVICES][32];
    bool accelerator[FSC_REPORT_MAX_DEVICES];
    int ops_on[FSC_REPORT_MAX_DEVICES]; /* ops placed on each device */
    int on_accelerator;                 /* ops placed on accelerator devices */
    char certainty[256];
} fsc_report_placement;

/* One op of a localization, in graph order. */
typedef struct fsc_report_op_error {
    int node;
    char name[128];
    char op[32];
    double isolated;       /* isolated error (metric below); 0 = identical */
    double accumulated;    /* accumulated error (same metric) */
    double margin_contrib; /* contribution to the margin delta (NAN when not attributed) */
    bool first_divergent;
    int rank;              /* 1-based place in the isolated ranking, 0 = not ranked */
} fsc_report_op_error;

typedef struct fsc_report_localize {
    char reference[64], target[64];
    char metric[16];        /* the error metric of isolated/accumulated ("rel_l2") */
    int n_ops;
    fsc_report_op_error *ops;
    int n_top;
    int top[10];            /* indices into ops, worst isolated error first (ops with a non-zero one) */
    bool has_margin;
    double margin_delta;    /* target margin - reference margin */
} fsc_report_localize;

typedef struct fsc_report {
    char date[32];                 /* UTC, ISO 8601 ("2026-11-25T18:40:00Z") */
    char command[16];              /* "report" or "demo" */
    /* the model */
    char model_path[1024];         /* empty for the built-in model */
    char model_format[16];         /* "onnx", "mlpackage", "mlmodel", "built-in" */
    char model_sha256[65];         /* empty when there is no file */
    char model_desc[512];          /* one line */
    /* the input */
    int n_input_files;
    char input_files[8][1024];
    unsigned long long seed;       /* inputs not from files are N(0,1) with this seed */
    /* the built-in model's centred tie (demo) */
    bool has_tie;
    char tie_between[64];
    double tie_b0, tie_margin_reference, tie_margin_other;
    bool tie_split;
    /* commands that reproduce the report */
    int n_commands;
    char commands[FSC_REPORT_MAX_COMMANDS][2048];
    /* measurements; has_* false = not measured */
    bool has_inspect;
    fsc_inspect_result inspect;
    bool has_drift;
    fsc_drift_result drift;
    int n_placement;
    fsc_report_placement *placement;
    bool has_localize;
    fsc_report_localize localize;
    /* conclusions (fsc_report_finish) */
    fsc_report_gate gates[FSC_GATE_COUNT];
    char claim[4096];
} fsc_report;

/* An empty report dated now (UTC) for command ("report", "demo"). */
void fsc_report_init(fsc_report *r, const char *command);
void fsc_report_free(fsc_report *r);
/* Sets the model to the file or .mlpackage directory at path: format from
 * the name, SHA-256 (fsc_sha256_path). */
fsc_status fsc_report_set_model_file(fsc_report *r, const char *path, fsc_error *err);
/* Adds a command line (argv joined, each word shell-quoted when it needs it). */
void fsc_report_add_command(fsc_report *r, const char *const *argv, int argc);
/* Runs inspect on g into the report (g must outlive the report). */
fsc_status fsc_report_add_inspect(fsc_report *r, const fsc_graph *g, fsc_error *err);
/* Takes the drift result (moved: *res is left empty). */
void fsc_report_take_drift(fsc_report *r, fsc_drift_result *res);
/* The configuration worth localizing against the reference: a compared one
 * that is not bit-identical to it, flipped ones first, then the largest
 * |margin delta|; -1 when there is none. Index into r->drift.cfg. */
int fsc_report_pick_localize_target(const fsc_report *r);
/* Runs the localize probe (relative L2, top 10, margin attribution) between
 * reference and target on g and inputs into the report. */
fsc_status fsc_report_add_localize(fsc_report *r, const fsc_graph *g, const fsc_tensor *inputs, const char *reference,
                                   const char *target, const fsc_ctx *ctx, fsc_error *err);
/* Placement of every probed configuration named PROFILE:PRESET (docs/plan.md)
 * under its profile's rules; emu:* and other non-profile configurations
 * have no plan and are skipped (no placement = "not measured"). */
fsc_status fsc_report_add_placement(fsc_report *r, const fsc_graph *g, fsc_error *err);
/* Computes the gates and the honest claim from what is present. */
void fsc_report_finish(fsc_report *r);

/* Renderers: a new NUL-terminated text in *out (free it), its length in *len. */
fsc_status fsc_report_markdown(const fsc_report *r, char **out, size_t *len, fsc_error *err);
fsc_status fsc_report_json_text(const fsc_report *r, char **out, size_t *len, fsc_error *err);
fsc_status fsc_report_html(const fsc_report *r, char **out, size_t *len, fsc_error *err);
/* The report as a cJSON document (docs/json.md, `report`); NULL on no memory. */
cJSON *fsc_report_json(const fsc_report *r);
/* Renders all three, creates dir if missing, writes dir/report.md,
 * dir/report.json, dir/report.html atomically. */
fsc_status fsc_report_write(const fsc_report *r, const char *dir, fsc_error *err);

/* "PASS", "FAIL", "n/a". */
const char *fsc_gate_state_name(fsc_gate_state s);

/* ---- JSON shared by every --json output (json_common.c) ---- */
/* A new document with the envelope {"schema_version", "tool", "command"}. */
cJSON *fsc_json_envelope(const char *command);
/* The DRIFT object of docs/json.md. */
cJSON *fsc_drift_json(const fsc_drift_result *r);
/* The inspect object of docs/json.md. */
cJSON *fsc_inspect_json(const fsc_inspect_result *r);

#ifdef __cplusplus
}
#endif
#endif
