import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, Network } from '@dtrain/worker';
import { getModelSpec, initWeights, syntheticDataset } from '@dtrain/common';
await selectBackend('wasm');
const net = new Network(getModelSpec('reference-cnn'));
const w = initWeights(net.manifest, 1);
const ds = syntheticDataset({ trainSize: 1024, testSize: 1, seed: 1 }, 0);
const B=64, x = new Float32Array(B*3072), y = new Int32Array(B), g = new Float32Array(net.paramCount);
const idx = (i) => Uint32Array.from({length:B}, (_, k) => (i*B + k) % 1024);
const v = new Float32Array(w.length);
const den = (a) => { let c=0; for (const t of a) if (t !== 0 && Math.abs(t) < 1.1754944e-38) c++; return c; };
for (let phase of ['update','frozen','update','frozen']) {
  let tot = 0;
  for (let s = 0; s < 20; s++) {
    ds.fillBatch('train', idx(s), x, y);
    net.setWeights(w);
    const t0 = performance.now();
    net.computeShard(x, y, B, g);
    tot += performance.now() - t0;
    if (phase === 'update') for (let i = 0; i < w.length; i++) { v[i] = 0.9 * v[i] + g[i] / B; w[i] -= 0.01 * v[i]; }
  }
  console.log(phase, (tot/20).toFixed(1), 'denormals w', den(w), 'g', den(g));
}
// profile at trained weights
const prof = await tf.profile(() => net.computeShard(x,y,B,g));
const agg = {}; for (const k of prof.kernels) agg[k.name+JSON.stringify(k.inputShapes[0])] = (agg[k.name+JSON.stringify(k.inputShapes[0])]??0)+k.kernelTimeMs;
console.log(Object.entries(agg).sort((a,b)=>b[1]-a[1]).slice(0,10).map(([k,v])=>v.toFixed(1)+' '+k).join('\n'));
