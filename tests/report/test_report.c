/* test_report.c: the results write-up. SHA-256 against the FIPS 180-4 /
 * NIST example vectors and sha256sum; gates and claim on drift results built
 * by hand (numbers computed here, not read back from the renderers); the
 * JSON validated against the schema of docs/json.md; Markdown tables with
 * the same column count on every row; the HTML charts' bars and points
 * counted; a real small run of the built-in model; atomic writing, and a
 * write killed mid-file (RLIMIT_FSIZE -> SIGXFSZ) leaving no report.* file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"
#include "flipscope/probe_localize.h"
#include "flipscope/report.h"
#include "flipscope/sha256.h"
#include "flipscope/synth.h"

/* ---------------- SHA-256 ---------------- */

static void check_hash(const char *msg, size_t len, const char *want)
{
    char hex[65];
    fsc_sha256_hex(msg, len, hex);
    assert_string_equal(hex, want);
    /* the same message fed in uneven pieces */
    fsc_sha256 s;
    uint8_t d[32];
    fsc_sha256_init(&s);
    size_t at = 0, step = 1;
    while (at < len) {
        size_t n = step < len - at ? step : len - at;
        fsc_sha256_update(&s, msg + at, n);
        at += n;
        step = step * 3 + 1;
    }
    fsc_sha256_final(&s, d);
    char hex2[65];
    for (int i = 0; i < 32; i++) snprintf(hex2 + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex2, want);
}

static void test_sha256_nist(void **state)
{
    (void)state;
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf") */
    check_hash("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_hash("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_hash(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrs"
                       "mnopqrstnopqrstu";
    check_hash(m896, strlen(m896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* one million 'a' (FIPS 180-2 appendix B.3) */
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    check_hash(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* lengths around the padding boundary (55, 56, 64 bytes) against sha256sum below */
    free(a);
}

/* sha256sum (coreutils) of path, as an independent oracle; false when it is not there. */
static bool sha256sum(const char *path, char hex[65])
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "sha256sum '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    bool ok = fscanf(p, "%64s", hex) == 1;
    pclose(p);
    return ok && strlen(hex) == 64;
}

static char tmpdir[256];

static void test_sha256_files(void **state)
{
    (void)state;
    char want[65], got[65];
    fsc_error err;
    fsc_error_clear(&err);
    const char *seed = FSC_FIXTURES "/seed/seed.onnx";
    if (sha256sum(seed, want)) {
        assert_int_equal(fsc_sha256_path(seed, got, &err), FSC_OK);
        assert_string_equal(got, want);
    }
    /* padding boundaries: 55, 56, 63, 64, 65 bytes, each against sha256sum */
    int sizes[] = {55, 56, 63, 64, 65, 119, 120};
    for (int k = 0; k < 7; k++) {
        char path[512], buf[128];
        snprintf(path, sizeof path, "%s/pad%d.bin", tmpdir, sizes[k]);
        for (int i = 0; i < sizes[k]; i++) buf[i] = (char)('0' + (i * 7 + k) % 64);
        assert_int_equal(fsc_write_file_atomic(path, buf, (size_t)sizes[k], &err), FSC_OK);
        if (!sha256sum(path, want)) continue;
        assert_int_equal(fsc_sha256_path(path, got, &err), FSC_OK);
        assert_string_equal(got, want);
    }
    /* a directory: the documented tree hash (path NUL size-LE64 bytes, sorted by path) */
    char dir[512], sub[600], f1[700], f2[700];
    snprintf(dir, sizeof dir, "%s/tree.mlpackage", tmpdir);
    snprintf(sub, sizeof sub, "%s/Data", dir);
    assert_int_equal(mkdir(dir, 0777), 0);
    assert_int_equal(mkdir(sub, 0777), 0);
    snprintf(f1, sizeof f1, "%s/Manifest.json", dir);
    snprintf(f2, sizeof f2, "%s/Data/w.bin", dir);
    assert_int_equal(fsc_write_file_atomic(f1, "{}", 2, &err), FSC_OK);
    assert_int_equal(fsc_write_file_atomic(f2, "xyz", 3, &err), FSC_OK);
    /* "Data/w.bin" < "Manifest.json" in byte order */
    unsigned char msg[256];
    size_t n = 0;
    memcpy(msg + n, "Data/w.bin", 11), n += 11;
    unsigned char l3[8] = {3}, l2[8] = {2};
    memcpy(msg + n, l3, 8), n += 8;
    memcpy(msg + n, "xyz", 3), n += 3;
    memcpy(msg + n, "Manifest.json", 14), n += 14;
    memcpy(msg + n, l2, 8), n += 8;
    memcpy(msg + n, "{}", 2), n += 2;
    fsc_sha256_hex(msg, n, want);
    assert_int_equal(fsc_sha256_path(dir, got, &err), FSC_OK);
    assert_string_equal(got, want);
    /* a missing file is an error naming it */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/nothere.onnx", tmpdir);
    assert_int_not_equal(fsc_sha256_path(missing, got, &err), FSC_OK);
    assert_non_null(strstr(err.msg, "nothere.onnx"));
}

/* ---------------- hand-made drift results ---------------- */

static double *pair(double a, double b)
{
    double *v = malloc(2 * sizeof *v);
    assert_non_null(v);
    v[0] = a;
    v[1] = b;
    return v;
}

/* One configuration with two logits (a, b); compared with ref when ref != NULL. */
static void set_cfg(fsc_drift_config *c, const char *name, double a, double b, const fsc_drift_config *ref, int runs)
{
    fsc_error err;
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    assert_int_equal(fsc_config_lookup(name, &c->info, &err), FSC_OK);
    c->runs_done = runs;
    c->shape.rank = 2;
    c->shape.dim[0] = 1;
    c->shape.dim[1] = 2;
    c->n_logits = 2;
    c->logits = pair(a, b);
    c->out_fmt = FSC_FMT_FP32;
    c->margin = a - b;
    c->argmax = b > a ? 1 : 0;
    c->seconds_per_run = 0.001;
    if (ref) {
        c->compared = true;
        c->delta = pair(a - ref->logits[0], b - ref->logits[1]);
        c->max_abs_diff = fmax(fabs(c->delta[0]), fabs(c->delta[1]));
        c->exact_equal = c->max_abs_diff == 0;
        c->max_ulp = 1;
        c->argmax_agrees = c->argmax == ref->argmax;
        c->margin_delta = c->margin - ref->margin;
    }
}

/* ref emu:fp32 (1.5, 1.0); emu:fp16 (1.25, 1.5) flips; emu:fp64 (1.5, 1.0) equal; emu:bf16 failed. */
static void make_drift(fsc_drift_result *d, int runs)
{
    memset(d, 0, sizeof *d);
    d->n = 4;
    d->cfg = calloc(4, sizeof *d->cfg);
    assert_non_null(d->cfg);
    d->runs = runs;
    d->class_a = 0;
    d->class_b = 1;
    set_cfg(&d->cfg[0], "emu:fp32", 1.5, 1.0, NULL, runs);
    set_cfg(&d->cfg[1], "emu:fp16", 1.25, 1.5, &d->cfg[0], runs);
    set_cfg(&d->cfg[2], "emu:fp64", 1.5, 1.0, &d->cfg[0], runs);
    fsc_drift_config *f = &d->cfg[3];
    fsc_error err;
    snprintf(f->name, sizeof f->name, "emu:bf16");
    assert_int_equal(fsc_config_lookup("emu:bf16", &f->info, &err), FSC_OK);
    f->failed = true;
    snprintf(f->error, sizeof f->error, "planted failure | with <html> & a pipe");
    d->any_flip = true;
}

static void make_report(fsc_report *r, bool with_localize, bool with_placement)
{
    fsc_report_init(r, "report");
    snprintf(r->model_desc, sizeof r->model_desc, "hand-made | model <b>");
    r->seed = 7;
    const char *words[] = {"flipscope", "report", "my model.onnx", "--out", "it's here"};
    fsc_report_add_command(r, words, 5);
    fsc_drift_result d;
    make_drift(&d, 3);
    fsc_report_take_drift(r, &d);
    assert_int_equal(d.n, 0);
    if (with_localize) {
        /* 5 ops: identical, 1e-6, 3e-4, +inf, NaN -> 3 bars */
        fsc_report_localize *l = &r->localize;
        r->has_localize = true;
        snprintf(l->reference, sizeof l->reference, "emu:fp32");
        snprintf(l->target, sizeof l->target, "emu:fp16");
        snprintf(l->metric, sizeof l->metric, "rel_l2");
        l->n_ops = 5;
        l->ops = calloc(5, sizeof *l->ops);
        assert_non_null(l->ops);
        double iso[5] = {0, 1e-6, 3e-4, INFINITY, NAN};
        for (int i = 0; i < 5; i++) {
            l->ops[i].node = i + 1;
            snprintf(l->ops[i].name, sizeof l->ops[i].name, "op%d", i);
            snprintf(l->ops[i].op, sizeof l->ops[i].op, "conv");
            l->ops[i].isolated = iso[i];
            l->ops[i].accumulated = iso[i];
            l->ops[i].margin_contrib = NAN;
        }
        l->n_top = 3;
        l->top[0] = 3, l->top[1] = 2, l->top[2] = 1;
        l->ops[3].rank = 1, l->ops[2].rank = 2, l->ops[1].rank = 3;
        l->has_margin = true;
        l->margin_delta = -0.75;
    }
    if (with_placement) {
        r->n_placement = 1;
        r->placement = calloc(1, sizeof *r->placement);
        assert_non_null(r->placement);
        fsc_report_placement *p = r->placement;
        snprintf(p->config, sizeof p->config, "coreml:all");
        p->n_ops = 10;
        p->n_load_time = 2;
        p->n_devices = 2;
        snprintf(p->device[0], sizeof p->device[0], "ane");
        p->accelerator[0] = true;
        p->ops_on[0] = 6;
        snprintf(p->device[1], sizeof p->device[1], "cpu");
        p->ops_on[1] = 2;
        p->on_accelerator = 6;
    }
    fsc_report_finish(r);
}

static void test_gates_and_claim(void **state)
{
    (void)state;
    fsc_report r;
    make_report(&r, false, false);
    const fsc_report_gate *g = r.gates;
    assert_int_equal(g[FSC_GATE_ACT_QUANT].state, FSC_GATE_NA);
    assert_int_equal(g[FSC_GATE_WEIGHT_QUANT].state, FSC_GATE_NA);
    assert_int_equal(g[FSC_GATE_PLACEMENT].state, FSC_GATE_NA);
    assert_int_equal(g[FSC_GATE_STABILITY].state, FSC_GATE_PASS);
    assert_true(g[FSC_GATE_STABILITY].value == 0);
    /* fp16 vs fp32: deltas (-0.25, +0.5): max 0.5; margin -0.25 - 0.5 = -0.75 */
    assert_int_equal(g[FSC_GATE_MAX_LOGIT_DELTA].state, FSC_GATE_PASS);
    assert_true(g[FSC_GATE_MAX_LOGIT_DELTA].value == 0.5);
    assert_int_equal(g[FSC_GATE_MARGIN_DELTA].state, FSC_GATE_PASS);
    assert_true(g[FSC_GATE_MARGIN_DELTA].value == -0.75);
    assert_int_equal(g[FSC_GATE_ARGMAX_FLIP].state, FSC_GATE_PASS);
    assert_true(g[FSC_GATE_ARGMAX_FLIP].value == 1);
    assert_non_null(strstr(r.claim, "deterministic"));
    assert_non_null(strstr(r.claim, "emu:fp16 chooses another class"));
    assert_non_null(strstr(r.claim, "does not show run-to-run nondeterminism"));
    assert_non_null(strstr(r.claim, "emulated"));
    assert_non_null(strstr(r.claim, "emu:bf16): nothing is claimed"));
    assert_non_null(strstr(r.claim, "Placement of ops on devices was not measured"));
    assert_non_null(strstr(r.claim, "Which op introduced the difference was not measured"));
    assert_non_null(strstr(r.claim, "Quantization evidence was not measured"));
    assert_non_null(strstr(r.claim, "seed 7"));

    /* a real backend among emulated rows: the claim names which is which */
    r.drift.cfg[1].info.emulated = false;
    fsc_report_finish(&r);
    assert_non_null(strstr(r.claim, "The emulated rows (emu:fp32 and emu:fp64) model hardware arithmetic"));
    assert_non_null(strstr(r.claim, "the other rows (emu:fp16) are runs of real backends on this machine"));
    assert_null(strstr(r.claim, "every row is emulated"));
    r.drift.cfg[1].info.emulated = true;

    /* instability: the claim no longer says there was none */
    r.drift.cfg[1].raw_drift = true;
    r.drift.cfg[1].first_drift_run = 2;
    fsc_report_finish(&r);
    assert_int_equal(r.gates[FSC_GATE_STABILITY].state, FSC_GATE_FAIL);
    assert_true(r.gates[FSC_GATE_STABILITY].value == 1);
    assert_null(strstr(r.claim, "does not show run-to-run nondeterminism"));
    assert_non_null(strstr(r.claim, "run-to-run nondeterminism was observed"));
    assert_non_null(strstr(r.claim, "may be the instability"));

    /* nothing differs: delta and flip gates FAIL, the claim says identical */
    r.drift.cfg[1].raw_drift = false;
    for (int i = 1; i < 3; i++) {
        fsc_drift_config *c = &r.drift.cfg[i];
        c->logits[0] = 1.5, c->logits[1] = 1.0, c->delta[0] = c->delta[1] = 0;
        c->margin = 0.5, c->margin_delta = 0, c->max_abs_diff = 0, c->argmax = 0, c->argmax_agrees = true;
    }
    fsc_report_finish(&r);
    assert_int_equal(r.gates[FSC_GATE_MAX_LOGIT_DELTA].state, FSC_GATE_FAIL);
    assert_int_equal(r.gates[FSC_GATE_MARGIN_DELTA].state, FSC_GATE_FAIL);
    assert_int_equal(r.gates[FSC_GATE_ARGMAX_FLIP].state, FSC_GATE_FAIL);
    assert_true(r.gates[FSC_GATE_ARGMAX_FLIP].value == 0);
    assert_non_null(strstr(r.claim, "exactly the reference emu:fp32's output"));
    assert_non_null(strstr(r.claim, "There was no difference to localize"));
    fsc_report_free(&r);

    /* no drift at all: every drift gate n/a */
    fsc_report e;
    fsc_report_init(&e, "report");
    fsc_report_finish(&e);
    for (int i = FSC_GATE_STABILITY; i < FSC_GATE_COUNT; i++) assert_int_equal(e.gates[i].state, FSC_GATE_NA);
    assert_non_null(strstr(e.claim, "not run"));
    fsc_report_free(&e);

    /* placement present: gate PASS with the ops on the accelerator */
    make_report(&r, true, true);
    assert_int_equal(r.gates[FSC_GATE_PLACEMENT].state, FSC_GATE_PASS);
    assert_true(r.gates[FSC_GATE_PLACEMENT].value == 6);
    assert_non_null(strstr(r.claim, "node 4 'op3'"));
    fsc_report_free(&r);
}

/* ---------------- JSON schema (docs/json.md, `report`) ---------------- */

static bool is_str(const cJSON *o, const char *k) { return cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, k)); }
static bool is_num(const cJSON *o, const char *k) { return cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, k)); }
static bool is_bool(const cJSON *o, const char *k) { return cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, k)); }
static bool is_null(const cJSON *o, const char *k) { return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k)); }
static bool is_arr(const cJSON *o, const char *k) { return cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(o, k)); }
static bool is_obj(const cJSON *o, const char *k) { return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, k)); }
static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static void check_drift_schema(const cJSON *d)
{
    assert_true(is_num(d, "runs") && is_str(d, "reference") && is_arr(d, "margin_classes"));
    assert_int_equal(cJSON_GetArraySize(get(d, "margin_classes")), 2);
    assert_true(is_bool(d, "any_flip") && is_bool(d, "any_instability") && is_arr(d, "configurations"));
    const cJSON *c;
    cJSON_ArrayForEach(c, get(d, "configurations"))
    {
        assert_true(is_str(c, "name") && is_bool(c, "emulated") && is_str(c, "status") && is_num(c, "runs_done"));
        assert_true(is_str(c, "stands_for") && is_str(c, "certainty"));
        const char *st = get(c, "status")->valuestring;
        assert_true(!strcmp(st, "ok") || !strcmp(st, "FAILED"));
        if (!strcmp(st, "FAILED")) assert_true(is_str(c, "error"));
        if (get(c, "logits")) {
            assert_true(is_bool(c, "raw_drift") && is_bool(c, "argmax_drift") && is_num(c, "first_drift_run"));
            assert_true(is_num(c, "worst_abs_diff") && is_num(c, "seconds_per_run") && is_arr(c, "shape"));
            assert_true(is_str(c, "output_format") && is_arr(c, "logits") && is_num(c, "margin") && is_num(c, "argmax"));
        }
        const cJSON *v = get(c, "vs_reference");
        if (v) {
            assert_true(is_bool(v, "exact_equal") && is_num(v, "max_abs_diff") && is_bool(v, "argmax_agrees"));
            assert_true(is_num(v, "max_ulp") || is_null(v, "max_ulp"));
            assert_true(is_arr(v, "delta") && is_num(v, "margin_delta"));
        }
    }
}

/* Validates a report document against docs/json.md; returns the parsed document. */
static cJSON *check_report_schema(const char *text, const char *command)
{
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_true(is_num(doc, "schema_version"));
    assert_int_equal(get(doc, "schema_version")->valueint, 1);
    assert_true(is_str(doc, "tool") && is_str(doc, "command"));
    assert_string_equal(get(doc, "command")->valuestring, command);
    assert_true(is_str(doc, "date"));
    assert_int_equal(strlen(get(doc, "date")->valuestring), 20); /* 2026-11-25T18:40:00Z */
    const cJSON *m = get(doc, "model");
    assert_true(cJSON_IsObject(m));
    assert_true(is_str(m, "path") || is_null(m, "path"));
    assert_true(is_str(m, "format") && is_str(m, "description"));
    assert_true(is_null(m, "sha256") || (is_str(m, "sha256") && strlen(get(m, "sha256")->valuestring) == 64));
    const cJSON *in = get(doc, "input");
    assert_true(is_str(in, "kind") && is_arr(in, "files") && is_num(in, "seed"));
    if (get(doc, "tie")) {
        const cJSON *t = get(doc, "tie");
        assert_true(is_str(t, "between") && is_num(t, "head_bias") && is_num(t, "margin_reference"));
        assert_true(is_num(t, "margin_other") && is_bool(t, "split"));
    }
    assert_true(is_arr(doc, "commands"));
    const cJSON *x;
    cJSON_ArrayForEach(x, get(doc, "commands")) assert_true(cJSON_IsString(x));
    assert_true(is_obj(doc, "quantization") || is_null(doc, "quantization"));
    if (is_obj(doc, "quantization")) {
        const cJSON *q = get(doc, "quantization");
        assert_true(is_num(q, "ops") && is_bool(q, "weight_quantization_evidence"));
        assert_true(is_bool(q, "activation_quantization_evidence") && is_str(q, "interpretation"));
    }
    assert_true(is_arr(doc, "placement") || is_null(doc, "placement"));
    if (is_arr(doc, "placement"))
        cJSON_ArrayForEach(x, get(doc, "placement"))
        {
            assert_true(is_str(x, "configuration") && is_num(x, "ops") && is_num(x, "on_accelerator"));
            assert_true(is_arr(x, "devices") && is_num(x, "load_time") && is_num(x, "fallback"));
        }
    assert_true(is_obj(doc, "drift") || is_null(doc, "drift"));
    if (is_obj(doc, "drift")) check_drift_schema(get(doc, "drift"));
    assert_true(is_obj(doc, "localization") || is_null(doc, "localization"));
    if (is_obj(doc, "localization")) {
        const cJSON *l = get(doc, "localization");
        assert_true(is_str(l, "reference") && is_str(l, "target") && is_str(l, "metric") && is_arr(l, "ops"));
        assert_true(is_arr(l, "top") && (is_num(l, "margin_delta") || is_null(l, "margin_delta")));
        cJSON_ArrayForEach(x, get(l, "ops"))
        {
            assert_true(is_num(x, "node") && is_str(x, "name") && is_str(x, "op"));
            assert_true(is_num(x, "isolated") || is_null(x, "isolated"));
            assert_true(is_bool(x, "first_divergent") && is_num(x, "rank"));
        }
    }
    assert_true(is_arr(doc, "gates"));
    assert_int_equal(cJSON_GetArraySize(get(doc, "gates")), 7);
    static const char *const ids[7] = {"activation_quant",       "weight_quant",    "accelerator_placement",
                                       "same_backend_stability", "max_logit_delta", "margin_delta",
                                       "argmax_flip"};
    int k = 0;
    cJSON_ArrayForEach(x, get(doc, "gates"))
    {
        assert_true(is_str(x, "id") && is_str(x, "title") && is_str(x, "status") && is_str(x, "detail"));
        assert_string_equal(get(x, "id")->valuestring, ids[k++]);
        const char *st = get(x, "status")->valuestring;
        assert_true(!strcmp(st, "PASS") || !strcmp(st, "FAIL") || !strcmp(st, "n/a"));
        assert_true(is_num(x, "value") || is_null(x, "value"));
        if (!strcmp(st, "n/a")) assert_true(is_null(x, "value"));
    }
    assert_true(is_str(doc, "claim"));
    return doc;
}

/* ---------------- Markdown tables ---------------- */

/* Cells of a table row: unescaped '|' count minus one. */
static int md_cells(const char *line, size_t len)
{
    int bars = 0;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) bars++;
    return bars - 1;
}

/* Every table: rows with the header's column count, a separator row second. Returns the tables seen. */
static int check_md_tables(const char *md)
{
    int tables = 0, cols = -1, row = 0;
    bool in_code = false;
    for (const char *p = md; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= 3 && !strncmp(p, "```", 3)) in_code = !in_code;
        if (!in_code && len && p[0] == '|') {
            assert_true(p[len - 1] == '|');
            int n = md_cells(p, len);
            if (row == 0) {
                cols = n;
                tables++;
            } else if (row == 1) {
                for (size_t i = 0; i < len; i++) assert_true(p[i] == '|' || p[i] == '-');
            }
            if (n != cols) fail_msg("table %d row %d has %d cells, header has %d: %.*s", tables, row, n, cols, (int)len, p);
            row++;
        } else {
            row = 0;
        }
        p += len + (e ? 1 : 0);
    }
    return tables;
}

/* ---------------- HTML ---------------- */

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void check_html_basics(const char *html)
{
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, " href="));
    assert_null(strstr(html, "https://"));
    /* the only http:// is the SVG namespace */
    assert_int_equal(count(html, "http://"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_int_equal(count(html, "<svg"), count(html, "</svg>"));
    assert_non_null(strstr(html, "</html>"));
}

static void test_render_synthetic(void **state)
{
    (void)state;
    fsc_error err;
    fsc_error_clear(&err);
    for (int variant = 0; variant < 2; variant++) {
        fsc_report r;
        make_report(&r, variant == 1, variant == 1);
        char *md, *js, *html;
        size_t lmd, ljs, lhtml;
        assert_int_equal(fsc_report_markdown(&r, &md, &lmd, &err), FSC_OK);
        assert_int_equal(fsc_report_json_text(&r, &js, &ljs, &err), FSC_OK);
        assert_int_equal(fsc_report_html(&r, &html, &lhtml, &err), FSC_OK);
        assert_int_equal(strlen(md), lmd);
        assert_int_equal(strlen(html), lhtml);
        /* tables: model, configurations, placement (variant 1), stability, comparison, localization
           (variant 1), gates; quantization is not measured here */
        assert_int_equal(check_md_tables(md), variant ? 7 : 5);
        assert_non_null(strstr(md, "planted failure \\| with &lt;html&gt; & a pipe"));
        assert_non_null(strstr(md, "flipscope report 'my model.onnx' --out 'it'\\''s here'"));
        if (!variant) {
            assert_non_null(strstr(md, "## Placement evidence\n\n_Not measured_"));
            assert_non_null(strstr(md, "## Localization\n\n_Not measured_"));
        }

        cJSON *doc = check_report_schema(js, "report");
        assert_true(variant ? is_arr(doc, "placement") : is_null(doc, "placement"));
        assert_true(variant ? is_obj(doc, "localization") : is_null(doc, "localization"));
        assert_true(is_null(doc, "quantization"));
        cJSON_Delete(doc);

        check_html_basics(html);
        assert_non_null(strstr(html, "planted failure | with &lt;html&gt; &amp; a pipe"));
        assert_null(strstr(html, "<html> & a pipe"));
        /* 3 configurations with output (one failed): 3 margin points, 3 x 2 logit bars */
        assert_int_equal(count(html, "class=\"point margin"), 3);
        assert_int_equal(count(html, "class=\"bar logit\""), 6);
        /* the margin points sit left of the boundary exactly for negative margins (emu:fp16: -0.25) */
        assert_int_equal(count(html, "class=\"point margin side-b"), 1);
        assert_int_equal(count(html, "class=\"point margin side-a"), 2);
        if (variant) {
            assert_int_equal(count(html, "class=\"bar isoerr"), 3);
            assert_int_equal(count(html, "class=\"bar isoerr inf"), 1);
            assert_int_equal(count(html, "<svg"), 3);
        } else {
            assert_int_equal(count(html, "class=\"bar isoerr"), 0);
            assert_non_null(strstr(html, "chart of per-op isolated error is omitted"));
            assert_int_equal(count(html, "<svg"), 2);
        }
        free(md);
        free(js);
        free(html);
        fsc_report_free(&r);
    }
}

/* ---------------- a real small run ---------------- */

static void test_real_builtin(void **state)
{
    (void)state;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_ctx ctx = fsc_ctx_default();
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = 16;
    fsc_graph *g = NULL;
    assert_int_equal(fsc_synth_amplified_conv_tie(&so, &g, &err), FSC_OK);
    fsc_tensor x;
    uint64_t seed = 1234;
    assert_int_equal(fsc_inputs_load(g, NULL, 0, &seed, &ctx, &x, &err), FSC_OK);
    const char *cfgs[] = {"emu:fp32", "emu:fp64", "emu:fp16-acc16", "emu:bf16"};
    fsc_drift_opts o = {.runs = 2, .configs = cfgs, .n_configs = 4, .reference = "emu:fp32",
                        .stop_at_argmax_drift = true};
    fsc_drift_result d;
    assert_int_equal(fsc_probe_drift(g, &x, &o, &ctx, &d, &err), FSC_OK);
    /* expected gate numbers, from the drift result directly */
    double max_diff = 0, max_md = 0;
    int flips = 0;
    for (int i = 0; i < d.n; i++) {
        if (!d.cfg[i].compared) continue;
        if (d.cfg[i].max_abs_diff > max_diff) max_diff = d.cfg[i].max_abs_diff;
        if (fabs(d.cfg[i].margin_delta) > fabs(max_md)) max_md = d.cfg[i].margin_delta;
        flips += !d.cfg[i].argmax_agrees;
    }
    fsc_report r;
    fsc_report_init(&r, "report");
    r.seed = seed;
    snprintf(r.model_desc, sizeof r.model_desc, "built-in 16x16");
    assert_int_equal(fsc_report_add_inspect(&r, g, &err), FSC_OK);
    fsc_report_take_drift(&r, &d);
    /* localization: auto picks a configuration that is not bit-identical to the reference */
    int want_t = -1;
    for (int pass = 0; pass < 2 && want_t < 0; pass++) /* flipped ones first, then any that differs */
        for (int i = 0; i < r.drift.n; i++) {
            const fsc_drift_config *c = &r.drift.cfg[i];
            if (!c->compared || c->exact_equal || (pass == 0 && c->argmax_agrees)) continue;
            if (want_t < 0 || fabs(c->margin_delta) > fabs(r.drift.cfg[want_t].margin_delta)) want_t = i;
        }
    assert_true(want_t > 0);
    assert_int_equal(fsc_report_pick_localize_target(&r), want_t);
    assert_int_equal(fsc_report_add_localize(&r, g, &x, "emu:fp32", "emu:fp16-acc16", &ctx, &err), FSC_OK);
    /* the bars expected: op outputs with a non-zero isolated error, from the probe run directly */
    fsc_localize_result lr;
    fsc_localize_opts lo = fsc_localize_default();
    lo.margin = true; /* as the report asks for */
    assert_int_equal(fsc_probe_localize(g, &x, "emu:fp32", "emu:fp16-acc16", &lo, &ctx, &lr, &err), FSC_OK);
    int want_iso = 0;
    for (int i = 0; i < lr.n_rows; i++) want_iso += lr.rows[i].iso.rel_l2 > 0;
    assert_int_equal(r.localize.n_ops, lr.n_rows);
    assert_true(want_iso > 0);
    fsc_localize_result_free(&lr);
    fsc_report_finish(&r);
    /* the float model: 5 convs, 5 SiLUs, ... and no quantization */
    assert_int_equal(r.gates[FSC_GATE_ACT_QUANT].state, FSC_GATE_FAIL);
    assert_int_equal(r.gates[FSC_GATE_WEIGHT_QUANT].state, FSC_GATE_FAIL);
    assert_int_equal(r.gates[FSC_GATE_STABILITY].state, FSC_GATE_PASS);
    assert_true(r.gates[FSC_GATE_MAX_LOGIT_DELTA].value == max_diff);
    assert_true(max_diff > 0); /* fp64 and fp32 sums of 3x3x64 products cannot all agree to the bit */
    assert_true(r.gates[FSC_GATE_MARGIN_DELTA].value == max_md);
    assert_true(r.gates[FSC_GATE_ARGMAX_FLIP].value == flips);
    assert_int_equal(r.gates[FSC_GATE_ARGMAX_FLIP].state, flips ? FSC_GATE_PASS : FSC_GATE_FAIL);
    if (!flips) assert_non_null(strstr(r.claim, "none flipped the decision"));

    char *md, *js, *html;
    size_t l;
    assert_int_equal(fsc_report_markdown(&r, &md, &l, &err), FSC_OK);
    assert_int_equal(fsc_report_json_text(&r, &js, &l, &err), FSC_OK);
    assert_int_equal(fsc_report_html(&r, &html, &l, &err), FSC_OK);
    assert_int_equal(check_md_tables(md), 7); /* + the localization ranking */
    cJSON *doc = check_report_schema(js, "report");
    assert_true(is_obj(doc, "quantization"));
    assert_int_equal(get(get(doc, "quantization"), "ops")->valueint, 14);
    cJSON_Delete(doc);
    check_html_basics(html);
    assert_int_equal(count(html, "class=\"point margin"), 4);
    assert_int_equal(count(html, "class=\"bar logit\""), 8);
    assert_int_equal(count(html, "class=\"bar isoerr"), want_iso);
    assert_int_equal(count(html, "<svg"), 3);
    free(md);
    free(js);
    free(html);

    /* written atomically into a new nested directory: exactly the three files */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/out/nested", tmpdir);
    assert_int_equal(fsc_report_write(&r, dir, &err), FSC_OK);
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(dd))) {
        if (e->d_name[0] == '.') {
            assert_true(!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")); /* no temporary left */
            continue;
        }
        assert_true(!strcmp(e->d_name, "report.md") || !strcmp(e->d_name, "report.json") ||
                    !strcmp(e->d_name, "report.html"));
        files++;
    }
    closedir(dd);
    assert_int_equal(files, 3);
    char path[700];
    void *buf;
    size_t len;
    snprintf(path, sizeof path, "%s/report.json", dir);
    assert_int_equal(fsc_read_file(path, 0, &buf, &len, &err), FSC_OK);
    doc = check_report_schema(buf, "report");
    cJSON_Delete(doc);
    free(buf);
    fsc_report_free(&r);
    fsc_tensor_free(&x);
    fsc_graph_free(g);
}

/* ---------------- placement from the coreml profile ---------------- */

static void test_placement_coreml(void **state)
{
    (void)state;
    fsc_error err;
    fsc_error_clear(&err);
    fsc_synth_opts so = fsc_synth_default();
    so.height = so.width = 16;
    fsc_graph *g = NULL;
    assert_int_equal(fsc_synth_amplified_conv_tie(&so, &g, &err), FSC_OK);
    fsc_report r;
    fsc_report_init(&r, "report");
    fsc_drift_result d;
    memset(&d, 0, sizeof d);
    d.n = 3;
    d.cfg = calloc(3, sizeof *d.cfg);
    assert_non_null(d.cfg);
    d.runs = 1;
    d.class_b = 1;
    set_cfg(&d.cfg[0], "emu:fp32", 1, 0, NULL, 1);
    set_cfg(&d.cfg[1], "coreml:cpu_only", 1, 0, &d.cfg[0], 1);
    set_cfg(&d.cfg[2], "coreml:all", 1, 0, &d.cfg[0], 1);
    fsc_report_take_drift(&r, &d);
    assert_int_equal(fsc_report_add_placement(&r, g, &err), FSC_OK);
    /* emu:fp32 has no plan; the built-in model's 14 computing ops (5 conv, 5 SiLU, mul, global average pool,
       flatten, linear) are all NE ops in docs/plan.md's coreml table, so `all` puts every one on the NE */
    assert_int_equal(r.n_placement, 2);
    assert_string_equal(r.placement[0].config, "coreml:cpu_only");
    assert_int_equal(r.placement[0].on_accelerator, 0);
    assert_int_equal(r.placement[0].n_devices, 1);
    assert_string_equal(r.placement[0].device[0], "cpu");
    assert_int_equal(r.placement[0].ops_on[0], 14);
    assert_string_equal(r.placement[1].config, "coreml:all");
    assert_int_equal(r.placement[1].n_devices, 3);
    assert_string_equal(r.placement[1].device[0], "ne");
    assert_true(r.placement[1].accelerator[0]);
    assert_int_equal(r.placement[1].on_accelerator, 14);
    assert_int_equal(r.placement[1].n_ops - r.placement[1].n_load_time, 14);
    fsc_report_finish(&r);
    assert_int_equal(r.gates[FSC_GATE_PLACEMENT].state, FSC_GATE_PASS);
    assert_true(r.gates[FSC_GATE_PLACEMENT].value == 14);
    assert_non_null(strstr(r.claim, "Placement comes from device profiles"));
    /* only coreml:all's certainty says "hypothesis" (its ne and gpu devices) */
    assert_non_null(strstr(r.claim, " coreml:all rests partly on hypotheses"));
    assert_null(strstr(r.claim, "cpu_only rest"));
    char *js;
    size_t l;
    assert_int_equal(fsc_report_json_text(&r, &js, &l, &err), FSC_OK);
    cJSON *doc = check_report_schema(js, "report");
    assert_int_equal(cJSON_GetArraySize(get(doc, "placement")), 2);
    cJSON_Delete(doc);
    free(js);
    fsc_report_free(&r);
    fsc_graph_free(g);
}

/* ---------------- killed mid-write ---------------- */

/* Names in dir starting with "report." */
static int report_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += !strncmp(e->d_name, "report.", 7);
    closedir(d);
    return n;
}

/* Forks a child that writes r into dir with a 1 KiB file size limit: the
 * kernel stops it with SIGXFSZ inside the first write (every file is larger). */
static void killed_write(const fsc_report *r, const char *dir)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {1024, 1024};
        signal(SIGXFSZ, SIG_DFL);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(3);
        fsc_error err;
        fsc_report_write(r, dir, &err);
        _exit(0); /* not reached when the limit kills it */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGXFSZ);
}

static void test_killed_mid_write(void **state)
{
    (void)state;
    fsc_report r;
    make_report(&r, true, true);
    fsc_error err;
    char dir[512];
    /* a fresh directory: nothing named report.* appears */
    snprintf(dir, sizeof dir, "%s/killed", tmpdir);
    killed_write(&r, dir);
    assert_int_equal(report_files(dir), 0);
    /* an earlier report stays whole: report.md byte-identical, all three present */
    snprintf(dir, sizeof dir, "%s/kept", tmpdir);
    assert_int_equal(fsc_report_write(&r, dir, &err), FSC_OK);
    char path[700];
    void *before, *after;
    size_t lb, la;
    snprintf(path, sizeof path, "%s/report.md", dir);
    assert_int_equal(fsc_read_file(path, 0, &before, &lb, &err), FSC_OK);
    snprintf(r.model_desc, sizeof r.model_desc, "a different model");
    killed_write(&r, dir);
    assert_int_equal(report_files(dir), 3);
    assert_int_equal(fsc_read_file(path, 0, &after, &la, &err), FSC_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(before, after, lb);
    free(before);
    free(after);
    fsc_report_free(&r);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_report_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_nist),     cmocka_unit_test(test_sha256_files),
        cmocka_unit_test(test_gates_and_claim), cmocka_unit_test(test_render_synthetic),
        cmocka_unit_test(test_real_builtin),    cmocka_unit_test(test_placement_coreml),
        cmocka_unit_test(test_killed_mid_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

