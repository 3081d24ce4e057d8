/* profile_parse.c: the device-profile text format (docs/plan.md).
 *
 *   # comment
 *   arith NAME base=PRESET key=value ...
 *   device NAME arith=NAME ops=op,op,... [dtypes=...] [max_rank=N] [max_kernel=N] [accelerator=yes] [note="..."]
 *   preset NAME devices=a,b,c [fallback=d] [stands_for="..."]
 *
 * A line ending in a backslash continues on the next one. Values may be
 * double-quoted (\" and \\ escapes). Every error names source:line. The
 * parser takes any bytes (it is fuzzed): lengths are checked, nothing is
 * assumed NUL-terminated. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flipscope/plan.h"

#define MAX_TOKENS 64
#define MAX_LINE 8192

typedef struct token {
    char *key;   /* NULL for a bare word */
    char *value; /* the word, or the value of key=value */
} token;

typedef struct parser {
    fsc_profile *p;
    const char *source;
    int line;
    fsc_error *err;
} parser;

static fsc_status perr(parser *ps, fsc_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static fsc_status perr(parser *ps, fsc_status code, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fsc_fail(ps->err, code, "%s:%d: %s", ps->source, ps->line, msg);
}

static char *dupstr(const char *s, fsc_error *err)
{
    size_t n = strlen(s) + 1;
    char *d = fsc_malloc(n, "profile text", err);
    if (d) memcpy(d, s, n);
    return d;
}

/* Splits line (modified in place) into tokens; quoted values are unescaped
 * in place (the write position never passes the read position). */
static fsc_status tokenize(parser *ps, char *line, token *tok, int *n_tok)
{
    int n = 0;
    char *r = line;
    for (;;) {
        while (*r == ' ' || *r == '\t' || *r == '\r') r++;
        if (!*r || *r == '#') break;
        if (n == MAX_TOKENS) return perr(ps, FSC_ERR_FORMAT, "more than 64 items on one line");
        char *w = r, *start = r;
        tok[n].key = NULL;
        bool quoted = false;
        for (;;) {
            char c = *r;
            if (c == '\0') break;
            if (!quoted && (c == ' ' || c == '\t' || c == '\r' || c == '#')) break;
            r++;
            if (c == '"') {
                quoted = !quoted;
                continue;
            }
            if (quoted && c == '\\' && (*r == '"' || *r == '\\')) {
                c = *r++;
            } else if (!quoted && c == '=' && !tok[n].key) {
                *w++ = '\0';
                tok[n].key = start;
                start = w;
                continue;
            }
            *w++ = c;
        }
        if (quoted) return perr(ps, FSC_ERR_FORMAT, "unterminated quoted value");
        char end = *r; /* saved: when w == r the terminator below overwrites it */
        *w = '\0';
        if (end) r++;
        tok[n].value = start;
        if (tok[n].key && !tok[n].key[0]) return perr(ps, FSC_ERR_FORMAT, "'=' without a key");
        n++;
        if (!end || end == '#') break;
    }
    *n_tok = n;
    return FSC_OK;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= FSC_PROFILE_NAME) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '-' || *s == '.'))
            return false;
    return true;
}

static fsc_status parse_int(parser *ps, const token *t, long long lo, long long hi, long long *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(t->value, &end, 10);
    if (errno || end == t->value || *end || x < lo || x > hi) {
        char range[64];
        snprintf(range, sizeof range, "[%lld, %lld]", lo, hi);
        char what[80];
        snprintf(what, sizeof what, "%s=%.40s", t->key, t->value);
        return perr(ps, FSC_ERR_FORMAT, "%s: expected an integer in %s", what, range);
    }
    *v = x;
    return FSC_OK;
}

static fsc_status parse_bool(parser *ps, const token *t, bool *v)
{
    if (!strcmp(t->value, "yes") || !strcmp(t->value, "true") || !strcmp(t->value, "1")) *v = true;
    else if (!strcmp(t->value, "no") || !strcmp(t->value, "false") || !strcmp(t->value, "0")) *v = false;
    else return perr(ps, FSC_ERR_FORMAT, "%s: expected yes or no, got '%.60s'", t->key, t->value);
    return FSC_OK;
}

/* A name among choices[] (NULL-terminated); its index in *v. */
static fsc_status parse_choice(parser *ps, const token *t, const char *const *choices, int *v)
{
    char known[256] = "";
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(t->value, choices[i])) {
            *v = i;
            return FSC_OK;
        }
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, choices[i], sizeof known - strlen(known) - 1);
    }
    char what[160];
    snprintf(what, sizeof what, "unknown %s '%.60s'", t->key, t->value);
    return perr(ps, FSC_ERR_FORMAT, "%s (one of %s)", what, known);
}

static fsc_status parse_format(parser *ps, const token *t, fsc_format_id *v)
{
    int f = fsc_format_by_name(t->value);
    if (f < 0) {
        char what[160];
        snprintf(what, sizeof what, "%s: unknown number format '%.60s'", t->key, t->value);
        return perr(ps, FSC_ERR_FORMAT, "%s (fp64, fp32, tf32, bf16, fp16, e4m3, e5m2)", what);
    }
    *v = (fsc_format_id)f;
    return FSC_OK;
}

static const char *const orders[] = {"sequential", "pairwise", "blocked", NULL};
static const char *const roundings[] = {"nearest_even", "toward_zero", "nearest_away", NULL};
static const char *const transcendentals[] = {"exact", "storage", NULL};
static const char *const quant_modes[] = {"fake", "integer", NULL};
static const char *const requants[] = {"half_even", "half_away", "half_up", NULL};

/* One key=value of an arith line applied to a. */
static fsc_status arith_key(parser *ps, fsc_profile_arith *pa, const token *t)
{
    fsc_arith *a = &pa->arith;
    const char *k = t->key;
    int c;
    long long v;
    bool b;
    fsc_status st = FSC_OK;
    if (!strcmp(k, "stands_for") || !strcmp(k, "certainty")) {
        char **slot = !strcmp(k, "stands_for") ? &pa->stands_for : &pa->certainty;
        free(*slot);
        *slot = dupstr(t->value, ps->err);
        return *slot ? FSC_OK : FSC_ERR_NOMEM;
    }
    if (!strcmp(k, "storage")) return parse_format(ps, t, &a->storage);
    if (!strcmp(k, "weights")) return parse_format(ps, t, &a->weights);
    if (!strcmp(k, "operand")) return parse_format(ps, t, &a->operand);
    if (!strcmp(k, "product")) return parse_format(ps, t, &a->product);
    if (!strcmp(k, "accum")) return parse_format(ps, t, &a->accum);
    if (!strcmp(k, "reduce")) return parse_format(ps, t, &a->reduce);
    if (!strcmp(k, "quant_compute")) return parse_format(ps, t, &a->quant_compute);
    if (!strcmp(k, "bfma_out")) return parse_format(ps, t, &a->block_fma.out);
    if (!strcmp(k, "bfma_in")) return parse_format(ps, t, &a->block_fma.in);
    if (!strcmp(k, "operand_rounding") || !strcmp(k, "rounding") || !strcmp(k, "quant_rounding") ||
        !strcmp(k, "bfma_rounding")) {
        if ((st = parse_choice(ps, t, roundings, &c))) return st;
        fsc_rounding r = (fsc_rounding)c;
        if (!strcmp(k, "operand_rounding")) a->operand_rounding = r;
        else if (!strcmp(k, "rounding")) a->rounding = r;
        else if (!strcmp(k, "quant_rounding")) a->quant_rounding = r;
        else a->block_fma.rounding = r;
        return FSC_OK;
    }
    if (!strcmp(k, "order") || !strcmp(k, "reduce_order")) {
        if ((st = parse_choice(ps, t, orders, &c))) return st;
        if (!strcmp(k, "order")) a->order = (fsc_sum_order)c;
        else a->reduce_order = (fsc_sum_order)c;
        return FSC_OK;
    }
    if (!strcmp(k, "block")) {
        if ((st = parse_int(ps, t, 1, 1 << 20, &v))) return st;
        a->block = (int)v;
        return FSC_OK;
    }
    if (!strcmp(k, "transcendental")) {
        if ((st = parse_choice(ps, t, transcendentals, &c))) return st;
        a->transcendental = (fsc_transcendental)c;
        return FSC_OK;
    }
    if (!strcmp(k, "quant")) {
        if ((st = parse_choice(ps, t, quant_modes, &c))) return st;
        a->quant = (fsc_quant_mode)c;
        return FSC_OK;
    }
    if (!strcmp(k, "requant")) {
        if ((st = parse_choice(ps, t, requants, &c))) return st;
        a->requant = (fsc_requant_rounding)c;
        return FSC_OK;
    }
    if (!strcmp(k, "requant_fixed_point")) return parse_bool(ps, t, &a->requant_fixed_point);
    if (!strcmp(k, "bfma_block")) {
        if ((st = parse_int(ps, t, 0, 1 << 16, &v))) return st;
        a->block_fma.block = (int)v;
        return FSC_OK;
    }
    if (!strcmp(k, "bfma_extra_bits")) {
        if ((st = parse_int(ps, t, -24, 20, &v))) return st; /* the model sums in 64 bits */
        a->block_fma.extra_bits = (int)v;
        return FSC_OK;
    }
    if (!strcmp(k, "bfma_chunks") || !strcmp(k, "bfma_chunk_run")) {
        if ((st = parse_int(ps, t, 0, 256, &v))) return st;
        *(!strcmp(k, "bfma_chunks") ? &a->block_fma.chunks : &a->block_fma.chunk_run) = (int)v;
        return FSC_OK;
    }
    if (!strcmp(k, "bfma_late_c")) return parse_bool(ps, t, &a->block_fma.late_c);
    if (!strcmp(k, "bfma_in_truncate")) return parse_bool(ps, t, &a->block_fma.in_truncate);
    if (!strcmp(k, "bfma_subnormals_out")) {
        if ((st = parse_bool(ps, t, &b))) return st;
        a->block_fma.subnormals_out = b;
        return FSC_OK;
    }
    return perr(ps, FSC_ERR_FORMAT, "unknown arith key '%.60s'", k);
}

static int arith_index(const fsc_profile *p, const char *name)
{
    for (int i = 0; i < p->n_ariths; i++)
        if (!strcmp(p->ariths[i].name, name)) return i;
    return -1;
}

int fsc_profile_device_index(const fsc_profile *p, const char *name)
{
    for (int i = 0; p && name && i < p->n_devices; i++)
        if (!strcmp(p->devices[i].name, name)) return i;
    return -1;
}

int fsc_profile_preset_index(const fsc_profile *p, const char *name)
{
    for (int i = 0; p && name && i < p->n_presets; i++)
        if (!strcmp(p->presets[i].name, name)) return i;
    return -1;
}

static fsc_status check_name(parser *ps, const char *what, const token *tok, int n_tok)
{
    if (n_tok < 2 || tok[1].key) return perr(ps, FSC_ERR_FORMAT, "'%s' needs a NAME", what);
    if (!valid_name(tok[1].value))
        return perr(ps, FSC_ERR_FORMAT, "bad name '%.40s' (1 to 31 letters, digits, '_', '-', '.')", tok[1].value);
    for (int i = 2; i < n_tok; i++)
        if (!tok[i].key) return perr(ps, FSC_ERR_FORMAT, "expected key=value, got '%.60s'", tok[i].value);
    return FSC_OK;
}

static fsc_status parse_arith(parser *ps, token *tok, int n_tok)
{
    fsc_profile *p = ps->p;
    fsc_status st = check_name(ps, "arith", tok, n_tok);
    if (st) return st;
    if (arith_index(p, tok[1].value) >= 0)
        return perr(ps, FSC_ERR_FORMAT, "arith '%s' is defined twice", tok[1].value);
    if (p->n_ariths == FSC_PROFILE_MAX) return perr(ps, FSC_ERR_FORMAT, "more than 16 arith models");
    const char *base = NULL;
    for (int i = 2; i < n_tok; i++)
        if (!strcmp(tok[i].key, "base")) base = tok[i].value;
    if (!base) return perr(ps, FSC_ERR_FORMAT, "arith '%s' needs base=PRESET (a built-in preset or an arith above)", tok[1].value);
    fsc_profile_arith *pa = &p->ariths[p->n_ariths];
    memset(pa, 0, sizeof *pa);
    int bi = arith_index(p, base);
    const fsc_arith *ba = bi >= 0 ? &p->ariths[bi].arith : fsc_arith_preset(base);
    if (!ba) return perr(ps, FSC_ERR_FORMAT, "unknown base arithmetic '%.60s' (`flipscope backends` lists emu:<preset>)", base);
    pa->arith = *ba;
    snprintf(pa->name, sizeof pa->name, "%s", tok[1].value);
    p->n_ariths++; /* counted now so fsc_profile_free releases its strings on error */
    if (ba->stands_for && !(pa->stands_for = dupstr(ba->stands_for, ps->err))) return FSC_ERR_NOMEM;
    if (ba->certainty && !(pa->certainty = dupstr(ba->certainty, ps->err))) return FSC_ERR_NOMEM;
    for (int i = 2; i < n_tok; i++) {
        if (!strcmp(tok[i].key, "base")) continue;
        if ((st = arith_key(ps, pa, &tok[i]))) return st;
    }
    pa->arith.name = pa->name;
    pa->arith.stands_for = pa->stands_for;
    pa->arith.certainty = pa->certainty;
    if (pa->arith.order == FSC_ORDER_BLOCKED && pa->arith.block < 1)
        return perr(ps, FSC_ERR_FORMAT, "arith '%s': order=blocked needs block=N", pa->name);
    return FSC_OK;
}

static int op_by_name(const char *s)
{
    for (int o = 0; o < FSC_OP_COUNT; o++)
        if (o != FSC_OP_CONSTANT && !strcmp(fsc_op_name((fsc_op)o), s)) return o;
    return -1;
}

static int dtype_by_name(const char *s)
{
    for (int d = 1; d < FSC_DT_COUNT; d++)
        if (!strcmp(fsc_dtype_name((fsc_dtype)d), s)) return d;
    return -1;
}

/* Next comma-separated item of *s (modified in place), or NULL at the end. */
static char *next_item(char **s)
{
    while (**s == ',') (*s)++;
    if (!**s) return NULL;
    char *item = *s, *c = strchr(item, ',');
    if (c) {
        *c = '\0';
        *s = c + 1;
    } else {
        *s = item + strlen(item);
    }
    return item;
}

static fsc_status parse_ops(parser *ps, fsc_device *d, char *list)
{
    int n = 0;
    for (char *it; (it = next_item(&list)); n++) {
        if (!strcmp(it, "all")) {
            d->all_ops = true;
            continue;
        }
        int o = op_by_name(it);
        if (o < 0) return perr(ps, FSC_ERR_FORMAT, "unknown op '%.60s' (op names as in docs/plan.md: conv2d, gemm, silu, ...)", it);
        d->ops[o] = true;
    }
    if (!n) return perr(ps, FSC_ERR_FORMAT, "ops= is empty");
    return FSC_OK;
}

static fsc_status parse_dtypes(parser *ps, fsc_device *d, char *list)
{
    int n = 0;
    d->any_dtype = false;
    for (char *it; (it = next_item(&list)); n++) {
        int t = dtype_by_name(it);
        if (t < 0) return perr(ps, FSC_ERR_FORMAT, "unknown dtype '%.60s' (float32, float16, bfloat16, int8, uint8, int32, int64, bool, ...)", it);
        d->dtypes[t] = true;
    }
    if (!n) return perr(ps, FSC_ERR_FORMAT, "dtypes= is empty");
    return FSC_OK;
}

static fsc_status parse_device(parser *ps, token *tok, int n_tok)
{
    fsc_profile *p = ps->p;
    fsc_status st = check_name(ps, "device", tok, n_tok);
    if (st) return st;
    if (fsc_profile_device_index(p, tok[1].value) >= 0)
        return perr(ps, FSC_ERR_FORMAT, "device '%s' is defined twice", tok[1].value);
    if (p->n_devices == FSC_PROFILE_MAX) return perr(ps, FSC_ERR_FORMAT, "more than 16 devices");
    fsc_device *d = &p->devices[p->n_devices];
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", tok[1].value);
    d->arith = -1;
    d->any_dtype = true;
    p->n_devices++;
    bool have_ops = false;
    long long v;
    for (int i = 2; i < n_tok && !st; i++) {
        const char *k = tok[i].key;
        if (!strcmp(k, "arith")) {
            d->arith = arith_index(p, tok[i].value);
            if (d->arith < 0)
                st = perr(ps, FSC_ERR_FORMAT, "unknown arith '%.60s' (define it with an arith line above)", tok[i].value);
        } else if (!strcmp(k, "ops")) {
            have_ops = true;
            st = parse_ops(ps, d, tok[i].value);
        } else if (!strcmp(k, "dtypes")) {
            st = parse_dtypes(ps, d, tok[i].value);
        } else if (!strcmp(k, "max_rank")) {
            if (!(st = parse_int(ps, &tok[i], 1, 64, &v))) d->max_rank = (int)v;
        } else if (!strcmp(k, "max_kernel")) {
            if (!(st = parse_int(ps, &tok[i], 1, 1LL << 40, &v))) d->max_kernel = v;
        } else if (!strcmp(k, "accelerator")) {
            st = parse_bool(ps, &tok[i], &d->accelerator);
        } else if (!strcmp(k, "note")) {
            free(d->note);
            if (!(d->note = dupstr(tok[i].value, ps->err))) st = FSC_ERR_NOMEM;
        } else {
            st = perr(ps, FSC_ERR_FORMAT, "unknown device key '%.60s'", k);
        }
    }
    if (st) return st;
    if (d->arith < 0) return perr(ps, FSC_ERR_FORMAT, "device '%s' needs arith=NAME", d->name);
    if (!have_ops) return perr(ps, FSC_ERR_FORMAT, "device '%s' needs ops=... (op names, or all)", d->name);
    return FSC_OK;
}

static fsc_status device_ref(parser *ps, const char *name, int *out)
{
    *out = fsc_profile_device_index(ps->p, name);
    if (*out < 0) return perr(ps, FSC_ERR_FORMAT, "unknown device '%.60s' (define it with a device line above)", name);
    return FSC_OK;
}

/* "<dev>: <certainty>; <dev>: ..." over the preset's devices and fallback. */
static fsc_status compose_certainty(parser *ps, fsc_preset *s)
{
    const fsc_profile *p = ps->p;
    size_t n = 1;
    int list[FSC_PROFILE_MAX + 1], m = 0;
    for (int i = 0; i < s->n_devices; i++) list[m++] = s->devices[i];
    if (s->fallback >= 0) {
        bool seen = false;
        for (int i = 0; i < s->n_devices; i++) seen = seen || s->devices[i] == s->fallback;
        if (!seen) list[m++] = s->fallback;
    }
    for (int i = 0; i < m; i++) {
        const char *c = p->ariths[p->devices[list[i]].arith].certainty;
        n += strlen(p->devices[list[i]].name) + 4 + (c ? strlen(c) : 1);
    }
    s->certainty = fsc_malloc(n, "preset certainty", ps->err);
    if (!s->certainty) return FSC_ERR_NOMEM;
    s->certainty[0] = '\0';
    for (int i = 0; i < m; i++) {
        const char *c = p->ariths[p->devices[list[i]].arith].certainty;
        if (i) strcat(s->certainty, "; ");
        strcat(s->certainty, p->devices[list[i]].name);
        strcat(s->certainty, ": ");
        strcat(s->certainty, c ? c : "-");
    }
    return FSC_OK;
}

static fsc_status parse_preset(parser *ps, token *tok, int n_tok)
{
    fsc_profile *p = ps->p;
    fsc_status st = check_name(ps, "preset", tok, n_tok);
    if (st) return st;
    if (fsc_profile_preset_index(p, tok[1].value) >= 0)
        return perr(ps, FSC_ERR_FORMAT, "preset '%s' is defined twice", tok[1].value);
    if (p->n_presets == FSC_PROFILE_MAX) return perr(ps, FSC_ERR_FORMAT, "more than 16 presets");
    fsc_preset *s = &p->presets[p->n_presets];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", tok[1].value);
    s->fallback = -1;
    p->n_presets++;
    bool have_devices = false;
    for (int i = 2; i < n_tok && !st; i++) {
        const char *k = tok[i].key;
        if (!strcmp(k, "devices")) {
            have_devices = true;
            char *list = tok[i].value;
            for (char *it; !st && (it = next_item(&list));) {
                int d;
                if ((st = device_ref(ps, it, &d))) break;
                for (int j = 0; j < s->n_devices; j++)
                    if (s->devices[j] == d) st = perr(ps, FSC_ERR_FORMAT, "device '%s' is listed twice", it);
                if (!st) s->devices[s->n_devices++] = d; /* at most 16 distinct devices exist */
            }
            if (!st && !s->n_devices) st = perr(ps, FSC_ERR_FORMAT, "devices= is empty");
        } else if (!strcmp(k, "fallback")) {
            st = device_ref(ps, tok[i].value, &s->fallback);
        } else if (!strcmp(k, "stands_for")) {
            free(s->stands_for);
            if (!(s->stands_for = dupstr(tok[i].value, ps->err))) st = FSC_ERR_NOMEM;
        } else {
            st = perr(ps, FSC_ERR_FORMAT, "unknown preset key '%.60s'", k);
        }
    }
    if (st) return st;
    if (!have_devices) return perr(ps, FSC_ERR_FORMAT, "preset '%s' needs devices=a,b,...", s->name);
    return compose_certainty(ps, s);
}

void fsc_profile_free(fsc_profile *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_ariths; i++) {
        free(p->ariths[i].stands_for);
        free(p->ariths[i].certainty);
    }
    for (int i = 0; i < p->n_devices; i++) free(p->devices[i].note);
    for (int i = 0; i < p->n_presets; i++) {
        free(p->presets[i].stands_for);
        free(p->presets[i].certainty);
    }
    free(p->source);
    free(p);
}

/* Parses one logical line (already joined and NUL-terminated). */
static fsc_status parse_line(parser *ps, char *line)
{
    token tok[MAX_TOKENS];
    int n = 0;
    fsc_status st = tokenize(ps, line, tok, &n);
    if (st || n == 0) return st;
    if (tok[0].key) return perr(ps, FSC_ERR_FORMAT, "expected arith, device or preset, got '%.60s=...'", tok[0].key);
    if (!strcmp(tok[0].value, "arith")) return parse_arith(ps, tok, n);
    if (!strcmp(tok[0].value, "device")) return parse_device(ps, tok, n);
    if (!strcmp(tok[0].value, "preset")) return parse_preset(ps, tok, n);
    return perr(ps, FSC_ERR_FORMAT, "unknown directive '%.60s' (arith, device or preset)", tok[0].value);
}

fsc_status fsc_profile_parse(const char *buf, size_t len, const char *name, const char *source, fsc_profile **out,
                             fsc_error *err)
{
    *out = NULL;
    if (!source) source = "<profile>";
    if (!name || !valid_name(name))
        return fsc_fail(err, FSC_ERR_INVALID, "%s: bad profile name '%.40s' (1 to 31 letters, digits, '_', '-', '.')",
                        source, name ? name : "");
    if (len > FSC_PROFILE_MAX_BYTES)
        return fsc_fail(err, FSC_ERR_LIMIT, "%s: %zu bytes, more than a profile may have (%d)", source, len,
                        FSC_PROFILE_MAX_BYTES);
    fsc_profile *p = fsc_calloc(1, sizeof *p, "a profile", err);
    if (!p) return FSC_ERR_NOMEM;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->source = dupstr(source, err);
    char *line = fsc_malloc(MAX_LINE + 1, "a profile line", err);
    if (!p->source || !line) {
        free(line);
        fsc_profile_free(p);
        return FSC_ERR_NOMEM;
    }
    parser ps = {p, p->source, 0, err};
    fsc_status st = FSC_OK;
    size_t at = 0;
    int lineno = 0;
    while (!st && at < len) {
        /* Gather one logical line: physical lines joined while they end in '\'. */
        size_t n = 0;
        int first = lineno + 1;
        bool more = true;
        while (more && at < len) {
            lineno++;
            size_t e = at;
            while (e < len && buf[e] != '\n') e++;
            size_t l = e - at;
            if (l && buf[at + l - 1] == '\r') l--;
            more = l && buf[at + l - 1] == '\\';
            if (more) l--;
            if (memchr(buf + at, '\0', l)) {
                ps.line = lineno;
                st = perr(&ps, FSC_ERR_FORMAT, "NUL byte in the text");
                break;
            }
            if (n + l + 1 > MAX_LINE) {
                ps.line = first;
                st = perr(&ps, FSC_ERR_LIMIT, "line longer than 8192 bytes");
                break;
            }
            memcpy(line + n, buf + at, l);
            n += l;
            if (more) line[n++] = ' ';
            at = e < len ? e + 1 : e;
        }
        if (st) break;
        line[n] = '\0';
        ps.line = first;
        st = parse_line(&ps, line);
    }
    free(line);
    if (!st && p->n_presets == 0) {
        ps.line = lineno;
        st = fsc_fail(err, FSC_ERR_FORMAT, "%s: no preset defined (a profile needs at least one preset line)", source);
    }
    if (st) {
        fsc_profile_free(p);
        return st;
    }
    *out = p;
    return FSC_OK;
}

fsc_status fsc_profile_load(const char *path, fsc_profile **out, fsc_error *err)
{
    *out = NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char name[FSC_PROFILE_NAME + 16];
    snprintf(name, sizeof name, "%s", base);
    size_t nl = strlen(name);
    if (nl > 8 && !strcmp(name + nl - 8, ".profile")) name[nl - 8] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return fsc_fail(err, FSC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = fsc_malloc(FSC_PROFILE_MAX_BYTES + 1, "profile file", err);
    if (!buf) {
        fclose(f);
        return FSC_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, FSC_PROFILE_MAX_BYTES + 1, f);
    bool bad = ferror(f);
    fclose(f);
    fsc_status st;
    if (bad) st = fsc_fail(err, FSC_ERR_IO, "%s: read error", path);
    else st = fsc_profile_parse(buf, n, name, path, out, err);
    free(buf);
    return st;
}
