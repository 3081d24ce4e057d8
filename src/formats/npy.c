/* npy.c: NumPy .npy arrays in and out (format versions 1.0, 2.0, 3.0).
 * Only what the header dictionary of a C-order little-endian array needs is
 * parsed; anything else is refused with a message saying what was found. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "flipscope/model_io.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* Finds the value text after 'key': in the header dict; NULL if absent. */
static const char *find_key(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(h, pat);
    }
    if (!p) return NULL;
    p += strlen(pat);
    while (*p && isspace((unsigned char)*p)) p++;
    if (*p != ':') return NULL;
    p++;
    while (*p && isspace((unsigned char)*p)) p++;
    return p;
}

static fsc_status parse_descr(const char *v, fsc_dtype *dt, fsc_error *err)
{
    if (!v || (*v != '\'' && *v != '"')) return fsc_fail(err, FSC_ERR_FORMAT, "header has no 'descr' string");
    char q = *v++;
    char d[16];
    size_t n = 0;
    while (*v && *v != q && n < sizeof d - 1) d[n++] = *v++;
    d[n] = '\0';
    static const struct {
        const char *descr;
        fsc_dtype dt;
    } table[] = {{"<f8", FSC_DT_F64}, {"<f4", FSC_DT_F32}, {"<f2", FSC_DT_F16}, {"|i1", FSC_DT_I8},
                 {"<i1", FSC_DT_I8},  {"|u1", FSC_DT_U8},  {"<u1", FSC_DT_U8},  {"<i4", FSC_DT_I32},
                 {"<i8", FSC_DT_I64}, {"|b1", FSC_DT_BOOL}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(d, table[i].descr) == 0) {
            *dt = table[i].dt;
            return FSC_OK;
        }
    if (d[0] == '>')
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, "big-endian data ('%s') is not supported; save with "
                        "arr.astype(arr.dtype.newbyteorder('<'))", d);
    return fsc_fail(err, FSC_ERR_UNSUPPORTED,
                    "dtype '%s' is not supported (float64/32/16, int8, uint8, int32, int64, bool are)", d);
}

static fsc_status parse_shape(const char *v, fsc_shape *s, fsc_error *err)
{
    if (!v || *v != '(') return fsc_fail(err, FSC_ERR_FORMAT, "header has no 'shape' tuple");
    v++;
    memset(s, 0, sizeof *s);
    for (;;) {
        while (*v && isspace((unsigned char)*v)) v++;
        if (*v == ')') break;
        if (!isdigit((unsigned char)*v)) return fsc_fail(err, FSC_ERR_FORMAT, "malformed 'shape' tuple");
        if (s->rank == FSC_MAX_RANK)
            return fsc_fail(err, FSC_ERR_LIMIT, "array has more than %d dimensions", FSC_MAX_RANK);
        char *end;
        unsigned long long d = strtoull(v, &end, 10);
        if (d > (1ull << 40)) return fsc_fail(err, FSC_ERR_LIMIT, "dimension %llu is absurdly large", d);
        s->dim[s->rank++] = (int64_t)d;
        v = end;
        while (*v && isspace((unsigned char)*v)) v++;
        if (*v == ',') v++;
        else if (*v != ')') return fsc_fail(err, FSC_ERR_FORMAT, "malformed 'shape' tuple");
    }
    return FSC_OK;
}

fsc_status fsc_npy_parse(const void *buf, size_t len, const fsc_limits *lim, fsc_tensor *out, fsc_dtype *file_dtype,
                         fsc_error *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *b = buf;
    if (len < 10 || memcmp(b, npy_magic, 6) != 0)
        return fsc_fail(err, FSC_ERR_FORMAT, "not a .npy file (bad magic)");
    int major = b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)b[8] | ((size_t)b[9] << 8);
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return fsc_fail(err, FSC_ERR_FORMAT, "truncated .npy header");
        hlen = (size_t)b[8] | ((size_t)b[9] << 8) | ((size_t)b[10] << 16) | ((size_t)b[11] << 24);
        hstart = 12;
    } else {
        return fsc_fail(err, FSC_ERR_UNSUPPORTED, ".npy format version %d is not supported", major);
    }
    size_t max_h = lim ? lim->max_npy_header : (1u << 16);
    if (hlen > max_h)
        return fsc_fail(err, FSC_ERR_LIMIT, ".npy header of %zu bytes is over the max_npy_header limit of %zu (raise it with --limit max_npy_header=N)",
                        hlen,
                        max_h);
    if (hlen > len - hstart) return fsc_fail(err, FSC_ERR_FORMAT, "truncated .npy header");
    char *h = fsc_malloc(hlen + 1, ".npy header", err);
    if (!h) return FSC_ERR_NOMEM;
    memcpy(h, b + hstart, hlen);
    h[hlen] = '\0';
    fsc_dtype dt = FSC_DT_UNDEF;
    fsc_shape shape;
    fsc_status st = parse_descr(find_key(h, "descr"), &dt, err);
    if (!st) {
        const char *fo = find_key(h, "fortran_order");
        if (!fo) st = fsc_fail(err, FSC_ERR_FORMAT, "header has no 'fortran_order'");
        else if (strncmp(fo, "True", 4) == 0)
            st = fsc_fail(err, FSC_ERR_UNSUPPORTED, "Fortran-order arrays are not supported; save np.ascontiguousarray(a)");
    }
    if (!st) st = parse_shape(find_key(h, "shape"), &shape, err);
    free(h);
    if (st) return st;
    int64_t n = fsc_shape_numel(&shape);
    size_t es = fsc_dtype_size(dt);
    size_t data_at = hstart + hlen;
    if (n < 0 || (uint64_t)n > (SIZE_MAX / es)) return fsc_fail(err, FSC_ERR_LIMIT, "array is too large");
    size_t need = (size_t)n * es;
    if (len - data_at < need) {
        char sb[160];
        return fsc_fail(err, FSC_ERR_FORMAT, "truncated data: shape %s of %s needs %zu bytes, file has %zu",
                        fsc_shape_str(&shape, sb, sizeof sb), fsc_dtype_name(dt), need, len - data_at);
    }
    fsc_dtype container = dt == FSC_DT_F16 ? FSC_DT_F32 : dt;
    st = fsc_tensor_alloc(out, container, &shape, lim ? lim->max_tensor_bytes : 0, err);
    if (st) return st;
    const unsigned char *d = b + data_at;
    if (dt == FSC_DT_F16) {
        float *o = out->data;
        for (int64_t i = 0; i < n; i++) o[i] = (float)fsc_half_to_double((uint16_t)(d[2 * i] | (d[2 * i + 1] << 8)));
        out->fmt = FSC_FMT_FP16;
    } else {
        memcpy(out->data, d, need); /* little-endian host: x86-64 and arm64 */
    }
    if (file_dtype) *file_dtype = dt;
    return FSC_OK;
}

fsc_status fsc_npy_read(const char *path, const fsc_limits *lim, fsc_tensor *out, fsc_dtype *file_dtype, fsc_error *err)
{
    void *buf;
    size_t len;
    fsc_status st = fsc_read_file(path, lim ? lim->max_file_bytes : 0, &buf, &len, err);
    if (st) return st;
    st = fsc_npy_parse(buf, len, lim, out, file_dtype, err);
    free(buf);
    if (st) fsc_error_prefix(err, "%s", path);
    return st;
}

static const char *descr_of(fsc_dtype dt)
{
    switch (dt) {
    case FSC_DT_F64: return "<f8";
    case FSC_DT_F32: return "<f4";
    case FSC_DT_F16: return "<f2";
    case FSC_DT_I8: return "|i1";
    case FSC_DT_U8: return "|u1";
    case FSC_DT_I32: return "<i4";
    case FSC_DT_I64: return "<i8";
    case FSC_DT_BOOL: return "|b1";
    default: return NULL;
    }
}

fsc_status fsc_npy_write(const char *path, const fsc_tensor *t, fsc_dtype file_dtype, fsc_error *err)
{
    const char *descr = descr_of(file_dtype);
    if (!descr) return fsc_fail(err, FSC_ERR_INVALID, "%s: cannot write %s arrays", path, fsc_dtype_name(file_dtype));
    char dict[512];
    int at = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->shape.rank; i++)
        at += snprintf(dict + at, sizeof dict - (size_t)at, "%lld%s", (long long)t->shape.dim[i],
                       t->shape.rank == 1 ? "," : (i + 1 < t->shape.rank ? ", " : ""));
    at += snprintf(dict + at, sizeof dict - (size_t)at, "), }");
    /* Pad with spaces and a newline so the data starts 64-byte aligned. */
    size_t hlen = (size_t)at + 1;
    size_t total_h = 10 + hlen;
    size_t pad = (64 - total_h % 64) % 64;
    hlen += pad;
    int64_t n = fsc_tensor_numel(t);
    size_t es = fsc_dtype_size(file_dtype);
    size_t size = 10 + hlen + (size_t)n * es;
    unsigned char *buf = fsc_malloc(size, path, err);
    if (!buf) return FSC_ERR_NOMEM;
    memcpy(buf, npy_magic, 6);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)at);
    memset(buf + 10 + at, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    unsigned char *d = buf + 10 + hlen;
    for (int64_t i = 0; i < n; i++) {
        double v = fsc_tensor_get(t, i);
        switch (file_dtype) {
        case FSC_DT_F64: memcpy(d + 8 * i, &v, 8); break;
        case FSC_DT_F32: { float f = (float)v; memcpy(d + 4 * i, &f, 4); break; }
        case FSC_DT_F16: { uint16_t h = fsc_double_to_half(v); d[2 * i] = h & 0xff; d[2 * i + 1] = h >> 8; break; }
        case FSC_DT_I8: ((int8_t *)d)[i] = (int8_t)v; break;
        case FSC_DT_U8: case FSC_DT_BOOL: d[i] = (uint8_t)v; break;
        case FSC_DT_I32: { int32_t x = (int32_t)v; memcpy(d + 4 * i, &x, 4); break; }
        case FSC_DT_I64: {
            int64_t x = t->dtype == FSC_DT_I64 ? ((const int64_t *)t->data)[i] : (int64_t)v;
            memcpy(d + 8 * i, &x, 8);
            break;
        }
        default: break;
        }
    }
    fsc_status st = fsc_write_file_atomic(path, buf, size, err);
    free(buf);
    return st;
}
