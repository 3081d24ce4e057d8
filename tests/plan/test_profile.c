/* test_profile.c: the profile text format (every key, errors naming
 * file:line, hostile bytes), the built-in coreml profile against the
 * rules of issue 6, the shipped file against the built-in, and profiles as
 * configurations (--profile FILE, $FLIPSCOPE_PROFILES, unknown names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/plan.h"

static fsc_status parse(const char *text, fsc_profile **p, fsc_error *err)
{
    return fsc_profile_parse(text, strlen(text), "t", "t.profile", p, err);
}

static void test_every_key(void **state)
{
    (void)state;
    const char *text =
        "# a comment line\n"
        "\n"
        "arith lo base=fp32 storage=bf16 weights=fp16 operand=tf32 operand_rounding=toward_zero product=fp32 \\\n"
        "   accum=fp16 order=blocked block=7 rounding=nearest_away reduce=fp64 reduce_order=pairwise \\\n"
        "   transcendental=storage quant=integer quant_rounding=toward_zero quant_compute=fp32 requant=half_up \\\n"
        "   requant_fixed_point=yes bfma_block=4 bfma_extra_bits=-3 bfma_rounding=toward_zero bfma_out=fp16 \\\n"
        "   bfma_in=bf16 bfma_in_truncate=true bfma_subnormals_out=no bfma_chunks=2 bfma_chunk_run=2 bfma_late_c=yes \\\n"
        "   stands_for=\"a \\\"quoted\\\" device # not a comment\" certainty='x'  # trailing comment\n"
        "arith hi base=lo storage=fp32\n"
        "device d1 arith=lo ops=conv2d,gemm,silu dtypes=float16,int8 max_rank=5 max_kernel=11 accelerator=yes \\\n"
        "   note=\"why\"\n"
        "device d2 arith=hi ops=all\n"
        "preset p devices=d1,d2 fallback=d2 stands_for=\"both\"\n"
        "preset q devices=d2\n";
    fsc_profile *p;
    fsc_error err;
    fsc_status st = parse(text, &p, &err);
    if (st) fail_msg("%s", err.msg);
    assert_int_equal(p->n_ariths, 2);
    const fsc_arith *a = &p->ariths[0].arith;
    assert_string_equal(a->name, "lo");
    assert_int_equal(a->storage, FSC_FMT_BF16);
    assert_int_equal(a->weights, FSC_FMT_FP16);
    assert_int_equal(a->operand, FSC_FMT_TF32);
    assert_int_equal(a->operand_rounding, FSC_RND_TOWARD_ZERO);
    assert_int_equal(a->product, FSC_FMT_FP32);
    assert_int_equal(a->accum, FSC_FMT_FP16);
    assert_int_equal(a->order, FSC_ORDER_BLOCKED);
    assert_int_equal(a->block, 7);
    assert_int_equal(a->rounding, FSC_RND_NEAREST_AWAY);
    assert_int_equal(a->reduce, FSC_FMT_FP64);
    assert_int_equal(a->reduce_order, FSC_ORDER_PAIRWISE);
    assert_int_equal(a->transcendental, FSC_TRANS_STORAGE);
    assert_int_equal(a->quant, FSC_QUANT_INTEGER);
    assert_int_equal(a->quant_rounding, FSC_RND_TOWARD_ZERO);
    assert_int_equal(a->quant_compute, FSC_FMT_FP32);
    assert_int_equal(a->requant, FSC_REQ_HALF_UP);
    assert_true(a->requant_fixed_point);
    assert_int_equal(a->block_fma.block, 4);
    assert_int_equal(a->block_fma.extra_bits, -3);
    assert_int_equal(a->block_fma.rounding, FSC_RND_TOWARD_ZERO);
    assert_int_equal(a->block_fma.out, FSC_FMT_FP16);
    assert_int_equal(a->block_fma.in, FSC_FMT_BF16);
    assert_true(a->block_fma.in_truncate);
    assert_false(a->block_fma.subnormals_out);
    assert_int_equal(a->block_fma.chunks, 2);
    assert_int_equal(a->block_fma.chunk_run, 2);
    assert_true(a->block_fma.late_c);
    assert_string_equal(a->stands_for, "a \"quoted\" device # not a comment");
    assert_string_equal(a->certainty, "'x'");
    /* An arith based on another of the same file inherits everything but what it overrides. */
    const fsc_arith *h = &p->ariths[1].arith;
    assert_string_equal(h->name, "hi");
    assert_int_equal(h->storage, FSC_FMT_FP32);
    assert_int_equal(h->block, 7);
    assert_string_equal(h->stands_for, a->stands_for);
    assert_ptr_not_equal(h->stands_for, a->stands_for); /* each owns its strings */
    assert_int_equal(p->n_devices, 2);
    const fsc_device *d = &p->devices[0];
    assert_string_equal(d->name, "d1");
    assert_int_equal(d->arith, 0);
    assert_false(d->all_ops);
    assert_true(d->ops[FSC_OP_CONV2D] && d->ops[FSC_OP_GEMM] && d->ops[FSC_OP_SILU]);
    assert_false(d->ops[FSC_OP_MUL]);
    assert_false(d->any_dtype);
    assert_true(d->dtypes[FSC_DT_F16] && d->dtypes[FSC_DT_I8]);
    assert_false(d->dtypes[FSC_DT_F32]);
    assert_int_equal(d->max_rank, 5);
    assert_int_equal(d->max_kernel, 11);
    assert_true(d->accelerator);
    assert_string_equal(d->note, "why");
    assert_true(p->devices[1].all_ops && p->devices[1].any_dtype && !p->devices[1].accelerator);
    assert_int_equal(p->n_presets, 2);
    const fsc_preset *s = &p->presets[0];
    assert_int_equal(s->n_devices, 2);
    assert_int_equal(s->devices[0], 0);
    assert_int_equal(s->devices[1], 1);
    assert_int_equal(s->fallback, 1);
    assert_string_equal(s->stands_for, "both");
    assert_string_equal(s->certainty, "d1: 'x'; d2: 'x'");
    assert_int_equal(p->presets[1].fallback, -1);
    assert_int_equal(fsc_profile_preset_index(p, "q"), 1);
    assert_int_equal(fsc_profile_device_index(p, "d3"), -1);
    fsc_profile_free(p);
}

/* Each bad text and the "file:line: message" it must give. */
static void test_errors_name_the_line(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"arith a base=fp16\n# c\n\ndevice d arith=a ops=conv2d,conv3d\n", "t.profile:4: unknown op 'conv3d'"},
        {"arith a base=fp16\ndevice d arith=b ops=all\n", "t.profile:2: unknown arith 'b'"},
        {"arith a base=fp99\n", "t.profile:1: unknown base arithmetic 'fp99'"},
        {"arith a\n", "t.profile:1: arith 'a' needs base=PRESET"},
        {"arith a base=fp16 storage=fp12\n", "t.profile:1: storage: unknown number format 'fp12'"},
        {"arith a base=fp16 order=zigzag\n", "t.profile:1: unknown order 'zigzag'"},
        {"arith a base=fp16 order=blocked\n", "t.profile:1: arith 'a': order=blocked needs block=N"},
        {"arith a base=fp16 block=0\n", "t.profile:1: block=0: expected an integer in [1, 1048576]"},
        {"arith a base=fp16 block=12x\n", "t.profile:1: block=12x: expected an integer"},
        {"arith a base=fp16 colour=red\n", "t.profile:1: unknown arith key 'colour'"},
        {"arith a base=fp16\narith a base=fp32\n", "t.profile:2: arith 'a' is defined twice"},
        {"arith a base=fp16\ndevice d arith=a\n", "t.profile:2: device 'd' needs ops="},
        {"arith a base=fp16\ndevice d ops=all\n", "t.profile:2: device 'd' needs arith=NAME"},
        {"arith a base=fp16\ndevice d arith=a ops=all dtypes=float128\n", "t.profile:2: unknown dtype 'float128'"},
        {"arith a base=fp16\ndevice d arith=a ops=all max_rank=-1\n", "t.profile:2: max_rank=-1: expected"},
        {"arith a base=fp16\ndevice d arith=a ops=all accelerator=maybe\n", "t.profile:2: accelerator: expected yes or no"},
        {"arith a base=fp16\ndevice d arith=a ops=all\npreset p devices=d,npu\n", "t.profile:3: unknown device 'npu'"},
        {"arith a base=fp16\ndevice d arith=a ops=all\npreset p devices=d fallback=x\n", "t.profile:3: unknown device 'x'"},
        {"arith a base=fp16\ndevice d arith=a ops=all\npreset p devices=d,d\n", "t.profile:3: device 'd' is listed twice"},
        {"arith a base=fp16\ndevice d arith=a ops=all\npreset p\n", "t.profile:3: preset 'p' needs devices="},
        {"arith a base=fp16\ndevice d arith=a ops=all\npreset p devices=d speed=fast\n", "t.profile:3: unknown preset key 'speed'"},
        {"arith a base=fp16 \\\n  storage=fp16 \\\n  nonsense=1\ndevice\n", "t.profile:1: unknown arith key 'nonsense'"},
        {"arith a base=fp16 \\\n  storage=fp16\ndevice\n", "t.profile:3: 'device' needs a NAME"},
        {"machine m\n", "t.profile:1: unknown directive 'machine'"},
        {"arith a base=fp16 stands_for=\"open\n", "t.profile:1: unterminated quoted value"},
        {"arith a base=fp16 =x\n", "t.profile:1: '=' without a key"},
        {"arith a/b base=fp16\n", "t.profile:1: bad name 'a/b'"},
        {"arith a base=fp16 loose\n", "t.profile:1: expected key=value, got 'loose'"},
        {"arith a base=fp16\n", "t.profile: no preset defined"},
        {"", "t.profile: no preset defined"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fsc_profile *p = (fsc_profile *)1;
        fsc_error err;
        fsc_status st = parse(cases[i].text, &p, &err);
        if (st == FSC_OK) fail_msg("case %zu parsed: %s", i, cases[i].text);
        assert_null(p);
        if (strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: got \"%s\", expected it to start with \"%s\"", i, err.msg, cases[i].msg);
    }
    /* A NUL byte inside the text (len covers it). */
    static const char nul[] = "arith a base=fp16\narith b\0 base=fp16\n";
    fsc_profile *p;
    fsc_error err;
    assert_int_equal(fsc_profile_parse(nul, sizeof nul - 1, "t", "t.profile", &p, &err), FSC_ERR_FORMAT);
    assert_string_equal(err.msg, "t.profile:2: NUL byte in the text");
    assert_int_equal(fsc_profile_parse("", 0, "bad/name", "x", &p, &err), FSC_ERR_INVALID);
}

/* Random bytes and mutations of a valid text: never crash, never leak (ASan). */
static void test_hostile_bytes(void **state)
{
    (void)state;
    const char *base = "arith a base=fp16 stands_for=\"x y\" order=blocked block=4\n"
                       "device d arith=a ops=conv2d,gemm dtypes=float16 max_rank=4\n"
                       "preset p devices=d fallback=d\n";
    size_t n = strlen(base);
    char buf[256];
    fsc_profile *p0;
    assert_int_equal(fsc_profile_parse(base, n, "f", "f.profile", &p0, NULL), FSC_OK); /* mutations start valid */
    fsc_profile_free(p0);
    uint64_t r = 42;
    int iters = getenv("FSC_TEST_QUICK") ? 1000 : 5000;
    for (int it = 0; it < iters; it++) {
        memcpy(buf, base, n);
        int flips = 1 + it % 8;
        for (int k = 0; k < flips; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = (size_t)(r >> 33) % n;
            static const char pool[] = "=\"\\ \n#,az09\0\x80\xff";
            buf[at] = (it & 1) ? pool[(r >> 20) % (sizeof pool - 1)] : (char)(r >> 40);
        }
        size_t len = (it & 2) ? (size_t)(r >> 13) % (n + 1) : n;
        fsc_profile *p;
        fsc_error err;
        if (fsc_profile_parse(buf, len, "f", "f.profile", &p, &err) == FSC_OK) {
            fsc_profile_free(p);
        } else {
            assert_true(strncmp(err.msg, "f.profile", 9) == 0);
        }
    }
}

/* The built-in coreml profile says what issue 6 and coreml-w8a8.md require. */
static void test_builtin_coreml(void **state)
{
    (void)state;
    const fsc_profile *p;
    fsc_error err;
    assert_int_equal(fsc_profile_get("coreml", &p, &err), FSC_OK);
    assert_string_equal(p->name, "coreml");
    int cpu = fsc_profile_device_index(p, "cpu"), gpu = fsc_profile_device_index(p, "gpu"),
        ne = fsc_profile_device_index(p, "ne");
    assert_true(cpu >= 0 && gpu >= 0 && ne >= 0);
    const fsc_arith *a = &p->ariths[p->devices[cpu].arith].arith;
    /* CPU: every op output fp16, weights and scales as stored (fp16), products
     * accumulated in fp32, x / scale in fp16 then round half to even. */
    assert_int_equal(a->storage, FSC_FMT_FP16);
    assert_int_equal(a->weights, FSC_FMT_FP16);
    assert_int_equal(a->accum, FSC_FMT_FP32);
    assert_int_equal(a->product, FSC_FMT_FP64); /* fp16 x fp16 products are exact in fp32 anyway */
    assert_int_equal(a->quant, FSC_QUANT_FAKE);
    assert_int_equal(a->quant_compute, FSC_FMT_FP16);
    assert_int_equal(a->quant_rounding, FSC_RND_NEAREST_EVEN);
    assert_null(strstr(a->certainty, "hypothesis"));
    /* GPU and NE: fp16 storage, marked as hypotheses. */
    for (int k = 0; k < 2; k++) {
        const fsc_arith *h = &p->ariths[p->devices[k ? ne : gpu].arith].arith;
        assert_int_equal(h->storage, FSC_FMT_FP16);
        assert_int_equal(strncmp(h->certainty, "hypothesis", 10), 0);
    }
    assert_true(p->devices[ne].accelerator);
    assert_true(p->devices[cpu].all_ops);
    static const fsc_op seed_ops[] = {FSC_OP_CONV2D, FSC_OP_SILU,    FSC_OP_MUL,      FSC_OP_REDUCE_MEAN,
                                      FSC_OP_RESHAPE, FSC_OP_GEMM,   FSC_OP_QUANTIZE, FSC_OP_DEQUANTIZE};
    for (size_t i = 0; i < sizeof seed_ops / sizeof seed_ops[0]; i++) assert_true(p->devices[ne].ops[seed_ops[i]]);
    /* Presets, priority ne > gpu > cpu. */
    static const char *const names[4] = {"cpu_only", "cpu_and_gpu", "cpu_and_ne", "all"};
    const int order[4][3] = {{cpu, -1, -1}, {gpu, cpu, -1}, {ne, cpu, -1}, {ne, gpu, cpu}};
    for (int s = 0; s < 4; s++) {
        int si = fsc_profile_preset_index(p, names[s]);
        assert_true(si >= 0);
        for (int k = 0; k < 3; k++) {
            if (order[s][k] < 0) assert_int_equal(p->presets[si].n_devices, k);
            else assert_int_equal(p->presets[si].devices[k], order[s][k]);
            if (order[s][k] < 0) break;
        }
    }
    /* The configurations, and their certainty marks the hypotheses. */
    fsc_config_info info;
    assert_int_equal(fsc_config_lookup("coreml:all", &info, &err), FSC_OK);
    assert_string_equal(info.name, "coreml:all");
    assert_true(info.emulated && info.available);
    assert_non_null(strstr(info.certainty, "ne: hypothesis"));
    assert_non_null(strstr(info.certainty, "gpu: hypothesis"));
    assert_int_equal(fsc_config_lookup("coreml:cpu_only", &info, &err), FSC_OK);
    assert_null(strstr(info.certainty, "hypothesis"));
    assert_int_equal(fsc_config_lookup("coreml:cpu_and_npu", &info, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "coreml:cpu_and_npu"));
    assert_non_null(strstr(err.msg, "coreml:cpu_and_ne"));
    /* All four are listed. */
    int n = fsc_config_list(NULL, 0);
    fsc_config_info *list = calloc((size_t)n, sizeof *list);
    assert_non_null(list);
    assert_int_equal(fsc_config_list(list, n), n);
    int found = 0;
    for (int i = 0; i < n; i++)
        for (int s = 0; s < 4; s++) {
            char nm[64];
            snprintf(nm, sizeof nm, "coreml:%s", names[s]);
            found += !strcmp(list[i].name, nm);
        }
    assert_int_equal(found, 4);
    free(list);
}

/* The shipped profiles/coreml.profile is what the library has built in. */
static void test_shipped_file_is_the_builtin(void **state)
{
    (void)state;
    fsc_profile *f;
    const fsc_profile *b;
    fsc_error err;
    assert_int_equal(fsc_profile_load(FSC_SOURCE_DIR "/profiles/coreml.profile", &f, &err), FSC_OK);
    assert_int_equal(fsc_profile_get("coreml", &b, &err), FSC_OK);
    assert_string_equal(f->name, "coreml");
    assert_int_equal(f->n_ariths, b->n_ariths);
    assert_int_equal(f->n_devices, b->n_devices);
    assert_int_equal(f->n_presets, b->n_presets);
    for (int i = 0; i < f->n_ariths; i++) {
        fsc_arith x = f->ariths[i].arith, y = b->ariths[i].arith;
        assert_string_equal(x.certainty, y.certainty);
        x.name = y.name = NULL;
        x.stands_for = y.stands_for = x.certainty = y.certainty = NULL;
        assert_memory_equal(&x, &y, sizeof x);
    }
    for (int i = 0; i < f->n_presets; i++) assert_string_equal(f->presets[i].certainty, b->presets[i].certainty);
    fsc_profile_free(f);
}

static char tmpdir[64];

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static const char *user_text = "arith slow base=fp32 certainty=\"measured: on our bench\"\n"
                               "arith fast base=fp16-acc16\n"
                               "device big arith=slow ops=all\n"
                               "device small arith=fast ops=conv2d\n"
                               "preset fast devices=small,big\n"
                               "preset safe devices=big\n";

/* --profile FILE makes <name>:<preset> configurations; names are checked. */
static void test_user_profile_configurations(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/myprof.profile", tmpdir);
    write_file(path, user_text);
    fsc_config_info info;
    fsc_error err;
    const fsc_profile *p;
    assert_int_equal(fsc_profile_use(path, &p, &err), FSC_OK);
    assert_string_equal(p->name, "myprof");
    assert_int_equal(fsc_config_lookup("myprof:fast", &info, &err), FSC_OK);
    assert_string_equal(info.name, "myprof:fast");
    assert_string_equal(info.certainty, "small: hypothesis for any given device; the arithmetic itself is IEEE binary16 "
                                        "FMA; big: measured: on our bench");
    assert_int_equal(fsc_config_lookup("myprof:turbo", &info, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "myprof:fast, myprof:safe"));
    assert_non_null(strstr(err.msg, "myprof.profile"));
    assert_int_equal(fsc_config_lookup("nosuchprofile:fast", &info, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown configuration 'nosuchprofile:fast'"));
    /* Listed by `flipscope backends`. */
    int n = fsc_config_list(NULL, 0), found = 0;
    fsc_config_info *list = calloc((size_t)n, sizeof *list);
    assert_non_null(list);
    fsc_config_list(list, n);
    for (int i = 0; i < n; i++) found += !strncmp(list[i].name, "myprof:", 7);
    assert_int_equal(found, 2);
    free(list);
    /* Bad files: a syntax error names the file and line; 'emu' is reserved. */
    snprintf(path, sizeof path, "%s/broken.profile", tmpdir);
    write_file(path, "arith a base=fp16\n\ndevice d arith=a ops=conv3d\n");
    assert_int_equal(fsc_profile_use(path, &p, &err), FSC_ERR_FORMAT);
    char want[160];
    snprintf(want, sizeof want, "%s:3: unknown op 'conv3d'", path);
    assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
    snprintf(path, sizeof path, "%s/emu.profile", tmpdir);
    write_file(path, user_text);
    assert_int_equal(fsc_profile_use(path, &p, &err), FSC_ERR_INVALID);
    assert_int_equal(fsc_profile_use("/no/such/dir/x.profile", &p, &err), FSC_ERR_IO);
    assert_int_equal(fsc_profile_use("nosuchprofile", &p, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "no profile named 'nosuchprofile'"));
}

/* A profile found by name in $FLIPSCOPE_PROFILES without --profile. */
static void test_profiles_env(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/envprof.profile", tmpdir);
    write_file(path, user_text);
    setenv("FLIPSCOPE_PROFILES", tmpdir, 1);
    fsc_config_info info;
    fsc_error err;
    assert_int_equal(fsc_config_lookup("envprof:safe", &info, &err), FSC_OK);
    assert_string_equal(info.name, "envprof:safe");
    const fsc_profile *p;
    assert_int_equal(fsc_profile_use("envprof", &p, &err), FSC_OK);
    assert_string_equal(p->name, "envprof");
    unsetenv("FLIPSCOPE_PROFILES");
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fsc_profile_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = {"myprof", "broken", "emu", "envprof"};
    for (int i = 0; i < 4; i++) {
        char path[160];
        snprintf(path, sizeof path, "%s/%s.profile", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_errors_name_the_line),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_builtin_coreml),
        cmocka_unit_test(test_shipped_file_is_the_builtin),
        cmocka_unit_test(test_user_profile_configurations),
        cmocka_unit_test(test_profiles_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
