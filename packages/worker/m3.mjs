import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, Network } from '@dtrain/worker';
import { getModelSpec, initWeights, syntheticDataset } from '@dtrain/common';
await selectBackend('wasm');
const net = new Network(getModelSpec('reference-cnn'));
const w = initWeights(net.manifest, 1);
net.setWeights(w);
const ds = syntheticDataset({ trainSize: 1024, testSize: 1, seed: 1 }, 0);
const B=64, x = new Float32Array(B*3072), y = new Int32Array(B), g = new Float32Array(net.paramCount);
ds.fillBatch('train', Uint32Array.from({length:B},(_, k)=>k), x, y);
for (let i=0;i<5;i++) net.computeShard(x,y,B,g);
const agg = new Map();
for (let r=0;r<5;r++){
const prof = await tf.profile(() => net.computeShard(x,y,B,g));
for (const k of prof.kernels) { const key = k.name+' '+JSON.stringify(k.inputShapes)+'->'+JSON.stringify(k.outputShapes); agg.set(key,(agg.get(key)??0)+k.kernelTimeMs/5); }
}
for (const [k,v] of [...agg].sort((a,b)=>b[1]-a[1]).slice(0,22)) console.log(v.toFixed(2), k);
