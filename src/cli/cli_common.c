/* cli_common.c: option parsing, model loading, progress and JSON helpers
 * shared by the subcommands. */
#include <errno.h>
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
