/* fuzz_mlpackage.c: whole .mlpackage directories. The input is a small
 * archive of records, unpacked into a fresh directory and loaded with
 * fsc_mlpackage_load:
 *   u8 kind   (even: file, odd: symlink)
 *   u8 n, n bytes of path ("/"-separated; see sanitize())
 *   file:    u16 little-endian length, that many bytes of content
 *   symlink: u8 choice of target from link_targets[]
 * Symlinks may point outside the package (the loader must refuse to follow
 * them out); the harness creates them last and never writes through them. */
#include "fuzz_pkgfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const link_targets[] = {"../secret.bin", "/etc/passwd", "Data", ".", "weights/weight.bin",
                                           "model.mlmodel", "/proc/self/mem", "../../.."};

/* Copies path bytes into out keeping [A-Za-z0-9._-] and '/', dropping empty,
 * "." and ".." components. Returns 0 when nothing usable remains. */
static int sanitize(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0, comp = 0;
    for (size_t i = 0; i <= n; i++) {
        int c = i < n ? p[i] : '/';
        if (c == '/') {
            size_t len = o - comp;
            int dots = (len == 1 && out[comp] == '.') || (len == 2 && out[comp] == '.' && out[comp + 1] == '.');
            if (len == 0 || dots) o = comp;
            else if (o + 1 < cap) out[o++] = '/';
            comp = o;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == '-';
        if (ok && o + 2 < cap) out[o++] = (char)c;
    }
    if (o && out[o - 1] == '/') o--;
    out[o] = '\0';
    return o > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char pkg[256], secret[256];
    snprintf(pkg, sizeof pkg, "%s/p.mlpackage", pkgfs_root());
    snprintf(secret, sizeof secret, "%s/secret.bin", pkgfs_root());
    pkgfs_rm_tree(pkg);
    remove(secret);
    if (pkgfs_put(pkgfs_root(), "secret.bin", "outside the package", 19) || mkdir(pkg, 0755)) abort();

    enum { MAX_LINKS = 8 };
    char links[MAX_LINKS][128];
    int link_to[MAX_LINKS], nlinks = 0;
    fuzz_in in = {data, size, 0};
    for (int rec = 0; rec < 32 && fuzz_left(&in) >= 2; rec++) {
        uint8_t kind = fuzz_u8(&in);
        size_t n = fuzz_u8(&in);
        if (n > fuzz_left(&in)) n = fuzz_left(&in);
        char rel[128];
        int ok = sanitize(in.p + in.at, n > 100 ? 100 : n, rel, sizeof rel);
        in.at += n;
        if (kind & 1) {
            uint8_t t = fuzz_u8(&in);
            if (ok && nlinks < MAX_LINKS) {
                memcpy(links[nlinks], rel, sizeof rel);
                link_to[nlinks++] = t % (int)(sizeof link_targets / sizeof link_targets[0]);
            }
        } else {
            size_t len = fuzz_u16(&in);
            if (len > fuzz_left(&in)) len = fuzz_left(&in);
            if (ok) pkgfs_put(pkg, rel, in.p + in.at, len); /* a clash (file over dir) just skips */
            in.at += len;
        }
    }
    for (int i = 0; i < nlinks; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", pkg, links[i]);
        if (!pkgfs_mkparents(pkg, path)) (void)!symlink(link_targets[link_to[i]], path);
    }

    fsc_ctx ctx = fuzz_ctx();
    fsc_graph *g = NULL;
    fsc_error err;
    if (fsc_mlpackage_load(pkg, &ctx, &g, &err) == FSC_OK) fsc_graph_free(g);
    pkgfs_rm_tree(pkg);
    return 0;
}
