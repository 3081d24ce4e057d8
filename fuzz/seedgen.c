/* seedgen.c: writes the Core ML seeds of the fuzz corpora (make_corpus.sh
 * runs it): for each ONNX model named on the command line that converts, the
 * Model protobuf (mlmodel/), its weight.bin (weights/), the Manifest.json of
 * the saved package (manifest/) and the whole package in fuzz_mlpackage's
 * archive format (mlpackage/). Usage: fuzz_seedgen OUTDIR MODEL.onnx... */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "flipscope/mlpackage.h"
#include "flipscope/model_io.h"
#include "flipscope/onnx.h"

static int put(const char *dir, const char *sub, const char *name, const void *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(d, 1, n, f);
    return fclose(f) || w != n ? -1 : 0;
}

/* Archive under construction (see fuzz_mlpackage.c for the format). */
static unsigned char *arc;
static size_t arc_len;
static size_t root_len;

static int add_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag != FTW_F) return 0;
    const char *rel = p + root_len + 1;
    size_t rl = strlen(rel), n = (size_t)sb->st_size;
    if (rl > 100 || n > 65535) return 0; /* the format's limits; such files are left out */
    void *d;
    size_t len;
    fsc_error err;
    if (fsc_read_file(p, 0, &d, &len, &err)) return -1;
    arc = realloc(arc, arc_len + 4 + rl + len);
    if (!arc) return -1;
    arc[arc_len++] = 0;
    arc[arc_len++] = (unsigned char)rl;
    memcpy(arc + arc_len, rel, rl);
    arc_len += rl;
    arc[arc_len++] = (unsigned char)(len & 255);
    arc[arc_len++] = (unsigned char)(len >> 8);
    memcpy(arc + arc_len, d, len);
    arc_len += len;
    free(d);
    return 0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTDIR MODEL.onnx...\n", argv[0]);
        return 2;
    }
    fsc_ctx ctx = fsc_ctx_default();
    int made = 0;
    for (int i = 2; i < argc; i++) {
        fsc_graph *g = NULL;
        fsc_error err;
        void *model = NULL, *weights = NULL;
        size_t ml = 0, wl = 0;
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        if (fsc_onnx_load(argv[i], &ctx, &g, &err) ||
            fsc_mlmodel_serialize(g, &model, &ml, &weights, &wl, &err)) {
            fprintf(stderr, "seedgen: %s skipped: %s\n", argv[i], err.msg);
            fsc_graph_free(g);
            continue;
        }
        /* seed name: <fixture dir>_<model name without .onnx>, e.g. onnx_qdq */
        char name[256], pkg[4096], dir[256] = "";
        if (base != argv[i]) {
            const char *d = base - 1;
            while (d > argv[i] && d[-1] != '/') d--;
            snprintf(dir, sizeof dir, "%.*s_", (int)(base - 1 - d), d);
        }
        size_t bl = strlen(base);
        if (bl > 5 && !strcmp(base + bl - 5, ".onnx")) bl -= 5;
        snprintf(name, sizeof name, "%s%.*s", dir, (int)bl, base);
        put(argv[1], "mlmodel", name, model, ml);
        if (weights) put(argv[1], "weights", name, weights, wl);
        snprintf(pkg, sizeof pkg, "%s/seedgen_tmp.mlpackage", argv[1]);
        if (!fsc_mlpackage_save(pkg, g, &ctx, &err)) {
            char mpath[4200];
            snprintf(mpath, sizeof mpath, "%s/Manifest.json", pkg);
            void *m;
            size_t mlen;
            if (!fsc_read_file(mpath, 0, &m, &mlen, &err)) {
                put(argv[1], "manifest", name, m, mlen);
                free(m);
            }
            root_len = strlen(pkg);
            arc_len = 0;
            if (!nftw(pkg, add_entry, 16, FTW_PHYS)) put(argv[1], "mlpackage", name, arc, arc_len);
            nftw(pkg, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        } else {
            fprintf(stderr, "seedgen: %s: package not saved: %s\n", argv[i], err.msg);
        }
        free(model);
        free(weights);
        fsc_graph_free(g);
        made++;
    }
    free(arc);
    printf("seedgen: %d models converted\n", made);
    return made ? 0 : 1;
}
