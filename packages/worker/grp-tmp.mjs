import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { Network, selectBackend } from '@dtrain/worker';
const [run, step, mode] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
await selectBackend('wasm');
if (mode === 'stock') tf.unregisterKernel('DtrainConv2D', 'wasm');
const ck = `${run}/checkpoints/step-${String(step - 1).padStart(8, '0')}`;
const state = JSON.parse(readFileSync(`${ck}/state.json`));
const net = new Network(state.modelSpec);
const w = new Float32Array(readFileSync(`${ck}/weights.f32`).buffer.slice(0));
net.setWeights(w);
const xb = readFileSync(`${run}/reference-batches/step-${step}.x.f32`); const x = new Float32Array(xb.buffer, xb.byteOffset, xb.length / 4);
const yb = readFileSync(`${run}/reference-batches/step-${step}.y.i32`); const y = new Int32Array(yb.buffer, yb.byteOffset, yb.length / 4);
const G = 16, out = [];
for (let g = 0; g < y.length / G; g++) {
  const grad = new Float32Array(net.paramCount);
  net.computeShard(x.slice(g * G * 3072, (g + 1) * G * 3072), y.slice(g * G, (g + 1) * G), G, grad);
  out.push(grad.slice(0, net.trainableCount));
}
writeFileSync(`/tmp/grads-${mode}.f32`, Buffer.concat(out.map((a) => Buffer.from(a.buffer))));
console.log(mode, out.length, 'groups', net.trainableCount);
