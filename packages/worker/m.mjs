import { selectBackend, Network } from '@dtrain/worker';
import { getModelSpec, initWeights, syntheticDataset } from '@dtrain/common';
await selectBackend('wasm');
const net = new Network(getModelSpec('reference-cnn'));
const w = initWeights(net.manifest, 1);
net.setWeights(w);
const ds = syntheticDataset({ trainSize: 1024, testSize: 1, seed: 1 }, 0);
const B=64, x = new Float32Array(B*3072), y = new Int32Array(B), g = new Float32Array(net.paramCount);
const idx = (i) => Uint32Array.from({length:B}, (_, k) => (i*B + k) % 1024);
ds.fillBatch('train', idx(0), x, y);
for (let i=0;i<5;i++) net.computeShard(x,y,B,g);
function time(label, f, n=30){ const t0=performance.now(); for(let i=0;i<n;i++) f(i); console.log(label, ((performance.now()-t0)/n).toFixed(1),'ms'); }
for (let rep=0; rep<2; rep++) {
time('same batch', () => net.computeShard(x,y,B,g));
time('fill only', (i) => ds.fillBatch('train', idx(i), x, y));
time('new batch', (i) => { ds.fillBatch('train', idx(i), x, y); net.computeShard(x,y,B,g); });
time('setWeights+same', () => { net.setWeights(w); net.computeShard(x,y,B,g); });
time('setWeights(perturbed)', (i) => { w[5] += 1e-3; net.setWeights(w); net.computeShard(x,y,B,g); });
}
const v = new Float32Array(w.length);
for (let s = 0; s < 150; s++) {
  ds.fillBatch('train', idx(s), x, y);
  net.setWeights(w);
  const t0 = performance.now();
  const out = net.computeShard(x, y, B, g);
  const ms = performance.now() - t0;
  for (let i = 0; i < w.length; i++) { v[i] = 0.9 * v[i] + g[i] / B; w[i] -= 0.01 * v[i]; }
  if (s % 15 === 0) console.log('step', s, ms.toFixed(1), 'ms loss', (out.lossSum / B).toFixed(3));
}
