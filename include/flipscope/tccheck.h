/* tccheck.h: checks the block-FMA presets against measured tensor-core
 * results (the layout of tests/fixtures/tensor-cores, from Khattak &
 * Mikaitis' model_validation data):
 *   DIR/<GPU>/<FMT>/a_<GPU>_<FMT>.txt   K input values per line, binary32 bit patterns in hex
 *   DIR/<GPU>/<FMT>/b_<GPU>_<FMT>.txt   the other K inputs
 *   DIR/<GPU>/<FMT>/c_<GPU>_fp32.txt    the accumulator, 32 '0'/'1' characters per line
 *   DIR/<GPU>/<FMT>/d_<GPU>_<OUT>.txt   the GPU's result (OUT = fp32 or fp16), same encoding
 * GPU is V100, A100, H100 or H200 (both checked against the h100-* presets) or
 * B200; FMT is fp16, bf16, tf32, E4M3 or E5M2. Each d file is one check. */
#ifndef FLIPSCOPE_TCCHECK_H
#define FLIPSCOPE_TCCHECK_H

#include <stdbool.h>

#include "flipscope/arith.h"
#include "flipscope/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSC_TC_MAX_FILES 64

typedef struct fsc_tc_result {
    char gpu[16];       /* directory name: "H200" */
    char format[16];    /* directory name: "fp16", "E4M3" */
    char output[8];     /* "fp32" or "fp16" */
    char preset[32];    /* preset checked: "h100-fp16" */
    int K;              /* products per case */
    int matches, total; /* cases reproduced bit for bit, cases in the file */
    int first_mismatch; /* 0-based case index of the first mismatch, -1 when none */
} fsc_tc_result;

typedef struct fsc_tc_report {
    int n;
    fsc_tc_result r[FSC_TC_MAX_FILES];
} fsc_tc_report;

/* The block FMA that preset `a` uses for results written in `out`: FP32 is
 * the preset's own; FP16 is the same unit with fp16 output, rounded to
 * nearest-even (the accumulator input is then an fp16 value too). Fails when
 * `a` has no block FMA or out is neither. */
fsc_status fsc_tc_blockfma_for(const fsc_arith *a, fsc_format_id out, fsc_blockfma *p, fsc_error *err);

/* Checks every d file found under dir against its preset (GPU and format
 * directories the table knows; others are ignored). Fails with a one-line
 * message on a missing directory, a malformed file, or no data at all. */
fsc_status fsc_tccheck_dir(const char *dir, fsc_tc_report *rep, fsc_error *err);

#ifdef __cplusplus
}
#endif
#endif
