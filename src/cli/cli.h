/* cli.h (internal): the subcommand table and helpers shared by the src/cli sources.
 * Subcommands parse arguments, call the library, render results. No logic
 * that the library lacks. Exit codes: 0 ok / no flip, 1 flip or divergence
 * found (when asked with --fail-on), 2 usage or input error. */
#ifndef FSC_CLI_H
#define FSC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "flipscope/ctx.h"
#include "flipscope/status.h"

#define FSC_EXIT_OK 0
#define FSC_EXIT_FLIP 1
#define FSC_EXIT_USAGE 2

typedef struct fsc_cli_cmd {
    const char *name;
    const char *summary; /* one line for `flipscope --help` */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} fsc_cli_cmd;

/* Prints "flipscope: <msg>" to stderr and returns FSC_EXIT_USAGE. */
int fsc_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "flipscope <cmd>: <err->msg>" and returns FSC_EXIT_USAGE. */
int fsc_cli_fail(const char *cmd, const fsc_error *err);

/* Subcommands (one file each). */
int fsc_cmd_backends(int argc, char **argv);
int fsc_cmd_drift(int argc, char **argv);
int fsc_cmd_demo(int argc, char **argv);
int fsc_cmd_synth(int argc, char **argv);
int fsc_cmd_plan(int argc, char **argv);
int fsc_cmd_localize(int argc, char **argv);
int fsc_cmd_inspect(int argc, char **argv);
int fsc_cmd_quantize(int argc, char **argv);
int fsc_cmd_tccheck(int argc, char **argv);
int fsc_cmd_report(int argc, char **argv);

#endif

/* ---- helpers shared by subcommands (cli_common.c) ---- */
#include "flipscope/graph.h"
#include "flipscope/probe.h"
#include "flipscope/probe_localize.h"
#include "flipscope/probe_inspect.h"
#include <cjson/cJSON.h>

#define FSC_CLI_MAX_LIST 64

/* Splits a comma-separated list in place into items (at most max); returns the count or -1 if too many. */
int fsc_cli_split(char *list, char **items, int max);
/* Strict integer parse of s into *v within [lo, hi]; false with a message on stderr naming opt. */
bool fsc_cli_int(const char *opt, const char *s, long long lo, long long hi, long long *v);
/* --limit NAME=VALUE (every command that reads files takes it; docs/limits.md): sets one field of
 * *lim; false with a message on stderr naming the known limits. */
bool fsc_cli_limit(fsc_limits *lim, const char *arg);
#define FSC_CLI_LIMIT_OPTION {"limit", required_argument, 0, 'L'}
#define FSC_CLI_LIMIT_HELP "  --limit NAME=VALUE  change a resource limit, e.g. max_tensor_bytes=8G (docs/limits.md)\n"
/* Progress callback printing to stderr when it is a terminal (no-op otherwise). */
void fsc_cli_progress(void *user, const char *what, int64_t done, int64_t total);
/* Context from common options: threads (0 = default). */
fsc_ctx fsc_cli_ctx(int threads);
/* Loads MODEL (path) or, when path is NULL, builds the built-in model with seed/size. */
fsc_status fsc_cli_model(const char *path, const fsc_ctx *ctx, fsc_graph **g, char *desc, size_t desc_len,
                         fsc_error *err);
/* The reference configuration when --reference is not given: emu:fp32 when listed, else the first. */
const char *fsc_cli_default_reference(char *const *configs, int n);
/* The JSON document of a probe run: the envelope plus "model", "input" and "seed". */
cJSON *fsc_cli_json_run(const char *command, const char *model, int n_inputs, long long seed);
/* Prints "flipscope COMMAND: MODEL" and the input line (files, or the seeded draw), then a blank line. */
void fsc_cli_print_run_head(FILE *f, const char *command, const char *model, const char *const *inputs, int n_inputs,
                            long long seed);
/* A probe's model and inputs: loads MODEL (NULL: the built-in model) as fsc_cli_model does, then
 * its inputs from --input specs, drawing the rest with seed. On failure nothing is left allocated.
 * Free with fsc_cli_model_free. */
fsc_status fsc_cli_model_inputs(const char *model, const char *const *inputs, int n_inputs, long long seed,
                                const fsc_ctx *ctx, fsc_graph **g, fsc_tensor **in, char *desc, size_t desc_len,
                                fsc_error *err);
void fsc_cli_model_free(fsc_graph *g, fsc_tensor *in);
/* Prints a cJSON document to stdout (and frees it). */
void fsc_cli_print_json(cJSON *doc);
/* A new JSON document with the common envelope {"schema_version", "tool", "command"}. */
cJSON *fsc_cli_json_doc(const char *command);
/* JSON of a drift result (shared by drift, demo and report). */
cJSON *fsc_cli_drift_json(const fsc_drift_result *r);
/* Prints the seed-style text of a drift result. */
void fsc_cli_drift_text(FILE *f, const fsc_drift_result *r);
/* Prints the table, ranking and margin attribution of a localize result (localize_render.c). */
void fsc_cli_localize_text(FILE *f, const fsc_localize_result *r);
/* JSON of a localize result. */
cJSON *fsc_cli_localize_json(const fsc_localize_result *r);
/* JSON of an inspect result (the "inspect" member of `flipscope inspect --json`). */
cJSON *fsc_cli_inspect_json(const fsc_inspect_result *r);
/* Prints the text report of an inspect result; model names the file. */
void fsc_cli_inspect_text(FILE *f, const fsc_inspect_result *r, const char *model);
/* Prints the gates and the honest claim of a finished report, and where it was written (cmd_report.c). */
struct fsc_report;
void fsc_cli_report_summary(FILE *f, const struct fsc_report *r, const char *dir);
/* Localizes for a report: which = a configuration, "auto" (fsc_report_pick_localize_target) or "none";
   adds the reproducing localize command (model NULL = built-in, size != 0 = not reproducible by localize). */
fsc_status fsc_cli_report_localize(struct fsc_report *rep, const fsc_graph *g, const fsc_tensor *in, const char *which,
                                   const char *model, const char *const *inputs, int n_inputs, unsigned long long seed,
                                   long long size, const fsc_ctx *ctx, fsc_error *err);
