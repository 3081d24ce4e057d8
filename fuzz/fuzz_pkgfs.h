/* fuzz_pkgfs.h: a private scratch directory for the fuzz targets that need
 * files (Manifest.json, whole .mlpackage directories), and the seed model the
 * Core ML targets share.
 *
 * Containment: the harness itself only ever creates entries below its own
 * mkdtemp directory. Fuzzed paths are reduced to components of [A-Za-z0-9._-]
 * other than "." and ".."; regular files are created with O_EXCL|O_NOFOLLOW;
 * symlinks (whose targets may point anywhere: that is what the loader must
 * refuse) are created only after every file is written, so the harness never
 * writes through one. Cleanup walks with FTW_PHYS (never follows links). */
#ifndef FSC_FUZZ_PKGFS_H
#define FSC_FUZZ_PKGFS_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flipscope/mlpackage.h"
#include "flipscope/onnx.h"
#include "fuzz_common.h"

static int pkgfs_rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

/* Removes path and everything below it without following symlinks. */
static inline void pkgfs_rm_tree(const char *path)
{
    nftw(path, pkgfs_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The process's scratch directory (created on first use; aborts if impossible). */
static inline const char *pkgfs_root(void)
{
    static char root[64];
    if (!root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/fsc_fuzz_XXXXXX", t && strlen(t) < 40 ? t : "/tmp");
        if (!mkdtemp(root)) abort();
    }
    return root;
}

/* Creates the directories of root/rel below root (rel already sanitized);
 * refuses to pass through anything that is not a real directory. 0 on success. */
static inline int pkgfs_mkparents(const char *root, char *path)
{
    for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        struct stat sb;
        int ok = !mkdir(path, 0755) || (!lstat(path, &sb) && S_ISDIR(sb.st_mode));
        *s = '/';
        if (!ok) return -1;
    }
    return 0;
}

/* Writes data to root/rel (rel already sanitized), creating parent directories. 0 on success. */
static inline int pkgfs_put(const char *root, const char *rel, const void *data, size_t len)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path) return -1;
    if (pkgfs_mkparents(root, path)) return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
    if (fd < 0) return -1;
    ssize_t w = len ? write(fd, data, len) : 0;
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

/* A Core ML model with weights, converted from an ONNX fixture once per process. */
typedef struct pkgfs_seed {
    void *model, *weights;
    size_t model_len, weights_len;
} pkgfs_seed;

static inline const pkgfs_seed *pkgfs_seed_model(void)
{
    static pkgfs_seed s;
    static int done;
    if (done) return &s;
    done = 1;
    static const char *const cand[] = {"/tests/fixtures/onnx/qdq.onnx", "/tests/fixtures/onnx/ln_gelu.onnx",
                                       "/tests/fixtures/onnx/misc_ops.onnx"};
    fsc_ctx ctx = fuzz_ctx();
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", FSC_SOURCE_DIR, cand[i]);
        fsc_graph *g = NULL;
        fsc_error err;
        if (fsc_onnx_load(path, &ctx, &g, &err)) continue;
        fsc_status st = fsc_mlmodel_serialize(g, &s.model, &s.model_len, &s.weights, &s.weights_len, &err);
        fsc_graph_free(g);
        if (!st && s.weights) return &s;
        free(s.model);
        free(s.weights);
        memset(&s, 0, sizeof s);
    }
    fprintf(stderr, "fuzz: no ONNX fixture converts to a Core ML model with weights\n");
    abort();
}

#endif
