/* manifest.c: a .mlpackage's Manifest.json (cJSON) and path containment. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "flipscope/model_io.h"
#include "formats/mlpackage/mlp_internal.h"

fsc_status fsc_mlp_safe_path(const char *root, const char *rel, char **out, fsc_error *err)
{
    *out = NULL;
    if (!rel[0]) return fsc_fail(err, FSC_ERR_FORMAT, "empty path");
    if (rel[0] == '/' || rel[0] == '\\')
        return fsc_fail(err, FSC_ERR_FORMAT, "path '%s' is absolute; paths must stay inside the package", rel);
    for (const char *p = rel; *p;) {
        const char *e = p + strcspn(p, "/\\");
        if (e - p == 2 && p[0] == '.' && p[1] == '.')
            return fsc_fail(err, FSC_ERR_FORMAT, "path '%s' contains '..'; paths must stay inside the package", rel);
        p = *e ? e + 1 : e;
    }
    size_t n = strlen(root) + strlen(rel) + 2;
    char *joined = malloc(n);
    if (!joined) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    snprintf(joined, n, "%s/%s", root, rel);
    char rroot[PATH_MAX], rfile[PATH_MAX];
    if (!realpath(root, rroot)) {
        free(joined);
        return fsc_fail(err, FSC_ERR_IO, "%s: cannot resolve the package path", root);
    }
    if (!realpath(joined, rfile)) {
        fsc_status st = fsc_fail(err, FSC_ERR_FORMAT, "'%s' does not exist", joined);
        free(joined);
        return st;
    }
    size_t lr = strlen(rroot);
    if (strncmp(rfile, rroot, lr) || (rfile[lr] != '/' && rfile[lr] != '\0')) {
        fsc_status st = fsc_fail(err, FSC_ERR_FORMAT, "'%s' resolves to '%s', outside the package", joined, rfile);
        free(joined);
        return st;
    }
    *out = joined;
    return FSC_OK;
}

static const char *str_field(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Nesting depth of a parsed JSON value (a scalar is 1). Recursion is bounded:
 * cJSON refuses documents nested deeper than CJSON_NESTING_LIMIT (1000). */
static int json_depth(const cJSON *v)
{
    int d = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        int k = json_depth(c);
        if (k > d) d = k;
    }
    return d + 1;
}

/* "1.0.0" style versions newer than 1.0.0 are refused. */
static bool version_supported(const char *v)
{
    int a = 0, b = 0, c = 0;
    if (sscanf(v, "%d.%d.%d", &a, &b, &c) < 1) return false;
    return a < 1 || (a == 1 && b == 0 && c == 0);
}

fsc_status fsc_mlp_manifest_model_path(const char *pkg, const fsc_limits *lim, char **model_path, fsc_error *err)
{
    *model_path = NULL;
    size_t n = strlen(pkg) + 32;
    char *mpath = malloc(n), *data = NULL;
    if (!mpath) return fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
    snprintf(mpath, n, "%s/Manifest.json", pkg);
    uint8_t *buf = NULL;
    size_t len = 0;
    cJSON *root = NULL;
    fsc_status st = fsc_read_file(mpath, lim ? lim->max_file_bytes : 0, (void **)&buf, &len, err);
    if (st) goto done;
    root = cJSON_ParseWithLength((const char *)buf, len);
    if (!root || !cJSON_IsObject(root)) {
        st = fsc_fail(err, FSC_ERR_FORMAT, "%s: not a JSON object", mpath);
        goto done;
    }
    int depth = json_depth(root);
    if (lim && lim->max_nesting > 0 && depth > lim->max_nesting) {
        st = fsc_fail(err, FSC_ERR_LIMIT,
                      "%s: JSON nested %d levels deep, over the max_nesting limit of %d (raise it with --limit "
                      "max_nesting=N)", mpath, depth, lim->max_nesting);
        goto done;
    }
    const char *ver = str_field(root, "fileFormatVersion");
    const char *rid = str_field(root, "rootModelIdentifier");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "itemInfoEntries");
    if (!ver || !rid || !cJSON_IsObject(items)) {
        st = fsc_fail(err, FSC_ERR_FORMAT,
                      "%s: needs fileFormatVersion, rootModelIdentifier (strings) and itemInfoEntries (object)", mpath);
        goto done;
    }
    if (!version_supported(ver)) {
        st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s: fileFormatVersion '%s' is newer than 1.0.0", mpath, ver);
        goto done;
    }
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(items, rid);
    if (!cJSON_IsObject(item)) {
        st = fsc_fail(err, FSC_ERR_FORMAT, "%s: rootModelIdentifier '%s' names no entry of itemInfoEntries", mpath, rid);
        goto done;
    }
    static const char *const need[] = {"path", "name", "author", "description"};
    for (int i = 0; i < 4; i++)
        if (!str_field(item, need[i])) {
            st = fsc_fail(err, FSC_ERR_FORMAT, "%s: item '%s' lacks the string field '%s'", mpath, rid, need[i]);
            goto done;
        }
    const char *rel = str_field(item, "path");
    if (lim && lim->max_string && strlen(rel) > lim->max_string) {
        st = fsc_fail(err, FSC_ERR_LIMIT,
                      "%s: root model path of %zu bytes is over the max_string limit of %zu (raise it with --limit "
                      "max_string=N)", mpath, strlen(rel), lim->max_string);
        goto done;
    }
    if (rel[0] == '/' || rel[0] == '\\' || !rel[0]) {
        st = fsc_fail(err, FSC_ERR_FORMAT, "%s: root model item '%s': path '%s' is not a relative path inside the package",
                      mpath, rid, rel);
        goto done;
    }
    n = strlen(rel) + 8;
    data = malloc(n);
    if (!data) {
        st = fsc_fail(err, FSC_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(data, n, "Data/%s", rel); /* item paths are relative to Data/ */
    st = fsc_mlp_safe_path(pkg, data, model_path, err);
    if (st) fsc_error_prefix(err, "%s: root model item '%s'", mpath, rid);
done:
    cJSON_Delete(root);
    free(buf);
    free(mpath);
    free(data);
    return st;
}
