// One worker's gradient of 32 samples (reference CNN, wasm backend) in one pass and as groups of 32, 16, 8
// and 4 (the invariant reduction's passes), median of 30 each, twice; and the two JS passes a group adds.
// Usage (after npm run build): node bench/group-compute-microbench.mjs
import { addInto, buildManifest, getModelSpec, initWeights, sumSquares } from '../packages/common/dist/src/index.js';
import { selectBackend, WorkerTrainer } from '../packages/worker/dist/src/index.js';

await selectBackend('wasm');
const welcome = {
  kind: 'welcome',
  workerId: 1,
  runId: 'r',
  model: 'reference-cnn',
  modelFingerprint: '',
  manifest: buildManifest(getModelSpec('reference-cnn')),
  dataset: { name: 'synthetic', trainSize: 2000, testSize: 100, seed: 3, valFraction: 0, normalize: true, augment: true },
  datasetFingerprint: '',
  maxShard: 256,
};
const t = new WorkerTrainer(welcome);
t.setWeights(0, initWeights(t.net.manifest, 5));
const grad = new Float32Array(t.net.paramCount);
const indices = Uint32Array.from({ length: 32 }, (_, i) => i * 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (groupSize, reps = 30) => {
  const ms = [];
  for (let r = 0; r < reps; r++) {
    const a = { kind: 'assign', step: 1, version: 0, epoch: 0, shardId: 0, indices, ...(groupSize ? { groupSize } : {}) };
    const t0 = performance.now();
    t.computeGradient(a, grad);
    ms.push(performance.now() - t0);
  }
  return median(ms);
};
for (let round = 0; round < 2; round++) {
  for (const g of [0, 32, 16, 8, 4]) console.log(`group ${g || 'off'}: ${time(g).toFixed(2)} ms`);
}
const [a, b] = [new Float32Array(t.net.paramCount).fill(1.5), new Float32Array(t.net.paramCount).fill(0.5)];
for (const [name, f] of [['sumSquares', () => sumSquares(a)], ['addInto', () => addInto(a, b)]]) {
  for (let i = 0; i < 200; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) f();
  console.log(`${name}: ${((performance.now() - t0) / 1000).toFixed(3)} ms over ${t.net.paramCount} floats`);
}
