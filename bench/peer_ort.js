// ONNX Runtime (CPU execution provider) peer: median time of one inference of
// the seed model with the same thread count as flipscope.
// Usage: node bench/peer_ort.js MODEL.onnx THREADS REPS   (prints: ort_cpu MEDIAN_MS MIN_MS)
'use strict';
const path = require('path');
const ort = require(path.join(__dirname, '..', 'runners', 'ort', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, threads, reps] = [process.argv[2], parseInt(process.argv[3], 10), parseInt(process.argv[4], 10)];
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
  });
  const x = new ort.Tensor('float32', new Float32Array(3 * 224 * 224).map(() => Math.random() - 0.5), [1, 3, 224, 224]);
  const feeds = { [session.inputNames[0]]: x };
  await session.run(feeds);
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`ort_cpu ${times[Math.floor(times.length / 2)].toFixed(1)} ${times[0].toFixed(1)}`);
}
main().catch((e) => { console.error(`peer_ort: ${e.message}`); process.exit(2); });
