/* package_read.c: loading a .mlpackage directory or a bare .mlmodel file, and
 * parsing a Model from memory. The program itself is translated by mil_read.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flipscope/mlpackage.h"
#include "flipscope/model_io.h"
#include "formats/mlpackage/mlp_internal.h"
#include "formats/pb_nesting.h"

/* ---- blob resolvers ---------------------------------------------------- */

typedef struct mem_weights {
    const uint8_t *buf;
    size_t len;
    bool checked;
} mem_weights;

static fsc_status resolve_mem(void *user, const char *name, const uint8_t **buf, size_t *len, fsc_error *err)
{
    mem_weights *w = user;
    if (strcmp(name, MLP_WEIGHT_REF))
        return fsc_fail(err, FSC_ERR_FORMAT, "blob file '%s' is unknown (only %s is supported)", name, MLP_WEIGHT_REF);
    if (!w->buf)
        return fsc_fail(err, FSC_ERR_FORMAT, "blob file '%s' is referenced but no weights were given", name);
    if (!w->checked) {
        fsc_status st = fsc_mlp_blob_check(w->buf, w->len, "weight.bin", err);
        if (st) return st;
        w->checked = true;
    }
    *buf = w->buf;
    *len = w->len;
    return FSC_OK;
}

#define MAX_BLOB_FILES 4

typedef struct pkg_weights {
    const char *pkg;     /* package root */
    char *model_dir;     /* directory of model.mlmodel, relative to pkg */
    size_t max_bytes;
    int n;
    char *names[MAX_BLOB_FILES];
    uint8_t *bufs[MAX_BLOB_FILES];
    size_t lens[MAX_BLOB_FILES];
} pkg_weights;

static fsc_status resolve_pkg(void *user, const char *name, const uint8_t **buf, size_t *len, fsc_error *err)
{
    pkg_weights *w = user;
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->names[i], name)) {
            *buf = w->bufs[i];
            *len = w->lens[i];
            return FSC_OK;
        }
    static const char prefix[] = "@model_path/";
    if (strncmp(name, prefix, sizeof prefix - 1))
        return fsc_fail(err, FSC_ERR_FORMAT, "blob file '%s' does not start with @model_path/", name);
    if (w->n == MAX_BLOB_FILES) return fsc_fail(err, FSC_ERR_LIMIT, "more than %d blob files", MAX_BLOB_FILES);
    const char *rest = name + sizeof prefix - 1;
    if (rest[0] == '/' || rest[0] == '\\')
        return fsc_fail(err, FSC_ERR_FORMAT, "blob file '%s' is not a relative path inside the package", name);
    size_t n = strlen(w->model_dir) + strlen(rest) + 2;
    char *rel = malloc(n), *path = NULL;
    if (!rel) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    snprintf(rel, n, "%s/%s", w->model_dir, rest);
    fsc_status st = fsc_mlp_safe_path(w->pkg, rel, &path, err);
    free(rel);
    if (st) {
        fsc_error_prefix(err, "blob file '%s'", name);
        return st;
    }
    uint8_t *b = NULL;
    size_t l;
    st = fsc_read_file(path, w->max_bytes, (void **)&b, &l, err);
    if (!st) st = fsc_mlp_blob_check(b, l, path, err);
    free(path); /* messages from the two calls above already name the file */
    if (st) {
        free(b);
        return st;
    }
    char *dup = strdup(name);
    if (!dup) {
        free(b);
        return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    }
    w->names[w->n] = dup;
    w->bufs[w->n] = b;
    w->lens[w->n] = l;
    w->n++;
    *buf = b;
    *len = l;
    return FSC_OK;
}

static void pkg_weights_free(pkg_weights *w)
{
    for (int i = 0; i < w->n; i++) {
        free(w->names[i]);
        free(w->bufs[i]);
    }
    free(w->model_dir);
}

/* ---- entry points ------------------------------------------------------- */

static fsc_status parse_with(const void *buf, size_t len, fsc_mlp_blob_resolver resolve, void *user,
                             const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    *out = NULL;
    size_t max_file = ctx ? ctx->limits.max_file_bytes : fsc_limits_default().max_file_bytes;
    if (max_file && len > max_file)
        return fsc_fail(err, FSC_ERR_LIMIT,
                        "model of %zu bytes is over the max_file_bytes limit of %zu (raise it with --limit "
                        "max_file_bytes=N)", len, max_file);
    int max_nesting = ctx ? ctx->limits.max_nesting : fsc_limits_default().max_nesting;
    fsc_status nst = fsc_pb_check_nesting("Core ML model", (const uint8_t *)buf, len, &core_ml__specification__model__descriptor, max_nesting, err);
    if (nst) return nst;
    Mlp_Model *m = core_ml__specification__model__unpack(NULL, len, buf);
    if (!m) return fsc_fail(err, FSC_ERR_FORMAT, "not a valid Core ML Model protobuf");
    fsc_status st = fsc_mlp_model_to_graph(m, resolve, user, ctx, out, err);
    core_ml__specification__model__free_unpacked(m, NULL);
    return st;
}

fsc_status fsc_mlmodel_parse(const void *buf, size_t len, const void *weights, size_t weights_len,
                             const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    mem_weights w = {weights, weights_len, false};
    return parse_with(buf, len, resolve_mem, &w, ctx, out, err);
}

static fsc_status load_bare(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    fsc_limits lim = ctx ? ctx->limits : fsc_limits_default();
    uint8_t *buf;
    size_t len;
    fsc_status st = fsc_read_file(path, lim.max_file_bytes, (void **)&buf, &len, err);
    if (st) return st;
    mem_weights w = {NULL, 0, false}; /* a bare .mlmodel has no weight.bin */
    st = parse_with(buf, len, resolve_mem, &w, ctx, out, err);
    free(buf);
    if (st) fsc_error_prefix(err, "%s", path);
    return st;
}

fsc_status fsc_mlpackage_load(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb)) return fsc_fail(err, FSC_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return load_bare(path, ctx, out, err);

    fsc_limits lim = ctx ? ctx->limits : fsc_limits_default();
    char *model_path = NULL;
    fsc_status st = fsc_mlp_manifest_model_path(path, &lim, &model_path, err);
    if (st) return st;
    pkg_weights w;
    memset(&w, 0, sizeof w);
    w.pkg = path;
    w.max_bytes = lim.max_file_bytes;
    /* model_path is "<pkg>/<rel>": its directory relative to the package root. */
    const char *rel = model_path + strlen(path) + 1;
    const char *slash = strrchr(rel, '/');
    w.model_dir = strndup(rel, slash ? (size_t)(slash - rel) : 0);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (!w.model_dir) st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    if (!st) st = fsc_read_file(model_path, lim.max_file_bytes, (void **)&buf, &len, err);
    if (!st) {
        st = parse_with(buf, len, resolve_pkg, &w, ctx, out, err);
        if (st) fsc_error_prefix(err, "%s", model_path);
    }
    free(buf);
    free(model_path);
    pkg_weights_free(&w);
    return st;
}
