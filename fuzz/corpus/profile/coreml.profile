# coreml.profile: Core ML's compute units (CPU, GPU, Neural Engine) for FP16 and
# W8A8 ML Programs, emulated. Format: docs/plan.md. Built into flipscope (the
# configurations coreml:cpu_only, coreml:cpu_and_gpu, coreml:cpu_and_ne, coreml:all).
#
# How sure we are, per device (also in each certainty text, shown by
# `flipscope backends` and by every report that uses these configurations):
#  - cpu: the rules known to reproduce published Core ML CPU results for FP16/W8A8
#    programs. Only the order of the fp32 sums inside a dot product is our choice.
#  - gpu, ne: hypotheses. Apple documents neither accumulator. They are chosen to
#    fit what is public and to be clearly different from the CPU, so that they show
#    which decisions are fragile. They are not measurements.

# ---- arithmetic models ----

# CPU: every op output rounded to fp16; conv/linear products (exact for fp16
# operands) summed in fp32; quantize computes x / scale in fp16, rounds half to
# even, clamps to [-128, 127]; scales and weights as stored (fp16). This is the
# emu:fp16 preset, restated here so that the profile documents it.
arith coreml-cpu base=fp16 storage=fp16 weights=fp16 operand=fp16 product=fp64 accum=fp32 \
    order=sequential reduce=fp32 reduce_order=sequential transcendental=exact \
    quant=fake quant_compute=fp16 quant_rounding=nearest_even \
    stands_for="Core ML CPU_ONLY running an FP16/W8A8 ML Program (BNNS/Accelerate on Apple silicon)" \
    certainty="documented: fp16 op outputs, fp32 accumulation, x/scale in fp16 with round-half-even are the rules that reproduce published Core ML CPU results for FP16/W8A8 programs; the order of the fp32 sums inside a dot product is ours (sequential)"

# GPU (hypothesis): fp16 storage, fp32 accumulation in blocks of 8 terms. Why:
# Metal's simdgroup matrix multiply works on 8x8 tiles with float accumulators,
# so a conv/linear sum is plausibly reduced 8 products at a time, then the block
# sums added in fp32. Reductions: a tree (threadgroup) sum in fp32.
arith coreml-gpu base=fp16 storage=fp16 weights=fp16 operand=fp16 product=fp64 accum=fp32 \
    order=blocked block=8 reduce=fp32 reduce_order=pairwise transcendental=exact \
    quant=fake quant_compute=fp16 quant_rounding=nearest_even \
    stands_for="Core ML GPU (Metal) running an FP16/W8A8 ML Program" \
    certainty="hypothesis: fp16 storage is documented for fp16 programs; the fp32 accumulation in blocks of 8 (simdgroup 8x8 tiles) and the pairwise reductions are our assumption, not a measurement"

# Neural Engine (hypothesis): an fp16 engine. Apple describes the NE as computing
# in fp16; nothing public says its accumulator is wider, so we take the narrow
# reading: conv/linear sums accumulate in fp16, in blocks of 32 input terms (a
# channel tile) whose fp16 partial sums are added in fp16. Reductions cannot be
# fp16: the seed model's global mean sums 50176 values of ~1e2, which overflows
# fp16 (max 65504), yet the seed's NE run gave finite logits; so reductions are a
# wider (fp32) tree. Activations evaluated step by step in fp16.
arith coreml-ne base=fp16 storage=fp16 weights=fp16 operand=fp16 product=fp64 accum=fp16 \
    order=blocked block=32 reduce=fp32 reduce_order=pairwise transcendental=storage \
    quant=fake quant_compute=fp16 quant_rounding=nearest_even \
    stands_for="Apple Neural Engine under Core ML (CPU_AND_NE / ALL) running an FP16/W8A8 ML Program" \
    certainty="hypothesis: fp16 storage is documented; the fp16 accumulation in blocks of 32, fp32 tree reductions and fp16 step-by-step activations are our assumption (Apple does not document the NE's arithmetic), not a measurement"

# ---- devices ----

# The CPU runs every op and every dtype: it is Core ML's fallback.
device cpu arith=coreml-cpu ops=all \
    note="runs every op (Core ML falls back to the CPU)"

# The GPU runs every op on float and small integer tensors; int64 and float64
# tensors are not MPSGraph/Metal types for Core ML programs (hypothesis).
device gpu arith=coreml-gpu ops=all dtypes=float16,float32,int8,uint8,int32,bool \
    note="every op on fp16/fp32/int8/uint8/int32/bool tensors (hypothesis: no int64/float64)"

# The NE: the ops the seed's compute plan put on it (conv, silu, mul, reduce_mean,
# reshape, linear, quantize, dequantize) plus common CNN/transformer layers; no
# general division, power, erf, sqrt, gather or cast; tensors of rank <= 5 in
# fp16/fp32/int8/uint8 (hypothesis beyond the seed's ops).
device ne arith=coreml-ne accelerator=yes max_rank=5 dtypes=float16,float32,int8,uint8 \
    ops=conv2d,gemm,matmul,silu,mul,add,sub,reduce_mean,reshape,quantize,dequantize,identity,relu,clip,sigmoid,tanh,gelu,softmax,batchnorm,layernorm,maxpool,avgpool,global_avgpool,transpose,concat,pad,slice \
    note="the seed plan's NE ops (conv, silu, mul, reduce_mean, reshape, linear, quantize, dequantize) are observed; the other common layers and the rank <= 5 limit are a hypothesis"

# ---- compute units (Core ML's MLComputeUnits), priority ne > gpu > cpu ----

preset cpu_only devices=cpu stands_for="Core ML MLComputeUnits.cpuOnly"
preset cpu_and_gpu devices=gpu,cpu stands_for="Core ML MLComputeUnits.cpuAndGPU"
preset cpu_and_ne devices=ne,cpu stands_for="Core ML MLComputeUnits.cpuAndNeuralEngine"
preset all devices=ne,gpu,cpu stands_for="Core ML MLComputeUnits.all"
