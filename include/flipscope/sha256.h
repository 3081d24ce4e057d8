/* sha256.h: SHA-256 (FIPS 180-4), for the model hash in reports. */
#ifndef FLIPSCOPE_SHA256_H
#define FLIPSCOPE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fsc_sha256 {
    uint32_t h[8];
    uint64_t bytes;     /* message length so far */
    uint8_t block[64];  /* pending partial block */
    size_t fill;
} fsc_sha256;

void fsc_sha256_init(fsc_sha256 *s);
void fsc_sha256_update(fsc_sha256 *s, const void *data, size_t len);
/* Finishes the hash into digest (32 bytes); s must be re-initialised before reuse. */
void fsc_sha256_final(fsc_sha256 *s, uint8_t digest[32]);
/* One-shot hash of data as 64 lowercase hex digits plus NUL. */
void fsc_sha256_hex(const void *data, size_t len, char hex[65]);
/* Hash of a model path as 64 hex digits: a regular file's bytes; a directory
 * (.mlpackage) hashed as a tree: for each regular file below it, in byte order
 * of relative path, the path, a NUL, its size as 8 little-endian bytes, its
 * bytes. Symbolic links are refused (FSC_ERR_IO). */
fsc_status fsc_sha256_path(const char *path, char hex[65], fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
