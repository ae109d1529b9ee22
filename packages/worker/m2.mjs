import { selectBackend, Network } from '@dtrain/worker';
import { getModelSpec, initWeights, syntheticDataset } from '@dtrain/common';
await selectBackend('wasm');
const net = new Network(getModelSpec('reference-cnn'));
const w = initWeights(net.manifest, 1);
net.setWeights(w);
const ds = syntheticDataset({ trainSize: 1024, testSize: 1, seed: 1 }, 0);
const B=64, x = new Float32Array(B*3072), y = new Int32Array(B), g = new Float32Array(net.paramCount);
const idx = (i) => Uint32Array.from({length:B}, (_, k) => (i*B + k) % 1024);
const v = new Float32Array(w.length);
const mode = process.argv[2];
for (let rep = 0; rep < 4; rep++) {
  let tot = 0;
  for (let s = 0; s < 20; s++) {
    ds.fillBatch('train', idx(s), x, y);
    net.setWeights(w);
    const t0 = performance.now();
    net.computeShard(x, y, B, g);
    tot += performance.now() - t0;
    if (mode === 'update') for (let i = 0; i < w.length; i++) { v[i] = 0.9 * v[i] + g[i] / B; w[i] -= 0.01 * v[i]; }
    if (mode === 'touch') for (let i = 0; i < w.length; i++) { v[i] = 0.9 * v[i] + g[i] / B; }
  }
  console.log(mode, (tot/20).toFixed(1));
}
