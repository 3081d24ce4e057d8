/* test_runner_failures.c: runners that break protocol v1 (crash, non-zero
 * exit, hang past the timeout, wrong output shape, no output) fail their
 * configuration with the reason, and the drift probe goes on with the others.
 * The fake runners are tests/backends/runners/fake-*. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flipscope/exec.h"
#include "flipscope/model_io.h"

#define RUNNERS FSC_SOURCE_DIR "/tests/backends/runners"

static void expect_failure(const char *config, const char *needle)
{
    fsc_ctx ctx = fsc_ctx_default();
    fsc_graph *g;
    fsc_error err;
    assert_int_equal(fsc_model_load(FSC_FIXTURES "/seed/seed.onnx", &ctx, &g, &err), FSC_OK);
    const char *spec = "x=" FSC_FIXTURES "/seed/input.npy";
    fsc_tensor in, out;
    assert_int_equal(fsc_inputs_load(g, &spec, 1, NULL, &ctx, &in, &err), FSC_OK);
    fsc_engine *e;
    assert_int_equal(fsc_engine_open(config, g, &ctx, &e, &err), FSC_OK);
    fsc_status st = fsc_engine_run(e, &in, &out, NULL, &err);
    printf("%s: %s\n", config, err.msg);
    assert_int_not_equal(st, FSC_OK);
    assert_non_null(strstr(err.msg, needle));
    fsc_engine_close(e);
    fsc_tensor_free(&in);
    fsc_graph_free(g);
}

static void test_crash(void **s) { (void)s; expect_failure("runner:fake-crash", "killed by signal 11"); }
static void test_exit(void **s) { (void)s; expect_failure("runner:fake-fail", "exited with status 3; stderr: fake runner: model not supported"); }
static void test_hang(void **s) { (void)s; expect_failure("runner:fake-hang", "timed out after 1 s"); }
static void test_shape(void **s) { (void)s; expect_failure("runner:fake-wrongshape", "holds float32 [3], the model's 'y' is float32 [1, 2]"); }
static void test_nothing(void **s) { (void)s; expect_failure("runner:fake-nothing", "wrote no outputs/y.npy"); }

/* The CLI drift probe: every fake runner FAILED with its reason, emu:fp32 still measured. */
static void test_drift_goes_on(void **s)
{
    (void)s;
    FILE *p = popen(FSC_CLI " drift " FSC_FIXTURES "/seed/seed.onnx --input " FSC_FIXTURES "/seed/input.npy"
                            " --configs emu:fp32,runner:fake-crash,runner:fake-hang,runner:fake-nothing --runs 1 2>&1",
                    "r");
    assert_non_null(p);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    printf("%s", buf);
    assert_non_null(strstr(buf, "emu:fp32             ok"));
    assert_non_null(strstr(buf, "runner:fake-crash    FAILED  runner:fake-crash: killed by signal 11"));
    assert_non_null(strstr(buf, "runner:fake-hang     FAILED  runner:fake-hang: timed out"));
    assert_non_null(strstr(buf, "runner:fake-nothing  FAILED"));
}

/* A runner whose command does not exist is unavailable with the reason, not faked. */
static void test_unknown_runner(void **s)
{
    (void)s;
    fsc_config_info info;
    fsc_error err;
    assert_int_equal(fsc_config_lookup("runner:no-such-runner", &info, &err), FSC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "unknown runner"));
}

int main(void)
{
    setenv("FSC_RUNNER_PATH", RUNNERS, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash), cmocka_unit_test(test_exit),          cmocka_unit_test(test_hang),
        cmocka_unit_test(test_shape), cmocka_unit_test(test_nothing),       cmocka_unit_test(test_drift_goes_on),
        cmocka_unit_test(test_unknown_runner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
