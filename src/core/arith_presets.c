/* arith_presets.c: the named arithmetic models (`emu:<name>`). Each row says
 * what real hardware it stands for and how sure we are of that; the README
 * and `flipscope backends` print these lines. */
#include <string.h>

#include "flipscope/arith.h"

#define RNE FSC_RND_NEAREST_EVEN
#define SEQ FSC_ORDER_SEQUENTIAL

/* A row with the common defaults: sequential order, nearest-even, exact
 * transcendentals, fake quantization computed in the storage format. */
#define PRESET(nm, stands, sure, st, wt, op, prod, acc, red)                                                     \
    {.name = nm, .stands_for = stands, .certainty = sure, .storage = st, .weights = wt, .operand = op,          \
     .operand_rounding = RNE, .product = prod, .accum = acc, .order = SEQ, .block = 0, .rounding = RNE,         \
     .reduce = red, .reduce_order = SEQ, .transcendental = FSC_TRANS_EXACT, .quant = FSC_QUANT_FAKE,           \
     .quant_rounding = RNE, .quant_compute = st, .requant = FSC_REQ_HALF_EVEN, .requant_fixed_point = false}

/* A W8A8 row: `st` storage and weights, fp32 accumulation of float dot
 * products, and the given execution of quantize/dequantize and int8 layers. */
#define QPRESET(nm, stands, sure, st, qm, req, fixed)                                                           \
    {.name = nm, .stands_for = stands, .certainty = sure, .storage = st, .weights = st, .operand = st,          \
     .operand_rounding = RNE, .product = FSC_FMT_FP64, .accum = FSC_FMT_FP32, .order = SEQ, .block = 0,         \
     .rounding = RNE, .reduce = FSC_FMT_FP32, .reduce_order = SEQ, .transcendental = FSC_TRANS_EXACT,            \
     .quant = qm, .quant_rounding = RNE, .quant_compute = st, .requant = req, .requant_fixed_point = fixed}
/* A tensor-core row: products exact, the block FMA of blockfma.c doing the
 * accumulation into fp32; accum/rounding (fp32, nearest-even) then only serve
 * the bias, added once after the dot product as an fp32 epilogue does;
 * reductions in fp32. */
#define RZ FSC_RND_TOWARD_ZERO
#define TC(nm, stands, sure, st, wt, op, oprnd, blk, extra, rnd, infmt, trunc)                                      \
    {.name = nm, .stands_for = stands, .certainty = sure, .storage = st, .weights = wt, .operand = op,          \
     .operand_rounding = oprnd, .product = FSC_FMT_FP64, .accum = FSC_FMT_FP32, .order = SEQ, .block = 0,       \
     .rounding = RNE,                                                                                           \
     .block_fma = {.block = blk, .extra_bits = extra, .rounding = rnd, .out = FSC_FMT_FP32, .in = infmt,           \
                   .in_truncate = trunc, .subnormals_out = true},                                               \
     .reduce = FSC_FMT_FP32, .reduce_order = SEQ, .transcendental = FSC_TRANS_EXACT, .quant = FSC_QUANT_FAKE,   \
     .quant_rounding = RNE, .quant_compute = st, .requant = FSC_REQ_HALF_EVEN, .requant_fixed_point = false}
/* A tensor-core row whose accumulator input is added after the products'
 * rounded sum (block_fma.late_c, Blackwell FP8). */
#define TC_LATE_C(nm, stands, sure, st, wt, op, oprnd, blk, extra, rnd, infmt, trunc)                               \
    {.name = nm, .stands_for = stands, .certainty = sure, .storage = st, .weights = wt, .operand = op,          \
     .operand_rounding = oprnd, .product = FSC_FMT_FP64, .accum = FSC_FMT_FP32, .order = SEQ, .block = 0,       \
     .rounding = RNE,                                                                                           \
     .block_fma = {.block = blk, .extra_bits = extra, .rounding = rnd, .out = FSC_FMT_FP32, .in = infmt,           \
                   .in_truncate = trunc, .subnormals_out = true, .late_c = true},                               \
     .reduce = FSC_FMT_FP32, .reduce_order = SEQ, .transcendental = FSC_TRANS_EXACT, .quant = FSC_QUANT_FAKE,   \
     .quant_rounding = RNE, .quant_compute = st, .requant = FSC_REQ_HALF_EVEN, .requant_fixed_point = false}

static const fsc_arith presets[] = {
    PRESET("fp64", "reference: IEEE binary64 everywhere (not a deployment target)",
           "reference: exact IEEE semantics, used as ground truth", FSC_FMT_FP64, FSC_FMT_FP64, FSC_FMT_FP64,
           FSC_FMT_FP64, FSC_FMT_FP64, FSC_FMT_FP64),
    PRESET("fp32",
           "a CPU computing in binary32 with fused multiply-add, one sequential sum per output "
           "(a plain fp32 kernel)",
           "documented semantics (IEEE binary32 FMA); real libraries split sums in other orders",
           FSC_FMT_FP32, FSC_FMT_FP32, FSC_FMT_FP32, FSC_FMT_FP64, FSC_FMT_FP32, FSC_FMT_FP32),
    PRESET("fp16",
           "fp16 storage and weights, fp32 accumulation: GPU fp16 inference (cuDNN/cuBLAS default, "
           "Core ML GPU), Apple Neural Engine-class accelerators",
           "documented: vendors state fp32 accumulation for fp16 GEMM; summation order is a hypothesis",
           FSC_FMT_FP16, FSC_FMT_FP16, FSC_FMT_FP16, FSC_FMT_FP64, FSC_FMT_FP32, FSC_FMT_FP32),
    /* Reductions (mean, pooling, softmax and norm sums) are summed in fp32: a running
     * fp16 sum of a large feature map overflows 65504 (the seed's 224x224 pool of
     * x300-amplified activations does), which a usable device cannot do. */
    PRESET("fp16-acc16",
           "fp16 storage and fp16 accumulation of dot products rounded after every fused multiply-add "
           "(ARMv8.2 FP16 FMLA, mobile GPUs with half-precision accumulators); reductions sum in fp32",
           "hypothesis for any given device; the arithmetic itself is IEEE binary16 FMA", FSC_FMT_FP16,
           FSC_FMT_FP16, FSC_FMT_FP16, FSC_FMT_FP64, FSC_FMT_FP16, FSC_FMT_FP32),
    PRESET("bf16",
           "bf16 storage and weights, fp32 accumulation (AVX512-BF16 / AMX on CPUs, TPU MXU)",
           "documented: fp32 accumulation of bf16 products; summation order is a hypothesis", FSC_FMT_BF16,
           FSC_FMT_BF16, FSC_FMT_BF16, FSC_FMT_FP64, FSC_FMT_FP32, FSC_FMT_FP32),
    PRESET("tf32",
           "fp32 tensors, matmul/conv operands rounded to TF32 (10-bit mantissa), fp32 accumulation "
           "(NVIDIA Ampere+ with TF32 enabled)",
           "documented by NVIDIA (TF32 operands, fp32 accumulate); operand rounding and order are "
           "a hypothesis (see h100-tf32 for the measured block FMA)",
           FSC_FMT_FP32, FSC_FMT_FP32, FSC_FMT_TF32, FSC_FMT_FP64, FSC_FMT_FP32, FSC_FMT_FP32),
    QPRESET("w8a8-fake16",
            "a W8A8 ML Program run as Core ML's CPU runs it: fp16 values, quantize and dequantize as fp16 "
            "float ops (q = clip(round_half_even(fp16(x / s))), x' = fp16(s * q)), float conv/linear",
            "documented: coremltools' reference semantics of quantize/dequantize; that the CPU computes in "
            "fp16 with fp32 accumulation is a hypothesis",
            FSC_FMT_FP16, FSC_QUANT_FAKE, FSC_REQ_HALF_EVEN, false),
    QPRESET("w8a8-fake32",
            "a QDQ model run with fake quantization in fp32 (ONNX Runtime CPU without QDQ fusion)",
            "documented: ONNX QuantizeLinear/DequantizeLinear semantics (round half to even, saturate)",
            FSC_FMT_FP32, FSC_QUANT_FAKE, FSC_REQ_HALF_EVEN, false),
    QPRESET("w8a8-int",
            "an integer accelerator: int8 x int8 products in an int32 accumulator, requantized with a "
            "gemmlowp/TFLite fixed-point multiplier (Q31 + shift), rounding half away from zero; fp16 between "
            "int8 layers",
            "hypothesis for any given NPU (the Neural Engine's integer datapath is not documented); "
            "the fixed-point scheme is gemmlowp's, rounded once instead of gemmlowp's two steps",
            FSC_FMT_FP16, FSC_QUANT_INTEGER, FSC_REQ_HALF_AWAY, true),
    QPRESET("w8a8-int-float",
            "int8 x int8 -> int32 layers requantized with an fp32 scale and round-half-even, in the style of "
            "ONNX Runtime's MLAS CPU kernels (fp32(acc) * fp32 scale, round to nearest even)",
            "hypothesis: MLAS quantizes with fp32 scales and round-to-nearest-even; the exact requantization "
            "of each MLAS kernel was not checked; fp16 between int8 layers is our choice",
            FSC_FMT_FP16, FSC_QUANT_INTEGER, FSC_REQ_HALF_EVEN, false),
    /* Tensor cores (Khattak & Mikaitis' block-FMA model; parameters checked
     * against the measured cases in tests/fixtures/tensor-cores, see
     * docs/arithmetic.md and `flipscope tc-check`). */
    TC("v100-fp16", "NVIDIA V100 (Volta) tensor cores, fp16 inputs, fp32 accumulation: fp16 storage and weights, "
       "blocks of 4 products, no extra alignment bit, truncation to fp32",
       "measured: reproduces 5000/5000 cases of V100 fp16 (fp32 output) and 5000/5000 with fp16 output",
       FSC_FMT_FP16, FSC_FMT_FP16, FSC_FMT_FP16, RNE, 4, 0, RZ, FSC_FMT_FP16, false),
    TC("a100-fp16", "NVIDIA A100 (Ampere) tensor cores, fp16 inputs, fp32 accumulation: blocks of 8, 1 extra "
       "alignment bit, truncation to fp32",
       "measured: reproduces 5000/5000 cases of A100 fp16 (fp32 output) and 5000/5000 with fp16 output",
       FSC_FMT_FP16, FSC_FMT_FP16, FSC_FMT_FP16, RNE, 8, 1, RZ, FSC_FMT_FP16, false),
    TC("a100-bf16", "NVIDIA A100 tensor cores, bf16 inputs, fp32 accumulation: blocks of 8, 1 extra alignment bit, "
       "truncation to fp32",
       "measured: reproduces 5000/5000 cases of A100 bf16", FSC_FMT_BF16, FSC_FMT_BF16, FSC_FMT_BF16, RNE, 8, 1,
       RZ, FSC_FMT_BF16, false),
    TC("a100-tf32", "NVIDIA A100 tensor cores in TF32 mode: fp32 tensors, operands truncated to TF32, blocks of 4, "
       "1 extra alignment bit, truncation to fp32",
       "measured: reproduces 5000/5000 cases of A100 tf32 (operand truncation from fp32 is from the publication, "
       "the cases are TF32 values already)",
       FSC_FMT_FP32, FSC_FMT_FP32, FSC_FMT_TF32, RZ, 4, 1, RZ, FSC_FMT_TF32, true),
    TC("h100-fp16", "NVIDIA H100/H200 (Hopper) tensor cores, fp16 inputs, fp32 accumulation: blocks of 16, 2 extra "
       "alignment bits, truncation to fp32",
       "measured: reproduces 5000/5000 cases of H200 fp16 (fp32 output) and 5000/5000 with fp16 output",
       FSC_FMT_FP16, FSC_FMT_FP16, FSC_FMT_FP16, RNE, 16, 2, RZ, FSC_FMT_FP16, false),
    TC("h100-bf16", "NVIDIA H100/H200 tensor cores, bf16 inputs, fp32 accumulation: blocks of 16, 2 extra "
       "alignment bits, truncation to fp32",
       "measured: reproduces 5000/5000 cases of H200 bf16", FSC_FMT_BF16, FSC_FMT_BF16, FSC_FMT_BF16, RNE, 16, 2,
       RZ, FSC_FMT_BF16, false),
    TC("h100-tf32", "NVIDIA H100/H200 tensor cores in TF32 mode: operands truncated to TF32, blocks of 8, 2 extra "
       "alignment bits, truncation to fp32",
       "measured: reproduces 5000/5000 cases of H200 tf32; the cases have K = 4, so the block of 8 is the "
       "publication's, not tested here",
       FSC_FMT_FP32, FSC_FMT_FP32, FSC_FMT_TF32, RZ, 8, 2, RZ, FSC_FMT_TF32, true),
    TC("h100-e4m3", "NVIDIA H100/H200 FP8 tensor cores, E4M3 weights and operands (unscaled: beyond +-448 is NaN), "
       "fp16 activations: blocks of 32, 13 fraction bits kept, truncation",
       "measured: reproduces 5000/5000 cases of H200 E4M3 (fp32 output, c = 0) and 5000/5000 with fp16 output "
       "(two sub-blocks of 16 rounded to fp16, then c: see docs/arithmetic.md); c with fp32 output not measured",
       FSC_FMT_FP16, FSC_FMT_E4M3, FSC_FMT_E4M3, RNE, 32, -10, RZ, FSC_FMT_E4M3, false),
    TC("h100-e5m2", "NVIDIA H100/H200 FP8 tensor cores, E5M2 weights and operands (unscaled), fp16 activations: "
       "blocks of 32, 13 fraction bits kept, truncation",
       "measured: reproduces 5000/5000 cases of H200 E5M2 (fp32 output, c = 0) and 5000/5000 with fp16 output; "
       "c with fp32 output not measured",
       FSC_FMT_FP16, FSC_FMT_E5M2, FSC_FMT_E5M2, RNE, 32, -10, RZ, FSC_FMT_E5M2, false),
    TC("b200-fp16", "NVIDIA B200 (Blackwell) tensor cores, fp16 inputs, fp32 accumulation: blocks of 16, 2 extra "
       "alignment bits, truncation to fp32",
       "measured: reproduces 5000/5000 cases of B200 fp16 (fp32 output) and 5000/5000 with fp16 output",
       FSC_FMT_FP16, FSC_FMT_FP16, FSC_FMT_FP16, RNE, 16, 2, RZ, FSC_FMT_FP16, false),
    TC("b200-bf16", "NVIDIA B200 tensor cores, bf16 inputs, fp32 accumulation: blocks of 16, 2 extra alignment "
       "bits, truncation to fp32",
       "measured: reproduces 5000/5000 cases of B200 bf16", FSC_FMT_BF16, FSC_FMT_BF16, FSC_FMT_BF16, RNE, 16, 2,
       RZ, FSC_FMT_BF16, false),
    TC("b200-tf32", "NVIDIA B200 tensor cores in TF32 mode: operands truncated to TF32, blocks of 8, 2 extra "
       "alignment bits, truncation to fp32",
       "measured: reproduces 5000/5000 cases of B200 tf32; the cases have K = 4, so the block of 8 is the "
       "publication's, not tested here",
       FSC_FMT_FP32, FSC_FMT_FP32, FSC_FMT_TF32, RZ, 8, 2, RZ, FSC_FMT_TF32, true),
    TC_LATE_C("b200-e4m3", "NVIDIA B200 FP8 tensor cores, E4M3 weights and operands (unscaled), fp16 activations: "
              "blocks of 32 products aligned with 2 extra bits and truncated to fp32, then the accumulator added "
              "with nearest-even",
              "measured: reproduces 5000/5000 cases of B200 E4M3 (fp32 output) and 5000/5000 with fp16 output",
              FSC_FMT_FP16, FSC_FMT_E4M3, FSC_FMT_E4M3, RNE, 32, 2, RZ, FSC_FMT_E4M3, false),
    TC_LATE_C("b200-e5m2", "NVIDIA B200 FP8 tensor cores, E5M2 weights and operands (unscaled), fp16 activations: "
              "blocks of 32 products aligned with 2 extra bits and truncated to fp32, then the accumulator added "
              "with nearest-even",
              "measured: reproduces 5000/5000 cases of B200 E5M2 (fp32 output) and 5000/5000 with fp16 output",
              FSC_FMT_FP16, FSC_FMT_E5M2, FSC_FMT_E5M2, RNE, 32, 2, RZ, FSC_FMT_E5M2, false),
};

int fsc_arith_preset_count(void) { return (int)(sizeof presets / sizeof presets[0]); }

const fsc_arith *fsc_arith_preset_at(int i)
{
    if (i < 0 || i >= fsc_arith_preset_count()) return NULL;
    return &presets[i];
}

const fsc_arith *fsc_arith_preset(const char *name)
{
    if (!name) return NULL;
    for (int i = 0; i < fsc_arith_preset_count(); i++)
        if (strcmp(presets[i].name, name) == 0) return &presets[i];
    return NULL;
}
