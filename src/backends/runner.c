/* runner.c: the "runner" provider and its whole-graph backend. A runner is
 * an external engine (ONNX Runtime through Node, ...) described by
 * NAME/runner.json; each engine run writes a request directory, starts the
 * runner's command on it and reads back its .npy outputs (protocol v1,
 * docs/runners.md). Every computing node is placed on the runner: it runs
 * the model as a whole, once per engine run. */
#define _GNU_SOURCE /* nftw, mkdtemp */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "backends/runner.h"
#include "flipscope/model_io.h"

#define MAX_ARGS 32
#define PATH_LEN 4096

typedef struct runner_desc {
    char name[48];
    char dir[PATH_LEN];          /* the folder holding runner.json */
    char *argv[MAX_ARGS + 1];    /* command, "{dir}" expanded; owned */
    int argc;
    double timeout_s;
    char description[200];
    bool available;
    char reason[256];
} runner_desc;

static void desc_free(runner_desc *d)
{
    for (int i = 0; i < d->argc; i++) free(d->argv[i]);
    d->argc = 0;
}

/* s with every "{dir}" replaced by dir; malloc'd or NULL. */
static char *expand(const char *s, const char *dir)
{
    size_t n = strlen(s) + 1, dl = strlen(dir);
    for (const char *p = strstr(s, "{dir}"); p; p = strstr(p + 5, "{dir}")) n += dl;
    char *o = malloc(n), *w = o;
    if (!o) return NULL;
    while (*s) {
        if (!strncmp(s, "{dir}", 5)) {
            memcpy(w, dir, dl);
            w += dl;
            s += 5;
        } else {
            *w++ = *s++;
        }
    }
    *w = '\0';
    return o;
}

/* True when prog (no slash: searched on PATH) is an executable file. */
static bool on_path(const char *prog)
{
    if (strchr(prog, '/')) return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path) return false;
    char buf[PATH_LEN];
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
        if (access(buf, X_OK) == 0) return true;
        path += n;
        if (*path == ':') path++;
    }
    return false;
}

static double timeout_override(double dflt)
{
    const char *t = getenv("FSC_RUNNER_TIMEOUT");
    if (!t || !*t) return dflt;
    char *end;
    double v = strtod(t, &end);
    return (*end == '\0' && v > 0) ? v : dflt;
}

/* Reads dir/runner.json into d (name given). Problems make it unavailable
 * with the reason; only allocation failure is an error. */
static fsc_status desc_load(const char *name, const char *dir, runner_desc *d, fsc_error *err)
{
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    d->timeout_s = 60;
    char path[PATH_LEN + 16];
    snprintf(path, sizeof path, "%s/runner.json", dir);
    void *buf;
    size_t len;
    fsc_error e2;
    if (fsc_read_file(path, 1 << 20, &buf, &len, &e2)) {
        snprintf(d->reason, sizeof d->reason, "%s", e2.msg);
        return FSC_OK;
    }
    cJSON *j = cJSON_ParseWithLength(buf, len);
    free(buf);
    if (!j) {
        snprintf(d->reason, sizeof d->reason, "%s: not valid JSON", path);
        return FSC_OK;
    }
    fsc_status st = FSC_OK;
    const cJSON *proto = cJSON_GetObjectItem(j, "protocol"), *cmd = cJSON_GetObjectItem(j, "command");
    const cJSON *desc = cJSON_GetObjectItem(j, "description"), *to = cJSON_GetObjectItem(j, "timeout_s");
    if (cJSON_IsString(desc)) snprintf(d->description, sizeof d->description, "%s", desc->valuestring);
    if (cJSON_IsNumber(to) && to->valuedouble > 0) d->timeout_s = to->valuedouble;
    d->timeout_s = timeout_override(d->timeout_s);
    if (!cJSON_IsNumber(proto) || proto->valuedouble != 1) {
        snprintf(d->reason, sizeof d->reason, "%s: \"protocol\" must be 1 (this flipscope speaks runner protocol v1)", path);
        goto out;
    }
    if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) < 1 || cJSON_GetArraySize(cmd) > MAX_ARGS) {
        snprintf(d->reason, sizeof d->reason, "%s: \"command\" must be a list of 1 to %d strings", path, MAX_ARGS);
        goto out;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, cmd)
    {
        if (!cJSON_IsString(it)) {
            snprintf(d->reason, sizeof d->reason, "%s: \"command\" must be a list of strings", path);
            goto out;
        }
        d->argv[d->argc] = expand(it->valuestring, dir);
        if (!d->argv[d->argc]) {
            st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory reading %s", path);
            goto out;
        }
        d->argc++;
    }
    const cJSON *os = cJSON_GetObjectItem(j, "platforms");
    if (cJSON_IsArray(os)) {
        struct utsname u;
        bool ok = false;
        if (uname(&u) == 0) {
            for (char *c = u.sysname; *c; c++) *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
            cJSON_ArrayForEach(it, os) if (cJSON_IsString(it) && !strcmp(it->valuestring, u.sysname)) ok = true;
        }
        if (!ok) {
            char *p = cJSON_PrintUnformatted(os);
            snprintf(d->reason, sizeof d->reason, "runs only on %s (this is %s)", p ? p : "other systems", u.sysname);
            free(p);
            goto out;
        }
    }
    if (!on_path(d->argv[0])) {
        snprintf(d->reason, sizeof d->reason, "'%s' not found (PATH)", d->argv[0]);
        goto out;
    }
    const cJSON *req = cJSON_GetObjectItem(j, "requires"), *hint = cJSON_GetObjectItem(j, "install");
    cJSON_ArrayForEach(it, req)
    {
        if (!cJSON_IsString(it)) continue;
        char *p = expand(it->valuestring, dir);
        if (!p) {
            st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory reading %s", path);
            goto out;
        }
        bool there = access(p, R_OK) == 0;
        if (!there)
            snprintf(d->reason, sizeof d->reason, "%s is missing (install: %s)", p,
                     cJSON_IsString(hint) ? hint->valuestring : "see runner.json");
        free(p);
        if (!there) goto out;
    }
    d->available = true;
out:
    cJSON_Delete(j);
    return st;
}

/* Directories searched for NAME/runner.json, in order, into dirs[]. */
static int search_dirs(char dirs[][PATH_LEN], int max)
{
    int n = 0;
    const char *env = getenv("FSC_RUNNER_PATH");
    while (env && *env && n < max - 1) {
        size_t l = strcspn(env, ":");
        if (l) snprintf(dirs[n++], PATH_LEN, "%.*s", (int)l, env);
        env += l;
        if (*env == ':') env++;
    }
    snprintf(dirs[n++], PATH_LEN, "%s/runners", FSC_SOURCE_DIR);
    return n;
}

/* Finds runner `name`; false when no folder has NAME/runner.json. */
static bool find_runner(const char *name, char *dir_out)
{
    if (!*name || strchr(name, '/') || name[0] == '.') return false;
    char dirs[8][PATH_LEN];
    int n = search_dirs(dirs, 8);
    for (int i = 0; i < n; i++) {
        char p[PATH_LEN + 64];
        snprintf(p, sizeof p, "%s/%s/runner.json", dirs[i], name);
        if (access(p, R_OK) == 0) {
            snprintf(dir_out, PATH_LEN, "%s/%s", dirs[i], name);
            return true;
        }
    }
    return false;
}

static void describe(const runner_desc *d, fsc_config_info *info)
{
    memset(info, 0, sizeof *info);
    snprintf(info->name, sizeof info->name, "runner:%s", d->name);
    snprintf(info->backend, sizeof info->backend, "runner");
    info->stands_for = "an external engine in its own process (runner protocol v1; see its runner.json)";
    info->certainty = "real: the engine itself computes the outputs";
    info->emulated = false;
    info->available = d->available;
    snprintf(info->reason, sizeof info->reason, "%s", d->available ? d->description : d->reason);
}

static int name_cmp(const void *a, const void *b) { return strcmp(a, b); }

static int runner_list(fsc_config_info *out, int max)
{
    char dirs[8][PATH_LEN];
    int nd = search_dirs(dirs, 8), total = 0;
    char names[64][48];
    int nn = 0;
    for (int i = 0; i < nd; i++) {
        DIR *dp = opendir(dirs[i]);
        if (!dp) continue;
        for (struct dirent *de; nn < 64 && (de = readdir(dp));) {
            char p[PATH_LEN + 320];
            snprintf(p, sizeof p, "%s/%s/runner.json", dirs[i], de->d_name);
            if (de->d_name[0] != '.' && strlen(de->d_name) < sizeof names[0] && access(p, R_OK) == 0)
                snprintf(names[nn++], sizeof names[0], "%s", de->d_name);
        }
        closedir(dp);
    }
    qsort(names, (size_t)nn, sizeof names[0], name_cmp);
    for (int i = 0; i < nn; i++) {
        if (i && !strcmp(names[i], names[i - 1])) continue; /* the first in the search path wins */
        char dir[PATH_LEN];
        runner_desc d;
        if (!find_runner(names[i], dir) || desc_load(names[i], dir, &d, NULL)) continue;
        if (out && total < max) describe(&d, &out[total]);
        desc_free(&d);
        total++;
    }
    return total;
}

static fsc_status runner_lookup(const char *variant, fsc_config_info *info, fsc_error *err)
{
    char dir[PATH_LEN];
    if (!find_runner(variant, dir))
        return fsc_fail(err, FSC_ERR_INVALID,
                        "unknown runner 'runner:%s' (no %s/runner.json in $FSC_RUNNER_PATH or %s/runners)", variant,
                        variant, FSC_SOURCE_DIR);
    runner_desc d;
    fsc_status st = desc_load(variant, dir, &d, err);
    if (!st) describe(&d, info);
    desc_free(&d);
    return st;
}

/* ---- the backend ---- */

static bool rn_supports(const fsc_backend *b, const fsc_graph *g, int node)
{
    (void)b, (void)g, (void)node;
    return true; /* the external engine decides; its errors come back as a FAILED run */
}

static fsc_status rn_load_const(fsc_backend *b, const fsc_graph *g, int value, fsc_tensor *out, fsc_error *err)
{
    (void)b;
    return fsc_tensor_clone(out, g->values[value].constant, err);
}

static fsc_status rn_run_node(fsc_backend *b, const fsc_graph *g, int node, const fsc_tensor *const *in,
                              fsc_tensor *out, fsc_error *err)
{
    (void)g, (void)node, (void)in, (void)out;
    return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s runs whole models only, not single nodes", b->name);
}

static void rn_release(fsc_backend *b)
{
    runner_desc *d = b->state;
    if (d) desc_free(d);
    free(d);
}

/* File name of value `name` in the request: characters outside
 * [A-Za-z0-9._-] become '_' (protocol v1). */
static void safe_name(const char *name, char *buf, size_t len)
{
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
        buf[i] = ok ? c : '_';
    }
    buf[i] = '\0';
    if (!strcmp(buf, ".") || !strcmp(buf, "..")) buf[0] = '_';
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

/* npy file type for a graph value of dtype dt. */
static bool file_type(fsc_dtype dt, fsc_dtype *ft)
{
    switch (dt) {
    case FSC_DT_F32: case FSC_DT_F64: case FSC_DT_F16: case FSC_DT_I8: case FSC_DT_U8: case FSC_DT_I32:
    case FSC_DT_I64: *ft = dt; return true;
    default: return false;
    }
}

/* Reads the runner's file for value v into *t; absent: FSC_OK with t empty
 * unless required. The shape must be the graph's. */
static fsc_status read_value(fsc_backend *b, const fsc_graph *g, const char *dir, const char *sub, int v,
                             bool required, fsc_tensor *t, fsc_error *err)
{
    char safe[256], path[PATH_LEN + 300];
    safe_name(g->values[v].name, safe, sizeof safe);
    snprintf(path, sizeof path, "%s/%s/%s.npy", dir, sub, safe);
    if (access(path, F_OK) != 0) {
        if (!required) return FSC_OK;
        return fsc_fail(err, FSC_ERR_IO, "%s wrote no %s/%s.npy for output '%s'", b->name, sub, safe,
                        g->values[v].name);
    }
    fsc_dtype fdt;
    fsc_status st = fsc_npy_read(path, &b->ctx->limits, t, &fdt, err);
    if (st) return fsc_error_prefix(err, "%s: %s/%s.npy", b->name, sub, safe), st;
    const fsc_value *val = &g->values[v];
    bool tf = t->dtype == FSC_DT_F32 || t->dtype == FSC_DT_F64;
    if (!fsc_shape_equal(&t->shape, &val->shape) || tf != fsc_dtype_is_float(val->dtype)) {
        char s1[160], s2[160];
        st = fsc_fail(err, FSC_ERR_INVALID, "%s: %s/%s.npy holds %s %s, the model's '%s' is %s %s", b->name, sub,
                      safe, fsc_dtype_name(fdt), fsc_shape_str(&t->shape, s1, sizeof s1), val->name,
                      fsc_dtype_name(val->dtype), fsc_shape_str(&val->shape, s2, sizeof s2));
        fsc_tensor_free(t);
        return st;
    }
    if (tf) t->fmt = fdt == FSC_DT_F64 ? FSC_FMT_FP64 : fdt == FSC_DT_F16 ? FSC_FMT_FP16 : FSC_FMT_FP32;
    return FSC_OK;
}

/* Writes request.json and the input files into dir. */
static fsc_status write_request(fsc_backend *b, const fsc_graph *g, const char *dir, const fsc_tensor *inputs,
                                bool want, fsc_error *err)
{
    char path[PATH_LEN + 300], safe[256];
    const char *model = g->source_path;
    size_t ml = model ? strlen(model) : 0;
    char saved[PATH_LEN + 32];
    if (!model || ml < 5 || strcmp(model + ml - 5, ".onnx") != 0) {
        /* A built-in or transformed graph: hand the runner an ONNX file of it. */
        snprintf(saved, sizeof saved, "%s/model.onnx", dir);
        fsc_status st = fsc_model_save(saved, g, b->ctx, err);
        if (st) return fsc_error_prefix(err, "%s: writing the model for the runner", b->name), st;
        model = saved;
    }
    snprintf(path, sizeof path, "%s/inputs", dir);
    if (mkdir(path, 0700) != 0) return fsc_fail(err, FSC_ERR_IO, "%s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/outputs", dir);
    if (mkdir(path, 0700) != 0) return fsc_fail(err, FSC_ERR_IO, "%s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/intermediates", dir);
    if (want && mkdir(path, 0700) != 0) return fsc_fail(err, FSC_ERR_IO, "%s: %s", path, strerror(errno));
    cJSON *j = cJSON_CreateObject();
    if (!j) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory writing a runner request");
    cJSON_AddNumberToObject(j, "protocol", 1);
    cJSON_AddStringToObject(j, "model", model);
    cJSON *ins = cJSON_AddObjectToObject(j, "inputs");
    cJSON *outs = cJSON_AddArrayToObject(j, "outputs");
    cJSON_AddNumberToObject(j, "threads", b->ctx->threads > 0 ? b->ctx->threads : 1);
    cJSON_AddBoolToObject(j, "want_intermediates", want);
    fsc_status st = FSC_OK;
    for (int i = 0; i < g->n_inputs && !st; i++) {
        const fsc_value *v = &g->values[g->inputs[i]];
        fsc_dtype ft;
        if (!file_type(v->dtype, &ft)) {
            st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s: input '%s' has dtype %s, which protocol v1 cannot carry",
                          b->name, v->name, fsc_dtype_name(v->dtype));
            break;
        }
        safe_name(v->name, safe, sizeof safe);
        char rel[300];
        snprintf(rel, sizeof rel, "inputs/%d_%s.npy", i, safe);
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        st = fsc_npy_write(path, &inputs[i], ft, err);
        if (!st) cJSON_AddStringToObject(ins, v->name, rel);
    }
    for (int i = 0; i < g->n_outputs; i++) cJSON_AddItemToArray(outs, cJSON_CreateString(g->values[g->outputs[i]].name));
    if (want) {
        cJSON *mids = cJSON_AddArrayToObject(j, "intermediates");
        for (int i = 0; i < g->n_nodes; i++)
            for (int o = 0; o < g->nodes[i].n_out; o++) {
                const fsc_value *v = &g->values[g->nodes[i].out[o]];
                if (!v->constant && !v->is_output) cJSON_AddItemToArray(mids, cJSON_CreateString(v->name));
            }
    }
    char *text = st ? NULL : cJSON_Print(j);
    cJSON_Delete(j);
    if (st) return st;
    if (!text) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory writing a runner request");
    snprintf(path, sizeof path, "%s/request.json", dir);
    st = fsc_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return st;
}

static fsc_status rn_run_graph(fsc_backend *b, const fsc_graph *g, const fsc_tensor *inputs, fsc_tensor *vals,
                               bool want, fsc_error *err)
{
    runner_desc *d = b->state;
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_LEN];
    snprintf(dir, sizeof dir, "%s/flipscope-runner-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return fsc_fail(err, FSC_ERR_IO, "%s: cannot make a temporary directory: %s", b->name, strerror(errno));
    fsc_status st = write_request(b, g, dir, inputs, want, err);
    if (!st) {
        char *argv[MAX_ARGS + 2];
        for (int i = 0; i < d->argc; i++) argv[i] = d->argv[i];
        argv[d->argc] = dir;
        argv[d->argc + 1] = NULL;
        st = fsc_runner_exec(b->name, argv, dir, d->timeout_s, err);
    }
    for (int i = 0; !st && i < g->n_outputs; i++) {
        int v = g->outputs[i];
        if (!vals[v].data) st = read_value(b, g, dir, "outputs", v, true, &vals[v], err);
    }
    for (int i = 0; !st && want && i < g->n_nodes; i++)
        for (int o = 0; !st && o < g->nodes[i].n_out; o++) {
            int v = g->nodes[i].out[o];
            if (!vals[v].data && !g->values[v].constant) st = read_value(b, g, dir, "intermediates", v, false, &vals[v], err);
        }
    if (st)
        for (int v = 0; v < g->n_values; v++) fsc_tensor_free(&vals[v]);
    const char *keep = getenv("FSC_RUNNER_KEEP");
    if (!keep || strcmp(keep, "1") != 0) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return st;
}

static const fsc_backend_vtable runner_vtable = {
    .kind = "runner",
    .supports = rn_supports,
    .prepare = NULL,
    .load_const = rn_load_const,
    .run_node = rn_run_node,
    .release = rn_release,
    .run_graph = rn_run_graph,
};

static fsc_status runner_open(const char *variant, const fsc_graph *g, const fsc_ctx *ctx, fsc_engine_plan *plan,
                              fsc_error *err)
{
    char dir[PATH_LEN];
    if (!find_runner(variant, dir)) return runner_lookup(variant, &(fsc_config_info){0}, err);
    fsc_backend *b = fsc_calloc(1, sizeof *b, "runner backend", err);
    runner_desc *d = b ? fsc_calloc(1, sizeof *d, "runner backend", err) : NULL;
    if (!d) {
        free(b);
        return FSC_ERR_NOMEM;
    }
    b->vt = &runner_vtable;
    b->ctx = ctx;
    b->arith = fsc_arith_preset("fp32"); /* closest description: the engine's own float32 */
    b->state = d;
    snprintf(b->name, sizeof b->name, "runner:%s", variant);
    plan->backends[0] = b;
    plan->n_backends = 1;
    fsc_status st = desc_load(variant, dir, d, err);
    if (!st && !d->available) st = fsc_fail(err, FSC_ERR_UNAVAILABLE, "runner:%s: %s", variant, d->reason);
    if (!st) st = fsc_plan_single(g, plan, err);
    return st;
}

const fsc_provider fsc_runner_provider = {
    .prefix = "runner",
    .list = runner_list,
    .lookup = runner_lookup,
    .open = runner_open,
};
