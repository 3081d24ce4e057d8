/* package_write.c: writing a .mlpackage directory. The package is assembled in
 * a temporary directory next to the target and moved into place in one step
 * (an atomic exchange when a package already exists), so a failure never
 * leaves a half-written package nor destroys the existing one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "flipscope/mlpackage.h"
#include "flipscope/model_io.h"
#include "formats/mlpackage/mlp_internal.h"

fsc_status fsc_mlmodel_serialize(const fsc_graph *g, void **model, size_t *model_len, void **weights,
                                 size_t *weights_len, fsc_error *err)
{
    uint8_t *m, *w;
    fsc_status st = fsc_mlp_graph_to_model(g, &m, model_len, &w, weights_len, err);
    *model = m;
    *weights = w;
    return st;
}

/* Each file of the package goes through fsc_write_file_atomic (the temporary
 * directory is fresh, so the extra rename costs nothing) and so honours its
 * failure-injection hook too. */
static fsc_status write_whole(const char *path, const void *data, size_t len, fsc_error *err)
{
    return fsc_write_file_atomic(path, data, len, err);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p) ? -1 : 0;
}

/* Removes a directory tree we created (symlinks are removed, not followed). */
static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A UUID-shaped identifier derived from the contents (the same model gives the same manifest). */
static void content_uuid(char out[37], const uint8_t *a, size_t la, uint64_t salt)
{
    uint64_t h1 = 1469598103934665603ull ^ salt, h2 = 0x9E3779B97F4A7C15ull + salt;
    for (size_t i = 0; i < la; i++) {
        h1 = (h1 ^ a[i]) * 1099511628211ull;
        h2 = (h2 ^ a[i]) * 0x100000001B3ull + (h2 >> 29);
    }
    snprintf(out, 37, "%08X-%04X-4%03X-8%03X-%012llX", (unsigned)(h1 >> 32), (unsigned)(h1 >> 16) & 0xFFFF,
             (unsigned)h1 & 0xFFF, (unsigned)(h2 >> 52) & 0xFFF, (unsigned long long)(h2 & 0xFFFFFFFFFFFFull));
}

static char *manifest_json(const uint8_t *model, size_t model_len)
{
    char idm[37], idw[37];
    content_uuid(idm, model, model_len, 1);
    content_uuid(idw, model, model_len, 2);
    cJSON *root = cJSON_CreateObject(), *items = cJSON_CreateObject();
    cJSON *m = cJSON_CreateObject(), *w = cJSON_CreateObject();
    char *out = NULL;
    if (root && items && m && w) {
        cJSON_AddStringToObject(root, "fileFormatVersion", "1.0.0");
        cJSON_AddStringToObject(m, "author", "com.apple.CoreML");
        cJSON_AddStringToObject(m, "description", "CoreML Model Specification");
        cJSON_AddStringToObject(m, "name", "model.mlmodel");
        cJSON_AddStringToObject(m, "path", "com.apple.CoreML/model.mlmodel");
        cJSON_AddStringToObject(w, "author", "com.apple.CoreML");
        cJSON_AddStringToObject(w, "description", "CoreML Model Weights");
        cJSON_AddStringToObject(w, "name", "weights");
        cJSON_AddStringToObject(w, "path", "com.apple.CoreML/weights");
        cJSON_AddItemToObject(items, idm, m);
        cJSON_AddItemToObject(items, idw, w);
        m = w = NULL;
        cJSON_AddItemToObject(root, "itemInfoEntries", items);
        items = NULL;
        cJSON_AddStringToObject(root, "rootModelIdentifier", idm);
        out = cJSON_Print(root);
    }
    cJSON_Delete(root);
    cJSON_Delete(items);
    cJSON_Delete(m);
    cJSON_Delete(w);
    return out;
}

static fsc_status assemble(const char *tmp, const uint8_t *model, size_t model_len, const uint8_t *weights,
                           size_t weights_len, fsc_error *err)
{
    size_t n = strlen(tmp) + 64;
    char *p = malloc(n);
    if (!p) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    static const char *const dirs[] = {"Data", "Data/com.apple.CoreML", "Data/com.apple.CoreML/weights"};
    fsc_status st = FSC_OK;
    for (int i = 0; i < 3 && !st; i++) {
        snprintf(p, n, "%s/%s", tmp, dirs[i]);
        if (mkdir(p, 0755)) st = fsc_fail(err, FSC_ERR_IO, "%s: cannot create: %s", p, strerror(errno));
    }
    if (!st) {
        snprintf(p, n, "%s/Data/com.apple.CoreML/model.mlmodel", tmp);
        st = write_whole(p, model, model_len, err);
    }
    if (!st) {
        snprintf(p, n, "%s/Data/com.apple.CoreML/weights/weight.bin", tmp);
        st = write_whole(p, weights, weights_len, err);
    }
    if (!st) {
        char *json = manifest_json(model, model_len);
        snprintf(p, n, "%s/Manifest.json", tmp);
        st = json ? write_whole(p, json, strlen(json), err) : fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
        free(json);
    }
    free(p);
    return st;
}

/* Moves tmp to path in one step; an existing entry at path ends up at tmp. */
static fsc_status move_into_place(const char *tmp, const char *path, bool *swapped, fsc_error *err)
{
    *swapped = false;
    struct stat sb;
    if (lstat(path, &sb)) {
        if (rename(tmp, path)) return fsc_fail(err, FSC_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
        return FSC_OK;
    }
    if (!S_ISDIR(sb.st_mode))
        return fsc_fail(err, FSC_ERR_IO, "%s exists and is not a directory; refusing to replace it", path);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE))
        return fsc_fail(err, FSC_ERR_IO, "%s: cannot swap the new package into place: %s", path, strerror(errno));
    *swapped = true;
    return FSC_OK;
}

fsc_status fsc_mlpackage_save(const char *path, const fsc_graph *g, const fsc_ctx *ctx, fsc_error *err)
{
    (void)ctx;
    uint8_t *model = NULL, *weights = NULL;
    size_t model_len = 0, weights_len = 0;
    fsc_status st = fsc_mlp_graph_to_model(g, &model, &model_len, &weights, &weights_len, err);
    if (st) return st;
    uint8_t empty[64] = {0, 0, 0, 0, 2}; /* header of a blob storage without blobs */
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        free(model);
        free(weights);
        return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    }
    size_t plen = strlen(path);
    while (plen > 1 && path[plen - 1] == '/') plen--;
    snprintf(tmp, n, "%.*s.tmpXXXXXX", (int)plen, path);
    if (!mkdtemp(tmp)) {
        st = fsc_fail(err, FSC_ERR_IO, "%s: cannot create a temporary directory next to it: %s", path, strerror(errno));
    } else {
        if (chmod(tmp, 0755)) st = fsc_fail(err, FSC_ERR_IO, "%s: chmod: %s", tmp, strerror(errno));
        if (!st) st = assemble(tmp, model, model_len, weights ? weights : empty, weights ? weights_len : sizeof empty, err);
        bool swapped = false;
        if (!st) st = move_into_place(tmp, path, &swapped, err);
        if (st || swapped) rm_tree(tmp); /* the failed attempt, or the replaced package */
    }
    free(tmp);
    free(model);
    free(weights);
    return st;
}
