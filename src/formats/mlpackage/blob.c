/* blob.c: weight.bin blob storage version 2 (reading with every offset and size
 * bounds-checked, and writing with 64-byte aligned metadata and data). */
#include <stdlib.h>
#include <string.h>

#include "formats/mlpackage/mlp_internal.h"

#define HEADER_BYTES 64
#define META_BYTES 64

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

fsc_status fsc_mlp_blob_check(const uint8_t *buf, size_t len, const char *file, fsc_error *err)
{
    if (len < HEADER_BYTES)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s: %zu bytes, shorter than the 64-byte blob storage header", file, len);
    uint32_t version = rd32(buf + 4);
    if (version != 2)
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "%s: blob storage version %u (only version 2 is supported)", file,
                        version);
    return FSC_OK;
}

fsc_status fsc_mlp_blob_get(const uint8_t *buf, size_t len, uint64_t offset, int want_dtype, uint64_t want_bytes,
                            const uint8_t **data, const char *file, fsc_error *err)
{
    if (offset % MLP_BLOB_ALIGN)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s: blob offset %llu is not 64-byte aligned", file,
                        (unsigned long long)offset);
    if (offset < HEADER_BYTES || offset > len || len - offset < META_BYTES)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s: blob metadata at offset %llu lies outside the file (%zu bytes)",
                        file, (unsigned long long)offset, len);
    const uint8_t *m = buf + offset;
    uint32_t sentinel = rd32(m);
    if (sentinel != MLP_BLOB_SENTINEL)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s: blob at offset %llu has sentinel 0x%08X, expected 0xDEADBEEF", file,
                        (unsigned long long)offset, sentinel);
    uint32_t dtype = rd32(m + 4);
    uint64_t size = rd64(m + 8), data_off = rd64(m + 16);
    if ((int)dtype != want_dtype)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s: blob at offset %llu has storage dtype %u but the program declares %d",
                        file, (unsigned long long)offset, dtype, want_dtype);
    if (size != want_bytes)
        return fsc_fail(err, FSC_ERR_FORMAT, "%s: blob at offset %llu holds %llu bytes but the declared type needs %llu",
                        file, (unsigned long long)offset, (unsigned long long)size, (unsigned long long)want_bytes);
    if (data_off < offset + META_BYTES || data_off > len || size > len - data_off)
        return fsc_fail(err, FSC_ERR_FORMAT,
                        "%s: blob at offset %llu: data [%llu, +%llu) lies outside the file (%zu bytes)", file,
                        (unsigned long long)offset, (unsigned long long)data_off, (unsigned long long)size, len);
    *data = buf + data_off;
    return FSC_OK;
}

static fsc_status reserve(fsc_mlp_blob_writer *w, size_t extra, fsc_error *err)
{
    if (w->len + extra <= w->cap) return FSC_OK;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + extra) {
        if (cap > SIZE_MAX / 2) return fsc_fail(err, FSC_ERR_NOMEM, "weight.bin: too large");
        cap *= 2;
    }
    uint8_t *b = realloc(w->buf, cap);
    if (!b) return fsc_fail(err, FSC_ERR_NOMEM, "weight.bin: out of memory (%zu bytes)", cap);
    memset(b + w->cap, 0, cap - w->cap);
    w->buf = b;
    w->cap = cap;
    return FSC_OK;
}

fsc_status fsc_mlp_blob_writer_init(fsc_mlp_blob_writer *w, fsc_error *err)
{
    memset(w, 0, sizeof *w);
    fsc_status st = reserve(w, HEADER_BYTES, err);
    if (st) return st;
    w->len = HEADER_BYTES;
    wr32(w->buf + 4, 2);
    return FSC_OK;
}

fsc_status fsc_mlp_blob_append(fsc_mlp_blob_writer *w, int dtype, const void *data, size_t nbytes,
                               uint64_t *offset, fsc_error *err)
{
    size_t meta = (w->len + MLP_BLOB_ALIGN - 1) / MLP_BLOB_ALIGN * MLP_BLOB_ALIGN;
    size_t data_off = meta + META_BYTES;
    size_t end = data_off + nbytes;
    fsc_status st = reserve(w, end - w->len, err);
    if (st) return st;
    uint8_t *m = w->buf + meta;
    wr32(m, MLP_BLOB_SENTINEL);
    wr32(m + 4, (uint32_t)dtype);
    wr64(m + 8, nbytes);
    wr64(m + 16, data_off);
    memcpy(w->buf + data_off, data, nbytes);
    w->len = end;
    w->count++;
    wr32(w->buf, w->count);
    *offset = meta;
    return FSC_OK;
}

void fsc_mlp_blob_writer_free(fsc_mlp_blob_writer *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}
