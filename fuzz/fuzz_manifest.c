/* fuzz_manifest.c: Manifest.json bytes. Each input becomes the Manifest.json
 * of a package whose Data/com.apple.CoreML/ holds a valid model and weights;
 * fsc_mlpackage_load parses the manifest (cJSON), resolves the root item's
 * path (containment checks) and loads what it names. */
#include "fuzz_pkgfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const pkgfs_seed *s = pkgfs_seed_model();
    char pkg[256];
    snprintf(pkg, sizeof pkg, "%s/m.mlpackage", pkgfs_root());
    pkgfs_rm_tree(pkg);
    if (mkdir(pkg, 0755) || pkgfs_put(pkg, "Manifest.json", data, size) ||
        pkgfs_put(pkg, "Data/com.apple.CoreML/model.mlmodel", s->model, s->model_len) ||
        pkgfs_put(pkg, "Data/com.apple.CoreML/weights/weight.bin", s->weights, s->weights_len))
        abort();
    fsc_ctx ctx = fuzz_ctx();
    fsc_graph *g = NULL;
    fsc_error err;
    if (fsc_mlpackage_load(pkg, &ctx, &g, &err) == FSC_OK) fsc_graph_free(g);
    pkgfs_rm_tree(pkg);
    return 0;
}
