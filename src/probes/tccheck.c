/* tccheck.c: replays measured tensor-core cases through the block-FMA
 * presets and counts bit-exact matches (layout in tccheck.h). */
#include "flipscope/tccheck.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_K 64
#define LINE_MAX_CHARS 4096

/* Which preset each measured GPU/format directory is checked against, and
 * whether its fp32-output run used c = 0 (README: Hopper FP8 was measured
 * with the accumulator input zero). */
typedef struct tc_row {
    const char *gpu, *format, *preset;
    bool c_zero_fp32;
} tc_row;

static const tc_row rows[] = {
    {"V100", "fp16", "v100-fp16", false}, {"A100", "fp16", "a100-fp16", false},
    {"A100", "bf16", "a100-bf16", false}, {"A100", "tf32", "a100-tf32", false},
    {"H100", "fp16", "h100-fp16", false}, {"H100", "bf16", "h100-bf16", false},
    {"H100", "tf32", "h100-tf32", false}, {"H100", "E4M3", "h100-e4m3", true},
    {"H100", "E5M2", "h100-e5m2", true},  {"H200", "fp16", "h100-fp16", false},
    {"H200", "bf16", "h100-bf16", false}, {"H200", "tf32", "h100-tf32", false},
    {"H200", "E4M3", "h100-e4m3", true},  {"H200", "E5M2", "h100-e5m2", true},
    {"B200", "fp16", "b200-fp16", false}, {"B200", "bf16", "b200-bf16", false},
    {"B200", "tf32", "b200-tf32", false}, {"B200", "E4M3", "b200-e4m3", false},
    {"B200", "E5M2", "b200-e5m2", false},
};

fsc_status fsc_tc_blockfma_for(const fsc_arith *a, fsc_format_id out, fsc_blockfma *p, fsc_error *err)
{
    if (!a || a->block_fma.block <= 0)
        return fsc_fail(err, FSC_ERR_INVALID, "preset '%s' has no block FMA", a ? a->name : "(null)");
    *p = a->block_fma;
    if (out == FSC_FMT_FP32) return FSC_OK;
    if (out != FSC_FMT_FP16)
        return fsc_fail(err, FSC_ERR_INVALID, "block FMA output must be fp32 or fp16, not %s",
                        fsc_format_get(out) ? fsc_format_get(out)->name : "?");
    p->out = FSC_FMT_FP16;
    p->rounding = FSC_RND_NEAREST_EVEN;
    if (p->in == FSC_FMT_E4M3 || p->in == FSC_FMT_E5M2) {
        /* FP8 k32 with fp16 output, measured alike on H200 and B200: the
         * products k mod 4 in {0, 1} summed and rounded to fp16, then those
         * in {2, 3} added to that, rounded again, then c added and rounded.
         * Any alignment of 18 or more fraction bits (extra_bits >= -5)
         * reproduces the cases; 2 is what the fp16 units keep. */
        p->chunks = 2;
        p->chunk_run = 2;
        p->late_c = true;
        p->extra_bits = 2;
    }
    return FSC_OK;
}

/* printf into a path buffer; fails instead of truncating. */
static fsc_status make_path(char *buf, size_t n, fsc_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static fsc_status make_path(char *buf, size_t n, fsc_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= n) return fsc_fail(err, FSC_ERR_INVALID, "path too long: %.100s...", buf);
    return FSC_OK;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static double f32_bits(unsigned long u)
{
    float f;
    uint32_t w = (uint32_t)u;
    memcpy(&f, &w, sizeof f);
    return (double)f;
}

/* One case set: n cases of K inputs each. */
typedef struct tc_cases {
    int n, K;
    double *a, *b, *c;
} tc_cases;

static void cases_free(tc_cases *cs)
{
    free(cs->a);
    free(cs->b);
    free(cs->c);
    memset(cs, 0, sizeof *cs);
}

/* Reads a file of hex words (K per line) into *vals (grown as needed). */
static fsc_status read_hex(const char *path, double **vals, int *n, int *K, fsc_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return fsc_fail(err, FSC_ERR_IO, "%s: %s", path, strerror(errno));
    char line[LINE_MAX_CHARS];
    int cap = 0, lines = 0, k0 = -1;
    double *v = NULL;
    fsc_status st = FSC_OK;
    while (fgets(line, sizeof line, f)) {
        if (!strchr(line, '\n') && !feof(f)) {
            st = fsc_fail(err, FSC_ERR_FORMAT, "%s:%d: line too long", path, lines + 1);
            break;
        }
        if (line[0] == '\n' || line[0] == '\0') continue;
        double row[MAX_K];
        int k = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
            char *end;
            errno = 0;
            unsigned long u = strtoul(t, &end, 16);
            if (*end || errno || strlen(t) > 8 || k >= MAX_K) {
                st = fsc_fail(err, FSC_ERR_FORMAT, "%s:%d: '%s' is not an 8-digit hex binary32 pattern%s", path,
                              lines + 1, t, k >= MAX_K ? " (or more than 64 per line)" : "");
                break;
            }
            row[k++] = f32_bits(u);
        }
        if (st != FSC_OK) break;
        if (k0 >= 0 && k != k0) {
            st = fsc_fail(err, FSC_ERR_FORMAT, "%s:%d: %d values, earlier lines have %d", path, lines + 1, k, k0);
            break;
        }
        k0 = k;
        if ((lines + 1) * k > cap) {
            int ncap = cap ? cap * 2 : 1024 * k;
            double *nv = realloc(v, (size_t)ncap * sizeof *nv);
            if (!nv) {
                st = fsc_fail(err, FSC_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            v = nv;
            cap = ncap;
        }
        memcpy(v + (size_t)lines * k, row, (size_t)k * sizeof *row);
        lines++;
    }
    fclose(f);
    if (st == FSC_OK && lines == 0) st = fsc_fail(err, FSC_ERR_FORMAT, "%s: no cases", path);
    if (st != FSC_OK) {
        free(v);
        return st;
    }
    *vals = v;
    *n = lines;
    *K = k0;
    return FSC_OK;
}

/* Reads a file of binary32 patterns written as 32 '0'/'1' characters per line. */
static fsc_status read_bin(const char *path, int n, double **vals, fsc_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return fsc_fail(err, FSC_ERR_IO, "%s: %s", path, strerror(errno));
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) {
        fclose(f);
        return fsc_fail(err, FSC_ERR_NOMEM, "%s: out of memory", path);
    }
    char line[256];
    int i = 0;
    fsc_status st = FSC_OK;
    while (fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        if (len == 0) continue;
        if (i >= n) {
            st = fsc_fail(err, FSC_ERR_FORMAT, "%s: more than the %d cases of the input files", path, n);
            break;
        }
        if (len != 32 || strspn(line, "01") != 32) {
            st = fsc_fail(err, FSC_ERR_FORMAT, "%s:%d: expected 32 '0'/'1' characters", path, i + 1);
            break;
        }
        line[32] = '\0';
        v[i++] = f32_bits(strtoul(line, NULL, 2));
    }
    fclose(f);
    if (st == FSC_OK && i != n) st = fsc_fail(err, FSC_ERR_FORMAT, "%s: %d cases, the input files have %d", path, i, n);
    if (st != FSC_OK) {
        free(v);
        return st;
    }
    *vals = v;
    return FSC_OK;
}

static fsc_status load_cases(const char *sub, const char *gpu, const char *fmt, tc_cases *cs, fsc_error *err)
{
    char path[4096];
    int nb, kb;
    memset(cs, 0, sizeof *cs);
    fsc_status st = make_path(path, sizeof path, err, "%s/a_%s_%s.txt", sub, gpu, fmt);
    if (st == FSC_OK) st = read_hex(path, &cs->a, &cs->n, &cs->K, err);
    if (st != FSC_OK) return st;
    st = make_path(path, sizeof path, err, "%s/b_%s_%s.txt", sub, gpu, fmt);
    if (st == FSC_OK) st = read_hex(path, &cs->b, &nb, &kb, err);
    if (st == FSC_OK && (nb != cs->n || kb != cs->K))
        st = fsc_fail(err, FSC_ERR_FORMAT, "%s: %d cases of %d values, the a file has %d of %d", path, nb, kb, cs->n,
                      cs->K);
    if (st == FSC_OK) st = make_path(path, sizeof path, err, "%s/c_%s_fp32.txt", sub, gpu);
    if (st == FSC_OK) st = read_bin(path, cs->n, &cs->c, err);
    if (st != FSC_OK) cases_free(cs);
    return st;
}

static bool same_bits(double x, double y)
{
    if (isnan(x) || isnan(y)) return isnan(x) && isnan(y);
    return x == y && signbit(x) == signbit(y);
}

/* Replays the cases against results d under p. */
static void count(const tc_cases *cs, const double *d, const fsc_blockfma *p, bool c_zero, fsc_tc_result *r)
{
    r->matches = 0;
    r->total = cs->n;
    r->first_mismatch = -1;
    for (int i = 0; i < cs->n; i++) {
        double c = c_zero ? 0.0 : cs->c[i];
        if (p->out == FSC_FMT_FP16) c = fsc_rne(c, FSC_FMT_FP16); /* the measurement rounded c to fp16 */
        double got = fsc_blockfma_dot(cs->a + (size_t)i * cs->K, 1, cs->b + (size_t)i * cs->K, 1, cs->K, c, p);
        if (same_bits(got, d[i])) r->matches++;
        else if (r->first_mismatch < 0) r->first_mismatch = i;
    }
}

fsc_status fsc_tccheck_dir(const char *dir, fsc_tc_report *rep, fsc_error *err)
{
    memset(rep, 0, sizeof *rep);
    if (!dir || !is_dir(dir)) return fsc_fail(err, FSC_ERR_IO, "%s: not a directory", dir ? dir : "(null)");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char sub[4096];
        fsc_status st = make_path(sub, sizeof sub, err, "%s/%s/%s", dir, rows[i].gpu, rows[i].format);
        if (st != FSC_OK) return st;
        if (!is_dir(sub)) continue;
        const fsc_arith *a = fsc_arith_preset(rows[i].preset);
        if (!a) return fsc_fail(err, FSC_ERR_INTERNAL, "preset '%s' is missing", rows[i].preset);
        tc_cases cs;
        st = load_cases(sub, rows[i].gpu, rows[i].format, &cs, err);
        if (st != FSC_OK) return st;
        static const fsc_format_id outs[2] = {FSC_FMT_FP32, FSC_FMT_FP16};
        for (int o = 0; o < 2 && st == FSC_OK; o++) {
            const char *oname = fsc_format_get(outs[o])->name;
            char path[4096];
            st = make_path(path, sizeof path, err, "%s/d_%s_%s.txt", sub, rows[i].gpu, oname);
            if (st != FSC_OK) break;
            FILE *probe = fopen(path, "r");
            if (!probe) continue;
            fclose(probe);
            if (rep->n >= FSC_TC_MAX_FILES) {
                st = fsc_fail(err, FSC_ERR_LIMIT, "%s: more than %d result files", dir, FSC_TC_MAX_FILES);
                break;
            }
            double *d = NULL;
            fsc_blockfma p;
            st = read_bin(path, cs.n, &d, err);
            if (st == FSC_OK) st = fsc_tc_blockfma_for(a, outs[o], &p, err);
            if (st == FSC_OK) {
                fsc_tc_result *r = &rep->r[rep->n++];
                snprintf(r->gpu, sizeof r->gpu, "%s", rows[i].gpu);
                snprintf(r->format, sizeof r->format, "%s", rows[i].format);
                snprintf(r->output, sizeof r->output, "%s", oname);
                snprintf(r->preset, sizeof r->preset, "%s", rows[i].preset);
                r->K = cs.K;
                count(&cs, d, &p, rows[i].c_zero_fp32 && outs[o] == FSC_FMT_FP32, r);
            }
            free(d);
        }
        cases_free(&cs);
        if (st != FSC_OK) return st;
    }
    if (rep->n == 0)
        return fsc_fail(err, FSC_ERR_INVALID, "%s: no tensor-core data (expected <GPU>/<format>/d_<GPU>_fp32.txt)",
                        dir);
    return FSC_OK;
}
