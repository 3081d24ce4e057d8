/* sha256.c: SHA-256 as specified in FIPS 180-4 (sections 4.1.2, 4.2.2, 5.1.1,
 * 6.2), and the file / directory-tree hash used for model identities. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flipscope/sha256.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void compress(uint32_t h[8], const uint8_t b[64])
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)b[4 * t] << 24 | (uint32_t)b[4 * t + 1] << 16 | (uint32_t)b[4 * t + 2] << 8 | b[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = bb;
        bb = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void fsc_sha256_init(fsc_sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->bytes = 0;
    s->fill = 0;
}

void fsc_sha256_update(fsc_sha256 *s, const void *data, size_t len)
{
    const uint8_t *p = data;
    s->bytes += len;
    while (len) {
        size_t take = 64 - s->fill < len ? 64 - s->fill : len;
        memcpy(s->block + s->fill, p, take);
        s->fill += take;
        p += take;
        len -= take;
        if (s->fill == 64) {
            compress(s->h, s->block);
            s->fill = 0;
        }
    }
}

void fsc_sha256_final(fsc_sha256 *s, uint8_t digest[32])
{
    uint64_t bits = s->bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s->fill < 56 ? 56 : 120) - s->fill; /* to 56 mod 64 */
    for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t keep = s->bytes;
    fsc_sha256_update(s, pad, padlen + 8);
    s->bytes = keep;
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)s->h[i];
    }
}

static void to_hex(const uint8_t d[32], char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

void fsc_sha256_hex(const void *data, size_t len, char hex[65])
{
    fsc_sha256 s;
    uint8_t d[32];
    fsc_sha256_init(&s);
    fsc_sha256_update(&s, data, len);
    fsc_sha256_final(&s, d);
    to_hex(d, hex);
}

/* Streams one regular file into s. */
static fsc_status hash_file(fsc_sha256 *s, const char *path, fsc_error *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) return fsc_fail(err, FSC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            close(fd);
            return fsc_fail(err, FSC_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        }
        if (r == 0) break;
        fsc_sha256_update(s, buf, (size_t)r);
    }
    close(fd);
    return FSC_OK;
}

typedef struct tree {
    char **rel; /* relative paths of regular files */
    int n, cap;
} tree;

#define TREE_MAX_FILES 100000
#define TREE_MAX_DEPTH 32

static fsc_status collect(const char *root, const char *rel, int depth, tree *t, fsc_error *err)
{
    if (depth > TREE_MAX_DEPTH) return fsc_fail(err, FSC_ERR_LIMIT, "%s: directories nested too deep", root);
    char dirpath[4096];
    snprintf(dirpath, sizeof dirpath, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dirpath);
    if (!d) return fsc_fail(err, FSC_ERR_IO, "%s: cannot open directory: %s", dirpath, strerror(errno));
    fsc_status st = FSC_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[4096], full[4096];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= sizeof sub ||
            (size_t)snprintf(full, sizeof full, "%s/%s", root, sub) >= sizeof full) {
            st = fsc_fail(err, FSC_ERR_LIMIT, "%s: path too long", root);
            break;
        }
        struct stat sb;
        if (lstat(full, &sb) != 0) {
            st = fsc_fail(err, FSC_ERR_IO, "%s: %s", full, strerror(errno));
        } else if (S_ISDIR(sb.st_mode)) {
            st = collect(root, sub, depth + 1, t, err);
        } else if (S_ISREG(sb.st_mode)) {
            if (t->n == TREE_MAX_FILES) {
                st = fsc_fail(err, FSC_ERR_LIMIT, "%s: more than %d files", root, TREE_MAX_FILES);
            } else {
                if (t->n == t->cap) {
                    int nc = t->cap ? 2 * t->cap : 16;
                    char **nr = realloc(t->rel, (size_t)nc * sizeof *nr);
                    if (!nr) {
                        st = fsc_fail(err, FSC_ERR_NOMEM, "%s: out of memory listing files", root);
                        break;
                    }
                    t->rel = nr;
                    t->cap = nc;
                }
                t->rel[t->n] = strdup(sub);
                if (!t->rel[t->n]) st = fsc_fail(err, FSC_ERR_NOMEM, "%s: out of memory listing files", root);
                else t->n++;
            }
        } else {
            st = fsc_fail(err, FSC_ERR_IO, "%s: not a regular file or directory (links are not followed)", full);
        }
    }
    closedir(d);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

fsc_status fsc_sha256_path(const char *path, char hex[65], fsc_error *err)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return fsc_fail(err, FSC_ERR_IO, "%s: %s", path, strerror(errno));
    fsc_sha256 s;
    uint8_t d[32];
    fsc_sha256_init(&s);
    if (S_ISREG(sb.st_mode)) {
        fsc_status st = hash_file(&s, path, err);
        if (st) return st;
    } else if (S_ISDIR(sb.st_mode)) {
        tree t = {0};
        fsc_status st = collect(path, "", 0, &t, err);
        if (!st) qsort(t.rel, (size_t)t.n, sizeof *t.rel, cmp_str);
        for (int i = 0; !st && i < t.n; i++) {
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", path, t.rel[i]);
            struct stat fb;
            if (stat(full, &fb) != 0) {
                st = fsc_fail(err, FSC_ERR_IO, "%s: %s", full, strerror(errno));
                break;
            }
            uint8_t len8[8];
            for (int k = 0; k < 8; k++) len8[k] = (uint8_t)((uint64_t)fb.st_size >> (8 * k));
            fsc_sha256_update(&s, t.rel[i], strlen(t.rel[i]) + 1);
            fsc_sha256_update(&s, len8, 8);
            st = hash_file(&s, full, err);
        }
        for (int i = 0; i < t.n; i++) free(t.rel[i]);
        free(t.rel);
        if (st) return st;
    } else {
        return fsc_fail(err, FSC_ERR_IO, "%s: not a regular file or directory", path);
    }
    fsc_sha256_final(&s, d);
    to_hex(d, hex);
    return FSC_OK;
}
