/* model_io.c: model load/save dispatch by file type.
 *
 * One table maps an extension to its reader and writer; a format that is not
 * built in adds its row here. An unknown extension is an error
 * that lists what is supported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/model_io.h"
#include "flipscope/mlpackage.h"
#include "flipscope/onnx.h"

typedef struct model_format {
    const char *ext; /* lower-case, with the dot */
    fsc_status (*load)(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err);
    fsc_status (*save)(const char *path, const fsc_graph *g, const fsc_ctx *ctx, fsc_error *err);
} model_format;

static const model_format formats[] = {
    {".onnx", fsc_onnx_load, fsc_onnx_save},
    {".mlpackage", fsc_mlpackage_load, fsc_mlpackage_save},
    {".mlmodel", fsc_mlpackage_load, NULL}, /* bare ML Program with immediate weights (read only) */
};
static const int n_formats = (int)(sizeof formats / sizeof formats[0]);

/* True when path ends with ext (ASCII case-insensitive), ignoring one trailing '/' (directory bundles). */
static bool has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    if (n && path[n - 1] == '/') n--;
    if (n <= e) return false;
    for (size_t i = 0; i < e; i++) {
        char c = path[n - e + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != ext[i]) return false;
    }
    return true;
}

/* The format for path, or NULL with err listing the supported extensions. */
static const model_format *find_format(const char *path, bool saving, fsc_error *err)
{
    char list[256] = "";
    for (int i = 0; i < n_formats; i++) {
        if (has_ext(path, formats[i].ext) && (saving ? formats[i].save != NULL : formats[i].load != NULL))
            return &formats[i];
        if ((saving ? formats[i].save != NULL : formats[i].load != NULL) && strlen(list) + 16 < sizeof list) {
            if (list[0]) strcat(list, ", ");
            strcat(list, formats[i].ext);
        }
    }
    fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s: unknown model file type (supported for %s: %s)", path,
             saving ? "writing" : "reading", list);
    return NULL;
}

fsc_status fsc_model_load(const char *path, const fsc_ctx *ctx, fsc_graph **out, fsc_error *err)
{
    *out = NULL;
    const model_format *f = find_format(path, false, err);
    if (!f) return FSC_ERR_UNSUPPORTED;
    fsc_status st = f->load(path, ctx, out, err);
    if (st) return st;
    /* Whole-graph backends (runners) hand the file itself to another engine. */
    char *abs = realpath(path, NULL);
    if (abs) {
        free((*out)->source_path);
        (*out)->source_path = abs;
    }
    return FSC_OK;
}

fsc_status fsc_model_save(const char *path, const fsc_graph *g, const fsc_ctx *ctx, fsc_error *err)
{
    const model_format *f = find_format(path, true, err);
    return f ? f->save(path, g, ctx, err) : FSC_ERR_UNSUPPORTED;
}
