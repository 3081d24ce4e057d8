/* cli_common.c: option parsing, model loading, progress and JSON helpers
 * shared by the subcommands. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "flipscope/model_io.h"
#include "flipscope/report.h"
#include "flipscope/synth.h"

int fsc_cli_split(char *list, char **items, int max)
{
    int n = 0;
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ') tok++;
        if (!*tok) continue;
        if (n == max) return -1;
        items[n++] = tok;
    }
    return n;
}

bool fsc_cli_int(const char *opt, const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) {
        fsc_cli_error("%s expects an integer in [%lld, %lld], got '%s'", opt, lo, hi, s);
        return false;
    }
    *v = x;
    return true;
}

/* The limits --limit can set: name, field offset, whether the field is an int, and what it bounds. */
typedef struct cli_limit_def {
    const char *name;
    size_t off;
    bool is_int;
    const char *what;
} cli_limit_def;

static const cli_limit_def cli_limit_defs[] = {
    {"max_tensor_bytes", offsetof(fsc_limits, max_tensor_bytes), false, "bytes of one tensor"},
    {"max_file_bytes", offsetof(fsc_limits, max_file_bytes), false, "bytes of one input file"},
    {"max_nodes", offsetof(fsc_limits, max_nodes), true, "nodes (ops) in a graph"},
    {"max_string", offsetof(fsc_limits, max_string), false, "bytes of one name or string"},
    {"max_nesting", offsetof(fsc_limits, max_nesting), true, "nesting depth of protobuf messages and JSON documents"},
    {"max_npy_header", offsetof(fsc_limits, max_npy_header), false, "bytes of a .npy header"},
    {"max_total_bytes", offsetof(fsc_limits, max_total_bytes), false, "bytes of all tensors of a model at once"},
};

bool fsc_cli_limit(fsc_limits *lim, const char *arg)
{
    const char *eq = strchr(arg, '=');
    size_t n = sizeof cli_limit_defs / sizeof cli_limit_defs[0];
    const cli_limit_def *d = NULL;
    for (size_t i = 0; eq && i < n; i++)
        if (strlen(cli_limit_defs[i].name) == (size_t)(eq - arg) && !strncmp(arg, cli_limit_defs[i].name, (size_t)(eq - arg)))
            d = &cli_limit_defs[i];
    if (!d) {
        fsc_cli_error("--limit expects NAME=VALUE with NAME one of max_tensor_bytes, max_file_bytes, max_nodes, "
                      "max_string, max_nesting, max_npy_header, max_total_bytes (docs/limits.md); got '%s'", arg);
        return false;
    }
    /* VALUE: a positive integer, optionally with a binary suffix K, M or G (x1024, x1024^2, x1024^3). */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(eq + 1, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k') shift = 10, end++;
    else if (*end == 'M' || *end == 'm') shift = 20, end++;
    else if (*end == 'G' || *end == 'g') shift = 30, end++;
    unsigned long long hi = d->is_int ? (unsigned long long)INT_MAX : (unsigned long long)SIZE_MAX;
    if (errno || end == eq + 1 || *end || eq[1] == '-' || v == 0 || v > (hi >> shift)) {
        fsc_cli_error("--limit %.*s expects a positive integer (suffix K, M or G allowed) of at most %llu, got '%s'",
                      (int)(eq - arg), arg, hi, eq + 1);
        return false;
    }
    v <<= shift;
    if (d->is_int) *(int *)((char *)lim + d->off) = (int)v;
    else *(size_t *)((char *)lim + d->off) = (size_t)v;
    return true;
}

void fsc_cli_progress(void *user, const char *what, int64_t done, int64_t total)
{
    (void)user;
    if (!isatty(2)) return;
    fprintf(stderr, "\r  %-24s %lld/%lld", what, (long long)done, (long long)total);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

fsc_ctx fsc_cli_ctx(int threads)
{
    fsc_ctx c = fsc_ctx_default();
    if (threads > 0) c.threads = threads;
    c.progress = fsc_cli_progress;
    return c;
}

fsc_status fsc_cli_model(const char *path, const fsc_ctx *ctx, fsc_graph **g, char *desc, size_t desc_len,
                         fsc_error *err)
{
    if (path) {
        snprintf(desc, desc_len, "%s", path);
        return fsc_model_load(path, ctx, g, err);
    }
    fsc_synth_opts o = fsc_synth_default();
    snprintf(desc, desc_len, "built-in AmplifiedConvTie (weights seed %llu, %lldx%lld)", (unsigned long long)o.seed,
             (long long)o.height, (long long)o.width);
    return fsc_synth_amplified_conv_tie(&o, g, err);
}

void fsc_cli_print_json(cJSON *doc)
{
    char *s = cJSON_Print(doc);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    cJSON_Delete(doc);
}

cJSON *fsc_cli_json_doc(const char *command) { return fsc_json_envelope(command); }

const char *fsc_cli_default_reference(char *const *configs, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(configs[i], "emu:fp32")) return configs[i];
    return configs[0];
}

cJSON *fsc_cli_json_run(const char *command, const char *model, int n_inputs, long long seed)
{
    cJSON *d = fsc_cli_json_doc(command);
    cJSON_AddStringToObject(d, "model", model);
    cJSON_AddStringToObject(d, "input", n_inputs ? "files" : "seeded standard normal");
    cJSON_AddNumberToObject(d, "seed", (double)seed);
    return d;
}

void fsc_cli_print_run_head(FILE *f, const char *command, const char *model, const char *const *inputs, int n_inputs,
                            long long seed)
{
    fprintf(f, "flipscope %s: %s\n", command, model);
    if (n_inputs) {
        fprintf(f, "input:");
        for (int i = 0; i < n_inputs; i++) fprintf(f, " %s", inputs[i]);
        fprintf(f, "\n\n");
    } else {
        fprintf(f, "input: standard normal, seed %lld\n\n", seed);
    }
}

fsc_status fsc_cli_model_inputs(const char *model, const char *const *inputs, int n_inputs, long long seed,
                                const fsc_ctx *ctx, fsc_graph **g, fsc_tensor **in, char *desc, size_t desc_len,
                                fsc_error *err)
{
    *g = NULL;
    *in = NULL;
    fsc_status st = fsc_cli_model(model, ctx, g, desc, desc_len, err);
    if (st) return st;
    *in = fsc_calloc((size_t)((*g)->n_inputs ? (*g)->n_inputs : 1), sizeof **in, "model inputs", err);
    uint64_t useed = (uint64_t)seed;
    st = *in ? fsc_inputs_load(*g, inputs, n_inputs, &useed, ctx, *in, err) : FSC_ERR_NOMEM;
    if (st) {
        free(*in);
        fsc_graph_free(*g);
        *in = NULL;
        *g = NULL;
    }
    return st;
}

void fsc_cli_model_free(fsc_graph *g, fsc_tensor *in)
{
    if (in && g)
        for (int i = 0; i < g->n_inputs; i++) fsc_tensor_free(&in[i]);
    free(in);
    fsc_graph_free(g);
}
